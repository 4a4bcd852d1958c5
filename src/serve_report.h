/* serve_report.h - what `posfeed serve` shows about itself: a shop's
 * status page (HTML at /, JSON at /status.json), the overview of many
 * shops at the root, and /metrics (Prometheus text) for one shop or
 * many. This module gathers the documents (serve_shop.h shop_status and
 * shop_summary, the pool's and the server's counters) and answers; the
 * HTML and Prometheus text are serve_page.h's.
 *
 * Who may see what is decided by the caller (serve.c checks the tokens)
 * and passed as detail: without it the documents hold only what anyone
 * may see (status_public), so no renderer has to know what is private.
 *
 * Threads: request threads.
 *
 * Ownership: struct report_src points to the server's parts and owns
 * none of them; every document is made and freed within one call.
 */
#ifndef PF_SERVE_REPORT_H
#define PF_SERVE_REPORT_H

#include <microhttpd.h>

#include "serve_http.h"
#include "serve_pool.h"
#include "serve_shop.h"
#include "serve_shops.h"

/* The server's parts a report reads. */
struct report_src {
    struct resp_ctx *resp;          /* answers, and their counters */
    const struct shop_env *env;     /* the server's clock */
    struct shop *single;            /* one shop, or NULL: many */
    struct shop_set *shops;         /* many shops (single NULL) */
    struct run_pool *pool;
};

/* GET / (html) or /status.json of shop sh, whose URLs start with prefix
 * ("" or "/SHOP"). */
enum MHD_Result report_status(const struct report_src *src,
                              struct shop *sh, struct MHD_Connection *c,
                              int html, const char *prefix, int detail);

/* Many shops: GET / (html) or /status.json: one summary per shop and
 * the pool; detail (the admin token) adds config paths and refused
 * files. */
enum MHD_Result report_overview(const struct report_src *src,
                                struct MHD_Connection *c, int html,
                                int detail);

/* GET /metrics: every shop's families (labelled shop="NAME" with many
 * shops), the server's HTTP counters, the pool's (many shops) and each
 * shop's Clerk V2 families. */
enum MHD_Result report_metrics(const struct report_src *src,
                               struct MHD_Connection *c, int detail);

#endif
