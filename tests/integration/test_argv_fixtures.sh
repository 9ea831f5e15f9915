#!/usr/bin/env bash
# The argv fixtures are what real QEMU accepts: each is started paused (-S)
# with its paths pointed at real temporary images, then told to quit.
source "$(dirname "$0")/../lib.sh"

GUEST="$T_BUILD/guest"
"$T_ROOT/tests/guest/build.sh" "$GUEST" >/dev/null
root="$T_TMP/r"

# accepted NAME: run fixture NAME with paths under $root; true if qemu starts.
accepted() {
	local f="$T_ROOT/tests/data/argv/$1.args" args=() line pid
	while IFS= read -r line; do
		line=${line//\/run\/vmtty/$root/run}
		[[ $line == file=/* ]] && line="file=$root/${line#file=/}"
		line=${line//\/guest\//$GUEST\/}
		[[ $line == /k/* ]] && line="$GUEST/vmlinuz"
		args+=("$line")
	done < "$f"
	mkdir -p "$root/run/0c0ffee0"
	rm -f "$root/run/0c0ffee0/"*
	# vmtty puts qemu in the background itself; here -daemonize does, and
	# its exit status says whether qemu got through its set-up.
	"${args[@]}" -S -daemonize 2>"$T_TMP/qemu.err" || { sed 's/^/   qemu: /' "$T_TMP/qemu.err"; return 1; }
	pid=$(cat "$root/run/0c0ffee0/qemu.pid")
	kill "$pid"
	_gone() { ! kill -0 "$pid" 2>/dev/null || [ "$(ps -o stat= -p "$pid")" = Z ]; }
	wait_for 10 _gone
}

mkdir -p "$root/img" "$root/iso"
for i in root sata fast with,comma ide0 ide1 ide2; do qemu-img create -q -f qcow2 "$root/img/$i.qcow2" 16M; done
qemu-img create -q -f raw "$root/img/data.raw" 16M
qemu-img create -q -f raw "$root/iso/install.iso" 1M
qemu-img create -q -f raw "$root/iso/scsi.iso" 1M

for name in tiny-kernel disk-buses pc-ide-nographics commas boot-order sata-first microvm; do
	t_check "qemu accepts fixture '$name'" accepted "$name"
done
# Hugepages: the fixture's 256 MiB on 2M pages, reserved for the check
# (root only) and given back after it.
if [ "$(id -u)" -eq 0 ] && [ -w /proc/sys/vm/nr_hugepages ] &&
	[ -d /sys/kernel/mm/hugepages/hugepages-2048kB ]; then
	hugepages_lock
	old_hp=$(cat /proc/sys/vm/nr_hugepages)
	t_on_exit "echo $old_hp > /proc/sys/vm/nr_hugepages"
	echo $((old_hp + 128)) >/proc/sys/vm/nr_hugepages
	t_check "qemu accepts fixture 'hugepages'" accepted hugepages
	echo "$old_hp" >/proc/sys/vm/nr_hugepages
else
	t_skip "qemu accepts fixture 'hugepages'" "reserving hugepages needs root"
fi
# bridge/tap NICs need privileges and devices, UEFI needs ovmf and KVM a
# real vmx/svm CPU: those fixtures are compared as text only (unit test).

t_summary
