# tmux helpers for driving the real vmtty binary: a private server
# (-L, -f /dev/null), a fixed size, keys sent with send-keys, and the
# screen read with capture-pane until a pattern shows or a deadline passes.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

TUI_SOCK="vmtty-test-$$"
TUI_T="tmux -L $TUI_SOCK -f /dev/null"

_tui_no_server() { ! $TUI_T list-sessions >/dev/null 2>&1; }

# Stop the private tmux server and wait until it is really gone, so that a
# new session never lands on a dying server.
tui_kill() {
	$TUI_T kill-server 2>/dev/null || true
	wait_for 5 _tui_no_server
}

# tui_start COLS ROWS CMD: start CMD in a fresh session "t".
tui_start() {
	local cols=$1 rows=$2; shift 2
	tui_kill
	$TUI_T new-session -d -s t -x "$cols" -y "$rows" \
		"env TERM=xterm-256color LANG=C.UTF-8 $*; rc=\$?; printf '\\r\\n[exited %s]\\n' \$rc; sleep 600"
	$TUI_T set-option -g status off >/dev/null
	$TUI_T set-option -g remain-on-exit on >/dev/null
	t_on_exit "$TUI_T kill-server"
}

# tui_shell COLS ROWS: a plain shell in the session, to run commands in.
tui_shell() {
	local cols=$1 rows=$2
	tui_kill
	$TUI_T new-session -d -s t -x "$cols" -y "$rows" "env -i PATH=$PATH HOME=$HOME TERM=xterm-256color LANG=C.UTF-8 PS1='PROMPT\$ ' bash --norc --noprofile"
	$TUI_T set-option -g status off >/dev/null
	t_on_exit "$TUI_T kill-server"
}

tui_screen() { $TUI_T capture-pane -p -t t; }
tui_keys() { $TUI_T send-keys -t t "$@"; }
tui_type() { $TUI_T send-keys -t t -l "$*"; }
tui_resize() { $TUI_T resize-window -t t -x "$1" -y "$2"; }

_tui_has() { tui_screen | grep -Eq -- "$1"; }
_tui_lacks() { ! tui_screen | grep -Eq -- "$1"; }

# tui_wait PATTERN [SECONDS]: true when PATTERN appears on screen in time.
tui_wait() { wait_for "${2:-10}" _tui_has "$1"; }
# tui_wait_gone PATTERN [SECONDS]
tui_wait_gone() { wait_for "${2:-10}" _tui_lacks "$1"; }

# tui_expect DESC PATTERN [SECONDS]: an assertion over the screen.
tui_expect() {
	if tui_wait "$2" "${3:-10}"; then t_ok "$1"; else
		t_fail "$1"; echo "   screen wanted /$2/:"; tui_screen | sed 's/^/   | /'; fi
}
