"""Keras -> TFLite conversion and a small LiteRT runner.

Generation and grading run from the TFLite flatbuffers with the LiteRT
interpreter so that a user's `./run.sh` never pays TensorFlow's import time.
`convert` needs TensorFlow (imported inside it); `TFLiteRunner` does not.

Test-only: with the environment variable TAGFACE_TEST_SKIP_TFLITE=1 a model
export (sampling.export.export_generator: the end of training, export.py)
leaves out generator.tflite and reconstructor.tflite, the two conversions that
cost a tiny test model more than its training; sampling.runtime then draws with
the Keras weights beside them (generator.weights.h5, reconstructor.weights.h5),
as it does for any export without a .tflite. tests/conftest.py sets it for the
test session; `@pytest.mark.tflite` turns it off for the tests of the TFLite
export and the LiteRT path. A tag checker saved under it (checker.checker.save_checker)
leaves out checker.tflite the same way, and load_checker reads it with Keras.
Never set it outside the tests: such an export loads TensorFlow to generate.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import numpy as np

from common.files import atomic_write
from common.quiet import silenced

SKIP_TFLITE_ENV = "TAGFACE_TEST_SKIP_TFLITE"


def tflite_export_skipped() -> bool:
    """True when a model export should write no .tflite (test-only; see the module docstring)."""
    return os.environ.get(SKIP_TFLITE_ENV) == "1"


def convert(keras_model, path: str | os.PathLike) -> Path:
    """Write `keras_model` as a float32 TFLite flatbuffer with a dynamic batch.

    Inputs keep the Keras input names so the runner can match them by name.
    The model must compute in float32 (build it under the float32 policy:
    a mixed-precision model converts to slower, casting-heavy graphs).
    (`from_keras_model` is used on purpose: a hand-built concrete function of a
    multi-input Keras 3 model converted to a flatbuffer that LiteRT ran to
    garbage here.)
    The file is written atomically: a crash never leaves a half-written model behind.
    """
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(keras_model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    with (
        silenced()
    ):  # the converter prints ~30 lines on stdout and MLIR's on stderr (TAGFACE_VERBOSE=1 shows them)
        flatbuffer = converter.convert()
    return atomic_write(path, flatbuffer)


class TFLiteRunner:
    """Runs a TFLite model on whole batches, matching inputs by name substring. An interpreter runs one
    call at a time: threads that share a runner (the studio's requests) take turns at `infer`."""

    def __init__(self, path: str | os.PathLike, num_threads: int | None = None):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        self.path = Path(path)
        options = {}
        if "tensorflow" in sys.modules:
            # In a process that has loaded TensorFlow, LiteRT's default XNNPACK delegate with
            # several threads returns different (wrong) pixels on repeated calls; the builtin
            # kernels are exact there. The fast path (no TensorFlow) keeps XNNPACK.
            options["experimental_op_resolver_type"] = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        else:
            # With delegate clustering on (LiteRT's default), XNNPACK returned wrong pixels from the
            # second call on for some batch sizes (4 and 8 here; max |diff| ~2 on [-1, 1] images,
            # ai-edge-litert 2.3.0), in any process: the studio's and the metrics' repeated calls.
            # Without clustering every call matches the builtin kernels, at the same speed
            # (tests/test_sampling_tflite.py checks repeated calls at several batch sizes).
            options["experimental_disable_delegate_clustering"] = True
        self._interpreter = Interpreter(
            model_path=str(self.path), num_threads=num_threads or os.cpu_count() or 1, **options
        )
        self._runner = self._interpreter.get_signature_runner()
        self._first_call = True
        self._lock = threading.Lock()
        details = self._interpreter.get_signature_list()
        sig = next(iter(details.values()))
        self.input_names: list[str] = list(sig["inputs"])
        self.output_names: list[str] = list(sig["outputs"])

    def _input_key(self, wanted: str) -> str:
        if wanted in self.input_names:
            return wanted
        matches = [name for name in self.input_names if wanted in name]
        if len(matches) != 1:
            raise KeyError(
                f"{self.path.name}: input {wanted!r} matches {matches or 'nothing'} among {self.input_names}"
            )
        return matches[0]

    def infer(self, inputs: dict[str, np.ndarray]):
        """Returns one array if the model has one output, else a dict by name."""
        feed = {self._input_key(k): np.ascontiguousarray(v, dtype=np.float32) for k, v in inputs.items()}
        missing = set(self.input_names) - set(feed)
        if missing:
            raise KeyError(f"{self.path.name}: missing inputs {sorted(missing)}")
        with self._lock:
            if self._first_call:  # LiteRT logs "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." here
                with silenced(stdout=False):
                    out = self._runner(**feed)
                self._first_call = False
            else:
                out = self._runner(**feed)
        if len(out) == 1:
            return next(iter(out.values()))
        return {k: out[k] for k in sorted(out)}
