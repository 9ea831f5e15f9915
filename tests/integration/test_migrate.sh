#!/usr/bin/env bash
# vmtty migrate between two real private libvirtds A and B, each in its own
# mount and network namespace (distinct host_uuid), both vmtty hosts by
# their unix socket URIs, B's migration address set with `vmtty host set`.
# The tiny guest boots from a qcow2 disk: G1's disk in a directory both
# daemons see (shared storage), G2's in A's own pool 'images' (B has a pool
# of that name in its own directory).  In this order (two guests at most):
#   6. preflight refusals: a domain of G1's name on B, a network B lacks, more
#      memory than B has free: one line each, exit 1, nothing moved;
#   4. B's libvirtd killed (-9) while G1 moves (throttled): exit 1, one line,
#      G1 runs on A, B has nothing of it (after a restart), inventory as was;
#      then while G2's disk is copied to B (--copy-storage, throttled): the
#      same, and the volume vmtty made on B, which B's dead daemon could not
#      delete, goes with the next vmtty once B is back;
#   1. G1 live on shared storage (--json): a counter it prints on its serial
#      port goes on on B from where it stopped on A; G1 runs on B, is gone
#      from A, `vmtty list` shows it on B; the downtime is under 1 s;
#   3. G2 with --copy-storage, throttled, stopped with SIGINT mid-copy: exit 1,
#      G2 runs on A, B has no domain and no volume, inventory as was; the
#      progress lines say "stopping" while it stops;
#   2. G2 with --copy-storage: a file written on A reads back on B.
# Then, on the same two daemons, the self-test of the migration harness in
# libvirtd.sh with plain virsh (formerly test_libvirtd_migrate_harness.sh):
# the namespaces, addresses and URIs of A and B; the tiny guest migrating
# live on shared storage A->B (managed by the client over unix socket URIs)
# and back (peer to peer over TCP); on per-instance storage with
# --copy-storage-all: refused while B has no pool for the disk, aborted
# while throttled (it stays on A), then A->B with the volume made first on
# B, where a file written before the move reads back; a test killed with -9
# leaves no namespace, link or process behind.
# Timings and the downtime are printed as "# ..." lines.
source "$(dirname "$0")/libvirtd.sh"
# inv_db reads it with sqlite3.
export VMTTY_DB=$T_TMP/inv.db

ms() { echo $(($(date +%s%N) / 1000000)); }
note() { echo "# $*"; }
G1=mg1-$$ G2=mg2-$$ PN=mgnet-$$ PM=mgmem-$$ H1=mig1-$$ H2=mig2-$$
T_START=$(ms)
host_uuid() { virsh -c "$1" capabilities 2>/dev/null | sed -n 's:^ *<uuid>\(.*\)</uuid>.*:\1:p' | head -n 1; }
# host_uuid_from NAME URI: the same, asked from inside instance NAME's namespaces.
host_uuid_from() {
	(libvirtd_use "$1" && libvirtd_exec virsh -c "$2" capabilities 2>/dev/null) |
		sed -n 's:^ *<uuid>\(.*\)</uuid>.*:\1:p' | head -n 1
}
# jobinfo URI DOMAIN FIELD: a number from `virsh domjobinfo --completed`
# (--keep-completed: without it the first read discards the statistics).
jobinfo() {
	timeout 20 virsh -c "$1" domjobinfo --completed --keep-completed "$2" 2>/dev/null |
		sed -n "s/^$3: *\([0-9.]*\).*/\1/p" | head -n 1
}
qemu_net() { # NAME DOMAIN: network namespace of the domain's qemu
	local p
	p=$(cat "$T_TMP/libvirtd-$1/run/libvirt/qemu/$2.pid" 2>/dev/null) &&
		readlink "/proc/$p/ns/net" 2>/dev/null
}
netns_before=$(ip netns list 2>/dev/null)

names() { timeout 20 virsh -q -c "$1" list --all --name 2>/dev/null | sed '/^$/d' | sort | tr '\n' ' '; }
state() { timeout 20 virsh -q -c "$1" domstate "$2" 2>/dev/null | head -n 1; }
# inv: every VM of the inventory as "host/name uuid", one a line.
inv() {
	"$VMTTY" list --json 2>/dev/null | python3 -c '
import json, sys
for v in json.load(sys.stdin): print("%s/%s %s" % (v["host"], v["name"], v["uuid"]))' | sort
}
# inv_db: the same straight from the inventory, without `vmtty list` (which
# adds what a host has that the inventory lacks).
inv_db() {
	sqlite3 "$VMTTY_DB" "SELECT h.name || '/' || v.name || ' ' || v.uuid FROM vms v
		JOIN hosts h ON h.id = v.host_id" | sort
}
inv_host() { inv | awk -v n="$1" '{ split($1, a, "/"); if (a[2] == n) print a[1] }'; }
one_line() { [ "$(printf '%s\n' "$1" | wc -l)" = 1 ] && [ -n "$1" ]; }
# console NAME HOST CMD TEXT: type CMD on NAME's serial console on HOST
# (virsh console), wait for TEXT.
console() {
	libvirtd_use "$2"
	libvirtd_console_open "$1" || return 1
	libvirtd_console_send ""
	libvirtd_console_send "$3"
	libvirtd_console_wait "$4" 20
	local rc=$?
	libvirtd_console_close
	return $rc
}

# kill_b_during NAME PHASE OUT VMTTY-ARGS...: `vmtty migrate VMTTY-ARGS
# --bandwidth 1 --progress` in the background (stdout to OUT, stderr to
# OUT.err); once a progress line of PHASE has moved some bytes, kill -9 B's
# libvirtd; then wait for vmtty.  Sets rc and err.  CHECK (a command,
# optional, run just before the kill) is in $KILL_CHECK.
kill_b_during() {
	local name=$1 phase=$2 out=$3 t0 t1 mig
	shift 3
	t0=$(ms)
	"$VMTTY" migrate "$@" --bandwidth 1 --progress >"$out" 2>"$out.err" &
	mig=$!
	_phase_moving() { grep -q " $phase .*[1-9][0-9.]* [KM]iB of" "$out" || _lv_dead "$mig"; }
	wait_for 30 _phase_moving
	t_check "a progress line in the $phase phase ($(grep -c . "$out") lines so far)" \
		grep -q " $phase " "$out"
	[ -z "${KILL_CHECK:-}" ] || eval "$KILL_CHECK"
	t_check "kill -9 B's libvirtd" kill -KILL "$B_PID"
	t1=$(ms)
	wait "$mig"
	rc=$?
	note "$name: B killed $((t1 - t0)) ms into the migration; vmtty exited $(($(ms) - t1)) ms later"
	err=$(cat "$out.err")
}
# restart_b GUEST: B's libvirtd restarted; it has no domain and no qemu of
# GUEST (its restarted daemon ends the incoming one).
restart_b() {
	rm -f "$B_DIR/run/libvirt/libvirt-sock"
	libvirtd_use B
	t_check "B's libvirtd restarted" libvirtd_restart B
	B_PID=$LIBVIRTD_PID
	_b_clean() { [ -z "$(names "$B_URI")" ] && ! _lv_alive "$(cat "$B_DIR/run/libvirt/qemu/$1.pid" 2>/dev/null)"; }
	t_check "B has no domain and no qemu of $1 (its restarted daemon ended the incoming one)" \
		wait_for 20 _b_clean "$1"
}

# ---- two daemons, pools, hosts ----------------------------------------------
t_check "libvirtd_start A --netns 1" libvirtd_start A --netns 1
note "A start: ${LIBVIRTD_START_MS:-?} ms"
A_DIR=$LIBVIRTD_DIR
A_URI=$LIBVIRTD_URI A_PEER=${LIBVIRTD_PEER_URI:-} A_ADDR=${LIBVIRTD_ADDR:-} A_UUID=$LIBVIRTD_UUID
A_PID=$LIBVIRTD_PID
t_check "libvirtd_start B --netns 2" libvirtd_start B --netns 2
note "B start: ${LIBVIRTD_START_MS:-?} ms"
B_DIR=$LIBVIRTD_DIR
B_URI=$LIBVIRTD_URI B_PEER=${LIBVIRTD_PEER_URI:-} B_ADDR=${LIBVIRTD_ADDR:-} B_UUID=$LIBVIRTD_UUID
B_PID=$LIBVIRTD_PID B_NETNS=${LIBVIRTD_NETNS:-} B_MIG=${LIBVIRTD_MIGRATE_URI:-} B_TCP=${LIBVIRTD_TCP_URI:-}
subnet=${A_ADDR%.*}
t_match "A is host 1 of a free 10.77.X.0/24" '^10\.77\.[0-9]+\.1$' "$A_ADDR"
t_eq "B is host 2 of the same subnet" "$subnet.2" "$B_ADDR"
t_eq "LIBVIRTD_PEER_URI" "qemu+tcp://$B_ADDR/system" "$B_PEER"
t_eq "LIBVIRTD_MIGRATE_URI" "tcp://$B_ADDR" "$B_MIG"
t_eq "LIBVIRTD_TCP_URI is the peer URI (root namespace linked)" "$B_PEER" "$B_TCP"
t_check "distinct host_uuid" test -n "$A_UUID" -a "$A_UUID" != "$B_UUID"
t_eq "A answers on its unix socket, from the root network namespace" "$A_UUID" "$(host_uuid "$A_URI")"
t_eq "B too" "$B_UUID" "$(host_uuid "$B_URI")"
self_net=$(readlink /proc/self/ns/net)
a_net=$(readlink "/proc/$A_PID/ns/net") b_net=$(readlink "/proc/$B_PID/ns/net")
t_check "A's libvirtd runs in a network namespace of its own" test -n "$a_net" -a "$a_net" != "$self_net"
t_check "B's in another one" test -n "$b_net" -a "$b_net" != "$self_net" -a "$b_net" != "$a_net"
t_eq "LIBVIRTD_NETNS names B's" "$b_net" "$(readlink "$B_NETNS")"
t_eq "B's virtlogd is in it too" "$b_net" "$(readlink "/proc/$(cat "$T_TMP/libvirtd-B/run/virtlogd.pid")/ns/net")"
t_eq "B listens on ADDR:16509, inside" "$B_ADDR:16509" "$(libvirtd_exec ss -Htln '( sport = :16509 )' | awk '{print $4}')"
t_eq "neither listens in the root namespace" "" "$(ss -Htlnp | grep -E "pid=($A_PID|$B_PID),")"
t_eq "peer: A's namespace reaches B at its LIBVIRTD_PEER_URI" "$B_UUID" "$(host_uuid_from A "$B_PEER")"
t_eq "peer: B's reaches A" "$A_UUID" "$(host_uuid_from B "$A_PEER")"
t_eq "peer: A's namespace reaches B's unix socket path too" "$B_UUID" "$(host_uuid_from A "$B_URI")"
t_eq "client: the root namespace reaches B over TCP" "$B_UUID" "$(host_uuid "$B_TCP")"
t_match "the root namespace's link has $subnet.254" "inet $subnet\.254/24" "$(ip -4 -o addr show dev "lvt$$" 2>&1)"
t_eq "no names in /run/netns" "$netns_before" "$(ip netns list 2>/dev/null)"

SHARED=$(libvirtd_shared_dir)
for n in A B; do
	libvirtd_use "$n"
	t_check "$n: pool 'shared' at $SHARED" libvirtd_pool shared "$SHARED"
	t_check "$n: pool 'images' in a directory of its own" libvirtd_pool images
done
libvirtd_use A
inode() { stat -L -c %d:%i "$1"; }
t_eq "A sees the shared dir as the test does" "$(inode "$SHARED")" "$(libvirtd_use A; libvirtd_exec stat -L -c %d:%i "$SHARED")"
t_eq "B too" "$(inode "$SHARED")" "$(libvirtd_use B; libvirtd_exec stat -L -c %d:%i "$SHARED")"
t_eq "libvirtd_host_path of A's pool dir" "$T_TMP/libvirtd-A/lib/images" "$(libvirtd_host_path /var/lib/libvirt/images)"

t_status "vmtty host add A (unix socket)" 0 "$VMTTY" host add A "$A_URI"
t_status "vmtty host add B (unix socket)" 0 "$VMTTY" host add B "$B_URI"
t_status "vmtty host set B --migration-address $B_ADDR" 0 "$VMTTY" host set B --migration-address "$B_ADDR"

libvirtd_use A
disk1=$(libvirtd_vol_copy shared "$G1.qcow2" "$GUEST/rootfs.qcow2")
disk2=$(libvirtd_vol_copy images "$G2.qcow2" "$GUEST/rootfs.qcow2")
tiny_domain_xml "$G1" 256 "$disk1" >"$T_TMP/g1.xml"
tiny_domain_xml "$G2" 256 "$disk2" >"$T_TMP/g2.xml"
for g in g1 g2; do
	t_status "A: define and start $g (the tiny guest on its qcow2 disk)" 0 \
		sh -c 'virsh -c "$1" define "$2" && virsh -c "$1" start "$3"' _ "$A_URI" "$T_TMP/$g.xml" \
		"$(sed -n 's:.*<name>\(.*\)</name>.*:\1:p' "$T_TMP/$g.xml")"
done
t_status "vmtty list: both are in the inventory, on A" 0 "$VMTTY" list
t_eq "G1 on A" A "$(inv_host "$G1")"
t_eq "G2 on A" A "$(inv_host "$G2")"

# ---- 6. preflight refusals ---------------------------------------------------
# While the guests boot (a running domain is enough for the preflight).
inv0=$(inv)
tiny_domain_xml "$G1" 64 >"$T_TMP/taken.xml"
t_status "B: a domain named $G1 defined there (another UUID)" 0 virsh -q -c "$B_URI" define "$T_TMP/taken.xml"
inv_taken=$(inv_db)
t_status "migrate A/G1 --to B: refused, name taken" 1 "$VMTTY" migrate "A/$G1" --to B
t_match "one line: the name is taken on B" \
	"^vmtty: host 'B' already has a domain named '$G1' \(or with its UUID\); rename or remove it there first\$" "$T_ERR"
t_check "(one line)" one_line "$T_ERR"
t_eq "B keeps just its own (inactive) $G1" "shut off" "$(state "$B_URI" "$G1")"
t_eq "nothing moved: the inventory is as it was (read from it, not listed)" "$inv_taken" "$(inv_db)"
virsh -q -c "$B_URI" undefine "$G1" >/dev/null
t_eq "the inventory has the two guests, on A" "$inv0" "$(inv)"

cat >"$T_TMP/isol.xml" <<EOF
<network><name>isol-$$</name><bridge name='vbr$$'/></network>
EOF
t_status "A: an isolated network isol-$$ (no DHCP, no dnsmasq)" 0 \
	sh -c 'virsh -q -c "$1" net-define "$2" && virsh -q -c "$1" net-start "isol-$3"' _ "$A_URI" "$T_TMP/isol.xml" $$
tiny_domain_xml "$PN" 128 | sed "s|    <memballoon|    <interface type='network'><source network='isol-$$'/><model type='virtio'/></interface>\n    <memballoon|" >"$T_TMP/pn.xml"
total_mib=$(($(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) / 1024))
tiny_domain_xml "$PM" $((total_mib - 16)) >"$T_TMP/pm.xml"
t_status "A: $PN (a NIC on isol-$$) and $PM ($((total_mib - 16)) MiB, this machine's memory) started paused" 0 \
	sh -c 'for f in "$2" "$3"; do virsh -q -c "$1" create "$f" --paused || exit 1; done' _ "$A_URI" "$T_TMP/pn.xml" "$T_TMP/pm.xml"
"$VMTTY" list >/dev/null
inv1=$(inv)
t_status "migrate $PN --to B: refused, B lacks the network" 1 "$VMTTY" migrate "$PN" --to B
t_match "one line naming the network" \
	"^vmtty: host 'B' lacks what VM '$PN' uses: network 'isol-$$'; create it there first\$" "$T_ERR"
t_check "(one line)" one_line "$T_ERR"
t_status "migrate $PM --to B: refused, too little memory there" 1 "$VMTTY" migrate "$PM" --to B
t_match "one line with both figures" \
	"^vmtty: host 'B' has [0-9.]+ GiB of memory free, VM '$PM' needs [0-9.]+ GiB; free some there first\$" "$T_ERR"
t_check "(one line)" one_line "$T_ERR"
note "memory refusal: $T_ERR"
t_eq "nothing moved: B has no domain" "" "$(names "$B_URI")"
t_eq "nothing moved: the inventory is as it was" "$inv1" "$(inv)"
virsh -q -c "$A_URI" destroy "$PN" >/dev/null
virsh -q -c "$A_URI" destroy "$PM" >/dev/null
virsh -q -c "$A_URI" net-destroy "isol-$$" >/dev/null
"$VMTTY" list >/dev/null
t_eq "the inventory has the two guests only again" "$inv0" "$(inv)"

# The guests are up; G1 prints a counter on its serial port from now on.
libvirtd_use A
t_check "G1: GUEST READY within 90 s" libvirtd_wait_serial "$G1" "GUEST READY" 90
t_check "G2: GUEST READY within 90 s" libvirtd_wait_serial "$G2" "GUEST READY" 90
t_check "G1 booted from its disk" libvirtd_wait_serial "$G1" "ROOT=disk" 1
t_check "G1: a counter runs (CNT0, CNT1, ... every 0.2 s)" \
	console "$G1" A 'i=0; while :; do echo CNT$i; i=$((i+1)); usleep 200000; done &' CNT3
t_check "G2: a file written on its disk" \
	console "$G2" A 'echo payload-$((6*7)) >/root/mig.txt; sync; echo $((6*8))-written' 48-written

# ---- 4. B's libvirtd killed mid-migration: while G2's disk is copied -------------
inv0=$(inv)
vol_b=$B_DIR/lib/images/$G2.qcow2
t_check "B has no volume of G2 yet" test ! -e "$vol_b"
KILL_CHECK='t_check "vmtty made the destination volume on B first" test -e "$vol_b"' \
	kill_b_during "$G2 with --copy-storage" storage "$T_TMP/kill2.out" "$G2" --to B --copy-storage
t_eq "vmtty migrate exits 1" 1 "$rc"
t_match "saying B went away, G2 runs on A, the volume made there goes once B is back" \
	"^vmtty: VM '$G2' did not move to host 'B': the connection to host 'B' closed mid-way and vmtty stopped the migration; it runs on host 'A' as before; host 'B' could not be asked whether it kept anything; the volume vmtty made there for the copy \('$disk2'\) is removed by the next vmtty that reaches host 'B' again\$" "$err"
t_check "(one line)" one_line "$err"
t_eq "G2 runs on A" running "$(state "$A_URI" "$G2")"
t_check "the volume is still in B's pool directory while B is down" test -e "$vol_b"
restart_b "$G2"
t_status "the next vmtty (list) runs" 0 "$VMTTY" list
t_eq "it says it took back what the move made on B" "vmtty: creation of $G2 interrupted; cleaned up" "$T_ERR"
t_check "B has no new volume: the file is gone from its pool's directory" test ! -e "$vol_b"
t_eq "nor does B's pool list one" "" "$(virsh -q -c "$B_URI" vol-list images 2>/dev/null | sed '/^$/d')"
t_eq "B has no domain" "" "$(names "$B_URI")"
t_eq "the inventory is as it was" "$inv0" "$(inv)"
t_match "the journal has the failure" "migrate .*the volume vmtty made there for the copy .* is removed by the next vmtty" \
	"$("$VMTTY" log "$G2" 2>&1)"
t_match "and B's that the volume was taken back" "create .*B/$G2: creation of $G2 interrupted; cleaned up" \
	"$("$VMTTY" log --host B 2>&1)"
t_status "a second vmtty has nothing left to take back" 0 "$VMTTY" list
t_eq "and says nothing" "" "$T_ERR"
t_check "G2 answers on A" console "$G2" A 'echo $((6*9))-after-kill' 54-after-kill

# ---- 4. ... and while G1 moves (shared storage) ---------------------------------
# libvirt 9.0's source daemon dies itself when a second migration from it
# loses its destination this way (A's libvirtd was gone after the second
# kill in 4 runs of 4, whichever guest went first; never after the first):
# A's daemon starts afresh in between, its guests running on.
libvirtd_use A
t_check "A's libvirtd restarted (a fresh daemon for the second kill)" libvirtd_restart A
A_PID=$LIBVIRTD_PID
t_eq "G1 runs on A still" running "$(state "$A_URI" "$G1")"
t_eq "G2 too" running "$(state "$A_URI" "$G2")"
inv0=$(inv)
KILL_CHECK='t_eq "B holds the incoming domain (paused)" paused "$(state "$B_URI" "$G1")"' \
	kill_b_during "$G1 on shared storage" memory "$T_TMP/kill.out" "$G1" --to B
t_eq "vmtty migrate exits 1" 1 "$rc"
t_match "saying B went away and G1 runs on A" \
	"^vmtty: VM '$G1' did not move to host 'B': the connection to host 'B' closed mid-way and vmtty stopped the migration; it runs on host 'A' as before; host 'B' could not be asked whether it kept anything\$" "$err"
t_check "(one line)" one_line "$err"
t_eq "G1 runs on A" running "$(state "$A_URI" "$G1")"
restart_b "$G1"
t_eq "the inventory is as it was" "$inv0" "$(inv)"
t_match "the journal has the failure" "migrate .*connection to host 'B' closed mid-way" "$("$VMTTY" log "$G1" 2>&1)"

# ---- 1. live, shared storage, --json ---------------------------------------------
libvirtd_use A
t0=$(ms)
t_status "vmtty migrate $G1 --to B --json (shared storage)" 0 "$VMTTY" migrate "$G1" --to B --json
wall=$(($(ms) - t0))
printf '%s\n' "$T_OUT" >"$T_TMP/g1.json"
t_check "every line is a JSON object with an event" python3 -c '
import json, sys
for l in open(sys.argv[1]):
    assert "event" in json.loads(l)' "$T_TMP/g1.json"
t_eq "events: preflight, progress..., done" "preflight progress done" \
	"$(python3 -c '
import json, sys
ev = [json.loads(l)["event"] for l in open(sys.argv[1])]
out = []
for e in ev:
    if not out or out[-1] != e: out.append(e)
print(" ".join(out))' "$T_TMP/g1.json")"
t_match "the preflight found shared storage" '"storage: shared' "$(head -n 1 "$T_TMP/g1.json")"
done_ev=$(tail -n 1 "$T_TMP/g1.json")
down=$(printf '%s' "$done_ev" | python3 -c 'import json, sys; print(json.load(sys.stdin)["downtime_ms"])')
t_match "the done event has the downtime" '^[0-9]+$' "$down"
note "live, shared storage: vmtty wall $wall ms; downtime $down ms; done event: $done_ev"
t_check "downtime under 1 s ($down ms; load $(cut -d' ' -f1-3 /proc/loadavg))" test "${down:-99999}" -lt 1000
t_eq "G1 runs on B" running "$(state "$B_URI" "$G1")"
t_eq "and is gone from A" "$G2 " "$(names "$A_URI")"
t_match "persistent on B" "Persistent: +yes" "$(virsh -c "$B_URI" dominfo "$G1" 2>&1)"
t_match "vmtty list shows it on B" "^B +$G1 +running" "$("$VMTTY" list 2>&1)"
t_eq "the inventory has it on B" B "$(inv_host "$G1")"
for h in A B; do
	t_match "host $h's journal records the move with its downtime" \
		" ok +migrate +$h/$G1: moved live from host 'A' to host 'B' in [0-9.]+ s \(downtime $down ms" \
		"$("$VMTTY" log --host $h 2>&1)"
done
a_log=$(libvirtd_use A; libvirtd_serial_log "$G1") b_log=$(libvirtd_use B; libvirtd_serial_log "$G1")
last_a=$(grep -ao 'CNT[0-9]*' "$a_log" | tr -d CNT | sort -n | tail -n 1)
_counting_on_b() { [ "$(grep -ao 'CNT[0-9]*' "$b_log" 2>/dev/null | wc -l)" -ge 5 ]; }
wait_for 20 _counting_on_b
first_b=$(grep -ao 'CNT[0-9]*' "$b_log" | tr -d CNT | sort -n | head -n 1)
last_b=$(grep -ao 'CNT[0-9]*' "$b_log" | tr -d CNT | sort -n | tail -n 1)
note "counter: last on A CNT$last_a, first on B CNT$first_b, now CNT$last_b"
t_check "the counter goes on on B where it stopped on A (A: ..$last_a, B: $first_b..$last_b)" \
	test -n "$last_a" -a -n "$first_b" -a "$((first_b - last_a))" -ge 1 -a "$((first_b - last_a))" -le 2 \
	-a "$last_b" -ge "$((first_b + 4))"
t_check "no boot on B (no GUEST READY in its serial log)" sh -c '! grep -q "GUEST READY" "$1"' _ "$b_log"

# ---- 3. --copy-storage stopped with SIGINT ----------------------------------------
inv0=$(inv)
vol_b=$B_DIR/lib/images/$G2.qcow2
t0=$(ms)
"$VMTTY" --log "$T_TMP/abort.log" migrate "$G2" --to B --copy-storage --bandwidth 1 --progress >"$T_TMP/abort.out" 2>"$T_TMP/abort.err" &
mig=$!
_copying() { grep -q ' storage .*[1-9][0-9.]* [KM]iB of' "$T_TMP/abort.out" || _lv_dead "$mig"; }
wait_for 30 _copying
t_check "a progress line in the storage phase" grep -q ' storage ' "$T_TMP/abort.out"
t_check "vmtty made the destination volume on B first" test -e "$vol_b"
t_check "SIGINT to vmtty" kill -INT "$mig"
t1=$(ms)
wait "$mig"
rc=$?
note "abort: $((t1 - t0)) ms into the copy; vmtty exited $(($(ms) - t1)) ms after SIGINT"
t_eq "vmtty migrate exits 1" 1 "$rc"
err=$(cat "$T_TMP/abort.err")
tail -n 4 "$T_TMP/abort.out" | sed 's/^/# /'
t_match "the progress lines say 'stopping' while it stops" '^ +[0-9.]+s stopping ' "$(cat "$T_TMP/abort.out")"
t_check "none says 'finishing'" sh -c '! grep -q " finishing " "$1"' _ "$T_TMP/abort.out"
t_match "one line: stopped as asked, runs on A" \
	"^vmtty: the migration of VM '$G2' to host 'B' stopped as asked; it runs on host 'A' as before\$" "$err"
t_check "(one line)" one_line "$err"
t_eq "G2 runs on A" running "$(state "$A_URI" "$G2")"
t_eq "B has no domain but G1" "$G1 " "$(names "$B_URI")"
t_check "B has no new volume (the one vmtty made is gone)" test ! -e "$vol_b"
t_eq "nor does B's pool list one" "" "$(virsh -q -c "$B_URI" vol-list images 2>/dev/null | sed '/^$/d')"
t_eq "the inventory is as it was" "$inv0" "$(inv)"
t_check "G2 answers on A" console "$G2" A 'echo $((6*9))-after-abort' 54-after-abort

# ---- 2. --copy-storage ---------------------------------------------------------------
t0=$(ms)
t_status "vmtty migrate $G2 --to B --copy-storage --progress" 0 "$VMTTY" migrate "$G2" --to B --copy-storage --progress
wall=$(($(ms) - t0))
t_match "the preflight says what it copies" "storage: copies [0-9.]+ [KM]iB of disks" "$T_OUT"
t_match "progress lines (the tiny disk copies within a round or two, then memory)" '^ +[0-9.]+s memory ' "$T_OUT"
t_match "the last line says it moved, with the downtime" "^VM $G2 moved live from host 'A' to host 'B' in [0-9.]+ s \(downtime [0-9]+ ms" "$(printf '%s\n' "$T_OUT" | tail -n 1)"
note "live, copy-storage: vmtty wall $wall ms; $(printf '%s\n' "$T_OUT" | tail -n 1)"
t_eq "G2 runs on B" running "$(state "$B_URI" "$G2")"
t_eq "A has no domain left" "" "$(names "$A_URI")"
t_eq "the inventory has it on B" B "$(inv_host "$G2")"
t_check "the file written on A reads back on B (page cache dropped)" \
	console "$G2" B 'echo 3 >/proc/sys/vm/drop_caches; cat /root/mig.txt' payload-42

# ---- the harness checks, with vmtty's guests gone (two guests at most) ----
for g in "$G1" "$G2"; do
	virsh -q -c "$B_URI" destroy "$g" >/dev/null 2>&1
	virsh -q -c "$B_URI" undefine "$g" >/dev/null 2>&1
done
t_eq "A and B have no domain left" " | " "$(names "$A_URI") | $(names "$B_URI")"
# B's libvirtd was restarted above: its pid anew, its namespaces the same.
libvirtd_use B
t_eq "B's restarted libvirtd is in B's network namespace still" "$b_net" "$(readlink "/proc/$LIBVIRTD_PID/ns/net")"
libvirtd_use A
# ---- harness 3. shared storage with plain virsh: A -> B managed by the client,
# back peer to peer.  (The checks of the former migration harness self-test
# run here, on this test's daemons, once vmtty's guests are gone.)
disk1=$(libvirtd_vol_copy shared "$H1.qcow2" "$GUEST/rootfs.qcow2")
t_eq "libvirtd_vol_copy into 'shared'" "$SHARED/$H1.qcow2" "$disk1"
tiny_domain_xml "$H1" 256 "$disk1" >"$T_TMP/h1.xml"
t_status "A: define and start $H1 (root on its qcow2 disk)" 0 \
	sh -c 'virsh -c "$1" define "$2" && virsh -c "$1" start "$3"' _ "$A_URI" "$T_TMP/h1.xml" "$H1"
t0=$(ms)
t_check "GUEST READY within 60 s" libvirtd_wait_serial "$H1" "GUEST READY" 60
note "boot from disk: $(($(ms) - t0)) ms"
t_check "booted from the disk (ROOT=disk)" libvirtd_wait_serial "$H1" "ROOT=disk" 1

t_status "without --unsafe libvirt refuses (storage on a local file system)" 1 \
	timeout 60 virsh -c "$A_URI" migrate --live --persistent --undefinesource "$H1" "$B_URI" "$B_MIG"
t_match "with 'Unsafe migration'" "Unsafe migration" "$T_ERR"
t0=$(ms)
t_status "virsh -c A migrate --live --persistent --undefinesource --unsafe $H1 B_URI(unix) B_MIGRATE_URI" 0 \
	timeout 60 virsh -c "$A_URI" migrate --live --persistent --undefinesource --unsafe "$H1" "$B_URI" "$B_MIG"
wall=$(($(ms) - t0))
t_eq "$H1 runs on B" running "$(state "$B_URI" "$H1")"
t_eq "and is gone from A" "" "$(names "$A_URI")"
t_match "persistent on B" "Persistent: +yes" "$(virsh -c "$B_URI" dominfo "$H1" 2>&1)"
t_eq "its qemu runs in B's network namespace" "$b_net" "$(qemu_net B "$H1")"
down=$(jobinfo "$B_URI" "$H1" "Total downtime") el=$(jobinfo "$B_URI" "$H1" "Time elapsed")
t_match "B reports the completed job's downtime" '^[0-9]+$' "$down"
note "live, shared storage, client-managed: virsh wall $wall ms, job $el ms, downtime $down ms, memory $(jobinfo "$B_URI" "$H1" "Memory processed") MiB sent"
libvirtd_use B
t_check "B: virsh console attaches" libvirtd_console_open "$H1"
libvirtd_console_send ""
libvirtd_console_send 'echo $((6*7))-on-B $(cat /etc/vmtty-disk)'
t_check "the guest answers on B, its disk still there" libvirtd_console_wait "42-on-B vmtty test guest root disk" 15
libvirtd_console_close

t0=$(ms)
t_status "virsh -c B migrate --live --p2p --persistent --undefinesource --unsafe $H1 A_PEER_URI (no migration URI)" 0 \
	timeout 60 virsh -c "$B_URI" migrate --live --p2p --persistent --undefinesource --unsafe "$H1" "$A_PEER"
wall=$(($(ms) - t0))
t_eq "$H1 runs on A again" running "$(state "$A_URI" "$H1")"
t_eq "B has no domain" "" "$(names "$B_URI")"
t_eq "its qemu runs in A's network namespace" "$a_net" "$(qemu_net A "$H1")"
note "live, shared storage, peer to peer: virsh wall $wall ms, job $(jobinfo "$A_URI" "$H1" "Time elapsed") ms, downtime $(jobinfo "$A_URI" "$H1" "Total downtime") ms"
virsh -q -c "$A_URI" destroy "$H1" >/dev/null 2>&1
virsh -q -c "$A_URI" undefine "$H1" >/dev/null 2>&1

# ---- harness 4. per-instance storage with plain virsh: --copy-storage-all
# (B's pool 'images' is taken away first: the first copy must find none).
libvirtd_use B
virsh -q -c "$B_URI" pool-destroy images >/dev/null 2>&1
t_status "B: pool 'images' undefined for the harness checks" 0 virsh -q -c "$B_URI" pool-undefine images
libvirtd_use A
disk2=$(libvirtd_vol_copy images "$H2.qcow2" "$GUEST/rootfs.qcow2")
t_eq "libvirtd_vol_copy into A's 'images'" "/var/lib/libvirt/images/$H2.qcow2" "$disk2"
t_check "the volume is in A's dir" test -s "$T_TMP/libvirtd-A/lib/images/$H2.qcow2"
tiny_domain_xml "$H2" 256 "$disk2" >"$T_TMP/h2.xml"
t_status "A: define and start $H2" 0 \
	sh -c 'virsh -c "$1" define "$2" && virsh -c "$1" start "$3"' _ "$A_URI" "$T_TMP/h2.xml" "$H2"
t_check "GUEST READY within 60 s" libvirtd_wait_serial "$H2" "GUEST READY" 60
t_check "A: virsh console attaches" libvirtd_console_open "$H2"
libvirtd_console_send ""
libvirtd_console_send 'echo payload-$((6*7)) >/root/mig.txt; sync; echo $((6*8))-written'
t_check "a file is written on the guest's disk" libvirtd_console_wait "48-written" 15
libvirtd_console_close

t_status "copy-storage while B has no pool and no file at the disk's path: refused" 1 \
	timeout 60 virsh -c "$A_URI" migrate --live --persistent --undefinesource --copy-storage-all "$H2" "$B_URI" "$B_MIG"
t_match "with 'no storage pool with matching target path'" "no storage pool with matching target path" "$T_ERR"
t_eq "$H2 still runs on A" running "$(state "$A_URI" "$H2")"
libvirtd_use B
t_check "B: pool 'images' at /var/lib/libvirt/images (B's own)" libvirtd_pool images

# Abort: 1 MiB/s throttles the NBD disk copy too.
t0=$(ms)
timeout 60 virsh -c "$A_URI" migrate --live --persistent --undefinesource --copy-storage-all \
	--bandwidth 1 "$H2" "$B_URI" "$B_MIG" >"$T_TMP/mig.out" 2>"$T_TMP/mig.err" &
mig=$!
incoming() { [ -n "$(names "$B_URI")" ] || _lv_dead "$mig"; }
wait_for 20 incoming
t_eq "B holds the incoming domain (paused)" paused "$(state "$B_URI" "$H2")"
_copying() { [ -n "$(jobinfo_live)" ] || _lv_dead "$mig"; }
jobinfo_live() { virsh -c "$A_URI" domjobinfo "$H2" 2>/dev/null | sed -n 's/^File processed: *\([1-9][0-9.]*\).*/\1/p'; }
wait_for 20 _copying
t_check "the disk copy is under way (A: $(jobinfo_live) MiB processed)" test -n "$(jobinfo_live)"
t_check "libvirt made the volume on B itself (its pool holds the path)" test -e "$T_TMP/libvirtd-B/lib/images/$H2.qcow2"
t_check "the migration still runs $(($(ms) - t0)) ms after it began" _lv_alive "$mig"
t1=$(ms)
t_status "virsh -c A domjobabort $H2" 0 virsh -c "$A_URI" domjobabort "$H2"
wait "$mig"
rc=$?
note "abort: domjobabort to virsh migrate's exit: $(($(ms) - t1)) ms"
t_eq "virsh migrate failed" 1 "$rc"
t_match "canceled by client" "canceled by client" "$(cat "$T_TMP/mig.err")"
t_eq "$H2 runs on A" running "$(state "$A_URI" "$H2")"
t_eq "B has no domain" "" "$(names "$B_URI")"
if [ -e "$T_TMP/libvirtd-B/lib/images/$H2.qcow2" ]; then
	note "libvirt 9.0 leaves the volume it made on B after the abort ($(du -k "$T_TMP/libvirtd-B/lib/images/$H2.qcow2" | cut -f1) KiB): remove it"
	t_status "B: vol-delete it" 0 virsh -c "$B_URI" vol-delete "$H2.qcow2" --pool images
fi
libvirtd_use A
t_check "A: virsh console attaches" libvirtd_console_open "$H2"
libvirtd_console_send ""
libvirtd_console_send 'echo $((6*9))-after-abort'
t_check "the guest answers on A after the abort" libvirtd_console_wait "54-after-abort" 15
libvirtd_console_close

t_status "B: the destination volume made first (vol-create-as images $H2.qcow2 64M qcow2)" 0 \
	virsh -c "$B_URI" vol-create-as images "$H2.qcow2" 64M --format qcow2
empty_kib=$(du -k "$T_TMP/libvirtd-B/lib/images/$H2.qcow2" | cut -f1)
t0=$(ms)
t_status "virsh -c A migrate --live --persistent --undefinesource --copy-storage-all $H2 B_PEER_URI(tcp) B_MIGRATE_URI" 0 \
	timeout 60 virsh -c "$A_URI" migrate --live --persistent --undefinesource --copy-storage-all "$H2" "$B_PEER" "$B_MIG"
wall=$(($(ms) - t0))
t_eq "$H2 runs on B" running "$(state "$B_URI" "$H2")"
t_eq "and is gone from A" "" "$(names "$A_URI")"
t_check "A's volume stays (libvirt never deletes the source's storage)" test -s "$T_TMP/libvirtd-A/lib/images/$H2.qcow2"
full_kib=$(du -k "$T_TMP/libvirtd-B/lib/images/$H2.qcow2" | cut -f1)
t_check "B's volume got the data (${empty_kib} -> ${full_kib} KiB)" test "$full_kib" -gt "$((empty_kib + 1024))"
note "live, copy-storage-all, client-managed over TCP: virsh wall $wall ms, job $(jobinfo "$B_URI" "$H2" "Time elapsed") ms, downtime $(jobinfo "$B_URI" "$H2" "Total downtime") ms"
libvirtd_use B
t_check "B: virsh console attaches" libvirtd_console_open "$H2"
libvirtd_console_send ""
libvirtd_console_send 'echo 3 >/proc/sys/vm/drop_caches; cat /root/mig.txt'
t_check "the file written on A reads back on B (page cache dropped)" libvirtd_console_wait "payload-42" 15
libvirtd_console_close
virsh -q -c "$B_URI" destroy "$H2" >/dev/null 2>&1

# ---- harness 5. killed with -9: namespaces, links and processes go ----------
cat >"$T_TMP/child.sh" <<'EOF'
source "$1"
libvirtd_start k1 --netns 1 >/dev/null || exit 9
libvirtd_start k2 --netns 2 >/dev/null || exit 9
nd=$(_lv_net_dir)
{
	echo "tmp=$T_TMP"
	echo "link=$(cat "$nd/root_if")"
	echo "subnet=$(cat "$nd/subnet")"
	echo "nets=$(cat "$nd/net.id") $(cat "$T_TMP/libvirtd-k1/net.id") $(cat "$T_TMP/libvirtd-k2/net.id")"
} >"$2"
kill -KILL $$
EOF
{ timeout 60 bash "$T_TMP/child.sh" "$_LV_SELF" "$T_TMP/state" >"$T_TMP/child.out" 2>&1; rc=$?; } 2>/dev/null
t1=$(ms)
ctmp=$(sed -n 's/^tmp=//p' "$T_TMP/state")
clink=$(sed -n 's/^link=//p' "$T_TMP/state")
cnets=$(sed -n 's/^nets=//p' "$T_TMP/state")
[ -z "$ctmp" ] || t_on_exit "rm -rf '$ctmp'"
t_eq "child: killed with -9" 137 "$rc"
t_check "child: had a root link and three network namespaces" test -n "$clink" -a "$(echo $cnets | wc -w)" = 3
t_check "child: it took another subnet than ours" test "$(sed -n 's/^subnet=//p' "$T_TMP/state")" != "$subnet"
net_procs() { # pids in any of the child's network namespaces
	find /proc/[0-9]*/ns -maxdepth 1 -name net -printf '%l %h\n' 2>/dev/null |
		awk -v nets=" $cnets " 'index(nets, " " $1 " ") { split($2, a, "/"); print a[3] }'
}
_child_gone() { [ -z "$(net_procs)" ] && ! ip link show dev "$clink" >/dev/null 2>&1; }
if [ -n "$clink" ] && wait_for 30 _child_gone; then
	t_ok "child: its root link and every process in its namespaces are gone"
	note "after kill -9: all gone $(($(ms) - t1)) ms later"
else
	t_fail "child: left over"
	ip -br link show dev "$clink" 2>&1 | sed 's/^/   /'
	for p in $(net_procs); do ps -o pid=,args= -p "$p"; done | cut -c1-150 | sed 's/^/   /'
fi
note "whole test: $(($(ms) - T_START)) ms"
t_summary
