/* The serial console pane: stub until the console view lands. */
#include "ui/ui_priv.h"

#include "model/vm.h"
#include "util/err.h"

int
console_view_open(struct ui *ui, const struct vm_config *c, bool force)
{
	(void)ui;
	(void)force;
	return err_set("VM '%s': the console pane is not available in this build yet", c->name);
}

int
console_passthru(struct ui *ui, const struct vm_config *c, bool force)
{
	(void)ui;
	(void)force;
	return err_set("VM '%s': the full-screen console is not available in this build yet",
	    c->name);
}
