#!/usr/bin/env bash
# Honest output: names that are not UTF-8 or hold controls are refused;
# names a libvirt host sends (CR, TAB, C1, "..", "-rf") are shown escaped
# in plain output and as valid JSON; every error is one line.
source "$(dirname "$0")/../lib.sh"

export VMTTY_DB="$T_TMP/inv.db" XDG_CONFIG_HOME="$T_TMP/config"
export XDG_RUNTIME_DIR="$T_TMP/run"
DATA="$T_ROOT/tests/data"

# strict_json: stdin is UTF-8 (strict) JSON.
strict_json() {
	python3 -c 'import json, sys; json.loads(sys.stdin.buffer.read().decode("utf-8"))'
}
# one_line TEXT: TEXT is UTF-8, one line, without control characters
# (C0 such as CR, TAB or ESC, DEL, C1).
one_line() {
	printf '%s' "$1" | python3 -c '
import sys
b = sys.stdin.buffer.read()
s = b.decode("utf-8")
sys.exit(0 if "\n" not in s and not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in s) else 1)'
}

# 1. Names that are not UTF-8, or hold C0/C1 controls or characters that
# do not show as themselves, are refused by the one name rule, with the bad bytes shown escaped.
t_status "create with a name that is not UTF-8 exits 1" 1 \
	"$VMTTY" create $'bad\xff' --kernel /bin/true --memory 64
t_match "names the bad byte escaped" "VM name 'bad\\\\xff' is not valid UTF-8" "$T_ERR"
t_check "that error is one line of text" one_line "$T_ERR"
t_status "create with a C1 control (U+009B) exits 1" 1 \
	"$VMTTY" create $'a\xc2\x9b2J' --kernel /bin/true --memory 64
t_match "shows it as \\u009b" "'a\\\\u009b2J' contains U\\+009B \\(a control character\\)" "$T_ERR"
t_status "create with a newline exits 1" 1 "$VMTTY" create $'two\nlines' --kernel /bin/true
t_check "that error is one line" one_line "$T_ERR"
# Characters that do not show as themselves: a bidi override, a zero-width
# space, a BOM, an isolate; refused with their code point, in one line
# with no raw bidi or zero-width character in it, and nothing is made.
no_hidden() {
	printf '%s' "$1" | python3 -c '
import sys, unicodedata
s = sys.stdin.buffer.read().decode("utf-8")
sys.exit(0 if not any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") and c != "\n" for c in s) else 1)'
}
t_status "create with U+202E (right-to-left override) exits 1" 1 \
	"$VMTTY" create $'evil\xe2\x80\xaegpj.exe' --kernel /bin/true --memory 64
t_match "one line naming the code point and what it is" \
	"^vmtty: (name: )?VM name 'evil\\\\u202egpj\\.exe' contains U\\+202E \\(a bidirectional control character\\); use printable characters$" \
	"$T_ERR"
t_check "one line" one_line "$T_ERR"
t_check "with nothing invisible in it" no_hidden "$T_ERR"
t_status "create with U+200B (zero width space) exits 1" 1 \
	"$VMTTY" create $'web\xe2\x80\x8b1' --kernel /bin/true --memory 64
t_match "names U+200B" "'web\\\\u200b1' contains U\\+200B \(an invisible format character\)" "$T_ERR"
t_status "create with U+FEFF exits 1" 1 "$VMTTY" create $'\xef\xbb\xbfweb' --kernel /bin/true
t_match "names U+FEFF" "contains U\\+FEFF" "$T_ERR"
t_status "create with U+2066 exits 1" 1 "$VMTTY" create $'a\xe2\x81\xa6b' --kernel /bin/true
t_match "names U+2066" "contains U\\+2066 \(a bidirectional control character\)" "$T_ERR"
t_status "host add with U+200F exits 1" 1 "$VMTTY" host add $'lab\xe2\x80\x8f' test:///default
t_match "names U+200F" "host name 'lab\\\\u200f' contains U\\+200F \(a bidirectional control character\)" "$T_ERR"
t_status "host add with U+202E in its URI exits 1" 1 "$VMTTY" host add lab2 $'test:///def\xe2\x80\xaeault'
t_match "names U+202E" "host URI 'test:///def\\\\u202eault' contains U\\+202E \\(a bidirectional control character\\)" "$T_ERR"
t_status "list --json after them" 0 "$VMTTY" list --json
t_eq "no VM was made" "[]" "$T_OUT"
t_status "host list" 0 "$VMTTY" host list
t_check "no host was made" sh -c "! grep -q lab '$T_TMP/out'"
t_status "a good UTF-8 name is created" 0 "$VMTTY" create $'caf\xc3\xa9' --kernel /bin/true --memory 64
t_status "list --json" 0 "$VMTTY" list --json
t_check "list --json is UTF-8 JSON" strict_json <<<"$T_OUT"

# 2. User input in usage and lookup errors: escaped, one line.
t_status "show of a name with CR and ESC exits 1" 1 "$VMTTY" show $'x\r\033[2Jy'
t_match "quoted escaped" "no VM named 'x\\\\r\\\\x1b\\[2Jy'" "$T_ERR"
t_check "one line" one_line "$T_ERR"
t_status "unknown command with a newline exits 2" 2 "$VMTTY" $'fro\nb'
t_match "quoted escaped" "unknown command 'fro\\\\nb'" "$T_ERR"

# 3. A libvirt host whose domain names hold CR, TAB, C1, a newline, "..",
# "-rf": plain output keeps one line per VM with the controls escaped.
t_status "host add of the hostile host" 0 \
	"$VMTTY" host add evil "test://$DATA/libvirt/hostile-names.xml"
t_status "list --host evil" 0 "$VMTTY" list --host evil
t_eq "one header and six VM lines" 7 "$(printf '%s\n' "$T_OUT" | wc -l)"
t_check "no raw CR, TAB, ESC or C1 in the list" python3 -c '
import sys
s = open(sys.argv[1], "rb").read().decode("utf-8")
sys.exit(0 if not any(ord(c) < 32 and c != "\n" or 127 <= ord(c) < 160 for c in s) else 1)' "$T_TMP/out"
t_match "CR shown as \\r" '^evil +cr\\rspoof +running ' "$T_OUT"
t_match "TAB shown as \\t" '^evil +tab\\tcol +running ' "$T_OUT"
t_match "C1 shown as \\u009b" '^evil +c1\\u009b2J +running ' "$T_OUT"
t_match "a newline cannot fake a row" '^evil +nl\\nfake  running +running ' "$T_OUT"
t_match "'..' is listed in its column" '^evil +\.\. +running ' "$T_OUT"
t_match "'-rf' is listed in its column" '^evil +-rf +running ' "$T_OUT"
t_status "list --json of that host" 0 "$VMTTY" list --host evil --json
t_check "is UTF-8 JSON" strict_json <<<"$T_OUT"
t_eq "names come back exact through JSON" "$(printf '%s\n' -rf .. $'c1\xc2\x9b2J' \
	$'cr\rspoof' $'nl\nfake  running' $'tab\tcol' | od -c)" \
	"$(printf '%s' "$T_OUT" | python3 -c '
import json, sys
for v in json.loads(sys.stdin.buffer.read().decode("utf-8")):
	sys.stdout.buffer.write(v["name"].encode("utf-8") + b"\n")' | od -c)"
t_status "show of the CR domain by its name" 0 "$VMTTY" show $'evil/cr\rspoof'
t_match "Name line escaped" '^Name: +cr\\rspoof$' "$T_OUT"

# 3b. show --xml prints a host's domain XML: a <title> and <description>
# holding a C1 CSI (U+009B), DEL and CR reach the terminal escaped, while
# the XML keeps its lines and tabs.  (ESC and BEL cannot come through the
# test driver: libxml2 refuses them in XML 1.0 and libvirt drops C0 when
# it formats; a hostile host could still send them, and they are escaped
# by the same rule, see unit/test_str.)  show --json of a name with a C1
# control is JSON with that control as \u009b, never raw.
cat >"$T_TMP/desc.xml" <<EOF
<node>
  <domain type='test'>
    <name>desc</name>
    <title>T&#x9b;2J&#x7f;t</title>
    <description>line one&#x9b;0;pwned&#13;x&#x7f;
	tabbed line two</description>
    <memory unit='MiB'>64</memory>
    <os><type>hvm</type></os>
  </domain>
</node>
EOF
no_raw_controls() {
	python3 -c '
import sys
s = open(sys.argv[1], "rb").read().decode("utf-8")
sys.exit(0 if not any(ord(c) < 32 and c not in "\n\t" or 127 <= ord(c) < 160 for c in s) else 1)' "$1"
}
t_status "host add of a host with a hostile description" 0 "$VMTTY" host add dsc "test://$T_TMP/desc.xml"
t_status "list --host dsc finds its domain" 0 "$VMTTY" list --host dsc
t_status "show --xml of its domain" 0 "$VMTTY" show dsc/desc --xml
t_check "no raw C0 (but newline, tab), DEL or C1 in the XML shown" no_raw_controls "$T_TMP/out"
t_match "the title's C1 and DEL shown escaped" '<title>T\\u009b2J\\x7ft</title>' "$T_OUT"
t_match "the description's too, CR as \\r" '<description>line one\\u009b0;pwned\\rx\\x7f$' "$T_OUT"
t_match "its second line keeps its tab" $'^\ttabbed line two</description>$' "$T_OUT"
t_check "the XML keeps its lines" test "$(wc -l <"$T_TMP/out")" -gt 5
t_status "show --json of the C1 domain" 0 "$VMTTY" show $'evil/c1\xc2\x9b2J' --json
t_check "is UTF-8 JSON" strict_json <"$T_TMP/out"
t_check "with no raw DEL or C1" no_raw_controls "$T_TMP/out"
t_match "the C1 control is a JSON escape" '"name": "c1\\u009b2J"' "$T_OUT"
t_status "list --json of that host" 0 "$VMTTY" list --host evil --json
t_check "has no raw DEL or C1 either" no_raw_controls "$T_TMP/out"

# 4. A name that is not UTF-8 in the inventory (as a host could send):
# JSON stays valid (U+FFFD), plain output shows \xff.
python3 - "$VMTTY_DB" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE vms SET name = CAST(? AS TEXT) WHERE name = 'caf\u00e9'", (b"raw\xffname",))
c.commit()
PY
t_status "list --json with a stored name that is not UTF-8" 0 "$VMTTY" list --host local --json
t_check "is UTF-8 JSON" strict_json <<<"$T_OUT"
t_match "the bad byte is U+FFFD" $'"name": "raw\xef\xbf\xbdname"' "$T_OUT"
t_status "plain list of it" 0 "$VMTTY" list --host local
t_match "shown as \\xff" '^local +raw\\xffname +' "$T_OUT"

# 5. libxml2's report of a malformed host file (excerpt, caret line) does
# not reach stderr as three raw lines: one line, escaped.
printf '<node>\n<domain type="test"><name>a\xff</name>\n<oops></node>\n' > "$T_TMP/bad.xml"
t_status "host add of a malformed test-driver file" 0 "$VMTTY" host add broken "test://$T_TMP/bad.xml"
t_status "list --host broken" 0 "$VMTTY" list --host broken
t_match "the parse error is reported" "host 'broken': cannot connect to .*bad.xml" "$T_ERR"
t_check "as one line of text" one_line "$T_ERR"

# 6. Template errors quote the bad bytes escaped.
mkdir -p "$XDG_CONFIG_HOME/vmtty/templates"
printf '[template]\nlabel = ok\xff\xc2\x9b\n' > "$XDG_CONFIG_HOME/vmtty/templates/lab.ini"
t_status "templates with a broken one" 0 "$VMTTY" templates
t_match "the value is quoted escaped" "the value of 'label', 'ok\\\\xff\\\\u009b', is not UTF-8" "$T_ERR"
t_check "one line" one_line "$T_ERR"
t_status "templates --json" 0 "$VMTTY" templates --json
t_check "is UTF-8 JSON" strict_json <<<"$T_OUT"

t_summary
