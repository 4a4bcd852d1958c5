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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_pair),
        cmocka_unit_test(test_wait_from_bucket),
        cmocka_unit_test(test_burst_window),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
