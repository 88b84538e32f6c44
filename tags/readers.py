"""Tag CSV readers for the three formats users bring (pandas).

- MLDS-2018: ``id,blue hair red eyes``; image ``<images>/<id>.jpg``.
- MLDS-2017: ``id,tag:count<TAB>tag:count...``; per group the value with the
  highest count wins, a tie skips the row ("ambiguous hair").
- header CSV: an image-path column and a tags column (tags separated by
  commas or semicolons).

Every input row ends up either as a `TagRow` or as a `Skip` with a reason, so
nothing is lost silently. Blank lines are ignored. Only malformed *content*
is skipped; a file that cannot be read at all raises TagError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from common.ids import id_problem
from tags import TagError
from tags.canonical import canonical_tag, group_of, split_tags

FORMATS = ("2018", "2017", "header")
PATH_COLUMNS = ("image", "image_path", "path", "file", "filename", "file_name", "img", "id")
TAG_COLUMNS = ("tags", "tag", "labels", "label", "text")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
_COUNT = re.compile(r"^(.*?):\s*(\d+(?:\.\d+)?)\s*$")


@dataclass
class TagRow:
    row: int  # 1-based line number in the CSV (header = line 1 for header CSVs)
    id: str
    path: str
    values: dict
    extras: tuple = ()


@dataclass
class Skip:
    row: int
    path: str
    reason: str


@dataclass
class ReadResult:
    format: str
    rows: list[TagRow] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)


def _read_text(csv_path: Path) -> str:
    try:
        raw = csv_path.read_bytes()
    except OSError as exc:
        raise TagError(f"cannot read tag CSV {csv_path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def detect_format(text: str) -> str:
    """Guess the format from the first non-blank line."""
    first = next((line for line in text.split("\n") if line.strip()), "")
    if not first:
        raise TagError("the tag CSV is empty")
    head, _, rest = first.partition(",")
    if re.search(r":\s*\d+", rest) and ("\t" in rest or rest.count(":") == 1):
        return "2017"
    fields = [f.strip().strip('"').lower() for f in re.split(r"[,;]", first)]
    if any(f in PATH_COLUMNS[:-1] for f in fields) and any(f in TAG_COLUMNS for f in fields):
        return "header"
    return "2018"


def _lines(text: str) -> pd.DataFrame:
    """Each line as (line number, id, rest) using pandas string splitting."""
    lines = pd.Series(text.split("\n"), dtype="string")
    frame = pd.DataFrame({"line": range(1, len(lines) + 1), "text": lines})
    frame = frame[frame["text"].str.strip() != ""]
    if frame.empty:
        return pd.DataFrame({"line": [], "id": [], "rest": []})
    parts = frame["text"].str.split(",", n=1, expand=True)
    if parts.shape[1] == 1:
        parts[1] = pd.NA
    frame["id"] = parts[0].str.strip()
    frame["rest"] = parts[1]
    return frame


def _image_path(images: Path, image_id: str) -> str:
    base = images / image_id
    if base.suffix.lower() in IMAGE_EXTENSIONS:
        return str(base)
    for ext in IMAGE_EXTENSIONS:
        if (images / f"{image_id}{ext}").exists():
            return str(images / f"{image_id}{ext}")
    return str(images / f"{image_id}.jpg")


def _group_tags(tags: list[str]) -> tuple[dict, list[str], str | None]:
    """Split canonical tags into group values and extras; an error reason if a group repeats."""
    values: dict[str, str] = {}
    extras: list[str] = []
    for tag in tags:
        group, value = group_of(tag)
        if group is None:
            extras.append(tag)
        elif group in values and values[group] != value:
            return values, extras, f"two {group} colours"
        else:
            values[group] = value
    return values, extras, None


def _path_problem(raw_path: str) -> str | None:
    """A header CSV's image path must stay inside the image folder (sub-folders are fine)."""
    parts = raw_path.replace("\\", "/").split("/")
    if raw_path.startswith(("/", "~")) or "\\" in raw_path or ":" in raw_path or ".." in parts:
        return f"unusable image path {raw_path[:40]!r} (a file inside the image folder)"
    return None


def _id_rows(text: str, images: Path, expected: str, extra_columns_ok: bool):
    """(line, id, path, rest, skip reason or None) for the id-first formats."""
    for line, image_id, rest in _lines(text)[["line", "id", "rest"]].itertuples(index=False):
        path = _image_path(images, image_id) if image_id else ""
        if pd.isna(rest) or (not extra_columns_ok and "," in rest):
            yield line, image_id, path, rest, f"wrong column count (expected {expected})"
            continue
        yield line, image_id, path, rest, id_problem(image_id)


def _tag_row(line: int, image_id: str, path: str, raw_tags: list[str]) -> TagRow | Skip:
    tags = [t for t in (canonical_tag(t) for t in raw_tags) if t]
    if not tags:
        return Skip(line, path, "empty tags")
    values, extras, problem = _group_tags(tags)
    if problem:
        return Skip(line, path, problem)
    return TagRow(line, image_id, path, values, tuple(sorted(set(extras))))


def _add(result: ReadResult, item) -> None:
    (result.skipped if isinstance(item, Skip) else result.rows).append(item)


def read_2018(text: str, images: Path) -> ReadResult:
    result = ReadResult("2018")
    for line, image_id, path, rest, bad in _id_rows(text, images, "id,tags", extra_columns_ok=False):
        _add(result, Skip(line, path, bad) if bad else _tag_row(line, image_id, path, split_tags(rest)))
    return result


def read_2017(text: str, images: Path) -> ReadResult:
    result = ReadResult("2017")
    for line, image_id, path, rest, bad in _id_rows(text, images, "id,tag:count...", extra_columns_ok=True):
        if bad:
            result.skipped.append(Skip(line, path, bad))
            continue
        best: dict[str, list[tuple[float, str]]] = {}
        extras: list[str] = []
        malformed = None
        for item in re.split(r"\t+", rest.strip()):
            if not item.strip():
                continue
            match = _COUNT.match(item.strip())
            if not match:
                malformed = f"malformed tag {item.strip()[:40]!r} (expected tag:count)"
                break
            tag = canonical_tag(match.group(1))
            if not tag:
                continue
            group, value = group_of(tag)
            if group is None:
                extras.append(tag)
            else:
                best.setdefault(group, []).append((float(match.group(2)), value))
        if malformed:
            result.skipped.append(Skip(line, path, malformed))
            continue
        values: dict[str, str] = {}
        ambiguous = None
        for group, candidates in best.items():
            candidates = sorted({v: c for c, v in candidates}.items(), key=lambda kv: -kv[1])
            if len(candidates) > 1 and candidates[0][1] == candidates[1][1]:
                ambiguous = f"ambiguous {group}"
                break
            values[group] = candidates[0][0]
        if ambiguous:
            result.skipped.append(Skip(line, path, ambiguous))
            continue
        if not values and not extras:
            result.skipped.append(Skip(line, path, "empty tags"))
            continue
        result.rows.append(TagRow(line, image_id, path, values, tuple(sorted(set(extras)))))
    return result


def read_header(text: str, images: Path) -> ReadResult:
    """Header CSV, parsed with the csv module (quoted fields with commas are common here)."""
    import csv

    result = ReadResult("header")
    numbered = [(i + 1, line) for i, line in enumerate(text.split("\n")) if line.strip()]
    if not numbered:
        raise TagError("the tag CSV is empty")
    try:
        header = next(csv.reader([numbered[0][1]]))
    except csv.Error as exc:
        raise TagError(f"cannot parse the header line of the tag CSV: {exc}") from None
    columns = {c.strip().lower(): i for i, c in enumerate(header)}
    path_col = next((columns[c] for c in PATH_COLUMNS if c in columns), None)
    tag_col = next((columns[c] for c in TAG_COLUMNS if c in columns), None)
    if path_col is None or tag_col is None:
        raise TagError(
            f"header CSV needs an image column ({'/'.join(PATH_COLUMNS)}) and a tags column "
            f"({'/'.join(TAG_COLUMNS)}); found {header}"
        )
    for line, raw in numbered[1:]:
        try:
            fields = next(csv.reader([raw]))
        except csv.Error:
            fields = []
        if len(fields) != len(header):
            result.skipped.append(Skip(line, "", f"wrong column count (expected {len(header)})"))
            continue
        raw_path = fields[path_col].strip()
        path = str(images / raw_path) if raw_path else ""
        if not raw_path:
            result.skipped.append(Skip(line, path, "empty image path"))
            continue
        bad = _path_problem(raw_path) or id_problem(Path(raw_path).stem)
        if bad:
            result.skipped.append(Skip(line, path, bad))
            continue
        _add(result, _tag_row(line, Path(raw_path).stem, path, split_tags(fields[tag_col])))
    return result


READERS = {"2018": read_2018, "2017": read_2017, "header": read_header}


def drop_duplicates(result: ReadResult) -> ReadResult:
    """Keep the first row of every image (same id, same file); later rows of it
    are skipped with a reason, so one image never counts twice or lands on both
    sides of the held-out split."""
    first: dict[str, TagRow] = {}
    kept = []
    for row in result.rows:
        key = str(Path(row.path)) if row.path else row.id
        if key in first:
            result.skipped.append(
                Skip(row.row, row.path, f"duplicate id {row.id[:40]!r} (kept line {first[key].row})")
            )
        else:
            first[key] = row
            kept.append(row)
    result.rows = kept
    result.skipped.sort(key=lambda s: s.row)
    return result


def read_tag_csv(csv_path: str | Path, images: str | Path, tag_format: str = "auto") -> ReadResult:
    """Read a tag CSV in any of the three formats (auto-detected by default)."""
    csv_path, images = Path(csv_path), Path(images)
    text = _read_text(csv_path)
    if tag_format == "auto":
        tag_format = detect_format(text)
    if tag_format not in READERS:
        raise TagError(f"unknown --tag-format {tag_format!r}: use auto, {', '.join(FORMATS)}")
    return drop_duplicates(READERS[tag_format](text, images))


def read_tag_text(text: str, images: str | Path = ".", tag_format: str = "auto") -> ReadResult:
    """Same as read_tag_csv on text already in memory (used by tests and fuzzing)."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if tag_format == "auto":
        tag_format = detect_format(text)
    if tag_format not in READERS:
        raise TagError(f"unknown --tag-format {tag_format!r}: use auto, {', '.join(FORMATS)}")
    return drop_duplicates(READERS[tag_format](text, Path(images)))
