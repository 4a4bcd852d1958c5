/* feed.c - see feed.h. The rows themselves are built in rows_*.c (see
 * rows.h); this file opens and walks the collections a template asks
 * for, applies the feed's rules and builds, splits and publishes. */
#include "feed.h"
#include "feed_int.h"
#include "feed_share.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "names.h"
#include "publish.h"
#include "rows.h"
#include "rules.h"
#include "timeutil.h"
#include "value.h"

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

/* ---- tpl_data callbacks ------------------------------------------------- */

/* What each collection a template may open reads. */
static const struct {
    const char *name;
    enum coll kind;
    int (*open)(struct feed_data *, struct feed_cursor *, struct pf_err *);
} collections[] = {
    {"products", COLL_PRODUCTS, rows_products_open},
    {"variants", COLL_VARIANTS, rows_products_open},
    {"categories", COLL_CATEGORIES, rows_categories_open},
    {"orders", COLL_ORDERS, rows_orders_open},
    {"customers", COLL_CUSTOMERS, rows_customers_open},
    {"events", COLL_EVENTS, rows_events_open},
    {"pages", COLL_PAGES, rows_pages_open},
};

const char *
feed_scan_family(const char *collection)
{
    static const char *const families[][2] = {
        {"products", "products"}, {"variants", "products"},
        {"categories", "categories"}, {"orders", "orders"},
        {"customers", "customers"}, {"pages", "pages"},
    };
    size_t k;

    for (k = 0; k < sizeof(families) / sizeof(families[0]); k++)
        if (strcmp(families[k][0], collection) == 0)
            return families[k][1];
    return NULL;
}

int
feed_cursor_open(struct feed_data *d, const char *name,
                 struct feed_cursor **out, struct pf_err *err)
{
    struct feed_cursor *fc;
    size_t k;

    *out = NULL;
    for (k = 0; k < sizeof(collections) / sizeof(collections[0]); k++)
        if (strcmp(collections[k].name, name) == 0)
            break;
    if (k == sizeof(collections) / sizeof(collections[0])) {
        pf_errf(err, "unknown collection '%s' (products, variants, "
                "categories, orders, customers, events, pages)", name);
        return -1;
    }
    fc = xcalloc(1, sizeof(*fc));
    snprintf(fc->name, sizeof(fc->name), "%s", name);
    fc->kind = collections[k].kind;
    if (collections[k].open(d, fc, err) != 0) {
        feed_cursor_free(fc);
        return -1;
    }
    *out = fc;
    return 0;
}

/* The first collection of the shared scan's family stands for the shared
 * rows: a cursor with no statements, marked as d->share_cur. Any later
 * collection, of that family too, reads the store as in a build alone. */
static int
share_cursor(struct feed_data *d, const char *collection,
             struct feed_cursor **out)
{
    const char *fam = feed_scan_family(collection);
    struct feed_cursor *fc;
    size_t k;

    if (d->share == NULL || d->share_used || fam == NULL ||
        strcmp(fam, feed_share_family(d->share)) != 0)
        return 0;
    for (k = 0; strcmp(collections[k].name, collection) != 0; k++)
        ;
    fc = xcalloc(1, sizeof(*fc));
    snprintf(fc->name, sizeof(fc->name), "%s", collection);
    fc->kind = collections[k].kind;
    d->share_used = 1;
    d->share_cur = fc;
    *out = fc;
    return 1;
}

static int
fd_open(void *ctx, const char *collection, void **cursor,
        struct pf_err *err)
{
    struct feed_data *d = ctx;
    struct feed_cursor *fc;
    int i;

    for (i = 0; i < d->nkept; i++) {
        if (strcmp(d->kept[i]->name, collection) == 0) {
            *cursor = d->kept[i];
            return 0;
        }
    }
    if (share_cursor(d, collection, &fc) ||
        feed_cursor_open(d, collection, &fc, err) == 0) {
        *cursor = fc;
        return 0;
    }
    return -1;
}

/* Puts the child cursors on their first rows, once. */
static int
prime(struct feed_cursor *fc, struct pf_err *err)
{
    if (fc->started)
        return 0;
    fc->started = 1;
    if (cur_start(&fc->c1, err) != 0 || cur_start(&fc->c2, err) != 0 ||
        cur_start(&fc->c3, err) != 0 || cur_start(&fc->c4, err) != 0 ||
        cur_start(&fc->ratings, err) != 0)
        return -1;
    return 0;
}

int
feed_read_obj(struct feed_data *d, struct feed_cursor *fc,
              struct pf_obj **o, struct pf_err *err)
{
    if (prime(fc, err) != 0)
        return -1;
    pf_arena_reset(&d->row);
    if (cur_step(&fc->main, err) != 0)
        return -1;
    if (!fc->main.has_row)
        return 0;
    if (fc->track_key) {
        pf_buf_reset(&fc->key);
        pf_buf_add(&fc->key, cur_col(&fc->main, 0),
                   (size_t)sqlite3_column_bytes(fc->main.st, 0));
    }
    d->rows_read[fc->kind == COLL_VARIANTS ? COLL_PRODUCTS : fc->kind]++;
    switch (fc->kind) {
    case COLL_PRODUCTS:
    case COLL_VARIANTS:
        return rows_product(d, fc, o, err);
    case COLL_CATEGORIES:
        return rows_category(d, fc, o, err);
    case COLL_ORDERS:
        return rows_order(d, fc, o, err);
    case COLL_PAGES:
        return rows_page(d, fc, o);
    default:
        return rows_customer(d, fc, o);
    }
}

/* The next object of fc's collection that the settings keep, built in
 * d->row. 1: *o set; 0: no more; -1: store error. */
static int
feed_next_obj(struct feed_data *d, struct feed_cursor *fc,
              struct pf_obj **o, struct pf_err *err)
{
    int rc;

    do
        rc = feed_read_obj(d, fc, o, err);
    while (rc == 0 && fc->main.has_row);
    return rc;
}

/* The next object for a row: from the shared scan when fc stands for
 * it (then built in the scan's memory, read-only here, and d->row is
 * reset for the row around it), else from fc's own statements. At the
 * end of a shared scan the rows it left out as free count for this feed
 * as they would have alone: a product each, or each of its variants. */
static int
next_obj(struct feed_data *d, struct feed_cursor *fc, struct pf_obj **o,
         struct pf_err *err)
{
    int64_t free_products = 0, free_variants = 0;
    int rc;

    if (fc != d->share_cur)
        return feed_next_obj(d, fc, o, err);
    rc = feed_share_take(d->share, d->share_seat, o, &free_products,
                         &free_variants, err);
    pf_arena_reset(&d->row);
    if (rc == 0)
        d->free_left += fc->kind == COLL_VARIANTS ? free_variants
                                                  : free_products;
    return rc;
}

/* One row per variant ({variant, product}), walking the variants of each
 * product in turn; the product lives until its last variant. */
static int
next_variant(struct feed_data *d, struct feed_cursor *fc,
             const struct pf_obj **row, struct pf_err *err)
{
    struct pf_obj *r;
    int rc;

    while (fc->vars == NULL || fc->vi >= fc->vars->u.list.n) {
        fc->vars = NULL;
        rc = next_obj(d, fc, &fc->product, err);
        if (rc <= 0)
            return rc;
        fc->vars = pf_obj_get(fc->product, "variants");
        fc->vi = 0;
        if (fc->vars != NULL && fc->vars->type != PF_LIST)
            fc->vars = NULL;
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
    /* The row's variable, by enum coll (events bind their own). */
    static const char *const scope[] = {"product", "category", "order",
                                        "customer", "product", "event",
                                        "page"};
    struct feed_data *d = ctx;
    struct feed_cursor *fc = cursor;
    struct pf_obj *o = NULL, *r;
    int rc;

    if (fc->kind == COLL_VARIANTS)
        return next_variant(d, fc, row, err);
    if (fc->kind == COLL_EVENTS)
        return prime(fc, err) != 0 ? -1 : rows_next_event(d, fc, row, err);
    rc = next_obj(d, fc, &o, err);
    if (rc <= 0)
        return rc;
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

void
feed_cursor_free(struct feed_cursor *fc)
{
    if (fc == NULL)
        return;
    cur_close(&fc->main);
    cur_close(&fc->c1);
    cur_close(&fc->c2);
    cur_close(&fc->c3);
    cur_close(&fc->c4);
    cur_close(&fc->ratings);
    sqlite3_finalize(fc->product_info);
    sqlite3_finalize(fc->location_name);
    pf_buf_free(&fc->key);
    free(fc);
}

/* Leaves the shared scan, once: it no longer waits for this feed. */
static void
share_leave(struct feed_data *d)
{
    if (d->share != NULL)
        feed_share_leave(d->share, d->share_seat);
    d->share_cur = NULL;
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
    if (fc == d->share_cur)
        share_leave(d);
    feed_cursor_free(fc);
}

int
feed_data_new(const struct pf_config *cfg, const struct pf_feed_cfg *fc,
              struct store *s, struct feed_data **out, struct pf_err *err)
{
    return feed_data_open(cfg, fc, s, 0, out, err);
}

int
feed_data_open(const struct pf_config *cfg, const struct pf_feed_cfg *fc,
               struct store *s, int tz_held, struct feed_data **out,
               struct pf_err *err)
{
    struct feed_data *d = xcalloc(1, sizeof(*d));
    struct pf_obj *shop, *feed;
    size_t i;

    d->tz_held = tz_held;
    d->cfg = cfg;
    d->fc = fc;
    d->ss = &fc->sync;
    d->store = s;
    pf_arena_init(&d->garena);
    pf_arena_init(&d->row);
    d->order_cutoff = INT64_MIN;
    d->shop_decimals = pf_currency_decimals(cfg->currency);
    if (!tz_held)
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

/* The cursors a split feed kept from part to part, and its seat in a
 * shared scan: once every part is rendered, nothing reads them, and an
 * open statement would hold a read transaction while the build writes
 * its records (in WAL, a write after another connection's commit then
 * fails with SQLITE_BUSY_SNAPSHOT). */
static void
release_kept(struct feed_data *d)
{
    int i;

    for (i = 0; i < d->nkept; i++)
        feed_cursor_free(d->kept[i]);
    d->nkept = 0;
    share_leave(d);
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
    if (!d->tz_held)
        pf_tz_release();
    if (d->custom_names != NULL)
        for (i = 0; i < d->ss->custom_attributes.n; i++)
            free(d->custom_names[i]);
    free(d->custom_names);
    for (i = 0; i < d->list_attrs.n; i++)
        free(d->list_attrs.items[i]);
    free(d->list_attrs.items);
    rules_free(d->rules);
    release_kept(d);
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

/* Adds n rows left out for reason to res, keeping the reasons most
 * first, then by name, as `posfeed status` lists them. */
static void
add_left_out(struct feed_result *res, const char *reason, int64_t n)
{
    size_t k;

    if (n <= 0)
        return;
    for (k = res->nreasons;
         k > 0 && (res->reason_items[k - 1] < n ||
                   (res->reason_items[k - 1] == n &&
                    strcmp(res->reasons[k - 1], reason) > 0));
         k--) {
        res->reasons[k] = res->reasons[k - 1];
        res->reason_items[k] = res->reason_items[k - 1];
    }
    res->reasons[k] = xstrdup(reason);
    res->reason_items[k] = n;
    res->nreasons++;
    res->left_out += n;
}

/* What the build left out and why (left[i]: rows of tpl_reason(t, i);
 * free_rows: rows of free products), into res and the store, replacing
 * what the build before recorded. */
static int
record_left_out(struct store *s, const char *name, const struct tpl *t,
                const int64_t *left, int64_t free_rows,
                struct feed_result *res, struct pf_err *err)
{
    size_t i, n = tpl_nreasons(t);

    res->reasons = xcalloc(n + 2, sizeof(*res->reasons));
    res->reason_items = xcalloc(n + 2, sizeof(*res->reason_items));
    for (i = 0; i < n; i++)
        add_left_out(res, tpl_reason(t, i), left[i]);
    add_left_out(res, "free product", free_rows);
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
                    "variants, categories, orders, customers, events, "
                    "pages)",
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

/* A part ends after the row that passes this (0: the feed is not
 * split); the margin leaves room for that row and the document's closing
 * lines. */
static uint64_t
part_limit(const struct pf_feed_cfg *fc)
{
    return fc->max_file_size > 0
               ? (uint64_t)fc->max_file_size - 512 * 1024 : 0;
}

/* Renders every part of fc (one unless it is split) into parts[], each
 * a publish job not yet committed; *items counts the rows of all. */
static int
render_parts(const struct pf_config *cfg, const struct pf_feed_cfg *fc,
             const struct tpl *t, struct feed_data *d, struct part **parts,
             int *nparts, int64_t *items, int64_t *left, struct pf_err *err)
{
    uint64_t limit = part_limit(fc);

    do {
        struct part *p;

        *parts = xrealloc(*parts, (size_t)(*nparts + 1) * sizeof(**parts));
        p = &(*parts)[(*nparts)++];
        memset(p, 0, sizeof(*p));
        p->output = pf_names_part(fc->output, *nparts);
        if (publish_begin(cfg->feeds_dir, p->output, tpl_get_format(t),
                          fc->gzip, &p->job, err) != 0)
            return -1;
        if (limit > 0) {
            d->part_out = publish_out(p->job);
            d->part_limit = limit;
            d->part_rows = 0;
            d->part_full = 0;
        }
        if (tpl_render_counted(t, feed_data_tpl(d), publish_out(p->job),
                               &p->items, left, err) != 0 ||
            publish_seal(p->job, err) != 0)
            return -1;
        *items += p->items;
    } while (limit > 0 && d->part_full);
    return 0;
}

/* One row per file in the feeds table, so each can be served; the
 * feed's own row counts the items of all its parts. */
static int
record_parts(struct store *s, const struct pf_feed_cfg *fc,
             const struct part *parts, int nparts, int nindex,
             const struct feed_result *res, struct pf_err *err)
{
    struct store_feed_rec rec;
    int i, rc = 0;

    for (i = 0; rc == 0 && i < nparts + nindex; i++) {
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
        rec.items = i == 0 ? res->items : parts[i].items;
        rec.published_at = pf_time_now();
        rec.build_seconds = res->seconds;
        rc = store_feed_published(s, &rec, err);
        free(name);
    }
    if (rc == 0)
        rc = store_feed_forget_parts(s, fc->name, nparts, err);
    return rc;
}

int
feed_build(const struct pf_config *cfg, const struct pf_feed_cfg *fc,
           struct store *s, int force, struct feed_result *res,
           struct pf_err *err)
{
    struct feed_build_opts o;

    memset(&o, 0, sizeof(o));
    return feed_build_opt(cfg, fc, s, force, &o, res, err);
}

int
feed_build_opt(const struct pf_config *cfg, const struct pf_feed_cfg *fc,
               struct store *s, int force, const struct feed_build_opts *o,
               struct feed_result *res, struct pf_err *err)
{
    struct tpl *t = NULL;
    struct feed_data *d = NULL;
    struct part *parts = NULL;
    struct publish_gate gate;
    double t0 = pf_now_mono();
    int64_t items = 0, bytes = 0, gz_bytes = 0, *left = NULL;
    int nparts = 0, nindex = 0, i, rc = -1;

    memset(res, 0, sizeof(*res));
    if (tpl_load(fc->template_path, &t, err) != 0 ||
        feed_check(cfg, fc, t, err) != 0)
        goto cleanup;
    if (fc->ndjson && tpl_set_ndjson(t) != 0) {
        pf_errf(err, "format = ndjson needs a template whose root is a "
                "list of one \"@each\" object, as clerk-products has");
        goto cleanup;
    }
    if (feed_data_open(cfg, fc, s, o->tz_held, &d, err) != 0)
        goto cleanup;
    d->share = o->share;
    d->share_seat = o->share_seat;
    left = xcalloc(tpl_nreasons(t) + 1, sizeof(*left));
    if (render_parts(cfg, fc, t, d, &parts, &nparts, &items, left,
                     err) != 0)
        goto cleanup;
    release_kept(d);

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
    if (part_limit(fc) > 0) {
        /* The index is one more file, recorded after the parts. */
        parts = xrealloc(parts, (size_t)(nparts + 1) * sizeof(*parts));
        memset(&parts[nparts], 0, sizeof(*parts));
        nindex = 1;
        if (write_index(cfg, fc, parts, nparts, &parts[nparts], err) != 0)
            goto cleanup;
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
    rc = record_parts(s, fc, parts, nparts, nindex, res, err);
    if (rc == 0)
        rc = record_left_out(s, fc->name, t, left, d->free_left, res,
                             err);
cleanup:
    for (i = 0; i < nparts + nindex; i++) {
        if (parts[i].job != NULL)
            publish_abort(parts[i].job);
        free(parts[i].pr.path);
        free(parts[i].output);
    }
    free(parts);
    free(left);
    if (d != NULL && o->rows_read != NULL)
        for (i = 0; i <= COLL_PAGES; i++)
            o->rows_read[i] += d->rows_read[i];
    feed_data_free(d);
    if (o->share != NULL)
        feed_share_leave(o->share, o->share_seat);
    tpl_free(t);
    if (rc != 0) {
        feed_result_free(res);
        pf_err_prefix(err, "feed '%s'", fc->name);
    }
    return rc;
}

/* The collection name as a static string, which outlives the template. */
static const char *
feed_static_collection(const char *name)
{
    static const char *const names[] = {
        "products", "variants", "categories", "orders", "customers",
        "events", "pages", NULL
    };

    for (int i = 0; names[i] != NULL; i++)
        if (strcmp(names[i], name) == 0)
            return names[i];
    return NULL;
}

int
feed_render_ndjson(const struct pf_config *cfg, const struct pf_feed_cfg *fc,
                   struct store *s, int fd, int64_t *items,
                   const char **coll, struct pf_err *err)
{
    struct tpl *t = NULL;
    struct feed_data *d = NULL;
    struct pf_out o;
    int rc = -1;

    *items = 0;
    pf_out_init_fd(&o, fd);
    if (tpl_load(fc->template_path, &t, err) != 0 ||
        feed_check(cfg, fc, t, err) != 0)
        goto cleanup;
    if (tpl_set_ndjson(t) != 0) {
        pf_errf(err, "%s:%d: [feed %s]: template %s is not a list of one "
                "\"@each\" object, so it has no rows to push", cfg->path,
                fc->line, fc->name, fc->template_path);
        goto cleanup;
    }
    if (coll != NULL)
        *coll = tpl_ncollections(t) > 0
                    ? feed_static_collection(tpl_collection(t, 0)) : NULL;
    if (feed_data_new(cfg, fc, s, &d, err) != 0 ||
        tpl_render(t, feed_data_tpl(d), &o, items, err) != 0 ||
        pf_out_flush(&o, err) != 0)
        goto cleanup;
    rc = 0;
cleanup:
    pf_out_free(&o);
    feed_data_free(d);
    tpl_free(t);
    if (rc != 0)
        pf_err_prefix(err, "feed '%s'", fc->name);
    return rc;
}
