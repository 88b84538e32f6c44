"""Which models the studio may open, what their metrics files say, and each loaded once.

Only model folders it found itself: `models/<name>` (an exported model, else its `export/`) and
`runs/<name>/export` under the project root, plus the one given with --model. A request names one by the
id listed here; anything else is refused before any file is touched.
"""

from __future__ import annotations

import csv
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from checker.checker import find_checker_dir, load_checker
from sampling.drawing import Drawing
from sampling.runtime import ModelError, load_generator, resolve_model_dir
from sampling.sheet import draw
from studio.params import ApiError

KEY_METRICS = ("acc_hair", "acc_eyes", "diversity_ratio", "frechet_generated_vs_real")  # shown beside a model


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
    places = [folder] + ([folder.parent] if folder.name == "export" else [])
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
        "checker": find_checker_dir(folder) is not None,
        "litert": (folder / "generator.tflite").is_file(),
    }


def _exported(folder: Path) -> bool:
    return (folder / "config.json").is_file() and (
        (folder / "generator.tflite").is_file() or (folder / "generator.weights.h5").is_file()
    )


def find_models(root: Path) -> dict[str, Path]:
    """{id: folder}, ids root-relative POSIX paths ('models/default', 'runs/a/export')."""
    found: dict[str, Path] = {}
    for top, subs in (("models", ("", "export")), ("runs", ("export",))):
        names = sorted(os.listdir(root / top)) if (root / top).is_dir() else []
        for name in [name for name in names if not name.startswith(".")]:
            folder = next((f for f in (root / top / name / sub for sub in subs) if _exported(f)), None)
            if folder:
                found[folder.relative_to(root).as_posix()] = folder
    return found


@dataclass
class Loaded:
    """A model's generator and checker, shared by every request (a draw changes nothing in them), and its
    face editor (TensorFlow), opened by the first upload; one search at a time: its variables are shared."""

    generator: object
    checker: object
    checker_error: str | None
    recolourer: object = None
    edit_lock: threading.Lock = field(default_factory=threading.Lock)


class Models:
    """The models a studio may open, `model` (else models/default) selected first, each loaded once and
    warmed up, so the first page is as fast as the next."""

    def __init__(self, root: str | Path, model: str | Path | None = None):
        self.root, self._extra, self._cache, self._lock = Path(root).resolve(), {}, {}, threading.Lock()
        self.loads: dict[str, int] = {}  # model id -> times loaded (once each)
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
        self.load(self.default_id)  # fail early on a broken model

    def models(self) -> dict[str, Path]:
        return find_models(self.root) | self._extra

    def resolve(self, value: str | None) -> tuple[str, Path]:
        """A request's model id -> (id, folder); only folders this studio listed."""
        value, models = value or self.default_id, self.models()
        for candidate in (value, value.rstrip("/"), value.rstrip("/") + "/export"):
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
            raise ApiError(
                400,
                f"model {value!r} is outside the model folders (models/ and runs/*/export); "
                f"choose one of: {', '.join(models)}",
                "model",
            )
        raise ApiError(404, f"no model {value!r}; the model folders hold: {', '.join(models)}", "model")

    def load(self, model_id: str) -> Loaded:
        if model_id not in self._cache:
            with self._lock:
                if model_id not in self._cache:
                    self._cache[model_id] = self._open(model_id)
        return self._cache[model_id]

    def _open(self, model_id: str) -> Loaded:
        folder, checker, error = self.models()[model_id], None, None
        generator = load_generator(folder)
        self.loads[model_id] = self.loads.get(model_id, 0) + 1
        try:
            checker = load_checker(folder)
        except ValueError as exc:  # ModelError: none beside the model, or a broken one
            error = (
                str(exc)
                if find_checker_dir(folder)
                else (f"no tag checker beside {model_id} (python export.py RUN --checker DIR adds one)")
            )
        first = generator.vocab.text({group: values[0] for group, values in generator.vocab.groups.items()})
        draw(generator, Drawing(tags=(first,), grade=checker is not None), checker)  # the warm-up
        return Loaded(generator, checker, error)

    def model(self, value: str | None) -> tuple[str, Loaded]:
        """(id, the loaded model) of a request's `model`; one that cannot be loaded is a 422."""
        model_id, _ = self.resolve(value)
        try:
            return model_id, self.load(model_id)
        except ModelError as exc:
            raise ApiError(422, str(exc), "model") from None
