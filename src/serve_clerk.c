/* serve_clerk.c - see serve_clerk.h. This file: the request (route,
 * query, auth), the snapshot and the sync mode, and the streamed answer.
 * The config and render epochs are serve_clerk_def.c's, the token check
 * serve_clerk_auth.c's, the paging sessions serve_clerk_sess.c's.
 */
#include "serve_clerk.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "feed_window.h"
#include "log.h"
#include "serve_clerk_int.h"
#include "timeutil.h"

#define MAX_LIMIT 10000
#define MAX_DIGITS 18           /* fits an int64 with room to multiply */

/* What the query asks for. */
struct clerk_q {
    const char *modified_after;     /* as sent (digits) or NULL */
    int64_t since;                  /* modified_after - slack */
    int64_t limit;                  /* 0: no paging */
    int64_t offset;                 /* objects before this page */
    int json;                       /* format=json */
};

/* One answer being sent: MHD owns it through the response. */
struct clerk_ans {
    struct clerk *k;
    struct clerk_def *def;
    int ent;
    struct clerk_sess *sess;    /* the snapshot (kept or not) */
    int keep;                   /* paging: the session may be kept */
    int taken;                  /* the session was an idle one */
    int head;
    size_t idx;                 /* page number from 0 */
    struct feed_window *w;
    int64_t skip;               /* objects still to drop */
    int json, nobj, done, failed;
    int no_file;                /* its answer file failed: render live */
    struct pf_buf out;
    size_t pos;                 /* bytes of out already sent */
};

/* ---- lifecycle ---------------------------------------------------------- */

struct clerk *
clerk_new(clerk_respond_fn respond, void *arg)
{
    struct clerk *k = xcalloc(1, sizeof(*k));

    k->respond = respond;
    k->arg = arg;
    pthread_mutex_init(&k->mu, NULL);
    return k;
}

void
clerk_free(struct clerk *k)
{
    if (k == NULL)
        return;
    clerk_sess_close_all(k);
    clerk_def_put(k, k->def);
    if (k->tz != NULL)
        pf_tz_release();
    free(k->tz);
    pthread_mutex_destroy(&k->mu);
    free(k);
}

/* Windows render in the shop's zone from several threads at once, and
 * switching TZ is not thread-safe: the zone is held (pf_tz_hold) from
 * the first config with clerk_v2 on until the server stops, so no window
 * ever switches it. A new zone needs a restart; until then the endpoints
 * keep the config they have. Main thread. */
static int
hold_zone(struct clerk *k, const struct clerk_def *d)
{
    const char *tz = d->cfg->timezone;

    if (k->tz != NULL && strcmp(k->tz, tz) != 0) {
        log_warn("[shop] timezone changed: restart posfeed serve for "
                 "/clerk/v2/ to use the new config");
        return 0;
    }
    if (k->tz == NULL && d->cfg->serve.clerk_v2) {
        pf_tz_hold(tz);
        k->tz = xstrdup(tz);
    }
    return 1;
}

void
clerk_reload(struct clerk *k, const char *config_path)
{
    struct pf_err err = {{0}};
    struct clerk_def *d, *old;

    if (clerk_def_load(config_path, &d, &err) != 0)
        return;
    if (!hold_zone(k, d)) {
        clerk_def_free(d);
        return;
    }
    if (d->cfg->serve.clerk_v2)
        clerk_def_epochs(d);
    pthread_mutex_lock(&k->mu);
    old = k->def;
    k->def = d;
    pthread_mutex_unlock(&k->mu);
    clerk_def_put(k, old);
    /* Sessions keep their snapshot; their next pages render with the
     * new definition, whose new epoch makes the next sync full. */
}

void
clerk_sweep(struct clerk *k)
{
    struct clerk_def *d;
    double now = pf_now_mono();

    clerk_sess_sweep(k, now, CLERK_SESSION_IDLE);
    if (now - k->epochs_tried < 10)
        return;
    k->epochs_tried = now;
    d = clerk_def_get(k);
    if (d != NULL && d->cfg->serve.clerk_v2)
        clerk_def_epochs(d);
    clerk_def_put(k, d);
}

/* ---- answers without data ----------------------------------------------- */

/* Clerk's extensions' error shape: {"error":{"code":N,"message":"..."}}. */
static enum MHD_Result
refuse(struct clerk *k, struct MHD_Connection *c, unsigned code,
       const char *msg)
{
    cJSON *doc = cJSON_CreateObject(), *e;
    struct MHD_Response *r;
    char *txt;

    e = cJSON_AddObjectToObject(doc, "error");
    cJSON_AddNumberToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", msg);
    txt = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    r = MHD_create_response_from_buffer(strlen(txt), txt,
                                        MHD_RESPMEM_MUST_COPY);
    cJSON_free(txt);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "application/json");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (code == MHD_HTTP_SERVICE_UNAVAILABLE)
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "60");
    return k->respond(k->arg, c, code, r);
}

static enum MHD_Result
not_found(struct clerk *k, struct MHD_Connection *c)
{
    static const char msg[] = "404 not found\n";
    struct MHD_Response *r;

    r = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg,
                                        MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/plain; charset=utf-8");
    return k->respond(k->arg, c, MHD_HTTP_NOT_FOUND, r);
}

/* ---- the query ---------------------------------------------------------- */

/* A whole number of digits only into *v; -1 if v is not one. */
static int
digits(const char *s, int64_t *v)
{
    size_t n = strlen(s);

    if (n == 0 || n > MAX_DIGITS || strspn(s, "0123456789") != n)
        return -1;
    *v = (int64_t)strtoll(s, NULL, 10);
    return 0;
}

/* Reads the query into q; -1 with msg naming the parameter at fault. */
static int
parse_query(struct MHD_Connection *c, const struct pf_serve_cfg *sc,
            struct clerk_q *q, char *msg, size_t len)
{
    const char *ma, *lim, *page, *off, *fmt;
    int64_t p = 0;

    memset(q, 0, sizeof(*q));
    q->since = INT64_MIN;
    ma = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                     "modified_after");
    lim = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
    page = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "page");
    off = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "offset");
    fmt = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");
    if (ma != NULL && digits(ma, &q->since) != 0) {
        snprintf(msg, len, "modified_after: expected unix seconds "
                 "(digits only)");
        return -1;
    }
    if (ma != NULL) {
        q->modified_after = ma;
        q->since -= sc->clerk_slack_s;
    }
    if (lim != NULL && (digits(lim, &q->limit) != 0 || q->limit < 1 ||
                        q->limit > MAX_LIMIT)) {
        snprintf(msg, len, "limit: expected a whole number from 1 to %d",
                 MAX_LIMIT);
        return -1;
    }
    if (page != NULL && off != NULL) {
        snprintf(msg, len, "page, offset: give one of them, not both");
        return -1;
    }
    if (page != NULL && (digits(page, &p) != 0 ||
                         p < sc->clerk_page_base)) {
        snprintf(msg, len, "page: expected a whole number from %d",
                 sc->clerk_page_base);
        return -1;
    }
    if (off != NULL && digits(off, &q->offset) != 0) {
        snprintf(msg, len, "offset: expected a whole number from 0");
        return -1;
    }
    if ((page != NULL || off != NULL) && q->limit == 0) {
        snprintf(msg, len, "%s: needs limit", page ? "page" : "offset");
        return -1;
    }
    if (page != NULL)
        q->offset = (p - sc->clerk_page_base) * q->limit;
    q->json = fmt != NULL && strcmp(fmt, "json") == 0;
    return 0;
}

/* ---- the snapshot and the mode ------------------------------------------ */

static const char *const entity_one[CLERK_NENT] = {
    "product", "category", "order", "customer", "page"
};

/* Objects a window with changed_since = since yields: the changed rows
 * that still render. They are kept in *pre (NDJSON, with each object's
 * offset) while they fit in CLERK_PRE_MAX bytes: when the answer turns
 * out incremental they are its objects, and are not rendered twice. */
static int
rendered_since(const struct clerk_def *d, int ent, struct store *st,
               struct feed_window_cache *cache, int64_t since, int64_t *n,
               struct clerk_pre **pre, struct pf_err *err)
{
    struct feed_window_opts o = {.after = NULL, .changed_since = since,
                                 .cache = cache, .tz_held = 1};
    struct feed_window *w = NULL;
    struct clerk_pre *p = xcalloc(1, sizeof(*p));
    int64_t rows = 0, left = 0;
    size_t mark;
    int rc;

    if (feed_window_open(d->cfg, d->fc[ent], st, &o, &w, err) != 0) {
        clerk_pre_free(p);
        return -1;
    }
    do {
        mark = p->buf.len;
        rc = feed_window_next(w, &p->buf, err);
        if (rc == 1)
            clerk_pre_add(p, mark);
        if (p->buf.len > CLERK_PRE_MAX)
            p->over = 1;
        if (p->over)
            pf_buf_reset(&p->buf);
    } while (rc == 1);
    feed_window_counts(w, &rows, &left);
    *n = rows - left;
    feed_window_free(w);
    if (rc == 0 && !p->over)
        *pre = p;
    else
        clerk_pre_free(p);
    return rc;
}

/* Whether an answer for changes since `since` must be full (see the
 * contract in serve_clerk.h): a deletion, a new definition, or a changed
 * row that no longer renders. Inside the snapshot's transaction. When
 * not, *pre (may stay NULL) holds the answer's objects. */
static int
must_be_full(struct clerk_def *d, int ent, struct store *st,
             struct feed_window_cache *cache, int64_t since, int *full,
             struct clerk_pre **pre, struct pf_err *err)
{
    int64_t deleted = 0, changed = 0, shown = 0, epoch;
    int ok;

    pthread_mutex_lock(&d->emu);
    ok = d->epoch_ok[ent];
    epoch = d->epoch[ent];
    pthread_mutex_unlock(&d->emu);
    *full = 1;
    if (!ok || epoch >= since)
        return 0;
    if (store_deleted_count(st, entity_one[ent], since, &deleted, err) != 0)
        return -1;
    if (deleted > 0)
        return 0;
    if (store_changed_count(st, clerk_entities[ent], since, &changed,
                            err) != 0 ||
        rendered_since(d, ent, st, cache, since, &shown, pre, err) != 0)
        return -1;
    /* The counting window filled the cache: whether a name turned into
     * a list (or back) since, which changes products no row moved. */
    if (ent == CLERK_PRODUCTS &&
        clerk_def_lists_epoch(d, cache, st, &epoch, err) != 0)
        return -1;
    *full = changed > shown || (ent == CLERK_PRODUCTS && epoch >= since);
    if (*full) {
        clerk_pre_free(*pre);
        *pre = NULL;
    }
    return 0;
}

/* A new snapshot: a read-only connection in a read transaction, and the
 * mode decided on it. Orders are append-only: always incremental. The
 * connection's page cache is kept small: an answer reads its rows once,
 * in order, and up to CLERK_MAX_SESSIONS connections may be open.
 *
 * A request with modified_after reads the store through a memory map:
 * its changed rows are scattered over the catalog, each one a few b-tree
 * seeks, and reading those pages with a pread() each (a system call and
 * a copy) cost half of a 1% answer at 200k products. A full answer (from
 * the answer file, or rendered in order) maps nothing. */
static int
open_snapshot(struct clerk *k, struct clerk_def *d, int ent,
              const struct clerk_q *q, struct feed_window_cache **cache,
              struct store **out, int *full, struct clerk_pre **pre,
              struct pf_err *err)
{
    struct store *st = NULL;
    const char *begin = q->modified_after != NULL
        ? "PRAGMA cache_size = -2000; PRAGMA mmap_size = 1073741824; BEGIN"
        : "PRAGMA cache_size = -2000; PRAGMA mmap_size = 0; BEGIN";

    *full = 1;
    *cache = NULL;
    if (!clerk_pool_take(k, ent, d, &st, cache)) {
        if (store_open_readonly(d->cfg->store_path, &st, err) != 0)
            return -1;
        *cache = feed_window_cache_new();
    }
    if (sqlite3_exec(store_db(st), begin, NULL, NULL, NULL) != SQLITE_OK) {
        pf_errf(err, "%s: cannot begin a read: %s", d->cfg->store_path,
                sqlite3_errmsg(store_db(st)));
        goto fail;
    }
    if (q->modified_after != NULL && ent == CLERK_ORDERS)
        *full = 0;
    else if (q->modified_after != NULL &&
             must_be_full(d, ent, st, *cache, q->since, full, pre,
                          err) != 0)
        goto fail;
    *out = st;
    return 0;
fail:
    clerk_pre_free(*pre);
    *pre = NULL;
    store_close(st);
    return -1;
}

/* ---- streaming ---------------------------------------------------------- */

/* The window is done: the session goes back for the next page now, with
 * this page's end as the next one's start, before the last bytes go
 * out, so a client that has the whole page and asks for the next one
 * finds it (MHD frees the response only after the client may have). */
static void
finish(struct clerk_ans *a)
{
    int more = feed_window_more(a->w);

    if (a->keep && more)
        clerk_sess_bound(a->sess, a->idx, feed_window_last_key(a->w));
    feed_window_free(a->w);
    a->w = NULL;
    if (a->keep && more) {
        clerk_sess_give(a->k, a->sess);
        a->sess = NULL;
    }
}

/* Adds the next object (or the array's end) to a->out; sets done. */
static void
fill_one(struct clerk_ans *a)
{
    struct pf_err err = {{0}};
    size_t mark = a->out.len;
    int rc;

    if (a->json)
        pf_buf_adds(&a->out, a->nobj > 0 ? "," : "[");
    rc = feed_window_next(a->w, &a->out, &err);
    if (rc < 0) {
        log_error("clerk v2: %s: %s", clerk_entities[a->ent], err.msg);
        a->failed = 1;
        return;
    }
    if (rc == 0) {
        a->out.len = mark;
        if (a->json)
            pf_buf_adds(&a->out, a->nobj > 0 ? "]\n" : "[]\n");
        a->done = 1;
        finish(a);
        return;
    }
    if (a->skip > 0) {
        a->skip--;
        a->out.len = mark;
        return;
    }
    if (!a->json)
        pf_buf_addc(&a->out, '\n');
    a->nobj++;
}

/* MHD's content reader: objects until max bytes are ready. */
static ssize_t
ans_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct clerk_ans *a = cls;
    size_t n;

    (void)pos;
    if (a->pos > 0) {
        memmove(a->out.data, a->out.data + a->pos, a->out.len - a->pos);
        a->out.len -= a->pos;
        a->pos = 0;
    }
    while (a->out.len < max && !a->done && !a->failed)
        fill_one(a);
    if (a->failed)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (a->out.len == 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    n = a->out.len < max ? a->out.len : max;
    memcpy(buf, a->out.data, n);
    a->pos = n;
    return (ssize_t)n;
}

/* The response is done with (sent, cut or failed). */
static void
ans_free(void *cls)
{
    struct clerk_ans *a = cls;

    feed_window_free(a->w);
    atomic_fetch_add_explicit(&a->k->objects, (unsigned long)a->nobj,
                              memory_order_relaxed);
    /* Still here: the last page, no paging, a HEAD's new snapshot, or a
     * failure (cut short or a store error). */
    clerk_sess_close(a->k, a->sess);
    clerk_def_put(a->k, a->def);
    pf_buf_free(&a->out);
    free(a);
}

/* ---- one request -------------------------------------------------------- */

/* Where this page starts: the session's boundary for it, or (no session,
 * or a page past the known ones) the nearest boundary and a skip. */
static const char *
page_start(struct clerk_ans *a, const struct clerk_q *q)
{
    size_t last;

    if (q->limit == 0 || q->offset % q->limit != 0) {
        a->skip = q->offset;
        return NULL;
    }
    a->idx = (size_t)(q->offset / q->limit);
    last = a->sess->nbounds - 1;
    if (a->idx <= last)
        return a->sess->bounds[a->idx];
    a->skip = (int64_t)(a->idx - last) * q->limit;
    return a->sess->bounds[last];
}

/* The headers every answer carries: its type, never cached, full or
 * incremental (X-Posfeed-Sync), and from the run's file or rendered
 * now (X-Posfeed-Answer). */
static void
answer_headers(struct MHD_Response *r, int json, int full, const char *how)
{
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            json ? "application/json"
                                 : "application/x-ndjson");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Posfeed-Sync",
                            full ? "full" : "incremental");
    MHD_add_response_header(r, "X-Posfeed-Answer", how);
}

/* The snapshot for this page: the session of a page after the first, or
 * a new one (counted in as a session when paging). */
static int
find_snapshot(struct clerk_ans *a, const struct clerk_q *q,
              const unsigned char key[CLERK_SHA], int *full,
              struct pf_err *err)
{
    struct feed_window_cache *cache;
    struct clerk_pre *pre = NULL;
    struct store *st;

    a->sess = q->offset > 0 ? clerk_sess_take(a->k, key) : NULL;
    if (a->sess != NULL) {
        /* The session's pages all render with the definition of its
         * first page. */
        clerk_def_put(a->k, a->def);
        a->def = clerk_def_get_this(a->k, a->sess->def);
        *full = a->sess->full;
        a->keep = 1;
        a->taken = 1;
        return 0;
    }
    /* A new first page starts over (a HEAD leaves the old one be). */
    if (q->offset == 0 && q->limit > 0 && !a->head)
        clerk_sess_close(a->k, clerk_sess_take(a->k, key));
    if (open_snapshot(a->k, a->def, a->ent, q, &cache, &st, full, &pre,
                      err) != 0) {
        feed_window_cache_free(cache);
        return -1;
    }
    if (q->offset > 0) {
        atomic_fetch_add_explicit(&a->k->no_session, 1,
                                  memory_order_relaxed);
        log_info("clerk v2: %s from object %lld without a paging session "
                 "(expired or restarted): reading a new snapshot",
                 clerk_entities[a->ent], (long long)q->offset);
    }
    a->sess = clerk_sess_new(a->k, key, a->ent, st, cache,
                             clerk_def_get_this(a->k, a->def));
    a->sess->full = *full;
    a->sess->pre = pre;
    a->sess->since = q->since;
    a->keep = q->limit > 0;
    return 0;
}

static enum MHD_Result
send_answer(struct clerk_ans *a, struct MHD_Connection *c, int head,
            int full)
{
    struct MHD_Response *r;

    r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024,
                                          ans_read, a, ans_free);
    if (r == NULL) {
        ans_free(a);
        return MHD_NO;
    }
    if (head)
        a->done = 1;
    answer_headers(r, a->json, full, "live");
    return a->k->respond(a->k->arg, c, MHD_HTTP_OK, r);
}

/* An answer made before it was asked for (serve_clerk_file.c): a full
 * one from the session's answer file, an incremental one from what
 * deciding its mode rendered; the session is kept while pages follow. */
static enum MHD_Result
send_file(struct clerk_ans *a, struct MHD_Connection *c,
          struct MHD_Response *r, int64_t nobj, int more, int full)
{
    struct clerk *k = a->k;

    answer_headers(r, a->json, full, full ? "file" : "live");
    atomic_fetch_add_explicit(&k->answers[a->ent][full ? 1 : 0], 1,
                              memory_order_relaxed);
    atomic_store_explicit(&k->last_answer, (long long)pf_time_now(),
                          memory_order_relaxed);
    a->nobj = a->head ? 0 : (int)nobj;
    /* A HEAD leaves a session it borrowed as it was, and keeps none. */
    if ((more && !a->head) || (a->head && a->taken)) {
        clerk_sess_give(k, a->sess);
        a->sess = NULL;
    }
    ans_free(a);
    return k->respond(k->arg, c, MHD_HTTP_OK, r);
}

/* The answer from the file, when the snapshot is one the run wrote
 * (1: sent or queued, *ret its result); 0 when it renders live, its
 * session then a live one (a file that failed here is dropped, and a
 * new snapshot opened that will not use it). */
static int
try_file(struct clerk_ans *a, struct MHD_Connection *c,
         const struct clerk_q *q, const unsigned char key[CLERK_SHA],
         int *full, enum MHD_Result *ret, struct pf_err *err)
{
    struct MHD_Response *r;
    int64_t nobj = 0;
    int more = 0, damaged = 0;

    if (!*full && a->sess->pre != NULL) {
        /* Its objects are made: the snapshot is no longer read. */
        clerk_sess_unbind(a->k, a->sess);
        r = clerk_pre_response(a->sess, q->offset, q->limit, a->json,
                               &nobj, &more);
    } else if (!*full || a->no_file || !clerk_file_attach(a->k, a->sess))
        return 0;
    else
        r = clerk_file_response(a->sess, c, q->offset, q->limit, a->json,
                                &nobj, &more, &damaged);
    if (r != NULL) {
        *ret = send_file(a, c, r, nobj, more, *full);
        return 1;
    }
    clerk_sess_close(a->k, a->sess);
    a->sess = NULL;
    a->taken = 0;
    a->keep = 0;
    a->no_file = 1;
    if (find_snapshot(a, q, key, full, err) != 0) {
        *ret = MHD_NO;
        return -1;
    }
    return 0;
}

/* A full products answer records the list attributes it renders with
 * (its window filled the cache), so that the next incremental answer
 * compares against what this client was sent, not against nothing. */
static void
note_lists(struct clerk_ans *a)
{
    struct pf_err err = {{0}};
    int64_t epoch;

    if (clerk_def_lists_epoch(a->def, a->sess->cache, a->sess->st, &epoch,
                              &err) != 0)
        log_warn("clerk v2: products: %s", err.msg);
}

/* An authorized request with a good query: snapshot, window, answer. */
static enum MHD_Result
answer(struct clerk *k, struct clerk_def *d, int ent,
       struct MHD_Connection *c, const struct clerk_q *q,
       const unsigned char tok[CLERK_SHA], int head)
{
    struct clerk_ans *a = xcalloc(1, sizeof(*a));
    struct feed_window_opts o = {.after = NULL,
                                 .changed_since = INT64_MIN,
                                 .tz_held = 1};
    struct pf_err err = {{0}};
    unsigned char key[CLERK_SHA];
    enum MHD_Result ret;
    int full;

    a->k = k;
    a->def = d;
    a->ent = ent;
    a->json = q->json;
    a->head = head;
    pf_buf_init(&a->out);
    clerk_sess_key(tok, ent, q->modified_after, q->limit, key);
    if (find_snapshot(a, q, key, &full, &err) != 0)
        goto fail;
    switch (try_file(a, c, q, key, &full, &ret, &err)) {
    case 1:
        return ret;
    case -1:
        goto fail;
    default:
        break;
    }
    o.after = page_start(a, q);
    o.changed_since = full ? INT64_MIN : a->sess->since;
    o.limit = q->limit > 0 ? q->limit + a->skip : 0;
    o.cache = a->sess->cache;
    if (!head && feed_window_open(a->def->cfg, a->def->fc[ent],
                                  a->sess->st, &o, &a->w, &err) != 0)
        goto fail;
    if (!head && full && ent == CLERK_PRODUCTS)
        note_lists(a);
    if (head && a->taken) {
        /* A HEAD leaves a session it borrowed as it was. */
        clerk_sess_give(k, a->sess);
        a->sess = NULL;
    }
    atomic_fetch_add_explicit(&k->answers[ent][full ? 1 : 0], 1,
                              memory_order_relaxed);
    atomic_store_explicit(&k->last_answer, (long long)pf_time_now(),
                          memory_order_relaxed);
    return send_answer(a, c, head, full);
fail:
    log_error("clerk v2: %s: %s", clerk_entities[ent], err.msg);
    a->keep = 0;
    a->failed = 1;
    ans_free(a);
    return refuse(k, c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                "the store could not be read; see the server log");
}

static int
entity_of(const char *rest)
{
    int i;

    for (i = 0; i < CLERK_NENT; i++)
        if (strcmp(rest, clerk_entities[i]) == 0)
            return i;
    return -1;
}

enum MHD_Result
clerk_handle(struct clerk *k, struct MHD_Connection *c, const char *rest,
             int head)
{
    struct clerk_def *d = clerk_def_get(k);
    struct clerk_q q;
    unsigned char tok[CLERK_SHA];
    const char *why = "";
    char msg[160];
    int ent = entity_of(rest);
    enum clerk_auth au;
    enum MHD_Result ret;

    if (d == NULL || !d->cfg->serve.clerk_v2 || ent < 0) {
        clerk_def_put(k, d);
        return not_found(k, c);
    }
    au = clerk_auth_check(k, d, c, tok, &why);
    if (au != CLERK_AUTH_OK)
        ret = refuse(k, c, au == CLERK_AUTH_DOWN
                             ? MHD_HTTP_SERVICE_UNAVAILABLE
                             : MHD_HTTP_FORBIDDEN, why);
    else if (parse_query(c, &d->cfg->serve, &q, msg, sizeof msg) != 0)
        ret = refuse(k, c, MHD_HTTP_BAD_REQUEST, msg);
    else
        return answer(k, d, ent, c, &q, tok, head);  /* takes d */
    clerk_def_put(k, d);
    return ret;
}

/* ---- status and metrics ------------------------------------------------- */

static unsigned long
load(atomic_ulong *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

void
clerk_status(struct clerk *k, cJSON *doc)
{
    struct clerk_def *d = clerk_def_get(k);
    cJSON *o;
    unsigned long full = 0, inc = 0;
    long long last = atomic_load_explicit(&k->last_answer,
                                          memory_order_relaxed);
    char t[32];
    int i;

    if (d == NULL || !d->cfg->serve.clerk_v2) {
        clerk_def_put(k, d);
        return;
    }
    clerk_def_put(k, d);
    for (i = 0; i < CLERK_NENT; i++) {
        inc += load(&k->answers[i][0]);
        full += load(&k->answers[i][1]);
    }
    o = cJSON_AddObjectToObject(doc, "clerk_v2");
    cJSON_AddNumberToObject(o, "full", (double)full);
    cJSON_AddNumberToObject(o, "incremental", (double)inc);
    cJSON_AddNumberToObject(o, "objects", (double)load(&k->objects));
    cJSON_AddNumberToObject(o, "sessions", clerk_sess_count(k));
    cJSON_AddNumberToObject(o, "tokens_refused",
                            (double)load(&k->tok_refused));
    cJSON_AddNumberToObject(o, "verify_failed",
                            (double)load(&k->tok_failed));
    if (last > 0) {
        pf_time_iso_utc(last, t);
        cJSON_AddStringToObject(o, "last_answer", t);
    }
}

static void
family(struct pf_buf *b, const char *name, const char *type,
       const char *help)
{
    pf_buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Labels of one sample: "{" + extra + label + "}", or "" when both are
 * empty.  extra is the sample's own labels ("entity=\"x\"" etc.). */
static void
sample(struct pf_buf *b, const char *name, const char *extra,
       const char *label, unsigned long v)
{
    int has_l = label != NULL && label[0] != '\0';

    if (extra[0] == '\0' && !has_l)
        pf_buf_addf(b, "%s %lu\n", name, v);
    else
        pf_buf_addf(b, "%s{%s%s%s} %lu\n", name, extra,
                    extra[0] != '\0' && has_l ? "," : "",
                    has_l ? label : "", v);
}

void
clerk_metrics(struct clerk *k, struct pf_buf *b, const char *label)
{
    static const char *const res[3] = {"ok", "refused", "verify_failed"};
    atomic_ulong *tv[3] = {&k->tok_ok, &k->tok_refused, &k->tok_failed};
    struct clerk_def *d = clerk_def_get(k);
    int i, m, on = d != NULL && d->cfg->serve.clerk_v2;
    char ex[96];

    /* Only when the endpoints are on: a server without them shows
     * nothing of them, not even the name. */
    clerk_def_put(k, d);
    if (!on)
        return;
    family(b, "posfeed_clerk_v2_answers_total", "counter",
           "Clerk V2 answers by entity and sync mode.");
    for (i = 0; i < CLERK_NENT; i++)
        for (m = 0; m < 2; m++) {
            snprintf(ex, sizeof ex, "entity=\"%s\",sync=\"%s\"",
                     clerk_entities[i], m ? "full" : "incremental");
            sample(b, "posfeed_clerk_v2_answers_total", ex, label,
                   load(&k->answers[i][m]));
        }
    family(b, "posfeed_clerk_v2_objects_total", "counter",
           "Objects sent by the Clerk V2 endpoints.");
    sample(b, "posfeed_clerk_v2_objects_total", "", label,
           load(&k->objects));
    family(b, "posfeed_clerk_v2_token_checks_total", "counter",
           "Clerk V2 token checks by result.");
    for (i = 0; i < 3; i++) {
        snprintf(ex, sizeof ex, "result=\"%s\"", res[i]);
        sample(b, "posfeed_clerk_v2_token_checks_total", ex, label,
               load(tv[i]));
    }
    family(b, "posfeed_clerk_v2_pages_without_session_total", "counter",
           "Pages read from a new snapshot for want of a paging session.");
    sample(b, "posfeed_clerk_v2_pages_without_session_total", "", label,
           load(&k->no_session));
    family(b, "posfeed_clerk_v2_sessions", "gauge",
           "Clerk V2 paging sessions open.");
    sample(b, "posfeed_clerk_v2_sessions", "", label,
           (unsigned long)clerk_sess_count(k));
}
