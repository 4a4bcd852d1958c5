/* Unit tests: what changed when (store_changes.c and the version 6
 * triggers of store_schema.h). For each trigger, a write that changes
 * what a feed renders moves exactly the objects that render it to
 * "pending" inside the transaction, and the commit's stamp makes that
 * the clock; the same write again moves nothing. Deletions land in
 * `deleted`. A crash between a commit and its stamp is finished by the
 * next open; counts treat pending as changed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store.h"
#include "store_fixture.h"

#define T1 1000000
#define T2 2000000
#define T3 3000000

static int
setup(void **state)
{
    return store_fx_setup(state);
}

static int
teardown(void **state)
{
    return store_fx_teardown(state);
}

static void
set_now(int64_t t)
{
    char b[32];

    snprintf(b, sizeof(b), "%lld", (long long)t);
    setenv("POSFEED_NOW", b, 1);
}

static int64_t
scalar(struct store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;

    assert_int_equal(sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL),
                     SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void
exec_ok(struct store *s, const char *sql)
{
    struct pf_err err = {{0}};

    if (store_exec(s, sql, &err) != 0)
        fail_msg("%s: %s", sql, err.msg);
}

/* ---- the catalog every case starts from ---------------------------- */

static void
category(struct store *s, const char *id, const char *name,
         const char *parent, int visible, int position, const char *url)
{
    struct pf_err err = {{0}};
    struct store_category c = {0};

    c.id = id;
    c.name = name;
    c.parent_id = parent;
    c.visible = visible;
    c.position = position;
    c.url = url;
    assert_int_equal(store_put_category(s, &c, &err), 0);
}

static void
product(struct store *s, const char *id, const char *name, int visible)
{
    struct pf_err err = {{0}};
    struct store_product p = {0};

    p.id = id;
    p.name = name;
    p.visible = visible;
    p.created_at = 1700000000;
    assert_int_equal(store_put_product(s, &p, &err), 0);
}

static void
variant(struct store *s, const char *id, const char *product_id,
        int64_t price)
{
    struct pf_err err = {{0}};
    struct store_variant v = {0};
    struct store_option opt = {"Size", "M"};

    v.id = id;
    v.product_id = product_id;
    v.price = price;
    v.currency = "EUR";
    v.track_stock = 1;
    v.options = &opt;
    v.noptions = 1;
    assert_int_equal(store_put_variant(s, &v, &err), 0);
}

static void
stock(struct store *s, const char *vid, const char *loc, int64_t q)
{
    struct pf_err err = {{0}};

    assert_int_equal(store_put_stock(s, vid, loc, q, &err), 0);
}

static void
review(struct store *s, const char *id, const char *pid, double score,
       int visible)
{
    struct pf_err err = {{0}};
    struct store_review r = {0};

    r.id = id;
    r.product_id = pid;
    r.score = score;
    r.visible = visible;
    assert_int_equal(store_put_review(s, &r, &err), 0);
}

static void
customer(struct store *s, const char *id, const char *city)
{
    struct pf_err err = {{0}};
    struct store_customer c = {0};

    c.id = id;
    c.email = "a@example.com";
    c.city = city;
    c.consent = -1;
    assert_int_equal(store_put_customer(s, &c, &err), 0);
}

static void
order(struct store *s, const char *id, const char *status,
      const char *refund_of)
{
    struct pf_err err = {{0}};
    struct store_order o = {0};

    o.id = id;
    o.status = status;
    o.currency = "EUR";
    o.created_at = 1700000000;
    o.total = 1000;
    o.refund_of = refund_of;
    assert_int_equal(store_put_order(s, &o, &err), 0);
}

static void
line(struct store *s, const char *id, const char *oid, int64_t qty)
{
    struct pf_err err = {{0}};
    struct store_order_line l = {0};

    l.id = id;
    l.order_id = oid;
    l.product_id = "p1";
    l.quantity = qty;
    l.unit_price = 500;
    assert_int_equal(store_put_order_line(s, &l, &err), 0);
}

static void
page(struct store *s, const char *id, const char *title)
{
    struct pf_err err = {{0}};
    struct store_page p = {0};

    p.id = id;
    p.kind = "page";
    p.title = title;
    p.visible = 1;
    assert_int_equal(store_put_page(s, &p, &err), 0);
}

static void
set1(struct store *s, const char *kind, const char *owner, const char *a,
     const char *b)
{
    struct pf_err err = {{0}};
    const char *ids[2] = {a, b};
    size_t n = b != NULL ? 2 : 1;
    int rc;

    if (strcmp(kind, "images") == 0)
        rc = store_set_images(s, owner, ids, n, &err);
    else
        rc = store_set_product_categories(s, owner, ids, n, &err);
    assert_int_equal(rc, 0);
}

static void
attrs(struct store *s, const char *entity, const char *id,
      enum store_attr_origin origin, const char *name, const char *value)
{
    struct pf_err err = {{0}};
    struct store_option o = {name, value};

    assert_int_equal(store_set_attributes(s, entity, id, origin, &o, 1,
                                          &err), 0);
}

static void
props(struct store *s, const char *entity, const char *id,
      const char *name, const char *value)
{
    struct pf_err err = {{0}};
    struct store_option o = {name, value};

    assert_int_equal(store_set_properties(s, entity, id, &o, 1, &err), 0);
}

static void
rebuild(struct store *s)
{
    struct pf_err err = {{0}};

    assert_int_equal(store_rebuild_category_paths(s, &err), 0);
}

/* c1 > (c2, c3), c4; p1 in c2 (v1, v2, two images, an attribute, a
 * review), p2 in c3 (v3 with a variant attribute, a review), p3 in c4
 * (v4, stock at L2); customers cu1 (a property) and cu2; orders o1 (two
 * lines, a property) and o2; pages pg1, pg2. */
static void
put_catalog(struct store *s)
{
    struct pf_err err = {{0}};
    struct store_location l1 = {"L1", "Amsterdam", NULL};
    struct store_location l2 = {"L2", "Utrecht", NULL};

    set_now(T1);
    assert_int_equal(store_begin(s, &err), 0);
    assert_int_equal(store_put_location(s, &l1, &err), 0);
    assert_int_equal(store_put_location(s, &l2, &err), 0);
    category(s, "c1", "Clothes", NULL, 1, 0, NULL);
    category(s, "c2", "Shirts", "c1", 1, 0, NULL);
    category(s, "c3", "Trousers", "c1", 1, 1, NULL);
    category(s, "c4", "Shoes", NULL, 1, 1, "/shoes");
    rebuild(s);
    product(s, "p1", "Shirt", 1);
    product(s, "p2", "Jeans", 1);
    product(s, "p3", "Boots", 1);
    variant(s, "v1", "p1", 1000);
    variant(s, "v2", "p1", 1100);
    variant(s, "v3", "p2", 5000);
    variant(s, "v4", "p3", 9000);
    stock(s, "v1", "L1", 5);
    stock(s, "v2", "L1", 3);
    stock(s, "v3", "L1", 1);
    stock(s, "v4", "L2", 7);
    set1(s, "images", "p1", "a.jpg", "b.jpg");
    set1(s, "images", "p2", "c.jpg", NULL);
    set1(s, "categories", "p1", "c2", NULL);
    set1(s, "categories", "p2", "c3", NULL);
    set1(s, "categories", "p3", "c4", NULL);
    attrs(s, "product", "p1", STORE_ATTR_AUTO, "Material", "Cotton");
    attrs(s, "variant", "v3", STORE_ATTR_CUSTOM, "Fit", "Slim");
    review(s, "r1", "p1", 4, 1);
    review(s, "r2", "p2", 3, 1);
    customer(s, "cu1", "Leiden");
    customer(s, "cu2", "Delft");
    props(s, "customer", "cu1", "vip", "true");
    order(s, "o1", "completed", NULL);
    order(s, "o2", "completed", NULL);
    line(s, "ol1", "o1", 1);
    line(s, "ol2", "o1", 2);
    props(s, "order", "o1", "medical", "false");
    page(s, "pg1", "About");
    page(s, "pg2", "Contact");
    assert_int_equal(store_commit(s, &err), 0);
}

/* Mismatches found by the case runner: each is printed, so one run
 * lists every case that fails. */
static int misses;
#define MISS(...) do { print_error(__VA_ARGS__); print_error("\n"); \
        misses++; } while (0)

/* ---- snapshots of every change time ------------------------------------ */

#define MAXKEYS 64

struct snap {
    size_t n;
    char *key[MAXKEYS];
    int64_t at[MAXKEYS];
};

static void
snap_take(struct store *s, struct snap *sn)
{
    static const char sql[] =
        "SELECT 'product/' || id, changed_at FROM products UNION ALL "
        "SELECT 'category/' || id, changed_at FROM categories UNION ALL "
        "SELECT 'customer/' || id, changed_at FROM customers UNION ALL "
        "SELECT 'order/' || id, changed_at FROM orders UNION ALL "
        "SELECT 'page/' || id, changed_at FROM pages UNION ALL "
        "SELECT 'deleted/' || entity || '/' || id, deleted_at FROM deleted "
        "ORDER BY 1";
    sqlite3_stmt *st = NULL;

    memset(sn, 0, sizeof(*sn));
    assert_int_equal(sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        assert_true(sn->n < MAXKEYS);
        sn->key[sn->n] = strdup((const char *)sqlite3_column_text(st, 0));
        sn->at[sn->n] = sqlite3_column_int64(st, 1);
        sn->n++;
    }
    sqlite3_finalize(st);
}

static void
snap_free(struct snap *sn)
{
    for (size_t i = 0; i < sn->n; i++)
        free(sn->key[i]);
    sn->n = 0;
}

/* The time of key in sn, or -1 when it is not there. */
static int64_t
snap_at(const struct snap *sn, const char *key)
{
    for (size_t i = 0; i < sn->n; i++) {
        if (strcmp(sn->key[i], key) == 0)
            return sn->at[i];
    }
    return -1;
}

static int
listed(const char *const *keys, const char *key)
{
    for (; *keys != NULL; keys++) {
        if (strcmp(*keys, key) == 0 ||
            ((*keys)[0] == '-' && strcmp(*keys + 1, key) == 0))
            return 1;
    }
    return 0;
}

/* after differs from before exactly by moves: each key listed is at
 * `when` in after ("-key": gone from after); every other key is as it
 * was. */
static void
snap_expect(const struct snap *before, const struct snap *after,
            const char *const *moves, int64_t when, const char *what)
{
    const char *const *m;

    for (m = moves; *m != NULL; m++) {
        int64_t at = snap_at(after, (*m)[0] == '-' ? *m + 1 : *m);

        if ((*m)[0] == '-' ? at != -1 : at != when)
            MISS("%s: %s is at %lld, expected %s", what, *m,
                     (long long)at, (*m)[0] == '-' ? "gone" : "moved");
    }
    for (size_t i = 0; i < after->n; i++) {
        if (!listed(moves, after->key[i]) &&
            snap_at(before, after->key[i]) != after->at[i])
            MISS("%s: %s moved from %lld to %lld", what,
                     after->key[i],
                     (long long)snap_at(before, after->key[i]),
                     (long long)after->at[i]);
    }
    for (size_t i = 0; i < before->n; i++) {
        if (!listed(moves, before->key[i]) &&
            snap_at(after, before->key[i]) == -1)
            MISS("%s: %s is gone", what, before->key[i]);
    }
}

/* ---- the cases ---------------------------------------------------- */

struct change_case {
    const char *name;
    void (*write)(struct store *s);
    const char *moves[8];
};

/* Runs c: the catalog at T1; c's write at T2 (inside its transaction the
 * objects it moves are pending; after the commit they are at T2 and
 * nothing else moved); the same write again at T3 moves nothing. */
static void
run_case(struct fx *f, const struct change_case *c)
{
    struct pf_err err = {{0}};
    struct snap s0, s1, s2, s3;
    const char *const *m;

    put_catalog(f->s);
    snap_take(f->s, &s0);
    for (size_t i = 0; i < s0.n; i++) {
        if (s0.at[i] != T1)
            fail_msg("catalog: %s at %lld", s0.key[i], (long long)s0.at[i]);
    }
    set_now(T2);
    assert_int_equal(store_begin(f->s, &err), 0);
    c->write(f->s);
    snap_take(f->s, &s1);
    for (m = c->moves; *m != NULL; m++) {
        if ((*m)[0] != '-' && snap_at(&s1, *m) != STORE_PENDING)
            MISS("%s: %s not pending before the commit", c->name, *m);
    }
    assert_int_equal(store_commit(f->s, &err), 0);
    snap_take(f->s, &s2);
    snap_expect(&s0, &s2, c->moves, T2, c->name);

    set_now(T3);
    assert_int_equal(store_begin(f->s, &err), 0);
    c->write(f->s);
    assert_int_equal(store_commit(f->s, &err), 0);
    snap_take(f->s, &s3);
    {
        static const char *const none[] = {NULL};

        snap_expect(&s2, &s3, none, T3, c->name);
    }
    snap_free(&s0);
    snap_free(&s1);
    snap_free(&s2);
    snap_free(&s3);
}

/* Products: their own row, variants, stock, images, categories,
 * attributes (the variants' too), reviews. */
static void
w_product_renamed(struct store *s)
{
    product(s, "p1", "Shirt 2", 1);
}

static void
w_product_hidden(struct store *s)
{
    product(s, "p1", "Shirt", 0);
}

static void
w_variant_added(struct store *s)
{
    variant(s, "v9", "p1", 1200);
}

static void
w_variant_price(struct store *s)
{
    variant(s, "v1", "p1", 999);
}

static void
w_variant_moved(struct store *s)
{
    variant(s, "v3", "p1", 5000);
}

static void
w_variant_removed(struct store *s)
{
    exec_ok(s, "DELETE FROM variants WHERE id = 'v2'");
}

static void
w_stock_added(struct store *s)
{
    stock(s, "v1", "L2", 4);
}

static void
w_stock_changed(struct store *s)
{
    stock(s, "v1", "L1", 6);
}

static void
w_stock_removed(struct store *s)
{
    exec_ok(s, "DELETE FROM stock WHERE variant_id = 'v3'");
}

static void
w_location_removed(struct store *s)
{
    exec_ok(s, "DELETE FROM locations WHERE id = 'L2'");
}

static void
w_images_changed(struct store *s)
{
    set1(s, "images", "p1", "b.jpg", "a.jpg");
}

static void
w_images_added(struct store *s)
{
    set1(s, "images", "p3", "x.jpg", NULL);
}

static void
w_image_updated(struct store *s)
{
    exec_ok(s, "UPDATE images SET url = 'z.jpg' WHERE product_id = 'p2'");
}

static void
w_categories_changed(struct store *s)
{
    set1(s, "categories", "p1", "c2", "c4");
}

static void
w_category_link_updated(struct store *s)
{
    exec_ok(s, "UPDATE product_categories SET category_id = 'c4' "
            "WHERE category_id = 'c3'");
}

static void
w_attribute_changed(struct store *s)
{
    attrs(s, "product", "p1", STORE_ATTR_AUTO, "Material", "Linen");
}

static void
w_variant_attribute(struct store *s)
{
    attrs(s, "variant", "v3", STORE_ATTR_CUSTOM, "Fit", "Loose");
}

static void
w_attribute_updated(struct store *s)
{
    exec_ok(s, "UPDATE attributes SET value = 'Wool' "
            "WHERE entity_id = 'p1'");
}

static void
w_review_added(struct store *s)
{
    review(s, "r3", "p3", 5, 1);
}

static void
w_review_hidden(struct store *s)
{
    review(s, "r1", "p1", 4, 0);
}

static void
w_review_moved(struct store *s)
{
    review(s, "r2", "p3", 3, 1);
}

static void
w_review_removed(struct store *s)
{
    exec_ok(s, "DELETE FROM reviews WHERE id = 'r1'");
}

static void
w_product_deleted(struct store *s)
{
    exec_ok(s, "DELETE FROM products WHERE id = 'p2'");
}

/* Categories: their own row and their direct children; the products in
 * them render their names, paths and visibility. */
static void
w_category_url(struct store *s)
{
    category(s, "c4", "Shoes", NULL, 1, 1, "/boots");
    rebuild(s);
}

static void
w_category_renamed(struct store *s)
{
    category(s, "c2", "Tees", "c1", 1, 0, NULL);
    rebuild(s);
}

static void
w_category_hidden(struct store *s)
{
    category(s, "c2", "Shirts", "c1", 0, 0, NULL);
    rebuild(s);
}

static void
w_category_reordered(struct store *s)
{
    category(s, "c2", "Shirts", "c1", 1, 5, NULL);
    rebuild(s);
}

static void
w_category_moved(struct store *s)
{
    category(s, "c2", "Shirts", "c4", 1, 0, NULL);
    rebuild(s);
}

static void
w_category_added(struct store *s)
{
    category(s, "c5", "Sandals", "c4", 1, 0, NULL);
    rebuild(s);
}

static void
w_category_deleted(struct store *s)
{
    exec_ok(s, "DELETE FROM categories WHERE id = 'c2'");
    rebuild(s);
}

static void
w_parent_deleted(struct store *s)
{
    exec_ok(s, "DELETE FROM categories WHERE id = 'c1'");
    rebuild(s);
}

/* Customers, orders, pages. */
static void
w_customer_moved(struct store *s)
{
    customer(s, "cu1", "Haarlem");
}

static void
w_customer_property(struct store *s)
{
    props(s, "customer", "cu1", "vip", "false");
}

static void
w_customer_deleted(struct store *s)
{
    exec_ok(s, "DELETE FROM customers WHERE id = 'cu2'");
}

static void
w_property_updated(struct store *s)
{
    exec_ok(s, "UPDATE properties SET value = '1' WHERE entity = 'order'");
}

static void
w_order_status(struct store *s)
{
    order(s, "o1", "shipped", NULL);
}

static void
w_order_line_added(struct store *s)
{
    line(s, "ol3", "o1", 1);
}

static void
w_order_line_changed(struct store *s)
{
    line(s, "ol1", "o1", 3);
}

static void
w_order_line_removed(struct store *s)
{
    exec_ok(s, "DELETE FROM order_lines WHERE id = 'ol2'");
}

static void
w_order_refunded(struct store *s)
{
    order(s, "o3", "refunded", "o1");
}

static void
w_order_property(struct store *s)
{
    props(s, "order", "o2", "medical", "true");
}

static void
w_page_retitled(struct store *s)
{
    page(s, "pg1", "About us");
}

static void
w_page_deleted(struct store *s)
{
    exec_ok(s, "DELETE FROM pages WHERE id = 'pg2'");
}

static const struct change_case cases[] = {
    {"product renamed", w_product_renamed, {"product/p1"}},
    {"product hidden", w_product_hidden, {"product/p1"}},
    {"variant added", w_variant_added, {"product/p1"}},
    {"variant price", w_variant_price, {"product/p1"}},
    {"variant moved", w_variant_moved, {"product/p1", "product/p2"}},
    {"variant removed", w_variant_removed, {"product/p1"}},
    {"stock added", w_stock_added, {"product/p1"}},
    {"stock changed", w_stock_changed, {"product/p1"}},
    {"stock removed", w_stock_removed, {"product/p2"}},
    {"location removed", w_location_removed, {"product/p3"}},
    {"images changed", w_images_changed, {"product/p1"}},
    {"images added", w_images_added, {"product/p3"}},
    {"image updated", w_image_updated, {"product/p2"}},
    {"categories changed", w_categories_changed, {"product/p1"}},
    {"category link updated", w_category_link_updated, {"product/p2"}},
    {"attribute changed", w_attribute_changed, {"product/p1"}},
    {"variant attribute", w_variant_attribute, {"product/p2"}},
    {"attribute updated", w_attribute_updated, {"product/p1"}},
    {"review added", w_review_added, {"product/p3"}},
    {"review hidden", w_review_hidden, {"product/p1"}},
    {"review moved", w_review_moved, {"product/p2", "product/p3"}},
    {"review removed", w_review_removed, {"product/p1"}},
    {"product deleted", w_product_deleted,
     {"-product/p2", "deleted/product/p2"}},
    {"category url", w_category_url, {"category/c4"}},
    {"category renamed", w_category_renamed,
     {"category/c2", "product/p1"}},
    {"category hidden", w_category_hidden,
     {"category/c2", "category/c1", "product/p1"}},
    {"category reordered", w_category_reordered,
     {"category/c2", "category/c1"}},
    {"category moved", w_category_moved,
     {"category/c2", "category/c1", "category/c4", "product/p1"}},
    {"category added", w_category_added, {"category/c5", "category/c4"}},
    {"category deleted", w_category_deleted,
     {"-category/c2", "deleted/category/c2", "category/c1",
      "product/p1"}},
    {"parent deleted", w_parent_deleted,
     {"-category/c1", "deleted/category/c1", "category/c2", "category/c3",
      "product/p1", "product/p2"}},
    {"customer moved", w_customer_moved, {"customer/cu1"}},
    {"customer property", w_customer_property, {"customer/cu1"}},
    {"customer deleted", w_customer_deleted,
     {"-customer/cu2", "deleted/customer/cu2"}},
    {"property updated", w_property_updated, {"order/o1"}},
    {"order status", w_order_status, {"order/o1"}},
    {"order line added", w_order_line_added, {"order/o1"}},
    {"order line changed", w_order_line_changed, {"order/o1"}},
    {"order line removed", w_order_line_removed, {"order/o1"}},
    {"order refunded", w_order_refunded, {"order/o3", "order/o1"}},
    {"order property", w_order_property, {"order/o2"}},
    {"page retitled", w_page_retitled, {"page/pg1"}},
    {"page deleted", w_page_deleted, {"-page/pg2", "deleted/page/pg2"}},
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* Every case, each on a fresh store; a failure names its case. */
static void
test_every_trigger(void **state)
{
    misses = 0;
    for (size_t i = 0; i < NCASES; i++) {
        run_case(*state, &cases[i]);
        assert_int_equal(store_fx_teardown(state), 0);
        assert_int_equal(store_fx_setup(state), 0);
    }
    assert_int_equal(misses, 0);
}

/* A commit that changed nothing finds nothing to stamp and writes
 * nothing; nor does a stamp on its own. */
static void
test_nothing_pending_writes_nothing(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};
    int before;

    put_catalog(f->s);
    before = sqlite3_total_changes(store_db(f->s));
    set_now(T2);
    put_catalog(f->s);
    assert_int_equal(store_stamp_changes(f->s, T3, &err), 0);
    assert_int_equal(sqlite3_total_changes(store_db(f->s)), before);
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM products "
                            "WHERE changed_at <> 1000000"), 0);
}

/* The stamp's own UPDATE does not fire the "changed" triggers: after a
 * commit nothing is pending, and the stamp wrote each changed row once
 * (the row itself, then its stamp). */
static void
test_stamp_fires_no_trigger(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};
    int before;

    put_catalog(f->s);
    set_now(T2);
    before = sqlite3_total_changes(store_db(f->s));
    assert_int_equal(store_begin(f->s, &err), 0);
    product(f->s, "p1", "Shirt 2", 1);
    assert_int_equal(store_commit(f->s, &err), 0);
    /* The upsert, the trigger's mark, the stamp, the generation. */
    assert_int_equal(sqlite3_total_changes(store_db(f->s)), before + 4);
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM products WHERE "
                            "changed_at = 9223372036854775807"), 0);
    assert_int_equal(scalar(f->s, "SELECT changed_at FROM products "
                            "WHERE id = 'p1'"), T2);
}

/* A crash between COMMIT and the stamp (a commit made without
 * store_commit): the rows read as pending, which the counts take as
 * changed after any time; the next open stamps them. */
static void
test_crash_before_stamp(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};
    int64_t n = -1;

    put_catalog(f->s);
    set_now(T2);
    exec_ok(f->s, "BEGIN IMMEDIATE");
    product(f->s, "p1", "Shirt 2", 1);
    exec_ok(f->s, "DELETE FROM pages WHERE id = 'pg2'");
    exec_ok(f->s, "COMMIT");
    assert_int_equal(store_changed_count(f->s, "products", T3 + 1000, &n,
                                         &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_deleted_count(f->s, "page", T3 + 1000, &n,
                                         &err), 0);
    assert_int_equal(n, 1);
    store_close(f->s);
    f->s = NULL;
    set_now(T3);
    assert_int_equal(store_open(f->path, &f->s, &err), 0);
    assert_int_equal(scalar(f->s, "SELECT changed_at FROM products "
                            "WHERE id = 'p1'"), T3);
    assert_int_equal(scalar(f->s, "SELECT deleted_at FROM deleted "
                            "WHERE id = 'pg2'"), T3);
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM products WHERE "
                            "changed_at = 9223372036854775807"), 0);
    assert_int_equal(store_changed_count(f->s, "products", T3 + 1000, &n,
                                         &err), 0);
    assert_int_equal(n, 0);
}

/* The stamp goes in batches of 5000 rows (bounded memory): a commit of
 * more leaves none pending. */
static void
test_stamp_in_batches(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};

    set_now(T2);
    assert_int_equal(store_begin(f->s, &err), 0);
    exec_ok(f->s, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
            "SELECT i + 1 FROM n WHERE i < 12001) "
            "INSERT INTO products(id, name) SELECT 'x' || i, 'X' FROM n;"
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
            "SELECT i + 1 FROM n WHERE i < 6000) "
            "INSERT INTO deleted(entity, id, deleted_at) "
            "SELECT 'page', 'g' || i, 9223372036854775807 FROM n");
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM products "
                            "WHERE changed_at = 2000000"), 12001);
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM deleted "
                            "WHERE deleted_at = 2000000"), 6000);
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM products WHERE "
                            "changed_at <> 2000000"), 0);
}

/* Inside a run, commits leave their changes pending and the run's end
 * stamps them once (a first import would otherwise stamp each product
 * once per file); a run that never ends is stamped at close. */
static void
test_run_stamps_at_its_end(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};
    int64_t run = 0;

    put_catalog(f->s);
    set_now(T2);
    assert_int_equal(store_run_start(f->s, "sync", &run, &err), 0);
    assert_int_equal(store_begin(f->s, &err), 0);
    product(f->s, "p1", "Shirt 2", 1);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_int_equal(scalar(f->s, "SELECT changed_at FROM products "
                            "WHERE id = 'p1'"), STORE_PENDING);
    assert_int_equal(store_begin(f->s, &err), 0);
    variant(f->s, "v3", "p2", 4000);
    assert_int_equal(store_commit(f->s, &err), 0);
    set_now(T3);
    assert_int_equal(store_run_end(f->s, run, "ok", NULL, &err), 0);
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM products "
                            "WHERE changed_at = 3000000"), 2);
    /* After the run, commits stamp again. */
    assert_int_equal(store_begin(f->s, &err), 0);
    product(f->s, "p3", "Boots 2", 1);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_int_equal(scalar(f->s, "SELECT changed_at FROM products "
                            "WHERE id = 'p3'"), T3);
    /* A run left open is stamped when its store closes. */
    assert_int_equal(store_run_start(f->s, "sync", &run, &err), 0);
    assert_int_equal(store_begin(f->s, &err), 0);
    product(f->s, "p3", "Boots 3", 1);
    assert_int_equal(store_commit(f->s, &err), 0);
    store_close(f->s);
    f->s = NULL;
    assert_int_equal(store_open_readonly(f->path, &f->s, &err), 0);
    assert_int_equal(scalar(f->s, "SELECT changed_at FROM products "
                            "WHERE id = 'p3'"), T3);
}

/* A run killed with changes pending: the next open writes nothing (the
 * next run checks the store first); that run's end stamps them. */
static void
test_killed_run_waits_for_next_run(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};
    int64_t run = 0;

    put_catalog(f->s);
    set_now(T2);
    exec_ok(f->s, "INSERT INTO runs(kind, started_at) VALUES ('sync', 1)");
    exec_ok(f->s, "BEGIN IMMEDIATE");
    product(f->s, "p1", "Shirt 2", 1);
    exec_ok(f->s, "COMMIT");
    store_close(f->s);
    f->s = NULL;
    set_now(T3);
    assert_int_equal(store_open(f->path, &f->s, &err), 0);
    assert_int_equal(scalar(f->s, "SELECT changed_at FROM products "
                            "WHERE id = 'p1'"), STORE_PENDING);
    assert_int_equal(store_run_start(f->s, "sync", &run, &err), 0);
    assert_int_equal(store_run_end(f->s, run, "ok", NULL, &err), 0);
    assert_int_equal(scalar(f->s, "SELECT changed_at FROM products "
                            "WHERE id = 'p1'"), T3);
}

/* A read-only connection never stamps: the pending rows wait for a
 * writer. */
static void
test_readonly_never_stamps(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};
    struct store *ro = NULL;

    put_catalog(f->s);
    exec_ok(f->s, "BEGIN IMMEDIATE");
    product(f->s, "p1", "Shirt 2", 1);
    exec_ok(f->s, "COMMIT");
    set_now(T3);
    assert_int_equal(store_open_readonly(f->path, &ro, &err), 0);
    assert_int_equal(store_stamp_changes(ro, T3, &err), -1);
    assert_non_null(strstr(err.msg, "writable"));
    store_close(ro);
    assert_int_equal(scalar(f->s, "SELECT changed_at FROM products "
                            "WHERE id = 'p1'"), STORE_PENDING);
}

/* A stamp that fails does not fail the commit that succeeded; the rows
 * stay pending and the next commit stamps them. */
static void
test_failed_stamp_keeps_commit(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};

    put_catalog(f->s);
    set_now(T2);
    /* Without its table the stamp's first statement cannot run. */
    exec_ok(f->s, "ALTER TABLE render_epochs RENAME TO re_x;"
            "ALTER TABLE deleted RENAME TO deleted_x");
    assert_int_equal(store_begin(f->s, &err), 0);
    product(f->s, "p1", "Shirt 2", 1);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_int_equal(scalar(f->s, "SELECT changed_at FROM products "
                            "WHERE id = 'p1'"), STORE_PENDING);
    exec_ok(f->s, "ALTER TABLE deleted_x RENAME TO deleted;"
            "ALTER TABLE re_x RENAME TO render_epochs");
    set_now(T3);
    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_int_equal(scalar(f->s, "SELECT changed_at FROM products "
                            "WHERE id = 'p1'"), T3);
}

/* A failed transaction (store_has saw an error) rolls back and is not
 * stamped: nothing it wrote shows, nothing moves. */
static void
test_failed_transaction_moves_nothing(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};
    struct snap a, b;
    static const char *const none[] = {NULL};

    put_catalog(f->s);
    snap_take(f->s, &a);
    set_now(T2);
    assert_int_equal(store_begin(f->s, &err), 0);
    product(f->s, "p1", "Shirt 2", 1);
    exec_ok(f->s, "ALTER TABLE reviews RENAME TO reviews_x");
    assert_int_equal(store_has(f->s, "reviews", "r1"), 0);
    assert_int_equal(store_commit(f->s, &err), -1);
    snap_take(f->s, &b);
    snap_expect(&a, &b, none, T2, "failed transaction");
    snap_free(&a);
    snap_free(&b);
}

static void
test_counts(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};
    int64_t n = -1;

    put_catalog(f->s);
    set_now(T2);
    assert_int_equal(store_begin(f->s, &err), 0);
    product(f->s, "p1", "Shirt 2", 1);
    exec_ok(f->s, "DELETE FROM products WHERE id = 'p3'");
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_int_equal(store_changed_count(f->s, "products", T1, &n, &err),
                     0);
    assert_int_equal(n, 2);
    assert_int_equal(store_changed_count(f->s, "products", T2, &n, &err),
                     0);
    assert_int_equal(n, 1);
    assert_int_equal(store_changed_count(f->s, "products", T2 + 1, &n,
                                         &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_changed_count(f->s, "categories", 0, &n, &err),
                     0);
    assert_int_equal(n, 4);
    assert_int_equal(store_deleted_count(f->s, "product", T2, &n, &err),
                     0);
    assert_int_equal(n, 1);
    assert_int_equal(store_deleted_count(f->s, "product", T2 + 1, &n,
                                         &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_deleted_count(f->s, "page", 0, &n, &err), 0);
    assert_int_equal(n, 0);
    /* Names outside the fixed lists are refused, whatever they hold. */
    assert_int_equal(store_changed_count(f->s, "products WHERE 1; --", 0,
                                         &n, &err), -1);
    assert_non_null(strstr(err.msg, "products WHERE 1; --"));
    assert_int_equal(store_changed_count(f->s, "variants", 0, &n, &err),
                     -1);
    assert_int_equal(store_deleted_count(f->s, "order", 0, &n, &err), -1);
    assert_non_null(strstr(err.msg, "'order'"));
    assert_int_equal(store_deleted_count(f->s, "products", 0, &n, &err),
                     -1);
}

static void
test_render_epoch(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};
    struct store *ro = NULL;
    int64_t since = -1;

    assert_int_equal(store_render_epoch(f->s, "clerk-v2/products", "h1",
                                        T1, &since, &err), 0);
    assert_int_equal(since, T1);
    /* The same definition later: still since T1. */
    assert_int_equal(store_render_epoch(f->s, "clerk-v2/products", "h1",
                                        T2, &since, &err), 0);
    assert_int_equal(since, T1);
    /* Another key is its own. */
    assert_int_equal(store_render_epoch(f->s, "clerk-v2/pages", "h1", T2,
                                        &since, &err), 0);
    assert_int_equal(since, T2);
    /* A new definition starts a new epoch, and it sticks. */
    assert_int_equal(store_render_epoch(f->s, "clerk-v2/products", "h2",
                                        T3, &since, &err), 0);
    assert_int_equal(since, T3);
    assert_int_equal(store_render_epoch(f->s, "clerk-v2/products", "h2",
                                        T3 + 5, &since, &err), 0);
    assert_int_equal(since, T3);
    /* Asking about an unchanged definition only reads: a read-only
     * connection may; a changed one needs a writer. */
    assert_int_equal(store_open_readonly(f->path, &ro, &err), 0);
    assert_int_equal(store_render_epoch(ro, "clerk-v2/products", "h2",
                                        T3 + 9, &since, &err), 0);
    assert_int_equal(since, T3);
    assert_int_equal(store_render_epoch(ro, "clerk-v2/products", "h3",
                                        T3 + 9, &since, &err), -1);
    assert_non_null(strstr(err.msg, "clerk-v2/products"));
    store_close(ro);
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM render_epochs"),
                     2);
}

/* While a sync holds the write lock, asking about an unchanged
 * definition answers at once: it only reads. */
static void
test_render_epoch_reads_during_sync(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};
    struct store *w = NULL;
    int64_t since = -1;

    assert_int_equal(store_render_epoch(f->s, "k", "h", T1, &since, &err),
                     0);
    assert_int_equal(store_open(f->path, &w, &err), 0);
    assert_int_equal(store_begin(w, &err), 0);
    product(w, "p9", "Hat", 1);
    assert_int_equal(store_render_epoch(f->s, "k", "h", T2, &since, &err),
                     0);
    assert_int_equal(since, T1);
    assert_int_equal(store_commit(w, &err), 0);
    store_close(w);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_trigger, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_nothing_pending_writes_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_stamp_fires_no_trigger, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_crash_before_stamp, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stamp_in_batches, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_run_stamps_at_its_end, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_killed_run_waits_for_next_run,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_readonly_never_stamps, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_failed_stamp_keeps_commit,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_failed_transaction_moves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_render_epoch, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_render_epoch_reads_during_sync,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
