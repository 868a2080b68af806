/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "mgmt/ctl/client.h"
#include "mgmt/ctl/fmt.h"

void wc_ctl_init(struct wc_ctl_conn *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

int wc_ctl_connect(struct wc_ctl_conn *c, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	wc_ctl_close(c);
	snprintf(c->path, sizeof(c->path), "%s", path);
	if (path[0] == '\0') {
		snprintf(err, errlen, "empty socket path");
		return WC_EXIT_UNREACHABLE;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path too long (%zu bytes, at most %zu): %s",
			 strlen(path), sizeof(sa.sun_path) - 1, path);
		return WC_EXIT_UNREACHABLE;
	}
	if (stat(path, &st) != 0) {
		if (errno == ENOENT)
			snprintf(err, errlen,
				 "no socket at %s: wirecache-mgmt is not running there "
				 "(or give its socket with --socket)",
				 path);
		else
			snprintf(err, errlen, "cannot reach wirecache-mgmt at %s: %s", path,
				 strerror(errno));
		return WC_EXIT_UNREACHABLE;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s is not a socket (give wirecache-mgmt's with --socket)",
			 path);
		return WC_EXIT_UNREACHABLE;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return WC_EXIT_UNREACHABLE;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;

		close(fd);
		if (e == ECONNREFUSED)
			snprintf(err, errlen,
				 "connection refused at %s: wirecache-mgmt is not running there "
				 "(a stale socket)",
				 path);
		else if (e == EACCES)
			snprintf(err, errlen,
				 "no permission to connect to %s (wirecache-mgmt lets its socket's "
				 "group in: run as a member of it, or as root)",
				 path);
		else
			snprintf(err, errlen, "cannot connect to wirecache-mgmt at %s: %s", path,
				 strerror(e));
		return WC_EXIT_UNREACHABLE;
	}
	c->fd = fd;
	return WC_EXIT_OK;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int send_all(struct wc_ctl_conn *c, const char *p, size_t n, char *err, size_t errlen)
{
	while (n > 0) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			snprintf(err, errlen, "wirecache-mgmt at %s closed the connection (%s)",
				 c->path, strerror(errno));
			wc_ctl_close(c);
			return WC_EXIT_UNREACHABLE;
		}
		p += w;
		n -= (size_t)w;
	}
	return WC_EXIT_OK;
}

/* One line, newline excluded, into a fresh string. */
static int read_line(struct wc_ctl_conn *c, int timeout_ms, char **line, char *err, size_t errlen)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		char *nl = c->len > 0 ? memchr(c->buf, '\n', c->len) : NULL;
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		int64_t left;
		ssize_t r;

		if (nl != NULL) {
			size_t n = (size_t)(nl - c->buf);

			*line = strndup(c->buf, n);
			if (*line == NULL) {
				snprintf(err, errlen, "out of memory");
				return WC_EXIT_FAILED;
			}
			memmove(c->buf, nl + 1, c->len - n - 1);
			c->len -= n + 1;
			return WC_EXIT_OK;
		}
		if (c->cap - c->len < 4096) {
			size_t cap = c->cap ? c->cap * 2 : 65536;
			char *b = realloc(c->buf, cap);

			if (b == NULL) {
				snprintf(err, errlen, "out of memory");
				return WC_EXIT_FAILED;
			}
			c->buf = b;
			c->cap = cap;
		}
		left = deadline - now_ms();
		if (left <= 0) {
			snprintf(err, errlen, "no reply from wirecache-mgmt at %s within %d ms",
				 c->path, timeout_ms);
			/* A late reply would answer the next request: start over. */
			wc_ctl_close(c);
			return WC_EXIT_FAILED;
		}
		if (poll(&pfd, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return WC_EXIT_FAILED;
		}
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, errlen, "wirecache-mgmt at %s closed the connection%s%s",
				 c->path, r < 0 ? ": " : "", r < 0 ? strerror(errno) : "");
			wc_ctl_close(c);
			return WC_EXIT_UNREACHABLE;
		}
		c->len += (size_t)r;
	}
}

static int code_status(const char *code)
{
	if (strcmp(code, "usage") == 0)
		return WC_EXIT_USAGE;
	if (strcmp(code, "dataplane_down") == 0)
		return WC_EXIT_DOWN;
	return WC_EXIT_FAILED;
}

int wc_ctl_call(struct wc_ctl_conn *c, const char *cmd, const char *const *args, size_t nargs,
		int timeout_ms, struct wc_ctl_reply *out, char *err, size_t errlen)
{
	json_t *req = json_object(), *jargs, *ok;
	json_error_t jerr;
	char *text;
	int rc;

	memset(out, 0, sizeof(*out));
	if (c->fd < 0) {
		snprintf(err, errlen, "not connected to wirecache-mgmt at %s", c->path);
		json_decref(req);
		return WC_EXIT_UNREACHABLE;
	}
	json_object_set_new(req, "cmd", json_string(cmd));
	if (nargs > 0) {
		jargs = json_array();
		for (size_t i = 0; i < nargs; i++)
			json_array_append_new(jargs, json_string(args[i]));
		json_object_set_new(req, "args", jargs);
	}
	text = json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(req);
	if (text == NULL) {
		snprintf(err, errlen, "cannot encode the request (an argument is not UTF-8?)");
		return WC_EXIT_USAGE;
	}
	rc = send_all(c, text, strlen(text), err, errlen);
	if (rc == WC_EXIT_OK)
		rc = send_all(c, "\n", 1, err, errlen);
	free(text);
	if (rc != WC_EXIT_OK)
		return rc;
	rc = read_line(c, timeout_ms, &out->line, err, errlen);
	if (rc != WC_EXIT_OK)
		return rc;
	out->root = json_loads(out->line, JSON_REJECT_DUPLICATES, &jerr);
	if (out->root == NULL || !json_is_object(out->root)) {
		snprintf(err, errlen, "wirecache-mgmt sent a reply that is not a JSON object: %s",
			 out->root == NULL ? jerr.text : "another type");
		wc_ctl_reply_free(out);
		return WC_EXIT_FAILED;
	}
	ok = json_object_get(out->root, "ok");
	if (!json_is_true(ok)) {
		const char *code = json_string_value(json_object_get(out->root, "code"));
		const char *e = json_string_value(json_object_get(out->root, "error"));

		snprintf(err, errlen, "%s", e != NULL ? e : "request failed (no reason given)");
		rc = code_status(code != NULL ? code : "");
		wc_ctl_reply_free(out);
		return rc;
	}
	out->data = json_object_get(out->root, "data");
	if (out->data == NULL || wc_json_member_raw(out->line, "data", &out->raw, &out->raw_len)) {
		snprintf(err, errlen, "wirecache-mgmt's reply has no data");
		wc_ctl_reply_free(out);
		return WC_EXIT_FAILED;
	}
	return WC_EXIT_OK;
}

void wc_ctl_reply_free(struct wc_ctl_reply *r)
{
	json_decref(r->root);
	free(r->line);
	memset(r, 0, sizeof(*r));
}

void wc_ctl_close(struct wc_ctl_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
	c->len = 0;
	c->cap = 0;
}
