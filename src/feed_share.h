/* feed_share.h - one store scan read by several feeds at once.
 *
 * A producer thread (feed_share_run) reads one collection family
 * (feed_int.h's feed_scan_family) from its own store connection and
 * builds each object once (a product with its variants, a category, an
 * order, ...) into a ring of slots. Each feed (a seat) takes the objects
 * in order from its own thread. The ring is bounded: the producer waits
 * for the slowest seat still reading, so memory does not grow with the
 * catalog; a seat that stops (done, failed, or never opening the
 * collection) leaves and is waited for no more.
 *
 * Objects in the ring are read-only for the seats: a feed that changes
 * its rows (rules) never shares. The settings of the scan are those of
 * the feed given to feed_share_new(); every seat must have the same.
 *
 * Ownership: the share borrows cfg and fc and owns the ring, its
 * producer's store connection and the objects; an object a seat took is
 * valid until that seat's next take or leave. feed_share_free() only
 * after the producer thread was joined and every seat has left.
 */
#ifndef PF_FEED_SHARE_H
#define PF_FEED_SHARE_H

#include <stdint.h>

#include "config.h"
#include "util.h"
#include "value.h"

/* Objects in flight: a slow feed can fall this far behind the fastest
 * before the producer waits. Each slot keeps its arena between objects,
 * so the ring's memory is about this many products at most. */
#define FEED_SHARE_SLOTS 64
/* Threads wake for this many objects (or room for them) at a time. */
#define FEED_SHARE_BATCH 16

struct feed_share;
struct store;

/* A share of family (a feed_scan_family() name) for nseats seats, read
 * with fc's [sync] settings. */
struct feed_share *feed_share_new(const struct pf_config *cfg,
                                  const struct pf_feed_cfg *fc,
                                  const char *family, int nseats);
/* The producer: a pthread start routine taking the share. */
void *feed_share_run(void *share);
const char *feed_share_family(const struct feed_share *sh);

/* Releases the object seat took last and waits for the next. 1: *o set;
 * 0: the scan is done, and *free_products / *free_variants are the rows
 * it left out as free products (counted per product and per variant);
 * -1: the scan failed, err says why. */
int feed_share_take(struct feed_share *sh, int seat, struct pf_obj **o,
                    int64_t *free_products, int64_t *free_variants,
                    struct pf_err *err);
/* The seat reads no more. Idempotent. */
void feed_share_leave(struct feed_share *sh, int seat);

/* The most objects the ring held at once (made, not yet released by
 * every seat still reading): never more than its slots. */
uint64_t feed_share_peak(struct feed_share *sh);
/* Opens the store for a connection of a build of many feeds (a share's
 * producer, or any feed, sharing or alone) with a page cache of 4 MB
 * instead of the store's 16 MB: every collection is read in key order
 * (the events' per-line product details too, rows_events.c), each page
 * about once, so a small cache costs no reads, and such a build has
 * several connections open at once. */
int feed_share_store_open(const char *path, struct store **out,
                          struct pf_err *err);
/* Store rows the producer read, by enum coll (rows.h), added to
 * rows_read. After the producer was joined. */
void feed_share_rows_read(const struct feed_share *sh, int64_t *rows_read);
void feed_share_free(struct feed_share *sh);

#endif
