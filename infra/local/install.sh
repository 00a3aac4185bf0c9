#!/usr/bin/env bash
# Installs what the local stack needs, and only what is missing
# (`install.sh venv`: only the virtualenv, enough for lint and unit tests):
#   - Debian packages: docker-registry, busybox-static, python3.11(-venv) and
#     nodejs/npm when absent, docker.io only when no Docker Engine answers;
#   - .venv from requirements-dev.txt plus `pip install -e .` (the `drydock` CLI),
#     reinstalled only when the requirements' hash changes;
#   - Azurite, pinned, under .tools/azurite (never global).
# Everything but apt packages stays under the repository. A second run when all
# is installed takes well under a second.
set -euo pipefail

AZURITE_VERSION=3.35.0
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV=$REPO/.venv
TOOLS=$REPO/.tools
PYTHON=${PYTHON:-python3.11}

say() { printf 'install: %s\n' "$*"; }
fail() { printf 'install: %s\n' "$*" >&2; exit 1; }

is_installed() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

# True when some Docker Engine answers: DOCKER_HOST if set, else the default socket.
engine_answers() {
    if command -v docker >/dev/null 2>&1; then
        docker info >/dev/null 2>&1 && return 0
    fi
    [[ -z ${DOCKER_HOST:-} && -S /var/run/docker.sock ]] || return 1
    command -v curl >/dev/null 2>&1 || return 1
    curl -fsS --max-time 3 --unix-socket /var/run/docker.sock http://docker/_ping >/dev/null 2>&1
}

missing_packages() {
    local wanted=(docker-registry busybox-static)
    command -v "$PYTHON" >/dev/null 2>&1 || wanted+=(python3.11)
    if [[ ! -x $VENV/bin/python ]] && ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        wanted+=(python3.11-venv)
    fi
    command -v node >/dev/null 2>&1 || wanted+=(nodejs)
    command -v npm >/dev/null 2>&1 || wanted+=(npm)
    # dockerd present but stopped is fine: stack.py starts it.
    if ! command -v dockerd >/dev/null 2>&1 && ! engine_answers; then
        wanted+=(docker.io)
    fi
    local pkg
    for pkg in "${wanted[@]}"; do
        is_installed "$pkg" || printf '%s\n' "$pkg"
    done
}

has_candidate() {
    local candidate
    candidate=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')
    [[ -n $candidate && $candidate != "(none)" ]]
}

install_packages() {
    local packages
    mapfile -t packages < <(missing_packages)
    ((${#packages[@]})) || return 0
    if [[ $(id -u) -ne 0 ]]; then
        fail "missing Debian packages (${packages[*]}) and you are not root: run 'sudo apt-get install -y ${packages[*]}' or run as root"
    fi
    local pkg updated=false
    for pkg in "${packages[@]}"; do
        if ! has_candidate "$pkg"; then
            apt_update "no candidate for $pkg yet"
            updated=true
            break
        fi
    done
    say "apt-get install ${packages[*]}"
    apt_install "${packages[@]}" && return 0
    local why="apt-get install ${packages[*]} failed: run it by hand to see why"
    $updated && fail "$why"
    # Stale package lists make downloads 404: refresh once and retry.
    apt_update "install failed with the current package lists"
    apt_install "${packages[@]}" || fail "$why"
}

apt_update() {
    say "apt-get update ($1)"
    apt-get update -qq >/dev/null \
        || fail "apt-get update failed: check the network and /etc/apt/sources.list"
}

apt_install() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

requirements_hash() {
    cat "$REPO/requirements.txt" "$REPO/requirements-dev.txt" "$REPO/pyproject.toml" \
        | sha256sum | cut -d' ' -f1
}

install_venv() {
    if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c '' >/dev/null 2>&1; then
        command -v "$PYTHON" >/dev/null 2>&1 || fail "$PYTHON not found: install python3.11 or set PYTHON"
        say "creating .venv with $PYTHON"
        rm -rf "$VENV"
        "$PYTHON" -m venv "$VENV" || fail "'$PYTHON -m venv' failed: install python3.11-venv"
    fi
    local stamp=$VENV/.requirements.sha256 wanted
    wanted=$(requirements_hash)
    [[ -f $stamp && $(<"$stamp") == "$wanted" ]] && return 0
    say "pip install -r requirements-dev.txt and -e . (requirements changed)"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REPO/requirements-dev.txt" \
        || fail "pip install -r requirements-dev.txt failed: check PyPI access and the pins"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e "$REPO" \
        || fail "pip install -e . failed: check pyproject.toml"
    printf '%s\n' "$wanted" >"$stamp"
}

install_azurite() {
    local prefix=$TOOLS/azurite
    local manifest=$prefix/node_modules/azurite/package.json
    if [[ -f $manifest ]] && grep -q "\"version\": \"$AZURITE_VERSION\"" "$manifest"; then
        return 0
    fi
    command -v npm >/dev/null 2>&1 || fail "npm not found: install Debian's npm or Node.js"
    say "npm install azurite@$AZURITE_VERSION into .tools/azurite"
    mkdir -p "$prefix"
    [[ -f $prefix/package.json ]] || printf '{"private": true}\n' >"$prefix/package.json"
    npm install --prefix "$prefix" --save-exact --no-audit --no-fund --loglevel=error \
        "azurite@$AZURITE_VERSION" >/dev/null \
        || fail "npm install azurite@$AZURITE_VERSION failed: check access to the npm registry"
}

main() {
    case ${1:-all} in
        all) install_packages; install_venv; install_azurite ;;
        venv) install_venv ;;
        *) fail "usage: install.sh [all|venv] (venv: only .venv, for lint and unit tests)" ;;
    esac
}

main "$@"
