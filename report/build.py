"""The coursework report of a run, built offline from the run's plain files.

    python -m report RUN_DIR

writes RUN_DIR/report/report.html and report.md with every image beside them:
settings (config.json), training curves and a per-epoch table (metrics.csv),
the epoch timeline of the fixed-noise grids and its animation (samples/), the
real-image filter per epoch with its contact sheets (filtered/), quality metrics
over time (eval.csv), which other tags the data supports (tag_support.json), the
near copies of training images (copies.json) and the final graded grid (when a
tag checker is found beside the model). Every number shown is read from those
files (the graded grid's accuracy is measured while building and saved as
report/graded.json).
"""

from __future__ import annotations

import csv
import html
import json
import shutil
from pathlib import Path

from checker.checker import MIN_ACCURACY, find_checker_dir, load_checker, missing_checker_hint
from common import jsonio
from common.cli import UserError
from common.files import atomic_write
from evaluate.baseline import sheet_baseline
from evaluate.tag_support import COLUMNS, support_lines
from evaluate.tag_support_record import SUPPORT_NAME, figures_from_record
from model.config import TrainConfig
from report.plots import plot_curves, plot_eval
from sampling.generation import build_requests
from sampling.grid import save_png
from sampling.runtime import ModelError, load_generator
from sampling.sheet import draw_sheet

MARKED_GRID_COLUMNS = 8


def read_csv(path: Path) -> list[dict]:
    """The data rows of a log CSV (see read_log)."""
    return read_log(path)[0]


def read_log(path: Path) -> tuple[list[dict], int]:
    """(data rows, how many lines were not data rows) of a log CSV (metrics.csv, eval.csv,
    filtered/summary.csv): a data row is complete (a crash can leave a cut last line) and
    starts with a number (its step or epoch), so a header repeated by concatenating two
    runs' logs, or any other stray line, is counted, not shown as a training row."""
    if not path.exists():
        return [], 0
    rows, skipped = [], 0
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        for r in reader:
            first = r.get(reader.fieldnames[0]) if reader.fieldnames else None
            if None in r.values() or None in r or not _is_number(first):
                skipped += 1
            else:
                rows.append(r)
    return rows, skipped


def _is_number(text) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def fmt(value) -> str:
    """Numbers to 4 significant digits, anything else as is."""
    if value is None or value == "":
        return ""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    if f.is_integer() and abs(f) < 1e15 and "." not in str(value) and "e" not in str(value).lower():
        return str(int(f))
    return f"{f:.4g}"


def _percent(share: float) -> str:
    """A share in [0, 1] as people write it: 0.9712 -> '97.1 %', 1.0 -> '100 %' (not '1', which reads as a
    count)."""
    return "n/a" if share != share else f"{fmt(round(100 * share, 1))} %"


class _Doc:
    """The same content written twice: Markdown and HTML."""

    def __init__(self, title: str):
        self.md = [f"# {title}\n"]
        self.html = [f"<h1>{html.escape(title)}</h1>"]

    def section(self, title: str) -> None:
        self.md.append(f"\n## {title}\n\n")
        self.html.append(f"<h2>{html.escape(title)}</h2>")

    def text(self, text: str) -> None:
        self.md.append(text + "\n\n")
        self.html.append(f"<p>{html.escape(text)}</p>")

    def image(self, src: str, caption: str, *, titled: bool = False) -> None:
        """`titled`: the picture carries its own title (a plot): the caption is only its alt text,
        so each figure has one title."""
        self.md.append(f"![{caption}]({src})\n\n")
        shown = "" if titled else f"<figcaption>{html.escape(caption)}</figcaption>"
        self.html.append(
            f'<figure><img src="{html.escape(src)}" alt="{html.escape(caption)}">{shown}</figure>'
        )

    def collapsed_table(
        self,
        title: str,
        headers: list[str],
        rows: list[list],
        summary: str | None = None,
        *,
        section: bool = True,
    ) -> None:
        """A table folded away in the HTML (<details>), e.g. the settings, or the bookkeeping
        columns of a table (`section=False`: under the current section, not a section of its own)."""
        self.md.append(f"\n## {title}\n\n" if section else f"{title}:\n\n")
        self.table(headers, rows)
        table = self.html.pop()
        summary = summary or f"{len(rows)} settings (config.json): show"
        head = f"<h2>{html.escape(title)}</h2>" if section else ""
        self.html.append(f"{head}<details><summary>{html.escape(summary)}</summary>{table}</details>")

    def table(self, headers: list[str], rows: list[list], html_cells: list[list] | None = None) -> None:
        """`html_cells` may replace cells with ready HTML (images, links); the Markdown gets `rows`."""
        self.md.append("| " + " | ".join(headers) + " |\n|" + "---|" * len(headers) + "\n")
        self.md.extend("| " + " | ".join(str(c) for c in r) + " |\n" for r in rows)
        self.md.append("\n")
        cells = html_cells or [[html.escape(str(c)) for c in r] for r in rows]
        self.html.append(
            "<div class='scroll'><table><tr>"
            + "".join(f"<th>{html.escape(h)}</th>" for h in headers)
            + "</tr>"
            + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in cells)
            + "</table></div>"
        )

    def write(self, out: Path, title: str) -> Path:
        (out / "report.md").write_text("".join(self.md))
        page = (
            "<!doctype html><html><head><meta charset='utf-8'><title>" + html.escape(title) + "</title>"
            "<style>body{font-family:sans-serif;max-width:1140px;margin:2em auto;padding:0 1em}"
            "table{border-collapse:collapse;margin:0.5em 0;font-size:0.85em}"
            "td,th{border:1px solid #ccc;padding:2px 5px;text-align:right}"
            # a long column name (kid_generated_vs_real_std) breaks anywhere rather than widen its table
            "th{white-space:normal;max-width:8em;vertical-align:bottom;overflow-wrap:anywhere}"
            ".scroll{max-width:100%;overflow-x:auto}"
            "details summary{cursor:pointer;color:#036}"
            "figure{display:inline-block;margin:4px;vertical-align:top}img{max-width:100%}"
            "figcaption{font-size:small}img{image-rendering:pixelated}</style></head><body>\n"
            + "\n".join(self.html)
            + "\n</body></html>\n"
        )
        (out / "report.html").write_text(page)
        return out / "report.html"


def _copy(src: Path, out: Path, rel: str) -> str:
    (out / rel).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, out / rel)
    return rel


def _epoch_rows(metrics: list[dict]) -> list[dict]:
    """The last metrics.csv row of every epoch."""
    last: dict[str, dict] = {}
    for r in metrics:
        last[r.get("epoch", "")] = r
    return list(last.values())


TRAIN_COLUMNS = [
    ("step", "step"),
    ("epoch", "epoch"),
    ("loss_real", "L(x)"),
    ("loss_fake", "L(G(z))"),
    ("loss_wrong", "L(wrong)"),
    ("k", "k_t"),
    ("M", "M"),
    ("lr", "lr"),
    ("filtered", "filtered in epoch"),
    ("images_per_s", "images/s"),
]


def _training(doc: _Doc, run_dir: Path, out: Path) -> None:
    doc.section("Training")
    metrics, not_data = read_log(run_dir / "metrics.csv")
    if not_data:
        doc.text(
            f"{not_data} {'line' if not_data == 1 else 'lines'} of metrics.csv "
            f"{'is' if not_data == 1 else 'are'} "
            "not data rows (a repeated header, say, from joining two logs) and "
            f"{'is' if not_data == 1 else 'are'} left out."
        )
    if not metrics:
        doc.text("No metrics.csv rows yet.")
        return
    columns = [(k, title) for k, title in TRAIN_COLUMNS if k in metrics[0]]
    # "filtered" is the epoch's total (filtered/summary.csv, the filter table's count), not the
    # count of the one step metrics.csv logged last
    per_epoch = {r["epoch"]: r["filtered"] for r in read_csv(run_dir / "filtered" / "summary.csv")}
    doc.text(
        "Last logged row of every epoch (metrics.csv); the final row is the last line. "
        '"filtered in epoch": real images the filter left out in the whole epoch (filtered/summary.csv).'
    )
    rows = []
    for r in _epoch_rows(metrics):
        row = dict(r, filtered=per_epoch.get(r.get("epoch", ""), "0"))
        rows.append([fmt(row[k]) for k, _ in columns])
    doc.table([t for _, t in columns], rows)
    for title, name in plot_curves(metrics, out):
        doc.image(name, title, titled=True)


def _timeline(doc: _Doc, run_dir: Path, out: Path) -> None:
    doc.section("Epoch timeline (fixed noise, fixed tags)")
    grids = sorted((run_dir / "samples").glob("epoch_*.png"))
    unit = "epoch"
    steps = sorted((run_dir / "samples").glob("step_*.png"))
    if len(grids) < 4 and len(steps) > len(grids):  # a short run: the --sample-every grids show more
        grids, unit = steps, "step"
        doc.text("Fewer than 4 epochs so far: the grids written every --sample-every steps instead.")
    if not grids:
        doc.text("No sample grids yet (samples/epoch_NNN.png is written at the end of every epoch).")
        return
    tags_file = run_dir / "samples" / "fixed_tags.txt"
    if tags_file.exists():
        doc.text("Rows, top to bottom: " + "; ".join(tags_file.read_text().splitlines()))
    animation = run_dir / "samples" / "timeline.gif"
    if animation.exists():
        doc.image(
            _copy(animation, out, "timeline/timeline.gif"),
            "every epoch's grid as one animation "
            "(samples/timeline.gif; a long run's epochs spread evenly, a wide grid shrunk)",
        )
    pick = grids if len(grids) <= 12 else [grids[round(i * (len(grids) - 1) / 11)] for i in range(12)]
    rows, cells = [], []
    for g in pick:
        rel = _copy(g, out, f"timeline/{g.name}")
        label = g.stem.split("_", 1)[1].lstrip("0") or "0"
        rows.append([label, f"![{unit} {label}]({rel})"])
        cells.append(
            [html.escape(label), f'<img src="{html.escape(rel)}" alt="{unit} {html.escape(label)}">']
        )
    doc.table([unit, "samples"], rows, cells)


def _filter(doc: _Doc, run_dir: Path, out: Path) -> None:
    doc.section("Real-image filter")
    summary = read_csv(run_dir / "filtered" / "summary.csv")
    if not summary:
        doc.text("Nothing filtered yet (the filter starts in epoch 2).")
        return
    doc.text(
        "Real images whose reconstruction loss was above the threshold (previous epoch's mean "
        "+ k standard deviations) were left out of training (filtered/summary.csv)."
    )
    rows, cells = [], []
    for r in summary:
        epoch = int(r["epoch"])
        listing = run_dir / "filtered" / f"epoch_{epoch:03d}.csv"
        link = _copy(listing, out, f"filtered/{listing.name}") if listing.exists() else ""
        row = [r["epoch"], fmt(r["threshold"]), r["filtered"], r["seen"]]
        rows.append(row + [f"[{listing.name}]({link})" if link else ""])
        cells.append(
            [html.escape(c) for c in row]
            + [f'<a href="{html.escape(link)}">{html.escape(listing.name)}</a>' if link else ""]
        )
    doc.table(["epoch", "threshold", "filtered", "seen", "list"], rows, cells)
    for r in summary:
        sheet = run_dir / "filtered" / f"epoch_{int(r['epoch']):03d}.png"
        if sheet.exists():
            doc.image(_copy(sheet, out, f"filtered/{sheet.name}"), f"left out in epoch {r['epoch']}")


# eval.csv's figures the quality table shows, with their headers; its other columns (sample counts,
# CPU time, sampling options) go to a folded details table, so that the table fits the page
QUALITY_COLUMNS = {
    "face_rate": "face rate",
    "baseline_faces": "5x5 grid faces",
    "acc_hair": "hair",
    "acc_eyes": "eyes",
    "diversity_ratio": "diversity / real",
    "frechet_generated_vs_real": "Frechet",
    "frechet_real_vs_real": "Frechet real vs real",
    "kid_generated_vs_real": "KID",
    "kid_generated_vs_real_std": "KID std",
    "kid_real_vs_real": "KID real vs real",
    "sharpness_ratio": "sharpness / real",
}


def _quality(doc: _Doc, run_dir: Path, out: Path) -> None:
    doc.section("Quality metrics")
    source = run_dir / "eval.csv" if (run_dir / "eval.csv").exists() else run_dir / "export" / "eval.csv"
    evals = read_csv(source)
    if not evals:
        doc.text(
            "No eval.csv yet: python -m evaluate.metrics RUN --images DIR --tags-csv CSV "
            "(or train with --eval-every N --checker DIR)."
        )
        return
    keys = list(evals[0])
    said = {
        "kid_generated_vs_real": "; KID, the unbiased kernel distance in the same features (raw, with its "
        "standard deviation over subsets; real vs real is about 0 at any sample size, where Frechet's floor "
        "grows as the sample shrinks)",
        "sharpness_ratio": "; sharpness, the high-frequency energy of generated faces over that of real "
        "held-out faces",
    }
    doc.text(
        "From eval.csv: tag accuracy per group over every hair x eye combination of the training data; "
        "within-tag diversity in the checker's feature space (generated vs real held-out images of the "
        "same tags); Frechet distance to held-out real images (generated vs real-vs-real)"
        + "".join(text for column, text in said.items() if column in keys)
        + ". A cell is empty where an evaluation was made before its figure existed."
    )
    shown = ["step"] + [k for k in QUALITY_COLUMNS if k in keys]
    details = ["step"] + [k for k in keys if k not in shown]
    doc.table([QUALITY_COLUMNS.get(k, k) for k in shown], [[fmt(r[k]) for k in shown] for r in evals])
    if len(details) > 1:  # sample counts and CPU time: how the figures were made, not the figures
        doc.collapsed_table(
            "Details of each evaluation",
            details,
            [[fmt(r[k]) for k in details] for r in evals],
            f"details ({', '.join(details[1:])}): show",
            section=False,
        )
    for title, name in plot_eval(evals, out):  # (none for a single evaluation: the table has it)
        doc.image(name, title, titled=True)


def _tag_support(doc: _Doc, run_dir: Path) -> None:
    """Which other tags the data supports (RUN/tag_support.json, written at the end of a run with other
    tags and a checker that reads them); no section without the file."""
    path = run_dir / SUPPORT_NAME
    if not path.exists():
        return
    doc.section("Which tags the data supports")
    try:
        record = jsonio.loads_strict(path.read_text())
        figures = figures_from_record(record)
        read_at, bar = fmt(record["read_at"]), fmt(record["supported_auc"])
        faces = {f.n_generated for f in figures.values()}
    except (ValueError, KeyError, TypeError, AttributeError):
        doc.text(f"{SUPPORT_NAME} is damaged; it is written again when the run trains to its end.")
        return
    doc.text(
        f"At step {fmt(record.get('step', ''))}, the tag checker ({record.get('checker', '')}) read "
        f"each other tag (probability > {read_at}) on {'/'.join(fmt(n) for n in sorted(faces))} faces "
        "drawn with it asked and on the same faces (same noise, same colours) drawn without it, and on "
        "the real held-out faces that have it and that do not. Its ROC AUC on those real faces says "
        f"whether the images show the tag at all: about 0.5 for a tag they do not show; below {bar} the "
        "tag is not supported, and asking for it may do nothing."
    )
    doc.table(
        [
            "tag",
            "read: asked",
            "read: not asked",
            "read: real faces with it",
            "read: real faces without",
            "AUC (real held-out)",
            "supported",
            "faces: drawn / real with / real without",
        ],
        [
            [
                tag,
                *(_figure(getattr(f, name)) for name in COLUMNS),
                {True: "yes", False: "no", None: "n/a"}[f.supported],
                f"{f.n_generated} / {f.n_real_with} / {f.n_real_without}",
            ]
            for tag, f in figures.items()
        ],
    )
    for line in support_lines(figures):
        doc.text(line)


def _figure(x: float) -> str:
    """A figure that may be missing (NaN: not measured) as the report writes it."""
    return "n/a" if x != x else fmt(x)


def _copies(doc: _Doc, run_dir: Path, out: Path) -> None:
    """How close the final model's faces come to its training images (RUN/copies.json)."""
    doc.section("Near copies")
    path = run_dir / "copies.json"
    if not path.exists():
        doc.text("No copies.json: it is written when a training run reaches its last step.")
        return
    try:
        r = jsonio.loads_strict(path.read_text())
        figures = [
            [name, "n/a (no held-out faces)" if r[key] is None else fmt(r[key])] for key, name in COPIES_ROWS
        ]
        share = _percent(r["near_copy_fraction"] if r["near_copy_fraction"] is not None else float("nan"))
        said = (
            f"At step {fmt(r.get('step', ''))}, {fmt(r['generated'])} generated faces were compared with "
            f"the {fmt(r['training_images'])} training images and their mirror images ({r['distance']}). "
            f"A face within {fmt(r['near_copy_at'])} of one is a near copy (the data pipeline's test of "
            f"the same picture): {fmt(r['near_copies'])} of {fmt(r['generated'])} ({share}). Real "
            "held-out faces, which have no twin in training, show what a face that is not a copy scores."
        )
    except (ValueError, KeyError, TypeError):
        doc.text(f"{path.name} is damaged; it is written again when the run trains to its end.")
        return
    doc.text(said)
    doc.table(["figure", "value"], figures)
    picture = run_dir / "copies.png"
    if picture.exists():
        doc.image(
            _copy(picture, out, "copies.png"),
            "the generated faces closest to a training image (top), "
            "each above its nearest training image (flipped when its mirror was nearer: (m)), "
            "headed by the distance",
        )


COPIES_ROWS = [
    ("median_nearest_generated", "generated faces: median distance to the nearest training image"),
    ("median_nearest_heldout", "held-out real faces: the same median (the reference)"),
    ("near_copies", "generated near copies"),
    ("near_copies_mirrored", "of which copies of a mirror image"),
    ("heldout_near_copies", "held-out real faces within the twin distance"),
    ("heldout_faces", "held-out real faces measured"),
]


def _equilibrium(doc: _Doc, run_dir: Path, config: TrainConfig) -> None:
    """Whether BEGAN's control acted: k_t's band, L(G(z))/L(x) against gamma, M against quality."""
    from evaluate.equilibrium import BURN_IN, K_BAND_TARGET, RATIO_TOLERANCE, balance, m_tracks_quality

    metrics = read_csv(run_dir / "metrics.csv")
    if not metrics:
        return
    doc.section("BEGAN equilibrium")
    b = balance(metrics, config.gamma)
    q = m_tracks_quality(metrics, read_csv(run_dir / "eval.csv"), config.lr_window)
    doc.text(
        f"k_t was strictly inside (0, 1) in {_percent(b['k_inside'])} of the logged steps after the first "
        f"{_percent(BURN_IN)} (the balance acts when this is near 100 %). Over the second half, L(G(z))/L(x) "
        f"averaged {fmt(b['ratio'])} against gamma = {fmt(config.gamma)}: the equilibrium "
        f"{'holds' if b['holds'] else 'does not hold'} (k_t inside in at least {_percent(K_BAND_TARGET)} of "
        f"steps, ratio within gamma +- {fmt(RATIO_TOLERANCE)}). The learning rate moved {b['lr_changes']} "
        "times. Spearman rank correlation of the "
        f"windowed mean M with the Frechet distance over {q['evaluations']} evaluations: "
        f"{fmt(q['spearman'])} "
        "(positive: M falls as the faces improve)."
    )


def find_checker(run_dir: Path, config: TrainConfig) -> Path | None:
    found = find_checker_dir(run_dir)
    if found is None and config.checker:
        found = find_checker_dir(config.checker)
    return found


def write_marked_grid(run_dir: Path, checker_dir: Path, out: Path, *, seed: int = 0) -> dict:
    """Generate the fixed tags (samples/fixed_tags.txt, else the first training
    combinations) with the final model, mark every cell's tags right or wrong
    with the checker, save graded.png and graded.json."""
    generator = load_generator(run_dir)
    checker = load_checker(checker_dir)
    tags_file = run_dir / "samples" / "fixed_tags.txt"
    texts = tags_file.read_text().splitlines() if tags_file.exists() else []
    if not texts:
        texts = [generator.vocab.text(c["tags"]) for c in generator.vocab.combos[:8]]
    requests = build_requests(
        [(str(i), t) for i, t in enumerate(texts)], generator.vocab, MARKED_GRID_COLUMNS, seed
    )
    sheet = draw_sheet(generator, requests, cols=MARKED_GRID_COLUMNS, seed=seed, checker=checker, labels=True)
    save_png(out / "graded.png", sheet.image)
    result = {
        "seed": seed,
        "cells": len(sheet.cells),
        "accuracy": sheet.accuracy,
        "groups": list(checker.groups),
        "rows": texts,
        "checker": str(checker_dir),
        "checker_heldout_accuracy": checker.heldout_accuracy,
        "marks": sheet.marks,
    }
    atomic_write(out / "graded.json", jsonio.dumps(result, indent=1) + "\n")
    return result


def _marked_grid_section(doc: _Doc, run_dir: Path, out: Path, config: TrainConfig, check_tags: bool) -> None:
    doc.section("Graded grid")
    checker_dir = find_checker(run_dir, config) if check_tags else None
    if checker_dir is None:
        doc.text(
            "No tag checker beside the model (checker.json in the run, its export/ or checker/); "
            f"{missing_checker_hint(run_dir)}."
        )
        return
    try:
        result = write_marked_grid(run_dir, checker_dir, out)
    except (ModelError, ValueError) as exc:
        doc.text(f"Could not grade the final model: {exc}")
        return
    held = result["checker_heldout_accuracy"]
    doc.text(
        f"Final model, {result['cells']} cells (seed {result['seed']}); one border ring per group, outermost "
        f"= {result['groups'][0]}: green = the checker reads the requested value, red = it does not."
    )
    doc.table(
        ["group", "tag accuracy", "checker held-out accuracy", "trusted"],
        [
            [g, fmt(a), fmt(held.get(g, "")), "yes" if held.get(g, 0.0) >= MIN_ACCURACY.get(g, 0.0) else "no"]
            for g, a in result["accuracy"].items()
        ],
    )
    doc.image("graded.png", "graded grid (rows: the fixed tags)")


COURSE_TAGS = Path(__file__).resolve().parents[1] / "testing_tags.txt"


def write_baseline_grid(run_dir: Path, out: Path, *, seed: int = 0) -> dict:
    """The 2018 course's baseline on the final model: one face for each of 25 tag
    texts (testing_tags.txt when the model knows its tags, else the first 25
    training combinations) in a plain 5x5 grid, faces counted by the course's
    detector; baseline.png and baseline.json."""
    from tags import TagError

    generator = load_generator(run_dir)
    items = [tuple(line.split(",", 1)) for line in COURSE_TAGS.read_text().splitlines() if "," in line]
    try:
        requests = build_requests(items[:25], generator.vocab, 1, seed)
        source = COURSE_TAGS.name
    except TagError:
        combos = generator.vocab.combos[:25]
        requests = build_requests(
            [(str(i), generator.vocab.text(c["tags"])) for i, c in enumerate(combos)],
            generator.vocab,
            1,
            seed,
        )
        source = "the first training combinations"
    sheet = draw_sheet(generator, requests, cols=5, seed=seed, one_cell_per_request=True)
    save_png(out / "baseline.png", sheet.image)  # the plain grid the baseline grades
    baseline = sheet_baseline(sheet)
    summary = {
        "seed": seed,
        "tags": source,
        "cells": len(sheet.cells),
        "faces": baseline.faces,
        "passed": baseline.passed,
    }
    atomic_write(out / "baseline.json", jsonio.dumps(summary, indent=1) + "\n")
    return summary


def _baseline_section(doc: _Doc, run_dir: Path, out: Path) -> None:
    doc.section("Course baseline")
    try:
        result = write_baseline_grid(run_dir, out)
    except (ModelError, ValueError) as exc:
        doc.text(f"Could not draw the baseline grid: {exc}")
        return
    verdict = "Pass" if result["passed"] else "Fail"
    doc.text(
        f"The 2018 course's grading baseline: the anime-face detector (lbpcascade_animeface, "
        f"equalizeHist, scaleFactor 1.1, minNeighbors 5, minSize 24) on a 5x5 grid of the final "
        f"model, one face per tag text of {result['tags']} (seed {result['seed']}): "
        f"{result['faces']} faces of {result['cells']} ({verdict}; the course passed a grid at 20)."
    )
    doc.image("baseline.png", f"baseline grid: {result['faces']} faces ({verdict})")


MANIFEST = ".report-manifest.json"


class ReportError(UserError):
    """A report folder this tool may not rebuild."""


def _snapshot(out: Path) -> dict[str, tuple[int, int, int]]:
    """Every file under `out` (relative path -> inode, size, mtime)."""
    found = {}
    for p in out.rglob("*"):
        if p.is_file() and not p.is_symlink():
            st = p.stat()
            found[p.relative_to(out).as_posix()] = (st.st_ino, st.st_size, st.st_mtime_ns)
    return found


def _clear_previous_build(out: Path) -> dict[str, tuple[int, int, int]]:
    """Remove the files an earlier build wrote (listed in the manifest) and
    nothing else; a folder with files but no manifest was not written by this
    tool and is refused. Returns a snapshot of what is left (the user's files)."""
    manifest = out / MANIFEST
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise ReportError(f"{out} is not a folder; move it away to build the report")
    if out.is_dir() and not manifest.exists():
        if any(out.iterdir()):
            raise ReportError(
                f"{out} holds files python -m report did not write (no {MANIFEST}); "
                f"move them away or choose another run"
            )
    if manifest.exists():
        try:
            listed = json.loads(manifest.read_text())["files"]
            assert isinstance(listed, list) and all(isinstance(f, str) for f in listed)
        except (ValueError, KeyError, TypeError, AssertionError):
            raise ReportError(f"{manifest} is damaged; move {out} away to rebuild the report") from None
        root = out.resolve()
        for rel in listed:
            target = out / rel
            if not target.resolve().is_relative_to(root) or target.is_symlink():
                continue  # never follow a manifest outside the report folder
            if target.is_file():
                target.unlink()
            parent = target.parent
            while parent != out and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
    out.mkdir(exist_ok=True)
    return _snapshot(out)


def _write_manifest(out: Path, before: dict) -> None:
    """Record every file this build created or rewrote (new, or changed since the snapshot)."""
    written = sorted(
        rel for rel, stamp in _snapshot(out).items() if rel != MANIFEST and before.get(rel) != stamp
    )
    atomic_write(out / MANIFEST, json.dumps({"files": written}, indent=1) + "\n")


def build_report(run_dir: str | Path, *, check_tags: bool = True) -> Path:
    """Write RUN/report/report.html + report.md (+ images); returns the HTML path.
    `check_tags`: add the graded grid when a tag checker is found beside the model."""
    run_dir = Path(run_dir)
    config = TrainConfig.load(run_dir)
    settings = config.to_dict()
    out = run_dir / "report"
    before = _clear_previous_build(out)
    title = f"Conditional BEGAN run {run_dir.resolve().name}"
    doc = _Doc(title)
    # results first (the final model graded, its metrics), then how training went, settings last
    _marked_grid_section(doc, run_dir, out, config, check_tags)
    _baseline_section(doc, run_dir, out)
    _quality(doc, run_dir, out)
    _tag_support(doc, run_dir)
    _copies(doc, run_dir, out)
    _equilibrium(doc, run_dir, config)
    _training(doc, run_dir, out)
    _timeline(doc, run_dir, out)
    _filter(doc, run_dir, out)
    doc.collapsed_table(
        "Settings",
        ["setting", "value"],
        [
            [k, json.dumps(settings[k]) if isinstance(settings[k], (dict, list)) else settings[k]]
            for k in sorted(settings)
        ],
    )
    try:
        return doc.write(out, title)
    finally:
        _write_manifest(out, before)
