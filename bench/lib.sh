# Figures shared by the benchmarks (source it; bash).  A run appends one
# line "wall_ms=.. [key=value ...]" to its side's file; these read those
# files back.  ratio_line reads the pair TAG from $tmp/TAG.a and $tmp/TAG.b.

# vals FILE KEY: KEY's values, one a line.
vals() { sed -nE "s/(^|.* )$2=([-0-9.]+).*/\\2/p" "$1"; }
# stats FILE KEY: "median min max" of KEY over the runs.
stats() {
	vals "$1" "$2" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "0 0 0"; exit }
		printf "%s %s %s\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2, v[1], v[NR] }'
}
med() { stats "$1" "$2" | cut -d' ' -f1; }
# side LABEL FILE [KEY [UNIT]]: one side's line: KEY's (wall_ms's) median
# [min-max], in UNIT (ms); for wall_ms of a ptyrun, the peak RSS and the
# bytes written (a range when the runs differ); FAILED when a run did not
# exit 0.
side() {
	local k=${3:-wall_ms} u=${4:-ms} m lo hi
	read -r m lo hi < <(stats "$2" "$k")
	printf '  %-30s %9.2f %s [%.2f-%.2f]' "$1" "$m" "$u" "$lo" "$hi"
	if [ "$k" = wall_ms ] && grep -q maxrss_kb "$2"; then
		printf '  RSS %6d KiB' "$(stats "$2" maxrss_kb | cut -d' ' -f3)"
		read -r _ lo hi < <(stats "$2" bytes)
		if [ "$lo" = "$hi" ]; then printf '  %8d bytes' "$lo"; else printf '  bytes %d-%d' "$lo" "$hi"; fi
	fi
	vals "$2" status | grep -qv '^0$' && printf '  FAILED'
	echo
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
# pairwise A B KEY: "min-max" of the ratios of the runs made side by side
# (the Nth line of A with the Nth of B; a failed run's pair is left out).
pairwise() {
	awk -v k="$3" '
		function get(line) {
			if (!match(line, "(^| )" k "=[-0-9.]+"))
				return ""
			line = substr(line, RSTART, RLENGTH)
			sub(/.*=/, "", line)
			return line + 0
		}
		FILENAME == ARGV[1] { a[FNR] = get($0); next }
		{
			b = get($0)
			if (a[FNR] == "" || b == "" || b <= 0)
				next
			r = a[FNR] / b
			if (n == 0 || r < lo) lo = r
			if (n == 0 || r > hi) hi = r
			n++
		}
		END { if (n) printf "%.2f-%.2f", lo, hi; else printf "none" }' "$1" "$2"
}
# ratio_line TAG WHAT REF [NOTE]: the ratio of the medians of TAG's pair,
# the spread of its run-by-run ratios, and the reference named.
ratio_line() {
	local k=${5:-wall_ms}
	printf '  ratio %s %s (run by run %s)   ref: %s%s\n' "$2" \
		"$(ratio "$(med "$tmp/$1.a" "$k")" "$(med "$tmp/$1.b" "$k")")" \
		"$(pairwise "$tmp/$1.a" "$tmp/$1.b" "$k")" "$3" "${4:+   ($4)}"
}
# now: nanoseconds since the epoch.
now() { date +%s%N; }
