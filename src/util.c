/* util.c - see util.h. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void
pf_errf(struct pf_err *err, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

void
pf_err_prefix(struct pf_err *err, const char *fmt, ...)
{
    char prefix[PF_ERR_LEN], old[PF_ERR_LEN];
    va_list ap;

    if (err == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
}

static void
oom(size_t n)
{
    fprintf(stderr, "posfeed: out of memory (allocating %zu bytes)\n", n);
    exit(1);
}

void *
xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (p == NULL)
        oom(n);
    return p;
}

void *
xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (p == NULL)
        oom(n * size);
    return p;
}

void *
xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (q == NULL)
        oom(n);
    return q;
}

char *
xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);

    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *
xasprintf(const char *fmt, ...)
{
    va_list ap;
    int n;
    char *p;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        oom(0);
    p = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

/* ---- buffers ----------------------------------------------------------- */

void
pf_buf_init(struct pf_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void
pf_buf_free(struct pf_buf *b)
{
    free(b->data);
    pf_buf_init(b);
}

void
pf_buf_reset(struct pf_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

static void
buf_reserve(struct pf_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;

    if (need <= b->cap)
        return;
    if (b->cap == 0)
        b->cap = 64;
    while (b->cap < need)
        b->cap *= 2;
    b->data = xrealloc(b->data, b->cap);
}

void
pf_buf_add(struct pf_buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void
pf_buf_adds(struct pf_buf *b, const char *s)
{
    pf_buf_add(b, s, strlen(s));
}

void
pf_buf_addc(struct pf_buf *b, char c)
{
    pf_buf_add(b, &c, 1);
}

void
pf_buf_addf(struct pf_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* ---- arena --------------------------------------------------------------
 * A list of blocks; reset keeps the first block (the common case: one row
 * fits) and frees the rest, so a rare huge row does not pin memory. */

struct pf_arena_block {
    struct pf_arena_block *next;
    size_t size, used;
    max_align_t data[];
};

#define ARENA_BLOCK 16384

void
pf_arena_init(struct pf_arena *a)
{
    a->head = NULL;
    a->used_total = 0;
}

void *
pf_arena_alloc(struct pf_arena *a, size_t n)
{
    struct pf_arena_block *b = a->head;
    size_t align = sizeof(max_align_t);
    void *p;

    n = (n + align - 1) / align * align;
    if (n == 0)
        n = align;
    if (b == NULL || b->size - b->used < n) {
        size_t size = n > ARENA_BLOCK ? n : ARENA_BLOCK;

        b = xmalloc(sizeof(*b) + size);
        b->size = size;
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    p = (char *)b->data + b->used;
    b->used += n;
    a->used_total += n;
    return p;
}

char *
pf_arena_strndup(struct pf_arena *a, const char *s, size_t n)
{
    char *p = pf_arena_alloc(a, n + 1);

    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *
pf_arena_strdup(struct pf_arena *a, const char *s)
{
    return pf_arena_strndup(a, s, strlen(s));
}

void
pf_arena_reset(struct pf_arena *a)
{
    struct pf_arena_block *b = a->head, *keep = NULL;

    /* Keep the oldest (first allocated) standard-size block. */
    while (b != NULL) {
        struct pf_arena_block *next = b->next;

        if (next == NULL && b->size == ARENA_BLOCK) {
            keep = b;
            keep->used = 0;
        }
        else {
            free(b);
        }
        b = next;
    }
    a->head = keep;
    if (keep != NULL)
        keep->next = NULL;
    a->used_total = 0;
}

void
pf_arena_free(struct pf_arena *a)
{
    struct pf_arena_block *b = a->head;

    while (b != NULL) {
        struct pf_arena_block *next = b->next;

        free(b);
        b = next;
    }
    pf_arena_init(a);
}

/* ---- UTF-8 -------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        if (n >= 2 && (s[1] & 0xC0) == 0x80)
            return 2;
        return 0;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned lo = 0x80, hi = 0xBF;

        if (c == 0xE0)
            lo = 0xA0;
        if (c == 0xED)
            hi = 0x9F;      /* no surrogates */
        if (n >= 3 && s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80)
            return 3;
        return 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned lo = 0x80, hi = 0xBF;

        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F;
        if (n >= 4 && s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 &&
            (s[3] & 0xC0) == 0x80)
            return 4;
        return 0;
    }
    return 0;
}

int
pf_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        size_t k;

        if (p[i] < 0x80) {
            i++;
            continue;
        }
        k = utf8_seq(p + i, n - i);
        if (k == 0)
            return 0;
        i += k;
    }
    return 1;
}

size_t
pf_utf8_repair(struct pf_buf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run = 0, fixed = 0;

    while (i < n) {
        size_t k = p[i] < 0x80 ? 1 : utf8_seq(p + i, n - i);

        if (k > 0) {
            i += k;
            continue;
        }
        pf_buf_add(b, s + run, i - run);
        pf_buf_add(b, "\xEF\xBF\xBD", 3);
        fixed++;
        i++;
        run = i;
    }
    pf_buf_add(b, s + run, n - run);
    return fixed;
}

/* ---- paths -------------------------------------------------------------- */

char *
pf_path_join(const char *base, const char *rel)
{
    size_t n;

    if (rel[0] == '/' || base == NULL || base[0] == '\0')
        return xstrdup(rel);
    n = strlen(base);
    if (n > 0 && base[n - 1] == '/')
        return xasprintf("%s%s", base, rel);
    return xasprintf("%s/%s", base, rel);
}

char *
pf_path_dir(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL)
        return xstrdup(".");
    if (slash == path)
        return xstrdup("/");
    return xstrndup(path, (size_t)(slash - path));
}

int
pf_path_is_contained(const char *rel)
{
    const char *p = rel;

    if (rel == NULL || rel[0] == '\0' || rel[0] == '/')
        return 0;
    while (*p != '\0') {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);

        if (n == 2 && p[0] == '.' && p[1] == '.')
            return 0;
        if (end == NULL)
            break;
        p = end + 1;
    }
    return 1;
}

int
pf_read_file(const char *path, size_t max, char **out, size_t *len,
             struct pf_err *err)
{
    int fd = -1, rc = -1;
    struct stat st;
    char *data = NULL;
    size_t got = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        pf_errf(err, "%s: %s", path, strerror(errno));
        goto cleanup;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        pf_errf(err, "%s: not a regular file", path);
        goto cleanup;
    }
    if ((size_t)st.st_size > max) {
        pf_errf(err, "%s: file too large (%lld bytes, limit %zu)", path,
                (long long)st.st_size, max);
        goto cleanup;
    }
    data = xmalloc((size_t)st.st_size + 1);
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, data + got, (size_t)st.st_size - got);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            pf_errf(err, "%s: %s", path, strerror(errno));
            goto cleanup;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    data[got] = '\0';
    *out = data;
    data = NULL;
    if (len != NULL)
        *len = got;
    rc = 0;
cleanup:
    free(data);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* ---- strings ------------------------------------------------------------ */

int
pf_strcaseeq(const char *a, const char *b)
{
    for (;; a++, b++) {
        int ca = (unsigned char)*a, cb = (unsigned char)*b;

        if (ca >= 'A' && ca <= 'Z')
            ca += 'a' - 'A';
        if (cb >= 'A' && cb <= 'Z')
            cb += 'a' - 'A';
        if (ca != cb)
            return 0;
        if (ca == 0)
            return 1;
    }
}

size_t
pf_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i, j, d;
    size_t *row;

    if (la > 64 || lb > 64)
        return la > lb ? la : lb;
    row = xmalloc((lb + 1) * sizeof(*row));
    for (j = 0; j <= lb; j++)
        row[j] = j;
    for (i = 1; i <= la; i++) {
        size_t prev = row[0];

        row[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t cur = row[j];
            size_t sub = prev + (a[i - 1] != b[j - 1]);
            size_t del = row[j] + 1, ins = row[j - 1] + 1;

            d = sub < del ? sub : del;
            row[j] = d < ins ? d : ins;
            prev = cur;
        }
    }
    d = row[lb];
    free(row);
    return d;
}

void
pf_human_bytes(int64_t n, char out[32])
{
    if (n >= 1024 * 1024)
        snprintf(out, 32, "%.1f MB", (double)n / (1024.0 * 1024.0));
    else if (n >= 1024)
        snprintf(out, 32, "%.1f KB", (double)n / 1024.0);
    else
        snprintf(out, 32, "%lld B", (long long)n);
}

double
pf_now_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
