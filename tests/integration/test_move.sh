#!/usr/bin/env bash
# Cold moves, `vmtty migrate VM --to HOST --offline`, between the built-in
# host "local" and real private libvirtds L and L2 (pool "default" each,
# their own directories; pool "shared" in a directory both see), with the
# tiny guest booting from its qcow2 disk.  Issue 16, must-show 5, and the
# failures:
#   - M1 (a full qcow2 copy, vmtty's): boots on local; moved to L, where the
#     volume's bytes are the file's (sha256sum); boots on L; refused while
#     it runs there; moved back (--json) into the images dir (0600); boots;
#     both journals say so;
#   - M2 (a qcow2 overlay on the guest's image): flattened on the way to L
#     (--keep-source: the overlay stays and reads the same, qemu-img
#     compare); its way back refused by a file in the way, then stopped with
#     SIGINT mid-copy (--bandwidth 1): nothing left on local, L as it was;
#     then L -> L2 through vmtty (not shared): the same bytes on L2;
#   - M3 (a volume of the shared pool on L): L -> L2 finds it shared: not
#     copied, its file stays;
#   - refused: a domain of that name on L; a pool too small (a 1 MiB tmpfs):
#     the upload fails, nothing left in the pool, M1 stays on local.
# Timings are printed as "# ..." lines.
source "$(dirname "$0")/libvirtd.sh"

ms() { echo $(($(date +%s%N) / 1000000)); }
note() { echo "# $*"; }
T_START=$(ms)
M1=mv1-$$ M2=mv2-$$ M3=mv3-$$

# inv: every VM of the inventory as "host/name uuid", one a line.
inv() {
	"$VMTTY" list --json 2>/dev/null | python3 -c '
import json, sys
for v in json.load(sys.stdin): print("%s/%s %s" % (v["host"], v["name"], v["uuid"]))' | sort
}
inv_host() { inv | awk -v n="$1" '{ split($1, a, "/"); if (a[2] == n) print a[1] }'; }
one_line() { [ "$(printf '%s\n' "$1" | wc -l)" = 1 ] && [ -n "$1" ]; }
sha() { sha256sum "$1" 2>/dev/null | cut -d' ' -f1; }
lv_state() { timeout 20 virsh -q -c "$1" domstate "$2" 2>/dev/null | head -n 1; }
vols() { timeout 20 virsh -q -c "$1" vol-list "$2" 2>/dev/null | awk 'NF { print $1 }' | sort | tr '\n' ' '; }
# vol_file URI POOL VOL: the volume's file as seen from here.
vol_file() {
	local p
	p=$(timeout 20 virsh -q -c "$1" vol-path "$3" --pool "$2" 2>/dev/null) || return 1
	(libvirtd_use "$4" && libvirtd_host_path "$p")
}
images=$XDG_DATA_HOME/vmtty/images
tiny() {
	"$VMTTY" create "$1" --kernel "$GUEST/vmlinuz" --initrd "$GUEST/initrd.img" \
		--cmdline "console=ttyS0 vmtty.root=/dev/vda" --memory 256 --accel tcg "${@:2}"
}

# ---- daemons, pools, hosts ---------------------------------------------------
t_check "libvirtd_start L" libvirtd_start L
L_URI=$LIBVIRTD_URI
t_check "L: pool 'default' in its own directory" libvirtd_pool default
SHARED=$(libvirtd_shared_dir)
t_check "L: pool 'shared' at $SHARED" libvirtd_pool shared "$SHARED"
mkdir -p "$LIBVIRTD_DIR/lib/small"
t_check "L: a 1 MiB tmpfs for pool 'small'" \
	libvirtd_exec mount -t tmpfs -o size=1m,mode=0711 tmpfs /var/lib/libvirt/small
t_check "(pool 'small' defined)" libvirtd_pool small /var/lib/libvirt/small
t_status "vmtty host add L" 0 "$VMTTY" host add L "$L_URI"

# ---- M1 boots on local --------------------------------------------------------
t_status "create $M1 on local: a full copy of the guest's qcow2 disk" 0 tiny "$M1" --image "$GUEST/rootfs.qcow2" --copy
src1=$images/$M1/$M1.qcow2
t_check "its disk is vmtty's, in the images dir" test -f "$src1"
t_status "start $M1 on local: GUEST READY" 0 "$VMTTY" start "$M1" --wait-serial "GUEST READY" --timeout 90
t_check "it booted from its disk" wait_serial "$M1" "ROOT=disk" 1 5
t_status "shut $M1 down (ACPI)" 0 "$VMTTY" shutdown "$M1" --wait --timeout 60
sum1=$(sha "$src1")

# ---- refusals before anything moves --------------------------------------------
tiny_domain_xml "$M1" 64 >"$T_TMP/taken.xml"
t_status "L: a domain named $M1 (another UUID)" 0 virsh -q -c "$L_URI" define "$T_TMP/taken.xml"
inv0=$(inv)
t_status "migrate local/$M1 --to L --offline: refused, the name is taken" 1 "$VMTTY" migrate "local/$M1" --to L --offline
t_match "one line saying so" "^vmtty: host 'L' already has a (domain|VM) named '$M1' \(or with its UUID\)" "$T_ERR"
t_check "(one line)" one_line "$T_ERR"
t_eq "nothing in L's pool" "" "$(vols "$L_URI" default)"
virsh -q -c "$L_URI" undefine "$M1" >/dev/null
inv0=$(inv)

t0=$(ms)
t_status "migrate $M1 --to L --offline --pool small: the upload fails" 1 "$VMTTY" migrate "$M1" --to L --offline --pool small
note "pool too small: $(($(ms) - t0)) ms; $T_ERR"
t_match "one line: did not move, why, stays on local" \
	"^vmtty: VM '$M1' did not move to host 'L': .*; it stays on host 'local' as before\$" "$T_ERR"
t_check "(one line)" one_line "$T_ERR"
t_eq "pool 'small' has no volume left" "" "$(vols "$L_URI" small)"
t_eq "L has no domain" "" "$(virsh -q -c "$L_URI" list --all --name 2>/dev/null | sed '/^$/d')"
t_eq "the disk on local is as it was" "$sum1" "$(sha "$src1")"
t_eq "the inventory is as it was" "$inv0" "$(inv)"

# ---- 5. M1: local -> L -----------------------------------------------------------
t0=$(ms)
t_status "migrate $M1 --to L --offline --progress" 0 "$VMTTY" migrate "$M1" --to L --offline --progress
note "local -> L: $(($(ms) - t0)) ms; $(printf '%s\n' "$T_OUT" | grep '^VM ')"
printf '%s\n' "$T_OUT" | sed 's/^/# | /'
t_match "the preflight says it is off and what it copies" "VM '$M1' is off on host 'local'.*copies 1 disk" "$(printf '%s' "$T_OUT" | tr '\n' ' ')"
t_match "progress lines in bytes" '^ +[0-9.]+s (copy|verify) +[0-9]+%  [0-9.]+ [KMG]?i?B of' "$T_OUT"
t_match "the last lines: moved, the disk with its SHA-256" "^VM $M1 moved offline from host 'local' to host 'L' in [0-9.]+ s \(1 of 1 disk copied" "$T_OUT"
t_match "the checksum printed is the file's" "sha256 $sum1\$" "$T_OUT"
dst1=$(vol_file "$L_URI" default "$M1.qcow2" L)
t_check "L's pool 'default' has volume $M1.qcow2" test -n "$dst1"
t_eq "its bytes are the file's (sha256sum)" "$sum1" "$(sha "$dst1")"
t_match "a qcow2 volume of the disk's capacity" "<capacity unit='bytes'>$(qemu-img info --output=json "$dst1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')</capacity>.*<format type='qcow2'/>" \
	"$(virsh -q -c "$L_URI" vol-dumpxml "$M1.qcow2" --pool default | tr -d '\n')"
t_eq "the domain is defined on L, shut off" "shut off" "$(lv_state "$L_URI" "$M1")"
t_eq "the inventory has it on L" L "$(inv_host "$M1")"
t_check "the source disk is gone from local" test ! -e "$src1"
t_check "and its directory" test ! -e "$images/$M1"
for h in local L; do
	t_match "host $h's journal records the move" " ok +migrate +$h/$M1: moved offline from host 'local' to host 'L'" \
		"$("$VMTTY" log --host $h 2>&1)"
done

t_status "start $M1 on L" 0 "$VMTTY" start "$M1"
libvirtd_use L
t_check "$M1 on L: GUEST READY within 90 s" libvirtd_wait_serial "$M1" "GUEST READY" 90
t_check "booted from the moved disk" libvirtd_wait_serial "$M1" "ROOT=disk" 1

inv0=$(inv)
t_status "migrate $M1 --to local --offline while it runs: refused" 1 "$VMTTY" migrate "$M1" --to local --offline
t_eq "one line: stop it first, or migrate live" \
	"vmtty: VM '$M1' is running on host 'L': stop it first, or migrate it live (without --offline)" "$T_ERR"
t_eq "it runs on L" running "$(lv_state "$L_URI" "$M1")"
t_eq "the inventory is as it was" "$inv0" "$(inv)"
t_status "shut $M1 down on L (ACPI)" 0 "$VMTTY" shutdown "$M1" --wait --timeout 60
sum1l=$(sha "$dst1")

# ---- 5. M1: L -> local, --json ---------------------------------------------------
t0=$(ms)
t_status "migrate $M1 --to local --offline --json" 0 "$VMTTY" migrate "$M1" --to local --offline --json
note "L -> local: $(($(ms) - t0)) ms"
printf '%s\n' "$T_OUT" >"$T_TMP/back.json"
t_check "every line is a JSON object with an event" python3 -c '
import json, sys
for l in open(sys.argv[1]):
    assert "event" in json.loads(l)' "$T_TMP/back.json"
t_eq "events: preflight, progress..., done" "preflight progress done" "$(python3 -c '
import json, sys
out = []
for l in open(sys.argv[1]):
    e = json.loads(l)["event"]
    if not out or out[-1] != e: out.append(e)
print(" ".join(out))' "$T_TMP/back.json")"
done_ev=$(tail -n 1 "$T_TMP/back.json")
back1=$images/$M1/$M1.qcow2
t_eq "the done event: the disk's new path and SHA-256" "$back1 $sum1l" \
	"$(printf '%s' "$done_ev" | python3 -c 'import json,sys; d=json.load(sys.stdin)["disk_list"][0]; print(d["destination"], d["sha256"])')"
t_eq "the file's bytes are the volume's (sha256sum)" "$sum1l" "$(sha "$back1")"
t_eq "the file is 0600" 600 "$(stat -c %a "$back1")"
t_eq "its directory 0700" 700 "$(stat -c %a "$images/$M1")"
t_eq "L's volume is gone" "" "$(vols "$L_URI" default)"
t_eq "and its domain" "" "$(lv_state "$L_URI" "$M1")"
t_eq "the inventory has it on local" local "$(inv_host "$M1")"
t_status "start $M1 on local again: GUEST READY" 0 "$VMTTY" start "$M1" --wait-serial "GUEST READY" --timeout 90
t_check "booted from the disk it came back with" wait_serial "$M1" "ROOT=disk" 1 5
t_status "power $M1 off" 0 "$VMTTY" poweroff "$M1" --wait

# ---- M2: an overlay, flattened on its way to L --------------------------------------
t_status "create $M2 on local: a qcow2 overlay on the guest's image" 0 tiny "$M2" --image "$GUEST/rootfs.qcow2"
src2=$images/$M2/$M2.qcow2
t_match "(its disk has a backing file)" "backing file: $GUEST/rootfs.qcow2" "$(qemu-img info "$src2")"
t_status "migrate $M2 --to L --offline --keep-source --json" 0 "$VMTTY" migrate "$M2" --to L --offline --keep-source --json
t_eq "the done event says it was flattened" True \
	"$(tail -n 1 <<<"$T_OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["disk_list"][0]["flattened"])')"
dst2=$(vol_file "$L_URI" default "$M2.qcow2" L)
t_nomatch "the volume on L has no backing file" "backing file" "$(qemu-img info "$dst2")"
t_status "and reads as the overlay does (qemu-img compare)" 0 qemu-img compare -f qcow2 -F qcow2 "$src2" "$dst2"
t_check "--keep-source: the overlay stays on local" test -f "$src2"
t_check "no flattened copy is left behind" sh -c '! ls -A "$1" | grep -q "^\.move-"' _ "$images"
t_eq "the inventory has $M2 on L" L "$(inv_host "$M2")"

inv0=$(inv)
sum2=$(sha "$dst2") kept2=$(sha "$src2")
t_status "migrate $M2 --to local --offline: the kept file is in the way" 1 "$VMTTY" migrate "$M2" --to local --offline
t_match "one line naming it" "^vmtty: VM '$M2' did not move to host 'local': '$src2' exists already; .*it stays on host 'L' as before\$" "$T_ERR"
t_eq "the file in the way is untouched" "$kept2" "$(sha "$src2")"
t_eq "L still has the volume" "$sum2" "$(sha "$dst2")"
t_eq "the inventory is as it was" "$inv0" "$(inv)"
rm -f "$src2"; rmdir "$images/$M2"

# ---- M2: L -> local stopped with SIGINT ----------------------------------------------
"$VMTTY" migrate "$M2" --to local --offline --bandwidth 1 --progress >"$T_TMP/abort.out" 2>"$T_TMP/abort.err" &
mig=$!
_copying() { grep -q ' copy .*[1-9][0-9.]* [KM]iB of' "$T_TMP/abort.out" || _lv_dead "$mig"; }
wait_for 30 _copying
t_check "a progress line of the copy" grep -q ' copy ' "$T_TMP/abort.out"
t_check "the file is being written on local" test -e "$images/$M2/$M2.qcow2"
t_check "SIGINT to vmtty" kill -INT "$mig"
t1=$(ms)
wait "$mig"
rc=$?
note "abort: vmtty exited $(($(ms) - t1)) ms after SIGINT"
t_eq "vmtty migrate exits 1" 1 "$rc"
err=$(cat "$T_TMP/abort.err")
t_eq "one line: stopped as asked, stays on L" \
	"vmtty: VM '$M2' did not move to host 'local': the move stopped as asked; it stays on host 'L' as before" "$err"
t_check "nothing of it on local (no file, no directory)" test ! -e "$images/$M2"
t_eq "L still has its domain" "shut off" "$(lv_state "$L_URI" "$M2")"
t_eq "and its volume, as it was" "$sum2" "$(sha "$dst2")"
t_eq "the inventory is as it was" "$inv0" "$(inv)"
t_match "the journal has the failure" "migrate .*stopped as asked" "$("$VMTTY" log "$M2" 2>&1)"

# ---- libvirt -> libvirt --------------------------------------------------------------
t_check "libvirtd_start L2" libvirtd_start L2
L2_URI=$LIBVIRTD_URI
t_check "L2: pool 'default' in its own directory" libvirtd_pool default
t_check "L2: pool 'shared' at $SHARED" libvirtd_pool shared "$SHARED"
t_status "vmtty host add L2" 0 "$VMTTY" host add L2 "$L2_URI"
t_status "migrate $M2 --to L2 --offline (no shared storage)" 0 "$VMTTY" migrate "$M2" --to L2 --offline
t_match "copied" "^VM $M2 moved offline from host 'L' to host 'L2' in [0-9.]+ s \(1 of 1 disk copied" "$T_OUT"
dst2b=$(vol_file "$L2_URI" default "$M2.qcow2" L2)
t_eq "L2's volume has the bytes L's had" "$sum2" "$(sha "$dst2b")"
t_check "L's volume is gone" test ! -e "$dst2"
t_eq "L2 has the domain" "shut off" "$(lv_state "$L2_URI" "$M2")"
t_eq "L has not" "" "$(lv_state "$L_URI" "$M2")"
t_eq "the inventory has it on L2" L2 "$(inv_host "$M2")"

t_status "create $M3 on L: a new disk in pool 'shared'" 0 \
	"$VMTTY" create "$M3" --host L --pool shared --disk-size 16M --memory 128 --accel tcg
shared3=$(timeout 20 virsh -q -c "$L_URI" vol-path "$M3.qcow2" --pool shared)
sum3=$(sha "$shared3")
t_status "migrate $M3 --to L2 --offline (shared storage)" 0 "$VMTTY" migrate "$M3" --to L2 --offline
t_match "found shared, nothing copied" "\(0 of 1 disk copied, 0 B" "$T_OUT"
t_match "(shared, not copied)" "shared, not copied" "$T_OUT"
t_eq "the file stays, as it was" "$sum3" "$(sha "$shared3")"
t_eq "L2 has the domain" "shut off" "$(lv_state "$L2_URI" "$M3")"
t_eq "L has not" "" "$(lv_state "$L_URI" "$M3")"

# ---- L's libvirtd killed mid-upload: the next vmtty takes the volume back ----------
inv0=$(inv) sum1b=$(sha "$back1")
libvirtd_use L
L_PID=$LIBVIRTD_PID
"$VMTTY" migrate "$M1" --to L --offline --bandwidth 1 --progress >"$T_TMP/kill.out" 2>"$T_TMP/kill.err" &
mig=$!
_uploading() { grep -q ' copy .*[1-9][0-9.]* [KM]iB of' "$T_TMP/kill.out" || _lv_dead "$mig"; }
wait_for 30 _uploading
t_check "a progress line of the upload" grep -q ' copy ' "$T_TMP/kill.out"
part=$(libvirtd_host_path "$(libvirtd_pool_path default)")/$M1.qcow2
t_check "the volume is being filled on L" test -e "$part"
t_check "kill -9 L's libvirtd" kill -KILL "$L_PID"
t1=$(ms)
wait "$mig"
rc=$?
note "L killed; vmtty exited $(($(ms) - t1)) ms later"
t_eq "vmtty migrate exits 1" 1 "$rc"
err=$(cat "$T_TMP/kill.err")
t_match "one line: did not move, stays on local, the rest is cleaned up later" \
	"^vmtty: VM '$M1' did not move to host 'L': .*; it stays on host 'local' as before; what it made on host 'L' could not all be removed \(.*\): the next vmtty removes it once the host answers\$" "$err"
t_check "(one line)" one_line "$err"
t_eq "the disk on local is as it was" "$sum1b" "$(sha "$back1")"
rm -f "$LIBVIRTD_DIR/run/libvirt/libvirt-sock"
t_check "L's libvirtd restarted" libvirtd_restart L
t_check "the half-made volume is still there" test -e "$part"
t_status "the next vmtty (list) takes it back" 0 "$VMTTY" list
t_match "and says so" "creation of $M1 interrupted; cleaned up" "$T_ERR"
t_check "the volume is gone" test ! -e "$part"
t_eq "L's pool lists nothing" "" "$(vols "$L_URI" default)"
t_eq "the inventory is as it was" "$inv0" "$(inv)"

# ---- a base another VM's overlay stands on stays when its VM moves away -------
qemu-img create -q -f qcow2 "$T_TMP/GOLD.qcow2" 16M
qemu-img create -q -f qcow2 -b "$T_TMP/GOLD.qcow2" -F qcow2 "$T_TMP/OV.qcow2"
t_status "create golden on GOLD" 0 "$VMTTY" create golden --disk "$T_TMP/GOLD.qcow2"
t_status "create cv on an overlay of GOLD" 0 "$VMTTY" create cv --disk "$T_TMP/OV.qcow2"
t_status "migrate golden --to L --offline" 0 "$VMTTY" migrate golden --to L --offline
t_match "it says GOLD stays, naming cv" \
	"disk '$T_TMP/GOLD.qcow2' stays on host 'local': VM 'cv' needs it \\(the backing file of its disk" \
	"$T_OUT$T_ERR"
t_check "GOLD is still there" test -f "$T_TMP/GOLD.qcow2"
t_status "cv's backing chain still opens" 0 qemu-img info -U --backing-chain "$T_TMP/OV.qcow2"

note "whole test: $(($(ms) - T_START)) ms"
t_summary
