/* rows_events.c - Klaviyo-style order events, as Klaviyo's Lightspeed
 * integration names them, built from order rows. Each has an id that is
 * the same on every run, so a consumer can deduplicate. See rows.h. */
#include "rows.h"

#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

static const char sql_product_info[] =
    "SELECT p.url, (SELECT url FROM images WHERE product_id = p.id "
    "ORDER BY position LIMIT 1), (SELECT group_concat(name, char(31)) "
    "FROM (SELECT c.name FROM product_categories pc JOIN categories c "
    "ON c.id = pc.category_id WHERE pc.product_id = p.id "
    "AND (c.shown = 1 OR ?2) ORDER BY pc.position)) "
    "FROM products p WHERE p.id = ?1";
static const char sql_location_name[] =
    "SELECT name FROM locations WHERE id = ?1";

int
rows_events_open(struct feed_data *d, struct feed_cursor *fc,
                 struct pf_err *err)
{
    if (rows_orders_open(d, fc, err) != 0 ||
        rows_stmt_open(d->store, &fc->product_info, sql_product_info,
                       "products", err) != 0 ||
        rows_stmt_open(d->store, &fc->location_name, sql_location_name,
                       "locations", err) != 0)
        return -1;
    sqlite3_bind_int(fc->product_info, 2,
                     d->ss->include_hidden_categories);
    return 0;
}

struct event_ctx {
    struct feed_data *d;
    struct feed_cursor *fc;
    const struct pf_obj *order;
    struct vlist events;        /* in the order they are emitted */
    struct vlist ordered;       /* Ordered Product, after Placed Order */
};

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

/* Product URL, first image and category names of a line's product. The
 * product may be gone (order history outlives the catalog), so no row
 * leaves them empty; a store error is an error, or a damaged page would
 * quietly strip links and images from the events. */
static int
line_product(struct event_ctx *e, const char *product_id,
             struct pf_value *url, struct pf_value *image,
             struct vlist *cats, struct pf_err *err)
{
    struct feed_data *d = e->d;
    sqlite3_stmt *st = e->fc->product_info;
    int rc;

    *url = pf_v_null();
    *image = pf_v_null();
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, product_id, -1, SQLITE_STATIC);
    rc = store_step(d->store, st, err, "reading product '%s' (URL, image, "
                    "categories) for order '%s'", product_id,
                    obj_str(e->order, "id"));
    if (rc == 1) {
        const char *c = (const char *)sqlite3_column_text(st, 2);

        *url = rows_url(d, (const char *)sqlite3_column_text(st, 0));
        *image = rows_url(d, (const char *)sqlite3_column_text(st, 1));
        while (c != NULL && *c != '\0') {
            size_t n = strcspn(c, "\x1f");
            char *name = pf_arena_strndup(&d->row, c, n);

            vl_add_unique(d, cats, name);
            c += n;
            if (*c == '\x1f')
                c++;
        }
    }
    sqlite3_reset(st);
    return rc < 0 ? -1 : 0;
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
    rows_set(d, ev, "email", pf_v_str(&d->row, email));
    rows_set(d, ev, "anonymous", pf_v_bool(email[0] == '\0'));
    rows_set(d, ev, "customer_id",
        pf_v_str(&d->row, obj_str(e->order, "customer_id")));
    rows_set(d, ev, "order_id", pf_v_str(&d->row, key_id));
    /* when is INT64_MIN for an order without a usable time. */
    if (pf_time_in_range(when))
        rows_set(d, ev, "time", pf_v_time(when));
    if (pf_time_iso_local(when, d->cfg->timezone, local) == 0)
        rows_set(d, ev, "time_local", pf_v_str(&d->row, local));
    rows_set(d, ev, "value", value);
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

/* The events of one order: Placed Order and one Ordered Product per
 * purchased line; Refunded Order for a refund; Shipped Order once
 * shipped, for a known customer. */
static int
order_events(struct event_ctx *e, struct pf_err *err)
{
    struct feed_data *d = e->d;
    const struct pf_obj *o = e->order;
    const char *oid = obj_str(o, "id");
    const char *email = obj_str(o, "email");
    const char *at = strchr(email, '@');
    const struct pf_value *lines = pf_obj_get(o, "lines");
    const struct pf_value *codes = pf_obj_get(o, "discount_codes");
    const struct pf_value *total = pf_obj_get(o, "total");
    const struct pf_value *disc = pf_obj_get(o, "discount_total");
    const struct pf_value *created = pf_obj_get(o, "created_at");
    const struct pf_value *shipped_at = pf_obj_get(o, "shipped_at");
    const char *refund_of = obj_str(o, "refund_of");
    struct vlist cats = {0}, names = {0}, items = {0};
    struct vlist rcats = {0}, rnames = {0};
    struct pf_value domain = pf_v_null(), store = pf_v_null();
    int64_t count = 0, rcount = 0;
    int64_t when = created != NULL && created->type == PF_TIME
                       ? created->u.i : INT64_MIN;
    int discounted = disc != NULL && disc->u.money.minor != 0;
    int rc = -1;
    size_t i;

    if (at != NULL) {
        char *dom = pf_arena_strdup(&d->row, at + 1);
        char *c;

        for (c = dom; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
        domain = pf_v_str(&d->row, dom);
    }
    if (location_name(e, obj_str(o, "location_id"), &store, err) != 0)
        goto cleanup;

    for (i = 0; lines != NULL && i < lines->u.list.n; i++) {
        const struct pf_obj *ln = lines->u.list.items[i].u.obj;
        const struct pf_value *q = pf_obj_get(ln, "quantity");
        const struct pf_value *ret = pf_obj_get(ln, "is_return");
        const struct pf_value *ld = pf_obj_get(ln, "discount");
        struct vlist lcats = {0};
        struct pf_value url, image, lc;
        struct pf_obj *item, *ev;
        const char *name = obj_str(ln, "name");

        if (line_product(e, obj_str(ln, "product_id"), &url, &image,
                         &lcats, err) != 0) {
            free(lcats.items);
            goto cleanup;
        }
        if (ld != NULL && ld->u.money.minor != 0)
            discounted = 1;
        if ((ret != NULL && ret->u.i) || q->u.i <= 0) {
            for (size_t k = 0; k < lcats.n; k++)
                vl_add_unique(d, &rcats, lcats.items[k].u.str.s);
            vl_add(&rnames, pf_v_str(&d->row, name));
            rcount += q->u.i < 0 ? -q->u.i : q->u.i;
            free(lcats.items);
            continue;
        }
        for (size_t k = 0; k < lcats.n; k++)
            vl_add_unique(d, &cats, lcats.items[k].u.str.s);
        vl_add(&names, pf_v_str(&d->row, name));
        count += q->u.i;
        lc = vl_value(d, &lcats);
        free(lcats.items);
        item = pf_obj_new(&d->row);
        rows_set(d, item, "ProductID", *pf_obj_get(ln, "product_id"));
        rows_set(d, item, "SKU", *pf_obj_get(ln, "sku"));
        rows_set(d, item, "ProductName", *pf_obj_get(ln, "name"));
        rows_set(d, item, "Quantity", *q);
        rows_set(d, item, "ItemPrice", *pf_obj_get(ln, "price"));
        rows_set(d, item, "RowTotal", *pf_obj_get(ln, "total"));
        rows_set(d, item, "ProductURL", url);
        rows_set(d, item, "ImageURL", image);
        rows_set(d, item, "Categories", lc);
        vl_add(&items, pf_v_obj(item));
        /* One Ordered Product per purchased line. */
        ev = pf_obj_new(&d->row);
        rows_set(d, ev, "Category", lc.u.list.n ? lc.u.list.items[0]
                                                : pf_v_null());
        rows_set(d, ev, "Categories", lc);
        rows_set(d, ev, "EmailDomain", domain);
        rows_set(d, ev, "Name", *pf_obj_get(ln, "name"));
        rows_set(d, ev, "ProductID", *pf_obj_get(ln, "product_id"));
        rows_set(d, ev, "SKU", *pf_obj_get(ln, "sku"));
        rows_set(d, ev, "Quantity", *q);
        rows_set(d, ev, "ProductURL", url);
        rows_set(d, ev, "ImageURL", image);
        rows_set(d, ev, "OrderId", pf_v_str(&d->row, oid));
        rows_set(d, new_event(e, &e->ordered, "Ordered Product",
                         event_key(d, "ordered-product",
                                   obj_str(ln, "id")),
                         oid, when, *pf_obj_get(ln, "total")),
            "properties", pf_v_obj(ev));
    }

    if (items.n > 0) {
        struct pf_obj *p = pf_obj_new(&d->row);
        struct pf_obj *ev;

        rows_set(d, p, "OrderId", pf_v_str(&d->row, oid));
        rows_set(d, p, "OrderNumber", *pf_obj_get(o, "number"));
        rows_set(d, p, "Categories", vl_value(d, &cats));
        rows_set(d, p, "DiscountCodes", *codes);
        rows_set(d, p, "EmailDomain", domain);
        rows_set(d, p, "IsDiscounted", pf_v_bool(discounted));
        rows_set(d, p, "ItemNames", vl_value(d, &names));
        rows_set(d, p, "ItemCount", pf_v_int(count));
        rows_set(d, p, "Store", store);
        rows_set(d, p, "ShopID", *pf_obj_get(o, "location_id"));
        rows_set(d, p, "TotalDiscounts", *disc);
        rows_set(d, p, "Items", vl_value(d, &items));
        ev = new_event(e, &e->events, "Placed Order",
                       event_key(d, "placed-order", oid), oid, when,
                       *total);
        rows_set(d, ev, "properties", pf_v_obj(p));
        for (i = 0; i < e->ordered.n; i++)
            vl_add(&e->events, e->ordered.items[i]);
        if (pf_value_is_empty(pf_obj_get(o, "customer_id")) == 0 &&
            pf_obj_get(o, "shipped")->u.i) {
            struct pf_obj *sp = pf_obj_new(&d->row);
            int64_t t = shipped_at && shipped_at->type == PF_TIME
                            ? shipped_at->u.i : when;

            rows_set(d, sp, "OrderId", pf_v_str(&d->row, oid));
            rows_set(d, sp, "ItemNames", *pf_obj_get(p, "ItemNames"));
            rows_set(d, sp, "Collections", *pf_obj_get(p, "Categories"));
            rows_set(d, sp, "DiscountCodes", *codes);
            rows_set(d, sp, "TotalDiscounts", *disc);
            rows_set(d, new_event(e, &e->events, "Shipped Order",
                             event_key(d, "shipped-order", oid), oid, t,
                             *total),
                "properties", pf_v_obj(sp));
        }
    }
    if (refund_of[0] != '\0' || rnames.n > 0) {
        struct pf_obj *rp = pf_obj_new(&d->row);
        struct pf_value amount = *total;

        /* The refunded amount, as a positive value. */
        if (amount.type == PF_MONEY && amount.u.money.minor < 0)
            amount.u.money.minor = -amount.u.money.minor;
        rows_set(d, rp, "OrderId",
                 pf_v_str(&d->row, refund_of[0] ? refund_of : oid));
        rows_set(d, rp, "RefundId", pf_v_str(&d->row, oid));
        rows_set(d, rp, "Categories", vl_value(d, &rcats));
        rows_set(d, rp, "DiscountCodes", *codes);
        rows_set(d, rp, "EmailDomain", domain);
        rows_set(d, rp, "IsDiscounted", pf_v_bool(discounted));
        rows_set(d, rp, "ItemNames", vl_value(d, &rnames));
        rows_set(d, rp, "ItemCount", pf_v_int(rcount));
        rows_set(d, rp, "TotalDiscounts", *disc);
        rows_set(d, new_event(e, &e->events, "Refunded Order",
                         event_key(d, "refunded-order", oid),
                         refund_of[0] ? refund_of : oid, when, amount),
            "properties", pf_v_obj(rp));
    }
    rc = 0;
cleanup:
    free(cats.items);
    free(names.items);
    free(items.items);
    free(rcats.items);
    free(rnames.items);
    return rc;
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
        if (rc != 0) {
            free(e.events.items);
            free(e.ordered.items);
            return -1;
        }
        list = pf_arena_alloc(&d->row, sizeof(*list));
        *list = vl_value(d, &e.events);
        free(e.events.items);
        free(e.ordered.items);
        fc->vars = list;
        fc->vi = 0;
    }
    r = pf_obj_new(&d->row);
    pf_obj_set(&d->row, r, "event", fc->vars->u.list.items[fc->vi++]);
    *row = r;
    return 1;
}
