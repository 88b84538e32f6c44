"""sampling.sheet: the one sheet of faces behind generate.py's grids, the studio's, the report's and the
metrics' samples (evaluate.baseline grades a sheet as the course did), on a stand-in generator that
paints each face in its tags' colours and a stand-in checker that reads them back, wrong for one hair
colour, so every mark and accuracy is known."""

from types import SimpleNamespace

import numpy as np
import pytest

from sampling.generation import Request, build_requests
from tags.vocab import Vocabulary

SIZE = 8
HAIR, EYES = ["blue", "red", "pink"], ["green", "yellow"]


class PaintingGenerator:
    """Face = hair index in red, eye index in green, z[0] in blue (so the noise shows), in [-1, 1]."""

    def __init__(self, vocab):
        self.vocab = vocab
        self.config = SimpleNamespace(nz=4, embed_dim=2, image_size=SIZE)

    def generate(self, z, cond, eps=None):
        hair = cond[:, : len(HAIR)].argmax(1) / 10
        eyes = cond[:, len(HAIR) : len(HAIR) + len(EYES)].argmax(1) / 10
        colour = np.stack([hair, eyes, (z[:, 0] + 1) / 4], 1) * 2 - 1
        return np.repeat(np.repeat(colour[:, None, None, :], SIZE, 1), SIZE, 2).astype(np.float32)


class ColourChecker:
    """Reads the painted colours back, but takes red hair for blue."""

    groups = {"hair": HAIR, "eyes": EYES}

    def read_values(self, images):
        rgb = np.asarray(images)[:, 0, 0, :].astype(float) / 255
        hair = [HAIR[int(round(v * 10))] for v in rgb[:, 0]]
        return {
            "hair": ["blue" if h == "red" else h for h in hair],
            "eyes": [EYES[int(round(v * 10))] for v in rgb[:, 1]],
        }


@pytest.fixture
def vocab():
    combos = [{"tags": {"hair": h, "eyes": e}, "count": 1} for h in HAIR for e in EYES]
    return Vocabulary({"hair": HAIR, "eyes": EYES}, combos=combos)


def _requests(vocab, texts, n, seed=0):
    return build_requests([(None, t) for t in texts], vocab, n, seed)


def test_cells_follow_the_requests_in_blocks_of_whole_rows_with_marks_and_accuracy(vocab):
    from sampling.sheet import draw_sheet

    requests = _requests(vocab, ["red hair green eyes", "pink hair yellow eyes"], 3)
    sheet = draw_sheet(PaintingGenerator(vocab), requests, cols=2, seed=1, checker=ColourChecker())
    # a block of 2 rows per request, its last row filled with one white cell
    assert [t.text if t else None for t in sheet.tags] == ["red hair green eyes"] * 3 + [None] + [
        "pink hair yellow eyes"
    ] * 3 + [None]
    assert len(sheet.cells) == 8 and (sheet.cells[3] == 255).all() and (sheet.cells[7] == 255).all()
    assert [len(f) for f in sheet.faces] == [3, 3]
    np.testing.assert_array_equal(sheet.cells[4], sheet.faces[1][0])  # the second request's first face
    assert sheet.row_labels == ["red hair green eyes", "", "pink hair yellow eyes", ""]
    # red hair is read as blue: the first block's hair marks are wrong, every eye mark right
    assert sheet.marks == [[False, True]] * 3 + [None] + [[True, True]] * 3 + [None]
    assert sheet.accuracy == {"hair": 0.5, "eyes": 1.0}


def test_the_sheet_draws_what_generate_requests_draws_and_tiles_it_with_the_one_grid(vocab):
    from sampling.generation import generate_requests
    from sampling.grid import grid
    from sampling.sheet import draw_sheet

    generator = PaintingGenerator(vocab)
    requests = _requests(vocab, ["blue hair"], 6, seed=4)  # eyes drawn per face
    sheet = draw_sheet(generator, requests, cols=3, seed=4, scale=2)
    np.testing.assert_array_equal(np.stack(sheet.cells), generate_requests(generator, requests, 4)[0])
    assert (
        sheet.marks is None and sheet.accuracy is None and sheet.row_labels is None
    )  # one request: no labels
    np.testing.assert_array_equal(sheet.image, grid(sheet.cells, 3, None, 2))
    assert sheet.image.shape == (2 * (2 * SIZE + 2) + 2, 3 * (2 * SIZE + 2) + 2, 3)


def test_seeds_give_a_labelled_column_per_seed_in_every_request(vocab):
    from sampling.sheet import draw_sheet

    requests = _requests(vocab, ["red hair green eyes", "pink hair green eyes"], 3)
    sheet = draw_sheet(PaintingGenerator(vocab), requests, cols=3, seeds=[5, 0, 9])
    assert sheet.col_labels == ["seed 5", "seed 0", "seed 9"]
    blue = [np.stack(f)[:, 0, 0, 2] for f in sheet.faces]  # the noise's channel: the same z per column
    np.testing.assert_array_equal(blue[0], blue[1])
    assert len(set(blue[0])) == 3


def test_one_cell_per_request_grades_each_line_and_a_5x5_sheet_gets_the_course_baseline(vocab, monkeypatch):
    import evaluate.baseline as baselines
    from evaluate.baseline import BaselineResult, baseline_lines, course_grid, sheet_baseline
    from sampling.sheet import draw_sheet

    texts = [f"{h} hair {e} eyes" for h in HAIR for e in EYES] * 5  # 30 lines
    requests = build_requests([(str(i), t) for i, t in enumerate(texts[:25], 1)], vocab, 1, 0)
    graded = []
    monkeypatch.setattr(
        baselines, "grade_grid_image", lambda image: graded.append(image.shape) or BaselineResult(21, True)
    )
    sheet = draw_sheet(
        PaintingGenerator(vocab),
        requests,
        cols=5,
        checker=ColourChecker(),
        one_cell_per_request=True,
        labels=True,
    )
    assert [t.text for t in sheet.tags] == texts[:25]
    assert sheet.row_labels[0] == " | ".join(f"{i}: {t}" for i, t in enumerate(texts[:5], 1))
    assert course_grid(sheet) and sheet.accuracy["hair"] == pytest.approx(17 / 25)
    lines = sheet.grade_lines() + baseline_lines(sheet)
    assert lines[0].split() == ["id", "requested", "hair", "eyes"] and len(lines) == 1 + 25 + 2
    assert lines[3].split() == ["3", "red", "hair", "green", "eyes", "WRONG", "ok"]
    assert lines[-2] == "tag accuracy: hair 0.68, eyes 1.00"
    assert lines[-1] == "course baseline (anime-face detector on the 5x5 grid, pass at 20): 21 faces (Pass)"
    assert graded == [(5 * (SIZE + 2) + 2,) * 2 + (3,)]  # the plain 5x5 grid: no labels, no borders
    # more than 25 faces: the baseline grades 25 of them spread evenly; not a 5x5 sheet, so no baseline line
    many = draw_sheet(
        PaintingGenerator(vocab), _requests(vocab, ["pink hair"], 30), cols=6, checker=ColourChecker()
    )
    assert not course_grid(many) and sheet_baseline(many).faces == 21 and graded[-1] == graded[0]
    assert not (many.grade_lines() + baseline_lines(many))[-1].startswith("course baseline")


def test_the_real_detector_finds_no_face_in_flat_paint(vocab):
    from evaluate.baseline import course_grid, sheet_baseline
    from sampling.sheet import draw_sheet

    sheet = draw_sheet(PaintingGenerator(vocab), _requests(vocab, ["red hair"], 25), cols=5)
    baseline = sheet_baseline(sheet)
    assert course_grid(sheet) and (baseline.faces, baseline.passed) == (0, False)


def test_vocabulary_writes_a_tag_set_as_its_canonical_text(vocab):
    from tags.parser import parse

    assert vocab.text({"eyes": "yellow", "hair": "pink"}) == "pink hair yellow eyes"
    assert vocab.text({"hair": "blue"}) == "blue hair"
    assert parse("Yellow Eyes, PINK hair", vocab).text == vocab.text({"eyes": "yellow", "hair": "pink"})
    assert (
        Request("x", "t", [vocab.tagset({"hair": "red", "eyes": "green"})]).summary
        == "x: 't' -> red hair green eyes"
    )
