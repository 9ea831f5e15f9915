/* creation: VM creations under way.  A creation is recorded, in its own
 * transaction, before any file is made, and each path it makes is added as
 * it is made; the record goes when the VM is in the inventory or when
 * everything was taken back.  A record whose maker is gone (kill -9, a
 * crash) tells the next vmtty what to remove. */
#ifndef VMTTY_CREATION_H
#define VMTTY_CREATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

enum creation_kind {
	CREATION_DIR,		/* a local directory it made */
	CREATION_FILE,		/* a local file it made */
	CREATION_VOLUME,	/* a volume path on a libvirt host */
};

struct creation_path {
	enum creation_kind kind;
	char *path;
};

struct creation {
	int64_t id;
	int64_t host_id;
	char *host;		/* host name */
	bool builtin;		/* the host runs the built-in backend */
	char *name;		/* the VM's */
	char *uuid;
	int64_t pid;		/* the process making it, */
	int64_t pid_start;	/* and its start time (/proc/PID/stat field 22) */
	int64_t started;	/* ms since the epoch */
	struct creation_path *paths;	/* in the order they were made */
	size_t npaths;
};

/* Record that process PID (started at PID_START) begins making VM NAME
 * (UUID) on host HOST_ID; *ID gets the record's id. */
int creation_begin(struct db *db, int64_t host_id, const char *name, const char *uuid,
    int64_t pid, int64_t pid_start, int64_t *id);
/* Add PATH, of KIND, that creation ID has just made (or is about to). */
int creation_note(struct db *db, int64_t id, enum creation_kind kind, const char *path);
/* Its maker gives record ID up (pid 0): any vmtty, this one too, takes
 * its paths back from now on. */
int creation_release(struct db *db, int64_t id);
/* Remove record ID: 1 when this call removed it, 0 when it was gone. */
int creation_end(struct db *db, int64_t id);
/* Every record, oldest first, with its paths. */
int creation_list(struct db *db, struct creation **out, size_t *n);
void creation_free(struct creation *c, size_t n);

#endif
