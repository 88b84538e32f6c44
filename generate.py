#!/usr/bin/env python3
"""Generate faces from tags: python generate.py --tags "blue hair red eyes" (see --help)."""
import sys

from model.generate_cli import main

if __name__ == "__main__":
    sys.exit(main())
