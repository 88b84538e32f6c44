"""One sheet of faces: what sampling.drawing.Drawing asks for, drawn, laid out as one grid, and each cell's
tags read by the tag checker when one is passed in (sampling/ imports no checker/).

`draw(generator, drawing, checker)` makes every picture generate.py writes and the studio shows;
`draw_sheet` lays out requests built elsewhere (the report's graded and baseline grids, the metrics'
samples). The course baseline of a sheet is evaluate.baseline's. numpy only at import (the fast path).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from sampling.drawing import Drawing, sweep_target
from sampling.generation import (
    Request,
    build_requests,
    generate_requests,
    interpolate,
    one_cell_row_labels,
    sweep,
    sweep_columns,
)
from sampling.grid import grid
from sampling.options import check_output_size
from tags.canonical import TagSet


@dataclass
class Sheet:
    """The faces of a drawing laid out as one grid. `faces` holds each request's faces (uint8 [n, S, S, 3];
    a sweep's or an interpolation's all in one); `cells` the grid's cells in order, with `tags` the tags
    each was drawn with (None for the white cells that fill the last row of a request's block, and for
    sweeps and interpolations); `marks` per cell, per checker group: does the checker read the requested
    value (None without a checker, and for a blank cell); `caption` says what a sweep or an
    interpolation shows (draw: also the sampling options, and each request's tags)."""

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
    caption: str = ""

    @cached_property
    def image(self) -> np.ndarray:
        """The picture: labels, a border ring per checker group when marked, upscaled by `scale`."""
        return grid(
            self.cells, self.cols, self.row_labels, self.scale, self.marks, col_labels=self.col_labels
        )

    def plain_grid(self, side: int) -> np.ndarray:
        """`side` x `side` of the faces with no labels, borders or upscaling (as the course graded its
        grids): all of them up to side^2, else side^2 spread evenly over them."""
        cells, most = self.cells, side * side
        if len(cells) > most:
            cells = [cells[i] for i in np.linspace(0, len(cells) - 1, most).astype(int)]
        return grid(cells, side)

    def grade_lines(self) -> list[str]:
        """The grades as generate.py --grade prints them: one line per request of a one-cell-per-request
        sheet (its id, tags and a mark per group), then the tag accuracy."""
        lines = []
        if self.one_cell_per_request:
            lines.append(f"{'id':>8}  {'requested':<28} " + "  ".join(f"{g:>5}" for g in self.accuracy))
            lines += [
                f"{r.id:>8}  {r.tagsets[0].text:<28} "
                + "  ".join(f"{'ok' if m else 'WRONG':>5}" for m in mark)
                for r, mark in zip(self.requests, self.marks)
            ]
        lines.append("tag accuracy: " + ", ".join(f"{g} {a:.2f}" for g, a in self.accuracy.items()))
        return lines

    def grades(self) -> dict | None:
        """The grades as data (the studio's JSON): the checker's groups, each cell's marks (None for a blank
        cell), the tag accuracy per group to 4 places; None for a sheet drawn without a checker."""
        if self.marks is None:
            return None
        return {
            "groups": list(self.accuracy),
            "marks": [None if m is None else [bool(x) for x in m] for m in self.marks],
            "accuracy": {g: round(float(a), 4) for g, a in self.accuracy.items()},
        }


def tag_marks(images, tagsets, checker) -> tuple[list[list[bool]], dict[str, float]]:
    """Per cell, per checker group (in checker order): does the checker (its `groups` and `read_values`)
    read the requested value? Returns (marks [n][groups], accuracy per group)."""
    tagsets = list(tagsets)
    if len(tagsets) != len(images):
        raise ValueError(f"{len(images)} images but {len(tagsets)} requested tag sets")
    read = checker.read_values(images) if len(tagsets) else {g: [] for g in checker.groups}
    marks = [[read[g][i] == t.get(g) for g in checker.groups] for i, t in enumerate(tagsets)]
    n = max(len(tagsets), 1)
    accuracy = {g: sum(m[j] for m in marks) / n for j, g in enumerate(checker.groups)}
    return marks, accuracy


def draw(generator, drawing: Drawing, checker=None) -> Sheet:
    """The picture of `drawing` (its faces, and with `drawing.grade` the checker's marks): a sheet of its
    tag texts or tags file, or a sweep, or an interpolation. Truncation and best-of hold for this draw
    only (LoadedGenerator.with_sampling: the shared generator is not changed, so draws need no lock)."""
    generator = generator.with_sampling(drawing.truncation, drawing.best_of)
    sheet = _draw(generator, drawing, checker)
    sheet.caption = "\n".join([*drawing.notes, sheet.caption or "\n".join(r.summary for r in sheet.requests)])
    return sheet


def _draw(generator, drawing: Drawing, checker) -> Sheet:
    size, scale, text = generator.config.image_size, drawing.scale, (drawing.tags or (None,))[0]
    if drawing.kind == "sweep":
        target = sweep_target(generator.vocab, drawing.sweep)
        columns = sweep_columns(generator.vocab, target)
        check_output_size(drawing.per_text * len(columns), size, scale)
        images, ncols, labels = sweep(generator, target, text, drawing.per_text, drawing.seed)
        what = (
            f"a column per {target} colour"
            if target in generator.vocab.groups
            else f"a column without {target}, one with it"
        )
        return Sheet(
            [],
            [images],
            list(images),
            [None] * len(images),
            ncols,
            scale=scale,
            col_labels=columns,
            row_labels=[label.split(" | ")[0] for label in labels],
            caption=f"{target} sweep: {what}, a row per fixed z ({len(labels)} rows)",
        )
    if drawing.kind == "interpolation":
        check_output_size(drawing.cells, size, scale)
        a, b = drawing.interpolate
        images, ncols, labels = interpolate(generator, a, b, drawing.cells, drawing.seed, text)
        return Sheet(
            [],
            [images],
            list(images),
            [None] * len(images),
            ncols,
            scale=scale,
            row_labels=labels if drawing.labels else None,
            caption=labels[0],
        )
    lines = drawing.kind == "lines"  # the course's: one cell per line
    seeds = None if lines else drawing.seed_list
    items = list(drawing.lines) if lines else [(None, t) for t in drawing.tags]
    requests = build_requests(items, generator.vocab, drawing.per_text, seeds[0] if seeds else drawing.seed)
    check_output_size(sum(len(r.tagsets) for r in requests), size, scale)
    return draw_sheet(
        generator,
        requests,
        cols=drawing.columns(len(requests) if lines else drawing.per_text),
        seed=drawing.seed,
        seeds=seeds,
        checker=checker if drawing.grade else None,
        one_cell_per_request=lines,
        labels=drawing.labels,
        scale=scale,
    )


def draw_sheet(
    generator,
    requests: list[Request],
    *,
    cols: int,
    seed: int = 0,
    seeds: list[int] | None = None,
    checker=None,
    one_cell_per_request: bool = False,
    labels: bool = False,
    scale: int = 1,
) -> Sheet:
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
