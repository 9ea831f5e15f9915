/* libvirt_priv: what the libvirt backend's other files (libvirt_migrate.c,
 * libvirt_vol.c, libvirt_snap.c) use of libvirt.c's per-host state (the
 * connection, a VM's domain, the error sentences), so that libvirt.c stays
 * the one owner of struct lv_priv; and their ops, which libvirt.c's ops
 * table names. */
#ifndef VMTTY_LIBVIRT_PRIV_H
#define VMTTY_LIBVIRT_PRIV_H

#include <stdbool.h>

#include <libvirt/libvirt.h>

#include "hv/hv.h"

/* HV's connection; NULL + err when it has closed (EOF, keepalive). */
virConnectPtr libvirt_conn(struct hv *hv);

/* The domain of C on HV (by UUID, by name without one); NULL + err.
 * *MISSING (may be NULL) tells "not defined there" from other failures. */
virDomainPtr libvirt_lookup(struct hv *hv, const struct vm_config *c, bool *missing);

/* err_set("host 'NAME': FMT: <libvirt's last error, first line>") or, once
 * the connection has closed, why it closed; returns -1. */
int libvirt_err(struct hv *hv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* libvirt's last error on this thread, up to its first newline. */
const char *libvirt_errmsg(void);

/* HV's storage pool NAME (NULL: "default", made when the host lacks it),
 * started; NULL + err. */
virStoragePoolPtr libvirt_pool(struct hv *hv, const char *name);

/* Refresh CONN's active pools whose directory is DIR (a file put there
 * behind libvirt's back shows only after that): how many there were. */
int libvirt_refresh_pools_at(virConnectPtr conn, const char *dir);

/* Volumes as byte streams (libvirt_vol.c): the ops of the same names in
 * hv.h. */
int libvirt_vol_open_read(struct hv *hv, const char *path, const char *format,
    struct hv_vol_info *info, void **st);
int libvirt_vol_open_write(struct hv *hv, const struct hv_volume *v, int64_t length,
    char **path, void **st);
ssize_t libvirt_vol_read(struct hv *hv, void *st, void *buf, size_t len);
int libvirt_vol_write(struct hv *hv, void *st, const void *buf, size_t len);
int libvirt_vol_close(struct hv *hv, void *st, bool ok);
int libvirt_disk_paths(struct hv *hv, const struct vm_config *c, struct strv *out);

/* Snapshots (libvirt_snap.c): the ops of the same names in hv.h. */
int libvirt_snapshot_list(struct hv *hv, const struct vm_config *c, struct vm_snapshot **out,
    size_t *n);
int libvirt_snapshot_create(struct hv *hv, struct vm_config *c, const struct vm_snapshot *all,
    size_t n, struct vm_snapshot *s);
int libvirt_snapshot_revert(struct hv *hv, struct vm_config *c, const struct vm_snapshot *all,
    size_t n, const char *name);
int libvirt_snapshot_delete(struct hv *hv, struct vm_config *c, struct vm_snapshot **all,
    size_t *n, const char *name, bool children);

/* Migration (libvirt_migrate.c): the ops of the same names in hv.h. */
int libvirt_migrate_check(struct hv *hv, struct hv *dst, const struct vm_config *c,
    const struct hv_migrate_opts *o, struct hv_migrate_check *out);
int libvirt_migrate(struct hv *hv, struct hv *dst, const struct vm_config *c,
    const struct hv_migrate_opts *o, hv_migrate_fn fn, void *arg);
int libvirt_migrate_abort(struct hv *hv, const struct vm_config *c);

/* The clone op (libvirt_clone.c). */
int libvirt_clone(struct hv *hv, const struct vm_config *c, const struct hv_clone_opts *o,
    struct hv_clone_result *out);

/* The stats op (libvirt_stats.c). */
int libvirt_stats(struct hv *hv, const struct vm_config *const *vms, size_t n,
    struct hv_stats *out);

#endif
