#include "model/host.h"
#include "model/model_priv.h"
#include "model/name.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/err.h"
#include "util/str.h"
#include "util/xalloc.h"

const char *
host_kind_name(enum host_kind kind)
{
	return kind == HOST_BUILTIN ? "builtin" : "libvirt";
}

#define URI_EXAMPLES "'qemu:///system' or 'qemu+ssh://user@host/system'"

/* The transports of libvirt's remote driver, the part after '+' in
 * "qemu+ssh". */
static const char *const uri_transports[] = {
	"ssh", "libssh", "libssh2", "tcp", "tls", "unix", "ext", NULL,
};

static bool
uri_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
uri_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The scheme, the SLEN bytes of URI before "://": driver[+transport]. */
static int
uri_check_scheme(const char *uri, size_t slen)
{
	const char *plus = memchr(uri, '+', slen);
	size_t dlen = plus != NULL ? (size_t)(plus - uri) : slen;

	for (size_t i = 0; i < dlen; i++)
		if (!(uri_alpha(uri[i]) || (i > 0 && (uri_digit(uri[i]) || uri[i] == '-' ||
		    uri[i] == '.'))))
			return err_set("host URI '%s' has an invalid scheme; the driver before "
			    "'://' is a word like 'qemu' or 'test', e.g. " URI_EXAMPLES, uri);
	if (plus == NULL)
		return 0;
	for (int i = 0; uri_transports[i] != NULL; i++) {
		size_t tlen = strlen(uri_transports[i]);

		if (tlen == slen - dlen - 1 && strncasecmp(plus + 1, uri_transports[i], tlen) == 0)
			return 0;
	}
	return err_set("host URI '%s' has an unknown transport '%.*s'; use ssh, libssh, "
	    "libssh2, tcp, tls, unix or ext, e.g. " URI_EXAMPLES, uri,
	    (int)(slen - dlen - 1), plus + 1);
}

/* The authority, the N bytes of URI at A: [user@]host[:port]. */
static int
uri_check_authority(const char *uri, const char *a, size_t n)
{
	const char *at = memchr(a, '@', n), *h, *end = a + n, *colon = NULL;

	if (at != NULL && memchr(at + 1, '@', (size_t)(end - at - 1)) != NULL)
		goto bad;
	h = at != NULL ? at + 1 : a;
	if (h < end && *h == '[') {	/* an IPv6 address */
		const char *close = memchr(h, ']', (size_t)(end - h));

		if (close == NULL || close == h + 1)
			goto bad;
		for (const char *p = h + 1; p < close; p++)
			if (!(uri_digit(*p) || (*p >= 'a' && *p <= 'f') ||
			    (*p >= 'A' && *p <= 'F') || *p == ':' || *p == '.'))
				goto bad;
		if (close + 1 < end && close[1] != ':')
			goto bad;
		colon = close + 1 < end ? close + 1 : NULL;
	} else {
		for (; h < end && *h != ':'; h++)
			if (!(uri_alpha(*h) || uri_digit(*h) || *h == '-' || *h == '.' || *h == '_'))
				goto bad;
		colon = h < end ? h : NULL;
	}
	if (colon != NULL) {
		long port = 0;

		if (colon + 1 == end)
			goto bad;
		for (const char *p = colon + 1; p < end; p++) {
			if (!uri_digit(*p) || (port = port * 10 + (*p - '0')) > 65535)
				goto bad;
		}
		if (port == 0)
			goto bad;
	}
	return 0;
bad:
	return err_set("host URI '%s' has an invalid machine part '%.*s'; write it as "
	    "[USER@]HOST[:PORT], e.g. " URI_EXAMPLES, uri, (int)n, a);
}

/* A libvirt-style URI, "driver[+transport]://[user@][host[:port]][/path]
 * [?params]": checked here so that a mistyped one is refused when the
 * host is added, not when it is first contacted. */
int
host_kind_from_uri(const char *uri, enum host_kind *kind)
{
	const char *sep, *rest, *p;
	size_t slen, alen, plen, n;

	if (uri[0] == '\0')
		return err_set("no host URI given; give one like " URI_EXAMPLES);
	for (p = uri; *p != '\0'; p++)
		if ((unsigned char)*p < 0x21 || *p == 0x7f)
			return err_set("host URI '%s' contains a space or control character; "
			    "give one like " URI_EXAMPLES, uri);
	/* Shown wherever the host is, as names are: the same rule as names
	 * for what does not show as itself (name_check). */
	for (p = uri; *p != '\0'; p += n) {
		const char *what;

		if ((n = str_utf8_len(p)) == 0)
			return err_set("host URI '%s' is not valid UTF-8; give one like "
			    URI_EXAMPLES, uri);
		if ((what = str_hidden_kind(p, n)) != NULL)
			return err_set("host URI '%s' contains U+%04lX (%s); give one like "
			    URI_EXAMPLES, uri, str_utf8_code(p, n), what);
	}
	sep = strstr(uri, "://");
	if (sep == NULL || sep == uri)
		return err_set("host URI '%s' has no scheme; write it like " URI_EXAMPLES, uri);
	slen = (size_t)(sep - uri);
	if (uri_check_scheme(uri, slen) != 0)
		return -1;
	rest = sep + 3;
	alen = strcspn(rest, "/?#");
	if (uri_check_authority(uri, rest, alen) != 0)
		return -1;
	/* "qemu+ssh://root@HOST/systemtest:///default": a URI typed after
	 * another.  Parameters may hold a URI (?name=qemu:///system). */
	plen = strcspn(rest + alen, "?#");
	for (p = rest + alen; p + 3 <= rest + alen + plen; p++)
		if (strncmp(p, "://", 3) == 0)
			return err_set("host URI '%s' has a second '://' in its path (two URIs "
			    "run together?); give one URI like " URI_EXAMPLES, uri);
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
	h->migration_address = db_col_text(st, 8);
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
	    "last_error, migration_address FROM hosts WHERE name = ?1");
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
	    "last_error, migration_address FROM hosts ORDER BY (name <> 'local'), name");
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

/* An address as a migration URI takes it: a DNS name, IPv4, or [IPv6]. */
static bool
address_ok(const char *a)
{
	size_t n = strlen(a);

	if (n == 0 || n > 253)
		return false;
	if (a[0] == '[')
		return n > 2 && a[n - 1] == ']' && strspn(a + 1, "0123456789abcdefABCDEF:.") == n - 2;
	return strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == n &&
	    a[0] != '-' && a[0] != '.';
}

int
host_set_migration_address(struct db *db, const char *name, const char *addr)
{
	sqlite3_stmt *st;
	int rc;

	if (addr[0] != '\0' && !address_ok(addr))
		return err_set("migration address '%s' is not an IP address, [IPv6 address] or "
		    "host name", addr);
	st = db_prepare(db, "UPDATE hosts SET migration_address = ?2 WHERE name = ?1");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, name);
	db_bind_text(st, 2, addr[0] != '\0' ? addr : NULL);
	rc = sqlite3_step(st);
	db_done(st);
	if (rc != SQLITE_DONE)
		return db_error(db, "cannot record the migration address");
	if (sqlite3_changes(db_sqlite(db)) == 0)
		return err_set("no host named '%s'; see 'vmtty host list'", name);
	return 0;
}

void
host_clear(struct host *h)
{
	free(h->name);
	free(h->uri);
	free(h->last_error);
	free(h->migration_address);
	memset(h, 0, sizeof *h);
}

void
host_list_free(struct host *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		host_clear(&h[i]);
	free(h);
}
