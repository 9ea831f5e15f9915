#!/usr/bin/env bash
# The main screen with host 'local' and a libvirt test-driver host: list,
# filter, sort, help, lifecycle from the keyboard, confirmation, resize,
# and a black-holed host that must not freeze anything.
source "$(dirname "$0")/lib.sh"

export VMTTY_DB="$T_TMP/inv.db" VMTTY_RUNTIME_DIR="$T_TMP/run" XDG_DATA_HOME="$T_TMP/data"
"$VMTTY" create web --kernel /bin/true --memory 256 --accel tcg >/dev/null
"$VMTTY" create db1 --kernel /bin/true --memory 512 --accel tcg >/dev/null
"$VMTTY" host add lab test:///default >/dev/null

# man_keys: every key the man page gives in its "Keys for ..." sections of
# the VM list (not "Keys in a console pane"), one a line, sorted.
man_keys() {
	awk '
	/^\.Ss / { on = /^\.Ss Keys / && !/console pane/; depth = 0; next }
	/^\.Sh / { on = 0 }
	!on { next }
	/^\.Bl/ { depth++; next }
	/^\.El/ { depth--; next }
	/^\.It/ && depth == 1 {
		for (i = 2; i <= NF; i++) {
			w = $i
			if (w == "Ic" || w == "Cm") { k = $(++i); gsub(/\\&/, "", k); print k }
			else if (w !~ /^[A-Z][a-z]$/ && w != ",") print w
		}
	}' "$T_ROOT/man/vmtty.1" | sort -u
}

# help_keys: the keys in the key column of the help overlay on screen, one
# a line, sorted; it pages down until the screen stops changing.
help_keys() {
	local page prev="" line rest
	for _ in 1 2 3 4 5 6 7 8; do
		page=$(tui_screen | sed -n '/┌─ Keys /,/└─/p')
		[ "$page" != "$prev" ] || break
		while IFS= read -r line; do
			rest=${line#*│ }
			[ "$rest" != "$line" ] || continue
			rest=${rest%%│*}
			# Headings have nothing after the key column.
			[ -n "${rest:16}" ] && [ -n "${rest:16:1}" ] && [ "${rest:16:1}" != " " ] || continue
			for w in ${rest:0:15}; do
				if [ "$w" = / ]; then echo /; else tr / '\n' <<<"$w"; fi
			done
		done <<<"$page"
		prev=$page
		tui_keys NPage
		wait_for 2 eval '[ "$(tui_screen | sed -n "/┌─ Keys /,/└─/p")" != "$prev" ]' || true
	done | sort -u
}

tui_start 200 60 "$VMTTY"
tui_expect "local is listed with its VMs" 'local +\(builtin, 2 VMs\)'
tui_expect "the test-driver host is listed" 'lab +\(libvirt, 1 VM\) +test:///default'
tui_expect "its domain 'test' shows running" '▶ test +running'
tui_expect "local's VMs are off" '■ web +off'

# 1. Filter, sort, help.
tui_keys /
tui_type "we"
tui_expect "filter line shows what is typed" 'filter: we_'
tui_wait_gone '■ db1' 5
t_check "filter hides non-matching VMs" _tui_lacks '■ db1'
t_check "filter keeps the match" _tui_has '■ web'
tui_keys Enter Escape
tui_expect "Esc clears the filter" '■ db1'
tui_keys o
tui_expect "o sorts by state" 'sort: state'
tui_keys '?'
tui_expect "? opens the help" 'Keys'
# The help lists every key of the man page's sections on the VM list's keys
# (the console pane has its own help), and no key the man page lacks.
t_eq "the help's keys are the man page's" "$(man_keys | tr '\n' ' ')" \
	"$(help_keys | tr '\n' ' ')"
tui_keys Escape
tui_wait_gone 'Keys' 5

# 2. Lifecycle on the test driver from the keyboard.
tui_keys Home
until_sel() { tui_screen | grep -Eq "VM +$1"; }
for _ in $(seq 10); do until_sel test && break; tui_keys j; wait_for 1 until_sel test; done
t_check "the test domain is selected" until_sel test
tui_expect "its memory, with the maximum libvirt reports" 'Memory +2048 MiB \(max 8192 MiB\)' 5
t_check "and what kind of domain it is" _tui_has 'Domain +persistent, no autostart'
tui_keys p
tui_expect "p pauses it" '‖ test +paused'
tui_keys p
tui_expect "p again resumes it" '▶ test +running'
tui_keys F
tui_expect "force off asks first" 'Force off VM .test.'
tui_keys y
tui_expect "then it is off" '■ test +off'
tui_keys s
tui_expect "s starts it again" '▶ test +running'
tui_expect "the details pane shows the newest journal lines" 'Journal +[0-9-]+ [0-9:]+ pause ok'
t_check "down to the start" _tui_has '[0-9-]+ [0-9:]+ start ok'
t_check "and the VM's consoles" _tui_has 'Consoles +serial'
tui_keys x
tui_expect "delete asks for confirmation" "Delete VM 'test'"
tui_keys Escape
tui_expect "Esc cancels" 'Cancelled; nothing was changed'
t_check "the VM is still there" _tui_has '▶ test +running'
t_status "the journal has the TUI's operations" 0 "$VMTTY" log --json
t_match "pause journaled" '"action": "pause"' "$T_OUT"
t_nomatch "no delete was journaled" '"action": "delete"' "$T_OUT"

# 3. Resize: 200x60 -> 80x24 -> 200x60, selection kept; below 80x24 a
# message.  No garbage: after each resize the screen's text is what a vmtty
# freshly started at that size on the same inventory draws, sorted by state
# like this one with the same VM ('test', the last row) selected, and the
# selection colour is on the same lines.  (Attributes of blank cells are
# left out: ncurses may clear with or without them, which shows the same.)
# The status line is left out too: its messages differ; and so are the
# sparklines' glyphs (blanks here), whose history differs, but not where
# they are.
SEL_BG='48;5;24'	# TH_SELECTED's background in the 256-colour theme
snap() {
	local rows
	rows=$($TUI_T display -p -t "$1" '#{pane_height}')
	{
		$TUI_T capture-pane -p -t "$1" -S 0 -E $((rows - 3))
		$TUI_T capture-pane -p -t "$1" -S $((rows - 1)) -E $((rows - 1))
	} | sed -E 's/▁|▂|▃|▄|▅|▆|▇|█/ /g'
	echo "selected lines: $($TUI_T capture-pane -p -e -t "$1" | grep -n -- "$SEL_BG" | cut -d: -f1 | tr '\n' ' ')"
}
_same_as_ref() { [ "$(snap t)" = "$(snap ref)" ]; }
_ref_ready() { tui_screen ref | grep -Eq '▶ test +running' && tui_screen ref | grep -q 'sort: state'; }
# same_as_fresh DESC COLS ROWS
same_as_fresh() {
	$TUI_T kill-session -t ref 2>/dev/null
	tui_session ref "$2" "$3" "$VMTTY"
	wait_for 5 tui_wait '▶ test +running' 0
	tui_keys_to ref o G
	wait_for 5 _ref_ready
	if wait_for 10 _same_as_ref; then t_ok "$1"; else
		t_fail "$1"; diff <(snap t) <(snap ref) | head -20; fi
	$TUI_T kill-session -t ref
}
tui_resize 80 24
tui_expect "at 80x24 the list is drawn" 'local +\(builtin'
t_check "no details pane at 80 columns" _tui_lacks 'DETAILS'
same_as_fresh "at 80x24 the screen is a fresh vmtty's at 80x24, 'test' selected" 80 24
tui_keys Enter
tui_expect "the selection is kept at 80x24: Enter opens test's menu" '─ test ─'
tui_keys Escape
tui_wait_gone '─ test ─' 5
tui_resize 79 24
tui_expect "below 80x24 it says so" 'needs at least 80x24'
tui_resize 200 60
tui_expect "back at 200x60 the details pane returns" 'DETAILS'
t_check "the selection was kept" until_sel test
t_check "no leftover message" _tui_lacks 'needs at least'
same_as_fresh "back at 200x60 the screen is a fresh vmtty's at 200x60" 200 60

# 4. A black-holed host: keys still answer while it hangs.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# Its output goes nowhere: the forked "sleep"s must not hold the test's
# stdout open after the test ends (the runner waits for that pipe).
socat TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork SYSTEM:'sleep 600' </dev/null >/dev/null 2>&1 &
t_on_exit "pkill -P $! 2>/dev/null; kill $! 2>/dev/null"
"$VMTTY" host add bh "qemu+tcp://127.0.0.1:$port/system" >/dev/null
tui_expect "the black-holed host appears, connecting" 'bh +\(libvirt, 0 VMs\) +connecting' 5
tui_keys '?'
tui_expect "help opens while it hangs" 'Keys' 2
tui_keys Escape
tui_keys k
tui_expect "moving the selection still answers" 'Host +lab' 2
tui_expect "after the connect deadline it shows unreachable with the reason" \
	'bh .*unreachable: host .bh. did not answer within 10 s' 20
t_check "the other hosts stay usable" _tui_has '▶ test +running'
tui_keys q
tui_expect "quits at once despite the stuck host" '\[exited 0\]' 3

t_summary
