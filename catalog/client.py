"""A small HTTP client for the catalog server, used by the CLI commands."""

from __future__ import annotations

import httpx

DEFAULT_URL = "http://127.0.0.1:5000"


class CatalogUnavailable(RuntimeError):
    pass


class CatalogRefused(RuntimeError):
    pass


class CatalogClient:
    def __init__(self, url: str, api_key: str | None = None, timeout: float = 60):
        self.url = url
        self.api_key = api_key
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=url, headers=headers, timeout=timeout)

    def post(self, path: str, expect: tuple[int, ...] = (200, 201), **kwargs) -> dict:
        return self.request("POST", path, expect, **kwargs).json()

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.request("GET", path, (200,), **kwargs)

    def request(self, method: str, path: str, expect: tuple[int, ...], **kwargs) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise CatalogUnavailable(f"cannot reach the catalog at {self.url}: {exc}") from None
        if response.status_code not in expect:
            try:
                body = response.json()
                message = body.get("error", response.text[:300])
                details = body.get("details") or []
            except ValueError:
                message, details = response.text[:300], []
            lines = [d.get("message", str(d)) if isinstance(d, dict) and "file" not in d else
                     f"{d['file']}:{d['line']}:{d['column']}: {d['field'] + ': ' if d['field'] else ''}{d['message']}"
                     for d in details]
            raise CatalogRefused("\n".join([f"the catalog refused it ({response.status_code}): {message}", *lines]))
        return response

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        body = self.post("/graphql", json={"query": query, "variables": variables or {}})
        if body.get("errors"):
            raise CatalogRefused("; ".join(e["message"] for e in body["errors"]))
        return body["data"]

    def dataset(self, namespace: str, name: str) -> dict | None:
        """Tags, storage location and field classifications of a catalogued dataset."""
        return self.graphql(
            "query($ns: String!, $name: String!) { dataset(namespace: $ns, name: $name) { id tags scannedAt "
            "governance { storageLocation storageCountry } fields { name classifications { entity state } } } }",
            {"ns": namespace, "name": name})["dataset"]

    def close(self) -> None:
        self._http.close()
