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
# The bytes vmtty writes, for the colour and charset fallbacks: frames drawn
# on a 120x40 pty into a file.  frames_to FILE [VAR=VALUE...]
frames_to() {
	local f=$1; shift
	env TERM=xterm-256color LANG=C.UTF-8 LC_ALL= "$@" \
		"$PTYRUN" -p 120x40 -o "$f" "$VMTTY" --db "$db" --frames 5
}
# sgr FILE: every parameter of every SGR sequence (ESC [ ... m), one a line.
sgr() { grep -aoE $'\e''\[[0-9;:]*m' "$1" | sed 's/^.\[//; s/m$//' | tr ';:' '\n\n'; }
# colours FILE: the SGR parameters that set a colour (30-49, 90-107).
colours() { sgr "$1" | grep -xE '3[0-9]|4[0-9]|9[0-7]|10[0-7]' | sort -u | tr '\n' ' '; }
# high_bytes FILE: how many bytes are not ASCII.
high_bytes() { LC_ALL=C tr -d '\000-\177' <"$1" | wc -c; }

out=$(frames_to "$T_TMP/256")
t_match "256 colours: exits 0" 'status=0' "$out"
t_match "256 colours: 256-colour SGR sequences (38;5;N)" $'\e''\[([0-9;]*;)?38;5;[0-9]+' \
	"$(grep -aoE $'\e''\[[0-9;]*m' "$T_TMP/256")"
t_check "a UTF-8 locale: glyphs in UTF-8 (the control for C below)" [ "$(high_bytes "$T_TMP/256")" -gt 0 ]

out=$(frames_to "$T_TMP/16" TERM=xterm)
t_match "16 colours (TERM=xterm): exits 0" 'status=0' "$out"
t_match "16 colours: colour sequences" '[34][0-7]' "$(colours "$T_TMP/16")"
t_nomatch "16 colours: none of the 256-colour kind (38, 48)" '(^| )[34]8 ' "$(colours "$T_TMP/16")"

out=$(frames_to "$T_TMP/nocolor" NO_COLOR=1)
t_match "NO_COLOR run exits 0" 'status=0' "$out"
t_eq "NO_COLOR=1: no SGR colour at all" "" "$(colours "$T_TMP/nocolor")"
t_check "NO_COLOR=1: still bold or reverse (the selection, the header)" \
	grep -qxE '1|7' <(sgr "$T_TMP/nocolor")
out=$(frames_to "$T_TMP/emptync" NO_COLOR=)
t_match "an empty NO_COLOR is no NO_COLOR: colours" '38' "$(colours "$T_TMP/emptync")"

out=$(frames_to "$T_TMP/mono" TERM=vt100)
t_match "monochrome terminal run exits 0" 'status=0' "$out"
t_eq "monochrome (TERM=vt100): no SGR colour" "" "$(colours "$T_TMP/mono")"
t_check "monochrome: the selection in reverse video" grep -qx 7 <(sgr "$T_TMP/mono")

out=$(frames_to "$T_TMP/ascii" LANG=C LC_ALL=C)
t_match "ASCII (C locale) run exits 0" 'status=0' "$out"
t_eq "C locale: not one byte outside ASCII" 0 "$(high_bytes "$T_TMP/ascii")"
t_check "C locale: the frame is there (its header)" grep -aqE "vmtty [0-9.]+ +3 hosts, [0-9]+ VMs" "$T_TMP/ascii"
t_status "--frames 0 is a usage error" 2 "$VMTTY" --db "$db" --frames 0

t_summary
