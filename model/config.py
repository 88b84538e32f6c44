"""The one configuration dataclass, saved as config.json beside every checkpoint.

A model is always reloaded with the settings it was trained with, so every
knob that changes the networks, the losses or the data lives here. Imports
only the standard library: the fast generation path reads this file too.
"""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

FORMAT_VERSION = 1
CONFIG_NAME = "config.json"


class ConfigError(ValueError):
    """A config.json that cannot be used (wrong version, unknown keys, bad values)."""


# Settings added after format 1 was fixed: a config.json written before them
# means they were off, whatever today's default is (so old runs resume as they were).
LEGACY_VALUES = {"projection_weight": 0.0, "augment": "", "wrong_warmup": 0, "ema_decay": 0.0, "lr_d": 0.0}


@dataclass
class TrainConfig:
    # --- data -------------------------------------------------------------
    images: str = ""
    tags_csv: str = ""
    tag_format: str = "auto"
    holdout: float = 0.1
    condition_mode: str = "onehot"  # onehot | word2vec
    top_k: int = 10
    cache_dir: str = ""
    cond_dim: int = 0  # filled from the vocabulary when training starts

    # --- networks (Berthelot et al. 2017) ---------------------------------
    image_size: int = 64
    filters: int = 32
    repeats: int = 2
    nz: int = 64  # Nz = Nh
    embed_dim: int = 16
    skip: bool = False
    vanishing_residual: bool = False
    vanishing_steps: int = 16000
    cond_every_scale: bool = True  # condition map enters every decoder scale
    cond_augment: bool = False  # StackGAN conditioning augmentation
    ca_kl_weight: float = 0.01

    # --- losses and control -----------------------------------------------
    gamma: float = 0.5
    lambda_k: float = 0.001
    wrong_weight: str = "1.0"  # a fixed weight, or "k" to reuse k_t
    wrong_cap: float = 1.5
    oob_weight: float = 1.0
    aux_weight: float = 0.2  # auxiliary tag head on D's encoder (0 = off)
    diversity_weight: float = 0.05  # mode-seeking term against z being ignored (0 = off)
    filter_sd: float = 2.0
    projection_weight: float = 0.0  # hinge projection head on D's encoder (0 = off)
    augment: str = ""  # DiffAugment on everything D sees: "", "translation", "translation,cutout"
    wrong_warmup: int = 0  # steps over which the wrong-condition weight ramps 0 -> its value
    ema_decay: float = 0.999  # moving average of G's weights for samples/eval/export (0 = off)

    # --- optimisation -----------------------------------------------------
    batch_size: int = 16
    lr: float = 2e-4
    lr_d: float = 0.0  # D's own rate (TTUR); 0 = the same as lr
    lr_floor: float = 2e-5
    lr_window: int = 1000
    lr_patience: int = 3
    beta1: float = 0.5
    epochs: int = 10
    steps: int = 0  # >0: stop at this global step instead of after `epochs`
    seed: int = 0
    precision: str = "auto"  # auto | fp32 | bf16
    strategy: str = "default"  # default | mirrored | multiworker

    # --- logging / checkpoints --------------------------------------------
    sample_every: int = 0  # steps between extra sample grids (0: once per epoch)
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    log_every: int = 10
    eval_every: int = 0
    checker: str = ""  # tag checker folder for --eval-every

    format_version: int = FORMAT_VERSION
    extra: dict = field(default_factory=dict)

    # ----------------------------------------------------------------------
    def validate(self) -> "TrainConfig":
        if self.image_size not in (32, 64, 128):
            raise ConfigError(f"image_size must be 32, 64 or 128, not {self.image_size}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ConfigError(f"gamma must be in [0, 1], not {self.gamma}")
        if self.wrong_weight != "k":
            try:
                float(self.wrong_weight)
            except ValueError:
                raise ConfigError(
                    f"wrong_weight must be a number or 'k', not {self.wrong_weight!r}"
                ) from None
        if self.condition_mode not in ("onehot", "word2vec"):
            raise ConfigError(f"condition_mode must be onehot or word2vec, not {self.condition_mode!r}")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise ConfigError(f"precision must be auto, fp32 or bf16, not {self.precision!r}")
        if self.strategy not in ("default", "mirrored", "multiworker"):
            raise ConfigError(f"strategy must be default, mirrored or multiworker, not {self.strategy!r}")
        for name in ("filters", "repeats", "nz", "embed_dim", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, not {getattr(self, name)}")
        if self.eval_every and not self.checker:
            raise ConfigError("--eval-every needs --checker (a tag checker folder, e.g. models/default)")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(f"ema_decay must be in [0, 1), not {self.ema_decay}")
        unknown_aug = set(filter(None, self.augment.split(","))) - {"translation", "cutout"}
        if unknown_aug:
            raise ConfigError(f"augment takes translation and/or cutout, not {sorted(unknown_aug)}")
        if self.lr_d < 0 or self.wrong_warmup < 0 or self.projection_weight < 0:
            raise ConfigError("lr_d, wrong_warmup and projection_weight must be >= 0")
        if self.lr_floor > self.lr:
            raise ConfigError(f"lr_floor ({self.lr_floor}) is above lr ({self.lr})")
        return self

    @property
    def levels(self) -> int:
        """Number of up/down-sampling steps between 8x8 and the image size."""
        return {32: 2, 64: 3, 128: 4}[self.image_size]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        if not isinstance(data, dict):
            raise ConfigError("config.json does not hold a JSON object")
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise ConfigError(
                f"config.json has format_version {version!r}; this toolkit reads "
                f"version {FORMAT_VERSION}. Retrain or export the model with this version."
            )
        data = {**LEGACY_VALUES, **data}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"config.json has unknown settings {unknown}")
        try:
            return cls(**data).validate()
        except TypeError as exc:  # pragma: no cover - defensive
            raise ConfigError(f"config.json is malformed: {exc}") from None

    def save(self, directory: str | os.PathLike) -> Path:
        """Write config.json atomically (temp file + rename)."""
        path = Path(directory) / CONFIG_NAME
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, directory: str | os.PathLike) -> "TrainConfig":
        path = Path(directory)
        if path.suffix != ".json":
            path = path / CONFIG_NAME
        if not path.exists():
            raise ConfigError(f"{path.parent} is not a run directory or exported model (no {CONFIG_NAME})")
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path} is not valid JSON ({exc})") from None
        return cls.from_dict(data)
