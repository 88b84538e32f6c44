#!/usr/bin/env bash
# Faces from tags with the bundled model.
#   ./run.sh "blue hair red eyes"       -> samples/<slug>.png (5x5)
#   ./run.sh testing_tags.txt           -> samples/cgan.png + samples/sample_<id>_<k>.jpg
#   ./run.sh --serve                    -> the tag studio page on http://127.0.0.1:8765/
# Extra flags pass through to generate.py (see ./run.sh --help).
# First use creates .venv beside this script (the one ./test.sh uses) and installs the requirements.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
MODEL="${TAGFACE_MODEL:-$HERE/models/default}"
if [[ -n "${TAGFACE_MODEL:-}" && "$MODEL" != /* ]]; then  # relative to where the command is run
  if [[ ! -f "$PWD/$MODEL/config.json" && -f "$HERE/$MODEL/config.json" ]]; then
    MODEL="$HERE/$MODEL"  # e.g. TAGFACE_MODEL=models/default-training from another folder
  else
    MODEL="$PWD/$MODEL"
  fi
fi
source "$HERE/common/bootstrap.sh"
tagface_venv "$HERE"

if [[ $# -eq 0 ]]; then
  echo 'usage: ./run.sh "blue hair red eyes" [generate.py flags]   or   ./run.sh testing_tags.txt   or   ./run.sh --serve' >&2
  exit 2
fi
if [[ "$1" == "-h" || "$1" == "--help" ]]; then
  exec "$VENV/bin/python" "$HERE/generate.py" --help
fi
if [[ ! -f "$MODEL/config.json" && -n "${TAGFACE_MODEL:-}" ]]; then
  echo "error: TAGFACE_MODEL=$TAGFACE_MODEL: no model at $MODEL (no config.json); give a run folder" \
       "(python train.py ... --run-dir runs/<name>) or an exported model folder, absolute or relative to $PWD" >&2
  exit 2
elif [[ ! -f "$MODEL/config.json" ]]; then
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
