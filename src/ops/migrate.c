#include "ops/migrate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/creation.h"
#include "model/db.h"
#include "model/host.h"
#include "model/journal.h"
#include "model/vm.h"
#include "ops/provision.h"
#include "util/err.h"
#include "util/log.h"
#include "util/num.h"
#include "util/xalloc.h"

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
migrate_init(struct migration *m, const struct vm_config *c, const struct hv_migrate_opts *o)
{
	memset(m, 0, sizeof *m);
	vm_config_copy(&m->c, c);
	m->o = *o;
	m->o.uri = NULL;
	atomic_init(&m->stop, false);
	atomic_init(&m->postcopy, false);
}

void
migrate_clear(struct migration *m)
{
	vm_config_clear(&m->c);
	free(m->to);
	m->to = NULL;
}

bool
migrate_live_ok(const struct host *from, const struct host *to)
{
	return from->kind == HOST_LIBVIRT && to->kind == HOST_LIBVIRT &&
	    strcmp(from->name, to->name) != 0;
}

int
migrate_amounts(const struct hv_migrate_progress *p, int64_t *total, int64_t *processed,
    int64_t *remaining)
{
	int64_t all = (p->mem_total > 0 ? p->mem_total : 0) + (p->disk_total > 0 ? p->disk_total : 0);
	int64_t did = (p->mem_processed > 0 ? p->mem_processed : 0) +
	    (p->disk_processed > 0 ? p->disk_processed : 0);
	int64_t rem = (p->mem_remaining > 0 ? p->mem_remaining : 0) +
	    (p->disk_remaining > 0 ? p->disk_remaining : 0);
	int pct = all > 0 ? (int)(100 * (all - rem) / all) : 0;

	if (total != NULL)
		*total = all;
	if (processed != NULL)
		*processed = did;
	if (remaining != NULL)
		*remaining = rem;
	return pct < 0 ? 0 : pct > 100 ? 100 : pct;
}

int
migrate_parse_bandwidth(const char *s, uint64_t *mib)
{
	long long v;

	if (num_parse(s, 1, 1000000, &v) != 0)
		return err_set("bandwidth: '%s' is not a whole number of MiB/s from 1 to 1000000", s);
	*mib = (uint64_t)v;
	return 0;
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
		num_format_bytes(k.free_kib * 1024, a, sizeof a);
		num_format_bytes(c->memory_mib << 20, b, sizeof b);
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
		num_format_bytes(k.copy_bytes, a, sizeof a);
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

int
migrate_check(struct migration *m, struct hv *src, struct hv *dst)
{
	struct hv_status st;

	m->report[0] = '\0';
	m->checked = false;
	if (hv_status(src, &m->c, &st) != 0)
		return -1;
	if (st.state != HV_RUNNING && st.state != HV_PAUSED)
		return err_set("VM '%s' is %s: a live migration needs it running; start it first",
		    m->c.name, hv_state_name(st.state));
	if (migrate_preflight(src, dst, &m->c, &m->o, m->report, sizeof m->report) != 0)
		return -1;
	m->checked = true;
	return 0;
}

/* hv_migrate's callback, on the migrating thread: the caller hears, then a
 * stop asked for (by now) goes to the source. */
static void
on_progress(const struct hv_migrate_progress *p, void *arg)
{
	struct migration *m = arg;

	m->last = *p;
	atomic_store(&m->postcopy, p->postcopy);
	if (m->on_progress != NULL)
		m->on_progress(m, p, m->arg);
	m->abort_error[0] = '\0';
	if (atomic_load(&m->stop) && !m->asked) {
		m->asked = true;
		if (migrate_abort(m->src, &m->c, p->postcopy) != 0)
			snprintf(m->abort_error, sizeof m->abort_error, "%s", err_get());
	}
}

/* hv_migrate's volume_fn, on the migrating thread: a volume about to be
 * made on the destination is recorded first (a creation of the VM there),
 * so that one a dead destination keeps goes with the next vmtty. */
static void
on_volume(const char *path, bool made, void *arg)
{
	struct migration *m = arg;

	if (!made) {
		for (size_t i = 0; i < m->nvols; i++)
			if (strcmp(m->vols[i], path) == 0) {
				free(m->vols[i]);
				m->vols[i] = m->vols[--m->nvols];
				break;
			}
		return;
	}
	m->vols = xrealloc(m->vols, (m->nvols + 1) * sizeof *m->vols);
	m->vols[m->nvols++] = xstrdup(path);
	if (m->rec == 0 && !m->unrecorded && (m->inventory == NULL ||
	    (m->rec_db = db_open(m->inventory)) == NULL ||
	    provision_record(m->rec_db, m->to_id, m->c.name, m->c.uuid, &m->rec) != 0)) {
		log_debug("migrate: the volumes made on host '%s' are not recorded: %s", m->to,
		    m->inventory == NULL ? "no inventory given" : err_get());
		m->unrecorded = true;
		m->rec = 0;
	}
	if (m->rec != 0 && creation_note(m->rec_db, m->rec, CREATION_VOLUME, path) != 0) {
		log_debug("migrate: cannot record volume '%s': %s", path, err_get());
		m->unrecorded = true;
	}
}

/* After hv_migrate (MOVED: it went through): the volumes it made are the
 * VM's, or were deleted again, and their record goes; else those a dead
 * destination keeps stay recorded for the next vmtty that reaches it, and
 * the error message (FAILED) says what becomes of them. */
static void
volumes_settle(struct migration *m, bool moved)
{
	char what[1200], msg[2048];
	const char *vol = m->nvols > 1 ? "volumes" : "volume";
	size_t k = 0;

	what[0] = '\0';
	for (size_t i = 0; i < m->nvols && k + 1 < sizeof what; i++) {
		snprintf(what + k, sizeof what - k, "%s'%s'", i > 0 ? ", " : "", m->vols[i]);
		k = strlen(what);
	}
	if (!moved && m->nvols > 0) {
		snprintf(msg, sizeof msg, "%s", err_get());
		/* Any vmtty, this one too, takes them back from now on. */
		if (m->rec != 0 && !m->unrecorded && creation_release(m->rec_db, m->rec) == 0)
			err_set("%s; the %s vmtty made there for the copy (%s) %s removed by the "
			    "next vmtty that reaches host '%s' again", msg, vol, what,
			    m->nvols > 1 ? "are" : "is", m->to);
		else
			err_set("%s; the %s vmtty made there for the copy (%s) %s on host '%s': "
			    "delete %s there", msg, vol, what, m->nvols > 1 ? "stay" : "stays",
			    m->to, m->nvols > 1 ? "them" : "it");
	} else if (m->rec != 0 && creation_end(m->rec_db, m->rec) < 0) {
		log_debug("migrate: cannot remove the record of the volumes: %s", err_get());
	}
	for (size_t i = 0; i < m->nvols; i++)
		free(m->vols[i]);
	free(m->vols);
	m->vols = NULL;
	m->nvols = 0;
	m->rec = 0;
	m->unrecorded = false;
	if (m->rec_db != NULL)
		db_close(m->rec_db);
	m->rec_db = NULL;
}

/* The journal's words for a move that went through. */
static void
moved_message(struct migration *m)
{
	char bytes[32], down[32];
	int64_t did;

	migrate_amounts(&m->last, NULL, &did, NULL);
	num_format_bytes(did, bytes, sizeof bytes);
	if (m->last.downtime_ms >= 0)
		snprintf(down, sizeof down, "%lld ms", (long long)m->last.downtime_ms);
	else
		snprintf(down, sizeof down, "unknown");
	snprintf(m->message, sizeof m->message, "moved live from host '%s' to host '%s' in "
	    "%.1f s (downtime %s, %s transferred%s)", m->c.host, m->to, (double)m->ms / 1000,
	    down, bytes, m->last.postcopy ? ", post-copy" : "");
}

int
migrate_run(struct migration *m, struct hv *src, struct hv *dst, const struct host *to)
{
	int64_t t0;
	int rc;

	free(m->to);
	m->to = xstrdup(to->name);
	m->to_id = to->id;
	migrate_uri(&m->o, to, m->uri, sizeof m->uri);
	m->src = src;
	m->message[0] = '\0';
	if (migrate_check(m, src, dst) != 0)
		goto fail;
	if (m->on_checked != NULL)
		m->on_checked(m, m->arg);
	if (atomic_load(&m->stop)) {
		err_set("the migration of VM '%s' to host '%s' stopped as asked before it began; "
		    "it runs on host '%s' as before", m->c.name, m->to, m->c.host);
		goto fail;
	}
	t0 = log_now_ms();
	m->o.checked = true;
	m->o.volume_fn = on_volume;
	m->o.volume_arg = m;
	rc = hv_migrate(src, dst, &m->c, &m->o, on_progress, m);
	m->o.checked = false;
	m->o.volume_fn = NULL;
	m->ms = log_now_ms() - t0;
	volumes_settle(m, rc == 0);
	/* The backend says where the VM is after a failure (stopped as asked
	 * or not): it has looked. */
	if (rc != 0)
		goto fail;
	moved_message(m);
	return 0;
fail:
	snprintf(m->message, sizeof m->message, "%s", err_get());
	return -1;
}

int
migrate_stop(struct migration *m)
{
	if (atomic_load(&m->postcopy))
		return migrate_abort(NULL, &m->c, true);
	atomic_store(&m->stop, true);
	return 0;
}

int
migrate_record(struct db *db, const struct migration *m, const char *error)
{
	char why[1024], msg[1400];

	if (error != NULL)
		return journal_add(db, m->c.host, m->c.name, "migrate", false, error);
	if (m->to == NULL)
		return err_set("VM '%s' has not moved: nothing to record", m->c.name);
	if (vm_move_journaled(db, m->c.id, m->to_id, m->c.name, m->c.host, m->to, "migrate",
	    m->message) == 0)
		return 0;
	snprintf(why, sizeof why, "%s", err_get());
	snprintf(msg, sizeof msg, "VM '%s' now runs on host '%s', but the inventory could not "
	    "record it (%s); 'vmtty list --host %s' finds it there", m->c.name, m->to, why, m->to);
	journal_add(db, m->c.host, m->c.name, "migrate", false, msg);
	return err_set("%s", msg);
}
