"""The studio's endpoints over a Drawing (the one generate.py builds from its flags: the same pixels, the
same file name) and their routes. Starlette routes, answers HEAD, 404 and 405, and runs each endpoint in its
thread pool; common.webapi does the rest (JSON errors, the Host check, the upload's limits). Nothing is
written to disk. The API: docs/studio.md."""

from __future__ import annotations

import base64
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.routing import Route

from checker.checker import find_checker_dir, load_checker
from common.webapi import (
    ERRORS,
    ApiError,
    answer,
    check_upload,
    error,
    local_only,
    read_body,
    required,
    user_call,
)
from evaluate.baseline import PASS_AT, course_grid, sheet_baseline
from sampling.catalogue import Catalogue, UnlistedModel, describe
from sampling.drawing import Drawing, sweep_target
from sampling.export import ModelError
from sampling.generation import sweep_columns
from sampling.grid import grid, png_bytes, upscale
from sampling.runtime import load_generator
from sampling.sheet import draw
from studio.params import PARAMS, parse_params
from tags.parser import parse

STATIC = Path(__file__).resolve().parent / "static"
PAGES = {"/": "index.html"} | {f"/{name}": name for name in ("index.html", "studio.js", "studio.css")}
TYPES = {"html": "text/html", "js": "text/javascript", "css": "text/css"}
MAX_UPLOAD = 8 * 2**20  # bytes of an uploaded face
UPLOAD_TIMEOUT = 60.0  # seconds to receive it


def data_url(image) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")


@dataclass
class Loaded:
    """A model's generator and checker, shared by every request (a draw changes nothing in them), and its
    face editor (TensorFlow), opened by the first upload; one search at a time: its variables are shared."""

    generator: object
    checker: object
    checker_error: str | None
    recolourer: object = None
    edit_lock: threading.Lock = field(default_factory=threading.Lock)


def open_model(model_id: str, folder: Path) -> Loaded:
    """A model as the studio keeps it: its generator, its tag checker (or why there is none), and a graded
    grid drawn once, so that the first page is as fast as the next."""
    generator, checker, why = load_generator(folder), None, None
    try:
        checker = load_checker(folder)
    except ValueError as exc:  # ModelError: none beside the model, or a broken one
        fix = f"no tag checker beside {model_id} (python export.py RUN --checker DIR adds one)"
        why = str(exc) if find_checker_dir(folder) else fix
    first = generator.vocab.text({group: values[0] for group, values in generator.vocab.groups.items()})
    draw(generator, Drawing(tags=(first,), grade=checker is not None), checker)
    return Loaded(generator, checker, why)


class Studio(Catalogue):
    """The work behind each API call (no HTTP here): a dict for JSON, or (PNG bytes, file name)."""

    def __init__(self, root: str | Path, model: str | Path | None = None):
        super().__init__(root, open_model, model)

    def model_list(self, p: dict) -> dict:
        models = [
            describe(k, v) | {"checker": find_checker_dir(v) is not None, "loads": self.loads.get(k, 0)}
            for k, v in self.models().items()
        ]
        return {"default": self.default_id, "models": models}

    def vocab(self, p: dict) -> dict:
        model_id, loaded = self.open(p.get("model"))
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
        model_id, loaded = self.open(p.get("model"))
        query = user_call(parse, "tags", required(p, "tags"), loaded.generator.vocab)
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
        model_id, loaded = self.open(p.get("model"))
        vocab = loaded.generator.vocab
        if tags:
            user_call(parse, "tags", tags, vocab)
        if what.get("grade") and loaded.checker is None:
            raise ApiError(422, f"cannot grade: {loaded.checker_error}", "grade")
        drawing = user_call(
            Drawing,
            param,
            tags=(tags,) if tags else (),
            seed=p["seed"],
            scale=p["scale"],
            truncation=p["truncation"],
            **what,
        )
        sheet = user_call(draw, param, loaded.generator, drawing, loaded.checker)
        return model_id, vocab, drawing.file_stem(vocab) + ".png", sheet

    @staticmethod
    def _picture(sheet, name: str, want_json: bool, **fields):
        if not want_json:
            return png_bytes(sheet.image), name
        height, width = sheet.image.shape[:2]
        return fields | {"width": width, "height": height, "filename": name, "image": data_url(sheet.image)}

    def grid(self, p: dict, want_json: bool = True):
        start = time.perf_counter()
        model_id, vocab, name, sheet = self._drawn(
            p, "tags", required(p, "tags"), n=p["n"], cols=p.get("cols"), grade=p["grade"]
        )
        found = sheet_baseline(sheet) if want_json and p["grade"] and course_grid(sheet) else None  # 5x5
        result = self._picture(
            sheet,
            name,
            want_json,
            model=model_id,
            tags=parse(p["tags"], vocab).text,
            grade=sheet.grades(),
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
        return png_bytes(upscale(sheet.faces[0][p["i"]], p["scale"])), f"{name[:-4]}_{p['i'] + 1}.png"

    def sweep(self, p: dict, want_json: bool = True):
        """A group's colours, or an other tag without and with it, at fixed z per row (as --sweep)."""
        vocab = self.open(p.get("model"))[1].generator.vocab
        group = user_call(sweep_target, "group", vocab, required(p, "group"))
        model_id, _, name, sheet = self._drawn(p, "tags", p.get("tags"), sweep=group, n=p["rows"])
        kind = "group" if group in vocab.groups else "tag"
        columns = vocab.groups[group] if kind == "group" else sweep_columns(vocab, group)
        fields = {
            "model": model_id,
            "group": group,
            "kind": kind,
            "columns": columns,
            "rows": sheet.row_labels,
        }
        return self._picture(sheet, name, want_json, **fields)

    def interpolate(self, p: dict, want_json: bool = True):
        """Between two tag texts (same z) or two seeds (same tags)."""
        vocab = self.open(p.get("model"))[1].generator.vocab
        ends = required(p, "a"), required(p, "b")
        seeds = [isinstance(end, int) for end in ends]
        if seeds[0] != seeds[1]:
            text, seed = ("a", "b") if seeds[1] else ("b", "a")
            raise ApiError(
                400, f"a and b are two seeds or two tag texts; {text} is tag text but {seed} is a seed", text
            )
        for param, text in [("tags", required(p, "tags"))] if seeds[0] else zip("ab", ends):
            user_call(parse, param, text, vocab)
        model_id, _, name, sheet = self._drawn(p, "a", p.get("tags"), interpolate=ends, cells=p["steps"])
        return self._picture(sheet, name, want_json, model=model_id, label=sheet.caption, steps=p["steps"])

    def edit(self, p: dict, upload: bytes) -> dict:
        """Recolour an uploaded face, decoded in memory by the training images' reader (with its
        decompression-bomb check): its tags, the original, its reconstruction, the edit, a sweep per group."""
        from editing.recolour import Recolourer, read_face

        start = time.perf_counter()
        model_id, loaded = self.open(p.get("model"))
        text, scale = p.get("tags") or None, p["scale"]
        if text:
            user_call(parse, "tags", text, loaded.generator.vocab)
        face = user_call(read_face, "image", upload, loaded.generator.config.image_size, "the upload")
        with loaded.edit_lock:
            loaded.recolourer = recolour = loaded.recolourer or Recolourer(loaded.generator.model_dir)
            source = user_call(recolour.source_tags, "from", face, p.get("from") or None)
            done = recolour.recolour(face, source, text, p["seed"])
        pictures = {"original": face.image, "edit": done.edit, "reconstruction": done.reconstruction}
        return {
            "model": model_id,
            "source": source.text,
            "from": "text" if p.get("from") else "checker",
            "tags": done.tags.text,
            "seed": p["seed"],
            "warnings": face.warnings,
            **{name: data_url(upscale(image, scale)) for name, image in pictures.items()},
            "filename": f"edit_{done.tags.file_stem}_seed{p['seed']}.png",
            "sweeps": {
                group: {
                    "columns": [t.get(group) for t in tags],
                    "image": data_url(grid(faces, len(faces), None, scale)),
                }
                for group, (tags, faces) in done.sweeps.items()
            },
            "ms": round((time.perf_counter() - start) * 1000, 1),
        }


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


def unlisted(request, exc: UnlistedModel) -> Response:
    return error(400 if exc.outside else 404, str(exc), "model")


def unopened(request, exc: ModelError) -> Response:
    return error(422, str(exc), "model")  # a listed model that cannot be opened


def make_app(studio: Studio, local: bool = True):
    """The routes over `studio`, behind the Host check when it listens on loopback only (`local`)."""

    def endpoint(name: str, *args):
        def run(request):  # in Starlette's thread pool
            method = getattr(studio, "model_list" if name == "models" else name)
            return answer(method(parse_params(name, request.url.query), *args))

        return run

    async def edit(request):
        """The upload is read into memory (at most MAX_UPLOAD bytes, in UPLOAD_TIMEOUT s), never to disk."""
        check_upload(request, MAX_UPLOAD, "image")
        p = parse_params("edit", request.url.query)
        upload = await read_body(request, UPLOAD_TIMEOUT, "image")
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
        exception_handlers=ERRORS
        | {UnlistedModel: unlisted, ModelError: unopened, 404: refused, 405: refused},
    )
    app.router.redirect_slashes = False
    return local_only(app, local)
