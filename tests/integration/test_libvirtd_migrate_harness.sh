#!/usr/bin/env bash
# Self-test of the migration harness in tests/integration/libvirtd.sh, for
# real and with plain virsh: two private libvirtds A and B, each in its own
# mount and network namespace (veths on one bridge, the root namespace linked
# too), distinct host_uuid.  The tiny guest booting from a qcow2 disk
# migrates live: on shared storage A->B (managed by the client over unix
# socket URIs) and back (peer to peer over TCP); on per-instance storage with
# --copy-storage-all: refused while B has no pool for the disk, aborted while
# throttled (it stays on A), then A->B with the volume made first on B, where
# a file written before the move reads back.  A test killed with -9 leaves no
# namespace, link or process behind.  One guest at a time (2 cores).
# Timings are printed as "# ..." lines.
source "$(dirname "$0")/libvirtd.sh"

ms() { echo $(($(date +%s%N) / 1000000)); }
note() { echo "# $*"; }
G1=mig1-$$ G2=mig2-$$
T_START=$(ms)

host_uuid() { virsh -c "$1" capabilities 2>/dev/null | sed -n 's:^ *<uuid>\(.*\)</uuid>.*:\1:p' | head -n 1; }
# host_uuid_from NAME URI: the same, asked from inside instance NAME's namespaces.
host_uuid_from() {
	(libvirtd_use "$1" && libvirtd_exec virsh -c "$2" capabilities 2>/dev/null) |
		sed -n 's:^ *<uuid>\(.*\)</uuid>.*:\1:p' | head -n 1
}
names() { timeout 20 virsh -q -c "$1" list --all --name 2>/dev/null | sed '/^$/d' | tr '\n' ' '; }
state() { timeout 20 virsh -q -c "$1" domstate "$2" 2>/dev/null | head -n 1; }
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

# ---- 1. two daemons, two network namespaces --------------------------------
t_check "libvirtd_start A --netns 1" libvirtd_start A --netns 1
note "A start: ${LIBVIRTD_START_MS:-?} ms"
A_URI=$LIBVIRTD_URI A_PEER=${LIBVIRTD_PEER_URI:-} A_ADDR=${LIBVIRTD_ADDR:-} A_UUID=$LIBVIRTD_UUID
A_PID=$LIBVIRTD_PID
t_check "libvirtd_start B --netns 2" libvirtd_start B --netns 2
note "B start: ${LIBVIRTD_START_MS:-?} ms"
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

# ---- 2. storage ----------------------------------------------------------------
SHARED=$(libvirtd_shared_dir)
for n in A B; do
	libvirtd_use "$n"
	t_check "$n: pool 'shared' at $SHARED" libvirtd_pool shared "$SHARED"
done
libvirtd_use A
t_check "A: pool 'images' at /var/lib/libvirt/images (A's own)" libvirtd_pool images
inode() { stat -L -c %d:%i "$1"; }
t_eq "A sees the shared dir as the test does" "$(inode "$SHARED")" "$(libvirtd_use A; libvirtd_exec stat -L -c %d:%i "$SHARED")"
t_eq "B too" "$(inode "$SHARED")" "$(libvirtd_use B; libvirtd_exec stat -L -c %d:%i "$SHARED")"
t_eq "libvirtd_host_path of A's pool dir" "$T_TMP/libvirtd-A/lib/images" "$(libvirtd_host_path /var/lib/libvirt/images)"

# ---- 3. shared storage: A -> B managed by the client, back peer to peer ----
disk1=$(libvirtd_vol_copy shared "$G1.qcow2" "$GUEST/rootfs.qcow2")
t_eq "libvirtd_vol_copy into 'shared'" "$SHARED/$G1.qcow2" "$disk1"
tiny_domain_xml "$G1" 256 "$disk1" >"$T_TMP/g1.xml"
t_status "A: define and start $G1 (root on its qcow2 disk)" 0 \
	sh -c 'virsh -c "$1" define "$2" && virsh -c "$1" start "$3"' _ "$A_URI" "$T_TMP/g1.xml" "$G1"
t0=$(ms)
t_check "GUEST READY within 60 s" libvirtd_wait_serial "$G1" "GUEST READY" 60
note "boot from disk: $(($(ms) - t0)) ms"
t_check "booted from the disk (ROOT=disk)" libvirtd_wait_serial "$G1" "ROOT=disk" 1

t_status "without --unsafe libvirt refuses (storage on a local file system)" 1 \
	timeout 60 virsh -c "$A_URI" migrate --live --persistent --undefinesource "$G1" "$B_URI" "$B_MIG"
t_match "with 'Unsafe migration'" "Unsafe migration" "$T_ERR"
t0=$(ms)
t_status "virsh -c A migrate --live --persistent --undefinesource --unsafe $G1 B_URI(unix) B_MIGRATE_URI" 0 \
	timeout 60 virsh -c "$A_URI" migrate --live --persistent --undefinesource --unsafe "$G1" "$B_URI" "$B_MIG"
wall=$(($(ms) - t0))
t_eq "$G1 runs on B" running "$(state "$B_URI" "$G1")"
t_eq "and is gone from A" "" "$(names "$A_URI")"
t_match "persistent on B" "Persistent: +yes" "$(virsh -c "$B_URI" dominfo "$G1" 2>&1)"
t_eq "its qemu runs in B's network namespace" "$b_net" "$(qemu_net B "$G1")"
down=$(jobinfo "$B_URI" "$G1" "Total downtime") el=$(jobinfo "$B_URI" "$G1" "Time elapsed")
t_match "B reports the completed job's downtime" '^[0-9]+$' "$down"
note "live, shared storage, client-managed: virsh wall $wall ms, job $el ms, downtime $down ms, memory $(jobinfo "$B_URI" "$G1" "Memory processed") MiB sent"
libvirtd_use B
t_check "B: virsh console attaches" libvirtd_console_open "$G1"
libvirtd_console_send ""
libvirtd_console_send 'echo $((6*7))-on-B $(cat /etc/vmtty-disk)'
t_check "the guest answers on B, its disk still there" libvirtd_console_wait "42-on-B vmtty test guest root disk" 15
libvirtd_console_close

t0=$(ms)
t_status "virsh -c B migrate --live --p2p --persistent --undefinesource --unsafe $G1 A_PEER_URI (no migration URI)" 0 \
	timeout 60 virsh -c "$B_URI" migrate --live --p2p --persistent --undefinesource --unsafe "$G1" "$A_PEER"
wall=$(($(ms) - t0))
t_eq "$G1 runs on A again" running "$(state "$A_URI" "$G1")"
t_eq "B has no domain" "" "$(names "$B_URI")"
t_eq "its qemu runs in A's network namespace" "$a_net" "$(qemu_net A "$G1")"
note "live, shared storage, peer to peer: virsh wall $wall ms, job $(jobinfo "$A_URI" "$G1" "Time elapsed") ms, downtime $(jobinfo "$A_URI" "$G1" "Total downtime") ms"
virsh -q -c "$A_URI" destroy "$G1" >/dev/null 2>&1
virsh -q -c "$A_URI" undefine "$G1" >/dev/null 2>&1

# ---- 4. per-instance storage: --copy-storage-all ---------------------------------
libvirtd_use A
disk2=$(libvirtd_vol_copy images "$G2.qcow2" "$GUEST/rootfs.qcow2")
t_eq "libvirtd_vol_copy into A's 'images'" "/var/lib/libvirt/images/$G2.qcow2" "$disk2"
t_check "the volume is in A's dir" test -s "$T_TMP/libvirtd-A/lib/images/$G2.qcow2"
tiny_domain_xml "$G2" 256 "$disk2" >"$T_TMP/g2.xml"
t_status "A: define and start $G2" 0 \
	sh -c 'virsh -c "$1" define "$2" && virsh -c "$1" start "$3"' _ "$A_URI" "$T_TMP/g2.xml" "$G2"
t_check "GUEST READY within 60 s" libvirtd_wait_serial "$G2" "GUEST READY" 60
t_check "A: virsh console attaches" libvirtd_console_open "$G2"
libvirtd_console_send ""
libvirtd_console_send 'echo payload-$((6*7)) >/root/mig.txt; sync; echo $((6*8))-written'
t_check "a file is written on the guest's disk" libvirtd_console_wait "48-written" 15
libvirtd_console_close

t_status "copy-storage while B has no pool and no file at the disk's path: refused" 1 \
	timeout 60 virsh -c "$A_URI" migrate --live --persistent --undefinesource --copy-storage-all "$G2" "$B_URI" "$B_MIG"
t_match "with 'no storage pool with matching target path'" "no storage pool with matching target path" "$T_ERR"
t_eq "$G2 still runs on A" running "$(state "$A_URI" "$G2")"
libvirtd_use B
t_check "B: pool 'images' at /var/lib/libvirt/images (B's own)" libvirtd_pool images

# Abort: 1 MiB/s throttles the NBD disk copy too.
t0=$(ms)
timeout 60 virsh -c "$A_URI" migrate --live --persistent --undefinesource --copy-storage-all \
	--bandwidth 1 "$G2" "$B_URI" "$B_MIG" >"$T_TMP/mig.out" 2>"$T_TMP/mig.err" &
mig=$!
incoming() { [ -n "$(names "$B_URI")" ] || _lv_dead "$mig"; }
wait_for 20 incoming
t_eq "B holds the incoming domain (paused)" paused "$(state "$B_URI" "$G2")"
_copying() { [ -n "$(jobinfo_live)" ] || _lv_dead "$mig"; }
jobinfo_live() { virsh -c "$A_URI" domjobinfo "$G2" 2>/dev/null | sed -n 's/^File processed: *\([1-9][0-9.]*\).*/\1/p'; }
wait_for 20 _copying
t_check "the disk copy is under way (A: $(jobinfo_live) MiB processed)" test -n "$(jobinfo_live)"
t_check "libvirt made the volume on B itself (its pool holds the path)" test -e "$T_TMP/libvirtd-B/lib/images/$G2.qcow2"
t_check "the migration still runs $(($(ms) - t0)) ms after it began" _lv_alive "$mig"
t1=$(ms)
t_status "virsh -c A domjobabort $G2" 0 virsh -c "$A_URI" domjobabort "$G2"
wait "$mig"
rc=$?
note "abort: domjobabort to virsh migrate's exit: $(($(ms) - t1)) ms"
t_eq "virsh migrate failed" 1 "$rc"
t_match "canceled by client" "canceled by client" "$(cat "$T_TMP/mig.err")"
t_eq "$G2 runs on A" running "$(state "$A_URI" "$G2")"
t_eq "B has no domain" "" "$(names "$B_URI")"
if [ -e "$T_TMP/libvirtd-B/lib/images/$G2.qcow2" ]; then
	note "libvirt 9.0 leaves the volume it made on B after the abort ($(du -k "$T_TMP/libvirtd-B/lib/images/$G2.qcow2" | cut -f1) KiB): remove it"
	t_status "B: vol-delete it" 0 virsh -c "$B_URI" vol-delete "$G2.qcow2" --pool images
fi
libvirtd_use A
t_check "A: virsh console attaches" libvirtd_console_open "$G2"
libvirtd_console_send ""
libvirtd_console_send 'echo $((6*9))-after-abort'
t_check "the guest answers on A after the abort" libvirtd_console_wait "54-after-abort" 15
libvirtd_console_close

t_status "B: the destination volume made first (vol-create-as images $G2.qcow2 64M qcow2)" 0 \
	virsh -c "$B_URI" vol-create-as images "$G2.qcow2" 64M --format qcow2
empty_kib=$(du -k "$T_TMP/libvirtd-B/lib/images/$G2.qcow2" | cut -f1)
t0=$(ms)
t_status "virsh -c A migrate --live --persistent --undefinesource --copy-storage-all $G2 B_PEER_URI(tcp) B_MIGRATE_URI" 0 \
	timeout 60 virsh -c "$A_URI" migrate --live --persistent --undefinesource --copy-storage-all "$G2" "$B_PEER" "$B_MIG"
wall=$(($(ms) - t0))
t_eq "$G2 runs on B" running "$(state "$B_URI" "$G2")"
t_eq "and is gone from A" "" "$(names "$A_URI")"
t_check "A's volume stays (libvirt never deletes the source's storage)" test -s "$T_TMP/libvirtd-A/lib/images/$G2.qcow2"
full_kib=$(du -k "$T_TMP/libvirtd-B/lib/images/$G2.qcow2" | cut -f1)
t_check "B's volume got the data (${empty_kib} -> ${full_kib} KiB)" test "$full_kib" -gt "$((empty_kib + 1024))"
note "live, copy-storage-all, client-managed over TCP: virsh wall $wall ms, job $(jobinfo "$B_URI" "$G2" "Time elapsed") ms, downtime $(jobinfo "$B_URI" "$G2" "Total downtime") ms"
libvirtd_use B
t_check "B: virsh console attaches" libvirtd_console_open "$G2"
libvirtd_console_send ""
libvirtd_console_send 'echo 3 >/proc/sys/vm/drop_caches; cat /root/mig.txt'
t_check "the file written on A reads back on B (page cache dropped)" libvirtd_console_wait "payload-42" 15
libvirtd_console_close
virsh -q -c "$B_URI" destroy "$G2" >/dev/null 2>&1

# ---- 5. killed with -9: namespaces, links and processes go -------------------
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
