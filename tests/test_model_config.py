"""model.config.TrainConfig.load: a config.json value of the wrong type is named (issue 15)."""
import json

import pytest

from model.config import TrainConfig


def test_a_string_where_a_number_belongs_in_config_json_is_named(tmp_path):
    from model.config import ConfigError

    TrainConfig().save(tmp_path)
    data = json.loads((tmp_path / "config.json").read_text())
    data["image_size"] = "64"
    (tmp_path / "config.json").write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=r"image_size must be a whole number, not '64' \(str\)"):
        TrainConfig.load(tmp_path)
