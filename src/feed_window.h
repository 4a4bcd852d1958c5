/* feed_window.h - one collection's objects from a store snapshot, a page
 * at a time: what Clerk's live JSON Feed V2 endpoints (serve_clerk.c)
 * answer with.
 *
 * A window renders a feed's template - a list of one "@each" object, as
 * feed_render_ndjson() takes - over the rows of its first collection, in
 * key (id) order: only rows whose key sorts after `after`, and with
 * changed_since only rows whose changed_at (store_schema.h, version 6) is
 * at or after it. It yields one object per call, as compact JSON on one
 * line, so the caller streams it and never holds more than one object.
 * With changed_since the rows are sparse, so its cursors seek each row's
 * children instead of merging whole tables: a window costs what it reads,
 * not the catalog.
 *
 * The sync settings, rules and required fields apply exactly as in a
 * build of the same feed: the objects of every window of a snapshot,
 * concatenated page after page, are the objects of feed_render_ndjson()
 * over that snapshot, in the same order, byte for byte.
 *
 * Ownership: the caller owns the store connection and its transaction;
 * every window opened inside one read transaction (BEGIN ... COMMIT on
 * that connection) sees the same snapshot. A window borrows cfg, fc and
 * s, which must outlive it, and owns everything else;
 * feed_window_free() releases it.
 */
#ifndef PF_FEED_WINDOW_H
#define PF_FEED_WINDOW_H

#include <stdint.h>

#include "config.h"
#include "store.h"
#include "util.h"

struct feed_window;
struct feed_window_cache;

/* Bumped whenever a change to posfeed changes what the same data and
 * template render to: a client that synced before it must get everything
 * again (serve_clerk.c puts it in the definition's digest). */
#define FEED_RENDER_REV 1

struct feed_window_opts {
    const char *after;      /* start after this key; NULL: from the first */
    int64_t changed_since;  /* rows with changed_at >= this; INT64_MIN: all */
    int64_t limit;          /* stop after this many objects; 0: no limit */
    /* What a window computes over the whole catalog (the attribute
     * names that are lists in every product), kept for the next window
     * of the same feed on the same connection and snapshot; NULL: none,
     * every window computes it. */
    struct feed_window_cache *cache;
    /* The caller holds cfg's zone (pf_tz_hold) while the window lives,
     * as a server running windows in several threads must (switching TZ
     * is not thread-safe); 0: the window holds it itself. */
    int tz_held;
};

/* A cache for the windows of one feed (fc); the caller owns it and may
 * hand it to any window of that feed: it is used only when the window's
 * connection is the one it was filled on and has seen no commit since
 * (PRAGMA data_version, and the connection's own changes), so within
 * one read transaction it always is, and across transactions of a
 * connection kept open while nothing was synced. Filling it reads the
 * product attributes and variant options of the whole catalog (at 200k
 * products about 0.8 s, against 0.12 s for a window of 1% changed), so
 * a server keeps a connection and its cache per feed rather than one
 * connection per answer, and a run stores what it computed
 * (feed_window_cache_save) for the first answer after it. Not
 * thread-safe: one user at a time. */
struct feed_window_cache *feed_window_cache_new(void);
void feed_window_cache_free(struct feed_window_cache *c);
/* What the cache decided over the whole catalog, as text: the attribute
 * names products render as lists, sorted, one per line ("" when none or
 * not filled yet). When it changes, products whose rows did not change
 * render differently (a name turned into a list on one product turns it
 * into a list on all). The caller frees the string. */
char *feed_window_cache_text(const struct feed_window_cache *c);

/* Stores what c holds, computed by a window that read the whole catalog,
 * in the store under the generation of the snapshot it was computed on
 * (store_derived_put; a writable connection outside a transaction): a
 * later cache of a products window on a snapshot of the same
 * generation, on any connection, takes it from there instead of reading
 * the catalog. Nothing to store (not filled, filled from the store, or
 * no generation named that snapshot): 0. */
int feed_window_cache_save(const struct feed_window_cache *c,
                           struct store *s, struct pf_err *err);

/* Opens a window over fc's template (errors name the template when it is
 * not a list of one "@each" object, or opens no collection a window can
 * page: products, categories, orders, customers, pages). */
int feed_window_open(const struct pf_config *cfg,
                     const struct pf_feed_cfg *fc, struct store *s,
                     const struct feed_window_opts *o,
                     struct feed_window **out, struct pf_err *err);

/* Appends the next object to buf (compact JSON, no newline). Returns 1
 * when it wrote one, 0 when the window is done (limit reached or no rows
 * left), -1 on a store or template error (err names the row). Rows left
 * out (a required field missing, the feed's rules or settings such as
 * include_out_of_stock) are skipped and counted. */
int feed_window_next(struct feed_window *w, struct pf_buf *buf,
                     struct pf_err *err);

/* The key of the last row read, written or left out: the `after` of the
 * next page. NULL before the first row. Valid until the next call. */
const char *feed_window_last_key(const struct feed_window *w);

/* Whether rows are left after the last one read (the limit stopped the
 * window, not the end of the rows). Valid once next() returned 0. */
int feed_window_more(const struct feed_window *w);

/* Rows of the first collection read, and how many of them were left out;
 * rows - left_out objects were written. */
void feed_window_counts(const struct feed_window *w, int64_t *rows,
                        int64_t *left_out);

/* The collection the window pages ("products", ...): a static string. */
const char *feed_window_collection(const struct feed_window *w);

void feed_window_free(struct feed_window *w);

#endif
