"""The tag studio: a local web page to make, compare and grade faces
(python -m studio, ./run.sh --serve). See studio/server.py."""
from studio.server import Studio, make_server, serve

__all__ = ["Studio", "make_server", "serve"]
