#!/usr/bin/env bash
# The edit form (e) in the real TUI under tmux: a stopped VM changes at
# once (CPUs, memory, a NIC added and one removed); a running tiny guest
# gets the changes (a NIC too) as pending and takes them at a restart from
# the TUI; bad values are refused on the spot and Esc cancels, each with
# nothing changed.
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
# Kernel, Initrd, Kernel cmdline, firmware, machine type, boot order.
tui_keys Down Down Down Down Down Down
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

# 1b. NICs: a bridge NIC added (its name typed after its kind), then the
# first NIC removed, with vmedit's checks as for edit --add-nic/--remove-nic.
# The bridge must exist on this machine (the built-in host checks it).
ip link add vmttyebr0 type bridge && t_on_exit 'ip link del vmttyebr0'
# nics NAME: "KIND MODEL SOURCE|..." from show --json.
nics() {
	"$VMTTY" show "$1" --json | python3 -c 'import json,sys; print("|".join("%s %s %s" % (n["kind"], n["model"], n["source"]) for n in json.load(sys.stdin)["nics"]))'
}
t_eq "e1 starts with one user NIC" "user virtio-net None" "$(nics e1)"
tui_keys e
tui_expect "e opens the form again" 'Edit VM e1 on local \(off\)'
tui_expect "it lists e1's NIC" 'NIC 0: user \(virtio-net\)'
tui_keys Down Down Down Down Down Down Down Down Down Down Down Down Right Right
tui_expect "the new NIC's kind: bridge" 'New NIC \(Left/Right\) +bridge$'
tui_keys Tab
tui_expect "then its source" 'NIC source \(bridge, tap, net\) +_'
tui_keys Tab Right
tui_expect "moving within the NIC's fields checks nothing yet" 'NIC model \(Left/Right\) +e1000$'
tui_keys Tab
tui_expect "leaving them refuses a bridge without a name" \
	"VM 'e1', NIC 1: bridge networking needs a source name"
t_check "the focus stays on the NIC model" _tui_has 'NIC model \(Left/Right\) +e1000$'
tui_keys Up
tui_type vmttyebr0
tui_keys Down Down
tui_expect "with a bridge name it moves on to Remove NIC" 'Remove NIC \(number\) +_'
tui_keys Enter
tui_expect "Enter saves the NIC" "VM 'e1': NICs changed\."
tui_expect "the list is drawn whole again" '■ e1 +off'
t_eq "show --json has the bridge NIC, model e1000" "user virtio-net None|bridge e1000 vmttyebr0" "$(nics e1)"
t_match "the qemu argv has it" " -netdev bridge,id=net1,br=vmttyebr0 -device e1000,netdev=net1,mac=[0-9a-f:]+,id=nic1 " \
	"$("$VMTTY" show e1 --argv)"
tui_keys e
tui_expect "the form lists both NICs" 'NIC 1: bridge vmttyebr0 \(e1000\)'
tui_keys Up
tui_expect "Up from the top wraps to the last field, Autostart (a built-in VM)" 'Autostart \(Left/Right\) +off$'
tui_keys Up Up
tui_expect "two above it, Remove NIC" 'Remove NIC \(number\) +_'
tui_type 5
tui_keys Enter
tui_expect "a NIC it does not have is refused" "VM 'e1' has no NIC '5'; give its number from 0"
t_eq "nothing changed" "user virtio-net None|bridge e1000 vmttyebr0" "$(nics e1)"
tui_keys C-u
tui_type 0
tui_keys Enter
tui_expect "Enter removes NIC 0" "VM 'e1': NICs changed\."
t_eq "show --json has the bridge NIC alone" "bridge e1000 vmttyebr0" "$(nics e1)"
argv=$("$VMTTY" show e1 --argv)
t_match "the qemu argv has it as the first NIC" " -netdev bridge,id=net0,br=vmttyebr0 -device e1000,netdev=net0,mac=[0-9a-f:]+,id=nic0 " "$argv"
t_nomatch "and no user networking" "-netdev user" "$argv"
t_match "the journal has both edits" "changed NICs.*changed NICs" "$("$VMTTY" log e1 | tr '\n' ' ')"

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

# 2b. The restart policy of a built-in VM: on crash and autostart.
policy() {
	"$VMTTY" show "$1" --json | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["on_crash"], v["autostart"])'
}
tui_keys e
tui_expect "the form of e1 has its on-crash policy" 'On crash \(Left/Right\) +leave$'
tui_keys Up Right
tui_expect "Autostart: Right turns it on" 'Autostart \(Left/Right\) +on$'
tui_keys Up Right
tui_expect "On crash: Right gives restart" 'On crash \(Left/Right\) +restart$'
tui_keys Enter
tui_expect "Enter saves them" "VM 'e1': on-crash restart, autostart on changed\."
t_eq "show --json has them" "restart True" "$(policy e1)"
t_match "the journal has the edit" "ok +edit +local/e1: changed on-crash restart, autostart on$" "$("$VMTTY" log e1)"

# 3. A running VM: the changes wait for its next start.
tui_keys j e
tui_expect "the form of e2 says it is running" 'Edit VM e2 on local \(running\)'
tui_expect "and that changes wait for the next start" 'take effect at its next start'
tui_keys C-u
tui_type 2
tui_keys Tab C-u
tui_type 320
# and a second user NIC, an rtl8139: New NIC is 11 fields below memory.
tui_keys Down Down Down Down Down Down Down Down Down Down Down Right
tui_expect "a user NIC" 'New NIC \(Left/Right\) +user$'
tui_keys Left Left
tui_expect "the built-in backend offers no libvirt network: Left from none wraps to tap" \
	'New NIC \(Left/Right\) +tap$'
tui_keys Right Right
tui_expect "and back to user" 'New NIC \(Left/Right\) +user$'
tui_keys Down Down Right Right Right
tui_expect "an rtl8139" 'NIC model \(Left/Right\) +rtl8139$'
tui_keys Enter
tui_expect "saved as pending" "VM 'e2': CPUs, memory, NICs changed; pending until its next start\."
tui_expect "the list marks e2" 'e2 +running\*'
tui_expect "the details show what is pending" 'Pending +CPUs, memory, NICs \(takes effect at'
t_eq "show --json has the change, pending" "2 320 CPUs, memory, NICs None" "$(cfg e2)"
t_eq "and the NIC" "user virtio-net None|user rtl8139 None" "$(nics e2)"
t_match "qemu still runs with 1 vCPU and 256 MiB" " -smp 1,sockets=1,cores=1,threads=1 -m 256 " "$(qemu_args e2)"
t_nomatch "and one NIC" "rtl8139" "$(qemu_args e2)"
t_match "show --argv has the next start's" " -smp 2,sockets=2,cores=1,threads=1 -m 320 " "$("$VMTTY" show e2 --argv)"
t_match "with the new NIC" " -netdev user,id=net1 -device rtl8139,netdev=net1,mac=[0-9a-f:]+,id=nic1 " "$("$VMTTY" show e2 --argv)"
tui_keys F
tui_expect "F asks first" 'Force off VM'
tui_keys y
tui_expect "e2 is off" 'e2 +off ' 30
t_check "and off, nothing is pending: the change is its configuration" _tui_lacks 'e2 +off\*'
tui_keys s
tui_expect "s starts it again" 'e2 +running ' 30
t_eq "the start took the pending change" "2 320 None None" "$(cfg e2)"
t_match "qemu runs with 2 vCPUs and 320 MiB" " -smp 2,sockets=2,cores=1,threads=1 -m 320 " "$(qemu_args e2)"
t_match "and the rtl8139 NIC" " -device rtl8139,netdev=net1,mac=[0-9a-f:]+,id=nic1 " "$(qemu_args e2)"
t_check "the guest boots again" wait_serial e2 "GUEST READY" 1 90

# 3b. The restart policy of a running VM holds at once: nothing pending.
tui_keys e
tui_expect "the form of e2 (running)" 'Edit VM e2 on local \(running\)'
tui_keys Up Right
tui_expect "Autostart on" 'Autostart \(Left/Right\) +on$'
tui_keys Enter
tui_expect "saved, not pending" "VM 'e2': autostart on changed\."
t_check "the list does not mark e2" _tui_lacks 'e2 +running\*'
t_eq "show --json: autostart on, nothing pending" "leave True None" \
	"$("$VMTTY" show e2 --json | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["on_crash"], v["autostart"], v["pending_restart"])')"

tui_keys q
t_summary
