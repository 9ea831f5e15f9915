#!/usr/bin/env bash
# Logging in to a libvirt host with an ssh key that has a passphrase, on a
# real private libvirtd behind a real sshd on 127.0.0.1.  Through libvirt's
# own ssh client (qemu+libssh://) the passphrase is asked through
# virConnectOpenAuth: the CLI asks on the terminal without echo (and says
# so when there is none), the TUI in an overlay that never shows it; a
# wrong one is refused.  Through the ssh program (qemu+ssh://), the TUI
# never lets ssh prompt on the terminal curses owns: ssh runs in batch
# mode and the host is unreachable with what to do instead.
source "$(dirname "$0")/libvirtd.sh"

PASS='hunter2 horse'
libvirtd_start la
sshd_start la
tiny_domain_xml g1 >"$T_TMP/g1.xml"
libvirtd_virsh define "$T_TMP/g1.xml" >/dev/null
PK=$T_TMP/pass_ed25519
ssh-keygen -q -t ed25519 -N "$PASS" -C vmtty-test-pass -f "$PK"
cat "$PK.pub" >>"$LIBVIRTD_DIR/sshd/authorized_keys"
t_status "host add pk (qemu+libssh, a key with a passphrase)" 0 \
	"$VMTTY" host add pk "${SSH_LIBSSH_URI/keyfile=$SSH_KEY/keyfile=$PK}"

# 1. The CLI without a terminal: a clear refusal, never a read of stdin.
t_status "list --host pk without a terminal exits 0 (from the inventory)" 0 \
	setsid "$VMTTY" list --host pk --json </dev/null
t_match "it says there is no terminal to ask on" "host 'pk': cannot connect to .*there is no terminal to ask on" "$T_ERR"

# 2. The CLI in a terminal: asked on it, without echo.
vmtty_shell 200 30
tui_type "VMTTY_CONNECT_TIMEOUT=6 $VMTTY list --host pk"
tui_keys Enter
tui_expect "the CLI asks for the key's passphrase on the terminal, naming host and URI" \
	"host 'pk' \(qemu\+libssh://root@127\.0\.0\.1:$SSH_PORT/system\): Passphrase:" 20
# The connect deadline (VMTTY_CONNECT_TIMEOUT, 6 s here: the libssh login
# after the answer takes seconds on a loaded machine) waits for the answer.
t_check "no timeout while the user answers (7 s, past the deadline)" \
	holds_for 7 _tui_lacks 'did not answer'

tui_type "$PASS"
tui_keys Enter
tui_expect "then lists the host's domain" '^pk +g1 +off' 20
t_check "the passphrase was not echoed" _tui_lacks hunter2

# 3. The TUI: the question is an overlay; a wrong answer is refused.
tui_start 200 30 "$VMTTY"
tui_expect "the TUI asks in an overlay" "Log in to host 'pk'" 20
tui_expect "for the key's passphrase, not shown" '[Pp]assphrase.*' 2
tui_type wrong
tui_keys Enter
tui_expect "a wrong passphrase: the host is unreachable" 'pk .*unreachable: ' 20
tui_expect "and asked again on the retry" "Log in to host 'pk'" 20
tui_type "$PASS"
t_check "the passphrase is never on screen" _tui_lacks hunter2
tui_keys Enter
tui_expect "the right one: g1 is listed" 'g1 +off' 20
t_check "the overlay is gone" _tui_lacks 'Log in to host'
tui_keys q
tui_expect "the TUI exits 0" '\[exited 0\]' 5

# 4. qemu+ssh:// with an ssh that would prompt (no BatchMode of its own):
# under the TUI it never gets the terminal.
cat >"$T_TMP/ssh-prompting" <<SH
#!/bin/sh
echo "\$*" >>"$T_TMP/ssh-args"
exec ssh -F /dev/null -o UserKnownHostsFile=$SSH_KNOWN_HOSTS -o GlobalKnownHostsFile=/dev/null \\
	-o IdentitiesOnly=yes -o PasswordAuthentication=no -o LogLevel=ERROR "\$@"
SH
chmod 755 "$T_TMP/ssh-prompting"
SSH_PK_URI=${SSH_URI/keyfile=$SSH_KEY/keyfile=$PK}
t_status "host add pkssh (qemu+ssh, the passphrase key)" 0 \
	"$VMTTY" host add pkssh "${SSH_PK_URI/command=$SSH_COMMAND/command=$T_TMP/ssh-prompting}"
tui_start 200 30 "$VMTTY"
tui_expect "pk asks again (a new TUI)" "Log in to host 'pk'" 20
tui_keys Escape
tui_expect "pkssh is unreachable: ssh was refused" 'pkssh .*unreachable: .*Permission denied' 20
tui_keys G
tui_expect "its details give the reason" 'Reason +cannot connect: Cannot recv data' 5
t_match "which says what to do instead (the inventory's last error)" \
	'ssh may not ask for a passphrase.*load the key into ssh-agent.*qemu\+libssh://' \
	"$("$VMTTY" host list --json | grep pkssh)"
t_check "ssh never prompted on the terminal" _tui_lacks 'Enter passphrase'
t_match "ssh ran in batch mode" 'BatchMode=yes' "$(cat "$T_TMP/ssh-args")"
tui_keys q
tui_expect "the TUI exits 0" '\[exited 0\]' 5

t_summary
