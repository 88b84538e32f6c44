"""Training settings on a bench's command line: `--set NAME=VALUE` (a TrainConfig field,
JSON value) and a settings dict written back as train.py flags."""

from __future__ import annotations

import argparse
import json

# BEGAN's k_t control as rounds 1-2 ran it (k_t on D's L(G(z)) only, the paper's gamma and gain): the
# settings that benches and tests measured before round 3's default (k_scope game, gamma 0.7) pin it.
ROUND2_CONTROL = {"k_scope": "reconstruction", "gamma": 0.5, "lambda_k": 0.001}


def parse_setting(text: str) -> tuple[str, object]:
    """'aux_weight=1.0' -> ('aux_weight', 1.0); a value that is not JSON stays text."""
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"--set takes NAME=VALUE, not {text!r}")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


def train_flags(settings: dict) -> list[str]:
    """{'aux_weight': 0.0, 'skip': True} -> ['--aux-weight', '0.0', '--skip', 'on']."""
    out = []
    for name, value in settings.items():
        text = ("on" if value else "off") if isinstance(value, bool) else str(value)
        out += ["--" + name.replace("_", "-"), text]
    return out
