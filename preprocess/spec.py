"""DataSpec: everything that decides a cached dataset, as one frozen value checked once when built.

The cache folder is named by `key()`: a hash of the inputs' digest (the CSV's bytes, the image folder's
listing) and the settings below, so a second run with the same spec loads in seconds and any change
rebuilds. Where the data goes (the cache folder), progress bars and log lines are not part of it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from model.config import RANGES, SEED_MAX, TrainConfig
from tags import TagError
from tags.vocab import MIN_TAG_IMAGES, Vocabulary

CACHE_VERSION = 3  # 2: images decoded through Pillow (CMYK, palettes with transparency, EXIF orientation);
# 3: near-duplicate groups (the `groups` array, duplicates.csv, a split that keeps each group on one side),
# each image's canonical tag text (`tags`, recorded in a run's data.csv)
DUPLICATE_MODES = {
    "group": "each group of near-duplicates (the same picture, mirrored or re-encoded) stays on one side of "
    "the held-out split",
    "drop": "one image of each group is kept, its twins are left out",
    "ignore": "no search for near-duplicates; the split is random by id (runs before this setting)",
}


class PreprocessError(TagError):
    """Preprocessing cannot go on (e.g. --strict and a row was skipped, no images left)."""


@dataclass(frozen=True)
class DataSpec:
    """The images and tag CSV, and every setting the cached arrays depend on. `vocab`: the vocabulary
    the rows are read in (a resumed run's or a model's); None derives it from the data (condition_mode,
    top_k, and MIN_TAG_IMAGES, which the key includes too)."""

    images: Path
    tags_csv: Path
    tag_format: str = "auto"
    size: int = 64
    holdout: float = 0.1
    strict: bool = False
    vocab: Vocabulary | None = None
    condition_mode: str = "onehot"
    top_k: int = TrainConfig.top_k  # the training default, so a cache built alone is the one a run finds
    seed: int = 0
    keep_grayscale: bool = False
    duplicates: str = "group"

    def __post_init__(self):
        object.__setattr__(self, "images", Path(self.images))
        object.__setattr__(self, "tags_csv", Path(self.tags_csv))
        if not self.images.is_dir():
            raise PreprocessError(f"image folder {self.images} does not exist (--images)")
        if not self.tags_csv.is_file():
            raise PreprocessError(f"tag CSV {self.tags_csv} does not exist (--tags-csv)")
        if not 0.0 <= self.holdout < 1.0:
            raise PreprocessError(f"--holdout must be in [0, 1), not {self.holdout}")
        if not 8 <= self.size <= 1024:
            raise PreprocessError(f"--size must be between 8 and 1024, not {self.size}")
        low, high = RANGES["top_k"]  # TrainConfig's range table
        if not 0 <= self.seed <= SEED_MAX or not low <= self.top_k <= high:
            raise PreprocessError(
                f"--seed must be between 0 and {SEED_MAX} and --top-k between {low} and "
                f"{high}, not {str(self.seed)[:20]} and {str(self.top_k)[:20]}"
            )
        if self.duplicates not in DUPLICATE_MODES:
            raise PreprocessError(
                f"--duplicates must be {', '.join(DUPLICATE_MODES)}, not {str(self.duplicates)[:20]!r}"
            )

    @classmethod
    def from_config(cls, config: TrainConfig, vocab: Vocabulary | None = None, **changes) -> DataSpec:
        """The data a run with `config` trains on, in `vocab`'s terms when given; `changes` replace
        fields (e.g. the images and CSV a model is evaluated on)."""
        fields = dict(
            images=config.images,
            tags_csv=config.tags_csv,
            tag_format=config.tag_format,
            size=config.image_size,
            holdout=config.holdout,
            vocab=vocab,
            condition_mode=config.condition_mode,
            top_k=config.top_k,
            seed=config.seed,
            duplicates=config.duplicates,
        )
        return cls(**fields | changes)

    def settings(self) -> dict:
        """The settings the key hashes (the names and values of the caches written before DataSpec)."""
        return {
            "version": CACHE_VERSION,
            "format": self.tag_format,
            "size": self.size,
            "holdout": self.holdout,
            "mode": self.condition_mode,
            "top_k": self.top_k,
            "seed": self.seed,
            "keep_gray": self.keep_grayscale,
            "strict": self.strict,
            "duplicates": self.duplicates,
            "vocab": self.vocab.to_dict() if self.vocab else None,
            "min_tag_images": MIN_TAG_IMAGES,
        }

    def digest(self) -> str:
        """Fingerprint of the inputs as they are now: the CSV's bytes and the image folder listing."""
        return data_digest(self.images, self.tags_csv)

    def key(self, digest: str | None = None) -> str:
        """The cache folder's name: the inputs' digest (read now unless given) and the settings."""
        return cache_key(digest or self.digest(), self.settings())


def _listing_digest(images: Path) -> str:
    h = hashlib.sha256()
    try:
        entries = sorted(os.scandir(images), key=lambda e: e.name)
    except OSError as exc:
        raise PreprocessError(f"cannot read the image folder {images}: {exc.strerror or exc}") from None
    for entry in entries:
        try:
            st = entry.stat()
        except OSError:
            continue
        h.update(f"{entry.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def data_digest(images: Path, tags_csv: Path) -> str:
    """Fingerprint of the inputs: the CSV's bytes and the image folder listing."""
    h = hashlib.sha256()
    h.update(tags_csv.read_bytes())
    h.update(_listing_digest(images).encode())
    return h.hexdigest()


def cache_key(digest: str, settings: dict) -> str:
    """Cache folder name for a data_digest and the build settings."""
    return hashlib.sha256((digest + json.dumps(settings, sort_keys=True)).encode()).hexdigest()[:20]
