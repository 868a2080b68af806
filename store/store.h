/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The item store: one partition of the keyspace.
 *
 * A partition is an index of the 64-bit hash of the key (the full key is
 * kept in the item and compared, so colliding hashes are told apart) over
 * item memory drawn from hugepages under a hard limit. When the
 * limit is reached, items are evicted; expired items are reclaimed lazily on
 * access and by wc_store_tick().
 *
 * The store knows nothing of packets or protocols: it stores keys, values,
 * 32-bit client flags, an expiry time, and a CAS unique.
 *
 * Thread safety: a partition is owned by one lcore; every function here must
 * be called from that lcore only, except wc_store_read() (any lcore, when the
 * partition was made with a qsbr variable), wc_store_owner()/wc_store_hash(),
 * and the reads of the limits (wc_store_mem_limit(), wc_store_mem_reserved(),
 * wc_store_mem_min()).
 *
 * Times are absolute, in seconds of the caller's clock (see wc_store_tick());
 * an exptime of 0 means "never expires".
 */
#ifndef WC_STORE_H
#define WC_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * XXH3 inlined where keys are hashed. GCC 12 takes its reads of a short key
 * (two overlapping words, bounded by the length) for reads past a caller's
 * fixed-size key buffer once inlined; they are not.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#define XXH_INLINE_ALL
#include <xxhash.h>
#pragma GCC diagnostic pop

#define WC_KEY_MAX 250 /**< longest key, as memcached */

/**
 * Bytes an item counts for besides its key and value in max_item_size: a
 * fixed figure, whatever the item really takes in memory, so the largest
 * value accepted does not move with the layout. (The bytes stat counts what
 * items really take.)
 */
#define WC_ITEM_HDR 30

struct wc_store;
struct wc_item;
struct rte_rcu_qsbr;

/** Construction parameters of one partition. */
struct wc_store_config {
	const char *name;     /**< unique name (of its memory allocations) */
	size_t mem_limit;     /**< bytes of item memory, hard limit (all allocated now) */
	size_t max_item_size; /**< largest key + value + header accepted */
	int socket_id;	      /**< NUMA socket for the memory, or SOCKET_ID_ANY */
	uint32_t max_items;   /**< index capacity; 0 = derive from mem_limit */
	bool no_evict;	      /**< refuse stores when full instead of evicting */
	/**
	 * The RCU variable every lcore that reads this partition remotely
	 * (wc_store_read()) reports its quiescent states to; memory and index
	 * slots are reused only after all of them have passed one. NULL: the
	 * partition is read by its owner only.
	 */
	struct rte_rcu_qsbr *qsbr;
	/**
	 * The function the caller computes the hash argument with, when it is
	 * not wc_store_hash() (tests that force collisions): the store computes
	 * an item's hash again from its key to find its index entry when it
	 * moves or drops the item. NULL: wc_store_hash().
	 */
	uint64_t (*hash)(const void *key, size_t klen);
};

/** Outcome of a storage or lookup operation (>= 0), or a negative errno. */
enum wc_store_result {
	WC_STORE_OK = 0,	  /**< stored / deleted / touched / found */
	WC_STORE_NOT_STORED = 1,  /**< add on existing key, replace/append/prepend on missing */
	WC_STORE_EXISTS = 2,	  /**< cas unique mismatch */
	WC_STORE_NOT_FOUND = 3,	  /**< key absent (cas, delete, touch, arith) */
	WC_STORE_NON_NUMERIC = 4, /**< incr/decr on a value that is not a decimal number */
};

/** Storage modes, as memcached's set/add/replace/append/prepend/cas. */
enum wc_store_mode {
	WC_MODE_SET,
	WC_MODE_ADD,
	WC_MODE_REPLACE,
	WC_MODE_APPEND,
	WC_MODE_PREPEND,
	WC_MODE_CAS,
};

/** Counters kept by a partition (read by stats; owner lcore writes). */
struct wc_store_stats {
	uint64_t curr_items;
	uint64_t total_items; /**< successful stores */
	uint64_t bytes;	      /**< bytes of item memory live items take */
	uint64_t evictions;   /**< live items removed to make room */
	uint64_t expired_unfetched;
	uint64_t evicted_unfetched;
	uint64_t reclaimed;	  /**< expired items whose memory was reclaimed */
	uint64_t get_expired;	  /**< lookups that found their key expired (memcached's) */
	uint64_t oom;		  /**< stores refused for lack of memory */
	uint64_t hash_collisions; /**< lookups whose hash matched but key did not */
	/** index entries moved to their other bucket to make room for a key */
	uint64_t index_moves;
	/** times the owner waited for remote readers' grace period to reuse memory */
	uint64_t grace_waits;
	/** segments emptied ahead of need by the cleaner, a slice at a time */
	uint64_t segs_cleaned;
	/** segments a store had to empty at once, the cleaner behind */
	uint64_t reclaim_inline;
};

/**
 * 64-bit hash of a key: XXH3_64bits with seed 0 (plain XXH3_64bits()), so a
 * partition-aware client computes the same value with any XXH3 library. The
 * same value selects the partition and the key's index buckets and tag;
 * callers compute it once per request. Inline: it is on every request's
 * path, where the call cost a fifth of the hash itself.
 */
static inline uint64_t wc_store_hash(const void *key, size_t klen)
{
	return XXH3_64bits(key, klen);
}

/**
 * The partition that owns a key: a fixed function of the key's 64-bit hash
 * and the number of partitions, so partition-aware clients compute the same:
 * the high 32 bits of wc_store_hash() scaled to [0, nparts), i.e.
 * ((hash >> 32) * nparts) >> 32. (The index uses the low bits.)
 */
static inline unsigned int wc_store_owner(uint64_t hash, unsigned int nparts)
{
	return (unsigned int)(((hash >> 32) * (uint64_t)nparts) >> 32);
}

/** What a remote read returns besides the value. */
struct wc_item_meta {
	uint32_t vlen;
	uint32_t flags;
	uint32_t exptime; /**< absolute, 0 = never */
	uint32_t atime;	  /**< last access before this read */
	uint64_t cas;
	uint8_t bits; /**< WC_ITEM_WON / WC_ITEM_STALE */
	bool fetched; /**< accessed before this read */
};

/**
 * CREW read from any lcore, lock-free: look @p key up in partition @p s
 * (owned by another lcore) and copy its value into @p buf. The item's
 * version is read before and after the copy; a copy that raced with a change
 * is retried. No lock, no atomic read-modify-write; with @p bump the item's
 * access hints (fetched, last access, eviction hint) are set with plain
 * stores, which may lose a race harmlessly.
 *
 * Thread safety: any lcore registered on the partition's qsbr variable, not
 * between reports of a quiescent state held across calls; the owner may call
 * it too.
 * @return the value length (copied in full) with @p meta filled; -ENOENT if
 *         absent, expired or flushed; -ENOSPC if @p buflen is too small
 *         (meta->vlen says how much is needed); -EAGAIN if every retry raced.
 */
int wc_store_read(struct wc_store *s, const void *key, size_t klen, uint64_t hash, void *buf,
		  size_t buflen, bool bump, struct wc_item_meta *meta);

/**
 * Create a partition.
 * @return the partition, or NULL (rte_errno/errno set) if memory or the index
 *         cannot be had.
 */
struct wc_store *wc_store_create(const struct wc_store_config *cfg);

/** Free a partition and all its memory. NULL is accepted. */
void wc_store_destroy(struct wc_store *s);

/**
 * Advance the partition's clock to @p now and do a bounded slice of
 * background work (reclaiming expired items, a due delayed flush, emptying
 * segments towards a lowered memory limit: see wc_store_set_mem_limit()).
 * Called by the owner lcore every few loop iterations.
 */
void wc_store_tick(struct wc_store *s, uint32_t now);

/** The partition's current clock, as last given to wc_store_tick(). */
uint32_t wc_store_now(const struct wc_store *s);

/**
 * Look a key up. An expired or flushed item is reclaimed and reported absent.
 * Does not mark the item accessed: call wc_store_bump() for a hit that counts.
 * @return the item, valid until the next call that modifies this partition;
 *         NULL if absent.
 */
struct wc_item *wc_store_lookup(struct wc_store *s, const void *key, size_t klen, uint64_t hash);

/** What a read reply needs of an item, as wc_store_get() fills it. */
struct wc_item_view {
	const uint8_t *val; /**< the value, valid as the item pointer is */
	uint32_t vlen;
	uint32_t flags;
	uint64_t cas;
};

/**
 * wc_store_lookup() and the item's value, flags and CAS in one call: the
 * get path's lookup. Like wc_store_lookup(), it does not mark the item
 * accessed; call wc_store_bump() once the value is copied out.
 * @return the item, valid as wc_store_lookup()'s, with @p v filled; NULL if
 *         absent (@p v untouched).
 */
struct wc_item *wc_store_get(struct wc_store *s, const void *key, size_t klen, uint64_t hash,
			     struct wc_item_view *v);

/**
 * wc_store_get() for a reply that shows no CAS (@p v->cas is left 0),
 * with the access recorded as wc_store_bump() records it: the plain get's
 * lookup in one call.
 */
struct wc_item *wc_store_fetch(struct wc_store *s, const void *key, size_t klen, uint64_t hash,
			       struct wc_item_view *v);

/** Keys wc_store_fetch_burst() takes at once, at most. */
#define WC_STORE_BURST 32

/** A key for wc_store_fetch_burst(). */
struct wc_store_key {
	const void *key;
	uint32_t klen;
	uint64_t hash; /**< wc_store_hash() of the key */
};

/**
 * wc_store_fetch() of @p n keys (at most WC_STORE_BURST), with each
 * stage's memory reads started for every key before the first key needs
 * them: the index buckets, then the items the tags point at, then the
 * compares. What it finds and records is what wc_store_fetch() of each
 * key in turn would. A view stays valid as wc_store_fetch()'s; one lookup
 * cannot make another's item go away (only writes and expiry reclaim
 * memory, and an expired item reclaimed here is one that reads as absent).
 * @p v[i] is the view of k[i]'s item, its val NULL if absent.
 */
void wc_store_fetch_burst(struct wc_store *s, const struct wc_store_key *k, unsigned int n,
			  struct wc_item_view *v);

/** Record an access: last-access time, fetched bit, eviction hint. */
void wc_store_bump(struct wc_store *s, struct wc_item *it);

/*
 * Item accessors. The pointers returned stay valid as wc_store_lookup()'s.
 * wc_item_cas() and wc_item_atime() find the item's partition from its
 * address (a short search over the partitions); the other accessors read the
 * item alone.
 */
const char *wc_item_key(const struct wc_item *it, size_t *klen);
const uint8_t *wc_item_value(const struct wc_item *it, uint32_t *vlen);
uint32_t wc_item_flags(const struct wc_item *it);
uint64_t wc_item_cas(const struct wc_item *it);
uint32_t wc_item_exptime(const struct wc_item *it); /**< absolute, 0 = never */
/** Last access, absolute; exact for accesses up to about 15.9 hours after
 * the item's segment started filling, saturating beyond (see store.c). */
uint32_t wc_item_atime(const struct wc_item *it);
bool wc_item_fetched(const struct wc_item *it); /**< accessed since stored */

/* Per-item bits for memcached's meta protocol (win token, stale). */
#define WC_ITEM_WON   0x1 /**< a client was handed the recache token */
#define WC_ITEM_STALE 0x2 /**< invalidated by md I, awaiting a recache */
uint8_t wc_item_bits(const struct wc_item *it);
void wc_item_set_bits(struct wc_store *s, struct wc_item *it, uint8_t bits);

/*
 * Metadata changes. An item keeps an expiry or a CAS unique of its own in
 * place only if it was written with room for one; otherwise the change
 * writes a copy of the item that has the field and repoints the key to it.
 * Each returns the item to use from then on (the same or the copy; @p it is
 * stale if they differ), or @p it unchanged if a copy could not be had for
 * lack of memory (counted in oom). Owner lcore only.
 */

/** Change an item's expiry (touch/gat); its CAS unique stays. */
struct wc_item *wc_item_set_exptime(struct wc_store *s, struct wc_item *it, uint32_t exptime);

/** Give an item a new CAS unique, as a store would (used when md I marks it stale). */
struct wc_item *wc_item_new_cas(struct wc_store *s, struct wc_item *it);

/**
 * Set an item's CAS unique to a value chosen by the client (meta `E`), or
 * keep one across a change (`md x`). The partition's own uniques may later
 * repeat a client's choice: that is the client's contract with `E`, as in
 * memcached.
 */
struct wc_item *wc_item_set_cas(struct wc_store *s, struct wc_item *it, uint64_t cas);

/**
 * Store a value. For WC_MODE_CAS, @p cas_in must equal the item's unique.
 * For other modes a non-zero @p cas_in is also checked (meta `ms C`).
 * For append/prepend, @p flags and @p exptime are ignored and the item's kept.
 * @param cas_out  if non-NULL, receives the new item's CAS unique.
 * @return WC_STORE_OK, WC_STORE_NOT_STORED, WC_STORE_EXISTS,
 *         WC_STORE_NOT_FOUND (cas on missing key); -E2BIG if the item is
 *         larger than max_item_size; -ENOMEM if no memory could be freed.
 */
int wc_store_set(struct wc_store *s, enum wc_store_mode mode, const void *key, size_t klen,
		 uint64_t hash, const void *val, uint32_t vlen, uint32_t flags, uint32_t exptime,
		 uint64_t cas_in, uint64_t *cas_out);

/**
 * Reserve an item for a value of @p vlen bytes to be filled in place, then
 * published with wc_store_commit() (or dropped with wc_store_abort()). Lets a
 * stream copy a value straight from packets into item memory once.
 * Only one reservation may be open per partition.
 * @return a pointer to vlen writable bytes, or NULL with *err = -E2BIG/-ENOMEM.
 */
uint8_t *wc_store_reserve(struct wc_store *s, const void *key, size_t klen, uint64_t hash,
			  uint32_t vlen, uint32_t flags, uint32_t exptime, int *err);

/** Publish the open reservation with @p mode; returns as wc_store_set(). */
int wc_store_commit(struct wc_store *s, enum wc_store_mode mode, uint64_t cas_in,
		    uint64_t *cas_out);

/** Drop the open reservation. */
void wc_store_abort(struct wc_store *s);

/**
 * Delete a key; a non-zero @p cas_in must match.
 * @return WC_STORE_OK, WC_STORE_NOT_FOUND, WC_STORE_EXISTS.
 */
int wc_store_delete(struct wc_store *s, const void *key, size_t klen, uint64_t hash,
		    uint64_t cas_in);

/**
 * incr/decr a decimal value, with memcached's rules: incr wraps at 2^64, decr
 * stops at 0. As memcached, a result no longer than the stored value keeps
 * its length, padded with spaces, and the item its fetched and token bits; a
 * longer one makes a new item. (The bytes are written to a new copy either
 * way, so remote readers never see a value change under them; pointers from
 * wc_store_lookup() are stale afterwards.)
 * A non-zero @p cas_in must match.
 * @return WC_STORE_OK (with *result and *cas_out), WC_STORE_NOT_FOUND,
 *         WC_STORE_NON_NUMERIC, WC_STORE_EXISTS, -ENOMEM.
 */
int wc_store_arith(struct wc_store *s, const void *key, size_t klen, uint64_t hash, bool incr,
		   uint64_t delta, uint64_t cas_in, uint64_t *result, uint64_t *cas_out);

/**
 * Invalidate every item stored at or before @p when (absolute; 0 or a time
 * not after now = immediately), as memcached's `flush_all [delay]`.
 */
void wc_store_flush(struct wc_store *s, uint32_t when);

/** The partition's counters. */
const struct wc_store_stats *wc_store_stats(const struct wc_store *s);

/**
 * Bytes of item memory in use: the sealed segments and the filled part of
 * the active one. At most the limit, except for a while after the limit was
 * lowered (see wc_store_set_mem_limit()).
 */
size_t wc_store_mem_used(const struct wc_store *s);

/**
 * The current memory limit: cfg->mem_limit, or the last value
 * wc_store_set_mem_limit() accepted. Any lcore (a relaxed read).
 */
size_t wc_store_mem_limit(const struct wc_store *s);

/**
 * The memory limit the partition was created with (cfg->mem_limit). Its
 * item memory was allocated then, as whole segments within it, and stays
 * allocated: this is the highest limit wc_store_set_mem_limit() accepts.
 * Any lcore.
 */
size_t wc_store_mem_reserved(const struct wc_store *s);

/**
 * The lowest limit wc_store_set_mem_limit() accepts: the fewest segments a
 * partition works with, as wc_store_create() requires (4: the active
 * segment, one kept free for copying, two that an operation may hold still;
 * with remote readers 2 more for RCU grace periods), times the segment size
 * chosen at create time. Any lcore.
 */
size_t wc_store_mem_min(const struct wc_store *s);

/**
 * Change the memory limit at run time (owner lcore only, as stores).
 *
 * The memory stays allocated; the limit decides how many of the
 * partition's segments are used: bytes / segment size, rounded down (as at
 * create time). wc_store_mem_limit() reports @p bytes from the return on.
 *
 * Lowered: free segments beyond the reserve are taken out of use at once,
 * the others as they empty: the call itself evicts nothing. Each
 * wc_store_tick() then empties segments as eviction does (a mostly dead
 * segment is compacted, else the oldest is evicted with second chance;
 * evicted items count in evictions, expired ones in reclaimed), looking at
 * 1024 items at most, so a large drop costs no long pause. Stores that need
 * a segment meanwhile reclaim one as usual, from the segments still in use:
 * none beyond those is taken again. wc_store_mem_used() is at most the new
 * limit once the excess segments are emptied: after about one tick per 1024
 * items they held. With remote readers an emptied segment leaves use after
 * its grace period, and no more are emptied while enough are on their way
 * (a reader that holds up grace periods delays the end of the shrink, it
 * does not make it evict more). Stores keep working meanwhile and after,
 * evicting under the new limit; items not evicted are unchanged.
 *
 * With no_evict (see wc_store_set_evict()) nothing is evicted: segments
 * leave use as deletes and expiry empty them, and as ticks compact mostly
 * dead ones. Until the partition is within the new limit, segments that
 * empty are not reused, so once the active segment is full, stores are
 * refused with -ENOMEM (counted in oom) unless compaction of dead space
 * makes room; deletes and expiry bring the partition under the limit, and
 * stores succeed again.
 *
 * Raised: segments out of use are free again at once.
 *
 * @return 0; -ERANGE if @p bytes is above wc_store_mem_reserved() or below
 *         wc_store_mem_min() (nothing changed).
 */
int wc_store_set_mem_limit(struct wc_store *s, size_t bytes);

/**
 * Turn eviction on or off at run time (cfg->no_evict is !@p evict); owner
 * lcore only. Off: a store that finds no memory free (after compaction of
 * dead space) or no index entry is refused with -ENOMEM and counted in oom;
 * nothing stored is lost. On: such a store evicts. Takes effect at the next
 * store; items are not touched by the call.
 */
void wc_store_set_evict(struct wc_store *s, bool evict);

/** Whether the partition evicts when full (!no_evict). */
bool wc_store_evicts(const struct wc_store *s);

/**
 * Bytes the partition's index takes: its buckets, allocated whole at
 * create, 64 bytes for every 8 slots, with a slot for every item admitted
 * and 15% more (about 9.4 bytes an item). The index admits
 * cfg->max_items or, when 0, as many
 * items of a 16-byte key and a 32-byte value as the segments outside the
 * reserve hold (the free segment kept for copying; with remote readers the
 * segments kept for RCU grace periods, max(2, segments / 32)), so a full
 * partition of such items fills its index and larger items fill the memory
 * first.
 */
size_t wc_store_index_bytes(const struct wc_store *s);

/** How many items the index admits (cfg->max_items or its default). */
uint64_t wc_store_index_capacity(const struct wc_store *s);

/**
 * The NUMA node the partition's item memory really is on (get_mempolicy()
 * on its first page), or -1 if unknown. Any lcore.
 */
int wc_store_numa_node(const struct wc_store *s);

#endif /* WC_STORE_H */
