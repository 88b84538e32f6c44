"""Compute precision: bf16 (Keras mixed_bfloat16) on CPUs with bfloat16
instructions (avx512_bf16 or AMX), fp32 otherwise. Outputs, losses and the
stored weights stay float32 either way.

Measured with bench/speed/train_throughput.py (n=64, batch 16, 64x64, full
conditional step): on this project's 2-core AMD EPYC with AVX-512-BF16 the
bare step ran 10.2 images/s in bf16 vs 5.4 in fp32 (1.89x). One earlier
2-core Xeon without AMX measured bf16 slower than fp32; use `--precision fp32`
where the bench shows that.

Keras is imported inside the functions that set a policy, so the light
generation path can import this module without loading TensorFlow.
"""

from __future__ import annotations

import contextlib
from pathlib import Path


def cpu_has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags.split() or "amx_bf16" in flags.split()


def resolve(precision: str) -> str:
    """'auto' -> 'bf16' or 'fp32'; others pass through."""
    if precision == "auto":
        return "bf16" if cpu_has_bf16() else "fp32"
    return precision


def apply(precision: str) -> str:
    """Set Keras' global dtype policy; returns the resolved precision."""
    import keras

    resolved = resolve(precision)
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if resolved == "bf16" else "float32")
    return resolved


def limit_threads(threads: int) -> None:
    """Cap TensorFlow's CPU threads (0 leaves TensorFlow's choice: all cores)."""
    if threads > 0:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


@contextlib.contextmanager
def float32_policy():
    """Build models in float32 (export, evaluation) whatever the global policy."""
    import keras

    old = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(old)
