/* fuzz_ndjson.c - the file source: one entity file of any bytes.
 *
 * The first byte picks the entity (locations, categories, products,
 * variants, stock, customers, orders, order_lines, pages, reviews); the
 * rest replaces that file in a copy of a store that has already imported
 * the shop of tests/fixtures/tiny (run from the repository root, as make
 * does; a tiny built-in set stands in otherwise). So references resolve, and the
 * snapshot, its drop gate and its cascades all run. Lines are capped at
 * 4 KB so over-long lines are reached too. Properties:
 * - a regular file never makes the sync fail, whatever it holds;
 * - every id in the store is valid UTF-8, non-empty and free of control
 *   characters; every other stored text is valid UTF-8 without the
 *   characters XML 1.0 forbids; every warning is valid UTF-8 on one line;
 * - quantities and amounts are within the store's bounds;
 * - importing the same files again (full) changes no row.
 * Everything lives in a private temp folder, removed at exit.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "source_file.h"
#include "store.h"
#include "sync.h"
#include "util.h"

#define NENT 10

/* Name, and content when tests/fixtures/tiny is not at hand. */
static const char *const files[NENT][2] = {
    {"locations.ndjson", "{\"id\": \"L1\", \"name\": \"A\"}\n"},
    {"categories.ndjson", "{\"id\": \"c1\", \"name\": \"C\"}\n"},
    {"products.ndjson",
     "{\"id\": \"p1\", \"name\": \"P\", \"category_ids\": [\"c1\"]}\n"},
    {"variants.ndjson",
     "{\"id\": \"v1\", \"product_id\": \"p1\", \"price\": \"1.00\"}\n"},
    {"stock.ndjson",
     "{\"variant_id\": \"v1\", \"location_id\": \"L1\", \"quantity\": 1}\n"},
    {"customers.ndjson", "{\"id\": \"u1\"}\n"},
    {"orders.ndjson",
     "{\"id\": \"o1\", \"status\": \"completed\", \"created_at\": "
     "\"2026-01-01\", \"total\": \"1.00\"}\n"},
    {"order_lines.ndjson",
     "{\"id\": \"l1\", \"order_id\": \"o1\", \"quantity\": 1, "
     "\"unit_price\": \"1.00\"}\n"},
    {"pages.ndjson",
     "{\"id\": \"page-1\", \"kind\": \"page\", \"title\": \"T\"}\n"},
    {"reviews.ndjson",
     "{\"id\": \"r1\", \"product_id\": \"p1\", \"score\": 4.5}\n"},
};

/* Every row of every table, for the re-import check. Run bookkeeping and
 * bookmarks change on every run and are left out, and so are the stamp
 * counter and what is cached under it (generation, derived): an id
 * listed twice in a file marks its row again, and the stamp of that
 * (at the pinned clock, so no row's changed_at moves) counts. */
static const char dump_sql[] =
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN "
    "('runs', 'run_counts', 'run_warnings', 'feeds', 'sync_state', "
    "'generation', 'derived') AND "
    "name NOT LIKE 'sqlite_%' ORDER BY name";

static char dir[64];
static char data_dir[96];
static char store_path[96];
static char *base[NENT];        /* each file's usual content */
static size_t base_len[NENT];
static struct timespec base_mtime[NENT][2];
static int dirty[NENT];         /* replaced by the last input */
static char *template;          /* the store after importing them */
static size_t template_len;

static void
check(int ok)
{
    if (!ok)
        abort();
}

static void
file_path(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", data_dir, name);
}

static void
remove_store(void)
{
    char p[128];

    unlink(store_path);
    snprintf(p, sizeof(p), "%s-wal", store_path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", store_path);
    unlink(p);
}

static void
remove_dir(void)
{
    char p[160];
    int i;

    for (i = 0; i < NENT; i++) {
        file_path(p, sizeof(p), files[i][0]);
        unlink(p);
    }
    remove_store();
    rmdir(data_dir);
    rmdir(dir);
    for (i = 0; i < NENT; i++)
        free(base[i]);
    free(template);
}

static void
load_base(void)
{
    struct pf_err err;
    char p[128];
    int i;

    for (i = 0; i < NENT; i++) {
        snprintf(p, sizeof(p), "tests/fixtures/tiny/%s", files[i][0]);
        if (pf_read_file(p, 1 << 20, &base[i], &base_len[i], &err) != 0) {
            base[i] = xstrdup(files[i][1]);
            base_len[i] = strlen(base[i]);
        }
    }
}

static void
write_file_at(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    check(f != NULL);
    check(fwrite(data, 1, len, f) == len);
    check(fclose(f) == 0);
}

static void
write_file(const char *name, const void *data, size_t len)
{
    char p[160];

    file_path(p, sizeof(p), name);
    write_file_at(p, data, len);
}

/* Puts file i back as it was when the template was made, mtime too, so
 * its bookmark matches and the sync skips it. */
static void
restore(int i)
{
    char p[160];

    write_file(files[i][0], base[i], base_len[i]);
    file_path(p, sizeof(p), files[i][0]);
    check(utimensat(AT_FDCWD, p, base_mtime[i], 0) == 0);
    dirty[i] = 0;
}

static void
sync_once(struct store *s, int full)
{
    struct source_file_opts o;
    struct sync_report rep;
    struct pf_err err = {""};
    int64_t run = 0;

    check(store_run_start(s, "sync", &run, &err) == 0);
    sync_report_init(&rep, s, run);
    source_file_opts_init(&o);
    o.dir = data_dir;
    o.default_currency = "EUR";
    o.full = full;
    o.max_line = 4096;
    check(source_file_sync(s, &o, &rep, &err) == 0);
    check(store_run_end(s, run, "ok", NULL, &err) == 0);
}

/* Imports the usual files once and keeps the store's bytes. */
static void
make_template(void)
{
    struct store *s = NULL;
    struct pf_err err = {""};
    struct stat sb;
    char p[160];
    int i;

    for (i = 0; i < NENT; i++) {
        write_file(files[i][0], base[i], base_len[i]);
        file_path(p, sizeof(p), files[i][0]);
        check(stat(p, &sb) == 0);
        base_mtime[i][0] = sb.st_atim;
        base_mtime[i][1] = sb.st_mtim;
    }
    check(store_open(store_path, &s, &err) == 0);
    sync_once(s, 0);
    store_close(s);
    check(pf_read_file(store_path, 64 << 20, &template, &template_len,
                       &err) == 0);
    remove_store();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* A pinned clock: the store stamps change times (changed_at) with
     * it, and a re-import that writes a row twice to the same end (an id
     * listed twice in a file) would otherwise differ when the second
     * ticks over. */
    setenv("POSFEED_NOW", "2026-01-01T00:00:00Z", 1);
    snprintf(dir, sizeof(dir), "/tmp/pf_fuzz_ndjson_XXXXXX");
    check(mkdtemp(dir) != NULL);
    snprintf(data_dir, sizeof(data_dir), "%s/data", dir);
    snprintf(store_path, sizeof(store_path), "%s/store.db", dir);
    check(mkdir(data_dir, 0700) == 0);
    atexit(remove_dir);
    pf_log_set_level(PF_LOG_ERROR);
    load_base();
    make_template();
    return 0;
}

/* Control characters an id may not hold (see source_file.c). */
static int
id_ok(const unsigned char *s, size_t n)
{
    size_t i;

    if (n == 0 || !pf_utf8_valid((const char *)s, n))
        return 0;
    for (i = 0; i < n; i++) {
        if (s[i] < 0x20 || s[i] == 0x7F)
            return 0;
        if (s[i] == 0xC2 && i + 1 < n && s[i + 1] >= 0x80 &&
            s[i + 1] <= 0x9F)
            return 0;
    }
    return 1;
}

/* Valid UTF-8 without what XML 1.0 forbids; no NUL inside. A warning
 * (one_line) holds no control character at all. */
static int
text_ok(const unsigned char *s, size_t n, int one_line)
{
    size_t i;

    if (!pf_utf8_valid((const char *)s, n))
        return 0;
    for (i = 0; i < n; i++) {
        if (one_line && (s[i] < 0x20 || s[i] == 0x7F))
            return 0;
        if (one_line)
            continue;
        if (s[i] < 0x20 && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return 0;
        if (s[i] == 0xEF && i + 2 < n && s[i + 1] == 0xBF &&
            (s[i + 2] == 0xBE || s[i + 2] == 0xBF))
            return 0;
    }
    return 1;
}

static int
is_id_column(const char *name)
{
    size_t n = strlen(name);

    return strcmp(name, "id") == 0 ||
           (n > 3 && strcmp(name + n - 3, "_id") == 0);
}

/* 1 for amounts, 2 for counts, 0 for other columns. */
static int
bounded_column(const char *name)
{
    static const char *const money[] = {
        "price", "list_price", "total", "discount_total", "unit_price",
        "discount", NULL
    };
    int i;

    if (strcmp(name, "quantity") == 0 || strcmp(name, "stock") == 0)
        return 2;
    for (i = 0; money[i] != NULL; i++)
        if (strcmp(name, money[i]) == 0)
            return 1;
    return 0;
}

/* Checks every value of table and appends its rows to b. */
static void
check_table(sqlite3 *db, const char *table, struct pf_buf *b)
{
    char sql[128];
    sqlite3_stmt *st = NULL;
    int c, n;

    snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\" ORDER BY 1, 2",
             table);
    check(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
    n = sqlite3_column_count(st);
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (c = 0; c < n; c++) {
            const char *col = sqlite3_column_name(st, c);
            const unsigned char *t = sqlite3_column_text(st, c);
            size_t len = (size_t)sqlite3_column_bytes(st, c);
            int type = sqlite3_column_type(st, c);

            if (type == SQLITE_TEXT && is_id_column(col))
                check(id_ok(t, len));
            else if (type == SQLITE_TEXT)
                check(text_ok(t, len, 0));
            if (type == SQLITE_INTEGER && bounded_column(col) == 1)
                check(store_money_ok(sqlite3_column_int64(st, c)));
            if (type == SQLITE_INTEGER && bounded_column(col) == 2)
                check(store_quantity_ok(sqlite3_column_int64(st, c)));
            pf_buf_add(b, t != NULL ? (const char *)t : "<null>",
                       t != NULL ? len : 6);
            pf_buf_addc(b, '|');
        }
        pf_buf_addc(b, '\n');
    }
    sqlite3_finalize(st);
}

/* The whole store, checked, as text. Caller frees. */
static char *
check_store(struct store *s)
{
    sqlite3 *db = store_db(s);
    sqlite3_stmt *st = NULL;
    struct pf_buf b;

    pf_buf_init(&b);
    pf_buf_adds(&b, "");
    check(sqlite3_prepare_v2(db, dump_sql, -1, &st, NULL) == SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);

        pf_buf_adds(&b, t);
        pf_buf_addc(&b, '\n');
        check_table(db, t, &b);
    }
    sqlite3_finalize(st);
    st = NULL;
    check(sqlite3_prepare_v2(db, "SELECT message FROM run_warnings", -1,
                             &st, NULL) == SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW)
        check(text_ok(sqlite3_column_text(st, 0),
                      (size_t)sqlite3_column_bytes(st, 0), 1));
    sqlite3_finalize(st);
    return b.data;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct store *s = NULL;
    struct pf_err err = {""};
    char *first, *again;
    int pick, i;

    if (size == 0)
        return 0;
    pick = data[0] % NENT;
    for (i = 0; i < NENT; i++)
        if (i != pick && dirty[i])
            restore(i);
    write_file(files[pick][0], data + 1, size - 1);
    dirty[pick] = 1;
    remove_store();
    write_file_at(store_path, template, template_len);
    check(store_open(store_path, &s, &err) == 0);
    /* Durability is not under test; fsyncs would be most of the time. */
    check(store_exec(s, "PRAGMA synchronous = OFF", &err) == 0);
    sync_once(s, 0);
    first = check_store(s);
    sync_once(s, 1);
    again = check_store(s);
    check(strcmp(first, again) == 0);
    free(first);
    free(again);
    store_close(s);
    return 0;
}
