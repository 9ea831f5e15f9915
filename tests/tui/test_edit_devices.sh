#!/usr/bin/env bash
# Device choices in the TUI (issue 20): the edit form's machine type, new
# disk bus and NIC model, and the wizard's, each with its trade-off on the
# line under it; an invalid combination (a non-virtio bus or NIC on
# microvm, VNC on microvm, microvm without a kernel, IDE on q35) is refused
# on the status line with the model's sentence and nothing is written; a
# libvirt host is not offered microvm, and the wizard says so.  A built-in
# VM's kernel and initrd in the edit form: a microvm without one is told of
# the Kernel field, a missing or relative kernel file is refused naming it,
# a kernel given makes the microvm, a kernel cleared takes it away; the
# wizard's review lists the kernel command line.
source "$(dirname "$0")/../integration/lib.sh"

# js NAME EXPR: EXPR over show NAME --json (v).
js() {
	"$VMTTY" show "$1" --json | python3 -c 'import json,sys; v=json.load(sys.stdin); print(eval(sys.argv[1]))' "$2"
}
buses() { js "$1" '" ".join(d["bus"] for d in v["disks"])'; }
models() { js "$1" '" ".join(n["model"] for n in v["nics"])'; }

t_status "create d1 (tiny guest, no display)" 0 create_tiny d1 --graphics none
t_status "create d2 (tiny guest, VNC)" 0 create_tiny d2
t_status "create d3 (no kernel, no display)" 0 "$VMTTY" create d3 --memory 64 --graphics none

tui_start 220 40 "$VMTTY"
tui_expect "the list shows d1" 'd1 +off'

# 1. d1 becomes a microvm; its new disk must be virtio there.
tui_keys j e
tui_expect "e opens the form of d1" 'Edit VM d1 on local \(off\)'
tui_expect "with its kernel" "Kernel +$GUEST/vmlinuz\$"
tui_expect "and initrd" "Initrd +$GUEST/initrd.img\$"
tui_keys Down Down Down Down Down Down
tui_expect "the machine type field" 'Machine type \(Left/Right\) +q35$'
tui_expect "with its trade-off under the form" 'q35: modern PCIe chipset'
tui_keys Right Right
tui_expect "Right Right: microvm" 'Machine type \(Left/Right\) +microvm$'
tui_expect "and its trade-off" 'microvm: no PCI, firmware or display; boots a kernel directly'
tui_keys Tab
t_check "a kernel, no display, virtio devices: microvm is taken" wait_for 5 _tui_has 'Boot order \(disk,cdrom,network\) +_'
tui_keys Down
tui_type 64M
tui_keys Tab Right
tui_expect "the new disk's bus: scsi" 'New disk bus \(Left/Right\) +scsi$'
tui_expect "with its trade-off" 'scsi \(virtio-scsi\): many disks'
before=$("$VMTTY" show d1 --json)
tui_keys Tab
tui_expect "leaving the disk's fields refuses scsi on microvm, in one line" \
	"VM 'd1', new disk: machine type microvm has only virtio-mmio devices, no scsi bus; use disk bus virtio, or machine type q35"
t_check "the focus stays on the bus" _tui_has 'New disk bus \(Left/Right\) +scsi$'
tui_keys Enter
tui_expect "Enter refuses it too" "no scsi bus; use disk bus virtio"
t_eq "nothing was written" "$before" "$("$VMTTY" show d1 --json)"
tui_keys Left
tui_expect "virtio" 'New disk bus \(Left/Right\) +virtio$'
tui_expect "with its trade-off" 'virtio \(virtio-blk\): fastest, needs virtio drivers'
tui_keys Enter
tui_expect "Enter saves" "VM 'd1': machine type, disks changed\."
t_eq "show --json: a microvm with a virtio disk" "microvm virtio" "$(js d1 'v["machine"]') $(buses d1)"
argv=$("$VMTTY" show d1 --argv)
t_match "the qemu argv is a microvm's" "-machine microvm," "$argv"
t_match "with the disk on virtio-mmio" "-device virtio-blk-device,drive=disk0" "$argv"

# 1b. An e1000 NIC on the microvm is refused.
tui_keys e
tui_expect "the form of d1, a microvm" 'Machine type \(Left/Right\) +microvm$'
tui_keys Up Up Up Up Up Up Right
tui_expect "a new user NIC" 'New NIC \(Left/Right\) +user$'
tui_keys Tab Tab Right
tui_expect "model e1000" 'NIC model \(Left/Right\) +e1000$'
tui_expect "with its trade-off" 'e1000: emulated Intel gigabit, drivers everywhere'
before=$("$VMTTY" show d1 --json)
tui_keys Tab
tui_expect "leaving the NIC's fields refuses e1000 on microvm" \
	"VM 'd1', NIC 1: machine type microvm has no PCI bus for NIC model e1000; use virtio-net, or machine type q35"
tui_keys Escape
tui_expect "Esc cancels" "Cancelled; VM 'd1' was not changed\."
t_eq "nothing was written" "$before" "$("$VMTTY" show d1 --json)"

# 2. d2 has VNC: microvm is refused; pc with an IDE disk and an rtl8139 is taken.
tui_keys j e
tui_expect "the form of d2" 'Edit VM d2 on local \(off\)'
tui_keys Down Down Down Down Down Down Right Right
tui_expect "microvm" 'Machine type \(Left/Right\) +microvm$'
before=$("$VMTTY" show d2 --json)
tui_keys Tab
tui_expect "VNC on microvm is refused" \
	"VM 'd2': machine type microvm has no display \(no VGA, no VNC\); use graphics none, or machine type q35"
t_eq "nothing was written" "$before" "$("$VMTTY" show d2 --json)"
tui_keys Left
tui_expect "pc" 'Machine type \(Left/Right\) +pc$'
tui_expect "with its trade-off" 'pc: the old i440FX chipset with IDE'
tui_keys Tab Tab
tui_type 32M
tui_keys Tab Right Right Right
tui_expect "the new disk on ide" 'New disk bus \(Left/Right\) +ide$'
tui_expect "with its trade-off" 'ide: any guest, slowest; not on q35 or microvm'
tui_keys Tab Tab Tab Right Tab Tab
tui_expect "the new NIC's model" 'NIC model \(Left/Right\) +virtio-net$'
tui_expect "with its trade-off" 'virtio-net: fastest, needs virtio drivers \(Linux has them; Windows needs virtio-win\)'
tui_keys Right Right Right
tui_expect "rtl8139" 'NIC model \(Left/Right\) +rtl8139$'
tui_keys Enter
tui_expect "Enter saves" "VM 'd2': machine type, disks, NICs changed\."
t_eq "show --json: pc, an IDE disk, an rtl8139 NIC" "pc ide virtio-net rtl8139" \
	"$(js d2 'v["machine"]') $(buses d2) $(models d2)"
argv=$("$VMTTY" show d2 --argv)
t_match "the qemu argv has the IDE disk" "-device ide-hd,drive=disk0,bus=ide.0" "$argv"
t_match "and the rtl8139" "-device rtl8139,netdev=net1" "$argv"

# 2b. IDE on q35 is refused.
tui_keys e
tui_expect "the form of d2, a pc" 'Machine type \(Left/Right\) +pc$'
tui_keys Down Down Down Down Down Down Left
tui_expect "q35" 'Machine type \(Left/Right\) +q35$'
before=$("$VMTTY" show d2 --json)
tui_keys Tab
tui_expect "IDE on q35 is refused (the disk named first)" "VM 'd2', disk '.*': machine type q35 has no IDE bus; use disk bus sata"
tui_keys Enter
tui_expect "Enter refuses it too" "machine type q35 has no IDE bus"
tui_keys Escape
t_eq "nothing was written" "$before" "$("$VMTTY" show d2 --json)"

# 3. microvm without a kernel: the refusal names the Kernel field, and
# the focus may go there; a missing file and a relative path are refused
# naming the kernel, nothing written; with a kernel it is taken.
jk() { js d3 '" ".join(str(v[k]) for k in ("machine", "kernel", "initrd", "cmdline"))'; }
tui_keys j e
tui_expect "the form of d3" 'Edit VM d3 on local \(off\)'
tui_expect "no kernel" '^ *Kernel *$'
tui_keys Down Down Down Down Down Down Right Right Tab
tui_expect "microvm without a kernel is refused, naming the Kernel field" \
	"VM 'd3': machine type microvm boots a kernel directly, with no firmware to boot a disk; give it a kernel \(the Kernel field\)$"
t_check "the focus may leave it: the kernel is another field" _tui_has 'Boot order \(disk,cdrom,network\) +_'
before=$("$VMTTY" show d3 --json)
tui_keys Enter
tui_expect "Enter refuses it" "give it a kernel \(the Kernel field\)$"
tui_keys Up Up Up Up Up
tui_expect "up to the Kernel field" 'Kernel +_'
tui_type "$T_TMP/no-such-vmlinuz"
tui_keys Enter
tui_expect "a kernel file that is not there is refused, named" \
	"VM 'd3': kernel '$T_TMP/no-such-vmlinuz' does not exist; give an existing file"
t_eq "nothing was written" "$before" "$("$VMTTY" show d3 --json)"
t_check "the form stays" _tui_has 'Edit VM d3 on local'
tui_keys C-u
tui_type vmlinuz
tui_keys Enter
tui_expect "a relative path is refused, named" "kernel: 'vmlinuz' is not an absolute path; give the full path"
tui_keys C-u
tui_type "$GUEST/vmlinuz"
tui_keys Tab
tui_type "$GUEST/initrd.img"
tui_keys Tab
tui_type console=ttyS0
tui_keys Enter
tui_expect "with a kernel Enter saves" "VM 'd3': kernel, initrd, kernel command line, machine type changed\."
t_eq "show --json: a microvm with the kernel, initrd and command line" \
	"microvm $GUEST/vmlinuz $GUEST/initrd.img console=ttyS0" "$(jk)"
t_match "the qemu argv boots it" "-kernel $GUEST/vmlinuz -initrd $GUEST/initrd.img " "$("$VMTTY" show d3 --argv)"

# 3b. The kernel cleared (the initrd and command line with it): a microvm
# is refused, then taken as pc without a kernel.
tui_keys e
tui_expect "the form of d3 has its kernel" "Kernel +$GUEST/vmlinuz\$"
tui_keys Down Down C-u Tab C-u Tab C-u Tab
tui_expect "a microvm with no kernel is refused, naming the Kernel field" \
	"VM 'd3': machine type microvm .*; give it a kernel \(the Kernel field\)$"
before=$("$VMTTY" show d3 --json)
tui_keys Enter
tui_expect "Enter refuses it" "give it a kernel \(the Kernel field\)$"
t_eq "nothing was written" "$before" "$("$VMTTY" show d3 --json)"
tui_keys Down Left
tui_expect "pc" 'Machine type \(Left/Right\) +pc$'
tui_keys Enter
tui_expect "Enter saves" "VM 'd3': kernel, initrd, kernel command line, machine type changed\."
t_eq "show --json: pc with no kernel" "pc None None None" "$(jk)"

# 4. The wizard: machine type, disk bus and NIC model with their
# trade-offs; a VM made on pc with an e1000.
tui_keys n
tui_expect "n opens the wizard" 'New VM on local: Template'
tui_type tiny
tui_keys Enter
tui_expect "the name step" 'Name +tiny-linux-1'
tui_keys C-u
tui_type w1
tui_keys Enter Down Down
tui_expect "the machine type" 'Machine \(Left/Right\) +q35$'
tui_expect "with its trade-off under it" 'q35: modern PCIe chipset'
# A refusal goes from the screen once the value it was about changes.
tui_keys Right Right
tui_expect "microvm" 'Machine \(Left/Right\) +microvm$'
tui_keys Enter
tui_expect "the storage step" 'Kernel cmdline +console=ttyS0'
tui_keys Enter
tui_expect "without a kernel it is refused" "kernel: machine type microvm boots a kernel directly"
tui_keys Tab Tab
tui_type /
t_check "typing into the kernel field takes the refusal away" \
	tui_wait_gone "machine type microvm boots a kernel directly"
tui_keys C-u Escape
tui_expect "back at the machine type" 'Machine \(Left/Right\) +microvm$'
tui_keys Down Down Left
tui_expect "pc" 'Machine \(Left/Right\) +pc$'
tui_keys Enter
tui_expect "the storage step again" 'Kernel cmdline +console=ttyS0'
tui_keys Tab Tab
tui_type "$GUEST/vmlinuz"
tui_keys Tab
tui_type "$GUEST/initrd.img"
tui_keys Enter
tui_expect "the network step" 'Network \(user, none'
tui_keys Tab Right
tui_expect "the NIC model" 'NIC model \(Left/Right\) +e1000$'
tui_expect "with its trade-off" 'e1000: emulated Intel gigabit'
tui_keys Enter
tui_expect "the review has them" 'Machine: +pc, disk bus virtio, NIC model e1000'
tui_expect "and the kernel with its command line" "Kernel: +$GUEST/vmlinuz \+ $GUEST/initrd.img"
t_check "the kernel command line" _tui_has 'Cmdline: +console=ttyS0$'
tui_keys Enter
tui_expect "w1 is created" "VM 'w1' created on host 'local'" 30
t_eq "show --json: pc with an e1000" "pc e1000" "$(js w1 'v["machine"]') $(models w1)"

# 5. A libvirt host is not offered microvm, and the wizard says so.
t_status "a libvirt test host" 0 "$VMTTY" host add lab test:///default
count=$("$VMTTY" list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
tui_keys n
tui_expect "the wizard" 'New VM on local: Template'
tui_keys Escape
tui_expect "back to the host" 'New VM on local: Host'
tui_keys Down
tui_expect "lab chosen" 'New VM on lab: Host'
tui_keys Enter
tui_expect "the template step on lab" 'New VM on lab: Template'
tui_expect "microvm-linux is marked" 'microvm-linux .*\(not offered here: built-in host only\)'
tui_type microvm
tui_keys Enter
tui_expect "microvm-linux is refused on lab, in one line" \
	"machine type: microvm is for the built-in backend only \(libvirt 9.0 cannot define one\); use host local, or q35"
t_check "the wizard stays at the template" _tui_has 'New VM on lab: Template'
tui_keys Up
tui_type blank
tui_keys Enter
tui_expect "another template goes on" 'Name +blank-1'
tui_keys Enter
tui_expect "the CPU step says microvm is not offered" \
	"microvm is not offered on libvirt host 'lab': libvirt 9.0 cannot define one"
tui_keys Down Down Right
tui_expect "pc" 'Machine \(Left/Right\) +pc$'
tui_keys Right
tui_expect "then q35 again: no microvm" 'Machine \(Left/Right\) +q35$'
tui_keys Escape Escape Escape Escape
tui_expect "closed" 'Cancelled; no VM was created'
t_eq "nothing was created" "$count" \
	"$("$VMTTY" list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"

# 6. A libvirt VM's form has no kernel or initrd (paths on its host).
tui_keys End
tui_expect "the last row: lab's VM test" 'VM +test'
tui_keys e
tui_expect "its form" 'Edit VM test on lab'
t_check "no Kernel or Initrd field" _tui_lacks '^ *(Kernel|Initrd)( {2,}|$)'
tui_keys Down Down Down Down
tui_expect "memory, cmdline, firmware, then the machine type" 'Machine type \(Left/Right\) +(q35|pc)$'
tui_keys Escape
tui_expect "Esc cancels" "Cancelled; VM 'test' was not changed\."

tui_keys q
t_summary
