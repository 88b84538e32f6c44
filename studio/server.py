"""Serving the studio: its app on common.webserver's LocalServer (uvicorn on a socket bound first), and the
command that runs it until Ctrl-C."""

from __future__ import annotations

import sys
from pathlib import Path

from common.webapi import loopback
from common.webserver import LocalServer
from sampling.export import ModelError
from sampling.options import COMMAND_LINE
from studio.app import Studio, make_app

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PORT = COMMAND_LINE["port"].default


class StudioServer(LocalServer):
    """A LocalServer over a Studio's routes; `studio` is the Studio (the tests reach into it)."""

    def __init__(self, studio: Studio, host: str, port: int):
        super().__init__(make_app(studio, loopback(host)), host, port)
        self.studio = studio


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
