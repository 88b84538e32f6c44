"""What data a run trained on: RUN/data.csv records each image's id, its side
of the held-out split, its tags and a digest of its pixels. A resumed run is
checked against it, so an edited data set can neither re-draw the split nor
move held-out images into training unnoticed (docs/training.md's "never trained on").

A changed data set is refused rather than continued: which side a new row
should go to (it may be the twin of a held-out image) is not a question to
answer silently, and fine-tuning (--init-from) trains the old model on the
new data in a new run with its own split.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np

from common.files import atomic_path

DATA_RECORD = "data.csv"
COLUMNS = ("id", "split", "tags", "image")


def current_record(data) -> dict[str, tuple[str, str, str]]:
    """id -> (split, tag text, pixel digest) of a CachedData."""
    return {
        i: ("holdout" if h else "train", t, pixel_digest(img))
        for i, h, t, img in zip(data.ids.tolist(), data.holdout.tolist(), data.tags.tolist(), data.images)
    }


def pixel_digest(image: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=8).hexdigest()


def write_record(run_dir: Path, record: dict[str, tuple[str, str, str]]) -> Path:
    path = Path(run_dir) / DATA_RECORD
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows((i, *values) for i, values in record.items())
    return path


def read_record(run_dir: Path) -> dict[str, tuple[str, str, str]] | None:
    """The run's record, or None for a run started before records were kept."""
    path = Path(run_dir) / DATA_RECORD
    if not path.exists():
        return None
    with open(path, newline="") as fh:
        return {row["id"]: (row["split"], row["tags"], row["image"]) for row in csv.DictReader(fh)}


def data_changes(recorded: dict, current: dict) -> list[str]:
    """What changed between two records, as phrases ("16 rows removed (ids 104, 105, ...)");
    empty when the data is the same."""

    def phrase(ids, what):
        listed = ", ".join(sorted(ids, key=_natural)[:3]) + (", ..." if len(ids) > 3 else "")
        return f"{len(ids)} {'row' if len(ids) == 1 else 'rows'} {what} (ids {listed})"

    def image_phrase(ids):
        listed = ", ".join(sorted(ids, key=_natural)[:3]) + (", ..." if len(ids) > 3 else "")
        return f"{len(ids)} {'image' if len(ids) == 1 else 'images'} changed (ids {listed})"

    both = recorded.keys() & current.keys()
    changes = []
    for ids, text in (
        (current.keys() - recorded.keys(), "added"),
        (recorded.keys() - current.keys(), "removed"),
        ({i for i in both if recorded[i][1] != current[i][1]}, "edited (tags)"),
    ):
        if ids:
            changes.append(phrase(ids, text))
    images = {i for i in both if recorded[i][2] != current[i][2]}
    if images:
        changes.append(image_phrase(images))
    return changes


def _natural(text: str):
    return (0, int(text), "") if text.isdigit() else (1, 0, text)
