"""Build (or reuse) the cached dataset of a DataSpec: uint8 images, condition vectors,
labels, ids, the held-out split, in one uncompressed .npz (no pickle).

The cache folder is the spec's key (preprocess.spec: the inputs' digest and every setting that decides
the data), so the second run loads in seconds and any change rebuilds. Every row that is left out is
written with its reason to a report CSV beside the cache.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from common import jsonio
from common.files import atomic_path, atomic_write
from preprocess.duplicates import near_duplicate_groups
from preprocess.images import load_image
from preprocess.spec import DUPLICATE_MODES, DataSpec, PreprocessError  # noqa: F401  (the module's errors)
from preprocess.split import stratified_holdout
from tags import TagError
from tags.canonical import GROUP_WORDS, TagSet
from tags.vocab import Vocabulary, describe_left_out, left_out_tags

PROJECT = "tagface"
WORKERS = min(2, os.cpu_count() or 1)  # image-loading processes (a pool only past one chunk of 512 images)


def default_cache_dir() -> Path:
    return Path(os.environ.get("TAGFACE_CACHE") or Path.home() / ".cache" / PROJECT)


@dataclass
class CachedData:
    images: np.ndarray
    conditions: np.ndarray
    labels: np.ndarray
    combo: np.ndarray
    combo_conditions: np.ndarray
    ids: np.ndarray
    paths: np.ndarray
    holdout: np.ndarray
    groups: np.ndarray  # int64 near-duplicate group of each image (its own index with duplicates="ignore")
    tags: np.ndarray  # each image's canonical tag text (fixed-width unicode)
    vocab: Vocabulary
    cache_path: Path
    report_path: Path
    skipped: dict = field(default_factory=dict)  # reason -> count (from the build)
    duplicates: dict = field(default_factory=dict)  # mode, groups, images, dropped (from the build)
    loaded_from_cache: bool = False

    def train_indices(self) -> np.ndarray:
        return np.flatnonzero(~self.holdout)

    def holdout_indices(self) -> np.ndarray:
        return np.flatnonzero(self.holdout)

    def __len__(self) -> int:
        return len(self.images)


def _load_chunk(args):
    paths, size, keep_gray = args
    out = []
    for p in paths:
        img, reason = load_image(p, size, keep_gray)
        out.append((img, reason))
    return out


def _load_all(paths: list[str], size: int, keep_gray: bool, progress: bool, workers: int):
    from tqdm import tqdm

    chunk = 512
    chunks = [(paths[i : i + chunk], size, keep_gray) for i in range(0, len(paths), chunk)]
    results = []
    bar = tqdm(total=len(paths), desc="loading images", unit="img", disable=not progress, file=sys.stderr)
    if workers > 1 and len(chunks) > 1:
        with ProcessPoolExecutor(workers) as pool:
            for part in pool.map(_load_chunk, chunks):
                results.extend(part)
                bar.update(len(part))
    else:
        for c in chunks:
            part = _load_chunk(c)
            results.extend(part)
            bar.update(len(part))
    bar.close()
    return results


def _write_report(path: Path, skips: list[tuple[int, str, str]]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["row", "path", "reason"])
        writer.writerows(sorted(skips))


def _summary(kept: int, skipped: dict, report: Path) -> str:
    total = sum(skipped.values())
    detail = ", ".join(f"{reason} {n}" for reason, n in sorted(skipped.items(), key=lambda kv: -kv[1]))
    return f"kept {kept}, skipped {total}" + (f" ({detail})" if detail else "") + f"; report: {report}"


def _reason_kind(reason: str) -> str:
    """Group reasons for the summary ('unknown tag blue hair' -> 'unknown tag')."""
    for prefix in (
        "unknown tag",
        "unusable id",
        "unusable image path",
        "duplicate id",
        "malformed tag",
        "unreadable image",
        "wrong column count",
        "ambiguous",
        "missing",
        "two ",
    ):
        if reason.startswith(prefix):
            return reason if prefix in ("ambiguous", "two ", "missing") else prefix
    return reason


def build_or_load(spec: DataSpec, *, cache_dir=None, progress: bool = True, log=None) -> CachedData:
    """The cached dataset of `spec`, built if needed, in `cache_dir` (default_cache_dir() if None).
    `log` takes the lines it says (default: stderr)."""
    log = log or (lambda msg: print(msg, file=sys.stderr))
    images, tags_csv, vocab = spec.images, spec.tags_csv, spec.vocab
    folder, spec = _cache_folder(Path(cache_dir) if cache_dir else default_cache_dir(), spec)
    npz, report = folder / "data.npz", folder / "skipped.csv"
    if npz.exists() and (folder / "vocab.json").exists():
        try:
            data = _load(npz, folder, report)
            log(
                f"dataset cache: {npz} ({npz.stat().st_size / 1e6:.0f} MB, {len(data)} images, "
                f"{int(data.holdout.sum())} held out)"
            )
            return data
        except (OSError, ValueError, KeyError, TagError) as exc:
            log(f"dataset cache {npz} is unreadable ({type(exc).__name__}); rebuilding")

    t0 = time.perf_counter()
    rows, skips, csv_format = _read_rows_and_images(spec, progress)
    if rows and vocab is None:
        try:
            vocab = _derive_vocabulary([t for _, _, t in rows], spec.condition_mode, spec.top_k, spec.seed)
        except TagError:  # rows with images but no colour tags: say so in the report too
            _ensure_folder(folder)
            _write_report(report, skips + [(r.row, r.path, "no hair or eye colour tag") for r, _, _ in rows])
            raise
        left_out = describe_left_out(left_out_tags([t for _, _, t in rows], vocab), spec.top_k)
        if left_out:
            log(left_out)
    if rows:
        rows = _in_vocabulary(rows, vocab, skips, spec.strict, tags_csv)
    if not rows:  # blame what the rows really lack (images, ids, tags), with the counts
        _ensure_folder(folder)
        _write_report(report, skips)
        counts = ", ".join(
            f"{reason} {n}" for reason, n in sorted(_reason_counts(skips).items(), key=lambda kv: -kv[1])[:4]
        )
        raise PreprocessError(
            f"no usable images in {tags_csv}: all {len(skips)} rows skipped ({counts}); see {report}"
        )
    rows, groups, twins = _grouped(rows, spec.duplicates)
    arrays = _arrays(rows, vocab, spec.holdout, spec.seed, groups if spec.duplicates == "group" else None)
    counts = _reason_counts(skips)
    found = _duplicate_counts(spec.duplicates, twins)
    _save(
        folder,
        arrays,
        vocab,
        skips,
        twins,
        {
            "images": str(images),
            "tags_csv": str(tags_csv),
            "format": csv_format,
            "settings": spec.settings(),
            "kept": len(rows),
            "skipped": counts,
            "duplicates": found,
            "build_seconds": time.perf_counter() - t0,
        },
    )
    log(_summary(len(rows), counts, report))
    log(duplicate_summary(found, folder / "duplicates.csv"))
    log(
        f"dataset cache: {npz} ({npz.stat().st_size / 1e6:.0f} MB, built in {time.perf_counter() - t0:.1f} s)"
    )
    return CachedData(
        **arrays, vocab=vocab, cache_path=npz, report_path=report, skipped=counts, duplicates=found
    )


def _cache_folder(cache_root: Path, spec: DataSpec) -> tuple[Path, DataSpec]:
    """(cache folder, the spec it is keyed by). A resumed run passes its saved vocabulary: when
    that is the one the data gives anyway, the cache built without it is the same data and is reused."""
    digest = spec.digest()
    if spec.vocab is not None:
        derived = dataclasses.replace(spec, vocab=None)
        try:
            derived_vocab = Vocabulary.load(cache_root / derived.key(digest) / "vocab.json")
            same = derived_vocab.to_dict() == spec.vocab.to_dict()
        except (OSError, ValueError, TagError):
            same = False
        if same:
            spec = derived
    return cache_root / spec.key(digest), spec


def _read_rows_and_images(spec: DataSpec, progress: bool):
    """([(TagRow, uint8 image, TagSet)] of the readable rows, skips [(row, path, reason)], CSV format)."""
    from tags.readers import read_tag_csv

    tags_csv, strict = spec.tags_csv, spec.strict
    result = read_tag_csv(tags_csv, spec.images, spec.tag_format)
    skips = [(s.row, s.path, s.reason) for s in result.skipped]
    if strict and skips:
        row, path, reason = min(skips)
        raise PreprocessError(f"--strict: line {row} of {tags_csv} ({path or 'no path'}): {reason}")
    loaded = _load_all([r.path for r in result.rows], spec.size, spec.keep_grayscale, progress, WORKERS)
    rows = []
    for r, (img, reason) in zip(result.rows, loaded):
        if img is None:
            if strict:
                raise PreprocessError(f"--strict: line {r.row} of {tags_csv} ({r.path}): {reason}")
            skips.append((r.row, r.path, reason))
        else:
            rows.append((r, img, TagSet.make(r.values, r.extras)))
    return rows, skips, result.format


def _derive_vocabulary(tagsets: list[TagSet], condition_mode: str, top_k: int, seed: int) -> Vocabulary:
    """The vocabulary of the rows that give every group (all rows if none does)."""
    complete = [t for t in tagsets if len(t.values) == 2]
    vocab = Vocabulary.build(complete or tagsets, mode="onehot", top_k=top_k)
    if condition_mode != "word2vec":
        return vocab
    from tags.vectors import train_tag_vectors

    vectors, text = train_tag_vectors(complete, vocab.groups, seed=seed)
    w2v = Vocabulary(
        vocab.groups, vocab.other_tags, mode="word2vec", combos=vocab.combos, tag_vectors=vectors
    )
    w2v.word2vec_text = text
    return w2v


def _in_vocabulary(rows, vocab: Vocabulary, skips: list, strict: bool, tags_csv: Path):
    """The rows whose tags the vocabulary knows, with their tag sets in its terms;
    the others go to `skips` (or raise with --strict)."""
    kept = []
    for r, img, t in rows:
        tagset = vocab.tagset(t.as_dict(), t.extras)
        unknown = vocab.contains(tagset)
        if unknown is None:
            kept.append((r, img, tagset))
            continue
        reason = f"missing {unknown[4:-1]}" if unknown.startswith("<no ") else f"unknown tag {unknown}"
        if unknown.startswith("<no "):  # 'chartreuse hair': an unknown colour, not a missing one
            noun = GROUP_WORDS.get(unknown[4:-1], unknown[4:-1])
            guess = [e for e in t.extras if e.endswith(" " + noun) and e not in vocab.other_tags]
            if guess:
                reason = f"unknown tag {guess[0][:40]} (not a known {unknown[4:-1]} colour)"
        if strict:
            raise PreprocessError(f"--strict: line {r.row} of {tags_csv} ({r.path}): {reason}")
        skips.append((r.row, r.path, reason))
    return kept


def _grouped(rows, mode: str):
    """(rows kept, int64 group of each, twins): twins lists (group, row, dropped) for
    every image whose group holds more than one; `drop` keeps each group's first row."""
    if mode == "ignore":
        return rows, np.arange(len(rows), dtype=np.int64), []
    groups = near_duplicate_groups(np.stack([img for _, img, _ in rows]))
    sizes = np.bincount(groups)
    seen: set[int] = set()
    twins, kept = [], []
    for row, g in zip(rows, groups.tolist()):
        dropped = mode == "drop" and g in seen
        seen.add(g)
        if sizes[g] > 1:
            twins.append((g, row[0], dropped))
        if not dropped:
            kept.append((row, g))
    if mode == "drop":
        return [r for r, _ in kept], np.arange(len(kept), dtype=np.int64), twins
    return rows, groups, twins


def _duplicate_counts(mode: str, twins) -> dict:
    return {
        "mode": mode,
        "groups": len({g for g, _, _ in twins}),
        "images": len(twins),
        "dropped": sum(d for _, _, d in twins),
    }


def duplicate_summary(found: dict, report: Path) -> str:
    """One line on the near-duplicates the build found and what it did with them."""
    mode = found.get("mode", "ignore")
    if mode == "ignore":
        return "near-duplicates: not looked for (--duplicates ignore)"
    done = (
        f"{found['dropped']} twins left out, one image per group kept"
        if mode == "drop"
        else "each group kept on one side of the held-out split"
    )
    return (
        f"near-duplicates: {found['images']} images in {found['groups']} groups (the same picture, mirrored "
        f"or re-encoded); {done}; report: {report}"
    )


def _condition_arrays(tagsets: list[TagSet], vocab: Vocabulary) -> dict:
    """conditions, labels, combo (each row's tag combination) and combo_conditions of tag sets in
    `vocab`'s terms, with `strata` (the combination of group values, for the held-out split)."""
    conditions = vocab.conditions(tagsets)
    labels = np.stack([vocab.label_indices(t) for t in tagsets]).astype(np.int32)
    combo_keys = [tuple(t.values) + tuple(t.extras) for t in tagsets]
    unique = sorted(set(combo_keys))
    combo_index = {k: i for i, k in enumerate(unique)}
    combo = np.array([combo_index[k] for k in combo_keys], np.int32)
    first_of_combo = {c: i for i, c in reversed(list(enumerate(combo)))}
    combo_conditions = np.stack([conditions[first_of_combo[i]] for i in range(len(unique))])
    strata = np.array(
        [
            combo_index[tuple(t.values)] if tuple(t.values) in combo_index else c
            for t, c in zip(tagsets, combo)
        ]
    )
    return dict(
        conditions=conditions, labels=labels, combo=combo, combo_conditions=combo_conditions, strata=strata
    )


def _arrays(rows, vocab: Vocabulary, holdout: float, seed: int, groups: np.ndarray | None) -> dict:
    """The CachedData arrays of the kept rows, with the stratified held-out split
    (each near-duplicate group on one side, when `groups` is given)."""
    tagsets = [t for _, _, t in rows]
    arrays = _condition_arrays(tagsets, vocab)
    strata = arrays.pop("strata")
    return dict(
        images=np.stack([img for _, img, _ in rows]),
        **arrays,
        ids=np.array([r.id for r, _, _ in rows], dtype=np.str_),
        tags=np.array([t.text for t in tagsets], dtype=np.str_),
        paths=np.array([r.path for r, _, _ in rows], dtype=np.str_),
        holdout=stratified_holdout(strata, holdout, seed, groups),
        groups=np.arange(len(rows), dtype=np.int64) if groups is None else groups.astype(np.int64),
    )


def with_vocabulary(data: CachedData, vocab: Vocabulary) -> CachedData:
    """The same images and split with their tags in `vocab`'s terms (a fine-tuning run's grown
    vocabulary: a superset of the data's own, so no row is lost). Built from each image's recorded
    tag text, without decoding an image again."""
    from tags.parser import parse

    queries = [parse(text, vocab) for text in data.tags.tolist()]  # TagError on a tag vocab lacks
    tagsets = [vocab.tagset(q.values, q.extras) for q in queries]
    arrays = _condition_arrays(tagsets, vocab)
    arrays.pop("strata")
    return dataclasses.replace(data, **arrays, vocab=vocab)


def _reason_counts(skips) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, _, reason in skips:
        counts[_reason_kind(reason)] = counts.get(_reason_kind(reason), 0) + 1
    return counts


def _save(folder: Path, arrays: dict, vocab: Vocabulary, skips, twins, meta: dict) -> None:
    """data.npz, vocab.json, skipped.csv, duplicates.csv, split.csv and meta.json into
    the cache folder. (Two runs may build the same cache at once: every write is atomic.)"""
    _ensure_folder(folder)
    try:
        _write_report(folder / "skipped.csv", skips)
        _write_duplicates(folder / "duplicates.csv", twins, arrays)
        _write_split(folder / "split.csv", arrays["ids"], arrays["holdout"])
        atomic_write(folder / "meta.json", jsonio.dumps(meta, indent=1))
        vocab.save(folder / "vocab.json")
        with atomic_path(folder / "data.npz", suffix=".npz") as tmp:  # last: a cache is whole or absent
            np.savez(tmp, **arrays)
    except OSError as exc:
        (folder / "vocab.json").unlink(missing_ok=True)
        raise PreprocessError(
            f"cannot write the dataset cache in {folder}: {exc.strerror or exc}; free space "
            "or choose another cache folder (--cache-dir or TAGFACE_CACHE)"
        ) from None


def _ensure_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PreprocessError(
            f"cannot create the cache folder {folder}: {exc.strerror or exc}; "
            "set --cache-dir or TAGFACE_CACHE"
        ) from None


def _write_duplicates(path: Path, twins, arrays: dict) -> None:
    """group,id,path,split (train, holdout or dropped) of every image that has a twin."""
    side = dict(zip(arrays["ids"].tolist(), np.where(arrays["holdout"], "holdout", "train").tolist()))
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["group", "id", "path", "split"])
        writer.writerows(
            (g, r.id, r.path, "dropped" if dropped else side[r.id])
            for g, r, dropped in sorted(twins, key=lambda t: (t[0], t[1].row))
        )


def _write_split(path: Path, ids: np.ndarray, held: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["id", "split"])
        writer.writerows((i, "holdout" if h else "train") for i, h in zip(ids, held))


def _load(npz: Path, folder: Path, report: Path) -> CachedData:
    vocab = Vocabulary.load(folder / "vocab.json")
    w2v = folder / "word2vec.txt"
    if w2v.exists():
        vocab.word2vec_text = w2v.read_text()
    with np.load(npz, allow_pickle=False) as f:
        arrays = {
            k: f[k]
            for k in (
                "images",
                "conditions",
                "labels",
                "combo",
                "combo_conditions",
                "ids",
                "paths",
                "holdout",
                "groups",
                "tags",
            )
        }
    meta = json.loads((folder / "meta.json").read_text()) if (folder / "meta.json").exists() else {}
    return CachedData(
        **arrays,
        vocab=vocab,
        cache_path=npz,
        report_path=report,
        skipped=meta.get("skipped", {}),
        duplicates=meta.get("duplicates", {}),
        loaded_from_cache=True,
    )
