"""Faults and abuse: kills, failing disks, corrupt artefacts, fuzzed input,
unsafe loading."""

import ast
import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT


@pytest.mark.slow
def test_short_kill_and_resume(tmp_path, train_argv):
    from bench.robustness.kill_resume import kill_and_resume

    # the kills wait until the run steps and has a checkpoint, however long the start takes
    report = kill_and_resume(
        tmp_path / "killed",
        train_argv(progress=True),
        total_steps=45,
        kills=2,
        seed=3,
        min_wait=7.0,
        max_wait=11.0,
    )
    assert report.kills == 2
    assert report.problems == [], report
    # every kill came after training had started and each resume restored the checkpoint exactly
    assert len(report.steps_lost) == 2 and report.restored_matches == 2, report
    assert report.final_step == 45
    assert all(lost <= 5 for lost in report.steps_lost)  # --checkpoint-every 5


@pytest.mark.slow
def test_failure_while_writing_a_checkpoint_keeps_the_previous_one(tmp_path, ten_step_run, monkeypatch):
    import tensorflow as tf

    from bench.robustness.kill_resume import checkpoint_state
    from model.config import TrainConfig
    from training.trainer import Trainer

    run = tmp_path / "run"
    shutil.copytree(ten_step_run, run)  # a tiny run trained to step 10 (tests/conftest.py)
    good = checkpoint_state(run)
    assert good["step"] == 10

    def failing_write(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tf.train.Checkpoint, "_write", failing_write)  # what CheckpointManager.save calls
    recorded = TrainConfig.load(run)
    trainer = Trainer(
        dataclasses.replace(recorded, steps=20), run, resume=True, progress=False, recorded=recorded
    )
    from model.run_folder import RunDirError

    with pytest.raises(
        RunDirError, match="no space left on the device; ckpt-10 is kept"
    ):  # one line, not a traceback
        trainer.train()
    monkeypatch.undo()
    assert checkpoint_state(run)["path"] == good["path"]
    # a half-written newer checkpoint (truncated data file) is skipped on resume
    newest = Path(good["path"])
    data = next(newest.parent.glob(newest.name + ".data-*"))
    index = newest.parent / (newest.name + ".index")
    fake = newest.parent / "ckpt-15"
    shutil.copyfile(index, str(fake) + ".index")
    Path(str(fake) + ".data-00000-of-00001").write_bytes(data.read_bytes()[:100])
    state = (newest.parent / "checkpoint").read_text()
    (newest.parent / "checkpoint").write_text(
        state.replace(f'"{newest.name}"', '"ckpt-15"', 1) + 'all_model_checkpoint_paths: "ckpt-15"\n'
    )
    trainer = Trainer(TrainConfig.load(run), run, resume=True, progress=False)
    trainer.prepare()
    assert int(trainer.model.state.step.numpy()) == 10


def test_config_of_another_architecture_or_version_is_a_clear_error(tmp_path, tiny_run, capsys):
    from train import main

    run = tmp_path / "copy"
    shutil.copytree(tiny_run, run)
    config = json.loads((run / "config.json").read_text())
    config["filters"] = 16
    (run / "config.json").write_text(json.dumps(config))
    assert main(["--run-dir", str(run), "--resume", "--steps", "60", "--no-progress"]) == 2
    assert "does not match" in capsys.readouterr().err
    config["filters"] = 8
    config["format_version"] = 99
    (run / "config.json").write_text(json.dumps(config))
    assert main(["--run-dir", str(run), "--resume", "--steps", "60", "--no-progress"]) == 2
    assert "format_version" in capsys.readouterr().err


def test_missing_vocab_is_a_clear_error(tmp_path, tiny_run, capsys):
    from sampling.export import ModelError
    from sampling.runtime import load_generator
    from train import main

    run = tmp_path / "copy"
    shutil.copytree(tiny_run, run)
    (run / "vocab.json").unlink()
    assert main(["--run-dir", str(run), "--resume", "--steps", "60", "--no-progress"]) == 2
    assert "vocab.json" in capsys.readouterr().err
    (run / "export" / "vocab.json").unlink()
    with pytest.raises(ModelError, match="vocab.json"):
        load_generator(run)


def test_sigterm_writes_a_checkpoint_and_exits(tmp_path, train_argv, tiny_run):
    import os
    import signal
    import subprocess
    import sys
    import time

    from bench.robustness.kill_resume import checkpoint_state, logged_step

    run = tmp_path / "term"
    # no checkpoint before the signal (the tiny run's 15-step epoch ends later): the one found is SIGTERM's
    cmd = [
        sys.executable,
        str(ROOT / "train.py"),
        *train_argv(run, steps=100000, checkpoint_every=100000, progress=True),
    ]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    deadline = time.time() + 120
    while logged_step(run) < 4 and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM
    assert "SIGTERM at step" in err and "--resume" in err and "Traceback" not in err
    state = checkpoint_state(run)
    assert state is not None and state["step"] >= 4


# ---------------------------------------------------------------- fuzzing
@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=80))
def test_parser_accepts_any_text_or_raises_tag_error(text):
    from preprocess.synthetic import EYE_COLOURS, HAIR_COLOURS
    from tags import TagError
    from tags.canonical import TagSet
    from tags.parser import parse
    from tags.vocab import Vocabulary

    vocab = _FUZZ_VOCAB.setdefault(
        "v",
        Vocabulary.build([TagSet.make({"hair": h, "eyes": e}) for h in HAIR_COLOURS for e in EYE_COLOURS]),
    )
    try:
        query = parse(text, vocab)
    except TagError:
        return
    assert query.values or query.extras
    for group, value in query.values.items():
        assert value in vocab.groups[group]


_FUZZ_VOCAB = {}
_LINE = st.text(
    alphabet=st.sampled_from(list("0123456789abc ,;:\t\"'\r\n\ufeffhaireyesblueredx.-")), max_size=120
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_LINE, st.sampled_from(["auto", "2018", "2017", "header"]))
def test_csv_readers_accept_any_text_or_raise_tag_error(text, fmt):
    from tags import TagError
    from tags.readers import read_tag_text

    try:
        result = read_tag_text(text, "/nonexistent", fmt)
    except TagError:
        return
    for row in result.rows:
        assert isinstance(row.values, dict) and set(row.values) <= {"hair", "eyes"}
    for skip in result.skipped:
        assert skip.reason


# ---------------------------------------------------------------- safe loading
def _python_files():
    for folder in ("common", "tags", "preprocess", "model", "report"):
        yield from (ROOT / folder).rglob("*.py")
    yield from ROOT.glob("*.py")  # train.py, generate.py, export.py


def test_no_pickle_on_any_load_path():
    offenders = []
    for path in _python_files():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if any(n.split(".")[0] in ("pickle", "cPickle", "dill", "joblib") for n in names):
                    offenders.append(f"{path}: imports pickle")
            if isinstance(node, ast.keyword) and node.arg == "allow_pickle":
                if not (isinstance(node.value, ast.Constant) and node.value.value is False):
                    offenders.append(f"{path}:{node.lineno}: allow_pickle not False")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if (
                    node.func.attr == "load"
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id in ("Word2Vec", "KeyedVectors", "pickle")
                ):
                    offenders.append(f"{path}:{node.lineno}: pickled gensim/pickle load")
                if node.func.attr in ("load_model",) and not any(k.arg == "safe_mode" for k in node.keywords):
                    offenders.append(f"{path}:{node.lineno}: keras load without safe_mode")
        if "dtype=object" in path.read_text() or 'dtype="O"' in path.read_text():
            offenders.append(f"{path}: object array")
    assert offenders == []


def test_cached_arrays_hold_no_python_objects(tiny_run_cache):
    import numpy as np

    caches = list(tiny_run_cache.rglob("data.npz"))
    assert caches, f"tiny_run left no dataset cache in {tiny_run_cache}"
    for npz in caches:
        with np.load(npz, allow_pickle=False) as f:  # would raise on object arrays
            assert f.files
            for key in f.files:
                assert f[key].dtype != object
