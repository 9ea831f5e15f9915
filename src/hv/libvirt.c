/* The libvirt backend: placeholder until it lands (issue 4). */
#include "hv/hv.h"

const struct hv_ops hv_libvirt_ops = {
	.name = "libvirt",
};
