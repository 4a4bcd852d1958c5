/* http.c - see http.h. */
#include "http.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"

/* A response bigger than this is not an API page; refuse it rather than
 * grow without bound. */
#define HTTP_MAX_BODY (256u * 1024u * 1024u)

struct http_client {
    CURL *curl;
    struct http_opts o;
    struct http_stats stats;
    double waited;              /* against o.retry_budget_s */
    char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void
global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void
real_sleep(double s, void *ctx)
{
    struct timespec ts;

    (void)ctx;
    if (s <= 0)
        return;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static double
real_now(void *ctx)
{
    (void)ctx;
    return pf_now_mono();
}

int
http_global_init(struct pf_err *err)
{
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK) {
        pf_errf(err, "libcurl initialisation failed: %s",
                curl_easy_strerror(global_rc));
        return -1;
    }
    return 0;
}

int
http_client_new(const struct http_opts *opts, struct http_client **out,
                struct pf_err *err)
{
    struct http_client *c;

    if (http_global_init(err) != 0)
        return -1;
    c = xcalloc(1, sizeof(*c));
    if (opts != NULL)
        c->o = *opts;
    if (c->o.connect_timeout_s <= 0)
        c->o.connect_timeout_s = 10;
    if (c->o.timeout_s <= 0)
        c->o.timeout_s = 60;
    if (c->o.max_attempts <= 0)
        c->o.max_attempts = 8;
    if (c->o.backoff_base_s <= 0)
        c->o.backoff_base_s = 0.5;
    if (c->o.backoff_cap_s <= 0)
        c->o.backoff_cap_s = 30;
    if (c->o.retry_budget_s <= 0)
        c->o.retry_budget_s = 300;
    if (c->o.user_agent == NULL)
        c->o.user_agent = "posfeed";
    if (c->o.sleep_fn == NULL)
        c->o.sleep_fn = real_sleep;
    if (c->o.now_fn == NULL)
        c->o.now_fn = real_now;
    c->curl = curl_easy_init();
    if (c->curl == NULL) {
        free(c);
        pf_errf(err, "cannot create a libcurl handle");
        return -1;
    }
    *out = c;
    return 0;
}

void
http_client_free(struct http_client *c)
{
    if (c == NULL)
        return;
    curl_easy_cleanup(c->curl);
    free(c);
}

const struct http_stats *
http_client_stats(const struct http_client *c)
{
    return &c->stats;
}

void
http_sleep(struct http_client *c, double s)
{
    if (s > 0)
        c->o.sleep_fn(s, c->o.time_ctx);
}

double
http_now(struct http_client *c)
{
    return c->o.now_fn(c->o.time_ctx);
}

int
http_status_retryable(long status)
{
    return status == 408 || status == 429 || status == 500 ||
           status == 502 || status == 503 || status == 504;
}

double
http_backoff(const struct http_opts *o, int n)
{
    double base = o->backoff_base_s > 0 ? o->backoff_base_s : 0.5;
    double cap = o->backoff_cap_s > 0 ? o->backoff_cap_s : 30;
    double d = base * pow(2.0, n > 1 ? n - 1 : 0);

    return d < cap ? d : cap;
}

/* Transport failures worth another try: the server may be restarting or
 * the network hiccuped. Anything else (bad URL, TLS trust) will not get
 * better by waiting. */
static int
curl_retryable(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

void
http_resp_free(struct http_resp *r)
{
    if (r == NULL)
        return;
    free(r->body);
    free(r->bucket_level);
    free(r->drip_rate);
    free(r->burst_level);
    free(r->request_cost);
    free(r->rl_limit);
    free(r->rl_remaining);
    free(r->rl_reset);
    free(r->content_type);
    free(r->headers);
    memset(r, 0, sizeof(*r));
}

struct body_sink {
    struct pf_buf buf;
    int too_big;
};

static size_t
on_body(char *p, size_t size, size_t n, void *ud)
{
    struct body_sink *s = ud;
    size_t len = size * n;

    if (s->buf.len + len > HTTP_MAX_BODY) {
        s->too_big = 1;
        return 0;
    }
    pf_buf_add(&s->buf, p, len);
    return len;
}

/* Copies the value of "Name: value\r\n" into *dst when name matches. */
static void
take_header(const char *line, size_t len, const char *name, char **dst)
{
    size_t nl = strlen(name), a, b;

    if (len <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
        return;
    a = nl + 1;
    b = len;
    while (a < b && (line[a] == ' ' || line[a] == '\t'))
        a++;
    while (b > a && (line[b - 1] == '\r' || line[b - 1] == '\n' ||
                     line[b - 1] == ' '))
        b--;
    free(*dst);
    *dst = xstrndup(line + a, b - a);
}

/* Appends "name: value" (trimmed, NUL-terminated) to r->headers, for
 * http_resp_header(). Lines without a colon (the blank end) are not
 * headers. */
static void
keep_header(struct http_resp *r, const char *line, size_t len)
{
    const char *colon = memchr(line, ':', len);
    size_t a, b, need;

    if (colon == NULL || colon == line)
        return;
    a = (size_t)(colon - line) + 1;
    b = len;
    while (a < b && (line[a] == ' ' || line[a] == '\t'))
        a++;
    while (b > a && (line[b - 1] == '\r' || line[b - 1] == '\n' ||
                     line[b - 1] == ' '))
        b--;
    need = (size_t)(colon - line) + 2 + (b - a) + 1;
    r->headers = xrealloc(r->headers, r->headers_len + need + 1);
    memcpy(r->headers + r->headers_len, line, (size_t)(colon - line));
    r->headers_len += (size_t)(colon - line);
    memcpy(r->headers + r->headers_len, ": ", 2);
    r->headers_len += 2;
    memcpy(r->headers + r->headers_len, line + a, b - a);
    r->headers_len += b - a;
    r->headers[r->headers_len++] = '\0';
    r->headers[r->headers_len] = '\0';
}

const char *
http_resp_header(const struct http_resp *r, const char *name)
{
    size_t nl = strlen(name), off = 0;

    while (r->headers != NULL && off < r->headers_len) {
        const char *h = r->headers + off;

        if (strncasecmp(h, name, nl) == 0 && h[nl] == ':')
            return h + nl + 2;
        off += strlen(h) + 1;
    }
    return NULL;
}

static size_t
on_header(char *p, size_t size, size_t n, void *ud)
{
    struct http_resp *r = ud;
    size_t len = size * n;

    /* A new status line (after a redirect or 100 Continue) starts over. */
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        char *body = r->body;

        r->body = NULL;
        http_resp_free(r);
        r->body = body;
        return len;
    }
    take_header(p, len, "X-LS-API-Bucket-Level", &r->bucket_level);
    take_header(p, len, "X-LS-API-Drip-Rate", &r->drip_rate);
    take_header(p, len, "X-LS-API-Burst-Level", &r->burst_level);
    take_header(p, len, "X-LS-API-Request-Cost", &r->request_cost);
    take_header(p, len, "X-RateLimit-Limit", &r->rl_limit);
    take_header(p, len, "X-RateLimit-Remaining", &r->rl_remaining);
    take_header(p, len, "X-RateLimit-Reset", &r->rl_reset);
    take_header(p, len, "Content-Type", &r->content_type);
    keep_header(r, p, len);
    return len;
}

/* The URL without its query string, for messages: queries may carry
 * filters that are noise here, and never belong in a log. */
static void
url_for_msg(const char *url, char *out, size_t outsz)
{
    size_t n = strcspn(url, "?");

    if (n >= outsz)
        n = outsz - 1;
    memcpy(out, url, n);
    out[n] = '\0';
}

/* A request body, borrowed for the call. */
struct http_body {
    const char *data;
    size_t len;
};

/* Sets up the client's handle for one attempt. */
static void
prepare(struct http_client *c, const char *url, const struct http_body *post,
        struct curl_slist *hl, struct body_sink *sink,
        struct http_resp *resp)
{
    CURL *h = c->curl;

    curl_easy_reset(h);
    c->errbuf[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->o.connect_timeout_s);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, c->o.timeout_s);
    curl_easy_setopt(h, CURLOPT_USERAGENT, c->o.user_agent);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (post != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)post->len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, post->data);
    }
}

/* What one finished attempt means: 1 = done (the answer is the
 * caller's), 0 = worth another try (*why and last say why), -1 = failed
 * for good (err set). */
static int
judge(struct http_client *c, CURLcode cc, const char *where,
      struct body_sink *sink, struct http_resp *resp, const char **why,
      char *last, size_t lastsz, struct pf_err *err)
{
    curl_off_t ra = -1;

    if (cc == CURLE_OK) {
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status);
        curl_easy_getinfo(c->curl, CURLINFO_RETRY_AFTER, &ra);
        /* libcurl reports 0 both for "no header" and for a date in the
         * past; either way our own backoff applies. */
        resp->retry_after_s = ra > 0 ? (double)ra : -1;
        if (resp->status == 429)
            c->stats.status_429++;
        if (!http_status_retryable(resp->status) ||
            (resp->status == 429 && c->o.pass_429)) {
            resp->len = sink->buf.len;
            resp->body = sink->buf.data != NULL ? sink->buf.data
                                                : xstrdup("");
            pf_buf_init(&sink->buf);
            return 1;
        }
        snprintf(last, lastsz, "HTTP %ld", resp->status);
        *why = resp->status == 429 ? "429" : "server error";
        return 0;
    }
    if (sink->too_big) {
        pf_errf(err, "%s: response larger than %u MB", where,
                HTTP_MAX_BODY / (1024u * 1024u));
        return -1;
    }
    if (curl_retryable(cc)) {
        snprintf(last, lastsz, "%s", c->errbuf[0]
                 ? c->errbuf : curl_easy_strerror(cc));
        *why = cc == CURLE_OPERATION_TIMEDOUT ? "timeout" : "network";
        return 0;
    }
    pf_errf(err, "%s: %s", where, c->errbuf[0]
            ? c->errbuf : curl_easy_strerror(cc));
    return -1;
}

static int
do_request(struct http_client *c, const char *url,
           const struct http_body *post, const char *const *headers,
           struct http_resp *resp, struct pf_err *err)
{
    struct curl_slist *hl = NULL;
    struct body_sink sink;
    char where[256], last[256] = "";
    int attempt, rc = -1, done;

    url_for_msg(url, where, sizeof(where));
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        hl = curl_slist_append(hl, headers[i]);
    memset(resp, 0, sizeof(*resp));
    pf_buf_init(&sink.buf);
    for (attempt = 1;; attempt++) {
        const char *why = "";
        double wait;

        http_resp_free(resp);
        pf_buf_reset(&sink.buf);
        sink.too_big = 0;
        resp->retry_after_s = -1;
        prepare(c, url, post, hl, &sink, resp);
        c->stats.requests++;
        done = judge(c, curl_easy_perform(c->curl), where, &sink, resp,
                     &why, last, sizeof(last), err);
        if (done != 0) {
            rc = done > 0 ? 0 : -1;
            goto cleanup;
        }
        if (attempt >= c->o.max_attempts) {
            pf_errf(err, "%s: giving up after %d attempts (last: %s); "
                    "the API looks down, try again later", where, attempt,
                    last);
            goto cleanup;
        }
        wait = resp->retry_after_s >= 0 ? resp->retry_after_s
                                         : http_backoff(&c->o, attempt);
        if (c->waited + wait > c->o.retry_budget_s) {
            pf_errf(err, "%s: still failing (%s) after %.0f s of retries; "
                    "the API looks down, try again later", where, last,
                    c->waited);
            goto cleanup;
        }
        log_debug("%s: %s, retry %d in %.1f s", where, last, attempt,
                  wait);
        if (c->o.on_wait != NULL)
            c->o.on_wait(why, wait, c->o.wait_ctx);
        c->o.sleep_fn(wait, c->o.time_ctx);
        c->waited += wait;
        c->stats.waited_s += wait;
        c->stats.retries++;
    }

cleanup:
    pf_buf_free(&sink.buf);
    curl_slist_free_all(hl);
    if (rc != 0)
        http_resp_free(resp);
    return rc;
}

int
http_get(struct http_client *c, const char *url, const char *const *headers,
         struct http_resp *resp, struct pf_err *err)
{
    return do_request(c, url, NULL, headers, resp, err);
}

int
http_post_form(struct http_client *c, const char *url, const char *body,
               const char *const *headers, struct http_resp *resp,
               struct pf_err *err)
{
    struct http_body b = {body, strlen(body)};

    return do_request(c, url, &b, headers, resp, err);
}

int
http_post_json(struct http_client *c, const char *url,
               const char *content_type, const char *body, size_t len,
               const char *const *headers, struct http_resp *resp,
               struct pf_err *err)
{
    struct http_body b = {body, len};
    const char **all;
    size_t n = 0;
    char ct[128];
    int rc;

    while (headers != NULL && headers[n] != NULL)
        n++;
    all = xcalloc(n + 3, sizeof(*all));
    for (size_t i = 0; i < n; i++)
        all[i] = headers[i];
    snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
    all[n] = ct;
    /* No "Expect: 100-continue" round trip for big bodies: the APIs
     * answer at once and some proxies mishandle it. */
    all[n + 1] = "Expect:";
    rc = do_request(c, url, &b, all, resp, err);
    free(all);
    return rc;
}

char *
http_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    struct pf_buf b;

    pf_buf_init(&b);
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;

        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
            (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
            ch == '.' || ch == '~') {
            pf_buf_addc(&b, (char)ch);
        }
        else {
            pf_buf_addc(&b, '%');
            pf_buf_addc(&b, hex[ch >> 4]);
            pf_buf_addc(&b, hex[ch & 15]);
        }
    }
    if (b.data == NULL)
        return xstrdup("");
    return b.data;
}
