/* source_lsr.c - see source_lsr.h. */
#include "source_lsr.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "oauth.h"
#include "ratelimit.h"
#include "source.h"
#include "sync.h"
#include "timeutil.h"
#include "value.h"

#define LSR_PAGE 100
/* A page that is not JSON is fetched again this many times before the
 * run gives up: proxies truncate, servers hiccup. */
#define LSR_PARSE_TRIES 3
#define LSR_MAX_OPTIONS 3
/* Refreshes one request may make after a 401 before it gives up. A 401
 * usually means the access token expired; but a loaded API has been seen
 * to refuse a token it issued a moment before, and the next one works. */
#define LSR_AUTH_REFRESHES 2
/* The name of a sale line without an item and without a note. */
#define LSR_NO_ITEM_NAME "Miscellaneous"

struct name_map {
    char *id, *name[LSR_MAX_OPTIONS];
};

struct lsr {
    const struct lsr_opts *o;
    struct store *s;
    struct sync_report *rep;
    struct http_client *http;
    struct http_opts hopts;
    struct oauth oauth;
    int have_oauth;
    struct ratelimit rl;
    double cost;                /* expected cost of the next request */
    int decimals;
    int full;
    char *base;                 /* .../API/V3/Account/{id}/ */
    struct pf_arena arena;      /* per record */
    struct name_map *brands, *sets;
    size_t nbrands, nsets;
    /* Progress. */
    const char *stream;
    int64_t rows, removed;
    double rl_waited;
    int progress_shown;
    /* The first store error of a row function (they return only -1):
     * pull() fails the page with it. */
    struct pf_err serr;
    int serr_set;
};

/* ---- normalization ------------------------------------------------------ */

cJSON *
lsr_list(cJSON *obj, const char *wrapper, const char *elem)
{
    cJSON *holder = obj, *v, *arr;

    if (wrapper != NULL) {
        holder = cJSON_GetObjectItem(obj, wrapper);
        if (!cJSON_IsObject(holder)) {
            /* "" (empty), missing or junk: replace with {elem: []}. */
            holder = cJSON_CreateObject();
            if (cJSON_GetObjectItem(obj, wrapper) != NULL)
                cJSON_ReplaceItemInObject(obj, wrapper, holder);
            else
                cJSON_AddItemToObject(obj, wrapper, holder);
        }
    }
    v = cJSON_GetObjectItem(holder, elem);
    if (cJSON_IsArray(v))
        return v;
    arr = cJSON_CreateArray();
    if (cJSON_IsObject(v)) {
        cJSON_DetachItemViaPointer(holder, v);
        cJSON_AddItemToArray(arr, v);
        cJSON_AddItemToObject(holder, elem, arr);
    }
    else if (v != NULL) {
        cJSON_ReplaceItemInObject(holder, elem, arr);
    }
    else {
        cJSON_AddItemToObject(holder, elem, arr);
    }
    return arr;
}

const char *
lsr_str(const cJSON *obj, const char *key, char *buf)
{
    const cJSON *v = cJSON_GetObjectItem(obj, key);

    if (cJSON_IsString(v))
        return v->valuestring[0] != '\0' ? v->valuestring : NULL;
    if (cJSON_IsNumber(v)) {
        if (v->valuedouble == (double)(int64_t)v->valuedouble)
            snprintf(buf, 64, "%" PRId64, (int64_t)v->valuedouble);
        else
            snprintf(buf, 64, "%.17g", v->valuedouble);
        return buf;
    }
    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v) ? "true" : "false";
    return NULL;
}

const char *
lsr_ref(const cJSON *obj, const char *key, char *buf)
{
    const char *s = lsr_str(obj, key, buf);

    return s != NULL && strcmp(s, "0") != 0 ? s : NULL;
}

int
lsr_bool(const cJSON *obj, const char *key, int dflt)
{
    char buf[64];
    const char *s = lsr_str(obj, key, buf);

    if (s == NULL)
        return dflt;
    if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
        return 1;
    if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
        return 0;
    return -1;
}

int
lsr_money(const char *s, int decimals, int64_t *minor)
{
    int64_t v = 0;
    int neg = 0, d = 0, any = 0, round_up = 0;

    if (s == NULL)
        return -1;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    for (; *s >= '0' && *s <= '9'; s++, any = 1) {
        if (v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*s - '0');
    }
    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9'; s++, any = 1) {
            if (d < decimals) {
                if (v > (INT64_MAX - 9) / 10)
                    return -1;
                v = v * 10 + (*s - '0');
                d++;
            }
            else if (d == decimals) {
                round_up = *s >= '5';
                d++;
            }
        }
    }
    if (!any || *s != '\0')
        return -1;
    for (; d < decimals; d++) {
        if (v > INT64_MAX / 10)
            return -1;
        v *= 10;
    }
    v += round_up;
    if (v > STORE_MAX_MONEY)
        return -1;              /* beyond any real amount (store.h) */
    *minor = neg ? -v : v;
    return 0;
}

int
lsr_int(const char *s, int64_t *out)
{
    char *end;
    long long v;

    if (s == NULL || *s == '\0')
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s)
        return -1;
    /* Quantities come as "3" or "3.000"; fractions are not whole. */
    if (*end == '.') {
        for (end++; *end == '0'; end++)
            ;
    }
    if (*end != '\0')
        return -1;
    *out = v;
    return 0;
}

/* ---- progress ----------------------------------------------------------- */

static void
progress(struct lsr *L, int done)
{
    const struct http_stats *st = http_client_stats(L->http);

    if (!L->o->progress)
        return;
    fprintf(stderr, "\r  %-16s %8" PRId64 " rows  %6ld requests  "
            "%6.1f s rate-limit wait%s", L->stream, L->rows, st->requests,
            L->rl_waited + st->waited_s, done ? "\n" : "");
    L->progress_shown = !done;
}

/* ---- text fields -------------------------------------------------------- */

/* Text for the store: valid UTF-8 (repaired with a warning naming the
 * record and field), NULL when absent. Lives in the record arena. */
static const char *
text(struct lsr *L, const cJSON *rec, const char *key, const char *res,
     const char *id)
{
    char buf[64];
    const char *s = lsr_str(rec, key, buf);
    struct pf_buf b;
    char *out;

    if (s == NULL)
        return NULL;
    if (pf_utf8_valid(s, strlen(s)))
        return pf_arena_strdup(&L->arena, s);
    pf_buf_init(&b);
    pf_utf8_repair(&b, s, strlen(s));
    sync_warn(L->rep, res, "%s %s: field '%s': invalid UTF-8 repaired", res,
              id, key);
    out = pf_arena_strdup(&L->arena, b.data);
    pf_buf_free(&b);
    return out;
}

/* s without the white space around it, in the record arena; NULL when
 * nothing is left. */
static const char *
trimmed(struct lsr *L, const char *s)
{
    static const char ws[] = " \t\r\n\f\v";
    size_t n;

    if (s == NULL)
        return NULL;
    s += strspn(s, ws);
    n = strlen(s);
    while (n > 0 && strchr(ws, s[n - 1]) != NULL)
        n--;
    return n > 0 ? pf_arena_strndup(&L->arena, s, n) : NULL;
}

static int64_t
when(struct lsr *L, const cJSON *rec, const char *key, const char *res,
     const char *id)
{
    char buf[64];
    const char *s = lsr_str(rec, key, buf);
    struct pf_err e;
    int64_t t;

    if (s == NULL)
        return 0;
    /* The parse also keeps the time within timeutil's range. */
    if (pf_time_parse(s, &t, &e) != 0) {
        sync_warn(L->rep, res, "%s %s: field '%s': %s", res, id, key,
                  e.msg);
        return 0;
    }
    return t;
}

static const char *
map_find(const struct name_map *m, size_t n, const char *id, int k)
{
    size_t i;

    if (id == NULL)
        return NULL;
    for (i = 0; i < n; i++)
        if (strcmp(m[i].id, id) == 0)
            return m[i].name[k];
    return NULL;
}

static void
map_free(struct name_map *m, size_t n)
{
    size_t i;
    int k;

    for (i = 0; i < n; i++) {
        free(m[i].id);
        for (k = 0; k < LSR_MAX_OPTIONS; k++)
            free(m[i].name[k]);
    }
    free(m);
}

/* ---- requests ----------------------------------------------------------- */

/* The error for a final answer other than 200. Only the token endpoint's
 * invalid_grant (in oauth.c) means the authorization is gone and tells
 * the user to run `posfeed auth`; a 401 that outlasts fresh tokens is
 * Lightspeed's trouble, and a 403 is about scopes or the account. */
static void
api_error(const char *res, const struct http_resp *resp, int refreshes,
          struct pf_err *err)
{
    cJSON *d = cJSON_ParseWithLength(resp->body, resp->len);
    char buf[64], why[256];
    const char *m = d != NULL ? lsr_str(d, "message", buf) : NULL;

    snprintf(why, sizeof(why), "%s%.200s%s", m != NULL ? " (" : "",
             m != NULL ? m : "", m != NULL ? ")" : "");
    if (resp->status == 401)
        pf_errf(err, "Lightspeed %s: HTTP 401%s again after refreshing "
                "the access token %d time%s; the token endpoint still "
                "accepts posfeed's authorization, so Lightspeed is "
                "refusing fresh tokens for now: try again later", res, why,
                refreshes, refreshes == 1 ? "" : "s");
    else if (resp->status == 403)
        pf_errf(err, "Lightspeed %s: HTTP 403%s: Lightspeed refuses this "
                "to the employee who authorized posfeed; check [source] "
                "account_id and that the employee may read inventory, "
                "customers and sales", res, why);
    else
        pf_errf(err, "Lightspeed %s: HTTP %ld%s", res, resp->status, why);
    cJSON_Delete(d);
}

static int
api_get(struct lsr *L, const char *url, const char *res, cJSON **out,
        struct pf_err *err)
{
    struct http_resp resp;
    char auth[4096];
    const char *hdrs[3];
    const char *tok;
    int tries = 0, refreshes = 0;
    double wait;

    memset(&resp, 0, sizeof(resp));
    for (;;) {
        wait = ratelimit_wait(&L->rl, L->cost, http_now(L->http));
        if (wait > 0) {
            log_debug("%s: waiting %.2f s for the rate limit", res, wait);
            http_sleep(L->http, wait);
            L->rl_waited += wait;
        }
        if (oauth_token(&L->oauth, &tok, err) != 0)
            return -1;
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
        hdrs[0] = auth;
        hdrs[1] = "Accept: application/json";
        hdrs[2] = NULL;
        if (http_get(L->http, url, hdrs, &resp, err) != 0) {
            memset(auth, 0, sizeof(auth));
            pf_err_prefix(err, "Lightspeed %s", res);
            return -1;
        }
        memset(auth, 0, sizeof(auth));
        ratelimit_update(&L->rl, resp.bucket_level, resp.drip_rate,
                         resp.burst_level, http_now(L->http));
        if (resp.request_cost != NULL && atof(resp.request_cost) > 0)
            L->cost = atof(resp.request_cost);
        if (resp.status == 401 && refreshes < LSR_AUTH_REFRESHES) {
            /* The access token expired or was revoked: refresh (which
             * stores the rotated refresh token before the new access
             * token is used) and try again. */
            http_resp_free(&resp);
            if (refreshes++ > 0)
                log_warn("Lightspeed %s: HTTP 401 right after a token "
                         "refresh; refreshing once more", res);
            if (oauth_refresh(&L->oauth, err) != 0)
                return -1;
            continue;
        }
        if (resp.status != 200) {
            api_error(res, &resp, refreshes, err);
            http_resp_free(&resp);
            return -1;
        }
        *out = cJSON_ParseWithLength(resp.body, resp.len);
        if (*out != NULL && cJSON_IsObject(*out)) {
            http_resp_free(&resp);
            return 0;
        }
        cJSON_Delete(*out);
        *out = NULL;
        http_resp_free(&resp);
        if (++tries >= LSR_PARSE_TRIES) {
            pf_errf(err, "Lightspeed %s: the API sent malformed JSON %d "
                    "times in a row; try again later", res, tries);
            return -1;
        }
        log_warn("Lightspeed %s: malformed JSON page, fetching it again",
                 res);
        http_sleep(L->http, 0.2 * tries);
    }
}

/* ---- the pager ---------------------------------------------------------- */

enum pull_mode {
    PULL_INCREMENTAL,   /* sort=timeStamp, bookmark, txn per page */
    PULL_BY_ID,         /* write-once records without a timeStamp
                         * (SaleVoid): sort=ID, ID > bookmark */
    PULL_SNAPSHOT       /* everything; the caller holds a transaction */
};

typedef int (*row_fn)(struct lsr *L, cJSON *rec, const char *id);
/* Runs before a page's records land, outside its transaction. */
typedef int (*page_fn)(struct lsr *L, cJSON *page, struct pf_err *err);

/* A stream: the resource (also the stream's name in bookmarks and in the
 * run's counts), how it is read, and what each record becomes. */
struct stream_def {
    const char *res;
    enum pull_mode mode;
    const char *const *rels;    /* load_relations; NULL: none */
    int archived;               /* 1: archived records too */
    row_fn fn;
    page_fn prepare;            /* NULL: nothing */
};

/* "Item" -> "itemID". */
static void
id_key(const char *res, char out[64])
{
    snprintf(out, 64, "%c%sID", res[0] + ('a' - 'A'), res + 1);
}

static char *
start_url(struct lsr *L, const char *res, enum pull_mode mode,
          const char *params, const char *bookmark)
{
    struct pf_buf b;
    char key[64];

    pf_buf_init(&b);
    id_key(res, key);
    pf_buf_addf(&b, "%s%s.json?sort=%s&limit=%d", L->base, res,
                mode == PULL_INCREMENTAL ? "timeStamp" : key, LSR_PAGE);
    if (params != NULL)
        pf_buf_addf(&b, "&%s", params);
    if (bookmark != NULL) {
        /* Timestamps have second resolution, so >= and re-read the
         * boundary; ids are unique, so strictly after the last one. */
        char *op = xasprintf("%s,%s", mode == PULL_BY_ID ? ">" : ">=",
                             bookmark);
        char *e = http_escape(op);

        pf_buf_addf(&b, "&%s=%s", mode == PULL_BY_ID ? key : "timeStamp",
                    e);
        free(e);
        free(op);
    }
    return b.data;
}

/* load_relations is a JSON array with each name quoted on its own:
 * ["A","B"], never ["A,B"] (which the API answers with nothing). */
static char *
relations(const char *const *names)
{
    struct pf_buf b;
    char *e;
    size_t i;

    pf_buf_init(&b);
    pf_buf_addc(&b, '[');
    for (i = 0; names[i] != NULL; i++)
        pf_buf_addf(&b, "%s\"%s\"", i ? "," : "", names[i]);
    pf_buf_addc(&b, ']');
    e = http_escape(b.data);
    pf_buf_free(&b);
    return e;
}

static const char *const item_rel[] = {
    "ItemAttributes", "Images", "CustomFieldValues", "TagRelations.Tag",
    "ItemECommerce", NULL
};
static const char *const matrix_rel[] = {
    "Images", "CustomFieldValues", "ItemECommerce", NULL
};
static const char *const customer_rel[] = {"Contact", NULL};
static const char *const sale_rel[] = {
    "SaleLines", "SaleLines.Discount", "SaleLines.Note", "Discount", NULL
};

/* What a stream adds to its first page's query: archived=true and its
 * relations. NULL when nothing. */
static char *
stream_params(const struct stream_def *d)
{
    struct pf_buf b;
    char *rels;

    if (!d->archived && d->rels == NULL)
        return NULL;
    pf_buf_init(&b);
    if (d->archived)
        pf_buf_addf(&b, "archived=true");
    if (d->rels != NULL) {
        rels = relations(d->rels);
        pf_buf_addf(&b, "%sload_relations=%s", d->archived ? "&" : "",
                    rels);
        free(rels);
    }
    return b.data;
}

/* What pull() is reading and how far it got. */
struct pager {
    const char *res, *stream;
    enum pull_mode mode;
    row_fn fn;
    page_fn prepare;
    char key[64];               /* the id field: "itemID" */
    char bkey[96];              /* the bookmark's stream: "lsr:Item" */
    char *bookmark;             /* where this run starts; NULL: the start */
    char *best;                 /* the newest position seen; NULL: none */
    int64_t best_t;
};

/* Reads the stored bookmark: a time, or for PULL_BY_ID an id. An id
 * that cannot be read starts the stream over; a time that cannot be read
 * is still sent, but only a readable one is stored back. */
static int
pager_start(struct lsr *L, struct pager *pg, struct pf_err *err)
{
    pg->best_t = INT64_MIN;
    if (pg->mode == PULL_SNAPSHOT || L->full)
        return 0;
    if (store_get_bookmark(L->s, pg->bkey, &pg->bookmark, err) != 0)
        return -1;
    if (pg->bookmark == NULL)
        return 0;
    if (pg->mode == PULL_BY_ID) {
        if (lsr_int(pg->bookmark, &pg->best_t) == 0) {
            pg->best = xstrdup(pg->bookmark);
        }
        else {
            free(pg->bookmark);
            pg->bookmark = NULL;
        }
    }
    else if (pf_time_parse(pg->bookmark, &pg->best_t, NULL) == 0) {
        pg->best = xstrdup(pg->bookmark);
    }
    else {
        pg->best_t = INT64_MIN;
    }
    return 0;
}

/* Moves the position to the record's when it is not older. */
static void
pager_advance(struct pager *pg, const cJSON *rec, const char *id)
{
    char buf[64];
    const char *pos;
    int64_t t;
    int newer;

    if (pg->mode == PULL_BY_ID) {
        pos = id;
        newer = lsr_int(pos, &t) == 0 && t >= pg->best_t;
    }
    else {
        pos = lsr_str(rec, "timeStamp", buf);
        newer = pos != NULL && pf_time_parse(pos, &t, NULL) == 0 &&
            t >= pg->best_t;
    }
    if (newer) {
        pg->best_t = t;
        free(pg->best);
        pg->best = xstrdup(pos);
    }
}

/* The error of a row function that failed: the first error it kept
 * (store_failed), else the store's last, named by resource and id. */
static void
row_error(struct lsr *L, const char *res, const char *id,
          struct pf_err *err)
{
    if (L->serr_set)
        pf_errf(err, "%s %s: %s", res, id, L->serr.msg);
    else
        pf_errf(err, "%s %s: store: %s", res, id,
                sqlite3_errmsg(store_db(L->s)));
    L->serr_set = 0;
}

/* One record through the stream's row function. A record without an id
 * is a warning; -1 (err set) fails the page. */
static int
pager_record(struct lsr *L, struct pager *pg, cJSON *rec,
             struct pf_err *err)
{
    char buf[64], id[64];
    const char *s = cJSON_IsObject(rec) ? lsr_str(rec, pg->key, buf)
                                        : NULL;
    int r;

    if (s == NULL) {
        sync_warn(L->rep, pg->stream, "Lightspeed %s: a record without "
                  "'%s' skipped", pg->res, pg->key);
        return 0;
    }
    snprintf(id, sizeof(id), "%s", s);
    pager_advance(pg, rec, id);
    pf_arena_reset(&L->arena);
    r = pg->fn(L, rec, id);
    if (r < 0 || L->serr_set) {
        row_error(L, pg->res, id, err);
        return -1;
    }
    if (r == 0)
        L->rows++;
    return 0;
}

/* One page: its records land in one transaction together with the
 * bookmark (a snapshot's caller holds the transaction instead). *next is
 * the next page's URL, NULL after the last. */
static int
pager_page(struct lsr *L, struct pager *pg, const char *url, char **next,
           struct pf_err *err)
{
    cJSON *doc = NULL, *arr, *rec, *attrs;
    char buf[64];
    const char *nx;
    int paged = pg->mode != PULL_SNAPSHOT, in_txn = 0, rc = -1;

    *next = NULL;
    if (api_get(L, url, pg->res, &doc, err) != 0)
        return -1;
    arr = lsr_list(doc, NULL, pg->res);
    if (pg->prepare != NULL && pg->prepare(L, arr, err) != 0)
        goto cleanup;
    if (paged) {
        if (store_begin(L->s, err) != 0)
            goto cleanup;
        in_txn = 1;
    }
    cJSON_ArrayForEach(rec, arr) {
        if (pager_record(L, pg, rec, err) != 0)
            goto cleanup;
    }
    if (paged) {
        if (pg->best != NULL &&
            store_set_bookmark(L->s, pg->bkey, pg->best, err) != 0)
            goto cleanup;
        if (store_commit(L->s, err) != 0)
            goto cleanup;
        in_txn = 0;
    }
    attrs = cJSON_GetObjectItem(doc, "@attributes");
    nx = attrs != NULL ? lsr_str(attrs, "next", buf) : NULL;
    *next = nx != NULL ? xstrdup(nx) : NULL;
    rc = 0;

cleanup:
    if (in_txn)
        store_rollback(L->s);
    cJSON_Delete(doc);
    return rc;
}

static int
pull(struct lsr *L, const struct stream_def *d, struct pf_err *err)
{
    struct pager pg;
    char *url = NULL, *next, *params;
    int rc = -1;

    memset(&pg, 0, sizeof(pg));
    pg.res = d->res;
    pg.stream = d->res;
    pg.mode = d->mode;
    pg.fn = d->fn;
    pg.prepare = d->prepare;
    id_key(d->res, pg.key);
    snprintf(pg.bkey, sizeof(pg.bkey), "lsr:%s", d->res);
    L->stream = d->res;
    L->rows = L->removed = 0;
    L->cost = 1;
    if (pager_start(L, &pg, err) != 0)
        goto cleanup;
    params = stream_params(d);
    url = start_url(L, d->res, d->mode, params, pg.bookmark);
    free(params);
    while (url != NULL && url[0] != '\0') {
        if (pager_page(L, &pg, url, &next, err) != 0)
            goto cleanup;
        free(url);
        url = next;
        progress(L, 0);
    }
    rc = 0;

cleanup:
    sync_rows(L->rep, d->res, L->rows, L->removed);
    progress(L, 1);
    free(url);
    free(pg.bookmark);
    free(pg.best);
    return rc;
}

/* ---- store helpers ------------------------------------------------------ */

static int
exec_id(struct lsr *L, const char *sql, const char *id, int *changed)
{
    struct pf_err e;
    sqlite3_stmt *st = store_stmt(L->s, sql, &e);

    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) {
        sqlite3_reset(st);
        return -1;
    }
    if (changed != NULL)
        *changed += sqlite3_changes(store_db(L->s));
    sqlite3_reset(st);
    return 0;
}

/* Keeps the first store error of a row function for pull(). */
static void
store_failed(struct lsr *L, const struct pf_err *e)
{
    if (!L->serr_set) {
        L->serr = *e;
        L->serr_set = 1;
    }
}

/* One text column of the first row, or NULL; in the record arena. A
 * store error also gives NULL and fails the page (store_failed), so a
 * damaged page never passes for "no email" or "not a refund". */
static const char *
query_text(struct lsr *L, const char *sql, const char *id)
{
    struct pf_err e;
    sqlite3_stmt *st = store_stmt(L->s, sql, &e);
    const char *out = NULL;
    int rc;

    if (st == NULL) {
        store_failed(L, &e);
        return NULL;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    rc = store_step(L->s, st, &e, "reading '%s' for %s", id, L->stream);
    if (rc < 0)
        store_failed(L, &e);
    if (rc == 1 && sqlite3_column_type(st, 0) != SQLITE_NULL)
        out = pf_arena_strdup(&L->arena,
                              (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    return out;
}

/* A "reference data" snapshot: rows whose id did not come back this run
 * are removed at the end. */
static int
seen_reset(struct lsr *L)
{
    return store_exec(L->s, "CREATE TEMP TABLE IF NOT EXISTS lsr_seen ("
                      "id TEXT PRIMARY KEY); DELETE FROM lsr_seen;", NULL);
}

static int
seen_add(struct lsr *L, const char *id)
{
    return exec_id(L, "INSERT OR IGNORE INTO lsr_seen(id) VALUES (?1)", id,
                   NULL);
}

/* ---- reference data ----------------------------------------------------- */

static int
shop_row(struct lsr *L, cJSON *rec, const char *id)
{
    struct store_location loc = {0};

    if (lsr_bool(rec, "archived", 0) == 1)
        return 1;
    loc.id = id;
    loc.name = text(L, rec, "name", "Shop", id);
    loc.timezone = text(L, rec, "timeZone", "Shop", id);
    if (loc.name == NULL) {
        sync_warn(L->rep, "Shop", "Shop %s: field 'name': missing", id);
        loc.name = id;
    }
    if (seen_add(L, id) != 0 || store_put_location(L->s, &loc, NULL) != 0)
        return -1;
    return 0;
}

static int
category_row(struct lsr *L, cJSON *rec, const char *id)
{
    struct store_category c = {0};
    char buf[64];

    c.id = id;
    c.name = text(L, rec, "name", "Category", id);
    c.parent_id = lsr_ref(rec, "parentID", buf);
    c.visible = 1;
    if (c.name == NULL) {
        sync_warn(L->rep, "Category", "Category %s: field 'name': missing",
                  id);
        return 1;
    }
    if (c.parent_id != NULL)
        c.parent_id = pf_arena_strdup(&L->arena, c.parent_id);
    if (seen_add(L, id) != 0 || store_put_category(L->s, &c, NULL) != 0)
        return -1;
    return 0;
}

static int
manufacturer_row(struct lsr *L, cJSON *rec, const char *id)
{
    const char *name = text(L, rec, "name", "Manufacturer", id);

    if (name == NULL)
        return 1;
    L->brands = xrealloc(L->brands, (L->nbrands + 1) * sizeof(*L->brands));
    memset(&L->brands[L->nbrands], 0, sizeof(*L->brands));
    L->brands[L->nbrands].id = xstrdup(id);
    L->brands[L->nbrands].name[0] = xstrdup(name);
    L->nbrands++;
    return 0;
}

static int
attrset_row(struct lsr *L, cJSON *rec, const char *id)
{
    struct name_map *m;
    int k;

    L->sets = xrealloc(L->sets, (L->nsets + 1) * sizeof(*L->sets));
    m = &L->sets[L->nsets++];
    memset(m, 0, sizeof(*m));
    m->id = xstrdup(id);
    for (k = 0; k < LSR_MAX_OPTIONS; k++) {
        char key[32];
        const char *n;

        snprintf(key, sizeof(key), "attributeName%d", k + 1);
        n = text(L, rec, key, "ItemAttributeSet", id);
        m->name[k] = n != NULL ? xstrdup(n) : NULL;
    }
    return 0;
}

/* Deletes rows of table whose id is not in lsr_seen. */
static int
seen_prune(struct lsr *L, const char *table)
{
    char *sql = xasprintf("DELETE FROM %s WHERE id NOT IN "
                          "(SELECT id FROM lsr_seen)", table);
    int rc = store_exec(L->s, sql, NULL);

    if (rc == 0)
        L->removed += sqlite3_changes(store_db(L->s));
    free(sql);
    return rc;
}

/* Shops and categories are few: each is read whole in one transaction
 * and rows that did not come back (deleted or archived) are removed. */
static int
pull_snapshot(struct lsr *L, const struct stream_def *d, const char *table,
              struct pf_err *err)
{
    if (store_begin(L->s, err) != 0)
        return -1;
    if (seen_reset(L) != 0)
        goto store_failed;
    if (pull(L, d, err) != 0)
        goto failed;
    L->removed = 0;
    if (strcmp(table, "categories") == 0 &&
        store_exec(L->s, "UPDATE categories SET parent_id = NULL WHERE "
                   "parent_id IS NOT NULL AND parent_id NOT IN "
                   "(SELECT id FROM lsr_seen)", err) != 0)
        goto failed;
    if (seen_prune(L, table) != 0)
        goto store_failed;
    if (strcmp(table, "categories") == 0 &&
        store_rebuild_category_paths(L->s, err) != 0)
        goto failed;
    if (store_commit(L->s, err) != 0)
        goto failed;
    sync_rows(L->rep, d->res, 0, L->removed);
    return 0;

store_failed:
    pf_errf(err, "store: %s", sqlite3_errmsg(store_db(L->s)));
failed:
    store_rollback(L->s);
    return -1;
}

static int
pull_reference(struct lsr *L, struct pf_err *err)
{
    static const struct stream_def shops = {
        "Shop", PULL_SNAPSHOT, NULL, 0, shop_row, NULL
    };
    static const struct stream_def cats = {
        "Category", PULL_SNAPSHOT, NULL, 0, category_row, NULL
    };
    static const struct stream_def brands = {
        "Manufacturer", PULL_SNAPSHOT, NULL, 0, manufacturer_row, NULL
    };
    static const struct stream_def sets = {
        "ItemAttributeSet", PULL_SNAPSHOT, NULL, 0, attrset_row, NULL
    };

    if (pull_snapshot(L, &shops, "locations", err) != 0 ||
        pull_snapshot(L, &cats, "categories", err) != 0)
        return -1;
    /* Brands and option names only live in memory for this run. */
    if (pull(L, &brands, err) != 0 || pull(L, &sets, err) != 0)
        return -1;
    return 0;
}

/* ---- catalog ------------------------------------------------------------ */

static int
cmp_image(const void *a, const void *b)
{
    char ba[64], bb[64];
    const char *sa = lsr_str(*(cJSON *const *)a, "ordering", ba);
    const char *sb = lsr_str(*(cJSON *const *)b, "ordering", bb);
    long ia = sa != NULL ? atol(sa) : 0, ib = sb != NULL ? atol(sb) : 0;

    return (ia > ib) - (ia < ib);
}

/* Image URLs in display order: baseImageURL [+ size/] + publicID + the
 * file's extension. Returns the count; *urls is in the arena. */
static size_t
images(struct lsr *L, cJSON *rec, const char *res, const char *id,
       const char ***urls)
{
    cJSON *arr = lsr_list(rec, "Images", "Image"), *im;
    size_t n = (size_t)cJSON_GetArraySize(arr), k = 0, i;
    cJSON **v;
    const char **out;

    *urls = NULL;
    if (n == 0)
        return 0;
    v = pf_arena_alloc(&L->arena, n * sizeof(*v));
    out = pf_arena_alloc(&L->arena, n * sizeof(*out));
    i = 0;
    cJSON_ArrayForEach(im, arr)
        v[i++] = im;
    qsort(v, n, sizeof(*v), cmp_image);
    for (i = 0; i < n; i++) {
        char b1[64], b2[64], b3[64];
        const char *base = lsr_str(v[i], "baseImageURL", b1);
        const char *pub = lsr_str(v[i], "publicID", b2);
        const char *fn = lsr_str(v[i], "filename", b3);
        const char *ext = fn != NULL ? strrchr(fn, '.') : NULL;
        const char *size = L->o->image_size;
        char *u;

        if (base == NULL || pub == NULL) {
            sync_warn(L->rep, res, "%s %s: an image without baseImageURL "
                      "or publicID skipped", res, id);
            continue;
        }
        if (ext == NULL || strlen(ext) > 5)
            ext = ".jpg";
        u = xasprintf("%s%s%s%s%s%s", base,
                      base[strlen(base) - 1] == '/' ? "" : "/",
                      size != NULL ? size : "", size != NULL ? "/" : "",
                      pub, ext);
        out[k++] = pf_arena_strdup(&L->arena, u);
        free(u);
    }
    *urls = out;
    return k;
}

/* Custom fields and tags as custom attributes. */
static int
custom_attrs(struct lsr *L, cJSON *rec, const char *res, const char *pid)
{
    cJSON *cf = lsr_list(rec, "CustomFieldValues", "CustomFieldValue");
    cJSON *tr = lsr_list(rec, "TagRelations", "TagRelation");
    size_t n = (size_t)(cJSON_GetArraySize(cf) + cJSON_GetArraySize(tr));
    struct store_option *a;
    size_t k = 0;
    cJSON *x;

    a = pf_arena_alloc(&L->arena, (n + 1) * sizeof(*a));
    cJSON_ArrayForEach(x, cf) {
        const char *name = text(L, x, "name", res, pid);
        const char *val = text(L, x, "value", res, pid);

        if (name != NULL && val != NULL) {
            a[k].name = name;
            a[k++].value = val;
        }
    }
    cJSON_ArrayForEach(x, tr) {
        cJSON *tag = cJSON_GetObjectItem(x, "Tag");
        const char *name = tag != NULL ? text(L, tag, "name", res, pid)
                                       : NULL;

        if (name != NULL) {
            a[k].name = "tags";
            a[k++].value = name;
        }
    }
    return store_set_attributes(L->s, "product", pid, STORE_ATTR_CUSTOM, a,
                                k, NULL);
}

/* Item.description and ItemMatrix.description are the names; the text
 * shoppers read is ItemECommerce.longDescription (shortDescription when
 * there is no long one). NULL when neither is set. */
static const char *
description(struct lsr *L, cJSON *rec, const char *res, const char *id)
{
    cJSON *ec = cJSON_GetObjectItem(rec, "ItemECommerce");
    const char *d;

    if (!cJSON_IsObject(ec))
        return NULL;
    d = text(L, ec, "longDescription", res, id);
    if (d == NULL)
        d = text(L, ec, "shortDescription", res, id);
    return d;
}

static int
put_product(struct lsr *L, cJSON *rec, const char *res, const char *rid,
            const char *pid, const char *name, int64_t created_at)
{
    struct store_product p = {0};
    char buf[64];
    const char *cat = lsr_ref(rec, "categoryID", buf);
    const char **urls;
    size_t nimg;

    p.id = pid;
    p.name = name;
    p.description = description(L, rec, res, rid);
    p.brand = map_find(L->brands, L->nbrands,
                       lsr_ref(rec, "manufacturerID", buf), 0);
    p.created_at = created_at;
    p.updated_at = when(L, rec, "timeStamp", res, rid);
    p.visible = 1;
    if (store_put_product(L->s, &p, NULL) != 0)
        return -1;
    cat = lsr_ref(rec, "categoryID", buf);
    if (cat != NULL && !store_has(L->s, "categories", cat)) {
        sync_warn(L->rep, res, "%s %s: field 'categoryID': category %s "
                  "does not exist; link dropped", res, rid, cat);
        cat = NULL;
    }
    if (store_set_product_categories(L->s, pid, &cat, cat != NULL, NULL)
        != 0)
        return -1;
    nimg = images(L, rec, res, rid, &urls);
    if (store_set_images(L->s, pid, urls, nimg, NULL) != 0)
        return -1;
    return custom_attrs(L, rec, res, pid);
}

/* ---- item matrices ------------------------------------------------------ */

/*
 * A matrix is a product only while it has a variant: Lightspeed lists
 * matrices without (live) items, which would be products without a
 * price. Until its first item lands, a matrix waits in the TEMP table
 * lsr_matrices, which lives for one run:
 *   waiting  with its record (JSON) from the ItemMatrix stream;
 *   gone     archived, not found or unusable: its items are skipped;
 *   unread   its product lost its last variant in this run; the record
 *            is fetched again should another item come.
 * first_item is the earliest createTime among the items seen for it.
 * An item whose matrix is neither a product nor in the table (the item
 * came back in a later run than its matrix, or a sync was interrupted in
 * between) has its matrix fetched: for a whole Item page in one request,
 * before the page's records (item_page).
 *
 * A matrix product is created when the earliest of its own createTime
 * (real matrices have none) and the createTime of the items seen in it,
 * archived ones too (they prove the matrix existed), was: a full sync
 * and any chain of incremental ones find the same time.
 */

/* The earlier of two times, 0 being "unknown". */
static int64_t
earliest(int64_t a, int64_t b)
{
    if (a == 0 || (b != 0 && b < a))
        return b;
    return a;
}

/* Empties lsr_matrices for a new run, and removes matrix products
 * without variants that stores written before matrices waited for their
 * items may hold. */
static int
matrices_reset(struct lsr *L, struct pf_err *err)
{
    if (store_exec(L->s, "CREATE TEMP TABLE IF NOT EXISTS lsr_matrices ("
                   "id TEXT PRIMARY KEY, state TEXT NOT NULL, rec TEXT, "
                   "first_item INTEGER); DELETE FROM lsr_matrices;", err)
        != 0 ||
        store_exec(L->s, "DELETE FROM products WHERE id LIKE 'matrix-%' "
                   "AND id NOT IN (SELECT product_id FROM variants)", err)
        != 0)
        return -1;
    sync_rows(L->rep, "ItemMatrix", 0, sqlite3_changes(store_db(L->s)));
    return 0;
}

/* Binds id and an optional time (0: NULL) to sql and runs it. */
static int
exec_id_time(struct lsr *L, const char *sql, const char *id, int64_t t)
{
    struct pf_err e;
    sqlite3_stmt *st = store_stmt(L->s, sql, &e);
    int rc;

    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    if (t != 0)
        sqlite3_bind_int64(st, 2, t);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    return rc;
}

/* Matrix id waits with rec, or is gone (rec NULL). The earliest item
 * time seen so far stays. */
static int
matrix_wait(struct lsr *L, const char *id, const cJSON *rec)
{
    sqlite3_stmt *st = store_stmt(L->s, "INSERT INTO lsr_matrices(id, "
                                  "state, rec) VALUES (?1, ?2, ?3) ON "
                                  "CONFLICT(id) DO UPDATE SET state = "
                                  "excluded.state, rec = excluded.rec",
                                  NULL);
    char *json;
    int rc;

    if (st == NULL)
        return -1;
    json = rec != NULL ? cJSON_PrintUnformatted(rec) : NULL;
    if (rec != NULL && json == NULL)
        return -1;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, json != NULL ? "waiting" : "gone", -1,
                      SQLITE_STATIC);
    if (json != NULL)
        sqlite3_bind_text(st, 3, json, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    cJSON_free(json);
    return rc;
}

/* An item of matrix id was created at t: the matrix is no younger. */
static int
matrix_saw_item(struct lsr *L, const char *id, int64_t t)
{
    char pid[80];

    if (t == 0)
        return 0;
    snprintf(pid, sizeof(pid), "matrix-%s", id);
    if (exec_id_time(L, "UPDATE products SET created_at = ?2 WHERE id = "
                     "?1 AND (created_at IS NULL OR created_at > ?2)", pid,
                     t) != 0 ||
        exec_id_time(L, "UPDATE lsr_matrices SET first_item = ?2 WHERE "
                     "id = ?1 AND (first_item IS NULL OR first_item > ?2)",
                     id, t) != 0)
        return -1;
    return 0;
}

/* The created_at the store holds for product pid; 0 when none. */
static int
stored_created(struct lsr *L, const char *pid, int64_t *t)
{
    const char *s = query_text(L, "SELECT created_at FROM products WHERE "
                               "id = ?1", pid);

    *t = 0;
    if (L->serr_set)
        return -1;
    if (s != NULL && lsr_int(s, t) != 0)
        *t = 0;
    return 0;
}

/* Matrix id as a product; first is its earliest item's time. */
static int
put_matrix(struct lsr *L, cJSON *rec, const char *id, int64_t first)
{
    char pid[80];
    const char *name = text(L, rec, "description", "ItemMatrix", id);
    int64_t stored;

    snprintf(pid, sizeof(pid), "matrix-%s", id);
    if (stored_created(L, pid, &stored) != 0)
        return -1;
    first = earliest(first, stored);
    first = earliest(first, when(L, rec, "createTime", "ItemMatrix", id));
    return put_product(L, rec, "ItemMatrix", id, pid, name, first);
}

static int
matrix_row(struct lsr *L, cJSON *rec, const char *id)
{
    char pid[80], buf[64];
    struct pf_err e;
    int changed = 0, has;

    snprintf(pid, sizeof(pid), "matrix-%s", id);
    if (lsr_bool(rec, "archived", 0) == 1) {
        if (exec_id(L, "DELETE FROM products WHERE id = ?1", pid,
                    &changed) != 0 || matrix_wait(L, id, NULL) != 0)
            return -1;
        L->removed += changed;
        return 1;
    }
    if (lsr_str(rec, "description", buf) == NULL) {
        sync_warn(L->rep, "ItemMatrix", "ItemMatrix %s: field "
                  "'description': missing", id);
        return matrix_wait(L, id, NULL) != 0 ? -1 : 1;
    }
    has = store_lookup(L->s, "products", pid, &e);
    if (has < 0) {
        store_failed(L, &e);
        return -1;
    }
    if (has)
        return put_matrix(L, rec, id, 0) != 0 ? -1 : 0;
    return matrix_wait(L, id, rec) != 0 ? -1 : 0;
}

/* The query that fetches the matrices in ids by number: the stream's
 * relations and archived ones too (they are gone, not unknown). */
static char *
matrices_url(struct lsr *L, const char *const *ids, size_t n)
{
    static const struct stream_def d = {
        "ItemMatrix", PULL_SNAPSHOT, matrix_rel, 1, NULL, NULL
    };
    struct pf_buf in;
    char *params, *esc, *url, *all;
    size_t i;

    pf_buf_init(&in);
    pf_buf_addf(&in, "IN,[");
    for (i = 0; i < n; i++)
        pf_buf_addf(&in, "%s%s", i > 0 ? "," : "", ids[i]);
    pf_buf_addc(&in, ']');
    esc = http_escape(in.data);
    params = stream_params(&d);
    all = xasprintf("%s&itemMatrixID=%s", params, esc);
    url = start_url(L, "ItemMatrix", PULL_SNAPSHOT, all, NULL);
    free(all);
    free(params);
    free(esc);
    pf_buf_free(&in);
    return url;
}

/* Reads matrices by number (n <= a page; numbers only) through
 * matrix_row; the ones Lightspeed does not return are gone. */
static int
matrices_fetch(struct lsr *L, const char *const *ids, size_t n,
               struct pf_err *err)
{
    char *url = matrices_url(L, ids, n), *next = NULL;
    double cost = L->cost;
    cJSON *doc = NULL, *arr, *rec;
    size_t i;
    int rc = -1;

    while (url != NULL && url[0] != '\0') {
        char buf[64], id[64];
        const cJSON *attrs;
        const char *s;

        if (api_get(L, url, "ItemMatrix", &doc, err) != 0)
            goto cleanup;
        arr = lsr_list(doc, NULL, "ItemMatrix");
        cJSON_ArrayForEach(rec, arr) {
            s = cJSON_IsObject(rec) ? lsr_str(rec, "itemMatrixID", buf)
                                    : NULL;
            if (s == NULL)
                continue;
            snprintf(id, sizeof(id), "%s", s);
            if (matrix_row(L, rec, id) < 0 || L->serr_set) {
                row_error(L, "ItemMatrix", id, err);
                goto cleanup;
            }
        }
        attrs = cJSON_GetObjectItem(doc, "@attributes");
        s = attrs != NULL ? lsr_str(attrs, "next", buf) : NULL;
        next = s != NULL ? xstrdup(s) : NULL;
        free(url);
        url = next;
        cJSON_Delete(doc);
        doc = NULL;
    }
    for (i = 0; i < n; i++) {
        if (exec_id(L, "INSERT INTO lsr_matrices(id, state) VALUES (?1, "
                    "'gone') ON CONFLICT(id) DO UPDATE SET state = 'gone' "
                    "WHERE state = 'unread'", ids[i], NULL) != 0) {
            row_error(L, "ItemMatrix", ids[i], err);
            goto cleanup;
        }
    }
    rc = 0;

cleanup:
    L->cost = cost;         /* the estimate is for the stream's pages */
    cJSON_Delete(doc);
    free(url);
    return rc;
}

/* What lsr_matrices holds for matrix id: *state NULL when nothing, else
 * its state, record (NULL unless waiting) and earliest item time; the
 * strings in the record arena. */
static int
matrix_waiting(struct lsr *L, const char *id, const char **state,
               const char **rec, int64_t *first)
{
    struct pf_err e;
    sqlite3_stmt *st = store_stmt(L->s, "SELECT state, rec, first_item "
                                  "FROM lsr_matrices WHERE id = ?1", &e);
    int r;

    *state = *rec = NULL;
    *first = 0;
    if (st == NULL) {
        store_failed(L, &e);
        return -1;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    r = store_step(L->s, st, &e, "reading matrix %s", id);
    if (r == 1) {
        const char *s = (const char *)sqlite3_column_text(st, 0);
        const char *json = (const char *)sqlite3_column_text(st, 1);

        *state = pf_arena_strdup(&L->arena, s != NULL ? s : "");
        *rec = json != NULL ? pf_arena_strdup(&L->arena, json) : NULL;
        *first = sqlite3_column_int64(st, 2);
    }
    sqlite3_reset(st);
    if (r < 0)
        store_failed(L, &e);
    return r < 0 ? -1 : 0;
}

/* Matrix id becomes a product from the record it waited with. */
static int
matrix_from_wait(struct lsr *L, const char *id, const char *json,
                 int64_t first)
{
    cJSON *rec = cJSON_Parse(json);
    int rc;

    if (rec == NULL)
        return -1;          /* written by matrix_wait: cannot happen */
    rc = put_matrix(L, rec, id, first);
    cJSON_Delete(rec);
    if (rc != 0)
        return -1;
    return exec_id(L, "DELETE FROM lsr_matrices WHERE id = ?1", id, NULL);
}

/* Only numbers go into a query's IN list. */
static int
is_number(const char *s)
{
    return s[0] != '\0' && strspn(s, "0123456789") == strlen(s);
}

/* Matrix mid as the product of item item: it is one, or becomes one
 * from the record it waits with (fetched first when this run has not
 * read it). 0 it is a product, 1 it is gone (warned: the item is
 * skipped), -1 error. */
static int
matrix_product(struct lsr *L, const char *mid, const char *item)
{
    char pid[80];
    const char *state, *json;
    struct pf_err e;
    int64_t first;
    int r;

    snprintf(pid, sizeof(pid), "matrix-%s", mid);
    r = store_lookup(L->s, "products", pid, &e);
    if (r != 0) {
        if (r < 0)
            store_failed(L, &e);
        return r < 0 ? -1 : 0;
    }
    if (matrix_waiting(L, mid, &state, &json, &first) != 0)
        return -1;
    if ((state == NULL || strcmp(state, "unread") == 0) && is_number(mid)) {
        if (matrices_fetch(L, &mid, 1, &e) != 0) {
            store_failed(L, &e);
            return -1;
        }
        if (matrix_waiting(L, mid, &state, &json, &first) != 0)
            return -1;
    }
    if (json != NULL)
        return matrix_from_wait(L, mid, json, first);
    sync_warn(L->rep, "Item", "Item %s: field 'itemMatrixID': matrix %s "
              "is archived or does not exist; item skipped", item, mid);
    return 1;
}

/* A variant left product pid: a matrix left without variants is no
 * product any more. Its time waits for another item of this run. */
static int
matrix_prune(struct lsr *L, const char *pid)
{
    int64_t created;
    int changed = 0;

    if (strncmp(pid, "matrix-", 7) != 0)
        return 0;
    if (query_text(L, "SELECT 1 FROM variants WHERE product_id = ?1 "
                   "LIMIT 1", pid) != NULL || L->serr_set)
        return L->serr_set ? -1 : 0;
    if (stored_created(L, pid, &created) != 0 ||
        exec_id(L, "DELETE FROM products WHERE id = ?1", pid, &changed)
        != 0)
        return -1;
    L->removed += changed;
    return exec_id_time(L, "INSERT INTO lsr_matrices(id, state, "
                        "first_item) VALUES (?1, 'unread', ?2) ON "
                        "CONFLICT(id) DO UPDATE SET state = 'unread', rec "
                        "= NULL, first_item = excluded.first_item", pid + 7,
                        created);
}

/* Whether this run knows nothing of matrix mid yet: not a product, not
 * waiting, not gone. 1 yes, 0 no, -1 error (in err). */
static int
matrix_unknown(struct lsr *L, const char *mid, struct pf_err *err)
{
    char pid[80];
    const char *state;
    int r;

    snprintf(pid, sizeof(pid), "matrix-%s", mid);
    r = store_lookup(L->s, "products", pid, err);
    if (r != 0)
        return r < 0 ? -1 : 0;
    state = query_text(L, "SELECT state FROM lsr_matrices WHERE id = ?1",
                       mid);
    if (L->serr_set) {
        row_error(L, "ItemMatrix", mid, err);
        return -1;
    }
    return state == NULL || strcmp(state, "unread") == 0;
}

/* Before an Item page lands: the matrices its items name that this run
 * knows nothing of, fetched in one request. */
static int
item_page(struct lsr *L, cJSON *page, struct pf_err *err)
{
    size_t max = (size_t)cJSON_GetArraySize(page), n = 0, i;
    const char **ids = pf_arena_alloc(&L->arena, (max + 1) * sizeof(*ids));
    const cJSON *rec;

    cJSON_ArrayForEach(rec, page) {
        char buf[64];
        const char *mid = cJSON_IsObject(rec)
            ? lsr_ref(rec, "itemMatrixID", buf) : NULL;
        int r;

        if (mid == NULL || !is_number(mid))
            continue;
        for (i = 0; i < n && strcmp(ids[i], mid) != 0; i++)
            ;
        if (i < n)
            continue;                   /* asked for already */
        r = matrix_unknown(L, mid, err);
        if (r < 0)
            return -1;
        if (r > 0)
            ids[n++] = pf_arena_strdup(&L->arena, mid);
    }
    return n > 0 ? matrices_fetch(L, ids, n, err) : 0;
}

/* ---- items -------------------------------------------------------------- */

/* Default and MSRP from Prices.ItemPrice. 0 ok, 1 no usable price. */
static int
prices(struct lsr *L, cJSON *rec, const char *id, int64_t *price,
       int64_t *list)
{
    cJSON *arr = lsr_list(rec, "Prices", "ItemPrice"), *p;
    int have = 0;

    *list = 0;
    cJSON_ArrayForEach(p, arr) {
        char b1[64], b2[64];
        const char *use = lsr_str(p, "useType", b1);
        const char *amt = lsr_str(p, "amount", b2);
        int64_t v;

        if (use == NULL || (strcmp(use, "Default") != 0 &&
                            strcmp(use, "MSRP") != 0))
            continue;
        if (lsr_money(amt, L->decimals, &v) != 0) {
            sync_warn(L->rep, "Item", "Item %s: field 'Prices.ItemPrice"
                      "[%s].amount': expected a decimal amount, got "
                      "\"%.40s\"", id, use, amt != NULL ? amt : "");
            continue;
        }
        if (strcmp(use, "Default") == 0) {
            *price = v;
            have = 1;
        }
        else {
            *list = v;
        }
    }
    if (!have) {
        sync_warn(L->rep, "Item", "Item %s: field 'Prices': no Default "
                  "price; item skipped", id);
        return 1;
    }
    if (*list <= *price)
        *list = 0;
    return 0;
}

/* The variant fields of item id: SKU, codes, stock tracking, image and
 * options (in opts, LSR_MAX_OPTIONS long). */
static void
item_variant(struct lsr *L, cJSON *rec, const char *id,
             struct store_variant *v, struct store_option *opts)
{
    char buf[64];
    const char *type, **urls, *setid;
    cJSON *ia;
    size_t nimg;
    int k;

    v->sku = text(L, rec, "customSku", "Item", id);
    if (v->sku == NULL)
        v->sku = text(L, rec, "systemSku", "Item", id);
    v->ean = text(L, rec, "ean", "Item", id);
    v->upc = text(L, rec, "upc", "Item", id);
    v->currency = L->o->currency;
    type = lsr_str(rec, "itemType", buf);
    v->track_stock = type == NULL || strcmp(type, "non_inventory") != 0;
    nimg = images(L, rec, "Item", id, &urls);
    v->image = nimg > 0 ? urls[0] : NULL;
    ia = cJSON_GetObjectItem(rec, "ItemAttributes");
    setid = cJSON_IsObject(ia) ? lsr_ref(ia, "itemAttributeSetID", buf)
                               : NULL;
    for (k = 0; cJSON_IsObject(ia) && k < LSR_MAX_OPTIONS; k++) {
        char key[32];
        const char *val, *oname;

        snprintf(key, sizeof(key), "attribute%d", k + 1);
        val = text(L, ia, key, "Item", id);
        if (val == NULL)
            continue;
        oname = map_find(L->sets, L->nsets, setid, k);
        if (oname == NULL) {
            snprintf(key, sizeof(key), "Attribute %d", k + 1);
            oname = pf_arena_strdup(&L->arena, key);
        }
        opts[v->noptions].name = oname;
        opts[v->noptions++].value = val;
    }
    v->options = opts;
}

/* An archived item: its variant goes, with its product when it stands
 * alone, and with its matrix's when it was the matrix's last. */
static int
item_archived(struct lsr *L, const char *vid)
{
    const char *was = query_text(L, "SELECT product_id FROM variants "
                                 "WHERE id = ?1", vid);
    int changed = 0;

    if (exec_id(L, "DELETE FROM variants WHERE id = ?1", vid, &changed)
        != 0 ||
        exec_id(L, "DELETE FROM products WHERE id = ?1", vid, &changed)
        != 0)
        return -1;
    L->removed += changed > 0;
    if (was != NULL && matrix_prune(L, was) != 0)
        return -1;
    return 1;
}

/* The product of item id into pid (80 bytes): its matrix's, or its own.
 * 0 ok, 1 skipped (warned), -1 error. */
static int
item_product(struct lsr *L, cJSON *rec, const char *id, const char *name,
             const char *matrix, char *pid)
{
    char vid[80];
    int r;

    snprintf(vid, sizeof(vid), "item-%s", id);
    if (matrix == NULL) {
        snprintf(pid, 80, "%s", vid);
        return put_product(L, rec, "Item", id, pid, name,
                           when(L, rec, "createTime", "Item", id)) != 0
            ? -1 : 0;
    }
    snprintf(pid, 80, "matrix-%s", matrix);
    r = matrix_product(L, matrix, id);
    if (r != 0)
        return r;
    /* The item may have been standalone before it joined a matrix. */
    return exec_id(L, "DELETE FROM products WHERE id = ?1", vid, NULL);
}

static int
item_row(struct lsr *L, cJSON *rec, const char *id)
{
    struct store_variant v = {0};
    struct store_option opts[LSR_MAX_OPTIONS];
    char vid[80], pid[80], buf[64];
    const char *matrix = lsr_ref(rec, "itemMatrixID", buf), *name, *was;
    int r;

    snprintf(vid, sizeof(vid), "item-%s", id);
    if (matrix != NULL) {
        matrix = pf_arena_strdup(&L->arena, matrix);
        if (matrix_saw_item(L, matrix, when(L, rec, "createTime", "Item",
                                            id)) != 0)
            return -1;
    }
    if (lsr_bool(rec, "archived", 0) == 1)
        return item_archived(L, vid);
    name = text(L, rec, "description", "Item", id);
    if (name == NULL) {
        sync_warn(L->rep, "Item", "Item %s: field 'description': missing",
                  id);
        return 1;
    }
    if (prices(L, rec, id, &v.price, &v.list_price) != 0)
        return 1;
    r = item_product(L, rec, id, name, matrix, pid);
    if (r != 0)
        return r;
    was = query_text(L, "SELECT product_id FROM variants WHERE id = ?1",
                     vid);
    v.id = vid;
    v.product_id = pid;
    item_variant(L, rec, id, &v, opts);
    if (store_put_variant(L->s, &v, NULL) != 0)
        return -1;
    /* The item may have left another matrix. */
    return was != NULL && strcmp(was, pid) != 0 ? matrix_prune(L, was) : 0;
}

static int
itemshop_row(struct lsr *L, cJSON *rec, const char *id)
{
    char b1[64], b2[64], b3[64], vid[80];
    const char *item = lsr_ref(rec, "itemID", b1);
    const char *shop = lsr_ref(rec, "shopID", b2);
    const char *qoh = lsr_str(rec, "qoh", b3);
    int64_t q;

    /* shopID 0 is the API's all-shops summary row, not a place. */
    if (item == NULL || shop == NULL)
        return 1;
    if (lsr_int(qoh, &q) != 0 || !store_quantity_ok(q)) {
        sync_warn(L->rep, "ItemShop", "ItemShop %s: field 'qoh': expected "
                  "a whole number from -%d to %d, got \"%.40s\"", id,
                  STORE_MAX_QUANTITY, STORE_MAX_QUANTITY, qoh ? qoh : "");
        return 1;
    }
    snprintf(vid, sizeof(vid), "item-%s", item);
    /* Archived or skipped items keep their ItemShop rows; they have no
     * variant to hold stock. */
    if (!store_has(L->s, "variants", vid) ||
        !store_has(L->s, "locations", shop))
        return 1;
    return store_put_stock(L->s, vid, shop, q, NULL) != 0 ? -1 : 0;
}

/* ---- customers ---------------------------------------------------------- */

static int
customer_row(struct lsr *L, cJSON *rec, const char *id)
{
    struct store_customer c = {0};
    cJSON *contact, *x, *arr;
    int changed = 0, ne;

    if (lsr_bool(rec, "archived", 0) == 1) {
        if (exec_id(L, "DELETE FROM customers WHERE id = ?1", id,
                    &changed) != 0)
            return -1;
        L->removed += changed;
        return 1;
    }
    c.id = id;
    c.first_name = text(L, rec, "firstName", "Customer", id);
    c.last_name = text(L, rec, "lastName", "Customer", id);
    c.company = text(L, rec, "company", "Customer", id);
    c.title = text(L, rec, "title", "Customer", id);
    c.created_at = when(L, rec, "createTime", "Customer", id);
    c.updated_at = when(L, rec, "timeStamp", "Customer", id);
    c.consent = -1;
    contact = cJSON_GetObjectItem(rec, "Contact");
    if (cJSON_IsObject(contact)) {
        /* noEmail is the "do not email" box: set means no consent, a
         * clear box is the merchant's record of consent. */
        ne = lsr_bool(contact, "noEmail", -1);
        c.consent = ne == 1 ? 0 : ne == 0 ? 1 : -1;
        arr = lsr_list(contact, "Emails", "ContactEmail");
        cJSON_ArrayForEach(x, arr) {
            char b[64];
            const char *use = lsr_str(x, "useType", b);

            if (c.email == NULL || (use != NULL &&
                                    strcmp(use, "Primary") == 0))
                c.email = text(L, x, "address", "Customer", id);
        }
        arr = lsr_list(contact, "Phones", "ContactPhone");
        x = cJSON_GetArrayItem(arr, 0);
        if (x != NULL)
            c.phone = text(L, x, "number", "Customer", id);
        arr = lsr_list(contact, "Addresses", "ContactAddress");
        x = cJSON_GetArrayItem(arr, 0);
        if (x != NULL) {
            c.address1 = text(L, x, "address1", "Customer", id);
            c.address2 = text(L, x, "address2", "Customer", id);
            c.city = text(L, x, "city", "Customer", id);
            c.region = text(L, x, "state", "Customer", id);
            c.zip = text(L, x, "zip", "Customer", id);
            c.country = text(L, x, "country", "Customer", id);
        }
    }
    return store_put_customer(L->s, &c, NULL) != 0 ? -1 : 0;
}

/* ---- sales -------------------------------------------------------------- */

/* What a line was discounted in all: its own discount plus its share
 * of a sale-level (transaction) discount, as a positive amount. */
static int64_t
line_discount(struct lsr *L, const cJSON *ln)
{
    static const char *const keys[] = {
        "calcLineDiscount", "calcTransactionDiscount", NULL
    };
    int64_t sum = 0, v;
    char b[64];
    size_t i;

    for (i = 0; keys[i] != NULL; i++) {
        if (lsr_money(lsr_str(ln, keys[i], b), L->decimals, &v) == 0)
            sum += v < 0 ? -v : v;
    }
    return sum;
}

/* The names of the Discounts applied to the sale and to its lines
 * (loaded as the Discount and SaleLines.Discount relations), each once,
 * in the order met. Returns the count; *out lives in the arena. */
static size_t
discount_codes(struct lsr *L, cJSON *rec, cJSON *lines, const char *id,
               const char *const **out)
{
    size_t n = 0, max = (size_t)cJSON_GetArraySize(lines) + 1, i;
    const char **codes = pf_arena_alloc(&L->arena, max * sizeof(*codes));
    const cJSON *d = cJSON_GetObjectItem(rec, "Discount");
    const cJSON *ln = lines != NULL ? lines->child : NULL;

    for (;;) {
        const char *name = cJSON_IsObject(d)
            ? text(L, d, "name", "Sale", id) : NULL;

        for (i = 0; name != NULL && i < n; i++)
            if (strcmp(codes[i], name) == 0)
                name = NULL;
        if (name != NULL)
            codes[n++] = name;
        if (ln == NULL)
            break;
        d = cJSON_GetObjectItem(ln, "Discount");
        ln = ln->next;
    }
    *out = codes;
    return n;
}

/* A SaleVoid: the sale it names is voided, even when voiding did not
 * move the sale's timeStamp. A sale not in the store yet arrives with
 * voided set when it is first read. */
static int
salevoid_row(struct lsr *L, cJSON *rec, const char *id)
{
    char buf[64];
    const char *sale = lsr_ref(rec, "saleID", buf);
    int changed = 0;

    if (sale == NULL) {
        sync_warn(L->rep, "SaleVoid", "SaleVoid %s: field 'saleID': "
                  "missing", id);
        return 1;
    }
    if (exec_id(L, "UPDATE orders SET status = 'voided' WHERE id = ?1 "
                "AND status IS NOT 'voided'", sale, &changed) != 0)
        return -1;
    return changed > 0 ? 0 : 1;
}

/* A void is final: the SaleVoid stream may have recorded it before the
 * sale itself came back with a newer timeStamp. */
static const char *
sale_status(struct lsr *L, const cJSON *rec, const char *id)
{
    const char *s = query_text(L, "SELECT status FROM orders WHERE id = ?1",
                               id);

    if (lsr_bool(rec, "voided", 0) == 1 ||
        (s != NULL && strcmp(s, "voided") == 0))
        return "voided";
    if (lsr_bool(rec, "completed", 0) == 1)
        return "completed";
    return "open";
}

/* The total and the discount total. 1: the total cannot be read and the
 * sale is skipped. Without calcDiscount, the discount is the lines'. */
static int
sale_amounts(struct lsr *L, const cJSON *rec, const cJSON *lines,
             const char *id, struct store_order *o)
{
    char buf[64];
    const char *s = lsr_str(rec, "calcTotal", buf);
    const cJSON *ln;

    if (s == NULL)
        s = lsr_str(rec, "total", buf);
    if (s != NULL && lsr_money(s, L->decimals, &o->total) != 0) {
        sync_warn(L->rep, "Sale", "Sale %s: field 'calcTotal': expected a "
                  "decimal amount, got \"%.40s\"; sale skipped", id, s);
        return 1;
    }
    s = lsr_str(rec, "calcDiscount", buf);
    if (s != NULL && lsr_money(s, L->decimals, &o->discount_total) != 0) {
        sync_warn(L->rep, "Sale", "Sale %s: field 'calcDiscount': "
                  "expected a decimal amount, got \"%.40s\"", id, s);
        s = NULL;
    }
    if (o->discount_total < 0)
        o->discount_total = -o->discount_total;
    if (s == NULL) {
        cJSON_ArrayForEach(ln, lines)
            o->discount_total += line_discount(L, ln);
    }
    return 0;
}

/* Shipments arrive through ShipTo: keeps what it recorded. */
static int
sale_shipment(struct lsr *L, const char *id, struct store_order *o)
{
    sqlite3_stmt *st = store_stmt(L->s, "SELECT shipped, shipped_at FROM "
                                  "orders WHERE id = ?1", NULL);
    struct pf_err e;
    int r;

    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    r = store_step(L->s, st, &e, "reading the shipment of sale %s", id);
    if (r == 1) {
        o->shipped = sqlite3_column_int(st, 0);
        o->shipped_at = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    if (r < 0) {
        store_failed(L, &e);
        return -1;
    }
    return 0;
}

/* The sale a refund returns lines of: the order of the first line a
 * line's parentSaleLineID names. NULL for a sale that refunds nothing. */
static const char *
sale_refund_of(struct lsr *L, cJSON *lines, const char *id)
{
    const cJSON *ln;
    const char *refund_of = NULL;

    cJSON_ArrayForEach(ln, lines) {
        char buf[64];
        const char *parent = lsr_ref(ln, "parentSaleLineID", buf);

        if (parent == NULL || refund_of != NULL)
            continue;
        refund_of = query_text(L, "SELECT order_id FROM order_lines "
                               "WHERE id = ?1", parent);
        if (refund_of == NULL)
            sync_warn(L->rep, "Sale", "Sale %s: field 'SaleLines."
                      "parentSaleLineID': line %s is not in the store; "
                      "refund not linked", id, parent);
    }
    return refund_of;
}

/* What a line sold, from the catalog: its variant, product, name, SKU. */
static void
line_item(struct lsr *L, const char *item, struct store_order_line *l)
{
    char vid[80];

    snprintf(vid, sizeof(vid), "item-%s", item);
    l->variant_id = pf_arena_strdup(&L->arena, vid);
    l->product_id = query_text(L, "SELECT product_id FROM variants "
                               "WHERE id = ?1", vid);
    /* A sold item that is gone from the catalog: a standalone item is
     * its own product. */
    if (l->product_id == NULL)
        l->product_id = l->variant_id;
    l->name = query_text(L, "SELECT p.name FROM variants v JOIN products "
                         "p ON p.id = v.product_id WHERE v.id = ?1", vid);
    l->sku = query_text(L, "SELECT sku FROM variants WHERE id = ?1", vid);
}

/* A line without an item (itemID "0": free text or a miscellaneous
 * amount, common in real sales) has its text in the SaleLines.Note
 * relation: that, trimmed, is its name. A refund of such a line without
 * a note of its own takes the refunded line's name. */
static const char *
line_text_name(struct lsr *L, const cJSON *ln, const char *id)
{
    const cJSON *note = cJSON_GetObjectItem(ln, "Note");
    const char *name = NULL, *parent;
    char buf[64];

    if (cJSON_IsObject(note))
        name = trimmed(L, text(L, note, "note", "Sale", id));
    if (name != NULL)
        return name;
    parent = lsr_ref(ln, "parentSaleLineID", buf);
    if (parent != NULL)
        name = query_text(L, "SELECT name FROM order_lines WHERE id = ?1",
                          parent);
    return name != NULL ? name : LSR_NO_ITEM_NAME;
}

/* One SaleLine. 0 stored or skipped with a warning, -1 store error;
 * *pos counts the lines stored. */
static int
line_row(struct lsr *L, const cJSON *ln, const char *id, int *pos)
{
    struct store_order_line l = {0};
    char b1[64], b2[64];
    const char *lid = lsr_str(ln, "saleLineID", b1);
    const char *item = lsr_ref(ln, "itemID", b2);

    if (lid == NULL) {
        sync_warn(L->rep, "Sale", "Sale %s: a line without 'saleLineID' "
                  "skipped", id);
        return 0;
    }
    l.id = pf_arena_strdup(&L->arena, lid);
    l.order_id = id;
    if (item != NULL)
        line_item(L, item, &l);
    else
        l.name = line_text_name(L, ln, id);
    if (lsr_int(lsr_str(ln, "unitQuantity", b2), &l.quantity) != 0 ||
        !store_quantity_ok(l.quantity) ||
        lsr_money(lsr_str(ln, "unitPrice", b2), L->decimals,
                  &l.unit_price) != 0) {
        sync_warn(L->rep, "Sale", "Sale %s: line %s: field 'unitQuantity' "
                  "or 'unitPrice' is not a number in range; line skipped",
                  id, lid);
        return 0;
    }
    l.discount = line_discount(L, ln);
    l.is_return = l.quantity < 0;
    l.position = (*pos)++;
    return store_put_order_line(L->s, &l, NULL) != 0 ? -1 : 0;
}

static int
sale_row(struct lsr *L, cJSON *rec, const char *id)
{
    struct store_order o = {0};
    char buf[64];
    const char *s;
    cJSON *lines, *ln;
    int pos = 0;

    o.id = id;
    o.number = text(L, rec, "ticketNumber", "Sale", id);
    o.status = sale_status(L, rec, id);
    s = lsr_ref(rec, "shopID", buf);
    o.location_id = s != NULL ? pf_arena_strdup(&L->arena, s) : NULL;
    s = lsr_ref(rec, "customerID", buf);
    o.customer_id = s != NULL ? pf_arena_strdup(&L->arena, s) : NULL;
    /* A sale carries no email; its customer's (pulled before sales) is
     * the order's, as Klaviyo's events expect. */
    if (o.customer_id != NULL)
        o.email = query_text(L, "SELECT email FROM customers WHERE id = ?1",
                             o.customer_id);
    o.currency = L->o->currency;
    o.created_at = when(L, rec, "createTime", "Sale", id);
    o.completed_at = when(L, rec, "completeTime", "Sale", id);
    if (o.created_at == 0)
        o.created_at = when(L, rec, "timeStamp", "Sale", id);
    lines = lsr_list(rec, "SaleLines", "SaleLine");
    if (sale_amounts(L, rec, lines, id, &o) != 0)
        return 1;
    o.ndiscount_codes = discount_codes(L, rec, lines, id, &o.discount_codes);
    if (sale_shipment(L, id, &o) != 0)
        return -1;
    o.refund_of = sale_refund_of(L, lines, id);
    if (store_put_order(L->s, &o, NULL) != 0)
        return -1;
    /* The sale's lines are its current set: drop lines edited away. */
    if (exec_id(L, "DELETE FROM order_lines WHERE order_id = ?1", id,
                NULL) != 0)
        return -1;
    cJSON_ArrayForEach(ln, lines) {
        if (line_row(L, ln, id, &pos) != 0)
            return -1;
    }
    return 0;
}

static int
shipto_row(struct lsr *L, cJSON *rec, const char *id)
{
    char buf[64];
    const char *sale = lsr_ref(rec, "saleID", buf);
    sqlite3_stmt *st;
    int shipped = lsr_bool(rec, "shipped", 0) == 1;
    int64_t at = shipped ? when(L, rec, "timeStamp", "ShipTo", id) : 0;

    if (sale == NULL)
        return 1;
    st = store_stmt(L->s, "UPDATE orders SET shipped = ?2, shipped_at = ?3"
                    " WHERE id = ?1 AND (shipped IS NOT ?2 OR shipped_at "
                    "IS NOT ?3)", NULL);
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, sale, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, shipped);
    if (at != 0)
        sqlite3_bind_int64(st, 3, at);
    else
        sqlite3_bind_null(st, 3);
    if (sqlite3_step(st) != SQLITE_DONE) {
        sqlite3_reset(st);
        return -1;
    }
    sqlite3_reset(st);
    return 0;
}

/* ---- the run ------------------------------------------------------------ */

/* The incremental streams, in the order they depend on each other:
 * variants need their products, stock its variants, a sale its
 * customer's email and the sales it refunds, ShipTo and SaleVoid their
 * sales. */
static const struct stream_def lsr_streams[] = {
    {"ItemMatrix", PULL_INCREMENTAL, matrix_rel, 1, matrix_row, NULL},
    {"Item", PULL_INCREMENTAL, item_rel, 1, item_row, item_page},
    /* Item.timeStamp does not move when stock does: ItemShop has its
     * own. */
    {"ItemShop", PULL_INCREMENTAL, NULL, 0, itemshop_row, NULL},
    {"Customer", PULL_INCREMENTAL, customer_rel, 1, customer_row, NULL},
    {"Sale", PULL_INCREMENTAL, sale_rel, 0, sale_row, NULL},
    {"ShipTo", PULL_INCREMENTAL, NULL, 0, shipto_row, NULL},
    {"SaleVoid", PULL_BY_ID, NULL, 0, salevoid_row, NULL},
};

/* What a run needs before its first request: the HTTP client, OAuth and
 * the account's base URL. lsr_close() undoes it, also half-way. */
static int
lsr_open(struct lsr *L, struct store *s, const struct lsr_opts *o,
         int full, struct sync_report *rep, struct pf_err *err)
{
    char *acct;
    size_t n;

    memset(L, 0, sizeof(*L));
    L->o = o;
    L->s = s;
    L->rep = rep;
    L->full = full;
    L->decimals = pf_currency_decimals(o->currency);
    pf_arena_init(&L->arena);
    ratelimit_init(&L->rl);
    if (o->api_url == NULL || o->account_id == NULL) {
        pf_errf(err, "[source] lightspeed-retail needs api_url and "
                "account_id");
        return -1;
    }
    if (o->http != NULL)
        L->hopts = *o->http;
    if (o->timeout_s > 0)
        L->hopts.timeout_s = o->timeout_s;
    if (o->retry_budget_s > 0)
        L->hopts.retry_budget_s = o->retry_budget_s;
    if (http_client_new(&L->hopts, &L->http, err) != 0)
        return -1;
    if (oauth_init(&L->oauth, o->token_url, o->client_id, o->client_secret,
                   o->refresh_token_file, L->http, err) != 0)
        return -1;
    L->have_oauth = 1;
    n = strlen(o->api_url);
    while (n > 0 && o->api_url[n - 1] == '/')
        n--;
    acct = http_escape(o->account_id);
    L->base = xasprintf("%.*s/API/V3/Account/%s/", (int)n, o->api_url,
                        acct);
    free(acct);
    return 0;
}

static void
lsr_close(struct lsr *L)
{
    if (L->have_oauth)
        oauth_free(&L->oauth);
    http_client_free(L->http);
    map_free(L->brands, L->nbrands);
    map_free(L->sets, L->nsets);
    pf_arena_free(&L->arena);
    free(L->base);
}

/* ---- the source type ---------------------------------------------------- */

/* A run's state: the client and what it was opened with. */
struct lsr_run {
    struct lsr L;
    struct lsr_opts o;
    char *secret;               /* wiped at close */
};

static void
run_free(struct lsr_run *r)
{
    if (r->secret != NULL) {
        memset(r->secret, 0, strlen(r->secret));
        free(r->secret);
    }
    free(r);
}

/* Options from [source], the client secret read (wiped at close). */
static int
run_new(const struct pf_config *cfg, struct lsr_run **out,
        struct pf_err *err)
{
    const struct pf_source_cfg *sc = &cfg->source;
    struct lsr_run *r = xcalloc(1, sizeof(*r));

    if (pf_secret_read(pf_source_secret(sc, "client_secret"), &r->secret,
                       err) != 0) {
        pf_err_prefix(err, "[source] client_secret");
        run_free(r);
        return -1;
    }
    r->o.api_url = pf_source_str(sc, "api_url");
    r->o.account_id = pf_source_str(sc, "account_id");
    r->o.token_url = pf_source_str(sc, "token_url");
    r->o.client_id = pf_source_str(sc, "client_id");
    r->o.client_secret = r->secret;
    r->o.refresh_token_file = pf_source_str(sc, "refresh_token_file");
    r->o.currency = cfg->currency;
    r->o.image_size = pf_source_str(sc, "image_size");
    r->o.timeout_s = pf_source_long(sc, "timeout");
    r->o.retry_budget_s = (double)pf_source_long(sc, "retry_time");
    *out = r;
    return 0;
}

/* Options from [source] (the client secret read here, wiped at close),
 * then the client, OAuth and the run's TEMP tables. */
static int
lsr_type_open(struct source_ctx *ctx, void **state, struct pf_err *err)
{
    struct lsr_run *r;

    if (run_new(ctx->cfg, &r, err) != 0)
        return -1;
    r->o.progress = ctx->progress;
    r->o.http = ctx->http;
    if (lsr_open(&r->L, ctx->store, &r->o, ctx->full, ctx->rep, err) != 0 ||
        matrices_reset(&r->L, err) != 0) {
        lsr_close(&r->L);
        run_free(r);
        return -1;
    }
    *state = r;
    return 0;
}

static void
lsr_type_close(void *state, struct source_ctx *ctx)
{
    struct lsr_run *r = state;
    const struct http_stats *st = http_client_stats(r->L.http);

    (void)ctx;
    log_info("lightspeed-retail: %ld requests, %ld retries, %ld answered "
             "429, %.1f s waiting on the rate limit", st->requests,
             st->retries, st->status_429, r->L.rl_waited + st->waited_s);
    lsr_close(&r->L);
    run_free(r);
}

/* ---- counting (posfeed verify) ------------------------------------------
 * Sync stores every sale that is not archived (open, completed and
 * voided ones, refunds too: a refund is a sale), dated by its
 * createTime. So the POS's count for a day is Sale.json?count=1 with a
 * createTime range: count=1 answers {"@attributes":{"count":"N"}} and
 * is incompatible with limit, sort and cursors (source-apis.md 1.3);
 * >< is inclusive and times have whole seconds, so [from, to) asks up to
 * to - 1. Each costs 10 of the bucket; api_get paces them as sync's. */
static int
count_sales(struct lsr *L, int64_t from, int64_t to, int64_t *n,
            struct pf_err *err)
{
    char lo[32], hi[32], buf[64], *spec, *e, *url, *end;
    const char *c;
    cJSON *doc = NULL;
    int rc = -1;

    pf_time_iso_utc(from, lo);
    pf_time_iso_utc(to - 1, hi);
    spec = xasprintf("><,%s,%s", lo, hi);
    e = http_escape(spec);
    url = xasprintf("%sSale.json?count=1&createTime=%s", L->base, e);
    if (api_get(L, url, "Sale", &doc, err) != 0)
        goto cleanup;
    c = lsr_str(cJSON_GetObjectItem(doc, "@attributes"), "count", buf);
    if (c == NULL || (*n = strtoll(c, &end, 10)) < 0 || *end != '\0') {
        pf_errf(err, "Lightspeed Sale count: no count in the answer");
        goto cleanup;
    }
    rc = 0;
cleanup:
    cJSON_Delete(doc);
    free(url);
    free(e);
    free(spec);
    return rc;
}

static int
lsr_count_orders(const struct pf_config *cfg, const int64_t *bounds,
                 size_t ndays, int64_t *counts, struct pf_err *err)
{
    struct lsr_run *r;
    size_t d;
    int rc = -1;

    memset(counts, 0, ndays * sizeof(*counts));
    if (run_new(cfg, &r, err) != 0)
        return -1;
    if (lsr_open(&r->L, NULL, &r->o, 0, NULL, err) != 0)
        goto cleanup;
    for (d = 0; d < ndays; d++)
        if (count_sales(&r->L, bounds[d], bounds[d + 1], &counts[d],
                        err) != 0)
            goto cleanup;
    rc = 0;
cleanup:
    lsr_close(&r->L);
    run_free(r);
    return rc;
}

/* Reference data (Shop, Category, Manufacturer, ItemAttributeSet) first:
 * the incremental streams name it. */
static int
lsr_pull_reference(void *state, struct source_ctx *ctx, struct pf_err *err)
{
    (void)ctx;
    return pull_reference(&((struct lsr_run *)state)->L, err);
}

static int
lsr_pull_named(void *state, const char *res, struct pf_err *err)
{
    struct lsr_run *r = state;

    for (size_t i = 0; i < sizeof(lsr_streams) / sizeof(lsr_streams[0]);
         i++)
        if (strcmp(lsr_streams[i].res, res) == 0)
            return pull(&r->L, &lsr_streams[i], err);
    pf_errf(err, "lightspeed-retail: no stream %s", res);
    return -1;
}

#define LSR_PULL(fn, res)                                                 \
    static int                                                            \
    fn(void *state, struct source_ctx *ctx, struct pf_err *err)           \
    {                                                                     \
        (void)ctx;                                                        \
        return lsr_pull_named(state, res, err);                           \
    }
LSR_PULL(lsr_pull_matrices, "ItemMatrix")
LSR_PULL(lsr_pull_items, "Item")
LSR_PULL(lsr_pull_itemshops, "ItemShop")
LSR_PULL(lsr_pull_customers, "Customer")
LSR_PULL(lsr_pull_sales, "Sale")
LSR_PULL(lsr_pull_shiptos, "ShipTo")
LSR_PULL(lsr_pull_salevoids, "SaleVoid")
#undef LSR_PULL

/* The order lsr_streams gives, reference data first. */
static const struct source_stream lsr_type_streams[] = {
    {"reference", lsr_pull_reference},
    {"ItemMatrix", lsr_pull_matrices},
    {"Item", lsr_pull_items},
    {"ItemShop", lsr_pull_itemshops},
    {"Customer", lsr_pull_customers},
    {"Sale", lsr_pull_sales},
    {"ShipTo", lsr_pull_shiptos},
    {"SaleVoid", lsr_pull_salevoids},
    {NULL, NULL}
};

/* `posfeed check`: the refresh token that `posfeed auth` writes and every
 * sync reads and replaces. */
static int
lsr_type_check(const struct pf_config *cfg, struct pf_err *err)
{
    const struct pf_source_cfg *sc = &cfg->source;
    const char *rt = pf_source_str(sc, "refresh_token_file");

    if (access(rt, R_OK) == 0)
        return 0;
    pf_errf(err, "%s:%d: [source] refresh_token_file: cannot read %s: %s%s",
            cfg->path, pf_source_line(sc, "refresh_token_file"), rt,
            strerror(errno), errno == ENOENT ? "; run `posfeed auth` to "
            "create it" : "");
    return -1;
}

/* `posfeed auth [CODE]`: prints the authorize URL, takes the code from
 * the argument or the first line of stdin, exchanges it and stores the
 * refresh token in refresh_token_file. */
static int
lsr_type_auth(const struct pf_config *cfg, const char *code,
              struct pf_err *err)
{
    const struct pf_source_cfg *sc = &cfg->source;
    const char *token_url = pf_source_str(sc, "token_url");
    const char *client_id = pf_source_str(sc, "client_id");
    const char *rt = pf_source_str(sc, "refresh_token_file");
    struct http_client *http = NULL;
    struct http_opts ho;
    char *secret = NULL, *url, line[4096];
    int rc = -1;
    size_t n;

    url = oauth_authorize_url(token_url, client_id,
                              "employee:inventory_read employee:"
                              "customers_read employee:register_read",
                              "posfeed");
    fprintf(stderr, "Open this address in a browser, log in as an "
            "employee who may\nread inventory, customers and sales, and "
            "approve posfeed:\n\n  %s\n\nThen give the code from the "
            "address Lightspeed sends you back to\n(?code=...)%s\n", url,
            code == NULL ? ", here:" : ".");
    free(url);
    if (code == NULL) {
        if (fgets(line, sizeof(line), stdin) == NULL) {
            pf_errf(err, "no authorization code given (argument or "
                    "stdin)");
            return -1;
        }
        n = strcspn(line, "\r\n");
        line[n] = '\0';
        code = line;
    }
    if (code[0] == '\0') {
        pf_errf(err, "the authorization code is empty");
        return -1;
    }
    if (pf_secret_read(pf_source_secret(sc, "client_secret"), &secret,
                       err) != 0) {
        pf_err_prefix(err, "[source] client_secret");
        return -1;
    }
    memset(&ho, 0, sizeof(ho));
    ho.timeout_s = pf_source_long(sc, "timeout");
    ho.retry_budget_s = 30;
    if (http_client_new(&ho, &http, err) != 0)
        goto cleanup;
    if (oauth_exchange_code(http, token_url, client_id, secret, code, rt,
                            err) != 0)
        goto cleanup;
    log_info("authorized; refresh token stored in %s", rt);
    rc = 0;

cleanup:
    http_client_free(http);
    memset(secret, 0, strlen(secret));
    free(secret);
    memset(line, 0, sizeof(line));
    return rc;
}

static const struct pf_key_def lsr_keys[] = {
    {"api_url", PF_KEY_URL, 0, NULL, 0, 0, "https://api.lightspeedapp.com"},
    {"token_url", PF_KEY_URL, 0, NULL, 0, 0,
     "https://cloud.lightspeedapp.com/auth/oauth/token"},
    {"account_id", PF_KEY_TEXT, 1, NULL, 0, 0, NULL},
    {"client_id", PF_KEY_TEXT, 1, NULL, 0, 0, NULL},
    {"client_secret", PF_KEY_SECRET, 1, NULL, 0, 0, NULL},
    {"refresh_token_file", PF_KEY_PATH, 1, NULL, 0, 0, NULL},
    /* An image transformation such as w_800; unset = the original. */
    {"image_size", PF_KEY_TEXT, 0, NULL, 0, 0, NULL},
    {"timeout", PF_KEY_SECONDS, 0, NULL, 1, 86400, "60"},
    {"retry_time", PF_KEY_SECONDS, 0, NULL, 1, 86400, "300"},
    {NULL, PF_KEY_TEXT, 0, NULL, 0, 0, NULL}
};

const struct source_type source_lsr_type = {
    .name = "lightspeed-retail",
    .keys = lsr_keys,
    .open = lsr_type_open,
    .streams = lsr_type_streams,
    .close = lsr_type_close,
    .check = lsr_type_check,
    .auth = lsr_type_auth,
    .count_orders = lsr_count_orders,
};
