/* formw: the form widget of the wizard and the edit form: labelled
 * fields, each a line of text or a choice among words, one in focus.
 * Stateless over an array the caller builds (fields may come and go).
 * Private to src/ui. */
#ifndef VMTTY_FORMW_H
#define VMTTY_FORMW_H

#include <stdbool.h>
#include <stddef.h>

struct formw_field {
	const char *label;
	char *text;			/* a text field: its buffer of LEN bytes */
	size_t len;
	const char *const *choices;	/* a choice field: NULL-terminated words */
	int *choice;			/* and the index chosen */
};

/* Does KEY move the focus (Tab, Down, Up)?  A form that checks a field
 * as it is left checks before passing such a key on. */
bool formw_moves(int key);
/* KEY for the N fields F with *FOCUS in focus: Tab/Down/Up move the
 * focus, text keys, Backspace and Ctrl-U edit a text, Left/Right/Space
 * change a choice.  UI_HANDLED | UI_REDRAW, or UI_IGNORED. */
int formw_key(const struct formw_field *f, int n, int *focus, int key);
/* The one-line trade-off of the choice in focus (vm_choice_hint: a
 * machine type, disk bus or NIC model), NULL when the field in focus is a
 * text or a choice without one. */
const char *formw_hint(const struct formw_field *f, int n, int focus);
/* One field per line from row Y, every STEP rows: the label in LABELW
 * columns, then the value (a cursor on the text in focus). */
void formw_draw(const struct formw_field *f, int n, int focus, int y, int step, int x,
    int width, int labelw);

#endif
