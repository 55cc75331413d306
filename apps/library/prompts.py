"""Prompt templates: ``{{ name }}`` placeholders, declared variables, and rendering for "try it"."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def placeholders(body: str) -> list[str]:
    """The variable names the body uses, in order of first use."""
    return list(dict.fromkeys(PLACEHOLDER.findall(body)))


def declaration_problems(body: str, variables: list[str]) -> list[str]:
    """Why a prompt's declared variables and its placeholders disagree (empty: they agree)."""
    problems = [
        f"“{name}” is not a valid variable name (letters, digits, _)." for name in variables if not NAME.match(name)
    ]
    used = placeholders(body)
    undeclared = [name for name in used if name not in variables]
    unused = [name for name in variables if name not in used]
    if undeclared:
        problems.append("The body uses undeclared variables: " + ", ".join(undeclared) + ".")
    if unused:
        problems.append("Declared but never used: " + ", ".join(unused) + ".")
    return problems


@dataclass
class Rendered:
    text: str = ""
    missing: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.unknown


def render(body: str, variables: list[str], values: dict[str, str]) -> Rendered:
    """Fill the placeholders with ``values``. Missing: declared or used, but given no value.
    Unknown: given a value, or used in the body, but not declared. No model is called."""
    given = {k: v for k, v in values.items() if v is not None}
    used = placeholders(body)
    missing = [name for name in dict.fromkeys([*variables, *used]) if not given.get(name, "").strip()]
    unknown = list(dict.fromkeys([*(n for n in given if n not in variables), *(n for n in used if n not in variables)]))
    text = PLACEHOLDER.sub(lambda m: given.get(m.group(1), m.group(0)) or m.group(0), body)
    return Rendered(text=text, missing=missing, unknown=unknown)
