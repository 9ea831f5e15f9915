#!/usr/bin/env bash
# Live statistics in the real TUI under tmux, sampled every 1.5 s here
# (VMTTY_STATS_INTERVAL): a running tiny guest (TCG, built-in host) and
# the libvirt test driver's running domain 'test'.  In the VM list, CPU
# sparklines appear within two intervals of the hosts' rows, and the
# guest's moves from the bottom to the top when a busy loop starts in it;
# at 200 columns a disk I/O column joins; without UTF-8 they are ASCII.  g
# opens the graphs page: four graphs with y-axis labels in units (%, MiB,
# B/s), braille dots and times under them, two by two at 80x24 and stacked
# at 200x60 after a resize; user networking shows "not available" with the
# host's note; 1/5/0 and Tab change the window; q and Esc return to the
# list, which keeps running.
source "$(dirname "$0")/../integration/lib.sh"

INTERVAL=1.5
SPARK='[▁▂▃▄▅▆▇█]'

# guest_type VM LINE: type LINE into the guest's shell on its serial
# console, and stay connected until the shell has echoed it (QEMU reads the
# socket only as fast as the guest's UART takes it: a client gone at once
# may lose the rest).
guest_type() {
	python3 - "$VMTTY_RUNTIME_DIR/$(vm_uuid "$1" | cut -c1-8)/serial.sock" "$2" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(0.2)
s.sendall(b"\n" + sys.argv[2].encode() + b"\n")
buf, deadline = b"", time.time() + 20
while time.time() < deadline and sys.argv[2].encode() not in buf:
    try:
        buf += s.recv(4096)
    except socket.timeout:
        pass
sys.exit(0 if sys.argv[2].encode() in buf else 1)
EOF
}
# spark VM: the sparkline (the last run of block glyphs) on VM's row.
spark() { tui_screen | grep -E "^ +. $1 " | grep -oE "$SPARK+" | head -n 1; }
# last_glyph VM: the newest point of VM's CPU sparkline.
last_glyph() { spark "$1" | grep -oE "$SPARK" | tail -n 1; }
_last_in() { last_glyph "$1" | grep -qE "$2"; }
# _braille: braille dots on screen (U+2800..U+28FF: E2 A0..A3 xx).
_braille() { tui_screen | LC_ALL=C grep -q $'\xe2[\xa0-\xa3]'; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

t_status "create busy (1 vCPU, user networking)" 0 create_tiny busy
t_status "start busy and wait for its shell" 0 "$VMTTY" start busy --wait-serial "GUEST READY" \
	--timeout 90
t_status "add the libvirt test driver as host lvt" 0 "$VMTTY" host add lvt test:///default

# 1. The list at 80x24: the rows first, the sparklines within two intervals.
tui_start 80 24 "env VMTTY_STATS_INTERVAL=$INTERVAL $VMTTY"
tui_expect "the list shows busy running" '^ +. busy +running'
tui_expect "and test on lvt" '^ +. test +running'
t0=$(now_ms)
tui_expect "a CPU sparkline on test's row" "^ +. test +running .*$SPARK+ *\$" 10
t1=$(now_ms)
t_check "within two intervals (2 x ${INTERVAL} s) of the rows: $((t1 - t0)) ms" \
	python3 -c "import sys; sys.exit(($t1 - $t0) > 2 * $INTERVAL * 1000 + 500)"
tui_expect "and on busy's row" "^ +. busy +running .*$SPARK+ *\$" 10
t_check "the column is titled" _tui_has 'UPTIME CPU HISTORY'
t_check "no I/O column at 80 columns" _tui_lacks 'DISK I/O'

# The idle guest at the bottom (under 1/8 of the scale), then a busy loop:
# a quarter or more (the guest's vCPU gets what this machine's other work
# leaves it).
if wait_for 30 _last_in busy '[▁▂]'; then t_ok "idle busy's newest CPU point is low ($(spark busy))"
else t_fail "idle busy's newest CPU point is low ($(spark busy))"; fi
t_status "a busy loop typed into busy's shell" 0 guest_type busy 'while :; do :; done &'
if wait_for 20 _last_in busy '[▃▄▅▆▇█]'; then t_ok "busy loop: its newest CPU point is high ($(spark busy))"
else t_fail "busy loop: its newest CPU point is high ($(spark busy))"; fi

# 2. The graphs page at 80x24: two by two.
tui_keys / ; tui_type busy; tui_keys Enter
tui_expect "the list is filtered to busy" '^ +. busy '
tui_keys Home j g
tui_expect "g opens busy's graphs" 'Graphs of VM busy on local \(running\), every 1.5 s'
tui_expect "the CPU graph's axis in %" '^CPU +[0-9.]+ %.*Mem(ory)? +actual 256 MiB'
t_check "  up to 100 % or more" _tui_has '^ +(100|150|200) %┤'
t_check "  down to 0 %" _tui_has '^ +0 %┤'
t_check "memory in MiB" _tui_has '[0-9.]+ MiB┤'
t_check "disk in B/s" _tui_has '^ +[0-9.]+ (B|KiB|MiB)/s┤'
t_check "braille dots in the graphs" _braille
t_check "times under them: -1m, -30s, now" _tui_has '^ +-1m +-30s +now +-1m +-30s +now'
t_check "network: not available" _tui_has '┤ +not available'
t_check "  with the host's note" _tui_has 'QEMU keeps no'
t_check "the window tabs" _tui_has '^  1 min   5 min   10 min'
tui_keys 5
tui_expect "5: the last 5 minutes" '^ +-5m +-2m30s +now'
tui_keys 0
tui_expect "0: the last 10 minutes" '^ +-10m +-5m +now'
tui_keys Tab
tui_expect "Tab: back to 1 minute" '^ +-1m +-30s +now'

# 3. Resized to 200x60: stacked, quarter ticks, the same units.
tui_resize 200 60
tui_expect "200x60: the graphs stacked, memory on a line of its own" '^Memory +actual 256 MiB'
t_check "CPU labels in %" _tui_has '^ +0 %┤'
t_check "network not available" _tui_has 'not available'
t_check "quarters under the graphs" _tui_has '^ +-1m +-45s +-30s +-15s +now$'
t_check "braille" _braille
t_eq "four graphs (four x-axes)" 4 "$(tui_screen | grep -cE '^ +-1m +-45s')"

# 4. q returns to the list (the TUI keeps running), at 200 columns with
# the I/O column.
tui_keys q
tui_expect "q returns to the list" 'CPU HISTORY +DISK I/O'
tui_keys Escape
tui_wait_gone 'filter: '
tui_expect "a disk I/O sparkline on test's row too" "^ +. test +running .*$SPARK+ +$SPARK+ "

# 5. test's page (the test driver counts everything) and Esc.
tui_keys / ; tui_type test; tui_keys Enter
tui_expect "filtered to test" '^ +. test '
tui_keys Home j g
tui_expect "g opens test's graphs" 'Graphs of VM test on lvt \(running\)'
tui_expect "its network in KiB/s" '^Network +rx [0-9.]+ KiB/s +tx [0-9.]+ KiB/s'
t_check "  graphed, not unavailable" _tui_lacks 'not available'
tui_resize 80 24
tui_expect "back at 80x24: two by two again" '^Disk +read .* +Network +rx '
tui_keys Escape
tui_expect "Esc returns to the list" '^ +. test +running'
tui_keys q
tui_expect "q in the list quits" '\[exited 0\]'

# 6. Not UTF-8: ASCII sparklines.
tui_start 80 24 "env LANG=C LC_ALL=C VMTTY_STATS_INTERVAL=$INTERVAL $VMTTY"
tui_expect "without UTF-8: an ASCII sparkline on test's row" \
	'^ +> test +running .* [_.:=+*#-]{2,} *$' 10
t_check "  no block glyphs" _tui_lacks "$SPARK"
tui_keys q
tui_expect "q quits" '\[exited 0\]'
tui_kill

t_status "poweroff busy" 0 "$VMTTY" poweroff busy --wait
t_summary
