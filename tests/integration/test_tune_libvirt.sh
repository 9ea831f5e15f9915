#!/usr/bin/env bash
# Resource tuning on a real private libvirtd, with the tiny guest (TCG, 2
# vCPUs, 256 MiB): vCPU and emulator pins live and after destroy + start,
# the balloon moving a running guest, hugepages (2M) backing it and the
# start refused, with nothing started, when too few are free; and the
# host's information against virsh's nodeinfo, capabilities and freepages;
# a domain defined outside vmtty keeps its own tuning, and when vmtty tunes
# it only the tuned elements of its definition change; its own pins show.
# Everything goes through `vmtty tune` and `vmtty host info`, and is
# checked with virsh.
source "$(dirname "$0")/libvirtd.sh"

NR=/proc/sys/vm/nr_hugepages
if [ "$(nproc --all)" -lt 2 ] || ! [ -w "$NR" ]; then
	t_skip "tuning on libvirt" "needs 2 host CPUs and a writable $NR"; t_summary; exit 0
fi

LIBVIRTD_HUGETLBFS=1 libvirtd_start tune
t_status "host add lv" 0 "$VMTTY" host add lv "$LIBVIRTD_URI"
t_status "create t1 on lv: 2 vCPUs, 256 MiB" 0 create_tiny t1 --host lv --cpus 2

# vcpupin [--config]: "0:0 1:1" as virsh says it.
vcpupin() { libvirtd_virsh vcpupin t1 "$@" | awk 'NF { printf "%s%s:%s", n++ ? " " : "", $1, $2 }'; }
emulatorpin() { libvirtd_virsh emulatorpin t1 "$@" | awk 'NF { print $NF }'; }
actual() { libvirtd_virsh dommemstat t1 2>/dev/null | awk '$1 == "actual" { print $2 }'; }
_actual_is() { [ "$(actual)" = "$1" ]; }
# json EXPR: EXPR (python, on j) of the JSON on stdin.
json() { python3 -c "import json, sys; j = json.load(sys.stdin); print($1)"; }

# 1. Pins on the running guest, then after destroy + start.
t_status "start t1" 0 "$VMTTY" start lv/t1
t_check "the guest boots" libvirtd_wait_serial t1 "GUEST READY" 90
t_eq "unpinned: each vCPU may run on both host CPUs" "0:0-1 1:0-1" "$(vcpupin)"
t_status "vmtty tune pins of the running t1" 0 "$VMTTY" tune lv/t1 --pin 0:0 --pin 1:1 --emulator-pin 1
t_eq "virsh vcpupin: vCPU 0 on CPU 0, vCPU 1 on CPU 1 (live)" "0:0 1:1" "$(vcpupin --live)"
t_eq "virsh emulatorpin: the emulator on CPU 1 (live)" "1" "$(emulatorpin --live)"
t_eq "and in the definition" "0:0 1:1 / 1" "$(vcpupin --config) / $(emulatorpin --config)"
t_status "vmtty tune t1 --json" 0 "$VMTTY" tune lv/t1 --json
state=$T_OUT
t_eq "tune --json: affinities and emulator" "0 1 1" \
	"$(json '" ".join([v["affinity"] for v in j["vcpus"]] + [j["emulator_affinity"]])' <<<"$state")"
# (A vCPU that has not run since the pin still names its old CPU.)
_ran_on_own() {
	"$VMTTY" tune lv/t1 --json | json 'all(str(v["cpu"]) == v["affinity"] for v in j["vcpus"])' |
		grep -q True
}
t_check "tune state: each vCPU runs on its own CPU" wait_for 10 _ran_on_own
pid=$(libvirtd_exec cat "/run/libvirt/qemu/t1.pid")
t_eq "the QEMU process itself is on CPU 1" "1" \
	"$(taskset -pc "$pid" | sed 's/.*: //')"
libvirtd_virsh destroy t1 >/dev/null
t_status "start t1 again" 0 "$VMTTY" start lv/t1
t_eq "after destroy + start: the same vCPU pins" "0:0 1:1" "$(vcpupin --live)"
t_eq "and the same emulator pin" "1" "$(emulatorpin --live)"

# 2. The balloon of the running guest (its driver is loaded at boot).
t_check "the guest boots again" libvirtd_wait_serial t1 "GUEST READY" 90
t_status "vmtty tune the balloon to 160 MiB" 0 "$VMTTY" tune lv/t1 --balloon 160M
t_check "virsh dommemstat: actual reaches 163840 KiB" wait_for 30 _actual_is 163840
t_eq "the definition keeps it" "163840" \
	"$(libvirtd_virsh dumpxml t1 --inactive | sed -n "s:.*<currentMemory unit='KiB'>\(.*\)</currentMemory>.*:\1:p")"
_guest_view() {
	"$VMTTY" tune lv/t1 --json |
		json 'j["guest"]["total_kib"] is not None and j["guest"]["total_kib"] > 0 and j["guest"]["free_kib"] is not None' |
		grep -q True
}
t_check "tune state shows the guest's own view of its memory" wait_for 20 _guest_view
t_eq "tune --json: actual 163840 KiB of 256 MiB" "163840 256" \
	"$("$VMTTY" tune lv/t1 --json | json '"%d %d" % (j["actual_kib"], j["memory_mib"])')"
t_status "vmtty tune the balloon back to all of its memory" 0 "$VMTTY" tune lv/t1 --balloon 256M
t_check "actual is 262144 KiB again" wait_for 30 _actual_is 262144
libvirtd_virsh destroy t1 >/dev/null

# 3. Hugepages: 256 MiB on 2M pages is 128 of them.  The kernel's pool is
# shared with every other test that reserves pages: one at a time.
hugepages_lock
old_nr=$(cat "$NR")
t_on_exit "echo $old_nr > $NR"
echo 160 >"$NR"
if [ "$(cat "$NR")" -lt 160 ]; then
	t_skip "hugepages" "the kernel reserved only $(cat "$NR") of 160 pages of 2M"
else
	t_status "vmtty host info lv --json" 0 "$VMTTY" host info lv --json
	info=$T_OUT
	nodeinfo=$(libvirtd_virsh nodeinfo)
	ni() { awk -F': *' -v k="$1" '$1 == k { print $2 + 0 }' <<<"$nodeinfo"; }
	t_eq "CPUs, sockets, cores, threads, NUMA cells, memory as virsh nodeinfo says" \
		"$(ni 'CPU(s)') $(ni 'CPU socket(s)') $(ni 'Core(s) per socket') $(ni 'Thread(s) per core') $(ni 'NUMA cell(s)') $(ni 'Memory size')" \
		"$(json '" ".join(str(j[k]) for k in ["cpus", "sockets", "cores", "threads", "nodes", "memory_total_kib"])' <<<"$info")"
	caps=$(libvirtd_virsh capabilities)
	sizes=$(sed -n '/<host>/,/<\/cpu>/s:.*<pages unit=.KiB. size=.\([0-9]*\)./>.*:\1:p' <<<"$caps" | sort -n | sed 1d | tr '\n' ' ')
	t_eq "hugepage sizes as virsh capabilities says (all but the base page)" "$sizes" \
		"$(json '"".join(str(p["size_kib"]) + " " for p in j["hugepages"])' <<<"$info")"
	t_eq "the CPUs of the capabilities' topology" \
		"$(grep -c "<cpu id='[0-9]*' socket_id=" <<<"$caps")" "$(json 'len(j["cpu"])' <<<"$info")"
	free2m=$(libvirtd_virsh freepages --pagesize 2048 --all | awk '/^2048KiB:/ { n += $2 } END { print n + 0 }')
	t_eq "2M pages: 160 reserved, as many free as virsh freepages says" "160 $free2m" \
		"$(json '" ".join(str(p[k]) for p in j["hugepages"] if p["size_kib"] == 2048 for k in ["total", "free"])' <<<"$info")"

	t_status "vmtty tune t1 --hugepages 2M" 0 "$VMTTY" tune lv/t1 --hugepages 2M
	t_status "start t1 on hugepages" 0 "$VMTTY" start lv/t1
	t_match "virsh dumpxml: its memory on 2M pages" \
		"<hugepages> *<page size='2048' unit='KiB'/> *</hugepages>" "$(libvirtd_virsh dumpxml t1 | tr -d '\n')"
	t_eq "it runs" "running" "$(libvirtd_domstate t1)"
	t_check "the guest boots on them" libvirtd_wait_serial t1 "GUEST READY" 90
	t_eq "128 of the 160 pages are taken" "32" \
		"$(libvirtd_virsh freepages --pagesize 2048 --all | awk '/^2048KiB:/ { n += $2 } END { print n + 0 }')"
	t_eq "the pins are still there" "0:0 1:1 / 1" "$(vcpupin --live) / $(emulatorpin --live)"
	libvirtd_virsh destroy t1 >/dev/null

	echo 100 >"$NR"
	t_status "too few pages free: start fails" 1 "$VMTTY" start lv/t1
	t_match "saying what is needed, free and missing, and how to reserve them" \
		"VM 't1' needs 128 hugepages of 2M for its 256 MiB on host 'lv', but only 100 are free \(28 missing\); reserve more as root on that host with 'echo 128 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages'" "$T_ERR"
	t_eq "in one line" 1 "$(printf '%s\n' "$T_ERR" | wc -l)"
	t_eq "the domain is not running" "shut off" "$(libvirtd_domstate t1)"
fi

# 4. A domain defined outside vmtty has its own tuning, which the inventory
# does not know: starting it through vmtty keeps it.
tiny_domain_xml o1 128 |
	sed "s|<vcpu placement='static'>1</vcpu>|&<cputune><vcpupin vcpu='0' cpuset='1'/></cputune>|
	     s|<currentMemory unit='MiB'>128<|<currentMemory unit='MiB'>100<|" >"$T_TMP/o1.xml"
libvirtd_virsh define "$T_TMP/o1.xml" >/dev/null
t_status "vmtty list finds o1" 0 "$VMTTY" list --host lv
t_status "start o1" 0 "$VMTTY" start lv/o1
t_eq "its own vCPU pin stays" "0:1" "$(libvirtd_virsh vcpupin o1 | awk 'NF { print $1 ":" $2 }')"
t_eq "and its own current memory" "102400" \
	"$(libvirtd_virsh dumpxml o1 --inactive | sed -n "s:.*<currentMemory unit='KiB'>\(.*\)</currentMemory>.*:\1:p")"
t_nomatch "and it is not marked as tuned by vmtty" "urn:x-vmtty:tuning" "$(libvirtd_virsh dumpxml o1 --inactive)"
libvirtd_virsh destroy o1 >/dev/null

# 5. Tuning a domain defined outside vmtty (kernel, initrd and cmdline,
# machine pc, devices vmtty's model has no word for) changes the tuned
# elements of its own definition and nothing else: vmtty knows only its
# name, vCPUs and memory, and a definition made from that would not boot.
# The inventory's memory of it is its maximum, not its balloon.
tiny_domain_xml e1 256 |
	sed "s|<vcpu placement='static'>1</vcpu>|<vcpu placement='static'>2</vcpu>|
	     s|<memballoon model='virtio'/>|<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng><watchdog model='i6300esb' action='reset'/>&|" >"$T_TMP/e1.xml"
libvirtd_virsh define "$T_TMP/e1.xml" >/dev/null
# untuned XML: the definition without what tuning may change (memory,
# currentMemory, cputune, memoryBacking, metadata), one line.
untuned() {
	python3 -c '
import sys, xml.etree.ElementTree as ET
d = ET.fromstring(sys.stdin.read())
for t in ("memory", "currentMemory", "cputune", "memoryBacking", "metadata"):
    for e in d.findall(t):
        d.remove(e)
print(ET.tostring(d, encoding="unicode").replace("\n", ""))'
}
e1xml() { libvirtd_virsh dumpxml e1 --inactive; }
before=$(e1xml | untuned)
t_match "e1 boots its own kernel on machine pc, with an rng and a watchdog" \
	"machine=\"pc-i440fx.*<kernel>.*<initrd>.*<cmdline>console=ttyS0</cmdline>.*<watchdog model=\"i6300esb\".*<rng model=\"virtio\">" "$before"
t_status "vmtty list finds e1" 0 "$VMTTY" list --host lv
t_status "start e1" 0 "$VMTTY" start lv/e1
t_check "e1 boots" libvirtd_wait_serial e1 "GUEST READY" 90
_e1_actual_is() { [ "$(libvirtd_virsh dommemstat e1 2>/dev/null | awk '$1 == "actual" { print $2 }')" = "$1" ]; }
t_status "tune e1: pins" 0 "$VMTTY" tune lv/e1 --pin 0:0 --pin 1:1 --emulator-pin 1
t_status "tune e1: balloon 128M" 0 "$VMTTY" tune lv/e1 --balloon 128M
t_check "e1's balloon reaches 128 MiB" wait_for 30 _e1_actual_is 131072
# list: MEMORY MAX of e1 as vmtty list --json has them (libvirt learns the
# balloon's size from QEMU's events, a little after virsh dommemstat).
e1_listed() {
	"$VMTTY" list --host lv --json |
		json '" ".join("%d %d" % (v["memory_mib"], v["max_memory_mib"]) for v in j if v["name"] == "e1")'
}
_e1_listed_is() { [ "$(e1_listed)" = "$1" ]; }
wait_for 10 _e1_listed_is "128 256"
t_eq "list: e1 has 128 MiB now of its 256 MiB" "128 256" "$(e1_listed)"
t_eq "tune --json: its memory is still its 256 MiB maximum, the balloon 128 MiB" "256 128" \
	"$("$VMTTY" tune lv/e1 --json | json '"%d %d" % (j["memory_mib"], j["balloon_mib"])')"
t_eq "show --json: memory 256 MiB" "256" "$("$VMTTY" show lv/e1 --json | json 'j["memory_mib"]')"
t_status "tune e1: hugepages 2M (next start)" 0 "$VMTTY" tune lv/e1 --hugepages 2M
t_status "tune e1: max memory 384M (next start)" 0 "$VMTTY" tune lv/e1 --max-memory 384M
t_eq "e1 still runs" "running" "$(libvirtd_domstate e1)"
after=$(e1xml)
t_eq "its definition keeps all the rest: machine, kernel, initrd, cmdline, every device" \
	"$before" "$(untuned <<<"$after")"
t_match "and has the pins, the balloon, hugepages and the maximum" \
	"<memory unit='KiB'>393216</memory> *<currentMemory unit='KiB'>131072</currentMemory> *<memoryBacking> *<hugepages> *<page size='2048' unit='KiB'/> *</hugepages> *</memoryBacking>.*<cputune> *<vcpupin vcpu='0' cpuset='0'/> *<vcpupin vcpu='1' cpuset='1'/> *<emulatorpin cpuset='1'/> *</cputune>" \
	"$(tr -d '\n' <<<"$after")"
t_status "tune e1: hugepages off again" 0 "$VMTTY" tune lv/e1 --hugepages off
libvirtd_virsh destroy e1 >/dev/null
t_status "start e1 again" 0 "$VMTTY" start lv/e1
t_check "it still boots its kernel" libvirtd_wait_serial e1 "GUEST READY" 90
t_eq "with 384 MiB at most, its pins still there" "393216 0:0 1:1" \
	"$(libvirtd_virsh dominfo e1 | awk '/^Max memory/ { print $3 }') $(libvirtd_virsh vcpupin e1 | awk 'NF { printf "%s%s:%s", n++ ? " " : "", $1, $2 }')"
t_status "vmtty list --json after the restart" 0 "$VMTTY" list --host lv --json
t_eq "list: e1's maximum is 384 MiB" "384" \
	"$(json '" ".join(str(v["max_memory_mib"]) for v in j if v["name"] == "e1")' <<<"$T_OUT")"
libvirtd_virsh destroy e1 >/dev/null

# 6. Pins set with virsh on a domain defined outside vmtty show in vmtty
# tune, off and running, and no start of vmtty's takes them away, not even
# after vmtty tuned its balloon (that part alone becomes vmtty's).
tiny_domain_xml c1 256 | sed "s|<vcpu placement='static'>1</vcpu>|<vcpu placement='static'>2</vcpu>|" >"$T_TMP/c1.xml"
libvirtd_virsh define "$T_TMP/c1.xml" >/dev/null
libvirtd_virsh vcpupin c1 0 1 --config >/dev/null
libvirtd_virsh emulatorpin c1 0 --config >/dev/null
c1pins() { libvirtd_virsh vcpupin c1 "$@" | awk 'NF { printf "%s%s:%s", n++ ? " " : "", $1, $2 }'; echo " / $(libvirtd_virsh emulatorpin c1 "$@" | awk 'NF { print $NF }')"; }
t_status "vmtty list finds c1" 0 "$VMTTY" list --host lv
t_status "vmtty tune c1 (off)" 0 "$VMTTY" tune lv/c1
t_eq "shows its own pins: vCPU 0 on 1, vCPU 1 none, emulator on 0" "1 - 0" \
	"$(awk '$1 == "0" || $1 == "1" { printf "%s ", $2 } /^emulator pin:/ { print $3 }' <<<"$T_OUT")"
t_status "start c1" 0 "$VMTTY" start lv/c1
t_eq "tune --json of the running c1: the same pins" "1 None 0" \
	"$("$VMTTY" tune lv/c1 --json | json '" ".join(str(v["pin"]) for v in j["vcpus"]) + " " + str(j["emulator_pin"])')"
t_status "poweroff c1" 0 "$VMTTY" poweroff lv/c1
t_status "start c1 again" 0 "$VMTTY" start lv/c1
t_eq "the pins are still there" "0:1 1:0-1 / 0" "$(c1pins --live)"
t_status "poweroff c1" 0 "$VMTTY" poweroff lv/c1
t_status "tune c1: balloon 200M" 0 "$VMTTY" tune lv/c1 --balloon 200M
t_status "start c1 once more" 0 "$VMTTY" start lv/c1
t_eq "the pins are still there, in the definition too" "0:1 1:0-1 / 0 | 0:1 1:0-1 / 0" \
	"$(c1pins --live) | $(c1pins --config)"
t_eq "and the balloon is vmtty's" "204800" \
	"$(libvirtd_virsh dumpxml c1 --inactive | sed -n "s:.*<currentMemory unit='KiB'>\(.*\)</currentMemory>.*:\1:p")"
libvirtd_virsh destroy c1 >/dev/null

t_summary
