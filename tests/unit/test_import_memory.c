/* test_import_memory.c - the file source's memory does not grow with the
 * data (issue 13, target 4).
 *
 * The same products file at two sizes, ten times apart, is imported into
 * a fresh store whose page caches are small, and SQLite's own peak memory
 * (sqlite3_status64 SQLITE_STATUS_MEMORY_USED, reset before each import)
 * is compared. Everything SQLite holds is bounded by those caches unless
 * something keeps a set that grows with the rows, as the in-memory TEMP
 * tables of seen keys once did. Nothing is timed.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "log.h"
#include "source_file.h"
#include "store.h"
#include "sync.h"

#define SMALL 3000
#define CACHE_KIB 64

static char g_tmp[PATH_MAX];

/* dir/products.ndjson with n products whose ids are long enough that a
 * set of them is clearly bigger than the caches. When skip >= 0, that
 * product is left out. */
static void
write_products(const char *dir, int n, int skip)
{
    char path[PATH_MAX + 32];
    FILE *f;
    int i;

    snprintf(path, sizeof(path), "%s/products.ndjson", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    for (i = 0; i < n; i++)
        if (i != skip)
            fprintf(f, "{\"id\": \"product-%08d-abcdefghijklmnopqrstuvwx\", "
                    "\"name\": \"Product %d\"}\n", i, i);
    assert_int_equal(fclose(f), 0);
}

/* Imports dir into the store at path; returns SQLite's peak memory
 * during the import, in bytes. */
static sqlite3_int64
import_peak(const char *path, const char *dir)
{
    struct pf_err err = {""};
    struct store *s = NULL;
    struct sync_report rep;
    struct source_file_opts o;
    sqlite3_int64 cur = 0, peak = 0;
    int64_t run;
    char sql[64];

    if (store_open(path, &s, &err) != 0)
        fail_msg("store_open: %s", err.msg);
    snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d", CACHE_KIB);
    assert_int_equal(store_exec(s, sql, &err), 0);
    if (store_run_start(s, "sync", &run, &err) != 0)
        fail_msg("run_start: %s", err.msg);
    sync_report_init(&rep, s, run);
    source_file_opts_init(&o);
    o.dir = dir;
    o.default_currency = "EUR";
    o.seen_cache_kib = CACHE_KIB;
    assert_int_equal(sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &cur,
                                      &peak, 1), SQLITE_OK);
    if (source_file_sync(s, &o, &rep, &err) != 0)
        fail_msg("source_file_sync: %s", err.msg);
    assert_int_equal(sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &cur,
                                      &peak, 0), SQLITE_OK);
    store_close(s);
    return peak;
}

static void
scratch(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", g_tmp, name);
    assert_int_equal(mkdir(out, 0755), 0);
}

static void
test_memory_flat_with_rows(void **state)
{
    char small[PATH_MAX], big[PATH_MAX], db1[PATH_MAX + 16],
        db2[PATH_MAX + 16];
    sqlite3_int64 p1, p2;

    (void)state;
    scratch(small, sizeof(small), "small");
    scratch(big, sizeof(big), "big");
    write_products(small, SMALL, -1);
    write_products(big, 10 * SMALL, -1);
    snprintf(db1, sizeof(db1), "%s/store.db", small);
    snprintf(db2, sizeof(db2), "%s/store.db", big);
    p1 = import_peak(db1, small);
    p2 = import_peak(db2, big);
    /* SQLite counts its memory (the default build); a zero would make
     * the comparison meaningless. */
    assert_true(p1 > 0);
    print_message("SQLite peak memory: %lld bytes for %d rows, %lld for "
                  "%d\n", (long long)p1, SMALL, (long long)p2, 10 * SMALL);
    if (p2 > p1 + p1 / 5)
        fail_msg("SQLite's peak memory grew from %lld bytes for %d rows to "
                 "%lld bytes for %d rows", (long long)p1, SMALL,
                 (long long)p2, 10 * SMALL);
}

/* The seen keys still do their job from the temporary file: a product
 * the next file leaves out is removed, every other one stays. */
static void
test_snapshot_still_removes(void **state)
{
    char dir[PATH_MAX], db[PATH_MAX + 16];
    struct pf_err err = {""};
    struct store *s = NULL;
    sqlite3_stmt *st = NULL;

    (void)state;
    scratch(dir, sizeof(dir), "snap");
    snprintf(db, sizeof(db), "%s/store.db", dir);
    write_products(dir, SMALL, -1);
    (void)import_peak(db, dir);
    write_products(dir, SMALL, 1234);
    (void)import_peak(db, dir);

    assert_int_equal(store_open(db, &s, &err), 0);
    assert_int_equal(sqlite3_prepare_v2(store_db(s),
        "SELECT count(*), sum(id = 'product-00001234-abcdefghijklmnopqrstuv"
        "wx') FROM products", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), SMALL - 1);
    assert_int_equal(sqlite3_column_int(st, 1), 0);
    sqlite3_finalize(st);
    store_close(s);
}

static void
write_text(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX + 32];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* The snapshot counts what a file leaves out by whole-table counts only
 * when every key it lists names a stored row. A refused row with a new
 * key names none, so there the rows are looked up one by one: p3, left
 * out, still goes, though the file lists as many keys as are stored. */
static void
test_refused_new_key_still_removes(void **state)
{
    char dir[PATH_MAX], db[PATH_MAX + 16];
    struct pf_err err = {""};
    struct store *s = NULL;
    sqlite3_stmt *st = NULL;

    (void)state;
    scratch(dir, sizeof(dir), "refused");
    snprintf(db, sizeof(db), "%s/store.db", dir);
    write_text(dir, "products.ndjson",
               "{\"id\": \"p1\", \"name\": \"One\"}\n"
               "{\"id\": \"p2\", \"name\": \"Two\"}\n"
               "{\"id\": \"p3\", \"name\": \"Three\"}\n");
    (void)import_peak(db, dir);
    write_text(dir, "products.ndjson",
               "{\"id\": \"p1\", \"name\": \"One\"}\n"
               "{\"id\": \"p2\", \"name\": \"Two\"}\n"
               "{\"id\": \"p9\", \"name\": \"\"}\n");
    (void)import_peak(db, dir);

    assert_int_equal(store_open(db, &s, &err), 0);
    assert_int_equal(sqlite3_prepare_v2(store_db(s),
        "SELECT group_concat(id, ',') FROM (SELECT id FROM products "
        "ORDER BY id)", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "p1,p2");
    sqlite3_finalize(st);
    store_close(s);
}

static int
setup_all(void **state)
{
    const char *t = getenv("TMPDIR");

    (void)state;
    pf_log_set_level(PF_LOG_ERROR);
    snprintf(g_tmp, sizeof(g_tmp), "%s/posfeed-import-mem-XXXXXX",
             t != NULL && t[0] ? t : "/tmp");
    return mkdtemp(g_tmp) != NULL ? 0 : -1;
}

static int
teardown_all(void **state)
{
    char cmd[PATH_MAX + 16];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_tmp);
    return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_flat_with_rows),
        cmocka_unit_test(test_snapshot_still_removes),
        cmocka_unit_test(test_refused_new_key_still_removes),
    };

    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
