#!/bin/sh
# Install the system packages the integration tests need, only when they are missing (idempotent).
# Run as root (CI does); `make test` calls it. Each block is independent; without root, what is missing
# is named and the tests that need it skip (ICU: see its block).
set -eu

need() {  # need PACKAGE...: install those not yet installed, with one apt-get update
    missing=""
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
    done
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        echo "install-test-deps: cannot install$missing (need root and apt-get); tests using them will skip" >&2
        return 0
    fi
    if [ -z "${APT_UPDATED:-}" ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq || true
        APT_UPDATED=1
    fi
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null \
        || echo "install-test-deps: apt-get could not install$missing; tests using them will skip" >&2
}

# --- ICU headers and pkg-config: PyICU (a runtime dependency: transliteration for `search`) has no
# wheels on PyPI and builds against the system's ICU. `make install` runs this block alone (ICU_ONLY=1).
# Where pkg-config already finds ICU (installed by any means), there is nothing to do and no root needed.
icu_found() { command -v pkg-config >/dev/null && pkg-config --exists icu-i18n; }
if ! icu_found; then
    need libicu-dev pkg-config
    icu_found || echo "install-test-deps: ICU's headers are missing, so pip cannot build PyICU and the install" \
        "will stop there; install libicu-dev and pkg-config (as root), or point PKG_CONFIG_PATH at an ICU" >&2
fi
[ -n "${ICU_ONLY:-}" ] && exit 0

# --- virtuoso: the SPARQL store for `pledgegraph push` (tests/test_push_virtuoso.py) ---
need virtuoso-opensource

# --- chromium: headless browser for the release's HTML pages (tests/test_publish_browser.py) ---
need chromium

# --- a JDK: the OWL API / HermiT check runs as a single-file Java program (tests/test_owl_dl.py) ---
java --list-modules 2>/dev/null | grep -q '^jdk.compiler@' || need default-jdk-headless
# --- nginx (with njs) and Apache: the release's server configurations (tests/test_server_configs.py) ---
need nginx libnginx-mod-http-js apache2
