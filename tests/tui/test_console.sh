#!/usr/bin/env bash
# The serial console pane, driven through tmux: the tiny real guest (TCG)
# for history, typing, a full-screen program, leaving and coming back,
# resize, scrollback search, the full-screen passthrough, a reboot and a
# qemu killed under the pane; a stand-in console server (no guest) for
# colours, wide characters, the exact bytes keys become, several panes at
# once, and reattaching when the "VM" comes back.
source "$(dirname "$0")/../integration/lib.sh"

t_status "create t1" 0 create_tiny t1
t_status "start t1 and wait for GUEST READY" 0 "$VMTTY" start t1 --wait-serial "GUEST READY" --timeout 90

# The stand-in: a VM row whose runtime dir holds a socket served by
# fake-serial.py, with a pidfile naming it (as qemu's would).
"$VMTTY" create fake --kernel /bin/true --memory 64 --accel tcg >/dev/null
fdir="$VMTTY_RUNTIME_DIR/$(vm_uuid fake | cut -c1-8)"
fake_pid() { cat "$fdir/qemu.pid" 2>/dev/null; }
start_fake() {
	mkdir -p -m 0700 "$fdir"
	rm -f "$fdir/qemu.pid"
	python3 "$T_ROOT/tests/tui/fake-serial.py" "$fdir/serial.sock" "$fdir/qemu.pid" & disown
	wait_for 10 test -s "$fdir/qemu.pid"
}
t_on_exit 'kill -9 $(fake_pid)'
t_check "the stand-in console server runs" start_fake

tui_start 120 40 "$VMTTY --log $T_TMP/ui.log"
tui_expect "the list shows t1 running" '▶ t1 +running'

# select NAME: move the list's selection to VM NAME (the details say so).
_selected() { tui_screen | grep -Eq "VM +$1\$|VM +$1 "; }
select_vm() {
	local i
	tui_keys Home
	for i in 1 2 3 4 5 6; do _selected "$1" && return 0; tui_keys j; wait_for 1 _selected "$1"; done
	_selected "$1"
}
_cursor() { $TUI_T display -p -t t '#{cursor_flag} #{cursor_y} #{cursor_x}'; }
# The screen line the terminal cursor is on, when it is shown.
cursor_line() {
	local flag y x
	read -r flag y x < <(_cursor)
	[ "$flag" = 1 ] || return 1
	tui_screen | sed -n "$((y + 1))p"
}
title() { tui_screen | head -1; }

# 1. Open t1's console: the guest's history, then live typing.
t_check "t1 is selected" select_vm t1
tui_keys c
tui_expect "c opens the pane with its title" \
	"Console: VM 't1' on host 'local'  \[1/1\]  \(guest terminal 120x37\)"
tui_expect "the history from before the pane opened shows GUEST READY" 'GUEST READY'
tui_expect "the hint bar shows the prefix commands" 'Ctrl-] l List +Ctrl-] n Next +Ctrl-] \[ Scroll +Ctrl-] k Close +Ctrl-] \? Help'
tui_type 'echo MARK-$((6*7))'
tui_keys Enter
tui_expect "typed command runs in the guest: MARK-42" '^MARK-42'
_prompt_at_cursor() { cursor_line | grep -q '^guest:/# *$'; }
t_check "the terminal cursor is on the guest's prompt" wait_for 5 _prompt_at_cursor

# 2. A full-screen program, and back to the prompt.
tui_type top
tui_keys Enter
tui_expect "top draws its header (Mem:)" '^Mem: '
tui_expect "and its load average" 'Load average'
tui_expect "and its process list under the header" 'PID +PPID +USER'
t_check "the process list has busybox init as PID 1" _tui_has '^ +1 +0 +root'
tui_keys q
tui_type 'echo BACK-$((1+1))'
tui_keys Enter
tui_expect "q leaves top; the shell answers again" '^BACK-2'

# 2b. The session log: Ctrl-] w asks for a file, then appends what the
# guest sends; Ctrl-] w again stops.
tui_keys C-] w
tui_expect "Ctrl-] w asks for a log file, with a default name" "File: vmtty-console-t1\.log"
tui_keys C-u
tui_type "$T_TMP/session.log"
tui_keys Enter
tui_expect "the title says the session is logged" "\[logging to '$T_TMP/session\.log'\]"
tui_type 'echo LOGGED-$((2*5))'
tui_keys Enter
tui_expect "the command runs" '^LOGGED-10'
_logged() { grep -q 'LOGGED-10' "$T_TMP/session.log" 2>/dev/null; }
t_check "the guest's output is in the session log" wait_for 5 _logged
tui_keys C-] w
tui_expect "Ctrl-] w again stops logging" "Stopped logging the console of VM 't1'"
t_check "the title no longer says logging" wait_for 5 eval '! title | grep -q "logging to"'
tui_type 'echo UNLOGGED-$((2*6))'
tui_keys Enter
tui_expect "the next command runs" '^UNLOGGED-12'
t_check "and is not in the log" eval '! grep -q UNLOGGED-12 "$T_TMP/session.log"'

# 3. Ctrl-] l goes to the list; c comes back to the same pane.
tui_keys C-] l
tui_expect "Ctrl-] l shows the VM list" 'NAME +STATE'
_cursor_hidden() { [ "$(_cursor | cut -d' ' -f1)" = 0 ]; }
t_check "the cursor is hidden on the list" wait_for 5 _cursor_hidden
tui_keys c
tui_expect "c shows the same pane again, screen kept" '^BACK-2'
t_check "still one console" _tui_has '\[1/1\]'

# 4. The stand-in: colours, wide characters, replies and key bytes.
tui_keys C-] l
tui_expect "back on the list" 'NAME +STATE'
t_check "fake is selected" select_vm fake
tui_keys c
tui_expect "a second pane opens" "Console: VM 'fake' on host 'local'  \[2/2\]"
tui_expect "its screen shows" 'FAKE SERIAL READY'
tui_expect "wide characters take two cells each" 'WIDE:宽字\|END'
tui_expect "the emulator answered the cursor position query (ESC [4;1R)" 'GOT 1b5b343b3152'
colours=$($TUI_T capture-pane -p -e -t t | sed -n 3p)
t_match "palette colour 1 stays red (SGR 31)" $'\e\\[31mRED1' "$colours"
t_match "bold and underline" $'\e\\[1;4mBOLDUL' "$colours"
t_match "reverse video" $'\e\\[7mREVERSE' "$colours"
t_match "256-colour index 196 is kept as it is" $'\e\\[38;5;196mIDX196' "$colours"
t_match "24-bit green becomes the nearest xterm colour (46)" $'\e\\[38;5;46mRGBGREEN' "$colours"
t_match "background colour 4" $'\e\\[44mBLUEBG' "$colours"
key_bytes() { # DESC HEX KEYS...
	local desc=$1 hex=$2; shift 2
	tui_keys "$@"
	tui_expect "$desc" "GOT $hex\$" 5
}
key_bytes "Up is ESC [A" 1b5b41 Up
key_bytes "F5 is ESC [15~" 1b5b31357e F5
key_bytes "Backspace is DEL" 7f BSpace
key_bytes "Delete is ESC [3~" 1b5b337e DC
key_bytes "Enter is CR" 0d Enter
key_bytes "Ctrl-A is 0x01" 01 C-a
key_bytes "Ctrl-] Ctrl-] sends one Ctrl-]" 1d C-] C-]
tui_type 'é'
tui_expect "a non-ASCII character goes as UTF-8" 'GOT c3a9$' 5
tui_keys C-] s
tui_expect "Ctrl-] s types stty with the pane's size" "GOT $(printf 'stty rows 37 cols 120\r' | od -An -tx1 | tr -d ' \n')\$" 5

# Several panes: n and p go round.
tui_keys C-] n
tui_expect "Ctrl-] n goes to the other console" "Console: VM 't1' .*\[1/2\]"
tui_keys C-] p
tui_expect "Ctrl-] p comes back (round)" "Console: VM 'fake' .*\[2/2\]"

# The stand-in dies and comes back: closed, then reattached.
kill -9 "$(fake_pid)"
tui_expect "its end dying shows in the title" "\[the console closed: the guest's end hung up"
t_check "the stand-in starts again" start_fake
tui_expect "the pane reattaches by itself" "Reattached to the console of VM 'fake'" 10
t_check "and the title no longer says closed" wait_for 5 eval '! title | grep -q "console closed"'
tui_wait_gone 'GOT 1b5b41$' 5
t_check "the new session cleared the screen" _tui_lacks 'GOT 1b5b41$'
tui_expect "and its query is answered again" 'GOT 1b5b343b3152'
tui_keys C-] k
tui_expect "Ctrl-] k closes the pane" "Closed the console of VM 'fake'"
tui_expect "and the list is back" 'NAME +STATE'

# 5. Resize: the pane follows the terminal.
t_check "t1 is selected again" select_vm t1
tui_keys c
tui_expect "t1's pane, now the only one" "Console: VM 't1' .*\[1/1\]"
tui_resize 100 30
tui_expect "a smaller terminal: the emulator is 100x27" '\(guest terminal 100x27\)'
tui_type 'echo SMALL-$((3*3))'
tui_keys Enter
tui_expect "typing still works after the resize" '^SMALL-9'
t_check "the cursor is on the prompt" wait_for 5 _prompt_at_cursor
tui_resize 120 40
tui_expect "and back to 120x37" '\(guest terminal 120x37\)'

# 6. Scrollback and search.
tui_keys C-] '['
tui_expect "Ctrl-] [ enters scrollback" '\[scrollback: 0 of [0-9]+ lines up'
tui_keys /
tui_expect "/ asks for a text" 'Search the console'
tui_type 'Linux version'
tui_keys Enter
tui_expect "the search finds the kernel banner" "\[scrollback: 'Linux version' at line [0-9]+"
t_check "the banner is on screen" _tui_has '\] Linux version 6\.'
tui_keys q
t_check "q returns to the live screen" wait_for 5 eval '! title | grep -q scrollback'

# 7. The full-screen passthrough from the list; the pane lets go meanwhile.
tui_keys C-] l
tui_expect "list" 'NAME +STATE'
tui_keys C
tui_expect "C prints the banner" "Connected to VM 't1' on host 'local'\. Escape character is \^\]\."
tui_type 'echo FULL-$((2+3))'
tui_keys Enter
tui_expect "full screen typing works" '^FULL-5'
tui_keys C-]
tui_expect "Ctrl-] goes back to the TUI" "Left the console of VM 't1'\."
tui_keys c
tui_expect "the pane reattached and caught up from the log" '^FULL-5'
t_check "and is attached" wait_for 5 eval '! title | grep -q "console closed"'

# 8. A reboot shows the new boot in the same pane.
tui_type clear
tui_keys Enter
tui_wait_gone 'GUEST READY' 10
t_check "the screen was cleared" _tui_lacks 'GUEST READY'
t_status "vmtty reboot t1 from another shell" 0 "$VMTTY" reboot t1
tui_expect "the pane shows the new boot's GUEST READY" 'GUEST READY' 90
t_check "the pane is still attached" _tui_lacks 'console closed'
tui_keys Enter
tui_type 'echo REBOOTED-$((6*7))'
tui_keys Enter
tui_expect "typing after the reboot runs in the new boot: REBOOTED-42" '^REBOOTED-42'

# 8b. A clean power-off under the pane: it says so and waits; a new start
# reattaches it by itself, with the new boot.
t_status "vmtty poweroff t1 from another shell" 0 "$VMTTY" poweroff t1 --wait
tui_expect "the title says the console closed" "\[the console closed: "
tui_keys x
tui_expect "a key for the stopped VM's console says it reattaches when the VM runs" \
	"The console of VM 't1' is closed; it reattaches when the VM runs again"
t_status "vmtty start t1 from another shell" 0 "$VMTTY" start t1 --wait-serial "GUEST READY" --timeout 90
t_check "the pane reattached by itself" wait_for 15 eval '! title | grep -q "console closed"'
tui_expect "and shows the new boot's GUEST READY" 'GUEST READY' 30
tui_keys Enter
tui_type 'echo AGAIN-$((6*7))'
tui_keys Enter
tui_expect "typing reaches the new boot: AGAIN-42" '^AGAIN-42'

# 9. qemu killed under the pane: closed, the TUI keeps answering.
pid=$(vm_pid t1)
t_check "found qemu's pid" test -n "$pid"
kill -9 "$pid"
tui_expect "the title shows the console closed" "\[the console closed: the guest's end hung up"
tui_keys C-] '?'
tui_expect "Ctrl-] ? still opens the help" 'Console keys'
t_check "the help lists the scrollback keys" _tui_has 'search backwards for a text'
tui_keys Escape
tui_wait_gone 'Console keys' 5
tui_keys x
tui_expect "a key for a closed console says so" "The console of VM 't1' is closed"
tui_keys C-] l
tui_expect "the list shows t1 crashed" 't1 +crashed'
tui_keys q
tui_expect "the TUI exits 0" '\[exited 0\]'

[ "$T_FAIL" -eq 0 ] || { echo "   ui.log:"; tail -40 "$T_TMP/ui.log" | sed 's/^/   | /'; }
t_summary
