# Shared shell test helpers: assertions that count, and polling with a
# deadline (never a bare sleep).  Source it; call t_summary at the end.
# Each test file prints "ok"/"not ok" lines and a final "N passed, N failed",
# followed by ", N skipped" when checks were skipped (t_skip).

T_PASS=0
T_FAIL=0
T_SKIP=0
T_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
T_BUILD=${T_BUILD:-$T_ROOT/build}
VMTTY=${VMTTY:-$T_BUILD/vmtty}
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmtty-test.XXXXXX")
trap 't_cleanup' EXIT
T_CLEANUPS=()

# The suites start python3 hundreds of times (JSON fields, sockets).  The
# python3 on PATH may be a version manager's shim (pyenv's is a bash
# script: about 1 s a start on a busy 2-core machine, against 0.1 s);
# Debian's, which scripts/install-deps gives its modules (python3-yaml),
# goes first on PATH, for the scripts' "#!/usr/bin/env python3" too.
if [ -x /usr/bin/python3 ] && [ "$(command -v python3)" != /usr/bin/python3 ]; then
	mkdir "$T_TMP/.python" && ln -s /usr/bin/python3 "$T_TMP/.python/python3" &&
		PATH="$T_TMP/.python:$PATH"
fi

t_on_exit() { T_CLEANUPS+=("$*"); }

t_cleanup() {
	local i
	for ((i = ${#T_CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${T_CLEANUPS[i]}" >/dev/null 2>&1 || true
	done
	rm -rf "$T_TMP"
}

t_ok() { T_PASS=$((T_PASS + 1)); echo "ok - $*"; }
t_fail() { T_FAIL=$((T_FAIL + 1)); echo "not ok - $*"; }

# t_skip DESC REASON: a check that cannot run here (say, test data that is
# not next to the repository); counted apart, never a failure.
t_skip() { T_SKIP=$((T_SKIP + 1)); echo "ok - $1 # SKIP $2"; }

# t_check DESC CMD...: passes when CMD succeeds.
t_check() {
	local desc=$1; shift
	if "$@"; then t_ok "$desc"; else t_fail "$desc"; fi
}

# t_eq DESC EXPECTED ACTUAL
t_eq() {
	if [ "$2" = "$3" ]; then t_ok "$1"; else
		t_fail "$1"; printf '   expected: %s\n   actual:   %s\n' "$2" "$3"; fi
}

# t_match DESC REGEX TEXT
t_match() {
	if printf '%s' "$3" | grep -Eq -- "$2"; then t_ok "$1"; else
		t_fail "$1"; printf '   wanted /%s/ in:\n%s\n' "$2" "$3" | head -20; fi
}

# t_nomatch DESC REGEX TEXT
t_nomatch() {
	if printf '%s' "$3" | grep -Eq -- "$2"; then
		t_fail "$1"; printf '   unwanted /%s/ in:\n%s\n' "$2" "$3" | head -20; else t_ok "$1"; fi
}

# t_status DESC EXPECTED_RC CMD...: runs CMD, keeps stdout in T_OUT and
# stderr in T_ERR, checks the exit status.
t_status() {
	local desc=$1 want=$2 rc; shift 2
	"$@" >"$T_TMP/out" 2>"$T_TMP/err"; rc=$?
	T_OUT=$(cat "$T_TMP/out"); T_ERR=$(cat "$T_TMP/err")
	if [ "$rc" = "$want" ]; then t_ok "$desc"; else
		t_fail "$desc (exit $rc, wanted $want)"; printf '   stderr: %s\n' "$T_ERR" | head -5; fi
}

# wait_for SECONDS CMD...: poll CMD every 50 ms until it succeeds.
wait_for() {
	local secs=$1 deadline; shift
	deadline=$(($(date +%s%N) + secs * 1000000000))
	while [ "$(date +%s%N)" -lt "$deadline" ]; do
		"$@" && return 0
		read -rt 0.05 <> <(:) || true
	done
	"$@"
}

# holds_for SECONDS CMD...: CMD keeps succeeding for SECONDS, polled every
# 100 ms; false as soon as it fails (a "nothing happens" check).
holds_for() {
	local secs=$1 deadline; shift
	deadline=$(($(date +%s%N) + secs * 1000000000))
	while [ "$(date +%s%N)" -lt "$deadline" ]; do
		"$@" || return 1
		read -rt 0.1 <> <(:) || true
	done
	"$@"
}

# hugepages_lock: the kernel's hugepage pool is one for the whole machine;
# a test that changes nr_hugepages takes this lock first (held until it
# exits), so that two suites never count each other's pages.
hugepages_lock() {
	exec {_hp_lock}>/tmp/vmtty-hugepages.lock
	flock -w 300 "$_hp_lock" || t_fail "the hugepages lock (/tmp/vmtty-hugepages.lock) within 300 s"
}

t_summary() {
	if [ "$T_SKIP" -gt 0 ]; then echo "$T_PASS passed, $T_FAIL failed, $T_SKIP skipped"
	else echo "$T_PASS passed, $T_FAIL failed"; fi
	[ "$T_FAIL" -eq 0 ]
}
