#!/usr/bin/env bash
# The test suite: ./test.sh   (extra arguments go to pytest: ./test.sh tests/test_tags_parser.py -x)
# First use creates .venv beside this script (the one run.sh uses) with
# requirements.txt and requirements-test.txt; then runs .venv/bin/python -m pytest -q.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/common/bootstrap.sh"
tagface_venv "$HERE"
cd "$HERE"
if [[ $# -eq 0 ]]; then
  set -- tests
fi
exec "$HERE/.venv/bin/python" -m pytest -q "$@"
