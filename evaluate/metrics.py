"""Quality metrics of a generator, measured with the tag checker.

    python -m evaluate.metrics RUN_OR_MODEL_DIR --images DIR --tags-csv CSV [--n-per-combo 4]

- tag accuracy per group over every hair x eye combination of the training
  data (n samples each): does the checker read the requested colours?
- within-tag diversity: mean pairwise distance, in the checker's feature
  space, between samples of the same tags, next to the same figure for real
  held-out images of those tags (ratio ~1: as varied as real faces; ~0: the
  generator ignores z, i.e. mode collapse);
- per-image face rate: the course's anime-face detector (evaluate.baseline)
  run on each sample (real faces: 0.972, bench/quality/baseline_real.py), and its count on one 5x5 grid
  of samples spread over the combinations (the course passed a grid at 20);
- sharpness: high-frequency energy (mean squared Laplacian of the grey
  image), generated over real held-out (BEGAN's gamma trades it against
  diversity: Berthelot et al. 2017, section 4.2);
- Frechet distance between generated and held-out real features, next to
  real-vs-real: the held-out images are split in two halves A and B; equally
  large samples of the generated set and of A are both compared with B, so
  the real-vs-real figure is the floor a perfect generator would reach.
- KID (kernel inception distance, Binkowski et al. 2018) against the same halves, in
  the same checker features, raw (not the x 1000 papers print), with its standard
  deviation over subsets, and its real-vs-real floor: unbiased, so the floor is
  about 0 at any sample size, where the Frechet floor of the split by group (24.2)
  is above the default model's generated-vs-real (17.7) and cannot rank close models.
- other tags (smile, glasses, ...; only for a vocabulary that has them): how
  often the checker reads each tag on faces drawn with it asked and without,
  beside real held-out faces with and without it, and the checker's ROC AUC on
  those real faces, which says whether the images show the tag at all
  (evaluate.tag_support; columns read_asked/TAG, read_not_asked/TAG,
  read_real_with/TAG, read_real_without/TAG, auc/TAG).

Writes <dir>/metrics.json (latest) and appends a row with a `step` column to
<dir>/eval.csv (train.py --eval-every N writes the same figures every N steps).
"""

from __future__ import annotations

import csv
import math
import sys
import warnings
from pathlib import Path

import numpy as np

from checker.checker import MIN_ACCURACY, load_checker
from common import jsonio
from common.cli import ArgumentParser, ExamplesHelpFormatter, UserError, exit_on_user_error, number
from common.files import atomic_path
from common.quiet import quiet_libraries
from evaluate.baseline import face_rate, sheet_baseline
from evaluate.tag_support import TAG_FACES, eval_columns, figures_from_row, support_lines, tag_support
from preprocess.cache import build_or_load
from preprocess.spec import DataSpec
from sampling.generation import Request
from sampling.options import check_options
from sampling.runtime import load_generator
from sampling.sheet import draw_sheet

REAL_PER_COMBO = 16  # real held-out images per combination for the diversity reference
KID_SUBSETS, KID_SUBSET_SIZE = 100, 1000  # StyleGAN2-ADA's (metrics/kernel_inception_distance.py)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^1/2) between two feature sets."""
    from scipy import linalg

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    with warnings.catch_warnings():  # a collapsed generator gives a singular covariance: expected
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        root = linalg.sqrtm(cov_a @ cov_b)
        if not np.isfinite(root).all():  # regularise as the FID reference code does
            offset = np.eye(len(cov_a)) * 1e-6
            root = linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    root = np.real(root)
    return float(max(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2.0 * root), 0.0))


def kernel_inception_distance(
    a: np.ndarray,
    b: np.ndarray,
    *,
    rng: np.random.Generator,
    subsets: int = KID_SUBSETS,
    subset_size: int = KID_SUBSET_SIZE,
) -> tuple[float, float]:
    """KID between two feature sets (Binkowski et al. 2018): the unbiased estimate of MMD^2 with the
    cubic kernel k(x, y) = (x.y / d + 1)^3, on `subsets` pairs of subsets drawn without replacement
    (each `subset_size` rows, or all rows of the smaller set), as (mean, standard deviation over the
    subsets). Raw, not the x 1000 that papers print. Unbiased: samples of one distribution score 0
    on average at any size, and one estimate can be below 0. (nan, nan) with fewer than two rows."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    m = min(len(a), len(b), subset_size)
    if m < 2:
        return float("nan"), float("nan")
    estimates = [
        _unbiased_mmd2(a[rng.choice(len(a), m, replace=False)], b[rng.choice(len(b), m, replace=False)])
        for _ in range(subsets)
    ]
    return float(np.mean(estimates)), float(np.std(estimates))  # std as the reference code's (ddof 0)


def _unbiased_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """MMD^2 with the cubic polynomial kernel; the within-set sums leave out k(x_i, x_i), which is
    what makes it unbiased."""
    d = x.shape[1]
    k_xx, k_yy, k_xy = ((p @ q.T / d + 1.0) ** 3 for p, q in ((x, x), (y, y), (x, y)))
    m, n = len(x), len(y)
    within_x = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    within_y = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(within_x + within_y - 2.0 * k_xy.mean())


def mean_pairwise_distance(features: np.ndarray) -> float:
    """Mean Euclidean distance over all pairs (0 for fewer than two rows)."""
    from scipy.spatial.distance import pdist

    return float(pdist(np.asarray(features, np.float64)).mean()) if len(features) > 1 else 0.0


def high_frequency_energy(images: np.ndarray) -> float:
    """Mean squared Laplacian of the grey images (uint8 [N, S, S, 3]): how much fine detail
    they hold. Blurry faces score low; the figure is compared with real faces' own."""
    from skimage.color import rgb2gray
    from skimage.filters import laplace

    if len(images) == 0:
        return float("nan")
    grey = rgb2gray(np.asarray(images))
    return float(np.mean([np.mean(laplace(g) ** 2) for g in grey]))


def training_combinations(data) -> list[tuple[str, ...]]:
    """The distinct (hair, eyes, ...) value tuples of the training rows, sorted."""
    groups = list(data.vocab.groups)
    labels = np.unique(data.labels[data.train_indices()], axis=0)
    return sorted(tuple(data.vocab.groups[g][i] for g, i in zip(groups, row)) for row in labels)


def _round(x: float, digits: int) -> float:
    return round(float(x), digits) if math.isfinite(x) else float("nan")


def accuracy_by_value(tagsets, marks, checker_groups, n_per_combo: int, groups) -> dict:
    """{group: {value asked: share of its faces the checker reads as asked}} from a sheet of a row of
    `n_per_combo` faces per tag set: an average over every value hides a value the generator cannot draw
    (a fine-tune that forgot a colour its small set rarely shows)."""
    column = {g: j for j, g in enumerate(checker_groups) if g in groups}  # a mark per checker group
    read = {g: {} for g in column}
    for i, mark in enumerate(marks):
        if mark is not None:
            asked = tagsets[i // n_per_combo]
            for g, j in column.items():
                read[g].setdefault(asked.get(g), []).append(mark[j])
    return {g: {v: _round(float(np.mean(m)), 4) for v, m in values.items()} for g, values in read.items()}


def evaluate_generator(
    generator,
    checker,
    data,
    *,
    n_per_combo: int = 4,
    seed: int = 0,
    tag_faces: int = TAG_FACES,
    by_value: bool = False,
) -> dict:
    """All metrics for one generator (anything with .config, .vocab and
    .generate(z, cond, eps) -> [-1, 1] images, e.g. sampling.runtime.load_generator).
    `data` is a CachedData in the generator's vocabulary (see data_for). With other tags
    in the vocabulary and the checker, each tag's figures (evaluate.tag_support, `tag_faces`
    generated faces per tag) follow the rest, tag by tag."""
    vocab = generator.vocab
    groups = list(data.vocab.groups)
    combos = training_combinations(data)
    # a sheet of a row per combination, n_per_combo faces each, marked by the checker
    tagsets = [vocab.tagset(dict(zip(groups, c))) for c in combos]
    requests = [Request(t.file_stem, t.text, [t] * n_per_combo) for t in tagsets]
    sheet = draw_sheet(generator, requests, cols=n_per_combo, seed=seed, checker=checker)
    images = np.stack(sheet.cells)
    feats = checker.features(images)
    result = {"n_samples": len(images), "n_combos": len(combos)}
    result["face_rate"] = _round(face_rate(images), 4)  # the course detector on each sample
    # the course baseline on one 5x5 grid of samples spread over the combinations
    result["baseline_faces"] = sheet_baseline(sheet).faces
    result |= {f"acc_{g}": _round(a, 4) for g, a in sheet.accuracy.items() if g in groups}
    if by_value:  # (a dict, for the benches' JSON; eval.csv keeps one column per group)
        result["acc_by_value"] = accuracy_by_value(tagsets, sheet.marks, checker.groups, n_per_combo, groups)
    real_images = data.images[data.holdout_indices()]
    real_feats = checker.features(real_images)
    result |= _diversity(feats, real_feats, data, combos, n_per_combo)
    sharp, sharp_real = high_frequency_energy(images), high_frequency_energy(real_images)
    result |= {
        "sharpness_generated": _round(sharp, 6),
        "sharpness_real": _round(sharp_real, 6),
        "sharpness_ratio": _round(sharp / sharp_real, 4) if sharp_real > 0 else float("nan"),
    }
    result |= _distances_to_real(feats, real_feats, seed, data.groups[data.holdout_indices()])
    result |= eval_columns(tag_support(checker, data, generator, n=tag_faces, seed=seed))
    return result


def _diversity(feats, real_feats, data, combos, n_per_combo: int) -> dict:
    """Within-tag diversity: generated vs real held-out images of the same combination."""
    groups = list(data.vocab.groups)
    gen_div, real_div, both_gen = [], [], []
    label_index = {c: i for i, c in enumerate(combos)}
    real_rows: dict[int, list[int]] = {}
    for k, row in enumerate(data.labels[data.holdout_indices()]):
        key = tuple(data.vocab.groups[g][i] for g, i in zip(groups, row))
        if key in label_index and len(real_rows.setdefault(label_index[key], [])) < REAL_PER_COMBO:
            real_rows[label_index[key]].append(k)
    for i in range(len(combos)):
        d = mean_pairwise_distance(feats[i * n_per_combo : (i + 1) * n_per_combo])
        gen_div.append(d)
        if len(real_rows.get(i, [])) > 1:
            real_div.append(mean_pairwise_distance(real_feats[real_rows[i]]))
            both_gen.append(d)
    ratio = np.mean(both_gen) / np.mean(real_div) if real_div and np.mean(real_div) > 0 else float("nan")
    return {
        "diversity_generated": _round(np.mean(gen_div), 4) if gen_div and n_per_combo > 1 else float("nan"),
        "diversity_real": _round(np.mean(real_div), 4) if real_div else float("nan"),
        "diversity_ratio": _round(ratio, 4) if n_per_combo > 1 else float("nan"),
    }


def group_halves(groups: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two halves of the rows, near-duplicate groups (preprocess/duplicates.py) whole: groups in a
    seeded order, half A takes them until it holds half the rows. With one row per group this is a
    random half of the rows (the same draw as before groups existed)."""
    labels, inverse = np.unique(groups, return_inverse=True)
    drawn = rng.permutation(len(labels))  # the groups in their drawn order
    position = np.empty(len(labels), np.int64)
    position[drawn] = np.arange(len(labels))
    order = np.argsort(position[inverse], kind="stable")  # rows, group by group in the drawn order
    cut = np.searchsorted(np.cumsum(np.bincount(inverse)[drawn]), len(order) // 2, side="right")
    rows_in_a = int(np.bincount(inverse)[drawn][:cut].sum())
    return order[:rows_in_a], order[rows_in_a:]


def one_per_group(rows: np.ndarray, groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One of `rows` per near-duplicate group (`groups` labels every row), drawn at random, in a random
    order (group labels follow the data's order, which follows its content)."""
    drawn = rng.permutation(rows)
    _, first = np.unique(groups[drawn], return_index=True)
    return drawn[np.sort(first)]


def _distances_to_real(feats, real_feats, seed: int, groups: np.ndarray) -> dict:
    """Frechet distance and KID against half B of the held-out features; the real floor is half A's.
    The halves keep near-duplicate groups whole, so the floor is not that of an image and its twin.
    Frechet: both sides the same size (frechet_images), as its bias grows as the sample shrinks.
    KID: one face per group on each real side, as twins within a side inflate its within-set term
    (models/default's floor at seed 2 was 1.84 with them, 0.57 without; about 0 over other halves),
    and one subset size for both comparisons (kid_subset_size), so that both are equally noisy. KID
    draws from the rng after Frechet, whose figures are those of evaluations made before KID."""
    rng = np.random.default_rng(seed)
    half_a, half_b = group_halves(groups, rng)
    n_fd = min(len(feats), len(half_a))
    gen_sample = np.sort(rng.permutation(len(feats))[:n_fd])
    kid_a, kid_b = (real_feats[one_per_group(half, groups, rng)] for half in (half_a, half_b))
    size = min(len(feats), len(kid_a), len(kid_b), KID_SUBSET_SIZE)
    kid, kid_std = kernel_inception_distance(feats, kid_b, rng=rng, subset_size=size)
    kid_floor, kid_floor_std = kernel_inception_distance(kid_a, kid_b, rng=rng, subset_size=size)
    return {
        "frechet_generated_vs_real": _round(frechet_distance(feats[gen_sample], real_feats[half_b]), 3),
        "frechet_real_vs_real": _round(frechet_distance(real_feats[half_a[:n_fd]], real_feats[half_b]), 3),
        "kid_generated_vs_real": _round(kid, 4),
        "kid_generated_vs_real_std": _round(kid_std, 4),
        "kid_real_vs_real": _round(kid_floor, 4),
        "kid_real_vs_real_std": _round(kid_floor_std, 4),
        "frechet_images": int(n_fd),
        "kid_subset_size": int(size),
        "real_images": int(len(real_feats)),
    }


def data_for(generator, images, tags_csv, *, cache_dir=None, holdout=None):
    """The evaluation data in the generator's vocabulary, split as it was trained."""
    cfg = generator.config
    spec = DataSpec.from_config(
        cfg,
        generator.vocab,
        images=images,
        tags_csv=tags_csv,
        holdout=cfg.holdout if holdout is None else holdout,
    )
    return build_or_load(spec, cache_dir=cache_dir or cfg.cache_dir or None, progress=False)


# The quality targets train.py's evaluation line names (metric, target, higher is better): the default
# model's round-3 targets of issue 21, the quality part of bench/quality/default_model.py's
# TARGET_SETS["round3"]
# (that list should move here once both are merged, so that there is one).
TARGETS = [
    ("face_rate", 0.95, True),
    ("acc_hair", 0.95, True),
    ("acc_eyes", 0.95, True),
    ("frechet_generated_vs_real", 16.5, False),
    ("diversity_ratio", 0.76, True),
]
TARGET_NAMES = {
    "face_rate": "face rate",
    "acc_hair": "hair",
    "acc_eyes": "eyes",
    "frechet_generated_vs_real": "Frechet",
    "diversity_ratio": "diversity",
}


def meets(value, target, higher: bool) -> bool:
    """A missing figure (null in metrics.json, e.g. too few samples) meets nothing."""
    return value is not None and (value >= target if higher else value <= target)


def eval_line(result: dict, step: int) -> str:
    """One line per evaluation during training: each target's figure, whether it is met, then KID and
    sharpness (no targets yet: issue 35 sets them against round 3's figures)."""
    parts, met = [], 0
    for name, target, higher in TARGETS:
        value = result.get(name)
        ok = meets(value, target, higher)
        met += ok
        shown = "-" if value is None else number(float(value), 3)
        parts.append(
            f"{TARGET_NAMES[name]} {shown}{' ok' if ok else ''} ({'>=' if higher else '<='} {target:g})"
        )
    fidelity = fidelity_text(result)
    line = f"eval at step {step}: " + ", ".join(parts) + f"; {met} of {len(TARGETS)} targets met"
    return line + (f"; {fidelity}" if fidelity else "")


# The fidelity figures with no target yet (issue 35 sets them against round 3's), which every bench prints
# beside the Frechet distance: KID with its spread and real-vs-real floor, and sharpness against real faces
FIDELITY_COLUMNS = (
    "kid_generated_vs_real",
    "kid_generated_vs_real_std",
    "kid_real_vs_real",
    "kid_real_vs_real_std",
    "sharpness_ratio",
)


def fidelity_text(result: dict) -> str:
    """KID with its spread and real-vs-real floor, and sharpness against real faces, as one phrase;
    "" without them (an evaluation made before they existed, or with no held-out faces)."""

    def shown(name):
        value = finite(result.get(name))
        return "-" if value is None else number(value, 3)

    parts = []
    if finite(result.get("kid_generated_vs_real")) is not None:
        parts.append(
            f"KID {shown('kid_generated_vs_real')} +- {shown('kid_generated_vs_real_std')} "
            f"(real vs real {shown('kid_real_vs_real')})"
        )
    if finite(result.get("sharpness_ratio")) is not None:
        parts.append(f"sharpness {shown('sharpness_ratio')} x real")
    return ", ".join(parts)


def finite(value) -> float | None:
    """A figure of metrics.json or of an eval.csv row as a float; None when missing, empty or nan."""
    try:
        number_ = float(value)
    except (TypeError, ValueError):
        return None
    return number_ if math.isfinite(number_) else None


def write_results(folder: str | Path, result: dict, step: int | None = None) -> Path:
    """metrics.json = this result; eval.csv gets one more row (the header
    grows, old rows kept, when a later evaluation has more columns)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    row = {"step": None if step is None else int(step)} | result
    (folder / "metrics.json").write_text(jsonio.dumps(row, indent=1) + "\n")  # strict: NaN -> null
    path = folder / "eval.csv"
    header, rows = [], []
    if path.exists():
        with open(path, newline="") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            header = list(reader.fieldnames or [])
    if header and set(row) <= set(header):
        with open(path, "a", newline="") as fh:
            csv.DictWriter(fh, fieldnames=header, lineterminator="\n", restval="").writerow(row)
        return path
    fields = header + [k for k in row if k not in header]
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n", restval="")
        writer.writeheader()
        writer.writerows(rows + [row])
    return path


@exit_on_user_error
def main(argv=None) -> int:
    p = ArgumentParser(
        prog="python -m evaluate.metrics", description=__doc__, formatter_class=ExamplesHelpFormatter
    )
    p.add_argument("model", help="run directory (its export/ is used) or exported model directory")
    p.add_argument("--images", required=True, help="the image folder the model was trained on")
    p.add_argument("--tags-csv", required=True, help="its tag CSV")
    p.add_argument(
        "--checker", default=None, help="checker folder"
    ).shown_default = "the one beside the model"
    p.add_argument("--n-per-combo", type=int, default=4, help="samples per hair x eye combination")
    p.add_argument("--seed", type=int, default=0, help="noise seed")
    p.add_argument("--step", type=int, default=None, help="value of eval.csv's step column (default: empty)")
    p.add_argument("--holdout", type=float, default=None, help="held-out fraction (default: the model's)")
    p.add_argument(
        "--cache-dir",
        default=None,
        help="dataset cache folder (default: $TAGFACE_CACHE, else ~/.cache/tagface)",
    )
    p.add_argument(
        "--out", default=None, help="folder for metrics.json / eval.csv (default: the model's folder)"
    )
    p.add_argument("--truncation", type=float, default=1.0, help="scale z towards 0 by T (1: off)")
    p.add_argument("--best-of", type=int, default=1, help="best of K faces per sample by D (1: off)")
    args = p.parse_args(argv)
    check_options({"truncation": args.truncation, "best_of": args.best_of})
    if (args.truncation != 1.0 or args.best_of > 1) and not args.out:
        raise UserError(
            "--truncation and --best-of need --out: the model's own metrics.json and eval.csv "
            "hold figures without them"
        )
    quiet_libraries()  # TensorFlow's logs only with TAGFACE_VERBOSE=1
    if args.n_per_combo < 2:
        raise UserError("--n-per-combo must be at least 2 (diversity needs pairs)")
    generator = load_generator(args.model).with_sampling(args.truncation, args.best_of)
    checker = load_checker(args.checker or args.model)
    data = data_for(generator, args.images, args.tags_csv, cache_dir=args.cache_dir, holdout=args.holdout)
    result = evaluate_generator(generator, checker, data, n_per_combo=args.n_per_combo, seed=args.seed)
    result |= {
        "seed": args.seed,
        "truncation": args.truncation,
        "best_of": args.best_of,
    }  # what the figures used
    low = {g: a for g, a in checker.heldout_accuracy.items() if a < MIN_ACCURACY.get(g, 0.0)}
    if low:
        print(
            f"warning: the checker's held-out accuracy {low} is below {MIN_ACCURACY}; "
            "its tag accuracy figures are not trustworthy",
            file=sys.stderr,
        )
    out = Path(args.out or args.model)
    write_results(out, result, args.step)
    print(jsonio.dumps(result, indent=1))
    for line in support_lines(figures_from_row(result)):
        print(f"warning: {line}", file=sys.stderr)
    print(f"wrote {out / 'metrics.json'} and a row of {out / 'eval.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
