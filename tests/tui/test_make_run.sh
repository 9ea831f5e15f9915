#!/usr/bin/env bash
# README's first command: 'make run' in a terminal installs what is missing,
# builds, and opens the TUI on the default inventory (here the test's own
# XDG_DATA_HOME; VMTTY_DB unset), which shows host 'local'; q quits and the shell is back.
source "$(dirname "$0")/lib.sh"

export XDG_DATA_HOME="$T_TMP/data"
tui_shell 120 30
tui_wait 'PROMPT\$' 5
tui_type "cd '$T_ROOT' && unset VMTTY_DB && XDG_DATA_HOME='$XDG_DATA_HOME' make --no-print-directory -s run BUILD='$T_BUILD'; echo MAKE-RUN-\$?"
tui_keys Enter
tui_expect "make run opens the TUI with host local" 'local +\(builtin, 0 VMs\)' 120
tui_keys q
tui_expect "q quits and make run exits 0" 'MAKE-RUN-0' 10
t_check "the default inventory was made under XDG_DATA_HOME" test -f "$XDG_DATA_HOME/vmtty/inventory.db"
t_eq "its mode is 0600" 600 "$(stat -c %a "$XDG_DATA_HOME/vmtty/inventory.db")"

t_summary
