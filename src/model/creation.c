#include "model/creation.h"
#include "model/model_priv.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/xalloc.h"

static const char *const kind_names[] = {
	[CREATION_DIR] = "dir",
	[CREATION_FILE] = "file",
	[CREATION_VOLUME] = "volume",
};

int
creation_begin(struct db *db, int64_t host_id, const char *name, const char *uuid,
    int64_t pid, int64_t pid_start, int64_t *id)
{
	sqlite3_stmt *st = db_prepare(db, "INSERT INTO creations (host_id, name, uuid, pid, "
	    "pid_start, started) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, host_id);
	db_bind_text(st, 2, name);
	db_bind_text(st, 3, uuid);
	sqlite3_bind_int64(st, 4, pid);
	sqlite3_bind_int64(st, 5, pid_start);
	sqlite3_bind_int64(st, 6, db_now_ms());
	rc = sqlite3_step(st);
	db_done(st);
	if (rc != SQLITE_DONE)
		return db_error(db, "cannot record the creation of a VM");
	*id = sqlite3_last_insert_rowid(db_sqlite(db));
	return 0;
}

int
creation_note(struct db *db, int64_t id, enum creation_kind kind, const char *path)
{
	sqlite3_stmt *st = db_prepare(db, "INSERT INTO creation_paths (creation_id, kind, path) "
	    "VALUES (?1, ?2, ?3)");
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	db_bind_text(st, 2, kind_names[kind]);
	db_bind_text(st, 3, path);
	rc = sqlite3_step(st);
	db_done(st);
	if (rc != SQLITE_DONE)
		return db_error(db, "cannot record a path of a VM being made");
	return 0;
}

int
creation_end(struct db *db, int64_t id)
{
	sqlite3_stmt *st = db_prepare(db, "DELETE FROM creations WHERE id = ?1");
	int rc, n;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	n = sqlite3_changes(db_sqlite(db));
	db_done(st);
	if (rc != SQLITE_DONE)
		return db_error(db, "cannot remove the record of a VM being made");
	return n > 0 ? 1 : 0;
}

int
creation_release(struct db *db, int64_t id)
{
	sqlite3_stmt *st = db_prepare(db, "UPDATE creations SET pid = 0, pid_start = -1 "
	    "WHERE id = ?1");
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	db_done(st);
	if (rc != SQLITE_DONE)
		return db_error(db, "cannot hand over the record of a VM being made");
	return 0;
}

/* The paths of record C. */
static int
list_paths(struct db *db, struct creation *c)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT kind, path FROM creation_paths "
	    "WHERE creation_id = ?1 ORDER BY id");
	size_t cap = 0;
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, c->id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0);
		struct creation_path *p;

		if (c->npaths == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			c->paths = xreallocarray(c->paths, cap, sizeof *c->paths);
		}
		p = &c->paths[c->npaths++];
		p->kind = k == NULL ? CREATION_FILE : strcmp(k, "dir") == 0 ? CREATION_DIR :
		    strcmp(k, "volume") == 0 ? CREATION_VOLUME : CREATION_FILE;
		p->path = db_col_text(st, 1);
	}
	db_done(st);
	return rc == SQLITE_DONE ? 0 : db_error(db, "cannot read the paths of a VM being made");
}

int
creation_list(struct db *db, struct creation **out, size_t *n)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT c.id, c.host_id, h.name, h.kind, c.name, "
	    "c.uuid, c.pid, c.pid_start, c.started FROM creations c "
	    "JOIN hosts h ON h.id = c.host_id ORDER BY c.id");
	struct creation *v = NULL;
	size_t len = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *kind = (const char *)sqlite3_column_text(st, 3);
		struct creation *c;

		if (len == cap) {
			cap = cap == 0 ? 4 : cap * 2;
			v = xreallocarray(v, cap, sizeof *v);
		}
		c = &v[len++];
		memset(c, 0, sizeof *c);
		c->id = sqlite3_column_int64(st, 0);
		c->host_id = sqlite3_column_int64(st, 1);
		c->host = db_col_text(st, 2);
		c->builtin = kind != NULL && strcmp(kind, "builtin") == 0;
		c->name = db_col_text(st, 4);
		c->uuid = db_col_text(st, 5);
		c->pid = sqlite3_column_int64(st, 6);
		c->pid_start = sqlite3_column_int64(st, 7);
		c->started = sqlite3_column_int64(st, 8);
	}
	db_done(st);
	if (rc != SQLITE_DONE) {
		creation_free(v, len);
		return db_error(db, "cannot read the VMs being made");
	}
	for (size_t i = 0; i < len; i++)
		if (list_paths(db, &v[i]) != 0) {
			creation_free(v, len);
			return -1;
		}
	*out = v;
	*n = len;
	return 0;
}

void
creation_free(struct creation *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].host);
		free(c[i].name);
		free(c[i].uuid);
		for (size_t j = 0; j < c[i].npaths; j++)
			free(c[i].paths[j].path);
		free(c[i].paths);
	}
	free(c);
}
