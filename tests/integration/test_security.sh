#!/usr/bin/env bash
# Another user on the machine gets nothing of a VM: a runtime directory
# planted in /tmp (a directory or a symbolic link) is refused, a planted
# symbolic link is never followed to a file QEMU would truncate, and
# everything vmtty makes is its user's alone whatever the umask.
source "$(dirname "$0")/lib.sh"

# 1. The victim: a uid of its own with no XDG_RUNTIME_DIR, so its runtime
# base is /tmp/vmtty-UID; the attacker is nobody (65534) and plants that
# name first.  The uid needs no passwd entry (setpriv).
V=$((40000 + $$ % 20000))
vbase="/tmp/vmtty-$V"
vhome=$(mktemp -d /tmp/vmtty-victim.XXXXXX)
ahome=$(mktemp -d /tmp/vmtty-attacker.XXXXXX)
chown "$V:$V" "$vhome"
chown 65534:65534 "$ahome"
chmod 755 "$ahome"
t_on_exit "rm -rf '$vbase' '$vhome' '$ahome'"
# Whatever the victim's code started, by pid: the uid is this test's own.
t_on_exit "for p in \$(pgrep -u $V); do kill -9 \$p; done"
rm -rf "$vbase"

as_victim() {
	env -u XDG_RUNTIME_DIR -u VMTTY_RUNTIME_DIR HOME="$vhome" VMTTY_DB="$vhome/inv.db" \
		XDG_DATA_HOME="$vhome/data" setpriv --reuid="$V" --regid="$V" --clear-groups "$@"
}
as_attacker() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
no_sockets() { [ -z "$(find "$1" -type s 2>/dev/null)" ]; }
no_qemu() { ! pgrep -u "$V" >/dev/null; }

t_status "the victim creates a firmware-only VM" 0 \
	as_victim "$VMTTY" create fw --memory 64 --accel tcg --graphics none --network none
id=$(as_victim "$VMTTY" show fw --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["uuid"][:8])')
rm -rf "$vbase"	# the attacker is first
echo "typed secrets" >"$vhome/precious"
chown "$V:$V" "$vhome/precious"

# A directory of the attacker's, open to all, with the VM's directory and a
# serial log pointing at a file of the victim's already in it.
as_attacker mkdir -m 777 "$vbase"
as_attacker mkdir -m 777 "$vbase/$id"
as_attacker ln -s "$vhome/precious" "$vbase/$id/serial.log"
t_status "start refuses a runtime directory another user made" 1 as_victim "$VMTTY" start fw
t_eq "with one line" 1 "$(printf '%s\n' "$T_ERR" | wc -l)"
t_match "naming it, why, and what to do" \
	"^vmtty: refusing runtime directory '$vbase': it belongs to uid 65534, not to you \(uid $V\); remove it, or set XDG_RUNTIME_DIR" "$T_ERR"
t_check "no socket is made in it" no_sockets "$vbase"
t_check "no qemu runs" no_qemu
t_eq "the planted serial.log link is not followed" "typed secrets" "$(cat "$vhome/precious")"
t_status "console refuses it too" 1 as_victim "$VMTTY" console fw
t_match "with the same message" "^vmtty: refusing runtime directory '$vbase'" "$T_ERR"

# A symbolic link by that name to a directory of the attacker's.
rm -rf "$vbase"
as_attacker mkdir -m 777 "$ahome/run"
as_attacker ln -s "$ahome/run" "$vbase"
t_status "start refuses a runtime directory that is a symbolic link" 1 as_victim "$VMTTY" start fw
t_eq "with one line" 1 "$(printf '%s\n' "$T_ERR" | wc -l)"
t_match "saying so" "^vmtty: refusing runtime directory '$vbase': it is a symbolic link; remove it" "$T_ERR"
t_check "no socket is made where it points" no_sockets "$ahome/run"
t_check "nothing at all is made there" test -z "$(ls -A "$ahome/run")"
t_check "no qemu runs" no_qemu

# A directory of the victim's own, open to others: refused until chmod 700.
rm -f "$vbase"
as_victim mkdir -m 755 "$vbase"
t_status "start refuses the victim's own runtime directory open to others" 1 as_victim "$VMTTY" start fw
t_match "and says to chmod it" "other users can reach it \(mode 0755\); chmod 700 it, or remove it" "$T_ERR"
chmod 700 "$vbase"
t_status "once it is 0700 the VM starts" 0 as_victim "$VMTTY" start fw
t_eq "the VM's runtime directory is 0700 and the victim's" "700 $V" "$(stat -c '%a %u' "$vbase/$id")"
# While it runs, a planted directory in its place: the inventory last saw
# fw running, but list and show must not say so as if they knew.
mv "$vbase" "$vbase.aside"
as_attacker mkdir -m 777 "$vbase"
t_status "list with a planted runtime directory" 0 as_victim "$VMTTY" list
t_match "fw is shown as unknown, not as last seen" 'fw +unknown' "$T_OUT"
t_match "and it says why, in one line" \
	"^vmtty: host 'local': the VMs' states cannot be read: refusing runtime directory '$vbase'" "$T_ERR"
t_status "show with it" 0 as_victim "$VMTTY" show fw --json
t_match "says unknown too" '"state": "unknown"' "$T_OUT"
rm -rf "$vbase"
mv "$vbase.aside" "$vbase"
t_status "and powers off" 0 as_victim "$VMTTY" poweroff fw --wait
rm -rf "$vbase"
t_status "a runtime directory the victim's vmtty makes itself is used" 0 as_victim "$VMTTY" start fw
t_eq "it is 0700 and the victim's" "700 $V" "$(stat -c '%a %u' "$vbase")"
as_victim "$VMTTY" poweroff fw --wait >/dev/null 2>&1

# 2. Symbolic links by the names of the VM's logs, in a runtime directory
# that is ours: QEMU must not truncate what they point at.
t_status "create lk (firmware only)" 0 "$VMTTY" create lk --memory 64 --accel tcg --graphics none --network none
lkdir="$VMTTY_RUNTIME_DIR/$(vm_uuid lk | cut -c1-8)"
mkdir -p -m 700 "$VMTTY_RUNTIME_DIR" "$lkdir"
for f in serial trace; do echo "keep $f" >"$T_TMP/keep-$f"; done
ln -s "$T_TMP/keep-serial" "$lkdir/serial.log"
ln -s "$T_TMP/keep-trace" "$lkdir/qemu-trace.log"
t_status "lk starts" 0 "$VMTTY" start lk
t_eq "the file a serial.log link pointed at is untouched" "keep serial" "$(cat "$T_TMP/keep-serial")"
t_eq "the file a qemu-trace.log link pointed at is untouched" "keep trace" "$(cat "$T_TMP/keep-trace")"
t_check "serial.log is a file of its own now" test -f "$lkdir/serial.log" -a ! -L "$lkdir/serial.log"
t_check "qemu-trace.log too" test -f "$lkdir/qemu-trace.log" -a ! -L "$lkdir/qemu-trace.log"
t_status "poweroff lk" 0 "$VMTTY" poweroff lk --wait
echo "keep log" >"$T_TMP/keep-log"
rm -f "$lkdir/qemu.log"
ln -s "$T_TMP/keep-log" "$lkdir/qemu.log"
t_status "a qemu.log that is a symbolic link is refused" 1 "$VMTTY" start lk
t_match "naming it" "cannot open log '$lkdir/qemu.log': it is a symbolic link; remove it" "$T_ERR"
t_eq "what it points at is untouched" "keep log" "$(cat "$T_TMP/keep-log")"
t_eq "lk is off" off "$(vm_state lk)"
rm -f "$lkdir/qemu.log"

# 3. Under umask 000, with --dir a 0755 directory: every file vmtty or its
# tools make is 0600, every directory 0700, every socket 0600 from birth.
# A watcher polls the VM's runtime directory from before the start and
# stats each socket the moment it appears; later, a socket found looser
# (a qemu an older vmtty started) is made 0600 when vmtty reattaches.
export XDG_CONFIG_HOME="$T_TMP/config"
qemu-img create -q -f qcow2 "$T_TMP/BASE.qcow2" 64M
ssh-keygen -q -t ed25519 -N '' -f "$T_TMP/key"
mkdir -m 755 "$T_TMP/vms"
umask 000
t_status "create c1 (cloud-init seed) under umask 000 with --dir a 0755 dir" 0 \
	"$VMTTY" create c1 --template debian-12-cloud --image "$T_TMP/BASE.qcow2" \
	--ssh-key "$T_TMP/key.pub" --dir "$T_TMP/vms" --memory 128 --accel tcg --graphics vnc
c1dir="$VMTTY_RUNTIME_DIR/$(vm_uuid c1 | cut -c1-8)"
python3 - "$c1dir" "$T_TMP/birth" "$T_TMP/watching" <<'EOP' &
import os, stat, sys, time
d, out, ready = sys.argv[1:4]
seen = {}
open(ready, "w").close()
deadline = time.monotonic() + 60
while len(seen) < 4 and time.monotonic() < deadline:
    try:
        names = os.listdir(d)
    except FileNotFoundError:
        names = []
    for n in names:
        if n.endswith(".sock") and n not in seen:
            try:
                st = os.lstat(os.path.join(d, n))
            except FileNotFoundError:
                continue
            seen[n] = "%o %s" % (stat.S_IMODE(st.st_mode), n)
    time.sleep(0.0002)
with open(out, "w") as f:
    f.write("".join(v + "\n" for v in sorted(seen.values())))
EOP
watcher=$!
t_check "the watcher is up" wait_for 10 test -e "$T_TMP/watching"
t_status "start c1 under umask 000" 0 "$VMTTY" start c1
umask 022
wait "$watcher"
# Where vmtty put things: the VM's directory, the runtime base, the inventory.
mine=("$T_TMP/vms" "$VMTTY_RUNTIME_DIR" "$VMTTY_DB")
[ ! -d "$XDG_DATA_HOME" ] || mine+=("$XDG_DATA_HOME")
t_eq "QEMU made four sockets" 4 "$(wc -l <"$T_TMP/birth")"
t_eq "each was 0600 the moment it appeared" "" "$(grep -v '^600 ' "$T_TMP/birth")"
t_eq "the sockets are 0600 now" "" "$(find "$c1dir" -type s ! -perm 600)"
chmod 750 "$c1dir/qmp.sock" "$c1dir/vnc.sock"
t_status "list reattaches to c1 with two sockets made 0750" 0 "$VMTTY" list
t_match "c1 is running" 'c1 +running' "$T_OUT"
t_eq "the sockets are 0600 again" "" "$(find "$c1dir" -type s ! -perm 600)"
made=$(find "${mine[@]}" -type f)
t_match "the disk and the seed ISO are among the files" "c1\.qcow2.*c1-seed\.iso|c1-seed\.iso.*c1\.qcow2" "$(echo $made)"
t_match "and the VM's logs and pidfile" "qemu\.pid" "$(echo $made)"
t_eq "every file is 0600" "" "$(find "${mine[@]}" -type f ! -perm 600)"
t_eq "every directory vmtty made is 0700" "" "$(find "${mine[@]}" -mindepth 1 -type d ! -perm 700)"
t_status "poweroff c1" 0 "$VMTTY" poweroff c1 --wait

t_summary
