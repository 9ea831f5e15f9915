/* tuning: a VM's resource tuning as the inventory keeps it (struct
 * vm_tuning in vm.h): vCPU and emulator pins, hugepages, the balloon
 * target.  The rules that need no host; what the host has (its CPUs, its
 * page sizes) is checked by ops/tune. */
#ifndef VMTTY_TUNING_H
#define VMTTY_TUNING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/cpuset.h"

struct vm_config;

/* The balloon never goes below this: max(64 MiB, MEMORY_MIB / 8), never
 * above MEMORY_MIB itself.  A running VM's floor is that of the memory it
 * started with (ops/tune), its configuration's that of its next start. */
int64_t tuning_floor_mib(int64_t memory_mib);
/* The floor of C's memory. */
int64_t tuning_balloon_floor_mib(const struct vm_config *c);

/* The host CPUs vCPU VCPU of C is pinned to into *SET: 1, or 0 when it is
 * not pinned (an "all" pin counts, a vCPU's own pin wins over it). */
int tuning_vcpu_pin(const struct vm_config *c, int vcpu, struct cpuset *set);
/* The host CPUs of the emulator threads: 1, or 0 when not pinned. */
int tuning_emulator_pin(const struct vm_config *c, struct cpuset *set);

/*
 * One pin as the user gives it, "VCPU:CPUSET" ("1:0-3,6"), "all:CPUSET"
 * (every vCPU; a vCPU's own pin replaces it for that vCPU) or "VCPU:off"
 * ("all:off" takes every pin away), merged into C's pins in their
 * canonical form.  0, or -1 + err naming the pin and what to give.
 */
int tuning_set_pin(struct vm_config *c, const char *spec);
/* SPECS (N pins as the user gives them, for one change) pin no vCPU twice,
 * nor "all" twice: 0, or -1 + err naming the vCPU and both pins.  A pin
 * that does not read is left to tuning_set_pin. */
int tuning_pins_distinct(const char *const *specs, size_t n);
/* CPUSET, or "off", as C's emulator pin.  0, or -1 + err. */
int tuning_set_emulator_pin(struct vm_config *c, const char *spec);
/* "2M", "1G" (any size with its unit: the host decides what it offers) or
 * "off" into *KIB (0: off).  A bare number is refused: it could be read
 * as MiB or as KiB ('vmtty host info' counts in KiB).  0, or -1 + err. */
int tuning_parse_hugepages(const char *s, int64_t *kib);
/* A balloon target for C: a size (MiB, or 512M, 2G) from the floor to C's
 * memory.  0, or -1 + err naming both ends. */
int tuning_parse_balloon(const struct vm_config *c, const char *s, int64_t *mib);
/* "2M", "1G", "64K": a page size for people. */
void tuning_format_pagesize(int64_t kib, char *buf, size_t len);

/* Every rule above on C's stored tuning.  0, or -1 + err. */
int tuning_validate(const struct vm_config *c);

#endif
