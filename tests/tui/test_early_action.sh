#!/usr/bin/env bash
# An action asked for as the TUI starts, before its host has answered, is
# not refused for being early: it waits for the host and then runs.  Here
# the built-in host takes over 3 s to connect (VM a's qemu is stopped with
# SIGSTOP, so listing it waits for QMP), and s on VM b in that time starts
# b once the host is up: the status line never says the host is
# connecting, and says the start is done.  In a second TUI, c on b at
# once opens its console the same way.
source "$(dirname "$0")/../integration/lib.sh"

t_status "create a" 0 create_tiny a
t_status "create b" 0 create_tiny b
t_status "start a" 0 "$VMTTY" start a
pid=$(vm_pid a)
t_on_exit "kill -CONT $pid 2>/dev/null; kill -9 $pid 2>/dev/null"
t_check "a's qemu is stopped (SIGSTOP): it answers no QMP" kill -STOP "$pid"

tui_start 100 30 "$VMTTY"
tui_expect "the list shows b off" '■ b +off'
tui_keys /
tui_type b
tui_keys Enter j s
tui_expect "s on b while the host connects: the start is under way" "VM 'b': start\.\.\." 5
t_check "not refused for the host connecting" _tui_lacks "is connecting"
tui_expect "once the host is up, b is started" "VM 'b': start done" 30
t_eq "b runs" running "$(vm_state b)"
tui_keys q
tui_expect "q quits" '\[exited 0\]'

# A new TUI, the host slow again (a is still stopped): c on b at once
# opens b's console once the host is up.
tui_start 100 30 "$VMTTY"
tui_expect "a new TUI shows b running" '▶ b +running'
tui_keys /
tui_type b
tui_keys Enter j c
tui_expect "c on b while the host connects opens its console" \
	"Console: VM 'b' on host 'local'" 30
t_check "not refused for the host connecting" _tui_lacks "is connecting"
kill -CONT "$pid"
tui_kill
t_status "poweroff b" 0 "$VMTTY" poweroff b --wait
t_status "poweroff a" 0 "$VMTTY" poweroff a --wait

t_summary
