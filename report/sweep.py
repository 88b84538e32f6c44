"""The gamma sweep's page: runs that differ in BEGAN's gamma, side by side.

    python -m report RUN_A RUN_B RUN_C [--out DIR]

Berthelot et al. 2017 (section 4.2, Fig. 2) show one row of faces per gamma,
drawn with the same z: lower gamma gives sharper, less varied faces. This page
draws that figure from the runs' exported generators (the same noise seed and
tags in every row), and tabulates each run's equilibrium figures (metrics.csv)
next to its quality figures (metrics.json of its export, written by
evaluate.metrics or bench/quality/gamma_sweep.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from common.cli import UserError
from evaluate.equilibrium import balance
from model.config import TrainConfig
from report.build import _Doc, fmt, read_csv
from sampling.generation import build_requests, generate_requests
from sampling.grid import grid, save_png
from sampling.runtime import load_generator

FIGURE_TAGS = [
    "blue hair red eyes",
    "blonde hair blue eyes",
    "pink hair green eyes",
    "black hair yellow eyes",
    "white hair purple eyes",
    "red hair aqua eyes",
    "green hair brown eyes",
    "orange hair pink eyes",
]
QUALITY = [
    ("acc_hair", "hair"),
    ("acc_eyes", "eyes"),
    ("face_rate", "face rate"),
    ("frechet_generated_vs_real", "Frechet"),
    ("diversity_ratio", "diversity x real"),
    ("sharpness_ratio", "sharpness x real"),
]


def by_gamma(run_dirs) -> list[tuple[float, Path]]:
    """(gamma, run) sorted by gamma; a UserError when a folder is not a run."""
    runs = []
    for run in map(Path, run_dirs):
        runs.append((TrainConfig.load(run).gamma, run))
    return sorted(runs, key=lambda item: item[0])


def gamma_figure(run_dirs, out_png: Path, *, tags: list[str] = FIGURE_TAGS, seed: int = 0) -> Path:
    """One row of faces per run, ordered by gamma, with the same z and tags in every row."""
    cells, labels = [], []
    for gamma, run in by_gamma(run_dirs):
        generator = load_generator(run)
        requests = build_requests(list(enumerate(tags)), generator.vocab, 1, seed)
        cells += [faces[0] for faces in generate_requests(generator, requests, seed)]
        labels.append(f"gamma {gamma:g}")
    image = grid(np.stack(cells), len(tags), labels=labels, col_labels=tags)
    return save_png(out_png, image)


def sweep_rows(run_dirs) -> list[dict]:
    """Per run: gamma, the equilibrium figures and the export's quality figures (when scored)."""
    table = []
    for gamma, run in by_gamma(run_dirs):
        row = {"run": run.name, "gamma": gamma} | balance(read_csv(run / "metrics.csv"), gamma)
        scored = run / "export" / "metrics.json"
        quality = json.loads(scored.read_text()) if scored.exists() else {}
        row |= {name: quality.get(name) for name, _ in QUALITY}
        table.append(row)
    return table


def build_sweep_report(run_dirs, out: Path) -> Path:
    """out/report.html + report.md + gamma_rows.png for runs that differ in gamma."""
    if len(run_dirs) < 2:
        raise UserError("a sweep page needs at least two runs")
    out.mkdir(parents=True, exist_ok=True)
    title = "BEGAN gamma sweep"
    doc = _Doc(title)
    doc.section("One row per gamma (same z and tags)")
    gamma_figure(run_dirs, out / "gamma_rows.png")
    doc.image("gamma_rows.png", "faces per gamma, same noise and tags in every row")
    doc.section("Equilibrium and quality")
    doc.text(
        "k_t inside (0, 1): share of logged steps after the first 10 % with 0 < k_t < 1; L(G)/L(x): mean "
        "over the second half of training (BEGAN holds it near gamma). Quality from each export's "
        "metrics.json; diversity and sharpness are relative to real held-out faces."
    )
    headers = ["run", "gamma", "k_t inside (0,1)", "L(G)/L(x)", "lr changes"] + [
        label for _, label in QUALITY
    ]
    rows = [
        [r["run"], fmt(r["gamma"]), fmt(r["k_inside"]), fmt(r["ratio"]), r["lr_changes"]]
        + [fmt(r[name]) for name, _ in QUALITY]
        for r in sweep_rows(run_dirs)
    ]
    doc.table(headers, rows)
    return doc.write(out, title)
