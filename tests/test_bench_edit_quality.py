"""bench/quality/edit_quality.py: which held-out faces it measures, what counts as a colour kept, and its
verdicts (the real-set measurement itself needs ../shared and is not run here)."""

from types import SimpleNamespace

import numpy as np

from bench.quality.edit_quality import lone_heldout, readings, verdict


def cached(groups, holdout, mode="group", images=None):
    """The parts of a preprocess.cache.CachedData that lone_heldout reads."""
    holdout = np.array(holdout, bool)
    return SimpleNamespace(
        groups=np.array(groups, np.int64),
        holdout=holdout,
        duplicates={"mode": mode},
        images=images,
        holdout_indices=lambda: np.flatnonzero(holdout),
    )


def test_only_held_out_faces_alone_in_their_near_duplicate_group_are_measured():
    # groups: 0 = two training faces; 1 = two held-out twins; 2 = a held-out face alone; 3 = a held-out face
    # with a twin in training (a split by id's leak); 4 = a training face alone
    data = cached([0, 0, 1, 1, 2, 3, 3, 4], [0, 0, 1, 1, 1, 1, 0, 0])
    assert lone_heldout(data).tolist() == [4]


def test_a_split_by_id_has_its_twins_found_from_the_pixels():
    """With duplicates "ignore" the cache's groups are one per image, so the mirrored twin of a training
    face would pass as unseen: the groups come from preprocess.duplicates instead."""
    from preprocess.synthetic import draw_face

    faces = [
        draw_face(hair, eyes, rng=np.random.default_rng(k))
        for k, (hair, eyes) in enumerate(
            [("blue", "red"), ("green", "yellow"), ("pink", "aqua"), ("black", "blue")]
        )
    ]
    images = np.stack([*faces, faces[0][:, ::-1]])  # the last, held out, mirrors the first, in training
    data = cached(np.arange(5), [0, 0, 1, 1, 1], mode="ignore", images=images)
    assert lone_heldout(data).tolist() == [2, 3]


class Reader:
    """A checker that reads given values off [face, reconstruction, eye edit, hair edits...]."""

    def __init__(self, hair, eyes):
        self.values = {"hair": hair, "eyes": eyes}

    def read_values(self, images):
        assert len(images) == len(self.values["hair"])
        return self.values


def test_a_colour_is_kept_when_read_in_the_edit_as_the_same_checker_reads_the_face():
    face, rec, eye_edit, *hair_edits = [np.zeros((8, 8, 3), np.uint8)] * 5
    asked = ["green", "pink"]
    # the face read as brown eyes; of the two hair edits, both read with the asked hair, the second with
    # orange eyes: half the hair edits keep the eyes
    reader = Reader(["blue", "blue", "blue", "green", "pink"], ["brown", "brown", "red", "brown", "orange"])
    judged = readings(reader, face, rec, eye_edit, "red", hair_edits, asked)
    assert judged["hair_edit_asked_read"] == 1.0 and judged["hair_edit_eyes_kept"] == 0.5
    assert judged["eye_edit_asked_read"] is True and judged["eye_edit_hair_kept"] is True
    # another checker reading the face itself as orange counts the second edit as kept, by its own reading
    judge = Reader(["blue", "blue", "aqua", "green", "blue"], ["orange", "orange", "pink", "brown", "orange"])
    judged = readings(judge, face, rec, eye_edit, "red", hair_edits, asked, prefix="judge_")
    assert judged["judge_hair_edit_asked_read"] == 0.5 and judged["judge_hair_edit_eyes_kept"] == 0.5
    assert judged["judge_eye_edit_asked_read"] is False and judged["judge_eye_edit_hair_kept"] is False


def test_verdicts_read_the_targets_direction():
    assert verdict("judge_hair_edit_eyes_kept", 0.9).endswith(" met")
    assert verdict("judge_hair_edit_eyes_kept", 0.875).endswith("NOT met")
    assert verdict("hair_edit_ssim", 0.41).endswith(" met") and not verdict("hair_edit_ssim", 0.41).endswith(
        "NOT met"
    )
    assert verdict("seconds_per_face", 5.5).endswith("NOT met") and verdict("seconds_per_face", 1.0).endswith(
        " met"
    )
    assert verdict("search_loss", 0.1) == ""
