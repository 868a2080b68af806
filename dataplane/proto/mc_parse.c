/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * memcached text/meta parser. Every check below follows memcached 1.6's
 * proto_text.c in the same order, because the order decides which error a
 * malformed line gets. Nothing here reads past the bytes given: lines are
 * found with memchr over [buf, buf + len) and tokens are (pointer, length).
 */
#include <limits.h>
#include <string.h>

#include "dataplane/proto/mc_parse.h"

const struct wc_mc_cmd_desc wc_mc_cmd_table[WC_MC_CMD_COUNT] = {
#define WC_MC_CMD_ROW(id, h, nm, mn, mx, fl) \
	[WC_MC_CMD_##id] = {                 \
		.name = nm,                  \
		.name_len = sizeof(nm) - 1,  \
		.min_args = mn,              \
		.max_args = mx,              \
		.flags = fl,                 \
	},
	WC_MC_COMMANDS(WC_MC_CMD_ROW)
#undef WC_MC_CMD_ROW
};

static const char ERR_ERROR[] = "ERROR";
static const char ERR_FORMAT[] = "CLIENT_ERROR bad command line format";
static const char ERR_CHUNK[] = "CLIENT_ERROR bad data chunk";
static const char ERR_TOO_LARGE[] = "SERVER_ERROR object too large for cache";
static const char ERR_LINE[] = "CLIENT_ERROR line too long";
static const char ERR_BAD_TOKEN[] = "CLIENT_ERROR bad token in command line format";

/* ---- numbers, with the exact acceptance rules of memcached's safe_strto*() ---- */

static bool is_space(uint8_t ch)
{
	return ch == ' ' || (ch >= '\t' && ch <= '\r');
}

/*
 * strtol/strtoul(…, 10) over a token, as glibc does it on LP64: leading
 * white space, an optional sign, at least one digit, ERANGE on overflow; the
 * character after the digits must be white space or the end. For unsigned
 * parsing a '-' negates modulo 2^64, and memcached then refuses a negative
 * result only when it reads as negative signed, as its helpers do.
 */
static bool parse_num(const uint8_t *p, size_t n, bool is_signed, uint64_t *out)
{
	size_t i = 0;
	bool neg = false;
	uint64_t v = 0;
	bool range = false;
	size_t digits = 0;

	while (i < n && is_space(p[i]))
		i++;
	if (i < n && (p[i] == '+' || p[i] == '-')) {
		neg = p[i] == '-';
		i++;
	}
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++, digits++) {
		unsigned d = (unsigned)(p[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			range = true;
		else
			v = v * 10 + d;
	}
	if (digits == 0 || range)
		return false;
	if (i < n && !is_space(p[i]))
		return false;
	if (is_signed) {
		if (!neg && v > (uint64_t)INT64_MAX)
			return false;
		if (neg && v > (uint64_t)INT64_MAX + 1)
			return false;
		*out = neg ? (uint64_t)0 - v : v;
		return true;
	}
	if (neg)
		v = (uint64_t)0 - v;
	if ((int64_t)v < 0 && memchr(p, '-', n) != NULL)
		return false;
	*out = v;
	return true;
}

/* safe_strtol: a long parse truncated to int32, as memcached stores it. */
static bool tok_i32(const struct wc_mc_token *t, size_t skip, int32_t *out)
{
	uint64_t v;

	if (!parse_num(t->p + skip, t->len - skip, true, &v))
		return false;
	*out = (int32_t)(uint32_t)v;
	return true;
}

/* safe_strtoul: an unsigned long parse truncated to uint32. */
static bool tok_u32(const struct wc_mc_token *t, size_t skip, uint32_t *out)
{
	uint64_t v;

	if (!parse_num(t->p + skip, t->len - skip, false, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool tok_u64(const struct wc_mc_token *t, size_t skip, uint64_t *out)
{
	return parse_num(t->p + skip, t->len - skip, false, out);
}

static bool tok_is(const struct wc_mc_token *t, const char *s)
{
	size_t n = strlen(s);

	return t->len == n && memcmp(t->p, s, n) == 0;
}

/* ---- base64, as memcached's: non-alphabet bytes are skipped ---- */

static const char b64_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_val(uint8_t ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	if (ch == '=')
		return 0;
	return -1;
}

/* @return decoded length, 0 on failure (as memcached's base64_decode). */
static size_t b64_decode(const uint8_t *src, size_t n, uint8_t *out, size_t room)
{
	size_t count = 0, o = 0, i;
	uint8_t blk[4];
	unsigned k = 0, pad = 0;

	for (i = 0; i < n; i++)
		if (b64_val(src[i]) >= 0)
			count++;
	if (count == 0 || count % 4 != 0 || count / 4 * 3 > room)
		return 0;
	for (i = 0; i < n; i++) {
		int v = b64_val(src[i]);

		if (v < 0)
			continue;
		if (src[i] == '=')
			pad++;
		blk[k++] = (uint8_t)v;
		if (k < 4)
			continue;
		out[o++] = (uint8_t)(blk[0] << 2 | blk[1] >> 4);
		out[o++] = (uint8_t)(blk[1] << 4 | blk[2] >> 2);
		out[o++] = (uint8_t)(blk[2] << 6 | blk[3]);
		k = 0;
		if (pad != 0) {
			if (pad > 2)
				return 0;
			o -= pad;
			break;
		}
	}
	return o;
}

size_t wc_mc_base64_encode(const uint8_t *src, size_t n, uint8_t *out)
{
	size_t o = 0, i = 0;

	for (; n - i >= 3; i += 3) {
		out[o++] = (uint8_t)b64_alpha[src[i] >> 2];
		out[o++] = (uint8_t)b64_alpha[(src[i] & 3) << 4 | src[i + 1] >> 4];
		out[o++] = (uint8_t)b64_alpha[(src[i + 1] & 15) << 2 | src[i + 2] >> 6];
		out[o++] = (uint8_t)b64_alpha[src[i + 2] & 63];
	}
	if (n - i == 1) {
		out[o++] = (uint8_t)b64_alpha[src[i] >> 2];
		out[o++] = (uint8_t)b64_alpha[(src[i] & 3) << 4];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		out[o++] = (uint8_t)b64_alpha[src[i] >> 2];
		out[o++] = (uint8_t)b64_alpha[(src[i] & 3) << 4 | src[i + 1] >> 4];
		out[o++] = (uint8_t)b64_alpha[(src[i + 1] & 15) << 2];
		out[o++] = '=';
	}
	return o;
}

/* ---- tokens ---- */

/*
 * Split on single spaces, as memcached's tokenize_command: at most
 * WC_MC_MAX_TOKENS - 1 tokens; what follows is left in rest.
 */
static void tokenize(struct wc_mc_request *req, const uint8_t *line, size_t n)
{
	size_t i = 0;

	req->ntok = 0;
	req->rest = NULL;
	req->rest_len = 0;
	while (i < n) {
		size_t s;

		while (i < n && line[i] == ' ')
			i++;
		if (i == n)
			break;
		if (req->ntok == WC_MC_MAX_TOKENS - 1) {
			req->rest = line + i;
			req->rest_len = n - i;
			break;
		}
		s = i;
		while (i < n && line[i] != ' ')
			i++;
		req->tok[req->ntok].p = line + s;
		req->tok[req->ntok].len = (uint32_t)(i - s);
		req->ntok++;
	}
}

bool wc_mc_next_key(const struct wc_mc_request *req, size_t *pos, const uint8_t **key, size_t *klen)
{
	size_t i = *pos, s;

	while (i < req->rest_len && req->rest[i] == ' ')
		i++;
	if (i >= req->rest_len)
		return false;
	s = i;
	while (i < req->rest_len && req->rest[i] != ' ')
		i++;
	*key = req->rest + s;
	*klen = i - s;
	*pos = i;
	return true;
}

/* ---- results ---- */

static enum wc_mc_status invalid(struct wc_mc_request *req, const char *err)
{
	req->err = err;
	return WC_MC_INVALID;
}

/* The data block: wait for it whole, then check its CRLF as memcached does. */
static enum wc_mc_status take_data(struct wc_mc_request *req, const uint8_t *buf, size_t len)
{
	size_t need = req->consumed + (size_t)req->vlen + 2;

	if (len < need) {
		req->consumed = 0;
		return WC_MC_NEED_MORE;
	}
	req->data = buf + req->consumed;
	if (req->data[req->vlen] != '\r' || req->data[req->vlen + 1] != '\n') {
		req->consumed = need;
		return invalid(req, ERR_CHUNK);
	}
	req->consumed = need;
	return WC_MC_OK;
}

static bool last_is_noreply(const struct wc_mc_request *req)
{
	return tok_is(&req->tok[req->ntok - 1], "noreply");
}

/* ---- text commands ---- */

typedef enum wc_mc_status (*parse_fn)(struct wc_mc_request *req, const uint8_t *buf, size_t len,
				      uint32_t max_value);

static enum wc_mc_status parse_get(struct wc_mc_request *req, const uint8_t *buf, size_t len,
				   uint32_t max_value)
{
	const uint8_t *k;
	size_t klen, pos = 0, nkeys;
	const uint8_t *start;
	const uint8_t *end;

	(void)buf;
	(void)len;
	(void)max_value;
	if (req->cmd == WC_MC_CMD_GAT || req->cmd == WC_MC_CMD_GATS) {
		if (!tok_i32(&req->tok[1], 0, &req->exptime))
			return invalid(req, "CLIENT_ERROR invalid exptime argument");
		start = req->ntok > 2 ? req->tok[2].p : req->tok[1].p + req->tok[1].len;
	} else {
		start = req->tok[1].p;
	}
	/* Keys are walked again from the line: a get has no bound on them. */
	end = req->rest != NULL ? req->rest + req->rest_len
				: req->tok[req->ntok - 1].p + req->tok[req->ntok - 1].len;
	req->rest = start;
	req->rest_len = (size_t)(end - start);
	for (nkeys = 0; wc_mc_next_key(req, &pos, &k, &klen); nkeys++) {
		if (klen > WC_MC_KEY_MAX)
			return invalid(req, ERR_FORMAT);
		if (nkeys == 0) {
			req->key = k;
			req->klen = klen;
		}
	}
	if (nkeys != 1) {
		req->key = NULL;
		req->klen = 0;
	}
	return WC_MC_OK;
}

/* The key of a one-key text command (token 1): false if it is too long. */
static bool take_key(struct wc_mc_request *req)
{
	if (req->tok[1].len > WC_MC_KEY_MAX)
		return false;
	req->key = req->tok[1].p;
	req->klen = req->tok[1].len;
	return true;
}

static enum wc_mc_status parse_store(struct wc_mc_request *req, const uint8_t *buf, size_t len,
				     uint32_t max_value)
{
	int32_t vlen;

	req->noreply = last_is_noreply(req);
	if (!take_key(req))
		return invalid(req, ERR_FORMAT);
	if (!tok_u32(&req->tok[2], 0, &req->flags) || !tok_i32(&req->tok[3], 0, &req->exptime) ||
	    !tok_i32(&req->tok[4], 0, &vlen))
		return invalid(req, ERR_FORMAT);
	if (req->cmd == WC_MC_CMD_CAS && !tok_u64(&req->tok[5], 0, &req->cas))
		return invalid(req, ERR_FORMAT);
	if (vlen < 0 || vlen > INT_MAX - 2)
		return invalid(req, ERR_FORMAT);
	req->vlen = (uint32_t)vlen;
	if (req->vlen > max_value) {
		req->swallow = (uint64_t)req->vlen + 2;
		req->err = ERR_TOO_LARGE;
		return WC_MC_TOO_BIG;
	}
	return take_data(req, buf, len);
}

static enum wc_mc_status parse_delete(struct wc_mc_request *req, const uint8_t *buf, size_t len,
				      uint32_t max_value)
{
	(void)buf;
	(void)len;
	(void)max_value;
	if (req->ntok > 2) {
		bool hold_zero = tok_is(&req->tok[2], "0");
		bool nr = req->noreply = last_is_noreply(req);
		bool ok = (req->ntok == 3 && (hold_zero || nr)) ||
			  (req->ntok == 4 && hold_zero && nr);

		if (!ok)
			return invalid(req, "CLIENT_ERROR bad command line format.  "
					    "Usage: delete <key> [noreply]");
	}
	if (!take_key(req))
		return invalid(req, ERR_FORMAT);
	return WC_MC_OK;
}

static enum wc_mc_status parse_arith(struct wc_mc_request *req, const uint8_t *buf, size_t len,
				     uint32_t max_value)
{
	(void)buf;
	(void)len;
	(void)max_value;
	req->noreply = last_is_noreply(req);
	if (!take_key(req))
		return invalid(req, ERR_FORMAT);
	if (!tok_u64(&req->tok[2], 0, &req->delta))
		return invalid(req, "CLIENT_ERROR invalid numeric delta argument");
	return WC_MC_OK;
}

static enum wc_mc_status parse_touch(struct wc_mc_request *req, const uint8_t *buf, size_t len,
				     uint32_t max_value)
{
	(void)buf;
	(void)len;
	(void)max_value;
	req->noreply = last_is_noreply(req);
	if (!take_key(req))
		return invalid(req, ERR_FORMAT);
	if (!tok_i32(&req->tok[2], 0, &req->exptime))
		return invalid(req, "CLIENT_ERROR invalid exptime argument");
	return WC_MC_OK;
}

static enum wc_mc_status parse_flush(struct wc_mc_request *req, const uint8_t *buf, size_t len,
				     uint32_t max_value)
{
	(void)buf;
	(void)len;
	(void)max_value;
	req->noreply = last_is_noreply(req);
	if (req->ntok != (req->noreply ? 2u : 1u)) {
		if (!tok_i32(&req->tok[1], 0, &req->delay))
			return invalid(req, "CLIENT_ERROR invalid exptime argument");
		req->has_delay = true;
	}
	return WC_MC_OK;
}

static enum wc_mc_status parse_verbosity(struct wc_mc_request *req, const uint8_t *buf, size_t len,
					 uint32_t max_value)
{
	uint32_t level;

	(void)buf;
	(void)len;
	(void)max_value;
	req->noreply = last_is_noreply(req);
	if (!tok_u32(&req->tok[1], 0, &level))
		return invalid(req, ERR_FORMAT);
	return WC_MC_OK;
}

static enum wc_mc_status parse_plain(struct wc_mc_request *req, const uint8_t *buf, size_t len,
				     uint32_t max_value)
{
	(void)req;
	(void)buf;
	(void)len;
	(void)max_value;
	return WC_MC_OK;
}

/* ---- meta commands ---- */

/*
 * memcached's _meta_flag_preparse(): one pass over the flags from token
 * @p start. A duplicate or unknown flag stops at once; a bad argument is
 * remembered (the last message wins) and parsing goes on.
 * @return NULL if every flag is good, else the error line.
 */
static const char *meta_flags(struct wc_mc_request *req, uint32_t start)
{
	struct wc_mc_meta *m = &req->m;
	const char *err = ERR_FORMAT;
	bool has_error = false;
	uint32_t i;

	m->delta_D = 1;
	for (i = start; i < req->ntok; i++) {
		const struct wc_mc_token *t = &req->tok[i];
		uint8_t o = t->p[0];
		uint64_t bit;

		if (o >= 127)
			return "CLIENT_ERROR duplicate flag";
		if (o < 'A' || o > 'z')
			return "CLIENT_ERROR invalid flag";
		bit = WC_MC_MF(o);
		if (m->seen & bit)
			return "CLIENT_ERROR duplicate flag";
		m->seen |= bit;
		switch (o) {
		case 'b': {
			size_t n = b64_decode(req->tok[1].p, req->tok[1].len, req->keybuf,
					      sizeof(req->keybuf));

			if (n == 0) {
				err = "CLIENT_ERROR error decoding key";
				has_error = true;
			}
			req->key = req->keybuf;
			req->klen = n;
			break;
		}
		case 'N':
			if (!tok_i32(t, 1, &m->ttl_N)) {
				err = ERR_BAD_TOKEN;
				has_error = true;
			}
			break;
		case 'T':
			if (!tok_i32(t, 1, &m->ttl_T)) {
				err = ERR_BAD_TOKEN;
				has_error = true;
			}
			break;
		case 'R':
			if (!tok_i32(t, 1, &m->ttl_R)) {
				err = ERR_BAD_TOKEN;
				has_error = true;
			}
			break;
		case 'F':
			if (!tok_u32(t, 1, &m->client_flags))
				has_error = true;
			break;
		case 'C':
			if (!tok_u64(t, 1, &m->cas_C)) {
				err = ERR_BAD_TOKEN;
				has_error = true;
			}
			break;
		case 'E':
			if (!tok_u64(t, 1, &m->cas_E)) {
				err = ERR_BAD_TOKEN;
				has_error = true;
			}
			break;
		case 'M':
			if (t->len != 2) {
				err = "CLIENT_ERROR incorrect length for M token";
				has_error = true;
			} else {
				m->mode = (char)t->p[1];
			}
			break;
		case 'J':
			if (!tok_u64(t, 1, &m->initial_J)) {
				err = "CLIENT_ERROR invalid numeric initial value";
				has_error = true;
			}
			break;
		case 'D':
			if (!tok_u64(t, 1, &m->delta_D)) {
				err = "CLIENT_ERROR invalid numeric delta value";
				has_error = true;
			}
			break;
		case 'q':
			req->noreply = true;
			break;
		case 'O':
		case 'P':
		case 'L':
		case 'k':
		case 's':
		case 't':
		case 'c':
		case 'f':
		case 'v':
		case 'h':
		case 'l':
		case 'u':
		case 'x':
		case 'I':
			break;
		default:
			return "CLIENT_ERROR invalid flag";
		}
	}
	return has_error ? err : NULL;
}

/* Opaque tokens are echoed back, so they are bounded (memcached: 32 bytes). */
static bool opaque_ok(const struct wc_mc_request *req, uint32_t start)
{
	uint32_t i;

	for (i = start; i < req->ntok; i++)
		if (req->tok[i].p[0] == 'O' && req->tok[i].len > WC_MC_OPAQUE_MAX)
			return false;
	return true;
}

static enum wc_mc_status parse_meta(struct wc_mc_request *req, const uint8_t *buf, size_t len,
				    uint32_t max_value)
{
	bool mg = req->cmd == WC_MC_CMD_MG;
	const char *err;

	(void)buf;
	(void)len;
	(void)max_value;
	if (req->tok[1].len > WC_MC_KEY_MAX)
		return invalid(req, ERR_FORMAT);
	if (req->ntok + 1 > WC_MC_META_MAX_TOKENS)
		return invalid(req, mg ? "CLIENT_ERROR options flags are too long"
				       : "CLIENT_ERROR options flags too long");
	req->key = req->tok[1].p;
	req->klen = req->tok[1].len;
	err = meta_flags(req, 2);
	if (err != NULL)
		return invalid(req, mg ? err : "CLIENT_ERROR invalid or duplicate flag");
	if (!opaque_ok(req, 2))
		return invalid(req, "CLIENT_ERROR opaque token too long");
	if (req->cmd == WC_MC_CMD_MA) {
		switch (req->m.mode) {
		case 0:
		case 'I':
		case '+':
		case 'D':
		case '-':
			break;
		default:
			return invalid(req, "CLIENT_ERROR invalid mode for ma M token");
		}
	}
	return WC_MC_OK;
}

static enum wc_mc_status parse_ms(struct wc_mc_request *req, const uint8_t *buf, size_t len,
				  uint32_t max_value)
{
	const char *err;
	int32_t vlen;

	if (req->tok[1].len > WC_MC_KEY_MAX || req->ntok == 2)
		return invalid(req, ERR_FORMAT);
	if (req->ntok + 1 > WC_MC_META_MAX_TOKENS)
		return invalid(req, "CLIENT_ERROR options flags too long");
	if (!tok_i32(&req->tok[2], 0, &vlen) || vlen < 0 || vlen > INT_MAX - 2)
		return invalid(req, ERR_FORMAT);
	req->vlen = (uint32_t)vlen;
	req->key = req->tok[1].p;
	req->klen = req->tok[1].len;
	/* From here on an error still swallows the data block. */
	req->swallow = (uint64_t)req->vlen + 2;
	err = meta_flags(req, 3);
	if (err != NULL)
		return invalid(req, err);
	if (!opaque_ok(req, 3))
		return invalid(req, "CLIENT_ERROR opaque token too long");
	switch (req->m.mode) {
	case 0:
	case 'E':
	case 'A':
	case 'P':
	case 'R':
	case 'S':
		break;
	default:
		return invalid(req, "CLIENT_ERROR invalid mode for ms M token");
	}
	if (req->vlen > max_value) {
		req->err = ERR_TOO_LARGE;
		return WC_MC_TOO_BIG;
	}
	req->swallow = 0;
	return take_data(req, buf, len);
}

static enum wc_mc_status parse_me(struct wc_mc_request *req, const uint8_t *buf, size_t len,
				  uint32_t max_value)
{
	(void)buf;
	(void)len;
	(void)max_value;
	if (req->ntok < 2 || req->tok[1].len > WC_MC_KEY_MAX)
		return invalid(req, ERR_FORMAT);
	req->key = req->tok[1].p;
	req->klen = req->tok[1].len;
	if (req->ntok >= 3 && tok_is(&req->tok[2], "b")) {
		size_t n = b64_decode(req->tok[1].p, req->tok[1].len, req->keybuf,
				      sizeof(req->keybuf));

		if (n == 0)
			return invalid(req, ERR_FORMAT);
		req->key = req->keybuf;
		req->klen = n;
		req->m.seen |= WC_MC_MF('b');
	}
	return WC_MC_OK;
}

#define parse_version parse_plain
#define parse_stats   parse_plain
#define parse_quit    parse_plain
#define parse_mn      parse_plain
#define parse_mg      parse_meta
#define parse_md      parse_meta
#define parse_ma      parse_meta

static const parse_fn parsers[WC_MC_CMD_COUNT] = {
#define WC_MC_CMD_PARSER(id, h, nm, mn, mx, fl) [WC_MC_CMD_##id] = parse_##h,
	WC_MC_COMMANDS(WC_MC_CMD_PARSER)
#undef WC_MC_CMD_PARSER
};

/* ---- the line ---- */

/*
 * No newline yet. memcached waits for up to 2048 bytes; past that only a
 * multi-get (after at most 100 leading spaces) may go on, else the
 * connection is closed. Multi-gets are bounded too, at WC_MC_MULTIGET_MAX.
 */
static enum wc_mc_status no_line(struct wc_mc_request *req, const uint8_t *buf, size_t len)
{
	size_t sp = 0;

	if (len <= WC_MC_LINE_MAX)
		return WC_MC_NEED_MORE;
	while (sp < len && buf[sp] == ' ')
		sp++;
	if (sp <= 100 && len <= WC_MC_MULTIGET_MAX &&
	    ((len - sp >= 4 && memcmp(buf + sp, "get ", 4) == 0) ||
	     (len - sp >= 5 && memcmp(buf + sp, "gets ", 5) == 0)))
		return WC_MC_NEED_MORE;
	req->err = ERR_LINE;
	req->close = true;
	req->consumed = len;
	return WC_MC_TOO_BIG;
}

static enum wc_mc_cmd lookup(const struct wc_mc_token *t)
{
	unsigned i;

	for (i = 0; i < WC_MC_CMD_COUNT; i++)
		if (wc_mc_cmd_table[i].name_len == t->len &&
		    memcmp(wc_mc_cmd_table[i].name, t->p, t->len) == 0)
			return (enum wc_mc_cmd)i;
	return WC_MC_CMD_NONE;
}

/*
 * memcached dispatches on the first letter, and only a command that starts
 * with none of its known letters has its last token checked for "HTTP/":
 * an HTTP request gets the connection closed rather than ERROR.
 */
static bool is_http(const struct wc_mc_request *req)
{
	const struct wc_mc_token *c = &req->tok[0];
	const struct wc_mc_token *l = &req->tok[req->ntok - 1];

	if (c->p[0] == 'm' && c->len == 2)
		return false;
	if (memchr("gsacidt", c->p[0], 7) != NULL)
		return false;
	return l->len >= 5 && memcmp(l->p, "HTTP/", 5) == 0;
}

/* ---- the fast path ---- */

/*
 * 1 to 9 decimal digits at p[*i] followed by some byte: the value, with *i
 * moved to that byte, which the caller checks.
 */
static inline bool fast_num(const uint8_t *p, size_t n, size_t *i, uint32_t *out)
{
	size_t j = *i, end = j + 9 < n ? j + 9 : n;
	uint32_t v = 0;

	while (j < end && (uint8_t)(p[j] - '0') < 10)
		v = v * 10 + (uint32_t)(p[j++] - '0');
	if (j == *i || j >= n)
		return false;
	*out = v;
	*i = j;
	return true;
}

/* Where the line ends at p[i]: "\r\n" or "\n". @return bytes used, or 0. */
static inline size_t fast_eol(const uint8_t *p, size_t n, size_t i)
{
	if (i < n && p[i] == '\n')
		return i + 1;
	if (i + 1 < n && p[i] == '\r' && p[i + 1] == '\n')
		return i + 2;
	return 0;
}

static inline void fast_tok(struct wc_mc_request *req, const uint8_t *p, size_t len)
{
	req->tok[req->ntok].p = p;
	req->tok[req->ntok].len = (uint32_t)len;
	req->ntok++;
}

/*
 * The two shapes nearly every request has, parsed in one pass over the line
 * with the result the general parser would give:
 *
 *   get <key>\r\n
 *   set <key> <flags> <exptime> <bytes>[ noreply]\r\n<data>\r\n
 *
 * with single spaces, a key of printable bytes, numbers of 1 to 9 digits
 * (no sign), "\n" also accepted for "\r\n", and for set the whole data block
 * present with its CRLF and within max_value. Anything else, including
 * every error, is left to the general parser.
 * @return true with @p req filled as wc_mc_parse() fills it.
 */
static bool parse_fast(const uint8_t *buf, size_t len, uint32_t max_value,
		       struct wc_mc_request *req)
{
	size_t k, i, eol, f, e, b;
	uint32_t flags, exptime, vlen;
	bool noreply = false;

	req->ntok = 0;
	req->rest = NULL;
	req->rest_len = 0;
	k = 4 + wc_mc_token_end(buf + 4, len - 4);
	if (k == 4 || k - 4 > WC_MC_KEY_MAX || k == len)
		return false;
	if (buf[0] == 'g') {
		eol = fast_eol(buf, len, k);
		if (eol == 0)
			return false;
		req->cmd = WC_MC_CMD_GET;
		req->consumed = eol;
		fast_tok(req, buf, 3);
		fast_tok(req, buf + 4, k - 4);
		req->rest = buf + 4;
		req->rest_len = k - 4;
		req->key = buf + 4;
		req->klen = k - 4;
		return true;
	}
	f = i = k + 1;
	if (buf[k] != ' ' || !fast_num(buf, len, &i, &flags) || buf[i++] != ' ')
		return false;
	e = i;
	if (!fast_num(buf, len, &i, &exptime) || buf[i++] != ' ')
		return false;
	b = i;
	if (!fast_num(buf, len, &i, &vlen))
		return false;
	if (buf[i] != ' ') {
		eol = fast_eol(buf, len, i++);
	} else if (len - ++i >= 7 && memcmp(buf + i, "noreply", 7) == 0) {
		noreply = true;
		eol = fast_eol(buf, len, i + 7);
	} else {
		return false;
	}
	if (eol == 0 || vlen > max_value || len - eol < (size_t)vlen + 2 ||
	    buf[eol + vlen] != '\r' || buf[eol + vlen + 1] != '\n')
		return false;
	req->cmd = WC_MC_CMD_SET;
	req->consumed = eol + vlen + 2;
	req->noreply = noreply;
	fast_tok(req, buf, 3);
	fast_tok(req, buf + 4, k - 4);
	fast_tok(req, buf + f, e - 1 - f);
	fast_tok(req, buf + e, b - 1 - e);
	fast_tok(req, buf + b, i - 1 - b);
	if (noreply)
		fast_tok(req, buf + i, 7);
	req->key = buf + 4;
	req->klen = k - 4;
	req->flags = flags;
	req->exptime = (int32_t)exptime;
	req->data = buf + eol;
	req->vlen = vlen;
	return true;
}

enum wc_mc_status wc_mc_parse(const uint8_t *buf, size_t len, uint32_t max_value,
			      struct wc_mc_request *req)
{
	const uint8_t *nl, *nul;
	size_t line_len, args;
	const struct wc_mc_cmd_desc *d;
	enum wc_mc_status st;

	memset(req, 0, offsetof(struct wc_mc_request, tok));
	req->cmd = WC_MC_CMD_NONE;
	req->m = (struct wc_mc_meta){ 0 };
	req->key = NULL;
	req->klen = 0;
	req->data = NULL;
	req->vlen = 0;
	req->flags = 0;
	req->exptime = 0;
	req->cas = 0;
	req->delta = 0;
	req->delay = 0;
	req->has_delay = false;

	if (len >= 7 && (memcmp(buf, "get ", 4) == 0 || memcmp(buf, "set ", 4) == 0) &&
	    parse_fast(buf, len, max_value, req))
		return WC_MC_OK;

	nl = len > 0 ? memchr(buf, '\n', len) : NULL;
	if (nl == NULL)
		return no_line(req, buf, len);
	line_len = (size_t)(nl - buf);
	req->consumed = line_len + 1;
	if (line_len > 1 && buf[line_len - 1] == '\r')
		line_len--;
	/* memcached reads the line as a C string: it ends at a NUL. */
	nul = memchr(buf, '\0', line_len);
	if (nul != NULL)
		line_len = (size_t)(nul - buf);

	tokenize(req, buf, line_len);
	if (req->ntok == 0 || req->tok[0].len < 2)
		return invalid(req, ERR_ERROR);
	req->cmd = lookup(&req->tok[0]);
	if (req->cmd == WC_MC_CMD_NONE) {
		if (is_http(req)) {
			req->close = true;
			req->err = NULL;
			return WC_MC_INVALID;
		}
		return invalid(req, ERR_ERROR);
	}
	d = &wc_mc_cmd_table[req->cmd];
	args = req->ntok - 1 + (req->rest != NULL ? 1 : 0);
	if (args < d->min_args || (!(d->flags & WC_MC_F_ANYARGS) && args > d->max_args))
		return invalid(req, ERR_ERROR);
	st = parsers[req->cmd](req, buf, len, max_value);
	if (st == WC_MC_NEED_MORE)
		req->consumed = 0;
	return st;
}
