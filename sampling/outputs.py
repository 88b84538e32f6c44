"""What generate.py writes besides its sheets, and where: the sweep and interpolation
pictures, and the names and folders of every file.

samples/ for the bundled model, samples/<model name>/ for any other; file names from
the canonical tags plus what differs from the defaults (seed, seeds, n, cells,
truncation, best-of), so that no drawing overwrites another. `args` is generate.py's
parsed flags. numpy only (the fast path uses it).
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.ids import safe_name
from model.run_folder import EXPORT_DIR, ensure_writable_dir
from sampling import generation
from sampling.grid import grid
from tags.canonical import file_stem
from tags.parser import parse

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "models" / "default"
SAMPLES = Path("samples")
DEFAULT_CELLS = 8  # of --interpolate
SWEEP_ROWS = 4


def model_folder(model: str | Path) -> Path:
    """samples/ for the bundled model, samples/<model name>/ for any other: two models'
    grids and course files (cgan.png, sample_<id>_<k>.jpg) never overwrite each other."""
    folder = Path(model).resolve()
    if folder == DEFAULT_MODEL:
        return SAMPLES
    return SAMPLES / safe_name(folder.parent.name if folder.name == EXPORT_DIR else folder.name, "model")


def variant(args, default_n: int | None = None) -> str:
    """What this drawing changes from the defaults, for its file name (seed3, seeds0-7, n8,
    cells12, trunc0.7, best4; empty for the defaults)."""
    parts = []
    if args.seed_list:
        parts.append("seeds" + safe_name(args.seeds.replace(",", "_"), ""))
    elif args.seed:
        parts.append(f"seed{args.seed}")
    if args.n is not None and args.n != default_n and not args.seed_list:
        parts.append(f"n{args.n}")
    if args.interpolate and args.cells != DEFAULT_CELLS:
        parts.append(f"cells{args.cells}")
    if args.truncation != 1.0:
        parts.append(f"trunc{args.truncation:g}")
    if args.best_of > 1:
        parts.append(f"best{args.best_of}")
    return "_".join(parts)


def named(stem: str, extra: str) -> str:
    return safe_name(f"{stem}_{extra}" if extra else stem, "samples", limit=150)


def is_png(out: str | None) -> bool:
    return bool(out) and Path(out).suffix.lower() == ".png"


def picture_path(args, stem: str) -> Path:
    """Where a picture goes: --out FILE.png as given; --out DIR: DIR/<stem>.png; else
    samples/[<model>/]<stem>.png (the folder checked writable)."""
    if is_png(args.out):
        path = Path(args.out)
    else:
        path = (Path(args.out) if args.out else model_folder(args.model)) / f"{stem}.png"
    ensure_writable_dir(path.parent, "output folder")
    return path


def sheet_paths(args, ids: list[str], tags_file: bool) -> tuple[Path | None, Path | None]:
    """(the sheet's PNG path or None, the sample files' folder or None), both checked writable. The
    sample files go beside the sheet. A tags file keeps the course's names (cgan.png,
    sample_<id>_<k>.jpg) in a folder named after what differs (samples/seed2/); tag texts, whose
    requests' `ids` are their canonical tags, name the sheet (samples/blue_hair_red_eyes_seed2.png)."""
    changed = variant(args, 5 if tags_file else 25 if len(ids) == 1 else 5)
    if tags_file:
        stem = "cgan"
        if changed and not args.out:
            args = argparse.Namespace(**{**vars(args), "out": str(model_folder(args.model) / changed)})
    else:
        stem = named("_vs_".join(ids), changed)
    path = picture_path(args, stem)
    files_folder = path.parent if args.format in ("files", "both") else None
    if files_folder is not None:
        ensure_writable_dir(files_folder, "output folder")
    return (path if args.format in ("grid", "both") else None), files_folder


@dataclass(frozen=True)
class Picture:
    """A drawn picture, the name it is written under and the line that says what it shows."""

    image: np.ndarray
    path: Path
    caption: str


def sweep_sheet(generator, group: str, text: str | None, rows: int, seed: int, scale: int = 1):
    """The one sweep picture of the CLI and the studio: a column per value of `group` (or, for an other
    tag, one without it and one with it), labelled, and a row per fixed z labelled with the tags held
    fixed (`text`, the rest drawn per row). Returns (image, file stem, row labels)."""
    vocab = generator.vocab
    group = generation.sweep_target(vocab, group)
    cols = generation.sweep_columns(vocab, group)
    images, ncols, labels = generation.sweep(generator, group, text, rows, seed)
    tags_stem = parse(text, vocab).file_stem if text else ""
    row_labels = [label.split(" | ")[0] for label in labels]
    stem = f"sweep_{file_stem(group)}" + (f"_{tags_stem}" if tags_stem else "")
    return grid(images, ncols, row_labels, scale, col_labels=cols), stem, row_labels


def sweep_picture(args, generator) -> Picture:
    """--sweep GROUP or --sweep TAG: sweep_sheet, named after what differs from the defaults."""
    rows_wanted = args.n or SWEEP_ROWS
    target = generation.sweep_target(generator.vocab, args.sweep)
    ncols = len(generation.sweep_columns(generator.vocab, target))
    generation.check_output_size(rows_wanted * ncols, generator.config.image_size, args.scale)
    text = (args.tags or [None])[0]
    image, stem, rows = sweep_sheet(generator, target, text, rows_wanted, args.seed, args.scale)
    path = picture_path(args, named(stem, variant(args, SWEEP_ROWS)))
    what = (f"a column per {target} colour" if target in generator.vocab.groups
            else f"a column without {target}, one with it")
    return Picture(image, path, f"{target} sweep: {what}, a row per fixed z ({len(rows)} rows)")


def interpolation_picture(args, generator) -> Picture:
    """--interpolate A B: between two tag texts (same z) or two seeds (same --tags), one row."""
    a, b = args.interpolate
    text = (args.tags or [None])[0]
    generation.check_output_size(args.cells, generator.config.image_size, args.scale)
    images, ncols, labels = generation.interpolate(generator, a, b, args.cells, args.seed, text)
    name = named(generation.interpolation_stem(generator.vocab, a, b, text), variant(args))
    path = picture_path(args, name)
    return Picture(grid(images, ncols, labels if args.labels else None, args.scale), path,
                   labels[0] if labels else name)
