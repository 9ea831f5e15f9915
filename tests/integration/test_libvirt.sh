#!/usr/bin/env bash
# libvirt hosts end to end: the test driver against virsh, a real private
# libvirtd running the tiny guest (locally and over qemu+ssh), live events
# in the TUI, and a daemon that goes away and comes back.
source "$(dirname "$0")/libvirtd.sh"

# The project's own test-driver lab (always there), and richer files next
# to the repository when they are (their checks are skipped without them).
LAB="test://$T_ROOT/tests/data/libvirt/lab.xml"
SHARED=$(cd "$T_ROOT/.." && pwd)/shared/testdata/libvirt-test
have_shared() { [ -f "$SHARED/$1" ]; }

# virsh's states in vmtty's words.
virsh_states() {
	virsh -q -c "$1" list --all | awk '{
		st = $3; for (i = 4; i <= NF; i++) st = st " " $i
		if (st == "shut off") st = "off"; else if (st == "in shutdown") st = "shutting-down"
		else if (st == "idle" || st == "blocked") st = "running"
		else if (st == "pmsuspended") st = "paused"
		print $2, st }' | sort
}
vmtty_states() {
	"$VMTTY" list --host "$1" --json | python3 -c '
import json, sys
for v in json.load(sys.stdin): print(v["name"], v["state"])' | sort
}

# vmtty_field HOST FIELD [NAME]: FIELD of every VM (or of NAME) in list --json.
vmtty_field() {
	"$VMTTY" list --host "$1" --json | python3 -c '
import json, sys
for v in json.load(sys.stdin):
    if len(sys.argv) < 3 or v["name"] == sys.argv[2]:
        print(v["name"], json.dumps(v[sys.argv[1]]))' "$2" ${3:+"$3"} | sort
}

# 1. The test driver: vmtty's list is virsh's list.
# compare_list HOST URI: add HOST and compare its list with virsh's.
compare_list() {
	local want
	t_status "host add $1 $2" 0 "$VMTTY" host add "$1" "$2"
	want=$(virsh_states "$2")
	t_eq "list --host $1 matches virsh list --all ($(echo "$want" | wc -l) domains)" "$want" "$(vmtty_states "$1")"
}
# compare_flags HOST URI NOUUID: persistence as virsh has it, and a
# running domain the file defines without a UUID (a new one on each
# connection) can still be acted on by name (the test driver keeps no
# state between connections, so each command starts from the file).
compare_flags() {
	local transient
	transient=$(virsh -q -c "$2" list --all --transient --name | sed '/^$/d' | sort)
	t_check "$1 has transient domains to compare" [ -n "$transient" ]
	t_eq "the transient domains of $1 in list --json are virsh's --transient ones" "$transient" \
		"$(vmtty_field "$1" persistent | awk '$2 == "false" { print $1 }')"
	t_status "pause $1/$3, which has no <uuid> (new UUID each connection)" 0 "$VMTTY" pause "$1/$3"
	t_status "force it off" 0 "$VMTTY" poweroff "$1/$3"
}
# skip_shared FILE HOST NOUUID: the checks above for a file of ../shared
# that is absent, each counted as skipped (NOUUID empty: no compare_flags).
skip_shared() {
	local why="$SHARED/$1 is absent" d
	for d in "host add $2" "list --host $2 matches virsh list --all"; do t_skip "$d" "$why"; done
	[ -n "$3" ] || return 0
	for d in "$2 has transient domains to compare" \
		"the transient domains of $2 in list --json are virsh's --transient ones" \
		"pause $2/$3, which has no <uuid> (new UUID each connection)" "force it off"; do
		t_skip "$d" "$why"
	done
}
compare_list t1 test:///default
compare_list lab "$LAB"
compare_flags lab "$LAB" scratch
if have_shared testsuite.xml; then compare_list suite "test://$SHARED/testsuite.xml"
else skip_shared testsuite.xml suite ""; fi
if have_shared testdriver-lv9.xml; then
	compare_list lv9 "test://$SHARED/testdriver-lv9.xml"
	compare_flags lv9 "test://$SHARED/testdriver-lv9.xml" test-arm-kernel
else
	skip_shared testdriver-lv9.xml lv9 test-arm-kernel
fi
# The maximum and the current memory, as virsh has them.
t_eq "max_memory_mib is virsh dominfo's Max memory" \
	"test $(virsh -c test:///default dominfo test | awk '/^Max memory/ { print $3 / 1024 }')" \
	"$(vmtty_field t1 max_memory_mib test)"
t_eq "memory_mib is its Used memory" \
	"test $(virsh -c test:///default dominfo test | awk '/^Used memory/ { print $3 / 1024 }')" \
	"$(vmtty_field t1 memory_mib test)"
t_eq "lab's web: memory_mib is Used memory, below its Max memory" \
	"web $(virsh -c "$LAB" dominfo web | awk '/^Max memory/ { m = $3 / 1024 } /^Used memory/ { u = $3 / 1024 } END { print u "/" m }')" \
	"$(vmtty_field lab memory_mib web)/$(vmtty_field lab max_memory_mib web | awk '{ print $2 }')"
t_status "show --xml of a test-driver domain" 0 "$VMTTY" show t1/test --xml
t_match "it is the domain's own XML" "<name>test</name>" "$T_OUT"
# The TUI below shows every host: the lab leaves it the rows it had.
t_status "host rm lab" 0 "$VMTTY" host rm lab

# 2. A real libvirtd: define through vmtty, start, marker, shutdown.
libvirtd_start lv
t_status "host add lv" 0 "$VMTTY" host add lv "$LIBVIRTD_URI"
t_status "create g1 on lv (XML validated by libvirt)" 0 create_tiny g1 --host lv
t_eq "virsh sees g1 defined and off" "shut off" "$(libvirtd_domstate g1)"
t_status "autostart g1 on" 0 "$VMTTY" autostart lv/g1 on
t_eq "list --json says autostart, as virsh dominfo does" "g1 true/enable" \
	"$(vmtty_field lv autostart g1)/$(libvirtd_virsh dominfo g1 | awk '/^Autostart/ { print $2 }')"
t_status "autostart g1 off" 0 "$VMTTY" autostart lv/g1 off
t_eq "and off again" "g1 false" "$(vmtty_field lv autostart g1)"
t_status "show --xml g1" 0 "$VMTTY" show lv/g1 --xml
t_match "a TCG domain" "<domain type=.qemu." "$T_OUT"
t_status "start g1" 0 "$VMTTY" start lv/g1 --wait
t_check "the guest's marker reaches its serial log" libvirtd_wait_serial g1 "GUEST READY" 90
t_eq "vmtty list says running" "g1 running" "$(vmtty_states lv | grep '^g1 ')"
t_status "shutdown g1 (ACPI) and wait" 0 "$VMTTY" shutdown lv/g1 --wait --timeout 60
t_eq "virsh agrees it is off" "shut off" "$(libvirtd_domstate g1)"
t_status "the journal has g1's lifecycle" 0 "$VMTTY" log g1 --json
t_match "start journaled" '"action": "start"' "$T_OUT"

# 3. The same over qemu+ssh.
sshd_start lv
t_status "host add lvssh (qemu+ssh)" 0 "$VMTTY" host add lvssh "$SSH_URI"
t_eq "over ssh g1 is listed, off" "g1 off" "$(vmtty_states lvssh | grep '^g1 ')"
t_status "start g1 over ssh" 0 "$VMTTY" start lvssh/g1 --wait
t_check "marker again" libvirtd_wait_serial g1 "GUEST READY" 90
t_eq "over ssh it is running" "g1 running" "$(vmtty_states lvssh | grep '^g1 ')"
t_status "poweroff g1 over ssh" 0 "$VMTTY" poweroff lvssh/g1 --wait
t_eq "off" "shut off" "$(libvirtd_domstate g1)"

# Refusals that protect the user: nothing is started or deleted.
touch "$T_TMP/decoy.qcow2"
t_status "create with a local-looking disk on lv" 0 "$VMTTY" create g2 --host lv --kernel "$GUEST/vmlinuz" --disk "$T_TMP/decoy.qcow2" --memory 64 --accel tcg
t_status "--delete-disks on a libvirt VM is refused" 1 "$VMTTY" delete lv/g2 --delete-disks
t_match "and says why" "disks are there, and deleting them through storage pools is not supported" "$T_ERR"
t_check "the local file of the same name is untouched" test -f "$T_TMP/decoy.qcow2"
t_eq "g2 is still defined" "shut off" "$(libvirtd_domstate g2)"
t_status "delete g2 without disks" 0 "$VMTTY" delete lv/g2
# A domain redefined behind vmtty's back (same name, new UUID) is another
# VM: vmtty refuses to act on it and says so.
t_status "create g3 on lv" 0 create_tiny g3 --host lv
libvirtd_virsh undefine g3 >/dev/null
tiny_domain_xml g3 >"$T_TMP/g3.xml"
libvirtd_virsh define "$T_TMP/g3.xml" >/dev/null
t_status "start of a g3 redefined with virsh is refused" 1 "$VMTTY" start lv/g3
t_match "saying it was redefined outside vmtty" "it was redefined outside vmtty, refresh the host" "$T_ERR"
t_eq "the other g3 was not started" "shut off" "$(libvirtd_domstate g3)"
libvirtd_virsh undefine g3 >/dev/null
t_status "start --wait-serial on libvirt is refused before starting" 1 "$VMTTY" start lv/g1 --wait-serial X
t_eq "g1 was not started" "shut off" "$(libvirtd_domstate g1)"

# 4. The TUI follows virsh's changes by events, without a keypress.
tui_start 160 40 "$VMTTY"
tui_expect "the TUI lists g1 on lv" 'g1 +off' 20
libvirtd_virsh start g1 >/dev/null
t0=$(date +%s%N)
tui_expect "a start made with virsh shows within 1 s" '▶ g1 +running' 1
echo "   (event to screen: $(( ($(date +%s%N) - t0) / 1000000 )) ms)"
libvirtd_virsh suspend g1 >/dev/null
tui_expect "a suspend made with virsh shows within 1 s" '‖ g1 +paused' 1
libvirtd_virsh resume g1 >/dev/null
tui_expect "and the resume" '▶ g1 +running' 1

# 5. The daemon goes away: unreachable with the reason, keys still answer;
# it comes back: the host reconnects by itself.
libvirtd_stop lv
tui_expect "lv shows unreachable with a reason" 'lv .*unreachable: .+' 30
t_status "list --json with lv down answers from the inventory" 0 "$VMTTY" list --host lv --json
t_match "g1 is there, marked stale" '"name": "g1".*"stale": true' "$T_OUT"
t_match "stderr says why and what is shown" "showing the VMs last seen there" "$T_ERR"
tui_keys '?'
tui_expect "help still opens" 'Keys' 2
tui_keys Escape
libvirtd_restart lv
tui_wait_gone 'lv .*unreachable' 40
t_check "lv reconnected by itself" _tui_lacks 'lv .*unreachable'
tui_expect "and shows g1 running again" '▶ g1 +running' 10
tui_keys q
tui_expect "the TUI exits 0" '\[exited 0\]' 5
libvirtd_virsh destroy g1 >/dev/null 2>&1

t_summary
