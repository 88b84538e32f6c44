"""The studio's parameter types, from sampling.options' tables (each page parameter's kind, lowest value,
and highest value or longest text and default), and which endpoint takes which. Read strictly
(sampling.options.read_text), so that a bad parameter is a 400 naming it, never a 500 from deeper down."""

from __future__ import annotations

from collections import namedtuple

from common.webapi import read_query, user_call
from sampling.options import COMMAND_LINE, OPTIONS, read_text

# kind "int": ASCII digits from low to high; "decimal": digits and one point, from low to high; "text": at
# most `high` characters; "flag": 0/1; "seed_or_tags": a seed (digits) or tag text
Param = namedtuple("Param", "kind default low high", defaults=(None, 0, 0))
KINDS = {"texts": "text", "pair": "seed_or_tags"}  # the table's kinds that a page reads otherwise
PARAMS = {
    name: Param(KINDS.get(option.kind, option.kind), default, option.low or 0, high)
    for option in (OPTIONS | COMMAND_LINE).values()
    for name, (high, default) in option.page.items()
}
PARAMS["i"] = Param("int", 0, 0, PARAMS["n"].high - 1)  # a face of the grid, from 0
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


def parse_params(endpoint: str, query: str) -> dict:
    """Query string -> typed parameters with defaults; anything unexpected is an ApiError(400)."""
    allowed = ENDPOINT_PARAMS[endpoint]
    defaults = {name: PARAMS[name].default for name in allowed if PARAMS[name].default is not None}
    return defaults | read_query(query, allowed, f"/api/{endpoint}", _typed)


def _typed(name: str, text: str):
    param = PARAMS[name]
    return user_call(read_text, name, name, param.kind, text, param.low, param.high)
