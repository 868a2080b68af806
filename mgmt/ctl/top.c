/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * wirectl top: every second, status and stats over one connection kept
 * open; rates are the counters' deltas over the wall time between two
 * stats replies. On a terminal an ncurses screen (q quits, resizes
 * redraw); when wirecache-mgmt goes away the header says why and the next
 * second tries again. Elsewhere, plain snapshots of rates over 1 s.
 */
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unistd.h>

#include <curses.h>

#include "mgmt/ctl/client.h"
#include "mgmt/ctl/fmt.h"
#include "mgmt/ctl/wirectl.h"

#define TOP_TIMEOUT_MS 5000 /* past mgmt's own 3 s, so its answer arrives */

struct top {
	const char *socket;
	struct wc_ctl_conn conn;
	json_t *status; /* the last status data, or NULL */
	json_t *stats;	/* the last stats data, or NULL */
	json_t *prev;	/* the stats before it, or NULL */
	double t_stats; /* monotonic seconds at stats' reply */
	double t_prev;	/* ... and at prev's */
	int rc;		/* WC_EXIT_OK, or why stats are missing */
	char err[WC_CTL_ERR_MAX];
};

/* What one refresh shows, on a screen or as text. */
struct view {
	char h1[512];
	char h2[512];
	char h3[WC_CTL_ERR_MAX + 64];
	const char *health; /* "ok", "unhealthy", "down" or "" (unknown) */
	bool h3_alert;
	struct wc_table *table;
};

static volatile sig_atomic_t quit;

static void on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void set_json(json_t **slot, json_t *v)
{
	json_decref(*slot);
	*slot = v;
}

/* One refresh's requests; reconnects first when the connection is gone. */
static void top_sample(struct top *t)
{
	struct wc_ctl_reply r;
	int rc;

	if (t->conn.fd < 0) {
		rc = wc_ctl_connect(&t->conn, t->socket, t->err, sizeof(t->err));
		if (rc != WC_EXIT_OK)
			goto lost;
	}
	rc = wc_ctl_call(&t->conn, "status", NULL, 0, TOP_TIMEOUT_MS, &r, t->err, sizeof(t->err));
	if (rc != WC_EXIT_OK)
		goto lost;
	set_json(&t->status, json_incref(r.data));
	wc_ctl_reply_free(&r);

	rc = wc_ctl_call(&t->conn, "stats", NULL, 0, TOP_TIMEOUT_MS, &r, t->err, sizeof(t->err));
	if (rc != WC_EXIT_OK) {
		/* Dataplane down (or a failed request): status still says what it knows. */
		set_json(&t->stats, NULL);
		set_json(&t->prev, NULL);
		t->rc = rc;
		return;
	}
	set_json(&t->prev, t->stats);
	t->t_prev = t->t_stats;
	t->stats = json_incref(r.data);
	t->t_stats = now_s();
	wc_ctl_reply_free(&r);
	t->rc = WC_EXIT_OK;
	t->err[0] = '\0';
	return;
lost:
	wc_ctl_close(&t->conn);
	set_json(&t->status, NULL);
	set_json(&t->stats, NULL);
	set_json(&t->prev, NULL);
	t->rc = rc;
}

static const json_t *find_index(const json_t *arr, uint64_t index)
{
	const json_t *v;
	size_t i;

	json_array_foreach(arr, i, v)
	{
		if (wc_j_u64(v, "index") == index)
			return v;
	}
	return NULL;
}

/* Per-second rate of a counter between two samples; NAN when it went back (a restart). */
static double rate(uint64_t cur, uint64_t prev, double dt)
{
	if (cur < prev || !(dt > 0))
		return NAN;
	return (double)(cur - prev) / dt;
}

static const char *rate_str(char *buf, size_t len, double r)
{
	if (isnan(r))
		snprintf(buf, len, "-");
	else
		wc_fmt_rate(buf, len, r);
	return buf;
}

static void build_view(const struct top *t, struct view *v)
{
	static const char *const h[] = { "LCORE",   "RX PPS",	"TX PPS",  "GETS/S",
					 "HITS/S",  "MISSES/S", "SETS/S",  "FORWARDED/S",
					 "DROPS/S", "BUSY",	"MEM USED" };
	static const enum wc_align al[] = { WC_RIGHT, WC_RIGHT, WC_RIGHT, WC_RIGHT,
					    WC_RIGHT, WC_RIGHT, WC_RIGHT, WC_RIGHT,
					    WC_RIGHT, WC_RIGHT, WC_RIGHT };
	const json_t *st = t->status, *dp = json_object_get(t->stats, "dataplane");
	const json_t *tot = json_object_get(t->stats, "totals");
	bool same = t->prev != NULL &&
		    strcmp(wc_j_str(json_object_get(t->prev, "dataplane"), "instance", "a"),
			   wc_j_str(dp, "instance", "b")) == 0;
	double dt = t->t_stats - t->t_prev, sum_rx = 0, sum_tx = 0, hits = 0, misses = 0;
	bool busy = json_object_get(dp, "tsc_hz") != NULL && wc_j_u64(dp, "tsc_hz") > 0;
	double tsc_hz = (double)wc_j_u64(dp, "tsc_hz");
	char a[40], b[40], c[40], d[40], rx[40], tx[40], clock[16];
	time_t now = time(NULL);
	struct tm tm;
	const json_t *l;
	size_t i;

	memset(v, 0, sizeof(*v));
	gmtime_r(&now, &tm);
	strftime(clock, sizeof(clock), "%H:%M:%S UTC", &tm);
	v->health = st != NULL ? wc_j_str(st, "health", "") : "";

	if (t->stats != NULL) {
		/* Busy % needs the TSC rate; without it the column is left out. */
		static const char *const hb[] = { "LCORE",   "RX PPS",	 "TX PPS", "GETS/S",
						  "HITS/S",  "MISSES/S", "SETS/S", "FORWARDED/S",
						  "DROPS/S", "MEM USED" };

		v->table = busy ? wc_table_new(11, h, al) : wc_table_new(10, hb, al);
	}
	json_array_foreach(json_object_get(t->stats, "lcores"), i, l)
	{
		const json_t *pl =
			same ? find_index(json_object_get(t->prev, "lcores"), wc_j_u64(l, "index"))
			     : NULL;
		const json_t *cc = json_object_get(l, "counters");
		const json_t *pc = json_object_get(pl, "counters");
		const json_t *part =
			find_index(json_object_get(t->stats, "partitions"), wc_j_u64(l, "index"));
		double r;

		if (v->table == NULL)
			break;
		wc_table_cell(v->table, "%" PRIu64, wc_j_u64(l, "index"));
		if (pl == NULL) {
			for (int k = 0; k < (busy ? 9 : 8); k++)
				wc_table_cell(v->table, "-");
		} else {
			static const char *const names[] = { "rx_packets",     "tx_packets",
							     "mc_cmd_get",     "mc_get_hits",
							     "mc_get_misses",  "mc_cmd_set",
							     "xcore_forwarded" };

			for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
				r = rate(wc_j_u64(cc, names[k]), wc_j_u64(pc, names[k]), dt);
				wc_table_cell(v->table, "%s", rate_str(a, sizeof(a), r));
				if (isnan(r))
					continue;
				if (k == 0)
					sum_rx += r;
				else if (k == 1)
					sum_tx += r;
				else if (k == 3)
					hits += r;
				else if (k == 4)
					misses += r;
			}
			r = rate(wc_drops_of(cc), wc_drops_of(pc), dt);
			wc_table_cell(v->table, "%s", rate_str(a, sizeof(a), r));
			if (busy) {
				r = rate(wc_j_u64(cc, "busy_cycles"), wc_j_u64(pc, "busy_cycles"),
					 dt);
				if (isnan(r))
					wc_table_cell(v->table, "-");
				else
					wc_table_cell(v->table, "%.1f%%",
						      fmin(100.0, 100.0 * r / tsc_hz));
			}
		}
		if (part != NULL) {
			wc_fmt_bytes(a, sizeof(a), wc_j_u64(part, "mem_used"));
			wc_table_cell(v->table, "%s", a);
		} else {
			wc_table_cell(v->table, "-");
		}
	}

	/* Header: who and how healthy, then the totals. */
	if (st != NULL) {
		const json_t *sdp = json_object_get(st, "dataplane");

		a[0] = '\0';
		if (!isnan(wc_j_num(sdp, "uptime_seconds"))) {
			strcpy(a, "up ");
			wc_fmt_duration(a + 3, sizeof(a) - 3, wc_j_u64(sdp, "uptime_seconds"));
			strcat(a, "  ");
		}
		snprintf(v->h1, sizeof(v->h1), "wirecache %s  %s  %s%s  %s",
			 wc_j_str(st, "version", "?"), wc_health_words(v->health), a, t->socket,
			 clock);
	} else {
		snprintf(v->h1, sizeof(v->h1), "wirecache  mgmt unreachable  %s  %s", t->socket,
			 clock);
	}
	if (t->stats != NULL) {
		uint64_t gets = wc_j_u64(tot, "mc_get_hits") + wc_j_u64(tot, "mc_get_misses");

		wc_fmt_bytes(a, sizeof(a), wc_j_u64(tot, "mem_used"));
		wc_fmt_bytes(b, sizeof(b), wc_j_u64(tot, "mem_limit"));
		wc_fmt_percent(c, sizeof(c), hits, hits + misses);
		wc_fmt_percent(d, sizeof(d), (double)wc_j_u64(tot, "mc_get_hits"), (double)gets);
		snprintf(v->h2, sizeof(v->h2),
			 "memory %s of %s  items %" PRIu64 "  rx %s  tx %s  hit ratio %s now, %s "
			 "since start",
			 a, b, wc_j_u64(tot, "curr_items"),
			 same ? rate_str(rx, sizeof(rx), sum_rx) : "-",
			 same ? rate_str(tx, sizeof(tx), sum_tx) : "-", c, d);
	}
	/* Status's reasons say most (down since when); else why a request failed. */
	if (json_array_size(json_object_get(st, "reasons")) == 0 && t->rc != WC_EXIT_OK) {
		snprintf(v->h3, sizeof(v->h3), "%s%s", t->err,
			 t->rc == WC_EXIT_UNREACHABLE ? " (retrying every second)" : "");
		v->h3_alert = true;
	} else if (json_array_size(json_object_get(st, "reasons")) > 0) {
		size_t n = 0;
		const json_t *r;

		json_array_foreach(json_object_get(st, "reasons"), i, r)
		{
			n += (size_t)snprintf(v->h3 + n, sizeof(v->h3) - n, "%s%s", i ? "; " : "",
					      json_string_value(r) ? json_string_value(r) : "?");
			if (n >= sizeof(v->h3))
				break;
		}
		v->h3_alert = true;
	}
}

static void print_view(const struct view *v)
{
	printf("%s\n", v->h1);
	if (v->h2[0])
		printf("%s\n", v->h2);
	if (v->h3[0])
		printf("%s\n", v->h3);
	if (v->table != NULL) {
		printf("\n");
		wc_table_print(v->table, stdout, "");
	}
	fflush(stdout);
}

enum { PAIR_OK = 1, PAIR_BAD, PAIR_HEAD };

static void draw_view(const struct view *v)
{
	char line[1024];
	int y = 0, x;

	erase();
	attron(A_BOLD);
	mvaddnstr(y, 0, v->h1, COLS);
	attroff(A_BOLD);
	/* The health word in colour. */
	if (v->health[0] && has_colors()) {
		const char *w = wc_health_words(v->health), *p = strstr(v->h1, w);

		if (p != NULL && p - v->h1 < COLS) {
			int pair = strcmp(v->health, "ok") == 0 ? PAIR_OK : PAIR_BAD;

			attron(COLOR_PAIR(pair) | A_BOLD);
			mvaddnstr(y, (int)(p - v->h1), w, COLS - (int)(p - v->h1));
			attroff(COLOR_PAIR(pair) | A_BOLD);
		}
	}
	y++;
	if (v->h2[0] && y < LINES)
		mvaddnstr(y++, 0, v->h2, COLS);
	if (v->h3[0] && y < LINES) {
		int at = v->h3_alert ? (has_colors() ? COLOR_PAIR(PAIR_BAD) : 0) | A_BOLD : 0;

		attron(at);
		mvaddnstr(y++, 0, v->h3, COLS);
		attroff(at);
	}
	y++;
	if (v->table != NULL) {
		for (size_t r = 0; r <= wc_table_rows(v->table) && y < LINES; r++, y++) {
			wc_table_line(v->table, r, line, sizeof(line));
			if (r == 0) {
				attron(A_REVERSE);
				mvaddnstr(y, 0, line, COLS);
				for (x = (int)strlen(line); x < COLS; x++)
					addch(' ');
				attroff(A_REVERSE);
			} else {
				mvaddnstr(y, 0, line, COLS);
			}
		}
	}
	if (y + 1 < LINES)
		mvaddnstr(LINES - 1, 0, "q quits", COLS);
	refresh();
}

static void top_free(struct top *t)
{
	wc_ctl_close(&t->conn);
	set_json(&t->status, NULL);
	set_json(&t->stats, NULL);
	set_json(&t->prev, NULL);
}

/* Not a terminal: snapshots of the rates over one second each. */
static int run_plain(struct top *t, unsigned int iterations)
{
	struct view v;

	top_sample(t);
	for (unsigned int i = 0; i < iterations && !quit && t->rc == WC_EXIT_OK; i++) {
		sleep(1);
		top_sample(t);
		if (t->rc != WC_EXIT_OK)
			break;
		build_view(t, &v);
		if (i > 0)
			printf("\n");
		print_view(&v);
		wc_table_free(v.table);
	}
	/* As every command: a failure is one line on stderr. */
	if (t->rc != WC_EXIT_OK)
		fprintf(stderr, "wirectl: %s\n", t->err);
	return t->rc;
}

static int run_screen(struct top *t, unsigned int iterations, SCREEN *scr)
{
	double next = now_s();
	unsigned int n = 0;
	struct view v = { 0 };
	bool have = false;

	(void)scr;
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	if (has_colors()) {
		start_color();
		use_default_colors();
		init_pair(PAIR_OK, COLOR_GREEN, -1);
		init_pair(PAIR_BAD, COLOR_RED, -1);
		init_pair(PAIR_HEAD, COLOR_BLACK, COLOR_CYAN);
	}
	while (!quit) {
		double now = now_s();
		int ch;

		if (now >= next) {
			top_sample(t);
			if (have)
				wc_table_free(v.table);
			build_view(t, &v);
			have = true;
			draw_view(&v);
			n++;
			next += 1.0;
			if (next < now)
				next = now + 1.0;
			if (iterations > 0 && n >= iterations)
				break;
		}
		timeout((int)((next - now_s()) * 1000) + 1);
		ch = getch();
		if (ch == 'q' || ch == 'Q')
			break;
		if (ch == KEY_RESIZE && have) {
			clear();
			draw_view(&v);
		}
	}
	if (have)
		wc_table_free(v.table);
	endwin();
	return WC_EXIT_OK;
}

int wc_top_run(const char *socket, unsigned int iterations)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct top t = { .socket = socket };
	SCREEN *scr = NULL;
	int rc;

	wc_ctl_init(&t.conn);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (isatty(STDOUT_FILENO) && isatty(STDIN_FILENO))
		scr = newterm(NULL, stdout, stdin);
	if (scr != NULL) {
		rc = run_screen(&t, iterations, scr);
		delscreen(scr);
	} else {
		rc = run_plain(&t, iterations ? iterations : 1);
	}
	top_free(&t);
	return rc;
}
