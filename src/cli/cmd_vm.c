/* vmtty list | show */
#include "cli/cli.h"
#include "cli/cli_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv/hv.h"
#include "model/host.h"
#include "model/journal.h"
#include "model/tuning.h"
#include "model/vm.h"
#include "util/err.h"
#include "util/str.h"
#include "util/xalloc.h"

/* Write the JSON array by hand: for 10,000 VMs this is several times
 * faster than building a json-c tree, and json-c still escapes strings. */
static bool
is_stale(const char *host, char **stale, size_t nstale)
{
	for (size_t i = 0; i < nstale; i++)
		if (strcmp(stale[i], host) == 0)
			return true;
	return false;
}

static void
list_json(const struct vm_summary *v, size_t n, char **stale, size_t nstale)
{
	fputs("[", stdout);
	for (size_t i = 0; i < n; i++) {
		json_object *h = cli_json_str(v[i].host);
		json_object *nm = cli_json_str(v[i].name);
		json_object *st = cli_json_str(v[i].state);
		char *ht = cli_json_text(h, JSON_C_TO_STRING_NOSLASHESCAPE);
		char *nmt = cli_json_text(nm, JSON_C_TO_STRING_NOSLASHESCAPE);
		char *stt = cli_json_text(st, JSON_C_TO_STRING_NOSLASHESCAPE);

		printf("%s\n  { \"host\": %s, \"name\": %s, \"uuid\": \"%s\", \"state\": %s, "
		    "\"cpus\": %d, \"memory_mib\": %lld, \"max_memory_mib\": %lld, "
		    "\"autostart\": %s, \"persistent\": %s, \"stale\": %s, \"pending_restart\": %s }",
		    i == 0 ? "" : ",", ht, nmt, v[i].uuid, stt,
		    v[i].cpus, (long long)v[i].memory_mib, (long long)v[i].max_memory_mib,
		    v[i].autostart ? "true" : "false", v[i].persistent ? "true" : "false",
		    is_stale(v[i].host, stale, nstale) ? "true" : "false",
		    v[i].pending && !vm_state_stopped(v[i].state) ? "true" : "false");
		free(ht);
		free(nmt);
		free(stt);
		json_object_put(h);
		json_object_put(nm);
		json_object_put(st);
	}
	fputs(n == 0 ? "]\n" : "\n]\n", stdout);
}

static void
list_text(const struct vm_summary *v, size_t n, char **stale, size_t nstale)
{
	int wh = 4, wn = 4;

	for (size_t i = 0; i < n; i++) {
		int w;

		if ((w = cli_cell_width(v[i].host)) > wh)
			wh = w;
		if ((w = cli_cell_width(v[i].name)) > wn)
			wn = w;
	}
	printf("%-*s  %-*s  %-13s  %4s  %9s\n", wh, "HOST", wn, "NAME", "STATE", "CPUS", "MEMORY");
	for (size_t i = 0; i < n; i++) {
		char state[32];

		snprintf(state, sizeof state, "%s%s%s", v[i].state,
		    is_stale(v[i].host, stale, nstale) ? "?" : "",
		    v[i].pending && !vm_state_stopped(v[i].state) ? "*" : "");
		/* Names come from libvirt hosts too: escaped, they cannot
		 * return the cursor or fake columns. */
		cli_print_cell(v[i].host, wh);
		fputs("  ", stdout);
		cli_print_cell(v[i].name, wn);
		fputs("  ", stdout);
		cli_print_cell(state, 13);
		printf("  %4d  %5lld MiB\n", v[i].cpus, (long long)v[i].memory_mib);
	}
}

/* A built-in VM found with a running qemu that no journaled start made
 * (vmtty was killed while starting it): the start is journaled now, and
 * said once on stderr. */
static void
journal_found(struct db *db, struct hv *hv, const char *uuid, const char *host, const char *name,
    const struct hv_status *st)
{
	struct vm_config c;

	if (st->pid <= 0 || st->started <= 0 ||
	    journal_started_since(db, host, name, st->started) != 0)
		return;
	/* A start under way (its qemu up, not yet set up) journals itself. */
	memset(&c, 0, sizeof c);
	snprintf(c.uuid, sizeof c.uuid, "%s", uuid);
	c.name = (char *)name;
	if (hv_busy(hv, &c))
		return;
	if (journal_found_running(db, host, name, st->started, st->pid) == 1)
		fprintf(stderr, "vmtty: VM '%s' was found running with no journaled start; "
		    "journaled now\n", name);
}

struct live {
	struct db *db;
	struct hv *hv;
	struct vm_summary *v;
};

static void
live_state(size_t i, const struct hv_status *st, void *arg)
{
	struct live *l = arg;
	struct vm_summary *s = &l->v[i];

	free(s->state);
	s->state = xstrdup(hv_state_name(st->state));
	journal_found(l->db, l->hv, s->uuid, s->host, s->name, st);
}

/*
 * Built-in VMs: the true state comes from their qemu (pidfile, /proc, QMP),
 * not from the inventory's last-seen value.  libvirt hosts keep the cached
 * value until their backend is connected.
 */
static void
live_states(struct db *db, struct vm_summary *v, size_t n)
{
	struct host *hosts;
	size_t nh;

	if (host_list(db, &hosts, &nh) != 0)
		return;
	for (size_t h = 0; h < nh; h++) {
		struct live l = { db, NULL, v };
		struct hv *hv;

		if (hosts[h].kind != HOST_BUILTIN)
			continue;
		/* All at once: one look at the runtime directory answers for
		 * every VM that is off.  A host that cannot say (a runtime
		 * directory refused as not the user's) shows its VMs as
		 * unknown, never as the inventory last saw them. */
		if ((l.hv = hv = hv_open(&hosts[h])) == NULL ||
		    hv_status_all(hv, v, n, live_state, &l) != 0) {
			cli_warn("host '%s': the VMs' states cannot be read: %s", hosts[h].name,
			    err_get());
			for (size_t i = 0; i < n; i++)
				if (strcmp(v[i].host, hosts[h].name) == 0) {
					free(v[i].state);
					v[i].state = xstrdup(hv_state_name(HV_UNKNOWN));
				}
		}
		hv_close(hv);
	}
	host_list_free(hosts, nh);
}

int
cmd_list(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *host = NULL;
	bool json = false;
	const struct cli_opt opts[] = {
		{ "host", &host, NULL, NULL },
		{ "json", NULL, &json, NULL },
		{ 0 },
	};
	struct vm_summary *v;
	struct db *db;
	struct host h;
	char **ops, **stale;
	size_t n, nstale;
	int nops, rc;

	rc = cli_parse("list", argc, argv, opts, &ops, &nops);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	free(ops);
	if (nops != 0)
		return cli_usage("list", "list takes no operands; use --host HOST to choose a host");
	if ((db = cli_db(ctx)) == NULL)
		return CLI_FAILED;
	if (host != NULL) {
		if (host_get(db, host, &h) != 0)
			return cli_fail_err();
		host_clear(&h);
	}
	if (cli_refresh_hosts(db, host, &stale, &nstale) != 0)
		return cli_fail_err();
	if (vm_list(db, host, &v, &n) != 0) {
		rc = cli_fail_err();
		goto out;
	}
	live_states(db, v, n);
	if (json)
		list_json(v, n, stale, nstale);
	else
		list_text(v, n, stale, nstale);
	vm_summary_free(v, n);
	rc = CLI_OK;
out:
	for (size_t i = 0; i < nstale; i++)
		free(stale[i]);
	free(stale);
	return rc;
}

static json_object *
show_json(const struct vm_config *c, bool builtin)
{
	json_object *o = json_object_new_object(), *cpu = json_object_new_object();
	json_object *disks = json_object_new_array(), *nics = json_object_new_array();
	json_object *tun = json_object_new_object();
	char t[40];

	json_object_object_add(o, "host", cli_json_str(c->host));
	json_object_object_add(o, "name", cli_json_str(c->name));
	json_object_object_add(o, "uuid", cli_json_str(c->uuid));
	json_object_object_add(o, "state", cli_json_str(c->state));
	json_object_object_add(o, "machine", cli_json_str(c->machine));
	json_object_object_add(o, "accel", cli_json_str(c->accel));
	json_object_object_add(o, "firmware", cli_json_str(c->firmware));
	json_object_object_add(cpu, "sockets", json_object_new_int(c->sockets));
	json_object_object_add(cpu, "cores", json_object_new_int(c->cores));
	json_object_object_add(cpu, "threads", json_object_new_int(c->threads));
	json_object_object_add(o, "cpus", json_object_new_int(vm_config_cpus(c)));
	json_object_object_add(o, "topology", cpu);
	json_object_object_add(o, "memory_mib", json_object_new_int64(c->memory_mib));
	json_object_object_add(o, "kernel", cli_json_str(c->kernel));
	json_object_object_add(o, "initrd", cli_json_str(c->initrd));
	json_object_object_add(o, "cmdline", cli_json_str(c->cmdline));
	json_object_object_add(o, "graphics", cli_json_str(c->graphics));
	json_object_object_add(o, "boot_order", cli_json_str(c->boot_order));
	json_object_object_add(o, "template", cli_json_str(c->template_name));
	json_object_object_add(o, "notes", cli_json_str(c->notes));
	json_object_object_add(o, "pending_restart", cli_json_str(c->pending));
	/* The restart policy: an on-crash policy is the supervisor's, for
	 * built-in VMs only. */
	json_object_object_add(o, "on_crash", builtin ? cli_json_str(c->on_crash != NULL ?
	    c->on_crash : VM_DEFAULT_ON_CRASH) : NULL);
	json_object_object_add(o, "autostart", json_object_new_boolean(c->autostart));
	for (size_t i = 0; i < c->ndisks; i++) {
		const struct vm_disk *d = &c->disks[i];
		json_object *dj = json_object_new_object();

		json_object_object_add(dj, "path", cli_json_str(d->path));
		json_object_object_add(dj, "format", cli_json_str(d->format));
		json_object_object_add(dj, "bus", cli_json_str(d->bus));
		json_object_object_add(dj, "cache", cli_json_str(d->cache));
		json_object_object_add(dj, "readonly", json_object_new_boolean(d->readonly));
		json_object_object_add(dj, "media", cli_json_str(d->cdrom ? "cdrom" : "disk"));
		json_object_object_add(dj, "owned", json_object_new_boolean(d->owned));
		json_object_array_add(disks, dj);
	}
	json_object_object_add(o, "disks", disks);
	for (size_t i = 0; i < c->nnics; i++) {
		const struct vm_nic *n = &c->nics[i];
		json_object *nj = json_object_new_object();

		json_object_object_add(nj, "kind", cli_json_str(n->kind));
		json_object_object_add(nj, "model", cli_json_str(n->model));
		json_object_object_add(nj, "mac", cli_json_str(n->mac));
		json_object_object_add(nj, "source", cli_json_str(n->source));
		json_object_object_add(nj, "forwards", cli_json_str(n->forwards));
		json_object_array_add(nics, nj);
	}
	json_object_object_add(o, "nics", nics);
	json_object_object_add(tun, "vcpu_pins", cli_json_str(c->tuning.vcpu_pins));
	json_object_object_add(tun, "emulator_pin", cli_json_str(c->tuning.emulator_pin));
	json_object_object_add(tun, "hugepage_kib", c->tuning.hugepage_kib > 0 ?
	    json_object_new_int64(c->tuning.hugepage_kib) : NULL);
	json_object_object_add(tun, "balloon_mib", c->tuning.balloon_mib > 0 ?
	    json_object_new_int64(c->tuning.balloon_mib) : NULL);
	json_object_object_add(o, "tuning", tun);
	cli_format_time_iso(c->created, t, sizeof t);
	json_object_object_add(o, "created", json_object_new_string(t));
	cli_format_time_iso(c->updated, t, sizeof t);
	json_object_object_add(o, "updated", json_object_new_string(t));
	return o;
}

/* A field of `vmtty show`: the value escaped, on one line. */
static void
field(const char *label, const char *val, const char *after)
{
	if (val == NULL)
		return;
	printf("%-10s ", label);
	cli_print_cell(val, 0);
	printf("%s\n", after);
}

#define FIELD(label, val) field(label ":", (val), "")

static void
show_text(const struct vm_config *c, bool builtin)
{
	FIELD("Name", c->name);
	FIELD("Host", c->host);
	FIELD("UUID", c->uuid);
	FIELD("State", c->state);
	printf("%-10s %d (%d socket(s) x %d core(s) x %d thread(s))\n", "vCPUs:",
	    vm_config_cpus(c), c->sockets, c->cores, c->threads);
	printf("%-10s %lld MiB\n", "Memory:", (long long)c->memory_mib);
	FIELD("Machine", c->machine);
	FIELD("Accel", c->accel);
	FIELD("Firmware", c->firmware);
	FIELD("Kernel", c->kernel);
	FIELD("Initrd", c->initrd);
	FIELD("Cmdline", c->cmdline);
	FIELD("Graphics", c->graphics);
	FIELD("Boot", c->boot_order);
	FIELD("Template", c->template_name);
	for (size_t i = 0; i < c->ndisks; i++) {
		char *after = xasprintf(" (%s, %s%s%s%s)", c->disks[i].format, c->disks[i].bus,
		    c->disks[i].cdrom ? ", cdrom" : "", c->disks[i].readonly ? ", read-only" : "",
		    c->disks[i].owned ? ", made by vmtty" : "");

		field(i == 0 ? "Disks:" : "", c->disks[i].path, after);
		free(after);
	}
	for (size_t i = 0; i < c->nnics; i++) {
		char *nic = xasprintf("%s %s%s%s", c->nics[i].kind, c->nics[i].model,
		    c->nics[i].mac != NULL ? " " : "", c->nics[i].mac != NULL ? c->nics[i].mac : "");

		field(i == 0 ? "NICs:" : "", nic, "");
		free(nic);
	}
	FIELD("Pins", c->tuning.vcpu_pins);
	FIELD("Emulator", c->tuning.emulator_pin);
	if (c->tuning.hugepage_kib > 0) {
		char ps[16];

		tuning_format_pagesize(c->tuning.hugepage_kib, ps, sizeof ps);
		FIELD("Hugepages", ps);
	}
	if (c->tuning.balloon_mib > 0)
		printf("%-10s %lld MiB\n", "Balloon:", (long long)c->tuning.balloon_mib);
	FIELD("Notes", c->notes);
	field("Pending:", c->pending, " (takes effect at the next start)");
	if (builtin) {
		bool restart = c->on_crash != NULL && strcmp(c->on_crash, "restart") == 0;

		printf("%-10s %s\n", "On crash:", restart ? "restart (while 'vmtty serve "
		    "--supervise' runs)" : "leave (it stays crashed)");
		printf("%-10s %s\n", "Autostart:", c->autostart ? "on (when 'vmtty serve "
		    "--supervise' begins)" : "off");
	} else {
		printf("%-10s %s\n", "Autostart:", c->autostart ? "on (when its host boots)" :
		    "off");
	}
}

int
cmd_show(struct cli_ctx *ctx, int argc, char **argv)
{
	bool json = false, argv_only = false, xml = false, builtin;
	const struct cli_opt opts[] = {
		{ "json", NULL, &json, NULL },
		{ "argv", NULL, &argv_only, NULL },
		{ "xml", NULL, &xml, NULL },
		{ 0 },
	};
	struct cli_vm v;
	struct hv_status st;
	struct strv a;
	char **ops, *line;
	int n, rc;

	rc = cli_parse("show", argc, argv, opts, &ops, &n);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	if (n != 1) {
		free(ops);
		return cli_usage("show", "show takes one VM");
	}
	if (json + argv_only + xml > 1) {
		free(ops);
		return cli_usage("show", "choose one of --json, --argv and --xml");
	}
	rc = cli_vm_load(ctx, ops[0], &v, argv_only || xml);
	free(ops);
	if (rc != 0)
		return ctx->db == NULL ? CLI_FAILED : cli_fail_err();
	if (xml) {
		char *text, *safe;

		if (hv_describe(v.hv, &v.c, &text) != 0) {
			cli_vm_free(&v);
			return cli_fail_err();
		}
		/* The XML is a host's: its lines and indentation pass, any
		 * other control (an escape sequence in a <description>) is
		 * shown escaped. */
		safe = str_escape_text(text);
		free(text);
		fputs(safe, stdout);
		if (safe[0] != '\0' && safe[strlen(safe) - 1] != '\n')
			putchar('\n');
		free(safe);
		cli_vm_free(&v);
		return CLI_OK;
	}
	if (argv_only) {
		if (hv_argv(v.hv, &v.c, &a) != 0) {
			cli_vm_free(&v);
			return cli_fail_err();
		}
		line = strv_join_shell(&a);
		puts(line);
		free(line);
		strv_free(&a);
		cli_vm_free(&v);
		return CLI_OK;
	}
	/* The live state, when the backend can tell at once. */
	if (v.hv != NULL && hv_status(v.hv, &v.c, &st) == 0) {
		free(v.c.state);
		v.c.state = xstrdup(hv_state_name(st.state));
		journal_found(ctx->db, v.hv, v.c.uuid, v.c.host, v.c.name, &st);
		/* Stopped, what waited for a restart is its configuration. */
		if (vm_state_stopped(v.c.state)) {
			free(v.c.pending);
			v.c.pending = NULL;
		}
	} else {
		/* A built-in host answers at once or not at all: its last-seen
		 * state would be a guess presented as fact. */
		if (v.hv != NULL) {
			cli_warn("VM '%s': its state cannot be read: %s", v.c.name, err_get());
			free(v.c.state);
			v.c.state = xstrdup(hv_state_name(HV_UNKNOWN));
		}
		st.state = HV_UNKNOWN;
		st.detail[0] = '\0';
		st.accel[0] = '\0';
	}
	builtin = v.hv != NULL && v.hv->host.kind == HOST_BUILTIN;
	if (json) {
		json_object *o = show_json(&v.c, builtin);

		if (st.accel[0] != '\0')
			json_object_object_add(o, "accel_active", json_object_new_string(st.accel));
		if (st.state == HV_CRASHED)
			json_object_object_add(o, "crash_log", cli_json_str(st.detail));
		cli_json_print(o);
	} else {
		show_text(&v.c, builtin);
		if (st.accel[0] != '\0')
			printf("%-10s %s%s\n", "Running:", st.accel, strcmp(st.accel, "tcg") == 0 ?
			    " (software emulation: KVM is not in use)" : "");
		if (st.state == HV_CRASHED)
			printf("%-10s %s\n", "Crash log:", st.detail);
	}
	cli_vm_free(&v);
	return CLI_OK;
}
