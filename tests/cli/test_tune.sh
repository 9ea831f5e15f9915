#!/usr/bin/env bash
# vmtty tune on a VM that is off: pins merged into one canonical form,
# hugepages and the balloon recorded, the journal; every bad input refused
# in one line with exit 1 or 2 and the inventory byte for byte as it was.
source "$(dirname "$0")/../lib.sh"

export VMTTY_DB="$T_TMP/inv.db"
export VMTTY_RUNTIME_DIR="$T_TMP/run"

t_status "a 2-vCPU VM of 256 MiB" 0 "$VMTTY" create tv --cpus 2 --memory 256 --kernel /bin/true
t_status "pin both vCPUs and the emulator" 0 "$VMTTY" tune tv --pin 0:0 --pin=1:1 --emulator-pin 1
t_status "hugepages and a balloon target" 0 "$VMTTY" tune tv --hugepages 2M --balloon 160M
t_status "tune --json" 0 "$VMTTY" tune tv --json
t_eq "JSON: pins, emulator, hugepages, balloon" "0 0
1 1
1 2M 160 64 256 False" "$(printf '%s' "$T_OUT" | python3 -c '
import json, sys
o = json.load(sys.stdin)
for v in o["vcpus"]: print(v["vcpu"], v["pin"])
print(o["emulator_pin"], o["hugepages"], o["balloon_mib"], o["balloon_floor_mib"],
      o["memory_mib"], o["running"])')"
t_status "show --json has the same tuning" 0 "$VMTTY" show tv --json
t_eq "show: stored pins" "0:0;1:1 1 2048 160" "$(printf '%s' "$T_OUT" | python3 -c '
import json, sys
t = json.load(sys.stdin)["tuning"]
print(t["vcpu_pins"], t["emulator_pin"], t["hugepage_kib"], t["balloon_mib"])')"
t_status "show text" 0 "$VMTTY" show tv
t_match "show: pins" '^Pins: +0:0;1:1$' "$T_OUT"
t_match "show: hugepages" '^Hugepages: 2M$' "$T_OUT"
t_match "show: balloon" '^Balloon: +160 MiB$' "$T_OUT"
t_status "all:0-1 replaces both pins" 0 "$VMTTY" tune tv --pin all:0-1
t_status "then vCPU 1 on its own" 0 "$VMTTY" tune tv --pin 1:1
t_eq "stored as all, then vCPU 1" "all:0-1;1:1" "$(sqlite3 "$VMTTY_DB" \
    "SELECT vcpu_pins FROM tuning JOIN vms ON vms.id = tuning.vm_id WHERE name = 'tv'")"
t_status "text output" 0 "$VMTTY" tune tv
t_match "vCPU 0 pinned by all" '^0 +0-1 ' "$T_OUT"
t_match "vCPU 1 by its own pin" '^1 +1 ' "$T_OUT"
t_match "says it is not running" 'VM tv on local: not running' "$T_OUT"
t_status "journal" 0 "$VMTTY" log tv --json
t_eq "each tune journaled" "tune ok pins 0:0;1:1, emulator pin 1
tune ok hugepages 2M, balloon 160 MiB
tune ok pins all:0-1
tune ok pins all:0-1;1:1" "$(printf '%s' "$T_OUT" | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    if e["action"] == "tune": print(e["action"], e["result"], e["message"])')"

# Bad input: one line naming the thing, exit 1 (or 2 for usage), nothing
# changed in the inventory.
snapshot() { sqlite3 "$VMTTY_DB" "SELECT * FROM vms; SELECT * FROM tuning;"; }
before=$(snapshot)
bad() {
	local what=$1 code=$2 msg=$3
	shift 3
	t_status "$what: exit $code" "$code" "$VMTTY" tune tv "$@"
	t_match "$what: says why" "$msg" "$T_ERR"
	[ "$code" = 1 ] && t_eq "$what: one line" 1 "$(printf '%s\n' "$T_ERR" | wc -l)"
	t_eq "$what: inventory unchanged" "$before" "$(snapshot)"
}
bad "a vCPU the VM does not have" 1 "^vmtty: pin '2:0': '2' is not a vCPU of VM 'tv'; give 0 to 1 or all$" --pin 2:0
bad "a CPU set that does not parse" 1 "'3-1' is not a list of host CPUs" --pin 0:3-1
bad "a pin without a vCPU" 1 "give VCPU:CPUS" --pin 0
bad "an emulator pin that does not parse" 1 "emulator pin: 'x' is not a list of host CPUs" --emulator-pin x
bad "a balloon above the memory" 1 "balloon: 300 MiB is outside what VM 'tv' allows, 64 to 256 MiB" --balloon 300M
bad "a balloon below the floor" 1 "balloon: 32 MiB is outside what VM 'tv' allows, 64 to 256 MiB" --balloon 32M
bad "a balloon that is no size" 1 "balloon: '1.5G' is not a size" --balloon 1.5G
bad "a page size that is none" 1 "hugepages: '3M' is not a page size" --hugepages 3M
bad "memory not a whole number of 1G pages" 1 "is not a whole number of 1G pages" --hugepages 1G
bad "a page size without its unit" 1 "^vmtty: hugepages: '2048' has no unit; give a page size with its unit, 2M or 1G" --hugepages 2048
bad "a vCPU pinned twice" 2 "^vmtty: vCPU 0 is pinned twice, '0:1' and '0:2'; give one pin for each vCPU$" --pin 0:1 --pin 0:2
bad "every vCPU pinned twice" 2 "^vmtty: every vCPU is pinned twice" --pin all:0 --pin 1:1 --pin all:1
bad "a higher maximum whose balloon floor is above the target" 1 \
	"^vmtty: max memory: with 2048 MiB the balloon of VM 'tv' may not go below 256 MiB \(the larger of 64 MiB and an eighth\), but its target is 160 MiB; give a new target along with it \(--balloon from 256 to 2048 MiB\)$" \
	--max-memory 2048M
ncpu=$(getconf _NPROCESSORS_ONLN)
bad "a CPU the host does not have" 1 "^vmtty: pin of vCPU 0: the host has no CPU $ncpu; its CPUs are 0" --pin "0:$ncpu"
bad "an emulator pin on a CPU the host does not have" 1 "emulator pin: the host has no CPU $ncpu" --emulator-pin "0,$ncpu"
if [ ! -d /sys/kernel/mm/hugepages/hugepages-16384kB ]; then
	bad "a page size the host does not offer" 1 "^vmtty: hugepages: the host offers no 16M pages; it has " --hugepages 16M
else
	t_skip "a page size the host does not offer" "this host offers 16M pages"
fi
bad "max memory that is no size" 1 "max memory: memory: 'x' is not a size" --max-memory x
bad "nothing to change with --json" 2 "json goes with showing the tuning" --json --balloon 200M
bad "an unknown option" 2 "unknown option '--pinn'" --pinn 0:0
t_status "tune of an unknown VM exits 1" 1 "$VMTTY" tune ghost --pin 0:0
t_match "and names it" "no VM named 'ghost'" "$T_ERR"

# "all" goes first, whatever the order given: a vCPU's own pin wins.
t_status "--pin 1:1 --pin all:0" 0 "$VMTTY" tune tv --pin 1:1 --pin all:0
t_eq "stored as all, then vCPU 1" "all:0;1:1" "$(sqlite3 "$VMTTY_DB" \
    "SELECT vcpu_pins FROM tuning JOIN vms ON vms.id = tuning.vm_id WHERE name = 'tv'")"
# A higher maximum with a target from its floor up.
t_status "max memory 2048M with a balloon of 512M" 0 "$VMTTY" tune tv --max-memory 2048M --balloon 512M
t_eq "memory 2048, balloon 512" "2048|512" "$(sqlite3 "$VMTTY_DB" \
    "SELECT memory_mib, balloon_mib FROM vms JOIN tuning ON vms.id = tuning.vm_id WHERE name = 'tv'")"

# A lower maximum memory takes a balloon target above it down.
t_status "max memory 128M" 0 "$VMTTY" tune tv --max-memory 128M
t_eq "memory 128, balloon target back to the whole" "128|" "$(sqlite3 "$VMTTY_DB" \
    "SELECT memory_mib, balloon_mib FROM vms JOIN tuning ON vms.id = tuning.vm_id WHERE name = 'tv'")"
t_status "pins off" 0 "$VMTTY" tune tv --pin all:off --emulator-pin off --hugepages off
t_eq "no tuning left" "|||0" "$(sqlite3 "$VMTTY_DB" \
    "SELECT vcpu_pins, emulator_pin, balloon_mib, hugepages FROM tuning JOIN vms ON vms.id = tuning.vm_id WHERE name = 'tv'")"
t_summary
