"""Which other tags (smile, glasses, ...) a model can be asked for, and whether asking does anything.

Colours are graded by whether the checker reads the asked value; an other tag is on or off, so it is
graded by how often the checker reads it (sigmoid > READ_AT) on faces drawn with it asked and on the
same faces (same z, same colours) drawn without it, beside the same two rates on real held-out faces
that have and do not have it. Whether the data supports a tag at all is the checker's ROC AUC on the
real held-out faces: a tag the images do not show (a noisy CSV tag) scores about 0.5, and gets a line
saying that asking for it may do nothing, rather than a silent promise.

`tag_support` is the one computation (evaluate.metrics' eval.csv columns, the end of training, the
report); `sheet_lines` grades a sheet for generate.py --grade. numpy only at import (the fast path).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sampling.generation import Request, generate_requests
from tags.parser import Query, complete

SUPPORTED_AUC = 0.75  # below: the checker cannot tell the tag apart on real faces (issue 34's bar)
READ_AT = 0.5  # a tag is read when the checker's sigmoid probability is above this
TAG_FACES = 50  # generated faces per tag, drawn with it and (same z and colours) without it
COLUMNS = ("read_asked", "read_not_asked", "read_real_with", "read_real_without", "auc")  # eval.csv: NAME/tag


def roc_auc(labels, scores) -> float:
    """The area under the ROC curve: the chance that a random positive scores above a random negative,
    ties counted half (the Mann-Whitney U statistic over n_pos x n_neg). NaN without both classes."""
    labels = np.asarray(labels, bool).ravel()
    scores = np.asarray(scores, np.float64).ravel()
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    _, tie_group, tie_counts = np.unique(scores, return_inverse=True, return_counts=True)
    first_rank = np.cumsum(tie_counts) - tie_counts  # ranks from 0; a tie shares its group's mean rank
    ranks = (first_rank + (tie_counts - 1) / 2.0)[tie_group] + 1.0
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


@dataclass
class TagFigures:
    """One other tag's figures (NaN where not measured) and the face counts behind them."""

    tag: str
    read_asked: float = float("nan")
    read_not_asked: float = float("nan")
    read_real_with: float = float("nan")
    read_real_without: float = float("nan")
    auc: float = float("nan")
    n_generated: int = 0
    n_real_with: int = 0
    n_real_without: int = 0

    @property
    def supported(self) -> bool | None:
        """Does the checker tell the tag apart on real held-out faces? None when not measured."""
        return None if math.isnan(self.auc) else self.auc >= SUPPORTED_AUC

    def warning(self) -> str | None:
        """The one line for a tag the real faces do not support (None for one they do)."""
        if self.supported is not False:
            return None
        return (
            f"the checker cannot tell '{self.tag}' apart on real held-out faces (AUC {self.auc:.2f}): "
            "the images may not show it; asking for it may do nothing"
        )

    def columns(self) -> dict[str, float]:
        """eval.csv's columns of this tag: read_asked/<tag>, ..., auc/<tag>."""
        return {f"{name}/{self.tag}": _rounded(getattr(self, name)) for name in COLUMNS}


def _rounded(x: float) -> float:
    return round(float(x), 4) if math.isfinite(x) else float("nan")


def _rate(read: np.ndarray) -> float:
    return float(read.mean()) if len(read) else float("nan")


def shared_tags(vocab, checker) -> list[str]:
    """The other tags of `vocab` the checker reads, in the vocabulary's order."""
    return [t for t in vocab.other_tags if t in (checker.other_tags or [])]


def _read_other(checker, images, tags: list[str]) -> np.ndarray:
    """bool [n, len(tags)]: does the checker read each tag on each image."""
    if len(images) == 0:
        return np.zeros((0, len(tags)), bool)
    probs = checker.predict(images)["other"]
    return probs[:, [checker.other_tags.index(t) for t in tags]] > READ_AT


def real_figures(checker, data, tags: list[str]) -> dict[str, TagFigures]:
    """The checker on the real held-out faces of `data` (a preprocess CachedData): its AUC per tag and
    how often it reads the tag on faces that have it and on faces that do not."""
    if not tags:
        return {}
    rows = data.holdout_indices()
    n_other = len(data.vocab.other_tags)
    truth = data.conditions[rows, data.conditions.shape[1] - n_other :] > 0.5  # other tags: last columns
    probs = (
        checker.predict(data.images[rows])["other"] if len(rows) else np.zeros((0, len(checker.other_tags)))
    )
    out = {}
    for tag in tags:
        if tag not in data.vocab.other_tags:
            out[tag] = TagFigures(tag)
            continue
        has = truth[:, data.vocab.other_tags.index(tag)]
        p = probs[:, checker.other_tags.index(tag)]
        out[tag] = TagFigures(
            tag,
            read_real_with=_rate(p[has] > READ_AT),
            read_real_without=_rate(p[~has] > READ_AT),
            auc=roc_auc(has, p),
            n_real_with=int(has.sum()),
            n_real_without=int((~has).sum()),
        )
    return out


def generated_figures(
    generator, checker, tags: list[str], *, n: int = TAG_FACES, seed: int = 0
) -> dict[str, tuple[float, float]]:
    """{tag: (read when asked, read when not asked)} on n faces per tag: colours drawn from the training
    frequencies, no other tag asked, then the same faces (same z, same colours) with only the tag asked."""
    vocab = generator.vocab
    plain = complete(Query({}, ()), vocab, np.random.default_rng([seed, 34]), n)
    without = generate_requests(generator, [Request("without", "", plain)], seed)[0]
    read_without = _read_other(checker, without, tags)
    out = {}
    for j, tag in enumerate(tags):
        asked = [vocab.tagset(t.as_dict(), [tag]) for t in plain]
        faces = generate_requests(generator, [Request(tag, tag, asked)], seed)[0]
        out[tag] = (_rate(_read_other(checker, faces, [tag])[:, 0]), _rate(read_without[:, j]))
    return out


def tag_support(
    checker, data=None, generator=None, *, n: int = TAG_FACES, seed: int = 0
) -> dict[str, TagFigures]:
    """Every other tag's figures that the arguments allow: with `data` (real held-out faces) the AUC and
    the real read rates, with `generator` the asked / not-asked read rates on n generated faces per tag.
    The tags are those of the generator's vocabulary (else the data's) that the checker reads; {} for a
    colour-only vocabulary or checker."""
    vocab = generator.vocab if generator is not None else data.vocab if data is not None else None
    if vocab is None:
        raise ValueError("tag_support needs data, a generator or both")
    tags = shared_tags(vocab, checker)
    if not tags:
        return {}
    figures = real_figures(checker, data, tags) if data is not None else {t: TagFigures(t) for t in tags}
    if generator is not None:
        for tag, (asked, not_asked) in generated_figures(generator, checker, tags, n=n, seed=seed).items():
            figures[tag].read_asked, figures[tag].read_not_asked = asked, not_asked
            figures[tag].n_generated = n
    return figures


def eval_columns(figures: dict[str, TagFigures]) -> dict[str, float]:
    """eval.csv / metrics.json columns of every tag, tag by tag (none for a colour-only model)."""
    return {k: v for f in figures.values() for k, v in f.columns().items()}


def support_lines(figures: dict[str, TagFigures]) -> list[str]:
    """One line per tag the real held-out faces do not support."""
    return [w for w in (f.warning() for f in figures.values()) if w]


def figures_from_row(row: dict) -> dict[str, TagFigures]:
    """The figures of every tag that a metrics row (metrics.json, a row of eval.csv, evaluate_generator's
    result) holds columns for."""
    tags = sorted({k.split("/", 1)[1] for k in row if k.split("/", 1)[0] in COLUMNS and "/" in k})
    return {t: TagFigures(t, **{name: _number(row.get(f"{name}/{t}")) for name in COLUMNS}) for t in tags}


def recorded_figures(model_dir: str | Path) -> dict[str, TagFigures]:
    """The figures last written by evaluate.metrics or a training run's evaluation: metrics.json, else
    eval.csv's last row, in the model folder or, for RUN/export, in the run. {} when none holds them."""
    folder = Path(model_dir)
    for place in [folder] + ([folder.parent] if folder.name == "export" else []):
        figures = figures_from_row(_metrics_row(place))
        if figures:
            return figures
    return {}


def _metrics_row(place: Path) -> dict:
    try:
        data = json.loads((place / "metrics.json").read_text())
        if isinstance(data, dict):
            return data
    except (OSError, ValueError):
        pass
    try:
        with open(place / "eval.csv", newline="") as fh:
            rows = list(csv.DictReader(fh))
        return rows[-1] if rows else {}
    except (OSError, csv.Error, UnicodeDecodeError):
        return {}


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def sheet_lines(cells, tagsets, checker, vocab, reference: dict[str, TagFigures] | None = None) -> list[str]:
    """generate.py --grade's lines for the other tags: per tag, how often the checker reads it on the cells
    drawn with it asked and on those drawn without, beside the real held-out figures of `reference`
    (recorded_figures) when there are any; then the lines of the tags the real faces do not support."""
    tags = shared_tags(vocab, checker)
    if not tags:
        return []
    read = _read_other(checker, np.stack(cells) if len(cells) else np.zeros((0, 1, 1, 3), np.uint8), tags)
    reference = reference or {}
    lines = [f"other tags read by the checker (probability > {READ_AT:g}):"]
    for j, tag in enumerate(tags):
        asked = np.array([tag in t.extras for t in tagsets], bool)
        parts = [_share(read[asked, j], "asked for it"), _share(read[~asked, j], "drawn without it")]
        ref = reference.get(tag)
        if ref is not None and not math.isnan(ref.auc):
            parts.append(
                f"real held-out faces {_figure(ref.read_real_with)} with it, "
                f"{_figure(ref.read_real_without)} without (AUC {ref.auc:.2f})"
            )
        lines.append(f"  {tag}: " + "; ".join(parts))
    if not any(t in reference for t in tags):
        lines.append(
            "  (no real held-out figures for these tags yet: python -m evaluate.metrics MODEL "
            "--images DIR --tags-csv CSV records them)"
        )
    return lines + support_lines({t: f for t, f in reference.items() if t in tags})


def _share(read: np.ndarray, what: str) -> str:
    return f"read on {int(read.sum())} of the {len(read)} faces {what}" if len(read) else f"no face {what}"


def _figure(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.2f}"


def other_tag_lines(sheet, checker, generator) -> list[str]:
    """sheet_lines for a graded sheet (sampling.sheet) of `generator`, its blank cells left out, beside the
    figures recorded for the model (recorded_figures)."""
    drawn = [i for i, t in enumerate(sheet.tags) if t is not None]
    return sheet_lines(
        [sheet.cells[i] for i in drawn],
        [sheet.tags[i] for i in drawn],
        checker,
        generator.vocab,
        recorded_figures(generator.model_dir),
    )
