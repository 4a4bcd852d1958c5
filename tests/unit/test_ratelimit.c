/* test_ratelimit.c - leaky-bucket pacing from the API's headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ratelimit.h"

static void
test_parse_pair(void **state)
{
    double a, b;

    (void)state;
    assert_int_equal(ratelimit_parse_pair("1/90", &a, &b), 0);
    assert_true(a == 1 && b == 90);
    assert_int_equal(ratelimit_parse_pair("92.57/90", &a, &b), 0);
    assert_true(a > 92.5 && a < 92.6);
    assert_int_equal(ratelimit_parse_pair("", &a, &b), -1);
    assert_int_equal(ratelimit_parse_pair("5", &a, &b), -1);
    assert_int_equal(ratelimit_parse_pair("5/0", &a, &b), -1);
    assert_int_equal(ratelimit_parse_pair("-1/90", &a, &b), -1);
    assert_int_equal(ratelimit_parse_pair("1/90x", &a, &b), -1);
    assert_int_equal(ratelimit_parse_pair(NULL, &a, &b), -1);
}

static void
test_wait_from_bucket(void **state)
{
    struct ratelimit r;

    (void)state;
    ratelimit_init(&r);
    /* Nothing known yet: go. */
    assert_true(ratelimit_wait(&r, 1, 0) == 0);
    ratelimit_update(&r, "10/90", "1", NULL, 100);
    assert_true(ratelimit_wait(&r, 1, 100) == 0);
    /* Nearly full: 88 + 2 would pass size - margin (89) by 1 unit. */
    ratelimit_update(&r, "88/90", "2", NULL, 200);
    assert_true(ratelimit_wait(&r, 2, 200) > 0.49);
    assert_true(ratelimit_wait(&r, 2, 200) < 0.51);
    /* After the drip has run for a while, no wait. */
    assert_true(ratelimit_wait(&r, 2, 201) == 0);
    /* Overflowed bucket (the first overflowing request passes). */
    ratelimit_update(&r, "95/90", "1", NULL, 300);
    assert_true(ratelimit_wait(&r, 1, 300) > 6.9);
    /* Malformed headers leave the last good state alone. */
    ratelimit_update(&r, "junk", "x", NULL, 300);
    assert_true(ratelimit_wait(&r, 1, 300) > 6.9);
}

static void
test_burst_window(void **state)
{
    struct ratelimit r;

    (void)state;
    ratelimit_init(&r);
    ratelimit_update(&r, "1/90", "1", "20/20", 50);
    assert_true(ratelimit_wait(&r, 1, 50.2) > 0.79);
    assert_true(ratelimit_wait(&r, 1, 51.0) == 0);
    ratelimit_update(&r, "1/90", "1", "3/20", 60);
    assert_true(ratelimit_wait(&r, 1, 60) == 0);
}

static void
test_parse_list(void **state)
{
    double v[4];

    (void)state;
    assert_int_equal(ratelimit_parse_list("300/3000/12000", v, 4), 3);
    assert_true(v[0] == 300 && v[1] == 3000 && v[2] == 12000);
    assert_int_equal(ratelimit_parse_list(" 1 / 2 /3 ", v, 4), 3);
    assert_int_equal(ratelimit_parse_list("7", v, 4), 1);
    assert_int_equal(ratelimit_parse_list("1/2/3/4/5", v, 4), -1);
    assert_int_equal(ratelimit_parse_list("1//3", v, 4), -1);
    assert_int_equal(ratelimit_parse_list("1/2/", v, 4), -1);
    assert_int_equal(ratelimit_parse_list("1/-2/3", v, 4), -1);
    assert_int_equal(ratelimit_parse_list("", v, 4), -1);
    assert_int_equal(ratelimit_parse_list(NULL, v, 4), -1);
}

static void
test_windows_wait(void **state)
{
    struct ratelimit_windows w;
    int win;

    (void)state;
    ratelimit_windows_init(&w);
    w.slack = 0.5;
    /* Nothing known: go. */
    assert_true(ratelimit_windows_wait(&w, 0, &win) == 0);
    assert_int_equal(win, -1);
    assert_true(ratelimit_windows_left(&w) < 0);
    assert_int_equal(ratelimit_windows_update(&w, "300/3000/12000",
                                              "299/2999/11999",
                                              "263/2063/23663", 100), 0);
    assert_true(ratelimit_windows_wait(&w, 100, &win) == 0);
    assert_true(ratelimit_windows_left(&w) == 11999);
    /* The 5-minute window is used up: wait for its reset (+ slack). */
    ratelimit_windows_update(&w, "300/3000/12000", "0/2700/11700",
                             "20/2000/23000", 200);
    assert_true(ratelimit_windows_wait(&w, 200, &win) > 20.49);
    assert_true(ratelimit_windows_wait(&w, 200, &win) < 20.51);
    assert_int_equal(win, 0);
    /* Past the reset it is full again. */
    assert_true(ratelimit_windows_wait(&w, 221, &win) == 0);
    /* The longest empty window decides. */
    ratelimit_windows_update(&w, "300/3000/12000", "0/0/5",
                             "20/900/23000", 300);
    assert_true(ratelimit_windows_wait(&w, 300, &win) > 900);
    assert_int_equal(win, 1);
    ratelimit_windows_update(&w, "300/3000/12000", "5/5/0",
                             "20/900/23000", 400);
    ratelimit_windows_wait(&w, 400, &win);
    assert_int_equal(win, 2);
    /* Malformed or mismatched headers leave the last state alone. */
    assert_int_equal(ratelimit_windows_update(&w, "300/3000", "5/5/0",
                                              "1/1/1", 400), -1);
    assert_int_equal(ratelimit_windows_update(&w, NULL, NULL, NULL, 400),
                     -1);
    ratelimit_windows_wait(&w, 400, &win);
    assert_int_equal(win, 2);
    /* A margin keeps requests in reserve. */
    ratelimit_windows_update(&w, "10/100/1000", "2/50/500", "5/50/500",
                             500);
    w.margin = 2;
    assert_true(ratelimit_windows_wait(&w, 500, &win) > 5);
    w.margin = 0;
    assert_true(ratelimit_windows_wait(&w, 500, &win) == 0);
    /* Requests sent without an answer yet count down every window. */
    ratelimit_windows_spend(&w);
    ratelimit_windows_spend(&w);
    assert_true(ratelimit_windows_wait(&w, 500, &win) > 5);
    assert_true(ratelimit_windows_left(&w) == 498);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_pair),
        cmocka_unit_test(test_wait_from_bucket),
        cmocka_unit_test(test_burst_window),
        cmocka_unit_test(test_parse_list),
        cmocka_unit_test(test_windows_wait),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
