"""Drawing with other tags (smile, glasses, ...) as with colours: tag text that names them, --list-tags,
and a sweep over one (a column without it, one with it, at fixed z). On a model whose vocabulary has the
marked synthetic faces' other tags (tests/tagged_support.py: its generator untrained, so these check
the plumbing: conditions, columns, names and pixels that follow the tags asked)."""

import numpy as np
import pytest

from tests.tagged_support import SIZE, tagged_model

PAD = 2
pytestmark = pytest.mark.slow  # the tagged model's fixture: a face set, its cache and a generator (~9 s)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return tagged_model(tmp_path_factory)


@pytest.fixture(scope="module")
def generator(model):
    from sampling.runtime import load_generator

    return load_generator(model, "tensorflow")


def test_tag_text_with_other_tags_sets_them_in_the_condition_and_the_faces(generator):
    from sampling.generation import build_requests, generate_requests

    vocab = generator.vocab
    both, plain = build_requests(
        [(None, "Smile, glasses blue hair red eyes"), (None, "blue hair red eyes")], vocab, 3, seed=0
    )
    assert both.id == "blue_hair_red_eyes_glasses_smile" and both.tagsets[0].extras == ("glasses", "smile")
    cond, cond_plain = vocab.conditions(both.tagsets), vocab.conditions(plain.tagsets)
    other = slice(vocab.dim - len(vocab.other_tags), vocab.dim)
    on = [vocab.other_tags[i] for i in np.flatnonzero(cond[0, other])]
    assert on == ["glasses", "smile"] and not cond_plain[:, other].any()
    np.testing.assert_array_equal(cond[:, : other.start], cond_plain[:, : other.start])  # the same colours
    with_tags, without = generate_requests(generator, [both, plain], seed=4, seeds=[4, 5, 6])
    assert with_tags.shape == without.shape == (3, SIZE, SIZE, 3)
    assert np.abs(with_tags.astype(int) - without).mean() > 0.5  # same z, other tags: other faces


def test_generate_draws_other_tags_and_lists_them(model, tmp_path, capsys, monkeypatch):
    from generate import main

    monkeypatch.chdir(tmp_path)
    assert main(["--model", str(model), "--list-tags"]) == 0
    listing = capsys.readouterr().out
    assert "other: blush, glasses, hat, long hair, open mouth, short hair, smile" in listing
    assert main(["--model", str(model), "--tags", "smile glasses blue hair", "--n", "4", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "'smile glasses blue hair' -> " in out and "glasses smile" in out
    assert (tmp_path / "samples" / "tagged-model" / "blue_hair_glasses_smile_seed2_n4.png").is_file()


def test_a_sweep_over_an_other_tag_has_a_column_without_it_and_one_with_it(generator):
    from sampling.generation import Request, generate_requests, sweep, sweep_columns

    vocab = generator.vocab
    images, ncols, labels = sweep(generator, "Smile", "blue hair red eyes glasses smile", rows=3, seed=7)
    assert ncols == 2 and images.shape == (6, SIZE, SIZE, 3)
    assert sweep_columns(vocab, "smile") == ["no smile", "smile"]
    assert labels == ["blue hair red eyes glasses | smile: off, on"] * 3  # the swept tag is set per column
    off, on = images[0::2], images[1::2]
    assert all(np.abs(a.astype(int) - b).mean() > 0.5 for a, b in zip(off, on))
    # each row is one z: its columns are the faces generate draws at that z without and with the tag
    for extras, column in ((["glasses"], off), (["glasses", "smile"], on)):
        tagset = vocab.tagset({"hair": "blue", "eyes": "red"}, extras)
        drawn = generate_requests(generator, [Request("x", tagset.text, [tagset] * 3)], seed=7)[0]
        assert np.abs(drawn.astype(int) - column).max() <= 1, extras  # one level: another batch size


def test_generate_sweep_over_an_other_tag_writes_two_labelled_columns(model, tmp_path, capsys, monkeypatch):
    import imageio.v3 as iio

    from generate import main

    monkeypatch.chdir(tmp_path)
    assert main(["--model", str(model), "--sweep", "glasses", "--tags", "red hair", "--n", "2"]) == 0
    out = capsys.readouterr().out
    assert "glasses sweep: a column without glasses, one with it, a row per fixed z (2 rows)" in out
    image = iio.imread(tmp_path / "samples" / "tagged-model" / "sweep_glasses_red_hair_n2.png")
    assert 2 * (SIZE + PAD) + PAD < image.shape[1] < 2 * (SIZE + PAD) + PAD + 200  # 2 columns + row labels
    assert image.shape[0] > 2 * (SIZE + PAD) + PAD  # the column labels above the faces
    assert main(["--model", str(model), "--sweep", "long hair", "--n", "1"]) == 0
    assert (tmp_path / "samples" / "tagged-model" / "sweep_long_hair_n1.png").is_file()


def test_an_unknown_sweep_names_the_groups_and_other_tags(model, tmp_path, capsys, monkeypatch):
    from generate import main

    monkeypatch.chdir(tmp_path)
    assert main(["--model", str(model), "--sweep", "wings"]) == 2
    err = capsys.readouterr().err
    assert (
        "--sweep wings: this model's groups are hair, eyes; its other tags are blush, glasses, hat, "
        "long hair, open mouth, short hair, smile"
    ) in err and "Traceback" not in err
    assert not (tmp_path / "samples").exists()
