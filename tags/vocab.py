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
from pathlib import Path

import numpy as np

from common import jsonio
from common.files import atomic_write
from tags import TagError
from tags.canonical import TagSet

FORMAT_VERSION = 1
# The type of every field of vocab.json that has one (checked before its value is)
FIELD_TYPES = {"format_version": int, "mode": str, "dim": int, "word_dim": int, "groups": dict,
               "other_tags": list, "combos": list}
GROUP_ORDER = ("hair", "eyes")


class Vocabulary:
    def __init__(self, groups: dict[str, list[str]], other_tags: list[str] | None = None, *,
                 mode: str = "onehot", combos: list[dict] | None = None,
                 tag_vectors: dict[str, list[float]] | None = None):
        if mode not in ("onehot", "word2vec"):
            raise TagError(f"unknown condition mode {mode!r} (onehot or word2vec)")
        self.groups = {g: list(v) for g, v in groups.items()}
        self.other_tags = list(other_tags or [])
        self.mode = mode
        self.combos = list(combos or [])
        self.tag_vectors = {k: np.asarray(v, np.float32) for k, v in (tag_vectors or {}).items()}
        self.word2vec_text: str | None = None  # written beside vocab.json as word2vec.txt
        if mode == "word2vec":
            missing = [f"{v} {g}" for g, vals in self.groups.items() for v in vals
                       if f"{v} {g}" not in self.tag_vectors]
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
        lines = [f"{group}: " + ", ".join(f"{v} {group}" for v in values) for group, values in self.groups.items()]
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
                vec[offset: offset + self.word_dim] = self.tag_vectors[f"{value} {group}"]
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
    def build(cls, tagsets: list[TagSet], *, mode: str = "onehot", top_k: int = 10,
              tag_vectors: dict[str, list[float]] | None = None) -> "Vocabulary":
        """From the training rows: every group value seen, the top-K other tags."""
        groups = {g: sorted({t.get(g) for t in tagsets if t.get(g)}) for g in GROUP_ORDER}
        groups = {g: v for g, v in groups.items() if v}
        if not groups:
            raise TagError("no hair or eye colour tags found in the tag CSV")
        counts = Counter(e for t in tagsets for e in t.extras)
        other = [tag for tag, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top_k]]
        combo_counts = Counter(tuple(t.get(g) for g in groups) for t in tagsets)
        combos = [{"tags": dict(zip(groups, key)), "count": n}
                  for key, n in sorted(combo_counts.items(), key=lambda kv: kv[0])]
        return cls(groups, sorted(other), mode=mode, combos=combos, tag_vectors=tag_vectors)

    def to_dict(self) -> dict:
        data = {"format_version": FORMAT_VERSION, "mode": self.mode, "dim": self.dim,
                "groups": self.groups, "other_tags": self.other_tags, "combos": self.combos}
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
                raise TagError(f"{path} is not a valid vocabulary (it holds {type(data).__name__}, not an object)")
            for name, kind in FIELD_TYPES.items():
                problem = jsonio.type_problem(name, data[name], kind) if name in data else None
                if problem:
                    raise TagError(f"{path} is not a valid vocabulary: {problem}")
            if data.get("format_version") != FORMAT_VERSION:
                raise TagError(f"{path} has format_version {data.get('format_version')!r}; "
                               f"this toolkit reads version {FORMAT_VERSION}")
            vocab = cls(data["groups"], data.get("other_tags", []), mode=data["mode"],
                        combos=data.get("combos", []), tag_vectors=data.get("tag_vectors"))
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
