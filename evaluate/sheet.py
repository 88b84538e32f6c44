"""One sheet of faces: the requests drawn, each cell's tags read by the tag checker,
the grid, and the 2018 course's baseline on it.

Every grid of faces the toolkit grades is a sheet: generate.py's grids (--grade), the
studio's, the report's graded and baseline grids, and the samples evaluate.metrics scores.
numpy only at import (the detector's OpenCV loads when the baseline is first asked for),
so generate.py's LiteRT path stays free of TensorFlow.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from checker.checker import tag_marks
from evaluate.baseline import GRID_SIDE, BaselineResult, grade_grid_image
from sampling.generation import Request, generate_requests, one_cell_row_labels
from sampling.grid import grid
from tags.canonical import TagSet

COURSE_CELLS = GRID_SIDE * GRID_SIDE


@dataclass
class Sheet:
    """The faces of some requests laid out as one grid. `faces` holds each request's faces (uint8
    [n, S, S, 3]); `cells` the grid's cells in order, with `tags` the tags each was drawn with (None
    for the white cells that fill the last row of a request's block); `marks` per cell, per checker
    group: does the checker read the requested value (None without a checker, and for a blank cell)."""

    requests: list[Request]
    faces: list[np.ndarray]
    cells: list[np.ndarray]
    tags: list[TagSet | None]
    cols: int
    one_cell_per_request: bool = False
    row_labels: list[str] | None = None
    col_labels: list[str] | None = None
    scale: int = 1
    marks: list[list[bool] | None] | None = None
    accuracy: dict[str, float] | None = None

    @cached_property
    def image(self) -> np.ndarray:
        """The picture: labels, a border ring per checker group when marked, upscaled by `scale`."""
        return grid(self.cells, self.cols, self.row_labels, self.scale, self.marks, col_labels=self.col_labels)

    @property
    def course_grid(self) -> bool:
        """Is this the course's 5x5 grid (25 cells in 5 columns)?"""
        return len(self.cells) == COURSE_CELLS and self.cols == GRID_SIDE

    @cached_property
    def baseline(self) -> BaselineResult:
        """The course's anime-face detector on a plain 5x5 grid of the sheet's faces (no labels, borders
        or upscaling, as the course graded it): all of them up to 25, else 25 spread evenly over them."""
        cells = self.cells
        if len(cells) > COURSE_CELLS:
            cells = [cells[i] for i in np.linspace(0, len(cells) - 1, COURSE_CELLS).astype(int)]
        return grade_grid_image(grid(cells, GRID_SIDE))

    def grade_lines(self) -> list[str]:
        """The grades as generate.py --grade prints them: one line per request of a one-cell-per-request
        sheet (its id, tags and a mark per group), the tag accuracy, and the baseline of a 5x5 sheet."""
        lines = []
        if self.one_cell_per_request:
            lines.append(f"{'id':>8}  {'requested':<28} " + "  ".join(f"{g:>5}" for g in self.accuracy))
            lines += [f"{r.id:>8}  {r.tagsets[0].text:<28} " + "  ".join(f"{'ok' if m else 'WRONG':>5}" for m in mark)
                      for r, mark in zip(self.requests, self.marks)]
        lines.append("tag accuracy: " + ", ".join(f"{g} {a:.2f}" for g, a in self.accuracy.items()))
        if self.course_grid:
            lines.append(f"course baseline (anime-face detector on the 5x5 grid, pass at 20): {self.baseline.verdict}")
        return lines


def draw_sheet(generator, requests: list[Request], *, cols: int, seed: int = 0, seeds: list[int] | None = None,
               checker=None, one_cell_per_request: bool = False, labels: bool = False, scale: int = 1) -> Sheet:
    """Draw `requests` with `generator` (sampling.generation.generate_requests: one noise draw from
    `seed`, or with `seeds` one face per seed in every request) and lay them out in `cols` columns:
    - one cell per request (`one_cell_per_request`: a tags file, the course's 5x5 from 25 lines), each
      row labelled with its cells' ids and tags when `labels`;
    - else a block of whole rows per request (white cells fill its last row when there are several),
      labelled on its first row when there are several requests or `labels`; with `seeds` a column per
      seed, labelled with it.
    With a `checker` every drawn cell is marked and the tag accuracy measured over them."""
    faces = generate_requests(generator, requests, seed, seeds)
    if one_cell_per_request:
        cells = [f[0] for f in faces]
        tags = [r.tagsets[0] for r in requests]
        row_labels = one_cell_row_labels(requests, cols) if labels else None
        col_labels = None
    else:
        cells, tags, row_labels = [], [], []
        blank = np.full_like(faces[0][0], 255) if faces else None
        for r, f in zip(requests, faces):
            rows = -(-len(f) // cols)
            fill = rows * cols - len(f) if len(requests) > 1 else 0
            cells += list(f) + [blank] * fill
            tags += list(r.tagsets) + [None] * fill
            row_labels += [r.label] + [""] * (rows - 1)
        row_labels = row_labels if labels or len(requests) > 1 else None
        col_labels = [f"seed {s}" for s in seeds] if seeds else None
    sheet = Sheet(requests, faces, cells, tags, cols, one_cell_per_request, row_labels, col_labels, scale)
    if checker is not None:
        drawn = [i for i, t in enumerate(tags) if t is not None]
        marks, sheet.accuracy = tag_marks([cells[i] for i in drawn], [tags[i] for i in drawn], checker)
        sheet.marks = [None] * len(cells)
        for i, m in zip(drawn, marks):
            sheet.marks[i] = m
    return sheet
