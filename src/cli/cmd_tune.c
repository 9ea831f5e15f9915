/* vmtty tune VM ...: vCPU and emulator pins, hugepages, the balloon and the
 * maximum memory; without a change, what the VM's tuning is and what the
 * host sees of it now. */
#include "cli/cli.h"
#include "cli/cli_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv/hv.h"
#include "model/journal.h"
#include "model/tuning.h"
#include "model/vm.h"
#include "ops/tune.h"
#include "ops/vmedit.h"
#include "util/cpuset.h"
#include "util/err.h"
#include "util/strv.h"

static json_object *
json_kib(int64_t kib)
{
	return kib >= 0 ? json_object_new_int64(kib) : NULL;
}

static json_object *
json_cpuset(const struct cpuset *set)
{
	char buf[4096];

	cpuset_format(set, buf, sizeof buf);
	return json_object_new_string(buf);
}

static void
print_json(const struct vm_config *c, const struct hv_tune_state *ts, bool live)
{
	json_object *o = json_object_new_object(), *vcpus = json_object_new_array();
	json_object *guest = NULL;
	struct cpuset set;
	char ps[16];

	json_object_object_add(o, "vm", cli_json_str(c->name));
	json_object_object_add(o, "host", cli_json_str(c->host));
	json_object_object_add(o, "running", json_object_new_boolean(live));
	for (int v = 0; v < vm_config_cpus(c); v++) {
		json_object *j = json_object_new_object();
		const struct hv_vcpu *h = live && (size_t)v < ts->nvcpu ? &ts->vcpu[v] : NULL;

		json_object_object_add(j, "vcpu", json_object_new_int(v));
		json_object_object_add(j, "pin", tune_pin(c, ts, v, &set) == 1 ?
		    json_cpuset(&set) : NULL);
		json_object_object_add(j, "affinity", h != NULL ? json_cpuset(&h->affinity) : NULL);
		json_object_object_add(j, "cpu", h != NULL && h->cpu >= 0 ?
		    json_object_new_int(h->cpu) : NULL);
		json_object_object_add(j, "tid", h != NULL && h->tid > 0 ?
		    json_object_new_int(h->tid) : NULL);
		json_object_array_add(vcpus, j);
	}
	json_object_object_add(o, "vcpus", vcpus);
	json_object_object_add(o, "emulator_pin", tune_pin(c, ts, -1, &set) == 1 ?
	    json_cpuset(&set) : NULL);
	json_object_object_add(o, "emulator_affinity", live && ts->emulator_known ?
	    json_cpuset(&ts->emulator) : NULL);
	tuning_format_pagesize(c->tuning.hugepage_kib, ps, sizeof ps);
	json_object_object_add(o, "hugepages", c->tuning.hugepage_kib > 0 ?
	    json_object_new_string(ps) : NULL);
	json_object_object_add(o, "memory_mib", json_object_new_int64(c->memory_mib));
	json_object_object_add(o, "balloon_mib", json_object_new_int64(c->tuning.balloon_mib > 0 ?
	    c->tuning.balloon_mib : c->memory_mib));
	json_object_object_add(o, "balloon_floor_mib",
	    json_object_new_int64(tuning_balloon_floor_mib(c)));
	json_object_object_add(o, "actual_kib", live ? json_kib(ts->balloon_kib) : NULL);
	if (live) {
		guest = json_object_new_object();
		json_object_object_add(guest, "total_kib", json_kib(ts->guest_total_kib));
		json_object_object_add(guest, "free_kib", json_kib(ts->guest_free_kib));
		json_object_object_add(guest, "available_kib", json_kib(ts->guest_available_kib));
	}
	json_object_object_add(o, "guest", guest);
	json_object_object_add(o, "pending", cli_json_str(c->pending));
	cli_json_print(o);
}

static void
print_kib(const char *label, int64_t kib)
{
	if (kib >= 0)
		printf("%s %lld MiB", label, (long long)(kib / 1024));
	else
		printf("%s unknown", label);
}

static void
print_text(const struct vm_config *c, const struct hv_tune_state *ts, bool live)
{
	struct cpuset set;
	char buf[4096], ps[16];

	printf("VM ");
	cli_print_cell(c->name, 0);
	printf(" on ");
	cli_print_cell(c->host, 0);
	printf(": %s", live ? "running" : "not running");
	if (c->pending != NULL) {
		printf(" (pending restart: ");
		cli_print_cell(c->pending, 0);
		printf(")");
	}
	printf("\n%-5s %-12s %-12s %-8s %s\n", "VCPU", "PIN", "ALLOWED", "LAST", "THREAD");
	for (int v = 0; v < vm_config_cpus(c); v++) {
		const struct hv_vcpu *h = live && (size_t)v < ts->nvcpu ? &ts->vcpu[v] : NULL;

		if (tune_pin(c, ts, v, &set) == 1)
			cpuset_format(&set, buf, sizeof buf);
		else
			snprintf(buf, sizeof buf, "-");
		printf("%-5d %-12s ", v, buf);
		if (h != NULL)
			cpuset_format(&h->affinity, buf, sizeof buf);
		else
			snprintf(buf, sizeof buf, "-");
		printf("%-12s ", buf);
		if (h != NULL && h->cpu >= 0)
			printf("%-8d ", h->cpu);
		else
			printf("%-8s ", "-");
		if (h != NULL && h->tid > 0)
			printf("%d\n", h->tid);
		else
			printf("-\n");
	}
	if (tune_pin(c, ts, -1, &set) == 1)
		cpuset_format(&set, buf, sizeof buf);
	else
		snprintf(buf, sizeof buf, "-");
	printf("emulator pin: %s", buf);
	if (live && ts->emulator_known) {
		cpuset_format(&ts->emulator, buf, sizeof buf);
		printf(" (allowed %s)", buf);
	}
	tuning_format_pagesize(c->tuning.hugepage_kib, ps, sizeof ps);
	printf("\nhugepages: %s\n", c->tuning.hugepage_kib > 0 ? ps : "off");
	printf("memory: %lld MiB, balloon target %lld MiB (floor %lld MiB)", (long long)c->memory_mib,
	    (long long)(c->tuning.balloon_mib > 0 ? c->tuning.balloon_mib : c->memory_mib),
	    (long long)tuning_balloon_floor_mib(c));
	if (live)
		print_kib(", actual", ts->balloon_kib);
	putchar('\n');
	if (live) {
		print_kib("guest: total", ts->guest_total_kib);
		print_kib(", free", ts->guest_free_kib);
		print_kib(", available", ts->guest_available_kib);
		putchar('\n');
	}
}

/* Without a change: the tuning as configured and as the host sees it (the
 * pins of a VM that is off too: a libvirt domain may have its own). */
static int
show(struct cli_vm *v, bool json)
{
	struct hv_tune_state ts;
	struct hv_status st;
	bool known = hv_status(v->hv, &v->c, &st) == 0;
	bool live = known && !vm_state_stopped(hv_state_name(st.state));

	/* Stopped, what waited for a restart is its configuration. */
	if (known && !live) {
		free(v->c.pending);
		v->c.pending = NULL;
	}
	if (hv_tune_state(v->hv, &v->c, &ts) != 0) {
		if (live)
			return cli_fail_err();
		err_clear();	/* the built-in backend tells only while it runs */
	}
	if (json)
		print_json(&v->c, &ts, live);
	else
		print_text(&v->c, &ts, live);
	hv_tune_state_clear(&ts);
	return CLI_OK;
}

static int
change(struct cli_ctx *ctx, struct cli_vm *v, struct tune_req *r)
{
	struct hv_host_info hi;
	struct vm_config c;
	bool running = false, have_hi;
	char msg[1024];
	int rc;

	have_hi = hv_host_info(v->hv, &hi) == 0;
	err_clear();
	vm_config_copy(&c, &v->c);
	rc = tune_apply(r, &c, have_hi ? &hi : NULL);
	if (have_hi)
		hv_host_info_clear(&hi);
	if (rc == 0)
		rc = tune_run(v->hv, r, &v->c, &c, &running);
	if (rc == 0 && vm_update(ctx->db, &c) != 0) {
		tune_undo(v->hv, r, &v->c);
		rc = -1;
	}
	if (rc == 0 && running && r->pending[0] != '\0') {
		char *all = vmedit_pending(v->c.pending, r->pending);

		rc = vm_set_pending(ctx->db, c.id, all);
		free(all);
		if (rc == 0)
			cli_warn("note: VM '%s' is %s: %s take%s effect at its next start", c.name,
			    r->state, r->pending, strchr(r->pending, ',') != NULL ? "" : "s");
	}
	if (rc == 0) {
		snprintf(msg, sizeof msg, "%s%s", r->changes,
		    running && r->pending[0] != '\0' ? " (part pending restart)" : "");
		journal_add(ctx->db, v->c.host, v->c.name, "tune", true, msg);
	} else {
		snprintf(msg, sizeof msg, "%s", err_get());
		journal_add(ctx->db, v->c.host, v->c.name, "tune", false, msg);
		cli_fail("%s", msg);
	}
	vm_config_clear(&c);
	return rc == 0 ? CLI_OK : CLI_FAILED;
}

int
cmd_tune(struct cli_ctx *ctx, int argc, char **argv)
{
	struct tune_req r = { 0 };
	struct strv pins;
	bool json = false;
	const struct cli_opt opts[] = {
		{ "pin", NULL, NULL, &pins },
		{ "emulator-pin", &r.emulator_pin, NULL, NULL },
		{ "hugepages", &r.hugepages, NULL, NULL },
		{ "balloon", &r.balloon, NULL, NULL },
		{ "max-memory", &r.max_memory, NULL, NULL },
		{ "json", NULL, &json, NULL },
		{ 0 },
	};
	struct cli_vm v;
	char **ops;
	int n, rc;

	strv_init(&pins);
	rc = cli_parse("tune", argc, argv, opts, &ops, &n);
	if (rc != CLI_OK) {
		strv_free(&pins);
		return rc < 0 ? CLI_OK : rc;
	}
	if (n != 1) {
		free(ops);
		strv_free(&pins);
		return cli_usage("tune", "tune takes one VM");
	}
	r.pins = (const char *const *)pins.v;
	r.npins = pins.n;
	/* Two pins for one vCPU are a usage error, found before any host. */
	if (tuning_pins_distinct(r.pins, r.npins) != 0) {
		free(ops);
		strv_free(&pins);
		return cli_usage("tune", "%s", err_get());
	}
	rc = cli_vm_load(ctx, ops[0], &v, true);
	free(ops);
	if (rc != 0) {
		strv_free(&pins);
		return ctx->db == NULL ? CLI_FAILED : cli_fail_err();
	}
	if (r.npins == 0 && r.emulator_pin == NULL && r.hugepages == NULL && r.balloon == NULL &&
	    r.max_memory == NULL)
		rc = show(&v, json);
	else if (json)
		rc = cli_usage("tune", "--json goes with showing the tuning, not with changing it");
	else
		rc = change(ctx, &v, &r);
	cli_vm_free(&v);
	strv_free(&pins);
	return rc;
}
