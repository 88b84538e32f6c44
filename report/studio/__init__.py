"""The tag studio: a local web page to make, compare and grade faces
(python -m report.studio, ./run.sh --serve). See report/studio/server.py."""
from report.studio.server import Studio, make_server, serve

__all__ = ["Studio", "make_server", "serve"]
