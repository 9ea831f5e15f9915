#!/usr/bin/env bash
# Input that used to slip through (issue 13, item 8): each is refused when
# given, with one line naming the field, and nothing is made or changed.
source "$(dirname "$0")/../lib.sh"

export VMTTY_DB="$T_TMP/inv.db" XDG_DATA_HOME="$T_TMP/data" XDG_CONFIG_HOME="$T_TMP/config"
export VMTTY_RUNTIME_DIR="$T_TMP/run"
IMAGES="$XDG_DATA_HOME/vmtty/images"
qemu-img create -q -f qcow2 "$T_TMP/d.qcow2" 16M
one_line() { [ "$(printf '%s\n' "$1" | wc -l)" -eq 1 ]; }
vms() { "$VMTTY" list --json | python3 -c 'import json,sys; print(" ".join(v["name"] for v in json.load(sys.stdin)))'; }
disks() { "$VMTTY" show "$1" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["disks"]))'; }

# --disk '' was read as the current directory.
t_status "create --disk '' is refused" 1 "$VMTTY" create e0 --disk ''
t_match "it says the path is empty" "disk image: the path is empty; give the path of the disk file \(--disk\)" "$T_ERR"
t_check "in one line" one_line "$T_ERR"
t_eq "no VM was made" "" "$(vms)"
t_status "create with a real disk" 0 "$VMTTY" create a1 --disk "$T_TMP/d.qcow2"

# edit --new-disk 0 said success and made nothing.
t_status "edit --new-disk 0 is refused" 1 "$VMTTY" edit a1 --new-disk 0
t_match "it says the size is too small" "new disk: disk size '0' is too small; give 1M or more" "$T_ERR"
t_eq "a1 still has one disk" 1 "$(disks a1)"
t_status "edit --resize-disk 0:0 is refused" 1 "$VMTTY" edit a1 --resize-disk 0:0
t_match "it names the size" "resize disk: disk size '0' is too small" "$T_ERR"
t_eq "the disk is still 16 MiB" 16777216 \
	"$(qemu-img info --output=json "$T_TMP/d.qcow2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')"
t_status "edit --new-disk 8M makes one" 0 "$VMTTY" edit a1 --new-disk 8M
t_eq "a1 has two disks now" 2 "$(disks a1)"

# Bridge and tap names are checked when given, not at start: a name qemu's
# option syntax would split, one too long for the kernel, a bridge that is
# not there.
t_status "a bridge name with a comma is refused" 1 "$VMTTY" create b1 --network 'bridge:br0,script=/bin/sh'
t_match "it says it is not an interface name" "bridge name 'br0,script=/bin/sh' is not an interface name" "$T_ERR"
t_status "a missing bridge is refused at create" 1 "$VMTTY" create b2 --network bridge:vmttynobr0
t_match "it names the bridge and says what to do" \
	"bridge 'vmttynobr0' does not exist on this machine; create it \(ip link add vmttynobr0 type bridge\)" "$T_ERR"
t_eq "neither VM was made" "a1" "$(vms)"
t_status "edit --add-nic with a 16-character tap name is refused" 1 "$VMTTY" edit a1 --add-nic tap:abcdefghijklmnop
t_match "it says so" "tap name 'abcdefghijklmnop' is not an interface name; give 1 to 15" "$T_ERR"
t_status "edit --add-nic bridge:.. is refused" 1 "$VMTTY" edit a1 --add-nic bridge:..
t_eq "a1 keeps its one NIC" 1 "$("$VMTTY" show a1 --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["nics"]))')"
if ip link add vmttytbr0 type bridge 2>/dev/null; then
	t_on_exit 'ip link del vmttytbr0'
	t_status "a bridge that exists is taken" 0 "$VMTTY" edit a1 --add-nic bridge:vmttytbr0
else
	t_skip "a bridge that exists is taken" "cannot make a bridge here (not root?)"
fi

# The guest takes the VM's name as its host name unless --hostname is given:
# that name is checked like --hostname.
t_status "a cloud VM named my_vm without --hostname is refused" 1 \
	"$VMTTY" create my_vm --template debian-12-cloud --image "$T_TMP/d.qcow2"
t_match "it says why and what to give" "hostname: VM name 'my_vm' is not a host name.*give a hostname" "$T_ERR"
t_check "in one line" one_line "$T_ERR"
t_eq "no images were made for it" "" "$(ls "$IMAGES" 2>/dev/null | grep my_vm)"
t_status "with --hostname it is made" 0 \
	"$VMTTY" create my_vm --template debian-12-cloud --image "$T_TMP/d.qcow2" --hostname my-vm

# VMTTY_CONNECT_TIMEOUT: garbage is said, not ignored; a huge value is capped.
t_status "host add lab test:///default" 0 "$VMTTY" host add lab test:///default
VMTTY_CONNECT_TIMEOUT=abc t_status "list with VMTTY_CONNECT_TIMEOUT=abc" 0 "$VMTTY" list
t_eq "says it once and uses 15" \
	"vmtty: VMTTY_CONNECT_TIMEOUT: not a number of seconds from 1 to 300; using the default of 15" "$T_ERR"
VMTTY_CONNECT_TIMEOUT=99999999999999999999 t_status "list with a huge VMTTY_CONNECT_TIMEOUT" 0 "$VMTTY" list
t_eq "capped at 300, said" "vmtty: VMTTY_CONNECT_TIMEOUT: more than the limit of 300 seconds; using 300" "$T_ERR"
VMTTY_CONNECT_TIMEOUT=5 t_status "list with VMTTY_CONNECT_TIMEOUT=5" 0 "$VMTTY" list
t_eq "a good value is quiet" "" "$T_ERR"

t_summary
