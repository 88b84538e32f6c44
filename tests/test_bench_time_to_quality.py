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


def _with_kid(rows):
    """The rows as a newer eval.csv writes them: the first evaluation from before KID (empty cells)."""
    kid = [("", "", ""), ("0.9", "0.3", "0.05"), ("0.5", "0.2", "0.05")]
    sharp = ["", "0.31", "0.35"]
    return [
        row
        | {"kid_generated_vs_real": k, "kid_generated_vs_real_std": s, "kid_real_vs_real": f}
        | {"sharpness_ratio": r}
        for row, (k, s, f), r in zip(rows, kid, sharp)
    ]


def test_the_lowest_frechet_and_the_lowest_kid_are_printed_with_each_others_figures():
    from bench.quality.time_to_quality import choice_lines, lowest, within_kid_spread

    rows = _with_kid(_rows())
    rows[1]["frechet_generated_vs_real"] = "39"  # the lowest Frechet is not the lowest KID
    assert lowest(rows, "frechet_generated_vs_real")["step"] == "2000"
    assert lowest(rows, "kid_generated_vs_real")["step"] == "3000"
    assert [r["step"] for r in within_kid_spread(rows, rows[2])] == ["3000"]  # 0.9 > 0.5 + 0.2
    rows[1]["kid_generated_vs_real"] = "0.65"
    assert [r["step"] for r in within_kid_spread(rows, rows[2])] == ["2000", "3000"]
    lines = choice_lines(rows)
    assert lines[0].split() == [
        "lowest",
        "Frechet",
        "step",
        "2000",
        "(2.00",
        "CPU-hours):",
        "Frechet",
        "39;",
    ] + ("KID 0.65 +- 0.3 (real vs real 0.05), sharpness 0.31 x real".split())
    assert "lowest KID" in lines[1] and "step 3000 (3.00 CPU-hours): Frechet 41; KID 0.5 +- 0.2" in lines[1]
    assert lines[2].split() == ["within", "its", "KID", "spread", "steps", "2000,", "3000"]
    assert choice_lines(_rows())[0].endswith("Frechet 41; no KID")  # an eval.csv from before KID
    assert len(choice_lines(_rows())) == 1


def test_cli_prints_the_choice_beside_the_targets(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    rows = _with_kid(_rows())
    with open(run / "eval.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert main([str(run)]) == 0
    out = capsys.readouterr().out
    assert "lowest KID" in out and "step 3000" in out and "sharpness 0.35 x real" in out
