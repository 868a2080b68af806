/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The attach supervisor.
 *
 *   no child --(every 500 ms: a primary holds its config lock, 1 s old)--> spawn
 *   spawn --(first "status" answered)--> attached
 *   attached --(every 200 ms)--> "events": log lines into the log
 *   child exits: 2 no dataplane, 3 contract mismatch (its one stderr line is
 *   the reason), 4 the dataplane died --> no child (down since then)
 *
 * Two locks: io serializes the conversation with the child (one request in
 * flight) and guards the pipe; st guards the history status reports, so
 * status and the log answer at once while a request is in flight or the
 * dataplane is down.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mgmt/contract.h"

#include "mlog.h"
#include "sup.h"
#include "util.h"

#define TICK_MS		 50
#define PROBE_MS	 500   /* look for a primary this often while none */
#define EVENTS_MS	 200   /* fetch the child's log events this often */
#define RETRY_MS	 5000  /* after a contract mismatch or a crashed child */
#define HELLO_TIMEOUT_MS 20000 /* the first request waits for the child's EAL init */
#define STOP_WAIT_MS	 2000
#define SETTLE_MS	 1000 /* a primary this young is still starting */
#define EARLY_RETRIES	 3    /* restarts of a child that attached too early */
#define LINE_MAX_BYTES	 (16u << 20)
#define REASON_MAX	 256

static struct {
	/* Parameters. */
	char attach_path[PATH_MAX];
	char config_path[PATH_MAX];
	char prefix[64];
	char runtime_config[PATH_MAX]; /* the primary's /var/run/dpdk/<prefix>/config */

	pthread_t tid;
	bool running;
	volatile bool stop;

	/* The child, under io. */
	pthread_mutex_t io;
	pid_t pid;  /* until reaped */
	int fd;	    /* socketpair end; -1 once the conversation broke */
	int err_fd; /* the child's stderr, non-blocking */
	char *rbuf; /* bytes read past a response line */
	size_t rlen;
	size_t rcap;
	char err_part[REASON_MAX]; /* a stderr line not ended yet */
	char err_last[REASON_MAX]; /* the child's last complete stderr line */
	bool retiring;		   /* we stopped it: its exit is no news */
	pid_t dp_pid;		   /* the dataplane attached to */
	pid_t gone_pid;		   /* a dataplane that exited, while it still holds its lock */
	unsigned int early_retries;

	/* History, under st. */
	pthread_mutex_t st;
	bool attached;
	char instance[32];
	char last_instance[32];
	uint64_t down_since_ns; /* 0 while attached */
	unsigned int restarts_seen;
	double last_gap;	 /* < 0: no restart seen */
	char reason[REASON_MAX]; /* why not attached, besides "down since" */
} sup = {
	.io = PTHREAD_MUTEX_INITIALIZER,
	.st = PTHREAD_MUTEX_INITIALIZER,
	.fd = -1,
	.err_fd = -1,
	.last_gap = -1,
};

json_t *wc_sup_error(const char *code, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s, s:s}", "ok", 0, "code", code, "error", text);
}

bool wc_sup_attached(void)
{
	bool a;

	pthread_mutex_lock(&sup.st);
	a = sup.attached;
	pthread_mutex_unlock(&sup.st);
	return a;
}

/* The dataplane (or our view of it) went away: remember since when. */
static void mark_down(void)
{
	pthread_mutex_lock(&sup.st);
	if (sup.attached) {
		sup.attached = false;
		sup.down_since_ns = wc_util_now_ns();
	}
	pthread_mutex_unlock(&sup.st);
}

/*
 * How long process @p pid has run, in ms; a large value when that cannot be
 * told (another pid namespace), so the caller goes ahead.
 */
static uint64_t process_age_ms(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	double uptime = 0;
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return UINT64_MAX;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	/* Field 22, starttime, counted after the ")" that ends the name. */
	p = p != NULL ? strrchr(buf, ')') : NULL;
	if (p == NULL || hz <= 0)
		return UINT64_MAX;
	for (i = 3; i <= 22 && p != NULL; i++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p, " %llu", &start) != 1)
		return UINT64_MAX;
	f = fopen("/proc/uptime", "re");
	if (f == NULL)
		return UINT64_MAX;
	if (fscanf(f, "%lf", &uptime) != 1)
		uptime = 0;
	fclose(f);
	if (uptime * 1000 < (double)start * 1000 / (double)hz)
		return 0;
	return (uint64_t)(uptime * 1000 - (double)start * 1000 / (double)hz);
}

/*
 * Is a primary up? EAL's primary holds an fcntl write lock on its runtime
 * config file for as long as it lives; a file left by a dead one is unlocked.
 * A dataplane that is stopping still holds it for a moment: a child started
 * then would wait on its EAL requests to a process about to go, so the
 * holder we saw leave does not count. Nor does one younger than SETTLE_MS:
 * a secondary whose EAL starts while the primary's EAL is still starting
 * misses the primary's ports and holds up the primary's exit later.
 */
static bool primary_alive(void)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	bool alive;
	int fd;

	fd = open(sup.runtime_config, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	alive = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
	close(fd);
	if (alive && sup.gone_pid != 0 && fl.l_pid == sup.gone_pid)
		return false;
	if (alive && fl.l_pid > 0 && process_age_ms(fl.l_pid) < SETTLE_MS)
		return false;
	return alive;
}

/* Keep the child's stderr lines: the last one is a contract mismatch's reason. (io held) */
static void drain_stderr(void)
{
	char buf[1024];
	ssize_t n;

	if (sup.err_fd < 0)
		return;
	while ((n = read(sup.err_fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			size_t len = strlen(sup.err_part);

			if (buf[i] == '\n') {
				if (len > 0) {
					wc_mlog(WC_MLOG_INFO, "attach: %s", sup.err_part);
					memcpy(sup.err_last, sup.err_part, len + 1);
				}
				sup.err_part[0] = '\0';
			} else if (len + 1 < sizeof(sup.err_part)) {
				sup.err_part[len] = buf[i];
				sup.err_part[len + 1] = '\0';
			}
		}
	}
}

/* End the conversation (io held); the process is reaped by the supervisor. */
static void close_pipe(void)
{
	if (sup.fd >= 0)
		close(sup.fd);
	sup.fd = -1;
	sup.rlen = 0;
}

static int spawn(void)
{
	char level[16];
	const char *argv[12];
	int argc = 0, sv[2], ep[2];
	pid_t pid;

	pthread_mutex_lock(&sup.st);
	snprintf(level, sizeof(level), "%s", wc_mlog_level_name(wc_mlog_level()));
	pthread_mutex_unlock(&sup.st);
	/* No EAL arguments of ours (the child builds them): only options, after "--". */
	argv[argc++] = sup.attach_path;
	argv[argc++] = "--";
	if (sup.config_path[0] != '\0') {
		argv[argc++] = "--config";
		argv[argc++] = sup.config_path;
	}
	argv[argc++] = "--file-prefix";
	argv[argc++] = sup.prefix;
	argv[argc++] = "--log-level";
	argv[argc++] = level;
	argv[argc] = NULL;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -errno;
	if (pipe2(ep, O_CLOEXEC) != 0) {
		close(sv[0]);
		close(sv[1]);
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		int rc = -errno;

		close(sv[0]);
		close(sv[1]);
		close(ep[0]);
		close(ep[1]);
		return rc;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls until exec. */
		struct sigaction dfl = { .sa_handler = SIG_DFL };
		sigset_t none;

		/* A SIGKILLed daemon takes its child along. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(sv[1], STDIN_FILENO);
		dup2(sv[1], STDOUT_FILENO);
		dup2(ep[1], STDERR_FILENO);
		sigaction(SIGPIPE, &dfl, NULL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(sv[1]);
	close(ep[1]);
	fcntl(ep[0], F_SETFL, O_NONBLOCK);
	sup.pid = pid;
	sup.retiring = false;
	sup.fd = sv[0];
	sup.err_fd = ep[0];
	sup.rlen = 0;
	sup.err_part[0] = '\0';
	sup.err_last[0] = '\0';
	wc_mlog(WC_MLOG_INFO, "started %s (pid %d) for file-prefix %s", sup.attach_path, (int)pid,
		sup.prefix);
	return 0;
}

/* Read one line from the child within @p timeout_ms (io held). */
static int read_line(char **line, int timeout_ms)
{
	uint64_t deadline = wc_util_mono_ms() + (uint64_t)timeout_ms;

	for (;;) {
		char *nl = sup.rlen > 0 ? memchr(sup.rbuf, '\n', sup.rlen) : NULL;
		struct pollfd pfd = { .fd = sup.fd, .events = POLLIN };
		uint64_t now;
		ssize_t n;
		int rc;

		if (nl != NULL) {
			size_t len = (size_t)(nl - sup.rbuf);

			*line = strndup(sup.rbuf, len);
			memmove(sup.rbuf, nl + 1, sup.rlen - len - 1);
			sup.rlen -= len + 1;
			return *line != NULL ? 0 : -ENOMEM;
		}
		if (sup.rlen + 4096 > sup.rcap) {
			size_t cap = sup.rcap ? sup.rcap * 2 : 65536;
			char *b;

			if (cap > LINE_MAX_BYTES)
				return -EMSGSIZE;
			b = realloc(sup.rbuf, cap);
			if (b == NULL)
				return -ENOMEM;
			sup.rbuf = b;
			sup.rcap = cap;
		}
		now = wc_util_mono_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		rc = poll(&pfd, 1, (int)(deadline - now));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -errno;
		if (rc == 0)
			return -ETIMEDOUT;
		n = read(sup.fd, sup.rbuf + sup.rlen, sup.rcap - sup.rlen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		sup.rlen += (size_t)n;
	}
}

/* One request and its answer (io held). */
static json_t *converse(const json_t *req, int timeout_ms)
{
	json_error_t jerr;
	char *text, *line = NULL;
	json_t *resp;
	size_t len, off = 0;
	int rc = 0;

	if (sup.fd < 0)
		return wc_sup_error("dataplane_down", "not attached to the dataplane");
	text = json_dumps(req, JSON_COMPACT);
	if (text == NULL)
		return wc_sup_error("internal", "out of memory");
	len = strlen(text);
	text[len++] = '\n'; /* json_dumps' NUL becomes the line's end */
	while (off < len) {
		ssize_t n = send(sup.fd, text + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		off += (size_t)n;
	}
	free(text);
	if (rc == 0)
		rc = read_line(&line, timeout_ms);
	if (rc == -ETIMEDOUT) {
		/* A late answer would pair with the next request: start afresh. */
		wc_mlog(WC_MLOG_WARNING,
			"attach process (pid %d) did not answer in %d ms; restarting it",
			(int)sup.pid, timeout_ms);
		if (sup.pid > 0)
			kill(sup.pid, SIGKILL);
		close_pipe();
		mark_down();
		return wc_sup_error("timeout", "the dataplane did not answer within %d ms",
				    timeout_ms);
	}
	if (rc != 0) {
		/* The child is gone or going; reap() says why. */
		close_pipe();
		mark_down();
		return wc_sup_error("dataplane_down", "the dataplane went away");
	}
	resp = json_loads(line, 0, &jerr);
	free(line);
	if (resp == NULL || !json_is_object(resp) ||
	    !json_is_boolean(json_object_get(resp, "ok"))) {
		json_decref(resp);
		return wc_sup_error("internal", "the attach process answered garbage: %s",
				    jerr.text);
	}
	return resp;
}

json_t *wc_sup_request(const json_t *req, int timeout_ms)
{
	json_t *resp;

	/* While down, say so at once rather than queue behind an attach. */
	if (!wc_sup_attached())
		return wc_sup_error("dataplane_down", "the dataplane is down");
	pthread_mutex_lock(&sup.io);
	resp = converse(req, timeout_ms);
	pthread_mutex_unlock(&sup.io);
	return resp;
}

/* Stop a child we will not talk to; reap() starts another after a pause. (io held) */
static void retire(void)
{
	sup.retiring = true;
	if (sup.pid > 0)
		kill(sup.pid, SIGTERM);
	close_pipe();
}

static bool port_missing(const json_t *reasons)
{
	const json_t *r;
	size_t i;

	json_array_foreach(reasons, i, r)
	{
		const char *t = json_string_value(r);

		if (t != NULL && strstr(t, "is not visible") != NULL)
			return true;
	}
	return false;
}

/* The child answered its first status: attached. (io held) */
static void hello(void)
{
	json_t *req = json_pack("{s:s}", "cmd", "status");
	json_t *resp = converse(req, HELLO_TIMEOUT_MS);
	const char *inst;
	json_t *dp;

	json_decref(req);
	if (!json_is_true(json_object_get(resp, "ok"))) {
		/* A child that exited says why in its exit status (reap()). */
		if (sup.fd >= 0) {
			wc_mlog(WC_MLOG_WARNING, "attach process: status failed: %s",
				json_string_value(json_object_get(resp, "error")) ?: "?");
			retire();
		}
		json_decref(resp);
		return;
	}
	/*
	 * A secondary sees the ports the primary had when the secondary's EAL
	 * started: one started while wirecached was still setting its port up
	 * sees none. Start it again, a few times at most.
	 */
	if (port_missing(json_object_get(json_object_get(resp, "data"), "reasons")) &&
	    sup.early_retries < EARLY_RETRIES) {
		sup.early_retries++;
		wc_mlog(WC_MLOG_INFO, "attached before the dataplane's port was up; again");
		retire();
		json_decref(resp);
		return;
	}
	sup.early_retries = 0;
	dp = json_object_get(json_object_get(resp, "data"), "dataplane");
	sup.dp_pid = (pid_t)json_integer_value(json_object_get(dp, "pid"));
	sup.gone_pid = 0;
	inst = json_string_value(json_object_get(dp, "instance"));
	if (inst == NULL)
		inst = "";
	pthread_mutex_lock(&sup.st);
	sup.attached = true;
	sup.reason[0] = '\0';
	snprintf(sup.instance, sizeof(sup.instance), "%s", inst);
	if (sup.last_instance[0] != '\0' && strcmp(sup.last_instance, inst) != 0) {
		sup.restarts_seen++;
		sup.last_gap = (double)(wc_util_now_ns() - sup.down_since_ns) / 1e9;
	}
	snprintf(sup.last_instance, sizeof(sup.last_instance), "%s", inst);
	sup.down_since_ns = 0;
	pthread_mutex_unlock(&sup.st);
	wc_mlog(WC_MLOG_NOTICE, "attached to the dataplane (pid %lld, instance %s)",
		(long long)json_integer_value(json_object_get(dp, "pid")), inst);
	json_decref(resp);
}

/* Bring the child's queued log events into the log. (io held) */
static void fetch_events(void)
{
	json_t *req = json_pack("{s:s}", "cmd", "events");
	json_t *resp = converse(req, WC_SUP_TIMEOUT_MS);
	json_t *events = json_object_get(json_object_get(resp, "data"), "events");
	json_t *ev;
	size_t i;

	json_decref(req);
	json_array_foreach(events, i, ev)
	{
		const char *type = json_string_value(json_object_get(ev, "type"));
		const char *text = json_string_value(json_object_get(ev, "text"));
		json_t *lv = json_object_get(ev, "level");
		uint32_t level = WC_MLOG_NOTICE;

		if (type == NULL || strcmp(type, "log") != 0 || text == NULL)
			continue;
		if (json_is_string(lv))
			level = wc_mlog_level_parse(json_string_value(lv)) ?: WC_MLOG_NOTICE;
		else if (json_is_integer(lv))
			level = (uint32_t)json_integer_value(lv);
		wc_mlog_line((uint64_t)json_integer_value(json_object_get(ev, "time_ns")), level,
			     "wirecached", text);
	}
	json_decref(resp);
}

/* Reap an exited child; returns when to look for a primary next. (io held) */
static uint64_t reap(int status, uint64_t now)
{
	char why[REASON_MAX + 64];
	uint64_t next = now + PROBE_MS;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;

	drain_stderr();
	if (sup.err_part[0] != '\0') {
		memcpy(sup.err_last, sup.err_part, sizeof(sup.err_last));
		sup.err_part[0] = '\0';
	}
	close_pipe();
	close(sup.err_fd);
	sup.err_fd = -1;
	sup.pid = 0;
	if (sup.retiring) {
		sup.retiring = false;
		return next;
	}

	switch (code) {
	case 2:
		snprintf(why, sizeof(why), "no dataplane with file-prefix %s", sup.prefix);
		break;
	case 3:
		snprintf(why, sizeof(why), "%s",
			 sup.err_last[0] ? sup.err_last : "contract version mismatch");
		next = now + RETRY_MS;
		wc_mlog(WC_MLOG_ERR, "cannot attach: %s", why);
		break;
	case 4:
		sup.gone_pid = sup.dp_pid;
		snprintf(why, sizeof(why), "the dataplane exited");
		wc_mlog(WC_MLOG_WARNING, "detached: %s", why);
		break;
	case 127:
		snprintf(why, sizeof(why), "cannot run %.200s", sup.attach_path);
		next = now + RETRY_MS;
		wc_mlog(WC_MLOG_ERR, "%s", why);
		break;
	default:
		if (WIFSIGNALED(status))
			snprintf(why, sizeof(why), "the attach process was killed by signal %d%s%s",
				 WTERMSIG(status), sup.err_last[0] ? ": " : "", sup.err_last);
		else
			snprintf(why, sizeof(why), "the attach process exited with status %d%s%s",
				 code, sup.err_last[0] ? ": " : "", sup.err_last);
		next = now + RETRY_MS / 5;
		wc_mlog(WC_MLOG_WARNING, "%s", why);
		break;
	}
	mark_down();
	pthread_mutex_lock(&sup.st);
	/* Only a reason besides "down" is worth a line of its own in status. */
	if (code == 3 || code == 127 || (code != 2 && code != 4))
		snprintf(sup.reason, sizeof(sup.reason), "%.200s", why);
	else
		sup.reason[0] = '\0';
	pthread_mutex_unlock(&sup.st);
	return next;
}

static void *supervise(void *arg)
{
	uint64_t next_probe = 0, next_events = 0;

	(void)arg;
	while (!sup.stop) {
		uint64_t now = wc_util_mono_ms();
		int status;

		pthread_mutex_lock(&sup.io);
		drain_stderr();
		if (sup.pid > 0 && waitpid(sup.pid, &status, WNOHANG) == sup.pid)
			next_probe = reap(status, now);
		if (sup.pid == 0 && now >= next_probe) {
			next_probe = now + PROBE_MS;
			if (primary_alive()) {
				int rc = spawn();

				if (rc != 0)
					wc_mlog(WC_MLOG_ERR, "cannot start %s: %s", sup.attach_path,
						strerror(-rc));
				else
					hello();
				next_events = wc_util_mono_ms();
			}
		}
		if (sup.pid > 0 && sup.fd >= 0 && wc_sup_attached() && now >= next_events) {
			fetch_events();
			next_events = now + EVENTS_MS;
		}
		pthread_mutex_unlock(&sup.io);
		usleep(TICK_MS * 1000);
	}
	return NULL;
}

int wc_sup_setup(const struct wc_sup_params *p, char *err, size_t errlen)
{
	const char *base = "/var/run";
	int rc;

	snprintf(sup.attach_path, sizeof(sup.attach_path), "%s", p->attach_path);
	snprintf(sup.config_path, sizeof(sup.config_path), "%s", p->config_path);
	snprintf(sup.prefix, sizeof(sup.prefix), "%s", p->cfg->file_prefix);
	/* Where EAL keeps a prefix's runtime files (eal_get_runtime_dir()). */
	if (getuid() != 0) {
		base = getenv("XDG_RUNTIME_DIR");
		if (base == NULL)
			base = "/tmp";
	}
	snprintf(sup.runtime_config, sizeof(sup.runtime_config), "%s/dpdk/%s/config", base,
		 sup.prefix);
	sup.down_since_ns = wc_util_now_ns();
	sup.stop = false;
	rc = pthread_create(&sup.tid, NULL, supervise, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the supervisor thread: %s", strerror(rc));
		return -rc;
	}
	sup.running = true;
	return 0;
}

void wc_sup_teardown(void)
{
	uint64_t deadline;
	int status;

	if (!sup.running)
		return;
	sup.stop = true;
	pthread_join(sup.tid, NULL);
	sup.running = false;

	pthread_mutex_lock(&sup.io);
	if (sup.pid > 0) {
		/* EOF on its stdin asks it to leave; SIGTERM if it does not. */
		close_pipe();
		kill(sup.pid, SIGTERM);
		deadline = wc_util_mono_ms() + STOP_WAIT_MS;
		while (waitpid(sup.pid, &status, WNOHANG) == 0) {
			if (wc_util_mono_ms() >= deadline) {
				kill(sup.pid, SIGKILL);
				waitpid(sup.pid, &status, 0);
				break;
			}
			usleep(10000);
		}
		sup.pid = 0;
	}
	if (sup.err_fd >= 0)
		close(sup.err_fd);
	sup.err_fd = -1;
	free(sup.rbuf);
	sup.rbuf = NULL;
	sup.rcap = 0;
	pthread_mutex_unlock(&sup.io);
}

/* Set a key of @p obj, replacing any; NULL values become JSON null. */
static void put(json_t *obj, const char *key, json_t *v)
{
	json_object_set_new(obj, key, v != NULL ? v : json_null());
}

json_t *wc_sup_status(void)
{
	json_t *doc = NULL, *dp, *reasons, *resp = NULL;
	char when[40];

	if (wc_sup_attached()) {
		json_t *req = json_pack("{s:s}", "cmd", "status");

		resp = wc_sup_request(req, WC_SUP_TIMEOUT_MS);
		json_decref(req);
		if (json_is_true(json_object_get(resp, "ok")) &&
		    json_is_object(json_object_get(resp, "data")))
			doc = json_deep_copy(json_object_get(resp, "data"));
		json_decref(resp);
	}

	pthread_mutex_lock(&sup.st);
	if (doc != NULL && sup.attached) {
		dp = json_object_get(doc, "dataplane");
		if (!json_is_object(dp)) {
			dp = json_object();
			json_object_set_new(doc, "dataplane", dp);
		}
		if (!json_is_array(json_object_get(doc, "reasons")))
			json_object_set_new(doc, "reasons", json_array());
		if (!json_is_string(json_object_get(doc, "health")))
			json_object_set_new(doc, "health", json_string("ok"));
		put(dp, "attached", json_true());
		put(dp, "down_since", NULL);
	} else {
		json_decref(doc);
		doc = json_object();
		dp = json_object();
		reasons = json_array();
		wc_mlog_iso_time(sup.down_since_ns, when, sizeof(when));
		json_array_append_new(reasons, json_sprintf("dataplane down since %s", when));
		if (sup.reason[0] != '\0')
			json_array_append_new(reasons, json_string(sup.reason));
		put(doc, "health", json_string("down"));
		put(doc, "reasons", reasons);
		put(doc, "dataplane", dp);
		put(doc, "lcores", json_array());
		put(doc, "ports", json_array());
		put(dp, "attached", json_false());
		put(dp, "pid", NULL);
		put(dp, "instance", NULL);
		put(dp, "uptime_seconds", NULL);
		put(dp, "start_time", NULL);
		put(dp, "down_since", json_integer((json_int_t)(sup.down_since_ns / 1000000000u)));
		put(dp, "config_generation", NULL);
	}
	put(dp, "restarts_seen", json_integer(sup.restarts_seen));
	put(dp, "last_gap_seconds", sup.last_gap >= 0 ? json_real(sup.last_gap) : NULL);
	put(dp, "file_prefix", json_string(sup.prefix));
	pthread_mutex_unlock(&sup.st);
	return doc;
}
