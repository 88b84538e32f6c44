#!/usr/bin/env bash
# Faces from tags with the bundled model.
#   ./run.sh "blue hair red eyes"       -> samples/<slug>.png (5x5)
#   ./run.sh testing_tags.txt           -> samples/cgan.png + samples/sample_<id>_<k>.jpg
#   ./run.sh --serve                    -> the tag studio page on http://127.0.0.1:8765/
# Extra flags pass through to generate.py (see ./run.sh --help).
# First use creates .venv beside this script and installs requirements.txt.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
STAMP="$VENV/.requirements.sha256"
MODEL="${TAGFACE_MODEL:-$HERE/models/default}"
PYTHON_BIN="${PYTHON:-python3}"

want="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" || ! -f "$STAMP" || "$(cat "$STAMP")" != "$want" ]]; then
  echo "run.sh: setting up $VENV (first use: installs requirements.txt, a few minutes)" >&2
  [[ -x "$VENV/bin/python" ]] || "$PYTHON_BIN" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
  "$VENV/bin/python" -m pip install --quiet -r "$HERE/requirements.txt" >&2
  echo "$want" > "$STAMP"
  echo "run.sh: environment ready" >&2
fi

if [[ $# -eq 0 ]]; then
  echo 'usage: ./run.sh "blue hair red eyes" [generate.py flags]   or   ./run.sh testing_tags.txt   or   ./run.sh --serve' >&2
  exit 2
fi
if [[ "$1" == "-h" || "$1" == "--help" ]]; then
  exec "$VENV/bin/python" "$HERE/generate.py" --help
fi
if [[ ! -f "$MODEL/config.json" ]]; then
  echo "error: no model at $MODEL (no config.json): restore models/default (git checkout -- models/default)" \
       "or set TAGFACE_MODEL to a run or exported model folder (python train.py ... --run-dir runs/<name>)" >&2
  exit 2
fi

first="$1"; shift
if [[ "$first" == -* ]]; then  # only flags, e.g. ./run.sh --sweep hair --tags "red eyes"
  exec "$VENV/bin/python" "$HERE/generate.py" --model "$MODEL" "$first" "$@"
fi
if [[ -f "$first" ]]; then
  exec "$VENV/bin/python" "$HERE/generate.py" --model "$MODEL" --tags-file "$first" --format both "$@"
fi
exec "$VENV/bin/python" "$HERE/generate.py" --model "$MODEL" --tags "$first" "$@"
