/* serve_page.h - the status page (HTML) and /metrics (Prometheus text),
 * rendered from the server's status document (gathered by
 * serve_report.c).
 *
 * What a page shows is what the document holds: without the token the
 * server hands over the redacted document (status_public), so neither
 * renderer has to know what is private. A document with "detail": true
 * also gets the orders chart, run errors and rows per stream.
 *
 * Ownership: both append to a caller-owned buffer and keep nothing.
 */
#ifndef PF_SERVE_PAGE_H
#define PF_SERVE_PAGE_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "serve_pool.h"
#include "util.h"

/* The page for people; now is the server's clock (for feed ages). */
void page_html(const cJSON *doc, int64_t now, struct pf_buf *b);
/* The same for a shop of many: base ("/SHOP", a name of letters,
 * digits, '_' and '-') goes before its own links. */
void page_html_at(const cJSON *doc, int64_t now, const char *base,
                  struct pf_buf *b);
/* The overview of many shops (serve_report.c: {"shops":
 * [shop_summary...], "pool": {...}, "detail": bool, "refused": [...]}).
 */
void page_shops_html(const cJSON *doc, struct pf_buf *b);

/* What /metrics reports beyond the document. */
struct page_counters {
    double runs, failed, last_ok;   /* from the store's run history */
    int running;                    /* a run is going now */
    unsigned long cut;              /* requests cut at their deadline */
    unsigned long feed_opens;       /* files opened by the feeds cache */
    unsigned long request_opens;    /* feed files opened by requests */
    unsigned long feed_refreshes;   /* times the feeds cache was re-read */
    unsigned long hits[600];        /* responses by status code */
};

void page_metrics(const cJSON *doc, const struct page_counters *pc,
                  struct pf_buf *b);

/* /metrics of a server of many shops: every per-shop family has one
 * series per shop, labelled shop="NAME" (name NULL: no label, as
 * page_metrics); server holds the HTTP counters of the whole server. */
struct page_shop {
    const char *name;
    const cJSON *doc;
    const struct page_counters *pc;
};
/* Joins several Prometheus texts whose families each start with their
 * "# HELP" line (one per shop, serve_clerk.h clerk_metrics) into one
 * where each family appears once: its HELP/TYPE from the first text that
 * has it, then every text's samples. */
void page_metrics_merge(const struct pf_buf *parts, int nparts,
                        struct pf_buf *b);
/* The pool's families (many shops). */
void page_pool_metrics(const struct pool_stats *ps, struct pf_buf *b);
void page_metrics_shops(const struct page_shop *shops, int n,
                        const struct page_counters *server,
                        struct pf_buf *b);

#endif
