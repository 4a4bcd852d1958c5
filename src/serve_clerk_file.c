/* serve_clerk_file.c - Clerk V2 answers made before they were asked for:
 * incremental ones rendered while their mode was decided (kept in the
 * session, struct clerk_pre), and full ones from the answer file a run
 * wrote (feed_answer.h) instead of rendered live. The file is used
 * only when its generation is that of the snapshot the request opened,
 * and then it is that snapshot (a paging session holds the file, not a
 * read transaction). NDJSON goes out as a byte range of the file (an fd
 * response over plain HTTP, serve_tls_file_response over HTTPS); JSON
 * from the same bytes, each line's '\n' turned into the array's ',' as
 * they are read. See serve_clerk_int.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "feed_answer.h"
#include "log.h"
#include "serve_clerk_int.h"
#include "serve_tls.h"

#define JSON_BLOCK (64 * 1024)

/* The products' list attributes this answer was rendered with, recorded
 * as a live full answer records them (serve_clerk.c note_lists), so that
 * the next incremental answer compares against them. A window opened on
 * the snapshot fills the cache: from what the run stored for this
 * generation (feed_window_cache_save), else by reading the catalog. */
static int
note_lists(struct clerk_sess *s, struct pf_err *err)
{
    struct feed_window_opts o = {.after = NULL, .changed_since = INT64_MIN,
                                 .limit = 1, .cache = s->cache,
                                 .tz_held = 1};
    struct feed_window *w = NULL;
    int64_t epoch;

    if (feed_window_open(s->def->cfg, s->def->fc[CLERK_PRODUCTS], s->st,
                         &o, &w, err) != 0)
        return -1;
    feed_window_free(w);
    return clerk_def_lists_epoch(s->def, s->cache, s->st, &epoch, err);
}

/* 1 and *out: the entity's answer file shows s's snapshot. */
static int
file_for(struct clerk_sess *s, struct feed_answer **out)
{
    struct pf_err err = {{0}};
    const struct clerk_def *d = s->def;
    struct feed_answer_gen g;
    char *path;
    int ok, rc;

    *out = NULL;
    if (feed_answer_gen(d->cfg, d->fc[s->ent], d->hash[s->ent],
                        d->clock[s->ent], s->st, &g, &ok, &err) != 0) {
        log_warn("clerk v2: %s: %s", clerk_entities[s->ent], err.msg);
        return 0;
    }
    if (!ok)
        return 0;
    path = feed_answer_path(d->cfg, clerk_entities[s->ent]);
    rc = feed_answer_open(path, &g, out, &err);
    free(path);
    if (rc < 0)
        log_warn("clerk v2: %s: %s; rendering it live",
                 clerk_entities[s->ent], err.msg);
    return rc == 1;
}

int
clerk_file_attach(struct clerk *k, struct clerk_sess *s)
{
    struct pf_err err = {{0}};
    struct feed_answer *f;

    if (s->file != NULL)
        return 1;
    if (s->st == NULL || !file_for(s, &f))
        return 0;
    if (s->ent == CLERK_PRODUCTS && note_lists(s, &err) != 0) {
        log_warn("clerk v2: products: %s", err.msg);
        feed_answer_close(f);
        return 0;
    }
    s->file = f;
    clerk_sess_unbind(k, s);
    return 1;
}

/* ---- JSON from the NDJSON bytes ----------------------------------------- */

struct json_body {
    int fd;
    uint64_t off, len;          /* the NDJSON range: whole lines */
};

/* Output byte p of "[" + lines joined by "," + "]\n", for p in 1 .. len:
 * the range's byte p - 1, its newlines the commas, the last the ']'. */
static ssize_t
json_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct json_body *b = cls;
    size_t n = 0, want, i;
    ssize_t k;

    if (pos == 0)
        buf[n++] = '[';
    else
        pos--;
    if (pos < b->len && n < max) {
        want = max - n;
        if (want > b->len - pos)
            want = (size_t)(b->len - pos);
        do
            k = pread(b->fd, buf + n, want, (off_t)(b->off + pos));
        while (k < 0 && errno == EINTR);
        if (k <= 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        for (i = 0; i < (size_t)k; i++)
            if (buf[n + i] == '\n')
                buf[n + i] = pos + i + 1 == b->len ? ']' : ',';
        return (ssize_t)(n + (size_t)k);
    }
    if (pos == b->len && n < max) {
        buf[n++] = '\n';
        return (ssize_t)n;
    }
    return n > 0 ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void
json_free(void *cls)
{
    struct json_body *b = cls;

    close(b->fd);
    free(b);
}

static int
is_tls(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);

    return ci != NULL && ci->tls_session != NULL;
}

/* The body for bytes [off, off + len) of fd (a copy of it, which the
 * response owns). */
static struct MHD_Response *
body(struct MHD_Connection *c, int fd, uint64_t off, uint64_t len,
     int json)
{
    static const char empty[] = "[]\n";
    struct json_body *b;
    struct MHD_Response *r;

    if (len == 0)
        return json ? MHD_create_response_from_buffer(
                          sizeof empty - 1, (void *)empty,
                          MHD_RESPMEM_PERSISTENT)
                    : MHD_create_response_from_buffer(0, NULL,
                          MHD_RESPMEM_PERSISTENT);
    fd = dup(fd);
    if (fd < 0)
        return NULL;
    if (!json && is_tls(c))
        return serve_tls_file_response(len, fd, off);
    if (!json) {
        r = MHD_create_response_from_fd_at_offset64(len, fd, off);
        if (r == NULL)
            close(fd);
        return r;
    }
    b = xmalloc(sizeof(*b));
    b->fd = fd;
    b->off = off;
    b->len = len;
    r = MHD_create_response_from_callback(len + 2, JSON_BLOCK, json_read,
                                          b, json_free);
    if (r == NULL)
        json_free(b);
    return r;
}

struct MHD_Response *
clerk_file_response(struct clerk_sess *s, struct MHD_Connection *c,
                    int64_t first, int64_t limit, int json, int64_t *nobj,
                    int *more, int *damaged)
{
    struct pf_err err = {{0}};
    uint64_t off, len;

    *damaged = 0;
    *more = 0;
    if (feed_answer_range(s->file, first, limit, &off, &len, nobj,
                          &err) != 0) {
        log_warn("clerk v2: %s: %s; rendering it live",
                 clerk_entities[s->ent], err.msg);
        *damaged = 1;
        return NULL;
    }
    *more = limit > 0 && first + *nobj < feed_answer_count(s->file);
    return body(c, feed_answer_fd(s->file), off, len, json);
}

/* ---- incremental answers already rendered ------------------------------- */

void
clerk_pre_add(struct clerk_pre *p, size_t mark)
{
    pf_buf_addc(&p->buf, '\n');
    if (p->n + 2 > p->cap) {
        p->cap = p->cap > 0 ? 2 * p->cap : 64;
        p->off = xrealloc(p->off, (size_t)p->cap * sizeof(*p->off));
    }
    p->off[p->n++] = mark;
    p->off[p->n] = p->buf.len;
}

void
clerk_pre_free(struct clerk_pre *p)
{
    if (p == NULL)
        return;
    pf_buf_free(&p->buf);
    free(p->off);
    free(p);
}

struct MHD_Response *
clerk_pre_response(struct clerk_sess *s, int64_t first, int64_t limit,
                   int json, int64_t *nobj, int *more)
{
    const struct clerk_pre *p = s->pre;
    int64_t i = first < p->n ? first : p->n, j;
    struct pf_buf b;
    size_t k;

    j = limit > 0 && limit < p->n - i ? i + limit : p->n;
    *nobj = j - i;
    *more = limit > 0 && j < p->n;
    if (i == j)
        return json ? MHD_create_response_from_buffer(
                          3, (void *)"[]\n", MHD_RESPMEM_PERSISTENT)
                    : MHD_create_response_from_buffer(
                          0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!json)
        return MHD_create_response_from_buffer(
            p->off[j] - p->off[i], p->buf.data + p->off[i],
            MHD_RESPMEM_MUST_COPY);
    pf_buf_init(&b);
    pf_buf_addc(&b, '[');
    pf_buf_add(&b, p->buf.data + p->off[i], p->off[j] - p->off[i]);
    for (k = 1; k < b.len; k++)
        if (b.data[k] == '\n')
            b.data[k] = k + 1 == b.len ? ']' : ',';
    pf_buf_addc(&b, '\n');
    return MHD_create_response_from_buffer(b.len, b.data,
                                           MHD_RESPMEM_MUST_FREE);
}
