/* qmp: a client for the QEMU Machine Protocol over a unix socket.  The
 * socket is non-blocking: qmp_call waits with a deadline, for the CLI and
 * backend jobs; qmp_send + qmp_dispatch fit the UI's poll loop. */
#ifndef VMTTY_QMP_H
#define VMTTY_QMP_H

#include <stdbool.h>

#include <json-c/json.h>

/* The largest message accepted from QEMU; a bigger one is an error. */
#define QMP_MSG_MAX (1024 * 1024)

struct qmp;

/* An asynchronous event; DATA may be NULL and is only borrowed. */
typedef void (*qmp_event_cb)(const char *event, json_object *data, void *arg);
/* The reply to qmp_send: RET (borrowed) on success; on failure RET is NULL
 * and ERROR a whole sentence ("QEMU refused 'x': ..." or why the
 * connection failed). */
typedef void (*qmp_reply_cb)(json_object *ret, const char *error, void *arg);

/* Connect to the QMP socket PATH, read the greeting and negotiate
 * capabilities, all within TIMEOUT_MS.  NULL + err on failure. */
struct qmp *qmp_connect(const char *path, int timeout_ms);
/* Close the connection; replies still pending are dropped without their
 * callbacks.  Safe from inside a callback (freed once dispatch returns). */
void qmp_close(struct qmp *q);
int qmp_fd(const struct qmp *q);
/* The QEMU version from the greeting, "major.minor.micro". */
const char *qmp_version(const struct qmp *q);
/* Where events go (CB NULL: dropped). */
void qmp_set_event_cb(struct qmp *q, qmp_event_cb cb, void *arg);

/*
 * Run EXECUTE with ARGS (consumed, may be NULL) and wait up to TIMEOUT_MS
 * for its reply; events that arrive meanwhile go to the event callback, as
 * do replies to earlier qmp_send commands.  On success *RET (if RET is not
 * NULL) gets a new reference to the "return" value.  -1 + err when QEMU
 * refuses the command, does not answer in time or the connection fails.
 */
int qmp_call(struct qmp *q, const char *execute, json_object *args, int timeout_ms,
    json_object **ret);
/* Queue EXECUTE with ARGS (consumed, may be NULL) and write as much as the
 * socket takes now; CB (may be NULL) runs from qmp_dispatch with the
 * reply, or with an error if the connection fails first. */
int qmp_send(struct qmp *q, const char *execute, json_object *args, qmp_reply_cb cb,
    void *arg);
/* Run when poll() finds the fd readable, or writable while qmp_want_write:
 * write what is queued, read what is there without blocking and run the
 * callbacks of every complete message.  -1 + err once the connection has
 * failed (EOF, malformed data); the caller then closes it. */
int qmp_dispatch(struct qmp *q);
/* True while queued commands wait for the socket to become writable. */
bool qmp_want_write(const struct qmp *q);

/* How long each command of qmp_job may take to be answered. */
#define QMP_JOB_CALL_MS 5000

/*
 * Run the job command EXECUTE with ARGS (consumed; they name the job with
 * "job-id") and wait up to TIMEOUT_MS, polling query-jobs every 50 ms,
 * until the job concludes; a job that becomes ready (an active commit) is
 * told to complete.  The concluded job is dismissed.  -1 + err: QEMU's
 * own words when it refused the command or the job failed.  Blocking.
 */
int qmp_job(struct qmp *q, const char *execute, json_object *args, int timeout_ms);
/* Wait up to TIMEOUT_MS for the job ID that another client started (one
 * that died) to conclude, and dismiss it; a job QEMU does not have counts
 * as ended.  Whether it succeeded is not told (look at what it made).
 * -1 + err when it is still running at the deadline (it goes on) or QEMU
 * does not answer.  Blocking. */
int qmp_job_wait(struct qmp *q, const char *id, int timeout_ms);

#endif
