/* verify_feed.c - the feed column of `posfeed verify`: Placed Order
 * events per day in the events feed exactly as posfeed published it
 * (what a reader of the file sees), not as the store would render it
 * now. See verify_int.h.
 */
#include "verify_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "names.h"
#include "timeutil.h"

/* The whole file, gunzipped when it is gzip (zlib reads a plain file
 * as it is). 1: it does not exist. */
static int
slurp(const char *path, struct pf_buf *b, struct pf_err *err)
{
    gzFile f = gzopen(path, "rb");
    char chunk[65536];
    int n;

    if (f == NULL) {
        if (errno == ENOENT)
            return 1;
        pf_errf(err, "%s: %s", path, strerror(errno));
        return -1;
    }
    while ((n = gzread(f, chunk, sizeof(chunk))) > 0)
        pf_buf_add(b, chunk, (size_t)n);
    if (n < 0) {
        int zerr;

        pf_errf(err, "%s: %s", path, gzerror(f, &zerr));
        gzclose(f);
        return -1;
    }
    gzclose(f);
    return 0;
}

static void
count_event(const cJSON *ev, const int64_t *bounds, size_t n,
            int64_t *counts)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(ev, "metric");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(ev, "time");
    struct pf_err e;
    int64_t at;
    int d;

    if (!cJSON_IsString(m) || strcmp(m->valuestring, "Placed Order") != 0)
        return;
    if (cJSON_IsNumber(t) && t->valuedouble >= (double)PF_TIME_MIN &&
        t->valuedouble <= (double)PF_TIME_MAX)
        at = (int64_t)t->valuedouble;
    else if (!cJSON_IsString(t) || pf_time_parse(t->valuestring, &at,
                                                  &e) != 0)
        return;
    d = verify_day_of(bounds, n, at);
    if (d >= 0)
        counts[d]++;
}

/* A JSON array of events (a custom template's), parsed whole. */
static int
count_array(const char *path, const struct pf_buf *b, const int64_t *bounds,
            size_t n, int64_t *counts, struct pf_err *err)
{
    cJSON *doc = cJSON_ParseWithLength(b->data, b->len), *ev;

    if (!cJSON_IsArray(doc)) {
        cJSON_Delete(doc);
        pf_errf(err, "%s: not a JSON array of events", path);
        return -1;
    }
    cJSON_ArrayForEach(ev, doc)
        count_event(ev, bounds, n, counts);
    cJSON_Delete(doc);
    return 0;
}

/* One NDJSON line (NUL-terminated in place); blank lines are skipped. */
static int
count_line(const char *path, long line, const char *p,
           const int64_t *bounds, size_t n, int64_t *counts,
           struct pf_err *err)
{
    cJSON *doc;

    if (p[strspn(p, " \t\r")] == '\0')
        return 0;
    doc = cJSON_Parse(p);
    if (!cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        pf_errf(err, "%s:%ld: not a JSON object", path, line);
        return -1;
    }
    count_event(doc, bounds, n, counts);
    cJSON_Delete(doc);
    return 0;
}

/* Counts the complete lines of b and keeps the unfinished last one
 * (all of it at the end: last = 1). */
static int
count_lines(const char *path, struct pf_buf *b, int last, long *line,
            const int64_t *bounds, size_t n, int64_t *counts,
            struct pf_err *err)
{
    char *p = b->data, *end = b->data + b->len, *nl;

    while (p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL && !last)
            break;
        if (nl == NULL)
            nl = end;
        *nl = '\0';
        if (count_line(path, ++*line, p, bounds, n, counts, err) != 0)
            return -1;
        p = nl + 1;
    }
    if (p >= end) {
        pf_buf_reset(b);
    }
    else {
        memmove(b->data, p, (size_t)(end - p));
        b->len = (size_t)(end - p);
        b->data[b->len] = '\0';
    }
    return 0;
}

/* One published file, gunzipped when it is gzip (zlib reads a plain
 * file as it is). NDJSON (the built-in template's format) is read line
 * by line, so a large feed never sits in memory whole. */
static int
count_file(const char *path, const int64_t *bounds, size_t n,
           int64_t *counts, struct pf_err *err)
{
    gzFile f = gzopen(path, "rb");
    struct pf_buf b;
    char chunk[65536];
    long line = 0;
    int got, array = -1, rc = -1, zerr;

    if (f == NULL) {
        if (errno == ENOENT)
            pf_errf(err, "%s: not published yet: run `posfeed build`",
                    path);
        else
            pf_errf(err, "%s: %s", path, strerror(errno));
        return -1;
    }
    pf_buf_init(&b);
    while ((got = gzread(f, chunk, sizeof(chunk))) > 0) {
        pf_buf_add(&b, chunk, (size_t)got);
        if (array < 0 && b.data[strspn(b.data, " \t\r\n")] != '\0')
            array = b.data[strspn(b.data, " \t\r\n")] == '[';
        if (array == 0 && count_lines(path, &b, 0, &line, bounds, n,
                                      counts, err) != 0)
            goto cleanup;
    }
    if (got < 0)
        pf_errf(err, "%s: %s", path, gzerror(f, &zerr));
    else if (array == 1)
        rc = count_array(path, &b, bounds, n, counts, err);
    else
        rc = b.len == 0 ? 0 : count_lines(path, &b, 1, &line, bounds, n,
                                          counts, err);
cleanup:
    gzclose(f);
    pf_buf_free(&b);
    return rc;
}

/* The parts a split feed's index lists ({"parts":[{"path"}...]}). */
static int
count_parts(const struct pf_config *cfg, const char *index,
            struct pf_buf *b, const int64_t *bounds, size_t n,
            int64_t *counts, struct pf_err *err)
{
    cJSON *doc = cJSON_ParseWithLength(b->data, b->len);
    const cJSON *p, *path;
    int rc = 0;

    if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "parts"))) {
        pf_errf(err, "%s: no parts list", index);
        rc = -1;
    }
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(doc, "parts")) {
        char *full;

        path = cJSON_GetObjectItemCaseSensitive(p, "path");
        if (!cJSON_IsString(path) || strstr(path->valuestring, "..")) {
            pf_errf(err, "%s: a part without a path", index);
            rc = -1;
            break;
        }
        full = pf_path_join(cfg->feeds_dir, path->valuestring);
        rc = count_file(full, bounds, n, counts, err);
        free(full);
        if (rc != 0)
            break;
    }
    cJSON_Delete(doc);
    return rc;
}

int
verify_feed_count(const struct pf_config *cfg, const struct pf_feed_cfg *fc,
                  const int64_t *bounds, size_t n, int64_t *counts,
                  struct pf_err *err)
{
    char *rel = pf_names_index(fc->output);
    char *index = pf_path_join(cfg->feeds_dir, rel);
    char *out = pf_path_join(cfg->feeds_dir, fc->output);
    struct pf_buf b;
    int rc;

    memset(counts, 0, n * sizeof(*counts));
    pf_buf_init(&b);
    rc = fc->max_file_size > 0 ? slurp(index, &b, err) : 1;
    if (rc == 0)
        rc = count_parts(cfg, index, &b, bounds, n, counts, err);
    else if (rc > 0)
        rc = count_file(out, bounds, n, counts, err);
    if (rc != 0)
        pf_err_prefix(err, "feed %s", fc->name);
    pf_buf_free(&b);
    free(out);
    free(index);
    free(rel);
    return rc;
}
