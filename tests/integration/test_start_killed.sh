#!/usr/bin/env bash
# A start killed after qemu was started but before vmtty journaled it: the
# VM runs with no journal entry.  The next vmtty that finds it running
# journals the start, once, and says so.
source "$(dirname "$0")/lib.sh"

# A qemu wrapper that stops vmtty (its pid is in a file the test writes)
# before it becomes qemu: vmtty never sees qemu answer, and is killed in
# that window.
cat >"$T_TMP/slow-qemu" <<EOS
#!/bin/sh
i=0
while [ ! -s "$T_TMP/vpid" ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done
kill -STOP "\$(cat "$T_TMP/vpid")"
exec qemu-system-x86_64 "\$@"
EOS
chmod +x "$T_TMP/slow-qemu"

t_status "create fw (firmware only)" 0 "$VMTTY" create fw --memory 64 --accel tcg --graphics none
fwdir="$VMTTY_RUNTIME_DIR/$(vm_uuid fw | cut -c1-8)"
VMTTY_QEMU="$T_TMP/slow-qemu" "$VMTTY" start fw >/dev/null 2>&1 &
vpid=$!
echo "$vpid" >"$T_TMP/vpid"
_stopped() { [ "$(ps -o stat= -p "$vpid" | cut -c1)" = T ]; }
t_check "vmtty is stopped by the wrapper" wait_for 30 _stopped
t_check "qemu is up" wait_for 30 test -S "$fwdir/qmp.sock"
kill -9 "$vpid"; wait "$vpid" 2>/dev/null
t_eq "the journal has no start of fw" "" "$("$VMTTY" log fw 2>/dev/null | grep -w start)"
t_status "list finds fw running" 0 "$VMTTY" list
t_match "fw is running" 'fw +running' "$T_OUT"
t_eq "and says it journaled the start" "vmtty: VM 'fw' was found running with no journaled start; journaled now" "$T_ERR"
t_match "the journal has it" "ok +start +local/fw: found running \(qemu pid $(vm_pid fw), started " "$("$VMTTY" log fw)"
t_status "list again" 0 "$VMTTY" list
t_eq "says nothing this time" "" "$T_ERR"
t_eq "one start in the journal" 1 "$("$VMTTY" log fw | grep -c ' start ')"
t_status "show fw" 0 "$VMTTY" show fw
t_eq "show says nothing either" "" "$T_ERR"
t_status "poweroff fw" 0 "$VMTTY" poweroff fw
t_status "a start through vmtty" 0 "$VMTTY" start fw
t_status "list after it" 0 "$VMTTY" list
t_eq "a journaled start is not journaled again" "" "$T_ERR"
t_eq "two starts in the journal" 2 "$("$VMTTY" log fw | grep -c ' start ')"
"$VMTTY" poweroff fw >/dev/null 2>&1

t_summary
