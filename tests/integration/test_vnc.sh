#!/usr/bin/env bash
# The graphical console (VNC) on the tiny real guest under TCG with -vga std:
# a screenshot equal to QEMU's own screendump, the TUI pane showing the VGA
# console, keys typed in the pane reaching a shell on tty1, and Ctrl-Alt-Del
# from the pane's menu rebooting the guest.
source "$(dirname "$0")/lib.sh"

VNC_TESTS="$T_ROOT/tests/vnc"

# Kernel messages on the VGA console too (tty0), /dev/console on serial.
t_status "create g1 (graphics vnc)" 0 create_tiny g1 --cmdline "console=tty0 console=ttyS0" --graphics vnc
t_status "start g1" 0 "$VMTTY" start g1 --wait-serial "GUEST READY" --timeout 90
t_status "create g0 without graphics" 0 create_tiny g0 --graphics none

# 1. No graphics: a clear message, exit 1.
t_status "screenshot of a VM without graphics fails" 1 "$VMTTY" screenshot g0 "$T_TMP/none.png"
t_match "and says why" "VM 'g0' has no graphical display \(graphics=none\)" "$T_ERR"
t_status "screenshot of a VM that is off fails" 1 "$VMTTY" screenshot g0 "$T_TMP/none.png" 
t_status "screenshot with one operand is a usage error" 2 "$VMTTY" screenshot g1

# 2. vmtty screenshot == QMP screendump of the same moment (the guest is idle
# at its prompts; a line still being printed makes a retry).
run_dir() { echo "$VMTTY_RUNTIME_DIR/$(vm_uuid "$1" | cut -c1-8)"; }
same_screen() {
	"$VMTTY" screenshot g1 "$T_TMP/shot.png" >/dev/null &&
	python3 "$VNC_TESTS/qmp.py" "$(run_dir g1)/qmp.sock" screendump \
		"{\"filename\": \"$T_TMP/dump.ppm\"}" >/dev/null &&
	python3 "$VNC_TESTS/imgcmp.py" "$T_TMP/shot.png" "$T_TMP/dump.ppm" 0.005 >"$T_TMP/cmp"
}
t_check "screenshot matches QEMU's screendump (<= 0.5% of pixels differ)" wait_for 30 same_screen
echo "   $(cat "$T_TMP/cmp")"
t_match "the PNG is the VGA text screen" "size 720x400" "$(cat "$T_TMP/cmp")"
t_status "screenshot into a missing directory fails" 1 "$VMTTY" screenshot g1 /nonexistent/dir/x.png
t_match "naming the file" "cannot create '/nonexistent/dir/x.png'" "$T_ERR"

# 3. The TUI: 'v' on g1 opens its display in a pane.
tui_start 160 50 sh -c "'cd $T_TMP && exec $VMTTY'"
tui_expect "the TUI lists g1" 'g1 +running'
tui_keys /; tui_type g1; tui_keys Enter
tui_keys j
tui_keys v
tui_expect "the display pane opens with the guest's screen size" 'VM g1 +display 720x400 +scaled'
tui_expect "under tmux without passthrough it draws block symbols" 'VM g1 +display 720x400 +scaled +symbols'
# The kernel's text drawn with block symbols: many non-blank cells.
pane_cells() { tui_screen | sed -n '3,48p' | tr -d ' \n' | wc -m; }
_pane_full() { [ "$(pane_cells)" -gt 500 ]; }
t_check "the pane shows the console text (non-blank cells)" wait_for 10 _pane_full
tui_screen | sed -n '3,48p' >"$T_TMP/pane1"
_pane_changed() { ! tui_screen | sed -n '3,48p' | cmp -s - "$T_TMP/pane1"; }

# 4. Keys reach the guest: a command typed on tty1 writes to the serial port.
tui_type 'echo VNC-MARK-$((6*7)) > /dev/ttyS0'
tui_keys Enter
t_check "the marker typed on tty1 reaches the serial log" wait_serial g1 "VNC-MARK-42" 1 30
t_check "the pane changed as the guest printed" wait_for 10 _pane_changed
tui_type q; tui_keys BSpace
t_eq "'q' goes to the guest; the TUI stays" 1 "$(tui_screen | grep -Ec 'VM g1 +display')"

# 5. Screenshot key: Ctrl-] s, Enter accepts the suggested name.
tui_keys C-] s
tui_expect "the screenshot prompt suggests a file name" 'g1-[0-9]{8}-[0-9]{6}\.png'
tui_keys Enter
tui_expect "the status line says it was saved" "Saved the screen of VM 'g1' \(720x400\)"
t_check "the PNG exists" compgen -G "$T_TMP/g1-*.png"

# 6. Ctrl-Alt-Del from the menu reboots the guest.
tui_keys C-] m
tui_expect "the keys menu offers Ctrl-Alt-Del" 'Ctrl-Alt-Del'
tui_keys Enter
tui_expect "the status line says it was sent" "Sent Ctrl-Alt-Del to VM 'g1'"
t_check "the guest boots a second time" wait_serial g1 "GUEST READY" 2 90

# 7. Back to the list, then quit.
tui_keys C-] l
tui_expect "Ctrl-] l goes back to the VM list" 'g1 +running'
tui_keys q
tui_expect "the TUI quits" 'exited 0'
"$VMTTY" poweroff g1 --wait >/dev/null 2>&1
t_summary
