#include "ui/ui_priv.h"

#include <stdlib.h>
#include <string.h>

static attr_t attrs[TH_COUNT];

/* Pairs are numbered by role + 1. */
static void
pair(enum theme_role r, short fg, short bg, attr_t extra)
{
	init_pair((short)(r + 1), fg, bg);
	attrs[r] = COLOR_PAIR(r + 1) | extra;
}

void
theme_init(void)
{
	const char *nc = getenv("NO_COLOR");

	/* Monochrome defaults, used as they are without colour. */
	attrs[TH_NORMAL] = A_NORMAL;
	attrs[TH_HEADER] = A_BOLD | A_UNDERLINE;
	attrs[TH_SELECTED] = A_REVERSE;
	attrs[TH_HOST] = A_BOLD;
	attrs[TH_RUNNING] = A_BOLD;
	attrs[TH_PAUSED] = A_NORMAL;
	attrs[TH_OFF] = A_DIM;
	attrs[TH_CRASHED] = A_BOLD | A_UNDERLINE;
	attrs[TH_STATUS] = A_NORMAL;
	attrs[TH_ERROR] = A_BOLD;
	attrs[TH_HINT_KEY] = A_BOLD;
	attrs[TH_HINT] = A_REVERSE;
	attrs[TH_DIM] = A_DIM;
	attrs[TH_BORDER] = A_NORMAL;

	if ((nc != NULL && nc[0] != '\0') || !has_colors())
		return;
	start_color();
	use_default_colors();
	if (COLORS >= 256) {
		pair(TH_HEADER, 252, 236, A_BOLD);
		pair(TH_SELECTED, 255, 24, A_BOLD);
		pair(TH_HOST, 117, -1, A_BOLD);
		pair(TH_RUNNING, 114, -1, A_NORMAL);
		pair(TH_PAUSED, 221, -1, A_NORMAL);
		pair(TH_OFF, 245, -1, A_NORMAL);
		pair(TH_CRASHED, 203, -1, A_BOLD);
		pair(TH_ERROR, 203, -1, A_BOLD);
		pair(TH_HINT_KEY, 255, 238, A_BOLD);
		pair(TH_HINT, 250, 236, A_NORMAL);
		pair(TH_DIM, 243, -1, A_NORMAL);
		pair(TH_BORDER, 240, -1, A_NORMAL);
	} else {
		pair(TH_HEADER, COLOR_BLACK, COLOR_CYAN, A_NORMAL);
		pair(TH_SELECTED, COLOR_BLACK, COLOR_CYAN, A_NORMAL);
		pair(TH_HOST, COLOR_CYAN, -1, A_BOLD);
		pair(TH_RUNNING, COLOR_GREEN, -1, A_BOLD);
		pair(TH_PAUSED, COLOR_YELLOW, -1, A_NORMAL);
		pair(TH_OFF, COLOR_WHITE, -1, A_DIM);
		pair(TH_CRASHED, COLOR_RED, -1, A_BOLD);
		pair(TH_ERROR, COLOR_RED, -1, A_BOLD);
		pair(TH_HINT_KEY, COLOR_BLACK, COLOR_CYAN, A_NORMAL);
		pair(TH_HINT, COLOR_WHITE, COLOR_BLUE, A_NORMAL);
		pair(TH_DIM, COLOR_WHITE, -1, A_DIM);
		pair(TH_BORDER, COLOR_BLUE, -1, A_NORMAL);
	}
}

attr_t
theme_attr(enum theme_role role)
{
	return attrs[role];
}

enum theme_role
theme_state_role(const char *state)
{
	if (state == NULL)
		return TH_OFF;
	if (strcmp(state, "running") == 0)
		return TH_RUNNING;
	if (strcmp(state, "paused") == 0 || strcmp(state, "suspended") == 0 ||
	    strcmp(state, "starting") == 0)
		return TH_PAUSED;
	if (strcmp(state, "crashed") == 0 || strcmp(state, "unreachable") == 0)
		return TH_CRASHED;
	return TH_OFF;
}
