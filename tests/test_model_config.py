"""model.config.TrainConfig: a config.json value of the wrong type is named (issue 15); the round-2
settings are validated with the one range table, and old config files load with them off."""

import dataclasses
import json

import pytest

from model.config import LEGACY_VALUES, RANGES, ConfigError, TrainConfig, _range_words


def test_a_string_where_a_number_belongs_in_config_json_is_named(tmp_path):
    from model.config import ConfigError

    TrainConfig().save(tmp_path)
    data = json.loads((tmp_path / "config.json").read_text())
    data["image_size"] = "64"
    (tmp_path / "config.json").write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=r"image_size must be a whole number, not '64' \(str\)"):
        TrainConfig.load(tmp_path)


# --- the round-2 settings and the legacy defaults of old config files
def test_an_old_config_without_the_new_settings_loads_with_them_off(tmp_path):
    data = TrainConfig().to_dict()
    for name in LEGACY_VALUES:
        del data[name]
    (tmp_path / "config.json").write_text(json.dumps(data))
    old = TrainConfig.load(tmp_path)
    assert old.ema_decay == 0.0 and old.projection_weight == 0.0 and old.augment == "" and old.lr_d == 0.0
    assert old.k_scope == "reconstruction" and old.head_warmup == 0
    assert TrainConfig().ema_decay > 0  # while new runs average G by default


@pytest.mark.parametrize(
    "bad",
    [
        {"ema_decay": 1.0},
        {"augment": "colour"},
        {"lr_d": -1.0},
        {"wrong_warmup": -5},
        {"projection_weight": -0.1},
        {"k_scope": "hinge"},
        {"head_warmup": -1},
    ],
)
def test_new_settings_are_validated(bad):
    with pytest.raises(ConfigError):
        TrainConfig(**bad)  # a TrainConfig checks itself when made


def _past(bound, kind, direction):
    """A value of the field's type just past `bound` (direction -1: below, +1: above)."""
    if kind is int:
        return bound + direction
    return bound + direction * max(abs(bound), 1.0) * 0.5


@pytest.mark.parametrize("name", sorted(RANGES))
def test_an_out_of_range_value_is_refused_with_the_one_ranges_message(name):
    """RANGES is the one range table: a value past either end of a field's range is refused
    with the words RANGES gives, by TrainConfig itself (no later check words it otherwise)."""
    low, high = RANGES[name]
    kind = type(getattr(TrainConfig(), name))
    for bound, direction in ((low, -1), (high, 1)):
        if bound is None:
            continue
        value = _past(bound, kind, direction)
        with pytest.raises(ConfigError) as refused:
            TrainConfig(**{name: value})
        assert str(refused.value) == f"{name} must be {_range_words(low, high)}, not {value!r}"


def test_gamma_has_one_rule_and_one_message():
    with pytest.raises(ConfigError) as refused:
        TrainConfig(gamma=1.5)
    assert str(refused.value) == "gamma must be between 0.0 and 1.0, not 1.5"
    with pytest.raises(ConfigError, match="^ema_decay must be between 0.0 and 0.999999, not 1.0$"):
        dataclasses.replace(TrainConfig(), ema_decay=1.0)  # a replaced setting is checked too


def test_the_config_is_frozen_and_a_change_is_a_new_checked_config():
    config = TrainConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.gamma = 0.5
    staged = dataclasses.replace(config, gamma=0.5)
    assert (config.gamma, staged.gamma) == (0.7, 0.5)
    # the rules a range cannot express stay in validate, once
    with pytest.raises(ConfigError, match=r"^lr_floor \(0.001\) is above lr \(0.0002\)$"):
        dataclasses.replace(config, lr_floor=1e-3)
    with pytest.raises(ConfigError, match="^--eval-every needs --checker"):
        TrainConfig(eval_every=10)


def test_resume_with_epochs_replaces_the_planned_steps():
    """A run records the length rule's steps; --resume --epochs N asks for a total in epochs instead."""
    from model.config import TrainConfig

    planned = TrainConfig(steps=6250)
    assert planned.resumed_with({"epochs": 20}, "config.json").steps == 0
    assert planned.resumed_with({"epochs": 20}, "config.json").epochs == 20
    assert planned.resumed_with({"steps": 9000}, "config.json").steps == 9000
