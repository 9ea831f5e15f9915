#!/usr/bin/env bash
# bench/run measures what it says: the 10,000-VM list lists 10,000 VMs
# (before and after its timed runs), every pair prints each side's median
# and spread and names its reference, --only runs just the benches named.
# Structure only: no figure is judged.
# tests/run: plain build only
source "$(dirname "$0")/../lib.sh"

out=$("$T_ROOT/bench/run" --build "$T_BUILD" --runs 2 --only list,libvirt 2>&1)
t_match "bench/run --only list,libvirt runs" 'list --json, 10,000 VMs' "$out"
t_match "the 10,000-VM list lists 10,000 VMs before and after its runs" \
	'VMs listed \(python3 len of the JSON\): 10000 before the runs, 10000 after' "$out"
t_match "the libvirt list lists its 1,000 domains" '1,000 domains \(1000 listed\)' "$out"
t_nomatch "no run failed" 'FAILED' "$out"
t_eq "two pairs, two ratio lines" 2 "$(grep -c '^  ratio ' <<< "$out")"
t_eq "every ratio line names its reference" 2 "$(grep -c '^  ratio .*   ref: [a-z]' <<< "$out")"
t_match "each side: median [min-max]" '^  sqlite3 -json +[0-9.]+ ms \[[0-9.]+-[0-9.]+\]' "$(grep sqlite3 <<< "$out")"
t_match "the list's reference is sqlite3 on the same rows" 'ref: sqlite3 -json of the same rows' "$out"
t_match "the libvirt list's reference is virsh" 'ref: virsh list --all on the same test-driver file' "$out"
t_nomatch "--only: the TUI benches did not run" 'TUI first frame' "$out"
t_status "an unknown bench name is refused" 2 "$T_ROOT/bench/run" --only nosuch
t_match "the refusal names the benches, migrate among them" 'choose from: .* migrate' "$T_ERR"
t_status "bench/migrate.sh refuses --runs 0 before starting anything" 2 "$T_ROOT/bench/migrate.sh" --runs 0
t_match "saying why" 'runs wants a number of at least 1' "$T_ERR"

t_summary
