"""A local web server for an ASGI app (the studio's): uvicorn (HTTP/1.1 by h11, keep-alive, a bound on
connections, Ctrl-C) on a socket bound first, so that port 0 and a taken port are known before it starts.
Left to us by uvicorn, done here: a client has REQUEST_TIMEOUT seconds to send each request's head, idle or
a byte at a time, and each connection sends at once (TCP_NODELAY)."""

from __future__ import annotations

import socket
import threading

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

REQUEST_TIMEOUT = 5.0  # seconds from a connection, or from its last answer, to a whole request head
CONNECTIONS = 64  # open at once; past that a request is answered 503


class _Protocol(H11Protocol):
    """uvicorn times out only the wait after an answer, and any byte stops that clock (a new connection
    that never sends is never closed): here each request head must arrive whole in time."""

    def connection_made(self, transport):
        super().connection_made(transport)
        # asyncio sets TCP_NODELAY only on a socket whose proto is TCP's, and create_server's is 0; without
        # it a kept-alive request waits 40 ms for the client's delayed ACK
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._wait_for_head()

    def on_response_complete(self):
        self._wait_for_head()  # before uvicorn goes on to a pipelined request
        super().on_response_complete()

    def _wait_for_head(self):
        if getattr(self, "_deadline", None):
            self._deadline.cancel()
        self._deadline = self.loop.call_later(REQUEST_TIMEOUT, self._give_up, self.cycle)

    def _give_up(self, last_cycle):
        if self.cycle is last_cycle and not self.transport.is_closing():  # no request has begun since
            self.transport.close()


class LocalServer:
    """uvicorn over `app` on a socket bound to (host, port), with socketserver's calls (serve_forever,
    shutdown, server_close, server_address), which the tests and bench.speed.studio_latency use."""

    def __init__(self, app, host: str, port: int):
        self.socket = socket.create_server(  # with SO_REUSEADDR; "::" takes IPv4 too
            (host.strip("[]"), port),
            family=socket.AF_INET6 if ":" in host else socket.AF_INET,
            dualstack_ipv6=host.strip("[]") == "::",
        )
        self.server_address = self.socket.getsockname()[:2]
        self.uvicorn = uvicorn.Server(
            uvicorn.Config(
                app,
                http=_Protocol,
                lifespan="off",
                log_config=None,
                log_level="error",
                limit_concurrency=CONNECTIONS,
                timeout_graceful_shutdown=3,
            )
        )  # a line per bug
        self._stopped = threading.Event()

    def serve_forever(self, poll_interval: float | None = None):
        try:
            self.uvicorn.run(sockets=[self.socket])
        finally:
            self._stopped.set()

    def shutdown(self):
        self.uvicorn.should_exit = True
        self._stopped.wait()

    def server_close(self):
        self.socket.close()
