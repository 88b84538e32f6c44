"""tags.vocab.Vocabulary.load: bad counts and wrong types in vocab.json are named (issues 15, 24)."""
import json

import pytest

from tests.conftest import ROOT


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
