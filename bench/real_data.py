"""The real anime-faces set's default location (beside the checkout, in
../shared) and the --images / --tags-csv flags the real-data benches share."""
import argparse
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "anime-faces-64"


def parser(doc: str) -> argparse.ArgumentParser:
    """An argument parser with --images and --tags-csv defaulting to the real set."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", default=str(DATA / "images"), help="image folder (default: the real set)")
    p.add_argument("--tags-csv", default=str(DATA / "tags.csv"), help="tag CSV (default: the real set)")
    return p
