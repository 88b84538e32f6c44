"""The coursework report of a run, built offline from the run's plain files.

    python -m report RUN_DIR

writes RUN_DIR/report/report.html and report.md with every image beside them:
settings (config.json), training curves (metrics.csv), the epoch timeline of
the fixed-noise grids, the real-image filter per epoch with its contact
sheets, quality metrics over time (eval.csv) and the final graded grid.
Every number shown is read from those files.
"""
from __future__ import annotations

import csv
import html
import json
import shutil
from pathlib import Path

CURVES = [("loss_real", "L(x)"), ("loss_fake", "L(G(z))"), ("k", "k_t"), ("M", "convergence M"),
          ("lr", "learning rate")]


class ReportError(ValueError):
    """The folder is not a run directory the report can be built from."""


def _read_csv(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as fh:
        return [r for r in csv.DictReader(fh) if None not in r.values()]


def _floats(rows, key):
    out = []
    for r in rows:
        try:
            out.append(float(r[key]))
        except (KeyError, ValueError, TypeError):
            out.append(float("nan"))
    return out


def plot_curves(rows: list[dict], out: Path) -> list[tuple[str, str]]:
    """One small PNG per curve; returns (title, file name)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = _floats(rows, "step")
    made = []
    for key, title in CURVES:
        values = _floats(rows, key)
        fig, ax = plt.subplots(figsize=(5, 2.6), dpi=90)
        ax.plot(steps, values, lw=1)
        ax.set_xlabel("step")
        ax.set_title(title)
        if key == "lr":
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        name = f"curve_{key}.png"
        fig.savefig(out / name)
        plt.close(fig)
        made.append((title, name))
    return made


def _fmt(value) -> str:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{f:.4g}"


def _table(headers: list[str], rows: list[list]) -> tuple[str, str]:
    """(markdown, html) of a table."""
    md = "| " + " | ".join(headers) + " |\n|" + "---|" * len(headers) + "\n"
    md += "".join("| " + " | ".join(str(c) for c in r) + " |\n" for r in rows)
    h = "<table><tr>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in headers) + "</tr>"
    h += "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return md, h + "</table>"


def build_report(run_dir: str | Path) -> Path:
    run = Path(run_dir)
    config_path = run / "config.json"
    if not config_path.exists():
        raise ReportError(f"{run} is not a run directory (no config.json)")
    config = json.loads(config_path.read_text())
    out = run / "report"
    out.mkdir(exist_ok=True)
    metrics = _read_csv(run / "metrics.csv")
    md, body = [f"# Conditional BEGAN run `{run.name}`\n"], [f"<h1>Conditional BEGAN run {html.escape(run.name)}</h1>"]

    def section(title):
        md.append(f"\n## {title}\n")
        body.append(f"<h2>{html.escape(title)}</h2>")

    def image(src, alt):
        md.append(f"![{alt}]({src})\n")
        body.append(f'<figure><img src="{html.escape(src)}" alt="{html.escape(alt)}">'
                    f"<figcaption>{html.escape(alt)}</figcaption></figure>")

    def table(headers, rows):
        m, h = _table(headers, rows)
        md.append(m)
        body.append(h)

    section("Settings")
    table(["setting", "value"], [[k, config[k]] for k in sorted(config) if k != "extra"])

    section("Training")
    if metrics:
        last = metrics[-1]
        table(["step", "epoch", "L(x)", "L(G(z))", "k_t", "M", "lr", "images/s"],
              [[last["step"], last["epoch"], _fmt(last["loss_real"]), _fmt(last["loss_fake"]), _fmt(last["k"]),
                _fmt(last["M"]), _fmt(last["lr"]), _fmt(last["images_per_s"])]])
        for title, name in plot_curves(metrics, out):
            image(name, title)
    else:
        md.append("No metrics.csv rows yet.\n")
        body.append("<p>No metrics.csv rows yet.</p>")

    section("Epoch timeline (fixed noise, fixed tags)")
    grids = sorted((run / "samples").glob("epoch_*.png"))
    tags_file = run / "samples" / "fixed_tags.txt"
    if tags_file.exists():
        rows_text = tags_file.read_text().splitlines()
        md.append("Rows: " + "; ".join(rows_text) + "\n")
        body.append("<p>Rows: " + html.escape("; ".join(rows_text)) + "</p>")
    (out / "timeline").mkdir(exist_ok=True)
    pick = grids if len(grids) <= 12 else [grids[int(i * (len(grids) - 1) / 11)] for i in range(12)]
    for g in pick:
        shutil.copyfile(g, out / "timeline" / g.name)
        image(f"timeline/{g.name}", f"epoch {int(g.stem.split('_')[1])}")

    section("Real-image filter")
    summary = _read_csv(run / "filtered" / "summary.csv")
    if summary:
        table(["epoch", "threshold", "filtered", "seen"],
              [[r["epoch"], _fmt(r["threshold"]), r["filtered"], r["seen"]] for r in summary])
        (out / "filtered").mkdir(exist_ok=True)
        for r in summary:
            sheet = run / "filtered" / f"epoch_{int(r['epoch']):03d}.png"
            if sheet.exists() and int(r["filtered"]) > 0:
                shutil.copyfile(sheet, out / "filtered" / sheet.name)
                image(f"filtered/{sheet.name}", f"left out in epoch {r['epoch']}")
    else:
        md.append("Nothing filtered yet (the filter starts in epoch 2).\n")
        body.append("<p>Nothing filtered yet (the filter starts in epoch 2).</p>")

    section("Quality metrics")
    evals = _read_csv(run / "eval.csv") or _read_csv(run / "export" / "eval.csv")
    if evals:
        keys = [k for k in evals[0] if k not in ("n_samples", "n_combos", "real_images")]
        table(keys, [[_fmt(r[k]) for k in keys] for r in evals])
    else:
        md.append("No eval.csv (run python -m report.metrics RUN --images ... --tags-csv ...).\n")
        body.append("<p>No eval.csv (run python -m report.metrics).</p>")
    graded = run / "graded.png"
    if graded.exists():
        section("Graded grid")
        shutil.copyfile(graded, out / "graded.png")
        image("graded.png", "green/red border per group: the checker agrees / disagrees with the tags")

    (out / "report.md").write_text("".join(md))
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>" + html.escape(run.name)
            + "</title><style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
              "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}"
              "figure{display:inline-block;margin:4px}img{image-rendering:pixelated}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")
    (out / "report.html").write_text(page)
    return out / "report.html"
