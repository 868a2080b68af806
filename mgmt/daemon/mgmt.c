/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * wirecache-mgmt: the management daemon.
 *
 *   main thread      the Unix control socket's accept loop, signals, lifetime
 *   a thread/client  reads request lines and answers them in order
 *   supervisor       runs and watches wirecache-mgmt-attach (sup.c)
 *   HTTP thread      /metrics (mgmt/metrics), when metrics-listen is set
 *
 * status and log are answered here; config is checked here (mgmt-only
 * options, rewrite) and forwarded; everything else goes to the attach child
 * as it came. The daemon has no EAL: it lives on while the dataplane comes
 * and goes.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "mgmt/config.h"
#include "mgmt/contract.h"

#include "mlog.h"
#include "sup.h"
#include "util.h"

#ifdef WC_HAVE_METRICS
#include "mgmt/metrics/metrics.h"
#endif

#ifndef WC_LIBEXECDIR
#define WC_LIBEXECDIR "/usr/libexec"
#endif

#define ATTACH_NAME "wirecache-mgmt-attach"
#define REQUEST_MAX (64u << 10) /* longest request line */
#define CLIENTS_MAX 64
#define LOG_DEFAULT 50
#define LOOP_MS	    200

static struct wc_config cfg; /* mgmt's options; log_level changes under cfg_lock */
static pthread_mutex_t cfg_lock = PTHREAD_MUTEX_INITIALIZER;
static char config_path[PATH_MAX];
static uint64_t start_ms;
static unsigned int n_clients; /* under cfg_lock */

/* {"ok":true,"data":@p data} (steals @p data); NULL (out of memory) without data. */
static json_t *ok(json_t *data)
{
	if (data == NULL)
		return NULL;
	return json_pack("{s:b, s:o}", "ok", 1, "data", data);
}

/* ---- commands ---------------------------------------------------------- */

/* Arguments of a request: an array of strings (checked by handle()). */
static const char *arg(const json_t *args, size_t i)
{
	return json_string_value(json_array_get(args, i));
}

/* Parse a decimal count within [0, max]; -1 if it is not one. */
static long long count_arg(const char *s, long long max)
{
	char *end;
	long long v;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	return v;
}

static json_t *forward(const char *cmd, const json_t *args)
{
	json_t *req, *resp;

	req = json_pack("{s:s}", "cmd", cmd);
	if (req == NULL)
		return NULL;
	if (args != NULL && json_array_size(args) > 0)
		json_object_set(req, "args", (json_t *)args);
	resp = wc_sup_request(req, WC_SUP_TIMEOUT_MS);
	json_decref(req);
	return resp;
}

static json_t *cmd_forward(const char *cmd, const json_t *args)
{
	return forward(cmd, args);
}

/* The status document, with wirecache-mgmt's own part. */
static json_t *status_doc(void)
{
	json_t *st = wc_sup_status(), *doc, *mgmt;
	const char *key;
	json_t *v;

	if (st == NULL)
		return NULL;
	pthread_mutex_lock(&cfg_lock);
	mgmt = json_pack("{s:i, s:I, s:s, s:s, s:s}", "pid", (int)getpid(), "uptime_seconds",
			 (json_int_t)((wc_util_mono_ms() - start_ms) / 1000), "config_file",
			 config_path, "socket", cfg.mgmt_socket, "metrics_listen",
			 cfg.metrics_listen);
	pthread_mutex_unlock(&cfg_lock);
	/* The documented order: health, reasons, version, contract, mgmt, the rest. */
	doc = json_pack("{s:O, s:O, s:s, s:i, s:o}", "health", json_object_get(st, "health"),
			"reasons", json_object_get(st, "reasons"), "version", WC_VERSION,
			"contract_version", WC_CONTRACT_VERSION, "mgmt", mgmt);
	if (doc != NULL) {
		json_object_foreach(st, key, v)
		{
			if (json_object_get(doc, key) == NULL)
				json_object_set(doc, key, v);
		}
	}
	json_decref(st);
	return doc;
}

static json_t *cmd_status(const char *cmd, const json_t *args)
{
	(void)cmd;
	(void)args;
	return ok(status_doc());
}

static json_t *cmd_log(const char *cmd, const json_t *args)
{
	long long n = LOG_DEFAULT;

	(void)cmd;
	if (json_array_size(args) > 0) {
		n = count_arg(arg(args, 0), LLONG_MAX);
		if (n < 0)
			return wc_sup_error("usage", "log N: N is a number of lines (at most %u)",
					    WC_MLOG_KEEP);
		if (n > WC_MLOG_KEEP)
			n = WC_MLOG_KEEP;
	}
	return ok(wc_mlog_tail((unsigned int)n));
}

static json_t *cmd_flush(const char *cmd, const json_t *args)
{
	if (json_array_size(args) > 0 && count_arg(arg(args, 0), UINT32_MAX) < 0)
		return wc_sup_error("usage", "flush [DELAY]: DELAY is whole seconds");
	return forward(cmd, args);
}

static bool mgmt_only(const struct wc_opt_info *o)
{
	return (o->flags & WC_OPT_DP) == 0;
}

/* Our value of an option, for the options only we read. */
static void own_value(const struct wc_opt_info *o, char *buf, size_t len)
{
	pthread_mutex_lock(&cfg_lock);
	wc_config_get(&cfg, o->name, buf, len);
	pthread_mutex_unlock(&cfg_lock);
}

static json_t *config_get(const json_t *args)
{
	const char *name = arg(args, 1);
	json_t *resp, *data, *opt;
	size_t i;

	if (json_array_size(args) > 2)
		return wc_sup_error("usage", "config get [NAME]");
	if (name != NULL && wc_config_find(name) == NULL)
		return wc_sup_error("refused", "unknown option '%s'", name);
	resp = forward("config", args);
	data = json_object_get(resp, "data");
	if (!json_is_true(json_object_get(resp, "ok")) || !json_is_object(data))
		return resp;
	/* The options only wirecache-mgmt reads: its values, not the child's. */
	json_array_foreach(json_object_get(data, "options"), i, opt)
	{
		const struct wc_opt_info *o =
			wc_config_find(json_string_value(json_object_get(opt, "name")) ?: "");
		char val[WC_PATH_MAX + 1];

		if (o != NULL && mgmt_only(o)) {
			own_value(o, val, sizeof(val));
			json_object_set_new(opt, "value", json_string(val));
		}
	}
	json_object_set_new(data, "file", json_string(config_path));
	return resp;
}

static json_t *config_set(const json_t *args)
{
	const char *name = arg(args, 1), *value = arg(args, 2), *now;
	const struct wc_opt_info *o;
	json_t *resp;
	char err[256];

	if (json_array_size(args) != 3)
		return wc_sup_error("usage", "config set NAME VALUE");
	o = wc_config_find(name);
	if (o == NULL)
		return wc_sup_error("refused", "unknown option '%s'", name);
	if (mgmt_only(o))
		return wc_sup_error("refused",
				    "%s is wirecache-mgmt's own option: set it in the config file "
				    "and restart wirecache-mgmt",
				    name);
	if (!(o->flags & WC_OPT_RUNTIME))
		return wc_sup_error("refused",
				    "%s cannot change at runtime: set it in the config file and "
				    "restart wirecached",
				    name);
	resp = forward("config", args);
	if (!json_is_true(json_object_get(resp, "ok")) || !(o->flags & WC_OPT_MGMT))
		return resp;
	/* An option both programs read (log-level) changes here too. */
	now = json_string_value(json_object_get(json_object_get(resp, "data"), "value"));
	pthread_mutex_lock(&cfg_lock);
	if (wc_config_set(&cfg, name, now ?: value, err, sizeof(err)) == 0 &&
	    strcmp(name, "log-level") == 0)
		wc_mlog_set_level(cfg.log_level);
	pthread_mutex_unlock(&cfg_lock);
	wc_mlog(WC_MLOG_NOTICE, "config set %s %s", name, now ?: value);
	return resp;
}

/*
 * Persist the live config: the dataplane's options as it runs them now, ours
 * as we run them. lifetime is the one exception: a bound on one run given on
 * a command line, it keeps the file's value.
 */
static json_t *config_rewrite(const json_t *args)
{
	struct wc_config merged, file;
	json_t *req, *resp, *data, *vals, *v;
	const char *key;
	char err[512];
	json_int_t gen;

	if (json_array_size(args) != 1)
		return wc_sup_error("usage", "config rewrite");
	if (config_path[0] == '\0')
		return wc_sup_error("refused", "wirecache-mgmt was started without --config: "
					       "there is no file to rewrite");
	req = json_pack("{s:s, s:[s]}", "cmd", "config", "args", "dump");
	resp = wc_sup_request(req, WC_SUP_TIMEOUT_MS);
	json_decref(req);
	data = json_object_get(resp, "data");
	vals = json_object_get(data, "values");
	if (!json_is_true(json_object_get(resp, "ok")))
		return resp;
	if (!json_is_object(vals)) {
		json_decref(resp);
		return wc_sup_error("internal", "config dump without values");
	}
	gen = json_integer_value(json_object_get(data, "generation"));

	wc_config_defaults(&file);
	if (wc_config_load_file(&file, config_path, err, sizeof(err)) != 0) {
		json_decref(resp);
		return wc_sup_error("internal", "%s", err);
	}
	pthread_mutex_lock(&cfg_lock);
	merged = cfg;
	pthread_mutex_unlock(&cfg_lock);
	json_object_foreach(vals, key, v)
	{
		const struct wc_opt_info *o = wc_config_find(key);

		if (o == NULL || mgmt_only(o) || !json_is_string(v) || strcmp(key, "lifetime") == 0)
			continue;
		if (wc_config_set(&merged, key, json_string_value(v), err, sizeof(err)) != 0) {
			json_decref(resp);
			return wc_sup_error("internal", "the dataplane's %s: %s", key, err);
		}
	}
	json_decref(resp);
	merged.lifetime = file.lifetime;
	if (wc_config_rewrite(config_path, &merged, err, sizeof(err)) != 0) {
		wc_mlog(WC_MLOG_ERR, "config rewrite: %s", err);
		return wc_sup_error("internal", "%s", err);
	}
	wc_mlog(WC_MLOG_NOTICE, "config rewrite: wrote %s (generation %lld)", config_path,
		(long long)gen);
	return ok(json_pack("{s:s, s:I}", "file", config_path, "generation", gen));
}

static json_t *cmd_config(const char *cmd, const json_t *args)
{
	const char *sub = arg(args, 0);

	(void)cmd;
	if (sub != NULL && strcmp(sub, "get") == 0)
		return config_get(args);
	if (sub != NULL && strcmp(sub, "set") == 0)
		return config_set(args);
	if (sub != NULL && strcmp(sub, "rewrite") == 0)
		return config_rewrite(args);
	return wc_sup_error("usage", "config get [NAME] | set NAME VALUE | rewrite");
}

/* The commands of the control socket. */
static const struct command {
	const char *name;
	unsigned int max_args;
	json_t *(*fn)(const char *cmd, const json_t *args);
} commands[] = {
	{ "status", 0, cmd_status }, { "stats", 0, cmd_forward },
	{ "ports", 0, cmd_forward }, { "partitions", 0, cmd_forward },
	{ "config", 3, cmd_config }, { "flush", 1, cmd_flush },
	{ "log", 1, cmd_log },
};

/* One request line -> one response object. */
static json_t *handle(const char *line, size_t len)
{
	const json_t *args;
	const char *cmd;
	json_error_t jerr;
	json_t *req, *resp = NULL, *a;
	size_t i;

	req = json_loadb(line, len, 0, &jerr);
	if (!json_is_object(req)) {
		json_decref(req);
		return wc_sup_error("usage", "a request is one JSON object per line");
	}
	cmd = json_string_value(json_object_get(req, "cmd"));
	args = json_object_get(req, "args");
	if (cmd == NULL) {
		resp = wc_sup_error("usage", "the request has no \"cmd\"");
		goto out;
	}
	if (args != NULL && !json_is_array(args)) {
		resp = wc_sup_error("usage", "\"args\" is a list of strings");
		goto out;
	}
	json_array_foreach(args, i, a)
	{
		if (!json_is_string(a)) {
			resp = wc_sup_error("usage", "\"args\" is a list of strings");
			goto out;
		}
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(cmd, commands[i].name) != 0)
			continue;
		if (json_array_size(args) > commands[i].max_args)
			resp = wc_sup_error("usage", "%s: too many arguments", cmd);
		else
			resp = commands[i].fn(cmd, args);
		goto out;
	}
	resp = wc_sup_error("usage", "unknown command '%s'", cmd);
out:
	if (resp == NULL)
		resp = wc_sup_error("internal", "out of memory");
	wc_mlog(WC_MLOG_DEBUG, "request %.*s: %s", (int)(len > 200 ? 200 : len), line,
		json_is_true(json_object_get(resp, "ok"))
			? "ok"
			: json_string_value(json_object_get(resp, "code")) ?: "failed");
	json_decref(req);
	return resp;
}

/* ---- the control socket ------------------------------------------------ */

static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int respond(int fd, json_t *resp)
{
	char *text = json_dumps(resp, JSON_COMPACT);
	size_t len;
	int rc;

	json_decref(resp);
	if (text == NULL)
		return -1;
	len = strlen(text);
	text[len++] = '\n';
	rc = send_all(fd, text, len);
	free(text);
	return rc;
}

/* One client: request lines in, response lines out, in order. */
static void *client(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char *buf = malloc(REQUEST_MAX);
	size_t len = 0;

	while (buf != NULL) {
		char *nl = memchr(buf, '\n', len);
		ssize_t n;

		if (nl != NULL) {
			size_t l = (size_t)(nl - buf);

			if (respond(fd, handle(buf, l)) != 0)
				break;
			memmove(buf, nl + 1, len - l - 1);
			len -= l + 1;
			continue;
		}
		if (len == REQUEST_MAX) {
			respond(fd,
				wc_sup_error("usage", "request longer than %u bytes", REQUEST_MAX));
			break;
		}
		n = read(fd, buf + len, REQUEST_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	free(buf);
	close(fd);
	pthread_mutex_lock(&cfg_lock);
	n_clients--;
	pthread_mutex_unlock(&cfg_lock);
	return NULL;
}

static void accept_client(int lfd)
{
	pthread_attr_t attr;
	pthread_t tid;
	bool full;
	int fd;

	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		/* Out of descriptors: the connection waits in the backlog; do not spin. */
		if (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS)
			usleep(100 * 1000);
		return;
	}
	pthread_mutex_lock(&cfg_lock);
	full = n_clients >= CLIENTS_MAX;
	if (!full)
		n_clients++;
	pthread_mutex_unlock(&cfg_lock);
	if (full) {
		respond(fd, wc_sup_error("internal", "too many clients (%u)", CLIENTS_MAX));
		close(fd);
		return;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &attr, client, (void *)(intptr_t)fd) != 0) {
		close(fd);
		pthread_mutex_lock(&cfg_lock);
		n_clients--;
		pthread_mutex_unlock(&cfg_lock);
	}
	pthread_attr_destroy(&attr);
}

/*
 * Bind the control socket: create its directory; a socket file nobody
 * answers on is a stale one from a killed daemon and goes; one that answers
 * is another daemon's.
 */
static int listen_socket(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat stt;
	int fd, rc;

	if (path[0] == '\0' || strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "mgmt-socket '%s': not a usable socket path", path);
		return -EINVAL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	rc = wc_util_mkdir_parent(path, 0755);
	if (rc != 0) {
		snprintf(err, errlen, "mgmt-socket %s: cannot create its directory: %s", path,
			 strerror(-rc));
		return rc;
	}
	if (lstat(path, &stt) == 0) {
		if (!S_ISSOCK(stt.st_mode)) {
			snprintf(err, errlen, "mgmt-socket %s: exists and is not a socket", path);
			return -EEXIST;
		}
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(fd);
			snprintf(err, errlen, "mgmt-socket %s: another wirecache-mgmt serves it",
				 path);
			return -EADDRINUSE;
		}
		if (fd >= 0)
			close(fd);
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(path, 0660) != 0 ||
	    listen(fd, 64) != 0) {
		rc = -errno;
		snprintf(err, errlen, "mgmt-socket %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	return fd;
}

/*
 * One daemon per file-prefix: two would run two attach children, both
 * taking from the dataplane's single-consumer event ring. The lock is an
 * flock on <run dir>/wirecache/mgmt-<prefix>.lock (the run dir as EAL picks
 * it: /var/run for root, else $XDG_RUNTIME_DIR or /tmp); the kernel drops it
 * when the daemon dies, however it dies.
 */
static int lock_prefix(const char *prefix, char *err, size_t errlen)
{
	const char *base = "/var/run";
	char path[PATH_MAX], pid[32] = "";
	ssize_t n;
	int fd, rc;

	if (getuid() != 0) {
		base = getenv("XDG_RUNTIME_DIR");
		if (base == NULL)
			base = "/tmp";
	}
	snprintf(path, sizeof(path), "%s/wirecache/mgmt-%s.lock", base, prefix);
	rc = wc_util_mkdir_parent(path, 0755);
	fd = rc == 0 ? open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644) : -1;
	if (fd < 0) {
		rc = rc != 0 ? rc : -errno;
		snprintf(err, errlen, "%.300s: %s", path, strerror(-rc));
		return rc;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		rc = -errno;
		n = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		snprintf(err, errlen, "another wirecache-mgmt%s%s%s serves file-prefix %s (%.200s)",
			 pid[0] ? " (pid " : "", pid, pid[0] ? ")" : "", prefix, path);
		close(fd);
		return rc == -EWOULDBLOCK ? -EADDRINUSE : rc;
	}
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, strlen(pid), 0) < 0)
		wc_mlog(WC_MLOG_WARNING, "%s: %s", path, strerror(errno));
	return fd;
}

/* ---- the attach child's binary ----------------------------------------- */

/*
 * $WIRECACHE_ATTACH; else next to us in a build tree (mgmt/daemon/ ->
 * mgmt/attach/) or an install (same directory); else the libexec directory.
 */
static int find_attach(char *out, size_t len, char *err, size_t errlen)
{
	const char *env = getenv("WIRECACHE_ATTACH");
	char self[PATH_MAX], cand[PATH_MAX + 64];
	const char *const rel[] = { "../attach/" ATTACH_NAME, ATTACH_NAME };
	const char *const abs[] = { WC_LIBEXECDIR "/" ATTACH_NAME,
				    WC_LIBEXECDIR "/wirecache/" ATTACH_NAME };
	ssize_t n;
	char *slash;

	if (env != NULL && env[0] != '\0') {
		if (access(env, X_OK) != 0) {
			snprintf(err, errlen, "WIRECACHE_ATTACH=%s: %s", env, strerror(errno));
			return -ENOENT;
		}
		snprintf(out, len, "%s", env);
		return 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash != NULL)
			slash[1] = '\0';
		for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
			snprintf(cand, sizeof(cand), "%s%s", self, rel[i]);
			if (access(cand, X_OK) == 0 && realpath(cand, out) != NULL)
				return 0;
		}
	}
	for (size_t i = 0; i < sizeof(abs) / sizeof(abs[0]); i++) {
		if (access(abs[i], X_OK) == 0) {
			snprintf(out, len, "%s", abs[i]);
			return 0;
		}
	}
	snprintf(err, errlen,
		 "cannot find %s (looked next to this program and in %s; set WIRECACHE_ATTACH)",
		 ATTACH_NAME, WC_LIBEXECDIR);
	return -ENOENT;
}

/* ---- /metrics ---------------------------------------------------------- */

#ifdef WC_HAVE_METRICS
/* On the HTTP thread: the child is shared with the clients through sup's lock. */
static char *render_metrics(void *arg)
{
	json_t *status = status_doc(), *stats = NULL, *req, *resp;
	char *text;

	(void)arg;
	if (wc_sup_attached()) {
		req = json_pack("{s:s}", "cmd", "stats");
		resp = wc_sup_request(req, WC_SUP_TIMEOUT_MS);
		json_decref(req);
		if (json_is_true(json_object_get(resp, "ok")))
			stats = json_incref(json_object_get(resp, "data"));
		json_decref(resp);
	}
	text = wc_metrics_render(stats, status);
	json_decref(stats);
	json_decref(status);
	return text;
}
#endif

static int start_metrics(const char *listen_addr, char *err, size_t errlen)
{
	if (listen_addr[0] == '\0')
		return 0;
#ifdef WC_HAVE_METRICS
	return wc_httpd_start(listen_addr, render_metrics, NULL, err, errlen);
#else
	snprintf(err, errlen, "metrics-listen %s: built without the /metrics endpoint",
		 listen_addr);
	return -ENOTSUP;
#endif
}

static void stop_metrics(void)
{
#ifdef WC_HAVE_METRICS
	wc_httpd_stop();
#endif
}

/* ---- main -------------------------------------------------------------- */

int main(int argc, char **argv)
{
	struct wc_sup_params sp;
	char err[1024], attach[PATH_MAX];
	bool metrics = false;
	sigset_t sigs;
	int lfd, sfd, rc;

	wc_config_defaults(&cfg);
	rc = wc_config_parse_args(&cfg, argc, argv, "wirecache-mgmt", WC_OPT_MGMT, config_path,
				  sizeof(config_path), err, sizeof(err));
	if (rc == 1)
		return 0;
	if (rc != 0) {
		fprintf(stderr, "wirecache-mgmt: %s\n", err);
		return 2;
	}
	start_ms = wc_util_mono_ms();

	/* Every thread inherits this mask; the main loop takes the signals. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);

	if (wc_mlog_setup(cfg.log_file, cfg.log_level, err, sizeof(err)) != 0) {
		fprintf(stderr, "wirecache-mgmt: %s\n", err);
		return 1;
	}
	if (find_attach(attach, sizeof(attach), err, sizeof(err)) != 0) {
		wc_mlog(WC_MLOG_ERR, "%s", err);
		return 1;
	}
	/* Held until exit (the kernel releases it). */
	if (lock_prefix(cfg.file_prefix, err, sizeof(err)) < 0) {
		wc_mlog(WC_MLOG_ERR, "%s", err);
		return 1;
	}
	lfd = listen_socket(cfg.mgmt_socket, err, sizeof(err));
	if (lfd < 0) {
		wc_mlog(WC_MLOG_ERR, "%s", err);
		return 1;
	}
	if (start_metrics(cfg.metrics_listen, err, sizeof(err)) != 0) {
		wc_mlog(WC_MLOG_ERR, "%s", err);
		rc = 1;
		goto out_socket;
	}
	metrics = cfg.metrics_listen[0] != '\0';
	sp = (struct wc_sup_params){ .attach_path = attach,
				     .config_path = config_path,
				     .cfg = &cfg };
	if (wc_sup_setup(&sp, err, sizeof(err)) != 0) {
		wc_mlog(WC_MLOG_ERR, "%s", err);
		rc = 1;
		goto out_metrics;
	}
	wc_mlog(WC_MLOG_NOTICE, "ready: socket %s, metrics %s, file-prefix %s, config %s",
		cfg.mgmt_socket, metrics ? cfg.metrics_listen : "off", cfg.file_prefix,
		config_path[0] ? config_path : "none");

	rc = 0;
	for (;;) {
		struct pollfd pfd[2] = { { .fd = lfd, .events = POLLIN },
					 { .fd = sfd, .events = POLLIN } };
		struct signalfd_siginfo si;

		if (cfg.lifetime != 0 && wc_util_mono_ms() - start_ms >= cfg.lifetime * 1000ull) {
			wc_mlog(WC_MLOG_NOTICE, "lifetime of %u s reached", cfg.lifetime);
			break;
		}
		if (poll(pfd, 2, LOOP_MS) < 0 && errno != EINTR) {
			wc_mlog(WC_MLOG_ERR, "poll: %s", strerror(errno));
			rc = 1;
			break;
		}
		if (pfd[0].revents & POLLIN)
			accept_client(lfd);
		if ((pfd[1].revents & POLLIN) && read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGHUP) {
				wc_mlog_reopen();
				continue;
			}
			wc_mlog(WC_MLOG_NOTICE, "signal %u: stopping", si.ssi_signo);
			break;
		}
	}

	wc_sup_teardown();
out_metrics:
	if (metrics)
		stop_metrics();
out_socket:
	close(lfd);
	unlink(cfg.mgmt_socket);
	wc_mlog(WC_MLOG_NOTICE, "stopped");
	wc_mlog_teardown();
	close(sfd);
	return rc;
}
