"""The one table of a drawing's parameters: the range of every number (the command line's, and the
studio's narrower one with its default: a page draws while you wait), the --help of each flag, and
which modes exclude each other. sampling.drawing.Drawing is checked against it when it is built,
generate.py makes its flags from it and the studio its parameter types, so no range is written twice.
COMMAND_LINE holds generate.py's other flags (the model, the output, --edit, --serve), so that its
modes are checked by the same rules. Standard library only (the fast path reads it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from common.cli import UserError, clip
from model.config import SEED_MAX
from tags import TagError

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "models" / "default"
GROUPS = {  # --help's groups of flags, in order; an Option's `group` names one (None: the parser's own)
    "model": "model",
    "draw": "what to draw",
    "output": "output",
    "edit": "recolour a face you bring (needs TensorFlow: a few seconds per face)",
    "studio": "tag studio (a local web page: pick tags, compare models, grade, download)",
}


@dataclass(frozen=True)
class Option:
    """One parameter of a drawing, or flag of generate.py. `kind`: int, decimal, flag, text, texts
    (repeatable), pair (two tag texts or two seeds) or seeds (a range such as 0-7); `low`-`high`: a
    number's range; `page`: the studio's parameter name -> (its highest value or longest text, its
    default); `shown`: the default --help names when it is worked out later; `group`: its --help group
    (GROUPS); `choices`: the values a text may take; `spelling`: its flag when that is not --name."""

    kind: str
    help: str
    default: object = None
    low: float | None = None
    high: float | None = None
    page: dict = field(default_factory=dict)
    metavar: str | None = None
    shown: str | None = None
    group: str | None = "draw"
    choices: tuple[str, ...] | None = None
    spelling: str | None = None

    @property
    def argparse(self) -> dict:
        """The keywords of its flag in generate.py: type or action, default, help with the range."""
        kind = {
            "int": {"type": int},
            "decimal": {"type": float},
            "flag": {"action": "store_true"},
            "texts": {"action": "append"},
            "pair": {"nargs": 2},
        }.get(self.kind, {})
        words = self.help if self.low is None else f"{self.help}; {self.low} to {self.high}"
        words += f" (default: {self.shown})" if self.shown else ""
        named = {"metavar": self.metavar} if self.metavar else {}
        named |= {"choices": self.choices} if self.choices else {}
        return kind | {"default": self.default, "help": words} | named


OPTIONS = {
    "tags": Option(
        "texts",
        'tag text such as "blue hair red eyes" (repeatable; a group left out is drawn '
        "per image from the training data)",
        page={"tags": (300, None)},
        metavar="TEXT",
    ),
    "n": Option(
        "int",
        "samples per tag text (rows of --sweep)",
        None,
        1,
        1000,
        page={"n": (100, 25), "rows": (8, 4)},
        shown="25 for one --tags, 4 for --sweep, 5 for several or a tags file",
    ),
    "seed": Option(
        "int",
        "random seed: the same seed and tags give the same faces",
        0,
        0,
        SEED_MAX,
        page={"seed": (SEED_MAX, 0)},
    ),
    "seeds": Option(
        "seeds",
        "one face per seed for each tag text, a column per seed: 0-7 or 1,3,5-7 "
        "(replaces --n and --seed; column k is --seed k's first face)",
        metavar="RANGE",
    ),
    "sweep": Option(
        "text",
        "fixed z, one column per colour of a group (hair, eyes), or for an other tag of "
        "the model (--list-tags) a column without it and one with it",
        page={"group": (60, None)},
        metavar="GROUP|TAG",
    ),
    "interpolate": Option(
        "pair",
        "between two tag texts (same z) or two integer seeds (same --tags)",
        page={"a": (300, None), "b": (300, None)},
        metavar=("A", "B"),
    ),
    "cells": Option("int", "cells of --interpolate", 8, 2, 256, page={"steps": (16, 8)}),
    "truncation": Option(
        "decimal",
        "scale z towards 0 by T (1: off; lower: cleaner but less varied faces)",
        1.0,
        0.0,
        1.0,
        page={"truncation": (1.0, 1.0)},
        metavar="T",
    ),
    "best_of": Option(
        "int",
        "draw K faces per cell and keep the one D reconstructs best under its tags "
        "(1: off; slower by about 3.5K)",
        1,
        1,
        64,
        metavar="K",
    ),
    "cols": Option(
        "int",
        "grid columns",
        None,
        1,
        100,
        page={"cols": (20, 5)},
        group="output",
        shown="one per --seeds seed, else full rows: 5 for 25, 4 for 8",
    ),
    "labels": Option(
        "flag",
        "tag text beside each grid row (on by default for several tag texts and --sweep)",
        False,
        group="output",
    ),
    "scale": Option(
        "int",
        "nearest-neighbour upscaling of the grid",
        1,
        1,
        32,
        page={"scale": (4, 1)},
        group="output",
    ),
    "grade": Option(
        "flag",
        "mark each cell's tags right/wrong with the model's tag checker",
        False,
        page={"grade": (None, False)},
        group="output",
    ),
}

# generate.py's flags besides a drawing's (python -m studio shares --port and --host)
COMMAND_LINE = {
    "model": Option(
        "text",
        "run directory or exported model directory",
        str(DEFAULT_MODEL),
        page={"model": (300, None)},
        shown="the bundled models/default",
        group="model",
    ),
    "backend": Option(
        "text",
        "auto = LiteRT when generator.tflite exists (fast start), else TensorFlow",
        "auto",
        group="model",
        choices=("auto", "litert", "tensorflow"),
    ),
    "out": Option(
        "text",
        "a .png path for the grid (sample files go beside it), or a folder for everything (default: "
        "samples/, samples/<model>/ for a model other than the bundled one; file names from the "
        "canonical tags plus what differs: seed, seeds, n, cells, truncation, best-of)",
        group="output",
    ),
    "format": Option(
        "text",
        "grid PNG, sample_<id>_<k>.jpg files, or both",
        "grid",
        group="output",
        choices=("grid", "files", "both"),
    ),
    "tags_file": Option("text", "MLDS test file with 'id,text' lines"),
    "list_tags": Option("flag", "list the model's tags by group and exit", False),
    "edit": Option(
        "text",
        "an image of a face: find it in the generator and draw it with --tags replacing its own "
        "(groups not named keep the face's colours), or --sweep a group",
        metavar="FACE",
        group="edit",
    ),
    "from_tags": Option(
        "text",
        "the face's own tags (default: read by the model's tag checker)",
        page={"from": (300, None)},
        metavar="TEXT",
        group="edit",
        spelling="--from",
    ),
    "strip": Option(
        "flag", "with --edit: write original | reconstruction | edit side by side", False, group="edit"
    ),
    "serve": Option(
        "flag", "start the studio for --model instead of drawing; Ctrl-C stops it", False, group="studio"
    ),
    "port": Option("int", "studio port (0: any free port)", 8765, 0, 65535, group="studio"),
    "host": Option("text", "studio address (127.0.0.1: this machine only)", "127.0.0.1", group="studio"),
    "verbose": Option(
        "flag",
        "also show the libraries' logs (TensorFlow, LiteRT); or set TAGFACE_VERBOSE=1",
        False,
        group=None,
    ),
}

# Modes that exclude each other: (a mode, what it cannot be given with, the one line that says so).
# A Drawing checks the rows of its own options; generate.py checks the whole command line, whose
# --serve and --edit draw no Drawing.
EXCLUDES = (
    (
        "best_of",
        ("sweep", "interpolate"),
        "--best-of picks each cell's face on its own, which would break "
        "the fixed z of --sweep and --interpolate; use it with --tags or --tags-file",
    ),
    (
        "serve",
        ("truncation", "best_of"),
        "--serve takes no --truncation or --best-of: the studio page has "
        "its own truncation control (and no best-of yet); draw best-of on the command line instead",
    ),
    (
        "edit",
        ("tags_file", "seeds", "interpolate", "list_tags", "serve", "grade", "best_of", "truncation"),
        "--edit draws one face you bring; it does not take {given}",
    ),
)
_DIGITS = re.compile(r"[0-9]{1,40}", re.ASCII)
_DECIMAL = re.compile(r"[0-9]{1,3}(\.[0-9]{1,6})?|\.[0-9]{1,6}", re.ASCII)
MAX_CELLS = 5000  # faces in one call
MAX_GRID_PIXELS = 100_000_000  # about 300 MB of RGB


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def check_range(name: str, value, low, high) -> None:
    """A UserError naming --name and its range when `value` is outside [low, high] (NaN is)."""
    if value is not None and not low <= value <= high:
        raise UserError(f"{flag(name)} must be between {low} and {high}, not {clip(value, 30)}")


def is_set(name: str, value) -> bool:
    """Is `name` asked for: given and not its table default (truncation 1 and best-of 1 are off)."""
    if value is None or value is False or (isinstance(value, (list, tuple)) and not value):
        return False
    return name not in OPTIONS or value != OPTIONS[name].default


def check_options(values: dict) -> None:
    """Every number of `values` (name -> value: a drawing's, or generate.py's command line) in its range,
    then no two modes that exclude each other."""
    for name, value in values.items():
        option = OPTIONS.get(name) or COMMAND_LINE.get(name)
        if option is not None and option.low is not None:
            check_range(name, value, option.low, option.high)
    for mode, others, why in EXCLUDES:
        if is_set(mode, values.get(mode)):
            given = [flag(o) for o in others if is_set(o, values.get(o))]
            if given:
                raise UserError(why.format(given=", ".join(given)))


def check_output_size(cells: int, image_size: int, scale: int) -> None:
    """Refuse a call that would draw too many faces or a grid too large to hold in memory."""
    if cells > MAX_CELLS:
        raise UserError(f"{cells} faces in one call; at most {MAX_CELLS} (lower --n or split the tags file)")
    pixels = cells * (image_size * scale) ** 2
    if pixels > MAX_GRID_PIXELS:
        raise UserError(
            f"the grid would hold {pixels / 1e6:.0f} million pixels "
            f"({pixels * 3 / 2**30:.1f} GiB); at most {MAX_GRID_PIXELS // 10**6} million: "
            "lower --scale or --n"
        )


def read_text(name: str, kind: str, text: str, low=0, high=0):
    """A value given as text (the studio's parameters), read strictly by its `kind` (a page parameter's:
    int, decimal, flag, text or seed_or_tags, studio.params): an int is plain ASCII digits from `low` to
    `high` (no sign, space, '_' or other scripts' digits), a decimal digits with one point, a flag 0 or 1,
    a text at most `high` characters, and seed_or_tags a seed when it is digits, else tag text. A
    UserError naming `name` otherwise."""
    if kind == "flag":
        if text.lower() not in ("", "0", "1", "true", "false", "on", "off"):
            raise UserError(f"{name} must be 0 or 1, got {text[:40]!r}")
        return text.lower() in ("1", "true", "on")
    if kind == "int":
        return _whole(name, text, low, high)
    if kind == "decimal":
        if not _DECIMAL.fullmatch(text) or not low <= float(text) <= high:
            raise UserError(
                f"{name} must be a number from {low:g} to {high:g} (such as 0.7), got {text[:40]!r}"
            )
        return float(text)
    if kind == "seed_or_tags" and (_DIGITS.fullmatch(text) or text.lstrip("-+").isdigit()):
        return _whole(name, text, OPTIONS["seed"].low, OPTIONS["seed"].high, "a seed")
    if len(text) > high:
        raise UserError(f"{name} is longer than {high} characters")
    return text


def _whole(name: str, text: str, low: int, high: int, what: str = "a whole number") -> int:
    if not _DIGITS.fullmatch(text):
        raise UserError(f"{name} must be {what} from {low} to {high} (digits 0-9 only), got {text[:40]!r}")
    if not low <= int(text) <= high:
        raise UserError(f"{name} must be from {low} to {high}, got {text[:40]}")
    return int(text)


def parse_seed(text: str) -> int | None:
    """An ASCII integer seed in range, or None when `text` is not one (then it is a tag text)."""
    if not re.fullmatch(r"\s*-?[0-9]{1,30}\s*", str(text)):
        return None
    seed = int(text)
    check_range("seed", seed, OPTIONS["seed"].low, OPTIONS["seed"].high)
    return seed


def parse_seeds(text: str) -> list[int]:
    """'0-7' -> [0..7]; '1,3,5-7' -> [1, 3, 5, 6, 7] (stylegan2-ada's --seeds convention)."""
    seeds = []
    for part in str(text).replace(" ", "").split(","):
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m or (m.group(2) and int(m.group(2)) < int(m.group(1))):
            raise TagError(f"--seeds takes numbers and ranges such as 0-7 or 1,3,5-7, not {text!r}")
        seeds += list(range(int(m.group(1)), int(m.group(2) or m.group(1)) + 1))
    if len(seeds) > 1000:
        raise TagError(f"--seeds {text}: {len(seeds)} seeds; give at most 1000")
    return seeds
