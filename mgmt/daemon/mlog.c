/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The log: a line goes to stderr, to the log file and into a ring of the
 * last WC_MLOG_KEEP lines, all under one mutex so the three agree on order.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include "mlog.h"
#include "util.h"

#define TEXT_MAX   512
#define SOURCE_MAX 24

struct line {
	uint64_t time_ns;
	uint32_t level;
	char source[SOURCE_MAX];
	char text[TEXT_MAX];
};

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static struct line ring[WC_MLOG_KEEP];
static unsigned int ring_head; /* next slot written */
static unsigned int ring_count;
static uint32_t cur_level = WC_MLOG_NOTICE;
static int file_fd = -1;
static char file_path[4096];

static const char *const level_names[] = {
	[1] = "emerg",	 [2] = "alert",	 [3] = "crit", [4] = "error",
	[5] = "warning", [6] = "notice", [7] = "info", [8] = "debug",
};

const char *wc_mlog_level_name(uint32_t level)
{
	if (level >= 1 && level <= 8)
		return level_names[level];
	return "level?";
}

uint32_t wc_mlog_level_parse(const char *name)
{
	for (uint32_t l = 1; l <= 8; l++)
		if (strcasecmp(name, level_names[l]) == 0)
			return l;
	if (strcasecmp(name, "err") == 0)
		return WC_MLOG_ERR;
	if (strcasecmp(name, "warn") == 0)
		return WC_MLOG_WARNING;
	return 0;
}

void wc_mlog_iso_time(uint64_t time_ns, char *buf, size_t len)
{
	time_t sec = (time_t)(time_ns / 1000000000u);
	struct tm tm;

	size_t n;

	gmtime_r(&sec, &tm);
	/* strftime: the compiler cannot bound tm's fields for a %d format. */
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03uZ", (unsigned int)(time_ns % 1000000000u / 1000000u));
}

static int open_file(const char *path, char *err, size_t errlen)
{
	int rc, fd;

	rc = wc_util_mkdir_parent(path, 0755);
	if (rc != 0) {
		snprintf(err, errlen, "log-file %s: cannot create its directory: %s", path,
			 strerror(-rc));
		return rc;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "log-file %s: %s", path, strerror(errno));
		return rc;
	}
	return fd;
}

int wc_mlog_setup(const char *path, uint32_t level, char *err, size_t errlen)
{
	int fd = -1;

	if (path[0] != '\0') {
		fd = open_file(path, err, errlen);
		if (fd < 0)
			return fd;
	}
	pthread_mutex_lock(&log_lock);
	file_fd = fd;
	snprintf(file_path, sizeof(file_path), "%s", path);
	cur_level = level;
	pthread_mutex_unlock(&log_lock);
	return 0;
}

void wc_mlog_teardown(void)
{
	pthread_mutex_lock(&log_lock);
	if (file_fd >= 0)
		close(file_fd);
	file_fd = -1;
	pthread_mutex_unlock(&log_lock);
}

void wc_mlog_reopen(void)
{
	char err[512];
	int fd;

	pthread_mutex_lock(&log_lock);
	if (file_path[0] != '\0') {
		fd = open_file(file_path, err, sizeof(err));
		if (fd < 0) {
			fprintf(stderr, "wirecache-mgmt: %s\n", err);
		} else {
			if (file_fd >= 0)
				close(file_fd);
			file_fd = fd;
		}
	}
	pthread_mutex_unlock(&log_lock);
}

void wc_mlog_set_level(uint32_t level)
{
	__atomic_store_n(&cur_level, level, __ATOMIC_RELAXED);
}

uint32_t wc_mlog_level(void)
{
	return __atomic_load_n(&cur_level, __ATOMIC_RELAXED);
}

/* Write all of @p buf; a log write that fails is dropped (nowhere to say so). */
static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

void wc_mlog_line(uint64_t time_ns, uint32_t level, const char *source, const char *text)
{
	char when[40], out[TEXT_MAX + 96];
	struct line *l;
	size_t tlen;
	int n;

	if (level > wc_mlog_level())
		return;
	if (time_ns == 0)
		time_ns = wc_util_now_ns();
	/* One line each: drop a trailing newline, flatten inner ones. */
	tlen = strlen(text);
	while (tlen > 0 && (text[tlen - 1] == '\n' || text[tlen - 1] == '\r'))
		tlen--;
	if (tlen >= TEXT_MAX)
		tlen = TEXT_MAX - 1;

	pthread_mutex_lock(&log_lock);
	l = &ring[ring_head];
	l->time_ns = time_ns;
	l->level = level;
	snprintf(l->source, sizeof(l->source), "%s", source);
	memcpy(l->text, text, tlen);
	l->text[tlen] = '\0';
	for (size_t i = 0; i < tlen; i++)
		if (l->text[i] == '\n' || l->text[i] == '\r')
			l->text[i] = ' ';
	ring_head = (ring_head + 1) % WC_MLOG_KEEP;
	if (ring_count < WC_MLOG_KEEP)
		ring_count++;

	wc_mlog_iso_time(time_ns, when, sizeof(when));
	n = snprintf(out, sizeof(out), "%s %s %s: %s\n", when, wc_mlog_level_name(level), l->source,
		     l->text);
	if (n >= (int)sizeof(out))
		n = sizeof(out) - 1;
	write_all(STDERR_FILENO, out, (size_t)n);
	if (file_fd >= 0)
		write_all(file_fd, out, (size_t)n);
	pthread_mutex_unlock(&log_lock);
}

void wc_mlog(uint32_t level, const char *fmt, ...)
{
	char text[TEXT_MAX];
	va_list ap;

	if (level > wc_mlog_level())
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	wc_mlog_line(0, level, "wirecache-mgmt", text);
}

json_t *wc_mlog_tail(unsigned int n)
{
	json_t *lines = json_array();
	unsigned int i, start;
	char when[40];

	if (lines == NULL)
		return NULL;
	pthread_mutex_lock(&log_lock);
	if (n > ring_count)
		n = ring_count;
	start = (ring_head + WC_MLOG_KEEP - n) % WC_MLOG_KEEP;
	for (i = 0; i < n; i++) {
		const struct line *l = &ring[(start + i) % WC_MLOG_KEEP];

		wc_mlog_iso_time(l->time_ns, when, sizeof(when));
		json_array_append_new(lines, json_pack("{s:s, s:s, s:s, s:s}", "time", when,
						       "level", wc_mlog_level_name(l->level),
						       "source", l->source, "text", l->text));
	}
	pthread_mutex_unlock(&log_lock);
	return json_pack("{s:o}", "lines", lines);
}
