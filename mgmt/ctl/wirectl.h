/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * What wirectl's command files share: reading members of the server's JSON
 * documents (docs/wirectl.md) and `wirectl top`.
 */
#ifndef WC_CTL_WIRECTL_H
#define WC_CTL_WIRECTL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

/** Member @p key of @p obj as an unsigned integer (0 when absent or not a number). */
uint64_t wc_j_u64(const json_t *obj, const char *key);

/** Member @p key of @p obj as a double (integers too); NAN when absent or null. */
double wc_j_num(const json_t *obj, const char *key);

/** Member @p key of @p obj as a string; @p dflt when absent, null or not a string. */
const char *wc_j_str(const json_t *obj, const char *key, const char *dflt);

/** The sum of the drop_* members of an lcore's counters object. */
uint64_t wc_drops_of(const json_t *counters);

/** Health ("ok", "unhealthy", "down") in words for a person. */
const char *wc_health_words(const char *health);

/**
 * `wirectl top`: live rates from wirecache-mgmt at @p socket over one
 * connection, refreshed every second.
 * @param iterations  refreshes before exiting; 0 = until `q` on a terminal,
 *                    1 when stdout is not a terminal
 * @return an exit status (enum wc_ctl_exit).
 */
int wc_top_run(const char *socket, unsigned int iterations);

#endif /* WC_CTL_WIRECTL_H */
