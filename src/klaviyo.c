/* klaviyo.c - see klaviyo.h.
 *
 * Pacing. Klaviyo limits each endpoint per account with two fixed
 * windows, burst (1 s) and steady (60 s), at one of the documented tiers
 * (developers.klaviyo.com, "Rate limits, status codes, and errors"; each
 * endpoint's reference page names its tier). Every answer that is not a
 * 429 carries RateLimit-Limit, -Remaining and -Reset for the steady
 * window. So the client keeps, per endpoint: the times of its last
 * requests (a sliding log: staying under the limit in every sliding
 * window keeps it under the limit in every fixed one, wherever the
 * server's windows start), and what the last answer said about the
 * steady window. Before a request it waits for whichever frees first.
 * A 429 still happens when another client spends the same account's
 * quota; http.c then waits Retry-After.
 */
#include "klaviyo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

/* The documented tiers (burst per second, steady per minute) of the
 * endpoints posfeed calls; anything else gets the smallest tier, XS. */
struct tier {
    const char *method, *prefix;
    int burst, steady;
};

static const struct tier tiers[] = {
    {"POST", "/api/event-bulk-create-jobs", 10, 150},     /* M */
    {"POST", "/api/profile-bulk-import-jobs", 10, 150},   /* M */
    {"GET", "/api/profile-bulk-import-jobs", 10, 150},    /* M */
    {"GET", "/api/metrics", 10, 150},                     /* M */
    {"POST", "/api/metric-aggregates", 3, 60},            /* S */
    {"GET", "/api/accounts", 1, 15},                      /* XS */
    {NULL, NULL, 1, 15},                                  /* XS */
};
#define NTIERS (sizeof(tiers) / sizeof(tiers[0]))
/* Longest steady limit of the table: the size of each request log. */
#define LOG_MAX 150

/* Answers arrive a little after they leave, and the server's clock is
 * not ours: windows are treated as this much longer than documented. */
#define WINDOW_MARGIN_S 0.25

struct pace {
    double sent[LOG_MAX];       /* ring of request times, newest at head */
    int head, n;
    /* From the last answer's RateLimit-* headers; remaining < 0 =
     * unknown. */
    long remaining;
    double reset_at;
};

struct klaviyo {
    struct http_client *http;
    char *base;                 /* api_url without a trailing '/' */
    char *auth;                 /* "Authorization: Klaviyo-API-Key ..." */
    char *revision;             /* "revision: ..." */
    char *warning;
    struct pace pace[NTIERS];
};

static void
wipe_free(char *s)
{
    if (s == NULL)
        return;
    memset(s, 0, strlen(s));
    free(s);
}

int
klaviyo_open(const struct klaviyo_opts *o, struct klaviyo **out,
             struct pf_err *err)
{
    struct klaviyo *k;
    size_t n;

    if (o->api_key == NULL || o->api_key[0] == '\0') {
        pf_errf(err, "klaviyo: the private API key is empty");
        return -1;
    }
    k = xcalloc(1, sizeof(*k));
    if (http_client_new(o->http, &k->http, err) != 0) {
        free(k);
        return -1;
    }
    k->base = xstrdup(o->api_url != NULL ? o->api_url
                                         : "https://a.klaviyo.com");
    n = strlen(k->base);
    while (n > 0 && k->base[n - 1] == '/')
        k->base[--n] = '\0';
    k->auth = xasprintf("Authorization: Klaviyo-API-Key %s", o->api_key);
    k->revision = xasprintf("revision: %s", o->revision);
    for (size_t i = 0; i < NTIERS; i++)
        k->pace[i].remaining = -1;
    *out = k;
    return 0;
}

void
klaviyo_close(struct klaviyo *k)
{
    if (k == NULL)
        return;
    http_client_free(k->http);
    free(k->base);
    wipe_free(k->auth);
    free(k->revision);
    free(k->warning);
    free(k);
}

const char *
klaviyo_warning(const struct klaviyo *k)
{
    return k->warning;
}

char *
klaviyo_next_path(const cJSON *answer)
{
    const cJSON *next = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(answer, "links"), "next");
    const char *p;

    /* Klaviyo gives absolute URLs; the client owns the base. */
    if (!cJSON_IsString(next) ||
        (p = strstr(next->valuestring, "/api/")) == NULL)
        return NULL;
    return xstrdup(p);
}

const struct http_stats *
klaviyo_stats(const struct klaviyo *k)
{
    return http_client_stats(k->http);
}

static size_t
tier_of(const char *method, const char *path)
{
    size_t i;

    for (i = 0; tiers[i].method != NULL; i++) {
        size_t n = strlen(tiers[i].prefix);

        if (strcmp(method, tiers[i].method) == 0 &&
            strncmp(path, tiers[i].prefix, n) == 0 &&
            (path[n] == '\0' || path[n] == '/' || path[n] == '?'))
            return i;
    }
    return i;
}

/* Seconds until a request to tier t may leave, from now. */
static double
pace_wait(const struct pace *p, const struct tier *t, double now)
{
    double wait = 0;

    /* The burst-th newest request must be older than the burst window,
     * the steady-th newest older than the steady window. */
    if (p->n >= t->burst) {
        int i = (p->head - t->burst + LOG_MAX) % LOG_MAX;
        double w = p->sent[i] + 1.0 + WINDOW_MARGIN_S - now;

        if (w > wait)
            wait = w;
    }
    if (p->n >= t->steady) {
        int i = (p->head - t->steady + LOG_MAX) % LOG_MAX;
        double w = p->sent[i] + 60.0 + WINDOW_MARGIN_S - now;

        if (w > wait)
            wait = w;
    }
    /* The server says the steady window is spent until reset_at. */
    if (p->remaining == 0 && p->reset_at + WINDOW_MARGIN_S - now > wait)
        wait = p->reset_at + WINDOW_MARGIN_S - now;
    return wait;
}

static void
pace_sent(struct pace *p, double now)
{
    p->sent[p->head] = now;
    p->head = (p->head + 1) % LOG_MAX;
    if (p->n < LOG_MAX)
        p->n++;
    if (p->remaining > 0)
        p->remaining--;
}

/* Reads the steady window's state from an answer. */
static void
pace_answer(struct pace *p, const struct http_resp *r, double sent_at)
{
    const char *rem = http_resp_header(r, "RateLimit-Remaining");
    const char *reset = http_resp_header(r, "RateLimit-Reset");
    char *end;
    long v;
    double s;

    if (rem == NULL || reset == NULL) {
        p->remaining = -1;
        return;
    }
    v = strtol(rem, &end, 10);
    if (end == rem || v < 0)
        return;
    s = strtod(reset, &end);
    if (end == reset || s < 0)
        return;
    p->remaining = v;
    p->reset_at = sent_at + s;
}

/* Keeps a deprecation or sunset notice (RFC 9745 Deprecation, RFC 8594
 * Sunset, or a Warning header) for status. */
static void
note_warning(struct klaviyo *k, const struct http_resp *r)
{
    const char *dep = http_resp_header(r, "Deprecation");
    const char *sun = http_resp_header(r, "Sunset");
    const char *warn = http_resp_header(r, "Warning");
    const char *rev = k->revision + strlen("revision: ");

    if (dep == NULL && sun == NULL && warn == NULL)
        return;
    free(k->warning);
    if (warn != NULL && dep == NULL && sun == NULL)
        k->warning = xasprintf("Klaviyo warns: %s", warn);
    else if (sun != NULL)
        k->warning = xasprintf("Klaviyo API revision %s is deprecated; "
                                "sunset %s: set [push klaviyo] revision to "
                                "a newer one posfeed supports", rev, sun);
    else
        k->warning = xasprintf("Klaviyo API revision %s is deprecated "
                                "(since %s)", rev, dep);
}

/* "klaviyo: 400 Invalid input.: detail (at /data/...)" from errors[]. */
static void
error_from_answer(long status, const cJSON *doc, char **pointer_out,
                  struct pf_err *err)
{
    const cJSON *e = cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(doc, "errors"), 0);
    const char *title = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(e, "title"));
    const char *detail = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(e, "detail"));
    const char *ptr = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(e, "source"), "pointer"));

    if (status == 401 || status == 403)
        pf_errf(err, "klaviyo: %ld %s: check [push klaviyo] api_key (a "
                "private key with the scopes docs/klaviyo.md lists)",
                status, title != NULL ? title : "not authorized");
    else if (e == NULL)
        pf_errf(err, "klaviyo: HTTP %ld without an error body", status);
    else
        pf_errf(err, "klaviyo: %ld %s%s%s%s%s%s", status,
                title != NULL ? title : "error", detail != NULL ? ": " : "",
                detail != NULL ? detail : "", ptr != NULL ? " (at " : "",
                ptr != NULL ? ptr : "", ptr != NULL ? ")" : "");
    if (pointer_out != NULL && ptr != NULL)
        *pointer_out = xstrdup(ptr);
}

/* Sends one request, paced; *resp is the final answer. */
static int
send_paced(struct klaviyo *k, const char *method, const char *path,
           const char *body, size_t len, struct http_resp *resp,
           struct pf_err *err)
{
    size_t ti = tier_of(method, path);
    struct pace *p = &k->pace[ti];
    const char *hdrs[] = {k->auth, k->revision,
                          "Accept: application/vnd.api+json", NULL};
    char *url = xasprintf("%s%s", k->base, path);
    double wait = pace_wait(p, &tiers[ti], http_now(k->http)), at;
    int rc;

    if (wait > 0)
        http_sleep(k->http, wait);
    at = http_now(k->http);
    pace_sent(p, at);
    if (strcmp(method, "POST") == 0)
        rc = http_post_json(k->http, url, "application/vnd.api+json",
                            body != NULL ? body : "{}",
                            body != NULL ? len : 2, hdrs, resp, err);
    else
        rc = http_get(k->http, url, hdrs, resp, err);
    free(url);
    if (rc == 0) {
        pace_answer(p, resp, at);
        note_warning(k, resp);
    }
    else {
        pf_err_prefix(err, "klaviyo");
    }
    return rc;
}

int
klaviyo_call(struct klaviyo *k, const char *method, const char *path,
             const char *body, size_t len, cJSON **answer,
             long *status_out, char **pointer_out, struct pf_err *err)
{
    struct http_resp resp;
    cJSON *doc = NULL;
    int rc = -1;

    *answer = NULL;
    if (status_out != NULL)
        *status_out = 0;
    if (pointer_out != NULL)
        *pointer_out = NULL;
    if (send_paced(k, method, path, body, len, &resp, err) != 0)
        return -1;
    if (status_out != NULL)
        *status_out = resp.status;
    if (resp.len > 0) {
        doc = cJSON_ParseWithLength(resp.body, resp.len);
        if (doc == NULL && resp.status >= 200 && resp.status < 300) {
            pf_errf(err, "klaviyo: %s %s: answer %ld is not JSON", method,
                    path, resp.status);
            goto cleanup;
        }
    }
    if (resp.status < 200 || resp.status >= 300) {
        error_from_answer(resp.status, doc, pointer_out, err);
        goto cleanup;
    }
    *answer = doc;
    doc = NULL;
    rc = (int)resp.status;

cleanup:
    cJSON_Delete(doc);
    http_resp_free(&resp);
    return rc;
}
