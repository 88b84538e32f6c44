"""common.webapi and common.webserver, the strict web layer under the studio, on their own (the studio's
tests hold them over real HTTP): the Host names a loopback server answers, a query read strictly, a
parameter that is required, a user's error as a 400 naming its parameter, an upload bounded before it is
read."""

import pytest

from common.cli import UserError
from common.webapi import ApiError, check_upload, loopback, read_query, required, user_call


def test_loopback_names_this_machine_only():
    for host in ("127.0.0.1", "127.0.0.1:8765", "[::1]:8765", "::1", "localhost", "localhost:1"):
        assert loopback(host), host
    for host in ("0.0.0.0", "evil.example:8765", "192.168.1.2", "[::]:80", "", "localhost.evil.example"):
        assert not loopback(host), host


def _refusal(call) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value


def test_a_query_is_read_strictly_in_its_order():
    def read(name, text):
        if text == "bad":
            raise ApiError(400, f"{name} is bad", name)
        return text.upper()

    assert read_query("a=x&b=", {"a", "b"}, "/api/t", read) == {"a": "X", "b": ""}
    for query, param, words in [
        ("c=1", "c", "unknown parameter 'c'; /api/t takes a, b"),
        ("a=1&a=2", "a", "given 2 times"),
        ("a=x%00y", "a", "control characters"),
        ("a=bad&c=1", "a", "a is bad"),  # the first parameter's error, as given
        ("a=%ff", None, "malformed query string"),
    ]:
        refusal = _refusal(lambda: read_query(query, {"a", "b"}, "/api/t", read))
        assert (refusal.status, refusal.param) == (400, param) and words in refusal.message, query
    assert "takes no parameters" in _refusal(lambda: read_query("a=1", set(), "/api/none", read)).message


def test_required_and_a_users_error_name_their_parameter():
    assert required({"tags": "red hair"}, "tags") == "red hair"
    for p in ({}, {"tags": None}, {"tags": "  "}):
        refusal = _refusal(lambda: required(p, "tags"))
        assert (refusal.status, refusal.param, refusal.message) == (400, "tags", "missing parameter 'tags'")

    def unknown(text):
        raise UserError(f"unknown tag {text!r}")

    assert user_call(str.upper, "tags", "red") == "RED"
    refusal = _refusal(lambda: user_call(unknown, "from", "long nose"))
    assert (refusal.status, refusal.param, refusal.message) == (400, "from", "unknown tag 'long nose'")


def test_an_upload_is_bounded_by_its_content_length_before_it_is_read():
    from starlette.requests import Request

    def request(length):
        headers = [] if length is None else [(b"content-length", str(length).encode())]
        return Request({"type": "http", "method": "POST", "path": "/", "headers": headers})

    check_upload(request(100), 100, "image")  # at the limit: taken
    for length, status in ((None, 411), ("x", 411), (101, 413), (0, 400)):
        refusal = _refusal(lambda: check_upload(request(length), 100, "image"))
        assert (refusal.status, refusal.param) == (status, "image"), length
        assert (refusal.headers or {}).get("Connection") == ("close" if status != 400 else None)
