"""The one rule for ids, in every format (the three tag-CSV formats, generate.py's
tags files, the names of files the tools write): letters in any script (with
their accents), digits, `_ . -` and inner spaces; never a path (no `/` or `\\`,
no `..`, no leading dot or space), at most MAX_ID characters.
"""

from __future__ import annotations

import re
import unicodedata

MAX_ID = 200
_PUNCTUATION = "_.-"
RULE_WORDS = "letters in any script, digits, _ . -"


def _allowed(ch: str) -> bool:
    return (
        ch in _PUNCTUATION
        or ch == " "
        or unicodedata.category(ch)[0] in "LMN"
        and unicodedata.category(ch) not in ("Nl", "No")
    )


def id_problem(image_id: str) -> str | None:
    """Why `image_id` breaks the rule (a reason fit for skipped.csv), or None."""
    if not image_id:
        return "empty id"
    text = unicodedata.normalize("NFC", image_id)
    if (
        len(text) > MAX_ID
        or not all(map(_allowed, text))
        or ".." in text
        or text[0] in ". -"
        or text[-1] == " "
        or unicodedata.category(text[0])[0] not in "LN"
        and text[0] != "_"
    ):
        return f"unusable id {image_id[:40]!r} (an image file name: {RULE_WORDS})"
    return None


def safe_name(raw: str, fallback: str, limit: int = 80) -> str:
    """`raw` (an id, tag text, a model folder's name) made to follow the rule, for a file
    name: '../../x' -> 'x', 'café 1' -> 'café_1' (each run of characters outside the rule,
    spaces included, becomes one _; a run of dots too); `fallback` when nothing usable is left."""
    text = unicodedata.normalize("NFC", str(raw).strip())
    marked = "".join(ch if _allowed(ch) and ch != " " else "\0" for ch in text)
    cleaned = re.sub(r"\.{2,}", "_", re.sub("\0+", "_", marked).strip("._-"))[:limit].strip("._-")
    return cleaned if cleaned and id_problem(cleaned) is None else fallback


def safe_id(raw: str, line: int, limit: int = 64) -> str:
    """A tags file's id as a file name (safe_name); nothing usable -> 'line<N>'."""
    return safe_name(raw, f"line{line}", limit)
