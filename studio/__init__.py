"""The tag studio: a local web page to make, compare and grade faces (python -m studio, ./run.sh --serve):
app.py its endpoints over a Drawing and routes, params.py their types, server.py its server, static/ the
page."""

from studio.server import make_server, serve

__all__ = ["make_server", "serve"]
