/* klaviyo.h - a client for Klaviyo's REST API (JSON:API), shared by the
 * push (push_klaviyo.c) and the day-by-day proof (verify.c).
 *
 * Every request carries "Authorization: Klaviyo-API-Key <key>", the
 * pinned "revision" header and JSON:API content types. Requests are paced
 * per endpoint within Klaviyo's burst (1 s) and steady (1 min) windows,
 * from the documented limits and the RateLimit-* headers of each answer,
 * so a well-behaved run sees no 429; a 429 waits Retry-After, 5xx and
 * timeouts back off (capped) within the client's retry budget. A
 * deprecation or sunset notice in an answer is kept for status.
 *
 * Ownership: klaviyo_open() copies what it needs from its arguments (the
 * key is wiped on close); answers handed out as cJSON belong to the
 * caller (cJSON_Delete). The key never appears in errors or logs.
 */
#ifndef PF_KLAVIYO_H
#define PF_KLAVIYO_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "http.h"
#include "util.h"

struct klaviyo;

struct klaviyo_opts {
    const char *api_url;            /* "https://a.klaviyo.com" */
    const char *api_key;            /* the private key itself */
    const char *revision;           /* "2026-10-15" */
    const struct http_opts *http;   /* tests only; NULL = defaults */
};

int klaviyo_open(const struct klaviyo_opts *o, struct klaviyo **out,
                 struct pf_err *err);
void klaviyo_close(struct klaviyo *k);

/* One call: method "GET" or "POST", path with its query ("/api/accounts",
 * "/api/metric-aggregates"), body (JSON, or NULL). Returns the HTTP status
 * of the final answer (2xx) with *answer its parsed body (NULL when it
 * had none); -1 with err when the call failed: a 4xx (err reads
 * "klaviyo: 400 <title>: <detail> (at /data/attributes/...)" from the
 * answer's errors[]; *status_out, when not NULL, holds the status, and
 * *pointer_out, when not NULL, a copy of the first error's source
 * pointer, caller frees) or a transport failure (status 0). */
int klaviyo_call(struct klaviyo *k, const char *method, const char *path,
                 const char *body, size_t len, cJSON **answer,
                 long *status_out, char **pointer_out, struct pf_err *err);

/* The path and query of a paged answer's links.next ("https://a.klaviyo
 * .com/api/metrics?page[cursor]=..." -> "/api/metrics?page[cursor]=..."),
 * ready for klaviyo_call(); NULL on the last page. Caller frees. */
char *klaviyo_next_path(const cJSON *answer);

/* The last deprecation or sunset notice Klaviyo sent ("revision
 * 2025-01-15 is deprecated; sunset 2027-01-15"), or NULL. */
const char *klaviyo_warning(const struct klaviyo *k);
/* The client's request figures (requests, 429s, time waited). */
const struct http_stats *klaviyo_stats(const struct klaviyo *k);

#endif
