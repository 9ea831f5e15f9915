#!/usr/bin/env bash
# The restart policy of a VM (issue 18): vmtty edit --on-crash and
# --autostart, vmtty autostart, as show and show --json give them back, and
# journaled.  Bad words are one line and exit 2 with nothing changed; an
# on-crash policy on a libvirt VM is refused (libvirt keeps its own).  No
# VM runs here: `vmtty serve --supervise` itself is in
# tests/integration/test_supervise.sh.
source "$(dirname "$0")/../lib.sh"

export VMTTY_DB="$T_TMP/inv.db" XDG_DATA_HOME="$T_TMP/data" VMTTY_RUNTIME_DIR="$T_TMP/run"
policy() {
	"$VMTTY" show "$1" --json | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["on_crash"], v["autostart"])'
}
one_line() { [ "$(printf '%s\n' "$1" | wc -l)" -eq 1 ]; }

t_status "create fw (firmware only)" 0 "$VMTTY" create fw --memory 64 --accel tcg --graphics none
t_eq "a new VM: leave, no autostart" "leave False" "$(policy fw)"
t_status "show (text)" 0 "$VMTTY" show fw
t_match "  On crash: leave" "^On crash: +leave \(it stays crashed\)$" "$T_OUT"
t_match "  Autostart: off" "^Autostart: +off$" "$T_OUT"

# 1. Bad words: a usage error in one line, before anything is read or changed.
for bad in reboot '' RESTART 'restart '; do
	t_status "edit --on-crash '$bad': exit 2" 2 "$VMTTY" edit fw --on-crash "$bad"
	t_eq "  one line naming the choices" "vmtty: edit: --on-crash takes restart or leave, not '$bad'" "$T_ERR"
done
for bad in yes 1 ON ''; do
	t_status "edit --autostart '$bad': exit 2" 2 "$VMTTY" edit fw --autostart "$bad"
	t_eq "  one line naming the choices" "vmtty: edit: --autostart takes on or off, not '$bad'" "$T_ERR"
done
t_status "edit --on-crash without a value: exit 2" 2 "$VMTTY" edit fw --on-crash
t_status "a bad word with a good option: exit 2, the good one not applied either" 2 \
	"$VMTTY" edit fw --cpus 2 --on-crash sometimes
t_check "  one line" one_line "$T_ERR"
t_eq "nothing changed" "leave False" "$(policy fw)"
t_eq "  nor the CPUs" 1 "$("$VMTTY" show fw --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["cpus"])')"
t_eq "  and nothing journaled but the create" "create" \
	"$("$VMTTY" log fw --json | python3 -c 'import json,sys; print(" ".join(e["action"] for e in json.load(sys.stdin)))')"
t_status "autostart fw maybe: exit 2" 2 "$VMTTY" autostart fw maybe

# 2. Good words: kept, shown, journaled; in effect at once (never pending).
t_status "edit --on-crash restart --autostart on" 0 "$VMTTY" edit fw --on-crash restart --autostart on
t_eq "  show --json: restart, autostart" "restart True" "$(policy fw)"
t_status "show (text)" 0 "$VMTTY" show fw
t_match "  On crash: restart" "^On crash: +restart \(while 'vmtty serve --supervise' runs\)$" "$T_OUT"
t_match "  Autostart: on" "^Autostart: +on \(when 'vmtty serve --supervise' begins\)$" "$T_OUT"
t_nomatch "  nothing pending" "^Pending:" "$T_OUT"
t_match "  journaled" "ok +edit +local/fw: changed on-crash restart, autostart on$" "$("$VMTTY" log fw)"
t_status "edit --on-crash leave alone" 0 "$VMTTY" edit fw --on-crash leave
t_eq "  autostart kept" "leave True" "$(policy fw)"
t_status "autostart fw off (a built-in VM: the inventory's flag)" 0 "$VMTTY" autostart fw off
t_eq "  off" "leave False" "$(policy fw)"
t_match "  journaled" "ok +autostart +local/fw: autostart off$" "$("$VMTTY" log fw)"
t_status "autostart fw on" 0 "$VMTTY" autostart fw on
t_eq "  on" "leave True" "$(policy fw)"
t_status "edit with other options as well" 0 "$VMTTY" edit fw --memory 96 --on-crash restart
t_match "  journaled together" "ok +edit +local/fw: changed memory, on-crash restart$" "$("$VMTTY" log fw)"
t_eq "  both kept" "restart True 96" "$("$VMTTY" show fw --json | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["on_crash"], v["autostart"], v["memory_mib"])')"
t_match "the help names the options" "\[--on-crash restart\|leave\] \[--autostart on\|off\]" "$("$VMTTY" help edit)"

# 3. A clone does not start with its source: no autostart; its on-crash
# policy is its configuration's, kept.
qemu-img create -q -f qcow2 "$T_TMP/d.qcow2" 16M
t_status "create src with a disk, restart, autostart" 0 "$VMTTY" create src --disk "$T_TMP/d.qcow2" --memory 64
t_status "  policy" 0 "$VMTTY" edit src --on-crash restart --autostart on
t_status "clone src cl" 0 "$VMTTY" clone src cl
t_eq "  the clone: restart, no autostart" "restart False" "$(policy cl)"

# 4. A libvirt VM (test driver): no on-crash policy here; autostart is the
# host's own flag.
t_status "host add lab test:///default" 0 "$VMTTY" host add lab test:///default
t_status "list (the test driver's domain 'test' is cached)" 0 "$VMTTY" list
t_status "edit lab/test --on-crash restart: refused" 1 "$VMTTY" edit lab/test --on-crash restart
t_match "  saying it is for built-in VMs" "VM 'test' is on libvirt host 'lab': an on-crash policy is for built-in VMs" "$T_ERR"
t_check "  in one line" one_line "$T_ERR"
t_eq "  show --json: no on-crash policy" "None" \
	"$("$VMTTY" show lab/test --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["on_crash"])')"
t_status "edit lab/test --autostart on: the host's flag" 0 "$VMTTY" edit lab/test --autostart on
t_match "  journaled" "ok +edit +lab/test: changed autostart on$" "$("$VMTTY" log lab/test)"
t_status "show lab/test (text)" 0 "$VMTTY" show lab/test
t_nomatch "  no On crash line" "^On crash:" "$T_OUT"
t_match "  an Autostart line about its host" "^Autostart: +(on \(when its host boots\)|off)$" "$T_OUT"

t_summary
