"""generate.py and run.sh driven as a user would, with the tiny trained run. A fresh process (`gen`, run.sh)
where its exit status, its errors or its start are checked; what a command draws, names and writes in
this process (`gen_in_process`: the same main, without a new interpreter and LiteRT per call)."""

import json
import os
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest

from tests.cli_support import CELL, gen, gen_in_process, one_error_line
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def model(tiny_run):
    return str(tiny_run)


def test_grid_has_the_expected_size_and_cells(model, tmp_path):
    r = gen("--model", model, "--tags", "blue hair red eyes", "--n", "6", "--cols", "3", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "samples" / "tiny" / "blue_hair_red_eyes_n6.png"
    assert str(out.relative_to(tmp_path)) in r.stdout  # a model other than the bundled one: samples/<model>/
    img = iio.imread(out)
    assert img.shape == (2 * CELL + 2, 3 * CELL + 2, 3)
    # the default for one tag text is a 5x5 grid
    r = gen("--model", model, "--tags", "green hair", "--out", "g.png", "--scale", "2", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert iio.imread(tmp_path / "g.png").shape == (5 * (64 + 2) + 2, 5 * (64 + 2) + 2, 3)
    assert "green hair" in r.stdout and "eyes" in r.stdout  # the drawn eye colours are reported


def test_same_seed_same_bytes_and_other_seed_differs(model, tmp_path):
    args = ["--model", model, "--tags", "pink hair blue eyes", "--n", "4"]
    for name, seed in (("a.png", "3"), ("b.png", "3"), ("c.png", "4")):
        assert gen_in_process(*args, "--seed", seed, "--out", name, cwd=tmp_path).returncode == 0
    a, b, c = ((tmp_path / n).read_bytes() for n in ("a.png", "b.png", "c.png"))
    assert a == b
    assert a != c


def test_tags_file_gives_course_file_names_and_grid(model, tmp_path):
    tags = tmp_path / "testing_tags.txt"
    tags.write_text("1,blue hair red eyes\n2,green hair yellow eyes\n\n3,white hair\n")
    r = gen_in_process("--model", model, "--tags-file", str(tags), "--format", "both", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in (tmp_path / "samples" / "tiny").glob("sample_*.jpg"))
    assert names == sorted(f"sample_{i}_{k}.jpg" for i in (1, 2, 3) for k in range(1, 6))
    grid = iio.imread(tmp_path / "samples" / "tiny" / "cgan.png")
    assert grid.shape == (CELL + 2, 3 * CELL + 2, 3)  # 3 lines -> 3 cells


def test_traversal_ids_stay_inside_the_output_folder(model, tmp_path):
    tags = tmp_path / "evil.txt"
    tags.write_text("../../x,blue hair red eyes\n/etc/passwd,red hair\n")
    out = tmp_path / "work" / "samples"
    r = gen_in_process(
        "--model",
        model,
        "--tags-file",
        str(tags),
        "--format",
        "files",
        "--n",
        "1",
        "--out",
        str(out),
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    written = sorted(p.name for p in out.iterdir())
    assert written == ["sample_etc_passwd_1.jpg", "sample_x_1.jpg"]
    assert not (tmp_path / "x").exists() and not list(tmp_path.glob("sample_*"))


@pytest.mark.parametrize(
    "args,message",
    [
        (["--tags", "rainbow hair"], "unknown tag 'rainbow hair'"),
        (["--tags", "   "], "empty tag text"),
        (["--tags", "blue hair red hair"], "two hair colours"),
        (["--tags-file", "missing.txt"], "does not exist"),
        (["--tags", "blue hair", "--out", "blocker/sub/x.png"], "cannot write the output folder"),
    ],
)
def test_bad_input_exits_2_with_one_line(model, tmp_path, args, message):
    (tmp_path / "blocker").write_text("a regular file where a folder is expected")
    r = gen("--model", model, *args, cwd=tmp_path)
    assert r.returncode == 2
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    assert len([line for line in r.stderr.splitlines() if line.startswith("error:")]) == 1


def test_malformed_tags_file_names_the_line(model, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("1,blue hair red eyes\nthis line has no comma\n")
    r = gen("--model", model, "--tags-file", str(bad), cwd=tmp_path)
    assert r.returncode == 2 and "line 2" in r.stderr and "Traceback" not in r.stderr


def test_missing_and_corrupt_models_fail_cleanly(tiny_run, tmp_path):
    r = gen("--model", str(tmp_path / "nope"), "--tags", "blue hair", cwd=tmp_path)
    assert r.returncode == 2 and "does not exist" in r.stderr
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("config.json", "vocab.json"):
        (broken / name).write_bytes((tiny_run / "export" / name).read_bytes())
    (broken / "generator.tflite").write_bytes(b"not a flatbuffer at all" * 10)
    r = gen("--model", str(broken), "--tags", "blue hair", cwd=tmp_path)
    assert r.returncode == 2 and "generator.tflite" in r.stderr and "Traceback" not in r.stderr
    (broken / "config.json").write_text("{not json")
    r = gen("--model", str(broken), "--tags", "blue hair", cwd=tmp_path)
    assert r.returncode == 2 and "config.json" in r.stderr


def test_litert_and_tensorflow_paths_agree(tiny_run):
    from sampling.generation import sample_inputs
    from sampling.runtime import load_generator

    lite = load_generator(tiny_run, "litert")
    tf_gen = load_generator(tiny_run, "tensorflow")
    assert lite.backend == "litert" and tf_gen.backend == "tensorflow"
    z, eps = sample_inputs(lite.config, 6, seed=1)
    cond = np.repeat(lite.vocab.conditions([lite.vocab.tagset({"hair": "blue", "eyes": "red"})]), 6, 0)
    a, b = lite.generate(z, cond, eps), tf_gen.generate(z, cond, eps)
    assert a.shape == (6, 32, 32, 3)
    np.testing.assert_allclose(a, b, atol=1e-4)
    assert np.abs(a[0] - a[1]).max() > 0  # different z, different images


def test_fast_path_imports_no_tensorflow_gensim_or_pandas(tiny_run, tmp_path):
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "from generate import main\n"
        f"argv = ['--model', {str(tiny_run)!r}, '--tags', 'blue hair red eyes', '--out', 'x.png']\n"
        "assert main(argv) == 0\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'gensim', 'pandas') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    assert "HEAVY []" in r.stdout
    assert (tmp_path / "x.png").exists()


def test_sweep_interpolate_and_list_tags(model, tmp_path):
    r = gen_in_process("--model", model, "--sweep", "hair", "--n", "2", "--out", "s.png", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    height, width, _ = iio.imread(tmp_path / "s.png").shape  # + a column-label strip above, row labels left
    assert 2 * CELL + 2 < height < 2 * CELL + 60 and width > 12 * CELL + 2
    for flag in ("--cells", "--steps"):  # --steps: the older spelling, kept
        r = gen_in_process(
            "--model",
            model,
            "--interpolate",
            "blue hair red eyes",
            "green hair yellow eyes",
            flag,
            "4",
            "--out",
            "i.png",
            cwd=tmp_path,
        )
        assert r.returncode == 0, r.stderr
        assert iio.imread(tmp_path / "i.png").shape == (CELL + 2, 4 * CELL + 2, 3)
    r = gen_in_process("--model", model, "--list-tags", cwd=tmp_path)
    assert r.returncode == 0 and "blue hair" in r.stdout and "yellow eyes" in r.stdout


def _run_sh(args, cwd, model):
    env = dict(os.environ, TAGFACE_MODEL=str(model))
    return subprocess.run(
        [str(ROOT / "run.sh"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )


def test_run_sh_text_and_tags_file(tiny_run, tmp_path):
    r = _run_sh(["blue hair red eyes"], tmp_path, tiny_run)
    assert r.returncode == 0, r.stderr
    assert "samples/tiny/blue_hair_red_eyes.png" in r.stdout
    samples = tmp_path / "samples" / "tiny"  # TAGFACE_MODEL's outputs do not overwrite the default model's
    assert iio.imread(samples / "blue_hair_red_eyes.png").shape == (5 * CELL + 2, 5 * CELL + 2, 3)
    r = _run_sh([str(ROOT / "testing_tags.txt")], tmp_path, tiny_run)
    assert r.returncode == 0, r.stderr
    assert iio.imread(samples / "cgan.png").shape == (5 * CELL + 2, 5 * CELL + 2, 3)
    assert len(list(samples.glob("sample_*_[1-5].jpg"))) == 25 * 5
    # flags alone pass through to generate.py (a hair sweep: one column per hair colour)
    r = _run_sh(
        ["--sweep", "hair", "--tags", "red eyes", "--n", "2", "--out", "sweep.png"], tmp_path, tiny_run
    )
    assert r.returncode == 0, r.stderr
    n_hair = len(json.loads((tiny_run / "export" / "vocab.json").read_text())["groups"]["hair"])
    assert (
        n_hair * CELL + 2 < iio.imread(tmp_path / "sweep.png").shape[1] < n_hair * CELL + 200
    )  # + row labels


def test_run_sh_without_a_model_says_so(tmp_path):
    r = _run_sh(["blue hair red eyes"], tmp_path, tmp_path / "no-model")
    assert r.returncode == 2
    assert "no model" in r.stderr and "Traceback" not in r.stderr


def test_grade_on_a_5x5_grid_prints_the_course_baseline_of_the_plain_grid(tmp_path):
    from evaluate.baseline import grade_grid_image, read_image

    model = str(ROOT / "models" / "default")
    graded = gen_in_process(
        "--model", model, "--tags", "blue hair red eyes", "--grade", "--out", "graded.png", cwd=tmp_path
    )
    assert graded.returncode == 0, graded.stderr
    plain = gen_in_process(
        "--model", model, "--tags", "blue hair red eyes", "--out", "plain.png", cwd=tmp_path
    )
    assert plain.returncode == 0, plain.stderr
    expected = grade_grid_image(read_image(tmp_path / "plain.png"))  # the course graded the plain grid
    line = [x for x in graded.stdout.splitlines() if x.startswith("course baseline")]
    assert line == [f"course baseline (anime-face detector on the 5x5 grid, pass at 20): {expected.verdict}"]
    # not for grids of another shape
    other = gen_in_process(
        "--model",
        model,
        "--tags",
        "blue hair red eyes",
        "--grade",
        "--n",
        "6",
        "--out",
        "o.png",
        cwd=tmp_path,
    )
    assert other.returncode == 0 and "course baseline" not in other.stdout


@pytest.mark.slow
def test_truncation_scales_z_towards_zero(tmp_path):
    model = str(ROOT / "models" / "default")
    args = ("--model", model, "--tags", "blue hair red eyes", "--n", "4", "--cols", "4")
    plain = gen_in_process(*args, "--out", "plain.png", cwd=tmp_path)
    same = gen_in_process(*args, "--truncation", "1", "--out", "same.png", cwd=tmp_path)
    mean = gen_in_process(*args, "--truncation", "0", "--out", "mean.png", cwd=tmp_path)
    half = gen_in_process(*args, "--truncation", "0.5", "--out", "half.png", cwd=tmp_path)
    assert plain.returncode == same.returncode == mean.returncode == half.returncode == 0, half.stderr
    assert "truncation 0.5" in half.stdout and "truncation" not in plain.stdout
    np.testing.assert_array_equal(iio.imread(tmp_path / "plain.png"), iio.imread(tmp_path / "same.png"))
    cells = lambda name: [iio.imread(tmp_path / name)[2:66, 2 + 66 * i : 66 + 66 * i] for i in range(4)]  # noqa
    spread = lambda name: np.mean([np.abs(c.astype(int) - cells(name)[0]).mean() for c in cells(name)[1:]])  # noqa
    assert spread("mean.png") == 0  # every z is 0: one face
    assert 0 < spread("half.png") < spread("plain.png")
    for bad in ("1.5", "-0.1", "nan"):
        r = gen_in_process(*args, "--truncation", bad, cwd=tmp_path)
        assert r.returncode == 2 and "--truncation must be between 0.0 and 1.0" in r.stderr, r.stderr


# ------------------------------------------------------------ nothing overwritten (issue 23)
def test_names_say_what_differs_so_nothing_is_overwritten(model, tmp_path):
    base = ["--model", model, "--tags", "Red Eyes, Blue Hair", "--n", "4"]
    variants = {
        (): "blue_hair_red_eyes_n4.png",
        ("--seed", "3"): "blue_hair_red_eyes_seed3_n4.png",
        ("--truncation", "0.7"): "blue_hair_red_eyes_n4_trunc0.7.png",
        ("--best-of", "2"): "blue_hair_red_eyes_n4_best2.png",
    }
    for extra, name in variants.items():
        r = gen_in_process(*base, *extra, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert f"wrote samples/tiny/{name}" in r.stdout  # canonical tags, not the raw text's order
    r = gen_in_process("--model", model, "--tags", "blue hair red eyes", "--seeds", "0-2", cwd=tmp_path)
    assert "wrote samples/tiny/blue_hair_red_eyes_seeds0-2.png" in r.stdout, r.stdout + r.stderr
    written = sorted(p.name for p in (tmp_path / "samples" / "tiny").iterdir())
    assert written == sorted([*variants.values(), "blue_hair_red_eyes_seeds0-2.png"])
    r = gen_in_process(
        "--model", model, "--interpolate", "1", "2", "--tags", "red eyes blue hair", cwd=tmp_path
    )
    assert "wrote samples/tiny/interpolate_seed1_to_seed2_blue_hair_red_eyes.png" in r.stdout, r.stderr


def test_the_default_model_writes_to_samples_and_a_tags_file_variant_to_its_own_folder(tmp_path):
    tags = tmp_path / "t.txt"
    tags.write_text("1,blue hair red eyes\n2,green hair\n")
    for extra in ([], ["--seed", "2"]):
        r = gen_in_process("--tags-file", str(tags), "--format", "both", *extra, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
    assert (tmp_path / "samples" / "cgan.png").is_file() and (
        tmp_path / "samples" / "sample_2_5.jpg"
    ).is_file()
    assert (tmp_path / "samples" / "seed2" / "cgan.png").is_file()
    assert (tmp_path / "samples" / "seed2" / "sample_2_5.jpg").is_file()
    a, b = (iio.imread(tmp_path / "samples" / d / "sample_1_1.jpg") for d in (".", "seed2"))
    assert not np.array_equal(a, b)


def test_out_png_with_a_tags_file_is_the_grid_with_the_samples_beside_it(model, tmp_path):
    tags = tmp_path / "t.txt"
    tags.write_text("1,blue hair red eyes\n2,green hair\n")
    r = _run_sh([str(tags), "--out", "DIR/grid.png"], tmp_path, model)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "DIR" / "grid.png").is_file()  # a file, not a folder named grid.png
    assert sorted(p.name for p in (tmp_path / "DIR").glob("sample_*")) == [
        f"sample_{i}_{k}.jpg" for i in (1, 2) for k in range(1, 6)
    ]
    assert not [p for p in tmp_path.rglob("*.png") if p.is_dir()]
    r = gen_in_process(
        "--model", model, "--tags", "blue hair", "--out", "folder", cwd=tmp_path
    )  # no .png: a folder
    assert r.returncode == 0 and (tmp_path / "folder" / "blue_hair.png").is_file(), r.stderr


def test_grids_have_full_rows_and_labels_grow_with_scale(model, tmp_path):
    r = gen_in_process(
        "--model", model, "--tags", "blue hair red eyes", "--n", "8", "--out", "a.png", cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr
    assert iio.imread(tmp_path / "a.png").shape == (2 * CELL + 2, 4 * CELL + 2, 3)  # 4 + 4, not 5 + 3
    widths = {}
    for scale in (1, 3):
        r = gen_in_process(
            "--model",
            model,
            "--tags",
            "blue hair red eyes",
            "--n",
            "4",
            "--labels",
            "--scale",
            str(scale),
            "--out",
            f"s{scale}.png",
            cwd=tmp_path,
        )
        assert r.returncode == 0, r.stderr
        image = iio.imread(tmp_path / f"s{scale}.png")
        widths[scale] = image.shape[1] - (2 * (32 * scale + 2) + 2)  # the label strip left of 2 columns
    assert widths[3] > 2.5 * widths[1], widths


# --- every flag's range before any work, and errors that blame the right thing (issues 15, 24)
@pytest.mark.parametrize(
    "flags,word",
    [
        (["--seed", "-1"], "--seed"),
        (["--interpolate", "-1", "2", "--tags", "blue hair"], "--seed"),
        (["--interpolate", "\u00b2", "3"], "\u00b2"),
        (["--scale", "1000"], "--scale"),
        (["--n", "100000"], "--n"),
        (["--n", "1000", "--scale", "8"], "million pixels"),
        (["--port", "70000"], "--port"),
        (["--cols", "0"], "--cols"),
        (["--cells", "1", "--interpolate", "a", "b"], "--cells"),
        (["--seed", str(2**40)], "--seed"),
    ],
)
def test_generate_flags_out_of_range_are_one_line_and_exit_2(flags, word, capsys, tmp_path, monkeypatch):
    from generate import main

    monkeypatch.chdir(tmp_path)
    argv = flags if "--tags" in flags or "--interpolate" in flags else ["--tags", "blue hair"] + flags
    assert main(argv) == 2
    line = one_error_line(capsys)
    assert word in line, line
    assert list(tmp_path.iterdir()) == []  # nothing written (no samples/, no temp file)


def test_a_long_tag_text_is_not_echoed_in_full(capsys, tmp_path, monkeypatch):
    from generate import main

    monkeypatch.chdir(tmp_path)
    assert main(["--tags", "blue hair " + "x" * 100_000]) == 2
    one_error_line(capsys)


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
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "generate.py"),
            "--model",
            str(model),
            "--backend",
            "tensorflow",
            "--tags",
            "blue hair red eyes",
            "--out",
            str(tmp_path / "x.png"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()], done.stderr
    assert "does not match" in done.stderr and done.stdout == ""
