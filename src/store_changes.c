/* store_changes.c - what changed when: stamping pending changes, counting
 * changes and deletions since a time, render epochs. See store.h ("what
 * changed when") and store_schema.h (version 6, the triggers).
 *
 * Table and entity names come from callers (the server passes what a URL
 * named); they are looked up in fixed lists and only the list's own SQL
 * ever reaches SQLite. */
#include "store.h"

#include <stdlib.h>
#include <string.h>

/* The literal of STORE_PENDING inside SQL, as the schema spells it. */
#define PENDING_SQL "9223372036854775807"

/* Anything pending at all? One probe of each `<table>_changed` index and
 * of deleted's (entity, deleted_at) index, so a commit that changed
 * nothing pays six index probes and takes no write lock. */
static const char sql_any_pending[] =
    "SELECT EXISTS (SELECT 1 FROM products WHERE changed_at = "
    PENDING_SQL ")"
    " OR EXISTS (SELECT 1 FROM categories WHERE changed_at = "
    PENDING_SQL ")"
    " OR EXISTS (SELECT 1 FROM customers WHERE changed_at = "
    PENDING_SQL ")"
    " OR EXISTS (SELECT 1 FROM orders WHERE changed_at = " PENDING_SQL ")"
    " OR EXISTS (SELECT 1 FROM pages WHERE changed_at = " PENDING_SQL ")"
    " OR EXISTS (SELECT 1 FROM deleted WHERE entity IN ('product', "
    "'category', 'customer', 'page') AND deleted_at = " PENDING_SQL ")";

/* One UPDATE per table; each finds its rows through the index. The
 * "changed" triggers fire only when changed_at stays the same (WHEN
 * NEW.changed_at IS OLD.changed_at), so these UPDATEs mark nothing. The
 * deleted table is listed by entity so that its index applies.
 *
 * Each statement stamps at most STAMP_BATCH rows and is repeated until
 * none is left: a statement that fires triggers keeps a journal of every
 * page it changes in memory (temp_store = MEMORY) until it ends, which
 * for one UPDATE of a first import's 200,000 products doubled the peak
 * memory of the sync. */
#define STAMP_BATCH "5000"
#define STAMP_ROWS(t) \
    "UPDATE " t " SET changed_at = ?1 WHERE rowid IN (SELECT rowid FROM " \
    t " WHERE changed_at = " PENDING_SQL " LIMIT " STAMP_BATCH ")"
static const char *const sql_stamp[] = {
    STAMP_ROWS("products"),
    STAMP_ROWS("categories"),
    STAMP_ROWS("customers"),
    STAMP_ROWS("orders"),
    STAMP_ROWS("pages"),
    "UPDATE deleted SET deleted_at = ?1 WHERE (entity, id) IN ("
    "SELECT entity, id FROM deleted WHERE entity IN ('product', "
    "'category', 'customer', 'page') AND deleted_at = " PENDING_SQL
    " LIMIT " STAMP_BATCH ")",
};

/* 1 when some change waits for its stamp, 0 not, -1 error. */
static int
any_pending(struct store *s, struct pf_err *err)
{
    sqlite3_stmt *st = store_stmt(s, sql_any_pending, err);
    int rc, found = 0;

    if (st == NULL)
        return -1;
    rc = store_step(s, st, err, "looking for unstamped changes");
    if (rc == 1)
        found = sqlite3_column_int(st, 0) != 0;
    sqlite3_reset(st);
    return rc < 0 ? -1 : found;
}

/* Runs the UPDATE sql until it stamps no more rows. */
static int
stamp_table(struct store *s, const char *sql, int64_t now,
            struct pf_err *err)
{
    for (;;) {
        sqlite3_stmt *st = store_stmt(s, sql, err);
        int rc;

        if (st == NULL)
            return -1;
        sqlite3_bind_int64(st, 1, now);
        rc = store_step(s, st, err, "stamping changes");
        sqlite3_reset(st);
        if (rc < 0)
            return -1;
        if (sqlite3_changes(store_db(s)) == 0)
            return 0;
    }
}

/* The UPDATEs of sql_stamp, in the caller's transaction, and the next
 * generation: readers that see no pending change see the new content
 * under a new number. */
static int
stamp_all(struct store *s, int64_t now, struct pf_err *err)
{
    size_t i;

    for (i = 0; i < sizeof(sql_stamp) / sizeof(sql_stamp[0]); i++) {
        if (stamp_table(s, sql_stamp[i], now, err) != 0)
            return -1;
    }
    return store_exec(s, "UPDATE generation SET n = n + 1", err);
}

int
store_stamp_changes(struct store *s, int64_t now, struct pf_err *err)
{
    int own, found;

    if (sqlite3_db_readonly(store_db(s), "main") == 1) {
        pf_errf(err, "store: stamping changes needs a writable store");
        return -1;
    }
    found = any_pending(s, err);
    if (found <= 0)
        return found;
    /* Its own transaction after the caller's COMMIT; inside a caller's
     * transaction (tests), part of it. */
    own = sqlite3_get_autocommit(store_db(s));
    if (own && store_exec(s, "BEGIN IMMEDIATE", err) != 0)
        return -1;
    if (stamp_all(s, now, err) != 0) {
        if (own)
            store_rollback(s);
        return -1;
    }
    if (own && store_exec(s, "COMMIT", err) != 0) {
        store_rollback(s);
        return -1;
    }
    return 0;
}

/* The fixed lists of names a caller may pass, with their SQL. */
static const char *const changed_sql[][2] = {
    {"products",
     "SELECT count(*) FROM products WHERE changed_at >= ?1"},
    {"categories",
     "SELECT count(*) FROM categories WHERE changed_at >= ?1"},
    {"customers",
     "SELECT count(*) FROM customers WHERE changed_at >= ?1"},
    {"orders", "SELECT count(*) FROM orders WHERE changed_at >= ?1"},
    {"pages", "SELECT count(*) FROM pages WHERE changed_at >= ?1"},
};
static const char *const deleted_entities[] = {
    "product", "category", "customer", "page",
};

/* Runs st (a count with its bindings), into *n. */
static int
count_into(struct store *s, sqlite3_stmt *st, int64_t *n,
           struct pf_err *err, const char *what, const char *name)
{
    int rc = store_step(s, st, err, "counting %s %s", what, name);

    if (rc == 1)
        *n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc < 0 ? -1 : 0;
}

int
store_changed_count(struct store *s, const char *table, int64_t since,
                    int64_t *n, struct pf_err *err)
{
    size_t i;

    *n = 0;
    for (i = 0; i < sizeof(changed_sql) / sizeof(changed_sql[0]); i++) {
        sqlite3_stmt *st;

        if (strcmp(changed_sql[i][0], table) != 0)
            continue;
        st = store_stmt(s, changed_sql[i][1], err);
        if (st == NULL)
            return -1;
        sqlite3_bind_int64(st, 1, since);
        return count_into(s, st, n, err, "changed", table);
    }
    pf_errf(err, "store: no change times for table '%s' (products, "
            "categories, customers, orders or pages)", table);
    return -1;
}

int
store_newest_product_change(struct store *s, int64_t *t,
                            struct pf_err *err)
{
    static const char sql[] =
        "SELECT coalesce(max(changed_at), 0) FROM products "
        "WHERE changed_at < 9223372036854775807";
    sqlite3_stmt *st = store_stmt(s, sql, err);

    *t = 0;
    if (st == NULL)
        return -1;
    return count_into(s, st, t, err, "the newest change of", "products");
}

int
store_deleted_count(struct store *s, const char *entity, int64_t since,
                    int64_t *n, struct pf_err *err)
{
    static const char sql[] =
        "SELECT count(*) FROM deleted WHERE entity = ?1 AND "
        "deleted_at >= ?2";
    size_t i;
    sqlite3_stmt *st;

    *n = 0;
    for (i = 0; i < sizeof(deleted_entities) / sizeof(deleted_entities[0]);
         i++) {
        if (strcmp(deleted_entities[i], entity) == 0)
            break;
    }
    if (i == sizeof(deleted_entities) / sizeof(deleted_entities[0])) {
        pf_errf(err, "store: no deletions kept for entity '%s' (product, "
                "category, customer or page)", entity);
        return -1;
    }
    st = store_stmt(s, sql, err);
    if (st == NULL)
        return -1;
    /* The list's own string, not the caller's. */
    sqlite3_bind_text(st, 1, deleted_entities[i], -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, since);
    return count_into(s, st, n, err, "deleted", entity);
}

/* The stored epoch of key: 1 with *hash (caller frees) and *since, 0
 * none, -1 error. */
static int
epoch_get(struct store *s, const char *key, char **hash, int64_t *since,
          struct pf_err *err)
{
    static const char sql[] =
        "SELECT hash, since FROM render_epochs WHERE key = ?1";
    sqlite3_stmt *st = store_stmt(s, sql, err);
    int rc;

    *hash = NULL;
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    rc = store_step(s, st, err, "reading the render epoch of '%s'", key);
    if (rc == 1) {
        const char *h = (const char *)sqlite3_column_text(st, 0);

        *hash = xstrdup(h != NULL ? h : "");
        *since = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    return rc;
}

static int
epoch_put(struct store *s, const char *key, const char *hash, int64_t now,
          struct pf_err *err)
{
    static const char sql[] =
        "INSERT INTO render_epochs(key, hash, since) VALUES (?1, ?2, ?3) "
        "ON CONFLICT(key) DO UPDATE SET hash = excluded.hash, "
        "since = excluded.since";
    sqlite3_stmt *st = store_stmt(s, sql, err);
    int rc;

    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now);
    rc = store_step(s, st, err, "recording the render epoch of '%s'", key);
    sqlite3_reset(st);
    return rc < 0 ? -1 : 0;
}

/* Inside a write transaction: compares again (another process may have
 * recorded the same hash meanwhile) and writes when it differs. */
static int
epoch_update(struct store *s, const char *key, const char *hash,
             int64_t now, int64_t *since, struct pf_err *err)
{
    char *old = NULL;
    int rc = epoch_get(s, key, &old, since, err);

    if (rc < 0)
        return -1;
    if (rc == 1 && strcmp(old, hash) == 0) {
        free(old);
        return 0;
    }
    free(old);
    *since = now;
    return epoch_put(s, key, hash, now, err);
}

int
store_render_epoch(struct store *s, const char *key, const char *hash,
                   int64_t now, int64_t *since, struct pf_err *err)
{
    char *old = NULL;
    int rc;

    /* The usual answer (the same hash as last time) is a read: no write
     * lock, so a server never waits for a sync to ask. */
    rc = epoch_get(s, key, &old, since, err);
    if (rc < 0)
        return -1;
    if (rc == 1 && strcmp(old, hash) == 0) {
        free(old);
        return 0;
    }
    free(old);
    /* A new definition: a write transaction of its own, which waits for
     * a running sync's transaction (the busy timeout of store_open). */
    if (store_exec(s, "BEGIN IMMEDIATE", err) != 0) {
        pf_err_prefix(err, "recording the render epoch of '%s'", key);
        return -1;
    }
    if (epoch_update(s, key, hash, now, since, err) != 0) {
        store_rollback(s);
        return -1;
    }
    if (store_exec(s, "COMMIT", err) != 0) {
        store_rollback(s);
        return -1;
    }
    return 0;
}

/* ---- generations -------------------------------------------------------- */

int
store_generation(struct store *s, int64_t *gen, struct pf_err *err)
{
    static const char sql[] = "SELECT n FROM generation WHERE id = 1";
    sqlite3_stmt *st;
    int rc, pending = any_pending(s, err);

    *gen = -1;
    if (pending < 0)
        return -1;
    if (pending)
        return 0;
    st = store_stmt(s, sql, err);
    if (st == NULL)
        return -1;
    rc = store_step(s, st, err, "reading the store's generation");
    if (rc == 1)
        *gen = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc < 0 ? -1 : 0;
}

int
store_derived_get(struct store *s, const char *key, int64_t gen,
                  char **value, struct pf_err *err)
{
    static const char sql[] =
        "SELECT value FROM derived WHERE key = ?1 AND generation = ?2";
    sqlite3_stmt *st = store_stmt(s, sql, err);
    int rc;

    *value = NULL;
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, gen);
    rc = store_step(s, st, err, "reading '%s'", key);
    if (rc == 1)
        *value = xstrdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    return rc < 0 ? -1 : 0;
}

/* Inside the write transaction: writes when gen is current. */
static int
derived_write(struct store *s, const char *key, int64_t gen,
              const char *value, int *stored, struct pf_err *err)
{
    static const char sql[] =
        "INSERT INTO derived(key, generation, value) VALUES (?1, ?2, ?3) "
        "ON CONFLICT(key) DO UPDATE SET generation = excluded.generation, "
        "value = excluded.value";
    sqlite3_stmt *st;
    int64_t now_gen;
    int rc;

    if (store_generation(s, &now_gen, err) != 0)
        return -1;
    if (now_gen != gen || gen < 0)
        return 0;
    st = store_stmt(s, sql, err);
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, gen);
    sqlite3_bind_text(st, 3, value, -1, SQLITE_STATIC);
    rc = store_step(s, st, err, "storing '%s'", key);
    sqlite3_reset(st);
    if (rc < 0)
        return -1;
    *stored = 1;
    return 0;
}

int
store_derived_put(struct store *s, const char *key, int64_t gen,
                  const char *value, int *stored, struct pf_err *err)
{
    int done = 0;

    if (store_exec(s, "BEGIN IMMEDIATE", err) != 0)
        return -1;
    if (derived_write(s, key, gen, value, &done, err) != 0 ||
        store_exec(s, "COMMIT", err) != 0) {
        store_rollback(s);
        return -1;
    }
    if (stored != NULL)
        *stored = done;
    return 0;
}
