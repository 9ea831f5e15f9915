/* log: debug log to a file (-v / --log FILE).  Never to stderr, which
 * curses owns while the TUI runs. */
#ifndef VMTTY_LOG_H
#define VMTTY_LOG_H

int log_open(const char *path);
void log_close(void);
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Monotonic milliseconds, for timing and deadlines. */
long long log_now_ms(void);
/* Monotonic microseconds, for finer timing. */
long long log_now_us(void);

#endif
