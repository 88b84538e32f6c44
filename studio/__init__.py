"""The tag studio: a local web page to make, compare and grade faces (python -m studio, ./run.sh --serve):
app.py its endpoints over a Drawing and routes, params.py their types, models.py the models it may open,
server.py uvicorn, static/ the page."""

from studio.server import make_server, serve

__all__ = ["make_server", "serve"]
