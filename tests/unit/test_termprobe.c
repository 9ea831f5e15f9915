/* termprobe: the terminal's replies to the graphics queries, and the mode
 * chosen from them.  Replies as real terminals send them: xterm 379 -ti
 * vt340, kitty 0.26, tmux 3.3a, foot. */
#include "unit.h"

#include "console/termprobe.h"

static void
parse(struct tp_caps *c, const char *s)
{
	tp_parse(c, s, strlen(s));
}

static enum tp_mode
choose(const struct tp_caps *c, bool tmux)
{
	char why[400];

	return tp_choose(c, NULL, NULL, tmux, why, sizeof why);
}

static void
test_da(void **state)
{
	struct tp_caps c;

	(void)state;
	/* xterm -ti vt340: 4 is there. */
	parse(&c, "\033[?63;1;2;4;6;9;15;22c");
	assert_int_equal(c.nda, 1);
	assert_true(c.da_sixel[0]);
	assert_int_equal(c.da_class[0], 63);
	assert_true(tp_complete(&c, 1));
	assert_int_equal(choose(&c, false), TP_SIXEL);
	/* xterm as a vt420 without graphics, tmux: no 4.  "14" is not 4. */
	parse(&c, "\033[?64;1;2;6;9;14;15;18;21;22c");
	assert_int_equal(c.nda, 1);
	assert_false(c.da_sixel[0]);
	assert_int_equal(choose(&c, false), TP_SYMBOLS);
	parse(&c, "\033[?1;2c");
	assert_false(c.da_sixel[0]);
	assert_int_equal(c.da_class[0], 1);
}

static void
test_xtsmgraphics(void **state)
{
	struct tp_caps c;

	(void)state;
	parse(&c, "\033[?1;0;256S\033[?2;0;1000;1000S\033[?63;4c");
	assert_int_equal(c.sixel_colours, 256);
	assert_int_equal(c.sixel_max_w, 1000);
	assert_int_equal(c.sixel_max_h, 1000);
	/* A failure status (3) carries no figures. */
	parse(&c, "\033[?2;3;0S\033[?63;4c");
	assert_int_equal(c.sixel_max_w, 0);
	assert_int_equal(c.nda, 1);
	/* The cell size: CSI 6 ; height ; width t. */
	parse(&c, "\033[6;13;6t\033[?63;4c");
	assert_int_equal(c.cell_w, 6);
	assert_int_equal(c.cell_h, 13);
	parse(&c, "\033[6;0;0t");
	assert_int_equal(c.cell_w, 0);
}

static void
test_kitty(void **state)
{
	struct tp_caps c;

	(void)state;
	parse(&c, "\033_Gi=31;OK\033\\\033[?62;c");
	assert_true(c.kitty);
	assert_false(c.kitty_error);
	assert_int_equal(c.nda, 1);
	assert_int_equal(choose(&c, false), TP_KITTY);
	/* A kitty that also has sixel (WezTerm): kitty first. */
	parse(&c, "\033_Gi=31;OK\033\\\033[?65;4;6;18;22c");
	assert_int_equal(choose(&c, false), TP_KITTY);
	/* An error answer is not support; another image's answer is not ours. */
	parse(&c, "\033_Gi=31;EINVAL:bad format\033\\\033[?62;c");
	assert_false(c.kitty);
	assert_true(c.kitty_error);
	parse(&c, "\033_Gi=7;OK\033\\\033[?62;c");
	assert_false(c.kitty);
	assert_false(c.kitty_error);
}

static void
test_garbage_partial(void **state)
{
	static const char full[] = "\033_Gi=31;OK\033\\\033[?1;0;256S\033[6;20;10t\033[?63;4c";
	struct tp_caps c;

	(void)state;
	/* Every prefix: nothing half-read counts, and the DA reply that ends
	 * it all is seen only once complete. */
	for (size_t n = 0; n < sizeof full - 1; n++) {
		tp_parse(&c, full, n);
		assert_int_equal(c.nda, 0);
		assert_false(tp_complete(&c, 1));
	}
	tp_parse(&c, full, sizeof full - 1);
	assert_true(tp_complete(&c, 1));
	assert_true(c.kitty);
	assert_int_equal(c.cell_h, 20);
	assert_int_equal(c.sixel_colours, 256);
	/* Keys typed meanwhile, lone ESCs, unknown sequences, NULs. */
	static const char noise[] = "ab\033x\033[1;5A\033]11;rgb:0/0/0\a\0\377\033P1$r0m\033\\"
	    "q\033[?63;4c";
	tp_parse(&c, noise, sizeof noise - 1);
	assert_int_equal(c.nda, 1);
	assert_true(c.da_sixel[0]);
	assert_false(c.kitty);
	/* Nothing at all, and only noise. */
	tp_parse(&c, "", 0);
	assert_int_equal(c.nda, 0);
	assert_int_equal(choose(&c, false), TP_SYMBOLS);
	parse(&c, "\033[?;;;c\033[?99999999999999999999;4c");
	assert_int_equal(c.nda, 2);
}

static void
test_tmux(void **state)
{
	char q[512], w[64];
	struct tp_caps c;
	char why[400];
	size_t n;

	(void)state;
	/* Wrapped: every ESC doubled inside DCS tmux; ... ST, then a plain DA. */
	n = tp_tmux_wrap("\033[c", 3, w, sizeof w);
	assert_int_equal(n, 13);
	assert_memory_equal(w, "\033Ptmux;\033\033[c\033\\", 13);
	assert_int_equal(tp_tmux_wrap("\033[c", 3, w, 8), 0);
	n = tp_queries(q, sizeof q, true);
	assert_true(n > 20);
	assert_memory_equal(q, "\033Ptmux;\033\033_G", 11);
	assert_string_equal(q + n - 3, "\033[c");
	n = tp_queries(q, sizeof q, false);
	assert_string_equal(q + n - 3, "\033[c");
	assert_int_equal(tp_queries(q, 10, false), 0);
	/* tmux 3.3a alone: its own DA, no sixel: symbols, and why. */
	parse(&c, "\033[?1;2c");
	assert_false(tp_complete(&c, 2));
	assert_int_equal(tp_choose(&c, NULL, NULL, true, why, sizeof why), TP_SYMBOLS);
	assert_non_null(strstr(why, "passthrough"));
	/* The outer terminal answered through passthrough. */
	parse(&c, "\033[?1;2c\033[?63;1;2;4;6;9;15;22c");
	assert_true(tp_complete(&c, 2));
	assert_int_equal(tp_choose(&c, NULL, NULL, true, why, sizeof why), TP_SIXEL);
	/* A tmux built with sixel says 4 itself. */
	parse(&c, "\033[?1;2;4c");
	assert_int_equal(tp_choose(&c, NULL, NULL, true, why, sizeof why), TP_SIXEL);
}

static void
test_choose_env(void **state)
{
	struct tp_caps c;
	enum tp_mode m;
	bool a;
	char why[400];

	(void)state;
	parse(&c, "\033[?62;22c");
	assert_int_equal(tp_choose(&c, "iTerm.app", NULL, false, why, sizeof why), TP_ITERM2);
	assert_int_equal(tp_choose(&c, NULL, "iTerm2", false, why, sizeof why), TP_ITERM2);
	assert_int_equal(tp_choose(NULL, NULL, NULL, false, why, sizeof why), TP_SYMBOLS);
	assert_non_null(strstr(why, "answered no query"));
	/* VMTTY_GRAPHICS. */
	assert_int_equal(tp_mode_parse("auto", &m, &a), 0);
	assert_true(a);
	assert_int_equal(tp_mode_parse(NULL, &m, &a), 0);
	assert_true(a);
	assert_int_equal(tp_mode_parse("Sixel", &m, &a), 0);
	assert_false(a);
	assert_int_equal(m, TP_SIXEL);
	assert_int_equal(tp_mode_parse("kitty", &m, &a), 0);
	assert_int_equal(m, TP_KITTY);
	assert_int_equal(tp_mode_parse("symbols", &m, &a), 0);
	assert_int_equal(m, TP_SYMBOLS);
	assert_int_equal(tp_mode_parse("sixels", &m, &a), -1);
	assert_string_equal(tp_mode_name(TP_ITERM2), "iterm2");
}

/* Keys typed while the terminal was asked survive, in order; every reply
 * (DA, XTSMGRAPHICS, the cell size, the kitty APC) is taken out. */
static void
test_typed_keys(void **state)
{
	static const char in[] = "n\033_Gi=31;OK\033\\j\033[?1;0;1024;768S\033[A"
	    "\033[6;16;8tq\033[?64;1;4cx";
	char out[sizeof in];
	size_t k;

	(void)state;
	k = tp_keys(in, sizeof in - 1, out);
	assert_int_equal(k, 7);
	assert_memory_equal(out, "nj\033[Aqx", 7);
	/* Nothing typed: nothing kept. */
	assert_int_equal(tp_keys("\033[?62;4c", 8, out), 0);
}

/* Keys since an ESC, as the UI gathers them: a late reply is told from
 * keys byte by byte, whole, in part, or not a reply at all. */
static void
test_reply_class(void **state)
{
	static const char *const replies[] = {
		"\033[?62;4c", "\033[?1;2c", "\033[>0;95;0c", "\033[?1;0;1024S",
		"\033[6;16;8t", "\033_Gi=31;OK\033\\", "\033_Gi=31;ENOENT:no\033\\",
	};
	static const char *const keys[] = {
		"\033x", "\033[A", "\033[1;5A", "\033[200~", "\033OP", "\033\033",
		"\033[?62;4cq", "\033[?6\0012", "\033[?6o", "\033[?1;2$y", "\033P>|tmux\033\\",
		"\033]11;rgb:0/0/0\a", "\033_x",
	};

	(void)state;
	for (size_t i = 0; i < sizeof replies / sizeof replies[0]; i++) {
		size_t n = strlen(replies[i]);

		/* Every beginning may become the reply; from ESC [ ? or ESC _ G
		 * on, nothing else; the whole is one. */
		for (size_t k = 1; k < n; k++) {
			enum tp_reply c = tp_reply_class(replies[i], k);
			bool sure = k >= 3 && (replies[i][2] == '?' || replies[i][2] == '>' ||
			    replies[i][1] == '_');

			assert_int_equal(c, sure ? TP_REPLY_PART : TP_MAYBE_REPLY);
		}
		assert_int_equal(tp_reply_class(replies[i], n), TP_REPLY);
	}
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		assert_int_equal(tp_reply_class(keys[i], strlen(keys[i])), TP_NOT_REPLY);
	assert_int_equal(tp_reply_class("\033[1;5", 5), TP_MAYBE_REPLY);
	assert_int_equal(tp_reply_class("q", 1), TP_NOT_REPLY);
	assert_int_equal(tp_reply_class("", 0), TP_NOT_REPLY);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_da),
		cmocka_unit_test(test_xtsmgraphics),
		cmocka_unit_test(test_kitty),
		cmocka_unit_test(test_garbage_partial),
		cmocka_unit_test(test_tmux),
		cmocka_unit_test(test_choose_env),
		cmocka_unit_test(test_typed_keys),
		cmocka_unit_test(test_reply_class),
	};

	return cmocka_run_group_tests_name("termprobe", tests, NULL, NULL);
}
