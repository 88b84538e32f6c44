"""Property-based tests of every command-line surface (issue 15): any flag value drawn
from numbers (negative, zero, huge, nan, inf), strings (unicode, control characters,
very long) and paths (missing, a file where a folder belongs, unwritable, with ..)
ends with exit status 0 or 2, never a traceback, never writes outside the asked
outputs (and never into the repository), leaves no temporary file, and says what
went wrong in one line under 300 characters.

The CLIs are called in-process (a subprocess per example would not fit CI's time
budget); train.py runs with --check, which validates and stops before any training.
Strings hold no NUL and no lone surrogates: a real command line cannot carry the
first, and Python's argv decoding gives the second only for invalid UTF-8 bytes.
"""

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sampling.outputs import is_png
from tests.cli_support import run_in_process
from tests.conftest import ROOT

CASES: dict[str, int] = {}  # CLI -> calls made by _call
MIN_CASES = 20  # each property test calls its CLI at least this often (their max_examples: 30 to 150)

NUMBERS = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(
        [
            "0",
            "-1",
            "1",
            "2",
            "nan",
            "inf",
            "-inf",
            "1e309",
            "-0",
            "4294967296",
            "1099511627776",
            "1e-320",
            "0x10",
            "1_000",
            " 7 ",
            "\u00b2",
            "\u0663",
            "5.5",
        ]
    ),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
TEXT = st.one_of(
    st.text(_CHARS, max_size=40),
    st.sampled_from(
        [
            "blue hair red eyes",
            "chartreuse hair",
            "blue hair, red eyes",
            "--",
            "-",
            "..",
            "../x",
            "\x1b[31mred hair",
            "red\nhair",
            "\u00b2 3",
        ]
    ),
    st.builds(
        lambda c, n: c * n,
        st.sampled_from(["x", "\u00e9", "\x1b", "\n", "blue hair "]),
        st.integers(200, 20_000),
    ),
)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory, synthetic_faces):
    """A work folder (the cwd of every call) and the paths drawn from."""
    import shutil

    from model.config import TrainConfig

    box = tmp_path_factory.mktemp("cli")
    work = box / "work"
    work.mkdir()
    (box / "file.txt").write_text("not a folder\n")
    (box / "dir").mkdir()
    (box / "garbage.csv").write_bytes(b"\xff\xfe\x00garbage,,,\n\n;;\n")
    run = box / "config_only_run"
    run.mkdir()
    TrainConfig(image_size=32).save(run)
    images = box / "images"
    shutil.copytree(synthetic_faces / "images", images)
    (box / "tags.csv").write_text(
        "\n".join((synthetic_faces / "tags_2018.csv").read_text().splitlines()[:12]) + "\n"
    )
    paths = [
        str(box / "missing" / "x"),
        str(box / "file.txt"),
        str(box / "file.txt" / "sub"),
        "../dir",
        "../dir/../file.txt",
        "/proc/self/not-writable/x",
        "",
        "a" * 300,
        "\u00e9\u00fc/\u00df.png",
        str(box / "dir"),
        ".",
        str(run),
        "../missing/../../x.png",
    ]
    return {
        "box": box,
        "work": work,
        "paths": paths,
        "run": run,
        "images": str(images),
        "tags": str(box / "tags.csv"),
        "garbage": str(box / "garbage.csv"),
    }


@pytest.fixture(autouse=True)
def _the_cli_really_ran(request):
    """A property test passes only if it called its CLI MIN_CASES times: a strategy that drew nothing,
    or examples all rejected before the call, would otherwise pass without testing anything."""
    before = dict(CASES)
    yield
    ran = {cli: n - before.get(cli, 0) for cli, n in CASES.items() if n > before.get(cli, 0)}
    assert len(ran) == 1 and min(ran.values()) >= MIN_CASES, (
        f"{request.node.name} made {ran or 'no'} CLI calls"
    )


def _tree(folder: Path, skip=(".git", ".venv", "__pycache__", ".pytest_cache", ".hypothesis")) -> dict:
    found = {}
    for base, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in skip]
        for f in files:
            p = Path(base) / f
            try:
                found[str(p)] = p.stat().st_mtime_ns
            except OSError:
                pass
    return found


def _call(name: str, main, argv: list[str], sandbox, allowed_extra=(), allowed_file=lambda path: False):
    """Run main(argv) in the sandbox; check the exit status, the error line and the writes (under an
    asked path or `allowed_extra`, or a file `allowed_file` accepts)."""
    CASES[name] = CASES.get(name, 0) + 1
    before_box, before_repo = _tree(sandbox["box"]), _tree(ROOT)
    done = run_in_process(main, *argv, cwd=sandbox["work"])
    code, errors = done.returncode, done.stderr
    assert code in (0, 2), (argv, code, errors[-500:])
    assert "Traceback" not in errors, (argv, errors[-2000:])
    if code == 2:
        lines = [l for l in errors.splitlines() if "error: " in l]
        assert lines, (argv, errors[-500:])
        assert len(lines[-1]) < 300, (argv, lines[-1][:400])
    assert _tree(ROOT) == before_repo, argv  # nothing written into the repository
    asked = [Path(sandbox["work"], a).resolve() for a in argv if a] + [
        Path(sandbox["work"], "samples").resolve()
    ]
    asked += [Path(p).resolve() for p in allowed_extra]
    for path in set(_tree(sandbox["box"])) - set(before_box):
        p = Path(path).resolve()
        assert ".tmp" not in p.name, (argv, path)  # no temporary file left behind
        assert any(p == a or p.is_relative_to(a) for a in asked) or allowed_file(p), (argv, path)
    return code


def _flags(table: dict, max_size: int = 4):
    """Draw a few flags of `table` (flag -> strategy of values) as argv."""
    return st.lists(st.sampled_from(sorted(table)), max_size=max_size, unique=True).flatmap(
        lambda names: (
            st.tuples(
                *[table[n].map(lambda v, n=n: [n] + (v if isinstance(v, list) else [v])) for n in names]
            )
            if names
            else st.just(())
        )
    )


def _paths(sandbox, *extra):
    return st.sampled_from(sandbox["paths"] + list(extra))


_SETTINGS = dict(
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)


@settings(max_examples=60, **_SETTINGS)
@given(data=st.data())
def test_generate(sandbox, data):
    from generate import main

    paths = _paths(sandbox, str(ROOT / "models" / "default"))
    # --out never names the bundled model: a draw that works would write its pictures into the checkout
    table = {
        "--seed": NUMBERS,
        "--n": NUMBERS,
        "--scale": NUMBERS,
        "--cols": NUMBERS,
        "--steps": NUMBERS,
        "--tags": TEXT,
        "--out": _paths(sandbox),
        "--interpolate": st.lists(st.one_of(TEXT, NUMBERS), min_size=2, max_size=2),
        "--sweep": st.sampled_from(["hair", "eyes", "x"]),
        "--model": paths,
        "--tags-file": paths,
        "--format": st.sampled_from(["grid", "files", "both", "x"]),
        "--labels": st.just([]),
        "--list-tags": st.just([]),
    }
    drawn = data.draw(_flags(table))
    argv = [a for flag in drawn for a in flag]
    if "--tags" not in argv and data.draw(st.booleans()):
        argv += ["--tags", "blue hair red eyes"]
    if "--n" not in argv:
        argv += ["--n", "2"]  # keep the valid examples quick
    given = {flag[0]: flag[1:] for flag in drawn}  # each flag drawn once
    out, fmt = given.get("--out", [""])[0], given.get("--format", ["grid"])[0]
    beside = Path(sandbox["work"], out).resolve().parent if is_png(out) and fmt in ("files", "both") else None

    def sample_beside_the_grid(path: Path) -> bool:  # a grid's sample files go beside it (generate.py --help)
        return path.parent == beside and path.name.startswith("sample_") and path.suffix == ".jpg"

    _call("generate.py", main, argv, sandbox, allowed_file=sample_beside_the_grid)


@pytest.mark.slow
@settings(max_examples=150, **_SETTINGS)
@given(data=st.data())
def test_train_check(sandbox, data):
    from model.config import TrainConfig
    from train import main

    table = {"--" + f.name.replace("_", "-"): st.one_of(NUMBERS, TEXT) for f in TrainConfig.flag_fields()}
    table.update(
        {
            "--images": _paths(sandbox, sandbox["images"]),
            "--tags-csv": _paths(sandbox, sandbox["tags"]),
            "--run-dir": _paths(sandbox),
            "--init-from": _paths(sandbox),
            "--threads": NUMBERS,
            "--resume": st.just([]),
        }
    )
    argv = [a for flag in data.draw(_flags(table, 5)) for a in flag]
    if "--images" not in argv:
        argv += ["--images", sandbox["images"], "--tags-csv", sandbox["tags"]]
    _call("train.py --check", main, argv + ["--check"], sandbox)


@pytest.mark.slow
@settings(max_examples=150, **_SETTINGS)
@given(data=st.data())
def test_tags(sandbox, data):
    from tags.__main__ import main

    table = {
        "--vocab": _paths(sandbox, str(ROOT / "models" / "default" / "vocab.json"), sandbox["garbage"]),
        "--seed": NUMBERS,
        "--list": st.just([]),
    }
    argv = [a for flag in data.draw(_flags(table, 3)) for a in flag]
    if data.draw(st.booleans()):
        argv.append(data.draw(TEXT))
    _call("python -m tags", main, argv, sandbox)


@settings(max_examples=40, **_SETTINGS)
@given(data=st.data())
def test_preprocess(sandbox, data):
    from preprocess.__main__ import main

    table = {
        "--size": NUMBERS,
        "--holdout": NUMBERS,
        "--seed": NUMBERS,
        "--top-k": NUMBERS,
        "--tag-format": st.sampled_from(["auto", "2018", "2017", "header", "x"]),
        "--condition-mode": st.sampled_from(["onehot", "x"]),
        "--strict": st.just([]),
        "--keep-grayscale": st.just([]),
    }
    argv = [a for flag in data.draw(_flags(table, 3)) for a in flag]
    argv += [
        "--images",
        data.draw(_paths(sandbox, sandbox["images"], sandbox["images"])),
        "--tags-csv",
        data.draw(_paths(sandbox, sandbox["tags"], sandbox["tags"], sandbox["garbage"])),
        "--cache",
        str(sandbox["box"] / "cache"),
        "--no-progress",
    ]
    _call("python -m preprocess", main, argv, sandbox)


@settings(max_examples=30, **_SETTINGS)
@given(data=st.data())
def test_report(sandbox, data):
    from report.__main__ import main

    argv = [data.draw(_paths(sandbox, str(sandbox["run"]), str(sandbox["run"])))]
    if data.draw(st.booleans()):
        argv.append("--no-grade")
    _call("python -m report", main, argv, sandbox)


@settings(max_examples=40, **_SETTINGS)
@given(data=st.data())
def test_export(sandbox, data):
    from export import main

    paths = _paths(sandbox, str(sandbox["run"]))
    argv = [data.draw(paths)]
    argv += [
        a
        for flag in data.draw(_flags({"--out": paths, "--checker": paths, "--no-ema": st.just([])}, 3))
        for a in flag
    ]
    _call("export.py", main, argv, sandbox)
