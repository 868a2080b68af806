/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * wirecache's options: one X-macro table that is the config file's keys,
 * both programs' `--NAME VALUE` flags and `--help`, `wirectl config`'s
 * names, types, ranges and descriptions, and the wc_config struct.
 *
 * One INI-style file (libinih) serves wirecached and wirecache-mgmt: each
 * reads every option and uses those of its scope. Options marked RUNTIME
 * can be changed on a running dataplane (`wirectl config set`); the others
 * take effect at the next start.
 *
 * wc_config is plain data (no pointers): the dataplane publishes its live
 * copy in shared memory (mgmt/contract.h).
 *
 * Thread safety: the functions touch only the wc_config they are given.
 */
#ifndef WC_CONFIG_H
#define WC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define WC_ALLOW_MAX 32 /**< CIDRs in the UDP allowlist */

/** An IPv4 prefix; addresses and masks in network byte order. */
struct wc_cidr {
	uint32_t addr;
	uint32_t mask;
};

enum wc_opt_type {
	WC_OPT_BOOL,	 /**< on|off (also yes/no, true/false, 1/0) */
	WC_OPT_U32,	 /**< decimal integer */
	WC_OPT_SIZE,	 /**< bytes, with an optional k/m/g suffix (powers of 1024) */
	WC_OPT_CIDR,	 /**< A.B.C.D/N */
	WC_OPT_CIDRLIST, /**< comma-separated CIDRs, or empty */
	WC_OPT_LEVEL,	 /**< log level: error|warning|notice|info|debug */
	WC_OPT_STR,	 /**< text; max = its buffer size including the NUL */
};

/** Which program uses an option, and whether it changes at runtime. */
#define WC_OPT_DP      0x1 /**< read by wirecached */
#define WC_OPT_MGMT    0x2 /**< read by wirecache-mgmt */
#define WC_OPT_BOTH    (WC_OPT_DP | WC_OPT_MGMT)
#define WC_OPT_RUNTIME 0x4 /**< `wirectl config set` applies it to the running dataplane */

#define WC_KIB 1024ULL
#define WC_MIB (1024ULL * 1024)
#define WC_GIB (1024ULL * 1024 * 1024)

#define WC_PATH_MAX 256

/*
 * X(field, name, type, default, min, max, flags, description)
 * min/max bound U32 and SIZE values (inclusive); max is the buffer size of
 * a STR; other types ignore them.
 */
#define WC_OPTIONS(X)                                                                              \
	X(ip, "ip", CIDR, "10.200.0.1/24", 0, 0, WC_OPT_DP,                                        \
	  "the appliance's IPv4 address and prefix length on its port")                            \
	X(udp_port, "udp-port", U32, "11211", 1, 65535, WC_OPT_DP, "memcached UDP port")           \
	X(tcp_port, "tcp-port", U32, "11211", 0, 65535, WC_OPT_DP,                                 \
	  "memcached TCP port (text, meta and binary; 0: no TCP)")                                 \
	X(tcp_max_conns, "tcp-max-conns", U32, "4096", 1, 1048576, WC_OPT_DP,                      \
	  "TCP connections per worker lcore, TIME_WAIT included; more are refused, counted")       \
	X(tcp_snd_buf, "tcp-snd-buf", SIZE, "256k", 4 * WC_KIB, 1 * WC_GIB, WC_OPT_DP,             \
	  "replies queued per TCP connection before its requests wait (a client that stops "       \
	  "reading holds no more)")                                                                \
	X(tcp_mem, "tcp-mem", SIZE, "256m", 1 * WC_MIB, 64 * WC_GIB, WC_OPT_DP,                    \
	  "all TCP buffers of one worker lcore's connections; beyond it, buffers are refused, "    \
	  "counted")                                                                               \
	X(tcp_tx_cksum, "tcp-tx-checksum-offload", BOOL, "off", 0, 0, WC_OPT_DP,                   \
	  "let the NIC fill TCP checksums when it can (off: software; DPDK 22.11's net_tap "       \
	  "gets multi-segment ones wrong)")                                                        \
	X(memory_limit, "memory-limit", SIZE, "64m", 4 * WC_MIB, 1024 * WC_GIB,                    \
	  WC_OPT_DP | WC_OPT_RUNTIME,                                                              \
	  "item memory, a hard limit split evenly across partitions (at runtime: up to the "       \
	  "value at start)")                                                                       \
	X(max_item_size, "max-item-size", SIZE, "1m", 1 * WC_KIB, 128 * WC_MIB, WC_OPT_DP,         \
	  "largest item (key + value) accepted")                                                   \
	X(evict, "evict", BOOL, "on", 0, 0, WC_OPT_DP | WC_OPT_RUNTIME,                            \
	  "evict items when memory is full (off: refuse stores with SERVER_ERROR out of memory)")  \
	X(idle_backoff, "idle-backoff", BOOL, "on", 0, 0, WC_OPT_DP | WC_OPT_RUNTIME,              \
	  "after a run of empty polls pause, then sleep briefly (off for dedicated cores)")        \
	X(udp_allow, "udp-allow", CIDRLIST, "", 0, 0, WC_OPT_DP | WC_OPT_RUNTIME,                  \
	  "UDP source prefixes answered besides the port's own subnet (comma-separated CIDRs)")    \
	X(udp_open, "udp-open", BOOL, "off", 0, 0, WC_OPT_DP | WC_OPT_RUNTIME,                     \
	  "also answer UDP sources outside the subnet and allowlist, within a byte budget each")   \
	X(udp_open_budget, "udp-open-budget", SIZE, "16k", 1400, 1 * WC_GIB,                       \
	  WC_OPT_DP | WC_OPT_RUNTIME,                                                              \
	  "reply bytes per second allowed to each UDP source outside subnet and allowlist")        \
	X(port, "port", U32, "0", 0, 1023, WC_OPT_DP, "ethdev port id to serve")                   \
	X(mbufs, "mbufs", U32, "16383", 1023, 4194303, WC_OPT_DP, "mbufs in the packet pool")      \
	X(rx_desc, "rx-desc", U32, "1024", 64, 16384, WC_OPT_DP, "RX descriptors per queue")       \
	X(tx_desc, "tx-desc", U32, "1024", 64, 16384, WC_OPT_DP, "TX descriptors per queue")       \
	X(lifetime, "lifetime", U32, "0", 0, 4294967295U, WC_OPT_BOTH,                             \
	  "stop by itself after this many seconds (0 = run until SIGINT/SIGTERM)")                 \
	X(log_level, "log-level", LEVEL, "notice", 0, 0, WC_OPT_BOTH | WC_OPT_RUNTIME,             \
	  "log verbosity: error, warning, notice, info or debug")                                  \
	X(file_prefix, "file-prefix", STR, "wirecache", 0, 64, WC_OPT_BOTH,                        \
	  "DPDK shared-memory name: wirecache-mgmt attaches to the wirecached of the same prefix " \
	  "(EAL's --file-prefix; an explicit EAL flag wins)")                                      \
	X(mgmt_socket, "mgmt-socket", STR, "/run/wirecache/mgmt.sock", 0, 108, WC_OPT_MGMT,        \
	  "wirecache-mgmt's Unix control socket, the one wirectl talks to")                        \
	X(metrics_listen, "metrics-listen", STR, "127.0.0.1:9712", 0, 64, WC_OPT_MGMT,             \
	  "address:port of the Prometheus /metrics endpoint on the management network "            \
	  "(empty: no endpoint)")                                                                  \
	X(log_file, "log-file", STR, "/var/log/wirecache/wirecache.log", 0, WC_PATH_MAX,           \
	  WC_OPT_MGMT, "log file of both programs' lines (wirecache-mgmt writes it; empty: none)")

/** The parsed options; field names from WC_OPTIONS. */
struct wc_config {
	struct wc_cidr ip;
	uint32_t udp_port;
	uint32_t tcp_port;
	uint32_t tcp_max_conns;
	uint64_t tcp_snd_buf;
	uint64_t tcp_mem;
	bool tcp_tx_cksum;
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
	char file_prefix[64];
	char mgmt_socket[108]; /**< sun_path's size */
	char metrics_listen[64];
	char log_file[WC_PATH_MAX];
};

/** What the table says of one option. */
struct wc_opt_info {
	const char *name;
	enum wc_opt_type type;
	const char *type_name; /**< "on|off", "size", ... */
	const char *def;
	uint64_t min;
	uint64_t max;
	unsigned int flags; /**< WC_OPT_DP, WC_OPT_MGMT, WC_OPT_RUNTIME */
	const char *desc;
};

/** Number of options in the table. */
size_t wc_config_count(void);

/** The i-th option of the table (i < wc_config_count()), in table order. */
const struct wc_opt_info *wc_config_info(size_t i);

/** The option called @p name, or NULL. */
const struct wc_opt_info *wc_config_find(const char *name);

/** Fill @p cfg with every option's default. */
void wc_config_defaults(struct wc_config *cfg);

/**
 * Set one option from its text value.
 * @param err  receives a one-line reason on failure
 * @return 0; -ENOENT for an unknown name; -EINVAL or -ERANGE for a bad value
 *         (@p cfg unchanged).
 */
int wc_config_set(struct wc_config *cfg, const char *name, const char *value, char *err,
		  size_t errlen);

/**
 * One option's value as text in its canonical form, which wc_config_set()
 * reads back to the same value: sizes with the largest exact k/m/g suffix,
 * booleans on/off, CIDRs A.B.C.D/N joined by commas, level names.
 * @return 0, or -ENOENT for an unknown name.
 */
int wc_config_get(const struct wc_config *cfg, const char *name, char *buf, size_t len);

/**
 * Parse a program's arguments: `--config FILE` is read first, then every
 * `--NAME VALUE` / `--NAME=VALUE` overrides it, whatever the order.
 * @param prog  the program's name for --help
 * @param scope WC_OPT_DP or WC_OPT_MGMT: --help lists that program's options
 * @param path  receives the --config path ("" without one); may be NULL
 * @return 0; 1 if --help was given (usage printed); -EINVAL with the reason
 *         in @p err (one line naming the option).
 */
int wc_config_parse_args(struct wc_config *cfg, int argc, char **argv, const char *prog,
			 unsigned int scope, char *path, size_t pathlen, char *err, size_t errlen);

/**
 * Read an INI-style config file: `name = value` lines, `#`/`;` comments,
 * optional sections `[wirecache]`, `[wirecached]` or `[mgmt]` (one namespace:
 * the section is a label; other sections are ignored).
 * @return 0, or -EINVAL/-ENOENT with the reason (file:line) in @p err.
 */
int wc_config_load_file(struct wc_config *cfg, const char *path, char *err, size_t errlen);

/**
 * Persist @p cfg into the config file at @p path, keeping its comments,
 * order and every line whose value is already right: an option's line gets
 * the new value; an option missing from the file whose value differs from
 * its default is appended. Written to a temporary file, synced and renamed
 * over the old one, so a crash leaves one or the other.
 * @return 0, or a negative errno with the reason in @p err.
 */
int wc_config_rewrite(const char *path, const struct wc_config *cfg, char *err, size_t errlen);

/** Print the options of @p scope with type, default, range and description. */
void wc_config_usage(FILE *f, const char *prog, unsigned int scope);

/**
 * Parse "A.B.C.D/N" (or "A.B.C.D" = /32) strictly: decimal octets 0-255
 * without leading zeros, N 0-32, nothing else. The address keeps its host
 * bits ("10.200.0.1/24" names an interface address and its subnet); users
 * match under the mask.
 * @return 0, or -EINVAL (out untouched).
 */
int wc_cidr_parse(const char *s, struct wc_cidr *out);

/** Format a prefix as "A.B.C.D/N". */
void wc_cidr_format(const struct wc_cidr *c, char *buf, size_t len);

#endif /* WC_CONFIG_H */
