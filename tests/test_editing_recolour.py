"""Recolour a face you bring (issue 25): generate.py --edit as a user runs it (in a new process where
what a fresh process prints or draws is checked; the other calls in this one, gen_in_process, which
skips TensorFlow's start in each), and the library behind it (editing.editor, editing.recolour) on the
tiny trained run."""

import shutil

import imageio.v3 as iio
import numpy as np
import pytest

from tests.checker_support import synthetic_checker
from tests.cli_support import CELL, gen, gen_in_process
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def face_file(tmp_path_factory):
    """A synthetic blue-haired, red-eyed face at 96x96 saved as RGBA PNG (another size and mode than the
    model's)."""
    from preprocess.synthetic import draw_face

    path = tmp_path_factory.mktemp("faces") / "mine.png"
    rgb = draw_face("blue", "red", size=96, rng=np.random.default_rng(3))
    iio.imwrite(path, np.concatenate([rgb, np.full((96, 96, 1), 255, np.uint8)], axis=2))
    return path


@pytest.fixture(scope="module")
def model_with_checker(tiny_run, tmp_path_factory):
    """The tiny run's export with the synthetic-face checker beside it (as export.py --checker ships it)."""
    from checker.checker import copy_checker

    folder = tmp_path_factory.mktemp("edit_model") / "model"
    shutil.copytree(tiny_run / "export", folder)
    copy_checker(synthetic_checker(tmp_path_factory)[0], folder)
    return folder


def test_edit_writes_the_face_a_strip_and_a_sweep(tiny_run, face_file, tmp_path):
    model = str(tiny_run)
    r = gen(
        "--model",
        model,
        "--edit",
        str(face_file),
        "--from",
        "blue hair red eyes",
        "--tags",
        "green hair",
        "--out",
        "face.png",
        "--scale",
        "2",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    # a new process prints the detector's warning (no face found in this drawing) and nothing else
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("warning: no anime face found in mine.png"), r.stderr
    assert "mine.png: blue hair red eyes (--from)" in r.stdout
    assert "edit: green hair red eyes" in r.stdout  # the eye colour not named is the source's
    assert iio.imread(tmp_path / "face.png").shape == (64, 64, 3)  # the edited face alone, scaled
    r = gen_in_process(
        "--model",
        model,
        "--edit",
        str(face_file),
        "--from",
        "blue hair red eyes",
        "--tags",
        "green hair",
        "--strip",
        "--out",
        "strip.png",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    strip = iio.imread(tmp_path / "strip.png")
    assert strip.shape[1] == 3 * CELL + 2  # original | reconstruction | edit
    r = gen_in_process(
        "--model",
        model,
        "--edit",
        str(face_file),
        "--from",
        "blue hair red eyes",
        "--sweep",
        "eyes",
        "--out",
        "sweep.png",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert (
        iio.imread(tmp_path / "sweep.png").shape[1] == (2 + 10) * CELL + 2
    )  # original, reconstruction, 10 eyes


def test_same_seed_same_bytes_other_seed_other_search(tiny_run, face_file, tmp_path):
    args = [
        "--model",
        str(tiny_run),
        "--edit",
        str(face_file),
        "--from",
        "blue hair red eyes",
        "--tags",
        "pink hair",
        "--strip",
    ]
    # a.png from a new process, b.png and c.png from this one: the same bytes across processes too
    for run, name, seed in (
        (gen, "a.png", "1"),
        (gen_in_process, "b.png", "1"),
        (gen_in_process, "c.png", "2"),
    ):
        r = run(*args, "--seed", seed, "--out", name, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
    a, b, c = ((tmp_path / n).read_bytes() for n in ("a.png", "b.png", "c.png"))
    assert a == b
    assert a != c


def test_the_checker_reads_the_source_tags(model_with_checker, face_file, tmp_path):
    r = gen_in_process(
        "--model",
        str(model_with_checker),
        "--edit",
        str(face_file),
        "--tags",
        "green hair",
        "--out",
        "x.png",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert "mine.png: blue hair red eyes (read by the tag checker)" in r.stdout
    assert "edit: green hair red eyes" in r.stdout


def test_a_non_face_still_runs_with_one_warning(tiny_run, tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, (40, 70, 3), dtype=np.uint8)
    iio.imwrite(tmp_path / "noise.jpg", noise)
    r = gen_in_process(
        "--model",
        str(tiny_run),
        "--edit",
        "noise.jpg",
        "--from",
        "blue hair red eyes",
        "--tags",
        "green hair",
        "--out",
        "n.png",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    warnings = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1 and warnings[0].startswith("warning: no anime face found in noise.jpg")
    assert iio.imread(tmp_path / "n.png").shape == (32, 32, 3)


@pytest.mark.parametrize(
    "args,message",
    [
        (["--edit", "junk.png", "--tags", "green hair"], "cannot use junk.png as a face: unreadable image"),
        (["--edit", "absent.png", "--tags", "green hair"], "cannot use absent.png as a face: missing file"),
        (["--edit", "FACE", "--from", "blue hair red eyes"], "--edit needs one --tags TEXT"),
        (
            ["--edit", "FACE", "--from", "blue hair red eyes", "--tags", "rainbow hair"],
            "unknown tag 'rainbow hair'",
        ),
        (["--edit", "FACE", "--tags", "green hair"], "no tag checker"),  # the tiny run has none: --from
        (["--edit", "FACE", "--tags", "green hair", "--tags-file", "t.txt"], "does not take --tags-file"),
        (["--strip", "--tags", "green hair"], "--from and --strip go with --edit FACE"),
    ],
)
def test_bad_edit_requests_exit_2_with_one_line(tiny_run, face_file, tmp_path, args, message):
    (tmp_path / "junk.png").write_bytes(b"not an image at all" * 20)
    args = [str(face_file) if a == "FACE" else a for a in args]
    r = gen_in_process("--model", str(tiny_run), *args, "--out", "x.png", cwd=tmp_path)
    assert r.returncode == 2, r.stdout
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len([line for line in r.stderr.splitlines() if line.startswith("error:")]) == 1
    assert not (tmp_path / "x.png").exists()


def test_reconstruction_is_closer_to_the_face_than_random_faces_and_the_offset_helps(tiny_run, face_file):
    from editing.editor import SearchSettings
    from editing.recolour import Recolourer, read_face
    from sampling.generation import sample_inputs, to_uint8
    from sampling.runtime import load_generator

    def distance(a, b):
        return np.abs(a.astype(np.float32) - b.astype(np.float32)).mean()

    recolour = Recolourer(tiny_run)
    face = read_face(face_file, recolour.size)
    source = recolour.source_tags(face, "blue hair red eyes")
    found = recolour.find(face, source, seed=0)
    assert np.abs(found.z).max() <= 1.0  # z stays where G was trained
    ours = distance(recolour.reconstruction(found), face.image)
    generator = load_generator(tiny_run, "tensorflow")
    z, eps = sample_inputs(generator.config, 16, 0)
    random_faces = to_uint8(
        generator.generate(z, np.repeat(generator.vocab.conditions([source]), 16, 0), eps)
    )
    assert ours < 0.9 * min(distance(f, face.image) for f in random_faces)  # closer than the best of 16
    z_only = Recolourer(tiny_run, SearchSettings(offset=False)).find(face, source, seed=0)
    assert not z_only.offset.any()
    assert found.loss < z_only.loss


def test_edited_tags_replace_only_the_named_groups():
    from editing.editor import edited_tags, sweep_tags
    from tags.parser import parse
    from tags.vocab import Vocabulary

    vocab = Vocabulary.load(ROOT / "models" / "default" / "vocab.json")  # tags only: no trained run needed
    source = vocab.tagset({"hair": "blue", "eyes": "red"})
    assert edited_tags(source, parse("green hair", vocab), vocab).text == "green hair red eyes"
    assert edited_tags(source, parse("yellow eyes", vocab), vocab).text == "blue hair yellow eyes"
    assert edited_tags(source, parse("aqua eyes white hair", vocab), vocab).text == "white hair aqua eyes"
    sweep = sweep_tags(source, "hair", vocab)
    assert [t.get("hair") for t in sweep] == vocab.groups["hair"] and {t.get("eyes") for t in sweep} == {
        "red"
    }


@pytest.mark.slow
def test_a_hair_edit_keeps_the_faces_own_pixels_and_eyes_outside_the_hair(face_file):
    """keep_face: outside the hair's region a hair edit is the face's own pixels, and where that region
    fades out (the irises) it leans to them, so the eyes are the face's rather than G's drawing of their
    tag (the blend back to the reconstruction, keep_face off), and the model's checker reads them as the
    face's; in the fringe the asked colour shows, and the reconstruction (nothing asked) is G's either
    way. On the bundled model: the tiny run's G tints the whole face for any tag, so its groups have no
    regions of their own."""
    from editing.editor import SearchSettings
    from editing.recolour import Recolourer, read_face
    from preprocess.synthetic import eye_region, hair_region

    model = ROOT / "models" / "default"
    recolour = Recolourer(model)
    face = read_face(face_file, recolour.size)
    found = recolour.find(face, recolour.source_tags(face, "blue hair red eyes"), seed=0)
    _, edit = recolour.edit(found, "green hair")
    before = Recolourer(model, SearchSettings(keep_face=False))
    old_edit = before.editor.draw(found, [before.vocab.tagset({"hair": "green", "eyes": "red"})])[0]
    edit, old_edit, own = (a.astype(int) for a in (edit, old_edit, face.image))
    nowhere = recolour.editor.regions(found)["hair"] == 0
    assert nowhere.any() and np.abs(edit - own)[nowhere].max() <= 1
    irises = eye_region(recolour.size)
    assert np.abs(edit - own)[irises].mean() < 0.8 * np.abs(old_edit - own)[irises].mean()
    assert recolour.checker.read_values(edit[None].astype(np.uint8))["eyes"] == ["red"]  # the face's
    fringe = hair_region(recolour.size)  # blue in the face, green in the edit
    assert edit[fringe][:, 1].mean() > own[fringe][:, 1].mean() + 40
    assert edit[fringe][:, 2].mean() < own[fringe][:, 2].mean() - 40
    np.testing.assert_array_equal(recolour.reconstruction(found), before.reconstruction(found))


@pytest.mark.slow
def test_the_offset_gives_way_where_the_kept_groups_live(face_file):
    """kept_fade: where a group lives, the reconstruction moves from what the feature-map offset
    absorbed towards G's own drawing of the source's tags (its eyes in the tags' colour); with
    kept_fade 0 it is the plain reconstruction. On the bundled model, whose groups have regions."""
    from editing.editor import SearchSettings
    from editing.recolour import Recolourer, read_face

    model = ROOT / "models" / "default"
    plain = Recolourer(model, SearchSettings(kept_fade=0.0))
    face = read_face(face_file, plain.size)
    found = plain.find(face, plain.source_tags(face, "blue hair red eyes"), seed=0)
    editor = plain.editor
    own = editor._draw(
        found.z[None], np.zeros_like(found.offset)[None], plain.vocab.conditions([found.source])
    )[0]
    own = ((own + 1.0) * 127.5).clip(0, 255)
    plain_recon = plain.reconstruction(found).astype(float)
    faded = Recolourer(model, SearchSettings(kept_fade=1.0))
    faded_recon = faded.editor.draw(found, [found.source])[0].astype(float)
    lives = np.max(list(editor.regions(found).values()), 0) == 1
    assert lives.any()
    assert np.abs(faded_recon - own)[lives].mean() < 0.8 * np.abs(plain_recon - own)[lives].mean()
    nowhere = np.max(list(editor.regions(found).values()), 0) == 0
    if nowhere.any():  # far from every group the offset stays: the face's own pixels
        assert (
            np.abs(faded_recon - plain_recon)[nowhere].mean()
            < np.abs(faded_recon - plain_recon)[lives].mean()
        )
