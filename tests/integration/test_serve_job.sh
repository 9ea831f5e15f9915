#!/usr/bin/env bash
# vmtty serve's libvirt_domain_job_info_* series during a real live
# migration: two private libvirtds A and B (libvirtd.sh --netns, distinct
# host_uuid), the tiny guest G (TCG, no disk) running on A, both hosts in
# vmtty by their unix socket URIs, `vmtty serve --interval 1`.  Before the
# migration G has no job series; while `virsh migrate --live --bandwidth 1`
# (1 MiB/s, so it lasts) runs, a scrape has them with the labels host and
# domain, type 2 (unbounded, as libvirt reports a migration), processed
# bytes rising between two scrapes, no more than the total, the elapsed
# time rising too, the disk (file_*) figures 0 (no disk), and promtool
# check metrics passes on it; after domjobabort the series are gone and G
# runs on A as before.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/libvirtd.sh"

have_promtool=; command -v promtool >/dev/null && have_promtool=1
G=sj-$$
port=$(_lv_free_port)
URL="http://127.0.0.1:$port"
SERVE_PID= MIG_PID=
serve_stop() { [ -n "$SERVE_PID" ] && kill -9 "$SERVE_PID" 2>/dev/null; }
mig_stop() { [ -n "$MIG_PID" ] && kill "$MIG_PID" 2>/dev/null; }
t_on_exit serve_stop
t_on_exit mig_stop

scrape() { curl -s -m 2 -o "$T_TMP/scrape" "$URL/metrics"; }
value() { grep -F -- "$1 " "$T_TMP/scrape" | awk '{ print $2 }'; }
_scrape_has() { scrape && grep -qF -- "$1" "$T_TMP/scrape"; }
_scrape_lacks() { scrape && ! grep -qF -- "$1" "$T_TMP/scrape"; }
py_true() { python3 -c "import sys; sys.exit(not ($1))"; }

t_check "libvirtd_start A --netns 1" libvirtd_start A --netns 1
A_URI=$LIBVIRTD_URI
t_check "libvirtd_start B --netns 2" libvirtd_start B --netns 2
B_URI=$LIBVIRTD_URI B_MIG=${LIBVIRTD_MIGRATE_URI:-}
libvirtd_use A
tiny_domain_xml "$G" 256 >"$T_TMP/g.xml"
t_status "A: define and start $G (the tiny guest, no disk)" 0 \
	sh -c 'virsh -c "$1" define "$2" && virsh -c "$1" start "$3"' _ "$A_URI" "$T_TMP/g.xml" "$G"
t_status "vmtty host add A" 0 "$VMTTY" host add A "$A_URI"
t_status "vmtty host add B" 0 "$VMTTY" host add B "$B_URI"
t_status "vmtty list: $G is in the inventory" 0 "$VMTTY" list
"$VMTTY" serve --listen "127.0.0.1:$port" --interval 1 2>"$T_TMP/serve.log" &
SERVE_PID=$!
L="{host=\"A\",domain=\"$G\"}"
t_check "serve: $G's vstate on A" wait_for 15 _scrape_has "libvirt_domain_info_vstate$L 1"
t_check "$G: GUEST READY within 90 s (its memory touched)" libvirtd_wait_serial "$G" "GUEST READY" 90
scrape
t_nomatch "no job running: no job series" '^libvirt_domain_job_info_[a-z_]+\{' "$(cat "$T_TMP/scrape")"

# The migration, throttled to 1 MiB/s, managed by virsh (A and B by unix socket).
timeout 120 virsh -c "$A_URI" migrate --live --bandwidth 1 "$G" "$B_URI" "$B_MIG" \
	>"$T_TMP/mig.out" 2>"$T_TMP/mig.err" &
MIG_PID=$!
P="libvirt_domain_job_info_data_processed_bytes$L"
_moving() { _scrape_has "$P" && py_true "$(value "$P") > 0"; }
t_check "a scrape has $G's job series within 20 s of the migration's start" wait_for 20 _moving
cp "$T_TMP/scrape" "$T_TMP/scrape1"
p1=$(value "$P")
e1=$(value "libvirt_domain_job_info_time_elapsed_seconds$L")
t_eq "  type 2 (unbounded: a migration)" 2 "$(value "libvirt_domain_job_info_type$L")"
t_check "  the migration still runs (virsh migrate alive)" _lv_alive "$MIG_PID"
if [ -n "$have_promtool" ]; then
	t_status "  promtool check metrics passes on that scrape" 0 promtool check metrics <"$T_TMP/scrape1"
	t_eq "  with nothing to say" "" "$T_OUT$T_ERR"
else
	t_skip "promtool check metrics" "promtool is not installed (Debian package prometheus)"
fi
for f in type time_elapsed_seconds data_total_bytes data_processed_bytes data_remaining_bytes \
	memory_total_bytes memory_processed_bytes memory_remaining_bytes; do
	t_match "  libvirt_domain_job_info_$f: one series, labels host and domain, a number" \
		"^libvirt_domain_job_info_$f\{host=\"A\",domain=\"$G\"\} [0-9.]+\$" \
		"$(grep "^libvirt_domain_job_info_${f}{" "$T_TMP/scrape1")"
	t_match "  # TYPE libvirt_domain_job_info_$f gauge" "^# TYPE libvirt_domain_job_info_$f gauge\$" \
		"$(cat "$T_TMP/scrape1")"
done
for f in total processed; do
	t_eq "  no disk in the job: libvirt_domain_job_info_file_${f}_bytes 0 (libvirt's disk_$f)" 0 \
		"$(grep "^libvirt_domain_job_info_file_${f}_bytes{host=\"A\",domain=\"$G\"} " "$T_TMP/scrape1" | awk '{ print $2 }')"
done
total=$(value "libvirt_domain_job_info_data_total_bytes$L")
mem_total=$(value "libvirt_domain_job_info_memory_total_bytes$L")
t_check "  processed ($p1) <= total ($total)" py_true "0 < $p1 <= $total"
t_check "  memory total ($mem_total) is about the guest's 256 MiB" \
	py_true "256 * 2**20 <= $mem_total <= 300 * 2**20"
t_check "  elapsed ($e1 s) plausible" py_true "0 < $e1 < 120"
_rising() { scrape && py_true "$(value "$P" | sed 's/^$/0/') > $p1"; }
t_check "processed bytes rise in a later scrape (within 10 s)" wait_for 10 _rising
p2=$(value "$P") e2=$(value "libvirt_domain_job_info_time_elapsed_seconds$L")
echo "# processed $p1 -> $p2 bytes, elapsed $e1 -> $e2 s"
t_check "  and the elapsed time ($e1 -> $e2 s)" py_true "$e2 > $e1"
t_check "  virsh domjobinfo agrees that a job runs" \
	sh -c 'virsh -c "$1" domjobinfo "$2" | grep -q "^Job type: *Unbounded"' _ "$A_URI" "$G"

# The end of the job: aborted, G stays on A, the series go.
t_status "virsh domjobabort $G" 0 virsh -c "$A_URI" domjobabort "$G"
wait "$MIG_PID"
t_eq "virsh migrate failed (aborted)" 1 "$?"
MIG_PID=
t_check "the job series are gone within 5 s" wait_for 5 _scrape_lacks "libvirt_domain_job_info_type$L"
t_nomatch "  every one of them" '^libvirt_domain_job_info_[a-z_]+\{' "$(cat "$T_TMP/scrape")"
t_eq "  $G runs on A (vstate 1)" 1 "$(value "libvirt_domain_info_vstate$L")"
t_eq "  vmtty_host_up A" 1 "$(value 'vmtty_host_up{host="A"}')"
t_summary
