/* feed_int.h - private to the feed builder (feed.c, feed_share.c,
 * feed_multi.c): the pieces a build of many feeds at once needs from a
 * single build.
 *
 * A build of many feeds runs each feed in a thread of its own with its
 * own store connection. Feeds whose first collection reads the same rows
 * (same collection family, same [sync] settings, no rules) take those
 * rows from one shared scan (feed_share.h) instead of each reading the
 * store.
 *
 * Ownership: the options only borrow; the share belongs to the caller.
 */
#ifndef PF_FEED_INT_H
#define PF_FEED_INT_H

#include <stdint.h>

#include "feed.h"
#include "rows.h"

struct feed_share;

struct feed_build_opts {
    /* The caller holds cfg's zone (pf_tz_hold) for the whole build, so
     * threads never switch TZ (setenv is not thread-safe). */
    int tz_held;
    /* Non-NULL: the feed's first collection comes from this shared scan
     * (seat share_seat), not from the store. The seat is left on every
     * path, so the scan never waits for a feed that stopped. */
    struct feed_share *share;
    int share_seat;
    /* Non-NULL: store rows this feed read itself are added here, by
     * enum coll (variants count under products). */
    int64_t *rows_read;
};

/* feed_build() with options. */
int feed_build_opt(const struct pf_config *cfg,
                   const struct pf_feed_cfg *fc, struct store *s, int force,
                   const struct feed_build_opts *o, struct feed_result *res,
                   struct pf_err *err);

/* feed_data_new(), which with tz_held leaves the zone alone. */
int feed_data_open(const struct pf_config *cfg, const struct pf_feed_cfg *fc,
                   struct store *s, int tz_held, struct feed_data **out,
                   struct pf_err *err);

/* A cursor of d's own over the store, for collection name (any but
 * events); freed with feed_cursor_free(). */
int feed_cursor_open(struct feed_data *d, const char *name,
                     struct feed_cursor **out, struct pf_err *err);
void feed_cursor_free(struct feed_cursor *fc);
/* Reads the next store row of fc's collection (any but events) and
 * builds its object (for products and variants: the product) in d->row,
 * which this resets first. 1: *o set; 0: the settings leave the row out,
 * or there are no more rows (then fc->main.has_row is 0); -1: store
 * error. */
int feed_read_obj(struct feed_data *d, struct feed_cursor *fc,
                  struct pf_obj **o, struct pf_err *err);

/* The collection whose store rows collection reads when shared:
 * "products" for products and variants, itself for categories, orders,
 * customers and pages; NULL for events (built from orders with lookups
 * of its own) or an unknown name. A static string. */
const char *feed_scan_family(const char *collection);

#endif
