"""Drawing: everything that decides one picture, checked once when it is built (sampling.options'
table), and the one file-naming rule. generate.py and the studio both build a Drawing and call
sampling.sheet.draw, so the same drawing gives them the same pixels and the same file name.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from common.cli import UserError, clip
from common.ids import safe_name
from sampling.grid import full_rows_cols
from sampling.options import OPTIONS, check_options, parse_seed, parse_seeds
from tags import TagError
from tags.canonical import canonical_tag, file_stem
from tags.parser import parse

SWEEP_ROWS = OPTIONS["n"].page["rows"][1]
NOTHING = (
    'nothing to draw: give --tags "blue hair red eyes", --tags-file FILE, --sweep or --interpolate '
    "(see --help)"
)


def _default(name: str):
    return OPTIONS[name].default


@dataclass(frozen=True)
class Drawing:
    """One picture: a grid of `tags` (a block of rows per tag text), a tags file's `lines` ((id, text):
    one cell each, the course's grid), a `sweep` or an `interpolate` (sweep wins when both are given);
    `tags[0]` holds the tags a sweep or a seed interpolation keeps fixed. Defaults from the table."""

    tags: tuple[str, ...] = ()
    lines: tuple[tuple[str, str], ...] = ()
    n: int | None = _default("n")
    seed: int = _default("seed")
    seeds: str | None = _default("seeds")
    sweep: str | None = _default("sweep")
    interpolate: tuple[str, str] | None = _default("interpolate")
    cells: int = _default("cells")
    truncation: float = _default("truncation")
    best_of: int = _default("best_of")
    cols: int | None = _default("cols")
    labels: bool = _default("labels")
    scale: int = _default("scale")
    grade: bool = _default("grade")

    def __post_init__(self):
        set_ = object.__setattr__  # frozen: normalised once, here
        set_(self, "tags", tuple(self.tags or ()))
        set_(self, "lines", tuple(tuple(line) for line in self.lines or ()))
        if self.interpolate is not None:
            set_(self, "interpolate", tuple(str(end) for end in self.interpolate))
        check_options({name: getattr(self, name) for name in OPTIONS})
        if not (self.tags or self.lines or self.sweep or self.interpolate):
            raise UserError(NOTHING)
        if self.kind == "interpolation":
            for end in self.interpolate:
                parse_seed(end)  # a seed out of range is refused now, not after loading the model
        _ = self.seed_list  # a bad --seeds range is refused now

    @property
    def kind(self) -> str:
        """grid, lines (a tags file), sweep or interpolation."""
        return (
            "sweep"
            if self.sweep
            else "interpolation"
            if self.interpolate
            else "lines"
            if self.lines
            else "grid"
        )

    @property
    def graded(self) -> bool:
        """Are its cells to be marked by the tag checker (`grade`; sweeps and interpolations are not)?"""
        return self.grade and self.kind in ("grid", "lines")

    @property
    def notes(self) -> list[str]:
        """What its sampling options do, a line each (none when they are off)."""
        notes = []
        if self.truncation != _default("truncation"):
            notes.append(f"truncation {self.truncation:g}: z scaled towards 0 (1 is off)")
        k = self.best_of
        if k != _default("best_of"):
            notes.append(f"best of {k}: each face is the one of {k} that D reconstructs best")
        return notes

    @cached_property
    def seed_list(self) -> tuple[int, ...] | None:
        """`seeds` as numbers ('0-2' -> (0, 1, 2)), or None without them."""
        return tuple(parse_seeds(self.seeds)) if self.seeds else None

    @property
    def default_n(self) -> int | None:
        """n when none is given: 25 faces for one tag text, 5 per text for several or a tags file."""
        return {"grid": 25 if len(self.tags) == 1 else 5, "lines": 5, "sweep": SWEEP_ROWS}.get(self.kind)

    @property
    def per_text(self) -> int:
        """Faces per tag text (rows of a sweep): one per seed of `seeds`, else n or its default."""
        if self.seed_list and self.kind == "grid":
            return len(self.seed_list)
        return self.n or self.default_n

    def columns(self, cells: int) -> int:
        """The grid's columns: as given, one per seed, else full rows of `cells`."""
        return self.cols or (len(self.seed_list) if self.seed_list else full_rows_cols(cells))

    @property
    def variant(self) -> str:
        """What this drawing changes from the defaults, for its file name (seed3, seeds0-7, n8, cells12,
        trunc0.7, best4; empty for the defaults): the one naming rule of generate.py and the studio."""
        parts = []
        if self.seed_list:
            parts.append("seeds" + safe_name(self.seeds.replace(",", "_"), ""))
        elif self.seed:
            parts.append(f"seed{self.seed}")
        if self.n is not None and self.n != self.default_n and not self.seed_list:
            parts.append(f"n{self.n}")
        if self.interpolate and self.cells != _default("cells"):
            parts.append(f"cells{self.cells}")
        if self.truncation != _default("truncation"):
            parts.append(f"trunc{self.truncation:g}")
        if self.best_of != _default("best_of"):
            parts.append(f"best{self.best_of}")
        return "_".join(parts)

    def file_stem(self, vocab) -> str:
        """The file name without .png: the canonical tags (every spelling of them names one file) plus
        the variant; a tags file's grid keeps the course's name, cgan (the variant names its folder)."""
        text = self.tags[0] if self.tags else None
        if self.kind == "lines":
            return "cgan"
        if self.kind == "sweep":
            stem = f"sweep_{file_stem(sweep_target(vocab, self.sweep))}"
            stem += f"_{parse(text, vocab).file_stem}" if text else ""
        elif self.kind == "interpolation":
            stem = interpolation_stem(vocab, *self.interpolate, text)
        else:
            stem = "_vs_".join(parse(t, vocab).file_stem for t in self.tags)
        return safe_name(f"{stem}_{self.variant}" if self.variant else stem, "samples", limit=150)


def sweep_target(vocab, name: str) -> str:
    """What a sweep goes over, as the model names it ('Eye' -> 'eyes', 'Long Hair' -> 'long hair'): one of
    its groups or of its other tags; a TagError naming both otherwise."""
    target = canonical_tag(str(name))
    if target in vocab.groups or target in vocab.other_tags:
        return target
    others = (
        f"; its other tags are {', '.join(vocab.other_tags)}" if vocab.other_tags else ", and no other tags"
    )
    raise TagError(f"--sweep {clip(name, 40)}: this model's groups are {', '.join(vocab.groups)}{others}")


def interpolation_stem(vocab, a: str, b: str, tags_text: str | None = None) -> str:
    """The file stem of an interpolation, naming both ends by their canonical tags
    (interpolate_blue_hair_red_eyes_to_green_hair) or seeds (interpolate_seed1_to_seed2_blue_hair)."""
    seed_a, seed_b = parse_seed(a), parse_seed(b)
    if seed_a is not None and seed_b is not None:
        tags = parse(tags_text, vocab).file_stem if tags_text else "tags"
        return f"interpolate_seed{seed_a}_to_seed{seed_b}_{tags}"
    return f"interpolate_{parse(a, vocab).file_stem}_to_{parse(b, vocab).file_stem}"
