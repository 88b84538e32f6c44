"""sampling.catalogue: the exported models under a project root, what their metrics files say, and each
opened once (the studio's model picker; its tests hold it over HTTP with real models, these on empty
files and a counting opener)."""

import json
import threading

import pytest

from sampling.catalogue import Catalogue, UnlistedModel, describe, find_models
from sampling.export import ModelError


def _export(folder, tflite=True):
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / ("generator.tflite" if tflite else "generator.weights.h5")).write_bytes(b"")
    return folder


@pytest.fixture
def root(tmp_path):
    _export(tmp_path / "models" / "default")
    _export(tmp_path / "models" / "run" / "export", tflite=False)  # a run under models/: its export
    _export(tmp_path / "runs" / "a" / "export")
    (tmp_path / "runs" / "b").mkdir(parents=True)  # no export: not listed
    _export(tmp_path / "runs" / ".hidden" / "export")
    return tmp_path


def test_only_exported_folders_are_listed(root):
    assert list(find_models(root)) == ["models/default", "models/run/export", "runs/a/export"]


def test_describe_reads_the_metrics_files(root):
    run = root / "runs" / "a"
    (run / "eval.csv").write_text("step,acc_hair,acc_eyes\n100,0.5,0.4\n1200,0.61,0.42\n")
    facts = describe("runs/a/export", run / "export")
    assert facts["step"] == 1200 and facts["metrics"] == {"acc_hair": 0.61, "acc_eyes": 0.42}
    assert (
        facts["metrics_file"] == "eval.csv"
        and facts["label"] == "runs/a/export · step 1,200 · hair 0.61 · eyes 0.42"
    )
    (run / "export" / "metrics.json").write_text(json.dumps({"step": 7, "frechet_generated_vs_real": 81.4}))
    facts = describe("runs/a/export", run / "export")
    assert facts["metrics_file"] == "metrics.json" and facts["label"] == "runs/a/export · step 7 · Frechet 81"
    assert describe("models/run/export", root / "models" / "run" / "export")["litert"] is False


def test_a_model_is_named_by_its_listed_id_and_opened_once(root):
    opened = []

    def opener(model_id, folder):
        opened.append(model_id)
        return folder

    catalogue = Catalogue(root, opener)
    assert catalogue.default_id == "models/default" and opened == ["models/default"]  # opened at once
    threads = [
        threading.Thread(target=catalogue.open, args=("runs/a",)) for _ in range(8)
    ]  # the run: its export
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert catalogue.open("runs/a/export/") == ("runs/a/export", root / "runs" / "a" / "export")
    assert opened == ["models/default", "runs/a/export"] and catalogue.loads == {
        "models/default": 1,
        "runs/a/export": 1,
    }
    for value, outside in [
        ("../secret", True),
        ("/etc", True),
        ("tests", True),
        ("runs/b", False),
        ("models/x", False),
    ]:
        with pytest.raises(UnlistedModel) as caught:
            catalogue.open(value)
        assert caught.value.outside is outside, value
    assert opened == ["models/default", "runs/a/export"]


def test_a_model_given_by_path_is_listed_and_selected(root, tmp_path_factory):
    elsewhere = _export(tmp_path_factory.mktemp("other") / "mine")
    catalogue = Catalogue(root, lambda model_id, folder: folder, elsewhere)
    assert (
        catalogue.default_id == elsewhere.resolve().as_posix() and catalogue.default_id in catalogue.models()
    )
    assert Catalogue(root, lambda model_id, folder: folder, root / "runs" / "a").default_id == "runs/a/export"
    with pytest.raises(ModelError, match="no model found"):
        Catalogue(root / "runs" / "b", lambda model_id, folder: folder)
