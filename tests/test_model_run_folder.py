"""model.run_folder: a damaged checkpoint state file does not hide intact checkpoints (issue 15)."""

import pytest


@pytest.mark.parametrize("state", ["", "garbage {{{ \u00ff"])
def test_a_damaged_checkpoint_state_file_does_not_hide_intact_checkpoints(tmp_path, tiny_run, state, capsys):
    import shutil

    from model.run_folder import RunDirError, load_generator_from_run, repair_checkpoint_state

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    state_file = run / "checkpoints" / "checkpoint"
    state_file.write_text(state)
    generator, config, _ = load_generator_from_run(run)
    assert "is damaged; using the" in capsys.readouterr().err
    repair_checkpoint_state(run / "checkpoints")
    import tensorflow as tf

    assert tf.train.latest_checkpoint(str(run / "checkpoints")) is not None
    for f in (run / "checkpoints").glob("ckpt-*"):
        f.unlink()
    state_file.write_text(state)
    with pytest.raises(RunDirError, match="damaged and no ckpt-N files"):
        repair_checkpoint_state(run / "checkpoints")
