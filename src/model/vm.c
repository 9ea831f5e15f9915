/* vm: the inventory's VM rows (SQL); a configuration's rules are in
 * vm_config.c. */
#include "model/vm.h"
#include "model/model_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/journal.h"
#include "util/err.h"
#include "util/xalloc.h"

/* Bind the configuration columns shared by INSERT and UPDATE: ?2 .. ?16,
 * and ?19 .. ?21. */
static void
bind_config(sqlite3_stmt *st, const struct vm_config *c)
{
	db_bind_text(st, 2, c->name);
	db_bind_text(st, 3, c->machine);
	db_bind_text(st, 4, c->accel);
	db_bind_text(st, 5, c->firmware);
	sqlite3_bind_int(st, 6, c->sockets);
	sqlite3_bind_int(st, 7, c->cores);
	sqlite3_bind_int(st, 8, c->threads);
	sqlite3_bind_int64(st, 9, c->memory_mib);
	db_bind_text(st, 10, c->kernel);
	db_bind_text(st, 11, c->initrd);
	db_bind_text(st, 12, c->cmdline);
	db_bind_text(st, 13, c->graphics);
	db_bind_text(st, 14, c->template_name);
	db_bind_text(st, 15, c->notes);
	sqlite3_bind_int64(st, 16, db_now_ms());
	db_bind_text(st, 19, c->boot_order);
	db_bind_text(st, 20, c->on_crash != NULL ? c->on_crash : VM_DEFAULT_ON_CRASH);
	sqlite3_bind_int(st, 21, c->autostart);
}

/* Write disks, NICs and tuning of VM id (children deleted first). */
static int
write_children(struct db *db, int64_t id, const struct vm_config *c)
{
	static const char *const dels[] = {
		"DELETE FROM disks WHERE vm_id = ?1",
		"DELETE FROM nics WHERE vm_id = ?1",
		"DELETE FROM tuning WHERE vm_id = ?1",
	};
	sqlite3_stmt *st;
	int rc;

	for (size_t i = 0; i < sizeof dels / sizeof dels[0]; i++) {
		if ((st = db_prepare(db, dels[i])) == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, id);
		rc = sqlite3_step(st);
		db_done(st);
		if (rc != SQLITE_DONE)
			return db_error(db, "cannot replace VM devices");
	}
	for (size_t i = 0; i < c->ndisks; i++) {
		const struct vm_disk *d = &c->disks[i];

		st = db_prepare(db, "INSERT INTO disks (vm_id, idx, path, format, bus, cache, "
		    "readonly, media, owned) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
		if (st == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (int64_t)i);
		db_bind_text(st, 3, d->path);
		db_bind_text(st, 4, d->format);
		db_bind_text(st, 5, d->bus);
		db_bind_text(st, 6, d->cache);
		sqlite3_bind_int(st, 7, d->readonly);
		db_bind_text(st, 8, d->cdrom ? "cdrom" : "disk");
		sqlite3_bind_int(st, 9, d->owned);
		rc = sqlite3_step(st);
		db_done(st);
		if (rc != SQLITE_DONE)
			return db_error(db, "cannot store a disk");
	}
	for (size_t i = 0; i < c->nnics; i++) {
		const struct vm_nic *n = &c->nics[i];

		st = db_prepare(db, "INSERT INTO nics (vm_id, idx, kind, model, mac, source, "
		    "forwards) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
		if (st == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (int64_t)i);
		db_bind_text(st, 3, n->kind);
		db_bind_text(st, 4, n->model);
		db_bind_text(st, 5, n->mac);
		db_bind_text(st, 6, n->source);
		db_bind_text(st, 7, n->forwards);
		rc = sqlite3_step(st);
		db_done(st);
		if (rc != SQLITE_DONE)
			return db_error(db, "cannot store a NIC");
	}
	st = db_prepare(db, "INSERT INTO tuning (vm_id, vcpu_pins, hugepages, balloon_mib, "
	    "emulator_pin) VALUES (?1, ?2, ?3, ?4, ?5)");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, c->tuning.vcpu_pins);
	sqlite3_bind_int64(st, 3, c->tuning.hugepage_kib);
	if (c->tuning.balloon_mib > 0)
		sqlite3_bind_int64(st, 4, c->tuning.balloon_mib);
	db_bind_text(st, 5, c->tuning.emulator_pin);
	rc = sqlite3_step(st);
	db_done(st);
	if (rc != SQLITE_DONE)
		return db_error(db, "cannot store VM tuning");
	return 0;
}

static int
host_name_of(struct db *db, int64_t host_id, char **name)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT name FROM hosts WHERE id = ?1");
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, host_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*name = db_col_text(st, 0);
	db_done(st);
	if (rc != SQLITE_ROW)
		return err_set("no host with id %lld in the inventory", (long long)host_id);
	return 0;
}

int
vm_insert(struct db *db, struct vm_config *c)
{
	sqlite3_stmt *st;
	char *host = NULL;
	int rc;

	if (vm_config_validate(c) != 0 || host_name_of(db, c->host_id, &host) != 0)
		return -1;
	if (c->uuid[0] == '\0' && uuid_generate(c->uuid) != 0)
		goto fail_nodb;
	if (db_begin(db) != 0)
		goto fail_nodb;
	st = db_prepare(db, "INSERT INTO vms (host_id, name, machine, accel, firmware, sockets, "
	    "cores, threads, memory_mib, kernel, initrd, cmdline, graphics, template, notes, "
	    "updated, created, uuid, state, boot_order, on_crash, autostart) VALUES (?1, ?2, "
	    "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16, ?17, ?18, ?19, "
	    "?20, ?21)");
	if (st == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, c->host_id);
	bind_config(st, c);
	db_bind_text(st, 17, c->uuid);
	db_bind_text(st, 18, c->state != NULL ? c->state : "off");
	rc = sqlite3_step(st);
	db_done(st);
	if (rc == SQLITE_CONSTRAINT) {
		err_set("a VM named '%s' already exists on host '%s'; choose another name",
		    c->name, host);
		goto fail;
	}
	if (rc != SQLITE_DONE) {
		db_error(db, "cannot add VM");
		goto fail;
	}
	c->id = sqlite3_last_insert_rowid(db_sqlite(db));
	if (write_children(db, c->id, c) != 0 || db_commit(db) != 0)
		goto fail;
	free(c->host);
	c->host = host;
	return 0;
fail:
	db_rollback(db);
	c->id = 0;
fail_nodb:
	free(host);
	return -1;
}

int
vm_update(struct db *db, const struct vm_config *c)
{
	sqlite3_stmt *st;
	int rc;

	if (vm_config_validate(c) != 0)
		return -1;
	if (db_begin(db) != 0)
		return -1;
	/* The configured memory is the maximum until the host says more. */
	st = db_prepare(db, "UPDATE vms SET name = ?2, machine = ?3, accel = ?4, firmware = ?5, "
	    "sockets = ?6, cores = ?7, threads = ?8, memory_mib = ?9, kernel = ?10, "
	    "initrd = ?11, cmdline = ?12, graphics = ?13, template = ?14, notes = ?15, "
	    "updated = ?16, boot_order = ?19, on_crash = ?20, autostart = ?21, "
	    "max_memory_mib = NULL WHERE id = ?1");
	if (st == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, c->id);
	bind_config(st, c);
	rc = sqlite3_step(st);
	db_done(st);
	if (rc == SQLITE_CONSTRAINT) {
		err_set("a VM named '%s' already exists on this host; choose another name", c->name);
		goto fail;
	}
	if (rc != SQLITE_DONE) {
		db_error(db, "cannot update VM");
		goto fail;
	}
	if (sqlite3_changes(db_sqlite(db)) == 0) {
		err_set("VM '%s' is no longer in the inventory", c->name);
		goto fail;
	}
	if (write_children(db, c->id, c) != 0 || db_commit(db) != 0)
		goto fail;
	return 0;
fail:
	db_rollback(db);
	return -1;
}

/* Inside the caller's transaction: VM ID's row onto host HOST_ID. */
static int
move_rows(struct db *db, int64_t id, int64_t host_id)
{
	static const char *const sql[] = {
		"DELETE FROM vms WHERE host_id = ?2 AND id <> ?1 AND uuid = "
		"(SELECT uuid FROM vms WHERE id = ?1)",
		"UPDATE vms SET host_id = ?2, updated = ?3 WHERE id = ?1",
	};
	sqlite3_stmt *st;
	int rc;

	for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
		if ((st = db_prepare(db, sql[i])) == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, host_id);
		if (i == 1)
			sqlite3_bind_int64(st, 3, db_now_ms());
		rc = sqlite3_step(st);
		db_done(st);
		if (rc == SQLITE_CONSTRAINT)
			return err_set("the destination already has a VM of that name in the "
			    "inventory; rename one of them");
		if (rc != SQLITE_DONE)
			return db_error(db, "cannot move the VM to its new host");
		if (i == 1 && sqlite3_changes(db_sqlite(db)) == 0)
			return err_set("the VM is no longer in the inventory");
	}
	return 0;
}

int
vm_move(struct db *db, int64_t id, int64_t host_id)
{
	return vm_move_journaled(db, id, host_id, NULL, NULL, NULL, NULL, NULL);
}

int
vm_move_journaled(struct db *db, int64_t id, int64_t host_id, const char *name,
    const char *from, const char *to, const char *action, const char *message)
{
	if (db_begin(db) != 0)
		return -1;
	if (move_rows(db, id, host_id) != 0)
		goto fail;
	if (message != NULL && (journal_add(db, from, name, action, true, message) != 0 ||
	    journal_add(db, to, name, action, true, message) != 0))
		goto fail;
	if (db_commit(db) != 0)
		goto fail;
	return 0;
fail:
	db_rollback(db);
	return -1;
}

int
vm_move_config(struct db *db, const struct vm_config *c, int64_t host_id)
{
	if (vm_config_validate(c) != 0 || db_begin(db) != 0)
		return -1;
	if (move_rows(db, c->id, host_id) != 0 || write_children(db, c->id, c) != 0 ||
	    db_commit(db) != 0) {
		db_rollback(db);
		return -1;
	}
	return 0;
}

int
vm_delete(struct db *db, int64_t id)
{
	sqlite3_stmt *st = db_prepare(db, "DELETE FROM vms WHERE id = ?1");
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	db_done(st);
	if (rc != SQLITE_DONE)
		return db_error(db, "cannot delete VM");
	return 0;
}

int
vm_disk_refs(struct db *db, struct vm_disk_ref **out, size_t *n)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT v.id, v.host_id, v.name, h.name, h.kind, "
	    "d.path, d.format FROM disks d JOIN vms v ON v.id = d.vm_id "
	    "JOIN hosts h ON h.id = v.host_id ORDER BY h.name, v.name, d.idx");
	struct vm_disk_ref *v = NULL;
	size_t len = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *kind = (const char *)sqlite3_column_text(st, 4);
		struct vm_disk_ref *r;

		if (len == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			v = xreallocarray(v, cap, sizeof *v);
		}
		r = &v[len++];
		r->vm_id = sqlite3_column_int64(st, 0);
		r->host_id = sqlite3_column_int64(st, 1);
		r->vm = db_col_text(st, 2);
		r->host = db_col_text(st, 3);
		r->builtin = kind != NULL && strcmp(kind, "builtin") == 0;
		r->path = db_col_text(st, 5);
		r->format = db_col_text(st, 6);
	}
	db_done(st);
	if (rc != SQLITE_DONE) {
		vm_disk_refs_free(v, len);
		return db_error(db, "cannot read the disks of the VMs");
	}
	*out = v;
	*n = len;
	return 0;
}

void
vm_disk_refs_free(struct vm_disk_ref *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(r[i].vm);
		free(r[i].host);
		free(r[i].path);
		free(r[i].format);
	}
	free(r);
}

bool
vm_state_stopped(const char *state)
{
	return state != NULL && (strcmp(state, "off") == 0 || strcmp(state, "crashed") == 0);
}

int
vm_set_state(struct db *db, int64_t id, const char *state)
{
	sqlite3_stmt *st = db_prepare(db, vm_state_stopped(state) ?
	    "UPDATE vms SET state = ?2, seen = ?3, pending = NULL WHERE id = ?1" :
	    "UPDATE vms SET state = ?2, seen = ?3 WHERE id = ?1");
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, state);
	sqlite3_bind_int64(st, 3, db_now_ms());
	rc = sqlite3_step(st);
	db_done(st);
	if (rc != SQLITE_DONE)
		return db_error(db, "cannot record VM state");
	return 0;
}

int
vm_set_policy(struct db *db, int64_t id, const char *on_crash, bool autostart)
{
	sqlite3_stmt *st;
	int rc;

	if (vm_on_crash_check(on_crash) != 0)
		return -1;
	st = db_prepare(db, "UPDATE vms SET on_crash = ?2, autostart = ?3, updated = ?4 "
	    "WHERE id = ?1");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, on_crash);
	sqlite3_bind_int(st, 3, autostart);
	sqlite3_bind_int64(st, 4, db_now_ms());
	rc = sqlite3_step(st);
	db_done(st);
	if (rc != SQLITE_DONE)
		return db_error(db, "cannot record the VM's restart policy");
	if (sqlite3_changes(db_sqlite(db)) == 0)
		return err_set("VM %lld is no longer in the inventory", (long long)id);
	return 0;
}

int
vm_set_pending(struct db *db, int64_t id, const char *pending)
{
	sqlite3_stmt *st = db_prepare(db, "UPDATE vms SET pending = ?2 WHERE id = ?1");
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, pending);
	rc = sqlite3_step(st);
	db_done(st);
	if (rc != SQLITE_DONE)
		return db_error(db, "cannot record pending changes");
	return 0;
}

int
vm_last_from_template(struct db *db, const char *template_name, int64_t *id)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT id FROM vms WHERE template = ?1 "
	    "ORDER BY created DESC, id DESC LIMIT 1");
	int rc;

	*id = 0;
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, template_name);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	db_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(db, "cannot look up VMs by template");
	return 0;
}

static int
load_children(struct db *db, struct vm_config *c)
{
	sqlite3_stmt *st;
	int rc;

	st = db_prepare(db, "SELECT path, format, bus, cache, readonly, media, owned FROM disks "
	    "WHERE vm_id = ?1 ORDER BY idx");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, c->id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *media = (const char *)sqlite3_column_text(st, 5);
		struct vm_disk *d = vm_config_add_disk(c, (const char *)sqlite3_column_text(st, 0));

		free(d->format);
		free(d->bus);
		d->format = db_col_text(st, 1);
		d->bus = db_col_text(st, 2);
		d->cache = db_col_text(st, 3);
		d->readonly = sqlite3_column_int(st, 4) != 0;
		d->cdrom = media != NULL && strcmp(media, "cdrom") == 0;
		d->owned = sqlite3_column_int(st, 6) != 0;
	}
	db_done(st);
	if (rc != SQLITE_DONE)
		return db_error(db, "cannot read VM disks");

	st = db_prepare(db, "SELECT kind, model, mac, source, forwards FROM nics "
	    "WHERE vm_id = ?1 ORDER BY idx");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, c->id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct vm_nic *n = vm_config_add_nic(c, (const char *)sqlite3_column_text(st, 0));

		free(n->model);
		n->model = db_col_text(st, 1);
		n->mac = db_col_text(st, 2);
		n->source = db_col_text(st, 3);
		n->forwards = db_col_text(st, 4);
	}
	db_done(st);
	if (rc != SQLITE_DONE)
		return db_error(db, "cannot read VM NICs");

	st = db_prepare(db, "SELECT vcpu_pins, hugepages, balloon_mib, emulator_pin FROM tuning "
	    "WHERE vm_id = ?1");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, c->id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		c->tuning.vcpu_pins = db_col_text(st, 0);
		c->tuning.hugepage_kib = sqlite3_column_int64(st, 1);
		c->tuning.balloon_mib = sqlite3_column_int64(st, 2);
		c->tuning.emulator_pin = db_col_text(st, 3);
	}
	db_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(db, "cannot read VM tuning");
	return 0;
}

int
vm_load(struct db *db, int64_t id, struct vm_config *out)
{
	sqlite3_stmt *st;
	struct vm_config c;
	int rc;

	/* A libvirt domain's memory is its maximum (<memory>); the cache
	 * keeps what it has now (<currentMemory>, the balloon) in memory_mib
	 * for the list. */
	st = db_prepare(db, "SELECT v.id, v.host_id, h.name, v.uuid, v.name, v.state, v.machine, "
	    "v.accel, v.firmware, v.sockets, v.cores, v.threads, "
	    "coalesce(v.max_memory_mib, v.memory_mib), v.kernel, "
	    "v.initrd, v.cmdline, v.graphics, v.template, v.notes, v.created, v.updated, "
	    "CASE WHEN h.kind = 'libvirt' AND h.last_seen > v.seen THEN h.last_seen "
	    "ELSE v.seen END, v.pending, v.boot_order, v.on_crash, v.autostart "
	    "FROM vms v JOIN hosts h ON h.id = v.host_id WHERE v.id = ?1");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		db_done(st);
		if (rc == SQLITE_DONE)
			return err_set("no VM with id %lld in the inventory", (long long)id);
		return db_error(db, "cannot read VM");
	}
	memset(&c, 0, sizeof c);
	c.id = sqlite3_column_int64(st, 0);
	c.host_id = sqlite3_column_int64(st, 1);
	c.host = db_col_text(st, 2);
	snprintf(c.uuid, sizeof c.uuid, "%s", (const char *)sqlite3_column_text(st, 3));
	c.name = db_col_text(st, 4);
	c.state = db_col_text(st, 5);
	c.machine = db_col_text(st, 6);
	c.accel = db_col_text(st, 7);
	c.firmware = db_col_text(st, 8);
	c.sockets = sqlite3_column_int(st, 9);
	c.cores = sqlite3_column_int(st, 10);
	c.threads = sqlite3_column_int(st, 11);
	c.memory_mib = sqlite3_column_int64(st, 12);
	c.kernel = db_col_text(st, 13);
	c.initrd = db_col_text(st, 14);
	c.cmdline = db_col_text(st, 15);
	c.graphics = db_col_text(st, 16);
	c.template_name = db_col_text(st, 17);
	c.notes = db_col_text(st, 18);
	c.created = sqlite3_column_int64(st, 19);
	c.updated = sqlite3_column_int64(st, 20);
	c.seen = sqlite3_column_int64(st, 21);
	c.pending = db_col_text(st, 22);
	c.boot_order = db_col_text(st, 23);
	c.on_crash = db_col_text(st, 24);
	c.autostart = sqlite3_column_int(st, 25) != 0;
	db_done(st);
	if (load_children(db, &c) != 0) {
		vm_config_clear(&c);
		return -1;
	}
	*out = c;
	return 0;
}

int
vm_resolve(struct db *db, const char *spec, int64_t *id)
{
	const char *slash = strchr(spec, '/');
	sqlite3_stmt *st;
	char *host = NULL, hosts[256] = "";
	int rc, count = 0;

	if (slash != NULL) {
		host = xstrndup(spec, (size_t)(slash - spec));
		st = db_prepare(db, "SELECT v.id, h.name FROM vms v JOIN hosts h ON h.id = v.host_id "
		    "WHERE h.name = ?1 AND v.name = ?2");
		if (st == NULL)
			goto out;
		db_bind_text(st, 1, host);
		db_bind_text(st, 2, slash + 1);
	} else {
		st = db_prepare(db, "SELECT v.id, h.name FROM vms v JOIN hosts h ON h.id = v.host_id "
		    "WHERE v.name = ?1 ORDER BY h.name");
		if (st == NULL)
			goto out;
		db_bind_text(st, 1, spec);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (count++ == 0)
			*id = sqlite3_column_int64(st, 0);
		if (hosts[0] != '\0')
			strncat(hosts, ", ", sizeof hosts - strlen(hosts) - 1);
		strncat(hosts, (const char *)sqlite3_column_text(st, 1), sizeof hosts - strlen(hosts) - 1);
	}
	db_done(st);
	if (rc != SQLITE_DONE) {
		db_error(db, "cannot look up VM");
		count = -1;
	} else if (count == 0) {
		err_set("no VM named '%s'; see 'vmtty list'", spec);
	} else if (count > 1) {
		err_set("VM name '%s' is on several hosts (%s); say HOST/NAME", spec, hosts);
	}
out:
	free(host);
	return count == 1 ? 0 : -1;
}

int
vm_list(struct db *db, const char *host, struct vm_summary **out, size_t *n)
{
	sqlite3_stmt *st;
	struct vm_summary *v = NULL;
	size_t len = 0, cap = 0;
	int rc;

	st = db_prepare(db, "SELECT v.id, h.name, v.name, v.uuid, v.state, "
	    "v.sockets * v.cores * v.threads, v.memory_mib, v.pending IS NOT NULL, "
	    "coalesce(v.max_memory_mib, v.memory_mib), v.autostart, v.persistent, "
	    "v.on_crash = 'restart' "
	    "FROM vms v JOIN hosts h ON h.id = v.host_id "
	    "WHERE ?1 IS NULL OR h.name = ?1 "
	    "ORDER BY (h.name <> 'local'), h.name, v.name");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, host);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct vm_summary *s;

		if (len == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			v = xreallocarray(v, cap, sizeof *v);
		}
		s = &v[len++];
		s->id = sqlite3_column_int64(st, 0);
		s->host = db_col_text(st, 1);
		s->name = db_col_text(st, 2);
		snprintf(s->uuid, sizeof s->uuid, "%s", (const char *)sqlite3_column_text(st, 3));
		s->state = db_col_text(st, 4);
		s->cpus = sqlite3_column_int(st, 5);
		s->memory_mib = sqlite3_column_int64(st, 6);
		s->pending = sqlite3_column_int(st, 7) != 0;
		s->max_memory_mib = sqlite3_column_int64(st, 8);
		s->autostart = sqlite3_column_int(st, 9) != 0;
		s->persistent = sqlite3_column_int(st, 10) != 0;
		s->restart_on_crash = sqlite3_column_int(st, 11) != 0;
	}
	db_done(st);
	if (rc != SQLITE_DONE) {
		vm_summary_free(v, len);
		return db_error(db, "cannot list VMs");
	}
	*out = v;
	*n = len;
	return 0;
}

void
vm_summary_free(struct vm_summary *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].host);
		free(v[i].name);
		free(v[i].state);
	}
	free(v);
}

/* A cached row as the inventory holds it, to compare with what was seen. */
struct cached {
	char uuid[UUID_STR_LEN];
	char *name, *state;
	int sockets, cores, threads;
	int64_t memory_mib, max_memory_mib;
	bool autostart, persistent;
	bool matched;
};

static int
cached_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cached *)a)->uuid, ((const struct cached *)b)->uuid);
}

static void
cached_free(struct cached *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].name);
		free(c[i].state);
	}
	free(c);
}

/* Host HOST_ID's cached rows, sorted by UUID. */
static int
cached_load(struct db *db, int64_t host_id, struct cached **out, size_t *n)
{
	sqlite3_stmt *st;
	struct cached *c = NULL;
	size_t len = 0, cap = 0;
	int rc;

	st = db_prepare(db, "SELECT uuid, name, state, sockets, cores, threads, memory_mib, "
	    "coalesce(max_memory_mib, memory_mib), autostart, persistent "
	    "FROM vms WHERE host_id = ?1");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, host_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 64;
			c = xreallocarray(c, cap, sizeof *c);
		}
		memset(&c[len], 0, sizeof c[len]);
		snprintf(c[len].uuid, sizeof c[len].uuid, "%s",
		    (const char *)sqlite3_column_text(st, 0));
		c[len].name = db_col_text(st, 1);
		c[len].state = db_col_text(st, 2);
		c[len].sockets = sqlite3_column_int(st, 3);
		c[len].cores = sqlite3_column_int(st, 4);
		c[len].threads = sqlite3_column_int(st, 5);
		c[len].memory_mib = sqlite3_column_int64(st, 6);
		c[len].max_memory_mib = sqlite3_column_int64(st, 7);
		c[len].autostart = sqlite3_column_int(st, 8) != 0;
		c[len].persistent = sqlite3_column_int(st, 9) != 0;
		len++;
	}
	db_done(st);
	if (rc != SQLITE_DONE) {
		cached_free(c, len);
		return db_error(db, "cannot read cached VMs");
	}
	if (len > 0)
		qsort(c, len, sizeof *c, cached_cmp);
	*out = c;
	*n = len;
	return 0;
}

static int
seen_vcpus(const struct vm_seen *v)
{
	return v->vcpus > 0 ? v->vcpus : 1;
}

static int64_t
seen_memory(const struct vm_seen *v)
{
	return v->memory_mib > 0 ? v->memory_mib : 1;
}

static int64_t
seen_max_memory(const struct vm_seen *v)
{
	return v->max_memory_mib > seen_memory(v) ? v->max_memory_mib : seen_memory(v);
}

static bool
cached_same(const struct cached *c, const struct vm_seen *v)
{
	return c->name != NULL && strcmp(c->name, v->name) == 0 &&
	    c->state != NULL && strcmp(c->state, v->state) == 0 &&
	    c->sockets == seen_vcpus(v) && c->cores == 1 && c->threads == 1 &&
	    c->memory_mib == seen_memory(v) && c->max_memory_mib == seen_max_memory(v) &&
	    c->autostart == v->autostart && c->persistent == v->persistent;
}

/* Run one statement on a cached row: ?1 host, ?2 uuid. */
static int
cached_exec(struct db *db, const char *sql, int64_t host_id, const char *uuid, const char *what)
{
	sqlite3_stmt *st = db_prepare(db, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, host_id);
	db_bind_text(st, 2, uuid);
	rc = sqlite3_step(st);
	db_done(st);
	return rc == SQLITE_DONE ? 0 : db_error(db, what);
}

/* Write one seen domain: UPDATE when the inventory knew it, else INSERT. */
static int
cache_write(struct db *db, int64_t host_id, const struct vm_seen *v, int64_t now, bool known)
{
	sqlite3_stmt *st;
	int rc;

	st = known ?
	    db_prepare(db, "UPDATE vms SET name = ?3, state = ?4, sockets = ?5, cores = 1, "
	    "threads = 1, memory_mib = ?6, seen = ?7, max_memory_mib = ?8, autostart = ?9, "
	    "persistent = ?10 WHERE host_id = ?1 AND uuid = ?2") :
	    db_prepare(db, "INSERT INTO vms (host_id, uuid, name, state, sockets, memory_mib, "
	    "seen, created, updated, max_memory_mib, autostart, persistent) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?7, ?8, ?9, ?10)");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, host_id);
	db_bind_text(st, 2, v->uuid);
	db_bind_text(st, 3, v->name);
	db_bind_text(st, 4, v->state);
	sqlite3_bind_int(st, 5, seen_vcpus(v));
	sqlite3_bind_int64(st, 6, seen_memory(v));
	sqlite3_bind_int64(st, 7, now);
	sqlite3_bind_int64(st, 8, seen_max_memory(v));
	sqlite3_bind_int(st, 9, v->autostart);
	sqlite3_bind_int(st, 10, v->persistent);
	rc = sqlite3_step(st);
	db_done(st);
	if (rc != SQLITE_DONE)
		return db_error(db, known ? "cannot update a cached VM" : "cannot add a cached VM");
	return 0;
}

/*
 * Only rows that differ are written: a refresh that finds the host as it
 * was costs one read and no write.  A row's last-seen time is the host's
 * last contact (every cached row was seen then), so unchanged rows need no
 * timestamp either.
 */
int
vm_cache_sync(struct db *db, int64_t host_id, const struct vm_seen *seen, size_t n,
    size_t *added, size_t *removed)
{
	struct cached *c = NULL, key;
	const struct cached **hit = xcalloc(n + 1, sizeof *hit);
	bool *same = xcalloc(n + 1, sizeof *same);
	size_t nc = 0, add = 0, gone = 0;
	int64_t now = db_now_ms();

	if (db_begin(db) != 0)
		goto out;
	if (cached_load(db, host_id, &c, &nc) != 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		struct cached *m;

		snprintf(key.uuid, sizeof key.uuid, "%s", seen[i].uuid);
		m = nc > 0 ? bsearch(&key, c, nc, sizeof *c, cached_cmp) : NULL;
		if (m != NULL) {
			m->matched = true;
			hit[i] = m;
			same[i] = cached_same(m, &seen[i]);
		}
	}
	/* Vanished rows go first, then the names of rows about to change are
	 * parked: a name can move between UUIDs (undefine + define) and
	 * UNIQUE (host_id, name) must never trip on the way. */
	for (size_t k = 0; k < nc; k++) {
		if (c[k].matched)
			continue;
		if (cached_exec(db, "DELETE FROM vms WHERE host_id = ?1 AND uuid = ?2",
		    host_id, c[k].uuid, "cannot drop a vanished VM") != 0)
			goto fail;
		gone++;
	}
	for (size_t i = 0; i < n; i++)
		if (hit[i] != NULL && !same[i] &&
		    cached_exec(db, "UPDATE vms SET name = char(1) || uuid WHERE host_id = ?1 "
		    "AND uuid = ?2", host_id, hit[i]->uuid, "cannot refresh a cached VM") != 0)
			goto fail;
	for (size_t i = 0; i < n; i++) {
		if (same[i])
			continue;
		if (cache_write(db, host_id, &seen[i], now, hit[i] != NULL) != 0)
			goto fail;
		add += hit[i] == NULL;
	}
	if (db_commit(db) != 0)
		goto fail;
	cached_free(c, nc);
	free(hit);
	free(same);
	if (added != NULL)
		*added = add;
	if (removed != NULL)
		*removed = gone;
	return 0;
fail:
	db_rollback(db);
out:
	cached_free(c, nc);
	free(hit);
	free(same);
	return -1;
}
