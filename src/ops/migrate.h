/* migrate: moving a running VM to another libvirt host, one code path for
 * both front ends (vmtty migrate and the TUI's migrate dialog).  First a
 * preflight that says what it found, then the move (hv_migrate, blocking,
 * off the UI thread) with progress (the caller's callback, about every
 * 500 ms, on the migrating thread) and abort (migrate_abort from any
 * thread).  Only once the host says it is done does
 * the caller move the VM in the inventory (vm_move) and journal it on both
 * hosts; on any failure the VM runs on its source as before. */
#ifndef VMTTY_MIGRATE_H
#define VMTTY_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>

#include "hv/hv.h"

struct host;

/* O's migration URI from host DST's migration address (tcp://ADDR), into
 * BUF; O->uri stays NULL when DST has none. */
void migrate_uri(struct hv_migrate_opts *o, const struct host *dst, char *buf, size_t len);

/* The preflight of C from SRC to DST with O: each finding, one line each,
 * into REPORT ("name free on 'b'", "storage shared", "copies 1.2 GiB").  0,
 * or -1 + err saying what failed and where (REPORT has the lines before). */
int migrate_preflight(struct hv *src, struct hv *dst, const struct vm_config *c,
    const struct hv_migrate_opts *o, char *report, size_t len);

/* Ask SRC to stop C's migration; migrate_run then fails and C stays.  In
 * post-copy it cannot: -1 + err saying why. */
int migrate_abort(struct hv *src, const struct vm_config *c, bool postcopy);

/* "1.2 GiB" */
void migrate_format_bytes(int64_t bytes, char *buf, size_t len);

#endif
