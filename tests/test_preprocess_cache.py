"""The three CSV formats, malformed lines, bad images, the report, the split,
the cache key and the tf.data pipeline — all on synthetic files."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from preprocess.cache import PreprocessError, build_or_load
from preprocess.spec import DataSpec
from preprocess.synthetic import draw_face, hair_region, write_synthetic_set
from tags.canonical import TagSet
from tags.readers import detect_format, read_tag_csv, read_tag_text
from tags.vocab import Vocabulary
from tests.conftest import ROOT


@pytest.fixture()
def few_faces(tmp_path):
    """Six faces (3 hair x 2 eye colours) of this test's own, which it may change."""
    return write_synthetic_set(
        tmp_path / "faces", 1, size=32, seed=3, hair=["blue", "red", "green"], eyes=["red", "blue"]
    )


def _report(data) -> list[dict]:
    with open(data.report_path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize(
    "name,fmt", [("tags_2018.csv", "2018"), ("tags_2017.csv", "2017"), ("tags_header.csv", "header")]
)
def test_each_format_is_detected_and_read(few_faces, name, fmt):
    text = (few_faces / name).read_text()
    assert detect_format(text) == fmt
    result = read_tag_csv(few_faces / name, few_faces / "images")
    assert result.format == fmt and not result.skipped
    assert len(result.rows) == 6
    first = result.rows[0]
    assert first.values == {"hair": "blue", "eyes": "red"}
    assert Path(first.path).exists()


def test_2018_malformed_lines_each_get_a_reason():
    text = (
        "\ufeff0,blue hair red eyes\r\n"  # BOM + CRLF
        "\n"  # blank line: ignored
        "1,blue hair,red eyes\n"  # wrong column count
        "2,\n"  # empty tags
        "../abc,blue hair red eyes\n"  # not a file name in the image folder
        "3,blue hair red hair\n"  # two hair colours
        "4\n"  # no tags column
        "5,Blond Hair GREY EYE\n"
    )
    result = read_tag_text(text)
    assert [(r.id, r.values) for r in result.rows] == [
        ("0", {"hair": "blue", "eyes": "red"}),
        ("5", {"hair": "blonde", "eyes": "gray"}),
    ]
    reasons = {s.row: s.reason for s in result.skipped}
    assert reasons == {
        3: "wrong column count (expected id,tags)",
        4: "empty tags",
        5: "unusable id '../abc' (an image file name: letters in any script, digits, _ . -)",
        6: "two hair colours",
        7: "wrong column count (expected id,tags)",
    }


def test_2017_keeps_the_higher_count_and_skips_ties():
    text = (
        "1,blue hair:30\tred hair:4\tred eyes:9\tlong hair:3\n"
        "2,blue hair:3\tred hair:3\tred eyes:2\n"
        "3,long hair:1\tsmile:4\n"
        "4,blue hair red eyes\n"
    )
    result = read_tag_text(text, tag_format="2017")
    rows = {r.id: r for r in result.rows}
    assert rows["1"].values == {"hair": "blue", "eyes": "red"} and rows["1"].extras == ("long hair",)
    assert rows["3"].values == {} and rows["3"].extras == ("long hair", "smile")
    reasons = {s.row: s.reason for s in result.skipped}
    assert reasons[2] == "ambiguous hair"
    assert reasons[4].startswith("malformed tag")


def test_header_csv_with_quotes_semicolons_and_bad_rows():
    text = (
        'image,tags\n"a.jpg","blue hair, red eyes"\nb.jpg,green hair;blue eyes;smile\n'
        "c.jpg\n,red eyes\nd.jpg,\n"
    )
    result = read_tag_text(text)
    assert result.format == "header"
    assert [(r.id, r.values, r.extras) for r in result.rows] == [
        ("a", {"hair": "blue", "eyes": "red"}, ()),
        ("b", {"hair": "green", "eyes": "blue"}, ("smile",)),
    ]
    assert {s.row: s.reason for s in result.skipped} == {
        4: "wrong column count (expected 2)",
        5: "empty image path",
        6: "empty tags",
    }


def test_bad_images_are_skipped_and_reported(few_faces, tmp_path):
    images = few_faces / "images"
    (images / "0.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")  # corrupt
    gray = np.repeat(iio.imread(images / "1.jpg").mean(axis=2, keepdims=True), 3, axis=2).astype(np.uint8)
    iio.imwrite(images / "1.jpg", gray)  # grayscale
    (images / "2.jpg").unlink()  # missing
    rgba = np.dstack([draw_face("green", "blue", 40), np.full((40, 40), 255, np.uint8)])
    iio.imwrite(images / "3.png", rgba)  # png + alpha + other size: loaded and resized
    (images / "3.jpg").unlink()
    data = build_or_load(
        DataSpec(images, few_faces / "tags_2018.csv", size=32), cache_dir=tmp_path / "c", progress=False
    )
    assert len(data) == 3
    assert data.images.shape == (3, 32, 32, 3) and data.images.dtype == np.uint8
    reasons = {int(r["row"]): r["reason"] for r in _report(data)}
    assert reasons[1].startswith("unreadable image")
    assert reasons[2] == "grayscale" and reasons[3] == "missing file"
    assert data.skipped == {"unreadable image": 1, "grayscale": 1, "missing file": 1}
    assert data.ids.dtype.kind == "U" and data.paths.dtype.kind == "U"
    with pytest.raises(PreprocessError, match="line 1 of"):
        build_or_load(
            DataSpec(images, few_faces / "tags_2018.csv", size=32, strict=True),
            cache_dir=tmp_path / "c2",
            progress=False,
        )


def test_gif_bmp_and_palette_images_load(tmp_path):
    from PIL import Image

    from preprocess.images import load_image

    face = draw_face("red", "blue", 48)
    iio.imwrite(tmp_path / "a.bmp", face)
    Image.fromarray(face).convert("P").save(tmp_path / "b.png")
    frames = np.stack([face, face[::-1]])
    iio.imwrite(tmp_path / "c.gif", frames)
    for name in ("a.bmp", "b.png", "c.gif"):
        img, reason = load_image(str(tmp_path / name), 32)
        assert reason == "" and img.shape == (32, 32, 3), name
        hair = img[hair_region(32)].mean(axis=0)
        assert np.argmax(hair) == 0, (name, hair)  # red hair stays red (and the gif's first frame is used)


def test_unknown_tags_for_a_given_vocabulary_are_skipped(few_faces, tmp_path):
    from tags.canonical import TagSet
    from tags.vocab import Vocabulary

    vocab = Vocabulary.build(
        [TagSet.make({"hair": "blue", "eyes": "red"}), TagSet.make({"hair": "red", "eyes": "blue"})]
    )
    data = build_or_load(
        DataSpec(few_faces / "images", few_faces / "tags_2018.csv", size=32, vocab=vocab),
        cache_dir=tmp_path / "c",
        progress=False,
    )
    assert len(data) == 4  # green hair rows are unknown to this vocabulary
    assert sum(r["reason"] == "unknown tag green hair" for r in _report(data)) == 2
    assert data.conditions.shape[1] == vocab.dim


def _tagsets(data):
    return [
        TagSet.make(
            dict(zip(data.vocab.groups, (data.vocab.groups[g][i] for g, i in zip(data.vocab.groups, row))))
        )
        for row in data.labels
    ]


def test_cache_reuse_and_rebuild_on_change(few_faces, tmp_path):
    cache = tmp_path / "cache"
    a = build_or_load(
        DataSpec(few_faces / "images", few_faces / "tags_2018.csv", size=32), cache_dir=cache, progress=False
    )
    b = build_or_load(
        DataSpec(few_faces / "images", few_faces / "tags_2018.csv", size=32), cache_dir=cache, progress=False
    )
    assert not a.loaded_from_cache and b.loaded_from_cache
    np.testing.assert_array_equal(a.images, b.images)
    # a resumed run passes its saved vocabulary: the same one reuses the cache, another one does not
    same = build_or_load(
        DataSpec(
            few_faces / "images",
            few_faces / "tags_2018.csv",
            size=32,
            vocab=Vocabulary.load(a.cache_path.parent / "vocab.json"),
        ),
        cache_dir=cache,
        progress=False,
    )
    assert same.loaded_from_cache and same.cache_path == a.cache_path
    narrower = Vocabulary.build([t for t in _tagsets(a) if t.get("hair") != "green"])
    other = build_or_load(
        DataSpec(few_faces / "images", few_faces / "tags_2018.csv", size=32, vocab=narrower),
        cache_dir=cache,
        progress=False,
    )
    assert not other.loaded_from_cache and other.cache_path != a.cache_path
    assert "green" not in other.vocab.groups["hair"] and len(other) < len(a)
    csv_path = few_faces / "tags_2018.csv"
    csv_path.write_text(csv_path.read_text().replace("0,blue hair red eyes", "0,red hair red eyes"))
    c = build_or_load(DataSpec(few_faces / "images", csv_path, size=32), cache_dir=cache, progress=False)
    assert not c.loaded_from_cache and c.cache_path != a.cache_path
    assert c.vocab.groups["hair"] == a.vocab.groups["hair"]
    assert c.labels[0, 0] == c.vocab.groups["hair"].index("red")


def test_stratified_holdout_is_fixed_and_covers_each_combination(tmp_path):
    faces = write_synthetic_set(
        tmp_path / "f", 10, size=32, hair=["blue", "red"], eyes=["red", "green"], formats=("2018",)
    )
    d1 = build_or_load(
        DataSpec(faces / "images", faces / "tags_2018.csv", size=32, holdout=0.2),
        cache_dir=tmp_path / "c1",
        progress=False,
    )
    d2 = build_or_load(
        DataSpec(faces / "images", faces / "tags_2018.csv", size=32, holdout=0.2),
        cache_dir=tmp_path / "c2",
        progress=False,
    )
    np.testing.assert_array_equal(d1.holdout, d2.holdout)
    assert d1.holdout.sum() == 8
    for combo in np.unique(d1.combo):
        assert d1.holdout[d1.combo == combo].sum() == 2  # 20 % of each of the 4 combinations
    assert not set(d1.train_indices()) & set(d1.holdout_indices())
    split = (d1.cache_path.parent / "split.csv").read_text().splitlines()
    assert split[0] == "id,split" and sum(line.endswith("holdout") for line in split) == 8


def test_dataset_order_is_reproducible_and_skips_ahead(tmp_path):
    from preprocess.dataset import make_dataset

    faces = write_synthetic_set(
        tmp_path / "f", 2, size=32, hair=["blue", "red"], eyes=["red", "green"], formats=("2018",)
    )
    data = build_or_load(
        DataSpec(faces / "images", faces / "tags_2018.csv", size=32, holdout=0.0),
        cache_dir=tmp_path / "c",
        progress=False,
    )
    rows = data.train_indices()
    full = [b[2].numpy() for b in make_dataset(data, rows, 2, seed=1, epoch=3)]
    resumed = [b[2].numpy() for b in make_dataset(data, rows, 2, seed=1, epoch=3, skip_batches=1)]
    other_epoch = [b[2].numpy() for b in make_dataset(data, rows, 2, seed=1, epoch=4)]
    assert np.array_equal(np.concatenate(full[1:]), np.concatenate(resumed))
    assert not np.array_equal(np.concatenate(full), np.concatenate(other_epoch))
    images, cond, index = next(iter(make_dataset(data, rows, 4, seed=0, epoch=0)))
    assert (
        images.shape == (4, 32, 32, 3)
        and -1.0 <= float(images.numpy().min()) <= float(images.numpy().max()) <= 1.0
    )
    np.testing.assert_allclose(cond.numpy(), data.conditions[index.numpy()])


@pytest.mark.slow
def test_preprocess_and_tags_command_lines(few_faces, tmp_path):
    env = dict(os.environ, TAGFACE_CACHE=str(tmp_path / "cache"))
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "preprocess",
            "--images",
            str(few_faces / "images"),
            "--tags-csv",
            str(few_faces / "tags_2018.csv"),
            "--size",
            "32",
            "--holdout",
            "0",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "kept 6, skipped 0" in r.stdout + r.stderr
    vocab = next((tmp_path / "cache").glob("*/vocab.json"))
    r = subprocess.run(
        [sys.executable, "-m", "tags", "Blue Hair, RED eyes", "--vocab", str(vocab)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0 and r.stdout.strip() == "blue hair red eyes"
    r = subprocess.run(
        [sys.executable, "-m", "tags", "rainbow hair", "--vocab", str(vocab)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "closest known tags" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run(
        [sys.executable, "-m", "tags", "--list", "--vocab", str(vocab)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0 and "hair: blue hair, green hair, red hair" in r.stdout


def test_near_duplicate_groups_join_mirrors_and_reencodes_only(tmp_path):
    """A face, its mirror image and a JPEG re-encode of the mirror share a group
    (transitively); different faces, even of one tag combination, do not."""
    import io

    from PIL import Image

    from preprocess.duplicates import near_duplicate_groups

    rng = np.random.default_rng(5)
    faces = np.stack(
        [draw_face("blue", "red", 64, rng) for _ in range(6)]
        + [draw_face(h, "green", 64, rng) for h in ("red", "pink")]
    )
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(faces[2][:, ::-1])).save(buffer, "JPEG", quality=90)
    reencoded = np.asarray(Image.open(buffer))
    images = np.concatenate([faces, faces[2:3, :, ::-1], reencoded[None], faces[7:8]])
    groups = near_duplicate_groups(images)
    assert groups.dtype == np.int64 and groups.shape == (11,)
    assert groups[2] == groups[8] == groups[9] and groups[7] == groups[10]
    assert len(np.unique(groups[:8])) == 8  # eight different faces, eight groups
    assert sorted(np.unique(groups)) == list(range(8))
    np.testing.assert_array_equal(near_duplicate_groups(images.astype(np.float32) / 127.5 - 1.0), groups)


def _twin_set(tmp_path):
    from preprocess.synthetic import add_twins

    faces = write_synthetic_set(
        tmp_path / "f", 10, size=64, hair=["blue", "red"], eyes=["red", "green"], formats=("2018",)
    )
    return faces, add_twins(faces, range(0, 40, 2))  # 20 of the 40 faces get a mirrored twin


def test_split_keeps_each_near_duplicate_group_on_one_side(tmp_path):
    faces, twins = _twin_set(tmp_path)
    data = build_or_load(
        DataSpec(faces / "images", faces / "tags_2018.csv", size=64, holdout=0.3),
        cache_dir=tmp_path / "c",
        progress=False,
    )
    index = {i: n for n, i in enumerate(data.ids.tolist())}
    for twin in twins:
        assert data.groups[index[twin]] == data.groups[index[twin[:-1]]]
        assert data.holdout[index[twin]] == data.holdout[index[twin[:-1]]], twin
    for combo in np.unique(data.combo):  # 30 % of each combination's 15 images, in whole groups of 1 or 2
        assert data.holdout[data.combo == combo].sum() in (4, 5)
    with open(data.cache_path.parent / "duplicates.csv", newline="") as fh:
        listed = list(csv.DictReader(fh))
    assert len(listed) == 40 and {r["id"] for r in listed} >= set(twins)
    assert data.duplicates == {"mode": "group", "groups": 20, "images": 40, "dropped": 0}
    # "ignore" (the setting of runs written before it) keeps the old split by id, twins and all
    from preprocess.split import stratified_holdout

    old = build_or_load(
        DataSpec(faces / "images", faces / "tags_2018.csv", size=64, holdout=0.3, duplicates="ignore"),
        cache_dir=tmp_path / "c",
        progress=False,
    )
    np.testing.assert_array_equal(
        old.holdout, stratified_holdout(old.labels[:, 0] * 10 + old.labels[:, 1], 0.3, 0)
    )
    straddle = [t for t in twins if old.holdout[index[t]] != old.holdout[index[t[:-1]]]]
    assert straddle  # what the grouping prevents


def test_duplicates_drop_keeps_one_image_per_group(tmp_path):
    faces, twins = _twin_set(tmp_path)
    data = build_or_load(
        DataSpec(faces / "images", faces / "tags_2018.csv", size=64, holdout=0.2, duplicates="drop"),
        cache_dir=tmp_path / "c",
        progress=False,
    )
    assert len(data) == 40 and not set(twins) & set(data.ids.tolist())
    with open(data.cache_path.parent / "duplicates.csv", newline="") as fh:
        dropped = {r["id"] for r in csv.DictReader(fh) if r["split"] == "dropped"}
    assert dropped == set(twins)
    with pytest.raises(PreprocessError, match="--duplicates must be"):
        build_or_load(
            DataSpec(faces / "images", faces / "tags_2018.csv", size=64, duplicates="merge"),
            cache_dir=tmp_path / "c",
            progress=False,
        )


def test_a_config_written_before_the_duplicates_setting_keeps_the_split_by_id():
    from model.config import TrainConfig

    old = TrainConfig().to_dict()
    del old["duplicates"]
    assert TrainConfig.from_dict(old).duplicates == "ignore"
    assert TrainConfig().duplicates == "group"


# --- build_or_load on awkward CSVs (issue 15)
def test_duplicate_ids_are_kept_once_and_never_straddle_the_split(tmp_path):
    import csv

    from preprocess.cache import build_or_load
    from preprocess.synthetic import write_synthetic_set

    faces = write_synthetic_set(
        tmp_path / "faces", 6, size=32, seed=1, hair=["blue", "red"], eyes=["red"], formats=("2018",)
    )
    lines = (faces / "tags_2018.csv").read_text().splitlines()
    doubled = lines + lines + [lines[0].split(",")[0] + ",red hair red eyes"]  # same id, other tags
    (faces / "dup.csv").write_text("\n".join(doubled) + "\n")
    data = build_or_load(
        DataSpec(faces / "images", faces / "dup.csv", size=32, holdout=0.5),
        cache_dir=tmp_path / "c",
        progress=False,
    )
    assert len(data) == len(lines) and len(set(data.ids.tolist())) == len(lines)
    held = set(data.ids[data.holdout].tolist())
    train = set(data.ids[~data.holdout].tolist())
    assert held and train and not held & train
    with open(data.report_path, newline="") as fh:
        reasons = [r["reason"] for r in csv.DictReader(fh)]
    assert len(reasons) == len(lines) + 1 and all(r.startswith("duplicate id") for r in reasons)
    assert data.skipped == {"duplicate id": len(lines) + 1}


def test_file_name_ids_are_accepted_in_2018_csvs(tmp_path):
    from preprocess.cache import build_or_load
    from preprocess.synthetic import write_synthetic_set

    faces = write_synthetic_set(
        tmp_path / "faces", 2, size=32, seed=1, hair=["blue", "red"], eyes=["red"], formats=("2018",)
    )
    rows = []
    for i, line in enumerate((faces / "tags_2018.csv").read_text().splitlines()):
        image_id, tags = line.split(",", 1)
        new_id = ["a", "img_00"][i % 2] + str(i)
        (faces / "images" / f"{image_id}.jpg").rename(faces / "images" / f"{new_id}.jpg")
        rows.append(f"{new_id},{tags}")
    rows.append("../secret,blue hair red eyes")
    (faces / "named.csv").write_text("\n".join(rows) + "\n")
    data = build_or_load(
        DataSpec(faces / "images", faces / "named.csv", size=32), cache_dir=tmp_path / "c", progress=False
    )
    assert sorted(data.ids.tolist()) == sorted(r.split(",")[0] for r in rows[:-1])
    assert data.skipped == {"unusable id": 1}


def test_a_csv_whose_rows_are_all_bad_names_the_reasons_and_writes_skipped_csv(tmp_path):
    import csv

    from preprocess.cache import PreprocessError, build_or_load

    (tmp_path / "images").mkdir()
    (tmp_path / "t.csv").write_text("1,blue hair red eyes\n2,red hair blue eyes\n../x,red hair blue eyes\n")
    with pytest.raises(PreprocessError, match=r"all 3 rows skipped \(missing file 2, unusable id 1\)") as exc:
        build_or_load(
            DataSpec(tmp_path / "images", tmp_path / "t.csv", size=32),
            cache_dir=tmp_path / "c",
            progress=False,
        )
    report = next((tmp_path / "c").rglob("skipped.csv"))
    assert str(report) in str(exc.value)
    with open(report, newline="") as fh:
        assert [r["reason"] for r in csv.DictReader(fh)][:2] == ["missing file", "missing file"]


def test_an_unknown_colour_is_reported_as_unknown_not_missing(tmp_path):
    import csv

    from preprocess.cache import build_or_load
    from preprocess.synthetic import write_synthetic_set

    faces = write_synthetic_set(
        tmp_path / "faces", 2, size=32, seed=1, hair=["blue", "red"], eyes=["red"], formats=("2018",)
    )
    lines = (faces / "tags_2018.csv").read_text().splitlines()
    first_id = lines[0].split(",")[0]
    lines[0] = f"{first_id},chartreuse hair red eyes"
    (faces / "c.csv").write_text("\n".join(lines) + "\n")
    data = build_or_load(
        DataSpec(faces / "images", faces / "c.csv", size=32), cache_dir=tmp_path / "c", progress=False
    )
    with open(data.report_path, newline="") as fh:
        reasons = [r["reason"] for r in csv.DictReader(fh)]
    assert reasons == ["unknown tag chartreuse hair (not a known hair colour)"]
