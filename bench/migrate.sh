#!/usr/bin/env bash
# Live migration: `vmtty migrate VM --to HOST` against `virsh migrate` with
# the same flags on the same guest (issue 16, must show 7).  Figures only,
# never pass/fail.
#
# Two private libvirtds A and B, each in its own mount and network namespace
# (tests/integration/libvirtd.sh: distinct host_uuid, migration_host = its
# address), one pool 'shared' in a directory both see, the tiny guest
# (256 MiB, TCG) running there on a qcow2 disk.  Both tools do the same
# work: the client holds both connections (virDomainMigrate3, no --p2p),
# flags LIVE, PERSIST_DEST, UNDEFINE_SOURCE and UNSAFE (libvirt 9.0 counts a
# local file system as not shared; vmtty adds it for disks the destination
# has), migration URI tcp://ADDR of the destination.
#   vmtty migrate G --to B --json             (hosts A and B by their unix
#                                             sockets, B's migration address
#                                             set with `vmtty host set`)
#   virsh -c A migrate --live --persistent --undefinesource --unsafe G B tcp://ADDR
# The guest goes back and forth, so nothing is reset between runs: an
# untimed warm-up of each (vmtty A->B, virsh B->A), then N rounds, the
# first tool of a round taking the guest one way and the other bringing it
# back; who goes first alternates (vmtty, virsh, virsh, vmtty, ...), so each
# tool moves it A->B and B->A equally often and neither always follows the
# other.  Each run: the wall time of the process; the downtime it reports
# (vmtty: the "done" event of --json; virsh: `virsh domjobinfo --completed`
# on the destination, Total downtime); how long virDomainMigrate3 took in
# it and so what the tool spent outside it (start-up, connections,
# preflight, the inventory), both from libvirt's debug log of its API calls
# (LIBVIRT_LOG_FILTERS=1:libvirt.domain, a line a call, in both tools);
# and libvirt's own time of the job (domjobinfo --completed, Time elapsed:
# vmtty keeps the completed job on the destination too).
# Untimed after every run, whichever tool made it: a check that the guest
# runs on the destination only, and `vmtty list` (after virsh's move the
# inventory still has the guest on its old host), which must then show it
# there.
#
#   bash bench/migrate.sh [--build DIR] [--runs N]
# N: MIGRATE_RUNS from the environment, else 5.  Needs root (namespaces);
# says "skipped" without it.  Everything it starts (daemons, guests,
# namespaces, the network switch) goes when it ends, on Ctrl-C too, and even
# after kill -9 (libvirtd.sh's watchdogs; only its temp dir stays then).
set -u
cd "$(dirname "$0")/.." || exit 1
build=build runs=${MIGRATE_RUNS:-5}
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	*) echo "bench/migrate.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
[ "$runs" -ge 1 ] 2>/dev/null || { echo "bench/migrate.sh: --runs wants a number of at least 1" >&2; exit 2; }
case $build in /*) B=$build ;; *) B="$PWD/$build" ;; esac
[ -x "$B/vmtty" ] || { echo "bench/migrate.sh: no $B/vmtty; run make first" >&2; exit 1; }
title="live migration, vmtty migrate against virsh migrate"
if [ "$(id -u)" -ne 0 ]; then
	echo "$title: skipped (needs root for private libvirtds in namespaces)"
	exit 0
fi
for t in libvirtd virtlogd virsh unshare nsenter ip flock ss python3; do
	command -v "$t" >/dev/null || { echo "$title: skipped (no $t)"; exit 0; }
done
tests/guest/build.sh "$B/guest" >/dev/null || { echo "bench/migrate.sh: the tiny guest did not build" >&2; exit 1; }

# The test helpers: a temp dir ($T_TMP) and a private inventory, and
# cleanups run on exit (t_on_exit).  The daemons' namespaces also watch this
# shell and stop everything in them when it is gone.
export T_BUILD="$B" VMTTY="$B/vmtty"
source tests/integration/libvirtd.sh
# Ctrl-C, kill, a closed terminal: clean up, then die of the signal, so
# that whoever ran this (bench/run, make) stops too.
for sig in INT TERM HUP; do
	trap "t_cleanup; trap - $sig EXIT; kill -$sig \$\$" "$sig"
done
tmp=$T_TMP
source bench/lib.sh

fail() { echo "bench/migrate.sh: $*" >&2; exit 1; }
G=mbench-$$

echo "vmtty migrate benchmark ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg) at start, $runs runs of each side, alternating)"

# ---- A and B, the shared pool, the guest --------------------------------------
libvirtd_start A --netns 1 || fail "libvirtd A did not start"
A_URI=$LIBVIRTD_URI A_ADDR=$LIBVIRTD_ADDR
libvirtd_start B --netns 2 || fail "libvirtd B did not start"
B_URI=$LIBVIRTD_URI B_ADDR=$LIBVIRTD_ADDR
shared=$(libvirtd_shared_dir)
for h in A B; do
	libvirtd_use "$h"
	libvirtd_pool shared "$shared" || fail "no pool 'shared' on $h"
done
for h in A B; do
	eval "uri=\$${h}_URI addr=\$${h}_ADDR"
	"$VMTTY" host add "$h" "$uri" >/dev/null &&
		"$VMTTY" host set "$h" --migration-address "$addr" >/dev/null ||
		fail "vmtty host add/set $h failed"
done
libvirtd_use A
disk=$(libvirtd_vol_copy shared "$G.qcow2" "$GUEST/rootfs.qcow2") || fail "cannot copy the guest's disk"
tiny_domain_xml "$G" 256 "$disk" >"$tmp/g.xml"
virsh -q -c "$A_URI" define "$tmp/g.xml" >/dev/null && virsh -q -c "$A_URI" start "$G" >/dev/null ||
	fail "cannot define and start the guest on A"
libvirtd_wait_serial "$G" "GUEST READY" 120 || fail "the guest did not boot within 120 s"

# ---- one run of each tool ----------------------------------------------------------
uri_of() { eval "echo \$${1}_URI"; }
addr_of() { eval "echo \$${1}_ADDR"; }
names() { timeout 20 virsh -q -c "$(uri_of "$1")" list --all --name 2>/dev/null | sed '/^$/d' | tr '\n' ' '; }
# moved FROM TO: the guest runs on TO, and FROM has no domain (nor its qemu).
moved() {
	[ "$(timeout 20 virsh -q -c "$(uri_of "$2")" domstate "$G" 2>/dev/null | head -n 1)" = running ] &&
		[ -z "$(names "$1")" ] &&
		! _lv_alive "$(cat "$(_lv_dir "$1")/run/libvirt/qemu/$G.pid" 2>/dev/null)"
}
# inv_host: the host the inventory has the guest on (`vmtty list`
# refreshes it from both hosts first).
inv_host() {
	"$VMTTY" list --json 2>/dev/null | python3 -c 'import json, sys
print(" ".join(v["host"] for v in json.load(sys.stdin) if v["name"] == sys.argv[1]))' "$G"
}
# job TO: "job_ms=.. lv_down_ms=.." of the completed migration, from TO
# (-1: not known).  Kept there for another look (--keep-completed).
job() {
	timeout 20 virsh -q -c "$(uri_of "$1")" domjobinfo --completed --keep-completed "$G" 2>/dev/null | awk '
		/^Time elapsed:/ { j = $3 }
		/^Total downtime:/ { d = $3 }
		END { printf "job_ms=%s lv_down_ms=%s", (j == "" ? -1 : j), (d == "" ? -1 : d) }'
}
# The client's own record of virDomainMigrate3 (libvirt's debug log of
# its public API, a line a call): where each tool's time goes.
lvlog() { LIBVIRT_LOG_FILTERS=1:libvirt.domain LIBVIRT_LOG_OUTPUTS="1:file:$tmp/lv.log" "$@"; }
# in_migrate3 END: the milliseconds from virDomainMigrate3's entry to the
# first line after its Confirm3 matching END (the first call the tool makes
# once it has returned); -1 when the log lacks either.
in_migrate3() {
	[ -s "$tmp/lv.log" ] || { echo -1; return; }
	awk -v end="$1" '
		function ms(t) { split(t, a, ":"); return (a[1] * 3600 + a[2] * 60 + a[3]) * 1000 }
		t0 == "" && / virDomainMigrate3:/ { t0 = ms(substr($2, 1, 12)) }
		/ Confirm3 / { c = 1 }
		c && t1 == "" && $0 ~ end { t1 = ms(substr($2, 1, 12)) }
		END {
			if (t0 == "" || t1 == "") { print -1; exit }
			d = t1 - t0; if (d < 0) d += 86400000
			printf "%d\n", d }' "$tmp/lv.log"
}
# finish FROM TO OUT MS RC MIG [DOWN_MS]: the run's line into OUT: its wall
# time MS, MS in virDomainMigrate3 and outside it, its downtime DOWN_MS or
# else libvirt's; a run whose guest did not end up on TO alone counts as
# failed (and so does finish: the next run would not find it where it
# looks).
finish() {
	local from=$1 to=$2 out=$3 ms=$4 rc=$5 mig=$6 j
	wait_for 30 moved "$from" "$to" || { rc=9; echo "# $from->$to: the guest is not on $to alone" >&2; }
	j=$(job "$to")
	# The inventory, refreshed after either tool's run (after virsh's it
	# still has the guest on FROM), so that both start alike.
	[ "$(inv_host)" = "$to" ] || { rc=9; echo "# $from->$to: the inventory does not have the guest on $to" >&2; }
	echo "wall_ms=$ms down_ms=${7:-${j##*lv_down_ms=}} mig_ms=$mig out_ms=$((mig < 0 ? -1 : ms - mig))" \
		"$j status=$rc dir=$from$to" >>"$out"
	[ "$rc" = 0 ]
}
# by_vmtty FROM TO OUT
by_vmtty() {
	local from=$1 to=$2 out=$3 t0 ms rc=0 down
	rm -f "$tmp/lv.log"
	t0=$(now)
	lvlog "$VMTTY" migrate "$G" --to "$to" --json >"$tmp/v.json" 2>"$tmp/v.err" || rc=$?
	ms=$(( ($(now) - t0) / 1000000 ))
	down=$(tail -n 1 "$tmp/v.json" | python3 -c 'import json, sys
e = json.load(sys.stdin); print(e["downtime_ms"] if e.get("event") == "done" and e.get("downtime_ms") is not None else -1)' 2>/dev/null)
	[ "$rc" = 0 ] || sed 's/^/# vmtty: /' "$tmp/v.err" >&2
	# Its first call after the move: the completed job's statistics.
	finish "$from" "$to" "$out" "$ms" "$rc" "$(in_migrate3 'virDomainGetJobStats.*flags=0x3')" "${down:--1}"
}
# by_virsh FROM TO OUT
by_virsh() {
	local from=$1 to=$2 out=$3 t0 ms rc=0 furi turi mig
	furi=$(uri_of "$from") turi=$(uri_of "$to") mig=tcp://$(addr_of "$to")
	rm -f "$tmp/lv.log"
	t0=$(now)
	lvlog virsh -q -c "$furi" migrate --live --persistent --undefinesource --unsafe "$G" "$turi" "$mig" \
		>/dev/null 2>"$tmp/r.err" || rc=$?
	ms=$(( ($(now) - t0) / 1000000 ))
	[ "$rc" = 0 ] || sed 's/^/# virsh: /' "$tmp/r.err" >&2
	# Its first call after the move: freeing the domain it returned.  Its
	# downtime: libvirt's (domjobinfo), the only report virsh has.
	finish "$from" "$to" "$out" "$ms" "$rc" "$(in_migrate3 ' virDomainFree:')"
}

# ---- the runs -------------------------------------------------------------------------
: >"$tmp/mig.a"; : >"$tmp/mig.b"
[ "$(inv_host)" = A ] || fail "the inventory does not have the guest on A"
# A failed run ends the rounds: what ran is reported, FAILED said.
by_vmtty A B /dev/null && by_virsh B A /dev/null || fail "the warm-up runs failed"
for ((i = 0; i < runs; i++)); do
	if ((i % 2)); then
		by_virsh A B "$tmp/mig.b" && by_vmtty B A "$tmp/mig.a"
	else
		by_vmtty A B "$tmp/mig.a" && by_virsh B A "$tmp/mig.b"
	fi || { echo "# round $((i + 1)) failed: no more rounds" >&2; break; }
done

echo
echo "live migration, shared storage, the tiny guest (256 MiB, TCG) between two libvirtds in"
echo "network namespaces, flags live+persist+undefine-source, tcp://ADDR ($runs runs each way round):"
side "vmtty migrate --to --json" "$tmp/mig.a"
side "virsh migrate (same flags)" "$tmp/mig.b"
side "  in virDomainMigrate3, vmtty" "$tmp/mig.a" mig_ms
side "  in virDomainMigrate3, virsh" "$tmp/mig.b" mig_ms
side "  outside it, vmtty" "$tmp/mig.a" out_ms
side "  outside it, virsh" "$tmp/mig.b" out_ms
side "  downtime, vmtty (done event)" "$tmp/mig.a" down_ms
side "  downtime, virsh (domjobinfo)" "$tmp/mig.b" down_ms
side "  libvirt's job, vmtty's runs" "$tmp/mig.a" job_ms
side "  libvirt's job, virsh's runs" "$tmp/mig.b" job_ms
echo "  (outside it: start-up, connections, preflight, inventory; libvirt's job: domjobinfo" \
	"--completed, Time elapsed; -1: not known)"
ratio_line mig vmtty/virsh "virsh migrate (libvirt 9.0), the same flags, guest and hosts" "target: at most 1.05"
ratio_line mig "in virDomainMigrate3 vmtty/virsh" "virsh migrate (libvirt 9.0): the same call" "" mig_ms
ratio_line mig "downtime vmtty/virsh" "virsh migrate (libvirt 9.0): domjobinfo --completed" "" down_ms
echo "  load $(cut -d' ' -f1 /proc/loadavg) at the end"
