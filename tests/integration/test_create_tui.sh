#!/usr/bin/env bash
# The new-VM wizard in the real TUI under tmux: t1 from tiny-linux on
# local (the kernel and initrd typed the first time), started from the
# TUI, the guest's marker on its serial log; fields checked on the spot;
# a second VM from the same template in 5 keystrokes; D refuses a wrong
# name and deletes with the disks on the right one; x keeps the disks;
# debian-12-cloud as an overlay with a cloud-init seed.
source "$(dirname "$0")/lib.sh"

export XDG_CONFIG_HOME="$T_TMP/config"

tui_start 120 36 "$VMTTY"
tui_expect "the TUI shows host local" 'local'
tui_keys n
tui_expect "n opens the wizard on local, at the template step" 'New VM on local: Template'
tui_type tiny
tui_keys Enter
tui_expect "the name step, with a name suggested" 'Name +tiny-linux-1'
tui_keys C-u
tui_type 'a/b'
tui_keys Enter
tui_expect "a bad name is refused on the spot, naming the field" "name: VM name 'a/b' contains '/'"
tui_check_step() { _tui_has 'New VM on local: Name'; }
t_check "and the wizard stays on the name step" tui_check_step
tui_keys C-u
tui_type t1
tui_keys Enter
tui_expect "CPU / memory from the template" 'Memory \(MiB or 2G\) +256'
tui_keys BTab
tui_expect "back to the name step with Shift-Tab" 'Name +t1'
tui_keys Enter
tui_expect "forward again" 'vCPUs +1'
tui_keys Down C-u
tui_type 0
tui_keys Enter
tui_expect "0 MiB is refused on the spot" "memory: '0' is not a size; give MiB from 1"
tui_keys C-u
tui_type 256
tui_keys Enter
tui_expect "the storage step of a kernel template" 'Kernel cmdline +console=ttyS0'
tui_keys Enter
tui_expect "a kernel template without a kernel is refused" "kernel: template 'tiny-linux' boots a kernel"
tui_keys Tab Tab
tui_type "$GUEST/vmlinuz"
tui_keys Tab
tui_type "$GUEST/initrd.img"
tui_keys Enter
tui_expect "the network step" 'Network \(user, none'
tui_keys Enter
tui_expect "the review" 'Enter: create the VM'
tui_expect "lists the kernel" "Kernel: +$GUEST/vmlinuz \+ $GUEST/initrd.img"
tui_keys Enter
tui_expect "t1 is created" "VM 't1' created on host 'local'" 30
tui_expect "and listed, off" 't1 +off'
t_eq "the inventory has t1 from tiny-linux with the kernel" "tiny-linux $GUEST/vmlinuz" \
	"$("$VMTTY" show t1 --json | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["template"], v["kernel"])')"
tui_keys j s
tui_expect "s starts t1 from the TUI" 't1 +running' 30
t_check "the guest's marker reaches t1's serial log" wait_serial t1 "GUEST READY" 1 90

# A second VM from the same template: n, Enter (template: the last one
# used), Enter (name: t2, suggested), F9 (review), Enter (create).
keys=(n Enter Enter F9 Enter)
tui_keys n
tui_expect "the wizard starts at the last template used" 'New VM on local: Template'
tui_keys Enter
tui_expect "the next free name is suggested" 'Name +t2'
tui_keys Enter F9
tui_expect "F9 goes to the review with the kernel of t1" "Kernel: +$GUEST/vmlinuz"
tui_keys Enter
tui_expect "t2 is created" "VM 't2' created on host 'local'" 30
echo "# wizard keystrokes to a defined VM (tiny-linux, second VM): ${#keys[@]}"
t_eq "t2 has t1's kernel and initrd" "$GUEST/vmlinuz $GUEST/initrd.img" \
	"$("$VMTTY" show t2 --json | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["kernel"], v["initrd"])')"

# A duplicate name is refused on the spot; Esc backs out step by step.
tui_keys n Enter C-u
tui_type t1
tui_keys Enter
tui_expect "a duplicate name is refused on the spot" "name: a VM named 't1' already exists on host 'local'"
tui_keys Escape
tui_expect "Esc goes back to the template" 'New VM on local: Template'
tui_keys Escape
tui_expect "and to the host" 'New VM on local: Host'
tui_keys Escape
tui_expect "Esc from the host step closes the wizard" 'Cancelled; no VM was created'
t_eq "no VM was added" 2 "$(vm_count)"

# An edit of the running t1 waits for its next start: marked in the list
# and the details; a start from the TUI takes it and clears the mark.
t_status "edit the running t1" 0 "$VMTTY" edit t1 --memory 300
tui_expect "the list marks t1 pending" 't1 +running\*' 10
tui_keys / ; tui_type t1; tui_keys Enter End
tui_expect "the details say what waits" 'Pending +memory \(takes effect at the next' 10
t_status "power t1 off" 0 "$VMTTY" poweroff t1 --wait
tui_expect "off" 't1 +off ' 10
t_check "off, nothing is pending: the change is its configuration" _tui_lacks 't1 +off\*'
tui_keys s
tui_expect "a start from the TUI" 't1 +running' 30
tui_wait_gone 't1 +running\*' 10
t_check "clears the mark" _tui_lacks 't1 +running\*'
t_eq "and the inventory's" "None" \
	"$("$VMTTY" show t1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["pending_restart"])')"
tui_keys Escape
tui_wait_gone 'filter: t1' 5

# D deletes a VM with the disks vmtty made, after typing its name.
t_status "d1 from alpine-iso with a new 1G disk" 0 "$VMTTY" create d1 --template alpine-iso \
	--disk-size 1G --iso "$GUEST/rootfs.qcow2"
d1disk=$("$VMTTY" show d1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["disks"][0]["path"])')
t_check "its disk exists" test -f "$d1disk"
tui_expect "the TUI picks d1 up" 'd1 +off' 10
tui_keys / ; tui_type d1; tui_keys Enter End
tui_expect "d1 is listed and selected" 'VM +d1' 10
tui_keys D
tui_expect "D asks for the typed name" "Delete VM 'd1' AND its disk files" 5
tui_type d1x
tui_keys Enter
tui_expect "a wrong name is refused in the dialog" "'d1x' is not 'd1'; nothing was changed\." 5
t_check "the dialog stays up" _tui_has "Type 'd1' and Enter: d1x"
tui_keys Escape
tui_expect "Esc closes it" "Cancelled; nothing was changed\." 5
t_status "d1 is still in the inventory" 0 "$VMTTY" show d1 --json
t_check "and its disk file is still there" test -f "$d1disk"
tui_keys D
tui_expect "D asks again" "Type 'd1' and Enter:" 5
tui_type d1
tui_keys Enter
tui_expect "d1 is deleted with its disks" "VM 'd1': deleted with its disks \(1 disk file" 30
t_check "its disk file is gone" test ! -e "$d1disk"
t_check "and its directory" test ! -e "$(dirname "$d1disk")"
t_check "the ISO it did not make stays" test -f "$GUEST/rootfs.qcow2"
t_status "the journal has the deletion" 0 "$VMTTY" log d1 --json
t_match "journaled with its disks" 'deleted with its disks' "$T_OUT"
tui_keys Escape

# x deletes the VM only: its disk file stays.
t_status "d2 from alpine-iso with a new 1G disk" 0 "$VMTTY" create d2 --template alpine-iso --disk-size 1G
d2disk=$("$VMTTY" show d2 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["disks"][0]["path"])')
tui_expect "the TUI picks d2 up" 'd2 +off' 10
tui_keys / ; tui_type d2; tui_keys Enter End
tui_expect "d2 is listed and selected" 'VM +d2' 10
tui_keys x
tui_expect "x asks, saying the disks are kept" "Delete VM 'd2' \(its disks are kept\)\?" 5
tui_keys y
tui_expect "d2 is deleted" "VM 'd2': deleted\." 30
t_status "d2 is gone from the inventory" 1 "$VMTTY" show d2
t_check "its disk file stays" test -f "$d2disk"
t_match "journaled" 'ok +delete +local/d2: deleted' "$("$VMTTY" log d2)"
tui_keys Escape

# D on a VM whose disk another VM uses: refused before the dialog, naming
# the other VM; nothing is deleted (the CLI's rule, from the same check).
qemu-img create -q -f qcow2 "$T_TMP/S.qcow2" 64M
t_status "s1 with disk S" 0 "$VMTTY" create s1 --disk "$T_TMP/S.qcow2"
t_status "s2 with the same disk S" 0 "$VMTTY" create s2 --disk "$T_TMP/S.qcow2"
tui_expect "the TUI picks s2 up" 's2 +off' 10
tui_keys / ; tui_type s2; tui_keys Enter End
tui_expect "s2 is listed and selected" 'VM +s2' 10
tui_keys D
tui_expect "D is refused, naming the VM that keeps the disk" "also used by VM 's1'" 5
t_check "no dialog asks" _tui_lacks "AND its disk files"
t_status "s2 is still in the inventory" 0 "$VMTTY" show s2
t_status "and s1" 0 "$VMTTY" show s1
t_check "the disk is still there" test -f "$T_TMP/S.qcow2"
tui_keys Escape

# The cloud image path: debian-12-cloud, an overlay on a base image the
# test makes, a NoCloud seed with a user, an ssh key and a hostname.
qemu-img create -q -f qcow2 "$T_TMP/BASE.qcow2" 1G
ssh-keygen -q -t ed25519 -N '' -C tui-test-key -f "$T_TMP/key"
tui_keys n
tui_expect "the wizard again" 'New VM on local: Template'
tui_type debian
tui_keys Enter
tui_expect "typing picks debian-12-cloud: its name is suggested" 'Name +debian-12-cloud-1'
tui_keys C-u
tui_type c1
tui_keys Enter
tui_expect "the template's CPUs and memory" 'Memory \(MiB or 2G\) +2048'
tui_keys Enter
tui_expect "the storage step offers an overlay" 'Disk \(Left/Right\) +overlay on an image'
tui_expect "of the template's size" 'Disk size +20G'
tui_keys Enter
# The template names its image: with none given it is downloaded (the
# review offers it; tests/integration/test_image.sh), so the step goes on.
tui_expect "an overlay without an image goes on (the template's image is offered)" 'Network \(user, none'
tui_keys BTab
tui_expect "back to the storage step" 'Disk \(Left/Right\) +overlay on an image'
# disk_image PATH: the storage step's image field, then on to cloud-init.
disk_image() {
	tui_keys Tab Tab
	tui_type "$1"
	tui_keys Enter
	tui_expect "the network step" 'Network \(user, none'
	tui_keys Enter
	tui_expect "the cloud-init step" 'SSH public key file'
}
disk_image "$T_TMP/BASE.qcow2"
tui_type alice
tui_keys Tab
tui_type "$T_TMP/BASE.qcow2"
tui_keys Enter
tui_expect "a file that is not a public key is refused" 'ssh key: .*not an OpenSSH public key'
tui_keys C-u
tui_type "$T_TMP/key.pub"
tui_keys Tab
tui_type web-1
tui_keys Enter
tui_expect "the review" 'Enter: create the VM'
tui_expect "lists the overlay" "Disk: +overlay on an image, 20G, $T_TMP/BASE.qcow2"
tui_expect "and the cloud-init seed" 'Cloud-init: user alice, with an ssh key, hostname web-1'
tui_keys Enter
tui_expect "c1 is created" "VM 'c1' created on host 'local'" 30
IMAGES="$XDG_DATA_HOME/vmtty/images"
t_eq "show --json lists the overlay and the seed ISO" \
	"disk qcow2 True $IMAGES/c1/c1.qcow2
cdrom raw True $IMAGES/c1/c1-seed.iso" \
	"$("$VMTTY" show c1 --json | python3 -c '
import json, sys
for d in json.load(sys.stdin)["disks"]: print(d["media"], d["format"], d["owned"], d["path"])')"
t_match "the overlay is on BASE" "\"backing-filename\": \"$T_TMP/BASE.qcow2\"" \
	"$(qemu-img info --output=json "$IMAGES/c1/c1.qcow2")"
ud=$(isoinfo -R -i "$IMAGES/c1/c1-seed.iso" -x /user-data)
t_check "the seed's user-data holds the key" grep -qF -- "$(cut -d' ' -f2 "$T_TMP/key.pub")" <<<"$ud"
t_match "for user alice" 'name: "alice"' "$ud"
t_match "with hostname web-1" 'hostname: "web-1"' "$ud"

tui_keys q
tui_expect "the TUI exits 0" '\[exited 0\]' 5

# Esc while the disk is being made: the copy stops and nothing is left.
# The copy is slowed with qemu-img's own rate limit (convert -r), through
# VMTTY_QEMU_IMG, so that there is time to press Esc.
head -c 64M /dev/urandom >"$T_TMP/BIG.raw"
cat >"$T_TMP/slow-qemu-img" <<'SH'
#!/bin/sh
if [ "$1" = convert ]; then shift; exec qemu-img convert -r 2M "$@"; fi
exec qemu-img "$@"
SH
chmod 755 "$T_TMP/slow-qemu-img"
export VMTTY_QEMU_IMG="$T_TMP/slow-qemu-img"
tui_start 120 36 "$VMTTY"
tui_keys n
tui_expect "the wizard" 'New VM on local: Template'
tui_type debian
tui_keys Enter
tui_expect "the name step" 'New VM on local: Name'
tui_keys C-u
tui_type c2
tui_keys Enter Enter
tui_expect "the storage step" 'Disk \(Left/Right\) +overlay on an image'
tui_keys Right
tui_expect "a copy of an image" 'Disk \(Left/Right\) +copy of an image'
disk_image "$T_TMP/BIG.raw"
tui_type alice
tui_keys Tab
tui_type "$T_TMP/key.pub"
tui_keys Enter
tui_expect "the review" 'Enter: create the VM'
tui_keys Enter
tui_expect "creating, Esc cancels" 'Creating the VM\.\.\.  Esc cancels' 10
_copying() { pgrep -f "qemu-img convert -r 2M .*$T_TMP/BIG.raw" >/dev/null; }
t_check "qemu-img is copying" wait_for 10 _copying
tui_keys Escape
tui_expect "Esc: cancelled, nothing made" 'Cancelled; nothing was made\.' 10
t_check "qemu-img was stopped" wait_for 5 eval '! _copying'
t_check "no c2 in the inventory" eval '! "$VMTTY" show c2 >/dev/null 2>&1'
t_check "no disk or directory of c2 left" [ ! -e "$IMAGES/c2" ]
t_match "the journal says so" 'FAILED +create +local/c2: Cancelled; nothing was made' "$("$VMTTY" log c2)"
# Esc steps back to the template step, and from there closes the wizard.
for _ in $(seq 10); do _tui_lacks 'New VM on local' && break; tui_keys Escape; read -rt 0.2 <> <(:) || true; done
tui_keys q
tui_expect "the TUI exits 0" '\[exited 0\]' 10
unset VMTTY_QEMU_IMG
"$VMTTY" poweroff t1 --wait >/dev/null 2>&1

t_summary
