/* source_lse_map.c - what each Lightspeed eCom record becomes in the
 * store (see source_lse.h for the ids and the rules). */
#include "source_lse_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync.h"

#define LSE_MAX_OPTIONS 8

/* ---- helpers ------------------------------------------------------------ */

static int
exec_text(struct lse *L, const char *sql, const char *a, const char *b,
          int64_t n)
{
    struct pf_err e;
    sqlite3_stmt *st = store_stmt(L->s, sql, &e);

    if (st == NULL) {
        lse_store_failed(L, &e);
        return -1;
    }
    sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
    if (b != NULL)
        sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, n);
    if (sqlite3_step(st) != SQLITE_DONE) {
        pf_errf(&e, "store: %s", sqlite3_errmsg(store_db(L->s)));
        lse_store_failed(L, &e);
        sqlite3_reset(st);
        return -1;
    }
    sqlite3_reset(st);
    return 0;
}

static int
seen_add(struct lse *L, const char *id)
{
    return exec_text(L, "INSERT OR IGNORE INTO lse_seen(id) VALUES (?1)",
                     id, NULL, 0);
}

/* 1 when table has id; 0 not (or a store error, kept for the page). */
static int
has(struct lse *L, const char *table, const char *id)
{
    struct pf_err e;
    int r;

    if (id == NULL)
        return 0;
    r = store_lookup(L->s, table, id, &e);
    if (r < 0)
        lse_store_failed(L, &e);
    return r == 1;
}

/* A link on the shop's domain: base + slug + suffix; NULL without a
 * slug. An absolute url is kept. */
static const char *
shop_link(struct lse *L, const char *slug, const char *suffix)
{
    char *s;
    const char *out;

    if (slug == NULL)
        return NULL;
    if (strncmp(slug, "http://", 7) == 0 || strncmp(slug, "https://", 8)
        == 0 || L->domain == NULL)
        return slug;
    while (*slug == '/')
        slug++;
    s = xasprintf("%s%s%s", L->domain, slug, suffix);
    out = pf_arena_strdup(&L->arena, s);
    free(s);
    return out;
}

/* A money field; a bad value is a warning and counts as absent. */
static int
money(struct lse *L, const cJSON *rec, const char *key, const char *res,
      const char *id, int64_t *out)
{
    int r = lse_money(rec, key, L->decimals, out);

    if (r < 0)
        sync_warn(L->rep, res, "%s %s: field '%s': not an amount", res, id,
                  key);
    if (r != 1)
        *out = 0;
    return r == 1;
}

/* A record's "id" as text into out; -1 when it has none. */
static int
record_text_id(const cJSON *rec, char out[64])
{
    char buf[64];
    const char *s = lse_str(rec, "id", buf);

    if (s == NULL)
        return -1;
    snprintf(out, 64, "%s", s);
    return 0;
}

/* ---- reference data ----------------------------------------------------- */

int
lse_shop_row(struct lse *L, cJSON *rec, const char *id)
{
    struct store_location loc = {0};
    char buf[64];
    const char *dom = lse_str(rec, "mainDomain", buf), *sid;

    (void)id;
    sid = lse_str(rec, "id", buf);
    free(L->location);
    L->location = xstrdup(sid != NULL ? sid : "shop");
    free(L->domain);
    L->domain = NULL;
    if (dom == NULL) {
        sync_warn(L->rep, "shop", "shop: field 'mainDomain': missing; "
                  "links stay relative");
    }
    else {
        /* The domain may come with or without a scheme and slash. */
        size_t n = strlen(dom);

        while (n > 0 && dom[n - 1] == '/')
            n--;
        L->domain = xasprintf("%s%.*s/%s/", strstr(dom, "://") != NULL
                              ? "" : "https://", (int)n, dom,
                              L->o->language);
    }
    loc.id = L->location;
    loc.name = lse_text(L, rec, "title", "shop", "shop");
    if (loc.name == NULL)
        loc.name = lse_text(L, rec, "name", "shop", "shop");
    if (loc.name == NULL)
        loc.name = "Webshop";
    return store_put_location(L->s, &loc, NULL) == 0 ? LSE_ROW_OK
                                                     : LSE_ROW_FAIL;
}

int
lse_category_row(struct lse *L, cJSON *rec, const char *id)
{
    struct store_category c = {0};
    int64_t pos = 0;

    c.id = id;
    c.name = lse_text(L, rec, "title", "categories", id);
    c.parent_id = lse_ref_dup(L, rec, "parent");
    c.url = shop_link(L, lse_text(L, rec, "url", "categories", id), "/");
    c.visible = lse_bool(rec, "isVisible", 1) != 0;
    if (lse_int(rec, "sortOrder", &pos) == 1 && pos >= 0 && pos < 1000000)
        c.position = (int)pos;
    if (c.name == NULL) {
        sync_warn(L->rep, "categories", "categories %s: field 'title': "
                  "missing", id);
        return LSE_ROW_SKIP;
    }
    if (seen_add(L, id) != 0 || store_put_category(L->s, &c, NULL) != 0)
        return LSE_ROW_FAIL;
    return LSE_ROW_OK;
}

static int
name_row(struct lse *L, enum lse_names k, cJSON *rec, const char *id,
         const char *res)
{
    const char *name = lse_text(L, rec, k == LSE_BLOGS ? "url" : "title",
                                res, id);

    if (name == NULL)
        return LSE_ROW_SKIP;
    L->names[k] = xrealloc(L->names[k],
                           (L->nnames[k] + 1) * sizeof(*L->names[k]));
    L->names[k][L->nnames[k]].id = xstrdup(id);
    L->names[k][L->nnames[k]].name = xstrdup(name);
    L->nnames[k]++;
    return LSE_ROW_OK;
}

int
lse_brand_row(struct lse *L, cJSON *rec, const char *id)
{
    return name_row(L, LSE_BRANDS, rec, id, "brands");
}

int
lse_supplier_row(struct lse *L, cJSON *rec, const char *id)
{
    return name_row(L, LSE_SUPPLIERS, rec, id, "suppliers");
}

int
lse_filter_row(struct lse *L, cJSON *rec, const char *id)
{
    return name_row(L, LSE_FILTERS, rec, id, "filters");
}

int
lse_blog_row(struct lse *L, cJSON *rec, const char *id)
{
    return name_row(L, LSE_BLOGS, rec, id, "blogs");
}

int
lse_tag_row(struct lse *L, cJSON *rec, const char *id)
{
    return name_row(L, LSE_TAGS, rec, id, "tags");
}

void
lse_names_free(struct lse *L)
{
    size_t i;
    int k;

    for (k = 0; k < LSE_NNAMES; k++) {
        for (i = 0; i < L->nnames[k]; i++) {
            free(L->names[k][i].id);
            free(L->names[k][i].name);
        }
        free(L->names[k]);
        L->names[k] = NULL;
        L->nnames[k] = 0;
    }
}

/* The name of the record id refers to; NULL when unknown. */
static const char *
name_of(struct lse *L, enum lse_names k, const char *id)
{
    size_t i;

    for (i = 0; id != NULL && i < L->nnames[k]; i++)
        if (strcmp(L->names[k][i].id, id) == 0)
            return L->names[k][i].name;
    return NULL;
}

/* ---- catalog ------------------------------------------------------------ */

/* visibility "hidden" hides; "visible"/"auto" show; else isVisible. */
static int
product_visible(const cJSON *rec)
{
    char buf[64];
    const char *v = lse_str(rec, "visibility", buf);

    if (v != NULL)
        return strcmp(v, "hidden") != 0;
    return lse_bool(rec, "isVisible", 1) != 0;
}

static int
cmp_image(const void *a, const void *b)
{
    const cJSON *x = *(cJSON *const *)a, *y = *(cJSON *const *)b;
    int64_t sx = 0, sy = 0, ix = 0, iy = 0;

    lse_int(x, "sortOrder", &sx);
    lse_int(y, "sortOrder", &sy);
    lse_int(x, "id", &ix);
    lse_int(y, "id", &iy);
    if (sx != sy)
        return sx < sy ? -1 : 1;
    return ix < iy ? -1 : ix > iy;
}

/* The product's images in the shop's order (sortOrder, then id) from
 * products/{id}/images, else its main "image"; sized per image_size. */
static int
product_images(struct lse *L, cJSON *rec, const char *id)
{
    cJSON *arr = NULL, **v = NULL, *x;
    const cJSON *img = cJSON_GetObjectItemCaseSensitive(rec, "image");
    char buf[64];
    const char *src, **urls;
    size_t n = 0, k = 0, i;
    int rc;

    if (L->detail[LSE_D_IMAGES] != NULL)
        arr = lse_list(L->detail[LSE_D_IMAGES], "productImages",
                       "productImage");
    n = arr != NULL ? (size_t)cJSON_GetArraySize(arr) : 1;
    v = xcalloc(n + 1, sizeof(*v));
    if (arr != NULL)
        cJSON_ArrayForEach(x, arr) v[k++] = x;
    else if (cJSON_IsObject(img))
        v[k++] = (cJSON *)img;
    qsort(v, k, sizeof(*v), cmp_image);
    urls = xcalloc(k + 1, sizeof(*urls));
    for (i = n = 0; i < k; i++) {
        if ((src = lse_str(v[i], "src", buf)) != NULL)
            urls[n++] = lse_image_url(src, L->o->image_size);
    }
    rc = store_set_images(L->s, id, urls, n, NULL);
    for (i = 0; i < n; i++)
        free((char *)urls[i]);
    free(urls);
    free(v);
    return rc;
}

/* attributes = auto: the product's filter values ("Color": "Red"), the
 * attributes the shop's own filters use. */
static int
filter_attrs(struct lse *L, const char *id)
{
    cJSON *arr, *x;
    struct store_option *a;
    size_t n = 0;
    int rc;

    if (L->detail[LSE_D_FILTERS] == NULL)
        return 0;
    arr = lse_list(L->detail[LSE_D_FILTERS], "productFiltervalues",
                   "productFiltervalue");
    a = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*a));
    cJSON_ArrayForEach(x, arr) {
        const char *f = name_of(L, LSE_FILTERS,
                                lse_ref_dup(L, x, "filter"));
        const char *v = lse_text(L, x, "title", "products", id);

        if (f != NULL && v != NULL)
            a[n++] = (struct store_option){f, v};
    }
    rc = store_set_attributes(L->s, "product", id, STORE_ATTR_AUTO, a, n,
                              NULL);
    free(a);
    return rc;
}

/* Appends the product's tags to a[*n] on as "tags" (a grows): the
 * links in lse_tags in the shop's order, a tag once, titles from
 * LSE_TAGS (a link to a tag no longer listed is left out). */
static int
add_tags(struct lse *L, const char *pid, struct store_option **a,
         size_t *n, struct pf_err *err)
{
    sqlite3_stmt *st;
    const char *t;
    int r;

    if (!L->o->tags)
        return 0;
    st = store_stmt(L->s, "SELECT tag_id FROM lse_tags WHERE product_id "
                    "= ?1 GROUP BY tag_id ORDER BY MIN(link)", err);
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, pid, -1, SQLITE_TRANSIENT);
    while ((r = store_step(L->s, st, err, "reading tags of %s", pid)) ==
           1) {
        t = name_of(L, LSE_TAGS, (const char *)sqlite3_column_text(st, 0));
        if (t == NULL)
            continue;
        *a = xrealloc(*a, (*n + 1) * sizeof(**a));
        (*a)[(*n)++] = (struct store_option){"tags", t};
    }
    sqlite3_reset(st);
    return r < 0 ? -1 : 0;
}

/* What custom_attributes may name: the product's attributes by their
 * title, its supplier, data01..data03 and its tags. */
static int
custom_attrs(struct lse *L, cJSON *rec, const char *id)
{
    cJSON *arr = NULL, *x;
    struct store_option *a;
    struct pf_err e;
    size_t n = 0;
    const char *k, *v;
    int rc, i;

    if (L->detail[LSE_D_ATTRS] != NULL)
        arr = lse_list(L->detail[LSE_D_ATTRS], "productAttributes",
                       "productAttribute");
    a = xcalloc((size_t)cJSON_GetArraySize(arr) + 5, sizeof(*a));
    cJSON_ArrayForEach(x, arr) {
        k = lse_text(L, x, "title", "products", id);
        v = lse_text(L, x, "value", "products", id);
        if (k != NULL && v != NULL)
            a[n++] = (struct store_option){k, v};
    }
    v = name_of(L, LSE_SUPPLIERS, lse_ref_dup(L, rec, "supplier"));
    if (v != NULL)
        a[n++] = (struct store_option){"supplier", v};
    for (i = 1; i <= 3; i++) {
        static const char *const data[] = {NULL, "data01", "data02",
                                           "data03"};

        if ((v = lse_text(L, rec, data[i], "products", id)) != NULL)
            a[n++] = (struct store_option){data[i], v};
    }
    rc = add_tags(L, id, &a, &n, &e);
    if (rc != 0)
        lse_store_failed(L, &e);
    else
        rc = store_set_attributes(L->s, "product", id, STORE_ATTR_CUSTOM,
                                  a, n, NULL);
    free(a);
    return rc;
}

/* 1 when the store has the product at this updatedAt: re-read by the
 * overlap, unchanged (0 no, -1 a store error). */
static int
product_current(struct lse *L, cJSON *rec, const char *id)
{
    struct pf_err e;
    sqlite3_stmt *st;
    int64_t t = 0;
    int r;

    if (L->full || lse_time(rec, "updatedAt", &t) != 1)
        return 0;
    st = store_stmt(L->s, "SELECT 1 FROM products WHERE id = ?1 AND "
                    "updated_at = ?2", &e);
    if (st == NULL) {
        lse_store_failed(L, &e);
        return -1;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, t);
    r = store_step(L->s, st, &e, "reading product %s", id);
    sqlite3_reset(st);
    if (r < 0)
        lse_store_failed(L, &e);
    return r;
}

int
lse_product_fetch(struct lse *L, cJSON *rec, const char *id,
                  struct pf_err *err)
{
    int rc = product_current(L, rec, id);

    if (rc < 0) {
        pf_errf(err, "products %s: %s", id, L->serr.msg);
        L->serr_set = 0;
        return -1;
    }
    L->unchanged = rc;
    if (rc == 1)
        return 0;
    rc = lse_fetch_detail(L, "products", id, "images", LSE_D_IMAGES, err);
    if (rc == 0 && L->o->filters)
        rc = lse_fetch_detail(L, "products", id, "filtervalues",
                              LSE_D_FILTERS, err);
    if (rc == 0 && L->o->attributes)
        rc = lse_fetch_detail(L, "products", id, "attributes",
                              LSE_D_ATTRS, err);
    return rc;
}

/* The product's own stock is its default variant's (variant_stock):
 * keep what is stored when the product alone changed. */
static int
stored_stock(struct lse *L, struct store_product *p)
{
    struct pf_err e;
    sqlite3_stmt *st = store_stmt(L->s, "SELECT has_stock, stock FROM "
                                  "products WHERE id = ?1", &e);
    int r;

    if (st == NULL) {
        lse_store_failed(L, &e);
        return -1;
    }
    sqlite3_bind_text(st, 1, p->id, -1, SQLITE_TRANSIENT);
    r = store_step(L->s, st, &e, "reading product %s", p->id);
    if (r == 1) {
        p->has_stock = sqlite3_column_int(st, 0);
        p->stock = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    if (r < 0)
        lse_store_failed(L, &e);
    return r < 0 ? -1 : 0;
}

int
lse_product_row(struct lse *L, cJSON *rec, const char *id)
{
    struct store_product p = {0};

    if (L->unchanged)
        return LSE_ROW_SKIP;
    p.id = id;
    p.name = lse_text(L, rec, "title", "products", id);
    if (p.name == NULL)
        p.name = lse_text(L, rec, "fulltitle", "products", id);
    if (p.name == NULL) {
        sync_warn(L->rep, "products", "products %s: field 'title': "
                  "missing", id);
        return LSE_ROW_SKIP;
    }
    /* The short description, as the shop's listings show it; the long
     * HTML content when there is none. */
    p.description = lse_text(L, rec, "description", "products", id);
    if (p.description == NULL)
        p.description = lse_text(L, rec, "content", "products", id);
    p.url = shop_link(L, lse_text(L, rec, "url", "products", id), ".html");
    p.brand = name_of(L, LSE_BRANDS, lse_ref_dup(L, rec, "brand"));
    p.created_at = lse_when(L, rec, "createdAt", "products", id);
    p.updated_at = lse_when(L, rec, "updatedAt", "products", id);
    p.visible = product_visible(rec);
    if (stored_stock(L, &p) != 0 ||
        store_put_product(L->s, &p, NULL) != 0 ||
        product_images(L, rec, id) != 0 || filter_attrs(L, id) != 0 ||
        custom_attrs(L, rec, id) != 0)
        return LSE_ROW_FAIL;
    return LSE_ROW_OK;
}

/* An option's value: {"id","title"} or a plain string. */
static const char *
option_value(struct lse *L, const cJSON *opt, const char *id)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(opt, "value");

    if (cJSON_IsObject(v))
        return lse_text(L, v, "title", "variants", id);
    return lse_text(L, opt, "value", "variants", id);
}

/* Options from the variant's "options" list ({"title"|"name","value"}),
 * else its title as the one option of a product with a matrix. */
static size_t
variant_options(struct lse *L, cJSON *rec, const char *id,
                struct store_option *o)
{
    const cJSON *opts = cJSON_GetObjectItemCaseSensitive(rec, "options");
    const cJSON *list = cJSON_IsArray(opts) ? opts : NULL;
    cJSON *x;
    size_t n = 0;
    const char *name, *val;

    cJSON_ArrayForEach(x, list) {
        name = lse_text(L, x, "title", "variants", id);
        if (name == NULL)
            name = lse_text(L, x, "name", "variants", id);
        val = option_value(L, x, id);
        if (name != NULL && val != NULL && n < LSE_MAX_OPTIONS)
            o[n++] = (struct store_option){name, val};
    }
    /* "Default" names the only variant of a product without a
     * matrix: no option. */
    if (n == 0 && (val = lse_text(L, rec, "title", "variants", id)) != NULL
        && strcmp(val, "Default") != 0)
        o[n++] = (struct store_option){"Variant", val};
    return n;
}

/* Stock: tracked unless stockTracking is "disabled"; the level goes to
 * the shop's one location. The default variant's level is also the
 * product's own (variant_stock_tracking = parent): what the shop shows
 * before a variant is picked. */
static int
variant_stock(struct lse *L, cJSON *rec, const char *id, const char *pid,
              int tracked)
{
    int64_t level = 0;
    int r = lse_int(rec, "stockLevel", &level);

    if (tracked && (r < 0 || !store_quantity_ok(level))) {
        sync_warn(L->rep, "variants", "variants %s: field 'stockLevel': "
                  "not a quantity", id);
        return 0;
    }
    if (lse_bool(rec, "isDefault", 0) == 1 &&
        exec_text(L, tracked ? "UPDATE products SET has_stock = 1, stock "
                  "= ?3 WHERE id = ?1 AND (has_stock IS NOT 1 OR stock IS "
                  "NOT ?3)" : "UPDATE products SET has_stock = 0, stock = "
                  "NULL WHERE id = ?1 AND has_stock IS NOT 0", pid, NULL,
                  level) != 0)
        return -1;
    if (!tracked)
        return 0;
    return store_put_stock(L->s, id, L->location, level, NULL);
}

int
lse_variant_row(struct lse *L, cJSON *rec, const char *id)
{
    struct store_variant v = {0};
    struct store_option opts[LSE_MAX_OPTIONS];
    const char *excl = L->o->prices_excl ? "priceExcl" : "priceIncl";
    const char *old = L->o->prices_excl ? "oldPriceExcl" : "oldPriceIncl";
    char buf[64];
    const char *tr;
    int64_t pos = 0;

    v.id = id;
    v.product_id = lse_ref_dup(L, rec, "product");
    if (v.product_id == NULL || !has(L, "products", v.product_id)) {
        sync_warn(L->rep, "variants", "variants %s: field 'product': "
                  "product %s not in the shop's listing", id,
                  v.product_id != NULL ? v.product_id : "(none)");
        return LSE_ROW_SKIP;
    }
    v.sku = lse_text(L, rec, "sku", "variants", id);
    if (v.sku == NULL)
        v.sku = lse_text(L, rec, "articleCode", "variants", id);
    v.ean = lse_text(L, rec, "ean", "variants", id);
    money(L, rec, excl, "variants", id, &v.price);
    if (money(L, rec, old, "variants", id, &v.list_price) &&
        v.list_price <= v.price)
        v.list_price = 0;
    v.currency = L->o->currency;
    tr = lse_str(rec, "stockTracking", buf);
    v.track_stock = tr == NULL || strcmp(tr, "disabled") != 0;
    /* The default variant first, the others in the shop's order. */
    if (lse_bool(rec, "isDefault", 0) != 1 &&
        lse_int(rec, "sortOrder", &pos) == 1 && pos >= 0 && pos < 1000000)
        v.position = (int)pos + 1;
    else if (lse_bool(rec, "isDefault", 0) != 1)
        v.position = 1;
    v.options = opts;
    v.noptions = variant_options(L, rec, id, opts);
    if (store_put_variant(L->s, &v, NULL) != 0 ||
        variant_stock(L, rec, id, v.product_id, v.track_stock) != 0)
        return LSE_ROW_FAIL;
    return LSE_ROW_OK;
}

int
lse_catlink_row(struct lse *L, cJSON *rec, const char *id)
{
    const char *p = lse_ref_dup(L, rec, "product");
    const char *c = lse_ref_dup(L, rec, "category");
    int64_t pos = 0;

    (void)id;
    if (p == NULL || c == NULL)
        return LSE_ROW_SKIP;
    lse_int(rec, "sortOrder", &pos);
    return exec_text(L, "INSERT INTO lse_links(product_id, category_id, "
                     "pos) VALUES (?1, ?2, ?3)", p, c, pos) == 0
        ? LSE_ROW_OK : LSE_ROW_FAIL;
}

/* One product's links from lse_links (known products and categories). */
static int
links_of(struct lse *L, const char *pid, struct pf_err *err)
{
    sqlite3_stmt *st = store_stmt(L->s, "SELECT l.category_id FROM "
                                  "lse_links l JOIN categories c ON c.id "
                                  "= l.category_id WHERE l.product_id = ?1 "
                                  "GROUP BY l.category_id ORDER BY "
                                  "MIN(l.pos), l.category_id", err);
    char **ids = NULL;
    size_t n = 0, i;
    int r, rc = -1;

    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, pid, -1, SQLITE_TRANSIENT);
    while ((r = store_step(L->s, st, err, "reading links of %s", pid)) ==
           1) {
        ids = xrealloc(ids, (n + 1) * sizeof(*ids));
        ids[n++] = xstrdup((const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_reset(st);
    if (r == 0)
        rc = store_set_product_categories(L->s, pid,
                                          (const char *const *)ids, n, err);
    for (i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    return rc;
}

int
lse_links_apply(struct lse *L, int complete, struct pf_err *err)
{
    sqlite3_stmt *st;
    char **pids = NULL;
    size_t n = 0, i;
    int r, rc = 0;

    st = store_stmt(L->s, complete ? "SELECT id FROM products" :
                    "SELECT DISTINCT product_id FROM lse_links", err);
    if (st == NULL)
        return -1;
    while ((r = store_step(L->s, st, err, "reading products")) == 1) {
        pids = xrealloc(pids, (n + 1) * sizeof(*pids));
        pids[n++] = xstrdup((const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_reset(st);
    if (r < 0)
        rc = -1;
    for (i = 0; i < n; i++) {
        if (rc == 0 && links_of(L, pids[i], err) != 0)
            rc = -1;
        free(pids[i]);
    }
    free(pids);
    return rc;
}

/* ---- customers ---------------------------------------------------------- */

/* "Street 12a" from the billing address parts. */
static const char *
street(struct lse *L, cJSON *rec, const char *id)
{
    const char *s = lse_text(L, rec, "addressBillingStreet", "customers",
                             id);
    const char *n = lse_text(L, rec, "addressBillingNumber", "customers",
                             id);
    const char *x = lse_text(L, rec, "addressBillingExtension",
                             "customers", id);
    char *t;
    const char *out;

    if (s == NULL)
        return NULL;
    t = xasprintf("%s%s%s%s", s, n ? " " : "", n ? n : "", x ? x : "");
    out = pf_arena_strdup(&L->arena, t);
    free(t);
    return out;
}

/* The billing country's code: an object {code,...} or a string. */
static const char *
country(struct lse *L, cJSON *rec, const char *id)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(rec,
                                                      "addressBillingCountry");

    if (cJSON_IsObject(c))
        return lse_text(L, c, "code", "customers", id);
    return lse_text(L, rec, "addressBillingCountry", "customers", id);
}

int
lse_customer_row(struct lse *L, cJSON *rec, const char *id)
{
    struct store_customer c = {0};
    int consent = lse_bool(rec, "newsletterSubscribed", -1);

    c.id = id;
    c.email = lse_text(L, rec, "email", "customers", id);
    c.first_name = lse_text(L, rec, "firstname", "customers", id);
    c.last_name = lse_text(L, rec, "lastname", "customers", id);
    if (lse_bool(rec, "isCompany", 0) == 1 ||
        lse_str(rec, "companyName", (char[64]){0}) != NULL)
        c.company = lse_text(L, rec, "companyName", "customers", id);
    c.address1 = street(L, rec, id);
    c.city = lse_text(L, rec, "addressBillingCity", "customers", id);
    c.region = lse_text(L, rec, "addressBillingRegion", "customers", id);
    c.zip = lse_text(L, rec, "addressBillingZipcode", "customers", id);
    c.country = country(L, rec, id);
    c.phone = lse_text(L, rec, "phone", "customers", id);
    if (c.phone == NULL)
        c.phone = lse_text(L, rec, "mobile", "customers", id);
    /* Consent is what the shop recorded, never more: an unreadable
     * value is "unknown". */
    c.consent = consent < 0 ? -1 : consent;
    c.created_at = lse_when(L, rec, "createdAt", "customers", id);
    c.updated_at = lse_when(L, rec, "updatedAt", "customers", id);
    return store_put_customer(L->s, &c, NULL) == 0 ? LSE_ROW_OK
                                                   : LSE_ROW_FAIL;
}

/* ---- orders ------------------------------------------------------------- */

/* 1 when the order's lines must be fetched (new or changed, created
 * within the lookback), 0 when the stored ones are current, -1 a store
 * error. */
static int
order_needs_lines(struct lse *L, cJSON *rec, const char *id)
{
    struct pf_err e;
    sqlite3_stmt *st;
    char buf[64];
    const char *upd = lse_str(rec, "updatedAt", buf);
    int64_t created = 0;
    int r;

    if (lse_time(rec, "createdAt", &created) == 1 &&
        created < L->o->orders_since)
        return 0;
    st = store_stmt(L->s, "SELECT 1 FROM lse_orders WHERE id = ?1 AND "
                    "version IS ?2", &e);
    if (st == NULL) {
        lse_store_failed(L, &e);
        return -1;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    if (upd != NULL)
        sqlite3_bind_text(st, 2, upd, -1, SQLITE_TRANSIENT);
    r = store_step(L->s, st, &e, "reading lse_orders for %s", id);
    sqlite3_reset(st);
    if (r < 0)
        lse_store_failed(L, &e);
    return r < 0 ? -1 : !r;
}

int
lse_order_fetch(struct lse *L, cJSON *rec, const char *id,
                struct pf_err *err)
{
    int r = order_needs_lines(L, rec, id);

    if (r < 0) {
        pf_errf(err, "orders %s: %s", id, L->serr.msg);
        L->serr_set = 0;
        return -1;
    }
    return r == 0 ? 0 : lse_fetch_detail(L, "orders", id, "products",
                                         LSE_D_LINES, err);
}

/* Upserts a line (an unchanged one writes nothing) and adds its id to
 * ids: what is not listed there is deleted afterwards (drop_unlisted). */
static int
put_line(struct lse *L, const struct store_order_line *l, cJSON *ids)
{
    if (store_put_order_line(L->s, l, NULL) != 0)
        return LSE_ROW_FAIL;
    cJSON_AddItemToArray(ids, cJSON_CreateString(l->id));
    return LSE_ROW_OK;
}

/* The lines of order oid not in ids go. Deleting them all and inserting
 * them again marked the order changed whenever its lines were read
 * again, so Clerk's modified_after answers carried it although nothing
 * it shows had changed. */
static int
drop_unlisted(struct lse *L, const char *oid, const cJSON *ids)
{
    char *list = cJSON_PrintUnformatted(ids);
    int rc = exec_text(L, "DELETE FROM order_lines WHERE order_id = ?1 "
                       "AND id NOT IN (SELECT value FROM json_each(?2))",
                       oid, list, 0);

    cJSON_free(list);
    return rc;
}

/* One line of orders/{id}/products.json. */
static int
order_line(struct lse *L, cJSON *ln, const char *oid, int pos, cJSON *ids)
{
    struct store_order_line l = {0};
    const char *incl = L->o->prices_excl ? "Excl" : "Incl";
    char key[32], lid[64];
    int64_t qty = 0, total = 0;

    if (record_text_id(ln, lid) != 0)
        return LSE_ROW_SKIP;
    l.id = lid;
    l.order_id = oid;
    l.product_id = lse_ref_dup(L, ln, "product");
    l.variant_id = lse_ref_dup(L, ln, "variant");
    if (!has(L, "products", l.product_id))
        l.product_id = NULL;
    if (!has(L, "variants", l.variant_id))
        l.variant_id = NULL;
    l.name = lse_text(L, ln, "productTitle", "orders", oid);
    l.sku = lse_text(L, ln, "sku", "orders", oid);
    if (l.sku == NULL)
        l.sku = lse_text(L, ln, "articleCode", "orders", oid);
    if (lse_int(ln, "quantityOrdered", &qty) != 1 || !store_quantity_ok(qty))
        qty = 0;
    l.quantity = qty;
    snprintf(key, sizeof(key), "basePrice%s", incl);
    if (!money(L, ln, key, "orders", oid, &l.unit_price)) {
        snprintf(key, sizeof(key), "price%s", incl);
        if (money(L, ln, key, "orders", oid, &total) && qty != 0)
            l.unit_price = total / qty;
    }
    snprintf(key, sizeof(key), "discount%s", incl);
    money(L, ln, key, "orders", oid, &l.discount);
    l.position = pos;
    return put_line(L, &l, ids);
}

static int
order_lines(struct lse *L, const char *oid, const char *version)
{
    cJSON *arr = lse_list(L->detail[LSE_D_LINES], "orderProducts",
                          "orderProduct"), *ln;
    cJSON *ids = cJSON_CreateArray();
    int pos = 0, rc = 0;

    cJSON_ArrayForEach(ln, arr) {
        if (order_line(L, ln, oid, pos++, ids) == LSE_ROW_FAIL) {
            rc = -1;
            break;
        }
    }
    if (rc == 0)
        rc = drop_unlisted(L, oid, ids);
    cJSON_Delete(ids);
    if (rc != 0)
        return LSE_ROW_FAIL;
    return exec_text(L, "INSERT INTO lse_orders(id, version) VALUES (?1, "
                     "?2) ON CONFLICT(id) DO UPDATE SET version = "
                     "excluded.version", oid, version, 0) == 0
        ? LSE_ROW_OK : LSE_ROW_FAIL;
}

static void
order_amounts(struct lse *L, cJSON *rec, const char *id,
              struct store_order *o)
{
    const char *incl = L->o->prices_excl ? "Excl" : "Incl";
    char key[32];

    snprintf(key, sizeof(key), "price%s", incl);
    money(L, rec, key, "orders", id, &o->total);
    snprintf(key, sizeof(key), "discount%s", incl);
    if (!money(L, rec, key, "orders", id, &o->discount_total))
        money(L, rec, "discountAmount", "orders", id, &o->discount_total);
    if (o->discount_total < 0)
        o->discount_total = -o->discount_total;
}

int
lse_order_row(struct lse *L, cJSON *rec, const char *id)
{
    struct store_order o = {0};
    char buf[64];
    const char *code, *ship, *version;

    o.id = id;
    o.number = lse_text(L, rec, "number", "orders", id);
    o.status = lse_text(L, rec, "status", "orders", id);
    if (o.status == NULL)
        o.status = "unknown";
    o.location_id = L->location;
    o.customer_id = lse_ref_dup(L, rec, "customer");
    if (!has(L, "customers", o.customer_id))
        o.customer_id = NULL;
    o.email = lse_text(L, rec, "email", "orders", id);
    o.currency = L->o->currency;
    o.created_at = lse_when(L, rec, "createdAt", "orders", id);
    order_amounts(L, rec, id, &o);
    code = lse_text(L, rec, "discountCouponCode", "orders", id);
    if (code != NULL) {
        o.discount_codes = &code;
        o.ndiscount_codes = 1;
    }
    ship = lse_str(rec, "shipmentStatus", buf);
    o.shipped = ship != NULL && strcmp(ship, "shipped") == 0;
    if (o.created_at == 0) {
        sync_warn(L->rep, "orders", "orders %s: field 'createdAt': "
                  "missing", id);
        return LSE_ROW_SKIP;
    }
    if (store_put_order(L->s, &o, NULL) != 0)
        return LSE_ROW_FAIL;
    version = lse_text(L, rec, "updatedAt", "orders", id);
    return L->detail[LSE_D_LINES] != NULL ? order_lines(L, id, version)
                                          : LSE_ROW_OK;
}

/* A shipment marks its order shipped (at the shipment's time). */
int
lse_shipment_row(struct lse *L, cJSON *rec, const char *id)
{
    const char *oid = lse_ref_dup(L, rec, "order");
    char buf[64];
    const char *st = lse_str(rec, "status", buf);
    int64_t at = lse_when(L, rec, "createdAt", "shipments", id);

    if (!has(L, "orders", oid))
        return LSE_ROW_SKIP;
    if (st != NULL && strcmp(st, "cancelled") == 0)
        return LSE_ROW_SKIP;
    return exec_text(L, "UPDATE orders SET shipped = 1, shipped_at = "
                     "NULLIF(?3, 0) WHERE id = ?1 AND (shipped = 0 OR "
                     "shipped_at IS NOT NULLIF(?3, 0))", oid, NULL, at)
        == 0 ? LSE_ROW_OK : LSE_ROW_FAIL;
}

/* A returned line: the order's line it names, with the quantity
 * negative. A line the store does not have is a warning. */
static int
return_line(struct lse *L, const cJSON *x, const char *rid,
            const char *oid, int pos, cJSON *ids)
{
    struct store_order_line l = {0};
    struct pf_err e;
    sqlite3_stmt *st;
    char buf[64], lid[160];
    const char *src = lse_str(x, "id", buf);
    int64_t qty = 0;
    int r;

    if (src == NULL || lse_int(x, "quantity", &qty) != 1 || qty <= 0 ||
        !store_quantity_ok(qty))
        return LSE_ROW_SKIP;
    st = store_stmt(L->s, "SELECT product_id, variant_id, name, sku, "
                    "unit_price FROM order_lines WHERE id = ?1 AND "
                    "order_id = ?2", &e);
    if (st == NULL) {
        lse_store_failed(L, &e);
        return LSE_ROW_FAIL;
    }
    sqlite3_bind_text(st, 1, src, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, oid, -1, SQLITE_TRANSIENT);
    r = store_step(L->s, st, &e, "reading line %s of order %s", src, oid);
    if (r == 1) {
        snprintf(lid, sizeof(lid), "%s-%s", rid, src);
        l.id = lid;
        l.order_id = rid;
#define COL(i) (sqlite3_column_type(st, i) == SQLITE_NULL ? NULL : \
                pf_arena_strdup(&L->arena, \
                                (const char *)sqlite3_column_text(st, i)))
        l.product_id = COL(0);
        l.variant_id = COL(1);
        l.name = COL(2);
        l.sku = COL(3);
#undef COL
        l.unit_price = sqlite3_column_int64(st, 4);
        l.quantity = -qty;
        l.is_return = 1;
        l.position = pos;
    }
    sqlite3_reset(st);
    if (r < 0) {
        lse_store_failed(L, &e);
        return LSE_ROW_FAIL;
    }
    if (r == 0) {
        sync_warn(L->rep, "returns", "returns %s: order line %s of order "
                  "%s not in the store", rid, src, oid);
        return LSE_ROW_SKIP;
    }
    return put_line(L, &l, ids);
}

static int
return_lines(struct lse *L, cJSON *rec, const char *rid, const char *oid)
{
    const cJSON *lines = cJSON_GetObjectItemCaseSensitive(rec,
                                                          "orderProducts");
    const cJSON *list = cJSON_IsArray(lines) ? lines : NULL;
    cJSON *x, *ids = cJSON_CreateArray();
    int pos = 0, rc = 0;

    cJSON_ArrayForEach(x, list) {
        if (return_line(L, x, rid, oid, pos++, ids) == LSE_ROW_FAIL) {
            rc = -1;
            break;
        }
    }
    if (rc == 0)
        rc = drop_unlisted(L, rid, ids);
    cJSON_Delete(ids);
    return rc == 0 ? LSE_ROW_OK : LSE_ROW_FAIL;
}

/* A return is a refund order "return-N" of its order: its amount
 * negative, its lines the returned ones. The order is the "order"
 * reference in one client's schema and a flat "orderId" in another's
 * (see the emulator's notes on returns), so either is taken. */
int
lse_return_row(struct lse *L, cJSON *rec, const char *id)
{
    struct store_order o = {0};
    char rid[80];

    snprintf(rid, sizeof(rid), "return-%s", id);
    o.id = rid;
    o.refund_of = lse_ref_dup(L, rec, "order");
    if (o.refund_of == NULL)
        o.refund_of = lse_ref_dup(L, rec, "orderId");
    if (!has(L, "orders", o.refund_of)) {
        sync_warn(L->rep, "returns", "returns %s: field 'order': order %s "
                  "not in the store", id,
                  o.refund_of != NULL ? o.refund_of : "(none)");
        return LSE_ROW_SKIP;
    }
    o.number = lse_text(L, rec, "number", "returns", id);
    if (o.number == NULL)
        o.number = rid;
    o.status = lse_text(L, rec, "status", "returns", id);
    if (o.status == NULL)
        o.status = "return";
    o.location_id = L->location;
    o.customer_id = lse_ref_dup(L, rec, "customer");
    if (!has(L, "customers", o.customer_id))
        o.customer_id = NULL;
    o.email = lse_text(L, rec, "email", "returns", id);
    o.currency = L->o->currency;
    o.created_at = lse_when(L, rec, "createdAt", "returns", id);
    money(L, rec, L->o->prices_excl ? "priceExcl" : "priceIncl", "returns",
          id, &o.total);
    o.total = o.total > 0 ? -o.total : o.total;
    if (o.created_at == 0) {
        sync_warn(L->rep, "returns", "returns %s: field 'createdAt': "
                  "missing", id);
        return LSE_ROW_SKIP;
    }
    if (store_put_order(L->s, &o, NULL) != 0)
        return LSE_ROW_FAIL;
    return return_lines(L, rec, rid, o.refund_of);
}

/* ---- reviews and pages -------------------------------------------------- */

int
lse_review_row(struct lse *L, cJSON *rec, const char *id)
{
    struct store_review r = {0};
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(rec, "score");
    char buf[64];
    const char *s = lse_str(rec, "score", buf);

    r.id = id;
    r.product_id = lse_ref_dup(L, rec, "product");
    if (!has(L, "products", r.product_id))
        return LSE_ROW_SKIP;
    if (s == NULL || (!cJSON_IsNumber(sc) && !cJSON_IsString(sc))) {
        sync_warn(L->rep, "reviews", "reviews %s: field 'score': missing",
                  id);
        return LSE_ROW_SKIP;
    }
    r.score = strtod(s, NULL);
    /* Stars 1..5; a shop that sends percentages (0..100) is scaled. */
    if (r.score > 5 && r.score <= 100)
        r.score /= 20;
    if (!(r.score >= 0 && r.score <= 5)) {
        sync_warn(L->rep, "reviews", "reviews %s: field 'score': %s is "
                  "out of range", id, s);
        return LSE_ROW_SKIP;
    }
    r.visible = lse_bool(rec, "isVisible", 1) != 0;
    r.created_at = lse_when(L, rec, "createdAt", "reviews", id);
    return store_put_review(L->s, &r, NULL) == 0 ? LSE_ROW_OK
                                                 : LSE_ROW_FAIL;
}

int
lse_textpage_row(struct lse *L, cJSON *rec, const char *id)
{
    struct store_page p = {0};
    char pid[80];

    snprintf(pid, sizeof(pid), "page-%s", id);
    p.id = pid;
    p.kind = "page";
    p.title = lse_text(L, rec, "title", "textpages", id);
    p.url = shop_link(L, lse_text(L, rec, "url", "textpages", id),
                      ".html");
    p.content = lse_text(L, rec, "content", "textpages", id);
    p.created_at = lse_when(L, rec, "createdAt", "textpages", id);
    p.updated_at = lse_when(L, rec, "updatedAt", "textpages", id);
    p.visible = lse_bool(rec, "isVisible", 1) != 0;
    return store_put_page(L->s, &p, NULL) == 0 ? LSE_ROW_OK
                                               : LSE_ROW_FAIL;
}

/* An article lives under its blog: blogs/{blog}/{article}.html. */
static const char *
article_link(struct lse *L, cJSON *rec, const char *id)
{
    const char *slug = lse_text(L, rec, "url", "articles", id);
    const char *blog = name_of(L, LSE_BLOGS, lse_ref_dup(L, rec, "blog"));
    char *path;
    const char *out;

    if (slug == NULL || blog == NULL)
        return shop_link(L, slug, ".html");
    path = xasprintf("blogs/%s/%s", blog, slug);
    out = shop_link(L, pf_arena_strdup(&L->arena, path), ".html");
    free(path);
    return out;
}

int
lse_article_row(struct lse *L, cJSON *rec, const char *id)
{
    struct store_page p = {0};
    const cJSON *img = cJSON_GetObjectItemCaseSensitive(rec, "image");
    char pid[80], buf[64];
    const char *src = cJSON_IsObject(img) ? lse_str(img, "src", buf) : NULL;
    char *u = src != NULL ? lse_image_url(src, L->o->image_size) : NULL;
    int rc;

    snprintf(pid, sizeof(pid), "article-%s", id);
    p.id = pid;
    p.kind = "article";
    p.title = lse_text(L, rec, "title", "articles", id);
    p.url = article_link(L, rec, id);
    p.summary = lse_text(L, rec, "summary", "articles", id);
    p.content = lse_text(L, rec, "content", "articles", id);
    p.author = lse_text(L, rec, "author", "articles", id);
    p.image = u;
    p.created_at = lse_when(L, rec, "createdAt", "articles", id);
    p.updated_at = lse_when(L, rec, "updatedAt", "articles", id);
    p.visible = lse_bool(rec, "isPublished", 1) != 0 &&
        lse_bool(rec, "isVisible", 1) != 0;
    rc = store_put_page(L->s, &p, NULL) == 0 ? LSE_ROW_OK : LSE_ROW_FAIL;
    free(u);
    return rc;
}

/* ---- tags ----------------------------------------------------------------
 * The tags/products join has no timestamps and changing it does not move
 * the product's updatedAt, so it is kept whole in lse_tags (link id,
 * product, tag) and a product's "tags" attribute is rebuilt from it. */

int
lse_taglink_row(struct lse *L, cJSON *rec, const char *id)
{
    const char *p = lse_ref_dup(L, rec, "product");
    const char *t = lse_ref_dup(L, rec, "tag");

    if (p == NULL || t == NULL)
        return LSE_ROW_SKIP;
    return exec_text(L, "INSERT OR REPLACE INTO lse_tags_new(product_id, "
                     "tag_id, link) VALUES (?1, ?2, ?3)", p, t,
                     strtoll(id, NULL, 10)) == 0 ? LSE_ROW_OK
                                                  : LSE_ROW_FAIL;
}

/* One product's custom attributes again: the stored ones but its tags,
 * then its tags as lse_tags has them now. */
static int
retag(struct lse *L, const char *pid, struct pf_err *err)
{
    sqlite3_stmt *st = store_stmt(L->s, "SELECT name, value FROM "
                                  "attributes WHERE entity = 'product' AND "
                                  "entity_id = ?1 AND origin = 'custom' "
                                  "AND name <> 'tags' ORDER BY position",
                                  err);
    struct store_option *a = NULL;
    size_t n = 0;
    int r;

    if (st == NULL)
        return -1;
    pf_arena_reset(&L->arena);
    sqlite3_bind_text(st, 1, pid, -1, SQLITE_TRANSIENT);
    while ((r = store_step(L->s, st, err, "reading attributes of %s",
                           pid)) == 1) {
        a = xrealloc(a, (n + 1) * sizeof(*a));
        a[n].name = pf_arena_strdup(&L->arena,
                                    (const char *)sqlite3_column_text(st,
                                                                      0));
        a[n++].value = pf_arena_strdup(&L->arena, (const char *)
                                       sqlite3_column_text(st, 1));
    }
    sqlite3_reset(st);
    if (r == 0)
        r = add_tags(L, pid, &a, &n, err);
    if (r == 0)
        r = store_set_attributes(L->s, "product", pid, STORE_ATTR_CUSTOM,
                                 a, n, err);
    free(a);
    return r;
}

int
lse_tags_apply(struct lse *L, int swap, struct pf_err *err)
{
    sqlite3_stmt *st;
    char **pids = NULL;
    size_t n = 0, i;
    int r, rc = 0;

    if (swap && store_exec(L->s, "DELETE FROM lse_tags; INSERT INTO "
                           "lse_tags(link, product_id, tag_id) SELECT "
                           "link, product_id, tag_id FROM lse_tags_new",
                           err) != 0)
        return -1;
    /* Products that have tags, or had: replace_set writes only the
     * ones whose tags changed. */
    st = store_stmt(L->s, "SELECT id FROM products WHERE id IN (SELECT "
                    "product_id FROM lse_tags UNION SELECT entity_id FROM "
                    "attributes WHERE entity = 'product' AND origin = "
                    "'custom' AND name = 'tags')", err);
    if (st == NULL)
        return -1;
    while ((r = store_step(L->s, st, err, "reading products")) == 1) {
        pids = xrealloc(pids, (n + 1) * sizeof(*pids));
        pids[n++] = xstrdup((const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_reset(st);
    if (r < 0)
        rc = -1;
    for (i = 0; i < n; i++) {
        if (rc == 0 && retag(L, pids[i], err) != 0)
            rc = -1;
        free(pids[i]);
    }
    free(pids);
    return rc;
}
