/* source_lse_quirks.c - the Lightspeed eCom API's shapes, normalized in
 * one place (see source_lse.h). */
#include "source_lse.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"
#include "value.h"

cJSON *
lse_list(cJSON *obj, const char *plural, const char *singular)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, plural), *arr;

    if (cJSON_IsArray(v))
        return v;
    arr = cJSON_CreateArray();
    v = singular != NULL
        ? cJSON_DetachItemFromObjectCaseSensitive(obj, singular) : NULL;
    if (cJSON_IsObject(v))
        cJSON_AddItemToArray(arr, v);
    else
        cJSON_Delete(v);
    /* Anything else under the plural key ("", false, an object of
     * objects) is replaced: there were no records we can read. */
    cJSON_DeleteItemFromObjectCaseSensitive(obj, plural);
    cJSON_AddItemToObject(obj, plural, arr);
    return arr;
}

/* A number as text: whole ones without a fraction. */
static const char *
num_text(double d, char *buf)
{
    if (d == floor(d) && fabs(d) < 9.0e15)
        snprintf(buf, 64, "%" PRId64, (int64_t)d);
    else
        snprintf(buf, 64, "%.17g", d);
    return buf;
}

const char *
lse_str(const cJSON *obj, const char *key, char *buf)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (cJSON_IsString(v))
        return v->valuestring[0] != '\0' ? v->valuestring : NULL;
    if (cJSON_IsNumber(v))
        return num_text(v->valuedouble, buf);
    if (cJSON_IsTrue(v))
        return "true";
    return NULL;
}

const char *
lse_ref(const cJSON *obj, const char *key, char *buf)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key), *r;
    const char *id;

    if (cJSON_IsObject(v)) {
        r = cJSON_GetObjectItemCaseSensitive(v, "resource");
        if (cJSON_IsObject(r))
            v = r;
        id = lse_str(v, "id", buf);
    }
    else if (cJSON_IsNumber(v) || cJSON_IsString(v)) {
        id = lse_str(obj, key, buf);
    }
    else {
        return NULL;            /* false, null, missing, a list */
    }
    return id != NULL && strcmp(id, "0") != 0 && strcmp(id, "true") != 0
        ? id : NULL;
}

int
lse_bool(const cJSON *obj, const char *key, int dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (v == NULL || cJSON_IsNull(v) ||
        (cJSON_IsString(v) && v->valuestring[0] == '\0'))
        return dflt;
    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v);
    if (cJSON_IsNumber(v))
        return v->valuedouble == 1 ? 1 : v->valuedouble == 0 ? 0 : -1;
    if (strcmp(v->valuestring, "true") == 0 ||
        strcmp(v->valuestring, "1") == 0)
        return 1;
    if (strcmp(v->valuestring, "false") == 0 ||
        strcmp(v->valuestring, "0") == 0)
        return 0;
    return -1;
}

int
lse_int(const cJSON *obj, const char *key, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    char *end;
    double d;

    if (v == NULL || cJSON_IsNull(v) ||
        (cJSON_IsString(v) && v->valuestring[0] == '\0'))
        return 0;
    if (cJSON_IsBool(v)) {
        *out = cJSON_IsTrue(v);
        return 1;
    }
    if (cJSON_IsNumber(v))
        d = v->valuedouble;
    else if (cJSON_IsString(v))
        d = strtod(v->valuestring, &end);
    else
        return -1;
    if (cJSON_IsString(v) && (end == v->valuestring || *end != '\0'))
        return -1;
    if (!isfinite(d) || d != floor(d) || fabs(d) > 9.0e15)
        return -1;
    *out = (int64_t)d;
    return 1;
}

int
lse_money(const cJSON *obj, const char *key, int decimals, int64_t *minor)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    double d, scale = pow(10, decimals);
    char *end;

    if (v == NULL || cJSON_IsNull(v) || cJSON_IsFalse(v) ||
        (cJSON_IsString(v) && v->valuestring[0] == '\0'))
        return 0;
    if (cJSON_IsNumber(v))
        d = v->valuedouble;
    else if (cJSON_IsString(v)) {
        d = strtod(v->valuestring, &end);
        if (end == v->valuestring || *end != '\0')
            return -1;
    }
    else
        return -1;
    /* Prices come as "12.5000" or 12.5: four decimals at most, so a
     * double holds them exactly enough to round to minor units. */
    if (!isfinite(d) || fabs(d) * scale > (double)STORE_MAX_MONEY)
        return -1;
    *minor = (int64_t)(d < 0 ? -floor(-d * scale + 0.5)
                             : floor(d * scale + 0.5));
    return store_money_ok(*minor) ? 1 : -1;
}

int
lse_time(const cJSON *obj, const char *key, int64_t *out)
{
    char buf[64];
    const char *s = lse_str(obj, key, buf);

    if (s == NULL)
        return 0;
    /* pf_time_parse reads the offset the shop's times carry and takes a
     * time without one as UTC, as the API's filters do. */
    return pf_time_parse(s, out, NULL) == 0 ? 1 : -1;
}

const char *
lse_error_message(const char *body, size_t len, char *buf, size_t bufsz)
{
    cJSON *d = body != NULL ? cJSON_ParseWithLength(body, len) : NULL;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(d, "error");
    char nb[64];
    const char *m = NULL;

    if (cJSON_IsObject(e))
        m = lse_str(e, "message", nb);
    else if (cJSON_IsString(e) && e->valuestring[0] != '\0')
        m = e->valuestring;
    if (m != NULL)
        snprintf(buf, bufsz, "%s", m);
    cJSON_Delete(d);
    return m != NULL ? buf : NULL;
}

int
lse_image_size_ok(const char *s)
{
    int w, h, z, n = 0;

    if (s == NULL || sscanf(s, "%4dx%4dx%1d%n", &w, &h, &z, &n) != 3 ||
        s[n] != '\0' || s[0] < '1' || s[0] > '9')
        return 0;
    return w >= 1 && w <= 5000 && h >= 1 && h <= 5000 && z >= 1 && z <= 3;
}

char *
lse_image_url(const char *src, const char *size)
{
    const char *slash, *q;

    if (size == NULL)
        return xstrdup(src);
    /* The file name is the last path segment (before any query). */
    q = src + strcspn(src, "?#");
    for (slash = q; slash > src && slash[-1] != '/'; slash--)
        ;
    if (slash == src || strstr(src, "://") == NULL ||
        slash <= strstr(src, "://") + 3)
        return xstrdup(src);
    return xasprintf("%.*s%s/%s", (int)(slash - src), src, size, slash);
}

int
lse_bookmark_parse(const char *s, int64_t *since, int64_t *last_id,
                   int64_t *newest)
{
    int n = 0;

    if (s == NULL || sscanf(s, "%" SCNd64 "|%" SCNd64 "|%" SCNd64 "%n",
                            since, last_id, newest, &n) != 3 ||
        s[n] != '\0' || *since < 0 || *last_id < 0 || *newest < 0)
        return -1;
    return 0;
}
