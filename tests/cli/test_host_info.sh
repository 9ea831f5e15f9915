#!/usr/bin/env bash
# vmtty host info of the built-in host agrees with lscpu -p (each CPU's
# core, socket and node), /sys/kernel/mm/hugepages (each pool's counts),
# /proc/meminfo and /sys/kernel/mm/ksm; bad operands are refused.
source "$(dirname "$0")/../lib.sh"

export VMTTY_DB="$T_TMP/inv.db"
export VMTTY_RUNTIME_DIR="$T_TMP/run"

# Suites running side by side may change the hugepage pool: not meanwhile.
hugepages_lock
t_status "host info local --json" 0 "$VMTTY" host info local --json
json=$T_OUT
field() { printf '%s' "$json" | python3 -c "import json, sys; o = json.load(sys.stdin); $1"; }

t_eq "each CPU as lscpu -p numbers it" \
    "$(lscpu -p=CPU,Core,Socket,Node | grep -v '^#' | sed 's/,$/,0/')" \
    "$(field 'print("\n".join("%d,%d,%d,%d" % (c["cpu"], c["core"], c["socket"], c["node"]) for c in o["cpu"]))')"
t_eq "online CPUs as nproc --all counts the online ones" "$(getconf _NPROCESSORS_ONLN)" "$(field 'print(o["cpus"])')"
t_eq "sockets x cores x threads x nodes = CPUs" "$(getconf _NPROCESSORS_ONLN)" \
    "$(field 'print(o["sockets"] * o["cores"] * o["threads"] * o["nodes"])')"
t_eq "memory total as /proc/meminfo says" "$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)" \
    "$(field 'print(o["memory_total_kib"])')"
t_check "memory free is some of it" test "$(field 'print(0 < o["memory_free_kib"] <= o["memory_total_kib"])')" = True

sysfs_pools() {
	local d
	for d in /sys/kernel/mm/hugepages/hugepages-*kB; do
		[ -d "$d" ] || continue
		s=${d##*hugepages-}
		echo "${s%kB} $(cat "$d/nr_hugepages") $(cat "$d/free_hugepages") $(cat "$d/resv_hugepages")"
	done | sort -n
}
t_eq "hugepage pools as /sys/kernel/mm/hugepages says" "$(sysfs_pools)" \
    "$(field 'print("\n".join("%d %d %d %d" % (p["size_kib"], p["total"], p["free"], p["reserved"]) for p in sorted(o["hugepages"], key=lambda p: p["size_kib"])))')"
if [ -r /sys/kernel/mm/ksm/run ]; then
	t_eq "KSM as /sys/kernel/mm/ksm says" \
	    "$(cat /sys/kernel/mm/ksm/run) $(cat /sys/kernel/mm/ksm/pages_shared)" \
	    "$(field 'k = o["ksm"]; print(int(k["run"]), k["pages_shared"])')"
else
	t_skip "KSM as /sys/kernel/mm/ksm says" "no /sys/kernel/mm/ksm here"
fi

t_status "host info text" 0 "$VMTTY" host info local
t_match "names the host" '^host local \(vmtty:///local\)$' "$T_OUT"
t_match "the CPU table" '^CPU +CORE +SOCKET +NODE$' "$T_OUT"
t_match "the pools" '^HUGEPAGES +TOTAL +FREE +RESERVED$' "$T_OUT"

t_status "host info without a host exits 2" 2 "$VMTTY" host info
t_status "host info of an unknown host exits 1" 1 "$VMTTY" host info ghost
t_match "and names it" "ghost" "$T_ERR"
t_eq "in one line" 1 "$(printf '%s\n' "$T_ERR" | wc -l)"
t_status "host ksm maybe exits 2" 2 "$VMTTY" host ksm maybe
# Each host subcommand takes only its own options, as other commands do.
ksm_run() { cat /sys/kernel/mm/ksm/run 2>/dev/null || echo none; }
ksm0=$(ksm_run)
# A vmtty that took the flag would turn KSM on for real (as root): put it back.
if [ -w /sys/kernel/mm/ksm/run ]; then t_on_exit "echo $ksm0 > /sys/kernel/mm/ksm/run"; fi
t_status "host ksm on --json exits 2" 2 "$VMTTY" host ksm on --json
t_match "refusing the option like any unknown one" "^vmtty: host ksm: unknown option '--json'" "$T_ERR"
t_eq "KSM was left alone" "$ksm0" "$(ksm_run)"
t_status "host rm --json exits 2" 2 "$VMTTY" host rm ghost --json
t_match "refused" "^vmtty: host rm: unknown option '--json'" "$T_ERR"
t_status "host list --migration-address exits 2" 2 "$VMTTY" host list --migration-address 1.2.3.4
t_match "refused" "^vmtty: host list: unknown option '--migration-address'" "$T_ERR"

# The test driver's host: what virsh says of it.
t_status "host add a test-driver host" 0 "$VMTTY" host add td test:///default
t_status "host info td --json" 0 "$VMTTY" host info td --json
json=$T_OUT
nodeinfo=$(virsh -c test:///default nodeinfo)
ni() { printf '%s\n' "$nodeinfo" | awk -F: -v k="$1" '$1 == k { gsub(/^ +| KiB$/, "", $2); print $2 }'; }
t_eq "CPUs, sockets, cores, threads, cells, memory as virsh nodeinfo" \
    "$(ni 'CPU(s)') $(ni 'CPU socket(s)') $(ni 'Core(s) per socket') $(ni 'Thread(s) per core') $(ni 'NUMA cell(s)') $(ni 'Memory size')" \
    "$(field 'print(o["cpus"], o["sockets"], o["cores"], o["threads"], o["nodes"], o["memory_total_kib"])')"
t_eq "no KSM for a libvirt host" None "$(field 'print(o["ksm"])')"
t_summary
