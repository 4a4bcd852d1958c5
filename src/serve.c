/* serve.c - see serve.h.
 *
 * Threads: libmicrohttpd answers requests on its own polling threads; the
 * main thread only waits for signals (sigtimedwait, so no handler runs
 * async), reaps the run child, follows the schedule and refreshes the
 * cached list of published feeds from the store. Shared state sits behind
 * two locks: cfg_lock (a read-write lock, so SIGHUP can swap the config
 * while requests read it) and mu (feeds, runs, counters). TZ switching
 * (timeutil.h, schedule.h) is not thread-safe, so every call that needs
 * the shop's calendar holds tz_mu.
 *
 * Feeds are served only when they are rows of the store's feeds table:
 * a request path is looked up there, never mapped onto the file system,
 * so nothing outside the published set is reachable. The feeds cache
 * (serve_cache.h) holds each published file's identity, validators and
 * ready 304 answers, refreshed once per publish (this server's runs, and
 * other processes' publishes seen within a second), so a 304 makes no
 * file system call. A full response opens the one file it sends and
 * hands it to MHD as an fd, so a publish that renames a new version into
 * place mid-transfer does not disturb the old inode being sent; it uses
 * the record's validators only when the opened file is the recorded
 * one, so the ETag sent is always the one of the bytes sent.
 *
 * Requests are read by serve_req.c (pure functions, fuzzed); every
 * connection has a request deadline kept by serve_conn.c and enforced by
 * the main loop; the status page and /metrics are rendered by
 * serve_page.c from a document that, without the token, holds only what
 * anyone may see (status_public).
 */
/* realpath() is an XSI interface. */
#define _XOPEN_SOURCE 700

#include "serve.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "feed.h"
#include "log.h"
#include "schedule.h"
#include "serve_cache.h"
#include "serve_clerk.h"
#include "serve_conn.h"
#include "serve_page.h"
#include "serve_req.h"
#include "serve_tls.h"
#include "source.h"
#include "status.h"
#include "store.h"
#include "timeutil.h"
#include "util.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define MAX_JOBS 64
#define CHART_DAYS 30

extern char **environ;

/* One pipeline run started by this server. */
struct job {
    int id;
    pid_t pid;              /* 0 once reaped */
    const char *trigger;    /* "api" | "schedule" */
    const char *state;      /* "running" | "ok" | "failed" */
    int64_t started, ended;
    int exit_code;          /* -1 while running; signal: 128 + N */
    int64_t store_before;   /* highest runs.id before it started */
    int64_t store_run;      /* its row in runs, 0 until known */
};

struct server {
    char *config_path;      /* absolute */
    const char *listen_arg; /* --listen, or NULL for [serve] listen */

    pthread_rwlock_t cfg_lock;
    struct pf_config *cfg;
    char *token;            /* NULL when none is configured */
    char *feeds_real;       /* realpath of feeds_dir, NULL if missing */

    struct feed_cache *cache;
    atomic_ulong request_opens;     /* feed files opened by requests */

    pthread_mutex_t mu;
    struct job jobs[MAX_JOBS];
    int njobs;              /* ever started; jobs[(id-1) % MAX_JOBS] */
    int running;            /* id of the running job, 0 if none */
    int64_t next_run;       /* -1: none scheduled */
    /* Responses by status code: atomic, as every request counts one
     * and a lock would make the request threads take turns. */
    atomic_ulong hits[600];
    unsigned long cut;      /* requests cut at their deadline */

    pthread_mutex_t tz_mu;
    int64_t clock_base;
    double mono_base, speed;
    struct conn_watch *watch;
    struct MHD_Daemon *d;
    int tls;                /* the listener speaks HTTPS (fixed at start) */
    struct clerk *clerk;    /* /clerk/v2/ (serve_clerk.h) */
};

/* ---- clock -------------------------------------------------------------- */

/* Wall clock of the server. POSFEED_NOW pins its start (as for every
 * command) and the test-only POSFEED_SERVE_CLOCK_SPEED makes it run
 * faster, so a test can watch a daily schedule fire within seconds. */
static int64_t
srv_now(struct server *s)
{
    return s->clock_base +
           (int64_t)((pf_now_mono() - s->mono_base) * s->speed);
}

/* ---- small helpers ----------------------------------------------------- */

/* Constant time whatever the lengths: both sides are hashed first, so
 * neither the content nor the length of the token leaks through timing. */
static int
secret_eq(const char *given, size_t n, const char *token)
{
    unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];

    SHA256((const unsigned char *)given, n, a);
    SHA256((const unsigned char *)token, strlen(token), b);
    return CRYPTO_memcmp(a, b, sizeof a) == 0;
}

/* Authorization: Bearer T, Basic base64(user:T), or ?token=T. */
static int
token_ok(struct MHD_Connection *c, const char *token)
{
    const char *q;
    char *given;
    size_t n;
    int ok = 0;

    if (token == NULL || *token == '\0')
        return 0;
    if (req_credential(MHD_lookup_connection_value(
                           c, MHD_HEADER_KIND,
                           MHD_HTTP_HEADER_AUTHORIZATION),
                       &given, &n) == 0) {
        ok |= secret_eq(given, n, token);
        OPENSSL_cleanse(given, n);
        free(given);
    }
    q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
    if (q != NULL)
        ok |= secret_eq(q, strlen(q), token);
    return ok;
}

/* token_ok() under the config lock, for handlers that hold nothing. */
static int
authorized(struct server *s, struct MHD_Connection *c)
{
    int ok;

    pthread_rwlock_rdlock(&s->cfg_lock);
    ok = token_ok(c, s->token);
    pthread_rwlock_unlock(&s->cfg_lock);
    return ok;
}

/* ---- connections ------------------------------------------------------ */

/* Per-request state: made by the URI log callback, handed to the access
 * handler as *con_cls, freed when the request completes. */
struct req_state {
    const char *raw;        /* the request target as received */
    size_t raw_len;         /* up to its first NUL */
    int nul_escaped;        /* "%00" in the path */
    int started;            /* the handler has seen the headers */
};

/* Every connection gets a request deadline from the moment it is
 * accepted (serve_conn.h). */
static void
on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
              enum MHD_ConnectionNotificationCode code)
{
    struct server *s = cls;
    const union MHD_ConnectionInfo *ci;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = ci == NULL ? NULL
                          : conn_watch_add(s->watch, ci->connect_fd,
                                           pf_now_mono());
        return;
    }
    if (s->tls) {
        ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
        serve_tls_session_closed(ci != NULL ? ci->tls_session : NULL);
    }
    conn_watch_remove(s->watch, *socket_context);
    *socket_context = NULL;
}

static struct conn_entry *
conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci;

    ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci != NULL ? ci->socket_context : NULL;
}

/* A response is sent (or the request died): the next request on this
 * connection (keep-alive) must arrive within the deadline too. */
static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    struct server *s = cls;

    (void)toe;
    free(*con_cls);
    *con_cls = NULL;
    conn_watch_rearm(s->watch, conn_of(c), pf_now_mono());
}

/* Sees the request target before MHD decodes it in place, where "%00"
 * would cut the path short. */
static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    struct req_state *r = xcalloc(1, sizeof(*r));

    (void)cls;
    (void)c;
    r->raw = uri;
    r->raw_len = strlen(uri);
    r->nul_escaped = req_raw_path_has_nul(uri);
    return r;
}

/* 1 if the request target held a NUL, escaped or raw. MHD 0.9.75 hands
 * the target over as a C string, so a raw NUL byte cuts it silently; but
 * the target lies in MHD's buffer right before the space that precedes
 * the version, so when the handler's url is that same buffer and the
 * target's string ends short of that space, a NUL cut it. (If a later
 * MHD copies the strings, the pointers differ and only "%00" is seen.) */
static int
target_has_nul(const struct req_state *r, const char *url,
               const char *version)
{
    if (r->nul_escaped)
        return 1;
    return url == r->raw && *version != '\0' &&
           r->raw + r->raw_len != version - 1;
}

/* ---- responses ---------------------------------------------------------- */

/* Queues r, which the caller still owns (a shared response). */
static enum MHD_Result
respond_shared(struct server *s, struct MHD_Connection *c, unsigned code,
               struct MHD_Response *r)
{
    enum MHD_Result ret = MHD_queue_response(c, code, r);

    /* The request is in and answered: its deadline is met. */
    if (ret == MHD_YES)
        conn_watch_answered(s->watch, conn_of(c));
    atomic_fetch_add_explicit(&s->hits[code < 600 ? code : 0], 1,
                              memory_order_relaxed);
    return ret;
}

/* Queues r and drops the caller's reference. */
static enum MHD_Result
respond(struct server *s, struct MHD_Connection *c, unsigned code,
        struct MHD_Response *r)
{
    enum MHD_Result ret = respond_shared(s, c, code, r);

    MHD_destroy_response(r);
    return ret;
}

/* respond() for serve_clerk.c. */
static enum MHD_Result
clerk_respond(void *arg, struct MHD_Connection *c, unsigned code,
              struct MHD_Response *r)
{
    return respond(arg, c, code, r);
}

static enum MHD_Result
respond_buf(struct server *s, struct MHD_Connection *c, unsigned code,
            const char *ctype, const char *body, size_t len)
{
    struct MHD_Response *r;

    r = MHD_create_response_from_buffer(len, (void *)body,
                                        MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    return respond(s, c, code, r);
}

static enum MHD_Result
respond_text(struct server *s, struct MHD_Connection *c, unsigned code,
             const char *msg)
{
    return respond_buf(s, c, code, "text/plain; charset=utf-8", msg,
                       strlen(msg));
}

static enum MHD_Result
respond_json(struct server *s, struct MHD_Connection *c, unsigned code,
             cJSON *doc)
{
    char *txt = cJSON_PrintUnformatted(doc);
    enum MHD_Result ret;

    ret = respond_buf(s, c, code, "application/json", txt, strlen(txt));
    cJSON_free(txt);
    cJSON_Delete(doc);
    return ret;
}

static enum MHD_Result
not_allowed(struct server *s, struct MHD_Connection *c, const char *allow)
{
    static const char msg[] = "405 method not allowed\n";
    struct MHD_Response *r;

    r = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg,
                                        MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/plain; charset=utf-8");
    return respond(s, c, MHD_HTTP_METHOD_NOT_ALLOWED, r);
}

static enum MHD_Result
unauthorized(struct server *s, struct MHD_Connection *c)
{
    static const char msg[] =
        "401 this needs the serve token: Authorization: Bearer TOKEN, "
        "the token as HTTP basic password, or ?token=TOKEN\n";
    struct MHD_Response *r;

    r = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg,
                                        MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                            "Bearer realm=\"posfeed\"");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/plain; charset=utf-8");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    return respond(s, c, MHD_HTTP_UNAUTHORIZED, r);
}

/* ---- feeds ------------------------------------------------------------ */

/* 1 when the config as it is now wants the feed of a store record
 * ("NAME", "NAME:part-2", "NAME:index") behind the token. A record keeps
 * the access of its last publish, so a feed made private by a config
 * change or by a newer posfeed's defaults would still be handed out
 * without a token until its next build; serve applies the stricter of
 * the two. A template that cannot be read counts as private. Main
 * thread only (it reads s->cfg, which only the main thread replaces). */
static int
config_wants_token(void *arg, const char *record)
{
    const struct server *s = arg;
    const struct pf_feed_cfg *fc = NULL;
    size_t i, n = strcspn(record, ":");
    struct pf_err err = {{0}};
    struct tpl *t = NULL;
    int token;

    for (i = 0; i < s->cfg->nfeeds && fc == NULL; i++)
        if (strlen(s->cfg->feeds[i].name) == n &&
            strncmp(s->cfg->feeds[i].name, record, n) == 0)
            fc = &s->cfg->feeds[i];
    if (fc == NULL || fc->access == PF_ACCESS_PUBLIC)
        return 0;
    if (fc->access == PF_ACCESS_TOKEN)
        return 1;
    if (tpl_load(fc->template_path, &t, &err) != 0)
        return 1;
    token = strcmp(feed_access(fc, t), "public") != 0;
    tpl_free(t);
    return token;
}

/* Re-reads the published feeds and reopens their files (serve_cache.h).
 * Main thread only. */
static void
refresh_feeds(struct server *s)
{
    cache_refresh(s->cache, s->cfg->store_path, s->cfg->feeds_dir,
                  s->feeds_real, config_wants_token, s);
}

/* One representation of a feed, opened for one full response: the file
 * (or its gzip twin) and its validators. */
struct rep {
    int fd;
    int64_t size;
    int token, gz, vary;
    const char *ctype;
    char etag[96], lm[40];
};

/* Counts a feed file opened by a request, for /metrics. */
static int
count_open(struct server *s, int fd)
{
    atomic_fetch_add_explicit(&s->request_opens, 1, memory_order_relaxed);
    return fd;
}

/* The validators of a file opened by the checked path: the record's
 * when it is the recorded file, else from the file itself. */
static void
rep_name(struct rep *rp, const struct cache_file *rec, const char *etag,
         const struct stat *sb, const char *tail)
{
    struct cache_file now = {0};

    cache_file_set(&now, sb);
    rp->size = now.size;
    memcpy(rp->lm, now.lm, sizeof rp->lm);
    if (cache_file_is(rec, sb))
        memcpy(rp->etag, etag, sizeof rp->etag);
    else
        cache_etag(rp->etag, &now, "", -1, tail);
}

/* The file on disk is not the one the record was made from (replaced,
 * deleted or made a symlink since the last refresh): open it as if
 * uncached, checking it lies inside feeds_dir, and negotiate the twin
 * by its mtime as the cache does. -1 if the file is gone. */
static int
open_checked(struct server *s, const struct cache_entry *e,
             enum cache_view v, struct rep *rp)
{
    struct stat st, gst;
    char *dir, *real_dir;
    int gfd = -1;

    pthread_rwlock_rdlock(&s->cfg_lock);
    dir = xstrdup(s->cfg->feeds_dir);
    real_dir = s->feeds_real ? xstrdup(s->feeds_real) : NULL;
    pthread_rwlock_unlock(&s->cfg_lock);
    rp->fd = count_open(s, cache_open_inside(
        dir, real_dir, e->path, v == CV_GZ_FILE ? ".gz" : "", &st));
    if (rp->fd >= 0 && v == CV_GZIP)
        gfd = count_open(s, cache_open_inside(dir, real_dir, e->path,
                                              ".gz", &gst));
    free(dir);
    free(real_dir);
    if (rp->fd < 0) {
        if (gfd >= 0)
            close(gfd);
        return -1;
    }
    if (gfd >= 0 && gst.st_mtim.tv_sec == st.st_mtim.tv_sec &&
        gst.st_mtim.tv_nsec == st.st_mtim.tv_nsec) {
        close(rp->fd);
        rp->fd = gfd;
        rp->gz = 1;
        rep_name(rp, &e->file[1], e->etag[CV_GZIP], &gst, "-gz");
        return 0;
    }
    if (gfd >= 0)
        close(gfd);
    if (v == CV_GZ_FILE)
        rep_name(rp, &e->file[1], e->etag[CV_GZ_FILE], &st, "");
    else
        rep_name(rp, &e->file[0], e->etag[CV_IDENTITY], &st, "");
    return 0;
}

/* Opens what a full response sends. The file at the recorded path is
 * opened without following a symlink; when it is the very file the
 * record was made from (device, inode, size, mtime), the refresh found
 * it inside feeds_dir and the record's validators are its own: one
 * open(), one fstat(). Anything else takes open_checked() and asks the
 * cache to refresh. -1 if the file is gone. e is the caller's copy. */
static int
open_rep(struct server *s, const struct cache_entry *e, enum cache_view v,
         struct rep *rp)
{
    const struct cache_file *f = &e->file[v == CV_IDENTITY ? 0 : 1];
    struct stat sb;

    memset(rp, 0, sizeof(*rp));
    rp->token = e->token;
    rp->vary = v != CV_GZ_FILE && e->twin;
    rp->ctype = cache_content_type(e, v);
    rp->fd = count_open(s, open(f->abs, O_RDONLY | O_CLOEXEC |
                                            O_NOFOLLOW));
    if (rp->fd >= 0 && fstat(rp->fd, &sb) == 0 && cache_file_is(f, &sb)) {
        rp->size = f->size;
        rp->gz = v == CV_GZIP;
        memcpy(rp->etag, e->etag[v], sizeof rp->etag);
        memcpy(rp->lm, f->lm, sizeof rp->lm);
        return 0;
    }
    if (rp->fd >= 0)
        close(rp->fd);
    cache_poke(s->cache);
    return open_checked(s, e, v, rp);
}

/* If-None-Match, or without it If-Modified-Since (section 13.2.2). */
static int
not_modified(struct MHD_Connection *c, const char *etag, int64_t mtime)
{
    const char *inm, *ims;
    int64_t t;

    inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                      MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (inm != NULL)
        return req_etag_match(inm, etag);
    ims = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                      MHD_HTTP_HEADER_IF_MODIFIED_SINCE);
    t = req_parse_http_date(ims);
    return t >= 0 && mtime <= t;
}

/* The part of the representation a GET asks for (section 14.2): Range
 * counts only when If-Range is absent or names this very version, so a
 * resumed download never splices two versions together. */
static enum req_range
wanted_range(struct MHD_Connection *c, const struct rep *rp, int head,
             int64_t *first, int64_t *last)
{
    const char *range, *ifr;

    range = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                        MHD_HTTP_HEADER_RANGE);
    ifr = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                      MHD_HTTP_HEADER_IF_RANGE);
    if (head || range == NULL || (ifr != NULL &&
                                  !req_if_range_ok(ifr, rp->etag)))
        return REQ_RANGE_NONE;
    return req_range_parse(range, rp->size, first, last);
}

/* The body for code: a short text (416), or the bytes [first, last] of
 * the file, which MHD then owns and closes. Over TLS in bigger blocks
 * (serve_tls_file_response says why). */
static struct MHD_Response *
rep_body(unsigned code, struct rep *rp, int64_t first, int64_t last,
         int tls)
{
    static const char unsat[] = "416 range not satisfiable\n";
    struct MHD_Response *r;

    if (code == MHD_HTTP_RANGE_NOT_SATISFIABLE)
        return MHD_create_response_from_buffer(
            sizeof unsat - 1, (void *)unsat, MHD_RESPMEM_PERSISTENT);
    if (tls) {
        r = serve_tls_file_response((uint64_t)(last - first + 1), rp->fd,
                                    (uint64_t)first);
        rp->fd = -1;
        return r;
    }
    r = MHD_create_response_from_fd_at_offset64(
        (uint64_t)(last - first + 1), rp->fd, (uint64_t)first);
    if (r != NULL)
        rp->fd = -1;
    return r;
}

/* The headers of a 200, 206 or 416; a 304 has the same validators and
 * caching headers (serve_cache.c make_304). */
static void
rep_headers(struct MHD_Response *r, unsigned code, const struct rep *rp,
            int64_t first, int64_t last)
{
    char cr[80];

    if (rp->gz)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING,
                                "gzip");
    MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, rp->etag);
    MHD_add_response_header(r, MHD_HTTP_HEADER_LAST_MODIFIED, rp->lm);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
                            rp->token ? "private, no-cache"
                                      : "public, no-cache");
    if (rp->vary)
        MHD_add_response_header(r, MHD_HTTP_HEADER_VARY,
                                MHD_HTTP_HEADER_ACCEPT_ENCODING);
    if (code == MHD_HTTP_RANGE_NOT_SATISFIABLE) {
        /* Section 15.5.17: the current length. */
        snprintf(cr, sizeof cr, "bytes */%lld", (long long)rp->size);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                "text/plain; charset=utf-8");
        return;
    }
    if (code == MHD_HTTP_PARTIAL_CONTENT) {
        /* Section 14.4: the part sent and the whole length. */
        snprintf(cr, sizeof cr, "bytes %lld-%lld/%lld", (long long)first,
                 (long long)last, (long long)rp->size);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rp->ctype);
    /* Section 14.3: tells a client it may resume with Range. */
    MHD_add_response_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
}

/* 416, 206 or 200 for a representation that is not a 304. Takes
 * rp->fd. */
static enum MHD_Result
send_rep(struct server *s, struct MHD_Connection *c, struct rep *rp,
         int head)
{
    struct MHD_Response *r;
    int64_t first = 0, last = rp->size - 1;
    unsigned code = MHD_HTTP_OK;

    switch (wanted_range(c, rp, head, &first, &last)) {
    case REQ_RANGE_OK:
        code = MHD_HTTP_PARTIAL_CONTENT;
        break;
    case REQ_RANGE_UNSATISFIABLE:
        code = MHD_HTTP_RANGE_NOT_SATISFIABLE;
        break;
    case REQ_RANGE_NONE:
        break;
    }
    r = rep_body(code, rp, first, last, s->tls);
    if (r == NULL)
        return MHD_NO;
    rep_headers(r, code, rp, first, last);
    return respond(s, c, code, r);
}

/* Which view of entry e a request gets (NULL e: none); -1 when that
 * view has no file (a feed whose file is gone is 404). */
static int
pick_view(struct MHD_Connection *c, const struct cache_entry *e,
          int twin)
{
    enum cache_view v = CV_IDENTITY;

    if (e == NULL)
        return -1;
    if (twin)
        v = CV_GZ_FILE;
    else if (e->twin_ok &&
             req_accepts_gzip(MHD_lookup_connection_value(
                 c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING)))
        v = CV_GZIP;
    if (!e->file[v == CV_IDENTITY ? 0 : 1].ok || e->r304[v] == NULL)
        return -1;
    return (int)v;
}

/* GET/HEAD /feeds/REL. A 304 comes from the cache with no file system
 * call; a full response opens the file (open_rep). No enumeration:
 * without the token, a name that is not a public feed gets the same 401
 * whether a token feed has it or nothing does; with the token, an
 * unknown name is 404. */
static enum MHD_Result
serve_feed(struct server *s, struct MHD_Connection *c, const char *rel,
           int head)
{
    const struct cache_entry *e = NULL;
    struct cache_entry copy;
    enum MHD_Result ret;
    struct rep rp;
    int ok, twin = 0, v;

    /* Checked for every request, so the time taken does not tell a
     * token feed from an unknown name either. */
    ok = authorized(s, c);
    cache_lock(s->cache);
    if (req_path_ok(rel))
        e = cache_find(s->cache, rel, &twin);
    if (!ok && !(e != NULL && !e->token)) {
        cache_unlock(s->cache);
        return unauthorized(s, c);
    }
    v = pick_view(c, e, twin);
    if (v >= 0 && not_modified(c, e->etag[v],
                               (int64_t)e->file[v ? 1 : 0].mtime.tv_sec)) {
        /* Queued under the lock, which keeps the shared response alive
         * until MHD holds its own reference. */
        ret = respond_shared(s, c, MHD_HTTP_NOT_MODIFIED, e->r304[v]);
        cache_unlock(s->cache);
        return ret;
    }
    if (v >= 0)
        cache_entry_copy(e, &copy);
    cache_unlock(s->cache);
    if (v < 0)
        return respond_text(s, c, MHD_HTTP_NOT_FOUND, "404 not found\n");
    if (open_rep(s, &copy, (enum cache_view)v, &rp) != 0) {
        cache_entry_clear(&copy);
        return respond_text(s, c, MHD_HTTP_NOT_FOUND, "404 not found\n");
    }
    cache_entry_clear(&copy);
    ret = send_rep(s, c, &rp, head);
    if (rp.fd >= 0)
        close(rp.fd);
    return ret;
}

/* ---- runs --------------------------------------------------------------- */

static int64_t
store_max_run(const char *store_path)
{
    struct store *st = NULL;
    sqlite3_stmt *q = NULL;
    int64_t id = 0;

    if (store_open_readonly(store_path, &st, NULL) != 0)
        return 0;
    if (sqlite3_prepare_v2(store_db(st), "SELECT max(id) FROM runs", -1,
                           &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        id = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    store_close(st);
    return id;
}

static struct job *
job_get(struct server *s, int id)
{
    if (id < 1 || id > s->njobs || id <= s->njobs - MAX_JOBS)
        return NULL;
    return &s->jobs[(id - 1) % MAX_JOBS];
}

/* Starts `posfeed -c CONFIG -q run` as a child. mu held. Returns the job
 * id or 0 (logged). */
static int
start_job(struct server *s, const char *trigger)
{
    char *argv[] = {"posfeed", "-c", s->config_path, "-q", "run", NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, dflt;
    struct job *j;
    pid_t pid;
    int rc;

    sigemptyset(&none);
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGTERM);
    sigaddset(&dflt, SIGINT);
    sigaddset(&dflt, SIGHUP);
    sigaddset(&dflt, SIGPIPE);
    sigaddset(&dflt, SIGCHLD);
    posix_spawn_file_actions_init(&fa);
    /* The run's summary goes to the server's log, not its stdout. */
    posix_spawn_file_actions_adddup2(&fa, 2, 1);
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
                                  POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dflt);
    rc = posix_spawn(&pid, "/proc/self/exe", &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc != 0) {
        log_error("cannot start a run: %s", strerror(rc));
        return 0;
    }
    s->njobs++;
    j = &s->jobs[(s->njobs - 1) % MAX_JOBS];
    memset(j, 0, sizeof(*j));
    j->id = s->njobs;
    j->pid = pid;
    j->trigger = trigger;
    j->state = "running";
    j->started = srv_now(s);
    j->exit_code = -1;
    j->store_before = store_max_run(s->cfg->store_path);
    s->running = j->id;
    log_info("run %d started (%s, pid %ld)", j->id, trigger, (long)pid);
    return j->id;
}

/* A run that died could not write its own end, and one refused before
 * it opened the store (a config error) wrote nothing: record both, so
 * the run history never shows a dead run as still going and every failed
 * run is there with its error. */
static void
record_failure(struct server *s, int64_t store_before, int exit_code)
{
    struct pf_err err = {{0}};
    struct store *st = NULL;
    sqlite3_stmt *q = NULL;
    int64_t id = 0;
    char msg[128];

    if (exit_code > 128)
        snprintf(msg, sizeof msg, "interrupted by signal %d",
                 exit_code - 128);
    else
        snprintf(msg, sizeof msg, "run exited with status %d before it "
                 "started; see the server log", exit_code);
    if (store_open(s->cfg->store_path, &st, &err) != 0)
        return;
    q = store_stmt(st, "SELECT id, result FROM runs WHERE id > ?1 "
                   "ORDER BY id LIMIT 1", &err);
    if (q == NULL)
        goto cleanup;
    sqlite3_bind_int64(q, 1, store_before);
    if (sqlite3_step(q) == SQLITE_ROW) {
        id = sqlite3_column_int64(q, 0);
        if (strcmp((const char *)sqlite3_column_text(q, 1), "running") != 0)
            id = -1;
    }
    sqlite3_reset(q);
    if (id == 0 && store_run_start(st, "run", &id, &err) != 0)
        goto cleanup;
    if (id > 0)
        store_run_end(st, id, "failed", msg, &err);
cleanup:
    store_close(st);
}

/* Main thread: collects the run child when it has ended. */
static void
reap(struct server *s, int block)
{
    struct job *j;
    pid_t pid;
    int status, id, code;

    pthread_mutex_lock(&s->mu);
    id = s->running;
    j = job_get(s, id);
    pid = j ? j->pid : 0;
    pthread_mutex_unlock(&s->mu);
    if (pid <= 0)
        return;
    if (waitpid(pid, &status, block ? 0 : WNOHANG) != pid)
        return;
    if (WIFEXITED(status))
        code = WEXITSTATUS(status);
    else
        code = 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    /* The store gets the failure before /runs/N can report the end, so
     * a client that sees "failed" also finds the store's record. */
    if (code != 0)
        record_failure(s, j->store_before, code);
    /* Likewise the feeds the run published are served before it is
     * reported ended: a client that sees "ok" and fetches a feed gets
     * the new one, not a 401 for a feed the cache does not know yet. */
    refresh_feeds(s);
    pthread_mutex_lock(&s->mu);
    j->pid = 0;
    j->ended = srv_now(s);
    j->exit_code = code;
    j->state = code == 0 ? "ok" : "failed";
    s->running = 0;
    pthread_mutex_unlock(&s->mu);
    if (code == 0)
        log_info("run %d finished ok", id);
    else
        log_warn("run %d failed (exit %d); the last good feeds stay "
                 "served", id, code);
}

static cJSON *
job_json(struct server *s, const struct job *j)
{
    cJSON *o = cJSON_CreateObject();
    char t[32];

    cJSON_AddNumberToObject(o, "id", j->id);
    cJSON_AddStringToObject(o, "trigger", j->trigger);
    cJSON_AddStringToObject(o, "state", j->state);
    pf_time_iso_utc(j->started, t);
    cJSON_AddStringToObject(o, "started", t);
    if (j->pid == 0) {
        pf_time_iso_utc(j->ended, t);
        cJSON_AddStringToObject(o, "ended", t);
        cJSON_AddNumberToObject(o, "seconds", (double)(j->ended -
                                                       j->started));
        cJSON_AddNumberToObject(o, "exit_code", j->exit_code);
    }
    (void)s;
    return o;
}

/* The store's record of the job's run: result, warnings and, with the
 * token (detail), its error, which can name files. */
static void
add_store_run(struct server *s, cJSON *o, int64_t before, int detail)
{
    struct store *st = NULL;
    sqlite3_stmt *q = NULL;
    char *path;

    pthread_rwlock_rdlock(&s->cfg_lock);
    path = xstrdup(s->cfg->store_path);
    pthread_rwlock_unlock(&s->cfg_lock);
    if (store_open_readonly(path, &st, NULL) == 0 &&
        sqlite3_prepare_v2(store_db(st), "SELECT id, result, error, "
                           "warnings FROM runs WHERE id > ?1 ORDER BY id "
                           "LIMIT 1", -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(q, 1, before);
        if (sqlite3_step(q) == SQLITE_ROW) {
            cJSON *r = cJSON_AddObjectToObject(o, "store_run");

            cJSON_AddNumberToObject(r, "id", sqlite3_column_double(q, 0));
            cJSON_AddStringToObject(r, "result",
                                    (const char *)sqlite3_column_text(q,
                                                                      1));
            if (detail && sqlite3_column_type(q, 2) != SQLITE_NULL)
                cJSON_AddStringToObject(
                    r, "error", (const char *)sqlite3_column_text(q, 2));
            cJSON_AddNumberToObject(r, "warnings",
                                    sqlite3_column_double(q, 3));
        }
    }
    sqlite3_finalize(q);
    store_close(st);
    free(path);
}

static enum MHD_Result
post_sync(struct server *s, struct MHD_Connection *c)
{
    cJSON *o;
    char loc[48];
    int id, busy;

    if (!authorized(s, c))
        return unauthorized(s, c);
    o = cJSON_CreateObject();
    pthread_rwlock_rdlock(&s->cfg_lock);
    pthread_mutex_lock(&s->mu);
    busy = s->running;
    id = busy ? 0 : start_job(s, "api");
    pthread_mutex_unlock(&s->mu);
    pthread_rwlock_unlock(&s->cfg_lock);
    if (busy) {
        cJSON_AddStringToObject(o, "error", "a run is already going");
        cJSON_AddNumberToObject(o, "run", busy);
        return respond_json(s, c, MHD_HTTP_CONFLICT, o);
    }
    if (id == 0) {
        cJSON_AddStringToObject(o, "error", "could not start a run");
        return respond_json(s, c, MHD_HTTP_INTERNAL_SERVER_ERROR, o);
    }
    snprintf(loc, sizeof loc, "/runs/%d", id);
    cJSON_AddNumberToObject(o, "run", id);
    cJSON_AddStringToObject(o, "url", loc);
    return respond_json(s, c, MHD_HTTP_ACCEPTED, o);
}

static enum MHD_Result
get_run(struct server *s, struct MHD_Connection *c, const char *idstr)
{
    char *end;
    long id = strtol(idstr, &end, 10);
    struct job *j;
    cJSON *o = NULL;
    int64_t before = 0;
    int done = 0;

    pthread_mutex_lock(&s->mu);
    j = (*idstr && *end == '\0' && id > 0 && id < 1000000000)
            ? job_get(s, (int)id) : NULL;
    if (j != NULL) {
        o = job_json(s, j);
        before = j->store_before;
        done = j->pid == 0;
    }
    pthread_mutex_unlock(&s->mu);
    if (o == NULL)
        return respond_text(s, c, MHD_HTTP_NOT_FOUND,
                            "404 no such run\n");
    if (done)
        add_store_run(s, o, before, authorized(s, c));
    return respond_json(s, c, MHD_HTTP_OK, o);
}

/* ---- status ------------------------------------------------------------ */

/* The store's part of the status: all of it with the token (detail),
 * else only what status_public() keeps. cfg_lock held (read). */
static cJSON *
store_status(struct server *s, int detail, int64_t now)
{
    struct store *st = NULL;
    cJSON *doc, *pub, *days = NULL;

    if (store_open_readonly(s->cfg->store_path, &st, NULL) == 0) {
        doc = status_doc(s->cfg, st);
        if (detail) {
            pthread_mutex_lock(&s->tz_mu);
            days = status_orders_per_day(s->cfg, st, now, CHART_DAYS);
            pthread_mutex_unlock(&s->tz_mu);
        }
        store_close(st);
    }
    else {
        doc = cJSON_CreateObject();
        cJSON_AddStringToObject(doc, "shop", s->cfg->shop_name);
        cJSON_AddStringToObject(doc, "store", s->cfg->store_path);
        cJSON_AddArrayToObject(doc, "runs");
        cJSON_AddArrayToObject(doc, "feeds");
    }
    if (!detail) {
        pub = status_public(doc);
        cJSON_Delete(doc);
        return pub;
    }
    cJSON_AddItemToObject(doc, "orders_per_day",
                          days != NULL ? days : cJSON_CreateArray());
    cJSON_AddStringToObject(doc, "source", s->cfg->source.type);
    /* A source read from a folder says which. */
    if (pf_source_has(&s->cfg->source, "path") &&
        pf_source_str(&s->cfg->source, "path") != NULL)
        cJSON_AddStringToObject(doc, "source_path",
                                pf_source_str(&s->cfg->source, "path"));
    return doc;
}

/* Schedule, clock and the runs this server started: times and states
 * only, safe for anyone. cfg_lock held (read). */
static void
add_serve_state(struct server *s, cJSON *doc, int64_t now)
{
    cJSON *sv = cJSON_AddObjectToObject(doc, "serve"), *a;
    char buf[48];
    int64_t next;
    int i, running;

    schedule_describe(&s->cfg->schedule, buf);
    cJSON_AddStringToObject(sv, "schedule", buf);
    pf_time_iso_utc(now, buf);
    cJSON_AddStringToObject(sv, "now", buf);
    pthread_mutex_lock(&s->mu);
    next = s->next_run;
    running = s->running;
    a = cJSON_AddArrayToObject(sv, "runs");
    for (i = s->njobs; i > 0 && i > s->njobs - 10; i--)
        cJSON_AddItemToArray(a, job_json(s, job_get(s, i)));
    pthread_mutex_unlock(&s->mu);
    if (next >= 0) {
        pf_time_iso_utc(next, buf);
        cJSON_AddStringToObject(sv, "next_run", buf);
        pthread_mutex_lock(&s->tz_mu);
        if (pf_time_iso_local(next, s->cfg->timezone, buf) == 0)
            cJSON_AddStringToObject(sv, "next_run_local", buf);
        pthread_mutex_unlock(&s->tz_mu);
    }
    else {
        cJSON_AddNullToObject(sv, "next_run");
    }
    if (running)
        cJSON_AddNumberToObject(sv, "running", running);
    else
        cJSON_AddNullToObject(sv, "running");
}

/* status_doc() plus what only the server knows; without the token
 * (detail = 0) only counts and times (status.h, status_public). */
static cJSON *
build_status(struct server *s, int detail)
{
    int64_t now = srv_now(s);
    cJSON *doc, *f, *p;
    char *url;

    pthread_rwlock_rdlock(&s->cfg_lock);
    doc = store_status(s, detail, now);
    cJSON_AddBoolToObject(doc, "detail", detail);
    cJSON_AddStringToObject(doc, "timezone", s->cfg->timezone);
    add_serve_state(s, doc, now);
    pthread_rwlock_unlock(&s->cfg_lock);
    clerk_status(s->clerk, doc);
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(doc, "feeds")) {
        p = cJSON_GetObjectItemCaseSensitive(f, "path");
        if (!cJSON_IsString(p))
            continue;
        url = xasprintf("/feeds/%s", p->valuestring);
        cJSON_AddStringToObject(f, "url", url);
        free(url);
    }
    return doc;
}

static enum MHD_Result
get_status(struct server *s, struct MHD_Connection *c, int html)
{
    struct pf_buf b;
    cJSON *doc = build_status(s, authorized(s, c));
    enum MHD_Result ret;

    if (!html)
        return respond_json(s, c, MHD_HTTP_OK, doc);
    pf_buf_init(&b);
    page_html(doc, srv_now(s), &b);
    cJSON_Delete(doc);
    ret = respond_buf(s, c, MHD_HTTP_OK, "text/html; charset=utf-8",
                      b.data, b.len);
    pf_buf_free(&b);
    return ret;
}

/* Run totals from the store's history. cfg_lock held (read). */
static void
run_totals(struct server *s, struct page_counters *pc)
{
    struct store *st = NULL;
    sqlite3_stmt *q = NULL;

    if (store_open_readonly(s->cfg->store_path, &st, NULL) != 0)
        return;
    if (sqlite3_prepare_v2(store_db(st), "SELECT count(*), "
                           "coalesce(sum(result = 'failed'), 0), "
                           "coalesce(max(CASE WHEN result = 'ok' THEN "
                           "ended_at END), 0) FROM runs", -1, &q,
                           NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW) {
        pc->runs = sqlite3_column_double(q, 0);
        pc->failed = sqlite3_column_double(q, 1);
        pc->last_ok = sqlite3_column_double(q, 2);
    }
    sqlite3_finalize(q);
    store_close(st);
}

/* Prometheus text from the same document as the status page, so
 * without the token it holds only public feeds and catalog rows. */
static enum MHD_Result
get_metrics(struct server *s, struct MHD_Connection *c)
{
    struct page_counters *pc = xcalloc(1, sizeof(*pc));
    struct pf_buf b;
    cJSON *doc = build_status(s, authorized(s, c));
    enum MHD_Result ret;
    size_t i;

    pthread_rwlock_rdlock(&s->cfg_lock);
    run_totals(s, pc);
    pthread_rwlock_unlock(&s->cfg_lock);
    pthread_mutex_lock(&s->mu);
    pc->running = s->running != 0;
    pc->cut = s->cut;
    pthread_mutex_unlock(&s->mu);
    for (i = 0; i < 600; i++)
        pc->hits[i] = atomic_load_explicit(&s->hits[i],
                                           memory_order_relaxed);
    cache_counters(s->cache, &pc->feed_opens, &pc->feed_refreshes);
    pc->request_opens = atomic_load_explicit(&s->request_opens,
                                             memory_order_relaxed);
    pf_buf_init(&b);
    page_metrics(doc, pc, &b);
    clerk_metrics(s->clerk, &b, NULL);
    cJSON_Delete(doc);
    free(pc);
    ret = respond_buf(s, c, MHD_HTTP_OK,
                      "text/plain; version=0.0.4; charset=utf-8", b.data,
                      b.len);
    pf_buf_free(&b);
    return ret;
}

/* ---- dispatch ----------------------------------------------------------- */

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url,
       const char *method, const char *version, const char *upload,
       size_t *upload_size, void **con_cls)
{
    struct server *s = cls;
    struct req_state *r = *con_cls;
    int head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    int get = head || strcmp(method, MHD_HTTP_METHOD_GET) == 0;

    (void)upload;
    /* First call: headers only. A body (none is expected) is read and
     * dropped; the request deadline bounds how long that may take. */
    if (r == NULL)
        return MHD_NO;      /* no URI callback: cannot happen */
    if (!r->started) {
        r->started = 1;
        return target_has_nul(r, url, version)
                   ? respond_text(s, c, MHD_HTTP_BAD_REQUEST,
                                  "400 a NUL byte in the request target\n")
                   : MHD_YES;
    }
    if (*upload_size != 0) {
        *upload_size = 0;
        return MHD_YES;
    }
    if (strncmp(url, "/feeds/", 7) == 0)
        return get ? serve_feed(s, c, url + 7, head)
                   : not_allowed(s, c, "GET, HEAD");
    if (strncmp(url, "/clerk/v2/", 10) == 0)
        return get ? clerk_handle(s->clerk, c, url + 10, head)
                   : not_allowed(s, c, "GET, HEAD");
    if (strcmp(url, "/sync") == 0)
        return strcmp(method, MHD_HTTP_METHOD_POST) == 0
                   ? post_sync(s, c) : not_allowed(s, c, "POST");
    if (strncmp(url, "/runs/", 6) == 0)
        return get ? get_run(s, c, url + 6)
                   : not_allowed(s, c, "GET, HEAD");
    if (strcmp(url, "/") == 0 || strcmp(url, "/status.json") == 0 ||
        strcmp(url, "/healthz") == 0 || strcmp(url, "/metrics") == 0) {
        if (!get)
            return not_allowed(s, c, "GET, HEAD");
        if (strcmp(url, "/healthz") == 0)
            return respond_text(s, c, MHD_HTTP_OK, "ok\n");
        if (strcmp(url, "/metrics") == 0)
            return get_metrics(s, c);
        return get_status(s, c, url[1] == '\0');
    }
    return respond_text(s, c, MHD_HTTP_NOT_FOUND, "404 not found\n");
}

/* ---- config, schedule, lifecycle ---------------------------------------- */

/* Everything a config needs before it can be served: its token read and
 * its feeds folder resolved. */
static int
prepare_config(const char *path, struct pf_config **cfg, char **token,
               char **feeds_real, struct pf_err *err)
{
    *cfg = NULL;
    *token = NULL;
    *feeds_real = NULL;
    if (pf_config_load(path, source_schema, cfg, err) != 0)
        return -1;
    if (pf_secret_is_set(&(*cfg)->serve.token) &&
        pf_secret_read(&(*cfg)->serve.token, token, err) != 0) {
        pf_err_prefix(err, "%s: [serve] token", path);
        pf_config_free(*cfg);
        *cfg = NULL;
        return -1;
    }
    mkdir((*cfg)->feeds_dir, 0755);
    *feeds_real = realpath((*cfg)->feeds_dir, NULL);
    return 0;
}

static void
plan_next(struct server *s, int64_t from)
{
    struct pf_err err = {{0}};
    int64_t next = -1;
    int rc;

    pthread_mutex_lock(&s->tz_mu);
    rc = schedule_next(&s->cfg->schedule, s->cfg->timezone, from, &next,
                       &err);
    pthread_mutex_unlock(&s->tz_mu);
    if (rc != 0) {
        log_error("%s", err.msg);
        next = -1;
    }
    pthread_mutex_lock(&s->mu);
    s->next_run = next;
    pthread_mutex_unlock(&s->mu);
}

/* Where an interval schedule counts from after a (re)start: the last
 * run, so a restart neither runs early nor waits a whole interval again
 * (if the interval already passed, the run is due at once). */
static int64_t
plan_from(struct server *s)
{
    int64_t now = srv_now(s), last = 0;
    struct store *st = NULL;
    sqlite3_stmt *q = NULL;

    if (s->cfg->schedule.kind != PF_SCHED_EVERY ||
        store_open_readonly(s->cfg->store_path, &st, NULL) != 0)
        return now;
    if (sqlite3_prepare_v2(store_db(st), "SELECT max(started_at) FROM runs "
                           "WHERE kind = 'run'", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        last = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    store_close(st);
    return last > 0 && last <= now ? last : now;
}

static void
reload(struct server *s)
{
    struct pf_err err = {{0}};
    struct pf_config *cfg, *old;
    char *token, *real, *old_token, *old_real;

    if (prepare_config(s->config_path, &cfg, &token, &real, &err) != 0) {
        log_error("reload refused, keeping the running config: %s",
                  err.msg);
        return;
    }
    pthread_rwlock_wrlock(&s->cfg_lock);
    old = s->cfg;
    old_token = s->token;
    old_real = s->feeds_real;
    s->cfg = cfg;
    s->token = token;
    s->feeds_real = real;
    pthread_rwlock_unlock(&s->cfg_lock);
    if (strcmp(old->serve.listen_addr, cfg->serve.listen_addr) != 0 ||
        old->serve.port != cfg->serve.port)
        log_warn("[serve] listen changed: restart posfeed serve to use it");
    if (old->serve.max_connections != cfg->serve.max_connections ||
        old->serve.per_ip_limit != cfg->serve.per_ip_limit ||
        old->serve.timeout_s != cfg->serve.timeout_s)
        log_warn("[serve] max_connections, per_ip_limit or timeout "
                 "changed: restart posfeed serve to use them");
    conn_watch_set_limit(s->watch, cfg->serve.header_timeout_s);
    if (old_token != NULL)
        OPENSSL_cleanse(old_token, strlen(old_token));
    free(old_token);
    free(old_real);
    pf_config_free(old);
    plan_next(s, srv_now(s));
    refresh_feeds(s);
    clerk_reload(s->clerk, s->config_path);
    log_info("reloaded %s", s->config_path);
}

/* --listen or [serve] listen into a socket address. */
static int
resolve_listen(struct server *s, struct sockaddr_storage *sa,
               socklen_t *salen, char shown[80], struct pf_err *err)
{
    struct addrinfo hints, *res = NULL;
    char host[64], port[8];
    int rc;

    if (s->listen_arg != NULL) {
        const char *colon = strrchr(s->listen_arg, ':');
        const char *h = s->listen_arg;
        size_t hn;

        if (colon == NULL || colon[1] == '\0' ||
            strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
            strlen(colon + 1) > 5 || atoi(colon + 1) > 65535) {
            pf_errf(err, "--listen: expected ADDRESS:PORT (port 0 picks a "
                    "free one), got '%.80s'", s->listen_arg);
            return -1;
        }
        hn = (size_t)(colon - h);
        if (hn >= 2 && h[0] == '[' && h[hn - 1] == ']') {
            h++;
            hn -= 2;
        }
        if (hn == 0 || hn >= sizeof host) {
            pf_errf(err, "--listen: bad address in '%.80s'", s->listen_arg);
            return -1;
        }
        memcpy(host, h, hn);
        host[hn] = '\0';
        snprintf(port, sizeof port, "%s", colon + 1);
    }
    else {
        snprintf(host, sizeof host, "%s", s->cfg->serve.listen_addr);
        snprintf(port, sizeof port, "%d", s->cfg->serve.port);
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0 || res == NULL) {
        pf_errf(err, "cannot listen on %s:%s: %s", host, port,
                gai_strerror(rc));
        return -1;
    }
    memcpy(sa, res->ai_addr, res->ai_addrlen);
    *salen = res->ai_addrlen;
    freeaddrinfo(res);
    snprintf(shown, 80, strchr(host, ':') ? "[%s]" : "%s", host);
    return 0;
}

/* File descriptors a connection may hold: its socket and the feed file
 * being sent. The reserve covers the rest: the store (three files with
 * WAL) for status pages, the one the feeds cache keeps open, MHD's epoll
 * and wake-up pipes, the run child's pipes, stdio. */
#define FD_PER_CONN 2
#define FD_RESERVE 64

/* Raises the soft RLIMIT_NOFILE to what `want` connections need (as far
 * as the hard limit allows) and returns how many connections fit, so the
 * server refuses the connection over the limit instead of failing
 * accept() or a feed's open() with EMFILE. */
static unsigned
fit_fd_limit(unsigned want)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)want * FD_PER_CONN + FD_RESERVE;
    unsigned fit;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY
        || rl.rlim_cur >= need)
        return want;
    rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need
                      ? rl.rlim_max : need;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur >= need)
        return want;
    fit = rl.rlim_cur > FD_RESERVE + FD_PER_CONN
              ? (unsigned)((rl.rlim_cur - FD_RESERVE) / FD_PER_CONN) : 1;
    log_warn("[serve] max_connections = %u needs %llu open files, the "
             "limit is %llu (raise it: ulimit -n, or LimitNOFILE= under "
             "systemd): serving at most %u connections", want,
             (unsigned long long)need, (unsigned long long)rl.rlim_cur,
             fit);
    return fit;
}

/* The certificate pair, loaded at start and on SIGHUP; a certificate
 * near its end is said each time. */
static int
load_tls(struct server *s, struct pf_err *err)
{
    const struct pf_serve_cfg *sc = &s->cfg->serve;
    struct tls_pair_info info;
    char when[32];

    if (serve_tls_load(sc->tls_cert, sc->tls_key, srv_now(s), &info,
                       err) != 0)
        return -1;
    pf_time_iso_utc(info.not_after, when);
    if (info.days_left < TLS_WARN_DAYS)
        log_warn("%s: the certificate (%s) expires on %s, in %lld day(s):"
                 " renew it", sc->tls_cert, info.subject, when,
                 (long long)info.days_left);
    else
        log_info("certificate %s (%s): valid until %s, %lld days left",
                 sc->tls_cert, info.subject, when,
                 (long long)info.days_left);
    return 0;
}

/* SIGHUP: a renewed certificate is taken for new handshakes; running
 * transfers keep the pair they started with (serve_tls.h). A pair that
 * does not load leaves the one in use. */
static void
reload_tls(struct server *s)
{
    struct pf_err err = {{0}};
    int want = s->cfg->serve.tls_cert != NULL;

    if (want != s->tls) {
        log_warn("[serve] tls_cert/tls_key %s: restart posfeed serve to "
                 "switch between HTTP and HTTPS", want ? "set" : "removed");
        return;
    }
    if (!s->tls)
        return;
    if (load_tls(s, &err) != 0)
        log_error("certificate reload refused, still serving the previous "
                  "one: %s", err.msg);
}

/* HTTPS: GnuTLS through MHD, TLS 1.2+ only, the certificate from
 * serve_tls's callback so SIGHUP can replace it. */
static void
tls_options(struct server *s, unsigned *flags, struct MHD_OptionItem o[3])
{
    gnutls_certificate_retrieve_function2 *cb = serve_tls_cert_cb;
    void *cb_ptr;

    o[0] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    if (!s->tls)
        return;
    *flags |= MHD_USE_TLS;
    /* MHD_OptionItem holds pointers as void *; POSIX (dlsym) makes a
     * function pointer round-trip through one, ISO C has no cast. */
    _Static_assert(sizeof cb_ptr == sizeof cb, "function pointer size");
    memcpy(&cb_ptr, &cb, sizeof cb_ptr);
    o[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
                                   (void *)serve_tls_priorities};
    o[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_CERT_CALLBACK, 0,
                                   cb_ptr};
    o[2] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
}

static int
start_http(struct server *s)
{
    struct pf_err err = {{0}};
    struct sockaddr_storage sa;
    struct MHD_OptionItem tls[3];
    socklen_t salen;
    const union MHD_DaemonInfo *info;
    char shown[80];
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = cpus > 1 ? (unsigned)(cpus > 4 ? 4 : cpus) : 1;
    const struct pf_serve_cfg *sc = &s->cfg->serve;

    if (resolve_listen(s, &sa, &salen, shown, &err) != 0) {
        log_error("%s", err.msg);
        return -1;
    }
    (void)salen;
    if (sa.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    tls_options(s, &flags, tls);
    /* Explicit limits: MHD's defaults are no timeout and no per-IP cap,
     * which would let a few stalled clients pin every connection. The
     * idle timeout alone does not stop a trickle; the request deadline
     * (on_connection, main_loop) does. MHD_USE_AUTO is epoll on Linux,
     * so descriptors above FD_SETSIZE are fine. */
    s->d = MHD_start_daemon(
        flags, 0, NULL, NULL, handle, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)sc->timeout_s,
        MHD_OPTION_CONNECTION_LIMIT,
        fit_fd_limit((unsigned)sc->max_connections),
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)sc->per_ip_limit,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024,
        MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
        MHD_OPTION_ARRAY, tls,
        MHD_OPTION_END);
    if (s->d == NULL) {
        log_error("cannot listen on %s: address in use or not allowed",
                  s->listen_arg ? s->listen_arg : sc->listen_addr);
        return -1;
    }
    info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    printf("listening on %s://%s:%u\n", s->tls ? "https" : "http", shown,
           info ? (unsigned)info->port : 0u);
    fflush(stdout);
    return 0;
}

static int
parse_args(struct server *s, int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            s->listen_arg = argv[++i];
        }
        else if (strncmp(argv[i], "--listen=", 9) == 0) {
            s->listen_arg = argv[i] + 9;
        }
        else {
            fprintf(stderr, "posfeed serve: unexpected argument '%s'\n"
                    "usage: posfeed [-c FILE] serve [--listen "
                    "ADDR:PORT]\n", argv[i]);
            return -1;
        }
    }
    return 0;
}

static int
init_clock(struct server *s)
{
    const char *sp = getenv("POSFEED_SERVE_CLOCK_SPEED");

    s->clock_base = pf_time_now();
    s->mono_base = pf_now_mono();
    s->speed = 1;
    if (sp != NULL && *sp) {
        char *end;
        double v = strtod(sp, &end);

        if (*end != '\0' || v < 1 || v > 100000) {
            log_error("POSFEED_SERVE_CLOCK_SPEED: expected a number from 1 "
                      "to 100000, got '%.40s'", sp);
            return -1;
        }
        s->speed = v;
        log_warn("test clock: time runs %gx", v);
    }
    return 0;
}

/* Cuts the connections past their request deadline (serve_conn.h). The
 * log says so at most once a minute: an attack must not flood it. */
static void
sweep(struct server *s, double *logged_at, unsigned long *unlogged)
{
    double now = pf_now_mono();
    int n = conn_watch_sweep(s->watch, now);

    if (n > 0) {
        pthread_mutex_lock(&s->mu);
        s->cut += (unsigned long)n;
        pthread_mutex_unlock(&s->mu);
        *unlogged += (unsigned long)n;
    }
    if (*unlogged > 0 && now - *logged_at >= 60) {
        log_warn("closed %lu connection(s) whose request was not in "
                 "within [serve] header_timeout (slow or stalled "
                 "clients)", *unlogged);
        *unlogged = 0;
        *logged_at = now;
    }
}

/* The main loop: signals, the run child, the schedule, the feeds cache,
 * request deadlines. Returns when SIGTERM or SIGINT arrives. */
static void
main_loop(struct server *s, const sigset_t *set)
{
    struct timespec tick = {0, 100 * 1000 * 1000};
    double last_check = pf_now_mono(), cut_logged = -60;
    unsigned long cut_unlogged = 0;
    int64_t now, due;
    int sig, running;

    for (;;) {
        sig = sigtimedwait(set, NULL, &tick);
        sweep(s, &cut_logged, &cut_unlogged);
        clerk_sweep(s->clerk);
        if (sig == SIGTERM || sig == SIGINT) {
            log_info("signal %d: stopping", sig);
            return;
        }
        if (sig == SIGHUP) {
            reload(s);
            reload_tls(s);
        }
        reap(s, 0);
        now = srv_now(s);
        pthread_mutex_lock(&s->mu);
        due = s->next_run;
        running = s->running;
        pthread_mutex_unlock(&s->mu);
        /* A run already going when the time comes delays the scheduled
         * one until it ends: runs never overlap, and none is skipped. */
        if (due >= 0 && now >= due && !running) {
            pthread_mutex_lock(&s->mu);
            start_job(s, "schedule");
            pthread_mutex_unlock(&s->mu);
            plan_next(s, now > due ? now : due);
        }
        /* A publish by another process (posfeed build or run from a
         * shell or cron) shows within a second (serve_cache.h). */
        if (pf_now_mono() - last_check >= 1.0) {
            if (cache_stale(s->cache, s->cfg->store_path))
                refresh_feeds(s);
            last_check = pf_now_mono();
        }
    }
}

int
serve_main(const char *config_path, int argc, char **argv)
{
    struct pf_err err = {{0}};
    struct server *s = xcalloc(1, sizeof(*s));
    sigset_t set;
    struct job *j;
    MHD_socket lfd;
    int rc = EXIT_USAGE;

    pthread_rwlock_init(&s->cfg_lock, NULL);
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->tz_mu, NULL);
    s->cache = cache_new();
    s->clerk = clerk_new(clerk_respond, s);
    if (parse_args(s, argc, argv) != 0 || init_clock(s) != 0)
        goto cleanup;
    s->config_path = realpath(config_path, NULL);
    if (s->config_path == NULL) {
        log_error("%s: %s", config_path, strerror(errno));
        goto cleanup;
    }
    if (prepare_config(s->config_path, &s->cfg, &s->token, &s->feeds_real,
                       &err) != 0) {
        fprintf(stderr, "posfeed: %s\n", err.msg);
        goto cleanup;
    }
    if (s->token == NULL)
        log_warn("no [serve] token: feeds with access = token and POST "
                 "/sync answer 401");
    s->tls = s->cfg->serve.tls_cert != NULL;
    if (s->tls && (serve_tls_available(&err) != 0 ||
                   load_tls(s, &err) != 0)) {
        fprintf(stderr, "posfeed: %s\n", err.msg);
        goto cleanup;
    }
    /* Signals are taken synchronously by the main thread; MHD's threads
     * inherit the mask and never see them. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    refresh_feeds(s);
    clerk_reload(s->clerk, s->config_path);
    plan_next(s, plan_from(s));
    s->watch = conn_watch_new(s->cfg->serve.header_timeout_s);
    rc = EXIT_RUNTIME;
    if (start_http(s) != 0)
        goto cleanup;
    main_loop(s, &set);
    /* Stop accepting first, then let the run end: it gets SIGTERM, dies
     * before its next commit, and SQLite rolls its open transaction
     * back; publish removes its temp files on the next build. */
    lfd = MHD_quiesce_daemon(s->d);
    pthread_mutex_lock(&s->mu);
    j = job_get(s, s->running);
    if (j != NULL && j->pid > 0) {
        log_info("waiting for run %d to stop", j->id);
        kill(j->pid, SIGTERM);
    }
    pthread_mutex_unlock(&s->mu);
    reap(s, 1);
    MHD_stop_daemon(s->d);
    s->d = NULL;
    /* Only now: MHD's threads may still be polling the quiesced socket
     * until MHD_stop_daemon returns, and closing it under them is a
     * fatal error in MHD (it aborts the process). */
    if (lfd != MHD_INVALID_SOCKET)
        close(lfd);
    rc = 0;
cleanup:
    if (s->d != NULL)
        MHD_stop_daemon(s->d);
    serve_tls_free();
    conn_watch_free(s->watch);
    clerk_free(s->clerk);
    cache_free(s->cache);
    if (s->token != NULL)
        OPENSSL_cleanse(s->token, strlen(s->token));
    free(s->token);
    free(s->feeds_real);
    free(s->config_path);
    pf_config_free(s->cfg);
    pthread_rwlock_destroy(&s->cfg_lock);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->tz_mu);
    free(s);
    return rc;
}
