#!/usr/bin/env bash
# Creating from a template on a real (private) libvirtd: the overlay and
# the seed ISO are volumes of a storage pool ("default", made when
# missing), the domain is defined from XML libvirt validates; a failure
# after the volumes were made takes them back; --delete-disks deletes
# the volumes vmtty made.
source "$(dirname "$0")/libvirtd.sh"

libvirtd_start create
t_status "host add lv" 0 "$VMTTY" host add lv "$LIBVIRTD_URI"
qemu-img create -q -f qcow2 "$T_TMP/BASE.qcow2" 1G
ssh-keygen -q -t ed25519 -N '' -C lv-test-key -f "$T_TMP/key"

vols() { libvirtd_virsh vol-list default 2>/dev/null | awk 'NF { print $1 }' | sort | tr '\n' ' '; }

t_eq "the host has no storage pool yet" "" "$(libvirtd_virsh pool-list --all --name | tr -d '\n ')"
t_status "create c1 on lv from debian-12-cloud with a base image and a key" 0 \
	"$VMTTY" create c1 --host lv --template debian-12-cloud --image "$T_TMP/BASE.qcow2" \
	--ssh-key "$T_TMP/key.pub" --accel tcg
t_eq "domain c1 is defined, shut off" "shut off" "$(libvirtd_domstate c1)"
t_eq "pool 'default' was made and is active" "default" "$(libvirtd_virsh pool-list --name | tr -d '\n ')"
t_eq "the volumes are in the pool" "c1-seed.iso c1.qcow2 " "$(vols)"
volxml=$(libvirtd_virsh vol-dumpxml c1.qcow2 --pool default)
t_match "the disk volume is qcow2" "<format type='qcow2'/>" "$volxml"
t_match "an overlay on BASE" "<backingStore>.*|<path>$T_TMP/BASE.qcow2</path>" "$(printf '%s' "$volxml" | tr -d '\n')"
t_match "of the template's 20G" "<capacity unit='bytes'>21474836480</capacity>" "$volxml"
libvirtd_virsh dumpxml c1 >"$T_TMP/c1.xml"
t_check "libvirt's own schema validates the domain XML" virt-xml-validate "$T_TMP/c1.xml" domain
pool_dir=$(libvirtd_virsh pool-dumpxml default | sed -n 's:.*<path>\(.*\)</path>.*:\1:p')
t_match "the domain's disk is the volume" "<source file='$pool_dir/c1.qcow2'" "$(cat "$T_TMP/c1.xml")"
t_match "and the seed ISO a CD-ROM" "<source file='$pool_dir/c1-seed.iso'" "$(cat "$T_TMP/c1.xml")"
libvirtd_virsh vol-download c1-seed.iso "$T_TMP/seed.iso" --pool default
t_match "the uploaded seed is a cidata ISO" "Volume id: cidata" "$(isoinfo -d -i "$T_TMP/seed.iso")"
contains() { [[ "$2" == *"$1"* ]]; }
t_check "whose user-data holds the key" contains "$(cut -d' ' -f2 "$T_TMP/key.pub")" "$(isoinfo -R -i "$T_TMP/seed.iso" -x /user-data)"
t_status "show lv/c1 --json" 0 "$VMTTY" show lv/c1 --json
t_eq "the inventory has both volumes, made by vmtty" "True True" \
	"$(printf '%s' "$T_OUT" | python3 -c 'import json,sys; print(*[d["owned"] for d in json.load(sys.stdin)["disks"]])')"

# The boot order reaches libvirt as <boot order='N'/> in the devices.
t_status "edit lv/c1 --boot cdrom,network,disk" 0 "$VMTTY" edit lv/c1 --boot cdrom,network,disk
libvirtd_virsh dumpxml c1 >"$T_TMP/c1-boot.xml"
t_check "libvirt's schema validates it" virt-xml-validate "$T_TMP/c1-boot.xml" domain
t_match "the seed ISO boots first, then the NIC, then the disk" \
	"c1-seed.iso'/>.*<boot order='1'/>.*<interface .*<boot order='2'/>" \
	"$(tr -d '\n' <"$T_TMP/c1-boot.xml")"
t_match "and the disk third" "c1.qcow2'/>[^#]*<boot order='3'/>" \
	"$(tr -d '\n' <"$T_TMP/c1-boot.xml" | sed 's:</disk>:#:g')"

# A failure after the volumes: libvirt has no network 'nope'.
n0=$(vm_count)
t_status "a VM on a missing libvirt network fails" 1 "$VMTTY" create c2 --host lv --template debian-12-cloud \
	--image "$T_TMP/BASE.qcow2" --network network:nope --accel tcg
t_match "the step and the reason are named" "^vmtty: Checking the VM failed: .*no network 'nope'" "$T_ERR"
t_eq "its volumes were deleted again" "c1-seed.iso c1.qcow2 " "$(vols)"
t_eq "no domain c2" "" "$(libvirtd_domstate c2)"
t_eq "no inventory row" "$n0" "$(vm_count)"
t_status "a duplicate name on lv fails" 1 "$VMTTY" create c1 --host lv --template debian-12-cloud --image "$T_TMP/BASE.qcow2"
t_match "naming the name" "^vmtty: name: a VM named 'c1' already exists on host 'lv'" "$T_ERR"
t_eq "no volumes made" "c1-seed.iso c1.qcow2 " "$(vols)"
t_status "a pool that does not exist fails" 1 "$VMTTY" create c3 --host lv --template debian-12-cloud --image "$T_TMP/BASE.qcow2" --pool nopool
t_match "naming the pool" "Creating the disk failed: host 'lv' has no storage pool 'nopool'" "$T_ERR"

# Delete with the volumes vmtty made.
t_status "delete lv/c1 --delete-disks" 0 "$VMTTY" delete lv/c1 --delete-disks
t_eq "the domain is gone" "" "$(libvirtd_domstate c1)"
t_eq "and its volumes" "" "$(vols)"
t_check "the base image stays" test -f "$T_TMP/BASE.qcow2"

t_summary
