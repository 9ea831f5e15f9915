#include "ops/migrate.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "model/host.h"
#include "model/vm.h"
#include "util/err.h"

void
migrate_uri(struct hv_migrate_opts *o, const struct host *dst, char *buf, size_t len)
{
	o->uri = NULL;
	if (dst->migration_address != NULL && dst->migration_address[0] != '\0') {
		snprintf(buf, len, "tcp://%s", dst->migration_address);
		o->uri = buf;
	}
}

void
migrate_format_bytes(int64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	size_t u = 0;

	if (bytes < 0) {
		snprintf(buf, len, "?");
		return;
	}
	while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
}

/* Append FMT's text and a newline to REPORT. */
static void __attribute__((format(printf, 3, 4)))
line(char *report, size_t len, const char *fmt, ...)
{
	size_t n = strlen(report);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(report + n, len - n, fmt, ap);
	va_end(ap);
	n = strlen(report);
	snprintf(report + n, len - n, "\n");
}

int
migrate_preflight(struct hv *src, struct hv *dst, const struct vm_config *c,
    const struct hv_migrate_opts *o, char *report, size_t len)
{
	struct hv_migrate_check k;
	const char *to = dst->host.name;
	char a[64], b[64];

	report[0] = '\0';
	if (strcmp(src->host.name, to) == 0)
		return err_set("VM '%s' is on host '%s' already; give another host", c->name, to);
	if (hv_migrate_check(src, dst, c, o, &k) != 0)
		return err_prefix("preflight of VM '%s' to host '%s'", c->name, to);
	line(report, len, "host '%s' answers", to);
	if (k.name_taken)
		return err_set("host '%s' already has a domain named '%s' (or with its UUID); "
		    "rename or remove it there first", to, c->name);
	line(report, len, "the name '%s' is free there", c->name);
	if (!k.cpu_ok)
		return err_set("host '%s' cannot run the CPU of VM '%s': %s", to, c->name,
		    k.cpu_why[0] != '\0' ? k.cpu_why : "the CPUs are incompatible");
	line(report, len, "its CPU can run the VM's CPU");
	if (k.free_kib >= 0) {
		migrate_format_bytes(k.free_kib * 1024, a, sizeof a);
		migrate_format_bytes(c->memory_mib << 20, b, sizeof b);
		if (k.free_kib < c->memory_mib * 1024)
			return err_set("host '%s' has %s of memory free, VM '%s' needs %s; free some "
			    "there first", to, a, c->name, b);
		line(report, len, "%s free there for %s", a, b);
	}
	if (k.missing[0] != '\0')
		return err_set("host '%s' lacks what VM '%s' uses: %s; create it there first", to,
		    c->name, k.missing);
	if (k.shared_storage) {
		line(report, len, "storage: shared (every disk is there already)");
	} else if (!o->copy_storage) {
		return err_set("the disks of VM '%s' are not on host '%s'; give --copy-storage to "
		    "copy them while it moves", c->name, to);
	} else {
		migrate_format_bytes(k.copy_bytes, a, sizeof a);
		line(report, len, "storage: copies %s of disks", a);
	}
	return 0;
}

int
migrate_abort(struct hv *src, const struct vm_config *c, bool postcopy)
{
	if (postcopy)
		return err_set("VM '%s' runs on the destination already (post-copy): stopping now "
		    "would lose it; the migration goes on to its end", c->name);
	return hv_migrate_abort(src, c);
}
