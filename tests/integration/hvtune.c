/*
 * hvtune: the backend's tuning calls on an inventory's VMs and hosts, for
 * the integration tests, until `vmtty tune` and `vmtty host info` drive
 * them.  The inventory is $VMTTY_DB (as for vmtty); output is JSON.
 *   hvtune host-info HOST        hv_host_info
 *   hvtune tune VM pins|balloon|all   hv_tune with the VM's stored tuning
 *   hvtune state VM              hv_tune_state
 * Exit 0, or 1 with "hvtune: MESSAGE" on stderr.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv/hv.h"
#include "model/db.h"
#include "model/host.h"
#include "model/vm.h"
#include "util/cpuset.h"
#include "util/err.h"
#include "util/paths.h"

static json_object *
set_json(const struct cpuset *set)
{
	char buf[CPUSET_MAX * 5];

	cpuset_format(set, buf, sizeof buf);
	return json_object_new_string(buf);
}

static json_object *
host_json(const struct hv_host_info *hi)
{
	json_object *o = json_object_new_object(), *cpus = json_object_new_array();
	json_object *pools = json_object_new_array();

	json_object_object_add(o, "arch", json_object_new_string(hi->arch));
	json_object_object_add(o, "model", json_object_new_string(hi->model));
	json_object_object_add(o, "mhz", json_object_new_int(hi->mhz));
	json_object_object_add(o, "cpus", json_object_new_int(hi->ncpus));
	json_object_object_add(o, "sockets", json_object_new_int(hi->sockets));
	json_object_object_add(o, "cores", json_object_new_int(hi->cores));
	json_object_object_add(o, "threads", json_object_new_int(hi->threads));
	json_object_object_add(o, "nodes", json_object_new_int(hi->nodes));
	json_object_object_add(o, "memory_kib", json_object_new_int64(hi->mem_total_kib));
	json_object_object_add(o, "memory_free_kib", json_object_new_int64(hi->mem_free_kib));
	for (size_t i = 0; i < hi->ncpu; i++) {
		json_object *c = json_object_new_object();

		json_object_object_add(c, "cpu", json_object_new_int(hi->cpu[i].cpu));
		json_object_object_add(c, "core", json_object_new_int(hi->cpu[i].core));
		json_object_object_add(c, "socket", json_object_new_int(hi->cpu[i].socket));
		json_object_object_add(c, "node", json_object_new_int(hi->cpu[i].node));
		json_object_array_add(cpus, c);
	}
	json_object_object_add(o, "cpu", cpus);
	for (size_t i = 0; i < hi->npools; i++) {
		json_object *p = json_object_new_object();

		json_object_object_add(p, "size_kib", json_object_new_int64(hi->pools[i].size_kib));
		json_object_object_add(p, "total", json_object_new_int64(hi->pools[i].total));
		json_object_object_add(p, "free", json_object_new_int64(hi->pools[i].free));
		json_object_object_add(p, "reserved", json_object_new_int64(hi->pools[i].reserved));
		json_object_array_add(pools, p);
	}
	json_object_object_add(o, "hugepages", pools);
	json_object_object_add(o, "ksm_known", json_object_new_boolean(hi->ksm_known));
	return o;
}

static json_object *
state_json(const struct hv_tune_state *ts)
{
	json_object *o = json_object_new_object(), *vcpus = json_object_new_array();

	for (size_t i = 0; i < ts->nvcpu; i++) {
		json_object *v = json_object_new_object();

		json_object_object_add(v, "tid", json_object_new_int(ts->vcpu[i].tid));
		json_object_object_add(v, "cpu", json_object_new_int(ts->vcpu[i].cpu));
		json_object_object_add(v, "affinity", set_json(&ts->vcpu[i].affinity));
		json_object_array_add(vcpus, v);
	}
	json_object_object_add(o, "vcpus", vcpus);
	json_object_object_add(o, "emulator", ts->emulator_known ? set_json(&ts->emulator) :
	    NULL);
	json_object_object_add(o, "balloon_kib", json_object_new_int64(ts->balloon_kib));
	json_object_object_add(o, "max_kib", json_object_new_int64(ts->max_kib));
	json_object_object_add(o, "guest_total_kib", json_object_new_int64(ts->guest_total_kib));
	json_object_object_add(o, "guest_free_kib", json_object_new_int64(ts->guest_free_kib));
	json_object_object_add(o, "guest_available_kib",
	    json_object_new_int64(ts->guest_available_kib));
	return o;
}

static void
print_json(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* Host NAME's backend, or the backend of VM SPEC's host with its config in *C. */
static struct hv *
open_for(struct db *db, const char *host, const char *spec, struct vm_config *c)
{
	struct host h;
	struct hv *hv;
	int64_t id;

	if (spec != NULL) {
		if (vm_resolve(db, spec, &id) != 0 || vm_load(db, id, c) != 0)
			return NULL;
		host = c->host;
	}
	if (host_get(db, host, &h) != 0)
		return NULL;
	hv = hv_open(&h);
	host_clear(&h);
	return hv;
}

int
main(int argc, char **argv)
{
	struct hv_host_info hi;
	struct hv_tune_state ts;
	struct vm_config c;
	struct hv *hv = NULL;
	struct db *db;
	char *path;
	unsigned what = 0;
	int rc = -1;

	if (argc < 3 || (strcmp(argv[1], "tune") == 0 && argc != 4) ||
	    (strcmp(argv[1], "tune") != 0 && argc != 3)) {
		fprintf(stderr, "usage: hvtune host-info HOST | tune VM pins|balloon|all | "
		    "state VM\n");
		return 2;
	}
	memset(&c, 0, sizeof c);
	path = paths_inventory(NULL);
	db = db_open(path);
	free(path);
	if (db == NULL)
		goto out;
	if (strcmp(argv[1], "host-info") == 0) {
		if ((hv = open_for(db, argv[2], NULL, NULL)) != NULL &&
		    (rc = hv_host_info(hv, &hi)) == 0) {
			print_json(host_json(&hi));
			hv_host_info_clear(&hi);
		}
	} else if (strcmp(argv[1], "state") == 0) {
		if ((hv = open_for(db, NULL, argv[2], &c)) != NULL &&
		    (rc = hv_tune_state(hv, &c, &ts)) == 0) {
			print_json(state_json(&ts));
			hv_tune_state_clear(&ts);
		}
	} else if (strcmp(argv[1], "tune") == 0) {
		if (strcmp(argv[3], "pins") == 0 || strcmp(argv[3], "all") == 0)
			what |= HV_TUNE_PINS;
		if (strcmp(argv[3], "balloon") == 0 || strcmp(argv[3], "all") == 0)
			what |= HV_TUNE_BALLOON;
		if (what == 0) {
			err_set("tune: '%s' is none of pins, balloon, all", argv[3]);
		} else if ((hv = open_for(db, NULL, argv[2], &c)) != NULL) {
			rc = hv_tune(hv, &c, what);
		}
	} else {
		err_set("unknown command '%s'", argv[1]);
	}
out:
	if (rc != 0)
		fprintf(stderr, "hvtune: %s\n", err_get());
	if (hv != NULL)
		hv_close(hv);
	vm_config_clear(&c);
	if (db != NULL)
		db_close(db);
	return rc == 0 ? 0 : 1;
}
