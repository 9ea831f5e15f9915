/* journal: every operation vmtty performs, with its outcome. */
#ifndef VMTTY_JOURNAL_H
#define VMTTY_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

struct journal_entry {
	int64_t id;
	int64_t time;		/* ms since the epoch */
	char *host;		/* NULL when not about a host */
	char *vm;		/* NULL when not about a VM */
	char *action;
	bool ok;
	char *message;
};

/* Record one operation.  A failure to record is itself reported. */
int journal_add(struct db *db, const char *host, const char *vm, const char *action,
    bool ok, const char *message);
/* VM on HOST was found running a qemu (PID) that started at STARTED
 * (seconds since the epoch): unless a start has been journaled since then
 * (a start killed after qemu daemonized never journaled it), journal it
 * now.  1 when it wrote the row, 0 when the journal had it, -1 + err. */
int journal_found_running(struct db *db, const char *host, const char *vm, long long started,
    int pid);
/* Has a start of VM on HOST been journaled since STARTED (seconds since
 * the epoch)?  1 yes, 0 no, -1 + err. */
int journal_started_since(struct db *db, const char *host, const char *vm, long long started);
/* Newest LIMIT entries (0: all), oldest first; VM/HOST NULL match all. */
int journal_list(struct db *db, const char *host, const char *vm, size_t limit,
    struct journal_entry **out, size_t *n);
void journal_free(struct journal_entry *e, size_t n);

#endif
