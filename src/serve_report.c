/* serve_report.c - see serve_report.h. */
#include "serve_report.h"

#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "serve_clerk.h"
#include "serve_page.h"
#include "timeutil.h"
#include "util.h"

/* Sends the page b made from doc; frees both. */
static enum MHD_Result
send_page(const struct report_src *src, struct MHD_Connection *c,
          cJSON *doc, struct pf_buf *b)
{
    enum MHD_Result ret;

    cJSON_Delete(doc);
    ret = resp_buf(src->resp, c, MHD_HTTP_OK, "text/html; charset=utf-8",
                   b->data, b->len);
    pf_buf_free(b);
    return ret;
}

enum MHD_Result
report_status(const struct report_src *src, struct shop *sh,
              struct MHD_Connection *c, int html, const char *prefix,
              int detail)
{
    struct pf_buf b;
    cJSON *doc = shop_status(sh, detail, prefix);

    if (!html)
        return resp_json(src->resp, c, MHD_HTTP_OK, doc);
    pf_buf_init(&b);
    page_html_at(doc, shop_now(src->env), prefix, &b);
    return send_page(src, c, doc, &b);
}

static void
add_pool(struct run_pool *pool, cJSON *doc)
{
    struct pool_stats ps;
    cJSON *p = cJSON_AddObjectToObject(doc, "pool");

    pool_stats(pool, &ps);
    cJSON_AddNumberToObject(p, "workers", ps.workers);
    cJSON_AddNumberToObject(p, "running", ps.running);
    cJSON_AddNumberToObject(p, "queued", ps.queued);
    cJSON_AddNumberToObject(p, "started", (double)ps.started);
    cJSON_AddNumberToObject(p, "ok", (double)ps.ok);
    cJSON_AddNumberToObject(p, "failed", (double)ps.failed);
    cJSON_AddNumberToObject(p, "timed_out", (double)ps.timed_out);
    cJSON_AddNumberToObject(p, "wait_s_avg", ps.started > 0
                            ? ps.wait_s_sum / (double)ps.started : 0);
}

/* The overview of many shops: one summary each (serve_shop.h), the pool;
 * with the admin token (detail) the config paths and refused files. */
static cJSON *
overview(const struct report_src *src, int detail)
{
    cJSON *doc = cJSON_CreateObject(), *a;
    struct shop **v;
    char now[32];
    int i, n;

    cJSON_AddBoolToObject(doc, "detail", detail);
    pf_time_iso_utc(shop_now(src->env), now);
    cJSON_AddStringToObject(doc, "now", now);
    add_pool(src->pool, doc);
    a = cJSON_AddArrayToObject(doc, "shops");
    v = shops_all(src->shops, &n);
    for (i = 0; i < n; i++)
        cJSON_AddItemToArray(a, shop_summary(v[i], detail));
    shops_put_all(v, n);
    if (detail)
        cJSON_AddItemToObject(doc, "refused", shops_refused(src->shops));
    return doc;
}

enum MHD_Result
report_overview(const struct report_src *src, struct MHD_Connection *c,
                int html, int detail)
{
    struct pf_buf b;
    cJSON *doc = overview(src, detail);

    if (!html)
        return resp_json(src->resp, c, MHD_HTTP_OK, doc);
    pf_buf_init(&b);
    page_shops_html(doc, &b);
    return send_page(src, c, doc, &b);
}

/* The server's own counters into pc. */
static void
server_counters(struct resp_ctx *x, struct page_counters *pc)
{
    size_t i;

    pc->cut = atomic_load_explicit(&x->cut, memory_order_relaxed);
    for (i = 0; i < RESP_CODES; i++)
        pc->hits[i] = atomic_load_explicit(&x->hits[i],
                                           memory_order_relaxed);
}

/* What /metrics reads of a status document: its counts and feeds. The
 * rest is dropped at once, so a scrape of many shops does not hold every
 * shop's whole document (runs, bookmarks, ...) at the same time. */
static cJSON *
metrics_doc(cJSON *full)
{
    cJSON *doc = cJSON_CreateObject(), *x;

    x = cJSON_DetachItemFromObjectCaseSensitive(full, "counts");
    if (x != NULL)
        cJSON_AddItemToObject(doc, "counts", x);
    x = cJSON_DetachItemFromObjectCaseSensitive(full, "feeds");
    if (x != NULL)
        cJSON_AddItemToObject(doc, "feeds", x);
    cJSON_Delete(full);
    return doc;
}

/* Prometheus text from the same documents as the status pages, so
 * without the token it holds only public feeds and catalog rows. With
 * many shops every per-shop family is labelled shop="NAME" and the pool
 * has families of its own. */
static void
metrics_shops(const struct report_src *src, struct shop **v, int n,
              int detail, struct pf_buf *b)
{
    struct page_shop *ps = xcalloc((size_t)n + 1, sizeof(*ps));
    struct page_counters *pcs = xcalloc((size_t)n + 1, sizeof(*pcs));
    struct page_counters *all = &pcs[n];
    struct pool_stats st;
    char prefix[80];
    int i, k = 0;

    for (i = 0; i < n; i++) {
        /* A shop whose file never loaded has nothing to report yet. */
        if (!shop_loaded(v[i]))
            continue;
        snprintf(prefix, sizeof prefix, "/%s", v[i]->name);
        ps[k].name = src->single != NULL ? NULL : v[i]->name;
        ps[k].doc = metrics_doc(shop_status(v[i], detail, prefix));
        ps[k].pc = &pcs[k];
        shop_counters(v[i], &pcs[k]);
        all->feed_opens += pcs[k].feed_opens;
        all->feed_refreshes += pcs[k].feed_refreshes;
        all->request_opens += pcs[k].request_opens;
        k++;
    }
    server_counters(src->resp, all);
    page_metrics_shops(ps, k, all, b);
    if (src->single == NULL) {
        pool_stats(src->pool, &st);
        page_pool_metrics(&st, b);
    }
    for (i = 0; i < k; i++)
        cJSON_Delete((cJSON *)ps[i].doc);
    free(ps);
    free(pcs);
}

/* Each shop's Clerk V2 families, labelled, merged by family. */
static void
clerk_metrics_shops(struct shop **v, int n, struct pf_buf *b)
{
    struct pf_buf *parts = xcalloc((size_t)n + 1, sizeof(*parts));
    char label[96];
    int i;

    for (i = 0; i < n; i++) {
        pf_buf_init(&parts[i]);
        /* Shop names need no escaping: [A-Za-z0-9_-] only. */
        snprintf(label, sizeof label, "shop=\"%s\"", v[i]->name);
        clerk_metrics(v[i]->clerk, &parts[i], label);
    }
    page_metrics_merge(parts, n, b);
    for (i = 0; i < n; i++)
        pf_buf_free(&parts[i]);
    free(parts);
}

enum MHD_Result
report_metrics(const struct report_src *src, struct MHD_Connection *c,
               int detail)
{
    struct pf_buf b;
    struct shop **v, *one[1];
    enum MHD_Result ret;
    int n = 1;

    pf_buf_init(&b);
    if (src->single != NULL) {
        one[0] = src->single;
        metrics_shops(src, one, 1, detail, &b);
        clerk_metrics(src->single->clerk, &b, NULL);
    }
    else {
        v = shops_all(src->shops, &n);
        metrics_shops(src, v, n, detail, &b);
        clerk_metrics_shops(v, n, &b);
        shops_put_all(v, n);
    }
    ret = resp_buf(src->resp, c, MHD_HTTP_OK,
                   "text/plain; version=0.0.4; charset=utf-8", b.data,
                   b.len);
    pf_buf_free(&b);
    return ret;
}
