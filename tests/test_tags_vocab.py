"""tags.vocab.Vocabulary: vocab.json checks (issues 15, 24); growing a source's vocabulary by a data set's
and naming the tags left out (issue 34)."""

import json

import numpy as np
import pytest

from tests.conftest import ROOT


@pytest.mark.parametrize("count", ["x", 0, -3, 1.5, True, None])
def test_vocab_combination_counts_must_be_positive_whole_numbers(tmp_path, count):

    from tags import TagError
    from tags.vocab import Vocabulary

    data = json.loads((ROOT / "models" / "default" / "vocab.json").read_text())
    data["combos"][0]["count"] = count
    (tmp_path / "vocab.json").write_text(json.dumps(data))
    with pytest.raises(TagError, match="combination 0 has count"):
        Vocabulary.load(tmp_path / "vocab.json")


def test_a_wrong_type_in_vocab_json_is_named_as_a_type(tmp_path):
    import json

    from tags import TagError
    from tags.vocab import Vocabulary

    data = json.loads((ROOT / "models" / "default" / "vocab.json").read_text())
    for field, value, words in (
        ("dim", "22", "dim must be a whole number, not text ('22')"),
        ("dim", True, "dim must be a whole number, not true/false"),
        ("groups", ["hair"], "groups must be an object, not a list"),
    ):
        (tmp_path / "vocab.json").write_text(json.dumps(dict(data, **{field: value})))
        with pytest.raises(TagError) as exc:
            Vocabulary.load(tmp_path / "vocab.json")
        assert words in str(exc.value) and "but its tags give" not in str(exc.value)


def _vocab(hair, eyes, other=(), mode="onehot"):
    from tags.vocab import Vocabulary

    vectors = (
        {
            f"{v} {g}": [float(i), 1.0]
            for g, vals in (("hair", hair), ("eyes", eyes))
            for i, v in enumerate(vals)
        }
        if mode == "word2vec"
        else None
    )
    return Vocabulary(
        {"hair": list(hair), "eyes": list(eyes)},
        list(other),
        mode=mode,
        combos=[{"tags": {"hair": hair[0], "eyes": eyes[0]}, "count": 3}],
        tag_vectors=vectors,
    )


def test_a_grown_vocabulary_keeps_the_source_s_tags_in_place_and_adds_the_data_s():
    source = _vocab(["blue", "red"], ["green", "red"], ["smile"])
    data = _vocab(["blue", "silver"], ["red"], ["glasses", "smile"])
    growth = source.grown_by(data)
    grown = growth.vocab
    assert grown.groups == {"hair": ["blue", "red", "silver"], "eyes": ["green", "red"]}
    assert grown.other_tags == ["smile", "glasses"]
    assert growth.added == ["silver hair", "glasses"]
    assert growth.missing == ["red hair", "green eyes"]
    assert set(growth.kept) == {"blue hair", "red eyes", "smile"}
    line = growth.describe()
    assert "added 2: silver hair, glasses" in line and "red hair, green eyes" in line
    # each grown input points at the source's same tag, the new ones at nothing
    assert grown.position_map(source).tolist() == [0, 1, -1, 2, 3, 4, -1]
    assert grown.label_map(source).tolist() == [0, 1, -1, 2, 3]
    # a tag head: the colours, then the other tags (the source's 'smile' output is its index 4)
    assert grown.head_map(source).tolist() == [0, 1, -1, 2, 3, 4, -1]
    assert grown.head_map(source, source_other=False).tolist() == [0, 1, -1, 2, 3, -1, -1]
    assert grown.head_map(source, other=False).tolist() == [0, 1, -1, 2, 3]
    # the source's tags give the same condition, entry by entry, through the map
    cond_new = grown.condition_from_values({"hair": "red", "eyes": "green"}, ["smile"])
    cond_old = source.condition_from_values({"hair": "red", "eyes": "green"}, ["smile"])
    positions = grown.position_map(source)
    assert np.array_equal(cond_new[positions >= 0], cond_old[positions[positions >= 0]])
    assert not cond_new[positions < 0].any()
    # the data's combination counts join the source's
    assert {json.dumps(c["tags"]): c["count"] for c in grown.combos}['{"hair": "blue", "eyes": "green"}'] == 3


def test_a_word2vec_vocabulary_that_would_grow_is_refused_with_the_reason():
    from tags import TagError

    source = _vocab(["blue", "red"], ["green"], mode="word2vec")
    assert source.grown_by(_vocab(["blue"], ["green"], mode="word2vec")).added == []
    with pytest.raises(TagError, match="word2vec vectors, trained on its own data; new tags \\(silver hair"):
        source.grown_by(_vocab(["silver"], ["green"], mode="word2vec"))


def test_other_tags_too_rare_or_past_top_k_are_left_out_and_named():
    from tags.canonical import TagSet
    from tags.vocab import MIN_TAG_IMAGES, Vocabulary, describe_left_out, left_out_tags

    rows = [TagSet.make({"hair": "blue", "eyes": "red"}, ["smile", "hat"])] * MIN_TAG_IMAGES + [
        TagSet.make({"hair": "red", "eyes": "red"}, ["glasses"])
    ] * (MIN_TAG_IMAGES - 1)
    vocab = Vocabulary.build(rows, top_k=1)
    assert vocab.other_tags == ["hat"]  # the most frequent (ties by name); glasses is too rare
    left = left_out_tags(rows, vocab)
    assert left == {"smile": MIN_TAG_IMAGES, "glasses": MIN_TAG_IMAGES - 1}
    line = describe_left_out(left, 1)
    assert f"glasses ({MIN_TAG_IMAGES - 1})" in line and "past --top-k 1" in line and "smile" in line
    assert describe_left_out({}, 1) is None


def test_a_source_and_a_csv_with_different_tag_groups_are_refused_with_the_reason():
    from tags import TagError
    from tags.vocab import Vocabulary

    source = _vocab(["blue"], ["red"])
    hair_only = Vocabulary({"hair": ["blue", "pink"]}, combos=[{"tags": {"hair": "pink"}, "count": 3}])
    with pytest.raises(TagError, match="give no eyes colour: fine-tuning needs the same groups"):
        source.grown_by(hair_only)
    with pytest.raises(TagError, match="add the group eyes"):
        hair_only.grown_by(source)
