#!/usr/bin/env bash
# Release benchmark (prints figures; not a test): `cargo bench --bench
# release`, optionally with its trees on a fresh ext4 that has a journal.
#
#   scripts/bench-release.sh [--journaled-fs] [--only first|relay]
#
# --journaled-fs (root only): makes an 8 GiB (sparse) ext4 image with a journal, as
# production filesystems have, mounts it on a loop device for the run and
# removes it afterwards. Without a journal (e.g. a root filesystem made
# with `-O ^has_journal`), ext4 picks an inode for a new file by scanning
# past every inode freed in the last minutes, so a run that follows a mass
# deletion (the previous run's trees) measures that scan (README,
# "Benchmarks").
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

JOURNALED=0
ONLY=""
while (($#)); do
    case "$1" in
        --journaled-fs) JOURNALED=1; shift ;;
        --only) ONLY="$2"; shift 2 ;;
        *) die "usage: scripts/bench-release.sh [--journaled-fs] [--only first|relay]" ;;
    esac
done

need_cargo
cd "$SLIPWAY_REPO"
MNT=""
IMG=""
cleanup() {
    if [[ -n "$MNT" ]]; then
        umount "$MNT" 2>/dev/null || true
        rmdir "$MNT" 2>/dev/null || true
    fi
    [[ -z "$IMG" ]] || rm -f "$IMG"
}
trap cleanup EXIT
if ((JOURNALED)); then
    [[ "$(id -u)" == 0 ]] || die "--journaled-fs mounts a loop device: run as root"
    IMG="$(mktemp /var/tmp/slipway-bench-fs.XXXXXX)"
    truncate -s 8G "$IMG"
    mkfs.ext4 -q -F -O has_journal "$IMG"
    MNT="$(mktemp -d /tmp/slipway-bench-mnt.XXXXXX)"
    mount -o loop "$IMG" "$MNT"
    export SLIPWAY_BENCH_DIR="$MNT"
    info "trees on a fresh journaled ext4 at $MNT"
fi
[[ -z "$ONLY" ]] || export SLIPWAY_BENCH="$ONLY"
banner "cargo bench --bench release${ONLY:+ (SLIPWAY_BENCH=$ONLY)}"
cargo bench --quiet --bench release
