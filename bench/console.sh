#!/usr/bin/env bash
# Serial console benchmarks on the tiny real guest (TCG).  Figures only,
# never pass/fail.
#
# (a) Throughput: the guest makes ~5 MB of base64 text, then
#     `cat /tmp/f; echo END-MARK-$((40+2))`; the time from Enter until
#     END-MARK-42 is seen
#       (i)   in vmtty's console pane: the whole TUI (./vmtty, 'c') drawing
#             into tmux, the screen polled every 200 ms;
#       (ii)  by socat reading the same socket into grep (the reference);
#       (iii) on the screen of the pane's emulator alone, fed the way the
#             pane feeds it (build/bench/serialbench: console/serial.c on
#             the real socket, the same reads at every wakeup, a frame
#             every 16 ms, no curses): where the time goes;
#     taking turns going first, medians and spread; ratio socat/pane
#     (target: at least 0.9).  The guest's serial port is the bottleneck
#     of all three (QEMU writes it to the socket a byte or a few at a
#     time), so the ratio says how much vmtty's reading, emulating and
#     drawing slow the guest down (on 2 cores they compete with the vCPU).
# (b) Keystroke echo latency: 50 keys typed at the guest's prompt, each
#     timed from its write() until its echo shows: in the pane (the whole
#     TUI on a pty, its output on an emulated terminal: serialbench
#     panelat), on the pane's emulator alone, and raw on the socket (the
#     floor); rounds of the three taking turns, medians and spread.
#
#   bash bench/console.sh [--build DIR] [--runs N] [--kb N]
# Run `make` first; the helper is built here when missing.
set -u
cd "$(dirname "$0")/.." || exit 1
build=build runs=5 kb=5000
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--kb) kb=$2; shift 2 ;;
	*) echo "bench/console.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
case $build in /*) B=$build ;; *) B="$PWD/$build" ;; esac
VMTTY="$B/vmtty"
SB="$B/bench/serialbench"
[ -x "$VMTTY" ] || { echo "bench/console.sh: no $VMTTY; run make first" >&2; exit 1; }
make --no-print-directory -s BUILD="$build" "$build/bench/serialbench" >/dev/null ||
	{ echo "bench/console.sh: cannot build $SB" >&2; exit 1; }
for t in socat tmux timeout; do
	command -v "$t" >/dev/null || { echo "bench/console.sh: needs $t" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/vmtty-cbench.XXXXXX)
export VMTTY_DB="$tmp/inv.db" VMTTY_RUNTIME_DIR="$tmp/run" XDG_DATA_HOME="$tmp/xdg"
TM="tmux -L vmtty-cbench-$$ -f /dev/null"
SOCAT_PID=
cleanup() {
	$TM kill-server 2>/dev/null
	[ -z "$SOCAT_PID" ] || kill "$SOCAT_PID" 2>/dev/null
	for p in "$VMTTY_RUNTIME_DIR"/*/qemu.pid; do
		[ -f "$p" ] && kill -9 "$(cat "$p")" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

guest="$B/guest"
tests/guest/build.sh "$guest" >/dev/null || { echo "bench/console.sh: the tiny guest did not build" >&2; exit 1; }
"$VMTTY" create b1 --kernel "$guest/vmlinuz" --initrd "$guest/initrd.img" \
	--cmdline console=ttyS0 --memory 256 --accel tcg >/dev/null || exit 1
"$VMTTY" start b1 --wait-serial "GUEST READY" --timeout 120 2>/dev/null ||
	{ echo "bench/console.sh: the guest did not boot" >&2; exit 1; }
uuid=$("$VMTTY" show b1 --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["uuid"])')
sock="$VMTTY_RUNTIME_DIR/${uuid:0:8}/serial.sock"

# Nanoseconds, without forking date (the pane's timing polls the screen).
now() { local t=${EPOCHREALTIME//[.,]/}; echo "${t}000"; }
med() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
field() { sed -E "s/.*$1=([0-9.]+).*/\\1/"; }

CAT='cat /tmp/f; echo END-MARK-$((40+2))'
MARK=END-MARK-42

# socat_ms: type CAT through socat and time it until grep sees MARK.
socat_ms() {
	local t0 t1
	coproc SOCAT { exec socat - UNIX-CONNECT:"$sock"; }
	t0=$(now)
	printf '%s\r' "$CAT" >&"${SOCAT[1]}"
	timeout 600 grep -m1 -q -- "$MARK" <&"${SOCAT[0]}"
	t1=$(now)
	kill "$SOCAT_PID" 2>/dev/null
	wait "$SOCAT_PID" 2>/dev/null
	SOCAT_PID=
	echo $(( (t1 - t0) / 1000000 ))
}

# 1. The file, made in the guest (not timed).
"$SB" throughput "$sock" 37 120 \
	"dd if=/dev/urandom bs=1k count=$kb 2>/dev/null | base64 > /tmp/f; echo GEN-\$((1+1))" \
	GEN-2 >/dev/null || { echo "bench/console.sh: making the file failed" >&2; exit 1; }
bytes=$(( (kb * 1024 + 2) / 3 * 4 ))
bytes=$(( bytes + (bytes + 75) / 76 ))

# The TUI, started once; each run opens the pane, times the cat, and
# closes it (QEMU serves one client at a time: socat needs the socket).
$TM new-session -d -s b -x 120 -y 40 "env TERM=xterm-256color LANG=C.UTF-8 $VMTTY"
$TM set-option -g status off >/dev/null
screen() { $TM capture-pane -p -t b; }
waitfor() { # PATTERN SECONDS [POLL_S]
	local deadline=$(( $(now) + $2 * 1000000000 ))
	while [ "$(now)" -lt "$deadline" ]; do
		screen | grep -Eq -- "$1" && return 0
		read -rt "${3:-0.05}" <> <(:) || true
	done
	return 1
}
waitgone() { # PATTERN SECONDS
	local deadline=$(( $(now) + $2 * 1000000000 ))
	while [ "$(now)" -lt "$deadline" ]; do
		screen | grep -Eq -- "$1" || return 0
		read -rt 0.05 <> <(:) || true
	done
	return 1
}
waitfor 'b1 +running' 20 || { echo "bench/console.sh: the TUI did not list b1" >&2; exit 1; }
$TM send-keys -t b j
# pane_ms: open the pane, clear it, time the cat until the marker shows.
pane_ms() {
	local t0 t1
	$TM send-keys -t b c
	waitfor "Console: VM 'b1'" 20 || return 1
	$TM send-keys -t b -l clear
	$TM send-keys -t b Enter
	waitgone "^$MARK" 10 && waitfor 'guest:/# *$' 10 || return 1
	$TM send-keys -t b -l "$CAT"
	t0=$(now)
	$TM send-keys -t b Enter
	# Polled every 0.2 s: each look forks tmux and grep, CPU the guest's
	# vCPU wants on 2 cores (socat's side pays none); the end is seen up to
	# 0.2 s late, against the pane.
	waitfor "^$MARK" 600 0.2 || return 1
	t1=$(now)
	$TM send-keys -t b C-] k
	waitfor 'NAME +STATE' 10 || return 1
	echo $(( (t1 - t0) / 1000000 ))
}

echo "vmtty console benchmarks ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg) at start)"
echo
: > "$tmp/pane.ms"; : > "$tmp/vm.ms"; : > "$tmp/socat.ms"; : > "$tmp/wake"
tp_pane() { pane_ms >> "$tmp/pane.ms" || { echo "bench/console.sh: the pane run failed:" >&2; screen >&2; exit 1; }; }
tp_socat() { socat_ms >> "$tmp/socat.ms"; }
tp_emu() {
	local out
	out=$("$SB" throughput "$sock" 37 120 "$CAT" "$MARK") || { echo "serialbench failed" >&2; exit 1; }
	echo "$out" | field ms >> "$tmp/vm.ms"
	echo "$out" | field wakeups >> "$tmp/wake"
}
# The three take turns going first (pane socat emulator, then socat
# emulator pane, ...): the guest's and the host's state drift over a run of
# several minutes, and no one of them may always meet it first.
order=(tp_pane tp_socat tp_emu)
for ((i = 0; i < runs; i++)); do
	for ((j = 0; j < 3; j++)); do "${order[(i + j) % 3]}"; done
done
$TM kill-server 2>/dev/null
pane=$(med < "$tmp/pane.ms"); vm=$(med < "$tmp/vm.ms"); so=$(med < "$tmp/socat.ms")
rate() { awk -v b="$bytes" -v t="$1" 'BEGIN { print b / 1024 / (t / 1000) }'; }
spread() { sort -n "$1" | sed -n '1p;$p' | paste -sd- | sed 's/^\([^-]*\)$/\1-\1/'; }
echo "(a) throughput: cat of $((bytes / 1024)) KiB of base64 until '$MARK' shows"
echo "    ($runs runs each, taking turns; median [min-max])"
printf '  (i)   the console pane (the whole TUI)      %8.0f ms [%s]  %6.0f KiB/s\n' \
	"$pane" "$(spread "$tmp/pane.ms")" "$(rate "$pane")"
printf '  (ii)  socat into grep                       %8.0f ms [%s]  %6.0f KiB/s\n' \
	"$so" "$(spread "$tmp/socat.ms")" "$(rate "$so")"
printf '  (iii) the pane'"'"'s emulator alone (serialbench) %6.0f ms [%s]  %6.0f KiB/s  (~%s reads a run)\n' \
	"$vm" "$(spread "$tmp/vm.ms")" "$(rate "$vm")" "$(med < "$tmp/wake")"
echo "  ratio socat/pane $(ratio "$so" "$pane")   ref: socat reading the same socket into grep (no real peer installed: nemu is not in Debian 12)   (target: at least 0.9)"
echo "  ratio socat/emulator alone $(ratio "$so" "$vm")   ref: the same socat runs"

# (b) Keystroke echo latency: rounds of the three, taking turns going
# first; each run's median of 50 keys, then the median of those.
lruns=$(( runs < 3 ? runs : 3 ))
: > "$tmp/plat"; : > "$tmp/lat"; : > "$tmp/raw"
lt_pane() { "$SB" panelat "$VMTTY" b1 50 >> "$tmp/plat" || echo "status=1" >> "$tmp/plat"; }
lt_emu() { "$SB" latency "$sock" 50 >> "$tmp/lat" || echo "status=1" >> "$tmp/lat"; }
lt_raw() { "$SB" latency "$sock" 50 raw >> "$tmp/raw" || echo "status=1" >> "$tmp/raw"; }
order=(lt_pane lt_emu lt_raw)
for ((i = 0; i < lruns; i++)); do
	for ((j = 0; j < 3; j++)); do "${order[(i + j) % 3]}"; done
done
echo
echo "(b) keystroke echo latency, 50 keys at the guest's shell prompt ($lruns runs each, taking turns;"
echo "    median of the runs' medians [their min-max], and the fastest and slowest single key):"
# lat_line LABEL FILE: the line for one kind of run, or that it failed.
lat_line() {
	local f=$2
	if grep -q 'status=1' "$f" || ! grep -q median_us "$f"; then
		printf '  %-62s did not finish\n' "$1"
		return
	fi
	printf '  %-62s %6.2f ms [%s]   (keys %.2f to %.2f)\n' "$1" \
		"$(field median_us < "$f" | med | awk '{ print $1 / 1000 }')" \
		"$(field median_us < "$f" | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f-%.2f", lo / 1000, hi / 1000 }')" \
		"$(field min_us < "$f" | sort -n | head -1 | awk '{ print $1 / 1000 }')" \
		"$(field max_us < "$f" | sort -n | tail -1 | awk '{ print $1 / 1000 }')"
}
lat_line "in the console pane (the whole TUI on a pty, key to screen)" "$tmp/plat"
lat_line "the pane's emulator alone (serialbench, socket to screen)" "$tmp/lat"
lat_line "raw echo on the socket" "$tmp/raw"
echo "  ref: raw echo on the socket (floor: the guest and QEMU)   (target: under 30 ms in the pane)"
