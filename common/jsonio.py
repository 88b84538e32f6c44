"""Strict JSON for every file and answer the tools write: no NaN or Infinity
(JSON has neither; JSON.parse and strict parsers reject them), null where a
value is missing. numpy scalars and arrays become plain numbers and lists.
Standard library only (numpy values are recognised without importing numpy)."""

from __future__ import annotations

import json
import math


def plain(value):
    """`value` with NaN/inf -> None, numpy scalars -> Python numbers, arrays and tuples -> lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalar or array
        return plain(value.tolist())
    if hasattr(value, "__fspath__"):
        return str(value)
    return value


def dumps(value, **kwargs) -> str:
    """json.dumps of plain(value), refusing anything that would not be strict JSON."""
    return json.dumps(plain(value), allow_nan=False, **kwargs)


def _reject(constant: str):
    raise ValueError(f"not strict JSON: {constant}")


def loads_strict(text: str):
    """json.loads that rejects NaN, Infinity and -Infinity (what browsers' JSON.parse does)."""
    return json.loads(text, parse_constant=_reject)


# The JSON types a field of a file the tools read may have, named as a user reads them.
TYPE_WORDS = {
    int: "a whole number",
    float: "a number",
    str: "text",
    bool: "true or false",
    dict: "an object",
    list: "a list",
}
_JSON_NAMES = {
    str: "text",
    bool: "true/false",
    int: "a whole number",
    float: "a number",
    dict: "an object",
    list: "a list",
    type(None): "null",
}


def has_type(value, kind: type) -> bool:
    """JSON's view of types: true/false is not a number, a whole number is a number."""
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def type_problem(name: str, value, kind: type) -> str | None:
    """'dim must be a whole number, not text ("22")', or None when `value` has the type."""
    if has_type(value, kind):
        return None
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    found = _JSON_NAMES.get(type(value), type(value).__name__)
    return f"{name} must be {TYPE_WORDS[kind]}, not {found} ({shown})"
