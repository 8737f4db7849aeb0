#!/usr/bin/env bash
# Installs the Debian packages Slipway needs, when they are missing.
#
#   scripts/ensure-deps.sh          build + demo: compiler, libpq, svn, rsync, git
#   scripts/ensure-deps.sh --test   also what the test suite runs (see
#                                   SLIPWAY_TEST_PACKAGES in scripts/lib.sh) and,
#                                   when no PostgreSQL answers at
#                                   TEST_DATABASE_URL and none is installed,
#                                   the PostgreSQL server
#
# On a machine that has everything it prints one line and changes nothing.
# It runs `apt-get update` and `apt-get install` only for missing packages and
# needs root for that; otherwise it names the missing packages and exits 1.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    sed -n '2,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

with_tests=0
for arg in "$@"; do
    case "$arg" in
        --test) with_tests=1 ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            usage >&2
            die "unknown argument: $arg"
            ;;
    esac
done

need_cargo

# shellcheck disable=SC2206 # the package lists are space-separated words
wanted=($SLIPWAY_BASE_PACKAGES)
if ((with_tests)); then
    # shellcheck disable=SC2206
    wanted+=($SLIPWAY_TEST_PACKAGES)
fi

mapfile -t missing < <(missing_packages "${wanted[@]}")

test_db_url="${TEST_DATABASE_URL:-$SLIPWAY_DEFAULT_TEST_DATABASE_URL}"

# pg_server_needed: true when the tests would find no PostgreSQL: none
# answers at TEST_DATABASE_URL and no server binaries are installed for
# scripts/test.sh to start a throwaway cluster with.
pg_server_needed() {
    ((with_tests)) || return 1
    pg_answers "$test_db_url" && return 1
    pg_bindir >/dev/null && return 1
    return 0
}

can_install=1
if ! command -v apt-get >/dev/null 2>&1 || ((EUID != 0)); then
    can_install=0
fi

if ((!can_install)); then
    # Name everything that is missing at once, then fail in apt_install.
    if pg_server_needed && ! printf '%s\n' "${missing[@]}" | grep -qx postgresql; then
        missing+=(postgresql)
    fi
    if ((${#missing[@]} > 0)); then
        apt_install "${missing[@]}" # exits 1 naming the packages
    fi
else
    if ((${#missing[@]} > 0)); then
        apt_install "${missing[@]}"
    fi
    # Checked after the first install, which brings psql.
    if pg_server_needed; then
        apt_install postgresql
        missing+=(postgresql)
        if pg_server_needed; then
            die "package postgresql is installed but no initdb/pg_ctl under /usr/lib/postgresql/*/bin"
        fi
    fi
fi

pg_note=""
if ((with_tests)); then
    if pg_answers "$test_db_url"; then
        pg_note="; PostgreSQL answers at $(redact_url "$test_db_url")"
    else
        pg_note="; no PostgreSQL at $(redact_url "$test_db_url"), server binaries in $(pg_bindir || echo "(none)")"
    fi
fi

if ((${#missing[@]} > 0)); then
    info "ensure-deps: installed ${missing[*]}${pg_note}"
else
    info "ensure-deps: all ${#wanted[@]} packages present, $(cargo --version)${pg_note}"
fi
