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

# An edit of a domain defined outside vmtty (with virsh) changes only what
# was edited, in the domain's own definition: what vmtty does not model (a
# description, a channel, a sound card, a seclabel, its interfaces and the
# driver of the second, its kernel and disk) stays; the inventory knows
# only its name, vCPUs and memory, and a definition made from that would
# have none of it.  Then a NIC added by vmtty joins the two.
qemu-img create -q -f qcow2 "$T_TMP/x1.qcow2" 16M
tiny_domain_xml x1 256 "$T_TMP/x1.qcow2" | python3 -c '
import sys
x = sys.stdin.read()
x = x.replace("<name>x1</name>", "<name>x1</name>\n  <description>made by hand</description>", 1)
x = x.replace("  </devices>", """    <interface type=\x27user\x27>
      <mac address=\x2752:54:00:aa:00:01\x27/>
      <model type=\x27virtio\x27/>
    </interface>
    <interface type=\x27user\x27>
      <mac address=\x2752:54:00:aa:00:02\x27/>
      <model type=\x27virtio\x27/>
      <driver name=\x27qemu\x27 rx_queue_size=\x27512\x27/>
    </interface>
    <channel type=\x27unix\x27>
      <target type=\x27virtio\x27 name=\x27org.qemu.guest_agent.0\x27/>
    </channel>
    <sound model=\x27ich6\x27/>
  </devices>
  <seclabel type=\x27none\x27/>""", 1)
sys.stdout.write(x)' >"$T_TMP/x1.xml"
t_status "virsh defines x1 with extras" 0 libvirtd_virsh define "$T_TMP/x1.xml"
t_status "vmtty list finds x1" 0 "$VMTTY" list --host lv
t_status "edit lv/x1 --memory 384M --cpus 2" 0 "$VMTTY" edit lv/x1 --memory 384M --cpus 2
x1=$(libvirtd_virsh dumpxml x1 --inactive)
t_match "the memory is edited" "<memory unit='KiB'>393216</memory>" "$x1"
t_match "and the vCPUs" "<vcpu placement='static'>2</vcpu>" "$x1"
t_match "its description stays" "<description>made by hand</description>" "$x1"
t_match "its channel stays" "<target type='virtio' name='org.qemu.guest_agent.0'" "$x1"
t_match "its sound card stays" "<sound model='ich6'>" "$x1"
t_match "its seclabel stays" "<seclabel type='none'" "$x1"
t_match "its second interface keeps its driver" "<driver name='qemu' rx_queue_size='512'/>" "$x1"
t_eq "both interfaces are there" 2 "$(grep -c '<interface ' <<<"$x1")"
t_match "its kernel stays" "<kernel>$GUEST/vmlinuz</kernel>" "$x1"
t_match "its disk stays" "<source file='$T_TMP/x1.qcow2'/>" "$x1"
t_match "its machine stays" "machine='pc-i440fx" "$x1"
t_status "edit lv/x1 --add-nic user --new-disk 8M" 0 \
	"$VMTTY" edit lv/x1 --add-nic user --new-disk 8M
x1=$(libvirtd_virsh dumpxml x1 --inactive)
t_eq "a third interface joins the two" 3 "$(grep -c '<interface ' <<<"$x1")"
t_eq "a second disk joins the first" 2 "$(grep -c "<disk type='file' device='disk'>" <<<"$x1")"
t_match "its own disk is still vda" "<source file='$T_TMP/x1.qcow2'/>[^/]*<target dev='vda'" "$(tr -d '\n' <<<"$x1")"
t_match "the new one gets a name of its own, vdb" "x1-[0-9]*\.qcow2'/>[^/]*<target dev='vdb'" "$(tr -d '\n' <<<"$x1")"
t_match "the second keeps its driver still" "<driver name='qemu' rx_queue_size='512'/>" "$x1"
t_match "and the description stays" "<description>made by hand</description>" "$x1"
t_status "the edited x1 starts" 0 "$VMTTY" start lv/x1
t_check "and boots" libvirtd_wait_serial x1 "GUEST READY" 90
libvirtd_virsh destroy x1 >/dev/null
t_status "delete lv/x1 --delete-disks" 0 "$VMTTY" delete lv/x1 --delete-disks
t_check "its own disk stays (vmtty did not make it)" test -f "$T_TMP/x1.qcow2"

# Delete with the volumes vmtty made.
t_status "delete lv/c1 --delete-disks" 0 "$VMTTY" delete lv/c1 --delete-disks
t_eq "the domain is gone" "" "$(libvirtd_domstate c1)"
t_eq "and its volumes" "" "$(vols)"
t_check "the base image stays" test -f "$T_TMP/BASE.qcow2"

t_summary
