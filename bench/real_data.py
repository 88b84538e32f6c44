"""The real anime-faces set's default location (beside the checkout, in
../shared) and the --images / --tags-csv flags the real-data benches share."""

import argparse

import bench

DATA = bench.ROOT.parent / "shared" / "data" / "anime-faces-64"


def parser(doc: str, spec) -> argparse.ArgumentParser:
    """A bench's argument parser (bench.parser) with --images and --tags-csv defaulting to the real set."""
    p = bench.parser(doc, spec)
    p.add_argument("--images", default=str(DATA / "images"), help="image folder (default: the real set)")
    p.add_argument("--tags-csv", default=str(DATA / "tags.csv"), help="tag CSV (default: the real set)")
    return p
