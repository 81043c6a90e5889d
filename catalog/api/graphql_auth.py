"""Roles on GraphQL fields: ``permission_classes=requires(READ)`` on every root field.

Nested fields are reached only through a root field, so they are covered by its check;
tests/catalog/api/test_auth_http.py fails if a root field comes without one.
"""

from __future__ import annotations

import functools
from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from catalog.keys import PERMISSIONS


class Forbidden(Exception):
    """The caller's role lacks the permission a field needs."""


@functools.cache
def requires(permission: str) -> list[type[BasePermission]]:
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        who = info.context.principal
        if not who.may(permission):
            raise Forbidden(f"the {who.role} role may not read or change {info.field_name!r}: "
                            f"it needs the {permission!r} permission")
        return True

    # One class per permission: strawberry names a schema directive after each permission class.
    name = "Requires" + "".join(part.title() for part in permission.replace(":", "_").split("_"))
    return [type(name, (BasePermission,), {"has_permission": has_permission, "permission": permission})]
