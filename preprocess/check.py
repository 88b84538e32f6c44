"""What `train.py --check` says about the data without building the cache:
the CSV format it found, and how many rows a run could use out of how many
(with the reasons for the others). Image files are checked to exist, not
decoded, so this takes a second where the cache build takes minutes; the
run may still skip grayscale or unreadable files (it lists them in skipped.csv)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from preprocess.cache import PreprocessError, _reason_kind

FORMAT_NAMES = {
    "2018": "MLDS-2018 (id,blue hair red eyes)",
    "2017": "MLDS-2017 (id,tag:count<TAB>...)",
    "header": "a CSV with a header (image and tags columns)",
}


@dataclass
class DataCheck:
    format: str
    detected: bool  # found by --tag-format auto (not forced)
    total: int
    usable: int
    skipped: dict  # reason -> rows
    tagsets: list = field(default_factory=list, repr=False)  # the usable rows' tags

    def vocabulary(self, top_k: int):
        """The onehot vocabulary the run would derive from these rows, and the other tags it leaves
        out ({tag: images}). (Word2vec vectors are trained with the cache; the tags are the same.)"""
        from tags.vocab import Vocabulary, left_out_tags

        complete = [t for t in self.tagsets if len(t.values) == 2]
        vocab = Vocabulary.build(complete or self.tagsets, top_k=top_k)
        return vocab, left_out_tags(self.tagsets, vocab)

    def describe(self, tags_csv) -> str:
        how = "detected" if self.detected else "--tag-format"
        line = (
            f"data: {tags_csv} is {FORMAT_NAMES.get(self.format, self.format)} ({how}); "
            f"{self.usable} of {self.total} rows usable"
        )
        if self.skipped:
            line += (
                " (skipped: "
                + ", ".join(
                    f"{reason} {n}" for reason, n in sorted(self.skipped.items(), key=lambda kv: -kv[1])
                )
                + ")"
            )
        return line


def check_data(images, tags_csv, tag_format: str = "auto") -> DataCheck:
    """Read the CSV as the run will and look for each row's image; PreprocessError
    when no row is usable (the run would stop there too)."""
    from tags.readers import read_tag_csv

    result = read_tag_csv(Path(tags_csv), Path(images), tag_format)
    skipped: dict[str, int] = {}
    for skip in result.skipped:
        skipped[_reason_kind(skip.reason)] = skipped.get(_reason_kind(skip.reason), 0) + 1
    from tags.canonical import TagSet

    found = [r for r in result.rows if Path(r.path).is_file()]
    if len(found) < len(result.rows):
        skipped["missing file"] = skipped.get("missing file", 0) + len(result.rows) - len(found)
    check = DataCheck(
        result.format,
        tag_format == "auto",
        len(result.rows) + len(result.skipped),
        len(found),
        skipped,
        [TagSet.make(r.values, r.extras) for r in found],
    )
    if not found:
        counts = ", ".join(f"{r} {n}" for r, n in sorted(skipped.items(), key=lambda kv: -kv[1])[:4])
        hint = (
            f"; are the images in {images}?"
            if skipped.get("missing file") == len(result.rows) and result.rows
            else ""
        )
        raise PreprocessError(
            f"no usable images in {tags_csv}: all {check.total} rows skipped ({counts}){hint}"
        )
    return check
