/* verify_klaviyo.c - the Klaviyo column of `posfeed verify`: how many
 * Placed Order events Klaviyo itself reports per shop-local day, and the
 * account's timezone. Three kinds of call, each within its documented
 * rate limit through the shared client (klaviyo.h):
 *
 *   GET /api/accounts          the account's timezone (1/s, 15/min)
 *   GET /api/metrics           the Placed Order metric's id, following
 *                              links.next
 *   POST /api/metric-aggregates  count per day over the whole range, in
 *                              the SHOP's timezone (3/s, 60/min)
 *
 * Request and answer shapes: developers.klaviyo.com, reference pages
 * get_accounts, get_metrics and query_metric_aggregates (revision
 * 2026-10-15), summarized in the output-formats reference, 2.5.
 */
#include "verify_int.h"

#include <stdlib.h>
#include <string.h>

#include "klaviyo.h"
#include "log.h"
#include "timeutil.h"

#define METRIC "Placed Order"
#define MAX_METRIC_PAGES 100

static const cJSON *
attrs_of(const cJSON *res)
{
    return cJSON_GetObjectItemCaseSensitive(res, "attributes");
}

static int
account_tz(struct klaviyo *k, char **tz, struct pf_err *err)
{
    cJSON *doc = NULL;
    const cJSON *t;

    if (klaviyo_call(k, "GET", "/api/accounts", NULL, 0, &doc, NULL, NULL,
                     err) < 0)
        return -1;
    t = cJSON_GetObjectItemCaseSensitive(attrs_of(cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(doc, "data"), 0)), "timezone");
    *tz = cJSON_IsString(t) ? xstrdup(t->valuestring) : NULL;
    cJSON_Delete(doc);
    return 0;
}

/* Picks the Placed Order metric: the one of Klaviyo's API integration
 * (where events posfeed sends land) when the account has several (a
 * shop platform's own, say), else the first of that name. */
static void
consider(const cJSON *m, char **id, int *api)
{
    const cJSON *a = attrs_of(m);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(a, "name");
    const cJSON *integ = cJSON_GetObjectItemCaseSensitive(a, "integration");
    const cJSON *iname = cJSON_GetObjectItemCaseSensitive(integ, "name");
    const cJSON *mid = cJSON_GetObjectItemCaseSensitive(m, "id");
    int is_api = cJSON_IsString(iname) &&
                 strcmp(iname->valuestring, "API") == 0;

    if (!cJSON_IsString(name) || strcmp(name->valuestring, METRIC) != 0 ||
        !cJSON_IsString(mid) || (*id != NULL && (*api || !is_api)))
        return;
    free(*id);
    *id = xstrdup(mid->valuestring);
    *api = is_api;
}

/* *id NULL when the account has no Placed Order metric (nothing was
 * ever sent). */
static int
metric_id(struct klaviyo *k, char **id, struct pf_err *err)
{
    char *path = xstrdup("/api/metrics");
    const cJSON *m;
    cJSON *doc;
    int pages = 0, api = 0;

    *id = NULL;
    while (path != NULL && pages++ < MAX_METRIC_PAGES) {
        doc = NULL;
        if (klaviyo_call(k, "GET", path, NULL, 0, &doc, NULL, NULL,
                         err) < 0) {
            free(path);
            free(*id);
            *id = NULL;
            return -1;
        }
        cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(doc, "data"))
            consider(m, id, &api);
        free(path);
        path = klaviyo_next_path(doc);
        cJSON_Delete(doc);
    }
    free(path);
    return 0;
}

static char *
aggregate_body(const char *metric, const int64_t *bounds, size_t n,
               const char *tz)
{
    char lo[32], hi[32];
    cJSON *doc = cJSON_CreateObject(), *data, *a, *f;
    char *s;

    pf_time_iso_utc(bounds[0], lo);
    pf_time_iso_utc(bounds[n], hi);
    data = cJSON_AddObjectToObject(doc, "data");
    cJSON_AddStringToObject(data, "type", "metric-aggregate");
    a = cJSON_AddObjectToObject(data, "attributes");
    cJSON_AddStringToObject(a, "metric_id", metric);
    cJSON_AddItemToObject(a, "measurements", cJSON_CreateArray());
    cJSON_AddItemToArray(cJSON_GetObjectItem(a, "measurements"),
                         cJSON_CreateString("count"));
    cJSON_AddStringToObject(a, "interval", "day");
    cJSON_AddNumberToObject(a, "page_size", 500);
    f = cJSON_AddArrayToObject(a, "filter");
    s = xasprintf("greater-or-equal(datetime,%s)", lo);
    cJSON_AddItemToArray(f, cJSON_CreateString(s));
    free(s);
    s = xasprintf("less-than(datetime,%s)", hi);
    cJSON_AddItemToArray(f, cJSON_CreateString(s));
    free(s);
    cJSON_AddStringToObject(a, "timezone", tz);
    s = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    return s;
}

/* data.attributes.dates[i] (the start of a day in tz) pairs with
 * data.attributes.data[0].measurements.count[i]. A date is matched by
 * its calendar day, the part before "T", which is the shop's day since
 * the query named the shop's timezone. */
static int
read_counts(const cJSON *doc, const struct pf_config *cfg,
            const int64_t *bounds, size_t n, int64_t *counts,
            struct pf_err *err)
{
    const cJSON *a = attrs_of(cJSON_GetObjectItemCaseSensitive(doc,
                                                               "data"));
    const cJSON *dates = cJSON_GetObjectItemCaseSensitive(a, "dates");
    const cJSON *vals = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(a, "data"),
                               0), "measurements"), "count");
    char (*day)[40];
    const cJSON *dt, *v;
    size_t d;
    int i;

    if (!cJSON_IsArray(dates)) {
        pf_errf(err, "klaviyo: metric-aggregates: no dates in the answer");
        return -1;
    }
    day = xcalloc(n, sizeof(*day));
    for (d = 0; d < n; d++)
        pf_time_iso_local(bounds[d], cfg->timezone, day[d]);
    for (i = 0; i < cJSON_GetArraySize(dates); i++) {
        dt = cJSON_GetArrayItem(dates, i);
        v = cJSON_GetArrayItem(vals, i);
        if (!cJSON_IsString(dt) || !cJSON_IsNumber(v) ||
            v->valuedouble < 0 || v->valuedouble > 1e15)
            continue;
        for (d = 0; d < n; d++)
            if (day[d][0] != '\0' &&
                strncmp(day[d], dt->valuestring, 10) == 0)
                counts[d] += (int64_t)v->valuedouble;
    }
    free(day);
    return 0;
}

static int
aggregate(struct klaviyo *k, const struct pf_config *cfg, const char *id,
          const int64_t *bounds, size_t n, int64_t *counts,
          struct pf_err *err)
{
    char *body = aggregate_body(id, bounds, n, cfg->timezone);
    cJSON *doc = NULL;
    int rc = -1;

    if (klaviyo_call(k, "POST", "/api/metric-aggregates", body,
                     strlen(body), &doc, NULL, NULL, err) >= 0)
        rc = read_counts(doc, cfg, bounds, n, counts, err);
    cJSON_Delete(doc);
    free(body);
    return rc;
}

int
verify_klaviyo_count(const struct pf_config *cfg,
                     const struct http_opts *http, const int64_t *bounds,
                     size_t n, int64_t *counts, char **tz, char **warning,
                     struct pf_err *err)
{
    /* verify is a report a person waits for: an API that is down fails
     * it within seconds (run it again later) instead of after the push's
     * minutes of backoff. */
    static const struct http_opts quick = {
        .timeout_s = 20, .max_attempts = 3, .retry_budget_s = 20
    };
    const struct pf_push_klaviyo *kc = &cfg->klaviyo;
    struct klaviyo_opts o = {0};
    struct klaviyo *k = NULL;
    char *key = NULL, *id = NULL;
    int rc = -1;

    memset(counts, 0, n * sizeof(*counts));
    *tz = *warning = NULL;
    if (pf_secret_read(&kc->api_key, &key, err) != 0) {
        pf_err_prefix(err, "[push klaviyo] api_key");
        return -1;
    }
    o.api_url = kc->api_url;
    o.api_key = key;
    o.revision = kc->revision != NULL ? kc->revision : PF_KLAVIYO_REVISION;
    o.http = http != NULL ? http : &quick;
    if (klaviyo_open(&o, &k, err) != 0 || account_tz(k, tz, err) != 0 ||
        metric_id(k, &id, err) != 0)
        goto cleanup;
    if (id != NULL && aggregate(k, cfg, id, bounds, n, counts, err) != 0)
        goto cleanup;
    rc = 0;
cleanup:
    if (k != NULL && klaviyo_warning(k) != NULL)
        *warning = xstrdup(klaviyo_warning(k));
    if (k != NULL)
        klaviyo_close(k);
    if (key != NULL)
        memset(key, 0, strlen(key));
    free(key);
    free(id);
    return rc;
}
