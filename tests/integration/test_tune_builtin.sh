#!/usr/bin/env bash
# Resource tuning on the built-in backend with the tiny real guest (TCG):
# vCPU and emulator pins as the threads' CPU affinity, applied at every
# start; the balloon target and the guest's own view of its memory; guest
# RAM on hugepages, and a start refused whole when the pool is short or a
# pin cannot be applied.
#
# Tuning goes through `vmtty tune`; pins the CLI refuses (a CPU the host
# does not have) are written into the inventory with sqlite3 to show that a
# start refuses them too.
source "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null || { t_skip "tuning tests" "sqlite3 is not installed"; t_summary; exit; }

# tune VM SQL-ASSIGNMENTS: change VM's row in the tuning table.
tune() {
	sqlite3 "$VMTTY_DB" "UPDATE tuning SET $2 WHERE vm_id = (SELECT id FROM vms WHERE name = '$1')"
}
rundir() { echo "$VMTTY_RUNTIME_DIR/$(vm_uuid "$1" | cut -c1-8)"; }
qmp() { python3 "$T_ROOT/tests/vnc/qmp.py" "$(rundir "$1")/qmp.sock" "${@:2}"; }
# vcpu_tids VM: "INDEX TID" per vCPU, from QEMU itself.
vcpu_tids() {
	qmp "$1" query-cpus-fast | python3 -c '
import json, sys
for c in json.load(sys.stdin)["return"]: print(c["cpu-index"], c["thread-id"])'
}
allowed() { sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "/proc/$1/task/$2/status"; }
# pins VM: "VCPU:CPUS ..." for each vCPU, then "emu:CPUS" for
# every other thread of the VM's qemu, as the kernel has them.
pins() {
	local pid tids t emu=
	pid=$(vm_pid "$1")
	tids=$(vcpu_tids "$1") || return 1
	while read -r i t; do printf '%s:%s ' "$i" "$(allowed "$pid" "$t")"; done <<<"$tids"
	for t in /proc/"$pid"/task/*; do
		t=${t##*/}
		grep -qw "$t" <<<"$tids" && continue
		emu="$emu $(allowed "$pid" "$t")"
	done
	echo "emu:$(tr ' ' '\n' <<<"$emu" | sort -u | tr '\n' ' ' | sed 's/^ *//; s/ *$//')"
}
balloon_mib() { qmp "$1" query-balloon | python3 -c 'import json, sys; print(json.load(sys.stdin)["return"]["actual"] >> 20)'; }
_balloon_is() { [ "$(balloon_mib "$1")" = "$2" ]; }
# guest_memtotal VM: MemTotal (kB) from the guest's own /proc/meminfo, asked
# on its serial console (its shell runs there).
guest_memtotal() {
	python3 - "$(rundir "$1")/serial.sock" <<'EOF'
import re, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(0.2)
# The echo of the typed line shows $(...) unexpanded; only the output
# has the number between M= and END.
s.sendall(b"\necho M=$(sed -n 's/^MemTotal: *//p' /proc/meminfo | cut -d' ' -f1)END\n")
buf, deadline = b"", time.time() + 15
while time.time() < deadline:
    try:
        buf += s.recv(4096)
    except socket.timeout:
        pass
    m = re.search(rb"M=([0-9]+)END", buf)
    if m:
        print(m.group(1).decode())
        sys.exit(0)
sys.exit(1)
EOF
}
_memtotal_below() { local m; m=$(guest_memtotal "$1") && [ "$m" -lt "$2" ]; }
hp_free() { sed -n 's/^HugePages_Free: *//p' /proc/meminfo; }
nothing_left() { # VM: no qemu, no pidfile, no sockets
	local d; d=$(rundir "$1")
	! pgrep -f -- "-pidfile $d/qemu.pid" >/dev/null && [ ! -e "$d/qemu.pid" ] &&
		! ls "$d"/*.sock >/dev/null 2>&1
}

t_status "create g with 2 vCPUs and 256 MiB" 0 create_tiny g --cpus 2
ncpu=$(nproc --all)
if [ "$(cat /sys/devices/system/cpu/online)" != "0-$((ncpu - 1))" ] || [ "$ncpu" -lt 2 ]; then
	t_skip "pins" "this host needs CPUs 0 and 1 online"
	t_summary
	exit
fi

# 1. Pins and the balloon through `vmtty tune` on the running guest, then
# applied again by the next start.
t_status "start g" 0 "$VMTTY" start g --wait-serial "GUEST READY" --timeout 90
t_status "tune g --pin 0:0 --pin 1:1 --emulator-pin 1 (running)" 0 \
	"$VMTTY" tune g --pin 0:0 --pin 1:1 --emulator-pin 1
t_eq "each vCPU thread on its CPU at once, every other qemu thread on the emulator's" \
	"0:0 1:1 emu:1" "$(pins g)"
t_status "tune g --json" 0 "$VMTTY" tune g --json
t_eq "tune --json: each vCPU's pin and affinity, its thread as QEMU names it" \
	"$(vcpu_tids g | awk '{ printf "%s %s %s %s\n", $1, $1, $1, $2 }')" \
	"$(printf '%s' "$T_OUT" | python3 -c '
import json, sys
for v in json.load(sys.stdin)["vcpus"]: print(v["vcpu"], v["pin"], v["affinity"], v["tid"])')"
full=$(guest_memtotal g)
t_status "tune g --balloon 160M (running)" 0 "$VMTTY" tune g --balloon 160M
t_check "the balloon goes down to 160 MiB (query-balloon)" wait_for 30 _balloon_is g 160
t_check "the guest's MemTotal drops below 160 MiB" wait_for 30 _memtotal_below g $((160 * 1024))
small=$(guest_memtotal g)
t_check "by the 96 MiB ballooned ($full -> $small kB)" \
	test $((full - small - 96 * 1024)) -ge -1024 -a $((full - small - 96 * 1024)) -le 1024
t_match "qom: start turned on the guest's balloon statistics every 2 s" '"return": 2$' \
	"$(qmp g qom-get '{"path": "/machine/peripheral/balloon0", "property": "guest-stats-polling-interval"}' | tr -d '}')"
_stats_total() {
	"$VMTTY" tune g --json | python3 -c '
import json, sys
o = json.load(sys.stdin)
sys.exit(0 if o["guest"]["total_kib"] == int(sys.argv[1]) and o["actual_kib"] == 160 * 1024 else 1)' "$small"
}
t_check "tune --json: actual 160 MiB and the guest's own total ($small kB)" wait_for 15 _stats_total
t_status "tune g --balloon 256M (running)" 0 "$VMTTY" tune g --balloon 256M
_memtotal_is() { [ "$(guest_memtotal "$1")" = "$2" ]; }
t_check "the guest's MemTotal is back ($full kB)" wait_for 30 _memtotal_is g "$full"
t_status "tune g --balloon 160M again" 0 "$VMTTY" tune g --balloon 160M
t_status "poweroff g" 0 "$VMTTY" poweroff g --wait
t_status "start g" 0 "$VMTTY" start g --wait-serial "GUEST READY" --timeout 90
t_eq "the pins were applied again at this start" "0:0 1:1 emu:1" "$(pins g)"
t_check "and the balloon target" wait_for 30 _balloon_is g 160
t_status "journal" 0 "$VMTTY" log g --json
t_eq "each tune journaled" "4" "$(printf '%s' "$T_OUT" | python3 -c '
import json, sys
print(sum(1 for e in json.load(sys.stdin) if e["action"] == "tune" and e["result"] == "ok"))')"

# A maximum memory pending for the next start moves neither end of the
# running guest's balloon: they stay those of the memory it started with
# (256 MiB: 64 to 256), so it is never ballooned below its floor, and a
# later change is not refused as if it ran with the pending memory.
t_status "tune g --max-memory 32M (running: pending)" 0 "$VMTTY" tune g --max-memory 32M
t_status "tune g --balloon 32M is refused: g runs with 256 MiB" 1 "$VMTTY" tune g --balloon 32M
t_match "naming the floor of the memory it runs with" \
	"^vmtty: balloon: 32 MiB is below the floor of VM 'g' while it runs with 256 MiB; give at least 64 MiB \(the larger of 64 MiB and an eighth\)$" "$T_ERR"
t_eq "the balloon is as it was" 160 "$(balloon_mib g)"
_guest_answers() { guest_memtotal "$1" >/dev/null; }
t_check "the guest's shell still answers" _guest_answers g
t_status "tune g --max-memory 256M --balloon 200M (not refused as running with 32 MiB)" 0 \
	"$VMTTY" tune g --max-memory 256M --balloon 200M
t_check "the balloon goes to 200 MiB" wait_for 30 _balloon_is g 200
t_status "a target above the 256 MiB it runs with is refused" 1 \
	"$VMTTY" tune g --max-memory 512M --balloon 300M
t_match "saying what it runs with" "balloon: VM 'g' runs with 256 MiB; .* give at most 256 MiB now" "$T_ERR"
t_status "show --json" 0 "$VMTTY" show g --json
t_eq "the inventory has 256 MiB, a target of 200 MiB, max memory pending" "256 200 max memory" \
	"$(printf '%s' "$T_OUT" | python3 -c '
import json, sys
o = json.load(sys.stdin)
print(o["memory_mib"], o["tuning"]["balloon_mib"], o["pending_restart"])')"
t_status "list" 0 "$VMTTY" list
t_match "the list marks g pending while it runs" '^local +g +running\* ' "$T_OUT"

# 2. Hugepages: 128 pages of 2M for 256 MiB, out of 160 reserved here.
if [ "$(id -u)" -eq 0 ] && [ -w /proc/sys/vm/nr_hugepages ] &&
	[ -d /sys/kernel/mm/hugepages/hugepages-2048kB ]; then
	hugepages_lock
	old_hp=$(cat /proc/sys/vm/nr_hugepages)
	t_on_exit "echo $old_hp > /proc/sys/vm/nr_hugepages"
	echo 160 >/proc/sys/vm/nr_hugepages
	hugepages=$([ "$(cat /proc/sys/vm/nr_hugepages)" -ge 160 ] && echo yes)
fi
t_status "poweroff g" 0 "$VMTTY" poweroff g --wait
# Off, what waited for a restart is simply its configuration.
t_status "list" 0 "$VMTTY" list
t_match "the list shows g off, with no pending mark" '^local +g +off +2 ' "$T_OUT"
t_status "list --json" 0 "$VMTTY" list --json
t_eq "list --json: not pending a restart" False "$(printf '%s' "$T_OUT" | python3 -c '
import json, sys
print([v for v in json.load(sys.stdin) if v["name"] == "g"][0]["pending_restart"])')"
t_status "show g" 0 "$VMTTY" show g
t_nomatch "show says nothing pending" "^Pending:" "$T_OUT"
t_status "tune g" 0 "$VMTTY" tune g
t_nomatch "tune says nothing pending" "pending restart" "$T_OUT"
t_status "tune g --hugepages 2M --balloon 256M" 0 "$VMTTY" tune g --hugepages 2M --balloon 256M
t_status "show --argv with hugepages" 0 "$VMTTY" show g --argv
t_match "guest RAM from a preallocated 2M hugetlb memfd" \
	"memory-backend-memfd,id=mem0,size=256M,hugetlb=on,hugetlbsize=2048K,prealloc=on" "$T_OUT"
t_match "named by -machine" "q35,memory-backend=mem0" "$T_OUT"
if [ -n "${hugepages:-}" ]; then
	free0=$(hp_free)
	t_status "start g on hugepages" 0 "$VMTTY" start g --wait-serial "GUEST READY" --timeout 90
	t_eq "HugePages_Free dropped by 128 while it runs" $((free0 - 128)) "$(hp_free)"
	t_eq "the pins were applied again at this start" "0:0 1:1 emu:1" "$(pins g)"
	t_eq "the balloon is the whole memory" 256 "$(balloon_mib g)"
	t_status "poweroff g" 0 "$VMTTY" poweroff g --wait
	t_eq "the pages came back" "$free0" "$(hp_free)"

	echo 100 >/proc/sys/vm/nr_hugepages
	t_status "with 100 pages free the start fails" 1 "$VMTTY" start g
	t_match "saying how many are needed, free and missing, and how to reserve them" \
		"VM 'g' needs 128 hugepages of 2M for its 256 MiB, but only 100 are free \(28 missing\); reserve more as root with 'echo 128 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages'" "$T_ERR"
	t_eq "in one line" 1 "$(printf '%s\n' "$T_ERR" | wc -l)"
	t_check "no qemu, pidfile or socket is left" nothing_left g
	t_eq "off" off "$(vm_state g)"
	t_eq "no hugepage was taken" 100 "$(hp_free)"
else
	t_skip "hugepages" "needs root and 160 free 2M hugepages"
	"$VMTTY" poweroff g --wait >/dev/null 2>&1
fi

# 3. Pins the host cannot honour refuse the start, before or after qemu runs.
tune g "hugepages = 0, vcpu_pins = '0:0;1:$ncpu'"
t_status "a pin on a CPU the host does not have fails the start" 1 "$VMTTY" start g
t_match "naming the CPU" "VM 'g': vCPU 1 is pinned to host CPU $ncpu, which this host does not have online \(it has CPUs 0-$((ncpu - 1))\); change the pin with 'vmtty tune g --pin 1:CPUS'" "$T_ERR"
t_check "nothing is left running" nothing_left g
# vmtty confined to CPU 0 by a cpuset cgroup: its qemu is too, and cannot
# be pinned to CPU 1; the start is undone once qemu is up.
cg=/sys/fs/cgroup/cpuset/vmtty-test-$$
if [ "$(id -u)" -eq 0 ] && mkdir "$cg" 2>/dev/null; then
	t_on_exit "rmdir $cg"
	echo 0 >"$cg/cpuset.cpus"
	cat /sys/fs/cgroup/cpuset/cpuset.mems >"$cg/cpuset.mems"
	tune g "vcpu_pins = '0:0;1:1', emulator_pin = NULL"
	t_status "a pin qemu cannot take fails the start" 1 \
		sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" start g' _ "$cg" "$VMTTY"
	t_match "saying why, and that the start was undone" "VM 'g': its vCPU 1 \(thread [0-9]+\) cannot run on host CPUs 1: .*; the start was undone \(qemu stopped\)" "$T_ERR"
	t_check "no qemu, pidfile or socket is left" nothing_left g
	t_check "the log says so" grep -q "start of VM 'g' undone, qemu stopped" "$(rundir g)/qemu.log"
	t_eq "off" off "$(vm_state g)"
else
	t_skip "a pin qemu cannot take" "needs root and a cpuset cgroup (v1)"
fi

t_summary
