#!/usr/bin/env bash
# Makes drydock/python-base:3.11-bookworm, the local stand-in for the builder
# image's production base python:3.11-slim-bookworm, since no image can be pulled
# here: Debian 12 (debootstrap --variant=minbase from Debian's mirror) plus
# CPython 3.11 installed under /usr/local, as in the official image.
#
# Why not Debian's own python3: bookworm ships 3.11.2, and shared/archive.py
# extracts contexts with tarfile's `data` filter, which exists from 3.11.4 on.
# The CPython copied in is the machine's own (PYTHON, default python3.11: a
# pyenv-style installation under its own prefix), which must be 3.11.4 or newer.
#
# Cached at two levels, so that only the first run is slow (about a minute):
#   - the image itself: nothing to do when the engine already has it;
#   - the root filesystem as a tarball under .tools/builder-base/ (one per Python
#     version): re-imported in seconds when the image was removed.
# Root only (debootstrap creates device nodes and chroots); installs Debian's
# debootstrap when missing.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SUITE=bookworm
IMAGE=${DRYDOCK_BASE_IMAGE:-drydock/python-base:3.11-$SUITE}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PYTHON=${PYTHON:-python3.11}
CACHE=$REPO/.tools/builder-base
# What CPython's extension modules link against (ssl, ctypes, sqlite3, curses,
# uuid, dbm, readline, bz2, lzma, zlib, expat); tkinter is left out.
LIBRARIES=libssl3,libffi8,libsqlite3-0,libncursesw6,libuuid1,libgdbm6,libreadline8,libbz2-1.0,liblzma5,zlib1g,libexpat1,ca-certificates

say() { printf 'make-base: %s\n' "$*" >&2; }
fail() { say "$*"; exit 1; }

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    exit 0
fi

command -v "$PYTHON" >/dev/null 2>&1 || fail "$PYTHON not found: set PYTHON to a CPython 3.11.4+"
read -r prefix version ok < <("$PYTHON" -c '
import sys
print(sys.base_prefix, "%d.%d.%d" % sys.version_info[:3], sys.version_info[:3] >= (3, 11, 4))')
[[ $version == 3.11.* && $ok == True ]] \
    || fail "$PYTHON is $version: the builder needs CPython 3.11.4 or newer (tarfile's data filter)"
[[ $prefix != /usr ]] \
    || fail "$PYTHON is the distribution's, under /usr: point PYTHON at a CPython 3.11.4+ installed under its own prefix (pyenv, /opt/python)"
TARBALL=$CACHE/debian-$SUITE-python$version.tar

if [[ ! -s $TARBALL ]]; then
    [[ $(id -u) -eq 0 ]] || fail "debootstrap needs root: run as root, or 'docker tag' python:3.11-slim-bookworm as $IMAGE"
    if ! command -v debootstrap >/dev/null 2>&1; then
        say "apt-get install debootstrap"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null \
            || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive \
                apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; } \
            || fail "apt-get install debootstrap failed: check the network and the apt sources"
    fi
    mkdir -p "$CACHE"
    rootfs=$(mktemp -d "$CACHE/rootfs.XXXXXX")
    trap 'rm -rf "$rootfs"' EXIT
    say "debootstrap --variant=minbase $SUITE from $MIRROR, plus CPython $version from $prefix (once; cached in ${TARBALL#"$REPO"/})"
    debootstrap --variant=minbase --include="$LIBRARIES" "$SUITE" "$rootfs" "$MIRROR" \
        >"$CACHE/debootstrap.log" 2>&1 \
        || fail "debootstrap failed: see ${CACHE#"$REPO"/}/debootstrap.log"
    # The interpreter and its standard library, not the machine's site-packages,
    # test suite, Tk or static library.
    mkdir -p "$rootfs/usr/local/bin" "$rootfs/usr/local/lib"
    cp -a "$prefix/bin/python3.11" "$rootfs/usr/local/bin/"
    ln -s python3.11 "$rootfs/usr/local/bin/python3"
    ln -s python3 "$rootfs/usr/local/bin/python"
    cp -a "$prefix"/lib/libpython3.11.so* "$rootfs/usr/local/lib/" 2>/dev/null || true
    tar -C "$prefix/lib" \
        --exclude='python3.11/site-packages/*' --exclude='python3.11/test' \
        --exclude='python3.11/idlelib' --exclude='python3.11/tkinter' \
        --exclude='python3.11/turtledemo' --exclude='_tkinter*' --exclude='*.a' \
        --exclude='__pycache__' -cf - python3.11 | tar -C "$rootfs/usr/local/lib" -xf -
    chroot "$rootfs" /sbin/ldconfig
    chroot "$rootfs" /usr/local/bin/python3 -c 'import ssl, ctypes, sqlite3, ensurepip, venv, tarfile; tarfile.data_filter' \
        || fail "the copied CPython does not start in the new root: a library is missing from LIBRARIES"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log
    tar --numeric-owner -C "$rootfs" -cf "$TARBALL.partial" .
    mv "$TARBALL.partial" "$TARBALL"
fi

say "docker import ${TARBALL#"$REPO"/} as $IMAGE"
docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    "$TARBALL" "$IMAGE" >/dev/null \
    || fail "docker import failed: is the Docker Engine running?"
