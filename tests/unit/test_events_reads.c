/* test_events_reads.c - the klaviyo-events build reads each store page a
 * bounded number of times, however many order lines point at products in
 * a random order (issue 13, target 1).
 *
 * Each line's product URL, first image and categories used to be looked
 * up per line, in order order: once the products outgrow SQLite's page
 * cache, every line costs a few page reads, so the reads (and the time
 * per event) grow with lines x catalog. Here the page cache is made tiny
 * and the store's page reads (SQLITE_DBSTATUS_CACHE_MISS) are counted
 * while the feed renders: a build that walks the tables in key order
 * reads about every page once; one that jumps per line reads several
 * pages per line, many times the store's size. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "config.h"
#include "feed.h"
#include "source.h"
#include "store.h"

/* Enough lines that per-line lookups would dwarf the store's pages. */
#define NPRODUCTS 3000
#define NORDERS 4000
#define LINES_PER_ORDER 5

struct efx {
    char dir[64];
    struct pf_config *cfg;
    struct store *s;
};

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

/* Products with a page, two images and two categories (one hidden);
 * orders whose lines point at products scattered over the catalog (a
 * multiplicative step modulo a prime), as real orders do. */
static const char fill_sql[] =
    "BEGIN;"
    "INSERT INTO locations(id, name) VALUES ('L1', 'Shop');"
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
    "WHERE i < 20) INSERT INTO categories(id, name, shown) "
    "SELECT 'c' || i, 'Category ' || i, i % 5 != 0 FROM n;"
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
    "WHERE i < 3000) INSERT INTO products(id, name, description, url, "
    "brand, created_at) SELECT 'P' || i, 'Product ' || i, "
    "printf('%.*c', 300, 'd'), '/p/' || i, 'Brand', 1700000000 FROM n;"
    "INSERT INTO images(product_id, position, url) "
    "SELECT id, k, '/img/' || id || '-' || k || '.jpg' FROM products, "
    "(SELECT 1 AS k UNION ALL SELECT 2);"
    "INSERT INTO product_categories(product_id, position, category_id) "
    "SELECT id, k, 'c' || ((products.rowid * k) % 20 + 1) FROM products, "
    "(SELECT 1 AS k UNION ALL SELECT 2);"
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
    "WHERE i < 4000) INSERT INTO orders(id, number, status, location_id, "
    "customer_id, email, currency, created_at, total) "
    "SELECT 'O' || i, i, 'completed', 'L1', 'C' || i, "
    "'c' || i || '@example.com', 'EUR', 1700000000 + i, 1000 FROM n;"
    "INSERT INTO order_lines(id, order_id, product_id, name, quantity, "
    "unit_price, position) SELECT o.id || '-' || k, o.id, "
    "'P' || ((o.rowid * 5 + k) * 7919 % 2999 + 1), 'Item', 1, 200, k "
    "FROM orders o, (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3 "
    "UNION ALL SELECT 4 UNION ALL SELECT 5);"
    "COMMIT;";

static int
setup(void **state)
{
    struct efx *f = calloc(1, sizeof(*f));
    struct pf_err err = {{0}};
    char path[160], text[512];

    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/pf-events-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/data", f->dir);
    if (mkdir(path, 0700) != 0)
        return -1;
    snprintf(text, sizeof(text),
             "[shop]\nname = S\ntimezone = UTC\ncurrency = EUR\n"
             "url = https://s.example\nstore = store.db\n"
             "feeds_dir = feeds\n[source]\ntype = file\npath = data\n"
             "[sync]\norders_lookback = all\ncollect_emails = yes\n"
             "[feed ev]\ntemplate = klaviyo-events\n"
             "output = ev.ndjson\n");
    snprintf(path, sizeof(path), "%s/posfeed.conf", f->dir);
    write_file(path, text);
    /* The built-in templates of this checkout (tests run from its
     * root). */
    setenv("POSFEED_TEMPLATES", "templates", 1);
    if (pf_config_load(path, source_schema, &f->cfg, &err) != 0 ||
        store_open(f->cfg->store_path, &f->s, &err) != 0 ||
        store_exec(f->s, fill_sql, &err) != 0) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct efx *f = *state;
    char cmd[160];
    int rc;

    store_close(f->s);
    pf_config_free(f->cfg);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    rc = system(cmd) == 0 ? 0 : -1;
    free(f);
    return rc;
}

static int64_t
one_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = -1;

    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Bytes this process read with read(2) and its kind (rchar in
 * /proc/self/io): every page SQLite reads on any connection. */
static int64_t
bytes_read(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    long long v = -1;
    char line[128];

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "rchar: %lld", &v) == 1)
            break;
    fclose(f);
    return v;
}

static void
test_pages_read_once_not_per_line(void **state)
{
    struct efx *f = *state;
    sqlite3 *db = store_db(f->s);
    const struct pf_feed_cfg *fc = pf_config_feed(f->cfg, "ev");
    struct pf_err err = {{0}};
    int64_t items = 0, pages, lines, read0, read1;
    int miss = 0, hi = 0, fd;

    assert_non_null(fc);
    if (bytes_read() < 0)
        skip();
    pages = one_int(db, "PRAGMA page_count");
    lines = one_int(db, "SELECT count(*) FROM order_lines");
    assert_int_equal(lines, NORDERS * LINES_PER_ORDER);
    /* 32 pages of cache: a small fraction of the products, images and
     * categories the lines point at. */
    assert_int_equal(sqlite3_exec(db, "PRAGMA cache_size = 32", NULL, NULL,
                                  NULL), SQLITE_OK);
    sqlite3_db_status(db, SQLITE_DBSTATUS_CACHE_MISS, &miss, &hi, 1);
    read0 = bytes_read();
    fd = open("/dev/null", O_WRONLY);
    assert_true(fd >= 0);
    if (feed_render_ndjson(f->cfg, fc, f->s, fd, &items, NULL, &err) != 0)
        fail_msg("render: %s", err.msg);
    close(fd);
    read1 = bytes_read();
    sqlite3_db_status(db, SQLITE_DBSTATUS_CACHE_MISS, &miss, &hi, 0);
    print_message("%lld events, %lld lines, %lld store pages; page reads "
                  "%d of the store's connection, %lld KiB read in all\n",
                  (long long)items, (long long)lines, (long long)pages,
                  miss, (long long)(read1 - read0) / 1024);
    /* Every order has a Placed Order and one Ordered Product per line. */
    assert_int_equal(items, NORDERS * (LINES_PER_ORDER + 1));
    /* Walking in key order reads each page about once (652 reads of 886
     * pages with one connection); looking products up per line read
     * about 5 pages per line (102,688 reads). */
    assert_true(miss <= 2 * pages);
    /* The same for every connection the build opens (the bytes include
     * the templates and the sorts' temporary files). */
    assert_true(read1 - read0 <= 3 * pages * 4096);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pages_read_once_not_per_line,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
