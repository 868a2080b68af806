/* SPDX-License-Identifier: BSD-3-Clause */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>
#include <rte_log.h>

#include "dataplane/config.h"

struct wc_opt {
	const char *name;
	enum wc_opt_type type;
	const char *def;
	uint64_t min;
	uint64_t max;
	const char *desc;
	size_t off;
};

static const struct wc_opt opts[] = {
#define WC_OPT_ENTRY(field, name, type, def, min, max, desc) \
	{ name,                                              \
	  WC_OPT_##type,                                     \
	  def,                                               \
	  (uint64_t)(min),                                   \
	  (uint64_t)(max),                                   \
	  desc,                                              \
	  offsetof(struct wc_config, field) },
	WC_OPTIONS(WC_OPT_ENTRY)
#undef WC_OPT_ENTRY
};

#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

static const char *const type_names[] = {
	[WC_OPT_BOOL] = "on|off",    [WC_OPT_U32] = "number",	     [WC_OPT_SIZE] = "size",
	[WC_OPT_CIDR] = "A.B.C.D/N", [WC_OPT_CIDRLIST] = "CIDR,...", [WC_OPT_LEVEL] = "level",
};

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
		if (strcmp(opts[i].name, name) == 0)
			return &opts[i];
	return NULL;
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
	const struct wc_opt *o = find_opt(name);
	void *field;
	uint64_t n;
	int rc;

	if (o == NULL) {
		snprintf(err, errlen, "unknown option --%s (see --help)", name);
		return -ENOENT;
	}
	field = (char *)cfg + o->off;
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
				 "option --%s: '%s' is out of range (%" PRIu64 "..%" PRIu64 ")",
				 name, value, o->min, o->max);
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
			snprintf(err, errlen, "option --%s: more than %d prefixes", name,
				 WC_ALLOW_MAX);
			return rc;
		}
		if (rc != 0) {
			snprintf(err, errlen, "option --%s: '%s' is not a CIDR (A.B.C.D/N)", name,
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
	}
bad:
	snprintf(err, errlen, "option --%s: '%s' is not a valid %s", name, value,
		 type_names[o->type]);
	return -EINVAL;
}

void wc_config_defaults(struct wc_config *cfg)
{
	char err[256];

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < N_OPTS; i++) {
		int rc = wc_config_set(cfg, opts[i].name, opts[i].def, err, sizeof(err));

		/* The table's own defaults are checked by the unit tests. */
		if (rc != 0)
			abort();
	}
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

	if (section[0] != '\0' && strcmp(section, "wirecached") != 0)
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
	FILE *f = fopen(path, "r");
	int rc;

	if (f == NULL) {
		snprintf(err, errlen, "config file %s: %s", path, strerror(errno));
		return -ENOENT;
	}
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
	return 0;
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

int wc_config_parse_args(struct wc_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	char name[64];
	const char *value;
	int i, used, rc;

	/* Pass 1: --help and --config, so the command line overrides the file. */
	for (i = 1; i < argc; i += used) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			wc_config_usage(stdout, "wirecached");
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

void wc_config_usage(FILE *f, const char *prog)
{
	fprintf(f,
		"usage: %s [EAL options] -- [--config FILE] [--NAME VALUE]...\n\n"
		"Every option can be given on the command line as --NAME VALUE (or --NAME=VALUE)\n"
		"or in the config file as 'NAME = VALUE'; the command line wins.\n"
		"Sizes take a k, m or g suffix (powers of 1024).\n\n",
		prog);
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct wc_opt *o = &opts[i];
		char range[64] = "";

		if (o->type == WC_OPT_U32 || o->type == WC_OPT_SIZE)
			snprintf(range, sizeof(range), ", %" PRIu64 "..%" PRIu64, o->min, o->max);
		fprintf(f, "  --%-16s %-10s %s\n  %-18s %10s (default: %s%s)\n", o->name,
			type_names[o->type], o->desc, "", "", o->def[0] ? o->def : "none", range);
	}
	fprintf(f, "  --%-16s %-10s %s\n", "config", "FILE", "read options from an INI file first");
}
