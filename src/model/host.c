#include "model/host.h"
#include "model/model_priv.h"
#include "model/name.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/xalloc.h"

const char *
host_kind_name(enum host_kind kind)
{
	return kind == HOST_BUILTIN ? "builtin" : "libvirt";
}

int
host_kind_from_uri(const char *uri, enum host_kind *kind)
{
	const char *sep = strstr(uri, "://");
	size_t slen;

	if (sep == NULL || sep == uri)
		return err_set("host URI '%s' has no scheme; write it like "
		    "'qemu:///system' or 'qemu+ssh://user@host/system'", uri);
	slen = (size_t)(sep - uri);
	for (size_t i = 0; i < slen; i++) {
		char c = uri[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))
			return err_set("host URI '%s' has an invalid scheme; write it like "
			    "'qemu:///system'", uri);
	}
	for (const char *p = uri; *p != '\0'; p++)
		if ((unsigned char)*p < 0x21 || *p == 0x7f)
			return err_set("host URI '%s' contains a space or control character", uri);
	if ((slen == 5 && strncmp(uri, "vmtty", 5) == 0) ||
	    (slen > 6 && strncmp(uri, "vmtty+", 6) == 0))
		*kind = HOST_BUILTIN;
	else
		*kind = HOST_LIBVIRT;
	return 0;
}

static void
host_from_row(sqlite3_stmt *st, struct host *h)
{
	const char *kind = (const char *)sqlite3_column_text(st, 3);

	h->id = sqlite3_column_int64(st, 0);
	h->name = db_col_text(st, 1);
	h->uri = db_col_text(st, 2);
	h->kind = kind != NULL && strcmp(kind, "builtin") == 0 ? HOST_BUILTIN : HOST_LIBVIRT;
	h->autoconnect = sqlite3_column_int(st, 4) != 0;
	h->created = sqlite3_column_int64(st, 5);
	h->last_seen = sqlite3_column_int64(st, 6);
	h->last_error = db_col_text(st, 7);
}

int
host_add(struct db *db, const char *name, const char *uri)
{
	sqlite3_stmt *st;
	enum host_kind kind;
	int rc;

	if (name_check("host", name) != 0 || host_kind_from_uri(uri, &kind) != 0)
		return -1;
	st = db_prepare(db, "INSERT INTO hosts (name, uri, kind, autoconnect, created) "
	    "VALUES (?1, ?2, ?3, 1, ?4)");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, name);
	db_bind_text(st, 2, uri);
	db_bind_text(st, 3, host_kind_name(kind));
	sqlite3_bind_int64(st, 4, db_now_ms());
	rc = sqlite3_step(st);
	db_done(st);
	if (rc == SQLITE_CONSTRAINT)
		return err_set("a host named '%s' already exists; choose another name "
		    "or remove it with 'vmtty host rm'", name);
	if (rc != SQLITE_DONE)
		return db_error(db, "cannot add host");
	return 0;
}

int
host_remove(struct db *db, const char *name)
{
	sqlite3_stmt *st;
	struct host h;
	enum host_kind kind;
	int nvms = 0, rc;

	if (host_get(db, name, &h) != 0)
		return -1;
	kind = h.kind;
	host_clear(&h);
	st = db_prepare(db, "SELECT count(*) FROM vms JOIN hosts ON vms.host_id = hosts.id "
	    "WHERE hosts.name = ?1");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, name);
	if (sqlite3_step(st) == SQLITE_ROW)
		nvms = sqlite3_column_int(st, 0);
	db_done(st);
	if (strcmp(name, "local") == 0)
		return err_set("host 'local' is this machine's built-in host and cannot be removed");
	if (nvms > 0 && kind == HOST_BUILTIN)
		return err_set("host '%s' still has %d VM(s); delete them first", name, nvms);
	st = db_prepare(db, "DELETE FROM hosts WHERE name = ?1");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, name);
	rc = sqlite3_step(st);
	db_done(st);
	if (rc != SQLITE_DONE)
		return db_error(db, "cannot remove host");
	return 0;
}

int
host_get(struct db *db, const char *name, struct host *out)
{
	sqlite3_stmt *st;
	int rc;

	st = db_prepare(db, "SELECT id, name, uri, kind, autoconnect, created, last_seen, "
	    "last_error FROM hosts WHERE name = ?1");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, name);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		host_from_row(st, out);
	db_done(st);
	if (rc == SQLITE_DONE)
		return err_set("no host named '%s'; see 'vmtty host list'", name);
	if (rc != SQLITE_ROW)
		return db_error(db, "cannot read host");
	return 0;
}

int
host_list(struct db *db, struct host **out, size_t *n)
{
	sqlite3_stmt *st;
	struct host *v = NULL;
	size_t len = 0, cap = 0;
	int rc;

	st = db_prepare(db, "SELECT id, name, uri, kind, autoconnect, created, last_seen, "
	    "last_error FROM hosts ORDER BY (name <> 'local'), name");
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			v = xreallocarray(v, cap, sizeof *v);
		}
		host_from_row(st, &v[len++]);
	}
	db_done(st);
	if (rc != SQLITE_DONE) {
		host_list_free(v, len);
		return db_error(db, "cannot list hosts");
	}
	*out = v;
	*n = len;
	return 0;
}

int
host_set_contact(struct db *db, int64_t id, const char *error)
{
	sqlite3_stmt *st;
	int rc;

	st = error == NULL ?
	    db_prepare(db, "UPDATE hosts SET last_seen = ?2, last_error = NULL WHERE id = ?1") :
	    db_prepare(db, "UPDATE hosts SET last_error = ?3 WHERE id = ?1");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (error == NULL)
		sqlite3_bind_int64(st, 2, db_now_ms());
	else
		db_bind_text(st, 3, error);
	rc = sqlite3_step(st);
	db_done(st);
	if (rc != SQLITE_DONE)
		return db_error(db, "cannot record host contact");
	return 0;
}

void
host_clear(struct host *h)
{
	free(h->name);
	free(h->uri);
	free(h->last_error);
	memset(h, 0, sizeof *h);
}

void
host_list_free(struct host *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		host_clear(&h[i]);
	free(h);
}
