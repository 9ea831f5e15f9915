/* snapshot: the inventory's records of a VM's snapshots (table snapshots),
 * the only record the built-in backend has of them. */
#include "model/snapshot.h"
#include "model/model_priv.h"
#include "model/name.h"
#include "model/vm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/xalloc.h"

void
vm_snapshot_clear(struct vm_snapshot *s)
{
	free(s->name);
	free(s->parent);
	free(s->description);
	free(s->vm_state);
	free(s->files);
	memset(s, 0, sizeof *s);
}

void
vm_snapshot_free_all(struct vm_snapshot *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		vm_snapshot_clear(&s[i]);
	free(s);
}

void
vm_snapshot_copy(struct vm_snapshot *dst, const struct vm_snapshot *src)
{
	*dst = *src;
	dst->name = src->name != NULL ? xstrdup(src->name) : NULL;
	dst->parent = src->parent != NULL ? xstrdup(src->parent) : NULL;
	dst->description = src->description != NULL ? xstrdup(src->description) : NULL;
	dst->vm_state = src->vm_state != NULL ? xstrdup(src->vm_state) : NULL;
	dst->files = src->files != NULL ? xstrdup(src->files) : NULL;
}

const char *
vm_snapshot_kind_name(enum vm_snapshot_kind k)
{
	return k == VM_SNAPSHOT_DISK ? "disk" : "full";
}

int
vm_snapshot_kind_parse(const char *s, enum vm_snapshot_kind *k)
{
	if (s != NULL && strcmp(s, "full") == 0)
		*k = VM_SNAPSHOT_FULL;
	else if (s != NULL && strcmp(s, "disk") == 0)
		*k = VM_SNAPSHOT_DISK;
	else
		return -1;
	return 0;
}

ssize_t
vm_snapshot_find(const struct vm_snapshot *all, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (all[i].name != NULL && strcmp(all[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

char *
vm_snapshot_file(const struct vm_snapshot *s, size_t i)
{
	const char *p = s->files, *nl;

	for (; p != NULL && i > 0; i--)
		p = (nl = strchr(p, '\n')) != NULL ? nl + 1 : NULL;
	if (p == NULL)
		return NULL;
	nl = strchr(p, '\n');
	return nl != NULL ? xstrndup(p, (size_t)(nl - p)) : xstrdup(p);
}

int
snapshot_db_list(struct db *db, int64_t vm_id, struct vm_snapshot **out, size_t *n)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT name, parent, description, created, kind, "
	    "vm_state, is_current, size, files FROM snapshots WHERE vm_id = ?1 "
	    "ORDER BY created, id");
	struct vm_snapshot *v = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, vm_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct vm_snapshot *s;

		v = xreallocarray(v, len + 1, sizeof *v);
		s = &v[len++];
		memset(s, 0, sizeof *s);
		s->name = db_col_text(st, 0);
		s->parent = db_col_text(st, 1);
		s->description = db_col_text(st, 2);
		s->created = sqlite3_column_int64(st, 3);
		if (vm_snapshot_kind_parse((const char *)sqlite3_column_text(st, 4), &s->kind) != 0)
			s->kind = VM_SNAPSHOT_FULL;
		s->vm_state = db_col_text(st, 5);
		s->current = sqlite3_column_int(st, 6) != 0;
		s->size = sqlite3_column_int64(st, 7);
		s->files = db_col_text(st, 8);
	}
	db_done(st);
	if (rc != SQLITE_DONE) {
		vm_snapshot_free_all(v, len);
		return db_error(db, "cannot read the snapshots");
	}
	*out = v;
	*n = len;
	return 0;
}

/* No snapshot of VM_ID is the current one any more. */
static int
clear_current(struct db *db, int64_t vm_id)
{
	sqlite3_stmt *st = db_prepare(db, "UPDATE snapshots SET is_current = 0 "
	    "WHERE vm_id = ?1 AND is_current = 1");
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, vm_id);
	rc = sqlite3_step(st);
	db_done(st);
	return rc == SQLITE_DONE ? 0 : db_error(db, "cannot change the current snapshot");
}

/* Insert S for VM_ID, current or not as CURRENT says. */
static int
insert(struct db *db, int64_t vm_id, const struct vm_snapshot *s, bool current)
{
	sqlite3_stmt *st;
	int rc;

	if (name_check("snapshot", s->name) != 0)
		return -1;
	st = db_prepare(db, "INSERT INTO snapshots (vm_id, name, parent, description, created, "
	    "kind, vm_state, is_current, size, files) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, vm_id);
	db_bind_text(st, 2, s->name);
	db_bind_text(st, 3, s->parent);
	db_bind_text(st, 4, s->description);
	sqlite3_bind_int64(st, 5, s->created);
	db_bind_text(st, 6, vm_snapshot_kind_name(s->kind));
	db_bind_text(st, 7, s->vm_state);
	sqlite3_bind_int(st, 8, current);
	sqlite3_bind_int64(st, 9, s->size);
	db_bind_text(st, 10, s->files);
	rc = sqlite3_step(st);
	db_done(st);
	if (rc == SQLITE_CONSTRAINT)
		return err_set("snapshot '%s' is already recorded for this VM, or two are marked "
		    "current; choose another name", s->name);
	if (rc != SQLITE_DONE)
		return db_error(db, "cannot record a snapshot");
	return 0;
}

int
snapshot_db_add(struct db *db, int64_t vm_id, const struct vm_snapshot *s)
{
	if (db_begin(db) != 0)
		return -1;
	if (clear_current(db, vm_id) != 0 || insert(db, vm_id, s, true) != 0 || db_commit(db) != 0) {
		db_rollback(db);
		return -1;
	}
	return 0;
}

int
snapshot_db_set_current(struct db *db, int64_t vm_id, const char *name)
{
	sqlite3_stmt *st;
	int rc;

	if (db_begin(db) != 0)
		return -1;
	if (clear_current(db, vm_id) != 0)
		goto fail;
	if ((st = db_prepare(db, "UPDATE snapshots SET is_current = 1 "
	    "WHERE vm_id = ?1 AND name = ?2")) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, vm_id);
	db_bind_text(st, 2, name);
	rc = sqlite3_step(st);
	db_done(st);
	if (rc != SQLITE_DONE) {
		db_error(db, "cannot change the current snapshot");
		goto fail;
	}
	if (sqlite3_changes(db_sqlite(db)) == 0) {
		err_set("there is no snapshot named '%s' in the inventory", name);
		goto fail;
	}
	if (db_commit(db) != 0)
		goto fail;
	return 0;
fail:
	db_rollback(db);
	return -1;
}

/* The records of VM_ID become ALL, inside the caller's transaction. */
static int
replace_rows(struct db *db, int64_t vm_id, const struct vm_snapshot *all, size_t n)
{
	sqlite3_stmt *st = db_prepare(db, "DELETE FROM snapshots WHERE vm_id = ?1");
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, vm_id);
	rc = sqlite3_step(st);
	db_done(st);
	if (rc != SQLITE_DONE)
		return db_error(db, "cannot replace the snapshots");
	for (size_t i = 0; i < n; i++)
		if (insert(db, vm_id, &all[i], all[i].current) != 0)
			return -1;
	return 0;
}

int
snapshot_db_replace(struct db *db, int64_t vm_id, const struct vm_snapshot *all, size_t n)
{
	if (db_begin(db) != 0)
		return -1;
	if (replace_rows(db, vm_id, all, n) != 0 || db_commit(db) != 0) {
		db_rollback(db);
		return -1;
	}
	return 0;
}

int
snapshot_db_record(struct db *db, const struct vm_config *c, const struct vm_snapshot *all,
    size_t n)
{
	sqlite3_stmt *st;
	int rc;

	if (db_begin(db) != 0)
		return -1;
	if (replace_rows(db, c->id, all, n) != 0)
		goto fail;
	for (size_t i = 0; i < c->ndisks; i++) {
		if ((st = db_prepare(db, "UPDATE disks SET path = ?3 "
		    "WHERE vm_id = ?1 AND idx = ?2")) == NULL)
			goto fail;
		sqlite3_bind_int64(st, 1, c->id);
		sqlite3_bind_int64(st, 2, (int64_t)i);
		db_bind_text(st, 3, c->disks[i].path);
		rc = sqlite3_step(st);
		db_done(st);
		if (rc != SQLITE_DONE) {
			db_error(db, "cannot record the VM's disks");
			goto fail;
		}
	}
	if (db_commit(db) != 0)
		goto fail;
	return 0;
fail:
	db_rollback(db);
	return -1;
}

int
snapshot_db_files(struct db *db, int64_t vm_id, struct vm_snapshot_file **out, size_t *n)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT v.name, s.name, s.files FROM snapshots s "
	    "JOIN vms v ON v.id = s.vm_id JOIN hosts h ON h.id = v.host_id "
	    "WHERE h.kind = 'builtin' AND s.vm_id <> ?1 AND s.files IS NOT NULL "
	    "ORDER BY v.name, s.created, s.id");
	struct vm_snapshot_file *v = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, vm_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *files = (const char *)sqlite3_column_text(st, 2);

		for (const char *p = files; p != NULL && *p != '\0';) {
			const char *nl = strchr(p, '\n');
			size_t plen = nl != NULL ? (size_t)(nl - p) : strlen(p);

			if (plen > 0) {
				v = xreallocarray(v, len + 1, sizeof *v);
				v[len].vm = db_col_text(st, 0);
				v[len].snapshot = db_col_text(st, 1);
				v[len].path = xstrndup(p, plen);
				len++;
			}
			p = nl != NULL ? nl + 1 : p + plen;
		}
	}
	db_done(st);
	if (rc != SQLITE_DONE) {
		vm_snapshot_files_free(v, len);
		return db_error(db, "cannot read the snapshots' files");
	}
	*out = v;
	*n = len;
	return 0;
}

void
vm_snapshot_files_free(struct vm_snapshot_file *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].vm);
		free(f[i].snapshot);
		free(f[i].path);
	}
	free(f);
}

int
snapshot_intent_begin(struct db *db, int64_t vm_id, const struct vm_snapshot *s, int64_t pid,
    int64_t pid_start, int64_t *id)
{
	sqlite3_stmt *st = db_prepare(db, "INSERT INTO snapshot_intents (vm_id, name, kind, "
	    "description, parent, files, pid, pid_start, started) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, vm_id);
	db_bind_text(st, 2, s->name);
	db_bind_text(st, 3, vm_snapshot_kind_name(s->kind));
	db_bind_text(st, 4, s->description);
	db_bind_text(st, 5, s->parent);
	db_bind_text(st, 6, s->files);
	sqlite3_bind_int64(st, 7, pid);
	sqlite3_bind_int64(st, 8, pid_start);
	sqlite3_bind_int64(st, 9, db_now_ms());
	rc = sqlite3_step(st);
	db_done(st);
	if (rc != SQLITE_DONE)
		return db_error(db, "cannot record the snapshot about to be taken");
	*id = sqlite3_last_insert_rowid(db_sqlite(db));
	return 0;
}

int
snapshot_intent_overlays(struct db *db, int64_t id, const char *overlays)
{
	sqlite3_stmt *st = db_prepare(db, "UPDATE snapshot_intents SET overlays = ?2 "
	    "WHERE id = ?1");
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, overlays);
	rc = sqlite3_step(st);
	db_done(st);
	return rc == SQLITE_DONE ? 0 :
	    db_error(db, "cannot record the overlay files of the snapshot being taken");
}

int
snapshot_intent_end(struct db *db, int64_t id)
{
	sqlite3_stmt *st = db_prepare(db, "DELETE FROM snapshot_intents WHERE id = ?1");
	int rc, n;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	n = sqlite3_changes(db_sqlite(db));
	db_done(st);
	if (rc != SQLITE_DONE)
		return db_error(db, "cannot remove the record of a snapshot being taken");
	return n > 0 ? 1 : 0;
}

int
snapshot_intent_list(struct db *db, struct vm_snapshot_intent **out, size_t *n)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT id, vm_id, name, kind, description, parent, "
	    "files, overlays, pid, pid_start, started FROM snapshot_intents ORDER BY id");
	struct vm_snapshot_intent *v = NULL;
	size_t len = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *kind = (const char *)sqlite3_column_text(st, 3);
		struct vm_snapshot_intent *t;

		if (len == cap) {
			cap = cap == 0 ? 4 : cap * 2;
			v = xreallocarray(v, cap, sizeof *v);
		}
		t = &v[len++];
		memset(t, 0, sizeof *t);
		t->id = sqlite3_column_int64(st, 0);
		t->vm_id = sqlite3_column_int64(st, 1);
		t->s.name = db_col_text(st, 2);
		if (kind == NULL || vm_snapshot_kind_parse(kind, &t->s.kind) != 0)
			t->s.kind = VM_SNAPSHOT_FULL;
		t->s.description = db_col_text(st, 4);
		t->s.parent = db_col_text(st, 5);
		t->s.files = db_col_text(st, 6);
		t->overlays = db_col_text(st, 7);
		t->pid = sqlite3_column_int64(st, 8);
		t->pid_start = sqlite3_column_int64(st, 9);
		t->s.created = sqlite3_column_int64(st, 10);
		t->s.size = -1;
	}
	db_done(st);
	if (rc != SQLITE_DONE) {
		snapshot_intent_free(v, len);
		return db_error(db, "cannot read the snapshots being taken");
	}
	*out = v;
	*n = len;
	return 0;
}

void
snapshot_intent_free(struct vm_snapshot_intent *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		vm_snapshot_clear(&v[i].s);
		free(v[i].overlays);
	}
	free(v);
}
