/* publish.c - see publish.h.
 *
 * A feed goes live only through rename(2) of a temp file that was written,
 * read back, parsed and fsynced in the target's own folder, so a reader
 * (the HTTP server, or a platform polling the file) sees either the old
 * feed or the complete new one, never a half-written or broken one.
 *
 * The .gz twin and the main file cannot be swapped together, so the order
 * is chosen so that the main file is the commit point:
 *
 *   1. the new .gz twin is renamed into place (or, without gzip, a stale
 *      .gz twin is removed), then
 *   2. the new main file is renamed into place.
 *
 * Whoever sees the new main file therefore also sees the matching twin (or
 * no twin). In the short window between the two renames, or after a crash
 * or a failed second rename, the twin is newer than the main file. Both
 * files of a pair are given the same mtime, so a server that serves the
 * .gz only when its mtime equals the main file's mtime never sends a body
 * that differs from the main file; it falls back to the uncompressed old
 * feed until the pair is complete again.
 *
 * The check pass (parse, SHA-256, gzip) reads the very bytes written to
 * the temp file, as they are written, on a worker thread: rendering and
 * checking overlap on two cores, and the pass still sees every byte the
 * file holds, in order (reading the file back would only re-read the page
 * cache). A bounded queue of PUB_SLOTS chunks keeps memory flat.
 */
#include "publish.h"

#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <openssl/evp.h>
#include <yajl/yajl_parse.h>

#include "names.h"
#include "publish_gz.h"

/* Queue slot size: with the compressor's buffers, the memory a commit
 * needs, whatever the feed size. */
#define PUB_CHUNK (256 * 1024)
#define PUB_SWEEP_DEPTH 32
#define PUB_SLOTS 4

struct check;
static void check_stop(struct publish_job *j);
static void check_free(struct check *ck);
static int check_start(struct publish_job *j, struct pf_err *err);

struct publish_job {
    char *path;         /* final path: feeds_dir/output */
    char *dir;          /* its folder */
    char *name;         /* output as configured, for messages */
    char *tmp_path;     /* NULL once renamed or removed */
    char *gz_path;      /* path + ".gz" */
    char *gz_tmp_path;  /* created by publish_commit() when gzip is on */
    int fd, gz_fd;
    enum tpl_format format;
    int gzip;
    struct pf_out out;
    struct check *ck;   /* the check pass, see below; NULL once sealed */
    /* What the check pass found, kept by publish_seal() */
    int sealed;
    int64_t bytes, gz_bytes;
    char sha256[65], gz_sha256[65];
};

/* One streaming parser per format; memory stays bounded by the parsers'
 * own state, never by the feed size. */
struct validator {
    enum tpl_format format;
    const struct publish_job *job;
    uint64_t offset;            /* bytes fed before the current chunk */
    yajl_handle yh;
    long line;                  /* NDJSON: current line, 1-based */
    int depth;                  /* NDJSON: open arrays and objects */
    int line_values;            /* NDJSON: values ended on this line */
    int tail_open;              /* NDJSON: bytes after the last newline */
    int64_t values;             /* NDJSON: values in the file */
    xmlParserCtxtPtr xml;
    xmlSAXHandler sax;
    int xml_failed;
    char xml_msg[200];
    int xml_line, xml_col;
};

/* Creates path and its missing parents. An existing folder is fine; an
 * existing non-folder is an error. */
static int
make_dirs(const char *path, struct pf_err *err)
{
    char *p = xstrdup(path);
    char *s = p;
    int rc = -1;

    for (;;) {
        struct stat st;
        char *slash;

        while (*s == '/')
            s++;
        slash = strchr(s, '/');
        if (slash != NULL)
            *slash = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            int e = errno;

            /* EACCES and friends on a folder that is already there. */
            if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
                pf_errf(err, "cannot create folder '%s': %s", p,
                        strerror(e));
                goto cleanup;
            }
        }
        else if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
            pf_errf(err, "'%s' exists and is not a folder", p);
            goto cleanup;
        }
        if (slash == NULL)
            break;
        *slash = '/';
        s = slash + 1;
        if (*s == '\0')
            break;
    }
    rc = 0;
cleanup:
    free(p);
    return rc;
}

/* Creates "DIR/.BASE<suffix>XXXXXX" and returns its fd (close-on-exec).
 * The name must match PF_TEMP_GLOB (names.h), so a later build's sweep
 * finds it after a crash.
 * mkostemp() is not in POSIX 2008, hence mkstemp() + FD_CLOEXEC. */
static int
make_temp(const char *dir, const char *base, const char *suffix,
          char **out_path, struct pf_err *err)
{
    char *tmpl = xasprintf("%s/.%s%sXXXXXX", dir, base, suffix);
    int fd = mkstemp(tmpl);

    if (fd < 0) {
        pf_errf(err, "cannot create temp file in '%s' for '%s': %s", dir,
                base, strerror(errno));
        free(tmpl);
        return -1;
    }
    (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    *out_path = tmpl;
    return fd;
}

static void
job_free(struct publish_job *j)
{
    if (j == NULL)
        return;
    check_stop(j);
    check_free(j->ck);
    if (j->fd >= 0)
        close(j->fd);
    if (j->gz_fd >= 0)
        close(j->gz_fd);
    if (j->tmp_path != NULL)
        (void)unlink(j->tmp_path);
    if (j->gz_tmp_path != NULL)
        (void)unlink(j->gz_tmp_path);
    pf_out_free(&j->out);
    free(j->path);
    free(j->dir);
    free(j->name);
    free(j->tmp_path);
    free(j->gz_path);
    free(j->gz_tmp_path);
    free(j);
}

int
publish_begin(const char *feeds_dir, const char *output,
              enum tpl_format format, int gzip, struct publish_job **out,
              struct pf_err *err)
{
    struct publish_job *j = NULL;
    const char *slash;
    size_t outlen;
    int rc = -1;

    *out = NULL;
    if (feeds_dir == NULL || feeds_dir[0] == '\0') {
        pf_errf(err, "feed '%s': no feeds folder configured",
                output ? output : "");
        return -1;
    }
    if (output == NULL || !pf_path_is_contained(output)) {
        pf_errf(err, "feed output '%s' must be a relative path inside "
                "the feeds folder '%s' (no '..', not absolute, not empty)",
                output ? output : "", feeds_dir);
        return -1;
    }
    outlen = strlen(output);
    slash = strrchr(output, '/');
    if (output[outlen - 1] == '/' || strcmp(slash ? slash + 1 : output,
                                            ".") == 0) {
        pf_errf(err, "feed output '%s' names a folder, not a file", output);
        return -1;
    }
    if (fnmatch(PF_TEMP_GLOB, slash ? slash + 1 : output, 0) == 0) {
        pf_errf(err, "feed output '%s' looks like a temp file (%s) and "
                "would be swept away; choose another name", output,
                PF_TEMP_GLOB);
        return -1;
    }

    j = xcalloc(1, sizeof(*j));
    j->fd = j->gz_fd = -1;
    j->format = format;
    j->gzip = gzip;
    j->name = xstrdup(output);
    j->path = pf_path_join(feeds_dir, output);
    j->dir = pf_path_dir(j->path);
    j->gz_path = xasprintf("%s.gz", j->path);
    if (make_dirs(j->dir, err) != 0) {
        pf_err_prefix(err, "feed '%s'", output);
        goto cleanup;
    }
    slash = strrchr(j->path, '/');
    j->fd = make_temp(j->dir, slash ? slash + 1 : j->path, ".tmp-",
                      &j->tmp_path, err);
    if (j->fd < 0)
        goto cleanup;
    pf_out_init_fd(&j->out, j->fd);
    if (check_start(j, err) != 0)
        goto cleanup;
    *out = j;
    j = NULL;
    rc = 0;
cleanup:
    job_free(j);
    return rc;
}

struct pf_out *
publish_out(struct publish_job *j)
{
    return &j->out;
}

void
publish_abort(struct publish_job *j)
{
    job_free(j);
}

/* ---- validation ------------------------------------------------------ */

static void
xml_on_error(void *user, xmlErrorPtr e)
{
    struct validator *v = user;
    size_t n;

    /* Keep the first error: later ones are usually its consequences. */
    if (v->xml_failed || e == NULL || e->level < XML_ERR_ERROR)
        return;
    v->xml_failed = 1;
    v->xml_line = e->line;
    v->xml_col = e->int2;
    snprintf(v->xml_msg, sizeof(v->xml_msg), "%s",
             e->message ? e->message : "unknown error");
    n = strlen(v->xml_msg);
    while (n > 0 && (v->xml_msg[n - 1] == '\n' || v->xml_msg[n - 1] == ' '))
        v->xml_msg[--n] = '\0';
}

/* yajl's messages end with a newline; keep the one-line rule. */
static void
yajl_fail(struct validator *v, const unsigned char *chunk, size_t len,
          const char *where, struct pf_err *err)
{
    unsigned char *msg = yajl_get_error(v->yh, 0, chunk, len);
    char text[160];
    size_t n;

    snprintf(text, sizeof(text), "%s", msg ? (const char *)msg : "error");
    if (msg != NULL)
        yajl_free_error(v->yh, msg);
    n = strlen(text);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
        text[--n] = '\0';
    pf_errf(err, "feed '%s' (%s): invalid JSON %s: %s", v->job->name,
            v->job->path, where, text);
}

/* A short, printable excerpt of the bytes just before the error. */
static void
excerpt(const unsigned char *p, size_t at, char *buf, size_t size)
{
    size_t from = at > 24 ? at - 24 : 0;
    size_t k = 0;

    for (size_t i = from; i < at && k + 1 < size; i++)
        buf[k++] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '?';
    buf[k] = '\0';
}

static int
json_feed(struct validator *v, const unsigned char *p, size_t n,
          struct pf_err *err)
{
    char where[96], near[32];
    size_t at;

    if (v->yh == NULL)
        v->yh = yajl_alloc(NULL, NULL, NULL);
    if (v->yh == NULL) {
        pf_errf(err, "feed '%s': out of memory for the JSON parser",
                v->job->name);
        return -1;
    }
    if (yajl_parse(v->yh, p, n) == yajl_status_ok)
        return 0;
    at = yajl_get_bytes_consumed(v->yh);
    if (at > n)
        at = n;
    excerpt(p, at, near, sizeof(near));
    snprintf(where, sizeof(where), "at byte %llu near '%s'",
             (unsigned long long)(v->offset + at), near);
    yajl_fail(v, p, n, where, err);
    return -1;
}

static int
json_finish(struct validator *v, struct pf_err *err)
{
    char where[64];

    if (yajl_complete_parse(v->yh) == yajl_status_ok)
        return 0;
    snprintf(where, sizeof(where), "at byte %llu (end of file)",
             (unsigned long long)v->offset);
    yajl_fail(v, NULL, 0, where, err);
    return -1;
}

/* NDJSON runs one yajl handle over the whole file in multiple-values
 * mode (a handle per line would churn the allocator on big feeds). The
 * callbacks count completed top-level values, so at each newline the line
 * must have completed exactly one value and left none open; JSON strings
 * cannot hold a raw newline, so a value never legally spans lines. */
static int
nd_value(struct validator *v)
{
    if (v->depth == 0)
        v->line_values++;
    return 1;
}

static int
nd_null(void *ctx)
{
    return nd_value(ctx);
}

static int
nd_bool(void *ctx, int b)
{
    (void)b;
    return nd_value(ctx);
}

static int
nd_number(void *ctx, const char *s, size_t n)
{
    (void)s;
    (void)n;
    return nd_value(ctx);
}

static int
nd_string(void *ctx, const unsigned char *s, size_t n)
{
    (void)s;
    (void)n;
    return nd_value(ctx);
}

static int
nd_open(void *ctx)
{
    struct validator *v = ctx;

    v->depth++;
    return 1;
}

static int
nd_close(void *ctx)
{
    struct validator *v = ctx;

    v->depth--;
    return nd_value(v);
}

static const yajl_callbacks nd_callbacks = {
    .yajl_null = nd_null,
    .yajl_boolean = nd_bool,
    /* Numbers as text: no range checks, any valid JSON number passes. */
    .yajl_number = nd_number,
    .yajl_string = nd_string,
    .yajl_start_map = nd_open,
    .yajl_end_map = nd_close,
    .yajl_start_array = nd_open,
    .yajl_end_array = nd_close,
};

static int
blank(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return 0;
    }
    return 1;
}

/* The line just ended must hold one complete value, or be blank. */
static int
ndjson_end_line(struct validator *v, struct pf_err *err)
{
    const char *why = NULL;

    if (v->depth > 0)
        why = "the value does not end on this line";
    else if (v->line_values > 1)
        why = "more than one value on the line";
    if (why != NULL) {
        pf_errf(err, "feed '%s' (%s): invalid NDJSON on line %ld: %s",
                v->job->name, v->job->path, v->line, why);
        return -1;
    }
    v->values += v->line_values;
    v->line_values = 0;
    return 0;
}

static int
ndjson_feed(struct validator *v, const unsigned char *p, size_t n,
            struct pf_err *err)
{
    size_t i = 0;

    if (v->yh == NULL) {
        v->yh = yajl_alloc(&nd_callbacks, NULL, v);
        if (v->yh == NULL) {
            pf_errf(err, "feed '%s': out of memory for the JSON parser",
                    v->job->name);
            return -1;
        }
        yajl_config(v->yh, yajl_allow_multiple_values, 1);
    }
    while (i < n) {
        const unsigned char *nl = memchr(p + i, '\n', n - i);
        /* The newline goes to yajl too: it ends a number or literal. */
        size_t end = nl ? (size_t)(nl - p) + 1 : n;

        if (yajl_parse(v->yh, p + i, end - i) != yajl_status_ok) {
            char where[96], near[32];
            size_t at = yajl_get_bytes_consumed(v->yh);

            if (at > end - i)
                at = end - i;
            excerpt(p + i, at, near, sizeof(near));
            snprintf(where, sizeof(where), "on line %ld near '%s'",
                     v->line, near);
            yajl_fail(v, p + i, end - i, where, err);
            return -1;
        }
        if (nl == NULL) {
            v->tail_open = v->tail_open || !blank(p + i, end - i);
            break;
        }
        v->tail_open = 0;
        if (ndjson_end_line(v, err) != 0)
            return -1;
        v->line++;
        i = end;
    }
    return 0;
}

static int
ndjson_finish(struct validator *v, struct pf_err *err)
{
    char where[64];

    /* After a final newline yajl is between values and has nothing to
     * complete; in multiple-values mode it would call that an error. */
    if (v->tail_open && yajl_complete_parse(v->yh) != yajl_status_ok) {
        snprintf(where, sizeof(where), "on line %ld", v->line);
        yajl_fail(v, NULL, 0, where, err);
        return -1;
    }
    return ndjson_end_line(v, err);
}

static int
xml_report(struct validator *v, struct pf_err *err)
{
    if (!v->xml_failed) {
        snprintf(v->xml_msg, sizeof(v->xml_msg), "%s",
                 v->xml->wellFormed ? "namespace error"
                                    : "not well-formed");
        v->xml_line = xmlSAX2GetLineNumber(v->xml);
        v->xml_col = xmlSAX2GetColumnNumber(v->xml);
    }
    pf_errf(err, "feed '%s' (%s): invalid XML at line %d column %d: %s",
            v->job->name, v->job->path, v->xml_line, v->xml_col,
            v->xml_msg);
    return -1;
}

static int
xml_feed(struct validator *v, const unsigned char *p, size_t n,
         struct pf_err *err)
{
    if (v->xml == NULL) {
        /* libxml2 detects the encoding from the first bytes it is given
         * here, so hand over the first four with the context. */
        size_t first = n < 4 ? n : 4;

        memset(&v->sax, 0, sizeof(v->sax));
        /* SAX2 with no callbacks: nothing is built, namespaces are still
         * checked, and errors come to us instead of stderr. */
        v->sax.initialized = XML_SAX2_MAGIC;
        v->sax.serror = xml_on_error;
        v->xml = xmlCreatePushParserCtxt(&v->sax, v, (const char *)p,
                                         (int)first, v->job->path);
        if (v->xml == NULL) {
            pf_errf(err, "feed '%s': cannot create the XML parser",
                    v->job->name);
            return -1;
        }
        (void)xmlCtxtUseOptions(v->xml, XML_PARSE_NONET);
        p += first;
        n -= first;
    }
    if (xmlParseChunk(v->xml, (const char *)p, (int)n, 0) != 0 ||
        v->xml_failed)
        return xml_report(v, err);
    return 0;
}

static int
xml_finish(struct validator *v, struct pf_err *err)
{
    char open_tag[64] = "";

    /* The push parser words a cut-off document as "extra content"; name
     * the element left open instead, the usual sign of a truncated feed. */
    if (v->xml->nameNr > 0 && v->xml->name != NULL)
        snprintf(open_tag, sizeof(open_tag), "%s",
                 (const char *)v->xml->name);
    if (xmlParseChunk(v->xml, NULL, 0, 1) != 0 || v->xml_failed ||
        !v->xml->wellFormed || !v->xml->nsWellFormed) {
        if (open_tag[0] != '\0') {
            v->xml_failed = 1;
            snprintf(v->xml_msg, sizeof(v->xml_msg), "the document ends "
                     "inside <%s> (truncated?)", open_tag);
            v->xml_line = xmlSAX2GetLineNumber(v->xml);
            v->xml_col = xmlSAX2GetColumnNumber(v->xml);
        }
        return xml_report(v, err);
    }
    return 0;
}

static int
validator_feed(struct validator *v, const unsigned char *p, size_t n,
               struct pf_err *err)
{
    int rc;

    switch (v->format) {
    case TPL_NDJSON:
        rc = ndjson_feed(v, p, n, err);
        break;
    case TPL_XML:
        rc = xml_feed(v, p, n, err);
        break;
    default:
        rc = json_feed(v, p, n, err);
        break;
    }
    v->offset += n;
    return rc;
}

static int
validator_finish(struct validator *v, struct pf_err *err)
{
    /* Zero records is a valid NDJSON feed (a shop with no orders yet);
     * an empty JSON or XML document is not. */
    if (v->offset == 0 && v->format == TPL_NDJSON)
        return 0;
    if (v->offset == 0) {
        pf_errf(err, "feed '%s' (%s) is empty", v->job->name,
                v->job->path);
        return -1;
    }
    switch (v->format) {
    case TPL_NDJSON:
        return ndjson_finish(v, err);
    case TPL_XML:
        return xml_finish(v, err);
    default:
        return json_finish(v, err);
    }
}

static void
validator_free(struct validator *v)
{
    if (v->yh != NULL)
        yajl_free(v->yh);
    if (v->xml != NULL) {
        /* Without tree callbacks no document exists, but be sure. */
        if (v->xml->myDoc != NULL)
            xmlFreeDoc(v->xml->myDoc);
        xmlFreeParserCtxt(v->xml);
    }
}

/* ---- commit ---------------------------------------------------------- */

static void
hex_digest(const unsigned char *md, unsigned int n, char *out)
{
    static const char hex[] = "0123456789abcdef";

    for (unsigned int i = 0; i < n; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * n] = '\0';
}

static int
digest_final(EVP_MD_CTX *md, char *hex, const struct publish_job *j,
             struct pf_err *err)
{
    unsigned char raw[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    if (EVP_DigestFinal_ex(md, raw, &n) != 1 || n != 32) {
        pf_errf(err, "feed '%s': SHA-256 failed", j->name);
        return -1;
    }
    hex_digest(raw, n, hex);
    return 0;
}

static int
gate_check(const struct publish_job *j, const struct publish_gate *g,
           struct pf_err *err)
{
    return publish_gate_ok(g, j->name, err);
}

int
publish_gate_ok(const struct publish_gate *g, const char *name,
                struct pf_err *err)
{
    if (g == NULL || g->force || g->last_items <= 0)
        return 0;
    if ((double)g->items >= (double)g->last_items * (1.0 - g->max_drop))
        return 0;
    pf_errf(err, "feed '%s' has %lld items, down from %lld last time "
            "(more than the %.0f%% max_drop allows); not published. "
            "Run `posfeed build --force %s` to publish it anyway.",
            name, (long long)g->items,
            (long long)g->last_items, g->max_drop * 100.0,
            g->feed_name ? g->feed_name : "");
    return -1;
}

/* Makes a temp file durable and readable by the serving process. */
static int
seal_temp(const struct publish_job *j, int fd, const char *tmp,
          mode_t mode, struct pf_err *err)
{
    if (fsync(fd) != 0) {
        pf_errf(err, "feed '%s': fsync '%s': %s", j->name, tmp,
                strerror(errno));
        return -1;
    }
    if (fchmod(fd, mode) != 0) {
        pf_errf(err, "feed '%s': chmod '%s': %s", j->name, tmp,
                strerror(errno));
        return -1;
    }
    return 0;
}

/* Without this the renames are atomic but may not survive a power cut.
 * Some filesystems refuse fsync on a folder; that is not an error. */
static int
fsync_dir(const struct publish_job *j, struct pf_err *err)
{
    int fd = open(j->dir, O_RDONLY | O_DIRECTORY);
    int rc = 0;

    if (fd < 0) {
        pf_errf(err, "feed '%s': open folder '%s': %s", j->name, j->dir,
                strerror(errno));
        return -1;
    }
    if (fsync(fd) != 0 && errno != EINVAL && errno != EBADF) {
        pf_errf(err, "feed '%s': fsync folder '%s': %s", j->name, j->dir,
                strerror(errno));
        rc = -1;
    }
    close(fd);
    return rc;
}

/* Puts the finished temps in place; see the top of the file for why the
 * twin goes first. */
static int
install(struct publish_job *j, struct pf_err *err)
{
    mode_t um = umask(0);
    mode_t mode;
    struct stat st;

    /* umask() can only be read by setting it; restore it at once. */
    umask(um);
    mode = 0644 & ~um;
    if (seal_temp(j, j->fd, j->tmp_path, mode, err) != 0)
        return -1;
    if (j->gzip) {
        struct timespec ts[2];

        if (seal_temp(j, j->gz_fd, j->gz_tmp_path, mode, err) != 0)
            return -1;
        if (fstat(j->fd, &st) != 0) {
            pf_errf(err, "feed '%s': stat '%s': %s", j->name, j->tmp_path,
                    strerror(errno));
            return -1;
        }
        ts[0] = st.st_mtim;
        ts[1] = st.st_mtim;
        if (futimens(j->gz_fd, ts) != 0) {
            pf_errf(err, "feed '%s': set mtime of '%s': %s", j->name,
                    j->gz_tmp_path, strerror(errno));
            return -1;
        }
        if (rename(j->gz_tmp_path, j->gz_path) != 0) {
            pf_errf(err, "feed '%s': rename '%s' to '%s': %s", j->name,
                    j->gz_tmp_path, j->gz_path, strerror(errno));
            return -1;
        }
        free(j->gz_tmp_path);
        j->gz_tmp_path = NULL;
    }
    else if (unlink(j->gz_path) != 0 && errno != ENOENT) {
        pf_errf(err, "feed '%s': cannot remove the stale twin '%s': %s",
                j->name, j->gz_path, strerror(errno));
        return -1;
    }
    if (rename(j->tmp_path, j->path) != 0) {
        pf_errf(err, "feed '%s': rename '%s' to '%s': %s", j->name,
                j->tmp_path, j->path, strerror(errno));
        return -1;
    }
    free(j->tmp_path);
    j->tmp_path = NULL;
    return fsync_dir(j, err);
}

/* ---- the check pass ---------------------------------------------------- */

struct check {
    struct validator v;
    EVP_MD_CTX *md;
    struct pub_gz *gz;      /* the .gz twin's writer, NULL without gzip */
    int64_t bytes;
    int failed;             /* first error is in err; later bytes skipped */
    struct pf_err err;
    /* The queue between the writer (sink) and the worker. */
    pthread_t thread;
    int running;
    pthread_mutex_t mu;
    pthread_cond_t can_put, can_take;
    unsigned char *slot[PUB_SLOTS];
    size_t slot_len[PUB_SLOTS];
    size_t head, count;     /* slots head..head+count-1 are queued */
    int done;               /* the writer has finished */
};

/* Validates, hashes and compresses one run of bytes. */
static void
check_chunk(struct publish_job *j, const unsigned char *p, size_t n)
{
    struct check *ck = j->ck;

    if (ck->failed)
        return;
    ck->bytes += (int64_t)n;
    if (validator_feed(&ck->v, p, n, &ck->err) != 0) {
        ck->failed = 1;
        return;
    }
    if (EVP_DigestUpdate(ck->md, p, n) != 1) {
        pf_errf(&ck->err, "feed '%s': SHA-256 failed", j->name);
        ck->failed = 1;
        return;
    }
    if (ck->gz != NULL && pub_gz_write(ck->gz, p, n, &ck->err) != 0)
        ck->failed = 1;
}

static void *
check_main(void *arg)
{
    struct publish_job *j = arg;
    struct check *ck = j->ck;
    size_t idx;

    for (;;) {
        pthread_mutex_lock(&ck->mu);
        while (ck->count == 0 && !ck->done)
            pthread_cond_wait(&ck->can_take, &ck->mu);
        if (ck->count == 0) {
            pthread_mutex_unlock(&ck->mu);
            break;
        }
        idx = ck->head;
        pthread_mutex_unlock(&ck->mu);
        /* The writer never touches a queued slot: no lock needed. */
        check_chunk(j, ck->slot[idx], ck->slot_len[idx]);
        pthread_mutex_lock(&ck->mu);
        ck->head = (ck->head + 1) % PUB_SLOTS;
        ck->count--;
        pthread_cond_signal(&ck->can_put);
        pthread_mutex_unlock(&ck->mu);
    }
    return NULL;
}

/* pf_out's sink: queue a copy of what was just written (waiting while
 * the queue is full), or check it at once without a worker. */
static void
check_sink(void *ctx, const void *p, size_t n)
{
    struct publish_job *j = ctx;
    struct check *ck = j->ck;
    const unsigned char *c = p;

    if (!ck->running) {
        check_chunk(j, c, n);
        return;
    }
    while (n > 0) {
        size_t k = n < PUB_CHUNK ? n : PUB_CHUNK, idx;

        pthread_mutex_lock(&ck->mu);
        while (ck->count == PUB_SLOTS)
            pthread_cond_wait(&ck->can_put, &ck->mu);
        idx = (ck->head + ck->count) % PUB_SLOTS;
        pthread_mutex_unlock(&ck->mu);
        memcpy(ck->slot[idx], c, k);
        ck->slot_len[idx] = k;
        pthread_mutex_lock(&ck->mu);
        ck->count++;
        pthread_cond_signal(&ck->can_take);
        pthread_mutex_unlock(&ck->mu);
        c += k;
        n -= k;
    }
}

static int
check_start(struct publish_job *j, struct pf_err *err)
{
    struct check *ck = xcalloc(1, sizeof(*ck));
    const char *slash;
    int i;

    j->ck = ck;
    ck->v.format = j->format;
    ck->v.job = j;
    ck->v.line = 1;
    ck->md = EVP_MD_CTX_new();
    if (ck->md == NULL || EVP_DigestInit_ex(ck->md, EVP_sha256(), NULL) != 1) {
        pf_errf(err, "feed '%s': cannot start SHA-256", j->name);
        return -1;
    }
    if (j->gzip) {
        slash = strrchr(j->path, '/');
        j->gz_fd = make_temp(j->dir, slash ? slash + 1 : j->path,
                             ".gz.tmp-", &j->gz_tmp_path, err);
        if (j->gz_fd < 0)
            return -1;
        if (pub_gz_new(j->gz_fd, j->name, j->gz_tmp_path, &ck->gz,
                       err) != 0)
            return -1;
    }
    /* libxml2 must be initialised before a second thread parses. */
    xmlInitParser();
    for (i = 0; i < PUB_SLOTS; i++)
        ck->slot[i] = xmalloc(PUB_CHUNK);
    pthread_mutex_init(&ck->mu, NULL);
    pthread_cond_init(&ck->can_put, NULL);
    pthread_cond_init(&ck->can_take, NULL);
    /* Without a thread the same pass runs inline; only slower. */
    ck->running = pthread_create(&ck->thread, NULL, check_main, j) == 0;
    j->out.sink = check_sink;
    j->out.sink_ctx = j;
    return 0;
}

/* Lets the worker drain the queue and waits for it. */
static void
check_stop(struct publish_job *j)
{
    struct check *ck = j->ck;

    if (ck == NULL || !ck->running)
        return;
    pthread_mutex_lock(&ck->mu);
    ck->done = 1;
    pthread_cond_signal(&ck->can_take);
    pthread_mutex_unlock(&ck->mu);
    pthread_join(ck->thread, NULL);
    ck->running = 0;
}

static void
check_free(struct check *ck)
{
    int i;

    if (ck == NULL)
        return;
    validator_free(&ck->v);
    pub_gz_free(ck->gz);
    EVP_MD_CTX_free(ck->md);
    for (i = 0; i < PUB_SLOTS; i++)
        free(ck->slot[i]);
    if (ck->slot[0] != NULL) {
        pthread_mutex_destroy(&ck->mu);
        pthread_cond_destroy(&ck->can_put);
        pthread_cond_destroy(&ck->can_take);
    }
    free(ck);
}

int
publish_seal(struct publish_job *j, struct pf_err *err)
{
    struct check *ck = j->ck;
    unsigned char gz_raw[32];

    if (j->sealed)
        return 0;
    if (pf_out_flush(&j->out, err) != 0) {
        pf_err_prefix(err, "feed '%s' (%s)", j->name, j->tmp_path);
        return -1;
    }
    check_stop(j);
    if (ck->failed) {
        if (err != NULL)
            *err = ck->err;
        return -1;
    }
    if ((uint64_t)ck->bytes != j->out.bytes) {
        pf_errf(err, "feed '%s': checked %lld bytes of '%s' but %llu "
                "were written", j->name, (long long)ck->bytes, j->tmp_path,
                (unsigned long long)j->out.bytes);
        return -1;
    }
    if (validator_finish(&ck->v, err) != 0 ||
        digest_final(ck->md, j->sha256, j, err) != 0)
        return -1;
    if (ck->gz != NULL) {
        if (pub_gz_finish(ck->gz, gz_raw, &j->gz_bytes, err) != 0)
            return -1;
        hex_digest(gz_raw, sizeof(gz_raw), j->gz_sha256);
    }
    j->bytes = ck->bytes;
    /* The parser, the digests, the compressor and the queue go now: a
     * feed split into many parts keeps every part's job until the last
     * part is rendered, and must not keep their buffers too. */
    check_free(ck);
    j->ck = NULL;
    j->out.sink = NULL;
    pf_out_free(&j->out);
    j->sealed = 1;
    return 0;
}

int
publish_commit(struct publish_job *j, const struct publish_gate *gate,
               struct publish_result *res, struct pf_err *err)
{
    int rc = -1;

    if (res != NULL)
        memset(res, 0, sizeof(*res));
    if (publish_seal(j, err) != 0 || gate_check(j, gate, err) != 0 ||
        install(j, err) != 0)
        goto cleanup;
    if (res != NULL) {
        res->bytes = j->bytes;
        res->gz_bytes = j->gz_bytes;
        memcpy(res->sha256, j->sha256, sizeof(j->sha256));
        memcpy(res->gz_sha256, j->gz_sha256, sizeof(j->gz_sha256));
        res->path = xstrdup(j->path);
    }
    rc = 0;
cleanup:
    job_free(j);
    return rc;
}

/* ---- sweep ----------------------------------------------------------- */

static int
sweep_dir(const char *dir, int depth, int *removed, struct pf_err *err)
{
    DIR *d;
    struct dirent *e;
    int rc = -1;

    if (depth > PUB_SWEEP_DEPTH)
        return 0;
    d = opendir(dir);
    if (d == NULL) {
        if (errno == ENOENT && depth == 0)
            return 0;
        pf_errf(err, "cannot open folder '%s': %s", dir, strerror(errno));
        return -1;
    }
    for (;;) {
        struct stat st;
        char *p;

        errno = 0;
        e = readdir(d);
        if (e == NULL)
            break;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        p = pf_path_join(dir, e->d_name);
        /* lstat: never follow a link out of the feeds folder. */
        if (lstat(p, &st) != 0) {
            if (errno != ENOENT) {
                pf_errf(err, "cannot stat '%s': %s", p, strerror(errno));
                free(p);
                goto cleanup;
            }
        }
        else if (S_ISDIR(st.st_mode)) {
            if (sweep_dir(p, depth + 1, removed, err) != 0) {
                free(p);
                goto cleanup;
            }
        }
        else if (S_ISREG(st.st_mode) &&
                   fnmatch(PF_TEMP_GLOB, e->d_name, 0) == 0) {
            if (unlink(p) == 0) {
                (*removed)++;
            }
            else if (errno != ENOENT) {
                pf_errf(err, "cannot remove stale temp file '%s': %s", p,
                        strerror(errno));
                free(p);
                goto cleanup;
            }
        }
        free(p);
    }
    if (errno != 0) {
        pf_errf(err, "cannot read folder '%s': %s", dir, strerror(errno));
        goto cleanup;
    }
    rc = 0;
cleanup:
    closedir(d);
    return rc;
}

int
publish_sweep_temps(const char *feeds_dir, int *removed, struct pf_err *err)
{
    int n = 0;
    int rc = sweep_dir(feeds_dir, 0, &n, err);

    if (removed != NULL)
        *removed = n;
    return rc;
}
