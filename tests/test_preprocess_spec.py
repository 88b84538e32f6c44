"""DataSpec: checked once when built, and its key (the cache folder) changes with every setting that
decides the cached data and with nothing else, the same key as the caches written before it."""

import dataclasses
import os

import pytest

from preprocess.cache import build_or_load
from preprocess.spec import DataSpec, PreprocessError
from preprocess.synthetic import write_synthetic_set
from tags.canonical import TagSet
from tags.vocab import Vocabulary


@pytest.fixture()
def inputs(tmp_path):
    """A tiny image folder and CSV with fixed names, sizes and times (the key reads no pixel)."""
    images = tmp_path / "images"
    images.mkdir()
    for name, content in (("1.jpg", b"abc"), ("2.png", b"defgh")):
        (images / name).write_bytes(content)
        os.utime(images / name, ns=(1_600_000_000_000_000_000,) * 2)
    csv = tmp_path / "tags.csv"
    csv.write_text("1,blue hair red eyes\n2,red hair blue eyes\n")
    return images, csv


def test_the_key_is_the_one_of_the_caches_written_before_the_spec(inputs):
    """Computed by preprocess.cache of commit 8d07a45 (build_or_load with keyword arguments, whose top_k
    default was 10): an existing cache is found again."""
    assert DataSpec(*inputs, top_k=10).key() == "beee1476b80b05e766fc"


@pytest.mark.parametrize(
    "change",
    [
        {"tag_format": "2018"},
        {"size": 32},
        {"holdout": 0.2},
        {"strict": True},
        {"condition_mode": "word2vec"},
        {"top_k": 5},
        {"seed": 1},
        {"keep_grayscale": True},
        {"duplicates": "ignore"},
        {"vocab": Vocabulary.build([TagSet.make({"hair": "blue", "eyes": "red"})])},
    ],
)
def test_every_setting_that_decides_the_data_changes_the_key(inputs, change):
    spec = DataSpec(*inputs)
    assert dataclasses.replace(spec, **change).key() != spec.key()


def test_the_inputs_change_the_key_and_their_place_does_not(inputs, tmp_path):
    images, csv = inputs
    spec = DataSpec(images, csv)
    key = spec.key()
    assert DataSpec(str(images), str(csv)) == spec and DataSpec(str(images), str(csv)).key() == key
    (images / "3.jpg").write_bytes(b"x")
    assert spec.key() != key  # read when asked: the folder's listing as it is now
    (images / "3.jpg").unlink()
    assert spec.key() == key
    csv.write_text(csv.read_text().replace("blue hair red", "red hair red"))
    assert spec.key() != key


def test_from_config_takes_the_runs_data_settings(inputs):
    from model.config import TrainConfig

    images, csv = inputs
    config = TrainConfig(
        images=str(images),
        tags_csv=str(csv),
        tag_format="2018",
        image_size=32,
        holdout=0.2,
        top_k=7,
        seed=5,
        duplicates="drop",
        condition_mode="onehot",
    )
    spec = DataSpec.from_config(config)
    assert spec == DataSpec(
        images, csv, tag_format="2018", size=32, holdout=0.2, top_k=7, seed=5, duplicates="drop"
    )
    other = images.parent / "other"
    other.mkdir()
    assert DataSpec.from_config(config, images=other, holdout=0.5) == dataclasses.replace(
        spec, images=other, holdout=0.5
    )
    # what does not decide the data (the cache folder, the length of training, ...) is not in the spec
    assert DataSpec.from_config(dataclasses.replace(config, cache_dir="/elsewhere", steps=9)) == spec


@pytest.mark.parametrize(
    "change,message",
    [
        ({"holdout": 1.0}, "--holdout must be in"),
        ({"holdout": -0.1}, "--holdout must be in"),
        ({"size": 4}, "--size must be between 8 and 1024"),
        ({"seed": -1}, "--seed must be between"),
        ({"seed": 2**32}, "--seed must be between"),
        ({"top_k": 1001}, "--top-k between 0 and 1000"),
        ({"duplicates": "merge"}, "--duplicates must be group, drop, ignore"),
    ],
)
def test_a_bad_setting_is_refused_when_the_spec_is_built(inputs, change, message):
    with pytest.raises(PreprocessError, match=message):
        DataSpec(*inputs, **change)


def test_missing_inputs_are_refused_when_the_spec_is_built(inputs, tmp_path):
    images, csv = inputs
    with pytest.raises(PreprocessError, match="image folder .*nothing does not exist"):
        DataSpec(tmp_path / "nothing", csv)
    with pytest.raises(PreprocessError, match="tag CSV .*nothing.csv does not exist"):
        DataSpec(images, tmp_path / "nothing.csv")


def test_the_spec_is_frozen(inputs):
    spec = DataSpec(*inputs)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.size = 32


def test_the_cache_folder_follows_the_key_not_progress_or_log(tmp_path):
    faces = write_synthetic_set(
        tmp_path / "faces", 1, size=32, seed=3, hair=["blue", "red"], eyes=["red"], formats=("2018",)
    )
    spec = DataSpec(faces / "images", faces / "tags_2018.csv", size=32, holdout=0.0)
    lines = []
    built = build_or_load(spec, cache_dir=tmp_path / "c", progress=True, log=lines.append)
    again = build_or_load(spec, cache_dir=tmp_path / "c", progress=False, log=lines.append)
    assert not built.loaded_from_cache and again.loaded_from_cache
    assert built.cache_path == again.cache_path == tmp_path / "c" / spec.key() / "data.npz"
    assert any("built in" in line for line in lines)
    other = build_or_load(
        dataclasses.replace(spec, seed=1), cache_dir=tmp_path / "c", progress=False, log=lines.append
    )
    assert not other.loaded_from_cache and other.cache_path != built.cache_path
