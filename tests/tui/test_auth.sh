#!/usr/bin/env bash
# A libvirt host that asks for a login, under the TUI (the test driver's
# <auth>: a user name, then a password, through virConnectOpenAuth): the
# questions are overlays, never reads of the terminal curses owns, and the
# password is never drawn.  The connect waits for the answer however long
# it takes (no connect timeout meanwhile) while other hosts stay usable;
# Esc leaves the host unreachable and not asked again until r; quitting
# with a question open exits at once.
source "$(dirname "$0")/lib.sh"

export VMTTY_DB="$T_TMP/inv.db"
cat >"$T_TMP/auth.xml" <<'XML'
<node><auth><user password='s3cret'>alice</user></auth>
<domain type='test'><name>locked</name><memory>262144</memory><vcpu>1</vcpu>
<os><type>hvm</type></os></domain></node>
XML
"$VMTTY" host add auth "test://$T_TMP/auth.xml" >/dev/null
"$VMTTY" host add plain test:///default >/dev/null

_still_asking() { _tui_has 'auth .*logging in: waiting for your answer' && _tui_lacks 'auth .*unreachable'; }

tui_start 200 30 "$VMTTY"
tui_expect "the login question is an overlay" "Log in to host 'auth'" 10
tui_expect "it asks for the user name, naming the URI" "Enter username for localhost \(test://$T_TMP/auth.xml\)" 2
tui_expect "the host row says it waits for the answer" 'auth .*logging in: waiting for your answer' 2
tui_expect "the other host is up meanwhile" '▶ test +running' 10
t_check "still asking after 12 s: no connect timeout (10 s) while the user answers" \
	holds_for 12 _still_asking
tui_type alice
tui_keys Enter
tui_expect "then the password" "Enter alice's password for localhost" 5
tui_type s3cret
tui_expect "the password prompt says typing is not shown" 'not shown' 2
t_check "the password is never on screen" _tui_lacks s3cret
tui_keys Enter
tui_expect "logged in: the host's domain is listed" '▶ locked +running' 10
t_check "the overlay is gone" _tui_lacks 'Log in to host'
tui_keys q
tui_expect "the TUI exits 0" '\[exited 0\]' 5

# Esc: unreachable, and not asked again by itself; r asks again.
tui_start 200 30 "$VMTTY"
tui_expect "a new TUI asks again" 'Enter username for localhost' 10
tui_keys Escape
tui_expect "Esc: the host is unreachable because the login was cancelled" \
	'auth .*unreachable: .*you cancelled the login \(r tries again\)' 5
tui_expect "the status line says r tries again" "Host 'auth': login cancelled; r tries again" 2
t_check "no question comes back by itself (4 s: past the 1 s and 2 s retries)" \
	holds_for 4 _tui_lacks 'Log in to host'
tui_keys r
tui_expect "r asks again" 'Enter username for localhost' 5
# A wrong password is refused by the host, which stays unreachable.
tui_type alice
tui_keys Enter
tui_expect "the password again" "Enter alice's password" 5
tui_type wrong
tui_keys Enter
tui_expect "a wrong password: unreachable with libvirt's reason" 'auth .*unreachable: .*(auth|password|fail)' 5
# Quitting with a question open: the waiting connect is answered "no".
tui_wait "Log in to host 'auth'" 10 || tui_keys r
tui_expect "asked again (the retry after a failed login)" "Log in to host 'auth'" 10
tui_keys C-c
tui_expect "quitting with a question open exits 0 at once" '\[exited 0\]' 3

# The migration dialog logs in once: its preflight's connections are the
# move's (the test driver passes the preflight and cannot migrate).
echo '<node/>' >"$T_TMP/empty.xml"
"$VMTTY" host add B "test://$T_TMP/empty.xml" >/dev/null
tui_start 200 30 "$VMTTY"
tui_expect "the TUI asks for the login" 'Enter username for localhost' 10
tui_type alice; tui_keys Enter
tui_expect "and the password" "Enter alice's password" 5
tui_type s3cret; tui_keys Enter
tui_expect "the domain is listed" '▶ locked +running' 10
tui_keys / ; tui_type locked; tui_keys Enter
tui_expect "the list is filtered to locked" '^ +. locked '
tui_keys Home j m
tui_expect "m opens the migration dialog" 'Migrate VM locked from host auth'
tui_keys Enter
tui_expect "the preflight logs in to auth (its own connection)" 'Enter username for localhost' 10
tui_type alice; tui_keys Enter
tui_expect "password" "Enter alice's password" 5
tui_type s3cret; tui_keys Enter
tui_expect "the findings" 'Preflight of VM locked to host B:' 10
tui_keys y
tui_expect "the move runs on the preflight's connections, asking nothing more" \
	"VM 'locked' did not move to host 'B': this function is not supported" 10
t_check "no login question came" _tui_lacks 'Log in to host'
tui_keys q
tui_expect "the TUI exits 0" '\[exited 0\]' 5

t_summary
