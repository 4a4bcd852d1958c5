/* status_push.c - the push figures of the status document (status.h):
 * per metric and for profiles, what is pending, sent, failed (with
 * Klaviyo's latest reasons) and skipped (by reason), the last push, its
 * error and Klaviyo's deprecation warning, and the lag from sale to
 * acceptance. Read from the push ledger (store_push.c). */
#include "status.h"

#include <stdio.h>
#include <string.h>

#include "timeutil.h"

/* How many reasons a metric shows: the latest few are enough to act on,
 * the ledger has them all. */
#define STATUS_PUSH_REASONS 3

/* The object of metric m in ms, created with zero counts. */
static cJSON *
metric_obj(cJSON *ms, const char *m)
{
    cJSON *o = cJSON_GetObjectItemCaseSensitive(ms, m);

    if (o != NULL)
        return o;
    o = cJSON_AddObjectToObject(ms, m);
    cJSON_AddNumberToObject(o, "pending", 0);
    cJSON_AddNumberToObject(o, "sent", 0);
    cJSON_AddNumberToObject(o, "failed", 0);
    cJSON_AddObjectToObject(o, "skipped");
    cJSON_AddArrayToObject(o, "reasons");
    return o;
}

static void
set_num(cJSON *o, const char *k, double v)
{
    cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(o, k), v);
}

/* Runs sql (?1 = target) and hands each row to fn. 0, or -1 when the
 * statement could not be prepared (an older store has no ledger). */
static int
each_row(sqlite3 *db, const char *sql, void (*fn)(cJSON *, sqlite3_stmt *),
         cJSON *ms)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, "klaviyo", -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW)
        fn(ms, st);
    sqlite3_finalize(st);
    return 0;
}

static void
row_state(cJSON *ms, sqlite3_stmt *st)
{
    cJSON *o = metric_obj(ms, (const char *)sqlite3_column_text(st, 0));

    set_num(o, (const char *)sqlite3_column_text(st, 1),
            sqlite3_column_double(st, 2));
}

static void
row_skipped(cJSON *ms, sqlite3_stmt *st)
{
    cJSON *o = metric_obj(ms, (const char *)sqlite3_column_text(st, 0));

    cJSON_AddNumberToObject(cJSON_GetObjectItemCaseSensitive(o, "skipped"),
                            (const char *)sqlite3_column_text(st, 1),
                            sqlite3_column_double(st, 2));
}

static void
row_reason(cJSON *ms, sqlite3_stmt *st)
{
    cJSON *o = metric_obj(ms, (const char *)sqlite3_column_text(st, 0));
    cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "reasons");
    char line[600];

    if (cJSON_GetArraySize(a) >= STATUS_PUSH_REASONS)
        return;
    snprintf(line, sizeof(line), "%s: %s", sqlite3_column_text(st, 1),
             sqlite3_column_text(st, 2));
    cJSON_AddItemToArray(a, cJSON_CreateString(line));
}

/* Seconds from the newest sale sent to its acceptance: how far behind
 * Klaviyo is (the native integration: seconds). */
static void
add_lag(cJSON *k, sqlite3 *db)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(db, "SELECT sent_at - item_time FROM push_items "
                           "WHERE target = ?1 AND kind = 'event' AND "
                           "state = 'sent' AND item_time IS NOT NULL "
                           "ORDER BY item_time DESC LIMIT 1", -1, &st,
                           NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(st, 1, "klaviyo", -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        cJSON_AddNumberToObject(k, "lag_seconds",
                                sqlite3_column_double(st, 0));
    sqlite3_finalize(st);
}

/* push.klaviyo.last / .error / .warning from sync_state. */
static void
add_bookmarks(cJSON *k, sqlite3 *db)
{
    static const char *const keys[][2] = {
        {"push.klaviyo.last", "last_push"},
        {"push.klaviyo.error", "error"},
        {"push.klaviyo.warning", "warning"},
    };
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(db, "SELECT bookmark FROM sync_state WHERE "
                           "stream = ?1", -1, &st, NULL) != SQLITE_OK)
        return;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, keys[i][0], -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW &&
            sqlite3_column_type(st, 0) != SQLITE_NULL)
            cJSON_AddStringToObject(k, keys[i][1],
                                    (const char *)sqlite3_column_text(st,
                                                                      0));
    }
    sqlite3_finalize(st);
}

void
status_push(cJSON *doc, const struct pf_config *cfg, struct store *s)
{
    sqlite3 *db = store_db(s);
    cJSON *k, *ms;

    if (!cfg->klaviyo.set)
        return;
    k = cJSON_AddObjectToObject(cJSON_AddObjectToObject(doc, "push"),
                                "klaviyo");
    ms = cJSON_AddObjectToObject(k, "metrics");
    if (each_row(db, "SELECT metric, state, count(*) FROM push_items "
                 "WHERE target = ?1 GROUP BY metric, state", row_state,
                 ms) != 0)
        return;
    each_row(db, "SELECT metric, reason, items FROM push_skipped "
             "WHERE target = ?1 ORDER BY items DESC, reason", row_skipped,
             ms);
    each_row(db, "SELECT metric, id, reason FROM push_items WHERE "
             "target = ?1 AND state = 'failed' ORDER BY queued_at DESC, id",
             row_reason, ms);
    add_lag(k, db);
    add_bookmarks(k, db);
}
