/*
 * A libvirt host's volumes as byte streams, for cold moves: a disk read
 * with virStorageVolDownload, a new volume (made first, with its format and
 * capacity, in the pool asked for) filled with virStorageVolUpload.  The
 * streams are blocking: one thread reads or writes one stream at a time.
 * A write that does not finish takes its volume back (virStorageVolDelete).
 */
#include "hv/hv.h"
#include "hv/libvirt.h"
#include "hv/libvirt_priv.h"
#include "hv/libvirt_xml_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

struct lvvol {
	virStorageVolPtr vol;
	virStreamPtr st;
	char *path;
	bool write;
	bool eof;		/* read: the stream said it ended */
	bool failed;		/* the stream broke: abort it, never finish */
};

/* The directory part of PATH, allocated ("/" for "/x"). */
static char *
dir_of(const char *path)
{
	const char *s = strrchr(path, '/');

	return xstrndup(path, s == NULL ? 0 : s == path ? 1 : (size_t)(s - path));
}

/* The volume at PATH on HV: looked for again after a refresh of the pools
 * in its directory (a file put there behind libvirt's back). */
static virStorageVolPtr
lookup_path(struct hv *hv, virConnectPtr conn, const char *path)
{
	virStorageVolPtr vol = virStorageVolLookupByPath(conn, path);
	virErrorPtr e;
	char *dir;

	if (vol != NULL)
		return vol;
	e = virGetLastError();
	if (e == NULL || e->code != VIR_ERR_NO_STORAGE_VOL)
		return libvirt_err(hv, "cannot look up disk '%s'", path), NULL;
	dir = dir_of(path);
	if (libvirt_refresh_pools_at(conn, dir) > 0)
		vol = virStorageVolLookupByPath(conn, path);
	free(dir);
	if (vol == NULL)
		err_set("host '%s' has no volume '%s' in its storage pools; vmtty moves a disk "
		    "through a pool: define one for its directory (virsh pool-define-as NAME dir "
		    "--target DIR), or refresh it", hv->host.name, path);
	return vol;
}

/* Format, backing file and pool of VOL into INFO (FORMAT: the VM's word). */
static int
vol_describe(struct hv *hv, virStorageVolPtr vol, const char *path, const char *format,
    struct hv_vol_info *info)
{
	virStorageVolInfo vi;
	virStoragePoolPtr pool;
	struct libvirt_xml *x = NULL;
	char *xml;

	if (virStorageVolGetInfoFlags(vol, &vi, VIR_STORAGE_VOL_GET_PHYSICAL) < 0)
		return libvirt_err(hv, "cannot read volume '%s'", path);
	info->length = (int64_t)vi.allocation;
	info->capacity = (int64_t)vi.capacity;
	if ((xml = virStorageVolGetXMLDesc(vol, 0)) == NULL)
		return libvirt_err(hv, "cannot read volume '%s'", path);
	x = libvirt_xml_parse(xml, "a storage volume");
	free(xml);
	if (x == NULL)
		return -1;
	info->format = format != NULL ? xstrdup(format) :
	    libvirt_xml_get(x, "/volume/target/format/@type");
	if (info->format == NULL)
		info->format = xstrdup("raw");
	info->backing = libvirt_xml_get(x, "/volume/backingStore/path");
	libvirt_xml_free(x);
	if ((pool = virStoragePoolLookupByVolume(vol)) != NULL) {
		const char *name = virStoragePoolGetName(pool);

		info->pool = name != NULL ? xstrdup(name) : NULL;
		virStoragePoolFree(pool);
	}
	return 0;
}

static void
lvvol_free(struct lvvol *v)
{
	if (v->st != NULL)
		virStreamFree(v->st);
	if (v->vol != NULL)
		virStorageVolFree(v->vol);
	free(v->path);
	free(v);
}

int
libvirt_vol_open_read(struct hv *hv, const char *path, const char *format,
    struct hv_vol_info *info, void **out)
{
	virConnectPtr conn = libvirt_conn(hv);
	struct lvvol *v;

	if (conn == NULL)
		return -1;
	v = xcalloc(1, sizeof *v);
	v->path = xstrdup(path);
	if ((v->vol = lookup_path(hv, conn, path)) == NULL ||
	    vol_describe(hv, v->vol, path, format, info) != 0)
		goto fail;
	if ((v->st = virStreamNew(conn, 0)) == NULL) {
		libvirt_err(hv, "cannot open a stream");
		goto fail;
	}
	if (virStorageVolDownload(v->vol, v->st, 0, 0, 0) < 0) {
		libvirt_err(hv, "cannot download volume '%s'", path);
		goto fail;
	}
	*out = v;
	return 0;
fail:
	lvvol_free(v);
	return -1;
}

int
libvirt_vol_open_write(struct hv *hv, const struct hv_volume *vol, int64_t length, char **path,
    void **out)
{
	struct hv_volume plain = { vol->pool, vol->name, vol->format, vol->bytes, NULL, NULL };
	virConnectPtr conn = libvirt_conn(hv);
	virStoragePoolPtr pool;
	struct lvvol *v;
	char *xml, *p;

	if (conn == NULL || (pool = libvirt_pool(hv, vol->pool)) == NULL)
		return -1;
	xml = libvirt_volume_xml(&plain, "raw");
	v = xcalloc(1, sizeof *v);
	v->write = true;
	v->vol = virStorageVolCreateXML(pool, xml, 0);
	free(xml);
	if (v->vol == NULL) {
		libvirt_err(hv, "cannot create volume '%s' in pool '%s'", vol->name,
		    virStoragePoolGetName(pool));
		virStoragePoolFree(pool);
		lvvol_free(v);
		return -1;
	}
	virStoragePoolFree(pool);
	if ((p = virStorageVolGetPath(v->vol)) == NULL) {
		libvirt_err(hv, "cannot read the path of volume '%s'", vol->name);
		goto fail;
	}
	v->path = xstrdup(p);
	free(p);
	if ((v->st = virStreamNew(conn, 0)) == NULL) {
		libvirt_err(hv, "cannot open a stream");
		goto fail;
	}
	if (virStorageVolUpload(v->vol, v->st, 0, (unsigned long long)length, 0) < 0) {
		libvirt_err(hv, "cannot upload into volume '%s'", v->path);
		virStreamFree(v->st);
		v->st = NULL;
		goto fail;
	}
	*path = xstrdup(v->path);
	*out = v;
	return 0;
fail:
	if (virStorageVolDelete(v->vol, 0) < 0)
		log_debug("libvirt: host '%s': cannot delete volume '%s': %s", hv->host.name,
		    vol->name, libvirt_errmsg());
	lvvol_free(v);
	return -1;
}

ssize_t
libvirt_vol_read(struct hv *hv, void *st, void *buf, size_t len)
{
	struct lvvol *v = st;
	int n;

	if (v->eof)
		return 0;
	if ((n = virStreamRecv(v->st, buf, len)) < 0) {
		v->failed = true;
		return libvirt_err(hv, "cannot download volume '%s'", v->path);
	}
	v->eof = n == 0;
	return n;
}

int
libvirt_vol_write(struct hv *hv, void *st, const void *buf, size_t len)
{
	struct lvvol *v = st;
	const char *p = buf;

	while (len > 0) {
		int n = virStreamSend(v->st, p, len);

		if (n < 0) {
			v->failed = true;
			return libvirt_err(hv, "cannot upload into volume '%s'", v->path);
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
libvirt_vol_close(struct hv *hv, void *st, bool ok)
{
	struct lvvol *v = st;
	int rc = 0;

	if (ok && !v->failed && (v->write || v->eof)) {
		if (virStreamFinish(v->st) < 0)
			rc = libvirt_err(hv, v->write ? "cannot finish the upload into volume '%s'" :
			    "cannot finish the download of volume '%s'", v->path);
	} else {
		virStreamAbort(v->st);
		rc = ok ? err_set("the download of volume '%s' on host '%s' ended early",
		    v->path, hv->host.name) : 0;
	}
	if (v->write && (!ok || rc != 0) && virStorageVolDelete(v->vol, 0) < 0) {
		char why[1024];

		snprintf(why, sizeof why, "%s", rc != 0 ? err_get() : "");
		libvirt_err(hv, "cannot delete volume '%s' it made", v->path);
		if (why[0] != '\0')
			err_prefix("%s; and", why);
		rc = -1;
	}
	lvvol_free(v);
	return rc;
}

/* The path of disk I (0-based) of domain XML X, allocated. */
static char *
disk_path(struct hv *hv, virConnectPtr conn, struct libvirt_xml *x, int i)
{
	char expr[128], *type, *a, *b, *path = NULL;
	virStoragePoolPtr pool;
	virStorageVolPtr vol;

	snprintf(expr, sizeof expr, "/domain/devices/disk[%d]/@type", i + 1);
	type = libvirt_xml_get(x, expr);
	if (type != NULL && strcmp(type, "volume") == 0) {
		snprintf(expr, sizeof expr, "/domain/devices/disk[%d]/source/@pool", i + 1);
		a = libvirt_xml_get(x, expr);
		snprintf(expr, sizeof expr, "/domain/devices/disk[%d]/source/@volume", i + 1);
		b = libvirt_xml_get(x, expr);
		if (a != NULL && b != NULL && (pool = virStoragePoolLookupByName(conn, a)) != NULL) {
			if ((vol = virStorageVolLookupByName(pool, b)) != NULL) {
				path = virStorageVolGetPath(vol);
				virStorageVolFree(vol);
			}
			virStoragePoolFree(pool);
		}
		if (path == NULL)
			path = xasprintf("volume '%s' of pool '%s'", b != NULL ? b : "?",
			    a != NULL ? a : "?");
		free(a);
		free(b);
	} else if (type != NULL && (strcmp(type, "file") == 0 || strcmp(type, "block") == 0)) {
		snprintf(expr, sizeof expr, "/domain/devices/disk[%d]/source/@%s", i + 1,
		    strcmp(type, "file") == 0 ? "file" : "dev");
		path = libvirt_xml_get(x, expr);
		if (path == NULL)
			path = xstrdup("");	/* an empty CD-ROM drive */
	} else {
		path = xasprintf("%s disk", type != NULL ? type : "unknown");
	}
	(void)hv;
	free(type);
	return path;
}

int
libvirt_disk_paths(struct hv *hv, const struct vm_config *c, struct strv *out)
{
	virConnectPtr conn = libvirt_conn(hv);
	struct libvirt_xml *x;
	virDomainPtr dom;
	char *xml, what[300];
	int n;

	if (conn == NULL || (dom = libvirt_lookup(hv, c, NULL)) == NULL)
		return -1;
	xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
	virDomainFree(dom);
	if (xml == NULL)
		return libvirt_err(hv, "cannot read the definition of VM '%s'", c->name);
	snprintf(what, sizeof what, "the definition of VM '%s'", c->name);
	x = libvirt_xml_parse(xml, what);
	free(xml);
	if (x == NULL)
		return -1;
	n = libvirt_xml_count(x, "/domain/devices/disk");
	for (int i = 0; i < n; i++) {
		char *p = disk_path(hv, conn, x, i);

		strv_add(out, p);
		free(p);
	}
	libvirt_xml_free(x);
	return 0;
}
