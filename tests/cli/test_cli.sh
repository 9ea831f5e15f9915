#!/usr/bin/env bash
# The CLI end to end: hosts, the journal, permissions, refusing a corrupt
# inventory without touching it, and SQL-looking names kept verbatim.
source "$(dirname "$0")/../lib.sh"

export VMTTY_DB="$T_TMP/x/inv.db"

t_status "host list on a new inventory" 0 "$VMTTY" host list
t_match "new inventory has host local" '^local +builtin +vmtty:///local' "$T_OUT"
t_eq "inventory dir is 0700" 700 "$(stat -c %a "$T_TMP/x")"
t_eq "inventory file is 0600" 600 "$(stat -c %a "$VMTTY_DB")"

t_status "host add lab test:///default" 0 "$VMTTY" host add lab test:///default
t_status "host list --json" 0 "$VMTTY" host list --json
t_eq "JSON lists local and lab" "local builtin vmtty:///local
lab libvirt test:///default" "$(printf '%s' "$T_OUT" | python3 -c '
import json, sys
for h in json.load(sys.stdin): print(h["name"], h["kind"], h["uri"])')"
t_status "duplicate host add exits 1" 1 "$VMTTY" host add lab qemu:///system
t_match "duplicate names the host" "^vmtty: a host named 'lab' already exists" "$T_ERR"
t_eq "duplicate error is one line" 1 "$(printf '%s\n' "$T_ERR" | wc -l)"
t_status "log --json" 0 "$VMTTY" log --json
t_eq "journal has both attempts" "host-add lab ok
host-add lab failed" "$(printf '%s' "$T_OUT" | python3 -c '
import json, sys
for e in json.load(sys.stdin): print(e["action"], e["host"], e["result"])')"

evil="'; DROP TABLE vms; --"
t_status "a host named like SQL is added" 0 "$VMTTY" host add "$evil" test:///default
t_status "host list after it" 0 "$VMTTY" host list --json
t_match "the name is listed verbatim" "\"name\": \"'; DROP TABLE vms; --\"" "$T_OUT"
t_status "the vms table still works" 0 "$VMTTY" list --host local --json
t_eq "no VMs on local, as before" "[]" "$T_OUT"
t_status "host rm of that host" 0 "$VMTTY" host rm "$evil"
t_status "host rm local is refused" 1 "$VMTTY" host rm local
t_status "host rm of an unknown host" 1 "$VMTTY" host rm nope
t_match "names the unknown host" "no host named 'nope'" "$T_ERR"

# A corrupt inventory: exit 1, the path named, the file byte for byte kept.
bad="$T_TMP/bad/inv.db"
mkdir -p "$T_TMP/bad"
head -c 65536 /dev/urandom > "$bad"
sum=$(sha256sum < "$bad")
t_status "garbage inventory exits 1" 1 "$VMTTY" --db "$bad" host list
t_match "error names the path" "inventory '$bad' is not a SQLite database" "$T_ERR"
t_eq "garbage file untouched" "$sum" "$(sha256sum < "$bad")"
t_eq "no WAL or journal beside it" "inv.db" "$(ls "$T_TMP/bad")"

# An unwritable place for the inventory.
touch "$T_TMP/plain"
t_status "inventory under a plain file exits 1" 1 env VMTTY_DB="$T_TMP/plain/inv.db" "$VMTTY" host list
t_match "error names the path" "$T_TMP/plain" "$T_ERR"

# Usage errors exit 2.
t_status "unknown command exits 2" 2 "$VMTTY" frobnicate
t_status "unknown option exits 2" 2 "$VMTTY" list --bogus
t_status "host add with one operand exits 2" 2 "$VMTTY" host add onlyname
t_status "bad URI exits 1" 1 "$VMTTY" host add weird "not a uri"
t_match "bad URI message" "host URI 'not a uri'" "$T_ERR"
t_status "show of a missing VM exits 1" 1 "$VMTTY" show ghost
t_status "--version" 0 "$VMTTY" --version
t_match "version line" '^vmtty [0-9]+\.[0-9]+\.[0-9]+$' "$T_OUT"
t_status "--help" 0 "$VMTTY" --help
t_match "help lists commands" 'host +add NAME URI' "$T_OUT"
t_status "help host" 0 "$VMTTY" help host
t_status "start without a VM exits 2" 2 "$VMTTY" start
t_status "shutdown with two VMs exits 2" 2 "$VMTTY" shutdown a b
t_status "start --timeout 0 exits 2" 2 "$VMTTY" start ghost --timeout 0
t_status "start of an unknown VM exits 1" 1 "$VMTTY" start ghost
t_match "and names it" "no VM named 'ghost'" "$T_ERR"
t_status "create --cpus abc exits 1" 1 "$VMTTY" create v --cpus abc
t_match "naming the field, in one line" "^vmtty: CPUs: 'abc' is not a whole number from 1 to 256$" "$T_ERR"
t_status "create --network bogus exits 1" 1 "$VMTTY" create v --network bogus
t_status "create --net (not an option) exits 2" 2 "$VMTTY" create v --net user
t_status "create --memory 2G (no other option) is taken" 0 "$VMTTY" create m2g --memory 2G
t_eq "with 2048 MiB" 2048 "$("$VMTTY" show m2g --json | python3 -c "import json,sys; print(json.load(sys.stdin)[\"memory_mib\"])")"
t_status "delete it" 0 "$VMTTY" delete m2g
t_status "create on an unknown host exits 1" 1 "$VMTTY" create v --host nope --kernel /bin/true
t_status "nothing was created" 0 "$VMTTY" list --host local --json
t_eq "still no VMs on local" "[]" "$T_OUT"
t_status "TUI without a terminal exits 1" 1 "$VMTTY" </dev/null
t_match "and says why" "needs a terminal" "$T_ERR"

# A host found as it was writes no cached row again: each row keeps its
# rowid and last-write time on a second list.  The project's lab file has
# domains without a <uuid>, which the test driver gives a new UUID on each
# connection: those rows (and only those) change every time.
cache_rows() {
	sqlite3 "$VMTTY_DB" "SELECT v.rowid, v.uuid, v.name, v.state, v.seen FROM vms v
		JOIN hosts h ON h.id = v.host_id WHERE h.name = '$1' ORDER BY v.name"
}
t_status "host add cache test:///default" 0 "$VMTTY" host add cache test:///default
t_status "host add labc (lab.xml)" 0 "$VMTTY" host add labc "test://$T_ROOT/tests/data/libvirt/lab.xml"
"$VMTTY" list >/dev/null 2>&1
before=$(cache_rows cache) lab_before=$(cache_rows labc)
t_check "the first list cached the hosts' domains" test -n "$before" -a -n "$lab_before"
t_status "a second list" 0 "$VMTTY" list
t_eq "an unchanged host's cached rows were not written again" "$before" "$(cache_rows cache)"
nouuid="scratch spare ephemeral-paused"
keep() { printf '%s\n' "$1" | grep -vwE "${nouuid// /|}"; }
t_eq "lab's domains with a <uuid> were not written again" "$(keep "$lab_before")" \
	"$(keep "$(cache_rows labc)")"
t_eq "lab still caches all its domains" "$(printf '%s\n' "$lab_before" | wc -l)" \
	"$(cache_rows labc | wc -l)"

t_summary
