"""bench/quality/default_model.py: the issue's targets, scaled to the grids drawn, and its errors
(the real-set measurement itself needs ../shared and is not run here)."""

import pytest

from bench.quality.default_model import TARGETS, main, met, targets


def test_grid_target_scales_with_the_grids_drawn_and_the_rest_stay():
    scaled = {name: target for name, target, _ in targets(10)}
    assert scaled["grids_passed"] == 9  # 18 of 20 -> 9 of 10
    assert {name: target for name, target, _ in targets(20)}["grids_passed"] == 18
    assert {name: target for name, target, _ in targets(3)}["grids_passed"] == 3  # rounded up, never easier
    assert {k: v for k, v in scaled.items() if k != "grids_passed"} == {
        name: target for name, target, _ in TARGETS if name != "grids_passed"
    }


def test_met_reads_the_direction_and_a_missing_figure_meets_nothing():
    assert met(0.95, 0.95, True) and not met(0.949, 0.95, True)
    assert met(40.0, 40.0, False) and not met(40.1, 40.0, False)
    assert not met(None, 0.5, True) and not met(None, 40.0, False)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--best-of", "0"], "--best-of must be between 1 and 64"),
        (["--truncation", "-1"], "--truncation must be between"),
        (["--grids", "0"], "--grids must be at least 1"),
    ],
)
def test_bad_options_are_one_line_errors_before_any_work(tmp_path, capsys, args, message):
    (tmp_path / "config.json").write_text("{}")
    assert main([str(tmp_path), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_a_folder_that_is_not_a_model_is_refused(tmp_path, capsys):
    assert main([str(tmp_path)]) == 2
    assert "is not an exported model" in capsys.readouterr().err


def test_prints_every_figure_beside_its_target_and_fails_when_one_is_missed(tmp_path, capsys, monkeypatch):
    import csv

    import bench.quality.default_model as bench

    (tmp_path / "config.json").write_text("{}")
    figures = {
        "face_rate": 0.96,
        "acc_hair": 0.96,
        "acc_eyes": 0.96,
        "frechet_generated_vs_real": 16.0,
        "diversity_ratio": 0.77,
        "kid_generated_vs_real": 0.6781,
        "kid_generated_vs_real_std": 0.3079,
        "kid_real_vs_real": 0.0464,
        "kid_real_vs_real_std": 0.3113,
        "sharpness_ratio": 0.3554,
    }
    monkeypatch.setattr(
        bench,
        "baseline_grids",
        lambda *a, **k: {"testing_grid_faces": 24, "grids_passed": 19, "grids_tried": 20, "grids": []},
    )
    monkeypatch.setattr(bench, "metrics", lambda *a, **k: dict(figures))
    out = tmp_path / "figures.csv"
    assert main([str(tmp_path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "grids_passed" in printed and "19/20" in printed and "NOT met" not in printed
    with open(out, newline="") as fh:
        rows = {r["metric"]: r for r in csv.DictReader(fh)}
    assert "KID 0.678 +- 0.308 (real vs real 0.0464), sharpness 0.355 x real" in printed
    assert {name for name, row in rows.items() if row["target"]} == {name for name, _, _ in TARGETS}
    assert rows["acc_hair"]["met"] == "True"
    # KID and sharpness, recorded with no target (none is set yet) and never failing the run
    assert {
        name: (row["value"], row["target"], row["met"]) for name, row in rows.items() if not row["target"]
    } == {
        "kid_generated_vs_real": ("0.6781", "", ""),
        "kid_generated_vs_real_std": ("0.3079", "", ""),
        "kid_real_vs_real": ("0.0464", "", ""),
        "kid_real_vs_real_std": ("0.3113", "", ""),
        "sharpness_ratio": ("0.3554", "", ""),
    }
    figures["diversity_ratio"] = 0.75
    assert main([str(tmp_path)]) == 1
    assert "diversity_ratio                 0.750   target >= 0.76   NOT met" in capsys.readouterr().out
    assert main([str(tmp_path), "--targets", "round2"]) == 0  # round 2's floor is 0.7
    figures |= {"face_rate": 0.9, "frechet_generated_vs_real": 20.0}
    assert main([str(tmp_path), "--targets", "round2"]) == 0
    assert main([str(tmp_path)]) == 1
