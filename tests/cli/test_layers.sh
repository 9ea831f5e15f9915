#!/usr/bin/env bash
# scripts/check-layers passes on this tree and refuses copies of it that
# break a rule: hv reaching into the orchestration layer or the inventory,
# ops or model reaching into a front end.
source "$(dirname "$0")/../lib.sh"

t_status "check-layers passes on this tree" 0 "$T_ROOT/scripts/check-layers" "$T_ROOT"

# broken DESC FILE LINE: a copy of src/ with LINE added at the top of FILE
# is refused, naming FILE.
broken() {
	local desc=$1 file=$2 line=$3 tree="$T_TMP/tree"
	rm -rf "$tree"; mkdir -p "$tree"
	cp -r "$T_ROOT/src" "$tree/src"
	{ printf '%s\n' "$line"; cat "$T_ROOT/$file"; } >"$tree/$file"
	t_status "$desc is refused" 1 "$T_ROOT/scripts/check-layers" "$tree"
	t_match "and $file is named" "$file:1:" "$T_ERR"
}
broken "hv including the ops layer" src/hv/qemu.c '#include "ops/fleet.h"'
broken "hv including the inventory's database" src/hv/libvirt.c '#include "model/db.h"'
broken "hv including the journal" src/hv/hv.c '#include "model/journal.h"'
broken "hv writing a VM row" src/hv/qemu.c 'static void f(void) { vm_update(NULL, NULL); }'
broken "hv recording snapshots" src/hv/qemu_snap.c 'static void f(void) { snapshot_db_record(NULL, NULL, NULL, 0); }'
broken "hv writing the journal" src/hv/hv.c 'static void f(void) { journal_add(NULL, NULL, NULL, NULL, 0, NULL); }'
broken "hv moving a VM to another host" src/hv/qemu.c 'static void f(void) { vm_move(NULL, 0, 0); }'
broken "hv moving a VM with its journal" src/hv/libvirt_migrate.c 'static void f(void) { vm_move_journaled(NULL, 0, 0, NULL, NULL, NULL, NULL, NULL); }'
broken "hv including the inventory writer" src/hv/qemu.c '#include "model/writer.h"'
broken "hv queueing an inventory write" src/hv/qemu.c 'static void f(void) { writer_submit(NULL, NULL, NULL, NULL, NULL); }'
broken "hv with sqlite3.h" src/hv/qemu.c '#include <sqlite3.h>'
broken "ops including curses" src/ops/fleet.c '#include <curses.h>'
broken "ops including the UI" src/ops/provision.c '#include "ui/ui_priv.h"'
broken "model including ops" src/model/vm.c '#include "ops/vmedit.h"'
broken "util including hv" src/util/spawn.c '#include "hv/hv.h"'
broken "ui including sqlite3.h" src/ui/vmlist.c '#include <sqlite3.h>'
broken "ui including libcurl (downloads are util/fetch's)" src/ui/wizard.c '#include <curl/curl.h>'
broken "ops including libcurl" src/ops/image.c '#include <curl/curl.h>'

t_summary
