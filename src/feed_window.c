/* feed_window.c - see feed_window.h. A window is a build of one feed
 * (feed.c's feed_data, rules and row builders) whose first collection's
 * cursor reads only the page's rows, rendered one object per call by the
 * template's row renderer (tpl_rows_*). */
#include "feed_window.h"

#include <openssl/sha.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "feed.h"
#include "feed_int.h"
#include "rows.h"
#include "template.h"

struct feed_window_cache {
    const void *db;             /* the connection it was filled on */
    const struct pf_feed_cfg *fc;
    int64_t data_version;       /* commits by other connections */
    int64_t changes;            /* and by its own */
    int known;
    struct pf_strlist list_attrs;
    /* The store's generation of that snapshot (store_generation; -1:
     * none names it) and whether the list came from the store. */
    int64_t gen;
    int stored;
};

struct feed_window {
    struct tpl *t;
    struct feed_data *d;
    struct feed_cursor *fc;
    struct tpl_rows *rr;
    const char *coll;           /* static */
    const char *feed;           /* the feed's name, for errors */
    int64_t limit, written;
    int done, more;
};

/* The collections a window pages, as static strings. */
static const char *
window_collection(const char *name)
{
    static const char *const names[] = {
        "products", "categories", "orders", "customers", "pages", NULL
    };
    int i;

    for (i = 0; name != NULL && names[i] != NULL; i++)
        if (strcmp(names[i], name) == 0)
            return names[i];
    return NULL;
}

/* The template, checked as a build checks it, as NDJSON rows of a
 * collection a window can page. */
static int
load_template(const struct pf_config *cfg, const struct pf_feed_cfg *fc,
              struct feed_window *w, struct pf_err *err)
{
    if (tpl_load(fc->template_path, &w->t, err) != 0 ||
        feed_check(cfg, fc, w->t, err) != 0)
        return -1;
    if (tpl_set_ndjson(w->t) != 0) {
        pf_errf(err, "%s:%d: [feed %s]: template %s is not a list of one "
                "\"@each\" object, so it has no rows to page", cfg->path,
                fc->line, fc->name, fc->template_path);
        return -1;
    }
    w->coll = window_collection(tpl_collection(w->t, 0));
    if (w->coll == NULL) {
        pf_errf(err, "%s:%d: [feed %s]: template %s opens '%s'; a window "
                "pages products, categories, orders, customers or pages",
                cfg->path, fc->line, fc->name, fc->template_path,
                tpl_collection(w->t, 0) ? tpl_collection(w->t, 0) : "");
        return -1;
    }
    return 0;
}

struct feed_window_cache *
feed_window_cache_new(void)
{
    return xcalloc(1, sizeof(struct feed_window_cache));
}

static void
strlist_clear(struct pf_strlist *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

static void
strlist_copy(struct pf_strlist *to, const struct pf_strlist *from)
{
    size_t i;

    to->items = xcalloc(from->n + 1, sizeof(*to->items));
    for (i = 0; i < from->n; i++)
        to->items[i] = xstrdup(from->items[i]);
    to->n = from->n;
}

static int
cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *
feed_window_cache_text(const struct feed_window_cache *c)
{
    struct pf_buf b;
    char **names;
    size_t i, n = c != NULL && c->known ? c->list_attrs.n : 0;

    pf_buf_init(&b);
    pf_buf_add(&b, "", 0);
    if (n == 0)
        return b.data;
    names = xmalloc(n * sizeof(*names));
    memcpy(names, c->list_attrs.items, n * sizeof(*names));
    qsort(names, n, sizeof(*names), cmp_names);
    for (i = 0; i < n; i++)
        pf_buf_addf(&b, "%s\n", names[i]);
    free(names);
    return b.data;
}

void
feed_window_cache_free(struct feed_window_cache *c)
{
    if (c == NULL)
        return;
    strlist_clear(&c->list_attrs);
    free(c);
}

/* What tells one snapshot of a connection from the next. */
static int
snapshot_id(struct store *s, int64_t *version, int64_t *changes,
            struct pf_err *err)
{
    sqlite3 *db = store_db(s);
    sqlite3_stmt *st = NULL;

    if (rows_stmt_open(s, &st, "PRAGMA data_version", "the store's version",
                       err) != 0)
        return -1;
    if (store_step(s, st, err, "reading the store's version") != 1) {
        sqlite3_finalize(st);
        return -1;
    }
    *version = sqlite3_column_int64(st, 0);
    *changes = sqlite3_total_changes64(db);
    sqlite3_finalize(st);
    return 0;
}

/* The derived key (store_derived_get) of the list attributes of fc's
 * settings: only its attributes mode and custom attributes decide which
 * names are lists. */
static char *
lists_key(const struct pf_feed_cfg *fc)
{
    const struct pf_sync_settings *ss = &fc->sync;
    unsigned char md[SHA256_DIGEST_LENGTH];
    struct pf_buf b, k;
    size_t i;

    pf_buf_init(&b);
    pf_buf_addf(&b, "attributes=%d\n", (int)ss->attributes);
    for (i = 0; i < ss->custom_attributes.n; i++)
        pf_buf_addf(&b, "%zu:%s\n", strlen(ss->custom_attributes.items[i]),
                    ss->custom_attributes.items[i]);
    SHA256((const unsigned char *)b.data, b.len, md);
    pf_buf_free(&b);
    pf_buf_init(&k);
    pf_buf_adds(&k, "products/list-attributes/");
    for (i = 0; i < 8; i++)
        pf_buf_addf(&k, "%02x", md[i]);
    return k.data;
}

/* The names of a feed_window_cache_text() into l. */
static void
strlist_parse(struct pf_strlist *l, const char *text)
{
    const char *p = text, *nl;

    while ((nl = strchr(p, '\n')) != NULL) {
        l->items = xrealloc(l->items, (l->n + 2) * sizeof(*l->items));
        l->items[l->n++] = xstrndup(p, (size_t)(nl - p));
        l->items[l->n] = NULL;
        p = nl + 1;
    }
}

/* A products cache that missed: the list attributes a run stored for
 * this snapshot's generation, instead of reading the whole catalog. */
static void
cache_load(struct feed_window *w, struct feed_window_cache *c,
           const struct pf_feed_cfg *fc, struct store *s)
{
    struct pf_err err = {{0}};
    char *key, *text = NULL;
    int rc;

    c->gen = -1;
    if (strcmp(w->coll, "products") != 0)
        return;
    /* Only a shortcut: a store that cannot say (one of schema version 6
     * that no writer has migrated yet) is read whole, as before. */
    if (store_generation(s, &c->gen, &err) != 0) {
        c->gen = -1;
        return;
    }
    if (c->gen < 0)
        return;
    key = lists_key(fc);
    rc = store_derived_get(s, key, c->gen, &text, &err);
    free(key);
    if (rc != 0)
        c->gen = -1;
    if (rc != 0 || text == NULL)
        return;
    strlist_parse(&c->list_attrs, text);
    free(text);
    c->known = 1;
    c->stored = 1;
    strlist_copy(&w->d->list_attrs, &c->list_attrs);
    w->d->list_attrs_known = 1;
}

/* Before the cursor opens: the cached list attributes, when they are of
 * this snapshot. */
static int
cache_use(struct feed_window *w, struct feed_window_cache *c,
          const struct pf_feed_cfg *fc, struct store *s, struct pf_err *err)
{
    int64_t version, changes;

    if (c == NULL)
        return 0;
    if (snapshot_id(s, &version, &changes, err) != 0)
        return -1;
    if (c->known && c->db == store_db(s) && c->fc == fc &&
        c->data_version == version && c->changes == changes) {
        strlist_copy(&w->d->list_attrs, &c->list_attrs);
        w->d->list_attrs_known = 1;
        return 0;
    }
    strlist_clear(&c->list_attrs);
    c->known = 0;
    c->stored = 0;
    c->db = store_db(s);
    c->fc = fc;
    c->data_version = version;
    c->changes = changes;
    cache_load(w, c, fc, s);
    return 0;
}

int
feed_window_cache_save(const struct feed_window_cache *c, struct store *s,
                       struct pf_err *err)
{
    char *key, *text;
    int rc;

    if (c == NULL || !c->known || c->stored || c->gen < 0)
        return 0;
    key = lists_key(c->fc);
    text = feed_window_cache_text(c);
    rc = store_derived_put(s, key, c->gen, text, NULL, err);
    free(key);
    free(text);
    return rc;
}

/* After: what the cursor computed, for the next window. */
static void
cache_fill(struct feed_window *w, struct feed_window_cache *c)
{
    if (c == NULL || c->known || !w->d->list_attrs_known)
        return;
    strlist_copy(&c->list_attrs, &w->d->list_attrs);
    c->known = 1;
}

/* The window's own cursor: its rows after o->after and changed since
 * o->changed_since; its child cursors seek each row's key when the rows
 * are sparse, else start at the page's first key and merge. */
static int
open_cursor(struct feed_window *w, const struct feed_window_opts *o,
            struct pf_err *err)
{
    struct feed_data *d = w->d;
    int rc;

    d->win_main = 1;
    d->child_seek = o->changed_since != INT64_MIN ? ROWS_AT : ROWS_FROM;
    d->win_after = o->after;
    d->win_since = o->changed_since;
    rc = feed_cursor_open(d, w->coll, &w->fc, err);
    d->win_main = 0;
    d->child_seek = ROWS_MERGE;
    d->win_after = NULL;
    if (rc != 0)
        return -1;
    w->fc->track_key = 1;
    return 0;
}

int
feed_window_open(const struct pf_config *cfg, const struct pf_feed_cfg *fc,
                 struct store *s, const struct feed_window_opts *o,
                 struct feed_window **out, struct pf_err *err)
{
    struct feed_window *w = xcalloc(1, sizeof(*w));

    *out = NULL;
    w->feed = fc->name;
    w->limit = o->limit;
    if (load_template(cfg, fc, w, err) != 0 ||
        feed_data_open(cfg, fc, s, o->tz_held, &w->d, err) != 0 ||
        cache_use(w, o->cache, fc, s, err) != 0 ||
        open_cursor(w, o, err) != 0 ||
        tpl_rows_new(w->t, feed_data_tpl(w->d), &w->rr, err) != 0) {
        pf_err_prefix(err, "feed '%s'", fc->name);
        feed_window_free(w);
        return -1;
    }
    cache_fill(w, o->cache);
    *out = w;
    return 0;
}

/* At the limit: whether a row is left, without reading it. */
static int
peek_more(struct feed_window *w, struct pf_err *err)
{
    if (w->fc->done)
        return 0;
    if (cur_step(&w->fc->main, err) != 0)
        return -1;
    w->more = w->fc->main.has_row;
    return 0;
}

int
feed_window_next(struct feed_window *w, struct pf_buf *buf,
                 struct pf_err *err)
{
    const struct tpl_data *td = feed_data_tpl(w->d);
    const struct pf_obj *row;
    struct pf_out o;
    size_t len0 = buf->len;
    int k;

    if (w->done)
        return 0;
    if (w->limit > 0 && w->written >= w->limit) {
        w->done = 1;
        if (peek_more(w, err) != 0)
            goto fail;
        return 0;
    }
    for (;;) {
        k = td->next(td->ctx, w->fc, &row, err);
        if (k <= 0)
            break;
        pf_out_init_mem(&o, buf);
        k = tpl_rows_render(w->rr, row, &o, err);
        if (k != 0)
            break;
        if (buf->data != NULL) {    /* left out: nothing of it stays */
            buf->len = len0;
            buf->data[len0] = '\0';
        }
    }
    if (k < 0)
        goto fail;
    if (k == 0) {
        w->done = 1;
        return 0;
    }
    w->written++;
    return 1;
fail:
    w->done = 1;
    if (feed_window_last_key(w) != NULL)
        pf_err_prefix(err, "%s %s", w->coll, feed_window_last_key(w));
    pf_err_prefix(err, "feed '%s'", w->feed);
    return -1;
}

const char *
feed_window_last_key(const struct feed_window *w)
{
    return w->fc->key.data;
}

int
feed_window_more(const struct feed_window *w)
{
    return w->more;
}

void
feed_window_counts(const struct feed_window *w, int64_t *rows,
                   int64_t *left_out)
{
    int64_t n = w->d->rows_read[w->fc->kind];

    if (rows != NULL)
        *rows = n;
    if (left_out != NULL)
        *left_out = n - w->written;
}

const char *
feed_window_collection(const struct feed_window *w)
{
    return w->coll;
}

void
feed_window_free(struct feed_window *w)
{
    if (w == NULL)
        return;
    tpl_rows_free(w->rr);
    feed_cursor_free(w->fc);
    feed_data_free(w->d);
    tpl_free(w->t);
    free(w);
}
