#!/usr/bin/env bash
# Web benchmark (prints figures; not a test): 100k tickets in SQLite, then
# the ticket list page, a filtered list, a ticket page and "my work" (a user
# with every role in 8 projects) under wrk on loopback, and the server's
# idle RSS. Prints each page's p99 and req/s beside the target.
#
#   scripts/bench-web.sh [--tickets N] [--duration SECS] [--database-url URL] [--binary PATH]
#
# With --binary the server is that slipway binary (to compare two builds
# side by side); else target/release/slipway, built first.
# With --database-url (a PostgreSQL server, e.g. $SLIPWAY_DEFAULT_TEST_DATABASE_URL)
# the tickets go into a fresh schema there, dropped afterwards; else SQLite.
#
# Targets (issues 3 and 12): every page p99 <= 50 ms and >= 500 req/s;
# idle RSS <= 60 MB.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TICKETS=100000
DURATION=15
PG_URL=""
BINARY=""
while (($#)); do
    case "$1" in
        --tickets) TICKETS="$2"; shift 2 ;;
        --duration) DURATION="$2"; shift 2 ;;
        --database-url) PG_URL="$2"; shift 2 ;;
        --binary) BINARY="$(realpath "$2")"; shift 2 ;;
        *) die "usage: scripts/bench-web.sh [--tickets N] [--duration SECS] [--database-url URL] [--binary PATH]" ;;
    esac
done

need_cargo
# shellcheck disable=SC2046
apt_install $(missing_packages wrk curl)

cd "$SLIPWAY_REPO"
if [[ -z "$BINARY" ]]; then
    banner "build (release)"
    cargo build --release --quiet
    BINARY="$SLIPWAY_REPO/target/release/slipway"
fi

DATA="$(mktemp -d /tmp/slipway-bench-web.XXXXXX)"
SERVER_PID=""
SCHEMA=""
DB_URL=""
BACKEND=SQLite
cleanup() {
    if [[ -n "$SERVER_PID" ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ -n "$SCHEMA" ]]; then
        psql -q "$PG_URL" -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 || true
    fi
    rm -rf "$DATA"
}
trap cleanup EXIT
if [[ -n "$PG_URL" ]]; then
    pg_answers "$PG_URL" || die "no PostgreSQL answers at $PG_URL"
    SCHEMA="bench_web_$$"
    psql -q "$PG_URL" -c "CREATE SCHEMA $SCHEMA" >/dev/null
    if [[ "$PG_URL" == *\?* ]]; then sep="&"; else sep="?"; fi
    DB_URL="${PG_URL}${sep}options=-csearch_path%3D${SCHEMA}"
    BACKEND="PostgreSQL"
fi

banner "seed $TICKETS tickets ($BACKEND)"
seed_args=(--data-dir "$DATA" --tickets "$TICKETS")
[[ -z "$DB_URL" ]] || seed_args+=(--database-url "$DB_URL")
seeded="$(cargo bench --quiet --bench web_seed -- "${seed_args[@]}")"
info "$seeded"
SAMPLE="$(sed -n 's/.*sample ticket id: \([0-9]*\).*/\1/p' <<<"$seeded")"

PORT="$(free_port 18080)" || die "no free port"
BASE="http://127.0.0.1:$PORT"
banner "slipway serve on $BASE"
if [[ -n "$DB_URL" ]]; then export SLIPWAY_DATABASE__URL="$DB_URL"; fi
SLIPWAY_DATA_DIR="$DATA" SLIPWAY_SERVER__BIND="127.0.0.1:$PORT" \
    "$BINARY" serve >"$DATA/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fsS "$BASE/healthz" >/dev/null || { cat "$DATA/serve.log"; die "serve did not start"; }
sleep 2
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status"; }
IDLE_RSS_KB="$(rss_kb)"

# Sign in like a browser: the CSRF cookie and field from /login, then POST.
JAR="$DATA/cookies"
LOGIN_HTML="$(curl -fsS -c "$JAR" "$BASE/login")"
CSRF="$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' <<<"$LOGIN_HTML" | head -n 1)"
curl -fsS -o /dev/null -b "$JAR" -c "$JAR" \
    --data-urlencode "csrf=$CSRF" --data-urlencode "username=bench" \
    --data-urlencode "password=bench-password" --data-urlencode "next=/" "$BASE/login"
SESSION="$(awk '$6 == "slipway_session" {print $7}' "$JAR")"
[[ -n "$SESSION" ]] || die "sign-in failed"
COOKIE="slipway_session=$SESSION; slipway_csrf=$CSRF"
curl -fsS -o /dev/null -H "Cookie: $COOKIE" "$BASE/tickets" || die "the list page does not answer"

declare -A P99 RPS
measure() { # name path
    local out
    out="$(wrk -t2 -c32 -d"${DURATION}s" --timeout 5s --latency -H "Cookie: $COOKIE" "$BASE$2")"
    printf '%s\n' "$out" | sed 's/^/    /'
    P99[$1]="$(awk '$1 == "99%" {print $2}' <<<"$out")"
    RPS[$1]="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
    if grep -q "Non-2xx" <<<"$out"; then warn "$1: non-2xx answers"; fi
}
banner "ticket list page (/tickets), ${DURATION}s, 2 threads, 32 connections"
measure list "/tickets"
banner "filtered list page (/tickets?project=shop&state=released)"
measure list_filtered "/tickets?project=shop&state=released"
banner "ticket page (/tickets/$SAMPLE)"
measure ticket "/tickets/$SAMPLE"
banner "my work (/)"
measure mywork "/"
sleep 1
AFTER_RSS_KB="$(rss_kb)"

# wrk's latency ("950.00us", "12.34ms", "1.02s") in milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000
        printf "%.2f", n
    }'
}
P99_TARGET_MS=50
RPS_TARGET=500
banner "results ($TICKETS tickets, $BACKEND, $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-24s %10s %12s   %s\n' page "p99 (ms)" req/s "target: p99 <= ${P99_TARGET_MS} ms, >= ${RPS_TARGET} req/s"
missed=0
for k in list list_filtered ticket mywork; do
    ms="$(to_ms "${P99[$k]:-}")"
    verdict="$(awk -v ms="$ms" -v rps="${RPS[$k]:-0}" -v p="$P99_TARGET_MS" -v r="$RPS_TARGET" \
        'BEGIN { print (ms + 0 <= p && rps + 0 >= r) ? "met" : "MISSED" }')"
    [[ "$verdict" == met ]] || missed=$((missed + 1))
    printf '%-24s %10s %12s   %s\n' "$k" "$ms" "${RPS[$k]:-?}" "$verdict"
done
printf 'idle RSS: %d MB (after load: %d MB; target <= 60 MB)\n' $((IDLE_RSS_KB / 1024)) $((AFTER_RSS_KB / 1024))
info "pages missing the target: $missed (figures, not a test: a loaded machine misses)"
