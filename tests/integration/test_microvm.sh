#!/usr/bin/env bash
# The tiny real guest as a microvm (QEMU's -M microvm, TCG): it boots from
# its disk on virtio-mmio to its marker, its serial console answers, it has
# no PCI bus, reset reboots it, shutdown (ACPI) and poweroff stop it.
source "$(dirname "$0")/lib.sh"

qemu-img create -q -f qcow2 -F qcow2 -b "$GUEST/rootfs.qcow2" "$T_TMP/root.qcow2"
t_status "create a microvm of the tiny guest with its disk" 0 "$VMTTY" create mv \
	--machine microvm --accel tcg --kernel "$GUEST/vmlinuz" --initrd "$GUEST/initrd.img" \
	--cmdline "console=ttyS0 vmtty.root=/dev/vda" --memory 256 --disk "$T_TMP/root.qcow2"
t_status "start it, waiting for the guest's marker" 0 "$VMTTY" start mv \
	--wait-serial "GUEST READY" --timeout 120
t_eq "it is running" running "$(vm_state mv)"
t_check "qemu runs -machine microvm" grep -q -- "microvm,x-option-roms=off" \
	"/proc/$(vm_pid mv)/cmdline"
t_check "the guest booted its disk" grep -q "ROOT=disk" "$(serial_log mv)"
t_eq "the serial console answers a command" 42 "$(gsh mv 'echo "@@""=$((6*7))@@"')"
t_eq "the disk is the disk's root file system" yes \
	"$(gsh mv 'test -f /etc/vmtty-disk && echo "@@""=yes@@"')"
t_eq "the guest has no PCI device" 0 \
	"$(gsh mv 'echo "@@""=$(ls /sys/bus/pci/devices 2>/dev/null | wc -l)@@"')"
t_eq "the guest was told the TSC rate (TCG)" 1 \
	"$(gsh mv 'echo "@@""=$(tr " " "\n" </proc/cmdline | grep -c ^tsc_early_khz=)@@"')"
t_eq "the disk is virtio-blk on virtio-mmio" virtio-mmio \
	"$(gsh mv 'echo "@@""=$(basename $(readlink /sys/block/vda/device/../driver))@@"')"
t_eq "the NIC is there (virtio-net on virtio-mmio)" yes \
	"$(gsh mv 'test -e /sys/class/net/eth0 && echo "@@""=yes@@"')"

t_status "reset restarts it" 0 "$VMTTY" reset mv
t_check "the guest boots again to its marker" wait_serial mv "GUEST READY" 2 120
t_status "shutdown (the ACPI power button, on microvm's GED) stops it" 0 "$VMTTY" shutdown mv \
	--wait --timeout 60
t_eq "it is off" off "$(vm_state mv)"
t_check "the guest powered itself off" grep -q "reboot: Power down" "$(serial_log mv)"
t_status "start it again" 0 "$VMTTY" start mv --wait-serial "GUEST READY" --timeout 120
t_status "poweroff stops it at once" 0 "$VMTTY" poweroff mv --wait
t_eq "it is off again" off "$(vm_state mv)"

t_summary
