"""The exported models under a project root, what their metrics files say, and each opened once: the
studio's model picker. Only folders found here are listed (`models/<name>`, an exported model or its
`export/`, and `runs/<name>/export`) plus one given by path; a request names one by its id here, and
anything else is refused before any file is touched. Standard library only (no TensorFlow at import).
"""

from __future__ import annotations

import csv
import json
import os
import threading
from pathlib import Path, PurePosixPath
from typing import Callable

from common.cli import UserError
from model.config import CONFIG_NAME
from model.run_folder import EXPORT_DIR
from sampling.export import GENERATOR_TFLITE, GENERATOR_WEIGHTS, ModelError, resolve_model_dir

KEY_METRICS = ("acc_hair", "acc_eyes", "diversity_ratio", "frechet_generated_vs_real")  # shown beside a model


class UnlistedModel(UserError):
    """A model id that names none of the listed folders; `outside`: not even a path under the model
    folders (models/ and runs/*/export), such as ../x or /etc."""

    def __init__(self, message: str, outside: bool):
        super().__init__(message)
        self.outside = outside


def _last_row(path: Path) -> dict:
    try:
        with open(path, newline="") as fh:
            return ([{}] + list(csv.DictReader(fh)))[-1]
    except (OSError, csv.Error, UnicodeDecodeError):
        return {}


def _json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _number(value):
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return int(x) if x.is_integer() and abs(x) < 2**53 else x


def describe(model_id: str, folder: Path) -> dict:
    """Step and key metrics from metrics.json, else eval.csv's last row (evaluate.metrics writes both), in
    the folder or, for `<run>/export`, in the run; else the step of the training log (metrics.csv)."""
    places = [folder] + ([folder.parent] if folder.name == EXPORT_DIR else [])
    found = [
        (facts, name)
        for place in places
        for name, facts in (
            ("metrics.json", _json(place / "metrics.json")),
            ("eval.csv", _last_row(place / "eval.csv")),
        )
        if facts
    ]
    facts, source = found[0] if found else ({}, None)
    step = _number(facts.get("step"))
    for place in places if step is None else []:
        if (step := _number(_last_row(place / "metrics.csv").get("step"))) is not None:
            break
    metrics = {k: _number(facts[k]) for k in KEY_METRICS if _number(facts.get(k)) is not None}
    label = [model_id] + (
        [f"step {step:,}" if isinstance(step, int) else f"step {step}"] if step is not None else []
    )
    label += [
        f"{short} {metrics[k]:.2f}"
        for k, short in (("acc_hair", "hair"), ("acc_eyes", "eyes"))
        if k in metrics
    ]
    label += [f"Frechet {metrics[k]:.0f}" for k in KEY_METRICS[3:] if k in metrics]
    return {
        "id": model_id,
        "label": " · ".join(label),
        "step": step,
        "metrics": metrics,
        "metrics_file": source,
        "litert": (folder / GENERATOR_TFLITE).is_file(),
    }


def _exported(folder: Path) -> bool:
    return (folder / CONFIG_NAME).is_file() and (
        (folder / GENERATOR_TFLITE).is_file() or (folder / GENERATOR_WEIGHTS).is_file()
    )


def find_models(root: Path) -> dict[str, Path]:
    """{id: folder}, ids root-relative POSIX paths ('models/default', 'runs/a/export')."""
    found: dict[str, Path] = {}
    for top, subs in (("models", ("", EXPORT_DIR)), ("runs", (EXPORT_DIR,))):
        names = sorted(os.listdir(root / top)) if (root / top).is_dir() else []
        for name in [name for name in names if not name.startswith(".")]:
            folder = next((f for f in (root / top / name / sub for sub in subs) if _exported(f)), None)
            if folder:
                found[folder.relative_to(root).as_posix()] = folder
    return found


class Catalogue:
    """The models under `root`, `model` (else models/default) selected first, each opened once by
    `opener(id, folder)` (the studio's: its generator and checker, warmed up) and kept; `loads` counts the
    openings. The first model is opened at once, so a broken one fails before anything is served."""

    def __init__(
        self, root: str | Path, opener: Callable[[str, Path], object], model: str | Path | None = None
    ):
        self.root, self._opener, self._extra = Path(root).resolve(), opener, {}
        self._opened, self._lock, self.loads = {}, threading.Lock(), {}
        listed = self.models()
        self.default_id = "models/default" if "models/default" in listed else next(iter(listed), None)
        if model is not None:  # a folder outside models/ and runs/ is listed by its path
            folder = resolve_model_dir(model).resolve()
            self.default_id = next((k for k, v in listed.items() if v.resolve() == folder), folder.as_posix())
            self._extra = {} if self.default_id in listed else {self.default_id: folder}
        if self.default_id is None:
            raise ModelError(
                f"no model found under {self.root / 'models'} or {self.root / 'runs'}/*/export; "
                "pass --model DIR"
            )
        self.open(self.default_id)

    def models(self) -> dict[str, Path]:
        return find_models(self.root) | self._extra

    def resolve(self, value: str | None) -> tuple[str, Path]:
        """A model id (None: the default) -> (id, folder); only folders this catalogue listed."""
        value, models = value or self.default_id, self.models()
        for candidate in (value, value.rstrip("/"), value.rstrip("/") + "/" + EXPORT_DIR):
            if candidate in models:
                return candidate, models[candidate]
        parts = PurePosixPath(value).parts
        if (
            value.startswith(("/", "~"))
            or "\\" in value
            or ":" in value
            or ".." in parts
            or not parts
            or parts[0] not in ("models", "runs")
        ):
            raise UnlistedModel(
                f"model {value!r} is outside the model folders (models/ and runs/*/export); "
                f"choose one of: {', '.join(models)}",
                outside=True,
            )
        raise UnlistedModel(f"no model {value!r}; the model folders hold: {', '.join(models)}", outside=False)

    def open(self, value: str | None) -> tuple[str, object]:
        """(id, what the opener gave) of a model id; an UnlistedModel, or the opener's ModelError."""
        model_id, folder = self.resolve(value)
        if model_id not in self._opened:
            with self._lock:
                if model_id not in self._opened:
                    self._opened[model_id] = self._opener(model_id, folder)
                    self.loads[model_id] = self.loads.get(model_id, 0) + 1
        return model_id, self._opened[model_id]
