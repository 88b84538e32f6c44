"""Benchmarks and harnesses, grouped by job; each prints figures. Run them from the
repository's root as modules, e.g. `.venv/bin/python -m bench.quality.default_model --help`:

- bench.speed: how fast (training throughput, the bare update step, multi-worker training,
  generation and studio latency, the dataset cache);
- bench.quality: how good (the default model's targets, time to quality, the gamma sweep,
  BEGAN's equilibrium, runs at equal CPU time, editing, the checker, the course baseline
  on real faces, the synthetic hair-colour check, which loss term drives divergence);
- bench.robustness: what survives (kill and resume, the stability matrix).

Shared here: ROOT (the checkout), parser (a bench's --help), cpu_name (the CPU beside every figure),
real_data (the real set's flags) and settings (--set NAME=VALUE,
settings as train.py flags). Imports are absolute from the repository's root; `kill_resume`,
`synthetic_colour`, `default_model` and `time_to_quality` are also used by the tests."""

import argparse
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def parser(doc: str, spec, formatter_class=argparse.RawDescriptionHelpFormatter) -> argparse.ArgumentParser:
    """A bench module's argument parser: its docstring as the description, and the command that
    runs it (`python -m bench.<group>.<name>`; `spec` is the module's __spec__) in its usage line."""
    return argparse.ArgumentParser(
        prog=f"python -m {spec.name}" if spec else None, description=doc, formatter_class=formatter_class
    )


def cpu_name() -> str:
    """The CPU as lscpu names it, with the core count and the load: every figure is named beside it."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        name = next(
            line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")
        )
    except (OSError, StopIteration, subprocess.SubprocessError):
        name = "unknown CPU (no lscpu)"
    return f"{name}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all threads), from /proc/PID/stat (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
