"""The divergence guard: catch a run whose losses run away, even while finite.

NaN/inf is the obvious failure, but BEGAN runs also blow up to huge finite
losses (seen: L(x) from 0.5 to 1e20 within 80 steps, k_t pinned at 1) and
then keep training garbage. Each watched loss keeps a running mean (an
exponential moving average after a short warm-up); a loss that leaves the
band `band` x its running mean, and is above an absolute floor that
healthy values never reach, is a run-away; the reason names the term that
ran away first and the setting to change.

The trainer recovers by itself: it rolls back to its newest checkpoint at
half the rate (training.lr_control.lowered_after_run_away) with a new guard,
up to ROLLBACKS times in a sitting; the next run-away stops the run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# term -> (what it is, the setting to change first)
WATCHED = {
    "loss_real": ("L(x), D's reconstruction loss of real images", "--lr (e.g. half of it) or --wrong-warmup"),
    "loss_wrong": (
        "D's reconstruction loss of real images under wrong tags",
        "--wrong-warmup or --wrong-weight",
    ),
    "loss_fake": ("L(G(z)), D's reconstruction loss of generated images", "--lr (e.g. half of it)"),
    "loss_aux": ("the auxiliary tag head's loss", "--aux-weight"),
    "loss_adv_d": ("the projection head's hinge loss", "--projection-weight"),
}
BAND = 8.0  # x the running mean
FLOOR = 2.0  # an L1 of 2 on images in [-1, 1] is never a healthy value; hinge/CE losses stay below 20
FLOORS = {"loss_aux": 20.0, "loss_adv_d": 20.0}
WARMUP = 20  # steps before the band is enforced
DECAY = 0.98
ROLLBACKS = 3  # run-aways a sitting of the trainer recovers from by rolling back; the next one stops it


@dataclass
class DivergenceGuard:
    band: float = BAND
    warmup: int = WARMUP
    means: dict = field(default_factory=dict)
    seen: int = 0

    def check(self, values: dict) -> str | None:
        """Fold one step's losses in; a one-line reason when one ran away (else None)."""
        self.seen += 1
        for name in ("d_loss", "g_loss", *WATCHED):
            value = values.get(name)
            if value is not None and not math.isfinite(value):
                return f"{name} became {value}"
        worst = None
        for name, (what, setting) in WATCHED.items():
            value = values.get(name)
            if value is None or value == 0.0:
                continue
            mean = self.means.get(name)
            if mean is not None and self.seen > self.warmup:
                ratio = value / max(mean, 1e-8)
                if (
                    ratio > self.band
                    and value > FLOORS.get(name, FLOOR)
                    and (worst is None or ratio > worst[0])
                ):
                    worst = (
                        ratio,
                        f"{what} ({name}) ran away: {value:.4g} against a running mean of "
                        f"{mean:.4g}; change {setting}",
                    )
            if worst is None:
                self.means[name] = value if mean is None else DECAY * mean + (1 - DECAY) * value
        return worst[1] if worst else None
