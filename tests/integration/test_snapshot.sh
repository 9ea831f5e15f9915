#!/usr/bin/env bash
# Snapshots on the built-in backend with the tiny real guest booted from its
# qcow2 disk (TCG): a full snapshot of the running guest brings back its
# memory and its disk; a disk-only chain s1 -> s2 -> s3 keeps every file s3
# needs when s2 (the middle) goes; bad input changes nothing; a VM with
# snapshots is deleted only with them, and leaves no snapshot file.
source "$(dirname "$0")/lib.sh"

# world: what a refused operation must leave as it was: the inventory's view
# of the VMs and their snapshots, the files of the test dir with their sizes
# and times, and the internal snapshots of the disk.
world() {
	"$VMTTY" list --json
	for v in $("$VMTTY" list --json | python3 -c 'import json, sys; print(" ".join(v["name"] for v in json.load(sys.stdin)))'); do
		"$VMTTY" show "$v" --json; "$VMTTY" snapshot "$v" list --json
	done
	(cd "$D" && stat -c '%n %s %Y %a' * | sort)
	for f in "$D"/*.qcow2; do qemu-img snapshot -U -l "$f"; done
}
_running() { [ "$(vm_state "$1")" = running ]; }
_reads() { [ "$(gsh "$1" "$2")" = "$3" ]; }

D="$T_TMP/disks"
mkdir -p "$D"
cp "$GUEST/rootfs.qcow2" "$D/g.qcow2"
t_status "create g on its own qcow2 disk" 0 create_tiny g --disk "$D/g.qcow2" \
	--cmdline "console=ttyS0 vmtty.root=/dev/vda"
t_status "start g" 0 "$VMTTY" start g --wait-serial "GUEST READY" --timeout 90
t_match "booted from its disk" "ROOT=disk" "$(cat "$(serial_log g)")"

# 1. A full snapshot of the running guest: the shell variable and the file
# are back after the revert, in the same qemu.
t_eq "A written, X set in the guest's shell" "before" \
	"$(gsh g 'echo A > /root/f; sync; X=before; echo "@@""=$X@@"')"
t_status "snapshot g create s1 (running)" 0 "$VMTTY" snapshot g create s1 --description "A written"
t_eq "s1: full, of a running VM, the current one" "s1:-:full:running:*" "$(snaps g)"
t_match "the RAM is inside the disk (qemu-img sees the internal snapshot)" \
	"s1 +[1-9][0-9.]* MiB" "$(qemu-img snapshot -U -l "$D/g.qcow2")"
t_eq "B written, X changed" "B:after" \
	"$(gsh g 'echo B > /root/f; sync; X=after; echo "@@""=$(cat /root/f):$X@@"')"
pid=$(vm_pid g)
t_status "snapshot g revert s1" 0 "$VMTTY" snapshot g revert s1
t_eq "g runs on" running "$(vm_state g)"
t_eq "in the same qemu (the snapshot was loaded into it)" "$pid" "$(vm_pid g)"
t_check "the variable set before s1 holds and the file reads A" wait_for 30 _reads g \
	'echo "@@""=$X:$(cat /root/f)@@"' "before:A"
t_status "snapshot g list" 0 "$VMTTY" snapshot g list
t_match "the list marks s1 current, with its kind, state and description" \
	'^\* s1 +[0-9-]+ [0-9:]+ full running +[0-9.]+ MiB +A written$' "$T_OUT"

# 5. Bad input: one line, exit 1, nothing changed (inventory and files;
# g is paused meanwhile, so that its guest writes nothing either).
t_status "pause g" 0 "$VMTTY" pause g --wait
before=$(world)
bad() {
	local desc=$1 pattern=$2; shift 2
	t_status "$desc exits 1" 1 "$VMTTY" snapshot "$@"
	t_match "$desc: says why" "$pattern" "$T_ERR"
	t_eq "$desc: in one line" 1 "$(printf '%s\n' "$T_ERR" | wc -l)"
}
bad "a duplicate name" "^vmtty: VM 'g' already has a snapshot named 's1'; choose another name$" \
	g create s1
bad "a duplicate name, disk-only" "already has a snapshot named 's1'" g create s1 --disk-only
bad "a revert to a missing snapshot" "^vmtty: VM 'g' has no snapshot named 'nope'; 'vmtty snapshot g list' shows them$" \
	g revert nope
bad "a delete of a missing snapshot" "VM 'g' has no snapshot named 'nope'" g delete nope
bad "a name with a /" "snapshot name 'a/b' contains '/'" g create a/b
t_eq "nothing changed: inventory, files, internal snapshots" "$before" "$(world)"
t_status "snapshot g bogus is a usage error" 2 "$VMTTY" snapshot g bogus
t_status "create without a name is a usage error" 2 "$VMTTY" snapshot g create
t_status "--json goes with list only" 2 "$VMTTY" snapshot g create x --json
t_status "--children goes with delete only" 2 "$VMTTY" snapshot g revert s1 --children
qemu-img create -q -f raw "$D/r.raw" 64M
t_status "create r on a raw disk" 0 create_tiny r --disk "$D/r.raw"
before=$(world)
bad "a snapshot of a raw disk" "^vmtty: VM 'r': disk '$D/r.raw' is raw, and snapshots need qcow2 disks; convert it \(qemu-img convert -O qcow2\) or make it read-only$" \
	r create s1
bad "a disk-only snapshot of a raw disk" "disk '$D/r.raw' is raw" r create s1 --disk-only
t_eq "nothing changed" "$before" "$(world)"
t_status "resume g" 0 "$VMTTY" resume g --wait
t_status "the journal of r" 0 "$VMTTY" log r --json
t_eq "has both refusals as failed snapshot-create" 2 "$(printf '%s' "$T_OUT" | python3 -c '
import json, sys
print(sum(1 for e in json.load(sys.stdin) if e["action"] == "snapshot-create" and e["result"] == "failed"))')"

# 2. A disk-only chain d1 -> d2 -> d3 of the running VM, the file holding
# 1, 2, 3 at each; the VM goes on writing 4 on the top overlay.
for i in 1 2 3; do
	t_eq "wrote $i" "$i" "$(gsh g "echo $i > /root/f; sync; echo \"@@\"\"=\$(cat /root/f)@@\"")"
	t_status "snapshot g create d$i --disk-only (running)" 0 "$VMTTY" snapshot g create d$i --disk-only
done
gsh g 'echo 4 > /root/f; sync; echo "@@""=$?@@"' >/dev/null
t_eq "the tree: s1 -> d1 -> d2 -> d3, d3 current" \
	"s1:-:full:running: d1:s1:disk:running: d2:d1:disk:running: d3:d2:disk:running:*" "$(snaps g | tr '\n' ' ' | sed 's/ $//')"
t_eq "d1 keeps g.qcow2, d2 d1's overlay, d3 d2's" "$D/g.qcow2 $D/g.d1.qcow2 $D/g.d2.qcow2" \
	"$(files g d1) $(files g d2) $(files g d3)"
t_eq "the VM writes on d3's overlay" "$D/g.d3.qcow2" "$(disk_of g)"
t_eq "whose chain is d3 -> d2 -> d1 -> g" "g.d3.qcow2 g.d2.qcow2 g.d1.qcow2 g.qcow2" \
	"$(chain "$D/g.d3.qcow2")"
t_eq "every overlay is 0600" "600 600 600" "$(stat -c %a "$D"/g.d[123].qcow2 | tr '\n' ' ' | sed 's/ $//')"
t_status "snapshot g delete d2 (the middle, while g runs)" 0 "$VMTTY" snapshot g delete d2
t_eq "d3 now hangs under d1" "s1:-:full:running: d1:s1:disk:running: d3:d1:disk:running:*" \
	"$(snaps g | tr '\n' ' ' | sed 's/ $//')"
t_check "d2's file went (its data is in d3's)" test ! -e "$D/g.d1.qcow2"
t_check "every file d3 keeps is there" test -f "$(files g d3)" -a -f "$D/g.qcow2"
t_eq "the chain is consistent: d3's overlay -> d3's file -> g" "g.d3.qcow2 g.d2.qcow2 g.qcow2" \
	"$(chain "$D/g.d3.qcow2")"
t_check "qemu-img check finds nothing wrong with d3's file" qemu-img check -U -q "$D/g.d2.qcow2"
t_eq "the running guest still reads 4" 4 "$(gsh g 'echo "@@""=$(cat /root/f)@@"')"
t_status "snapshot g revert d3 (running: powered off, started again)" 0 "$VMTTY" snapshot g revert d3
t_check "g runs again" wait_state g running 30
t_check "booted again from the disk" wait_serial g "GUEST READY" 1 90
t_eq "and reads what it had at d3" 3 "$(gsh g 'echo "@@""=$(cat /root/f)@@"')"
new=$(disk_of g)
t_eq "on a new overlay on d3's file" "g.d3-2.qcow2 g.d2.qcow2 g.qcow2" "$(chain "$new")"
t_check "the overlay it left went (nothing needed it)" test ! -e "$D/g.d3.qcow2"

# The same with g stopped: qemu-img makes the overlays and merges.
t_status "poweroff g" 0 "$VMTTY" poweroff g --wait
t_status "snapshot g create e1 --disk-only (stopped)" 0 "$VMTTY" snapshot g create e1 --disk-only
t_status "snapshot g create e2 --disk-only (stopped)" 0 "$VMTTY" snapshot g create e2 --disk-only
t_eq "e1 and e2 of a stopped VM" "e1:d3:disk:off: e2:e1:disk:off:*" \
	"$(snaps g | grep '^e' | tr '\n' ' ' | sed 's/ $//')"
t_eq "0600 from birth" "600 600" "$(stat -c %a "$D"/g.e[12].qcow2 | tr '\n' ' ' | sed 's/ $//')"
t_status "snapshot g delete e1 (stopped)" 0 "$VMTTY" snapshot g delete e1
t_check "e1's file went" test ! -e "$new"
t_eq "e2's file stands on d3's now" "g.e1.qcow2 g.d2.qcow2 g.qcow2" "$(chain "$D/g.e1.qcow2")"
t_status "snapshot g revert e2 (stopped: stays off)" 0 "$VMTTY" snapshot g revert e2
t_eq "off" off "$(vm_state g)"
t_status "start g" 0 "$VMTTY" start g --wait-serial "GUEST READY" --timeout 90
t_eq "e2 has what g had at d3" 3 "$(gsh g 'echo "@@""=$(cat /root/f)@@"')"

# A full snapshot of the stopped VM (qemu-img snapshot -c / -a).
gsh g 'echo 5 > /root/f; sync; echo "@@""=$?@@"' >/dev/null
t_status "poweroff g" 0 "$VMTTY" poweroff g --wait
t_status "snapshot g create off1 (stopped)" 0 "$VMTTY" snapshot g create off1
t_status "start g" 0 "$VMTTY" start g --wait-serial "GUEST READY" --timeout 90
gsh g 'echo 6 > /root/f; sync; echo "@@""=$?@@"' >/dev/null
t_status "snapshot g revert off1 (running: it ends off, as off1 was taken)" 0 \
	"$VMTTY" snapshot g revert off1
t_eq "off" off "$(vm_state g)"
t_status "start g" 0 "$VMTTY" start g --wait-serial "GUEST READY" --timeout 90
t_eq "the file is as it was at off1" 5 "$(gsh g 'echo "@@""=$(cat /root/f)@@"')"
# A full snapshot deleted while the VM runs: QEMU's snapshot-delete job.
t_status "snapshot g create run2 (running)" 0 "$VMTTY" snapshot g create run2
t_match "run2 is inside the VM's top file" " run2 " "$(qemu-img snapshot -U -l "$(disk_of g)")"
t_status "snapshot g delete run2 (running)" 0 "$VMTTY" snapshot g delete run2
t_nomatch "and is gone from it" " run2 " "$(qemu-img snapshot -U -l "$(disk_of g)")"
t_eq "off1 is current again" "off1:e2:full:off:*" "$(snaps g | grep '^off1')"
t_status "poweroff g" 0 "$VMTTY" poweroff g --wait

# Deleting a VM with snapshots: refused unless asked, then nothing is left
# but its disk, which stands alone.
before=$(world)
t_status "delete g (it has snapshots)" 1 "$VMTTY" delete g
t_eq "names them, in tree order, and the way on" \
	"vmtty: VM 'g' has 5 snapshots ('s1', 'd1', 'd3', 'e2', 'off1'); delete them with it: vmtty delete g --snapshots" "$T_ERR"
t_eq "in one line" 1 "$(printf '%s\n' "$T_ERR" | wc -l)"
t_eq "nothing changed" "$before" "$(world)"
last=$(disk_of g)
t_status "delete g --snapshots" 0 "$VMTTY" delete g --snapshots
t_eq "g is gone" "" "$("$VMTTY" list --json | python3 -c 'import json, sys; print(" ".join(v["name"] for v in json.load(sys.stdin) if v["name"] == "g"))')"
t_eq "of its files only its disk is left (and r's)" "$(basename "$last") r.raw" \
	"$(cd "$D" && ls | tr '\n' ' ' | sed 's/ $//')"
t_eq "standing alone" "$(basename "$last")" "$(chain "$last")"
t_eq "with no internal snapshot" "" "$(qemu-img snapshot -U -l "$last")"
t_check "and whole" qemu-img check -q "$last"
t_status "journal" 0 "$VMTTY" log g --json
t_match "each snapshot operation journaled" '"action": "snapshot-delete"' "$T_OUT"
t_match "and the delete" '"message": "deleted with its snapshots' "$T_OUT"

# With --delete-disks too: no file at all.
cp "$GUEST/rootfs.qcow2" "$D/h.qcow2"
t_status "create h" 0 create_tiny h --disk "$D/h.qcow2"
t_status "snapshot h create a --disk-only" 0 "$VMTTY" snapshot h create a --disk-only
t_status "snapshot h create b" 0 "$VMTTY" snapshot h create b
t_status "delete h --snapshots --delete-disks" 0 "$VMTTY" delete h --snapshots --delete-disks
t_eq "no file of h is left" "" "$(cd "$D" && ls h* 2>/dev/null)"

# A full snapshot kept inside an overlay reads the data of the file below:
# merging that file away (deleting the disk-only snapshot) would empty it.
qemu-img create -q -f qcow2 "$D/u.qcow2" 16M
qemu-io -c 'write -P 0xaa 0 64k' "$D/u.qcow2" >/dev/null
t_status "create u" 0 "$VMTTY" create u --disk "$D/u.qcow2" --memory 64M
t_status "snapshot u create d1 --disk-only" 0 "$VMTTY" snapshot u create d1 --disk-only
t_status "snapshot u create f1 (full, inside d1's overlay)" 0 "$VMTTY" snapshot u create f1
before=$(world)
t_status "snapshot u delete d1 is refused" 1 "$VMTTY" snapshot u delete d1
t_match "naming f1, which would lose its data" "full snapshot 'f1' is kept inside '.*', which reads data of '$D/u.qcow2'.*delete snapshot 'f1' first" "$T_ERR"
t_eq "nothing changed" "$before" "$(world)"
t_status "snapshot u revert f1 still restores its data" 0 "$VMTTY" snapshot u revert f1
t_status "(0xaa at 0)" 0 qemu-io -r -U -c 'read -P 0xaa 0 64k' "$(disk_of u)"
# Deleting both (the VM with its snapshots) is fine: f1 goes first.
t_status "delete u --snapshots --delete-disks" 0 "$VMTTY" delete u --snapshots --delete-disks
t_eq "no file of u is left" "" "$(cd "$D" && ls u* 2>/dev/null)"

# A name of digits only is what QEMU takes for a snapshot ID.
cp "$GUEST/rootfs.qcow2" "$D/n.qcow2"
t_status "create n" 0 create_tiny n --disk "$D/n.qcow2"
t_status "snapshot n create 1 is refused" 1 "$VMTTY" snapshot n create 1
t_match "saying why" "snapshot name '1' is all digits, which QEMU takes for a snapshot ID" "$T_ERR"
t_eq "no snapshot was made" "" "$(qemu-img snapshot -U -l "$D/n.qcow2")"
t_status "delete n --delete-disks" 0 "$VMTTY" delete n --delete-disks

t_summary
