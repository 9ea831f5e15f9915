#!/usr/bin/env bash
# Self-test of tests/integration/libvirtd.sh, for real: a private libvirtd in
# its own mount namespace runs the tiny guest under TCG (define, start, serial
# marker, virsh console, restart of the daemon under a running guest, ACPI
# shutdown), answers over qemu+ssh:// and qemu+libssh://, a blackhole URI
# hangs, a second daemon runs beside the first, and a test that fails, is
# terminated or is killed with -9 midway leaves no process behind.
# One guest at a time (2 cores).  Timings are printed as "# ..." lines.
source "$(dirname "$0")/libvirtd.sh"

ms() { echo $(($(date +%s%N) / 1000000)); }
note() { echo "# $*"; }
NAME=lvh-$$

# Host state that must not change (only what this test could have made: the
# machine may run other tests at the same time).
host_traces() {
	find /etc/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt /run/libvirt \
		-name "*$NAME*" 2>/dev/null
}
ssh_dir_sum() { (ls -la --time-style=+%s /root/.ssh; cat /root/.ssh/* 2>/dev/null) | md5sum; }
ssh_before=$(ssh_dir_sum)
hostrun_before=$([ -e /run/libvirt ] && echo present || echo absent)

# ---- 1. the daemon -----------------------------------------------------------
caps=cold
c=${LIBVIRTD_CAPS_CACHE-$T_BUILD/libvirtd-caps}
[ -n "$c" ] && compgen -G "$c/*.xml" >/dev/null && caps=warm
t_check "libvirtd_start" libvirtd_start main
note "daemon start (namespace + virtlogd + libvirtd answering): ${LIBVIRTD_START_MS:-?} ms, QEMU capabilities cache $caps"
t_match "LIBVIRTD_URI names the private socket" "^qemu\+unix:///system\?socket=$T_TMP/libvirtd-main/run/libvirt/libvirt-sock$" "${LIBVIRTD_URI:-}"
t_status "virsh version answers on LIBVIRTD_URI" 0 virsh -c "$LIBVIRTD_URI" version
t_match "and it is QEMU" "Running hypervisor: QEMU" "$T_OUT"
host_uuid() { virsh -c "$1" capabilities 2>/dev/null | sed -n 's:^ *<uuid>\(.*\)</uuid>.*:\1:p' | head -n 1; }
t_eq "host_uuid is this instance's" "$LIBVIRTD_UUID" "$(host_uuid "$LIBVIRTD_URI")"
self_ns=$(readlink /proc/self/ns/mnt)
t_check "libvirtd runs (pid ${LIBVIRTD_PID:-?})" _lv_alive "${LIBVIRTD_PID:-0}"
t_check "in its own mount namespace" test "$(readlink "/proc/${LIBVIRTD_PID:-0}/ns/mnt")" != "$self_ns"
t_check "the namespace handle is that namespace" test "$(readlink "$LIBVIRTD_NS")" = "$(readlink "/proc/${LIBVIRTD_PID:-0}/ns/mnt")"
inode() { stat -L -c %d:%i "$1"; }
t_eq "inside, /run/libvirt/libvirt-sock is the private socket" \
	"$(inode "$LIBVIRTD_SOCK")" "$(libvirtd_exec stat -L -c %d:%i /run/libvirt/libvirt-sock)"
t_eq "inside, /etc/libvirt/qemu.conf is the private one" \
	"$(inode "$LIBVIRTD_DIR/etc/qemu.conf")" "$(libvirtd_exec stat -L -c %d:%i /etc/libvirt/qemu.conf)"
t_eq "the host's /run/libvirt is as before" "$hostrun_before" "$([ -e /run/libvirt ] && echo present || echo absent)"
for f in vmlinuz initrd.img; do
	t_eq "the daemon sees the same $f" "$(inode "$GUEST/$f")" "$(libvirtd_exec stat -L -c %d:%i "$GUEST/$f")"
	t_check "and can read it" libvirtd_exec head -c 1 "$GUEST/$f" >/dev/null
done

# ---- 2. the tiny guest: define, start, serial marker, console ---------------
tiny_domain_xml "$NAME" >"$T_TMP/tiny.xml"
t_check "tiny_domain_xml is well-formed XML" python3 -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])' "$T_TMP/tiny.xml"
t0=$(ms)
t_status "virsh define" 0 virsh -c "$LIBVIRTD_URI" define "$T_TMP/tiny.xml"
t1=$(ms)
t_status "virsh start" 0 virsh -c "$LIBVIRTD_URI" start "$NAME"
t2=$(ms)
note "define: $((t1 - t0)) ms, start: $((t2 - t1)) ms (virsh processes included)"
t_eq "domstate is running" running "$(libvirtd_domstate "$NAME")"
# The marker is read from the serial log virtlogd writes (<log> in the
# domain XML): it holds everything from the first byte, whenever we look.
t_check "GUEST READY on the serial port within 60 s" libvirtd_wait_serial "$NAME" "GUEST READY" 60
note "boot to GUEST READY after start returned: $(($(ms) - t2)) ms"
xml=$(virsh -c "$LIBVIRTD_URI" dumpxml "$NAME")
t_match "live XML: pty console" "<console type='pty' tty='/dev/pts/[0-9]+'" "$xml"
t_match "live XML: VNC on 127.0.0.1 with a port" "<graphics type='vnc' port='[0-9]+' autoport='yes' listen='127.0.0.1'" "$xml"
# From the daemon's own block of 20 (two daemons never race for 5900).
vport=$(sed -n "s/.*<graphics type='vnc' port='\([0-9]*\)'.*/\1/p" <<<"$xml")
pmin=$(cat "$LIBVIRTD_DIR/display_port_min" 2>/dev/null)
t_check "the port ($vport) is in the daemon's own block from ${pmin:-?}" \
	test -n "$pmin" -a "${vport:-0}" -ge "${pmin:-1}" -a "${vport:-0}" -le "$((${pmin:-0} + 19))"
t_match "live XML: virtio balloon" "<memballoon model='virtio'" "$xml"
qemu_pid=$(cat "$LIBVIRTD_DIR/run/libvirt/qemu/$NAME.pid" 2>/dev/null)
t_check "qemu runs (pid ${qemu_pid:-?})" _lv_alive "${qemu_pid:-0}"
t_match "under TCG" "accel=tcg|-accel tcg" "$(tr '\0' ' ' <"/proc/${qemu_pid:-0}/cmdline" 2>/dev/null)"
t_status "domstats works" 0 virsh -c "$LIBVIRTD_URI" domstats "$NAME"
t_match "with balloon and cpu figures" "balloon.current=262144" "$T_OUT"
# virsh console needs a tty: socat gives it a pty; input through a fifo.
t_check "virsh console attaches" libvirtd_console_open "$NAME"
libvirtd_console_send ""
libvirtd_console_send 'echo $((6*7))-console-works'
t_check "a command typed on the console runs (42-console-works)" libvirtd_console_wait "42-console-works" 15
t_check "closing the console ends virsh console" libvirtd_console_close

# ---- 3. ssh ------------------------------------------------------------------
t_check "sshd_start" sshd_start
t_match "SSH_URI" "^qemu\+ssh://root@127\.0\.0\.1:[0-9]+/system\?keyfile=.*&no_verify=1&.*socket=$LIBVIRTD_SOCK" "${SSH_URI:-}"
list_unix=$(virsh -c "$LIBVIRTD_URI" list --all 2>&1)
t_match "list --all over the unix socket shows the guest" "$NAME +running" "$list_unix"
lat() { # URI: average of 3 `virsh list --all` in ms
	local i t0 sum=0
	for i in 1 2 3; do
		t0=$(ms); timeout 20 virsh -c "$1" list --all >/dev/null 2>&1 || { echo fail; return; }
		sum=$((sum + $(ms) - t0))
	done
	echo $((sum / 3))
}
t_eq "the same list --all over SSH_URI" "$list_unix" "$([ -n "${SSH_URI:-}" ] && timeout 20 virsh -c "$SSH_URI" list --all 2>&1)"
t_eq "over SSH_URI with proxy=native (virt-ssh-helper)" "$list_unix" "$([ -n "${SSH_URI:-}" ] && timeout 20 virsh -c "$SSH_URI&proxy=native" list --all 2>&1)"
t_eq "over SSH_LIBSSH_URI (qemu+libssh)" "$list_unix" "$([ -n "${SSH_LIBSSH_URI:-}" ] && timeout 20 virsh -c "$SSH_LIBSSH_URI" list --all 2>&1)"
t_eq "ssh remote side is the namespace's daemon (host_uuid)" "$LIBVIRTD_UUID" "$(host_uuid "${SSH_URI:-none:///}")"
note "virsh list --all round trip: unix $(lat "$LIBVIRTD_URI") ms, qemu+ssh $(lat "$SSH_URI") ms, qemu+libssh $(lat "$SSH_LIBSSH_URI") ms"
t_eq "/root/.ssh untouched" "$ssh_before" "$(ssh_dir_sum)"

# ---- 4. restart the daemon under the running guest ---------------------------
old_pid=$LIBVIRTD_PID
t0=$(ms)
t_check "libvirtd_stop" libvirtd_stop
t1=$(ms)
t_check "libvirtd is gone" _lv_dead "$old_pid"
t_status "the URI fails while it is down" 1 timeout 10 virsh -c "$LIBVIRTD_URI" version
t_check "the guest lives on without libvirtd" _lv_alive "${qemu_pid:-0}"
t2=$(ms)
t_check "libvirtd_restart" libvirtd_restart
note "libvirtd stop: $((t1 - t0)) ms, start again: $(($(ms) - t2)) ms"
t_check "a new libvirtd ($old_pid -> ${LIBVIRTD_PID:-?})" test -n "$LIBVIRTD_PID" -a "$LIBVIRTD_PID" != "$old_pid"
t_status "the same URI answers again" 0 virsh -c "$LIBVIRTD_URI" version
t_eq "same host_uuid" "$LIBVIRTD_UUID" "$(host_uuid "$LIBVIRTD_URI")"
t_eq "the guest was reconnected: running" running "$(libvirtd_domstate "$NAME")"
t_eq "same qemu pid" "$qemu_pid" "$(cat "$LIBVIRTD_DIR/run/libvirt/qemu/$NAME.pid" 2>/dev/null)"
t_status "SSH_URI works after the restart" 0 timeout 20 virsh -c "$SSH_URI" domstate "$NAME"

# ---- 5. ACPI shutdown ------------------------------------------------------------
t0=$(ms)
t_status "virsh shutdown (ACPI)" 0 virsh -c "$LIBVIRTD_URI" shutdown "$NAME"
t_check "state becomes 'shut off' within 30 s" libvirtd_wait_state "$NAME" "shut off" 30
note "ACPI shutdown to 'shut off': $(($(ms) - t0)) ms"
t_check "qemu has exited" wait_for 10 _lv_dead "${qemu_pid:-0}"
list_unix=$(virsh -c "$LIBVIRTD_URI" list --all 2>&1)
t_match "list --all says shut off" "$NAME +shut off" "$list_unix"
t_eq "and says the same over SSH_URI" "$list_unix" "$(timeout 20 virsh -c "$SSH_URI" list --all 2>&1)"

# ---- 6. the blackhole ------------------------------------------------------------
t_check "blackhole_start" blackhole_start
t_check "it listens on 127.0.0.1:${BLACKHOLE_PORT:-?}" _lv_listening "${BLACKHOLE_PORT:-0}"
hangs() { # DESC URI: timeout 3 virsh ... list must be cut off by timeout
	local t0 rc el
	t0=$(ms); timeout 3 virsh -c "$2" list >/dev/null 2>&1; rc=$?; el=$(($(ms) - t0))
	t_eq "$1: virsh hangs until timeout 3 kills it (exit 124)" 124 "$rc"
	t_check "$1: for about 3 s (took $el ms)" test "$el" -ge 2900
}
hangs "BLACKHOLE_TCP_URI" "${BLACKHOLE_TCP_URI:-}"
hangs "BLACKHOLE_SSH_URI (no SSH banner)" "${BLACKHOLE_SSH_URI:-}"
t_status "a closed port fails at once instead (the check above can fail)" 1 timeout 3 virsh -c "qemu+tcp://127.0.0.1:$(_lv_free_port)/system" list

# ---- 7. a second daemon beside the first, this one also on TCP --------------------
t_eq "the first daemon listens on no TCP port" "" "$(ss -Htlnp | grep "pid=$LIBVIRTD_PID,")"
t_check "libvirtd_start second --tcp" libvirtd_start second --tcp
note "second daemon start: ${LIBVIRTD_START_MS:-?} ms"
t_match "LIBVIRTD_TCP_URI" "^qemu\+tcp://127\.0\.0\.1:[0-9]+/system$" "${LIBVIRTD_TCP_URI:-}"
t_eq "qemu+tcp:// reaches the second daemon" "$LIBVIRTD_UUID" "$(host_uuid "${LIBVIRTD_TCP_URI:-none:///}")"
t_match "listening on 127.0.0.1 only" "^127\.0\.0\.1:${LIBVIRTD_TCP_PORT:-none}\$" "$(ss -Htln "( sport = :${LIBVIRTD_TCP_PORT:-1} )" | awk '{print $4}')"
second_uri=$LIBVIRTD_URI second_uuid=$LIBVIRTD_UUID
t_check "its own socket" test "$second_uri" != "$(libvirtd_use main; echo "$LIBVIRTD_URI")"
t_eq "it answers with its own host_uuid" "$second_uuid" "$(host_uuid "$second_uri")"
t_check "which differs from the first's" test "$second_uuid" != "$(cat "$T_TMP/libvirtd-main/uuid")"
t_nomatch "it does not see the first's domain" "$NAME" "$(virsh -c "$second_uri" list --all --name 2>&1)"
libvirtd_use main
t_match "the first still answers and has the domain" "$NAME" "$(virsh -c "$LIBVIRTD_URI" list --all --name 2>&1)"

# ---- 8. a test that dies midway leaves nothing running --------------------------------
ns_procs() { # NSID: pids (not zombies) in that mount namespace
	find /proc/[0-9]*/ns -maxdepth 1 -name mnt -printf '%l %h\n' 2>/dev/null |
		awk -v ns="$1" '$1 == ns { split($2, a, "/"); print a[3] }'
}
cat >"$T_TMP/child.sh" <<'EOF'
source "$1"
mode=$2 state=$3
libvirtd_start crash || exit 9
sshd_start || exit 9
blackhole_start || exit 9
tiny_domain_xml crash-guest >"$T_TMP/g.xml"
libvirtd_virsh define "$T_TMP/g.xml" >/dev/null && libvirtd_virsh start crash-guest >/dev/null || exit 9
libvirtd_console_open crash-guest || exit 9
timeout 20 virsh -c "$SSH_URI" version >/dev/null || exit 9
{
	echo "tmp=$T_TMP"
	echo "ns=$(cat "$LIBVIRTD_DIR/ns.id")"
	# pid:start time (PIDs wrap around fast here: pid_max is 32768)
	for p in $LIBVIRTD_PID $(_lv_pidfile "$LIBVIRTD_DIR/run/virtlogd.pid") \
		$(_lv_pidfile "$LIBVIRTD_DIR/sshd/sshd.pid") \
		$(_lv_pidfile "$LIBVIRTD_DIR/run/libvirt/qemu/crash-guest.pid") \
		$LIBVIRTD_NS_PID $BLACKHOLE_PID $CONSOLE_PID; do
		printf '%s:%s\n' "$p" "$(cut -d' ' -f22 "/proc/$p/stat")"
	done | tr '\n' ' ' | sed 's/^/pids=/; s/ $/\n/'
	echo "groups=$BLACKHOLE_PID $CONSOLE_PID"
} >"$state"
case $mode in
fail) false || { echo "not ok - a failure midway"; exit 1; } ;;
term) kill -TERM $$ ;;
kill) kill -KILL $$ ;;
esac
EOF
for mode in fail term kill; do
	: >"$T_TMP/state"
	fails=$T_FAIL
	t0=$(ms)
	# (The braces keep bash's "Killed"/"Terminated" notice out of the output.)
	{ timeout 120 bash "$T_TMP/child.sh" "$_LV_SELF" "$mode" "$T_TMP/state" >"$T_TMP/child.out" 2>&1; rc=$?; } 2>/dev/null
	t1=$(ms)
	ctmp=$(sed -n 's/^tmp=//p' "$T_TMP/state")
	cns=$(sed -n 's/^ns=//p' "$T_TMP/state")
	cpids=$(sed -n 's/^pids=//p' "$T_TMP/state")
	cgroups=$(sed -n 's/^groups=//p' "$T_TMP/state")
	[ -z "$ctmp" ] || t_on_exit "rm -rf '$ctmp'"
	t_check "$mode: the child got its daemon, sshd, blackhole, guest and console up" \
		test -n "$cns" -a "$(echo $cpids | wc -w)" = 7 -a "$(echo $cgroups | wc -w)" = 2
	[ "$T_FAIL" = "$fails" ] || sed 's/^/   /' "$T_TMP/state" "$T_TMP/child.out" | tail -15
	case $mode in fail) want=1 ;; term) want=143 ;; kill) want=137 ;; esac
	t_eq "$mode: the child exited with $want" "$want" "$rc"
	# Still there: same pid and start time, and not a zombie.
	_same_proc() { [ "$(cut -d' ' -f22 "/proc/${1%%:*}/stat" 2>/dev/null)" = "${1#*:}" ] && _lv_alive "${1%%:*}"; }
	_child_procs() { # what is left, one "pid args" a line
		local p
		for p in $cpids; do _same_proc "$p" && ps -o pid=,args= -p "${p%%:*}"; done
		for p in $(ns_procs "$cns"); do ps -o pid=,args= -p "$p"; done
		# Anything else naming the child's temp dir (ps's own line aside).
		ps -eo pid=,stat=,args= | CT=$ctmp awk 'index($0, ENVIRON["CT"]) && $2 !~ /^Z/ { $2 = ""; print }'
	}
	_nothing_left() { [ -z "$(_child_procs)" ]; }
	# After kill -9 the namespace's watchdog notices within ~1 s.
	if [ -n "$cns" ] && wait_for 30 _nothing_left; then
		t_ok "$mode: nothing of the child is left running"
		note "$mode: child ran $((t1 - t0)) ms, all its processes gone $(($(ms) - t1)) ms after it ended"
	else
		t_fail "$mode: processes left over"
		_child_procs | sort -u | cut -c1-150 | sed 's/^/   /'
	fi
	if [ "$mode" != kill ]; then
		t_check "$mode: the child's temp dir is gone" test -n "$ctmp" -a ! -e "${ctmp:-/}"
	fi
done

# ---- 9. the host was left alone ------------------------------------------------------
t_eq "no trace of $NAME in the host's libvirt dirs" "" "$(host_traces)"
t_eq "/root/.ssh still untouched" "$ssh_before" "$(ssh_dir_sum)"
t_summary
