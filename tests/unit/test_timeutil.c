/* test_timeutil.c - ISO 8601 parsing and printing, zone validation, and
 * calendar arithmetic across DST changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "timeutil.h"

static int64_t
parse_ok(const char *s)
{
    struct pf_err err = { "" };
    int64_t t = -1;

    if (pf_time_parse(s, &t, &err) != 0)
        fail_msg("pf_time_parse(\"%s\") failed: %s", s, err.msg);
    return t;
}

static void
assert_parse_fails(const char *s)
{
    struct pf_err err = { "" };
    int64_t t = 12345;

    if (pf_time_parse(s, &t, &err) == 0)
        fail_msg("pf_time_parse(\"%s\") accepted garbage: %lld", s,
                 (long long)t);
    /* The message names the value so a bad row can be found. */
    if (*s)
        assert_non_null(strstr(err.msg, s));
    else
        assert_true(strlen(err.msg) > 0);
}

static void
test_parse_forms(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("1970-01-01"), 0);
    assert_int_equal(parse_ok("2024-03-01"), 1709251200);
    assert_int_equal(parse_ok("2024-03-01T10:00:00Z"), 1709287200);
    assert_int_equal(parse_ok("2024-03-01t10:00:00z"), 1709287200);
    assert_int_equal(parse_ok("2024-03-01 10:00:00"), 1709287200);
    assert_int_equal(parse_ok("2024-03-01T10:00:00"), 1709287200);
    assert_int_equal(parse_ok("2024-03-01T10:00Z"), 1709287200);
    assert_int_equal(parse_ok("2024-03-01T11:00:00+01:00"), 1709287200);
    assert_int_equal(parse_ok("2024-03-01T11:00:00+0100"), 1709287200);
    assert_int_equal(parse_ok("2024-03-01T11:00:00+01"), 1709287200);
    assert_int_equal(parse_ok("2024-03-01T05:00:00-05:00"), 1709287200);
    assert_int_equal(parse_ok("2024-03-01T15:30:00+05:30"), 1709287200);
    assert_int_equal(parse_ok("2024-03-01T10:00:00.999Z"), 1709287200);
    assert_int_equal(parse_ok("2024-03-01T10:00:00.5+00:00"), 1709287200);
    assert_int_equal(parse_ok("1709287200"), 1709287200);
    assert_int_equal(parse_ok("-1"), -1);
    assert_int_equal(parse_ok("0"), 0);
    /* Leap days and dates before the epoch. */
    assert_int_equal(parse_ok("2024-02-29"), 1709164800);
    assert_int_equal(parse_ok("2000-02-29T00:00:00Z"), 951782400);
    assert_int_equal(parse_ok("1969-12-31T23:59:59Z"), -1);
    assert_int_equal(parse_ok("1900-01-01"), -2208988800LL);
}

static void
test_parse_rejects_garbage(void **state)
{
    (void)state;
    assert_parse_fails("");
    assert_parse_fails("yesterday");
    assert_parse_fails("2024-13-01");
    assert_parse_fails("2024-00-10");
    assert_parse_fails("2023-02-29");
    assert_parse_fails("2024-04-31");
    assert_parse_fails("2024-03-01T24:00:00Z");
    assert_parse_fails("2024-03-01T10:60:00Z");
    assert_parse_fails("2024-03-01T10:00:00+25:00");
    assert_parse_fails("2024-03-01T10:00:00Zjunk");
    assert_parse_fails("2024-03-01T10");
    assert_parse_fails("2024-3-1");
    assert_parse_fails("2024-03-01T10:00:00.Z");
    assert_parse_fails("12x");
    assert_parse_fails("99999999999999999999999");
}

static void
test_iso_utc(void **state)
{
    char buf[32];

    (void)state;
    pf_time_iso_utc(1709287200, buf);
    assert_string_equal(buf, "2024-03-01T10:00:00Z");
    pf_time_iso_utc(0, buf);
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    pf_time_iso_utc(-1, buf);
    assert_string_equal(buf, "1969-12-31T23:59:59Z");
    pf_time_iso_utc(951782400 + 86399, buf);
    assert_string_equal(buf, "2000-02-29T23:59:59Z");
    pf_time_iso_utc(4102444800LL, buf);
    assert_string_equal(buf, "2100-01-01T00:00:00Z");
}

/* Printing then parsing gives the epoch back, over four centuries in
 * steps that hit every time of day and every kind of year. */
static void
test_iso_utc_round_trip(void **state)
{
    char buf[32];

    (void)state;
    for (int64_t t = -6311520000LL; t < 6311520000LL; t += 7777777) {
        pf_time_iso_utc(t, buf);
        assert_int_equal(parse_ok(buf), t);
    }
}

/* The supported range is 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z;
 * every conversion is total over int64 (run under UBSan). */
static void
test_range_edges(void **state)
{
    struct pf_err err = { "" };
    char buf[40];
    int64_t t = 7;

    (void)state;
    assert_int_equal(parse_ok("0001-01-01T00:00:00Z"), PF_TIME_MIN);
    assert_int_equal(parse_ok("9999-12-31T23:59:59Z"), PF_TIME_MAX);
    assert_int_equal(parse_ok("-62135596800"), PF_TIME_MIN);
    assert_int_equal(parse_ok("253402300799"), PF_TIME_MAX);
    assert_true(pf_time_in_range(PF_TIME_MIN));
    assert_true(pf_time_in_range(PF_TIME_MAX));
    assert_false(pf_time_in_range(PF_TIME_MIN - 1));
    assert_false(pf_time_in_range(PF_TIME_MAX + 1));
    assert_false(pf_time_in_range(INT64_MIN));
    assert_false(pf_time_in_range(INT64_MAX));

    assert_int_equal(pf_time_iso_utc(PF_TIME_MIN, buf), 0);
    assert_string_equal(buf, "0001-01-01T00:00:00Z");
    assert_int_equal(pf_time_iso_utc(PF_TIME_MAX, buf), 0);
    assert_string_equal(buf, "9999-12-31T23:59:59Z");
    assert_int_equal(pf_time_iso_utc(PF_TIME_MIN - 1, buf), -1);
    assert_string_equal(buf, "");
    assert_int_equal(pf_time_iso_utc(PF_TIME_MAX + 1, buf), -1);
    assert_int_equal(pf_time_iso_utc(INT64_MIN, buf), -1);
    assert_string_equal(buf, "");
    assert_int_equal(pf_time_iso_utc(INT64_MAX, buf), -1);
    assert_int_equal(pf_time_iso_utc(INT64_MIN + 1, buf), -1);

    /* Outside the range: an error that says so, whatever the form. */
    assert_parse_fails("-9223372036854775808");
    assert_parse_fails("9223372036854775807");
    assert_parse_fails("-9223372036854775809");
    assert_parse_fails("99999999999999999999999");
    assert_parse_fails("-62135596801");
    assert_parse_fails("253402300800");
    assert_parse_fails("0000-12-31");
    assert_parse_fails("0001-01-01T00:00:00+00:01");
    assert_parse_fails("9999-12-31T23:59:59-00:01");
    assert_parse_fails("9999-12-31T23:59:60Z");
    assert_int_equal(pf_time_parse("-9223372036854775808", &t, &err), -1);
    assert_non_null(strstr(err.msg, "out of range"));
    assert_int_equal(pf_time_parse("0000-01-01", &t, &err), -1);
    assert_non_null(strstr(err.msg, "out of range"));
    assert_int_equal(t, 7);

    assert_int_equal(pf_time_iso_local(INT64_MIN, "UTC", buf), -1);
    assert_int_equal(pf_time_iso_local(INT64_MAX, "Europe/Amsterdam",
                                       buf), -1);
    assert_int_equal(pf_time_iso_local(PF_TIME_MAX, "UTC", buf), 0);
    assert_string_equal(buf, "9999-12-31T23:59:59+00:00");
    /* In range in UTC, but year 10000 or year 0 on the local clock. */
    assert_int_equal(pf_time_iso_local(PF_TIME_MAX, "Asia/Tokyo", buf), -1);
    assert_int_equal(pf_time_iso_local(PF_TIME_MIN, "America/New_York",
                                       buf), -1);
}

/* Amsterdam kept local mean time, +00:19:32, until 1937. The offset is
 * printed in whole minutes and the clock with it, so the text parses back
 * to the same second. */
static void
test_iso_local_mean_time(void **state)
{
    char buf[40];

    (void)state;
    assert_int_equal(pf_time_iso_local(-2208988800LL, "Europe/Amsterdam",
                                       buf), 0);
    assert_string_equal(buf, "1900-01-01T00:19:00+00:19");
    assert_int_equal(parse_ok(buf), -2208988800LL);
}

static void
test_iso_local(void **state)
{
    char buf[40];

    (void)state;
    assert_int_equal(pf_time_iso_local(1709287200, "Europe/Amsterdam",
                                       buf), 0);
    assert_string_equal(buf, "2024-03-01T11:00:00+01:00");
    /* Summer time. */
    assert_int_equal(pf_time_iso_local(1719835200, "Europe/Amsterdam",
                                       buf), 0);
    assert_string_equal(buf, "2024-07-01T14:00:00+02:00");
    assert_int_equal(pf_time_iso_local(1709287200, "Asia/Kolkata", buf), 0);
    assert_string_equal(buf, "2024-03-01T15:30:00+05:30");
    assert_int_equal(pf_time_iso_local(1709287200, "America/New_York",
                                       buf), 0);
    assert_string_equal(buf, "2024-03-01T05:00:00-05:00");
    assert_int_equal(pf_time_iso_local(1709287200, "UTC", buf), 0);
    assert_string_equal(buf, "2024-03-01T10:00:00+00:00");
    assert_int_equal(pf_time_iso_local(0, "Europe/Nowhere", buf), -1);
    assert_int_equal(pf_time_iso_local(0, NULL, buf), -1);
}

static void
test_tz_valid(void **state)
{
    (void)state;
    assert_true(pf_tz_valid("Europe/Amsterdam"));
    assert_true(pf_tz_valid("America/Argentina/Buenos_Aires"));
    assert_true(pf_tz_valid("UTC"));
    assert_false(pf_tz_valid(""));
    assert_false(pf_tz_valid(NULL));
    assert_false(pf_tz_valid("Europe/Nowhere"));
    assert_false(pf_tz_valid("/etc/localtime"));
    assert_false(pf_tz_valid("../../../etc/passwd"));
    assert_false(pf_tz_valid("Europe/../Europe/Amsterdam"));
    /* A folder, and a file that is not TZif. */
    assert_false(pf_tz_valid("Europe"));
    assert_false(pf_tz_valid("zone.tab"));
}

/* TZDIR points the check at another zoneinfo folder. */
static void
test_tz_valid_tzdir(void **state)
{
    char dir[] = "/tmp/pf_tzdir_XXXXXX";
    char path[64];
    FILE *f;
    const char *old = getenv("TZDIR");
    char *saved = old ? strdup(old) : NULL;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/Mars", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("TZif2 and then some bytes", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/Venus", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("not a zone file", f);
    fclose(f);

    setenv("TZDIR", dir, 1);
    assert_true(pf_tz_valid("Mars"));
    assert_false(pf_tz_valid("Venus"));
    assert_false(pf_tz_valid("Europe/Amsterdam"));
    if (saved)
        setenv("TZDIR", saved, 1);
    else
        unsetenv("TZDIR");
    free(saved);
    assert_true(pf_tz_valid("Europe/Amsterdam"));

    snprintf(path, sizeof(path), "%s/Mars", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/Venus", dir);
    unlink(path);
    rmdir(dir);
}

static int64_t
span(const char *now, const char *tz, int n, enum pf_span_unit unit)
{
    struct pf_err err = { "" };
    int64_t out = 0;

    if (pf_tz_start_of_span_ago(parse_ok(now), tz, n, unit, &out,
                                &err) != 0)
        fail_msg("span(%s, %s, %d) failed: %s", now, tz, n, err.msg);
    return out;
}

static void
test_span_days_dst(void **state)
{
    const char *ams = "Europe/Amsterdam";

    (void)state;
    /* Spring forward on 2024-03-31 at 02:00 local. */
    assert_int_equal(span("2024-03-31T12:00:00Z", ams, 1, PF_SPAN_DAYS),
                     parse_ok("2024-03-29T23:00:00Z"));
    assert_int_equal(span("2024-03-31T12:00:00Z", ams, 0, PF_SPAN_DAYS),
                     parse_ok("2024-03-30T23:00:00Z"));
    assert_int_equal(span("2024-04-01T12:00:00Z", ams, 1, PF_SPAN_DAYS),
                     parse_ok("2024-03-30T23:00:00Z"));
    assert_int_equal(span("2024-04-01T12:00:00Z", ams, 0, PF_SPAN_DAYS),
                     parse_ok("2024-03-31T22:00:00Z"));
    /* Fall back on 2024-10-27 at 03:00 local. */
    assert_int_equal(span("2024-10-28T12:00:00Z", ams, 1, PF_SPAN_DAYS),
                     parse_ok("2024-10-26T22:00:00Z"));
    assert_int_equal(span("2024-10-28T12:00:00Z", ams, 0, PF_SPAN_DAYS),
                     parse_ok("2024-10-27T23:00:00Z"));
    assert_int_equal(span("2024-10-27T12:00:00Z", ams, 0, PF_SPAN_DAYS),
                     parse_ok("2024-10-26T22:00:00Z"));
    /* 23:30Z on the 27th is already the 28th in Amsterdam... */
    assert_int_equal(span("2024-10-27T23:30:00Z", ams, 0, PF_SPAN_DAYS),
                     parse_ok("2024-10-27T23:00:00Z"));
    /* ...and 22:59Z on the 27th is not. */
    assert_int_equal(span("2024-10-27T22:59:59Z", ams, 0, PF_SPAN_DAYS),
                     parse_ok("2024-10-26T22:00:00Z"));
    assert_int_equal(span("2024-10-28T12:00:00Z", ams, 30, PF_SPAN_DAYS),
                     parse_ok("2024-09-27T22:00:00Z"));
    /* West of UTC the local day starts after UTC midnight. */
    assert_int_equal(span("2024-03-10T12:00:00Z", "America/New_York", 0,
                          PF_SPAN_DAYS),
                     parse_ok("2024-03-10T05:00:00Z"));
    assert_int_equal(span("2024-03-11T12:00:00Z", "America/New_York", 0,
                          PF_SPAN_DAYS),
                     parse_ok("2024-03-11T04:00:00Z"));
}

/* In Santiago the clocks jump from 00:00 to 01:00 on 2024-09-08: that day
 * starts at 01:00 local. */
static void
test_span_midnight_gap(void **state)
{
    (void)state;
    assert_int_equal(span("2024-09-08T12:00:00Z", "America/Santiago", 0,
                          PF_SPAN_DAYS),
                     parse_ok("2024-09-08T04:00:00Z"));
    assert_int_equal(span("2024-09-09T12:00:00Z", "America/Santiago", 1,
                          PF_SPAN_DAYS),
                     parse_ok("2024-09-08T04:00:00Z"));
    assert_int_equal(span("2024-09-09T12:00:00Z", "America/Santiago", 2,
                          PF_SPAN_DAYS),
                     parse_ok("2024-09-07T04:00:00Z"));
}

static void
test_span_months_years(void **state)
{
    const char *ams = "Europe/Amsterdam";

    (void)state;
    /* 31 March - 1 month clamps to 29 February in a leap year... */
    assert_int_equal(span("2024-03-31T12:00:00Z", ams, 1, PF_SPAN_MONTHS),
                     parse_ok("2024-02-28T23:00:00Z"));
    /* ...and to 28 February otherwise. */
    assert_int_equal(span("2023-03-31T12:00:00Z", ams, 1, PF_SPAN_MONTHS),
                     parse_ok("2023-02-27T23:00:00Z"));
    /* Across a year boundary, landing in summer time. */
    assert_int_equal(span("2024-01-15T12:00:00Z", ams, 7, PF_SPAN_MONTHS),
                     parse_ok("2023-06-14T22:00:00Z"));
    assert_int_equal(span("2024-05-31T12:00:00Z", ams, 1, PF_SPAN_MONTHS),
                     parse_ok("2024-04-29T22:00:00Z"));
    assert_int_equal(span("2024-03-15T12:00:00Z", ams, 24, PF_SPAN_MONTHS),
                     parse_ok("2022-03-14T23:00:00Z"));
    /* 29 February - 1 year = 28 February. */
    assert_int_equal(span("2024-02-29T12:00:00Z", ams, 1, PF_SPAN_YEARS),
                     parse_ok("2023-02-27T23:00:00Z"));
    assert_int_equal(span("2024-02-29T12:00:00Z", ams, 4, PF_SPAN_YEARS),
                     parse_ok("2020-02-28T23:00:00Z"));
    assert_int_equal(span("2024-07-01T12:00:00Z", ams, 2, PF_SPAN_YEARS),
                     parse_ok("2022-06-30T22:00:00Z"));
}

static void
test_span_errors(void **state)
{
    struct pf_err err = { "" };
    int64_t out;

    (void)state;
    assert_int_equal(pf_tz_start_of_span_ago(0, "Mars/Olympus", 1,
                                             PF_SPAN_DAYS, &out, &err), -1);
    assert_non_null(strstr(err.msg, "Mars/Olympus"));
    assert_int_equal(pf_tz_start_of_span_ago(0, "UTC", -1, PF_SPAN_DAYS,
                                             &out, &err), -1);
    assert_non_null(strstr(err.msg, "-1"));
}

/* Spans from or to the edges of the range fail cleanly. */
static void
test_span_out_of_range(void **state)
{
    static const enum pf_span_unit units[] = {
        PF_SPAN_DAYS, PF_SPAN_MONTHS, PF_SPAN_YEARS
    };
    struct pf_err err = { "" };
    int64_t out = 42;
    size_t i;

    (void)state;
    for (i = 0; i < 3; i++) {
        assert_int_equal(pf_tz_start_of_span_ago(INT64_MIN, "UTC", 1,
                                                 units[i], &out, &err), -1);
        assert_non_null(strstr(err.msg, "out of range"));
        assert_int_equal(pf_tz_start_of_span_ago(INT64_MAX,
                                                 "Europe/Amsterdam", 0,
                                                 units[i], &out, &err), -1);
        assert_int_equal(pf_tz_start_of_span_ago(0, "UTC", INT32_MAX,
                                                 units[i], &out, &err), -1);
        assert_non_null(strstr(err.msg, "outside"));
        assert_int_equal(pf_tz_start_of_span_ago(PF_TIME_MAX, "Asia/Tokyo",
                                                 INT32_MAX, units[i], &out,
                                                 &err), -1);
    }
    assert_int_equal(pf_tz_start_of_span_ago(PF_TIME_MIN + 86400 * 10,
                                             "UTC", 100, PF_SPAN_DAYS,
                                             &out, &err), -1);
    assert_int_equal(out, 42);
    /* Near the top edge, in range. */
    assert_int_equal(pf_tz_start_of_span_ago(PF_TIME_MAX, "UTC", 0,
                                             PF_SPAN_DAYS, &out, &err), 0);
    assert_int_equal(out, parse_ok("9999-12-31"));
    assert_int_equal(pf_tz_start_of_span_ago(PF_TIME_MAX, "UTC", 9998,
                                             PF_SPAN_YEARS, &out, &err), 0);
    assert_int_equal(out, parse_ok("0001-12-31"));
}

/* The zone switch must not leak: TZ is as it was, set or unset. */
static void
test_tz_restored(void **state)
{
    char buf[40];
    int64_t out;
    const char *old = getenv("TZ");
    char *saved = old ? strdup(old) : NULL;

    (void)state;
    setenv("TZ", "Asia/Tokyo", 1);
    tzset();
    assert_int_equal(pf_time_iso_local(0, "Europe/Amsterdam", buf), 0);
    assert_string_equal(getenv("TZ"), "Asia/Tokyo");
    assert_int_equal(pf_tz_start_of_span_ago(0, "Europe/Amsterdam", 1,
                                             PF_SPAN_DAYS, &out, NULL), 0);
    assert_string_equal(getenv("TZ"), "Asia/Tokyo");
    {
        time_t t = 0;
        struct tm tm;

        assert_non_null(localtime_r(&t, &tm));
        assert_int_equal(tm.tm_hour, 9);
    }
    unsetenv("TZ");
    assert_int_equal(pf_time_iso_local(0, "Europe/Amsterdam", buf), 0);
    assert_null(getenv("TZ"));
    if (saved)
        setenv("TZ", saved, 1);
    free(saved);
    tzset();
}

static void
test_now_pinned(void **state)
{
    const char *old = getenv("POSFEED_NOW");
    char *saved = old ? strdup(old) : NULL;
    int64_t real;

    (void)state;
    setenv("POSFEED_NOW", "1709287200", 1);
    assert_int_equal(pf_time_now(), 1709287200);
    setenv("POSFEED_NOW", "2024-03-31T12:00:00+02:00", 1);
    assert_int_equal(pf_time_now(), parse_ok("2024-03-31T10:00:00Z"));
    unsetenv("POSFEED_NOW");
    real = (int64_t)time(NULL);
    assert_true(pf_time_now() >= real && pf_time_now() <= real + 5);
    /* A pin that is not a time falls back to the clock. */
    setenv("POSFEED_NOW", "soon", 1);
    assert_true(pf_time_now() >= real && pf_time_now() <= real + 5);
    if (saved)
        setenv("POSFEED_NOW", saved, 1);
    else
        unsetenv("POSFEED_NOW");
    free(saved);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_forms),
        cmocka_unit_test(test_parse_rejects_garbage),
        cmocka_unit_test(test_iso_utc),
        cmocka_unit_test(test_iso_utc_round_trip),
        cmocka_unit_test(test_range_edges),
        cmocka_unit_test(test_iso_local),
        cmocka_unit_test(test_iso_local_mean_time),
        cmocka_unit_test(test_tz_valid),
        cmocka_unit_test(test_tz_valid_tzdir),
        cmocka_unit_test(test_span_days_dst),
        cmocka_unit_test(test_span_midnight_gap),
        cmocka_unit_test(test_span_months_years),
        cmocka_unit_test(test_span_errors),
        cmocka_unit_test(test_span_out_of_range),
        cmocka_unit_test(test_tz_restored),
        cmocka_unit_test(test_now_pinned),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
