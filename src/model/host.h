/* host: the machines vmtty manages VMs on, built-in (vmtty:///) or libvirt. */
#ifndef VMTTY_HOST_H
#define VMTTY_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

enum host_kind {
	HOST_BUILTIN,
	HOST_LIBVIRT,
};

struct host {
	int64_t id;
	char *name;
	char *uri;
	enum host_kind kind;
	bool autoconnect;
	int64_t created;	/* ms since the epoch */
	int64_t last_seen;	/* when the host last answered; 0 never */
	char *last_error;	/* why it did not, the last time; NULL */
	char *migration_address; /* where other hosts send it a migrating VM
				 * (an IP address or host name); NULL: its own
				 * choice */
};

const char *host_kind_name(enum host_kind kind);
/* The backend a URI selects: vmtty[+ssh]:// is built-in, the rest libvirt.
 * -1 + err when URI is not "driver[+transport]://[user@][host[:port]]
 * [/path][?params]" (a known transport, no spaces, one "://"). */
int host_kind_from_uri(const char *uri, enum host_kind *kind);

int host_add(struct db *db, const char *name, const char *uri);
int host_remove(struct db *db, const char *name);
/* 0 and *out filled, or -1 + err ("no host named ..."). */
int host_get(struct db *db, const char *name, struct host *out);
int host_list(struct db *db, struct host **out, size_t *n);
/* Record a contact with host ID: answered (ERROR NULL) or not. */
int host_set_contact(struct db *db, int64_t id, const char *error);
/* Host NAME's migration address ADDR (an IP address, [IPv6] or a DNS name);
 * "" takes it away.  0, or -1 + err naming what is wrong. */
int host_set_migration_address(struct db *db, const char *name, const char *addr);
void host_clear(struct host *h);
void host_list_free(struct host *h, size_t n);

#endif
