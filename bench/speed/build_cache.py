"""Cache build and reload time on a real image folder.

    .venv/bin/python -m bench.speed.build_cache [--images ../shared/data/anime-faces-64/images]
        [--tags-csv ../shared/data/anime-faces-64/tags.csv]

Builds into a fresh temporary cache folder (so nothing is reused), then loads
it again; prints both wall times, the counts and the cache size.
"""

import tempfile
import time

from bench import real_data


def main():
    p = real_data.parser(__doc__, __spec__)
    p.add_argument(
        "--image-size", "--size", dest="size", type=int, default=64, help="image size (default 64)"
    )
    args = p.parse_args()
    from preprocess.cache import build_or_load
    from preprocess.spec import DataSpec

    spec = DataSpec(args.images, args.tags_csv, size=args.size)
    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        data = build_or_load(spec, cache_dir=cache, progress=False)
        build = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = build_or_load(spec, cache_dir=cache, progress=False)
        reload = time.perf_counter() - t0
        assert again.loaded_from_cache and len(again) == len(data)
        print(
            f"build {build:.1f} s, reload {reload:.2f} s: {len(data)} images kept, "
            f"{sum(data.skipped.values())} skipped {data.skipped}, {int(data.holdout.sum())} held out, "
            f"cache {data.cache_path.stat().st_size / 1e6:.0f} MB"
        )


if __name__ == "__main__":
    main()
