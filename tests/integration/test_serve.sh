#!/usr/bin/env bash
# vmtty serve, the Prometheus exporter, with the tiny real guest (TCG), a
# libvirt test-driver host and a black-holed host (a listener that never
# says a word): promtool check metrics passes on a scrape; the test
# driver's numbers agree with virsh within one interval; the black-holed
# host has vmtty_host_up 0 and no series while scrapes answer within 1 s;
# --listen garbage is one line and exit 2; a non-loopback --listen is
# logged as reachable from other machines; SIGTERM exits 0 and leaves the
# guest running; other paths are 404.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/libvirtd.sh"

have_promtool=; command -v promtool >/dev/null && have_promtool=1
have_virsh=; command -v virsh >/dev/null && have_virsh=1
port=$(_lv_free_port)
URL="http://127.0.0.1:$port"
LOG="$T_TMP/serve.log"

# scrape: the metrics into $T_TMP/scrape (and SCRAPE_S, curl's time), at
# most 1 s; false when the request failed.
scrape() {
	SCRAPE_S=$(curl -s -m 1 -o "$T_TMP/scrape" -w '%{time_total}' "$URL/metrics") || return 1
}
# value SERIES: the value of the series SERIES (name{labels}) in the last scrape.
value() { grep -F -- "$1 " "$T_TMP/scrape" | awk '{ print $2 }'; }
_scrape_has() { scrape && grep -qF -- "$1" "$T_TMP/scrape"; }
# serving_pid: the vmtty serve started below.
SERVE_PID=
serve_stop() { [ -n "$SERVE_PID" ] && kill -9 "$SERVE_PID" 2>/dev/null; }
t_on_exit serve_stop

# 1. Bad input: one line, exit 2, nothing started.
t_status "serve --listen garbage: usage error" 2 "$VMTTY" serve --listen garbage
t_eq "  in one line" 1 "$(printf '%s\n' "$T_ERR" | wc -l)"
t_match "  naming what --listen takes" "ADDRESS:PORT" "$T_ERR"
t_status "serve --listen 127.0.0.1:70000: usage error" 2 "$VMTTY" serve --listen 127.0.0.1:70000
t_status "serve --listen 127.1:80: usage error" 2 "$VMTTY" serve --listen 127.1:80
t_status "serve --listen [::1:80: usage error" 2 "$VMTTY" serve --listen '[::1:80'
t_status "serve --interval 0: usage error" 2 "$VMTTY" serve --interval 0
t_status "serve with an operand: usage error" 2 "$VMTTY" serve now

# 2. The world: the guest running, a test-driver host, a black-holed host.
mkdir -p "$T_TMP/disks"
qemu-img create -q -f qcow2 "$T_TMP/disks/data.qcow2" 64M
t_status "create g (user networking, a data disk)" 0 create_tiny g --disk "$T_TMP/disks/data.qcow2"
t_status "start g" 0 "$VMTTY" start g --wait-serial "GUEST READY" --timeout 90
if [ -n "$have_virsh" ]; then
	t_status "host add lvt test:///default" 0 "$VMTTY" host add lvt test:///default
fi
t_check "blackhole_start" blackhole_start
t_status "host add bh (black-holed)" 0 "$VMTTY" host add bh "${BLACKHOLE_TCP_URI:-qemu+tcp://127.0.0.1:1/system}"

"$VMTTY" serve --listen "127.0.0.1:$port" --interval 1 2>"$LOG" &
SERVE_PID=$!
t_check "serve answers, with the built-in host up" \
	wait_for 10 _scrape_has 'vmtty_host_up{host="local"} 1'
t_match "  it logged where it listens" "serving metrics on http://127.0.0.1:$port/metrics" "$(cat "$LOG")"
t_nomatch "  not 'reachable from other machines' on loopback" "other machines" "$(cat "$LOG")"

# 3. The guest's series.
t_check "g's CPU time appears" wait_for 5 _scrape_has 'libvirt_domain_info_cpu_time_seconds_total{host="local",domain="g"}'
t_eq "g: running (vstate 1)" 1 "$(value 'libvirt_domain_info_vstate{host="local",domain="g"}')"
t_eq "g: 1 vCPU" 1 "$(value 'libvirt_domain_info_virtual_cpus{host="local",domain="g"}')"
t_eq "g: the balloon 256 MiB in bytes" 268435456 \
	"$(value 'libvirt_domain_memory_stats_actual_balloon_bytes{host="local",domain="g"}')"
t_check "g: CPU time above 0" python3 -c "import sys; sys.exit(not float('$(value 'libvirt_domain_info_cpu_time_seconds_total{host="local",domain="g"}')') > 0)"
t_match "g: disk0's written bytes counted" \
	'^libvirt_domain_block_stats_write_bytes_total\{host="local",domain="g",target_device="disk0"\} [0-9]+$' \
	"$(cat "$T_TMP/scrape")"
t_match "g: its uuid in libvirt_domain_info_meta" \
	"^libvirt_domain_info_meta\{host=\"local\",domain=\"g\",uuid=\"$(vm_uuid g)\"\} 1$" "$(cat "$T_TMP/scrape")"
t_nomatch "g: user networking has no interface series (not 0)" \
	'interface_stats_[a-z_]+\{host="local",domain="g"' "$(cat "$T_TMP/scrape")"

# 4. promtool on a whole scrape (built-in and libvirt VMs).
if [ -n "$have_virsh" ]; then
	t_check "the test-driver host comes up" wait_for 10 _scrape_has 'vmtty_host_up{host="lvt"} 1'
fi
if [ -n "$have_promtool" ]; then
	scrape
	t_status "promtool check metrics passes on a scrape" 0 promtool check metrics <"$T_TMP/scrape"
	t_eq "  with nothing to say" "" "$T_OUT$T_ERR"
	t_check "  and every series has a HELP and a TYPE" python3 - "$T_TMP/scrape" <<'EOF'
import re, sys
helps, types = set(), set()
for line in open(sys.argv[1]):
    m = re.match(r"# (HELP|TYPE) (\S+)", line)
    if m:
        (helps if m.group(1) == "HELP" else types).add(m.group(2))
    elif line.strip():
        name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
        if name not in helps or name not in types:
            sys.exit(1)
EOF
else
	t_skip "promtool check metrics" "promtool is not installed (Debian package prometheus)"
fi

# 5. The test driver's domain 'test' against virsh.  Its counters grow
# with the clock, so the exporter's value must lie between two virsh
# readings taken around a scrape that follows within one interval.
if [ -n "$have_virsh" ]; then
	V="virsh -c test:///default"
	want_state=$($V domstats test | sed -n 's/^ *state.state=//p')
	scrape
	t_eq "test: vstate as virsh domstats' state.state ($want_state)" "$want_state" \
		"$(value 'libvirt_domain_info_vstate{host="lvt",domain="test"}')"
	actual=$(( $($V dommemstat test | awk '$1 == "actual" { print $2 }') * 1024 ))
	t_eq "test: balloon bytes as virsh dommemstat's actual" "$actual" \
		"$(value 'libvirt_domain_memory_stats_actual_balloon_bytes{host="lvt",domain="test"}')"
	t_eq "test: vCPUs as virsh dominfo" "$($V dominfo test | sed -n 's/^CPU(s): *//p')" \
		"$(value 'libvirt_domain_info_virtual_cpus{host="lvt",domain="test"}')"
	rd_series='libvirt_domain_block_stats_read_bytes_total{host="lvt",domain="test",target_device="vda"}'
	wr_series='libvirt_domain_block_stats_write_bytes_total{host="lvt",domain="test",target_device="vda"}'
	cpu_series='libvirt_domain_info_cpu_time_seconds_total{host="lvt",domain="test"}'
	blk() { $V domblkstat test vda | awk -v k="$1" '$2 == k { print $3 }'; }
	cpu() { $V dominfo test | sed -n 's/^CPU time: *\([0-9.]*\)s/\1/p'; }
	# Each virsh call takes a while on a loaded machine: a sample newer
	# than the last of the first readings (wr0) is newer than all three.
	cpu0=$(cpu) rd0=$(blk rd_bytes) wr0=$(blk wr_bytes)
	_newer() { scrape && python3 -c "import sys; sys.exit(not float('$(value "$wr_series")') > $wr0)"; }
	t_check "a sample newer than virsh's first readings within 2 s (interval 1 s)" wait_for 2 _newer
	rd1=$(blk rd_bytes) wr1=$(blk wr_bytes) cpu1=$(cpu)
	# (Says what it compared when it fails.)
	between() {
		python3 -c "import sys; sys.exit(not ($1 - $4 <= float('$2') <= $3 + $4))" && return 0
		echo "   scraped '$2' (in ${SCRAPE_S:-?} s), not within $1 .. $3 (+-$4)"; return 1
	}
	t_check "test: vda read bytes between virsh's readings ($rd0 .. $rd1)" between "$rd0" "$(value "$rd_series")" "$rd1" 0
	t_check "test: vda written bytes within virsh's readings ($wr0 .. $wr1)" between "$wr0" "$(value "$wr_series")" "$wr1" 0
	t_check "test: CPU seconds within virsh dominfo's ($cpu0 .. $cpu1, printed to 0.1 s)" between "$cpu0" "$(value "$cpu_series")" "$cpu1" 0.1
else
	t_skip "libvirt test driver" "virsh is not installed"
fi

# 6. The black-holed host: no series, up 0, and scrapes still answer at once.
t_eq "bh: vmtty_host_up 0" 0 "$(value 'vmtty_host_up{host="bh"}')"
t_nomatch "bh: no domain series" 'host="bh",' "$(cat "$T_TMP/scrape")"
slow=0 failed=0
for i in 1 2 3 4 5; do
	if scrape; then
		python3 -c "import sys; sys.exit(not $SCRAPE_S < 1)" || slow=$((slow + 1))
	else
		failed=$((failed + 1))
	fi
done
t_eq "5 scrapes while bh is black-holed: none failed, none took 1 s (last ${SCRAPE_S} s)" "0 0" "$failed $slow"
t_eq "  bh still down, local still up" "0 1" \
	"$(value 'vmtty_host_up{host="bh"}') $(value 'vmtty_host_up{host="local"}')"

# 7. Other paths.
t_eq "/nope: 404" 404 "$(curl -s -m 1 -o /dev/null -w '%{http_code}' "$URL/nope")"
t_match "/: a page pointing to /metrics" 'href="/metrics"' "$(curl -s -m 1 "$URL/")"
t_match "/metrics: the exposition content type" "text/plain; version=0.0.4" \
	"$(curl -s -m 1 -o /dev/null -D - "$URL/metrics")"

# 8. SIGTERM: exit 0, the guest still runs.
kill -TERM "$SERVE_PID"
t0=$(date +%s%N)
wait "$SERVE_PID"
rc=$?
SERVE_PID=
t_eq "SIGTERM: exit 0" 0 "$rc"
t_check "  within 5 s ($(( ($(date +%s%N) - t0) / 1000000 )) ms)" test $(( ($(date +%s%N) - t0) / 1000000 )) -lt 5000
t_match "  and it said it stopped" "stopped" "$(cat "$LOG")"
t_check "  g's qemu still runs" kill -0 "$(vm_pid g)"
# (Without the black-holed host, which `vmtty list` would wait 15 s for.)
t_status "host rm bh" 0 "$VMTTY" host rm bh
t_eq "  g still running" running "$(vm_state g)"

# 9. A non-loopback address is logged as reachable from other machines,
# once the port is bound.
port2=$(_lv_free_port)
"$VMTTY" serve --listen "0.0.0.0:$port2" --interval 1 2>"$T_TMP/any.log" &
SERVE_PID=$!
_any_up() { curl -s -m 1 -o /dev/null "http://127.0.0.1:$port2/metrics"; }
t_check "serve --listen 0.0.0.0:PORT answers" wait_for 10 _any_up
t_match "  and logged that it is reachable from other machines" \
	"listening on 0\.0\.0\.0:$port2.*reachable from other machines" "$(cat "$T_TMP/any.log")"
# The port is taken now: a second serve on it fails in one line and never
# says it is listening.
t_status "a second serve --listen on the same port fails" 1 \
	"$VMTTY" serve --listen "0.0.0.0:$port2" --interval 1
t_eq "  one line, no 'listening on' before it" \
	"vmtty: cannot listen on 0.0.0.0:$port2: Failed to bind to port $port2: Address already in use; choose another with --listen ADDRESS:PORT" \
	"$T_ERR"
kill -INT "$SERVE_PID"
wait "$SERVE_PID"
rc=$?
SERVE_PID=
t_eq "SIGINT: exit 0" 0 "$rc"

t_status "poweroff g" 0 "$VMTTY" poweroff g --wait
t_summary
