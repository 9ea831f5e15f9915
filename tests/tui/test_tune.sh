#!/usr/bin/env bash
# The tuning page (T) and the host page (i) in the real TUI under tmux, at
# 80x24.  A VM that is off shows its configured pins; Space on a cell pins
# or unpins and the inventory has it at once (sqlite3), with the journal;
# the balloon and hugepage keys settle into one change; a change the VM
# refuses says why on the status line and changes nothing.  The host page
# shows what 'vmtty host info' shows, and a dead host's error without
# holding up a key; a grid wider than the screen scrolls.  With the
# built-in backend's tuning, a running tiny guest: pin a vCPU (the thread's
# affinity follows), move the balloon target and see the guest's own
# memory change on screen.
source "$(dirname "$0")/../integration/lib.sh"
source "$(dirname "$0")/../integration/libvirtd.sh"

command -v sqlite3 >/dev/null || { t_skip "tuning page tests" "sqlite3 is not installed"; t_summary; exit; }

# tuning VM: "PINS|EMULATOR|HUGEPAGE_KIB|BALLOON_MIB" as the inventory has them.
tuning() {
	sqlite3 "$VMTTY_DB" "SELECT coalesce(vcpu_pins, '') || '|' || coalesce(emulator_pin, '') ||
		'|' || hugepages || '|' || coalesce(balloon_mib, '') FROM tuning
		WHERE vm_id = (SELECT id FROM vms WHERE name = '$1')"
}
_tuning_is() { [ "$(tuning "$1")" = "$2" ]; }
# t_tuning DESC VM EXPECTED: the inventory comes to have EXPECTED.
t_tuning() {
	wait_for 10 _tuning_is "$2" "$3"
	t_eq "$1" "$3" "$(tuning "$2")"
}
journal_tunes() { "$VMTTY" log "$1" | grep -c ' tune '; }
# clear_filter: Esc on the list when it is filtered, and wait until it is
# not (a key sent right after Esc would read as Alt-key).
clear_filter() {
	_tui_has 'filter: ' || return 0
	tui_keys Escape
	tui_wait_gone 'filter: '
}
# help_whole: the help box on screen ends no line at its right border (a
# line cut there runs into it) and shows its last line, LAST.
help_whole() {
	local box
	box=$(tui_screen | sed -n '/┌─ Keys /,/└─/p' | sed '1d;$d; s/\(.*│\).*/\1/')
	[ -n "$box" ] && ! grep -qv ' │$' <<<"$box" && grep -qF -- "$1" <<<"$box"
}
# open_vm NAME: from the list, select VM NAME (filtered to it) and press T.
open_vm() {
	clear_filter
	tui_keys / ; tui_type "$1"; tui_keys Enter
	tui_expect "the list is filtered to $1" "^ +. $1 "
	tui_keys Home j T
}

t_status "create offvm (2 vCPUs)" 0 create_tiny offvm --cpus 2
t_status "pin its vCPU 0 and the emulator to CPU 0 (vmtty tune)" 0 \
	"$VMTTY" tune offvm --pin 0:0 --emulator-pin 0
t_status "create oddvm (255 MiB: no whole number of 2M pages)" 0 create_tiny oddvm --memory 255

tui_start 80 24 "$VMTTY"
tui_expect "the list shows offvm" 'offvm +off'

# 1. The tuning page of a VM that is off: its configured pins.
open_vm offvm
tui_expect "T opens the tuning page" 'Tune VM offvm on local \(off\)'
tui_expect "vCPU 0 is pinned to CPU 0" '^ vCPU 0 +● .*pin 0$'
t_check "vCPU 1 has no pin" _tui_has '^ vCPU 1 .*no pin$'
t_check "the emulator is pinned to CPU 0" _tui_has '^ emulator +● .*pin 0$'
t_check "it says the grid is what the next start gets" _tui_has 'Not running: the grid shows the pins'
t_check "the balloon target is the whole memory, between floor and memory" \
	_tui_has 'Balloon +target 256 MiB +\(\+/-: 64 to 256 MiB\)'
t_check "the page fits 80x24: the guest line and the key hints are on screen" \
	_tui_has '^ Guest +-$'
t_check "and the hints" _tui_has 'Space Pin +\+/- Balloon +h Hugepages +Esc Close'
tui_keys '?'
tui_expect "? lists the page's keys" 'Space Enter +pin to the CPU under the cursor'
t_check "at 80x24 every line of it is whole, down to its last" \
	help_whole "names it, the host does not have it."
tui_keys q
tui_expect "q closes the help, and only the help" '^ vCPU 0 +● .*pin 0$'
t_check "the help is gone" _tui_lacks 'pin to the CPU under the cursor'

# 2. Space on cells: vCPU 1 onto CPU 0, the emulator off it.
tui_keys Down Space
tui_expect "Space pins vCPU 1 to CPU 0" "VM 'offvm': pins 0:0;1:0\."
t_tuning "the inventory has it" offvm "0:0;1:0|0|0|"
tui_expect "the grid shows it" '^ vCPU 1 +● .*pin 0$'
tui_keys Down Space
tui_expect "Space on the emulator's cell unpins it" "VM 'offvm': emulator pin none\."
t_tuning "the inventory has no emulator pin" offvm "0:0;1:0||0|"
tui_expect "the grid shows it" '^ emulator .*no pin$'
tui_keys Up Up Space
tui_expect "Space on vCPU 0's pinned cell takes its only CPU away" "VM 'offvm': pins 1:0\."
t_tuning "vCPU 0 has no pin in the inventory" offvm "1:0||0|"
t_match "the journal has each change" "pins 0:0;1:0.*emulator pin none.*pins 1:0" \
	"$("$VMTTY" log offvm | grep ' tune ' | tr '\n' ' ')"

# 3. The balloon: two steps down and one Left on its row settle into one
# change.  The three go in one write: sent apart, a loaded machine can let
# the 300 ms the view gathers keys for pass between them.
before=$(journal_tunes offvm)
tui_keys End - - Left
tui_expect "the target is applied when the keys stop" "VM 'offvm': balloon 208 MiB\."
t_tuning "the inventory has it" offvm "1:0||0|208"
t_eq "one journal entry for the three presses" $((before + 1)) "$(journal_tunes offvm)"
tui_keys - - - - - - - - - - - - - - - -
tui_expect "the target stops at the floor" 'target 64 MiB'
t_tuning "the inventory has the floor" offvm "1:0||0|64"
tui_keys + + + + + + + + + + + + + + + + + + + +
tui_expect "and at the memory going up" "VM 'offvm': balloon 256 MiB\."
t_tuning "the inventory has the memory" offvm "1:0||0|256"

# 4. Hugepages: h goes to the first size the host offers (2M here or unknown).
tui_keys h
tui_expect "h sets 2M hugepages" "VM 'offvm': hugepages 2M\."
t_tuning "the inventory has 2048 KiB pages" offvm "1:0||2048|256"
tui_keys Up Left
tui_expect "Left on its row goes back to off" "VM 'offvm': hugepages off\."
t_tuning "the inventory has none" offvm "1:0||0|256"
tui_keys Escape
tui_expect "Esc closes the page" 'offvm +off'

# 5. A change the VM refuses: the sentence on the status line, nothing changed.
before=$(journal_tunes oddvm)
open_vm oddvm
tui_expect "the page of oddvm" 'Tune VM oddvm on local \(off\)'
tui_keys h
tui_expect "2M pages for 255 MiB are refused" \
	"VM 'oddvm': its memory, 255 MiB, is not a whole number of 2M pages"
tui_expect "the page shows hugepages off again" '^ Hugepages off '
t_eq "the inventory is unchanged" "||0|" "$(tuning oddvm)"
t_match "the journal has the refusal" "FAILED +tune +local/oddvm: VM 'oddvm': its memory" \
	"$("$VMTTY" log oddvm)"
tui_keys q
tui_expect "q closes the page (the TUI stays)" 'oddvm +off'

# 6. The host page of the built-in host: what 'vmtty host info' says.
clear_filter
tui_keys Home i
tui_expect "i on the host row opens its page" 'Host local \(built-in QEMU\): vmtty:///local'
tui_keys '?'
tui_expect "? lists the host page's keys" 'ask the host again now \(it is asked every 2 s\)'
t_check "at 80x24 every line of it is whole, down to its last" \
	help_whole "KSM (built-in host): merging of identical pages, 'vmtty host ksm'."
tui_keys q
tui_wait_gone 'ask the host again now'
if "$VMTTY" host info local --json >"$T_TMP/hi.json" 2>"$T_TMP/hi.err"; then
	ncpu=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cpus"])' "$T_TMP/hi.json")
	t_eq "host info counts as many CPUs as nproc" "$(nproc)" "$ncpu"
	tui_expect "the page counts them" "^ CPUs +$ncpu online"
	cells() { tui_screen | sed -n '/CPU  CORE SOCKET NODE/,$p' | grep -oE '[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+' | wc -l; }
	t_eq "and lists each one with its core, socket and node" "$ncpu" "$(cells)"
	t_check "it shows the memory" _tui_has '^ Memory +[0-9]+ MiB total, [0-9]+ MiB free'
	t_check "and KSM" _tui_has '^ KSM +(on|off): [0-9]+ pages shared'
	# The page asks again every 2 s: reserve 2M pages and it shows them.
	hp=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
	if [ -w "$hp" ]; then
		hugepages_lock
		old=$(cat "$hp")
		t_on_exit "echo $old > $hp"
		echo $((old + 3)) >"$hp"
		tui_expect "a refresh shows 3 more 2M pages" "2M pages: $(cat "$hp") total" 10
		echo "$old" >"$hp"
	else
		t_skip "the page follows the hugepage pool" "$hp is not writable"
	fi
else
	why=$(sed 's/^vmtty: //' "$T_TMP/hi.err")
	t_match "host info fails with a sentence (no built-in host info yet)" "not supported" "$why"
	tui_expect "the page shows that sentence" "$(printf '%s' "$why" | cut -c1-60 | sed 's/[][().*+?^$|\\]/\\&/g')"
fi
tui_keys Escape
tui_expect "Esc closes the host page" 'offvm +off'

# 7. A dead host: its page says why at once, and keys still answer.
"$VMTTY" host add dead "test://$T_TMP/nonexistent.xml" >/dev/null
tui_expect "the list shows the dead host unreachable" 'dead +\(libvirt, 0 VMs\) +unreachable'
clear_filter
tui_keys /; tui_type dead; tui_keys Enter Home i
tui_expect "its page says it is unreachable" "host 'dead' is unreachable"
tui_keys Escape
tui_expect "Esc closes it at once" '^. dead +\(libvirt'

# 8. A pin to CPUs this host does not have (made elsewhere, written here
# with sqlite3: vmtty tune refuses it): the grid shows them too and scrolls
# sideways; a change is refused, naming the CPU, and changes nothing.
cat >"$T_TMP/big.xml" <<'EOF'
<node xmlns:test="http://libvirt.org/schemas/domain/test/1.0">
<domain type="test"><name>wide</name><uuid>00000000-0000-4000-8000-0000000000aa</uuid>
<memory>262144</memory><vcpu>2</vcpu><os><type arch="x86_64">hvm</type></os>
<test:runstate>5</test:runstate></domain>
</node>
EOF
"$VMTTY" host add big "test://$T_TMP/big.xml" >/dev/null
clear_filter
tui_expect "the list shows wide off" 'wide +off' 20
t_status "vmtty tune refuses a pin to CPUs 0-39" 1 "$VMTTY" tune wide --pin 0:0-39
t_match "naming a CPU the host does not have" "pin of vCPU 0: the host has no CPU [0-9]+; its CPUs are " "$T_ERR"
sqlite3 "$VMTTY_DB" "INSERT INTO tuning (vm_id, vcpu_pins) SELECT id, '0:0-39' FROM vms
	WHERE name = 'wide' ON CONFLICT (vm_id) DO UPDATE SET vcpu_pins = excluded.vcpu_pins"
t_eq "the inventory has the pin to CPUs 0-39" "0:0-39||0|" "$(tuning wide)"
open_vm wide
tui_expect "the page of wide" 'Tune VM wide on big \(off\)'
tui_expect "the grid shows CPUs from 0 and more to the right" '^ CPU +0 +1 +2 .* >$'
tui_keys Right Right Right Right Right Right Right Right Right Right Right Right Right \
	Right Right Right Right Right Right Right Right Right Right Right Right
tui_expect "25 to the right it has scrolled: more to the left" '^ CPU +< +8 +9 .* 25 +>$'
t_check "vCPU 0 shows its pin" _tui_has '^ vCPU 0 .*pin 0-39$'
tui_keys Down Space
tui_expect "pinning vCPU 1 to CPU 25 is refused: the VM's pins name CPUs the host lacks" \
	"pin of vCPU 0: the host has no CPU [0-9]+; its CPUs are "
t_eq "the inventory is unchanged" "0:0-39||0|" "$(tuning wide)"
t_check "and so is the grid" _tui_has '^ vCPU 1 .*no pin$'
tui_keys Up x
tui_expect "x takes vCPU 0's pin away at once" "VM 'wide': pins none\."
t_tuning "the inventory has no pin" wide "||0|"
cpus=$("$VMTTY" host info big --json | python3 -c 'import json,sys; print(" +".join(str(c["cpu"]) for c in json.load(sys.stdin)["cpu"]))')
tui_expect "the grid is the host's CPUs again, as host info names them" "^ CPU +$cpus\$"
tui_keys Escape
tui_expect "Esc closes the page" '^ +. wide +off'
tui_keys i
tui_expect "i on a VM's row opens its host's page" "Host big \(libvirt\): test://$T_TMP/big.xml"
# As 'vmtty host info big' has it.
ncpu=$("$VMTTY" host info big --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["cpus"])')
tui_expect "it shows as many CPUs as host info ($ncpu)" "^ CPUs +$ncpu online"
tui_keys Escape
tui_expect "Esc closes it" '^ +. wide +off'

# 9. A running guest: pin a vCPU, move the balloon, see the guest's memory.
t_status "create runvm (2 vCPUs, 256 MiB)" 0 create_tiny runvm --cpus 2
t_status "runvm boots to the guest's marker" 0 "$VMTTY" start runvm --wait-serial "GUEST READY" --timeout 90
if ! "$VMTTY" tune runvm --json >"$T_TMP/ts.json" 2>"$T_TMP/ts.err" &&
	grep -q "not supported by the built-in QEMU backend" "$T_TMP/ts.err"; then
	t_skip "the running guest's tuning page" "$(sed 's/^vmtty: //' "$T_TMP/ts.err")"
	open_vm runvm
	tui_expect "its page shows why it has no live view" \
		"reading a VM's tuning is not supported by the built-in QEMU backend"
	tui_keys Escape
	tui_expect "Esc closes the page" '^ +. runvm +running'
	tui_keys q
	t_summary
	exit
fi
rundir() { echo "$VMTTY_RUNTIME_DIR/$(vm_uuid "$1" | cut -c1-8)"; }
vcpu0_tid() {
	python3 "$T_ROOT/tests/vnc/qmp.py" "$(rundir runvm)/qmp.sock" query-cpus-fast |
		python3 -c 'import json,sys; print([c["thread-id"] for c in json.load(sys.stdin)["return"] if c["cpu-index"] == 0][0])'
}
allowed() { sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "/proc/$(vm_pid runvm)/task/$(vcpu0_tid)/status"; }
# guest_total: the guest's total memory (MiB) as the page shows it, or "".
guest_total() { tui_screen | sed -nE 's/^ Guest +total ([0-9]+) MiB.*/\1/p'; }
_total_below() { local m; m=$(guest_total) && [ -n "$m" ] && [ "$m" -lt "$1" ]; }
_total_above() { local m; m=$(guest_total) && [ -n "$m" ] && [ "$m" -gt "$1" ]; }

open_vm runvm
tui_expect "the page of the running guest" 'Tune VM runvm on local \(running\)'
tui_expect "each vCPU shows the CPU it ran on last" '^ vCPU 1 .*no pin, last [0-9]+$'
tui_expect "the balloon has all of its memory" '^ Memory +max 256 MiB, actual 256 MiB'
tui_expect "the guest's own view arrives (balloon statistics)" '^ Guest +total [0-9]+ MiB, free [0-9]+ MiB' 30
total0=$(guest_total)
t_check "the guest sees about 256 MiB ($total0)" [ "${total0:-0}" -gt 160 ]

tui_keys Home Right Space
tui_expect "Space pins vCPU 0 to CPU 1 at once" "VM 'runvm': pins 0:1, applied now\."
tui_expect "the grid shows it pinned and allowed on CPU 1 only" '^ vCPU 0 +·? +(●|\[●\]) +pin 1'
tui_expect "and that it ran there last" '^ vCPU 0 .*pin 1, last 1$' 20
t_eq "the vCPU thread's affinity is CPU 1" "1" "$(allowed)"
t_tuning "the inventory has the pin" runvm "0:1||0|"

tui_keys End - - - - - -
tui_expect "six steps down: the balloon goes to 160 MiB" "VM 'runvm': balloon 160 MiB, applied now\."
tui_expect "the host gives the guest 160 MiB" '^ Memory +max 256 MiB, actual 160 MiB' 30
t_check "the guest's own total drops below 160 MiB on screen" wait_for 30 _total_below 160
t_tuning "the inventory has the target" runvm "0:1||0|160"
tui_keys + + + + + +
tui_expect "back up: 256 MiB" "VM 'runvm': balloon 256 MiB, applied now\."
tui_expect "the host gives the guest its memory back" '^ Memory +max 256 MiB, actual 256 MiB' 30
t_check "the guest's own total rises again on screen" wait_for 30 _total_above 200
tui_keys h
tui_expect "h on the running guest: 2M hugepages wait for its next start" \
	"VM 'runvm': hugepages 2M; pending until its next start: hugepages\."
tui_expect "the page says what is pending" 'Tune VM runvm on local \(running\) +pending restart: hugepages'
t_tuning "the inventory has the pages" runvm "0:1||2048|256"
t_nomatch "qemu runs on without them" "hugetlb" "$(tr '\0' ' ' <"/proc/$(vm_pid runvm)/cmdline")"
t_match "the journal has the pin and both balloon moves" \
	"pins 0:1.*balloon 160 MiB.*balloon 256 MiB" "$("$VMTTY" log runvm | grep ' tune ' | tr '\n' ' ')"
tui_keys Escape
tui_expect "Esc closes the page; the list marks runvm pending" '^ +. runvm +running\*'
tui_keys q
"$VMTTY" poweroff runvm --wait >/dev/null 2>&1

# 10. A libvirt host whose daemon stops answering (SIGSTOP) while a change
# is on its way: within the CLI's 15 s the status line says the host did
# not answer and the page takes keys again; keys answer meanwhile; nothing
# is recorded.  Once the daemon goes on, the host and the inventory agree.
if [ "$(id -u)" -ne 0 ]; then
	t_skip "a libvirt host that stops answering" "needs root for a private libvirtd"
	t_summary
	exit
fi
libvirtd_start tunestop
t_status "host add lv (a private libvirtd)" 0 "$VMTTY" host add lv "$LIBVIRTD_URI"
t_status "create sv on lv (2 vCPUs, off)" 0 create_tiny sv --host lv --cpus 2
tui_start 80 24 "$VMTTY"
tui_expect "the list shows sv off" 'sv +off' 30
open_vm sv
tui_expect "the page of sv" 'Tune VM sv on lv \(off\)' 20
tui_expect "its host named its CPUs" 'host CPUs: [0-9]+'
kill -STOP "$LIBVIRTD_PID"
t_on_exit "kill -CONT $LIBVIRTD_PID 2>/dev/null"
t0=$(date +%s%N)
tui_keys Space
tui_expect "Space starts the change" "VM 'sv': applying pins 0:0\.\.\." 5
tui_keys '?'
tui_expect "keys answer meanwhile: ? opens the help" 'Space Enter +pin to the CPU' 2
tui_keys q
tui_wait_gone 'Space Enter +pin to the CPU' 2
tui_expect "the status line says the host did not answer" \
	"VM 'sv': pins 0:0 not applied: host 'lv' did not answer within 15 s" 30
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
t_check "within the CLI's bound of 15 s, give or take a poll ($ms ms)" [ "$ms" -le 18000 ]
t_check "the page says no more that it is applying" _tui_lacks 'applying\.\.\.'
t_eq "the inventory has no pin" "||0|" "$(tuning sv)"
tui_keys Space
tui_expect "the page takes keys again: a new change says the host is unreachable" \
	"host 'lv' is unreachable: host 'lv' did not answer within 15 s" 5
tui_keys Escape
tui_expect "the list shows lv unreachable" 'lv +\(libvirt, .*unreachable' 5
kill -CONT "$LIBVIRTD_PID"
tui_expect "once the daemon goes on, the late answer is recorded" \
	"VM 'sv': pins 0:0 \(its host answered late\)\." 30
t_tuning "the inventory has the pin" sv "0:0||0|"
t_eq "and so has the host's definition" "0" \
	"$(libvirtd_virsh vcpupin sv --config | awk '$1 == "0" { print $2 }')"
t_match "the journal has the failure, then the change" \
	"FAILED +tune +lv/sv: VM 'sv': pins 0:0 not applied: host 'lv' did not answer.*ok +tune +lv/sv" \
	"$("$VMTTY" log sv | tr '\n' ' ')"
tui_wait_gone 'lv +\(libvirt, .*unreachable' 60
t_check "lv is reached again by itself" _tui_lacks 'lv +\(libvirt, .*unreachable'
tui_keys q
tui_expect "the TUI exits 0" '\[exited 0\]' 10
t_summary
