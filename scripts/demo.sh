#!/usr/bin/env bash
# Runs Slipway on SQLite with a demo project, ready to click through.
#
#   scripts/demo.sh
#
# First run: builds Slipway, creates an SVN repository with a small web shop,
# four users (admin, lead, dev, tester), the project "shop" shipping to two
# local "hosts" (plain directories), then serves on http://127.0.0.1:8080/.
# Later runs reuse the demo state and only serve.
#
# Environment:
#   SLIPWAY_DEMO_DIR   where the demo state lives (default: <repo>/.demo);
#                      delete it to start over
#   SLIPWAY_BIND       address to serve on (default: 127.0.0.1:8080)
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$SLIPWAY_REPO"

case "${1:-}" in
    "") ;;
    -h | --help)
        sed -n '2,15s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
        exit 0
        ;;
    *) die "unknown argument: $1 (see --help)" ;;
esac

DEMO_PASSWORD="slipway-demo"
BIND="${SLIPWAY_BIND:-127.0.0.1:8080}"
BIN="${CARGO_TARGET_DIR:-$SLIPWAY_REPO/target}/debug/slipway"

# urlencode_path PATH: PATH percent-encoded for a file:// URL.
urlencode_path() {
    local LC_ALL=C s="$1" out="" c i
    for ((i = 0; i < ${#s}; i++)); do
        c="${s:i:1}"
        case "$c" in
            [A-Za-z0-9/._~-]) out+="$c" ;;
            *) out+="$(printf '%%%02X' "'$c")" ;;
        esac
    done
    printf '%s\n' "$out"
}

# toml_str TEXT: TEXT as a TOML basic string, quotes included.
toml_str() {
    local s="${1//\\/\\\\}"
    s="${s//\"/\\\"}"
    printf '"%s"' "$s"
}

# ------------------------------------------------------------------ build

banner "dependencies (scripts/ensure-deps.sh)"
bash "$SLIPWAY_REPO/scripts/ensure-deps.sh"

banner "cargo build (the first build takes a few minutes)"
cargo build
[[ -x "$BIN" ]] || die "cargo build did not produce $BIN"

# ------------------------------------------------------------- demo state

DEMO="${SLIPWAY_DEMO_DIR:-$SLIPWAY_REPO/.demo}"
mkdir -p -- "$DEMO"
DEMO="$(cd -- "$DEMO" && pwd -P)"
# The demo uses only the built-in defaults, SQLite in $DEMO: no config file
# or database URL from the caller's environment.
unset SLIPWAY_CONFIG SLIPWAY_DATABASE__URL SLIPWAY_DATABASE__URL_FILE
export SLIPWAY_DATA_DIR="$DEMO"
MARKER="$DEMO/.slipway-demo"

setup_in_progress=0
# On a failed setup, remove what it made so that the next run starts afresh
# (slipway.db is what tells a later run that the demo is ready).
cleanup_partial_setup() {
    local rc=$?
    if ((setup_in_progress)); then
        warn "demo setup failed; removing the partial demo state in $DEMO"
        rm -rf -- "$DEMO/svn" "$DEMO/hosts" "$DEMO/staging" "$DEMO/projects.toml" \
            "$DEMO"/slipway.db "$DEMO"/slipway.db-*
        [[ -z "${DEMO_TMP:-}" ]] || rm -rf -- "$DEMO_TMP"
    fi
    exit "$rc"
}

make_svn_repo() {
    local repo="$DEMO/svn/shop" tree wc
    banner "SVN repository $repo"
    mkdir -p -- "$DEMO/svn"
    svnadmin create "$repo"
    SVN_URL="file://$(urlencode_path "$repo")/trunk"

    tree="$DEMO_TMP/tree"
    mkdir -p "$tree/css" "$tree/WEB-INF" "$tree/lib"
    cat >"$tree/index.html" <<'EOF'
<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Demo Shop</title>
  <link rel="stylesheet" href="css/site.css">
</head>
<body>
  <h1>Demo Shop</h1>
  <p>Welcome! Version 1.</p>
  <script src="lib/app.js"></script>
</body>
</html>
EOF
    cat >"$tree/css/site.css" <<'EOF'
body { font-family: sans-serif; margin: 2rem; }
h1 { color: #234; }
EOF
    cat >"$tree/WEB-INF/jdbc.properties" <<'EOF'
jdbc.url=jdbc:postgresql://db.example.test/shop # demo placeholder; excluded from releases
EOF
    cat >"$tree/lib/app.js" <<'EOF'
document.addEventListener("DOMContentLoaded", function () {
  console.log("demo shop loaded");
});
EOF
    svn import -q --non-interactive -m "Import the demo shop" "$tree" "$SVN_URL"

    wc="$DEMO_TMP/wc"
    svn checkout -q --non-interactive "$SVN_URL" "$wc"
    sed -i 's/Welcome! Version 1./Welcome! Now with a shopping cart./' "$wc/index.html"
    svn commit -q --non-interactive -m "Front page: mention the cart" "$wc"

    cat >>"$wc/css/site.css" <<'EOF'
.cart { float: right; border: 1px solid #ccc; padding: .5rem 1rem; }
EOF
    cat >"$wc/lib/cart.js" <<'EOF'
var cart = [];
function addToCart(item) { cart.push(item); }
EOF
    svn add -q --non-interactive "$wc/lib/cart.js"
    svn commit -q --non-interactive -m "Add the cart script and its style" "$wc"
    info "SVN history:"
    svn log -q --non-interactive "$SVN_URL" | sed -n 's/^r/  r/p'
}

add_users() {
    banner "users (demo password for all: $DEMO_PASSWORD; for this demo only)"
    local login email name admin
    while IFS='|' read -r login name admin; do
        email="$login@example.test"
        local flags=()
        if [[ "$admin" == yes ]]; then
            flags=(--admin)
        fi
        info "  $login ($name)"
        printf '%s\n' "$DEMO_PASSWORD" \
            | "$BIN" user add "$login" "${flags[@]}" --email "$email" --name "$name" --password-stdin
    done <<'EOF'
admin|Ada Admin|yes
lead|Li Lead|no
dev|Dan Dev|no
tester|Tia Tester|no
EOF
}

import_project() {
    local file="$DEMO/projects.toml"
    banner "project shop ($file)"
    mkdir -p -- "$DEMO/hosts/web1" "$DEMO/hosts/web2" "$DEMO/staging"
    cat >"$file" <<EOF
# Slipway demo project (written by scripts/demo.sh)

[[host_group]]
name = "shop-web"
hosts = [
  { name = "web1", target = $(toml_str "$DEMO/hosts/web1") },
  { name = "web2", target = $(toml_str "$DEMO/hosts/web2") },
]

[[project]]
name = "shop"
description = "Demo web shop"
svn_url = $(toml_str "$SVN_URL")
staging_dir = $(toml_str "$DEMO/staging/shop")
staging_url = "http://127.0.0.1:8081/shop/"
build_command = []            # argv; empty = no build
host_groups = ["shop-web"]
excludes = ["WEB-INF/jdbc.properties", "*.log"]
leads = ["lead"]
developers = ["dev"]
testers = ["tester"]

[project.approval]
required = 1
allow_self_approval = false
tested_by_may_approve = false

[[project.freeze]]
weekly = { from = "Sat 00:00", to = "Sun 23:59" }
EOF
    "$BIN" project import "$file"
}

if [[ -e "$DEMO/slipway.db" ]]; then
    banner "reusing the demo in $DEMO"
else
    if [[ ! -e "$MARKER" ]] && [[ -n "$(ls -A -- "$DEMO")" ]]; then
        die "$DEMO is not empty and holds no Slipway demo; set SLIPWAY_DEMO_DIR to a new or empty directory"
    fi
    setup_in_progress=1
    trap cleanup_partial_setup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    # Leftovers of an interrupted setup.
    rm -rf -- "$DEMO/svn" "$DEMO/hosts" "$DEMO/staging" "$DEMO/projects.toml"
    printf 'Slipway demo state, made by scripts/demo.sh\n' >"$MARKER"
    DEMO_TMP="$(mktemp -d "${TMPDIR:-/tmp}/slipway-demo.XXXXXX")"

    make_svn_repo
    add_users
    import_project

    rm -rf -- "$DEMO_TMP"
    DEMO_TMP=""
    [[ -e "$DEMO/slipway.db" ]] || die "the slipway CLI did not create $DEMO/slipway.db"
    setup_in_progress=0
    trap - EXIT INT TERM
fi

# ------------------------------------------------------------------ serve

host="${BIND%:*}"
port="${BIND##*:}"
case "$host" in
    "" | 0.0.0.0) host=127.0.0.1 ;;
    "[::]" | "::") host="[::1]" ;;
esac
url="http://$host:$port/"

box=(
    "Slipway demo"
    ""
    "Open:  $url"
    ""
    "Log in as (password: $DEMO_PASSWORD, for this demo only):"
    "  admin   Ada Admin    administrator"
    "  lead    Li Lead      team lead of project shop (approves)"
    "  dev     Dan Dev      developer (files release tickets)"
    "  tester  Tia Tester   tester (marks staged tickets tested)"
    ""
    "Data:  $DEMO"
    "       (delete it to start over)"
    "Mail:  $DEMO/mail/*.eml (no SMTP in the demo; the"
    "       approval emails' Approve/Reject links work)"
    ""
    "Ctrl-C to stop"
)
width=0
for line in "${box[@]}"; do
    if ((${#line} > width)); then
        width=${#line}
    fi
done
rule="+$(printf '%*s' $((width + 2)) '' | tr ' ' '-')+"
printf '\n%s\n' "$rule"
for line in "${box[@]}"; do
    printf '| %-*s |\n' "$width" "$line"
done
printf '%s\n\n' "$rule"

export SLIPWAY_SERVER__BIND="$BIND"
# Links in the demo's emails point at this server.
export SLIPWAY_SERVER__PUBLIC_URL="${SLIPWAY_SERVER__PUBLIC_URL:-$url}"
exec "$BIN" serve
