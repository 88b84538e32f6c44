"""The coursework report and the quality metrics, from the tiny run."""
import csv
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="module")
def report_run(tiny_run, tmp_path_factory):
    from report.build import build_report

    run = tmp_path_factory.mktemp("report") / "run"
    shutil.copytree(tiny_run, run)
    return run, build_report(run)


def test_report_builds_and_every_image_exists(report_run):
    run, html_path = report_run
    html = html_path.read_text()
    md = (html_path.parent / "report.md").read_text()
    sources = re.findall(r'<img src="([^"]+)"', html)
    assert len(sources) >= 5 + 3  # five curves + three epoch grids
    for src in sources:
        assert (html_path.parent / src).stat().st_size > 0, src
    for src in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md):
        assert (html_path.parent / src).exists(), src


def test_report_numbers_match_metrics_csv(report_run):
    run, html_path = report_run
    with open(run / "metrics.csv", newline="") as fh:
        last = list(csv.DictReader(fh))[-1]
    md = (html_path.parent / "report.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith(f"| {last['step']} |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[0] == last["step"] and cells[1] == last["epoch"]
    for cell, key in zip(cells[2:7], ["loss_real", "loss_fake", "k", "M", "lr"]):
        assert float(cell) == pytest.approx(float(last[key]), rel=1e-3, abs=1e-9), key
    with open(run / "filtered" / "summary.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            assert f"| {r['epoch']} | {float(r['threshold']):.4g} | {r['filtered']} | {r['seen']} |" in md


def test_report_renders_in_headless_chromium(report_run, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (bash .ci/run installs it)")
    run, html_path = report_run
    probe = html_path.parent / "probe.html"
    probe.write_text(html_path.read_text().replace(
        "</body>", "<script>window.addEventListener('load', () => {const bad = [...document.images]"
                   ".filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src);"
                   "document.title = 'IMAGES ' + document.images.length + ' BROKEN ' + bad.length;});</script></body>"))
    out = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                          "--no-first-run", "--disable-background-networking", "--disable-component-update",
                          "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
                          "--allow-file-access-from-files", "--virtual-time-budget=5000", "--dump-dom",
                          probe.as_uri()], capture_output=True, text=True, timeout=120)
    title = re.search(r"<title>(.*?)</title>", out.stdout)
    assert title, out.stderr[-500:]
    n, broken = re.match(r"IMAGES (\d+) BROKEN (\d+)", title.group(1)).groups()
    assert int(n) >= 8 and int(broken) == 0


def test_quality_metrics_on_the_tiny_run(tiny_run, synthetic_faces, cache_dir, tmp_path):
    from model.checker import save_checker, train_checker, load_checker
    from model.runtime import load_generator
    from preprocess.cache import build_or_load
    from report.metrics import evaluate_generator, frechet_distance, write_results

    from preprocess.synthetic import write_synthetic_set

    generator = load_generator(tiny_run)
    faces = write_synthetic_set(tmp_path / "faces", 3, size=32, seed=5, formats=("2018",))
    data = build_or_load(faces / "images", faces / "tags_2018.csv", size=32, cache_dir=cache_dir, holdout=0.5,
                         seed=1, vocab=generator.vocab, progress=False)
    model, meta = train_checker(data, epochs=1, batch_size=32, image_size=32, progress=False)
    save_checker(model, meta, tmp_path / "checker")
    result = evaluate_generator(generator, load_checker(tmp_path / "checker"), data, n_per_combo=2)
    assert result["n_samples"] == 2 * 120 and result["n_combos"] == 120
    assert 0.0 <= result["acc_hair"] <= 1.0 and result["diversity_real"] > 0
    write_results(tmp_path, result, step=3)
    write_results(tmp_path, result, step=6)
    rows = list(csv.DictReader(open(tmp_path / "eval.csv")))
    assert [r["step"] for r in rows] == ["3", "6"]
    # Frechet distance: zero for identical sets, grows with a shift of the mean
    rng = np.random.default_rng(0)
    a = rng.standard_normal((400, 4))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(a, a + 2.0) == pytest.approx(16.0, rel=0.05)
