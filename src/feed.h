/* feed.h - the feed builder: store rows -> sync settings -> template ->
 * publish.
 *
 * The builder reads the store through ordered cursors that it merges by
 * product (or order) id, so it holds one product with its variants, images,
 * categories and attributes at a time, never the catalog. The sync settings
 * of the feed (include_out_of_stock, collect_emails, lookback, ...) are
 * applied here, so a template only says how rows look, not which rows
 * exist.
 *
 * Ownership: struct feed_data borrows cfg, fc and the store; it owns its
 * arena and statements and is released with feed_data_free().
 */
#ifndef PF_FEED_H
#define PF_FEED_H

#include <stdint.h>

#include "config.h"
#include "store.h"
#include "template.h"
#include "util.h"

struct feed_data;

/* Prepares the data side of a build: globals (shop, now, feed) and the
 * collections products, categories, orders, customers. */
int feed_data_new(const struct pf_config *cfg, const struct pf_feed_cfg *fc,
                  struct store *s, struct feed_data **out,
                  struct pf_err *err);
const struct tpl_data *feed_data_tpl(struct feed_data *d);
void feed_data_free(struct feed_data *d);

struct feed_result {
    int64_t items, bytes, gz_bytes;
    double seconds;
    char sha256[65];
    int parts;              /* files the feed was split into (1: none) */
    char *path;             /* published file */
    const char *access;     /* "token" or "public" */
    /* Rows the template's required fields left out, in all and per
     * reason ("missing image_link"; only reasons that left rows out,
     * most first, then by name). */
    int64_t left_out;
    size_t nreasons;
    char **reasons;
    int64_t *reason_items;
};
/* Frees what a feed_build() result owns. */
void feed_result_free(struct feed_result *res);

/* What a build of fc with template t would trip on, found before any
 * work: a collection the builder does not provide, a rule whose object
 * or copied path is in none of the template's rows (it would silently
 * never apply). Errors start with "CONFIG:LINE: ". */
int feed_check(const struct pf_config *cfg, const struct pf_feed_cfg *fc,
               const struct tpl *t, struct pf_err *err);

/* Builds fc from the store and publishes it (validated, gated by
 * max_drop unless force; the gate compares published items, so rows
 * left out for a missing required field count as gone). Records what
 * was left out and why with the feed. On failure the previously
 * published feed is left in place, and so is its record. The caller
 * frees *res with feed_result_free() on success. */
int feed_build(const struct pf_config *cfg, const struct pf_feed_cfg *fc,
               struct store *s, int force, struct feed_result *res,
               struct pf_err *err);

/* ---- many feeds in one build (feed_multi.c) -------------------------------
 * Builds run in worker threads (one per core, at most 4), each feed with
 * its own store connection opened on cfg->store_path. Feeds whose
 * template first opens the same collection (products and variants read
 * the same products) with the same [sync] settings and no rules read it
 * from one shared scan: each product, category, order, ... is read and
 * built once for all of them. Every feed publishes, gates and records
 * exactly as a feed_build() of its own would. */

struct feed_outcome {
    int rc;                 /* 0: published; -1: failed, see err */
    int damaged;            /* the store was found damaged */
    struct feed_result res; /* when rc is 0; the callback frees it */
    struct pf_err err;
};

/* Called in the calling thread, in the order of fcs, as soon as feed i
 * and every feed before it are done. */
typedef void feed_done_fn(void *arg, const struct pf_feed_cfg *fc,
                          struct feed_outcome *o);

/* Builds fcs[0..n). After a feed finds the store damaged no other feed
 * starts (those not started get no callback). Store rows read in all
 * are logged (debug: `-v`) as "build: store rows read: products N, ...".
 * Returns the number of feeds that failed or were not built. */
int feed_build_all(const struct pf_config *cfg,
                   const struct pf_feed_cfg *const *fcs, size_t n,
                   int force, feed_done_fn *done, void *arg);

/* Renders fc's template over the store as NDJSON (one row per line) to
 * fd, streaming, without publishing anything: the push (push_*.c) reads
 * the rows a feed would publish, so a feed and a push share one
 * definition. The template must be a list of one "@each" object. *items
 * is the number of rows written; *coll (may be NULL) receives the
 * template's first collection (a static name, e.g. "events"). The caller
 * owns fd and its position. */
int feed_render_ndjson(const struct pf_config *cfg,
                       const struct pf_feed_cfg *fc, struct store *s, int fd,
                       int64_t *items, const char **coll,
                       struct pf_err *err);

/* The access a build of fc records: access = token or public as set;
 * by default token when t opens orders, customers or events (or names a
 * personal field), public for catalogs (products, variants, categories
 * only). */
const char *feed_access(const struct pf_feed_cfg *fc, const struct tpl *t);
/* The first of orders, customers and events that t opens, or NULL. */
const char *feed_private_collection(const struct tpl *t);

/* Reduces an attribute name to [A-Za-z0-9_], lower case, as Clerk.io
 * ignores any other name. Writes into out (size n); "" if nothing is
 * left. */
void feed_attr_name(const char *name, char *out, size_t n);

#endif
