#!/usr/bin/env bash
# Refused means untouched: an inventory vmtty refuses (a schema version
# below zero, a corrupt page) keeps every byte, no journal row written into
# it; a full file system leaves no empty new inventory behind.
source "$(dirname "$0")/../lib.sh"

export XDG_RUNTIME_DIR="$T_TMP/run"

# sql DB SQL: run SQL on DB outside vmtty; prints the first column.
sql() {
	python3 - "$@" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for row in c.execute(sys.argv[2]):
	print(row[0])
c.commit()
PY
}

# 1. user_version -1: refused, not reset to 0 nor "migrated".
db="$T_TMP/neg/inv.db"
t_status "a new inventory" 0 "$VMTTY" --db "$db" host add lab test:///default
sql "$db" "PRAGMA user_version = -1"
sum=$(sha256sum < "$db")
t_status "list on schema version -1 exits 1" 1 "$VMTTY" --db "$db" list
t_match "says why, naming the path" "inventory '$db' has schema version -1" "$T_ERR"
t_status "host add on it exits 1 too" 1 "$VMTTY" --db "$db" host add other test:///default
t_eq "the file is byte for byte as it was" "$sum" "$(sha256sum < "$db")"
t_eq "its schema version is still -1" -1 "$(sql "$db" "PRAGMA user_version")"
t_eq "nothing left beside it" "inv.db" "$(ls "$T_TMP/neg")"

# 2. A corrupt page, found by the command (the index of host names):
# the command fails and no FAILED journal row is written into the file.
db="$T_TMP/corrupt/inv.db"
t_status "another inventory" 0 "$VMTTY" --db "$db" host add lab test:///default
page=$(sql "$db" "SELECT rootpage FROM sqlite_master WHERE name = 'sqlite_autoindex_hosts_1'")
size=$(sql "$db" "PRAGMA page_size")
python3 -c '
import sys
with open(sys.argv[1], "r+b") as f:
	f.seek((int(sys.argv[2]) - 1) * int(sys.argv[3]))
	f.write(b"\xde" * int(sys.argv[3]))' "$db" "$page" "$size"
sum=$(sha256sum < "$db")
t_status "host add into a corrupt index exits 1" 1 "$VMTTY" --db "$db" host add lab2 test:///default
t_match "the error names the inventory" "inventory '$db'" "$T_ERR"
t_eq "the file is byte for byte as it was" "$sum" "$(sha256sum < "$db")"
t_eq "the journal has only the first host add" "host-add ok" \
	"$(sql "$db" "SELECT action || ' ' || result FROM journal")"
t_eq "nothing left beside it" "inv.db" "$(ls "$T_TMP/corrupt")"

# damage DB TABLE: overwrite the root page of TABLE (or index) in DB.
damage() {
	local page size
	page=$(sql "$1" "SELECT rootpage FROM sqlite_master WHERE name = '$2'")
	size=$(sql "$1" "PRAGMA page_size")
	python3 -c '
import sys
with open(sys.argv[1], "r+b") as f:
	f.seek((int(sys.argv[2]) - 1) * int(sys.argv[3]))
	f.write(b"\xde" * int(sys.argv[3]))' "$1" "$page" "$size"
}

# 2b. A corrupt table the command reaches only after its first write (the
# VM list, read after a creation is recorded): refused before any write.
db="$T_TMP/vms/inv.db"
t_status "an inventory with a VM" 0 "$VMTTY" --db "$db" create v1 --memory 64M
sql "$db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
damage "$db" vms
sum=$(sha256sum < "$db")
t_status "create into a corrupt VM table exits 1" 1 "$VMTTY" --db "$db" create zz --memory 64M
t_match "says the inventory is corrupt" "inventory '$db' is corrupt; vmtty does not write to it" \
	"$T_ERR"
t_eq "the file is byte for byte as it was (no creation recorded)" "$sum" "$(sha256sum < "$db")"
t_eq "nothing left beside it" "inv.db" "$(ls "$T_TMP/vms")"

# 2c. A corrupt journal: commands that write refuse instead of losing the
# journal's rows (exit 1, nothing written); reading still works.
db="$T_TMP/journal/inv.db"
t_status "an inventory with a VM and a journal" 0 "$VMTTY" --db "$db" create j1 --memory 64M
sql "$db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
damage "$db" journal
sum=$(sha256sum < "$db")
t_status "create with a corrupt journal exits 1" 1 "$VMTTY" --db "$db" create j2 --memory 64M
t_match "says the inventory is corrupt" "inventory '$db' is corrupt" "$T_ERR"
t_status "delete with a corrupt journal exits 1" 1 "$VMTTY" --db "$db" delete j1
t_eq "the file is byte for byte as it was" "$sum" "$(sha256sum < "$db")"
t_status "list still reads it" 0 "$VMTTY" --db "$db" list
t_match "and shows the VM" "j1" "$T_OUT"

# 2d. Commands that change a host before they record it (snapshots, delete
# --snapshots, start) read the whole inventory first: with the journal
# corrupt they are refused before the disk or the host changes; the reading
# subcommands still work; the TUI does not start on it.
db="$T_TMP/snap/inv.db"
mkdir -p "$T_TMP/snap"
qemu-img create -q -f qcow2 "$T_TMP/snap/D.qcow2" 64M
t_status "a VM with a snapshot" 0 sh -c '"$1" --db "$2" create x --disk "$3" &&
	"$1" --db "$2" snapshot x create s0' _ "$VMTTY" "$db" "$T_TMP/snap/D.qcow2"
sql "$db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
damage "$db" journal
sum=$(sha256sum "$db" "$T_TMP/snap/D.qcow2")
for cmd in "snapshot x create s1" "snapshot x create s2 --disk-only" "snapshot x delete s0" \
	"snapshot x revert s0" "delete x --snapshots" "start x"; do
	# shellcheck disable=SC2086
	t_status "$cmd: exit 1 before touching anything" 1 "$VMTTY" --db "$db" $cmd
	t_match "$cmd: says the inventory is corrupt" "inventory '$db' is corrupt" "$T_ERR"
done
t_eq "the inventory and the disk are byte for byte as they were" "$sum" \
	"$(sha256sum "$db" "$T_TMP/snap/D.qcow2")"
t_eq "no snapshot file was made" "D.qcow2" "$(ls "$T_TMP/snap" | grep -v inv.db)"
t_status "snapshot x list still reads" 0 "$VMTTY" --db "$db" snapshot x list
t_match "and shows s0" "s0" "$T_OUT"
t_status "host list still reads" 0 "$VMTTY" --db "$db" host list
"$T_BUILD/bench/ptyrun" -p 80x24 -o "$T_TMP/tui.out" "$VMTTY" --db "$db" --frames 1 \
	>"$T_TMP/ptyrun.out" 2>&1
t_match "the TUI (on a pty) does not start on it: exit 1" "status=1" "$(cat "$T_TMP/ptyrun.out")"
t_match "saying why" "inventory '$db' is corrupt" "$(cat "$T_TMP/tui.out")"

# 3. A full file system: creating the inventory fails, and no 0-byte file
# (which would pass for an empty inventory next time) is left.
mnt="$T_TMP/full"
mkdir -p "$mnt"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=64k,mode=0700 vmtty-test "$mnt" 2>/dev/null; then
	t_on_exit "umount '$mnt'"
	dd if=/dev/zero of="$mnt/fill" bs=4k 2>/dev/null
	t_status "a new inventory on a full file system exits 1" 1 \
		"$VMTTY" --db "$mnt/inv.db" host list
	t_match "names the path" "inventory '$mnt/inv.db'" "$T_ERR"
	t_eq "no inventory file is left" "fill" "$(ls "$mnt")"
else
	t_ok "full file system: skipped (needs root to mount a tmpfs)"
fi

t_summary
