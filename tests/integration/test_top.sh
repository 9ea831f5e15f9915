#!/usr/bin/env bash
# vmtty top with the tiny real guest (TCG) and a libvirt test-driver host:
# a guest writing to its disk shows rising block write bytes in
# `top --batch --json`; its CPU % agrees with what /proc says of its qemu
# over the same run; user networking is reported as unavailable (null),
# not zero; the test driver's numbers agree with virsh; bad input is a
# usage error.
source "$(dirname "$0")/lib.sh"

# cpu_ticks PID: utime + stime of PID (clock ticks), from /proc/PID/stat.
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
now_ns() { date +%s%N; }
# jq_py EXPR: evaluate the Python expression EXPR over each JSON line of
# $T_OUT (as L, a list), print the result.
jq_py() { printf '%s\n' "$T_OUT" | python3 -c "
import json, sys
L = [json.loads(l) for l in sys.stdin if l.strip()]
def vm(o, host, name):
    return [v for v in o['vms'] if v['host'] == host and v['name'] == name][0]
print($1)"; }

D="$T_TMP/disks"
mkdir -p "$D"
qemu-img create -q -f qcow2 "$D/data.qcow2" 64M
t_status "create g (1 vCPU, user networking) with a data disk" 0 create_tiny g --disk "$D/data.qcow2"
t_status "start g" 0 "$VMTTY" start g --wait-serial "GUEST READY" --timeout 90

# 1. Bad input: a usage error (exit 2) before anything is sampled.
t_status "top --sort bogus: usage error" 2 "$VMTTY" top --batch --sort bogus
t_match "  saying what the sort orders are" "use cpu, mem, io or name" "$T_ERR"
t_status "top --iterations 0: usage error" 2 "$VMTTY" top --batch --iterations 0
t_status "top --delay 1.5x: usage error" 2 "$VMTTY" top --batch --delay 1.5x
t_status "top with an operand: usage error" 2 "$VMTTY" top g
t_status "top without a terminal and without --batch: usage error" 2 "$VMTTY" top
t_match "  saying to use --batch" "use --batch" "$T_ERR"
t_status "top --host nosuch: fails naming the host" 1 "$VMTTY" top --batch --host nosuch
t_match "  naming it" "nosuch" "$T_ERR"

# 2. The guest writes to its disk without pause (each pass synced), and
# keeps one host CPU busy doing it under TCG.
t_eq "a writer started in the guest" "started" \
	"$(gsh g 'while :; do dd if=/dev/zero of=/dev/vda bs=64k count=128 conv=fsync 2>/dev/null; done & echo "@@""=started@@"')"
pid=$(vm_pid g)
t0=$(now_ns); c0=$(cpu_ticks "$pid")
t_status "top --batch --json --iterations 3 --delay 1 --host local" 0 \
	"$VMTTY" top --batch --json --iterations 3 --delay 1 --host local
t1=$(now_ns); c1=$(cpu_ticks "$pid")
t_eq "three JSON lines, iterations 1..3" "[1, 2, 3]" "$(jq_py '[o["iteration"] for o in L]')"
t_eq "g in each, running, 1 vCPU" "[('running', 1, 1), ('running', 1, 1), ('running', 1, 1)]" \
	"$(jq_py '[(vm(o, "local", "g")["state"], vm(o, "local", "g")["vcpus"], len(vm(o, "local", "g")["vcpu"])) for o in L]')"
t_eq "block write bytes/s above 0 at each iteration" "True" \
	"$(jq_py 'all(vm(o, "local", "g")["disk"]["wr_bytes_per_s"] > 0 for o in L)')"
t_eq "block write bytes rise from iteration 1 to 3 (disk0)" "True" \
	"$(jq_py 'vm(L[2], "local", "g")["disk"]["devices"][0]["wr_bytes"] > vm(L[0], "local", "g")["disk"]["devices"][0]["wr_bytes"] > 0 and vm(L[0], "local", "g")["disk"]["devices"][0]["name"] == "disk0"')"
t_eq "write operations per second above 0" "True" \
	"$(jq_py 'vm(L[2], "local", "g")["disk"]["wr_ops_per_s"] > 0')"
proc_pct=$(python3 -c "import os; print(($c1 - $c0) / os.sysconf('SC_CLK_TCK') / (($t1 - $t0) / 1e9) * 100)")
top_pct=$(jq_py 'sum(vm(o, "local", "g")["cpu_pct"] * o["vms"][0]["interval_s"] for o in L if o["vms"]) / sum(o["vms"][0]["interval_s"] for o in L if o["vms"])')
t_check "CPU % over the run: top $top_pct, /proc $proc_pct: within 10 points" \
	python3 -c "import sys; sys.exit(abs($top_pct - $proc_pct) > 10)"
t_eq "the vCPU's share is known" "True" "$(jq_py 'vm(L[2], "local", "g")["vcpu"][0]["cpu_pct"] is not None')"
t_eq "memory: the balloon 256 MiB, the qemu's RSS known" "True" \
	"$(jq_py 'vm(L[2], "local", "g")["mem"]["actual_kib"] == 262144 and vm(L[2], "local", "g")["mem"]["rss_kib"] > 0')"
t_eq "user networking: NIC rates null, not 0" "[None, None]" \
	"$(jq_py '[vm(L[2], "local", "g")["net"]["rx_bytes_per_s"], vm(L[2], "local", "g")["net"]["tx_bytes_per_s"]]')"
t_match "  and the note says why" "no traffic counters for user networking" \
	"$(jq_py 'vm(L[2], "local", "g")["note"]')"

t_status "top --batch (text) --iterations 1 --delay 1 --sort io" 0 \
	"$VMTTY" top --batch --iterations 1 --delay 1 --sort io
t_match "a header" "^HOST +NAME +STATE +%CPU" "$T_OUT"
t_match "g's row: running, 1 vCPU" "^local +g +running +[0-9.]+ +1 " "$T_OUT"
t_match "the note on user networking" "no traffic counters for user networking" "$T_OUT"

# 3. A libvirt test-driver host next to the built-in one: its running
# domain 'test', with the numbers virsh gives for it.
if ! command -v virsh >/dev/null; then
	t_skip "libvirt test driver" "virsh is not installed"
	t_summary
	exit
fi
t_status "host add lvt test:///default" 0 "$VMTTY" host add lvt test:///default
t_status "top --batch --json --iterations 1 --delay 1 (both hosts)" 0 \
	"$VMTTY" top --batch --json --iterations 1 --delay 1
t_eq "both hosts up" "[('local', True), ('lvt', True)]" \
	"$(jq_py 'sorted((h["name"], h["up"]) for h in L[0]["hosts"])')"
t_eq "g and test in one snapshot" "['local/g', 'lvt/test']" \
	"$(jq_py 'sorted(v["host"] + "/" + v["name"] for v in L[0]["vms"])')"
want_state=$(virsh -c test:///default domstats test | sed -n 's/^ *state.state=//p')
t_eq "test: the state virsh domstats reports (state.state=$want_state: running)" "1 running" \
	"$want_state $(jq_py 'vm(L[0], "lvt", "test")["state"]')"
vcpus=$(virsh -c test:///default dominfo test | sed -n 's/^CPU(s): *//p')
t_eq "test: vCPUs as virsh dominfo ($vcpus)" "$vcpus" "$(jq_py 'vm(L[0], "lvt", "test")["vcpus"]')"
mem=$(virsh -c test:///default dommemstat test | awk '{ printf "%s=%s ", $1, $2 }')
t_eq "test: memory as virsh dommemstat ($mem)" "$(sed 's/.*actual=\([0-9]*\) .*available=\([0-9]*\) .*usable=\([0-9]*\) .*rss=\([0-9]*\) .*/\1 \2 \3 \4/' <<<"$mem")" \
	"$(jq_py '" ".join(str(vm(L[0], "lvt", "test")["mem"][k]) for k in ("actual_kib", "available_kib", "usable_kib", "rss_kib"))')"
rd=$(virsh -c test:///default domblkstat test vda | awk '$2 == "rd_bytes" { print $3 }')
t_eq "test: disk vda's read bytes as virsh domblkstat ($rd, within 0.1 %)" "True" \
	"$(jq_py "abs(vm(L[0], 'lvt', 'test')['disk']['devices'][0]['rd_bytes'] - $rd) < $rd / 1000 and vm(L[0], 'lvt', 'test')['disk']['devices'][0]['name'] == 'vda'")"
t_eq "test: CPU % and disk rates computed (not null)" "True" \
	"$(jq_py 'vm(L[0], "lvt", "test")["cpu_pct"] is not None and vm(L[0], "lvt", "test")["disk"]["rd_bytes_per_s"] is not None')"

# 4. Full screen on a terminal (80x12): the table refreshes, the sort
# order follows a key, q leaves the alternate screen and exits 0.
tui_start 80 12 "$VMTTY" top --delay 1
tui_expect "full screen: the header and g's row" "^local +g +running" 15
tui_expect "  on the alternate screen" "sort: cpu"
t_eq "  alternate screen on, cursor hidden" "1 0" "$(tui_flags | cut -d' ' -f1,2)"
tui_keys m
tui_expect "m sorts by memory" "sort: mem"
tui_keys q
tui_expect "q quits with status 0" "\[exited 0\]"
t_eq "  and leaves the alternate screen" "0 1" "$(tui_flags | cut -d' ' -f1,2)"
tui_kill

t_status "poweroff g" 0 "$VMTTY" poweroff g --wait
t_status "top --json with g off" 0 "$VMTTY" top --batch --json --iterations 1 --delay 1 --host local
t_eq "g: off, no CPU %" "('off', None)" \
	"$(jq_py '(vm(L[0], "local", "g")["state"], vm(L[0], "local", "g")["cpu_pct"])')"
t_summary
