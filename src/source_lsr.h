/* source_lsr.h - the Lightspeed Retail (R-series) API V3 source.
 *
 * Pulls shops, categories, manufacturers, attribute sets, item matrices,
 * items, per-shop stock (ItemShop), customers, sales with their lines and
 * shipments into the store. Reference data (Shop, Category, Manufacturer,
 * ItemAttributeSet) is small and read whole every run; the other streams
 * are incremental by timeStamp, one transaction per page together with
 * the stream's bookmark, so a killed sync resumes where it stopped.
 *
 * Ids: an item is "item-N" and a matrix "matrix-N", so they never
 * collide. A standalone item is a product "item-N" with one variant
 * "item-N"; an item in matrix M is variant "item-N" of product
 * "matrix-M". Shops, categories, customers, sales and sale lines keep
 * Lightspeed's numbers.
 *
 * A matrix is a product only while it has a variant: real data has
 * matrices without items, which would be products without a price. One
 * waits for its first item in a TEMP table of the run; an item whose
 * matrix the run has not read has it fetched (one request per page of
 * items). Its product goes with its last item. Real matrices have no
 * createTime: a matrix was created when the earliest of its own
 * createTime and its items' (archived ones too) says.
 *
 * A sale line without an item (itemID "0": free text or a miscellaneous
 * amount, common in real sales) is an order line with no product and no
 * variant, named by its note (the SaleLines.Note relation, trimmed), a
 * refund line without one by the line it refunds, else "Miscellaneous";
 * its quantity, unit price and discounts are kept like any line's.
 *
 * The API's quirks (string scalars, a single child as an object, "" for
 * an empty list, "0" for no reference) are normalized by the lsr_* helpers
 * below and nowhere else.
 *
 * Ownership: the options are borrowed for the call. The cJSON helpers
 * return pointers into the document they are given. A sync leaves the
 * TEMP tables lsr_seen and lsr_matrices on the store's connection (gone
 * when it closes, emptied by the next sync); nothing else outlives it.
 */
#ifndef PF_SOURCE_LSR_H
#define PF_SOURCE_LSR_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "http.h"
#include "store.h"
#include "util.h"

struct sync_report;
struct source_type;

struct lsr_opts {
    const char *api_url;            /* https://api.lightspeedapp.com */
    const char *account_id;
    const char *token_url;
    const char *client_id;
    const char *client_secret;      /* the value; may be NULL */
    const char *refresh_token_file;
    const char *currency;           /* the shop's, from [shop] */
    const char *image_size;         /* e.g. "w_800"; NULL = original */
    long timeout_s;                 /* per request; 0 = default */
    double retry_budget_s;          /* all retry waits; 0 = default */
    int progress;                   /* 1: progress line on stderr */
    /* Tests only: injectable sleep/clock for the http client. */
    const struct http_opts *http;
};

/* The source type "lightspeed-retail" (source.h): its [source] keys,
 * streams (reference data, then the incremental ones in dependency
 * order), `posfeed check` of the refresh token and `posfeed auth`. */
extern const struct source_type source_lsr_type;

/* ---- normalization of API shapes (exposed for tests) ------------------ */

/* Children of obj[wrapper][elem] (or of obj[elem] when wrapper is NULL)
 * as an array, whatever the API sent: a list, one object, "" or nothing.
 * Rewrites obj in place and returns the array (never NULL). */
cJSON *lsr_list(cJSON *obj, const char *wrapper, const char *elem);
/* A scalar as text: strings as they are, numbers printed, booleans
 * "true"/"false". NULL for missing, null and "". buf (at least 64 bytes)
 * holds printed numbers. */
const char *lsr_str(const cJSON *obj, const char *key, char *buf);
/* Like lsr_str, but "0" (the API's "no reference") is NULL too. */
const char *lsr_ref(const cJSON *obj, const char *key, char *buf);
/* "true"/"1" -> 1, "false"/"0" -> 0, missing -> dflt, else -1. */
int lsr_bool(const cJSON *obj, const char *key, int dflt);
/* Decimal text to minor units, rounding half away from zero beyond the
 * currency's decimals (the API sends "12.5000"). 0 ok, -1 not a number
 * or beyond STORE_MAX_MONEY either way. */
int lsr_money(const char *s, int decimals, int64_t *minor);
/* Whole number text ("3", "-2", "3.000") to int64. 0 ok, -1 otherwise. */
int lsr_int(const char *s, int64_t *out);

#endif
