"""Serving the studio: uvicorn (HTTP/1.1 by h11, keep-alive, a bound on connections, Ctrl-C) on a socket
bound first, so that port 0 and a taken port are known before it starts. Left to us: a client has
REQUEST_TIMEOUT seconds to send each request's head, idle or a byte at a time."""

from __future__ import annotations

import socket
import sys
import threading
from pathlib import Path

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from sampling.runtime import ModelError
from studio.app import Studio, loopback, make_app

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PORT = 8765
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


class StudioServer:
    """uvicorn over a Studio, with socketserver's calls (serve_forever, shutdown, server_close,
    server_address), which the tests and bench.speed.studio_latency use."""

    def __init__(self, studio: Studio, host: str, port: int):
        self.socket = socket.create_server(  # with SO_REUSEADDR; "::" takes IPv4 too
            (host.strip("[]"), port),
            family=socket.AF_INET6 if ":" in host else socket.AF_INET,
            dualstack_ipv6=host.strip("[]") == "::",
        )
        self.server_address, self.studio = self.socket.getsockname()[:2], studio
        self.uvicorn = uvicorn.Server(
            uvicorn.Config(
                make_app(studio, loopback(host)),
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


def make_server(host: str = "127.0.0.1", port: int = DEFAULT_PORT, model=None, root=ROOT) -> StudioServer:
    """A bound server (not yet serving); port 0 picks a free port (server.server_address)."""
    return StudioServer(Studio(root, model), host, port)


def serve(model=None, host: str = "127.0.0.1", port: int = DEFAULT_PORT, root=ROOT) -> int:
    """Run the studio until Ctrl-C; prints its address. Returns an exit status."""
    try:
        server = make_server(host, port, model, root)
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (OSError, OverflowError) as exc:
        print(
            f"error: cannot listen on {host}:{port} ({getattr(exc, 'strerror', None) or exc}); choose "
            "another --port (or --port 0 for any free one)",
            file=sys.stderr,
        )
        return 2
    port, shown = server.server_address[1], f"[{host}]" if ":" in host else host
    print(
        f"tagface studio: http://{'127.0.0.1' if host in ('0.0.0.0', '::') else shown}:{port}/"
        f"  (model {server.studio.default_id})",
        flush=True,
    )
    print(
        f"listening on {host} only: this machine can open it, others cannot (--host 0.0.0.0 to share)"
        if loopback(host)
        else f"listening on {host}: anyone who can reach this machine on port {port} can use it",
        flush=True,
    )
    print("Ctrl-C stops it", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:  # uvicorn stops on Ctrl-C, then raises it again
        pass
    finally:
        server.server_close()
        print("studio stopped", flush=True)
    return 0
