#!/usr/bin/env bash
# vmtty serve --supervise (issue 18): the restart policy of built-in VMs,
# with the tiny real guest (TCG) and firmware-only VMs.  An autostart VM
# is started when the supervisor begins; kill -9 of its qemu (on-crash
# restart) has it running again within 5 s, the journal saying which
# signal killed it; kill -9 of a VM with on-crash leave leaves it crashed,
# journaled once; a guest that powers itself off stays off; a VM whose
# qemu dies at once after every start is restarted with a growing backoff,
# at most 4 times, then given up; a second supervisor is refused; the
# supervisor leaves no zombie; SIGTERM exits 0 and leaves the VMs running.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/libvirtd.sh"

port=$(_lv_free_port)
LOG="$T_TMP/serve.log"
SERVE_PID=
serve_stop() { [ -n "$SERVE_PID" ] && kill -9 "$SERVE_PID" 2>/dev/null; }
t_on_exit serve_stop

# log_json VM EXPR: EXPR (Python) over the VM's journal as E, a list of
# {time (s since the epoch), action, result, message}.
log_json() {
	"$VMTTY" log "$1" --limit 0 --json | python3 -c "
import datetime, json, sys
E = json.load(sys.stdin)
for e in E:
    e['time'] = datetime.datetime.strptime(e['time'], '%Y-%m-%dT%H:%M:%S.%fZ').timestamp()
print($2)"
}
_log_has() { "$VMTTY" log "$1" --limit 0 | grep -Eq -- "$2"; }
# guest_type VM LINE: type LINE on the guest's serial console, then read
# what it says until qemu closes the console (the line powered it off) or
# 20 s have passed: closing at once could take the line with it.
guest_type() {
	python3 - "$(rundir "$1")/serial.sock" "$2" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(0.2)
s.sendall(b"\n" + sys.argv[2].encode() + b"\n")
deadline = time.time() + 20
while time.time() < deadline:
    try:
        if s.recv(4096) == b"":
            break
    except socket.timeout:
        pass
    except OSError:
        break
s.close()
EOF
}
policy() {
	"$VMTTY" show "$1" --json | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["on_crash"], v["autostart"])'
}

# A qemu that a helper kills (-9) 1 s after it answers on QMP (its start
# is over by then), for the VM named "crasher" only; the others get the
# real one.
cat >"$T_TMP/crash-qemu" <<'EOS'
#!/bin/sh
case " $* " in
*" guest=crasher,"*)
	pf=; prev=
	for a in "$@"; do [ "$prev" = -pidfile ] && pf=$a; prev=$a; done
	( i=0; while [ ! -S "${pf%/*}/qmp.sock" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
	  sleep 1; kill -9 "$(cat "$pf")" ) >/dev/null 2>&1 &
	;;
esac
exec qemu-system-x86_64 "$@"
EOS
chmod +x "$T_TMP/crash-qemu"

# 1. The VMs and their policies.
t_status "create g (tiny guest)" 0 create_tiny g
t_status "edit g --on-crash restart --autostart on" 0 "$VMTTY" edit g --on-crash restart --autostart on
t_eq "  show --json: restart, autostart" "restart True" "$(policy g)"
t_status "create l (firmware only)" 0 "$VMTTY" create l --memory 64 --accel tcg --graphics none
t_eq "  its policy: leave, no autostart (the defaults)" "leave False" "$(policy l)"
t_status "create crasher (firmware only; its qemu dies 1 s after each start)" 0 \
	"$VMTTY" create crasher --memory 64 --accel tcg --graphics none
t_status "edit crasher --on-crash restart --autostart on" 0 \
	"$VMTTY" edit crasher --on-crash restart --autostart on
t_status "start l before the supervisor" 0 "$VMTTY" start l
t_eq "g is off before it" off "$(vm_state g)"

# 2. The supervisor begins: the autostart VMs start.
VMTTY_QEMU="$T_TMP/crash-qemu" "$VMTTY" serve --supervise --listen "127.0.0.1:$port" 2>"$LOG" &
SERVE_PID=$!
t0=$(date +%s)
t_check "g is started when serve --supervise begins (autostart)" wait_for 15 _state_is g running
t_check "  the journal says so" _log_has g "ok +start +local/g: started: autostart, as vmtty serve --supervise began"
t_match "  the log says it supervises" "supervising the built-in VMs" "$(cat "$LOG")"
t_nomatch "  l was not started again (it runs)" "local/l: started" "$(cat "$LOG")"
port2=$(_lv_free_port)
t_status "a second serve --supervise is refused" 1 "$VMTTY" serve --supervise --listen "127.0.0.1:$port2"
t_match "  saying another one supervises these VMs" \
	"another 'vmtty serve --supervise' already supervises the built-in VMs of runtime directory '$VMTTY_RUNTIME_DIR'" "$T_ERR"

# 3. kill -9 of g's qemu: running again within 5 s, a new qemu.  Polled
# through its runtime directory (a vmtty list per poll would take longer
# than what it measures on a busy machine), then asked of vmtty.
GDIR=$(rundir g)
pid1=$(vm_pid g)
# _new_qemu OLD: a qemu other than OLD runs for g and answers on QMP.
_new_qemu() {
	local p
	p=$(cat "$GDIR/qemu.pid" 2>/dev/null)
	[ -n "$p" ] && [ "$p" != "$1" ] && kill -0 "$p" 2>/dev/null && [ -S "$GDIR/qmp.sock" ]
}
kill -9 "$pid1"
k0=$(date +%s%N)
wait_for 5 _new_qemu "$pid1"
ms=$(( ($(date +%s%N) - k0) / 1000000 ))
t_check "kill -9 of g's qemu ($pid1): a new qemu within 5 s ($ms ms)" test "$ms" -lt 5000
# vmtty list meanwhile, while the start is under way (its qemu up, the
# start not journaled yet): that is no start cut short, nothing to journal.
_restart_journaled() {
	"$VMTTY" list >/dev/null 2>>"$T_TMP/list.err"
	_log_has g "ok +start +local/g: restarted after a crash"
}
t_check "  the restart is journaled" wait_for 5 _restart_journaled
t_eq "  a vmtty list during the restart said nothing" "" "$(cat "$T_TMP/list.err")"
t_eq "  g is running" running "$(vm_state g)"
t_check "  the journal: the crash within 1 s of the kill, the restart 1 to 5 s after it ($(log_json g '"%.2f %.2f" % tuple(e["time"] - '"$k0"' / 1e9 for e in E if e["action"] == "crash" or e["message"].startswith("restarted"))') s)" \
	python3 -c "import sys; c, r = map(float, '$(log_json g '"%.3f %.3f" % tuple(e["time"] - '"$k0"' / 1e9 for e in E if e["action"] == "crash" or e["message"].startswith("restarted"))')'.split()); sys.exit(not (-0.5 < c < 1 and 1 <= r - c < 5))"
t_check "  the journal says it crashed, the signal, and that it restarts it" _log_has g \
	"FAILED +crash +local/g: crashed: its qemu \(pid $pid1\) was killed by signal 9 \(SIGKILL\).*; restarting in 1 s \(on-crash restart\)"
t_check "  and that it restarted it, and why" _log_has g \
	"ok +start +local/g: restarted after a crash, as its on-crash policy says: its qemu \(pid $pid1\) was killed by signal 9 \(SIGKILL\); restart 1 within 60 s"
t_match "  the serve log has it too" "VM 'local/g': restarted after a crash" "$(cat "$LOG")"

# 4. kill -9 of l's qemu (on-crash leave): it stays crashed, journaled once.
lpid=$(vm_pid l)
kill -9 "$lpid"
t_check "kill -9 of l's qemu: l is crashed" wait_for 5 _state_is l crashed
t_check "  the journal says it was left so" wait_for 5 _log_has l \
	"FAILED +crash +local/l: crashed: its qemu \(pid $lpid\) ended without a clean shutdown.*; left crashed \(on-crash leave\)"
t_check "  it stays crashed (4 s)" holds_for 4 _state_is l crashed
t_eq "  one crash line; the only start is the one before the supervisor" "1 1" \
	"$(log_json l 'sum(e["action"] == "crash" for e in E), sum(e["action"] == "start" for e in E)' | tr -d '(),')"

# 5. A guest that powers itself off is no crash: g stays off.
t_check "g's guest boots again" wait_serial g "GUEST READY" 1 90
guest_type g 'poweroff -f'
t_check "the guest powered itself off: g is off" wait_for 30 _state_is g off
t_check "  and stays off (4 s)" holds_for 4 _state_is g off
t_eq "  still one crash of g in the journal" 1 "$(log_json g 'sum(e["action"] == "crash" for e in E)')"

# 6. crasher: its qemu dies 1 s after each start.  Restarted after 1, 2, 4
# and 8 s, then given up: about 20 s after the supervisor began.  (On a
# busy machine a restart may fail instead, the qemu killed before its
# start was over: it counts as a restart all the same.)
_gave_up() { _log_has crasher "gave up after 4 tries to restart it within 60 s: it stays crashed"; }
t_check "crasher is given up within 50 s of the supervisor's start" wait_for $((t0 + 50 - $(date +%s))) _gave_up
RESTARTS='[e["time"] for e in E if e["action"] == "start" and e["message"].startswith(("restarted after a crash", "restart failed"))]'
t_eq "  restarted 4 times, no more" 4 "$(log_json crasher "len($RESTARTS)")"
gaps=$(log_json crasher "' '.join('%.1f' % (b - a) for a, b in zip($RESTARTS, $RESTARTS[1:]))")
t_check "  no tight loop: each wait longer than the one before (gaps: $gaps s)" python3 -c "
import sys
g = [float(x) for x in '$gaps'.split()]
sys.exit(not (len(g) == 3 and g[0] >= 1.5 and all(b > a for a, b in zip(g, g[1:]))))"
t_check "  the restarts say the qemu was killed by signal 9" _log_has crasher \
	"restarted after a crash, .*was killed by signal 9 \(SIGKILL\); restart 4 within 60 s"
t_eq "  crasher is left crashed" crashed "$(vm_state crasher)"
t_check "  and stays so (3 s)" holds_for 3 _state_is crasher crashed
_no_zombie() { ! ps -o stat= --ppid "$SERVE_PID" | grep -q '^Z'; }
t_check "the supervisor leaves no zombie among the qemus it adopted" wait_for 5 _no_zombie

# 7. SIGTERM: exit 0; a qemu the supervisor started runs on.
t_status "start g again" 0 "$VMTTY" start g
pid2=$(vm_pid g)
kill -9 "$pid2"
wait_for 5 _new_qemu "$pid2"
t_check "kill -9 again: a new qemu within 5 s" _new_qemu "$pid2"
_restart2_journaled() { [ "$(log_json g 'sum(e["message"].startswith("restarted after a crash") for e in E)')" = 2 ]; }
t_check "  journaled" wait_for 5 _restart2_journaled
t_eq "  g is running" running "$(vm_state g)"
pid3=$(vm_pid g)
kill -TERM "$SERVE_PID"
s0=$(date +%s%N)
wait "$SERVE_PID"
rc=$?
SERVE_PID=
t_eq "SIGTERM: exit 0" 0 "$rc"
t_check "  within 5 s ($(( ($(date +%s%N) - s0) / 1000000 )) ms)" test $(( ($(date +%s%N) - s0) / 1000000 )) -lt 5000
t_match "  it said the VMs were left as they are" "stopped; the VMs were left as they are" "$(cat "$LOG")"
t_check "  g's qemu (started by the supervisor) still runs" kill -0 "$pid3"
t_eq "  g is running" running "$(vm_state g)"
t_eq "  crasher and l are still crashed" "crashed crashed" "$(vm_state crasher) $(vm_state l)"
t_eq "no start of g was journaled as found running (by a show or list during a restart)" 0 \
	"$(log_json g 'sum("found running" in e["message"] for e in E)')"

"$VMTTY" poweroff g >/dev/null 2>&1
t_summary
