#!/usr/bin/env bash
# Creating VMs from templates on the built-in host, for real: qemu-img
# makes the overlay, genisoimage the cloud-init seed; every failure takes
# back what was made (no files, no inventory rows) and names its step.
source "$(dirname "$0")/lib.sh"

export XDG_CONFIG_HOME="$T_TMP/config"
IMAGES="$XDG_DATA_HOME/vmtty/images"

# files_under DIR: every file and directory below DIR, sorted.
files_under() { [ -d "$1" ] && (cd "$1" && find . -mindepth 1 | sort); }

# 1. The cloud template with a base image the test makes, and a key.
qemu-img create -q -f qcow2 "$T_TMP/BASE.qcow2" 1G
ssh-keygen -q -t ed25519 -N '' -C c1-test-key -f "$T_TMP/key"
t_status "templates lists the shipped templates" 0 "$VMTTY" templates --json
t_match "debian-12-cloud is there" '"name": "debian-12-cloud"' "$T_OUT"
t_status "create c1 --template debian-12-cloud --image BASE --ssh-key KEY.pub" 0 \
	"$VMTTY" create c1 --template debian-12-cloud --image "$T_TMP/BASE.qcow2" --ssh-key "$T_TMP/key.pub"
t_status "show c1 --json" 0 "$VMTTY" show c1 --json
disks=$(printf '%s' "$T_OUT" | python3 -c '
import json, sys
for d in json.load(sys.stdin)["disks"]: print(d["media"], d["format"], d["owned"], d["path"])')
t_eq "show lists both disks: the overlay and the seed ISO" \
	"disk qcow2 True $IMAGES/c1/c1.qcow2
cdrom raw True $IMAGES/c1/c1-seed.iso" "$disks"
info=$(qemu-img info --output=json "$IMAGES/c1/c1.qcow2")
t_match "the disk is a qcow2 overlay on BASE" "\"backing-filename\": \"$T_TMP/BASE.qcow2\"" "$info"
t_match "grown to the template's 20G" '"virtual-size": 21474836480' "$info"
t_match "the seed ISO's volume id is cidata" "Volume id: cidata" "$(isoinfo -d -i "$IMAGES/c1/c1-seed.iso")"
ud=$(isoinfo -R -i "$IMAGES/c1/c1-seed.iso" -x /user-data)
t_match "user-data is cloud-config" "^#cloud-config" "$ud"
t_match "user-data holds the key" "$(cut -d' ' -f2 "$T_TMP/key.pub")" "$ud"
md=$(isoinfo -R -i "$IMAGES/c1/c1-seed.iso" -x /meta-data)
t_match "meta-data's instance-id is the VM's UUID" "instance-id: $(vm_uuid c1)" "$md"
t_status "show --argv attaches both" 0 "$VMTTY" show c1 --argv
t_match "the overlay and the seed are on qemu's command line" "c1.qcow2.*c1-seed.iso" "$T_OUT"
t_status "create c2 with a user and a hostname" 0 "$VMTTY" create c2 --template debian-12-cloud \
	--image "$T_TMP/BASE.qcow2" --ssh-key "$T_TMP/key.pub" --user alice --hostname web-2 --cpus 1 --memory 1G
ud=$(isoinfo -R -i "$IMAGES/c2/c2-seed.iso" -x /user-data)
t_match "user alice gets the key" 'name: "alice"' "$ud"
t_match "hostname web-2" 'hostname: "web-2"' "$ud"
t_eq "--cpus and --memory override the template" "1 1024" \
	"$("$VMTTY" show c2 --json | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["cpus"], v["memory_mib"])')"
t_status "a full copy with --copy" 0 "$VMTTY" create c3 --template debian-12-cloud --image "$T_TMP/BASE.qcow2" --copy --disk-size 2G
t_nomatch "the copy has no backing file" "backing-filename" "$(qemu-img info --output=json "$IMAGES/c3/c3.qcow2")"
t_status "a new empty disk (alpine-iso, --disk-size 1G, an ISO)" 0 "$VMTTY" create c4 --template alpine-iso --disk-size 1G --iso "$T_TMP/BASE.qcow2"
t_match "1 GiB" '"virtual-size": 1073741824' "$(qemu-img info --output=json "$IMAGES/c4/c4.qcow2")"
t_status "delete c4 --delete-disks" 0 "$VMTTY" delete c4 --delete-disks
t_eq "its disk and directory are gone, the ISO it did not make stays" "" "$(files_under "$IMAGES/c4")"
t_check "BASE is still there" test -f "$T_TMP/BASE.qcow2"

# 2. Failures leave nothing: no files, no inventory rows; the message
# names the field or the failing step.
n0=$(vm_count)
before=$(files_under "$IMAGES")
nothing_left() {
	t_eq "$1: no inventory row" "$n0" "$(vm_count)"
	t_eq "$1: no files" "$before" "$(files_under "$IMAGES")"
	t_eq "$1: the journal's last word on it is a failed create" "create failed" \
		"$("$VMTTY" log "$2" --json | python3 -c 'import json,sys; e=json.load(sys.stdin)[-1]; print(e["action"], e["result"])')"
}
fails() {
	local desc=$1 pattern=$2 name=$3; shift 3
	t_status "$desc exits 1" 1 "$@"
	t_match "$desc: the message" "$pattern" "$T_ERR"
	t_eq "$desc: one line" 1 "$(printf '%s\n' "$T_ERR" | wc -l)"
	nothing_left "$desc" "$name"
}
# A read-only directory, for real even as root: a read-only bind mount in
# a private mount namespace.
mkdir -p "$T_TMP/ro"
fails "disk directory not writable" "^vmtty: Creating the (directory|disk) failed: .*Read-only file system" f1 \
	unshare -m sh -c 'mount --bind -o ro "$1" "$1" && exec "$2" create f1 --template debian-12-cloud --image "$3" --dir "$1/f1"' \
	sh "$T_TMP/ro" "$VMTTY" "$T_TMP/BASE.qcow2"
t_eq "nothing in the read-only directory" "" "$(files_under "$T_TMP/ro")"
fails "disk directory not writable (an existing one)" "^vmtty: Creating the directory failed: directory '$T_TMP/ro' is not writable" f1 \
	unshare -m sh -c 'mount --bind -o ro "$1" "$1" && exec "$2" create f1 --template debian-12-cloud --image "$3" --dir "$1"' \
	sh "$T_TMP/ro" "$VMTTY" "$T_TMP/BASE.qcow2"
# The seed tool missing: a PATH with qemu-img and nothing else.  The
# overlay is made first, then taken back.
mkdir -p "$T_TMP/bin" && ln -s "$(command -v qemu-img)" "$T_TMP/bin/qemu-img"
fails "seed tool missing" "^vmtty: Making the cloud-init seed ISO failed: cannot run 'genisoimage'.*install it" f2 \
	env PATH="$T_TMP/bin" "$VMTTY" create f2 --template debian-12-cloud --image "$T_TMP/BASE.qcow2" --ssh-key "$T_TMP/key.pub"
fails "duplicate name" "^vmtty: name: a VM named 'c1' already exists on host 'local'" c1 \
	"$VMTTY" create c1 --template debian-12-cloud --image "$T_TMP/BASE.qcow2"
t_check "c1's own files are untouched" test -f "$IMAGES/c1/c1-seed.iso"
fails "0-byte disk size" "^vmtty: disk size: 0 bytes is too small for a new disk" f3 \
	"$VMTTY" create f3 --template alpine-iso --disk-size 0
mkdir -p "$XDG_CONFIG_HOME/vmtty/templates"
printf '[template]\nname = broken\n[machine\ncpus = 2\n' >"$XDG_CONFIG_HOME/vmtty/templates/broken.ini"
fails "a template with a syntax error" "^vmtty: template '$XDG_CONFIG_HOME/vmtty/templates/broken.ini', line 3: " f4 \
	"$VMTTY" create f4 --template broken
t_status "templates reports the broken file and lists the rest" 0 "$VMTTY" templates
t_match "the broken file, with its line" "broken.ini', line 3" "$T_ERR"
t_match "the others still listed" "tiny-linux" "$T_OUT"
fails "a base image that is not there" "^vmtty: disk image: '$T_TMP/nope.qcow2' does not exist" f5 \
	"$VMTTY" create f5 --template debian-12-cloud --image "$T_TMP/nope.qcow2"
fails "a bad ssh key file" "^vmtty: ssh key: .*not an OpenSSH public key" f6 \
	"$VMTTY" create f6 --template debian-12-cloud --image "$T_TMP/BASE.qcow2" --ssh-key "$T_TMP/BASE.qcow2"
fails "a bad hostname" "^vmtty: hostname: 'a_b' has '_'" f7 \
	"$VMTTY" create f7 --template debian-12-cloud --image "$T_TMP/BASE.qcow2" --hostname a_b
fails "a kernel template without a kernel" "^vmtty: kernel: template 'tiny-linux' boots a kernel" f8 \
	"$VMTTY" create f8 --template tiny-linux
# A failure after the disk: a qemu-img that makes the file and then fails.
cat >"$T_TMP/bad-qemu-img" <<'EOF'
#!/bin/sh
# Makes the file it was asked for (the path is the next-to-last argument), then fails.
if [ "$1" = create ]; then eval "path=\${$(($# - 1))}"; : >"$path"; fi
echo "qemu-img: injected failure" >&2
exit 1
EOF
chmod +x "$T_TMP/bad-qemu-img"
fails "qemu-img fails midway" "^vmtty: Creating the disk failed: .*injected failure" f9 \
	env VMTTY_QEMU_IMG="$T_TMP/bad-qemu-img" "$VMTTY" create f9 --template alpine-iso --disk-size 1G

# 3. A kernel template: the second VM takes kernel and initrd from the first.
t_status "create k1 from tiny-linux with kernel and initrd" 0 "$VMTTY" create k1 --template tiny-linux \
	--kernel "$GUEST/vmlinuz" --initrd "$GUEST/initrd.img" --accel tcg
t_status "create k2 from tiny-linux alone" 0 "$VMTTY" create k2 --template tiny-linux --accel tcg
t_match "it says where its kernel came from" "kernel and initrd as VM 'k1'" "$T_ERR"
t_eq "k2 has k1's kernel and initrd and the template's cmdline" "$GUEST/vmlinuz $GUEST/initrd.img console=ttyS0" \
	"$("$VMTTY" show k2 --json | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["kernel"], v["initrd"], v["cmdline"])')"
t_status "k2 boots to the guest's marker" 0 "$VMTTY" start k2 --wait-serial "GUEST READY" --timeout 90
t_status "poweroff k2" 0 "$VMTTY" poweroff k2 --wait

t_summary
