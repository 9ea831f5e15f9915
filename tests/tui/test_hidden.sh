#!/usr/bin/env bash
# A libvirt host's domain names that would reorder or hide text on the
# screen (a right-to-left override, a zero-width space, a BOM) are drawn
# with '?' in their place: nothing of them reaches the terminal.
source "$(dirname "$0")/lib.sh"

export VMTTY_DB="$T_TMP/inv.db"
cat >"$T_TMP/hidden.xml" <<XML
<node>
  <domain type='test'><name>rtl&#x202e;gpj.exe</name>
    <memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>
  <domain type='test'><name>zw&#x200b;sp</name>
    <memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>
  <domain type='test'><name>bom&#xfeff;x</name>
    <memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>
</node>
XML
t_status "host add of the host" 0 "$VMTTY" host add hid "test://$T_TMP/hidden.xml"
tui_start 100 30 "$VMTTY"
tui_expect "the override is drawn as '?'" 'rtl\?gpj\.exe +running'
tui_expect "the zero-width space too" 'zw\?sp +running'
tui_expect "and the BOM" 'bom\?x +running'
t_check "no bidi, zero-width or BOM character is on the screen" sh -c \
	"! $TUI_T capture-pane -p -t t | grep -q \$'\\xe2\\x80\\xae\\|\\xe2\\x80\\x8b\\|\\xef\\xbb\\xbf'"
tui_keys q
tui_expect "the TUI quits" 'exited 0'
t_summary
