#include "ui/ui_priv.h"

static void
listw_clamp(struct listw *l)
{
	if (l->sel >= l->nrows)
		l->sel = l->nrows - 1;
	if (l->sel < 0)
		l->sel = 0;
	if (l->height < 1)
		l->height = 1;
	if (l->sel < l->top)
		l->top = l->sel;
	if (l->sel >= l->top + l->height)
		l->top = l->sel - l->height + 1;
	/* No empty space below the last row while rows are hidden above. */
	if (l->top > 0 && l->top + l->height > l->nrows)
		l->top = l->nrows - l->height;
	if (l->top < 0)
		l->top = 0;
}

void
listw_set_rows(struct listw *l, int nrows)
{
	l->nrows = nrows;
	listw_clamp(l);
}

void
listw_set_height(struct listw *l, int height)
{
	l->height = height;
	listw_clamp(l);
}

void
listw_select(struct listw *l, int row)
{
	l->sel = row;
	listw_clamp(l);
}

int
listw_key(struct listw *l, int key)
{
	int old = l->sel;

	switch (key) {
	case K_FN(KEY_UP):
	case 'k':
		l->sel--;
		break;
	case K_FN(KEY_DOWN):
	case 'j':
		l->sel++;
		break;
	case K_FN(KEY_PPAGE):
	case K_CTRL('b'):
		l->sel -= l->height > 1 ? l->height - 1 : 1;
		break;
	case K_FN(KEY_NPAGE):
	case K_CTRL('f'):
		l->sel += l->height > 1 ? l->height - 1 : 1;
		break;
	case K_FN(KEY_HOME):
	case 'g':
		l->sel = 0;
		break;
	case K_FN(KEY_END):
	case 'G':
		l->sel = l->nrows - 1;
		break;
	default:
		return UI_IGNORED;
	}
	listw_clamp(l);
	return l->sel != old ? UI_HANDLED | UI_REDRAW : UI_HANDLED;
}
