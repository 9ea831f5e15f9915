#!/usr/bin/env bash
# The TUI renders frames and exits by itself (--frames), on a pty, with a
# populated inventory; under the ASan build this is the UI's sanitizer run.
source "$(dirname "$0")/../lib.sh"

PTYRUN="$T_BUILD/bench/ptyrun"
db="$T_TMP/inv.db"
t_check "inventory with 300 VMs on 3 hosts" "$T_BUILD/bench/gen-inventory" "$db" 300 3
for size in 120x40 80x24 60x10 200x60; do
	out=$("$PTYRUN" -p "$size" "$VMTTY" --db "$db" --frames 40)
	t_match "40 frames at $size exit 0" 'status=0' "$out"
done
out=$(NO_COLOR=1 "$PTYRUN" -p 100x30 "$VMTTY" --db "$db" --frames 5)
t_match "NO_COLOR run exits 0" 'status=0' "$out"
out=$(LANG=C LC_ALL=C "$PTYRUN" -p 100x30 "$VMTTY" --db "$db" --frames 5)
t_match "ASCII (C locale) run exits 0" 'status=0' "$out"
out=$(TERM=vt100 "$PTYRUN" -p 100x30 "$VMTTY" --db "$db" --frames 5)
t_match "monochrome terminal run exits 0" 'status=0' "$out"
t_status "--frames 0 is a usage error" 2 "$VMTTY" --db "$db" --frames 0

t_summary
