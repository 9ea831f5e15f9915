#!/usr/bin/env bash
# The edit form (e) in the real TUI under tmux: a stopped VM changes at
# once; a running tiny guest gets the changes as pending and takes them at
# a restart from the TUI; bad values are refused on the spot and Esc
# cancels, each with nothing changed.
source "$(dirname "$0")/../integration/lib.sh"

# cfg NAME: "CPUS MEMORY PENDING BOOT" from show --json.
cfg() {
	"$VMTTY" show "$1" --json | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["cpus"], v["memory_mib"], v["pending_restart"], v["boot_order"])'
}
qemu_args() { tr '\0' ' ' <"/proc/$(vm_pid "$1")/cmdline"; }

t_status "create e1 (tiny guest)" 0 create_tiny e1
t_status "create e2 (tiny guest)" 0 create_tiny e2
t_status "e2 boots to the guest's marker" 0 "$VMTTY" start e2 --wait-serial "GUEST READY" --timeout 90

tui_start 120 36 "$VMTTY"
tui_expect "the list shows e1 off" 'e1 +off'
tui_expect "and e2 running" 'e2 +running'

# 1. A stopped VM: a bad value is refused on the spot, then CPUs and memory.
tui_keys j e
tui_expect "e opens the form of e1" 'Edit VM e1 on local \(off\)'
tui_expect "with its vCPUs" 'vCPUs +1_'
tui_keys C-u
tui_type 0
tui_keys Tab
tui_expect "0 vCPUs is refused on the status line" "CPUs: '0' is not a whole number from 1 to 256"
t_check "the focus stays on vCPUs" _tui_has 'vCPUs +0_'
tui_keys Enter
tui_expect "Enter refuses it too" "CPUs: '0' is not a whole number"
t_eq "nothing changed" "1 256 None None" "$(cfg e1)"
tui_keys C-u
tui_type 2
tui_keys Tab
tui_expect "a good value moves on to memory" 'Memory \(MiB or 2G\) +256_'
tui_keys C-u
tui_type 384
tui_keys Down Down Down
tui_expect "the boot order field" 'Boot order \(disk,cdrom,network\) +_'
tui_type floppy
tui_keys Tab
tui_expect "a bad boot order is refused" "boot order 'floppy': 'floppy' is not a device kind"
tui_keys C-u Enter
tui_expect "Enter saves" "VM 'e1': CPUs, memory changed\."
tui_expect "the list is drawn whole again" '■ e1 +off'
t_eq "show --json has 2 vCPUs and 384 MiB, nothing pending" "2 384 None None" "$(cfg e1)"
t_match "the qemu argv has them" " -smp 2,sockets=2,cores=1,threads=1 -m 384 " "$("$VMTTY" show e1 --argv)"
t_match "the journal has the edit" "ok +edit +local/e1: changed CPUs, memory" "$("$VMTTY" log e1)"

# 2. Esc cancels with nothing changed.
tui_keys e
tui_expect "e opens the form again" 'Edit VM e1 on local \(off\)'
tui_keys C-u
tui_type 4
tui_keys Tab
tui_type 0
tui_keys Escape
tui_expect "Esc cancels" "Cancelled; VM 'e1' was not changed\."
t_eq "nothing changed" "2 384 None None" "$(cfg e1)"

# 3. A running VM: the changes wait for its next start.
tui_keys j e
tui_expect "the form of e2 says it is running" 'Edit VM e2 on local \(running\)'
tui_expect "and that changes wait for the next start" 'take effect at its next start'
tui_keys C-u
tui_type 2
tui_keys Tab C-u
tui_type 320
tui_keys Enter
tui_expect "saved as pending" "VM 'e2': CPUs, memory changed; pending until its next start\."
tui_expect "the list marks e2" 'e2 +running\*'
tui_expect "the details show what is pending" 'Pending +CPUs, memory \(takes effect at the ne'
t_eq "show --json has the change, pending" "2 320 CPUs, memory None" "$(cfg e2)"
t_match "qemu still runs with 1 vCPU and 256 MiB" " -smp 1,sockets=1,cores=1,threads=1 -m 256 " "$(qemu_args e2)"
t_match "show --argv has the next start's" " -smp 2,sockets=2,cores=1,threads=1 -m 320 " "$("$VMTTY" show e2 --argv)"
tui_keys F
tui_expect "F asks first" 'Force off VM'
tui_keys y
tui_expect "e2 is off" 'e2 +off\*' 30
tui_keys s
tui_expect "s starts it again" 'e2 +running ' 30
t_eq "the start took the pending change" "2 320 None None" "$(cfg e2)"
t_match "qemu runs with 2 vCPUs and 320 MiB" " -smp 2,sockets=2,cores=1,threads=1 -m 320 " "$(qemu_args e2)"
t_check "the guest boots again" wait_serial e2 "GUEST READY" 1 90

tui_keys q
t_summary
