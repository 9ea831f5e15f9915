/* vmtty create NAME --template T ... (provisioning) | vmtty templates */
#include "cli/cli.h"
#include "cli/cli_priv.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv/hv.h"
#include "ops/image.h"
#include "ops/provision.h"
#include "model/host.h"
#include "model/journal.h"
#include "model/template.h"
#include "model/vm.h"
#include "util/err.h"
#include "util/xalloc.h"

static void
set(char **field, const char *value)
{
	if (value == NULL)
		return;
	free(*field);
	*field = xstrdup(value);
}

/* Kernel and initrd of the last VM made from the same template, for a
 * kernel template given without them. */
static void
prefill_kernel(struct db *db, struct provision_plan *p)
{
	struct vm_config last;
	int64_t id;

	if (p->template_name == NULL || p->kernel != NULL ||
	    vm_last_from_template(db, p->template_name, &id) != 0 || id == 0 ||
	    vm_load(db, id, &last) != 0)
		return;
	if (last.kernel != NULL) {
		set(&p->kernel, last.kernel);
		set(&p->initrd, last.initrd);
		fprintf(stderr, "vmtty: note: kernel and initrd as VM '%s' (template '%s')\n",
		    last.name, p->template_name);
	}
	vm_config_clear(&last);
}

/* The numbers of the command line, read before anything else is looked at. */
struct create_numbers {
	int cpus;
	int64_t memory_mib, disk_bytes;
};

static int
parse_numbers(const struct cli_create_opts *o, struct create_numbers *n)
{
	if ((o->cpus != NULL && vm_parse_cpus(o->cpus, &n->cpus) != 0) ||
	    (o->memory != NULL && vm_parse_memory(o->memory, &n->memory_mib) != 0) ||
	    (o->disk_size != NULL && provision_parse_size(o->disk_size, &n->disk_bytes) != 0))
		return -1;
	return 0;
}

/* Fill P from the command line over the template's defaults (into *T,
 * the caller's to clear). */
static int
plan_from_opts(struct db *db, struct provision_plan *p, const char *name,
    const struct cli_create_opts *o, const struct create_numbers *n, struct template *t)
{
	struct host h;
	char **dirs;
	int rc;

	if (host_get(db, o->host, &h) != 0)
		return -1;
	p->builtin = h.kind == HOST_BUILTIN;
	host_clear(&h);
	if (o->template_name != NULL) {
		dirs = template_dirs();
		rc = template_find((const char *const *)dirs, o->template_name, t);
		template_dirs_free(dirs);
		if (rc != 0)
			return -1;
		provision_from_template(p, t);
	}
	set(&p->host, o->host);
	set(&p->name, name);
	if (o->cpus != NULL)
		p->cpus = n->cpus;
	if (o->memory != NULL)
		p->memory_mib = n->memory_mib;
	if (o->disk_size != NULL) {
		p->disk_bytes = n->disk_bytes;
		if (p->disk == PROV_DISK_NONE)
			p->disk = PROV_DISK_NEW;
	}
	/* Local files are named absolutely; a libvirt host's are its own. */
	if (o->image != NULL) {
		free(p->image);
		p->image = p->builtin ? cli_abs_path(o->image) : xstrdup(o->image);
		p->disk = o->copy ? PROV_DISK_COPY : PROV_DISK_OVERLAY;
	} else if (o->disk != NULL) {
		free(p->image);
		p->image = p->builtin ? cli_abs_path(o->disk) : xstrdup(o->disk);
		p->disk = PROV_DISK_EXISTING;
	} else if (o->copy) {
		return err_set("--copy copies the image given with --image; give one");
	}
	if (o->iso != NULL) {
		free(p->iso);
		p->iso = p->builtin ? cli_abs_path(o->iso) : xstrdup(o->iso);
	}
	if (o->kernel != NULL) {
		free(p->kernel);
		p->kernel = p->builtin ? cli_abs_path(o->kernel) : xstrdup(o->kernel);
	}
	if (o->initrd != NULL) {
		free(p->initrd);
		p->initrd = p->builtin ? cli_abs_path(o->initrd) : xstrdup(o->initrd);
	}
	prefill_kernel(db, p);
	set(&p->cmdline, o->cmdline);
	set(&p->accel, o->accel);
	/* A microvm has no display: none unless asked for (and refused). */
	provision_set_machine(p, o->machine != NULL ? o->machine : p->machine, o->graphics);
	set(&p->disk_bus, o->disk_bus);
	set(&p->nic_model, o->nic_model);
	set(&p->notes, o->notes);
	set(&p->network, o->network);
	set(&p->forwards, o->fwd);
	set(&p->pool, o->pool);
	if (o->dir != NULL) {
		free(p->dir);
		p->dir = cli_abs_path(o->dir);
	}
	set(&p->ci_user, o->user);
	set(&p->hostname, o->hostname);
	if (o->ssh_key != NULL) {
		free(p->ssh_key);
		if (provision_read_key(o->ssh_key, &p->ssh_key) != 0)
			return -1;
	}
	if ((o->ssh_key != NULL || o->user != NULL || o->hostname != NULL) && !p->cloud_init &&
	    o->template_name == NULL)
		p->cloud_init = true;
	return 0;
}

/* A template with an image to download and none given (--image, --disk,
 * --iso): every other field checked first, then the image pulled into
 * the cache; the VM's disk is an overlay on it (its CD-ROM, for an ISO).
 * A libvirt host's files are its own: nothing is pulled for it. */
static int
pull_template_image(struct db *db, struct provision_plan *p, const struct cli_create_opts *o,
    const struct template *t)
{
	struct image_source s;
	char *path, *spec;
	int64_t id;
	int found;

	if (t->name == NULL || t->url == NULL || !p->builtin || o->image != NULL ||
	    o->disk != NULL || o->iso != NULL)
		return 0;
	for (int f = 0; f < PROV_F_COUNT; f++)
		if (f != PROV_F_DISK && f != PROV_F_ISO &&
		    provision_check_field(p, (enum provision_field)f) != 0)
			return -1;
	/* Not a long download for a name that is taken. */
	spec = xasprintf("%s/%s", p->host, p->name);
	found = vm_resolve(db, spec, &id) == 0;
	free(spec);
	err_clear();
	if (found)
		return err_set("name: a VM named '%s' already exists on host '%s'; choose "
		    "another name", p->name, p->host);
	if (image_source_from_template(t, &s) != 0)
		return -1;
	s.insecure = o->insecure_image;
	if (cli_image_pull(&s, &path) != 0)
		return -1;
	if (t->source == TPL_ISO) {
		free(p->iso);
		p->iso = path;
	} else {
		free(p->image);
		p->image = path;
		p->disk = PROV_DISK_OVERLAY;
	}
	return 0;
}

/* Progress of long steps on a terminal: one line, rewritten. */
static void
on_progress(const char *step, int percent, void *arg)
{
	bool *shown = arg;

	if (!isatty(STDERR_FILENO) || percent < 0)
		return;
	fprintf(stderr, "\r%s: %3d%%", step, percent);
	*shown = true;
}

/* Ctrl-C (or a TERM, a HUP) while the VM is being made: stop the tool at
 * work and take back what was made, rather than die with half a VM. */
static atomic_bool create_cancel;

static void
on_create_signal(int sig)
{
	(void)sig;
	atomic_store(&create_cancel, true);
}

static int
create_cancellable(struct db *db, struct hv *hv, struct provision_plan *p, bool *shown,
    struct vm_config *c)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa, old[3];
	int rc;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_create_signal;
	sigemptyset(&sa.sa_mask);
	atomic_store(&create_cancel, false);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	p->cancel = &create_cancel;
	rc = provision_create(db, hv, p, on_progress, shown, c);
	p->cancel = NULL;
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	if (rc != 0 && atomic_load(&create_cancel))
		err_set("VM '%s': creation cancelled by a signal; nothing was made", p->name);
	return rc;
}

int
cli_create_plan(struct cli_ctx *ctx, const char *name, const struct cli_create_opts *o)
{
	struct create_numbers num = { 0 };
	struct provision_plan p;
	struct template t;
	struct vm_config c;
	struct host h;
	struct hv *hv = NULL;
	struct db *db;
	char msg[1024];
	bool shown = false;
	int rc = -1;

	/* A value out of its range is bad input like any other field's: one
	 * line, exit 1, before the inventory is opened. */
	if (parse_numbers(o, &num) != 0)
		return cli_fail_err();
	if ((db = cli_db(ctx)) == NULL)
		return CLI_FAILED;
	provision_init(&p);
	memset(&c, 0, sizeof c);
	memset(&t, 0, sizeof t);
	if (plan_from_opts(db, &p, name, o, &num, &t) == 0 && pull_template_image(db, &p, o, &t) == 0 &&
	    provision_validate(&p) == 0 && host_get(db, o->host, &h) == 0) {
		hv = cli_hv_open(&h);
		host_clear(&h);
		if (hv != NULL)
			rc = create_cancellable(db, hv, &p, &shown, &c);
	}
	if (shown)
		fputc('\n', stderr);
	if (rc == 0) {
		snprintf(msg, sizeof msg, "created from template '%s' with %d vCPU(s), %lld MiB, "
		    "%zu disk(s)", p.template_name != NULL ? p.template_name : "(none)",
		    vm_config_cpus(&c), (long long)c.memory_mib, c.ndisks);
		journal_add(db, o->host, name, "create", true, msg);
	} else {
		snprintf(msg, sizeof msg, "%s", err_get());
		journal_add(db, o->host, name, "create", false, msg);
		cli_fail("%s", msg);
	}
	vm_config_clear(&c);
	hv_close(hv);
	template_clear(&t);
	provision_clear(&p);
	return rc == 0 ? CLI_OK : CLI_FAILED;
}

static const char *
disk_text(const struct template *t, char *buf, size_t len)
{
	if (t->disk_gib > 0)
		snprintf(buf, len, "%lldG", (long long)t->disk_gib);
	else
		snprintf(buf, len, "-");
	return buf;
}

int
cmd_templates(struct cli_ctx *ctx, int argc, char **argv)
{
	bool json = false;
	const struct cli_opt opts[] = {
		{ "json", NULL, &json, NULL },
		{ 0 },
	};
	struct template *t;
	char **dirs, **errors, **ops, buf[32];
	size_t n, nerr;
	int nops, rc;

	(void)ctx;
	rc = cli_parse("templates", argc, argv, opts, &ops, &nops);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	free(ops);
	if (nops != 0)
		return cli_usage("templates", "templates takes no operands");
	dirs = template_dirs();
	template_list((const char *const *)dirs, &t, &n, &errors, &nerr);
	template_dirs_free(dirs);
	if (json) {
		json_object *o = json_object_new_object(), *a = json_object_new_array();
		json_object *e = json_object_new_array();

		for (size_t i = 0; i < n; i++) {
			json_object *j = json_object_new_object();

			json_object_object_add(j, "name", cli_json_str(t[i].name));
			json_object_object_add(j, "label", cli_json_str(t[i].label));
			json_object_object_add(j, "source",
			    cli_json_str(template_source_name(t[i].source)));
			json_object_object_add(j, "cpus", json_object_new_int(t[i].cpus));
			json_object_object_add(j, "memory_mib", json_object_new_int64(t[i].memory_mib));
			json_object_object_add(j, "disk_gib", json_object_new_int64(t[i].disk_gib));
			json_object_object_add(j, "file", cli_json_str(t[i].file));
			json_object_array_add(a, j);
		}
		for (size_t i = 0; i < nerr; i++)
			json_object_array_add(e, cli_json_str(errors[i]));
		json_object_object_add(o, "templates", a);
		json_object_object_add(o, "errors", e);
		cli_json_print(o);
	} else {
		printf("%-20s %-12s %4s %8s %6s  %s\n", "NAME", "SOURCE", "CPUS", "MEMORY", "DISK",
		    "LABEL");
		for (size_t i = 0; i < n; i++) {
			printf("%-20s %-12s %4d %4lld MiB %6s  ", t[i].name,
			    template_source_name(t[i].source), t[i].cpus,
			    (long long)t[i].memory_mib, disk_text(&t[i], buf, sizeof buf));
			cli_print_cell(t[i].label, 0);
			putchar('\n');
		}
		for (size_t i = 0; i < nerr; i++)
			cli_warn("%s", errors[i]);
	}
	template_list_free(t, n);
	template_errors_free(errors, nerr);
	return CLI_OK;
}
