"""Kill-and-resume check: train in a subprocess, SIGKILL it at random moments
(>= 10 times in the long run), resume each time, and check that nothing is
lost or duplicated. The short version runs in tests/test_cli_train_faults.py.

    .venv/bin/python -m bench.robustness.kill_resume [--kills 12] [--steps 200]

Prints kills survived, steps redone per kill, resumes whose restored k_t, lr
and filter threshold equalled the checkpoint, and the wall time.
"""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench import ROOT, parser
from common.cli import number


@dataclass
class KillResumeReport:
    kills: int = 0
    steps_lost: list[int] = field(default_factory=list)  # steps redone after each kill
    restored_matches: int = 0  # resumes whose restored k, lr, threshold equalled the checkpoint
    final_step: int = 0
    wall_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


def checkpoint_state(run_dir: Path) -> dict | None:
    """step, k, lr and threshold of the run's latest checkpoint (None without one)."""
    import tensorflow as tf

    latest = tf.train.latest_checkpoint(str(run_dir / "checkpoints"))
    if latest is None:
        return None
    reader = tf.train.load_checkpoint(latest)
    names = reader.get_variable_to_shape_map()

    def value(prefix):
        key = next(k for k in names if k.startswith(prefix + "/"))
        return float(reader.get_tensor(key))

    return {n: value(n) for n in ("step", "k", "lr", "threshold")} | {"path": latest}


def logged_step(run_dir: Path) -> int:
    """Last step in metrics.csv (0 if none)."""
    path = run_dir / "metrics.csv"
    if not path.exists():
        return 0
    lines = [line for line in path.read_text().splitlines()[1:] if line and line[0].isdigit()]
    return int(lines[-1].split(",")[0]) if lines else 0


def check_logs(run_dir: Path, total: int) -> list[str]:
    """No duplicated or torn rows in metrics.csv and the filter logs."""
    problems = []
    with open(run_dir / "metrics.csv", newline="") as fh:
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
    for path in sorted((run_dir / "filtered").glob("epoch_*.csv")):
        with open(path, newline="") as fh:
            frows = list(csv.DictReader(fh))
        keys = [(r["id"], r["step"]) for r in frows]
        if len(keys) != len(set(keys)):
            problems.append(f"{path.name} has duplicated rows")
        if any(None in r.values() for r in frows):
            problems.append(f"{path.name} has torn rows")
    summary = run_dir / "filtered" / "summary.csv"
    if summary.exists():
        with open(summary, newline="") as fh:
            epochs = [r["epoch"] for r in csv.DictReader(fh)]
        if len(epochs) != len(set(epochs)):
            problems.append("filtered/summary.csv has duplicated epochs")
    return problems


def _resume_line(log: Path) -> dict | None:
    """The trainer's 'resumed at step N (k=..., lr=..., threshold=...)' line, as printed."""
    if not log.exists():
        return None
    m = re.search(r"resumed at step (\d+) \(k=([^,]+), lr=([^,]+), threshold=([^)]+)\)", log.read_text())
    if not m:
        return None
    return {"step": m.group(1), "k": m.group(2), "lr": m.group(3), "threshold": m.group(4)}


def _same_state(resumed: dict, saved: dict) -> bool:
    """The resume line prints its numbers as people write them (common.cli.number), so the
    checkpoint's values are compared as they would be printed: equal to the last shown digit."""
    return int(resumed["step"]) == int(saved["step"]) and all(
        resumed[key] == number(float(saved[key])) for key in ("k", "lr", "threshold")
    )


def _kill_while_training(
    proc, run_dir: Path, report: KillResumeReport, rng, min_wait: float, max_wait: float, timeout: float
) -> bool:
    """Wait until the run steps and has a first checkpoint (a loaded machine can take
    longer than max_wait to import TensorFlow), then SIGKILL it at a random moment
    within the next (max_wait - min_wait) seconds. False if it finished first."""
    start_step = logged_step(run_dir)
    started = time.perf_counter()
    while (
        proc.poll() is None
        and time.perf_counter() - started < timeout
        and (logged_step(run_dir) <= start_step or not (run_dir / "checkpoints" / "checkpoint").exists())
    ):
        time.sleep(0.05)
    deadline = time.perf_counter() + rng.uniform(0.0, max_wait - min_wait)
    while time.perf_counter() < deadline and proc.poll() is None:
        time.sleep(0.05)
    if proc.poll() is not None:
        return False
    progress = logged_step(run_dir)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    report.kills += 1
    after = checkpoint_state(run_dir)
    if after is not None:
        report.steps_lost.append(max(0, progress - int(after["step"])))
    return True


def kill_and_resume(
    run_dir: Path,
    train_args: list[str],
    total_steps: int,
    kills: int,
    *,
    seed: int = 0,
    min_wait: float = 6.0,
    max_wait: float = 14.0,
    timeout: float = 900.0,
) -> KillResumeReport:
    """Start train.py, SIGKILL it `kills` times at random moments once it is
    stepping, resume each time (checking the restored state), finish, check the logs."""
    rng = np.random.default_rng(seed)
    report = KillResumeReport()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    base = [
        sys.executable,
        str(ROOT / "train.py"),
        "--run-dir",
        str(run_dir),
        "--steps",
        str(total_steps),
        "--no-progress",
    ]
    t0 = time.perf_counter()
    for attempt in range(kills + 1):
        before = checkpoint_state(run_dir)
        log = run_dir.parent / f"{run_dir.name}.attempt{attempt}.log"
        with open(log, "w") as err:
            proc = subprocess.Popen(
                base + (["--resume"] if before else train_args),
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
            killed = attempt < kills and _kill_while_training(
                proc, run_dir, report, rng, min_wait, max_wait, timeout
            )
            if not killed:
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    report.problems.append("training did not finish in time")
                    break
        resumed = _resume_line(log) if before is not None else None
        if resumed is not None:
            if _same_state(resumed, before):
                report.restored_matches += 1
            else:
                report.problems.append(f"resume restored {resumed}, checkpoint had {before}")
        if not killed:
            if proc.returncode != 0:
                report.problems.append(
                    f"train.py exited {proc.returncode}: {log.read_text().strip().splitlines()[-1:]}"
                )
            break
    report.wall_seconds = time.perf_counter() - t0
    state = checkpoint_state(run_dir)
    report.final_step = int(state["step"]) if state else 0
    if report.final_step != total_steps:
        report.problems.append(f"final checkpoint step {report.final_step}, not {total_steps}")
    report.problems += check_logs(run_dir, total_steps)
    return report


def main():
    p = parser(__doc__, __spec__)
    p.add_argument("--kills", type=int, default=12)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    from preprocess.synthetic import write_synthetic_set

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        faces = write_synthetic_set(tmp / "faces", 1, size=32, seed=0, formats=("2018",))
        train_args = [
            "--images",
            str(faces / "images"),
            "--tags-csv",
            str(faces / "tags_2018.csv"),
            "--cache-dir",
            str(tmp / "cache"),
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
            "--checkpoint-every",
            "10",
            "--log-every",
            "2",
            "--precision",
            "fp32",
        ]
        report = kill_and_resume(
            tmp / "run",
            train_args,
            args.steps,
            args.kills,
            seed=args.seed,
            min_wait=6.0,
            max_wait=16.0,
            timeout=1800,
        )
    lost = report.steps_lost
    print(
        f"kills survived: {report.kills}; final step {report.final_step}/{args.steps}; "
        f"steps redone per kill: mean {sum(lost) / max(len(lost), 1):.1f}, max {max(lost, default=0)}; "
        f"resumes with exact k/lr/threshold: {report.restored_matches}; wall {report.wall_seconds:.0f} s; "
        f"problems: {report.problems or 'none'}"
    )
    sys.exit(1 if report.problems else 0)


if __name__ == "__main__":
    main()
