/* store.h - the one SQLite schema every source writes and every feed reads.
 *
 * Sources call the store_put_* functions inside store_begin()/store_commit()
 * (one transaction per page or file, together with its bookmark), so a crash
 * at any point leaves the store as it was after the last whole page.
 *
 * Ownership: struct store owns the SQLite handle and its prepared
 * statements. The entity structs passed to store_put_* are borrowed for the
 * duration of the call; the store copies what it keeps. IDs are strings;
 * money is integer minor units; times are UTC epoch seconds (0 = unknown).
 */
#ifndef PF_STORE_H
#define PF_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "util.h"

#define STORE_SCHEMA_VERSION 7

struct store;

/* Opens (creating and migrating as needed) the store at path: WAL,
 * synchronous=NORMAL, foreign keys on, busy timeout. */
int store_open(const char *path, struct store **out, struct pf_err *err);
/* Opens an existing store read-only without migrating (status, serve). */
int store_open_readonly(const char *path, struct store **out,
                        struct pf_err *err);
void store_close(struct store *s);
sqlite3 *store_db(struct store *s);

int store_begin(struct store *s, struct pf_err *err);
/* Commits; when a read inside the transaction failed without an error
 * channel (store_has), rolls back instead and returns that error. */
int store_commit(struct store *s, struct pf_err *err);
void store_rollback(struct store *s);

/* Runs SQL with no result rows. */
int store_exec(struct store *s, const char *sql, struct pf_err *err);
/* Cached prepared statement for sql (reset, bindings cleared). The store
 * owns it; do not finalize. */
sqlite3_stmt *store_stmt(struct store *s, const char *sql,
                         struct pf_err *err);

/* Steps st, a statement on s's database, and says what came back: 1 a
 * row is ready, 0 no (more) rows, -1 a store error. Every read of the
 * store goes through here, so a damaged page or an I/O error is an error
 * and never looks like "not found". On -1, err reads "store PATH: WHAT:
 * SQLite's message", where WHAT is formatted from what (only then) and
 * names what was being read, e.g. "reading images of product 'p1'". The
 * caller resets or finalizes st as usual. */
int store_step(struct store *s, sqlite3_stmt *st, struct pf_err *err,
               const char *what, ...)
    __attribute__((format(printf, 4, 5)));

/* 1 once any statement reported that the database file is damaged
 * (SQLITE_CORRUPT or SQLITE_NOTADB): nothing read from it since should
 * be published. */
int store_damaged(const struct store *s);
/* What to do about a damaged store, for the end of an error message. */
#define STORE_DAMAGED_ADVICE \
    "restore the store from a backup, or move it (with its -wal and " \
    "-shm files) aside and run `posfeed sync --full` to rebuild it from " \
    "the source"

/* PRAGMA quick_check. 0 when the store is sound; -1 with err listing the
 * first problems it found (or why it could not run). */
int store_quick_check(struct store *s, struct pf_err *err);

/* ---- bounds -----------------------------------------------------------
 * Sane ranges for what sources put in the store. No shop counts a billion
 * of one item at one place, and 10^13 minor units (100 billion in a
 * two-decimal currency) is above any price or order total. Within them,
 * sums over millions of rows stay exact in 64-bit integers. Sources check
 * a value before the put, so the warning can name the field; the puts
 * refuse anything outside as a last line of defence. */
/* changed_at / deleted_at of a change not yet stamped (store_schema.h,
 * version 6): sorts after every time, so `changed_at >= T` finds it. */
#define STORE_PENDING INT64_MAX
#define STORE_MAX_QUANTITY 1000000000
#define STORE_MAX_MONEY INT64_C(10000000000000)
/* STORE_MAX_QUANTITY as SQL text, for queries that clamp rows stored
 * before the bounds existed. */
#define STORE_STR_(x) #x
#define STORE_STR(x) STORE_STR_(x)
#define STORE_MAX_QUANTITY_SQL STORE_STR(STORE_MAX_QUANTITY)

static inline int
store_quantity_ok(int64_t q)
{
    return q >= -STORE_MAX_QUANTITY && q <= STORE_MAX_QUANTITY;
}

static inline int
store_money_ok(int64_t minor)
{
    return minor >= -STORE_MAX_MONEY && minor <= STORE_MAX_MONEY;
}

/* ---- entities ---------------------------------------------------------
 * Every put is an UPSERT by id that leaves the row untouched when nothing
 * changed, so re-importing identical data changes nothing. */

struct store_location {
    const char *id, *name, *timezone;
};

struct store_category {
    const char *id, *name, *parent_id, *url;
    int visible;            /* 1 shown in the shop, 0 hidden */
    int position;
};

struct store_product {
    const char *id, *name, *description, *url, *brand;
    int64_t created_at, updated_at;
    int visible;
    /* Parent-level stock for variant_stock_tracking = parent; has_stock 0
     * means the source gives none. */
    int has_stock;
    int64_t stock;
};

struct store_option {
    const char *name, *value;
};

struct store_variant {
    const char *id, *product_id, *sku, *ean, *upc, *image;
    int64_t price, list_price;     /* minor units; list_price 0 = none */
    const char *currency;
    int track_stock;               /* 0: stock not tracked, always sellable */
    int position;
    const struct store_option *options;
    size_t noptions;
};

struct store_customer {
    const char *id, *email, *first_name, *last_name, *company, *title;
    const char *address1, *address2, *city, *region, *zip, *country,
        *phone;
    /* 1 opted in, 0 did not, -1 unknown: never treated as consent. */
    int consent;
    int64_t created_at, updated_at;
};

struct store_order {
    const char *id, *number, *status, *location_id, *customer_id, *email;
    const char *currency;
    int64_t created_at, completed_at;
    int64_t total, discount_total;            /* minor units */
    const char *const *discount_codes;
    size_t ndiscount_codes;
    int shipped;
    int64_t shipped_at;
    const char *refund_of;                    /* original order id */
};

struct store_order_line {
    const char *id, *order_id, *product_id, *variant_id, *name, *sku;
    int64_t quantity;
    int64_t unit_price, discount;             /* minor units */
    int is_return;
    int position;
};

/* A text page or blog article of the shop, for the pages collection
 * (Clerk's "pages" entity). */
struct store_page {
    const char *id;          /* source-unique: "page-3", "article-7" */
    const char *kind;        /* "page" | "article" */
    const char *title, *url, *summary, *content, *image, *author;
    int64_t created_at, updated_at;      /* UTC epoch, 0 unknown */
    int visible;
};

/* One review of a product; ratings are computed from the visible ones
 * at build time (so a new, hidden or deleted review changes them). The
 * product must be in the store; deleting it deletes its reviews. */
struct store_review {
    const char *id, *product_id;
    double score;            /* normalized by the source to 0..5 */
    int visible;
    int64_t created_at;
};

/* Review scores are normalized by the source onto 0..5 stars. */
#define STORE_MAX_SCORE 5.0

enum store_attr_origin { STORE_ATTR_AUTO, STORE_ATTR_CUSTOM };

/* Puts return -1 (err names the entity, id and value) for a quantity or
 * amount outside the bounds above. */
int store_put_location(struct store *s, const struct store_location *l,
                       struct pf_err *err);
int store_put_category(struct store *s, const struct store_category *c,
                       struct pf_err *err);
int store_put_product(struct store *s, const struct store_product *p,
                      struct pf_err *err);
int store_put_variant(struct store *s, const struct store_variant *v,
                      struct pf_err *err);
/* quantity for one variant at one location. */
int store_put_stock(struct store *s, const char *variant_id,
                    const char *location_id, int64_t quantity,
                    struct pf_err *err);
/* Replaces the product's category links / images / attributes of one
 * origin with the given set. */
int store_set_product_categories(struct store *s, const char *product_id,
                                 const char *const *category_ids, size_t n,
                                 struct pf_err *err);
int store_set_images(struct store *s, const char *product_id,
                     const char *const *urls, size_t n, struct pf_err *err);
/* Attributes are (name, value) pairs; a name may repeat for lists. entity
 * is "product" or "variant". */
int store_set_attributes(struct store *s, const char *entity,
                         const char *entity_id, enum store_attr_origin origin,
                         const struct store_option *attrs, size_t n,
                         struct pf_err *err);
int store_put_customer(struct store *s, const struct store_customer *c,
                       struct pf_err *err);
/* Replaces the properties of a customer or an order (entity "customer"
 * or "order"): (name, value) pairs, value a JSON scalar ("true", "12",
 * "\"text\""), names unique. They show as the row's "properties" object
 * (profile properties; merged into its events' properties). */
int store_set_properties(struct store *s, const char *entity,
                         const char *entity_id,
                         const struct store_option *props, size_t n,
                         struct pf_err *err);
int store_put_order(struct store *s, const struct store_order *o,
                    struct pf_err *err);
int store_put_order_line(struct store *s, const struct store_order_line *l,
                         struct pf_err *err);
/* kind must be "page" or "article"; anything else is refused naming the
 * page id. */
int store_put_page(struct store *s, const struct store_page *p,
                   struct pf_err *err);
/* A score outside 0..STORE_MAX_SCORE (or not a number) is refused naming
 * the review id. */
int store_put_review(struct store *s, const struct store_review *r,
                     struct pf_err *err);

/* Existence checks for reference validation by sources. table is one of
 * products, variants, categories, locations, customers, orders, pages,
 * reviews.
 * store_lookup: 1 yes, 0 no, -1 a store error (in err).
 * store_has: 1 yes, 0 no or a store error. It has no error channel, so a
 * store error also fails the transaction it happened in: the next
 * store_commit() rolls back and reports it, and nothing decided on the
 * strength of a wrong "no" (a skipped row, a moved bookmark) lands. */
int store_lookup(struct store *s, const char *table, const char *id,
                 struct pf_err *err);
int store_has(struct store *s, const char *table, const char *id);

/* Recomputes category depth and full path ("Men > Shoes") for the whole
 * tree; cycles are broken and reported. Call after categories change. */
int store_rebuild_category_paths(struct store *s, struct pf_err *err);

/* ---- what changed when (schema version 6) ------------------------------
 * Clerk's incremental reads (serve_clerk.c) ask for objects changed after
 * a time. changed_at and deleted_at are moved by triggers to
 * STORE_PENDING inside a writing transaction; store_commit() stamps them
 * with pf_time_now() right after its COMMIT, in a transaction of its own
 * (so a stamp is never earlier than the change became visible). Inside
 * a run (store_run_start() to store_run_end(), or store_close()) the
 * stamp waits for the run's end, once for all its commits. A stamp that
 * a crash cut short is done by the next store_commit() or store_open()
 * of a writable store; until then the rows read as pending, which counts
 * as "changed after any time". */

/* Stamps every pending change with now, in a transaction of its own
 * (inside the caller's when one is open). Nothing pending: a few index
 * probes, no write. -1 on a read-only connection. store_commit() calls
 * it after its COMMIT and store_open() for leftovers; both only log a
 * failure. */
int store_stamp_changes(struct store *s, int64_t now, struct pf_err *err);

/* Rows of table (products, categories, customers, orders or pages) with
 * changed_at >= since, into *n, whatever their visibility. */
int store_changed_count(struct store *s, const char *table, int64_t since,
                        int64_t *n, struct pf_err *err);

/* The newest stamped changed_at of a product (pending ones aside), 0
 * when none, into *t. */
int store_newest_product_change(struct store *s, int64_t *t,
                                struct pf_err *err);

/* Deletions of entity (product, category, customer or page) with
 * deleted_at >= since, into *n. */
int store_deleted_count(struct store *s, const char *entity, int64_t since,
                        int64_t *n, struct pf_err *err);

/* Records that the definition key renders with (e.g. "clerk-v2/products":
 * a digest of the template, settings and program version) is now hash.
 * *since receives when that hash was first recorded: now when it is new
 * or differs from the one stored. Objects rendered differently since
 * then changed even though no row did. An unchanged hash is only read
 * (a read-only connection may ask, and a running sync is not waited
 * for); a new one is written in a short transaction of its own, which
 * waits for a sync's transaction up to the busy timeout and needs a
 * writable connection. Do not call inside a transaction. */
int store_render_epoch(struct store *s, const char *key, const char *hash,
                       int64_t now, int64_t *since, struct pf_err *err);

/* The store's generation (schema version 7), in the caller's read
 * transaction: a counter every stamp of pending changes moves, so two
 * snapshots with the same generation hold the same products, categories,
 * customers, orders and pages and everything rendered with them.
 * *gen is -1 while a change waits for its stamp (a run in progress, or
 * one cut short): no generation names that content. */
int store_generation(struct store *s, int64_t *gen, struct pf_err *err);

/* A value computed over a whole snapshot of generation gen, stored under
 * key: *value (caller frees) when the stored one is of generation gen,
 * else NULL. */
int store_derived_get(struct store *s, const char *key, int64_t gen,
                      char **value, struct pf_err *err);

/* Stores value under key for generation gen, in a transaction of its own
 * (a writable connection, not inside a transaction), only when gen is
 * still the store's generation; *stored (may be NULL) says whether it
 * was. */
int store_derived_put(struct store *s, const char *key, int64_t gen,
                      const char *value, int *stored, struct pf_err *err);

/* ---- sync state -------------------------------------------------------- */

/* Bookmark per stream; *out is NULL when the stream never ran (caller
 * frees). */
int store_get_bookmark(struct store *s, const char *stream, char **out,
                       struct pf_err *err);
int store_set_bookmark(struct store *s, const char *stream,
                       const char *bookmark, struct pf_err *err);

/* ---- runs -------------------------------------------------------------- */

/* A run is one sync/build/run command. Counts per stream and warnings are
 * accumulated while it goes, and it ends with a result. Call under the
 * store's lock: starting a run marks any run left "running" by a killed
 * process as "interrupted". */
int store_run_start(struct store *s, const char *kind, int64_t *run_id,
                    struct pf_err *err);
/* Records a run that failed before it began its work (the store failed
 * its check), leaving every other run as it is: a run left "running"
 * stays the evidence that makes the next run check again. */
int store_run_refused(struct store *s, const char *kind, const char *error,
                      struct pf_err *err);
/* Runs still marked "running", i.e. left by a process that ended without
 * finishing them: it was killed, or the machine stopped. Call before
 * store_run_start() (which marks them "interrupted"). *n is their number
 * and *last_id the newest of them (0 when none). */
int store_unfinished_runs(struct store *s, int64_t *n, int64_t *last_id,
                          struct pf_err *err);
int store_run_count(struct store *s, int64_t run_id, const char *stream,
                    int64_t rows, int64_t warnings, struct pf_err *err);
int store_run_warning(struct store *s, int64_t run_id, const char *msg);
int store_run_end(struct store *s, int64_t run_id, const char *result,
                  const char *error, struct pf_err *err);

/* ---- published feeds ---------------------------------------------------- */

struct store_feed_rec {
    const char *name, *path, *sha256, *gz_sha256, *access;
    int64_t bytes, gz_bytes, items;
    int64_t published_at;
    double build_seconds;
};
int store_feed_published(struct store *s, const struct store_feed_rec *r,
                         struct pf_err *err);
/* Drops the records of parts "NAME:part-K" for K > nparts (a feed that
 * shrank). */
int store_feed_forget_parts(struct store *s, const char *name, int nparts,
                            struct pf_err *err);
/* *items: the item count of the last publish of name, or -1 if it was
 * never published. -1 on a store error: a damaged record must not look
 * like "never published", which would switch off the max_drop gate. */
int store_feed_last_items(struct store *s, const char *name,
                          int64_t *items, struct pf_err *err);
/* What the last publish of feed name left out: n reasons ("missing
 * image_link") with the rows each left out, replacing what the build
 * before recorded, in one transaction (n = 0: nothing was left out). */
int store_feed_left_out(struct store *s, const char *name,
                        const char *const *reasons, const int64_t *items,
                        size_t n, struct pf_err *err);

/* ---- push ledger (store_push.c) ---------------------------------------- */

/* One rendered row offered to the ledger. The body is hashed (SHA-256) to
 * tell a changed row from one already queued or sent. */
struct store_push_item {
    const char *target;     /* "klaviyo" */
    const char *kind;       /* "event" or "profile" */
    const char *id;         /* event unique_id; profile email, lower case */
    const char *metric;     /* "Placed Order"...; "profile" */
    const char *grp;        /* events: the profile's email; "" none */
    int64_t item_time;      /* the event's time; INT64_MIN for profiles */
    const char *body;       /* the row as rendered (compact JSON) */
    size_t len;
};
/* Offers it: new -> pending; pending with another hash -> body and hash
 * replaced; sent -> left alone for events (a sent event is never edited),
 * pending again for a profile whose hash changed; failed -> pending again
 * only when the hash changed. *queued (may be NULL) is 1 when the row is
 * now pending because of this call. Call inside store_begin/commit. */
int store_push_offer(struct store *s, const struct store_push_item *it,
                     int64_t now, int *queued, struct pf_err *err);

/* Pending items of target and kind in send order (grp, id), after the
 * position (after_grp, after_id) ("" "" = from the start), at most limit
 * of them; fn gets each (its return value: 0 go on, 1 stop, -1 error,
 * which needs err set). */
typedef int store_push_fn(void *ctx, const char *id, const char *grp,
                          const char *metric, const char *body, size_t len,
                          struct pf_err *err);
int store_push_pending(struct store *s, const char *target,
                       const char *kind, const char *after_grp,
                       const char *after_id, int limit, store_push_fn *fn,
                       void *ctx, struct pf_err *err);
/* Marks the n items ids sent now (body dropped, attempts + 1), and when
 * job is not NULL records the job that carried them, in one
 * transaction: this is the moment the target's acceptance is recorded. */
int store_push_mark_sent(struct store *s, const char *target,
                         const char *kind, const char *const *ids, size_t n,
                         const char *job, int64_t now, struct pf_err *err);
/* Marks one item failed with the target's reason (the item keeps its
 * hash, so it is not offered again until its data changes). Not
 * transactional by itself. */
int store_push_mark_failed(struct store *s, const char *target,
                           const char *kind, const char *id,
                           const char *reason, struct pf_err *err);
/* The import jobs recorded by store_push_mark_sent and not yet read
 * back: fn(ctx, job id) for each (oldest first; same return rules). */
typedef int store_push_job_fn(void *ctx, const char *job,
                              struct pf_err *err);
int store_push_jobs(struct store *s, const char *target,
                    store_push_job_fn *fn, void *ctx, struct pf_err *err);
int store_push_job_done(struct store *s, const char *target,
                        const char *job, struct pf_err *err);
/* Forgets the pending items of target, kind and metric (metric NULL:
 * every metric): the merchant no longer wants them sent. Sent and failed
 * items stay, so they are never sent twice. */
int store_push_drop_pending(struct store *s, const char *target,
                            const char *kind, const char *metric,
                            struct pf_err *err);
/* Replaces what the last enqueue of target left out: n (metric, reason,
 * items) triples. Call inside store_begin/commit. */
int store_push_set_skipped(struct store *s, const char *target,
                           const char *const *metrics,
                           const char *const *reasons, const int64_t *items,
                           size_t n, struct pf_err *err);

#endif
