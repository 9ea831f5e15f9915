#!/usr/bin/env bash
# The VM list's keys on data that shows them: two test-driver hosts (40
# domains to page through; five in five states to sort) and a local VM
# whose qemu cannot start.  Sort by state reorders, paging and the mouse
# move the selection, Space folds, Enter/F2 open the menu, a and x add and
# remove a host, backend errors reach the status line and the journal, and
# the help scrolls where it does not fit.
source "$(dirname "$0")/lib.sh"

export VMTTY_DB="$T_TMP/inv.db" VMTTY_RUNTIME_DIR="$T_TMP/run" XDG_DATA_HOME="$T_TMP/data"
t_on_exit 'for p in "$VMTTY_RUNTIME_DIR"/*/qemu.pid; do [ -f "$p" ] && kill -9 "$(cat "$p")"; done'

# mix: names in the reverse of the state order vmtty sorts by (crashed,
# running, paused, shutting-down, off).  Test runstates: 1 running,
# 3 paused, 4 shutting down, 5 shut off, 6 crashed.
{
	echo '<node xmlns:test="http://libvirt.org/schemas/domain/test/1.0">'
	i=0
	for d in alpha:5 bravo:4 charlie:3 delta:1 echo:6; do
		i=$((i + 1))
		printf '<domain type="test"><name>%s</name><uuid>00000000-0000-4000-8000-%012d</uuid>' "${d%:*}" "$i"
		printf '<memory>262144</memory><vcpu>1</vcpu><os><type arch="x86_64">hvm</type></os>'
		printf '<test:runstate>%s</test:runstate></domain>\n' "${d#*:}"
	done
	echo '</node>'
} >"$T_TMP/mix.xml"
"$T_ROOT/bench/gen-testdriver" 40 farm >"$T_TMP/farm.xml"
"$VMTTY" host add farm "test://$T_TMP/farm.xml" >/dev/null
"$VMTTY" host add mix "test://$T_TMP/mix.xml" >/dev/null
# qemu refuses /bin/true as a kernel at once: a real start that fails.
"$VMTTY" create bad --kernel /bin/true --memory 64 --accel tcg >/dev/null

# The rows as the list lays them out, sorted by name and nothing folded.
ROWS=(local bad farm)
for i in $(seq 0 39); do ROWS+=("$(printf 'farm-%05d' "$i")"); done
ROWS+=(mix alpha bravo charlie delta echo)
LAST=$((${#ROWS[@]} - 1))
COLS=120 LINES=30
PAGE=$((LINES - 4 - 1))	# the list's height (less header, titles, status, hints) - 1

# sel: the first line of the details pane, "VM NAME" or "Host NAME".
sel() { tui_screen | sed -n 3p | sed 's/.*│ //' | awk '{ print $1, $2 }'; }
_sel_is() { [ "$(sel)" = "$1" ]; }
# t_sel DESC ROW: the selection is on row ROW of ROWS.
t_sel() {
	local want="VM ${ROWS[$2]}"
	case ${ROWS[$2]} in local | farm | mix) want="Host ${ROWS[$2]}" ;; esac
	wait_for 5 _sel_is "$want"
	t_eq "$1" "$want" "$(sel)"
}
_names_are() { [ "$(tui_names | tr '\n' ' ')" = "$1" ]; }
# t_names DESC "NAME ...": the VM rows on screen, in this order.
t_names() {
	wait_for 5 _names_are "$2 "
	t_eq "$1" "$2 " "$(tui_names | tr '\n' ' ')"
}

tui_start $COLS $LINES "$VMTTY"
tui_expect "farm is listed with its 40 domains" 'farm +\(libvirt, 40 VMs\)'
tui_expect "with mix's 5 and bad, 46 VMs" '3 hosts, 46 VMs'
tui_expect "bad is off" '■ bad +off'

# 1. Paging: Home, PgDn, PgUp, End, Ctrl-F, Ctrl-B over 49 rows, 26 a page.
min() { [ "$1" -lt "$2" ] && echo "$1" || echo "$2"; }
max() { [ "$1" -gt "$2" ] && echo "$1" || echo "$2"; }
tui_keys Home
t_sel "Home selects the first row" 0
tui_keys NPage
t_sel "PgDn goes down a page" $PAGE
tui_keys NPage
t_sel "PgDn again stops at the last row" "$(min $((2 * PAGE)) $LAST)"
tui_keys PPage
t_sel "PgUp goes up a page" $((LAST - PAGE))
tui_keys C-b
t_sel "Ctrl-B goes up a page, not past the first row" "$(max $((LAST - 2 * PAGE)) 0)"
tui_keys C-f
t_sel "Ctrl-F goes down a page" $PAGE
tui_keys End
t_sel "End selects the last row" $LAST
t_check "the list scrolled: the first host is off screen" _tui_lacks 'local +\(builtin'
tui_keys Home
t_sel "Home again" 0
tui_expect "the list scrolled back" 'local +\(builtin'

# 2. The mouse: a click selects the row under it, the wheel moves.
y=$(tui_line_of '^  [^ ]+ farm-00005 ')
tui_click 10 "$y"
t_sel "a click on farm-00005 selects it" 8
tui_click 10 2
t_sel "a click on the column titles changes nothing" 8
tui_wheel down 10 "$y"
t_sel "the wheel down moves down a row" 9
tui_wheel up 10 "$y"
tui_wheel up 10 "$y"
t_sel "the wheel up twice moves up two" 7
for _ in $(seq 30); do tui_wheel down 10 10; done
t_sel "thirty wheel-downs move thirty rows" 37
t_check "and the list scrolled with them" _tui_lacks 'local +\(builtin'
tui_keys Home

# 3. Folding: Space on a host, Space on a VM (folds its host), h/l.
tui_keys j j
t_sel "farm's row" 2
tui_keys Space
tui_expect "Space folds farm" '▸ farm +\(libvirt, 40 VMs\)'
t_names "farm's domains are hidden" "bad alpha bravo charlie delta echo"
tui_keys Space
tui_expect "Space again unfolds it" '▾ farm +\(libvirt, 40 VMs\)'
t_check "its domains are back" _tui_has '^  [^ ]+ farm-00000 '
tui_keys j j j
t_sel "farm-00002 selected" 5
tui_keys Space
tui_expect "Space on a VM folds its host" '▸ farm +\(libvirt'
t_sel "and selects the host" 2
tui_keys l
tui_expect "l unfolds" '▾ farm +\(libvirt'
tui_keys h
tui_expect "h folds" '▸ farm +\(libvirt'

# 4. Sort by state reorders the rows (farm folded: all of mix on screen).
t_names "by name" "bad alpha bravo charlie delta echo"
tui_keys o
tui_expect "o sorts by state" 'sort: state'
t_names "by state: crashed, running, paused, shutting-down, off" \
	"bad echo delta charlie bravo alpha"
tui_keys o
tui_expect "o again sorts by CPU" 'sort: CPU'
tui_keys o
tui_expect "then by memory" 'sort: memory'
tui_keys o
tui_expect "then by name again" 'sort: name'
t_names "by name again" "bad alpha bravo charlie delta echo"
tui_keys Right
tui_expect "Right unfolds" '▾ farm +\(libvirt'

# 5. The action menu: Enter and F2 on a VM, Enter on a host.
tui_keys End k
t_sel "delta selected" $((LAST - 1))
tui_keys Enter
tui_expect "Enter opens delta's menu" '─ delta ─'
t_check "it offers Pause / resume" _tui_has '│ p +Pause / resume'
tui_keys Escape
tui_wait_gone '─ delta ─' 5
t_check "Esc closes it" _tui_lacks '─ delta ─'
tui_keys F2
tui_expect "F2 opens it too" '─ delta ─'
tui_keys Down Down Down Enter
tui_expect "the fourth item, chosen with arrows and Enter, pauses delta" '‖ delta +paused'
tui_keys k k k k
t_sel "mix's row" $((LAST - 5))
tui_keys Enter
tui_expect "Enter on a host opens its menu" '─ mix ─'
t_check "with Remove this host" _tui_has 'x +Remove this host'
tui_keys q
tui_wait_gone '─ mix ─' 5
t_check "q closes the menu, and only the menu" _tui_has 'mix +\(libvirt, 5 VMs\)'

# 6. Backend errors: on the status line and in the journal, and the TUI
# goes on.  libvirt refuses to pause an off domain; qemu fails to start.
tui_keys j
t_sel "alpha selected" $((LAST - 4))
tui_keys p
tui_expect "pausing off alpha: the libvirt backend's error on the status line" \
	"^VM 'alpha' is not running \(off\)"
tui_keys Home j
t_sel "bad selected" 1
tui_keys s
tui_expect "starting bad: qemu's error on the status line" \
	"^qemu could not start VM 'bad': .*Error loading"
# Not polled: the frame with the error must show the state after it (a
# peek during the start could see the failing qemu still alive).
t_check "bad is off in the same frame" _tui_has '■ bad +off'
t_status "vmtty log" 0 "$VMTTY" log
t_match "the journal has alpha's failed pause" 'FAILED +pause +mix/alpha: VM .alpha. is not running' "$T_OUT"
t_match "and bad's failed start with qemu's words" \
	'FAILED +start +local/bad: qemu could not start .*Error loading' "$T_OUT"
tui_keys j
t_sel "the TUI still answers" 2

# 7. Adding a host with a, removing it with x on its row.
tui_keys a
tui_expect "a asks for the host's name" 'Name: _'
tui_keys Escape
tui_expect "Esc cancels" 'Cancelled; no host was added.'
tui_keys a
tui_type lab2
tui_keys Enter
tui_expect "then for its URI, empty, an example shown" 'libvirt URI: _ e\.g\. qemu\+ssh://root@HOST/system'
tui_type test:///default
tui_keys Enter
tui_expect "the host is added" "Host 'lab2' added; connecting."
t_status "host list" 0 "$VMTTY" host list
t_match "vmtty host list has it" '^lab2 +libvirt +test:///default' "$T_OUT"
tui_keys / 
tui_type lab2
tui_keys Enter
tui_expect "the filter keeps the host named lab2" 'filter: lab2$'
tui_expect "listed with its domain" 'lab2 +\(libvirt, 1 VM\)'
tui_keys g
tui_expect "its row selected" '│ Host +lab2'
tui_keys x
tui_expect "x on a host row asks first" "Remove host 'lab2' from vmtty\?"
tui_keys n
tui_expect "n cancels" 'Cancelled; nothing was changed.'
t_status "host list" 0 "$VMTTY" host list
t_match "lab2 is still there" '^lab2 ' "$T_OUT"
tui_keys x
tui_expect "x asks again" "Remove host 'lab2' from vmtty\?"
tui_keys y
tui_expect "y removes it" "Host 'lab2' removed from vmtty."
tui_wait_gone 'lab2 +\(libvirt' 5
t_check "its row is gone" _tui_lacks 'lab2 +\(libvirt'
t_status "host list" 0 "$VMTTY" host list
t_nomatch "vmtty host list no longer has it" '^lab2 ' "$T_OUT"
t_status "vmtty log" 0 "$VMTTY" log
t_match "the journal has the add" 'ok +host-add +lab2: added host' "$T_OUT"
t_match "and the removal" 'ok +host-rm +lab2: removed host' "$T_OUT"
tui_keys Escape

# 8. The help where it does not fit (80x24): the moving keys scroll it.
tui_resize 80 24
tui_expect "at 80x24" 'sort: name'
tui_keys '?'
tui_expect "? opens the help at its top" '│ Up/Down k/j '
t_check "its end is below the box" _tui_lacks 'quit \(VMs keep running\)'
tui_keys NPage
tui_expect "PgDn scrolls it at once" '│ F +force off'
t_check "the first lines scrolled away" _tui_lacks '│ Up/Down k/j '
tui_keys End
tui_expect "End shows its end" 'quit \(VMs keep running\)'
tui_keys Home
tui_expect "Home its top" '│ Up/Down k/j '
tui_keys j
tui_wait_gone '│ Moving' 5
t_check "j scrolls it a line: its heading is gone" _tui_lacks '│ Moving'
t_check "the next line is still there" _tui_has '│ Up/Down k/j '
tui_keys Escape
tui_wait_gone 'Up/Down k/j' 5
tui_keys q
tui_expect "q quits" '\[exited 0\]'

t_summary
