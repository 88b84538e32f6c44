"""A strict JSON API over Starlette (the studio's): what the framework leaves to an app, done once. Every
answer is JSON or a download, never cached or sniffed; every refusal is JSON {error, param, status} with a
4xx status naming the parameter (a user's mistake is never a 500); a query is read strictly (no unknown,
repeated or control-character parameter); an upload is read into memory, bounded in size and in time; an app
listening on loopback answers only to loopback Host names (a page on another site cannot reach it through a
rebound DNS name)."""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Callable, Collection
from urllib.parse import parse_qs

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from common import jsonio
from common.cli import UserError

UNREAD = {"Connection": "close"}  # on a refusal that leaves the request's body unread


class ApiError(Exception):
    """A request's error: JSON {error, param, status} with a 4xx status (and `headers`, such as
    Connection: close when the request's body is left unread)."""

    def __init__(self, status: int, message: str, param: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.headers = status, message, param, headers


def answer(
    body: bytes | dict | tuple, status: int = 200, headers: dict | None = None, media_type: str = "image/png"
) -> Response:
    """Every answer: a dict as JSON, (PNG, file name) as a download; never cached, never sniffed."""
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", **(headers or {})}
    if isinstance(body, tuple):
        body, headers["Content-Disposition"] = body[0], f'attachment; filename="{body[1]}"'
    if isinstance(body, dict):
        body, media_type = jsonio.dumps(body).encode(), "application/json"
    return Response(body, status, headers, media_type)


def error(status: int, message: str, param: str | None = None, headers: dict | None = None) -> Response:
    return answer({"error": message, "param": param, "status": status}, status, headers)


# Starlette's exception_handlers for JSON errors (an app adds its own 404 and 405)
ERRORS = {
    ApiError: lambda request, exc: error(exc.status, exc.message, exc.param, exc.headers),
    UserError: lambda request, exc: error(400, str(exc)),  # a library's message about the request
    Exception: lambda request, exc: error(500, f"internal error ({type(exc).__name__}: {exc})"),
}


def read_query(query: str, allowed: Collection[str], where: str, read: Callable[[str, str], object]) -> dict:
    """A query string -> {name: read(name, its text)}, strictly: a malformed query, or a parameter that is
    unknown (`where` names who takes `allowed`), given twice or holding control characters, is an
    ApiError(400) naming it."""
    try:
        raw = parse_qs(query, keep_blank_values=True, max_num_fields=32, errors="strict")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"malformed query string ({exc})") from None
    out = {}
    for name, values in raw.items():
        if name not in allowed:
            takes = ", ".join(sorted(allowed)) or "no parameters"
            raise ApiError(400, f"unknown parameter {name!r}; {where} takes {takes}", name)
        if len(values) != 1:
            raise ApiError(400, f"parameter {name!r} given {len(values)} times; give it once", name)
        if any(ord(c) < 32 or ord(c) == 127 for c in values[0]):
            raise ApiError(400, f"parameter {name!r} holds control characters", name)
        out[name] = read(name, values[0])
    return out


def required(p: dict, name: str):
    """The parameter `name` of `p`, or an ApiError(400) when it is missing or blank."""
    if p.get(name) is None or not str(p[name]).strip():
        raise ApiError(400, f"missing parameter {name!r}", name)
    return p[name]


def user_call(fn, param: str, *args, **kwargs):
    """fn(*args, **kwargs), its UserError (a message written for the user, such as an unknown tag's) a 400
    naming `param`."""
    try:
        return fn(*args, **kwargs)
    except UserError as exc:
        raise ApiError(400, str(exc), param) from None


def check_upload(request: Request, limit: int, param: str) -> None:
    """Refuse, unread, a body of more than `limit` bytes by its Content-Length (or with none), and an
    empty one, before anything is read."""
    length = request.headers.get("content-length", "")
    if not length.strip().isdigit():
        raise ApiError(411, f"send the {param} as the request body with a Content-Length", param, UNREAD)
    if int(length) > limit:
        size = f"{int(length) / 2**20:.1f} MiB; at most {limit // 2**20} MiB"
        raise ApiError(413, f"the {param} is {size}", param, UNREAD)
    if int(length) == 0:
        raise ApiError(400, f"no {param} in the request body", param)


async def read_body(request: Request, timeout: float, param: str) -> bytes:
    """The request's body (checked by check_upload first), read into memory, never to disk, within
    `timeout` seconds."""
    try:
        async with asyncio.timeout(timeout):
            return await request.body()
    except (ClientDisconnect, TimeoutError):
        raise ApiError(400, "the upload ended early or took too long", param, UNREAD) from None


def loopback(host: str) -> bool:
    """Is `host` (or a Host header: '127.0.0.1:8765', '[::1]:8765', 'localhost') this machine only?"""
    if host.startswith("["):
        host = host[1:].split("]")[0]
    elif host.count(":") == 1:
        host = host.rsplit(":", 1)[0]
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def local_only(app, local: bool = True):
    """`app` behind the Host check when it listens on loopback only (`local`): a request naming any other
    Host gets a 403."""

    async def checked(scope, receive, send):
        host = dict(scope.get("headers", ())).get(b"host", b"127.0.0.1").decode("latin-1")
        if scope["type"] == "http" and local and not loopback(host):
            refusal = error(403, f"this server answers only to 127.0.0.1/localhost, not Host {host[:60]!r}")
            return await refusal(scope, receive, send)
        await app(scope, receive, send)

    return checked
