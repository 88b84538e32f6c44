"""common.ids: one id rule in every tag-CSV format and in generate.py's file names (issue 24)."""


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
    texts = {
        "2018": "".join(f"{n},blue hair red eyes\n" for n in names) + "../0,blue hair red eyes\n",
        "2017": "".join(f"{n},blue hair:5\tred eyes:3\n" for n in names) + "../0,blue hair:5\tred eyes:3\n",
        "header": "image,tags\n"
        + "".join(f"{n}.jpg,blue hair red eyes\n" for n in names)
        + "../0.jpg,blue hair red eyes\n",
    }
    for fmt, text in texts.items():
        (tmp_path / f"{fmt}.csv").write_text(text)
        result = read_tag_csv(tmp_path / f"{fmt}.csv", faces / "images", fmt)
        assert [r.id for r in result.rows] == names, fmt
        assert len(result.skipped) == 1 and result.skipped[0].reason.startswith("unusable"), fmt
    assert [safe_id(n, 1) for n in names] == names
    for raw in ("../../etc/x", "a/b", "..", "x\\y", "~root"):
        assert id_problem(raw) is not None and id_problem(safe_id(raw, 7)) is None
