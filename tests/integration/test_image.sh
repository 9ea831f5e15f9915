#!/usr/bin/env bash
# Images fetched, verified and cached by vmtty (libcurl), against a real
# HTTP server on loopback (tests/integration/imgserver.py: Range support,
# a request log, and on request a dropped connection or a slow transfer):
# create from a template fetches and caches, a second create asks the
# server nothing, a broken or interrupted download resumes with a Range
# request, a wrong checksum is refused, a cached image a VM uses stays.
source "$(dirname "$0")/lib.sh"

export XDG_CONFIG_HOME="$T_TMP/config"
export XDG_CACHE_HOME="$T_TMP/cache"
CACHE="$XDG_CACHE_HOME/vmtty/images"
IMAGES="$XDG_DATA_HOME/vmtty/images"
SRV="$T_TMP/srv"
LOG="$T_TMP/server.log"
mkdir -p "$SRV" "$XDG_CONFIG_HOME/vmtty/templates"
: >"$LOG"

# A qcow2 of random data: SIZE MiB of it, so that every image is different.
make_image() {
	head -c "$(($2 * 1048576))" /dev/urandom >"$T_TMP/raw"
	qemu-img convert -q -f raw -O qcow2 "$T_TMP/raw" "$SRV/$1"
	rm -f "$T_TMP/raw"
}
sum_of() { sha256sum "$1" | cut -c1-64; }
requests() { wc -l <"$LOG"; }
# part_size: bytes in the cache's partial download (0: none).
part_size() { local f; for f in "$CACHE"/*.part; do [ -f "$f" ] && { stat -c %s "$f"; return; }; done; echo 0; }
part_grew() { [ "$(part_size)" -gt 0 ]; }

make_image img.qcow2 2
make_image resume.qcow2 3
make_image slow.qcow2 3
make_image bad.qcow2 1
make_image tui.qcow2 3
make_image tty.qcow2 2
make_image norange.qcow2 2
(cd "$SRV" && sha256sum img.qcow2 resume.qcow2 slow.qcow2 tui.qcow2 >SHA256SUMS)
IMG_SUM=$(sum_of "$SRV/img.qcow2")

python3 "$T_ROOT/tests/integration/imgserver.py" "$SRV" "$T_TMP/port" "$LOG" &
SERVER=$!
t_on_exit "kill $SERVER"
wait_for 10 test -s "$T_TMP/port"
PORT=$(cat "$T_TMP/port")
URL="http://127.0.0.1:$PORT"

template() { # NAME URL-FILE INSTALL-LINES...
	local name=$1 file=$2; shift 2
	{
		printf '[template]\nname = %s\n[machine]\ncpus = 1\nmemory = 256\n' "$name"
		printf '[disk]\nsize = 1\n[network]\nmode = none\n[install]\nsource = cloud-image\n'
		printf 'url = %s/%s\n' "$URL" "$file"
		for l in "$@"; do printf '%s\n' "$l"; done
	} >"$XDG_CONFIG_HOME/vmtty/templates/$name.ini"
}
template loop img.qcow2 "checksum_url = $URL/SHA256SUMS"
template badsum bad.qcow2 "checksum = sha256:$(printf '0%.0s' $(seq 64))"
template nosum bad.qcow2
template tuiimg tui.qcow2 "checksum_url = $URL/SHA256SUMS"

# 1. create from the template: fetched with progress lines, verified, cached
# (at 2 MB/s, so that the download takes long enough for several lines).
echo 2000000 >"$SRV/.slow"
t_status "create c1 --template loop (no --image) pulls the image" 0 \
	"$VMTTY" create c1 --template loop
t_match "it says what it downloads" "vmtty: downloading '$URL/img.qcow2'" "$T_ERR"
rm -f "$SRV/.slow"
t_match "progress lines (not a terminal: plain lines)" \
	"vmtty: download: [1-9][0-9]%, [0-9.]+ (KiB|MiB) of [0-9.]+ MiB, [0-9.]+ (KiB|MiB)/s, 0:0[0-9] left" "$T_ERR"
t_check "several of them, the last at 100%" test "$(grep -c '^vmtty: download: ' <<<"$T_ERR")" -ge 3 -a \
	"$(grep '^vmtty: download: ' <<<"$T_ERR" | tail -1 | cut -d, -f1)" = "vmtty: download: 100%"
t_match "verified and cached" "verified; cached as '$CACHE/sha256-$IMG_SUM'" "$T_ERR"
t_eq "the server saw the checksum list and the image, once each" \
	"GET /SHA256SUMS range=-
GET /img.qcow2 range=-" "$(cat "$LOG")"
t_eq "the cached file is named by its checksum, 0600, in a 0700 directory" "600 700 $IMG_SUM" \
	"$(stat -c %a "$CACHE/sha256-$IMG_SUM") $(stat -c %a "$CACHE") $(sum_of "$CACHE/sha256-$IMG_SUM")"
t_match "c1's disk is an overlay on the cached file" \
	"\"backing-filename\": \"$CACHE/sha256-$IMG_SUM\"" \
	"$(qemu-img info --output=json "$IMAGES/c1/c1.qcow2")"
t_eq "no partial file is left" "0" "$(part_size)"

# A name that is taken is refused before any download.
n=$(requests)
t_status "create c1 again (from a template not cached yet) is refused" 1 \
	"$VMTTY" create c1 --template nosum --insecure-image
t_eq "naming the VM" "vmtty: name: a VM named 'c1' already exists on host 'local'; choose another name" "$T_ERR"
t_eq "with no request to the server" "$n" "$(requests)"

# ... and a second create reuses it without a request.
n=$(requests)
t_status "create c2 --template loop" 0 "$VMTTY" create c2 --template loop
t_match "it uses the cache" "using the cached image '$CACHE/sha256-$IMG_SUM'" "$T_ERR"
t_eq "the server got no request" "$n" "$(requests)"
t_status "image list --json" 0 "$VMTTY" image list --json
t_eq "the index names the image, its template, URL and checksum" \
	"img.qcow2 loop $URL/img.qcow2 sha256:$IMG_SUM True" \
	"$(printf '%s' "$T_OUT" | python3 -c 'import json, sys
for i in json.load(sys.stdin)["images"]: print(i["name"], i["template"], i["url"], i["checksum"], i["verified"])')"
t_status "image pull loop (a template): cached, no request" 0 "$VMTTY" image pull loop
t_eq "it prints the cached path" "$CACHE/sha256-$IMG_SUM" "$T_OUT"
t_eq "still no request" "$n" "$(requests)"

# One file is one row: the same image pulled by its URL, and from a second
# address (a mirror) with its checksum, is still one entry of the index,
# naming every address and template it answers to.
cp "$SRV/img.qcow2" "$SRV/mirror.qcow2"
t_status "image pull of loop's URL: the same file" 0 "$VMTTY" image pull "$URL/img.qcow2"
t_eq "  its path" "$CACHE/sha256-$IMG_SUM" "$T_OUT"
t_status "image pull of a mirror's URL with the same checksum" 0 \
	"$VMTTY" image pull "$URL/mirror.qcow2" --checksum "sha256:$IMG_SUM"
t_eq "  the same path" "$CACHE/sha256-$IMG_SUM" "$T_OUT"
t_eq "  and no request" "$n" "$(requests)"
t_status "image list" 0 "$VMTTY" image list
t_eq "one row for the file, with both names and the template" \
	"img.qcow2, mirror.qcow2 loop yes sha256-$IMG_SUM" \
	"$(grep -F "sha256-$IMG_SUM" <<<"$T_OUT" | sed -E 's/  +/ /g; s/ [0-9.]+ MiB//')"
t_status "image list --json" 0 "$VMTTY" image list --json
t_eq "one entry for the file, with every URL, name and template" \
	"1 $URL/img.qcow2,$URL/mirror.qcow2 img.qcow2,mirror.qcow2 loop img.qcow2 $URL/img.qcow2 loop True" \
	"$(printf '%s' "$T_OUT" | python3 -c 'import json, sys
e = [i for i in json.load(sys.stdin)["images"] if i["file"] == sys.argv[1]]
print(len(e), ",".join(e[0]["urls"]), ",".join(e[0]["names"]), ",".join(e[0]["templates"]),
      e[0]["name"], e[0]["url"], e[0]["template"], e[0]["verified"])' "sha256-$IMG_SUM")"
# The mirror then serves another image: its URL moves to that file's row.
make_image mirror.qcow2 1
MIR_SUM=$(sum_of "$SRV/mirror.qcow2")
t_status "image pull of the mirror's URL, now another image" 0 \
	"$VMTTY" image pull "$URL/mirror.qcow2" --checksum "sha256:$MIR_SUM"
t_status "image list --json" 0 "$VMTTY" image list --json
t_eq "the URL is in the new file's entry alone" \
	"sha256-$IMG_SUM $URL/img.qcow2 loop
sha256-$MIR_SUM $URL/mirror.qcow2 -" \
	"$(printf '%s' "$T_OUT" | python3 -c 'import json, sys
for i in json.load(sys.stdin)["images"]:
    if i["file"] in sys.argv[1:]: print(i["file"], ",".join(i["urls"]), ",".join(i["templates"]) or "-")' \
	"sha256-$IMG_SUM" "sha256-$MIR_SUM")"
t_status "image rm mirror.qcow2 removes the new file" 0 "$VMTTY" image rm mirror.qcow2
t_check "  it is gone, the first stays" test ! -e "$CACHE/sha256-$MIR_SUM" -a -f "$CACHE/sha256-$IMG_SUM"

# On a terminal: one line, a bar redrawn in place (\r ... ESC[K).
TTY_SUM=$(sum_of "$SRV/tty.qcow2")
echo 1000000 >"$SRV/.slow"
"$T_BUILD/bench/ptyrun" -p 100x10 -o "$T_TMP/tty.out" "$VMTTY" image pull "$URL/tty.qcow2" \
	--checksum "sha256:$TTY_SUM" >"$T_TMP/ptyrun.out" 2>&1
rm -f "$SRV/.slow"
t_match "pull on a terminal exits 0" "status=0" "$(cat "$T_TMP/ptyrun.out")"
bars=$(tr '\r' '\n' <"$T_TMP/tty.out" | grep -Ec '^\[#*\.*\] +[0-9]+% .* left.\[K')
t_check "a bar redrawn in place, several times ($bars)" test "$bars" -ge 3
t_check "ending at 100%" grep -q '\[##############################\] 100%' "$T_TMP/tty.out"

# 2. The server drops the connection after 1 MB: the next pull resumes.
RES_SUM=$(sum_of "$SRV/resume.qcow2")
echo 1000000 >"$SRV/.drop"
t_status "a dropped connection fails the pull" 1 \
	"$VMTTY" image pull "$URL/resume.qcow2" --checksum "sha256:$RES_SUM"
t_match "one line naming the URL and the reason" \
	"^vmtty: cannot download '$URL/resume.qcow2': transfer closed" "$(tail -1 <<<"$T_ERR")"
t_eq "the partial file keeps the 1000000 bytes; no final file" "1000000 absent" \
	"$(part_size) $(test -e "$CACHE/sha256-$RES_SUM" && echo present || echo absent)"
: >"$LOG"
t_status "the next pull resumes" 0 "$VMTTY" image pull "$URL/resume.qcow2" --checksum "sha256:$RES_SUM"
t_match "it says so" "resuming '$URL/resume.qcow2' after 976\.6 KiB" "$T_ERR"
t_eq "with a Range request for the rest" "GET /resume.qcow2 range=bytes=1000000-" "$(cat "$LOG")"
t_eq "and ends with a verified file" "$RES_SUM 0" "$(sum_of "$CACHE/sha256-$RES_SUM") $(part_size)"

# 2b. Another vmtty holds the partial file: refused in one line, nothing
# said of resuming, the partial file as it was.
NR_SUM=$(sum_of "$SRV/norange.qcow2")
echo 1000000 >"$SRV/.drop"
t_status "norange.qcow2: a dropped connection fails the pull" 1 \
	"$VMTTY" image pull "$URL/norange.qcow2" --checksum "sha256:$NR_SUM"
part=$(ls "$CACHE"/*.part)
exec {plock}<"$part"
t_check "this test holds the partial file's lock" flock -n "$plock"
t_status "a pull while another process holds the partial file is refused" 1 \
	"$VMTTY" image pull "$URL/norange.qcow2" --checksum "sha256:$NR_SUM"
t_eq "in one line, before anything is said of resuming" \
	"vmtty: '$URL/norange.qcow2' is being downloaded by another vmtty already; wait for it" "$T_ERR"
t_eq "the partial file is as it was" 1000000 "$(part_size)"
exec {plock}<&-

# 2c. A server that ignores Range sends the whole file: the kept bytes are
# dropped and vmtty says so, not that it resumes.
touch "$SRV/.norange"
: >"$LOG"
t_status "a pull from a server without Range support" 0 \
	"$VMTTY" image pull "$URL/norange.qcow2" --checksum "sha256:$NR_SUM"
rm -f "$SRV/.norange"
t_eq "it was asked for the rest" "GET /norange.qcow2 range=bytes=1000000-" "$(cat "$LOG")"
t_check "nothing said of resuming" eval '! grep -q resuming <<<"$T_ERR"'
t_match "it says the kept bytes were dropped" \
	"the server of '$URL/norange.qcow2' cannot resume a download; the 976\.6 KiB kept from an earlier try were dropped" "$T_ERR"
t_eq "the file is whole and verified" "$NR_SUM 0" "$(sum_of "$CACHE/sha256-$NR_SUM") $(part_size)"

# 2d. An address that names no file (a directory) is refused before any
# request: the cache names an image by the URL's file name.
: >"$LOG"
t_status "pull of a directory address" 1 "$VMTTY" image pull "$URL/" --insecure-image
t_eq "one line saying so" \
	"vmtty: '$URL/' names no file (it ends in '/' or has no path); give the address of the image file itself" "$T_ERR"
t_eq "no request, no entry" "0 0" "$(requests) $("$VMTTY" image list --json | python3 -c 'import json,sys; print(sum(1 for i in json.load(sys.stdin)["images"] if not i["name"]))')"

# 3. A wrong checksum: refused, nothing under the final name, both sums.
BAD_SUM=$(sum_of "$SRV/bad.qcow2")
t_status "create c3 --template badsum is refused" 1 "$VMTTY" create c3 --template badsum
t_eq "one line with both checksums" \
	"vmtty: image '$URL/bad.qcow2' is corrupt: expected sha256:$(printf '0%.0s' $(seq 64)), found sha256:$BAD_SUM; the download was deleted" \
	"$(grep -v '^vmtty: download' <<<"$T_ERR")"
t_eq "no file under either name, no partial file" "absent absent 0" \
	"$(test -e "$CACHE/sha256-$BAD_SUM" && echo present || echo absent) $(ls "$CACHE" | grep -q '^sha256-0000' && echo present || echo absent) $(part_size)"
t_status "no VM c3" 1 "$VMTTY" show c3
t_status "image pull with a wrong --checksum is refused too" 1 \
	"$VMTTY" image pull "$URL/img.qcow2" --checksum "sha256:$BAD_SUM"
t_match "naming both" "expected sha256:$BAD_SUM, found sha256:$IMG_SUM" "$T_ERR"
t_check "the good cached file is untouched" test "$(sum_of "$CACHE/sha256-$IMG_SUM")" = "$IMG_SUM"

# An image with no checksum needs --insecure-image.
t_status "create c4 --template nosum is refused" 1 "$VMTTY" create c4 --template nosum
t_match "it says why and what to do" \
	"template 'nosum' gives no checksum for its image '$URL/bad.qcow2', which cannot be verified; give --insecure-image" "$T_ERR"
t_status "create c4 --template nosum --insecure-image" 0 \
	"$VMTTY" create c4 --template nosum --insecure-image
t_match "it says the image is not verified" "not verified \(--insecure-image\)" "$T_ERR"

# 4. Ctrl-C in the middle of a slow download: exit 1, only the .part.
SLOW_SUM=$(sum_of "$SRV/slow.qcow2")
echo 300000 >"$SRV/.slow"
"$VMTTY" image pull "$URL/slow.qcow2" --checksum "sha256:$SLOW_SUM" >"$T_TMP/slow.out" 2>"$T_TMP/slow.err" &
pull=$!
t_check "the slow download makes progress" wait_for 20 part_grew
kill -INT "$pull"
wait "$pull"
t_eq "SIGINT: exit 1" 1 "$?"
t_match "it says the partial file stays" "cancelled; the partial file stays in the image cache" \
	"$(cat "$T_TMP/slow.err")"
got=$(part_size)
t_check "only the .part remains (no final file)" test "$got" -gt 0 -a ! -e "$CACHE/sha256-$SLOW_SUM"
t_check "the .part is 0600" test "$(stat -c %a "$CACHE"/*.part)" = 600
rm -f "$SRV/.slow"
: >"$LOG"
t_status "the next pull resumes it" 0 "$VMTTY" image pull "$URL/slow.qcow2" --checksum "sha256:$SLOW_SUM"
t_eq "with a Range request from where it stopped" "GET /slow.qcow2 range=bytes=$got-" "$(cat "$LOG")"
t_eq "verified, no .part left" "$SLOW_SUM 0" "$(sum_of "$CACHE/sha256-$SLOW_SUM") $(part_size)"

# 5. image rm of an image a VM's overlay uses: refused, naming the VM.
t_status "image rm loop (c1 and c2 stand on it) is refused" 1 "$VMTTY" image rm loop
t_match "naming the VM" "image 'loop' is in use: VM 'c[12]' needs it" "$T_ERR"
t_check "the file stays" test -f "$CACHE/sha256-$IMG_SUM"
t_status "image rm of an unused image" 0 "$VMTTY" image rm resume.qcow2
t_check "its file is gone" test ! -e "$CACHE/sha256-$RES_SUM"
t_status "delete c1 and its disks" 0 "$VMTTY" delete c1 --delete-disks
t_status "delete c2 and its disks" 0 "$VMTTY" delete c2 --delete-disks
t_status "image rm loop once no VM uses it" 0 "$VMTTY" image rm loop
t_check "the file is gone" test ! -e "$CACHE/sha256-$IMG_SUM"
t_status "image list --json" 0 "$VMTTY" image list --json
t_nomatch "and out of the index" "img\.qcow2" "$T_OUT"

# No server at all: one line naming the URL and the reason.
t_status "no network: a pull fails" 1 "$VMTTY" image pull http://127.0.0.1:1/x.qcow2 --insecure-image
t_eq "in one line" 1 "$(grep -vc '^vmtty: downloading' <<<"$T_ERR")"
t_match "naming the URL and the reason" \
	"cannot download 'http://127.0.0.1:1/x.qcow2': (Failed to connect|Couldn't connect)" "$T_ERR"
t_status "a missing file fails the pull" 1 "$VMTTY" image pull "$URL/missing.qcow2" --insecure-image
t_match "an HTTP error names the status" "cannot download '$URL/missing.qcow2': the server answered HTTP 404" "$T_ERR"

# 6. The wizard offers the download with its size, shows a progress bar,
# and the VM is made when it ends (the server at 500 kB/s: about 13 s,
# time enough to press Esc).
TUI_SUM=$(sum_of "$SRV/tui.qcow2")
TUI_SIZE=$(python3 -c "import sys; print('%.1f MiB' % ($(stat -c %s "$SRV/tui.qcow2") / 1048576))")
echo 500000 >"$SRV/.slow"
: >"$LOG"
tui_start 120 36 "$VMTTY"
tui_expect "the TUI shows host local" 'local'
tui_keys n
tui_expect "n opens the wizard" 'New VM on local: Template'
tui_type tuiimg
tui_keys Enter
tui_expect "the name step" 'Name +tuiimg-1'
tui_keys F9
tui_expect "the review offers the download with its size" \
	"Download: +$URL/tui\.qcow2 \($TUI_SIZE\)"
tui_expect "verified" 'verified against its checksum, then cached'
tui_expect "Enter downloads" 'Enter: download the image and create the VM'
tui_keys Enter
tui_expect "a progress bar while it downloads" '(█|#)+(░|-)+ +[0-9]+%' 20
tui_expect "with bytes, rate and time left" '[0-9.]+ (KiB|MiB) of [0-9.]+ MiB, [0-9.]+ (KiB|MiB)/s, [0-9]+ s left'
# Esc stops it; the status line says so (not "Cancelling ..." for ever),
# and Enter again resumes the partial file.
tui_keys Escape
_cancelled() { local s; s=$(tui_screen); grep -q 'Download cancelled; the partial file stays' <<<"$s" &&
	! grep -q 'Cancelling' <<<"$s"; }
if wait_for 10 _cancelled; then
	t_ok "Esc cancels the download, the status line says it is done"
else
	t_fail "Esc cancels the download, the status line says it is done"
	tui_screen | sed 's/^/   | /'
fi
t_check "the partial file stays" compgen -G "$CACHE/*.part"
echo 5000000 >"$SRV/.slow"
tui_keys Enter
tui_expect "the VM is created when it ends" "VM 'tuiimg-1' created on host 'local'" 60
rm -f "$SRV/.slow"
t_match "the server was asked the size (HEAD), then the list and the image" \
	"HEAD /tui\.qcow2.*GET /SHA256SUMS.*GET /tui\.qcow2 range=-" "$(tr '\n' ' ' <"$LOG")"
t_match "and after Esc, the rest of it (a Range request)" \
	"GET /tui\.qcow2 range=bytes=[1-9][0-9]*-" "$(cat "$LOG")"
t_match "its disk is an overlay on the cached, verified file" \
	"\"backing-filename\": \"$CACHE/sha256-$TUI_SUM\"" \
	"$(qemu-img info --output=json "$IMAGES/tuiimg-1/tuiimg-1.qcow2")"

# A second time the wizard says the image is cached, and asks nothing.
: >"$LOG"
tui_keys n
tui_expect "the wizard again" 'New VM on local: Template'
tui_type tuiimg
tui_keys Enter
tui_expect "the next name" 'Name +tuiimg-2'
tui_keys F9
tui_expect "the review says the image is cached" "Image: +cached, $CACHE/sha256-${TUI_SUM:0:8}"
tui_expect "Enter creates" 'Enter: create the VM'
tui_keys Enter
tui_expect "the VM is created" "VM 'tuiimg-2' created on host 'local'" 30
t_eq "the server got no request" "" "$(cat "$LOG")"
tui_kill

# Offline: with the server gone, a cached image still makes VMs.
kill "$SERVER"
wait "$SERVER" 2>/dev/null
t_status "no server: create from a template whose image is cached" 0 \
	"$VMTTY" create c9 --template tuiimg
t_match "from the cache" "using the cached image '$CACHE/sha256-$TUI_SUM'" "$T_ERR"
t_status "no server: a pull of what is not cached fails" 1 "$VMTTY" image pull loop
t_eq "in one line naming the URL and the reason" 1 "$(wc -l <<<"$T_ERR")"
t_match "(the checksum list first)" \
	"cannot get the checksums of '$URL/img\.qcow2': cannot download '$URL/SHA256SUMS': (Failed to connect|Couldn't connect)" "$T_ERR"

# HTTPS: the server's certificate is checked (a self-signed one is refused).
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 1 \
	-keyout "$T_TMP/key.pem" -out "$T_TMP/cert.pem" 2>/dev/null
python3 "$T_ROOT/tests/integration/imgserver.py" "$SRV" "$T_TMP/tlsport" "$LOG" \
	"$T_TMP/cert.pem" "$T_TMP/key.pem" &
TLS=$!
t_on_exit "kill $TLS"
wait_for 10 test -s "$T_TMP/tlsport"
t_status "https with a certificate nobody vouches for is refused" 1 \
	"$VMTTY" image pull "https://127.0.0.1:$(cat "$T_TMP/tlsport")/bad.qcow2" --insecure-image
t_match "naming the URL and the certificate problem" \
	"cannot download 'https://127\.0\.0\.1:[0-9]+/bad\.qcow2': SSL certificate problem: self.signed certificate" "$T_ERR"
t_eq "nothing is left in the cache from it" "0" "$(part_size)"

t_summary
