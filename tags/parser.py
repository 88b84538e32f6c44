"""What users type -> canonical tags, with errors written for them.

`parse` checks the text against a model's vocabulary; `complete` fills a
group the user left out, per image, by sampling the training data's
frequencies of that group given the groups that were given.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np

from tags import TagError
from tags.canonical import TagSet, canonical_tag, group_of, split_tags
from tags.vocab import Vocabulary


@dataclass(frozen=True)
class Query:
    """The groups and other tags a user asked for (some groups may be missing)."""

    values: dict
    extras: tuple[str, ...]

    @property
    def text(self) -> str:
        parts = [f"{v} {g}" for g, v in self.values.items()] + list(self.extras)
        return " ".join(parts)


def _closest(tag: str, vocab: Vocabulary) -> str:
    known = vocab.all_tags()
    close = difflib.get_close_matches(tag, known, n=4, cutoff=0.5)
    if not close:
        group, _ = group_of(tag)
        close = [t for t in known if group and t.endswith(" " + group)][:6]
    return ", ".join(close) if close else ", ".join(known[:6])


def parse(text: str, vocab: Vocabulary) -> Query:
    """Parse free text such as "Blue Hair, red eyes". Raises TagError."""
    if text is None or not str(text).strip():
        raise TagError("empty tag text: give tags such as \"blue hair red eyes\" "
                       "(python -m tags --list shows the valid tags)")
    values: dict[str, str] = {}
    extras: list[str] = []
    for raw in split_tags(str(text)):
        tag = canonical_tag(raw)
        if not tag:
            continue
        group, value = group_of(tag)
        if group is not None and group in vocab.groups:
            if value not in vocab.groups[group]:
                raise TagError(f"unknown tag '{tag}'; closest known tags: {_closest(tag, vocab)}")
            if group in values and values[group] != value:
                raise TagError(f"two {group} colours given ('{values[group]} {group}' and '{tag}'); "
                               f"give one {group} colour")
            values[group] = value
        elif tag in vocab.other_tags:
            if tag not in extras:
                extras.append(tag)
        else:
            raise TagError(f"unknown tag '{tag}'; closest known tags: {_closest(tag, vocab)}")
    if not values and not extras:
        raise TagError(f"no tags found in {text!r}: give tags such as \"blue hair red eyes\"")
    order = list(vocab.groups)
    values = {g: values[g] for g in order if g in values}
    return Query(values, tuple(sorted(extras)))


def complete(query: Query, vocab: Vocabulary, rng: np.random.Generator, n: int) -> list[TagSet]:
    """n tag sets: the query's groups fixed, missing groups sampled per image
    from the training frequencies of combos agreeing with the given groups."""
    missing = [g for g in vocab.groups if g not in query.values]
    if not missing:
        return [vocab.tagset(query.values, query.extras)] * n
    matching = [c for c in vocab.combos
                if all(c["tags"].get(g) == v for g, v in query.values.items())]
    if not matching:
        raise TagError(f"'{query.text}' never occurs in the training data, so the missing "
                       f"{' and '.join(missing)} cannot be drawn from it; give all groups")
    weights = np.array([c["count"] for c in matching], float)
    picks = rng.choice(len(matching), size=n, p=weights / weights.sum())
    return [vocab.tagset({**query.values, **{g: matching[i]["tags"][g] for g in missing}}, query.extras)
            for i in picks]
