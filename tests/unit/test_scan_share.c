/* test_scan_share.c - the shared scan of a build of many feeds
 * (feed_share.c): every seat sees every object in order, the ring never
 * holds more than its slots however far one seat runs ahead, a seat that
 * leaves is not waited for, and the free rows are counted per product
 * and per variant. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "feed_share.h"
#include "source.h"
#include "store_fixture.h"
#include "value.h"

/* 100 products p000..p099 with one variant each, except every tenth:
 * two variants that both sell at 0 (left out as free). */
#define NPRODUCTS 100
#define NKEPT 90

struct scan_fx {
    struct fx *store;
    struct pf_config *cfg;
};

static void
fill_store(struct store *s)
{
    struct pf_err err = {{0}};
    char pid[16], vid[16];
    int i, k;

    assert_int_equal(store_begin(s, &err), 0);
    for (i = 0; i < NPRODUCTS; i++) {
        struct store_product p;

        memset(&p, 0, sizeof(p));
        snprintf(pid, sizeof(pid), "p%03d", i);
        p.id = pid;
        p.name = pid;
        p.url = "/p";
        p.visible = 1;
        assert_int_equal(store_put_product(s, &p, &err), 0);
        for (k = 0; k < (i % 10 == 0 ? 2 : 1); k++) {
            struct store_variant v;

            memset(&v, 0, sizeof(v));
            snprintf(vid, sizeof(vid), "%s-%d", pid, k);
            v.id = vid;
            v.product_id = pid;
            v.price = i % 10 == 0 ? 0 : 100 + i;
            v.currency = "EUR";
            v.position = k;
            assert_int_equal(store_put_variant(s, &v, &err), 0);
        }
    }
    assert_int_equal(store_commit(s, &err), 0);
}

static int
setup(void **state)
{
    struct scan_fx *f = calloc(1, sizeof(*f));
    struct pf_err err = {{0}};
    char conf[192];
    FILE *fp;

    if (f == NULL || store_fx_setup((void **)&f->store) != 0)
        return -1;
    fill_store(f->store->s);
    snprintf(conf, sizeof(conf), "%s/posfeed.conf", f->store->dir);
    fp = fopen(conf, "w");
    if (fp == NULL)
        return -1;
    fprintf(fp, "[shop]\nname = S\ntimezone = Europe/Amsterdam\n"
            "currency = EUR\nurl = https://s.example\nstore = store.db\n"
            "[source]\ntype = file\npath = .\n"
            "[sync]\norders_lookback = all\n"
            "[feed g]\ntemplate = google-shopping\noutput = g.xml\n");
    fclose(fp);
    if (pf_config_load(conf, source_schema, &f->cfg, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct scan_fx *f = *state;
    int rc;

    pf_config_free(f->cfg);
    rc = store_fx_teardown((void **)&f->store);
    free(f);
    return rc;
}

/* A seat reading in its own thread, counting what it took. */
struct reader {
    struct feed_share *sh;
    int seat;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int taken;
    int ordered;                /* every object the next product id */
    int rc;
    int64_t free_products, free_variants;
};

static const char *
obj_id(const struct pf_obj *o)
{
    const struct pf_value *v = pf_obj_get(o, "id");

    return v != NULL && v->type == PF_STR ? v->u.str.s : "";
}

/* The id the n-th kept product has (every tenth is left out). */
static void
kept_id(int n, char *out, size_t len)
{
    snprintf(out, len, "p%03d", n + n / 9 + 1);
}

static void *
read_all(void *arg)
{
    struct reader *r = arg;
    struct pf_err err = {{0}};
    struct pf_obj *o;
    char want[16];

    r->ordered = 1;
    while ((r->rc = feed_share_take(r->sh, r->seat, &o, &r->free_products,
                                    &r->free_variants, &err)) == 1) {
        kept_id(r->taken, want, sizeof(want));
        if (strcmp(obj_id(o), want) != 0)
            r->ordered = 0;
        pthread_mutex_lock(&r->mu);
        r->taken++;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
    }
    feed_share_leave(r->sh, r->seat);
    return NULL;
}

static void
reader_init(struct reader *r, struct feed_share *sh, int seat)
{
    memset(r, 0, sizeof(*r));
    r->sh = sh;
    r->seat = seat;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
}

static void
reader_done(struct reader *r)
{
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
}

/* One seat runs ahead while the other has taken nothing: the producer
 * stops when the ring is full, so the fast seat gets exactly the ring's
 * worth; then the slow seat still sees every object, in order. */
static void
test_ring_is_bounded_and_every_seat_sees_all(void **state)
{
    struct scan_fx *f = *state;
    struct feed_share *sh = feed_share_new(f->cfg, &f->cfg->feeds[0],
                                           "products", 2);
    struct reader fast, slow;
    pthread_t producer, fast_th;

    alarm(60);  /* a wait that never ends fails the test */
    reader_init(&fast, sh, 0);
    reader_init(&slow, sh, 1);
    assert_int_equal(pthread_create(&producer, NULL, feed_share_run, sh),
                     0);
    assert_int_equal(pthread_create(&fast_th, NULL, read_all, &fast), 0);
    pthread_mutex_lock(&fast.mu);
    while (fast.taken < FEED_SHARE_SLOTS)
        pthread_cond_wait(&fast.cv, &fast.mu);
    pthread_mutex_unlock(&fast.mu);
    /* The fast seat now waits for the producer, which waits for the
     * slow seat: nothing more is made. */
    assert_int_equal(feed_share_peak(sh), FEED_SHARE_SLOTS);
    read_all(&slow);
    pthread_join(fast_th, NULL);
    pthread_join(producer, NULL);
    assert_int_equal(feed_share_peak(sh), FEED_SHARE_SLOTS);
    assert_int_equal(slow.rc, 0);
    assert_int_equal(fast.rc, 0);
    assert_int_equal(slow.taken, NKEPT);
    assert_int_equal(fast.taken, NKEPT);
    assert_true(slow.ordered);
    assert_true(fast.ordered);
    /* Ten products left out as free, twenty variants. */
    assert_int_equal(slow.free_products, 10);
    assert_int_equal(slow.free_variants, 20);
    alarm(0);
    reader_done(&fast);
    reader_done(&slow);
    feed_share_free(sh);
}

/* A seat that leaves without reading (its feed failed before opening
 * the collection) is not waited for. */
static void
test_a_seat_that_leaves_is_not_waited_for(void **state)
{
    struct scan_fx *f = *state;
    struct feed_share *sh = feed_share_new(f->cfg, &f->cfg->feeds[0],
                                           "products", 2);
    struct reader r;
    pthread_t producer;
    int64_t rows[8] = {0};

    alarm(60);
    reader_init(&r, sh, 0);
    feed_share_leave(sh, 1);
    assert_int_equal(pthread_create(&producer, NULL, feed_share_run, sh),
                     0);
    read_all(&r);
    pthread_join(producer, NULL);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.taken, NKEPT);
    assert_true(r.ordered);
    /* Every product was read from the store once. */
    feed_share_rows_read(sh, rows);
    assert_int_equal(rows[0], NPRODUCTS);
    alarm(0);
    reader_done(&r);
    feed_share_free(sh);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_ring_is_bounded_and_every_seat_sees_all, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_seat_that_leaves_is_not_waited_for, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
