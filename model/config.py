"""The one configuration dataclass, saved as config.json beside every checkpoint.

A model is always reloaded with the settings it was trained with, so every
knob that changes the networks, the losses or the data lives here. Imports
only the standard library: the fast generation path reads this file too.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from common import jsonio
from common.cli import UserError, number
from common.files import atomic_write

FORMAT_VERSION = 1
CONFIG_NAME = "config.json"


SEED_MAX = 2**32 - 1  # numpy and Keras seeds
# A fine-tune's pull on the new other tags unless given: fixed (0: --other-tag-weight whatever k_t). There k_t
# falls from the source's 0.12 towards 0.01 as the new tags are learnt, and a pull under k_t faded with it
# (dark background and hat 1.6x and 1.3x as often when asked on the marks set, against 2.7-3.2x fixed).
FINE_TUNE_OTHER_TAG_PULL = 0.0
ALL_STEPS = 10**12  # --probe-steps: every step of a run (the same bound as --steps)

# The range of every numeric setting: (lowest, highest), None = open. The one range table: every
# TrainConfig made is checked with it (the flags before any work, every config.json read), and no
# other check repeats a range (TrainConfig.validate keeps only the rules a range cannot express).
RANGES = {
    "holdout": (0.0, 0.99),
    "top_k": (0, 1000),
    "filters": (1, 1024),
    "repeats": (1, 16),
    "nz": (1, 4096),
    "embed_dim": (1, 4096),
    "vanishing_steps": (1, None),
    "ca_kl_weight": (0.0, None),
    "gamma": (0.0, 1.0),
    "small_data_gamma": (0.0, 1.0),
    "lambda_k": (0.0, 1.0),
    "wrong_cap": (0.0, None),
    "oob_weight": (0.0, None),
    "aux_weight": (0.0, None),
    "diversity_weight": (0.0, None),
    "filter_sd": (0.0, None),
    "projection_weight": (0.0, None),
    "wrong_warmup": (0, None),
    "head_warmup": (0, None),
    "g_recon_weight": (0.0, None),
    "ema_decay": (0.0, 0.999999),
    "ada_target": (0.0, None),
    "other_tag_weight": (0.0, None),
    "other_tag_pull": (0.0, None),
    "anchor_weight": (0.0, None),
    "head_floor": (0.0, 1.0),
    "batch_size": (1, 65536),
    "lr": (1e-12, 1.0),
    "lr_d": (0.0, 1.0),
    "lr_floor": (0.0, 1.0),
    "probe_steps": (0, None),
    "probe_lr_scale": (0.0, 10_000.0),
    "probe_body_lr_scale": (0.0, 1.0),
    "lr_window": (1, None),
    "lr_patience": (1, None),
    "beta1": (0.0, 0.999999),
    "epochs": (0, 1_000_000),
    "steps": (0, 10**12),
    "seed": (0, SEED_MAX),
    "sample_every": (0, None),
    "checkpoint_every": (1, None),
    "keep_checkpoints": (1, 10_000),
    "log_every": (1, None),
    "eval_every": (0, None),
    "cond_dim": (0, None),
    "format_version": (0, None),
}
_TYPES = {"int": int, "float": float, "str": str, "bool": bool, "dict": dict}


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _range_words(low, high) -> str:
    if high is None:
        return f">= {low}"
    if low is None:
        return f"<= {high}"
    return f"between {low} and {high}"


class ConfigError(UserError):
    """A config.json that cannot be used (wrong version, unknown keys, bad values)."""


# Flag groups of train.py --help, in this order.
DATA, NETWORK, LOSSES, OPTIMISATION, LOGGING = (
    "data",
    "network",
    "losses and control",
    "optimisation",
    "logging and checkpoints",
)
_NOT_A_FLAG = {"flag": False}


def setting(
    default,
    group: str,
    help: str,
    *,
    resumable: bool = False,
    architecture: bool = False,
    choices: tuple = (),
    shown_default: str | None = None,
):
    """A TrainConfig field with what train.py and the trainer need to know about it:
    its --help text and group, whether --resume may change it, whether it is
    part of the network architecture (which --init-from must match), the fixed set
    of values it takes (`choices`: train.py's flag offers them, validate() checks
    them) and, when the default is worked out later, how --help names it."""
    return field(
        default=default,
        metadata={
            "help": help,
            "group": group,
            "resumable": resumable,
            "architecture": architecture,
            "choices": tuple(choices),
            "shown_default": shown_default,
        },
    )


# Settings added after format 1 was fixed: a config.json written before them
# means they were off, whatever today's default is (so old runs resume as they were).
LEGACY_VALUES = {
    "diversity_weight": 0.0,
    "diversity_by_k": False,
    "duplicates": "ignore",
    "g_recon_weight": 1.0,
    "k_scope": "reconstruction",
    "head_warmup": 0,
    "wrong_form": "course",
    "projection_weight": 0.0,
    "augment": "",
    "wrong_warmup": 0,
    "ema_decay": 0.0,
    "lr_d": 0.0,
    "ada": "off",
    "other_tag_weight": 0.0,
    "head_floor": 0.0,
    "other_tag_pull": 0.0,
    "anchor_weight": 0.0,
    "probe_body_lr_scale": 0.0,
    "small_data_gamma": 0.0,
}

# Weights whose value > 0 builds a head on D: a later stage (--resume) may change
# the weight, but not turn the head on or off (its variables would not match).
HEAD_WEIGHTS = ("aux_weight", "projection_weight", "other_tag_weight")


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a run. Frozen and checked when made (`validate`, from `__post_init__`):
    a TrainConfig that exists is a valid one, and a changed setting is a new config
    (`dataclasses.replace`, which checks it again)."""

    # --- data -------------------------------------------------------------
    images: str = setting("", DATA, "folder of training images", resumable=True)
    tags_csv: str = setting(
        "",
        DATA,
        "tag CSV (MLDS-2018 'id,blue hair red eyes', MLDS-2017 'id,tag:count<TAB>...', or a header CSV)",
        resumable=True,
    )
    tag_format: str = setting(
        "auto",
        DATA,
        "tag CSV format (auto: detected from its first line)",
        choices=("auto", "2018", "2017", "header"),
    )
    holdout: float = setting(
        0.1, DATA, "fraction kept out of training (stratified by tags; used by the checker and metrics)"
    )
    duplicates: str = setting(
        "group",
        DATA,
        "near-duplicate images (the same picture, mirrored or re-encoded): "
        "group (each group on one side of the held-out split), drop (keep one image per "
        "group) or ignore (split by id, as runs before this setting)",
        choices=("group", "drop", "ignore"),
    )
    condition_mode: str = setting("onehot", DATA, "condition vectors", choices=("onehot", "word2vec"))
    top_k: int = setting(
        50,
        DATA,
        "other (non-colour) tags kept as multi-hot, for tag-rich CSVs: the most "
        "frequent ones seen on at least 10 images (the run names any it leaves out)",
    )
    cache_dir: str = setting(
        "",
        DATA,
        "dataset cache folder",
        resumable=True,
        shown_default="$TAGFACE_CACHE, else ~/.cache/tagface",
    )
    cond_dim: int = field(default=0, metadata=_NOT_A_FLAG | {"architecture": True})  # from the vocabulary

    # --- networks (Berthelot et al. 2017) ---------------------------------
    image_size: int = setting(64, NETWORK, "image size in pixels", architecture=True, choices=(32, 64, 128))
    filters: int = setting(
        32, NETWORK, "filters n of the first level (grows n, 2n, 3n... in D's encoder)", architecture=True
    )
    repeats: int = setting(2, NETWORK, "3x3 conv + ELU layers per level", architecture=True)
    nz: int = setting(64, NETWORK, "size of z and of D's bottleneck h (Nz = Nh)", architecture=True)
    embed_dim: int = setting(16, NETWORK, "size of the condition embedding", architecture=True)
    skip: bool = setting(False, NETWORK, "skip connections from h0 to every decoder scale", architecture=True)
    vanishing_residual: bool = setting(
        False, NETWORK, "vanishing residual inside each level (carry 1 -> 0)", architecture=True
    )
    vanishing_steps: int = setting(
        16000, NETWORK, "steps over which the vanishing residual's carry falls to 0"
    )
    cond_every_scale: bool = setting(
        True, NETWORK, "also feed the tiled condition embedding to every decoder scale", architecture=True
    )
    cond_augment: bool = setting(
        False,
        NETWORK,
        "StackGAN conditioning augmentation (c = mu + sigma * eps, KL penalty)",
        architecture=True,
    )
    ca_kl_weight: float = setting(0.01, NETWORK, "weight of the conditioning-augmentation KL penalty")

    # --- losses and control -----------------------------------------------
    gamma: float = setting(
        0.7,
        LOSSES,
        "BEGAN diversity ratio gamma: L(G(z))/L(x) that k_t holds (higher: more diverse; with "
        "k-scope game also sharper, see docs/default-model/comparison.md)",
        resumable=True,
    )
    small_data_gamma: float = setting(
        0.9,
        LOSSES,
        "gamma for a new run on a small set (below 5,000 training images), from scratch or fine-tuning, "
        "in place of the default --gamma: there D learns the few faces by heart, L(x) falls below what G "
        "can match at 0.7, k_t sits near 0 and the heads lose their say (docs/training.md); a --gamma "
        "given (or a fine-tune source's other than 0.7) wins; 0: --gamma always",
    )
    lambda_k: float = setting(0.01, LOSSES, "k_t proportional gain lambda_k")
    k_scope: str = setting(
        "game",
        LOSSES,
        "what k_t weights: reconstruction (the paper: D's L(G(z)) "
        "only); all (every fake term of D: also the projection hinge's fake side); game (all, "
        "and G's pull from the heads and the mode-seeking term, so at k_t = 0 G is pure BEGAN)",
        choices=("reconstruction", "all", "game"),
    )
    head_floor: float = setting(
        0.0,
        LOSSES,
        "with k-scope game, G follows the heads (and the mode-seeking term) at max(k_t, this) x their "
        "weights: a push towards sharp, on-tag faces that does not vanish when k_t settles low "
        "(0: k_t alone, round 3)",
        resumable=True,
    )
    anchor_weight: float = setting(
        3.0,
        LOSSES,
        "fine-tuning to new tags: weight of G's pull towards the source's drawing of the source's tags "
        "(mean |G(z, c) - G_source(z, c)| on half of each batch's tags with the new tags left out), so that "
        "what G learns for the new tags does not wash out what it drew before (0: off; from scratch: unused)",
        resumable=True,
    )
    g_recon_weight: float = setting(
        1.0,
        LOSSES,
        "weight of L(G(z)) in G's loss (1 in the paper); higher gives "
        "BEGAN's term more say against the heads, so k_t has room to act",
        resumable=True,
    )
    wrong_weight: str = setting(
        "1.0", LOSSES, "weight of the capped wrong-condition term: a number, or k to reuse k_t"
    )
    wrong_cap: float = setting(1.5, LOSSES, "cap of the wrong-condition loss, in multiples of L(x)")
    wrong_form: str = setting(
        "margin",
        LOSSES,
        "margin: D maximises min(L(x, wrong), cap L(x)) - L(x), so the "
        "term never cancels the reconstruction pull (stable); course: the course "
        "report's min(L(x, wrong), cap L(x))",
        choices=("margin", "course"),
    )
    oob_weight: float = setting(1.0, LOSSES, "weight of the out-of-bound pixel penalty on G's output")
    aux_weight: float = setting(
        0.1, LOSSES, "weight of the auxiliary tag head on D's encoder (0 turns it off)", resumable=True
    )
    other_tag_weight: float = setting(
        0.15,
        LOSSES,
        "weight of the other tags (smile, glasses...) in the tag head "
        "(one sigmoid each, on D's encoder): D learns to read them, G to draw them, "
        "at this weight whatever k_t is (0 = the head reads colours only)",
        resumable=True,
    )
    other_tag_pull: float = setting(
        1.0,
        LOSSES,
        "G's pull towards the asked other tags: P > 0 = P x k_t (k-scope game), so BEGAN's balance eases it "
        "when G falls behind D (from scratch on 1,201 faces the fixed pull held k_t at 0 and G drew blobs; "
        "P x k_t kept k_t near 0.03 and faces came: docs/training.md); 0 = a fixed --other-tag-weight "
        "whatever k_t (round 4's first form, and a fine-tune's default: there k_t falls as the new tags "
        "are learnt and the pull under it faded)",
        shown_default="1 from scratch, 0 when fine-tuning",
        resumable=True,
    )
    diversity_weight: float = setting(
        0.4,
        LOSSES,
        "weight of the mode-seeking term (different z, same tags -> different faces; 0 = off)",
        resumable=True,
    )
    diversity_by_k: bool = setting(
        False,
        LOSSES,
        "the mode-seeking weight is diversity-weight x k_t: BEGAN's "
        "controller spends on diversity what the balance at gamma leaves room for "
        "(k-scope game does this too)",
        resumable=True,
    )
    filter_sd: float = setting(
        2.0, LOSSES, "real-image filter threshold: previous epoch's mean + this many sd"
    )
    projection_weight: float = setting(
        0.1,
        LOSSES,
        "weight of the hinge projection head on D's encoder (Miyato & Koyama 2018; 0 = off)",
        resumable=True,
    )
    head_warmup: int = setting(
        0,
        LOSSES,
        "steps over which the heads' weights (tag, projection) ramp from 0, "
        "so training starts as pure BEGAN (0: no ramp)",
    )
    augment: str = setting(
        "",
        LOSSES,
        "DiffAugment on everything D sees: translation and/or cutout, comma-separated (empty: off)",
    )
    ada: str = setting(
        "auto",
        LOSSES,
        "adaptive augmentation of everything D sees (ADA: mirror, shift, cutout, "
        "each with probability p; p rises while D reconstructs its training faces better than "
        "held-out ones): on, off, or auto (on below 5,000 training images, when a held-out split "
        "exists)",
        choices=("auto", "on", "off"),
    )
    ada_target: float = setting(
        0.05,
        LOSSES,
        "the over-fitting gap ADA holds: L(held-out real) / L(training real) - 1 of D's reconstruction, "
        "above the gap the data has at the start (its first measurements)",
        resumable=True,
    )
    wrong_warmup: int = setting(
        0, LOSSES, "steps over which the wrong-condition weight ramps from 0 to its value (0: no ramp)"
    )
    ema_decay: float = setting(
        0.999, LOSSES, "moving average of G's weights, used for samples, evaluation and export (0 = off)"
    )

    # --- optimisation -----------------------------------------------------
    batch_size: int = setting(16, OPTIMISATION, "global batch size")
    lr: float = setting(
        2e-4, OPTIMISATION, "Adam learning rate (G's, and D's unless --lr-d is given)", resumable=True
    )
    lr_d: float = setting(
        0.0, OPTIMISATION, "D's own Adam rate (two time-scale update rule); 0 = the same as --lr"
    )
    lr_floor: float = setting(2e-5, OPTIMISATION, "the learning rate never halves below this", resumable=True)
    probe_steps: int = setting(
        ALL_STEPS,
        OPTIMISATION,
        "fine-tuning to new tags: steps that train the weights on the new tags (G's and D's new condition "
        "inputs, the tag head's new outputs) at --probe-lr-scale x the rate and the rest of G and D at "
        "--probe-body-lr-scale x, so the new tags' inputs, which start at zero, are learnt while the "
        "source's faces are kept; after them the whole network trains at the rate (0: no probe)",
        resumable=True,
        shown_default="all of them",
    )
    probe_lr_scale: float = setting(
        10.0, OPTIMISATION, "the new tags' learning rate while probing, in multiples of --lr", resumable=True
    )
    probe_body_lr_scale: float = setting(
        0.1,
        OPTIMISATION,
        "the rest of G and D's learning rate while probing, in multiples of --lr (0: frozen; a small rate "
        "lets the network adapt slowly while the new tags learn fast, as discriminative fine-tuning does; "
        "--anchor-weight keeps what G drew for the source's tags meanwhile)",
        resumable=True,
    )
    lr_window: int = setting(1000, OPTIMISATION, "steps per window of the convergence measure M")
    lr_patience: int = setting(2, OPTIMISATION, "windows without a better mean M before the rate halves")
    beta1: float = setting(0.5, OPTIMISATION, "Adam beta_1")
    epochs: int = setting(
        0, OPTIMISATION, "epochs to train (ignored when --steps is set; 0: the length rule)", resumable=True
    )
    steps: int = setting(
        0,
        OPTIMISATION,
        "total steps to train (0: --epochs, else the length rule: 100,000 "
        "images seen from scratch, at least 10 epochs; 24,000 when fine-tuning; the run "
        "prints the steps and time it plans)",
        resumable=True,
    )
    seed: int = setting(0, OPTIMISATION, "random seed (data order, noise, initial weights)")
    precision: str = setting(
        "auto",
        OPTIMISATION,
        "number format of the training step (auto: bf16 when the CPU supports it, else fp32)",
        resumable=True,
        choices=("auto", "fp32", "bf16"),
    )
    strategy: str = setting(
        "default",
        OPTIMISATION,
        "tf.distribute strategy (multiworker reads TF_CONFIG)",
        resumable=True,
        choices=("default", "mirrored", "multiworker"),
    )

    # --- logging / checkpoints --------------------------------------------
    sample_every: int = setting(
        0, LOGGING, "extra fixed-noise sample grid every N steps (0: only at epoch ends)", resumable=True
    )
    checkpoint_every: int = setting(
        500, LOGGING, "checkpoint every N steps (and at each epoch end)", resumable=True
    )
    keep_checkpoints: int = setting(3, LOGGING, "how many recent checkpoints to keep", resumable=True)
    log_every: int = setting(10, LOGGING, "write metrics.csv / TensorBoard every N steps", resumable=True)
    eval_every: int = setting(
        0,
        LOGGING,
        "run the quality metrics every N steps into RUN/eval.csv (0: off; needs --checker)",
        resumable=True,
    )
    checker: str = setting("", LOGGING, "tag checker folder used by --eval-every", resumable=True)

    format_version: int = field(default=FORMAT_VERSION, metadata=_NOT_A_FLAG)
    extra: dict = field(default_factory=dict, metadata=_NOT_A_FLAG)

    # ----------------------------------------------------------------------
    def __post_init__(self):
        self.validate()

    def validate(self) -> "TrainConfig":
        """Every setting's type, its range (RANGES, the one range table: no rule below repeats
        one), its fixed set of values, then the rules a range cannot say (a number or 'k',
        the augment list, settings that need each other). Run on every TrainConfig made:
        the flags before any work, every config.json read, every `dataclasses.replace`."""
        for f in fields(self):
            value = getattr(self, f.name)
            kind = _TYPES.get(f.type)
            if kind is not None and not jsonio.has_type(value, kind):
                raise ConfigError(
                    f"{f.name} must be {jsonio.TYPE_WORDS[kind]}, not {_short(value)} "
                    f"({type(value).__name__})"
                )
            if kind is float and not math.isfinite(value):
                raise ConfigError(f"{f.name} must be a finite number, not {value}")
            if f.name in RANGES:
                low, high = RANGES[f.name]
                if (low is not None and value < low) or (high is not None and value > high):
                    raise ConfigError(f"{f.name} must be {_range_words(low, high)}, not {_short(value)}")
        for f in fields(self):  # the settings that take one of a fixed set of values
            choices = f.metadata.get("choices")
            if choices and getattr(self, f.name) not in choices:
                value = getattr(self, f.name)
                words = ", ".join(map(str, choices[:-1])) + f" or {choices[-1]}"
                raise ConfigError(
                    f"{f.name} must be {words}, not {value if isinstance(value, int) else repr(value)}"
                )
        if self.wrong_weight != "k":
            try:
                float(self.wrong_weight)
            except ValueError:
                raise ConfigError(
                    f"wrong_weight must be a number or 'k', not {self.wrong_weight!r}"
                ) from None
        if self.eval_every and not self.checker:
            raise ConfigError("--eval-every needs --checker (a tag checker folder, e.g. models/default)")
        unknown_aug = set(filter(None, self.augment.split(","))) - {"translation", "cutout"}
        if unknown_aug:
            raise ConfigError(f"augment takes translation and/or cutout, not {sorted(unknown_aug)}")
        if self.augment and self.ada == "on":
            raise ConfigError(
                "--augment (fixed) and --ada on (adaptive) both augment what D sees; choose one"
            )
        if self.lr_floor > self.lr:
            raise ConfigError(f"lr_floor ({self.lr_floor}) is above lr ({self.lr})")
        return self

    @property
    def levels(self) -> int:
        """Number of up/down-sampling steps between 8x8 and the image size."""
        return {32: 2, 64: 3, 128: 4}[self.image_size]

    @classmethod
    def flag_fields(cls) -> list[dataclasses.Field]:
        """The settings train.py offers as flags, in order (all but cond_dim,
        format_version and extra); each declared with `setting(...)`."""
        flags = [f for f in fields(cls) if f.metadata.get("flag", True)]
        for f in flags:
            if "group" not in f.metadata:
                raise TypeError(
                    f"TrainConfig.{f.name} has no help text or group: declare it with setting(...)"
                )
        return flags

    @classmethod
    def resumable_names(cls) -> set[str]:
        """Settings --resume may change (everything else is fixed by the run's config.json)."""
        return {f.name for f in fields(cls) if f.metadata.get("resumable")}

    def resumed_with(self, given: dict, source: str) -> "TrainConfig":
        """This run's settings with the flags `given` to --resume. The run's own flags
        with the same values are fine (the first command re-run with --resume); a real
        change of a fixed setting, or a head turned on or off (its layers would appear
        or vanish mid-run), is a ConfigError naming each old -> new."""

        def listing(names):
            return ", ".join(f"--{n.replace('_', '-')} {getattr(self, n)!r} -> {given[n]!r}" for n in names)

        changed = [n for n in sorted(set(given) - self.resumable_names()) if given[n] != getattr(self, n)]
        if changed:
            raise ConfigError(
                f"--resume keeps the run's settings, and these differ from {source}: {listing(changed)}"
                " (drop them to continue the run, or train a new one in another --run-dir)"
            )
        switched = [n for n in HEAD_WEIGHTS if n in given and (given[n] > 0) != (getattr(self, n) > 0)]
        if switched:
            raise ConfigError(
                "--resume may change a head's weight but not turn the head on or off: "
                f"{listing(switched)} (give it a small weight instead, or train a new run in "
                "another --run-dir)"
            )
        if "epochs" in given and "steps" not in given:  # a total in epochs replaces the planned steps
            given = given | {"steps": 0}
        return dataclasses.replace(self, **given)  # (checked: __post_init__)

    @classmethod
    def inherited_names(cls) -> list[str]:
        """Settings a fine-tuning run (--init-from) takes from its source: the networks, the condition
        vectors, the losses and their control (so the carried-over k_t keeps its meaning) and the
        learning-rate rule. Data, length, seed, precision and logging are the new run's own."""
        recipe = {"condition_mode", "lr", "lr_d", "lr_floor", "lr_window", "lr_patience", "beta1"}
        # how much D's inputs are augmented follows the new data, and so does the tag head's reading of its
        # other tags (a source without other tags has no such outputs whatever its setting); the anchor is
        # the fine-tune's own (a source trained from scratch had none)
        of_the_data = {
            "augment",
            "ada",
            "ada_target",
            "other_tag_weight",
            "other_tag_pull",
            "anchor_weight",
            "small_data_gamma",
        }
        return [
            f.name
            for f in cls.flag_fields()
            if (f.metadata["group"] in (NETWORK, LOSSES) or f.name in recipe) and f.name not in of_the_data
        ]

    @classmethod
    def fine_tuned_from(
        cls, source: "TrainConfig", base: "TrainConfig", given: dict, source_name: str
    ) -> "TrainConfig":
        """A fine-tuning run's settings: `base` (the defaults, or --config) with the source's
        inherited settings over it, then the flags `given`. A flag that contradicts the source's
        network (an architecture setting, or the condition mode) is a ConfigError naming it:
        the weights would not fit. Other inherited settings may be changed by a flag."""
        fixed = set(cls.architecture_names()) | {"condition_mode"}
        clash = [n for n in sorted(set(given) & fixed) if given[n] != getattr(source, n)]
        if clash:
            listing = ", ".join(
                f"--{n.replace('_', '-')} {given[n]!r} (the source's is {getattr(source, n)!r})"
                for n in clash
            )
            raise ConfigError(
                f"--init-from {source_name} fixes the network; these flags contradict it: "
                f"{listing}. Drop them (the source's settings are used), or train from scratch"
            )
        inherited = {n: getattr(source, n) for n in cls.inherited_names()}
        own = (
            {"other_tag_pull": FINE_TUNE_OTHER_TAG_PULL}
            if base.other_tag_pull == cls().other_tag_pull
            else {}
        )
        return dataclasses.replace(base, **(inherited | own | given))  # (checked: __post_init__)

    def describe(self, width: int = 100) -> str:
        """The settings as people read them: one block per --help group, `name value` pairs
        wrapped to `width`, the ones that differ from the defaults marked with *."""
        import textwrap

        defaults, blocks = TrainConfig(), {}
        for f in self.flag_fields():
            value = getattr(self, f.name)
            mark = "*" if value != getattr(defaults, f.name) else ""
            shown = (
                {True: "on", False: "off", "": "-"}.get(value, value)
                if isinstance(value, (bool, str))
                else value
            )
            item = f"{mark}{f.name.replace('_', '-')} {number(shown, 6)}".replace(" ", "\0")  # one piece
            blocks.setdefault(f.metadata["group"], []).append(item)
        lines = ["settings (* = not the default):"]
        for group, items in blocks.items():
            lines += textwrap.wrap(
                ", ".join(items),
                width,
                initial_indent=f"  {group}: ",
                subsequent_indent=" " * 4,
                break_on_hyphens=False,
                break_long_words=False,
            )
        return "\n".join(lines).replace("\0", " ")

    @classmethod
    def architecture_names(cls) -> list[str]:
        """Settings that shape the networks' weights (--init-from must match them)."""
        return [f.name for f in fields(cls) if f.metadata.get("architecture")]

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
            return cls(**data)  # (checked: __post_init__)
        except TypeError as exc:  # pragma: no cover - defensive
            raise ConfigError(f"config.json is malformed: {exc}") from None

    def save(self, directory: str | os.PathLike) -> Path:
        """Write config.json atomically."""
        return atomic_write(
            Path(directory) / CONFIG_NAME, jsonio.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"
        )

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
