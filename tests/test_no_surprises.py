"""Issue 15: nothing deleted, nothing silently wrong, one writer per run."""
import json
import os
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


# --- 4. one writer per run directory ----------------------------------------------------------------
_HOLDER = """
import sys, time
sys.path.insert(0, {root!r})
from common.lock import FolderLock
FolderLock({run!r}).acquire()
print("held", flush=True)
time.sleep(120)
"""


@pytest.mark.slow
def test_a_second_writer_gets_one_line_naming_the_pid_and_exit_2(tmp_path, synthetic_faces, cache_dir):
    run = tmp_path / "run"
    run.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER.format(root=str(ROOT), run=str(run))],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        result = _run("train.py", "--images", str(synthetic_faces / "images"), "--tags-csv",
                      str(synthetic_faces / "tags_2018.csv"), "--cache-dir", str(cache_dir), "--run-dir",
                      str(run), "--steps", "2", "--no-progress")
        assert result.returncode == 2, result.stderr
        lines = [l for l in result.stderr.splitlines() if l.startswith("error:")]
        assert len(lines) == 1 and f"process {holder.pid}" in lines[0], result.stderr
        assert "Traceback" not in result.stderr
        assert not (run / "config.json").exists()  # the second writer wrote nothing
    finally:
        holder.kill()
        holder.wait()


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path, capsys):
    from common.lock import FolderLock, FolderLocked

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / ".lock").write_text(f"{dead.pid}\n")
    lock = FolderLock(tmp_path).acquire()
    assert f"process {dead.pid}" in capsys.readouterr().err
    assert (tmp_path / ".lock").read_text().strip() == str(os.getpid())
    # a killed holder (SIGKILL: no clean-up at all) leaves a lock the next writer takes over
    lock.release()
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER.format(root=str(ROOT), run=str(tmp_path))],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(FolderLocked, match=f"process {holder.pid}"):
        FolderLock(tmp_path).acquire()
    holder.kill()
    holder.wait()
    FolderLock(tmp_path).acquire().release()


# --- 5. every flag's range before any work -----------------------------------------------------------
def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    assert len(lines[0]) < 300
    return lines[0]


@pytest.mark.parametrize("flags,word", [
    (["--log-every", "0"], "log_every"), (["--checkpoint-every", "0"], "checkpoint_every"),
    (["--lr-window", "0"], "lr_window"), (["--keep-checkpoints", "0"], "keep_checkpoints"),
    (["--seed", "-1"], "seed"), (["--seed", str(2**40)], "seed"), (["--steps", "-5"], "steps"),
    (["--epochs", "0"], "epochs"), (["--lr", "nan"], "lr must"), (["--lr", "-1"], "lr must"),
    (["--lr", "inf"], "lr must"), (["--gamma", "nan"], "gamma"), (["--batch-size", "0"], "batch_size"),
    (["--holdout", "1"], "holdout"), (["--threads", "-1"], "--threads"), (["--filters", str(10**9)], "filters"),
    (["--images", "/nonexistent/x"], "image folder"), (["--run-dir", __file__], "is a file"),
])
def test_train_flags_out_of_range_are_one_line_and_exit_2(flags, word, synthetic_faces, capsys, tmp_path):
    from train import main

    base = ["--images", str(synthetic_faces / "images"), "--tags-csv", str(synthetic_faces / "tags_2018.csv"),
            "--run-dir", str(tmp_path / "run"), "--check"]
    assert main(base + flags) == 2
    line = _one_error_line(capsys)
    assert word in line and "lr_floor" not in line, line
    assert not (tmp_path / "run").exists()  # nothing written


def test_train_check_accepts_good_flags_and_writes_nothing(synthetic_faces, capsys, tmp_path):
    from train import main

    assert main(["--images", str(synthetic_faces / "images"), "--tags-csv", str(synthetic_faces / "tags_2018.csv"),
                 "--run-dir", str(tmp_path / "run"), "--check", "--steps", "5"]) == 0
    assert "settings ok" in capsys.readouterr().out
    assert not (tmp_path / "run").exists()


def test_a_string_where_a_number_belongs_in_config_json_is_named(tmp_path):
    from model.config import ConfigError

    TrainConfig().save(tmp_path)
    data = json.loads((tmp_path / "config.json").read_text())
    data["image_size"] = "64"
    (tmp_path / "config.json").write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=r"image_size must be a whole number, not '64' \(str\)"):
        TrainConfig.load(tmp_path)


@pytest.mark.parametrize("flags,word", [
    (["--seed", "-1"], "--seed"), (["--interpolate", "-1", "2", "--tags", "blue hair"], "--seed"),
    (["--interpolate", "\u00b2", "3"], "\u00b2"), (["--scale", "1000"], "--scale"), (["--n", "100000"], "--n"),
    (["--n", "1000", "--scale", "8"], "million pixels"), (["--port", "70000"], "--port"),
    (["--cols", "0"], "--cols"), (["--cells", "1", "--interpolate", "a", "b"], "--cells"),
    (["--seed", str(2**40)], "--seed"),
])
def test_generate_flags_out_of_range_are_one_line_and_exit_2(flags, word, capsys, tmp_path, monkeypatch):
    from generate import main

    monkeypatch.chdir(tmp_path)
    argv = flags if "--tags" in flags or "--interpolate" in flags else ["--tags", "blue hair"] + flags
    assert main(argv) == 2
    line = _one_error_line(capsys)
    assert word in line, line
    assert list(tmp_path.iterdir()) == []  # nothing written (no samples/, no temp file)


def test_a_long_tag_text_is_not_echoed_in_full(capsys, tmp_path, monkeypatch):
    from generate import main

    monkeypatch.chdir(tmp_path)
    assert main(["--tags", "blue hair " + "x" * 100_000]) == 2
    _one_error_line(capsys)


def test_a_checker_tflite_in_place_of_the_generator_is_a_model_error(tmp_path):
    import shutil

    from sampling.runtime import ModelError, load_generator

    model = tmp_path / "m"
    shutil.copytree(ROOT / "models" / "default", model)
    shutil.copyfile(model / "checker.tflite", model / "generator.tflite")
    with pytest.raises(ModelError, match="not this model's generator"):
        load_generator(model, "litert")


@pytest.mark.parametrize("count", ["x", 0, -3, 1.5, True, None])
def test_vocab_combination_counts_must_be_positive_whole_numbers(tmp_path, count):
    import shutil

    from tags import TagError
    from tags.vocab import Vocabulary

    data = json.loads((ROOT / "models" / "default" / "vocab.json").read_text())
    data["combos"][0]["count"] = count
    (tmp_path / "vocab.json").write_text(json.dumps(data))
    with pytest.raises(TagError, match="combination 0 has count"):
        Vocabulary.load(tmp_path / "vocab.json")


@pytest.mark.parametrize("state", ["", "garbage {{{ \u00ff"])
def test_a_damaged_checkpoint_state_file_does_not_hide_intact_checkpoints(tmp_path, tiny_run, state, capsys):
    import shutil

    from model.run_folder import RunDirError, load_generator_from_run, repair_checkpoint_state

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    state_file = run / "checkpoints" / "checkpoint"
    state_file.write_text(state)
    generator, config, _ = load_generator_from_run(run)
    assert "is damaged; using the" in capsys.readouterr().err
    repair_checkpoint_state(run / "checkpoints")
    import tensorflow as tf

    assert tf.train.latest_checkpoint(str(run / "checkpoints")) is not None
    for f in (run / "checkpoints").glob("ckpt-*"):
        f.unlink()
    state_file.write_text(state)
    with pytest.raises(RunDirError, match="damaged and no ckpt-N files"):
        repair_checkpoint_state(run / "checkpoints")


def test_resume_with_a_damaged_state_file_continues_from_the_newest_checkpoint(tmp_path, tiny_run, capsys):
    import shutil

    from train import main

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    (run / "checkpoints" / "checkpoint").write_text("garbage {{{")
    assert main(["--run-dir", str(run), "--resume", "--steps", "47", "--no-progress"]) == 0, capsys.readouterr()
    err = capsys.readouterr().err
    assert "is damaged; using the" in err and "resumed at step 45" in err, err


# --- 6. messages that blame the right thing ----------------------------------------------------------
def test_a_csv_whose_rows_are_all_bad_names_the_reasons_and_writes_skipped_csv(tmp_path):
    import csv

    from preprocess.cache import PreprocessError, build_or_load

    (tmp_path / "images").mkdir()
    (tmp_path / "t.csv").write_text("1,blue hair red eyes\n2,red hair blue eyes\n../x,red hair blue eyes\n")
    with pytest.raises(PreprocessError, match=r"all 3 rows skipped \(missing file 2, unusable id 1\)") as exc:
        build_or_load(tmp_path / "images", tmp_path / "t.csv", size=32, cache_dir=tmp_path / "c", progress=False)
    report = next((tmp_path / "c").rglob("skipped.csv"))
    assert str(report) in str(exc.value)
    with open(report, newline="") as fh:
        assert [r["reason"] for r in csv.DictReader(fh)][:2] == ["missing file", "missing file"]


def test_an_unknown_colour_is_reported_as_unknown_not_missing(tmp_path):
    import csv

    from preprocess.cache import build_or_load
    from preprocess.synthetic import write_synthetic_set

    faces = write_synthetic_set(tmp_path / "faces", 2, size=32, seed=1, hair=["blue", "red"], eyes=["red"],
                                formats=("2018",))
    lines = (faces / "tags_2018.csv").read_text().splitlines()
    first_id = lines[0].split(",")[0]
    lines[0] = f"{first_id},chartreuse hair red eyes"
    (faces / "c.csv").write_text("\n".join(lines) + "\n")
    data = build_or_load(faces / "images", faces / "c.csv", size=32, cache_dir=tmp_path / "c", progress=False)
    with open(data.report_path, newline="") as fh:
        reasons = [r["reason"] for r in csv.DictReader(fh)]
    assert reasons == ["unknown tag chartreuse hair (not a known hair colour)"]


# --- issue 24, 5. one id rule in every format -------------------------------------------------------
def test_ids_follow_one_rule_in_every_format(tmp_path):
    """Letters in any script are letters: café_01 is read in the 2018, 2017 and header formats alike
    (the 2018 reader used to skip it), and generate.py's file names keep it; paths never pass."""
    import shutil

    from common.ids import id_problem, safe_id
    from preprocess.synthetic import write_synthetic_set
    from tags.readers import read_tag_csv

    faces = write_synthetic_set(tmp_path / "faces", 1, size=32, hair=["blue"], eyes=["red"])
    names = ["café_01", "日本_2", "कि3"]
    for name in names:
        shutil.copyfile(faces / "images" / "0.jpg", faces / "images" / f"{name}.jpg")
    texts = {"2018": "".join(f"{n},blue hair red eyes\n" for n in names) + "../0,blue hair red eyes\n",
             "2017": "".join(f"{n},blue hair:5\tred eyes:3\n" for n in names) + "../0,blue hair:5\tred eyes:3\n",
             "header": "image,tags\n" + "".join(f"{n}.jpg,blue hair red eyes\n" for n in names)
                       + "../0.jpg,blue hair red eyes\n"}
    for fmt, text in texts.items():
        (tmp_path / f"{fmt}.csv").write_text(text)
        result = read_tag_csv(tmp_path / f"{fmt}.csv", faces / "images", fmt)
        assert [r.id for r in result.rows] == names, fmt
        assert len(result.skipped) == 1 and result.skipped[0].reason.startswith("unusable"), fmt
    assert [safe_id(n, 1) for n in names] == names
    for raw in ("../../etc/x", "a/b", "..", "x\\y", "~root"):
        assert id_problem(raw) is not None and id_problem(safe_id(raw, 7)) is None


# --- issue 24, 6. errors tell the truth ---------------------------------------------------------------
def test_a_wrong_type_in_vocab_json_is_named_as_a_type(tmp_path):
    import json

    from tags import TagError
    from tags.vocab import Vocabulary

    data = json.loads((ROOT / "models" / "default" / "vocab.json").read_text())
    for field, value, words in (("dim", "22", "dim must be a whole number, not text ('22')"),
                                ("dim", True, "dim must be a whole number, not true/false"),
                                ("groups", ["hair"], "groups must be an object, not a list")):
        (tmp_path / "vocab.json").write_text(json.dumps(dict(data, **{field: value})))
        with pytest.raises(TagError) as exc:
            Vocabulary.load(tmp_path / "vocab.json")
        assert words in str(exc.value) and "but its tags give" not in str(exc.value)


def test_a_config_that_does_not_match_the_weights_is_one_line_on_the_tensorflow_backend(tiny_run, tmp_path):
    """filters removed from config.json: the network built no longer fits generator.weights.h5. The
    one-line error used to follow 8 Keras UserWarnings and TensorFlow's start-up lines."""
    import json
    import shutil
    import subprocess
    import sys

    model = tmp_path / "model"
    shutil.copytree(tiny_run / "export", model)
    config = json.loads((model / "config.json").read_text())
    del config["filters"]  # the default (32) is not this model's (8)
    (model / "config.json").write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "TAGFACE_VERBOSE")}
    done = subprocess.run([sys.executable, str(ROOT / "generate.py"), "--model", str(model), "--backend",
                           "tensorflow", "--tags", "blue hair red eyes", "--out", str(tmp_path / "x.png")],
                          capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()], done.stderr
    assert "does not match" in done.stderr and done.stdout == ""
