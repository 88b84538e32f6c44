# Sourced by run.sh and test.sh: one .venv beside the repository, holding
# requirements.txt and requirements-test.txt, (re)installed when either file
# changes (a hash of both is kept in .venv/.tagface-requirements.sha256). Either
# script works alone on a fresh clone, in either order.
#   PYTHON=/path/to/python3.11 picks the interpreter that creates the venv.

tagface_venv() {
  local here="$1"
  local venv="$here/.venv" stamp="$here/.venv/.tagface-requirements.sha256"
  local python_bin="${PYTHON:-python3}"
  local want
  want="$(cat "$here/requirements.txt" "$here/requirements-test.txt" | sha256sum | cut -d' ' -f1)"
  if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return 0
  fi
  if [[ ! -x "$venv/bin/python" ]]; then
    if ! command -v "$python_bin" >/dev/null 2>&1; then
      echo "error: $python_bin not found: install Python 3.11 (or set PYTHON=/path/to/python3.11)" >&2
      exit 2
    fi
    if ! "$python_bin" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' >/dev/null 2>&1; then
      echo "error: tagface needs Python 3.11 or newer; $python_bin is $("$python_bin" -V 2>&1): set PYTHON=/path/to/python3.11" >&2
      exit 2
    fi
    echo "tagface: setting up $venv (first use: installs requirements.txt and requirements-test.txt, a few minutes)" >&2
    if ! "$python_bin" -m venv "$venv" >/dev/null 2>&1; then
      rm -rf "$venv"
      echo "error: $python_bin -m venv failed: install the venv module (Debian/Ubuntu: apt-get install python3-venv)" >&2
      exit 2
    fi
  else
    echo "tagface: updating $venv (requirements changed)" >&2
  fi
  export PIP_DISABLE_PIP_VERSION_CHECK=1
  "$venv/bin/python" -m pip install --quiet --upgrade pip >&2 || true
  if ! "$venv/bin/python" -m pip install --quiet -r "$here/requirements.txt" -r "$here/requirements-test.txt" >&2; then
    echo "error: pip could not install the requirements into $venv (see above); fix that and run again" >&2
    exit 2
  fi
  echo "$want" > "$stamp"
  echo "tagface: environment ready" >&2
}
