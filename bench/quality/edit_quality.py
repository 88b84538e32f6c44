"""Recolouring real faces the model never saw (issues 25 and 35), the way generate.py --edit does it.

    .venv/bin/python -m bench.quality.edit_quality [--model models/default] [--n 40] [--seed 0]
        [--judge runs/edit-judge] [--set kept_fade=0.3 --set steps=100] [--out edit_quality.csv]

Faces: the held-out part of the model's own split (its run config's data,
image size, held-out share and seed, through preprocess.cache; checked against
the split its training run recorded in RUN/data.csv when the model names its
run), and of those only the faces with no near-duplicate anywhere in the set
(preprocess.duplicates' groups: the same picture, mirrored or re-encoded),
so none has a twin in training, nor one beside it among the held-out faces:
the faces of issue 35's judge. --n of them drawn with --seed.
Each face's tags are read by the model's checker (as --edit does without
--from), then for each face:
- the reconstruction under those tags: does the checker read them back, and
  the grey-level SSIM to the face;
- the hair edits, one per hair colour other than the face's (the figures are
  their means: 11 edits a face rather than one, so 40 faces measure a rate to
  about +-0.02 where one edit a face leaves +-0.05), and the eye edit (a colour
  drawn with --seed, never the source's): is the asked colour read, is the other
  group kept (read in the edit as in the face), SSIM to the face;
- with --judge, a second checker (another training run: `python -m checker
  train ... --seed 1`) reads the face and both edits too: its asked colour and
  kept group, compared with its own reading of the face. The model's checker
  chose the tags the edit draws, so its reading agrees with them more readily;
- baselines: the SSIM of the face to random faces drawn with its tags (what the
  reconstruction must beat twice over) and of an edit to random faces drawn
  with the edit's tags (the hair edit's: one colour drawn with --seed);
- seconds per face (checker reading, search, three drawings: what --edit
  waits for; the other hair edits are drawn after the clock stops), after the
  start-up (checker, TensorFlow, the traced search step), which is printed beside.
Prints the aggregate figures beside the targets, with the CPU; writes one CSV row per face.
"""

import csv
import os
import sys
import time
from dataclasses import fields
from pathlib import Path

import numpy as np

from bench import ROOT, cpu_name, real_data
from common.cli import UserError, exit_on_user_error
from common.quiet import quiet_libraries

BASELINE_FACES = 8  # random faces per baseline
# (figure, target, kind): kind "min" = at least the target, "max" = at most
TARGETS = [
    ("rec_hair_read", 0.9, "min"),
    ("rec_eyes_read", 0.9, "min"),
    ("rec_ssim", 0.45, "min"),
    ("rec_ssim_vs_baseline", 2.0, "min"),
    ("hair_edit_asked_read", 0.9, "min"),
    ("hair_edit_eyes_kept", 0.9, "min"),
    ("hair_edit_ssim", 0.4, "min"),
    ("eye_edit_asked_read", 0.9, "min"),
    ("eye_edit_hair_kept", 0.9, "min"),
    ("eye_edit_ssim", 0.4, "min"),
    ("judge_hair_edit_asked_read", 0.9, "min"),
    ("judge_hair_edit_eyes_kept", 0.9, "min"),
    ("judge_eye_edit_asked_read", 0.9, "min"),
    ("judge_eye_edit_hair_kept", 0.9, "min"),
    ("seconds_per_face", 5.0, "max"),
]


def grey_ssim(a: np.ndarray, b: np.ndarray) -> float:
    from skimage.color import rgb2gray
    from skimage.metrics import structural_similarity

    return float(structural_similarity(rgb2gray(a), rgb2gray(b), data_range=1.0))


def lone_heldout(data) -> np.ndarray:
    """Held-out rows with no near-duplicate anywhere in the set: their group holds them alone, so no
    twin in training (which a split by group already rules out) and none held out beside them. The
    cache's groups, or, for data split by id, the groups preprocess.duplicates finds."""
    groups = data.groups
    if data.duplicates.get("mode", "ignore") == "ignore":
        from preprocess.duplicates import near_duplicate_groups

        groups = near_duplicate_groups(data.images)
    held = data.holdout_indices()
    return held[np.bincount(groups)[groups[held]] == 1]


def check_split(model: Path, data) -> str:
    """Says whose split the faces come from; UserError when the model's training run recorded
    another held-out set than the one rebuilt from its config (its faces could be training faces)."""
    from model.run_folder import training_run_of
    from training.run_data import read_record

    run = training_run_of(model)
    record = read_record(run) if run is not None else None
    if record is None:
        return "split rebuilt from the model's config (no training run with a data record beside it)"
    recorded = {i for i, (side, _, _) in record.items() if side == "holdout"}
    if recorded != set(data.ids[data.holdout].tolist()):
        raise UserError(f"the held-out split rebuilt from {model}'s config is not the one {run} recorded")
    return f"the split {run}/data.csv recorded"


def search_settings(pairs: list[str]):
    """SearchSettings with NAME=VALUE changes (--set offset=0 --set steps=100)."""
    from editing.editor import SearchSettings

    kinds = {f.name: type(getattr(SearchSettings(), f.name)) for f in fields(SearchSettings)}
    changes = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in kinds or not value:
            raise UserError(f"--set {pair}: expected NAME=VALUE with NAME one of {', '.join(kinds)}")
        changes[name] = value.lower() in ("1", "true", "yes") if kinds[name] is bool else kinds[name](value)
    return SearchSettings(**changes)


def other_value(values: list[str], avoid: str, rng) -> str:
    return str(rng.choice([v for v in values if v != avoid]))


def readings(checker, face, rec, eye_edit, eyes: str, hair_edits, hairs, prefix: str = "") -> dict:
    """What `checker` reads off the reconstruction and the edits, against its own reading of the face:
    the face's colours read back, the asked colour read, the other group read as in the face (the hair
    edits' figures: the share of them)."""
    read = checker.read_values(np.stack([face, rec, eye_edit, *hair_edits]))
    own = {g: read[g][0] for g in ("hair", "eyes")}
    return {
        f"{prefix}rec_hair_read": read["hair"][1] == own["hair"],
        f"{prefix}rec_eyes_read": read["eyes"][1] == own["eyes"],
        f"{prefix}hair_edit_asked_read": float(np.mean([r == h for r, h in zip(read["hair"][3:], hairs)])),
        f"{prefix}hair_edit_eyes_kept": float(np.mean([r == own["eyes"] for r in read["eyes"][3:]])),
        f"{prefix}eye_edit_asked_read": read["eyes"][2] == eyes,
        f"{prefix}eye_edit_hair_kept": read["hair"][2] == own["hair"],
    }


def measure_face(recolour, generator, image: np.ndarray, seed: int, rng, judge=None) -> dict:
    from editing.editor import sweep_tags
    from editing.recolour import Face
    from sampling.generation import sample_inputs, to_uint8

    vocab = recolour.vocab
    start = time.perf_counter()
    face = Face(image, "face")
    source = recolour.source_tags(face)
    found = recolour.find(face, source, seed)
    hair, eyes = (
        other_value(vocab.groups["hair"], source.get("hair"), rng),
        other_value(vocab.groups["eyes"], source.get("eyes"), rng),
    )
    hair_tags = vocab.tagset({**source.as_dict(), "hair": hair}, source.extras)
    eye_tags = vocab.tagset({**source.as_dict(), "eyes": eyes}, source.extras)
    rec, hair_edit, eye_edit = recolour.editor.draw(found, [source, hair_tags, eye_tags])
    seconds = time.perf_counter() - start
    others = [t for t in sweep_tags(source, "hair", vocab) if t.get("hair") != source.get("hair")]
    hairs = [t.get("hair") for t in others]
    hair_edits = list(recolour.editor.draw(found, others))  # (not the source's own colour: no edit)
    drawn = (image, rec, eye_edit, eyes, hair_edits, hairs)
    z, eps = sample_inputs(generator.config, BASELINE_FACES, seed)

    def random_faces(tags):
        return to_uint8(generator.generate(z, np.repeat(vocab.conditions([tags]), BASELINE_FACES, 0), eps))

    return {
        "source": source.text,
        "hair_to": hair,
        "eyes_to": eyes,
        "search_loss": found.loss,
        **readings(recolour.checker, *drawn),
        **(readings(judge, *drawn, prefix="judge_") if judge is not None else {}),
        "rec_ssim": grey_ssim(image, rec),
        "baseline_ssim_face_vs_random": np.mean([grey_ssim(image, f) for f in random_faces(source)]),
        "hair_edit_ssim": np.mean([grey_ssim(image, edit) for edit in hair_edits]),
        "baseline_ssim_hair_edit_vs_random": np.mean(
            [grey_ssim(hair_edit, f) for f in random_faces(hair_tags)]
        ),
        "eye_edit_ssim": grey_ssim(image, eye_edit),
        "baseline_ssim_eye_edit_vs_random": np.mean([grey_ssim(eye_edit, f) for f in random_faces(eye_tags)]),
        "seconds": seconds,
    }


def summarise(rows: list[dict]) -> tuple[dict, dict]:
    """(the mean of each figure over the faces, its standard error: the faces' spread / sqrt(n))."""
    names = [k for k in rows[0] if not isinstance(rows[0][k], str)]
    values = {k: np.array([r[k] for r in rows], float) for k in names}
    mean = {k: float(v.mean()) for k, v in values.items()}
    error = {
        k: float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("nan") for k, v in values.items()
    }
    mean["rec_ssim_vs_baseline"] = mean["rec_ssim"] / mean["baseline_ssim_face_vs_random"]
    mean["seconds_per_face"], error["seconds_per_face"] = mean.pop("seconds"), error.pop("seconds")
    return mean, error


def verdict(name: str, value: float) -> str:
    """'>= 0.9   met' beside a figure with a target (TARGETS), '' beside one without."""
    target = next(((t, kind) for n, t, kind in TARGETS if n == name), None)
    if target is None:
        return ""
    limit, kind = target
    met = value <= limit if kind == "max" else value >= limit
    return f"{'<=' if kind == 'max' else '>='} {limit:<5} {'met' if met else 'NOT met'}"


@exit_on_user_error
def main(argv=None) -> int:
    p = real_data.parser(__doc__, __spec__)
    p.add_argument(
        "--model", type=Path, default=ROOT / "models" / "default", help="exported model with a checker"
    )
    p.add_argument("--n", type=int, default=40, help="held-out faces (default 40)")
    p.add_argument("--seed", type=int, default=0, help="faces, edit colours and search starts (default 0)")
    p.add_argument("--judge", type=Path, help="a second checker folder that also reads the faces and edits")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="change a search setting (editing.editor.SearchSettings), e.g. offset=0, steps=100",
    )
    p.add_argument("--out", type=Path, default=Path("edit_quality.csv"), help="per-face CSV")
    args = p.parse_args(argv)
    quiet_libraries()
    settings = search_settings(args.set)
    from checker.checker import load_checker
    from editing.recolour import Recolourer
    from model.config import TrainConfig
    from preprocess.cache import build_or_load
    from preprocess.spec import DataSpec
    from sampling.runtime import load_generator

    config = TrainConfig.load(args.model)
    spec = DataSpec.from_config(config, images=args.images, tags_csv=args.tags_csv)  # the model's own split
    data = build_or_load(spec, progress=False)
    split = check_split(args.model, data)
    lone = lone_heldout(data)
    print(f"{split}: {len(data.holdout_indices())} held out, {len(lone)} with no near-duplicate in the set")
    if len(lone) < args.n:
        raise UserError(f"only {len(lone)} held-out faces with no near-duplicate in the set; lower --n")
    rng = np.random.default_rng(args.seed)
    chosen = np.sort(rng.choice(lone, args.n, replace=False))
    judge = load_checker(args.judge) if args.judge else None
    cpu = cpu_name()
    start = time.perf_counter()
    recolour = Recolourer(args.model, settings)
    if recolour.checker is None:
        raise UserError(f"{args.model} has no tag checker to read the faces and the edits")
    recolour.editor  # noqa: B018 - open TensorFlow and trace the search now: start-up, not the first face
    startup = time.perf_counter() - start
    generator = load_generator(args.model)
    print(f"{args.model}, {settings}\nstart-up {startup:.1f} s; CPU: {cpu}")
    rows = []
    for k, row in enumerate(chosen):
        measured = measure_face(recolour, generator, data.images[row], args.seed, rng, judge)
        rows.append({"id": str(data.ids[row]), **measured})
        if (k + 1) % 10 == 0:
            print(f"  {k + 1} faces, {np.mean([r['seconds'] for r in rows]):.2f} s per face", flush=True)
    result, error = summarise(rows)
    print(f"{args.n} faces (--seed {args.seed}){f', judge {args.judge}' if judge else ''}")
    print(f"{'figure':<36} {'value':>7} {'+- s.e.':>7}   target")
    for name, value in result.items():
        spread = f"{error[name]:.3f}" if name in error else ""
        print(f"{name:<36} {value:>7.3f} {spread:>7}   {verdict(name, value)}")
    print(
        f"start-up {startup:.1f} s (not in seconds_per_face); CPU: {cpu} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end"
    )
    with open(args.out, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {args.out} ({len(rows)} faces)")
    return 0 if not any(verdict(n, v).endswith("NOT met") for n, v in result.items()) else 1


if __name__ == "__main__":
    sys.exit(main())
