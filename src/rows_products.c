/* rows_products.c - product rows (with their variants, images,
 * categories and attributes) and the variants collection, one row per
 * variant walked from its product. See rows.h. */
#include "rows.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed.h"
#include "log.h"

static const char sql_products[] =
    "SELECT id, name, description, url, brand, created_at, updated_at, "
    "visible, has_stock, stock FROM";
static const struct rows_sql sql_variants = ROWS_SQL(
    "SELECT v.product_id, v.id, v.sku, v.ean, v.upc, v.image, v.price, "
    "v.list_price, v.currency, v.track_stock, v.options, "
    /* Sellable stock: each location's count floored at zero (one
     * store's oversold -3 must not cancel another's real 3), clamped to
     * the store's bound, which rows stored before the bound existed may
     * exceed; an exact integer sum. */
    "(SELECT coalesce(sum(max(0, min(quantity, " STORE_MAX_QUANTITY_SQL
    "))), 0) FROM stock WHERE variant_id = v.id) "
    "FROM variants v", "v.product_id", " ORDER BY v.product_id, v.position");
static const struct rows_sql sql_images = ROWS_SQL(
    "SELECT product_id, url FROM images", "product_id",
    " ORDER BY product_id, position");
static const struct rows_sql sql_product_categories = ROWS_SQL(
    "SELECT pc.product_id, c.id, c.name, c.full_path, c.shown "
    "FROM product_categories pc JOIN categories c ON c.id = pc.category_id",
    "pc.product_id", " ORDER BY pc.product_id, pc.position");
static const struct rows_sql sql_attributes = ROWS_SQL_AND(
    "SELECT entity_id, origin, name, value FROM attributes "
    "WHERE entity = 'product'", "entity_id",
    " ORDER BY entity_id, origin, position");

static int list_attrs_scan(struct feed_data *d, struct pf_err *err);

int
rows_products_open(struct feed_data *d, struct feed_cursor *fc,
                   struct pf_err *err)
{
    if (!d->list_attrs_known && list_attrs_scan(d, err) != 0)
        return -1;
    if (rows_main_open(d, &fc->main, sql_products, "products",
                       "visible = 1", "products", err) != 0 ||
        rows_child_open(d, &fc->c1, &sql_variants, "variants", err) != 0 ||
        rows_child_open(d, &fc->c2, &sql_images, "images", err) != 0 ||
        rows_child_open(d, &fc->c3, &sql_product_categories,
                        "product categories", err) != 0 ||
        rows_child_open(d, &fc->c4, &sql_attributes, "attributes",
                        err) != 0 ||
        rows_ratings_open(d, fc, err) != 0)
        return -1;
    return 0;
}

#define MAX_OPTIONS 8

struct variant {
    const char *id, *sku, *ean, *upc, *image, *currency;
    int64_t price, list_price, stock;
    int decimals, tracked, sellable;
    cJSON *options;         /* [[name, value], ...] or NULL */
    /* Per option: which per-option list it feeds, and the value. */
    struct {
        size_t list;
        const char *value;
    } opt[MAX_OPTIONS];
    int nopt;
};

/* The per-option list of "Size" is "sizes": the sanitized name plus an
 * "s" unless it already ends in one. */
static void
option_list_name(const char *aname, char out[72])
{
    size_t n = strlen(aname);

    memcpy(out, aname, n);
    if (n > 0 && aname[n - 1] != 's')
        out[n++] = 's';
    out[n] = '\0';
}

/* Named values gathered for attributes and option lists. */
struct attr {
    char name[64];
    struct vlist values;
    int is_list;
};

struct attrs {
    struct attr *a;
    size_t n, cap;
};

static struct attr *
attr_get(struct attrs *as, const char *name)
{
    size_t i;

    for (i = 0; i < as->n; i++)
        if (strcmp(as->a[i].name, name) == 0)
            return &as->a[i];
    if (as->n == as->cap) {
        as->cap = as->cap ? as->cap * 2 : 8;
        as->a = xrealloc(as->a, as->cap * sizeof(*as->a));
    }
    memset(&as->a[as->n], 0, sizeof(as->a[0]));
    snprintf(as->a[as->n].name, sizeof(as->a[0].name), "%s", name);
    return &as->a[as->n++];
}

static void
attrs_free(struct attrs *as)
{
    size_t i;

    for (i = 0; i < as->n; i++)
        free(as->a[i].values.items);
    free(as->a);
    memset(as, 0, sizeof(*as));
}

static struct pf_value
attrs_value(struct feed_data *d, struct attrs *as)
{
    struct pf_obj *o = pf_obj_new(&d->row);
    const char *name;
    size_t i;

    for (i = 0; i < as->n; i++) {
        struct attr *a = &as->a[i];

        if (a->values.n == 0 || a->name[0] == '\0')
            continue;
        name = pf_arena_strdup(&d->row, a->name);
        if (a->values.n == 1 && !a->is_list &&
            !pf_strlist_has(&d->list_attrs, a->name))
            rows_set(d, o, name, a->values.items[0]);
        else
            rows_set(d, o, name, vl_value(d, &a->values));
    }
    return pf_v_obj(o);
}

static int
is_custom(struct feed_data *d, const char *name)
{
    size_t i;

    for (i = 0; i < d->ss->custom_attributes.n; i++)
        if (strcmp(d->custom_names[i], name) == 0)
            return 1;
    return 0;
}

/* ---- one type per attribute ----------------------------------------------
 * A feed attribute keeps one type across all products: Clerk and the
 * other platforms type an attribute by the values they see, so "tags" a
 * string on one product and a list on the next is refused or misread.
 * The builder cannot see the rows ahead, so the store tells: a name is a
 * list everywhere when some product has more than one value for it (a
 * list in the source, even of one element, is stored as the name
 * repeated), or when it is a variant option (always a list of the
 * option's values); otherwise it is a single value everywhere. */

/* Sanitized names, with the repeats among attributes of one product. */
static const char sql_attr_names[] =
    "SELECT entity_id, origin, name FROM attributes "
    "WHERE entity = 'product' ORDER BY entity_id";
/* Option names; a damaged options text is skipped here as the row
 * builder skips it. */
static const char sql_option_names[] =
    "SELECT DISTINCT json_extract(o.value, '$[0]') FROM variants v, "
    "json_each(CASE WHEN json_valid(v.options) THEN v.options "
    "ELSE '[]' END) o WHERE v.options IS NOT NULL";

static void
list_attr_add(struct feed_data *d, const char *name)
{
    struct pf_strlist *l = &d->list_attrs;

    if (name[0] == '\0' || pf_strlist_has(l, name))
        return;
    l->items = xrealloc(l->items, (l->n + 1) * sizeof(*l->items));
    l->items[l->n++] = xstrdup(name);
}

/* An attribute row the product rows use: custom ones the merchant
 * named, auto ones when attributes = auto. */
static int
attr_wanted(struct feed_data *d, const char *origin, const char *aname)
{
    if (aname[0] == '\0')
        return 0;
    if (strcmp(origin, "auto") == 0)
        return d->ss->attributes == PF_ATTR_AUTO;
    return is_custom(d, aname);
}

static void
names_clear(struct pf_strlist *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        free(l->items[i]);
    l->n = 0;
}

static int
scan_repeated_names(struct feed_data *d, struct pf_err *err)
{
    struct cursor c;
    struct pf_strlist seen = {0};   /* names of the current product */
    char *prev = NULL, aname[64];
    int rc = -1;

    if (cur_open(d->store, &c, sql_attr_names, "attributes", err) != 0)
        return -1;
    for (;;) {
        if (cur_step(&c, err) != 0)
            goto cleanup;
        if (!c.has_row)
            break;
        if (prev == NULL || strcmp(prev, cur_col(&c, 0)) != 0) {
            free(prev);
            prev = xstrdup(cur_col(&c, 0));
            names_clear(&seen);
        }
        feed_attr_name(cur_col(&c, 2), aname, sizeof(aname));
        if (!attr_wanted(d, cur_col(&c, 1), aname))
            continue;
        if (pf_strlist_has(&seen, aname)) {
            list_attr_add(d, aname);
            continue;
        }
        seen.items = xrealloc(seen.items,
                              (seen.n + 1) * sizeof(*seen.items));
        seen.items[seen.n++] = xstrdup(aname);
    }
    rc = 0;
cleanup:
    cur_close(&c);
    names_clear(&seen);
    free(seen.items);
    free(prev);
    return rc;
}

static int
scan_option_names(struct feed_data *d, struct pf_err *err)
{
    struct cursor c;
    char aname[64];
    int rc = -1;

    if (cur_open(d->store, &c, sql_option_names, "variant options",
                 err) != 0)
        return -1;
    for (;;) {
        if (cur_step(&c, err) != 0)
            goto cleanup;
        if (!c.has_row)
            break;
        feed_attr_name(cur_col(&c, 0), aname, sizeof(aname));
        list_attr_add(d, aname);
    }
    rc = 0;
cleanup:
    cur_close(&c);
    return rc;
}

static int
list_attrs_scan(struct feed_data *d, struct pf_err *err)
{
    if (scan_repeated_names(d, err) != 0)
        return -1;
    if (d->ss->attributes == PF_ATTR_AUTO && scan_option_names(d, err) != 0)
        return -1;
    d->list_attrs_known = 1;
    return 0;
}

static const char *
opt_name(const cJSON *pair)
{
    const cJSON *n = cJSON_GetArrayItem(pair, 0);

    return cJSON_IsString(n) ? n->valuestring : NULL;
}

static const char *
opt_value(const cJSON *pair)
{
    const cJSON *v = cJSON_GetArrayItem(pair, 1);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* 1 if code is a GTIN-8/12/13/14 whose check digit is right. */
static int
gtin_valid(const char *code)
{
    size_t n = strlen(code), i;
    int sum = 0, w;

    if (n != 8 && n != 12 && n != 13 && n != 14)
        return 0;
    for (i = 0; i < n; i++)
        if (code[i] < '0' || code[i] > '9')
            return 0;
    /* Weights 3,1,3,... from the digit left of the check digit. */
    for (i = 0; i + 1 < n; i++) {
        w = ((n - 1 - i) % 2 == 1) ? 3 : 1;
        sum += (code[i] - '0') * w;
    }
    return (10 - sum % 10) % 10 == code[n - 1] - '0';
}

/* Option names merchants use for colour and size, in a few languages. */
static int
option_is(const char *name, const char *const *words)
{
    char n[64];

    feed_attr_name(name, n, sizeof(n));
    for (; *words != NULL; words++)
        if (strcmp(n, *words) == 0)
            return 1;
    return 0;
}

static const char *const colour_words[] = {
    "color", "colour", "kleur", "farbe", "couleur", "colore", NULL
};
static const char *const size_words[] = {
    "size", "maat", "grosse", "gr_e", "taille", "taglia", "talla", NULL
};

/* Channels want the regular price plus a sale price when lower. */
static void
variant_prices(struct feed_data *d, struct pf_obj *vo,
               const struct variant *v)
{
    int on_sale = v->list_price > v->price;

    rows_set(d, vo, "price", pf_v_money(v->price, v->decimals, v->currency));
    if (on_sale)
        rows_set(d, vo, "list_price",
                 pf_v_money(v->list_price, v->decimals, v->currency));
    rows_set(d, vo, "regular_price",
             pf_v_money(on_sale ? v->list_price : v->price, v->decimals,
                        v->currency));
    if (on_sale)
        rows_set(d, vo, "sale_price",
                 pf_v_money(v->price, v->decimals, v->currency));
    rows_set(d, vo, "on_sale", pf_v_bool(on_sale));
    rows_set(d, vo, "currency", pf_v_str(&d->row, v->currency));
}

/* Up to 10 more images, the ones not used as the main image. */
static struct pf_value
more_images(struct feed_data *d, const struct variant *v,
            const struct vlist *images)
{
    struct pf_value more = pf_v_list(&d->row, images->n < 10 ? images->n
                                                             : 10);
    size_t i, k = 0;

    for (i = 0; i < images->n && k < more.u.list.n; i++) {
        if (!v->image[0] && i == 0)
            continue;
        more.u.list.items[k++] = images->items[i];
    }
    more.u.list.n = k;
    return more;
}

/* One variant as templates see it: its own fields plus what a channel
 * feed needs per item (title with options, GTIN, sale price, images). */
static struct pf_obj *
variant_obj(struct feed_data *d, const struct variant *v,
            const char *product_name, const char *description,
            const char *link, struct pf_value first_image,
            const struct vlist *images)
{
    struct pf_obj *vo = pf_obj_new(&d->row), *oo = pf_obj_new(&d->row);
    struct pf_buf title;
    const cJSON *pair;
    const char *gtin = NULL;
    size_t nopt = 0;

    pf_buf_init(&title);
    pf_buf_adds(&title, product_name);
    cJSON_ArrayForEach(pair, v->options) {
        const char *n = opt_name(pair), *val = opt_value(pair);

        if (n == NULL || val == NULL)
            continue;
        rows_set(d, oo, pf_arena_strdup(&d->row, n),
                 pf_v_str(&d->row, val));
        if (option_is(n, colour_words))
            rows_set(d, vo, "color", pf_v_str(&d->row, val));
        else if (option_is(n, size_words))
            rows_set(d, vo, "size", pf_v_str(&d->row, val));
        pf_buf_adds(&title, nopt++ == 0 ? " - " : " / ");
        pf_buf_adds(&title, val);
    }
    if (gtin_valid(v->ean))
        gtin = v->ean;
    else if (gtin_valid(v->upc))
        gtin = v->upc;
    rows_set(d, vo, "id", pf_v_str(&d->row, v->id));
    rows_set(d, vo, "title", pf_v_strn(&d->row, title.data, title.len));
    /* Channels refuse an item without a description: the name will do. */
    rows_set(d, vo, "description",
             pf_v_str(&d->row, description[0] ? description : product_name));
    rows_set(d, vo, "sku", pf_v_str(&d->row, v->sku));
    rows_set(d, vo, "ean", pf_v_str(&d->row, v->ean));
    rows_set(d, vo, "upc", pf_v_str(&d->row, v->upc));
    rows_set(d, vo, "gtin", pf_v_str(&d->row, gtin));
    rows_set(d, vo, "mpn", pf_v_str(&d->row, v->sku));
    /* Google's identifier_exists is only ever sent as "no". */
    if (gtin == NULL && v->sku[0] == '\0')
        rows_set(d, vo, "identifier_exists", pf_v_str(&d->row, "no"));
    variant_prices(d, vo, v);
    /* Channels require a link: the shop's home page stands in for a
     * product without a page of its own. */
    rows_set(d, vo, "link", rows_url(d, link[0] ? link : d->cfg->shop_url));
    rows_set(d, vo, "image",
             v->image[0] ? rows_url(d, v->image) : first_image);
    rows_set(d, vo, "additional_images", more_images(d, v, images));
    if (v->tracked)
        rows_set(d, vo, "stock", pf_v_int(v->stock));
    rows_set(d, vo, "in_stock", pf_v_bool(v->sellable));
    rows_set(d, vo, "availability",
             pf_v_str(&d->row, v->sellable ? "in_stock" : "out_of_stock"));
    /* Klaviyo's $inventory_policy: 1 hides the item from recommendations
     * when out of stock, 2 shows it regardless. An item out of stock now
     * is hidden even where the feed keeps out-of-stock items (a rule
     * set.variant.inventory_policy = 2 shows it); the others follow the
     * feed: hidden once out of stock when it leaves those items out. */
    rows_set(d, vo, "inventory_policy",
             pf_v_int(!v->sellable || !d->ss->include_out_of_stock ? 1 : 2));
    rows_set(d, vo, "options", pf_v_obj(oo));
    pf_buf_free(&title);
    return vo;
}

/* One product being built: what the cursors hold for it, and the lists
 * its row is made of. */
struct prod {
    struct feed_data *d;
    struct feed_cursor *fc;
    const char *pid;
    struct variant *vs;
    size_t nv, capv;
    int ntracked;           /* variants whose stock is tracked */
    int any;                /* some variant is sellable */
    int stock_known;        /* tracked somewhere: the row has a stock */
    int64_t stock;          /* the product's stock */
    struct variant *best;   /* whose price the product shows */
    struct pf_value first_image;
    struct vlist images, cats, catnames, catpaths, vobjs;
    struct vlist l_ids, l_skus, l_prices, l_lists, l_imgs, l_stocks;
    struct attrs attrs, optlists;
};

static void
prod_free(struct prod *pb)
{
    size_t i;

    for (i = 0; i < pb->nv; i++)
        cJSON_Delete(pb->vs[i].options);
    free(pb->vs);
    free(pb->images.items);
    free(pb->cats.items);
    free(pb->catnames.items);
    free(pb->catpaths.items);
    free(pb->vobjs.items);
    free(pb->l_ids.items);
    free(pb->l_skus.items);
    free(pb->l_prices.items);
    free(pb->l_lists.items);
    free(pb->l_imgs.items);
    free(pb->l_stocks.items);
    attrs_free(&pb->attrs);
    attrs_free(&pb->optlists);
}

/* The variant row c is on. */
static void
read_variant(struct prod *pb, struct cursor *c)
{
    struct feed_data *d = pb->d;
    struct variant *v;
    const char *opts = (const char *)sqlite3_column_text(c->st, 10);

    if (pb->nv == pb->capv) {
        pb->capv = pb->capv ? pb->capv * 2 : 8;
        pb->vs = xrealloc(pb->vs, pb->capv * sizeof(*pb->vs));
    }
    v = &pb->vs[pb->nv++];
    memset(v, 0, sizeof(*v));
    v->id = pf_arena_strdup(&d->row, cur_col(c, 1));
    v->sku = pf_arena_strdup(&d->row, cur_col(c, 2));
    v->ean = pf_arena_strdup(&d->row, cur_col(c, 3));
    v->upc = pf_arena_strdup(&d->row, cur_col(c, 4));
    v->image = pf_arena_strdup(&d->row, cur_col(c, 5));
    v->price = sqlite3_column_int64(c->st, 6);
    v->list_price = sqlite3_column_int64(c->st, 7);
    v->currency = pf_arena_strdup(&d->row, cur_col(c, 8));
    v->decimals = rows_decimals(d, v->currency);
    v->tracked = sqlite3_column_int(c->st, 9);
    v->stock = sqlite3_column_int64(c->st, 11);
    v->options = opts ? cJSON_Parse(opts) : NULL;
    v->sellable = !v->tracked || v->stock > 0;
}

static int
read_variants(struct prod *pb, struct pf_err *err)
{
    struct cursor *c = &pb->fc->c1;
    int m;

    for (m = cur_seek(c, 0, pb->pid, err); m == 1;
         m = cur_next(c, 0, pb->pid, err))
        read_variant(pb, c);
    return m < 0 ? -1 : 0;
}

/* Stock: summed from the variants, or read from the parent when the
 * merchant tracks it there. Untracked stock never excludes. Returns 0
 * when the settings leave the product out (out of stock everywhere). */
static int
decide_stock(struct prod *pb)
{
    const struct pf_sync_settings *ss = pb->d->ss;
    struct cursor *p = &pb->fc->main;
    int has_parent_stock = sqlite3_column_int(p->st, 8);
    size_t i;

    pb->stock = 0;
    for (i = 0; i < pb->nv; i++) {
        if (pb->vs[i].tracked) {
            pb->ntracked++;
            pb->stock += pb->vs[i].stock;
        }
    }
    pb->stock_known = pb->ntracked > 0;
    if (ss->variant_stock_tracking == PF_TRACK_PARENT && has_parent_stock) {
        /* The parent's count decides for every tracked variant; an
         * oversold count is none. */
        pb->stock = sqlite3_column_int64(p->st, 9);
        if (pb->stock < 0)
            pb->stock = 0;
        else if (pb->stock > STORE_MAX_QUANTITY)
            pb->stock = STORE_MAX_QUANTITY;
        pb->stock_known = 1;
        for (i = 0; i < pb->nv; i++)
            if (pb->vs[i].tracked)
                pb->vs[i].sellable = pb->stock > 0;
    }
    pb->any = 0;
    for (i = 0; i < pb->nv; i++)
        pb->any |= pb->vs[i].sellable;
    return ss->include_out_of_stock || pb->ntracked == 0 || pb->any;
}

/* The parent's price is its cheapest sellable variant's (or cheapest of
 * all when none is sellable and out-of-stock products stay). */
static void
pick_best(struct prod *pb)
{
    size_t i;

    pb->best = NULL;
    for (i = 0; i < pb->nv; i++)
        if (pb->vs[i].sellable &&
            (pb->best == NULL || pb->vs[i].price < pb->best->price))
            pb->best = &pb->vs[i];
    if (pb->best == NULL)
        for (i = 0; i < pb->nv; i++)
            if (pb->best == NULL || pb->vs[i].price < pb->best->price)
                pb->best = &pb->vs[i];
}

static int
read_images(struct prod *pb, struct pf_err *err)
{
    struct cursor *c = &pb->fc->c2;
    int m;

    for (m = cur_seek(c, 0, pb->pid, err); m == 1;
         m = cur_next(c, 0, pb->pid, err))
        vl_add(&pb->images, rows_url(pb->d, cur_col(c, 1)));
    if (m < 0)
        return -1;
    pb->first_image = pf_v_null();
    if (pb->images.n > 0)
        pb->first_image = pb->images.items[0];
    else if (pb->best != NULL && pb->best->image[0] != '\0')
        pb->first_image = rows_url(pb->d, pb->best->image);
    return 0;
}

static int
read_categories(struct prod *pb, struct pf_err *err)
{
    struct feed_data *d = pb->d;
    struct cursor *c = &pb->fc->c3;
    int m;

    for (m = cur_seek(c, 0, pb->pid, err); m == 1;
         m = cur_next(c, 0, pb->pid, err)) {
        if (d->ss->include_hidden_categories ||
            sqlite3_column_int(c->st, 4)) {
            vl_add(&pb->cats, rows_text(d, c, 1));
            vl_add(&pb->catnames, rows_text(d, c, 2));
            vl_add(&pb->catpaths, rows_text(d, c, 3));
        }
    }
    return m < 0 ? -1 : 0;
}

/* Attributes: custom ones the merchant named, auto ones when on. */
static int
read_attributes(struct prod *pb, struct pf_err *err)
{
    struct feed_data *d = pb->d;
    struct cursor *c = &pb->fc->c4;
    char aname[64];
    int m;

    for (m = cur_seek(c, 0, pb->pid, err); m == 1;
         m = cur_next(c, 0, pb->pid, err)) {
        feed_attr_name(cur_col(c, 2), aname, sizeof(aname));
        /* An empty value is none: never a null inside a list. */
        if (attr_wanted(d, cur_col(c, 1), aname) &&
            cur_col(c, 3)[0] != '\0') {
            struct attr *a = attr_get(&pb->attrs, aname);

            if (a->values.n > 0)
                a->is_list = 1;
            vl_add(&a->values, rows_text(d, c, 3));
        }
    }
    return m < 0 ? -1 : 0;
}

/* Variant options become auto attributes (unique values, always a list)
 * and, with variant data, one list per option aligned with
 * variant_ids. */
static void
option_attrs(struct prod *pb, struct variant *v)
{
    const struct pf_sync_settings *ss = pb->d->ss;
    int in_lists = ss->include_variants &&
                   (ss->include_out_of_stock || v->sellable);
    const cJSON *pair;
    char aname[64], lname[72];

    cJSON_ArrayForEach(pair, v->options) {
        const char *n = opt_name(pair), *val = opt_value(pair);

        if (n == NULL || val == NULL)
            continue;
        feed_attr_name(n, aname, sizeof(aname));
        if (aname[0] == '\0')
            continue;
        if (ss->attributes == PF_ATTR_AUTO) {
            struct attr *a = attr_get(&pb->attrs, aname);

            a->is_list = 1;
            if (!vl_has_str(&a->values, val))
                vl_add(&a->values, pf_v_str(&pb->d->row, val));
        }
        if (in_lists && v->nopt < MAX_OPTIONS) {
            struct attr *l;

            option_list_name(aname, lname);
            l = attr_get(&pb->optlists, lname);
            l->is_list = 1;
            v->opt[v->nopt].list = (size_t)(l - pb->optlists.a);
            v->opt[v->nopt].value = val;
            v->nopt++;
        }
    }
}

/* One entry per parallel list (variant_ids, variant_prices, ..., one per
 * option), so the lists stay aligned. */
static void
variant_lists(struct prod *pb, const struct variant *v)
{
    struct feed_data *d = pb->d;
    size_t k;
    int j;

    vl_add(&pb->l_ids, pf_v_str(&d->row, v->id));
    vl_add(&pb->l_skus, pf_v_str(&d->row, v->sku));
    vl_add(&pb->l_prices, pf_v_money(v->price, v->decimals, v->currency));
    vl_add(&pb->l_lists, pf_v_money(v->list_price > v->price
                                        ? v->list_price : v->price,
                                    v->decimals, v->currency));
    vl_add(&pb->l_imgs, v->image[0] ? rows_url(d, v->image)
                                    : pb->first_image);
    /* Untracked stock counts as 1, i.e. sellable, so the list stays
     * numeric and aligned. */
    vl_add(&pb->l_stocks, pf_v_int(v->tracked ? v->stock : 1));
    for (k = 0; k < pb->optlists.n; k++) {
        const char *val = "";

        for (j = 0; j < v->nopt; j++)
            if (v->opt[j].list == k)
                val = v->opt[j].value;
        vl_add(&pb->optlists.a[k].values, pf_v_str(&d->row, val));
    }
}

/* The variants the feed shows: their objects and, with variant data,
 * their parallel lists. */
static void
build_variants(struct prod *pb)
{
    const struct pf_sync_settings *ss = pb->d->ss;
    struct cursor *p = &pb->fc->main;
    size_t i;

    for (i = 0; i < pb->nv; i++)
        option_attrs(pb, &pb->vs[i]);
    for (i = 0; i < pb->nv; i++) {
        const struct variant *v = &pb->vs[i];

        if (!ss->include_out_of_stock && !v->sellable)
            continue;
        vl_add(&pb->vobjs,
               pf_v_obj(variant_obj(pb->d, v, cur_col(p, 1), cur_col(p, 2),
                                    cur_col(p, 3), pb->first_image,
                                    &pb->images)));
        if (ss->include_variants)
            variant_lists(pb, v);
    }
}

/* Price, list price and currency: the best variant's. */
static void
set_price(struct prod *pb, struct pf_obj *o)
{
    struct feed_data *d = pb->d;
    const struct variant *b = pb->best;

    if (b == NULL)
        return;
    rows_set(d, o, "price", pf_v_money(b->price, b->decimals, b->currency));
    if (b->list_price > b->price)
        rows_set(d, o, "list_price",
                 pf_v_money(b->list_price, b->decimals, b->currency));
    rows_set(d, o, "on_sale", pf_v_bool(b->list_price > b->price));
    rows_set(d, o, "currency", pf_v_str(&d->row, b->currency));
}

static void
set_variant_lists(struct prod *pb, struct pf_obj *o)
{
    struct feed_data *d = pb->d;

    /* Parallel lists stay aligned with variant_ids: a gap is "", and a
     * list with nothing in it is left out. */
    vl_fill_gaps(&pb->l_skus);
    vl_fill_gaps(&pb->l_imgs);
    rows_set(d, o, "variant_ids", vl_value(d, &pb->l_ids));
    rows_set(d, o, "variant_skus", vl_value(d, &pb->l_skus));
    rows_set(d, o, "variant_prices", vl_value(d, &pb->l_prices));
    rows_set(d, o, "variant_list_prices", vl_value(d, &pb->l_lists));
    rows_set(d, o, "variant_images", vl_value(d, &pb->l_imgs));
    if (d->ss->include_variant_stock)
        rows_set(d, o, "variant_stocks", vl_value(d, &pb->l_stocks));
    rows_set(d, o, "variant_options", attrs_value(d, &pb->optlists));
}

static struct pf_obj *
product_obj(struct prod *pb)
{
    struct feed_data *d = pb->d;
    struct cursor *p = &pb->fc->main;
    struct pf_obj *o = pf_obj_new(&d->row);

    rows_set(d, o, "id", rows_text(d, p, 0));
    rows_set(d, o, "name", rows_text(d, p, 1));
    rows_set(d, o, "description", rows_text(d, p, 2));
    rows_set(d, o, "url", rows_url(d, cur_col(p, 3)));
    rows_set(d, o, "brand", rows_text(d, p, 4));
    rows_set(d, o, "created_at", rows_time(p, 5));
    rows_set(d, o, "updated_at", rows_time(p, 6));
    set_price(pb, o);
    if (pb->nv == 1)
        rows_set(d, o, "sku", pf_v_str(&d->row, pb->vs[0].sku));
    rows_set(d, o, "image", pb->first_image);
    rows_set(d, o, "images", vl_value(d, &pb->images));
    rows_set(d, o, "category_ids", vl_value(d, &pb->cats));
    rows_set(d, o, "category_names", vl_value(d, &pb->catnames));
    rows_set(d, o, "category_paths", vl_value(d, &pb->catpaths));
    if (pb->stock_known)
        rows_set(d, o, "stock", pf_v_int(pb->stock));
    rows_set(d, o, "in_stock", pf_v_bool(pb->any));
    rows_set(d, o, "has_variants",
             pf_v_bool(pb->nv > 1 ||
                       (pb->nv == 1 &&
                        cJSON_GetArraySize(pb->vs[0].options) > 0)));
    rows_set(d, o, "variants", vl_value(d, &pb->vobjs));
    if (d->ss->include_variants)
        set_variant_lists(pb, o);
    rows_set(d, o, "attributes", attrs_value(d, &pb->attrs));
    return o;
}

/* include_free_products = no leaves out a product whose every variant
 * sells at 0 (a gift or sample, not for sale by itself), counting the
 * rows it would have made. A product without variants has no price at
 * all and is not "free". */
static int
left_out_free(struct prod *pb)
{
    size_t i;

    if (pb->d->ss->include_free_products || pb->nv == 0)
        return 0;
    for (i = 0; i < pb->nv; i++)
        if (pb->vs[i].price != 0)
            return 0;
    pb->d->free_left += pb->fc->kind == COLL_VARIANTS ? (int64_t)pb->nv
                                                      : 1;
    return 1;
}

int
rows_product(struct feed_data *d, struct feed_cursor *fc,
             struct pf_obj **out, struct pf_err *err)
{
    struct prod pb;
    int rc = -1;

    memset(&pb, 0, sizeof(pb));
    pb.d = d;
    pb.fc = fc;
    pb.pid = cur_col(&fc->main, 0);
    if (read_variants(&pb, err) != 0)
        goto cleanup;
    if (!decide_stock(&pb)) {
        rc = 0;                 /* out of stock everywhere: left out */
        goto cleanup;
    }
    if (left_out_free(&pb)) {
        rc = 0;
        goto cleanup;
    }
    if (pb.nv == 0)
        log_debug("product %s has no variants: no price", pb.pid);
    pick_best(&pb);
    if (read_images(&pb, err) != 0 || read_categories(&pb, err) != 0 ||
        read_attributes(&pb, err) != 0)
        goto cleanup;
    build_variants(&pb);
    *out = product_obj(&pb);
    if (rows_rating_set(d, fc, pb.pid, *out, err) != 0)
        goto cleanup;
    rc = 1;
cleanup:
    prod_free(&pb);
    return rc;
}
