"""``/login`` and ``/logout``: the web pages' way to present an API key.

Browsers cannot add an Authorization header to a page load, so the key goes into an
HttpOnly, SameSite=Strict cookie that the auth middleware reads like a Bearer header
(strict same-site: other sites cannot make the browser send it, which stops CSRF).
"""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from catalog.api.auth import COOKIE
from catalog.api.body import read_form

COOKIE_SECONDS = 8 * 3600
MAX_FORM_BYTES = 4096

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · lineage-catalog</title>
<style>
 body {{ font: 15px/1.5 system-ui, sans-serif; background: #f8fafc; color: #1f2937; }}
 form {{ max-width: 420px; margin: 12vh auto; background: #fff; border: 1px solid #e5e7eb; border-radius: 8px;
        padding: 24px; }}
 input {{ width: 100%; padding: 8px; font: 14px monospace; box-sizing: border-box; margin: 8px 0 14px; }}
 button {{ padding: 8px 18px; }} .error {{ color: #b91c1c; }} .hint {{ color: #6b7280; font-size: 13px; }}
</style></head>
<body><form method="post" action="/login">
<h1>lineage-catalog</h1>
<p class="error">{error}</p>
<label for="key">API key</label>
<input id="key" name="key" type="password" autocomplete="off" autofocus required>
<input type="hidden" name="next" value="{next}">
<button type="submit">Sign in</button>
<p class="hint">An admin creates keys with <code>catalog keys create NAME --role viewer</code>.
The key stays in this browser for 8 hours, in a cookie scripts cannot read.</p>
</form></body></html>"""


def _safe_next(target: str | None) -> str:
    """Only paths on this server: never an open redirect to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _page(error: str, target: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(error=html.escape(error), next=html.escape(_safe_next(target))),
                        status_code=status)


async def login_page(request: Request) -> Response:
    return _page("", request.query_params.get("next"))


async def login(request: Request) -> Response:
    form = await read_form(request, MAX_FORM_BYTES)
    token, target = form.get("key", [""])[0].strip(), form.get("next", [""])[0]
    if not token or request.app.state.catalog.keys.authenticate(token) is None:
        return _page("That key is unknown or revoked.", target, status=401)
    response = RedirectResponse(_safe_next(target), status_code=303)
    response.set_cookie(COOKIE, token, max_age=COOKIE_SECONDS, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


async def logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, httponly=True, samesite="strict")
    return response
