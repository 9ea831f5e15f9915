#!/usr/bin/env bash
# The TUI starts on a fresh inventory, shows host 'local', quits on 'q' and
# leaves the terminal as it found it: the same stty modes, the normal
# screen, a visible cursor and no mouse tracking; after SIGTERM and a crash
# too.  Every vmtty here runs on the test's own inventory.
source "$(dirname "$0")/lib.sh"

export VMTTY_DB="$T_TMP/inv.db"
tui_shell 100 30
tui_wait 'PROMPT\$' 5
t_eq "the shell starts on the normal screen, cursor on, no mouse" "0 1 0" "$(tui_flags)"
tui_type "stty -a > $T_TMP/stty.before; $VMTTY; stty -a > $T_TMP/stty.after; echo DONE-\$?"
tui_keys Enter
tui_expect "TUI shows host local" 'local +\(builtin, 0 VMs\)'
tui_expect "TUI shows the header" 'vmtty [0-9.]+ +1 host, 0 VMs'
tui_expect "TUI shows key hints" 'q ?Quit'
# The flags must be able to fail: the TUI itself turns all three over.
t_eq "while it runs: alternate screen, cursor hidden, mouse on" "1 0 1" "$(tui_flags)"
tui_keys q
tui_expect "q quits with status 0" 'DONE-0'
t_eq "terminal modes restored after quit" "$(cat "$T_TMP/stty.before")" "$(cat "$T_TMP/stty.after")"
t_eq "after q: normal screen, cursor visible, mouse off" "0 1 0" "$(tui_flags)"

# A host only the test's inventory has: the TUIs below must show it.
"$VMTTY" host add priv test:///default >/dev/null

# run_signalled SIG TAG: start vmtty from the shell (its pid in a file: the
# shell execs it), send it SIG by that exact pid, and wait for the shell.
run_signalled() {
	local sig=$1 tag=$2 pid
	rm -f "$T_TMP/tui.pid"
	tui_type "clear; ulimit -c 0; sh -c 'echo \$\$ > $T_TMP/tui.pid; exec \"\$0\"' $VMTTY; echo $tag-\$?; stty -a > $T_TMP/stty.$tag"
	tui_keys Enter
	tui_expect "$tag: the TUI runs on the test's inventory" 'priv +\(libvirt, [0-9]+ VMs?\)'
	pid=$(cat "$T_TMP/tui.pid" 2>/dev/null)
	t_eq "$tag: the pid is vmtty's" "$VMTTY" "$(readlink "/proc/$pid/exe" 2>/dev/null)"
	kill -"$sig" "$pid" 2>/dev/null || true
}

run_signalled TERM TERMED
tui_expect "shell is back after SIGTERM, vmtty exited 0" 'TERMED-0'
t_eq "terminal modes restored after SIGTERM" "$(cat "$T_TMP/stty.before")" "$(cat "$T_TMP/stty.TERMED")"
t_eq "after SIGTERM: normal screen, cursor visible, mouse off" "0 1 0" "$(tui_flags)"

# A crash (SIGSEGV) restores the terminal, then dies of the signal (128+11).
run_signalled SEGV CRASHED
tui_expect "shell is back after a crash, vmtty died of SIGSEGV" 'CRASHED-139'
t_eq "terminal modes restored after a crash" "$(cat "$T_TMP/stty.before")" "$(cat "$T_TMP/stty.CRASHED")"
t_eq "after a crash: normal screen, cursor visible, mouse off" "0 1 0" "$(tui_flags)"

# A libvirt host added from the CLI shows up in a running TUI by itself.
tui_start 120 30 "$VMTTY"
tui_expect "TUI runs at 120x30 with a details pane" 'DETAILS'
"$VMTTY" host add lab test:///default
tui_expect "a host added by the CLI appears without a keypress" 'lab +\(libvirt, [0-9]+ VMs?\)' 5
tui_resize 60 20
tui_expect "below 80x24 the TUI says so" 'needs at least 80x24'
tui_resize 100 30
tui_expect "back at 100x30 the list returns" 'local +\(builtin'
tui_keys q
tui_expect "TUI exits 0" '\[exited 0\]'

t_summary
