"""Which models the studio may open, and what their metrics files say.

The studio opens only model folders it found itself: `models/<name>` (an
exported model, or a run whose `export/` exists) and `runs/<name>/export`
under the project root, plus the one folder given on the command line
(`--model`). A request names a model by the id listed here; anything else
is refused before any file is touched.
"""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from checker.checker import find_checker_dir

# Keys of evaluate.metrics' metrics.json / eval.csv shown beside a model.
KEY_METRICS = ("acc_hair", "acc_eyes", "diversity_ratio", "frechet_generated_vs_real")


def _is_exported(folder: Path) -> bool:
    return (folder / "config.json").is_file() and (
        (folder / "generator.tflite").is_file() or (folder / "generator.weights.h5").is_file())


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


def model_facts(folder: Path) -> dict:
    """Step and key metrics from the metrics files evaluate.metrics writes
    (metrics.json, eval.csv) in the model folder or, for `<run>/export`, in
    the run; the step falls back to the run's training log (metrics.csv)."""
    places = [folder] + ([folder.parent] if folder.name == "export" else [])
    found, source = None, None
    for place in places:
        try:
            data = json.loads((place / "metrics.json").read_text())
            if isinstance(data, dict):
                found, source = data, place / "metrics.json"
                break
        except (OSError, ValueError):
            pass
        row = _last_csv_row(place / "eval.csv")
        if row:
            found, source = row, place / "eval.csv"
            break
    facts = {"step": None, "metrics": {}, "metrics_file": None}
    if found:
        facts["step"] = _number(found.get("step"))
        facts["metrics"] = {k: _number(found[k]) for k in KEY_METRICS if _number(found.get(k)) is not None}
        facts["metrics_file"] = source.name
    if facts["step"] is None:
        for place in places:
            row = _last_csv_row(place / "metrics.csv")
            if row and _number(row.get("step")) is not None:
                facts["step"] = _number(row["step"])
                break
    return facts


def find_models(root: Path) -> dict[str, Path]:
    """{id: folder}: models/<name>[/export] and runs/<name>/export under root,
    ids are root-relative POSIX paths ('models/default', 'runs/a/export')."""
    found: dict[str, Path] = {}
    for top, pattern in (("models", ("", "export")), ("runs", ("export",))):
        base = root / top
        try:
            names = sorted(os.listdir(base))
        except OSError:
            continue
        for name in names:
            if name.startswith("."):
                continue
            for sub in pattern:
                folder = base / name / sub if sub else base / name
                if _is_exported(folder):
                    found[folder.relative_to(root).as_posix()] = folder
                    break
    return found


def describe(model_id: str, folder: Path) -> dict:
    facts = model_facts(folder)
    parts = [model_id]
    if facts["step"] is not None:
        parts.append(f"step {facts['step']:,}" if isinstance(facts["step"], int) else f"step {facts['step']}")
    m = facts["metrics"]
    for key, short in (("acc_hair", "hair"), ("acc_eyes", "eyes")):
        if key in m:
            parts.append(f"{short} {m[key]:.2f}")
    if "frechet_generated_vs_real" in m:
        parts.append(f"Frechet {m['frechet_generated_vs_real']:.0f}")
    return {"id": model_id, "label": " · ".join(parts), "step": facts["step"], "metrics": m,
            "metrics_file": facts["metrics_file"], "checker": find_checker_dir(folder) is not None,  # where the server looks
            "litert": (folder / "generator.tflite").is_file()}
