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
