#!/usr/bin/env bash
# The test suite: ./test.sh   (extra arguments go to pytest: ./test.sh tests/test_tags_parser.py -x)
# First use creates .venv beside this script (the one run.sh uses) with
# requirements.txt and requirements-test.txt; then runs .venv/bin/python -m pytest -q
# on one pytest-xdist worker per core, up to 4 (TAGFACE_TEST_WORKERS=N sets another count;
# 0 runs in this process, as `-n 0` after the other arguments also does).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/common/bootstrap.sh"
tagface_venv "$HERE"
cd "$HERE"
if [[ $# -eq 0 ]]; then
  set -- tests
fi
CORES="$(nproc 2>/dev/null || echo 2)"
WORKERS="${TAGFACE_TEST_WORKERS:-$(( CORES < 4 ? CORES : 4 ))}"  # each worker holds its own TensorFlow
exec "$HERE/.venv/bin/python" -m pytest -q -n "$WORKERS" "$@"
