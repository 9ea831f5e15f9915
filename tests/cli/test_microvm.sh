#!/usr/bin/env bash
# Machine types and device models: a microvm (QEMU's -M microvm, built-in
# backend) is created with virtio-mmio devices and no display, disk buses and
# NIC models are chosen at create and edit time and shown; what a machine
# type cannot hold (IDE on q35, VNC on a microvm, a microvm without a
# kernel, ...) is refused in one line, exit 1, nothing written.
source "$(dirname "$0")/../lib.sh"

export VMTTY_DB="$T_TMP/inv.db"
export VMTTY_RUNTIME_DIR="$T_TMP/run"
export XDG_DATA_HOME="$T_TMP/data"
K="$T_TMP/vmlinuz"
echo kernel >"$K"

# A microvm: no graphics unless asked, virtio-mmio devices, its options.
t_status "create a microvm" 0 "$VMTTY" create m1 --machine microvm --accel tcg --kernel "$K" \
	--cmdline console=ttyS0 --memory 256 --disk-size 8M
t_status "show --json" 0 "$VMTTY" show m1 --json
t_eq "machine microvm, no graphics, a virtio disk and NIC" "microvm none virtio virtio-net" \
	"$(printf '%s' "$T_OUT" | python3 -c '
import json, sys
o = json.load(sys.stdin)
print(o["machine"], o["graphics"], o["disks"][0]["bus"], o["nics"][0]["model"])')"
t_status "show text" 0 "$VMTTY" show m1
t_match "show: the machine type" '^Machine: +microvm' "$T_OUT"
t_status "show --argv" 0 "$VMTTY" show m1 --argv
t_match "argv: -machine microvm with its options" \
	' -machine microvm,x-option-roms=off,isa-serial=on,rtc=on,acpi=on ' "$T_OUT"
t_match "argv: the disk on virtio-mmio" ' virtio-blk-device,drive=disk0,id=vd0 ' "$T_OUT"
t_match "argv: the NIC on virtio-mmio" ' virtio-net-device,netdev=net0,' "$T_OUT"
t_match "argv: balloon and RNG on virtio-mmio" \
	'virtio-balloon-device,id=balloon0 .* virtio-rng-device,rng=rng0 ' "$T_OUT"
t_nomatch "argv: no PCI device" '-pci' "$T_OUT"
t_match "argv: no display" ' -display none ' "$T_OUT"
t_match "argv: TCG: -cpu max and the host's TSC rate for the guest" \
	" -cpu max .* -append 'console=ttyS0 tsc_early_khz=[0-9]{4,}000' " "$T_OUT"
t_nomatch "argv: no VNC" '-vnc' "$T_OUT"

# Device models on q35, shown and used.
t_status "create a q35 VM with an nvme disk and an e1000e NIC" 0 "$VMTTY" create q1 \
	--kernel "$K" --disk-size 8M --disk-bus nvme --nic-model e1000e
t_status "show q1 --json" 0 "$VMTTY" show q1 --json
t_eq "q35, nvme, e1000e" "q35 nvme e1000e" "$(printf '%s' "$T_OUT" | python3 -c '
import json, sys
o = json.load(sys.stdin)
print(o["machine"], o["disks"][0]["bus"], o["nics"][0]["model"])')"
t_status "show q1 --argv" 0 "$VMTTY" show q1 --argv
t_match "argv: nvme and e1000e" ' nvme,drive=disk0,.* e1000e,netdev=net0,' "$T_OUT"
t_status "edit: add a disk on sata" 0 "$VMTTY" edit q1 --add-disk "$K" --disk-bus sata
t_status "show q1 --json" 0 "$VMTTY" show q1 --json
t_eq "the added disk is on sata" "sata" "$(printf '%s' "$T_OUT" | python3 -c '
import json, sys
print(json.load(sys.stdin)["disks"][1]["bus"])')"
t_status "a pc VM takes an IDE disk" 0 "$VMTTY" create p1 --machine pc --kernel "$K" \
	--disk-size 8M --disk-bus ide --graphics none

# Refused: one line naming the thing, exit 1, the VMs, disks and NICs as
# they were, no file made.
snapshot() {
	sqlite3 "$VMTTY_DB" "SELECT * FROM vms; SELECT * FROM disks; SELECT * FROM nics;"
	find "$T_TMP/data/vmtty/images" | sort
}
before=$(snapshot)
bad() {
	local what=$1 msg=$2
	shift 2
	t_status "$what: exit 1" 1 "$VMTTY" "$@"
	t_match "$what: says why" "$msg" "$T_ERR"
	t_eq "$what: one line" 1 "$(printf '%s\n' "$T_ERR" | wc -l)"
	t_eq "$what: nothing written" "$before" "$(snapshot)"
}
bad "a microvm without a kernel" \
	"^vmtty: kernel: machine type microvm boots a kernel directly, .*; give a kernel" \
	create m2 --machine microvm --disk-size 8M
bad "VNC on a microvm" \
	"^vmtty: graphics: machine type microvm has no display \\(no VGA, no VNC\\); use graphics none" \
	create m2 --machine microvm --kernel "$K" --graphics vnc
bad "IDE on q35" \
	"^vmtty: disk bus: machine type q35 has no IDE bus; use disk bus sata" \
	create q2 --kernel "$K" --disk-size 8M --disk-bus ide
bad "a SATA disk on a microvm" \
	"^vmtty: disk bus: machine type microvm has only virtio-mmio devices, no sata bus" \
	create m2 --machine microvm --kernel "$K" --disk-size 8M --disk-bus sata
bad "an rtl8139 NIC on a microvm" \
	"^vmtty: network: machine type microvm has no PCI bus for NIC model rtl8139" \
	create m2 --machine microvm --kernel "$K" --nic-model rtl8139
bad "an ISO on a microvm" "^vmtty: ISO: machine type microvm has no CD-ROM drive" \
	create m2 --machine microvm --kernel "$K" --iso "$K"
bad "an unknown disk bus" "^vmtty: disk bus: 'usb' is not known; use virtio, scsi" \
	create q2 --kernel "$K" --disk-size 8M --disk-bus usb
bad "edit: a q35 VM with VNC to microvm" \
	"^vmtty: VM 'q1': machine type microvm has no display .*use graphics none" \
	edit q1 --machine microvm
bad "edit: q35 VM to microvm, its nvme disk" \
	"^vmtty: VM 'q1', disk '.*': machine type microvm has only virtio-mmio devices, no nvme bus" \
	edit q1 --machine microvm --graphics none
bad "edit: VNC on a microvm" "^vmtty: VM 'm1': machine type microvm has no display" \
	edit m1 --graphics vnc
bad "edit: a microvm's kernel taken away (the CLI says how to give one)" \
	"^vmtty: VM 'm1': machine type microvm boots a kernel directly, .*; give it a kernel \\(--kernel, with --initrd\\)$" \
	edit m1 --kernel "" --cmdline ""
bad "edit: a new IDE disk on q35 (checked before it is made)" \
	"^vmtty: VM 'q1', new disk: machine type q35 has no IDE bus" \
	edit q1 --new-disk 8M --disk-bus ide
bad "edit: an e1000 NIC on a microvm" \
	"^vmtty: VM 'm1', NIC 1: machine type microvm has no PCI bus for NIC model e1000" \
	edit m1 --add-nic user --nic-model e1000
bad "edit: a disk bus with no disk" \
	"^vmtty: disk bus: 'sata' is the bus of a disk to add; give the disk too" \
	edit q1 --disk-bus sata
bad "edit: the pc VM to q35 with its IDE disk" \
	"^vmtty: VM 'p1', disk '.*': machine type q35 has no IDE bus" edit p1 --machine q35

# A microvm's edits that it can hold.
t_status "edit: a microvm gets a second virtio disk" 0 "$VMTTY" edit m1 --new-disk 8M
t_status "edit: more memory" 0 "$VMTTY" edit m1 --memory 384

# A libvirt host: microvm is refused there, saying so.
t_status "a libvirt test host" 0 "$VMTTY" host add lab test:///default
before=$(snapshot)
bad "a microvm on a libvirt host" \
	"^vmtty: machine type: microvm is for the built-in backend only \\(libvirt 9.0 cannot define one\\)" \
	create m3 --host lab --machine microvm --kernel /boot/vmlinuz

t_summary
