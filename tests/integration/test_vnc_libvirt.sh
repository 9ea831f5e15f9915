#!/usr/bin/env bash
# The graphical console (VNC) of a guest on a real private libvirtd, locally
# (virDomainOpenGraphicsFD) and over qemu+ssh (ssh -W to the <graphics> port
# through one shared ssh connection): a screenshot equal to QEMU's own
# screendump, the TUI pane showing the VGA console, keys typed in the pane
# reaching a shell on tty1, and Ctrl-Alt-Del from the pane's menu rebooting
# the guest; and an sshd without TCP forwarding in ssh's own words.
source "$(dirname "$0")/libvirtd.sh"

VNC_TESTS="$T_ROOT/tests/vnc"

libvirtd_start lv
# ssh -W needs TCP forwarding (to the host's own loopback).
SSHD_TCP_FORWARDING=local sshd_start lv
t_status "host add lv (local)" 0 "$VMTTY" host add lv "$LIBVIRTD_URI"
t_status "host add lvssh (qemu+ssh)" 0 "$VMTTY" host add lvssh "$SSH_URI"
t_status "create g1 on lv (graphics vnc)" 0 create_tiny g1 --host lv \
	--cmdline "console=tty0 console=ttyS0" --graphics vnc
t_status "create g0 on lv without graphics" 0 create_tiny g0 --host lv --graphics none
t_status "start g1" 0 "$VMTTY" start lv/g1 --wait
t_check "g1 boots" libvirtd_wait_serial g1 "GUEST READY" 90
t_status "list lvssh (g1 there too)" 0 "$VMTTY" list --host lvssh

serial_count() { local n; n=$(grep -c -- "$2" "$(libvirtd_serial_log "$1")" 2>/dev/null); echo "${n:-0}"; }
_serial_at_least() { [ "$(serial_count "$1" "$2")" -ge "$3" ]; }

# same_screen HOST: vmtty screenshot == QEMU's screendump (through libvirt's
# monitor passthrough) of the same moment; a line still being printed makes
# a retry.
same_screen() {
	"$VMTTY" screenshot "$1/g1" "$T_TMP/shot-$1.png" >/dev/null &&
	libvirtd_virsh qemu-monitor-command g1 --hmp "screendump $T_TMP/dump-$1.ppm" >/dev/null &&
	python3 "$VNC_TESTS/imgcmp.py" "$T_TMP/shot-$1.png" "$T_TMP/dump-$1.ppm" 0.005 >"$T_TMP/cmp-$1"
}

# 1. Screenshots, locally and over ssh.
t_status "screenshot of a VM without graphics fails" 1 "$VMTTY" screenshot lv/g0 "$T_TMP/none.png"
t_match "and says why" "VM 'g0' has no graphical display" "$T_ERR"
for h in lv lvssh; do
	t_check "$h: screenshot matches QEMU's screendump (<= 0.5% of pixels differ)" wait_for 30 same_screen "$h"
	echo "   $(cat "$T_TMP/cmp-$h" 2>/dev/null)"
	t_match "$h: the PNG is the VGA text screen" "size 720x400" "$(cat "$T_TMP/cmp-$h" 2>/dev/null)"
done

masters() { ps -eo pid=,args= | grep -F "$VMTTY_RUNTIME_DIR/ssh-" | grep -F '[mux]' | grep -v grep | awk '{print $1}'; }
t_eq "the screenshots over ssh left no ssh master or control socket behind" "" "$(masters)$(ls "$VMTTY_RUNTIME_DIR" | grep '^ssh-')"

# 2. The TUI pane on each host: the console text, keys typed on tty1
# reaching the serial port, Ctrl-Alt-Del from the keys menu rebooting.
pane_cells() { tui_screen | sed -n '3,48p' | tr -d ' \n' | wc -m; }
_pane_full() { [ "$(pane_cells)" -gt 500 ]; }
_pane_changed() { ! tui_screen | sed -n '3,48p' | cmp -s - "$T_TMP/pane1"; }
tui_start 160 50 sh -c "'cd $T_TMP && exec $VMTTY'"
tui_expect "the TUI lists g1" 'g1 +running'
tui_wait_gone 'connecting' 20
tui_keys /; tui_type g1; tui_keys Enter
boots=1 marks=0
for h in lv lvssh; do
	if [ "$h" = lv ]; then tui_keys j; else tui_keys j j; fi
	tui_expect "$h: g1 of host $h is selected" "Host +$h\b" 5
	tui_keys v
	tui_expect "$h: the display pane opens with the guest's screen size" 'VM g1 +display 720x400 +scaled' 30
	t_check "$h: the pane shows the console text (non-blank cells)" wait_for 10 _pane_full
	tui_screen | sed -n '3,48p' >"$T_TMP/pane1"
	tui_type 'echo VNC-MARK-$((6*7)) > /dev/ttyS0'
	tui_keys Enter
	marks=$((marks + 1))
	t_check "$h: the marker typed on tty1 reaches the serial log" wait_for 30 _serial_at_least g1 VNC-MARK-42 "$marks"
	t_check "$h: the pane changed as the guest printed" wait_for 10 _pane_changed
	if [ "$h" = lvssh ]; then
		m1=$(masters)
		t_eq "$h: one ssh master for the host" 1 "$(echo "$m1" | grep -c .)"
		tui_keys C-] l
		tui_expect "$h: back to the list" 'g1 +running'
		tui_keys v
		tui_expect "$h: the pane opens again" 'VM g1 +display 720x400' 30
		t_eq "$h: it reused the same ssh master" "$m1" "$(masters)"
	fi
	tui_keys C-] m
	tui_expect "$h: the keys menu offers Ctrl-Alt-Del" 'Ctrl-Alt-Del'
	tui_keys Enter
	tui_expect "$h: the status line says it was sent" "Sent Ctrl-Alt-Del to VM 'g1'"
	boots=$((boots + 1))
	t_check "$h: the guest boots again" wait_for 90 _serial_at_least g1 "GUEST READY" "$boots"
	tui_keys C-] l
	tui_expect "$h: Ctrl-] l goes back to the VM list" 'g1 +running'
done
tui_keys q
tui_expect "the TUI quits" 'exited 0'
_no_master() { [ -z "$(masters)" ]; }
t_check "the ssh master ended with the TUI" wait_for 10 _no_master
t_eq "and its control socket is gone" "" "$(ls "$VMTTY_RUNTIME_DIR" | grep '^ssh-')"

# 3. A VM that is off over ssh: one sentence naming it and what to do.
libvirtd_virsh destroy g1 >/dev/null 2>&1
t_status "screenshot of g1 on lvssh when it is off fails" 1 "$VMTTY" screenshot lvssh/g1 "$T_TMP/off.png"
t_match "and says why" "VM 'g1' on host 'lvssh' is not running; start it" "$T_ERR"

# 4. An sshd that forbids TCP forwarding (the default of the harness): ssh's
# own words and what to check.  A second daemon, its guest only needs a port.
libvirtd_start lv2
sshd_start lv2
tiny_domain_xml g9 >"$T_TMP/g9.xml"
t_status "define and start g9 on lv2 (virsh)" 0 libvirtd_virsh define "$T_TMP/g9.xml"
t_status "start g9" 0 libvirtd_virsh start g9
t_status "host add lv2ssh (qemu+ssh, no forwarding)" 0 "$VMTTY" host add lv2ssh "$SSH_URI"
t_status "list lv2ssh" 0 "$VMTTY" list --host lv2ssh
t_status "screenshot through an sshd without forwarding fails" 1 "$VMTTY" screenshot lv2ssh/g9 "$T_TMP/nofwd.png"
t_match "with ssh's words and what to check" \
	"host 'lv2ssh': cannot reach the graphical display of VM 'g9' \(127.0.0.1:[0-9]+ on the host\) through ssh: [^;]*refused[^;]*; check that .*sshd allows TCP forwarding" "$T_ERR"
t_eq "and leaves no ssh master or control socket behind" "" "$(masters)$(ls "$VMTTY_RUNTIME_DIR" | grep '^ssh-')"
libvirtd_virsh destroy g9 >/dev/null 2>&1

t_summary
