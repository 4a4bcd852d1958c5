/* rows_orders.c - order rows with their lines. See rows.h. */
#include "rows.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

static const char sql_orders[] =
    "SELECT id, number, status, location_id, customer_id, email, currency, "
    "created_at, completed_at, total, discount_total, discount_codes, "
    "shipped, shipped_at, refund_of, "
    ROWS_PROPERTIES_SQL("order", "orders") " FROM";
/* No join on orders: the merge skips the lines of orders left out. */
static const struct rows_sql sql_lines = ROWS_SQL(
    "SELECT order_id, id, product_id, variant_id, name, sku, quantity, "
    "unit_price, discount, is_return FROM order_lines", "order_id",
    " ORDER BY order_id, position");

/* The orders since the lookback's cutoff. */
static int
orders_main(struct feed_data *d, struct feed_cursor *fc, struct pf_err *err)
{
    if (rows_main_open(d, &fc->main, sql_orders, "orders",
                       "created_at >= ?1", "orders", err) != 0)
        return -1;
    sqlite3_bind_int64(fc->main.st, 1, d->order_cutoff);
    return 0;
}

int
rows_orders_open_lines(struct feed_data *d, struct feed_cursor *fc,
                       const char *lines_sql, struct pf_err *err)
{
    if (orders_main(d, fc, err) != 0 ||
        cur_open(d->store, &fc->c1, lines_sql, "order lines", err) != 0)
        return -1;
    return 0;
}

int
rows_orders_open(struct feed_data *d, struct feed_cursor *fc,
                 struct pf_err *err)
{
    if (orders_main(d, fc, err) != 0 ||
        rows_child_open(d, &fc->c1, &sql_lines, "order lines", err) != 0)
        return -1;
    return 0;
}

/* The line the cursor l is on, with amounts in the order's currency. */
static struct pf_obj *
order_line(struct feed_data *d, struct cursor *l, int dec, const char *cur)
{
    struct pf_obj *lo = pf_obj_new(&d->row);
    int64_t qty = sqlite3_column_int64(l->st, 6);
    int64_t unit = sqlite3_column_int64(l->st, 7);
    int64_t disc = sqlite3_column_int64(l->st, 8);

    rows_set(d, lo, "id", rows_text(d, l, 1));
    rows_set(d, lo, "product_id", rows_text(d, l, 2));
    rows_set(d, lo, "variant_id", rows_text(d, l, 3));
    rows_set(d, lo, "name", rows_text(d, l, 4));
    rows_set(d, lo, "sku", rows_text(d, l, 5));
    rows_set(d, lo, "quantity", pf_v_int(qty));
    rows_set(d, lo, "unit_price", pf_v_money(unit, dec, cur));
    rows_set(d, lo, "discount", pf_v_money(disc, dec, cur));
    /* What one unit cost after the line discount. */
    rows_set(d, lo, "price",
             pf_v_money(qty != 0 ? (unit * qty - disc) / qty : unit,
                        dec, cur));
    rows_set(d, lo, "total", pf_v_money(unit * qty - disc, dec, cur));
    rows_set(d, lo, "is_return",
             pf_v_bool(sqlite3_column_int(l->st, 9) || qty < 0));
    return lo;
}

/* Every line of the order (lines), and the purchases of products among
 * them (items, item_count): returns are not purchases, and a line that
 * is no product (a free-text or miscellaneous line, no product_id) has
 * nothing a recommender or a product feed could use. Such lines stay in
 * lines, and so in events and totals. */
static int
order_lines(struct feed_data *d, struct feed_cursor *fc, struct pf_obj *o,
            int dec, const char *cur, struct pf_err *err)
{
    struct cursor *l = &fc->c1;
    const char *oid = cur_col(&fc->main, 0);
    struct vlist lines = {0}, items = {0};
    int64_t nitems = 0;
    int m;

    for (m = cur_seek(l, 0, oid, err); m == 1;
         m = cur_next(l, 0, oid, err)) {
        struct pf_obj *lo = order_line(d, l, dec, cur);
        int64_t qty = pf_obj_get(lo, "quantity")->u.i;

        if (fc->kind == COLL_EVENTS &&
            rows_event_line_product(d, fc, l, lo, err) != 0) {
            m = -1;
            break;
        }
        vl_add(&lines, pf_v_obj(lo));
        if (!pf_obj_get(lo, "is_return")->u.i && qty > 0 &&
            !pf_value_is_empty(pf_obj_get(lo, "product_id"))) {
            vl_add(&items, pf_v_obj(lo));
            nitems += qty;
        }
    }
    if (m == 0) {
        rows_set(d, o, "lines", vl_value(d, &lines));
        rows_set(d, o, "items", vl_value(d, &items));
        rows_set(d, o, "item_count", pf_v_int(nitems));
    }
    free(lines.items);
    free(items.items);
    return m < 0 ? -1 : 0;
}

/* The order's discount codes, stored as a JSON list of strings. */
static struct pf_value
discount_codes(struct feed_data *d, struct cursor *c, int i)
{
    struct vlist codes = {0};
    struct pf_value v;
    cJSON *jc = NULL, *e;

    if (sqlite3_column_text(c->st, i) != NULL)
        jc = cJSON_Parse(cur_col(c, i));
    cJSON_ArrayForEach(e, jc) {
        if (cJSON_IsString(e))
            vl_add(&codes, pf_v_str(&d->row, e->valuestring));
    }
    v = vl_value(d, &codes);
    cJSON_Delete(jc);
    free(codes.items);
    return v;
}

int
rows_order(struct feed_data *d, struct feed_cursor *fc, struct pf_obj **out,
           struct pf_err *err)
{
    const struct pf_sync_settings *ss = d->ss;
    struct cursor *c = &fc->main;
    const char *cur = cur_col(c, 6);
    int dec = rows_decimals(d, cur);
    struct pf_obj *o;

    if (ss->accepted_order_statuses.n > 0 &&
        !pf_strlist_has(&ss->accepted_order_statuses, cur_col(c, 2)))
        return 0;
    o = pf_obj_new(&d->row);
    rows_set(d, o, "properties", rows_properties(d, c, 15));
    rows_set(d, o, "id", rows_text(d, c, 0));
    rows_set(d, o, "number", rows_text(d, c, 1));
    rows_set(d, o, "status", rows_text(d, c, 2));
    rows_set(d, o, "location_id", rows_text(d, c, 3));
    rows_set(d, o, "customer_id", rows_text(d, c, 4));
    if (ss->collect_emails)
        rows_set(d, o, "email", rows_text(d, c, 5));
    rows_set(d, o, "currency", rows_text(d, c, 6));
    rows_set(d, o, "time", rows_time(c, 7));
    rows_set(d, o, "created_at", rows_time(c, 7));
    rows_set(d, o, "completed_at", rows_time(c, 8));
    rows_set(d, o, "total",
             pf_v_money(sqlite3_column_int64(c->st, 9), dec, cur));
    rows_set(d, o, "discount_total",
             pf_v_money(sqlite3_column_int64(c->st, 10), dec, cur));
    rows_set(d, o, "discount_codes", discount_codes(d, c, 11));
    rows_set(d, o, "shipped", pf_v_bool(sqlite3_column_int(c->st, 12)));
    rows_set(d, o, "shipped_at", rows_time(c, 13));
    rows_set(d, o, "refund_of", rows_text(d, c, 14));
    if (order_lines(d, fc, o, dec, cur, err) != 0)
        return -1;
    *out = o;
    return 1;
}
