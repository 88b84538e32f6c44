"""--resume continues the run as asked (issue 12): --steps given with it is saved
in config.json (so the report and the next --resume see it), a finished run says
so and how to extend it, the command printed after a signal continues to the
total asked for, and the run's own flags with the same values are accepted."""

import json
import os
import shlex
import shutil
import signal

import pytest


@pytest.fixture
def first_command(ten_step_run, train_argv, tmp_path):
    """(a copy of ten_step_run (tests/conftest.py: a tiny run trained to step 10 by its first command, once
    per session), that first command, naming the copy): the run as that command left it, for a test to
    resume or change."""
    run = tmp_path / "run"
    shutil.copytree(ten_step_run, run)
    return run, train_argv(run, steps=10)


def _config(run):
    return json.loads((run / "config.json").read_text(), parse_constant=lambda c: pytest.fail(f"{c} in JSON"))


@pytest.mark.slow
def test_resume_on_a_finished_run_says_so_and_steps_given_with_resume_are_saved(first_command, capsys):
    from train import main

    run, command = first_command
    capsys.readouterr()
    # the first command again with --resume: the same values are accepted; the run is finished
    assert main(command + ["--resume"]) == 0
    out, err = capsys.readouterr()
    assert "already trained to step 10" in err and f"--run-dir {run} --resume --steps 20" in err, err
    assert "trained to step" not in out
    # the suggested command trains further, and the new total is the run's setting now
    assert main(["--run-dir", str(run), "--resume", "--steps", "14", "--no-progress"]) == 0
    assert "trained to step 14" in capsys.readouterr().out
    assert _config(run)["steps"] == 14
    from report.build import build_report

    report = build_report(run, check_tags=False)
    assert "14" in [
        c.strip()
        for line in report.with_suffix(".md").read_text().splitlines()
        if "steps" in line
        for c in line.split("|")
    ]


@pytest.mark.slow
def test_resume_refuses_only_real_changes_naming_each_old_and_new(first_command, capsys):
    from train import main

    run, command = first_command
    capsys.readouterr()
    changed = command + ["--resume", "--batch-size", "4", "--seed", "2"]
    assert main(changed) == 2
    err = capsys.readouterr().err
    assert "--batch-size 8 -> 4" in err and "--seed 1 -> 2" in err, err
    assert "--filters" not in err and "--image-size" not in err  # given, but with the run's own values


@pytest.mark.slow
def test_the_command_printed_after_a_signal_continues_to_the_total_asked_for(
    first_command, capsys, monkeypatch
):
    import training.monitor
    from train import main
    from training.trainer import TrainerCallback

    run, command = first_command

    class Stop(TrainerCallback):
        def on_step_end(self, trainer, step):
            if step == 13:
                os.kill(os.getpid(), signal.SIGTERM)

    real = training.monitor.training_callbacks
    monkeypatch.setattr(training.monitor, "training_callbacks", lambda *a: real(*a) + [Stop()])
    capsys.readouterr()
    assert main(["--run-dir", str(run), "--resume", "--steps", "18", "--no-progress"]) == 128 + signal.SIGTERM
    err = capsys.readouterr().err
    printed = err[err.index("continue with python train.py") :].splitlines()[0]
    monkeypatch.setattr(training.monitor, "training_callbacks", real)
    assert main(shlex.split(printed.split("train.py", 1)[1]) + ["--no-progress"]) == 0
    assert "trained to step 18" in capsys.readouterr().out
    assert _config(run)["steps"] == 18


@pytest.mark.slow
def test_a_later_stage_may_reweight_the_losses_and_the_run_keeps_the_history(
    first_command, capsys, monkeypatch
):
    """Training in stages: --resume may change gamma and the loss weights (not turn a
    head on or off); each change reaches the training, is saved in config.json and
    kept in stages.csv, which compares against the config.json read once."""
    import csv
    from pathlib import Path

    from model.config import TrainConfig
    from train import main

    run, command = first_command
    capsys.readouterr()
    assert main(["--run-dir", str(run), "--resume", "--projection-weight", "0"]) == 2
    assert "not turn the head on or off: --projection-weight 0.1 -> 0.0" in capsys.readouterr().err
    reads, load = [], TrainConfig.load.__func__
    monkeypatch.setattr(
        TrainConfig, "load", classmethod(lambda cls, path: reads.append(Path(path)) or load(cls, path))
    )
    assert (
        main(
            [
                "--run-dir",
                str(run),
                "--resume",
                "--steps",
                "14",
                "--aux-weight",
                "0.05",
                "--diversity-weight",
                "0",
                "--gamma",
                "0.5",
                "--no-progress",
            ]
        )
        == 0
    )
    assert reads == [run]  # the run's config.json, read once
    monkeypatch.undo()
    rows = (run / "stages.csv").read_text().splitlines()
    assert rows[0] == "step,setting,old,new"
    assert sorted(rows[1:]) == [
        "10,aux_weight,0.1,0.05",
        "10,diversity_weight,0.4,0.0",
        "10,gamma,0.7,0.5",
        "10,steps,10,14",
    ]
    assert (_config(run)["aux_weight"], _config(run)["diversity_weight"], _config(run)["gamma"]) == (
        0.05,
        0.0,
        0.5,
    )
    # the mode-seeking term was trained before the stage and is off after it
    with open(run / "metrics.csv", newline="") as fh:
        seeking = {int(r["step"]): float(r["mode_seeking"]) for r in csv.DictReader(fh)}
    assert all(v > 0 for s, v in seeking.items() if s <= 10) and all(
        v == 0 for s, v in seeking.items() if s > 10
    )
    assert max(seeking) == 14
    capsys.readouterr()
    # the same settings again: nothing new to record
    assert (
        main(["--run-dir", str(run), "--resume", "--steps", "16", "--aux-weight", "0.05", "--no-progress"])
        == 0
    )
    assert (run / "stages.csv").read_text().splitlines()[1:] == rows[1:] + ["14,steps,14,16"]


@pytest.mark.slow
def test_resume_cuts_the_evaluation_and_stage_logs_back_to_the_checkpoint(first_command, capsys):
    """A run resumed from an earlier checkpoint than its last evaluation (a chosen
    step shipped as the resumable state) must not log that step twice in eval.csv,
    nor keep a stage that came after the checkpoint."""
    from train import main

    run, command = first_command
    header = "step,acc_hair,cpu_seconds,face_rate"
    (run / "eval.csv").write_text(f"{header}\n5,0.5,1.0,0.1\n10,0.6,2.0,0.2\n99,0.9,9.0,0.9\n")
    (run / "stages.csv").write_text(
        "step,setting,old,new\n99,aux_weight,0.2,0.1\n"
    )  # a stage after the checkpoint
    assert main(["--run-dir", str(run), "--resume", "--steps", "12", "--no-progress"]) == 0
    assert (run / "eval.csv").read_text().splitlines() == [header, "5,0.5,1.0,0.1", "10,0.6,2.0,0.2"]
    # the stage of this resume (at the checkpoint's step) is kept, the one after it is gone
    assert (run / "stages.csv").read_text().splitlines() == ["step,setting,old,new", "10,steps,10,12"]


def test_resumed_with_is_where_the_rules_live():
    """The Trainer API and train.py share one rule set (model.config.TrainConfig.resumed_with)."""
    from model.config import ConfigError, TrainConfig

    run = TrainConfig(aux_weight=0.2, projection_weight=0.1)
    staged = run.resumed_with({"aux_weight": 0.05, "gamma": 0.7, "filters": run.filters}, "RUN/config.json")
    assert (staged.aux_weight, staged.gamma, staged.filters) == (0.05, 0.7, run.filters)
    with pytest.raises(ConfigError, match=r"differ from RUN/config.json: --filters 32 -> 64"):
        run.resumed_with({"filters": 64}, "RUN/config.json")
    with pytest.raises(ConfigError, match=r"not turn the head on or off: --projection-weight 0.1 -> 0.0"):
        run.resumed_with({"projection_weight": 0.0}, "RUN/config.json")
    with pytest.raises(ConfigError, match="not turn the head on or off"):
        TrainConfig(aux_weight=0.0).resumed_with({"aux_weight": 0.1}, "RUN/config.json")


@pytest.mark.slow
def test_resume_refuses_changed_data_naming_the_change_and_keeps_the_recorded_split(
    synthetic_faces, train_argv, tmp_path, capsys
):
    """Issue 24: deleting rows of tags.csv (or changing an image) between two stages used to
    re-draw the held-out split silently; the run's data.csv now names what changed."""
    import shutil

    import imageio.v3 as iio

    from preprocess.synthetic import draw_face
    from train import main

    faces = tmp_path / "faces"
    shutil.copytree(synthetic_faces, faces)
    run = tmp_path / "run"
    assert main(train_argv(run, faces=faces, steps=4)) == 0
    record = (run / "data.csv").read_text().splitlines()
    assert record[0] == "id,split,tags,image" and len(record) == 121
    assert record[1].startswith("0,train,aqua hair aqua eyes,")  # (one face per pair: none held out)
    csv_path, image = faces / "tags_2018.csv", faces / "images" / "3.jpg"
    original_csv, original_image = csv_path.read_bytes(), image.read_bytes()
    csv_path.write_text("\n".join(original_csv.decode().splitlines()[:-16]) + "\n")
    iio.imwrite(image, draw_face("green", "red", 32), quality=95)
    capsys.readouterr()
    resume = ["--run-dir", str(run), "--resume", "--steps", "6", "--no-progress"]
    assert main(resume) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert "16 rows removed (ids 104, 105, 106, ...)" in line and "1 image changed (ids 3)" in line, line
    # the data restored: the run goes on, with the split it recorded even where today's draw differs
    csv_path.write_bytes(original_csv)
    image.write_bytes(original_image)
    moved = next(i for i, line in enumerate(record) if line.split(",")[1:2] == ["train"])
    edited = record[:moved] + [record[moved].replace(",train,", ",holdout,")] + record[moved + 1 :]
    (run / "data.csv").write_text("\n".join(edited) + "\n")
    assert main(resume) == 0
    assert "kept the held-out split recorded in" in capsys.readouterr().err
    assert (run / "data.csv").read_text().splitlines() == edited


def test_data_changes_names_rows_added_removed_edited_and_images_changed():
    from training.run_data import data_changes

    old = {
        "1": ("train", "blue hair red eyes", "aa"),
        "2": ("holdout", "red hair red eyes", "bb"),
        "3": ("train", "red hair blue eyes", "cc"),
    }
    assert data_changes(old, dict(old)) == []
    new = {
        "1": ("train", "blue hair blue eyes", "aa"),
        "3": ("train", "red hair blue eyes", "cd"),
        "10": ("train", "red hair blue eyes", "dd"),
    }
    assert data_changes(old, new) == [
        "1 row added (ids 10)",
        "1 row removed (ids 2)",
        "1 row edited (tags) (ids 1)",
        "1 image changed (ids 3)",
    ]
