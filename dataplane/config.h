/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * wirecached's options: one X-macro table that is the config file's keys,
 * the command line's `--NAME VALUE` flags, `--help`, and the wc_config struct.
 *
 * Thread safety: parsed once in main before the lcores start; read-only after.
 */
#ifndef WC_CONFIG_H
#define WC_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "dataplane/net/net.h"

enum wc_opt_type {
	WC_OPT_BOOL,	 /**< on|off (also yes/no, true/false, 1/0) */
	WC_OPT_U32,	 /**< decimal integer */
	WC_OPT_SIZE,	 /**< bytes, with an optional k/m/g suffix (powers of 1024) */
	WC_OPT_CIDR,	 /**< A.B.C.D/N */
	WC_OPT_CIDRLIST, /**< comma-separated CIDRs, or empty */
	WC_OPT_LEVEL,	 /**< log level: error|warning|notice|info|debug */
};

#define WC_KIB 1024ULL
#define WC_MIB (1024ULL * 1024)
#define WC_GIB (1024ULL * 1024 * 1024)

/*
 * X(field, name, type, default, min, max, description)
 * min/max bound U32 and SIZE values (inclusive); other types ignore them.
 */
#define WC_OPTIONS(X)                                                                             \
	X(ip, "ip", CIDR, "10.200.0.1/24", 0, 0,                                                  \
	  "the appliance's IPv4 address and prefix length on its port")                           \
	X(udp_port, "udp-port", U32, "11211", 1, 65535, "memcached UDP port")                     \
	X(memory_limit, "memory-limit", SIZE, "64m", 4 * WC_MIB, 1024 * WC_GIB,                   \
	  "item memory, a hard limit (split evenly across partitions)")                           \
	X(max_item_size, "max-item-size", SIZE, "1m", 1 * WC_KIB, 128 * WC_MIB,                   \
	  "largest item (key + value) accepted")                                                  \
	X(evict, "evict", BOOL, "on", 0, 0,                                                       \
	  "evict items when memory is full (off: refuse stores with SERVER_ERROR out of memory)") \
	X(idle_backoff, "idle-backoff", BOOL, "on", 0, 0,                                         \
	  "after a run of empty polls pause, then sleep briefly (off for dedicated cores)")       \
	X(udp_allow, "udp-allow", CIDRLIST, "", 0, 0,                                             \
	  "UDP source prefixes answered besides the port's own subnet (comma-separated CIDRs)")   \
	X(udp_open, "udp-open", BOOL, "off", 0, 0,                                                \
	  "also answer UDP sources outside the subnet and allowlist, within a byte budget each")  \
	X(udp_open_budget, "udp-open-budget", SIZE, "16k", 1400, 1 * WC_GIB,                      \
	  "reply bytes per second allowed to each UDP source outside subnet and allowlist")       \
	X(port, "port", U32, "0", 0, 1023, "ethdev port id to serve")                             \
	X(mbufs, "mbufs", U32, "16383", 1023, 4194303, "mbufs in the packet pool")                \
	X(rx_desc, "rx-desc", U32, "1024", 64, 16384, "RX descriptors per queue")                 \
	X(tx_desc, "tx-desc", U32, "1024", 64, 16384, "TX descriptors per queue")                 \
	X(lifetime, "lifetime", U32, "0", 0, 4294967295U,                                         \
	  "stop by itself after this many seconds (0 = run until SIGINT/SIGTERM)")                \
	X(log_level, "log-level", LEVEL, "notice", 0, 0,                                          \
	  "log verbosity: error, warning, notice, info or debug")

/** The parsed options; field names from WC_OPTIONS. */
struct wc_config {
	struct wc_cidr ip;
	uint32_t udp_port;
	uint64_t memory_limit;
	uint64_t max_item_size;
	bool evict;
	bool idle_backoff;
	struct wc_cidr udp_allow[WC_ALLOW_MAX];
	unsigned int n_udp_allow;
	bool udp_open;
	uint64_t udp_open_budget;
	uint32_t port;
	uint32_t mbufs;
	uint32_t rx_desc;
	uint32_t tx_desc;
	uint32_t lifetime;
	uint32_t log_level; /**< an RTE_LOG_* level */
};

/** Fill @p cfg with every option's default. */
void wc_config_defaults(struct wc_config *cfg);

/**
 * Set one option from its text value.
 * @param err  receives a one-line reason on failure
 * @return 0; -ENOENT for an unknown name; -EINVAL or -ERANGE for a bad value.
 */
int wc_config_set(struct wc_config *cfg, const char *name, const char *value, char *err,
		  size_t errlen);

/**
 * Parse the application arguments (those after EAL's, i.e. after `--`):
 * `--config FILE` is read first, then every `--NAME VALUE` / `--NAME=VALUE`
 * overrides it, whatever the order.
 * @return 0; 1 if --help was given (usage printed); -EINVAL with the reason
 *         in @p err (one line naming the option).
 */
int wc_config_parse_args(struct wc_config *cfg, int argc, char **argv, char *err, size_t errlen);

/**
 * Read an INI-style config file: `name = value` lines, `#`/`;` comments,
 * an optional `[wirecached]` section (other sections are ignored).
 * @return 0, or -EINVAL/-ENOENT with the reason (file:line) in @p err.
 */
int wc_config_load_file(struct wc_config *cfg, const char *path, char *err, size_t errlen);

/** Print every option with its type, default, range and description. */
void wc_config_usage(FILE *f, const char *prog);

#endif /* WC_CONFIG_H */
