/* rows_events.c - Klaviyo-style order events, as Klaviyo's Lightspeed
 * integration names them, built from order rows. Each has an id that is
 * the same on every run, so a consumer can deduplicate. See rows.h. */
#include "rows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

/* The order lines, as rows_orders.c's sql_lines has them, plus each
 * line's position and rowid: the key the product info below is merged on
 * (the index on (order_id, position) gives ties in rowid order). */
static const char sql_event_lines[] =
    "SELECT order_id, id, product_id, variant_id, name, sku, quantity, "
    "unit_price, discount, is_return, position, rowid FROM order_lines "
    "ORDER BY order_id, position, rowid";
/* The product URL, first image and category names of every line with
 * a product id (NULLs when the product is gone), in the same order.
 * Looking a product up per line, in order order, jumps to a random
 * product each time: past the page cache's size every line costs
 * several page reads. So the lines' keys are first sorted by product,
 * which walks products, images and categories in key order, each page
 * read once; then sorted back into order order. The first sort is the
 * window's: a subquery with ORDER BY would be flattened away, and one
 * with a LIMIT sorts by inserting into a B-tree (random writes); a
 * window function is computed over rows from SQLite's sorter, and the
 * LEFT JOIN keeps the subquery the outer loop, so products are looked
 * up in id order (only the speed depends on that: the final ORDER BY
 * decides the order). Both are external sorts (see info_open): memory
 * stays bounded whatever the number of lines. Only keys and what the
 * events use go through them, not whole lines. */
static const char sql_line_products[] =
    "SELECT order_id, position, r, url, image, cats FROM ("
    "SELECT l.order_id, l.position, l.r, p.url AS url, (SELECT url "
    "FROM images WHERE product_id = p.id ORDER BY position LIMIT 1) "
    "AS image, (SELECT group_concat(name, char(31)) FROM (SELECT c.name "
    "FROM product_categories pc JOIN categories c "
    "ON c.id = pc.category_id WHERE pc.product_id = p.id "
    "AND (c.shown = 1 OR ?1) ORDER BY pc.position)) AS cats "
    "FROM (SELECT rowid AS r, order_id, position, product_id, "
    "row_number() OVER (ORDER BY product_id) FROM order_lines "
    "WHERE product_id <> '') l "
    "LEFT JOIN products p ON p.id = l.product_id) "
    "ORDER BY order_id, position, r";
static const char sql_location_name[] =
    "SELECT name FROM locations WHERE id = ?1";

/* SQLite's sorter holds every row in memory while its connection keeps
 * temporary data in memory (vdbesort.c: no spilling when temp_store is
 * MEMORY), as the store's connection does (store.c), so the two sorts
 * of sql_line_products would hold all order lines at once. Changing the
 * store connection's temp_store would drop its temporary tables (a
 * sync's or a push's), so the statement runs on a connection of its own
 * with temp_store = FILE, where the sorter writes sorted runs to
 * temporary files once it holds its budget. The connection's main
 * database is an empty temporary one, the store attached to it, so that
 * its page size sets the sorter's: a sorter reads and writes its files
 * in blocks of that size (16 KiB: 4 times fewer system calls than the
 * store's 4 KiB), and holds at least 250 of them per sorted run (4 MB;
 * 64 KiB pages would make it 16 MB per sort). Both caches are 4 MB:
 * the store is read in key order, each page about once, and two sorts
 * plus the build's own connection run at once, so the events build
 * stays within the memory of the other builds. The connection is
 * closed at once: SQLite frees it with its last statement, which feed.c
 * finalizes with the cursor. A store without a file (in memory) keeps
 * its own connection, and its sorts in memory. */
static int
info_open(struct feed_data *d, struct feed_cursor *fc, struct pf_err *err)
{
    sqlite3 *main_db = store_db(d->store), *db = NULL;
    const char *path = sqlite3_db_filename(main_db, "main");
    char *sql = NULL;
    int rc;

    if (path == NULL || path[0] == '\0')
        return rows_stmt_open(d->store, &fc->product_info,
                              sql_line_products, "order lines' products",
                              err);
    sql = sqlite3_mprintf("PRAGMA page_size = 16384;"
                          "PRAGMA temp_store = FILE;"
                          "PRAGMA cache_size = -4000;"
                          "ATTACH %Q AS store;"
                          "PRAGMA store.cache_size = -4000;"
                          "PRAGMA query_only = 1", path);
    rc = sql != NULL ? sqlite3_open_v2("", &db, SQLITE_OPEN_READWRITE |
                                       SQLITE_OPEN_NOMUTEX, NULL)
                     : SQLITE_NOMEM;
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, 10000);
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, sql_line_products, -1,
                                &fc->product_info, NULL);
    if (rc != SQLITE_OK)
        pf_errf(err, "store %s: preparing to read order lines' products: "
                "%s", path, db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_free(sql);
    sqlite3_close_v2(db);
    return rc == SQLITE_OK ? 0 : -1;
}

/* Steps the product info cursor (fc->product_info); fc->info_row says
 * whether it is on a row. l is the line being given its product: an
 * error names it and its order, as what was being read (the first step
 * sorts, reading every line's product). store_step notes a damaged
 * file; the message is the statement's own error, its connection not
 * being the store's. */
static int
info_step(struct feed_data *d, struct feed_cursor *fc, struct cursor *l,
          struct pf_err *err)
{
    sqlite3_stmt *st = fc->product_info;
    int rc = store_step(d->store, st, err, "reading order lines' products");

    fc->info_started = 1;
    fc->info_row = rc == 1;
    if (rc >= 0)
        return 0;
    pf_errf(err, "store %s: reading product '%s' (URL, image, categories) "
            "for order '%s': %s",
            sqlite3_db_filename(store_db(d->store), "main"), cur_col(l, 2),
            cur_col(l, 0), sqlite3_errstr(sqlite3_reset(st)));
    return -1;
}

int
rows_events_open(struct feed_data *d, struct feed_cursor *fc,
                 struct pf_err *err)
{
    if (rows_orders_open_lines(d, fc, sql_event_lines, err) != 0 ||
        info_open(d, fc, err) != 0 ||
        rows_stmt_open(d->store, &fc->location_name, sql_location_name,
                       "locations", err) != 0)
        return -1;
    sqlite3_bind_int(fc->product_info, 1, d->ss->include_hidden_categories);
    return 0;
}

/* The info cursor's line key against the line l is on: (order_id,
 * position, rowid), compared as both SELECTs order them (the store binds
 * ids as text and positions as integers). */
static int
line_key_cmp(sqlite3_stmt *info, struct cursor *l)
{
    const char *id = (const char *)sqlite3_column_text(info, 0);
    int c = strcmp(id ? id : "", cur_col(l, 0));
    int64_t a, b;

    if (c != 0)
        return c;
    a = sqlite3_column_int64(info, 1);
    b = sqlite3_column_int64(l->st, ROWS_LINE_KEY_COL);
    if (a != b)
        return a < b ? -1 : 1;
    a = sqlite3_column_int64(info, 2);
    b = sqlite3_column_int64(l->st, ROWS_LINE_KEY_COL + 1);
    return a < b ? -1 : a > b;
}

int
rows_event_line_product(struct feed_data *d, struct feed_cursor *fc,
                        struct cursor *l, struct pf_obj *lo,
                        struct pf_err *err)
{
    struct cursor info = {d->store, fc->product_info, "", 1, ROWS_MERGE,
                          NULL};
    int c = 1;

    if (!fc->info_started && info_step(d, fc, l, err) != 0)
        return -1;
    while (fc->info_row &&
           (c = line_key_cmp(fc->product_info, l)) < 0)
        if (info_step(d, fc, l, err) != 0)
            return -1;
    if (!fc->info_row || c != 0)
        return 0;
    rows_set(d, lo, "product_url", rows_text(d, &info, 3));
    rows_set(d, lo, "product_image", rows_text(d, &info, 4));
    rows_set(d, lo, "product_categories", rows_text(d, &info, 5));
    return 0;
}

/* The events of one order being built, and what they share. */
struct event_ctx {
    struct feed_data *d;
    struct feed_cursor *fc;
    const struct pf_obj *order;
    const char *oid;
    int64_t when;               /* INT64_MIN: the order has no usable time */
    struct pf_value domain;     /* of the email, lower case, or null */
    struct pf_value store;      /* the location's name, or null */
    int discounted;             /* the order or a line has a discount */
    struct vlist events;        /* in the order they are emitted */
    struct vlist ordered;       /* Ordered Product, after Placed Order */
    /* purchases: category names, item names, Items, units */
    struct vlist cats, names, items;
    int64_t count;
    /* returns: category names, item names, units */
    struct vlist rcats, rnames;
    int64_t rcount;
};

static void
event_ctx_free(struct event_ctx *e)
{
    free(e->events.items);
    free(e->ordered.items);
    free(e->cats.items);
    free(e->names.items);
    free(e->items.items);
    free(e->rcats.items);
    free(e->rnames.items);
}

/* A field of a row; null when it has none. */
static const struct pf_value *
field(const struct pf_obj *o, const char *name)
{
    static const struct pf_value null_value = {PF_NULL, {.i = 0}};
    const struct pf_value *v = pf_obj_get(o, name);

    return v != NULL ? v : &null_value;
}

static const char *
obj_str(const struct pf_obj *o, const char *name)
{
    const struct pf_value *v = pf_obj_get(o, name);

    return v != NULL && v->type == PF_STR ? v->u.str.s : "";
}

static void
vl_add_unique(struct feed_data *d, struct vlist *l, const char *s)
{
    if (s[0] != '\0' && !vl_has_str(l, s))
        vl_add(l, pf_v_str(&d->row, s));
}

/* Sets a property of an event, or of an item in one, unless it is absent
 * (null or ""): properties are written as whole objects, and Klaviyo
 * would store a null (an email domain of an order without an email, a
 * URL of a product that is gone) as a value. Lists stay, even empty, so
 * each property keeps one type. */
static void
prop(struct feed_data *d, struct pf_obj *o, const char *name,
     struct pf_value v)
{
    if (v.type == PF_NULL || (v.type == PF_STR && v.u.str.len == 0))
        return;
    rows_set(d, o, name, v);
}

/* Product URL, first image and category names of a line's product, as
 * rows_event_line_product() gave them to it. The product may be gone
 * (order history outlives the catalog): then they are empty. */
static void
line_product(struct event_ctx *e, const struct pf_obj *ln,
             struct pf_value *url, struct pf_value *image,
             struct vlist *cats)
{
    struct feed_data *d = e->d;
    const char *c = obj_str(ln, "product_categories");

    *url = rows_url(d, obj_str(ln, "product_url"));
    *image = rows_url(d, obj_str(ln, "product_image"));
    while (*c != '\0') {
        size_t n = strcspn(c, "\x1f");
        char *name = pf_arena_strndup(&d->row, c, n);

        vl_add_unique(d, cats, name);
        c += n;
        if (*c == '\x1f')
            c++;
    }
}

/* The name of the location (store) an order was placed in, or null. */
static int
location_name(struct event_ctx *e, const char *location_id,
              struct pf_value *name, struct pf_err *err)
{
    sqlite3_stmt *st = e->fc->location_name;
    int rc;

    *name = pf_v_null();
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, location_id, -1, SQLITE_STATIC);
    rc = store_step(e->d->store, st, err, "reading location '%s' for "
                    "order '%s'", location_id, obj_str(e->order, "id"));
    if (rc == 1)
        *name = pf_v_str(&e->d->row,
                         (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    return rc < 0 ? -1 : 0;
}

static struct pf_obj *
new_event(struct event_ctx *e, struct vlist *into, const char *name,
          const char *key, const char *key_id, int64_t when,
          struct pf_value value)
{
    struct feed_data *d = e->d;
    struct pf_obj *ev = pf_obj_new(&d->row);
    const char *email = obj_str(e->order, "email");
    char local[40];

    rows_set(d, ev, "id", pf_v_str(&d->row, key));
    rows_set(d, ev, "name", pf_v_str(&d->row, name));
    /* No identifier is an absent one, never "": a template can tell an
     * event it cannot send. */
    prop(d, ev, "email", pf_v_str(&d->row, email));
    rows_set(d, ev, "anonymous", pf_v_bool(email[0] == '\0'));
    prop(d, ev, "customer_id",
         pf_v_str(&d->row, obj_str(e->order, "customer_id")));
    rows_set(d, ev, "order_id", pf_v_str(&d->row, key_id));
    /* when is INT64_MIN for an order without a usable time. */
    if (pf_time_in_range(when))
        rows_set(d, ev, "time", pf_v_time(when));
    if (pf_time_iso_local(when, d->cfg->timezone, local) == 0)
        rows_set(d, ev, "time_local", pf_v_str(&d->row, local));
    rows_set(d, ev, "value", value);
    /* ISO 4217, as Klaviyo's value_currency. */
    prop(d, ev, "value_currency", *field(e->order, "currency"));
    vl_add(into, pf_v_obj(ev));
    return ev;
}

static char *
event_key(struct feed_data *d, const char *kind, const char *id)
{
    size_t nk = strlen(kind), ni = strlen(id);
    char *k = pf_arena_alloc(&d->row, nk + ni + 2);

    memcpy(k, kind, nk);
    k[nk] = ':';
    memcpy(k + nk + 1, id, ni + 1);
    return k;
}

/* What every event of the order carries: its time, email domain, store
 * and whether it was discounted. */
static int
order_facts(struct event_ctx *e, struct pf_err *err)
{
    struct feed_data *d = e->d;
    const struct pf_obj *o = e->order;
    const char *at = strchr(obj_str(o, "email"), '@');
    const struct pf_value *created = field(o, "created_at");
    const struct pf_value *disc = field(o, "discount_total");

    e->oid = obj_str(o, "id");
    e->when = created->type == PF_TIME ? created->u.i : INT64_MIN;
    e->discounted = disc->type == PF_MONEY && disc->u.money.minor != 0;
    e->domain = pf_v_null();
    if (at != NULL) {
        char *dom = pf_arena_strdup(&d->row, at + 1);
        char *c;

        for (c = dom; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
        e->domain = pf_v_str(&d->row, dom);
    }
    return location_name(e, obj_str(o, "location_id"), &e->store, err);
}

/* A returned line counts towards the Refunded Order. */
static void
return_line(struct event_ctx *e, const struct pf_obj *ln,
            const struct vlist *lcats)
{
    int64_t q = field(ln, "quantity")->u.i;
    size_t k;

    for (k = 0; k < lcats->n; k++)
        vl_add_unique(e->d, &e->rcats, lcats->items[k].u.str.s);
    if (obj_str(ln, "name")[0] != '\0')
        vl_add(&e->rnames, pf_v_str(&e->d->row, obj_str(ln, "name")));
    e->rcount += q < 0 ? -q : q;
}

/* A purchased line: an entry of Placed Order's Items and an Ordered
 * Product event of its own. */
static void
purchase_line(struct event_ctx *e, const struct pf_obj *ln,
              struct pf_value url, struct pf_value image,
              struct vlist *lcats)
{
    struct feed_data *d = e->d;
    struct pf_obj *item = pf_obj_new(&d->row), *ev = pf_obj_new(&d->row);
    struct pf_value lc;
    size_t k;

    for (k = 0; k < lcats->n; k++)
        vl_add_unique(d, &e->cats, lcats->items[k].u.str.s);
    if (obj_str(ln, "name")[0] != '\0')
        vl_add(&e->names, pf_v_str(&d->row, obj_str(ln, "name")));
    e->count += field(ln, "quantity")->u.i;
    lc = vl_value(d, lcats);
    prop(d, item, "ProductID", *field(ln, "product_id"));
    prop(d, item, "SKU", *field(ln, "sku"));
    prop(d, item, "ProductName", *field(ln, "name"));
    prop(d, item, "Quantity", *field(ln, "quantity"));
    prop(d, item, "ItemPrice", *field(ln, "price"));
    prop(d, item, "RowTotal", *field(ln, "total"));
    prop(d, item, "ProductURL", url);
    prop(d, item, "ImageURL", image);
    prop(d, item, "Categories", lc);
    vl_add(&e->items, pf_v_obj(item));
    if (lc.u.list.n > 0)
        prop(d, ev, "Category", lc.u.list.items[0]);
    prop(d, ev, "Categories", lc);
    prop(d, ev, "EmailDomain", e->domain);
    prop(d, ev, "Name", *field(ln, "name"));
    prop(d, ev, "ProductID", *field(ln, "product_id"));
    prop(d, ev, "SKU", *field(ln, "sku"));
    prop(d, ev, "Quantity", *field(ln, "quantity"));
    prop(d, ev, "ProductURL", url);
    prop(d, ev, "ImageURL", image);
    prop(d, ev, "OrderId", pf_v_str(&d->row, e->oid));
    prop(d, ev, "Store", e->store);
    rows_set(d, new_event(e, &e->ordered, "Ordered Product",
                          event_key(d, "ordered-product",
                                    obj_str(ln, "id")),
                          e->oid, e->when, *field(ln, "total")),
             "properties", pf_v_obj(ev));
}

static void
event_line(struct event_ctx *e, const struct pf_obj *ln)
{
    const struct pf_value *q = field(ln, "quantity");
    const struct pf_value *ld = field(ln, "discount");
    struct vlist lcats = {0};
    struct pf_value url, image;

    line_product(e, ln, &url, &image, &lcats);
    if (ld->type == PF_MONEY && ld->u.money.minor != 0)
        e->discounted = 1;
    if (field(ln, "is_return")->u.i || q->u.i <= 0)
        return_line(e, ln, &lcats);
    else
        purchase_line(e, ln, url, image, &lcats);
    free(lcats.items);
}

/* Shipped Order, once the order is shipped, for a known customer. */
static void
shipped_order(struct event_ctx *e, const struct pf_obj *placed)
{
    struct feed_data *d = e->d;
    const struct pf_obj *o = e->order;
    const struct pf_value *at = field(o, "shipped_at");
    struct pf_obj *sp;

    if (pf_value_is_empty(field(o, "customer_id")) ||
        !field(o, "shipped")->u.i)
        return;
    sp = pf_obj_new(&d->row);
    prop(d, sp, "OrderId", pf_v_str(&d->row, e->oid));
    prop(d, sp, "ItemNames", *field(placed, "ItemNames"));
    prop(d, sp, "Collections", *field(placed, "Categories"));
    prop(d, sp, "DiscountCodes", *field(o, "discount_codes"));
    prop(d, sp, "TotalDiscounts", *field(o, "discount_total"));
    prop(d, sp, "Store", e->store);
    rows_set(d, new_event(e, &e->events, "Shipped Order",
                          event_key(d, "shipped-order", e->oid), e->oid,
                          at->type == PF_TIME ? at->u.i : e->when,
                          *field(o, "total")),
             "properties", pf_v_obj(sp));
}

/* What the source reported about the order beyond the columns (store.h,
 * store_set_properties: Dutchie's IsMedical), after the fixed ones. */
static void
source_props(struct feed_data *d, struct pf_obj *p, const struct pf_obj *o)
{
    const struct pf_value *v = pf_obj_get(o, "properties");

    for (size_t i = 0; v != NULL && v->type == PF_OBJ &&
         i < v->u.obj->n; i++)
        if (pf_obj_get(p, v->u.obj->fields[i].name) == NULL)
            prop(d, p, v->u.obj->fields[i].name, v->u.obj->fields[i].v);
}

/* Placed Order, then its Ordered Product events, then Shipped Order. */
static void
placed_order(struct event_ctx *e)
{
    struct feed_data *d = e->d;
    const struct pf_obj *o = e->order;
    struct pf_obj *p = pf_obj_new(&d->row);
    size_t i;

    prop(d, p, "OrderId", pf_v_str(&d->row, e->oid));
    prop(d, p, "OrderNumber", *field(o, "number"));
    prop(d, p, "Categories", vl_value(d, &e->cats));
    prop(d, p, "DiscountCodes", *field(o, "discount_codes"));
    prop(d, p, "EmailDomain", e->domain);
    prop(d, p, "IsDiscounted", pf_v_bool(e->discounted));
    prop(d, p, "ItemNames", vl_value(d, &e->names));
    prop(d, p, "ItemCount", pf_v_int(e->count));
    prop(d, p, "Store", e->store);
    prop(d, p, "ShopID", *field(o, "location_id"));
    prop(d, p, "TotalDiscounts", *field(o, "discount_total"));
    prop(d, p, "Items", vl_value(d, &e->items));
    source_props(d, p, o);
    rows_set(d, new_event(e, &e->events, "Placed Order",
                          event_key(d, "placed-order", e->oid), e->oid,
                          e->when, *field(o, "total")),
             "properties", pf_v_obj(p));
    for (i = 0; i < e->ordered.n; i++)
        vl_add(&e->events, e->ordered.items[i]);
    shipped_order(e, p);
}

/* Refunded Order for a refund (an order with refund_of) or returned
 * lines; its value is the refunded amount, as a positive value. */
static void
refunded_order(struct event_ctx *e)
{
    struct feed_data *d = e->d;
    const struct pf_obj *o = e->order;
    const char *refund_of = obj_str(o, "refund_of");
    const char *of = refund_of[0] ? refund_of : e->oid;
    struct pf_obj *rp = pf_obj_new(&d->row);
    struct pf_value amount = *field(o, "total");

    if (amount.type == PF_MONEY && amount.u.money.minor < 0)
        amount.u.money.minor = -amount.u.money.minor;
    prop(d, rp, "OrderId", pf_v_str(&d->row, of));
    prop(d, rp, "RefundId", pf_v_str(&d->row, e->oid));
    prop(d, rp, "Categories", vl_value(d, &e->rcats));
    prop(d, rp, "DiscountCodes", *field(o, "discount_codes"));
    prop(d, rp, "EmailDomain", e->domain);
    prop(d, rp, "IsDiscounted", pf_v_bool(e->discounted));
    prop(d, rp, "ItemNames", vl_value(d, &e->rnames));
    prop(d, rp, "ItemCount", pf_v_int(e->rcount));
    prop(d, rp, "TotalDiscounts", *field(o, "discount_total"));
    prop(d, rp, "Store", e->store);
    source_props(d, rp, o);
    rows_set(d, new_event(e, &e->events, "Refunded Order",
                          event_key(d, "refunded-order", e->oid), of,
                          e->when, amount),
             "properties", pf_v_obj(rp));
}

/* The events of one order: Placed Order and one Ordered Product per
 * purchased line; Refunded Order for a refund; Shipped Order once
 * shipped, for a known customer. */
static int
order_events(struct event_ctx *e, struct pf_err *err)
{
    const struct pf_value *lines = field(e->order, "lines");
    size_t i;

    if (order_facts(e, err) != 0)
        return -1;
    for (i = 0; lines->type == PF_LIST && i < lines->u.list.n; i++)
        event_line(e, lines->u.list.items[i].u.obj);
    if (e->items.n > 0)
        placed_order(e);
    if (obj_str(e->order, "refund_of")[0] != '\0' || e->rnames.n > 0)
        refunded_order(e);
    return 0;
}

/* One row per event ({event}), walking the events of each order. */
int
rows_next_event(struct feed_data *d, struct feed_cursor *fc,
                const struct pf_obj **row, struct pf_err *err)
{
    struct pf_obj *r, *o = NULL;
    int rc;

    while (fc->vars == NULL || fc->vi >= fc->vars->u.list.n) {
        struct event_ctx e;
        struct pf_value *list;

        fc->vars = NULL;
        pf_arena_reset(&d->row);
        if (cur_step(&fc->main, err) != 0)
            return -1;
        if (!fc->main.has_row)
            return 0;
        rc = rows_order(d, fc, &o, err);
        if (rc < 0)
            return -1;
        if (rc == 0)
            continue;
        memset(&e, 0, sizeof(e));
        e.d = d;
        e.fc = fc;
        e.order = o;
        rc = order_events(&e, err);
        if (rc == 0) {
            list = pf_arena_alloc(&d->row, sizeof(*list));
            *list = vl_value(d, &e.events);
        }
        event_ctx_free(&e);
        if (rc != 0)
            return -1;
        fc->vars = list;
        fc->vi = 0;
    }
    r = pf_obj_new(&d->row);
    pf_obj_set(&d->row, r, "event", fc->vars->u.list.items[fc->vi++]);
    *row = r;
    return 1;
}
