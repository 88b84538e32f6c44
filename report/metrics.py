"""Quality metrics of a generator, measured with the tag checker.

    python -m report.metrics MODEL_OR_RUN --images DIR --tags-csv CSV [--n-per-combo 4]

- tag accuracy per group over every hair x eye combination of the training data;
- within-tag diversity: mean pairwise distance, in the checker's feature
  space, between samples of the same tags, next to the same figure for real
  held-out images of those tags (ratio ~1: as varied as real faces; ~0: collapse);
- Frechet distance between generated and held-out real features, next to
  real-vs-real (two halves of the real images) as the floor to compare with.

Writes <dir>/metrics.json (latest) and appends a row to <dir>/eval.csv.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^1/2)."""
    from scipy import linalg

    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root, _ = linalg.sqrtm(cov_a @ cov_b, disp=False)
    root = np.real(root)
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2.0 * root))


def mean_pairwise_distance(features: np.ndarray) -> float:
    from scipy.spatial.distance import pdist

    return float(pdist(features).mean()) if len(features) > 1 else 0.0


def evaluate_generator(generator, checker, data, *, n_per_combo: int = 4, seed: int = 0) -> dict:
    """Every (hair, eyes) pair of the training data, n samples each."""
    from model.generation import sample_inputs, to_uint8

    vocab = generator.vocab
    groups = list(vocab.groups)
    pairs = sorted({tuple(c["tags"][g] for g in groups) for c in vocab.combos})
    tagsets = [vocab.tagset(dict(zip(groups, p))) for p in pairs for _ in range(n_per_combo)]
    z, eps = sample_inputs(generator.config, len(tagsets), seed)
    images = to_uint8(generator.generate(z, vocab.conditions(tagsets), eps))
    probs, feats = checker.predict_and_features(images)
    result = {"n_samples": len(tagsets), "n_combos": len(pairs)}
    for group in checker.groups:
        values = checker.groups[group]
        predicted = np.array(values)[probs[group].argmax(1)]
        result[f"acc_{group}"] = round(float(np.mean([p == t.get(group) for p, t in zip(predicted, tagsets)])), 4)
    # diversity within each combination, generated vs real held-out
    gen_div = [mean_pairwise_distance(feats[i * n_per_combo:(i + 1) * n_per_combo]) for i in range(len(pairs))]
    held = data.holdout_indices()
    if len(held) < 2:
        held = data.train_indices()
    real_feats = checker.features(data.images[held])
    real_labels = data.labels[held]
    real_div = []
    for p in pairs:
        idx = [vocab.groups[g].index(v) for g, v in zip(groups, p)]
        rows = np.flatnonzero((real_labels == idx).all(1))[:max(n_per_combo, 8)]
        if len(rows) > 1:
            real_div.append(mean_pairwise_distance(real_feats[rows]))
    result["diversity_generated"] = round(float(np.mean(gen_div)), 4)
    result["diversity_real"] = round(float(np.mean(real_div)), 4) if real_div else float("nan")
    result["diversity_ratio"] = round(result["diversity_generated"] / result["diversity_real"], 4) \
        if real_div and result["diversity_real"] > 0 else float("nan")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(real_feats))
    half = len(order) // 2
    result["frechet_generated_vs_real"] = round(frechet_distance(feats, real_feats), 3)
    result["frechet_real_vs_real"] = round(frechet_distance(real_feats[order[:half]], real_feats[order[half:]]), 3)
    result["real_images"] = int(len(real_feats))
    return result


def data_for(generator, images, tags_csv, *, cache_dir=None, holdout=None):
    """The evaluation data in the generator's vocabulary, split as it was trained."""
    from preprocess.cache import build_or_load

    cfg = generator.config
    return build_or_load(images, tags_csv, tag_format=cfg.tag_format, size=cfg.image_size,
                         cache_dir=cache_dir or cfg.cache_dir or None,
                         holdout=cfg.holdout if holdout is None else holdout, seed=cfg.seed,
                         vocab=generator.vocab, progress=False)


def write_results(folder: Path, result: dict, step: int | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    row = {"step": step if step is not None else ""} | result
    (folder / "metrics.json").write_text(json.dumps(row, indent=1) + "\n")
    path = folder / "eval.csv"
    new = not path.exists()
    with open(path, "a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(row), lineterminator="\n")
        if new:
            writer.writeheader()
        writer.writerow(row)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m report.metrics", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="run directory or exported model directory")
    p.add_argument("--images", required=True)
    p.add_argument("--tags-csv", required=True)
    p.add_argument("--checker", default=None, help="checker folder (default: beside the model)")
    p.add_argument("--n-per-combo", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--holdout", type=float, default=None, help="default: the model's config")
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--out", default=None, help="folder for metrics.json / eval.csv (default: the model)")
    args = p.parse_args(argv)
    from model.checker import load_checker
    from model.runtime import ModelError, load_generator
    from tags import TagError

    try:
        generator = load_generator(args.model)
        checker = load_checker(args.checker or args.model)
        data = data_for(generator, args.images, args.tags_csv, cache_dir=args.cache_dir, holdout=args.holdout)
        result = evaluate_generator(generator, checker, data, n_per_combo=args.n_per_combo, seed=args.seed)
    except (ModelError, TagError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out or args.model)
    write_results(out, result)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
