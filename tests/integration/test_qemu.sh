#!/usr/bin/env bash
# The built-in QEMU backend with the tiny real guest under TCG: lifecycle,
# surviving vmtty's death, crash detection, and bad input refused whole.
source "$(dirname "$0")/lib.sh"

# 1. create + start -> marker; running; pause -> paused -> resume.
# t1 uses accel=auto: KVM only where the CPU really has vmx/svm (TESTBED.md).
t_status "create t1 (accel auto)" 0 create_tiny t1 --accel auto
t_status "start t1 waits for the guest's marker" 0 "$VMTTY" start t1 --wait-serial "GUEST READY" --timeout 90
if [ -r /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then accel=kvm
	t_nomatch "no TCG notice where KVM works" "KVM is not usable" "$T_ERR"
else accel=tcg
	t_match "start says it falls back to TCG, and why" "note: KVM is not usable here \(.*\); running under TCG" "$T_ERR"
fi
t_eq "list says running" running "$(vm_state t1)"
t_status "show --json of a running VM" 0 "$VMTTY" show t1 --json
t_match "QMP says the accelerator is $accel" "\"accel_active\": \"$accel\"" "$T_OUT"
t_status "pause t1" 0 "$VMTTY" pause t1 --wait
t_eq "list says paused (QMP query-status)" paused "$(vm_state t1)"
t_status "pausing again is refused" 1 "$VMTTY" pause t1
t_match "and says why" "already paused" "$T_ERR"
t_status "resume t1" 0 "$VMTTY" resume t1 --wait
t_eq "list says running again" running "$(vm_state t1)"
t_status "starting a running VM is refused" 1 "$VMTTY" start t1
t_match "with a clear message" "VM 't1' is already running" "$T_ERR"

# QMP events reach an open TUI by themselves: a pause and a resume made by
# another QMP client (not vmtty, so the inventory never hears of them) show
# within 2 s, without a key, well inside the 5 s list poll.
qmpsock="$VMTTY_RUNTIME_DIR/$(vm_uuid t1 | cut -c1-8)/qmp.sock"
tui_start 120 30 "$VMTTY" --log "$T_TMP/ui.log"
tui_expect "the TUI shows t1 running" 't1 +running'
_watching() { grep -q "qemu_watch: $(vm_uuid t1)" "$T_TMP/ui.log" 2>/dev/null; }
t_check "the TUI connected t1's event socket" wait_for 5 _watching
python3 "$T_ROOT/tests/vnc/qmp.py" "$qmpsock" stop >/dev/null
tui_expect "a pause made over QMP shows as paused within 2 s (STOP event)" 't1 +paused' 2
t_check "the STOP event is what told it" grep -q "qemu_watch: $(vm_uuid t1): STOP" "$T_TMP/ui.log"
python3 "$T_ROOT/tests/vnc/qmp.py" "$qmpsock" cont >/dev/null
tui_expect "a resume made over QMP shows as running within 2 s (RESUME event)" 't1 +running' 2
t_check "the RESUME event is what told it" grep -q "qemu_watch: $(vm_uuid t1): RESUME" "$T_TMP/ui.log"
tui_kill
# The devices every VM gets, asked of the running QEMU itself: a virtio
# balloon (id balloon0) at the VM's 256 MiB, and a virtio-rng fed by
# /dev/urandom (rng0).
qmp() { python3 "$T_ROOT/tests/vnc/qmp.py" "$qmpsock" "$@"; }
t_match "the balloon reports the VM's memory (query-balloon)" '"actual": 268435456' \
	"$(qmp query-balloon)"
t_match "balloon0 is a virtio-balloon-pci" '"name": "balloon0", "type": "child<virtio-balloon-pci>"' \
	"$(qmp qom-list '{"path": "/machine/peripheral"}')"
t_match "a virtio-rng-pci is plugged" 'child<virtio-rng-pci>' \
	"$(qmp qom-list '{"path": "/machine/peripheral-anon"}')"
t_match "fed by /dev/urandom" '"return": "/dev/urandom"' \
	"$(qmp qom-get '{"path": "/objects/rng0", "property": "filename"}')"

# 2. ACPI shutdown -> off; reboot -> the marker a second time.
t_status "shutdown t1 (ACPI) and wait" 0 "$VMTTY" shutdown t1 --wait --timeout 60
t_eq "state is off after ACPI shutdown" off "$(vm_state t1)"
t_status "start t1 again" 0 "$VMTTY" start t1 --wait-serial "GUEST READY" --timeout 90
t_status "reboot t1" 0 "$VMTTY" reboot t1
t_check "the marker appears a second time after reboot" wait_serial t1 "GUEST READY" 2 90
t_eq "running after the reboot" running "$(vm_state t1)"

# Every lifecycle operation takes the VM's lock, not only start: while
# another vmtty holds it (flock(1) here), they are refused and the VM runs on.
lock="$VMTTY_RUNTIME_DIR/$(vm_uuid t1 | cut -c1-8)/lock"
for a in poweroff shutdown reboot reset pause; do
	t_status "$a while another holds t1's lock is refused" 1 flock "$lock" "$VMTTY" $a t1
	t_match "$a says why" "VM 't1' is being started or stopped by another vmtty; try again" "$T_ERR"
done
t_eq "t1 still runs after the refused operations" running "$(vm_state t1)"

# Two starts of one VM at once: the per-VM lock lets exactly one through,
# and exactly one qemu runs.
"$VMTTY" poweroff t1 --wait >/dev/null 2>&1
for i in 1 2; do
	( "$VMTTY" start t1 --wait >"$T_TMP/start$i.out" 2>&1; echo $? >"$T_TMP/start$i.rc" ) &
done
wait
rcs=$(cat "$T_TMP/start1.rc" "$T_TMP/start2.rc" | sort | tr '\n' ' ')
t_eq "two simultaneous starts: one succeeds, one is refused" "0 1 " "$rcs"
t_check "the refused one says why" grep -Eq "being started or stopped by another vmtty|is already running" \
	"$T_TMP/start1.out" "$T_TMP/start2.out"
rundir="$VMTTY_RUNTIME_DIR/$(vm_uuid t1 | cut -c1-8)"
t_eq "exactly one qemu runs for t1" 1 "$(pgrep -f -- "-pidfile $rundir/qemu.pid" | wc -l)"
t_eq "the runtime dir is 0700" 700 "$(stat -c %a "$rundir")"
for s in qmp events serial vnc; do
	t_eq "the $s socket is 0600" 600 "$(stat -c %a "$rundir/$s.sock")"
done

# 3. kill -9 of vmtty while it waits: the VM lives on; a new vmtty stops it.
"$VMTTY" poweroff t1 --wait >/dev/null 2>&1
"$VMTTY" start t1 --wait-serial "NEVER-PRINTED" --timeout 300 >/dev/null 2>&1 &
waiter=$!
t_check "VM running while vmtty waits" wait_state t1 running 30
kill -9 "$waiter"; wait "$waiter" 2>/dev/null
t_eq "after kill -9 of vmtty the VM still runs" running "$(vm_state t1)"
# ... and a TUI killed with -9 leaves it running too.
tui_start 100 30 "$VMTTY"
tui_expect "the TUI lists t1" 't1'
tui=$(pgrep -P "$($TUI_T display -p -t t '#{pane_pid}')" -x vmtty)
t_check "found the TUI's pid" test -n "$tui"
kill -9 $tui
_tui_dead() { ! kill -0 "$tui" 2>/dev/null; }
t_check "the TUI is gone" wait_for 10 _tui_dead
t_eq "after kill -9 of the TUI the VM still runs" running "$(vm_state t1)"
t_status "a new vmtty powers it off" 0 "$VMTTY" poweroff t1 --wait
t_eq "off" off "$(vm_state t1)"

# 4. kill -9 of qemu: crashed, with the log tail; start works again.
t_status "start t1 for the crash test" 0 "$VMTTY" start t1 --wait-serial "GUEST READY" --timeout 90
pid=$(vm_pid t1)
kill -9 "$pid"
_gone() { ! kill -0 "$pid" 2>/dev/null; }
wait_for 10 _gone
t_eq "list says crashed" crashed "$(vm_state t1)"
t_status "show of a crashed VM" 0 "$VMTTY" show t1
t_match "show says qemu died, with the log tail" "Crash log: qemu \\(pid $pid\\) ended without a clean shutdown; log: .*vmtty: VM 't1' started, qemu pid $pid" "$T_OUT"
t_status "start after a crash works" 0 "$VMTTY" start t1 --wait-serial "GUEST READY" --timeout 90
t_eq "running again" running "$(vm_state t1)"

# A guest that ignores the power button (no ACPI): after the TUI's
# shutdown deadline it offers a force-off, and taking it turns the VM off.
t_status "create t3 without ACPI" 0 create_tiny t3 --cmdline "console=ttyS0 acpi=off"
t_status "start t3" 0 "$VMTTY" start t3 --wait-serial "GUEST READY" --timeout 90
tui_start 120 30 env VMTTY_SHUTDOWN_TIMEOUT=3 "$VMTTY"
tui_expect "the TUI shows t3 running" 't3 +running'
tui_keys /; tui_type t3; tui_keys Enter j
tui_keys S
tui_expect "shutdown is asked for" "VM 't3': shutdown done"
tui_expect "past the deadline the TUI offers a force-off" "did not shut down within 3 s" 15
t_eq "the guest is still running meanwhile" running "$(vm_state t3)"
tui_keys y
t_check "force-off from the offer turns it off" wait_state t3 off 15
tui_expect "the TUI shows t3 off" 't3 +off'
tui_kill
t_status "the journal of t3" 0 "$VMTTY" log t3 --json
t_match "has the shutdown" '"action": "shutdown"' "$T_OUT"
t_match "and the poweroff" '"action": "poweroff"' "$T_OUT"

# list looks at the runtime directory once: a VM that never ran here (no
# directory of its own there) costs no file open, while t1 (running) and
# t3 (off) are still told apart.
t_status "create t4, never started" 0 create_tiny t4
t4dir="$VMTTY_RUNTIME_DIR/$(vm_uuid t4 | cut -c1-8)"
if command -v strace >/dev/null; then
	strace -f -qq -e trace=%file -o "$T_TMP/list.strace" "$VMTTY" list --json >/dev/null 2>&1
	t_check "list touched nothing under t4's runtime path" \
		sh -c '! grep -F "$1" "$2"' _ "$t4dir" "$T_TMP/list.strace"
else
	t_skip "list touched nothing under t4's runtime path" "strace is not installed"
fi
t_eq "t4 is off" off "$(vm_state t4)"
t_eq "t3 is off" off "$(vm_state t3)"
t_eq "t1 is running" running "$(vm_state t1)"
t_status "delete t4" 0 "$VMTTY" delete t4

# 5. Bad input: one-line errors, exit 1, no VM row written.
n0=$(vm_count)
bad() {
	local desc=$1 pattern=$2; shift 2
	t_status "$desc exits 1" 1 "$VMTTY" create "$@"
	t_match "$desc: message" "$pattern" "$T_ERR"
	t_eq "$desc: one line" 1 "$(printf '%s\n' "$T_ERR" | wc -l)"
}
bad "missing kernel" "kernel: '/nonexistent/vmlinuz' does not exist" b1 --kernel /nonexistent/vmlinuz
bad "0 MiB memory" "memory: '0' is not a size; give MiB from 1 to 4194304" b2 --kernel "$GUEST/vmlinuz" --memory 0
bad "10,000 vCPUs" "CPUs: '10000' is not a whole number from 1 to 256" b3 --kernel "$GUEST/vmlinuz" --cpus 10000
bad "a name with /" "contains '/'" "a/b" --kernel "$GUEST/vmlinuz"
bad "a name with .." "contains '..'" "x..y" --kernel "$GUEST/vmlinuz"
cp "$GUEST/rootfs.qcow2" "$T_TMP/disk.qcow2"
t_status "create t2 with a disk" 0 create_tiny t2 --disk "$T_TMP/disk.qcow2"
t_status "start t2" 0 "$VMTTY" start t2 --wait
bad "a disk in use by a running VM" "disk '$T_TMP/disk.qcow2' is in use by running VM 't2'" b4 \
	--kernel "$GUEST/vmlinuz" --disk "$T_TMP/disk.qcow2"
t_eq "no VM rows were written by the bad creates" "$((n0 + 1))" "$(vm_count)"
t_status "delete of a running VM is refused" 1 "$VMTTY" delete t2
t_status "poweroff t2" 0 "$VMTTY" poweroff t2 --wait
t2lock="$VMTTY_RUNTIME_DIR/$(vm_uuid t2 | cut -c1-8)/lock"
t_status "delete t2 while another holds its lock is refused" 1 flock "$t2lock" "$VMTTY" delete t2
t_match "delete says why" "VM 't2' is being started or stopped by another vmtty" "$T_ERR"
t_status "delete t2 keeps its disk" 0 "$VMTTY" delete t2
t_check "disk file still there" test -f "$T_TMP/disk.qcow2"
t_status "log t1 --json" 0 "$VMTTY" log t1 --json
for a in start pause resume shutdown reboot poweroff; do
	t_match "the journal has t1's $a" "\"action\": \"$a\"" "$T_OUT"
done
t_status "log b4 --json (a VM that was never created)" 0 "$VMTTY" log b4 --json
t_match "the journal kept the refused create" '"result": "failed"' "$T_OUT"
t_status "poweroff t1" 0 "$VMTTY" poweroff t1 --wait

t_summary
