#!/usr/bin/env bash
# Quitting the TUI while libvirt hosts connect and send events: a private
# libvirtd whose domains are defined and undefined all the time (a lifecycle
# event every few milliseconds), and a host that never answers.  The TUI runs
# a few frames and quits, again and again, at different moments: while the
# plugin loads, while hosts connect, while lists are fetched.  A callback
# that touched the fleet after it was freed would show under the ASan build
# (make check-asan), which is this suite's point; in the plain build it
# still checks that quitting exits 0 and never hangs.
source "$(dirname "$0")/../lib.sh"
# libvirtd.sh sources the integration helpers only for the tiny guest, which
# this suite does not run: no guest build here.
create_tiny() { echo "test_quit_events: no guest in this suite" >&2; return 1; }
source "$T_ROOT/tests/integration/libvirtd.sh"

PTYRUN="$T_BUILD/bench/ptyrun"
db="$T_TMP/inv.db"

t_check "a private libvirtd" libvirtd_start qe
t_check "a host that never answers" blackhole_start
t_status "host add lv (the private libvirtd)" 0 "$VMTTY" --db "$db" host add lv "$LIBVIRTD_URI"
t_status "host add hole (never answers)" 0 "$VMTTY" --db "$db" host add hole "$BLACKHOLE_TCP_URI"

# The storm: one virsh connection defining and undefining a domain 200
# times per run, runs back to back until the stop file exists.
cat >"$T_TMP/ev.xml" <<EOF
<domain type='qemu'>
  <name>qe-ev</name>
  <memory unit='MiB'>64</memory>
  <os><type arch='x86_64'>hvm</type></os>
</domain>
EOF
cmds=""
for ((i = 0; i < 200; i++)); do cmds+="define $T_TMP/ev.xml; undefine qe-ev; "; done
storm() {
	while [ ! -e "$T_TMP/storm.stop" ]; do
		timeout 60 virsh -q -c "$LIBVIRTD_URI" "$cmds" >/dev/null 2>&1
	done
}
storm &
storm_pid=$!
t_on_exit "touch '$T_TMP/storm.stop'; kill $storm_pid"
events() { timeout 5 virsh -q -c "$LIBVIRTD_URI" event --all --loop --timeout 1 2>/dev/null | grep -c lifecycle; }
n=$(events)
t_check "the storm sends events (${n:-0} in 1 s)" test "${n:-0}" -ge 20

# Quit after 1 frame (the plugin still loading), 10, 100, 1000 and 3000 (hosts
# connected, lists coming and going), three times each.  A sanitizer report
# from a backend thread can come while the process exits with status 0:
# the reports go to files (log_path) as well as to the terminal.
san_error() {
	grep -aqE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$@" 2>/dev/null
}
run=0
for frames in 1 10 100 1000 3000 1 10 100 1000 3000 1 10 100 1000 3000; do
	run=$((run + 1))
	out=$(ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}log_path=$T_TMP/san.$run" \
		UBSAN_OPTIONS="${UBSAN_OPTIONS:-}${UBSAN_OPTIONS:+:}log_path=$T_TMP/san.$run" \
		timeout -k 5 60 "$PTYRUN" -p 100x30 -o "$T_TMP/screen.$run" \
		"$VMTTY" --db "$db" --log "$T_TMP/log.$run" --frames "$frames")
	t_match "run $run: quit after $frames frames exits 0" 'status=0' "$out"
	if san_error "$T_TMP/screen.$run" "$T_TMP"/san."$run".*; then
		t_fail "run $run: the sanitizer found an error"
		cat "$T_TMP"/san."$run".* 2>/dev/null | head -40
	else
		t_ok "run $run: no sanitizer error"
	fi
done
t_check "events reached the TUI before it quit" grep -qh "fleet: host 'lv': event" "$T_TMP"/log.*
t_check "and it quit while host 'hole' was still connecting" \
	grep -qh "jobs: lane 'hole' is busy; not waiting for it" "$T_TMP"/log.*

t_summary
