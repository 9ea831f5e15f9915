#!/usr/bin/env bash
# The migration dialog (m) in the real TUI under tmux, between two real
# private libvirtds A and B, each in its own mount and network namespace
# (as integration/test_migrate.sh sets them up), the tiny guest G running
# on A from a qcow2 disk in a directory both see (shared storage):
#   1. m on G: the destination is B (the only other libvirt host; the
#      built-in host is not offered), a bandwidth limit of 1 MiB/s; Enter
#      shows the preflight's findings to confirm; y starts the move; the
#      progress bar moves (two different percentages on screen); Esc stops
#      it: the status line says G runs on A as before, virsh agrees (running
#      on A, B has no domain), so do the inventory, the journal and the list;
#   2. m again without a limit, confirmed: the status line says G now runs
#      on B with its downtime; virsh, the inventory and the list agree.
# Before that: ? lists m; m on a VM of the built-in host says it moves live
# only between libvirt hosts.
source "$(dirname "$0")/../integration/libvirtd.sh"

G=tm-$$
ms() { echo $(($(date +%s%N) / 1000000)); }
note() { echo "# $*"; }
names() { timeout 20 virsh -q -c "$1" list --all --name 2>/dev/null | sed '/^$/d' | sort | tr '\n' ' '; }
state() { timeout 20 virsh -q -c "$1" domstate "$2" 2>/dev/null | head -n 1; }
# inv_host NAME: the host the inventory has VM NAME on.
inv_host() {
	"$VMTTY" list --json 2>/dev/null | python3 -c '
import json, sys
for v in json.load(sys.stdin):
    if v["name"] == sys.argv[1]: print(v["host"])' "$1"
}
# tui_host_of NAME: the host whose section of the list shows VM NAME.
tui_host_of() {
	tui_screen | awk -v n="$1" '$3 ~ /^\(/ && ($1 == "▾" || $1 == "▸") { h = $2 }
		$2 == n && $3 !~ /^\(/ { print h; exit }'
}
_tui_host_is() { [ "$(tui_host_of "$1")" = "$2" ]; }
# percents: every "NN%" at the end of the progress bar on screen.
percent() { tui_screen | grep -Eo '[█░#-]+ +[0-9]+%' | grep -Eo '[0-9]+%$' | tr -d % | head -n 1; }
_moving() { local p; p=$(percent); [ -n "$p" ] && [ "$p" -gt 0 ]; }
_moved_on() { local p; p=$(percent); [ -n "$p" ] && [ "$p" != "$1" ]; }
# open_migrate [NAME]: select VM NAME (G) in the list (filtered to it), press m.
open_migrate() {
	local n=${1:-$G}
	if _tui_has 'filter: '; then tui_keys Escape; tui_wait_gone 'filter: '; fi
	tui_keys / ; tui_type "$n"; tui_keys Enter
	tui_expect "the list is filtered to $n" "^ +. $n "
	tui_keys Home j m
}

# ---- two daemons, the shared pool, the hosts, G on A ------------------------------
t_check "libvirtd_start A --netns 1" libvirtd_start A --netns 1
A_URI=$LIBVIRTD_URI
t_check "libvirtd_start B --netns 2" libvirtd_start B --netns 2
B_URI=$LIBVIRTD_URI B_ADDR=$LIBVIRTD_ADDR
SHARED=$(libvirtd_shared_dir)
for n in A B; do
	libvirtd_use "$n"
	t_check "$n: pool 'shared' at $SHARED" libvirtd_pool shared "$SHARED"
done
t_status "vmtty host add A" 0 "$VMTTY" host add A "$A_URI"
t_status "vmtty host add B" 0 "$VMTTY" host add B "$B_URI"
t_status "vmtty host set B --migration-address $B_ADDR" 0 "$VMTTY" host set B --migration-address "$B_ADDR"
libvirtd_use A
disk=$(libvirtd_vol_copy shared "$G.qcow2" "$GUEST/rootfs.qcow2")
tiny_domain_xml "$G" 256 "$disk" >"$T_TMP/g.xml"
t_status "A: define and start $G (the tiny guest on its qcow2 disk)" 0 \
	sh -c 'virsh -q -c "$1" define "$2" && virsh -q -c "$1" start "$3"' _ "$A_URI" "$T_TMP/g.xml" "$G"
t_check "$G: GUEST READY within 90 s" libvirtd_wait_serial "$G" "GUEST READY" 90
t_status "vmtty list: $G is in the inventory" 0 "$VMTTY" list
t_eq "on A" A "$(inv_host "$G")"
t_status "a VM on the built-in host (not started)" 0 create_tiny "bi-$$"

tui_start 120 40 "$VMTTY"
tui_expect "the TUI lists $G running" "$G +running" 20
t_check "in A's section" wait_for 10 _tui_host_is "$G" A
tui_keys '?'
tui_expect "? lists m" 'm +migrate: move the VM live to another libvirt host'
tui_keys q
tui_wait_gone 'm +migrate: move the VM live'
open_migrate "bi-$$"
tui_expect "m on a built-in VM says why not" \
	"VM 'bi-$$' is on host 'local', this machine's built-in backend: a live migration moves VMs between libvirt hosts"
t_check "and opens no dialog" _tui_lacks 'Migrate VM'

# ---- 1. throttled, then stopped with Esc -------------------------------------------
open_migrate
tui_expect "m opens the migration dialog" "Migrate VM $G from host A \(running\)"
t_check "the destination offered is B" _tui_has 'Destination host +B$'
tui_keys Right
tui_expect "and only B (Right stays on it; no built-in host 'local')" 'Destination host +B$'
t_check "the boxes are unticked" _tui_has 'Copy storage +\[ \]'
tui_keys Up
tui_type 0
tui_keys Enter
tui_expect "a bandwidth of 0 is refused on the spot" "bandwidth: '0' is not a whole number of MiB/s"
t_check "and the dialog stays on the choices" _tui_has 'Enter runs the preflight'
tui_keys BSpace
tui_type 1
tui_keys Enter
tui_expect "Enter runs the preflight and shows its findings" "Preflight of VM $G to host B:" 20
tui_expect "one a line: B answers" "host 'B' answers"
t_check "storage is shared" _tui_has 'storage: shared'
t_check "and asks to confirm" _tui_has 'Enter or y: migrate now'
t_eq "nothing moved yet: B has no domain" "" "$(names "$B_URI")"
t0=$(ms)
tui_keys y
tui_expect "y starts the move: the progress page" "Migrating VM $G from host A to host B" 10
t_check "with the bandwidth limit" _tui_has 'Options +bandwidth 1 MiB/s'
if wait_for 30 _moving; then
	p1=$(percent)
	t_ok "the bar shows a percentage ($p1%)"
else
	p1=
	t_fail "the bar shows a percentage"; tui_screen | sed 's/^/   | /'
fi
if wait_for 30 _moved_on "$p1"; then
	p2=$(percent)
	t_ok "the bar moves: $p1% then $p2%, $(($(ms) - t0)) ms into the move"
else
	t_fail "the bar moves from $p1%"; tui_screen | sed 's/^/   | /'
fi
t_check "phase, elapsed, remaining, downtime are shown" \
	sh -c 'printf "%s\n" "$1" | grep -q "Phase .*memory" && printf "%s\n" "$1" | grep -q "Elapsed .*[0-9] s" &&
		printf "%s\n" "$1" | grep -q "Remaining .*iB" && printf "%s\n" "$1" | grep -q "Downtime "' _ "$(tui_screen)"
t_eq "B holds the incoming domain meanwhile" paused "$(state "$B_URI" "$G")"
t1=$(ms)
tui_keys Escape
tui_expect "Esc: stopping" 'stopping\.\.\.|Stopping the migration' 5
tui_expect "the status line: stopped, $G runs on A as before" \
	"the migration of VM '$G' to host 'B' stopped as asked; it runs on host 'A' as before" 30
note "stopped $(($(ms) - t1)) ms after Esc"
t_check "the dialog is gone: the list again" _tui_lacks "Migrating VM $G"
t_eq "virsh: $G runs on A" running "$(state "$A_URI" "$G")"
_b_empty() { [ -z "$(names "$B_URI")" ]; }
t_check "virsh: B has no domain" wait_for 10 _b_empty
t_eq "the inventory has $G on A" A "$(inv_host "$G")"
t_match "the journal has the stop" "FAILED +migrate +A/$G: the migration of VM '$G' to host 'B' stopped as asked" \
	"$("$VMTTY" log "$G" 2>&1)"
t_check "the list shows $G in A's section" wait_for 10 _tui_host_is "$G" A

# ---- 2. without a limit, to its end --------------------------------------------------
open_migrate
tui_expect "m opens the dialog again" "Migrate VM $G from host A \(running\)"
tui_keys Enter
tui_expect "the preflight" 'Enter or y: migrate now' 20
t0=$(ms)
tui_keys Enter
tui_expect "the status line: $G now runs on B, with the downtime" \
	"VM '$G' now runs on host 'B' \(downtime [0-9]+ ms\)\." 90
note "moved in $(($(ms) - t0)) ms; $(tui_screen | grep -o "VM '$G' now runs on host 'B' (downtime [0-9]* ms)")"
t_eq "virsh: $G runs on B" running "$(state "$B_URI" "$G")"
t_eq "virsh: A has no domain" "" "$(names "$A_URI")"
t_eq "the inventory has $G on B" B "$(inv_host "$G")"
for h in A B; do
	t_match "host $h's journal has the move" " ok +migrate +$h/$G: moved live from host 'A' to host 'B'" \
		"$("$VMTTY" log --host $h 2>&1)"
done
if wait_for 15 _tui_host_is "$G" B; then t_ok "the list shows $G in B's section"; else
	t_fail "the list shows $G in B's section"; tui_screen | sed 's/^/   | /'; fi
tui_expect "running there" "$G +running"

t_summary
