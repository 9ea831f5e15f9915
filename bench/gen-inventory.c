/* gen-inventory DB NVMS NHOSTS: fill an inventory with NVMS VMs spread
 * over NHOSTS hosts (local plus test-driver hosts), through the model API
 * so the rows are exactly what vmtty itself writes.  The hosts after local
 * are test:///default, which holds one domain: the first refresh from
 * libvirt (vmtty list, the TUI once connected) replaces their rows with
 * it.  Where every VM must stay listed, use NHOSTS 1 (all on local), or
 * add libvirt hosts whose test-driver files hold the domains
 * (bench/gen-testdriver). */
#include <stdio.h>
#include <stdlib.h>

#include "model/db.h"
#include "model/host.h"
#include "model/vm.h"
#include "util/err.h"
#include "util/xalloc.h"

int
main(int argc, char **argv)
{
	static const char *const states[] = { "running", "off", "paused", "off", "running" };
	struct db *db;
	long nvms, nhosts;

	if (argc != 4 || (nvms = atol(argv[2])) < 0 || (nhosts = atol(argv[3])) < 1) {
		fprintf(stderr, "usage: gen-inventory DB NVMS NHOSTS\n");
		return 2;
	}
	if ((db = db_open(argv[1])) == NULL) {
		fprintf(stderr, "gen-inventory: %s\n", err_get());
		return 1;
	}
	int64_t *ids = xcalloc((size_t)nhosts, sizeof *ids);
	for (long h = 0; h < nhosts; h++) {
		struct host host;
		char *name = h == 0 ? xstrdup("local") : xasprintf("lab%ld", h);

		if (h > 0 && host_add(db, name, "test:///default") != 0)
			goto fail;
		if (host_get(db, name, &host) != 0)
			goto fail;
		ids[h] = host.id;
		host_clear(&host);
		free(name);
	}
	for (long i = 0; i < nvms; i++) {
		struct vm_config c;

		vm_config_init(&c);
		c.host_id = ids[i % nhosts];
		c.name = xasprintf("vm-%05ld", i);
		free(c.state);
		c.state = xstrdup(states[(i / nhosts) % 5]);
		c.memory_mib = 256 << (i % 4);
		c.cores = 1 + (int)(i % 4);
		vm_config_add_disk(&c, "/var/lib/vmtty/images/disk.qcow2");
		vm_config_add_nic(&c, "user");
		if (vm_insert(db, &c) != 0) {
			vm_config_clear(&c);
			goto fail;
		}
		vm_config_clear(&c);
	}
	free(ids);
	db_close(db);
	return 0;
fail:
	fprintf(stderr, "gen-inventory: %s\n", err_get());
	db_close(db);
	return 1;
}
