#!/usr/bin/env bash
# A terminal's answers to the graphics probe that come after its 100 ms
# deadline (a slow ssh link, a loaded machine) reach the UI as keys: ESC,
# '[', '?' (the help), ...  Here they are written into the pane after the
# UI is up, each kind on its own and one in two writes; the key after each
# is the next key (o sorts), no help opens, the filter stays (ESC would
# clear it).  A reply cut short by a key is dropped and the key counts.
# Esc alone, Esc right before a reply, and ? still do what they do.
source "$(dirname "$0")/lib.sh"

"$VMTTY" host add demo test:///default >/dev/null

tui_start 100 30 "$VMTTY"
tui_expect "the list shows the test host" 'demo +\(libvirt, 1 VM\)'
tui_keys /
tui_type te
tui_keys Enter
tui_expect "a filter is set" 'filter: te *$'

SORTS=(name state CPU memory)
S=0
# late DESC BYTES...: each BYTES in a write of its own, then o.
late() {
	local desc=$1 b
	shift
	for b in "$@"; do tui_type "$b"; done
	S=$(((S + 1) % 4))
	tui_keys o
	tui_expect "$desc: o after it sorts by ${SORTS[$S]}" "sort: ${SORTS[$S]}"
	t_check "$desc: no help opened" _tui_lacks '┌─ Keys'
	t_check "$desc: the filter stays (no Esc)" _tui_has 'filter: te *$'
}
late "tmux's device attributes" $'\e[?1;2c'
late "a terminal's, with sixel" $'\e[?62;4;22c'
late "secondary device attributes" $'\e[>0;95;0c'
late "the kitty answer" $'\e_Gi=31;OK\e\\'
late "XTSMGRAPHICS" $'\e[?1;0;1024S'
late "the cell size" $'\e[6;16;8t'
late "a reply in two writes" $'\e[?6' '4;4c'
late "a reply cut short by a key" $'\e[?6'
late "two replies in one write" $'\e[?1;2c\e[?62;4c'

# Esc alone still clears the filter, at once.
tui_keys Escape
tui_expect "Esc alone clears the filter" 'sort: [a-zA-Z]+ *$'
t_check "and opens no help" _tui_lacks '┌─ Keys'
# Esc and a reply in one write: the Esc is a key, the reply is not.
tui_keys /
tui_type te
tui_keys Enter
tui_expect "a filter again" 'filter: te *$'
tui_type $'\e\e[?1;2c'
tui_expect "Esc right before a reply clears the filter" 'sort: [a-zA-Z]+ *$'
t_check "and the reply opens no help" _tui_lacks '┌─ Keys'
# ? is still the help, and Esc closes it.
tui_keys '?'
tui_expect "? opens the help" '┌─ Keys'
tui_keys Escape
tui_wait_gone '┌─ Keys' 5
t_check "Esc closes it" _tui_lacks '┌─ Keys'
tui_keys q
tui_expect "q quits" '\[exited 0\]'

t_summary
