"""The studio's endpoints over a Drawing (the one generate.py builds from its flags: the same pixels, the
same file name) and their routes. Starlette routes, answers HEAD, 404 and 405, and runs each endpoint in its
thread pool; left to us: the Host check, the upload's limits, JSON errors. Nothing is written to disk.
The API: docs/studio.md."""

from __future__ import annotations

import asyncio
import base64
import io
import ipaddress
import time
from pathlib import Path

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.routing import Route

from common import jsonio
from common.cli import UserError
from evaluate.baseline import PASS_AT, course_grid, sheet_baseline
from sampling.drawing import Drawing, sweep_target
from sampling.generation import sweep_columns
from sampling.grid import grid, upscale
from sampling.sheet import draw
from studio.models import Models, describe
from studio.params import PARAMS, ApiError, parse_params, required, tag_call
from tags.parser import parse

STATIC = Path(__file__).resolve().parent / "static"
PAGES = {
    "/": "index.html",
    "/index.html": "index.html",
    "/studio.js": "studio.js",
    "/studio.css": "studio.css",
}
TYPES = {"html": "text/html", "js": "text/javascript", "css": "text/css"}
MAX_UPLOAD = 8 * 2**20  # bytes of an uploaded face
UPLOAD_TIMEOUT = 60.0  # seconds to receive it


def png(image: np.ndarray) -> bytes:
    """zlib level 1: 12 ms instead of ~50 ms for a 5x5 grid at scale 2, 13 % larger."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, np.uint8)).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def data_url(image: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png(image)).decode("ascii")


class Studio(Models):
    """The work behind each API call (no HTTP here): a dict for JSON, or (PNG bytes, file name)."""

    def model_list(self, p: dict) -> dict:
        models = [describe(k, v) | {"loads": self.loads.get(k, 0)} for k, v in self.models().items()]
        return {"default": self.default_id, "models": models}

    def vocab(self, p: dict) -> dict:
        model_id, loaded = self.model(p.get("model"))
        generator, vocab = loaded.generator, loaded.generator.vocab
        return {
            "model": model_id,
            "groups": vocab.groups,
            "other_tags": vocab.other_tags,
            "image_size": generator.config.image_size,
            "backend": generator.backend,
            "baseline": True,
            "checker": loaded.checker is not None,
            "checker_error": loaded.checker_error,
            "limits": {k: [q.low, q.high] for k, q in PARAMS.items() if q.kind == "int"},
        }

    def parse(self, p: dict) -> dict:
        model_id, loaded = self.model(p.get("model"))
        query = tag_call(parse, "tags", required(p, "tags"), loaded.generator.vocab)
        return {
            "model": model_id,
            "text": query.text,
            "values": query.values,
            "extras": list(query.extras),
            "missing": [g for g in loaded.generator.vocab.groups if g not in query.values],
        }

    def _drawn(self, p: dict, param: str, tags: str | None, **what) -> tuple:
        """(model id, vocabulary, file name, sheet) of the Drawing of `what` at the request's seed, zoom and
        truncation; `tags` are parsed first, then a refusal of the drawing's is a 400 naming `param`."""
        model_id, loaded = self.model(p.get("model"))
        vocab = loaded.generator.vocab
        if tags:
            tag_call(parse, "tags", tags, vocab)
        if what.get("grade") and loaded.checker is None:
            raise ApiError(422, f"cannot grade: {loaded.checker_error}", "grade")
        drawing = tag_call(
            Drawing,
            param,
            tags=(tags,) if tags else (),
            seed=p["seed"],
            scale=p["scale"],
            truncation=p["truncation"],
            **what,
        )
        sheet = tag_call(draw, param, loaded.generator, drawing, loaded.checker)
        return model_id, vocab, drawing.file_stem(vocab) + ".png", sheet

    @staticmethod
    def _picture(sheet, name: str, want_json: bool, **fields):
        if not want_json:
            return png(sheet.image), name
        height, width = sheet.image.shape[:2]
        return fields | {"width": width, "height": height, "filename": name, "image": data_url(sheet.image)}

    def grid(self, p: dict, want_json: bool = True):
        start = time.perf_counter()
        model_id, vocab, name, sheet = self._drawn(
            p, "tags", required(p, "tags"), n=p["n"], cols=p.get("cols"), grade=p["grade"]
        )
        found = sheet_baseline(sheet) if want_json and p["grade"] and course_grid(sheet) else None  # 5x5
        marks = (
            None
            if sheet.marks is None
            else {
                "groups": list(sheet.accuracy),
                "marks": [[bool(x) for x in m] for m in sheet.marks],
                "accuracy": {g: round(float(a), 4) for g, a in sheet.accuracy.items()},
            }
        )
        result = self._picture(
            sheet,
            name,
            want_json,
            model=model_id,
            tags=parse(p["tags"], vocab).text,
            grade=marks,
            **{k: p[k] for k in ("seed", "n", "cols", "scale", "truncation")},
            pad=2,
            cell=int(sheet.cells[0].shape[0]) * p["scale"],
            cells=[t.text for t in sheet.tags],
            baseline=found and {"faces": found.faces, "of": 25, "pass_at": PASS_AT, "passed": found.passed},
        )
        return result | {"ms": round((time.perf_counter() - start) * 1000, 1)} if want_json else result

    def face(self, p: dict):
        if p["i"] >= p["n"]:
            raise ApiError(400, f"i={p['i']} but the grid has {p['n']} faces (i counts from 0)", "i")
        _, _, name, sheet = self._drawn(p, "tags", required(p, "tags"), n=p["n"])
        return png(upscale(sheet.faces[0][p["i"]], p["scale"])), f"{name[:-4]}_{p['i'] + 1}.png"

    def sweep(self, p: dict, want_json: bool = True):
        """A group's colours, or an other tag without and with it, at fixed z per row (as --sweep)."""
        vocab = self.model(p.get("model"))[1].generator.vocab
        group = tag_call(sweep_target, "group", vocab, required(p, "group"))
        model_id, _, name, sheet = self._drawn(p, "tags", p.get("tags"), sweep=group, n=p["rows"])
        kind = "group" if group in vocab.groups else "tag"
        columns = vocab.groups[group] if kind == "group" else sweep_columns(vocab, group)
        return self._picture(
            sheet,
            name,
            want_json,
            model=model_id,
            group=group,
            kind=kind,
            columns=columns,
            rows=sheet.row_labels,
        )

    def interpolate(self, p: dict, want_json: bool = True):
        """Between two tag texts (same z) or two seeds (same tags)."""
        vocab = self.model(p.get("model"))[1].generator.vocab
        ends = required(p, "a"), required(p, "b")
        seeds = [isinstance(end, int) for end in ends]
        if seeds[0] != seeds[1]:
            text, seed = ("a", "b") if seeds[1] else ("b", "a")
            raise ApiError(
                400, f"a and b are two seeds or two tag texts; {text} is tag text but {seed} is a seed", text
            )
        for param, text in [("tags", required(p, "tags"))] if seeds[0] else zip("ab", ends):
            tag_call(parse, param, text, vocab)
        model_id, _, name, sheet = self._drawn(p, "a", p.get("tags"), interpolate=ends, cells=p["steps"])
        return self._picture(sheet, name, want_json, model=model_id, label=sheet.caption, steps=p["steps"])

    def edit(self, p: dict, upload: bytes) -> dict:
        """Recolour an uploaded face, decoded in memory by the training images' reader (with its
        decompression-bomb check): its tags, the original, its reconstruction, the edit, a sweep per group."""
        from editing.recolour import Recolourer, read_face

        start = time.perf_counter()
        model_id, loaded = self.model(p.get("model"))
        text, scale, vocab = p.get("tags") or None, p["scale"], loaded.generator.vocab
        if text:
            tag_call(parse, "tags", text, vocab)
        face = tag_call(read_face, "image", upload, loaded.generator.config.image_size, "the upload")
        with loaded.edit_lock:
            loaded.recolourer = recolour = loaded.recolourer or Recolourer(self.models()[model_id])
            source = tag_call(recolour.source_tags, "from", face, p.get("from") or None)
            found = recolour.find(face, source, p["seed"])
            reconstruction = recolour.reconstruction(found)
            edit_tags, edited = recolour.edit(found, text) if text else (source, reconstruction)
            sweeps = {group: recolour.sweep(found, group) for group in vocab.groups}
        return {
            "model": model_id,
            "source": source.text,
            "from": "text" if p.get("from") else "checker",
            "tags": edit_tags.text,
            "seed": p["seed"],
            "warnings": face.warnings,
            "original": data_url(upscale(face.image, scale)),
            "edit": data_url(upscale(edited, scale)),
            "reconstruction": data_url(upscale(reconstruction, scale)),
            "filename": f"edit_{edit_tags.file_stem}_seed{p['seed']}.png",
            "sweeps": {
                group: {
                    "columns": [t.get(group) for t in tags],
                    "image": data_url(grid(faces, len(faces), None, scale)),
                }
                for group, (tags, faces) in sweeps.items()
            },
            "ms": round((time.perf_counter() - start) * 1000, 1),
        }


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


def refused(request, exc) -> Response:
    """404, and 405 with Allow (RFC 9110 15.5.6): /api/edit takes POST, every other path GET and HEAD."""
    path = request.url.path
    if exc.status_code == 405 and path == "/api/edit":
        return error(405, "/api/edit takes the image as a POST body", "image", {"Allow": "POST"})
    if exc.status_code == 405:
        return error(
            405,
            "the studio answers GET, HEAD requests here (POST only at /api/edit, a face to recolour)",
            headers={"Allow": "GET, HEAD"},
        )
    if path.startswith("/api/"):
        return error(
            404,
            f"no API {path[:80]!r}; see /api/models, /api/vocab, /api/parse, /api/grid, "
            "/api/grid.png, /api/face.png, /api/sweep, /api/interpolate",
        )
    return error(404, f"no page {path[:80]!r}; the studio is at /")


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


def make_app(studio: Studio, local_only: bool = True):
    """The routes over `studio`, behind the Host check when it listens on loopback only (a page on another
    site cannot reach it through a rebound DNS name)."""

    def endpoint(name: str, *args):
        def run(request):  # in Starlette's thread pool
            method = getattr(studio, "model_list" if name == "models" else name)
            return answer(method(parse_params(name, request.url.query), *args))

        return run

    async def edit(request):
        """The upload is read into memory (at most MAX_UPLOAD bytes, in UPLOAD_TIMEOUT s), never to disk."""
        length, unread = request.headers.get("content-length", ""), {"Connection": "close"}
        if not length.strip().isdigit():
            raise ApiError(411, "send the image as the request body with a Content-Length", "image", unread)
        if int(length) > MAX_UPLOAD:
            raise ApiError(
                413,
                f"the image is {int(length) / 2**20:.1f} MiB; at most {MAX_UPLOAD // 2**20} MiB",
                "image",
                unread,
            )
        if int(length) == 0:
            raise ApiError(400, "no image in the request body", "image")
        p = parse_params("edit", request.url.query)
        try:
            async with asyncio.timeout(UPLOAD_TIMEOUT):
                upload = await request.body()
        except (ClientDisconnect, TimeoutError):
            raise ApiError(400, "the upload ended early or took too long", "image", unread) from None
        return answer(await run_in_threadpool(studio.edit, p, upload))

    def page(request):
        name = PAGES[request.url.path]
        return answer((STATIC / name).read_bytes(), media_type=TYPES[name.split(".")[-1]] + "; charset=utf-8")

    api = {name: endpoint(name) for name in ("models", "vocab", "parse")} | {"face.png": endpoint("face")}
    api |= {
        name + ext: endpoint(name, not ext)
        for name in ("grid", "sweep", "interpolate")
        for ext in ("", ".png")
    }
    routes = [Route(path, page) for path in PAGES] + [Route(f"/api/{path}", run) for path, run in api.items()]
    app = Starlette(
        routes=routes + [Route("/api/edit", edit, methods=["POST"])],
        exception_handlers={
            ApiError: lambda request, exc: error(exc.status, exc.message, exc.param, exc.headers),
            UserError: lambda request, exc: error(400, str(exc)),  # a library's message about the request
            404: refused,
            405: refused,
            Exception: lambda request, exc: error(500, f"internal error ({type(exc).__name__}: {exc})"),
        },
    )
    app.router.redirect_slashes = False

    async def checked(scope, receive, send):
        host = dict(scope.get("headers", ())).get(b"host", b"127.0.0.1").decode("latin-1")
        if scope["type"] == "http" and local_only and not loopback(host):
            refusal = error(403, f"this studio answers only to 127.0.0.1/localhost, not Host {host[:60]!r}")
            return await refusal(scope, receive, send)
        await app(scope, receive, send)

    return checked
