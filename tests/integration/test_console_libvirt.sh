#!/usr/bin/env bash
# Serial consoles of a VM on a real private libvirtd (the tiny guest, TCG),
# on the local socket and over qemu+ssh: `vmtty console` (typing, top, the
# escape, the terminal put back), the pane (typing, top), --force taking
# over a console someone else holds, and the daemon going away under an
# open pane (a message, no hang).
source "$(dirname "$0")/libvirtd.sh"

libvirtd_start lv
sshd_start lv
t_status "host add lv (local socket)" 0 "$VMTTY" host add lv "$LIBVIRTD_URI"
t_status "host add lvssh (qemu+ssh)" 0 "$VMTTY" host add lvssh "$SSH_URI"
t_status "create g1 on lv" 0 create_tiny g1 --host lv
t_status "lvssh lists g1 too (the same domain over ssh)" 0 "$VMTTY" list --host lvssh
t_match "g1 is there" '"name": "g1"' "$("$VMTTY" list --host lvssh --json)"
t_status "start g1" 0 "$VMTTY" start lv/g1 --wait
t_check "the guest's marker reaches its serial log" libvirtd_wait_serial g1 "GUEST READY" 90

# 1. vmtty console, in a shell in tmux, for both URIs.
vmtty_shell 120 40
shell_run "stty -a > '$T_TMP/stty.before'"
n=0
for host in lv lvssh; do
	n=$((n + 1))
	shell_run clear
	tui_type "'$VMTTY' console $host/g1; echo RC=\$?"
	tui_keys Enter
	if ! tui_wait "^Connected to VM 'g1' on host '$host'\. Escape character is \^\]\.$" 20; then
		t_fail "$host: the banner names the VM and the host"; tui_screen | sed 's/^/   | /'
		continue	# never type the guest's commands into the test's shell
	fi
	t_ok "$host: the banner names the VM and the host"
	tui_keys Enter
	tui_expect "$host: the guest's prompt answers" 'guest:/# ?$'
	tui_type "echo MARK$n-\$((6*7))"
	tui_keys Enter
	tui_expect "$host: typed command runs in the guest: MARK$n-42" "^MARK$n-42"
	tui_type top
	tui_keys Enter
	tui_expect "$host: top draws its header (Mem:)" '^Mem: '
	tui_expect "$host: and its load average" 'Load average'
	tui_keys q
	tui_type "echo BACK$n-\$((1+1))"
	tui_keys Enter
	tui_expect "$host: q leaves top" "^BACK$n-2"
	tui_keys C-]
	tui_expect "$host: Ctrl-] leaves with exit status 0" '^RC=0$'
	shell_run "stty -a > '$T_TMP/stty.after$n'"
	t_eq "$host: the terminal settings are exactly as before" \
		"$(cat "$T_TMP/stty.before")" "$(cat "$T_TMP/stty.after$n")"
done

# 2. A console held by someone else (virsh console): refused, or taken
# over with --force; the other client is cut off.
t_check "virsh console holds g1's console" libvirtd_console_open g1
t_status "vmtty console without --force is refused" 1 "$VMTTY" console lv/g1
t_match "saying the console is busy" "cannot open the console of VM 'g1': .*Active console session" "$T_ERR"
t_eq "one line" 1 "$(printf '%s\n' "$T_ERR" | wc -l)"
shell_run clear
tui_type "'$VMTTY' console lv/g1 --force; echo RC=\$?"
tui_keys Enter
if tui_wait "^Connected to VM 'g1' on host 'lv'" 20; then
	t_ok "--force takes the console over"
	tui_type 'echo FORCED-$((4*4))'
	tui_keys Enter
	tui_expect "and typing works" '^FORCED-16'
else
	t_fail "--force takes the console over"; tui_screen | sed 's/^/   | /'
fi
_virsh_gone() { _lv_dead "$CONSOLE_PID" || grep -q 'Disconnected\|closed' "$CONSOLE_OUT"; }
t_check "virsh console was cut off" wait_for 10 _virsh_gone
tui_keys C-]
tui_expect "Ctrl-] leaves" '^RC=0$'
libvirtd_console_close

# 3. The pane, for both hosts at once.
tui_start 160 40 "$VMTTY --log $T_TMP/ui.log"
tui_expect "the TUI lists g1" 'g1 +running' 20
_selected() { tui_screen | grep -Eq "VM +g1( |\$)" && tui_screen | grep -Eq "Host +$1( |\$)"; }
select_vm() { # HOST
	local i
	tui_keys Home
	for i in 1 2 3 4 5 6 7 8; do _selected "$1" && return 0; tui_keys j; wait_for 1 _selected "$1"; done
	_selected "$1"
}
n=0
for host in lv lvssh; do
	n=$((n + 1))
	t_check "$host/g1 is selected" select_vm "$host"
	tui_keys c
	if [ "$host" = lvssh ]; then
		# The lv pane holds g1's console: libvirt refuses a second client.
		tui_expect "lvssh: the console is in use; the TUI offers to take it over" \
			"Another client has the console of VM 'g1' open\. Take it over\?" 20
		tui_keys y
	fi
	tui_expect "$host: c opens the pane" "Console: VM 'g1' on host '$host'  \[$n/$n\]" 20
	tui_keys Enter
	tui_expect "$host: the guest's prompt shows" 'guest:/# ?$'
	tui_type "echo PANE$n-\$((6*7))"
	tui_keys Enter
	tui_expect "$host: typed command runs in the guest: PANE$n-42" "^PANE$n-42"
	tui_type top
	tui_keys Enter
	tui_expect "$host: top draws its header (Mem:)" '^Mem: '
	tui_expect "$host: and its load average" 'Load average'
	tui_keys q
	tui_type "echo OUT$n-\$((2+2))"
	tui_keys Enter
	tui_expect "$host: q leaves top" "^OUT$n-4"
	[ "$host" = lvssh ] || { tui_keys C-] l; tui_expect "$host: back on the list" 'NAME +STATE'; }
done
tui_keys C-] p
tui_expect "Ctrl-] p: the lv pane, cut off by the take-over" \
	"Console: VM 'g1' on host 'lv'  \[1/2\].*the console closed: the console stream ended" 10
tui_keys C-] n
tui_expect "Ctrl-] n: the lvssh pane" "Console: VM 'g1' on host 'lvssh'  \[2/2\]"

# 4. The daemon goes away under the lvssh pane: a message, no hang.
libvirtd_stop lv
tui_expect "the pane says its console closed, naming the host" \
	"\[the console closed: host 'lvssh' is unreachable: " 30
tui_keys C-] l
tui_expect "the list answers" 'NAME +STATE' 5
tui_keys q
tui_expect "the TUI exits 0" '\[exited 0\]' 10

[ "$T_FAIL" -eq 0 ] || { echo "   ui.log:"; tail -40 "$T_TMP/ui.log" | sed 's/^/   | /'; }
libvirtd_restart lv >/dev/null 2>&1 && libvirtd_virsh destroy g1 >/dev/null 2>&1
t_summary
