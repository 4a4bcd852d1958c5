/* test_lsr.c - normalization of Lightspeed Retail response shapes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "source_lsr.h"

static void
test_list_shapes(void **state)
{
    cJSON *d = cJSON_Parse(
        "{\"One\":{\"ItemPrice\":{\"amount\":\"1\"}},"
        "\"Many\":{\"ItemPrice\":[{\"amount\":\"1\"},{\"amount\":\"2\"}]},"
        "\"Empty\":\"\","
        "\"Item\":{\"itemID\":\"7\"}}");
    cJSON *a;

    (void)state;
    assert_non_null(d);
    a = lsr_list(d, "One", "ItemPrice");
    assert_true(cJSON_IsArray(a));
    assert_int_equal(cJSON_GetArraySize(a), 1);
    a = lsr_list(d, "Many", "ItemPrice");
    assert_int_equal(cJSON_GetArraySize(a), 2);
    a = lsr_list(d, "Empty", "ItemPrice");
    assert_true(cJSON_IsArray(a));
    assert_int_equal(cJSON_GetArraySize(a), 0);
    a = lsr_list(d, "Missing", "ItemPrice");
    assert_int_equal(cJSON_GetArraySize(a), 0);
    /* Top level: a single record is an object. */
    a = lsr_list(d, NULL, "Item");
    assert_int_equal(cJSON_GetArraySize(a), 1);
    /* Normalizing twice is harmless. */
    a = lsr_list(d, NULL, "Item");
    assert_int_equal(cJSON_GetArraySize(a), 1);
    cJSON_Delete(d);
}

static void
test_scalars(void **state)
{
    cJSON *d = cJSON_Parse("{\"a\":\"20\",\"b\":20,\"c\":\"\",\"d\":\"0\","
                           "\"e\":true,\"f\":\"false\",\"g\":null,"
                           "\"h\":\"maybe\"}");
    char buf[64];

    (void)state;
    assert_string_equal(lsr_str(d, "a", buf), "20");
    assert_string_equal(lsr_str(d, "b", buf), "20");
    assert_null(lsr_str(d, "c", buf));
    assert_null(lsr_str(d, "g", buf));
    assert_null(lsr_str(d, "zz", buf));
    assert_string_equal(lsr_str(d, "d", buf), "0");
    assert_null(lsr_ref(d, "d", buf));
    assert_string_equal(lsr_ref(d, "a", buf), "20");
    assert_int_equal(lsr_bool(d, "e", -1), 1);
    assert_int_equal(lsr_bool(d, "f", -1), 0);
    assert_int_equal(lsr_bool(d, "zz", 7), 7);
    assert_int_equal(lsr_bool(d, "h", 0), -1);
    cJSON_Delete(d);
}

static void
test_money_and_int(void **state)
{
    int64_t v;

    (void)state;
    assert_int_equal(lsr_money("19.95", 2, &v), 0);
    assert_int_equal(v, 1995);
    assert_int_equal(lsr_money("21.0000", 2, &v), 0);
    assert_int_equal(v, 2100);
    assert_int_equal(lsr_money("317.1", 2, &v), 0);
    assert_int_equal(v, 31710);
    assert_int_equal(lsr_money("1.005", 2, &v), 0);
    assert_int_equal(v, 101);
    assert_int_equal(lsr_money("-19.95", 2, &v), 0);
    assert_int_equal(v, -1995);
    assert_int_equal(lsr_money("7", 0, &v), 0);
    assert_int_equal(v, 7);
    assert_int_equal(lsr_money("", 2, &v), -1);
    assert_int_equal(lsr_money("1,50", 2, &v), -1);
    assert_int_equal(lsr_money(NULL, 2, &v), -1);
    /* The store's bound on amounts (store.h), both ways. */
    assert_int_equal(lsr_money("-100000000000.00", 2, &v), 0);
    assert_int_equal(v, -STORE_MAX_MONEY);
    assert_int_equal(lsr_money("100000000000.01", 2, &v), -1);
    assert_int_equal(lsr_money("-9223372036854775.80", 2, &v), -1);
    assert_int_equal(lsr_int("3", &v), 0);
    assert_int_equal(v, 3);
    assert_int_equal(lsr_int("-2.000", &v), 0);
    assert_int_equal(v, -2);
    assert_int_equal(lsr_int("1.5", &v), -1);
    assert_int_equal(lsr_int("", &v), -1);
    assert_int_equal(lsr_int("x", &v), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_shapes),
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_money_and_int),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
