"""Canonical tag text: one spelling for every way users and CSVs write a tag.

"Blue Hair, RED eyes", "red eyes blue hair" and "blue  hair red eye" all
become the tag pair ("blue hair", "red eyes"). Grouped tags are
"<value> hair" and "<value> eyes"; anything else is an "other" tag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from common.ids import safe_name

GROUP_WORDS = {"hair": "hair", "eyes": "eyes"}  # group name -> the noun that marks it
NOUN_ALIASES = {"eye": "eyes", "eyes": "eyes", "hair": "hair", "hairs": "hair"}
VALUE_ALIASES = {"blond": "blonde", "grey": "gray", "golden": "blonde"}
_SPLIT = re.compile(r"[,;/|\t\n\r+&]+|\band\b")


def normalise_words(text: str) -> list[str]:
    """Lower case, punctuation to spaces, aliases applied ('grey' -> 'gray')."""
    text = text.replace("\ufeff", "").lower()
    text = re.sub(r"[_\-]", " ", text)
    text = _SPLIT.sub(" , ", text)
    words = re.findall(r"[a-z0-9']+|,", text)
    return [VALUE_ALIASES.get(w, NOUN_ALIASES.get(w, w)) for w in words]


def split_tags(text: str) -> list[str]:
    """Free text -> tag strings, each ending at a group noun or a comma.

    "blue hair red eyes" -> ["blue hair", "red eyes"];
    "long hair, smile" -> ["long hair", "smile"].
    """
    tags, current = [], []
    for word in normalise_words(text):
        if word == ",":
            if current:
                tags.append(" ".join(current))
            current = []
            continue
        current.append(word)
        if word in GROUP_WORDS.values():
            tags.append(" ".join(current))
            current = []
    if current:
        tags.append(" ".join(current))
    return tags


def canonical_tag(tag: str) -> str:
    """One tag's canonical spelling ('Blond  Hair' -> 'blonde hair')."""
    return " ".join(w for w in normalise_words(tag) if w != ",")


# Colour words a group value may be: "long hair" and "closed eyes" are other tags.
COLOUR_WORDS = {
    "aqua",
    "black",
    "blonde",
    "blue",
    "brown",
    "gray",
    "green",
    "orange",
    "pink",
    "purple",
    "red",
    "white",
    "yellow",
    "silver",
    "cyan",
    "teal",
    "violet",
    "magenta",
    "gold",
    "grey",
    "light",
    "dark",
    "multicolored",
    "rainbow",
    "heterochromia",
    "lavender",
    "beige",
    "cream",
}


def is_colour(value: str) -> bool:
    return bool(value) and all(w in COLOUR_WORDS for w in value.split())


def group_of(tag: str) -> tuple[str | None, str]:
    """('hair', 'blue') for 'blue hair'; (None, tag) for an other tag such as
    'long hair' (a group value must be made of colour words)."""
    words = tag.split()
    if len(words) >= 2 and is_colour(" ".join(words[:-1])):
        for group, noun in GROUP_WORDS.items():
            if words[-1] == noun:
                return group, " ".join(words[:-1])
    return None, tag


def file_stem(canonical_text: str) -> str:
    """The one file name of a canonical tag text, by the one file-name rule (common.ids.safe_name):
    'blue hair red eyes' -> 'blue_hair_red_eyes' (generate.py's grids, sweeps and interpolations; the
    studio's downloads)."""
    return safe_name(canonical_text.replace(" ", "_"), "tags")


@dataclass(frozen=True)
class TagSet:
    """One image's canonical tags: a value per group plus other tags."""

    values: tuple[tuple[str, str], ...]
    extras: tuple[str, ...] = ()

    @classmethod
    def make(cls, values: dict[str, str], extras=(), group_order=("hair", "eyes")) -> "TagSet":
        order = {g: i for i, g in enumerate(group_order)}
        items = sorted(values.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
        return cls(tuple(items), tuple(sorted(set(extras))))

    def get(self, group: str) -> str | None:
        return dict(self.values).get(group)

    def as_dict(self) -> dict[str, str]:
        return dict(self.values)

    @property
    def text(self) -> str:
        parts = [f"{value} {GROUP_WORDS.get(group, group)}" for group, value in self.values]
        return " ".join(parts + list(self.extras))

    @property
    def file_stem(self) -> str:
        """The file name of these tags, the same for every spelling of them."""
        return file_stem(self.text)

    def __str__(self) -> str:
        return self.text
