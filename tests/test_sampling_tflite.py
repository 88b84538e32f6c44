"""LiteRT in a process that has loaded TensorFlow (metrics, training callbacks,
tests): repeated calls must give the same, right pixels. With XNNPACK's
threads they did not (up to 1.7 apart in [-1, 1]); sampling.tflite avoids it."""
from pathlib import Path

import numpy as np

from sampling.generation import sample_inputs
from sampling.runtime import load_generator

MODEL = Path(__file__).resolve().parents[1] / "models" / "default"


def test_repeated_litert_calls_agree_with_each_other_and_with_keras(tf):  # tf: TensorFlow is loaded (the point)
    lite = load_generator(MODEL, backend="litert")
    keras = load_generator(MODEL, backend="tensorflow")
    z, eps = sample_inputs(lite.config, 25, 0)
    cond = np.repeat(lite.vocab.conditions([lite.vocab.tagset({"hair": "blue", "eyes": "red"})]), 25, 0)
    first, second, third = (lite.generate(z, cond, eps) for _ in range(3))
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(second, third)
    np.testing.assert_allclose(first, keras.generate(z, cond, eps), atol=1e-3)
