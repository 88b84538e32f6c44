"""The tag studio: a local web page to make, compare and grade faces.

    python -m studio [--model DIR] [--port 8765] [--host 127.0.0.1]
    ./run.sh --serve            (python generate.py --serve)

Standard library HTTP server (ThreadingHTTPServer) + a static page with plain
JavaScript (static/). Generation is the library's (sampling.generation: the
same seed and tags give the same pixels as generate.py), on the LiteRT fast
path: each request builds a sampling.drawing.Drawing and calls sampling.sheet.draw.
Each model is loaded once and kept; requests draw at once (the generator holds
no per-request state, and a LiteRT interpreter takes one call at a time).
Nothing is written to disk: images are returned in the response.

API (GET, and one POST: the upload of a face to recolour; errors are JSON
{"error": message, "param": name} with a 4xx status):
    /api/models                     the model folders (models/, runs/*/export) with step and metrics
    /api/vocab?model=               tag groups and other tags of a model; checker and baseline available?
    /api/parse?model=&tags=         tag text -> canonical tags, or the CLI's error message
    /api/grid?model=&tags=&seed=&n=&cols=&scale=&grade=&truncation=  JSON with the grid as a data URL,
                                    the tags of each cell, grades and the baseline count (5x5)
    /api/grid.png?...               the same grid as a PNG download named by tags and seed
    /api/face.png?...&i=            face i (0-based) of that grid
    /api/sweep[.png]?model=&group=&tags=&rows=&seed=&scale=&truncation=   group: hair, eyes or one of the
                                    model's other tags (a column without it, one with it)
    /api/interpolate[.png]?model=&a=&b=&steps=&seed=&scale=&truncation=[&tags=]
    POST /api/edit?model=&tags=&from=&seed=&scale=   body: the image file (at most MAX_UPLOAD bytes),
                                    decoded in memory by the training images' reader (decompression-bomb
                                    check) and never written to disk; JSON with the source's tags, the
                                    original, its reconstruction, the edit (tags replacing the source's
                                    groups they name) and a sweep per group, as data URLs
"""
from __future__ import annotations

import base64
import ipaddress
import json
import re
import socket
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, urlsplit

import numpy as np

from common import jsonio
from common.cli import UserError
from evaluate.baseline import PASS_AT, course_grid, sheet_baseline
from sampling.drawing import Drawing
from sampling.options import OPTIONS
from sampling.sheet import draw
from studio.models import describe, find_models

ROOT = Path(__file__).resolve().parents[1]
STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC = {"/": ("index.html", "text/html; charset=utf-8"),
          "/index.html": ("index.html", "text/html; charset=utf-8"),
          "/studio.js": ("studio.js", "text/javascript; charset=utf-8"),
          "/studio.css": ("studio.css", "text/css; charset=utf-8")}
DEFAULT_PORT = 8765
MAX_UPLOAD = 8 * 2 ** 20  # bytes of an uploaded face
REQUEST_TIMEOUT = 5.0  # seconds a connection may take to send its request (idle or slow: closed)
ALLOWED_METHODS = "GET, HEAD"  # every path but /api/edit, which takes POST only


@dataclass(frozen=True)
class Param:
    """One query parameter: its kind and limits. kind "int": ASCII digits from `low`
    to `high`; "decimal": a plain decimal number (ASCII digits and one point) from `low`
    to `high`; "text": at most `high` characters; "flag": 0/1; "seed_or_tags": a
    seed (ASCII digits, in the seed's range) or tag text of at most `high` characters."""
    kind: str
    default: object = None
    low: int = 0
    high: int = 0


# Every parameter of every endpoint, checked by parse_params: a drawing's from sampling.options' table (its
# kind, lowest value, and the page's highest value or longest text and default), then the studio's own.
KINDS = {"int": "int", "decimal": "decimal", "flag": "flag", "text": "text", "texts": "text",
         "pair": "seed_or_tags"}
PARAMS = {name: Param(KINDS[option.kind], default, option.low or 0, high)
          for option in OPTIONS.values() for name, (high, default) in option.page.items()}
PARAMS |= {"i": Param("int", 0, 0, PARAMS["n"].high - 1), "model": Param("text", high=300),
           "from": Param("text", high=300)}
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
_DIGITS = re.compile(r"[0-9]{1,40}", re.ASCII)
_DECIMAL = re.compile(r"[0-9]{1,3}(\.[0-9]{1,6})?|\.[0-9]{1,6}", re.ASCII)


class ApiError(Exception):
    def __init__(self, status: int, message: str, param: str | None = None):
        super().__init__(message)
        self.status, self.message, self.param = status, message, param


class _Loaded:
    """One model's generator and checker, shared by every request (a draw changes nothing in them), and
    the face editor."""

    def __init__(self, generator, checker, checker_error):
        self.generator, self.checker, self.checker_error = generator, checker, checker_error
        self.recolourer = None  # the face editor (TensorFlow), opened by the first upload
        self.edit_lock = threading.Lock()  # one search at a time: the editor's variables are shared


def _png(image: np.ndarray) -> bytes:
    """PNG bytes; zlib level 1: 12 ms instead of ~50 ms for a 5x5 grid at scale 2, 13 % larger."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, np.uint8)).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _data_url(image: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(_png(image)).decode("ascii")


class Studio:
    """Model registry and the work behind each API call (no HTTP here)."""

    def __init__(self, root: str | Path = ROOT, model: str | Path | None = None):
        from sampling.runtime import resolve_model_dir

        self.root = Path(root).resolve()
        self._cache: dict[str, _Loaded] = {}
        self.loads: dict[str, int] = {}  # model id -> times loaded (once each)
        self._load_lock = threading.Lock()
        self._extra: dict[str, Path] = {}
        self.default_id = None
        if model is not None:
            folder = resolve_model_dir(model).resolve()
            model_id = next((k for k, v in find_models(self.root).items() if v.resolve() == folder), None)
            if model_id is None:  # a folder outside models/ and runs/, given on the command line
                model_id = folder.as_posix()
                self._extra[model_id] = folder
            self.default_id = model_id
        elif "models/default" in self.models():
            self.default_id = "models/default"
        elif self.models():
            self.default_id = next(iter(self.models()))
        if self.default_id is None:
            from sampling.runtime import ModelError

            raise ModelError(f"no model found under {self.root / 'models'} or {self.root / 'runs'}/*/export; "
                             "pass --model DIR")
        self.load(self.default_id)  # fail early on a broken model; the first page is warm

    # ------------------------------------------------------------ models
    def models(self) -> dict[str, Path]:
        return find_models(self.root) | self._extra

    def model_list(self) -> dict:
        return {"default": self.default_id,
                "models": [describe(k, v) | {"loads": self.loads.get(k, 0)}
                           for k, v in self.models().items()]}

    def resolve(self, value: str | None) -> tuple[str, Path]:
        """A request's model id -> (id, folder); only folders this studio listed."""
        if not value:
            value = self.default_id
        models = self.models()
        for candidate in (value, value.rstrip("/"), value.rstrip("/") + "/export"):
            if candidate in models:
                return candidate, models[candidate]
        parts = PurePosixPath(value).parts
        if (value.startswith(("/", "~")) or "\\" in value or ":" in value or ".." in parts
                or not parts or parts[0] not in ("models", "runs")):
            raise ApiError(400, f"model {value!r} is outside the model folders (models/ and runs/*/export); "
                                f"choose one of: {', '.join(models)}", "model")
        raise ApiError(404, f"no model {value!r}; the model folders hold: {', '.join(models)}", "model")

    def load(self, model_id: str) -> _Loaded:
        from checker.checker import find_checker_dir, load_checker
        from sampling.runtime import load_generator

        loaded = self._cache.get(model_id)
        if loaded is not None:
            return loaded
        with self._load_lock:
            if model_id not in self._cache:
                folder = self.models()[model_id]
                generator = load_generator(folder)
                self.loads[model_id] = self.loads.get(model_id, 0) + 1
                checker, error = None, None
                if find_checker_dir(folder) is not None:
                    try:
                        checker = load_checker(folder)
                    except ValueError as exc:  # ModelError
                        error = str(exc)
                else:
                    error = f"no tag checker beside {model_id} (python export.py RUN --checker DIR adds one)"
                self._warm_up(generator, checker)
                self._cache[model_id] = _Loaded(generator, checker, error)
            return self._cache[model_id]

    @staticmethod
    def _warm_up(generator, checker):
        """One 5x5 batch through each interpreter, so the first page is as fast as the next."""
        from sampling.generation import Request, generate_requests
        from tags.parser import complete, parse

        vocab = generator.vocab
        first = vocab.text({group: values[0] for group, values in vocab.groups.items()})
        tagsets = complete(parse(first, vocab), vocab, np.random.default_rng(0), 25)
        images = generate_requests(generator, [Request("warm-up", first, tagsets)], 0)[0]
        if checker is not None:
            checker.predict(images)

    def model(self, value: str | None) -> tuple[str, _Loaded]:
        model_id, _ = self.resolve(value)
        from sampling.runtime import ModelError

        try:
            return model_id, self.load(model_id)
        except ModelError as exc:
            raise ApiError(422, str(exc), "model") from None

    # ------------------------------------------------------------ endpoints
    def vocab(self, p: dict) -> dict:
        model_id, loaded = self.model(p.get("model"))
        vocab = loaded.generator.vocab
        return {"model": model_id, "groups": vocab.groups, "other_tags": vocab.other_tags,
                "image_size": loaded.generator.config.image_size, "backend": loaded.generator.backend,
                "checker": loaded.checker is not None, "checker_error": loaded.checker_error,
                "baseline": True, "limits": {k: [q.low, q.high] for k, q in PARAMS.items() if q.kind == "int"}}

    def parse(self, p: dict) -> dict:
        from tags.parser import parse

        model_id, loaded = self.model(p.get("model"))
        query = _tag_call(parse, "tags", _required(p, "tags"), loaded.generator.vocab)
        return {"model": model_id, "text": query.text, "values": query.values, "extras": list(query.extras),
                "missing": [g for g in loaded.generator.vocab.groups if g not in query.values]}

    @staticmethod
    def _drawn(loaded: _Loaded, p: dict, param: str, **what):
        """(the Drawing of `what` at the request's seed, zoom and truncation, its sheet): every picture
        the studio shows, drawn by `loaded`'s model. A refusal of the drawing's is a 400 naming `param`."""
        if what.get("grade") and loaded.checker is None:
            raise ApiError(422, f"cannot grade: {loaded.checker_error}", "grade")
        drawing = _tag_call(Drawing, param, seed=p["seed"], scale=p["scale"], truncation=p["truncation"],
                            **what)
        return drawing, _tag_call(draw, param, loaded.generator, drawing, loaded.checker)

    def _grid(self, p: dict, grade: bool):
        """(model id, the tags asked for, the file stem, the sheet of the n faces of `tags`)."""
        from tags.parser import parse

        model_id, loaded = self.model(p.get("model"))
        text = _required(p, "tags")
        query = _tag_call(parse, "tags", text, loaded.generator.vocab)
        drawing, sheet = self._drawn(loaded, p, "tags", tags=(text,), n=p["n"], cols=p.get("cols"),
                                     grade=grade)
        return model_id, query, drawing.file_stem(loaded.generator.vocab), sheet

    def grid(self, p: dict, want_json: bool = True):
        start = time.perf_counter()
        model_id, query, name, sheet = self._grid(p, p["grade"])
        picture = sheet.image
        if not want_json:
            return _png(picture), f"{name}.png"
        baseline = None
        if course_grid(sheet) and p["grade"]:  # the course baseline, on the plain 5x5 grid
            found = sheet_baseline(sheet)
            baseline = {"faces": found.faces, "of": 25, "pass_at": PASS_AT, "passed": found.passed}
        png = _png(picture)
        return {"model": model_id, "tags": query.text, "seed": p["seed"], "n": p["n"], "cols": p["cols"],
                "scale": p["scale"], "truncation": p["truncation"], "width": int(picture.shape[1]),
                "height": int(picture.shape[0]), "cell": int(sheet.cells[0].shape[0]) * p["scale"], "pad": 2,
                "cells": [t.text for t in sheet.tags],
                "grade": None if sheet.marks is None else {
                    "groups": list(sheet.accuracy), "marks": [[bool(x) for x in m] for m in sheet.marks],
                    "accuracy": {g: round(float(a), 4) for g, a in sheet.accuracy.items()}},
                "baseline": baseline, "filename": f"{name}.png",
                "image": "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
                "ms": round((time.perf_counter() - start) * 1000, 1)}

    def face(self, p: dict):
        from sampling.grid import upscale

        if p["i"] >= p["n"]:
            raise ApiError(400, f"i={p['i']} but the grid has {p['n']} faces (i counts from 0)", "i")
        _, _, name, sheet = self._grid(p, False)
        return _png(upscale(sheet.faces[0][p["i"]], p["scale"])), f"{name}_{p['i'] + 1}.png"

    def sweep(self, p: dict, want_json: bool = True):
        """A group's colours, or an other tag without and with it, at fixed z per row (as --sweep)."""
        from sampling.drawing import sweep_target
        from sampling.generation import sweep_columns
        from tags.parser import parse

        model_id, loaded = self.model(p.get("model"))
        vocab = loaded.generator.vocab
        group = _tag_call(sweep_target, "group", vocab, _required(p, "group"))
        text = p.get("tags") or None
        if text:
            _tag_call(parse, "tags", text, vocab)
        drawing, sheet = self._drawn(loaded, p, "tags", tags=(text,) if text else (), sweep=group,
                                     n=p["rows"])
        picture, name = sheet.image, f"{drawing.file_stem(vocab)}.png"
        if not want_json:
            return _png(picture), name
        is_group = group in vocab.groups
        return {"model": model_id, "group": group, "kind": "group" if is_group else "tag",
                "columns": vocab.groups[group] if is_group else sweep_columns(vocab, group),
                "rows": sheet.row_labels, "width": int(picture.shape[1]), "height": int(picture.shape[0]),
                "filename": name, "image": _data_url(picture)}

    def interpolate(self, p: dict, want_json: bool = True):
        from tags.parser import parse

        model_id, loaded = self.model(p.get("model"))
        vocab = loaded.generator.vocab
        a, b = _required(p, "a"), _required(p, "b")
        seeds = all(isinstance(x, int) for x in (a, b))
        if not seeds and any(isinstance(x, int) for x in (a, b)):
            which = "a" if isinstance(b, int) else "b"
            raise ApiError(400, f"a and b are two seeds or two tag texts; {which} is tag text but "
                                f"{'b' if which == 'a' else 'a'} is a seed", which)
        if seeds:
            _tag_call(parse, "tags", _required(p, "tags"), vocab)
        else:
            _tag_call(parse, "a", a, vocab)
            _tag_call(parse, "b", b, vocab)
        text = p.get("tags")
        drawing, sheet = self._drawn(loaded, p, "a", tags=(text,) if text else (), interpolate=(a, b),
                                     cells=p["steps"])
        picture, name = sheet.image, f"{drawing.file_stem(vocab)}.png"
        if not want_json:
            return _png(picture), name
        return {"model": model_id, "label": sheet.caption, "steps": p["steps"],
                "width": int(picture.shape[1]), "height": int(picture.shape[0]), "filename": name,
                "image": _data_url(picture)}

    def edit(self, p: dict, upload: bytes) -> dict:
        """Recolour an uploaded face (bytes kept in memory): see POST /api/edit."""
        from common.cli import UserError
        from editing.recolour import Recolourer, read_face
        from sampling.grid import grid, upscale
        from tags.parser import parse

        start = time.perf_counter()
        model_id, loaded = self.model(p.get("model"))
        vocab = loaded.generator.vocab
        text = p.get("tags") or None
        if text:
            _tag_call(parse, "tags", text, vocab)
        size = loaded.generator.config.image_size
        try:
            face = read_face(upload, size, "the upload")
        except UserError as exc:
            raise ApiError(400, str(exc), "image") from None
        with loaded.edit_lock:
            if loaded.recolourer is None:
                loaded.recolourer = Recolourer(self.models()[model_id])
            recolour = loaded.recolourer
            try:
                source = _tag_call(recolour.source_tags, "from", face, p.get("from") or None)
            except UserError as exc:  # no checker and no "from"
                raise ApiError(422, str(exc), "from") from None
            found = recolour.find(face, source, p["seed"])
            reconstruction = recolour.reconstruction(found)
            edit_tags, edited = recolour.edit(found, text) if text else (source, reconstruction)
            sweeps = {group: recolour.sweep(found, group) for group in vocab.groups}
        scale = p["scale"]
        return {"model": model_id, "source": source.text, "from": "text" if p.get("from") else "checker",
                "tags": edit_tags.text, "seed": p["seed"], "warnings": face.warnings,
                "original": _data_url(upscale(face.image, scale)),
                "reconstruction": _data_url(upscale(reconstruction, scale)),
                "edit": _data_url(upscale(edited, scale)),
                "filename": f"edit_{edit_tags.file_stem}_seed{p['seed']}.png",
                "sweeps": {group: {"columns": [t.get(group) for t in tags],
                                   "image": _data_url(grid(faces, len(faces), None, scale))}
                           for group, (tags, faces) in sweeps.items()},
                "ms": round((time.perf_counter() - start) * 1000, 1)}


def _required(p: dict, name: str) -> str:
    value = p.get(name)
    if value is None or not str(value).strip():
        raise ApiError(400, f"missing parameter {name!r}", name)
    return value


def _tag_call(fn, param: str, *args, **kwargs):
    """Run a tags/generation call; its UserError (TagError and the like: the CLI's message) becomes a
    400 naming `param`."""
    try:
        return fn(*args, **kwargs)
    except UserError as exc:
        raise ApiError(400, str(exc), param) from None


def parse_params(endpoint: str, query: str) -> dict:
    """Query string -> typed parameters with defaults; anything unexpected is an ApiError(400)."""
    allowed = ENDPOINT_PARAMS[endpoint]
    try:
        raw = parse_qs(query, keep_blank_values=True, strict_parsing=False, max_num_fields=32,
                       errors="strict")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"malformed query string ({exc})") from None
    out: dict = {}
    for name, values in raw.items():
        if name not in allowed:
            raise ApiError(400, f"unknown parameter {name!r}; /api/{endpoint} takes "
                                f"{', '.join(sorted(allowed)) or 'no parameters'}", name)
        if len(values) != 1:
            raise ApiError(400, f"parameter {name!r} given {len(values)} times; give it once", name)
        value = values[0]
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ApiError(400, f"parameter {name!r} holds control characters", name)
        out[name] = _typed(name, PARAMS[name], value)
    for name in allowed:
        if name not in out and PARAMS[name].default is not None:
            out[name] = PARAMS[name].default
    return out


def _typed(name: str, param: Param, value: str):
    """A parameter's value as its table entry says, or an ApiError(400) naming it."""
    if param.kind == "flag":
        if value.lower() not in ("", "0", "1", "true", "false", "on", "off"):
            raise ApiError(400, f"{name} must be 0 or 1, got {value[:40]!r}", name)
        return value.lower() in ("1", "true", "on")
    if param.kind == "int":
        return _integer(name, value, param.low, param.high)
    if param.kind == "decimal":
        if not _DECIMAL.fullmatch(value) or not param.low <= float(value) <= param.high:
            raise ApiError(400, f"{name} must be a number from {param.low:g} to {param.high:g} "
                                f"(such as 0.7), got {value[:40]!r}", name)
        return float(value)
    if param.kind == "seed_or_tags" and (_DIGITS.fullmatch(value) or value.lstrip("-+").isdigit()):
        seed = OPTIONS["seed"]
        return _integer(name, value, seed.low, seed.high, "a seed")
    if len(value) > param.high:
        raise ApiError(400, f"{name} is longer than {param.high} characters", name)
    return value


def _integer(name: str, value: str, low: int, high: int, what: str = "a whole number") -> int:
    """Plain ASCII digits only (no sign, space, '_' or other scripts' digits), from low to high."""
    if not _DIGITS.fullmatch(value):
        raise ApiError(400, f"{name} must be {what} from {low} to {high} (digits 0-9 only), got "
                            f"{value[:40]!r}", name)
    number = int(value)
    if not low <= number <= high:
        raise ApiError(400, f"{name} must be from {low} to {high}, got {value[:40]}", name)
    return number


def _host_of(header: str) -> str:
    """'127.0.0.1:8765' -> '127.0.0.1', '[::1]:8765' -> '::1'."""
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Handler(BaseHTTPRequestHandler):
    server_version = "tagface-studio"
    studio: Studio = None  # set by make_server
    local_only = True
    timeout = REQUEST_TIMEOUT  # each read and write on the socket (BaseHTTPRequestHandler applies it)

    def log_message(self, format, *args):  # one line per failed request only (see _send)
        pass

    def setup(self):
        """A connection has REQUEST_TIMEOUT seconds to send its request line and headers in
        all (the socket timeout alone lets a client that sends a byte now and then hold
        a thread forever); then it is shut, and its thread ends."""
        super().setup()
        self._deadline = threading.Timer(REQUEST_TIMEOUT, self._give_up)
        self._deadline.daemon = True
        self._deadline.start()

    def _give_up(self):
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def parse_request(self):
        parsed = super().parse_request()  # the request line and the headers are in
        self._deadline.cancel()
        return parsed

    def finish(self):
        self._deadline.cancel()
        try:
            super().finish()
        except OSError:
            pass

    def _send(self, status: int, body: bytes, content_type: str, filename: str | None = None,
              headers: dict | None = None):
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if filename:
            self.send_header("Content-Disposition", f'attachment; filename="{filename}"')
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: dict, headers: dict | None = None):
        self._send(status, jsonio.dumps(data).encode(), "application/json", headers=headers)

    def _error(self, status: int, message: str, param: str | None = None, headers: dict | None = None):
        if status >= 500:
            print(f"studio: {self.command} {self.path[:200]} -> {status}: {message}", file=sys.stderr)
        self._json(status, {"error": message, "param": param, "status": status}, headers)

    def do_POST(self):
        try:
            self._post()
        except ApiError as exc:
            self._error(exc.status, exc.message, exc.param)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
        except Exception as exc:  # a bug: say so in the response and in the server's log
            traceback.print_exc(file=sys.stderr)
            self._error(500, f"internal error ({type(exc).__name__}: {exc})")

    def _not_allowed(self):
        """405 with Allow (RFC 9110 15.5.6): /api/edit takes POST, every other path GET and HEAD."""
        if urlsplit(self.path).path == "/api/edit":
            return self._error(405, "/api/edit takes the image as a POST body", "image", headers={"Allow": "POST"})
        self._error(405, f"the studio answers {ALLOWED_METHODS} requests here (POST only at /api/edit, a face "
                         "to recolour)", headers={"Allow": ALLOWED_METHODS})

    def __getattr__(self, name: str):
        """Every other method (OPTIONS, TRACE, PUT, made-up ones) is a 405 with Allow, not the
        standard library's 501."""
        if name.startswith("do_"):
            return self._not_allowed
        raise AttributeError(name)

    def _check_host(self):
        if self.local_only:  # a page on another site cannot reach the studio through a rebound DNS name
            host = _host_of(self.headers.get("Host") or "127.0.0.1")
            if not _loopback(host):
                raise ApiError(403, f"this studio answers only to 127.0.0.1/localhost, not Host {host[:60]!r}")

    def _post(self):
        """POST /api/edit: the body is read into memory (at most MAX_UPLOAD bytes), never to disk."""
        self._check_host()
        url = urlsplit(self.path)
        if url.path != "/api/edit":
            return self._not_allowed()
        length = self.headers.get("Content-Length")
        if length is None or not length.strip().isdigit():
            self.close_connection = True
            raise ApiError(411, "send the image as the request body with a Content-Length", "image")
        length = int(length)
        if length > MAX_UPLOAD:
            self.close_connection = True  # the body is not read
            raise ApiError(413, f"the image is {length / 2**20:.1f} MiB; at most {MAX_UPLOAD // 2**20} MiB", "image")
        if length == 0:
            raise ApiError(400, "no image in the request body", "image")
        p = parse_params("edit", url.query)
        upload = self.rfile.read(length)
        if len(upload) < length:
            raise ApiError(400, "the upload ended early", "image")
        return self._json(200, self.studio.edit(p, upload))

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        try:
            self._get()
        except ApiError as exc:
            self._error(exc.status, exc.message, exc.param)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
        except UserError as exc:  # a library's message about the request (a limit, a bad value)
            self._error(400, str(exc))
        except Exception as exc:  # a bug: say so in the response and in the server's log
            traceback.print_exc(file=sys.stderr)
            self._error(500, f"internal error ({type(exc).__name__}: {exc})")

    def _get(self):
        self._check_host()
        url = urlsplit(self.path)
        path = url.path
        if path in STATIC:
            name, ctype = STATIC[path]
            return self._send(200, (STATIC_DIR / name).read_bytes(), ctype)
        if not path.startswith("/api/"):
            raise ApiError(404, f"no page {path[:80]!r}; the studio is at /")
        endpoint = path[len("/api/"):]
        as_png = endpoint.endswith(".png")
        endpoint = endpoint[:-4] if as_png else endpoint
        studio = self.studio
        png_only, json_only = {"face"}, {"models", "vocab", "parse"}
        if endpoint == "edit":
            return self._not_allowed()
        if endpoint not in ENDPOINT_PARAMS or (as_png and endpoint in json_only) or (
                not as_png and endpoint in png_only):
            raise ApiError(404, f"no API {path[:80]!r}; see /api/models, /api/vocab, /api/parse, /api/grid, "
                                "/api/grid.png, /api/face.png, /api/sweep, /api/interpolate")
        p = parse_params(endpoint, url.query)
        if endpoint == "models":
            return self._json(200, studio.model_list())
        if endpoint in ("vocab", "parse"):
            return self._json(200, getattr(studio, endpoint)(p))
        if endpoint == "face":
            body, filename = studio.face(p)
            return self._send(200, body, "image/png", filename)
        result = getattr(studio, endpoint)(p, not as_png)
        if as_png:
            body, filename = result
            return self._send(200, body, "image/png", filename)
        return self._json(200, result)


class StudioServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_server(host: str = "127.0.0.1", port: int = DEFAULT_PORT, model=None, root=ROOT) -> StudioServer:
    """A bound server (not yet serving); port 0 picks a free port (server.server_address)."""
    studio = Studio(root, model)
    handler = type("StudioHandler", (Handler,), {"studio": studio, "local_only": _loopback(host)})
    server_class = StudioServer
    if ":" in host:
        server_class = type("StudioServer6", (StudioServer,), {"address_family": socket.AF_INET6})
    server = server_class((host.strip("[]"), port), handler)
    server.studio = studio
    return server


def serve(model=None, host: str = "127.0.0.1", port: int = DEFAULT_PORT, root=ROOT) -> int:
    """Run the studio until Ctrl-C; prints its address. Returns an exit status."""
    from sampling.runtime import ModelError

    try:
        server = make_server(host, port, model, root)
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --port "
              "(or --port 0 for any free one)", file=sys.stderr)
        return 2
    bound_port = server.server_address[1]
    shown = f"[{host}]" if ":" in host else host
    print(f"tagface studio: http://{'127.0.0.1' if host in ('0.0.0.0', '::') else shown}:{bound_port}/"
          f"  (model {server.studio.default_id})", flush=True)
    if _loopback(host):
        print(f"listening on {host} only: this machine can open it, others cannot (--host 0.0.0.0 to share)",
              flush=True)
    else:
        print(f"listening on {host}: anyone who can reach this machine on port {bound_port} can use it",
              flush=True)
    print("Ctrl-C stops it", flush=True)
    try:
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        print("studio stopped", flush=True)
    return 0
