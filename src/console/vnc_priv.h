/* vnc_priv: between vnc.c (in vmtty) and vnc_session.c (in the
 * vmtty-vnc.so plugin): the plugin's functions, found by one symbol. */
#ifndef VMTTY_VNC_PRIV_H
#define VMTTY_VNC_PRIV_H

#include "console/vnc.h"

struct vnc_plugin {
	struct vnc *(*new_session)(int fd, const char *name);
	void (*free_session)(struct vnc *v);
	int (*fd)(struct vnc *v);
	void (*poll)(struct vnc *v, struct vnc_info *info);
	void (*password)(struct vnc *v, const char *password);
	void (*set_render)(struct vnc *v, const struct vnc_render *r);
	bool (*cells)(struct vnc *v, struct cellbuf *b);
	bool (*image)(struct vnc *v, struct vnc_image *img);
	bool (*cell_pixel)(struct vnc *v, int row, int col, int *x, int *y);
	void (*key)(struct vnc *v, uint32_t keysym, bool down);
	void (*pointer)(struct vnc *v, int x, int y, int buttons);
	void (*screenshot)(struct vnc *v, const char *path);
};

/* The plugin's table (vnc_session.c). */
extern const struct vnc_plugin vnc_plugin_ops;

#endif
