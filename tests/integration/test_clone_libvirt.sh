#!/usr/bin/env bash
# Full clones on a real private libvirtd (tiny guest on a qcow2 volume,
# TCG): `vmtty clone lv/g c1 --full` copies each writable disk into a new
# volume of its pool and defines the clone from g's own definition: a new
# name, UUID and MAC, its disk on the copy, and everything else of g's
# definition kept (title, description, a channel, the serial log named
# after it).  The clone boots from its copy.  A VM made by vmtty with a
# cloud-init seed gets a new seed volume (instance-id, host name).  Refused
# in one line with nothing changed: a running source, a taken name (in the
# inventory, or only on the host), a linked clone, a disk in no pool.  A
# failure mid-way (the second disk's pool is full) and a Ctrl-C leave no
# volume and no domain.
source "$(dirname "$0")/libvirtd.sh"

one_line() { [ -n "$1" ] && [ "$(printf '%s\n' "$1" | wc -l)" = 1 ]; }
vols() { libvirtd_virsh vol-list "$1" 2>/dev/null | awk 'NF { print $1 }' | sort | tr '\n' ' '; }
doms() { libvirtd_virsh list --all --name | sed '/^$/d' | sort | tr '\n' ' '; }
names() { "$VMTTY" list --json | python3 -c 'import json, sys; print(" ".join(sorted(v["host"] + "/" + v["name"] for v in json.load(sys.stdin))))'; }
# world: what a refused or failed clone must leave as it was.
world() {
	echo "images: $(vols images)"
	echo "small: $(vols small)"
	echo "domains: $(doms)"
	echo "inventory: $(names)"
	for d in $(doms); do libvirtd_virsh dumpxml "$d" --inactive; done
}
# refused DESC PATTERN ARGS...: one line, exit 1, nothing changed.
refused() {
	local desc=$1 pattern=$2 before
	shift 2
	before=$(world)
	t_status "$desc exits 1" 1 "$VMTTY" "$@"
	t_match "$desc: says why" "$pattern" "$T_ERR"
	t_check "$desc: in one line" one_line "$T_ERR"
	t_eq "$desc: nothing changed (volumes, domains, inventory)" "$before" "$(world)"
}
# dump DOM...: keep each DOM's inactive definition for xp.
dump() { local d; for d; do libvirtd_virsh dumpxml "$d" --inactive >"$T_TMP/$d.now.xml"; done; }
# xp DOM PATH: the values PATH selects (ElementTree) in DOM's definition
# as dump kept it.
xp() {
	python3 -c '
import sys, xml.etree.ElementTree as E
r = E.fromstring(sys.stdin.read())
p = sys.argv[1]
if "@" in p:
    path, a = p.rsplit("/@", 1)
    print(" ".join(e.get(a, "") for e in r.findall(path)))
else:
    print(" ".join((e.text or "") for e in r.findall(p)))' "$2" <"$T_TMP/$1.now.xml"
}

libvirtd_start clone
t_check "pool 'images'" libvirtd_pool images
disk=$(libvirtd_vol_copy images g.qcow2 "$GUEST/rootfs.qcow2")
# g: the tiny guest with what vmtty never writes itself: a title, a
# description, a guest agent channel, a NIC with its own MAC.
tiny_domain_xml g 256 "$disk" | sed \
	-e "s|^  <name>g</name>|&\n  <title>tiny \\&amp; fast</title>\n  <description>kept by clones</description>|" \
	-e "s|^    <memballoon|    <interface type='user'>\n      <mac address='52:54:00:aa:bb:01'/>\n      <model type='virtio'/>\n    </interface>\n    <channel type='unix'>\n      <target type='virtio' name='org.qemu.guest_agent.0'/>\n    </channel>\n&|" \
	>"$T_TMP/g.xml"
t_check "define g on its qcow2 volume" libvirtd_virsh define "$T_TMP/g.xml"
t_status "host add lv" 0 "$VMTTY" host add lv "$LIBVIRTD_URI"
t_status "vmtty list finds g" 0 "$VMTTY" list --host lv

# A running source is refused.
t_check "start g (virsh)" libvirtd_virsh start g
refused "a clone of running g" "^vmtty: VM 'g' is running; shut it down first\$" clone lv/g c1 --full
t_check "destroy g" libvirtd_virsh destroy g
t_check "g is off" libvirtd_wait_state g "shut off" 20

# The clone.
gxml_before=$(libvirtd_virsh dumpxml g --inactive)
t_status "clone lv/g c1 --full" 0 "$VMTTY" clone lv/g c1 --full --progress
t_match "it says so" "^VM c1 cloned from g \(full copy\)\$" "$(printf '%s\n' "$T_OUT" | tail -n 1)"
t_match "--progress tells the copy" "Copying disk 1 of 1: 100%" "$T_OUT"
t_eq "a new volume in g's pool" "c1.qcow2 g.qcow2 " "$(vols images)"
t_eq "in g's format, of g's capacity" \
	"$(libvirtd_virsh vol-dumpxml g.qcow2 --pool images | grep -E '<capacity|<format')" \
	"$(libvirtd_virsh vol-dumpxml c1.qcow2 --pool images | grep -E '<capacity|<format')"
t_eq "0600 from birth" "600" "$(stat -c %a "$(libvirtd_host_path "$(libvirtd_pool_path images)")/c1.qcow2")"
t_eq "g's definition did not change" "$gxml_before" "$(libvirtd_virsh dumpxml g --inactive)"
dump g c1
t_eq "the names" "g c1" "$(xp g ./name) $(xp c1 ./name)"
u0=$(xp g ./uuid) u1=$(xp c1 ./uuid)
t_check "different UUIDs ($u0 $u1)" test -n "$u1" -a "$u0" != "$u1"
t_eq "the inventory has c1 by the host's UUID" "$u1" "$("$VMTTY" show lv/c1 --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["uuid"])')"
m0=$(xp g ./devices/interface/mac/@address) m1=$(xp c1 ./devices/interface/mac/@address)
t_check "a new MAC for c1's NIC ($m0 $m1)" test "$m0" = 52:54:00:aa:bb:01 -a -n "$m1" -a "$m1" != "$m0"
t_eq "c1's disk is its copy" "$(libvirtd_pool_path images)/c1.qcow2" "$(xp c1 ./devices/disk/source/@file)"
t_eq "g's is its own" "$disk" "$(xp g ./devices/disk/source/@file)"
t_eq "title and description kept" "tiny & fast / kept by clones" "$(xp c1 ./title) / $(xp c1 ./description)"
t_eq "the channel kept" "org.qemu.guest_agent.0" "$(xp c1 ./devices/channel/target/@name)"
t_eq "kernel, initrd and command line kept" "$(xp g ./os/kernel) $(xp g ./os/initrd) $(xp g ./os/cmdline)" \
	"$(xp c1 ./os/kernel) $(xp c1 ./os/initrd) $(xp c1 ./os/cmdline)"
t_eq "the serial log named after c1" "/var/log/libvirt/qemu/c1-serial0.log" "$(xp c1 ./devices/serial/log/@file)"
t_eq "otherwise the same definition (name, uuid, mac, disk, log aside)" \
	"$(libvirtd_virsh dumpxml g --inactive | grep -vE '<name>|<uuid>|<mac |<source file|<log file')" \
	"$(libvirtd_virsh dumpxml c1 --inactive | grep -vE '<name>|<uuid>|<mac |<source file|<log file')"
t_status "journal of g" 0 "$VMTTY" log lv/g
t_match "says it was cloned" "cloned to VM 'c1' \(full copy\)" "$T_OUT"
t_status "the next vmtty has nothing to take back" 0 "$VMTTY" list
t_eq "and says nothing" "" "$T_ERR"

# c1 boots from its copy (g stays off: one TCG guest at a time).
glog=$(cat "$(libvirtd_serial_log g)" 2>/dev/null)
t_status "start lv/c1" 0 "$VMTTY" start lv/c1
t_check "c1 boots from its disk" libvirtd_wait_serial c1 "ROOT=disk" 90
t_check "and is ready" libvirtd_wait_serial c1 "GUEST READY" 30
t_eq "g's serial log did not change" "$glog" "$(cat "$(libvirtd_serial_log g)" 2>/dev/null)"
refused "a clone of running c1" "^vmtty: VM 'c1' is running; shut it down first\$" clone lv/c1 c9 --full
t_check "destroy c1" libvirtd_virsh destroy c1

# Bad input: one line, exit 1, nothing changed.
refused "a clone to a taken name" "^vmtty: a VM named 'c1' already exists on host 'lv'; choose another name\$" \
	clone lv/g c1 --full
# A name the host has and the inventory does not know yet (no list since).
tiny_domain_xml other 64 >"$T_TMP/other.xml"
vb=$(vols images)
t_check "define a domain 'other' behind vmtty's back" libvirtd_virsh define "$T_TMP/other.xml"
t_status "a clone to a name only the host has yet exits 1" 1 "$VMTTY" clone lv/g other
t_match "says why, in one line" "^vmtty: host 'lv' has a domain named 'other' already; choose another name\$" "$T_ERR"
t_eq "no volume made" "$vb" "$(vols images)"
t_eq "no domain made" "c1 g other " "$(doms)"
refused "a linked clone" \
	"^vmtty: VM 'g' is on libvirt host 'lv': linked clones are made on built-in hosts only; use --full" \
	clone lv/g c9 --linked
refused "a clone of a snapshot" "clones of a snapshot are made on built-in hosts only" \
	clone lv/g c9 --snapshot s1
mkdir -p "$T_TMP/nopool"
cp "$GUEST/rootfs.qcow2" "$T_TMP/nopool/x.qcow2"
tiny_domain_xml x 64 "$T_TMP/nopool/x.qcow2" >"$T_TMP/x.xml"
t_check "define x on a file in no pool" libvirtd_virsh define "$T_TMP/x.xml"
t_status "list lv" 0 "$VMTTY" list --host lv
refused "a disk in no pool" \
	"^vmtty: disk '$T_TMP/nopool/x.qcow2' of VM 'x' is not a volume of a storage pool on host 'lv': vmtty copies disks through pools; define one for its directory" \
	clone lv/x c9

# A failure mid-way: the second disk's pool (a 12 MiB tmpfs) has no room
# for its copy, after the first disk was copied.  Nothing is left.
t_check "a 12 MiB tmpfs in the daemon's namespace" libvirtd_exec sh -c \
	'mkdir -p /var/lib/libvirt/small && mount -t tmpfs -o size=12m tmpfs /var/lib/libvirt/small'
t_check "pool 'small' on it" libvirtd_pool small /var/lib/libvirt/small
t_check "an 8 MiB raw volume there" libvirtd_virsh vol-create-as small d2.raw 8M --format raw
t_check "full of data" libvirtd_exec dd if=/dev/urandom of=/var/lib/libvirt/small/d2.raw bs=1M count=8 conv=notrunc status=none
disk2=$(libvirtd_vol_copy images two.qcow2 "$GUEST/rootfs.qcow2")
tiny_domain_xml two 64 "$disk2" | sed "s|^    <serial|    <disk type='file' device='disk'>\n      <driver name='qemu' type='raw'/>\n      <source file='/var/lib/libvirt/small/d2.raw'/>\n      <target dev='vdb' bus='virtio'/>\n    </disk>\n&|" \
	>"$T_TMP/two.xml"
t_check "define two on both" libvirtd_virsh define "$T_TMP/two.xml"
t_status "list lv" 0 "$VMTTY" list --host lv
before=$(world)
t_status "clone lv/two t2 fails" 1 "$VMTTY" clone lv/two t2 --progress
t_match "the first disk was copied" "Copying disk 1 of 2: 100%" "$T_OUT"
t_match "the second failed, in one line" "^vmtty: host 'lv': cannot copy disk '/var/lib/libvirt/small/d2\.raw' into volume 't2-1\.raw' of pool 'small': .*\$" "$T_ERR"
t_check "in one line" one_line "$T_ERR"
t_eq "no volume, no domain, nothing in the inventory" "$before" "$(world)"
t_status "the next vmtty has nothing to take back" 0 "$VMTTY" list
t_eq "and says nothing" "" "$T_ERR"
t_status "journal of two" 0 "$VMTTY" log lv/two
t_match "says the clone failed" "clone to 't2' failed: host 'lv': cannot copy disk" "$T_OUT"

# A VM vmtty made with a cloud-init seed: the clone gets a seed volume of
# its own (instance-id = its UUID, host name = its name).
sdisk=$(libvirtd_vol_copy images s.qcow2 "$GUEST/rootfs.qcow2")
t_status "create s on lv with a seed" 0 create_tiny s --host lv --pool images --disk "$sdisk" \
	--cmdline "console=ttyS0 vmtty.root=/dev/vda" --user bob --hostname s-host
t_eq "s's seed is a volume" "g.qcow2 s-seed.iso s.qcow2 " "$(vols images | sed 's/c1.qcow2 //; s/two.qcow2 //')"
t_status "clone lv/s c2" 0 "$VMTTY" clone lv/s c2
t_eq "c2's copy and seed are volumes" "c2-seed.iso c2.qcow2" "$(vols images | tr ' ' '\n' | grep '^c2' | tr '\n' ' ' | sed 's/ $//')"
dump s c2
t_eq "c2's definition uses them" "$(libvirtd_pool_path images)/c2.qcow2 $(libvirtd_pool_path images)/c2-seed.iso" \
	"$(xp c2 ./devices/disk/source/@file)"
t_eq "s keeps its own" "$sdisk $(libvirtd_pool_path images)/s-seed.iso" "$(xp s ./devices/disk/source/@file)"
libvirtd_virsh vol-download c2-seed.iso "$T_TMP/c2-seed.iso" --pool images
t_eq "the new seed: c2's instance-id and host name" \
	"instance-id: $(xp c2 ./uuid) local-hostname: \"c2\"" \
	"$(isoinfo -R -i "$T_TMP/c2-seed.iso" -x /meta-data | tr '\n' ' ' | sed 's/ $//')"
t_eq "and s's user-data (the user bob), its host name c2" '#cloud-config|hostname: "c2"|  - name: "bob"' \
	"$(isoinfo -R -i "$T_TMP/c2-seed.iso" -x /user-data | grep -E '^(#cloud-config|hostname:|  - name:)' | tr '\n' '|' | sed 's/|$//')"
t_eq "in the inventory: c2's copy and seed, both its own" \
	"$(libvirtd_pool_path images)/c2.qcow2 disk True $(libvirtd_pool_path images)/c2-seed.iso cdrom True" \
	"$("$VMTTY" show lv/c2 --json | python3 -c 'import json, sys; d = json.load(sys.stdin); print(" ".join("%s %s %s" % (x["path"], x["media"], x["owned"]) for x in d["disks"]))')"
t_status "delete c2 --delete-disks" 0 "$VMTTY" delete lv/c2 --delete-disks
t_eq "its volumes went with it" "" "$(vols images | tr ' ' '\n' | grep '^c2')"
t_eq "s's are still there" "s-seed.iso s.qcow2" "$(vols images | tr ' ' '\n' | grep '^s' | tr '\n' ' ' | sed 's/ $//')"

# Ctrl-C during the copy of a 256 MiB disk: libvirt cannot stop the copy,
# vmtty waits for it and deletes the volume; no domain.
t_check "a 256 MiB raw volume of data" libvirtd_virsh vol-create-as images big.raw 256M --format raw
t_check "full of data" libvirtd_exec dd if=/dev/urandom of=/var/lib/libvirt/images/big.raw bs=1M count=256 conv=notrunc status=none
tiny_domain_xml big 64 | sed "s|^    <serial|    <disk type='file' device='disk'>\n      <driver name='qemu' type='raw'/>\n      <source file='/var/lib/libvirt/images/big.raw'/>\n      <target dev='vda' bus='virtio'/>\n    </disk>\n&|" \
	>"$T_TMP/big.xml"
t_check "define big" libvirtd_virsh define "$T_TMP/big.xml"
t_status "list lv" 0 "$VMTTY" list --host lv
before=$(world)
"$VMTTY" clone lv/big k9 --progress >"$T_TMP/k9.out" 2>&1 &
k9=$!
_copying() { grep -q "Copying disk 1 of 1" "$T_TMP/k9.out"; }
t_check "the copy began" wait_for 20 _copying
kill -INT "$k9"
wait "$k9"
t_eq "clone exits 1 on SIGINT" 1 "$?"
sed 's/^/# /' "$T_TMP/k9.out"
t_match "saying nothing was made" "vmtty: VM 'k9': the clone was cancelled; nothing was made\$" "$(cat "$T_TMP/k9.out")"
t_eq "nothing changed" "$before" "$(world)"

t_summary
