"""Long kill-and-resume soak: SIGKILL a training run at random moments (>= 10
times), resume each time, and check nothing is lost or duplicated.

    .venv/bin/python bench/kill_resume.py [--kills 12] [--steps 200]

Prints kills survived, steps redone per kill, resumes whose restored k_t, lr
and filter threshold equalled the checkpoint, and the wall time.
"""
import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kills", type=int, default=12)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    from model.soak import soak
    from preprocess.synthetic import write_synthetic_set

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        faces = write_synthetic_set(tmp / "faces", 1, size=32, seed=0, formats=("2018",))
        train_args = ["--images", str(faces / "images"), "--tags-csv", str(faces / "tags_2018.csv"),
                      "--cache-dir", str(tmp / "cache"), "--image-size", "32", "--filters", "8",
                      "--repeats", "1", "--nz", "16", "--embed-dim", "8", "--batch-size", "8",
                      "--checkpoint-every", "10", "--log-every", "2", "--precision", "fp32"]
        report = soak(tmp / "run", train_args, args.steps, args.kills, seed=args.seed,
                      min_wait=6.0, max_wait=16.0, timeout=1800)
    lost = report.steps_lost
    print(f"kills survived: {report.kills}; final step {report.final_step}/{args.steps}; "
          f"steps redone per kill: mean {sum(lost) / max(len(lost), 1):.1f}, max {max(lost, default=0)}; "
          f"resumes with exact k/lr/threshold: {report.restored_matches}; wall {report.wall_seconds:.0f} s; "
          f"problems: {report.problems or 'none'}")
    sys.exit(1 if report.problems else 0)


if __name__ == "__main__":
    main()
