"""The front door (issue 12): run.sh and test.sh each set up .venv alone on a
fresh clone, in either order; a Python without the packages gets one line;
the tools are quiet by default (only their own lines) and --verbose shows the rest."""
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT, TINY_FLAGS

CHATTER = re.compile(r"^[IWEF]\d{4} |absl::InitializeLog|oneDNN|XNNPACK|Saved artifact|TensorSpec|Captures:|"
                     r"MLIR|SavedModel|cpu_feature_guard|Traceback", re.M)


def _quiet_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "TAGFACE_VERBOSE")}
    return env | extra


# ------------------------------------------------------------------ bootstrap
def _fake_python(tmp_path: Path) -> tuple[Path, Path]:
    """A stand-in for python3 that creates a '.venv' whose python is this test's
    interpreter and whose pip only logs what it was asked to install (a real
    install of TensorFlow takes minutes; the logic around it is what is tested)."""
    log = tmp_path / "pip.log"
    real = sys.executable
    fake = tmp_path / "python3"
    fake.write_text(textwrap.dedent(f"""\
        #!/usr/bin/env bash
        if [[ "$1" == "-m" && "$2" == "venv" ]]; then
          mkdir -p "$3/bin"
          cat > "$3/bin/python" <<'INNER'
        #!/usr/bin/env bash
        if [[ "$1" == "-m" && "$2" == "pip" ]]; then echo "pip ${{*:3}}" >> {log}; exit 0; fi
        exec {real} "$@"
        INNER
          chmod +x "$3/bin/python"
          exit 0
        fi
        exec {real} "$@"
        """))
    fake.chmod(0o755)
    return fake, log


def _clone(tmp_path: Path, name: str) -> Path:
    """A fresh clone of the committed repository plus this work tree's changes to the
    bootstrap files (so the test checks what is about to be committed)."""
    dest = tmp_path / name
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(dest)], check=True)
    for rel in ("run.sh", "test.sh", "common/bootstrap.sh", "pyproject.toml", "common/env.py", "common/quiet.py",
                "generate.py", "sampling/tflite.py", "tests/conftest.py"):
        if (ROOT / rel).exists():
            (dest / rel).write_bytes((ROOT / rel).read_bytes())
            (dest / rel).chmod((ROOT / rel).stat().st_mode)
    assert not (dest / ".venv").exists()
    return dest


def _pip_installs(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if " -r " in line] if log.exists() else []


@pytest.mark.slow
@pytest.mark.parametrize("order", ["test-first", "run-first"])
def test_fresh_clone_run_sh_and_test_sh_each_set_up_the_venv(tmp_path, order):
    fake, log = _fake_python(tmp_path)
    clone = _clone(tmp_path, "clone")
    env = _quiet_env(PYTHON=str(fake))

    def test_sh():
        return subprocess.run(["./test.sh", "tests/test_architecture_layers.py"], cwd=clone, env=env, capture_output=True,
                              text=True, timeout=600)

    def run_sh():
        return subprocess.run(["./run.sh", "--list-tags"], cwd=clone, env=env, capture_output=True, text=True,
                              timeout=600)

    first, second = (test_sh, run_sh) if order == "test-first" else (run_sh, test_sh)
    r = first()
    assert r.returncode == 0, r.stdout + r.stderr
    installs = _pip_installs(log)
    assert len(installs) == 1, installs
    assert "requirements.txt" in installs[0] and "requirements-test.txt" in installs[0]
    assert (clone / ".venv" / "bin" / "python").exists()
    r = second()
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(_pip_installs(log)) == 1, "the second command installed again"
    out = test_sh()
    assert "passed" in out.stdout and "failed" not in out.stdout, out.stdout
    # pyproject.toml's pytest settings are the ones in force
    assert "configfile: pyproject.toml" in subprocess.run(
        [str(clone / ".venv/bin/python"), "-m", "pytest", "--co", "-q", "tests/test_architecture_layers.py", "-v"],
        cwd=clone, env=env, capture_output=True, text=True).stdout


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./test.sh " in readme or "./test.sh\n" in readme
    assert ci.rstrip().splitlines()[-1] == "./test.sh"


def test_bootstrap_without_python_says_what_to_install(tmp_path):
    clone = _clone(tmp_path, "clone")
    r = subprocess.run(["./test.sh"], cwd=clone, env=_quiet_env(PYTHON=str(tmp_path / "no-python3.11")),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "install Python 3.11" in r.stderr


def test_pyproject_declares_the_project_python_and_pytest_settings():
    import tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert data["project"]["name"] == "tagface"
    assert data["project"]["requires-python"] == ">=3.11"
    assert data["tool"]["pytest"]["ini_options"]["testpaths"] == ["tests"]


# A pytest plugin for the child below: which heavy libraries are loaded once the suite is collected,
# and the first collected test module after which TensorFlow was.
_COLLECTION_PROBE = """
import json, os, sys
HEAVY = ("tensorflow", "keras")
first = []

def pytest_collectreport(report):
    if not first and "tensorflow" in sys.modules:
        first.append(report.nodeid)

def pytest_collection_finish(session):
    loaded = sorted(m for m in HEAVY if m in sys.modules)
    with open(os.environ["COLLECTION_PROBE_OUT"], "w") as fh:
        json.dump({"loaded": loaded, "first": first, "tests": len(session.items)}, fh)
"""


@pytest.mark.slow
def test_collecting_the_suite_imports_no_tensorflow(tmp_path):
    """TensorFlow is imported by the tests and fixtures that use it, not while pytest collects:
    with it, collecting took 11 s instead of 6 (2 loaded cores) and left every later test in a
    TensorFlow process."""
    import json

    (tmp_path / "collection_probe.py").write_text(_COLLECTION_PROBE)
    out = tmp_path / "probe.json"
    env = dict(os.environ, COLLECTION_PROBE_OUT=str(out),
               PYTHONPATH=os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])))
    r = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "collection_probe",
                        "-p", "no:cacheprovider", str(ROOT / "tests")], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    probe = json.loads(out.read_text())
    assert probe["tests"] > 100  # the whole suite was collected
    assert probe["loaded"] == [], f"loaded after collecting {probe['first']}: {probe['loaded']}"


@pytest.mark.parametrize("script", ["generate.py", "train.py", "export.py"])
def test_a_python_without_the_packages_gets_one_line(script):
    # -S: no site-packages, as the system's python3 outside .venv
    r = subprocess.run([sys.executable, "-S", str(ROOT / script), "--help"], capture_output=True, text=True,
                       cwd=ROOT, timeout=60)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and r.stderr.strip().count("\n") == 0, r.stderr
    assert "has no numpy" in r.stderr and ".venv" in r.stderr and r.stdout == ""


# ---------------------------------------------------------------------- quiet
def test_generate_prints_only_its_own_lines(tiny_run, tmp_path):
    cmd = [sys.executable, str(ROOT / "generate.py"), "--model", str(tiny_run), "--tags", "blue hair red eyes",
           "--out", "a.png"]
    r = subprocess.run(cmd, cwd=tmp_path, env=_quiet_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["blue_hair_red_eyes: 'blue hair red eyes' -> blue hair red eyes",
                                     "wrote a.png"]
    assert r.stderr == ""
    # --verbose shows what was hidden (LiteRT's delegate line): the silence is ours, not an accident
    loud = subprocess.run(cmd + ["--verbose"], cwd=tmp_path, env=_quiet_env(), capture_output=True, text=True,
                          timeout=300)
    assert loud.returncode == 0 and "XNNPACK" in loud.stderr, loud.stderr


@pytest.mark.slow
@pytest.mark.tflite  # the TFLite converter's chatter is hidden too
def test_a_short_training_prints_only_its_own_lines(synthetic_faces, cache_dir, tmp_path):
    flags = list(TINY_FLAGS)
    flags[flags.index("--epochs") + 1] = "1"
    r = subprocess.run([sys.executable, str(ROOT / "train.py"), "--images", str(synthetic_faces / "images"),
                        "--tags-csv", str(synthetic_faces / "tags_2018.csv"), "--run-dir", str(tmp_path / "run"),
                        "--cache-dir", str(cache_dir)] + flags,
                       cwd=tmp_path, env=_quiet_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 1 and r.stdout.startswith("trained to step "), r.stdout
    assert not CHATTER.search(r.stderr), r.stderr
    assert all(line.startswith(("dataset cache:", "kept ")) for line in r.stderr.splitlines()), r.stderr
    assert (tmp_path / "run" / "export" / "generator.tflite").exists()


def test_silenced_replays_what_it_hid_when_the_block_fails(capfd):
    from common.quiet import silenced

    with pytest.raises(RuntimeError):
        with silenced():
            os.write(1, b"converter said why\n")
            raise RuntimeError("conversion failed")
    assert "converter said why" in capfd.readouterr().err


# -------------------------------------------------------------- interpolation
DEFAULT_MODEL = ROOT / "models" / "default"

_REPEATED_CALLS = """
import sys, numpy as np
from sampling.runtime import load_generator
rng = np.random.default_rng(0)
g = load_generator(sys.argv[1], "litert")
assert "tensorflow" not in sys.modules
for n in [int(sys.argv[2])]:  # the process's first interpreter, first called with n images
    z = rng.uniform(-1, 1, (n, g.config.nz)).astype(np.float32)
    cond = g.vocab.conditions([g.vocab.tagset({"hair": "blue", "eyes": "red"})] * n)
    outs = [g.generate(z, cond).copy() for _ in range(4)]
    print(n, max(float(np.abs(o - outs[0]).max()) for o in outs))
"""


def test_litert_gives_the_same_pixels_on_every_call_without_tensorflow():
    """LiteRT's XNNPACK with delegate clustering returned other pixels from the second call on
    (batches of 4 and 8): the studio's and the metrics' repeated calls drew wrong faces."""
    for n in (1, 4, 8, 25):
        r = subprocess.run([sys.executable, "-c", _REPEATED_CALLS, str(DEFAULT_MODEL), str(n)], cwd=ROOT,
                           env=_quiet_env(), capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        _, diff = r.stdout.split()
        assert float(diff) == 0.0, f"batch {n}: repeated calls differ by {diff}"


def test_interpolation_moves_from_the_first_tags_to_the_second_as_the_checker_reads_them():
    from checker.checker import load_checker
    from sampling import generation
    from sampling.runtime import load_generator

    generator, checker = load_generator(DEFAULT_MODEL), load_checker(DEFAULT_MODEL)
    first_eyes = last_eyes = 0
    seeds = range(6)
    for seed in seeds:
        frames, ncols, _ = generation.interpolate(generator, "blue hair red eyes", "green hair yellow eyes", 8, seed)
        read = checker.read_values(frames)
        assert (read["hair"][0], read["hair"][-1]) == ("blue", "green"), (seed, read)
        first_eyes += read["eyes"][0] == "red"
        last_eyes += read["eyes"][-1] == "yellow"
    # the ends are the tags themselves; eyes are read right in 0.98 of the default model's samples (seed 2)
    assert first_eyes >= 4 and last_eyes >= 3, (first_eyes, last_eyes)


# TensorFlow 2.21 writes absl's and oneDNN's first lines at import whatever TF_CPP_MIN_LOG_LEVEL says;
# every CLI that loads TensorFlow must hide them (issue 23)
@pytest.mark.parametrize("tool", [pytest.param("export", marks=pytest.mark.tflite), "generate-tensorflow", "report"])
def test_the_tools_that_load_tensorflow_print_only_their_own_lines(tool, tiny_run, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run, ignore=shutil.ignore_patterns("report"))
    cmd = {"export": [str(ROOT / "export.py"), str(run), "--out", str(tmp_path / "exported")],
           "generate-tensorflow": [str(ROOT / "generate.py"), "--model", str(run), "--backend", "tensorflow",
                                   "--tags", "blue hair red eyes", "--out", "a.png"],
           "report": ["-m", "report", str(run), "--no-grade"]}[tool]
    r = subprocess.run([sys.executable, *cmd], cwd=tmp_path if tool != "report" else ROOT, env=_quiet_env(),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "", r.stderr
    assert not CHATTER.search(r.stdout), r.stdout
    assert r.stdout.splitlines()[-1].startswith(("exported to", "wrote")), r.stdout
    if tool == "generate-tensorflow":  # --verbose shows them: the silence is ours
        loud = subprocess.run([sys.executable, *cmd, "--verbose"], cwd=tmp_path, env=_quiet_env(),
                              capture_output=True, text=True, timeout=600)
        assert loud.returncode == 0 and "oneDNN" in loud.stderr, loud.stderr


def test_readme_is_short_and_every_markdown_link_resolves():
    """README.md is the student's first page (under 12 KB); every relative link and image in it and in
    docs/**/*.md points to a file or folder that exists, every #anchor to a heading of its page (GitHub's
    slugs), and every page directly under docs/ is reachable from the README by links."""
    readme = (ROOT / "README.md").resolve()
    assert len(readme.read_bytes()) < 12_000, f"README.md is {len(readme.read_bytes())} bytes"
    pages = [readme, *sorted(p.resolve() for p in (ROOT / "docs").rglob("*.md"))]
    link = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)"
                      r"|<(?:img|a)\b[^>]*?\b(?:src|href)=\"([^\"]+)\"", re.M)

    def prose(text):  # fenced blocks and code spans are not links
        text = re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", text, flags=re.M | re.S)
        return re.sub(r"(`+)(?!`).+?(?<!`)\1(?!`)", "", text)

    def anchors(page):
        seen = set()
        for heading in re.findall(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", prose(page.read_text()), re.M):
            base = re.sub(r"[^\w\- ]", "", re.sub(r"`", "", heading).strip().lower()).replace(" ", "-")
            slug, n = base, 1
            while slug in seen:
                slug, n = f"{base}-{n}", n + 1
            seen.add(slug)
        return seen

    broken, found, edges = [], 0, {}
    for page in pages:
        edges[page] = set()
        for groups in link.findall(prose(page.read_text())):
            target = next(g for g in groups if g)
            if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):  # https:, mailto:
                continue
            found += 1
            path, _, anchor = target.partition("#")
            resolved = (page.parent / path).resolve() if path else page
            if not resolved.exists():
                broken.append(f"{page.name}: {target} (no such file)")
            elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                broken.append(f"{page.name}: {target} (no heading #{anchor})")
            elif resolved.suffix == ".md":
                edges[page].add(resolved)
    assert found > 20 and not broken, "\n".join(broken)
    reached, todo = {readme}, [readme]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in reached:
                reached.add(nxt)
                todo.append(nxt)
    orphans = [p.name for p in sorted((ROOT / "docs").glob("*.md")) if p.resolve() not in reached]
    assert not orphans, f"docs pages no link from README.md leads to: {orphans}"
