/* source_lse.h - the Lightspeed eCom (C-series, ex-SEOshop) API source.
 *
 * Pulls the shop (its domain makes product and category links absolute),
 * categories, brands, products with their variants and stock, customers,
 * orders with their lines, shipments and returns into the store; reviews
 * and pages too when a feed or [sync] asks for them. Base URL
 * {api_url}/{language}/, HTTP Basic api_key:api_secret.
 *
 * Streams: small reference data (shop, categories, brands) is read whole
 * every run and what did not come back is removed. The others are
 * incremental: a pass lists updated_at_min = the last pass's newest
 * updatedAt minus a small overlap (times have second resolution and the
 * server's clock is not ours), walked by since_id (deep page numbers are
 * unreliable), each page in one transaction with the bookmark
 * "T|LASTID|NEWEST": a killed run resumes the pass after LASTID. Records
 * are upserted by id, so the overlap costs nothing but a re-read.
 *
 * Orders: the listing cannot carry lines; orders/{id}/products.json is
 * fetched for an order that is new or whose updatedAt moved (the table
 * lse_orders remembers which version each order's lines are from), and
 * only for orders created within orders_lookback. Each order lands with
 * its lines and the bookmark in one transaction, so a run that uses up
 * the daily quota stops cleanly and the next one continues from there.
 *
 * Deletions show in no listing: at most once a day, and on --full, an
 * id-only listing (fields=id) of products, variants, customers, reviews
 * and pages removes what is gone, and only when the listing completed.
 *
 * Ids: Lightspeed's numbers; a return is order "return-N" refunding its
 * order; a text page "page-N" and a blog article "article-N".
 *
 * Rate limits: the X-RateLimit-* windows (5 min / hour / day) pace every
 * request so none is answered 429; a used-up day window ends the run
 * cleanly with a warning (see ratelimit.h). 5xx, timeouts and 429 are
 * retried by http.c; a 404 on an order's lines is retried here a few
 * times (the API gives transient ones there).
 *
 * The API's quirks (false for no reference, "" for an empty number,
 * booleans in integer fields, datetimes with the shop's offset,
 * {"error":{...}} bodies) are normalized by the lse_* helpers below and
 * nowhere else.
 *
 * Ownership: options are borrowed for the call; the cJSON helpers return
 * pointers into the document given or into buf. A sync leaves the TEMP
 * table lse_seen on the store's connection; the table lse_orders stays.
 */
#ifndef PF_SOURCE_LSE_H
#define PF_SOURCE_LSE_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "http.h"
#include "store.h"
#include "util.h"

struct source_type;

struct lse_opts {
    const char *api_url;            /* https://api.webshopapp.com */
    const char *language;           /* "nl" */
    const char *api_key, *api_secret;
    const char *currency;           /* [shop] currency */
    const char *image_size;         /* "300x400x1"; NULL = original */
    int prices_excl;                /* 1: priceExcl, else priceIncl */
    long timeout_s;                 /* per request; 0 = default */
    double retry_budget_s;          /* all retry waits; 0 = default */
    int64_t orders_since;           /* lines for orders created since;
                                     * 0 = all */
    int ratings, pages;             /* pull reviews / pages */
    int filters;                    /* attributes = auto: filter values */
    int attributes;                 /* custom_attributes set: product
                                     * attributes */
    int tags;                       /* custom_attributes names "tags":
                                     * tags and tags/products */
    int progress;                   /* 1: progress line on stderr */
    const struct http_opts *http;   /* tests only */
};

/* [source] type = lightspeed-ecom: keys cluster (eu1 | us1) or api_url,
 * language, api_key and api_secret (secrets), image_size (WxHxZoom),
 * prices (incl | excl), timeout, retry_time. */
extern const struct source_type source_lse_type;

/* ---- normalization of API shapes (exposed for tests) ------------------ */

/* The records of a list answer: obj[plural] as an array, obj[singular]
 * (one object) as a one-element array, or an empty array. Rewrites obj
 * in place; never NULL. */
cJSON *lse_list(cJSON *obj, const char *plural, const char *singular);
/* A scalar as text: strings as they are, whole numbers without a
 * fraction, booleans "true"/"false". NULL for missing, null, false and
 * "". buf (at least 64 bytes) holds printed numbers. */
const char *lse_str(const cJSON *obj, const char *key, char *buf);
/* The id of a reference: {"resource":{"id":N,...}}, a bare {"id":N} or a
 * number. NULL for false, null, 0, "" and a missing key. */
const char *lse_ref(const cJSON *obj, const char *key, char *buf);
/* true/false, 1/0, "1"/"0", "true"/"false" -> 1/0; missing, null or ""
 * -> dflt; anything else -1. */
int lse_bool(const cJSON *obj, const char *key, int dflt);
/* A whole number from a number, a numeric string or a boolean (1/0).
 * 1 found (*out set), 0 absent ("" or null), -1 not a whole number. */
int lse_int(const cJSON *obj, const char *key, int64_t *out);
/* A money amount (number or decimal string) in minor units of a
 * currency with decimals, rounded half away from zero. 1 found, 0 absent
 * ("", null, false), -1 not a number or beyond STORE_MAX_MONEY. */
int lse_money(const cJSON *obj, const char *key, int decimals,
              int64_t *minor);
/* "2026-06-02T10:24:44+02:00", "...Z" or "2026-06-02 10:24:44" (UTC) to
 * UTC epoch seconds. 1 found, 0 absent, -1 unreadable. */
int lse_time(const cJSON *obj, const char *key, int64_t *out);
/* The message of an error body {"error":{"code":..,"message":..}} (or
 * {"error":"text"}), copied into buf (bufsz bytes); NULL when the body
 * is not one. */
const char *lse_error_message(const char *body, size_t len, char *buf,
                              size_t bufsz);
/* An image address at size "WxHxZ": the CDN's size folder inserted
 * before the file name (".../files/123/file.jpg" ->
 * ".../files/123/300x400x1/file.jpg"). size NULL: src as it is. Caller
 * frees. */
char *lse_image_url(const char *src, const char *size);
/* 1 if s is "WxHxZ" with W, H 1..5000 and Z 1..3 (image_size). */
int lse_image_size_ok(const char *s);
/* A bookmark "T|LASTID|NEWEST" into its parts (T and NEWEST epoch
 * seconds, 0 = none; LASTID 0 = the pass is done). 0 ok, -1 unreadable
 * (the stream starts over). */
int lse_bookmark_parse(const char *s, int64_t *since, int64_t *last_id,
                       int64_t *newest);

#endif
