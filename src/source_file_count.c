/* source_file_count.c - `posfeed verify`'s count of the orders in the
 * file source's orders.ndjson per shop-local day (source.h's
 * count_orders), read from the file itself, not the store.
 *
 * An order counts as sync would store it: a JSON object with an id
 * (string or whole number), a status, a readable created_at and a total;
 * a repeated id is one order, at the time of its last row (the import
 * upserts). Lines sync would refuse are not counted; verify compares
 * what should have landed with what did.
 */
#include "source_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "ndjson.h"
#include "source.h"
#include "timeutil.h"

/* One order of the file within the days asked about. */
struct counted {
    char *id;
    int64_t at;
    long line;          /* the later row of a repeated id wins */
};

/* A JSON number that is a whole number within int64 (casting any
 * other double would be undefined). */
static int
whole(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble >= -9.2e18 &&
           v->valuedouble <= 9.2e18 &&
           v->valuedouble == (double)(int64_t)v->valuedouble;
}

/* The order's id as the import writes it; 0 when it has none. */
static int
row_id(const cJSON *v, char out[64], const char **id)
{
    if (cJSON_IsString(v) && v->valuestring[0] != '\0') {
        *id = v->valuestring;
        return 1;
    }
    if (whole(v)) {
        snprintf(out, 64, "%lld", (long long)v->valuedouble);
        *id = out;
        return 1;
    }
    return 0;
}

/* created_at as the import reads it: ISO 8601 or whole epoch seconds. */
static int
row_time(const cJSON *v, int64_t *at)
{
    struct pf_err e;

    if (cJSON_IsNumber(v)) {
        *at = whole(v) ? (int64_t)v->valuedouble : 0;
        return whole(v) && pf_time_in_range(*at);
    }
    return cJSON_IsString(v) && pf_time_parse(v->valuestring, at, &e) == 0;
}

/* 1 when the line is an order sync would store, with its id and time. */
static int
order_of(const char *line, char idbuf[64], char **id, int64_t *at)
{
    cJSON *root = cJSON_ParseWithOpts(line, NULL, 1);
    const cJSON *status;
    const char *s;
    int ok = 0;

    if (!cJSON_IsObject(root))
        goto cleanup;
    status = cJSON_GetObjectItemCaseSensitive(root, "status");
    if (!row_id(cJSON_GetObjectItemCaseSensitive(root, "id"), idbuf, &s) ||
        !cJSON_IsString(status) || status->valuestring[0] == '\0' ||
        !row_time(cJSON_GetObjectItemCaseSensitive(root, "created_at"),
                  at) ||
        cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(root, "total")) ||
        cJSON_GetObjectItemCaseSensitive(root, "total") == NULL)
        goto cleanup;
    *id = xstrdup(s);
    ok = 1;
cleanup:
    cJSON_Delete(root);
    return ok;
}

static int
by_id_then_line(const void *a, const void *b)
{
    const struct counted *x = a, *y = b;
    int c = strcmp(x->id, y->id);

    return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

/* Every order of the file (any time: a later row may move it into or out
 * of the window); *out owned by the caller. */
static int
read_orders(const char *path, size_t max_line, struct counted **out,
            size_t *n, struct pf_err *err)
{
    struct ndjson_reader *rd = NULL;
    struct counted *v = NULL;
    size_t cap = 0, len;
    char *line, idbuf[64];
    int r, rc = -1;

    *n = 0;
    r = ndjson_open(path, max_line, &rd, err);
    if (r != 0) {
        rc = r > 0 ? 0 : -1;        /* no orders file: no orders */
        goto cleanup;
    }
    while ((r = ndjson_next(rd, &line, &len, err)) != NDJSON_EOF) {
        if (r == NDJSON_ERROR)
            goto cleanup;
        if (r != NDJSON_LINE || strlen(line) != len)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            v = xrealloc(v, cap * sizeof(*v));
        }
        if (order_of(line, idbuf, &v[*n].id, &v[*n].at)) {
            v[*n].line = ndjson_line_number(rd);
            (*n)++;
        }
    }
    rc = 0;
cleanup:
    ndjson_close(rd);
    *out = v;
    return rc;
}

int
source_file_count_orders(const struct pf_config *cfg, const int64_t *bounds,
                         size_t ndays, int64_t *counts, struct pf_err *err)
{
    char *path = pf_path_join(pf_source_str(&cfg->source, "path"),
                              "orders.ndjson");
    struct counted *v = NULL;
    size_t n = 0, i, d;
    int rc = -1;

    memset(counts, 0, ndays * sizeof(*counts));
    if (read_orders(path,
                    (size_t)pf_source_size(&cfg->source, "max_line"), &v,
                    &n, err) != 0) {
        pf_err_prefix(err, "file source %s", path);
        goto cleanup;
    }
    qsort(v, n, sizeof(*v), by_id_then_line);
    for (i = 0; i < n; i++) {
        if (i + 1 < n && strcmp(v[i].id, v[i + 1].id) == 0)
            continue;               /* a later row of the id replaces it */
        for (d = 0; d < ndays; d++)
            if (v[i].at >= bounds[d] && v[i].at < bounds[d + 1])
                counts[d]++;
    }
    rc = 0;
cleanup:
    for (i = 0; i < n; i++)
        free(v[i].id);
    free(v);
    free(path);
    return rc;
}
