"""What the tiny run (3 epochs, tests/conftest.py) leaves for watching it learn and for judging
copies (issue 34): samples/timeline.gif with a frame per epoch grid, RUN/copies.json and copies.png
with its final model's figures, and the report showing both."""

import csv
import json
import shutil
from types import SimpleNamespace

import imageio.v3 as iio
import numpy as np
import pytest


def _data_rows(run):
    with open(run / "data.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def tiny_report(tiny_run, tmp_path_factory):
    """The report of a copy of the tiny run (no grading: the sections here need no checker)."""
    from report.build import build_report

    run = tmp_path_factory.mktemp("watch") / "tiny"
    shutil.copytree(tiny_run, run, ignore=shutil.ignore_patterns("report"))
    html_path = build_report(run, check_tags=False)
    return run, html_path.read_text(), (html_path.parent / "report.md").read_text()


def test_the_timeline_has_a_frame_per_epoch_grid_with_its_pixels(tiny_run):
    grids = sorted((tiny_run / "samples").glob("epoch_*.png"))
    assert [g.name for g in grids] == ["epoch_001.png", "epoch_002.png", "epoch_003.png"]
    frames = iio.imread(tiny_run / "samples" / "timeline.gif", index=None)[..., :3].astype(int)
    assert len(frames) == len(grids)
    pngs = [iio.imread(g)[..., :3].astype(int) for g in grids]
    h, w = pngs[0].shape[:2]
    differences = np.array([[np.abs(frame[:h, :w] - png).mean() for png in pngs] for frame in frames])
    # frame k is grid k up to the GIF's 256 colours (FASTOCTREE: about 7 levels of 255 on real grids)
    assert (differences.diagonal() < 4).all(), differences
    for k in range(len(grids)):
        others = np.delete(differences[k], k)
        own_vs_others = [np.abs(pngs[k] - pngs[j]).mean() for j in range(len(grids)) if j != k]
        # nearer its own grid than any other epoch's, wherever the grids differ by more than the palette
        assert all(
            d > differences[k, k] for d, gap in zip(others, own_vs_others) if gap > 2 * differences[k, k]
        )


def test_a_resumed_run_rebuilds_the_timeline_from_the_grids_on_disk(tiny_run, tmp_path):
    """A run resumed from a version without the animation (or with it lost) has it before its first step."""
    from model.config import TrainConfig
    from tags.vocab import Vocabulary
    from training.monitor import SampleGrids

    shutil.copytree(tiny_run / "samples", tmp_path / "samples", ignore=shutil.ignore_patterns("timeline.gif"))
    trainer = SimpleNamespace(
        run_dir=tmp_path, config=TrainConfig.load(tiny_run), vocab=Vocabulary.load(tiny_run / "vocab.json")
    )
    SampleGrids().on_train_begin(trainer)
    rebuilt = iio.imread(tmp_path / "samples" / "timeline.gif", index=None)
    np.testing.assert_array_equal(rebuilt, iio.imread(tiny_run / "samples" / "timeline.gif", index=None))


def test_copies_json_holds_the_figures_of_the_final_model(tiny_run, tiny_run_cache, tmp_path):
    """Plausible figures, and the very ones NearCopies measures again on the run's last checkpoint
    (its G average, which the run sampled and exported) with the run's data."""
    from evaluate.copies import PIXEL_TOLERANCE, copies_line
    from evaluate.metrics import data_for
    from model.config import TrainConfig
    from model.run_folder import load_generator_from_run
    from tags.vocab import Vocabulary
    from training.monitor import NearCopies

    result = json.loads((tiny_run / "copies.json").read_text())
    rows = _data_rows(tiny_run)
    train = [r for r in rows if r["split"] == "train"]
    held = [r for r in rows if r["split"] == "holdout"]
    with open(tiny_run / "metrics.csv", newline="") as fh:
        last_step = int(list(csv.DictReader(fh))[-1]["step"])
    assert result["step"] == last_step
    assert result["training_images"] == len(train) and result["heldout_faces"] == len(held)
    assert result["generated"] == 2 * len({r["tags"] for r in train}) and result["n_per_combo"] == 2
    assert result["near_copy_at"] == PIXEL_TOLERANCE
    assert 0 <= result["near_copies"] <= result["generated"]
    assert result["near_copy_fraction"] == pytest.approx(result["near_copies"] / result["generated"])
    for key in (
        "median_nearest_generated",
        "median_nearest_generated_as_is",
        "median_nearest_generated_mirrored",
    ):
        assert 0 < result[key] < 255, key
    # one face per tag pair: the stratified split holds none out, so there is no reference (said, not faked)
    assert (result["median_nearest_heldout"] is None) == (not held) and result["heldout_near_copies"] == 0
    assert result["median_nearest_generated"] <= min(
        result["median_nearest_generated_as_is"], result["median_nearest_generated_mirrored"]
    )
    closest = result["closest"]
    assert len(closest) == 8 and [c["distance"] for c in closest] == sorted(c["distance"] for c in closest)
    assert closest[0]["distance"] <= result["median_nearest_generated"]
    assert {c["training_id"] for c in closest} <= {r["id"] for r in train}
    picture = iio.imread(tiny_run / "copies.png")
    assert picture.shape[0] > 2 * 64 and picture.shape[1] > 8 * 64  # 2 rows of 8 faces drawn at 64 px

    config = TrainConfig.load(tiny_run)
    vocab = Vocabulary.load(tiny_run / "vocab.json")
    data = data_for(
        SimpleNamespace(config=config, vocab=vocab), config.images, config.tags_csv, cache_dir=tiny_run_cache
    )
    generator = load_generator_from_run(tiny_run)[0]
    said = []
    trainer = SimpleNamespace(
        run_dir=tmp_path,
        config=config,
        vocab=vocab,
        data=data,
        say=said.append,
        sampling_generator=lambda: generator,
    )
    NearCopies().on_train_end(trainer, last_step)
    again = json.loads((tmp_path / "copies.json").read_text())
    assert said == [copies_line(again)] and said[0].startswith(f"near copies: {again['near_copies']} of ")
    assert again.keys() == result.keys()
    for key, value in result.items():
        if key != "closest":
            assert again[key] == (pytest.approx(value, abs=2e-3) if isinstance(value, float) else value), key
    assert [c["training_id"] for c in again["closest"]] == [c["training_id"] for c in closest]


def test_the_report_shows_the_timeline_and_the_near_copies(tiny_report):
    run, html, md = tiny_report
    assert "![every epoch's grid as one animation" in md and "(timeline/timeline.gif)" in md
    assert '<img src="timeline/timeline.gif"' in html
    copied = run / "report" / "timeline" / "timeline.gif"
    assert copied.read_bytes() == (run / "samples" / "timeline.gif").read_bytes()
    section = md.split("## Near copies", 1)[1].split("\n## ", 1)[0]
    result = json.loads((run / "copies.json").read_text())
    from report.build import fmt

    assert f"{result['near_copies']} of {result['generated']} (" in section, section
    table = dict(line.strip("|").split("|")[:2] for line in section.splitlines() if line.startswith("| "))
    shown = {k.strip(): v.strip() for k, v in table.items()}
    assert shown["generated faces: median distance to the nearest training image"] == fmt(
        result["median_nearest_generated"]
    )
    reference = result["median_nearest_heldout"]
    assert shown["held-out real faces: the same median (the reference)"] == (
        "n/a (no held-out faces)" if reference is None else fmt(reference)
    )
    assert (
        "](copies.png)" in section
        and (run / "report" / "copies.png").read_bytes() == (run / "copies.png").read_bytes()
    )
    assert "<h2>Near copies</h2>" in html


def test_a_report_without_copies_json_says_where_it_comes_from(tmp_path):
    from model.config import TrainConfig
    from report.build import build_report

    run = tmp_path / "run"
    run.mkdir()
    TrainConfig(image_size=32).save(run)
    md = (build_report(run, check_tags=False).parent / "report.md").read_text()
    assert "## Near copies\n\nNo copies.json: it is written when a training run reaches its last step." in md
    (run / "copies.json").write_text("{not json")
    md = (build_report(run, check_tags=False).parent / "report.md").read_text()
    assert "copies.json is damaged" in md
