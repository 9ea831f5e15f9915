#!/usr/bin/env bash
# A microvm through the TUI's wizard from the shipped template
# microvm-linux (kernel and initrd typed), started with s to the tiny
# guest's marker; its display view (v) says there is none.
source "$(dirname "$0")/lib.sh"

export XDG_CONFIG_HOME="$T_TMP/config"

tui_start 120 36 "$VMTTY"
tui_expect "the TUI shows host local" 'local'
tui_keys n
tui_expect "n opens the wizard at the template step" 'New VM on local: Template'
tui_expect "the wizard lists microvm-linux" 'microvm-linux'
tui_type microvm
tui_keys Enter
tui_expect "the name step, with a name suggested" 'Name +microvm-linux-1'
tui_keys C-u
tui_type w1
tui_keys Enter
tui_expect "CPU / memory from the template" 'Memory \(MiB or 2G\) +256'
tui_keys Enter
tui_expect "the storage step of a kernel template" 'Kernel cmdline +console=ttyS0'
tui_keys Enter
tui_expect "without a kernel the microvm is refused, saying why" "kernel: machine type microvm boots a kernel directly"
tui_keys Tab Tab
tui_type "$GUEST/vmlinuz"
tui_keys Tab
tui_type "$GUEST/initrd.img"
tui_keys Enter
tui_expect "the network step" 'Network \(user, none'
tui_keys Enter
tui_expect "the review" 'Enter: create the VM'
tui_keys Enter
tui_expect "w1 is created" "VM 'w1' created on host 'local'" 30
tui_expect "and listed, off" 'w1 +off'
t_eq "w1 is a microvm without graphics, from microvm-linux" "microvm none microvm-linux" \
	"$("$VMTTY" show w1 --json | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["machine"], v["graphics"], v["template"])')"
t_status "its argv has no PCI device" 0 "$VMTTY" show w1 --argv
t_nomatch "(no -pci)" '-pci' "$T_OUT"
tui_keys j s
tui_expect "s starts w1 from the TUI" 'w1 +running' 30
t_check "the guest's marker reaches w1's serial log" wait_serial w1 "GUEST READY" 1 120
tui_keys v
tui_expect "v says a microvm has no display" "is a microvm, which has no display at all"
t_status "poweroff w1" 0 "$VMTTY" poweroff w1 --wait
tui_keys q

t_summary
