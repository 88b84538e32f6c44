"""Shared fixtures. The tiny trained run (32x32, n=8, synthetic faces) is
built once per test session and reused by every test that needs a model.

Model exports made in the test session skip the two TFLite conversions (the
test-only switch TAGFACE_TEST_SKIP_TFLITE=1 of sampling.tflite; generation then
uses the Keras weights). A test of the TFLite export or of the LiteRT path
on its own export is marked `@pytest.mark.tflite`; a session or module fixture
that needs one builds it inside `tflite_exports()` (the tiny run does).
`TAGFACE_TEST_SKIP_TFLITE=0 ./test.sh` converts everywhere.

`./test.sh -m "not slow"` is the quick subset. `slow` marks a test that took
more than 2.5 s in the full suite beside two trainings on the 2-core machine
(tests/test_*.py, by hand), or that needs a fixture which takes longer to build:
the tiny run (every test using it is marked here, SLOW_FIXTURES), the synthetic
tag checker, the learning run.

No module here imports TensorFlow: collecting the suite must not load it
(tests/test_tests_collection.py checks)."""

import contextlib
import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _share_the_cores() -> None:
    """On a pytest-xdist worker, cap TensorFlow at this worker's share of the cores (one each for two
    workers on two cores), here and in the subprocesses the tests start. Two workers each running
    TensorFlow on every core share two cores four ways, and spend CPU time waiting on each other
    (docs/tests.md, Times: this share and two shorter trainings took the 2-core AMD EPYC (Zen 5) from
    18.1 to 13.8-15.3 CPU-minutes)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if workers > 1:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        share = str(max(1, cores // workers))
        for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
            os.environ.setdefault(name, share)


_share_the_cores()

from sampling.tflite import SKIP_TFLITE_ENV  # noqa: E402  (numpy only; after the path is set)

os.environ.setdefault(SKIP_TFLITE_ENV, "1")

# The tiny run's settings (32x32, n=8, 3 short epochs); tests build train.py's argv with train_argv.
TINY_FLAGS = [
    "--image-size",
    "32",
    "--filters",
    "8",
    "--repeats",
    "1",
    "--nz",
    "16",
    "--embed-dim",
    "8",
    "--batch-size",
    "8",
    "--epochs",
    "3",
    "--checkpoint-every",
    "5",
    "--log-every",
    "2",
    "--lr-window",
    "4",
    "--holdout",
    "0.1",
    "--seed",
    "1",
    "--precision",
    "fp32",
    "--small-data-gamma",  # the balance the tiny runs were measured at (a set this small would take 0.9)
    "0",
    "--no-progress",
]


# A test that needs one of these is slow whatever its own time: run alone (or first), it builds it. tiny_run:
# the tiny trained run, ~45 s with its TFLite export on 2 loaded cores; ten_step_run: the resume tests' run.
SLOW_FIXTURES = ("tiny_run", "ten_step_run")


@pytest.hookimpl(tryfirst=True)  # before -m "not slow" deselects
def pytest_collection_modifyitems(items):
    for item in items:
        if any(name in item.fixturenames for name in SLOW_FIXTURES):
            item.add_marker(pytest.mark.slow)


@contextlib.contextmanager
def shared_folder(tmp_path_factory, name: str):
    """A folder under this test session's temp root that every pytest-xdist worker of the session sees
    (its own temp root when run without workers), held under an exclusive lock while the block runs:
    the first worker builds what it holds, the others wait for it and reuse it instead of building
    their own (common.lock.FolderLock, polled)."""
    import time

    from common.lock import FolderLock, FolderLocked

    root = tmp_path_factory.getbasetemp()
    if root.name == f"popen-{os.environ.get('PYTEST_XDIST_WORKER')}":  # not an inherited variable
        root = root.parent  # pytest-N/, shared by its popen-gwK/ workers
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        try:
            lock = FolderLock(folder, "shared test folder").acquire()
            break
        except FolderLocked:
            time.sleep(0.2)
    try:
        yield folder
    finally:
        lock.release()


@contextlib.contextmanager
def tflite_exports():
    """Model exports made inside convert to TFLite, as outside the tests (in this
    process and in the subprocesses it starts)."""
    old = os.environ.pop(SKIP_TFLITE_ENV, None)
    try:
        yield
    finally:
        if old is not None:
            os.environ[SKIP_TFLITE_ENV] = old


@pytest.fixture(autouse=True)
def _tflite_marker(request):
    """@pytest.mark.tflite: this test's exports are converted to TFLite."""
    if request.node.get_closest_marker("tflite") is None:
        yield
        return
    with tflite_exports():
        yield


@pytest.fixture
def tf():
    """TensorFlow, imported when a test asks for it (never while the suite is collected)."""
    import tensorflow

    return tensorflow


@pytest.fixture(scope="session")
def faces(tmp_path_factory):
    """faces(n, size, **options) -> a folder of synthetic faces, n per hair x eye pair (all 120 pairs
    unless `hair=` / `eyes=` narrow them), size x size pixels, with tag CSVs (tags_2018.csv, ...);
    `marks=preprocess.synthetic.MARKS` puts visible other tags on them (glasses, hat, smile: each on half
    the faces, named in the 2017 and header CSVs). The one place the tests draw face sets
    (preprocess.synthetic.write_synthetic_set); each set is written once per session and shared, so a
    test that changes one copies it first."""
    from preprocess.synthetic import write_synthetic_set

    made = {}

    def make(n: int = 1, size: int = 32, *, seed: int = 0, **options) -> Path:
        key = (n, size, seed, repr(sorted(options.items())))
        if key not in made:
            made[key] = write_synthetic_set(
                tmp_path_factory.mktemp(f"faces{n}x{size}_"), n, size=size, seed=seed, **options
            )
        return made[key]

    return make


@pytest.fixture(scope="session")
def synthetic_faces(faces):
    """120 synthetic 32x32 faces (each hair x eye colour once) in the three CSV formats."""
    return faces(1, 32, seed=0)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("cache")
    os.environ["TAGFACE_CACHE"] = str(path)
    return path


@pytest.fixture(scope="session")
def train_argv(synthetic_faces, cache_dir):
    """train_argv(run_dir, **settings) -> train.py's argv for a tiny run (TINY_FLAGS) on synthetic_faces.
    A setting overrides its flag (log_every=1 -> --log-every 1; True -> a bare switch; None drops the
    flag); steps= replaces --epochs; data=False leaves out --images/--tags-csv (for --resume or
    --config); faces= is another face folder, tags_csv= another of its CSVs; progress=True shows the
    progress bar."""

    def make(
        run_dir=None,
        *,
        data: bool = True,
        faces: Path | None = None,
        tags_csv: str = "tags_2018.csv",
        progress: bool = False,
        **settings,
    ) -> list[str]:
        faces = faces or synthetic_faces
        pairs = dict(zip(TINY_FLAGS[:-1:2], TINY_FLAGS[1::2]))  # flag -> value (TINY_FLAGS ends in a switch)
        if "steps" in settings and "epochs" not in settings:
            del pairs["--epochs"]
        for name, value in settings.items():
            pairs["--" + name.replace("_", "-")] = value
        argv = ["--images", str(faces / "images"), "--tags-csv", str(faces / tags_csv)] if data else []
        argv += ["--cache-dir", str(cache_dir)] + (["--run-dir", str(run_dir)] if run_dir is not None else [])
        for flag, value in pairs.items():
            if value is True:
                argv.append(flag)
            elif value is not None:
                argv += [flag, str(value)]
        return argv + ([] if progress else ["--no-progress"])

    return make


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, train_argv):
    """A run directory trained for 3 short epochs by train.py (in-process), with export/
    (TFLite included: many tests draw from it with LiteRT, in subprocesses too). Trained once per
    session in a shared_folder: a second pytest-xdist worker reuses it (its data and dataset cache are
    the first worker's, as its config.json records). Tests read it; one that changes a run copies it."""
    from train import main

    with shared_folder(tmp_path_factory, "runs") as runs:
        run = runs / "tiny"
        if not (run / "export").is_dir():  # the export is the last thing written, swapped in whole
            shutil.rmtree(run, ignore_errors=True)  # what a worker that crashed mid-way left
            with tflite_exports():
                code = main(train_argv(run))
            assert code == 0
    return run


@pytest.fixture(scope="session")
def ten_step_run(tmp_path_factory, train_argv):
    """A tiny run trained by train_argv(run, steps=10) (in-process; no TFLite), once per session in a
    shared_folder: the run the resume tests copy and resume or change (tests/test_cli_train_resume.py,
    tests/test_cli_train_faults.py). Tests only copy it."""
    from train import main

    with shared_folder(tmp_path_factory, "ten-step-run") as folder:
        run = folder / "run"
        if not (run / "export").is_dir():  # the export is the last thing written, swapped in whole
            shutil.rmtree(run, ignore_errors=True)  # what a worker that crashed mid-way left
            assert main(train_argv(run, steps=10)) == 0
    return run


@pytest.fixture(scope="session")
def tiny_run_cache(tiny_run) -> Path:
    """The tiny run's dataset cache folder, as its config.json records it (the worker that trained it)."""
    from model.config import TrainConfig

    return Path(TrainConfig.load(tiny_run).cache_dir)
