#!/usr/bin/env bash
# Installs checkov, pinned, into its own virtualenv under .tools/checkov, and
# only when that exact version is absent (a second run takes well under a second).
#
# Its own venv because checkov pins dozens of dependencies (boto3, networkx,
# pydantic…) that would clash with the project's requirements in .venv.
# Prints the path of the checkov executable on stdout; messages go to stderr.
#   infra/check/install-checkov.sh            # install if missing
#   "$(infra/check/install-checkov.sh)" -d infra --framework bicep
set -euo pipefail

CHECKOV_VERSION=3.3.30
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV=$REPO/.tools/checkov
PYTHON=${PYTHON:-python3.11}

say() { printf 'install-checkov: %s\n' "$*" >&2; }
fail() { say "$*"; exit 1; }

installed_version() {
    [[ -x $VENV/bin/checkov ]] || return 1
    "$VENV/bin/python" - <<'EOF' 2>/dev/null
from importlib.metadata import version
print(version("checkov"))
EOF
}

if [[ $(installed_version || true) != "$CHECKOV_VERSION" ]]; then
    command -v "$PYTHON" >/dev/null 2>&1 || fail "$PYTHON not found: install python3.11 or set PYTHON"
    say "installing checkov $CHECKOV_VERSION into .tools/checkov (takes a minute or two)"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV" || fail "'$PYTHON -m venv' failed: install python3.11-venv"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "checkov==$CHECKOV_VERSION" >&2 \
        || fail "pip install checkov==$CHECKOV_VERSION failed: check PyPI access"
fi
printf '%s\n' "$VENV/bin/checkov"
