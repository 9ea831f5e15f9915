#!/usr/bin/env bash
# The snapshots page (t) in the real TUI under tmux, at 80x24, on a
# built-in VM g with its own qcow2 disk (the tiny guest's).  While g is off:
# c creates s1 (full) from the keyboard and the tree shows it current; s2
# (with a description) is drawn under s1 with a tree line; r on s1 asks
# with the sentence that says what the revert discards, Enter confirms, and
# the tree and 'vmtty snapshot g list --json' agree that s1 is current; a
# duplicate name and a bad name say why on the status line, in one line,
# and change nothing.  Then g runs (no need to wait for its guest): a full
# snapshot s3 records the running state and hangs beside s2 under s1, and
# a revert now says the running guest's memory goes too.  The page keeps
# its shape through a resize.  A VM on a raw disk is refused on the status
# line.
source "$(dirname "$0")/../integration/lib.sh"

# snaps: "name:parent:kind:vm_state:current" per snapshot of g, tree order,
# on one line.
snaps() {
	"$VMTTY" snapshot g list --json | python3 -c '
import json, sys
print(" ".join("%s:%s:%s:%s:%s" % (s["name"], s["parent"] or "-", s["kind"], s["vm_state"],
    "*" if s["current"] else "") for s in json.load(sys.stdin)))'
}
# box TITLE: the question in the overlay box titled TITLE on screen (its
# lines up to the first blank one), joined with single spaces: the box
# wraps a long question.
box() {
	tui_screen | sed -n "/┌─ $1 /,/└─/p" | sed '1,2d; s/^[^│]*│//; s/│[^│]*$//' |
		sed '/^ *$/q' | tr -s ' \n' '  ' | sed 's/^ //; s/ $//'
}
_box_has() { box "$1" | grep -qF -- "$2"; }
# status: the status line (the second last row).
status() { tui_screen | tail -n 2 | head -n 1; }
_status_has() { status | grep -Eq -- "$1"; }
# create NAME [DESCRIPTION]: c, the name, the description, Enter.
create() {
	tui_keys c
	tui_expect "c opens the form for $1" 'New snapshot: Tab next field'
	tui_type "$1"
	if [ -n "${2:-}" ]; then tui_keys Tab Tab; tui_type "$2"; fi
	tui_keys Enter
}

D="$T_TMP/disks"
mkdir -p "$D"
cp "$GUEST/rootfs.qcow2" "$D/g.qcow2"
t_status "create g on its own qcow2 disk" 0 create_tiny g --disk "$D/g.qcow2" \
	--cmdline "console=ttyS0 vmtty.root=/dev/vda"
qemu-img create -q -f raw "$D/r.raw" 64M
t_status "create r on a raw disk" 0 create_tiny r --disk "$D/r.raw"

tui_start 80 24 "$VMTTY"
tui_expect "the list shows g" '^ +. g +off'
t_check "and r below it" _tui_has '^ +. r +off'
tui_keys '?'
tui_expect "? opens the help" '┌─ Keys '
tui_keys NPage
tui_expect "it lists t for the snapshots" '│ t +snapshots: the tree; create, revert or delete one'
t_check "and T for the tuning" _tui_has '│ T +tuning: vCPU and emulator pins'
tui_keys q
tui_wait_gone 'snapshots: the VM'
tui_keys Home j Enter
tui_expect "the VM menu offers t Snapshots" '│ +t +Snapshots +│'
t_check "and T Tuning" _tui_has '│ +T +Tuning +│'
tui_keys Escape
tui_wait_gone 'Snapshots +│'

# 1. The page of a VM without snapshots; s1 from the keyboard.
tui_keys t
tui_expect "t opens the snapshots page" '^ Snapshots of VM g on local \(off\)'
tui_expect "g has none yet" 'VM g has no snapshots; c creates one\.'
t_check "the columns are titled" _tui_has 'NAME +CREATED +KIND +VM STATE +SIZE'
t_check "the hints name the keys" _tui_has 'c Create +r Revert +d Delete'
create s1
tui_expect "the status line says s1 was taken" "VM 'g': snapshot 's1' taken \(full\)\." 30
tui_expect "the tree shows s1, current (marked), full, taken while off" \
	'^ ● s1 +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{5} +full +off '
t_eq "vmtty agrees" "s1:-:full:off:*" "$(snaps)"

# 2. s2 under s1, with a description.
create s2 "after the first"
tui_expect "s2 was taken" "VM 'g': snapshot 's2' taken \(full\)\." 30
tui_expect "s2 is drawn under s1 with a tree line, current" '^ ● └─ s2 +[0-9-]+ [0-9:]+ +full +off '
t_check "s1 above it, no longer marked" _tui_has '^   s1 +[0-9-]+ [0-9:]+ +full +off '
t_check "s2 is selected: its description below" _tui_has '^ after the first'
t_eq "vmtty agrees" "s1:-:full:off: s2:s1:full:off:*" "$(snaps)"

# 3. A duplicate and a bad name: one line on the status line, nothing changed.
before=$(snaps)
create s1
tui_expect "a duplicate name says why on the status line" \
	"^VM 'g' already has a snapshot named 's1'; choose another name\.? *$" 30
t_eq "nothing changed" "$before" "$(snaps)"
create 'a/b'
tui_expect "a bad name says why" "snapshot name 'a/b' contains '/'" 30
t_eq "nothing changed" "$before" "$(snaps)"
t_eq "the journal has both refusals" 2 "$("$VMTTY" log g --json | python3 -c '
import json, sys
print(sum(1 for e in json.load(sys.stdin) if e["action"] == "snapshot-create" and e["result"] == "failed"))')"

# 4. Revert to s1: the confirmation says what is discarded; Enter confirms.
tui_keys k
tui_expect "k selects s1 (no description)" '\(no description\)'
tui_keys r
tui_expect "r asks first" '┌─ Revert to a snapshot '
want="Reverting VM 'g' to 's1' discards every change to its disks since then; the disks become as they were at 's1' (with its memory), and the VM stays off."
t_eq "the question is snapshot_revert_discards' sentence, whole" "$want" "$(box 'Revert to a snapshot')"
t_check "Enter confirms" _tui_has 'Enter / y +yes'
tui_keys Enter
tui_expect "the status line says g reverted" "VM 'g' reverted to snapshot 's1'; it is off\." 30
tui_expect "the tree marks s1 current" '^ ● s1 +[0-9-]+ [0-9:]+ +full +off '
t_check "and s2 no longer" _tui_has '^   └─ s2 '
t_eq "vmtty snapshot g list --json agrees" "s1:-:full:off:* s2:s1:full:off:" "$(snaps)"
t_eq "the journal has the revert" 1 "$("$VMTTY" log g --json | python3 -c '
import json, sys
print(sum(1 for e in json.load(sys.stdin) if e["action"] == "snapshot-revert" and e["result"] == "ok"))')"

# 5. Running: a full snapshot keeps the RAM; s3 beside s2 under s1.
t_status "start g" 0 "$VMTTY" start g
tui_keys C-l
tui_expect "the page sees g running" '^ Snapshots of VM g on local \(running\)' 20
create s3
tui_expect "s3 was taken" "VM 'g': snapshot 's3' taken \(full\)\." 60
tui_expect "s3 is the current one, taken while running" '^ ● └─ s3 +[0-9-]+ [0-9:]+ +full +running '
t_check "s2 above it is a sibling: a branch that goes on" _tui_has '^   ├─ s2 '
t_eq "vmtty agrees" "s1:-:full:off: s2:s1:full:off: s3:s1:full:running:*" "$(snaps)"
tui_keys k
tui_expect "k selects s2" '^ after the first'
tui_keys r
tui_expect "r asks" '┌─ Revert to a snapshot '
t_check "a revert of the running VM says its memory goes too" _box_has 'Revert to a snapshot' \
	"discards every change to its disks since then and what the running guest has in memory"
t_check "and that it ends powered off, as s2 was taken" _box_has 'Revert to a snapshot' \
	"the VM is powered off, as it was when the snapshot was taken."
tui_keys n
tui_wait_gone '┌─ Revert to a snapshot '
t_check "n cancels: the status line says nothing changed" _status_has 'Cancelled; nothing was changed\.'
t_eq "nothing changed" "s1:-:full:off: s2:s1:full:off: s3:s1:full:running:*" "$(snaps)"
t_eq "g runs on" running "$(vm_state g)"

# 6. A resize keeps the page whole; at 80x24 again too.
tui_resize 100 30
tui_expect "at 100x30 the tree is there" '^   ├─ s2 +[0-9-]+ [0-9:]+ +full +off '
tui_resize 80 24
tui_expect "back at 80x24 too" '^ ● └─ s3 +[0-9-]+ [0-9:]+ +full +running '
t_check "with the hints" _tui_has 'c Create +r Revert +d Delete'

tui_keys Escape
tui_expect "Esc goes back to the list" '^ +. g +running'

# 7. A VM on a raw disk: the refusal on the status line, nothing made.
tui_keys Home j j t
tui_expect "t on r opens its page" '^ Snapshots of VM r on local \(off\)'
create s1
tui_expect "a raw disk is refused, in one line" \
	"^VM 'r': disk '$D/r\.raw' is raw, and snapshots" 30
t_eq "r has no snapshot" "[]" "$("$VMTTY" snapshot r list --json | tr -d ' \n')"
t_check "the page says so too" _tui_has 'VM r has no snapshots; c creates one\.'
tui_keys q
tui_expect "q goes back to the list" '^ +. r +off'
tui_keys q
tui_expect "the TUI exits 0" '\[exited 0\]' 10
t_status "stop g" 0 "$VMTTY" poweroff g
t_summary
