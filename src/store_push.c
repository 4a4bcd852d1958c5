/* store_push.c - the push ledger: what was offered to a target (Klaviyo),
 * what is pending, sent or failed. See store.h ("push ledger").
 *
 * The ledger is what makes delivery exactly-once: a row turns 'sent' only
 * in the transaction that follows the target's acceptance, and a row once
 * sent is never offered again (events) or only with a new hash
 * (profiles). */
#include "store.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

/* Runs a statement that returns no rows and resets it. */
static int
run_done(struct store *s, sqlite3_stmt *st, struct pf_err *err,
         const char *what, const char *id)
{
    int rc = store_step(s, st, err, "%s %s", what, id ? id : "");

    sqlite3_reset(st);
    if (rc < 0)
        return -1;
    return 0;
}

/* Lower-case hex SHA-256 of p. */
static void
sha256_hex(const char *p, size_t n, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < len && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    out[64] = '\0';
}

int
store_push_offer(struct store *s, const struct store_push_item *it,
                 int64_t now, int *queued, struct pf_err *err)
{
    /* One statement decides: the WHERE of the update is the whole of the
     * ledger's rules for a row it already holds. */
    static const char sql[] =
        "INSERT INTO push_items(target, kind, id, metric, item_time, hash,"
        " body, state, queued_at, grp) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?9) "
        "ON CONFLICT(target, kind, id) DO UPDATE SET "
        "metric = excluded.metric, item_time = excluded.item_time, "
        "hash = excluded.hash, body = excluded.body, state = 'pending', "
        "reason = NULL, queued_at = excluded.queued_at, grp = excluded.grp "
        "WHERE push_items.hash <> excluded.hash AND "
        "(push_items.state IN ('pending', 'failed') OR "
        " (push_items.state = 'sent' AND push_items.kind = 'profile'))";
    sqlite3_stmt *st = store_stmt(s, sql, err);
    char hash[65];

    if (queued != NULL)
        *queued = 0;
    if (st == NULL)
        return -1;
    sha256_hex(it->body, it->len, hash);
    sqlite3_bind_text(st, 1, it->target, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, it->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, it->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, it->metric, -1, SQLITE_STATIC);
    if (it->item_time != INT64_MIN)
        sqlite3_bind_int64(st, 5, it->item_time);
    sqlite3_bind_text(st, 6, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, it->body, (int)it->len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, now);
    sqlite3_bind_text(st, 9, it->grp ? it->grp : "", -1, SQLITE_STATIC);
    if (run_done(s, st, err, "push item", it->id) != 0)
        return -1;
    if (queued != NULL)
        *queued = sqlite3_changes(store_db(s)) > 0;
    return 0;
}

int
store_push_pending(struct store *s, const char *target, const char *kind,
                   const char *after_grp, const char *after_id, int limit,
                   store_push_fn *fn, void *ctx, struct pf_err *err)
{
    static const char sql[] =
        "SELECT id, grp, metric, body FROM push_items "
        "WHERE target = ?1 AND kind = ?2 AND state = 'pending' "
        "AND (grp, id) > (?3, ?4) ORDER BY grp, id LIMIT ?5";
    sqlite3_stmt *st = store_stmt(s, sql, err);
    int rc, r = 0;

    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, target, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, after_grp, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, after_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, limit);
    while ((rc = store_step(s, st, err, "reading pending %s items",
                            kind)) == 1) {
        const char *body = (const char *)sqlite3_column_text(st, 3);

        r = fn(ctx, (const char *)sqlite3_column_text(st, 0),
               (const char *)sqlite3_column_text(st, 1),
               (const char *)sqlite3_column_text(st, 2),
               body ? body : "", (size_t)sqlite3_column_bytes(st, 3), err);
        if (r != 0)
            break;
    }
    sqlite3_reset(st);
    return rc < 0 || r < 0 ? -1 : 0;
}

/* The updates of store_push_mark_sent(), inside its transaction. */
static int
mark_sent_rows(struct store *s, const char *target, const char *kind,
               const char *const *ids, size_t n, const char *job,
               int64_t now, struct pf_err *err)
{
    static const char sql[] =
        "UPDATE push_items SET state = 'sent', body = NULL, sent_at = ?4, "
        "attempts = attempts + 1, reason = NULL, job = ?5 "
        "WHERE target = ?1 AND kind = ?2 AND id = ?3 "
        "AND state = 'pending'";
    static const char sql_job[] =
        "INSERT OR IGNORE INTO push_jobs(target, id, created_at) "
        "VALUES (?1, ?2, ?3)";
    sqlite3_stmt *st;

    for (size_t i = 0; i < n; i++) {
        if ((st = store_stmt(s, sql, err)) == NULL)
            return -1;
        sqlite3_bind_text(st, 1, target, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, ids[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, now);
        if (job != NULL)
            sqlite3_bind_text(st, 5, job, -1, SQLITE_STATIC);
        if (run_done(s, st, err, "marking sent", ids[i]) != 0)
            return -1;
    }
    if (job == NULL)
        return 0;
    if ((st = store_stmt(s, sql_job, err)) == NULL)
        return -1;
    sqlite3_bind_text(st, 1, target, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, job, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now);
    return run_done(s, st, err, "recording job", job);
}

int
store_push_mark_sent(struct store *s, const char *target, const char *kind,
                     const char *const *ids, size_t n, const char *job,
                     int64_t now, struct pf_err *err)
{
    if (store_begin(s, err) != 0)
        return -1;
    if (mark_sent_rows(s, target, kind, ids, n, job, now, err) != 0) {
        store_rollback(s);
        return -1;
    }
    return store_commit(s, err);
}

int
store_push_mark_failed(struct store *s, const char *target, const char *kind,
                       const char *id, const char *reason,
                       struct pf_err *err)
{
    static const char sql[] =
        "UPDATE push_items SET state = 'failed', body = NULL, "
        "reason = ?4, attempts = attempts + 1 "
        "WHERE target = ?1 AND kind = ?2 AND id = ?3";
    sqlite3_stmt *st = store_stmt(s, sql, err);

    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, target, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
    return run_done(s, st, err, "marking failed", id);
}

int
store_push_jobs(struct store *s, const char *target, store_push_job_fn *fn,
                void *ctx, struct pf_err *err)
{
    static const char sql[] =
        "SELECT id FROM push_jobs WHERE target = ?1 "
        "ORDER BY created_at, id";
    sqlite3_stmt *st = store_stmt(s, sql, err);
    char **ids = NULL;
    size_t n = 0;
    int rc, r = 0;

    if (st == NULL)
        return -1;
    /* Copied out first: fn may write (job done, items failed) while the
     * list is read. There are only ever a few jobs. */
    sqlite3_bind_text(st, 1, target, -1, SQLITE_STATIC);
    while ((rc = store_step(s, st, err, "reading push jobs")) == 1) {
        ids = xrealloc(ids, (n + 1) * sizeof(*ids));
        ids[n++] = xstrdup((const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_reset(st);
    for (size_t i = 0; rc == 0 && r == 0 && i < n; i++)
        r = fn(ctx, ids[i], err);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    return rc < 0 || r < 0 ? -1 : 0;
}

int
store_push_job_done(struct store *s, const char *target, const char *job,
                    struct pf_err *err)
{
    static const char sql[] =
        "DELETE FROM push_jobs WHERE target = ?1 AND id = ?2";
    sqlite3_stmt *st = store_stmt(s, sql, err);

    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, target, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, job, -1, SQLITE_STATIC);
    return run_done(s, st, err, "closing job", job);
}

int
store_push_set_skipped(struct store *s, const char *target,
                       const char *const *metrics,
                       const char *const *reasons, const int64_t *items,
                       size_t n, struct pf_err *err)
{
    static const char del[] = "DELETE FROM push_skipped WHERE target = ?1";
    static const char ins[] =
        "INSERT INTO push_skipped(target, metric, reason, items) "
        "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(target, metric, reason) "
        "DO UPDATE SET items = items + excluded.items";
    sqlite3_stmt *st = store_stmt(s, del, err);

    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, target, -1, SQLITE_STATIC);
    if (run_done(s, st, err, "clearing skipped", target) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if ((st = store_stmt(s, ins, err)) == NULL)
            return -1;
        sqlite3_bind_text(st, 1, target, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, metrics[i], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, reasons[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, items[i]);
        if (run_done(s, st, err, "recording skipped", reasons[i]) != 0)
            return -1;
    }
    return 0;
}
