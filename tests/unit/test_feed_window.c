/* test_feed_window.c - feed_window.h: a collection a page at a time.
 *
 * Over a store filled with SQL (products with variants, stock, images,
 * categories, attributes and reviews; categories, orders with lines,
 * customers and pages, with rows every kind of setting, rule and
 * required field leaves out), each of the five Clerk feeds is rendered
 * whole with feed_render_ndjson() and then page by page with windows:
 * the pages, concatenated, must be the same bytes. Then resuming after a
 * deleted key, changed_since, left-out rows, snapshots, and the page
 * reads of a sparse window (test_feed_window_reads below). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "config.h"
#include "feed.h"
#include "feed_window.h"
#include "source.h"
#include "store.h"

struct wfx {
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

/* ids without padding, so TEXT order (P1, P10, P100, P101, ...) is not
 * the insert order; the count is fx.n. Products: every 17th hidden, every 11th without
 * variants (no price: @require), every 7th out of stock
 * (include_out_of_stock = no), every 13th of brand Old (a rule), and
 * P1 out of stock, so the first row read is left out. */
static const char fill_sql[] =
    "BEGIN;"
    "INSERT INTO locations(id, name) VALUES ('L1', 'Shop'), ('L2', 'Web');"
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
    "WHERE i < 30) INSERT INTO categories(id, name, parent_id, url, "
    "position, depth, full_path, shown) SELECT 'c' || i, 'Category ' || i, "
    "CASE WHEN i > 5 THEN 'c' || (i % 5 + 1) END, '/c/' || i, 31 - i, "
    "i > 5, 'Path ' || i, i % 6 != 0 FROM n;"
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
    "WHERE i < (SELECT n FROM fx)) INSERT INTO products(id, name, "
    "description, url, brand, created_at, visible) SELECT 'P' || i, 'Product ' || i, "
    "'<p>About ' || i || '</p>' || printf('%.*c', 400, 'x'), "
    "'/p/' || i, "
    "CASE WHEN i % 13 = 0 THEN 'Old' ELSE 'Brand' END, 1700000000 + i, "
    "i % 17 != 0 FROM n;"
    "INSERT INTO variants(id, product_id, sku, price, list_price, "
    "currency, track_stock, position, options) "
    "SELECT p.id || '-' || k, p.id, 'SKU' || p.rowid || k, "
    "1000 + p.rowid * 10 + k, CASE WHEN k = 1 THEN 2000 END, 'EUR', 1, k, "
    "json_array(json_array('Size', CASE k WHEN 1 THEN 'S' WHEN 2 THEN 'M' "
    "ELSE 'L' END)) FROM products p, (SELECT 1 AS k UNION ALL SELECT 2 "
    "UNION ALL SELECT 3) WHERE p.rowid % 11 != 0 AND k <= p.rowid % 3 + 1;"
    "INSERT INTO stock(variant_id, location_id, quantity) "
    "SELECT v.id, l.id, CASE WHEN p.rowid % 7 = 0 OR p.id = 'P1' THEN 0 "
    "ELSE v.position + (l.id = 'L2') END FROM variants v "
    "JOIN products p ON p.id = v.product_id, locations l;"
    "INSERT INTO images(product_id, position, url) "
    "SELECT id, k, '/img/' || id || '-' || k || '.jpg' FROM products, "
    "(SELECT 1 AS k UNION ALL SELECT 2) "
    "WHERE products.rowid % 5 != 0 OR k = 1;"
    "INSERT INTO product_categories(product_id, position, category_id) "
    "SELECT id, k, 'c' || ((products.rowid * k) % 30 + 1) FROM products, "
    "(SELECT 1 AS k UNION ALL SELECT 2);"
    "INSERT INTO attributes(entity, entity_id, origin, position, name, "
    "value) SELECT 'product', id, 'custom', k, 'Tags', 'tag' || k "
    "FROM products, (SELECT 1 AS k UNION ALL SELECT 2) "
    "WHERE k = 1 OR products.rowid % 9 = 0;"
    "INSERT INTO attributes(entity, entity_id, origin, position, name, "
    "value) SELECT 'product', id, 'auto', 1, 'Material', 'oak' "
    "FROM products WHERE rowid % 2 = 0;"
    "INSERT INTO reviews(id, product_id, score, visible) "
    "SELECT 'R' || p.rowid || k, p.id, (p.rowid + k) % 6, k != 3 "
    "FROM products p, (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL "
    "SELECT 3) WHERE p.rowid % 4 = 0;"
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
    "WHERE i < 120) INSERT INTO customers(id, email, first_name, "
    "last_name, city, consent, created_at) SELECT 'C' || i, "
    "'c' || i || '@example.com', 'First' || i, 'Last' || i, 'Town', "
    "i % 3 = 0, 1700000000 + i FROM n;"
    "INSERT INTO properties(entity, entity_id, name, value) "
    "SELECT 'customer', id, 'vip', 'true' FROM customers "
    "WHERE rowid % 4 = 0;"
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
    "WHERE i < 150) INSERT INTO orders(id, number, status, location_id, "
    "customer_id, email, currency, created_at, total) "
    "SELECT 'O' || i, i, 'completed', 'L1', 'C' || (i % 120 + 1), "
    "'c' || i || '@example.com', 'EUR', 1700000000 + i, 1000 FROM n;"
    "INSERT INTO order_lines(id, order_id, product_id, name, quantity, "
    "unit_price, position) SELECT o.id || '-' || k, o.id, "
    "CASE WHEN o.rowid % 9 != 0 THEN 'P' || ((o.rowid * 5 + k) % 199 + 1) "
    "END, 'Item', 1, 200, k FROM orders o, (SELECT 1 AS k UNION ALL "
    "SELECT 2 UNION ALL SELECT 3) WHERE k <= o.rowid % 3 + 1;"
    "INSERT INTO properties(entity, entity_id, name, value) "
    "SELECT 'order', id, 'channel', '\"web\"' FROM orders "
    "WHERE rowid % 3 = 0;"
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
    "WHERE i < 60) INSERT INTO pages(id, kind, title, url, summary, "
    "content, visible) SELECT 'G' || i, CASE WHEN i % 2 THEN 'page' "
    "ELSE 'article' END, 'Page ' || i, '/pages/' || i, "
    "CASE WHEN i % 5 != 0 THEN 'Summary ' || i END, "
    "CASE WHEN i % 3 != 0 THEN 'Text of ' || i END, i % 8 != 0 FROM n;"
    "UPDATE products SET changed_at = 100;"
    "UPDATE categories SET changed_at = 100;"
    "UPDATE customers SET changed_at = 100;"
    "UPDATE orders SET changed_at = 100;"
    "UPDATE pages SET changed_at = 100;"
    "COMMIT;";

static const char conf_fmt[] =
    "[shop]\nname = S\ntimezone = UTC\ncurrency = EUR\n"
    "url = https://s.example\nstore = store.db\nfeeds_dir = feeds\n"
    "[source]\ntype = file\npath = data\n"
    "[sync]\norders_lookback = all\ncollect_emails = yes\n"
    "include_out_of_stock = no\ninclude_customers = yes\n"
    "include_ratings = yes\ninclude_pages = yes\nattributes = auto\n"
    "custom_attributes = tags\n"
    "[feed products]\ntemplate = clerk-products\n"
    "output = products.json\nexclude = product.brand == 'Old'\n"
    "[feed categories]\ntemplate = clerk-categories\n"
    "output = categories.json\n"
    "[feed orders]\ntemplate = clerk-orders\noutput = orders.json\n"
    "[feed customers]\ntemplate = clerk-customers\n"
    "output = customers.json\n"
    "[feed pages]\ntemplate = clerk-pages\noutput = pages.json\n";

static int
fx_open(void **state, int nproducts)
{
    struct wfx *f = calloc(1, sizeof(*f));
    struct pf_err err = {{0}};
    char path[160], *sql;
    int rc;

    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/pf-window-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/data", f->dir);
    if (mkdir(path, 0700) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/posfeed.conf", f->dir);
    write_file(path, conf_fmt);
    setenv("POSFEED_TEMPLATES", "templates", 1);
    sql = xasprintf("CREATE TEMP TABLE fx(n INTEGER);"
                    "INSERT INTO fx VALUES (%d);%s", nproducts, fill_sql);
    rc = pf_config_load(path, source_schema, &f->cfg, &err) != 0 ||
         store_open(f->cfg->store_path, &f->s, &err) != 0 ||
         store_exec(f->s, sql, &err) != 0;
    free(sql);
    if (rc) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int
setup(void **state)
{
    return fx_open(state, 200);
}

static int
teardown(void **state)
{
    struct wfx *f = *state;
    char cmd[160];
    int rc;

    store_close(f->s);
    pf_config_free(f->cfg);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    rc = system(cmd) == 0 ? 0 : -1;
    free(f);
    return rc;
}

static void
exec_sql(struct store *s, const char *sql)
{
    struct pf_err err = {{0}};

    if (store_exec(s, sql, &err) != 0)
        fail_msg("%s: %s", sql, err.msg);
}

/* The whole feed as feed_render_ndjson() writes it. */
static char *
render_whole(struct wfx *f, const char *feed, int64_t *items)
{
    const struct pf_feed_cfg *fc = pf_config_feed(f->cfg, feed);
    struct pf_err err = {{0}};
    char path[160];
    struct pf_buf b;
    FILE *in;
    char chunk[4096];
    size_t n;
    int fd;

    assert_non_null(fc);
    snprintf(path, sizeof(path), "%s/whole.ndjson", f->dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    if (feed_render_ndjson(f->cfg, fc, f->s, fd, items, NULL, &err) != 0)
        fail_msg("render %s: %s", feed, err.msg);
    close(fd);
    pf_buf_init(&b);
    in = fopen(path, "r");
    assert_non_null(in);
    while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
        pf_buf_add(&b, chunk, n);
    fclose(in);
    pf_buf_addc(&b, '\0');
    return b.data;
}

struct pages {
    int64_t objects, rows, left_out, windows;
};

/* Every page of limit objects of feed from after, each window opened
 * after the last key of the one before, appended to out as NDJSON. */
static void
read_pages(struct wfx *f, const char *feed, const char *after,
           int64_t since, int64_t limit, struct feed_window_cache *cache,
           struct pf_buf *out, struct pages *pg)
{
    const struct pf_feed_cfg *fc = pf_config_feed(f->cfg, feed);
    struct pf_err err = {{0}};
    char *key = after ? strdup(after) : NULL;
    int more = 1;

    memset(pg, 0, sizeof(*pg));
    while (more) {
        struct feed_window_opts o = {.after = key,
                                     .changed_since = since,
                                     .limit = limit, .cache = cache};
        struct feed_window *w = NULL;
        int64_t rows, left, n = 0;
        int k;

        if (feed_window_open(f->cfg, fc, f->s, &o, &w, &err) != 0)
            fail_msg("open %s: %s", feed, err.msg);
        assert_string_equal(feed_window_collection(w), feed);
        while ((k = feed_window_next(w, out, &err)) == 1) {
            pf_buf_addc(out, '\n');
            n++;
        }
        if (k < 0)
            fail_msg("next %s: %s", feed, err.msg);
        feed_window_counts(w, &rows, &left);
        assert_int_equal(rows - left, n);
        assert_true(limit == 0 || n <= limit);
        more = feed_window_more(w);
        /* A page stops short only at the end. */
        assert_true(!more || n == limit);
        if (feed_window_last_key(w) != NULL) {
            free(key);
            key = strdup(feed_window_last_key(w));
        }
        pg->objects += n;
        pg->rows += rows;
        pg->left_out += left;
        pg->windows++;
        feed_window_free(w);
        assert_true(pg->windows < 100000);
    }
    free(key);
}

static const char *const feeds[] = {
    "products", "categories", "orders", "customers", "pages"
};

/* Rows of the feed's first collection a build reads (its settings'
 * WHERE), to check the windows' row counts. */
static int64_t
count_rows(struct wfx *f, const char *feed, const char *extra)
{
    static const char *const where[] = {
        "products WHERE visible = 1", "categories WHERE shown = 1",
        "orders WHERE 1", "customers WHERE 1", "pages WHERE visible = 1"
    };
    sqlite3_stmt *st;
    int64_t n = -1;
    size_t i;
    char *sql;

    for (i = 0; strcmp(feeds[i], feed) != 0; i++)
        ;
    sql = xasprintf("SELECT count(*) FROM %s%s", where[i],
                    extra ? extra : "");
    assert_int_equal(sqlite3_prepare_v2(store_db(f->s), sql, -1, &st,
                                        NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    free(sql);
    return n;
}

static void
test_pages_equal_whole(void **state)
{
    static const int64_t sizes[] = {1, 3, 1000, 0};
    struct wfx *f = *state;
    struct feed_window_cache *cache = feed_window_cache_new();
    size_t i, j;

    for (i = 0; i < sizeof(feeds) / sizeof(feeds[0]); i++) {
        int64_t items = 0;
        char *whole = render_whole(f, feeds[i], &items);

        assert_true(items > 10);
        for (j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++) {
            struct pf_buf out;
            struct pages pg;

            pf_buf_init(&out);
            read_pages(f, feeds[i], NULL, INT64_MIN, sizes[j],
                       j % 2 ? cache : NULL, &out, &pg);
            if (strcmp(out.data ? out.data : "", whole) != 0)
                fail_msg("%s in pages of %lld differs from the whole "
                         "render", feeds[i], (long long)sizes[j]);
            assert_int_equal(pg.objects, items);
            assert_int_equal(pg.rows, count_rows(f, feeds[i], NULL));
            assert_int_equal(pg.rows - pg.left_out, items);
            pf_buf_free(&out);
        }
        free(whole);
    }
    feed_window_cache_free(cache);
}

/* The NDJSON lines of text whose "id" sorts after key (key NULL: all)
 * and, when ids is not NULL, is one of them. */
static char *
lines_where(const char *text, const char *key, const cJSON *ids)
{
    struct pf_buf b;
    const char *p = text, *nl;

    pf_buf_init(&b);
    pf_buf_adds(&b, "");
    for (; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
        cJSON *o = cJSON_ParseWithLength(p, (size_t)(nl - p));
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
        int keep = cJSON_IsString(id) &&
                   (key == NULL || strcmp(id->valuestring, key) > 0);
        const cJSON *x;

        assert_true(cJSON_IsString(id));
        if (keep && ids != NULL) {
            keep = 0;
            cJSON_ArrayForEach(x, ids)
                keep |= strcmp(x->valuestring, id->valuestring) == 0;
        }
        if (keep)
            pf_buf_add(&b, p, (size_t)(nl - p + 1));
        cJSON_Delete(o);
    }
    return b.data;
}

static void
test_after_missing_key(void **state)
{
    struct wfx *f = *state;
    struct feed_window_cache *cache = feed_window_cache_new();
    struct pf_buf out;
    struct pages pg;
    int64_t items;
    char *whole, *want, *first;
    const char *nl;

    /* No product has this id: it sorts between P15 and P150. */
    whole = render_whole(f, "products", &items);
    want = lines_where(whole, "P15+", NULL);
    pf_buf_init(&out);
    read_pages(f, "products", "P15+", INT64_MIN, 7, cache, &out, &pg);
    assert_string_equal(out.data, want);
    assert_true(strncmp(want, "{\"id\":\"P150\"", 12) == 0);
    pf_buf_free(&out);
    free(want);
    free(whole);

    /* A page's last customer deleted before the next page. */
    whole = render_whole(f, "customers", &items);
    pf_buf_init(&out);
    {
        const struct pf_feed_cfg *fc = pf_config_feed(f->cfg, "customers");
        struct feed_window_opts o = {.changed_since = INT64_MIN,
                                     .limit = 3};
        struct feed_window *w = NULL;
        struct pf_err err = {{0}};
        char *sql;

        assert_int_equal(feed_window_open(f->cfg, fc, f->s, &o, &w, &err),
                         0);
        while (feed_window_next(w, &out, &err) == 1)
            pf_buf_addc(&out, '\n');
        assert_true(feed_window_more(w));
        first = strdup(feed_window_last_key(w));
        feed_window_free(w);
        sql = xasprintf("DELETE FROM customers WHERE id = '%s'", first);
        exec_sql(f->s, sql);
        free(sql);
    }
    {
        struct pf_buf rest;

        pf_buf_init(&rest);
        read_pages(f, "customers", first, INT64_MIN, 3, NULL, &rest, &pg);
        nl = whole;
        for (int i = 0; i < 3; i++)
            nl = strchr(nl, '\n') + 1;
        assert_string_equal(rest.data, nl);
        pf_buf_free(&rest);
    }
    free(first);
    pf_buf_free(&out);
    free(whole);
    feed_window_cache_free(cache);
}

/* The ids of table's rows with changed_at >= since, as a JSON list. */
static cJSON *
changed_ids(struct wfx *f, const char *table, int64_t since)
{
    cJSON *ids = cJSON_CreateArray();
    sqlite3_stmt *st;
    char *sql = xasprintf("SELECT id FROM %s WHERE changed_at >= %lld",
                          table, (long long)since);

    assert_int_equal(sqlite3_prepare_v2(store_db(f->s), sql, -1, &st,
                                        NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW)
        cJSON_AddItemToArray(ids, cJSON_CreateString(
            (const char *)sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
    free(sql);
    return ids;
}

static void
test_changed_since(void **state)
{
    static const int64_t sizes[] = {1, 3, 0};
    struct wfx *f = *state;
    struct feed_window_cache *cache = feed_window_cache_new();
    size_t i, j;

    for (i = 0; i < sizeof(feeds) / sizeof(feeds[0]); i++) {
        const char *t = feeds[i];
        char *sql = xasprintf(
            "UPDATE %s SET changed_at = 200 + rowid %% 3 "
            "WHERE rowid %% 4 = 1;"
            "UPDATE %s SET changed_at = 9223372036854775807 "
            "WHERE rowid %% 10 = 3;", t, t);
        int64_t items;
        char *whole, *want;
        cJSON *ids;

        exec_sql(f->s, sql);
        free(sql);
        whole = render_whole(f, t, &items);
        ids = changed_ids(f, t, 201);
        want = lines_where(whole, NULL, ids);
        assert_true(strlen(want) > 0);
        for (j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++) {
            struct pf_buf out;
            struct pages pg;

            pf_buf_init(&out);
            read_pages(f, t, NULL, 201, sizes[j], cache, &out, &pg);
            assert_string_equal(out.data ? out.data : "", want);
            assert_int_equal(pg.rows,
                             count_rows(f, t, " AND changed_at >= 201"));
            pf_buf_free(&out);
        }
        cJSON_Delete(ids);
        free(want);
        free(whole);
    }
    feed_window_cache_free(cache);
}

/* One page of limit objects from after; NULL-safe last key copied. */
static void
one_page(struct wfx *f, const char *feed, const char *after, int64_t limit,
         struct pf_buf *out, int64_t *rows, int64_t *left, char **last,
         int *more)
{
    const struct pf_feed_cfg *fc = pf_config_feed(f->cfg, feed);
    struct feed_window_opts o = {.after = after,
                                 .changed_since = INT64_MIN,
                                 .limit = limit};
    struct feed_window *w = NULL;
    struct pf_err err = {{0}};
    int k;

    assert_int_equal(feed_window_open(f->cfg, fc, f->s, &o, &w, &err), 0);
    assert_null(feed_window_last_key(w));
    while ((k = feed_window_next(w, out, &err)) == 1)
        pf_buf_addc(out, '\n');
    assert_int_equal(k, 0);
    feed_window_counts(w, rows, left);
    *last = feed_window_last_key(w) ? strdup(feed_window_last_key(w))
                                    : NULL;
    *more = feed_window_more(w);
    feed_window_free(w);
}

static void
test_left_out_rows_advance(void **state)
{
    struct wfx *f = *state;
    struct pf_buf out;
    int64_t rows, left;
    char *last;
    int more;

    /* P1 (out of stock) is read and left out; P10 is written. */
    pf_buf_init(&out);
    one_page(f, "products", NULL, 1, &out, &rows, &left, &last, &more);
    assert_int_equal(rows, 2);
    assert_int_equal(left, 1);
    assert_string_equal(last, "P10");
    assert_true(more);
    assert_true(strncmp(out.data, "{\"id\":\"P10\"", 11) == 0);
    free(last);
    pf_buf_free(&out);

    /* After P97 the rows left are P98 (out of stock) and P99 (no
     * variants): both read, both left out, the last key is P99. */
    pf_buf_init(&out);
    one_page(f, "products", "P97", 5, &out, &rows, &left, &last, &more);
    assert_int_equal(rows, 2);
    assert_int_equal(left, 2);
    assert_string_equal(last, "P99");
    assert_false(more);
    assert_true(out.data == NULL || out.data[0] == '\0');
    free(last);
    pf_buf_free(&out);

    /* Nothing after the last key: no row read, no key. */
    pf_buf_init(&out);
    one_page(f, "products", "P99", 5, &out, &rows, &left, &last, &more);
    assert_int_equal(rows, 0);
    assert_null(last);
    assert_false(more);
    pf_buf_free(&out);
}

static void
test_snapshot(void **state)
{
    struct wfx *f = *state;
    struct store *other = NULL;
    struct pf_err err = {{0}};
    struct pf_buf out, rest;
    struct pages pg;
    int64_t items, rows, left;
    char *whole, *last, *after;
    int more;

    whole = render_whole(f, "products", &items);
    exec_sql(f->s, "BEGIN");
    pf_buf_init(&out);
    one_page(f, "products", NULL, 4, &out, &rows, &left, &last, &more);
    assert_true(more);
    /* Another connection changes a product of a later page, adds one
     * and deletes one, and commits. */
    if (store_open(f->cfg->store_path, &other, &err) != 0)
        fail_msg("open: %s", err.msg);
    exec_sql(other, "UPDATE products SET name = 'Renamed' "
                    "WHERE id = 'P150';"
                    "DELETE FROM products WHERE id = 'P160';"
                    "INSERT INTO products(id, name, visible) "
                    "VALUES ('P2a', 'New', 1);"
                    "INSERT INTO variants(id, product_id, price, currency, "
                    "track_stock) VALUES ('P2a-1', 'P2a', 5, 'EUR', 0);");
    store_close(other);
    pf_buf_init(&rest);
    read_pages(f, "products", last, INT64_MIN, 4, NULL, &rest, &pg);
    pf_buf_adds(&out, rest.data ? rest.data : "");
    assert_string_equal(out.data, whole);
    exec_sql(f->s, "COMMIT");
    free(whole);
    free(last);
    pf_buf_free(&out);
    pf_buf_free(&rest);

    /* A new snapshot sees the commit. */
    whole = render_whole(f, "products", &items);
    assert_non_null(strstr(whole, "\"Renamed\""));
    pf_buf_init(&out);
    after = NULL;
    read_pages(f, "products", after, INT64_MIN, 4, NULL, &out, &pg);
    assert_string_equal(out.data, whole);
    free(whole);
    pf_buf_free(&out);
}

/* Pages with the cache match the whole render of the store as it is
 * now: a commit that makes an attribute a list everywhere reaches the
 * next window whether another connection or this one made it. */
static void
check_cached_pages(struct wfx *f, struct feed_window_cache *cache,
                   const char *must_have)
{
    struct pf_buf out;
    struct pages pg;
    int64_t items;
    char *whole = render_whole(f, "products", &items);

    assert_non_null(strstr(whole, must_have));
    pf_buf_init(&out);
    read_pages(f, "products", NULL, INT64_MIN, 50, cache, &out, &pg);
    assert_string_equal(out.data, whole);
    pf_buf_free(&out);
    free(whole);
}

static void
test_cache_follows_commits(void **state)
{
    struct wfx *f = *state;
    struct feed_window_cache *cache = feed_window_cache_new();
    struct store *other = NULL;
    struct pf_err err = {{0}};

    check_cached_pages(f, cache, "\"material\":\"oak\"");
    if (store_open(f->cfg->store_path, &other, &err) != 0)
        fail_msg("open: %s", err.msg);
    exec_sql(other, "INSERT INTO attributes(entity, entity_id, origin, "
                    "position, name, value) VALUES ('product', 'P2', "
                    "'auto', 2, 'Material', 'elm')");
    store_close(other);
    check_cached_pages(f, cache, "\"material\":[\"oak\"]");
    exec_sql(f->s, "DELETE FROM attributes WHERE entity_id = 'P2' "
                   "AND position = 2");
    check_cached_pages(f, cache, "\"material\":\"oak\"");
    feed_window_cache_free(cache);
}

/* A products window over f->s's connection other (NULL: f->s) with
 * cache; the cache's list attributes as text (caller frees). */
static char *
cache_after_window(struct wfx *f, struct store *other,
                   struct feed_window_cache *cache)
{
    struct feed_window_opts o = {.changed_since = INT64_MIN, .limit = 1,
                                 .cache = cache};
    struct feed_window *w = NULL;
    struct pf_err err = {{0}};

    if (feed_window_open(f->cfg, pf_config_feed(f->cfg, "products"),
                         other ? other : f->s, &o, &w, &err) != 0)
        fail_msg("open: %s", err.msg);
    feed_window_free(w);
    return feed_window_cache_text(cache);
}

static int64_t
sql_count(struct store *s, const char *sql)
{
    sqlite3_stmt *st;
    int64_t n = -1;

    assert_int_equal(sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL),
                     SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static int64_t
count_derived(struct store *s)
{
    return sql_count(s, "SELECT count(*) FROM derived");
}

static int64_t
generation(struct store *s)
{
    struct pf_err err = {{0}};
    int64_t gen;

    if (store_generation(s, &gen, &err) != 0)
        fail_msg("generation: %s", err.msg);
    return gen;
}

/* The list attributes a run stores (feed_window_cache_save) fill a new
 * cache of a snapshot of the same generation, on any connection, instead
 * of a read of the catalog; a snapshot of another generation (a change
 * pending, or stamped since) never uses them. The stored value is
 * replaced by a marker no catalog read could compute, so the text shows
 * which one a cache used. */
static void
test_stored_list_attributes(void **state)
{
    struct wfx *f = *state;
    struct pf_err err = {{0}};
    struct feed_window_cache *a = feed_window_cache_new(), *b;
    struct store *other = NULL;
    char *real, *got;

    /* The fixture's rows carry stamps: generation 0. */
    assert_int_equal(generation(f->s), 0);
    real = cache_after_window(f, NULL, a);
    assert_true(real[0] != '\0');
    assert_int_equal(count_derived(f->s), 0);
    assert_int_equal(feed_window_cache_save(a, f->s, &err), 0);
    assert_int_equal(sql_count(f->s, "SELECT count(*) FROM derived WHERE "
                                     "generation = 0"), 1);
    exec_sql(f->s, "UPDATE derived SET value = 'zz-stored' || char(10) "
                   "WHERE key LIKE 'products/list-attributes/%'");
    /* Another connection, the same generation: the stored value. */
    if (store_open(f->cfg->store_path, &other, &err) != 0)
        fail_msg("open: %s", err.msg);
    b = feed_window_cache_new();
    got = cache_after_window(f, other, b);
    assert_string_equal(got, "zz-stored\n");
    free(got);
    feed_window_cache_free(b);
    /* A change waits for its stamp: no generation, a catalog read, and
     * nothing to store. */
    exec_sql(f->s, "UPDATE products SET name = 'Renamed' WHERE id = 'P3'");
    assert_int_equal(generation(other), -1);
    b = feed_window_cache_new();
    got = cache_after_window(f, other, b);
    assert_string_equal(got, real);
    free(got);
    assert_int_equal(feed_window_cache_save(b, f->s, &err), 0);
    feed_window_cache_free(b);
    /* Stamped: generation 1, and the value stored for 0 is not used. */
    if (store_stamp_changes(f->s, 1001, &err) != 0)
        fail_msg("stamp: %s", err.msg);
    assert_int_equal(generation(other), 1);
    b = feed_window_cache_new();
    got = cache_after_window(f, other, b);
    assert_string_equal(got, real);
    free(got);
    /* A cache filled at generation 0 stores nothing now. */
    assert_int_equal(feed_window_cache_save(a, f->s, &err), 0);
    assert_int_equal(sql_count(f->s, "SELECT count(*) FROM derived WHERE "
                                     "generation = 0 AND value = "
                                     "'zz-stored' || char(10)"), 1);
    /* The cache filled at generation 1 does. */
    assert_int_equal(feed_window_cache_save(b, f->s, &err), 0);
    assert_int_equal(sql_count(f->s, "SELECT count(*) FROM derived WHERE "
                                     "generation = 1"), 1);
    feed_window_cache_free(b);
    feed_window_cache_free(a);
    store_close(other);
    free(real);
}

static void
test_not_a_window(void **state)
{
    struct wfx *f = *state;
    struct pf_feed_cfg fc = *pf_config_feed(f->cfg, "orders");
    struct feed_window_opts o = {.changed_since = INT64_MIN};
    struct feed_window *w = NULL;
    struct pf_err err = {{0}};
    char path[160];

    /* Events are built from orders with lookups of their own. */
    snprintf(path, sizeof(path), "%s/events.json", f->dir);
    write_file(path, "[{\"@each\": \"events\", \"id\": "
                     "\"{{event.id}}\"}]");
    fc.template_path = path;
    assert_int_equal(feed_window_open(f->cfg, &fc, f->s, &o, &w, &err),
                     -1);
    assert_null(w);
    assert_non_null(strstr(err.msg, "events.json"));
    assert_non_null(strstr(err.msg, "'events'"));
    /* A template that is no list of rows. */
    write_file(path, "{\"shop\": \"{{shop.name}}\"}");
    assert_int_equal(feed_window_open(f->cfg, &fc, f->s, &o, &w, &err),
                     -1);
    assert_non_null(strstr(err.msg, "not a list of one"));
}

static int
setup_big(void **state)
{
    return fx_open(state, 20000);
}

/* Store pages one window of products reads (SQLITE_DBSTATUS_CACHE_MISS
 * with a small page cache), and its rows and objects. */
static int
window_misses(struct wfx *f, int64_t since,
              struct feed_window_cache *cache, int64_t *objects,
              int64_t *rows)
{
    const struct pf_feed_cfg *fc = pf_config_feed(f->cfg, "products");
    struct feed_window_opts o = {.changed_since = since,
                                 .cache = cache};
    struct feed_window *w = NULL;
    struct pf_err err = {{0}};
    struct pf_buf b;
    int miss = 0, hi = 0, k;

    pf_buf_init(&b);
    sqlite3_db_status(store_db(f->s), SQLITE_DBSTATUS_CACHE_MISS, &miss,
                      &hi, 1);
    if (feed_window_open(f->cfg, fc, f->s, &o, &w, &err) != 0)
        fail_msg("open: %s", err.msg);
    *objects = 0;
    while ((k = feed_window_next(w, &b, &err)) == 1) {
        pf_buf_reset(&b);
        (*objects)++;
    }
    assert_int_equal(k, 0);
    feed_window_counts(w, rows, NULL);
    feed_window_free(w);
    sqlite3_db_status(store_db(f->s), SQLITE_DBSTATUS_CACHE_MISS, &miss,
                      &hi, 0);
    pf_buf_free(&b);
    return miss;
}

/* A changed_since window over 1% of 20,000 products reads the pages of
 * those products and their children, not the catalog: each child cursor
 * looks the row's key up instead of merging its whole table, and the
 * catalog-wide list attributes come from the cache. */
static void
test_feed_window_reads(void **state)
{
    struct wfx *f = *state;
    sqlite3 *db = store_db(f->s);
    struct feed_window_cache *cache = feed_window_cache_new();
    int64_t objects, rows, all_objects, all_rows, pages;
    int full, cold, sparse;
    sqlite3_stmt *st;

    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA page_count", -1, &st,
                                        NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    pages = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    exec_sql(f->s, "UPDATE products SET changed_at = 300 "
                   "WHERE rowid % 100 = 7;"
                   "PRAGMA cache_size = 64;");
    full = window_misses(f, INT64_MIN, cache, &all_objects, &all_rows);
    cold = window_misses(f, 300, NULL, &objects, &rows);
    sparse = window_misses(f, 300, cache, &objects, &rows);
    print_message("%lld store pages; all products: %lld rows, %d page "
                  "reads; 1%% changed: %lld rows, %lld objects, %d page "
                  "reads (%d without the cache)\n", (long long)pages,
                  (long long)all_rows, full, (long long)rows,
                  (long long)objects, sparse, cold);
    assert_int_equal(rows, count_rows(f, "products",
                                      " AND changed_at >= 300"));
    assert_true(objects > 100);
    /* About a page per row per table read (products, variants, stock,
     * images, categories, attributes, reviews); merging the child tables
     * whole read them all, twice this bound. */
    assert_true(sparse <= 8 * rows);
    assert_true(sparse * 3 <= full);
    feed_window_cache_free(cache);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pages_equal_whole, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_after_missing_key, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_changed_since, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_left_out_rows_advance, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_follows_commits, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stored_list_attributes,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_feed_window_reads, setup_big,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
