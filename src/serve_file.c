/* serve_file.c - see serve_file.h. */
#include "serve_file.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serve_cache.h"
#include "serve_req.h"
#include "serve_tls.h"
#include "util.h"

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
send_rep(struct resp_ctx *x, struct MHD_Connection *c, struct rep *rp,
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
    r = rep_body(code, rp, first, last, x->tls);
    if (r == NULL)
        return MHD_NO;
    rep_headers(r, code, rp, first, last);
    return resp_send(x, c, code, r);
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

/* A 304 comes from the cache with no file system call; a full response
 * opens the file (open_rep). */
enum MHD_Result
file_serve_feed(struct resp_ctx *x, struct shop *sh,
                struct MHD_Connection *c, const char *rel, int head,
                int authorized)
{
    const struct cache_entry *e = NULL;
    struct cache_entry copy;
    enum MHD_Result ret;
    struct rep rp;
    int twin = 0, v;

    cache_lock(sh->cache);
    if (req_path_ok(rel))
        e = cache_find(sh->cache, rel, &twin);
    if (!authorized && !(e != NULL && !e->token)) {
        cache_unlock(sh->cache);
        return resp_unauthorized(x, c);
    }
    v = pick_view(c, e, twin);
    if (v >= 0 && not_modified(c, e->etag[v],
                               (int64_t)e->file[v ? 1 : 0].mtime.tv_sec)) {
        /* Queued under the lock, which keeps the shared response alive
         * until MHD holds its own reference. */
        ret = resp_send_shared(x, c, MHD_HTTP_NOT_MODIFIED, e->r304[v]);
        cache_unlock(sh->cache);
        return ret;
    }
    if (v >= 0)
        cache_entry_copy(e, &copy);
    cache_unlock(sh->cache);
    if (v < 0)
        return resp_text(x, c, MHD_HTTP_NOT_FOUND, "404 not found\n");
    if (open_rep(sh, &copy, (enum cache_view)v, &rp) != 0) {
        cache_entry_clear(&copy);
        return resp_text(x, c, MHD_HTTP_NOT_FOUND, "404 not found\n");
    }
    cache_entry_clear(&copy);
    ret = send_rep(x, c, &rp, head);
    if (rp.fd >= 0)
        close(rp.fd);
    return ret;
}
