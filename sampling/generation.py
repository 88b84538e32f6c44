"""The library behind sampling.sheet.draw: requests from text or MLDS tags files,
noise from the seed, sweeps, interpolation, grids and sample files.

numpy only (plus the loaded generator), so it runs on the fast LiteRT path.
The same seed and tags give the same z, eps and tag completions on either
backend, hence the same faces (TensorFlow and LiteRT differ by one level in
about 0.004 % of the pixel values).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.cli import clip
from common.ids import safe_id
from sampling.drawing import sweep_target
from sampling.options import parse_seed
from tags import TagError
from tags.canonical import TagSet
from tags.parser import complete, parse


@dataclass
class Request:
    """One tag text and the tag sets actually used for its n samples."""

    id: str
    text: str
    tagsets: list[TagSet]

    @property
    def label(self) -> str:
        texts = {t.text for t in self.tagsets}
        if len(texts) == 1:
            return next(iter(texts))
        return f"{self.text} (+ drawn per image)"

    @property
    def summary(self) -> str:
        """One line: its id, the text asked for and the tag sets used ("red_eyes: 'red eyes' -> 5 tag
        sets: aqua hair red eyes; ...")."""
        used = sorted({t.text for t in self.tagsets})
        return f"{self.id}: {clip(self.text)!r} -> " + (
            "; ".join(used) if len(used) <= 3 else f"{len(used)} tag sets: " + "; ".join(used[:3]) + "; ..."
        )


def one_cell_row_labels(requests: list[Request], ncols: int) -> list[str]:
    """Row labels of a one-cell-per-request grid (a tags file): each cell's id
    and the tags it was drawn with, left to right."""
    cells = [f"{r.id}: {r.tagsets[0].text}" for r in requests]
    return [" | ".join(cells[i : i + ncols]) for i in range(0, len(cells), ncols)]


def to_uint8(images: np.ndarray) -> np.ndarray:
    return np.clip(np.rint((np.asarray(images, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def draw_z(rng: np.random.Generator, n: int, nz: int) -> np.ndarray:
    """n noise vectors as BEGAN draws them: uniform in [-1, 1], float32."""
    return rng.uniform(-1.0, 1.0, (n, nz)).astype(np.float32)


def sample_inputs(config, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """z uniform in [-1, 1] and eps standard normal, from numpy's seeded generator."""
    rng = np.random.default_rng(seed)
    z = draw_z(rng, n, config.nz)
    eps = rng.standard_normal((n, config.embed_dim)).astype(np.float32)
    return z, eps


def read_tags_file(path: str | Path) -> list[tuple[str, str]]:
    """MLDS test file: `id,text` per line -> [(safe id, text)]. Bad lines raise
    TagError naming the line."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise TagError(f"tags file {path} does not exist") from None
    except OSError as exc:
        raise TagError(f"cannot read tags file {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TagError(f"tags file {path} is not UTF-8 text") from None
    out, seen = [], set()
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if "," not in line:
            raise TagError(
                f"line {number} of {path}: expected 'id,tags' (e.g. '1,blue hair red eyes'), "
                f"got {line.strip()[:60]!r}"
            )
        raw_id, tags_text = line.split(",", 1)
        image_id = safe_id(raw_id, number)
        if image_id in seen:
            image_id = f"{image_id}_line{number}"
        seen.add(image_id)
        if not tags_text.strip():
            raise TagError(f"line {number} of {path}: no tags after the id")
        out.append((image_id, tags_text.strip()))
    if not out:
        raise TagError(f"tags file {path} has no 'id,tags' lines")
    return out


def build_requests(items: list[tuple[str | None, str]], vocab, n: int, seed: int) -> list[Request]:
    """Parse every text (all errors before any work) and complete missing groups.
    An id of None becomes the canonical tags' file stem ("Red Eyes, Blue Hair" -> blue_hair_red_eyes)."""
    rng = np.random.default_rng([seed, 1])
    requests = []
    for image_id, text in items:
        try:
            query = parse(text, vocab)
        except TagError as exc:
            raise TagError(
                f"{exc} (in {clip(image_id, 30)!r}: {clip(text)!r})" if len(items) > 1 else str(exc)
            ) from None
        requests.append(Request(image_id or query.file_stem, text, complete(query, vocab, rng, n)))
    return requests


def seeded_inputs(config, seeds: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """One z (and eps) per seed: cell k of --seeds is the first face that --seed seeds[k] draws."""
    pairs = [sample_inputs(config, 1, s) for s in seeds]
    return np.concatenate([z for z, _ in pairs]), np.concatenate([e for _, e in pairs])


def generate_requests(
    generator, requests: list[Request], seed: int, seeds: list[int] | None = None
) -> list[np.ndarray]:
    """uint8 images per request; one noise draw for the whole call, or with
    `seeds` the same z per column in every request (one face per seed)."""
    tagsets = [t for r in requests for t in r.tagsets]
    if seeds:
        z1, e1 = seeded_inputs(generator.config, seeds)
        z, eps = np.tile(z1, (len(requests), 1)), np.tile(e1, (len(requests), 1))
    else:
        z, eps = sample_inputs(generator.config, len(tagsets), seed)
    cond = generator.vocab.conditions(tagsets)
    images = to_uint8(generator.generate(z, cond, eps))
    out, start = [], 0
    for r in requests:
        out.append(images[start : start + len(r.tagsets)])
        start += len(r.tagsets)
    return out


def sweep_columns(vocab, name: str) -> list[str]:
    """The column labels of a sweep over `name`: a colour per column of a group ('aqua hair', ...), or
    an other tag off then on ('no smile', 'smile')."""
    name = sweep_target(vocab, name)
    if name in vocab.groups:
        return [vocab.text({name: v}) for v in vocab.groups[name]]
    return [f"no {name}", name]


def sweep(generator, group: str, base_text: str | None, rows: int, seed: int):
    """Fixed z per row, one column per value of `group`, or for an other tag of the model two columns,
    without it and with it: the tag, not the noise, should set the colour or the mark. Returns (images
    [rows*columns], ncols, labels)."""
    vocab = generator.vocab
    group = sweep_target(vocab, group)
    tag = None if group in vocab.groups else group
    values = [False, True] if tag else vocab.groups[group]
    rng = np.random.default_rng([seed, 2])
    query = parse(base_text, vocab) if base_text else None
    extras = sorted(set(query.extras if query else ()) - {tag})  # the swept tag is set per column
    tagsets, labels = [], []
    for _ in range(rows):
        fixed = dict(query.values) if query else {}
        fixed.pop(group, None)
        others = [g for g in vocab.groups if g != group and g not in fixed]
        for g in others:
            fixed[g] = vocab.groups[g][rng.integers(len(vocab.groups[g]))]
        if tag:
            tagsets += [vocab.tagset(fixed, extras + [tag] * on) for on in values]
            labels.append(vocab.text(fixed, extras) + f" | {tag}: off, on")
        else:
            tagsets += [vocab.tagset({**fixed, group: v}, extras) for v in values]
            labels.append(vocab.text(fixed, extras) + f" | {group}: " + ", ".join(values))
    z_rows, eps_rows = sample_inputs(generator.config, rows, seed)
    z = np.repeat(z_rows, len(values), axis=0)
    eps = np.repeat(eps_rows, len(values), axis=0)
    images = to_uint8(generator.generate(z, vocab.conditions(tagsets), eps))
    return images, len(values), labels


def interpolate(generator, a: str, b: str, steps: int, seed: int, tags_text: str | None = None):
    """Between two tag texts (same z), or between two integer seeds (same tags)."""
    vocab = generator.vocab
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
    seed_a, seed_b = parse_seed(a), parse_seed(b)
    if seed_a is not None and seed_b is not None:
        if not tags_text:
            raise TagError("--interpolate between two seeds needs --tags")
        tagset = build_requests([("x", tags_text)], vocab, 1, seed)[0].tagsets[0]
        za, ea = sample_inputs(generator.config, 1, seed_a)
        zb, eb = sample_inputs(generator.config, 1, seed_b)
        z, eps = za * (1 - t) + zb * t, ea * (1 - t) + eb * t
        cond = np.repeat(vocab.condition(tagset)[None], steps, 0)
        label = f"{tagset.text}: seed {a} -> {b}"
    else:
        ta = build_requests([("a", a)], vocab, 1, seed)[0].tagsets[0]
        tb = build_requests([("b", b)], vocab, 1, seed)[0].tagsets[0]
        z1, e1 = sample_inputs(generator.config, 1, seed)
        z, eps = np.repeat(z1, steps, 0), np.repeat(e1, steps, 0)
        cond = vocab.condition(ta)[None] * (1 - t) + vocab.condition(tb)[None] * t
        label = f"{ta.text} -> {tb.text}"
    return to_uint8(generator.generate(z, cond.astype(np.float32), eps.astype(np.float32))), steps, [label]


def write_files(folder: Path, requests: list[Request], images: list[np.ndarray]) -> list[Path]:
    """sample_<id>_<k>.jpg (k = 1..n), as the 2017 course expected; ids are
    already sanitised, and the resolved path is checked to stay in `folder`."""
    import imageio.v3 as iio

    folder = folder.resolve()
    written = []
    for request, imgs in zip(requests, images):
        for k, img in enumerate(imgs, 1):
            path = (folder / f"sample_{request.id}_{k}.jpg").resolve()
            if path.parent != folder:
                raise TagError(f"id {request.id!r} would write outside {folder}")
            iio.imwrite(path, img, quality=95)
            written.append(path)
    return written
