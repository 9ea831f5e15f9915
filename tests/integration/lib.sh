# Integration helpers: the tiny real guest and a private vmtty world
# (inventory, runtime and data dirs in the test's temp dir).
source "$(dirname "${BASH_SOURCE[0]}")/../tui/lib.sh"

GUEST="$T_BUILD/guest"
"$T_ROOT/tests/guest/build.sh" "$GUEST" >/dev/null || { echo "not ok - tiny guest build"; echo "0 passed, 1 failed"; exit 1; }

export VMTTY_DB="$T_TMP/inv.db"
export VMTTY_RUNTIME_DIR="$T_TMP/run"
export XDG_DATA_HOME="$T_TMP/data"

# Stop every qemu this test started, whatever happens.
t_on_exit 'for p in "$VMTTY_RUNTIME_DIR"/*/qemu.pid; do [ -f "$p" ] && kill -9 "$(cat "$p")"; done'

# vm_state NAME: the state `vmtty list --json` reports.
vm_state() {
	"$VMTTY" list --json | python3 -c '
import json, sys
for v in json.load(sys.stdin):
    if v["name"] == sys.argv[1]: print(v["state"])' "$1"
}

_state_is() { [ "$(vm_state "$1")" = "$2" ]; }
# wait_state NAME STATE SECONDS
wait_state() { wait_for "$3" _state_is "$1" "$2"; }

# serial_count NAME TEXT: how often TEXT is in the VM's serial log.
serial_log() { echo "$VMTTY_RUNTIME_DIR/$(vm_uuid "$1" | cut -c1-8)/serial.log"; }
vm_uuid() {
	"$VMTTY" show "$1" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["uuid"])'
}
# (grep -c prints 0 itself when nothing matches; only a missing log needs one.)
serial_count() { local n; n=$(grep -c -- "$2" "$(serial_log "$1")" 2>/dev/null); echo "${n:-0}"; }
_serial_at_least() { [ "$(serial_count "$1" "$2")" -ge "$3" ]; }
# wait_serial NAME TEXT COUNT SECONDS
wait_serial() { wait_for "$4" _serial_at_least "$1" "$2" "$3"; }

# rundir VM: its runtime directory.
rundir() { echo "$VMTTY_RUNTIME_DIR/$(vm_uuid "$1" | cut -c1-8)"; }
# gsh VM CMD: run CMD in the guest's shell (on its serial console) and
# print what CMD printed between "@@=" and "@@".  The marker is written
# '"@@""="' in the typed line, so its echo never matches.
gsh() {
	python3 - "$(rundir "$1")/serial.sock" "$2" <<'EOF'
import re, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(0.2)
s.sendall(b"\n" + sys.argv[2].encode() + b"\n")
buf, deadline = b"", time.time() + 30
while time.time() < deadline:
    try:
        buf += s.recv(4096)
    except socket.timeout:
        pass
    m = re.search(rb"@@=([^@\r\n]*)@@", buf)
    if m:
        print(m.group(1).decode())
        sys.exit(0)
sys.exit(1)
EOF
}
vm_pid() { cat "$VMTTY_RUNTIME_DIR/$(vm_uuid "$1" | cut -c1-8)/qemu.pid" 2>/dev/null; }
vm_count() { "$VMTTY" list --json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'; }

# Snapshots and disks of the built-in backend.
# snaps VM: "name:parent:kind:vm_state:current" per snapshot, in tree order.
snaps() {
	"$VMTTY" snapshot "$1" list --json | python3 -c '
import json, sys
for s in json.load(sys.stdin):
    print("%s:%s:%s:%s:%s" % (s["name"], s["parent"] or "-", s["kind"], s["vm_state"],
        "*" if s["current"] else ""))'
}
# files VM NAME: the files snapshot NAME keeps, one per line.
files() {
	"$VMTTY" snapshot "$1" list --json | python3 -c '
import json, sys
for s in json.load(sys.stdin):
    if s["name"] == sys.argv[1]: print("\n".join(s["files"]))' "$2"
}
disk_of() { "$VMTTY" show "$1" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["disks"][0]["path"])'; }
# chain FILE: the files of FILE's backing chain, by name, one line.
chain() {
	qemu-img info -U --backing-chain --output=json "$1" | python3 -c '
import json, os, sys
print(" ".join(os.path.basename(i["filename"]) for i in json.load(sys.stdin)))'
}

# create_tiny NAME [OPTIONS]: the tiny guest, TCG unless OPTIONS say otherwise.
create_tiny() {
	local accel=tcg
	[[ " ${*:2} " == *" --accel "* ]] && accel=
	set -- "$@" ${accel:+--accel $accel}
	"$VMTTY" create "$1" --kernel "$GUEST/vmlinuz" --initrd "$GUEST/initrd.img" \
		--cmdline "console=ttyS0" --memory 256 "${@:2}"
}

# vmtty_shell COLS ROWS: a shell in tmux (session "t") whose vmtty uses this
# test's inventory and runtime dir; shell_run CMD types CMD there and waits
# until it has finished.
vmtty_shell() {
	tui_shell "$1" "$2"
	tui_expect "the shell is up" 'PROMPT\$ ?$'
	tui_type "export VMTTY_DB='$VMTTY_DB' VMTTY_RUNTIME_DIR='$VMTTY_RUNTIME_DIR' XDG_DATA_HOME='$XDG_DATA_HOME'; clear"
	tui_keys Enter
}
SHELL_RUNS=0
shell_run() {
	SHELL_RUNS=$((SHELL_RUNS + 1))
	tui_type "$1; echo DONE$SHELL_RUNS-\$?"
	tui_keys Enter
	tui_wait "^DONE$SHELL_RUNS-[0-9]+\$" 10
}
