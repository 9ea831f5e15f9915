#!/usr/bin/env bash
# Snapshots on libvirt hosts.
# 1. The test driver: for every domain with snapshots, `vmtty snapshot
#    HOST/DOM list --json` has the parents of `virsh snapshot-list --parent`
#    and of `--tree` (both parsed), and virsh's current snapshot; in a file
#    this test writes (a tree three deep, a disk-only snapshot, a name with
#    '&') and in ../shared's testdriver-lv9.xml when it is there.
# 2. A real private libvirtd, the tiny guest on a qcow2 disk (TCG): write A
#    in the guest and set a shell variable, snapshot s1 while it runs, write
#    B, revert to s1: the variable holds and the file reads A.  Bad input
#    (a duplicate name, a revert to or delete of a missing snapshot) and
#    what libvirt 9.0 cannot do with external (disk-only) snapshots
#    (revert; delete one whose parent is internal; delete with children)
#    are one line, exit 1, and change nothing; an external snapshot libvirt
#    can delete (its parent external) is merged and its overlay goes.
source "$(dirname "$0")/libvirtd.sh"

SHARED=$(cd "$T_ROOT/.." && pwd)/shared/testdata/libvirt-test

# snaps TARGET: "name:parent:kind:vm_state:current" per snapshot, tree order.
snaps() {
	"$VMTTY" snapshot "$1" list --json | python3 -c '
import json, sys
for s in json.load(sys.stdin):
    print("%s:%s:%s:%s:%s" % (s["name"], s["parent"] or "-", s["kind"], s["vm_state"],
        "*" if s["current"] else ""))'
}
one_line() { [ -n "$1" ] && [ "$(printf '%s\n' "$1" | wc -l)" = 1 ]; }

# ---- 1. the test driver ------------------------------------------------------

# virsh_parents URI DOM: "name parent" per snapshot (parent "-" for a root)
# from `snapshot-list --parent`, sorted.
virsh_parents() {
	virsh -q -c "$1" snapshot-list "$2" --parent 2>/dev/null | awk 'NF {
		# name, date, time, zone, state[, parent]
		print $1, (NF >= 6 ? $6 : "-") }' | sort
}
# virsh_tree URI DOM: the same from `snapshot-list --tree` (a child's "+- "
# is 4 columns further in than its parent's).
virsh_tree() {
	virsh -q -c "$1" snapshot-list "$2" --tree 2>/dev/null | python3 -c '
import sys
stack = []
for line in sys.stdin.read().splitlines():
    if not line.strip() or line.strip().strip("|").strip() == "":
        continue
    if "+- " in line:
        i = line.index("+- ")
        depth, name = (i - 2) // 4 + 1, line[i + 3:]
    else:
        depth, name = 0, line.strip()
    del stack[depth:]
    print(name, stack[-1] if stack else "-")
    stack.append(name)' | sort
}
vmtty_parents() {
	"$VMTTY" snapshot "$1" list --json | python3 -c '
import json, sys
for s in json.load(sys.stdin): print(s["name"], s["parent"] or "-")' | sort
}
vmtty_current() {
	"$VMTTY" snapshot "$1" list --json | python3 -c '
import json, sys
print(" ".join(s["name"] for s in json.load(sys.stdin) if s["current"]))'
}
# compare HOST URI: each domain with snapshots, vmtty against virsh.
compare() {
	local host=$1 uri=$2 d n=0 want
	t_status "host add $host" 0 "$VMTTY" host add "$host" "$uri"
	t_status "list --host $host" 0 "$VMTTY" list --host "$host"
	for d in $(virsh -q -c "$uri" list --all --name 2>/dev/null); do
		[ -n "$(virsh -q -c "$uri" snapshot-list "$d" --name 2>/dev/null | sed '/^$/d')" ] || continue
		n=$((n + 1))
		want=$(virsh_parents "$uri" "$d")
		t_eq "$host/$d: virsh's --tree and --parent agree" "$want" "$(virsh_tree "$uri" "$d")"
		t_eq "$host/$d: vmtty's parents are virsh's ($(echo "$want" | wc -l) snapshots)" \
			"$want" "$(vmtty_parents "$host/$d")"
		t_eq "$host/$d: and its current snapshot" \
			"$(virsh -q -c "$uri" snapshot-current "$d" --name 2>/dev/null)" "$(vmtty_current "$host/$d")"
	done
	t_check "$host has domains with snapshots to compare" [ "$n" -gt 0 ]
}

# A test-driver file of our own: domain "tree" with r1 -> (c1&x -> g1 -> d1,
# c2) and r2; g1 current; d1 disk-only (external).
U=$(cat /proc/sys/kernel/random/uuid)
snap() { # NAME STATE PARENT TIME MEMORY DISKMODE [FILE [ACTIVE]]
	local disk="<disk name='vda' snapshot='$6'/>"
	[ -z "${7:-}" ] || disk="<disk name='vda' snapshot='$6' type='file'><source file='$7'/></disk>"
	cat <<EOF
  <test:domainsnapshot>
    <name>$1</name><state>$2</state>${3:+<parent><name>$3</name></parent>}
    <creationTime>$4</creationTime><memory snapshot='$5'/><disks>$disk</disks>
    <domain type='test'><name>tree</name><uuid>$U</uuid><memory>65536</memory><os><type>hvm</type></os></domain>
    <active>${8:-0}</active>
  </test:domainsnapshot>
EOF
}
{
	echo "<node><domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>"
	echo "  <name>tree</name><uuid>$U</uuid><memory>65536</memory><os><type>hvm</type></os>"
	echo "  <devices><disk type='file' device='disk'><source file='/t/tree.qcow2'/><target dev='vda' bus='virtio'/></disk></devices>"
	snap r1 running "" 1700000000 internal internal
	snap 'c1&amp;x' shutoff r1 1700000100 no internal
	snap g1 running 'c1&amp;x' 1700000200 internal internal "" 1
	snap c2 paused r1 1700000300 internal internal
	snap d1 disk-snapshot g1 1700000400 no external /t/tree.d1
	snap r2 shutoff "" 1700000500 no internal
	echo "</domain>"
	echo "<domain type='test'><name>plain</name><uuid>$(cat /proc/sys/kernel/random/uuid)</uuid><memory>65536</memory><os><type>hvm</type></os></domain>"
	echo "</node>"
} >"$T_TMP/tree.xml"
TREE="test://$T_TMP/tree.xml"
t_eq "virsh reads the file's tree" "c1&x r1 c2 r1 d1 g1 g1 c1&x r1 - r2 -" \
	"$(virsh_parents "$TREE" tree | tr '\n' ' ' | sed 's/ $//')"
compare tree "$TREE"
t_eq "tree order, kinds, states and the current one" \
	"r1:-:full:running: c1&x:r1:full:off: g1:c1&x:full:running:* d1:g1:disk:-: c2:r1:full:paused: r2:-:full:off:" \
	"$(snaps tree/tree | sed 's/:None:/:-:/' | tr '\n' ' ' | sed 's/ $//')"
t_status "the text list" 0 "$VMTTY" snapshot tree/tree list
t_match "draws the tree: g1 two below r1, marked current" \
	"^  r1 .*"$'\n'"    c1&x .*"$'\n'"\*     g1 +2023-11-14 [0-9:]+ full running " "$T_OUT"
t_status "a domain without snapshots" 0 "$VMTTY" snapshot tree/plain list
t_eq "says so" "VM plain has no snapshots" "$T_OUT"
t_status "refused: revert to disk-only d1" 1 "$VMTTY" snapshot tree/tree revert d1
t_match "libvirt 9.0 cannot revert to it, in one line" \
	"^vmtty: VM 'tree': snapshot 'd1' is external \(disk-only: its disks' later writes went to overlay files\), and libvirt [0-9.]+ on host 'tree' cannot revert to an external snapshot \(libvirt 9.7 and later can\); nothing was changed$" "$T_ERR"
t_status "refused: delete g1 with those below it (d1 is external)" 1 "$VMTTY" snapshot tree/tree delete g1 --children
t_match "says which one, in one line" \
	"^vmtty: VM 'tree': snapshot 'd1' \(below it\) is external, and libvirt [0-9.]+ on host 'tree' cannot delete external snapshots together with those below them; delete them one at a time, the lowest first; nothing was changed$" "$T_ERR"

if [ -f "$SHARED/testdriver-lv9.xml" ]; then
	compare lv9 "test://$SHARED/testdriver-lv9.xml"
	t_match "lv9: a description with newlines is escaped on one line" \
		'internal-root +[0-9-]+ [0-9:]+ full running +\? +FOO\\ndesc line #2\\nba$' \
		"$("$VMTTY" snapshot lv9/test-snapshots list)"
else
	for d in "host add lv9" "list --host lv9" "lv9 has domains with snapshots to compare" \
		"lv9: a description with newlines is escaped on one line"; do
		t_skip "$d" "$SHARED/testdriver-lv9.xml is absent"
	done
fi

# ---- 2. a real libvirtd ------------------------------------------------------

libvirtd_start snap
t_check "pool 'images'" libvirtd_pool images
disk=$(libvirtd_vol_copy images g.qcow2 "$GUEST/rootfs.qcow2")
tiny_domain_xml g 256 "$disk" >"$T_TMP/g.xml"
t_check "define g on its qcow2 disk" libvirtd_virsh define "$T_TMP/g.xml"
t_status "host add lv" 0 "$VMTTY" host add lv "$LIBVIRTD_URI"
t_status "vmtty list finds g" 0 "$VMTTY" list --host lv
t_status "start g" 0 "$VMTTY" start lv/g
t_check "the guest boots from its disk" libvirtd_wait_serial g "ROOT=disk" 90
t_check "and is ready" libvirtd_wait_serial g "GUEST READY" 30

# gsh CMD: run CMD in the guest's shell (virsh console) and print what it
# printed between "@@=" and "@@" (typed as '"@@""="', so the echo of the
# typed line never matches).
_marked() { grep -qE '@@=[^@]*@@' "$CONSOLE_OUT"; }
gsh() {
	libvirtd_console_open g || return 1
	libvirtd_console_send ""
	libvirtd_console_send "$1"
	wait_for 20 _marked
	tr -d '\r' <"$CONSOLE_OUT" | grep -oE '@@=[^@]*@@' | tail -n 1 | sed 's/^@@=//; s/@@$//'
	libvirtd_console_close
}
_reads() { [ "$(gsh "$1")" = "$2" ]; }
# world: what a refused operation must leave as it was.
world() {
	libvirtd_virsh snapshot-list g --parent
	libvirtd_virsh snapshot-current g --name
	libvirtd_virsh domblklist g
	libvirtd_domstate g
	ls "$(libvirtd_host_path "$(libvirtd_pool_path images)")"
	"$VMTTY" snapshot lv/g list --json
}

t_eq "A written, X set in the guest's shell" "before" \
	"$(gsh 'echo A > /root/f; sync; X=before; echo "@@""=$X@@"')"
t_status "snapshot lv/g create s1 (running)" 0 "$VMTTY" snapshot lv/g create s1 --description "A written"
t_eq "s1: full, of a running VM, current" "s1:-:full:running:*" "$(snaps lv/g)"
t_match "virsh: s1 is internal and current" "Current: +yes.*Location: +internal" \
	"$(libvirtd_virsh snapshot-info g s1 | tr '\n' ' ')"
t_eq "B written, X changed" "B:after" \
	"$(gsh 'echo B > /root/f; sync; X=after; echo "@@""=$(cat /root/f):$X@@"')"
t_status "snapshot lv/g revert s1" 0 "$VMTTY" snapshot lv/g revert s1
t_eq "g runs on" running "$(libvirtd_domstate g)"
t_check "the variable set before s1 holds and the file reads A" wait_for 30 _reads \
	'echo "@@""=$X:$(cat /root/f)@@"' "before:A"
t_status "snapshot lv/g list" 0 "$VMTTY" snapshot lv/g list
t_match "the list: s1 current, full, running, its description" \
	'^\* s1 +[0-9-]+ [0-9:]+ full running +\? +A written$' "$T_OUT"

# Bad input: one line, exit 1, nothing changed.
bad() {
	local desc=$1 pattern=$2; shift 2
	t_status "$desc exits 1" 1 "$VMTTY" snapshot "$@"
	t_match "$desc: says why" "$pattern" "$T_ERR"
	t_check "$desc: in one line" one_line "$T_ERR"
}
before=$(world)
bad "a duplicate name" "^vmtty: VM 'g' already has a snapshot named 's1'; choose another name$" \
	lv/g create s1
bad "a duplicate name, disk-only" "already has a snapshot named 's1'" lv/g create s1 --disk-only
bad "a revert to a missing snapshot" \
	"^vmtty: VM 'g' has no snapshot named 'nope'; 'vmtty snapshot g list' shows them$" lv/g revert nope
bad "a delete of a missing snapshot" "VM 'g' has no snapshot named 'nope'" lv/g delete nope
t_eq "nothing changed (virsh's snapshots, current, disks, state)" "$before" "$(world)"

# Disk-only: external, on an overlay libvirt makes.
t_status "snapshot lv/g create d1 --disk-only (running)" 0 "$VMTTY" snapshot lv/g create d1 --disk-only
t_eq "d1: disk-only, below s1, current" "s1:-:full:running: d1:s1:disk:running:*" \
	"$(snaps lv/g | tr '\n' ' ' | sed 's/ $//')"
t_match "virsh: d1 is external" "Location: +external" "$(libvirtd_virsh snapshot-info g d1 | tr '\n' ' ')"
t_match "g writes on d1's overlay now" "vda +/var/lib/libvirt/images/g\.d1$" "$(libvirtd_virsh domblklist g)"
before=$(world)
ver=$(virsh -c "$LIBVIRTD_URI" version --daemon 2>/dev/null | sed -n 's/^Running against daemon: //p')
if [[ "$ver" =~ ^9\.[0-6]\. ]]; then
	bad "a revert to disk-only d1" \
		"^vmtty: VM 'g': snapshot 'd1' is external \(disk-only: .*\), and libvirt $ver on host 'lv' cannot revert to an external snapshot \(libvirt 9.7 and later can\); nothing was changed$" \
		lv/g revert d1
else
	t_skip "a revert to disk-only d1 is refused" "the daemon runs libvirt $ver"
fi
bad "a delete of d1 (its parent s1 is internal)" \
	"^vmtty: VM 'g': snapshot 'd1' is external \(disk-only: .*\) and its parent 's1' is internal, and libvirt $ver on host 'lv' cannot delete an external snapshot whose parent is internal; nothing was changed$" \
	lv/g delete d1
bad "a delete of s1 with those below it" \
	"^vmtty: VM 'g': snapshot 'd1' \(below it\) is external, and libvirt $ver on host 'lv' cannot delete external snapshots together with those below them; .*nothing was changed$" \
	lv/g delete s1 --children
t_eq "nothing changed (virsh's snapshots, current, disks, state, files)" "$before" "$(world)"

# An external snapshot whose parent is external: libvirt merges it.
t_status "snapshot lv/g create d2 --disk-only" 0 "$VMTTY" snapshot lv/g create d2 --disk-only
t_match "g writes on d2's overlay" "vda +/var/lib/libvirt/images/g\.d2$" "$(libvirtd_virsh domblklist g)"
t_eq "C written on it" "C" "$(gsh 'echo C > /root/f; sync; echo "@@""=$(cat /root/f)@@"')"
t_status "snapshot lv/g delete d2 (running)" 0 "$VMTTY" snapshot lv/g delete d2
t_eq "d2 is gone from the host's tree" "d1 s1 s1 -" \
	"$(virsh_parents "$LIBVIRTD_URI" g | tr '\n' ' ' | sed 's/ $//')"
t_match "g writes on d1's overlay again (d2's merged into it)" "vda +/var/lib/libvirt/images/g\.d1$" \
	"$(libvirtd_virsh domblklist g)"
t_eq "vmtty's list: d1 current again" "s1:-:full:running: d1:s1:disk:running:*" \
	"$(snaps lv/g | tr '\n' ' ' | sed 's/ $//')"
t_check "d2's overlay file went" test ! -e "$(libvirtd_host_path /var/lib/libvirt/images/g.d2)"
t_eq "the guest still reads C" "C" "$(gsh 'echo "@@""=$(cat /root/f)@@"')"

t_status "the journal of g" 0 "$VMTTY" log lv/g --json
t_eq "has each operation, ok or failed" "snapshot-create ok snapshot-revert ok snapshot-create failed snapshot-revert failed snapshot-delete failed snapshot-delete ok" \
	"$(python3 -c '
import json, sys
seen = []
for e in json.loads(sys.argv[1]):
    k = "%s %s" % (e["action"], "ok" if e["result"] == "ok" else "failed")
    if e["action"].startswith("snapshot") and k not in seen: seen.append(k)
print(" ".join(seen))' "$T_OUT")"
libvirtd_virsh destroy g >/dev/null

t_summary
