/* vnc: the calls into the vmtty-vnc.so plugin, which holds libvncclient,
 * libchafa and libpng, so that vmtty without a VNC console open loads
 * none of them. */
#include "console/vnc_priv.h"

#include <unistd.h>

#include "util/plugin.h"

/* Linked in directly by test programs and benchmarks; otherwise NULL, and
 * the table comes from the plugin. */
extern const struct vnc_plugin vnc_plugin_ops __attribute__((weak));

/* Every struct vnc came from the plugin, which is then loaded for good. */
static const struct vnc_plugin *loaded;

struct vnc *
vnc_new(int fd, const char *name)
{
	if (loaded == NULL)
		loaded = &vnc_plugin_ops != NULL ? &vnc_plugin_ops :
		    plugin_symbol("vnc", "vnc_plugin_ops");
	if (loaded == NULL) {
		close(fd);
		return NULL;
	}
	return loaded->new_session(fd, name);
}

void
vnc_free(struct vnc *v)
{
	if (v != NULL)
		loaded->free_session(v);
}

int
vnc_fd(struct vnc *v)
{
	return loaded->fd(v);
}

void
vnc_poll(struct vnc *v, struct vnc_info *info)
{
	loaded->poll(v, info);
}

void
vnc_password(struct vnc *v, const char *password)
{
	loaded->password(v, password);
}

void
vnc_set_render(struct vnc *v, const struct vnc_render *r)
{
	loaded->set_render(v, r);
}

bool
vnc_cells(struct vnc *v, struct cellbuf *b)
{
	return loaded->cells(v, b);
}

bool
vnc_image(struct vnc *v, struct vnc_image *img)
{
	return loaded->image(v, img);
}

bool
vnc_cell_pixel(struct vnc *v, int row, int col, int *x, int *y)
{
	return loaded->cell_pixel(v, row, col, x, y);
}

void
vnc_key(struct vnc *v, uint32_t keysym, bool down)
{
	loaded->key(v, keysym, down);
}

void
vnc_pointer(struct vnc *v, int x, int y, int buttons)
{
	loaded->pointer(v, x, y, buttons);
}

void
vnc_screenshot(struct vnc *v, const char *path)
{
	loaded->screenshot(v, path);
}
