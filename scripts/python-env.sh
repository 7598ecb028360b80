#!/usr/bin/env bash
# Creates ./.venv (Python 3.10+) with the packages of scripts/requirements-test.txt. Idempotent:
# nothing is installed again while the requirements file is unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
requirements=scripts/requirements-test.txt
stamp=.venv/.requirements.sha256
want=$(sha256sum "$requirements" | cut -d' ' -f1)

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x .venv/bin/python ]; then
    exit 0
fi
echo "python-env: installing $requirements into .venv"
"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10 or newer is needed")'
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
echo "$want" > "$stamp"
