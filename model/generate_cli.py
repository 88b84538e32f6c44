"""Flags and error handling of generate.py. Every failure a user can cause
ends as one line on stderr and exit status 2 (no traceback)."""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from model.help_format import DefaultsHelpFormatter

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "models" / "default"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:80] or "samples"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="generate.py", formatter_class=DefaultsHelpFormatter,
        description="Generate anime faces from tags with a trained conditional BEGAN.",
        epilog='examples: generate.py --tags "blue hair red eyes"; generate.py --tags-file testing_tags.txt '
               "--format both; generate.py --sweep hair --tags 'red eyes'")
    src = p.add_argument_group("model")
    src.add_argument("--model", default=str(DEFAULT_MODEL), help="run directory or exported model directory")
    src.add_argument("--backend", default="auto", choices=["auto", "litert", "tensorflow"],
                     help="auto = LiteRT when generator.tflite exists (fast start), else TensorFlow")
    what = p.add_argument_group("what to draw")
    what.add_argument("--tags", action="append", default=None, metavar="TEXT",
                      help='tag text such as "blue hair red eyes" (repeatable; a group left out is drawn '
                           "per image from the training data)")
    what.add_argument("--tags-file", default=None, help="MLDS test file with 'id,text' lines")
    what.add_argument("--n", type=int, default=None,
                      help="samples per tag text (default: 25 for one --tags, 5 for several or a tags file)")
    what.add_argument("--seed", type=int, default=0, help="random seed: same seed + same tags = same pixels")
    what.add_argument("--sweep", choices=["hair", "eyes"], default=None,
                      help="fixed z, one column per colour of this group")
    what.add_argument("--interpolate", nargs=2, metavar=("A", "B"), default=None,
                      help="between two tag texts (same z) or two integer seeds (same --tags)")
    what.add_argument("--steps", type=int, default=8, help="cells of --interpolate")
    what.add_argument("--list-tags", action="store_true", help="list the model's tags by group and exit")
    out = p.add_argument_group("output")
    out.add_argument("--out", default=None,
                     help="grid PNG path (default samples/<slug>.png, samples/cgan.png for a tags file) "
                          "or folder for --format files (default samples/)")
    out.add_argument("--format", default="grid", choices=["grid", "files", "both"],
                     help="grid PNG, sample_<id>_<k>.jpg files, or both")
    out.add_argument("--cols", type=int, default=5, help="grid columns")
    out.add_argument("--labels", action="store_true", help="tag text beside each grid row")
    out.add_argument("--scale", type=int, default=1, help="nearest-neighbour upscaling of the grid")
    out.add_argument("--grade", action="store_true",
                     help="mark each cell's tags right/wrong with the model's tag checker")
    return p


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from model.run_dir import RunDirError, ensure_writable_dir
    from model.runtime import ModelError, load_generator
    from tags import TagError

    if args.n is not None and args.n < 1:
        return _fail("--n must be at least 1")
    if args.scale < 1 or args.cols < 1 or args.steps < 2:
        return _fail("--scale and --cols must be >= 1, --steps >= 2")
    try:
        if not args.list_tags and not (args.tags or args.tags_file or args.sweep or args.interpolate):
            return _fail('nothing to draw: give --tags "blue hair red eyes", --tags-file FILE, --sweep or '
                         "--interpolate (see --help)")
        items = None
        if args.tags_file:
            from model.generation import read_tags_file

            items = read_tags_file(args.tags_file)
        generator = load_generator(args.model, args.backend)
        if args.list_tags:
            for group, values in generator.vocab.groups.items():
                print(f"{group}: " + ", ".join(f"{v} {group}" for v in values))
            if generator.vocab.other_tags:
                print("other: " + ", ".join(generator.vocab.other_tags))
            return 0
        return _draw(args, generator, items)
    except (TagError, ModelError, RunDirError) as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"{exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}".rstrip(": "))


def _draw(args, generator, items) -> int:
    from model import generation
    from model.run_dir import ensure_writable_dir
    from report.grid import grid, save_png

    labels = None
    if args.sweep or args.interpolate:
        if args.sweep:
            images, ncols, labels = generation.sweep(generator, args.sweep, (args.tags or [None])[0],
                                                     args.n or 4, args.seed)
            name = f"sweep_{args.sweep}"
        else:
            a, b = args.interpolate
            images, ncols, labels = generation.interpolate(generator, a, b, args.steps, args.seed,
                                                           (args.tags or [None])[0])
            name = "interpolate_" + slug(f"{a}_{b}")
        out = Path(args.out or Path("samples") / f"{name}.png")
        ensure_writable_dir(out.parent, "output folder")
        save_png(out, grid(images, ncols, labels if args.labels else None, args.scale))
        print(f"{labels[0] if labels else name}\nwrote {out}")
        return 0

    if items is not None:
        per_line = args.n or 5
        requests = generation.build_requests(items, generator.vocab, per_line, args.seed)
    else:
        per_text = args.n or (25 if len(args.tags) == 1 else 5)
        requests = generation.build_requests([(slug(t), t) for t in args.tags], generator.vocab, per_text,
                                             args.seed)
    for r in requests:
        used = sorted({t.text for t in r.tagsets})
        print(f"{r.id}: {r.text!r} -> " + ("; ".join(used) if len(used) <= 3 else f"{len(used)} tag sets: "
                                            + "; ".join(used[:3]) + "; ..."))
    outputs = []
    if args.format in ("grid", "both"):
        default = "cgan.png" if items is not None else f"{slug(args.tags[0]) if len(args.tags) == 1 else 'samples'}.png"
        grid_path = Path(args.out) if args.out and args.format == "grid" else Path("samples") / default
        if args.out and args.format == "both":
            grid_path = Path(args.out) / default
        ensure_writable_dir(grid_path.parent, "output folder")
        outputs.append(("grid", grid_path))
    if args.format in ("files", "both"):
        folder = Path(args.out) if args.out else Path("samples")
        ensure_writable_dir(folder, "output folder")
        outputs.append(("files", folder))

    images = generation.generate_requests(generator, requests, args.seed)
    for kind, path in outputs:
        if kind == "grid":
            if items is not None:  # one cell per line (the 2018 course's 5x5 from 25 lines)
                cells = [imgs[0] for imgs in images]
                cell_tags = [r.tagsets[0] for r in requests]
                row_labels = generation.one_cell_row_labels(requests, args.cols)
            else:
                cells = [img for imgs in images for img in imgs]
                cell_tags = [t for r in requests for t in r.tagsets]
                row_labels = []
                for r in requests:
                    rows = -(-len(r.tagsets) // args.cols)
                    row_labels += [r.label] * rows
            borders = None
            if args.grade:
                from model.checker import grade_cells

                borders, accuracy = grade_cells(generator.model_dir, cells, cell_tags)
                if items is not None:
                    print(f"{'id':>8}  {'requested':<28} " + "  ".join(f"{g:>5}" for g in accuracy))
                    for r, mark in zip(requests, borders):
                        print(f"{r.id:>8}  {r.tagsets[0].text:<28} "
                              + "  ".join(f"{'ok' if m else 'WRONG':>5}" for m in mark))
                print("tag accuracy: " + ", ".join(f"{g} {a:.2f}" for g, a in accuracy.items()))
            save_png(path, grid(cells, args.cols if items is None else args.cols,
                                row_labels if args.labels else None, args.scale, borders))
            print(f"wrote {path}")
        else:
            written = generation.write_files(path, requests, images)
            print(f"wrote {len(written)} files to {path}/ (sample_<id>_<k>.jpg)")
    return 0
