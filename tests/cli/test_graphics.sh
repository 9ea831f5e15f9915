#!/usr/bin/env bash
# What the terminal can show (vmtty doctor, and the TUI's own probe at
# start): a terminal that answers nothing is given up on within 150 ms and
# gets block symbols; recorded sixel and kitty replies choose those modes;
# tmux without passthrough gives symbols and says why; VMTTY_GRAPHICS
# overrides.  tests/vnc/faketerm.py is a pty that answers as told.
source "$(dirname "$0")/../tui/lib.sh"

FAKETERM="$T_ROOT/tests/vnc/faketerm.py"
# probe_ms TEXT: the probe time 'vmtty doctor' printed, in whole ms.
probe_ms() { sed -n 's/^probe: *\([0-9]*\)\.[0-9] ms.*/\1/p' <<<"$1"; }
under_150() { [ -n "$1" ] && [ "$1" -lt 150 ]; }

# 1. A pty that never answers.
out=$(python3 "$FAKETERM" silent "$VMTTY" doctor)
ms=$(probe_ms "$out")
echo "   silent terminal: probe ${ms} ms"
t_check "a silent terminal: detection gives up within 150 ms" under_150 "$ms"
t_match "and says no reply came" 'probe: .*no reply' "$out"
t_match "and uses block symbols" 'graphics: +symbols: the terminal answered no query in time' "$out"

# The TUI's own probe on the same silent pty, measured in its log.
log="$T_TMP/tui.log"
t_status "the TUI on a silent terminal draws its frames and exits 0" 0 \
	python3 "$FAKETERM" silent "$VMTTY" --db "$T_TMP/inv.db" --log "$log" --frames 3
us=$(sed -n 's/.*termgfx: probe took \([0-9]*\) us.*/\1/p' "$log")
echo "   TUI on a silent terminal: probe ${us} us"
t_check "the TUI's probe gives up within 150 ms" under_150 "$((${us:-999999} / 1000))"
t_match "the TUI uses block symbols" 'termgfx: symbols: the terminal answered no query' "$(cat "$log")"
t_match "the TUI drew its list after the probe" 'ui: first frame' "$(cat "$log")"

# 2. Recorded replies: xterm -ti vt340 (sixel), kitty.
out=$(python3 "$FAKETERM" sixel "$VMTTY" doctor)
t_match "xterm's replies: sixel" 'graphics: +sixel: the terminal.s device attributes list 4' "$out"
t_match "with its limits" 'sixel limits: 800x480 pixels, 256 colour registers' "$out"
t_match "and the cell size from CSI 16 t" 'cell: +8x16 pixels \(CSI 16 t\)' "$out"
ms=$(probe_ms "$out")
t_check "an answering terminal takes far less than the deadline" test "${ms:-999}" -lt 50
out=$(python3 "$FAKETERM" kitty "$VMTTY" doctor)
t_match "kitty's replies: kitty" 'graphics: +kitty: the terminal answered the kitty graphics query' "$out"
out=$(python3 "$FAKETERM" slow "$VMTTY" doctor)
t_match "replies after the deadline: symbols" 'graphics: +symbols' "$out"
t_check "and no wait for them" under_150 "$(probe_ms "$out")"

# 3. VMTTY_GRAPHICS.
out=$(VMTTY_GRAPHICS=symbols python3 "$FAKETERM" sixel "$VMTTY" doctor)
t_match "VMTTY_GRAPHICS=symbols: no probe" 'probe: +not made' "$out"
t_match "VMTTY_GRAPHICS=symbols: symbols" 'graphics: +symbols: VMTTY_GRAPHICS=symbols' "$out"
out=$(VMTTY_GRAPHICS=sixel python3 "$FAKETERM" silent "$VMTTY" doctor)
t_match "VMTTY_GRAPHICS=sixel on a silent terminal: sixel" 'graphics: +sixel: VMTTY_GRAPHICS=sixel' "$out"
t_match "the cell size from the tty" 'cell: +8x16 pixels \(TIOCGWINSZ\)' "$out"
out=$(VMTTY_GRAPHICS=pictures python3 "$FAKETERM" sixel "$VMTTY" doctor)
t_match "a bad VMTTY_GRAPHICS is named, and auto used" \
	"graphics: +sixel: VMTTY_GRAPHICS='pictures' is none of auto" "$out"
out=$(TERM=dumb python3 "$FAKETERM" sixel env TERM=dumb "$VMTTY" doctor)
t_match "TERM=dumb: nothing asked, symbols" "graphics: +symbols: TERM is 'dumb'" "$out"
t_status "doctor takes no operands" 2 "$VMTTY" doctor extra

# 4. tmux without passthrough (tmux answers device attributes itself, and
# drops what is wrapped for the outer terminal).
tui_start 100 30 "$VMTTY" doctor
tui_expect "under tmux: symbols, and why" 'under tmux, and the outer terminal did not answer'
tui_expect "tmux's own attributes were seen" 'device attributes \(tmux\): class'
ms=$(probe_ms "$(tui_screen)")
echo "   under tmux: probe ${ms} ms"
t_check "under tmux: detection gives up within 150 ms" under_150 "$ms"
log2="$T_TMP/tui2.log"
tui_start 100 30 "$VMTTY" --db "$T_TMP/inv.db" --log "$log2"
tui_expect "the TUI starts under tmux" 'q Quit|Quit'
t_match "the TUI under tmux uses symbols, saying why" \
	'termgfx: symbols: under tmux, and the outer terminal did not answer' "$(cat "$log2")"
us=$(sed -n 's/.*termgfx: probe took \([0-9]*\) us.*/\1/p' "$log2")
echo "   TUI under tmux: probe ${us} us"
t_check "the TUI's probe under tmux gives up within 150 ms" under_150 "$((${us:-999999} / 1000))"
tui_keys q
t_summary
