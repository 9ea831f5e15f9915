#!/usr/bin/env bash
# A start killed after qemu daemonized but before vmtty journaled it: the
# VM runs with no journal entry.  The next vmtty that finds it running
# journals the start, once, and says so.
source "$(dirname "$0")/lib.sh"

# A qemu that daemonizes for real, then keeps vmtty waiting: the window in
# which vmtty is killed.
cat >"$T_TMP/slow-qemu" <<EOS
#!/bin/sh
qemu-system-x86_64 "\$@"; rc=\$?
: >"$T_TMP/daemonized"
sleep 60
exit \$rc
EOS
chmod +x "$T_TMP/slow-qemu"

t_status "create fw (firmware only)" 0 "$VMTTY" create fw --memory 64 --accel tcg --graphics none
VMTTY_QEMU="$T_TMP/slow-qemu" "$VMTTY" start fw >/dev/null 2>&1 &
vpid=$!
t_check "qemu daemonized" wait_for 30 test -e "$T_TMP/daemonized"
kill -9 "$vpid"; wait "$vpid" 2>/dev/null
t_check "the wrapper died with vmtty" wait_for 2 sh -c "! pgrep -f '$T_TMP/[s]low-qemu' >/dev/null"
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
