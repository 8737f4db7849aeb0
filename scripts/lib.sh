# shellcheck shell=bash
# Shared helpers for Slipway's scripts. Source it; do not run it:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Sets SLIPWAY_REPO (absolute path of the repository root) and defines the
# package sets and the helpers used by ensure-deps.sh, test.sh and demo.sh.

if [[ -n "${SLIPWAY_LIB_SOURCED:-}" ]]; then
    return 0
fi
SLIPWAY_LIB_SOURCED=1

SLIPWAY_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
export SLIPWAY_REPO

# Debian packages needed to build Slipway and to run it (svn, git, rsync).
# shellcheck disable=SC2034 # used by the scripts that source this file
SLIPWAY_BASE_PACKAGES="build-essential pkg-config libpq-dev subversion rsync git ca-certificates"

# Extra Debian packages for the test suite. Extend this list when a test needs
# another program. (The PostgreSQL *server*, package `postgresql`, is handled
# separately: it is installed only when no PostgreSQL answers at
# TEST_DATABASE_URL; postgresql-client provides psql for that check. `passwd`
# brings useradd: tests/children.rs makes the worker.run_as user it tests with;
# slapd and ldap-utils: tests/ldap.rs runs its own OpenLDAP on loopback;
# `supervisor` brings supervisord and supervisorctl for tests/services.rs.)
# shellcheck disable=SC2034 # used by the scripts that source this file
SLIPWAY_TEST_PACKAGES="postgresql-client openssh-server openssh-client python3-aiosmtpd openssl chromium chromium-driver fonts-noto-cjk wrk passwd slapd ldap-utils supervisor"

# Where the tests find PostgreSQL unless TEST_DATABASE_URL says otherwise.
# shellcheck disable=SC2034 # used by the scripts that source this file
SLIPWAY_DEFAULT_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/test"

# rustup installs cargo into ~/.cargo/bin; a non-login shell (CI) may not
# have it on PATH yet.
if ! command -v cargo >/dev/null 2>&1 && [[ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]]; then
    PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
    export PATH
fi

# ---------------------------------------------------------------- messages

# banner "text": the `==> step` line that starts each step.
banner() {
    printf '\n==> %s\n' "$*"
}

info() {
    printf '%s\n' "$*"
}

warn() {
    printf 'warning: %s\n' "$*" >&2
}

die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# ---------------------------------------------------------------- packages

# pkg_installed NAME: true when the Debian package NAME is installed.
pkg_installed() {
    local status
    status="$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" || return 1
    # "install ok installed" / "hold ok installed"; not "... not-installed",
    # "... config-files", "... half-installed".
    [[ "$status" == *" ok installed" ]]
}

# missing_packages NAME...: prints the names that are not installed, one per
# line. Without dpkg-query every package counts as missing.
missing_packages() {
    local p
    for p in "$@"; do
        if ! command -v dpkg-query >/dev/null 2>&1 || ! pkg_installed "$p"; then
            printf '%s\n' "$p"
        fi
    done
}

# apt_install NAME...: installs the named packages (all of them missing) with
# apt-get, or exits 1 naming them when that is impossible. Runs
# `apt-get update` at most once per process.
SLIPWAY_APT_UPDATED=0
apt_install() {
    (($# > 0)) || return 0
    if ! command -v apt-get >/dev/null 2>&1; then
        die "missing packages: $* (apt-get not found: install them with this system's package manager)"
    fi
    if ((EUID != 0)); then
        die "missing packages: $* (run as root, or: sudo apt-get install --no-install-recommends $*)"
    fi
    info "ensure-deps: installing: $*"
    if ((SLIPWAY_APT_UPDATED == 0)); then
        DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null \
            || die "apt-get update failed (needed for: $*)"
        SLIPWAY_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" </dev/null \
        || die "apt-get install failed for: $*"
}

# --------------------------------------------------------------- PostgreSQL

# pg_answers URL: true when a PostgreSQL server answers `select 1` at URL
# within a few seconds.
pg_answers() {
    command -v psql >/dev/null 2>&1 || return 1
    local out
    out="$(PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-3}" psql "$1" -X -Atc 'select 1' </dev/null 2>/dev/null)" || return 1
    [[ "$out" == 1 ]]
}

# pg_bindir: prints the bin directory of the highest PostgreSQL version under
# /usr/lib/postgresql that has initdb and pg_ctl (Debian's layout).
pg_bindir() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then
            printf '%s\n' "$d"
        fi
    done | sort -V | tail -n 1 | grep .
}

# redact_url URL: the URL with any password replaced by ***.
redact_url() {
    # shellcheck disable=SC2001
    sed -E 's#^([a-z]+://[^:/@]+):[^@/]*@#\1:***@#' <<<"$1"
}

# ------------------------------------------------------------------- misc

# port_in_use PORT: true when something accepts TCP connections on
# 127.0.0.1:PORT.
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") >/dev/null 2>&1
}

# free_port START: prints the first port from START upward (100 tries) that
# nothing listens on.
free_port() {
    local p
    for ((p = $1; p < $1 + 100; p++)); do
        if ! port_in_use "$p"; then
            printf '%s\n' "$p"
            return 0
        fi
    done
    return 1
}

# need_cargo: exits 1 with instructions when cargo is not installed.
need_cargo() {
    command -v cargo >/dev/null 2>&1 && return 0
    die "cargo not found. Install the Rust toolchain with rustup:
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c rustfmt,clippy
    . \"\$HOME/.cargo/env\"
(this script cannot download a toolchain itself)"
}
