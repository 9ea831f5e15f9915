#include "model/journal.h"
#include "model/model_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "util/err.h"
#include "util/xalloc.h"

int
journal_add(struct db *db, const char *host, const char *vm, const char *action,
    bool ok, const char *message)
{
	sqlite3_stmt *st;
	int rc;

	st = db_prepare(db, "INSERT INTO journal (time, host, vm, action, result, message) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, db_now_ms());
	db_bind_text(st, 2, host);
	db_bind_text(st, 3, vm);
	db_bind_text(st, 4, action);
	db_bind_text(st, 5, ok ? "ok" : "failed");
	db_bind_text(st, 6, message);
	rc = sqlite3_step(st);
	db_done(st);
	if (rc != SQLITE_DONE)
		return db_error(db, "cannot write the journal");
	return 0;
}

int
journal_started_since(struct db *db, const char *host, const char *vm, long long started)
{
	sqlite3_stmt *st;
	int rc;

	/* A start journals after qemu is up: a row since then is that start. */
	st = db_prepare(db, "SELECT 1 FROM journal WHERE host = ?1 AND vm = ?2 AND "
	    "action = 'start' AND time >= ?3 LIMIT 1");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, host);
	db_bind_text(st, 2, vm);
	sqlite3_bind_int64(st, 3, (int64_t)started * 1000);
	rc = sqlite3_step(st);
	db_done(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc != SQLITE_DONE)
		return db_error(db, "cannot read the journal");
	return 0;
}

int
journal_found_running(struct db *db, const char *host, const char *vm, long long started,
    int pid)
{
	char msg[256], when[32];
	struct tm tm;
	time_t t = (time_t)started;
	int rc;

	if ((rc = journal_started_since(db, host, vm, started)) != 0)
		return rc > 0 ? 0 : -1;
	gmtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(msg, sizeof msg, "found running (qemu pid %d, started %s); the start was not "
	    "journaled: vmtty was stopped while it started the VM", pid, when);
	return journal_add(db, host, vm, "start", true, msg) == 0 ? 1 : -1;
}

int
journal_list(struct db *db, const char *host, const char *vm, size_t limit,
    struct journal_entry **out, size_t *n)
{
	sqlite3_stmt *st;
	struct journal_entry *v = NULL;
	size_t len = 0, cap = 0;
	int rc;

	/* Newest first with a limit, then reversed so output reads in time order. */
	st = db_prepare(db, "SELECT id, time, host, vm, action, result, message FROM journal "
	    "WHERE (?1 IS NULL OR host = ?1) AND (?2 IS NULL OR vm = ?2) "
	    "ORDER BY id DESC LIMIT ?3");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, host);
	db_bind_text(st, 2, vm);
	sqlite3_bind_int64(st, 3, limit == 0 ? -1 : (int64_t)limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct journal_entry *e;
		const unsigned char *res;

		if (len == cap) {
			cap = cap == 0 ? 32 : cap * 2;
			v = xreallocarray(v, cap, sizeof *v);
		}
		e = &v[len++];
		e->id = sqlite3_column_int64(st, 0);
		e->time = sqlite3_column_int64(st, 1);
		e->host = db_col_text(st, 2);
		e->vm = db_col_text(st, 3);
		e->action = db_col_text(st, 4);
		res = sqlite3_column_text(st, 5);
		e->ok = res != NULL && res[0] == 'o';
		e->message = db_col_text(st, 6);
	}
	db_done(st);
	if (rc != SQLITE_DONE) {
		journal_free(v, len);
		return db_error(db, "cannot read the journal");
	}
	for (size_t i = 0; i < len / 2; i++) {
		struct journal_entry t = v[i];

		v[i] = v[len - 1 - i];
		v[len - 1 - i] = t;
	}
	*out = v;
	*n = len;
	return 0;
}

void
journal_free(struct journal_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(e[i].host);
		free(e[i].vm);
		free(e[i].action);
		free(e[i].message);
	}
	free(e);
}
