/* serve.c - see serve.h.
 *
 * Threads: libmicrohttpd answers requests on its own polling threads; the
 * main thread only waits for signals (sigtimedwait, so no handler runs
 * async), ticks the run pool (serve_pool.h: it reaps and starts runs and
 * reports them here), follows the schedules, refreshes each shop's cached
 * list of published feeds from its store and, with many shops, rescans
 * the shops folder (SIGHUP, inotify). The state of one shop is a struct
 * shop (serve_shop.h) behind its own locks; what belongs to the server as
 * a whole (listener, TLS, request deadlines, counters, pool, the shops)
 * is here.
 *
 * One shop (`-c posfeed.conf serve`) is a server with a single shop at
 * the root URLs; many shops (`serve --shops DIR` or a server config with
 * [serve] shops) put each under /SHOP/ with the same URLs below it, and
 * the root shows them all (serve_shops.h).
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
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "serve_cache.h"
#include "serve_clerk.h"
#include "serve_conn.h"
#include "serve_page.h"
#include "serve_pool.h"
#include "serve_req.h"
#include "serve_shop.h"
#include "serve_shops.h"
#include "serve_tls.h"
#include "source.h"
#include "timeutil.h"
#include "util.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define SINGLE_HISTORY 64   /* runs /runs/N remembers with one shop */

struct server {
    struct shop_env env;
    const char *listen_arg; /* --listen, or NULL for [serve] listen */
    const char *shops_arg;  /* --shops DIR, or NULL */

    /* One shop: it, and its config holds the server's settings. */
    struct shop *single;
    /* Many shops: the server config (NULL with --shops alone: the
     * defaults), the admin token, the shops. */
    char *server_path;      /* absolute, NULL with --shops */
    struct pf_config *server_cfg;
    struct pf_serve_cfg defaults;   /* --shops without a server config */
    pthread_rwlock_t admin_lock;
    char *admin_token;      /* NULL when none is configured */
    struct shop_set *shops;

    struct run_pool *pool;
    int64_t run_timeout_s;
    pthread_t main_thread;  /* woken by POST /sync (SIGUSR1) */
    pthread_mutex_t sync_mu;    /* queue_run says why */

    pthread_mutex_t mu;
    /* Responses by status code: atomic, as every request counts one
     * and a lock would make the request threads take turns. */
    atomic_ulong hits[600];
    unsigned long cut;      /* requests cut at their deadline; mu */

    struct conn_watch *watch;
    struct MHD_Daemon *d;
    int tls;                /* the listener speaks HTTPS (fixed at start) */
};

/* The [serve] settings of the server as a whole: the single shop's config
 * or the server config. Main thread only. */
static const struct pf_serve_cfg *
srv_cfg(const struct server *s)
{
    if (s->single != NULL)
        return &s->single->cfg->serve;
    return s->server_cfg != NULL ? &s->server_cfg->serve : &s->defaults;
}

/* ---- clock -------------------------------------------------------------- */

/* Wall clock of the server. POSFEED_NOW pins its start (as for every
 * command) and the test-only POSFEED_SERVE_CLOCK_SPEED makes it run
 * faster, so a test can watch a daily schedule fire within seconds. */
static int64_t
srv_now(struct server *s)
{
    return shop_now(&s->env);
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

/* The shop's token or the agency's admin token (many shops); sh NULL:
 * the admin token only. Both are checked every time, so the time taken
 * does not tell which matched. */
static int
authorized(struct server *s, struct shop *sh, struct MHD_Connection *c)
{
    int ok = 0;

    if (sh != NULL) {
        pthread_rwlock_rdlock(&sh->cfg_lock);
        ok |= token_ok(c, sh->token);
        pthread_rwlock_unlock(&sh->cfg_lock);
    }
    pthread_rwlock_rdlock(&s->admin_lock);
    ok |= token_ok(c, s->admin_token);
    pthread_rwlock_unlock(&s->admin_lock);
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
count_open(struct shop *sh, int fd)
{
    atomic_fetch_add_explicit(&sh->request_opens, 1, memory_order_relaxed);
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
open_checked(struct shop *sh, const struct cache_entry *e,
             enum cache_view v, struct rep *rp)
{
    struct stat st, gst;
    char *dir, *real_dir;
    int gfd = -1;

    pthread_rwlock_rdlock(&sh->cfg_lock);
    dir = xstrdup(sh->cfg->feeds_dir);
    real_dir = sh->feeds_real ? xstrdup(sh->feeds_real) : NULL;
    pthread_rwlock_unlock(&sh->cfg_lock);
    rp->fd = count_open(sh, cache_open_inside(
        dir, real_dir, e->path, v == CV_GZ_FILE ? ".gz" : "", &st));
    if (rp->fd >= 0 && v == CV_GZIP)
        gfd = count_open(sh, cache_open_inside(dir, real_dir, e->path,
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
open_rep(struct shop *sh, const struct cache_entry *e, enum cache_view v,
         struct rep *rp)
{
    const struct cache_file *f = &e->file[v == CV_IDENTITY ? 0 : 1];
    struct stat sb;

    memset(rp, 0, sizeof(*rp));
    rp->token = e->token;
    rp->vary = v != CV_GZ_FILE && e->twin;
    rp->ctype = cache_content_type(e, v);
    rp->fd = count_open(sh, open(f->abs, O_RDONLY | O_CLOEXEC |
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
    cache_poke(sh->cache);
    return open_checked(sh, e, v, rp);
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
serve_feed(struct server *s, struct shop *sh, struct MHD_Connection *c,
           const char *rel, int head)
{
    const struct cache_entry *e = NULL;
    struct cache_entry copy;
    enum MHD_Result ret;
    struct rep rp;
    int ok, twin = 0, v;

    /* Checked for every request, so the time taken does not tell a
     * token feed from an unknown name either. */
    ok = authorized(s, sh, c);
    cache_lock(sh->cache);
    if (req_path_ok(rel))
        e = cache_find(sh->cache, rel, &twin);
    if (!ok && !(e != NULL && !e->token)) {
        cache_unlock(sh->cache);
        return unauthorized(s, c);
    }
    v = pick_view(c, e, twin);
    if (v >= 0 && not_modified(c, e->etag[v],
                               (int64_t)e->file[v ? 1 : 0].mtime.tv_sec)) {
        /* Queued under the lock, which keeps the shared response alive
         * until MHD holds its own reference. */
        ret = respond_shared(s, c, MHD_HTTP_NOT_MODIFIED, e->r304[v]);
        cache_unlock(sh->cache);
        return ret;
    }
    if (v >= 0)
        cache_entry_copy(e, &copy);
    cache_unlock(sh->cache);
    if (v < 0)
        return respond_text(s, c, MHD_HTTP_NOT_FOUND, "404 not found\n");
    if (open_rep(sh, &copy, (enum cache_view)v, &rp) != 0) {
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

/* Queues a run of sh; the pool starts it at the next tick, which a POST
 * /sync brings forward (SIGUSR1). Returns the shop's run id, or 0: *busy
 * is then the run already queued or going (0: the pool refused). sync_mu
 * makes "is one going" and "queue one" a single step, and keeps the
 * pool's start report from overtaking the record of the queued run. */
static int
queue_run(struct server *s, struct shop *sh, const char *trigger,
          int *busy)
{
    int job, id = 0;

    pthread_mutex_lock(&s->sync_mu);
    *busy = shop_run_current(sh);
    if (*busy == 0) {
        job = pool_submit(s->pool, sh, sh->config_path, trigger,
                          srv_now(s));
        if (job > 0)
            id = shop_run_queue(sh, job, trigger, srv_now(s));
    }
    pthread_mutex_unlock(&s->sync_mu);
    return id;
}

/* The pool's reports (main thread, serve_pool.h pool_tick). */
static void
on_run_start(void *arg, const struct pool_event *e)
{
    struct server *s = arg;

    pthread_mutex_lock(&s->sync_mu);
    shop_run_started(e->owner, e->job, e->pid, e->started_at);
    pthread_mutex_unlock(&s->sync_mu);
}

static void
on_run_end(void *arg, const struct pool_event *e)
{
    struct server *s = arg;

    shop_run_ended(e->owner, e->job, e->exit_code, e->timed_out,
                   e->ended_at, s->run_timeout_s);
}

static enum MHD_Result
post_sync(struct server *s, struct shop *sh, struct MHD_Connection *c,
          const char *prefix)
{
    cJSON *o;
    char loc[112];
    int id, busy;

    if (!authorized(s, sh, c))
        return unauthorized(s, c);
    o = cJSON_CreateObject();
    id = queue_run(s, sh, "api", &busy);
    if (busy) {
        cJSON_AddStringToObject(o, "error", "a run is already going");
        cJSON_AddNumberToObject(o, "run", busy);
        return respond_json(s, c, MHD_HTTP_CONFLICT, o);
    }
    if (id == 0) {
        cJSON_AddStringToObject(o, "error", "could not start a run");
        return respond_json(s, c, MHD_HTTP_INTERNAL_SERVER_ERROR, o);
    }
    pthread_kill(s->main_thread, SIGUSR1);
    if (s->single != NULL)
        shop_run_wait_started(sh, id, 5);
    snprintf(loc, sizeof loc, "%s/runs/%d", prefix, id);
    cJSON_AddNumberToObject(o, "run", id);
    cJSON_AddStringToObject(o, "url", loc);
    return respond_json(s, c, MHD_HTTP_ACCEPTED, o);
}

static enum MHD_Result
get_run(struct server *s, struct shop *sh, struct MHD_Connection *c,
        const char *idstr)
{
    char *end;
    long id = strtol(idstr, &end, 10);
    cJSON *o = NULL;

    if (*idstr && *end == '\0' && id > 0 && id < 1000000000)
        o = shop_run_json(sh, (int)id, authorized(s, sh, c));
    if (o == NULL)
        return respond_text(s, c, MHD_HTTP_NOT_FOUND,
                            "404 no such run\n");
    return respond_json(s, c, MHD_HTTP_OK, o);
}

/* ---- status ------------------------------------------------------------ */

static enum MHD_Result
get_status(struct server *s, struct shop *sh, struct MHD_Connection *c,
           int html, const char *prefix)
{
    struct pf_buf b;
    cJSON *doc = shop_status(sh, authorized(s, sh, c), prefix);
    enum MHD_Result ret;

    if (!html)
        return respond_json(s, c, MHD_HTTP_OK, doc);
    pf_buf_init(&b);
    page_html_at(doc, srv_now(s), prefix, &b);
    cJSON_Delete(doc);
    ret = respond_buf(s, c, MHD_HTTP_OK, "text/html; charset=utf-8",
                      b.data, b.len);
    pf_buf_free(&b);
    return ret;
}

static void
add_pool(struct server *s, cJSON *doc)
{
    struct pool_stats ps;
    cJSON *p = cJSON_AddObjectToObject(doc, "pool");

    pool_stats(s->pool, &ps);
    cJSON_AddNumberToObject(p, "workers", ps.workers);
    cJSON_AddNumberToObject(p, "running", ps.running);
    cJSON_AddNumberToObject(p, "queued", ps.queued);
    cJSON_AddNumberToObject(p, "started", (double)ps.started);
    cJSON_AddNumberToObject(p, "ok", (double)ps.ok);
    cJSON_AddNumberToObject(p, "failed", (double)ps.failed);
    cJSON_AddNumberToObject(p, "timed_out", (double)ps.timed_out);
    cJSON_AddNumberToObject(p, "wait_s_avg", ps.started > 0
                            ? ps.wait_s_sum / (double)ps.started : 0);
}

/* The overview of many shops: one summary each (serve_shop.h), the pool;
 * with the admin token (detail) the config paths and refused files. */
static cJSON *
overview(struct server *s, int detail)
{
    cJSON *doc = cJSON_CreateObject(), *a;
    struct shop **v;
    char now[32];
    int i, n;

    cJSON_AddBoolToObject(doc, "detail", detail);
    pf_time_iso_utc(srv_now(s), now);
    cJSON_AddStringToObject(doc, "now", now);
    add_pool(s, doc);
    a = cJSON_AddArrayToObject(doc, "shops");
    v = shops_all(s->shops, &n);
    for (i = 0; i < n; i++)
        cJSON_AddItemToArray(a, shop_summary(v[i], detail));
    shops_put_all(v, n);
    if (detail)
        cJSON_AddItemToObject(doc, "refused", shops_refused(s->shops));
    return doc;
}

static enum MHD_Result
get_overview(struct server *s, struct MHD_Connection *c, int html)
{
    struct pf_buf b;
    cJSON *doc = overview(s, authorized(s, NULL, c));
    enum MHD_Result ret;

    if (!html)
        return respond_json(s, c, MHD_HTTP_OK, doc);
    pf_buf_init(&b);
    page_shops_html(doc, &b);
    cJSON_Delete(doc);
    ret = respond_buf(s, c, MHD_HTTP_OK, "text/html; charset=utf-8",
                      b.data, b.len);
    pf_buf_free(&b);
    return ret;
}

/* The server's own counters into pc. */
static void
server_counters(struct server *s, struct page_counters *pc)
{
    size_t i;

    pthread_mutex_lock(&s->mu);
    pc->cut = s->cut;
    pthread_mutex_unlock(&s->mu);
    for (i = 0; i < 600; i++)
        pc->hits[i] = atomic_load_explicit(&s->hits[i],
                                           memory_order_relaxed);
}

/* What /metrics reads of a status document: its counts and feeds. The
 * rest is dropped at once, so a scrape of many shops does not hold every
 * shop's whole document (runs, bookmarks, ...) at the same time. */
static cJSON *
metrics_doc(cJSON *full)
{
    cJSON *doc = cJSON_CreateObject(), *x;

    x = cJSON_DetachItemFromObjectCaseSensitive(full, "counts");
    if (x != NULL)
        cJSON_AddItemToObject(doc, "counts", x);
    x = cJSON_DetachItemFromObjectCaseSensitive(full, "feeds");
    if (x != NULL)
        cJSON_AddItemToObject(doc, "feeds", x);
    cJSON_Delete(full);
    return doc;
}

/* Prometheus text from the same documents as the status pages, so
 * without the token it holds only public feeds and catalog rows. With
 * many shops every per-shop family is labelled shop="NAME" and the pool
 * has families of its own. */
static void
metrics_shops(struct server *s, struct shop **v, int n, int detail,
              struct pf_buf *b)
{
    struct page_shop *ps = xcalloc((size_t)n + 1, sizeof(*ps));
    struct page_counters *pcs = xcalloc((size_t)n + 1, sizeof(*pcs));
    struct page_counters *all = &pcs[n];
    struct pool_stats st;
    char prefix[80];
    int i;

    int k = 0;

    for (i = 0; i < n; i++) {
        /* A shop whose file never loaded has nothing to report yet. */
        if (!shop_loaded(v[i]))
            continue;
        snprintf(prefix, sizeof prefix, "/%s", v[i]->name);
        ps[k].name = s->single != NULL ? NULL : v[i]->name;
        ps[k].doc = metrics_doc(shop_status(v[i], detail, prefix));
        ps[k].pc = &pcs[k];
        shop_counters(v[i], &pcs[k]);
        all->feed_opens += pcs[k].feed_opens;
        all->feed_refreshes += pcs[k].feed_refreshes;
        all->request_opens += pcs[k].request_opens;
        k++;
    }
    server_counters(s, all);
    page_metrics_shops(ps, k, all, b);
    if (s->single == NULL) {
        pool_stats(s->pool, &st);
        page_pool_metrics(&st, b);
    }
    for (i = 0; i < k; i++)
        cJSON_Delete((cJSON *)ps[i].doc);
    free(ps);
    free(pcs);
}

/* Each shop's Clerk V2 families, labelled, merged by family. */
static void
clerk_metrics_shops(struct shop **v, int n, struct pf_buf *b)
{
    struct pf_buf *parts = xcalloc((size_t)n + 1, sizeof(*parts));
    char label[96];
    int i;

    for (i = 0; i < n; i++) {
        pf_buf_init(&parts[i]);
        /* Shop names need no escaping: [A-Za-z0-9_-] only. */
        snprintf(label, sizeof label, "shop=\"%s\"", v[i]->name);
        clerk_metrics(v[i]->clerk, &parts[i], label);
    }
    page_metrics_merge(parts, n, b);
    for (i = 0; i < n; i++)
        pf_buf_free(&parts[i]);
    free(parts);
}

static enum MHD_Result
get_metrics(struct server *s, struct MHD_Connection *c)
{
    struct pf_buf b;
    struct shop **v, *one[1];
    enum MHD_Result ret;
    int n = 1;

    pf_buf_init(&b);
    if (s->single != NULL) {
        one[0] = s->single;
        metrics_shops(s, one, 1, authorized(s, s->single, c), &b);
        clerk_metrics(s->single->clerk, &b, NULL);
    }
    else {
        v = shops_all(s->shops, &n);
        metrics_shops(s, v, n, authorized(s, NULL, c), &b);
        clerk_metrics_shops(v, n, &b);
        shops_put_all(v, n);
    }
    ret = respond_buf(s, c, MHD_HTTP_OK,
                      "text/plain; version=0.0.4; charset=utf-8", b.data,
                      b.len);
    pf_buf_free(&b);
    return ret;
}

/* ---- dispatch ----------------------------------------------------------- */

/* What a shop answers below its prefix ("" for the single shop, "/SHOP"
 * for one of many): url is what follows the prefix. */
static enum MHD_Result
shop_routes(struct server *s, struct shop *sh, struct MHD_Connection *c,
            const char *url, const char *prefix, const char *method)
{
    int head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    int get = head || strcmp(method, MHD_HTTP_METHOD_GET) == 0;

    if (strncmp(url, "/feeds/", 7) == 0)
        return get ? serve_feed(s, sh, c, url + 7, head)
                   : not_allowed(s, c, "GET, HEAD");
    if (strncmp(url, "/clerk/v2/", 10) == 0)
        return get ? clerk_handle(sh->clerk, c, url + 10, head)
                   : not_allowed(s, c, "GET, HEAD");
    if (strcmp(url, "/sync") == 0)
        return strcmp(method, MHD_HTTP_METHOD_POST) == 0
                   ? post_sync(s, sh, c, prefix)
                   : not_allowed(s, c, "POST");
    if (strncmp(url, "/runs/", 6) == 0)
        return get ? get_run(s, sh, c, url + 6)
                   : not_allowed(s, c, "GET, HEAD");
    if (strcmp(url, "/") == 0 || strcmp(url, "/status.json") == 0)
        return get ? get_status(s, sh, c, url[1] == '\0', prefix)
                   : not_allowed(s, c, "GET, HEAD");
    return respond_text(s, c, MHD_HTTP_NOT_FOUND, "404 not found\n");
}

/* /SHOP/...: that shop's routes; a shop whose file never loaded answers
 * 503 (its error is on the admin's overview and in the log). */
static enum MHD_Result
one_of_many(struct server *s, struct MHD_Connection *c, const char *url,
            const char *method)
{
    const char *name = url + 1, *rest = strchr(name, '/');
    struct shop *sh;
    char prefix[80];
    enum MHD_Result ret;

    if (rest == NULL || !shops_name_ok(name, (size_t)(rest - name)) ||
        (sh = shops_get(s->shops, name, (size_t)(rest - name))) == NULL)
        return respond_text(s, c, MHD_HTTP_NOT_FOUND, "404 not found\n");
    snprintf(prefix, sizeof prefix, "/%s", sh->name);
    ret = shop_loaded(sh) ? shop_routes(s, sh, c, rest, prefix, method)
                 : respond_text(s, c, MHD_HTTP_SERVICE_UNAVAILABLE,
                                "503 this shop's config was refused; the "
                                "server log says why\n");
    shops_put(sh);
    return ret;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url,
       const char *method, const char *version, const char *upload,
       size_t *upload_size, void **con_cls)
{
    struct server *s = cls;
    struct req_state *r = *con_cls;
    int head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    int get = head || strcmp(method, MHD_HTTP_METHOD_GET) == 0;
    int root;

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
    if (strcmp(url, "/healthz") == 0 || strcmp(url, "/metrics") == 0) {
        if (!get)
            return not_allowed(s, c, "GET, HEAD");
        return url[1] == 'h' ? respond_text(s, c, MHD_HTTP_OK, "ok\n")
                             : get_metrics(s, c);
    }
    if (s->single != NULL)
        return shop_routes(s, s->single, c, url, "", method);
    root = strcmp(url, "/") == 0;
    if (root || strcmp(url, "/status.json") == 0)
        return get ? get_overview(s, c, root)
                   : not_allowed(s, c, "GET, HEAD");
    return one_of_many(s, c, url, method);
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
        snprintf(host, sizeof host, "%s", srv_cfg(s)->listen_addr);
        snprintf(port, sizeof port, "%d", srv_cfg(s)->port);
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
    const struct pf_serve_cfg *sc = srv_cfg(s);
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
    int want = srv_cfg(s)->tls_cert != NULL;

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
    const struct pf_serve_cfg *sc = srv_cfg(s);

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
        else if (strcmp(argv[i], "--shops") == 0 && i + 1 < argc) {
            s->shops_arg = argv[++i];
        }
        else if (strncmp(argv[i], "--shops=", 8) == 0) {
            s->shops_arg = argv[i] + 8;
        }
        else {
            fprintf(stderr, "posfeed serve: unexpected argument '%s'\n"
                    "usage: posfeed [-c FILE] serve [--shops DIR] "
                    "[--listen ADDR:PORT]\n", argv[i]);
            return -1;
        }
    }
    return 0;
}

static int
init_clock(struct server *s)
{
    const char *sp = getenv("POSFEED_SERVE_CLOCK_SPEED");

    s->env.clock_base = pf_time_now();
    s->env.mono_base = pf_now_mono();
    s->env.speed = 1;
    if (sp != NULL && *sp) {
        char *end;
        double v = strtod(sp, &end);

        if (*end != '\0' || v < 1 || v > 100000) {
            log_error("POSFEED_SERVE_CLOCK_SPEED: expected a number from 1 "
                      "to 100000, got '%.40s'", sp);
            return -1;
        }
        s->env.speed = v;
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

/* ---- config and reload -------------------------------------------------- */

/* The admin token of a server config ([serve] token / token_file). */
static int
read_admin_token(struct server *s, const struct pf_config *cfg,
                 struct pf_err *err)
{
    char *token = NULL, *old;

    if (pf_secret_is_set(&cfg->serve.token) &&
        pf_secret_read(&cfg->serve.token, &token, err) != 0) {
        pf_err_prefix(err, "%s: [serve] token", cfg->path);
        return -1;
    }
    pthread_rwlock_wrlock(&s->admin_lock);
    old = s->admin_token;
    s->admin_token = token;
    pthread_rwlock_unlock(&s->admin_lock);
    if (old != NULL)
        OPENSSL_cleanse(old, strlen(old));
    free(old);
    return 0;
}

/* SIGHUP with one shop: its config again; one that does not load keeps
 * the running one. */
static void
reload_single(struct server *s)
{
    struct pf_err err = {{0}};

    if (shop_load(s->single, 1, NULL, &err) != 0) {
        log_error("reload refused, keeping the running config: %s",
                  err.msg);
        return;
    }
    conn_watch_set_limit(s->watch, srv_cfg(s)->header_timeout_s);
    shop_plan(s->single, srv_now(s));
    log_info("reloaded %s", s->single->config_path);
}

/* SIGHUP with many shops: the server config (its admin token and request
 * deadline; the rest takes a restart), then the shops folder. */
static void
reload_many(struct server *s)
{
    struct pf_err err = {{0}};
    struct pf_config *cfg = NULL;

    if (s->server_path != NULL) {
        if (pf_config_load(s->server_path, source_schema, &cfg, &err) != 0 ||
            cfg->serve.shops_dir == NULL || read_admin_token(s, cfg,
                                                             &err) != 0) {
            log_error("reload of the server config refused, keeping the "
                      "running one: %s", cfg != NULL && !*err.msg
                      ? "it has no [serve] shops any more" : err.msg);
            pf_config_free(cfg);
        }
        else {
            if (strcmp(cfg->serve.shops_dir,
                       s->server_cfg->serve.shops_dir) != 0 ||
                cfg->serve.workers != s->server_cfg->serve.workers)
                log_warn("[serve] shops or workers changed: restart "
                         "posfeed serve to use them");
            conn_watch_set_limit(s->watch, cfg->serve.header_timeout_s);
            pf_config_free(s->server_cfg);
            s->server_cfg = cfg;
        }
    }
    if (shops_scan(s->shops, &err) != 0)
        log_error("rescan refused, the shops loaded keep running: %s",
                  err.msg);
}

/* ---- the main loop ------------------------------------------------------ */

/* A scheduled run that has come due is queued; one still going (or
 * queued) when the time comes delays it until it ends: runs of a shop
 * never overlap, and none is skipped. */
static void
follow_schedule(struct server *s, struct shop *sh, int64_t now)
{
    int64_t due;
    int busy;

    pthread_mutex_lock(&sh->mu);
    due = sh->next_run;
    pthread_mutex_unlock(&sh->mu);
    if (due < 0 || now < due || sh->removed || shop_run_current(sh))
        return;
    queue_run(s, sh, "schedule", &busy);
    shop_plan(sh, now > due ? now : due);
}

/* Every shop's schedule, Clerk sessions and (each second) feeds. */
static void
each_shop(struct server *s, int64_t now, int check_feeds)
{
    struct shop **v, *one[1];
    int i, n = 1;

    if (s->single != NULL) {
        one[0] = s->single;
        v = one;
    }
    else {
        v = shops_all(s->shops, &n);
    }
    for (i = 0; i < n; i++) {
        clerk_sweep(v[i]->clerk);
        follow_schedule(s, v[i], now);
        /* A publish by another process (posfeed build or run from a
         * shell or cron) shows within a second (serve_cache.h). */
        if (check_feeds)
            shop_check_stale(v[i]);
    }
    if (s->single == NULL)
        shops_put_all(v, n);
}

/* The pool's runs get the environment copied at pool_new (serve_pool.h),
 * so a status request switching TZ meanwhile cannot disturb a spawn. */
static void
tick_pool(struct server *s)
{
    pool_tick(s->pool, srv_now(s), on_run_start, on_run_end, s);
}

/* The main loop: signals, the pool, the schedules, the feeds caches,
 * request deadlines, the shops folder. Returns when SIGTERM or SIGINT
 * arrives. */
static void
main_loop(struct server *s, const sigset_t *set)
{
    struct timespec tick = {0, 100 * 1000 * 1000};
    double last_check = pf_now_mono(), cut_logged = -60;
    unsigned long cut_unlogged = 0;
    int sig, check;

    for (;;) {
        sig = sigtimedwait(set, NULL, &tick);
        sweep(s, &cut_logged, &cut_unlogged);
        if (sig == SIGTERM || sig == SIGINT) {
            log_info("signal %d: stopping", sig);
            return;
        }
        if (sig == SIGHUP) {
            if (s->single != NULL)
                reload_single(s);
            else
                reload_many(s);
            reload_tls(s);
        }
        else if (s->single == NULL && shops_watch_due(s->shops)) {
            reload_many(s);
        }
        tick_pool(s);
        check = pf_now_mono() - last_check >= 1.0;
        each_shop(s, srv_now(s), check);
        /* What a schedule queued starts now, not a tick later. */
        tick_pool(s);
        if (check) {
            if (s->single == NULL)
                shops_reap(s->shops);
            last_check = pf_now_mono();
        }
    }
}

/* ---- start and stop ----------------------------------------------------- */

/* One shop: the config given with -c. */
static int
start_single(struct server *s, const char *path, struct pf_err *err)
{
    const struct pf_serve_cfg *sc;

    s->single = shop_new("", path, &s->env, SINGLE_HISTORY, 0);
    if (shop_load(s->single, 1, NULL, err) != 0)
        return -1;
    sc = srv_cfg(s);
    if (s->single->token == NULL)
        log_warn("no [serve] token: feeds with access = token and POST "
                 "/sync answer 401");
    /* One run at a time, and no time limit unless the file sets one: a
     * first full sync of a big shop may take hours. */
    s->run_timeout_s = sc->run_timeout_s;
    s->pool = pool_new("/proc/self/exe", 1, s->run_timeout_s);
    shop_first_plan(s->single);
    return 0;
}

/* Many shops: --shops DIR, or a server config's [serve] shops. */
static int
start_many(struct server *s, struct pf_err *err)
{
    const struct pf_serve_cfg *sc;
    char *dir;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned workers;

    if (s->server_cfg == NULL)
        s->server_cfg = pf_config_server(s->shops_arg);
    else if (read_admin_token(s, s->server_cfg, err) != 0)
        return -1;
    sc = srv_cfg(s);
    dir = realpath(s->shops_arg != NULL ? s->shops_arg : sc->shops_dir,
                   NULL);
    if (dir == NULL) {
        pf_errf(err, "%s: %s", s->shops_arg != NULL ? s->shops_arg
                : sc->shops_dir, strerror(errno));
        return -1;
    }
    workers = sc->workers > 0 ? (unsigned)sc->workers
              : cpus > 0 ? (unsigned)cpus : 1u;
    s->run_timeout_s = sc->run_timeout_s > 0 ? sc->run_timeout_s : 3600;
    s->pool = pool_new("/proc/self/exe", workers, s->run_timeout_s);
    s->shops = shops_new(dir, &s->env, s->pool, sc->jitter_s);
    free(dir);
    if (s->admin_token == NULL)
        log_warn("no [serve] token in the server config: only each shop's "
                 "own token opens its detail");
    if (shops_scan(s->shops, err) != 0)
        return -1;
    shops_watch_open(s->shops);
    log_info("%s: serving the shops in it, %u worker(s)",
             s->shops_arg != NULL ? s->shops_arg : sc->shops_dir, workers);
    return 0;
}

/* -c FILE is one shop's config, or a server config with [serve] shops
 * (without --shops); --shops DIR needs no config. */
static int
load_server(struct server *s, const char *config_path, struct pf_err *err)
{
    char *path;
    int rc;

    if (s->shops_arg != NULL)
        return start_many(s, err);
    path = realpath(config_path, NULL);
    if (path == NULL) {
        pf_errf(err, "%s: %s", config_path, strerror(errno));
        return -1;
    }
    if (pf_config_load(path, source_schema, &s->server_cfg, err) != 0) {
        free(path);
        return -1;
    }
    if (s->server_cfg->serve.shops_dir != NULL) {
        s->server_path = path;
        return start_many(s, err);
    }
    pf_config_free(s->server_cfg);
    s->server_cfg = NULL;
    rc = start_single(s, path, err);
    free(path);
    return rc;
}

/* Blocks the signals the main loop takes synchronously; MHD's threads
 * inherit the mask and never see them. */
static void
block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGCHLD);
    sigaddset(set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Close the server first, then let the runs end: each gets SIGTERM,
 * dies before its next commit, and SQLite rolls its open transaction
 * back; publish removes its temp files on the next build.
 *
 * Not MHD_quiesce_daemon(): in libmicrohttpd 0.9.75 with epoll and a
 * thread pool it removes the listen socket from each worker's epoll set
 * while the worker may be removing it too, and the loser's ENOENT is a
 * panic (abort). A request that arrives while the runs stop is refused
 * by the closed socket, as it would be by a quiesced one. */
static void
stop(struct server *s)
{
    struct pool_stats ps;

    MHD_stop_daemon(s->d);
    s->d = NULL;
    pool_stats(s->pool, &ps);
    if (ps.running > 0)
        log_info("waiting for %u run(s) to stop", ps.running);
    pool_stop(s->pool, srv_now(s), on_run_end, s);
}

static void
server_free(struct server *s)
{
    if (s->d != NULL)
        MHD_stop_daemon(s->d);
    if (s->pool != NULL)
        pool_stop(s->pool, srv_now(s), on_run_end, s);
    pool_free(s->pool);
    serve_tls_free();
    conn_watch_free(s->watch);
    shop_free(s->single);
    shops_free(s->shops);
    if (s->admin_token != NULL)
        OPENSSL_cleanse(s->admin_token, strlen(s->admin_token));
    free(s->admin_token);
    free(s->server_path);
    pf_config_free(s->server_cfg);
    pthread_rwlock_destroy(&s->admin_lock);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->sync_mu);
    pthread_mutex_destroy(&s->env.tz_mu);
    free(s);
}

int
serve_main(const char *config_path, int argc, char **argv)
{
    struct pf_err err = {{0}};
    struct server *s = xcalloc(1, sizeof(*s));
    sigset_t set;
    int rc = EXIT_USAGE;

    pthread_rwlock_init(&s->admin_lock, NULL);
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->sync_mu, NULL);
    pthread_mutex_init(&s->env.tz_mu, NULL);
    s->env.respond = clerk_respond;
    s->env.respond_arg = s;
    s->main_thread = pthread_self();
    if (parse_args(s, argc, argv) != 0 || init_clock(s) != 0)
        goto cleanup;
    block_signals(&set);
    if (load_server(s, config_path, &err) != 0) {
        fprintf(stderr, "posfeed: %s\n", err.msg);
        goto cleanup;
    }
    s->tls = srv_cfg(s)->tls_cert != NULL;
    if (s->tls && (serve_tls_available(&err) != 0 ||
                   load_tls(s, &err) != 0)) {
        fprintf(stderr, "posfeed: %s\n", err.msg);
        goto cleanup;
    }
    s->watch = conn_watch_new(srv_cfg(s)->header_timeout_s);
    rc = EXIT_RUNTIME;
    if (start_http(s) != 0)
        goto cleanup;
    main_loop(s, &set);
    stop(s);
    rc = 0;
cleanup:
    server_free(s);
    return rc;
}
