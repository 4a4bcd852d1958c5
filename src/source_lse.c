/* source_lse.c - see source_lse.h: requests, pacing, paging and the run.
 * What each record becomes is in source_lse_map.c. */
#include "source_lse_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "log.h"
#include "source.h"
#include "sync.h"
#include "timeutil.h"
#include "value.h"

#define LSE_PAGE 250
/* Seconds re-read before the newest updatedAt a pass saw: times have
 * second resolution and a record saved during our listing may carry a
 * time just before the newest one we read. */
#define LSE_OVERLAP 60
/* A page that is not JSON is fetched again this many times. */
#define LSE_PARSE_TRIES 3
/* A 404 on an order's lines is retried this many times (the API gives
 * transient ones on orders) before the order is left without them. */
#define LSE_404_TRIES 4
/* Deletions are reconciled at most this often (and on --full). */
#define LSE_RECONCILE_S 86400
/* 429s in a row one request may wait out before the run gives up. */
#define LSE_429_TRIES 8

/* ---- records ------------------------------------------------------------ */

const char *
lse_text(struct lse *L, const cJSON *rec, const char *key, const char *res,
         const char *id)
{
    char buf[64];
    const char *s = lse_str(rec, key, buf);
    struct pf_buf b;
    char *out;

    if (s == NULL || strcmp(s, "true") == 0)
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

int64_t
lse_when(struct lse *L, const cJSON *rec, const char *key, const char *res,
         const char *id)
{
    int64_t t = 0;

    if (lse_time(rec, key, &t) < 0) {
        sync_warn(L->rep, res, "%s %s: field '%s': not a date-time", res,
                  id, key);
        return 0;
    }
    return t;
}

void
lse_store_failed(struct lse *L, const struct pf_err *e)
{
    if (!L->serr_set) {
        L->serr = *e;
        L->serr_set = 1;
    }
}

const char *
lse_ref_dup(struct lse *L, const cJSON *rec, const char *key)
{
    char buf[64];
    const char *id = lse_ref(rec, key, buf);

    return id != NULL ? pf_arena_strdup(&L->arena, id) : NULL;
}

/* ---- progress ----------------------------------------------------------- */

static void
progress(struct lse *L, int done)
{
    const struct http_stats *st = http_client_stats(L->http);

    if (!L->o->progress)
        return;
    fprintf(stderr, "\r  %-16s %8" PRId64 " rows  %6ld requests  "
            "%6.1f s rate-limit wait%s", L->stream, L->rows, st->requests,
            L->rl_waited + st->waited_s, done ? "\n" : "");
}

/* ---- requests ----------------------------------------------------------- */

/* Waits for the windows. 1 when the day window is used up: the run
 * stops instead of waiting hours for it. */
static int
pace(struct lse *L, const char *res)
{
    int win;
    double wait = ratelimit_windows_wait(&L->rl, http_now(L->http), &win);

    if (wait <= 0)
        return 0;
    if (win == L->rl.n - 1 && L->rl.n > 1) {
        L->quota_out = 1;
        log_warn("Lightspeed eCom %s: the API key's daily quota (%.0f "
                 "requests) is used up; it resets in %.0f min and the "
                 "next run continues where this one stopped", res,
                 L->rl.limit[win], wait / 60);
        return 1;
    }
    log_debug("%s: waiting %.1f s for rate-limit window %d", res, wait,
              win + 1);
    http_sleep(L->http, wait);
    L->rl_waited += wait;
    return 0;
}

static void
answer_error(const char *res, const struct http_resp *resp,
             struct pf_err *err)
{
    char msg[256];
    const char *m = lse_error_message(resp->body, resp->len, msg,
                                      sizeof(msg));

    if (resp->status == 401)
        pf_errf(err, "Lightspeed eCom %s: HTTP 401%s%s%s: check [source] "
                "api_key and api_secret (back office > Settings > "
                "Developers) and that the key is enabled", res,
                m ? " (" : "", m ? m : "", m ? ")" : "");
    else if (resp->status == 403)
        pf_errf(err, "Lightspeed eCom %s: HTTP 403%s%s%s: give the API "
                "key read permission for it", res, m ? " (" : "",
                m ? m : "", m ? ")" : "");
    else
        pf_errf(err, "Lightspeed eCom %s: HTTP %ld%s%s%s", res,
                resp->status, m ? " (" : "", m ? m : "", m ? ")" : "");
}

/* A 429 (another client of the key, a window we did not know of): wait
 * what Retry-After says (seconds or a date; libcurl reads both), or
 * until the windows' reset. 0 try again, 1 the day is used up, -1 too
 * many in a row. */
static int
answered_429(struct lse *L, const char *res, const struct http_resp *resp,
             int n, struct pf_err *err)
{
    int win;
    double wait = ratelimit_windows_wait(&L->rl, http_now(L->http), &win);

    if (win == L->rl.n - 1 && L->rl.n > 1)
        return pace(L, res);
    if (resp->retry_after_s >= 0)
        wait = resp->retry_after_s;
    else if (wait <= 0)
        wait = n < 30 ? n : 30;
    if (n >= LSE_429_TRIES) {
        pf_errf(err, "Lightspeed eCom %s: HTTP 429 (too many requests) %d "
                "times in a row; another client may be using the same API "
                "key: try again later", res, n);
        return -1;
    }
    log_debug("%s: 429, waiting %.1f s", res, wait);
    http_sleep(L->http, wait);
    L->rl_waited += wait;
    return 0;
}

/* One request with its headers noted. 0 ok, -1 err. */
static int
send_one(struct lse *L, const char *url, const char *res,
         struct http_resp *resp, struct pf_err *err)
{
    const char *hdrs[3] = {L->auth, "Accept: application/json", NULL};

    if (http_get(L->http, url, hdrs, resp, err) != 0) {
        pf_err_prefix(err, "Lightspeed eCom %s", res);
        return -1;
    }
    if (ratelimit_windows_update(&L->rl, resp->rl_limit, resp->rl_remaining,
                                 resp->rl_reset, http_now(L->http)) != 0)
        ratelimit_windows_spend(&L->rl);
    return 0;
}

int
lse_get(struct lse *L, const char *path, const char *res, int allow_404,
        cJSON **out, struct pf_err *err)
{
    struct http_resp resp;
    char *url = xasprintf("%s%s", L->base, path);
    int bad_json = 0, n404 = 0, n429 = 0, rc = -1;

    *out = NULL;
    memset(&resp, 0, sizeof(resp));
    for (;;) {
        if (pace(L, res) != 0) {
            rc = 1;
            break;
        }
        if (send_one(L, url, res, &resp, err) != 0)
            break;
        if (resp.status == 429) {
            rc = answered_429(L, res, &resp, ++n429, err);
            http_resp_free(&resp);
            if (rc != 0)
                break;
            rc = -1;
            continue;
        }
        if (resp.status == 404 && allow_404 && ++n404 < LSE_404_TRIES) {
            http_resp_free(&resp);
            http_sleep(L->http, 0.5 * n404);
            continue;
        }
        if (resp.status == 404 && allow_404) {
            rc = 2;
            break;
        }
        if (resp.status != 200) {
            answer_error(res, &resp, err);
            break;
        }
        *out = cJSON_ParseWithLength(resp.body, resp.len);
        if (cJSON_IsObject(*out)) {
            rc = 0;
            break;
        }
        cJSON_Delete(*out);
        *out = NULL;
        http_resp_free(&resp);
        if (++bad_json >= LSE_PARSE_TRIES) {
            pf_errf(err, "Lightspeed eCom %s: the API sent malformed JSON "
                    "%d times in a row; try again later", res, bad_json);
            break;
        }
        log_warn("Lightspeed eCom %s: malformed JSON, fetching it again",
                 res);
        http_sleep(L->http, 0.2 * bad_json);
    }
    http_resp_free(&resp);
    free(url);
    return rc;
}

/* ---- the pager ---------------------------------------------------------- */

/* One listing: resource path ("products", "categories/products"), the
 * envelope's plural and singular keys, the stream's name, and what each
 * record becomes. */
struct stream_def {
    const char *stream;         /* counts and bookmark "lse:STREAM" */
    const char *path;
    const char *plural, *singular;
    lse_row_fn fn;
    int incremental;            /* updated_at_min + bookmark */
    /* Set: what a record needs beyond the listing is fetched first
     * (lse_fetch_fn), and each record lands in its own transaction with
     * the bookmark. */
    lse_fetch_fn fetch;
    int in_txn;                 /* the caller holds the transaction */
    const char *extra;          /* more query; NULL none */
};

struct pager {
    const struct stream_def *d;
    char bkey[64];
    int64_t since, last_id, newest;
    int64_t start_newest;       /* newest of the last finished pass */
};

static int
pager_start(struct lse *L, struct pager *pg, struct pf_err *err)
{
    char *bm = NULL;

    snprintf(pg->bkey, sizeof(pg->bkey), "lse:%s", pg->d->stream);
    pg->since = pg->last_id = pg->newest = 0;
    if (!pg->d->incremental || L->full)
        return 0;
    if (store_get_bookmark(L->s, pg->bkey, &bm, err) != 0)
        return -1;
    if (bm != NULL &&
        lse_bookmark_parse(bm, &pg->since, &pg->last_id, &pg->newest) != 0) {
        log_warn("Lightspeed eCom %s: bookmark '%s' unreadable; reading "
                 "the stream from the start", pg->d->stream, bm);
        pg->since = pg->last_id = pg->newest = 0;
    }
    free(bm);
    pg->start_newest = pg->newest;
    return 0;
}

static char *
page_path(const struct pager *pg)
{
    struct pf_buf b;
    char iso[32];

    pf_buf_init(&b);
    pf_buf_addf(&b, "%s.json?limit=%d&since_id=%" PRId64, pg->d->path,
                LSE_PAGE, pg->last_id);
    if (pg->since > 0 && pf_time_iso_utc(pg->since, iso) == 0) {
        char *e = http_escape(iso);

        pf_buf_addf(&b, "&updated_at_min=%s", e);
        free(e);
    }
    if (pg->d->extra != NULL)
        pf_buf_addf(&b, "&%s", pg->d->extra);
    return b.data;
}

/* The bookmark: mid-pass "SINCE|LASTID|NEWEST"; a finished pass starts
 * the next one LSE_OVERLAP before the newest time it saw. */
static int
pager_save(struct lse *L, struct pager *pg, int done, struct pf_err *err)
{
    char bm[96];
    int64_t next;

    if (!pg->d->incremental)
        return 0;
    if (done) {
        next = pg->newest > LSE_OVERLAP ? pg->newest - LSE_OVERLAP
                                        : pg->since;
        snprintf(bm, sizeof(bm), "%" PRId64 "|0|%" PRId64, next,
                 pg->newest);
    }
    else {
        snprintf(bm, sizeof(bm), "%" PRId64 "|%" PRId64 "|%" PRId64,
                 pg->since, pg->last_id, pg->newest);
    }
    return store_set_bookmark(L->s, pg->bkey, bm, err);
}

static void
row_error(struct lse *L, const char *res, const char *id,
          struct pf_err *err)
{
    if (L->serr_set)
        pf_errf(err, "%s %s: %s", res, id, L->serr.msg);
    else
        pf_errf(err, "%s %s: store: %s", res, id,
                sqlite3_errmsg(store_db(L->s)));
    L->serr_set = 0;
}

/* A record's id as a positive number; 0 when it has none. */
static int64_t
record_id(const cJSON *rec, char id[64])
{
    char buf[64];
    const char *s = cJSON_IsObject(rec) ? lse_str(rec, "id", buf) : NULL;

    char *end;
    long long n;

    if (s == NULL)
        return 0;
    n = strtoll(s, &end, 10);
    if (*end != '\0' || n <= 0 || n > INT64_C(9000000000000000))
        return 0;
    snprintf(id, 64, "%s", s);
    return n;
}

/* A changed product or variant makes the product/category links due
 * for a re-read (pull_links). The mark lands in the record's own
 * transaction and is cleared only with the links, so a run killed in
 * between still re-reads them next time. */
static int
links_due_mark(struct lse *L, const struct pager *pg, struct pf_err *err)
{
    if (strcmp(pg->d->stream, "products") != 0 &&
        strcmp(pg->d->stream, "variants") != 0)
        return 0;
    return store_set_bookmark(L->s, "lse:links_due", "1", err);
}

/* One record through the stream's row function (inside a transaction). */
static int
pager_record(struct lse *L, struct pager *pg, cJSON *rec, const char *id,
             struct pf_err *err)
{
    int64_t t = 0;
    int r;

    if (lse_time(rec, "updatedAt", &t) == 1 && t > pg->start_newest) {
        L->fresh++;             /* not just re-read by the overlap */
        if (links_due_mark(L, pg, err) != 0)
            return -1;
    }
    if (t > pg->newest)
        pg->newest = t;
    pf_arena_reset(&L->arena);
    r = pg->d->fn(L, rec, id);
    if (r < 0 || L->serr_set) {
        row_error(L, pg->d->stream, id, err);
        return -1;
    }
    if (r == LSE_ROW_OK)
        L->rows++;
    return 0;
}

/* The records of one page, in one transaction with the bookmark. */
static int
page_txn(struct lse *L, struct pager *pg, cJSON *arr, int done,
         struct pf_err *err)
{
    cJSON *rec;
    char id[64];
    int64_t n;

    if (!pg->d->in_txn && store_begin(L->s, err) != 0)
        return -1;
    cJSON_ArrayForEach(rec, arr) {
        if ((n = record_id(rec, id)) == 0) {
            sync_warn(L->rep, pg->d->stream, "Lightspeed eCom %s: a "
                      "record without a numeric 'id' skipped",
                      pg->d->stream);
            continue;
        }
        if (n > pg->last_id)
            pg->last_id = n;
        if (pager_record(L, pg, rec, id, err) != 0)
            goto failed;
    }
    if (pg->d->in_txn)
        return 0;
    if (pager_save(L, pg, done, err) != 0 || store_commit(L->s, err) != 0)
        goto failed;
    return 0;

failed:
    if (!pg->d->in_txn)
        store_rollback(L->s);
    return -1;
}

/* Records with details of their own (products: images, filter values,
 * attributes; orders: lines): each one's details are fetched first,
 * outside a transaction, then it lands with them and the bookmark, so
 * the quota may end the run between any two. */
static int
per_record_txn(struct lse *L, struct pager *pg, cJSON *arr, int done,
               struct pf_err *err)
{
    cJSON *rec;
    char id[64];
    int64_t n;
    int r;

    cJSON_ArrayForEach(rec, arr) {
        if ((n = record_id(rec, id)) == 0) {
            sync_warn(L->rep, pg->d->stream, "Lightspeed eCom %s: a "
                      "record without a numeric 'id' skipped",
                      pg->d->stream);
            continue;
        }
        r = pg->d->fetch(L, rec, id, err);
        if (r != 0) {
            lse_details_free(L);
            return r;
        }
        if (store_begin(L->s, err) != 0) {
            lse_details_free(L);
            return -1;
        }
        if (n > pg->last_id)
            pg->last_id = n;
        r = pager_record(L, pg, rec, id, err);
        lse_details_free(L);
        if (r != 0 || pager_save(L, pg, 0, err) != 0 ||
            store_commit(L->s, err) != 0) {
            store_rollback(L->s);
            return -1;
        }
    }
    if (!done)
        return 0;
    if (store_begin(L->s, err) != 0)
        return -1;
    if (pager_save(L, pg, 1, err) != 0 || store_commit(L->s, err) != 0) {
        store_rollback(L->s);
        return -1;
    }
    return 0;
}

void
lse_details_free(struct lse *L)
{
    size_t i;

    for (i = 0; i < LSE_DETAILS; i++) {
        cJSON_Delete(L->detail[i]);
        L->detail[i] = NULL;
    }
}

/* resource/{id}/sub.json into L->detail[k]. A 404 is retried (orders
 * give transient ones) and then a warning: the record lands without. */
int
lse_fetch_detail(struct lse *L, const char *res, const char *id,
                 const char *sub, int k, struct pf_err *err)
{
    char path[160];
    int r;

    snprintf(path, sizeof(path), "%s/%s/%s.json", res, id, sub);
    r = lse_get(L, path, res, 1, &L->detail[k], err);
    if (r == 2) {
        sync_warn(L->rep, res, "%s %s: %s answered 404 %d times; stored "
                  "without them", res, id, sub, LSE_404_TRIES);
        return 0;
    }
    return r;
}

/* Reads a stream to its end. 0 done, 1 the quota ran out, -1 err. */
static int
pull(struct lse *L, const struct stream_def *d, struct pf_err *err)
{
    struct pager pg = {0};
    cJSON *doc = NULL, *arr;
    char *path;
    int rc, done = 0;

    pg.d = d;
    L->stream = d->stream;
    L->rows = L->removed = L->fresh = 0;
    if (pager_start(L, &pg, err) != 0)
        return -1;
    while (!done) {
        path = page_path(&pg);
        rc = lse_get(L, path, d->stream, 0, &doc, err);
        free(path);
        if (rc != 0)
            break;
        arr = lse_list(doc, d->plural, d->singular);
        done = cJSON_GetArraySize(arr) < LSE_PAGE;
        rc = d->fetch != NULL ? per_record_txn(L, &pg, arr, done, err)
                           : page_txn(L, &pg, arr, done, err);
        cJSON_Delete(doc);
        doc = NULL;
        if (rc != 0)
            break;
        progress(L, 0);
    }
    sync_rows(L->rep, d->stream, L->rows, L->removed);
    progress(L, 1);
    return rc;
}

/* ---- streams ------------------------------------------------------------ */

static const struct stream_def s_categories = {
    "categories", "categories", "categories", "category",
    lse_category_row, 0, 0, 1, NULL
};
static const struct stream_def s_brands = {
    "brands", "brands", "brands", "brand", lse_brand_row, 0, 0, 0, NULL
};
static const struct stream_def s_suppliers = {
    "suppliers", "suppliers", "suppliers", "supplier", lse_supplier_row, 0,
    0, 0, NULL
};
static const struct stream_def s_filters = {
    "filters", "filters", "filters", "filter", lse_filter_row, 0, 0, 0,
    NULL
};
static const struct stream_def s_blogs = {
    "blogs", "blogs", "blogs", "blog", lse_blog_row, 0, 0, 0, NULL
};
static const struct stream_def s_tags = {
    "tags", "tags", "tags", "tag", lse_tag_row, 0, 0, 0, NULL
};
static const struct stream_def s_taglinks = {
    "tags_products", "tags/products", "tagsProducts", "tagsProduct",
    lse_taglink_row, 0, 0, 0, NULL
};
static const struct stream_def s_products = {
    "products", "products", "products", "product", lse_product_row, 1,
    lse_product_fetch, 0, NULL
};
/* Stock lives on the variant: a change of stockLevel moves its
 * updatedAt. */
static const struct stream_def s_variants = {
    "variants", "variants", "variants", "variant", lse_variant_row, 1, 0,
    0, NULL
};
static const struct stream_def s_links = {
    "categories_products", "categories/products", "categoriesProducts",
    "categoriesProduct", lse_catlink_row, 0, 0, 0, NULL
};
static const struct stream_def s_customers = {
    "customers", "customers", "customers", "customer", lse_customer_row, 1,
    0, 0, NULL
};
static const struct stream_def s_shipments = {
    "shipments", "shipments", "shipments", "shipment", lse_shipment_row, 1,
    0, 0, NULL
};
static const struct stream_def s_returns = {
    "returns", "returns", "returns", "return", lse_return_row, 1, 0, 0,
    NULL
};
static const struct stream_def s_reviews = {
    "reviews", "reviews", "reviews", "review", lse_review_row, 1, 0, 0,
    NULL
};
static const struct stream_def s_textpages = {
    "textpages", "textpages", "textpages", "textpage", lse_textpage_row, 1,
    0, 0, NULL
};
static const struct stream_def s_articles = {
    "articles", "blogs/articles", "blogsArticles", "blogsArticle",
    lse_article_row, 1, 0, 0, NULL
};

static int
seen_reset(struct lse *L, struct pf_err *err)
{
    return store_exec(L->s, "CREATE TEMP TABLE IF NOT EXISTS lse_seen ("
                      "id TEXT PRIMARY KEY); DELETE FROM lse_seen;", err);
}

/* The shop: one record, read every run (its domain makes the links). */
static int
pull_shop(struct lse *L, struct pf_err *err)
{
    cJSON *doc = NULL, *arr;
    int rc;

    L->stream = "shop";
    rc = lse_get(L, "shop.json", "shop", 0, &doc, err);
    if (rc != 0)
        return rc;
    arr = lse_list(doc, "shops", "shop");
    rc = -1;
    if (cJSON_GetArraySize(arr) != 1) {
        pf_errf(err, "Lightspeed eCom shop: the answer has no shop");
        goto cleanup;
    }
    if (store_begin(L->s, err) != 0)
        goto cleanup;
    pf_arena_reset(&L->arena);
    if (lse_shop_row(L, cJSON_GetArrayItem(arr, 0), "shop") != 0 ||
        L->serr_set) {
        row_error(L, "shop", "shop", err);
        store_rollback(L->s);
        goto cleanup;
    }
    if (store_commit(L->s, err) != 0)
        goto cleanup;
    sync_rows(L->rep, "shop", 1, 0);
    rc = 0;

cleanup:
    cJSON_Delete(doc);
    return rc;
}

/* Categories are few: read whole in one transaction; those that did
 * not come back are removed (their products lose the link). */
static int
pull_categories(struct lse *L, struct pf_err *err)
{
    int rc;

    if (store_begin(L->s, err) != 0)
        return -1;
    if (seen_reset(L, err) != 0)
        goto failed;
    rc = pull(L, &s_categories, err);
    if (rc != 0) {
        store_rollback(L->s);
        return rc;
    }
    if (store_exec(L->s, "UPDATE categories SET parent_id = NULL WHERE "
                   "parent_id NOT IN (SELECT id FROM lse_seen); DELETE "
                   "FROM product_categories WHERE category_id NOT IN "
                   "(SELECT id FROM lse_seen); DELETE FROM categories "
                   "WHERE id NOT IN (SELECT id FROM lse_seen)", err) != 0)
        goto failed;
    sync_rows(L->rep, "categories", 0, sqlite3_changes(store_db(L->s)));
    if (store_rebuild_category_paths(L->s, err) != 0 ||
        store_commit(L->s, err) != 0)
        goto failed;
    return 0;

failed:
    store_rollback(L->s);
    return -1;
}

/* Product <-> category links: the join has no timestamps, so it is read
 * whole, but only when the catalog changed since the links were last
 * read (links_due_mark), or on --full. */
static int
pull_links(struct lse *L, int64_t changed, struct pf_err *err)
{
    char *due = NULL;
    int rc, owed;

    if (store_get_bookmark(L->s, "lse:links_due", &due, err) != 0)
        return -1;
    owed = due != NULL && strcmp(due, "1") == 0;
    free(due);
    if (changed == 0 && !owed && !L->full)
        return 0;
    if (store_exec(L->s, "CREATE TEMP TABLE IF NOT EXISTS lse_links ("
                   "product_id TEXT, category_id TEXT, pos INTEGER); "
                   "DELETE FROM lse_links", err) != 0)
        return -1;
    rc = pull(L, &s_links, err);
    if (rc != 0)
        return rc;
    if (store_begin(L->s, err) != 0)
        return -1;
    if (lse_links_apply(L, 1, err) != 0 ||
        store_set_bookmark(L->s, "lse:links_due", "0", err) != 0 ||
        store_commit(L->s, err) != 0) {
        store_rollback(L->s);
        return -1;
    }
    return 0;
}

/* ---- deletions ---------------------------------------------------------- */

/* What an id-only listing reconciles: the resource, and the table with
 * the prefix its ids carry there. */
struct reconcile_def {
    const char *path, *plural, *singular, *table, *prefix, *extra;
};

static const struct reconcile_def reconciles[] = {
    {"products", "products", "product", "products", "", NULL},
    {"variants", "variants", "variant", "variants", "", NULL},
    {"customers", "customers", "customer", "customers", "", NULL},
};
static const struct reconcile_def reconcile_reviews = {
    "reviews", "reviews", "review", "reviews", "", NULL
};
static const struct reconcile_def reconcile_pages[] = {
    {"textpages", "textpages", "textpage", "pages", "page-",
     "kind = 'page'"},
    {"blogs/articles", "blogsArticles", "blogsArticle", "pages", "article-",
     "kind = 'article'"},
};

static int
seen_page(struct lse *L, const struct reconcile_def *r, cJSON *arr,
          int64_t *last, struct pf_err *err)
{
    sqlite3_stmt *st;
    cJSON *rec;
    char id[64], *full;
    int64_t n;

    if (store_begin(L->s, err) != 0)
        return -1;
    cJSON_ArrayForEach(rec, arr) {
        if ((n = record_id(rec, id)) == 0)
            continue;
        if (n > *last)
            *last = n;
        st = store_stmt(L->s, "INSERT OR IGNORE INTO lse_seen(id) "
                        "VALUES (?1)", err);
        if (st == NULL)
            goto failed;
        full = xasprintf("%s%s", r->prefix, id);
        sqlite3_bind_text(st, 1, full, -1, SQLITE_TRANSIENT);
        free(full);
        if (sqlite3_step(st) != SQLITE_DONE) {
            pf_errf(err, "store: %s", sqlite3_errmsg(store_db(L->s)));
            sqlite3_reset(st);
            goto failed;
        }
        sqlite3_reset(st);
    }
    return store_commit(L->s, err);

failed:
    store_rollback(L->s);
    return -1;
}

/* Lists every id of one resource; only a complete listing removes the
 * rows whose id did not come back. 1: the quota ran out first. */
static int
reconcile(struct lse *L, const struct reconcile_def *r, struct pf_err *err)
{
    cJSON *doc = NULL, *arr;
    int64_t last = 0;
    char *path, *sql;
    int rc, n;

    if (seen_reset(L, err) != 0)
        return -1;
    do {
        path = xasprintf("%s.json?fields=id&limit=%d&since_id=%" PRId64,
                         r->path, LSE_PAGE, last);
        rc = lse_get(L, path, r->path, 0, &doc, err);
        free(path);
        if (rc != 0)
            return rc;
        arr = lse_list(doc, r->plural, r->singular);
        n = cJSON_GetArraySize(arr);
        rc = seen_page(L, r, arr, &last, err);
        cJSON_Delete(doc);
        if (rc != 0)
            return -1;
    } while (n >= LSE_PAGE);
    sql = xasprintf("DELETE FROM %s WHERE id NOT IN (SELECT id FROM "
                    "lse_seen)%s%s", r->table, r->extra ? " AND " : "",
                    r->extra ? r->extra : "");
    rc = store_exec(L->s, sql, err);
    free(sql);
    if (rc != 0)
        return -1;
    n = sqlite3_changes(store_db(L->s));
    if (n > 0)
        log_info("Lightspeed eCom %s: %d deleted in the shop, removed", 
                 r->path, n);
    sync_rows(L->rep, r->table, 0, n);
    return 0;
}

static int
reconcile_due(struct lse *L, int64_t now, int *due, struct pf_err *err)
{
    char *bm = NULL;
    int64_t last = 0;

    *due = 1;
    if (L->full)
        return 0;
    if (store_get_bookmark(L->s, "lse:reconciled", &bm, err) != 0)
        return -1;
    if (bm != NULL && pf_time_parse(bm, &last, NULL) == 0 &&
        now - last < LSE_RECONCILE_S)
        *due = 0;
    free(bm);
    return 0;
}

static int
pull_deletions(struct lse *L, struct pf_err *err)
{
    int64_t now = pf_time_now();
    char iso[32];
    size_t i;
    int due, rc;

    if (reconcile_due(L, now, &due, err) != 0)
        return -1;
    if (!due)
        return 0;
    L->stream = "deletions";
    for (i = 0; i < sizeof(reconciles) / sizeof(reconciles[0]); i++)
        if ((rc = reconcile(L, &reconciles[i], err)) != 0)
            return rc;
    if (L->o->ratings && (rc = reconcile(L, &reconcile_reviews, err)) != 0)
        return rc;
    for (i = 0; L->o->pages && i < 2; i++)
        if ((rc = reconcile(L, &reconcile_pages[i], err)) != 0)
            return rc;
    if (pf_time_iso_utc(now, iso) != 0)
        return 0;
    if (store_begin(L->s, err) != 0)
        return -1;
    if (store_set_bookmark(L->s, "lse:reconciled", iso, err) != 0 ||
        store_commit(L->s, err) != 0) {
        store_rollback(L->s);
        return -1;
    }
    return 0;
}

/* ---- planning ----------------------------------------------------------- */

/* N with thousands separators ("14,200"). */
static void
thousands(int64_t n, char out[32])
{
    char raw[32];
    int len, i, o = 0;

    len = snprintf(raw, sizeof(raw), "%" PRId64, n);
    for (i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = raw[i];
    }
    out[o] = '\0';
}

/* How many records a stream's next pass lists (count.json with its
 * filters); -1 when the answer says nothing usable. */
static int
count_of(struct lse *L, const char *res, const char *bkey,
         const char *extra, int64_t *n, struct pf_err *err)
{
    struct pager pg = {0};
    struct stream_def d = {0};
    struct pf_buf b;
    cJSON *doc = NULL;
    char iso[32];
    int rc;

    d.stream = bkey;
    d.incremental = 1;
    pg.d = &d;
    if (pager_start(L, &pg, err) != 0)
        return -1;
    pf_buf_init(&b);
    pf_buf_addf(&b, "%s/count.json?since_id=%" PRId64, res, pg.last_id);
    if (pg.since > 0 && pf_time_iso_utc(pg.since, iso) == 0) {
        char *e = http_escape(iso);

        pf_buf_addf(&b, "&updated_at_min=%s", e);
        free(e);
    }
    if (extra != NULL)
        pf_buf_addf(&b, "&%s", extra);
    rc = lse_get(L, b.data, res, 0, &doc, err);
    pf_buf_free(&b);
    if (rc == 0 && lse_int(doc, "count", n) != 1)
        *n = 0;
    cJSON_Delete(doc);
    return rc;
}

/* Before the big streams: when the work planned exceeds what the day's
 * quota has left, say how long it will take. */
static int
plan(struct lse *L, const char *orders_extra, struct pf_err *err)
{
    int64_t n, total = 0, orders = 0;
    char a[32], b[32];
    double left, per_hour;
    int rc;

    if ((rc = count_of(L, "products", "products", NULL, &n, err)) != 0)
        return rc;
    /* A changed product's images, filter values and attributes cost a
     * request each. */
    total += (n + LSE_PAGE - 1) / LSE_PAGE +
        n * (1 + L->o->filters + L->o->attributes);
    if ((rc = count_of(L, "variants", "variants", NULL, &n, err)) != 0)
        return rc;
    total += (n + LSE_PAGE - 1) / LSE_PAGE;
    if ((rc = count_of(L, "orders", "orders", orders_extra, &orders,
                       err)) != 0)
        return rc;
    /* Every listed order may need its lines: one request each; and a
     * dozen listings of small resources. */
    total += (orders + LSE_PAGE - 1) / LSE_PAGE + orders + 12 +
        3 * L->o->tags;
    left = ratelimit_windows_left(&L->rl);
    log_debug("Lightspeed eCom: about %" PRId64 " requests planned, %.0f "
              "left today", total, left);
    if (left < 0 || total <= left || L->rl.n < 2)
        return 0;
    per_hour = L->rl.limit[1];
    thousands(total, a);
    thousands((int64_t)per_hour, b);
    log_info("Lightspeed eCom: ~%s requests to make, more than the %.0f "
             "the API key has left today; at %s/h this takes about %.0f h "
             "(each run continues where the last one stopped)", a, left, b,
             total / per_hour < 1 ? 1 : total / per_hour);
    return 0;
}

/* ---- the run ------------------------------------------------------------ */

/* "Authorization: Basic base64(key:secret)"; the plain pair is wiped. */
static char *
basic_auth(const char *key, const char *secret)
{
    char *pair = xasprintf("%s:%s", key, secret);
    size_t n = strlen(pair);
    unsigned char *b64 = xmalloc(4 * ((n + 2) / 3) + 1);
    char *hdr;

    EVP_EncodeBlock(b64, (const unsigned char *)pair, (int)n);
    hdr = xasprintf("Authorization: Basic %s", (const char *)b64);
    memset(pair, 0, n);
    memset(b64, 0, 4 * ((n + 2) / 3));
    free(pair);
    free(b64);
    return hdr;
}

/* Orders are listed from the lookback on: older ones feed nothing. */
static char *
orders_filter(const struct lse_opts *o)
{
    char iso[32], *e, *q;

    if (o->orders_since <= 0 || pf_time_iso_utc(o->orders_since, iso) != 0)
        return NULL;
    e = http_escape(iso);
    q = xasprintf("created_at_min=%s", e);
    free(e);
    return q;
}

static int
lse_open(struct lse *L, struct store *s, const struct lse_opts *o,
         int full, struct sync_report *rep, struct pf_err *err)
{
    size_t n;

    memset(L, 0, sizeof(*L));
    L->o = o;
    L->s = s;
    L->rep = rep;
    L->full = full;
    L->decimals = pf_currency_decimals(o->currency);
    pf_arena_init(&L->arena);
    ratelimit_windows_init(&L->rl);
    if (o->api_url == NULL || o->language == NULL || o->api_key == NULL ||
        o->api_secret == NULL) {
        pf_errf(err, "[source] lightspeed-ecom needs cluster or api_url, "
                "language, api_key and api_secret");
        return -1;
    }
    if (o->http != NULL)
        L->hopts = *o->http;
    L->hopts.pass_429 = 1;
    if (o->timeout_s > 0)
        L->hopts.timeout_s = o->timeout_s;
    if (o->retry_budget_s > 0)
        L->hopts.retry_budget_s = o->retry_budget_s;
    if (http_client_new(&L->hopts, &L->http, err) != 0)
        return -1;
    n = strlen(o->api_url);
    while (n > 0 && o->api_url[n - 1] == '/')
        n--;
    L->base = xasprintf("%.*s/%s/", (int)n, o->api_url, o->language);
    L->auth = basic_auth(o->api_key, o->api_secret);
    L->orders_filter = orders_filter(o);
    return 0;
}

static void
lse_close(struct lse *L)
{
    const struct http_stats *st;

    if (L->http != NULL && L->rep != NULL) {
        st = http_client_stats(L->http);
        log_info("lightspeed-ecom: %ld requests, %ld retries, %ld answered "
                 "429, %.1f s waiting on the rate limit", st->requests,
                 st->retries, st->status_429, L->rl_waited + st->waited_s);
    }
    http_client_free(L->http);
    if (L->auth != NULL)
        memset(L->auth, 0, strlen(L->auth));
    free(L->auth);
    free(L->base);
    free(L->domain);
    free(L->location);
    free(L->orders_filter);
    lse_details_free(L);
    lse_names_free(L);
    pf_arena_free(&L->arena);
}

/* ---- streams in order ---------------------------------------------------
 * Each returns 0 done, 1 the day's quota ran out, -1 failed. */

static int
st_shop(struct lse *L, struct pf_err *err)
{
    int rc = pull_shop(L, err);

    return rc != 0 ? rc : plan(L, L->orders_filter, err);
}

static int
st_brands(struct lse *L, struct pf_err *err)
{
    int rc;

    lse_names_free(L);
    if ((rc = pull(L, &s_brands, err)) != 0 ||
        (rc = pull(L, &s_suppliers, err)) != 0)
        return rc;
    if (L->o->filters && (rc = pull(L, &s_filters, err)) != 0)
        return rc;
    if (!L->o->tags)
        return 0;
    /* Products read lse_tags as they land; the titles are reference
     * data like the brands. */
    if (store_exec(L->s, "CREATE TABLE IF NOT EXISTS lse_tags (link "
                   "INTEGER PRIMARY KEY, product_id TEXT NOT NULL, tag_id "
                   "TEXT NOT NULL); CREATE INDEX IF NOT EXISTS "
                   "lse_tags_product ON lse_tags(product_id)", err) != 0)
        return -1;
    return pull(L, &s_tags, err);
}

static int
st_products(struct lse *L, struct pf_err *err)
{
    int rc = pull(L, &s_products, err);

    L->catalog_changed += L->fresh;
    return rc;
}

static int
st_variants(struct lse *L, struct pf_err *err)
{
    int rc = pull(L, &s_variants, err);

    L->catalog_changed += L->fresh;
    return rc;
}

static int
st_links(struct lse *L, struct pf_err *err)
{
    return pull_links(L, L->catalog_changed, err);
}

/* count.json of tags/products (since_id = after; 0 all). */
static int
taglinks_count(struct lse *L, int64_t after, int64_t *n,
               struct pf_err *err)
{
    char path[96];
    cJSON *doc = NULL;
    int rc;

    snprintf(path, sizeof(path), "tags/products/count.json?since_id=%"
             PRId64, after);
    rc = lse_get(L, path, "tags_products", 0, &doc, err);
    if (rc == 0 && lse_int(doc, "count", n) != 1) {
        pf_errf(err, "Lightspeed eCom tags/products/count.json: the "
                "answer has no 'count'");
        rc = -1;
    }
    cJSON_Delete(doc);
    return rc;
}

/* An integer the store answers (MAX(link) of lse_tags); 0 for NULL. */
static int
store_int(struct lse *L, const char *sql, int64_t *out, struct pf_err *err)
{
    sqlite3_stmt *st = store_stmt(L->s, sql, err);
    int r;

    if (st == NULL)
        return -1;
    *out = 0;
    r = store_step(L->s, st, err, "reading %s", "lse_tags");
    if (r == 1)
        *out = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return r < 0 ? -1 : 0;
}

/* The tag titles as a hash (hex): a renamed, added or removed tag
 * changes it. FNV-1a over "id\ttitle\n" in the listing's order. */
static void
tag_names_hash(const struct lse *L, char out[17])
{
    uint64_t h = UINT64_C(14695981039346656037);
    size_t i;
    const char *p;

    for (i = 0; i < L->nnames[LSE_TAGS]; i++) {
        const char *parts[2];
        int k;

        parts[0] = L->names[LSE_TAGS][i].id;
        parts[1] = L->names[LSE_TAGS][i].name;
        for (k = 0; k < 2; k++) {
            for (p = parts[k]; *p != '\0'; p++)
                h = (h ^ (unsigned char)*p) * UINT64_C(1099511628211);
            h = (h ^ (unsigned char)(k == 0 ? '\t' : '\n')) *
                UINT64_C(1099511628211);
        }
    }
    snprintf(out, 17, "%016" PRIx64, h);
}

/* Whether the tags/products join moved since lse_tags was stored there:
 * a new link has an id above the highest stored, a removed one lowers
 * the count (the join has no timestamps, and links change no product's
 * updatedAt). sig is "COUNT" as listed now. 0 (*moved set), 1 quota,
 * -1 failed. */
static int
taglinks_moved(struct lse *L, const char *old, char sig[32], int *moved,
               struct pf_err *err)
{
    int64_t total = 0, fresh = 0, top;
    int rc;

    if (store_int(L, "SELECT MAX(link) FROM lse_tags", &top, err) != 0)
        return -1;
    if ((rc = taglinks_count(L, 0, &total, err)) != 0 ||
        (rc = taglinks_count(L, top, &fresh, err)) != 0)
        return rc;
    snprintf(sig, 32, "%" PRId64, total);
    *moved = L->full || old == NULL || strcmp(old, sig) != 0 || fresh > 0;
    return 0;
}

/* Tags: the join is read whole only when it moved (or on --full); a
 * renamed tag alone rewrites the products' tags without re-reading it.
 * The new links, the products' tags and both marks land together. */
static int
st_tags(struct lse *L, struct pf_err *err)
{
    char sig[32], names[17], *old_sig = NULL, *old_names = NULL;
    int moved = 0, rc = -1;

    if (!L->o->tags)
        return 0;
    L->stream = "tags_products";
    if (store_get_bookmark(L->s, "lse:tags_products", &old_sig, err) != 0 ||
        store_get_bookmark(L->s, "lse:tag_names", &old_names, err) != 0)
        goto cleanup;
    if ((rc = taglinks_moved(L, old_sig, sig, &moved, err)) != 0)
        goto cleanup;
    tag_names_hash(L, names);
    if (!moved && old_names != NULL && strcmp(old_names, names) == 0)
        goto cleanup;
    rc = -1;
    if (moved) {
        if (store_exec(L->s, "CREATE TEMP TABLE IF NOT EXISTS "
                       "lse_tags_new (link INTEGER PRIMARY KEY, product_id "
                       "TEXT NOT NULL, tag_id TEXT NOT NULL); DELETE FROM "
                       "lse_tags_new", err) != 0)
            goto cleanup;
        if ((rc = pull(L, &s_taglinks, err)) != 0)
            goto cleanup;
        rc = -1;
    }
    if (store_begin(L->s, err) != 0)
        goto cleanup;
    if (lse_tags_apply(L, moved, err) != 0 ||
        store_set_bookmark(L->s, "lse:tags_products", sig, err) != 0 ||
        store_set_bookmark(L->s, "lse:tag_names", names, err) != 0 ||
        store_commit(L->s, err) != 0) {
        store_rollback(L->s);
        goto cleanup;
    }
    rc = 0;

cleanup:
    free(old_sig);
    free(old_names);
    return rc;
}

static int
st_customers(struct lse *L, struct pf_err *err)
{
    return pull(L, &s_customers, err);
}

static int
st_orders(struct lse *L, struct pf_err *err)
{
    struct stream_def orders = {
        "orders", "orders", "orders", "order", lse_order_row, 1,
        lse_order_fetch, 0, NULL
    };

    orders.extra = L->orders_filter;
    /* Which version of each order its stored lines are from. */
    if (store_exec(L->s, "CREATE TABLE IF NOT EXISTS lse_orders (id TEXT "
                   "PRIMARY KEY, version TEXT)", err) != 0)
        return -1;
    return pull(L, &orders, err);
}

static int
st_shipments(struct lse *L, struct pf_err *err)
{
    return pull(L, &s_shipments, err);
}

static int
st_returns(struct lse *L, struct pf_err *err)
{
    return pull(L, &s_returns, err);
}

static int
st_reviews(struct lse *L, struct pf_err *err)
{
    return L->o->ratings ? pull(L, &s_reviews, err) : 0;
}

static int
st_pages(struct lse *L, struct pf_err *err)
{
    int rc;

    if (!L->o->pages)
        return 0;
    if ((rc = pull(L, &s_blogs, err)) != 0)
        return rc;
    rc = pull(L, &s_textpages, err);
    return rc != 0 ? rc : pull(L, &s_articles, err);
}

typedef int (*lse_stream_fn)(struct lse *L, struct pf_err *err);

/* In the order they depend on each other: links need products and
 * categories, variants their products, orders their customers, lines
 * their variants, shipments and returns their orders, reviews their
 * products. Deletions last, so a run short of quota skips them. */
static const lse_stream_fn lse_stream_fns[] = {
    st_shop, pull_categories, st_brands, st_products, st_variants,
    st_links, st_tags, st_customers, st_orders, st_shipments, st_returns,
    st_reviews, st_pages, pull_deletions
};

/* One stream; once the quota ran out the rest are skipped, with one
 * warning (the run itself succeeds: what landed is whole). */
static int
lse_step(struct lse *L, size_t i, struct pf_err *err)
{
    int rc;

    if (L->quota_out)
        return 0;
    rc = lse_stream_fns[i](L, err);
    if (rc == 1) {
        sync_warn(L->rep, L->stream != NULL ? L->stream : "shop",
                  "Lightspeed eCom: the daily API quota ran out during "
                  "'%s'; the next run continues from there",
                  L->stream != NULL ? L->stream : "shop");
        return 0;
    }
    return rc;
}

/* ---- check -------------------------------------------------------------- */

static int
languages_check(const char *want, cJSON *doc, struct pf_err *err)
{
    cJSON *arr = lse_list(doc, "languages", "language"), *l;
    struct pf_buf active;
    char buf[64];
    const char *code;
    int found = 0;

    pf_buf_init(&active);
    cJSON_ArrayForEach(l, arr) {
        code = lse_str(l, "code", buf);
        if (code == NULL || lse_bool(l, "isActive", 1) != 1)
            continue;
        if (strcmp(code, want) == 0)
            found = 1;
        pf_buf_addf(&active, "%s%s", active.len ? ", " : "", code);
    }
    if (!found)
        pf_errf(err, "[source] language = %s is not one of the shop's "
                "active languages (%s)", want,
                active.len ? active.data : "none");
    pf_buf_free(&active);
    return found ? 0 : -1;
}

/* The shop's languages through any language it answers in: the
 * configured one may itself be unknown or inactive (a 404), and then
 * the languages Lightspeed eCom offers are tried in turn. 0 ok, 2 none
 * answered, -1 failed. */
static int
languages_get(struct lse *L, const char *want, cJSON **doc,
              struct pf_err *err)
{
    static const char *const langs[] = {
        "nl", "en", "de", "fr", "es", "it", "pt", "sv", "da", "no", "pl",
        "tr", "el", "ru", "fi", NULL
    };
    char *base = L->base;
    size_t n = strlen(base) - strlen(want) - 1, i;
    int rc = lse_get(L, "languages.json", "languages", 1, doc, err);

    for (i = 0; rc == 2 && langs[i] != NULL; i++) {
        if (strcmp(langs[i], want) == 0)
            continue;
        L->base = xasprintf("%.*s%s/", (int)n, base, langs[i]);
        rc = lse_get(L, "languages.json", "languages", 0, doc, err);
        free(L->base);
        L->base = base;
        if (rc < 0 && strstr(err->msg, "HTTP 404") != NULL)
            rc = 2;
    }
    return rc;
}

static int
lse_check_opts(const struct lse_opts *o, struct pf_err *err)
{
    struct lse L;
    cJSON *doc = NULL;
    int rc = -1;

    if (lse_open(&L, NULL, o, 0, NULL, err) != 0)
        goto cleanup;
    rc = languages_get(&L, o->language, &doc, err);
    if (rc == 2)
        pf_errf(err, "[source] language = %s: the API answers 404 "
                "(unknown or inactive language)", o->language);
    if (rc == 0)
        rc = languages_check(o->language, doc, err);
    else
        rc = -1;

cleanup:
    cJSON_Delete(doc);
    lse_close(&L);
    return rc;
}

/* ---- the source type ---------------------------------------------------- */

static const char *const lse_clusters[] = {"eu1", "us1", NULL};
static const char *const lse_prices[] = {"incl", "excl", NULL};

static const struct pf_key_def lse_keys[] = {
    {"cluster", PF_KEY_CHOICE, 0, lse_clusters, 0, 0, NULL},
    {"api_url", PF_KEY_URL, 0, NULL, 0, 0, NULL},
    {"language", PF_KEY_TEXT, 1, NULL, 0, 0, NULL},
    {"api_key", PF_KEY_SECRET, 1, NULL, 0, 0, NULL},
    {"api_secret", PF_KEY_SECRET, 1, NULL, 0, 0, NULL},
    /* WxHxZoom, e.g. 300x400x1; unset = the original. */
    {"image_size", PF_KEY_TEXT, 0, NULL, 0, 0, NULL},
    {"prices", PF_KEY_CHOICE, 0, lse_prices, 0, 0, "incl"},
    {"timeout", PF_KEY_SECONDS, 0, NULL, 1, 86400, "60"},
    {"retry_time", PF_KEY_SECONDS, 0, NULL, 1, 86400, "300"},
    {NULL, PF_KEY_TEXT, 0, NULL, 0, 0, NULL}
};

/* Exactly one of cluster and api_url; the cluster names the API host.
 * image_size must be WxHxZoom; language a shop language code. */
static int
lse_finish(struct pf_source_cfg *s, int *line, struct pf_err *err)
{
    const char *cl = pf_source_str(s, "cluster");
    const char *url = pf_source_str(s, "api_url");
    const char *img = pf_source_str(s, "image_size");
    const char *lang = pf_source_str(s, "language");

    if (cl != NULL && url != NULL) {
        *line = pf_source_line(s, "api_url");
        pf_errf(err, "[source] give cluster or api_url, not both");
        return -1;
    }
    if (cl == NULL && url == NULL) {
        *line = 0;
        pf_errf(err, "[source] lightspeed-ecom needs cluster = eu1 | us1 "
                "(or api_url)");
        return -1;
    }
    if (img != NULL && !lse_image_size_ok(img)) {
        *line = pf_source_line(s, "image_size");
        pf_errf(err, "[source] image_size: '%s' is not WxHxZoom (e.g. "
                "300x400x1: width and height 1 to 5000, zoom 1 to 3)",
                img);
        return -1;
    }
    if (lang != NULL && (strlen(lang) > 10 ||
                         strspn(lang, "abcdefghijklmnopqrstuvwxyz-") !=
                         strlen(lang))) {
        *line = pf_source_line(s, "language");
        pf_errf(err, "[source] language: '%s' is not a shop language "
                "code such as nl, en or de", lang);
        return -1;
    }
    if (cl != NULL)
        return pf_source_set(s, "api_url", strcmp(cl, "us1") == 0
                             ? "https://api.shoplightspeed.com"
                             : "https://api.webshopapp.com", err);
    return 0;
}

/* A run's state: the source, its options and the secrets they point
 * to (wiped when it ends). */
struct lse_run {
    struct lse L;               /* first: the streams get a struct lse */
    struct lse_opts o;
    char *key, *secret;
};

static void
run_free(struct lse_run *r)
{
    if (r->key != NULL)
        memset(r->key, 0, strlen(r->key));
    if (r->secret != NULL)
        memset(r->secret, 0, strlen(r->secret));
    free(r->key);
    free(r->secret);
    free(r);
}

/* The earliest start of any feed's orders_lookback; 0 = all time. */
static int64_t
lookback_start(const struct pf_config *cfg)
{
    int64_t start = INT64_MAX, t;
    size_t i;

    for (i = 0; i <= cfg->nfeeds; i++) {
        const struct pf_sync_settings *ss = i < cfg->nfeeds
            ? &cfg->feeds[i].sync : &cfg->sync;

        if (ss->lookback_all ||
            pf_tz_start_of_span_ago(pf_time_now(), cfg->timezone,
                                    ss->lookback_n, ss->lookback_unit, &t,
                                    NULL) != 0)
            return 0;
        if (t < start)
            start = t;
    }
    /* A day early: the feeds count in the shop's zone, the API in UTC. */
    return start > 86400 ? start - 86400 : 0;
}

/* What [sync] or any feed asks of the source. */
static void
wanted(const struct pf_config *cfg, struct lse_opts *o)
{
    size_t i, j;

    for (i = 0; i <= cfg->nfeeds; i++) {
        const struct pf_sync_settings *ss = i < cfg->nfeeds
            ? &cfg->feeds[i].sync : &cfg->sync;

        o->ratings |= ss->include_ratings;
        o->pages |= ss->include_pages;
        o->filters |= ss->attributes == PF_ATTR_AUTO;
        o->attributes |= ss->custom_attributes.n > 0;
        for (j = 0; j < ss->custom_attributes.n; j++)
            o->tags |= strcasecmp(ss->custom_attributes.items[j],
                                  "tags") == 0;
    }
}

static int
run_new(const struct pf_config *cfg, struct lse_run **out,
        struct pf_err *err)
{
    const struct pf_source_cfg *sc = &cfg->source;
    struct lse_run *r = xcalloc(1, sizeof(*r));

    if (pf_secret_read(pf_source_secret(sc, "api_key"), &r->key, err) != 0) {
        pf_err_prefix(err, "[source] api_key");
        run_free(r);
        return -1;
    }
    if (pf_secret_read(pf_source_secret(sc, "api_secret"), &r->secret,
                       err) != 0) {
        pf_err_prefix(err, "[source] api_secret");
        run_free(r);
        return -1;
    }
    r->o.api_url = pf_source_str(sc, "api_url");
    r->o.language = pf_source_str(sc, "language");
    r->o.api_key = r->key;
    r->o.api_secret = r->secret;
    r->o.currency = cfg->currency;
    r->o.image_size = pf_source_str(sc, "image_size");
    r->o.prices_excl = strcmp(pf_source_str(sc, "prices"), "excl") == 0;
    r->o.timeout_s = pf_source_long(sc, "timeout");
    r->o.retry_budget_s = (double)pf_source_long(sc, "retry_time");
    r->o.orders_since = lookback_start(cfg);
    wanted(cfg, &r->o);
    *out = r;
    return 0;
}

static int
lse_type_open(struct source_ctx *ctx, void **state, struct pf_err *err)
{
    struct lse_run *r;

    if (run_new(ctx->cfg, &r, err) != 0)
        return -1;
    r->o.progress = ctx->progress;
    r->o.http = ctx->http;
    if (lse_open(&r->L, ctx->store, &r->o, ctx->full, ctx->rep, err) != 0) {
        lse_close(&r->L);
        run_free(r);
        return -1;
    }
    *state = r;
    return 0;
}

static void
lse_type_close(void *state, struct source_ctx *ctx)
{
    struct lse_run *r = state;

    (void)ctx;
    lse_close(&r->L);
    run_free(r);
}

#define LSE_PULL(NAME, K)                                                \
    static int NAME(void *st, struct source_ctx *c, struct pf_err *e)    \
    {                                                                    \
        (void)c;                                                         \
        return lse_step(&((struct lse_run *)st)->L, K, e);               \
    }
LSE_PULL(pull_0, 0)
LSE_PULL(pull_1, 1)
LSE_PULL(pull_2, 2)
LSE_PULL(pull_3, 3)
LSE_PULL(pull_4, 4)
LSE_PULL(pull_5, 5)
LSE_PULL(pull_6, 6)
LSE_PULL(pull_7, 7)
LSE_PULL(pull_8, 8)
LSE_PULL(pull_9, 9)
LSE_PULL(pull_10, 10)
LSE_PULL(pull_11, 11)
LSE_PULL(pull_12, 12)
LSE_PULL(pull_13, 13)

/* The names and order of lse_stream_fns. */
static const struct source_stream lse_type_streams[] = {
    {"shop", pull_0}, {"categories", pull_1}, {"brands", pull_2},
    {"products", pull_3}, {"variants", pull_4},
    {"categories_products", pull_5}, {"tags", pull_6},
    {"customers", pull_7}, {"orders", pull_8}, {"shipments", pull_9},
    {"returns", pull_10}, {"reviews", pull_11}, {"pages", pull_12},
    {"deletions", pull_13},
    {NULL, NULL}
};

/* `posfeed check`: the keys work and language is an active one. */
static int
lse_type_check(const struct pf_config *cfg, struct pf_err *err)
{
    struct lse_run *r;
    int rc;

    if (run_new(cfg, &r, err) != 0)
        return -1;
    r->o.retry_budget_s = 30;
    rc = lse_check_opts(&r->o, err);
    run_free(r);
    return rc;
}

/* ---- counting (posfeed verify) ------------------------------------------
 * Sync stores every order and every return (as a refund order) created
 * since the lookback, whatever its status, so the POS's count for a day
 * is orders/count.json plus returns/count.json over the part of the day
 * after the lookback start. created_at_min/max are inclusive and times
 * have whole seconds, so a day [from, to) asks up to to - 1 (the
 * emulator's notes, section 3; source-apis.md 2.3). Requests go through
 * lse_get, so they are paced like sync's. */

static int
count_res(struct lse *L, const char *res, int64_t from, int64_t to,
          int64_t *n, struct pf_err *err)
{
    char lo[32], hi[32], *elo, *ehi, *path;
    const cJSON *c;
    cJSON *doc = NULL;
    int rc;

    pf_time_iso_utc(from, lo);
    pf_time_iso_utc(to - 1, hi);
    elo = http_escape(lo);
    ehi = http_escape(hi);
    path = xasprintf("%s/count.json?created_at_min=%s&created_at_max=%s",
                     res, elo, ehi);
    rc = lse_get(L, path, res, 0, &doc, err);
    if (rc == 1)
        pf_errf(err, "Lightspeed eCom %s: the day's request quota is used "
                "up; try again tomorrow", res);
    c = rc == 0 ? cJSON_GetObjectItemCaseSensitive(doc, "count") : NULL;
    if (rc == 0 && (!cJSON_IsNumber(c) || c->valuedouble < 0)) {
        pf_errf(err, "Lightspeed eCom %s/count.json: no count in the "
                "answer", res);
        rc = -1;
    }
    if (rc == 0)
        *n += (int64_t)c->valuedouble;
    cJSON_Delete(doc);
    free(path);
    free(elo);
    free(ehi);
    return rc == 0 ? 0 : -1;
}

static int
lse_count_orders(const struct pf_config *cfg, const int64_t *bounds,
                 size_t ndays, int64_t *counts, struct pf_err *err)
{
    struct lse_run *r;
    size_t d;
    int rc = -1;

    memset(counts, 0, ndays * sizeof(*counts));
    if (run_new(cfg, &r, err) != 0)
        return -1;
    if (lse_open(&r->L, NULL, &r->o, 0, NULL, err) != 0)
        goto cleanup;
    for (d = 0; d < ndays; d++) {
        int64_t from = bounds[d] > r->o.orders_since ? bounds[d]
                                                     : r->o.orders_since;

        if (from >= bounds[d + 1])
            continue;               /* before the lookback: never synced */
        if (count_res(&r->L, "orders", from, bounds[d + 1], &counts[d],
                      err) != 0 ||
            count_res(&r->L, "returns", from, bounds[d + 1], &counts[d],
                      err) != 0)
            goto cleanup;
    }
    rc = 0;
cleanup:
    lse_close(&r->L);
    run_free(r);
    return rc;
}

const struct source_type source_lse_type = {
    .name = "lightspeed-ecom",
    .keys = lse_keys,
    .finish = lse_finish,
    .open = lse_type_open,
    .streams = lse_type_streams,
    .close = lse_type_close,
    .check = lse_type_check,
    .count_orders = lse_count_orders,
};
