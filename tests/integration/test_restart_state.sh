#!/usr/bin/env bash
# What `vmtty list` says of a supervised built-in VM while it is being
# restarted (the tiny real guest, TCG): after kill -9 of its qemu, the
# supervisor's restart goes crashed -> starting -> running, and a
# `vmtty start` of a crashed VM the same way: never "off" (nor "unknown")
# for a VM whose start is under way.  vmtty list is polled, text and
# --json, from the kill until the new qemu's start is over.  Its qemu
# takes 2 s to come up (a wrapper sleeps before it runs the real one), as
# on a loaded machine: the time in which it has no pidfile yet.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/libvirtd.sh"

port=$(_lv_free_port)
LOG="$T_TMP/serve.log"
SERVE_PID=
serve_stop() { [ -n "$SERVE_PID" ] && kill -9 "$SERVE_PID" 2>/dev/null; }
t_on_exit serve_stop

# poll_states VM OLDPID OUT: every state vmtty list (--json and text, in
# turn) reports for VM, one a line into OUT, until a qemu other than
# OLDPID runs it and list says "running" (or 60 s have passed).  (PIDFILE:
# the VM's, found before the kill.)
poll_states() {
	local vm=$1 old=$2 out=$3 end=$(($(date +%s) + 60)) s p
	: >"$out"
	while [ "$(date +%s)" -lt "$end" ]; do
		"$VMTTY" list --json >"$T_TMP/list.json"
		s=$(python3 -c 'import json, sys
print(*[v["state"] for v in json.load(open(sys.argv[1])) if v["name"] == sys.argv[2]])' \
			"$T_TMP/list.json" "$vm")
		echo "$s" >>"$out"
		s=$("$VMTTY" list | awk -v n="$vm" '$2 == n { print $3 }')
		echo "$s" >>"$out"
		p=$(cat "$pidfile" 2>/dev/null)
		[ "$s" = running ] && [ -n "$p" ] && [ "$p" != "$old" ] && return 0
	done
	return 1
}
# states OUT: the states seen, each run of one state once, with how many
# readings it lasted ("crashed*12 starting*9 running*1").
states() { uniq -c "$1" | awk '{ printf "%s%s*%d", (NR > 1 ? " " : ""), $2, $1 }'; }

cat >"$T_TMP/slow-qemu" <<'EOS'
#!/bin/sh
sleep 2
exec qemu-system-x86_64 "$@"
EOS
chmod +x "$T_TMP/slow-qemu"
export VMTTY_QEMU="$T_TMP/slow-qemu"

t_status "create g (tiny guest)" 0 create_tiny g
t_status "edit g --on-crash restart" 0 "$VMTTY" edit g --on-crash restart
t_status "start g" 0 "$VMTTY" start g
"$VMTTY" serve --supervise --listen "127.0.0.1:$port" 2>"$LOG" &
SERVE_PID=$!
_supervising() { grep -q "supervising the built-in VMs" "$LOG"; }
t_check "serve --supervise is up" wait_for 15 _supervising

# 1. kill -9: the supervisor restarts it.
pidfile="$(rundir g)/qemu.pid"
pid1=$(vm_pid g)
kill -9 "$pid1"
t_check "kill -9 of g's qemu: vmtty list follows it until it runs again" \
	poll_states g "$pid1" "$T_TMP/s1"
seen=$(states "$T_TMP/s1")
t_check "  it said starting on the way ($seen)" grep -qx starting "$T_TMP/s1"
t_check "  and never off nor unknown ($seen)" eval '! grep -Eqx "off|unknown" "$T_TMP/s1"'

# 2. vmtty start of a crashed VM (the supervisor gone): the same.
kill -9 "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null
SERVE_PID=
pid2=$(vm_pid g)
kill -9 "$pid2"
t_check "kill -9 again, with no supervisor: g is crashed" wait_for 10 _state_is g crashed
"$VMTTY" start g >"$T_TMP/start.out" 2>&1 &
st=$!
t_check "vmtty start g: vmtty list follows it until it runs" poll_states g "$pid2" "$T_TMP/s2"
wait "$st"
t_eq "  the start exits 0" 0 "$?"
seen=$(states "$T_TMP/s2")
t_check "  it said starting on the way ($seen)" grep -qx starting "$T_TMP/s2"
t_check "  and never off nor unknown ($seen)" eval '! grep -Eqx "off|unknown" "$T_TMP/s2"'

# 3. vmtty reboot (ACPI, the same qemu): polled while it runs.
t_check "g's guest is up" wait_serial g "GUEST READY" 1 90
"$VMTTY" reboot g >"$T_TMP/reboot.out" 2>&1 &
rb=$!
: >"$T_TMP/s3"
while kill -0 "$rb" 2>/dev/null; do
	"$VMTTY" list --json >"$T_TMP/list.json"
	python3 -c 'import json, sys
print(*[v["state"] for v in json.load(open(sys.argv[1])) if v["name"] == "g"])' \
		"$T_TMP/list.json" >>"$T_TMP/s3"
done
wait "$rb"
t_eq "vmtty reboot g exits 0" 0 "$?"
seen=$(states "$T_TMP/s3")
t_check "  meanwhile never off, crashed nor unknown ($seen)" \
	eval '! grep -Eqx "off|crashed|unknown" "$T_TMP/s3"'
t_check "  the guest boots again" wait_serial g "GUEST READY" 2 90

"$VMTTY" poweroff g >/dev/null 2>&1
t_summary
