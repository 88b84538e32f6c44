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
from tags.canonical import GROUP_WORDS, TagSet, canonical_tag, file_stem, group_of, is_colour, normalise_words
from tags.vocab import Vocabulary


@dataclass(frozen=True)
class Query:
    """The groups and other tags a user asked for (some groups may be missing)."""

    values: dict
    extras: tuple[str, ...]

    @property
    def text(self) -> str:
        """The canonical text of the tags asked for (a TagSet's text: groups in the vocabulary's order)."""
        return TagSet.make(self.values, self.extras, tuple(self.values)).text

    @property
    def file_stem(self) -> str:
        """The file name of the tags asked for ("Red Eyes, Blue Hair" -> blue_hair_red_eyes)."""
        return file_stem(self.text)


def _closest(tag: str, vocab: Vocabulary) -> str:
    """The known tags closest to `tag` by spelling (difflib's ratio), best first;
    a grouped tag ('rainbow hair') is compared with its group's tags."""
    known = vocab.all_tags()
    group, _ = group_of(tag)
    pool = [t for t in known if group and t.endswith(" " + group)] or known
    ranked = sorted(pool, key=lambda t: -difflib.SequenceMatcher(None, tag, t).ratio())
    return ", ".join(ranked[:4])


def _unknown(tag: str, vocab: Vocabulary) -> TagError:
    return TagError(f"unknown tag '{tag}'; closest known tags: {_closest(tag, vocab)}")


def _chunks(text: str) -> list[tuple[str, bool]]:
    """Tag strings as split_tags cuts them, each with whether it follows a tag
    directly (no comma between): 'blue hair red eyes glasses smile' ->
    [('blue hair', False), ('red eyes', True), ('glasses smile', True)]."""
    chunks, current, after_tag = [], [], False
    for word in normalise_words(text):
        if word == ",":
            if current:
                chunks.append((" ".join(current), after_tag))
            current, after_tag = [], False
            continue
        current.append(word)
        if word in GROUP_WORDS.values():
            chunks.append((" ".join(current), after_tag))
            current, after_tag = [], True
    if current:
        chunks.append((" ".join(current), after_tag))
    return chunks


def _pieces(tag: str, vocab: Vocabulary, by_word: bool) -> list[str]:
    """A chunk of text that is not one known tag, cut into known tags: a colour
    tag at its end ('glasses blue hair' -> 'glasses', 'blue hair'), then the
    longest known other tag at each word. Words that follow a tag without a
    comma (`by_word`) are named one by one when unknown ('blue hair red eyes
    glasses smile': unknown tag 'glasses'); a chunk of its own is named whole
    ('long nose')."""
    words = tag.split()
    tail: list[str] = []
    if len(words) > 1 and words[-1] in GROUP_WORDS.values():
        for start in range(1, len(words) - 1):
            if group_of(" ".join(words[start:]))[0] is not None:
                words, tail = words[:start], [" ".join(words[start:])]
                break
    pieces, i = [], 0
    while i < len(words):
        for j in range(len(words), i, -1):
            if " ".join(words[i:j]) in vocab.other_tags:
                pieces.append(" ".join(words[i:j]))
                i = j
                break
        else:
            if not by_word and not tail:
                raise _unknown(tag, vocab)
            # a colour and the next word ('red eyez'), or a word and the group noun after it ('bleu hair'),
            # are one misspelt tag; any other word stands alone
            pair = i + 1 < len(words) and (is_colour(words[i]) or words[i + 1] in GROUP_WORDS.values())
            unknown = " ".join(words[i : i + 2]) if pair else words[i]
            raise _unknown(unknown, vocab)
    return pieces + tail


def parse(text: str, vocab: Vocabulary) -> Query:
    """Parse free text such as "Blue Hair, red eyes". Raises TagError."""
    if text is None or not str(text).strip():
        raise TagError(
            'empty tag text: give tags such as "blue hair red eyes" '
            "(python -m tags --list-tags shows the valid tags)"
        )
    values: dict[str, str] = {}
    extras: list[str] = []
    tags: list[str] = []
    for raw, after_tag in _chunks(str(text)):
        tag = canonical_tag(raw)
        if not tag:
            continue
        group, _ = group_of(tag)
        known = (group is not None and group in vocab.groups) or tag in vocab.other_tags
        tags.extend([tag] if known else _pieces(tag, vocab, after_tag))
    for tag in tags:
        group, value = group_of(tag)
        if group is not None and group in vocab.groups:
            if value not in vocab.groups[group]:
                raise _unknown(tag, vocab)
            if group in values and values[group] != value:
                raise TagError(
                    f"two {group} colours given ('{values[group]} {group}' and '{tag}'); "
                    f"give one {group} colour"
                )
            values[group] = value
        elif tag in vocab.other_tags:
            if tag not in extras:
                extras.append(tag)
        else:
            raise _unknown(tag, vocab)
    if not values and not extras:
        raise TagError(f'no tags found in {text!r}: give tags such as "blue hair red eyes"')
    order = list(vocab.groups)
    values = {g: values[g] for g in order if g in values}
    return Query(values, tuple(sorted(extras)))


def complete(query: Query, vocab: Vocabulary, rng: np.random.Generator, n: int) -> list[TagSet]:
    """n tag sets: the query's groups fixed, missing groups sampled per image
    from the training frequencies of combos agreeing with the given groups."""
    missing = [g for g in vocab.groups if g not in query.values]
    if not missing:
        return [vocab.tagset(query.values, query.extras)] * n
    matching = [c for c in vocab.combos if all(c["tags"].get(g) == v for g, v in query.values.items())]
    if not matching:
        raise TagError(
            f"'{query.text}' never occurs in the training data, so the missing "
            f"{' and '.join(missing)} cannot be drawn from it; give all groups"
        )
    weights = np.array([c["count"] for c in matching], float)
    picks = rng.choice(len(matching), size=n, p=weights / weights.sum())
    return [
        vocab.tagset({**query.values, **{g: matching[i]["tags"][g] for g in missing}}, query.extras)
        for i in picks
    ]
