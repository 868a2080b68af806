/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Requests and reply parsers for memcached text, memcached meta and RESP2.
 * The parsers see server bytes, which may be anything: every read is bounded
 * by the length given, every number is range-checked, and anything that is
 * not a reply of the protocol is WL_P_INVALID rather than a guess.
 */
#include <errno.h>
#include <string.h>

#include "wireload.h"

#define LINE_MAX_LEN   4096 /**< a reply line longer than this is garbage */
#define RESP_MAX_DEPTH 8
#define RESP_MAX_ELEMS (1 << 20)

struct obuf {
	char *p;
	size_t len;
	size_t cap;
	int full;
};

static void put(struct obuf *o, const void *s, size_t n)
{
	if (o->full || o->cap - o->len < n) {
		o->full = 1;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void put_str(struct obuf *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_u64(struct obuf *o, uint64_t v)
{
	char tmp[20];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(o, tmp + i, sizeof(tmp) - i);
}

size_t wl_req_build(enum wl_proto p, enum wl_op op, const char *key, size_t klen, const char *val,
		    size_t vlen, char *out, size_t cap)
{
	struct obuf o = { .p = out, .cap = cap };

	switch (p) {
	case WL_PROTO_MC_TEXT:
		put_str(&o, op == WL_OP_GET ? "get " : "set ");
		put(&o, key, klen);
		if (op == WL_OP_SET) {
			put_str(&o, " 0 0 ");
			put_u64(&o, vlen);
		}
		break;
	case WL_PROTO_MC_META:
		put_str(&o, op == WL_OP_GET ? "mg " : "ms ");
		put(&o, key, klen);
		if (op == WL_OP_GET) {
			put_str(&o, " v");
		} else {
			put_str(&o, " ");
			put_u64(&o, vlen);
		}
		break;
	case WL_PROTO_RESP:
		put_str(&o, op == WL_OP_GET ? "*2\r\n$3\r\nGET\r\n$" : "*3\r\n$3\r\nSET\r\n$");
		put_u64(&o, klen);
		put_str(&o, "\r\n");
		put(&o, key, klen);
		if (op == WL_OP_SET) {
			put_str(&o, "\r\n$");
			put_u64(&o, vlen);
		}
		break;
	default:
		return 0;
	}
	put_str(&o, "\r\n");
	if (op == WL_OP_SET) {
		put(&o, val, vlen);
		put_str(&o, "\r\n");
	}
	return o.full ? 0 : o.len;
}

size_t wl_req_max_len(enum wl_proto p, size_t klen, size_t vlen)
{
	(void)p;
	return 64 + klen + vlen;
}

/* The line at b: its length without CRLF in *ll. Lines end in CRLF, always. */
static int line(const char *b, size_t len, size_t *ll)
{
	size_t lim = len < LINE_MAX_LEN ? len : LINE_MAX_LEN;
	const char *nl = memchr(b, '\n', lim);
	size_t n;

	if (!nl)
		return len >= LINE_MAX_LEN ? WL_P_INVALID : WL_P_NEED_MORE;
	n = (size_t)(nl - b);
	if (n == 0 || b[n - 1] != '\r')
		return WL_P_INVALID;
	*ll = n - 1;
	return WL_P_OK;
}

/* Does the line (l, ll) start with the word w, followed by its end or a space? */
static int word(const char *l, size_t ll, const char *w)
{
	size_t n = strlen(w);

	return ll >= n && memcmp(l, w, n) == 0 && (ll == n || l[n] == ' ');
}

static int parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int parse_i64(const char *s, size_t n, int64_t *out)
{
	uint64_t v;
	int neg = n > 0 && s[0] == '-';

	if (parse_u64(s + neg, n - (size_t)neg, &v) < 0 || v > INT64_MAX)
		return -1;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

/* Split the line into space-separated tokens; fails on empty tokens or too many. */
struct toks {
	const char *s[8];
	size_t n[8];
	unsigned count;
};

static int tokenize(const char *l, size_t ll, struct toks *t)
{
	size_t i = 0;

	t->count = 0;
	while (i < ll) {
		size_t j = i;

		while (j < ll && l[j] != ' ')
			j++;
		if (j == i || t->count == 8)
			return -1;
		t->s[t->count] = l + i;
		t->n[t->count++] = j - i;
		i = j + 1;
		if (j + 1 == ll)
			return -1; /* a trailing space */
	}
	return 0;
}

/*
 * A data block of @p n bytes at @p at, ending in CRLF: WL_P_OK with the
 * position after it in *end.
 */
static int data_block(const char *b, size_t len, size_t at, uint64_t n, size_t *end)
{
	if (n > WL_VALUE_MAX)
		return WL_P_INVALID;
	if (len < at || len - at < n + 2)
		return WL_P_NEED_MORE;
	if (b[at + n] != '\r' || b[at + n + 1] != '\n')
		return WL_P_INVALID;
	*end = at + (size_t)n + 2;
	return WL_P_OK;
}

/* The exact bytes @p lit at @p at: OK, NEED_MORE while a prefix, else INVALID. */
static int literal(const char *b, size_t len, size_t at, const char *lit)
{
	size_t n = strlen(lit);
	size_t have = len - at;

	if (have >= n)
		return memcmp(b + at, lit, n) == 0 ? WL_P_OK : WL_P_INVALID;
	return memcmp(b + at, lit, have) == 0 ? WL_P_NEED_MORE : WL_P_INVALID;
}

/* Error replies shared by the text and meta protocols. */
static int mc_error(const char *l, size_t ll)
{
	return word(l, ll, "ERROR") || word(l, ll, "CLIENT_ERROR") || word(l, ll, "SERVER_ERROR");
}

static int parse_mc_text(enum wl_op op, const char *key, size_t klen, const char *b, size_t len,
			 struct wl_reply *r)
{
	size_t ll, end;
	int st = line(b, len, &ll);

	if (st != WL_P_OK)
		return st;
	r->consumed = ll + 2;
	if (word(b, ll, "VALUE")) {
		struct toks t;
		uint64_t flags, bytes, cas;

		/* VALUE <key> <flags> <bytes> [<cas>] */
		if (tokenize(b, ll, &t) < 0 || t.count < 4 || t.count > 5 ||
		    parse_u64(t.s[2], t.n[2], &flags) < 0 || flags > UINT32_MAX ||
		    parse_u64(t.s[3], t.n[3], &bytes) < 0 ||
		    (t.count == 5 && parse_u64(t.s[4], t.n[4], &cas) < 0))
			return WL_P_INVALID;
		st = data_block(b, len, ll + 2, bytes, &end);
		if (st != WL_P_OK)
			return st;
		st = literal(b, len, end, "END\r\n");
		if (st != WL_P_OK)
			return st;
		r->consumed = end + 5;
		r->val = b + ll + 2;
		r->vlen = (size_t)bytes;
		if (op == WL_OP_GET && t.n[1] == klen && memcmp(t.s[1], key, klen) == 0)
			r->kind = WL_R_HIT;
		else
			r->kind = WL_R_UNEXPECTED;
		return WL_P_OK;
	}
	if (ll == 3 && memcmp(b, "END", 3) == 0)
		r->kind = op == WL_OP_GET ? WL_R_MISS : WL_R_UNEXPECTED;
	else if (ll == 6 && memcmp(b, "STORED", 6) == 0)
		r->kind = op == WL_OP_SET ? WL_R_STORED : WL_R_UNEXPECTED;
	else if ((ll == 10 && memcmp(b, "NOT_STORED", 10) == 0) ||
		 (ll == 6 && memcmp(b, "EXISTS", 6) == 0) ||
		 (ll == 9 && memcmp(b, "NOT_FOUND", 9) == 0))
		r->kind = op == WL_OP_SET ? WL_R_NOT_STORED : WL_R_UNEXPECTED;
	else if (mc_error(b, ll))
		r->kind = WL_R_SERVER_ERROR;
	else
		return WL_P_INVALID;
	return WL_P_OK;
}

static int parse_mc_meta(enum wl_op op, const char *b, size_t len, struct wl_reply *r)
{
	size_t ll, end;
	int st = line(b, len, &ll);

	if (st != WL_P_OK)
		return st;
	r->consumed = ll + 2;
	if (word(b, ll, "VA")) {
		struct toks t;
		uint64_t bytes;

		/* VA <size> <flags>* */
		if (tokenize(b, ll, &t) < 0 || t.count < 2 || parse_u64(t.s[1], t.n[1], &bytes) < 0)
			return WL_P_INVALID;
		st = data_block(b, len, ll + 2, bytes, &end);
		if (st != WL_P_OK)
			return st;
		r->consumed = end;
		r->val = b + ll + 2;
		r->vlen = (size_t)bytes;
		r->kind = op == WL_OP_GET ? WL_R_HIT : WL_R_UNEXPECTED;
		return WL_P_OK;
	}
	if (word(b, ll, "EN"))
		r->kind = op == WL_OP_GET ? WL_R_MISS : WL_R_UNEXPECTED;
	else if (word(b, ll, "HD"))
		r->kind = op == WL_OP_SET ? WL_R_STORED : WL_R_UNEXPECTED;
	else if (word(b, ll, "NS") || word(b, ll, "EX") || word(b, ll, "NF"))
		r->kind = op == WL_OP_SET ? WL_R_NOT_STORED : WL_R_UNEXPECTED;
	else if (word(b, ll, "MN"))
		r->kind = WL_R_UNEXPECTED;
	else if (mc_error(b, ll))
		r->kind = WL_R_SERVER_ERROR;
	else
		return WL_P_INVALID;
	return WL_P_OK;
}

struct resp_top {
	char type;
	int64_t n; /**< bulk length or array count; -1 for null */
	const char *s;
	size_t slen; /**< simple string, error or bulk bytes */
};

/* One RESP2 element at *pos; the outermost one is described in *top. */
static int resp_elem(const char *b, size_t len, size_t *pos, int depth, struct resp_top *top)
{
	size_t at = *pos, ll, end;
	int64_t n;
	int st;

	if (at >= len)
		return WL_P_NEED_MORE;
	st = line(b + at, len - at, &ll);
	if (st != WL_P_OK)
		return st;
	if (ll == 0)
		return WL_P_INVALID;
	if (top) {
		top->type = b[at];
		top->s = b + at + 1;
		top->slen = ll - 1;
	}
	switch (b[at]) {
	case '+':
	case '-':
		*pos = at + ll + 2;
		return WL_P_OK;
	case ':':
		if (parse_i64(b + at + 1, ll - 1, &n) < 0)
			return WL_P_INVALID;
		*pos = at + ll + 2;
		return WL_P_OK;
	case '$':
		if (parse_i64(b + at + 1, ll - 1, &n) < 0 || n < -1 || n > (int64_t)WL_VALUE_MAX)
			return WL_P_INVALID;
		if (top) {
			top->n = n;
			top->s = b + at + ll + 2;
			top->slen = n > 0 ? (size_t)n : 0;
		}
		if (n == -1) {
			*pos = at + ll + 2;
			return WL_P_OK;
		}
		st = data_block(b, len, at + ll + 2, (uint64_t)n, &end);
		if (st == WL_P_OK)
			*pos = end;
		return st;
	case '*':
		if (parse_i64(b + at + 1, ll - 1, &n) < 0 || n < -1 || n > RESP_MAX_ELEMS ||
		    depth >= RESP_MAX_DEPTH)
			return WL_P_INVALID;
		if (top)
			top->n = n;
		*pos = at + ll + 2;
		for (int64_t i = 0; i < n; i++) {
			st = resp_elem(b, len, pos, depth + 1, NULL);
			if (st != WL_P_OK)
				return st;
		}
		return WL_P_OK;
	default:
		return WL_P_INVALID;
	}
}

static int parse_resp(enum wl_op op, const char *b, size_t len, struct wl_reply *r)
{
	struct resp_top t = { 0 };
	size_t pos = 0;
	int st = resp_elem(b, len, &pos, 0, &t);

	if (st != WL_P_OK)
		return st;
	r->consumed = pos;
	if (t.type == '-')
		r->kind = WL_R_SERVER_ERROR;
	else if (op == WL_OP_GET && t.type == '$' && t.n >= 0) {
		r->kind = WL_R_HIT;
		r->val = t.s;
		r->vlen = t.slen;
	} else if (op == WL_OP_GET && t.type == '$')
		r->kind = WL_R_MISS;
	else if (op == WL_OP_SET && t.type == '+' && t.slen == 2 && memcmp(t.s, "OK", 2) == 0)
		r->kind = WL_R_STORED;
	else if (op == WL_OP_SET && t.type == '$' && t.n == -1)
		r->kind = WL_R_NOT_STORED; /* SET ... NX/XX not met */
	else
		r->kind = WL_R_UNEXPECTED;
	return WL_P_OK;
}

int wl_reply_parse(enum wl_proto p, enum wl_op op, const char *key, size_t klen, const char *buf,
		   size_t len, struct wl_reply *r)
{
	r->val = NULL;
	r->vlen = 0;
	r->consumed = 0;
	r->kind = WL_R_UNEXPECTED;
	if (len == 0)
		return WL_P_NEED_MORE;
	switch (p) {
	case WL_PROTO_MC_TEXT:
		return parse_mc_text(op, key, klen, buf, len, r);
	case WL_PROTO_MC_META:
		return parse_mc_meta(op, buf, len, r);
	case WL_PROTO_RESP:
		return parse_resp(op, buf, len, r);
	}
	return WL_P_INVALID;
}
