#!/usr/bin/env bash
# Make the virtualenv of independent label-format readers used by tests/interop/test_interop_validation.py
# (about 30 s and 700 MB from PyPI).  Usage: bash tests/interop/readers/setup.sh [VENV_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${1:-$here/../../../.venv-readers}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
echo "independent readers ready: $venv/bin/python"
