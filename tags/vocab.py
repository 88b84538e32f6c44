"""The tag vocabulary of a model, saved as vocab.json beside every model.

It fixes the group values and their order (hair, eyes), the other tags kept
as multi-hot, how a tag set becomes a condition vector (one-hot, or word2vec
vectors stored inline as plain floats: no gensim, no pickle at load time),
and the joint frequencies of group values used to complete a request that
leaves a group out.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common import jsonio
from common.files import atomic_write
from tags import TagError
from tags.canonical import TagSet

FORMAT_VERSION = 1
# The type of every field of vocab.json that has one (checked before its value is)
FIELD_TYPES = {
    "format_version": int,
    "mode": str,
    "dim": int,
    "word_dim": int,
    "groups": dict,
    "other_tags": list,
    "combos": list,
}
GROUP_ORDER = ("hair", "eyes")
# An other tag seen on fewer images is left out of a vocabulary built from data (and said so): a condition
# input that a handful of faces show cannot be learnt, and would promise the user a tag that does nothing.
MIN_TAG_IMAGES = 10


class Vocabulary:
    def __init__(
        self,
        groups: dict[str, list[str]],
        other_tags: list[str] | None = None,
        *,
        mode: str = "onehot",
        combos: list[dict] | None = None,
        tag_vectors: dict[str, list[float]] | None = None,
    ):
        if mode not in ("onehot", "word2vec"):
            raise TagError(f"unknown condition mode {mode!r} (onehot or word2vec)")
        self.groups = {g: list(v) for g, v in groups.items()}
        self.other_tags = list(other_tags or [])
        self.mode = mode
        self.combos = list(combos or [])
        self.tag_vectors = {k: np.asarray(v, np.float32) for k, v in (tag_vectors or {}).items()}
        self.word2vec_text: str | None = None  # written beside vocab.json as word2vec.txt
        if mode == "word2vec":
            missing = [
                f"{v} {g}"
                for g, vals in self.groups.items()
                for v in vals
                if f"{v} {g}" not in self.tag_vectors
            ]
            if missing:
                raise TagError(f"vocabulary has no word2vec vectors for {missing[:5]}")
            self.word_dim = len(next(iter(self.tag_vectors.values())))
        else:
            self.word_dim = 0

    # ------------------------------------------------------------ properties
    @property
    def dim(self) -> int:
        per_group = self.word_dim if self.mode == "word2vec" else None
        size = sum(per_group or len(v) for v in self.groups.values())
        return size + len(self.other_tags)

    def all_tags(self) -> list[str]:
        return [f"{v} {g}" for g, vals in self.groups.items() for v in vals] + self.other_tags

    def listing(self) -> str:
        """The valid tags, one line per group (then the other tags), for --list-tags."""
        lines = [
            f"{group}: " + ", ".join(f"{v} {group}" for v in values) for group, values in self.groups.items()
        ]
        if self.other_tags:
            lines.append("other: " + ", ".join(self.other_tags))
        return "\n".join(lines)

    # ------------------------------------------------------------ conditions
    def condition_from_values(self, values: dict[str, str], extras=()) -> np.ndarray:
        vec = np.zeros(self.dim, np.float32)
        offset = 0
        for group, vals in self.groups.items():
            value = values.get(group)
            if value is None:
                raise TagError(f"no {group} colour given")
            if value not in vals:
                raise TagError(f"'{value} {group}' is not in this model's vocabulary")
            if self.mode == "word2vec":
                vec[offset : offset + self.word_dim] = self.tag_vectors[f"{value} {group}"]
                offset += self.word_dim
            else:
                vec[offset + vals.index(value)] = 1.0
                offset += len(vals)
        for tag in extras:
            if tag in self.other_tags:
                vec[offset + self.other_tags.index(tag)] = 1.0
        return vec

    def condition(self, tagset: TagSet) -> np.ndarray:
        return self.condition_from_values(tagset.as_dict(), tagset.extras)

    def conditions(self, tagsets) -> np.ndarray:
        tagsets = list(tagsets)
        if not tagsets:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self.condition(t) for t in tagsets])

    def label_indices(self, tagset: TagSet) -> np.ndarray:
        return np.array([self.groups[g].index(tagset.get(g)) for g in self.groups], np.int32)

    def contains(self, tagset: TagSet) -> str | None:
        """None if every tag of `tagset` is known, else the first unknown tag."""
        for group, value in tagset.values:
            if group not in self.groups or value not in self.groups[group]:
                return f"{value} {group}"
        for group in self.groups:
            if tagset.get(group) is None:
                return f"<no {group}>"
        return None

    def tagset(self, values: dict[str, str], extras=()) -> TagSet:
        return TagSet.make(values, [e for e in extras if e in self.other_tags], tuple(self.groups))

    def text(self, values: dict[str, str], extras=()) -> str:
        """The one way a tag set is written as text, {group: value} (a training combination, a row of
        a sheet) -> 'blue hair red eyes': a value per group in this vocabulary's order, then the other
        tags; the canonical text of TagSet and tags.parser.Query, so it parses back to the same tags."""
        return TagSet.make(values, extras, tuple(self.groups)).text

    # ------------------------------------------------------------ build / io
    @classmethod
    def build(
        cls,
        tagsets: list[TagSet],
        *,
        mode: str = "onehot",
        top_k: int = 50,
        tag_vectors: dict[str, list[float]] | None = None,
    ) -> "Vocabulary":
        """From the training rows: every group value seen, the top-K other tags seen on at least
        MIN_TAG_IMAGES images (`left_out_tags` names the others)."""
        groups = {g: sorted({t.get(g) for t in tagsets if t.get(g)}) for g in GROUP_ORDER}
        groups = {g: v for g, v in groups.items() if v}
        if not groups:
            raise TagError("no hair or eye colour tags found in the tag CSV")
        counts = Counter(e for t in tagsets for e in t.extras)
        other = [
            tag
            for tag, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top_k]
            if n >= MIN_TAG_IMAGES
        ]
        combo_counts = Counter(tuple(t.get(g) for g in groups) for t in tagsets)
        combos = [
            {"tags": dict(zip(groups, key)), "count": n}
            for key, n in sorted(combo_counts.items(), key=lambda kv: kv[0])
        ]
        return cls(groups, sorted(other), mode=mode, combos=combos, tag_vectors=tag_vectors)

    def grown_by(self, data: "Vocabulary") -> "VocabularyGrowth":
        """This (a source model's) vocabulary grown by a data set's: the union, with this one's
        tags first and in their order (so its condition inputs keep their positions, see
        `position_map`), the data's new colours appended to their group and its new other tags
        after this one's. Word2vec vectors are trained per data set, so a vocabulary that would
        grow in word2vec mode is refused (TagError, with the reason)."""
        lacking, unknown = (
            sorted(set(self.groups) - set(data.groups)),
            sorted(set(data.groups) - set(self.groups)),
        )
        if lacking or unknown:  # every condition needs a value per group, in the source's and the data's
            raise TagError(
                f"the source model's tags have a value per group ({', '.join(self.groups)}), and the CSV's "
                + (
                    f"give no {' or '.join(lacking)} colour"
                    if lacking
                    else f"add the group {', '.join(unknown)}"
                )
                + ": fine-tuning needs the same groups (tag every image with them, or train from scratch)"
            )
        groups = {g: list(v) for g, v in self.groups.items()}
        for group, values in data.groups.items():
            groups.setdefault(group, [])
            groups[group] += [v for v in values if v not in groups[group]]
        other = self.other_tags + [t for t in data.other_tags if t not in self.other_tags]
        mine, theirs = set(self.all_tags()), set(data.all_tags())
        added = [t for t in data.all_tags() if t not in mine]
        if added and self.mode == "word2vec":
            raise TagError(
                f"the source model's tags are word2vec vectors, trained on its own data; new tags "
                f"({', '.join(added[:5])}) would need vectors in the same space, which a new data set "
                "cannot give. Fine-tune a onehot model (--condition-mode onehot), or train a new "
                "model on this data"
            )
        combos = {json.dumps(c["tags"], sort_keys=True): dict(c) for c in self.combos}
        for c in data.combos:  # the data's joint counts; the source's combinations it lacks stay
            key = json.dumps(c["tags"], sort_keys=True)
            combos[key] = {"tags": c["tags"], "count": c["count"] + combos.get(key, {"count": 0})["count"]}
        grown = Vocabulary(
            groups,
            other,
            mode=self.mode,
            combos=list(combos.values()),
            tag_vectors={k: v.tolist() for k, v in self.tag_vectors.items()} or None,
        )
        grown.word2vec_text = self.word2vec_text
        return VocabularyGrowth(
            grown,
            kept=[t for t in self.all_tags() if t in theirs],
            added=added,
            missing=[t for t in self.all_tags() if t not in theirs],
        )

    def position_map(self, source: "Vocabulary") -> np.ndarray:
        """int64 [dim]: for each condition input of this vocabulary, its position in `source`'s
        condition vector, or -1 for an input `source` lacks. With it a source network's weights on
        its condition inputs are copied into a grown vocabulary's (the new inputs start at zero)."""
        if self.mode != source.mode or (self.mode == "word2vec" and self.word_dim != source.word_dim):
            raise TagError(f"cannot map {self.mode} condition vectors onto {source.mode} ones")
        positions = {}
        offset = 0
        for group, values in source.groups.items():
            width = source.word_dim if source.mode == "word2vec" else len(values)
            positions[("group", group)] = offset
            offset += width
        out = []
        for group, values in self.groups.items():
            start = positions.get(("group", group))
            if self.mode == "word2vec":
                out += (
                    list(range(start, start + self.word_dim)) if start is not None else [-1] * self.word_dim
                )
            else:
                old = source.groups.get(group, [])
                out += [start + old.index(v) if start is not None and v in old else -1 for v in values]
        out += [
            offset + source.other_tags.index(t) if t in source.other_tags else -1 for t in self.other_tags
        ]
        return np.asarray(out, np.int64)

    def label_map(self, source: "Vocabulary") -> np.ndarray:
        """int64 [sum of group sizes]: for each group value (the tag heads' outputs, in group order),
        its index among `source`'s group values, or -1 for a new one."""
        starts, offset = {}, 0
        for group, values in source.groups.items():
            starts[group] = offset
            offset += len(values)
        old = source.groups
        return np.asarray(
            [
                starts[g] + old[g].index(v) if v in old.get(g, []) else -1
                for g, values in self.groups.items()
                for v in values
            ],
            np.int64,
        )

    def head_map(self, source: "Vocabulary", *, other: bool = True, source_other: bool = True) -> np.ndarray:
        """int64: for each output of a tag head over this vocabulary (each group's values, then the other
        tags when `other`), its index among the outputs of the same head over `source` (whose head reads
        its other tags when `source_other`), or -1 for an output the source's head lacks."""
        out = self.label_map(source).tolist()
        if other:
            start = sum(len(v) for v in source.groups.values())
            out += [
                start + source.other_tags.index(t) if source_other and t in source.other_tags else -1
                for t in self.other_tags
            ]
        return np.asarray(out, np.int64)

    def to_dict(self) -> dict:
        data = {
            "format_version": FORMAT_VERSION,
            "mode": self.mode,
            "dim": self.dim,
            "groups": self.groups,
            "other_tags": self.other_tags,
            "combos": self.combos,
        }
        if self.mode == "word2vec":
            data["word_dim"] = self.word_dim
            data["tag_vectors"] = {k: [round(float(x), 7) for x in v] for k, v in self.tag_vectors.items()}
        return data

    def save(self, path: str | os.PathLike) -> Path:
        path = atomic_write(path, jsonio.dumps(self.to_dict(), indent=1) + "\n")
        if self.word2vec_text:
            atomic_write(path.parent / "word2vec.txt", self.word2vec_text)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Vocabulary":
        """A vocab.json; a wrong type (e.g. "dim": "22") is named as a type, a wrong value as a value."""
        path = Path(path)
        if not path.exists():
            raise TagError(f"missing vocabulary {path}: a model directory needs its vocab.json")
        try:
            data = json.loads(path.read_text())
            if not isinstance(data, dict):
                raise TagError(
                    f"{path} is not a valid vocabulary (it holds {type(data).__name__}, not an object)"
                )
            for name, kind in FIELD_TYPES.items():
                problem = jsonio.type_problem(name, data[name], kind) if name in data else None
                if problem:
                    raise TagError(f"{path} is not a valid vocabulary: {problem}")
            if data.get("format_version") != FORMAT_VERSION:
                raise TagError(
                    f"{path} has format_version {data.get('format_version')!r}; "
                    f"this toolkit reads version {FORMAT_VERSION}"
                )
            vocab = cls(
                data["groups"],
                data.get("other_tags", []),
                mode=data["mode"],
                combos=data.get("combos", []),
                tag_vectors=data.get("tag_vectors"),
            )
        except TagError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise TagError(f"{path} is not a valid vocabulary ({type(exc).__name__}: {exc})") from None
        if vocab.dim != data.get("dim", vocab.dim):
            raise TagError(f"{path}: recorded dim {data.get('dim')} but its tags give {vocab.dim}")
        problem = vocab.combos_problem()
        if problem:
            raise TagError(f"{path} is not a valid vocabulary: {problem}")
        return vocab

    def combos_problem(self) -> str | None:
        """Why the combination counts cannot be used to draw missing tags (None when they can):
        each needs known group values and a positive whole-number count."""
        for i, c in enumerate(self.combos):
            if not isinstance(c, dict) or not isinstance(c.get("tags"), dict):
                return f"combination {i} is not {{'tags': {{...}}, 'count': N}}"
            count = c.get("count")
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                return f"combination {i} has count {str(count)[:20]!r}; counts are whole numbers >= 1"
            for group, value in c["tags"].items():
                if value is not None and value not in self.groups.get(group, ()):
                    return f"combination {i} names {str(value)[:20]!r} {str(group)[:20]!r}, not in the groups"
        return None


def left_out_tags(tagsets, vocab: Vocabulary) -> dict[str, int]:
    """{other tag: images} of the tags the rows carry that `vocab` does not keep (too rare, or past
    --top-k), most frequent first: what a run says it leaves out, rather than dropping it silently."""
    counts = Counter(e for t in tagsets for e in t.extras if e not in vocab.other_tags)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def describe_left_out(left_out: dict[str, int], top_k: int) -> str | None:
    """One line on the other tags a vocabulary left out, with why; None when none was."""
    if not left_out:
        return None
    rare = [f"{t} ({n})" for t, n in left_out.items() if n < MIN_TAG_IMAGES]
    past = [f"{t} ({n})" for t, n in left_out.items() if n >= MIN_TAG_IMAGES]
    parts = []
    if rare:
        parts.append(
            f"{len(rare)} seen on fewer than {MIN_TAG_IMAGES} images: "
            + ", ".join(rare[:8])
            + (" ..." if len(rare) > 8 else "")
        )
    if past:
        parts.append(
            f"{len(past)} past --top-k {top_k} (raise it to keep them): "
            + ", ".join(past[:8])
            + (" ..." if len(past) > 8 else "")
        )
    return "tags left out of the vocabulary: " + "; ".join(parts)


@dataclass
class VocabularyGrowth:
    """A fine-tuned run's vocabulary and how it came from the source's (Vocabulary.grown_by)."""

    vocab: Vocabulary
    kept: list[str]  # the source's tags the data has
    added: list[str]  # the data's tags the source lacks
    missing: list[str]  # the source's tags the data lacks (kept in the vocabulary, not trained on)

    def describe(self) -> str:
        """The one line a fine-tuning run starts with (and --check prints)."""

        def some(tags):
            return (
                ", ".join(tags[:12]) + (f" ... ({len(tags)})" if len(tags) > 12 else "") if tags else "none"
            )

        return (
            f"vocabulary: {len(self.kept)} of the source's tags kept; added {len(self.added)}: "
            f"{some(self.added)}; the source's tags missing from the data ({len(self.missing)}, kept; no "
            f"image shows them): {some(self.missing)}"
        )
