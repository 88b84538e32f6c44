"""bench/quality/time_to_quality.py reads the first evaluation that met each target."""

import csv

from bench.quality.time_to_quality import first_met, main


def _rows():
    return [
        {
            "step": "1000",
            "cpu_seconds": "3600",
            "baseline_faces": "12",
            "face_rate": "0.5",
            "acc_hair": "0.9",
            "acc_eyes": "0.5",
            "frechet_generated_vs_real": "100",
            "diversity_ratio": "0.5",
        },
        {
            "step": "2000",
            "cpu_seconds": "7200",
            "baseline_faces": "21",
            "face_rate": "0.86",
            "acc_hair": "0.96",
            "acc_eyes": "0.6",
            "frechet_generated_vs_real": "60",
            "diversity_ratio": "0.71",
        },
        {
            "step": "3000",
            "cpu_seconds": "10800",
            "baseline_faces": "19",
            "face_rate": "0.9",
            "acc_hair": "0.97",
            "acc_eyes": "0.81",
            "frechet_generated_vs_real": "41",
            "diversity_ratio": "0.6",
        },
    ]


def test_first_met_per_target():
    hits = first_met(_rows(), "round2")
    assert hits["baseline passed (>= 20 faces)"] == (2.0, 2000)
    assert hits["face rate >= 0.85"] == (2.0, 2000)
    assert hits["eyes >= 0.8"] == (3.0, 3000)
    assert hits["diversity >= 0.7 x real"] == (2.0, 2000)  # met once, even if lost later
    assert hits["Frechet <= 40"] is None
    assert hits["every target at once (of these)"] is None  # never all in one row
    strict = first_met(_rows())  # round 3: face rate >= 0.95 was never met, hair >= 0.95 was at step 2000
    assert strict["face rate >= 0.95"] is None and strict["hair >= 0.95"] == (2.0, 2000)


def test_every_target_at_once_is_the_first_row_meeting_all():
    rows = _rows() + [
        {
            "step": "4000",
            "cpu_seconds": "14400",
            "baseline_faces": "22",
            "face_rate": "0.9",
            "acc_hair": "0.97",
            "acc_eyes": "0.85",
            "frechet_generated_vs_real": "30",
            "diversity_ratio": "0.75",
        }
    ]
    rows.append(dict(rows[-1], step="5000", cpu_seconds="18000"))
    assert first_met(rows, "round2")["every target at once (of these)"] == (4.0, 4000)
    assert first_met(rows, "round2")["Frechet <= 40"] == (4.0, 4000)


def test_cli_prints_each_target_and_refuses_a_run_without_eval_csv(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    with open(run / "eval.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(_rows()[0]))
        writer.writeheader()
        writer.writerows(_rows())
    assert main([str(run), "--targets", "round2"]) == 0
    out = capsys.readouterr().out
    assert "3 evaluations, 3.00 CPU-hours to step 3000" in out
    assert "eyes >= 0.8                      3.00 CPU-hours (step 3000)" in out and "Frechet <= 40" in out
    assert main([str(tmp_path / "none")]) == 2
