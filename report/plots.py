"""Matplotlib PNG curves for the report: training curves from metrics.csv
and quality metrics over time from eval.csv. Agg backend (no display)."""

from __future__ import annotations

import math
from pathlib import Path

CURVES = [
    ("loss_real", "L(x)  (real reconstruction loss)"),
    ("loss_fake", "L(G(z))  (generated reconstruction loss)"),
    ("k", "k_t  (BEGAN balance)"),
    ("M", "M  (convergence measure)"),
    ("lr", "learning rate"),
]


def floats(rows: list[dict], key: str) -> list[float]:
    out = []
    for r in rows:
        try:
            out.append(float(r[key]))
        except (KeyError, ValueError, TypeError):
            out.append(float("nan"))
    return out


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 2.6), dpi=90)
    return plt, fig, ax


def _save(plt, fig, ax, path: Path) -> Path:
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_curves(rows: list[dict], out: Path) -> list[tuple[str, str]]:
    """One PNG per training curve (curve_<column>.png) vs step; returns (title, file name)."""
    steps = floats(rows, "step")
    made = []
    for key, title in CURVES:
        values = floats(rows, key)
        if sum(1 for s, v in zip(steps, values) if not (math.isnan(s) or math.isnan(v))) < 2:
            continue  # one point is no curve (the tables show it)
        plt, fig, ax = _figure()
        ax.plot(steps, values, lw=1)
        if key != "lr":
            ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 4), useOffset=False)
        ax.set_xlabel("step")
        ax.set_title(title, fontsize=10)
        if key == "lr" and all(v > 0 for v in values if not math.isnan(v)) and any(v > 0 for v in values):
            ax.set_yscale("log")
        _save(plt, fig, ax, out / f"curve_{key}.png")
        made.append((title, f"curve_{key}.png"))
    return made


def _eval_x(rows: list[dict]) -> tuple[list[float], str]:
    steps = floats(rows, "step")
    if rows and not any(math.isnan(s) for s in steps):
        return steps, "step"
    return list(range(1, len(rows) + 1)), "evaluation"


def plot_eval(rows: list[dict], out: Path) -> list[tuple[str, str]]:
    """Tag accuracy, diversity (generated vs real), Frechet distance and KID (generated vs real-vs-real,
    KID with its spread over subsets as a band) and sharpness over the evaluations of eval.csv; a panel
    whose columns an older eval.csv lacks is left out."""
    if len(rows) < 2:
        return []  # a single evaluation is no curve: its table row says it all
    x, xlabel = _eval_x(rows)
    panels = [
        (
            "eval_accuracy.png",
            "tag accuracy per group",
            [(k, k[4:]) for k in rows[0] if k.startswith("acc_")],
        ),
        (
            "eval_diversity.png",
            "within-tag diversity (checker features)",
            [("diversity_generated", "generated"), ("diversity_real", "real held-out")],
        ),
        (
            "eval_frechet.png",
            "Frechet distance (checker features)",
            [("frechet_generated_vs_real", "generated vs real"), ("frechet_real_vs_real", "real vs real")],
        ),
        (
            "eval_kid.png",
            "KID (checker features; band: std over subsets)",
            [("kid_generated_vs_real", "generated vs real"), ("kid_real_vs_real", "real vs real")],
        ),
        (
            "eval_sharpness.png",
            "sharpness: high-frequency energy, generated / real",
            [("sharpness_ratio", "generated / real held-out")],
        ),
    ]
    made = []
    for name, title, series in panels:
        series = [(k, label) for k, label in series if k in rows[0]]
        if not series:
            continue
        plt, fig, ax = _figure()
        for key, label in series:
            values = floats(rows, key)
            line = ax.plot(x, values, marker="o", ms=3, lw=1, label=label)[0]
            if f"{key}_std" in rows[0]:  # KID's spread over subsets
                spread = floats(rows, f"{key}_std")
                low, high = ([v + sign * d for v, d in zip(values, spread)] for sign in (-1, 1))
                ax.fill_between(x, low, high, color=line.get_color(), alpha=0.2, lw=0)
        ax.set_xlabel(xlabel)
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
        _save(plt, fig, ax, out / name)
        made.append((title, name))
    return made
