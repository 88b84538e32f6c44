"""RUN/tag_support.json: which other tags the data supports, as measured at the end of training.

One format for the writer (training.monitor.TagSupport) and the reader (the report), and the lines the
run says: one per tag with its figures (evaluate.tag_support), then the warning of each tag the real
held-out faces do not support. numpy only at import (evaluate.tag_support's rule).
"""

from __future__ import annotations

import math

from evaluate.tag_support import COLUMNS, READ_AT, SUPPORTED_AUC, TagFigures, support_lines

SUPPORT_NAME = "tag_support.json"
COUNTS = ("n_generated", "n_real_with", "n_real_without")


def support_record(figures: dict[str, TagFigures], **about) -> dict:
    """The file's content: `about` (step, seed, checker...), the bars, and each tag's figures and counts."""
    tags = {
        tag: {name: getattr(f, name) for name in COLUMNS}
        | {"supported": f.supported}
        | {"counts": {name.removeprefix("n_"): getattr(f, name) for name in COUNTS}}
        for tag, f in figures.items()
    }
    return about | {"read_at": READ_AT, "supported_auc": SUPPORTED_AUC, "tags": tags}


def figures_from_record(record: dict) -> dict[str, TagFigures]:
    """Each tag's TagFigures from the file's content (null, as jsonio writes NaN, back to NaN);
    KeyError / TypeError / ValueError for a damaged one."""
    out = {}
    for tag, row in record["tags"].items():
        counts = row["counts"]
        out[tag] = TagFigures(
            tag,
            **{name: _number(row[name]) for name in COLUMNS},
            **{name: int(counts[name.removeprefix("n_")]) for name in COUNTS},
        )
    return out


def _number(value) -> float:
    return float("nan") if value is None else float(value)


def _figure(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.2f}"


def tag_line(f: TagFigures) -> str:
    """What the run says of one tag: how often the checker reads it on faces drawn with it asked and
    not asked, on real held-out faces with and without it, and its AUC on those real faces."""
    real = (
        f"real faces: {_figure(f.read_real_with)} / {_figure(f.read_real_without)}"
        if f.n_real_with + f.n_real_without
        else "no real held-out faces"
    )
    auc = (
        f"AUC on real held-out faces {f.auc:.2f}"
        if not math.isnan(f.auc)
        else f"no AUC (it needs held-out faces with and without it: {f.n_real_with} / {f.n_real_without})"
    )
    return (
        f"tag '{f.tag}': read on {_figure(f.read_asked)} of faces asked for it, "
        f"{_figure(f.read_not_asked)} not asked ({real}); {auc}"
    )


def support_said(figures: dict[str, TagFigures]) -> list[str]:
    """The run's lines: tag_line for every tag, then evaluate.tag_support's warning lines."""
    return [tag_line(f) for f in figures.values()] + support_lines(figures)
