/* waitfor FILE TEXT TIMEOUT_MS: poll FILE every 5 ms until it contains
 * TEXT; exit 0 when it does, 1 at the deadline.  The by-hand side of the
 * start benchmark, as quick to notice the marker as vmtty itself.
 * waitfor --gone FILE TIMEOUT_MS: the same until FILE no longer exists. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
main(int argc, char **argv)
{
	static char buf[1 << 20];
	long long deadline;

	if (argc != 4) {
		fprintf(stderr, "usage: waitfor FILE TEXT TIMEOUT_MS | --gone FILE TIMEOUT_MS\n");
		return 2;
	}
	deadline = now_ms() + atoll(argv[3]);
	if (strcmp(argv[1], "--gone") == 0) {
		deadline = now_ms() + atoll(argv[3]);
		while (access(argv[2], F_OK) == 0) {
			if (now_ms() > deadline)
				return 1;
			usleep(5000);
		}
		return 0;
	}
	while (now_ms() < deadline) {
		int fd = open(argv[1], O_RDONLY);

		if (fd >= 0) {
			ssize_t n = read(fd, buf, sizeof buf);

			close(fd);
			if (n > 0 && memmem(buf, (size_t)n, argv[2], strlen(argv[2])) != NULL)
				return 0;
		}
		usleep(5000);
	}
	return 1;
}
