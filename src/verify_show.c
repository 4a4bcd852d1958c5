/* verify_show.c - a verify report as JSON, as a table for people, and
 * kept in the store (verify_run, verify_days) for the status page. See
 * verify.h.
 */
#include "verify_int.h"

#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "timeutil.h"

/* A column's value: the count, "-" (not applicable) or "?" (unread). */
static void
add_count(cJSON *o, const char *key, int64_t v)
{
    if (v >= 0)
        cJSON_AddNumberToObject(o, key, (double)v);
    else
        cJSON_AddStringToObject(o, key, v == VERIFY_NA ? "-" : "?");
}

static void
add_opt(cJSON *o, const char *key, const char *s)
{
    if (s != NULL)
        cJSON_AddStringToObject(o, key, s);
}

static cJSON *
doc_head(int64_t run_at, const char *tz, const char *feed,
         const char *ktz, const char *warning, const char *error,
         int64_t flagged)
{
    cJSON *doc = cJSON_CreateObject();
    char t[32];

    pf_time_iso_utc(run_at, t);
    cJSON_AddStringToObject(doc, "run_at", t);
    cJSON_AddStringToObject(doc, "timezone", tz);
    add_opt(doc, "feed", feed);
    add_opt(doc, "klaviyo_timezone", ktz);
    add_opt(doc, "warning", warning);
    add_opt(doc, "error", error);
    cJSON_AddNumberToObject(doc, "flagged_days", (double)flagged);
    cJSON_AddArrayToObject(doc, "days");
    return doc;
}

static void
doc_day(cJSON *doc, const struct verify_day *d)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "date", d->date);
    add_count(o, "pos", d->pos);
    add_count(o, "store", d->store);
    add_count(o, "store_all", d->store_all);
    add_count(o, "feed", d->feed);
    add_count(o, "sent", d->sent);
    add_count(o, "klaviyo", d->klaviyo);
    add_opt(o, "explained", d->explained);
    add_opt(o, "flagged", d->flagged);
    cJSON_AddItemToArray(cJSON_GetObjectItem(doc, "days"), o);
}

cJSON *
verify_json(const struct verify_report *r)
{
    cJSON *doc = doc_head(r->run_at, r->timezone, r->feed, r->klaviyo_tz,
                          r->warning, r->error, (int64_t)r->nflagged);
    size_t d;

    for (d = 0; d < r->ndays; d++)
        doc_day(doc, &r->days[d]);
    return doc;
}

static const char *
cell(const cJSON *day, const char *key, char buf[24])
{
    const cJSON *v = cJSON_GetObjectItem(day, key);

    if (cJSON_IsNumber(v)) {
        snprintf(buf, 24, "%.0f", v->valuedouble);
        return buf;
    }
    return cJSON_IsString(v) ? v->valuestring : "";
}

void
verify_print(const cJSON *doc, FILE *out)
{
    static const char *const cols[] = {
        "pos", "store", "feed", "sent", "klaviyo"
    };
    struct table *t = table_new();
    const cJSON *day, *s;
    char buf[24];
    size_t i;

    fprintf(out, "Orders per day in %s (verified %s):\n",
            cJSON_GetStringValue(cJSON_GetObjectItem(doc, "timezone")),
            cJSON_GetStringValue(cJSON_GetObjectItem(doc, "run_at")));
    table_row(t, 0, "  ", "lrrrrrl");
    table_cell(t, "day");
    for (i = 0; i < 5; i++)
        table_cell(t, "%s", cols[i]);
    cJSON_ArrayForEach(day, cJSON_GetObjectItem(doc, "days")) {
        s = cJSON_GetObjectItem(day, "flagged");
        table_row(t, 0, "  ", "lrrrrrl");
        table_cell(t, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(
                                day, "date")));
        for (i = 0; i < 5; i++)
            table_cell(t, "%s", cell(day, cols[i], buf));
        table_cell(t, "%s", cJSON_IsString(s) ? "FLAGGED" : "ok");
    }
    table_print(t, out);
    table_free(t);
    cJSON_ArrayForEach(day, cJSON_GetObjectItem(doc, "days")) {
        s = cJSON_GetObjectItem(day, "explained");
        if (cJSON_IsString(s))
            fprintf(out, "  %s: %s\n", cJSON_GetStringValue(
                        cJSON_GetObjectItem(day, "date")), s->valuestring);
        s = cJSON_GetObjectItem(day, "flagged");
        if (cJSON_IsString(s))
            fprintf(out, "  %s FLAGGED: %s\n", cJSON_GetStringValue(
                        cJSON_GetObjectItem(day, "date")), s->valuestring);
    }
}

/* ---- the stored last result -------------------------------------------- */

static void
bind_opt(sqlite3_stmt *st, int i, const char *s)
{
    if (s != NULL)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static int
save_run(struct store *s, const struct verify_report *r, struct pf_err *err)
{
    sqlite3_stmt *st = store_stmt(s, "INSERT OR REPLACE INTO verify_run("
                                  "id, run_at, timezone, feed, "
                                  "klaviyo_timezone, warning, error, "
                                  "flagged) VALUES (1, ?1, ?2, ?3, ?4, ?5, "
                                  "?6, ?7)", err);
    int rc;

    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, r->run_at);
    bind_opt(st, 2, r->timezone);
    bind_opt(st, 3, r->feed);
    bind_opt(st, 4, r->klaviyo_tz);
    bind_opt(st, 5, r->warning);
    bind_opt(st, 6, r->error);
    sqlite3_bind_int64(st, 7, (int64_t)r->nflagged);
    rc = store_step(s, st, err, "recording the verify run");
    sqlite3_reset(st);
    return rc < 0 ? -1 : 0;
}

static int
save_day(struct store *s, const struct verify_day *d, struct pf_err *err)
{
    sqlite3_stmt *st = store_stmt(s, "INSERT INTO verify_days(date, "
                                  "start_at, end_at, pos, store_all, store,"
                                  " feed, sent, klaviyo, explained, "
                                  "flagged) VALUES (?1, ?2, ?3, ?4, ?5, "
                                  "?6, ?7, ?8, ?9, ?10, ?11)", err);
    int rc;

    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, d->date, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, d->start);
    sqlite3_bind_int64(st, 3, d->end);
    sqlite3_bind_int64(st, 4, d->pos);
    sqlite3_bind_int64(st, 5, d->store_all);
    sqlite3_bind_int64(st, 6, d->store);
    sqlite3_bind_int64(st, 7, d->feed);
    sqlite3_bind_int64(st, 8, d->sent);
    sqlite3_bind_int64(st, 9, d->klaviyo);
    bind_opt(st, 10, d->explained);
    bind_opt(st, 11, d->flagged);
    rc = store_step(s, st, err, "recording verify day %s", d->date);
    sqlite3_reset(st);
    return rc < 0 ? -1 : 0;
}

int
verify_save(struct store *s, const struct verify_report *r,
            struct pf_err *err)
{
    size_t d;

    if (store_begin(s, err) != 0)
        return -1;
    if (store_exec(s, "DELETE FROM verify_days", err) != 0 ||
        save_run(s, r, err) != 0)
        goto fail;
    for (d = 0; d < r->ndays; d++)
        if (save_day(s, &r->days[d], err) != 0)
            goto fail;
    return store_commit(s, err);
fail:
    store_rollback(s);
    return -1;
}

static const char *
col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* The stored days, oldest first, into doc. */
static int
stored_days(sqlite3 *db, cJSON *doc)
{
    sqlite3_stmt *st = NULL;
    struct verify_day d;
    int rc;

    if (sqlite3_prepare_v2(db, "SELECT date, pos, store_all, store, feed, "
                           "sent, klaviyo, explained, flagged FROM "
                           "verify_days ORDER BY start_at", -1, &st,
                           NULL) != SQLITE_OK)
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        memset(&d, 0, sizeof(d));
        snprintf(d.date, sizeof(d.date), "%s", col_text(st, 0));
        d.pos = sqlite3_column_int64(st, 1);
        d.store_all = sqlite3_column_int64(st, 2);
        d.store = sqlite3_column_int64(st, 3);
        d.feed = sqlite3_column_int64(st, 4);
        d.sent = sqlite3_column_int64(st, 5);
        d.klaviyo = sqlite3_column_int64(st, 6);
        d.explained = (char *)col_text(st, 7);
        d.flagged = (char *)col_text(st, 8);
        doc_day(doc, &d);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

cJSON *
verify_stored(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    cJSON *doc = NULL;

    /* A store from before verify (or before schema version 5, opened
     * read-only) has no such table: nothing to show. */
    if (sqlite3_prepare_v2(db, "SELECT run_at, timezone, feed, "
                           "klaviyo_timezone, warning, error, flagged FROM "
                           "verify_run WHERE id = 1", -1, &st,
                           NULL) != SQLITE_OK)
        return NULL;
    if (sqlite3_step(st) == SQLITE_ROW) {
        doc = doc_head(sqlite3_column_int64(st, 0), col_text(st, 1),
                       col_text(st, 2), col_text(st, 3), col_text(st, 4),
                       col_text(st, 5), sqlite3_column_int64(st, 6));
        if (stored_days(db, doc) != 0)
            cJSON_AddStringToObject(doc, "store_error",
                                    sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    return doc;
}
