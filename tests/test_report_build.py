"""The coursework report from a small fabricated run directory (no training
needed): every linked file exists, the numbers match the run's CSV files, and
headless Chromium loads every image."""

import csv
import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from model.config import TrainConfig
from tests.conftest import ROOT

EPOCHS = 3


def _write_csv(path, header, rows):
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture(scope="module")
def fabricated_run(tmp_path_factory):
    from sampling.grid import grid, save_png

    run = tmp_path_factory.mktemp("report") / "run"
    (run / "samples").mkdir(parents=True)
    (run / "filtered").mkdir()
    TrainConfig(epochs=EPOCHS, image_size=32, gamma=0.4, lr=5e-5).save(run)
    rng = np.random.default_rng(0)
    rows = []
    for step in range(4, 4 * 3 * EPOCHS + 1, 4):
        epoch = (step - 1) // 12 + 1
        rows.append(
            [
                step,
                epoch,
                rng.uniform(0.05, 0.3),
                rng.uniform(0.01, 0.3),
                rng.uniform(0, 0.4),
                rng.uniform(0, 0.1),
                rng.uniform(0, 0.05),
                rng.uniform(0.05, 0.4),
                5e-5 * 0.5 ** (epoch - 1),
                int(rng.integers(0, 4)),
                rng.uniform(50, 90),
            ]
        )
    _write_csv(
        run / "metrics.csv",
        [
            "step",
            "epoch",
            "loss_real",
            "loss_fake",
            "loss_wrong",
            "loss_aux",
            "k",
            "M",
            "lr",
            "filtered",
            "images_per_s",
        ],
        rows,
    )
    for epoch in range(1, EPOCHS + 1):
        faces = rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
        save_png(run / "samples" / f"epoch_{epoch:03d}.png", grid(faces, 3))
    (run / "samples" / "fixed_tags.txt").write_text("blue hair red eyes\npink hair green eyes\n")
    _write_csv(
        run / "filtered" / "summary.csv",
        ["epoch", "threshold", "filtered", "seen"],
        [[2, 0.2345678, 3, 96], [3, 0.1987654, 0, 96]],
    )
    _write_csv(
        run / "filtered" / "epoch_002.csv",
        ["id", "path", "loss", "threshold"],
        [[i, f"images/{i}.jpg", 0.3, 0.2345678] for i in range(3)],
    )
    _write_csv(run / "filtered" / "epoch_003.csv", ["id", "path", "loss", "threshold"], [])
    save_png(
        run / "filtered" / "epoch_002.png", grid(rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8), 3)
    )
    _write_csv(
        run / "eval.csv",
        [
            "step",
            "n_samples",
            "n_combos",
            "face_rate",
            "baseline_faces",
            "acc_hair",
            "acc_eyes",
            "diversity_generated",
            "diversity_real",
            "diversity_ratio",
            "sharpness_generated",
            "sharpness_real",
            "sharpness_ratio",
            "frechet_generated_vs_real",
            "frechet_real_vs_real",
            "kid_generated_vs_real",
            "kid_generated_vs_real_std",
            "kid_real_vs_real",
            "kid_real_vs_real_std",
            "frechet_images",
            "kid_subset_size",
            "real_images",
            "cpu_seconds",
        ],  # every column evaluate.metrics writes (the table must fit)
        [
            [12, 240, 120, 0.51, 17, 0.41, 0.22, 2.5, 3.1, 0.8065, 0.004, 0.036, 0.1111]
            + [41.2, 6.5, 2.345, 0.41, -0.052, 0.33, 12, 12, 24, 1234.5],
            [36, 240, 120, 0.92, 24, 0.83, 0.61, 2.9, 3.1, 0.9355, 0.012, 0.036, 0.3333]
            + [18.7, 6.5, 0.678, 0.29, -0.052, 0.33, 12, 12, 24, 3456.7],
        ],
    )
    return run


@pytest.fixture(scope="module")
def report(fabricated_run):
    from report.build import build_report

    html_path = build_report(fabricated_run)
    return fabricated_run, html_path, html_path.read_text(), (html_path.parent / "report.md").read_text()


def _md_rows(md, first_header):
    """Rows (lists of cells) of the Markdown table whose first header is `first_header`."""
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    out = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        out.append([c.strip() for c in line.strip().strip("|").split("|")])
    return lines[start], out


def _chromium_title(html_path, html, tmp_path, flags, on_load_js):
    """The report with `on_load_js` run on load, rendered by headless Chromium: its DOM (the script
    writes its answer into the title). Skips where Chromium is absent."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run installs it)")
    probe = html_path.parent / "probe.html"
    probe.write_text(
        html.replace(
            "</body>", "<script>window.addEventListener('load', () => {" + on_load_js + "});</script></body>"
        )
    )
    try:
        out = subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                *flags,
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={tmp_path / 'profile'}",
                "--allow-file-access-from-files",
                "--virtual-time-budget=5000",
                "--dump-dom",
                probe.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        probe.unlink()
    return out.stdout + out.stderr


def _read(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_linked_file_exists(report):
    run, html_path, html, md = report
    sources = re.findall(r'<img src="([^"]+)"', html)
    # 5 curves + 3 epoch grids + 1 contact sheet + 5 quality plots
    assert len(sources) == 14, sources
    links = re.findall(r'<a href="([^"]+)"', html)
    assert links == ["filtered/epoch_002.csv", "filtered/epoch_003.csv"]
    for src in sources + links:
        assert (html_path.parent / src).stat().st_size > 0, src
    md_targets = re.findall(r"\]\(([^)]+)\)", md)
    assert sorted(md_targets) == sorted(sources + links)
    for name in ("curve_loss_real.png", "curve_loss_fake.png", "curve_k.png", "curve_M.png", "curve_lr.png"):
        assert name in sources


def test_training_table_matches_metrics_csv(report):
    run, _, _, md = report
    rows = _read(run / "metrics.csv")
    last_of_epoch = {r["epoch"]: r for r in rows}
    header, table = _md_rows(md, "step | epoch")
    assert header.startswith("| step | epoch | L(x) | L(G(z)) | L(wrong) | k_t | M | lr |")
    assert len(table) == EPOCHS
    keys = [
        "step",
        "epoch",
        "loss_real",
        "loss_fake",
        "loss_wrong",
        "k",
        "M",
        "lr",
        "filtered",
        "images_per_s",
    ]
    per_epoch = {r["epoch"]: r["filtered"] for r in _read(run / "filtered" / "summary.csv")}
    for expected in last_of_epoch.values():  # "filtered in epoch": the filter table's count (issue 12)
        expected["filtered"] = per_epoch.get(expected["epoch"], "0")
    for cells, expected in zip(table, last_of_epoch.values()):
        for cell, key in zip(cells, keys):
            assert float(cell) == pytest.approx(float(expected[key]), rel=1e-3, abs=1e-12), key
    assert table[-1][0] == rows[-1]["step"]


def test_the_equilibrium_section_gives_the_k_band_as_a_percentage(report):
    """A share of 1.0 used to print as '1 of the logged steps', which reads as a count."""
    from evaluate.equilibrium import balance
    from report.build import _percent

    run, _, _, md = report
    text = md.split("## BEGAN equilibrium", 1)[1].split("\n## ", 1)[0]
    assert balance(_read(run / "metrics.csv"), 0.4)["k_inside"] == 1.0  # the fabricated k lies in (0, 0.1)
    assert "strictly inside (0, 1) in 100 % of the logged steps after the first 10 %" in text, text
    assert "at least 90 % of steps, ratio within gamma +- 0.05" in text, text
    assert (_percent(7 / 9), _percent(0.0), _percent(float("nan"))) == ("77.8 %", "0 %", "n/a")


def test_filter_and_quality_tables_match_their_csv_files(report):
    run, _, _, md = report
    _, table = _md_rows(md, "epoch | threshold")
    for cells, r in zip(table, _read(run / "filtered" / "summary.csv"), strict=True):
        assert cells[0] == r["epoch"] and cells[2] == r["filtered"] and cells[3] == r["seen"]
        assert float(cells[1]) == pytest.approx(float(r["threshold"]), rel=1e-3)
    from report.build import QUALITY_COLUMNS

    evals = _read(run / "eval.csv")
    titles = {title: name for name, title in QUALITY_COLUMNS.items()}
    seen = set()
    for start in ("step | face rate", "step | n_samples"):  # the figures, then the folded details
        header, table = _md_rows(md, start)
        names = [titles.get(c.strip(), c.strip()) for c in header.strip("|").split("|")]
        seen |= set(names)
        for cells, r in zip(table, evals, strict=True):
            for name, cell in zip(names, cells):
                assert float(cell) == pytest.approx(float(r[name]), rel=1e-3), name
    assert seen == set(evals[0])  # every column is somewhere
    assert "cpu_seconds" not in _md_rows(md, "step | face rate")[0]  # bookkeeping is in the details


def test_settings_table_lists_config_json(report):
    run, _, html, md = report
    _, table = _md_rows(md, "setting")
    settings = dict((k, v) for k, v in table)
    config = TrainConfig.load(run)
    assert float(settings["gamma"]) == config.gamma == 0.4
    assert float(settings["lr"]) == config.lr
    assert set(settings) == set(config.to_dict())
    assert "No tag checker beside the model" in md  # no checker in this run: said, not faked


def test_report_cli_errors(tmp_path, capsys):
    from report.__main__ import main

    assert main([str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err


def test_report_renders_in_headless_chromium(report, tmp_path):
    _, html_path, html, _ = report
    page_title = _chromium_title(
        html_path,
        html,
        tmp_path,
        ["--disable-quic"],
        "const bad = [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))"
        ".map(i => i.src); document.title = 'IMAGES ' + document.images.length + ' BROKEN ' + bad.length;",
    )
    title = re.search(r"<title>(.*?)</title>", page_title)
    assert title, page_title[-500:]
    n, broken = re.match(r"IMAGES (\d+) BROKEN (\d+)", title.group(1)).groups()
    assert int(n) == html.count("<img ") and int(broken) == 0


@pytest.mark.slow
def test_a_short_run_shows_the_step_grids_in_the_timeline(fabricated_run, tmp_path):
    from report.build import build_report
    from sampling.grid import grid, save_png

    run = tmp_path / "short"
    shutil.copytree(fabricated_run, run)
    for extra in sorted((run / "samples").glob("epoch_*.png"))[1:]:
        extra.unlink()  # one epoch grid only
    rng = np.random.default_rng(1)
    for step in (500, 1000, 1500):
        save_png(
            run / "samples" / f"step_{step:07d}.png", grid(rng.integers(0, 256, (6, 32, 32, 3), np.uint8), 3)
        )
    html_text = build_report(run).read_text()
    assert [f"step {s}" for s in (500, 1000, 1500)] == re.findall(r'alt="(step \d+)"', html_text)
    for rel in re.findall(r'src="(timeline/[^"]+)"', html_text):
        assert (run / "report" / rel).stat().st_size > 0


@pytest.mark.slow
def test_a_rebuilt_report_holds_only_what_it_links(report):
    from report.build import MANIFEST, build_report

    run, html_path, _, _ = report
    stale = html_path.parent / "timeline" / "step_0000500.png"  # from an earlier, shorter build
    stale.write_bytes(b"old")
    manifest = html_path.parent / MANIFEST
    listed = json.loads(manifest.read_text())["files"]
    manifest.write_text(json.dumps({"files": listed + ["timeline/step_0000500.png"]}))
    html = build_report(run).read_text()
    assert not stale.exists()
    linked = set(re.findall(r'(?:src|href)="([^"]+)"', html))
    on_disk = {p.relative_to(html_path.parent).as_posix() for p in html_path.parent.rglob("*") if p.is_file()}
    assert on_disk - linked <= {"report.html", "report.md", "graded.json", "baseline.json", MANIFEST}, (
        on_disk - linked
    )


def test_the_report_grades_the_final_model_with_the_course_baseline(tiny_run, tmp_path):
    from evaluate.baseline import grade_grid_image, read_image
    from report.build import build_report

    run = tmp_path / "tiny"
    shutil.copytree(tiny_run, run)
    md = (build_report(run).parent / "report.md").read_text()
    summary = json.loads((run / "report" / "baseline.json").read_text())
    picture = read_image(run / "report" / "baseline.png")
    assert picture.shape == (5 * 34 + 2, 5 * 34 + 2, 3)  # 25 cells of 32 px, 2 px gaps
    assert summary["cells"] == 25 and summary["faces"] == grade_grid_image(picture).faces
    verdict = "Pass" if summary["passed"] else "Fail"
    assert f"{summary['faces']} faces of 25 ({verdict}" in md and "![baseline grid" in md


def test_results_come_first_settings_last_and_folded(report):
    _, _, html, md = report
    headings = re.findall(r"^## (.+)$", md, re.M)
    assert headings[-1] == "Settings" and headings[0] in ("Graded grid", "Course baseline", "Quality metrics")
    assert headings.index("Quality metrics") < headings.index("Training")
    assert re.search(r"<h2>Settings</h2><details><summary>", html)


def test_each_plot_has_one_title_and_no_plot_has_a_single_point(report, tmp_path):
    from report.plots import plot_curves, plot_eval

    _, _, html, _ = report
    for figure in re.findall(r"<figure>.*?</figure>", html):
        if "curve_" in figure or "eval_" in figure:
            assert "<figcaption>" not in figure, figure  # the plot's own title is its only title
    rows = [{"step": "5", "loss_real": "0.1", "loss_fake": "0.2", "k": "0", "M": "0.3", "lr": "1e-4"}]
    assert plot_curves(rows, tmp_path) == [] and plot_eval(rows, tmp_path) == []


def _quality_section(md):
    return md.split("## Quality metrics", 1)[1].split("\n## ", 1)[0]


def test_kid_and_sharpness_are_shown_when_eval_csv_has_them(report):
    _, _, html, md = report
    header, table = _md_rows(md, "step | face rate")
    titles = [c.strip() for c in header.strip("|").split("|")]
    assert {"KID", "KID std", "KID real vs real", "sharpness / real"} <= set(titles)
    assert [row[titles.index("KID")] for row in table] == ["2.345", "0.678"]
    text = _quality_section(md)
    assert "KID, the unbiased kernel distance" in text and "sharpness, the high-frequency energy" in text
    assert "eval_kid.png" in html and "eval_sharpness.png" in html


def test_an_eval_csv_from_before_kid_shows_what_it_has(fabricated_run, tmp_path):
    """An evaluation made before KID and sharpness existed leaves their cells empty (the header grew
    at a later one); a whole eval.csv from before has no column, sentence or plot of them."""
    from report.build import build_report

    run = tmp_path / "run"
    shutil.copytree(fabricated_run, run)
    rows = _read(run / "eval.csv")
    new = ("kid", "sharpness")
    rows[0].update({k: "" for k in rows[0] if k.startswith(new)})
    _write_csv(run / "eval.csv", list(rows[0]), [list(r.values()) for r in rows])
    md = (build_report(run).parent / "report.md").read_text()
    header, table = _md_rows(md, "step | face rate")
    titles = [c.strip() for c in header.strip("|").split("|")]
    assert [row[titles.index("KID")] for row in table] == ["", "0.678"]
    assert (run / "report" / "eval_kid.png").exists()

    old = [{k: v for k, v in r.items() if not k.startswith(new)} for r in rows]
    _write_csv(run / "eval.csv", list(old[0]), [list(r.values()) for r in old])
    html_path = build_report(run)
    text = _quality_section((html_path.parent / "report.md").read_text())
    assert "KID" not in text and "sharpness" not in text, text
    assert "eval_kid.png" not in html_path.read_text() and "eval_frechet.png" in html_path.read_text()


def test_training_table_filtered_counts_match_the_filter_table(report):
    run, _, _, md = report
    header, table = _md_rows(md, "step | epoch")
    column = [c.strip() for c in header.strip("|").split("|")].index("filtered in epoch")
    _, filter_rows = _md_rows(md, "epoch | threshold")
    by_epoch = {cells[0]: cells[2] for cells in filter_rows}
    for cells in table:
        assert cells[column] == by_epoch.get(cells[1], "0"), cells


def test_report_tables_fit_a_1200px_page_in_headless_chromium(report, tmp_path):
    _, html_path, html, _ = report
    page = _chromium_title(
        html_path,
        html,
        tmp_path,
        ["--window-size=1200,900"],
        "document.querySelectorAll('details').forEach(d => d.open = true); "
        "const w = Math.max(...[...document.querySelectorAll('table')]"
        ".map(t => t.getBoundingClientRect().right)); document.title = 'WIDEST ' + "
        "Math.ceil(w) + ' PAGE ' + document.documentElement.scrollWidth;",
    )
    title = re.search(r"<title>WIDEST (\d+) PAGE (\d+)</title>", page)
    assert title, page[-500:]
    assert int(title.group(1)) <= 1200 and int(title.group(2)) <= 1200, title.group(0)


@pytest.mark.slow
def test_lines_that_are_not_data_rows_are_counted_not_shown(fabricated_run, tmp_path):
    """Two runs' metrics.csv joined into one repeat the header mid-file: it used to appear as a
    training row reading step | epoch | loss_real ... (issue 24)."""
    from report.build import build_report, read_log

    run = tmp_path / "joined"
    shutil.copytree(fabricated_run, run)
    text = (run / "metrics.csv").read_text()
    header, *lines = text.splitlines()
    (run / "metrics.csv").write_text("\n".join([header] + lines + [header] + lines + ["garbage,1"]) + "\n")
    rows, not_data = read_log(run / "metrics.csv")
    assert len(rows) == 2 * len(lines) and not_data == 2
    build_report(run)
    md = (run / "report" / "report.md").read_text()
    _, table = _md_rows(md, "step | epoch")
    assert table and all(cells[0].replace(".", "").isdigit() for cells in table)
    assert "2 lines of metrics.csv are not data rows" in md


# --- the report deletes only what it wrote (issue 15)
def _run(*args, cwd=None, **kw):
    return subprocess.run(
        [sys.executable, *args], cwd=cwd or ROOT, capture_output=True, text=True, timeout=300, **kw
    )


def test_report_keeps_a_users_file_in_a_folder_that_is_not_a_run(tmp_path):
    """The issue's reproduction: a JSON config and a user's notes in DIR/report/."""
    (tmp_path / "report").mkdir()
    (tmp_path / "config.json").write_text('{"a":1}\n')
    (tmp_path / "report" / "thesis.md").write_text("notes\n")
    result = _run("-m", "report", str(tmp_path))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert (tmp_path / "report" / "thesis.md").read_text() == "notes\n"


def test_report_of_a_run_keeps_files_it_did_not_write(tmp_path):
    from report.build import MANIFEST, ReportError, build_report

    run = tmp_path / "run"
    run.mkdir()
    TrainConfig(image_size=32).save(run)
    (run / "report").mkdir()
    (run / "report" / "thesis.md").write_text("notes\n")
    with pytest.raises(ReportError, match="did not write"):  # a folder without a manifest: refused
        build_report(run, check_tags=False)
    assert (run / "report" / "thesis.md").read_text() == "notes\n"
    (run / "report" / "thesis.md").unlink()
    (run / "report").rmdir()
    build_report(run, check_tags=False)
    listed = json.loads((run / "report" / MANIFEST).read_text())["files"]
    assert "report.html" in listed and "report.md" in listed
    (run / "report" / "thesis.md").write_text("notes\n")  # a user's file beside a built report
    (run / "report" / "old_plot.png").write_bytes(b"x")
    stale = run / "report" / "stale.png"  # a file an earlier build wrote: removed on rebuild
    stale.write_bytes(b"x")
    manifest = run / "report" / MANIFEST
    manifest.write_text(json.dumps({"files": listed + ["stale.png", "../config.json"]}))
    build_report(run, check_tags=False)
    assert (run / "report" / "thesis.md").read_text() == "notes\n"
    assert (run / "report" / "old_plot.png").exists()
    assert not stale.exists()
    assert (run / "config.json").exists()  # the manifest never reaches outside the report folder
    assert "thesis.md" not in json.loads(manifest.read_text())["files"]
