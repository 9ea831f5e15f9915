#!/usr/bin/env bash
# libvirt hosts end to end: the test driver against virsh, a real private
# libvirtd running the tiny guest (locally and over qemu+ssh), live events
# in the TUI, and a daemon that goes away and comes back.
source "$(dirname "$0")/libvirtd.sh"

SHARED=$(cd "$T_ROOT/.." && pwd)/shared/testdata/libvirt-test

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
i=0
for uri in test:///default "test://$SHARED/testsuite.xml" "test://$SHARED/testdriver-lv9.xml"; do
	case $uri in test://*/*.xml) [ -f "${uri#test://}" ] || { t_fail "missing $uri"; continue; } ;; esac
	i=$((i + 1))
	t_status "host add t$i $uri" 0 "$VMTTY" host add "t$i" "$uri"
	want=$(virsh_states "$uri")
	t_eq "list --host t$i matches virsh list --all ($(echo "$want" | wc -l) domains)" "$want" "$(vmtty_states "t$i")"
done
# Persistence and the maximum memory, as virsh has them.
LV9="test://$SHARED/testdriver-lv9.xml"
transient=$(virsh -q -c "$LV9" list --all --transient --name | sed '/^$/d' | sort)
t_check "lv9 has transient domains to compare (missing file: reported above)" [ -n "$transient" ]
t_eq "the transient domains in list --json are virsh's --transient ones" "$transient" \
	"$(vmtty_field t3 persistent | awk '$2 == "false" { print $1 }')"
t_eq "max_memory_mib is virsh dominfo's Max memory" \
	"test $(virsh -c test:///default dominfo test | awk '/^Max memory/ { print $3 / 1024 }')" \
	"$(vmtty_field t1 max_memory_mib test)"
t_eq "memory_mib is its Used memory" \
	"test $(virsh -c test:///default dominfo test | awk '/^Used memory/ { print $3 / 1024 }')" \
	"$(vmtty_field t1 memory_mib test)"
# Domains the file defines without a UUID get a new one on each connection:
# by name, they can still be acted on (the test driver keeps no state
# between connections, so each command starts from the file).
t_status "pause a lv9 domain that has no <uuid> (new UUID each connection)" 0 \
	"$VMTTY" pause t3/test-arm-kernel
t_status "force it off" 0 "$VMTTY" poweroff t3/test-arm-kernel
t_status "show --xml of a test-driver domain" 0 "$VMTTY" show t1/test --xml
t_match "it is the domain's own XML" "<name>test</name>" "$T_OUT"

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
