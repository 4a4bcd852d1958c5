/* test_schedule.c - the next run time: daily in the shop's timezone across
 * both DST changes of Europe/Amsterdam, intervals, on-demand, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "schedule.h"
#include "timeutil.h"

#define AMS "Europe/Amsterdam"

static int64_t
at(const char *iso)
{
    int64_t t = 0;

    assert_int_equal(pf_time_parse(iso, &t, NULL), 0);
    return t;
}

static void
expect_next(const struct pf_schedule *sc, const char *tz, const char *now,
            const char *want)
{
    int64_t next = 0;
    char got[32];
    struct pf_err err = {{0}};

    assert_int_equal(schedule_next(sc, tz, at(now), &next, &err), 0);
    pf_time_iso_utc(next, got);
    assert_string_equal(got, want);
}

static struct pf_schedule
daily(int h, int m)
{
    struct pf_schedule sc;

    memset(&sc, 0, sizeof(sc));
    sc.kind = PF_SCHED_DAILY;
    sc.hour = h;
    sc.minute = m;
    return sc;
}

static void
test_daily_summer_and_winter(void **state)
{
    struct pf_schedule sc = daily(3, 30);

    (void)state;
    /* CEST is UTC+2, CET UTC+1. */
    expect_next(&sc, AMS, "2026-06-01T00:00:00Z", "2026-06-01T01:30:00Z");
    expect_next(&sc, AMS, "2026-12-01T00:00:00Z", "2026-12-01T02:30:00Z");
    /* Exactly at the time: that run is now, the next one is tomorrow. */
    expect_next(&sc, AMS, "2026-06-01T01:30:00Z", "2026-06-02T01:30:00Z");
    expect_next(&sc, AMS, "2026-06-01T01:29:59Z", "2026-06-01T01:30:00Z");
    /* Late in the local evening, already the next day in UTC terms. */
    sc = daily(0, 15);
    expect_next(&sc, AMS, "2026-06-01T21:00:00Z", "2026-06-01T22:15:00Z");
}

static void
test_daily_spring_forward_gap(void **state)
{
    /* 2026-03-29: 02:00 CET jumps to 03:00 CEST at 01:00Z; 02:30 does
     * not exist that day and runs at the first instant after the gap. */
    struct pf_schedule sc = daily(2, 30);

    (void)state;
    expect_next(&sc, AMS, "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z");
    expect_next(&sc, AMS, "2026-03-29T00:59:59Z", "2026-03-29T01:00:00Z");
    expect_next(&sc, AMS, "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z");
    expect_next(&sc, AMS, "2026-03-27T12:00:00Z", "2026-03-28T01:30:00Z");
    /* A time after the gap on the same day is unaffected. */
    sc = daily(3, 30);
    expect_next(&sc, AMS, "2026-03-28T12:00:00Z", "2026-03-29T01:30:00Z");
}

static void
test_daily_fall_back_runs_once(void **state)
{
    /* 2026-10-25: 03:00 CEST goes back to 02:00 CET at 01:00Z; 02:30
     * happens at 00:30Z and again at 01:30Z. Only the first counts. */
    struct pf_schedule sc = daily(2, 30);

    (void)state;
    expect_next(&sc, AMS, "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z");
    expect_next(&sc, AMS, "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z");
    /* In the repeated hour, before the second 02:30: still tomorrow. */
    expect_next(&sc, AMS, "2026-10-25T01:10:00Z", "2026-10-26T01:30:00Z");
}

static void
test_daily_walk_counts_one_run_per_day(void **state)
{
    /* Following the schedule through both DST weeks gives exactly one run
     * per local calendar day. */
    static const char *const starts[] = {
        "2026-03-25T00:00:00Z", "2026-10-21T00:00:00Z"
    };
    struct pf_schedule sc = daily(2, 30);
    struct pf_err err = {{0}};
    int64_t t, next;
    size_t k;
    int runs;

    (void)state;
    for (k = 0; k < 2; k++) {
        t = at(starts[k]);
        runs = 0;
        for (;;) {
            assert_int_equal(schedule_next(&sc, AMS, t, &next, &err), 0);
            assert_true(next > t);
            if (next >= at(starts[k]) + 10 * 86400)
                break;
            t = next;
            runs++;
        }
        assert_int_equal(runs, 10);
    }
}

static void
test_every_and_on_demand(void **state)
{
    struct pf_schedule sc;
    struct pf_err err = {{0}};
    int64_t next = 0;

    (void)state;
    memset(&sc, 0, sizeof(sc));
    sc.kind = PF_SCHED_EVERY;
    sc.interval_s = 900;
    /* Intervals ignore the calendar, DST included. */
    expect_next(&sc, AMS, "2026-10-25T00:50:00Z", "2026-10-25T01:05:00Z");
    expect_next(&sc, NULL, "2026-03-29T00:50:00Z", "2026-03-29T01:05:00Z");
    sc.kind = PF_SCHED_ON_DEMAND;
    assert_int_equal(schedule_next(&sc, AMS, 1000, &next, &err), 0);
    assert_int_equal(next, -1);
}

static void
test_unknown_timezone(void **state)
{
    struct pf_schedule sc = daily(3, 0);
    struct pf_err err = {{0}};
    int64_t next = 0;

    (void)state;
    assert_int_equal(schedule_next(&sc, "Europe/Amsterdm", 0, &next, &err),
                     -1);
    assert_non_null(strstr(err.msg, "Europe/Amsterdm"));
    assert_int_equal(schedule_next(&sc, "../etc/passwd", 0, &next, &err),
                     -1);
}

static void
test_tz_restored(void **state)
{
    struct pf_schedule sc = daily(3, 0);
    int64_t next = 0;

    (void)state;
    setenv("TZ", "Asia/Tokyo", 1);
    assert_int_equal(schedule_next(&sc, AMS, 0, &next, NULL), 0);
    assert_string_equal(getenv("TZ"), "Asia/Tokyo");
    unsetenv("TZ");
    assert_int_equal(schedule_next(&sc, AMS, 0, &next, NULL), 0);
    assert_null(getenv("TZ"));
}

static void
test_describe(void **state)
{
    struct pf_schedule sc = daily(3, 5);
    char buf[40];

    (void)state;
    schedule_describe(&sc, buf);
    assert_string_equal(buf, "daily 03:05");
    sc.kind = PF_SCHED_EVERY;
    sc.interval_s = 7200;
    schedule_describe(&sc, buf);
    assert_string_equal(buf, "every 2 hours");
    sc.interval_s = 60;
    schedule_describe(&sc, buf);
    assert_string_equal(buf, "every 1 minute");
    sc.kind = PF_SCHED_ON_DEMAND;
    schedule_describe(&sc, buf);
    assert_string_equal(buf, "on-demand");
}

static void
test_jitter_stable_and_in_range(void **state)
{
    static const int64_t windows[] = {1, 2, 60, 900, 7200, 86400};
    char name[32];
    size_t w;
    int i;
    int64_t j;

    (void)state;
    /* Pinned: a changed hash would move every shop's run time after an
     * upgrade, which the stability promise rules out. */
    assert_int_equal(schedule_jitter("acme", 900), 767);
    assert_int_equal(schedule_jitter("shop-001", 900), 759);
    assert_int_equal(schedule_jitter("acme", 3600), 767);
    assert_int_equal(schedule_jitter("acme", 0), 0);
    assert_int_equal(schedule_jitter("acme", -5), 0);
    assert_int_equal(schedule_jitter("", 1), 0);
    for (w = 0; w < sizeof windows / sizeof windows[0]; w++) {
        for (i = 0; i < 200; i++) {
            snprintf(name, sizeof name, "s%d", i);
            j = schedule_jitter(name, windows[w]);
            assert_true(j >= 0 && j < windows[w]);
            assert_int_equal(schedule_jitter(name, windows[w]), j);
        }
    }
}

/* 1000 shops named alike over the default 15 minutes: about 1.1 a
 * second on average; a hash that clumped them would show as a crowded
 * second, a crowded minute or many empty seconds. */
static void
test_jitter_spreads_1000_shops(void **state)
{
    int per_s[900] = {0}, per_min[15] = {0};
    int i, max = 0, used = 0;
    char name[32];
    int64_t j;

    (void)state;
    for (i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "shop-%03d", i);
        j = schedule_jitter(name, 900);
        per_s[j]++;
        per_min[j / 60]++;
    }
    for (i = 0; i < 900; i++) {
        if (per_s[i] > max)
            max = per_s[i];
        used += per_s[i] > 0;
    }
    assert_true(max <= 6);
    assert_true(used >= 550);
    for (i = 0; i < 15; i++)
        assert_true(per_min[i] >= 40 && per_min[i] <= 95);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_daily_summer_and_winter),
        cmocka_unit_test(test_daily_spring_forward_gap),
        cmocka_unit_test(test_daily_fall_back_runs_once),
        cmocka_unit_test(test_daily_walk_counts_one_run_per_day),
        cmocka_unit_test(test_every_and_on_demand),
        cmocka_unit_test(test_unknown_timezone),
        cmocka_unit_test(test_tz_restored),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_jitter_stable_and_in_range),
        cmocka_unit_test(test_jitter_spreads_1000_shops),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
