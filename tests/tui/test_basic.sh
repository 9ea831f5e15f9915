#!/usr/bin/env bash
# The TUI starts on a fresh inventory, shows host 'local', quits on 'q' and
# leaves the terminal as it found it.
source "$(dirname "$0")/lib.sh"

export VMTTY_DB="$T_TMP/inv.db"
tui_shell 100 30
tui_wait 'PROMPT\$' 5
tui_type "stty -a > $T_TMP/stty.before; VMTTY_DB=$VMTTY_DB $VMTTY; stty -a > $T_TMP/stty.after; echo DONE-\$?"
tui_keys Enter
tui_expect "TUI shows host local" 'local +\(builtin, 0 VMs\)'
tui_expect "TUI shows the header" 'vmtty [0-9.]+ +1 host, 0 VMs'
tui_expect "TUI shows key hints" 'q ?Quit'
tui_keys q
tui_expect "q quits with status 0" 'DONE-0'
t_eq "terminal modes restored after quit" "$(cat "$T_TMP/stty.before")" "$(cat "$T_TMP/stty.after")"

# SIGTERM restores the terminal too.
tui_type "clear; $VMTTY; stty -a > $T_TMP/stty.after2; echo TERM-DONE"
tui_keys Enter
tui_wait 'local +\(builtin' 5
pkill -TERM -f "^$VMTTY\$" || true
tui_expect "shell is back after SIGTERM" 'TERM-DONE'
t_eq "terminal modes restored after SIGTERM" "$(cat "$T_TMP/stty.before")" "$(cat "$T_TMP/stty.after2")"

# A libvirt host added from the CLI shows up in a running TUI by itself.
tui_start 120 30 "VMTTY_DB=$VMTTY_DB $VMTTY"
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
