"""Shared by the CLI tests: run generate.py as a user does (a fresh process) or in this process, the
tiny model's grid cell, the lines train.py may say, and the one-line error every CLI gives for a bad
request."""

import contextlib
import io
import os
import signal
import subprocess
import sys

from tests.conftest import ROOT

CELL = 32 + 2  # tiny model size + grid padding

# What train.py says on stderr, by the first words: the data cache (preprocess.cache), the run's vocabulary,
# length, advice, gamma and augmentation (training.trainer, training.plan, tags.vocab), what a fine-tuning
# run took from its source (training.fine_tune), the run's own tag checker (training.run_checker), and at
# the end the near copies and which other tags the data supports (training.monitor)
TRAINER_LINES = (
    "kept ",
    "near-duplicates:",
    "dataset cache:",
    "tags left out of the vocabulary",
    "vocabulary",
    "length:",
    "advice:",
    "adaptive augmentation",
    "gamma ",
    "from ",
    "probing:",
    "training the run's tag checker",
    "run's tag checker",
    "near copies:",
    "tag '",
    "the checker cannot tell '",
)


def gen(*args, cwd):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, str(ROOT / "generate.py"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def run_in_process(main, *args, cwd) -> subprocess.CompletedProcess:
    """main(args) in this process from the folder `cwd`, as its command line runs it: the exit status
    (argparse's SystemExit included) and what it printed, as a CompletedProcess. For tests of what a
    command does; a subprocess also pays the interpreter's and TensorFlow's start (5 CPU-s for a tool
    that loads TensorFlow), which the tests of a fresh process's output, signals and exit check."""
    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse: usage errors (2) and --help (0)
                code = exc.code
    finally:
        os.chdir(here)
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def gen_in_process(*args, cwd):
    """generate.py's main in this process (run_in_process): what `gen` checks, without a new process."""
    from generate import main

    return run_in_process(main, *args, cwd=cwd)


def one_error_line(capsys) -> str:
    """The captured stderr is one 'error: ...' line under 300 characters, no traceback; returns it."""
    err = capsys.readouterr().err
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    assert len(lines[0]) < 300
    return lines[0]


def quiet_env(**extra):
    """os.environ without the test session's TF_CPP_MIN_LOG_LEVEL and TAGFACE_VERBOSE: what a user's shell
    has."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "TAGFACE_VERBOSE")}
    return env | extra


def default_sigint():
    """preexec_fn for a child a test stops with SIGINT: SIGINT as a terminal delivers it, even when
    pytest runs in the background (where the shell leaves SIGINT ignored, the child inherits that, and
    Python would never see the Ctrl-C)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
