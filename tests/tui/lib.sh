# tmux helpers for driving the real vmtty binary: a private server
# (-L, -f /dev/null), a fixed size, keys sent with send-keys, and the
# screen read with capture-pane until a pattern shows or a deadline passes.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

TUI_SOCK="vmtty-test-$$"
TUI_T="tmux -L $TUI_SOCK -f /dev/null"

# Every TUI a test starts works on the test's own inventory and data dir,
# never the user's: a test may point these elsewhere, but not unset them.
export VMTTY_DB=${VMTTY_DB:-$T_TMP/inv.db} XDG_DATA_HOME=${XDG_DATA_HOME:-$T_TMP/data}

# The private environment a TUI runs with, as NAME=VALUE words for env.
_tui_env() {
	local v
	printf 'TERM=xterm-256color LANG=C.UTF-8'
	for v in VMTTY_DB XDG_DATA_HOME VMTTY_RUNTIME_DIR; do
		[ -z "${!v:-}" ] || printf ' %s=%q' "$v" "${!v}"
	done
}

_tui_no_server() { ! $TUI_T list-sessions >/dev/null 2>&1; }

# Stop the private tmux server and wait until it is really gone, so that a
# new session never lands on a dying server.
tui_kill() {
	$TUI_T kill-server 2>/dev/null || true
	wait_for 5 _tui_no_server
}

# tui_session NAME COLS ROWS CMD: CMD in another session NAME on the same
# server, e.g. a freshly started vmtty to compare a screen with.
tui_session() {
	local name=$1 cols=$2 rows=$3; shift 3
	$TUI_T new-session -d -s "$name" -x "$cols" -y "$rows" \
		"env $(_tui_env) $*; rc=\$?; printf '\\r\\n[exited %s]\\n' \$rc; sleep 600"
}

# tui_start COLS ROWS CMD: start CMD in a fresh session "t".
tui_start() {
	local cols=$1 rows=$2; shift 2
	tui_kill
	tui_session t "$cols" "$rows" "$@"
	$TUI_T set-option -g status off >/dev/null
	$TUI_T set-option -g remain-on-exit on >/dev/null
	t_on_exit "$TUI_T kill-server"
}

# tui_shell COLS ROWS: a plain shell in the session, to run commands in.
tui_shell() {
	local cols=$1 rows=$2
	tui_kill
	$TUI_T new-session -d -s t -x "$cols" -y "$rows" "env -i PATH=$PATH HOME=$HOME $(_tui_env) PS1='PROMPT\$ ' bash --norc --noprofile"
	$TUI_T set-option -g status off >/dev/null
	t_on_exit "$TUI_T kill-server"
}

tui_screen() { $TUI_T capture-pane -p -t "${1:-t}"; }
tui_keys() { $TUI_T send-keys -t t "$@"; }
# tui_keys_to TARGET KEYS...: keys for another session.
tui_keys_to() { local t=$1; shift; $TUI_T send-keys -t "$t" "$@"; }
# tui_flags [TARGET]: the pane's terminal modes as tmux sees them:
# "alternate-screen cursor-visible mouse-tracking", each 0 or 1.
tui_flags() { $TUI_T display -p -t "${1:-t}" '#{alternate_on} #{cursor_flag} #{mouse_any_flag}'; }
# tui_click X Y / tui_wheel up|down X Y: SGR mouse reports (1-based cells),
# as a terminal sends them to an application that turned the mouse on.
tui_click() {
	$TUI_T send-keys -t t -l $'\e'"[<0;$1;$2M"
	$TUI_T send-keys -t t -l $'\e'"[<0;$1;$2m"
}
tui_wheel() { $TUI_T send-keys -t t -l $'\e'"[<$([ "$1" = up ] && echo 64 || echo 65);$2;$3M"; }
# tui_names [TARGET]: the names of the VM rows on screen, top to bottom.
tui_names() { tui_screen "$@" | awk '/^  [^ ]+ [^ ]/ { print $2 }'; }
# tui_line_of REGEX: the 1-based screen line where REGEX first matches.
tui_line_of() { tui_screen | grep -En -m1 -- "$1" | cut -d: -f1; }
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
