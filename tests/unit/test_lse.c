/* test_lse.c - normalization of Lightspeed eCom response shapes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "source_lse.h"

static void
test_list_shapes(void **state)
{
    cJSON *d = cJSON_Parse(
        "{\"products\":[{\"id\":1},{\"id\":2}],"
        "\"product\":{\"id\":3},"
        "\"variants\":false,"
        "\"orders\":\"\"}");
    cJSON *a;

    (void)state;
    assert_non_null(d);
    a = lse_list(d, "products", "product");
    assert_int_equal(cJSON_GetArraySize(a), 2);
    /* A singular envelope is one record. */
    a = lse_list(d, "items", "product");
    assert_int_equal(cJSON_GetArraySize(a), 1);
    /* false or "" for an empty list. */
    a = lse_list(d, "variants", "variant");
    assert_true(cJSON_IsArray(a));
    assert_int_equal(cJSON_GetArraySize(a), 0);
    a = lse_list(d, "orders", "order");
    assert_int_equal(cJSON_GetArraySize(a), 0);
    a = lse_list(d, "missing", NULL);
    assert_int_equal(cJSON_GetArraySize(a), 0);
    /* Twice is harmless. */
    a = lse_list(d, "variants", "variant");
    assert_int_equal(cJSON_GetArraySize(a), 0);
    cJSON_Delete(d);
}

static void
test_refs(void **state)
{
    cJSON *d = cJSON_Parse(
        "{\"brand\":{\"resource\":{\"id\":12,\"url\":\"brands/12\","
        "\"link\":\"x\"}},"
        "\"parent\":false, \"customer\":null, \"bare\":{\"id\":\"7\"},"
        "\"num\":5, \"zero\":0, \"coll\":{\"resource\":{\"id\":false,"
        "\"url\":\"variants?product=5\"}}, \"empty\":\"\"}");
    char buf[64];

    (void)state;
    assert_string_equal(lse_ref(d, "brand", buf), "12");
    assert_null(lse_ref(d, "parent", buf));
    assert_null(lse_ref(d, "customer", buf));
    assert_null(lse_ref(d, "missing", buf));
    assert_string_equal(lse_ref(d, "bare", buf), "7");
    assert_string_equal(lse_ref(d, "num", buf), "5");
    assert_null(lse_ref(d, "zero", buf));
    /* A collection reference names no record. */
    assert_null(lse_ref(d, "coll", buf));
    assert_null(lse_ref(d, "empty", buf));
    cJSON_Delete(d);
}

static void
test_scalars(void **state)
{
    cJSON *d = cJSON_Parse(
        "{\"s\":\"abc\", \"e\":\"\", \"n\":3, \"f\":2.5, \"t\":true,"
        "\"no\":false, \"z\":null, \"one\":1, \"sone\":\"1\","
        "\"strue\":\"true\", \"two\":2, \"word\":\"yes\","
        "\"big\":12345678901, \"sint\":\"-4\", \"sfrac\":\"3.5\"}");
    char buf[64];
    int64_t v = -1;

    (void)state;
    assert_string_equal(lse_str(d, "s", buf), "abc");
    assert_null(lse_str(d, "e", buf));
    assert_string_equal(lse_str(d, "n", buf), "3");
    assert_string_equal(lse_str(d, "f", buf), "2.5");
    assert_string_equal(lse_str(d, "t", buf), "true");
    assert_null(lse_str(d, "no", buf));
    assert_null(lse_str(d, "z", buf));
    assert_string_equal(lse_str(d, "big", buf), "12345678901");

    assert_int_equal(lse_bool(d, "t", -1), 1);
    assert_int_equal(lse_bool(d, "no", -1), 0);
    assert_int_equal(lse_bool(d, "one", -1), 1);
    assert_int_equal(lse_bool(d, "sone", -1), 1);
    assert_int_equal(lse_bool(d, "strue", -1), 1);
    assert_int_equal(lse_bool(d, "z", 7), 7);
    assert_int_equal(lse_bool(d, "e", 7), 7);
    assert_int_equal(lse_bool(d, "missing", 7), 7);
    assert_int_equal(lse_bool(d, "two", 7), -1);
    assert_int_equal(lse_bool(d, "word", 7), -1);

    /* Booleans in integer fields, "" for an empty number. */
    assert_int_equal(lse_int(d, "t", &v), 1);
    assert_int_equal(v, 1);
    assert_int_equal(lse_int(d, "no", &v), 1);
    assert_int_equal(v, 0);
    assert_int_equal(lse_int(d, "e", &v), 0);
    assert_int_equal(lse_int(d, "z", &v), 0);
    assert_int_equal(lse_int(d, "sint", &v), 1);
    assert_int_equal(v, -4);
    assert_int_equal(lse_int(d, "n", &v), 1);
    assert_int_equal(v, 3);
    assert_int_equal(lse_int(d, "f", &v), -1);
    assert_int_equal(lse_int(d, "sfrac", &v), -1);
    assert_int_equal(lse_int(d, "word", &v), -1);
    cJSON_Delete(d);
}

static void
test_money(void **state)
{
    cJSON *d = cJSON_Parse(
        "{\"p\":12.5, \"s\":\"12.5000\", \"e\":\"\", \"no\":false,"
        "\"neg\":-0.005, \"half\":0.125, \"huge\":1e30, \"w\":\"x1\","
        "\"z\":0}");
    int64_t m = -1;

    (void)state;
    assert_int_equal(lse_money(d, "p", 2, &m), 1);
    assert_int_equal(m, 1250);
    assert_int_equal(lse_money(d, "s", 2, &m), 1);
    assert_int_equal(m, 1250);
    assert_int_equal(lse_money(d, "s", 0, &m), 1);
    assert_int_equal(m, 13);
    assert_int_equal(lse_money(d, "e", 2, &m), 0);
    assert_int_equal(lse_money(d, "no", 2, &m), 0);
    assert_int_equal(lse_money(d, "missing", 2, &m), 0);
    assert_int_equal(lse_money(d, "neg", 2, &m), 1);
    assert_int_equal(m, -1);
    assert_int_equal(lse_money(d, "half", 2, &m), 1);
    assert_int_equal(m, 13);
    assert_int_equal(lse_money(d, "huge", 2, &m), -1);
    assert_int_equal(lse_money(d, "w", 2, &m), -1);
    assert_int_equal(lse_money(d, "z", 2, &m), 1);
    assert_int_equal(m, 0);
    cJSON_Delete(d);
}

static void
test_times(void **state)
{
    cJSON *d = cJSON_Parse(
        "{\"summer\":\"2026-06-02T10:24:44+02:00\","
        "\"winter\":\"2026-01-02T10:24:44+01:00\","
        "\"utc\":\"2026-06-02T08:24:44Z\","
        "\"plain\":\"2026-06-02 08:24:44\","
        "\"bad\":\"next tuesday\", \"no\":false, \"e\":\"\"}");
    int64_t a = 0, b = 0;

    (void)state;
    assert_int_equal(lse_time(d, "summer", &a), 1);
    assert_int_equal(lse_time(d, "utc", &b), 1);
    assert_true(a == b);
    assert_int_equal(a, 1780388684);
    assert_int_equal(lse_time(d, "plain", &b), 1);
    assert_true(a == b);
    assert_int_equal(lse_time(d, "winter", &b), 1);
    assert_int_equal(b, 1767345884);
    assert_int_equal(lse_time(d, "bad", &b), -1);
    assert_int_equal(lse_time(d, "no", &b), 0);
    assert_int_equal(lse_time(d, "e", &b), 0);
    assert_int_equal(lse_time(d, "missing", &b), 0);
    cJSON_Delete(d);
}

static void
test_error_bodies(void **state)
{
    static const char e1[] = "{\"error\":{\"code\":404,\"method\":\"GET\","
                             "\"request\":\"/nl/x.json\",\"message\":"
                             "\"Unknown or inactive language\"}}";
    static const char e2[] = "{\"error\":\"Invalid API key\"}";
    char buf[128];

    (void)state;
    assert_string_equal(lse_error_message(e1, sizeof(e1) - 1, buf,
                                          sizeof(buf)),
                        "Unknown or inactive language");
    assert_string_equal(lse_error_message(e2, sizeof(e2) - 1, buf,
                                          sizeof(buf)), "Invalid API key");
    assert_null(lse_error_message("<html>", 6, buf, sizeof(buf)));
    assert_null(lse_error_message("{\"products\":[]}", 15, buf,
                                  sizeof(buf)));
    assert_null(lse_error_message(NULL, 0, buf, sizeof(buf)));
    /* Truncated to the buffer. */
    assert_string_equal(lse_error_message(e2, sizeof(e2) - 1, buf, 8),
                        "Invalid");
}

static void
test_images(void **state)
{
    char *u;

    (void)state;
    u = lse_image_url("https://cdn.webshopapp.com/shops/1/files/55/"
                      "red-shirt.jpg", "300x400x1");
    assert_string_equal(u, "https://cdn.webshopapp.com/shops/1/files/55/"
                        "300x400x1/red-shirt.jpg");
    free(u);
    u = lse_image_url("https://cdn.webshopapp.com/shops/1/files/55/a.jpg",
                      NULL);
    assert_string_equal(u, "https://cdn.webshopapp.com/shops/1/files/55/"
                        "a.jpg");
    free(u);
    /* Nothing to insert into: kept. */
    u = lse_image_url("https://cdn.example", "1x1x1");
    assert_string_equal(u, "https://cdn.example");
    free(u);
    u = lse_image_url("https://cdn.example/f/a.jpg?v=2", "10x20x2");
    assert_string_equal(u, "https://cdn.example/f/10x20x2/a.jpg?v=2");
    free(u);

    assert_true(lse_image_size_ok("300x400x1"));
    assert_true(lse_image_size_ok("1x1x3"));
    assert_false(lse_image_size_ok("300x400"));
    assert_false(lse_image_size_ok("0x400x1"));
    assert_false(lse_image_size_ok("300x400x4"));
    assert_false(lse_image_size_ok("300x400x1 "));
    assert_false(lse_image_size_ok("-3x400x1"));
    assert_false(lse_image_size_ok("9999x400x1"));
    assert_false(lse_image_size_ok(NULL));
}

static void
test_bookmarks(void **state)
{
    int64_t a, b, c;

    (void)state;
    assert_int_equal(lse_bookmark_parse("1700000000|0|1700000060", &a, &b,
                                        &c), 0);
    assert_true(a == 1700000000 && b == 0 && c == 1700000060);
    assert_int_equal(lse_bookmark_parse("0|250|0", &a, &b, &c), 0);
    assert_true(b == 250);
    assert_int_equal(lse_bookmark_parse("2026-01-01", &a, &b, &c), -1);
    assert_int_equal(lse_bookmark_parse("1|2|3x", &a, &b, &c), -1);
    assert_int_equal(lse_bookmark_parse("1|-2|3", &a, &b, &c), -1);
    assert_int_equal(lse_bookmark_parse("", &a, &b, &c), -1);
    assert_int_equal(lse_bookmark_parse(NULL, &a, &b, &c), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_shapes),
        cmocka_unit_test(test_refs),
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_money),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_error_bodies),
        cmocka_unit_test(test_images),
        cmocka_unit_test(test_bookmarks),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
