"""Compute precision: bf16 where the CPU's bfloat16 units are really faster,
fp32 otherwise. Outputs and losses stay float32 either way.

Measured on this project's 2-core AVX-512-BF16 Xeon (no AMX) with TF 2.21 /
oneDNN 3.7: bf16 convolutions ran about 1.6x *slower* than fp32 (see
bench/train_throughput.py), so `auto` picks bf16 only on CPUs with AMX tiles
(amx_bf16), where oneDNN's bf16 kernels are several times faster. `--precision
bf16` still forces it anywhere.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import keras


def cpu_has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags.split() or "amx_bf16" in flags.split()


def cpu_has_amx() -> bool:
    try:
        return "amx_bf16" in Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False


def resolve(precision: str) -> str:
    """'auto' -> 'bf16' or 'fp32'; others pass through."""
    if precision == "auto":
        return "bf16" if cpu_has_amx() else "fp32"
    return precision


def apply(precision: str) -> str:
    """Set Keras' global dtype policy; returns the resolved precision."""
    resolved = resolve(precision)
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if resolved == "bf16" else "float32")
    return resolved


@contextlib.contextmanager
def float32_policy():
    """Build models in float32 (export, evaluation) whatever the global policy."""
    old = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(old)
