/* serve_cache.c - see serve_cache.h. */
/* realpath() is an XSI interface. */
#define _XOPEN_SOURCE 700

#include "serve_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "serve_req.h"
#include "store.h"
#include "util.h"

/* A folder's identity and change time, compared once a second. */
struct dir_mark {
    char *path;
    int ok;                 /* stat() succeeded */
    int racy;               /* changed too recently to be sure */
    dev_t dev;
    ino_t ino;
    struct timespec mtime;
};

/* File times come from a clock that ticks once per jiffy (1 to 10 ms),
 * so a rename in the same tick as the stat that marked its folder leaves
 * the folder's mtime unchanged. A mark that recent is "racy": the folder
 * counts as changed at the next check, which marks it again. */
#define RACY_NS 50000000LL

/* What one refresh built; swapped in whole. */
struct cache_set {
    struct cache_entry *e;  /* sorted by path */
    size_t n;
};

/* What stat() says of a file, to tell that it changed. */
struct file_mark {
    int exists;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

struct feed_cache {
    /* A mutex, not a read-write lock: a request holds it for a lookup
     * and a queued 304, so readers always leave room for a refresh's
     * swap (glibc's rwlock would let steady readers starve it). */
    pthread_mutex_t lock;
    struct cache_set cur;           /* under lock */

    /* Main thread only. */
    struct store *st;               /* kept open for data_version */
    dev_t st_dev;
    ino_t st_ino;
    int64_t data_version;
    struct dir_mark *dirs;
    size_t ndirs;
    int retry;                      /* the last refresh saw a half publish */
    atomic_int poke;                /* a request saw the disk move on */

    pthread_mutex_t count_mu;
    unsigned long opens, refreshes;

    /* Lean (many shops): no store kept open between refreshes; a commit
     * is seen by the store file and its WAL changing instead. */
    int lean;
    struct file_mark db_mark, wal_mark;
};

/* Row of the feeds table, as refresh reads it. */
struct feed_row {
    char *name, *path, *access;
    char sha[65], gz_sha[65];
    int64_t bytes, gz_bytes;
};

struct feed_cache *
cache_new(void)
{
    struct feed_cache *c = xcalloc(1, sizeof(*c));

    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->count_mu, NULL);
    c->data_version = -1;
    return c;
}

static void
set_free(struct cache_set *set)
{
    size_t i;
    int v;

    for (i = 0; i < set->n; i++) {
        struct cache_entry *e = &set->e[i];

        for (v = 0; v < CV_N; v++)
            if (e->r304[v] != NULL)
                MHD_destroy_response(e->r304[v]);
        free(e->file[0].abs);
        free(e->file[1].abs);
        free(e->path);
    }
    free(set->e);
    set->e = NULL;
    set->n = 0;
}

static void
dirs_free(struct dir_mark *d, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(d[i].path);
    free(d);
}

void
cache_free(struct feed_cache *c)
{
    if (c == NULL)
        return;
    set_free(&c->cur);
    store_close(c->st);
    dirs_free(c->dirs, c->ndirs);
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->count_mu);
    free(c);
}

/* ---- reading the store ---------------------------------------------- */

/* The store kept open for PRAGMA data_version, reopened when the file
 * at store_path is another one (replaced) or was never opened. */
static int
store_attach(struct feed_cache *c, const char *store_path)
{
    struct stat sb;

    if (stat(store_path, &sb) != 0) {
        store_close(c->st);
        c->st = NULL;
        return -1;
    }
    if (c->st != NULL && sb.st_dev == c->st_dev && sb.st_ino == c->st_ino)
        return 0;
    store_close(c->st);
    c->st = NULL;
    if (store_open_readonly(store_path, &c->st, NULL) != 0)
        return -1;
    c->st_dev = sb.st_dev;
    c->st_ino = sb.st_ino;
    c->data_version = -1;
    return 0;
}

static void
file_mark_take(struct file_mark *m, const char *path)
{
    struct stat sb;

    memset(m, 0, sizeof(*m));
    if (stat(path, &sb) != 0)
        return;
    m->exists = 1;
    m->dev = sb.st_dev;
    m->ino = sb.st_ino;
    m->size = sb.st_size;
    m->mtime = sb.st_mtim;
}

static int
file_mark_same(const struct file_mark *a, const struct file_mark *b)
{
    return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino &&
           a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
           a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* The store and its WAL as they are now (lean caches). */
static void
store_marks(const char *store_path, struct file_mark *db,
            struct file_mark *wal)
{
    char *w = xasprintf("%s-wal", store_path);

    file_mark_take(db, store_path);
    file_mark_take(wal, w);
    free(w);
}

void
cache_set_lean(struct feed_cache *c)
{
    c->lean = 1;
}

/* cache_stale() of a lean cache: the store or its WAL moved. */
static int
lean_stale(struct feed_cache *c, const char *store_path)
{
    struct file_mark db, wal;

    if (!c->db_mark.exists)
        return 1;
    store_marks(store_path, &db, &wal);
    return !file_mark_same(&db, &c->db_mark) ||
           !file_mark_same(&wal, &c->wal_mark);
}

/* PRAGMA data_version: changes whenever another connection commits. */
static int64_t
data_version(struct feed_cache *c)
{
    sqlite3_stmt *q = NULL;
    int64_t v = -1;

    if (c->st == NULL)
        return -1;
    if (sqlite3_prepare_v2(store_db(c->st), "PRAGMA data_version", -1, &q,
                           NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

static int
has_feeds_table(struct store *st)
{
    sqlite3_stmt *q = NULL;
    int has = 1;

    if (sqlite3_prepare_v2(store_db(st), "SELECT count(*) FROM "
                           "sqlite_master WHERE type = 'table' AND "
                           "name = 'feeds'", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        has = sqlite3_column_int(q, 0) > 0;
    sqlite3_finalize(q);
    return has;
}

static void
rows_free(struct feed_row *r, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(r[i].name);
        free(r[i].path);
        free(r[i].access);
    }
    free(r);
}

static void
copy_hex(char dst[65], const unsigned char *src)
{
    snprintf(dst, 65, "%s", src ? (const char *)src : "");
}

static const char *
col_text(sqlite3_stmt *q, int i)
{
    const unsigned char *t = sqlite3_column_text(q, i);

    return t != NULL ? (const char *)t : "";
}

/* The feeds table, or -1 (err) when it cannot be read. */
static int
read_rows(struct store *st, struct feed_row **out, size_t *nout,
          struct pf_err *err)
{
    sqlite3_stmt *q = NULL;
    struct feed_row *r = NULL;
    size_t n = 0;
    int rc = -1;

    if (sqlite3_prepare_v2(store_db(st), "SELECT name, path, bytes, "
                           "gz_bytes, sha256, gz_sha256, access FROM feeds "
                           "ORDER BY path", -1, &q, NULL) != SQLITE_OK) {
        pf_errf(err, "reading published feeds: %s",
                sqlite3_errmsg(store_db(st)));
        goto cleanup;
    }
    while ((rc = store_step(st, q, err, "reading published feeds")) == 1) {
        struct feed_row *e;

        r = xrealloc(r, (n + 1) * sizeof(*r));
        e = &r[n++];
        memset(e, 0, sizeof(*e));
        e->name = xstrdup(col_text(q, 0));
        e->path = xstrdup(col_text(q, 1));
        e->bytes = sqlite3_column_int64(q, 2);
        e->gz_bytes = sqlite3_column_int64(q, 3);
        copy_hex(e->sha, sqlite3_column_text(q, 4));
        copy_hex(e->gz_sha, sqlite3_column_text(q, 5));
        e->access = xstrdup(col_text(q, 6));
    }
cleanup:
    sqlite3_finalize(q);
    if (rc < 0) {
        rows_free(r, n);
        return -1;
    }
    *out = r;
    *nout = n;
    return 0;
}

/* ---- opening files ---------------------------------------------------- */

int
cache_open_inside(const char *dir, const char *real_dir, const char *rel,
                  const char *suffix, struct stat *st)
{
    char *p = xasprintf("%s/%s%s", dir, rel, suffix);
    char *real = NULL;
    int fd = -1;
    size_t n;

    if (real_dir == NULL)
        goto cleanup;
    real = realpath(p, NULL);
    n = strlen(real_dir);
    if (real == NULL || strncmp(real, real_dir, n) != 0 || real[n] != '/')
        goto cleanup;
    fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0 && (fstat(fd, st) != 0 || !S_ISREG(st->st_mode))) {
        close(fd);
        fd = -1;
    }
cleanup:
    free(real);
    free(p);
    return fd;
}

/* Records the identity and validators of feeds_dir/rel + suffix, after
 * checking it lies inside feeds_dir. */
static void
open_file(struct feed_cache *c, const char *dir, const char *real_dir,
          const char *rel, const char *suffix, struct cache_file *f)
{
    struct stat sb;
    int fd = cache_open_inside(dir, real_dir, rel, suffix, &sb);

    pthread_mutex_lock(&c->count_mu);
    c->opens++;
    pthread_mutex_unlock(&c->count_mu);
    f->abs = xasprintf("%s/%s%s", dir, rel, suffix);
    if (fd < 0)
        return;
    close(fd);
    cache_file_set(f, &sb);
}

void
cache_file_set(struct cache_file *f, const struct stat *sb)
{
    f->ok = 1;
    f->dev = sb->st_dev;
    f->ino = sb->st_ino;
    f->size = (int64_t)sb->st_size;
    f->mtime = sb->st_mtim;
    req_http_date((int64_t)sb->st_mtim.tv_sec, f->lm);
}

int
cache_file_is(const struct cache_file *f, const struct stat *sb)
{
    return f->ok && f->dev == sb->st_dev && f->ino == sb->st_ino &&
           f->size == (int64_t)sb->st_size &&
           f->mtime.tv_sec == sb->st_mtim.tv_sec &&
           f->mtime.tv_nsec == sb->st_mtim.tv_nsec;
}

int
cache_etag(char out[96], const struct cache_file *f, const char *sha,
           int64_t bytes, const char *tail)
{
    if (f->size == bytes && sha[0] != '\0') {
        snprintf(out, 96, "\"%s\"", sha);
        return 1;
    }
    snprintf(out, 96, "\"f%llx-%llx-%llx%s\"", (unsigned long long)f->ino,
             (unsigned long long)f->size,
             (unsigned long long)f->mtime.tv_sec, tail);
    return 0;
}

static const char *
content_type(const char *path)
{
    static const struct { const char *ext, *type; } types[] = {
        {".json", "application/json; charset=utf-8"},
        {".ndjson", "application/x-ndjson; charset=utf-8"},
        {".jsonl", "application/x-ndjson; charset=utf-8"},
        {".xml", "application/xml; charset=utf-8"},
        {".rss", "application/xml; charset=utf-8"},
        {".csv", "text/csv; charset=utf-8"},
        {".txt", "text/plain; charset=utf-8"},
        {".tsv", "text/plain; charset=utf-8"},
        {".gz", "application/gzip"},
    };
    const char *dot = strrchr(path, '.');
    size_t i;

    for (i = 0; dot != NULL && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

const char *
cache_content_type(const struct cache_entry *e, enum cache_view v)
{
    return content_type(v == CV_GZ_FILE ? "x.gz" : e->path);
}

/* The 304 of a view: the validators and caching headers a 200 carries,
 * no body (RFC 9110 section 15.4.5). */
static struct MHD_Response *
make_304(const struct cache_entry *e, enum cache_view v)
{
    const struct cache_file *f = &e->file[v == CV_IDENTITY ? 0 : 1];
    struct MHD_Response *r;

    r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return NULL;
    if (v == CV_GZIP)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING,
                                "gzip");
    MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, e->etag[v]);
    MHD_add_response_header(r, MHD_HTTP_HEADER_LAST_MODIFIED, f->lm);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
                            e->token ? "private, no-cache"
                                     : "public, no-cache");
    if (v != CV_GZ_FILE && e->twin)
        MHD_add_response_header(r, MHD_HTTP_HEADER_VARY,
                                MHD_HTTP_HEADER_ACCEPT_ENCODING);
    return r;
}

/* One entry from its row: files opened, validators and 304s made.
 * Returns 1 when what is on disk is not yet what the row says. */
static int
make_entry(struct feed_cache *c, const struct feed_row *row,
           const char *dir, const char *real_dir, int token,
           struct cache_entry *e)
{
    struct cache_file *f = e->file;
    int half = 0, v;

    memset(e, 0, sizeof(*e));
    e->path = xstrdup(row->path);
    e->token = token || strcmp(row->access, "public") != 0;
    e->twin = row->gz_sha[0] != '\0';
    memcpy(e->sha, row->sha, sizeof e->sha);
    memcpy(e->gz_sha, row->gz_sha, sizeof e->gz_sha);
    e->bytes = row->bytes;
    e->gz_bytes = row->gz_bytes;
    open_file(c, dir, real_dir, row->path, "", &f[0]);
    if (e->twin)
        open_file(c, dir, real_dir, row->path, ".gz", &f[1]);
    if (f[0].ok)
        half |= !cache_etag(e->etag[CV_IDENTITY], &f[0], row->sha,
                            row->bytes, "");
    if (f[1].ok) {
        half |= !cache_etag(e->etag[CV_GZ_FILE], &f[1], row->gz_sha,
                            row->gz_bytes, "");
        cache_etag(e->etag[CV_GZIP], &f[1], row->gz_sha, row->gz_bytes,
                   "-gz");
    }
    /* The publisher gives a pair one mtime; any other twin is from
     * another version (a publish half done, or a crash between the two
     * renames) and is not negotiated. */
    e->twin_ok = f[0].ok && f[1].ok &&
                 f[0].mtime.tv_sec == f[1].mtime.tv_sec &&
                 f[0].mtime.tv_nsec == f[1].mtime.tv_nsec;
    half |= f[0].ok && f[1].ok && !e->twin_ok;
    for (v = 0; v < CV_N; v++)
        if ((v == CV_IDENTITY && f[0].ok) || (v == CV_GZIP && e->twin_ok) ||
            (v == CV_GZ_FILE && f[1].ok))
            e->r304[v] = make_304(e, (enum cache_view)v);
    return half;
}

/* ---- watching for publishes ------------------------------------------- */

static void
mark_dir(struct dir_mark *d)
{
    struct stat sb;

    struct timespec now;

    d->ok = stat(d->path, &sb) == 0;
    if (!d->ok)
        return;
    d->dev = sb.st_dev;
    d->ino = sb.st_ino;
    d->mtime = sb.st_mtim;
    clock_gettime(CLOCK_REALTIME, &now);
    d->racy = (now.tv_sec - sb.st_mtim.tv_sec) * 1000000000LL +
              (now.tv_nsec - sb.st_mtim.tv_nsec) < RACY_NS;
}

static int
dir_changed(const struct dir_mark *d)
{
    struct dir_mark now = *d;

    if (d->racy)
        return 1;
    mark_dir(&now);
    if (now.ok != d->ok)
        return 1;
    return now.ok && (now.dev != d->dev || now.ino != d->ino ||
                      now.mtime.tv_sec != d->mtime.tv_sec ||
                      now.mtime.tv_nsec != d->mtime.tv_nsec);
}

/* The folders holding the feeds of rows (feeds_dir itself always),
 * stat'ed now: before any file is opened, so a rename after this moment
 * shows at the next cache_stale(). */
static void
mark_dirs(struct feed_cache *c, const char *feeds_dir,
          const struct feed_row *rows, size_t n)
{
    size_t i, k;
    char *p, *d;

    dirs_free(c->dirs, c->ndirs);
    c->dirs = xcalloc(n + 1, sizeof(*c->dirs));
    c->dirs[0].path = xstrdup(feeds_dir);
    c->ndirs = 1;
    for (i = 0; i < n; i++) {
        p = xasprintf("%s/%s", feeds_dir, rows[i].path);
        d = pf_path_dir(p);
        free(p);
        for (k = 0; k < c->ndirs && strcmp(c->dirs[k].path, d) != 0; k++)
            ;
        if (k < c->ndirs) {
            free(d);
            continue;
        }
        c->dirs[c->ndirs++].path = d;
    }
    for (k = 0; k < c->ndirs; k++)
        mark_dir(&c->dirs[k]);
}

int
cache_stale(struct feed_cache *c, const char *store_path)
{
    struct stat sb;
    size_t i;

    if (c->lean) {
        if (c->retry || atomic_exchange(&c->poke, 0) != 0 ||
            lean_stale(c, store_path))
            return 1;
        for (i = 0; i < c->ndirs; i++)
            if (dir_changed(&c->dirs[i]))
                return 1;
        return 0;
    }
    if (c->retry || c->st == NULL ||
        atomic_exchange(&c->poke, 0) != 0)
        return 1;
    if (stat(store_path, &sb) != 0 || sb.st_dev != c->st_dev ||
        sb.st_ino != c->st_ino)
        return 1;
    if (data_version(c) != c->data_version)
        return 1;
    for (i = 0; i < c->ndirs; i++)
        if (dir_changed(&c->dirs[i]))
            return 1;
    return 0;
}

/* ---- refresh -------------------------------------------------------- */

void
cache_refresh(struct feed_cache *c, const char *store_path,
              const char *feeds_dir, const char *feeds_real,
              cache_token_fn wants_token, void *arg)
{
    struct pf_err err = {{0}};
    struct feed_row *rows = NULL;
    struct cache_set set = {NULL, 0}, old;
    size_t i, n = 0;
    int half = 0;

    /* Marked before reading: a commit while reading shows next time. */
    if (c->lean)
        store_marks(store_path, &c->db_mark, &c->wal_mark);
    if (store_attach(c, store_path) != 0) {
        /* No store yet (serve before the first run) is not an error. */
        c->retry = 0;
        return;
    }
    c->data_version = data_version(c);
    if (read_rows(c->st, &rows, &n, &err) != 0) {
        /* A store a first run is still creating has no feeds table yet:
         * nothing to say, look again in a second. */
        c->retry = !has_feeds_table(c->st);
        if (!c->retry)
            log_error("%s; still serving the feeds read before", err.msg);
        if (c->lean) {
            store_close(c->st);
            c->st = NULL;
        }
        return;
    }
    mark_dirs(c, feeds_dir, rows, n);
    set.e = xcalloc(n ? n : 1, sizeof(*set.e));
    for (i = 0; i < n; i++)
        half |= make_entry(c, &rows[i], feeds_dir, feeds_real,
                           wants_token(arg, rows[i].name), &set.e[i]);
    set.n = n;
    rows_free(rows, n);
    c->retry = half;
    pthread_mutex_lock(&c->lock);
    old = c->cur;
    c->cur = set;
    pthread_mutex_unlock(&c->lock);
    set_free(&old);
    pthread_mutex_lock(&c->count_mu);
    c->refreshes++;
    pthread_mutex_unlock(&c->count_mu);
    if (c->lean) {
        store_close(c->st);
        c->st = NULL;
    }
}

void
cache_poke(struct feed_cache *c)
{
    atomic_store(&c->poke, 1);
}

void
cache_counters(struct feed_cache *c, unsigned long *opens,
               unsigned long *refreshes)
{
    pthread_mutex_lock(&c->count_mu);
    *opens = c->opens;
    *refreshes = c->refreshes;
    pthread_mutex_unlock(&c->count_mu);
}

size_t
cache_ages(struct feed_cache *c, int public_only, int64_t *oldest,
           int64_t *newest)
{
    size_t i, n = 0;
    int64_t t;

    *oldest = *newest = 0;
    pthread_mutex_lock(&c->lock);
    for (i = 0; i < c->cur.n; i++) {
        const struct cache_entry *e = &c->cur.e[i];

        if (!e->file[0].ok || (public_only && e->token))
            continue;
        t = (int64_t)e->file[0].mtime.tv_sec;
        if (n == 0 || t < *oldest)
            *oldest = t;
        if (n == 0 || t > *newest)
            *newest = t;
        n++;
    }
    pthread_mutex_unlock(&c->lock);
    return n;
}

/* ---- lookup ------------------------------------------------------------ */

void
cache_lock(struct feed_cache *c)
{
    pthread_mutex_lock(&c->lock);
}

void
cache_unlock(struct feed_cache *c)
{
    pthread_mutex_unlock(&c->lock);
}

void
cache_entry_copy(const struct cache_entry *e, struct cache_entry *out)
{
    int v;

    *out = *e;
    out->path = xstrdup(e->path);
    for (v = 0; v < 2; v++)
        out->file[v].abs = e->file[v].abs ? xstrdup(e->file[v].abs) : NULL;
    for (v = 0; v < CV_N; v++)
        out->r304[v] = NULL;
}

void
cache_entry_clear(struct cache_entry *e)
{
    free(e->path);
    free(e->file[0].abs);
    free(e->file[1].abs);
    memset(e, 0, sizeof(*e));
}

/* The entry whose path is the first n bytes of rel. Entries are sorted
 * by path in SQLite's BINARY order, which is memcmp order. */
static const struct cache_entry *
find_path(const struct cache_set *set, const char *rel, size_t n)
{
    size_t lo = 0, hi = set->n, mid, pn;
    int cmp;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        pn = strlen(set->e[mid].path);
        cmp = memcmp(set->e[mid].path, rel, pn < n ? pn : n);
        if (cmp == 0)
            cmp = pn < n ? -1 : pn > n ? 1 : 0;
        if (cmp == 0)
            return &set->e[mid];
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct cache_entry *
cache_find(struct feed_cache *c, const char *rel, int *twin)
{
    const struct cache_entry *e;
    size_t n = strlen(rel);

    *twin = 0;
    e = find_path(&c->cur, rel, n);
    if (e != NULL)
        return e;
    if (n < 3 || strcmp(rel + n - 3, ".gz") != 0)
        return NULL;
    e = find_path(&c->cur, rel, n - 3);
    if (e == NULL || !e->twin)
        return NULL;
    *twin = 1;
    return e;
}
