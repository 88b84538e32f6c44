"""model.precision's bf16 path (--precision bf16, Keras mixed_bfloat16): a few training steps give
finite losses, the layers compute in bfloat16 while every variable stays float32, the bf16 forward
pass differs from the float32 one by bf16 rounding only, and the run reloads and draws."""

import csv
import math

import numpy as np
import pytest


@pytest.fixture
def float32_afterwards():
    """The trainer sets Keras' global policy; put float32 back for the tests after this one."""
    yield
    import keras

    keras.mixed_precision.set_global_policy("float32")


@pytest.mark.slow
def test_bf16_trains_with_float32_variables_and_bf16_rounding_only(train_argv, tmp_path, float32_afterwards):
    from model.run_folder import load_generator_from_run
    from train import build_parser, config_from_args
    from training.trainer import Trainer

    run = tmp_path / "bf16"
    config = config_from_args(
        build_parser().parse_args(train_argv(run, precision="bf16", steps=6, log_every=1, checkpoint_every=3))
    )
    trainer = Trainer(config, run, progress=False)
    trainer.train()
    assert trainer.precision == "bf16"

    with open(run / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["step"]) for r in rows] == list(range(1, 7))
    for row in rows:
        for name in ("loss_real", "loss_fake", "loss_wrong", "g_loss", "k", "M"):
            if name in row:
                assert math.isfinite(float(row[name])), (row["step"], name, row[name])

    generator, discriminator = trainer.model.generator, trainer.model.discriminator
    compute = [
        layer.compute_dtype for net in (generator, discriminator) for layer in net.layers if layer.weights
    ]
    # mixed precision really is on (the layers that make outputs and losses may compute in float32)...
    assert compute.count("bfloat16") > len(compute) / 2, compute
    stored = {w.dtype for net in (generator, discriminator) for w in net.weights}
    assert {str(getattr(d, "name", d)) for d in stored} == {"float32"}, (
        stored
    )  # ...and the variables stay float32

    rng = np.random.default_rng(0)
    z = rng.uniform(-1, 1, (8, config.nz)).astype(np.float32)
    cond = trainer.vocab.conditions([trainer.vocab.tagset({"hair": "blue", "eyes": "red"})] * 8)
    generator.set_weights(trainer.model.sampling_weights())  # the same weights in both networks
    in_bf16 = np.asarray(generator([z, cond], training=False), np.float32)
    in_fp32 = np.asarray(trainer.sampling_generator()([z, cond], training=False))
    assert in_fp32.dtype == np.float32 and np.isfinite(in_bf16).all()
    diff = np.abs(in_bf16 - in_fp32)
    # bf16 keeps 8 bits of mantissa (relative step 2^-8 = 0.004): a few layers' rounding, not another network
    assert 0 < diff.mean() < 0.02 and diff.max() < 0.15, (diff.mean(), diff.max())

    reloaded, reloaded_config, _ = load_generator_from_run(run)
    assert reloaded_config.precision == "bf16"
    assert {str(w.dtype.name if hasattr(w.dtype, "name") else w.dtype) for w in reloaded.weights} == {
        "float32"
    }
    drawn = np.asarray(reloaded([z, cond], training=False))
    np.testing.assert_allclose(drawn, in_fp32, atol=1e-5)  # the saved weights are the ones trained
