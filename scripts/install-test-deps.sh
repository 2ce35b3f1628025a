#!/bin/sh
# System packages the test suite drives (idempotent: installs only what is missing).
#   chromium: renders the server's entity pages headless (tests/test_serve.py).
# Needs root (or sudo) and Debian/Ubuntu apt; elsewhere it says what to install and carries on,
# and the tests that need a missing browser are skipped with that reason.
set -e

need=""
[ -x /usr/bin/chromium ] || need="$need chromium"

[ -z "$need" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-test-deps: please install:$need (no apt-get here)" >&2
    exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need
