/* fake_shop.c - see fake_shop.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_shop.h"

#include <yajl/yajl_parse.h>

#include "jsonw.h"
#include "out.h"

/* The hostile product's texts: quotes, backslash, markup, a newline, a C0
 * control, U+FFFE, an invalid byte, CJK, an emoji, U+2028, and a CDATA
 * terminator. */
#define NASTY_NAME "Fish & <Chips> \"q\"\\ back\nline\x01 \xEF\xBF\xBE" \
                   "x\xff \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80 "    \
                   "\xE2\x80\xA8 sep"
#define NASTY_DESC "a]]>b]]>"

struct cursor {
    const char *coll;
    long i;             /* next row */
    long pi, vi;        /* variants: product and variant index */
};

static struct pf_value
S(struct pf_arena *a, const char *s)
{
    return pf_v_str(a, s);
}

static struct pf_value
strlist(struct pf_arena *a, size_t n, const char *const *s)
{
    struct pf_value l = pf_v_list(a, n);
    size_t i;

    for (i = 0; i < n; i++)
        l.u.list.items[i] = pf_v_str(a, s[i]);
    return l;
}

static struct pf_obj *
wrap(struct pf_arena *a, const char *name, struct pf_obj *o)
{
    struct pf_obj *row = pf_obj_new(a);

    pf_obj_set(a, row, name, pf_v_obj(o));
    return row;
}

static struct pf_value
variant(struct pf_arena *a, const char *id, const char *sku,
        const char *size, int stock)
{
    struct pf_obj *o = pf_obj_new(a), *opt = pf_obj_new(a);

    pf_obj_set(a, opt, "size", S(a, size));
    pf_obj_set(a, o, "id", S(a, id));
    pf_obj_set(a, o, "sku", S(a, sku));
    pf_obj_set(a, o, "size", S(a, size));
    pf_obj_set(a, o, "stock", pf_v_int(stock));
    pf_obj_set(a, o, "in_stock", pf_v_bool(stock > 0));
    pf_obj_set(a, o, "price", pf_v_money(1250, 2, "EUR"));
    pf_obj_set(a, o, "options", pf_v_obj(opt));
    return pf_v_obj(o);
}

static void
full_product(struct pf_arena *a, struct pf_obj *p)
{
    static const char *const tags[] = {"a", "b", "a"};
    static const char *const imgs[] = {"a.jpg", "b.jpg", "", "c.jpg"};
    struct pf_value vs = pf_v_list(a, 2);
    struct pf_obj *attrs = pf_obj_new(a), *opts = pf_obj_new(a);

    vs.u.list.items[0] = variant(a, "v1", "S1", "S", 3);
    vs.u.list.items[1] = variant(a, "v2", "", "M", 0);
    pf_obj_set(a, p, "name", S(a, "Chair"));
    pf_obj_set(a, p, "price", pf_v_money(1250, 2, "EUR"));
    pf_obj_set(a, p, "description",
               S(a, "<p>Nice &amp; comfy&nbsp;chair</p>"
                    "<script>x()</script>"));
    pf_obj_set(a, p, "brand", S(a, "Acme"));
    pf_obj_set(a, p, "active", pf_v_bool(1));
    pf_obj_set(a, p, "has_variants", pf_v_bool(1));
    pf_obj_set(a, p, "tags", strlist(a, 3, tags));
    pf_obj_set(a, p, "images", strlist(a, 4, imgs));
    pf_obj_set(a, p, "variants", vs);
    pf_obj_set(a, attrs, "color", S(a, "red"));
    pf_obj_set(a, attrs, "name", S(a, "Spread name"));
    pf_obj_set(a, attrs, "empty", S(a, ""));
    pf_obj_set(a, attrs, "color", S(a, "blue"));
    pf_obj_set(a, p, "attributes", pf_v_obj(attrs));
    pf_obj_set(a, opts, "color", S(a, "green"));
    pf_obj_set(a, opts, "size", S(a, "L"));
    pf_obj_set(a, p, "options", pf_v_obj(opts));
    pf_obj_set(a, p, "created", pf_v_time(1700000000));
    pf_obj_set(a, p, "empty", S(a, ""));
}

static void
empty_product(struct pf_arena *a, struct pf_obj *p)
{
    pf_obj_set(a, p, "name", S(a, "Table"));
    pf_obj_set(a, p, "price", pf_v_money(99900, 2, "EUR"));
    pf_obj_set(a, p, "description", S(a, ""));
    pf_obj_set(a, p, "brand", S(a, ""));
    pf_obj_set(a, p, "active", pf_v_bool(0));
    pf_obj_set(a, p, "tags", pf_v_list(a, 0));
    pf_obj_set(a, p, "images", pf_v_list(a, 0));
    pf_obj_set(a, p, "variants", pf_v_list(a, 0));
    pf_obj_set(a, p, "attributes", pf_v_obj(pf_obj_new(a)));
}

static void
nasty_product(struct pf_arena *a, struct pf_obj *p)
{
    pf_obj_set(a, p, "name", S(a, NASTY_NAME));
    pf_obj_set(a, p, "description", S(a, NASTY_DESC));
    pf_obj_set(a, p, "price", pf_v_money(-500, 0, "JPY"));
    pf_obj_set(a, p, "active", pf_v_bool(1));
}

static struct pf_obj *
product(struct pf_arena *a, long i)
{
    struct pf_obj *p = pf_obj_new(a);
    char id[32];

    snprintf(id, sizeof id, "p%ld", i + 1);
    pf_obj_set(a, p, "id", S(a, id));
    switch (i % 3) {
    case 0:
        full_product(a, p);
        break;
    case 1:
        empty_product(a, p);
        break;
    default:
        nasty_product(a, p);
        break;
    }
    return p;
}

static struct pf_obj *
order(struct pf_arena *a, long i)
{
    struct pf_obj *o = pf_obj_new(a);
    struct pf_value lines = pf_v_list(a, 2);
    int k;

    for (k = 0; k < 2; k++) {
        struct pf_obj *l = pf_obj_new(a);

        pf_obj_set(a, l, "product_id", S(a, k ? "p2" : "p1"));
        pf_obj_set(a, l, "quantity", pf_v_int(k + 1 + i));
        pf_obj_set(a, l, "unit_price", pf_v_money(1250, 2, "EUR"));
        lines.u.list.items[k] = pf_v_obj(l);
    }
    pf_obj_set(a, o, "id", S(a, i ? "o2" : "o1"));
    pf_obj_set(a, o, "email", S(a, "x@y.test"));
    pf_obj_set(a, o, "status", S(a, i ? "refunded" : "completed"));
    pf_obj_set(a, o, "time", pf_v_time(1709287200 - 86400 * i));
    pf_obj_set(a, o, "total", pf_v_money(i ? -2500 : 3750, 2, "EUR"));
    pf_obj_set(a, o, "lines", lines);
    return o;
}

static struct pf_obj *
category(struct pf_arena *a, long i)
{
    struct pf_obj *c = pf_obj_new(a);

    pf_obj_set(a, c, "id", S(a, i ? "k2" : "k1"));
    pf_obj_set(a, c, "name", S(a, i ? "Caf\xC3\xA9 & Bar" : "Chairs"));
    pf_obj_set(a, c, "parent_id", S(a, i ? "k1" : ""));
    pf_obj_set(a, c, "depth", pf_v_int(i));
    return c;
}

static struct pf_obj *
customer(struct pf_arena *a, long i)
{
    struct pf_obj *c = pf_obj_new(a);

    pf_obj_set(a, c, "id", S(a, i ? "c2" : "c1"));
    pf_obj_set(a, c, "email", S(a, "x@y.test"));
    pf_obj_set(a, c, "name", S(a, i ? "Zo\xC3\xAB" : ""));
    return c;
}

static struct pf_obj *
event(struct pf_arena *a, long i)
{
    struct pf_obj *e = pf_obj_new(a), *props = pf_obj_new(a);

    pf_obj_set(a, props, "value", pf_v_money(3750, 2, "EUR"));
    pf_obj_set(a, props, "items", pf_v_list(a, 0));
    pf_obj_set(a, e, "id", S(a, i ? "e2" : "e1"));
    pf_obj_set(a, e, "name", S(a, "Placed Order"));
    pf_obj_set(a, e, "time", pf_v_time(1709287200));
    pf_obj_set(a, e, "properties", pf_v_obj(props));
    return e;
}

/* The {variant, product} row after (*pi, *vi), moving them on; NULL at
 * the end. */
static struct pf_obj *
variant_row(struct fake_shop *f, long *pi, long *vi)
{
    struct pf_arena *a = &f->rows;

    for (; *pi < f->nproducts; (*pi)++, *vi = 0) {
        struct pf_obj *p = product(a, *pi), *row;
        const struct pf_value *vs = pf_obj_get(p, "variants");

        if (!vs || vs->type != PF_LIST || (size_t)*vi >= vs->u.list.n) {
            pf_arena_reset(a);
            continue;
        }
        row = wrap(a, "variant", vs->u.list.items[(*vi)++].u.obj);
        pf_obj_set(a, row, "product", pf_v_obj(p));
        return row;
    }
    return NULL;
}

struct pf_obj *
fake_shop_row(struct fake_shop *f, const char *coll, long i)
{
    struct pf_arena *a = &f->rows;

    pf_arena_reset(a);
    if (strcmp(coll, "products") == 0)
        return i < f->nproducts ? wrap(a, "product", product(a, i)) : NULL;
    if (strcmp(coll, "variants") == 0) {
        long pi = 0, vi = 0, k;
        struct pf_obj *row = NULL;

        for (k = 0; k <= i; k++)
            row = variant_row(f, &pi, &vi);
        return row;
    }
    if (i >= 2)
        return NULL;
    if (strcmp(coll, "orders") == 0)
        return wrap(a, "order", order(a, i));
    if (strcmp(coll, "categories") == 0)
        return wrap(a, "category", category(a, i));
    if (strcmp(coll, "customers") == 0)
        return wrap(a, "customer", customer(a, i));
    if (strcmp(coll, "events") == 0)
        return wrap(a, "event", event(a, i));
    return NULL;
}

static int
known(const char *coll)
{
    static const char *const names[] = {
        "products", "variants", "categories", "orders", "customers",
        "events"
    };
    size_t i;

    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(coll, names[i]) == 0)
            return 1;
    return 0;
}

static int
fake_open(void *ctx, const char *coll, void **cursor, struct pf_err *err)
{
    struct fake_shop *f = ctx;
    struct cursor *c;

    if (!known(coll)) {
        pf_errf(err, "unknown collection '%s'", coll);
        return -1;
    }
    c = xcalloc(1, sizeof *c);
    c->coll = coll;
    *cursor = c;
    f->opened++;
    return 0;
}

static int
fake_next(void *ctx, void *cursor, const struct pf_obj **row,
          struct pf_err *err)
{
    struct fake_shop *f = ctx;
    struct cursor *c = cursor;
    struct pf_obj *r;

    pf_arena_reset(&f->rows);
    if (f->fail_next_at >= 0 && c->i == f->fail_next_at) {
        pf_errf(err, "row %ld: database is locked", c->i);
        return -1;
    }
    /* Variants walk on from where they were, not from the start. */
    if (strcmp(c->coll, "variants") == 0)
        r = variant_row(f, &c->pi, &c->vi);
    else
        r = fake_shop_row(f, c->coll, c->i);
    if (!r)
        return 0;
    c->i++;
    *row = r;
    return 1;
}

static void
fake_close(void *ctx, void *cursor)
{
    struct fake_shop *f = ctx;

    f->closed++;
    free(cursor);
}

void
fake_shop_init(struct fake_shop *f, struct tpl_data *d)
{
    struct pf_arena *g = &f->garena;
    struct pf_obj *shop, *feed;

    memset(f, 0, sizeof *f);
    pf_arena_init(&f->rows);
    pf_arena_init(g);
    f->nproducts = 3;
    f->fail_next_at = -1;
    shop = pf_obj_new(g);
    pf_obj_set(g, shop, "name", S(g, "Demo & \"Shop\""));
    pf_obj_set(g, shop, "url", S(g, "https://x.test"));
    pf_obj_set(g, shop, "currency", S(g, "EUR"));
    pf_obj_set(g, shop, "timezone", S(g, "Europe/Amsterdam"));
    feed = pf_obj_new(g);
    pf_obj_set(g, feed, "name", S(g, "test"));
    f->globals = pf_obj_new(g);
    pf_obj_set(g, f->globals, "shop", pf_v_obj(shop));
    pf_obj_set(g, f->globals, "feed", pf_v_obj(feed));
    pf_obj_set(g, f->globals, "now", pf_v_time(1709287200));
    memset(d, 0, sizeof *d);
    d->ctx = f;
    d->globals = f->globals;
    d->open = fake_open;
    d->next = fake_next;
    d->close = fake_close;
}

void
fake_shop_free(struct fake_shop *f)
{
    pf_arena_free(&f->rows);
    pf_arena_free(&f->garena);
}

int
fake_json_parses(const char *s, size_t n)
{
    yajl_handle h = yajl_alloc(NULL, NULL, NULL);
    int ok;

    ok = yajl_parse(h, (const unsigned char *)s, n) == yajl_status_ok &&
         yajl_complete_parse(h) == yajl_status_ok;
    yajl_free(h);
    return ok;
}

int
fake_value_json_parses(const struct pf_value *v)
{
    struct pf_buf b;
    struct pf_out o;
    struct jsonw w;
    int ok;

    pf_buf_init(&b);
    pf_out_init_mem(&o, &b);
    jsonw_init(&w, &o);
    jsonw_value(&w, v);
    ok = pf_out_flush(&o, NULL) == 0 && fake_json_parses(b.data, b.len);
    jsonw_free(&w);
    pf_out_free(&o);
    pf_buf_free(&b);
    return ok;
}
