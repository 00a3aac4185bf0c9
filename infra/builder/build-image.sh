#!/usr/bin/env bash
# Builds the builder image from infra/builder/Dockerfile (what `make builder-image` runs).
#   infra/builder/build-image.sh                    # -> drydock/builder:dev
#   infra/builder/build-image.sh --tag NAME:TAG
#   infra/builder/build-image.sh --stage DIR        # only prepare the build context in DIR
#                                                   # (for `az acr build ... DIR`)
# Environment:
#   BASE_IMAGE    the base to build FROM. Unset: the local stand-in
#                 drydock/python-base:3.11-bookworm, made by make-base.sh when missing.
#                 Production: python:3.11-slim-bookworm@sha256:<digest>.
#   EXTRA_CA_DIR  folder of *.crt CA certificates pip must trust while installing the
#                 requirements (a TLS-intercepting proxy's). Default: the host's own
#                 additions, /usr/local/share/ca-certificates. Used in a build stage
#                 only; they are not in the resulting image. Empty: none.
#
# The context is staged (Dockerfile, requirements.txt, shared/, builder/, ca/)
# rather than being the repository root, whose .venv, .tools and .data would be
# sent to the engine at every build. Layers are cached by the engine: when only
# shared/ or builder/ changed, a rebuild takes seconds.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TAG=drydock/builder:dev
STAGE=
EXTRA_CA_DIR=${EXTRA_CA_DIR-/usr/local/share/ca-certificates}

say() { printf 'builder-image: %s\n' "$*" >&2; }
fail() { say "$*"; exit 1; }

while (($#)); do
    case $1 in
        --tag) TAG=${2:?--tag needs NAME:TAG}; shift 2 ;;
        --stage) STAGE=${2:?--stage needs a folder}; shift 2 ;;
        *) fail "usage: build-image.sh [--tag NAME:TAG] [--stage DIR]" ;;
    esac
done

stage_context() {
    local dir=$1
    mkdir -p "$dir/ca"
    cp "$REPO/infra/builder/Dockerfile" "$REPO/requirements.txt" "$dir/"
    # Sources only: no bytecode caches, no editor droppings.
    tar -C "$REPO" --exclude='__pycache__' --exclude='*.pyc' -cf - shared builder | tar -C "$dir" -xf -
    if [[ -n $EXTRA_CA_DIR && -d $EXTRA_CA_DIR ]]; then
        find "$EXTRA_CA_DIR" -maxdepth 1 -name '*.crt' -exec cp {} "$dir/ca/" \;
    fi
}

if [[ -n $STAGE ]]; then
    stage_context "$STAGE"
    say "build context staged in $STAGE"
    exit 0
fi

if [[ -z ${BASE_IMAGE:-} ]]; then
    BASE_IMAGE=drydock/python-base:3.11-bookworm
    DRYDOCK_BASE_IMAGE=$BASE_IMAGE "$REPO/infra/builder/make-base.sh"
fi

context=$(mktemp -d "${TMPDIR:-/tmp}/drydock-builder-context.XXXXXX")
trap 'rm -rf "$context"' EXIT
stage_context "$context"
log=$REPO/.tools/builder-image.log
mkdir -p "$(dirname "$log")"
say "docker build -t $TAG (FROM $BASE_IMAGE; log: ${log#"$REPO"/})"
# Host network for the build: apt and pip reach Debian's mirror and PyPI the way
# the host does (its DNS and proxy), whatever the engine's bridge allows.
docker build --network host --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$TAG" "$context" >"$log" 2>&1 \
    || { tail -n 30 "$log" >&2; fail "docker build failed: the whole log is in ${log#"$REPO"/}"; }
say "built $TAG"
