"""Every JSON the tools write is strict JSON (issue 12): no NaN/Infinity, null
where a value is missing; checked with a parser that rejects the constants."""

import json
import math

import numpy as np
import pytest

from common import jsonio


def strict(text):
    return json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in JSON: {text[:200]}"))


def test_dumps_turns_missing_values_into_null_and_numpy_into_numbers():
    text = jsonio.dumps(
        {
            "a": float("nan"),
            "b": np.float32("inf"),
            "c": [np.int64(3), (1.5, -math.inf)],
            "d": np.array([0.25, np.nan]),
        }
    )
    assert strict(text) == {"a": None, "b": None, "c": [3, [1.5, None]], "d": [0.25, None]}
    with pytest.raises(ValueError):
        jsonio.loads_strict('{"x": NaN}')


def test_metrics_json_has_null_for_a_missing_step_and_missing_values(tmp_path):
    from evaluate.metrics import write_results

    write_results(
        tmp_path,
        {
            "hair_accuracy": 0.5,
            "diversity_ratio": float("nan"),
            "frechet_generated_vs_real": np.float64(12.5),
        },
    )
    data = strict((tmp_path / "metrics.json").read_text())
    assert data["step"] is None and data["diversity_ratio"] is None
    assert data["hair_accuracy"] == 0.5 and data["frechet_generated_vs_real"] == 12.5
    write_results(tmp_path, {"hair_accuracy": 0.75}, step=40)
    assert strict((tmp_path / "metrics.json").read_text())["step"] == 40


def test_every_json_of_a_trained_run_and_its_cache_is_strict(tiny_run, tiny_run_cache):
    files = list(tiny_run.rglob("*.json")) + list(tiny_run_cache.rglob("*.json"))
    names = {f.name for f in files}
    assert {"config.json", "vocab.json"} <= names and any(f.is_relative_to(tiny_run_cache) for f in files)
    for f in files:
        strict(f.read_text())


def test_the_report_baseline_json_is_strict(tiny_run, tmp_path):
    from report.build import write_baseline_grid

    write_baseline_grid(tiny_run, tmp_path)
    strict((tmp_path / "baseline.json").read_text())
