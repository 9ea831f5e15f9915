#!/usr/bin/env bash
# The VNC display in real pixels, in a real sixel terminal: xterm -ti vt340
# under Xvfb runs vmtty, whose display pane shows the tiny guest's VGA text
# screen.  An X screenshot of the pane is compared with the framebuffer
# (vmtty screenshot) scaled to the same size: the sixel image scores high
# (the text is there), block symbols (VMTTY_GRAPHICS=symbols) far lower, and
# the list drawn after the pane closes keeps nothing of the picture.  Then
# the same in kitty (0.26, drawing with Mesa's llvmpipe in software): its
# own replies choose the kitty protocol, the image (zlib-compressed RGB, far
# smaller than raw RGBA) is the guest's screen, and it is deleted when the
# pane closes.
# Needs xvfb, xterm, imagemagick (import), xdotool and kitty
# (scripts/install-deps; without kitty its part is skipped).
source "$(dirname "$0")/../lib.sh"

missing=
for tool in Xvfb xterm import xdotool; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
	echo "   not installed:$missing (scripts/install-deps installs xvfb xterm imagemagick xdotool kitty)"
	t_skip "the display in a sixel terminal" "not installed:$missing"
	t_summary
	exit
fi
source "$(dirname "$0")/lib.sh"
VNC_TESTS="$T_ROOT/tests/vnc"
SIXEL_MIN_NCC=0.80	# the sixel pane against the framebuffer
SYMBOLS_MAX_NCC=0.60	# block symbols cannot show text

t_status "create g1 (graphics vnc)" 0 create_tiny g1 --cmdline "console=tty0 console=ttyS0" --graphics vnc
t_status "start g1" 0 "$VMTTY" start g1 --wait-serial "GUEST READY" --timeout 90

# A display of our own.
n=$((100 + $$ % 800))
while [ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ]; do n=$((n + 1)); done
Xvfb ":$n" -screen 0 1024x768x24 -nolisten tcp >"$T_TMP/xvfb.log" 2>&1 &
xvfb=$!
t_on_exit "kill $xvfb"
export DISPLAY=":$n"
t_check "Xvfb :$n is up" wait_for 10 test -S "/tmp/.X11-unix/X$n"

# The guest's screen, still for a second: the same PNG twice.
_still() {
	"$VMTTY" screenshot g1 "$T_TMP/ref.png" >/dev/null && sleep 1 &&
	"$VMTTY" screenshot g1 "$T_TMP/ref2.png" >/dev/null &&
	python3 "$VNC_TESTS/imgcmp.py" "$T_TMP/ref.png" "$T_TMP/ref2.png" 0 >/dev/null
}
t_check "the guest's text screen is still" wait_for 60 _still

XTERM_ARGS=(-ti vt340 -tn xterm-256color -xrm 'XTerm*decTerminalID: vt340'
	-xrm 'XTerm*numColorRegisters: 256' -b 0 +sb -geometry 130x40+0+0)
# Kitty draws with OpenGL 3.3: Mesa's llvmpipe, in software, under Xvfb.
KITTY_ARGS=(--config NONE -o linux_display_server=x11 -o remember_window_size=no -o initial_window_width=110c
	-o initial_window_height=40c -o window_padding_width=0 -o placement_strategy=top-left
	-o background=#000000 -o sync_to_monitor=no -o input_delay=0 -o repaint_delay=2)
# view NAME MODE [kitty]: vmtty in xterm (or kitty) with VMTTY_GRAPHICS=MODE,
# its display of g1 open (keys through the X server, as typed), logging to
# $T_TMP/NAME.log.
view() {
	local log="$T_TMP/$1.log" term=${3:-xterm}
	if [ "$term" = kitty ]; then
		# vmtty starts once kitty answers a query within 30 ms: kitty,
		# starting, answers later than vmtty's probe waits (100 ms) on a
		# loaded machine.
		LIBGL_ALWAYS_SOFTWARE=1 kitty "${KITTY_ARGS[@]}" python3 "$VNC_TESTS/termready.py" 30 30 \
			env VMTTY_GRAPHICS="$2" LANG=C.UTF-8 "$VMTTY" --log "$log" >"$T_TMP/$1.kitty.out" 2>&1 &
	else
		xterm "${XTERM_ARGS[@]}" -e env VMTTY_GRAPHICS="$2" LANG=C.UTF-8 "$VMTTY" --log "$log" &
	fi
	XTERM=$!
	t_on_exit "kill $XTERM 2>/dev/null"
	t_check "$1: vmtty starts in $term" wait_for 20 grep -qs 'ui: first frame' "$log"
	xdotool mousemove 300 200
	xdotool type --delay 30 /g1
	xdotool key Return
	xdotool type --delay 30 jv
}
log_lines() { grep -cs "$2" "$T_TMP/$1.log"; }
# settled MODE PATTERN: no new PATTERN line in the log for a second.
_same_count() { [ "$(log_lines "$1" "$2")" = "$3" ]; }
settled() { local c; c=$(log_lines "$1" "$2"); holds_for 1 _same_count "$1" "$2" "$c"; }
# redrawn MODE PATTERN: three more PATTERN lines in the log than now (30 s
# at most): the pane drawn over again.  While the pane is open the guest's
# text cursor blinks, a new frame each time (about twice a second), so the
# pane never "settles" (that wait used up its 30 s on every run).
_at_least() { [ "$(log_lines "$1" "$2")" -ge "$3" ]; }
redrawn() { local c; c=$(log_lines "$1" "$2"); wait_for 30 _at_least "$1" "$2" "$((c + 3))"; }
shot() { import -window root -depth 8 "$T_TMP/$1.ppm"; }
score() { python3 "$VNC_TESTS/imgsim.py" "$T_TMP/$1.ppm" "$T_TMP/ref.png" "${@:2}"; }
ncc_of() { sed -n 's/^ncc=\([0-9.-]*\) .*/\1/p' <<<"$1"; }
above() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) else 1)' "$1" "$2"; }
# shows NAME MIN X Y W H: a screenshot NAME of the X screen whose rectangle
# matches the framebuffer with an NCC above MIN; gone NAME MAX X Y W H: one
# whose NCC is below MAX.  The last score stays in $out.  Polled: a terminal
# drawing in software on a loaded machine paints a while after the last
# byte reached it.
shows() { shot "$1"; out=$(score "$1" "${@:3}"); above "$(ncc_of "$out")" "$2"; }
gone() { shot "$1"; out=$(score "$1" "${@:3}"); above "$2" "$(ncc_of "$out")"; }

# 1. Sixel.
view sixel auto
t_check "sixel: xterm's replies chose sixel" wait_for 10 grep -q 'termgfx: sixel: the terminal.s device attributes list 4' "$T_TMP/sixel.log"
t_check "sixel: an image reaches the terminal" wait_for 30 grep -q 'termgfx: [0-9]* bytes of sixel' "$T_TMP/sixel.log"
redrawn sixel 'bytes of sixel'
read -r cw ch < <(sed -n 's/.*termgfx: sixel: .*; cell \([0-9]*\)x\([0-9]*\) px.*/\1 \2/p' "$T_TMP/sixel.log")
read -r r c w h < <(grep 'bytes of sixel' "$T_TMP/sixel.log" | tail -1 |
	sed 's/.* at \([0-9]*\),\([0-9]*\) (\([0-9]*\)x\([0-9]*\) cells).*/\1 \2 \3 \4/')
echo "   cell ${cw}x${ch} px; image at row $r col $c, ${w}x${h} cells"
# Sixel images are whole bands of 6 pixel rows.
rect=("$((c * cw))" "$((r * ch))" "$((w * cw))" "$((h * ch / 6 * 6))")
wait_for 30 shows sixel "$SIXEL_MIN_NCC" "${rect[@]}"
echo "   sixel pane vs framebuffer: $out (rect ${rect[*]})"
sixel_ncc=$(ncc_of "$out")
t_check "sixel: the pane is the guest's screen (NCC > $SIXEL_MIN_NCC)" above "$sixel_ncc" "$SIXEL_MIN_NCC"
bytes=$(grep 'bytes of sixel' "$T_TMP/sixel.log" | tail -1 | sed 's/.*termgfx: \([0-9]*\) bytes.*/\1/')
echo "   one frame: $bytes bytes of sixel"

# 2. Back to the list: nothing of the picture stays.
xdotool key ctrl+bracketright
xdotool type l
t_check "sixel: back on the list" wait_for 30 settled sixel 'ui: frame drawn'
wait_for 30 gone list 0.3 "${rect[@]}"
echo "   the list where the pane was vs framebuffer: $out"
t_check "sixel: after the pane closes the picture is gone (NCC < 0.3)" above 0.3 "$(ncc_of "$out")"
kill "$XTERM" 2>/dev/null
wait "$XTERM" 2>/dev/null

# 3. The same screen with block symbols.
view symbols symbols
t_check "symbols: the pane is drawn" wait_for 30 grep -q "vnc: VM 'g1': symbols in the pane" "$T_TMP/symbols.log"
redrawn symbols 'ui: frame drawn'
read -r r c w h < <(grep "vnc: VM 'g1': symbols in the pane" "$T_TMP/symbols.log" | tail -1 |
	sed 's/.* at \([0-9]*\),\([0-9]*\) (\([0-9]*\)x\([0-9]*\) cells).*/\1 \2 \3 \4/')
# The pane starts below the title line.
rect=("$((c * cw))" "$(((r + 1) * ch))" "$((w * cw))" "$((h * ch))")
# Until xterm has painted the pane the rectangle is black or the list, which
# would pass the check below for nothing: wait (30 s at most) until it looks
# somewhat like the guest's screen (the symbols score about 0.4, the list
# and black about 0).
wait_for 30 shows symbols 0.2 "${rect[@]}"
echo "   symbols pane vs framebuffer: $out (rect ${rect[*]})"
t_check "symbols: far lower (NCC < $SYMBOLS_MAX_NCC)" above "$SYMBOLS_MAX_NCC" "$(ncc_of "$out")"
kill "$XTERM" 2>/dev/null
wait "$XTERM" 2>/dev/null

# 4. Kitty, when it is installed: its own replies choose the kitty
# protocol; the image (zlib-compressed RGB) is the guest's screen and is
# deleted when the pane closes.
if ! command -v kitty >/dev/null 2>&1; then
	t_skip "the display in kitty" "kitty is not installed (apt-get install kitty)"
else
	view kitty auto kitty
	t_check "kitty: kitty's replies chose the kitty protocol" wait_for 10 \
		grep -q 'termgfx: kitty: the terminal answered the kitty graphics query' "$T_TMP/kitty.log"
	sed -n 's/.*\(termgfx: .*\)/   \1/p' "$T_TMP/kitty.log" | head -2
	t_check "kitty: an image reaches the terminal" wait_for 30 grep -q 'termgfx: [0-9]* bytes of kitty' "$T_TMP/kitty.log"
	# Kitty draws on its next repaint, a moment after the last write:
	# the picture is polled below (shows).
	redrawn kitty 'bytes of kitty'
	read -r cw ch < <(sed -n 's/.*termgfx: kitty: .*; cell \([0-9]*\)x\([0-9]*\) px.*/\1 \2/p' "$T_TMP/kitty.log")
	read -r r c w h < <(grep 'bytes of kitty' "$T_TMP/kitty.log" | tail -1 |
		sed 's/.* at \([0-9]*\),\([0-9]*\) (\([0-9]*\)x\([0-9]*\) cells).*/\1 \2 \3 \4/')
	echo "   cell ${cw}x${ch} px; image at row $r col $c, ${w}x${h} cells"
	rect=("$((c * cw))" "$((r * ch))" "$((w * cw))" "$((h * ch))")
	wait_for 30 shows kitty "$SIXEL_MIN_NCC" "${rect[@]}"
	echo "   kitty pane vs framebuffer: $out (rect ${rect[*]})"
	t_check "kitty: the pane is the guest's screen (NCC > $SIXEL_MIN_NCC)" above "$(ncc_of "$out")" "$SIXEL_MIN_NCC"
	bytes=$(grep 'bytes of kitty' "$T_TMP/kitty.log" | tail -1 | sed 's/.*termgfx: \([0-9]*\) bytes.*/\1/')
	echo "   one frame: $bytes bytes of kitty"
	# Raw RGBA in base64 (chafa's kitty output) would be 16/3 bytes a pixel.
	t_check "kitty: a frame is compressed (under 1/8 of raw RGBA's $((w * cw * h * ch * 16 / 3)) bytes)" \
		test "${bytes:-999999999}" -lt "$((w * cw * h * ch * 16 / 3 / 8))"
	xdotool key ctrl+bracketright
	xdotool type l
	t_check "kitty: back on the list" wait_for 30 settled kitty 'ui: frame drawn'
	wait_for 30 gone kitty-list 0.3 "${rect[@]}"
	echo "   the list where the pane was vs framebuffer: $out"
	t_check "kitty: after the pane closes the picture is gone (NCC < 0.3)" above 0.3 "$(ncc_of "$out")"
	kill "$XTERM" 2>/dev/null
	wait "$XTERM" 2>/dev/null
fi

"$VMTTY" poweroff g1 --wait >/dev/null 2>&1
t_summary
