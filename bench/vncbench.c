/* vncbench SOCKET SECONDS [ROWS COLS]: the graphical console's pipeline
 * against a VNC server on a unix socket: libvncclient, chafa into cells
 * (256 colours, block symbols), cellview through curses into a file, whose
 * size gives the bytes a terminal would get (xterm-256color).  Prints
 * "frames=N seconds=S fps=F cpu_ms_per_frame=C bytes_per_frame=B WxH". */
#include <curses.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "console/vnc.h"
#include "ui/cellview.h"
#include "util/log.h"

/* What the terminal got so far: curses writes to the file's fd. */
static size_t
written(FILE *out)
{
	struct stat st;

	fflush(out);
	return fstat(fileno(out), &st) == 0 ? (size_t)st.st_size : 0;
}

static double
cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
}

int
main(int argc, char **argv)
{
	struct vnc_render r = { .rows = 48, .cols = 160, .colours = 256, .utf8 = true, .fit = true };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vnc_info info;
	struct cellbuf cells;
	struct cellview *cv;
	long long t0 = 0, secs;
	double c0 = 0;
	size_t b0 = 0;
	long frames = 0;
	uint64_t seen = 0;
	FILE *out, *in;
	int fd;

	if (argc < 3)
		return fprintf(stderr, "usage: vncbench SOCKET SECONDS [ROWS COLS]\n"), 2;
	secs = atoll(argv[2]);
	if (argc > 4) {
		r.rows = atoi(argv[3]);
		r.cols = atoi(argv[4]);
	}
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", argv[1]);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
		return perror(argv[1]), 1;
	setenv("TERM", "xterm-256color", 1);
	out = tmpfile();
	in = fopen("/dev/null", "r");
	if (newterm("xterm-256color", out, in) == NULL)
		return fprintf(stderr, "no terminal\n"), 1;
	start_color();
	use_default_colors();
	resizeterm(r.rows, r.cols);
	cv = cellview_new();
	cellbuf_init(&cells, 1, 1);
	struct vnc *s = vnc_new(fd, "bench");
	if (s == NULL)
		return endwin(), fprintf(stderr, "no VNC plugin\n"), 1;
	vnc_set_render(s, &r);
	for (;;) {
		struct pollfd p = { vnc_fd(s), POLLIN, 0 };

		poll(&p, 1, 200);
		vnc_poll(s, &info);
		if (info.state == VNC_CLOSED) {
			endwin();
			fprintf(stderr, "vncbench: %s\n", info.error);
			return 1;
		}
		if (info.renders == seen)
			continue;
		seen = info.renders;
		vnc_cells(s, &cells);
		cellview_draw(cv, &cells, 0, 0, false);
		cellbuf_clean(&cells);
		wnoutrefresh(stdscr);
		doupdate();
		fflush(out);
		/* Time from the first frame on: connecting is not drawing. */
		if (t0 == 0) {
			t0 = log_now_ms();
			c0 = cpu_ms();
			b0 = written(out);
			continue;
		}
		frames++;
		if (log_now_ms() - t0 >= secs * 1000)
			break;
	}
	endwin();
	{
		double el = (double)(log_now_ms() - t0) / 1000.0;

		printf("frames=%ld seconds=%.1f fps=%.1f cpu_ms_per_frame=%.1f bytes_per_frame=%zu "
		    "screen=%dx%d pane=%dx%d\n", frames, el, frames / el,
		    frames > 0 ? (cpu_ms() - c0) / frames : 0.0,
		    frames > 0 ? (written(out) - b0) / (size_t)frames : 0, info.width, info.height,
		    r.cols, r.rows);
	}
	vnc_free(s);
	return 0;
}
