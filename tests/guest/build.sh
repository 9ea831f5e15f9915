#!/bin/sh
# Build a tiny real Linux guest for vmtty's integration tests (QEMU TCG).
#
# Usage: tests/guest/build.sh [OUTDIR]      (default: <repo>/build/guest)
#
# Produces OUTDIR/vmlinuz, OUTDIR/initrd.img, OUTDIR/rootfs.qcow2 and
# OUTDIR/stamp from Debian packages only: the current cloud kernel
# (apt-get download, never installed), busybox-static, e2fsprogs, qemu-utils.
# When OUTDIR/stamp matches (this script + kernel package version + busybox
# version) nothing is rebuilt.  Prints one line saying where the guest is.
# Guest kernel command line options: see tests/guest/README.md.
set -eu

KMETA=linux-image-cloud-amd64
# insmod order; names missing from the package (built-in) are skipped.
# virtio_mmio: the devices of QEMU's microvm machine (found through its ACPI
# tables: this kernel takes no virtio_mmio.device= from the command line).
MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev
virtio_pci virtio_mmio virtio_balloon failover net_failover virtio_net virtio_blk
virtio_console virtio-rng button evdev"
DISK_SIZE=64M

die() { echo "guest/build.sh: $*" >&2; exit 1; }
warn() { echo "guest/build.sh: $*" >&2; }

SCRIPT=$(readlink -f "$0")
REPO=$(cd "$(dirname "$SCRIPT")/../.." && pwd)
OUT=${1:-$REPO/build/guest}
case $OUT in /*) ;; *) OUT=$(pwd)/$OUT ;; esac

for t in apt-cache apt-get dpkg-deb dpkg-query flock gzip mke2fs qemu-img sha256sum; do
	command -v "$t" >/dev/null 2>&1 || die "missing $t (run scripts/install-deps)"
done
case $(dpkg-query -W -f='${Status}' busybox-static 2>/dev/null || true) in
*" installed") ;;
*) die "busybox-static is not installed (run scripts/install-deps)" ;;
esac
BB=
for c in /bin/busybox /usr/bin/busybox; do
	[ -x "$c" ] && { BB=$c; break; }
done
[ -n "$BB" ] || die "no busybox binary found"
# Suites that run side by side share OUT: one builds, the others wait.
mkdir -p "$(dirname "$OUT")"
exec 9>"$OUT.lock"
flock -w 900 9 || die "another build of $OUT holds $OUT.lock for more than 900 s"
BBVER=$(dpkg-query -W -f='${Version}' busybox-static)
SCRIPT_SHA=$(sha256sum "$SCRIPT" | cut -c1-64)

# One apt-cache call (about 0.8 s here: apt runs without a pkgcache.bin):
# the meta package's Depends gives the kernel package and its exact version.
kernel_pkg() { # prints "PKG VERSION"
	kp=$(apt-cache show --no-all-versions "$KMETA" 2>/dev/null |
		sed -n 's/^Depends:.*\(linux-image-[0-9][^ ,]*\) (= \([^ )]*\)).*/\1 \2/p' |
		head -n 1)
	if [ -n "$kp" ]; then
		echo "$kp"
		return 0
	fi
	# Fallback for a Depends without "(= version)".
	kp=$(apt-cache depends "$KMETA" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1)
	[ -n "$kp" ] || return 0
	echo "$kp $(apt-cache show --no-all-versions "$kp" 2>/dev/null |
		sed -n 's/^Version: //p' | head -n 1)"
}

have_outputs() {
	[ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initrd.img" ] &&
		[ -s "$OUT/rootfs.qcow2" ] && [ -s "$OUT/stamp" ]
}
stamp_field() { sed -n "s/^$1=//p" "$OUT/stamp" 2>/dev/null | head -n 1; }
report() { # $1: note
	echo "guest: $OUT (vmlinuz initrd.img rootfs.qcow2; kernel $(stamp_field release)$1)"
}
same_script() {
	have_outputs && [ "$(stamp_field script)" = "$SCRIPT_SHA" ] &&
		[ "$(stamp_field busybox)" = "$BBVER" ]
}

# Fast path: apt's answer can only change when its lists change, so a stamp
# newer than every file in /var/lib/apt/lists needs no apt-cache call.
if same_script && [ -d /var/lib/apt/lists ] &&
	[ -z "$(find /var/lib/apt/lists -maxdepth 1 -newer "$OUT/stamp" 2>/dev/null | head -n 1)" ]; then
	report ", cached"
	exit 0
fi

KP=$(kernel_pkg)
if [ -z "$KP" ] && [ "$(id -u)" -eq 0 ]; then
	apt-get update -qq >/dev/null 2>&1 || true
	KP=$(kernel_pkg)
fi
KPKG=${KP%% *} KVER=${KP#* }
if [ -z "$KP" ] || [ -z "$KVER" ] || [ "$KVER" = "$KP" ]; then
	# Offline and apt knows no kernel: an existing build of this script will do.
	if same_script; then
		warn "apt-cache does not know $KMETA; using the existing guest"
		report ", cached"
		exit 0
	fi
	die "apt-cache does not know $KMETA (apt-get update needed?)"
fi
KEY=$(printf '%s\n' "$SCRIPT_SHA" "$KPKG=$KVER" "busybox-static=$BBVER" |
	sha256sum | cut -c1-64)

if have_outputs && [ "$(stamp_field key)" = "$KEY" ]; then
	touch "$OUT/stamp" # re-arm the fast path
	report ", cached"
	exit 0
fi

mkdir -p "$OUT"
if command -v flock >/dev/null 2>&1; then
	exec 9>"$OUT/.lock"
	flock 9
	# Someone else may have built it while we waited.
	if have_outputs && [ "$(stamp_field key)" = "$KEY" ]; then
		report ", cached"
		exit 0
	fi
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmtty-guest.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
trap 'rm -rf "$TMP"; exit 130' INT TERM HUP

# ---- kernel ---------------------------------------------------------------
DEB=
APTVER=$(printf '%s' "$KVER" | sed 's/:/%3a/')
for d in /var/cache/apt/archives/"${KPKG}_${APTVER}"_*.deb; do
	[ -r "$d" ] && { DEB=$d; break; }
done
if [ -z "$DEB" ]; then
	mkdir "$TMP/deb"
	set --
	# As root apt drops to _apt, which cannot write a root-owned temp dir.
	[ "$(id -u)" -eq 0 ] && set -- -o APT::Sandbox::User=root
	if ! (cd "$TMP/deb" && apt-get download -q "$@" "$KPKG=$KVER") \
		>"$TMP/apt.log" 2>&1; then
		cat "$TMP/apt.log" >&2
		die "apt-get download $KPKG=$KVER failed"
	fi
	for d in "$TMP"/deb/*.deb; do DEB=$d; done
	[ -r "$DEB" ] || die "apt-get download produced no .deb"
fi
dpkg-deb -x "$DEB" "$TMP/k"
VMLINUZ=$(find "$TMP/k/boot" -name 'vmlinuz-*' -type f | head -n 1)
[ -n "$VMLINUZ" ] || die "no vmlinuz in $DEB"
MODDIR=$(find "$TMP/k" -type d -path '*/lib/modules/*' -prune | head -n 1)
[ -n "$MODDIR" ] || die "no lib/modules in $DEB"
KREL=$(basename "$MODDIR")
find "$MODDIR" -name '*.ko*' -type f >"$TMP/kolist"

# ---- common busybox userland ----------------------------------------------
C=$TMP/common
mkdir -p "$C/bin" "$C/sbin" "$C/usr/bin" "$C/usr/sbin" "$C/etc/init.d" \
	"$C/etc/acpi/PWRF" "$C/proc" "$C/sys" "$C/dev" "$C/run" "$C/tmp" \
	"$C/root" "$C/mnt" "$C/var/log"
chmod 1777 "$C/tmp"
chmod 700 "$C/root"
ln -s ../run "$C/var/run"
cp "$BB" "$C/bin/busybox"
for a in $("$BB" --list-full); do
	case $a in */busybox) continue ;; esac
	[ -e "$C/$a" ] || [ -L "$C/$a" ] || ln -s /bin/busybox "$C/$a"
done

cat >"$C/etc/inittab" <<'EOF'
::sysinit:/etc/init.d/rcS
ttyS0::respawn:-/bin/sh
tty1::respawn:-/bin/sh
::ctrlaltdel:/sbin/reboot
::shutdown:/etc/init.d/rcK
EOF

# Runs before busybox init's own SIGTERM/SIGKILL round: stop everything first
# (acpid keeps its log open for writing, so remounting / read-only would fail
# and leave the root disk with a dirty journal), then remount read-only.
cat >"$C/etc/init.d/rcK" <<'EOF'
#!/bin/sh
PATH=/sbin:/bin:/usr/sbin:/usr/bin
export PATH
kill -TERM -1 2>/dev/null
i=0
while [ $i -lt 50 ] && pidof acpid >/dev/null 2>&1; do
	usleep 20000
	i=$((i + 1))
done
kill -KILL -1 2>/dev/null
sync
umount -a -r 2>/dev/null
mount -o remount,ro / 2>/dev/null
sync
EOF

cat >"$C/etc/init.d/rcS" <<'EOF'
#!/bin/sh
# vmtty test guest: boot script (generated by tests/guest/build.sh)
PATH=/sbin:/bin:/usr/sbin:/usr/bin
export PATH
mounted() { grep -q "^[^ ]* $1 " /proc/mounts 2>/dev/null; }
[ -r /proc/mounts ] || mount -t proc -o nosuid,nodev,noexec proc /proc
mounted /sys || mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
mounted /dev || mount -t devtmpfs -o mode=0755,nosuid devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mounted /dev/pts || mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mounted /run || mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mounted /tmp || mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
# A read-only root disk (vmtty.ro) still needs a writable /var/log for acpid.
if ! touch /var/log/.rw 2>/dev/null; then
	mount -t tmpfs -o mode=0755 tmpfs /var/log
fi
rm -f /var/log/.rw 2>/dev/null
hostname -F /etc/hostname 2>/dev/null || hostname vmtty-guest
ip link set lo up 2>/dev/null

# ACPI power button -> /etc/acpi/PWRF/00000080 -> poweroff.  acpid opens
# /dev/input/event* only after it started: wait until it has (max 3 s) so a
# system_powerdown sent right after the marker is not lost.
setsid acpid -f </dev/null >/dev/null 2>&1 &
apid=$!
i=0
while [ $i -lt 150 ]; do
	ls -l /proc/$apid/fd 2>/dev/null | grep -q /dev/input/event && break
	[ -d /proc/$apid ] || break
	usleep 20000
	i=$((i + 1))
done

# Say something on the serial port, the first VT and any other console.
say() {
	outs="ttyS0 tty1"
	for c in $(cat /sys/class/tty/console/active 2>/dev/null); do
		case " $outs " in *" $c "*) ;; *) [ "$c" = tty0 ] || outs="$outs $c" ;; esac
	done
	for t in $outs; do
		(printf '%s\n' "$*" >"/dev/$t") 2>/dev/null
	done
}
if [ -e /etc/vmtty-disk ]; then say "ROOT=disk"; else say "ROOT=initramfs"; fi
say "GUEST READY"
EOF

cat >"$C/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
exec /sbin/poweroff
EOF
chmod 755 "$C/etc/init.d/rcS" "$C/etc/init.d/rcK" "$C/etc/acpi/PWRF/00000080"

cat >"$C/etc/profile" <<'EOF'
PATH=/sbin:/bin:/usr/sbin:/usr/bin
HOME=/root
PS1='guest:\w\$ '
export PATH HOME PS1
EOF
echo vmtty-guest >"$C/etc/hostname"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$C/etc/passwd"
printf 'root:x:0:\ntty:x:5:\n' >"$C/etc/group"

# ---- initramfs --------------------------------------------------------------
I=$TMP/initrd
cp -a "$C" "$I"
mkdir -p "$I/lib/modules" "$I/newroot"
: >"$I/etc/vmtty-modules"
LOADED='' BUILTIN='' MISSING=''
for m in $MODULES; do
	f=
	for n in "$m" "$(echo "$m" | tr - _)" "$(echo "$m" | tr _ -)"; do
		f=$(grep -E "/$n\\.ko(\\.(xz|zst|gz))?\$" "$TMP/kolist" | head -n 1) || true
		[ -n "$f" ] && break
	done
	if [ -z "$f" ]; then
		if grep -Eq "/($(echo "$m" | tr - _)|$(echo "$m" | tr _ -))\\.ko\$" \
			"$MODDIR/modules.builtin" 2>/dev/null; then
			BUILTIN="$BUILTIN $m"
		else
			MISSING="$MISSING $m"
		fi
		continue
	fi
	dst=$I/lib/modules/$m.ko
	case $f in
	*.ko) cp "$f" "$dst" ;;
	*.xz) xz -dc "$f" >"$dst" ;;
	*.zst) zstd -qdc "$f" >"$dst" ;;
	*.gz) gzip -dc "$f" >"$dst" ;;
	esac
	echo "$m" >>"$I/etc/vmtty-modules"
	LOADED="$LOADED $m"
done
[ -z "$MISSING" ] || warn "modules neither in $KPKG nor built-in:$MISSING"

cat >"$I/init" <<'EOF'
#!/bin/sh
# vmtty test guest: initramfs /init (generated by tests/guest/build.sh)
PATH=/sbin:/bin:/usr/sbin:/usr/bin
export PATH
mount -t proc -o nosuid,nodev,noexec proc /proc
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
mount -t devtmpfs -o mode=0755,nosuid devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
# (A failed redirection of ":" would end this shell, hence the subshell.)
if (: </dev/console >/dev/console) 2>/dev/null; then
	exec </dev/console >/dev/console 2>&1
fi
log() { echo "vmtty-init: $*"; }

while read -r m; do
	[ -n "$m" ] || continue
	insmod "/lib/modules/$m.ko" || log "insmod $m failed, continuing"
done </etc/vmtty-modules

root= fstype=ext4 mode=rw wait=10
set -f
for arg in $(cat /proc/cmdline); do
	case $arg in
	vmtty.root=*) root=${arg#*=} ;;
	vmtty.rootfstype=*) fstype=${arg#*=} ;;
	vmtty.rootwait=*) wait=${arg#*=} ;;
	vmtty.ro) mode=ro ;;
	vmtty.rw) mode=rw ;;
	esac
done
set +f

if [ -n "$root" ]; then
	i=0
	while [ ! -b "$root" ] && [ $i -lt $((wait * 20)) ]; do
		usleep 50000
		i=$((i + 1))
	done
	# A read-only device with a dirty journal cannot be replayed: try noload.
	if mount -t "$fstype" -o "$mode" "$root" /newroot ||
		{ [ "$mode" = ro ] && mount -t "$fstype" -o ro,noload "$root" /newroot; }; then
		if [ -x /newroot/sbin/init ] || [ -L /newroot/sbin/init ]; then
			for d in dev proc sys; do
				mkdir -p "/newroot/$d"
				mount -o move "/$d" "/newroot/$d"
			done
			exec switch_root /newroot /sbin/init
		fi
		log "no /sbin/init on $root"
		umount /newroot
	fi
	log "cannot boot from $root, staying on the initramfs"
fi
exec /sbin/init
EOF
chmod 755 "$I/init"
# The kernel opens /dev/console before /init runs; needs root (else /init
# reopens it after mounting devtmpfs).
mknod -m 600 "$I/dev/console" c 5 1 2>/dev/null || true
mkdir "$TMP/out"
(cd "$I" && find . | "$BB" cpio -o -H newc 2>/dev/null) | gzip -1 -n >"$TMP/out/initrd.img"

# ---- root disk --------------------------------------------------------------
D=$TMP/disk
cp -a "$C" "$D"
echo "vmtty test guest root disk" >"$D/etc/vmtty-disk"
mke2fs -q -t ext4 -L vmtty-root -d "$D" "$TMP/rootfs.raw" "$DISK_SIZE" >/dev/null
qemu-img convert -O qcow2 "$TMP/rootfs.raw" "$TMP/out/rootfs.qcow2"
cp "$VMLINUZ" "$TMP/out/vmlinuz"

cat >"$TMP/out/stamp" <<EOF
key=$KEY
script=$SCRIPT_SHA
kernel=$KPKG $KVER
release=$KREL
busybox=$BBVER
modules=${LOADED# }
builtin=${BUILTIN# }
missing=${MISSING# }
EOF

rm -f "$OUT/stamp"
for f in vmlinuz initrd.img rootfs.qcow2 stamp; do
	mv -f "$TMP/out/$f" "$OUT/$f"
done
report ""
