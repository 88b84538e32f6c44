"""Which models the studio may open, what their metrics files say, and each loaded once.

The studio opens only model folders it found itself: `models/<name>` (an exported model, or a run whose
`export/` exists) and `runs/<name>/export` under the project root, plus the one folder given with --model.
A request names a model by the id listed here; anything else is refused before any file is touched.
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


def _last_csv_row(path: Path) -> dict | None:
    try:
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, csv.Error, UnicodeDecodeError):
        return None
    return rows[-1] if rows else None


def _number(value):
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return int(x) if x.is_integer() and abs(x) < 2 ** 53 else x


def _metrics_file(places: list[Path]) -> tuple[dict | None, str | None]:
    """The first metrics.json, else the last row of eval.csv (evaluate.metrics writes both)."""
    for place in places:
        try:
            data = json.loads((place / "metrics.json").read_text())
            if isinstance(data, dict):
                return data, "metrics.json"
        except (OSError, ValueError):
            pass
        if row := _last_csv_row(place / "eval.csv"):
            return row, "eval.csv"
    return None, None


def describe(model_id: str, folder: Path) -> dict:
    """Step and key metrics from the model folder or, for `<run>/export`, the run; the step falls back to
    the run's training log (metrics.csv)."""
    places = [folder] + ([folder.parent] if folder.name == "export" else [])
    found, source = _metrics_file(places)
    step = _number((found or {}).get("step"))
    metrics = {k: _number(found[k]) for k in KEY_METRICS if found and _number(found.get(k)) is not None}
    if step is None:
        steps = (_number((_last_csv_row(place / "metrics.csv") or {}).get("step")) for place in places)
        step = next((s for s in steps if s is not None), None)
    parts = [model_id] + ([f"step {step:,}" if isinstance(step, int) else f"step {step}"] if step is not None else [])
    parts += [f"{short} {metrics[key]:.2f}" for key, short in (("acc_hair", "hair"), ("acc_eyes", "eyes"))
              if key in metrics]
    if "frechet_generated_vs_real" in metrics:
        parts.append(f"Frechet {metrics['frechet_generated_vs_real']:.0f}")
    return {"id": model_id, "label": " · ".join(parts), "step": step, "metrics": metrics, "metrics_file": source,
            "checker": find_checker_dir(folder) is not None, "litert": (folder / "generator.tflite").is_file()}


def find_models(root: Path) -> dict[str, Path]:
    """{id: folder}: models/<name> (else its export/) and runs/<name>/export under root; ids are
    root-relative POSIX paths ('models/default', 'runs/a/export')."""
    found: dict[str, Path] = {}
    for top, subs in (("models", ("", "export")), ("runs", ("export",))):
        try:
            names = sorted(n for n in os.listdir(root / top) if not n.startswith("."))
        except OSError:
            continue
        for name in names:
            folder = next((f for f in (root / top / name / sub for sub in subs) if (f / "config.json").is_file()
                           and any((f / g).is_file() for g in ("generator.tflite", "generator.weights.h5"))), None)
            if folder:
                found[folder.relative_to(root).as_posix()] = folder
    return found


@dataclass
class Loaded:
    """One model's generator and checker, shared by every request (a draw changes nothing in them), and its
    face editor (TensorFlow), opened by the first upload; one search at a time: its variables are shared."""
    generator: object
    checker: object
    checker_error: str | None
    recolourer: object = None
    edit_lock: threading.Lock = field(default_factory=threading.Lock)


class Models:
    """The models a studio may open (`root`'s, and `model` given on the command line, selected first), each
    loaded once and warmed up, so the first page is as fast as the next."""

    def __init__(self, root: str | Path, model: str | Path | None = None):
        self.root, self._extra = Path(root).resolve(), {}
        self._cache: dict[str, Loaded] = {}
        self.loads: dict[str, int] = {}  # model id -> times loaded (once each)
        self._load_lock = threading.Lock()
        listed = self.models()
        if model is not None:
            folder = resolve_model_dir(model).resolve()
            self.default_id = next((k for k, v in listed.items() if v.resolve() == folder), folder.as_posix())
            self._extra = {} if self.default_id in listed else {self.default_id: folder}
        else:
            self.default_id = "models/default" if "models/default" in listed else next(iter(listed), None)
        if self.default_id is None:
            raise ModelError(f"no model found under {self.root / 'models'} or {self.root / 'runs'}/*/export; "
                             "pass --model DIR")
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
        if (value.startswith(("/", "~")) or "\\" in value or ":" in value or ".." in parts
                or not parts or parts[0] not in ("models", "runs")):
            raise ApiError(400, f"model {value!r} is outside the model folders (models/ and runs/*/export); "
                                f"choose one of: {', '.join(models)}", "model")
        raise ApiError(404, f"no model {value!r}; the model folders hold: {', '.join(models)}", "model")

    def load(self, model_id: str) -> Loaded:
        if model_id in self._cache:
            return self._cache[model_id]
        with self._load_lock:
            if model_id not in self._cache:
                folder = self.models()[model_id]
                generator, checker, error = load_generator(folder), None, None
                self.loads[model_id] = self.loads.get(model_id, 0) + 1
                try:
                    checker = load_checker(folder)
                except ModelError as exc:  # none beside the model, or a broken one
                    error = (str(exc) if find_checker_dir(folder) else f"no tag checker beside {model_id} "
                             "(python export.py RUN --checker DIR adds one)")
                vocab = generator.vocab
                first = vocab.text({group: values[0] for group, values in vocab.groups.items()})
                draw(generator, Drawing(tags=(first,), grade=checker is not None), checker)  # the warm-up
                self._cache[model_id] = Loaded(generator, checker, error)
            return self._cache[model_id]

    def model(self, value: str | None) -> tuple[str, Loaded]:
        model_id, _ = self.resolve(value)
        try:
            return model_id, self.load(model_id)
        except ModelError as exc:
            raise ApiError(422, str(exc), "model") from None
