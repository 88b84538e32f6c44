"""Free-text parsing, canonicalisation, the vocabulary and its condition vectors."""

import numpy as np
import pytest

from preprocess.synthetic import EYE_COLOURS, HAIR_COLOURS
from tags import TagError
from tags.canonical import TagSet, canonical_tag, split_tags
from tags.parser import complete, parse
from tags.vocab import MIN_TAG_IMAGES, Vocabulary


@pytest.fixture(scope="module")
def vocab():
    sets = [
        TagSet.make({"hair": h, "eyes": e})
        for h in HAIR_COLOURS
        for e in EYE_COLOURS
        if (h, e) != ("purple", "black")
    ]
    # make blue hair mostly come with red eyes, so completion has a visible preference
    sets += [TagSet.make({"hair": "blue", "eyes": "red"})] * 40
    return Vocabulary.build(sets)


def test_case_commas_and_order(vocab):
    q = parse("Blue Hair, RED eyes", vocab)
    assert q.values == {"hair": "blue", "eyes": "red"}
    assert parse("red eyes blue hair", vocab).values == q.values
    assert parse("  blue   hair;red eye ", vocab).values == q.values


def test_blond_grey_canonical():
    assert canonical_tag("Blond Hair") == "blonde hair"
    assert canonical_tag("grey eye") == "gray eyes"
    assert split_tags("red eyes blue hair") == ["red eyes", "blue hair"]


def test_unknown_tag_names_close_matches(vocab):
    with pytest.raises(TagError) as err:
        parse("rainbow hair", vocab)
    message = str(err.value)
    assert "rainbow hair" in message and "closest known tags" in message
    assert "hair" in message.split("closest known tags:")[1]
    with pytest.raises(TagError, match="blue hair"):
        parse("bleu hair", vocab)


def test_two_values_in_one_group_and_empty_text(vocab):
    with pytest.raises(TagError, match="two hair colours"):
        parse("blue hair red hair", vocab)
    for text in ("", "   ", ",,,"):
        with pytest.raises(TagError):
            parse(text, vocab)
    assert issubclass(TagError, ValueError)


def test_missing_group_is_drawn_from_the_training_frequencies(vocab):
    q = parse("blue hair", vocab)
    assert q.values == {"hair": "blue"}
    sets = complete(q, vocab, np.random.default_rng(0), 400)
    assert all(s.get("hair") == "blue" for s in sets)
    eyes = [s.get("eyes") for s in sets]
    assert set(eyes) <= set(vocab.groups["eyes"])
    # red eyes are 41 of the 50 blue-hair rows in the data
    assert 0.7 < eyes.count("red") / len(eyes) < 0.95
    # a pair absent from the data is still a valid full request (nothing to draw)
    full = complete(parse("purple hair black eyes", vocab), vocab, np.random.default_rng(0), 2)
    assert [s.text for s in full] == ["purple hair black eyes"] * 2


def test_gray_eyes_is_a_clear_error_when_not_in_the_vocabulary(vocab):
    with pytest.raises(TagError, match="gray eyes"):
        parse("blond hair grey eyes", vocab)


def test_grey_maps_to_gray_in_a_vocabulary_that_has_it():
    v = Vocabulary.build(
        [TagSet.make({"hair": "blonde", "eyes": "gray"}), TagSet.make({"hair": "red", "eyes": "blue"})]
    )
    assert parse("blond hair grey eyes", v).values == {"hair": "blonde", "eyes": "gray"}


def test_onehot_condition_vectors(vocab):
    c = vocab.condition(TagSet.make({"hair": "blue", "eyes": "red"}))
    assert c.shape == (vocab.dim,) == (22,)
    assert c.sum() == 2.0
    assert c[vocab.groups["hair"].index("blue")] == 1.0
    assert c[12 + vocab.groups["eyes"].index("red")] == 1.0


def test_vocab_round_trip_and_version_check(vocab, tmp_path):
    path = vocab.save(tmp_path / "vocab.json")
    again = Vocabulary.load(path)
    assert again.groups == vocab.groups and again.combos == vocab.combos and again.dim == vocab.dim
    text = path.read_text().replace('"format_version": 1', '"format_version": 99')
    path.write_text(text)
    with pytest.raises(TagError, match="format_version"):
        Vocabulary.load(path)
    with pytest.raises(TagError, match="missing vocabulary"):
        Vocabulary.load(tmp_path / "nope.json")


def test_word2vec_vectors_are_stored_inline_and_shared_by_words(tmp_path):
    from tags.vectors import train_tag_vectors

    sets = [
        TagSet.make({"hair": h, "eyes": e}) for h in ("blue", "red", "green") for e in ("blue", "red")
    ] * 5
    base = Vocabulary.build(sets)
    vectors, text = train_tag_vectors(sets, base.groups, dim=6, seed=0)
    v = Vocabulary(base.groups, mode="word2vec", combos=base.combos, tag_vectors=vectors)
    v.word2vec_text = text
    assert v.dim == 12
    a = v.condition(TagSet.make({"hair": "blue", "eyes": "red"}))
    b = v.condition(TagSet.make({"hair": "red", "eyes": "red"}))
    assert not np.allclose(a[:6], b[:6]) and np.allclose(a[6:], b[6:])
    v.save(tmp_path / "vocab.json")
    assert (tmp_path / "word2vec.txt").read_text().splitlines()[0].split() == [
        str(len(text.splitlines()) - 1),
        "6",
    ]
    again = Vocabulary.load(tmp_path / "vocab.json")
    np.testing.assert_allclose(again.condition(TagSet.make({"hair": "blue", "eyes": "red"})), a, atol=1e-6)


def test_tags_file_grid_rows_are_labelled_with_each_cells_tags(vocab):
    from sampling.generation import build_requests, one_cell_row_labels

    items = [("1", "blue hair red eyes"), ("2", "green hair yellow eyes"), ("3", "white hair pink eyes")]
    labels = one_cell_row_labels(build_requests(items, vocab, 1, seed=0), ncols=2)
    assert len(labels) == 2  # 3 cells in rows of 2
    assert labels[0].index("1: blue hair red eyes") < labels[0].index("2: green hair yellow eyes")
    assert labels[1] == "3: white hair pink eyes"


def test_unknown_words_after_valid_tags_are_named_one_by_one(vocab):
    """'blue hair red eyes glasses smile' names 'glasses' alone, not 'glasses smile' (issue 12)."""
    with pytest.raises(TagError) as err:
        parse("blue hair red eyes glasses smile", vocab)
    assert str(err.value).startswith("unknown tag 'glasses';"), err.value
    with pytest.raises(TagError, match=r"^unknown tag 'glasses';"):
        parse("glasses blue hair", vocab)
    # (a vocabulary keeps an other tag seen on at least MIN_TAG_IMAGES images)
    with_smile = Vocabulary.build(
        [TagSet.make({"hair": "blue", "eyes": "red"}, ["smile", "long hair"])] * MIN_TAG_IMAGES
    )
    q = parse("blue hair red eyes smile", with_smile)
    assert q.values == {"hair": "blue", "eyes": "red"} and q.extras == ("smile",)
    assert parse("smile long hair blue hair", with_smile).extras == ("long hair", "smile")
    with pytest.raises(TagError, match=r"^unknown tag 'glasses';"):
        parse("blue hair red eyes smile glasses", with_smile)


def test_suggestions_are_the_closest_by_spelling(vocab):
    import difflib

    for typo, want in (("bleu hair", "blue hair"), ("red eyez", "red eyes"), ("pnk hair", "pink hair")):
        with pytest.raises(TagError) as err:
            parse(typo, vocab)
        first = str(err.value).split("closest known tags: ")[1].split(", ")[0]
        assert first == want, err.value
    with pytest.raises(TagError) as err:
        parse("glasses", vocab)
    suggested = str(err.value).split("closest known tags: ")[1].split(", ")
    best = max(difflib.SequenceMatcher(None, "glasses", t).ratio() for t in vocab.all_tags())
    assert difflib.SequenceMatcher(None, "glasses", suggested[0]).ratio() == best
    assert suggested != vocab.all_tags()[: len(suggested)]  # not the alphabetical start of the list
