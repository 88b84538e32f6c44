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
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from sampling.tflite import SKIP_TFLITE_ENV  # noqa: E402  (numpy only; after the path is set)

os.environ.setdefault(SKIP_TFLITE_ENV, "1")

TINY_FLAGS = ["--image-size", "32", "--filters", "8", "--repeats", "1", "--nz", "16", "--embed-dim", "8",
              "--batch-size", "8", "--epochs", "3", "--checkpoint-every", "5", "--log-every", "2",
              "--lr-window", "4", "--holdout", "0.1", "--seed", "1", "--precision", "fp32", "--no-progress"]


# A test that needs one of these is slow whatever its own time: run alone (or first), it builds it.
SLOW_FIXTURES = ("tiny_run",)  # the tiny trained run: ~45 s with its TFLite export on 2 loaded cores


@pytest.hookimpl(tryfirst=True)  # before -m "not slow" deselects
def pytest_collection_modifyitems(items):
    for item in items:
        if any(name in item.fixturenames for name in SLOW_FIXTURES):
            item.add_marker(pytest.mark.slow)


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
def synthetic_faces(tmp_path_factory):
    """120 synthetic 32x32 faces (each hair x eye colour once) in the three CSV formats."""
    from preprocess.synthetic import write_synthetic_set

    out = tmp_path_factory.mktemp("faces")
    write_synthetic_set(out, 1, size=32, seed=0)
    return out


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("cache")
    os.environ["TAGFACE_CACHE"] = str(path)
    return path


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, synthetic_faces, cache_dir):
    """A run directory trained for 3 short epochs by train.py (in-process), with export/
    (TFLite included: many tests draw from it with LiteRT, in subprocesses too)."""
    from train import main

    run = tmp_path_factory.mktemp("runs") / "tiny"
    with tflite_exports():
        code = main(["--images", str(synthetic_faces / "images"), "--tags-csv",
                     str(synthetic_faces / "tags_2018.csv"), "--run-dir", str(run), "--cache-dir", str(cache_dir)]
                    + TINY_FLAGS)
    assert code == 0
    return run
