/* vmtty edit VM ...: change a VM's configuration.  A running VM keeps
 * running as it was; the changes are marked pending until its next start. */
#include "cli/cli.h"
#include "cli/cli_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv/hv.h"
#include "hv/provision.h"
#include "model/journal.h"
#include "model/vm.h"
#include "util/err.h"
#include "util/xalloc.h"

struct edit_opts {
	const char *cpus, *memory, *cmdline, *kernel, *initrd, *firmware, *machine;
	const char *add_disk, *new_disk, *remove_disk, *resize_disk, *add_nic, *remove_nic;
	const char *pool;
};

/* Append WHAT to the list of changes in BUF. */
static void
changed(char *buf, size_t len, const char *what)
{
	size_t n = strlen(buf);

	snprintf(buf + n, len - n, "%s%s", n > 0 ? ", " : "", what);
}

static void
replace(char **field, const char *value)
{
	free(*field);
	*field = value != NULL && value[0] != '\0' ? xstrdup(value) : NULL;
}

/* The disk named by SPEC: its path, or its number from 0. */
static int
find_disk(const struct vm_config *c, const char *spec, size_t *idx)
{
	char *end;
	unsigned long n = strtoul(spec, &end, 10);

	if (spec[0] != '\0' && *end == '\0' && n < c->ndisks) {
		*idx = n;
		return 0;
	}
	for (size_t i = 0; i < c->ndisks; i++) {
		if (strcmp(c->disks[i].path, spec) == 0) {
			*idx = i;
			return 0;
		}
	}
	return err_set("VM '%s' has no disk '%s'; give its path or number (see 'vmtty show "
	    "%s')", c->name, spec, c->name);
}

/* Apply the options to C; CHANGES gets what changed.  -1 + err. */
static int
apply(struct cli_vm *v, struct vm_config *c, const struct edit_opts *o, bool running,
    char *changes, size_t clen)
{
	char *end;

	if (o->cpus != NULL) {
		long n = strtol(o->cpus, &end, 10);

		if (o->cpus[0] == '\0' || *end != '\0' || n < 1 || n > VM_MAX_CPUS)
			return err_set("CPUs: '%s' is not a whole number from 1 to %d", o->cpus,
			    VM_MAX_CPUS);
		c->sockets = (int)n;
		c->cores = c->threads = 1;
		changed(changes, clen, "CPUs");
	}
	if (o->memory != NULL) {
		int64_t bytes;

		if (o->memory[strspn(o->memory, "0123456789")] == '\0' && o->memory[0] != '\0')
			c->memory_mib = strtoll(o->memory, NULL, 10);
		else if (provision_parse_size(o->memory, &bytes) == 0 && bytes % (1 << 20) == 0)
			c->memory_mib = bytes >> 20;
		else
			return err_set("memory: '%s' is not a size; give MiB or a size such as 2G",
			    o->memory);
		changed(changes, clen, "memory");
	}
	if (o->kernel != NULL) {
		char *k = o->kernel[0] != '\0' && v->hv->host.kind == HOST_BUILTIN ?
		    cli_abs_path(o->kernel) : xstrdup(o->kernel);

		replace(&c->kernel, k);
		free(k);
		changed(changes, clen, "kernel");
	}
	if (o->initrd != NULL) {
		char *i = o->initrd[0] != '\0' && v->hv->host.kind == HOST_BUILTIN ?
		    cli_abs_path(o->initrd) : xstrdup(o->initrd);

		replace(&c->initrd, i);
		free(i);
		changed(changes, clen, "initrd");
	}
	if (o->cmdline != NULL) {
		replace(&c->cmdline, o->cmdline);
		changed(changes, clen, "kernel command line");
	}
	if (o->firmware != NULL) {
		replace(&c->firmware, o->firmware);
		changed(changes, clen, "firmware");
	}
	if (o->machine != NULL) {
		replace(&c->machine, o->machine);
		changed(changes, clen, "machine type");
	}
	if (o->remove_disk != NULL) {
		size_t i;

		if (find_disk(c, o->remove_disk, &i) != 0)
			return -1;
		free(c->disks[i].path);
		free(c->disks[i].format);
		free(c->disks[i].bus);
		free(c->disks[i].cache);
		memmove(&c->disks[i], &c->disks[i + 1], (c->ndisks - i - 1) * sizeof *c->disks);
		c->ndisks--;
		changed(changes, clen, "disks");
	}
	if (o->add_disk != NULL) {
		char *p = v->hv->host.kind == HOST_BUILTIN ? cli_abs_path(o->add_disk) :
		    xstrdup(o->add_disk);
		struct vm_disk *d = vm_config_add_disk(c, p);
		size_t n = strlen(p);

		free(d->format);
		d->format = xstrdup(n > 6 && strcmp(p + n - 6, ".qcow2") == 0 ? "qcow2" : "raw");
		free(p);
		changed(changes, clen, "disks");
	}
	if (o->resize_disk != NULL) {
		const char *colon = strrchr(o->resize_disk, ':');
		char *spec;
		int64_t bytes;
		size_t i;
		int rc;

		if (colon == NULL)
			return err_set("--resize-disk takes DISK:SIZE, such as 0:40G");
		if (running)
			return err_set("VM '%s' is running: a disk grows only while it is stopped; "
			    "stop it first", c->name);
		spec = xstrndup(o->resize_disk, (size_t)(colon - o->resize_disk));
		rc = find_disk(c, spec, &i);
		free(spec);
		if (rc != 0 || provision_parse_size(colon + 1, &bytes) != 0 ||
		    provision_resize_disk(v->hv, c, c->disks[i].path, bytes) != 0)
			return -1;
	}
	if (o->remove_nic != NULL) {
		unsigned long n = strtoul(o->remove_nic, &end, 10);

		if (o->remove_nic[0] == '\0' || *end != '\0' || n >= c->nnics)
			return err_set("VM '%s' has no NIC '%s'; give its number from 0", c->name,
			    o->remove_nic);
		free(c->nics[n].kind);
		free(c->nics[n].model);
		free(c->nics[n].mac);
		free(c->nics[n].source);
		free(c->nics[n].forwards);
		memmove(&c->nics[n], &c->nics[n + 1], (c->nnics - n - 1) * sizeof *c->nics);
		c->nnics--;
		changed(changes, clen, "NICs");
	}
	if (o->add_nic != NULL) {
		const char *colon = strchr(o->add_nic, ':');
		char *kind = colon != NULL ? xstrndup(o->add_nic, (size_t)(colon - o->add_nic)) :
		    xstrdup(o->add_nic);
		struct vm_nic *n = vm_config_add_nic(c, kind);

		free(kind);
		n->source = colon != NULL ? xstrdup(colon + 1) : NULL;
		changed(changes, clen, "NICs");
	}
	return 0;
}

int
cmd_edit(struct cli_ctx *ctx, int argc, char **argv)
{
	struct edit_opts o = { 0 };
	const struct cli_opt opts[] = {
		{ "cpus", &o.cpus, NULL },
		{ "memory", &o.memory, NULL },
		{ "cmdline", &o.cmdline, NULL },
		{ "kernel", &o.kernel, NULL },
		{ "initrd", &o.initrd, NULL },
		{ "firmware", &o.firmware, NULL },
		{ "machine", &o.machine, NULL },
		{ "add-disk", &o.add_disk, NULL },
		{ "new-disk", &o.new_disk, NULL },
		{ "remove-disk", &o.remove_disk, NULL },
		{ "resize-disk", &o.resize_disk, NULL },
		{ "add-nic", &o.add_nic, NULL },
		{ "remove-nic", &o.remove_nic, NULL },
		{ "pool", &o.pool, NULL },
		{ 0 },
	};
	struct cli_vm v;
	struct vm_config c;
	struct hv_status st;
	char **ops, changes[256] = "", msg[1024], *newdisk = NULL;
	bool running;
	int n, rc;

	rc = cli_parse("edit", argc, argv, opts, &ops, &n);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	if (n != 1) {
		free(ops);
		return cli_usage("edit", "edit takes one VM");
	}
	rc = cli_vm_load(ctx, ops[0], &v, true);
	free(ops);
	if (rc != 0)
		return ctx->db == NULL ? CLI_FAILED : cli_fail_err();
	running = hv_status(v.hv, &v.c, &st) == 0 && st.state != HV_OFF &&
	    st.state != HV_CRASHED;
	vm_config_copy(&c, &v.c);
	rc = apply(&v, &c, &o, running, changes, sizeof changes);
	if (rc == 0 && o.resize_disk != NULL)
		changed(changes, sizeof changes, "disk size");
	if (rc == 0 && o.new_disk != NULL) {
		int64_t bytes;

		rc = provision_parse_size(o.new_disk, &bytes);
		/* Checked before the disk is made: it would be taken back. */
		if (rc == 0)
			rc = vm_config_validate(&c);
		if (rc == 0)
			rc = provision_add_disk(v.hv, &c, o.pool, bytes, &newdisk);
		if (rc == 0) {
			struct vm_disk *d = vm_config_add_disk(&c, newdisk);

			d->owned = true;
			changed(changes, sizeof changes, "disks");
		}
	}
	if (rc == 0 && changes[0] == '\0')
		rc = err_set("nothing to change; give an option such as --cpus or --memory (see "
		    "'vmtty help edit')");
	if (rc == 0)
		rc = hv_check(v.hv, &c);
	if (rc == 0 && (rc = hv_define(v.hv, &c)) != 0)
		err_prefix("Defining the VM failed");
	if (rc == 0 && (rc = vm_update(ctx->db, &c)) != 0)
		hv_define(v.hv, &v.c);	/* the host's definition as it was */
	if (rc == 0 && running) {
		char *all = v.c.pending != NULL ? xasprintf("%s, %s", v.c.pending, changes) :
		    xstrdup(changes);

		rc = vm_set_pending(ctx->db, c.id, all);
		fprintf(stderr, "vmtty: note: VM '%s' is %s: %s take effect at its next start\n",
		    c.name, hv_state_name(st.state), changes);
		free(all);
	}
	if (rc != 0 && newdisk != NULL) {
		/* Take back the disk made for this edit. */
		char keep[1024];

		snprintf(keep, sizeof keep, "%s", err_get());
		if (v.hv->host.kind == HOST_BUILTIN)
			unlink(newdisk);
		else
			hv_volume_delete(v.hv, newdisk);
		err_set("%s", keep);
	}
	if (rc == 0) {
		snprintf(msg, sizeof msg, "changed %s%s", changes, running ? " (pending restart)" : "");
		journal_add(ctx->db, v.c.host, v.c.name, "edit", true, msg);
	} else {
		snprintf(msg, sizeof msg, "%s", err_get());
		journal_add(ctx->db, v.c.host, v.c.name, "edit", false, msg);
		cli_fail("%s", msg);
	}
	free(newdisk);
	vm_config_clear(&c);
	cli_vm_free(&v);
	return rc == 0 ? CLI_OK : CLI_FAILED;
}
