/* feed.c - see feed.h. */
#include "feed.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "names.h"
#include "publish.h"
#include "rules.h"
#include "timeutil.h"
#include "value.h"

/* ---- merge cursors ---------------------------------------------------------
 * Child tables are read in the same key order as their parent, so one pass
 * over each table yields every parent with its children. */

struct cursor {
    struct store *s;
    sqlite3_stmt *st;
    const char *what;       /* the table(s) it reads, for errors */
    int has_row;
};

/* Prepares sql on the store's database; what names what it reads
 * ("products", "order lines") in error messages. */
static int
stmt_open(struct store *s, sqlite3_stmt **st, const char *sql,
          const char *what, struct pf_err *err)
{
    if (sqlite3_prepare_v2(store_db(s), sql, -1, st, NULL) != SQLITE_OK) {
        pf_errf(err, "store: preparing to read %s: %s", what,
                sqlite3_errmsg(store_db(s)));
        *st = NULL;
        return -1;
    }
    return 0;
}

static int
cur_open(struct store *s, struct cursor *c, const char *sql,
         const char *what, struct pf_err *err)
{
    c->s = s;
    c->what = what;
    c->has_row = 0;
    return stmt_open(s, &c->st, sql, what, err);
}

static int
cur_step(struct cursor *c, struct pf_err *err)
{
    int rc = store_step(c->s, c->st, err, "reading %s", c->what);

    c->has_row = rc == 1;
    return rc < 0 ? -1 : 0;
}

static const char *
col(struct cursor *c, int i)
{
    const char *s = (const char *)sqlite3_column_text(c->st, i);

    return s ? s : "";
}

/* Skips child rows whose key sorts before key; returns 1 when the current
 * child row belongs to key. */
static int
cur_seek(struct cursor *c, int keycol, const char *key, struct pf_err *err)
{
    while (c->has_row && strcmp(col(c, keycol), key) < 0)
        if (cur_step(c, err) != 0)
            return -1;
    return c->has_row && strcmp(col(c, keycol), key) == 0;
}

static void
cur_close(struct cursor *c)
{
    sqlite3_finalize(c->st);
    c->st = NULL;
}

/* ---- the data provider -------------------------------------------------- */

/* The collections templates can open. The variables each row binds
 * (products -> product, variants -> variant + product, ...) are listed
 * again in template.c's collection_vars, which checks templates when they
 * load, before any data exists: keep the two in step. */
enum coll {
    COLL_PRODUCTS, COLL_CATEGORIES, COLL_ORDERS, COLL_CUSTOMERS,
    COLL_VARIANTS, COLL_EVENTS
};

struct feed_cursor {
    enum coll kind;
    char name[16];          /* the collection, for resuming a split feed */
    int done;               /* ran out of rows */
    struct cursor main, c1, c2, c3, c4;
    int started;
    /* variants: the product being walked and the next of its variants;
     * events: the events of the order being walked */
    struct pf_obj *product;
    const struct pf_value *vars;
    size_t vi;
    /* events: product details and location names looked up per order */
    sqlite3_stmt *product_info, *location_name;
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
    struct rules *rules;        /* the feed's include/exclude/set */
    /* Splitting into parts: a part ends at a row boundary once its output
     * passed limit bytes; the cursors stay open for the next part. */
    struct pf_out *part_out;
    uint64_t part_limit;
    int64_t part_rows;
    int part_full;
    struct feed_cursor *kept[8];
    int nkept;
};

void
feed_attr_name(const char *name, char *out, size_t n)
{
    size_t j = 0;
    int gap = 0;

    for (; *name != '\0' && j + 1 < n; name++) {
        char c = *name;

        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            if (gap && j > 0)
                out[j++] = '_';
            gap = 0;
            if (j + 1 < n)
                out[j++] = c;
        }
        else if (c >= 'A' && c <= 'Z') {
            if (gap && j > 0)
                out[j++] = '_';
            gap = 0;
            if (j + 1 < n)
                out[j++] = (char)(c - 'A' + 'a');
        }
        else {
            gap = 1;
        }
    }
    out[j] = '\0';
}

/* Links from the source may be relative to the shop. */
static struct pf_value
abs_url(struct feed_data *d, const char *u)
{
    const char *base = d->cfg->shop_url;

    if (u == NULL || u[0] == '\0')
        return pf_v_null();
    if (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0 ||
        base == NULL) {
        return pf_v_str(&d->row, u);
    }
    while (*u == '/')
        u++;
    {
        size_t nb = strlen(base), nu = strlen(u);
        char *s = pf_arena_alloc(&d->row, nb + nu + 2);
        struct pf_value v = pf_v_null();

        memcpy(s, base, nb);
        s[nb] = '/';
        memcpy(s + nb + 1, u, nu + 1);
        v.type = PF_STR;
        v.u.str.s = s;
        v.u.str.len = nb + nu + 1;
        return v;
    }
}

static struct pf_value
text(struct feed_data *d, struct cursor *c, int i)
{
    const char *s = (const char *)sqlite3_column_text(c->st, i);

    if (s == NULL || s[0] == '\0')
        return pf_v_null();
    return pf_v_strn(&d->row, s, (size_t)sqlite3_column_bytes(c->st, i));
}

/* A stored time, or null when there is none or it is outside the range
 * timeutil handles (a bad import): empty in the feed, never garbage. */
static struct pf_value
opt_time(struct cursor *c, int i)
{
    int64_t t;

    if (sqlite3_column_type(c->st, i) == SQLITE_NULL)
        return pf_v_null();
    t = sqlite3_column_int64(c->st, i);
    return pf_time_in_range(t) ? pf_v_time(t) : pf_v_null();
}

static void
set(struct feed_data *d, struct pf_obj *o, const char *name,
    struct pf_value v)
{
    pf_obj_set(&d->row, o, name, v);
}

/* A list of values grown while scanning; copied into the arena at the
 * end. */
struct vlist {
    struct pf_value *items;
    size_t n, cap;
};

static void
vl_add(struct vlist *l, struct pf_value v)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->items = xrealloc(l->items, l->cap * sizeof(*l->items));
    }
    l->items[l->n++] = v;
}

/* Nulls in a parallel list become "", unless the list has no value at
 * all, in which case it is emptied (and so omitted). */
static void
vl_fill_gaps(struct vlist *l)
{
    static const struct pf_value blank = {PF_STR, {.str = {"", 0}}};
    size_t i, filled = 0;

    for (i = 0; i < l->n; i++)
        filled += !pf_value_is_empty(&l->items[i]);
    if (filled == 0) {
        l->n = 0;
        return;
    }
    for (i = 0; i < l->n; i++)
        if (l->items[i].type == PF_NULL)
            l->items[i] = blank;
}

static struct pf_value
vl_value(struct feed_data *d, struct vlist *l)
{
    struct pf_value v = pf_v_list(&d->row, l->n);

    if (l->n > 0)
        memcpy(v.u.list.items, l->items, l->n * sizeof(*l->items));
    l->n = 0;
    return v;
}

/* ---- products ----------------------------------------------------------- */

static const char sql_products[] =
    "SELECT id, name, description, url, brand, created_at, updated_at, "
    "visible, has_stock, stock FROM products WHERE visible = 1 "
    "ORDER BY id";
static const char sql_variants[] =
    "SELECT v.product_id, v.id, v.sku, v.ean, v.upc, v.image, v.price, "
    "v.list_price, v.currency, v.track_stock, v.options, "
    /* An exact integer sum; each quantity clamped to the store's bound,
     * which rows stored before the bound existed may exceed. */
    "(SELECT coalesce(sum(max(-" STORE_MAX_QUANTITY_SQL ", min(quantity, "
    STORE_MAX_QUANTITY_SQL "))), 0) FROM stock WHERE variant_id = v.id) "
    "FROM variants v ORDER BY v.product_id, v.position";
static const char sql_images[] =
    "SELECT product_id, url FROM images ORDER BY product_id, position";
static const char sql_product_categories[] =
    "SELECT pc.product_id, c.id, c.name, c.full_path, c.shown "
    "FROM product_categories pc JOIN categories c ON c.id = pc.category_id "
    "ORDER BY pc.product_id, pc.position";
static const char sql_attributes[] =
    "SELECT entity_id, origin, name, value FROM attributes "
    "WHERE entity = 'product' ORDER BY entity_id, origin, position";

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

static int
vl_has_str(const struct vlist *l, const char *s)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        if (l->items[i].type == PF_STR && strcmp(l->items[i].u.str.s, s) == 0)
            return 1;
    return 0;
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
        if (a->values.n == 1 && !a->is_list)
            set(d, o, name, a->values.items[0]);
        else
            set(d, o, name, vl_value(d, &a->values));
    }
    return pf_v_obj(o);
}

/* Nearly every amount is in the shop's currency: skip the table. */
static int
currency_decimals(const struct feed_data *d, const char *code)
{
    if (strcmp(code, d->cfg->currency) == 0)
        return d->shop_decimals;
    return pf_currency_decimals(code);
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
    struct pf_value more;
    const cJSON *pair;
    const char *gtin = NULL;
    size_t i, k = 0, nopt = 0;
    int on_sale = v->list_price > v->price;

    pf_buf_init(&title);
    pf_buf_adds(&title, product_name);
    cJSON_ArrayForEach(pair, v->options) {
        const char *n = opt_name(pair), *val = opt_value(pair);

        if (n == NULL || val == NULL)
            continue;
        set(d, oo, pf_arena_strdup(&d->row, n), pf_v_str(&d->row, val));
        if (option_is(n, colour_words))
            set(d, vo, "color", pf_v_str(&d->row, val));
        else if (option_is(n, size_words))
            set(d, vo, "size", pf_v_str(&d->row, val));
        pf_buf_adds(&title, nopt++ == 0 ? " - " : " / ");
        pf_buf_adds(&title, val);
    }
    if (gtin_valid(v->ean))
        gtin = v->ean;
    else if (gtin_valid(v->upc))
        gtin = v->upc;
    set(d, vo, "id", pf_v_str(&d->row, v->id));
    set(d, vo, "title", pf_v_strn(&d->row, title.data, title.len));
    /* Channels refuse an item without a description: the name will do. */
    set(d, vo, "description", pf_v_str(&d->row, description[0]
                                                    ? description
                                                    : product_name));
    set(d, vo, "sku", pf_v_str(&d->row, v->sku));
    set(d, vo, "ean", pf_v_str(&d->row, v->ean));
    set(d, vo, "upc", pf_v_str(&d->row, v->upc));
    set(d, vo, "gtin", pf_v_str(&d->row, gtin));
    set(d, vo, "mpn", pf_v_str(&d->row, v->sku));
    /* Google's identifier_exists is only ever sent as "no". */
    if (gtin == NULL && v->sku[0] == '\0')
        set(d, vo, "identifier_exists", pf_v_str(&d->row, "no"));
    set(d, vo, "price", pf_v_money(v->price, v->decimals, v->currency));
    if (on_sale)
        set(d, vo, "list_price",
            pf_v_money(v->list_price, v->decimals, v->currency));
    /* Channels want the regular price plus a sale price when lower. */
    set(d, vo, "regular_price",
        pf_v_money(on_sale ? v->list_price : v->price, v->decimals,
                   v->currency));
    if (on_sale)
        set(d, vo, "sale_price",
            pf_v_money(v->price, v->decimals, v->currency));
    set(d, vo, "on_sale", pf_v_bool(on_sale));
    set(d, vo, "currency", pf_v_str(&d->row, v->currency));
    /* Channels require a link: the shop's home page stands in for a
     * product without a page of its own. */
    set(d, vo, "link", abs_url(d, link[0] ? link : d->cfg->shop_url));
    set(d, vo, "image", v->image[0] ? abs_url(d, v->image) : first_image);
    /* Up to 10 more images, the ones not used as the main image. */
    more = pf_v_list(&d->row, images->n < 10 ? images->n : 10);
    for (i = 0; i < images->n && k < more.u.list.n; i++) {
        if (!v->image[0] && i == 0)
            continue;
        more.u.list.items[k++] = images->items[i];
    }
    more.u.list.n = k;
    set(d, vo, "additional_images", more);
    if (v->tracked)
        set(d, vo, "stock", pf_v_int(v->stock));
    set(d, vo, "in_stock", pf_v_bool(v->sellable));
    set(d, vo, "availability",
        pf_v_str(&d->row, v->sellable ? "in_stock" : "out_of_stock"));
    set(d, vo, "options", pf_v_obj(oo));
    pf_buf_free(&title);
    return vo;
}

/* Builds one product row from the rows the cursors hold for it. Returns 1
 * when the product goes into the feed, 0 when the settings leave it out. */
static int
product_row(struct feed_data *d, struct feed_cursor *fc,
            struct pf_obj **out, struct pf_err *err)
{
    const struct pf_sync_settings *ss = d->ss;
    struct cursor *p = &fc->main;
    const char *pid = col(p, 0);
    struct pf_obj *o = pf_obj_new(&d->row);
    struct variant *vs = NULL, *best = NULL;
    size_t nv = 0, capv = 0, i;
    struct vlist images = {0}, cats = {0}, catnames = {0}, catpaths = {0};
    struct vlist l_ids = {0}, l_skus = {0}, l_prices = {0}, l_lists = {0},
                 l_imgs = {0}, l_stocks = {0}, vobjs = {0};
    struct attrs attrs = {0}, optlists = {0};
    int ntracked = 0, has_parent_stock, rc = -1, m, any;
    int64_t stock_sum = 0, stock;
    char aname[64];
    struct pf_value first_image = pf_v_null();

    /* variants */
    m = cur_seek(&fc->c1, 0, pid, err);
    while (m == 1) {
        struct cursor *c = &fc->c1;
        struct variant *v;
        const char *opts = (const char *)sqlite3_column_text(c->st, 10);

        if (nv == capv) {
            capv = capv ? capv * 2 : 8;
            vs = xrealloc(vs, capv * sizeof(*vs));
        }
        v = &vs[nv++];
        memset(v, 0, sizeof(*v));
        v->id = pf_arena_strdup(&d->row, col(c, 1));
        v->sku = pf_arena_strdup(&d->row, col(c, 2));
        v->ean = pf_arena_strdup(&d->row, col(c, 3));
        v->upc = pf_arena_strdup(&d->row, col(c, 4));
        v->image = pf_arena_strdup(&d->row, col(c, 5));
        v->price = sqlite3_column_int64(c->st, 6);
        v->list_price = sqlite3_column_int64(c->st, 7);
        v->currency = pf_arena_strdup(&d->row, col(c, 8));
        v->decimals = currency_decimals(d, v->currency);
        v->tracked = sqlite3_column_int(c->st, 9);
        v->stock = sqlite3_column_int64(c->st, 11);
        v->options = opts ? cJSON_Parse(opts) : NULL;
        v->sellable = !v->tracked || v->stock > 0;
        if (v->tracked) {
            ntracked++;
            stock_sum += v->stock;
        }
        if (cur_step(c, err) != 0)
            goto cleanup;
        m = cur_seek(c, 0, pid, err);
    }
    if (m < 0)
        goto cleanup;

    /* Stock: summed from the variants, or read from the parent when the
     * merchant tracks it there. Untracked stock never excludes. */
    has_parent_stock = sqlite3_column_int(p->st, 8);
    stock = stock_sum;
    if (ss->variant_stock_tracking == PF_TRACK_PARENT && has_parent_stock) {
        /* The parent's count decides for every tracked variant. */
        stock = sqlite3_column_int64(p->st, 9);
        for (i = 0; i < nv; i++)
            if (vs[i].tracked)
                vs[i].sellable = stock > 0;
    }
    any = 0;
    for (i = 0; i < nv; i++)
        any |= vs[i].sellable;
    if (!ss->include_out_of_stock && ntracked > 0 && !any) {
        rc = 0;                 /* out of stock everywhere: left out */
        goto cleanup;
    }
    if (nv == 0)
        log_debug("product %s has no variants: no price", pid);

    /* The parent's price is its cheapest sellable variant's (or cheapest
     * of all when none is sellable and out-of-stock products stay). */
    for (i = 0; i < nv; i++)
        if (vs[i].sellable && (best == NULL || vs[i].price < best->price))
            best = &vs[i];
    if (best == NULL)
        for (i = 0; i < nv; i++)
            if (best == NULL || vs[i].price < best->price)
                best = &vs[i];

    /* images */
    m = cur_seek(&fc->c2, 0, pid, err);
    while (m == 1) {
        vl_add(&images, abs_url(d, col(&fc->c2, 1)));
        if (cur_step(&fc->c2, err) != 0)
            goto cleanup;
        m = cur_seek(&fc->c2, 0, pid, err);
    }
    if (m < 0)
        goto cleanup;
    if (images.n > 0)
        first_image = images.items[0];
    else if (best != NULL && best->image[0] != '\0')
        first_image = abs_url(d, best->image);

    /* categories */
    m = cur_seek(&fc->c3, 0, pid, err);
    while (m == 1) {
        struct cursor *c = &fc->c3;

        if (ss->include_hidden_categories || sqlite3_column_int(c->st, 4)) {
            vl_add(&cats, text(d, c, 1));
            vl_add(&catnames, text(d, c, 2));
            vl_add(&catpaths, text(d, c, 3));
        }
        if (cur_step(c, err) != 0)
            goto cleanup;
        m = cur_seek(c, 0, pid, err);
    }
    if (m < 0)
        goto cleanup;

    /* attributes: custom ones the merchant named, auto ones when on */
    m = cur_seek(&fc->c4, 0, pid, err);
    while (m == 1) {
        struct cursor *c = &fc->c4;
        int is_auto = strcmp(col(c, 1), "auto") == 0;

        feed_attr_name(col(c, 2), aname, sizeof(aname));
        if (aname[0] != '\0' &&
            ((is_auto && ss->attributes == PF_ATTR_AUTO) ||
             (!is_auto && is_custom(d, aname)))) {
            struct attr *a = attr_get(&attrs, aname);

            if (a->values.n > 0)
                a->is_list = 1;
            vl_add(&a->values, text(d, c, 3));
        }
        if (cur_step(c, err) != 0)
            goto cleanup;
        m = cur_seek(c, 0, pid, err);
    }
    if (m < 0)
        goto cleanup;

    /* Variant options become auto attributes (unique values, always a
     * list) and, with variant data, one list per option aligned with
     * variant_ids. */
    for (i = 0; i < nv; i++) {
        const cJSON *pair;
        int in_lists = ss->include_variants &&
                       (ss->include_out_of_stock || vs[i].sellable);

        cJSON_ArrayForEach(pair, vs[i].options) {
            const char *n = opt_name(pair), *v = opt_value(pair);
            char lname[72];

            if (n == NULL || v == NULL)
                continue;
            feed_attr_name(n, aname, sizeof(aname));
            if (aname[0] == '\0')
                continue;
            if (ss->attributes == PF_ATTR_AUTO) {
                struct attr *a = attr_get(&attrs, aname);

                a->is_list = 1;
                if (!vl_has_str(&a->values, v))
                    vl_add(&a->values, pf_v_str(&d->row, v));
            }
            if (in_lists && vs[i].nopt < MAX_OPTIONS) {
                struct attr *l;

                option_list_name(aname, lname);
                l = attr_get(&optlists, lname);
                l->is_list = 1;
                vs[i].opt[vs[i].nopt].list = (size_t)(l - optlists.a);
                vs[i].opt[vs[i].nopt].value = v;
                vs[i].nopt++;
            }
        }
    }
    for (i = 0; i < nv; i++) {
        struct variant *v = &vs[i];
        size_t k;
        int j;

        if (!ss->include_out_of_stock && !v->sellable)
            continue;
        vl_add(&vobjs, pf_v_obj(variant_obj(d, v, col(p, 1), col(p, 2),
                                            col(p, 3), first_image,
                                            &images)));
        if (!ss->include_variants)
            continue;
        vl_add(&l_ids, pf_v_str(&d->row, v->id));
        vl_add(&l_skus, pf_v_str(&d->row, v->sku));
        vl_add(&l_prices, pf_v_money(v->price, v->decimals, v->currency));
        vl_add(&l_lists, pf_v_money(v->list_price > v->price
                                        ? v->list_price : v->price,
                                    v->decimals, v->currency));
        vl_add(&l_imgs, v->image[0] ? abs_url(d, v->image) : first_image);
        /* Untracked stock counts as 1, i.e. sellable, so the list stays
         * numeric and aligned. */
        vl_add(&l_stocks, pf_v_int(v->tracked ? v->stock : 1));
        for (k = 0; k < optlists.n; k++) {
            const char *val = "";

            for (j = 0; j < v->nopt; j++)
                if (v->opt[j].list == k)
                    val = v->opt[j].value;
            vl_add(&optlists.a[k].values, pf_v_str(&d->row, val));
        }
    }

    set(d, o, "id", text(d, p, 0));
    set(d, o, "name", text(d, p, 1));
    set(d, o, "description", text(d, p, 2));
    set(d, o, "url", abs_url(d, col(p, 3)));
    set(d, o, "brand", text(d, p, 4));
    set(d, o, "created_at", opt_time(p, 5));
    set(d, o, "updated_at", opt_time(p, 6));
    if (best != NULL) {
        set(d, o, "price", pf_v_money(best->price, best->decimals,
                                      best->currency));
        if (best->list_price > best->price)
            set(d, o, "list_price",
                pf_v_money(best->list_price, best->decimals,
                           best->currency));
        set(d, o, "on_sale", pf_v_bool(best->list_price > best->price));
        set(d, o, "currency", pf_v_str(&d->row, best->currency));
    }
    if (nv == 1)
        set(d, o, "sku", pf_v_str(&d->row, vs[0].sku));
    set(d, o, "image", first_image);
    set(d, o, "images", vl_value(d, &images));
    set(d, o, "category_ids", vl_value(d, &cats));
    set(d, o, "category_names", vl_value(d, &catnames));
    set(d, o, "category_paths", vl_value(d, &catpaths));
    if (ntracked > 0 || (ss->variant_stock_tracking == PF_TRACK_PARENT &&
                         has_parent_stock))
        set(d, o, "stock", pf_v_int(stock));
    set(d, o, "in_stock", pf_v_bool(any));
    set(d, o, "has_variants", pf_v_bool(nv > 1 || (nv == 1 &&
                                        cJSON_GetArraySize(vs[0].options) >
                                            0)));
    set(d, o, "variants", vl_value(d, &vobjs));
    if (ss->include_variants) {
        /* Parallel lists stay aligned with variant_ids: a gap is "", and
         * a list with nothing in it is left out. */
        vl_fill_gaps(&l_skus);
        vl_fill_gaps(&l_imgs);
        set(d, o, "variant_ids", vl_value(d, &l_ids));
        set(d, o, "variant_skus", vl_value(d, &l_skus));
        set(d, o, "variant_prices", vl_value(d, &l_prices));
        set(d, o, "variant_list_prices", vl_value(d, &l_lists));
        set(d, o, "variant_images", vl_value(d, &l_imgs));
        if (ss->include_variant_stock)
            set(d, o, "variant_stocks", vl_value(d, &l_stocks));
        set(d, o, "variant_options", attrs_value(d, &optlists));
    }
    set(d, o, "attributes", attrs_value(d, &attrs));
    *out = o;
    rc = 1;
cleanup:
    for (i = 0; i < nv; i++)
        cJSON_Delete(vs[i].options);
    free(vs);
    free(images.items);
    free(cats.items);
    free(catnames.items);
    free(catpaths.items);
    free(l_ids.items);
    free(l_skus.items);
    free(l_prices.items);
    free(l_lists.items);
    free(l_imgs.items);
    free(l_stocks.items);
    free(vobjs.items);
    attrs_free(&attrs);
    attrs_free(&optlists);
    return rc;
}

/* ---- categories --------------------------------------------------------- */

static const char sql_categories_all[] =
    "SELECT id, name, url, parent_id, depth, full_path, shown "
    "FROM categories ORDER BY id";
static const char sql_categories_shown[] =
    "SELECT id, name, url, parent_id, depth, full_path, shown "
    "FROM categories WHERE shown = 1 ORDER BY id";
static const char sql_children_all[] =
    "SELECT parent_id, id FROM categories WHERE parent_id IS NOT NULL "
    "ORDER BY parent_id, position, id";
static const char sql_children_shown[] =
    "SELECT parent_id, id FROM categories WHERE parent_id IS NOT NULL "
    "AND shown = 1 ORDER BY parent_id, position, id";

static int
category_row(struct feed_data *d, struct feed_cursor *fc,
             struct pf_obj **out, struct pf_err *err)
{
    struct cursor *c = &fc->main;
    const char *id = col(c, 0);
    struct pf_obj *o = pf_obj_new(&d->row);
    struct vlist kids = {0};
    int m;

    m = cur_seek(&fc->c1, 0, id, err);
    while (m == 1) {
        vl_add(&kids, text(d, &fc->c1, 1));
        m = cur_step(&fc->c1, err) != 0 ? -1
                                        : cur_seek(&fc->c1, 0, id, err);
    }
    if (m < 0) {
        free(kids.items);
        return -1;
    }
    set(d, o, "id", text(d, c, 0));
    set(d, o, "name", text(d, c, 1));
    set(d, o, "url", abs_url(d, col(c, 2)));
    set(d, o, "parent_id", text(d, c, 3));
    set(d, o, "depth", pf_v_int(sqlite3_column_int64(c->st, 4)));
    set(d, o, "path", text(d, c, 5));
    set(d, o, "visible", pf_v_bool(sqlite3_column_int(c->st, 6)));
    set(d, o, "subcategories", vl_value(d, &kids));
    free(kids.items);
    *out = o;
    return 1;
}

/* ---- orders ------------------------------------------------------------- */

static const char sql_orders[] =
    "SELECT id, number, status, location_id, customer_id, email, currency, "
    "created_at, completed_at, total, discount_total, discount_codes, "
    "shipped, shipped_at, refund_of FROM orders WHERE created_at >= ?1 "
    "ORDER BY id";
/* No join on orders: the merge skips the lines of orders left out. */
static const char sql_lines[] =
    "SELECT order_id, id, product_id, variant_id, name, sku, quantity, "
    "unit_price, discount, is_return FROM order_lines "
    "ORDER BY order_id, position";

static int
order_row(struct feed_data *d, struct feed_cursor *fc, struct pf_obj **out,
          struct pf_err *err)
{
    const struct pf_sync_settings *ss = d->ss;
    struct cursor *c = &fc->main;
    const char *oid = col(c, 0);
    const char *cur = col(c, 6);
    int dec = currency_decimals(d, cur);
    struct pf_obj *o;
    struct vlist lines = {0}, items = {0}, codes = {0};
    cJSON *jc = NULL, *e;
    int64_t nitems = 0;
    int m, rc = -1;

    if (ss->accepted_order_statuses.n > 0 &&
        !pf_strlist_has(&ss->accepted_order_statuses, col(c, 2)))
        return 0;
    o = pf_obj_new(&d->row);
    m = cur_seek(&fc->c1, 0, oid, err);
    while (m == 1) {
        struct cursor *l = &fc->c1;
        struct pf_obj *lo = pf_obj_new(&d->row);
        int64_t qty = sqlite3_column_int64(l->st, 6);
        int64_t unit = sqlite3_column_int64(l->st, 7);
        int64_t disc = sqlite3_column_int64(l->st, 8);
        int ret = sqlite3_column_int(l->st, 9) || qty < 0;

        set(d, lo, "id", text(d, l, 1));
        set(d, lo, "product_id", text(d, l, 2));
        set(d, lo, "variant_id", text(d, l, 3));
        set(d, lo, "name", text(d, l, 4));
        set(d, lo, "sku", text(d, l, 5));
        set(d, lo, "quantity", pf_v_int(qty));
        set(d, lo, "unit_price", pf_v_money(unit, dec, cur));
        set(d, lo, "discount", pf_v_money(disc, dec, cur));
        /* What one unit cost after the line discount. */
        set(d, lo, "price", pf_v_money(qty != 0 ? (unit * qty - disc) / qty
                                                : unit, dec, cur));
        set(d, lo, "total", pf_v_money(unit * qty - disc, dec, cur));
        set(d, lo, "is_return", pf_v_bool(ret));
        vl_add(&lines, pf_v_obj(lo));
        /* Returns are not purchases. */
        if (!ret && qty > 0) {
            vl_add(&items, pf_v_obj(lo));
            nitems += qty;
        }
        if (cur_step(l, err) != 0)
            goto cleanup;
        m = cur_seek(l, 0, oid, err);
    }
    if (m < 0)
        goto cleanup;
    if (sqlite3_column_text(c->st, 11) != NULL)
        jc = cJSON_Parse(col(c, 11));
    cJSON_ArrayForEach(e, jc) {
        if (cJSON_IsString(e))
            vl_add(&codes, pf_v_str(&d->row, e->valuestring));
    }
    set(d, o, "id", text(d, c, 0));
    set(d, o, "number", text(d, c, 1));
    set(d, o, "status", text(d, c, 2));
    set(d, o, "location_id", text(d, c, 3));
    set(d, o, "customer_id", text(d, c, 4));
    if (ss->collect_emails)
        set(d, o, "email", text(d, c, 5));
    set(d, o, "currency", text(d, c, 6));
    set(d, o, "time", opt_time(c, 7));
    set(d, o, "created_at", opt_time(c, 7));
    set(d, o, "completed_at", opt_time(c, 8));
    set(d, o, "total", pf_v_money(sqlite3_column_int64(c->st, 9), dec, cur));
    set(d, o, "discount_total",
        pf_v_money(sqlite3_column_int64(c->st, 10), dec, cur));
    set(d, o, "discount_codes", vl_value(d, &codes));
    set(d, o, "shipped", pf_v_bool(sqlite3_column_int(c->st, 12)));
    set(d, o, "shipped_at", opt_time(c, 13));
    set(d, o, "refund_of", text(d, c, 14));
    set(d, o, "lines", vl_value(d, &lines));
    set(d, o, "items", vl_value(d, &items));
    set(d, o, "item_count", pf_v_int(nitems));
    *out = o;
    rc = 1;
cleanup:
    cJSON_Delete(jc);
    free(lines.items);
    free(items.items);
    free(codes.items);
    return rc;
}

/* ---- events ------------------------------------------------------------
 * Klaviyo-style order events, as Klaviyo's Lightspeed integration names
 * them. Each has an id that is the same on every run, so a consumer can
 * deduplicate. */

static const char sql_product_info[] =
    "SELECT p.url, (SELECT url FROM images WHERE product_id = p.id "
    "ORDER BY position LIMIT 1), (SELECT group_concat(name, char(31)) "
    "FROM (SELECT c.name FROM product_categories pc JOIN categories c "
    "ON c.id = pc.category_id WHERE pc.product_id = p.id "
    "AND (c.shown = 1 OR ?2) ORDER BY pc.position)) "
    "FROM products p WHERE p.id = ?1";
static const char sql_location_name[] =
    "SELECT name FROM locations WHERE id = ?1";

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

        *url = abs_url(d, (const char *)sqlite3_column_text(st, 0));
        *image = abs_url(d, (const char *)sqlite3_column_text(st, 1));
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

    set(d, ev, "id", pf_v_str(&d->row, key));
    set(d, ev, "name", pf_v_str(&d->row, name));
    set(d, ev, "email", pf_v_str(&d->row, email));
    set(d, ev, "anonymous", pf_v_bool(email[0] == '\0'));
    set(d, ev, "customer_id",
        pf_v_str(&d->row, obj_str(e->order, "customer_id")));
    set(d, ev, "order_id", pf_v_str(&d->row, key_id));
    /* when is INT64_MIN for an order without a usable time. */
    if (pf_time_in_range(when))
        set(d, ev, "time", pf_v_time(when));
    if (pf_time_iso_local(when, d->cfg->timezone, local) == 0)
        set(d, ev, "time_local", pf_v_str(&d->row, local));
    set(d, ev, "value", value);
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
        set(d, item, "ProductID", *pf_obj_get(ln, "product_id"));
        set(d, item, "SKU", *pf_obj_get(ln, "sku"));
        set(d, item, "ProductName", *pf_obj_get(ln, "name"));
        set(d, item, "Quantity", *q);
        set(d, item, "ItemPrice", *pf_obj_get(ln, "price"));
        set(d, item, "RowTotal", *pf_obj_get(ln, "total"));
        set(d, item, "ProductURL", url);
        set(d, item, "ImageURL", image);
        set(d, item, "Categories", lc);
        vl_add(&items, pf_v_obj(item));
        /* One Ordered Product per purchased line. */
        ev = pf_obj_new(&d->row);
        set(d, ev, "Category", lc.u.list.n ? lc.u.list.items[0]
                                           : pf_v_null());
        set(d, ev, "Categories", lc);
        set(d, ev, "EmailDomain", domain);
        set(d, ev, "Name", *pf_obj_get(ln, "name"));
        set(d, ev, "ProductID", *pf_obj_get(ln, "product_id"));
        set(d, ev, "SKU", *pf_obj_get(ln, "sku"));
        set(d, ev, "Quantity", *q);
        set(d, ev, "ProductURL", url);
        set(d, ev, "ImageURL", image);
        set(d, ev, "OrderId", pf_v_str(&d->row, oid));
        set(d, new_event(e, &e->ordered, "Ordered Product",
                         event_key(d, "ordered-product",
                                   obj_str(ln, "id")),
                         oid, when, *pf_obj_get(ln, "total")),
            "properties", pf_v_obj(ev));
    }

    if (items.n > 0) {
        struct pf_obj *p = pf_obj_new(&d->row);
        struct pf_obj *ev;

        set(d, p, "OrderId", pf_v_str(&d->row, oid));
        set(d, p, "OrderNumber", *pf_obj_get(o, "number"));
        set(d, p, "Categories", vl_value(d, &cats));
        set(d, p, "DiscountCodes", *codes);
        set(d, p, "EmailDomain", domain);
        set(d, p, "IsDiscounted", pf_v_bool(discounted));
        set(d, p, "ItemNames", vl_value(d, &names));
        set(d, p, "ItemCount", pf_v_int(count));
        set(d, p, "Store", store);
        set(d, p, "ShopID", *pf_obj_get(o, "location_id"));
        set(d, p, "TotalDiscounts", *disc);
        set(d, p, "Items", vl_value(d, &items));
        ev = new_event(e, &e->events, "Placed Order",
                       event_key(d, "placed-order", oid), oid, when,
                       *total);
        set(d, ev, "properties", pf_v_obj(p));
        for (i = 0; i < e->ordered.n; i++)
            vl_add(&e->events, e->ordered.items[i]);
        if (pf_value_is_empty(pf_obj_get(o, "customer_id")) == 0 &&
            pf_obj_get(o, "shipped")->u.i) {
            struct pf_obj *sp = pf_obj_new(&d->row);
            int64_t t = shipped_at && shipped_at->type == PF_TIME
                            ? shipped_at->u.i : when;

            set(d, sp, "OrderId", pf_v_str(&d->row, oid));
            set(d, sp, "ItemNames", *pf_obj_get(p, "ItemNames"));
            set(d, sp, "Collections", *pf_obj_get(p, "Categories"));
            set(d, sp, "DiscountCodes", *codes);
            set(d, sp, "TotalDiscounts", *disc);
            set(d, new_event(e, &e->events, "Shipped Order",
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
        set(d, rp, "OrderId", pf_v_str(&d->row, refund_of[0] ? refund_of
                                                             : oid));
        set(d, rp, "RefundId", pf_v_str(&d->row, oid));
        set(d, rp, "Categories", vl_value(d, &rcats));
        set(d, rp, "DiscountCodes", *codes);
        set(d, rp, "EmailDomain", domain);
        set(d, rp, "IsDiscounted", pf_v_bool(discounted));
        set(d, rp, "ItemNames", vl_value(d, &rnames));
        set(d, rp, "ItemCount", pf_v_int(rcount));
        set(d, rp, "TotalDiscounts", *disc);
        set(d, new_event(e, &e->events, "Refunded Order",
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
static int
next_event(struct feed_data *d, struct feed_cursor *fc,
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
        rc = order_row(d, fc, &o, err);
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

/* ---- customers ---------------------------------------------------------- */

static const char sql_customers[] =
    "SELECT id, email, first_name, last_name, company, title, address1, "
    "address2, city, region, zip, country, phone, consent, created_at "
    "FROM customers ORDER BY id";

static int
customer_row(struct feed_data *d, struct feed_cursor *fc,
             struct pf_obj **out)
{
    struct cursor *c = &fc->main;
    struct pf_obj *o = pf_obj_new(&d->row);
    const char *first = col(c, 2), *last = col(c, 3);
    struct pf_buf name;
    int consent_known = sqlite3_column_type(c->st, 13) != SQLITE_NULL;

    pf_buf_init(&name);
    pf_buf_adds(&name, first);
    if (first[0] && last[0])
        pf_buf_addc(&name, ' ');
    pf_buf_adds(&name, last);
    set(d, o, "id", text(d, c, 0));
    if (d->ss->collect_emails)
        set(d, o, "email", text(d, c, 1));
    set(d, o, "first_name", text(d, c, 2));
    set(d, o, "last_name", text(d, c, 3));
    set(d, o, "name", pf_v_strn(&d->row, name.data ? name.data : "",
                                name.len));
    set(d, o, "company", text(d, c, 4));
    set(d, o, "title", text(d, c, 5));
    set(d, o, "address1", text(d, c, 6));
    set(d, o, "address2", text(d, c, 7));
    set(d, o, "city", text(d, c, 8));
    set(d, o, "region", text(d, c, 9));
    set(d, o, "zip", text(d, c, 10));
    set(d, o, "country", text(d, c, 11));
    set(d, o, "phone", text(d, c, 12));
    /* Consent is never raised: unknown is not yes. */
    set(d, o, "subscribed", pf_v_bool(consent_known &&
                                      sqlite3_column_int(c->st, 13) == 1));
    if (consent_known)
        set(d, o, "consent", pf_v_bool(sqlite3_column_int(c->st, 13)));
    set(d, o, "created_at", opt_time(c, 14));
    pf_buf_free(&name);
    *out = o;
    return 1;
}

/* ---- tpl_data callbacks ------------------------------------------------- */

static void cursor_free(struct feed_cursor *fc);

static int
fd_open(void *ctx, const char *collection, void **cursor,
        struct pf_err *err)
{
    struct feed_data *d = ctx;
    struct store *s = d->store;
    struct feed_cursor *fc;
    int hidden = d->ss->include_hidden_categories, i;

    for (i = 0; i < d->nkept; i++) {
        if (strcmp(d->kept[i]->name, collection) == 0) {
            *cursor = d->kept[i];
            return 0;
        }
    }
    fc = xcalloc(1, sizeof(*fc));
    snprintf(fc->name, sizeof(fc->name), "%s", collection);

    if (strcmp(collection, "products") == 0 ||
        strcmp(collection, "variants") == 0) {
        fc->kind = collection[0] == 'p' ? COLL_PRODUCTS : COLL_VARIANTS;
        if (cur_open(s, &fc->main, sql_products, "products", err) != 0 ||
            cur_open(s, &fc->c1, sql_variants, "variants", err) != 0 ||
            cur_open(s, &fc->c2, sql_images, "images", err) != 0 ||
            cur_open(s, &fc->c3, sql_product_categories,
                     "product categories", err) != 0 ||
            cur_open(s, &fc->c4, sql_attributes, "attributes", err) != 0)
            goto fail;
    }
    else if (strcmp(collection, "events") == 0) {
        fc->kind = COLL_EVENTS;
        if (cur_open(s, &fc->main, sql_orders, "orders", err) != 0 ||
            cur_open(s, &fc->c1, sql_lines, "order lines", err) != 0 ||
            stmt_open(s, &fc->product_info, sql_product_info,
                      "products", err) != 0 ||
            stmt_open(s, &fc->location_name, sql_location_name,
                      "locations", err) != 0)
            goto fail;
        sqlite3_bind_int64(fc->main.st, 1, d->order_cutoff);
        sqlite3_bind_int(fc->product_info, 2,
                         d->ss->include_hidden_categories);
    }
    else if (strcmp(collection, "categories") == 0) {
        fc->kind = COLL_CATEGORIES;
        if (cur_open(s, &fc->main, hidden ? sql_categories_all
                                          : sql_categories_shown,
                     "categories", err) != 0 ||
            cur_open(s, &fc->c1, hidden ? sql_children_all
                                        : sql_children_shown,
                     "subcategories", err) != 0)
            goto fail;
    }
    else if (strcmp(collection, "orders") == 0) {
        fc->kind = COLL_ORDERS;
        if (cur_open(s, &fc->main, sql_orders, "orders", err) != 0 ||
            cur_open(s, &fc->c1, sql_lines, "order lines", err) != 0)
            goto fail;
        sqlite3_bind_int64(fc->main.st, 1, d->order_cutoff);
    }
    else if (strcmp(collection, "customers") == 0) {
        fc->kind = COLL_CUSTOMERS;
        /* include_customers = no: the collection is simply empty. */
        if (cur_open(s, &fc->main, d->ss->include_customers
                                       ? sql_customers
                                       : "SELECT 1 WHERE 0",
                     "customers", err) != 0)
            goto fail;
    }
    else {
        pf_errf(err, "unknown collection '%s' (products, variants, "
                "categories, orders, customers, events)", collection);
        goto fail;
    }
    *cursor = fc;
    return 0;
fail:
    cursor_free(fc);
    return -1;
}

/* One row per variant ({variant, product}), walking the variants of each
 * product in turn; the product's arena lives until its last variant. */
static int
next_variant(struct feed_data *d, struct feed_cursor *fc,
             const struct pf_obj **row, struct pf_err *err)
{
    struct pf_obj *r;
    int rc;

    while (fc->vars == NULL || fc->vi >= fc->vars->u.list.n) {
        fc->vars = NULL;
        pf_arena_reset(&d->row);
        if (cur_step(&fc->main, err) != 0)
            return -1;
        if (!fc->main.has_row)
            return 0;
        rc = product_row(d, fc, &fc->product, err);
        if (rc < 0)
            return -1;
        if (rc == 1) {
            fc->vars = pf_obj_get(fc->product, "variants");
            fc->vi = 0;
            if (fc->vars != NULL && fc->vars->type != PF_LIST)
                fc->vars = NULL;
        }
    }
    r = pf_obj_new(&d->row);
    pf_obj_set(&d->row, r, "variant", fc->vars->u.list.items[fc->vi++]);
    pf_obj_set(&d->row, r, "product", pf_v_obj(fc->product));
    *row = r;
    return 1;
}

static int
next_row(void *ctx, void *cursor, const struct pf_obj **row,
         struct pf_err *err)
{
    static const char *const scope[] = {"product", "category", "order",
                                        "customer", "product"};
    struct feed_data *d = ctx;
    struct feed_cursor *fc = cursor;
    struct pf_obj *o = NULL, *r;
    int rc;

    if (!fc->started) {
        fc->started = 1;
        /* Prime the child cursors on their first rows. */
        if ((fc->c1.st && cur_step(&fc->c1, err) != 0) ||
            (fc->c2.st && cur_step(&fc->c2, err) != 0) ||
            (fc->c3.st && cur_step(&fc->c3, err) != 0) ||
            (fc->c4.st && cur_step(&fc->c4, err) != 0))
            return -1;
    }
    if (fc->kind == COLL_VARIANTS)
        return next_variant(d, fc, row, err);
    if (fc->kind == COLL_EVENTS)
        return next_event(d, fc, row, err);
    for (;;) {
        pf_arena_reset(&d->row);
        if (cur_step(&fc->main, err) != 0)
            return -1;
        if (!fc->main.has_row)
            return 0;
        switch (fc->kind) {
        case COLL_PRODUCTS:
        case COLL_VARIANTS:
            rc = product_row(d, fc, &o, err);
            break;
        case COLL_CATEGORIES:
            rc = category_row(d, fc, &o, err);
            break;
        case COLL_ORDERS:
            rc = order_row(d, fc, &o, err);
            break;
        default:
            rc = customer_row(d, fc, &o);
            break;
        }
        if (rc < 0)
            return -1;
        if (rc == 1)
            break;
    }
    r = pf_obj_new(&d->row);
    pf_obj_set(&d->row, r, scope[fc->kind], pf_v_obj(o));
    *row = r;
    return 1;
}

/* The next row that the feed's include/exclude rules keep, with its
 * overrides applied. */
static int
fd_next(void *ctx, void *cursor, const struct pf_obj **row,
        struct pf_err *err)
{
    struct feed_data *d = ctx;
    struct feed_cursor *fc = cursor;
    int rc;

    if (fc->done)
        return 0;
    if (d->part_out != NULL && d->part_rows > 0 &&
        d->part_out->bytes >= d->part_limit) {
        d->part_full = 1;
        return 0;
    }
    for (;;) {
        rc = next_row(ctx, cursor, row, err);
        if (rc == 0)
            fc->done = 1;
        if (rc > 0 && !rules_empty(d->rules))
            /* The row is ours (built in d->row): rules may change it. */
            rc = rules_apply(d->rules, (struct pf_obj *)*row, &d->row,
                             err);
        if (rc == 1)
            d->part_rows++;
        if (rc != 0 || fc->done)
            return rc;
    }
}

static void
cursor_free(struct feed_cursor *fc)
{
    if (fc == NULL)
        return;
    cur_close(&fc->main);
    cur_close(&fc->c1);
    cur_close(&fc->c2);
    cur_close(&fc->c3);
    cur_close(&fc->c4);
    sqlite3_finalize(fc->product_info);
    sqlite3_finalize(fc->location_name);
    free(fc);
}

/* A split feed keeps its cursors open from part to part; they are freed
 * with the feed_data. */
static void
fd_close(void *ctx, void *cursor)
{
    struct feed_data *d = ctx;
    struct feed_cursor *fc = cursor;
    int i;

    if (fc == NULL)
        return;
    for (i = 0; i < d->nkept; i++)
        if (d->kept[i] == fc)
            return;
    if (d->part_out != NULL &&
        d->nkept < (int)(sizeof(d->kept) / sizeof(d->kept[0]))) {
        d->kept[d->nkept++] = fc;
        return;
    }
    cursor_free(fc);
}

int
feed_data_new(const struct pf_config *cfg, const struct pf_feed_cfg *fc,
              struct store *s, struct feed_data **out, struct pf_err *err)
{
    struct feed_data *d = xcalloc(1, sizeof(*d));
    struct pf_obj *shop, *feed;
    size_t i;

    d->cfg = cfg;
    d->fc = fc;
    d->ss = &fc->sync;
    d->store = s;
    pf_arena_init(&d->garena);
    pf_arena_init(&d->row);
    d->order_cutoff = INT64_MIN;
    d->shop_decimals = pf_currency_decimals(cfg->currency);
    pf_tz_hold(cfg->timezone);
    if (!d->ss->lookback_all &&
        pf_tz_start_of_span_ago(pf_time_now(), cfg->timezone,
                                d->ss->lookback_n, d->ss->lookback_unit,
                                &d->order_cutoff, err) != 0) {
        feed_data_free(d);
        return -1;
    }
    if (rules_compile(fc->rules, fc->nrules, cfg->path, &d->rules,
                      err) != 0) {
        feed_data_free(d);
        return -1;
    }
    d->custom_names = xcalloc(d->ss->custom_attributes.n + 1,
                              sizeof(char *));
    for (i = 0; i < d->ss->custom_attributes.n; i++) {
        char n[64];

        feed_attr_name(d->ss->custom_attributes.items[i], n, sizeof(n));
        d->custom_names[i] = xstrdup(n);
    }
    shop = pf_obj_new(&d->garena);
    pf_obj_set(&d->garena, shop, "name", pf_v_str(&d->garena,
                                                  cfg->shop_name));
    pf_obj_set(&d->garena, shop, "url", pf_v_str(&d->garena, cfg->shop_url));
    pf_obj_set(&d->garena, shop, "currency",
               pf_v_str(&d->garena, cfg->currency));
    pf_obj_set(&d->garena, shop, "timezone",
               pf_v_str(&d->garena, cfg->timezone));
    feed = pf_obj_new(&d->garena);
    pf_obj_set(&d->garena, feed, "name", pf_v_str(&d->garena, fc->name));
    pf_obj_set(&d->garena, feed, "output", pf_v_str(&d->garena,
                                                    fc->output));
    /* Klaviyo's $inventory_policy: 1 hides out-of-stock items from
     * recommendations, 2 shows them. */
    pf_obj_set(&d->garena, feed, "inventory_policy",
               pf_v_int(d->ss->include_out_of_stock ? 2 : 1));
    d->globals = pf_obj_new(&d->garena);
    pf_obj_set(&d->garena, d->globals, "shop", pf_v_obj(shop));
    pf_obj_set(&d->garena, d->globals, "feed", pf_v_obj(feed));
    pf_obj_set(&d->garena, d->globals, "now", pf_v_time(pf_time_now()));
    d->tpl.ctx = d;
    d->tpl.globals = d->globals;
    d->tpl.open = fd_open;
    d->tpl.next = fd_next;
    d->tpl.close = fd_close;
    *out = d;
    return 0;
}

const struct tpl_data *
feed_data_tpl(struct feed_data *d)
{
    return &d->tpl;
}

void
feed_data_free(struct feed_data *d)
{
    size_t i;

    if (d == NULL)
        return;
    pf_tz_release();
    if (d->custom_names != NULL)
        for (i = 0; i < d->ss->custom_attributes.n; i++)
            free(d->custom_names[i]);
    free(d->custom_names);
    rules_free(d->rules);
    for (i = 0; i < (size_t)d->nkept; i++)
        cursor_free(d->kept[i]);
    pf_arena_free(&d->garena);
    pf_arena_free(&d->row);
    free(d);
}

/* ---- build + publish ---------------------------------------------------- */

struct part {
    char *output;
    struct publish_job *job;
    struct publish_result pr;
    int64_t items;
};

/* The index of a split feed: which files make it up, for a person or a
 * script to register each with the platform. */
static int
write_index(const struct pf_config *cfg, const struct pf_feed_cfg *fc,
            const struct part *parts, int nparts, struct part *index,
            struct pf_err *err)
{
    struct publish_job *job = NULL;
    struct pf_out *o;
    struct pf_buf b;
    int i, rc = -1;

    index->output = pf_names_index(fc->output);
    index->items = nparts;
    pf_buf_init(&b);
    pf_buf_addf(&b, "{\"feed\":\"%s\",\"parts\":[", fc->name);
    for (i = 0; i < nparts; i++)
        pf_buf_addf(&b, "%s\n{\"path\":\"%s\",\"items\":%lld,"
                    "\"bytes\":%lld,\"sha256\":\"%s\"}", i ? "," : "",
                    parts[i].output, (long long)parts[i].items,
                    (long long)parts[i].pr.bytes, parts[i].pr.sha256);
    pf_buf_adds(&b, "\n]}\n");
    if (publish_begin(cfg->feeds_dir, index->output, TPL_JSON, 0, &job,
                      err) != 0)
        goto cleanup;
    o = publish_out(job);
    pf_out_write(o, b.data, b.len);
    rc = publish_commit(job, NULL, &index->pr, err);
cleanup:
    pf_buf_free(&b);
    return rc;
}

/* Parts a previous, bigger build left behind. */
static void
remove_stale_parts(const struct pf_config *cfg, const struct pf_feed_cfg *fc,
                   int from)
{
    int k;

    for (k = from; k < from + 10000; k++) {
        char *rel = pf_names_part(fc->output, k);
        char *path = pf_path_join(cfg->feeds_dir, rel);
        char *gz = xasprintf("%s.gz", path);
        int gone = unlink(path) != 0;

        unlink(gz);
        free(rel);
        free(path);
        free(gz);
        if (gone)
            break;
    }
}

/* Before the index was named after the whole output, catalog.json and
 * catalog.xml shared catalog.parts.json. Its record now points at the
 * new name; the old file goes too unless some feed publishes that name
 * today. */
static void
remove_legacy_index(const struct pf_config *cfg,
                    const struct pf_feed_cfg *fc)
{
    char *old = pf_names_legacy_index(fc->output);
    char *now = pf_names_index(fc->output);
    char *path = pf_path_join(cfg->feeds_dir, old);

    /* unlink() refuses a folder: only a file of that name goes. */
    if (strcmp(old, now) != 0 && pf_config_file_owner(cfg, old) == NULL &&
        unlink(path) == 0)
        log_info("feed '%s': removed %s, the index's old name (now %s)",
                 fc->name, old, now);
    free(old);
    free(now);
    free(path);
}

/* What the build left out and why (left[i]: rows of tpl_reason(t, i)),
 * into res and the store, replacing what the build before recorded. */
static int
record_left_out(struct store *s, const char *name, const struct tpl *t,
                const int64_t *left, struct feed_result *res,
                struct pf_err *err)
{
    size_t i, k, n = tpl_nreasons(t);

    res->reasons = xcalloc(n + 1, sizeof(*res->reasons));
    res->reason_items = xcalloc(n + 1, sizeof(*res->reason_items));
    for (i = 0; i < n; i++) {
        if (left[i] <= 0)
            continue;
        /* Most first, then by name, as `posfeed status` lists them. */
        for (k = res->nreasons;
             k > 0 && (res->reason_items[k - 1] < left[i] ||
                       (res->reason_items[k - 1] == left[i] &&
                        strcmp(res->reasons[k - 1], tpl_reason(t, i)) > 0));
             k--) {
            res->reasons[k] = res->reasons[k - 1];
            res->reason_items[k] = res->reason_items[k - 1];
        }
        res->reasons[k] = xstrdup(tpl_reason(t, i));
        res->reason_items[k] = left[i];
        res->nreasons++;
        res->left_out += left[i];
    }
    return store_feed_left_out(s, name, (const char *const *)res->reasons,
                               res->reason_items, res->nreasons, err);
}

void
feed_result_free(struct feed_result *res)
{
    size_t i;

    for (i = 0; i < res->nreasons; i++)
        free(res->reasons[i]);
    free(res->reasons);
    free(res->reason_items);
    free(res->path);
    res->reasons = NULL;
    res->reason_items = NULL;
    res->path = NULL;
    res->nreasons = 0;
}

/* Sales history, customers and their events are business-confidential
 * and may hold personal data; only catalog collections are not. */
const char *
feed_private_collection(const struct tpl *t)
{
    static const char *const private[] = {"orders", "customers", "events"};
    size_t i, k;

    for (i = 0; i < tpl_ncollections(t); i++)
        for (k = 0; k < sizeof(private) / sizeof(private[0]); k++)
            if (strcmp(tpl_collection(t, i), private[k]) == 0)
                return private[k];
    return NULL;
}

const char *
feed_access(const struct pf_feed_cfg *fc, const struct tpl *t)
{
    if (fc->access == PF_ACCESS_PUBLIC)
        return "public";
    /* A template that names a personal field (email, phone, ...)
     * anywhere keeps the token too, whatever rows it reads. */
    if (fc->access == PF_ACCESS_TOKEN || feed_private_collection(t) ||
        tpl_uses_personal_data(t))
        return "token";
    return "public";
}

int
feed_check(const struct pf_config *cfg, const struct pf_feed_cfg *fc,
           const struct tpl *t, struct pf_err *err)
{
    size_t i, n = tpl_ncollections(t);
    const char *const **rows = xcalloc(n + 1, sizeof(*rows));
    struct rules *r = NULL;
    int rc = -1;

    for (i = 0; i < n; i++) {
        rows[i] = tpl_collection_vars(tpl_collection(t, i));
        if (rows[i] == NULL) {
            pf_errf(err, "%s:%d: [feed %s]: template %s opens collection "
                    "'%s', which posfeed does not provide (products, "
                    "variants, categories, orders, customers, events)",
                    cfg->path, fc->line, fc->name, fc->template_path,
                    tpl_collection(t, i));
            goto cleanup;
        }
    }
    if (rules_compile(fc->rules, fc->nrules, cfg->path, &r, err) != 0)
        goto cleanup;
    rc = rules_check_rows(r, rows, n, cfg->path, err);
cleanup:
    rules_free(r);
    free(rows);
    return rc;
}

int
feed_build(const struct pf_config *cfg, const struct pf_feed_cfg *fc,
           struct store *s, int force, struct feed_result *res,
           struct pf_err *err)
{
    struct tpl *t = NULL;
    struct feed_data *d = NULL;
    struct part *parts = NULL;
    struct publish_gate gate;
    struct store_feed_rec rec;
    double t0 = pf_now_mono();
    int64_t items = 0, bytes = 0, gz_bytes = 0, *left = NULL;
    int nparts = 0, nindex = 0, i, rc = -1;
    /* A part ends after the row that passes this; the margin leaves room
     * for that row and the document's closing lines. */
    uint64_t limit = fc->max_file_size > 0
                         ? (uint64_t)fc->max_file_size - 512 * 1024 : 0;

    memset(res, 0, sizeof(*res));
    if (tpl_load(fc->template_path, &t, err) != 0 ||
        feed_check(cfg, fc, t, err) != 0)
        goto cleanup;
    if (fc->ndjson && tpl_set_ndjson(t) != 0) {
        pf_errf(err, "format = ndjson needs a template whose root is a "
                "list of one \"@each\" object, as clerk-products has");
        goto cleanup;
    }
    if (feed_data_new(cfg, fc, s, &d, err) != 0)
        goto cleanup;
    left = xcalloc(tpl_nreasons(t) + 1, sizeof(*left));
    do {
        struct part *p;

        parts = xrealloc(parts, (size_t)(nparts + 1) * sizeof(*parts));
        p = &parts[nparts++];
        memset(p, 0, sizeof(*p));
        p->output = pf_names_part(fc->output, nparts);
        if (publish_begin(cfg->feeds_dir, p->output, tpl_get_format(t),
                          fc->gzip, &p->job, err) != 0)
            goto cleanup;
        if (limit > 0) {
            d->part_out = publish_out(p->job);
            d->part_limit = limit;
            d->part_rows = 0;
            d->part_full = 0;
        }
        if (tpl_render_counted(t, feed_data_tpl(d), publish_out(p->job),
                               &p->items, left, err) != 0)
            goto cleanup;
        items += p->items;
    } while (limit > 0 && d->part_full);

    /* Every part is rendered: gate the whole feed, then publish the
     * parts, the first (the feed's own name) last. */
    gate.feed_name = fc->name;
    gate.items = items;
    if (store_feed_last_items(s, fc->name, &gate.last_items, err) != 0)
        goto cleanup;
    gate.max_drop = fc->max_drop;
    gate.force = force;
    if (publish_gate_ok(&gate, fc->name, err) != 0)
        goto cleanup;
    gate.force = 1;
    for (i = nparts - 1; i >= 0; i--) {
        struct publish_job *job = parts[i].job;

        parts[i].job = NULL;
        if (publish_commit(job, &gate, &parts[i].pr, err) != 0)
            goto cleanup;
        bytes += parts[i].pr.bytes;
        gz_bytes += parts[i].pr.gz_bytes;
    }
    if (limit > 0) {
        /* The index is one more file, recorded after the parts. */
        parts = xrealloc(parts, (size_t)(nparts + 1) * sizeof(*parts));
        memset(&parts[nparts], 0, sizeof(*parts));
        if (write_index(cfg, fc, parts, nparts, &parts[nparts], err) != 0) {
            nindex = 1;
            goto cleanup;
        }
        nindex = 1;
        remove_stale_parts(cfg, fc, nparts + 1);
        remove_legacy_index(cfg, fc);
    }
    res->items = items;
    res->bytes = bytes;
    res->gz_bytes = gz_bytes;
    res->parts = nparts;
    res->seconds = pf_now_mono() - t0;
    memcpy(res->sha256, parts[0].pr.sha256, sizeof(res->sha256));
    res->path = parts[0].pr.path;
    parts[0].pr.path = NULL;
    res->access = feed_access(fc, t);
    /* One row per file, so each can be served; the feed's own row counts
     * the items of all its parts. */
    for (i = 0; i < nparts + nindex; i++) {
        char *name = i == 0        ? xstrdup(fc->name)
                     : i == nparts ? xasprintf("%s:index", fc->name)
                                   : xasprintf("%s:part-%d", fc->name,
                                               i + 1);

        memset(&rec, 0, sizeof(rec));
        rec.name = name;
        rec.path = parts[i].output;
        rec.sha256 = parts[i].pr.sha256;
        rec.gz_sha256 = parts[i].pr.gz_sha256;
        rec.access = res->access;
        rec.bytes = parts[i].pr.bytes;
        rec.gz_bytes = parts[i].pr.gz_bytes;
        rec.items = i == 0 ? items : parts[i].items;
        rec.published_at = pf_time_now();
        rec.build_seconds = res->seconds;
        rc = store_feed_published(s, &rec, err);
        free(name);
        if (rc != 0)
            goto cleanup;
    }
    rc = store_feed_forget_parts(s, fc->name, nparts, err);
    if (rc == 0)
        rc = record_left_out(s, fc->name, t, left, res, err);
cleanup:
    for (i = 0; i < nparts + nindex; i++) {
        if (parts[i].job != NULL)
            publish_abort(parts[i].job);
        free(parts[i].pr.path);
        free(parts[i].output);
    }
    free(parts);
    free(left);
    feed_data_free(d);
    tpl_free(t);
    if (rc != 0) {
        feed_result_free(res);
        pf_err_prefix(err, "feed '%s'", fc->name);
    }
    return rc;
}
