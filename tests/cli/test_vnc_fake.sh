#!/usr/bin/env bash
# The VNC session against a fake server that misbehaves (tests/vnc/fake-vnc.py):
# stalling or hanging up mid-frame, a bogus or zero screen size, not RFB at
# all.  Each ends with a message and exit 1: no hang, no crash.
source "$(dirname "$0")/../lib.sh"

FAKE="$T_ROOT/tests/vnc/fake-vnc.py"
SOCK="$T_TMP/fake.sock"

_ready() { grep -q READY "$T_TMP/fake.out"; }
# fake MODE DESC EXIT PATTERN: run a screenshot against the server in MODE.
fake() {
	local mode=$1 desc=$2 want=$3 pattern=$4 pid
	: >"$T_TMP/fake.out"
	python3 "$FAKE" "$SOCK" "$mode" >"$T_TMP/fake.out" 2>&1 &
	pid=$!
	wait_for 10 _ready
	# timeout only guards the suite against a hang; the session's own
	# stall detection is what ends the command.
	t_status "$desc: exit $want" "$want" timeout 30 "$VMTTY" screenshot --vnc "unix:$SOCK" "$T_TMP/$mode.png"
	t_match "$desc: message" "$pattern" "$T_OUT$T_ERR"
	t_eq "$desc: one line" 1 "$(printf '%s\n' "$T_OUT$T_ERR" | wc -l)"
	kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
}

fake good "a well-behaved server" 0 "Saved the screen of 'unix:.*' \(64x48\)"
t_check "the PNG is there" test -s "$T_TMP/good.png"
fake close "a server hanging up mid-frame" 1 "the VNC server of 'unix:.*' closed the connection"
fake stall "a server stalling mid-frame" 1 "stopped answering in the middle of a message for 5 s; disconnected"
fake bogus "a bogus screen size" 1 "announced a screen of 65535x65535 pixels, which is not a real size"
fake zero "a zero screen size" 1 "announced a screen of 0x0 pixels, which is not a real size"
fake garbage "not an RFB server" 1 "ended the handshake \(not an RFB server, or it refused us\)"

t_status "no server on the socket" 1 "$VMTTY" screenshot --vnc "unix:$T_TMP/none.sock" "$T_TMP/x.png"
t_match "says so, naming the socket" "cannot connect to the VNC server at '.*none.sock'" "$T_ERR"
t_status "a TCP address is refused" 1 "$VMTTY" screenshot --vnc 127.0.0.1:5900 "$T_TMP/x.png"
t_match "saying what --vnc takes" "--vnc takes unix:PATH" "$T_ERR"
t_status "--vnc with a VM too is a usage error" 2 "$VMTTY" screenshot --vnc "unix:$SOCK" vm x.png
t_summary
