#!/usr/bin/env python3
"""Train a conditional BEGAN: python train.py --images DIR --tags-csv CSV (see --help)."""
import sys

from model.train_cli import main

if __name__ == "__main__":
    sys.exit(main())
