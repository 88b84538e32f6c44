"""The dependency direction of docs/ARCHITECTURE.md, checked on the source:
common <- tags <- preprocess <- model <- report <- CLIs (train.py, generate.py,
export.py) and bench/. No module imports from a higher layer, and the
modules of a package import each other without a circle."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["common", "tags", "preprocess", "model", "report"]
TOP = len(LAYERS)  # the CLIs and bench/


def _layer(module: str) -> int | None:
    head = module.split(".")[0]
    if head in LAYERS:
        return LAYERS.index(head)
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
    for folder in LAYERS + ["bench"]:
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield ".".join(path.relative_to(ROOT).with_suffix("").parts), path
    for name in ("train", "generate", "export"):
        yield name, ROOT / f"{name}.py"


def test_no_import_reaches_up_a_layer():
    upward = []
    for module, path in _sources():
        for imported in _imports(path):
            target = _layer(imported)
            if target is not None and target > _layer(module):
                upward.append(f"{module} imports {imported}")
    assert upward == []


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
            circles.append(" -> ".join(trail[trail.index(node):] + [node]))
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
