"""The course baseline on real faces: 5x5 grids of real anime faces must pass.

    .venv/bin/python -m bench.quality.baseline_real [--images DIR] [--tags-csv CSV] [--grids 4]
    [--rate-images 1000]

Lays out --grids grids of 25 random real faces exactly as generate.py lays
out a 5x5 grid (64 px cells, 2 px gaps), runs the course's detector on each
(`evaluate.baseline`), and prints the count per grid (expect 25/25), then the
per-image face rate on --rate-images random real faces (the reference for
evaluate.metrics' face rate; 0.972 here).
"""

from pathlib import Path

from bench import real_data


def main():
    p = real_data.parser(__doc__, __spec__)
    p.add_argument("--grids", type=int, default=4)
    p.add_argument("--rate-images", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    import numpy as np

    from evaluate import baseline
    from sampling.grid import grid

    ids = [line.split(",", 1)[0] for line in Path(args.tags_csv).read_text().splitlines() if line.strip()]
    rng = np.random.default_rng(args.seed)
    pick = rng.choice(len(ids), args.grids * 25 + args.rate_images, replace=False)
    images = np.stack([baseline.read_image(Path(args.images) / f"{ids[i]}.jpg") for i in pick])
    passed = 0
    for g in range(args.grids):
        result = baseline.grade_grid_image(grid(images[g * 25 : (g + 1) * 25], ncols=5))
        passed += result.passed
        print(f"real grid {g + 1}: {result.verdict}")
    print(f"{passed}/{args.grids} real grids pass")
    rate = baseline.face_rate(images[args.grids * 25 :])
    print(f"per-image face rate on {args.rate_images} real faces: {rate:.3f}")


if __name__ == "__main__":
    main()
