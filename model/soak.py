"""Kill-and-resume soak: train in a subprocess, SIGKILL it at random moments,
resume, and check that nothing is lost or duplicated.

Used by bench/kill_resume.py (long) and tests/test_faults.py (short).
"""
from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class SoakReport:
    kills: int = 0
    steps_lost: list[int] = field(default_factory=list)  # steps redone after each kill
    restored_matches: int = 0  # resumes whose restored k, lr, threshold equalled the checkpoint
    final_step: int = 0
    wall_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


def checkpoint_state(run: Path) -> dict | None:
    import tensorflow as tf

    latest = tf.train.latest_checkpoint(str(run / "checkpoints"))
    if latest is None:
        return None
    reader = tf.train.load_checkpoint(latest)
    names = reader.get_variable_to_shape_map()

    def value(prefix):
        key = next(k for k in names if k.startswith(prefix + "/"))
        return float(reader.get_tensor(key))

    return {n: value(n) for n in ("step", "k", "lr", "threshold")} | {"path": latest}


def logged_step(run: Path) -> int:
    """Last step in metrics.csv (0 if none)."""
    path = run / "metrics.csv"
    if not path.exists():
        return 0
    lines = [line for line in path.read_text().splitlines()[1:] if line and line[0].isdigit()]
    return int(lines[-1].split(",")[0]) if lines else 0


def check_logs(run: Path, total: int) -> list[str]:
    """No duplicated or torn rows in metrics.csv and the filter logs."""
    problems = []
    with open(run / "metrics.csv", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = list(reader)
    steps = [int(r[0]) for r in rows]
    if any(len(r) != len(header) for r in rows):
        problems.append("metrics.csv has torn rows")
    if steps != sorted(set(steps)):
        problems.append("metrics.csv has duplicated or out-of-order steps")
    if not steps or steps[-1] != total:
        problems.append(f"metrics.csv ends at step {steps[-1] if steps else None}, not {total}")
    for path in sorted((run / "filtered").glob("epoch_*.csv")):
        with open(path, newline="") as fh:
            frows = list(csv.DictReader(fh))
        keys = [(r["id"], r["step"]) for r in frows]
        if len(keys) != len(set(keys)):
            problems.append(f"{path.name} has duplicated rows")
        if any(None in r.values() for r in frows):
            problems.append(f"{path.name} has torn rows")
    summary = run / "filtered" / "summary.csv"
    if summary.exists():
        epochs = [r["epoch"] for r in csv.DictReader(open(summary, newline=""))]
        if len(epochs) != len(set(epochs)):
            problems.append("filtered/summary.csv has duplicated epochs")
    return problems


def _resume_line(log: Path) -> dict | None:
    """The trainer's 'resumed at step N (k=..., lr=..., threshold=...)' line."""
    import re

    if not log.exists():
        return None
    m = re.search(r"resumed at step (\d+) \(k=([^,]+), lr=([^,]+), threshold=([^)]+)\)", log.read_text())
    if not m:
        return None
    return {"step": int(m.group(1)), "k": float(m.group(2)), "lr": float(m.group(3)),
            "threshold": float(m.group(4))}


def soak(run: Path, train_args: list[str], total_steps: int, kills: int, *, seed: int = 0,
         min_wait: float = 6.0, max_wait: float = 14.0, timeout: float = 900.0) -> SoakReport:
    """Start training, SIGKILL it `kills` times at random moments once it is
    stepping, resume each time, finish."""
    rng = np.random.default_rng(seed)
    report = SoakReport()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    base = [sys.executable, str(ROOT / "train.py"), "--run-dir", str(run), "--steps", str(total_steps),
            "--no-progress"]
    t0 = time.perf_counter()
    attempt = 0
    while True:
        before = checkpoint_state(run)
        cmd = base + (["--resume"] if before else train_args)
        log = run.parent / f"{run.name}.attempt{attempt}.log"
        attempt += 1
        with open(log, "w") as err:
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
            killed = False
            if report.kills < kills:
                # Kill during training, not during start-up: wait for a new logged step and a
                # first checkpoint (a loaded machine can take longer than max_wait to import
                # TensorFlow), then a random moment within the next (max_wait - min_wait) seconds.
                start_step = logged_step(run)
                started = time.perf_counter()
                while (proc.poll() is None and time.perf_counter() - started < timeout
                       and (logged_step(run) <= start_step or not (run / "checkpoints" / "checkpoint").exists())):
                    time.sleep(0.05)
                deadline = time.perf_counter() + rng.uniform(0.0, max_wait - min_wait)
                while time.perf_counter() < deadline and proc.poll() is None:
                    time.sleep(0.05)
                if proc.poll() is None:
                    progress = logged_step(run)
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                    killed = True
                    report.kills += 1
                    after = checkpoint_state(run)
                    if after is not None:
                        report.steps_lost.append(max(0, progress - int(after["step"])))
            if not killed:
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    report.problems.append("training did not finish in time")
                    break
        if before is not None:
            resumed = _resume_line(log)
            if resumed is not None:
                same = (resumed["step"] == int(before["step"])
                        and np.isclose(resumed["k"], before["k"], atol=1e-7)
                        and np.isclose(resumed["lr"], before["lr"], rtol=1e-6)
                        and (np.isclose(resumed["threshold"], before["threshold"], rtol=1e-6)
                             or (np.isinf(resumed["threshold"]) and np.isinf(before["threshold"]))))
                if same:
                    report.restored_matches += 1
                else:
                    report.problems.append(f"resume restored {resumed}, checkpoint had {before}")
        if not killed:
            if proc.returncode != 0:
                report.problems.append(f"train.py exited {proc.returncode}: "
                                       f"{log.read_text().strip().splitlines()[-1:]}")
            break
    report.wall_seconds = time.perf_counter() - t0
    state = checkpoint_state(run)
    report.final_step = int(state["step"]) if state else 0
    if report.final_step != total_steps:
        report.problems.append(f"final checkpoint step {report.final_step}, not {total_steps}")
    report.problems += check_logs(run, total_steps)
    return report
