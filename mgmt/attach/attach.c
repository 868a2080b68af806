/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * wirecache-mgmt-attach: the DPDK secondary process through which
 * wirecache-mgmt sees wirecached. wirecache-mgmt starts it with a socketpair
 * as stdin and stdout:
 *
 *     wirecache-mgmt-attach [EAL-ARGS... --] [--config FILE] [--NAME VALUE]...
 *
 * The options are wirecache-mgmt's own (the same config file and flags); the
 * EAL arguments it builds itself (--proc-type=secondary, --file-prefix from
 * the file-prefix option, -l 0, --no-telemetry, --log-level=notice), EAL-ARGS
 * are appended to them.
 *
 * It attaches (memzone and rings of mgmt/contract.h), then answers one JSON
 * request per line on stdin with one JSON response per line on stdout,
 * between requests draining the event ring into a queue (the "events"
 * request) and checking every 50 ms that wirecached is still there.
 *
 * Exit status: 0 stdin closed (or SIGTERM); 1 bad arguments or failure;
 * 2 no dataplane to attach to; 3 the dataplane speaks another contract;
 * 4 the dataplane went away. Every failure is one line on stderr.
 *
 * Nothing here can stall the dataplane: shared memory is only read, and the
 * only writes are enqueues to the control ring.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_memzone.h>
#include <rte_ring.h>

#include "mgmt/attach/attach.h"

#define PROG		"wirecache-mgmt-attach"
#define POLL_MS		50	   /* liveness and event checks between requests */
#define READY_WAIT_MS	10000	   /* a primary still starting: wait this long for its magic */
#define CTL_WAIT_MS	2000	   /* wait for a control reply */
#define LINE_MAX_BYTES	(64 << 10) /* longest request line */
#define EVQ_SLOTS	2048	   /* events kept for the "events" request */
#define FLUSH_DELAY_MAX 2592000U   /* 30 days, memcached's relative-time bound */

enum {
	EXIT_STDIN_CLOSED = 0,
	EXIT_FAIL = 1,
	EXIT_NO_DATAPLANE = 2,
	EXIT_CONTRACT = 3,
	EXIT_GONE = 4,
};

static volatile sig_atomic_t quit;
static int out_fd = -1; /* the protocol's stdout; fd 1 itself goes to stderr */

/* Events taken from the ring, oldest first, for the "events" request. */
static struct wc_event *evq;
static unsigned int evq_head, evq_len;
static uint64_t evq_dropped;

/*
 * Under LeakSanitizer: DPDK 22.11's vdev bus keeps, and never frees, the
 * devargs it makes for each device a secondary learns from the primary.
 * Not ours to free; every other leak still fails a sanitized run.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:librte_bus_vdev.so\n";
}

static void on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static void die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

static void die(int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	/*
	 * No rte_eal_cleanup(): the primary may be gone, and a fast exit lets a
	 * restarting wirecached reuse its hugepage files at once.
	 */
	_exit(status);
}

/* EAL's runtime directory of @p prefix, as EAL itself names it. */
static void runtime_dir(const char *prefix, char *buf, size_t len)
{
	const char *base = "/var/run";

	if (getuid() != 0)
		base = getenv("XDG_RUNTIME_DIR") != NULL ? getenv("XDG_RUNTIME_DIR") : "/tmp";
	snprintf(buf, len, "%s/dpdk/%s", base, prefix);
}

/* Whether some process holds a lock on EAL's config file: the primary does. */
static bool primary_holds(int fd, pid_t *holder)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };

	if (fcntl(fd, F_GETLK, &fl) != 0)
		return false;
	if (holder != NULL)
		*holder = fl.l_pid;
	return fl.l_type != F_UNLCK;
}

/*
 * Exit 4 at once if wirecached is gone: its process (a zombie counts as
 * gone: it released the config file's lock when it exited), or the block
 * now belongs to another start of the dataplane, or it is shutting down.
 */
static void check_primary(const struct wc_attach *a)
{
	if (kill(a->pid, 0) != 0 && errno == ESRCH)
		die(EXIT_GONE, "wirecached (pid %d) exited", (int)a->pid);
	if (!primary_holds(a->lock_fd, NULL))
		die(EXIT_GONE, "wirecached (pid %d) exited", (int)a->pid);
	if (__atomic_load_n(&a->sh->instance, __ATOMIC_ACQUIRE) != a->instance)
		die(EXIT_GONE, "wirecached restarted its dataplane (new instance)");
	if (__atomic_load_n(&a->sh->state, __ATOMIC_ACQUIRE) == WC_DP_STOPPING)
		die(EXIT_GONE, "wirecached (pid %d) is stopping", (int)a->pid);
}

static void evq_push(const struct wc_event *ev)
{
	if (evq_len == EVQ_SLOTS) {
		/* Keep the newest: drop the oldest. */
		evq_head = (evq_head + 1) % EVQ_SLOTS;
		evq_len--;
		evq_dropped++;
	}
	evq[(evq_head + evq_len) % EVQ_SLOTS] = *ev;
	evq_len++;
}

/*
 * Take every event off the ring. The reply to @p want_seq (if nonzero) is
 * copied to @p reply instead of being queued.
 * @return true if that reply came.
 */
static bool drain_events(const struct wc_attach *a, uint64_t want_seq, struct wc_event *reply)
{
	struct wc_event ev[16];
	bool got = false;
	unsigned int n;

	do {
		n = rte_ring_sc_dequeue_burst_elem(a->ev, ev, sizeof(ev[0]), 16, NULL);
		for (unsigned int i = 0; i < n; i++) {
			ev[i].text[sizeof(ev[i].text) - 1] = '\0';
			if (want_seq != 0 && ev[i].type == WC_EV_CTL_REPLY &&
			    ev[i].seq == want_seq) {
				*reply = ev[i];
				got = true;
			} else {
				evq_push(&ev[i]);
			}
		}
	} while (n > 0);
	return got;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/*
 * One control request and its reply.
 * @return 0 with the reply in @p reply; -ENOBUFS if the control ring is
 *         full; -ETIMEDOUT if no reply came in CTL_WAIT_MS.
 */
static int ctl_call(struct wc_attach *a, uint32_t op, uint32_t arg, const char *name,
		    const char *value, struct wc_event *reply)
{
	struct wc_ctl_msg m;
	uint64_t deadline;

	memset(&m, 0, sizeof(m));
	m.seq = a->next_seq++;
	m.op = op;
	m.arg = arg;
	if (name != NULL)
		snprintf(m.name, sizeof(m.name), "%s", name);
	if (value != NULL)
		snprintf(m.value, sizeof(m.value), "%s", value);
	if (rte_ring_mp_enqueue_elem(a->ctl, &m, sizeof(m)) != 0)
		return -ENOBUFS;
	deadline = now_ms() + CTL_WAIT_MS;
	for (;;) {
		if (drain_events(a, m.seq, reply))
			return 0;
		check_primary(a);
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		sleep_ms(2);
	}
}

/* The response to a failed ctl_call() or a negative reply. */
static json_t *ctl_error(int rc, const struct wc_event *reply)
{
	if (rc == -ENOBUFS)
		return wc_attach_err(WC_CODE_TIMEOUT,
				     "the control ring is full: wirecached is not taking requests");
	if (rc == -ETIMEDOUT)
		return wc_attach_err(WC_CODE_TIMEOUT, "wirecached did not answer within %d ms",
				     CTL_WAIT_MS);
	if (reply->rc == -ETIMEDOUT)
		return wc_attach_err(WC_CODE_TIMEOUT, "%s", reply->text);
	return wc_attach_err(WC_CODE_REFUSED, "%s", reply->text);
}

static json_t *cmd_config_set(struct wc_attach *a, const char *name, const char *value)
{
	const struct wc_opt_info *o = wc_config_find(name);
	struct wc_event reply;
	struct wc_config c;
	char err[256];
	json_t *d;
	int rc;

	if (o == NULL)
		return wc_attach_err(WC_CODE_REFUSED, "unknown option %s", name);
	if (!(o->flags & WC_OPT_DP))
		return wc_attach_err(WC_CODE_REFUSED,
				     "%s is wirecache-mgmt's option: set it in the config file "
				     "and restart wirecache-mgmt",
				     name);
	if (!(o->flags & WC_OPT_RUNTIME))
		return wc_attach_err(WC_CODE_REFUSED,
				     "%s cannot change on a running dataplane: set it in the "
				     "config file and restart wirecached",
				     name);
	if (strlen(value) >= WC_CTL_VALUE_MAX)
		return wc_attach_err(WC_CODE_REFUSED,
				     "%s: value too long for a runtime change (at most %d bytes)",
				     name, WC_CTL_VALUE_MAX - 1);
	/* Refuse what the dataplane would refuse without asking it. */
	wc_shared_config_read(a->sh, &c);
	if (wc_config_set(&c, name, value, err, sizeof(err)) != 0)
		return wc_attach_err(WC_CODE_REFUSED, "%s", err);
	rc = ctl_call(a, WC_CTL_CONFIG_SET, 0, name, value, &reply);
	if (rc != 0 || reply.rc != 0)
		return ctl_error(rc, &reply);
	d = json_object();
	json_object_set_new(d, "name", json_string(name));
	json_object_set_new(d, "value", wc_attach_text(reply.text));
	json_object_set_new(d, "generation", json_integer((json_int_t)wc_shared_config_gen(a->sh)));
	return wc_attach_ok(d);
}

static json_t *cmd_config(struct wc_attach *a, const char **args, size_t n)
{
	json_t *d;

	if (n == 0)
		return wc_attach_err(WC_CODE_USAGE, "config: get [NAME] | set NAME VALUE | dump");
	if (strcmp(args[0], "get") == 0 && n <= 2) {
		d = wc_report_config(a, n == 2 ? args[1] : NULL);
		if (d == NULL)
			return wc_attach_err(WC_CODE_REFUSED, "unknown option %s", args[1]);
		return wc_attach_ok(d);
	}
	if (strcmp(args[0], "set") == 0 && n == 3)
		return cmd_config_set(a, args[1], args[2]);
	if (strcmp(args[0], "dump") == 0 && n == 1)
		return wc_attach_ok(wc_report_config_dump(a));
	if (strcmp(args[0], "rewrite") == 0)
		return wc_attach_err(WC_CODE_USAGE,
				     "config rewrite is wirecache-mgmt's: ask it, not the attach "
				     "process");
	return wc_attach_err(WC_CODE_USAGE, "config: get [NAME] | set NAME VALUE | dump");
}

static json_t *cmd_flush(struct wc_attach *a, const char **args, size_t n)
{
	struct wc_event reply;
	unsigned long delay = 0;
	char *end;
	json_t *d;
	int rc;

	if (n > 1)
		return wc_attach_err(WC_CODE_USAGE, "flush [DELAY-SECONDS]");
	if (n == 1) {
		errno = 0;
		delay = strtoul(args[0], &end, 10);
		if (args[0][0] < '0' || args[0][0] > '9' || *end != '\0' || errno != 0 ||
		    delay > FLUSH_DELAY_MAX)
			return wc_attach_err(WC_CODE_USAGE,
					     "flush: the delay is 0 to %u seconds, not '%s'",
					     FLUSH_DELAY_MAX, args[0]);
	}
	rc = ctl_call(a, WC_CTL_FLUSH, (uint32_t)delay, NULL, NULL, &reply);
	if (rc != 0 || reply.rc != 0)
		return ctl_error(rc, &reply);
	d = json_object();
	json_object_set_new(d, "flushed", json_true());
	json_object_set_new(d, "delay", json_integer((json_int_t)delay));
	return wc_attach_ok(d);
}

static json_t *event_json(const struct wc_event *ev)
{
	json_t *o = json_object();

	json_object_set_new(o, "time_ns", json_integer((json_int_t)ev->time_ns));
	switch (ev->type) {
	case WC_EV_LOG:
		json_object_set_new(o, "type", json_string("log"));
		json_object_set_new(o, "level", json_string(wc_report_level_name(ev->level)));
		/* The control thread is no lcore (LCORE_ID_ANY). */
		json_object_set_new(o, "lcore",
				    ev->lcore < RTE_MAX_LCORE ? json_integer(ev->lcore)
							      : json_null());
		break;
	case WC_EV_CTL_REPLY:
		/* A reply nobody waits for any more (its request timed out). */
		json_object_set_new(o, "type", json_string("reply"));
		json_object_set_new(o, "seq", json_integer((json_int_t)ev->seq));
		json_object_set_new(o, "rc", json_integer(ev->rc));
		break;
	case WC_EV_LCORE:
		json_object_set_new(o, "type", json_string("lcore"));
		json_object_set_new(o, "lcore", json_integer(ev->lcore));
		json_object_set_new(o, "state", json_integer(ev->rc));
		break;
	default:
		json_object_set_new(o, "type", json_string("unknown"));
		break;
	}
	json_object_set_new(o, "text", wc_attach_text(ev->text));
	return o;
}

static json_t *cmd_events(struct wc_attach *a)
{
	json_t *d = json_object(), *list = json_array();

	drain_events(a, 0, NULL);
	for (unsigned int i = 0; i < evq_len; i++)
		json_array_append_new(list, event_json(&evq[(evq_head + i) % EVQ_SLOTS]));
	json_object_set_new(d, "events", list);
	json_object_set_new(d, "dropped", json_integer((json_int_t)evq_dropped));
	evq_head = evq_len = 0;
	evq_dropped = 0;
	return wc_attach_ok(d);
}

/* One request line -> one response object. */
static json_t *handle(struct wc_attach *a, const char *line, size_t len)
{
	const char *args[8];
	json_error_t jerr;
	json_t *req, *resp, *jargs, *cmd;
	const char *c;
	size_t n = 0;

	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (req == NULL || !json_is_object(req)) {
		json_decref(req);
		return wc_attach_err(WC_CODE_USAGE, "a request is one JSON object per line%s%s",
				     req == NULL ? ": " : "", req == NULL ? jerr.text : "");
	}
	cmd = json_object_get(req, "cmd");
	jargs = json_object_get(req, "args");
	if (!json_is_string(cmd)) {
		resp = wc_attach_err(WC_CODE_USAGE, "the request has no \"cmd\" string");
		goto out;
	}
	if (jargs != NULL && !json_is_array(jargs)) {
		resp = wc_attach_err(WC_CODE_USAGE, "\"args\" must be an array of strings");
		goto out;
	}
	if (jargs != NULL) {
		if (json_array_size(jargs) > sizeof(args) / sizeof(args[0])) {
			resp = wc_attach_err(WC_CODE_USAGE, "too many arguments");
			goto out;
		}
		for (n = 0; n < json_array_size(jargs); n++) {
			args[n] = json_string_value(json_array_get(jargs, n));
			if (args[n] == NULL) {
				resp = wc_attach_err(WC_CODE_USAGE,
						     "\"args\" must be an array of strings");
				goto out;
			}
		}
	}
	c = json_string_value(cmd);
	if (strcmp(c, "status") == 0 && n == 0)
		resp = wc_attach_ok(wc_report_status(a));
	else if (strcmp(c, "stats") == 0 && n == 0)
		resp = wc_attach_ok(wc_report_stats(a));
	else if (strcmp(c, "ports") == 0 && n == 0)
		resp = wc_attach_ok(wc_report_ports(a));
	else if (strcmp(c, "partitions") == 0 && n == 0)
		resp = wc_attach_ok(wc_report_partitions(a));
	else if (strcmp(c, "events") == 0 && n == 0)
		resp = cmd_events(a);
	else if (strcmp(c, "config") == 0)
		resp = cmd_config(a, args, n);
	else if (strcmp(c, "flush") == 0)
		resp = cmd_flush(a, args, n);
	else if (strcmp(c, "status") == 0 || strcmp(c, "stats") == 0 || strcmp(c, "ports") == 0 ||
		 strcmp(c, "partitions") == 0 || strcmp(c, "events") == 0)
		resp = wc_attach_err(WC_CODE_USAGE, "%s takes no arguments", c);
	else
		resp = wc_attach_err(WC_CODE_USAGE, "unknown command '%s'", c);
out:
	json_decref(req);
	return resp;
}

/* Write one response line; a closed stdout (mgmt gone) ends the process. */
static void respond(json_t *resp)
{
	char *s = json_dumps(resp, JSON_COMPACT);
	size_t len, off = 0;

	json_decref(resp);
	if (s == NULL)
		s = strdup("{\"ok\":false,\"code\":\"internal\",\"error\":\"out of memory\"}");
	if (s == NULL)
		die(EXIT_FAIL, "out of memory");
	len = strlen(s);
	s[len] = '\n'; /* json_dumps' NUL: the line's end, written with it */
	len++;
	while (off < len) {
		ssize_t w = write(out_fd, s + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			free(s);
			rte_eal_cleanup();
			exit(EXIT_STDIN_CLOSED);
		}
		off += (size_t)w;
	}
	free(s);
}

/*
 * Serve stdin until it closes. Lines longer than LINE_MAX_BYTES are answered
 * with a usage error and skipped.
 */
static int serve(struct wc_attach *a)
{
	static char buf[LINE_MAX_BYTES];
	size_t have = 0;
	bool skipping = false;

	for (;;) {
		struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
		int n = poll(&p, 1, POLL_MS);
		ssize_t r;
		char *nl;

		if (quit)
			return EXIT_STDIN_CLOSED;
		check_primary(a);
		drain_events(a, 0, NULL);
		if (n <= 0)
			continue;
		r = read(STDIN_FILENO, buf + have, sizeof(buf) - have);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			return EXIT_STDIN_CLOSED;
		have += (size_t)r;
		while ((nl = memchr(buf, '\n', have)) != NULL) {
			size_t len = (size_t)(nl - buf);

			if (skipping)
				skipping = false;
			else if (len > 0 && !(len == 1 && buf[0] == '\r'))
				respond(handle(a, buf, len));
			have -= len + 1;
			memmove(buf, nl + 1, have);
			check_primary(a);
		}
		if (have == sizeof(buf)) {
			if (!skipping)
				respond(wc_attach_err(WC_CODE_USAGE, "request longer than %d bytes",
						      LINE_MAX_BYTES));
			skipping = true;
			have = 0;
		}
	}
}

/* Look the contract up, waiting a little for a primary still starting. */
static void attach(struct wc_attach *a)
{
	const struct rte_memzone *mz = NULL;
	uint64_t deadline = now_ms() + READY_WAIT_MS;
	const struct wc_shared *sh;
	uint64_t magic = 0;

	for (;;) {
		pid_t holder = 0;

		if (!primary_holds(a->lock_fd, &holder))
			die(EXIT_NO_DATAPLANE,
			    "wirecached (file-prefix %s) exited while we attached",
			    a->own.file_prefix);
		if (mz == NULL)
			mz = rte_memzone_lookup(WC_MZ_SHARED);
		if (mz != NULL) {
			sh = mz->addr;
			magic = __atomic_load_n(&sh->magic, __ATOMIC_ACQUIRE);
			if (magic != 0)
				break;
		}
		if (now_ms() >= deadline) {
			if (mz == NULL)
				die(EXIT_NO_DATAPLANE,
				    "the DPDK primary of file-prefix %s (pid %d) is not wirecached "
				    "(no memzone " WC_MZ_SHARED ")",
				    a->own.file_prefix, (int)holder);
			die(EXIT_NO_DATAPLANE, "wirecached (pid %d) did not become ready in %d s",
			    (int)holder, READY_WAIT_MS / 1000);
		}
		sleep_ms(POLL_MS);
	}
	if (magic != WC_SHARED_MAGIC)
		die(EXIT_CONTRACT, "shared block magic %#" PRIx64 " is not wirecache's %#llx",
		    magic, (unsigned long long)WC_SHARED_MAGIC);
	if (sh->version != WC_CONTRACT_VERSION)
		die(EXIT_CONTRACT, "contract version %u, this mgmt speaks %d", sh->version,
		    WC_CONTRACT_VERSION);
	if (sh->size != sizeof(struct wc_shared) || mz->len < sizeof(struct wc_shared))
		die(EXIT_CONTRACT,
		    "contract version %u but a shared block of %u bytes, this mgmt expects %zu "
		    "(a build mismatch)",
		    sh->version, sh->size, sizeof(struct wc_shared));
	a->sh = mz->addr;
	a->pid = sh->pid;
	a->instance = __atomic_load_n(&sh->instance, __ATOMIC_ACQUIRE);
	if (__atomic_load_n(&sh->state, __ATOMIC_ACQUIRE) == WC_DP_STOPPING)
		die(EXIT_NO_DATAPLANE, "wirecached (pid %d) is stopping", (int)a->pid);
	a->ctl = rte_ring_lookup(WC_RING_CTL);
	a->ev = rte_ring_lookup(WC_RING_EVENT);
	if (a->ctl == NULL || a->ev == NULL)
		die(EXIT_CONTRACT,
		    "wirecached (pid %d) has no rings " WC_RING_CTL "/" WC_RING_EVENT, (int)a->pid);
	if (rte_ring_get_size(a->ctl) != WC_RING_SLOTS || rte_ring_get_size(a->ev) != WC_RING_SLOTS)
		die(EXIT_CONTRACT, "contract rings of another size than %d", WC_RING_SLOTS);
}

static bool has_flag(int argc, char **argv, const char *flag)
{
	size_t len = strlen(flag);

	for (int i = 1; i < argc; i++)
		if (strncmp(argv[i], flag, len) == 0 &&
		    (argv[i][len] == '\0' || argv[i][len] == '='))
			return true;
	return false;
}

/* The value of EAL flag @p flag in @p argv ("--flag V" or "--flag=V"), or NULL. */
static const char *flag_value(int argc, char **argv, const char *flag)
{
	size_t len = strlen(flag);
	const char *v = NULL;

	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], flag, len) != 0)
			continue;
		if (argv[i][len] == '=')
			v = argv[i] + len + 1;
		else if (argv[i][len] == '\0' && i + 1 < argc)
			v = argv[i + 1];
	}
	return v;
}

int main(int argc, char **argv)
{
	static struct wc_attach a;
	static char prefix_arg[96], dir[PATH_MAX], path[PATH_MAX + 16];
	char err[512], *eal_argv[64];
	int eal_n = 0, sep = argc, rc;
	const char *prefix;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			sep = i;
			break;
		}
	}
	/*
	 * Responses go to a private copy of stdout; fd 1 becomes stderr, so
	 * nothing EAL or a driver prints can corrupt the protocol.
	 */
	out_fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	if (out_fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
		die(EXIT_FAIL, "cannot set up stdout: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	wc_config_defaults(&a.own);
	if (sep < argc)
		rc = wc_config_parse_args(&a.own, argc - sep, &argv[sep], PROG, WC_OPT_MGMT,
					  a.config_file, sizeof(a.config_file), err, sizeof(err));
	else
		rc = wc_config_parse_args(&a.own, argc, argv, PROG, WC_OPT_MGMT, a.config_file,
					  sizeof(a.config_file), err, sizeof(err));
	if (rc == 1)
		return EXIT_SUCCESS;
	if (rc != 0)
		die(EXIT_FAIL, "%s", err);
	if (sep == argc)
		sep = 1; /* no EAL arguments of the caller's */

	/* An explicit EAL --file-prefix wins, as for wirecached. */
	prefix = flag_value(sep, argv, "--file-prefix");
	if (prefix != NULL)
		snprintf(a.own.file_prefix, sizeof(a.own.file_prefix), "%s", prefix);
	runtime_dir(a.own.file_prefix, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/config", dir);
	a.lock_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (a.lock_fd < 0 || !primary_holds(a.lock_fd, NULL))
		die(EXIT_NO_DATAPLANE, "no wirecached is running with file-prefix %s (%s %s)",
		    a.own.file_prefix, path, a.lock_fd < 0 ? "does not exist" : "is not locked");

	evq = calloc(EVQ_SLOTS, sizeof(*evq));
	if (evq == NULL)
		die(EXIT_FAIL, "out of memory");
	a.next_seq = ((uint64_t)getpid() << 32) | 1;

	eal_argv[eal_n++] = argv[0];
	eal_argv[eal_n++] = "--proc-type=secondary";
	if (!has_flag(sep, argv, "--file-prefix")) {
		snprintf(prefix_arg, sizeof(prefix_arg), "--file-prefix=%s", a.own.file_prefix);
		eal_argv[eal_n++] = prefix_arg;
	}
	if (!has_flag(sep, argv, "-l") && !has_flag(sep, argv, "--lcores") &&
	    !has_flag(sep, argv, "-c")) {
		eal_argv[eal_n++] = "-l";
		eal_argv[eal_n++] = "0";
	}
	eal_argv[eal_n++] = "--no-telemetry";
	if (!has_flag(sep, argv, "--log-level"))
		eal_argv[eal_n++] = "--log-level=notice";
	for (int i = 1; i < sep; i++) {
		if (eal_n >= (int)(sizeof(eal_argv) / sizeof(eal_argv[0])) - 1)
			die(EXIT_FAIL, "too many EAL arguments");
		eal_argv[eal_n++] = argv[i];
	}
	eal_argv[eal_n] = NULL;

	/* EAL logs on stdout (already stderr) by default; say it outright. */
	rte_openlog_stream(stderr);
	if (rte_eal_init(eal_n, eal_argv) < 0) {
		if (!primary_holds(a.lock_fd, NULL))
			die(EXIT_NO_DATAPLANE,
			    "wirecached (file-prefix %s) exited while we attached",
			    a.own.file_prefix);
		die(EXIT_FAIL, "cannot attach to wirecached (file-prefix %s): EAL: %s",
		    a.own.file_prefix, rte_strerror(rte_errno));
	}
	attach(&a);
	rc = serve(&a);
	rte_eal_cleanup();
	return rc;
}
