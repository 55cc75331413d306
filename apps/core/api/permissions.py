from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView


class ActionPermission(BasePermission):
    """Checks the view's ``action_perms[action]``: a permission name that a ``rules``
    predicate answers (see ``apps/*/rules.py``), so pages, API and tasks share one rule.

    An action not named needs only the default (signed in). Detail routes are checked with
    the object, once the view has it.
    """

    def _perm(self, view: APIView) -> str | None:
        perms: dict[str, str] = getattr(view, "action_perms", {})
        return perms.get(getattr(view, "action", None) or "")

    def has_permission(self, request: Request, view: APIView) -> bool:
        perm = self._perm(view)
        if perm is None or getattr(view, "detail", False):
            return True
        return request.user.has_perm(perm)

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        perm = self._perm(view)
        return perm is None or request.user.has_perm(perm, obj)
