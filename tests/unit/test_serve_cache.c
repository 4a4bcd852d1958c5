/* test_serve_cache.c - the server's feeds cache: lookup by path and by
 * twin name, the ETag rules (recorded hash only for the recorded file),
 * the twin pairing by mtime, files outside feeds_dir, and what makes the
 * cache stale (another connection's commit, a rename in a feeds folder,
 * a poke) and what does not (nothing happening). */
/* realpath() is an XSI interface. */
#define _XOPEN_SOURCE 700

#include <fcntl.h>
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

#include "serve_cache.h"
#include "store_fixture.h"
#include "util.h"

#define SHA_A \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_G \
    "gggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg"

struct cfx {
    struct fx *fx;
    char feeds[192];
    struct feed_cache *c;
};

static int
no_token(void *arg, const char *record)
{
    (void)arg;
    (void)record;
    return 0;
}

static void
put_file(const struct cfx *t, const char *rel, const char *text)
{
    char *p = xasprintf("%s/%s", t->feeds, rel);
    char *tmp = xasprintf("%s.tmp", p);
    FILE *f = fopen(tmp, "w");

    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    /* As publish does: renamed into place. */
    assert_int_equal(rename(tmp, p), 0);
    free(tmp);
    free(p);
}

static void
put_row(const struct cfx *t, const char *name, const char *path,
        long long bytes, const char *sha, long long gz_bytes,
        const char *gz_sha, const char *access)
{
    char *sql = xasprintf(
        "INSERT OR REPLACE INTO feeds (name, path, bytes, gz_bytes, items, "
        "sha256, gz_sha256, access, published_at, build_seconds) VALUES "
        "('%s', '%s', %lld, %lld, 1, '%s', %s%s%s, '%s', 0, 0)", name, path,
        bytes, gz_bytes, sha, gz_sha ? "'" : "", gz_sha ? gz_sha : "NULL",
        gz_sha ? "'" : "", access);

    assert_int_equal(store_exec(t->fx->s, sql, NULL), 0);
    free(sql);
}

/* Gives a folder an old mtime, so that the cache's mark of it is not
 * "racy" (a change within 50 ms) and only a real change makes it
 * stale. */
static void
age(const char *dir)
{
    struct timespec ts[2] = {{946684800, 0}, {946684800, 0}};

    assert_int_equal(utimensat(AT_FDCWD, dir, ts, 0), 0);
}

static void
refresh(struct cfx *t)
{
    char *sub = xasprintf("%s/sub", t->feeds);
    char *real = realpath(t->feeds, NULL);
    struct stat sb;

    assert_non_null(real);
    age(t->feeds);
    if (stat(sub, &sb) == 0)
        age(sub);
    cache_refresh(t->c, t->fx->path, t->feeds, real, no_token, NULL);
    free(real);
    free(sub);
}

static int
setup(void **state)
{
    struct cfx *t = xcalloc(1, sizeof(*t));

    if (store_fx_setup((void **)&t->fx) != 0)
        return -1;
    snprintf(t->feeds, sizeof t->feeds, "%s/feeds", t->fx->dir);
    if (mkdir(t->feeds, 0755) != 0)
        return -1;
    t->c = cache_new();
    *state = t;
    return 0;
}

static int
teardown(void **state)
{
    struct cfx *t = *state;
    char *cmd = xasprintf("rm -rf '%s'", t->feeds);
    int rc;

    cache_free(t->c);
    rc = system(cmd);
    free(cmd);
    if (rc != 0 || store_fx_teardown((void **)&t->fx) != 0)
        return -1;
    free(t);
    return 0;
}

static const struct cache_entry *
find(struct cfx *t, const char *rel, int *twin)
{
    const struct cache_entry *e;

    cache_lock(t->c);
    e = cache_find(t->c, rel, twin);
    cache_unlock(t->c);
    return e;
}

static void
test_lookup_and_etags(void **state)
{
    struct cfx *t = *state;
    const struct cache_entry *e;
    char *sub = xasprintf("%s/sub", t->feeds);
    int twin;

    assert_int_equal(mkdir(sub, 0755), 0);
    free(sub);
    put_file(t, "a.json", "[1]\n");
    put_file(t, "sub/b.xml", "<x/>\n");
    put_file(t, "z.json", "[22]\n");
    put_row(t, "a", "a.json", 4, SHA_A, 0, NULL, "public");
    put_row(t, "b", "sub/b.xml", 5, SHA_A, 0, NULL, "token");
    /* z's row says 9 bytes: the file is not (yet) the recorded one. */
    put_row(t, "z", "z.json", 9, SHA_A, 0, NULL, "public");
    refresh(t);

    e = find(t, "a.json", &twin);
    assert_non_null(e);
    assert_int_equal(twin, 0);
    assert_string_equal(e->etag[CV_IDENTITY], "\"" SHA_A "\"");
    assert_int_equal(e->token, 0);
    assert_non_null(e->r304[CV_IDENTITY]);
    assert_null(e->r304[CV_GZIP]);
    e = find(t, "sub/b.xml", &twin);
    assert_non_null(e);
    assert_int_equal(e->token, 1);
    e = find(t, "z.json", &twin);
    assert_non_null(e);
    assert_true(e->etag[CV_IDENTITY][1] == 'f');
    /* No twin recorded: the .gz name is nothing. */
    assert_null(find(t, "a.json.gz", &twin));
    assert_null(find(t, "a.jso", &twin));
    assert_null(find(t, "sub", &twin));
    assert_null(find(t, "", &twin));
    /* A half-published feed (z) asks for another look. */
    assert_int_equal(cache_stale(t->c, t->fx->path), 1);
}

static void
test_twin_pairs_by_mtime(void **state)
{
    struct cfx *t = *state;
    const struct cache_entry *e;
    struct timespec ts[2] = {{0, UTIME_OMIT}, {1000000000, 0}};
    char *gz = xasprintf("%s/p.json.gz", t->feeds);
    char *main_path = xasprintf("%s/p.json", t->feeds);
    int twin;

    put_file(t, "p.json", "[1]\n");
    put_file(t, "p.json.gz", "GZ");
    assert_int_equal(utimensat(AT_FDCWD, gz, ts, 0), 0);
    assert_int_equal(utimensat(AT_FDCWD, main_path, ts, 0), 0);
    put_row(t, "p", "p.json", 4, SHA_A, 2, SHA_G, "public");
    refresh(t);
    e = find(t, "p.json.gz", &twin);
    assert_non_null(e);
    assert_int_equal(twin, 1);
    assert_int_equal(e->twin_ok, 1);
    assert_string_equal(e->etag[CV_GZ_FILE], "\"" SHA_G "\"");
    assert_string_equal(e->etag[CV_GZIP], "\"" SHA_G "\"");
    assert_non_null(e->r304[CV_GZIP]);
    assert_int_equal(cache_stale(t->c, t->fx->path), 0);

    /* A twin of another moment is not negotiated; still named. */
    ts[1].tv_sec = 2000000000;
    assert_int_equal(utimensat(AT_FDCWD, gz, ts, 0), 0);
    refresh(t);
    e = find(t, "p.json", &twin);
    assert_int_equal(e->twin_ok, 0);
    assert_null(e->r304[CV_GZIP]);
    assert_non_null(e->r304[CV_GZ_FILE]);
    free(gz);
    free(main_path);
}

static void
test_outside_feeds_dir(void **state)
{
    struct cfx *t = *state;
    const struct cache_entry *e;
    char *p = xasprintf("%s/out.json", t->feeds);
    int twin;

    assert_int_equal(symlink(t->fx->path, p), 0);
    put_row(t, "o", "out.json", 4, SHA_A, 0, NULL, "public");
    refresh(t);
    e = find(t, "out.json", &twin);
    assert_non_null(e);
    assert_int_equal(e->file[0].ok, 0);
    assert_null(e->r304[CV_IDENTITY]);
    free(p);
}

static void
test_stale_only_on_change(void **state)
{
    struct cfx *t = *state;
    unsigned long opens, refreshes, o2, r2;

    put_file(t, "a.json", "[1]\n");
    put_row(t, "a", "a.json", 4, SHA_A, 0, NULL, "public");
    refresh(t);
    cache_counters(t->c, &opens, &refreshes);
    assert_int_equal(opens, 1);
    assert_int_equal(refreshes, 1);
    /* Nothing happened: not stale, however often asked. */
    assert_int_equal(cache_stale(t->c, t->fx->path), 0);
    assert_int_equal(cache_stale(t->c, t->fx->path), 0);
    /* A commit by another connection. */
    put_row(t, "a", "a.json", 4, SHA_A, 0, NULL, "token");
    assert_int_equal(cache_stale(t->c, t->fx->path), 1);
    refresh(t);
    assert_int_equal(cache_stale(t->c, t->fx->path), 0);
    /* A file renamed into the feeds folder, the store untouched. */
    put_file(t, "a.json", "[2]\n");
    assert_int_equal(cache_stale(t->c, t->fx->path), 1);
    refresh(t);
    assert_int_equal(cache_stale(t->c, t->fx->path), 0);
    /* A request that found the disk moved on. */
    cache_poke(t->c);
    assert_int_equal(cache_stale(t->c, t->fx->path), 1);
    assert_int_equal(cache_stale(t->c, t->fx->path), 0);
    cache_counters(t->c, &o2, &r2);
    assert_int_equal(o2, 3);
    assert_int_equal(r2, 3);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lookup_and_etags, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_twin_pairs_by_mtime, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_outside_feeds_dir, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stale_only_on_change, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
