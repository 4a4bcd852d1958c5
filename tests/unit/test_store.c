/* Unit tests: store.c - schema, idempotent upserts, cascades, category
 * tree, bookmarks and runs, on a real SQLite file. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store.h"
#include "store_fixture.h"

static int
setup(void **state)
{
    return store_fx_setup(state);
}

static int
teardown(void **state)
{
    return store_fx_teardown(state);
}

static int64_t
scalar(struct store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;

    assert_int_equal(sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL),
                     SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static char *
text(struct store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    char *v = NULL;

    assert_int_equal(sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL),
                     SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        v = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return v;
}

static void
put_catalog(struct store *s)
{
    struct pf_err err = {{0}};
    struct store_product p = {0};
    struct store_option opts[] = {{"Size", "M"}, {"Colour", "Red \"x\""}};
    struct store_variant v = {0};
    struct store_location l = {"L1", "Amsterdam", "Europe/Amsterdam"};
    const char *imgs[] = {"a.jpg", "b.jpg"};

    assert_int_equal(store_begin(s, &err), 0);
    assert_int_equal(store_put_location(s, &l, &err), 0);
    p.id = "p1";
    p.name = "Shirt";
    p.created_at = 1700000000;
    p.visible = 1;
    assert_int_equal(store_put_product(s, &p, &err), 0);
    v.id = "v1";
    v.product_id = "p1";
    v.price = 1250;
    v.currency = "EUR";
    v.track_stock = 1;
    v.options = opts;
    v.noptions = 2;
    assert_int_equal(store_put_variant(s, &v, &err), 0);
    assert_int_equal(store_put_stock(s, "v1", "L1", 4, &err), 0);
    assert_int_equal(store_set_images(s, "p1", imgs, 2, &err), 0);
    assert_int_equal(store_set_attributes(s, "product", "p1",
                                          STORE_ATTR_CUSTOM, opts, 2, &err),
                     0);
    assert_int_equal(store_commit(s, &err), 0);
}

static void
test_schema_version(void **state)
{
    struct fx *f = *state;

    assert_int_equal(scalar(f->s, "PRAGMA user_version"),
                     STORE_SCHEMA_VERSION);
    assert_int_equal(scalar(f->s, "PRAGMA foreign_keys"), 1);
    {
        char *mode = text(f->s, "PRAGMA journal_mode");

        assert_string_equal(mode, "wal");
        free(mode);
    }
}

static void
test_reopen_keeps_data(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};

    put_catalog(f->s);
    store_close(f->s);
    assert_int_equal(store_open(f->path, &f->s, &err), 0);
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM variants"), 1);
}

static void
test_newer_schema_refused(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};
    struct store *s2 = NULL;

    assert_int_equal(store_exec(f->s, "PRAGMA user_version = 99", &err), 0);
    assert_int_equal(store_open(f->path, &s2, &err), -1);
    assert_non_null(strstr(err.msg, "newer"));
}

static void
test_same_data_writes_nothing(void **state)
{
    struct fx *f = *state;
    int before;

    put_catalog(f->s);
    before = sqlite3_total_changes(store_db(f->s));
    put_catalog(f->s);
    assert_int_equal(sqlite3_total_changes(store_db(f->s)), before);
}

static void
test_changed_data_updates(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};
    const char *imgs[] = {"b.jpg"};
    char *opts;

    put_catalog(f->s);
    assert_int_equal(store_put_stock(f->s, "v1", "L1", 9, &err), 0);
    assert_int_equal(store_set_images(f->s, "p1", imgs, 1, &err), 0);
    assert_int_equal(scalar(f->s, "SELECT quantity FROM stock"), 9);
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM images"), 1);
    opts = text(f->s, "SELECT options FROM variants WHERE id = 'v1'");
    assert_string_equal(opts, "[[\"Size\",\"M\"],"
                              "[\"Colour\",\"Red \\\"x\\\"\"]]");
    free(opts);
}

static void
test_product_delete_cascades(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};

    put_catalog(f->s);
    assert_int_equal(store_exec(f->s, "DELETE FROM products WHERE id='p1'",
                                &err), 0);
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM variants"), 0);
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM stock"), 0);
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM images"), 0);
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM attributes"), 0);
}

static void
test_variant_needs_product(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};
    struct store_variant v = {0};

    v.id = "orphan";
    v.product_id = "nope";
    v.currency = "EUR";
    assert_int_equal(store_put_variant(f->s, &v, &err), -1);
    assert_non_null(strstr(err.msg, "orphan"));
}

static void
put_cat(struct store *s, const char *id, const char *name,
        const char *parent, int visible)
{
    struct store_category c = {0};
    struct pf_err err = {{0}};

    c.id = id;
    c.name = name;
    c.parent_id = parent;
    c.visible = visible;
    assert_int_equal(store_put_category(s, &c, &err), 0);
}

static void
test_category_paths(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};
    char *path;

    assert_int_equal(store_begin(f->s, &err), 0);
    put_cat(f->s, "c3", "Sneakers", "c2", 1);   /* child before parent */
    put_cat(f->s, "c1", "Men", NULL, 1);
    put_cat(f->s, "c2", "Shoes", "c1", 0);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_int_equal(store_rebuild_category_paths(f->s, &err), 0);
    path = text(f->s, "SELECT full_path FROM categories WHERE id = 'c3'");
    assert_string_equal(path, "Men > Shoes > Sneakers");
    free(path);
    assert_int_equal(scalar(f->s, "SELECT depth FROM categories "
                                  "WHERE id = 'c3'"), 2);
    /* Hidden through its parent. */
    assert_int_equal(scalar(f->s, "SELECT shown FROM categories "
                                  "WHERE id = 'c3'"), 0);
    assert_int_equal(scalar(f->s, "SELECT shown FROM categories "
                                  "WHERE id = 'c1'"), 1);
}

static void
test_category_cycle_broken(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};

    assert_int_equal(store_begin(f->s, &err), 0);
    put_cat(f->s, "a", "A", "b", 1);
    put_cat(f->s, "b", "B", "a", 1);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_int_equal(store_rebuild_category_paths(f->s, &err), 0);
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM categories "
                                  "WHERE full_path IS NOT NULL"), 2);
}

static void
test_bookmark_rolls_back_with_data(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};
    char *b = NULL;

    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(store_set_bookmark(f->s, "products", "one", &err), 0);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(store_set_bookmark(f->s, "products", "two", &err), 0);
    store_rollback(f->s);
    assert_int_equal(store_get_bookmark(f->s, "products", &b, &err), 0);
    assert_string_equal(b, "one");
    free(b);
    assert_int_equal(store_get_bookmark(f->s, "never", &b, &err), 0);
    assert_null(b);
}

static void
test_killed_run_marked_interrupted(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};
    int64_t a = 0, b = 0;

    assert_int_equal(store_run_start(f->s, "sync", &a, &err), 0);
    /* no store_run_end: the process died */
    assert_int_equal(store_run_start(f->s, "sync", &b, &err), 0);
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM runs WHERE "
                                  "result = 'interrupted'"), 1);
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM runs WHERE "
                                  "result = 'running'"), 1);
}

/* Overwrites the root pages of table and its indexes with garbage, as a
 * failing disk or a torn write would. The store must be closed (its WAL
 * checkpointed) first. */
static void
corrupt_table(const char *path, const char *table)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t pages[16], page_size = 0;
    int n = 0, i;
    char junk[65536];
    FILE *fp;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &st,
                                        NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    page_size = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT rootpage FROM "
                                        "sqlite_schema WHERE tbl_name = ?1 "
                                        "AND rootpage > 0", -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW && n < 16)
        pages[n++] = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_true(n > 0);
    assert_true(page_size > 0 && page_size <= (int64_t)sizeof(junk));
    memset(junk, 0xde, sizeof(junk));
    fp = fopen(path, "r+b");
    assert_non_null(fp);
    for (i = 0; i < n; i++) {
        assert_int_equal(fseek(fp, (long)((pages[i] - 1) * page_size),
                               SEEK_SET), 0);
        assert_int_equal(fwrite(junk, 1, (size_t)page_size, fp),
                         (size_t)page_size);
    }
    assert_int_equal(fclose(fp), 0);
}

/* A damaged page is a store error everywhere, never "not found". */
static void
test_damaged_page_is_an_error(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};
    struct store_feed_rec r = {0};
    int64_t items = 0;
    char *b = NULL;

    put_catalog(f->s);
    r.name = "clerk";
    r.path = "clerk.json";
    r.sha256 = "ab";
    r.access = "public";
    r.items = 42;
    assert_int_equal(store_feed_published(f->s, &r, &err), 0);
    assert_int_equal(store_lookup(f->s, "products", "p1", &err), 1);
    assert_int_equal(store_lookup(f->s, "products", "p2", &err), 0);
    assert_false(store_damaged(f->s));
    assert_int_equal(store_quick_check(f->s, &err), 0);
    store_close(f->s);
    f->s = NULL;
    corrupt_table(f->path, "products");
    corrupt_table(f->path, "feeds");
    assert_int_equal(store_open(f->path, &f->s, &err), 0);

    assert_int_equal(store_lookup(f->s, "products", "p1", &err), -1);
    assert_non_null(strstr(err.msg, "looking up products 'p1'"));
    assert_non_null(strstr(err.msg, "malformed"));
    assert_true(store_damaged(f->s));

    /* Not "never published": that would switch off the max_drop gate. */
    err.msg[0] = '\0';
    assert_int_equal(store_feed_last_items(f->s, "clerk", &items, &err),
                     -1);
    assert_non_null(strstr(err.msg, "feed 'clerk'"));

    /* store_has cannot say so, but its transaction does not commit. */
    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(store_set_bookmark(f->s, "products", "b1", &err), 0);
    assert_int_equal(store_has(f->s, "products", "p1"), 0);
    err.msg[0] = '\0';
    assert_int_equal(store_commit(f->s, &err), -1);
    assert_non_null(strstr(err.msg, "looking up products 'p1'"));
    assert_int_equal(store_get_bookmark(f->s, "products", &b, &err), 0);
    assert_null(b);
    /* The next transaction starts clean. */
    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(store_set_bookmark(f->s, "products", "b2", &err), 0);
    assert_int_equal(store_commit(f->s, &err), 0);

    err.msg[0] = '\0';
    assert_int_equal(store_quick_check(f->s, &err), -1);
    assert_non_null(strstr(err.msg, "quick_check"));
}

/* A sound store passes the check, product categories included (SQLite
 * 3.40 misread the version 1 layout of that table as holding NULLs). A
 * version 1 store is migrated and keeps its links. */
/* Takes a store back to before version 6: its triggers, the deleted
 * table and the changed_at columns go (and version 7's tables). */
static void
drop_version6(struct store *s)
{
    struct pf_err err = {{0}};
    static const char *const tables[] = {
        "products", "categories", "customers", "orders", NULL
    };
    sqlite3_stmt *st;
    char sql[256];
    char **names = NULL;
    size_t n = 0;

    assert_int_equal(sqlite3_prepare_v2(store_db(s),
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND "
        "name NOT LIKE '%drop_%'", -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        names = xrealloc(names, (n + 1) * sizeof(*names));
        names[n++] = xstrdup((const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    for (size_t i = 0; i < n; i++) {
        snprintf(sql, sizeof(sql), "DROP TRIGGER %s", names[i]);
        assert_int_equal(store_exec(s, sql, &err), 0);
        free(names[i]);
    }
    free(names);
    assert_int_equal(store_exec(s, "DROP TABLE deleted;"
                                "DROP TABLE render_epochs;"
                                "DROP TABLE generation;"
                                "DROP TABLE derived", &err), 0);
    for (int i = 0; tables[i]; i++) {
        snprintf(sql, sizeof(sql), "DROP INDEX %s_changed;"
                 "ALTER TABLE %s DROP COLUMN changed_at", tables[i],
                 tables[i]);
        assert_int_equal(store_exec(s, sql, &err), 0);
    }
}

static void
test_sound_store_passes_check(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};
    struct store_category c = {0};
    const char *cats[] = {"c1", "c2"};

    put_catalog(f->s);
    assert_int_equal(store_begin(f->s, &err), 0);
    c.name = "Shirts";
    c.visible = 1;
    c.id = "c1";
    assert_int_equal(store_put_category(f->s, &c, &err), 0);
    c.id = "c2";
    assert_int_equal(store_put_category(f->s, &c, &err), 0);
    assert_int_equal(store_set_product_categories(f->s, "p1", cats, 2,
                                                  &err), 0);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_int_equal(store_quick_check(f->s, &err), 0);

    /* Back to the version 1 layout, as a store written by an older
     * posfeed has it (without the tables of later versions). */
    drop_version6(f->s);
    assert_int_equal(store_exec(f->s,
        "BEGIN;"
        "CREATE TABLE pc1 (product_id TEXT NOT NULL REFERENCES products(id)"
        " ON DELETE CASCADE, category_id TEXT NOT NULL REFERENCES"
        " categories(id) ON DELETE CASCADE, position INTEGER NOT NULL,"
        " PRIMARY KEY (product_id, position)) WITHOUT ROWID;"
        "INSERT INTO pc1 SELECT product_id, category_id, position"
        " FROM product_categories;"
        "DROP TABLE product_categories;"
        "ALTER TABLE pc1 RENAME TO product_categories;"
        "CREATE INDEX product_categories_category"
        " ON product_categories(category_id);"
        "DROP TABLE feed_left_out;"
        "DROP TABLE reviews; DROP TABLE pages;"
        "DROP TABLE push_items; DROP TABLE push_skipped;"
        "DROP TABLE push_jobs;"
        "DROP TABLE verify_run;"
        "DROP TABLE verify_days;"
        "DROP TABLE properties;"
        "DROP TRIGGER customers_drop_properties;"
        "DROP TRIGGER orders_drop_properties;"
        "PRAGMA user_version = 1;"
        "COMMIT;", &err), 0);
    store_close(f->s);
    assert_int_equal(store_open(f->path, &f->s, &err), 0);
    assert_int_equal(scalar(f->s, "PRAGMA user_version"),
                     STORE_SCHEMA_VERSION);
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM product_categories"
                                  " WHERE product_id = 'p1'"), 2);
    assert_int_equal(scalar(f->s, "SELECT position FROM product_categories"
                                  " WHERE category_id = 'c2'"), 1);
    assert_int_equal(store_quick_check(f->s, &err), 0);
}

static void
test_unfinished_runs(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};
    int64_t a = 0, b = 0, n = -1, last = -1;

    assert_int_equal(store_unfinished_runs(f->s, &n, &last, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(last, 0);
    assert_int_equal(store_run_start(f->s, "sync", &a, &err), 0);
    assert_int_equal(store_run_end(f->s, a, "failed", "x", &err), 0);
    assert_int_equal(store_run_start(f->s, "run", &b, &err), 0);
    /* b never ends: its process died. */
    assert_int_equal(store_unfinished_runs(f->s, &n, &last, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(last, b);
    /* A refused run is recorded without touching the evidence. */
    assert_int_equal(store_run_refused(f->s, "build", "damaged", &err), 0);
    assert_int_equal(store_unfinished_runs(f->s, &n, &last, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(last, b);
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM runs WHERE "
                                  "result = 'failed' AND kind = 'build' "
                                  "AND ended_at IS NOT NULL"), 1);
    assert_int_equal(store_run_start(f->s, "run", &a, &err), 0);
    assert_int_equal(store_run_end(f->s, a, "ok", NULL, &err), 0);
    assert_int_equal(store_unfinished_runs(f->s, &n, &last, &err), 0);
    assert_int_equal(n, 0);
}

static void
test_runs_and_feeds(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};
    int64_t id = 0, items = 0;
    struct store_feed_rec r = {0};

    assert_int_equal(store_run_start(f->s, "sync", &id, &err), 0);
    assert_int_equal(store_run_count(f->s, id, "products", 5, 1, &err), 0);
    assert_int_equal(store_run_count(f->s, id, "products", 2, 0, &err), 0);
    assert_int_equal(store_run_warning(f->s, id, "bad row"), 0);
    assert_int_equal(store_run_end(f->s, id, "ok", NULL, &err), 0);
    assert_int_equal(scalar(f->s, "SELECT rows FROM run_counts"), 7);
    assert_int_equal(scalar(f->s, "SELECT warnings FROM runs"), 1);
    assert_int_equal(store_feed_last_items(f->s, "clerk", &items, &err),
                     0);
    assert_int_equal(items, -1);
    r.name = "clerk";
    r.path = "clerk.json";
    r.sha256 = "ab";
    r.access = "token";
    r.items = 42;
    assert_int_equal(store_feed_published(f->s, &r, &err), 0);
    assert_int_equal(store_feed_last_items(f->s, "clerk", &items, &err),
                     0);
    assert_int_equal(items, 42);
}

static void
test_feed_left_out(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};
    struct store_feed_rec r = {0};
    const char *why[] = {"missing image_link", "missing brand",
                         "missing id"};
    int64_t n[] = {2, 1, 0};

    r.name = "google";
    r.path = "google.xml";
    r.sha256 = "ab";
    r.access = "public";
    r.items = 5;
    assert_int_equal(store_feed_published(f->s, &r, &err), 0);
    assert_int_equal(store_feed_left_out(f->s, "google", why, n, 3, &err),
                     0);
    /* Reasons that left nothing out are not kept. */
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM feed_left_out"), 2);
    assert_int_equal(scalar(f->s, "SELECT items FROM feed_left_out WHERE "
                                  "reason = 'missing image_link'"), 2);
    /* The next build's record replaces the last one's. */
    n[0] = 0;
    assert_int_equal(store_feed_left_out(f->s, "google", why, n, 3, &err),
                     0);
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM feed_left_out"), 1);
    assert_int_equal(store_feed_left_out(f->s, "google", why, n, 0, &err),
                     0);
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM feed_left_out"), 0);
    /* Only for a feed that was published. */
    assert_int_equal(store_feed_left_out(f->s, "nope", why, n + 1, 1, &err),
                     -1);
    assert_non_null(strstr(err.msg, "left-out counts of feed nope"));
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM feed_left_out"), 0);
}

static void
test_migrates_to_left_out(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};
    struct store_feed_rec r = {0};

    r.name = "clerk";
    r.path = "clerk.json";
    r.sha256 = "ab";
    r.access = "token";
    r.items = 42;
    assert_int_equal(store_feed_published(f->s, &r, &err), 0);
    /* A store as posfeed with schema version 2 left it. */
    drop_version6(f->s);
    assert_int_equal(store_exec(f->s, "DROP TABLE feed_left_out;"
                                      "DROP TABLE reviews;"
                                      "DROP TABLE pages;"
                                      "DROP TABLE push_items;"
                                      "DROP TABLE push_skipped;"
                                      "DROP TABLE push_jobs;"
                                      "DROP TABLE verify_run;"
                                      "DROP TABLE verify_days;"
                                      "DROP TABLE properties;"
                                      "DROP TRIGGER "
                                      "customers_drop_properties;"
                                      "DROP TRIGGER "
                                      "orders_drop_properties;"
                                      "PRAGMA user_version = 2;", &err), 0);
    store_close(f->s);
    assert_int_equal(store_open(f->path, &f->s, &err), 0);
    assert_int_equal(scalar(f->s, "PRAGMA user_version"),
                     STORE_SCHEMA_VERSION);
    assert_int_equal(scalar(f->s, "SELECT items FROM feeds"), 42);
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM feed_left_out"), 0);
    assert_int_equal(store_quick_check(f->s, &err), 0);
}

/* ---- pages and reviews (schema version 4) ------------------------------ */

static void
put_page_review(struct store *s, double score, int visible)
{
    struct pf_err err = {{0}};
    struct store_page pg = {0};
    struct store_review r = {0};

    pg.id = "page-3";
    pg.kind = "page";
    pg.title = "About us";
    pg.url = "https://shop.example/service/about/";
    pg.content = "<p>Since 1999</p>";
    pg.updated_at = 1700000100;
    pg.visible = 1;
    r.id = "r1";
    r.product_id = "p1";
    r.score = score;
    r.visible = visible;
    r.created_at = 1700000200;
    assert_int_equal(store_begin(s, &err), 0);
    assert_int_equal(store_put_page(s, &pg, &err), 0);
    assert_int_equal(store_put_review(s, &r, &err), 0);
    assert_int_equal(store_commit(s, &err), 0);
}

static void
test_page_review_same_data_writes_nothing(void **state)
{
    struct fx *f = *state;
    int before;

    put_catalog(f->s);
    put_page_review(f->s, 4.5, 1);
    before = sqlite3_total_changes(store_db(f->s));
    put_page_review(f->s, 4.5, 1);
    assert_int_equal(sqlite3_total_changes(store_db(f->s)), before);
    /* A change is written: the review, and (schema version 6) its
     * product's changed_at, marked pending by the trigger and stamped
     * after the commit, and (version 7) the store's generation. */
    put_page_review(f->s, 2.0, 0);
    assert_int_equal(sqlite3_total_changes(store_db(f->s)), before + 4);
    assert_int_equal(scalar(f->s, "SELECT visible FROM reviews"), 0);
    assert_int_equal(scalar(f->s, "SELECT score * 10 FROM reviews"), 20);
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM pages"), 1);
}

static void
test_reviews_go_with_product(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};

    put_catalog(f->s);
    put_page_review(f->s, 5.0, 1);
    assert_int_equal(store_exec(f->s, "DELETE FROM products WHERE id='p1'",
                                &err), 0);
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM reviews"), 0);
    /* Pages do not belong to products. */
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM pages"), 1);
}

static void
test_review_needs_product(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};
    struct store_review r = {0};

    r.id = "r-orphan";
    r.product_id = "nope";
    r.score = 3;
    assert_int_equal(store_put_review(f->s, &r, &err), -1);
    assert_non_null(strstr(err.msg, "r-orphan"));
}

static void
test_review_score_bounds(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};
    struct store_review r = {0};
    const double bad[] = {-0.5, 5.01, 100.0};
    size_t i;

    put_catalog(f->s);
    r.product_id = "p1";
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err.msg[0] = '\0';
        r.id = "r-bad";
        r.score = bad[i];
        assert_int_equal(store_put_review(f->s, &r, &err), -1);
        assert_non_null(strstr(err.msg, "review r-bad"));
        assert_non_null(strstr(err.msg, "score"));
    }
    r.score = NAN;
    assert_int_equal(store_put_review(f->s, &r, &err), -1);
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM reviews"), 0);
    /* Both ends are valid. */
    r.id = "r0";
    r.score = 0.0;
    assert_int_equal(store_put_review(f->s, &r, &err), 0);
    r.id = "r5";
    r.score = 5.0;
    assert_int_equal(store_put_review(f->s, &r, &err), 0);
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM reviews"), 2);
}

static void
test_page_kind_checked(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};
    struct store_page pg = {0};

    pg.id = "page-9";
    pg.kind = "blog";
    assert_int_equal(store_put_page(f->s, &pg, &err), -1);
    assert_non_null(strstr(err.msg, "page-9"));
    pg.kind = "article";
    assert_int_equal(store_put_page(f->s, &pg, &err), 0);
    assert_int_equal(store_lookup(f->s, "pages", "page-9", &err), 1);
}

/* A store as posfeed with schema version 3 left it: everything it holds
 * survives the migration, and the new tables work. */
static void
test_migrates_to_pages(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};

    put_catalog(f->s);
    /* Later versions' tables go too: a version 3 store has none. */
    drop_version6(f->s);
    assert_int_equal(store_exec(f->s, "DROP TABLE reviews;"
                                      "DROP TABLE pages;"
                                      "DROP TABLE push_items;"
                                      "DROP TABLE push_skipped;"
                                      "DROP TABLE push_jobs;"
                                      "DROP TABLE verify_run;"
                                      "DROP TABLE verify_days;"
                                      "DROP TABLE properties;"
                                      "DROP TRIGGER "
                                      "customers_drop_properties;"
                                      "DROP TRIGGER "
                                      "orders_drop_properties;"
                                      "PRAGMA user_version = 3;", &err), 0);
    store_close(f->s);
    assert_int_equal(store_open(f->path, &f->s, &err), 0);
    assert_int_equal(scalar(f->s, "PRAGMA user_version"),
                     STORE_SCHEMA_VERSION);
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM products"), 1);
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM variants"), 1);
    assert_int_equal(scalar(f->s, "SELECT quantity FROM stock"), 4);
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM images"), 2);
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM attributes"), 2);
    put_page_review(f->s, 4.0, 1);
    assert_int_equal(scalar(f->s, "SELECT count(*) FROM reviews"), 1);
    assert_int_equal(store_quick_check(f->s, &err), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_schema_version, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_same_data_writes_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_data_updates, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_product_delete_cascades,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_variant_needs_product, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_category_paths, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_category_cycle_broken, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bookmark_rolls_back_with_data,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_run_marked_interrupted,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_feed_left_out, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_page_review_same_data_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reviews_go_with_product, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_review_needs_product, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_review_score_bounds, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_page_kind_checked, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_migrates_to_pages, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_migrates_to_left_out, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_runs_and_feeds, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_damaged_page_is_an_error,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_unfinished_runs, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sound_store_passes_check,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
