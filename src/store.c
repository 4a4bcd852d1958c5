/* store.c - see store.h. */
#include "store.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_schema.h"
#include "timeutil.h"

/* The entity tables, in the order of enum upsert. Each gets one UPSERT,
 * generated at open, that writes a row only when a column differs, so
 * re-importing identical data writes nothing. */
enum upsert {
    UP_LOCATIONS, UP_CATEGORIES, UP_PRODUCTS, UP_VARIANTS, UP_STOCK,
    UP_CUSTOMERS, UP_ORDERS, UP_ORDER_LINES, UP_PAGES, UP_REVIEWS,
    UP_COUNT
};

static const struct {
    const char *table, *key;
    const char *cols[20];
} upsert_defs[UP_COUNT] = {
    {"locations", "id", {
        "id", "name", "timezone", NULL}},
    {"categories", "id", {
        "id", "name", "parent_id", "url", "visible", "position", NULL}},
    {"products", "id", {
        "id", "name", "description", "url", "brand", "created_at",
        "updated_at", "visible", "has_stock", "stock", NULL}},
    {"variants", "id", {
        "id", "product_id", "sku", "ean", "upc", "image", "price",
        "list_price", "currency", "track_stock", "position", "options",
        NULL}},
    {"stock", "variant_id, location_id", {
        "variant_id", "location_id", "quantity", NULL}},
    {"customers", "id", {
        "id", "email", "first_name", "last_name", "company", "title",
        "address1", "address2", "city", "region", "zip", "country", "phone",
        "consent", "created_at", "updated_at", NULL}},
    {"orders", "id", {
        "id", "number", "status", "location_id", "customer_id", "email",
        "currency", "created_at", "completed_at", "total", "discount_total",
        "discount_codes", "shipped", "shipped_at", "refund_of", NULL}},
    {"order_lines", "id", {
        "id", "order_id", "product_id", "variant_id", "name", "sku",
        "quantity", "unit_price", "discount", "is_return", "position", NULL}},
    {"pages", "id", {
        "id", "kind", "title", "url", "summary", "content", "image",
        "author", "created_at", "updated_at", "visible", NULL}},
    {"reviews", "id", {
        "id", "product_id", "score", "visible", "created_at", NULL}},
};

#define STMT_CACHE 64

struct stmt_slot {
    const char *sql;        /* the caller's literal: compared by pointer */
    sqlite3_stmt *stmt;
};

struct store {
    sqlite3 *db;
    char *path;
    struct stmt_slot stmts[STMT_CACHE];
    int nstmts;
    int warn_seq;
    int damaged;                /* see store_damaged() */
    /* A read without an error channel (store_has) failed inside the
     * current transaction: store_commit() must not commit it. */
    int txn_failed;
    struct pf_err txn_err;
    /* A run (store_run_start) is open: its commits leave their changes
     * pending and store_run_end() stamps them once. Stamping per commit
     * would re-mark and re-stamp every product once per file of a first
     * import (each variant, stock or image file marks it again). */
    int in_run;
};

/* Remembers that SQLite found the file damaged; rc is a (possibly
 * extended) result code. */
static void
note_damage(struct store *s, int rc)
{
    if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB)
        s->damaged = 1;
}

static int
db_fail(struct store *s, struct pf_err *err, const char *what)
{
    note_damage(s, sqlite3_extended_errcode(s->db));
    pf_errf(err, "store %s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
    return -1;
}

int
store_damaged(const struct store *s)
{
    return s->damaged;
}

int
store_step(struct store *s, sqlite3_stmt *st, struct pf_err *err,
           const char *what, ...)
{
    int rc = sqlite3_step(st);
    char buf[256];
    va_list ap;

    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    note_damage(s, rc);
    va_start(ap, what);
    vsnprintf(buf, sizeof(buf), what, ap);
    va_end(ap);
    pf_errf(err, "store %s: %s: %s", s->path, buf, sqlite3_errmsg(s->db));
    return -1;
}

int
store_exec(struct store *s, const char *sql, struct pf_err *err)
{
    char *msg = NULL;

    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        note_damage(s, sqlite3_extended_errcode(s->db));
        pf_errf(err, "store %s: %s", s->path, msg ? msg : "error");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

sqlite3_stmt *
store_stmt(struct store *s, const char *sql, struct pf_err *err)
{
    int i;
    sqlite3_stmt *st = NULL;

    for (i = 0; i < s->nstmts; i++) {
        if (s->stmts[i].sql == sql) {
            st = s->stmts[i].stmt;
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return st;
        }
    }
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
                           NULL) != SQLITE_OK) {
        db_fail(s, err, "preparing SQL");
        return NULL;
    }
    if (s->nstmts < STMT_CACHE) {
        s->stmts[s->nstmts].sql = sql;
        s->stmts[s->nstmts].stmt = st;
        s->nstmts++;
    }
    else {
        /* Cache full: should not happen with a fixed set of statements;
         * keep working by evicting the oldest. */
        sqlite3_finalize(s->stmts[0].stmt);
        memmove(&s->stmts[0], &s->stmts[1],
                (STMT_CACHE - 1) * sizeof(s->stmts[0]));
        s->stmts[STMT_CACHE - 1].sql = sql;
        s->stmts[STMT_CACHE - 1].stmt = st;
    }
    return st;
}

/* 1 if col is one of the comma-separated key columns. */
static int
is_key(const char *key, const char *col)
{
    size_t n = strlen(col);

    while (*key != '\0') {
        while (*key == ' ' || *key == ',')
            key++;
        if (strncmp(key, col, n) == 0 &&
            (key[n] == '\0' || key[n] == ',' || key[n] == ' '))
            return 1;
        key += strcspn(key, ",");
    }
    return 0;
}

/* INSERT INTO t(c1, ...) VALUES (?1, ...) ON CONFLICT(key) DO UPDATE SET
 * c = excluded.c, ... WHERE c IS NOT excluded.c OR ...: the key columns
 * are never updated; bind parameters follow the column order. */
static char *
upsert_sql(int which)
{
    const char *const *cols = upsert_defs[which].cols;
    const char *key = upsert_defs[which].key;
    struct pf_buf b, set, where;
    int i;

    pf_buf_init(&b);
    pf_buf_init(&set);
    pf_buf_init(&where);
    pf_buf_addf(&b, "INSERT INTO %s(", upsert_defs[which].table);
    for (i = 0; cols[i] != NULL; i++)
        pf_buf_addf(&b, "%s%s", i ? ", " : "", cols[i]);
    pf_buf_adds(&b, ") VALUES (");
    for (i = 0; cols[i] != NULL; i++) {
        pf_buf_addf(&b, "%s?%d", i ? ", " : "", i + 1);
        if (is_key(key, cols[i]))
            continue;
        pf_buf_addf(&set, "%s%s = excluded.%s", set.len ? ", " : "",
                    cols[i], cols[i]);
        pf_buf_addf(&where, "%s%s IS NOT excluded.%s",
                    where.len ? " OR " : "", cols[i], cols[i]);
    }
    pf_buf_addf(&b, ") ON CONFLICT(%s) DO UPDATE SET %s WHERE %s", key,
                set.data, where.data);
    pf_buf_free(&set);
    pf_buf_free(&where);
    return b.data;
}

/* The upsert statements, made once per process and shared read-only by
 * every store: a store opened only to read (a status page, /metrics of
 * many shops, a V2 answer) would otherwise format them all for nothing,
 * which was most of such an open's cost. Kept until exit. */
static char *upsert_text[UP_COUNT];
static pthread_once_t upsert_once = PTHREAD_ONCE_INIT;

static void
upsert_init(void)
{
    int i;

    for (i = 0; i < UP_COUNT; i++)
        upsert_text[i] = upsert_sql(i);
}

sqlite3 *
store_db(struct store *s)
{
    return s->db;
}

static int
store_migrate(struct store *s, struct pf_err *err)
{
    size_t nsteps = sizeof(store_migrations) / sizeof(store_migrations[0]);
    sqlite3_stmt *st = NULL;
    int version = 0, target, v, rc;
    size_t i;
    char sql[64];

    target = store_migrations[nsteps - 1].version;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) !=
        SQLITE_OK)
        return db_fail(s, err, "reading schema version");
    rc = store_step(s, st, err, "reading schema version");
    if (rc == 1)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (rc < 0)
        return -1;
    if (version > target) {
        pf_errf(err, "store %s has schema version %d, newer than this "
                "posfeed understands (%d); upgrade posfeed", s->path,
                version, target);
        return -1;
    }
    if (version == target)
        return 0;
    /* All pending versions in one transaction: a store is at one known
     * version or another, and a new store is created in one commit. */
    if (store_exec(s, "BEGIN IMMEDIATE", err) != 0)
        return -1;
    for (v = version + 1; v <= target; v++) {
        for (i = 0; i < nsteps; i++) {
            if (store_migrations[i].version != v)
                continue;
            if (store_exec(s, store_migrations[i].sql, err) != 0)
                goto fail;
        }
    }
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", target);
    if (store_exec(s, sql, err) != 0)
        goto fail;
    if (store_exec(s, "COMMIT", err) != 0)
        return -1;
    if (version > 0)
        log_info("store %s migrated to schema version %d", s->path,
                 target);
    return 0;
fail:
    pf_err_prefix(err, "migrating to schema version %d", v);
    store_exec(s, "ROLLBACK", NULL);
    return -1;
}

/* Stamps what is pending with the clock. A failure is logged, not
 * returned: the data it stamps is committed already, and rows left
 * pending read as "changed after any time" until the next commit or open
 * stamps them. */
static void
stamp_or_log(struct store *s, const char *when)
{
    struct pf_err e = {{0}};

    /* Nothing is written to a file known to be damaged. */
    if (s->damaged)
        return;
    if (store_stamp_changes(s, pf_time_now(), &e) != 0)
        log_warn("%s (stamping changes %s; the next commit retries)",
                 e.msg, when);
}

/* At open: what a process left pending when it stopped between a
 * commit and its stamp. Not while a run is marked running: that run may
 * still be going (its end stamps), or it was killed and the next run
 * checks the store (PRAGMA quick_check) before anything is written. */
static void
stamp_leftovers(struct store *s)
{
    struct pf_err e = {{0}};
    int64_t n = 0, last = 0;

    if (store_unfinished_runs(s, &n, &last, &e) != 0 || n > 0)
        return;
    stamp_or_log(s, "left by an earlier process");
}

static int
store_open_flags(const char *path, int readonly, struct store **out,
                 struct pf_err *err)
{
    struct store *s = xcalloc(1, sizeof(*s));
    int flags = readonly ? SQLITE_OPEN_READONLY
                         : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;

    s->path = xstrdup(path);
    pthread_once(&upsert_once, upsert_init);
    if (sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        db_fail(s, err, "opening");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, 10000);
    sqlite3_extended_result_codes(s->db, 1);
    if (!readonly) {
        if (store_exec(s, "PRAGMA journal_mode = WAL;"
                          "PRAGMA synchronous = NORMAL;", err) != 0)
            goto fail;
    }
    if (store_exec(s, "PRAGMA foreign_keys = ON;"
                      "PRAGMA temp_store = MEMORY;"
                      "PRAGMA cache_size = -16000;", err) != 0)
        goto fail;
    if (!readonly && store_migrate(s, err) != 0)
        goto fail;
    if (!readonly)
        stamp_leftovers(s);
    *out = s;
    return 0;
fail:
    store_close(s);
    return -1;
}

int
store_open(const char *path, struct store **out, struct pf_err *err)
{
    return store_open_flags(path, 0, out, err);
}

int
store_open_readonly(const char *path, struct store **out,
                    struct pf_err *err)
{
    return store_open_flags(path, 1, out, err);
}

void
store_close(struct store *s)
{
    int i;

    if (s == NULL)
        return;
    /* A run that never reached store_run_end() (an error path). */
    if (s->in_run && sqlite3_get_autocommit(s->db))
        stamp_or_log(s, "at close");
    for (i = 0; i < s->nstmts; i++)
        sqlite3_finalize(s->stmts[i].stmt);
    sqlite3_close(s->db);
    free(s->path);
    free(s);
}

int
store_begin(struct store *s, struct pf_err *err)
{
    s->txn_failed = 0;
    return store_exec(s, "BEGIN IMMEDIATE", err);
}

int
store_commit(struct store *s, struct pf_err *err)
{
    if (s->txn_failed) {
        s->txn_failed = 0;
        store_rollback(s);
        if (err != NULL)
            *err = s->txn_err;
        return -1;
    }
    if (store_exec(s, "COMMIT", err) != 0)
        return -1;
    /* In a transaction of its own, after the COMMIT: a stamp is never
     * earlier than the moment its change became visible. */
    if (!s->in_run && sqlite3_db_readonly(s->db, "main") != 1)
        stamp_or_log(s, "after a commit");
    return 0;
}

void
store_rollback(struct store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        store_exec(s, "ROLLBACK", NULL);
}

/* ---- binding helpers ---------------------------------------------------- */

static void
bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v == NULL || v[0] == '\0')
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

/* Times and optional amounts: 0 means unknown. */
static void
bind_opt_int(sqlite3_stmt *st, int i, int64_t v)
{
    if (v == 0)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, v);
}

static int
step_done(struct store *s, sqlite3_stmt *st, struct pf_err *err,
          const char *what, const char *id)
{
    int rc = sqlite3_step(st);

    if (rc != SQLITE_DONE) {
        note_damage(s, rc);
        pf_errf(err, "store %s: %s %s: %s", s->path, what, id ? id : "",
                sqlite3_errmsg(s->db));
        sqlite3_reset(st);
        return -1;
    }
    sqlite3_reset(st);
    return 0;
}

/* The bounds of store.h, as the last line of defence: a source that
 * forgot its own check gets an error instead of a stock or a total that
 * overflows downstream. 1 when v is out of bounds (err set). */
static int
out_of_bounds(struct pf_err *err, const char *what, const char *id,
              const char *field, int64_t v, int money)
{
    int64_t max = money ? STORE_MAX_MONEY : STORE_MAX_QUANTITY;

    if (v >= -max && v <= max)
        return 0;
    pf_errf(err, "%s %s: %s %lld is out of range (at most %lld either "
            "way)", what, id ? id : "", field, (long long)v,
            (long long)max);
    return 1;
}

/* Compact JSON array of strings, for discount codes. */
static void
json_str(struct pf_buf *b, const char *s)
{
    pf_buf_addc(b, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\') {
            pf_buf_addc(b, '\\');
            pf_buf_addc(b, (char)c);
        }
        else if (c < 0x20) {
            pf_buf_addf(b, "\\u%04x", c);
        }
        else {
            pf_buf_addc(b, (char)c);
        }
    }
    pf_buf_addc(b, '"');
}

/* ---- entities ---------------------------------------------------------- */

int
store_put_location(struct store *s, const struct store_location *l,
                   struct pf_err *err)
{
    sqlite3_stmt *st = store_stmt(s, upsert_text[UP_LOCATIONS], err);

    if (st == NULL)
        return -1;
    bind_text(st, 1, l->id);
    sqlite3_bind_text(st, 2, l->name ? l->name : "", -1, SQLITE_STATIC);
    bind_text(st, 3, l->timezone);
    return step_done(s, st, err, "location", l->id);
}

int
store_put_category(struct store *s, const struct store_category *c,
                   struct pf_err *err)
{
    sqlite3_stmt *st = store_stmt(s, upsert_text[UP_CATEGORIES], err);

    if (st == NULL)
        return -1;
    bind_text(st, 1, c->id);
    sqlite3_bind_text(st, 2, c->name ? c->name : "", -1, SQLITE_STATIC);
    bind_text(st, 3, c->parent_id);
    bind_text(st, 4, c->url);
    sqlite3_bind_int(st, 5, c->visible ? 1 : 0);
    sqlite3_bind_int(st, 6, c->position);
    return step_done(s, st, err, "category", c->id);
}

int
store_put_product(struct store *s, const struct store_product *p,
                  struct pf_err *err)
{
    sqlite3_stmt *st = store_stmt(s, upsert_text[UP_PRODUCTS], err);

    if (p->has_stock &&
        out_of_bounds(err, "product", p->id, "stock", p->stock, 0))
        return -1;

    if (st == NULL)
        return -1;
    bind_text(st, 1, p->id);
    sqlite3_bind_text(st, 2, p->name ? p->name : "", -1, SQLITE_STATIC);
    bind_text(st, 3, p->description);
    bind_text(st, 4, p->url);
    bind_text(st, 5, p->brand);
    bind_opt_int(st, 6, p->created_at);
    bind_opt_int(st, 7, p->updated_at);
    sqlite3_bind_int(st, 8, p->visible ? 1 : 0);
    sqlite3_bind_int(st, 9, p->has_stock ? 1 : 0);
    if (p->has_stock)
        sqlite3_bind_int64(st, 10, p->stock);
    else
        sqlite3_bind_null(st, 10);
    return step_done(s, st, err, "product", p->id);
}

int
store_put_variant(struct store *s, const struct store_variant *v,
                  struct pf_err *err)
{
    sqlite3_stmt *st = store_stmt(s, upsert_text[UP_VARIANTS], err);
    struct pf_buf opts;
    size_t i;
    int rc;

    if (out_of_bounds(err, "variant", v->id, "price", v->price, 1) ||
        out_of_bounds(err, "variant", v->id, "list_price", v->list_price,
                      1))
        return -1;

    if (st == NULL)
        return -1;
    pf_buf_init(&opts);
    if (v->noptions > 0) {
        pf_buf_addc(&opts, '[');
        for (i = 0; i < v->noptions; i++) {
            if (i > 0)
                pf_buf_addc(&opts, ',');
            pf_buf_addc(&opts, '[');
            json_str(&opts, v->options[i].name);
            pf_buf_addc(&opts, ',');
            json_str(&opts, v->options[i].value);
            pf_buf_addc(&opts, ']');
        }
        pf_buf_addc(&opts, ']');
    }
    bind_text(st, 1, v->id);
    bind_text(st, 2, v->product_id);
    bind_text(st, 3, v->sku);
    bind_text(st, 4, v->ean);
    bind_text(st, 5, v->upc);
    bind_text(st, 6, v->image);
    sqlite3_bind_int64(st, 7, v->price);
    bind_opt_int(st, 8, v->list_price);
    sqlite3_bind_text(st, 9, v->currency ? v->currency : "", -1,
                      SQLITE_STATIC);
    sqlite3_bind_int(st, 10, v->track_stock ? 1 : 0);
    sqlite3_bind_int(st, 11, v->position);
    bind_text(st, 12, opts.data);
    rc = step_done(s, st, err, "variant", v->id);
    pf_buf_free(&opts);
    return rc;
}

int
store_put_stock(struct store *s, const char *variant_id,
                const char *location_id, int64_t quantity,
                struct pf_err *err)
{
    sqlite3_stmt *st = store_stmt(s, upsert_text[UP_STOCK], err);

    if (out_of_bounds(err, "stock of variant", variant_id, "quantity",
                      quantity, 0))
        return -1;

    if (st == NULL)
        return -1;
    bind_text(st, 1, variant_id);
    bind_text(st, 2, location_id);
    sqlite3_bind_int64(st, 3, quantity);
    return step_done(s, st, err, "stock of variant", variant_id);
}

/* Runs del, the DELETE of the rows owned by (k1[, k2]). */
static int
delete_set(struct store *s, const char *del, const char *k1,
           const char *k2, const char *what, struct pf_err *err)
{
    sqlite3_stmt *st = store_stmt(s, del, err);
    int base = 1;

    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, base++, k1, -1, SQLITE_STATIC);
    if (k2 != NULL)
        sqlite3_bind_text(st, base++, k2, -1, SQLITE_STATIC);
    return step_done(s, st, err, what, k1);
}

/* Replaces an ordered set of (text[, text]) rows owned by one key, but only
 * when it differs from what is stored. sel lists the current rows as
 * (col1[, col2]) in order; del removes them; ins adds one (key, position,
 * col1[, col2]). */
static int
replace_set(struct store *s, const char *sel, const char *del,
            const char *ins, const char *k1, const char *k2,
            const char *const *a, const char *const *b, size_t n,
            const char *what, struct pf_err *err)
{
    sqlite3_stmt *st;
    size_t i = 0;
    int same = 1, rc, base;

    st = store_stmt(s, sel, err);
    if (st == NULL)
        return -1;
    base = 1;
    sqlite3_bind_text(st, base++, k1, -1, SQLITE_STATIC);
    if (k2 != NULL)
        sqlite3_bind_text(st, base++, k2, -1, SQLITE_STATIC);
    while ((rc = store_step(s, st, err, "reading %s %s", what, k1)) == 1) {
        const char *c1 = (const char *)sqlite3_column_text(st, 0);
        const char *c2 = b ? (const char *)sqlite3_column_text(st, 1)
                           : NULL;

        if (i >= n || strcmp(c1 ? c1 : "", a[i]) != 0 ||
            (b != NULL && strcmp(c2 ? c2 : "", b[i]) != 0)) {
            same = 0;
            break;
        }
        i++;
    }
    sqlite3_reset(st);
    if (rc < 0)
        return -1;
    if (same && i == n)
        return 0;

    /* Nothing stored yet (a new product, a first import): no DELETE to
     * run, which saves a statement per set on every new row. */
    if ((rc != 0 || i > 0) && delete_set(s, del, k1, k2, what, err) != 0)
        return -1;
    for (i = 0; i < n; i++) {
        st = store_stmt(s, ins, err);
        if (st == NULL)
            return -1;
        base = 1;
        sqlite3_bind_text(st, base++, k1, -1, SQLITE_STATIC);
        if (k2 != NULL)
            sqlite3_bind_text(st, base++, k2, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, base++, (sqlite3_int64)i);
        sqlite3_bind_text(st, base++, a[i], -1, SQLITE_STATIC);
        if (b != NULL)
            sqlite3_bind_text(st, base++, b[i], -1, SQLITE_STATIC);
        if (step_done(s, st, err, what, k1) != 0)
            return -1;
    }
    return 0;
}

int
store_set_product_categories(struct store *s, const char *product_id,
                             const char *const *category_ids, size_t n,
                             struct pf_err *err)
{
    static const char sel[] =
        "SELECT category_id FROM product_categories WHERE product_id = ?1 "
        "ORDER BY position";
    static const char del[] =
        "DELETE FROM product_categories WHERE product_id = ?1";
    static const char ins[] =
        "INSERT INTO product_categories(product_id, position, "
        "category_id) VALUES (?1, ?2, ?3)";

    return replace_set(s, sel, del, ins, product_id, NULL, category_ids,
                       NULL, n, "categories of product", err);
}

int
store_set_images(struct store *s, const char *product_id,
                 const char *const *urls, size_t n, struct pf_err *err)
{
    static const char sel[] =
        "SELECT url FROM images WHERE product_id = ?1 ORDER BY position";
    static const char del[] = "DELETE FROM images WHERE product_id = ?1";
    static const char ins[] =
        "INSERT INTO images(product_id, position, url) VALUES (?1, ?2, ?3)";

    return replace_set(s, sel, del, ins, product_id, NULL, urls, NULL, n,
                       "images of product", err);
}

/* replace_set() over (name, value) pairs; a missing value is
 * no_value. */
static int
replace_pairs(struct store *s, const char *sel, const char *del,
              const char *ins, const char *entity_id, const char *entity,
              const struct store_option *pairs, size_t n,
              const char *no_value, const char *what, struct pf_err *err)
{
    const char **names = NULL, **values = NULL;
    int rc;

    if (n > 0) {
        names = xmalloc(n * sizeof(*names));
        values = xmalloc(n * sizeof(*values));
    }
    for (size_t i = 0; i < n; i++) {
        names[i] = pairs[i].name;
        values[i] = pairs[i].value != NULL ? pairs[i].value : no_value;
    }
    rc = replace_set(s, sel, del, ins, entity_id, entity, names, values, n,
                     what, err);
    free(names);
    free(values);
    return rc;
}

int
store_set_attributes(struct store *s, const char *entity,
                     const char *entity_id, enum store_attr_origin origin,
                     const struct store_option *attrs, size_t n,
                     struct pf_err *err)
{
    static const char sel_auto[] =
        "SELECT name, value FROM attributes WHERE entity = ?2 AND "
        "entity_id = ?1 AND origin = 'auto' ORDER BY position";
    static const char del_auto[] =
        "DELETE FROM attributes WHERE entity = ?2 AND entity_id = ?1 AND "
        "origin = 'auto'";
    static const char ins_auto[] =
        "INSERT INTO attributes(entity_id, entity, origin, position, name, "
        "value) VALUES (?1, ?2, 'auto', ?3, ?4, ?5)";
    static const char sel_custom[] =
        "SELECT name, value FROM attributes WHERE entity = ?2 AND "
        "entity_id = ?1 AND origin = 'custom' ORDER BY position";
    static const char del_custom[] =
        "DELETE FROM attributes WHERE entity = ?2 AND entity_id = ?1 AND "
        "origin = 'custom'";
    static const char ins_custom[] =
        "INSERT INTO attributes(entity_id, entity, origin, position, name, "
        "value) VALUES (?1, ?2, 'custom', ?3, ?4, ?5)";
    if (origin == STORE_ATTR_AUTO)
        return replace_pairs(s, sel_auto, del_auto, ins_auto, entity_id,
                             entity, attrs, n, "", "attributes of", err);
    return replace_pairs(s, sel_custom, del_custom, ins_custom, entity_id,
                         entity, attrs, n, "", "attributes of", err);
}

int
store_set_properties(struct store *s, const char *entity,
                     const char *entity_id,
                     const struct store_option *props, size_t n,
                     struct pf_err *err)
{
    static const char sel[] =
        "SELECT name, value FROM properties WHERE entity = ?2 AND "
        "entity_id = ?1 ORDER BY name";
    static const char del[] =
        "DELETE FROM properties WHERE entity = ?2 AND entity_id = ?1";
    static const char ins[] =
        "INSERT INTO properties(entity_id, entity, name, value) "
        "VALUES (?1, ?2, ?4, ?5)";
    return replace_pairs(s, sel, del, ins, entity_id, entity, props, n,
                         "null", "properties of", err);
}

int
store_put_customer(struct store *s, const struct store_customer *c,
                   struct pf_err *err)
{
    sqlite3_stmt *st = store_stmt(s, upsert_text[UP_CUSTOMERS], err);

    if (st == NULL)
        return -1;
    bind_text(st, 1, c->id);
    bind_text(st, 2, c->email);
    bind_text(st, 3, c->first_name);
    bind_text(st, 4, c->last_name);
    bind_text(st, 5, c->company);
    bind_text(st, 6, c->title);
    bind_text(st, 7, c->address1);
    bind_text(st, 8, c->address2);
    bind_text(st, 9, c->city);
    bind_text(st, 10, c->region);
    bind_text(st, 11, c->zip);
    bind_text(st, 12, c->country);
    bind_text(st, 13, c->phone);
    if (c->consent < 0)
        sqlite3_bind_null(st, 14);
    else
        sqlite3_bind_int(st, 14, c->consent ? 1 : 0);
    bind_opt_int(st, 15, c->created_at);
    bind_opt_int(st, 16, c->updated_at);
    return step_done(s, st, err, "customer", c->id);
}

int
store_put_order(struct store *s, const struct store_order *o,
                struct pf_err *err)
{
    sqlite3_stmt *st = store_stmt(s, upsert_text[UP_ORDERS], err);
    struct pf_buf codes;
    size_t i;
    int rc;

    if (out_of_bounds(err, "order", o->id, "total", o->total, 1) ||
        out_of_bounds(err, "order", o->id, "discount_total",
                      o->discount_total, 1))
        return -1;

    if (st == NULL)
        return -1;
    pf_buf_init(&codes);
    if (o->ndiscount_codes > 0) {
        pf_buf_addc(&codes, '[');
        for (i = 0; i < o->ndiscount_codes; i++) {
            if (i > 0)
                pf_buf_addc(&codes, ',');
            json_str(&codes, o->discount_codes[i]);
        }
        pf_buf_addc(&codes, ']');
    }
    bind_text(st, 1, o->id);
    bind_text(st, 2, o->number);
    sqlite3_bind_text(st, 3, o->status ? o->status : "", -1,
                      SQLITE_STATIC);
    bind_text(st, 4, o->location_id);
    bind_text(st, 5, o->customer_id);
    bind_text(st, 6, o->email);
    sqlite3_bind_text(st, 7, o->currency ? o->currency : "", -1,
                      SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, o->created_at);
    bind_opt_int(st, 9, o->completed_at);
    sqlite3_bind_int64(st, 10, o->total);
    sqlite3_bind_int64(st, 11, o->discount_total);
    bind_text(st, 12, codes.data);
    sqlite3_bind_int(st, 13, o->shipped ? 1 : 0);
    bind_opt_int(st, 14, o->shipped_at);
    bind_text(st, 15, o->refund_of);
    rc = step_done(s, st, err, "order", o->id);
    pf_buf_free(&codes);
    return rc;
}

int
store_put_order_line(struct store *s, const struct store_order_line *l,
                     struct pf_err *err)
{
    sqlite3_stmt *st = store_stmt(s, upsert_text[UP_ORDER_LINES], err);

    if (out_of_bounds(err, "order line", l->id, "quantity", l->quantity,
                      0) ||
        out_of_bounds(err, "order line", l->id, "unit_price",
                      l->unit_price, 1) ||
        out_of_bounds(err, "order line", l->id, "discount", l->discount, 1))
        return -1;

    if (st == NULL)
        return -1;
    bind_text(st, 1, l->id);
    bind_text(st, 2, l->order_id);
    bind_text(st, 3, l->product_id);
    bind_text(st, 4, l->variant_id);
    bind_text(st, 5, l->name);
    bind_text(st, 6, l->sku);
    sqlite3_bind_int64(st, 7, l->quantity);
    sqlite3_bind_int64(st, 8, l->unit_price);
    sqlite3_bind_int64(st, 9, l->discount);
    sqlite3_bind_int(st, 10, l->is_return ? 1 : 0);
    sqlite3_bind_int(st, 11, l->position);
    return step_done(s, st, err, "order line", l->id);
}

int
store_put_page(struct store *s, const struct store_page *p,
               struct pf_err *err)
{
    sqlite3_stmt *st;

    if (p->kind == NULL ||
        (strcmp(p->kind, "page") != 0 && strcmp(p->kind, "article") != 0)) {
        pf_errf(err, "page %s: kind '%s' is neither 'page' nor 'article'",
                p->id ? p->id : "", p->kind ? p->kind : "");
        return -1;
    }
    st = store_stmt(s, upsert_text[UP_PAGES], err);
    if (st == NULL)
        return -1;
    bind_text(st, 1, p->id);
    sqlite3_bind_text(st, 2, p->kind, -1, SQLITE_STATIC);
    bind_text(st, 3, p->title);
    bind_text(st, 4, p->url);
    bind_text(st, 5, p->summary);
    bind_text(st, 6, p->content);
    bind_text(st, 7, p->image);
    bind_text(st, 8, p->author);
    bind_opt_int(st, 9, p->created_at);
    bind_opt_int(st, 10, p->updated_at);
    sqlite3_bind_int(st, 11, p->visible ? 1 : 0);
    return step_done(s, st, err, "page", p->id);
}

int
store_put_review(struct store *s, const struct store_review *r,
                 struct pf_err *err)
{
    sqlite3_stmt *st;

    /* Written so that NaN fails too. */
    if (!(r->score >= 0.0 && r->score <= STORE_MAX_SCORE)) {
        pf_errf(err, "review %s: score %g is out of range (0 to %g)",
                r->id ? r->id : "", r->score, STORE_MAX_SCORE);
        return -1;
    }
    st = store_stmt(s, upsert_text[UP_REVIEWS], err);
    if (st == NULL)
        return -1;
    bind_text(st, 1, r->id);
    bind_text(st, 2, r->product_id);
    sqlite3_bind_double(st, 3, r->score);
    sqlite3_bind_int(st, 4, r->visible ? 1 : 0);
    bind_opt_int(st, 5, r->created_at);
    return step_done(s, st, err, "review", r->id);
}

int
store_lookup(struct store *s, const char *table, const char *id,
             struct pf_err *err)
{
    static const char *const sqls[][2] = {
        {"products", "SELECT 1 FROM products WHERE id = ?1"},
        {"variants", "SELECT 1 FROM variants WHERE id = ?1"},
        {"categories", "SELECT 1 FROM categories WHERE id = ?1"},
        {"locations", "SELECT 1 FROM locations WHERE id = ?1"},
        {"customers", "SELECT 1 FROM customers WHERE id = ?1"},
        {"orders", "SELECT 1 FROM orders WHERE id = ?1"},
        {"pages", "SELECT 1 FROM pages WHERE id = ?1"},
        {"reviews", "SELECT 1 FROM reviews WHERE id = ?1"},
    };
    size_t i;

    for (i = 0; i < sizeof(sqls) / sizeof(sqls[0]); i++) {
        if (strcmp(sqls[i][0], table) == 0) {
            sqlite3_stmt *st = store_stmt(s, sqls[i][1], err);
            int found;

            if (st == NULL)
                return -1;
            sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
            found = store_step(s, st, err, "looking up %s '%s'", table,
                               id);
            sqlite3_reset(st);
            return found;
        }
    }
    pf_errf(err, "store: no lookup for table '%s'", table);
    return -1;
}

int
store_has(struct store *s, const char *table, const char *id)
{
    struct pf_err e;
    int found;

    e.msg[0] = '\0';
    found = store_lookup(s, table, id, &e);
    if (found >= 0)
        return found;
    /* The caller cannot hear about it: make sure its transaction does
     * not commit on the strength of this "no". */
    if (!s->txn_failed) {
        s->txn_failed = 1;
        s->txn_err = e;
    }
    return 0;
}

int
store_rebuild_category_paths(struct store *s, struct pf_err *err)
{
    /* Walk the tree from its roots; a category is shown only if it and
     * all its ancestors are visible. Rows the walk never reaches sit in a
     * parent cycle: they are cut loose and become roots. */
    static const char walk[] =
        "WITH RECURSIVE t(id, depth, path, shown) AS ("
        "  SELECT id, 0, name, visible FROM categories"
        "   WHERE parent_id IS NULL"
        "  UNION ALL"
        "  SELECT c.id, t.depth + 1, t.path || ' > ' || c.name,"
        "         t.shown AND c.visible"
        "   FROM categories c JOIN t ON c.parent_id = t.id"
        "   WHERE t.depth < 100) "
        "UPDATE categories SET depth = t.depth, full_path = t.path,"
        "  shown = t.shown FROM t WHERE categories.id = t.id"
        "  AND (categories.depth IS NOT t.depth"
        "   OR categories.full_path IS NOT t.path"
        "   OR categories.shown IS NOT t.shown)";
    static const char cycles[] =
        "WITH RECURSIVE t(id) AS ("
        "  SELECT id FROM categories WHERE parent_id IS NULL"
        "  UNION SELECT c.id FROM categories c JOIN t ON c.parent_id = t.id)"
        "UPDATE categories SET parent_id = NULL"
        " WHERE id NOT IN (SELECT id FROM t)";
    int cut;

    if (store_exec(s, cycles, err) != 0)
        return -1;
    cut = sqlite3_changes(s->db);
    if (cut > 0)
        log_warn("%d categor%s in a parent cycle: treated as top-level",
                 cut, cut == 1 ? "y is" : "ies are");
    return store_exec(s, walk, err);
}

/* ---- sync state --------------------------------------------------------- */

int
store_get_bookmark(struct store *s, const char *stream, char **out,
                   struct pf_err *err)
{
    static const char sql[] =
        "SELECT bookmark FROM sync_state WHERE stream = ?1";
    sqlite3_stmt *st = store_stmt(s, sql, err);
    int rc;

    *out = NULL;
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, stream, -1, SQLITE_STATIC);
    rc = store_step(s, st, err, "reading the bookmark of %s", stream);
    if (rc == 1 && sqlite3_column_text(st, 0) != NULL)
        *out = xstrdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    return rc < 0 ? -1 : 0;
}

int
store_set_bookmark(struct store *s, const char *stream,
                   const char *bookmark, struct pf_err *err)
{
    static const char sql[] =
        "INSERT INTO sync_state(stream, bookmark, updated_at) "
        "VALUES (?1, ?2, ?3) ON CONFLICT(stream) DO UPDATE SET "
        "bookmark = excluded.bookmark, updated_at = excluded.updated_at "
        "WHERE bookmark IS NOT excluded.bookmark";
    sqlite3_stmt *st = store_stmt(s, sql, err);

    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, stream, -1, SQLITE_STATIC);
    bind_text(st, 2, bookmark);
    sqlite3_bind_int64(st, 3, pf_time_now());
    return step_done(s, st, err, "bookmark", stream);
}

/* ---- runs --------------------------------------------------------------- */

int
store_run_start(struct store *s, const char *kind, int64_t *run_id,
                struct pf_err *err)
{
    static const char sql[] =
        "INSERT INTO runs(kind, started_at) VALUES (?1, ?2)";
    /* Runs never overlap (the caller holds the store's lock), so a run
     * still marked running was killed before it could say so. */
    static const char stale[] =
        "UPDATE runs SET result = 'interrupted', error = 'the process "
        "ended before the run finished' WHERE result = 'running'";
    sqlite3_stmt *st;

    if (store_exec(s, stale, err) != 0)
        return -1;
    st = store_stmt(s, sql, err);
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, pf_time_now());
    if (step_done(s, st, err, "starting run", kind) != 0)
        return -1;
    *run_id = sqlite3_last_insert_rowid(s->db);
    s->warn_seq = 0;
    s->in_run = 1;
    return 0;
}

int
store_run_refused(struct store *s, const char *kind, const char *error,
                  struct pf_err *err)
{
    static const char sql[] =
        "INSERT INTO runs(kind, started_at, ended_at, result, error) "
        "VALUES (?1, ?2, ?2, 'failed', ?3)";
    sqlite3_stmt *st = store_stmt(s, sql, err);

    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, pf_time_now());
    bind_text(st, 3, error);
    return step_done(s, st, err, "recording run", kind);
}

int
store_unfinished_runs(struct store *s, int64_t *n, int64_t *last_id,
                      struct pf_err *err)
{
    static const char sql[] =
        "SELECT count(*), coalesce(max(id), 0) FROM runs "
        "WHERE result = 'running'";
    sqlite3_stmt *st = store_stmt(s, sql, err);
    int rc;

    *n = 0;
    *last_id = 0;
    if (st == NULL)
        return -1;
    rc = store_step(s, st, err, "reading the run history");
    if (rc == 1) {
        *n = sqlite3_column_int64(st, 0);
        *last_id = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    return rc < 0 ? -1 : 0;
}

int
store_quick_check(struct store *s, struct pf_err *err)
{
    /* quick_check skips the index-vs-table cross-checks of
     * integrity_check, so it costs about one read of the file; five
     * problems are enough to say what is wrong. */
    static const char sql[] = "PRAGMA quick_check(5)";
    sqlite3_stmt *st = NULL;
    struct pf_buf found;
    int rc, n = 0, ret = -1;

    pf_buf_init(&found);
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        db_fail(s, err, "starting the integrity check (PRAGMA quick_check)");
        goto cleanup;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *m = (const char *)sqlite3_column_text(st, 0);

        if (m == NULL || strcmp(m, "ok") == 0)
            continue;
        pf_buf_addf(&found, "%s%s", n++ > 0 ? "; " : "", m);
    }
    /* Damage bad enough stops the check itself with SQLITE_CORRUPT. */
    if (rc != SQLITE_DONE) {
        note_damage(s, rc);
        pf_buf_addf(&found, "%s%s", n++ > 0 ? "; " : "",
                    sqlite3_errmsg(s->db));
        if (!s->damaged) {
            pf_errf(err, "store %s: the integrity check (PRAGMA "
                    "quick_check) could not run: %s", s->path, found.data);
            goto cleanup;
        }
    }
    if (n > 0) {
        s->damaged = 1;
        pf_errf(err, "store %s failed its integrity check (PRAGMA "
                "quick_check): %s", s->path, found.data);
        goto cleanup;
    }
    ret = 0;
cleanup:
    sqlite3_finalize(st);
    pf_buf_free(&found);
    return ret;
}

int
store_run_count(struct store *s, int64_t run_id, const char *stream,
                int64_t rows, int64_t warnings, struct pf_err *err)
{
    static const char sql[] =
        "INSERT INTO run_counts(run_id, stream, rows, warnings) "
        "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(run_id, stream) DO UPDATE SET "
        "rows = rows + excluded.rows, warnings = warnings + "
        "excluded.warnings";
    sqlite3_stmt *st = store_stmt(s, sql, err);

    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_text(st, 2, stream, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, rows);
    sqlite3_bind_int64(st, 4, warnings);
    return step_done(s, st, err, "run count", stream);
}

int
store_run_warning(struct store *s, int64_t run_id, const char *msg)
{
    static const char sql[] =
        "INSERT OR IGNORE INTO run_warnings(run_id, seq, message) "
        "VALUES (?1, ?2, ?3)";
    static const char bump[] =
        "UPDATE runs SET warnings = warnings + 1 WHERE id = ?1";
    sqlite3_stmt *st;

    st = store_stmt(s, bump, NULL);
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, run_id);
    if (step_done(s, st, NULL, "", NULL) != 0)
        return -1;
    /* Keep the first few hundred messages; the count says the rest. */
    if (s->warn_seq >= 500)
        return 0;
    st = store_stmt(s, sql, NULL);
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int(st, 2, s->warn_seq++);
    sqlite3_bind_text(st, 3, msg, -1, SQLITE_STATIC);
    return step_done(s, st, NULL, "", NULL);
}

int
store_run_end(struct store *s, int64_t run_id, const char *result,
              const char *error, struct pf_err *err)
{
    static const char sql[] =
        "UPDATE runs SET ended_at = ?2, result = ?3, error = ?4 "
        "WHERE id = ?1";
    sqlite3_stmt *st = store_stmt(s, sql, err);

    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, pf_time_now());
    sqlite3_bind_text(st, 3, result, -1, SQLITE_STATIC);
    bind_text(st, 4, error);
    if (step_done(s, st, err, "ending run", NULL) != 0)
        return -1;
    /* The run's changes, stamped once (see in_run). */
    s->in_run = 0;
    if (sqlite3_get_autocommit(s->db))
        stamp_or_log(s, "at the end of a run");
    return 0;
}

/* ---- published feeds ---------------------------------------------------- */

int
store_feed_published(struct store *s, const struct store_feed_rec *r,
                     struct pf_err *err)
{
    static const char sql[] =
        "INSERT INTO feeds(name, path, bytes, gz_bytes, items, sha256, "
        "gz_sha256, access, published_at, build_seconds) VALUES (?1, ?2, "
        "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT(name) DO UPDATE SET "
        "path = excluded.path, bytes = excluded.bytes, "
        "gz_bytes = excluded.gz_bytes, items = excluded.items, "
        "sha256 = excluded.sha256, gz_sha256 = excluded.gz_sha256, "
        "access = excluded.access, published_at = excluded.published_at, "
        "build_seconds = excluded.build_seconds";
    sqlite3_stmt *st = store_stmt(s, sql, err);

    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, r->bytes);
    sqlite3_bind_int64(st, 4, r->gz_bytes);
    sqlite3_bind_int64(st, 5, r->items);
    sqlite3_bind_text(st, 6, r->sha256, -1, SQLITE_STATIC);
    bind_text(st, 7, r->gz_sha256);
    sqlite3_bind_text(st, 8, r->access, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, r->published_at);
    sqlite3_bind_double(st, 10, r->build_seconds);
    return step_done(s, st, err, "feed", r->name);
}

int
store_feed_forget_parts(struct store *s, const char *name, int nparts,
                        struct pf_err *err)
{
    static const char sql[] =
        "DELETE FROM feeds WHERE substr(name, 1, length(?1) + 6) = "
        "?1 || ':part-' AND CAST(substr(name, length(?1) + 7) AS INTEGER) "
        "> ?2";
    sqlite3_stmt *st = store_stmt(s, sql, err);

    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, nparts);
    return step_done(s, st, err, "feed parts", name);
}

int
store_feed_last_items(struct store *s, const char *name, int64_t *items,
                      struct pf_err *err)
{
    static const char sql[] = "SELECT items FROM feeds WHERE name = ?1";
    sqlite3_stmt *st = store_stmt(s, sql, err);
    int rc;

    *items = -1;
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    rc = store_step(s, st, err, "reading the last publish of feed '%s'",
                    name);
    if (rc == 1)
        *items = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc < 0 ? -1 : 0;
}

int
store_feed_left_out(struct store *s, const char *name,
                    const char *const *reasons, const int64_t *items,
                    size_t n, struct pf_err *err)
{
    static const char del[] = "DELETE FROM feed_left_out WHERE feed = ?1";
    static const char ins[] =
        "INSERT INTO feed_left_out(feed, reason, items) VALUES (?1, ?2, ?3)"
        " ON CONFLICT(feed, reason) DO UPDATE SET "
        "items = items + excluded.items";
    sqlite3_stmt *st;
    size_t i;

    /* A savepoint: one transaction of its own, or part of the caller's. */
    if (store_exec(s, "SAVEPOINT left_out", err) != 0)
        return -1;
    st = store_stmt(s, del, err);
    if (st == NULL)
        goto fail;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (step_done(s, st, err, "left-out counts of feed", name) != 0)
        goto fail;
    for (i = 0; i < n; i++) {
        if (items[i] <= 0)
            continue;
        st = store_stmt(s, ins, err);
        if (st == NULL)
            goto fail;
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, reasons[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, items[i]);
        if (step_done(s, st, err, "left-out counts of feed", name) != 0)
            goto fail;
    }
    return store_exec(s, "RELEASE left_out", err);
fail:
    store_exec(s, "ROLLBACK TO left_out; RELEASE left_out", NULL);
    return -1;
}
