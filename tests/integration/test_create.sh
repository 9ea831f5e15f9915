#!/usr/bin/env bash
# Creating VMs from templates on the built-in host, for real: qemu-img
# makes the overlay, genisoimage the cloud-init seed; every failure takes
# back what was made (no files, no inventory rows) and names its step.
source "$(dirname "$0")/lib.sh"

export XDG_CONFIG_HOME="$T_TMP/config"
IMAGES="$XDG_DATA_HOME/vmtty/images"

# contains TEXT STRING: TEXT is in STRING, literally.
contains() { [[ "$2" == *"$1"* ]]; }
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
t_check "user-data holds the key" contains "$(cut -d' ' -f2 "$T_TMP/key.pub")" "$ud"
md=$(isoinfo -R -i "$IMAGES/c1/c1-seed.iso" -x /meta-data)
t_match "meta-data's instance-id is the VM's UUID" "instance-id: $(vm_uuid c1)" "$md"
t_status "show --argv attaches both" 0 "$VMTTY" show c1 --argv
t_match "the overlay and the seed are on qemu's command line" "c1.qcow2.*c1-seed.iso" "$T_OUT"
t_status "create c2 with a user and a hostname" 0 "$VMTTY" create c2 --template debian-12-cloud \
	--image "$T_TMP/BASE.qcow2" --ssh-key "$T_TMP/key.pub" --user alice --hostname web-2 --cpus 1 --memory 1G
ud=$(isoinfo -R -i "$IMAGES/c2/c2-seed.iso" -x /user-data)
t_match "user alice gets the key" 'name: "alice"' "$ud"
t_match "hostname web-2" 'hostname: "web-2"' "$ud"
# The seed's YAML holds the key as given, whatever its comment has: quotes,
# a backslash, YAML's own punctuation, non-ASCII.  PyYAML reads it back.
printf '%s %s\n' "$(cut -d' ' -f1-2 "$T_TMP/key.pub")" 'a"b\c '"'d'"' #e: f, [g] {h} é \u0041' >"$T_TMP/odd.pub"
t_status "create c2y with an odd key comment" 0 "$VMTTY" create c2y --template debian-12-cloud \
	--image "$T_TMP/BASE.qcow2" --ssh-key "$T_TMP/odd.pub" --user bob
ud=$(isoinfo -R -i "$IMAGES/c2y/c2y-seed.iso" -x /user-data)
t_eq "user-data reads back the key, byte for byte" "$(head -1 "$T_TMP/odd.pub")" \
	"$(printf '%s' "$ud" | /usr/bin/python3 -c 'import sys, yaml; print(yaml.safe_load(sys.stdin)["users"][1]["ssh_authorized_keys"][0])')"
printf '%s %s\n' "$(cut -d' ' -f1-2 "$T_TMP/key.pub")" $'x\u2028y' >"$T_TMP/ls.pub"
t_status "a key with U+2028 (a YAML line break) is refused" 1 "$VMTTY" create c2z --template debian-12-cloud \
	--image "$T_TMP/BASE.qcow2" --ssh-key "$T_TMP/ls.pub"
t_match "it is not a public key" "ssh key: .*is not an OpenSSH public key" "$T_ERR"
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

# 2b. A user template replaces the shipped one of the same name.
cat >"$XDG_CONFIG_HOME/vmtty/templates/blank.ini" <<'EOF'
[template]
name = blank
label = Blank, my way
[machine]
cpus = 3
memory = 768
[network]
model = e1000
EOF
t_status "templates --json with a user blank.ini" 0 "$VMTTY" templates --json
t_eq "blank is listed once, the user's, with its values" \
	"$XDG_CONFIG_HOME/vmtty/templates/blank.ini|Blank, my way|3|768" \
	"$(printf '%s' "$T_OUT" | python3 -c '
import json, sys
for t in json.load(sys.stdin)["templates"]:
    if t["name"] == "blank": print(t["file"], t["label"], t["cpus"], t["memory_mib"], sep="|")')"
t_match "templates shows the user's label" "^blank +empty +3 +768 MiB +- +Blank, my way$" "$("$VMTTY" templates 2>/dev/null)"
t_status "create b1 --template blank" 0 "$VMTTY" create b1 --template blank
t_eq "b1 has the user's CPUs, memory and NIC model" "blank 3 768 e1000" \
	"$("$VMTTY" show b1 --json | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["template"], v["cpus"], v["memory_mib"], v["nics"][0]["model"])')"
t_status "delete b1" 0 "$VMTTY" delete b1
rm "$XDG_CONFIG_HOME/vmtty/templates/blank.ini"
t_match "without the file the shipped blank is back" "^blank +empty +1 +512 MiB .*Blank machine" "$("$VMTTY" templates 2>/dev/null)"

# 2c. windows-11 (UEFI, SATA, e1000e): an argv that real qemu takes, started
# paused (-S) and stopped again; the variable store copied where vmtty start
# would put it.  Needs ovmf (scripts/install-deps).
# qemu_accepts NAME: run show NAME --argv with -S; true if qemu starts.
qemu_accepts() {
	local args=() a pid vars= pidfile
	mapfile -d '' args < <("$VMTTY" show "$1" --argv | python3 -c 'import shlex,sys; sys.stdout.write("\0".join(shlex.split(sys.stdin.read())) + "\0")')
	[ "${#args[@]}" -gt 1 ] || return 1
	for a in "${args[@]}"; do
		[[ $a == if=pflash,*unit=1,*file=* ]] && vars=${a##*,file=}
	done
	pidfile=$(printf '%s\n' "${args[@]}" | grep -A1 -x -- -pidfile | tail -1)
	[ -z "$vars" ] || { mkdir -p "$(dirname "$vars")" && cp /usr/share/OVMF/OVMF_VARS_4M.fd "$vars"; } || return 1
	mkdir -p -m 700 "$(dirname "$pidfile")"	# as vmtty makes it
	# vmtty puts qemu in the background itself; here -daemonize does.
	"${args[@]}" -S -daemonize 2>"$T_TMP/qemu.err" || { sed 's/^/   qemu: /' "$T_TMP/qemu.err"; return 1; }
	pid=$(cat "$pidfile")
	kill "$pid"
	_gone() { ! kill -0 "$pid" 2>/dev/null || [ "$(ps -o stat= -p "$pid")" = Z ]; }
	wait_for 10 _gone
}
t_status "create w --template windows-11 --disk-size 1G" 0 "$VMTTY" create w --template windows-11 --disk-size 1G
t_status "show w --argv" 0 "$VMTTY" show w --argv
t_match "UEFI from OVMF, a SATA disk, an e1000e NIC" \
	"file=/usr/share/OVMF/OVMF_CODE[^ ]*\.fd .* -device ahci,id=ahci0 .* -device ide-hd,drive=disk0,bus=ahci0\.0,id=sata0,bootindex=1 .* -device e1000e," "$T_OUT"
t_check "real qemu accepts w's argv (paused with -S)" qemu_accepts w
t_status "delete w --delete-disks" 0 "$VMTTY" delete w --delete-disks

# 3. A kernel template: the second VM takes kernel and initrd from the first.
t_status "create k1 from tiny-linux with kernel and initrd" 0 "$VMTTY" create k1 --template tiny-linux \
	--kernel "$GUEST/vmlinuz" --initrd "$GUEST/initrd.img" --accel tcg
t_status "create k2 from tiny-linux alone" 0 "$VMTTY" create k2 --template tiny-linux --accel tcg
t_match "it says where its kernel came from" "kernel and initrd as VM 'k1'" "$T_ERR"
t_eq "k2 has k1's kernel and initrd and the template's cmdline" "$GUEST/vmlinuz $GUEST/initrd.img console=ttyS0" \
	"$("$VMTTY" show k2 --json | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["kernel"], v["initrd"], v["cmdline"])')"
t_status "k2 boots to the guest's marker" 0 "$VMTTY" start k2 --wait-serial "GUEST READY" --timeout 90

# 4. Edit: a stopped VM changes at once (CPUs, memory, cmdline, firmware,
# a NIC removed); a running one marks it pending (CPUs, a new disk, a new
# NIC) until its next start.
cpus_mem() { "$VMTTY" show "$1" --json | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["cpus"], v["memory_mib"], v["pending_restart"])'; }
t_status "edit k1 (off) --cpus 2 --memory 512" 0 "$VMTTY" edit k1 --cpus 2 --memory 512
t_eq "k1 changed, nothing pending" "2 512 None" "$(cpus_mem k1)"
# field NAME KEY: one value of show --json.
field() { "$VMTTY" show "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"; }
t_status "edit k1 --cmdline 'console=ttyS0 quiet'" 0 "$VMTTY" edit k1 --cmdline "console=ttyS0 quiet"
t_eq "show --json has the new cmdline" "console=ttyS0 quiet" "$(field k1 cmdline)"
t_match "qemu's -append has it" " -append 'console=ttyS0 quiet' " "$("$VMTTY" show k1 --argv)"
t_match "journaled" "ok +edit +local/k1: changed kernel command line" "$("$VMTTY" log k1)"
t_status "edit k1 --firmware uefi" 0 "$VMTTY" edit k1 --firmware uefi
t_eq "show --json has UEFI" "uefi" "$(field k1 firmware)"
t_match "qemu gets OVMF as pflash" " -drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE[^ ]*\.fd -drive if=pflash,format=raw,unit=1,file=$XDG_DATA_HOME/vmtty/nvram/$(vm_uuid k1)_VARS\.fd " \
	"$("$VMTTY" show k1 --argv)"
t_status "edit k1 --firmware bios" 0 "$VMTTY" edit k1 --firmware bios
t_nomatch "back on BIOS: no pflash" "if=pflash" "$("$VMTTY" show k1 --argv)"
t_status "edit k1 --remove-nic 0" 0 "$VMTTY" edit k1 --remove-nic 0
t_eq "k1 has no NIC left" "[]" "$(field k1 nics)"
t_nomatch "qemu gets no -netdev" "-netdev" "$("$VMTTY" show k1 --argv)"
t_status "removing a NIC it does not have is refused" 1 "$VMTTY" edit k1 --remove-nic 0
t_match "naming the number" "VM 'k1' has no NIC '0'; give its number from 0" "$T_ERR"
t_status "edit k2 (running) --cpus 2" 0 "$VMTTY" edit k2 --cpus 2
t_match "it says the change waits for a restart" "note: VM 'k2' is running: CPUs take effect at its next start" "$T_ERR"
t_eq "show k2 has the change, pending" "2 256 CPUs" "$(cpus_mem k2)"
t_match "list marks it" '"name": "k2".*"pending_restart": true' "$("$VMTTY" list --json | tr -d '\n')"
t_match "qemu still runs with 1 vCPU" "-smp 1[, ]" "$(tr '\0' ' ' <"/proc/$(vm_pid k2)/cmdline")"
t_status "edit k2 (running) --new-disk 64M --add-nic user --nic-model e1000" 0 \
	"$VMTTY" edit k2 --new-disk 64M --add-nic user --nic-model e1000
t_match "the note names disks and NICs" "note: VM 'k2' is running: disks, NICs take effect at its next start" "$T_ERR"
t_eq "pending: CPUs, then disks and NICs" "2 256 CPUs, disks, NICs" "$(cpus_mem k2)"
t_eq "show --json has the new disk and NIC" "$IMAGES/k2/k2-0.qcow2 virtio-net e1000" \
	"$("$VMTTY" show k2 --json | python3 -c 'import json,sys; v=json.load(sys.stdin); print(*[d["path"] for d in v["disks"]], *[n["model"] for n in v["nics"]])')"
t_check "the disk file is made at once" test -f "$IMAGES/k2/k2-0.qcow2"
t_nomatch "the running qemu has neither" "k2-0\.qcow2|e1000" "$(tr '\0' ' ' <"/proc/$(vm_pid k2)/cmdline")"
t_status "poweroff k2" 0 "$VMTTY" poweroff k2 --wait
t_status "start k2 again" 0 "$VMTTY" start k2 --wait
t_eq "the start took the pending change" "2 256 None" "$(cpus_mem k2)"
t_match "qemu runs with 2 vCPUs now" "-smp 2[, ]" "$(tr '\0' ' ' <"/proc/$(vm_pid k2)/cmdline")"
t_match "with the new disk and the e1000 NIC" "file=$IMAGES/k2/k2-0\.qcow2,.* -device e1000,netdev=net1," \
	"$(tr '\0' ' ' <"/proc/$(vm_pid k2)/cmdline")"
t_status "resizing a running VM's disk is refused" 1 "$VMTTY" edit k2 --resize-disk 0:2G
t_match "because it is running" "VM 'k2' is running: a disk grows only while it is stopped" "$T_ERR"
t_status "poweroff k2" 0 "$VMTTY" poweroff k2 --wait
t_status "edit c1 --resize-disk 0:30G" 0 "$VMTTY" edit c1 --resize-disk 0:30G
t_match "the overlay is 30G" '"virtual-size": 32212254720' "$(qemu-img info --output=json "$IMAGES/c1/c1.qcow2")"
t_status "shrinking is refused" 1 "$VMTTY" edit c1 --resize-disk 0:1G
t_match "saying disks only grow" "disks only grow" "$T_ERR"
t_status "edit c1 --new-disk 1G" 0 "$VMTTY" edit c1 --new-disk 1G
t_check "the new disk is in c1's directory" test -f "$IMAGES/c1/c1-2.qcow2"
t_status "edit c1 --remove-disk 1 (the seed ISO) --add-nic user" 0 "$VMTTY" edit c1 --remove-disk 1 --add-nic user
t_eq "c1's disks and NICs" "$IMAGES/c1/c1.qcow2 $IMAGES/c1/c1-2.qcow2 2" \
	"$("$VMTTY" show c1 --json | python3 -c 'import json,sys; v=json.load(sys.stdin); print(*[d["path"] for d in v["disks"]], len(v["nics"]))')"
t_status "edit c1 --boot network,disk" 0 "$VMTTY" edit c1 --boot network,disk
t_eq "show --json has the boot order" "network,disk" \
	"$("$VMTTY" show c1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["boot_order"])')"
t_match "show lists it" "Boot: +network,disk" "$("$VMTTY" show c1)"
t_match "the NICs boot first, then the disks" \
	"virtio-blk-pci,drive=disk0,id=vd0,bootindex=3 .*id=nic0,bootindex=1 .*id=nic1,bootindex=2" \
	"$("$VMTTY" show c1 --argv)"
t_status "a bad boot order is refused" 1 "$VMTTY" edit c1 --boot disk,floppy
t_match "naming the kind" "boot order 'disk,floppy': 'floppy' is not a device kind" "$T_ERR"
t_status "an empty boot order goes back to the disks in order" 0 "$VMTTY" edit c1 --boot ''
t_match "the disks boot in order again" "id=vd0,bootindex=1 .*id=vd1,bootindex=2 .*id=nic0 " \
	"$("$VMTTY" show c1 --argv)"
t_status "an edit with a bad value changes nothing" 1 "$VMTTY" edit c1 --cpus 0
t_match "and names the field" "CPUs: '0' is not a whole number" "$T_ERR"
t_status "an edit that fails after making a disk takes it back" 1 "$VMTTY" edit c1 --new-disk 1G --add-nic network:x
t_check "no c1-3.qcow2 left" test ! -e "$IMAGES/c1/c1-3.qcow2"
t_status "delete c1 --delete-disks" 0 "$VMTTY" delete c1 --delete-disks
t_eq "its disks are gone; the detached seed ISO stays" "./c1-seed.iso" "$(files_under "$IMAGES/c1")"

# Ctrl-C (here a SIGINT to vmtty alone) while the disk is copied: the copy
# stops and nothing is left.  qemu-img's own rate limit (convert -r)
# slows the copy, through VMTTY_QEMU_IMG.
head -c 32M /dev/urandom >"$T_TMP/BIG.raw"
printf '#!/bin/sh\nif [ "$1" = convert ]; then shift; exec qemu-img convert -r 2M "$@"; fi\nexec qemu-img "$@"\n' \
	>"$T_TMP/slow-qemu-img"
chmod 755 "$T_TMP/slow-qemu-img"
VMTTY_QEMU_IMG="$T_TMP/slow-qemu-img" "$VMTTY" create k9 --template debian-12-cloud \
	--image "$T_TMP/BIG.raw" --copy --user bob >"$T_TMP/k9.out" 2>&1 &
k9=$!
_copying() { pgrep -f "qemu-img convert -r 2M .*$T_TMP/BIG.raw" >/dev/null; }
t_check "qemu-img is copying k9's disk" wait_for 10 _copying
kill -INT "$k9"
wait "$k9"
t_eq "create exits 1 on SIGINT" 1 "$?"
t_match "saying nothing was made" "VM 'k9': creation cancelled by a signal; nothing was made" \
	"$(cat "$T_TMP/k9.out")"
t_check "qemu-img was stopped" wait_for 5 eval '! _copying'
t_check "no images/k9 left" test ! -e "$IMAGES/k9"
t_status "no k9 in the inventory" 1 "$VMTTY" show k9


# A disk two VMs use: deleting one of them with its disks is refused,
# names the other VM, and deletes nothing.
qemu-img create -q -f qcow2 "$T_TMP/S.qcow2" 64M
t_status "create s1 --disk S" 0 "$VMTTY" create s1 --disk "$T_TMP/S.qcow2"
t_status "create s2 --disk S" 0 "$VMTTY" create s2 --disk "$T_TMP/S.qcow2"
t_status "delete s2 --delete-disks is refused" 1 "$VMTTY" delete s2 --delete-disks
t_match "it names the VM that keeps the disk" \
	"disk '$T_TMP/S.qcow2' of VM 's2' is also used by VM 's1' on host 'local', which keeps it" "$T_ERR"
t_check "the disk is still there" test -f "$T_TMP/S.qcow2"
t_eq "both VMs are still there" "s1 s2" \
	"$("$VMTTY" list --json | python3 -c 'import json,sys; print(" ".join(v["name"] for v in json.load(sys.stdin) if v["name"] in ("s1", "s2")))')"
# A snapshot of s1 would write into (or freeze) the file s2 writes to.
t_status "snapshot s1 create x (full) is refused" 1 "$VMTTY" snapshot s1 create x
t_match "naming s2" "VM 's1': disk '$T_TMP/S.qcow2' is also needed by VM 's2' \\(its disk\\); a snapshot would change it under that VM: nothing was done" "$T_ERR"
t_status "snapshot s1 create y --disk-only is refused" 1 "$VMTTY" snapshot s1 create y --disk-only
t_eq "S holds no internal snapshot" "" "$(qemu-img snapshot -U -l "$T_TMP/S.qcow2")"
t_eq "and no overlay was made" "S.qcow2" "$(cd "$T_TMP" && ls S*)"
t_status "deleting s2 alone works" 0 "$VMTTY" delete s2
t_status "then s1 may delete the disk, its own now" 0 "$VMTTY" delete s1 --delete-disks
t_check "and it is gone" test ! -e "$T_TMP/S.qcow2"

# A disk another VM's disk stands on (an overlay made on it by --image,
# a linked clone's base): deleting its own VM with --delete-disks is
# refused naming the VM that needs it, and nothing is deleted.
qemu-img create -q -f qcow2 "$T_TMP/GOLD.qcow2" 64M
t_status "create cv on an overlay of GOLD" 0 "$VMTTY" create cv --template debian-12-cloud \
	--image "$T_TMP/GOLD.qcow2" --user bob
t_status "create golden --disk GOLD" 0 "$VMTTY" create golden --disk "$T_TMP/GOLD.qcow2"
t_status "delete golden --delete-disks is refused" 1 "$VMTTY" delete golden --delete-disks
t_match "it names the VM whose disk stands on it" \
	"disk '$T_TMP/GOLD.qcow2' of VM 'golden' is needed by VM 'cv' \(the backing file of its disk" \
	"$T_ERR"
t_check "GOLD is still there" test -f "$T_TMP/GOLD.qcow2"
t_status "golden is still there" 0 "$VMTTY" show golden
t_status "cv's chain still reads" 0 qemu-img info -U --backing-chain "$IMAGES/cv/cv.qcow2"
t_status "cv deleted with its disks" 0 "$VMTTY" delete cv --delete-disks
t_check "its overlay is gone" test ! -e "$IMAGES/cv/cv.qcow2"
t_status "now golden goes with GOLD" 0 "$VMTTY" delete golden --delete-disks
t_check "GOLD is gone" test ! -e "$T_TMP/GOLD.qcow2"

# The same for a qcow2 image's external data file.
qemu-img create -q -f qcow2 -o data_file="$T_TMP/DATA.raw",data_file_raw=on "$T_TMP/A.qcow2" 64M
t_status "create da on A (its data in DATA.raw)" 0 "$VMTTY" create da --disk "$T_TMP/A.qcow2"
t_status "create db on DATA.raw" 0 "$VMTTY" create db --disk "$T_TMP/DATA.raw" --memory 64M
t_status "delete db --delete-disks is refused" 1 "$VMTTY" delete db --delete-disks
t_match "naming da and why" "needed by VM 'da' \\(the data file of its disk '$T_TMP/A.qcow2'\\)" "$T_ERR"
t_status "A still opens" 0 qemu-img check -q "$T_TMP/A.qcow2"
t_status "delete db and da" 0 sh -c '"$1" delete db && "$1" delete da' _ "$VMTTY"

# kill -9 while the disk is copied: qemu-img dies with vmtty; the next
# vmtty takes back what the creation made, says so, and the same create
# works.
_copying8() { pgrep -f "qemu-img convert -r 2M .*BIG.raw $IMAGES/k8/k8.qcow2" >/dev/null; }
VMTTY_QEMU_IMG="$T_TMP/slow-qemu-img" "$VMTTY" create k8 --template debian-12-cloud \
	--image "$T_TMP/BIG.raw" --copy --user bob >/dev/null 2>&1 &
k8=$!
t_check "qemu-img is copying k8's disk" wait_for 10 _copying8
# Meanwhile another vmtty leaves a creation under way alone.
t_status "a vmtty started meanwhile runs" 0 "$VMTTY" list
t_eq "and says nothing of k8's creation" "" "$T_ERR"
t_check "k8's files are still being made" test -e "$IMAGES/k8/k8.qcow2"
{ kill -KILL "$k8"; wait "$k8"; } 2>/dev/null
t_check "no qemu-img is left within 1 s" wait_for 1 eval '! _copying8'
t_check "the killed create left images/k8" test -e "$IMAGES/k8/k8.qcow2"
t_status "the next vmtty (list) runs" 0 "$VMTTY" list
t_eq "it says the creation was interrupted and cleaned up" \
	"vmtty: creation of k8 interrupted; cleaned up" "$T_ERR"
t_check "images/k8 is gone" test ! -e "$IMAGES/k8"
t_match "the journal says so" "creation of k8 interrupted; cleaned up" "$("$VMTTY" log k8 2>&1)"
t_status "a second vmtty has nothing left to take back" 0 "$VMTTY" list
t_eq "and says nothing" "" "$T_ERR"
t_status "the same create succeeds" 0 "$VMTTY" create k8 --template debian-12-cloud \
	--image "$T_TMP/BIG.raw" --copy --user bob
t_check "k8's disk is there" test -f "$IMAGES/k8/k8.qcow2"
t_status "delete k8 --delete-disks" 0 "$VMTTY" delete k8 --delete-disks

t_summary
