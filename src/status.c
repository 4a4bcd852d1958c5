/* status.c - see status.h. */
#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"
#include "verify.h"

/* The first store error of a document, as "store_error": what was being
 * read and SQLite's message (never a path: status pages show it). */
static void
doc_error(cJSON *doc, sqlite3 *db, const char *what)
{
    char msg[256];

    if (cJSON_GetObjectItem(doc, "store_error") != NULL)
        return;
    snprintf(msg, sizeof(msg), "reading %s: %s", what, sqlite3_errmsg(db));
    cJSON_AddStringToObject(doc, "store_error", msg);
}

/* Steps st (NULL: it could not be prepared): 1 a row, 0 the end, -1 a
 * store error, recorded in doc. A damaged page ends a listing early; the
 * error says so instead of the page quietly showing less. */
static int
step(sqlite3 *db, sqlite3_stmt *st, cJSON *doc, const char *what)
{
    int rc = st != NULL ? sqlite3_step(st) : SQLITE_ERROR;

    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    doc_error(doc, db, what);
    return -1;
}

static int64_t
count_rows(sqlite3 *db, const char *sql, cJSON *doc, const char *what)
{
    sqlite3_stmt *st = NULL;
    int64_t n = -1;

    sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (step(db, st, doc, what) == 1)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* What the last publish of feed r left out: "left_out" in all and
 * "left_out_reasons" by reason ("missing image_link": 2), most first.
 * st selects them for a feed name. */
static void
add_left_out(sqlite3 *db, sqlite3_stmt *st, cJSON *r, cJSON *doc)
{
    cJSON *why = cJSON_CreateObject();
    double total = 0;

    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, cJSON_GetObjectItem(r, "name")->valuestring,
                      -1, SQLITE_TRANSIENT);
    while (step(db, st, doc, "left-out counts") == 1) {
        cJSON_AddNumberToObject(why,
                                (const char *)sqlite3_column_text(st, 0),
                                sqlite3_column_double(st, 1));
        total += sqlite3_column_double(st, 1);
    }
    cJSON_AddNumberToObject(r, "left_out", total);
    cJSON_AddItemToObject(r, "left_out_reasons", why);
}

/* The last `posfeed verify` as it was stored (no API is called), when
 * there was one. */
static void
add_verify(sqlite3 *db, cJSON *doc)
{
    cJSON *v = verify_stored(db);
    const cJSON *bad = cJSON_GetObjectItem(v, "store_error");

    if (cJSON_IsString(bad))
        doc_error(doc, db, "the last verify");
    if (v != NULL)
        cJSON_AddItemToObject(doc, "verify", v);
}

cJSON *
status_doc(const struct pf_config *cfg, struct store *s)
{
    static const char *const counts[][2] = {
        {"locations", "SELECT count(*) FROM locations"},
        {"categories", "SELECT count(*) FROM categories"},
        {"products", "SELECT count(*) FROM products"},
        {"variants", "SELECT count(*) FROM variants"},
        {"stock", "SELECT count(*) FROM stock"},
        {"customers", "SELECT count(*) FROM customers"},
        {"orders", "SELECT count(*) FROM orders"},
        {"order_lines", "SELECT count(*) FROM order_lines"},
    };
    sqlite3 *db = store_db(s);
    cJSON *doc = cJSON_CreateObject(), *o, *a, *r;
    sqlite3_stmt *st = NULL, *st2 = NULL;
    char tbuf[32];
    size_t i;

    cJSON_AddStringToObject(doc, "shop", cfg->shop_name);
    cJSON_AddStringToObject(doc, "store", cfg->store_path);
    o = cJSON_AddObjectToObject(doc, "counts");
    for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
        cJSON_AddNumberToObject(o, counts[i][0],
                                (double)count_rows(db, counts[i][1], doc,
                                                   counts[i][0]));
    add_verify(db, doc);

    a = cJSON_AddArrayToObject(doc, "runs");
    sqlite3_prepare_v2(db, "SELECT id, kind, started_at, ended_at, result, "
                       "error, warnings FROM runs ORDER BY id DESC LIMIT 10",
                       -1, &st, NULL);
    sqlite3_prepare_v2(db, "SELECT stream, rows, warnings FROM run_counts "
                       "WHERE run_id = ?1 ORDER BY stream", -1, &st2, NULL);
    while (step(db, st, doc, "runs") == 1) {
        cJSON *streams;

        r = cJSON_CreateObject();
        cJSON_AddNumberToObject(r, "id", sqlite3_column_double(st, 0));
        cJSON_AddStringToObject(r, "kind",
                                (const char *)sqlite3_column_text(st, 1));
        pf_time_iso_utc(sqlite3_column_int64(st, 2), tbuf);
        cJSON_AddStringToObject(r, "started", tbuf);
        /* A run's age is a difference of two stored numbers: only
         * times in range are subtracted, so no value can overflow. */
        if (sqlite3_column_type(st, 3) != SQLITE_NULL) {
            int64_t t0 = sqlite3_column_int64(st, 2);
            int64_t t1 = sqlite3_column_int64(st, 3);

            pf_time_iso_utc(t1, tbuf);
            cJSON_AddStringToObject(r, "ended", tbuf);
            if (pf_time_in_range(t0) && pf_time_in_range(t1))
                cJSON_AddNumberToObject(r, "seconds", (double)(t1 - t0));
        }
        cJSON_AddStringToObject(r, "result",
                                (const char *)sqlite3_column_text(st, 4));
        if (sqlite3_column_type(st, 5) != SQLITE_NULL)
            cJSON_AddStringToObject(r, "error",
                                    (const char *)sqlite3_column_text(st,
                                                                      5));
        cJSON_AddNumberToObject(r, "warnings", sqlite3_column_double(st, 6));
        streams = cJSON_AddObjectToObject(r, "rows");
        sqlite3_reset(st2);
        sqlite3_bind_int64(st2, 1, sqlite3_column_int64(st, 0));
        while (step(db, st2, doc, "run counts") == 1)
            cJSON_AddNumberToObject(streams,
                                    (const char *)sqlite3_column_text(st2,
                                                                      0),
                                    sqlite3_column_double(st2, 1));
        cJSON_AddItemToArray(a, r);
    }
    sqlite3_finalize(st);
    sqlite3_finalize(st2);

    o = cJSON_AddObjectToObject(doc, "bookmarks");
    st = NULL;
    sqlite3_prepare_v2(db, "SELECT stream, bookmark FROM sync_state "
                       "ORDER BY stream", -1, &st, NULL);
    while (step(db, st, doc, "bookmarks") == 1)
        cJSON_AddStringToObject(o, (const char *)sqlite3_column_text(st, 0),
                                sqlite3_column_text(st, 1)
                                    ? (const char *)sqlite3_column_text(st,
                                                                        1)
                                    : "");
    sqlite3_finalize(st);

    a = cJSON_AddArrayToObject(doc, "feeds");
    st = NULL;
    st2 = NULL;
    sqlite3_prepare_v2(db, "SELECT name, path, bytes, gz_bytes, items, "
                       "sha256, access, published_at, build_seconds "
                       "FROM feeds ORDER BY name", -1, &st, NULL);
    /* A store older than schema version 3, opened read-only, has no
     * such table: its feeds simply show no left-out counts. */
    if (sqlite3_prepare_v2(db, "SELECT reason, items FROM feed_left_out "
                           "WHERE feed = ?1 ORDER BY items DESC, reason",
                           -1, &st2, NULL) != SQLITE_OK)
        st2 = NULL;
    while (step(db, st, doc, "published feeds") == 1) {
        r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "name",
                                (const char *)sqlite3_column_text(st, 0));
        cJSON_AddStringToObject(r, "path",
                                (const char *)sqlite3_column_text(st, 1));
        cJSON_AddNumberToObject(r, "bytes", sqlite3_column_double(st, 2));
        cJSON_AddNumberToObject(r, "gz_bytes", sqlite3_column_double(st, 3));
        cJSON_AddNumberToObject(r, "items", sqlite3_column_double(st, 4));
        cJSON_AddStringToObject(r, "sha256",
                                (const char *)sqlite3_column_text(st, 5));
        cJSON_AddStringToObject(r, "access",
                                (const char *)sqlite3_column_text(st, 6));
        pf_time_iso_utc(sqlite3_column_int64(st, 7), tbuf);
        cJSON_AddStringToObject(r, "published", tbuf);
        cJSON_AddNumberToObject(r, "build_seconds",
                                sqlite3_column_double(st, 8));
        if (st2 != NULL)
            add_left_out(db, st2, r, doc);
        cJSON_AddItemToArray(a, r);
    }
    sqlite3_finalize(st);
    sqlite3_finalize(st2);
    status_push(doc, cfg, s);
    return doc;
}

/* Copies the listed members of src (those present) into dst. */
static void
keep(cJSON *dst, const cJSON *src, const char *const *keys)
{
    const cJSON *v;

    for (; *keys != NULL; keys++) {
        v = cJSON_GetObjectItemCaseSensitive(src, *keys);
        if (v != NULL)
            cJSON_AddItemToObject(dst, *keys, cJSON_Duplicate(v, 1));
    }
}

/* Each object of the array src, cut down to keys, into a new array;
 * public_only skips entries whose "access" is not "public" and counts
 * the feeds among them in *others: a split feed's extra files
 * ("NAME:part-K", "NAME:index") are not feeds of their own. */
static cJSON *
keep_each(const cJSON *src, const char *const *keys, int public_only,
          int *others)
{
    cJSON *a = cJSON_CreateArray(), *o;
    const cJSON *e, *acc, *name;

    cJSON_ArrayForEach(e, src) {
        acc = cJSON_GetObjectItemCaseSensitive(e, "access");
        name = cJSON_GetObjectItemCaseSensitive(e, "name");
        if (public_only && (!cJSON_IsString(acc) ||
                            strcmp(acc->valuestring, "public") != 0)) {
            if (!cJSON_IsString(name) ||
                strchr(name->valuestring, ':') == NULL)
                (*others)++;
            continue;
        }
        o = cJSON_CreateObject();
        keep(o, e, keys);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

cJSON *
status_public(const cJSON *full)
{
    static const char *const top[] = {"shop", NULL};
    static const char *const counts[] = {
        "locations", "categories", "products", "variants", "stock", NULL
    };
    static const char *const run[] = {
        "id", "kind", "started", "ended", "seconds", "result", "warnings",
        NULL
    };
    static const char *const feed[] = {
        "name", "path", "bytes", "gz_bytes", "items", "access", "published",
        "build_seconds", NULL
    };
    cJSON *doc = cJSON_CreateObject(), *o;
    int others = 0;

    keep(doc, full, top);
    o = cJSON_AddObjectToObject(doc, "counts");
    keep(o, cJSON_GetObjectItemCaseSensitive(full, "counts"), counts);
    cJSON_AddItemToObject(doc, "runs", keep_each(
        cJSON_GetObjectItemCaseSensitive(full, "runs"), run, 0, &others));
    cJSON_AddItemToObject(doc, "feeds", keep_each(
        cJSON_GetObjectItemCaseSensitive(full, "feeds"), feed, 1, &others));
    cJSON_AddNumberToObject(doc, "other_feeds", others);
    return doc;
}

cJSON *
status_orders_per_day(const struct pf_config *cfg, struct store *s,
                      int64_t now, int days)
{
    int64_t *start = NULL, *count = NULL, t;
    sqlite3_stmt *st = NULL;
    cJSON *a = NULL, *r;
    char date[40];
    int i, lo, hi, mid, rc;

    if (days < 1 || days > 366)
        return NULL;
    /* start[i] is local midnight of day i, oldest first; start[days] is
     * tomorrow's midnight, the end of today. */
    start = xcalloc((size_t)days + 1, sizeof(*start));
    count = xcalloc((size_t)days, sizeof(*count));
    for (i = 0; i < days; i++)
        if (pf_tz_start_of_span_ago(now, cfg->timezone, days - 1 - i,
                                    PF_SPAN_DAYS, &start[i], NULL) != 0)
            goto cleanup;
    /* Tomorrow: the first midnight after today's, found from a time
     * safely inside tomorrow (a local day lasts 23 to 25 hours). */
    if (pf_tz_start_of_span_ago(start[days - 1] + 36 * 3600,
                                cfg->timezone, 0, PF_SPAN_DAYS,
                                &start[days], NULL) != 0)
        goto cleanup;
    if (sqlite3_prepare_v2(store_db(s), "SELECT created_at, status FROM "
                           "orders WHERE created_at >= ?1 AND "
                           "created_at < ?2 AND refund_of IS NULL", -1, &st,
                           NULL) != SQLITE_OK)
        goto cleanup;
    sqlite3_bind_int64(st, 1, start[0]);
    sqlite3_bind_int64(st, 2, start[days]);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *status = (const char *)sqlite3_column_text(st, 1);

        if (cfg->sync.accepted_order_statuses.n > 0 &&
            (status == NULL ||
             !pf_strlist_has(&cfg->sync.accepted_order_statuses, status)))
            continue;
        t = sqlite3_column_int64(st, 0);
        lo = 0;
        hi = days - 1;
        while (lo < hi) {
            mid = (lo + hi + 1) / 2;
            if (start[mid] <= t)
                lo = mid;
            else
                hi = mid - 1;
        }
        count[lo]++;
    }
    if (rc != SQLITE_DONE)
        goto cleanup;           /* a store error: no half-counted days */
    a = cJSON_CreateArray();
    for (i = 0; i < days; i++) {
        r = cJSON_CreateObject();
        if (pf_time_iso_local(start[i], cfg->timezone, date) != 0)
            date[0] = '\0';
        date[10] = '\0';
        cJSON_AddStringToObject(r, "date", date);
        cJSON_AddNumberToObject(r, "orders", (double)count[i]);
        cJSON_AddItemToArray(a, r);
    }
cleanup:
    sqlite3_finalize(st);
    free(start);
    free(count);
    return a;
}

const char *
status_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);

    return cJSON_IsString(v) ? v->valuestring : "";
}

double
status_num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);

    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}
