"""Filter logs a user can read and grouped TensorBoard scalars (issue 12)."""

import csv

import numpy as np


def _events(run_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from training.run_logs import tensorboard_dir

    acc = EventAccumulator(str(tensorboard_dir(run_dir)), size_guidance={"tensors": 0, "images": 0})
    acc.Reload()
    return acc.Tags()


def test_tensorboard_scalars_are_grouped_and_the_filter_sheet_is_logged(tiny_run):
    tags = _events(tiny_run)
    names = set(tags.get("tensors", [])) | set(tags.get("scalars", []))
    assert {
        "losses/loss_real",
        "losses/loss_fake",
        "control/k",
        "control/M",
        "control/lr",
        "filter/filtered",
        "speed/images_per_s",
    } <= names, names
    scalar_like = {n for n in names if "/" not in n}
    assert not scalar_like, scalar_like  # nothing ungrouped
    summary = list(csv.DictReader(open(tiny_run / "filtered" / "summary.csv")))
    assert any(int(r["filtered"]) for r in summary)  # the tiny run filters a few images in epochs 2-3
    assert "filter/left_out" in names
    assert "samples/fixed_noise" in names


def test_filter_sheet_cells_carry_their_id_and_loss():
    from training.monitor import CONTACT_SHEET_COLUMNS, captioned, filter_sheet

    faces = np.full((3, 32, 32, 3), 128, np.uint8)
    sheet = filter_sheet(faces, ["a17", "b2", "c3"], ["0.25", "0.5", ""])
    cell = captioned(faces[0], ["id a17", "loss 0.25"])
    assert cell.shape[0] > 64 and (cell[64:] < 100).any()  # the caption strip holds text
    assert sheet.shape[0] == cell.shape[0] + 4 and sheet.shape[1] == 3 * (64 + 2) + 2
    # more faces than CONTACT_SHEET_COLUMNS wrap onto a second row of that many cells
    many = filter_sheet(
        np.full((CONTACT_SHEET_COLUMNS + 1, 32, 32, 3), 128, np.uint8),
        [f"i{k}" for k in range(CONTACT_SHEET_COLUMNS + 1)],
        [""] * (CONTACT_SHEET_COLUMNS + 1),
    )
    assert (
        many.shape[1] == CONTACT_SHEET_COLUMNS * (64 + 2) + 2
        and many.shape[0] > sheet.shape[0] + cell.shape[0]
    )
    # different ids give different captions
    other = captioned(faces[0], ["id b2", "loss 0.5"])
    assert not np.array_equal(cell, other)
