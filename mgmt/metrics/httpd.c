/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The /metrics HTTP endpoint over libmicrohttpd, on its internal polling
 * thread (one thread: requests are answered one at a time, so the render
 * callback never runs twice at once).
 *
 * The listening socket is ours: bound here, so a busy port or a foreign
 * address is reported with its errno, and close-on-exec, so the attach
 * child wirecache-mgmt spawns does not inherit it. libmicrohttpd takes it
 * over and closes it when stopped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "mgmt/metrics/metrics.h"

#define HTTPD_MAX_CONNECTIONS 16
#define HTTPD_TIMEOUT_S	      10
#define HTTPD_BACKLOG	      16

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static const char index_page[] =
	"<!DOCTYPE html>\n<html><head><title>wirecache</title></head>\n"
	"<body><h1>wirecache</h1><p><a href=\"/metrics\">Metrics</a></p></body></html>\n";

static struct {
	struct MHD_Daemon *mhd;
	wc_httpd_cb_t cb;
	void *arg;
	int port;
} httpd;

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* "A.B.C.D:PORT", strictly: a dotted quad, a colon, a decimal port 0-65535. */
static int parse_listen(const char *s, struct sockaddr_in *sa)
{
	const char *colon = s != NULL ? strrchr(s, ':') : NULL;
	char host[INET_ADDRSTRLEN];
	unsigned long port;
	char *end;

	if (colon == NULL || colon == s || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (colon[1] < '0' || colon[1] > '9' || strlen(colon + 1) > 5)
		return -EINVAL;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || port > 65535)
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return -EINVAL;
	return 0;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int code,
			     const char *content_type, struct MHD_Response *resp)
{
	enum MHD_Result ret;

	if (resp == NULL)
		return MHD_NO; /* out of memory: drop the connection */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result reply_static(struct MHD_Connection *conn, unsigned int code,
				    const char *content_type, const char *body)
{
	return reply(conn, code, content_type,
		     MHD_create_response_from_buffer(strlen(body), (void *)body,
						     MHD_RESPMEM_PERSISTENT));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	char *body;

	(void)cls;
	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)req_cls;

	/* Answered at the first call, before any request body is read. */
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply_static(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
				    "405 method not allowed: use GET\n");
	if (strcmp(url, "/") == 0)
		return reply_static(conn, MHD_HTTP_OK, "text/html; charset=utf-8", index_page);
	if (strcmp(url, "/metrics") != 0)
		return reply_static(conn, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8",
				    "404 not found: metrics are at /metrics\n");

	body = httpd.cb(httpd.arg);
	if (body == NULL)
		return reply_static(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				    "text/plain; charset=utf-8",
				    "500 internal error: metrics could not be rendered\n");
	/* MHD frees the body with free() once it is sent (or on failure). */
	return reply(conn, MHD_HTTP_OK, METRICS_CONTENT_TYPE,
		     MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE));
}

int wc_httpd_start(const char *listen_addr, wc_httpd_cb_t cb, void *arg, char *err, size_t errlen)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	int fd, one = 1, rc;

	if (httpd.mhd != NULL) {
		set_err(err, errlen, "metrics endpoint already running");
		return -EALREADY;
	}
	if (cb == NULL) {
		set_err(err, errlen, "metrics endpoint: no render callback");
		return -EINVAL;
	}
	if (parse_listen(listen_addr, &sa) != 0) {
		set_err(err, errlen, "metrics-listen \"%s\": expected IPv4 A.B.C.D:PORT",
			listen_addr != NULL ? listen_addr : "");
		return -EINVAL;
	}

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rc = -errno;
		set_err(err, errlen, "metrics endpoint: socket: %s", strerror(errno));
		return rc;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, HTTPD_BACKLOG) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &salen) != 0) {
		rc = -errno;
		set_err(err, errlen, "metrics endpoint: cannot listen on %s: %s", listen_addr,
			strerror(errno));
		close(fd);
		return rc;
	}

	httpd.cb = cb;
	httpd.arg = arg;
	httpd.mhd = MHD_start_daemon(
		MHD_USE_AUTO_INTERNAL_THREAD, 0, NULL, NULL, on_request, NULL,
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned int)HTTPD_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned int)HTTPD_TIMEOUT_S, MHD_OPTION_END);
	if (httpd.mhd == NULL) {
		set_err(err, errlen, "metrics endpoint: cannot start the HTTP server on %s",
			listen_addr);
		/* Whether libmicrohttpd closed a given socket on failure varies by version. */
		if (fcntl(fd, F_GETFD) != -1)
			close(fd);
		return -ENOMEM;
	}
	httpd.port = ntohs(sa.sin_port);
	return 0;
}

int wc_httpd_port(void)
{
	return httpd.mhd != NULL ? httpd.port : 0;
}

void wc_httpd_stop(void)
{
	if (httpd.mhd == NULL)
		return;
	MHD_stop_daemon(httpd.mhd); /* joins the thread, closes the listening socket */
	httpd.mhd = NULL;
	httpd.cb = NULL;
	httpd.arg = NULL;
	httpd.port = 0;
}
