#!/usr/bin/env bash
# What a new user tripped over: the Add host URI prompt starts empty with an
# example shown dim (typing a URI gives exactly that URI) and refuses a URI
# of the wrong form; leaving the VNC pane takes its "Ctrl-] ..." status
# along; the journal in the details pane wraps between words.
source "$(dirname "$0")/lib.sh"

export VMTTY_DB="$T_TMP/inv.db" VMTTY_RUNTIME_DIR="$T_TMP/run" XDG_DATA_HOME="$T_TMP/data"
t_on_exit 'for p in "$VMTTY_RUNTIME_DIR"/*/qemu.pid; do [ -f "$p" ] && kill -9 "$(cat "$p")"; done'

# host_uri NAME: the URI `vmtty host list --json` gives host NAME ("" none).
host_uri() {
	"$VMTTY" host list --json | python3 -c '
import json, sys
for h in json.load(sys.stdin):
    if h["name"] == sys.argv[1]: print(h["uri"])' "$1"
}

# qemu refuses /bin/true as a kernel: a failed start with a long message
# in the journal.  fw: firmware only, nothing to boot, a real VGA display.
"$VMTTY" create bad --kernel /bin/true --memory 64 --accel tcg >/dev/null
"$VMTTY" start bad >/dev/null 2>&1
"$VMTTY" create fw --memory 64 --graphics vnc --accel tcg >/dev/null
t_status "fw starts" 0 "$VMTTY" start fw

tui_start 120 30 "$VMTTY"
tui_expect "the list is up" '■ bad +off'

# 1. Add host: typing a URI gives exactly that URI.
tui_keys a
tui_expect "a asks for the host's name" 'Name: _'
tui_type lab; tui_keys Enter
tui_expect "then for the URI, empty, with an example" 'libvirt URI: _ e\.g\. qemu\+ssh://root@HOST/system'
tui_type 'test:///default'
tui_expect "the first key replaces the example" 'libvirt URI: test:///default_ *│'
tui_keys Enter
tui_expect "the host is added" "Host 'lab' added"
t_eq "with exactly the URI typed" "test:///default" "$(host_uri lab)"

# 2. A URI of the wrong form is refused, naming it, and asked for again.
tui_keys a; tui_expect "a again asks for a name" 'Name: _'
tui_type bad2; tui_keys Enter
tui_expect "the URI prompt" 'libvirt URI: _ e\.g\.'
tui_type 'not a uri'; tui_keys Enter
tui_expect "'not a uri' is refused, naming it" "host URI 'not a uri' contains a space"
tui_expect "the prompt comes back with the text to correct" 'libvirt URI: not a uri_'
tui_keys C-u
tui_type 'qemu+ssh://root@HOST/systemtest:///default'; tui_keys Enter
tui_expect "two URIs run together are refused" "has a second '://' in its path"
tui_keys C-u Enter
tui_expect "Enter on the empty prompt asks for a URI" 'no host URI given; give one like'
tui_keys Escape
tui_expect "Esc cancels" 'Cancelled; no host was added'
t_eq "no host bad2 was added" "" "$(host_uri bad2)"
t_status "vmtty host add refuses two URIs run together" 1 \
	"$VMTTY" host add bad3 'qemu+ssh://root@HOST/systemtest:///default'
t_match "saying so" "host URI 'qemu\+ssh://root@HOST/systemtest:///default' has a second '://'" "$T_ERR"
t_status "and an unknown transport" 1 "$VMTTY" host add bad3 'qemu+ftp://h/system'
t_match "naming it" "unknown transport 'ftp'" "$T_ERR"

# 3. The journal in the details pane wraps between words: every word of
# the failed start's message is whole on one line of the pane.  (A fresh
# TUI: what the prompts left open does not matter here.)
tui_start 120 30 "$VMTTY"
tui_expect "the TUI is up again" '■ bad +off'
tui_keys /; tui_type bad; tui_keys Enter; tui_keys j
tui_expect "bad's details show its journal" 'Journal +[0-9-]+ [0-9:]+ create ok'
pane() { tui_screen | grep '│' | sed 's/^.*│ //'; }
msg=$("$VMTTY" log --json | python3 -c '
import json, sys
print([e["message"] for e in json.load(sys.stdin) if e["action"] == "start" and e["result"] != "ok"][-1])')
t_match "the failed start's message is long" '.{80}' "$msg"
tui_expect "and in the pane" 'FAILED: qemu could'
split=""
for word in $msg; do
	pane | grep -qF -- "$word" || split="$split $word"
done
t_eq "no word of it is split between lines" "" "$split"
_pane_wide() { [ "$(pane | awk '{ if (length($0) > n) n = length($0) } END { print n }')" -gt 30 ]; }
t_check "(the pane is wide enough to wrap in)" _pane_wide

# 4. Leaving the VNC pane clears its "Ctrl-] ..." status.
tui_start 120 30 "$VMTTY"
tui_expect "and again" '■ bad +off'
tui_keys /; tui_type fw; tui_keys Enter; tui_keys j
tui_expect "fw is running" 'fw +running'
tui_keys v
tui_expect "v opens fw's display" 'VM fw +display 720x400'
tui_keys C-]
tui_expect "Ctrl-] shows the command keys" 'Ctrl-\] \.\.\. \(m menu'
tui_keys l
tui_expect "Ctrl-] l goes back to the list" 'fw +running'
t_check "the list has no Ctrl-] status" _tui_lacks 'Ctrl-\] \.\.\.'
tui_keys v
tui_expect "v shows the display again" 'VM fw +display 720x400'
tui_keys C-]
tui_expect "Ctrl-] again" 'Ctrl-\] \.\.\. \(m menu'
tui_keys k
tui_expect "Ctrl-] k closes the display" 'fw +running'
t_check "and its status goes with it" _tui_lacks 'Ctrl-\] \.\.\.'
tui_keys q
tui_expect "the TUI quits" 'exited 0'
"$VMTTY" poweroff fw --wait >/dev/null 2>&1
t_summary
