/* feed_answer.c - see feed_answer.h.
 *
 * The file: a FEED_ANSWER_HEAD-byte header (struct ans_head, zero
 * padded), the body (body_len bytes: the answer), then nobj + 1 uint64
 * offsets into the body (the start of every object, then body_len). The
 * header is written last, so a file cut short anywhere fails the size
 * check, and the whole is renamed into place only after fsync.
 */
#include "feed_answer.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "feed_window.h"
#include "log.h"
#include "timeutil.h"

#define FEED_ANSWER_HEAD 256
#define ANS_MAGIC "PFCV2A1\n"
#define ANS_FLUSH (1 << 20)

const char *const feed_answer_entities[FEED_ANSWER_NENT] = {
    "products", "categories", "orders", "customers", "pages"
};

struct ans_head {
    char magic[8];
    int64_t store_gen;
    int64_t cutoff;
    char def[FEED_ANSWER_HASH];
    uint64_t nobj;
    uint64_t body_len;
};

struct feed_answer {
    int fd;
    uint64_t nobj, body_len;
    char *path;
};

/* ---- definitions -------------------------------------------------------- */

const struct pf_feed_cfg *
feed_answer_def(const struct pf_config *cfg, const char *entity,
                struct pf_feed_cfg *tmp)
{
    char name[32];
    char *builtin;
    size_t i;

    memset(tmp, 0, sizeof(*tmp));
    snprintf(name, sizeof name, "clerk-%s", entity);
    builtin = pf_template_resolve(name, cfg->dir);
    for (i = 0; i < cfg->nfeeds; i++)
        if (strcmp(cfg->feeds[i].template_path, builtin) == 0) {
            free(builtin);
            return &cfg->feeds[i];
        }
    tmp->name = xstrdup(name);
    tmp->template_spec = tmp->name;
    tmp->template_path = builtin;
    tmp->output = tmp->name;
    tmp->sync = cfg->sync;
    tmp->line = cfg->serve.clerk_v2_line;
    return tmp;
}

void
feed_answer_def_clear(struct pf_feed_cfg *tmp)
{
    free(tmp->name);
    free(tmp->template_path);
    memset(tmp, 0, sizeof(*tmp));
}

static void
add_list(struct pf_buf *b, const char *key, const struct pf_strlist *l)
{
    size_t i;

    pf_buf_addf(b, "%s=%zu", key, l->n);
    for (i = 0; i < l->n; i++)
        pf_buf_addf(b, ":%zu:%s", strlen(l->items[i]), l->items[i]);
    pf_buf_addc(b, '\n');
}

/* Everything of a feed's definition that changes what it renders, as
 * text (lengths make it unambiguous). */
static void
def_text(const struct pf_config *cfg, const struct pf_feed_cfg *fc,
         struct pf_buf *b)
{
    const struct pf_sync_settings *st = &fc->sync;
    size_t i;

    pf_buf_addf(b, "rev=%d\nshop=%s\ncur=%s\ntz=%s\n", FEED_RENDER_REV,
                cfg->shop_url ? cfg->shop_url : "", cfg->currency,
                cfg->timezone);
    pf_buf_addf(b, "attr=%d all=%d n=%d unit=%d oos=%d em=%d cu=%d "
                "va=%d vs=%d vt=%d hc=%d ra=%d pa=%d fr=%d\n",
                (int)st->attributes, st->lookback_all, st->lookback_n,
                (int)st->lookback_unit, st->include_out_of_stock,
                st->collect_emails, st->include_customers,
                st->include_variants, st->include_variant_stock,
                (int)st->variant_stock_tracking,
                st->include_hidden_categories, st->include_ratings,
                st->include_pages, st->include_free_products);
    add_list(b, "custom", &st->custom_attributes);
    add_list(b, "statuses", &st->accepted_order_statuses);
    for (i = 0; i < fc->nrules; i++)
        pf_buf_addf(b, "rule=%d:%zu:%s:%zu:%s\n", (int)fc->rules[i].kind,
                    fc->rules[i].field ? strlen(fc->rules[i].field) : 0,
                    fc->rules[i].field ? fc->rules[i].field : "",
                    strlen(fc->rules[i].text), fc->rules[i].text);
}

/* The template's bytes (b->data[0 .. *tpl_len)) and def_text(). */
static void
def_bytes(const struct pf_config *cfg, const struct pf_feed_cfg *fc,
          struct pf_buf *b)
{
    struct pf_err err = {{0}};
    char *tpl = NULL;
    size_t n = 0;

    if (pf_read_file(fc->template_path, 16 << 20, &tpl, &n, &err) == 0)
        pf_buf_add(b, tpl, n);
    free(tpl);
    pf_buf_addf(b, "\n--\n");
    def_text(cfg, fc, b);
}

void
feed_answer_def_hash(const struct pf_config *cfg,
                     const struct pf_feed_cfg *fc,
                     char out[FEED_ANSWER_HASH + 1])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    struct pf_buf b;
    size_t i;

    pf_buf_init(&b);
    def_bytes(cfg, fc, &b);
    SHA256((const unsigned char *)b.data, b.len, md);
    pf_buf_free(&b);
    for (i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* ---- generations -------------------------------------------------------- */

static int
ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_';
}

/* Whether text names "now" as a word: the template global holding the
 * clock, which makes every render differ. A word elsewhere (a string
 * "now") only costs the file. */
static int
names_now(const char *text)
{
    const char *p = text;

    while ((p = strstr(p, "now")) != NULL) {
        if ((p == text || !ident_char(p[-1])) && !ident_char(p[3]))
            return 1;
        p += 3;
    }
    return 0;
}

int
feed_answer_reads_clock(const struct pf_config *cfg,
                        const struct pf_feed_cfg *fc)
{
    struct pf_buf b;
    int r;

    pf_buf_init(&b);
    def_bytes(cfg, fc, &b);
    pf_buf_addc(&b, '\0');
    r = names_now(b.data);
    pf_buf_free(&b);
    return r;
}

int
feed_answer_gen(const struct pf_config *cfg, const struct pf_feed_cfg *fc,
                const char *def_hash, int clock, struct store *s,
                struct feed_answer_gen *g, int *ok, struct pf_err *err)
{
    const struct pf_sync_settings *ss = &fc->sync;

    *ok = 0;
    memset(g, 0, sizeof(*g));
    g->cutoff = INT64_MIN;
    snprintf(g->def, sizeof g->def, "%s", def_hash);
    if (store_generation(s, &g->store_gen, err) != 0)
        return -1;
    if (g->store_gen < 0 || clock)
        return 0;
    /* The orders a build shows start at local midnight N days ago (as
     * feed_data_open computes it): another day, another answer. */
    if (!ss->lookback_all &&
        pf_tz_start_of_span_ago(pf_time_now(), cfg->timezone,
                                ss->lookback_n, ss->lookback_unit,
                                &g->cutoff, err) != 0)
        return -1;
    *ok = 1;
    return 0;
}

char *
feed_answer_path(const struct pf_config *cfg, const char *entity)
{
    return xasprintf("%s/" FEED_ANSWER_DIR "/%s.answer", cfg->feeds_dir,
                     entity);
}

/* ---- writing ------------------------------------------------------------ */

struct ans_writer {
    const char *entity;
    char *dir, *path, *tmp;
    int fd;
    struct pf_buf out;          /* body bytes not written yet */
    struct pf_buf idx;          /* uint64 offsets */
    uint64_t body_len, nobj;
};

static int
write_all(struct ans_writer *w, const void *p, size_t n, struct pf_err *err)
{
    const char *c = p;
    ssize_t k;

    while (n > 0) {
        k = write(w->fd, c, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            pf_errf(err, "writing '%s': %s", w->tmp, strerror(errno));
            return -1;
        }
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

static int
flush_body(struct ans_writer *w, struct pf_err *err)
{
    if (write_all(w, w->out.data, w->out.len, err) != 0)
        return -1;
    pf_buf_reset(&w->out);
    return 0;
}

/* Every object of the window into the body, its start into the index. */
static int
write_body(struct ans_writer *w, struct feed_window *win,
           struct pf_err *err)
{
    uint64_t start;
    size_t mark;
    int rc;

    for (;;) {
        start = w->body_len + w->out.len;
        mark = w->out.len;
        rc = feed_window_next(win, &w->out, err);
        if (rc <= 0)
            break;
        pf_buf_addc(&w->out, '\n');
        pf_buf_add(&w->idx, &start, sizeof start);
        w->nobj++;
        if (w->out.len >= ANS_FLUSH) {
            w->body_len += w->out.len;
            if (flush_body(w, err) != 0)
                return -1;
        }
    }
    if (rc < 0)
        return -1;
    w->out.len = mark;
    w->body_len += w->out.len;
    start = w->body_len;
    pf_buf_add(&w->idx, &start, sizeof start);
    return flush_body(w, err);
}

/* The header at offset 0 (the space for it was left at the start). */
static int
write_head(struct ans_writer *w, const struct feed_answer_gen *g,
           struct pf_err *err)
{
    unsigned char raw[FEED_ANSWER_HEAD] = {0};
    struct ans_head h;

    memset(&h, 0, sizeof h);
    memcpy(h.magic, ANS_MAGIC, sizeof h.magic);
    h.store_gen = g->store_gen;
    h.cutoff = g->cutoff;
    memcpy(h.def, g->def, FEED_ANSWER_HASH);
    h.nobj = w->nobj;
    h.body_len = w->body_len;
    memcpy(raw, &h, sizeof h);
    if (pwrite(w->fd, raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
        pf_errf(err, "writing '%s': %s", w->tmp, strerror(errno));
        return -1;
    }
    return 0;
}

/* Makes the folder and the temp file, header space reserved. */
static int
writer_open(const struct pf_config *cfg, struct ans_writer *w,
            struct pf_err *err)
{
    unsigned char zero[FEED_ANSWER_HEAD] = {0};

    w->dir = xasprintf("%s/" FEED_ANSWER_DIR, cfg->feeds_dir);
    w->tmp = xasprintf("%s/.%s.answer.tmp-XXXXXX", w->dir, w->entity);
    if (mkdir(w->dir, 0755) != 0 && errno != EEXIST) {
        pf_errf(err, "cannot create '%s': %s", w->dir, strerror(errno));
        return -1;
    }
    w->fd = mkstemp(w->tmp);
    if (w->fd < 0) {
        pf_errf(err, "cannot create a temp file in '%s': %s", w->dir,
                strerror(errno));
        free(w->tmp);
        w->tmp = NULL;
        return -1;
    }
    (void)fcntl(w->fd, F_SETFD, FD_CLOEXEC);
    (void)fchmod(w->fd, 0644);
    return write_all(w, zero, sizeof zero, err);
}

/* fsync, rename over the old file, fsync the folder. */
static int
writer_commit(struct ans_writer *w, struct pf_err *err)
{
    int dfd;

    if (write_all(w, w->idx.data, w->idx.len, err) != 0)
        return -1;
    if (fsync(w->fd) != 0) {
        pf_errf(err, "fsync '%s': %s", w->tmp, strerror(errno));
        return -1;
    }
    if (rename(w->tmp, w->path) != 0) {
        pf_errf(err, "rename '%s' to '%s': %s", w->tmp, w->path,
                strerror(errno));
        return -1;
    }
    free(w->tmp);
    w->tmp = NULL;
    dfd = open(w->dir, O_RDONLY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return 0;
}

/* Also for a writer that writer_open() never saw (zeroed, fd -1). */
static void
writer_free(struct ans_writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    if (w->tmp != NULL)
        unlink(w->tmp);
    free(w->tmp);
    free(w->dir);
    free(w->path);
    pf_buf_free(&w->out);
    pf_buf_free(&w->idx);
}

/* Renders fc over s's read transaction into the writer; the products'
 * list attributes (what the window computed) stored with the same
 * generation, after the transaction. */
static int
render_into(const struct pf_config *cfg, const struct pf_feed_cfg *fc,
            struct store *s, const struct feed_answer_gen *g,
            struct ans_writer *w, struct feed_window_cache *cache,
            struct pf_err *err)
{
    struct feed_window_opts o = {.after = NULL,
                                 .changed_since = INT64_MIN,
                                 .cache = cache};
    struct feed_window *win = NULL;
    int rc = -1;

    if (feed_window_open(cfg, fc, s, &o, &win, err) != 0 ||
        write_body(w, win, err) != 0 || write_head(w, g, err) != 0)
        goto cleanup;
    rc = 0;
cleanup:
    feed_window_free(win);
    return rc;
}

/* 1 when the file at path shows generation g already (a run that
 * changed nothing): nothing to write. */
static int
is_current(const char *path, const struct feed_answer_gen *g)
{
    struct pf_err err = {{0}};
    struct feed_answer *a = NULL;
    int rc = feed_answer_open(path, g, &a, &err);

    feed_answer_close(a);
    return rc == 1;
}

/* Whether entity needs a new file; *g its generation. */
static int
needs_file(const struct pf_config *cfg, const struct pf_feed_cfg *fc,
           const char *entity, struct store *s, struct ans_writer *w,
           struct feed_answer_gen *g, int *need, struct pf_err *err)
{
    char hash[FEED_ANSWER_HASH + 1];
    int ok = 0;

    *need = 0;
    feed_answer_def_hash(cfg, fc, hash);
    if (feed_answer_gen(cfg, fc, hash, feed_answer_reads_clock(cfg, fc),
                        s, g, &ok, err) != 0)
        return -1;
    if (!ok) {
        log_info("clerk v2: %s: no answer file (its template or rules "
                 "read the clock, or changes wait for their stamp)",
                 entity);
        unlink(w->path);
        return 0;
    }
    *need = !is_current(w->path, g);
    if (!*need)
        log_debug("clerk v2: %s: the answer file is current", entity);
    return 0;
}

/* One entity's file, from a read transaction of its own. */
static int
write_one(const struct pf_config *cfg, const char *entity, struct store *s,
          struct pf_err *err)
{
    struct ans_writer w = {.entity = entity, .fd = -1};  /* bufs empty */
    struct feed_window_cache *cache = feed_window_cache_new();
    struct pf_feed_cfg tmp;
    const struct pf_feed_cfg *fc = feed_answer_def(cfg, entity, &tmp);
    struct feed_answer_gen g;
    int need = 0, rc = -1, in_tx = 0;

    w.path = feed_answer_path(cfg, entity);
    if (store_exec(s, "BEGIN", err) != 0)
        goto cleanup;
    in_tx = 1;
    if (needs_file(cfg, fc, entity, s, &w, &g, &need, err) != 0)
        goto cleanup;
    if (!need) {
        rc = 0;
        goto cleanup;
    }
    if (writer_open(cfg, &w, err) != 0 ||
        render_into(cfg, fc, s, &g, &w, cache, err) != 0)
        goto cleanup;
    store_exec(s, "COMMIT", NULL);
    in_tx = 0;
    if (writer_commit(&w, err) != 0 ||
        feed_window_cache_save(cache, s, err) != 0)
        goto cleanup;
    rc = 0;
cleanup:
    if (in_tx)
        store_exec(s, "ROLLBACK", NULL);
    if (rc != 0)
        pf_err_prefix(err, "clerk v2 answer '%s'", entity);
    writer_free(&w);
    feed_window_cache_free(cache);
    if (fc == &tmp)
        feed_answer_def_clear(&tmp);
    return rc;
}

int
feed_answer_write_all(const struct pf_config *cfg, struct store *s,
                      struct pf_err *err)
{
    double t0 = pf_now_mono();
    int i;

    for (i = 0; i < FEED_ANSWER_NENT; i++)
        if (write_one(cfg, feed_answer_entities[i], s, err) != 0)
            return -1;
    log_info("clerk v2: full answers written in %.2f s",
             pf_now_mono() - t0);
    return 0;
}

/* ---- reading ------------------------------------------------------------ */

static int
read_at(const struct feed_answer *a, void *buf, size_t n, uint64_t off,
        struct pf_err *err)
{
    ssize_t k;

    do
        k = pread(a->fd, buf, n, (off_t)off);
    while (k < 0 && errno == EINTR);
    if (k != (ssize_t)n) {
        pf_errf(err, "%s: cut short at byte %llu", a->path,
                (unsigned long long)off);
        return -1;
    }
    return 0;
}

static int
index_at(const struct feed_answer *a, uint64_t i, uint64_t *v,
         struct pf_err *err)
{
    return read_at(a, v, sizeof *v,
                   FEED_ANSWER_HEAD + a->body_len + i * sizeof *v, err);
}

/* The header and the file's size agree; the index's ends are right. */
static int
check_whole(struct feed_answer *a, const struct ans_head *h,
            struct pf_err *err)
{
    struct stat sb;
    uint64_t first, last, want;

    a->nobj = h->nobj;
    a->body_len = h->body_len;
    want = FEED_ANSWER_HEAD + h->body_len + (h->nobj + 1) * 8;
    if (h->nobj > h->body_len || fstat(a->fd, &sb) != 0 ||
        (uint64_t)sb.st_size != want) {
        pf_errf(err, "%s: %lld bytes, the header says %llu (truncated or "
                "damaged)", a->path, (long long)sb.st_size,
                (unsigned long long)want);
        return -1;
    }
    if (index_at(a, 0, &first, err) != 0 ||
        index_at(a, a->nobj, &last, err) != 0)
        return -1;
    if (first != 0 || last != a->body_len) {
        pf_errf(err, "%s: bad index (starts at %llu, ends at %llu of "
                "%llu)", a->path, (unsigned long long)first,
                (unsigned long long)last, (unsigned long long)a->body_len);
        return -1;
    }
    return 0;
}

static int
head_matches(const struct ans_head *h, const struct feed_answer_gen *want)
{
    return h->store_gen == want->store_gen && h->cutoff == want->cutoff &&
           memcmp(h->def, want->def, FEED_ANSWER_HASH) == 0;
}

int
feed_answer_open(const char *path, const struct feed_answer_gen *want,
                 struct feed_answer **out, struct pf_err *err)
{
    struct feed_answer *a = xcalloc(1, sizeof(*a));
    struct ans_head h;
    int rc = -1;

    *out = NULL;
    a->path = xstrdup(path);
    a->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (a->fd < 0) {
        rc = errno == ENOENT ? 0 : -1;
        if (rc < 0)
            pf_errf(err, "%s: %s", path, strerror(errno));
        goto cleanup;
    }
    if (read_at(a, &h, sizeof h, 0, err) != 0)
        goto cleanup;
    if (memcmp(h.magic, ANS_MAGIC, sizeof h.magic) != 0) {
        pf_errf(err, "%s: not an answer file (bad header)", path);
        goto cleanup;
    }
    if (!head_matches(&h, want)) {
        rc = 0;
        goto cleanup;
    }
    if (check_whole(a, &h, err) != 0)
        goto cleanup;
    *out = a;
    a = NULL;
    rc = 1;
cleanup:
    feed_answer_close(a);
    return rc;
}

int64_t
feed_answer_count(const struct feed_answer *a)
{
    return (int64_t)a->nobj;
}

/* The bytes at both ends of a range: an object starts with '{' and
 * every one ends with its line's '\n'. */
static int
check_ends(const struct feed_answer *a, uint64_t from, uint64_t to,
           struct pf_err *err)
{
    char c1, c2;

    if (read_at(a, &c1, 1, FEED_ANSWER_HEAD + from, err) != 0 ||
        read_at(a, &c2, 1, FEED_ANSWER_HEAD + to - 1, err) != 0)
        return -1;
    if (c1 != '{' || c2 != '\n') {
        pf_errf(err, "%s: bad index (bytes %llu-%llu are no whole "
                "objects)", a->path, (unsigned long long)from,
                (unsigned long long)to);
        return -1;
    }
    return 0;
}

int
feed_answer_range(const struct feed_answer *a, int64_t first, int64_t n,
                  uint64_t *off, uint64_t *len, int64_t *nobj,
                  struct pf_err *err)
{
    uint64_t i = first < 0 ? 0 : (uint64_t)first, j, from, to;

    if (i > a->nobj)
        i = a->nobj;
    j = n > 0 && (uint64_t)n < a->nobj - i ? i + (uint64_t)n : a->nobj;
    *nobj = (int64_t)(j - i);
    if (index_at(a, i, &from, err) != 0 || index_at(a, j, &to, err) != 0)
        return -1;
    if (from > to || to > a->body_len || (i < j && from == to) ||
        (i == j && from != to)) {
        pf_errf(err, "%s: bad index (objects %llu-%llu at %llu-%llu)",
                a->path, (unsigned long long)i, (unsigned long long)j,
                (unsigned long long)from, (unsigned long long)to);
        return -1;
    }
    if (i < j && check_ends(a, from, to, err) != 0)
        return -1;
    *off = FEED_ANSWER_HEAD + from;
    *len = to - from;
    return 0;
}

int
feed_answer_fd(const struct feed_answer *a)
{
    return a->fd;
}

void
feed_answer_close(struct feed_answer *a)
{
    if (a == NULL)
        return;
    if (a->fd >= 0)
        close(a->fd);
    free(a->path);
    free(a);
}
