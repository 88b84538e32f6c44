"""How much data, and how long: a student's own tag-rich CSV, fine-tuned and trained from scratch.

    .venv/bin/python -m bench.quality.own_data make --size 1200 --out /tmp/own1200      # a subset + its CSV
    .venv/bin/python -m bench.quality.own_data make --size 1200 --out /tmp/own1200m --tags marks
    .venv/bin/python -m bench.quality.own_data train /tmp/own1200 --mode finetune --run-dir runs/ft1200
    .venv/bin/python -m bench.quality.own_data train /tmp/own1200 --mode scratch --run-dir runs/sc1200
    .venv/bin/python -m bench.quality.own_data eval runs/ft1200 --data /tmp/own1200 --seed 2

`make` takes a group-split subset of the real set: whole near-duplicate groups (preprocess/duplicates.py)
drawn at random until --size faces, so that the run's own held-out split (which keeps each group on one
side) has no twin in training. Its CSV is in the MLDS-2017 format, with the colour tags and PIXEL_TAGS:
other tags computed from the pixels, so that the project can check that a run learnt them honestly
(the real set has colour tags only). `--tags marks` draws tags about shape instead (glasses, a hat, a
smile: preprocess.synthetic.wear_marks, one draw per near-duplicate group) beside the background tags;
the default `--tags pixels` has two whole-image colour tags (vivid, muted) that also recolour the hair.

`train` runs the README command exactly as a student types it (--init-from models/default for
--mode finetune), no other flags, and prints its CPU-minutes (the trainer's own, metrics.csv).

`eval` scores the run's export on the run's held-out faces, with --seed noise: face rate, hair and eyes
read by the bundled checker (which the run never trained), Frechet distance beside KID (its spread and
real-vs-real floor) and sharpness, within-tag diversity,
each other tag's read rate when asked and when not (the run's own checker) beside real held-out faces'
and its AUC there, and near copies. Choose with one seed, report with another.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np

from bench import ROOT, cpu_name, parser, real_data

# name -> (measure on a uint8 [n, s, s, 3] batch, quantile, "above" or "below"): the tag is on for the
# faces past that quantile of the real set, so each is carried by about 30 % of the faces.
BORDER = 4  # pixels of the image's edge read as background


def _border(images: np.ndarray) -> np.ndarray:
    mask = np.ones(images.shape[1:3], bool)
    mask[BORDER:-BORDER, BORDER:-BORDER] = False
    return images[:, mask].astype(np.float32)  # [n, pixels, 3]


def _luminance(images):
    return (_border(images) @ np.array([0.299, 0.587, 0.114], np.float32)).mean(1) / 255


def _saturation(images):
    x = images.reshape(len(images), -1, 3).astype(np.float32)
    top, low = x.max(2), x.min(2)
    return ((top - low) / np.maximum(top, 1)).mean(1)


def _warmth(images):
    b = _border(images)
    return (b[..., 0] - b[..., 2]).mean(1) / 255


PIXEL_TAGS = {
    "light background": (_luminance, 0.7, "above"),
    "dark background": (_luminance, 0.3, "below"),
    "vivid colours": (_saturation, 0.7, "above"),
    "muted colours": (_saturation, 0.3, "below"),
    "warm background": (_warmth, 0.75, "above"),
}


# `make --tags marks`: tags about shape, as a student's CSV has (glasses, a hat, a smile), drawn on the real
# faces (preprocess.synthetic.wear_marks), each on a MARKED_P share of them, beside the background tags. The
# whole-image colour tags of PIXEL_TAGS (vivid, muted) change the hair's colour too; these leave it alone.
MARKED_P = 0.3
BACKGROUND_TAGS = ("light background", "dark background", "warm background")
TAG_SETS = {"pixels": tuple(PIXEL_TAGS), "marks": ("glasses", "hat", "smile", *BACKGROUND_TAGS)}


def pixel_tags(
    images: np.ndarray, reference: np.ndarray | None = None, names=tuple(PIXEL_TAGS)
) -> list[list[str]]:
    """Each image's PIXEL_TAGS (of `names`), with thresholds at the quantiles of `reference` (default: the
    images)."""
    reference = images if reference is None else reference
    tags = [[] for _ in images]
    for name in names:
        measure, q, side = PIXEL_TAGS[name]
        values, cut = measure(images), np.quantile(measure(reference), q)
        for i in np.flatnonzero(values >= cut if side == "above" else values <= cut):
            tags[i].append(name)
    return tags


def make(args) -> int:
    from preprocess.cache import build_or_load
    from preprocess.spec import DataSpec

    data = build_or_load(DataSpec(args.images, args.tags_csv), progress=True)
    rng = np.random.default_rng(args.seed)
    chosen, total = [], 0
    for group in rng.permutation(np.unique(data.groups)):
        rows = np.flatnonzero(data.groups == group)
        chosen.append(rows)
        total += len(rows)
        if total >= args.size:
            break
    rows = np.sort(np.concatenate(chosen))
    out = Path(args.out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    images, worn = data.images[rows], [[] for _ in rows]  # (fancy indexing: a copy, drawn on below)
    if args.tags == "marks":
        from preprocess.synthetic import MARKS, wear_marks

        # one draw per near-duplicate group, so that twins stay twins (the marks are symmetric: a
        # mirrored twin wears the mirror image of the same marks) and the run's split keeps them together
        mark_rng = np.random.default_rng([args.seed, 34])
        group_marks = {
            g: [m for m in MARKS if mark_rng.random() < MARKED_P] for g in np.unique(data.groups[rows])
        }
        for i, image in enumerate(images):
            worn[i] = group_marks[data.groups[rows[i]]]
            wear_marks(image, worn[i])
    names = [n for n in TAG_SETS[args.tags] if n in PIXEL_TAGS]
    extra = [w + p for w, p in zip(worn, pixel_tags(images, data.images, names))]
    with open(out / "tags.csv", "w", newline="") as fh:
        for row, others, image, marks in zip(rows, extra, images, worn):
            source = Path(str(data.paths[row]))
            link = out / "images" / f"{data.ids[row]}{'.png' if marks else source.suffix}"
            if marks and not link.exists():
                iio.imwrite(link, image)  # the drawn face, losslessly
            elif not link.exists():
                os.symlink(source.resolve(), link)
            tags = str(data.tags[row]).split(" ")
            colours = [f"{tags[i]} {tags[i + 1]}:1" for i in range(0, 4, 2)]
            fh.write(f"{data.ids[row]}," + "\t".join(colours + [f"{t}:1" for t in others]) + "\n")
    counts = {name: sum(name in t for t in extra) for name in TAG_SETS[args.tags]}
    (out / "subset.json").write_text(
        json.dumps(
            {
                "size": len(rows),
                "groups": len(chosen),
                "seed": args.seed,
                "tags": args.tags,
                "tag_images": counts,
            },
            indent=1,
        )
    )
    print(f"{out}: {len(rows)} faces in {len(chosen)} near-duplicate groups; other tags: {counts}")
    return 0


def train(args) -> int:
    data = Path(args.data)
    cmd = (
        [
            sys.executable,
            str(ROOT / "train.py"),
            "--images",
            str(data / "images"),
            "--tags-csv",
            str(data / "tags.csv"),
        ]
        + (["--init-from", "models/default"] if args.mode == "finetune" else [])
        + ["--run-dir", args.run_dir]
    )
    print(" ".join(cmd[1:]), f"\n# {cpu_name()}", flush=True)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT)
    cpu = _cpu_minutes(Path(args.run_dir))
    print(
        f"exit {done.returncode}; {(time.perf_counter() - start) / 60:.1f} min wall, {cpu:.1f} CPU-minutes "
        "(the trainer's, metrics.csv)"
    )
    return done.returncode


def _cpu_minutes(run: Path, step: int | None = None) -> float:
    """The trainer's CPU-minutes (metrics.csv) up to `step` (None: the last row)."""
    path = run / "metrics.csv"
    if not path.exists():
        return float("nan")
    with open(path, newline="") as fh:
        rows = [
            r for r in csv.DictReader(fh) if r.get("cpu_seconds") and (step is None or int(r["step"]) <= step)
        ]
    return float(rows[-1]["cpu_seconds"]) / 60 if rows else float("nan")


def evaluate(args) -> int:
    from checker.checker import load_checker
    from evaluate.copies import measure_copies
    from evaluate.metrics import FIDELITY_COLUMNS, data_for, evaluate_generator
    from evaluate.tag_support import tag_support
    from model.config import TrainConfig
    from sampling.runtime import load_generator

    run = Path(args.run)
    model = run / "export"
    if args.step is not None:  # that checkpoint's export, with the run's checker, beside the run
        from checker.checker import copy_run_checker
        from sampling.export import export_run

        model = export_run(
            run,
            run.parent / f"{run.name}_step{args.step}",
            step=args.step,
            finish=lambda folder: copy_run_checker(TrainConfig.load(run), folder, run),
        )
    generator = load_generator(model)
    data = data_for(generator, Path(args.data) / "images", Path(args.data) / "tags.csv")
    bundled = load_checker(ROOT / "models" / "checker")
    step = args.step or TrainConfig.load(model).steps
    result = {
        "run": str(run),
        "model": str(model),
        "step": step,
        "seed": args.seed,
        "cpu_minutes": round(_cpu_minutes(run, step), 1),
        "train_images": int(len(data.train_indices())),
        "heldout_images": int(len(data.holdout_indices())),
    }
    quality = evaluate_generator(
        generator, bundled, data, n_per_combo=args.n_per_combo, seed=args.seed, by_value=True
    )
    result |= {
        k: quality[k]
        for k in (
            "face_rate",
            "acc_hair",
            "acc_eyes",
            "frechet_generated_vs_real",
            "frechet_real_vs_real",
            *FIDELITY_COLUMNS,
            "diversity_ratio",
            "acc_by_value",
        )
        if k in quality
    }
    own = load_checker(model)
    for tag, fig in tag_support(own, data, generator, seed=args.seed).items():
        result[f"tag/{tag}"] = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in vars(fig).items()}
    copies, _ = measure_copies(generator, data, seed=args.seed)
    result |= {f"copies_{k}": v for k, v in copies.items()}
    result["cpu"] = cpu_name()
    print(json.dumps(result, indent=1))
    if args.out:
        row = {k: (json.dumps(v) if isinstance(v, dict) else v) for k, v in result.items()}
        new = not Path(args.out).exists()
        with open(args.out, "a", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow(row)
    return 0


def main(argv=None) -> int:
    p = parser(__doc__, __spec__)
    sub = p.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make", help="a group-split subset of the real set with pixel tags")
    m.add_argument("--size", type=int, default=1200, help="faces (whole near-duplicate groups)")
    m.add_argument("--out", required=True, help="folder for images/ (symlinks) and tags.csv")
    m.add_argument("--seed", type=int, default=0, help="which groups are drawn")
    m.add_argument(
        "--tags",
        choices=sorted(TAG_SETS),
        default="pixels",
        help="other tags: pixels (computed colour and background tags) or marks (glasses, hat, smile drawn "
        "on the faces, and the background tags)",
    )
    m.add_argument("--images", default=str(real_data.DATA / "images"), help="the real set's images")
    m.add_argument("--tags-csv", default=str(real_data.DATA / "tags.csv"), help="the real set's tags")
    t = sub.add_parser("train", help="the README command on a subset")
    t.add_argument("data", help="a folder made by `make`")
    t.add_argument("--mode", choices=["finetune", "scratch"], required=True)
    t.add_argument("--run-dir", required=True)
    e = sub.add_parser("eval", help="score a run on its held-out faces")
    e.add_argument("run")
    e.add_argument("--data", required=True, help="the folder made by `make` that the run trained on")
    e.add_argument("--seed", type=int, default=2, help="noise seed")
    e.add_argument("--n-per-combo", type=int, default=4)
    e.add_argument("--out", default=None, help="append the figures to this CSV")
    e.add_argument(
        "--step",
        type=int,
        default=None,
        help="score the checkpoint of this step (exported beside the run as RUN_stepN) instead of RUN/export",
    )
    args = p.parse_args(argv)
    return {"make": make, "train": train, "eval": evaluate}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
