"""Recolour a face you bring (issue 25): read it, read its tags, find it in
the generator (editing.editor) and draw it with other tags.

Shared by generate.py --edit, the studio's upload and bench/quality/edit_quality.py.
The face is read by the data pipeline's reader (preprocess.images: any mode,
the decompression-bomb check) and resized to the model's size; its tags come
from the model's checker, or from the user's text with the checker filling
the groups it leaves out. A file that is not an image is a UserError; a
grayscale image or one where the course's face detector finds no face still
runs, with a warning.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from checker.checker import find_checker_dir, load_checker
from common.cli import UserError
from common.ids import safe_name
from editing.editor import FaceEditor, Found, SearchSettings, edited_tags, sweep_tags
from evaluate.baseline import detect_faces
from model.run_folder import ensure_writable_dir
from preprocess.images import is_grayscale, load_image
from sampling.grid import grid, save_png, upscale
from sampling.outputs import model_folder
from sampling.runtime import load_generator, model_settings, resolve_model_dir
from tags.canonical import TagSet
from tags.parser import parse


@dataclass
class Face:
    """A face brought by the user, at the model's size, with what is odd about it."""

    image: np.ndarray  # uint8 [S, S, 3]
    name: str
    warnings: list[str] = field(default_factory=list)


def read_face(source: str | Path | bytes, size: int, name: str | None = None) -> Face:
    """A path or the bytes of an upload (kept in memory) -> Face; UserError when unreadable."""
    name = name or (Path(source).name if not isinstance(source, (bytes, bytearray)) else "upload")
    opened = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else str(source)
    image, reason = load_image(opened, size, keep_grayscale=True)
    if image is None:
        raise UserError(f"cannot use {name} as a face: {reason}")
    face = Face(image, name)
    if is_grayscale(image):
        face.warnings.append(f"{name} is grayscale: its hair and eye colours are guesses")
    if not len(detect_faces(image)):
        face.warnings.append(
            f"no anime face found in {name} (the course's face detector); "
            "the generator will draw the closest face it can"
        )
    return face


class Recolourer:
    """A model's tag checker and face editor. The editor (TensorFlow: seconds to
    start) opens on the first find(), so a bad file or bad tags fail at once."""

    def __init__(self, model_dir: str | Path, settings: SearchSettings = SearchSettings()):
        self.model_dir = resolve_model_dir(model_dir)
        self.config, self.vocab = model_settings(self.model_dir)
        self.size = self.config.image_size
        self.settings = settings
        self._editor: FaceEditor | None = None
        folder = find_checker_dir(self.model_dir)
        self.checker = load_checker(folder) if folder is not None else None

    @property
    def editor(self) -> FaceEditor:
        if self._editor is None:
            self._editor = FaceEditor.open(self.model_dir, self.settings)
        return self._editor

    def source_tags(self, face: Face, text: str | None = None) -> TagSet:
        """The face's tags: `text` (as generate.py reads tags), the checker's reading for the rest."""
        given = parse(text, self.vocab) if text else None
        values = dict(given.values) if given else {}
        missing = [g for g in self.vocab.groups if g not in values]
        if missing:
            if self.checker is None:
                raise UserError(
                    "the model has no tag checker to read the face's colours; give them with "
                    '--from "blue hair red eyes"'
                )
            read = self.checker.read_values(face.image[None])
            values.update({g: read[g][0] for g in missing})
        return self.vocab.tagset(values, given.extras if given else ())

    def find(self, face: Face, source: TagSet, seed: int = 0) -> Found:
        return self.editor.find(face.image, source, seed)

    def reconstruction(self, found: Found) -> np.ndarray:
        return self.editor.draw(found, [found.source])[0]

    def edit(self, found: Found, text: str) -> tuple[TagSet, np.ndarray]:
        """(the tags drawn, the face with them): groups `text` names replace the source's."""
        tags = edited_tags(found.source, parse(text, self.vocab), self.vocab)
        return tags, self.editor.draw(found, [tags])[0]

    def sweep(self, found: Found, group: str) -> tuple[list[TagSet], np.ndarray]:
        if group not in self.vocab.groups:
            raise UserError(f"--sweep {group}: this model's groups are {', '.join(self.vocab.groups)}")
        tags = sweep_tags(found.source, group, self.vocab)
        return tags, self.editor.draw(found, tags)

    def recolour(self, face: Face, source: TagSet, text: str | None = None, seed: int = 0) -> Recolouring:
        """Everything the studio shows of an upload: `face` found under its `source` tags and drawn with
        `text` (none: as found), and a sweep of every group. Not thread-safe: the editor's variables are
        shared, so one search at a time."""
        found = self.find(face, source, seed)
        reconstruction = self.reconstruction(found)
        tags, edited = self.edit(found, text) if text else (source, reconstruction)
        sweeps = {group: self.sweep(found, group) for group in self.vocab.groups}
        return Recolouring(source, tags, reconstruction, edited, sweeps)


@dataclass
class Recolouring:
    """A face recoloured: its tags (`source`), the tags drawn, its reconstruction, the edit, and per group
    the sweep's tags and faces."""

    source: TagSet
    tags: TagSet
    reconstruction: np.ndarray
    edit: np.ndarray
    sweeps: dict[str, tuple[list[TagSet], np.ndarray]]


def edit_to_file(
    model: str | Path,
    face_path: str | Path | None,
    *,
    tags: Sequence[str] | None = None,
    sweep: str | None = None,
    from_tags: str | None = None,
    strip: bool = False,
    seed: int = 0,
    scale: int = 1,
    out: str | Path | None = None,
) -> Path:
    """generate.py --edit: the face recoloured with `tags` (its --tags: one text; groups not named keep the
    face's colours), as one face or, with `strip`, original | reconstruction | edit; or a `sweep` of one
    group. Written to `out`, else samples/[<model>/]edit_<face>_<canonical tags or sweep_GROUP>.png; says
    what it read and wrote as it goes (the search takes seconds). A UserError names a flag it lacks."""
    if not face_path:
        raise UserError("--from and --strip go with --edit FACE")
    if bool(tags) == bool(sweep) or (tags and len(tags) > 1):
        raise UserError('--edit needs one --tags TEXT (e.g. "green hair") or --sweep hair|eyes')
    tags = tags[0] if tags else None
    what = parse(tags, load_generator(model, "auto").vocab).file_stem if tags else f"sweep_{sweep}"
    out = Path(
        out or model_folder(model) / f"edit_{safe_name(Path(face_path).stem.lower(), 'face')}_{what}.png"
    )
    ensure_writable_dir(out.parent, "output folder")
    recolour = Recolourer(model)
    face = read_face(face_path, recolour.size)
    for warning in face.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    source = recolour.source_tags(face, from_tags)
    print(f"{face.name}: {source.text} ({'--from' if from_tags else 'read by the tag checker'})")
    found = recolour.find(face, source, seed)
    if sweep:
        swept, faces = recolour.sweep(found, sweep)
        cells = [face.image, recolour.reconstruction(found), *faces]
        labels = ["original", "reconstruction", *(t.get(sweep) for t in swept)]
        save_png(out, grid(np.stack(cells), len(cells), None, scale, col_labels=labels))
        print(f"{sweep} sweep of {face.name}: original, reconstruction, then a column per colour")
    else:
        drawn, edited = recolour.edit(found, tags)
        print(f"edit: {drawn.text}")
        if strip:
            cells = np.stack([face.image, recolour.reconstruction(found), edited])
            save_png(out, grid(cells, 3, None, scale, col_labels=["original", "reconstruction", drawn.text]))
        else:
            save_png(out, upscale(edited, scale))
    print(f"wrote {out}")
    return out
