#!/usr/bin/env bash
# vmtty console: the tiny real guest's serial console on a terminal (a
# shell in tmux): banner, typing, the escape character, the terminal's
# settings put back exactly, a guest killed while attached, usage errors.
source "$(dirname "$0")/lib.sh"

t_status "create t1" 0 create_tiny t1
t_status "create t2 (never started)" 0 create_tiny t2
t_status "start t1 and wait for GUEST READY" 0 "$VMTTY" start t1 --wait-serial "GUEST READY" --timeout 90

# 1. Usage and refusals, before any terminal is involved.
t_status "no VM is a usage error" 2 "$VMTTY" console
t_match "and says so" "console takes one VM" "$T_ERR"
t_status "two VMs is a usage error" 2 "$VMTTY" console t1 t2
t_status "a bad --escape is a usage error" 2 "$VMTTY" console t1 --escape xyz
t_match "naming the value" "--escape takes a character such as '\^\]', '\^a' or '~', not 'xyz'" "$T_ERR"
t_status "an unknown option is a usage error" 2 "$VMTTY" console t1 --bogus
t_status "a VM that is off fails" 1 "$VMTTY" console t2
t_match "saying it is not running" "VM 't2' is not running \(off\); start it to use its serial console" "$T_ERR"
t_eq "nothing on stdout" "" "$T_OUT"
t_status "a --log that cannot be opened fails" 1 "$VMTTY" console t1 --log /nonexistent/dir/x.log
t_match "naming the file" "cannot open the console log '/nonexistent/dir/x.log': No such file" "$T_ERR"
t_status "an empty --log is a usage error" 2 "$VMTTY" console t1 --log ''
t_status "an unknown VM fails" 1 "$VMTTY" console nosuch
t_eq "with one line on stderr" 1 "$(printf '%s\n' "$T_ERR" | wc -l)"

# 2. On a terminal: a shell in tmux that knows our private inventory.
vmtty_shell 120 40
shell_run "stty -a > '$T_TMP/stty.before'"
t_check "stty -a recorded" test -s "$T_TMP/stty.before"
shell_run clear

tui_type "'$VMTTY' console t1; echo RC=\$?"
tui_keys Enter
tui_expect "the banner names the VM, the host and the escape" \
	"^Connected to VM 't1' on host 'local'\. Escape character is \^\]\.$"
tui_keys Enter
tui_expect "the guest's prompt answers" 'guest:/# ?$'
tui_type 'echo MARK-$((6*7))'
tui_keys Enter
tui_expect "typed command runs in the guest: MARK-42" '^MARK-42'
tui_type top
tui_keys Enter
tui_expect "top draws its header full screen (Mem:)" '^Mem: '
tui_expect "and its load average" 'Load average'
tui_keys q
tui_type 'echo BACK-$((1+1))'
tui_keys Enter
tui_expect "q leaves top; the shell answers again" '^BACK-2'
tui_keys C-]
tui_expect "Ctrl-] leaves with exit status 0" '^RC=0$'
tui_expect "the shell prompt is back" 'PROMPT\$ ?$'
shell_run "stty -a > '$T_TMP/stty.after'"
t_eq "the terminal settings are exactly as before" "$(cat "$T_TMP/stty.before")" \
	"$(cat "$T_TMP/stty.after")"

# 3. Another escape character: Ctrl-] then goes to the guest.
shell_run clear
tui_type "'$VMTTY' console t1 --escape '^a' --log '$T_TMP/cli.log'; echo RC=\$?"
tui_keys Enter
tui_expect "the banner shows the chosen escape" "Escape character is \^A\.$"
tui_keys C-]
tui_type 'echo STILL-$((1+1))'
tui_keys Enter
tui_expect "Ctrl-] went to the guest; still attached" '^STILL-2'
tui_keys C-a
tui_expect "Ctrl-A leaves" '^RC=0$'
t_check "--log kept the guest's output" grep -q '^STILL-2' "$T_TMP/cli.log"
t_check "and the log is private (0600)" test "$(stat -c %a "$T_TMP/cli.log")" = 600

# 4. The guest killed while attached: exit 1, a reason, a sane terminal.
shell_run clear
tui_type "'$VMTTY' console t1; echo RC=\$?"
tui_keys Enter
tui_expect "attached again" "^Connected to VM 't1'"
pid=$(vm_pid t1)
t_check "found qemu's pid" test -n "$pid"
kill -9 "$pid"
tui_expect "the reason is printed" "^vmtty: the console of VM 't1' closed: "
tui_expect "exit status 1" '^RC=1$'
t_check "one line of reason" _tui_has "closed: (the VM is crashed now|the guest's console closed)$"
shell_run "stty -a > '$T_TMP/stty.killed'"
t_eq "the terminal settings are exactly as before after the kill" \
	"$(cat "$T_TMP/stty.before")" "$(cat "$T_TMP/stty.killed")"
tui_type 'echo SANE'
tui_keys Enter
tui_expect "the shell echoes and answers normally" '^SANE$'

t_summary
