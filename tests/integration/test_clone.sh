#!/usr/bin/env bash
# Clones on the built-in backend with the tiny real guest booted from its
# qcow2 disk (TCG): a full and a linked clone of a stopped VM boot side by
# side with the original, each with its own UUID, MAC and data; the clone's
# cloud-init seed has its own instance-id and host name; deleting the
# original (or the snapshot a linked clone stands on) is refused naming the
# clone; bad input and a Ctrl-C during the copy change nothing.
source "$(dirname "$0")/lib.sh"

# field VM EXPR: a field of `vmtty show VM --json` (EXPR on d).
field() {
	"$VMTTY" show "$1" --json | python3 -c "import json, sys; d = json.load(sys.stdin); print($2)"
}
mac_of() { "$VMTTY" show "$1" --argv | grep -o 'mac=[0-9a-f:]*' | head -1 | cut -d= -f2; }
chain() {
	qemu-img info -U --backing-chain --output=json "$1" | python3 -c '
import json, os, sys
print(" ".join(os.path.basename(i["filename"]) for i in json.load(sys.stdin)))'
}
IMAGES="$XDG_DATA_HOME/vmtty/images"
# world: what a refused clone or delete must leave as it was.
world() {
	"$VMTTY" list --json
	for v in $("$VMTTY" list --json | python3 -c 'import json, sys; print(" ".join(v["name"] for v in json.load(sys.stdin)))'); do
		"$VMTTY" show "$v" --json; "$VMTTY" snapshot "$v" list --json
	done
	find "$D" "$XDG_DATA_HOME" -type f ! -name 'inventory*' -printf '%p %s %T@ %m\n' 2>/dev/null | sort
}
# refused DESC PATTERN ARGS...: one line, exit 1, nothing changed.
refused() {
	local desc=$1 pattern=$2 before
	shift 2
	before=$(world)
	t_status "$desc exits 1" 1 "$VMTTY" "$@"
	t_match "$desc: says why" "$pattern" "$T_ERR"
	t_eq "$desc: in one line" 1 "$(printf '%s\n' "$T_ERR" | wc -l)"
	t_eq "$desc: nothing changed" "$before" "$(world)"
}

D="$T_TMP/disks"
mkdir -p "$D"
cp "$GUEST/rootfs.qcow2" "$D/g.qcow2"
t_status "create g on its own qcow2 disk, with a cloud-init seed" 0 create_tiny g \
	--disk "$D/g.qcow2" --cmdline "console=ttyS0 vmtty.root=/dev/vda" --user bob --hostname g-host
t_status "start g" 0 "$VMTTY" start g --wait-serial "GUEST READY" --timeout 90
t_eq "g writes ORIG on its disk" ORIG "$(gsh g 'echo ORIG > /root/f; sync; echo "@@""=$(cat /root/f)@@"')"

# A running VM is not cloned (its disks change under the copy).
# (The world is not compared here: the running guest may write its disk.)
for how in --full --linked; do
	t_status "a clone $how of a running VM exits 1" 1 "$VMTTY" clone g c9 $how
	t_match "saying why, in one line" "^vmtty: VM 'g' is running; shut it down first \(or clone one of its snapshots with --snapshot NAME\)\$" "$T_ERR"
	t_check "nothing made" test ! -e "$IMAGES/c9"
	t_eq "no VM c9" "g" "$("$VMTTY" list --json | python3 -c 'import json, sys; print(" ".join(v["name"] for v in json.load(sys.stdin)))')"
done
t_eq "g took no snapshot" "" "$("$VMTTY" snapshot g list --json | python3 -c 'import json, sys; print(" ".join(s["name"] for s in json.load(sys.stdin)))')"
t_status "shut g down" 0 "$VMTTY" shutdown g --wait --timeout 60

# The full clone (the default), then the linked one.
t_status "clone g c1 (full)" 0 "$VMTTY" clone g c1 --progress
t_match "--progress says how far the copy is" "Copying disk 1 of 1: 100%" "$T_OUT"
t_eq "c1 has its own copy of the disk and a seed" \
	"$IMAGES/c1/c1.qcow2 qcow2 True $IMAGES/c1/c1-seed.iso cdrom True" \
	"$(field c1 '" ".join("%s %s %s" % (x["path"], x["format"] if x["media"] == "disk" else x["media"], x["owned"]) for x in d["disks"])')"
t_eq "a copy standing alone" "c1.qcow2" "$(chain "$IMAGES/c1/c1.qcow2")"
t_eq "0600 from birth" "600 600" "$(stat -c %a "$IMAGES/c1/c1.qcow2" "$IMAGES/c1/c1-seed.iso" | tr '\n' ' ' | sed 's/ $//')"
t_status "clone g c2 --linked" 0 "$VMTTY" clone g c2 --linked
t_match "it says g moved onto an overlay" "note: VM 'g' now runs on overlay '$D/g.clone-c2.qcow2'; its snapshot 'clone-c2' keeps the disk linked clone 'c2' stands on" "$T_ERR"
t_eq "g runs on its overlay over its former disk" "g.clone-c2.qcow2 g.qcow2" "$(chain "$(field g 'd["disks"][0]["path"]')")"
t_eq "c2's disk is an overlay on the same frozen file" "c2.qcow2 g.qcow2" "$(chain "$IMAGES/c2/c2.qcow2")"
t_eq "which g's snapshot clone-c2 keeps" "clone-c2 disk $D/g.qcow2" "$("$VMTTY" snapshot g list --json | python3 -c '
import json, sys
for s in json.load(sys.stdin): print(s["name"], s["kind"], s["files"][0])')"

# Identity: UUID, MAC, cloud-init instance-id and host name.
u0=$(vm_uuid g) u1=$(vm_uuid c1) u2=$(vm_uuid c2)
t_check "three different UUIDs" test "$u0" != "$u1" -a "$u0" != "$u2" -a "$u1" != "$u2"
m0=$(mac_of g) m1=$(mac_of c1) m2=$(mac_of c2)
t_check "three different MACs on qemu's command lines ($m0 $m1 $m2)" \
	test -n "$m0" -a "$m0" != "$m1" -a "$m0" != "$m2" -a "$m1" != "$m2"
for v in c1 c2; do
	iso="$IMAGES/$v/$v-seed.iso"
	t_match "$v's seed says instance-id = its UUID" "^instance-id: $(vm_uuid $v)\$" \
		"$(isoinfo -R -i "$iso" -x /meta-data)"
	t_match "and host name $v" "^local-hostname: \"$v\"\$" "$(isoinfo -R -i "$iso" -x /meta-data)"
	ud=$(isoinfo -R -i "$iso" -x /user-data)
	t_match "$v's user-data has host name $v" "^hostname: \"$v\"\$" "$ud"
	t_match "and keeps the user of g's" "name: \"bob\"" "$ud"
done
t_match "g's seed is as it was" "^hostname: \"g-host\"\$" "$(isoinfo -R -i "$IMAGES/g/g-seed.iso" -x /user-data)"

# The three side by side.
for v in g c1 c2; do
	t_status "start $v" 0 "$VMTTY" start $v
done
for v in g c1 c2; do
	t_check "$v booted from its disk" wait_serial $v "GUEST READY" 1 120
	t_eq "$v reads what g wrote before" ORIG "$(gsh $v 'echo "@@""=$(cat /root/f)@@"')"
	t_eq "$v's guest sees its own MAC" "$(mac_of $v)" "$(gsh $v 'echo "@@""=$(cat /sys/class/net/eth0/address)@@"')"
	t_eq "$v's guest sees its own UUID" "$(vm_uuid $v)" "$(gsh $v 'echo "@@""=$(cat /sys/class/dmi/id/product_uuid)@@"')"
done
t_eq "c2 writes on its overlay" C2 "$(gsh c2 'echo C2 > /root/f; sync; echo "@@""=$(cat /root/f)@@"')"
t_eq "g does not see it" ORIG "$(gsh g 'echo "@@""=$(cat /root/f)@@"')"
for v in g c1 c2; do
	t_status "poweroff $v" 0 "$VMTTY" poweroff $v --wait
done

# Deleting what the linked clone stands on: refused, naming it.
refused "deleting g" "^vmtty: VM 'g' cannot be deleted: linked clone 'c2' needs '$D/g.qcow2', a file of snapshot 'clone-c2' \(the backing file of its disk '$IMAGES/c2/c2.qcow2'\); delete VM 'c2' first\$" \
	delete g
refused "deleting g with its snapshots and disks" "VM 'g' cannot be deleted: linked clone 'c2' needs" \
	delete g --snapshots --delete-disks
refused "deleting the snapshot c2 stands on" "^vmtty: snapshot 'clone-c2' of VM 'g' cannot be deleted: linked clone 'c2' needs '$D/g.qcow2'" \
	snapshot g delete clone-c2

# Bad input.
refused "a clone to a taken name" "^vmtty: a VM named 'c1' already exists on host 'local'; choose another name\$" \
	clone g c1
refused "a clone to a taken name, linked" "already exists" clone g c1 --linked
refused "a clone from a missing snapshot" "VM 'g' has no snapshot named 'nope'" clone g c9 --snapshot nope
refused "a clone to a name that is no host name (the seed)" "VM name 'c_9' is not a host name" clone g c_9
t_status "--linked and --full together is a usage error" 2 "$VMTTY" clone g c9 --linked --full
qemu-img create -q -f raw "$D/r.raw" 16M
t_status "create r on a raw disk" 0 create_tiny r --disk "$D/r.raw"
refused "a linked clone of a raw disk" "^vmtty: VM 'r': disk '$D/r.raw' is raw, and a linked clone stands on qcow2 disks; use --full" \
	clone r r2 --linked
t_status "snapshot g create full1 (internal)" 0 "$VMTTY" snapshot g create full1
refused "a linked clone from a full snapshot" "snapshot 'full1' of VM 'g' is a full one.*use --full" \
	clone g c9 --linked --snapshot full1
t_status "a full clone from it" 0 "$VMTTY" clone g c3 --snapshot full1
t_eq "c3 stands alone" "c3.qcow2" "$(chain "$IMAGES/c3/c3.qcow2")"
t_status "snapshot g delete full1" 0 "$VMTTY" snapshot g delete full1
t_status "a linked clone on the existing disk-only snapshot clone-c2" 0 "$VMTTY" clone g c4 --linked --snapshot clone-c2
t_eq "c4 stands on the same frozen file" "c4.qcow2 g.qcow2" "$(chain "$IMAGES/c4/c4.qcow2")"
t_eq "g took no new snapshot for it" "clone-c2" "$("$VMTTY" snapshot g list --json | python3 -c 'import json, sys; print(" ".join(s["name"] for s in json.load(sys.stdin)))')"

# A libvirt host (the test driver; full clones there:
# test_clone_libvirt.sh): a running domain and a linked clone are refused.
t_status "add libvirt test host lab" 0 "$VMTTY" host add lab test:///default
t_status "its domains are listed" 0 "$VMTTY" list --host lab
refused "a clone of a running domain on a libvirt host" "^vmtty: VM 'test' is running; shut it down first\$" \
	clone lab/test test2
refused "a linked clone on a libvirt host" "^vmtty: VM 'test' is on libvirt host 'lab': linked clones are made on built-in hosts only; use --full" \
	clone lab/test test2 --linked
t_status "remove host lab" 0 "$VMTTY" host rm lab

# The journal of both.
t_match "g's journal has the clones" "cloned to VM 'c2' \(linked, on snapshot 'clone-c2'\)" "$("$VMTTY" log g)"
t_match "c1's says where it came from" "cloned from VM 'g' \(full copy\)" "$("$VMTTY" log c1)"

# Ctrl-C while the disk is copied: qemu-img stops, nothing is left.  Its
# own rate limit (convert -r) slows the copy.
head -c 32M /dev/urandom >"$D/big.raw"
t_status "create big on a 32 MiB raw disk" 0 "$VMTTY" create big --disk "$D/big.raw"
printf '#!/bin/sh\nif [ "$1" = convert ]; then shift; exec qemu-img convert -r 2M "$@"; fi\nexec qemu-img "$@"\n' \
	>"$T_TMP/slow-qemu-img"
chmod 755 "$T_TMP/slow-qemu-img"
before=$(world)
VMTTY_QEMU_IMG="$T_TMP/slow-qemu-img" "$VMTTY" clone big k9 >"$T_TMP/k9.out" 2>&1 &
k9=$!
_copying() { pgrep -f "qemu-img convert -r 2M .*big.raw $IMAGES/k9/k9.qcow2" >/dev/null; }
t_check "qemu-img is copying k9's disk" wait_for 10 _copying
kill -INT "$k9"
wait "$k9"
t_eq "clone exits 1 on SIGINT" 1 "$?"
t_eq "saying nothing was made" "vmtty: VM 'k9': the clone was cancelled; nothing was made" "$(cat "$T_TMP/k9.out")"
t_check "qemu-img was stopped" wait_for 5 eval '! _copying'
t_check "no images/k9 left" test ! -e "$IMAGES/k9"
t_eq "nothing changed" "$before" "$(world)"
t_status "the next vmtty has nothing to take back" 0 "$VMTTY" list
t_eq "and says nothing" "" "$T_ERR"

# The clone goes with its overlay only; then the snapshot it stood on,
# then g.
t_status "delete c2 --delete-disks" 0 "$VMTTY" delete c2 --delete-disks
t_check "its overlay and seed are gone" test ! -e "$IMAGES/c2"
t_check "the file it stood on is still there" test -f "$D/g.qcow2"
refused "the snapshot c4 still stands on" "linked clone 'c4' needs '$D/g.qcow2'" snapshot g delete clone-c2
t_status "delete c4 --delete-disks" 0 "$VMTTY" delete c4 --delete-disks
t_status "now snapshot clone-c2 goes (merged into g's overlay)" 0 "$VMTTY" snapshot g delete clone-c2
t_eq "g's disk stands alone" "g.clone-c2.qcow2" "$(chain "$(field g 'd["disks"][0]["path"]')")"
t_status "start g" 0 "$VMTTY" start g --wait-serial "GUEST READY" --timeout 90
t_eq "g still reads ORIG" ORIG "$(gsh g 'echo "@@""=$(cat /root/f)@@"')"
t_status "poweroff g" 0 "$VMTTY" poweroff g --wait
for v in g c1 c3 r big; do
	t_status "delete $v --delete-disks" 0 "$VMTTY" delete $v --delete-disks
done
t_eq "no file of a VM is left but the disks it was given" "" \
	"$(find "$IMAGES" -type f 2>/dev/null)"

t_summary
