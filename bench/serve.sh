#!/usr/bin/env bash
# Scrape cost of `vmtty serve`: 1,000 domains on four libvirt test-driver
# hosts (bench/gen-testdriver, 250 each) plus the built-in host with two
# tiny guests running (TCG; left out when the guest cannot be built).
# Figures only, never pass/fail.
#
# (a) One scrape at a time: curl's time_total over N scrapes (median
#     [min-max]), the size of the text, and how long each host's last
#     collection took (vmtty_scrape_duration_seconds).
# (b) 50 clients scraping without pause for 10 s: scrapes done, errors
#     (curl failing or a status other than 200), their median and slowest
#     time, and the RSS of vmtty serve before, at its peak (VmHWM) and after.
#
# There is no reference tool to run side by side: the maintained libvirt
# exporter (Go, prometheus-libvirt-exporter) is not packaged in Debian 12.
#
#   bash bench/serve.sh [--build DIR] [--runs N] [--clients N] [--seconds S]
set -u
cd "$(dirname "$0")/.." || exit 1
build=build runs=30 clients=50 secs=10
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--clients) clients=$2; shift 2 ;;
	--seconds) secs=$2; shift 2 ;;
	*) echo "bench/serve.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
case $build in /*) B=$build ;; *) B="$PWD/$build" ;; esac
VMTTY="$B/vmtty"
[ -x "$VMTTY" ] || { echo "bench/serve.sh: no $VMTTY; run make first" >&2; exit 1; }
for t in curl python3; do
	command -v "$t" >/dev/null || { echo "bench/serve.sh: needs $t" >&2; exit 1; }
done
source bench/lib.sh

tmp=$(mktemp -d /tmp/vmtty-sbench.XXXXXX)
export VMTTY_DB="$tmp/inv.db" VMTTY_RUNTIME_DIR="$tmp/run" XDG_DATA_HOME="$tmp/xdg"
SERVE_PID=
cleanup() {
	[ -z "$SERVE_PID" ] || kill "$SERVE_PID" 2>/dev/null
	for p in "$VMTTY_RUNTIME_DIR"/*/qemu.pid; do
		[ -f "$p" ] && kill -9 "$(cat "$p")" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
pause() { read -rt "$1" <> <(:) || true; }
rss_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }

# The hosts.
for h in 1 2 3 4; do
	bench/gen-testdriver 250 "td$h" > "$tmp/td$h.xml"
	"$VMTTY" host add "td$h" "test://$tmp/td$h.xml" >/dev/null
done
guests=0
if tests/guest/build.sh "$B/guest" >/dev/null 2>&1; then
	for g in b1 b2; do
		"$VMTTY" create "$g" --kernel "$B/guest/vmlinuz" --initrd "$B/guest/initrd.img" \
			--cmdline console=ttyS0 --memory 256 --accel tcg >/dev/null &&
		"$VMTTY" start "$g" --wait-serial "GUEST READY" --timeout 60 >/dev/null &&
		guests=$((guests + 1))
	done
fi
want=$((1000 + guests))

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$port/metrics"
"$VMTTY" serve --listen "127.0.0.1:$port" 2>"$tmp/serve.log" &
SERVE_PID=$!
domains() { curl -s -m 2 "$URL" | grep -c '^libvirt_domain_info_meta{'; }
for ((i = 0; i < 300; i++)); do
	[ "$(domains)" -ge "$want" ] && break
	pause 0.1
done
n=$(domains)
echo "vmtty serve: $n domains exported (4 test-driver hosts of 250, $guests built-in guests running), collected every 2 s"
[ "$n" -ge "$want" ] || echo "  (wanted $want: the figures below are for what was exported)"

# (a) One at a time.
: > "$tmp/one"
curl -s -o "$tmp/scrape" "$URL"
for ((i = 0; i < runs; i++)); do
	t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' "$URL")
	echo "wall_ms=$(awk -v t="${t#* }" 'BEGIN { printf "%.3f", t * 1000 }') status=$([ "${t% *}" = 200 ] && echo 0 || echo 1)" >> "$tmp/one"
done
echo
echo "(a) $runs scrapes one after another ($(wc -c < "$tmp/scrape") bytes, $(grep -vc '^#' "$tmp/scrape") series each):"
side "curl time_total" "$tmp/one"
echo "  collection per host (vmtty_scrape_duration_seconds):" \
	"$(grep '^vmtty_scrape_duration_seconds' "$tmp/scrape" | sed 's/.*host="\([^"]*\)"} \(.*\)/\1 \2 s/' | paste -sd, | sed 's/,/, /g')"
echo "  ref: none (the Go libvirt exporter is not packaged in Debian 12)   (target: median under 100 ms)"

# (b) Many at once.
rss0=$(rss_kb "$SERVE_PID" VmRSS)
# The clients: one curl --parallel keeping CLIENTS scrapes in flight,
# rounds of 4 x CLIENTS until the deadline (no process per scrape, so the
# figures are the server's more than fork's); a line "STATUS SECONDS" each.
urls=()
for ((c = 0; c < 4 * clients; c++)); do urls+=("$URL" -o /dev/null); done
end=$(( $(date +%s%N) + secs * 1000000000 ))
(
	while [ "$(date +%s%N)" -lt "$end" ]; do
		curl -s --no-progress-meter -m 5 --parallel --parallel-immediate \
			--parallel-max "$clients" -w '%{http_code} %{time_total}\n' "${urls[@]}"
	done > "$tmp/many" 2>/dev/null
) &
load=$!
peak=$rss0
while kill -0 "$load" 2>/dev/null; do
	r=$(rss_kb "$SERVE_PID" VmRSS)
	[ -n "$r" ] && [ "$r" -gt "$peak" ] && peak=$r
	pause 0.2
done
wait "$load"
rss1=$(rss_kb "$SERVE_PID" VmRSS)
hwm=$(rss_kb "$SERVE_PID" VmHWM)
total=$(wc -l < "$tmp/many")
errors=$(awk '$1 != 200' "$tmp/many" | wc -l)
read -r med mx < <(awk '{ print $2 * 1000 }' "$tmp/many" | sort -g | awk '{ v[NR] = $1 } END {
	if (NR == 0) { print "0 0"; exit }
	printf "%.1f %.1f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2, v[NR] }')
alive=yes; kill -0 "$SERVE_PID" 2>/dev/null || alive=NO
echo
echo "(b) $clients scrapes at a time without pause for $secs s (curl --parallel):"
echo "  scrapes: $total done, $errors errors; each: median $med ms, slowest $mx ms; vmtty serve still running: $alive"
echo "  RSS of vmtty serve: $rss0 KiB before, $peak KiB at the highest sample (VmHWM $hwm KiB), $rss1 KiB after"
echo "  ref: none (the Go libvirt exporter is not packaged in Debian 12)   (target: no error, RSS bounded)"
