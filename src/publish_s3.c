/* publish_s3.c - signed PUT / HEAD / DELETE of objects in an S3-compatible
 * bucket with libcurl, and the retry policy around them.
 *
 * libcurl signs each request (CURLOPT_AWS_SIGV4 "aws:amz:REGION:s3").
 * We pass x-amz-content-sha256 ourselves: libcurl then signs that value
 * instead of UNSIGNED-PAYLOAD, so the body is covered by the signature
 * and S3 checks it against what arrives. The hash is the one the local
 * publish computed while it validated the feed (publish.h): no second
 * read of the file is needed before the upload.
 *
 * The same hash goes along as x-amz-meta-posfeed-sha256, which S3 keeps
 * with the object and returns on HEAD: that is how the next run knows
 * the bucket already has a file (object_is_current).
 */
#include "publish_s3.h"

#include <curl/curl.h>
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "http.h"
#include "log.h"

/* An error body is a short XML document; more is not read. */
#define S3_ERR_BODY_MAX (64 * 1024)
#define S3_BACKOFF_BASE_S 0.25
#define S3_BACKOFF_CAP_S 8.0
/* The user metadata that holds an object's SHA-256. */
#define S3_META_SHA256 "x-amz-meta-posfeed-sha256"
/* SHA-256 of the empty string: the payload hash of HEAD and DELETE. */
#define S3_EMPTY_SHA256 \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct s3_client {
    CURL *curl;
    const struct pf_publish_cfg *p;
    char *user, *pass;          /* the credentials; wiped on free */
    char *where;                /* s3://BUCKET/PREFIX */
    char *sigv4;                /* aws:amz:REGION:s3 */
    struct s3_stats stats;
    char errbuf[CURL_ERROR_SIZE];
};

/* What one attempt of a request ended with. */
struct s3_reply {
    CURLcode cc;
    long status;
    struct pf_buf body;         /* up to S3_ERR_BODY_MAX */
    char code[64];              /* S3's <Code>, "" if none */
    char message[256];          /* S3's <Message>, "" if none */
};

/* The credentials' copies are wiped before their memory goes back. */
static void
wipe_free(char *s)
{
    if (s != NULL)
        OPENSSL_cleanse(s, strlen(s));
    free(s);
}

int
s3_client_new(const struct pf_publish_cfg *p, struct s3_client **out,
              struct pf_err *err)
{
    struct s3_client *c = xcalloc(1, sizeof(*c));
    int rc = -1;

    *out = NULL;
    c->p = p;
    c->where = xasprintf("s3://%s/%s", p->bucket, p->prefix);
    c->sigv4 = xasprintf("aws:amz:%s:s3", p->region);
    if (pf_secret_read(&p->access_key, &c->user, err) != 0) {
        pf_err_prefix(err, "[publish] access_key");
        goto cleanup;
    }
    if (pf_secret_read(&p->secret_key, &c->pass, err) != 0) {
        pf_err_prefix(err, "[publish] secret_key");
        goto cleanup;
    }
    if (http_global_init(err) != 0)
        goto cleanup;
    if ((c->curl = curl_easy_init()) == NULL) {
        pf_errf(err, "s3: cannot start libcurl");
        goto cleanup;
    }
    *out = c;
    c = NULL;
    rc = 0;
cleanup:
    s3_client_free(c);
    return rc;
}

void
s3_client_free(struct s3_client *c)
{
    if (c == NULL)
        return;
    if (c->curl != NULL)
        curl_easy_cleanup(c->curl);
    wipe_free(c->user);
    wipe_free(c->pass);
    free(c->where);
    free(c->sigv4);
    free(c);
}

struct s3_stats *
s3_client_stats(struct s3_client *c)
{
    return &c->stats;
}

const char *
s3_client_where(const struct s3_client *c)
{
    return c->where;
}

/* PREFIX + key, each byte outside S3's unreserved set and '/' written
 * as %XX: the form S3 signs (it does not encode twice). */
static void
add_key(struct pf_buf *b, const char *prefix, const char *key)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *parts[2] = { prefix, key };

    for (int i = 0; i < 2; i++)
        for (const unsigned char *s = (const unsigned char *)parts[i]; *s;
             s++) {
            if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                (*s >= '0' && *s <= '9') || strchr("-._~/", *s) != NULL) {
                pf_buf_addc(b, (char)*s);
                continue;
            }
            pf_buf_addc(b, '%');
            pf_buf_addc(b, hex[*s >> 4]);
            pf_buf_addc(b, hex[*s & 15]);
        }
}

/* ENDPOINT/BUCKET/KEY (path style) or scheme://BUCKET.host/KEY. */
static char *
object_url(const struct s3_client *c, const char *key)
{
    const struct pf_publish_cfg *p = c->p;
    const char *host = strstr(p->endpoint, "://") + 3;
    struct pf_buf b;

    pf_buf_init(&b);
    if (p->path_style)
        pf_buf_addf(&b, "%s/%s/", p->endpoint, p->bucket);
    else
        pf_buf_addf(&b, "%.*s%s.%s/", (int)(host - p->endpoint),
                    p->endpoint, p->bucket, host);
    add_key(&b, p->prefix, key);
    pf_buf_addc(&b, '\0');
    return b.data;
}

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
    struct pf_buf *b = arg;
    size_t len = size * n;

    if (b->len < S3_ERR_BODY_MAX)
        pf_buf_add(b, data, len < S3_ERR_BODY_MAX - b->len
                                ? len : S3_ERR_BODY_MAX - b->len);
    return len;
}

/* The text of the first child element of root named name, into out. */
static void
xml_child_text(xmlNode *root, const char *name, char *out, size_t n)
{
    for (xmlNode *e = root ? root->children : NULL; e; e = e->next) {
        xmlChar *t;

        if (e->type != XML_ELEMENT_NODE ||
            strcmp((const char *)e->name, name) != 0)
            continue;
        t = xmlNodeGetContent(e);
        snprintf(out, n, "%s", t ? (const char *)t : "");
        xmlFree(t);
        return;
    }
}

/* S3's <Error><Code>..</Code><Message>..</Message></Error>, if the body
 * is one. */
static void
parse_error_body(struct s3_reply *r)
{
    xmlDoc *doc;

    r->code[0] = r->message[0] = '\0';
    if (r->body.len == 0)
        return;
    doc = xmlReadMemory(r->body.data, (int)r->body.len, "s3-error.xml",
                        NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
                        XML_PARSE_NOWARNING);
    if (doc == NULL)
        return;
    xml_child_text(xmlDocGetRootElement(doc), "Code", r->code,
                   sizeof(r->code));
    xml_child_text(xmlDocGetRootElement(doc), "Message", r->message,
                   sizeof(r->message));
    xmlFreeDoc(doc);
}

/* Options every request has: the signature, the credentials, timeouts
 * and where the answer's body goes. */
static void
set_common(struct s3_client *c, const char *url, struct s3_reply *r,
           struct curl_slist *hdrs)
{
    CURL *h = c->curl;

    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, c->sigv4);
    curl_easy_setopt(h, CURLOPT_USERNAME, c->user);
    curl_easy_setopt(h, CURLOPT_PASSWORD, c->pass);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 20L);
    /* A stalled transfer (under 1 KB/s for 60 s) is a network error. */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "posfeed");
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
}

/* A transport error worth another attempt: the network, not us. */
static int
cc_retryable(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
        return 1;
    default:
        return 0;
    }
}

static int
reply_retryable(const struct s3_reply *r)
{
    if (r->cc != CURLE_OK)
        return cc_retryable(r->cc);
    return r->status >= 500 || r->status == 429 ||
           strcmp(r->code, "RequestTimeout") == 0 ||
           strcmp(r->code, "SlowDown") == 0;
}

static void
backoff(int attempt)
{
    double s = S3_BACKOFF_BASE_S;
    struct timespec ts;

    for (int i = 0; i < attempt && s < S3_BACKOFF_CAP_S; i++)
        s *= 2;
    if (s > S3_BACKOFF_CAP_S)
        s = S3_BACKOFF_CAP_S;
    /* Up to a quarter more, so that many shops failing together do not
     * come back in step. */
    s += s * 0.25 * ((double)(rand() % 1000) / 1000.0);
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The failure of what (e.g. "PUT clerk.json") as one message. */
static void
reply_error(struct s3_client *c, const char *what, const char *key,
            const struct s3_reply *r, int attempts, struct pf_err *err)
{
    char tries[48] = "";

    if (attempts > 1)
        snprintf(tries, sizeof(tries), " (after %d attempts)", attempts);
    if (r->cc != CURLE_OK)
        pf_errf(err, "s3: %s %s%s failed: %s%s", what, c->where, key,
                c->errbuf[0] ? c->errbuf : curl_easy_strerror(r->cc),
                tries);
    else
        pf_errf(err, "s3: %s %s%s failed: HTTP %ld%s%s%s%s%s", what,
                c->where, key, r->status, r->code[0] ? " " : "", r->code,
                r->message[0] ? ": " : "", r->message, tries);
}

/* One attempt: perform what set_common and the caller set up. */
static void
perform(struct s3_client *c, struct s3_reply *r)
{
    pf_buf_reset(&r->body);
    c->errbuf[0] = '\0';
    r->status = 0;
    r->cc = curl_easy_perform(c->curl);
    if (r->cc == CURLE_OK)
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r->status);
    r->code[0] = r->message[0] = '\0';
    if (r->cc == CURLE_OK && r->status >= 300)
        parse_error_body(r);
}

/* The kinds of request. */
enum s3_verb { S3_PUT, S3_HEAD, S3_DELETE };

struct s3_req {
    enum s3_verb verb;
    const char *key;
    const struct s3_object *obj;    /* PUT */
    FILE *f;                        /* PUT: the body */
    int64_t size;
    struct curl_slist *hdrs;
};

static void
set_verb(struct s3_client *c, const struct s3_req *q)
{
    if (q->verb == S3_PUT) {
        curl_easy_setopt(c->curl, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c->curl, CURLOPT_READDATA, q->f);
        curl_easy_setopt(c->curl, CURLOPT_INFILESIZE_LARGE,
                         (curl_off_t)q->size);
    }
    else if (q->verb == S3_HEAD) {
        curl_easy_setopt(c->curl, CURLOPT_NOBODY, 1L);
    }
    else {
        curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, "DELETE");
    }
}

/* Runs q with retries; 0 with r's last status (the caller judges 404),
 * -1 when the last attempt failed in transport or with a status that is
 * not a success and not one ok404 lets through. */
static int
run_request(struct s3_client *c, const struct s3_req *q, int ok404,
            struct s3_reply *r, struct pf_err *err)
{
    static const char *const verbs[] = { "PUT", "HEAD", "DELETE" };
    char *url = object_url(c, q->key);
    int attempt, rc = -1;

    for (attempt = 0;; attempt++) {
        if (q->f != NULL && fseeko(q->f, 0, SEEK_SET) != 0) {
            pf_errf(err, "s3: %s: cannot rewind: %s", q->obj->path,
                    strerror(errno));
            goto cleanup;
        }
        set_common(c, url, r, q->hdrs);
        set_verb(c, q);
        perform(c, r);
        if (r->cc == CURLE_OK && ((r->status >= 200 && r->status < 300) ||
                                  (ok404 && r->status == 404)))
            break;
        if (!reply_retryable(r) || attempt >= c->p->retries) {
            reply_error(c, verbs[q->verb], q->key, r, attempt + 1, err);
            goto cleanup;
        }
        if (r->cc != CURLE_OK)
            log_warn("s3: %s %s%s: %s, retrying", verbs[q->verb], c->where,
                     q->key, curl_easy_strerror(r->cc));
        else
            log_warn("s3: %s %s%s: HTTP %ld %s, retrying", verbs[q->verb],
                     c->where, q->key, r->status, r->code);
        c->stats.retries++;
        backoff(attempt);
    }
    rc = 0;
cleanup:
    free(url);
    return rc;
}

static struct curl_slist *
put_headers(const struct s3_object *o)
{
    struct curl_slist *h = NULL;
    char line[512];

    snprintf(line, sizeof(line), "Content-Type: %s", o->content_type);
    h = curl_slist_append(h, line);
    if (o->content_encoding != NULL) {
        snprintf(line, sizeof(line), "Content-Encoding: %s",
                 o->content_encoding);
        h = curl_slist_append(h, line);
    }
    snprintf(line, sizeof(line), "Cache-Control: %s", o->cache_control);
    h = curl_slist_append(h, line);
    snprintf(line, sizeof(line), "x-amz-content-sha256: %s", o->sha256);
    h = curl_slist_append(h, line);
    snprintf(line, sizeof(line), S3_META_SHA256 ": %s", o->sha256);
    return curl_slist_append(h, line);
}

/* The last answer's header name equals want ("" when want is NULL: the
 * header must then be absent). */
static int
header_is(CURL *h, const char *name, const char *want)
{
    struct curl_header *hd = NULL;

    if (curl_easy_header(h, name, 0, CURLH_HEADER, -1, &hd) != CURLHE_OK)
        return want == NULL;
    return want != NULL && strcmp(hd->value, want) == 0;
}

/* Whether the bucket already holds o as this PUT would store it: one
 * HEAD, not retried, answering 200 with o's SHA-256 in the metadata, the
 * same length, and the headers the PUT would set (so a changed
 * cache_control still reaches every object). Anything else, including a
 * failed HEAD, is "no": the caller uploads, as it would without asking. */
static int
object_is_current(struct s3_client *c, const struct s3_object *o,
                  int64_t size)
{
    struct s3_req q;
    struct s3_reply r;
    curl_off_t len = -1;
    char *url = object_url(c, o->key);
    int same = 0;

    memset(&q, 0, sizeof(q));
    memset(&r, 0, sizeof(r));
    pf_buf_init(&r.body);
    q.verb = S3_HEAD;
    q.hdrs = curl_slist_append(NULL, "x-amz-content-sha256: "
                               S3_EMPTY_SHA256);
    set_common(c, url, &r, q.hdrs);
    set_verb(c, &q);
    perform(c, &r);
    if (r.cc == CURLE_OK && r.status == 200) {
        curl_easy_getinfo(c->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
        same = len == (curl_off_t)size &&
               header_is(c->curl, S3_META_SHA256, o->sha256) &&
               header_is(c->curl, "Content-Type", o->content_type) &&
               header_is(c->curl, "Content-Encoding", o->content_encoding) &&
               header_is(c->curl, "Cache-Control", o->cache_control);
    }
    else if (r.cc != CURLE_OK || r.status != 404) {
        log_debug("s3: HEAD %s%s: %s, uploading", c->where, o->key,
                  r.cc != CURLE_OK ? curl_easy_strerror(r.cc) : "no 200");
    }
    free(url);
    curl_slist_free_all(q.hdrs);
    pf_buf_free(&r.body);
    return same;
}

int
s3_put(struct s3_client *c, const struct s3_object *o, struct pf_err *err)
{
    struct s3_req q;
    struct s3_reply r;
    struct stat st;
    int rc = -1;

    memset(&q, 0, sizeof(q));
    memset(&r, 0, sizeof(r));
    pf_buf_init(&r.body);
    q.verb = S3_PUT;
    q.key = o->key;
    q.obj = o;
    q.f = fopen(o->path, "rb");
    if (q.f == NULL || fstat(fileno(q.f), &st) != 0) {
        pf_errf(err, "s3: cannot read %s: %s", o->path, strerror(errno));
        goto cleanup;
    }
    q.size = (int64_t)st.st_size;
    if (object_is_current(c, o, q.size)) {
        c->stats.unchanged++;
        log_debug("s3: %s%s unchanged, not uploaded", c->where, o->key);
        rc = 1;
        goto cleanup;
    }
    q.hdrs = put_headers(o);
    if (run_request(c, &q, 0, &r, err) != 0)
        goto cleanup;
    c->stats.objects++;
    c->stats.bytes += q.size;
    log_debug("s3: PUT %s%s (%lld bytes)", c->where, o->key,
              (long long)q.size);
    rc = 0;
cleanup:
    if (q.f != NULL)
        fclose(q.f);
    curl_slist_free_all(q.hdrs);
    pf_buf_free(&r.body);
    return rc;
}

/* HEAD or DELETE of key, which send no body. */
static int
bodiless(struct s3_client *c, enum s3_verb verb, const char *key,
         long *status, struct pf_err *err)
{
    struct s3_req q;
    struct s3_reply r;
    int rc;

    memset(&q, 0, sizeof(q));
    memset(&r, 0, sizeof(r));
    pf_buf_init(&r.body);
    q.verb = verb;
    q.key = key;
    q.hdrs = curl_slist_append(NULL, "x-amz-content-sha256: "
                               S3_EMPTY_SHA256);
    rc = run_request(c, &q, 1, &r, err);
    *status = r.status;
    curl_slist_free_all(q.hdrs);
    pf_buf_free(&r.body);
    return rc;
}

int
s3_exists(struct s3_client *c, const char *key, struct pf_err *err)
{
    long status = 0;

    if (bodiless(c, S3_HEAD, key, &status, err) != 0)
        return -1;
    return status != 404;
}

int
s3_delete(struct s3_client *c, const char *key, struct pf_err *err)
{
    long status = 0;

    return bodiless(c, S3_DELETE, key, &status, err);
}
