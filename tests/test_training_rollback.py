"""A run-away is recovered by the trainer itself (issue 35, item 3): it rolls back to its newest
checkpoint with the rate and its floor halved, says so (a line, stages.csv, config.json, the checkpoint
written again, TensorBoard) and trains on to its planned step; a --resume after a signal keeps the
lowered rate. The guard is made to fire at a chosen step here; a real NaN, and the stop after
ROLLBACKS, are tests/test_cli_train.py's."""

import contextlib
import csv
import io
import json
import os
import signal

import pytest

RUN_AWAY_AT = 12  # the tiny run checkpoints every 5 steps: back to ckpt-10
STEPS = 20


def _rows(path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@contextlib.contextmanager
def _guard_firing_at(step: int):
    """The trainer's divergence guard, reporting a run-away at the `step`-th step the run takes (counted
    over rollbacks, so once) and checking as usual otherwise."""
    from training import trainer
    from training.divergence import DivergenceGuard

    taken = []

    class Firing(DivergenceGuard):
        def check(self, values):
            taken.append(values)
            return "L(G(z)) ran away (forced)" if len(taken) == step else super().check(values)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(trainer, "DivergenceGuard", Firing)
        yield


@contextlib.contextmanager
def _sigterm_at(step: int):
    """train.py's callbacks with one more that sends this process SIGTERM after `step`."""
    import training.monitor
    from training.trainer import TrainerCallback

    class Stop(TrainerCallback):
        def on_step_end(self, trainer, at):
            if at == step:
                os.kill(os.getpid(), signal.SIGTERM)

    real = training.monitor.training_callbacks
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(training.monitor, "training_callbacks", lambda *a: real(*a) + [Stop()])
        yield


def _train(argv) -> tuple[int, str]:
    """train.py's exit code and what it said on stderr."""
    from train import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(argv)
    return code, err.getvalue()


@pytest.fixture(scope="module")
def rolled_back(tmp_path_factory, train_argv):
    """(run, stderr) of a tiny run of STEPS steps whose guard fires at RUN_AWAY_AT, trained once here."""
    run = tmp_path_factory.mktemp("rollback") / "run"
    with _guard_firing_at(RUN_AWAY_AT):
        code, err = _train(train_argv(run, steps=STEPS))
    assert code == 0, err[-2000:]
    return run, err


@pytest.mark.slow
def test_a_run_away_rolls_back_to_the_newest_checkpoint_at_half_the_rate_and_reaches_its_step(rolled_back):
    import tensorflow as tf
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run, err = rolled_back
    assert (
        f"step {RUN_AWAY_AT}: L(G(z)) ran away (forced); rolled back to ckpt-10 at half the rate "
        "(lr 0.0002 -> 0.0001, lr_floor 2e-05 -> 1e-05; rollback 1 of 3)"
    ) in err
    assert "training stopped" not in err
    # stages.csv: the rate and its floor halved at the step gone back to, and from which step
    assert (run / "stages.csv").read_text().splitlines() == [
        "step,setting,old,new",
        "10,lr,0.0002,0.0001",
        "10,lr_floor,2e-05,1e-05",
        f"10,rollback,{RUN_AWAY_AT},10",
    ]
    config = json.loads((run / "config.json").read_text())
    assert (config["lr"], config["lr_floor"]) == (1e-4, 1e-5)
    # metrics.csv: the abandoned steps 11-12 logged once (the replay's), the rate halved from step 11
    # (and halved again later by the plateau rule of the tiny run's 4-step windows)
    rows = _rows(run / "metrics.csv")
    steps = [int(r["step"]) for r in rows]
    assert steps == sorted(set(steps)) and steps[-1] == STEPS
    lr = {int(r["step"]): float(r["lr"]) for r in rows}
    assert {lr[s] for s in lr if s <= 10} == {2e-4} and lr[12] == 1e-4
    assert max(lr[s] for s in lr if s > 10) == 1e-4
    cpu = [float(r["cpu_seconds"]) for r in rows]
    assert cpu == sorted(cpu)  # the CPU clock went on through the rollback
    # the checkpoint rolled back to was written again with the lowered rate (a kill right after keeps it)
    reader = tf.train.load_checkpoint(str(run / "checkpoints" / "ckpt-10"))
    lr_key = next(k for k in reader.get_variable_to_shape_map() if k.startswith("lr/"))
    assert reader.get_tensor(lr_key) == pytest.approx(1e-4)
    events = EventAccumulator(str(run))
    events.Reload()
    rollbacks = [
        (e.step, float(tf.make_ndarray(e.tensor_proto))) for e in events.Tensors("control/rollbacks")
    ]
    assert rollbacks == [(10, 1.0)]


@pytest.mark.slow
def test_a_rolled_back_run_stopped_by_sigterm_resumes_at_the_lowered_rate_as_the_straight_run(
    rolled_back, train_argv, tmp_path
):
    """The same run, stopped by SIGTERM after its rollback and resumed with the command it printed,
    ends as the uninterrupted one: the recovery is the same for the same --seed, and the lowered rate
    and floor are in what a --resume restores."""
    straight, _ = rolled_back
    run = tmp_path / "run"
    with _guard_firing_at(RUN_AWAY_AT), _sigterm_at(15):
        code, err = _train(train_argv(run, steps=STEPS))
    assert code == 128 + signal.SIGTERM, err[-2000:]
    code, err = _train(["--run-dir", str(run), "--resume", "--no-progress"])
    assert code == 0, err[-2000:]
    assert "rolled back" not in err and "resumed at step 15" in err and "lr=0.0001" in err
    assert (run / "stages.csv").read_text() == (straight / "stages.csv").read_text()  # nothing new
    resumed, uninterrupted = _rows(run / "metrics.csv"), _rows(straight / "metrics.csv")
    assert [r["step"] for r in resumed] == [r["step"] for r in uninterrupted]
    assert [r["lr"] for r in resumed] == [r["lr"] for r in uninterrupted]
    for a, b in zip(resumed, uninterrupted):
        for name in ("loss_real", "loss_fake", "k"):
            assert float(a[name]) == pytest.approx(float(b[name]), rel=1e-3, abs=1e-6), (a["step"], name)
