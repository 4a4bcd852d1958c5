/* Unit tests: util.c and value.c - money, UTF-8, arenas, paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"
#include "value.h"

static void
money_text(int64_t minor, int decimals, const char *want)
{
    struct pf_buf b;

    pf_buf_init(&b);
    pf_money_format(&b, minor, decimals);
    assert_string_equal(b.data, want);
    pf_buf_free(&b);
}

static void
test_money_format(void **state)
{
    (void)state;
    money_text(1250, 2, "12.50");
    money_text(5, 2, "0.05");
    money_text(-5, 2, "-0.05");
    money_text(-1250, 2, "-12.50");
    money_text(500, 0, "500");
    money_text(1234, 3, "1.234");
    money_text(0, 2, "0.00");
    /* Beyond what a double holds exactly: Clerk's own example. */
    money_text(9999999999999995, 2, "99999999999999.95");
    money_text(INT64_MIN, 2, "-92233720368547758.08");
}

static void
test_money_parse(void **state)
{
    int64_t v = 0;
    struct pf_err err = {{0}};

    (void)state;
    assert_int_equal(pf_money_parse("12.5", 2, &v, &err), 0);
    assert_int_equal(v, 1250);
    assert_int_equal(pf_money_parse("-3", 2, &v, &err), 0);
    assert_int_equal(v, -300);
    assert_int_equal(pf_money_parse("0.10", 2, &v, &err), 0);
    assert_int_equal(v, 10);
    assert_int_equal(pf_money_parse("500", 0, &v, &err), 0);
    assert_int_equal(v, 500);
    /* Trailing zeros past the currency's decimals are harmless. */
    assert_int_equal(pf_money_parse("1.2500", 2, &v, &err), 0);
    assert_int_equal(v, 125);
    assert_int_equal(pf_money_parse("0.125", 2, &v, &err), -1);
    assert_non_null(strstr(err.msg, "decimals"));
    assert_int_equal(pf_money_parse("abc", 2, &v, &err), -1);
    assert_non_null(strstr(err.msg, "\"abc\""));
    assert_int_equal(pf_money_parse("", 2, &v, &err), -1);
    assert_int_equal(pf_money_parse("1,50", 2, &v, &err), -1);
    assert_int_equal(pf_money_parse("99999999999999999999", 2, &v, &err),
                     -1);
}

/* Every amount pf_money_format() prints parses back, the extremes too. */
static void
test_money_round_trip_extremes(void **state)
{
    static const int64_t amounts[] = {
        INT64_MAX, INT64_MIN, INT64_MAX - 7, INT64_MIN + 1,
        922337203685477580, -922337203685477580, 0, -1,
    };
    struct pf_buf b;
    int64_t v;
    size_t i;
    int d;

    (void)state;
    pf_buf_init(&b);
    for (i = 0; i < sizeof amounts / sizeof amounts[0]; i++) {
        for (d = 0; d <= 3; d++) {
            pf_buf_reset(&b);
            pf_money_format(&b, amounts[i], d);
            v = 12345;
            if (pf_money_parse(b.data, d, &v, NULL) != 0 || v != amounts[i])
                fail_msg("'%s' (%d decimals) did not parse back to %lld",
                         b.data, d, (long long)amounts[i]);
        }
    }
    pf_buf_free(&b);
    /* One past either end still overflows. */
    assert_int_equal(pf_money_parse("9223372036854775808", 0, &v, NULL), -1);
    assert_int_equal(pf_money_parse("-9223372036854775809", 0, &v, NULL),
                     -1);
    assert_int_equal(pf_money_parse("92233720368547758.08", 2, &v, NULL),
                     -1);
}

static void
test_currency_decimals(void **state)
{
    (void)state;
    assert_int_equal(pf_currency_decimals("EUR"), 2);
    assert_int_equal(pf_currency_decimals("JPY"), 0);
    assert_int_equal(pf_currency_decimals("KWD"), 3);
    assert_int_equal(pf_currency_decimals(NULL), 2);
}

static void
test_utf8(void **state)
{
    struct pf_buf b;

    (void)state;
    assert_true(pf_utf8_valid("Caf\xC3\xA9 \xF0\x9F\x8C\xB1", 10));
    assert_false(pf_utf8_valid("\xC0\xAF", 2));         /* overlong */
    assert_false(pf_utf8_valid("\xED\xA0\x80", 3));     /* surrogate */
    assert_false(pf_utf8_valid("\xF4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(pf_utf8_valid("abc\xE6\x97", 5));      /* truncated */
    pf_buf_init(&b);
    assert_int_equal(pf_utf8_repair(&b, "a\xFF" "b\xC3", 4), 2);
    assert_string_equal(b.data, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD");
    pf_buf_free(&b);
}

static void
test_arena_reuse(void **state)
{
    struct pf_arena a;
    int i;

    (void)state;
    pf_arena_init(&a);
    for (i = 0; i < 1000; i++) {
        char *s = pf_arena_strdup(&a, "hello");
        void *big = pf_arena_alloc(&a, 100000);

        assert_string_equal(s, "hello");
        memset(big, 1, 100000);
        pf_arena_reset(&a);
        assert_int_equal(a.used_total, 0);
    }
    pf_arena_free(&a);
}

static void
test_obj_path(void **state)
{
    struct pf_arena a;
    struct pf_obj *root, *shop;
    const struct pf_value *v;

    (void)state;
    pf_arena_init(&a);
    root = pf_obj_new(&a);
    shop = pf_obj_new(&a);
    pf_obj_set(&a, shop, "name", pf_v_str(&a, "Demo"));
    pf_obj_set(&a, root, "shop", pf_v_obj(shop));
    pf_obj_set(&a, root, "n", pf_v_int(3));
    v = pf_obj_path(root, "shop.name");
    assert_non_null(v);
    assert_string_equal(v->u.str.s, "Demo");
    assert_null(pf_obj_path(root, "shop.missing"));
    assert_null(pf_obj_path(root, "n.deeper"));
    assert_true(pf_value_is_empty(pf_obj_path(root, "nothing")));
    assert_false(pf_value_is_empty(pf_obj_path(root, "n")));
    pf_arena_free(&a);
}

static void
test_paths(void **state)
{
    char *p;

    (void)state;
    assert_true(pf_path_is_contained("clerk.json"));
    assert_true(pf_path_is_contained("a/b/c.json"));
    assert_true(pf_path_is_contained("a/..b/c.json"));
    assert_false(pf_path_is_contained("../x.json"));
    assert_false(pf_path_is_contained("a/../../x.json"));
    assert_false(pf_path_is_contained("a/.."));
    assert_false(pf_path_is_contained("/etc/passwd"));
    assert_false(pf_path_is_contained(""));
    p = pf_path_join("/srv/shop", "feeds");
    assert_string_equal(p, "/srv/shop/feeds");
    free(p);
    p = pf_path_join("/srv/shop", "/abs");
    assert_string_equal(p, "/abs");
    free(p);
    p = pf_path_dir("conf/posfeed.conf");
    assert_string_equal(p, "conf");
    free(p);
    p = pf_path_dir("posfeed.conf");
    assert_string_equal(p, ".");
    free(p);
}

static void
test_edit_distance(void **state)
{
    (void)state;
    assert_int_equal(pf_edit_distance("shop", "shoop"), 1);
    assert_int_equal(pf_edit_distance("include_customers",
                                      "inclde_customers"), 1);
    assert_int_equal(pf_edit_distance("", "abc"), 3);
    assert_true(pf_strcaseeq("YES", "yes"));
    assert_false(pf_strcaseeq("yes", "yess"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_money_format),
        cmocka_unit_test(test_money_parse),
        cmocka_unit_test(test_money_round_trip_extremes),
        cmocka_unit_test(test_currency_decimals),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_arena_reuse),
        cmocka_unit_test(test_obj_path),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_edit_distance),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
