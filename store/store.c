/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The item store: one partition, a segmented log over preallocated memory
 * and a bucketed index of tagged item offsets.
 *
 * Memory layout. The whole memory limit is taken up front (hugepages in
 * production) and cut into equal power-of-two segments. Items are appended
 * to the one active segment; an overwrite or delete only marks the old copy
 * dead and subtracts it from its segment's live bytes. Segments that are
 * full are sealed into a FIFO, oldest first:
 *
 *   mem: | seg 0 | seg 1 | seg 2 | ... | seg n-1 |
 *   seg: | item | item (dead) | item | ... | item |   free tail   |
 *                                               ^ used
 *   item (2-byte aligned, 6-byte header, optional fields only when needed):
 *
 *     0      1      2      3      4      6
 *   +------+------+------+------+------+------+- - - - - - - - - - - - - - -+-----+-------+
 *   | klen | vlen | obits| rbits|  atime (16) | vlen 4 | flags 4 | exptime 4 | key | value |
 *   |      | 0-254|      |      |             | cas 8   (each only if needed)|     |       |
 *   +------+------+------+------+------+------+- - - - - - - - - - - - - - -+-----+-------+
 *
 *   obits (owner only):  WON 0x01 | STALE 0x02 | DEAD 0x04
 *   rbits (any reader):  FETCHED 0x01 | VISITED 0x02          (hints, plain stores)
 *                        WIDE 0x08 | HAS_FLAGS 0x10 | HAS_EXP 0x20 | HAS_CAS 0x40
 *                                      (layout: set before publication, never after)
 *
 *   A 16/32 item (no flags, no expiry) takes 6 + 16 + 32 = 54 bytes.
 *
 * vlen 255 means the value is 255 bytes or longer and a 32-bit length opens
 * the optional fields. Client flags, an expiry and a CAS unique take room only
 * when an item has them. The CAS unique is otherwise the item's position:
 * (segment epoch << (log2 segment size - 2)) | offset / 4, the epoch being
 * drawn from a partition counter when the segment starts filling (see
 * item_cas_rb()). An item copied forward by compaction or second chance, or
 * given a CAS by the client (meta E, md x), carries the field so its CAS does
 * not change; metadata an item has no field for (touch's expiry, E) is taken
 * by a copy that has it. atime counts seconds from its segment's start, less
 * ATIME_BACK, and saturates (see ATIME_BACK). The hints byte is apart from
 * the owner's so that a reader's store cannot undo an owner's change; the
 * layout bits share it safely because a reader writes back what it read
 * with hints added, and they never change. A partition-wide sequence (seq)
 * guards in-place metadata changes against remote readers in place of a
 * per-item version byte. There is no per-item pointer, hash or index position.
 *
 * Index. An array of 64-byte buckets of 8 slots, taken whole at create and
 * sized for max_items at 85% of its slots (about 9.4 bytes an item). A slot
 * is 0 or a 16-bit tag from the key's hash over the item's offset in the
 * partition's memory (48 bits, in units of ITEM_ALIGN). Every key has two
 * buckets, both from its hash, and lives in either: a lookup reads the
 * first, compares tags, then the full key in the item, and reads the second
 * only if that failed (a miss reads both). An insert takes a free slot of
 * the first bucket, else of the second, else moves one entry of the two to
 * its own other bucket; if none can move (about once in a million inserts
 * with random hashes at full fill, or for keys made to share a hash), the
 * least recently used item of the two buckets is evicted to make room. Keys
 * that share the whole 64-bit hash are told apart by the key in the item,
 * so at most 16 can live at once (two buckets). Nothing per item is kept
 * for the index: the store finds an item's slot from the hash of its key,
 * computed again (item_hash()).
 *
 * Why not rte_hash: it keeps a copy of the (8-byte) index key and a pointer
 * per entry in a separate key store, 64-byte buckets for a power of two of
 * entries and a free-slot ring, 29 bytes an item measured, and a lookup of
 * 68 instructions plus the table selection and collision chain around it;
 * this index takes 9.4 bytes and about 20 instructions for a hit in the
 * first bucket (docs/PERFORMANCE.md).
 *
 * Reclaiming space, cheapest first: a sealed segment whose items are all
 * dead is freed at once; a mostly-dead segment near the FIFO head is
 * compacted (its live items copied to the active segment); otherwise the
 * oldest segment is evicted, items read since they were written (visited)
 * get a second chance by being copied forward with the bit cleared. One free
 * segment is kept in reserve so that the copying always has a destination,
 * and the copying is capped so the new active segment always has room for
 * the item being stored.
 *
 * That work is done ahead of need, a slice at a time (clean_slice()): a
 * partition of 16 segments or more keeps one spare free segment beyond the
 * reserve, and while it lacks it each store cleans twice its own size of
 * the segment being emptied before it allocates. The store that fills the
 * active segment then takes the spare instead of emptying a whole segment
 * itself (a megabyte of items moved or evicted, hundreds of microseconds);
 * only when the cleaning falls behind does a store reclaim at once.
 *
 * Expiry is lazy on lookup, and wc_store_tick() walks a bounded number of
 * items per call, skipping segments whose earliest expiry is in the future.
 *
 * Remote readers (CREW). With cfg->qsbr, other lcores read through
 * wc_store_read() while the owner writes. A published item's key, value,
 * flags and length never change: overwrites, appends and incr/decr write a
 * new item and repoint the index entry (one atomic 8-byte store of its
 * slot). An emptied segment is retired with an RCU token and reused only
 * after a grace period. A deleted key's slot is cleared and may be taken at
 * once: a reader reads each slot once, whole, and every offset it can read
 * is of an item linked after the reader's last quiescent state or still
 * under its grace period, and the reader compares the full key in the item,
 * so the worst it sees is a miss for a key deleted during its read. An
 * entry moved to its other bucket (idx_make_room()) is written there before
 * it is cleared here, under seq, so a reader that missed it looks again.
 * Nothing on this path waits for a grace period unless the reserve of free
 * and retired segments (RESV_RCU()) ran out; that wait is bounded and counted.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring_elem.h>

#include <numaif.h>

#include "store/store.h"
#include "store/store_check.h"

struct wc_item {
	uint8_t klen;
	uint8_t vlen8;	/* value length, or VLEN_WIDE: a 32-bit length opens opt[] */
	uint8_t obits;	/* owner-written: WON, STALE, DEAD */
	uint8_t rbits;	/* FETCHED, VISITED (any reader); layout bits, fixed at birth */
	uint16_t atime; /* last access, seconds from the segment's base, saturating */
	uint8_t opt[];	/* [vlen 4] [flags 4] [exptime 4] [cas 8], then key, value */
};

#define ITEM_HDR   offsetof(struct wc_item, opt)
#define ITEM_ALIGN 2
#define VLEN_WIDE  255u

/* obits */
#define IT_PUBLIC (WC_ITEM_WON | WC_ITEM_STALE)
#define IT_DEAD	  0x04
/* rbits: hints any reader sets ... */
#define IT_FETCHED 0x01
#define IT_VISITED 0x02
#define IT_HINTS   (IT_FETCHED | IT_VISITED)
/* ... and which optional fields the item has: written before the item is
 * published and never after, so a reader's store of the byte it read back
 * with a hint added cannot change them. */
#define IT_WIDE	     0x08 /* vlen8 is VLEN_WIDE: a 32-bit length opens opt[] */
#define IT_HAS_FLAGS 0x10
#define IT_HAS_EXP   0x20
#define IT_HAS_CAS   0x40
#define IT_LAYOUT    (IT_WIDE | IT_HAS_FLAGS | IT_HAS_EXP | IT_HAS_CAS)

/*
 * The 16-bit last-access time counts seconds from ATIME_BACK before the
 * time its segment got its first item: an item copied forward keeps its
 * exact last access if that was at most ATIME_BACK seconds before the new
 * segment opened, and an access up to ATIME_MAX - ATIME_BACK seconds (about
 * 15.9 hours) after it is exact. Beyond, the time saturates: an older last
 * access reads as the base, a later one as the base + ATIME_MAX (mg l and
 * me la then under- or over-state the idle time).
 */
#define ATIME_BACK 8192
#define ATIME_MAX  65535

/*
 * A segment's life: FREE -> ACTIVE (items appended) -> SEALED (in the FIFO)
 * -> emptied -> FREE. With remote readers (cfg->qsbr) an emptied segment is
 * RETIRED first, with an RCU token, and only goes back to FREE once every
 * reader has passed a quiescent state since: a reader may still be copying
 * an item out of it. A segment beyond a memory limit lowered at run time is
 * PARKED instead of FREE (see wc_store_set_mem_limit()) until the limit is
 * raised again.
 */
enum seg_state { SEG_FREE, SEG_ACTIVE, SEG_SEALED, SEG_RETIRED, SEG_PARKED };

struct seg {
	uint64_t epoch;	  /* CAS epoch, fresh whenever the segment starts filling */
	uint32_t t0;	  /* clock when it started filling: items' atime base */
	uint32_t used;	  /* append offset */
	uint32_t live;	  /* bytes of items not dead (incl. allocated, unlinked) */
	uint32_t exp_min; /* earliest non-zero exptime written here; 0 = none */
	int32_t prev;	  /* FIFO links; next also links the free and retired lists */
	int32_t next;
	uint8_t state;
	uint64_t token; /* RETIRED: the grace period to wait for */
};

#define DEF_MAX_ITEM	 (1u << 20)
#define DEF_SEG_SIZE	 (1u << 20)
#define MIN_SEG_SIZE	 4096u
#define MIN_SEGS	 4u   /* active + reserve + two pinned */
#define RESV_SEGS_RCU	 2u   /* free + retired segments kept with remote readers, at least */
#define READ_TRIES	 64   /* wc_store_read() attempts before -EAGAIN */
#define GRACE_WAIT_MS	 10   /* longest wait for a grace period when out of reserve */
#define WANT_SEGS	 16u  /* shrink segments of small partitions to this */
#define COMPACT_SCAN	 16   /* FIFO segments looked at for compaction */
#define WALK_ITEMS	 1024 /* expiry walk budget per tick, items */
#define WALK_SEGS	 64   /* expiry walk budget per tick, segment headers */
#define WALK_BYTES	 (32u << 10) /* expiry walk budget per tick, bytes of items */
#define SHRINK_ITEMS	 1024	     /* items looked at per tick to give segments up */
#define CLEAN_SPARE_SEGS 16	     /* partitions this large keep a spare free segment */
#define CLEAN_ASSIST	 2	     /* bytes of sealed segments cleaned per byte allocated */
#define CLEAN_CHUNK	 (8u << 10)  /* cleaned at once by the allocations, at least */
#define CLEAN_TICK_BYTES (32u << 10) /* cleaned per tick when not shrinking */
/* Index sizing when max_items is 0: one entry per item of a 16-byte key and a
 * 32-byte value, the small item the memory is sized for (item_mem(16, 32, 0)). */
#define SIZING_KLEN 16
#define SIZING_VLEN 32
#define PIN_RESV    0
#define PIN_OP	    1

struct wc_store {
	uint64_t *idx; /* nbkt buckets of IDX_WAYS slots */
	uint32_t nbkt;
	uint64_t idx_count;	   /* slots in use */
	struct rte_rcu_qsbr *qsbr; /* NULL: no remote readers */
	/*
	 * Bumped (odd while under way) around every change a remote reader
	 * could see half done: an index entry moved to its other bucket (a
	 * reader that missed can tell a real miss from one that raced with
	 * the move), and the in-place metadata
	 * changes of a published item (exptime, CAS, meta bits). One counter
	 * for the partition instead of a version byte per item: a reader
	 * retries when any item changed under it, which is rare (touch, meta
	 * bits) and costs a copy, against a byte in every item.
	 */
	uint32_t seq;
	uint8_t *mem;
	struct seg *segs;
	uint32_t nseg;
	uint32_t seg_size;
	uint32_t seg_shift;
	int32_t active;
	int32_t fifo_head; /* oldest sealed */
	int32_t fifo_tail;
	int32_t free_head;
	uint32_t nfree;
	int32_t ret_head; /* retired segments, oldest token first */
	int32_t ret_tail;
	uint32_t nretired;
	uint64_t max_items; /* linked items allowed */
	uint32_t nsealed;
	int32_t pin[2]; /* segments that must not move: open reservation, current op */
	int32_t busy;	/* segment being walked; not released under the walker */
	uint32_t now;
	uint32_t flush_at; /* pending delayed flush, 0 = none */
	uint64_t epoch;	   /* last CAS epoch given to a segment */
	size_t mem_limit;  /* current; read by any lcore (stats) */
	size_t mem_max;	   /* the limit at create: the highest one accepted */
	size_t max_item_size;
	bool no_evict;
	/*
	 * A limit lowered at run time (see wc_store_set_mem_limit()): the
	 * partition uses nuse of its nseg segments; park_want of them are to be
	 * parked, npark are (a list through seg.next from park_head). While
	 * npark < park_want, segments that empty are parked instead of freed,
	 * and wc_store_tick() empties sealed ones from the shrink cursor.
	 */
	uint32_t nuse;
	uint32_t park_want;
	uint32_t npark;
	int32_t park_head;
	int32_t cln_seg; /* segment being emptied by the cleaner, or -1 */
	uint32_t cln_off;
	bool cln_compact;  /* moving every live item (else second chance) */
	uint64_t cln_debt; /* bytes the allocations owe the cleaner */
	uint32_t cln_goal; /* clean_goal(), kept by clean_goal_update() */
	uint64_t (*hash)(const void *key, size_t klen); /* NULL: wc_store_hash() */
	/* expiry walk cursor */
	int32_t walk_seg;
	uint32_t walk_off;
	uint32_t walk_min;
	uint32_t walk_next;
	/* open reservation */
	struct wc_item *resv;
	uint64_t resv_hash;
	struct wc_store_stats stats;
};

/* ---- items ---- */

/* What an item counts for in max_item_size and the bytes stat. */
static inline uint32_t item_bytes(size_t klen, size_t vlen)
{
	return (uint32_t)(WC_ITEM_HDR + klen + vlen);
}

/* Which optional fields an item of these metadata carries. */
static inline uint8_t item_layout(size_t vlen, uint32_t flags, uint32_t exptime, bool has_cas)
{
	return (uint8_t)((vlen >= VLEN_WIDE ? IT_WIDE : 0) | (flags != 0 ? IT_HAS_FLAGS : 0) |
			 (exptime != 0 ? IT_HAS_EXP : 0) | (has_cas ? IT_HAS_CAS : 0));
}

/*
 * Bytes of optional fields before the key, by layout bits (rb >> 3 & 15:
 * wide 4, flags 4, exptime 4, CAS 8): one load on every lookup.
 */
static const uint8_t opt_len_tab[16] = {
	0, 4, 4, 8, 4, 8, 8, 12, 8, 12, 12, 16, 12, 16, 16, 20,
};

static inline uint32_t opt_len(uint8_t rb)
{
	return opt_len_tab[(rb >> 3) & 15];
}

/* The memory an item takes in its segment. */
static inline uint32_t item_mem(size_t klen, size_t vlen, uint8_t rb)
{
	return RTE_ALIGN_CEIL((uint32_t)(ITEM_HDR + opt_len(rb) + klen + vlen), ITEM_ALIGN);
}

static inline uint32_t item_vlen(const struct wc_item *it)
{
	uint32_t v = it->vlen8;

	if (unlikely(v == VLEN_WIDE))
		memcpy(&v, it->opt, sizeof(v));
	return v;
}

/*
 * The optional fields, in their order; @p rb is the item's rbits. Offsets
 * are computed without branches: these run on every lookup.
 */
static inline uint8_t *opt_flags(const struct wc_item *it, uint8_t rb)
{
	return (uint8_t *)(uintptr_t)it->opt + ((rb & IT_WIDE) >> 1);
}

static inline uint8_t *opt_exp(const struct wc_item *it, uint8_t rb)
{
	return opt_flags(it, rb) + ((rb & IT_HAS_FLAGS) >> 2);
}

static inline uint8_t *opt_cas(const struct wc_item *it, uint8_t rb)
{
	return opt_exp(it, rb) + ((rb & IT_HAS_EXP) >> 3);
}

static inline uint8_t *item_key_rb(const struct wc_item *it, uint8_t rb)
{
	return (uint8_t *)(uintptr_t)it->opt + opt_len(rb);
}

static inline uint8_t *item_key(const struct wc_item *it)
{
	return item_key_rb(it, it->rbits);
}

static inline uint8_t *item_val(const struct wc_item *it)
{
	return item_key(it) + it->klen;
}

static inline uint32_t ld32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t item_flags_rb(const struct wc_item *it, uint8_t rb)
{
	return (rb & IT_HAS_FLAGS) ? ld32(opt_flags(it, rb)) : 0;
}

static inline uint32_t item_exptime_rb(const struct wc_item *it, uint8_t rb)
{
	return (rb & IT_HAS_EXP) ? ld32(opt_exp(it, rb)) : 0;
}

static inline uint32_t item_exptime(const struct wc_item *it)
{
	return item_exptime_rb(it, it->rbits);
}

static inline uint32_t item_size(const struct wc_item *it)
{
	return item_mem(it->klen, item_vlen(it), it->rbits);
}

static inline bool item_expired(const struct wc_store *s, const struct wc_item *it)
{
	uint32_t e = item_exptime(it);

	return e != 0 && e <= s->now;
}

static inline int32_t seg_of(const struct wc_store *s, const void *p)
{
	return (int32_t)(((const uint8_t *)p - s->mem) >> s->seg_shift);
}

static inline uint8_t *seg_base(const struct wc_store *s, int32_t i)
{
	return s->mem + ((size_t)i << s->seg_shift);
}

/*
 * An item's CAS unique, unless it carries one: its position. Every segment
 * gets a fresh epoch from the partition's counter when it starts filling,
 * and every store writes a new item at a new place, so the unique changes
 * exactly when memcached's would, grows as memcached's does, and costs no
 * byte in the item. Items are at least 8 bytes apart, so offset / 4 is
 * unique within a segment.
 */
static inline uint64_t item_cas_rb(const struct wc_store *s, const struct wc_item *it, uint8_t rb)
{
	size_t off = (size_t)((const uint8_t *)it - s->mem);
	uint64_t v;

	if (unlikely(rb & IT_HAS_CAS)) {
		memcpy(&v, opt_cas(it, rb), sizeof(v));
		return v;
	}
	return (s->segs[off >> s->seg_shift].epoch << (s->seg_shift - 2)) |
	       ((off & (s->seg_size - 1)) >> 2);
}

static inline uint64_t item_cas(const struct wc_store *s, const struct wc_item *it)
{
	return item_cas_rb(s, it, it->rbits);
}

/* Absolute last access from the 16-bit one (see ATIME_BACK). */
static inline uint32_t atime_abs(const struct wc_store *s, const struct wc_item *it, uint16_t a)
{
	int64_t t = (int64_t)s->segs[seg_of(s, it)].t0 - ATIME_BACK + a;

	return t < 0 ? 0 : (uint32_t)t;
}

/* atime_rel() of a time outside the 16-bit range: its nearer end. */
static __rte_noinline __attribute__((cold)) uint16_t atime_clamp(int32_t r)
{
	return r < 0 ? 0 : ATIME_MAX;
}

/*
 * The 16-bit last access of time @p t for an item in segment @p i. The
 * clamp is out of line: inline, the compiler makes it branch-free, four
 * more instructions on every get for a case that does not come.
 */
static inline uint16_t atime_rel(const struct wc_store *s, int32_t i, uint32_t t)
{
	int32_t r = (int32_t)(t - s->segs[i].t0) + ATIME_BACK;

	if (unlikely((uint32_t)r > ATIME_MAX))
		return atime_clamp(r);
	return (uint16_t)r;
}

/*
 * In-place metadata changes of a published item (exptime, CAS, meta bits)
 * are bracketed by an odd partition sequence, seqlock style: a remote reader
 * that saw it change, or saw it odd, copies again. Only the owner writes it,
 * so a plain increment is enough; the barriers order it against the fields
 * it guards.
 */
static inline void seq_begin(struct wc_store *s)
{
	__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELAXED);
	rte_smp_wmb();
}

static inline void seq_end(struct wc_store *s)
{
	rte_smp_wmb();
	__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELEASE);
}

static inline uint32_t min_nz(uint32_t a, uint32_t b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
}

/* ---- segments ---- */

static inline bool seg_pinned(const struct wc_store *s, int32_t i)
{
	return s->pin[PIN_RESV] == i || s->pin[PIN_OP] == i;
}

static void fifo_push(struct wc_store *s, int32_t i)
{
	struct seg *g = &s->segs[i];

	g->state = SEG_SEALED;
	g->next = -1;
	g->prev = s->fifo_tail;
	if (s->fifo_tail >= 0)
		s->segs[s->fifo_tail].next = i;
	else
		s->fifo_head = i;
	s->fifo_tail = i;
	s->nsealed++;
}

static void fifo_remove(struct wc_store *s, int32_t i)
{
	struct seg *g = &s->segs[i];

	if (g->prev >= 0)
		s->segs[g->prev].next = g->next;
	else
		s->fifo_head = g->next;
	if (g->next >= 0)
		s->segs[g->next].prev = g->prev;
	else
		s->fifo_tail = g->prev;
	s->nsealed--;
}

/* Segment @p i is emptied: no cursor may stay on it. */
static void walk_forget(struct wc_store *s, int32_t i)
{
	if (s->walk_seg == i) {
		s->walk_seg = -1;
		s->walk_off = 0;
	}
	if (s->cln_seg == i)
		s->cln_seg = -1;
}

/*
 * Segments kept free or retired with remote readers: enough that a grace
 * period still under way when the next segment is needed does not make the
 * owner wait (grace_wait() counts the times it does), 1/32 of the memory at
 * most beyond the minimum.
 */
static inline uint32_t resv_rcu(uint32_t nseg)
{
	return RTE_MAX(RESV_SEGS_RCU, nseg / 32);
}

/* Whether fewer segments than the reserve are free or on their way back; the
 * reserve is that of the segments in use under the current limit. */
static inline bool resv_low(const struct wc_store *s)
{
	if (s->qsbr == NULL)
		return s->nfree == 0;
	return s->nfree + s->nretired < resv_rcu(s->nuse);
}

/* Segments still to be parked for the current limit. */
static inline uint32_t shrink_left(const struct wc_store *s)
{
	return s->park_want > s->npark ? s->park_want - s->npark : 0;
}

/*
 * Segments the cleaner (clean_slice()) keeps free or on their way back: the
 * reserve, those a lowered limit still asks for, and in a partition of
 * CLEAN_SPARE_SEGS segments or more one spare. With the spare, the store
 * that fills the active segment takes a free one without emptying another
 * itself: the cleaner empties it meanwhile, a slice at a time.
 */
static inline uint32_t clean_goal(const struct wc_store *s)
{
	uint32_t resv = s->qsbr != NULL ? resv_rcu(s->nuse) : 1;

	return resv + shrink_left(s) + (s->nuse >= CLEAN_SPARE_SEGS);
}

/* Keep cln_goal, what the allocations test, equal to clean_goal(). */
static inline void clean_goal_update(struct wc_store *s)
{
	s->cln_goal = clean_goal(s);
}

/* An emptied segment's bookkeeping, before it joins the free or retired list. */
static void seg_clear(struct seg *g, enum seg_state state)
{
	g->state = (uint8_t)state;
	g->used = 0;
	g->live = 0;
	g->exp_min = 0;
	g->prev = -1;
	g->next = -1;
}

/* Put an emptied segment out of use, for a lowered memory limit. */
static void seg_park(struct wc_store *s, int32_t i)
{
	struct seg *g = &s->segs[i];

	seg_clear(g, SEG_PARKED);
	g->next = s->park_head;
	s->park_head = i;
	s->npark++;
	clean_goal_update(s);
	walk_forget(s, i);
}

/*
 * Whether a segment emptied now is parked rather than freed: the limit was
 * lowered and fewer segments than it asks for are parked, and the reserve
 * (one free segment for copying; with remote readers the RCU reserve of the
 * segments in use) is whole without it.
 */
static inline bool park_due(const struct wc_store *s)
{
	return s->npark < s->park_want && s->nfree != 0 && !resv_low(s);
}

static void free_push(struct wc_store *s, int32_t i)
{
	struct seg *g = &s->segs[i];

	if (unlikely(s->npark < s->park_want) && park_due(s)) {
		seg_park(s, i);
		return;
	}
	seg_clear(g, SEG_FREE);
	g->next = s->free_head;
	s->free_head = i;
	s->nfree++;
	walk_forget(s, i);
}

/* Park an emptied segment until the readers that may still look into it
 * have all passed a quiescent state. */
static void seg_retire(struct wc_store *s, int32_t i)
{
	struct seg *g = &s->segs[i];

	seg_clear(g, SEG_RETIRED);
	g->token = rte_rcu_qsbr_start(s->qsbr);
	if (s->ret_tail >= 0)
		s->segs[s->ret_tail].next = i;
	else
		s->ret_head = i;
	s->ret_tail = i;
	s->nretired++;
	walk_forget(s, i);
}

/* Move retired segments whose grace period is over to the free list; never
 * waits. Tokens grow along the list, so the first one not yet done ends it. */
static void ret_poll(struct wc_store *s)
{
	while (s->ret_head >= 0) {
		int32_t i = s->ret_head;

		if (rte_rcu_qsbr_check(s->qsbr, s->segs[i].token, false) != 1)
			break;
		s->ret_head = s->segs[i].next;
		if (s->ret_head < 0)
			s->ret_tail = -1;
		s->nretired--;
		free_push(s, i);
	}
}

/*
 * The reserve ran out: every spare segment is retired and a reader has not
 * reported a quiescent state since (an lcore descheduled by the host, say).
 * Failing the store would be a protocol error for the client; waiting a
 * bounded time for the grace period is the lesser evil. Counted, since it
 * means the reserve is too small for the readers' pace.
 */
static void grace_wait(struct wc_store *s)
{
	uint64_t end = rte_get_timer_cycles() + rte_get_timer_hz() / 1000 * GRACE_WAIT_MS;

	s->stats.grace_waits++;
	do {
		rte_pause();
		ret_poll(s);
	} while (s->nfree == 0 && rte_get_timer_cycles() < end);
}

/* An emptied segment goes back: at once, or after a grace period. */
static void seg_release(struct wc_store *s, int32_t i)
{
	if (s->qsbr != NULL)
		seg_retire(s, i);
	else
		free_push(s, i);
}

static int32_t free_pop(struct wc_store *s)
{
	int32_t i;

	if (s->free_head < 0 && s->ret_head >= 0)
		ret_poll(s);
	i = s->free_head;
	if (i < 0)
		return -1;
	s->free_head = s->segs[i].next;
	s->nfree--;
	s->segs[i].next = -1;
	return i;
}

static void seg_rewind(struct wc_store *s, int32_t i)
{
	s->segs[i].used = 0;
	s->segs[i].exp_min = 0;
	walk_forget(s, i);
}

/* Give a segment without live items back: sealed ones to the free list, the
 * active one by rewinding it. Pinned or busy segments wait. */
static void seg_maybe_release(struct wc_store *s, int32_t i)
{
	struct seg *g = &s->segs[i];

	if (g->live != 0 || seg_pinned(s, i) || s->busy == i)
		return;
	if (g->state == SEG_SEALED) {
		fifo_remove(s, i);
		seg_release(s, i);
	} else if (g->state == SEG_ACTIVE && g->used != 0 && s->qsbr == NULL) {
		/* With remote readers the dead items stay where they are until the
		 * segment is sealed and retired: appending on is safe, rewinding not. */
		seg_rewind(s, i);
	}
}

static void unpin(struct wc_store *s, int which)
{
	int32_t i = s->pin[which];

	s->pin[which] = -1;
	if (i >= 0)
		seg_maybe_release(s, i);
}

/* Mark an item of @p sz bytes (item_size()) dead. */
static void item_kill(struct wc_store *s, struct wc_item *it, uint32_t sz)
{
	int32_t i = seg_of(s, it);

	it->obits |= IT_DEAD;
	s->segs[i].live -= sz;
	if (s->segs[i].live == 0)
		seg_maybe_release(s, i);
}

static void item_mark_dead(struct wc_store *s, struct wc_item *it)
{
	item_kill(s, it, item_size(it));
}

/* ---- index ---- */

/*
 * The index (see the top of this file): 64-byte buckets of IDX_WAYS slots,
 * a slot 0 (empty) or a tag in its top 16 bits over the item's offset in
 * the partition's memory in units of ITEM_ALIGN. Every key has two
 * buckets, both chosen from its hash; it lives in either.
 */
#define IDX_WAYS	8
#define IDX_FILL	85 /* percent of the slots max_items may take */
#define IDX_OFF_BITS	48
#define IDX_OFF_MASK	((1ULL << IDX_OFF_BITS) - 1)
#define IDX_ENTRIES_MAX (1u << 30)

/*
 * A key's tag and buckets each come from its hash by a multiply-shift of
 * their own, which spreads any 64-bit input, XXH3's or one a caller made
 * up, and keeps the three apart. Buckets are scaled by multiplication: any
 * number of them, no rounding to a power of two.
 */

/* The tag a key's slots carry, in place: 15 bits, never 0. */
static inline uint64_t idx_tag(uint64_t h)
{
	return (((h * 0xd6e8feb86659fd93ULL) >> 48) | 1) << IDX_OFF_BITS;
}

static inline uint32_t idx_b1(const struct wc_store *s, uint64_t h)
{
	return (uint32_t)(((h * 0x9e3779b97f4a7c15ULL) >> 32) * s->nbkt >> 32);
}

/* The second bucket; never the first one. */
static inline uint32_t idx_b2(const struct wc_store *s, uint64_t h, uint32_t b1)
{
	uint32_t b = (uint32_t)(((h * 0xbf58476d1ce4e5b9ULL) >> 32) * s->nbkt >> 32);

	if (unlikely(b == b1))
		b = b1 + 1 == s->nbkt ? 0 : b1 + 1;
	return b;
}

static inline uint64_t *idx_bkt(const struct wc_store *s, uint32_t b)
{
	return s->idx + (size_t)b * IDX_WAYS;
}

static inline uint64_t idx_slot_val(const struct wc_store *s, const struct wc_item *it, uint64_t h)
{
	return idx_tag(h) | (uint64_t)((const uint8_t *)it - s->mem) / ITEM_ALIGN;
}

static inline struct wc_item *idx_slot_item(const struct wc_store *s, uint64_t v)
{
	return (struct wc_item *)(s->mem + (v & IDX_OFF_MASK) * ITEM_ALIGN);
}

/* The base hash of an item's key: computed again from the key, which costs
 * less than keeping 8 bytes (or an index position) in every item. */
static inline uint64_t item_hash(const struct wc_store *s, const struct wc_item *it)
{
	if (unlikely(s->hash != NULL))
		return s->hash(item_key(it), it->klen);
	return wc_store_hash(item_key(it), it->klen);
}

/* Whether n bytes are equal, in words, without a library call: a lookup
 * that calls nothing keeps its registers without saving them. */
static inline bool key_eq(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;
	uint64_t a8, b8;
	uint32_t a4, b4, c4, d4;

	if (likely(n >= 8 && n <= 16)) {
		/* Two overlapping words cover 8 to 16 bytes. */
		uint64_t c8, d8;

		memcpy(&a8, x, 8);
		memcpy(&b8, y, 8);
		memcpy(&c8, x + n - 8, 8);
		memcpy(&d8, y + n - 8, 8);
		return ((a8 ^ b8) | (c8 ^ d8)) == 0;
	}
	if (n > 16) {
		/* Whole words, then the last 8 bytes (overlapping the one before). */
		for (size_t i = 0; i + 8 < n; i += 8) {
			memcpy(&a8, x + i, 8);
			memcpy(&b8, y + i, 8);
			if (a8 != b8)
				return false;
		}
		memcpy(&a8, x + n - 8, 8);
		memcpy(&b8, y + n - 8, 8);
		return a8 == b8;
	}
	if (n >= 4) {
		memcpy(&a4, x, 4);
		memcpy(&b4, y, 4);
		memcpy(&c4, x + n - 4, 4);
		memcpy(&d4, y + n - 4, 4);
		return ((a4 ^ b4) | (c4 ^ d4)) == 0;
	}
	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return false;
	return true;
}

/* A tag matched @p other's, not the key of hash @p h: count it in *@p coll
 * if their whole hashes are equal too (off the common path: tags of
 * different hashes match once in some thousands of lookups). */
static __rte_noinline void idx_count_coll(const struct wc_store *s, const struct wc_item *other,
					  uint64_t h, uint64_t *coll)
{
	if (item_hash(s, other) == h)
		(*coll)++;
}

/*
 * The item of @p key, whose hash is @p h, in bucket @p b, by tag then full
 * key, or NULL; whole-hash collisions met are added to *@p coll unless it
 * is NULL. Safe under the owner's changes (see wc_store_read()): each slot
 * is read once, whole.
 */
static __rte_always_inline struct wc_item *idx_scan(const struct wc_store *s, uint32_t b,
						    uint64_t h, uint64_t tag, const void *key,
						    size_t klen, uint64_t *coll)
{
	const uint64_t *p = idx_bkt(s, b);

	for (unsigned int i = 0; i < IDX_WAYS; i++) {
		uint64_t v = __atomic_load_n(&p[i], __ATOMIC_ACQUIRE);

		if ((v & ~IDX_OFF_MASK) == tag) {
			struct wc_item *it = idx_slot_item(s, v);

			if (it->klen == klen && key_eq(item_key(it), key, klen))
				return it;
			if (coll != NULL)
				idx_count_coll(s, it, h, coll);
		}
	}
	return NULL;
}

/* The linked item of @p key, whose hash is @p h, or NULL. */
static __rte_always_inline struct wc_item *idx_lookup(const struct wc_store *s, const void *key,
						      size_t klen, uint64_t h, uint64_t *coll)
{
	uint64_t tag = idx_tag(h);
	uint32_t b1 = idx_b1(s, h);
	struct wc_item *it = idx_scan(s, b1, h, tag, key, klen, coll);

	if (it != NULL)
		return it;
	return idx_scan(s, idx_b2(s, h, b1), h, tag, key, klen, coll);
}

static __rte_always_inline struct wc_item *idx_find(struct wc_store *s, const void *key,
						    size_t klen, uint64_t h)
{
	return idx_lookup(s, key, klen, h, &s->stats.hash_collisions);
}

/* The slot holding value @p v, in either of the buckets of hash @p h. */
static uint64_t *idx_slot_of(const struct wc_store *s, uint64_t v, uint64_t h)
{
	uint32_t b1 = idx_b1(s, h), b[2] = { b1, idx_b2(s, h, b1) };

	for (unsigned int j = 0; j < 2; j++) {
		uint64_t *p = idx_bkt(s, b[j]);

		for (unsigned int i = 0; i < IDX_WAYS; i++)
			if (p[i] == v)
				return &p[i];
	}
	return NULL;
}

static inline uint64_t *idx_free_slot(const struct wc_store *s, uint32_t b)
{
	uint64_t *p = idx_bkt(s, b);

	for (unsigned int i = 0; i < IDX_WAYS; i++)
		if (p[i] == 0)
			return &p[i];
	return NULL;
}

/*
 * Both buckets of a new key are full: move one of their entries to its own
 * other bucket, if one has room, and return the slot it left. A remote
 * reader may look in the entry's new bucket before it gets there and in
 * its old one after it left, and miss: seq tells it to look again.
 */
static uint64_t *idx_make_room(struct wc_store *s, const uint32_t b[2])
{
	for (unsigned int j = 0; j < 2; j++) {
		uint64_t *p = idx_bkt(s, b[j]);

		for (unsigned int i = 0; i < IDX_WAYS; i++) {
			uint64_t hx = item_hash(s, idx_slot_item(s, p[i]));
			uint32_t x1 = idx_b1(s, hx), x2 = idx_b2(s, hx, x1);
			uint64_t *q = idx_free_slot(s, x1 == b[j] ? x2 : x1);

			if (q == NULL)
				continue;
			seq_begin(s);
			__atomic_store_n(q, p[i], __ATOMIC_RELEASE);
			__atomic_store_n(&p[i], 0, __ATOMIC_RELEASE);
			seq_end(s);
			s->stats.index_moves++;
			return &p[i];
		}
	}
	return NULL;
}

/* Link a new item under hash h.
 * @return 0, or -ENOBUFS if both its buckets are full and no entry of
 *         theirs can move aside. */
static int idx_insert(struct wc_store *s, struct wc_item *it, uint64_t h)
{
	uint32_t b[2];
	uint64_t *p;

	b[0] = idx_b1(s, h);
	b[1] = idx_b2(s, h, b[0]);
	p = idx_free_slot(s, b[0]);
	if (p == NULL)
		p = idx_free_slot(s, b[1]);
	if (p == NULL)
		p = idx_make_room(s, b);
	if (p == NULL)
		return -ENOBUFS;
	/* Release: the item is complete before a remote reader can find it. */
	__atomic_store_n(p, idx_slot_val(s, it, h), __ATOMIC_RELEASE);
	s->idx_count++;
	return 0;
}

/*
 * The entry to give up when both buckets of hash @p h are full and nothing
 * moves aside (a rare coincidence of hashes, or keys made to collide): the
 * least recently used item of the two buckets.
 */
static struct wc_item *idx_victim(const struct wc_store *s, uint64_t h)
{
	uint32_t b1 = idx_b1(s, h), b[2] = { b1, idx_b2(s, h, b1) };
	struct wc_item *victim = NULL;
	uint32_t oldest = UINT32_MAX;

	for (unsigned int j = 0; j < 2; j++) {
		const uint64_t *p = idx_bkt(s, b[j]);

		for (unsigned int i = 0; i < IDX_WAYS; i++) {
			struct wc_item *x = idx_slot_item(s, p[i]);
			uint32_t a = atime_abs(s, x, x->atime);

			if (a < oldest) {
				oldest = a;
				victim = x;
			}
		}
	}
	return victim;
}

/* Point the entry of @p old, whose key's hash is @p h, at @p nit: one atomic
 * store, so a remote reader finds one or the other. */
static void idx_repoint(struct wc_store *s, struct wc_item *old, struct wc_item *nit, uint64_t h)
{
	uint64_t *p = idx_slot_of(s, idx_slot_val(s, old, h), h);

	RTE_VERIFY(p != NULL);
	__atomic_store_n(p, idx_slot_val(s, nit, h), __ATOMIC_RELEASE);
}

/* Remove the entry of @p it, whose key's hash is @p h. */
static void idx_remove(struct wc_store *s, struct wc_item *it, uint64_t h)
{
	uint64_t *p = idx_slot_of(s, idx_slot_val(s, it, h), h);

	RTE_VERIFY(p != NULL);
	__atomic_store_n(p, 0, __ATOMIC_RELEASE);
	s->idx_count--;
}

/* ---- unlinking with accounting ---- */

enum unlink_why { UNLINK_DELETE, UNLINK_EXPIRED, UNLINK_EVICTED };

/* Unlink a linked item whose key's base hash is @p h. */
static void item_unlink_h(struct wc_store *s, struct wc_item *it, uint64_t h, enum unlink_why why)
{
	uint32_t sz = item_size(it);

	idx_remove(s, it, h);
	s->stats.curr_items--;
	s->stats.bytes -= sz;
	if (why == UNLINK_EXPIRED) {
		s->stats.reclaimed++;
		if (!(it->rbits & IT_FETCHED))
			s->stats.expired_unfetched++;
	} else if (why == UNLINK_EVICTED) {
		s->stats.evictions++;
		if (!(it->rbits & IT_FETCHED))
			s->stats.evicted_unfetched++;
	}
	item_kill(s, it, sz);
}

static void item_unlink(struct wc_store *s, struct wc_item *it, enum unlink_why why)
{
	item_unlink_h(s, it, item_hash(s, it), why);
}

/* ---- allocation ---- */

static inline uint32_t seg_room(const struct wc_store *s, int32_t i)
{
	return s->seg_size - s->segs[i].used;
}

static struct wc_item *seg_bump(struct wc_store *s, int32_t i, uint32_t sz)
{
	struct seg *g = &s->segs[i];
	struct wc_item *it = (struct wc_item *)(seg_base(s, i) + g->used);

	if (g->used == 0) {
		/* The segment starts filling: the base of its items' CAS and atime. */
		g->epoch = ++s->epoch;
		g->t0 = s->now;
	}
	g->used += sz;
	g->live += sz;
	return it;
}

/*
 * Write an item's header, optional fields and key into memory allocated with
 * item_mem(klen, vlen, rb), rb = item_layout(vlen, flags, exptime, has_cas).
 * Not published: the value is the caller's to fill.
 */
static __rte_always_inline void item_init(struct wc_store *s, struct wc_item *it, uint8_t rb,
					  const void *key, size_t klen, uint32_t vlen,
					  uint32_t flags, uint32_t exptime, uint64_t cas)
{
	int32_t i = seg_of(s, it);
	uint8_t *p = it->opt;

	it->klen = (uint8_t)klen;
	it->vlen8 = (uint8_t)(vlen >= VLEN_WIDE ? VLEN_WIDE : vlen);
	it->obits = 0;
	it->rbits = rb;
	it->atime = atime_rel(s, i, s->now);
	if (unlikely(rb & IT_LAYOUT)) {
		if (rb & IT_WIDE) {
			memcpy(p, &vlen, 4);
			p += 4;
		}
		if (rb & IT_HAS_FLAGS) {
			memcpy(p, &flags, 4);
			p += 4;
		}
		if (rb & IT_HAS_EXP) {
			memcpy(p, &exptime, 4);
			p += 4;
			s->segs[i].exp_min = min_nz(s->segs[i].exp_min, exptime);
		}
		if (rb & IT_HAS_CAS) {
			memcpy(p, &cas, 8);
			p += 8;
		}
	}
	memcpy(p, key, klen);
}

/* What item_copy() of @p it makes takes, with or without an exptime. */
static inline uint32_t item_copy_mem(const struct wc_item *it, uint32_t exptime, bool has_cas)
{
	return item_mem(it->klen, item_vlen(it),
			item_layout(item_vlen(it), item_flags_rb(it, it->rbits), exptime, has_cas));
}

/*
 * Copy @p it into @p nit (allocated with item_copy_mem()) with a new exptime
 * and CAS field; key, value, flags, meta bits, hints and last access stay.
 */
static void item_copy(struct wc_store *s, struct wc_item *nit, const struct wc_item *it,
		      uint32_t exptime, bool has_cas, uint64_t cas)
{
	uint8_t rb = it->rbits;
	uint32_t vlen = item_vlen(it), flags = item_flags_rb(it, rb);

	item_init(s, nit, item_layout(vlen, flags, exptime, has_cas), item_key_rb(it, rb), it->klen,
		  vlen, flags, exptime, cas);
	memcpy(item_val(nit), item_val(it), vlen);
	nit->obits = it->obits & IT_PUBLIC;
	nit->rbits |= rb & IT_HINTS;
	nit->atime = atime_rel(s, seg_of(s, nit), atime_abs(s, it, it->atime));
}

/* What item_move() makes of @p it: the same with its CAS as a field. */
static inline uint32_t item_moved_mem(const struct wc_item *it)
{
	return item_copy_mem(it, item_exptime(it), true);
}

/*
 * Copy a linked item into the active segment and repoint its index entry.
 * The copy is at a new place, so it carries its CAS as a field: to clients
 * it is the same item.
 */
static void item_move(struct wc_store *s, struct wc_item *it, bool clear_visited)
{
	struct wc_item *nit = seg_bump(s, s->active, item_moved_mem(it));

	item_copy(s, nit, it, item_exptime(it), true, item_cas(s, it));
	if (clear_visited)
		nit->rbits &= (uint8_t)~IT_VISITED;
	idx_repoint(s, it, nit, item_hash(s, it));
	s->stats.bytes += item_size(nit);
	s->stats.bytes -= item_size(it);
	item_mark_dead(s, it);
}

/* Bytes item_move() needs for the live items of segment @p v. */
static uint64_t seg_moved_bytes(const struct wc_store *s, int32_t v)
{
	const struct seg *g = &s->segs[v];
	uint8_t *base = seg_base(s, v);
	uint64_t n = 0;

	for (uint32_t off = 0; off < g->used;) {
		const struct wc_item *it = (const struct wc_item *)(base + off);

		off += item_size(it);
		if (!(it->obits & IT_DEAD) && !item_expired(s, it))
			n += item_moved_mem(it);
	}
	return n;
}

/*
 * Whether the live items of segment @p v fit in @p room bytes once moved:
 * item_move() adds at most a CAS field to each. First against that bound,
 * from the live bytes alone; only if it fails, and @p exact, by reading
 * every item's header (seg_moved_bytes()), a cache miss each in a segment
 * of large items.
 */
static bool seg_moves_fit(const struct wc_store *s, int32_t v, uint64_t room, bool exact)
{
	uint64_t live = s->segs[v].live;

	if (live > room)
		return false;
	if (live + live / item_mem(1, 0, 0) * sizeof(uint64_t) <= room)
		return true;
	return exact && seg_moved_bytes(s, v) <= room;
}

enum empty_how { EMPTY_COMPACT, EMPTY_SECOND_CHANCE, EMPTY_DROP };

/*
 * Empty sealed segment @p v and free it. COMPACT moves every live item to the
 * active segment; SECOND_CHANCE moves the visited ones while the active
 * segment keeps @p need bytes free and evicts the rest; DROP evicts all.
 */
static void seg_empty(struct wc_store *s, int32_t v, enum empty_how how, uint32_t need)
{
	struct seg *g = &s->segs[v];
	uint8_t *base = seg_base(s, v);
	uint32_t off = 0;

	s->busy = v;
	while (off < g->used) {
		struct wc_item *it = (struct wc_item *)(base + off);
		uint32_t sz = item_size(it);

		off += sz;
		if (it->obits & IT_DEAD)
			continue;
		if (item_expired(s, it))
			item_unlink(s, it, UNLINK_EXPIRED);
		else if (how == EMPTY_COMPACT)
			item_move(s, it, false); /* room checked by reclaim_one() */
		else if (how == EMPTY_SECOND_CHANCE && (it->rbits & IT_VISITED) &&
			 (uint64_t)item_moved_mem(it) + need <= seg_room(s, s->active))
			item_move(s, it, true);
		else
			item_unlink(s, it, UNLINK_EVICTED);
	}
	s->busy = -1;
	RTE_ASSERT(g->live == 0);
	fifo_remove(s, v);
	seg_release(s, v);
}

/* Oldest sealed segment that may be moved, or -1. */
static int32_t fifo_victim(const struct wc_store *s)
{
	for (int32_t i = s->fifo_head; i >= 0; i = s->segs[i].next)
		if (!seg_pinned(s, i))
			return i;
	return -1;
}

/* Free one segment into the free list, copying into the active segment but
 * leaving @p need bytes of it free. @return 0 or -ENOMEM. */
static int reclaim_one(struct wc_store *s, uint32_t need)
{
	int32_t best = -1;
	int n = 0;

	for (int32_t i = s->fifo_head; i >= 0 && n < COMPACT_SCAN; i = s->segs[i].next, n++)
		if (!seg_pinned(s, i) && (best < 0 || s->segs[i].live < s->segs[best].live))
			best = i;
	if (best >= 0 && (uint64_t)s->segs[best].live + need <= seg_room(s, s->active) &&
	    (s->no_evict || s->segs[best].live <= s->seg_size / 4) &&
	    seg_moves_fit(s, best, seg_room(s, s->active) - need, true)) {
		seg_empty(s, best, EMPTY_COMPACT, need);
		return 0;
	}
	if (s->no_evict)
		return -ENOMEM;
	best = fifo_victim(s);
	if (best < 0)
		return -ENOMEM;
	seg_empty(s, best, EMPTY_SECOND_CHANCE, need);
	return 0;
}

/*
 * Replace a full active segment by an empty one with room for @p need.
 * Taking the last free segment (the reserve) is only done once another
 * segment has been freed into it; with no_evict, when nothing can be
 * compacted, the reserve stays untouched and the store is full.
 */
static int seg_open_new(struct wc_store *s, uint32_t need)
{
	int32_t a = s->active, f;
	bool empty = s->segs[a].live == 0 && !seg_pinned(s, a);

	if (empty && s->qsbr == NULL) {
		seg_rewind(s, a);
		return 0;
	}
	if (s->qsbr != NULL) {
		ret_poll(s);
		if (s->nfree == 0 && s->nretired != 0 && !s->no_evict)
			grace_wait(s);
	}
	if (s->nfree == 0)
		return -ENOMEM;
	if (empty)
		seg_retire(s, a); /* dead items a reader may still be copying */
	else
		fifo_push(s, a);
	f = free_pop(s);
	s->segs[f].state = SEG_ACTIVE;
	s->active = f;
	if (empty)
		return 0;
	/*
	 * Refill the reserve now, while the new active segment is empty. With
	 * remote readers, segments emptied here are only retired: keep a few
	 * in the pipeline so that a grace period still under way when the next
	 * segment is needed does not fail a store.
	 */
	for (uint32_t tries = 0; resv_low(s) && tries < s->nseg; tries++) {
		if (reclaim_one(s, need) < 0)
			break;
		s->stats.reclaim_inline++;
	}
	if (s->qsbr != NULL)
		ret_poll(s);
	if (s->nfree + s->nretired == 0 && s->no_evict) {
		fifo_remove(s, a);
		s->segs[a].state = SEG_ACTIVE;
		s->active = a;
		free_push(s, f);
		return -ENOMEM;
	}
	return 0;
}

static void clean_slice(struct wc_store *s, unsigned items, uint64_t bytes);

/* An allocation of @p sz bytes's share of the cleaning (item_alloc()). */
static __rte_noinline void clean_assist(struct wc_store *s, uint32_t sz)
{
	s->cln_debt += (uint64_t)sz * CLEAN_ASSIST;
	if (s->cln_debt >= CLEAN_CHUNK) {
		uint64_t bytes = s->cln_debt;

		s->cln_debt = 0;
		clean_slice(s, UINT_MAX, bytes);
	}
}

/*
 * Allocate @p sz bytes (aligned item size) in the active segment. The item
 * counts as live from here on. @return NULL if no room could be made.
 *
 * While the cleaner is short of its goal, each allocation owes it
 * CLEAN_ASSIST times its size, paid by cleaning that much, CLEAN_CHUNK
 * bytes or more at a time: the cost of emptying segments is spread over the
 * stores that fill them, a few microseconds at a time, instead of falling
 * whole (a segment's items moved or evicted, hundreds of microseconds for
 * a megabyte of them) on the one that finds the free list at its reserve.
 */
static struct wc_item *item_alloc(struct wc_store *s, uint32_t sz)
{
	if (unlikely(s->nfree + s->nretired < s->cln_goal))
		clean_assist(s, sz);
	for (uint32_t tries = 0; tries <= 2 * s->nseg; tries++) {
		if (sz <= seg_room(s, s->active))
			return seg_bump(s, s->active, sz);
		if (seg_open_new(s, sz) < 0)
			break;
	}
	s->stats.oom++;
	return NULL;
}

/* Allocate while keeping the segment of @p keep from moving. */
static struct wc_item *item_alloc_keep(struct wc_store *s, uint32_t sz, const void *keep)
{
	struct wc_item *it;

	s->pin[PIN_OP] = keep != NULL ? seg_of(s, keep) : -1;
	it = item_alloc(s, sz);
	unpin(s, PIN_OP);
	return it;
}

/*
 * The index is full but every item sits in the active segment (an index much
 * smaller than memory): evict the oldest items of that segment, but never
 * @p keep or the open reservation. @return how many were evicted.
 */
static unsigned evict_active_prefix(struct wc_store *s, const struct wc_item *keep, unsigned max)
{
	int32_t a = s->active;
	uint8_t *base = seg_base(s, a);
	unsigned n = 0;

	for (uint32_t off = 0; off < s->segs[a].used && n < max;) {
		struct wc_item *it = (struct wc_item *)(base + off);

		off += item_size(it);
		if ((it->obits & IT_DEAD) || it == keep || it == s->resv)
			continue;
		item_unlink(s, it, item_expired(s, it) ? UNLINK_EXPIRED : UNLINK_EVICTED);
		n++;
	}
	return n;
}

/* Link a new item into the index, evicting the oldest items while the index
 * is full, or the least recently used of its key's buckets while those are.
 * @return 0 or -ENOMEM. */
static int item_link(struct wc_store *s, struct wc_item *it, uint64_t h)
{
	for (uint32_t tries = 0; tries <= s->nseg + 1; tries++) {
		int32_t v;
		int ret = s->stats.curr_items < s->max_items ? idx_insert(s, it, h) : -ENOSPC;

		if (ret == 0)
			return 0;
		if (s->no_evict)
			break;
		if (ret == -ENOBUFS) {
			item_unlink(s, idx_victim(s, h), UNLINK_EVICTED);
			continue;
		}
		v = fifo_victim(s);
		if (v >= 0)
			seg_empty(s, v, EMPTY_DROP, 0);
		else if (evict_active_prefix(s, it, 64) == 0)
			break;
	}
	s->stats.oom++;
	return -ENOMEM;
}

/*
 * The partition an item pointer lies in, for the accessors that are given
 * the item alone (its CAS and last access depend on its segment). Written
 * by wc_store_create()/wc_store_destroy() only, before and after the lcores
 * that read partitions run.
 */
#define STORES_MAX 1024
static struct wc_store *stores[STORES_MAX];
static unsigned int stores_hw; /* high-water mark of used entries */

static const struct wc_store *store_of(const void *p)
{
	const uint8_t *q = p;

	for (unsigned int i = 0; i < stores_hw; i++) {
		const struct wc_store *s = stores[i];

		if (s != NULL && q >= s->mem && q < s->mem + ((size_t)s->nseg << s->seg_shift))
			return s;
	}
	return NULL;
}

static int store_register(struct wc_store *s)
{
	for (unsigned int i = 0; i < STORES_MAX; i++) {
		if (stores[i] == NULL) {
			stores[i] = s;
			if (i >= stores_hw)
				stores_hw = i + 1;
			return 0;
		}
	}
	return -ENOSPC;
}

static void store_unregister(struct wc_store *s)
{
	for (unsigned int i = 0; i < stores_hw; i++)
		if (stores[i] == s)
			stores[i] = NULL;
}

/* ---- lifecycle ---- */

/*
 * flush_all with remote readers: their items' memory may not be reused at
 * once, so every linked item is unlinked one by one and the sealed
 * segments are retired.
 * The active segment stays, with its dead items, and is appended to.
 */
static void store_reset_rcu(struct wc_store *s)
{
	int32_t keep = s->resv != NULL ? seg_of(s, s->resv) : -1;

	for (uint32_t i = 0; i < s->nseg; i++) {
		struct seg *g = &s->segs[i];
		uint8_t *base = seg_base(s, (int32_t)i);

		if (g->state != SEG_SEALED && g->state != SEG_ACTIVE)
			continue;
		s->busy = (int32_t)i;
		for (uint32_t off = 0; off < g->used;) {
			struct wc_item *it = (struct wc_item *)(base + off);

			off += item_size(it);
			if (!(it->obits & IT_DEAD) && it != s->resv)
				item_unlink(s, it, UNLINK_DELETE);
		}
		s->busy = -1;
		if ((int32_t)i != keep)
			seg_maybe_release(s, (int32_t)i);
	}
	s->walk_seg = -1;
	s->walk_off = 0;
	s->cln_seg = -1;
}

static void store_reset(struct wc_store *s)
{
	int32_t keep = s->resv != NULL ? seg_of(s, s->resv) : -1;

	if (s->qsbr != NULL) {
		store_reset_rcu(s);
		return;
	}
	memset(s->idx, 0, (size_t)s->nbkt * IDX_WAYS * sizeof(*s->idx));
	s->idx_count = 0;
	s->fifo_head = s->fifo_tail = -1;
	s->free_head = -1;
	s->nfree = 0;
	s->nsealed = 0;
	s->walk_seg = -1;
	s->walk_off = 0;
	s->cln_seg = -1;
	/* Parked segments stay parked; free_push() parks more if a lowered
	 * limit asks for them. */
	for (int32_t i = (int32_t)s->nseg - 1; i >= 0; i--) {
		if (i == keep || (keep < 0 && i == s->active) || s->segs[i].state == SEG_PARKED)
			continue;
		free_push(s, i);
	}
	if (keep >= 0) {
		/* The open reservation survives: everything else in its segment
		 * is dead now, the walker must not see it as linked. */
		struct seg *g = &s->segs[keep];
		uint8_t *base = seg_base(s, keep);

		for (uint32_t off = 0; off < g->used;) {
			struct wc_item *it = (struct wc_item *)(base + off);

			off += item_size(it);
			if (it != s->resv)
				it->obits |= IT_DEAD;
		}
		g->live = item_size(s->resv);
		g->exp_min = 0;
		if (keep != s->active) {
			/* the old active segment went to the free list above */
			fifo_push(s, keep);
			s->active = free_pop(s);
			s->segs[s->active].state = SEG_ACTIVE;
		}
	} else {
		s->segs[s->active].live = 0;
		s->segs[s->active].state = SEG_ACTIVE;
		seg_rewind(s, s->active);
	}
	s->stats.curr_items = 0;
	s->stats.bytes = 0;
}

struct wc_store *wc_store_create(const struct wc_store_config *cfg)
{
	struct wc_store *s = NULL;
	size_t max_item, min_seg, seg;
	uint64_t entries;
	int err = EINVAL;

	if (cfg == NULL || cfg->name == NULL)
		goto fail;
	max_item = cfg->max_item_size != 0 ? cfg->max_item_size : DEF_MAX_ITEM;
	if (max_item < WC_ITEM_HDR + 2 || max_item > (1u << 30))
		goto fail;
	min_seg = rte_align64pow2(item_mem(0, max_item, IT_LAYOUT));
	if (min_seg < MIN_SEG_SIZE)
		min_seg = MIN_SEG_SIZE;
	seg = RTE_MAX((size_t)DEF_SEG_SIZE, min_seg);
	while (seg > min_seg && cfg->mem_limit / seg < WANT_SEGS)
		seg >>= 1;
	if (cfg->mem_limit / seg < MIN_SEGS + (cfg->qsbr != NULL ? resv_rcu(0) : 0) ||
	    cfg->mem_limit / seg > INT32_MAX)
		goto fail;

	err = ENOMEM;
	s = rte_zmalloc_socket("wc_store", sizeof(*s), RTE_CACHE_LINE_SIZE, cfg->socket_id);
	if (s == NULL)
		goto fail;
	s->nseg = (uint32_t)(cfg->mem_limit / seg);
	s->seg_size = (uint32_t)seg;
	s->seg_shift = (uint32_t)rte_bsf64(seg);
	s->mem_limit = cfg->mem_limit;
	s->mem_max = cfg->mem_limit;
	s->nuse = s->nseg;
	s->park_head = -1;
	s->cln_seg = -1;
	s->max_item_size = max_item;
	s->no_evict = cfg->no_evict;
	s->hash = cfg->hash;
	s->pin[0] = s->pin[1] = -1;
	s->busy = -1;
	s->walk_seg = -1;
	s->segs = rte_zmalloc_socket("wc_store_segs", sizeof(struct seg) * s->nseg,
				     RTE_CACHE_LINE_SIZE, cfg->socket_id);
	if (s->segs == NULL)
		goto fail;
	s->mem = rte_malloc_socket(cfg->name, (size_t)s->nseg * seg, RTE_CACHE_LINE_SIZE,
				   cfg->socket_id);
	if (s->mem == NULL)
		goto fail;

	/*
	 * As many entries as the memory holds small items: the segments left
	 * once the reserve is set aside (one free segment; with remote readers
	 * the RCU reserve), each filled with items of the sizing size up to its
	 * last whole one. A full partition then fills its index, and memory
	 * held by larger items runs out first.
	 */
	if (cfg->max_items != 0) {
		entries = cfg->max_items;
	} else {
		uint32_t resv = cfg->qsbr != NULL ? resv_rcu(s->nseg) : 1;

		entries =
			(uint64_t)(s->nseg - resv) * (seg / item_mem(SIZING_KLEN, SIZING_VLEN, 0));
	}
	entries = RTE_MAX(entries, (uint64_t)64);
	entries = RTE_MIN(entries, (uint64_t)IDX_ENTRIES_MAX);
	s->max_items = entries;
	/* Buckets for IDX_FILL percent of their slots: two choices of bucket
	 * and one move aside then leave an insert without room about once in
	 * a million (idx_insert(), idx_victim()). */
	s->nbkt = (uint32_t)((entries * 100 + IDX_WAYS * IDX_FILL - 1) / (IDX_WAYS * IDX_FILL));
	s->nbkt = RTE_MAX(s->nbkt, 2u);
	s->idx = rte_zmalloc_socket("wc_store_idx", (size_t)s->nbkt * IDX_WAYS * sizeof(*s->idx),
				    RTE_CACHE_LINE_SIZE, cfg->socket_id);
	if (s->idx == NULL)
		goto fail;

	s->active = 0;
	s->ret_head = s->ret_tail = -1;
	store_reset(s);
	s->qsbr = cfg->qsbr; /* after the reset above, which clears the index at once */
	clean_goal_update(s);
	if (store_register(s) < 0) {
		err = ENOSPC;
		goto fail;
	}
	return s;
fail:
	wc_store_destroy(s);
	rte_errno = err;
	errno = err;
	return NULL;
}

void wc_store_destroy(struct wc_store *s)
{
	if (s == NULL)
		return;
	store_unregister(s);
	rte_free(s->idx);
	rte_free(s->mem);
	rte_free(s->segs);
	rte_free(s);
}

/* ---- expiry walk ---- */

/*
 * Walk the segments that hold an expired item, reclaiming those items:
 * WALK_ITEMS items and WALK_BYTES bytes of them at most a tick, so that a
 * tick's pause stays short whatever the items' size (a thousand 1 KB items,
 * a cache miss each, were a 100 us pause).
 */
static void walk_slice(struct wc_store *s)
{
	unsigned items = WALK_ITEMS, heads = WALK_SEGS;
	uint32_t bytes = WALK_BYTES;

	while (items > 0 && bytes > 0) {
		struct seg *g;
		uint8_t *base;

		if (s->walk_seg < 0) {
			int32_t i;

			if (heads-- == 0)
				return;
			i = (int32_t)s->walk_next;
			s->walk_next = (s->walk_next + 1) % s->nseg;
			g = &s->segs[i];
			if ((g->state != SEG_SEALED && g->state != SEG_ACTIVE) || g->exp_min == 0 ||
			    g->exp_min > s->now)
				continue;
			s->walk_seg = i;
			s->walk_off = 0;
			s->walk_min = 0;
		}
		g = &s->segs[s->walk_seg];
		base = seg_base(s, s->walk_seg);
		s->busy = s->walk_seg;
		while (items > 0 && bytes > 0 && s->walk_off < g->used) {
			struct wc_item *it = (struct wc_item *)(base + s->walk_off);
			uint32_t sz = item_size(it);

			s->walk_off += sz;
			items--;
			bytes = bytes > sz ? bytes - sz : 0;
			if ((it->obits & IT_DEAD) || it == s->resv)
				continue;
			if (item_expired(s, it))
				item_unlink(s, it, UNLINK_EXPIRED);
			else
				s->walk_min = min_nz(s->walk_min, item_exptime(it));
		}
		s->busy = -1;
		if (s->walk_off < g->used)
			rte_prefetch0(base + s->walk_off);
		if (s->walk_off >= g->used) {
			int32_t i = s->walk_seg;

			if (s->resv != NULL && seg_of(s, s->resv) == i)
				s->walk_min = min_nz(s->walk_min, item_exptime(s->resv));
			g->exp_min = s->walk_min;
			s->walk_seg = -1;
			s->walk_off = 0;
			seg_maybe_release(s, i);
		} else if (g->live == 0) {
			seg_maybe_release(s, s->walk_seg);
		}
	}
}

/* ---- a memory limit lowered at run time ----
 *
 * The partition's memory was allocated at create time and stays; a lower
 * limit only takes segments out of use. Which ones does not matter (items
 * are found through the index, whatever their segment), so it is their
 * number that follows the limit: nuse segments under the limit are active,
 * sealed, free or retired, the others parked. Free segments beyond the
 * reserve are parked at once; the rest are parked as they empty: by deletes
 * and expiry, by the stores' own reclaiming, and by clean_slice(), which
 * empties sealed segments a bounded number of items per tick as eviction
 * does (compaction of a mostly dead segment, else second chance from the
 * FIFO head), so a large drop costs no long pause.
 */

/* Park free segments beyond the reserve while the limit asks for more. */
static void park_spare(struct wc_store *s)
{
	while (s->npark < s->park_want && s->free_head >= 0) {
		int32_t i = s->free_head;

		s->free_head = s->segs[i].next;
		s->nfree--;
		if (!park_due(s)) {
			s->segs[i].next = s->free_head;
			s->free_head = i;
			s->nfree++;
			return;
		}
		seg_park(s, i);
	}
}

/* The sealed segment with the fewest live bytes near the FIFO head, not
 * pinned, or -1. */
static int32_t least_live(const struct wc_store *s)
{
	int32_t best = -1;
	int n = 0;

	for (int32_t i = s->fifo_head; i >= 0 && n < COMPACT_SCAN; i = s->segs[i].next, n++)
		if (!seg_pinned(s, i) && (best < 0 || s->segs[i].live < s->segs[best].live))
			best = i;
	return best;
}

/*
 * The next segment for the cleaner to empty, chosen as reclaim_one() would:
 * a mostly dead one near the FIFO head whose live items fit in the active
 * segment is compacted (with no_evict any that fits, since nothing may be
 * evicted); otherwise the oldest is evicted, with second chance. When only
 * cleaning ahead (no shrink under way), a mostly dead segment that does not
 * fit yet is waited for rather than evicting live items: the next active
 * segment, which the stores that need the cleaning will open, has room.
 * @return false if there is none (no_evict and nothing fits, or waiting).
 */
static bool clean_pick(struct wc_store *s)
{
	uint32_t room = seg_room(s, s->active);
	int32_t best = least_live(s);
	bool mostly_dead = best >= 0 && (s->no_evict || s->segs[best].live <= s->seg_size / 4);

	if (mostly_dead && seg_moves_fit(s, best, room, shrink_left(s) != 0)) {
		s->cln_compact = true;
	} else if (mostly_dead && shrink_left(s) == 0) {
		return false;
	} else if (!s->no_evict) {
		best = fifo_victim(s);
		s->cln_compact = false;
	} else {
		best = -1;
	}
	if (best < 0)
		return false;
	s->cln_seg = best;
	s->cln_off = 0;
	return true;
}

/*
 * no_evict, and the live items of the most dead segment do not fit in the
 * active segment's room: start a new active segment as a store would (its
 * reclaiming compacts that segment into it). Only for a mostly dead one:
 * each time more dead space is reclaimed (3/4 of a segment at least) than
 * the old active segment leaves unused (less than the moved items take,
 * about 1/4), so it cannot go on for ever.
 * @return whether a new active segment was started.
 */
static bool shrink_rotate(struct wc_store *s)
{
	int32_t best = least_live(s);

	if (best < 0 || s->segs[best].live > s->seg_size / 4 ||
	    seg_moves_fit(s, best, seg_room(s, s->active), true))
		return false;
	return seg_open_new(s, 0) == 0;
}

/*
 * Empty sealed segments from the cleaner's cursor until clean_goal() are
 * free or on their way back, looking at @p items items and @p bytes bytes
 * of them at most (besides choosing a segment, which reads its item
 * headers, and with no_evict one shrink_rotate()). A segment emptied here
 * is freed, or parked for a lowered limit, by free_push() (with remote
 * readers once its grace period is over).
 *
 * Towards a lowered limit an item that does not fit in the active segment
 * is evicted, so the shrink goes on without stores. Cleaning ahead evicts
 * only what second chance would; an item to move that does not fit waits,
 * the cursor on it, for the next active segment.
 */
static void clean_slice(struct wc_store *s, unsigned items, uint64_t bytes)
{
	bool rotated = false;

	if (unlikely(s->npark < s->park_want))
		park_spare(s);
	while (items > 0 && bytes > 0) {
		int32_t v = s->cln_seg;
		bool stuck = false, wait = false;
		struct seg *g;
		uint8_t *base;

		if (s->nfree + s->nretired >= s->cln_goal)
			return;
		/*
		 * The store under way holds the segment still (its old item is
		 * there): cleaning ahead waits for it rather than start on another.
		 */
		if (v >= 0 && seg_pinned(s, v) && shrink_left(s) == 0)
			return;
		if (v >= 0 && (s->segs[v].state != SEG_SEALED || seg_pinned(s, v) ||
			       (s->no_evict && !s->cln_compact)))
			v = s->cln_seg = -1;
		if (v < 0) {
			if (!clean_pick(s)) {
				if (!s->no_evict || rotated || shrink_left(s) == 0 ||
				    !shrink_rotate(s))
					return;
				rotated = true; /* once a call: it copies a segment */
				continue;
			}
			v = s->cln_seg;
		}
		g = &s->segs[v];
		base = seg_base(s, v);
		s->busy = v;
		while (items > 0 && bytes > 0 && s->cln_off < g->used) {
			struct wc_item *it = (struct wc_item *)(base + s->cln_off);
			uint32_t sz = item_size(it);

			if (!(it->obits & IT_DEAD)) {
				bool move = s->cln_compact || (it->rbits & IT_VISITED);

				if (item_expired(s, it)) {
					item_unlink(s, it, UNLINK_EXPIRED);
				} else if (move && item_moved_mem(it) <= seg_room(s, s->active)) {
					item_move(s, it, !s->cln_compact);
				} else if (move && shrink_left(s) == 0) {
					wait = true;
					break;
				} else if (!s->no_evict) {
					item_unlink(s, it, UNLINK_EVICTED);
				} else {
					/* Nowhere to move it, and it may not be evicted. */
					stuck = true;
					break;
				}
			}
			s->cln_off += sz;
			items--;
			bytes = bytes > sz ? bytes - sz : 0;
		}
		s->busy = -1;
		/* The next slice starts with this header: read it in meanwhile. */
		if (s->cln_off < g->used)
			rte_prefetch0(base + s->cln_off);
		if (g->live == 0) {
			s->cln_seg = -1;
			s->stats.segs_cleaned++;
			seg_maybe_release(s, v);
		} else if (wait) {
			return;
		} else if (stuck || s->cln_off >= g->used) {
			/* Stuck: the stores took the room meanwhile; choose again
			 * (or start a new active segment) next time. */
			s->cln_seg = -1;
			return;
		}
	}
}

void wc_store_tick(struct wc_store *s, uint32_t now)
{
	__atomic_store_n(&s->now, now, __ATOMIC_RELAXED);
	if (s->qsbr != NULL)
		ret_poll(s);

	if (s->flush_at != 0 && now >= s->flush_at) {
		s->flush_at = 0;
		store_reset(s);
		return;
	}
	walk_slice(s);
	if (s->nfree + s->nretired < s->cln_goal)
		clean_slice(s, SHRINK_ITEMS,
			    s->npark < s->park_want ? UINT64_MAX : CLEAN_TICK_BYTES);
}

uint32_t wc_store_now(const struct wc_store *s)
{
	return s->now;
}

/* ---- lookup ---- */

static inline bool key_ok(size_t klen)
{
	return klen != 0 && klen <= WC_KEY_MAX;
}

/* Find a live item; an expired one is reclaimed on the way. */
static __rte_always_inline struct wc_item *find_live(struct wc_store *s, const void *key,
						     size_t klen, uint64_t h)
{
	struct wc_item *it = idx_find(s, key, klen, h);

	if (it != NULL && unlikely(item_expired(s, it))) {
		s->stats.get_expired++;
		item_unlink_h(s, it, h, UNLINK_EXPIRED);
		return NULL;
	}
	return it;
}

struct wc_item *wc_store_lookup(struct wc_store *s, const void *key, size_t klen, uint64_t hash)
{
	if (klen == 0 || klen > WC_KEY_MAX)
		return NULL;
	return find_live(s, key, klen, hash);
}

/* What a reply shows of @p it; the CAS only if @p with_cas (else 0). */
static __rte_always_inline void item_view(const struct wc_store *s, const struct wc_item *it,
					  size_t klen, bool with_cas, struct wc_item_view *v)
{
	uint8_t rb = it->rbits;

	v->val = item_key_rb(it, rb) + klen;
	v->vlen = item_vlen(it);
	v->flags = item_flags_rb(it, rb);
	v->cas = with_cas ? item_cas_rb(s, it, rb) : 0;
}

static inline void item_bump(const struct wc_store *s, struct wc_item *it)
{
	it->atime = atime_rel(s, seg_of(s, it), s->now);
	it->rbits |= IT_HINTS;
}

/* wc_store_get(), or with @p fetch wc_store_fetch(). */
static __rte_always_inline struct wc_item *get_view(struct wc_store *s, const void *key,
						    size_t klen, uint64_t hash,
						    struct wc_item_view *v, bool fetch)
{
	struct wc_item *it;

	if (unlikely(klen == 0 || klen > WC_KEY_MAX))
		return NULL;
	it = find_live(s, key, klen, hash);
	if (it != NULL) {
		item_view(s, it, klen, !fetch, v);
		if (fetch)
			item_bump(s, it);
	}
	return it;
}

struct wc_item *wc_store_get(struct wc_store *s, const void *key, size_t klen, uint64_t hash,
			     struct wc_item_view *v)
{
	return get_view(s, key, klen, hash, v, false);
}

/* wc_store_fetch() when its key is not the first tag match in its first
 * bucket, or is expired: the whole lookup, collisions counted. */
static __rte_noinline struct wc_item *fetch_slow(struct wc_store *s, const void *key, size_t klen,
						 uint64_t hash, struct wc_item_view *v)
{
	return get_view(s, key, klen, hash, v, true);
}

/*
 * The short path of a plain get, for @p it, its key's first tag match in
 * its first bucket: if it holds the key (of a valid length) and is live,
 * its view in @p v, the access recorded. @return false, nothing done, else.
 */
static __rte_always_inline bool fetch_first(struct wc_store *s, struct wc_item *it, const void *key,
					    size_t klen, struct wc_item_view *v)
{
	uint32_t e;

	if (unlikely(klen == 0 || klen > WC_KEY_MAX || it->klen != klen ||
		     !key_eq(item_key(it), key, klen)))
		return false;
	e = item_exptime_rb(it, it->rbits);
	if (unlikely(e != 0 && e <= s->now))
		return false;
	item_view(s, it, klen, false, v);
	item_bump(s, it);
	return true;
}

/*
 * The commonest lookup, a plain get, which finds its key as the first tag
 * match of the first bucket, on a path of its own (fetch_first()): nothing
 * else to keep live, no collision to count. Any other case takes
 * fetch_slow().
 */
struct wc_item *wc_store_fetch(struct wc_store *s, const void *key, size_t klen, uint64_t hash,
			       struct wc_item_view *v)
{
	const uint64_t *p = idx_bkt(s, idx_b1(s, hash));
	uint64_t tag = idx_tag(hash);

	if (unlikely(klen == 0 || klen > WC_KEY_MAX))
		return NULL;
	for (unsigned int i = 0; i < IDX_WAYS; i++) {
		struct wc_item *it;

		if ((p[i] & ~IDX_OFF_MASK) != tag)
			continue;
		it = idx_slot_item(s, p[i]);
		if (likely(fetch_first(s, it, key, klen, v)))
			return it;
		break;
	}
	return fetch_slow(s, key, klen, hash, v);
}

void wc_store_fetch_burst(struct wc_store *s, const struct wc_store_key *k, unsigned int n,
			  struct wc_item_view *v)
{
	const uint64_t *bkt[WC_STORE_BURST];
	struct wc_item *cand[WC_STORE_BURST];
	unsigned int i;

	/* One key has nothing to overlap its reads with. */
	if (n == 1) {
		if (wc_store_fetch(s, k->key, k->klen, k->hash, v) == NULL)
			v->val = NULL;
		return;
	}
	/* The first buckets. */
	for (i = 0; i < n; i++) {
		bkt[i] = idx_bkt(s, idx_b1(s, k[i].hash));
		rte_prefetch0(bkt[i]);
	}
	/* The item of each first bucket's first tag match, if any. */
	for (i = 0; i < n; i++) {
		uint64_t tag = idx_tag(k[i].hash);

		cand[i] = NULL;
		for (unsigned int j = 0; j < IDX_WAYS; j++) {
			uint64_t x = bkt[i][j];

			if ((x & ~IDX_OFF_MASK) == tag) {
				cand[i] = idx_slot_item(s, x);
				rte_prefetch0(cand[i]);
				break;
			}
		}
	}
	/*
	 * wc_store_fetch()'s short path on the candidates, its general one
	 * else. The general one may reclaim an expired item, which a later
	 * key of the burst (the same key again) has as its candidate: the
	 * item stays as it was (memory is reused only by writes), so that key
	 * too finds it expired and takes the general path, which misses.
	 */
	for (i = 0; i < n; i++) {
		if (likely(cand[i] != NULL && fetch_first(s, cand[i], k[i].key, k[i].klen, &v[i])))
			continue;
		if (fetch_slow(s, k[i].key, k[i].klen, k[i].hash, &v[i]) == NULL)
			v[i].val = NULL;
	}
}

/*
 * The CREW read. What makes it safe without a lock:
 * - each index slot is read once, whole: a lookup racing with the owner's
 *   change reads the old or the new item offset, both still mapped (a slot
 *   cleared and taken again under the lookup yields another key's item,
 *   which the key compare rejects); an entry moved between its buckets
 *   under the lookup may be missed, and seq says so;
 * - item memory is reused only after every reader registered on s->qsbr
 *   has passed a quiescent state, so an item found here stays readable
 *   until this lcore's next quiescent state;
 * - the key, flags, length, value and layout of a published item never
 *   change (the owner writes a new item and repoints the index instead);
 *   exptime, CAS and meta bits may, in place, under the partition's seq,
 *   checked around the copy;
 * - an item the owner has unlinked or moved is marked dead after the index
 *   stopped pointing at it: looking up again finds the moved copy, or not.
 * Readers write only the hint bits of rbits and atime, with plain stores.
 */
int wc_store_read(struct wc_store *s, const void *key, size_t klen, uint64_t hash, void *buf,
		  size_t buflen, bool bump, struct wc_item_meta *meta)
{
	if (unlikely(!key_ok(klen)))
		return -ENOENT;
	for (int tries = 0; tries < READ_TRIES; tries++) {
		uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		struct wc_item *it;
		uint32_t vlen, exptime, now;
		uint64_t cas;
		uint16_t at;
		uint8_t ob, rb;

		if (seq & 1)
			continue;
		/* Collisions not counted: the owner's stats are its own. */
		it = idx_lookup(s, key, klen, hash, NULL);
		if (it == NULL) {
			rte_smp_rmb();
			if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) != seq)
				continue;
			return -ENOENT;
		}
		ob = __atomic_load_n(&it->obits, __ATOMIC_RELAXED);
		if (ob & IT_DEAD)
			continue;
		rb = __atomic_load_n(&it->rbits, __ATOMIC_RELAXED);
		vlen = item_vlen(it);
		exptime = item_exptime_rb(it, rb);
		cas = item_cas_rb(s, it, rb);
		at = __atomic_load_n(&it->atime, __ATOMIC_RELAXED);
		if (vlen <= buflen)
			memcpy(buf, item_key_rb(it, rb) + klen, vlen);
		rte_smp_rmb();
		if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) != seq)
			continue;
		now = __atomic_load_n(&s->now, __ATOMIC_RELAXED);
		if (exptime != 0 && exptime <= now)
			return -ENOENT;
		meta->vlen = vlen;
		if (vlen > buflen)
			return -ENOSPC;
		meta->flags = item_flags_rb(it, rb);
		meta->exptime = exptime;
		meta->atime = atime_abs(s, it, at);
		meta->cas = cas;
		meta->bits = ob & IT_PUBLIC;
		meta->fetched = (rb & IT_FETCHED) != 0;
		if (bump) {
			/* Hints only: a racing store may win, and that is fine. */
			uint16_t na = atime_rel(s, seg_of(s, it), now);

			if (at != na)
				__atomic_store_n(&it->atime, na, __ATOMIC_RELAXED);
			if ((rb & IT_HINTS) != IT_HINTS)
				__atomic_store_n(&it->rbits, (uint8_t)(rb | IT_HINTS),
						 __ATOMIC_RELAXED);
		}
		return (int)vlen;
	}
	return -EAGAIN;
}

void wc_store_bump(struct wc_store *s, struct wc_item *it)
{
	item_bump(s, it);
}

const char *wc_item_key(const struct wc_item *it, size_t *klen)
{
	if (klen != NULL)
		*klen = it->klen;
	return (const char *)item_key(it);
}

const uint8_t *wc_item_value(const struct wc_item *it, uint32_t *vlen)
{
	if (vlen != NULL)
		*vlen = item_vlen(it);
	return item_val(it);
}

uint32_t wc_item_flags(const struct wc_item *it)
{
	return item_flags_rb(it, it->rbits);
}

uint64_t wc_item_cas(const struct wc_item *it)
{
	const struct wc_store *s = store_of(it);

	return s != NULL ? item_cas(s, it) : 0;
}

uint32_t wc_item_exptime(const struct wc_item *it)
{
	return item_exptime(it);
}

uint32_t wc_item_atime(const struct wc_item *it)
{
	const struct wc_store *s = store_of(it);

	return s != NULL ? atime_abs(s, it, it->atime) : 0;
}

bool wc_item_fetched(const struct wc_item *it)
{
	return (it->rbits & IT_FETCHED) != 0;
}

uint8_t wc_item_bits(const struct wc_item *it)
{
	return it->obits & IT_PUBLIC;
}

void wc_item_set_bits(struct wc_store *s, struct wc_item *it, uint8_t bits)
{
	seq_begin(s);
	it->obits = (uint8_t)((it->obits & ~IT_PUBLIC) | (bits & IT_PUBLIC));
	seq_end(s);
}

/*
 * Replace a linked item by a copy with another exptime and CAS field (the
 * metadata an item without the field cannot take in place).
 * @return the copy, or NULL (counted as oom) if no memory could be had:
 *         then @p it is unchanged.
 */
static struct wc_item *item_rewrite(struct wc_store *s, struct wc_item *it, uint32_t exptime,
				    bool has_cas, uint64_t cas)
{
	struct wc_item *nit = item_alloc_keep(s, item_copy_mem(it, exptime, has_cas), it);

	if (nit == NULL)
		return NULL;
	item_copy(s, nit, it, exptime, has_cas, cas);
	idx_repoint(s, it, nit, item_hash(s, it));
	s->stats.bytes += item_size(nit);
	s->stats.bytes -= item_size(it);
	item_mark_dead(s, it);
	return nit;
}

struct wc_item *wc_item_set_exptime(struct wc_store *s, struct wc_item *it, uint32_t exptime)
{
	uint8_t rb = it->rbits;
	int32_t i = seg_of(s, it);
	struct wc_item *nit;

	if (rb & IT_HAS_EXP) {
		seq_begin(s);
		memcpy(opt_exp(it, rb), &exptime, sizeof(exptime));
		seq_end(s);
		s->segs[i].exp_min = min_nz(s->segs[i].exp_min, exptime);
		if (s->walk_seg == i)
			s->walk_min = min_nz(s->walk_min, exptime);
		return it;
	}
	if (exptime == 0)
		return it;
	/* The copy is at a new place: its CAS, unchanged, goes with it. */
	nit = item_rewrite(s, it, exptime, true, item_cas_rb(s, it, rb));
	return nit != NULL ? nit : it;
}

struct wc_item *wc_item_new_cas(struct wc_store *s, struct wc_item *it)
{
	/* A copy at a new place without a CAS field has a new unique. */
	struct wc_item *nit = item_rewrite(s, it, item_exptime(it), false, 0);

	return nit != NULL ? nit : it;
}

struct wc_item *wc_item_set_cas(struct wc_store *s, struct wc_item *it, uint64_t cas)
{
	uint8_t rb = it->rbits;
	struct wc_item *nit;

	if (rb & IT_HAS_CAS) {
		seq_begin(s);
		memcpy(opt_cas(it, rb), &cas, sizeof(cas));
		seq_end(s);
		return it;
	}
	nit = item_rewrite(s, it, item_exptime_rb(it, rb), true, cas);
	return nit != NULL ? nit : it;
}

/* ---- storing ---- */

/* Delete the key's item, if any (memcached drops the old value of a set
 * that could not be stored, so a reader never sees stale data). */
static void drop_key(struct wc_store *s, const void *key, size_t klen, uint64_t h)
{
	struct wc_item *old = find_live(s, key, klen, h);

	if (old != NULL)
		item_unlink_h(s, old, h, UNLINK_DELETE);
}

/* Publish @p nit in place of @p old (or as a new key) with a fresh CAS.
 * On failure @p nit is left as it was; the caller drops it. */
static int publish(struct wc_store *s, struct wc_item *old, struct wc_item *nit, uint32_t nsz,
		   uint64_t h, uint64_t *cas_out)
{
	if (old != NULL) {
		uint32_t osz = item_size(old);

		idx_repoint(s, old, nit, h);
		s->stats.bytes -= osz;
		item_kill(s, old, osz);
	} else {
		int ret = item_link(s, nit, h);

		if (ret < 0)
			return ret;
		s->stats.curr_items++;
	}
	s->stats.bytes += nsz;
	s->stats.total_items++;
	if (cas_out != NULL)
		*cas_out = item_cas(s, nit);
	return WC_STORE_OK;
}

/*
 * The store path shared by wc_store_set() and wc_store_commit(). @p ready is
 * a filled reservation (key and value in place) or NULL to copy @p val.
 *
 * CAS rules follow memcached's meta set: a non-zero cas_in turns set and
 * replace into cas (missing -> NOT_FOUND, mismatch -> EXISTS); append and
 * prepend check it (mismatch -> EXISTS); add ignores it. cas with cas_in 0
 * never matches.
 */
static int do_store(struct wc_store *s, enum wc_store_mode mode, const void *key, size_t klen,
		    uint64_t h, struct wc_item *ready, const void *val, uint32_t vlen,
		    uint32_t flags, uint32_t exptime, uint64_t cas_in, uint64_t *cas_out)
{
	struct wc_item *old, *nit;
	uint64_t total;
	uint32_t sz;
	uint8_t rb;
	int ret;

	old = find_live(s, key, klen, h);
	if (cas_in != 0 && (mode == WC_MODE_SET || mode == WC_MODE_REPLACE))
		mode = WC_MODE_CAS;
	switch (mode) {
	case WC_MODE_SET:
		break;
	case WC_MODE_ADD:
		if (old != NULL)
			return WC_STORE_NOT_STORED;
		break;
	case WC_MODE_REPLACE:
		if (old == NULL)
			return WC_STORE_NOT_STORED;
		break;
	case WC_MODE_APPEND:
	case WC_MODE_PREPEND:
		if (old == NULL)
			return WC_STORE_NOT_STORED;
		if (cas_in != 0 && cas_in != item_cas(s, old))
			return WC_STORE_EXISTS;
		break;
	case WC_MODE_CAS:
		if (old == NULL)
			return WC_STORE_NOT_FOUND;
		if (cas_in != item_cas(s, old))
			return WC_STORE_EXISTS;
		break;
	default:
		return -EINVAL;
	}

	if (mode == WC_MODE_APPEND || mode == WC_MODE_PREPEND) {
		uint32_t ovlen = item_vlen(old), oflags = wc_item_flags(old);
		uint32_t oexp = item_exptime(old), nsz;
		uint8_t *dst, nrb;

		total = (uint64_t)ovlen + vlen;
		if (item_bytes(klen, total) > s->max_item_size)
			return -E2BIG;
		/* Both the old item and the reservation hold still meanwhile. */
		nrb = item_layout(total, oflags, oexp, false);
		nsz = item_mem(klen, total, nrb);
		nit = item_alloc_keep(s, nsz, old);
		if (nit == NULL)
			return -ENOMEM;
		item_init(s, nit, nrb, key, klen, (uint32_t)total, oflags, oexp, 0);
		/* A new value: memcached forgets fetched (h) and win-token (Z) state. */
		nit->rbits |= old->rbits & IT_VISITED;
		dst = item_val(nit);
		if (mode == WC_MODE_APPEND) {
			memcpy(dst, item_val(old), ovlen);
			memcpy(dst + ovlen, val, vlen);
		} else {
			memcpy(dst, val, vlen);
			memcpy(dst + vlen, item_val(old), ovlen);
		}
		ret = publish(s, old, nit, nsz, h, cas_out);
		if (ret < 0)
			item_kill(s, nit, nsz);
		return ret;
	}

	if (ready != NULL) {
		nit = ready;
		nit->obits &= (uint8_t)~IT_DEAD;
		sz = item_size(nit);
	} else {
		rb = item_layout(vlen, flags, exptime, false);
		sz = item_mem(klen, vlen, rb);
		nit = item_alloc_keep(s, sz, old);
		if (nit == NULL) {
			if (mode == WC_MODE_SET && old != NULL)
				item_unlink_h(s, old, h, UNLINK_DELETE);
			return -ENOMEM;
		}
		item_init(s, nit, rb, key, klen, vlen, flags, exptime, 0);
		memcpy(item_key_rb(nit, rb) + klen, val, vlen);
	}
	ret = publish(s, old, nit, sz, h, cas_out);
	if (ret < 0 && ready == NULL)
		item_kill(s, nit, sz);
	return ret;
}

int wc_store_set(struct wc_store *s, enum wc_store_mode mode, const void *key, size_t klen,
		 uint64_t hash, const void *val, uint32_t vlen, uint32_t flags, uint32_t exptime,
		 uint64_t cas_in, uint64_t *cas_out)
{
	if (!key_ok(klen))
		return -EINVAL;
	if (WC_ITEM_HDR + klen + (uint64_t)vlen > s->max_item_size) {
		if (mode == WC_MODE_SET)
			drop_key(s, key, klen, hash);
		return -E2BIG;
	}
	return do_store(s, mode, key, klen, hash, NULL, val, vlen, flags, exptime, cas_in, cas_out);
}

uint8_t *wc_store_reserve(struct wc_store *s, const void *key, size_t klen, uint64_t hash,
			  uint32_t vlen, uint32_t flags, uint32_t exptime, int *err)
{
	struct wc_item *it;
	uint8_t rb;
	int dummy;

	if (err == NULL)
		err = &dummy;
	if (s->resv != NULL) {
		*err = -EBUSY;
		return NULL;
	}
	if (!key_ok(klen)) {
		*err = -EINVAL;
		return NULL;
	}
	if (WC_ITEM_HDR + klen + (uint64_t)vlen > s->max_item_size) {
		*err = -E2BIG;
		return NULL;
	}
	rb = item_layout(vlen, flags, exptime, false);
	it = item_alloc(s, item_mem(klen, vlen, rb));
	if (it == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	item_init(s, it, rb, key, klen, vlen, flags, exptime, 0);
	/* Not linked yet: the walkers skip it, eviction skips its segment. */
	it->obits |= IT_DEAD;
	s->resv = it;
	s->resv_hash = hash;
	s->pin[PIN_RESV] = seg_of(s, it);
	*err = 0;
	return item_val(it);
}

static void resv_close(struct wc_store *s, bool drop)
{
	struct wc_item *it = s->resv;

	s->resv = NULL;
	if (drop) {
		/* Never linked: only its live bytes are to be returned. */
		int32_t i = seg_of(s, it);

		it->obits |= IT_DEAD;
		s->segs[i].live -= item_size(it);
	}
	unpin(s, PIN_RESV);
}

int wc_store_commit(struct wc_store *s, enum wc_store_mode mode, uint64_t cas_in, uint64_t *cas_out)
{
	struct wc_item *it = s->resv;
	int ret;

	if (it == NULL)
		return -EINVAL;
	if (mode == WC_MODE_APPEND || mode == WC_MODE_PREPEND) {
		/* The reservation is only the suffix/prefix: copy, then drop it. */
		ret = do_store(s, mode, item_key(it), it->klen, s->resv_hash, NULL, item_val(it),
			       item_vlen(it), 0, 0, cas_in, cas_out);
		resv_close(s, true);
		return ret;
	}
	ret = do_store(s, mode, item_key(it), it->klen, s->resv_hash, it, NULL, 0, 0, 0, cas_in,
		       cas_out);
	/* Published (linked, live) only on OK; otherwise it is garbage. */
	resv_close(s, ret != WC_STORE_OK);
	return ret;
}

void wc_store_abort(struct wc_store *s)
{
	if (s->resv != NULL)
		resv_close(s, true);
}

int wc_store_delete(struct wc_store *s, const void *key, size_t klen, uint64_t hash,
		    uint64_t cas_in)
{
	struct wc_item *it;

	if (!key_ok(klen))
		return WC_STORE_NOT_FOUND;
	it = find_live(s, key, klen, hash);
	if (it == NULL)
		return WC_STORE_NOT_FOUND;
	if (cas_in != 0 && cas_in != item_cas(s, it))
		return WC_STORE_EXISTS;
	item_unlink_h(s, it, hash, UNLINK_DELETE);
	return WC_STORE_OK;
}

/*
 * memcached parses the value with strtoull() over the stored bytes, which are
 * followed by "\r\n": leading white space and a sign are accepted, at least
 * one digit is needed, overflow is refused, the digits must be followed by
 * white space, a NUL or the end; a '-' is refused only when the result, read
 * as signed, is negative (so "-0" is 0). Replicated here byte for byte.
 */
static bool parse_u64(const uint8_t *p, uint32_t n, uint64_t *out)
{
	uint32_t i = 0;
	uint64_t v = 0;
	bool neg = false, any = false;

	while (i < n && (p[i] == ' ' || (p[i] >= '\t' && p[i] <= '\r')))
		i++;
	if (i < n && (p[i] == '+' || p[i] == '-'))
		neg = p[i++] == '-';
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
		unsigned d = (unsigned)(p[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false; /* ERANGE */
		v = v * 10 + d;
		any = true;
	}
	if (!any)
		return false;
	if (i < n && !(p[i] == ' ' || (p[i] >= '\t' && p[i] <= '\r') || p[i] == '\0'))
		return false;
	if (neg)
		v = -v;
	if (neg && (int64_t)v < 0)
		return false;
	*out = v;
	return true;
}

int wc_store_arith(struct wc_store *s, const void *key, size_t klen, uint64_t hash, bool incr,
		   uint64_t delta, uint64_t cas_in, uint64_t *result, uint64_t *cas_out)
{
	struct wc_item *it, *nit;
	uint32_t vlen, flags, exptime;
	uint8_t rb;
	char buf[24];
	uint64_t v;
	int len;

	if (!key_ok(klen))
		return WC_STORE_NOT_FOUND;
	it = find_live(s, key, klen, hash);
	if (it == NULL)
		return WC_STORE_NOT_FOUND;
	vlen = item_vlen(it);
	if (vlen == 0)
		return WC_STORE_NON_NUMERIC;
	if (cas_in != 0 && cas_in != item_cas(s, it))
		return WC_STORE_EXISTS;
	if (!parse_u64(item_val(it), vlen, &v))
		return WC_STORE_NON_NUMERIC;
	if (incr)
		v += delta;
	else
		v = delta > v ? 0 : v - delta;
	len = snprintf(buf, sizeof(buf), "%" PRIu64, v);

	/*
	 * memcached rewrites a number that got no longer in place and pads it
	 * with spaces ("100" decr 1 reads back as "99 "); clients see exactly
	 * those bytes, so the value keeps its length. It is not rewritten in
	 * place all the same, since remote readers may be copying it: the new
	 * bytes go into a new item that takes over the index entry. To clients
	 * it is still the same item, so fetched and token bits stay, as in
	 * memcached; a longer number is a new item there, unfetched and without
	 * a token.
	 */
	bool same = (uint32_t)len <= vlen;
	uint32_t nlen = same ? vlen : (uint32_t)len;

	flags = wc_item_flags(it);
	exptime = item_exptime(it);
	rb = item_layout(nlen, flags, exptime, false);
	nit = item_alloc_keep(s, item_mem(klen, nlen, rb), it);
	if (nit == NULL)
		return -ENOMEM;
	item_init(s, nit, rb, key, klen, nlen, flags, exptime, 0);
	nit->atime = atime_rel(s, seg_of(s, nit), atime_abs(s, it, it->atime));
	if (same) {
		nit->rbits |= it->rbits & IT_HINTS;
		nit->obits = it->obits & IT_PUBLIC;
	} else {
		nit->rbits |= it->rbits & IT_VISITED;
	}
	memcpy(item_val(nit), buf, (size_t)len);
	memset(item_val(nit) + len, ' ', nlen - (uint32_t)len);
	/* A new place: a new CAS unique, as memcached gives. */
	idx_repoint(s, it, nit, hash);
	s->stats.bytes += item_size(nit);
	s->stats.bytes -= item_size(it);
	item_mark_dead(s, it);
	if (result != NULL)
		*result = v;
	if (cas_out != NULL)
		*cas_out = item_cas(s, nit);
	return WC_STORE_OK;
}

void wc_store_flush(struct wc_store *s, uint32_t when)
{
	if (when == 0 || when <= s->now) {
		s->flush_at = 0;
		store_reset(s);
	} else {
		s->flush_at = when;
	}
}

const struct wc_store_stats *wc_store_stats(const struct wc_store *s)
{
	return &s->stats;
}

size_t wc_store_mem_used(const struct wc_store *s)
{
	return (size_t)s->nsealed * s->seg_size + s->segs[s->active].used;
}

size_t wc_store_mem_limit(const struct wc_store *s)
{
	return __atomic_load_n(&s->mem_limit, __ATOMIC_RELAXED);
}

size_t wc_store_mem_reserved(const struct wc_store *s)
{
	return s->mem_max;
}

size_t wc_store_mem_min(const struct wc_store *s)
{
	/* As wc_store_create() checks a limit. */
	return (size_t)(MIN_SEGS + (s->qsbr != NULL ? resv_rcu(0) : 0)) << s->seg_shift;
}

int wc_store_set_mem_limit(struct wc_store *s, size_t bytes)
{
	if (bytes > s->mem_max || bytes < wc_store_mem_min(s))
		return -ERANGE;
	/* nseg is mem_max / segment size, so nuse <= nseg. */
	s->nuse = (uint32_t)(bytes >> s->seg_shift);
	s->park_want = s->nseg - s->nuse;
	__atomic_store_n(&s->mem_limit, bytes, __ATOMIC_RELAXED);
	/* Raised: parked segments are free again at once (they were free, past
	 * any grace period, when parked). */
	while (s->npark > s->park_want) {
		int32_t i = s->park_head;

		s->park_head = s->segs[i].next;
		s->npark--;
		free_push(s, i);
	}
	park_spare(s);
	clean_goal_update(s);
	return 0;
}

void wc_store_set_evict(struct wc_store *s, bool evict)
{
	s->no_evict = !evict;
}

bool wc_store_evicts(const struct wc_store *s)
{
	return !s->no_evict;
}

/* The buckets, taken whole at create; nothing else is kept per entry. */
size_t wc_store_index_bytes(const struct wc_store *s)
{
	return (size_t)s->nbkt * IDX_WAYS * sizeof(*s->idx);
}

uint64_t wc_store_index_capacity(const struct wc_store *s)
{
	return s->max_items;
}

int wc_store_numa_node(const struct wc_store *s)
{
	int node = -1;

	if (get_mempolicy(&node, NULL, 0, s->mem, MPOL_F_NODE | MPOL_F_ADDR) != 0)
		return -1;
	return node;
}

/* ---- consistency check ---- */

int wc_store_check(struct wc_store *s)
{
	uint32_t nfree = 0, nsealed = 0, nact = 0, nret = 0, npark = 0, n = 0;
	uint64_t items = 0, bytes = 0;

	for (int32_t i = s->free_head; i >= 0 && n <= s->nseg; i = s->segs[i].next, n++)
		if (s->segs[i].state != SEG_FREE)
			return -1;
	if (n != s->nfree)
		return -2;
	n = 0;
	for (int32_t i = s->fifo_head, prev = -1; i >= 0 && n <= s->nseg;
	     prev = i, i = s->segs[i].next, n++)
		if (s->segs[i].state != SEG_SEALED || s->segs[i].prev != prev)
			return -3;
	if (n != s->nsealed)
		return -4;
	n = 0;
	for (int32_t i = s->ret_head; i >= 0 && n <= s->nseg; i = s->segs[i].next, n++)
		if (s->segs[i].state != SEG_RETIRED || (s->segs[i].next < 0 && s->ret_tail != i))
			return -17;
	if (n != s->nretired)
		return -18;
	n = 0;
	for (int32_t i = s->park_head; i >= 0 && n <= s->nseg; i = s->segs[i].next, n++)
		if (s->segs[i].state != SEG_PARKED)
			return -19;
	if (n != s->npark || s->npark > s->park_want || s->park_want != s->nseg - s->nuse)
		return -20;
	for (uint32_t i = 0; i < s->nseg; i++) {
		struct seg *g = &s->segs[i];
		uint8_t *base = seg_base(s, (int32_t)i);
		uint32_t live = 0, off = 0, emin = 0;

		nfree += g->state == SEG_FREE;
		nsealed += g->state == SEG_SEALED;
		nact += g->state == SEG_ACTIVE;
		nret += g->state == SEG_RETIRED;
		npark += g->state == SEG_PARKED;
		if (g->state == SEG_ACTIVE && (int32_t)i != s->active)
			return -5;
		if (g->state == SEG_FREE || g->state == SEG_RETIRED || g->state == SEG_PARKED)
			continue;
		if (g->used > s->seg_size)
			return -6;
		while (off < g->used) {
			struct wc_item *it = (struct wc_item *)(base + off);
			uint64_t h;

			off += item_size(it);
			if (it == s->resv) {
				live += item_size(it);
				continue;
			}
			if (it->obits & IT_DEAD)
				continue;
			live += item_size(it);
			emin = min_nz(emin, item_exptime(it));
			items++;
			bytes += item_size(it);
			h = item_hash(s, it);
			if (idx_slot_of(s, idx_slot_val(s, it, h), h) == NULL)
				return -7;
			/* found by its key, without expiring anything */
			if (idx_lookup(s, item_key(it), it->klen, h, NULL) != it)
				return -8;
		}
		if (off != g->used)
			return -9;
		if (live != g->live)
			return -10;
		if (emin != 0 && (g->exp_min == 0 || g->exp_min > emin))
			return -11;
		if (g->state == SEG_SEALED && live == 0 && !seg_pinned(s, (int32_t)i))
			return -12; /* should have been freed */
	}
	if (nfree != s->nfree || nsealed != s->nsealed || nact != 1 || nret != s->nretired ||
	    npark != s->npark)
		return -13;
	if (items != s->stats.curr_items || bytes != s->stats.bytes)
		return -14;
	n = 0;
	for (size_t i = 0; i < (size_t)s->nbkt * IDX_WAYS; i++)
		n += s->idx[i] != 0;
	if (n != items || s->idx_count != items)
		return -15;
	/* Within the segments in use; within the limit once a lowered one is reached. */
	if (wc_store_mem_used(s) > ((size_t)(s->nseg - s->npark) << s->seg_shift) ||
	    (s->npark == s->park_want && wc_store_mem_used(s) > s->mem_limit))
		return -16;
	if (s->cln_goal != clean_goal(s))
		return -17;
	return 0;
}
