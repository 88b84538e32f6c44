"""The dependency direction of docs/ARCHITECTURE.md, checked on the source:
common <- tags | model <- preprocess | sampling <- checker <- evaluate <-
training | editing | report <- studio <- CLIs (train.py, generate.py, export.py)
and bench/ (a | b: sibling folders of one layer). No module imports from a
higher layer or from a sibling folder of its own layer, the modules of a
package import each other without a circle, and the folders of the fast path
(sampling/, common/, tags/, checker/) import no TensorFlow when they are imported."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

# bottom to top; a tuple holds sibling folders, which may not import each other
LAYERS = [
    "common",
    ("tags", "model"),
    ("preprocess", "sampling"),
    "checker",
    "evaluate",
    ("training", "editing", "report"),
    "studio",
]
FOLDERS = [f for layer in LAYERS for f in (layer if isinstance(layer, tuple) else (layer,))]
TOP = len(LAYERS)  # the CLIs and bench/


def _layer(module: str) -> int | None:
    head = module.split(".")[0]
    for index, layer in enumerate(LAYERS):
        if head in (layer if isinstance(layer, tuple) else (layer,)):
            return index
    if head in ("train", "generate", "export", "bench"):
        return TOP
    return None  # standard library or a third-party package


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


def _sources():
    for folder in FOLDERS + ["bench"]:
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield ".".join(path.relative_to(ROOT).with_suffix("").parts), path
    for name in ("train", "generate", "export"):
        yield name, ROOT / f"{name}.py"


def test_no_import_reaches_up_a_layer():
    upward = []
    for module, path in _sources():
        for imported in _imports(path):
            target, own = _layer(imported), _layer(module)
            if target is None:
                continue
            other_folder = imported.split(".")[0] != module.split(".")[0]
            if target > own or (target == own < TOP and other_folder):  # up, or into a sibling folder
                upward.append(f"{module} imports {imported}")
    assert upward == []


# folder -> what importing any of its modules must not load (the fast path: generate.py with a
# generator.tflite imports none of tensorflow, keras, gensim, pandas; tags/readers.py alone has pandas,
# and the checker, which grades on that path, trains in checker/ with TensorFlow inside functions)
LIGHT = {
    "sampling": ("tensorflow", "keras", "gensim", "pandas"),
    "common": ("tensorflow", "keras", "gensim", "pandas"),
    "tags": ("tensorflow", "keras", "gensim"),
    "checker": ("tensorflow", "keras", "gensim"),
}


@pytest.mark.parametrize("folder", sorted(LIGHT))
def test_the_fast_path_folders_import_no_tensorflow(folder):
    """Each module of the folder imported in a fresh process: TensorFlow only inside functions."""
    modules = [
        ".".join(p.relative_to(ROOT).with_suffix("").parts) for p in sorted((ROOT / folder).rglob("*.py"))
    ]
    assert modules, folder
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(LIGHT[folder])!r}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-800:]
    assert result.stdout.strip() == "[]", f"importing {folder}/ loads {result.stdout.strip()}"


def test_no_import_circle_between_modules():
    modules = dict(_sources())
    graph = {m: {i for i in _imports(p) if i in modules and i != m} for m, p in modules.items()}
    for package in [m for m in modules if m.endswith("__init__")]:
        graph.pop(package, None)
    visiting, done, circles = set(), set(), []

    def visit(node, trail):
        if node in done:
            return
        if node in visiting:
            circles.append(" -> ".join(trail[trail.index(node) :] + [node]))
            return
        visiting.add(node)
        for nxt in sorted(graph.get(node, ())):
            visit(nxt, trail + [node])
        visiting.discard(node)
        done.add(node)

    for node in sorted(graph):
        visit(node, [])
    assert circles == []


def test_every_training_setting_has_help_and_a_group():
    from model.config import TrainConfig

    for f in TrainConfig.flag_fields():  # raises for a setting declared without setting(...)
        assert f.metadata["help"] and f.metadata["group"], f.name
