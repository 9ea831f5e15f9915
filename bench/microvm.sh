#!/usr/bin/env bash
# microvm against q35 (issue 20, must show 2): the same tiny guest (kernel
# and initrd of tests/guest, 256 MiB, 1 vCPU, TCG, no display) made by
# vmtty as --machine microvm and as --machine q35; each run is `vmtty
# start VM --wait-serial "GUEST READY"` (the wall time from the command to
# the guest's marker on its serial console) and then the RSS of its qemu
# (VmRSS), then `vmtty poweroff`.  The two alternate (microvm, q35, q35,
# microvm, ...) after an untimed warm-up of each.  Figures only, never
# pass/fail: the medians, [min-max] and the ratios microvm/q35.
#
#   bash bench/microvm.sh [--build DIR] [--runs N]     (N: 5 by default)
set -u
build=build runs=5
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	*) echo "bench/microvm.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
cd "$(dirname "$0")/.." || exit 1
case $build in /*) B=$build ;; *) B="$PWD/$build" ;; esac
VMTTY="$B/vmtty"
GUEST="$B/guest"
tests/guest/build.sh "$GUEST" >/dev/null || { echo "microvm: the tiny guest did not build"; exit 1; }
tmp=$(mktemp -d /tmp/vmtty-bench-mvm.XXXXXX)
export VMTTY_DB="$tmp/inv.db" VMTTY_RUNTIME_DIR="$tmp/run" XDG_DATA_HOME="$tmp/data"
cleanup() {
	for p in "$VMTTY_RUNTIME_DIR"/*/qemu.pid; do [ -f "$p" ] && kill -9 "$(cat "$p")"; done 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for m in microvm q35; do
	"$VMTTY" create "$m" --machine "$m" --accel tcg --graphics none --memory 256 \
		--kernel "$GUEST/vmlinuz" --initrd "$GUEST/initrd.img" --cmdline console=ttyS0 \
		>/dev/null || { echo "microvm: cannot create the $m VM"; exit 1; }
done

# one M FILE: start M to its marker, append "SECONDS RSS_KIB" to FILE.
one() {
	local t0 t1 pid rss uuid
	t0=$(date +%s%N)
	"$VMTTY" start "$1" --wait-serial "GUEST READY" --timeout 120 >/dev/null 2>&1 ||
		{ echo "microvm: $1 did not reach its marker" >&2; return 1; }
	t1=$(date +%s%N)
	uuid=$("$VMTTY" show "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["uuid"][:8])')
	pid=$(cat "$VMTTY_RUNTIME_DIR/$uuid/qemu.pid")
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
	"$VMTTY" poweroff "$1" --wait >/dev/null 2>&1
	[ -n "$2" ] && echo "$(( (t1 - t0) / 1000000 )) $rss" >> "$2"
	return 0
}

one microvm "" && one q35 "" || exit 1
for ((i = 0; i < runs; i++)); do
	if (( i % 2 == 0 )); then one microvm "$tmp/microvm" && one q35 "$tmp/q35"
	else one q35 "$tmp/q35" && one microvm "$tmp/microvm"; fi || exit 1
done

python3 - "$tmp/microvm" "$tmp/q35" <<'PY'
import statistics, sys
def load(p):
    rows = [tuple(map(int, l.split())) for l in open(p)]
    return [r[0] / 1000 for r in rows], [r[1] / 1024 for r in rows]
mt, mr = load(sys.argv[1])
qt, qr = load(sys.argv[2])
def line(what, unit, m, q):
    print(f"  {what:<22} microvm {statistics.median(m):7.2f} {unit} [{min(m):.2f}-{max(m):.2f}]"
          f"   q35 {statistics.median(q):7.2f} {unit} [{min(q):.2f}-{max(q):.2f}]"
          f"   microvm/q35 {statistics.median(m) / statistics.median(q):.2f}")
print(f"microvm against q35: the tiny guest under TCG, {len(mt)} runs each, alternating")
line("start to GUEST READY", "s", mt, qt)
line("qemu RSS after boot", "MiB", mr, qr)
PY
