"""Grading other tags (evaluate.tag_support): the ROC AUC on hand-made scores, the line for a tag the real
faces do not support, the figures of evaluate.metrics on a stand-in generator that draws the marks it is
asked for (read by a checker trained on marked faces), and generate.py --grade's lines."""

import json
import shutil

import numpy as np
import pytest

from evaluate.tag_support import TagFigures, roc_auc, sheet_lines, support_lines, tag_support
from model.config import TrainConfig
from preprocess.synthetic import MARKS, draw_face
from tags.canonical import TagSet
from tests.tagged_support import SIZE, tagged_checker, tagged_model


def test_roc_auc_on_hand_made_scores():
    labels = np.array([1, 1, 1, 0, 0, 0, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.3, 0.2, 0.1])
    assert roc_auc(labels, scores) == 1.0
    assert roc_auc(labels, -scores) == 0.0
    assert roc_auc(labels, np.full(7, 0.5)) == 0.5  # all tied: no better than chance
    # one tie between a positive and a negative counts half: 3.5 of 4 pairs ordered
    assert roc_auc([1, 1, 0, 0], [0.8, 0.5, 0.5, 0.2]) == pytest.approx(0.875)
    assert roc_auc([True, False, True], [0.2, 0.4, 0.6]) == pytest.approx(0.5)  # 1 of 2 pairs
    rng = np.random.default_rng(0)
    assert roc_auc(rng.random(4000) < 0.3, rng.random(4000)) == pytest.approx(0.5, abs=0.03)
    assert np.isnan(roc_auc([1, 1], [0.2, 0.3])) and np.isnan(roc_auc([], []))


def test_a_tag_the_real_faces_do_not_support_gets_one_line():
    low, high, unmeasured = TagFigures("hat", auc=0.52), TagFigures("glasses", auc=0.97), TagFigures("smile")
    assert low.supported is False and high.supported is True and unmeasured.supported is None
    assert support_lines({"hat": low, "glasses": high, "smile": unmeasured}) == [
        "the checker cannot tell 'hat' apart on real held-out faces (AUC 0.52): the images may not show it; "
        "asking for it may do nothing"
    ]
    assert TagFigures("hat", auc=0.75).warning() is None  # the bar itself passes
    assert list(high.columns()) == [
        "read_asked/glasses",
        "read_not_asked/glasses",
        "read_real_with/glasses",
        "read_real_without/glasses",
        "auc/glasses",
    ]


class StubChecker:
    """Reads 'glasses' on a face whose top-left pixel is dark, never reads 'hat'."""

    other_tags = ["glasses", "hat"]

    def predict(self, images):
        dark = np.asarray(images)[:, 0, 0, 0] < 100
        return {"other": np.stack([np.where(dark, 0.9, 0.1), np.full(len(dark), 0.2)], 1)}


class StubVocab:
    groups = {"hair": ["blue"]}
    other_tags = ["glasses", "hat", "smile"]


def test_sheet_lines_count_the_cells_asked_and_not_asked():
    cells = [np.full((4, 4, 3), v, np.uint8) for v in (0, 0, 255, 0)]  # three dark faces
    tags = [TagSet.make({"hair": "blue"}, e) for e in (["glasses"], ["glasses"], ["glasses"], [])]
    reference = {
        "glasses": TagFigures("glasses", read_real_with=0.9, read_real_without=0.05, auc=0.99),
        "hat": TagFigures("hat", read_real_with=0.5, read_real_without=0.5, auc=0.5),
    }
    lines = sheet_lines(cells, tags, StubChecker(), StubVocab(), reference)
    assert lines[1] == (
        "  glasses: read on 2 of the 3 faces asked for it; read on 1 of the 1 faces drawn "
        "without it; real held-out faces 0.90 with it, 0.05 without (AUC 0.99)"
    )
    assert lines[2].startswith("  hat: no face asked for it; read on 0 of the 4 faces drawn without it")
    assert lines[-1].startswith("the checker cannot tell 'hat' apart") and len(lines) == 4  # smile: not read
    no_reference = sheet_lines(cells, tags, StubChecker(), StubVocab())
    assert "python -m evaluate.metrics" in no_reference[-1]
    assert sheet_lines(cells, tags, type("Colours", (), {"other_tags": []})(), StubVocab()) == []


class MarkingGenerator:
    """Decodes a condition (colours one-hot, other tags multi-hot) and draws that synthetic face wearing
    the visible marks asked for; z seeds the drawing. Asked for an invisible tag it draws nothing more."""

    def __init__(self, vocab):
        self.vocab = vocab
        self.config = TrainConfig(image_size=SIZE, nz=8, cond_dim=vocab.dim)

    def generate(self, z, cond, eps=None):
        faces = []
        n_groups = sum(len(v) for v in self.vocab.groups.values())
        for zi, c in zip(z, cond):
            start, values = 0, {}
            for g, vals in self.vocab.groups.items():
                values[g] = vals[int(np.argmax(c[start : start + len(vals)]))]
                start += len(vals)
            marks = [t for t, on in zip(self.vocab.other_tags, c[n_groups:]) if on > 0.5 and t in MARKS]
            rng = np.random.default_rng(np.abs(zi * 1e6).astype(np.int64))
            faces.append(draw_face(values["hair"], values["eyes"], SIZE, rng, marks))
        return np.stack(faces).astype(np.float32) / 127.5 - 1.0


@pytest.fixture(scope="module")
def checker_and_data(tmp_path_factory):
    from checker.checker import load_checker

    folder, data = tagged_checker(tmp_path_factory)
    return load_checker(folder), data


@pytest.mark.slow
def test_real_faces_support_the_visible_marks_and_not_the_invisible_tags(checker_and_data):
    checker, data = checker_and_data
    figures = tag_support(checker, data)
    assert set(figures) == set(data.vocab.other_tags) >= {"glasses", "hat", "smile", "blush", "long hair"}
    for mark in MARKS:
        f = figures[mark]
        assert f.auc >= 0.9 and f.read_real_with > 0.7 > 0.3 > f.read_real_without, f
        assert f.n_real_with + f.n_real_without == len(data.holdout_indices())
    unsupported = [t for t in figures if t not in MARKS]
    for tag in unsupported:  # tags nothing in the images shows
        assert figures[tag].auc < 0.75, figures[tag]
    lines = support_lines(figures)
    assert len(lines) == len(unsupported) and any("cannot tell 'blush' apart" in line for line in lines)
    assert np.isnan(figures["glasses"].read_asked)  # no generator: nothing drawn


@pytest.mark.slow
def test_eval_columns_of_a_generator_that_draws_the_asked_marks(checker_and_data):
    from evaluate.metrics import evaluate_generator

    checker, data = checker_and_data
    result = evaluate_generator(
        MarkingGenerator(data.vocab), checker, data, n_per_combo=2, seed=1, tag_faces=30
    )
    assert result["acc_hair"] >= 0.9 and result["n_samples"] == 8  # the colour figures are all still there
    tag_columns = [k for k in result if "/" in k]
    # tag by tag, in the vocabulary's order
    assert tag_columns[:5] == [
        "read_asked/blush",
        "read_not_asked/blush",
        "read_real_with/blush",
        "read_real_without/blush",
        "auc/blush",
    ]
    assert len(tag_columns) == 5 * len(data.vocab.other_tags)
    for mark in MARKS:  # asked, the mark is drawn and read; not asked, it is not
        assert result[f"read_asked/{mark}"] >= 0.8 and result[f"read_not_asked/{mark}"] <= 0.2, mark
    # blush is never drawn: asking changes nothing, and the same faces give the same reading
    assert result["read_asked/blush"] == result["read_not_asked/blush"]
    assert result["auc/blush"] < 0.75 <= result["auc/glasses"]


def test_a_colour_only_model_or_checker_gets_no_tag_columns():
    """A colour-only checker (no "other" output) beside a model with other tags, or a checker with
    other tags beside a colour-only model: nothing to measure, and eval.csv keeps its columns."""
    from types import SimpleNamespace

    class ColourChecker:
        other_tags = []

        def predict(self, images):
            return {"hair": np.ones((len(images), 1))}

    def data(vocab):
        return SimpleNamespace(
            vocab=vocab,
            images=np.zeros((2, 4, 4, 3), np.uint8),
            conditions=np.zeros((2, 4)),
            holdout_indices=lambda: np.arange(2),
        )

    colour_vocab = SimpleNamespace(other_tags=[], groups={"hair": ["blue"]})
    assert tag_support(ColourChecker(), data(StubVocab())) == {}
    assert tag_support(ColourChecker(), generator=SimpleNamespace(vocab=StubVocab())) == {}
    assert tag_support(StubChecker(), data(colour_vocab), SimpleNamespace(vocab=colour_vocab)) == {}


@pytest.mark.slow
def test_grade_prints_each_other_tag_asked_and_not_and_the_real_reference(
    tmp_path_factory, tmp_path, capsys, checker_and_data
):
    from evaluate.metrics import write_results
    from evaluate.tag_support import eval_columns
    from generate import main

    checker_folder, data = tagged_checker(tmp_path_factory)
    model = tmp_path / "tagged"
    shutil.copytree(tagged_model(tmp_path_factory), model)
    for item in checker_folder.iterdir():
        shutil.copy(item, model / item.name)
    argv = [
        "--model",
        str(model),
        "--tags",
        "glasses blue hair red eyes",
        "--n",
        "4",
        "--grade",
        "--out",
        str(tmp_path / "g.png"),
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "other tags read by the checker (probability > 0.5):" in out
    assert "  glasses: read on " in out and " of the 4 faces asked for it; no face drawn without it" in out
    assert "  hat: no face asked for it; read on " in out and "python -m evaluate.metrics" in out
    # once the real held-out figures are recorded beside the model, --grade shows them and the warnings
    write_results(model, eval_columns(tag_support(checker_and_data[0], data)))
    assert json.loads((model / "metrics.json").read_text())["auc/glasses"] >= 0.9
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "real held-out faces 1.00 with it" in out or "real held-out faces 0.9" in out
    assert "the checker cannot tell 'blush' apart on real held-out faces (AUC 0." in out
    assert "python -m evaluate.metrics" not in out
