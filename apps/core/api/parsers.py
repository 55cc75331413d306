"""The API's JSON parser: DRF's, with a body nested too deep answered 400 like any other bad JSON.

Python's ``json`` decoder recurses once per nesting level and raises ``RecursionError`` (not a
``ValueError``, which DRF turns into a 400) past the interpreter's limit, so ``[[[…]]]`` ten
thousand levels deep was a 500 from any write endpoint. No real body nests that deep.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise exceptions.ParseError("JSON parse error - the body is nested too deep.") from exc
