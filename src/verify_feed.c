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

/* A JSON array of events, or NDJSON (one per line). */
static int
count_text(const char *path, char *text, size_t len, const int64_t *bounds,
           size_t n, int64_t *counts, struct pf_err *err)
{
    size_t i = strspn(text, " \t\r\n");
    long line = 0;
    cJSON *doc, *ev;
    char *p, *nl;

    if (i < len && text[i] == '[') {
        doc = cJSON_ParseWithLength(text, len);
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
    for (p = text; p < text + len; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(text + len - p));
        if (nl == NULL)
            nl = text + len;
        *nl = '\0';
        line++;
        if (p[strspn(p, " \t\r")] == '\0')
            continue;
        doc = cJSON_Parse(p);
        if (!cJSON_IsObject(doc)) {
            cJSON_Delete(doc);
            pf_errf(err, "%s:%ld: not a JSON object", path, line);
            return -1;
        }
        count_event(doc, bounds, n, counts);
        cJSON_Delete(doc);
    }
    return 0;
}

static int
count_file(const char *path, const int64_t *bounds, size_t n,
           int64_t *counts, struct pf_err *err)
{
    struct pf_buf b;
    int rc;

    pf_buf_init(&b);
    rc = slurp(path, &b, err);
    if (rc > 0)
        pf_errf(err, "%s: not published yet: run `posfeed build`", path);
    else if (rc == 0)
        rc = count_text(path, b.data != NULL ? b.data : (char *)"", b.len,
                        bounds, n, counts, err);
    pf_buf_free(&b);
    return rc == 0 ? 0 : -1;
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
