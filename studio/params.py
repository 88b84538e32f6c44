"""The studio's parameter types, from sampling.options' table (its kind, lowest value, and the page's highest
value or longest text and default), and the 4xx errors a request gets. Checked here, strictly, so that a
bad parameter is a 400 naming it, never a 500 from deeper down."""

from __future__ import annotations

import re
from collections import namedtuple
from urllib.parse import parse_qs

from common.cli import UserError
from sampling.options import OPTIONS


class ApiError(Exception):
    """A request's error: JSON {error, param, status} with a 4xx status (and `headers`, such as
    Connection: close when the request's body is left unread)."""

    def __init__(self, status: int, message: str, param: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.headers = status, message, param, headers


# kind "int": ASCII digits from low to high; "decimal": digits and one point, from low to high; "text": at
# most `high` characters; "flag": 0/1; "seed_or_tags": a seed (digits) or tag text
Param = namedtuple("Param", "kind default low high", defaults=(None, 0, 0))
KINDS = {
    "int": "int",
    "decimal": "decimal",
    "flag": "flag",
    "text": "text",
    "texts": "text",
    "pair": "seed_or_tags",
}
PARAMS = {
    name: Param(KINDS[option.kind], default, option.low or 0, high)
    for option in OPTIONS.values()
    for name, (high, default) in option.page.items()
}
PARAMS |= {
    "i": Param("int", 0, 0, PARAMS["n"].high - 1),
    "model": Param("text", high=300),
    "from": Param("text", high=300),
}
ENDPOINT_PARAMS = {
    "models": set(),
    "vocab": {"model"},
    "parse": {"model", "tags"},
    "grid": {"model", "tags", "seed", "n", "cols", "scale", "grade", "truncation"},
    "face": {"model", "tags", "seed", "n", "i", "scale", "truncation"},
    "sweep": {"model", "group", "tags", "rows", "seed", "scale", "truncation"},
    "interpolate": {"model", "a", "b", "tags", "steps", "seed", "scale", "truncation"},
    "edit": {"model", "tags", "from", "seed", "scale"},
}
_DIGITS = re.compile(r"[0-9]{1,40}", re.ASCII)
_DECIMAL = re.compile(r"[0-9]{1,3}(\.[0-9]{1,6})?|\.[0-9]{1,6}", re.ASCII)


def parse_params(endpoint: str, query: str) -> dict:
    """Query string -> typed parameters with defaults; anything unexpected is an ApiError(400)."""
    allowed = ENDPOINT_PARAMS[endpoint]
    try:
        raw = parse_qs(query, keep_blank_values=True, max_num_fields=32, errors="strict")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"malformed query string ({exc})") from None
    out = {name: PARAMS[name].default for name in allowed if PARAMS[name].default is not None}
    for name, values in raw.items():
        if name not in allowed:
            raise ApiError(
                400,
                f"unknown parameter {name!r}; /api/{endpoint} takes "
                f"{', '.join(sorted(allowed)) or 'no parameters'}",
                name,
            )
        if len(values) != 1:
            raise ApiError(400, f"parameter {name!r} given {len(values)} times; give it once", name)
        if any(ord(c) < 32 or ord(c) == 127 for c in values[0]):
            raise ApiError(400, f"parameter {name!r} holds control characters", name)
        out[name] = _typed(name, PARAMS[name], values[0])
    return out


def _typed(name: str, param: Param, value: str):
    """A parameter's value as its table entry says, or an ApiError(400) naming it."""
    if param.kind == "flag":
        if value.lower() not in ("", "0", "1", "true", "false", "on", "off"):
            raise ApiError(400, f"{name} must be 0 or 1, got {value[:40]!r}", name)
        return value.lower() in ("1", "true", "on")
    if param.kind == "int":
        return _integer(name, value, param.low, param.high)
    if param.kind == "decimal":
        if not _DECIMAL.fullmatch(value) or not param.low <= float(value) <= param.high:
            raise ApiError(
                400,
                f"{name} must be a number from {param.low:g} to {param.high:g} "
                f"(such as 0.7), got {value[:40]!r}",
                name,
            )
        return float(value)
    if param.kind == "seed_or_tags" and (_DIGITS.fullmatch(value) or value.lstrip("-+").isdigit()):
        return _integer(name, value, OPTIONS["seed"].low, OPTIONS["seed"].high, "a seed")
    if len(value) > param.high:
        raise ApiError(400, f"{name} is longer than {param.high} characters", name)
    return value


def _integer(name: str, value: str, low: int, high: int, what: str = "a whole number") -> int:
    """Plain ASCII digits only (no sign, space, '_' or other scripts' digits), from low to high."""
    if not _DIGITS.fullmatch(value):
        raise ApiError(
            400, f"{name} must be {what} from {low} to {high} (digits 0-9 only), got {value[:40]!r}", name
        )
    if not low <= int(value) <= high:
        raise ApiError(400, f"{name} must be from {low} to {high}, got {value[:40]}", name)
    return int(value)


def required(p: dict, name: str) -> str:
    if p.get(name) is None or not str(p[name]).strip():
        raise ApiError(400, f"missing parameter {name!r}", name)
    return p[name]


def tag_call(fn, param: str, *args, **kwargs):
    """A tags/sampling call whose UserError (the CLI's message) becomes a 400 naming `param`."""
    try:
        return fn(*args, **kwargs)
    except UserError as exc:
        raise ApiError(400, str(exc), param) from None
