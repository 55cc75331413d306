"""The OpenAPI schema's AutoSchema: a view set declares its error answers once, at class level
(``@extend_schema(responses={**ERRORS})``); drf-spectacular then takes that dict as the whole list
of answers, and list and retrieve operations lost their 200. Here an override that names no
success answer keeps the one the view's serializer gives (paginated lists included)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema


class PortalAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        bodies = super()._get_response_bodies(direction)
        if any(str(code).startswith("2") for code in bodies) or self.method == "DELETE":
            return bodies
        serializer = self._get_serializer()
        if serializer is None:
            return bodies
        code = "201" if self._is_create_operation() else "200"
        return {code: self._get_response_for_code(serializer, code, direction=direction), **bodies}
