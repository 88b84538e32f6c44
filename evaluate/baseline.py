"""The 2018 course's grading baseline: the anime-face cascade on a 5x5 grid.

    python -m evaluate.baseline GRID.png [GRID.png ...]

prints `N faces (Pass|Fail)` per grid and exits 1 when a grid fails (2, with
one line, for a file it cannot read). The course ran OpenCV's
lbpcascade_animeface (MIT, nagadomi; vendored beside this file with its
licence header) on the whole grid image: grayscale, equalizeHist, then
detectMultiScale(scaleFactor=1.1, minNeighbors=5, minSize=(24, 24)); a grid
passed at >= 20 faces of 25. The same detector on each single image gives
the per-image face rate of evaluate.metrics (real faces: 0.972, bench/quality/baseline_real.py), and
sheet_baseline grades a sheet (sampling.sheet) as the course did: its faces alone, on a plain 5x5 grid.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from common.cli import ArgumentParser, ExamplesHelpFormatter

CASCADE = Path(__file__).with_name("lbpcascade_animeface.xml")
PASS_AT = 20  # faces of 25
GRID_SIDE = 5
SCALE_FACTOR = 1.1
MIN_NEIGHBORS = 5
MIN_SIZE = (24, 24)


@dataclass(frozen=True)
class BaselineResult:
    faces: int
    passed: bool

    @property
    def verdict(self) -> str:
        return f"{self.faces} faces ({'Pass' if self.passed else 'Fail'})"


@lru_cache(maxsize=1)
def _cascade():
    import cv2

    cascade = cv2.CascadeClassifier(str(CASCADE))
    if cascade.empty():  # pragma: no cover - the vendored file is part of the package
        raise RuntimeError(f"cannot load the face cascade {CASCADE}")
    return cascade


def detect_faces(image_rgb: np.ndarray) -> np.ndarray:
    """Face boxes [n, 4] (x, y, w, h) in a uint8 RGB (or gray) image, with the course's settings."""
    import cv2

    image = np.ascontiguousarray(np.asarray(image_rgb, np.uint8))
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    gray = cv2.equalizeHist(gray)
    boxes = _cascade().detectMultiScale(
        gray, scaleFactor=SCALE_FACTOR, minNeighbors=MIN_NEIGHBORS, minSize=MIN_SIZE
    )
    return np.asarray(boxes, np.int64).reshape(-1, 4)


def passes(faces: int, pass_at: int = PASS_AT) -> bool:
    return faces >= pass_at


def grade_grid_image(image_rgb: np.ndarray) -> BaselineResult:
    faces = len(detect_faces(image_rgb))
    return BaselineResult(faces, passes(faces))


def course_grid(sheet) -> bool:
    """Is this sheet (sampling.sheet.Sheet) the course's 5x5 grid: 25 cells in 5 columns?"""
    return len(sheet.cells) == GRID_SIDE * GRID_SIDE and sheet.cols == GRID_SIDE


def sheet_baseline(sheet) -> BaselineResult:
    """The detector on a plain 5x5 grid of the sheet's faces (no labels, borders or upscaling, as the
    course graded it): all of them up to 25, else 25 spread evenly over them."""
    return grade_grid_image(sheet.plain_grid(GRID_SIDE))


def baseline_lines(sheet) -> list[str]:
    """generate.py --grade's line for a 5x5 sheet; none for a sheet of another shape."""
    if not course_grid(sheet):
        return []
    return [
        f"course baseline (anime-face detector on the 5x5 grid, pass at {PASS_AT}): "
        f"{sheet_baseline(sheet).verdict}"
    ]


def cells_with_faces(
    boxes: np.ndarray, image_shape, rows: int = GRID_SIDE, cols: int = GRID_SIDE
) -> np.ndarray:
    """bool [rows, cols]: which grid cells hold the centre of a detected face
    (the grid is sliced evenly; its thin gaps belong to the cell before them)."""
    height, width = image_shape[:2]
    found = np.zeros((rows, cols), bool)
    for x, y, w, h in np.asarray(boxes).reshape(-1, 4):
        r = min(int((y + h / 2) * rows // height), rows - 1)
        c = min(int((x + w / 2) * cols // width), cols - 1)
        found[r, c] = True
    return found


def face_rate(images_uint8: np.ndarray) -> float:
    """Fraction of single images [n, h, w, 3] in which the cascade finds a face."""
    images = np.asarray(images_uint8)
    if len(images) == 0:
        return float("nan")
    return float(np.mean([len(detect_faces(im)) > 0 for im in images]))


def read_image(path: str | Path) -> np.ndarray:
    """uint8 RGB; OSError/ValueError with a short reason for anything unreadable."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise OSError(f"cannot read {path} as an image ({type(exc).__name__})") from None


def main(argv=None) -> int:
    parser = ArgumentParser(
        prog="python -m evaluate.baseline", description=__doc__, formatter_class=ExamplesHelpFormatter
    )
    parser.add_argument("grids", nargs="+", metavar="GRID.png", help="5x5 grid images to grade")
    parser.add_argument("--pass-at", type=int, default=PASS_AT, help="faces needed to pass")
    args = parser.parse_args(argv)
    failed = False
    for path in args.grids:
        try:
            image = read_image(path)
        except OSError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        faces = len(detect_faces(image))
        result = BaselineResult(faces, passes(faces, args.pass_at))
        failed |= not result.passed
        print(f"{path}: {result.verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
