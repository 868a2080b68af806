/* SPDX-License-Identifier: BSD-3-Clause */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <fcntl.h>
#include <unistd.h>

#include <ini.h>
#include <rte_byteorder.h>
#include <rte_log.h>

#include "mgmt/config.h"

static const char *const type_names[] = {
	[WC_OPT_BOOL] = "on|off",    [WC_OPT_U32] = "number",	     [WC_OPT_SIZE] = "size",
	[WC_OPT_CIDR] = "A.B.C.D/N", [WC_OPT_CIDRLIST] = "CIDR,...", [WC_OPT_LEVEL] = "level",
	[WC_OPT_STR] = "text",
};

struct wc_opt {
	struct wc_opt_info i;
	size_t off;
};

static const struct wc_opt opts[] = {
#define WC_OPT_ENTRY(field, name, type, def, min, max, flags, desc)                          \
	{ { name, WC_OPT_##type, NULL, def, (uint64_t)(min), (uint64_t)(max), flags, desc }, \
	  offsetof(struct wc_config, field) },
	WC_OPTIONS(WC_OPT_ENTRY)
#undef WC_OPT_ENTRY
};

#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

static struct wc_opt_info infos[N_OPTS];

size_t wc_config_count(void)
{
	return N_OPTS;
}

const struct wc_opt_info *wc_config_info(size_t i)
{
	if (i >= N_OPTS)
		return NULL;
	/* Filled on first use: the type name comes from a table indexed by type. */
	if (infos[i].name == NULL) {
		infos[i] = opts[i].i;
		infos[i].type_name = type_names[opts[i].i.type];
	}
	return &infos[i];
}

static const struct {
	const char *name;
	uint32_t level;
} levels[] = {
	{ "error", RTE_LOG_ERR }, { "warning", RTE_LOG_WARNING }, { "notice", RTE_LOG_NOTICE },
	{ "info", RTE_LOG_INFO }, { "debug", RTE_LOG_DEBUG },
};

static const struct wc_opt *find_opt(const char *name)
{
	for (size_t i = 0; i < N_OPTS; i++)
		if (strcmp(opts[i].i.name, name) == 0)
			return &opts[i];
	return NULL;
}

const struct wc_opt_info *wc_config_find(const char *name)
{
	const struct wc_opt *o = find_opt(name);

	return o == NULL ? NULL : wc_config_info((size_t)(o - opts));
}

static int parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "on", "yes", "true", "1" };
	static const char *const no[] = { "off", "no", "false", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* Digits only (no sign, no spaces), then an optional k/m/g suffix for sizes. */
static int parse_number(const char *v, bool size, uint64_t *out)
{
	uint64_t n = 0, mult = 1;
	const char *p = v;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		if (n > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (size && *p != '\0' && p[1] == '\0') {
		switch (tolower((unsigned char)*p)) {
		case 'k':
			mult = WC_KIB;
			break;
		case 'm':
			mult = WC_MIB;
			break;
		case 'g':
			mult = WC_GIB;
			break;
		default:
			return -EINVAL;
		}
		p++;
	}
	if (*p != '\0')
		return -EINVAL;
	if (n > UINT64_MAX / mult)
		return -ERANGE;
	*out = n * mult;
	return 0;
}

static int parse_cidrlist(const char *v, struct wc_config *cfg, char *bad, size_t badlen)
{
	struct wc_cidr list[WC_ALLOW_MAX];
	unsigned int n = 0;
	char buf[512];
	char *save = NULL;

	if (strlen(v) >= sizeof(buf))
		return -ERANGE;
	strcpy(buf, v);
	for (char *tok = strtok_r(buf, ", ", &save); tok != NULL;
	     tok = strtok_r(NULL, ", ", &save)) {
		if (n == WC_ALLOW_MAX)
			return -ERANGE;
		if (wc_cidr_parse(tok, &list[n]) != 0) {
			snprintf(bad, badlen, "%s", tok);
			return -EINVAL;
		}
		n++;
	}
	memcpy(cfg->udp_allow, list, sizeof(list[0]) * n);
	cfg->n_udp_allow = n;
	return 0;
}

int wc_config_set(struct wc_config *cfg, const char *name, const char *value, char *err,
		  size_t errlen)
{
	const struct wc_opt *opt = find_opt(name);
	const struct wc_opt_info *o;
	void *field;
	uint64_t n;
	int rc;

	if (opt == NULL) {
		snprintf(err, errlen, "unknown option %s (see --help)", name);
		return -ENOENT;
	}
	o = &opt->i;
	field = (char *)cfg + opt->off;
	switch (o->type) {
	case WC_OPT_BOOL:
		if (parse_bool(value, (bool *)field) != 0)
			goto bad;
		return 0;
	case WC_OPT_U32:
	case WC_OPT_SIZE:
		rc = parse_number(value, o->type == WC_OPT_SIZE, &n);
		if (rc == -EINVAL)
			goto bad;
		if (rc != 0 || n < o->min || n > o->max) {
			snprintf(err, errlen,
				 "option %s: '%s' is out of range (%" PRIu64 "..%" PRIu64 ")", name,
				 value, o->min, o->max);
			return -ERANGE;
		}
		if (o->type == WC_OPT_U32)
			*(uint32_t *)field = (uint32_t)n;
		else
			*(uint64_t *)field = n;
		return 0;
	case WC_OPT_CIDR:
		if (wc_cidr_parse(value, (struct wc_cidr *)field) != 0)
			goto bad;
		return 0;
	case WC_OPT_CIDRLIST: {
		char badtok[64] = "";

		rc = parse_cidrlist(value, cfg, badtok, sizeof(badtok));
		if (rc == -ERANGE) {
			snprintf(err, errlen, "option %s: more than %d prefixes", name,
				 WC_ALLOW_MAX);
			return rc;
		}
		if (rc != 0) {
			snprintf(err, errlen, "option %s: '%s' is not a CIDR (A.B.C.D/N)", name,
				 badtok);
			return rc;
		}
		return 0;
	}
	case WC_OPT_LEVEL:
		for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
			if (strcasecmp(value, levels[i].name) == 0) {
				*(uint32_t *)field = levels[i].level;
				return 0;
			}
		}
		goto bad;
	case WC_OPT_STR:
		if (strlen(value) >= o->max) {
			snprintf(err, errlen, "option %s: longer than %" PRIu64 " characters", name,
				 o->max - 1);
			return -ERANGE;
		}
		snprintf(field, o->max, "%s", value);
		return 0;
	}
bad:
	snprintf(err, errlen, "option %s: '%s' is not a valid %s", name, value,
		 type_names[o->type]);
	return -EINVAL;
}

void wc_config_defaults(struct wc_config *cfg)
{
	char err[256];

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < N_OPTS; i++) {
		int rc = wc_config_set(cfg, opts[i].i.name, opts[i].i.def, err, sizeof(err));

		/* The table's own defaults are checked by the unit tests. */
		if (rc != 0)
			abort();
	}
}

/* Parse 1..max decimal digits without a leading zero; returns the end or NULL. */
static const char *parse_dec(const char *s, unsigned int max_digits, unsigned int *out)
{
	unsigned int v = 0, d = 0;

	while (*s >= '0' && *s <= '9') {
		if (++d > max_digits || (d == 2 && v == 0))
			return NULL;
		v = v * 10 + (unsigned int)(*s - '0');
		s++;
	}
	if (d == 0)
		return NULL;
	*out = v;
	return s;
}

/*
 * The address keeps its host bits ("10.200.0.1/24" is how an interface's
 * address and subnet are written); matching applies the mask.
 */
int wc_cidr_parse(const char *s, struct wc_cidr *out)
{
	uint32_t addr = 0;
	unsigned int v, prefix = 32;

	if (s == NULL || out == NULL)
		return -EINVAL;
	for (int i = 0; i < 4; i++) {
		s = parse_dec(s, 3, &v);
		if (s == NULL || v > 255)
			return -EINVAL;
		addr = addr << 8 | v;
		if (i < 3 && *s++ != '.')
			return -EINVAL;
	}
	if (*s == '/') {
		s = parse_dec(s + 1, 2, &prefix);
		if (s == NULL || prefix > 32)
			return -EINVAL;
	}
	if (*s != '\0')
		return -EINVAL;
	out->addr = rte_cpu_to_be_32(addr);
	out->mask = rte_cpu_to_be_32(prefix == 0 ? 0 : UINT32_MAX << (32 - prefix));
	return 0;
}

void wc_cidr_format(const struct wc_cidr *c, char *buf, size_t len)
{
	uint32_t a = rte_be_to_cpu_32(c->addr);

	snprintf(buf, len, "%u.%u.%u.%u/%d", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255,
		 __builtin_popcount(c->mask));
}

static void format_size(uint64_t v, char *buf, size_t len)
{
	static const struct {
		uint64_t mult;
		char suffix;
	} units[] = { { WC_GIB, 'g' }, { WC_MIB, 'm' }, { WC_KIB, 'k' } };

	for (size_t i = 0; i < 3; i++) {
		if (v != 0 && v % units[i].mult == 0) {
			snprintf(buf, len, "%" PRIu64 "%c", v / units[i].mult, units[i].suffix);
			return;
		}
	}
	snprintf(buf, len, "%" PRIu64, v);
}

int wc_config_get(const struct wc_config *cfg, const char *name, char *buf, size_t len)
{
	const struct wc_opt *opt = find_opt(name);
	const void *field;

	if (opt == NULL)
		return -ENOENT;
	field = (const char *)cfg + opt->off;
	switch (opt->i.type) {
	case WC_OPT_BOOL:
		snprintf(buf, len, "%s", *(const bool *)field ? "on" : "off");
		break;
	case WC_OPT_U32:
		snprintf(buf, len, "%" PRIu32, *(const uint32_t *)field);
		break;
	case WC_OPT_SIZE:
		format_size(*(const uint64_t *)field, buf, len);
		break;
	case WC_OPT_CIDR:
		wc_cidr_format(field, buf, len);
		break;
	case WC_OPT_CIDRLIST: {
		size_t off = 0;

		buf[0] = '\0';
		for (unsigned int i = 0; i < cfg->n_udp_allow && off < len; i++) {
			char one[24];

			wc_cidr_format(&cfg->udp_allow[i], one, sizeof(one));
			off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? "," : "", one);
		}
		break;
	}
	case WC_OPT_LEVEL:
		snprintf(buf, len, "%s", "notice");
		for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
			if (levels[i].level == *(const uint32_t *)field)
				snprintf(buf, len, "%s", levels[i].name);
		break;
	case WC_OPT_STR:
		snprintf(buf, len, "%s", (const char *)field);
		break;
	}
	return 0;
}

/* The sections a config file may label its options with; others are skipped. */
static bool section_ours(const char *section)
{
	return section[0] == '\0' || strcmp(section, "wirecache") == 0 ||
	       strcmp(section, "wirecached") == 0 || strcmp(section, "mgmt") == 0;
}

struct ini_state {
	struct wc_config *cfg;
	const char *path;
	char *err;
	size_t errlen;
	int rc;
};

static int on_ini_line(void *user, const char *section, const char *name, const char *value)
{
	struct ini_state *st = user;
	char why[256];

	if (!section_ours(section))
		return 1;
	if (wc_config_set(st->cfg, name, value, why, sizeof(why)) != 0) {
		/* ini_parse_file() reports the line; keep the reason for it. */
		snprintf(st->err, st->errlen, "%s", why);
		st->rc = -EINVAL;
		return 0;
	}
	return 1;
}

int wc_config_load_file(struct wc_config *cfg, const char *path, char *err, size_t errlen)
{
	struct ini_state st = { cfg, path, err, errlen, 0 };
	struct wc_config tmp = *cfg;
	FILE *f = fopen(path, "r");
	int rc;

	if (f == NULL) {
		snprintf(err, errlen, "config file %s: %s", path, strerror(errno));
		return -ENOENT;
	}
	st.cfg = &tmp;
	rc = ini_parse_file(f, on_ini_line, &st);
	fclose(f);
	if (st.rc != 0) {
		char why[256];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "%s:%d: %s", path, rc, why);
		return st.rc;
	}
	if (rc != 0) {
		snprintf(err, errlen, "%s:%d: not a 'name = value' line", path, rc);
		return -EINVAL;
	}
	*cfg = tmp;
	return 0;
}

/*
 * config rewrite: the file's lines, each either kept as it is or replaced by
 * "name = value" when it sets an option whose value changed.
 */
static const char *skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/*
 * If @p line is "name = value" for a known option in one of our sections,
 * the option; its value (trimmed, comments after " ;"/" #" removed as
 * libinih does) in @p val.
 */
static const struct wc_opt *line_option(const char *line, bool in_ours, char *val, size_t vlen)
{
	char name[64];
	const char *p = skip_space(line), *eq, *end;
	size_t n;

	if (!in_ours || *p == '#' || *p == ';' || *p == '[' || *p == '\0' || *p == '\n')
		return NULL;
	eq = strpbrk(p, "=:");
	if (eq == NULL)
		return NULL;
	end = eq;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	n = (size_t)(end - p);
	if (n == 0 || n >= sizeof(name))
		return NULL;
	memcpy(name, p, n);
	name[n] = '\0';
	p = skip_space(eq + 1);
	snprintf(val, vlen, "%s", p);
	for (char *c = val; *c != '\0'; c++) {
		if (*c == '\n' || *c == '\r' ||
		    ((*c == ';' || *c == '#') && c > val && (c[-1] == ' ' || c[-1] == '\t'))) {
			*c = '\0';
			break;
		}
	}
	for (size_t l = strlen(val); l > 0 && (val[l - 1] == ' ' || val[l - 1] == '\t'); l--)
		val[l - 1] = '\0';
	return find_opt(name);
}

/* Does the text @p val give option @p o the value it has in @p cfg? */
static bool value_same(const struct wc_opt *o, const char *val, const struct wc_config *cfg)
{
	struct wc_config tmp = *cfg;
	char err[256], a[1024], b[1024];

	if (wc_config_set(&tmp, o->i.name, val, err, sizeof(err)) != 0)
		return false;
	wc_config_get(&tmp, o->i.name, a, sizeof(a));
	wc_config_get(cfg, o->i.name, b, sizeof(b));
	return strcmp(a, b) == 0;
}

int wc_config_rewrite(const char *path, const struct wc_config *cfg, char *err, size_t errlen)
{
	struct wc_config defaults;
	bool seen[N_OPTS] = { false }, in_ours = true, appended = false;
	char tmp[WC_PATH_MAX + 16], line[2048], val[1024], cur[1024];
	FILE *in, *out;
	int fd, rc = 0;

	wc_config_defaults(&defaults);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	in = fopen(path, "r");
	if (in == NULL && errno != ENOENT) {
		snprintf(err, errlen, "config file %s: %s", path, strerror(errno));
		return -errno;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	out = fd < 0 ? NULL : fdopen(fd, "w");
	if (out == NULL) {
		rc = -errno;
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		if (in != NULL)
			fclose(in);
		return rc;
	}
	while (in != NULL && fgets(line, sizeof(line), in) != NULL) {
		const char *p = skip_space(line);
		const struct wc_opt *o;

		if (*p == '[') {
			char sec[64] = "";

			sscanf(p, "[%63[^]]", sec);
			in_ours = section_ours(sec);
		}
		o = line_option(line, in_ours, val, sizeof(val));
		if (o == NULL) {
			fputs(line, out);
			continue;
		}
		seen[o - opts] = true;
		if (value_same(o, val, cfg)) {
			fputs(line, out);
			continue;
		}
		wc_config_get(cfg, o->i.name, cur, sizeof(cur));
		fprintf(out, "%s = %s\n", o->i.name, cur);
	}
	if (in != NULL)
		fclose(in);
	for (size_t i = 0; i < N_OPTS; i++) {
		if (seen[i] || value_same(&opts[i], opts[i].i.def, cfg))
			continue;
		if (!appended)
			fprintf(out, "\n# written by config rewrite\n");
		appended = true;
		wc_config_get(cfg, opts[i].i.name, cur, sizeof(cur));
		fprintf(out, "%s = %s\n", opts[i].i.name, cur);
	}
	(void)defaults;
	if (fflush(out) != 0 || fsync(fileno(out)) != 0)
		rc = -errno;
	if (fclose(out) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(-rc));
		unlink(tmp);
	}
	return rc;
}

/* Split "--name=value" or "--name value"; returns how many argv slots it used. */
static int split_arg(int argc, char **argv, int i, char *name, size_t namelen, const char **value)
{
	const char *a = argv[i] + 2;
	const char *eq = strchr(a, '=');

	if (eq != NULL) {
		snprintf(name, namelen, "%.*s", (int)(eq - a), a);
		*value = eq + 1;
		return 1;
	}
	snprintf(name, namelen, "%s", a);
	if (i + 1 >= argc) {
		*value = NULL;
		return 1;
	}
	*value = argv[i + 1];
	return 2;
}

int wc_config_parse_args(struct wc_config *cfg, int argc, char **argv, const char *prog,
			 unsigned int scope, char *path, size_t pathlen, char *err, size_t errlen)
{
	char name[64];
	const char *value;
	int i, used, rc;

	if (path != NULL && pathlen > 0)
		path[0] = '\0';
	/* Pass 1: --help and --config, so the command line overrides the file. */
	for (i = 1; i < argc; i += used) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			wc_config_usage(stdout, prog, scope);
			return 1;
		}
		if (strncmp(argv[i], "--", 2) != 0 || argv[i][2] == '\0') {
			snprintf(err, errlen, "unexpected argument '%s' (options are --NAME VALUE)",
				 argv[i]);
			return -EINVAL;
		}
		used = split_arg(argc, argv, i, name, sizeof(name), &value);
		if (value == NULL) {
			snprintf(err, errlen, "option --%s needs a value", name);
			return -EINVAL;
		}
		if (strcmp(name, "config") == 0) {
			rc = wc_config_load_file(cfg, value, err, errlen);
			if (rc != 0)
				return -EINVAL;
			if (path != NULL)
				snprintf(path, pathlen, "%s", value);
		}
	}
	/* Pass 2: every other option, in order. */
	for (i = 1; i < argc; i += used) {
		used = split_arg(argc, argv, i, name, sizeof(name), &value);
		if (strcmp(name, "config") == 0)
			continue;
		if (wc_config_set(cfg, name, value, err, errlen) != 0)
			return -EINVAL;
	}
	return 0;
}

void wc_config_usage(FILE *f, const char *prog, unsigned int scope)
{
	fprintf(f,
		"usage: %s %s[--config FILE] [--NAME VALUE]...\n\n"
		"Every option can be given on the command line as --NAME VALUE (or --NAME=VALUE)\n"
		"or in the config file as 'NAME = VALUE'; the command line wins.\n"
		"Sizes take a k, m or g suffix (powers of 1024). Options marked [runtime]\n"
		"can be changed on a running dataplane with 'wirectl config set'.\n\n",
		prog, scope & WC_OPT_DP ? "[EAL options] -- " : "");
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct wc_opt_info *o = &opts[i].i;
		char range[64] = "";

		if (!(o->flags & scope))
			continue;
		if (o->type == WC_OPT_U32 || o->type == WC_OPT_SIZE)
			snprintf(range, sizeof(range), ", %" PRIu64 "..%" PRIu64, o->min, o->max);
		fprintf(f, "  --%-16s %-10s %s%s\n  %-18s %10s (default: %s%s)\n", o->name,
			type_names[o->type], o->desc, o->flags & WC_OPT_RUNTIME ? " [runtime]" : "",
			"", "", o->def[0] ? o->def : "none", range);
	}
	fprintf(f, "  --%-16s %-10s %s\n", "config", "FILE", "read options from an INI file first");
}
