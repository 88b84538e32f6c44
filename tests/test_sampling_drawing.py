"""sampling.drawing.Drawing and sampling.options (issue 36, item 1): a drawing is checked once when it is
built, against the one table of limits (every range, SEED_MAX, the modes that exclude each other), knows
its own file stem, and generate.py and the studio, which both build one and call sampling.sheet.draw,
give the same drawing the same name and the same pixels."""

import ast
import io
import re

import numpy as np
import pytest

from common.cli import UserError
from model.config import RANGES, SEED_MAX
from sampling.drawing import Drawing
from sampling.options import EXCLUDES, OPTIONS, check_options, flag
from tests.conftest import ROOT

DEFAULT = ROOT / "models" / "default"
NUMBERS = sorted(name for name, option in OPTIONS.items() if option.low is not None)


@pytest.mark.parametrize("name", NUMBERS)
def test_every_range_of_the_table_is_checked_when_a_drawing_is_built(name):
    low, high = OPTIONS[name].low, OPTIONS[name].high
    for value in (low, high):  # both ends are in
        assert getattr(Drawing(tags=("blue hair",), **{name: value}), name) == value
    decimal = isinstance(low, float)
    for value in [low - 1, high + 1] + ([float("nan")] if decimal else []):
        with pytest.raises(UserError, match=f"^{flag(name)} must be between {low} and {high}, not"):
            Drawing(tags=("blue hair",), **{name: value})


def test_seed_max_is_written_once_and_every_seed_range_is_it():
    assert OPTIONS["seed"].high == RANGES["seed"][1] == SEED_MAX == 2**32 - 1
    Drawing(tags=("red hair",), seed=SEED_MAX)
    with pytest.raises(UserError, match="--seed must be between 0 and 4294967295"):
        Drawing(interpolate=("1", str(SEED_MAX + 1)), tags=("red hair",))  # an end that is a seed
    sources = [
        p
        for d in ("common", "model", "sampling", "studio", "evaluate", "report", "editing")
        for p in (ROOT / d).rglob("*.py")
    ] + [ROOT / "generate.py"]
    written = [
        p.relative_to(ROOT).as_posix()
        for p in sources
        if re.search(r"2 ?\*\* ?32|4294967295|SEED_MAX\s*=", p.read_text())
    ]
    assert written == ["model/config.py"]


def test_the_studio_types_its_parameters_from_the_table():
    from studio.params import PARAMS

    kinds = {
        "int": "int",
        "decimal": "decimal",
        "flag": "flag",
        "texts": "text",
        "text": "text",
        "pair": "seed_or_tags",
    }
    pages = {page: (option, limits) for option in OPTIONS.values() for page, limits in option.page.items()}
    assert set(pages) == {
        "tags",
        "n",
        "rows",
        "seed",
        "group",
        "a",
        "b",
        "steps",
        "truncation",
        "cols",
        "scale",
        "grade",
    }
    for page, (option, (high, default)) in pages.items():
        param = PARAMS[page]
        assert (param.kind, param.default, param.high) == (kinds[option.kind], default, high), page
        if option.low is not None:
            assert param.low == option.low and high <= option.high, page  # inside the command line's


def test_a_page_parameter_is_read_strictly_from_its_text():
    from sampling.options import read_text

    assert read_text("n", "int", "25", 1, 100) == 25 and read_text("t", "decimal", ".7", 0.0, 1.0) == 0.7
    assert read_text("grade", "flag", "on") is True and read_text("grade", "flag", "") is False
    assert (
        read_text("a", "seed_or_tags", "12", 0, 300) == 12
        and read_text("a", "seed_or_tags", "red hair", 0, 300) == "red hair"
    )
    for args, words in [
        (("n", "int", "+5", 1, 100), "digits 0-9 only"),
        (("n", "int", "\u0665", 1, 100), "digits 0-9 only"),  # an Arabic-Indic 5
        (("n", "int", "101", 1, 100), "n must be from 1 to 100"),
        (("t", "decimal", "nan", 0.0, 1.0), "such as 0.7"),
        (("grade", "flag", "maybe"), "0 or 1"),
        (("a", "seed_or_tags", "-1", 0, 300), f"from 0 to {SEED_MAX}"),
        (("tags", "text", "a" * 301, 0, 300), "longer than 300"),
    ]:
        with pytest.raises(UserError, match=words):
            read_text(*args)


def test_modes_that_exclude_each_other():
    for other in ({"sweep": "hair"}, {"interpolate": ("blue hair", "red hair")}):
        with pytest.raises(UserError, match="--best-of picks each cell's face on its own"):
            Drawing(best_of=4, **other)
        Drawing(best_of=1, **other)  # 1 is off: no clash
    Drawing(tags=("blue hair",), best_of=4, truncation=0.5)
    with pytest.raises(UserError, match="--serve takes no --truncation or --best-of"):
        check_options({"serve": True, "truncation": 0.7})
    check_options({"serve": True, "truncation": 1.0, "best_of": 1})
    edit = "^--edit draws one face you bring; it does not take --seeds, --grade$"
    with pytest.raises(UserError, match=edit):
        check_options({"edit": "face.png", "seeds": "0-3", "grade": True, "tags": ["green hair"]})
    assert {mode for mode, _, _ in EXCLUDES} == {"best_of", "serve", "edit"}
    with pytest.raises(UserError, match="^nothing to draw"):
        Drawing(n=4)
    with pytest.raises(UserError, match="--seeds takes numbers and ranges"):
        Drawing(tags=("blue hair",), seeds="7-1")


def test_a_drawing_is_a_frozen_value():
    a = Drawing(tags=["blue hair"], interpolate=None, seed=3)
    assert a == Drawing(tags=("blue hair",), seed=3) and hash(a) == hash(Drawing(tags=("blue hair",), seed=3))
    with pytest.raises(AttributeError):
        a.seed = 4


@pytest.fixture(scope="module")
def vocab():
    from tags.vocab import Vocabulary

    return Vocabulary.load(DEFAULT / "vocab.json")


@pytest.mark.parametrize(
    "what,stem",
    [
        (dict(tags=("Red Eyes, Blue Hair",)), "blue_hair_red_eyes"),
        (dict(tags=("blue hair red eyes",), n=25, seed=0), "blue_hair_red_eyes"),  # the defaults, given
        (dict(tags=("blue hair red eyes",), seed=3, n=8), "blue_hair_red_eyes_seed3_n8"),
        (dict(tags=("blue hair red eyes",), truncation=0.7, best_of=4), "blue_hair_red_eyes_trunc0.7_best4"),
        (dict(tags=("blue hair red eyes",), seeds="1,3,5-7", n=4), "blue_hair_red_eyes_seeds1_3_5-7"),
        (dict(tags=("pink hair", "white hair aqua eyes"), n=8), "pink_hair_vs_white_hair_aqua_eyes_n8"),
        (
            dict(tags=("pink hair", "white hair"), n=5, cols=2, scale=3, labels=True, grade=True),
            "pink_hair_vs_white_hair",
        ),  # layout and grading change no face
        (dict(sweep="Eyes", tags=("red hair",), n=2), "sweep_eyes_red_hair_n2"),
        (dict(sweep="hair", n=4, seed=1), "sweep_hair_seed1"),
        (
            dict(interpolate=("blue hair red eyes", "green hair"), cells=6),
            "interpolate_blue_hair_red_eyes_to_green_hair_cells6",
        ),
        (
            dict(interpolate=(1, 2), tags=("red eyes blue hair",)),
            "interpolate_seed1_to_seed2_blue_hair_red_eyes",
        ),
        (dict(lines=(("1", "blue hair"),), seed=2), "cgan"),  # a tags file: the variant names its folder
    ],
)
def test_the_file_stem_is_the_canonical_tags_and_what_differs(vocab, what, stem):
    drawing = Drawing(**what)
    assert drawing.file_stem(vocab) == stem
    if drawing.kind == "lines":
        assert drawing.variant == "seed2"


def test_drawing_leaves_the_shared_generator_as_it_was():
    """Truncation and best-of hold for one draw: two requests never meet in the generator's state."""
    from sampling.runtime import load_generator
    from sampling.sheet import draw

    generator = load_generator(DEFAULT)
    plain = draw(generator, Drawing(tags=("blue hair red eyes",), n=4, seed=1)).image
    truncated = draw(generator, Drawing(tags=("blue hair red eyes",), n=4, seed=1, truncation=0.5)).image
    assert (generator.truncation, generator.best_of) == (1.0, 1) and not np.array_equal(plain, truncated)
    again = draw(generator, Drawing(tags=("blue hair red eyes",), n=4, seed=1)).image
    np.testing.assert_array_equal(again, plain)
    with pytest.raises(AttributeError):
        generator.truncation = 0.5


@pytest.fixture(scope="module")
def studio():
    from studio.app import Studio

    return Studio(ROOT, DEFAULT)


# (the studio's endpoint and query, the same drawing as generate.py flags)
SAME = [
    (
        "grid",
        "tags=Red+Eyes,+Blue+Hair&seed=3&n=6&cols=3&scale=2",
        ["--tags", "blue hair red eyes", "--seed", "3", "--n", "6", "--cols", "3", "--scale", "2"],
    ),
    (
        "grid",
        "tags=green+hair&truncation=0.7&grade=1",
        ["--tags", "green hair", "--truncation", "0.7", "--grade"],
    ),
    (
        "sweep",
        "group=eyes&tags=red+hair&rows=2&seed=4",
        ["--sweep", "eyes", "--tags", "red hair", "--n", "2", "--seed", "4"],
    ),
    (
        "interpolate",
        "a=1&b=2&tags=red+hair+blue+eyes&steps=3",
        ["--interpolate", "1", "2", "--tags", "red hair blue eyes", "--cells", "3"],
    ),
]


@pytest.mark.parametrize("endpoint,query,flags", SAME, ids=[s[0] + ":" + s[1][:20] for s in SAME])
def test_the_cli_and_the_studio_give_one_drawing_one_name_and_the_same_pixels(
    studio, endpoint, query, flags, tmp_path, capsys, monkeypatch
):
    import imageio.v3 as iio
    from PIL import Image

    from generate import main
    from studio.params import parse_params

    body, filename = getattr(studio, endpoint)(parse_params(endpoint, query), False)
    monkeypatch.chdir(tmp_path)
    assert main(["--model", str(DEFAULT), *flags, "--out", "out"]) == 0, capsys.readouterr().err
    written = [p.name for p in (tmp_path / "out").iterdir()]
    assert written == [filename]
    np.testing.assert_array_equal(
        np.asarray(Image.open(io.BytesIO(body)).convert("RGB")), iio.imread(tmp_path / "out" / filename)
    )


def test_no_namespace_below_the_command_lines():
    """sampling/, studio/, editing/, evaluate/ and report/ take no argparse.Namespace: their functions get
    a Drawing or plain values (a module's own main() may parse its own flags)."""
    found = []
    for folder in ("sampling", "studio", "editing", "evaluate", "report"):
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text())
            found += [
                f"{path.name}: Namespace"
                for node in ast.walk(tree)
                if isinstance(node, (ast.Name, ast.Attribute)) and "Namespace" in ast.unparse(node)
            ]
            found += [
                f"{path.name}:{node.name}"
                for node in ast.walk(tree)
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                and any(a.arg == "args" for a in node.args.args + node.args.kwonlyargs)
            ]
    assert found == []
