#!/usr/bin/env bash
# `make install` with PREFIX and DESTDIR, unpacked as a package manager
# would: the installed vmtty finds its plugins in LIBDIR with no help from
# the environment; a copy of it (or of the one in the tree) beside planted
# plugins never loads them; VMTTY_PLUGIN_DIR replaces LIBDIR; a plugin
# built for another ABI number, or with none, is refused with a message
# that says so, for libvirt and VNC alike.  The systemd units are
# installed with ExecStart at the installed binary and pass
# systemd-analyze verify.
source "$(dirname "$0")/../lib.sh"

unset VMTTY_PLUGIN_DIR
ABI=$(sed -n 's/^#define VMTTY_PLUGIN_ABI \([0-9][0-9]*\)$/\1/p' "$T_ROOT/src/util/plugin.h")
t_check "the ABI number is in src/util/plugin.h (${ABI:-none})" test -n "$ABI"

# The same flags as the build under test: the ASan build links the sanitizer.
san=
readelf -d "$T_BUILD/vmtty" 2>/dev/null | grep -q 'libasan' && san=SAN=1
P=$T_TMP/prefix
t_status "make install PREFIX=$P DESTDIR=$T_TMP/stage" 0 \
	make -s -C "$T_ROOT" --no-print-directory BUILD="$T_BUILD" $san PREFIX="$P" \
	DESTDIR="$T_TMP/stage" install
[ "$T_OUT$T_ERR" = "" ] || printf '%s\n%s\n' "$T_OUT" "$T_ERR" | head -20
t_check "DESTDIR holds the binary and both plugins" test -x "$T_TMP/stage$P/bin/vmtty" \
	-a -f "$T_TMP/stage$P/lib/vmtty/vmtty-libvirt.so" -a -f "$T_TMP/stage$P/lib/vmtty/vmtty-vnc.so"
t_check "nothing was written outside DESTDIR" test ! -e "$P"
# Unpacked where PREFIX says, as a package would be.
mkdir -p "$P" && cp -a "$T_TMP/stage$P/." "$P/"

db=$T_TMP/inv.db
# shot DESC EXIT CMD...: a screenshot by CMD (vmtty, maybe under env) of
# tests/vnc/fake-vnc.py's well-behaved server: the VNC plugin is loaded
# once the server answers.
_ready() { grep -q READY "$T_TMP/fake.out"; }
shot() {
	local desc=$1 want=$2 pid; shift 2
	: >"$T_TMP/fake.out"
	python3 "$T_ROOT/tests/vnc/fake-vnc.py" "$T_TMP/fake.sock" good >"$T_TMP/fake.out" 2>&1 &
	pid=$!
	wait_for 10 _ready
	t_status "$desc" "$want" timeout 30 "$@" screenshot --vnc "unix:$T_TMP/fake.sock" "$T_TMP/x.png"
	kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
}
t_status "the installed vmtty adds a libvirt test host" 0 "$P/bin/vmtty" --db "$db" host add lab test:///default
t_status "and lists it, with no VMTTY_PLUGIN_DIR" 0 "$P/bin/vmtty" --db "$db" --log "$T_TMP/inst.log" list
t_match "the test driver's domain, running" 'lab +test +running ' "$T_OUT"
t_check "the plugin came from LIBDIR" grep -qF "plugin: loaded '$P/lib/vmtty/vmtty-libvirt.so'" "$T_TMP/inst.log"
shot "the installed VNC plugin takes a screenshot" 0 "$P/bin/vmtty"
t_match "of the fake server's screen" "Saved the screen of 'unix:.*' \(64x48\)" "$T_OUT$T_ERR"

# The systemd units of `vmtty serve --supervise`: in SYSTEMDDIR (PREFIX/lib/
# systemd), ExecStart at the installed binary, leaving the VMs to run when
# stopped, and clean for systemd-analyze verify (no warning either).
SU=$P/lib/systemd/system/vmtty-serve.service UU=$P/lib/systemd/user/vmtty-serve.service
t_check "the system and user units are installed" test -f "$SU" -a -f "$UU"
for u in "$SU" "$UU"; do
	t_match "  $(basename "$(dirname "$u")"): ExecStart is the installed vmtty serve --supervise" \
		"^ExecStart=$P/bin/vmtty serve --supervise\$" "$(cat "$u")"
	t_match "  $(basename "$(dirname "$u")"): KillMode=process (stopping it leaves the VMs)" \
		'^KillMode=process$' "$(cat "$u")"
done
if command -v systemd-analyze >/dev/null; then
	t_status "systemd-analyze verify: the system unit" 0 systemd-analyze verify --man=no "$SU"
	t_eq "  says nothing" "" "$T_OUT$T_ERR"
	mkdir -p -m 0700 "$T_TMP/xdg"
	t_status "systemd-analyze --user verify: the user unit" 0 \
		env XDG_RUNTIME_DIR="$T_TMP/xdg" systemd-analyze --user verify --man=no "$UU"
	t_eq "  says nothing" "" "$T_OUT$T_ERR"
else
	t_skip "systemd-analyze verify of the units" "systemd-analyze is not installed"
fi
t_status "make uninstall takes them away" 0 \
	make -s -C "$T_ROOT" --no-print-directory BUILD="$T_BUILD" $san PREFIX="$P" DESTDIR="$T_TMP/stage" uninstall
t_check "  from DESTDIR" test ! -e "$T_TMP/stage$SU" -a ! -e "$T_TMP/stage$UU"

# fake_plugin DIR NAME ABI|none: vmtty-NAME.so in DIR saying ABI (or no
# number), whose constructor leaves DIR/loaded-NAME behind.
fake_plugin() {
	local dir=$1 name=$2 abi=$3
	mkdir -p "$dir"
	{
		echo '#include <stdio.h>'
		echo "__attribute__((constructor)) static void mark(void)"
		echo "{ FILE *f = fopen(\"$dir/loaded-$name\", \"w\"); if (f) fclose(f); }"
		[ "$abi" = none ] || echo "const unsigned vmtty_plugin_abi = $abi;"
		echo 'const int hv_libvirt_ops = 0, vnc_plugin_ops = 0;'
	} >"$dir/fake-$name.c"
	cc -shared -fPIC -o "$dir/vmtty-$name.so" "$dir/fake-$name.c"
}

# Planted: plugins with the right ABI number beside a copy of the binary
# and in the directory above, where the old loader looked.
E=$T_TMP/evil
for d in "$E" "$E/bin"; do
	fake_plugin "$d" libvirt "$ABI"
	fake_plugin "$d" vnc "$ABI"
done
cp "$P/bin/vmtty" "$E/bin/vmtty"
t_status "a copy of the installed vmtty beside planted plugins lists the host" 0 \
	"$E/bin/vmtty" --db "$db" --log "$T_TMP/evil.log" list
t_match "with the real plugin's answer" 'lab +test +running ' "$T_OUT"
t_check "loaded from LIBDIR" grep -qF "plugin: loaded '$P/lib/vmtty/vmtty-libvirt.so'" "$T_TMP/evil.log"
shot "it takes a screenshot with the real VNC plugin" 0 "$E/bin/vmtty"
t_match "of the fake server's screen" "Saved the screen of 'unix:.*' \(64x48\)" "$T_OUT$T_ERR"
cp "$T_BUILD/vmtty" "$E/bin/vmtty"
t_status "a copy of the tree's vmtty there lists the host too" 0 "$E/bin/vmtty" --db "$db" list
t_match "with the real plugin's answer" 'lab +test +running ' "$T_OUT"
t_eq "no planted plugin was ever loaded" "" "$(cd "$E" && find . -name 'loaded-*')"

# Another ABI number, or none, through VMTTY_PLUGIN_DIR: refused.
A=$T_TMP/abi
fake_plugin "$A" libvirt $((ABI + 1))
fake_plugin "$A" vnc $((ABI + 1))
t_status "a libvirt plugin for ABI $((ABI + 1)): start fails" 1 \
	env VMTTY_PLUGIN_DIR="$A" "$P/bin/vmtty" --db "$db" start lab/test
t_match "saying which plugin, both numbers and what to do" \
	"host 'lab': libvirt support is not available: plugin '$A/vmtty-libvirt.so' is for ABI $((ABI + 1)), this vmtty needs $ABI; reinstall vmtty" \
	"$T_ERR"
shot "a VNC plugin for ABI $((ABI + 1)): screenshot fails" 1 env VMTTY_PLUGIN_DIR="$A" "$P/bin/vmtty"
t_match "saying so" "vnc support is not available: plugin '$A/vmtty-vnc.so' is for ABI $((ABI + 1)), this vmtty needs $ABI; reinstall vmtty" \
	"$T_ERR"
N=$T_TMP/noabi
fake_plugin "$N" libvirt none
t_status "a plugin with no ABI number: start fails" 1 \
	env VMTTY_PLUGIN_DIR="$N" "$P/bin/vmtty" --db "$db" start lab/test
t_match "saying it has none" "plugin '$N/vmtty-libvirt.so' has no ABI number .*; reinstall vmtty" "$T_ERR"
mkdir -p "$T_TMP/empty"
t_status "VMTTY_PLUGIN_DIR without the plugin: no fallback to LIBDIR" 1 \
	env VMTTY_PLUGIN_DIR="$T_TMP/empty" "$P/bin/vmtty" --db "$db" start lab/test
t_match "naming the path it tried" "cannot read '$T_TMP/empty/vmtty-libvirt.so'" "$T_ERR"
t_status "VMTTY_PLUGIN_DIR naming the installed plugins works" 0 \
	env VMTTY_PLUGIN_DIR="$P/lib/vmtty" "$E/bin/vmtty" --db "$db" list
t_match "the host's domain" 'lab +test +running ' "$T_OUT"

t_summary
