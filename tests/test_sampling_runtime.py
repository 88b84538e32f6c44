"""sampling.runtime.load_generator: a file that is not this model's generator is a ModelError (issue 15)."""

import pytest

from tests.conftest import ROOT


def test_a_checker_tflite_in_place_of_the_generator_is_a_model_error(tmp_path):
    import shutil

    from sampling.runtime import ModelError, load_generator

    model = tmp_path / "m"
    shutil.copytree(ROOT / "models" / "default", model)
    shutil.copyfile(model / "checker.tflite", model / "generator.tflite")
    with pytest.raises(ModelError, match="not this model's generator"):
        load_generator(model, "litert")
