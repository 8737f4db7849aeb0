#!/usr/bin/env bash
# Runs every Slipway test: installs what the tests need, makes sure a
# PostgreSQL server is there, then cargo fmt --check, clippy and cargo test.
#
#   scripts/test.sh                     everything (what CI runs)
#   scripts/test.sh --quick             skip cargo fmt and clippy
#   scripts/test.sh -- FILTER [ARGS]    pass FILTER/ARGS on to `cargo test`
#                                       (e.g. `-- ticket -- --nocapture`)
#
# Environment:
#   TEST_DATABASE_URL   PostgreSQL for the tests (default
#                       postgres://postgres@127.0.0.1:5432/test). When nothing
#                       answers there, a throwaway cluster is started from
#                       Debian's postgresql package on 127.0.0.1:54329 or the
#                       next free port, and removed when this script exits.
#   SLIPWAY_TEST_SKIP_CARGO=1
#                       debugging switch: run only the dependency and
#                       PostgreSQL steps, skip fmt, clippy and cargo test
#                       (refused when CI=true).
#
# Each test makes its own SQLite file or its own PostgreSQL schema, so cargo
# runs them in parallel; with SLIPWAY_TEST_REQUIRE_PG=1 (set here) a test that
# cannot reach PostgreSQL fails instead of skipping.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$SLIPWAY_REPO"

usage() {
    sed -n '2,24s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

quick=0
cargo_test_args=()
while (($# > 0)); do
    case "$1" in
        --quick) quick=1 ;;
        --)
            shift
            cargo_test_args=("$@")
            break
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            usage >&2
            die "unknown argument: $1 (cargo test arguments go after --)"
            ;;
    esac
    shift
done

skip_cargo="${SLIPWAY_TEST_SKIP_CARGO:-0}"
if [[ "$skip_cargo" == 1 && "${CI:-}" == true ]]; then
    die "SLIPWAY_TEST_SKIP_CARGO=1 is a local debugging switch; CI must run the tests"
fi

started=$SECONDS

# ------------------------------------------------------------ clean-up
PG_TMP=""      # throwaway cluster's directory, when this script started one
PG_BIN=""      # its PostgreSQL bin directory
TEST_LOG=""    # copy of cargo test's output, for the summary

# as_pg CMD...: runs CMD as the postgres system user when we are root
# (PostgreSQL refuses to run as root), else as ourselves; cwd = $PG_TMP.
as_pg() {
    if ((EUID != 0)); then
        (cd "$PG_TMP" && "$@")
    elif command -v runuser >/dev/null 2>&1; then
        (cd "$PG_TMP" && runuser -u postgres -- "$@")
    else
        (cd "$PG_TMP" && su postgres -s /bin/bash -c "$(printf '%q ' "$@")")
    fi
}

# shellcheck disable=SC2317 # called from the EXIT trap
stop_throwaway_pg() {
    [[ -n "$PG_TMP" ]] || return 0
    if [[ -f "$PG_TMP/data/postmaster.pid" ]]; then
        if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate -w -t 30 stop >/dev/null 2>&1; then
            warn "could not stop the throwaway PostgreSQL in $PG_TMP/data"
        fi
    fi
    rm -rf -- "$PG_TMP"
    PG_TMP=""
}

# shellcheck disable=SC2317 # the EXIT trap
cleanup() {
    local rc=$?
    stop_throwaway_pg
    [[ -z "$TEST_LOG" ]] || rm -f -- "$TEST_LOG"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# -------------------------------------------------- throwaway PostgreSQL

# start_throwaway_pg: starts a fresh cluster (trust auth, user postgres,
# database test) in a new temporary directory and exports TEST_DATABASE_URL.
start_throwaway_pg() {
    PG_BIN="$(pg_bindir)" \
        || die "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (package postgresql)"
    local parent="${TMPDIR:-/tmp}"
    if ((EUID == 0)); then
        id postgres >/dev/null 2>&1 \
            || die "no 'postgres' system user to run the throwaway PostgreSQL as (reinstall postgresql-common)"
        parent=/tmp # must be reachable by the postgres user
    fi
    PG_TMP="$(mktemp -d "$parent/slipway-pg.XXXXXX")" \
        || die "could not make a temporary directory under $parent for PostgreSQL"
    if ((EUID == 0)); then
        chown postgres: "$PG_TMP"
    fi

    info "initdb ($PG_BIN) in $PG_TMP"
    if ! as_pg "$PG_BIN/initdb" -D "$PG_TMP/data" -A trust -U postgres -E UTF8 --locale=C --no-sync \
        >"$PG_TMP/initdb.log" 2>&1; then
        cat "$PG_TMP/initdb.log" >&2
        die "initdb failed"
    fi
    # Tests only: speed over durability.
    cat >>"$PG_TMP/data/postgresql.conf" <<'EOF'

# scripts/test.sh: throwaway test cluster
listen_addresses = '127.0.0.1'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
EOF

    local port=54329 attempt
    for attempt in 1 2 3 4 5; do
        port="$(free_port "$port")" || die "no free port from 54329 upward for PostgreSQL"
        info "starting PostgreSQL on 127.0.0.1:$port (attempt $attempt)"
        if as_pg "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/postgres.log" -w -t 60 \
            -o "-p $port -k '$PG_TMP'" start >/dev/null; then
            break
        fi
        if grep -qi 'could not bind\|address already in use' "$PG_TMP/postgres.log" 2>/dev/null && ((attempt < 5)); then
            port=$((port + 1))
            continue
        fi
        tail -n 30 "$PG_TMP/postgres.log" >&2 || true
        die "could not start the throwaway PostgreSQL (log above)"
    done

    PGCONNECT_TIMEOUT=10 psql "postgres://postgres@127.0.0.1:$port/postgres" -X -q -v ON_ERROR_STOP=1 \
        -c 'create database test' </dev/null \
        || die "could not create database 'test' in the throwaway PostgreSQL"
    TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/test"
    export TEST_DATABASE_URL
}

# ---------------------------------------------------------------- steps

banner "dependencies (scripts/ensure-deps.sh --test)"
bash "$SLIPWAY_REPO/scripts/ensure-deps.sh" --test

banner "PostgreSQL"
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-$SLIPWAY_DEFAULT_TEST_DATABASE_URL}"
if pg_answers "$TEST_DATABASE_URL"; then
    pg_where="$(redact_url "$TEST_DATABASE_URL")"
    info "using PostgreSQL at $pg_where"
else
    info "no PostgreSQL answers at $(redact_url "$TEST_DATABASE_URL"); starting a throwaway cluster"
    command -v psql >/dev/null 2>&1 || die "psql not found (package postgresql-client)"
    start_throwaway_pg
    pg_answers "$TEST_DATABASE_URL" \
        || die "the throwaway PostgreSQL does not answer at $TEST_DATABASE_URL"
    pg_where="throwaway cluster at $TEST_DATABASE_URL"
    info "using $pg_where"
fi
export SLIPWAY_TEST_REQUIRE_PG=1

if [[ "$skip_cargo" == 1 ]]; then
    banner "cargo fmt, clippy and test skipped (SLIPWAY_TEST_SKIP_CARGO=1)"
    info "summary: dependencies and PostgreSQL ($pg_where) ok; cargo steps skipped; $((SECONDS - started))s"
    exit 0
fi

need_cargo
locked=()
if [[ -f Cargo.lock ]]; then
    locked=(--locked)
fi

done_steps=()
if ((quick)); then
    banner "cargo fmt and clippy skipped (--quick)"
else
    banner "cargo fmt --all -- --check"
    cargo fmt --version >/dev/null 2>&1 || die "rustfmt not installed (rustup component add rustfmt)"
    cargo fmt --all -- --check
    done_steps+=(fmt)

    banner "cargo clippy --all-targets ${locked[*]} -- -D warnings"
    cargo clippy --version >/dev/null 2>&1 || die "clippy not installed (rustup component add clippy)"
    cargo clippy --all-targets "${locked[@]}" -- -D warnings
    done_steps+=(clippy)
fi

test_cmd=(cargo test --all-targets --no-fail-fast "${locked[@]}" "${cargo_test_args[@]}")
banner "${test_cmd[*]}"
info "TEST_DATABASE_URL=$(redact_url "$TEST_DATABASE_URL") SLIPWAY_TEST_REQUIRE_PG=1"
TEST_LOG="$(mktemp "${TMPDIR:-/tmp}/slipway-test-log.XXXXXX")"
export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"
test_rc=0
"${test_cmd[@]}" 2>&1 | tee "$TEST_LOG" \
    || test_rc=$?

# Sum "test result: ok. 12 passed; 0 failed; 1 ignored; ..." over all test
# binaries.
read -r n_pass n_fail n_ignored n_results < <(awk '
    /^test result:/ {
        r++
        for (i = 2; i <= NF; i++) {
            if ($i == "passed;")  p += $(i - 1)
            if ($i == "failed;")  f += $(i - 1)
            if ($i == "ignored;") g += $(i - 1)
        }
    }
    END { printf "%d %d %d %d\n", p, f, g, r }' "$TEST_LOG")

elapsed=$((SECONDS - started))
banner "done in $((elapsed / 60))m$((elapsed % 60))s; PostgreSQL: $pg_where"
if ((quick)); then
    info "fmt and clippy skipped (--quick)"
else
    info "${done_steps[*]}: ok"
fi
if ((n_results == 0)); then
    info "cargo test ran no test binary (exit code $test_rc)"
    ((test_rc != 0)) || die "cargo test reported no test results"
    exit "$test_rc"
fi
if ((test_rc != 0)); then
    info "cargo test FAILED (exit code $test_rc)"
fi
info "summary: $n_pass passed, $n_fail failed, $n_ignored skipped"
exit "$test_rc"
