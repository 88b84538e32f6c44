"""Which tags the data supports (issue 34): at the end of a run with other tags, the checker that reads them
measures each one (training.monitor.TagSupport: RUN/tag_support.json, a line per tag, a warning per tag the
real held-out faces do not support), and the report shows the figures. The fine-tuned run here grows the
tiny run's vocabulary by the 2017 CSV's random tags, which no image shows: their AUC is near 0.5."""

import csv
import dataclasses
import json
from types import SimpleNamespace

import numpy as np
import pytest

from tests.cli_support import TRAINER_LINES, run_in_process

EXTRAS_2017 = {"blush", "long hair", "open mouth", "short hair", "smile"}  # preprocess.synthetic's, invisible


@pytest.fixture(scope="module")
def fine_tuned(tmp_path_factory, tiny_run, train_argv, faces):
    """(run, stderr) of 3 steps fine-tuned from the tiny run on the 2017 CSV of 80 faces (20 per pair of 2 x 2
    colours, half held out: conftest's set has one face per pair, of which the split holds none out, and the
    AUC needs real held-out faces), which trains RUN/checker for the 5 new tags."""
    from train import main

    folder = tmp_path_factory.mktemp("support")
    face_set = faces(20, 32, seed=2, hair=["blue", "red"], eyes=["blue", "red"])
    done = run_in_process(
        main,
        *train_argv(
            folder / "ft",
            faces=face_set,
            tags_csv="tags_2017.csv",
            steps=3,
            epochs=None,
            init_from=str(tiny_run),
            holdout=0.5,
        ),
        cwd=folder,
    )
    assert done.returncode == 0, done.stderr
    return folder / "ft", done.stderr


def _heldout_tags(run) -> list[str]:
    """The tag text of each held-out row of RUN/data.csv, spaces around ('blue hair red eyes smile')."""
    with open(run / "data.csv", newline="") as fh:
        return [f" {r['tags']} " for r in csv.DictReader(fh) if r["split"] == "holdout"]


@pytest.mark.slow
def test_the_end_of_training_says_which_tags_the_data_supports(fine_tuned):
    from evaluate.tag_support import SUPPORTED_AUC, TAG_FACES
    from evaluate.tag_support_record import figures_from_record, tag_line
    from tags.vocab import Vocabulary

    run, said = fine_tuned
    record = json.loads((run / "tag_support.json").read_text())
    assert list(record["tags"]) == Vocabulary.load(run / "vocab.json").other_tags  # every tag, in order
    assert set(record["tags"]) == EXTRAS_2017
    assert record["step"] == 3 and record["seed"] == 1 and record["checker"] == str(run / "checker")
    held = _heldout_tags(run)
    assert len(held) >= 20  # (the split is stratified by whole tag combinations: not exactly half)
    figures = figures_from_record(record)
    for tag, f in figures.items():
        assert f.n_generated == TAG_FACES
        with_it = sum(f" {tag} " in t for t in held)
        assert (f.n_real_with, f.n_real_without) == (with_it, len(held) - with_it) and 0 < with_it < len(held)
        assert all(
            0 <= getattr(f, k) <= 1
            for k in ("read_asked", "read_not_asked", "read_real_with", "read_real_without", "auc")
        ), f
        assert record["tags"][tag]["supported"] == (f.auc >= SUPPORTED_AUC)
    lines = said.splitlines()
    assert all(tag_line(f) in lines for f in figures.values()), said
    assert all(line.startswith(TRAINER_LINES) for line in lines), said  # test_common_quiet's list holds them
    assert "tag 'smile': read on " in said and "; AUC on real held-out faces " in said
    # invisible tags: the checker cannot tell them apart on real faces, and the run says so for each
    aucs = [f.auc for f in figures.values()]
    assert abs(np.mean(aucs) - 0.5) < 0.15, aucs
    warned = [line for line in lines if line.startswith("the checker cannot tell '")]
    assert len(warned) == sum(a < SUPPORTED_AUC for a in aucs) >= 3, said
    assert all(f.warning() in warned for f in figures.values() if f.auc < SUPPORTED_AUC)


@pytest.mark.slow
def test_the_figures_are_the_final_model_s_and_a_given_checker_serves_without_a_run_checker(
    fine_tuned, tmp_path
):
    """TagSupport again on the run's last checkpoint, its data and --checker pointing at RUN/checker from
    another folder (no RUN/checker there): the real faces' figures are the run's exactly, the generated
    faces' up to a face read differently on the other side of 0.5."""
    from evaluate.metrics import data_for
    from evaluate.tag_support_record import figures_from_record, support_said
    from model.config import TrainConfig
    from model.run_folder import load_generator_from_run
    from tags.vocab import Vocabulary
    from training.monitor import TagSupport

    run, _ = fine_tuned
    config = TrainConfig.load(run)
    vocab = Vocabulary.load(run / "vocab.json")
    data = data_for(SimpleNamespace(config=config, vocab=vocab), config.images, config.tags_csv)
    generator = load_generator_from_run(run)[0]
    said = []
    given = dataclasses.replace(config, checker=str(run / "checker"))
    trainer = SimpleNamespace(
        run_dir=tmp_path,
        config=given,
        vocab=vocab,
        data=data,
        say=said.append,
        sampling_generator=lambda: generator,
    )
    TagSupport().on_train_end(trainer, 3)
    again = figures_from_record(json.loads((tmp_path / "tag_support.json").read_text()))
    first = figures_from_record(json.loads((run / "tag_support.json").read_text()))
    assert said == support_said(again)
    for tag, f in first.items():
        g = again[tag]
        real = ("read_real_with", "read_real_without", "auc")
        assert [getattr(g, k) for k in real] == [getattr(f, k) for k in real]
        assert g.read_asked == pytest.approx(f.read_asked, abs=0.041)  # 2 of 50 faces
        assert g.read_not_asked == pytest.approx(f.read_not_asked, abs=0.041)


@pytest.mark.slow
def test_a_run_without_other_tags_writes_no_tag_support(tiny_run):
    assert (tiny_run / "copies.json").exists() and not (tiny_run / "tag_support.json").exists()


@pytest.mark.slow
def test_the_report_shows_which_tags_the_data_supports(fine_tuned):
    from report.build import build_report, fmt

    run, said = fine_tuned
    md = (build_report(run, check_tags=False).parent / "report.md").read_text()
    html = (run / "report" / "report.html").read_text()
    assert "<h2>Which tags the data supports</h2>" in html
    section = md.split("## Which tags the data supports\n", 1)[1].split("\n## ", 1)[0]
    record = json.loads((run / "tag_support.json").read_text())
    table = [line for line in section.splitlines() if line.startswith("| ")]
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in table]
    rows = {row[0]: row[1:] for row in cells}
    assert set(rows) == EXTRAS_2017 | {"tag"}
    for tag, figures in record["tags"].items():
        shown = rows[tag]
        assert shown[:5] == [
            fmt(figures[k])
            for k in ("read_asked", "read_not_asked", "read_real_with", "read_real_without", "auc")
        ], (tag, shown)
        assert shown[5] == ("yes" if figures["supported"] else "no")
        counts = figures["counts"]
        assert shown[6] == f"{counts['generated']} / {counts['real_with']} / {counts['real_without']}"
    warnings = [line for line in said.splitlines() if line.startswith("the checker cannot tell '")]
    assert warnings and all(line in section for line in warnings)
    assert section.count("the checker cannot tell") == len(warnings)


def test_the_report_has_the_section_only_with_the_file_and_says_what_is_missing(tmp_path):
    from model.config import TrainConfig
    from report.build import build_report

    run = tmp_path / "run"
    run.mkdir()
    TrainConfig(image_size=32).save(run)

    def report() -> str:
        return (build_report(run, check_tags=False).parent / "report.md").read_text()

    assert "Which tags the data supports" not in report()  # a run without other tags
    (run / "tag_support.json").write_text("{not json")
    assert "tag_support.json is damaged" in report()
    record = {
        "step": 7,
        "checker": "c",
        "read_at": 0.5,
        "supported_auc": 0.75,
        "tags": {
            "hat": {
                "read_asked": 0.9,
                "read_not_asked": 0.1,
                "read_real_with": None,
                "read_real_without": 0.2,
                "auc": None,
                "supported": None,
                "counts": {"generated": 50, "real_with": 0, "real_without": 12},
            }
        },
    }
    (run / "tag_support.json").write_text(json.dumps(record))
    md = report()
    assert "| hat | 0.9 | 0.1 | n/a | 0.2 | n/a | n/a | 50 / 0 / 12 |" in md, md
    assert "the checker cannot tell" not in md  # not measured is no verdict


def test_a_tag_line_says_what_was_not_measured():
    from evaluate.tag_support import TagFigures
    from evaluate.tag_support_record import support_said, tag_line

    measured = TagFigures("smile", 0.84, 0.1, 0.9, 0.05, 0.93, 50, 20, 20)
    assert tag_line(measured) == (
        "tag 'smile': read on 0.84 of faces asked for it, 0.10 not asked "
        "(real faces: 0.90 / 0.05); AUC on real held-out faces 0.93"
    )
    none_held = TagFigures("hat", 0.5, 0.5, n_generated=50)
    assert tag_line(none_held) == (
        "tag 'hat': read on 0.50 of faces asked for it, 0.50 not asked (no real "
        "held-out faces); no AUC (it needs held-out faces with and without it: "
        "0 / 0)"
    )
    noisy = TagFigures("blush", 0.2, 0.2, 0.3, 0.3, 0.48, 50, 10, 10)
    said = support_said({"smile": measured, "hat": none_held, "blush": noisy})
    assert said[:3] == [tag_line(measured), tag_line(none_held), tag_line(noisy)]
    assert said[3:] == [noisy.warning()] and "'blush'" in said[3] and "AUC 0.48" in said[3]
