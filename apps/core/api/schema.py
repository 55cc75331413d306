"""The OpenAPI schema's AutoSchema.

Three things drf-spectacular does not do on its own:

- A view set declares its error answers once, at class level (``@extend_schema(responses={**ERRORS})``);
  drf-spectacular then takes that dict as the whole list of answers, and list and retrieve operations
  lost their 200. An override that names no success answer keeps the one the view's serializer gives
  (paginated lists included).
- API.md's error answers, with their bodies, on every operation they can happen to: 400 (the body names
  every failing field: ``ValidationError``), 401, 403, 404, 413, 415 and 429 (``Error``: ``{"detail"}``,
  and ``Retry-After`` on 429). Descriptions a view wrote are kept; only missing codes and bodies are
  filled in, so clients and the schema-driven fuzz test (tests/test_api_fuzz.py) check real shapes.
- DRF drops ``allow_blank`` from read-only model fields, so an output field whose column may be blank was
  documented as never "" (the fuzz test's first finding). It is put back before the field is mapped.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import serializers
from rest_framework.permissions import AllowAny

ERROR = "Error"
VALIDATION_ERROR = "ValidationError"

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every refusal but invalid input: what went wrong, for a person to read.",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
VALIDATION_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": 'Invalid input: each failing field with its messages (`{"field": ["message"]}`), nested for '
    'nested input (`{"events": {"3": {"input_tokens": ["…"]}}}`); `non_field_errors` for the input as a whole; '
    "`detail` when the service refused the request as a whole or the body was not JSON.",
    "properties": {
        "detail": {"type": "string"},
        "non_field_errors": {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": {
        "description": "The field's messages, or its nested fields' or items' messages.",
        "anyOf": [{"type": "array"}, {"type": "object"}, {"type": "string"}],
    },
}

DESCRIPTIONS = {
    "400": "Invalid input: the body names every failing field.",
    "401": "No or bad credentials.",
    "403": "Signed in, but not allowed.",
    "404": "Not there, or not yours to see.",
    "413": "The body is larger than the limit.",
    "415": "The body is not of a type the operation takes (application/json).",
    "429": "Rate-limited: retry after the Retry-After header's seconds.",
}
RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before the next request.", "schema": {"type": "integer"}}
}
WRITES = frozenset({"POST", "PUT", "PATCH"})


class PortalAutoSchema(AutoSchema):
    def _map_serializer_field(self, field: Any, direction: Any, bypass_extensions: bool = False) -> dict[str, Any]:
        """DRF drops ``allow_blank`` from read-only model fields, so an output field whose column may be blank
        (a choice, an email, a URL) was documented as never empty, and "" broke the schema. Put it back."""
        if _read_only_blank(field):
            field.allow_blank = True  # drf-spectacular then documents "" too (BlankEnum, or oneOf for a format)
        return super()._map_serializer_field(field, direction, bypass_extensions)

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        bodies = self._bodies_with_success(direction)
        if direction != "response":
            return bodies
        for code in self._error_codes(bodies):
            answer = bodies.setdefault(code, {"description": DESCRIPTIONS[code]})
            answer.setdefault("description", DESCRIPTIONS[code])
            if "content" not in answer:
                name, schema = (VALIDATION_ERROR, VALIDATION_ERROR_SCHEMA) if code == "400" else (ERROR, ERROR_SCHEMA)
                answer["content"] = {"application/json": {"schema": self._component(name, schema)}}
            if code == "429":
                answer.setdefault("headers", RETRY_AFTER)
        return dict(sorted(bodies.items()))

    def _bodies_with_success(self, direction: Any) -> dict[str, Any]:
        bodies = super()._get_response_bodies(direction)
        if any(str(code).startswith("2") for code in bodies) or self.method == "DELETE":
            return bodies
        serializer = self._get_serializer()
        if serializer is None:
            return bodies
        code = "201" if self._is_create_operation() else "200"
        return {code: self._get_response_for_code(serializer, code, direction=direction), **bodies}

    def _error_codes(self, bodies: dict[str, Any]) -> set[str]:
        """The codes this operation can answer with: those it declares, and those every operation of its
        kind can (authentication, a body, a path or page to look up, a rate limit)."""
        codes = {str(code) for code in bodies if str(code)[0] == "4" and str(code) in DESCRIPTIONS}
        if not all(isinstance(permission, AllowAny) for permission in self.view.get_permissions()):
            codes |= {"401", "403"}
        if self.method in WRITES:
            codes |= {"400", "413", "415"}
        if "{" in self.path or self._is_list_view():  # an unknown object, or page or cursor
            codes.add("404")
        if any(parameter.get("in") == "query" for parameter in self._get_parameters()):
            codes.add("400")
        if self.view.get_throttles():
            codes.add("429")
        return codes

    def _component(self, name: str, schema: dict[str, Any]) -> dict[str, str]:
        component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, schema=schema, object=name)
        self.registry.register_on_missing(component)
        return component.ref


def _read_only_blank(field: Any) -> bool:
    """A read-only field of a model serializer whose text column may be blank."""
    parent = getattr(field, "parent", None)
    if not field.read_only or not isinstance(parent, serializers.ModelSerializer) or "." in (field.source or ""):
        return False
    if not isinstance(field, serializers.CharField | serializers.ChoiceField) or field.source == "*":
        return False
    try:
        column = parent.Meta.model._meta.get_field(field.source)
    except FieldDoesNotExist:
        return False
    return bool(column.blank) and isinstance(column, models.CharField | models.TextField)
