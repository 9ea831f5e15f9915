#!/usr/bin/env bash
# kill -9 of `vmtty snapshot VM create NAME` while it runs on a running
# built-in VM: the next vmtty settles what the killed one left, so that the
# inventory and the disks agree again, and journals it.
#   1. full: QEMU's snapshot-save job finished, the inventory had no row
#      yet: the snapshot is recorded.
#   2. disk-only, killed while its overlay was being made (QEMU not moved
#      onto it): the overlay goes, the VM stays on its disk.
#   3. disk-only, killed after QEMU moved onto the overlay, before the
#      inventory knew: the snapshot is recorded and the VM's disk is the
#      overlay it writes to.
# The vmtty to be killed is held in the window every time: a stand-in
# qemu-img (VMTTY_QEMU_IMG) waits, after one of its runs, until this test
# holds the inventory's write lock, which it takes once the snapshot is
# recorded as under way; the vmtty's next write (the snapshot's record)
# then waits too.
source "$(dirname "$0")/lib.sh"

tags() { qemu-img snapshot -U -l "$1" | awk 'NR > 2 { print $2 }' | tr '\n' ' ' | sed 's/ $//'; }
_has_tag() { [[ " $(tags "$1") " == *" $2 "* ]]; }
# (By the pid: any vmtty run would settle what the killed one left.)
_qemu_opened() { ls -l "/proc/$1/fd" 2>/dev/null | grep -q -- "$2"; }
_exists() { [ -e "$1" ]; }
_reads() { [ "$(gsh "$1" "$2")" = "$3" ]; }
journal_of() { "$VMTTY" log "$1" 2>&1; }

# hold_inventory NAME [overlays]: in the background, wait (30 s at most) for
# the inventory's record of snapshot NAME being taken (with its overlays
# named, if asked), then hold the inventory's write lock until
# $T_TMP/release exists; $T_TMP/held says it is held.
hold_inventory() {
	rm -f "$T_TMP/held" "$T_TMP/release"
	python3 - "$VMTTY_DB" "$1" "${2:-}" "$T_TMP" <<'EOF' &
import os, sqlite3, sys, time
db, name, overlays, tmp = sys.argv[1:5]
con = sqlite3.connect(db, isolation_level=None, timeout=10)
deadline = time.time() + 30
while True:
    try:
        q = "SELECT count(*) FROM snapshot_intents WHERE name = ?"
        if overlays:
            q += " AND overlays IS NOT NULL"
        if con.execute(q, (name,)).fetchone()[0] > 0:
            break
    except sqlite3.OperationalError:
        pass
    if time.time() > deadline:
        sys.exit(1)
    time.sleep(0.02)
con.execute("BEGIN IMMEDIATE")
open(os.path.join(tmp, "held"), "w").close()
deadline = time.time() + 60
while not os.path.exists(os.path.join(tmp, "release")) and time.time() < deadline:
    time.sleep(0.02)
con.execute("ROLLBACK")
EOF
	HOLDER=$!
}
release_inventory() { touch "$T_TMP/release"; wait "$HOLDER" 2>/dev/null; }
t_on_exit 'touch "$T_TMP/release"'
# GATE=SUBCOMMAND: after running it, wait for $T_TMP/held (30 s at most);
# HANG=SUBCOMMAND: after running it, say so in $T_TMP/made and hang.
cat >"$T_TMP/gate-qemu-img" <<EOF
#!/bin/sh
qemu-img "\$@"; rc=\$?
if [ "\$1" = "\$GATE" ]; then
	i=0
	while [ ! -e "$T_TMP/held" ] && [ \$i -lt 600 ]; do sleep 0.05; i=\$((i + 1)); done
fi
if [ "\$1" = "\$HANG" ]; then echo \$\$ >"$T_TMP/made"; exec sleep 60; fi
exit \$rc
EOF
chmod 755 "$T_TMP/gate-qemu-img"

D="$T_TMP/disks"
mkdir -p "$D"
cp "$GUEST/rootfs.qcow2" "$D/g.qcow2"
t_status "create g on its own qcow2 disk" 0 create_tiny g --disk "$D/g.qcow2" \
	--cmdline "console=ttyS0 vmtty.root=/dev/vda"
t_status "start g" 0 "$VMTTY" start g --wait-serial "GUEST READY" --timeout 90
t_eq "the guest's shell answers" "A" "$(gsh g 'echo A > /root/f; sync; echo "@@""=$(cat /root/f)@@"')"

# 1. Full: killed once QEMU has the snapshot and before the inventory does.
qpid=$(vm_pid g)
hold_inventory s1
GATE=info VMTTY_QEMU_IMG="$T_TMP/gate-qemu-img" "$VMTTY" snapshot g create s1 >/dev/null 2>&1 &
k=$!
t_check "the snapshot is recorded as under way, and the inventory held" wait_for 30 _exists "$T_TMP/held"
t_check "QEMU's snapshot-save wrote s1 into the disk" wait_for 60 _has_tag "$D/g.qcow2" s1
{ kill -KILL "$k"; wait "$k"; } 2>/dev/null
release_inventory
t_status "the next vmtty (snapshot g list) runs" 0 "$VMTTY" snapshot g list
t_eq "it says the snapshot was interrupted and recorded" \
	"vmtty: snapshot s1 of VM 'g' interrupted; QEMU had taken it: recorded" "$T_ERR"
t_eq "the inventory has s1 (full, running, current)" "s1:-:full:running:*" "$(snaps g)"
t_eq "and so has the disk, once" "s1" "$(tags "$D/g.qcow2")"
t_eq "s1 keeps the disk" "$D/g.qcow2" "$(files g s1)"
t_match "the journal names the interruption" "snapshot s1 of VM 'g' interrupted" "$(journal_of g)"
t_eq "g still runs" running "$(vm_state g)"
t_check "and its console answers" wait_for 30 _reads g 'echo "@@""=$(cat /root/f)@@"' A
t_status "a second vmtty has nothing left to settle" 0 "$VMTTY" list
t_eq "and says nothing" "" "$T_ERR"
t_status "the recorded s1 deletes like any other" 0 "$VMTTY" snapshot g delete s1
t_eq "leaving no internal snapshot" "" "$(tags "$D/g.qcow2")"
t_status "a new snapshot create s1 succeeds" 0 "$VMTTY" snapshot g create s1
t_eq "s1 again, once in the disk" "s1:-:full:running:* | s1" "$(snaps g) | $(tags "$D/g.qcow2")"

# 2. Disk-only, killed while its overlay is made (qemu-img is held there
# through VMTTY_QEMU_IMG): QEMU never moved onto it.
rm -f "$T_TMP/made"
HANG=create VMTTY_QEMU_IMG="$T_TMP/gate-qemu-img" "$VMTTY" snapshot g create s2 --disk-only \
	>/dev/null 2>&1 &
k=$!
t_check "the overlay of s2 was made" wait_for 30 _exists "$T_TMP/made"
t_check "it is g.s2.qcow2" test -f "$D/g.s2.qcow2"
{ kill -KILL "$k"; wait "$k"; } 2>/dev/null
kill -KILL "$(cat "$T_TMP/made")" 2>/dev/null
t_check "QEMU does not use it" eval '! _qemu_opened "$qpid" g.s2.qcow2'
t_status "the next vmtty (snapshot g list) runs" 0 "$VMTTY" snapshot g list
t_eq "it says the snapshot was interrupted and cleaned up" \
	"vmtty: snapshot s2 of VM 'g' interrupted; its unused overlay file removed: cleaned up" "$T_ERR"
t_check "the overlay is gone" test ! -e "$D/g.s2.qcow2"
t_eq "the inventory has no s2" "s1:-:full:running:*" "$(snaps g)"
t_eq "g stays on its disk" "$D/g.qcow2" "$(disk_of g)"
t_match "the journal names the interruption" "snapshot s2 of VM 'g' interrupted" "$(journal_of g)"
t_check "g's console answers" wait_for 30 _reads g 'echo B > /root/f; sync; echo "@@""=$(cat /root/f)@@"' B
t_status "a new snapshot create s2 --disk-only succeeds" 0 "$VMTTY" snapshot g create s2 --disk-only
t_eq "g now writes to s2's overlay" "$D/g.s2.qcow2" "$(disk_of g)"

# 3. Disk-only, killed after QEMU moved the disk onto the overlay.
hold_inventory s3 overlays
GATE=create VMTTY_QEMU_IMG="$T_TMP/gate-qemu-img" "$VMTTY" snapshot g create s3 --disk-only \
	>/dev/null 2>&1 &
k=$!
t_check "the overlay of s3 is recorded, and the inventory held" wait_for 30 _exists "$T_TMP/held"
t_check "QEMU opened it (the disk moved)" wait_for 30 _qemu_opened "$qpid" g.s3.qcow2
{ kill -KILL "$k"; wait "$k"; } 2>/dev/null
release_inventory
t_eq "the inventory did not know yet" "$D/g.s2.qcow2" "$(sqlite3 "$VMTTY_DB" \
	"SELECT path FROM disks WHERE vm_id = (SELECT id FROM vms WHERE name = 'g')")"
t_status "the next vmtty (snapshot g list) runs" 0 "$VMTTY" snapshot g list
t_eq "it says the snapshot was interrupted and recorded" \
	"vmtty: snapshot s3 of VM 'g' interrupted; QEMU had moved its disks onto the overlays: recorded" "$T_ERR"
t_eq "the tree: s1 -> s2 -> s3, s3 current" \
	"s1:-:full:running: s2:s1:disk:running: s3:s2:disk:running:*" "$(snaps g | tr '\n' ' ' | sed 's/ $//')"
t_eq "g's disk is the overlay its qemu writes to" "$D/g.s3.qcow2" "$(disk_of g)"
t_eq "s3 keeps s2's overlay" "$D/g.s2.qcow2" "$(files g s3)"
t_eq "the chain is consistent" "g.s3.qcow2 g.s2.qcow2 g.qcow2" "$(chain "$D/g.s3.qcow2")"
t_match "the journal names the interruption" "snapshot s3 of VM 'g' interrupted" "$(journal_of g)"
t_check "g's console answers" wait_for 30 _reads g 'echo C > /root/f; sync; echo "@@""=$(cat /root/f)@@"' C
t_status "revert to s3 (g restarts on a new overlay)" 0 "$VMTTY" snapshot g revert s3
t_check "g runs again" wait_state g running 30
t_check "booted again from the disk" wait_serial g "GUEST READY" 1 90
t_eq "and reads what it had at s3" B "$(gsh g 'echo "@@""=$(cat /root/f)@@"')"
t_status "a new snapshot create s4 succeeds" 0 "$VMTTY" snapshot g create s4 --disk-only

t_status "poweroff g" 0 "$VMTTY" poweroff g --wait
t_status "delete g with its snapshots and disks" 0 "$VMTTY" delete g --snapshots --delete-disks
t_eq "no snapshot file is left" "" "$(cd "$D" && ls)"

t_summary
