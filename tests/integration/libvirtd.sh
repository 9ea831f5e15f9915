# Private libvirt daemons for integration tests (source it; needs root).
#
# Every daemon runs in its own mount namespace (unshare -m, private
# propagation) with temp dirs under $T_TMP/libvirtd-NAME bind-mounted over
# /etc/libvirt, /run, /var/lib/libvirt, /var/log/libvirt and
# /var/cache/libvirt: the host's files and its own libvirtd (running or not)
# are never touched.  Clients connect from outside through the socket's real
# path, so plain `virsh -c "$LIBVIRTD_URI"` works; `libvirtd_exec CMD...`
# runs CMD inside the namespace.  Everything a function starts is stopped by
# a t_on_exit cleanup, and a watchdog inside each namespace stops it too if
# the test shell dies without running its EXIT trap (kill -9).
#
#   libvirtd_start [NAME] [--tcp] [--netns ADDR|N]  start virtlogd + libvirtd;
#       exports LIBVIRTD_NAME LIBVIRTD_DIR LIBVIRTD_SOCK LIBVIRTD_URI
#       LIBVIRTD_NS_PID LIBVIRTD_NS (mount ns handle: /proc/PID/ns/mnt)
#       LIBVIRTD_PID LIBVIRTD_UUID LIBVIRTD_START_MS; --tcp also
#       LIBVIRTD_TCP_PORT and LIBVIRTD_TCP_URI (qemu+tcp://127.0.0.1:PORT/system,
#       auth none).
#       --netns ADDR|N: also a network namespace of its own, eth0 = ADDR/24
#       on the test's switch (N: host N of a 10.77.X.0/24 that the root
#       namespace does not use yet; prefer it to a fixed ADDR when tests may
#       run side by side); libvirtd --listen on ADDR:16509 (auth none),
#       qemu.conf migration_host = ADDR.  Exports LIBVIRTD_ADDR,
#       LIBVIRTD_NETNS (/proc/PID/ns/net), LIBVIRTD_PEER_URI
#       (qemu+tcp://ADDR/system), LIBVIRTD_MIGRATE_URI (tcp://ADDR) and, with
#       the root namespace linked (default), LIBVIRTD_TCP_PORT=16509 and
#       LIBVIRTD_TCP_URI = LIBVIRTD_PEER_URI.  See "Migration" below.
#   libvirtd_use NAME              re-export those variables for instance NAME
#   libvirtd_exec CMD...           run CMD in the current instance's namespaces
#                                  (mount; network too for --netns)
#   libvirtd_virsh ARGS...         virsh -q -c "$LIBVIRTD_URI" ARGS (20 s cap)
#   libvirtd_stop [NAME]           stop libvirtd (guests, virtlogd, sshd live on)
#   libvirtd_restart [NAME]        stop if running, start again: same socket,
#                                  same URI, same host_uuid
#   sshd_start [NAME]              sshd on 127.0.0.1:free port inside the
#       namespace, key auth only; exports SSH_PORT SSH_KEY SSH_URI
#       SSH_LIBSSH_URI SSH_KNOWN_HOSTS SSH_COMMAND; SSHD_TCP_FORWARDING
#       (default no) is its AllowTcpForwarding, e.g. local for `ssh -W`
#   blackhole_start                TCP listener that accepts and never says a
#       word; exports BLACKHOLE_PORT BLACKHOLE_TCP_URI BLACKHOLE_SSH_URI
#   libvirtd_shared_dir            prints a dir all instances see at one path
#   libvirtd_pool POOL [DIR]       dir pool in the current instance (active,
#       autostart); DIR as the daemon sees it, default /var/lib/libvirt/images
#       (one path, but each instance its own dir)
#   libvirtd_pool_path POOL        its dir as the daemon sees it
#   libvirtd_vol_copy POOL VOL FILE  FILE copied in as volume VOL; prints its
#                                  path as the daemon sees it
#   libvirtd_host_path PATH        a path as the daemon sees it -> from outside
#   tiny_domain_xml NAME [MiB] [DISK]  domain XML for the tiny guest (TCG);
#                                  with DISK (qcow2) as vda and root fs
#   libvirtd_serial_log NAME       host path of the domain's serial log
#   libvirtd_domstate NAME         `virsh domstate`, e.g. "running", "shut off"
#   libvirtd_wait_state NAME STATE SECONDS
#   libvirtd_wait_serial NAME TEXT SECONDS
#   libvirtd_console_open NAME / _send TEXT / _wait TEXT SECONDS / _close
#       `virsh console` without a terminal (output in CONSOLE_OUT)
#
# Knobs (environment, read by libvirtd_start):
#   LIBVIRTD_CGROUPS     "" (default): qemu.conf cgroup_controllers = [ ], so
#       libvirt leaves the host's shared /sys/fs/cgroup alone; vcpupin,
#       emulatorpin, setmem and domstats (cpu.time from /proc) still work,
#       schedinfo/memtune/blkiotune do not.  E.g. "cpu cpuacct cpuset memory"
#       turns controllers on (libvirt then makes /sys/fs/cgroup/*/machine;
#       the cleanup removes those it made, if empty).
#   LIBVIRTD_CAPS_CACHE  where probed QEMU capabilities are kept between
#       instances (default $T_BUILD/libvirtd-caps; "" = always probe, ~8 s).
#   LIBVIRTD_LOG_LEVEL   3 (warnings, default) .. 1 (debug), for libvirtd.log
#       and virtlogd.log in $LIBVIRTD_DIR/log.
#   LIBVIRTD_START_TIMEOUT  seconds to wait for libvirtd to answer (30).
#   LIBVIRTD_NET_ROOT    1 (default): the root network namespace gets
#       SUBNET.254 on a veth into the switch, so the test (virsh, vmtty)
#       reaches each --netns daemon by TCP like its peers do; 0: no link, no
#       route in the root namespace (unix socket URIs only from here).
#   LIBVIRTD_HUGETLBFS   non-empty: a hugetlbfs (the default page size)
#       mounted at $LIBVIRTD_DIR/hugepages inside the namespace before
#       libvirtd starts, as its qemu.conf hugetlbfs_mount; the host here
#       mounts none, and libvirt only looks when it starts.
#
# Migration between --netns instances (libvirtd_start A --netns 1;
# libvirtd_start B --netns 2; shown by test_migrate.sh):
#   Three connections, three kinds of URI.
#   - client -> daemon (test shell, virsh, vmtty; root network namespace):
#     LIBVIRTD_URI (the unix socket's path: a path does not care about
#     network namespaces) or LIBVIRTD_TCP_URI (= LIBVIRTD_PEER_URI, TCP over
#     the root link).
#   - daemon -> daemon (peer to peer): B's LIBVIRTD_PEER_URI; B's
#     LIBVIRTD_URI works too (its path is under $T_TMP, which every mount
#     namespace sees, and libvirt's "same host" check lets an explicit unix
#     socket through; it refuses only a URI without host that is no socket,
#     or a host localhost*).
#   - QEMU -> QEMU (memory stream, and NBD for --copy-storage-all): from the
#     source's network namespace to B's LIBVIRTD_MIGRATE_URI, tcp://ADDR.
#     It may be left out: with migration_host = ADDR, B offers tcp://ADDR:PORT
#     itself (a daemon without it would offer its host name).
#   So, with A_URI/B_URI the client's and B_PEER/B_MIG B's others:
#     managed by the client (virDomainMigrate3, `virsh migrate` without --p2p):
#       virsh -c A_URI migrate --live DOM B_URI|B_PEER [B_MIG]
#       (the client opens A and B itself, any URI of B that it can use)
#     peer to peer (virDomainMigrateToURI3, `virsh migrate --p2p`):
#       virsh -c A_URI migrate --live --p2p DOM B_PEER [B_MIG]
#       (A's daemon opens B; the client never talks to B)
#   For vmtty a host added by LIBVIRTD_URI is local (display through
#   virDomainOpenGraphicsFD); by LIBVIRTD_PEER_URI it is remote (a host in
#   the URI), whose display needs ssh: add hosts by LIBVIRTD_URI and keep
#   LIBVIRTD_PEER_URI / LIBVIRTD_ADDR for what the peers and QEMU need.
#   Storage: libvirtd_shared_dir for "shared" storage (needs --unsafe, see
#   below); per instance /var/lib/libvirt/images (libvirtd_pool images) for
#   --copy-storage-all: the disk keeps its path, on B it is B's own file.
#
# Pitfalls met on Debian 12 (libvirt 9.0) here, and what this file does:
# - A cold libvirtd answers only after probing QEMU (~8 s; clients that
#   connect earlier just hang): capabilities cache reused, start ~0.25 s.
# - PID 1 here is no real init: orphaned daemons stay zombies for a second or
#   two, so `kill -0` says "alive" -> liveness reads /proc/PID/stat.  PIDs wrap
#   fast (pid_max 32768): stale pidfiles and group ids are checked (mount ns,
#   marker) before anything is killed.
# - /run is an empty private dir: /var/lock (-> /run/lock) must exist or
#   `virsh console` fails ("Couldn't create lock file for device"), sshd
#   needs /run/sshd.
# - No virtlogd autostart for a privileged libvirtd: started first.
# - qemu.conf namespaces = [ ]: qemu stays in our mount namespace (no
#   private /dev per guest), so the watchdog's namespace sweep finds it.
# - qemu+ssh:// with socket= makes libvirt run `nc -U SOCKET` remotely; no nc
#   on Debian 12 -> sshd gets a socat-based nc first in PATH.  With
#   proxy=native|auto virt-ssh-helper is used and socket= is ignored (the
#   namespace's /run/libvirt/libvirt-sock is the private daemon anyway).
# - ssh would add the host key to /root/.ssh/known_hosts even with
#   no_verify=1: URIs carry command=WRAPPER (ssh -F /dev/null with a private
#   UserKnownHostsFile, pre-filled); libssh URIs use known_hosts=FILE.
# - No dnsmasq installed, no D-Bus/polkit/udev: libvirtd logs errors about
#   them and runs; virtual networks with DHCP cannot start (the cleanup would
#   still destroy networks first, then kill any dnsmasq in the namespace).
# - No AppArmor in this kernel; security_driver = "none" anyway.
# - `ip link add a type veth`: "a" is read as the keyword "address" ("type"
#   is invalid lladdr): always `ip link add name NAME ...`.
# - --netns instances live on a bridge in a namespace of their own, not in
#   the root one: kill -9 of the test ends the switch's holder (tail --pid),
#   the namespace goes and every veth in it with both ends, the root
#   namespace's too; `ip netns add` would leave names in the host's /run.
# - Peers need an address each for migration_host (127.0.0.1 is refused at
#   start, see TESTBED.md): hence a network namespace each.
# - A guest's VNC listens on 127.0.0.1 inside its daemon's network namespace:
#   from the root namespace only through libvirtd (virDomainOpenGraphicsFD,
#   what vmtty does on a local URI), not by address.  Do not make it listen
#   on ADDR: on B after a migration that address does not exist.
# - sshd_start's sshd runs in the instance's mount namespace but the root
#   network namespace (127.0.0.1): SSH_URI serves the client, not a peer.
# - Migration, libvirt 9.0 (measured with the harness checks of test_migrate.sh):
#   * Storage on a local file system (ext4 $T_TMP) counts as not shared:
#     without --unsafe (VIR_MIGRATE_UNSAFE) "Unsafe migration: Migration
#     without shared storage is unsafe"; cache='none' does not change that,
#     9.0 has no qemu.conf shared_filesystems.
#   * --copy-storage-all needs the disk's path on B to exist, or an active
#     pool on B whose target is the disk's directory: then libvirt makes the
#     volume itself (same format and capacity; 64 MiB on disk for the tiny
#     guest's 3 MiB qcow2, where vol-create-as + the copy gave 3 MiB).
#     Neither: "Storage pool not found: no storage pool with matching target
#     path '/var/lib/libvirt/images'", nothing moved.
#   * An aborted --copy-storage-all leaves on B the volume libvirt made there
#     (a test or vmtty must remove it); B's incoming domain does go.
#   * --bandwidth MiB/s throttles the NBD disk copy too: at 1 the job stops at
#     16 MiB processed, so a copy-storage migration of the tiny disk stays
#     abortable for tens of seconds.  domjobabort -> virsh migrate exits in
#     1.4-1.9 s.
#   * `domjobinfo --completed` (VIR_DOMAIN_JOB_STATS_COMPLETED) discards the
#     statistics it returns: read them once, or pass --keep-completed
#     (VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED).  After --undefinesource ask B.
#   * The 256 MiB tiny guest while other guests load the 2 cores (load
#     average 2-6): downtime 76-630 ms (QEMU's default limit is 300 ms, it
#     overshoots), 2.7-7.2 s of virsh wall time for a migration (job 1.4-5 s),
#     not TESTBED's 20-60 ms / 2-3 s: do not assert on them tightly.

declare -F create_tiny >/dev/null || source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

_LV_SELF=$(readlink -f "${BASH_SOURCE[0]}")
_LV_TEST_PID=$$
LIBVIRTD_LOG_LEVEL=${LIBVIRTD_LOG_LEVEL:-3}

_lv_now_ms() { echo $(($(date +%s%N) / 1000000)); }
_lv_err() { echo "libvirtd.sh: $*" >&2; }

# _lv_free_port: a TCP port on 127.0.0.1 nobody listens on or uses (callers
# still retry: another process may take it before we bind).
_lv_free_port() {
	local p i
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		[ -z "$(ss -Htan "( sport = :$p or dport = :$p )" 2>/dev/null)" ] && { echo "$p"; return 0; }
	done
	return 1
}
# _lv_port_block: the next of 200 blocks of 20 ports for one daemon's VNC
# displays (10000-13999) and incoming migrations (50000-53999), taken in
# turn under a lock shared by every suite on the machine.  Sets
# _LV_DISPLAY_MIN and _LV_MIGRATION_MIN.
_lv_port_block() {
	local lock k f=${TMPDIR:-/tmp}/vmtty-libvirtd-ports
	exec {lock}>>"$f.lock"
	flock -w 10 "$lock" || { exec {lock}>&-; _lv_err "no lock on $f.lock"; return 1; }
	k=$(cat "$f" 2>/dev/null || echo 0)
	[[ $k =~ ^[0-9]+$ ]] || k=0
	echo $(((k + 1) % 200)) >"$f"
	exec {lock}>&-
	_LV_DISPLAY_MIN=$((10000 + k * 20))
	_LV_MIGRATION_MIN=$((50000 + k * 20))
}
_lv_listening() { [ -n "$(ss -Htln "( sport = :$1 )" 2>/dev/null)" ]; }
# _lv_alive PID: PID exists and is not a zombie.  Daemons are reparented to
# PID 1, which here (not a real init) reaps them only every second or two:
# `kill -0` alone would wait for that.
_lv_alive() {
	local s
	[ -n "$1" ] || return 1
	{ read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
	s=${s##*) }
	[ "${s%% *}" != Z ]
}
_lv_dead() { ! _lv_alive "$1"; }
# _lv_group_alive PGID: a live (non-zombie) process in that process group.
_lv_group_alive() {
	ps -eo pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { f = 1 } END { exit !f }'
}
_lv_pidfile() { local p; p=$(cat "$1" 2>/dev/null) && [ -n "$p" ] && echo "$p"; }

_lv_xml_escape() {
	local s=$1
	s=${s//&/&amp;}; s=${s//</&lt;}; s=${s//>/&gt;}; s=${s//\'/&apos;}; s=${s//\"/&quot;}
	printf '%s' "$s"
}

# The script that holds the namespace (mode "hold") and stops everything in
# it (mode "kill").  Written once per instance into its dir; it also runs as
# the watchdog, so it must not depend on this library.
_lv_write_nsscript() {
	local dir=$1
	cat >"$dir/ns.sh" <<'EOF'
#!/bin/bash
# Generated by tests/integration/libvirtd.sh.
# ns.sh hold DIR TESTPID: (run under unshare -m --propagation private) bind
#   DIR's subdirs over the system paths, then wait for TESTPID to end; if it
#   ends while this namespace is still alive, stop everything in it.
# ns.sh kill DIR NSID: stop every process whose mount ns is NSID (libvirtd
#   gracefully first, then the rest), leaving out the caller.
set -u
mode=$1 dir=$2
# alive PID: exists and is no zombie (PID 1 may be slow to reap orphans).
alive() {
	local s
	{ read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
	s=${s##*) }
	[ "${s%% *}" != Z ]
}
# ns_pids NSID: processes in that mount namespace but this shell and its
# $(...) subshell (zombies have no namespace links any more).  The list is
# taken before find and awk exist: in the watchdog they are in the namespace.
ns_pids() {
	local self=$BASHPID d=(/proc/[0-9]*/ns)
	find "${d[@]}" -maxdepth 1 -name mnt -printf '%l %h\n' 2>/dev/null |
		awk -v ns="$1" -v me=$$ -v sp="$self" \
			'$1 == ns { split($2, a, "/"); if (a[3] != me && a[3] != sp) print a[3] }'
}
killall_ns() { # NSID
	local ns=$1 p pids sig i parent=${dir%/*} mark
	# A namespace's id is given to the next new one as soon as it is gone:
	# when ours has ended, NSID may be another instance's by now.  Ours
	# has DIR/run mounted on /run; a live process without it is not ours.
	mark="/${parent##*/}/${dir##*/}/run /run "
	for p in $(ns_pids "$ns"); do
		grep -qF -- "$mark" "/proc/$p/mountinfo" 2>/dev/null && break
		alive "$p" && return 0
	done
	# libvirtd first, alone, so it can save its state and not respawn things.
	p=$(cat "$dir/run/libvirtd.pid" 2>/dev/null)
	if [ -n "$p" ] && [ "$(readlink "/proc/$p/ns/mnt" 2>/dev/null)" = "$ns" ]; then
		kill -TERM "$p" 2>/dev/null
		for ((i = 0; i < 200; i++)); do
			alive "$p" || break
			read -rt 0.05 <> <(:) || true
		done
		kill -KILL "$p" 2>/dev/null
	fi
	for sig in TERM KILL; do
		pids=$(ns_pids "$ns")
		[ -n "$pids" ] || break
		kill -"$sig" $pids 2>/dev/null
		for ((i = 0; i < 100; i++)); do
			[ -n "$(ns_pids "$ns")" ] || break
			read -rt 0.05 <> <(:) || true
		done
	done
	[ -z "$(ns_pids "$ns")" ]
}
case $mode in
hold)
	testpid=$3
	set -e
	# /run first: /var/run is a symlink to it.
	mount --bind "$dir/run" /run
	mount --bind "$dir/etc" /etc/libvirt
	mount --bind "$dir/lib" /var/lib/libvirt
	mount --bind "$dir/log" /var/log/libvirt
	mount --bind "$dir/cache" /var/cache/libvirt
	set +e
	ns=$(readlink /proc/self/ns/mnt)
	echo "$ns" >"$dir/ns.id"
	tail --pid="$testpid" -f /dev/null &
	w=$!
	trap 'kill $w 2>/dev/null; exit 0' TERM INT HUP
	wait "$w"
	# Killed by a cleanup, not by the end of the test shell.
	! alive "$testpid" || exit 0
	# The test shell is gone without cleaning up: do it here.
	killall_ns "$ns"
	;;
kill)
	killall_ns "$3"
	;;
esac
EOF
	chmod 755 "$dir/ns.sh"
}

_lv_dir() { echo "$T_TMP/libvirtd-${1:-${LIBVIRTD_NAME:-lv}}"; }

# libvirtd_use NAME: export the variables describing instance NAME.
libvirtd_use() {
	local dir
	dir=$(_lv_dir "$1")
	[ -d "$dir" ] || { _lv_err "no instance '$1'"; return 1; }
	export LIBVIRTD_NAME=$1 LIBVIRTD_DIR=$dir
	export LIBVIRTD_SOCK=$dir/run/libvirt/libvirt-sock
	export LIBVIRTD_URI="qemu+unix:///system?socket=$LIBVIRTD_SOCK"
	LIBVIRTD_NS_PID=$(cat "$dir/ns.pid" 2>/dev/null)
	export LIBVIRTD_NS_PID LIBVIRTD_NS=/proc/$LIBVIRTD_NS_PID/ns/mnt
	LIBVIRTD_UUID=$(cat "$dir/uuid" 2>/dev/null)
	LIBVIRTD_PID=$(_lv_pidfile "$dir/run/libvirtd.pid")
	export LIBVIRTD_UUID LIBVIRTD_PID
	unset LIBVIRTD_TCP_PORT LIBVIRTD_TCP_URI LIBVIRTD_ADDR LIBVIRTD_PEER_URI \
		LIBVIRTD_MIGRATE_URI LIBVIRTD_NETNS
	if [ -s "$dir/addr" ]; then
		LIBVIRTD_ADDR=$(cat "$dir/addr")
		export LIBVIRTD_ADDR LIBVIRTD_NETNS=/proc/$LIBVIRTD_NS_PID/ns/net
		export LIBVIRTD_PEER_URI="qemu+tcp://$LIBVIRTD_ADDR/system"
		export LIBVIRTD_MIGRATE_URI="tcp://$LIBVIRTD_ADDR"
		# Over TCP from here only through the root namespace's link.
		if [ -s "$(_lv_net_dir)/root_if" ]; then
			export LIBVIRTD_TCP_PORT=16509 LIBVIRTD_TCP_URI=$LIBVIRTD_PEER_URI
		fi
	elif [ -s "$dir/tcp_port" ]; then
		LIBVIRTD_TCP_PORT=$(cat "$dir/tcp_port")
		export LIBVIRTD_TCP_PORT LIBVIRTD_TCP_URI="qemu+tcp://127.0.0.1:$LIBVIRTD_TCP_PORT/system"
	fi
	if [ -s "$dir/sshd/port" ]; then _lv_export_ssh "$dir"; fi
}

# libvirtd_exec CMD...: CMD inside the current instance's mount namespace
# (cwd becomes /: use absolute paths).
libvirtd_exec() {
	[ -n "${LIBVIRTD_NS_PID:-}" ] || { _lv_err "no libvirtd started"; return 1; }
	_lv_nsenter "$LIBVIRTD_DIR" "$@"
}

# _lv_nsenter DIR CMD...: CMD in instance DIR's namespaces (mount, and
# network for a --netns instance).
_lv_nsenter() {
	local dir=$1 nspid net=()
	shift
	nspid=$(cat "$dir/ns.pid" 2>/dev/null) && [ -n "$nspid" ] || { _lv_err "no namespace in $dir"; return 1; }
	[ ! -s "$dir/addr" ] || net=(--net="/proc/$nspid/ns/net")
	nsenter --mount="/proc/$nspid/ns/mnt" "${net[@]}" -- "$@"
}

libvirtd_virsh() { timeout 20 virsh -q -c "$LIBVIRTD_URI" "$@"; }

_lv_answers() { timeout 5 virsh -q -c "$1" version >/dev/null 2>&1; }

# _lv_launch DIR: start libvirtd in DIR's namespace and wait until it answers.
_lv_launch() {
	local dir=$1 uri t0 deadline pid args=()
	uri="qemu+unix:///system?socket=$dir/run/libvirt/libvirt-sock"
	[ -s "$dir/tcp_port" ] && args+=(--listen)
	t0=$(_lv_now_ms)
	if ! _lv_nsenter "$dir" libvirtd -d "${args[@]}" \
		</dev/null >>"$dir/log/libvirtd.stderr" 2>&1; then
		_lv_err "libvirtd -d failed:"; tail -5 "$dir/log/libvirtd.stderr" "$dir/log/libvirtd.log" >&2
		return 1
	fi
	deadline=$((t0 + ${LIBVIRTD_START_TIMEOUT:-30} * 1000))
	while :; do
		_lv_answers "$uri" && break
		pid=$(_lv_pidfile "$dir/run/libvirtd.pid")
		if [ "$(_lv_now_ms)" -ge "$deadline" ] || { [ -n "$pid" ] && _lv_dead "$pid"; }; then
			_lv_err "libvirtd did not answer within ${LIBVIRTD_START_TIMEOUT:-30} s; log tail:"
			tail -15 "$dir/log/libvirtd.log" >&2
			return 1
		fi
		read -rt 0.1 <> <(:) || true
	done
	LIBVIRTD_START_MS=$(($(_lv_now_ms) - t0))
	export LIBVIRTD_START_MS
}

# libvirtd_start [NAME] [--tcp] [--netns ADDR|N]
libvirtd_start() {
	local name=lv tcp=0 netns="" addr="" a dir uuid nspid t0 i
	while [ $# -gt 0 ]; do
		case $1 in
		--tcp) tcp=1 ;;
		--netns)
			[ $# -ge 2 ] || { _lv_err "libvirtd_start: --netns needs ADDR or N"; return 2; }
			netns=$2; shift ;;
		--netns=*) netns=${1#*=} ;;
		-*) _lv_err "libvirtd_start: unknown option $1"; return 2 ;;
		*) name=$1 ;;
		esac
		shift
	done
	[ "$(id -u)" -eq 0 ] || { _lv_err "needs root"; return 1; }
	for a in unshare nsenter libvirtd virtlogd virsh ss flock ${netns:+ip}; do
		command -v "$a" >/dev/null || { _lv_err "missing $a"; return 1; }
	done
	dir=$(_lv_dir "$name")
	[ ! -e "$dir" ] || { _lv_err "instance '$name' exists already"; return 1; }
	if [ -n "$netns" ]; then
		# The test's switch (and the root namespace's link to it) first: the
		# subnet decides the address.
		_lv_net_addr "$netns" || return $?
		addr=$_LV_ADDR
	fi
	t0=$(_lv_now_ms)
	mkdir -p "$dir"/{etc/qemu/networks/autostart,etc/qemu/autostart,etc/storage,etc/nwfilter,etc/secrets} \
		"$dir"/{run/libvirt,run/sshd,run/lock,lib/qemu,lib/images,lib/dnsmasq,lib/network,log/qemu,cache/qemu}
	chmod 755 "$dir"
	chmod 755 "$dir/run/sshd"
	uuid=$(cat /proc/sys/kernel/random/uuid)
	echo "$uuid" >"$dir/uuid"
	_lv_write_nsscript "$dir"
	local tcpconf="listen_tcp = 0" migconf=""
	if [ -n "$addr" ]; then
		# Its own network namespace: the default port on its own address.
		echo "$addr" >"$dir/addr"
		echo 16509 >"$dir/tcp_port"
		tcpconf="listen_tcp = 1
tcp_port = \"16509\"
listen_addr = \"$addr\"
auth_tcp = \"none\""
		migconf="migration_host = \"$addr\""
	elif [ "$tcp" = 1 ]; then
		_lv_free_port >"$dir/tcp_port" || return 1
		tcpconf="listen_tcp = 1
tcp_port = \"$(cat "$dir/tcp_port")\"
listen_addr = \"127.0.0.1\"
auth_tcp = \"none\""
	fi
	if [ -z "$addr" ]; then
		# Daemons in the root namespace share 127.0.0.1: each would give
		# its first VM VNC port 5900 (and its first incoming migration
		# 49152), and two suites' daemons at once race for it.  Each gets
		# ports of its own instead.
		_lv_port_block || return 1
		echo "$_LV_DISPLAY_MIN" >"$dir/display_port_min"
		migconf="remote_display_port_min = $_LV_DISPLAY_MIN
remote_display_port_max = $((_LV_DISPLAY_MIN + 19))
migration_port_min = $_LV_MIGRATION_MIN
migration_port_max = $((_LV_MIGRATION_MIN + 19))"
	fi
	cat >"$dir/etc/libvirtd.conf" <<EOF
# Private test daemon (tests/integration/libvirtd.sh)
listen_tls = 0
$tcpconf
unix_sock_group = "root"
unix_sock_ro_perms = "0777"
unix_sock_rw_perms = "0770"
unix_sock_admin_perms = "0700"
auth_unix_ro = "none"
auth_unix_rw = "none"
host_uuid = "$uuid"
log_outputs = "$LIBVIRTD_LOG_LEVEL:file:/var/log/libvirt/libvirtd.log"
EOF
	local cg="" c
	for c in ${LIBVIRTD_CGROUPS:-}; do cg+="${cg:+, }\"$c\""; done
	# With controllers, libvirt makes /sys/fs/cgroup/*/machine (shared with
	# the host and other instances) and leaves it there: remember which of
	# those did not exist before, _lv_cleanup removes them if empty.
	if [ -n "$cg" ]; then
		for c in /sys/fs/cgroup/*/; do
			[ -e "${c}machine" ] || echo "${c}machine"
		done >"$dir/cgroups.new"
	fi
	cat >"$dir/etc/qemu.conf" <<EOF
# Private test daemon (tests/integration/libvirtd.sh)
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
vnc_listen = "127.0.0.1"
vnc_auto_unix_socket = 0
spice_listen = "127.0.0.1"
cgroup_controllers = [ $cg ]
namespaces = [ ]
stdio_handler = "logd"
$migconf
EOF
	[ -z "${LIBVIRTD_HUGETLBFS:-}" ] || echo "hugetlbfs_mount = \"$dir/hugepages\"" >>"$dir/etc/qemu.conf"
	cat >"$dir/etc/virtlogd.conf" <<EOF
log_outputs = "$LIBVIRTD_LOG_LEVEL:file:/var/log/libvirt/virtlogd.log"
EOF
	: >"$dir/etc/libvirt.conf"
	# QEMU capabilities probing is most of a cold start (~7 s of ~8 here):
	# reuse what an earlier instance probed.  libvirt checks the cache itself
	# (qemu/libvirt binaries' ctime, kernel, microcode) and reprobes if stale.
	local caps=${LIBVIRTD_CAPS_CACHE-$T_BUILD/libvirtd-caps}
	if [ -n "$caps" ] && compgen -G "$caps/*.xml" >/dev/null; then
		mkdir -p "$dir/cache/qemu/capabilities"
		cp "$caps"/*.xml "$dir/cache/qemu/capabilities/" 2>/dev/null
	fi

	setsid unshare -m ${addr:+-n} --propagation private -- "$dir/ns.sh" hold "$dir" "$_LV_TEST_PID" \
		</dev/null >"$dir/ns.log" 2>&1 &
	nspid=$!
	echo "$nspid" >"$dir/ns.pid"
	# The cleanup goes in now: whatever fails below is still torn down.
	t_on_exit "_lv_cleanup '$dir'"
	_lv_ns_ready() { [ -s "$dir/ns.id" ] || _lv_dead "$nspid"; }
	wait_for 10 _lv_ns_ready
	if ! [ -s "$dir/ns.id" ] || _lv_dead "$nspid"; then
		_lv_err "mount namespace setup failed:"; cat "$dir/ns.log" >&2; return 1
	fi
	if [ "$(cat "$dir/ns.id")" = "$(readlink /proc/self/ns/mnt)" ]; then
		_lv_err "namespace is the host's"; return 1
	fi
	# Sanity: inside, /run/libvirt is ours.
	if ! nsenter --mount="/proc/$nspid/ns/mnt" -- test -e /etc/libvirt/libvirt.conf -a ! -s /etc/libvirt/libvirt.conf; then
		_lv_err "bind mounts not visible in the namespace"; return 1
	fi
	if [ -n "$addr" ]; then
		_lv_net_plug "$dir" "$nspid" "$addr" || return 1
	fi
	if ! _lv_nsenter "$dir" virtlogd -d </dev/null >>"$dir/log/virtlogd.stderr" 2>&1; then
		_lv_err "virtlogd -d failed:"; cat "$dir/log/virtlogd.stderr" >&2; return 1
	fi
	_lv_virtlogd_up() { [ -S "$dir/run/libvirt/virtlogd-sock" ]; }
	wait_for 10 _lv_virtlogd_up || { _lv_err "virtlogd socket did not appear"; return 1; }
	if [ -n "${LIBVIRTD_HUGETLBFS:-}" ]; then
		mkdir -p "$dir/hugepages"
		nsenter --mount="/proc/$nspid/ns/mnt" -- mount -t hugetlbfs hugetlbfs "$dir/hugepages" ||
			{ _lv_err "cannot mount hugetlbfs on $dir/hugepages"; return 1; }
	fi
	_lv_launch "$dir" || return 1
	libvirtd_use "$name"
	LIBVIRTD_START_MS=$(($(_lv_now_ms) - t0))
	export LIBVIRTD_START_MS
	_lv_save_caps "$dir" "$caps"
	return 0
}

# _lv_save_caps DIR CACHE: keep the probed capabilities for the next start.
_lv_save_caps() {
	local dir=$1 caps=$2 f tmp
	[ -n "$caps" ] || return 0
	for f in "$dir"/cache/qemu/capabilities/*.xml; do
		[ -f "$f" ] || continue
		cmp -s "$f" "$caps/${f##*/}" && continue
		mkdir -p "$caps" || return 0
		tmp=$(mktemp "$caps/.tmp.XXXXXX") || return 0
		cp "$f" "$tmp" && mv -f "$tmp" "$caps/${f##*/}"
	done
	return 0
}

# libvirtd_stop [NAME]: SIGTERM libvirtd and wait until it is gone (15 s).
# Running guests, virtlogd and sshd stay.
libvirtd_stop() {
	local dir pid
	dir=$(_lv_dir "${1:-}")
	pid=$(_lv_pidfile "$dir/run/libvirtd.pid") || return 0
	_lv_alive "$pid" || return 0
	# (A stale pidfile could name someone else's process by now.)
	[ "$(readlink "/proc/$pid/ns/mnt" 2>/dev/null)" = "$(cat "$dir/ns.id")" ] || return 0
	kill -TERM "$pid"
	if ! wait_for 15 _lv_dead "$pid"; then
		_lv_err "libvirtd $pid ignored SIGTERM; killing it"
		kill -KILL "$pid"; wait_for 5 _lv_dead "$pid"
	fi
	# A stale socket file would make clients wait for nothing.
	[ ! -S "$dir/run/libvirt/libvirt-sock" ] || rm -f "$dir/run/libvirt/libvirt-sock"
	return 0
}

# libvirtd_restart [NAME]
libvirtd_restart() {
	local name=${1:-${LIBVIRTD_NAME:-lv}} dir
	dir=$(_lv_dir "$name")
	libvirtd_stop "$name" || return 1
	_lv_launch "$dir" || return 1
	[ "$name" != "${LIBVIRTD_NAME:-}" ] || libvirtd_use "$name"
}

# _lv_cleanup DIR: destroy guests and networks, then stop every process in
# the namespace (libvirtd, virtlogd, qemu, dnsmasq, sshd, the holder).
_lv_cleanup() {
	local dir=$1 uri ns d
	uri="qemu+unix:///system?socket=$dir/run/libvirt/libvirt-sock"
	if _lv_answers "$uri"; then
		for d in $(timeout 10 virsh -q -c "$uri" list --name 2>/dev/null); do
			timeout 20 virsh -q -c "$uri" destroy "$d" >/dev/null 2>&1
		done
		for d in $(timeout 10 virsh -q -c "$uri" net-list --name 2>/dev/null); do
			timeout 20 virsh -q -c "$uri" net-destroy "$d" >/dev/null 2>&1
		done
	fi
	ns=$(cat "$dir/ns.id" 2>/dev/null)
	[ -z "$ns" ] || "$dir/ns.sh" kill "$dir" "$ns"
	# Belt and braces: what the pidfiles name, if still in our namespace.
	for d in "$dir"/run/libvirt/qemu/*.pid "$dir"/run/libvirt/network/*.pid \
		"$dir"/run/*.pid "$dir"/sshd/sshd.pid; do
		[ -n "$ns" ] && [ -f "$d" ] || continue
		d=$(_lv_pidfile "$d") || continue
		[ "$(readlink "/proc/$d/ns/mnt" 2>/dev/null)" = "$ns" ] && kill -KILL "$d"
	done
	d=$(cat "$dir/ns.pid" 2>/dev/null) && [ -n "$d" ] &&
		[ "$(readlink "/proc/$d/ns/mnt" 2>/dev/null)" = "$ns" ] && kill -TERM "$d"
	# cgroups this instance made (LIBVIRTD_CGROUPS): only empty ones go
	# (rmdir fails on a cgroup some other daemon's guest is in).
	while read -r d; do
		[ -d "$d" ] || continue
		find "$d" -mindepth 1 -maxdepth 1 -type d -name '*.libvirt-qemu' -exec rmdir {} + 2>/dev/null
		rmdir "$d" 2>/dev/null
	done <"$dir/cgroups.new" 2>/dev/null
	rm -rf "$dir"
}

# ---- network namespaces ----------------------------------------------------
#
# All --netns instances of a test hang on one bridge (br0) in a "switch": a
# network namespace of its own, held by a `tail --pid=TEST` that ends with
# the test shell.  Each instance's namespace gets eth0 (ADDR/24), the other
# end of that veth pair is a br0 port.  The root namespace gets SUBNET.254 on
# a veth into the switch too (unless LIBVIRTD_NET_ROOT=0), so the test shell,
# virsh and vmtty reach every daemon by TCP just as the daemons reach each
# other.  Nothing has a name in /run/netns: a namespace is gone when its last
# process is, and its veths with it (the root end too), even after kill -9.

_lv_net_dir() { echo "$T_TMP/libvirtd-net"; }

# _lv_subnet_used S: S.0/24 has a route or an address in the root namespace
# (another test's switch, or a real network).
_lv_subnet_used() {
	[ -n "$(ip -4 -o route show root "$1.0/24" 2>/dev/null)$(ip -4 -o addr show to "$1.0/24" 2>/dev/null)" ]
}

# _lv_net_addr ADDR|N: sets _LV_ADDR, the instance's address: ADDR as given
# (its /24 is the subnet), or host N in a subnet 10.77.X.0/24 that nothing
# in the root namespace uses yet.  Starts the switch on first use.
_lv_net_addr() {
	local spec=$1 want="" host ndir d
	_LV_ADDR=
	if [[ $spec =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]]; then
		for d in 1 2 3; do
			[ "${BASH_REMATCH[d]}" -le 255 ] || { _lv_err "--netns: bad address '$spec'"; return 2; }
		done
		want=${spec%.*} host=${BASH_REMATCH[4]}
	elif [[ $spec =~ ^[0-9]{1,3}$ ]]; then
		host=$spec
	else
		_lv_err "--netns: '$spec' is neither an IPv4 address nor a host number"; return 2
	fi
	[ "$host" -ge 1 ] && [ "$host" -le 253 ] || { _lv_err "--netns: host part of '$spec' must be 1..253"; return 2; }
	_lv_net_up "$want" || return 1
	ndir=$(_lv_net_dir)
	_LV_ADDR=$(cat "$ndir/subnet").$host
	for d in "$T_TMP"/libvirtd-*/addr; do
		[ -f "$d" ] || continue
		[ "$(cat "$d")" != "$_LV_ADDR" ] || { _lv_err "--netns: $_LV_ADDR is taken by ${d%/addr}"; return 1; }
	done
}

# _lv_net_up [SUBNET]: the switch, once per test (SUBNET e.g. 10.77.0, or
# "" for a free one).
_lv_net_up() {
	local want=$1 ndir s x pid lock rif
	ndir=$(_lv_net_dir)
	if [ -s "$ndir/subnet" ]; then
		s=$(cat "$ndir/subnet")
		[ -z "$want" ] || [ "$want" = "$s" ] ||
			{ _lv_err "--netns: this test's instances are on $s.0/24, not $want.0/24"; return 1; }
		return 0
	fi
	mkdir -p "$ndir"
	rm -f "$ndir/net.id"
	setsid unshare -n -- bash -c 'set -e
		ip link set lo up
		ip link add name br0 type bridge
		ip link set br0 up
		readlink /proc/self/ns/net >"$1/net.id.new"
		mv "$1/net.id.new" "$1/net.id"
		exec tail --pid="$2" -f /dev/null' _lv_switch "$ndir" "$_LV_TEST_PID" \
		</dev/null >"$ndir/switch.log" 2>&1 &
	pid=$!
	echo "$pid" >"$ndir/pid"
	t_on_exit "_lv_net_cleanup '$ndir'"
	_lv_switch_ready() { [ -s "$ndir/net.id" ] || _lv_dead "$pid"; }
	wait_for 10 _lv_switch_ready
	if ! [ -s "$ndir/net.id" ] || _lv_dead "$pid"; then
		_lv_err "switch namespace setup failed:"; cat "$ndir/switch.log" >&2; return 1
	fi
	if [ "${LIBVIRTD_NET_ROOT:-1}" = 0 ]; then
		echo "${want:-10.77.0}" >"$ndir/subnet"
		return 0
	fi
	# Choosing a subnet and routing it here must be one step for tests
	# running side by side: under a lock every test of this tree shares.
	exec {lock}>>"${TMPDIR:-/tmp}/vmtty-libvirtd-net.lock"
	if ! flock -w 30 "$lock"; then
		exec {lock}>&-; _lv_err "--netns: no lock on ${TMPDIR:-/tmp}/vmtty-libvirtd-net.lock"; return 1
	fi
	if [ -n "$want" ]; then
		s=$want
		if _lv_subnet_used "$s"; then
			exec {lock}>&-
			_lv_err "--netns: $s.0/24 is in use in the root namespace (another test?); give a host number instead"
			return 1
		fi
	else
		s=
		for ((x = 0; x < 256; x++)); do
			_lv_subnet_used "10.77.$x" || { s=10.77.$x; break; }
		done
		[ -n "$s" ] || { exec {lock}>&-; _lv_err "--netns: no free subnet in 10.77.0.0/16"; return 1; }
	fi
	rif=lvt$_LV_TEST_PID
	if ! { ip link add name "$rif" type veth peer name root netns "$pid" &&
		echo "$rif" >"$ndir/root_if" &&
		ip addr add "$s.254/24" dev "$rif" && ip link set "$rif" up &&
		nsenter --net="/proc/$pid/ns/net" -- ip link set root master br0 up; }; then
		exec {lock}>&-; _lv_err "--netns: cannot link the root namespace to the switch"; return 1
	fi
	exec {lock}>&-
	echo "$s" >"$ndir/subnet"
	echo "$s.254" >"$ndir/root_addr"
}

# _lv_net_plug DIR NSPID ADDR: eth0 with ADDR/24 in the instance's network
# namespace, its peer a port of the switch's bridge.
_lv_net_plug() {
	local dir=$1 nspid=$2 addr=$3 sw port
	sw=/proc/$(cat "$(_lv_net_dir)/pid")/ns/net
	port=i$nspid
	if ! { nsenter --net="$sw" -- ip link add name "$port" type veth peer name eth0 netns "$nspid" &&
		nsenter --net="$sw" -- ip link set "$port" master br0 up &&
		nsenter --net="/proc/$nspid/ns/net" -- sh -c \
			"ip link set lo up && ip addr add $addr/24 dev eth0 && ip link set eth0 up"; }; then
		_lv_err "--netns: cannot plug $addr into the switch"; return 1
	fi
	readlink "/proc/$nspid/ns/net" >"$dir/net.id"
}

# _lv_net_cleanup NDIR: the root link, then the switch.
_lv_net_cleanup() {
	local ndir=$1 pid rif
	rif=$(cat "$ndir/root_if" 2>/dev/null)
	[ -z "$rif" ] || ! ip link show dev "$rif" >/dev/null 2>&1 || ip link del dev "$rif"
	pid=$(cat "$ndir/pid" 2>/dev/null)
	[ -n "$pid" ] && [ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" = "$(cat "$ndir/net.id" 2>/dev/null)" ] &&
		kill -TERM "$pid"
	rm -rf "$ndir"
}

# ---- storage -----------------------------------------------------------------

# libvirtd_shared_dir: prints a directory every instance and the test see at
# the same path (made on first call).  No bind mount needed: each mount
# namespace is a copy of the root one, and only the five libvirt paths are
# mounted over, so $T_TMP is one and the same directory everywhere.
libvirtd_shared_dir() {
	local d=$T_TMP/libvirt-shared
	mkdir -p "$d" && chmod 755 "$d" && echo "$d"
}

# libvirtd_host_path PATH: PATH as the current instance's daemon sees it ->
# the same file's path from the test (outside its mount namespace).
libvirtd_host_path() {
	local p=$1 d=$LIBVIRTD_DIR
	case $p in
	/var/run | /var/run/*) p=/run${p#/var/run} ;;
	esac
	case $p in
	/run | /run/*) echo "$d/run${p#/run}" ;;
	/etc/libvirt | /etc/libvirt/*) echo "$d/etc${p#/etc/libvirt}" ;;
	/var/lib/libvirt | /var/lib/libvirt/*) echo "$d/lib${p#/var/lib/libvirt}" ;;
	/var/log/libvirt | /var/log/libvirt/*) echo "$d/log${p#/var/log/libvirt}" ;;
	/var/cache/libvirt | /var/cache/libvirt/*) echo "$d/cache${p#/var/cache/libvirt}" ;;
	*) echo "$p" ;;
	esac
}

# libvirtd_pool POOL [DIR]: a dir pool in the current instance, persistent,
# autostarted and active; DIR as the daemon sees it (default
# /var/lib/libvirt/images: the same path in every instance, but each its own
# directory; libvirtd_shared_dir for one they share).
libvirtd_pool() {
	local pool=$1 path=${2:-/var/lib/libvirt/images}
	libvirtd_virsh pool-define-as "$pool" dir --target "$path" >/dev/null &&
		libvirtd_virsh pool-build "$pool" >/dev/null &&
		libvirtd_virsh pool-start "$pool" >/dev/null &&
		libvirtd_virsh pool-autostart "$pool" >/dev/null ||
		{ _lv_err "cannot make pool '$pool' at $path in '$LIBVIRTD_NAME'"; return 1; }
}

# libvirtd_pool_path POOL: the pool's directory as the daemon sees it.
libvirtd_pool_path() {
	libvirtd_virsh pool-dumpxml "$1" 2>/dev/null | sed -n 's:^ *<path>\(.*\)</path>.*:\1:p' | head -n 1
}

# libvirtd_vol_copy POOL VOL FILE: FILE (e.g. the guest's rootfs.qcow2) copied
# into POOL as volume VOL; prints the volume's path as the daemon sees it.
libvirtd_vol_copy() {
	local pool=$1 vol=$2 file=$3 dpath
	dpath=$(libvirtd_pool_path "$pool")
	[ -n "$dpath" ] || { _lv_err "no pool '$pool' in '$LIBVIRTD_NAME'"; return 1; }
	cp --sparse=always "$file" "$(libvirtd_host_path "$dpath")/$vol" &&
		libvirtd_virsh pool-refresh "$pool" >/dev/null || return 1
	echo "$dpath/$vol"
}

# ---- ssh -----------------------------------------------------------------

# A client side shared by all instances: one key, a private known_hosts and
# an ssh wrapper (URI parameter command=) that keeps ssh away from ~/.ssh.
_lv_ssh_client() {
	local c=$T_TMP/libvirt-ssh-client
	if [ ! -x "$c/ssh" ]; then
		mkdir -p "$c" && chmod 700 "$c"
		ssh-keygen -q -t ed25519 -N '' -C vmtty-test-client -f "$c/id_ed25519" || return 1
		: >"$c/known_hosts"
		cat >"$c/ssh" <<EOF
#!/bin/sh
# ssh for libvirt's qemu+ssh:// test URIs: no ~/.ssh, no /etc/ssh/ssh_config.
exec ssh -F /dev/null -o UserKnownHostsFile=$c/known_hosts \\
	-o GlobalKnownHostsFile=/dev/null -o IdentitiesOnly=yes -o BatchMode=yes \\
	-o PasswordAuthentication=no -o LogLevel=ERROR "\$@"
EOF
		chmod 755 "$c/ssh"
	fi
	SSH_KEY=$c/id_ed25519 SSH_KNOWN_HOSTS=$c/known_hosts SSH_COMMAND=$c/ssh
	export SSH_KEY SSH_KNOWN_HOSTS SSH_COMMAND
}

_lv_export_ssh() {
	local dir=$1 sock
	_lv_ssh_client || return 1
	SSH_PORT=$(cat "$dir/sshd/port")
	sock=$dir/run/libvirt/libvirt-sock
	export SSH_PORT
	export SSH_URI="qemu+ssh://root@127.0.0.1:$SSH_PORT/system?keyfile=$SSH_KEY&no_verify=1&command=$SSH_COMMAND&socket=$sock"
	export SSH_LIBSSH_URI="qemu+libssh://root@127.0.0.1:$SSH_PORT/system?keyfile=$SSH_KEY&known_hosts=$SSH_KNOWN_HOSTS&known_hosts_verify=normal&sshauth=privkey&socket=$sock"
}

# sshd_start [NAME]: an sshd for instance NAME (default: current) on
# 127.0.0.1:free port, inside its namespace so the remote side sees the
# private /run/libvirt.
sshd_start() {
	local name=${1:-${LIBVIRTD_NAME:-lv}} dir s port try nspid pid
	dir=$(_lv_dir "$name")
	[ -s "$dir/ns.pid" ] || { _lv_err "sshd_start: no libvirtd '$name'"; return 1; }
	nspid=$(cat "$dir/ns.pid")
	_lv_ssh_client || return 1
	s=$dir/sshd
	mkdir -p "$s" && chmod 700 "$s"
	ssh-keygen -q -t ed25519 -N '' -C vmtty-test-host -f "$s/host_ed25519" || return 1
	cp "$SSH_KEY.pub" "$s/authorized_keys"
	# libvirt's default remote command for a URI with socket= (and no proxy=)
	# is `nc -U SOCKET`; Debian 12 has no nc unless netcat-openbsd is
	# installed.  This stand-in does just that with socat; sshd puts it first
	# in PATH (SetEnv).  With proxy=native|auto libvirt runs virt-ssh-helper,
	# which ignores socket= and uses /run/libvirt/libvirt-sock: inside the
	# namespace that is the private daemon too.
	mkdir -p "$s/bin"
	cat >"$s/bin/nc" <<'NC'
#!/bin/sh
# nc stand-in for libvirt's ssh transport: only `nc [-q0] -U SOCKET`.
sock=
while [ $# -gt 0 ]; do
	case $1 in
	-U) sock=$2; shift ;;
	-q) [ $# -ge 2 ] || { echo "nc: option requires an argument -- q" >&2; exit 1; }; shift ;;
	-q*) ;;
	esac
	shift
done
[ -n "$sock" ] || { echo "nc stand-in: only -U SOCKET is supported" >&2; exit 1; }
exec socat - "UNIX-CONNECT:$sock"
NC
	chmod 755 "$s/bin/nc"
	for try in 1 2 3 4 5; do
		port=$(_lv_free_port) || return 1
		cat >"$s/sshd_config" <<EOF
# Private test sshd (tests/integration/libvirtd.sh)
ListenAddress 127.0.0.1
Port $port
HostKey $s/host_ed25519
PidFile $s/sshd.pid
AuthorizedKeysFile $s/authorized_keys
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
UseDNS no
X11Forwarding no
AllowTcpForwarding ${SSHD_TCP_FORWARDING:-no}
PermitTTY no
PrintMotd no
Subsystem sftp internal-sftp
SetEnv PATH=$s/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
EOF
		rm -f "$s/sshd.pid"
		nsenter --mount="/proc/$nspid/ns/mnt" -- /usr/sbin/sshd -t -f "$s/sshd_config" || return 1
		nsenter --mount="/proc/$nspid/ns/mnt" -- /usr/sbin/sshd -f "$s/sshd_config" -E "$s/sshd.log" \
			</dev/null >>"$s/sshd.log" 2>&1 || continue
		_lv_sshd_up() { [ -s "$s/sshd.pid" ] && _lv_listening "$port"; }
		if wait_for 5 _lv_sshd_up; then
			echo "$port" >"$s/port"
			printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$s/host_ed25519.pub")" >>"$SSH_KNOWN_HOSTS"
			[ "$name" != "${LIBVIRTD_NAME:-}" ] || _lv_export_ssh "$dir"
			return 0
		fi
		pid=$(_lv_pidfile "$s/sshd.pid") && kill "$pid"
	done
	_lv_err "sshd did not start:"; tail -5 "$s/sshd.log" >&2
	return 1
}

# ---- helpers that must not outlive the test --------------------------------

# _lv_group LOG CMD...: run CMD in a new session/process group together with a
# watchdog (tail --pid) that ends the whole group when the test shell is gone,
# even after kill -9.  Prints the group id; _lv_group_kill ID ends it all.
_lv_group() {
	local log=$1; shift
	setsid bash -c '"$@" & tail --pid='"$_LV_TEST_PID"' -f /dev/null & wait -n; kill 0' \
		"_lv_group:$T_TMP" "$@" </dev/null >>"$log" 2>&1 &
	echo $!
}
# _lv_group_kill ID: SIGTERM the group, unless ID is by now some other
# process's (PIDs wrap around quickly here: pid_max is 32768).
_lv_group_kill() {
	local leader
	[ -n "$1" ] || return 0
	if _lv_alive "$1"; then
		leader=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)
		[[ $leader == *"_lv_group:$T_TMP"* ]] || return 0
	fi
	kill -TERM -- -"$1" 2>/dev/null
	return 0
}

# ---- blackhole -------------------------------------------------------------

# blackhole_start: 127.0.0.1:BLACKHOLE_PORT accepts connections and never
# sends a byte, not even an SSH banner (socat -u only reads; one child per
# connection, all in the listener's process group BLACKHOLE_PID, killed
# together on exit).  Clients hang until their own timeout.
blackhole_start() {
	local try port pid
	command -v socat >/dev/null || { _lv_err "missing socat"; return 1; }
	_lv_ssh_client || return 1
	for try in 1 2 3 4 5; do
		port=$(_lv_free_port) || return 1
		pid=$(_lv_group "$T_TMP/blackhole.log" \
			socat -u "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" OPEN:/dev/null)
		t_on_exit "_lv_group_kill $pid"
		_lv_bh_up() { _lv_listening "$port" || _lv_dead "$pid"; }
		wait_for 5 _lv_bh_up
		if _lv_alive "$pid" && _lv_listening "$port"; then
			export BLACKHOLE_PORT=$port BLACKHOLE_PID=$pid
			export BLACKHOLE_TCP_URI="qemu+tcp://127.0.0.1:$port/system"
			export BLACKHOLE_SSH_URI="qemu+ssh://root@127.0.0.1:$port/system?keyfile=$SSH_KEY&no_verify=1&command=$SSH_COMMAND"
			export BLACKHOLE_LIBSSH_URI="qemu+libssh://root@127.0.0.1:$port/system?keyfile=$SSH_KEY&known_hosts=$SSH_KNOWN_HOSTS&known_hosts_verify=normal&sshauth=privkey"
			return 0
		fi
		_lv_group_kill "$pid"
	done
	_lv_err "blackhole listener did not start"
	return 1
}

# ---- the tiny guest --------------------------------------------------------

# tiny_domain_xml NAME [MEMORY_MIB] [DISK]: the tiny guest (tests/guest) as a
# TCG domain: direct kernel boot, console=ttyS0, pty serial (also logged by
# virtlogd to /var/log/libvirt/qemu/NAME-serial0.log inside the namespace,
# see libvirtd_serial_log) + console, VNC on 127.0.0.1 (autoport), VGA,
# virtio balloon, ACPI (for `virsh shutdown`).  DISK (a qcow2 path as the
# daemon sees it, e.g. from libvirtd_vol_copy of $GUEST/rootfs.qcow2) becomes
# vda and the root file system (vmtty.root=/dev/vda: "ROOT=disk" on serial).
tiny_domain_xml() {
	local name mem=${2:-256} g=${GUEST:-$T_BUILD/guest} cmdline=console=ttyS0 disk=""
	name=$(_lv_xml_escape "$1")
	g=$(_lv_xml_escape "$g")
	if [ -n "${3:-}" ]; then
		cmdline="console=ttyS0 vmtty.root=/dev/vda"
		disk="    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$(_lv_xml_escape "$3")'/>
      <target dev='vda' bus='virtio'/>
    </disk>
"
	fi
	cat <<EOF
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>$mem</memory>
  <currentMemory unit='MiB'>$mem</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$g/vmlinuz</kernel>
    <initrd>$g/initrd.img</initrd>
    <cmdline>$cmdline</cmdline>
  </os>
  <features>
    <acpi/>
  </features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
${disk}    <serial type='pty'>
      <log file='/var/log/libvirt/qemu/$name-serial0.log' append='off'/>
      <target port='0'/>
    </serial>
    <console type='pty'>
      <target type='serial' port='0'/>
    </console>
    <graphics type='vnc' autoport='yes' listen='127.0.0.1'>
      <listen type='address' address='127.0.0.1'/>
    </graphics>
    <video>
      <model type='vga'/>
    </video>
    <memballoon model='virtio'/>
  </devices>
</domain>
EOF
}

libvirtd_serial_log() { echo "$LIBVIRTD_DIR/log/qemu/$1-serial0.log"; }
libvirtd_domstate() { libvirtd_virsh domstate "$1" 2>/dev/null | head -n 1; }
_lv_state_is() { [ "$(libvirtd_domstate "$1")" = "$2" ]; }
libvirtd_wait_state() { wait_for "$3" _lv_state_is "$1" "$2"; }
_lv_serial_has() { grep -qF -- "$2" "$(libvirtd_serial_log "$1")" 2>/dev/null; }
libvirtd_wait_serial() { wait_for "$3" _lv_serial_has "$1" "$2"; }

# ---- virsh console, driven without a terminal -------------------------------
#
# libvirtd_console_open NAME: `virsh console --force NAME` on a pty made by
# socat (virsh insists on a tty), its output appended to CONSOLE_OUT, its
# input from a fifo held open read-write on fd CONSOLE_FD (so opening never
# blocks and nothing sees EOF until libvirtd_console_close).  Output printed
# before the console attached is not in CONSOLE_OUT: for boot messages use
# libvirtd_serial_log (virtlogd records the serial port from the start).
libvirtd_console_open() {
	local name=$1 d
	d=$(mktemp -d "$T_TMP/console-$name.XXXXXX") || return 1
	mkfifo "$d/in" && : >"$d/out" || return 1
	exec {CONSOLE_FD}<>"$d/in"
	# Not inherited by socat's group ({CONSOLE_FD}>&-): a writer there would
	# keep socat from ever seeing EOF, and libvirtd_console_close would wait
	# for its 5 s fallback every time.
	CONSOLE_PID=$(_lv_group "$d/socat.log" socat "PIPE:$d/in!!OPEN:$d/out,append" \
		"EXEC:virsh -c '$LIBVIRTD_URI' console --force '$name',pty,setsid,ctty,rawer" {CONSOLE_FD}>&-)
	t_on_exit "_lv_group_kill $CONSOLE_PID"
	export CONSOLE_OUT=$d/out CONSOLE_FD CONSOLE_PID
	# virsh writes "Escape character is ^]" once it is attached.
	_lv_console_attached() { grep -q 'Escape character' "$d/out" || _lv_dead "$CONSOLE_PID"; }
	wait_for 10 _lv_console_attached
	grep -q 'Escape character' "$d/out" || { _lv_err "virsh console did not attach:"; cat "$d/socat.log" >&2; return 1; }
}
# libvirtd_console_send TEXT: type TEXT and Enter.
libvirtd_console_send() { printf '%s\r' "$*" >&"$CONSOLE_FD"; }
_lv_console_has() { grep -qF -- "$1" "$CONSOLE_OUT"; }
# libvirtd_console_wait TEXT SECONDS
libvirtd_console_wait() { wait_for "$2" _lv_console_has "$1"; }
# libvirtd_console_close: EOF on virsh's stdin, then the group is gone.
libvirtd_console_close() {
	[ -n "${CONSOLE_FD:-}" ] || return 0
	exec {CONSOLE_FD}>&-
	unset CONSOLE_FD
	_lv_group_gone() { ! _lv_group_alive "$CONSOLE_PID"; }
	wait_for 5 _lv_group_gone || _lv_group_kill "$CONSOLE_PID"
	wait_for 5 _lv_group_gone
}
