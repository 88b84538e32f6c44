#!/usr/bin/env bash
# The test suite: ./test.sh   (extra arguments go to pytest: ./test.sh tests/test_tags_parser.py -x)
# First use creates .venv beside this script (the one run.sh uses) with
# requirements.txt and requirements-test.txt; then runs .venv/bin/python -m pytest -q
# on one pytest-xdist worker per core, up to 4 (`-n auto --maxprocesses 4`: each worker holds
# its own TensorFlow). PYTEST_XDIST_AUTO_NUM_WORKERS=N, xdist's own setting, picks another count;
# 0, or `-n 0` after the other arguments, runs in this process.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/common/bootstrap.sh"
tagface_venv "$HERE"
cd "$HERE"
if [[ $# -eq 0 ]]; then
  set -- tests
fi
exec "$HERE/.venv/bin/python" -m pytest -q -n auto --maxprocesses 4 --dist worksteal "$@"
