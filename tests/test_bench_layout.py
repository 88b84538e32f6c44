"""bench/ as its docs say: every module sits in its job's folder (speed, quality, robustness; the
shared helpers in bench/ itself), imports, and answers --help when run the one way the docs give,
`python -m bench.<group>.<name>` from the checkout's root; one import style (absolute, from the
root), no sys.path edits and no Python source held in strings."""

import ast
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

BENCH = ROOT / "bench"
GROUPS = ("speed", "quality", "robustness")
SHARED = {"bench.real_data", "bench.settings"}  # helpers the groups share
MODULES = {
    ".".join(p.relative_to(ROOT).with_suffix("").parts): p
    for p in sorted(BENCH.rglob("*.py"))
    if p.name != "__init__.py"
}
SCRIPTS = sorted(
    m for m, p in MODULES.items() if re.search(r"^if __name__ == .__main__.:", p.read_text(), re.M)
)
LIBRARIES = sorted(set(MODULES) - set(SCRIPTS))  # imported by scripts and tests, not run


def test_every_bench_module_sits_in_its_jobs_folder():
    assert sorted(p.name for p in BENCH.iterdir() if p.is_dir() and p.name != "__pycache__") == sorted(GROUPS)
    for group in GROUPS:
        assert (BENCH / group / "__init__.py").is_file(), group
    loose = sorted(m for m in MODULES if m.count(".") == 1)
    assert loose == sorted(SHARED), "a bench script belongs in bench/speed, bench/quality or bench/robustness"
    assert len(SCRIPTS) >= 20 and "bench.robustness.kill_resume" in SCRIPTS


def test_every_bench_script_answers_help_run_as_its_docstring_says():
    """`python -m bench.<group>.<name> --help` from the root: it imports (a broken import fails here),
    its usage line names that command, and its docstring's usage line is that command."""
    procs = {
        m: subprocess.Popen(
            [sys.executable, "-m", m, "--help"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={"COLUMNS": "100", "PATH": "/usr/bin:/bin"},
        )
        for m in SCRIPTS
    }
    failed = []
    for module, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        if proc.returncode != 0 or not out.startswith(f"usage: python -m {module} "):
            failed.append(f"{module}: exit {proc.returncode}: {(err or out).strip()[-300:]}")
        doc = ast.get_docstring(ast.parse(MODULES[module].read_text())) or ""
        if f"python -m {module}" not in doc:
            failed.append(f"{module}: its docstring does not say how to run it (python -m {module} ...)")
    assert failed == []


def test_the_bench_helpers_import():
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import importlib, sys\nfor m in sys.argv[1:]: importlib.import_module(m)",
            *LIBRARIES,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-800:]
    assert "bench.quality.synthetic_colour" in LIBRARIES and SHARED <= set(LIBRARIES)


def _docstrings(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                yield first.value


@pytest.mark.parametrize("module", sorted(MODULES) + ["bench"])
def test_one_import_style_no_sys_path_and_no_code_in_strings(module):
    path = BENCH / "__init__.py" if module == "bench" else MODULES[module]
    tree = ast.parse(path.read_text())
    stems = {p.stem for p in BENCH.rglob("*.py")} - {"__init__"}
    docstrings = {id(d) for d in _docstrings(tree)}
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            problems.append(f"line {node.lineno}: relative import")
        names = (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
        problems += [
            f"line {node.lineno}: import {n} (bench modules are imported as bench.<group>.<name>)"
            for n in names
            if n.split(".")[0] in stems
        ]
        if isinstance(node, ast.Attribute) and node.attr == "path" and getattr(node.value, "id", "") == "sys":
            problems.append(f"line {node.lineno}: sys.path")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            if node.value == "-c" or re.search(r"(?m)^\s*(import [\w.]+|from [\w.]+ import \w)", node.value):
                problems.append(f"line {node.lineno}: Python source in a string ({node.value[:40]!r})")
    assert problems == []


def test_the_groups_do_not_import_each_other():
    """speed, quality and robustness share only what bench/ itself holds (ROOT, parser, real_data,
    settings)."""
    crossing = []
    for module, path in MODULES.items():
        group = module.split(".")[1] if module.count(".") == 2 else None
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                parts = name.split(".")
                if parts[0] == "bench" and len(parts) > 2 and parts[1] in GROUPS and parts[1] != group:
                    crossing.append(f"{module} imports {name}")
    assert crossing == []
