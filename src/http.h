/* http.h - a small libcurl client for POS APIs: one easy handle (so the
 * connection is kept alive and reused), timeouts, and retries.
 *
 * A request is retried on 408, 429, 500, 502, 503, 504 and on transport
 * failures (timeouts, refused or dropped connections, truncated bodies),
 * waiting Retry-After when the server sends one and a capped exponential
 * backoff otherwise. All waits of one client together never exceed
 * retry_budget_s, so an API that stays down ends the run with a clear
 * error instead of hanging it.
 *
 * The sleep and clock are injectable so tests run without waiting.
 *
 * Ownership: struct http_client owns its curl handle; struct http_resp
 * owns its body and header copies (http_resp_free). Header values given
 * to requests are borrowed for the call.
 */
#ifndef PF_HTTP_H
#define PF_HTTP_H

#include <stddef.h>

#include "util.h"

struct http_client;

struct http_opts {
    long connect_timeout_s;     /* default 10 */
    long timeout_s;             /* whole request; default 60 */
    int max_attempts;           /* per request; default 8 */
    double backoff_base_s;      /* first backoff; default 0.5 */
    double backoff_cap_s;       /* longest single backoff; default 30 */
    double retry_budget_s;      /* all waits of the client; default 300 */
    const char *user_agent;     /* default "posfeed" */
    /* 1: a 429 is returned to the caller (counted in status_429) instead
     * of retried, for callers that pace themselves from the answer's
     * rate-limit headers and must tell a short window from a used-up
     * day. */
    int pass_429;
    /* Injectable time: sleep for s seconds; a monotonic clock. NULL uses
     * nanosleep() and pf_now_mono(). */
    void (*sleep_fn)(double s, void *ctx);
    double (*now_fn)(void *ctx);
    void *time_ctx;
    /* Called before each wait with the reason ("429", "503", "timeout"),
     * for progress displays. May be NULL. */
    void (*on_wait)(const char *why, double s, void *ctx);
    void *wait_ctx;
};

struct http_resp {
    long status;
    char *body;                 /* NUL-terminated; may contain NULs */
    size_t len;
    double retry_after_s;       /* from Retry-After; -1 when absent */
    /* The rate-limit headers the sources care about, or NULL. */
    char *bucket_level;         /* X-LS-API-Bucket-Level */
    char *drip_rate;            /* X-LS-API-Drip-Rate */
    char *burst_level;          /* X-LS-API-Burst-Level */
    char *request_cost;         /* X-LS-API-Request-Cost */
    char *rl_limit;             /* X-RateLimit-Limit "300/3000/12000" */
    char *rl_remaining;         /* X-RateLimit-Remaining */
    char *rl_reset;             /* X-RateLimit-Reset (seconds) */
    char *content_type;
    /* Every header of the final answer as "Name: value" strings one
     * after another, each NUL-terminated (http_resp_header). */
    char *headers;
    size_t headers_len;
};

struct http_stats {
    long requests;              /* attempts sent */
    long retries;
    long status_429;
    double waited_s;            /* time spent in backoff/Retry-After */
};

/* Creates a client; opts may be NULL for the defaults. */
/* curl_global_init, once per process (thread-safe); every libcurl user
 * in posfeed calls this before its first easy handle. */
int http_global_init(struct pf_err *err);
int http_client_new(const struct http_opts *opts, struct http_client **out,
                    struct pf_err *err);
void http_client_free(struct http_client *c);
const struct http_stats *http_client_stats(const struct http_client *c);

/* Sleeps / reads the clock through the client's injectable time, so
 * callers pacing requests (rate limits) share the tests' fake clock. */
void http_sleep(struct http_client *c, double s);
double http_now(struct http_client *c);

/* Retry policy, exposed for tests: 1 if a status is worth retrying. */
int http_status_retryable(long status);
/* The backoff before retry number n (1-based), capped. */
double http_backoff(const struct http_opts *o, int n);

/* GET url with extra headers ("Name: value", NULL-terminated list or
 * NULL). On return 0, *resp holds the final response, whatever its
 * status (the caller judges 4xx). Returns -1 with err set when the
 * request could not be completed within the retry policy; the message
 * names the URL (without its query) and the last failure. */
int http_get(struct http_client *c, const char *url,
             const char *const *headers, struct http_resp *resp,
             struct pf_err *err);
/* POST an application/x-www-form-urlencoded body; same contract. The
 * body is never logged (it may carry secrets). */
int http_post_form(struct http_client *c, const char *url,
                   const char *body, const char *const *headers,
                   struct http_resp *resp, struct pf_err *err);

/* POST a JSON body with the given content type ("application/json",
 * "application/vnd.api+json"); same contract as http_get. */
int http_post_json(struct http_client *c, const char *url,
                   const char *content_type, const char *body, size_t len,
                   const char *const *headers, struct http_resp *resp,
                   struct pf_err *err);

/* Any header of the final answer by name (case-insensitive), or NULL. */
const char *http_resp_header(const struct http_resp *r, const char *name);

void http_resp_free(struct http_resp *r);

/* Percent-encodes s for a query string (everything but unreserved
 * characters). Caller frees. */
char *http_escape(const char *s);

#endif
