#include "ui/formw.h"
#include "ui/ui_priv.h"

#include <stdio.h>
#include <string.h>

#include "model/vm.h"

bool
formw_moves(int key)
{
	return key == '\t' || key == K_FN(KEY_DOWN) || key == K_FN(KEY_UP);
}

int
formw_key(const struct formw_field *f, int n, int *focus, int key)
{
	const struct formw_field *cur;
	size_t len;

	if (n == 0)
		return UI_IGNORED;
	if (*focus >= n)
		*focus = n - 1;
	cur = &f[*focus];
	if (key == '\t' || key == K_FN(KEY_DOWN)) {
		*focus = (*focus + 1) % n;
	} else if (key == K_FN(KEY_UP)) {
		*focus = (*focus + n - 1) % n;
	} else if (cur->choices != NULL) {
		int count = 0;

		while (cur->choices[count] != NULL)
			count++;
		if (key == K_FN(KEY_LEFT))
			*cur->choice = (*cur->choice + count - 1) % count;
		else if (key == K_FN(KEY_RIGHT) || key == ' ')
			*cur->choice = (*cur->choice + 1) % count;
		else
			return UI_IGNORED;
	} else if (key == K_CTRL('u')) {
		cur->text[0] = '\0';
	} else if (key == K_FN(KEY_BACKSPACE) || key == 0x7f || key == K_CTRL('h')) {
		len = strlen(cur->text);
		if (len > 0)
			cur->text[len - 1] = '\0';
	} else if (key >= 0x20 && key < 0x7f) {
		len = strlen(cur->text);
		if (len + 1 < cur->len) {
			cur->text[len] = (char)key;
			cur->text[len + 1] = '\0';
		}
	} else {
		return UI_IGNORED;
	}
	return UI_HANDLED | UI_REDRAW;
}

void
formw_draw(const struct formw_field *f, int n, int focus, int y, int step, int x, int width,
    int labelw)
{
	char line[700];

	for (int i = 0; i < n; i++) {
		const char *val = f[i].choices != NULL ? f[i].choices[*f[i].choice] : f[i].text;

		snprintf(line, sizeof line, "%-*s %s%s", labelw, f[i].label, val,
		    i == focus && f[i].choices == NULL ? "_" : "");
		attrset(i == focus ? theme_attr(TH_SELECTED) : A_NORMAL);
		ui_put(y + step * i, x, width, line);
	}
	attrset(A_NORMAL);
}

const char *
formw_hint(const struct formw_field *f, int n, int focus)
{
	if (focus < 0 || focus >= n || f[focus].choices == NULL)
		return NULL;
	return vm_choice_hint(f[focus].choices[*f[focus].choice]);
}
