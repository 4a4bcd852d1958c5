/* Unit tests: store_push.c - the push ledger's rules: new rows queue,
 * pending rows take the newest body, sent events are never touched again,
 * sent profiles and failed items queue again only when their data
 * changed; mark_sent is the acceptance; pending reads in send order. */
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

/* The state of one item ("" when absent). */
static const char *
state_of(struct store *s, const char *kind, const char *id)
{
    static char buf[32];
    sqlite3_stmt *st = NULL;

    buf[0] = '\0';
    sqlite3_prepare_v2(store_db(s), "SELECT state FROM push_items WHERE "
                       "target = 'klaviyo' AND kind = ?1 AND id = ?2", -1,
                       &st, NULL);
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(buf, sizeof(buf), "%s", sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return buf;
}

static int
offer(struct store *s, const char *kind, const char *id, const char *grp,
      const char *body)
{
    struct store_push_item it;
    struct pf_err err = {{0}};
    int queued = -1;

    memset(&it, 0, sizeof(it));
    it.target = "klaviyo";
    it.kind = kind;
    it.id = id;
    it.metric = strcmp(kind, "event") == 0 ? "Placed Order" : "profile";
    it.grp = grp;
    it.item_time = strcmp(kind, "event") == 0 ? 1700000000 : INT64_MIN;
    it.body = body;
    it.len = strlen(body);
    assert_int_equal(store_push_offer(s, &it, 1700000100, &queued, &err),
                     0);
    return queued;
}

static void
mark_sent(struct store *s, const char *kind, const char *id)
{
    struct pf_err err = {{0}};
    const char *ids[1];

    ids[0] = id;
    assert_int_equal(store_push_mark_sent(s, "klaviyo", kind, ids, 1, NULL,
                                          1700000200, &err), 0);
}

static void
test_event_rules(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};

    assert_int_equal(offer(f->s, "event", "e1", "a@x", "{\"v\":1}"), 1);
    assert_string_equal(state_of(f->s, "event", "e1"), "pending");
    /* the same row again: nothing to do */
    assert_int_equal(offer(f->s, "event", "e1", "a@x", "{\"v\":1}"), 0);
    /* pending and changed: the newest body waits */
    assert_int_equal(offer(f->s, "event", "e1", "a@x", "{\"v\":2}"), 1);
    mark_sent(f->s, "event", "e1");
    assert_string_equal(state_of(f->s, "event", "e1"), "sent");
    /* a sent event is never edited nor resent, changed or not */
    assert_int_equal(offer(f->s, "event", "e1", "a@x", "{\"v\":3}"), 0);
    assert_string_equal(state_of(f->s, "event", "e1"), "sent");
    /* failed: stays failed for the same data, queues for new data */
    assert_int_equal(offer(f->s, "event", "e2", "a@x", "{\"v\":1}"), 1);
    assert_int_equal(store_push_mark_failed(f->s, "klaviyo", "event", "e2",
                                            "400 bad value", &err), 0);
    assert_int_equal(offer(f->s, "event", "e2", "a@x", "{\"v\":1}"), 0);
    assert_string_equal(state_of(f->s, "event", "e2"), "failed");
    assert_int_equal(offer(f->s, "event", "e2", "a@x", "{\"v\":9}"), 1);
    assert_string_equal(state_of(f->s, "event", "e2"), "pending");
}

static void
test_profile_rules(void **state)
{
    struct fx *f = *state;

    assert_int_equal(offer(f->s, "profile", "a@x", "", "{\"n\":1}"), 1);
    mark_sent(f->s, "profile", "a@x");
    assert_int_equal(offer(f->s, "profile", "a@x", "", "{\"n\":1}"), 0);
    assert_string_equal(state_of(f->s, "profile", "a@x"), "sent");
    /* a sent profile whose data changed is sent again */
    assert_int_equal(offer(f->s, "profile", "a@x", "", "{\"n\":2}"), 1);
    assert_string_equal(state_of(f->s, "profile", "a@x"), "pending");
}

struct seen {
    char ids[8][16];
    int n;
};

static int
collect(void *ctx, const char *id, const char *grp, const char *metric,
        const char *body, size_t len, struct pf_err *err)
{
    struct seen *s = ctx;

    (void)grp;
    (void)metric;
    (void)err;
    assert_true(len > 0 && body[0] == '{');
    snprintf(s->ids[s->n++], sizeof(s->ids[0]), "%s", id);
    return 0;
}

static void
test_pending_order(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};
    struct seen s;

    memset(&s, 0, sizeof(s));
    offer(f->s, "event", "e3", "b@x", "{}");
    offer(f->s, "event", "e1", "b@x", "{}");
    offer(f->s, "event", "e2", "a@x", "{}");
    offer(f->s, "event", "e4", "c@x", "{}");
    mark_sent(f->s, "event", "e4");
    /* grouped by profile, then by id; sent items are not pending */
    assert_int_equal(store_push_pending(f->s, "klaviyo", "event", "", "",
                                        10, collect, &s, &err), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.ids[0], "e2");
    assert_string_equal(s.ids[1], "e1");
    assert_string_equal(s.ids[2], "e3");
    /* resuming after a position, with a limit */
    memset(&s, 0, sizeof(s));
    assert_int_equal(store_push_pending(f->s, "klaviyo", "event", "b@x",
                                        "e1", 1, collect, &s, &err), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.ids[0], "e3");
}

static int
count_job(void *ctx, const char *job, struct pf_err *err)
{
    (void)err;
    assert_string_equal(job, "job-1");
    (*(int *)ctx)++;
    return 0;
}

static void
test_jobs_and_skipped(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};
    const char *ids[] = {"a@x", "b@x"};
    const char *m[] = {"Placed Order", "Placed Order"};
    const char *r[] = {"no email", "no email"};
    int64_t n[] = {2, 3};
    int jobs = 0;

    offer(f->s, "profile", "a@x", "", "{}");
    offer(f->s, "profile", "b@x", "", "{}");
    assert_int_equal(store_push_mark_sent(f->s, "klaviyo", "profile", ids,
                                          2, "job-1", 5, &err), 0);
    assert_int_equal(store_push_jobs(f->s, "klaviyo", count_job, &jobs,
                                     &err), 0);
    assert_int_equal(jobs, 1);
    assert_int_equal(store_push_job_done(f->s, "klaviyo", "job-1", &err),
                     0);
    jobs = 0;
    assert_int_equal(store_push_jobs(f->s, "klaviyo", count_job, &jobs,
                                     &err), 0);
    assert_int_equal(jobs, 0);
    /* same metric and reason twice: added up */
    assert_int_equal(store_push_set_skipped(f->s, "klaviyo", m, r, n, 2,
                                            &err), 0);
    {
        sqlite3_stmt *st = NULL;

        sqlite3_prepare_v2(store_db(f->s), "SELECT items FROM "
                           "push_skipped", -1, &st, NULL);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int64(st, 0), 5);
        sqlite3_finalize(st);
    }
}

static void
test_drop_pending(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};

    offer(f->s, "event", "e1", "a@x", "{}");
    offer(f->s, "event", "e2", "a@x", "{}");
    mark_sent(f->s, "event", "e2");
    offer(f->s, "profile", "a@x", "", "{}");
    assert_int_equal(store_push_drop_pending(f->s, "klaviyo", "event",
                                             "Placed Order", &err), 0);
    /* the pending one goes; the sent one stays, so it is never resent */
    assert_string_equal(state_of(f->s, "event", "e1"), "");
    assert_string_equal(state_of(f->s, "event", "e2"), "sent");
    assert_string_equal(state_of(f->s, "profile", "a@x"), "pending");
    assert_int_equal(store_push_drop_pending(f->s, "klaviyo", "profile",
                                             NULL, &err), 0);
    assert_string_equal(state_of(f->s, "profile", "a@x"), "");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_event_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_profile_rules, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pending_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_jobs_and_skipped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_drop_pending, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
