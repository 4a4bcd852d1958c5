/* source_dutchie.c - see source_dutchie.h: keys, requests, pacing and
 * the run. What each record becomes is in source_dutchie_map.c. */
#include "source_dutchie_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "log.h"
#include "source.h"
#include "timeutil.h"
#include "value.h"

/* Seconds re-read before a bookmark: the API lags the POS by 1-5
 * minutes, so a record saved just before our last request may only
 * have become visible after it. */
#define DUT_OVERLAP 900
/* The widest last-modified range one request may ask for: the
 * documented cap on customers is 90 days; transactions get the same
 * conservative cut (their cap is undocumented). */
#define DUT_RANGE_CAP (89 * 86400)
/* Transactions: 31 days is the documented cap of the closing report;
 * the emulator applies it here too. Ranges are inclusive at both ends,
 * so one second less. */
#define DUT_TX_CAP (31 * 86400 - 1)
/* Where an "all time" history starts (Dutchie was founded in 2014). */
#define DUT_EPOCH INT64_C(1388534400)      /* 2014-01-01 */
/* A 200 answer that is not JSON is asked for this many times. */
#define DUT_PARSE_TRIES 3
/* Customers per page (docs: PageSize at most 100 on one page, 10000 in
 * the spec; 100 fits both). */
#define DUT_PAGE 100
/* The budgets per key and minute we design for: the lower of the
 * documented figures (docs: baseline 120, /inventory and /whoami 200,
 * reporting 60; the spec's are higher). */
static const int dut_budget[DUT_NEP] = {200, 60, 60, 120, 60};
static const char *const dut_ep_name[DUT_NEP] = {
    "/whoami", "/reporting/products", "/reporting/inventory",
    "/customer/customers-paginated", "/reporting/transactions"
};

/* ---- keys --------------------------------------------------------------- */

void
dut_fingerprint(const char *key, char fp[9])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    EVP_Digest(key, strlen(key), md, &n, EVP_sha256(), NULL);
    for (int i = 0; i < 4; i++)
        snprintf(fp + 2 * i, 3, "%02x", md[i]);
}

void
dut_keys_free(char **keys)
{
    for (size_t i = 0; keys != NULL && keys[i] != NULL; i++) {
        memset(keys[i], 0, strlen(keys[i]));
        free(keys[i]);
    }
    free(keys);
}

/* The word on one line (comment and blanks stripped): 0 none, 1 one
 * (*w, *wn set), -1 more than one. */
static int
line_word(const char *s, size_t n, const char **w, size_t *wn)
{
    const char *hash = memchr(s, '#', n);
    size_t i = 0, j;

    if (hash != NULL)
        n = (size_t)(hash - s);
    while (i < n && strchr(" \t\r", s[i]) != NULL)
        i++;
    while (n > i && strchr(" \t\r", s[n - 1]) != NULL)
        n--;
    if (i == n)
        return 0;
    for (j = i; j < n; j++)
        if (s[j] == ' ' || s[j] == '\t')
            return -1;
    *w = s + i;
    *wn = n - i;
    return 1;
}

int
dut_keys_parse(const char *text, char ***keys, size_t *n,
               struct pf_err *err)
{
    size_t cap = 4, line = 0;
    const char *p = text, *w;
    size_t wn;

    *n = 0;
    *keys = xcalloc(cap + 1, sizeof(char *));
    while (*p != '\0') {
        const char *e = strchr(p, '\n');
        size_t len = e != NULL ? (size_t)(e - p) : strlen(p);
        int r = line_word(p, len, &w, &wn);

        line++;
        if (r < 0) {
            pf_errf(err, "line %zu: one location API key per line "
                    "(a second word follows the first)", line);
            dut_keys_free(*keys);
            *keys = NULL;
            return -1;
        }
        if (r == 1) {
            if (*n == cap) {
                cap *= 2;
                *keys = xrealloc(*keys, (cap + 1) * sizeof(char *));
            }
            (*keys)[(*n)++] = xstrndup(w, wn);
            (*keys)[*n] = NULL;
        }
        p += len + (e != NULL);
    }
    return 0;
}

/* ---- pacing ------------------------------------------------------------- */

void
dut_pace_init(struct dut_pace *p, int budget, double window)
{
    memset(p, 0, sizeof(*p));
    p->budget = budget < 1 ? 1 : budget > DUT_PACE_MAX ? DUT_PACE_MAX
                                                       : budget;
    p->window = window;
}

/* The log keeps the last `budget` answers: the next request may go once
 * the oldest of them is a window old. Answer times (not send times) are
 * kept, so the server, which saw each request before we saw its answer,
 * never counts more than budget in any window of its own. */
double
dut_pace_wait(const struct dut_pace *p, double now)
{
    double oldest, wait;

    if (p->n < p->budget)
        return 0;
    oldest = p->t[p->head];
    wait = oldest + p->window + 0.05 - now;
    return wait > 0 ? wait : 0;
}

void
dut_pace_note(struct dut_pace *p, double now)
{
    if (p->n < p->budget) {
        p->t[(p->head + p->n) % p->budget] = now;
        p->n++;
        return;
    }
    p->t[p->head] = now;
    p->head = (p->head + 1) % p->budget;
}

/* ---- requests ----------------------------------------------------------- */

static char *
basic_auth(const char *key, const char *password)
{
    char *pair = xasprintf("%s:%s", key, password ? password : "");
    size_t n = strlen(pair), bn = 4 * ((n + 2) / 3) + 1;
    unsigned char *b64 = xmalloc(bn);
    char *hdr;

    EVP_EncodeBlock(b64, (const unsigned char *)pair, (int)n);
    hdr = xasprintf("Authorization: Basic %s", (const char *)b64);
    memset(pair, 0, n);
    memset(b64, 0, bn);
    free(pair);
    free(b64);
    return hdr;
}

/* "location NAME (ID), key FP" or "key FP (line N)" before /whoami. */
static void
who(const struct dut_loc *l, char *buf, size_t n)
{
    if (l->id != NULL)
        snprintf(buf, n, "location %s (%s), key %s", l->name ? l->name
                 : "?", l->id, l->fp);
    else
        snprintf(buf, n, "key %s (line %d of the keys file)", l->fp,
                 l->line);
}

/* The error of an answer that is not 200: 401 has an empty body; 400
 * and 422 carry plain text or a JSON message worth showing. */
static void
answer_error(const struct dut_loc *l, enum dut_ep ep,
             const struct http_resp *r, struct pf_err *err)
{
    char w[256], body[201];
    size_t i, n = r->len < 200 ? r->len : 200;

    who(l, w, sizeof(w));
    for (i = 0; i < n; i++)
        body[i] = (r->body[i] >= 0x20 && r->body[i] < 0x7f) ? r->body[i]
                                                            : ' ';
    body[n] = '\0';
    if (r->status == 401)
        pf_errf(err, "Dutchie %s: key rejected for %s (HTTP 401): check "
                "the key in the keys file and [source] integrator_key",
                dut_ep_name[ep], w);
    else if (r->status == 403)
        pf_errf(err, "Dutchie %s: HTTP 403 for %s: the key lacks the "
                "role this endpoint needs; ask Dutchie support to add it",
                dut_ep_name[ep], w);
    else
        pf_errf(err, "Dutchie %s: HTTP %ld for %s%s%s", dut_ep_name[ep],
                r->status, w, n ? ": " : "", body);
}

static void
pace(struct dut *D, struct dut_loc *l, enum dut_ep ep)
{
    double wait = dut_pace_wait(&l->pace[ep], http_now(D->http));

    if (wait <= 0)
        return;
    log_debug("dutchie %s: %.1f s for the key's per-minute budget",
              dut_ep_name[ep], wait);
    http_sleep(D->http, wait);
    D->paced_s += wait;
}

/* One GET: 0 ok (*out parsed), 1 the answer was not the JSON wanted
 * (worth asking again), -1 failed. */
static int
get_once(struct dut *D, struct dut_loc *l, enum dut_ep ep, const char *url,
         int want_array, cJSON **out, struct pf_err *err)
{
    const char *hdrs[3] = {l->auth, "Accept: application/json", NULL};
    struct http_resp resp;
    char w[256];
    int rc = -1;

    memset(&resp, 0, sizeof(resp));
    pace(D, l, ep);
    if (http_get(D->http, url, hdrs, &resp, err) != 0) {
        who(l, w, sizeof(w));
        pf_err_prefix(err, "Dutchie %s for %s", dut_ep_name[ep], w);
        goto cleanup;
    }
    dut_pace_note(&l->pace[ep], http_now(D->http));
    D->requests[ep]++;
    D->last_status = resp.status;
    if (resp.status != 200) {
        answer_error(l, ep, &resp, err);
        goto cleanup;
    }
    *out = cJSON_ParseWithLength(resp.body, resp.len);
    if (want_array ? cJSON_IsArray(*out) : cJSON_IsObject(*out)) {
        rc = 0;
        goto cleanup;
    }
    who(l, w, sizeof(w));
    pf_errf(err, "Dutchie %s for %s: the answer is not a JSON %s",
            dut_ep_name[ep], w, want_array ? "array" : "object");
    cJSON_Delete(*out);
    *out = NULL;
    rc = 1;

cleanup:
    http_resp_free(&resp);
    return rc;
}

int
dut_get(struct dut *D, struct dut_loc *l, enum dut_ep ep, const char *path,
        const char *query, int want_array, cJSON **out, struct pf_err *err)
{
    char *url = xasprintf("%s%s%s%s", D->o->api_url, path,
                          query ? "?" : "", query ? query : "");
    int rc, tries = 0;

    *out = NULL;
    D->last_status = 0;
    /* A 200 that is not JSON (a proxy's error page, a cut answer the
     * length did not give away) is asked for again a few times. */
    while ((rc = get_once(D, l, ep, url, want_array, out, err)) == 1 &&
           ++tries < DUT_PARSE_TRIES) {
        log_warn("%s; asking again", err->msg);
        http_sleep(D->http, 0.5 * tries);
    }
    free(url);
    return rc == 0 ? 0 : -1;
}

/* ---- opening: keys and /whoami ------------------------------------------ */

static void
locs_free(struct dut *D)
{
    for (size_t i = 0; i < D->nlocs; i++) {
        struct dut_loc *l = &D->locs[i];

        if (l->key != NULL)
            memset(l->key, 0, strlen(l->key));
        if (l->auth != NULL)
            memset(l->auth, 0, strlen(l->auth));
        free(l->key);
        free(l->auth);
        free(l->id);
        free(l->name);
        free(l->lsp_id);
        free(l->lsp_name);
    }
    free(D->locs);
    D->locs = NULL;
    D->nlocs = 0;
}

/* The line of each of the n keys in text, for messages. */
static void
key_lines(const char *text, struct dut_loc *locs, size_t n)
{
    const char *p = text, *w;
    size_t wn, i = 0;
    int line = 0;

    while (*p != '\0' && i < n) {
        const char *e = strchr(p, '\n');
        size_t len = e != NULL ? (size_t)(e - p) : strlen(p);

        line++;
        if (line_word(p, len, &w, &wn) == 1)
            locs[i++].line = line;
        p += len + (e != NULL);
    }
}

/* Reads the keys file into D->locs (with their lines). */
static int
read_keys(struct dut *D, struct pf_err *err)
{
    char *text = NULL, **keys = NULL;
    size_t len, n, i;
    int rc = -1;

    if (pf_read_file(D->o->keys_file, 1 << 20, &text, &len, err) != 0) {
        pf_err_prefix(err, "[source] location_keys_file");
        return -1;
    }
    if (dut_keys_parse(text, &keys, &n, err) != 0) {
        pf_err_prefix(err, "%s", D->o->keys_file);
        goto cleanup;
    }
    if (n == 0) {
        pf_errf(err, "%s: no location API key in the file",
                D->o->keys_file);
        goto cleanup;
    }
    D->locs = xcalloc(n, sizeof(*D->locs));
    D->nlocs = n;
    for (i = 0; i < n; i++) {
        struct dut_loc *l = &D->locs[i];

        l->key = keys[i];
        keys[i] = xstrdup("");
        dut_fingerprint(l->key, l->fp);
        l->auth = basic_auth(l->key, D->o->integrator);
        l->page_base = -1;
        for (int e = 0; e < DUT_NEP; e++)
            dut_pace_init(&l->pace[e], dut_budget[e], D->o->window_s);
    }
    key_lines(text, D->locs, n);
    rc = 0;

cleanup:
    memset(text, 0, len);
    free(text);
    dut_keys_free(keys);
    return rc;
}

static char *
whoami_str(const cJSON *o, const char *key)
{
    char buf[64];
    const char *s = dut_str(o, key, buf);

    return s != NULL ? xstrdup(s) : NULL;
}

/* GET /whoami for every key; the parent is lspId (companyId on the
 * PascalCase variant some accounts see). */
static int
whoami_all(struct dut *D, struct pf_err *err)
{
    for (size_t i = 0; i < D->nlocs; i++) {
        struct dut_loc *l = &D->locs[i];
        cJSON *doc;

        if (dut_get(D, l, DUT_EP_WHOAMI, "/whoami", NULL, 0, &doc,
                    err) != 0)
            return -1;
        l->id = whoami_str(doc, "locationId");
        l->name = whoami_str(doc, "locationName");
        l->lsp_id = whoami_str(doc, "lspId");
        if (l->lsp_id == NULL)
            l->lsp_id = whoami_str(doc, "companyId");
        l->lsp_name = whoami_str(doc, "lspName");
        if (l->lsp_name == NULL)
            l->lsp_name = whoami_str(doc, "companyName");
        cJSON_Delete(doc);
        if (l->id == NULL) {
            pf_errf(err, "Dutchie /whoami for key %s (line %d of the keys "
                    "file): the answer has no locationId", l->fp, l->line);
            return -1;
        }
        if (l->name == NULL)
            l->name = xstrdup(l->id);
    }
    return 0;
}

/* One parent, distinct keys, distinct locations. */
static int
locs_validate(const struct dut *D, struct pf_err *err)
{
    for (size_t i = 0; i < D->nlocs; i++) {
        const struct dut_loc *a = &D->locs[i];

        for (size_t j = 0; j < i; j++) {
            const struct dut_loc *b = &D->locs[j];

            if (strcmp(a->key, b->key) == 0) {
                pf_errf(err, "%s: lines %d and %d hold the same key (%s)",
                        D->o->keys_file, b->line, a->line, a->fp);
                return -1;
            }
            if (strcmp(a->id, b->id) == 0) {
                pf_errf(err, "%s: keys %s (line %d) and %s (line %d) are "
                        "both for location %s (%s): one key per location",
                        D->o->keys_file, b->fp, b->line, a->fp, a->line,
                        a->name, a->id);
                return -1;
            }
        }
        if (i > 0 && !pf_strcaseeq(a->lsp_id ? a->lsp_id : "",
                                   D->locs[0].lsp_id ? D->locs[0].lsp_id
                                                     : "")) {
            pf_errf(err, "%s: key %s (line %d, location %s) belongs to "
                    "parent %s (%s), key %s (line %d) to parent %s (%s): "
                    "one posfeed store per parent retailer",
                    D->o->keys_file, a->fp, a->line, a->name,
                    a->lsp_name ? a->lsp_name : "?",
                    a->lsp_id ? a->lsp_id : "?", D->locs[0].fp,
                    D->locs[0].line, D->locs[0].lsp_name ?
                    D->locs[0].lsp_name : "?", D->locs[0].lsp_id ?
                    D->locs[0].lsp_id : "?");
            return -1;
        }
    }
    return 0;
}

static int
dut_open(struct dut *D, struct store *s, const struct dut_opts *o,
         int full, struct sync_report *rep, struct pf_err *err)
{
    memset(D, 0, sizeof(*D));
    D->o = o;
    D->s = s;
    D->rep = rep;
    D->full = full;
    D->decimals = pf_currency_decimals(o->currency);
    pf_arena_init(&D->arena);
    if (o->http != NULL)
        D->hopts = *o->http;
    if (o->timeout_s > 0)
        D->hopts.timeout_s = o->timeout_s;
    if (o->retry_budget_s > 0)
        D->hopts.retry_budget_s = o->retry_budget_s;
    if (D->hopts.backoff_cap_s <= 0)
        D->hopts.backoff_cap_s = 30;
    if (http_client_new(&D->hopts, &D->http, err) != 0)
        return -1;
    if (read_keys(D, err) != 0 || whoami_all(D, err) != 0 ||
        locs_validate(D, err) != 0)
        return -1;
    return 0;
}

static void
dut_close(struct dut *D)
{
    if (D->http != NULL) {
        const struct http_stats *st = http_client_stats(D->http);

        if (D->s != NULL)
            log_info("dutchie: %ld requests (%ld retried, %ld answered "
                     "429), %.1f s paced, %.1f s waited on retries",
                     st->requests, st->retries, st->status_429,
                     D->paced_s, st->waited_s);
        http_client_free(D->http);
    }
    locs_free(D);
    pf_arena_free(&D->arena);
}

/* ---- ranges ------------------------------------------------------------- */

void
dut_store_failed(struct dut *D, const struct pf_err *e)
{
    if (!D->serr_set) {
        D->serr = *e;
        D->serr_set = 1;
    }
}

/* One incremental stream of one location: last-modified ranges from the
 * bookmark (or first) to the clock read before the request. */
struct range_def {
    const char *stream;             /* "products", ... */
    enum dut_ep ep;
    const char *path;
    const char *from_key, *to_key;  /* NULL to_key: open-ended */
    const char *extra;              /* more query, or NULL */
    int paginated;
    int64_t cap;                    /* widest range */
    int (*row)(struct dut *D, size_t li, cJSON *rec);
};

static int
bookmark_get(struct dut *D, const char *bkey, int64_t first, int64_t *from,
             struct pf_err *err)
{
    char *bm = NULL;
    char *end;
    long long v;

    *from = first;
    if (store_get_bookmark(D->s, bkey, &bm, err) != 0)
        return -1;
    if (bm != NULL && !D->full) {
        v = strtoll(bm, &end, 10);
        if (*end == '\0' && v > DUT_OVERLAP)
            *from = (int64_t)v - DUT_OVERLAP;
    }
    free(bm);
    return 0;
}

/* The records of one request into the store; the caller holds the
 * transaction. A bad record is a warning; a store error fails it. */
static int
rows_apply(struct dut *D, const struct range_def *d, size_t li, cJSON *arr,
           int64_t *rows, struct pf_err *err)
{
    cJSON *rec;

    cJSON_ArrayForEach(rec, arr) {
        int r;

        if (!cJSON_IsObject(rec))
            continue;
        r = d->row(D, li, rec);
        pf_arena_reset(&D->arena);
        if (r == DUT_ROW_FAIL) {
            if (D->serr_set)
                *err = D->serr;
            else
                pf_errf(err, "dutchie %s: store failed", d->stream);
            return -1;
        }
        if (r == DUT_ROW_OK)
            (*rows)++;
    }
    return 0;
}

/* GET one range (every page of it), each answer applied in the open
 * transaction. Pages count from 0 in the spec and from 1 in the docs: a
 * 400 on page 0 (below the first page) switches the location to 1. */
static int
range_fetch(struct dut *D, const struct range_def *d, size_t li,
            const char *q, int64_t *rows, struct pf_err *err)
{
    struct dut_loc *l = &D->locs[li];
    int page = l->page_base < 0 ? 0 : l->page_base;

    for (;;) {
        char *query = d->paginated
            ? xasprintf("%s&PageNumber=%d&PageSize=%d", q, page, DUT_PAGE)
            : xstrdup(q);
        cJSON *arr;
        int n, rc;

        rc = dut_get(D, l, d->ep, d->path, query, 1, &arr, err);
        free(query);
        if (rc != 0 && d->paginated && l->page_base < 0 && page == 0 &&
            D->last_status == 400) {
            l->page_base = page = 1;
            continue;
        }
        if (rc != 0)
            return -1;
        if (d->paginated && l->page_base < 0)
            l->page_base = 0;
        n = cJSON_GetArraySize(arr);
        rc = rows_apply(D, d, li, arr, rows, err);
        cJSON_Delete(arr);
        if (rc != 0 || !d->paginated || n < DUT_PAGE)
            return rc;
        page++;
    }
}

static char *
range_query(const struct range_def *d, int64_t from, int64_t to)
{
    char f[32], t[32];

    pf_time_iso_utc(from, f);
    pf_time_iso_utc(to, t);
    if (d->to_key == NULL)
        return xasprintf("%s=%s%s%s", d->from_key, f, d->extra ? "&" : "",
                         d->extra ? d->extra : "");
    return xasprintf("%s=%s&%s=%s%s%s", d->from_key, f, d->to_key, t,
                     d->extra ? "&" : "", d->extra ? d->extra : "");
}

/* One range in one transaction with the bookmark set to its end. */
static int
range_txn(struct dut *D, const struct range_def *d, size_t li,
          const char *bkey, int64_t from, int64_t to, int64_t *rows,
          struct pf_err *err)
{
    char *q = range_query(d, from, to);
    char bm[32];
    int rc = -1;

    D->serr_set = 0;
    if (store_begin(D->s, err) != 0)
        goto cleanup;
    if (range_fetch(D, d, li, q, rows, err) != 0) {
        store_rollback(D->s);
        goto cleanup;
    }
    snprintf(bm, sizeof(bm), "%" PRId64, to);
    if (store_set_bookmark(D->s, bkey, bm, err) != 0) {
        store_rollback(D->s);
        goto cleanup;
    }
    rc = store_commit(D->s, err);

cleanup:
    free(q);
    return rc;
}

static int
pull_ranges(struct dut *D, const struct range_def *d, size_t li,
            int64_t first, struct pf_err *err)
{
    char bkey[160];
    int64_t from, to, now, rows = 0;

    snprintf(bkey, sizeof(bkey), "dutchie:%s:%s", D->locs[li].id,
             d->stream);
    if (bookmark_get(D, bkey, first, &from, err) != 0)
        return -1;
    for (;;) {
        now = pf_time_now();
        /* Open-ended listings take the whole rest at once. */
        to = d->to_key == NULL || now - from <= d->cap
            ? now : from + d->cap;
        if (range_txn(D, d, li, bkey, from, to, &rows, err) != 0) {
            pf_err_prefix(err, "location %s", D->locs[li].name);
            return -1;
        }
        if (to == now)
            break;
        from = to;
    }
    sync_rows(D->rep, d->stream, rows, 0);
    return 0;
}

/* ---- streams ------------------------------------------------------------ */

static int
st_locations(struct dut *D, struct pf_err *err)
{
    if (store_begin(D->s, err) != 0)
        return -1;
    if (dut_tables(D, err) != 0) {
        store_rollback(D->s);
        return -1;
    }
    for (size_t i = 0; i < D->nlocs; i++) {
        if (dut_location_put(D, &D->locs[i], err) != 0) {
            store_rollback(D->s);
            return -1;
        }
        log_info("dutchie: location %s (%s) of %s, key %s",
                 D->locs[i].name, D->locs[i].id, D->locs[i].lsp_name ?
                 D->locs[i].lsp_name : "?", D->locs[i].fp);
    }
    sync_rows(D->rep, "locations", (int64_t)D->nlocs, 0);
    return store_commit(D->s, err);
}

static const struct range_def r_products = {
    "products", DUT_EP_PRODUCTS, "/reporting/products",
    "fromLastModifiedDateUTC", NULL, NULL, 0, 0, dut_product_row
};
static const struct range_def r_customers = {
    "customers", DUT_EP_CUSTOMERS, "/customer/customers-paginated",
    "fromLastModifiedDateUTC", "toLastModifiedDateUTC",
    "includeAnonymous=false", 1, DUT_RANGE_CAP, dut_customer_row
};
static const struct range_def r_orders = {
    "orders", DUT_EP_TRANSACTIONS, "/reporting/transactions",
    "FromLastModifiedDateUTC", "ToLastModifiedDateUTC",
    "IncludeDetail=true", 0, DUT_TX_CAP, dut_transaction_row
};

static int
st_ranges(struct dut *D, const struct range_def *d, int64_t first,
          struct pf_err *err)
{
    for (size_t i = 0; i < D->nlocs; i++)
        if (pull_ranges(D, d, i, first, err) != 0)
            return -1;
    return 0;
}

/* Inventory: a snapshot per location, applied whole. */
static int
st_stock(struct dut *D, struct pf_err *err)
{
    for (size_t i = 0; i < D->nlocs; i++) {
        cJSON *arr;
        int rc;

        if (dut_get(D, &D->locs[i], DUT_EP_INVENTORY,
                    "/reporting/inventory", NULL, 1, &arr, err) != 0)
            return -1;
        rc = store_begin(D->s, err);
        if (rc == 0 && dut_stock_apply(D, i, arr, err) != 0) {
            store_rollback(D->s);
            rc = -1;
        }
        if (rc == 0)
            rc = store_commit(D->s, err);
        sync_rows(D->rep, "stock", cJSON_GetArraySize(arr), 0);
        cJSON_Delete(arr);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* ---- the source type ---------------------------------------------------- */

static const char *const dut_prices[] = {"rec", "med", "default", NULL};

static const struct pf_key_def dut_keys[] = {
    {"api_url", PF_KEY_URL, 0, NULL, 0, 0, "https://api.pos.dutchie.com"},
    {"location_keys_file", PF_KEY_PATH, 1, NULL, 0, 0, NULL},
    {"integrator_key", PF_KEY_SECRET, 0, NULL, 0, 0, NULL},
    {"price", PF_KEY_CHOICE, 0, dut_prices, 0, 0, "rec"},
    {"product_url", PF_KEY_TEXT, 0, NULL, 0, 0, NULL},
    {"timeout", PF_KEY_SECONDS, 0, NULL, 1, 86400, "60"},
    {"retry_time", PF_KEY_SECONDS, 0, NULL, 1, 86400, "300"},
    /* The rate-limit window in seconds (60: per minute); tests shorten
     * it together with the emulator's. */
    {"rate_window", PF_KEY_SECONDS, 0, NULL, 1, 3600, "60"},
    {NULL, PF_KEY_TEXT, 0, NULL, 0, 0, NULL}
};

static int
dut_finish(struct pf_source_cfg *s, int *line, struct pf_err *err)
{
    const char *u = pf_source_str(s, "product_url");

    if (u != NULL && strncmp(u, "http://", 7) != 0 &&
        strncmp(u, "https://", 8) != 0) {
        *line = pf_source_line(s, "product_url");
        pf_errf(err, "[source] product_url: '%s' is not an http(s) "
                "address pattern such as https://shop.example/menu/{sku}",
                u);
        return -1;
    }
    return 0;
}

/* A run's state: the source, its options and the integrator key. */
struct dut_run {
    struct dut D;               /* first: the streams get a struct dut */
    struct dut_opts o;
    char *integrator;
};

static void
run_free(struct dut_run *r)
{
    if (r->integrator != NULL)
        memset(r->integrator, 0, strlen(r->integrator));
    free(r->integrator);
    free(r);
}

/* The earliest start of any feed's orders_lookback, a day early (the
 * feeds count in the shop's zone); DUT_EPOCH for all time. */
static int64_t
lookback_start(const struct pf_config *cfg)
{
    int64_t start = INT64_MAX, t;

    for (size_t i = 0; i <= cfg->nfeeds; i++) {
        const struct pf_sync_settings *ss = i < cfg->nfeeds
            ? &cfg->feeds[i].sync : &cfg->sync;

        if (ss->lookback_all ||
            pf_tz_start_of_span_ago(pf_time_now(), cfg->timezone,
                                    ss->lookback_n, ss->lookback_unit, &t,
                                    NULL) != 0)
            return DUT_EPOCH;
        if (t < start)
            start = t;
    }
    start -= 86400;
    return start > DUT_EPOCH ? start : DUT_EPOCH;
}

static int
run_new(const struct pf_config *cfg, struct dut_run **out,
        struct pf_err *err)
{
    const struct pf_source_cfg *sc = &cfg->source;
    const struct pf_secret *ik = pf_source_secret(sc, "integrator_key");
    struct dut_run *r = xcalloc(1, sizeof(*r));
    const char *price = pf_source_str(sc, "price");

    if (ik != NULL && pf_secret_is_set(ik) &&
        pf_secret_read(ik, &r->integrator, err) != 0) {
        pf_err_prefix(err, "[source] integrator_key");
        run_free(r);
        return -1;
    }
    r->o.api_url = pf_source_str(sc, "api_url");
    r->o.keys_file = pf_source_str(sc, "location_keys_file");
    r->o.integrator = r->integrator;
    r->o.price = strcmp(price, "med") == 0 ? DUT_PRICE_MED
        : strcmp(price, "default") == 0 ? DUT_PRICE_DEFAULT
                                        : DUT_PRICE_REC;
    r->o.product_url = pf_source_str(sc, "product_url");
    r->o.currency = cfg->currency;
    r->o.timeout_s = pf_source_long(sc, "timeout");
    r->o.retry_budget_s = (double)pf_source_long(sc, "retry_time");
    r->o.window_s = (double)pf_source_long(sc, "rate_window");
    r->o.orders_since = lookback_start(cfg);
    *out = r;
    return 0;
}

static int
dut_type_open(struct source_ctx *ctx, void **state, struct pf_err *err)
{
    struct dut_run *r;

    if (run_new(ctx->cfg, &r, err) != 0)
        return -1;
    r->o.progress = ctx->progress;
    r->o.http = ctx->http;
    if (dut_open(&r->D, ctx->store, &r->o, ctx->full, ctx->rep,
                 err) != 0) {
        dut_close(&r->D);
        run_free(r);
        return -1;
    }
    *state = r;
    return 0;
}

static void
dut_type_close(void *state, struct source_ctx *ctx)
{
    struct dut_run *r = state;

    (void)ctx;
    dut_close(&r->D);
    run_free(r);
}

static int
pull_locations(void *st, struct source_ctx *c, struct pf_err *e)
{
    (void)c;
    return st_locations(&((struct dut_run *)st)->D, e);
}

static int
pull_products(void *st, struct source_ctx *c, struct pf_err *e)
{
    (void)c;
    return st_ranges(&((struct dut_run *)st)->D, &r_products, DUT_EPOCH,
                     e);
}

static int
pull_stock(void *st, struct source_ctx *c, struct pf_err *e)
{
    (void)c;
    return st_stock(&((struct dut_run *)st)->D, e);
}

static int
pull_customers(void *st, struct source_ctx *c, struct pf_err *e)
{
    (void)c;
    return st_ranges(&((struct dut_run *)st)->D, &r_customers, DUT_EPOCH,
                     e);
}

static int
pull_orders(void *st, struct source_ctx *c, struct pf_err *e)
{
    struct dut_run *r = st;

    (void)c;
    return st_ranges(&r->D, &r_orders, r->o.orders_since, e);
}

static const struct source_stream dut_type_streams[] = {
    {"locations", pull_locations}, {"products", pull_products},
    {"stock", pull_stock}, {"customers", pull_customers},
    {"orders", pull_orders},
    {NULL, NULL}
};

/* `posfeed check`: every key answers /whoami, one parent, no key or
 * location twice; each location is printed. */
static int
dut_type_check(const struct pf_config *cfg, struct pf_err *err)
{
    struct dut_run *r;
    int rc;

    if (run_new(cfg, &r, err) != 0)
        return -1;
    r->o.retry_budget_s = 30;
    rc = dut_open(&r->D, NULL, &r->o, 0, NULL, err);
    for (size_t i = 0; rc == 0 && i < r->D.nlocs; i++) {
        const struct dut_loc *l = &r->D.locs[i];

        printf("location %s: %s (parent %s, %s), key %s\n", l->id, l->name,
               l->lsp_id ? l->lsp_id : "?", l->lsp_name ? l->lsp_name
               : "?", l->fp);
    }
    fflush(stdout);
    dut_close(&r->D);
    run_free(r);
    return rc;
}

/* ---- verify: orders per day straight from the API ----------------------- */

/* Adds the transactions of arr that sync keeps as orders to their day:
 * every Retail one with an id and a date, voids (kept as "voided") and
 * returns (kept as refund orders) included, so that the POS column
 * counts what the store column counts and verify's reasons (status not
 * accepted, refunds) explain the rest. */
static void
count_day(cJSON *arr, const int64_t *bounds, size_t ndays, int64_t *counts)
{
    cJSON *t;
    char buf[64];

    cJSON_ArrayForEach(t, arr) {
        const char *type = dut_str(t, "transactionType", buf);
        char ibuf[64];
        int64_t at;
        size_t lo = 0, hi = ndays;

        if (type == NULL || !pf_strcaseeq(type, "Retail") ||
            dut_str(t, "transactionId", ibuf) == NULL ||
            dut_time(t, "transactionDate", &at) != 1 || at < bounds[0] ||
            at >= bounds[ndays])
            continue;
        while (hi - lo > 1) {
            size_t mid = (lo + hi) / 2;

            if (at >= bounds[mid])
                lo = mid;
            else
                hi = mid;
        }
        counts[lo]++;
    }
}

static int
count_loc(struct dut *D, struct dut_loc *l, const int64_t *bounds,
          size_t ndays, int64_t *counts, struct pf_err *err)
{
    int64_t from = bounds[0], to;

    while (from < bounds[ndays]) {
        char f[32], t[32], *q;
        cJSON *arr;
        int rc;

        /* [from, to - 1]: both ends are inclusive. */
        to = bounds[ndays] - from > DUT_TX_CAP ? from + DUT_TX_CAP
                                               : bounds[ndays];
        pf_time_iso_utc(from, f);
        pf_time_iso_utc(to - 1, t);
        q = xasprintf("FromDateUTC=%s&ToDateUTC=%s", f, t);
        rc = dut_get(D, l, DUT_EP_TRANSACTIONS, "/reporting/transactions",
                     q, 1, &arr, err);
        free(q);
        if (rc != 0)
            return -1;
        count_day(arr, bounds, ndays, counts);
        cJSON_Delete(arr);
        from = to;
    }
    return 0;
}

static int
dut_type_count(const struct pf_config *cfg, const int64_t *bounds,
               size_t ndays, int64_t *counts, struct pf_err *err)
{
    struct dut_run *r;
    int rc;

    if (run_new(cfg, &r, err) != 0)
        return -1;
    for (size_t i = 0; i < ndays; i++)
        counts[i] = 0;
    rc = dut_open(&r->D, NULL, &r->o, 0, NULL, err);
    for (size_t i = 0; rc == 0 && i < r->D.nlocs; i++)
        rc = count_loc(&r->D, &r->D.locs[i], bounds, ndays, counts, err);
    dut_close(&r->D);
    run_free(r);
    return rc;
}

/* Dutchie has no product pages: only product_url makes links. */
static int
dut_type_links(const struct pf_config *cfg)
{
    return pf_source_str(&cfg->source, "product_url") != NULL;
}

const struct source_type source_dutchie_type = {
    .name = "dutchie",
    .keys = dut_keys,
    .finish = dut_finish,
    .open = dut_type_open,
    .streams = dut_type_streams,
    .close = dut_type_close,
    .check = dut_type_check,
    .count_orders = dut_type_count,
    .no_sms = 1,
    .links = dut_type_links,
};
