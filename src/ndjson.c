/* ndjson.c - see ndjson.h. */
#include "ndjson.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#define CHUNK ((size_t)64 * 1024)

struct ndjson_reader {
    char *path;
    int fd;
    struct stat st;
    size_t max_line;
    /* Unread bytes are buf[start, end); no '\n' lies in [start, scan). */
    char *buf;
    size_t cap, start, end, scan;
    int eof;
    int skipping;           /* inside a line longer than max_line */
    size_t skipped;         /* its length so far */
    int last_nl;            /* the last byte read was '\n' */
    long line;
    long long total;        /* bytes read */
    EVP_MD_CTX *md;
};

static void
hex(const unsigned char *md, unsigned n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    unsigned i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[2 * n] = '\0';
}

static const char *
file_kind(mode_t m)
{
    if (S_ISFIFO(m))
        return "a FIFO";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISDIR(m))
        return "a folder";
    if (S_ISSOCK(m))
        return "a socket";
    return "not a regular file";
}

int
ndjson_open(const char *path, size_t max_line, struct ndjson_reader **out,
            struct pf_err *err)
{
    struct ndjson_reader *r;
    struct stat st;
    int fd, flags;

    *out = NULL;
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
     * writer that may never come. Regular files ignore the flag. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT)
            return 1;
        pf_errf(err, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0) {
        pf_errf(err, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        pf_errf(err, "%s: %s, not a regular file; only regular files are "
                "read", path, file_kind(st.st_mode));
        close(fd);
        return -1;
    }
    flags = fcntl(fd, F_GETFL);
    if (flags >= 0)
        fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);

    r = xcalloc(1, sizeof(*r));
    r->path = xstrdup(path);
    r->fd = fd;
    r->st = st;
    if (max_line == 0)
        max_line = NDJSON_MAX_LINE_DEFAULT;
    if (max_line > SIZE_MAX / 4)
        max_line = SIZE_MAX / 4;
    r->max_line = max_line;
    r->md = EVP_MD_CTX_new();
    if (r->md == NULL || EVP_DigestInit_ex(r->md, EVP_sha256(), NULL) != 1) {
        pf_errf(err, "%s: cannot start SHA-256", path);
        ndjson_close(r);
        return -1;
    }
    *out = r;
    return 0;
}

void
ndjson_close(struct ndjson_reader *r)
{
    if (r == NULL)
        return;
    close(r->fd);
    EVP_MD_CTX_free(r->md);
    free(r->buf);
    free(r->path);
    free(r);
}

const struct stat *
ndjson_stat(const struct ndjson_reader *r)
{
    return &r->st;
}

long
ndjson_line_number(const struct ndjson_reader *r)
{
    return r->line;
}

int
ndjson_ended_with_newline(const struct ndjson_reader *r)
{
    return r->total == 0 || r->last_nl;
}

int
ndjson_digest(struct ndjson_reader *r, char out[65], struct pf_err *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;

    if (EVP_DigestFinal_ex(r->md, md, &n) != 1) {
        pf_errf(err, "%s: SHA-256 failed", r->path);
        return -1;
    }
    hex(md, n, out);
    return 0;
}

int
ndjson_digest_file(struct ndjson_reader *r, char out[65],
                   struct pf_err *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    char *buf = xmalloc(CHUNK);
    off_t off = 0;
    ssize_t n;
    int rc = -1;

    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        pf_errf(err, "%s: cannot start SHA-256", r->path);
        goto cleanup;
    }
    for (;;) {
        n = pread(r->fd, buf, CHUNK, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            pf_errf(err, "%s: reading: %s", r->path, strerror(errno));
            goto cleanup;
        }
        if (n == 0)
            break;
        if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
            goto cleanup;
        off += n;
    }
    if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1) {
        pf_errf(err, "%s: SHA-256 failed", r->path);
        goto cleanup;
    }
    hex(md, mdlen, out);
    rc = 0;
cleanup:
    EVP_MD_CTX_free(ctx);
    free(buf);
    return rc;
}

/* Reads the next chunk behind the unread bytes. The buffer grows only up
 * to max_line + 2 bytes: a line of max_line bytes, the byte that shows it
 * is longer (or its '\n'), and a NUL. */
static int
fill(struct ndjson_reader *r, struct pf_err *err)
{
    size_t limit = r->max_line + 2, room;
    ssize_t n;

    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->scan -= r->start;
        r->start = 0;
    }
    if (r->cap - r->end < CHUNK + 1 && r->cap < limit) {
        size_t want = r->cap * 2 > r->end + CHUNK + 1
                          ? r->cap * 2 : r->end + CHUNK + 1;

        r->cap = want < limit ? want : limit;
        r->buf = xrealloc(r->buf, r->cap);
    }
    room = r->cap - r->end - 1;
    if (room > CHUNK)
        room = CHUNK;
    do {
        n = read(r->fd, r->buf + r->end, room);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        pf_errf(err, "%s:%ld: reading: %s", r->path, r->line + 1,
                strerror(errno));
        return -1;
    }
    if (n == 0) {
        r->eof = 1;
        return 0;
    }
    if (EVP_DigestUpdate(r->md, r->buf + r->end, (size_t)n) != 1) {
        pf_errf(err, "%s: SHA-256 failed", r->path);
        return -1;
    }
    r->total += n;
    r->last_nl = r->buf[r->end + (size_t)n - 1] == '\n';
    r->end += (size_t)n;
    return 0;
}

/* The line ends at buf[nl] ('\n', or end of file when nl == end). */
static int
take_line(struct ndjson_reader *r, size_t nl, char **line, size_t *len)
{
    size_t n = nl - r->start;
    int rc = NDJSON_LINE;

    r->line++;
    if (r->skipping) {
        *len = r->skipped + n;
        r->skipping = 0;
        rc = NDJSON_TOO_LONG;
    }
    else if (n > r->max_line) {
        *len = n;
        rc = NDJSON_TOO_LONG;
    }
    else {
        r->buf[nl] = '\0';
        *line = r->buf + r->start;
        *len = n;
    }
    r->start = r->scan = nl < r->end ? nl + 1 : r->end;
    return rc;
}

int
ndjson_next(struct ndjson_reader *r, char **line, size_t *len,
            struct pf_err *err)
{
    char *nl;

    for (;;) {
        if (r->end > r->scan) {
            nl = memchr(r->buf + r->scan, '\n', r->end - r->scan);
            if (nl != NULL)
                return take_line(r, (size_t)(nl - r->buf), line, len);
            r->scan = r->end;
        }
        /* No newline in the unread bytes. Past the cap they are dropped
         * as they come, so a line of any length costs no memory. */
        if (r->skipping || r->end - r->start > r->max_line) {
            r->skipped = (r->skipping ? r->skipped : 0) +
                         (r->end - r->start);
            r->skipping = 1;
            r->start = r->end = r->scan = 0;
        }
        if (r->eof) {
            if (r->skipping || r->end > r->start)
                return take_line(r, r->end, line, len);
            return NDJSON_EOF;
        }
        if (fill(r, err) != 0)
            return NDJSON_ERROR;
    }
}

/* ---- escapes ------------------------------------------------------------ */

void
ndjson_marks_free(struct ndjson_marks *m)
{
    free(m->v);
    memset(m, 0, sizeof(*m));
}

static void
mark(struct ndjson_marks *m, size_t member, unsigned flags)
{
    if (member == 0)
        return;                 /* not inside a member of a root object */
    if (m->n > 0 && m->v[m->n - 1].member == member) {
        m->v[m->n - 1].flags |= flags;
        return;
    }
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 8;
        m->v = xrealloc(m->v, m->cap * sizeof(*m->v));
    }
    m->v[m->n].member = member;
    m->v[m->n].flags = flags;
    m->n++;
}

/* The code unit of the \uXXXX escape whose 'u' is at s[i], or -1. */
static long
code_unit(const char *s, size_t len, size_t i)
{
    long v = 0;
    size_t k;

    if (i + 4 >= len || s[i] != 'u')
        return -1;
    for (k = 1; k <= 4; k++) {
        char c = s[i + k];

        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    return v;
}

/* Walks the string whose opening quote is just before s[i]; returns the
 * index after its closing quote (or len). */
static size_t
scan_string(char *s, size_t len, size_t i, size_t member, unsigned nul,
            struct ndjson_marks *m)
{
    long u, lo;

    while (i < len) {
        if (s[i] == '"')
            return i + 1;
        if (s[i] != '\\') {
            i++;
            continue;
        }
        u = code_unit(s, len, i + 1);
        if (u < 0) {
            i += 2;             /* \n, \", ... or a broken escape */
            continue;
        }
        if (u == 0) {
            mark(m, member, nul);
        }
        else if (u >= 0xD800 && u <= 0xDBFF && i + 11 < len &&
                 s[i + 6] == '\\' &&
                 (lo = code_unit(s, len, i + 7)) >= 0xDC00 &&
                 lo <= 0xDFFF) {
            i += 12;            /* a proper pair */
            continue;
        }
        else if (u >= 0xD800 && u <= 0xDFFF) {
            memcpy(s + i, "\\ufffd", 6);
            mark(m, member, NDJSON_SURROGATE);
        }
        i += 6;
    }
    return len;
}

/* 1 if s holds a backslash followed by 'u'. */
static int
has_u_escape(const char *s, size_t len)
{
    const char *p = s, *end = s + len;

    while (p < end) {
        p = memchr(p, '\\', (size_t)(end - p));
        if (p == NULL || p + 1 >= end)
            return 0;
        if (p[1] == 'u')
            return 1;
        p += 2;                 /* past an escaped character */
    }
    return 0;
}

void
ndjson_scan(char *line, size_t len, struct ndjson_marks *m)
{
    size_t i = 0, member = 0;
    int depth = 0, want_key = 0;

    m->n = 0;
    /* Most lines have no \u escape at all: one fast look decides. */
    if (!has_u_escape(line, len))
        return;
    while (i < len) {
        char c = line[i];

        if (c == '"') {
            int key = depth == 1 && want_key;

            if (key) {
                member++;
                want_key = 0;
            }
            i = scan_string(line, len, i + 1, member,
                            key ? NDJSON_NUL_IN_KEY : NDJSON_NUL_IN_VALUE,
                            m);
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
            if (depth == 1)
                want_key = c == '{';
        }
        else if (c == '}' || c == ']') {
            depth--;
        }
        else if (c == ',' && depth == 1) {
            want_key = 1;
        }
        i++;
    }
}
