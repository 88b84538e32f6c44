"""Issue 15: nothing deleted, nothing silently wrong, one writer per run."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from model.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]


def _run(*args, cwd=None, **kw):
    return subprocess.run([sys.executable, *args], cwd=cwd or ROOT, capture_output=True, text=True, timeout=300,
                          **kw)


# --- 1. the report deletes only what it wrote --------------------------------------------------------
def test_report_keeps_a_users_file_in_a_folder_that_is_not_a_run(tmp_path):
    """The issue's reproduction: a JSON config and a user's notes in DIR/report/."""
    (tmp_path / "report").mkdir()
    (tmp_path / "config.json").write_text('{"a":1}\n')
    (tmp_path / "report" / "thesis.md").write_text("notes\n")
    result = _run("-m", "report", str(tmp_path))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert (tmp_path / "report" / "thesis.md").read_text() == "notes\n"


def test_report_of_a_run_keeps_files_it_did_not_write(tmp_path):
    from report.build import MANIFEST, ReportError, build_report

    run = tmp_path / "run"
    run.mkdir()
    TrainConfig(image_size=32).save(run)
    (run / "report").mkdir()
    (run / "report" / "thesis.md").write_text("notes\n")
    with pytest.raises(ReportError, match="did not write"):  # a folder without a manifest: refused
        build_report(run, check_tags=False)
    assert (run / "report" / "thesis.md").read_text() == "notes\n"
    (run / "report" / "thesis.md").unlink()
    (run / "report").rmdir()
    build_report(run, check_tags=False)
    listed = json.loads((run / "report" / MANIFEST).read_text())["files"]
    assert "report.html" in listed and "report.md" in listed
    (run / "report" / "thesis.md").write_text("notes\n")  # a user's file beside a built report
    (run / "report" / "old_plot.png").write_bytes(b"x")
    stale = run / "report" / "stale.png"  # a file an earlier build wrote: removed on rebuild
    stale.write_bytes(b"x")
    manifest = run / "report" / MANIFEST
    manifest.write_text(json.dumps({"files": listed + ["stale.png", "../config.json"]}))
    build_report(run, check_tags=False)
    assert (run / "report" / "thesis.md").read_text() == "notes\n"
    assert (run / "report" / "old_plot.png").exists()
    assert not stale.exists()
    assert (run / "config.json").exists()  # the manifest never reaches outside the report folder
    assert "thesis.md" not in json.loads(manifest.read_text())["files"]


# --- 2. every image mode through Pillow's own conversion ---------------------------------------------
def _hair_blue_eyes_red(size=48):
    from preprocess.synthetic import draw_face

    return draw_face("blue", "red", size)


@pytest.mark.parametrize("k", [0, 60])
def test_cmyk_jpegs_convert_as_pillow_does(tmp_path, k):
    """A CMYK JPEG (K=0 and K>0) decodes to Pillow's own RGB conversion: not RGBA, not 'grayscale'."""
    import numpy as np
    from PIL import Image

    from preprocess.images import load_image

    rgb = _hair_blue_eyes_red()
    cmy = 255 - rgb.astype(np.int16)
    cmyk = np.concatenate([np.clip(cmy - k, 0, 255), np.full(rgb.shape[:2] + (1,), k)], axis=2).astype(np.uint8)
    path = tmp_path / f"face_k{k}.jpg"
    Image.fromarray(cmyk, "CMYK").save(path, quality=95)
    with Image.open(path) as im:
        assert im.mode == "CMYK"
        reference = np.asarray(im.convert("RGB"))
    img, reason = load_image(str(path), 48)
    assert reason == "", reason
    assert np.abs(img.astype(int) - reference.astype(int)).max() <= 1
    from preprocess.synthetic import hair_region
    hair = img[hair_region(48)].mean(axis=0)
    assert np.argmax(hair) == 2, hair  # blue hair stays blue (CMYK read as RGBA turned it cream)


def test_palette_with_transparency_and_la_composite_on_white(tmp_path):
    import numpy as np
    from PIL import Image

    from preprocess.images import load_image

    rgb = _hair_blue_eyes_red()
    p = Image.fromarray(rgb).quantize(64)
    p.info["transparency"] = 0
    p.save(tmp_path / "p.png", transparency=0)
    with Image.open(tmp_path / "p.png") as im:
        rgba = np.asarray(im.convert("RGBA"), dtype=np.float32)
    reference = np.rint(rgba[..., :3] * rgba[..., 3:] / 255 + 255 * (1 - rgba[..., 3:] / 255)).astype(np.uint8)
    img, reason = load_image(str(tmp_path / "p.png"), 48)
    assert reason == "" and np.array_equal(img, reference)
    assert (reference == 255).all(axis=2).any()  # the transparent colour really became white

    gray = np.asarray(Image.fromarray(rgb).convert("L"))
    la = Image.fromarray(np.stack([gray, np.where(np.arange(48)[None, :] < 24, 255, 0).repeat(48, 0)], 2)
                         .astype(np.uint8), "LA")
    la.save(tmp_path / "la.png")
    img, reason = load_image(str(tmp_path / "la.png"), 48, keep_grayscale=True)
    assert reason == ""
    assert np.array_equal(img[:, :24, 0], gray[:, :24]) and (img[:, 24:] == 255).all()
    assert load_image(str(tmp_path / "la.png"), 48)[1] == "grayscale"


def test_sixteen_bit_grayscale_is_scaled_not_clipped(tmp_path):
    import numpy as np
    from PIL import Image

    from preprocess.images import load_image

    ramp = (np.arange(48 * 48, dtype=np.uint16).reshape(48, 48) * 28).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "g16.png")
    img, reason = load_image(str(tmp_path / "g16.png"), 48, keep_grayscale=True)
    assert reason == ""
    assert np.abs(img[..., 0].astype(int) - np.rint(ramp / 257).astype(int)).max() <= 1
    assert len(np.unique(img)) > 200  # not clipped to white


def test_exif_orientation_is_applied(tmp_path):
    import numpy as np
    from PIL import Image

    from preprocess.images import load_image

    rgb = _hair_blue_eyes_red()
    exif = Image.Exif()
    exif[0x0112] = 3  # rotated 180
    Image.fromarray(rgb[::-1, ::-1]).save(tmp_path / "r.png", exif=exif)
    img, reason = load_image(str(tmp_path / "r.png"), 48)
    assert reason == "" and np.array_equal(img, rgb)


# --- 3. duplicate ids: kept once, reported, never on both sides of the split -------------------------
def test_duplicate_ids_are_kept_once_and_never_straddle_the_split(tmp_path):
    import csv

    from preprocess.cache import build_or_load
    from preprocess.synthetic import write_synthetic_set

    faces = write_synthetic_set(tmp_path / "faces", 6, size=32, seed=1, hair=["blue", "red"], eyes=["red"],
                                formats=("2018",))
    lines = (faces / "tags_2018.csv").read_text().splitlines()
    doubled = lines + lines + [lines[0].split(",")[0] + ",red hair red eyes"]  # same id, other tags
    (faces / "dup.csv").write_text("\n".join(doubled) + "\n")
    data = build_or_load(faces / "images", faces / "dup.csv", size=32, cache_dir=tmp_path / "c", holdout=0.5,
                         progress=False)
    assert len(data) == len(lines) and len(set(data.ids.tolist())) == len(lines)
    held = set(data.ids[data.holdout].tolist())
    train = set(data.ids[~data.holdout].tolist())
    assert held and train and not held & train
    with open(data.report_path, newline="") as fh:
        reasons = [r["reason"] for r in csv.DictReader(fh)]
    assert len(reasons) == len(lines) + 1 and all(r.startswith("duplicate id") for r in reasons)
    assert data.skipped == {"duplicate id": len(lines) + 1}


# --- 6. file-name ids in a 2018-format CSV -----------------------------------------------------------
def test_file_name_ids_are_accepted_in_2018_csvs(tmp_path):
    from preprocess.cache import build_or_load
    from preprocess.synthetic import write_synthetic_set

    faces = write_synthetic_set(tmp_path / "faces", 2, size=32, seed=1, hair=["blue", "red"], eyes=["red"],
                                formats=("2018",))
    rows = []
    for i, line in enumerate((faces / "tags_2018.csv").read_text().splitlines()):
        image_id, tags = line.split(",", 1)
        new_id = ["a", "img_00"][i % 2] + str(i)
        (faces / "images" / f"{image_id}.jpg").rename(faces / "images" / f"{new_id}.jpg")
        rows.append(f"{new_id},{tags}")
    rows.append("../secret,blue hair red eyes")
    (faces / "named.csv").write_text("\n".join(rows) + "\n")
    data = build_or_load(faces / "images", faces / "named.csv", size=32, cache_dir=tmp_path / "c",
                         progress=False)
    assert sorted(data.ids.tolist()) == sorted(r.split(",")[0] for r in rows[:-1])
    assert data.skipped == {"unusable id": 1}
