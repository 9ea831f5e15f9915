#!/usr/bin/env bash
# K in the real TUI under tmux: a running VM is refused on the status line;
# on a stopped one a prompt for the new name (NAME-clone to edit), then full
# or linked; the clone is made off the UI thread, the status line says how
# it went and the list shows it.  A taken name is refused and makes nothing.
source "$(dirname "$0")/../integration/lib.sh"

IMAGES="$XDG_DATA_HOME/vmtty/images"
mkdir -p "$T_TMP/d"
qemu-img create -q -f qcow2 "$T_TMP/d/src.qcow2" 16M
t_status "create src on a qcow2 disk" 0 create_tiny src --disk "$T_TMP/d/src.qcow2"

tui_start 100 30 "$VMTTY"
tui_expect "the list shows src" 'src +off'
tui_keys / ; tui_type src; tui_keys Enter
tui_expect "the list is filtered to src" '^ +. src '
tui_keys Home j K
tui_expect "K asks for the new name, NAME-clone to edit" "New name: *src-clone"
tui_keys Enter
tui_expect "then full or linked" "Full copy: disks of its own"
tui_keys f
tui_expect "the status line says it was cloned" "VM 'src-clone' cloned from 'src' \(full copy\)" 20
t_check "its disk is a copy of its own" test -f "$IMAGES/src-clone/src-clone.qcow2"
tui_keys Escape
tui_expect "the list shows the clone" 'src-clone +off'

tui_keys / ; tui_type src; tui_keys Enter
tui_keys Home j K
tui_expect "K again" "New name: *src-clone"
tui_keys C-u; tui_type lnk; tui_keys Enter
tui_keys l
tui_expect "a linked clone" "VM 'lnk' cloned from 'src' \(linked\)\. VM 'src' now runs on overlay" 20
t_eq "its disk stands on src's former disk" "$T_TMP/d/src.qcow2" \
	"$(qemu-img info -U --output=json "$IMAGES/lnk/lnk.qcow2" | python3 -c 'import json, sys; print(json.load(sys.stdin)["backing-filename"])')"
t_eq "which src's snapshot keeps" "clone-lnk" \
	"$("$VMTTY" snapshot src list --json | python3 -c 'import json, sys; print(" ".join(s["name"] for s in json.load(sys.stdin)))')"

tui_keys Home j K
tui_expect "K once more" "New name: *src-clone"
tui_keys Enter f
tui_expect "a taken name is refused" "a VM named 'src-clone' already exists on host 'local'" 20
t_eq "three VMs, no more" 3 "$(vm_count)"

t_status "start src" 0 "$VMTTY" start src
tui_keys Home j
tui_expect "src runs" 'src +running' 20
tui_keys K
tui_expect "a running VM is refused" "VM 'src' is running; shut it down first to clone it"
t_nomatch "no prompt" "New name:" "$(tui_screen)"
t_status "poweroff src" 0 "$VMTTY" poweroff src --wait

tui_kill
t_summary
