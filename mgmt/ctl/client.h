/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * wirectl's side of the line protocol: one connection to wirecache-mgmt's
 * Unix socket, one JSON request per line, one JSON reply per line, many
 * requests per connection (`wirectl top` keeps one open).
 *
 * Every failure comes back as one of wirectl's exit statuses with a
 * one-line reason.
 *
 * Thread safety: a connection is used by one thread.
 */
#ifndef WC_CTL_CLIENT_H
#define WC_CTL_CLIENT_H

#include <stddef.h>

#include <jansson.h>

/** wirectl's exit statuses. */
enum wc_ctl_exit {
	WC_EXIT_OK = 0,		 /**< done */
	WC_EXIT_FAILED = 1,	 /**< refused, timed out or failed in wirecache-mgmt */
	WC_EXIT_USAGE = 2,	 /**< bad command line or request */
	WC_EXIT_UNREACHABLE = 3, /**< cannot reach wirecache-mgmt */
	WC_EXIT_DOWN = 4,	 /**< the dataplane is down */
};

#define WC_CTL_ERR_MAX 512

struct wc_ctl_conn {
	int fd; /**< -1 when closed */
	char path[128];
	char *buf; /**< bytes received and not yet consumed */
	size_t len;
	size_t cap;
};

/** One reply. */
struct wc_ctl_reply {
	json_t *root;	 /**< the whole reply object */
	json_t *data;	 /**< its "data" member (borrowed from root) */
	char *line;	 /**< the reply as received, without the newline */
	const char *raw; /**< the data member's bytes inside line */
	size_t raw_len;	 /**< their length */
};

/** A closed connection. */
void wc_ctl_init(struct wc_ctl_conn *c);

/**
 * Connect to the socket at @p path.
 * @return WC_EXIT_OK, or WC_EXIT_UNREACHABLE with the reason in @p err
 *         (no socket there, not a socket, connection refused, ...).
 */
int wc_ctl_connect(struct wc_ctl_conn *c, const char *path, char *err, size_t errlen);

/**
 * Send {"cmd":@p cmd,"args":[...]} (no "args" when @p nargs is 0) and wait
 * up to @p timeout_ms for its reply.
 * @param out  filled on success; release with wc_ctl_reply_free()
 * @return WC_EXIT_OK; for {"ok":false} the status its code maps to (usage 2,
 *         dataplane_down 4, others 1) with the server's reason in @p err;
 *         WC_EXIT_UNREACHABLE when the connection is gone (it is closed);
 *         WC_EXIT_FAILED for no reply in time or a reply that is not JSON.
 */
int wc_ctl_call(struct wc_ctl_conn *c, const char *cmd, const char *const *args, size_t nargs,
		int timeout_ms, struct wc_ctl_reply *out, char *err, size_t errlen);

/** Release a reply's memory (a zeroed reply is fine). */
void wc_ctl_reply_free(struct wc_ctl_reply *r);

/** Close the connection (a closed one is fine). */
void wc_ctl_close(struct wc_ctl_conn *c);

#endif /* WC_CTL_CLIENT_H */
