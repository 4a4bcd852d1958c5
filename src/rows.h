/* rows.h - private to the feed builder: the store cursors, the build's
 * data (struct feed_data) and the row builders, one file per collection:
 *
 *   rows.c             cursors over the store and helpers for row values
 *   rows_products.c    products, and variants walked from their product
 *   rows_categories.c  categories with their direct children
 *   rows_orders.c      orders with their lines
 *   rows_events.c      Klaviyo-style order events, built from order rows
 *   rows_customers.c   customers
 *   rows_pages.c       the shop's text pages and blog articles
 *   rows_ratings.c     products' ratings from their visible reviews
 *
 * feed.c opens a collection with the matching rows_*_open() and asks for
 * rows with the matching builder; nothing here knows templates or
 * publishing.
 *
 * Ownership: a row and everything in it lives in feed_data.row, which
 * feed.c resets before each row. Cursors own their statements (freed by
 * feed.c's cursor_free). Lists being grown (struct vlist) own their item
 * arrays; vl_value() copies them into the arena.
 */
#ifndef PF_ROWS_H
#define PF_ROWS_H

#include <sqlite3.h>
#include <stdint.h>

#include "config.h"
#include "out.h"
#include "store.h"
#include "template.h"
#include "util.h"
#include "value.h"

struct rules;
struct feed_share;
struct feed_data;

/* ---- merge cursors ---------------------------------------------------------
 * Child tables are read in the same key order as their parent, so one pass
 * over each table yields every parent with its children. A window
 * (feed_window.c) reads a page of parents, or a few changed ones: its
 * child cursors seek instead (enum rows_seek), so it reads what the page
 * needs, not the tables. */

struct cursor {
    struct store *s;
    sqlite3_stmt *st;
    const char *what;       /* the table(s) it reads, for errors */
    int has_row;
    /* How a child cursor finds a parent's rows (enum rows_seek), and the
     * key its statement's ?1 is bound to (owned). */
    int seek;
    char *bound;
};

/* A window (feed_window.h) reads a page of parents: its child cursors
 * start at the page's first key instead of the table's, and when the
 * parents are sparse (changed_since) they look each parent's rows up. */
enum rows_seek {
    ROWS_MERGE,     /* one pass over the whole table (a build) */
    ROWS_FROM,      /* rows from a key on, re-bound on a long gap */
    ROWS_AT         /* only the rows of the key, re-bound per parent */
};

/* A child statement in the three forms a cursor may need, made by
 * ROWS_SQL from its SELECT ... FROM ... (HEAD, with a WHERE in it for
 * ROWS_SQL_AND), the key column and the ORDER BY (or GROUP BY) tail.
 * ROWS_SQL_SORTED is for a tail no index gives: every bind of "from a
 * key on" would sort the rest of the table, so a window looks each key
 * up (ROWS_AT) instead. */
struct rows_sql {
    const char *merge, *from, *at;
    int sorted;
};
#define ROWS_SQL(HEAD, KEY, TAIL) \
    {HEAD TAIL, HEAD " WHERE " KEY " >= ?1" TAIL, \
     HEAD " WHERE " KEY " = ?1" TAIL, 0}
#define ROWS_SQL_AND(HEAD, KEY, TAIL) \
    {HEAD TAIL, HEAD " AND " KEY " >= ?1" TAIL, \
     HEAD " AND " KEY " = ?1" TAIL, 0}
#define ROWS_SQL_SORTED(HEAD, KEY, TAIL) \
    {HEAD TAIL, NULL, HEAD " AND " KEY " = ?1" TAIL, 1}

/* Prepares sql on the store's database; what names what it reads
 * ("products", "order lines") in error messages. */
int rows_stmt_open(struct store *s, sqlite3_stmt **st, const char *sql,
                   const char *what, struct pf_err *err);
int cur_open(struct store *s, struct cursor *c, const char *sql,
             const char *what, struct pf_err *err);
/* A child cursor in the form the build or window reading d needs
 * (d->child_seek). */
int rows_child_open(struct feed_data *d, struct cursor *c,
                    const struct rows_sql *q, const char *what,
                    struct pf_err *err);
/* A collection's main cursor: head ("SELECT ... FROM"), table, the
 * condition (NULL: none), in id order; a window's rows (d->win_*) only
 * after its key and changed since its time. */
int rows_main_open(struct feed_data *d, struct cursor *c, const char *head,
                   const char *table, const char *where, const char *what,
                   struct pf_err *err);
int cur_step(struct cursor *c, struct pf_err *err);
/* Puts a merging cursor on its first row; a seeking one waits for its
 * first key. */
int cur_start(struct cursor *c, struct pf_err *err);
/* Column i of the current row as text; "" for NULL. */
const char *cur_col(struct cursor *c, int i);
/* Skips child rows whose key sorts before key; returns 1 when the current
 * child row belongs to key, 0 when not, -1 on a store error. A seeking
 * cursor binds its ?1 to key instead of stepping when it has no key yet,
 * is far behind it (ROWS_FROM) or is on another key (ROWS_AT). */
int cur_seek(struct cursor *c, int keycol, const char *key,
             struct pf_err *err);
/* Steps past the current child row, then as cur_seek: so
 *   for (m = cur_seek(c, 0, key, err); m == 1;
 *        m = cur_next(c, 0, key, err))
 * visits every child row of key. */
int cur_next(struct cursor *c, int keycol, const char *key,
             struct pf_err *err);
void cur_close(struct cursor *c);

/* ---- the build's data --------------------------------------------------- */

/* The collections templates can open. The variables each row binds
 * (products -> product, variants -> variant + product, ...) are listed
 * again in template.c's collection_vars, which checks templates when they
 * load, before any data exists: keep the two in step. */
enum coll {
    COLL_PRODUCTS, COLL_CATEGORIES, COLL_ORDERS, COLL_CUSTOMERS,
    COLL_VARIANTS, COLL_EVENTS, COLL_PAGES
};

struct feed_cursor {
    enum coll kind;
    char name[16];          /* the collection, for resuming a split feed */
    int done;               /* ran out of rows */
    struct cursor main, c1, c2, c3, c4;
    /* products and variants with include_ratings: (product_id, average,
     * count) of visible reviews, in product order */
    struct cursor ratings;
    int started;
    /* variants: the product being walked and the next of its variants;
     * events: the events of the order being walked */
    struct pf_obj *product;
    const struct pf_value *vars;
    size_t vi;
    /* events: the product info of the order lines, in line order (on a
     * connection of its own, see rows_events.c), whether it has started
     * and is on a row; location names looked up per order */
    sqlite3_stmt *product_info, *location_name;
    int info_started, info_row;
    /* A window's cursor keeps the key of the last main row it read,
     * written or left out: the next page starts after it. */
    int track_key;
    struct pf_buf key;
};

struct feed_data {
    const struct pf_config *cfg;
    const struct pf_feed_cfg *fc;
    const struct pf_sync_settings *ss;
    struct store *store;
    struct pf_arena garena;     /* globals: live for the whole build */
    struct pf_arena row;        /* one row: reset before each */
    struct pf_obj *globals;
    struct tpl_data tpl;
    int64_t order_cutoff;       /* orders created before this are left out */
    int shop_decimals;          /* of the shop's currency */
    char **custom_names;        /* sanitized custom_attributes */
    /* Attribute names that are lists in every product of the build (see
     * rows_products.c); found when a products cursor first opens. */
    struct pf_strlist list_attrs;
    int list_attrs_known;
    struct rules *rules;        /* the feed's include/exclude/set */
    /* Rows left out because every variant sells at 0 (with
     * include_free_products = no), for the left-out counts. */
    int64_t free_left;
    /* Splitting into parts: a part ends at a row boundary once its output
     * passed limit bytes; the cursors stay open for the next part. */
    struct pf_out *part_out;
    uint64_t part_limit;
    int64_t part_rows;
    int part_full;
    struct feed_cursor *kept[8];
    int nkept;
    /* The zone is held by whoever started the build's threads (see
     * feed_int.h), not by this build. */
    int tz_held;
    /* A build of many feeds (feed_int.h): the shared scan the first
     * collection opened in the family of share comes from, this feed's
     * seat in it, and the cursor standing for it while open. */
    struct feed_share *share;
    int share_seat;
    int share_used;
    struct feed_cursor *share_cur;
    /* A window (feed_window.c) opening its collection: how its child
     * cursors seek (enum rows_seek; ROWS_MERGE for a build), and which
     * rows its main cursor reads: after win_after (NULL: from the
     * first), changed at or after win_since (INT64_MIN: any). Every
     * other collection a template opens reads as in a build. */
    int win_main;           /* set while the window opens its cursor */
    int child_seek;
    const char *win_after;
    int64_t win_since;
    /* Store rows read by this build's own cursors, by enum coll
     * (variants count under products), for `build -v`. */
    int64_t rows_read[COLL_PAGES + 1];
};

/* ---- row values ----------------------------------------------------------
 * All in d->row. */

/* A link from the source, made absolute against the shop's URL; null for
 * none. */
struct pf_value rows_url(struct feed_data *d, const char *u);
/* Column i as a string; null when NULL or "". */
struct pf_value rows_text(struct feed_data *d, struct cursor *c, int i);
/* The properties of the row's customer or order (store.h,
 * store_set_properties) as one JSON object column of a SELECT on TABLE,
 * and that column as an object value (null when there are none). */
#define ROWS_PROPERTIES_SQL(ENTITY, TABLE) \
    "(SELECT json_group_object(name, json(value)) FROM properties p " \
    "WHERE p.entity = '" ENTITY "' AND p.entity_id = " TABLE ".id)"
struct pf_value rows_properties(struct feed_data *d, struct cursor *c,
                                int i);
/* A stored time, or null when there is none or it is outside the range
 * timeutil handles. */
struct pf_value rows_time(struct cursor *c, int i);
void rows_set(struct feed_data *d, struct pf_obj *o, const char *name,
              struct pf_value v);
/* Minor-unit digits of a currency; the shop's without a table lookup. */
int rows_decimals(const struct feed_data *d, const char *code);

/* A list of values grown while scanning; copied into the arena at the
 * end. */
struct vlist {
    struct pf_value *items;
    size_t n, cap;
};

void vl_add(struct vlist *l, struct pf_value v);
int vl_has_str(const struct vlist *l, const char *s);
/* Nulls in a parallel list become "", unless the list has no value at
 * all, in which case it is emptied (and so omitted). */
void vl_fill_gaps(struct vlist *l);
/* The list as a value in d->row; l is emptied (its array kept). */
struct pf_value vl_value(struct feed_data *d, struct vlist *l);

/* ---- the collections -----------------------------------------------------
 * Each _open prepares fc's statements for its collection; each builder
 * reads the row fc->main is on (and the child rows that belong to it),
 * returns 1 with *out set when the row goes into the feed, 0 when the
 * settings leave it out, -1 on a store error. */

int rows_products_open(struct feed_data *d, struct feed_cursor *fc,
                       struct pf_err *err);
int rows_product(struct feed_data *d, struct feed_cursor *fc,
                 struct pf_obj **out, struct pf_err *err);

int rows_categories_open(struct feed_data *d, struct feed_cursor *fc,
                         struct pf_err *err);
int rows_category(struct feed_data *d, struct feed_cursor *fc,
                  struct pf_obj **out, struct pf_err *err);

int rows_orders_open(struct feed_data *d, struct feed_cursor *fc,
                     struct pf_err *err);
/* As rows_orders_open, reading the lines with lines_sql: the columns of
 * rows_orders.c's sql_lines, in its order, and for the events collection
 * two more, the line's position and rowid (its key in
 * rows_event_line_product). */
#define ROWS_LINE_KEY_COL 10
int rows_orders_open_lines(struct feed_data *d, struct feed_cursor *fc,
                           const char *lines_sql, struct pf_err *err);
int rows_order(struct feed_data *d, struct feed_cursor *fc,
               struct pf_obj **out, struct pf_err *err);

int rows_events_open(struct feed_data *d, struct feed_cursor *fc,
                     struct pf_err *err);
/* Gives the line lo (read from l, an events cursor's lines) its
 * product's product_url, product_image and product_categories (names
 * joined by char(31)) when the product exists. Lines must be visited in
 * l's order. */
int rows_event_line_product(struct feed_data *d, struct feed_cursor *fc,
                            struct cursor *l, struct pf_obj *lo,
                            struct pf_err *err);
/* One row per event ({event}); 0 at the end. */
int rows_next_event(struct feed_data *d, struct feed_cursor *fc,
                    const struct pf_obj **row, struct pf_err *err);

int rows_customers_open(struct feed_data *d, struct feed_cursor *fc,
                        struct pf_err *err);
int rows_customer(struct feed_data *d, struct feed_cursor *fc,
                  struct pf_obj **out);

/* With include_pages = no the collection has no rows. */
int rows_pages_open(struct feed_data *d, struct feed_cursor *fc,
                    struct pf_err *err);
int rows_page(struct feed_data *d, struct feed_cursor *fc,
              struct pf_obj **out);

/* Ratings for the products cursor: rows_ratings_open() opens
 * fc->ratings when include_ratings is on (else leaves it closed), and
 * rows_rating_set() gives product o (id pid) its rating and
 * rating_count from it. Products must be visited in id order. */
int rows_ratings_open(struct feed_data *d, struct feed_cursor *fc,
                      struct pf_err *err);
int rows_rating_set(struct feed_data *d, struct feed_cursor *fc,
                    const char *pid, struct pf_obj *o, struct pf_err *err);

#endif
