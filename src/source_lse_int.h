/* source_lse_int.h - what source_lse.c (requests, paging, the run) and
 * source_lse_map.c (records to store rows) share. Not for other modules.
 *
 * Ownership: struct lse owns its http client, auth header, base URL,
 * domain, brand map and record arena (lse_close frees them).
 */
#ifndef PF_SOURCE_LSE_INT_H
#define PF_SOURCE_LSE_INT_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "http.h"
#include "ratelimit.h"
#include "source_lse.h"
#include "store.h"
#include "util.h"

/* Names of referenced records (brands, suppliers, filters) read whole
 * each run. */
struct lse_name {
    char *id, *name;
};
enum lse_names {
    LSE_BRANDS, LSE_SUPPLIERS, LSE_FILTERS,
    LSE_BLOGS,                  /* their url slugs */
    LSE_TAGS,                   /* read when a feed names "tags" */
    LSE_NNAMES
};

/* Details fetched for the record at hand. */
enum lse_detail {
    LSE_D_LINES = 0,            /* orders/{id}/products */
    LSE_D_IMAGES = 0,           /* products/{id}/images */
    LSE_D_FILTERS,              /* products/{id}/filtervalues */
    LSE_D_ATTRS,                /* products/{id}/attributes */
    LSE_DETAILS
};

struct lse {
    const struct lse_opts *o;
    struct store *s;
    struct sync_report *rep;
    struct http_client *http;
    struct http_opts hopts;
    struct ratelimit_windows rl;
    char *base;                 /* {api_url}/{language}/ */
    char *auth;                 /* "Authorization: Basic ..." */
    char *domain;               /* https://shop.example/{language}/ */
    char *location;             /* the shop's id: where stock is */
    int decimals;
    int full;
    struct pf_arena arena;      /* per record */
    struct lse_name *names[LSE_NNAMES];
    size_t nnames[LSE_NNAMES];
    cJSON *detail[LSE_DETAILS]; /* the current record's; NULL = none */
    int unchanged;              /* the current record is stored as is */
    int quota_out;              /* the day window is used up: stop */
    char *orders_filter;        /* created_at_min=... or NULL */
    int64_t catalog_changed;    /* products and variants read this run */
    /* Progress. */
    const char *stream;
    int64_t rows, removed;
    int64_t fresh;              /* records newer than the last pass */
    double rl_waited;
    /* The first store error of a row function (they return only -1). */
    struct pf_err serr;
    int serr_set;
};

/* What a row function says about its record. */
#define LSE_ROW_OK 0
#define LSE_ROW_SKIP 1          /* warned and left out */
#define LSE_ROW_FAIL (-1)       /* the store failed: the page fails */

typedef int (*lse_row_fn)(struct lse *L, cJSON *rec, const char *id);
/* Fetches what a record needs beyond its listing into L->detail: 0 ok,
 * 1 the quota ran out, -1 failed. */
typedef int (*lse_fetch_fn)(struct lse *L, cJSON *rec, const char *id,
                            struct pf_err *err);

/* GET base + path (a resource with its query). 0 ok (*out the parsed
 * object), 1 the day's quota is used up (nothing sent), 2 a 404 when
 * allow_404, -1 failed (err set). */
int lse_get(struct lse *L, const char *path, const char *res,
            int allow_404, cJSON **out, struct pf_err *err);

/* Text for the store from rec[key]: valid UTF-8 (repaired with a warning
 * naming res, id and key), NULL when absent. In the record arena. */
const char *lse_text(struct lse *L, const cJSON *rec, const char *key,
                     const char *res, const char *id);
/* rec[key] as a time; 0 when absent, and a warning when unreadable. */
int64_t lse_when(struct lse *L, const cJSON *rec, const char *key,
                 const char *res, const char *id);
/* Keeps the first store error of a row function. */
void lse_store_failed(struct lse *L, const struct pf_err *e);
/* The id of a reference, copied into the record arena; NULL when none. */
const char *lse_ref_dup(struct lse *L, const cJSON *rec, const char *key);

/* Row functions (source_lse_map.c), one per resource. */
int lse_shop_row(struct lse *L, cJSON *rec, const char *id);
int lse_category_row(struct lse *L, cJSON *rec, const char *id);
int lse_brand_row(struct lse *L, cJSON *rec, const char *id);
int lse_supplier_row(struct lse *L, cJSON *rec, const char *id);
int lse_filter_row(struct lse *L, cJSON *rec, const char *id);
int lse_blog_row(struct lse *L, cJSON *rec, const char *id);
int lse_tag_row(struct lse *L, cJSON *rec, const char *id);
int lse_product_fetch(struct lse *L, cJSON *rec, const char *id,
                      struct pf_err *err);
int lse_order_fetch(struct lse *L, cJSON *rec, const char *id,
                    struct pf_err *err);
/* resource/{id}/sub.json into L->detail[k] (source_lse.c); a lasting
 * 404 is a warning and 0. */
int lse_fetch_detail(struct lse *L, const char *res, const char *id,
                     const char *sub, int k, struct pf_err *err);
void lse_details_free(struct lse *L);
int lse_product_row(struct lse *L, cJSON *rec, const char *id);
int lse_variant_row(struct lse *L, cJSON *rec, const char *id);
int lse_catlink_row(struct lse *L, cJSON *rec, const char *id);
int lse_customer_row(struct lse *L, cJSON *rec, const char *id);
int lse_order_row(struct lse *L, cJSON *rec, const char *id);
int lse_shipment_row(struct lse *L, cJSON *rec, const char *id);
int lse_return_row(struct lse *L, cJSON *rec, const char *id);
int lse_review_row(struct lse *L, cJSON *rec, const char *id);
int lse_textpage_row(struct lse *L, cJSON *rec, const char *id);
int lse_article_row(struct lse *L, cJSON *rec, const char *id);
/* After the categories/products listing: every product's links from the
 * TEMP table lse_links (complete = 1 also empties products without
 * any). */
int lse_links_apply(struct lse *L, int complete, struct pf_err *err);
void lse_names_free(struct lse *L);
/* Tags (source_lse_map.c): a tags/products record into the TEMP table
 * lse_tags_new; lse_tags_apply makes it the persistent lse_tags (when
 * swap) and sets every affected product's "tags" custom attribute from
 * lse_tags and the LSE_TAGS titles. The caller holds the transaction. */
int lse_taglink_row(struct lse *L, cJSON *rec, const char *id);
int lse_tags_apply(struct lse *L, int swap, struct pf_err *err);

#endif
