/* test_jsonw.c - the streaming JSON writer: escaping, UTF-8 repair,
 * numbers, whole values. Every output is parsed back with cJSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "jsonw.h"
#include "out.h"
#include "util.h"
#include "value.h"

struct fx {
    struct pf_buf buf;
    struct pf_out out;
    struct jsonw w;
    struct pf_arena arena;
};

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);

    pf_buf_init(&f->buf);
    pf_out_init_mem(&f->out, &f->buf);
    jsonw_init(&f->w, &f->out);
    pf_arena_init(&f->arena);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    jsonw_free(&f->w);
    pf_out_free(&f->out);
    pf_buf_free(&f->buf);
    pf_arena_free(&f->arena);
    free(f);
    return 0;
}

/* The text written so far, as a NUL-terminated string. */
static const char *
text(struct fx *f)
{
    assert_int_equal(pf_out_flush(&f->out, NULL), 0);
    return f->buf.data ? f->buf.data : "";
}

static void
reset(struct fx *f)
{
    pf_buf_reset(&f->buf);
    f->w.repaired = 0;
    f->w.bad_numbers = 0;
}

static void
str_of(struct fx *f, const char *s, size_t n)
{
    reset(f);
    jsonw_str(&f->w, s, n);
}

static void
test_plain_and_escapes(void **state)
{
    struct fx *f = *state;

    str_of(f, "abc", 3);
    assert_string_equal(text(f), "\"abc\"");
    str_of(f, "a\"b\\c", 5);
    assert_string_equal(text(f), "\"a\\\"b\\\\c\"");
    str_of(f, "l1\nl2\tx\r\b\f", 10);
    assert_string_equal(text(f), "\"l1\\nl2\\tx\\r\\b\\f\"");
    str_of(f, "\x01\x1f", 2);
    assert_string_equal(text(f), "\"\\u0001\\u001f\"");
    /* An embedded NUL is data, not the end of the string. */
    str_of(f, "a\0b", 3);
    assert_string_equal(text(f), "\"a\\u0000b\"");
    str_of(f, "", 0);
    assert_string_equal(text(f), "\"\"");
    /* '/' and DEL need no escape. */
    str_of(f, "a/b\x7f", 4);
    assert_string_equal(text(f), "\"a/b\x7f\"");
}

static void
test_utf8_kept_and_js_separators(void **state)
{
    struct fx *f = *state;
    const char *s = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80";
    const char *sep = "a\xE2\x80\xA8" "b\xE2\x80\xA9" "c";

    str_of(f, s, strlen(s));
    assert_string_equal(text(f), "\"caf\xC3\xA9 \xE2\x82\xAC "
                                 "\xF0\x9F\x98\x80\"");
    assert_int_equal(f->w.repaired, 0);
    str_of(f, sep, strlen(sep));
    assert_string_equal(text(f), "\"a\\u2028b\\u2029c\"");
}

static void
test_invalid_utf8_repaired(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *in;
        size_t n;
        const char *want;
        unsigned repaired;
    } cases[] = {
        /* lone continuation byte */
        {"a\x80" "b", 3, "\"a\xEF\xBF\xBD" "b\"", 1},
        /* overlong encoding of '/' */
        {"\xC0\xAF", 2, "\"\xEF\xBF\xBD\xEF\xBF\xBD\"", 2},
        /* UTF-16 surrogate encoded in UTF-8 */
        {"\xED\xA0\x80", 3, "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"", 3},
        /* truncated sequence at the end */
        {"x\xE2\x82", 3, "\"x\xEF\xBF\xBD\xEF\xBF\xBD\"", 2},
        /* beyond U+10FFFF */
        {"\xF4\x90\x80\x80", 4,
         "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"", 4},
        /* Latin-1 byte in the middle of ASCII */
        {"na\xEFve", 5, "\"na\xEF\xBF\xBDve\"", 1},
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        str_of(f, cases[i].in, cases[i].n);
        assert_string_equal(text(f), cases[i].want);
        assert_int_equal(f->w.repaired, cases[i].repaired);
    }
}

/* Random bytes, biased towards the troublesome ones, must always give
 * valid JSON and valid UTF-8 that decodes back to the repaired input. */
static void
test_random_bytes_roundtrip(void **state)
{
    static const unsigned char pool[] = {
        'a', ' ', '"', '\\', '\n', 0x00, 0x1f, 0x7f, 0x80, 0xBF, 0xC0,
        0xC3, 0xA9, 0xE2, 0x80, 0xA8, 0xED, 0xA0, 0xF0, 0x9F, 0xF4, 0xFF
    };
    struct fx *f = *state;
    unsigned seed = 12345;
    int round;

    for (round = 0; round < 2000; round++) {
        unsigned char in[40];
        struct pf_buf want;
        size_t n, i;
        cJSON *j;
        const char *out;

        seed = seed * 1103515245u + 12345u;
        n = (seed >> 16) % sizeof in;
        for (i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            in[i] = pool[(seed >> 16) % sizeof pool];
        }
        str_of(f, (const char *)in, n);
        out = text(f);
        assert_true(pf_utf8_valid(out, strlen(out)));
        j = cJSON_Parse(out);
        assert_non_null(j);
        assert_true(cJSON_IsString(j));
        /* cJSON stops at an escaped NUL, so compare up to the first. */
        pf_buf_init(&want);
        pf_utf8_repair(&want, (const char *)in,
                       strnlen((const char *)in, n));
        pf_buf_addc(&want, '\0');
        assert_string_equal(j->valuestring, want.data);
        pf_buf_free(&want);
        cJSON_Delete(j);
    }
}

static void
test_int(void **state)
{
    struct fx *f = *state;

    reset(f);
    jsonw_int(&f->w, 0);
    pf_out_putc(&f->out, ',');
    jsonw_int(&f->w, -42);
    pf_out_putc(&f->out, ',');
    jsonw_int(&f->w, INT64_MAX);
    pf_out_putc(&f->out, ',');
    jsonw_int(&f->w, INT64_MIN);
    assert_string_equal(text(f), "0,-42,9223372036854775807,"
                                 "-9223372036854775808");
}

static void
test_is_number(void **state)
{
    static const char *const good[] = {
        "0", "-0", "12", "12.50", "-3.05", "1e3", "1E+3", "2.5e-7", "0.0"
    };
    static const char *const bad[] = {
        "", "-", "01", "+1", ".5", "5.", "1e", "1e+", "0x10", "1,5",
        " 1", "1 ", "NaN", "Infinity", "--1", "1.2.3"
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(jsonw_is_number(good[i], strlen(good[i])));
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(jsonw_is_number(bad[i], strlen(bad[i])));
}

static void
test_scalar_values(void **state)
{
    struct fx *f = *state;
    struct pf_value v[9];
    size_t i;

    v[0] = pf_v_null();
    v[1] = pf_v_bool(1);
    v[2] = pf_v_bool(0);
    v[3] = pf_v_money(1250, 2, "EUR");
    v[4] = pf_v_money(-5, 2, "EUR");
    v[5] = pf_v_money(1500, 0, "JPY");
    v[6] = pf_v_time(1709287200);
    v[7] = pf_v_strn(&f->arena, "4.50", 4);
    v[7].type = PF_NUM;
    v[8] = pf_v_int(-7);
    reset(f);
    for (i = 0; i < 9; i++) {
        if (i > 0)
            pf_out_putc(&f->out, ',');
        jsonw_value(&f->w, &v[i]);
    }
    assert_string_equal(text(f), "null,true,false,12.50,-0.05,1500,"
                                 "\"2024-03-01T10:00:00Z\",4.50,-7");
    assert_int_equal(f->w.bad_numbers, 0);
}

static void
test_bad_num_is_null(void **state)
{
    struct fx *f = *state;
    struct pf_value v = pf_v_strn(&f->arena, "12,5", 4);

    v.type = PF_NUM;
    reset(f);
    jsonw_value(&f->w, &v);
    assert_string_equal(text(f), "null");
    assert_int_equal(f->w.bad_numbers, 1);
}

static void
test_list_and_object(void **state)
{
    struct fx *f = *state;
    struct pf_obj *o = pf_obj_new(&f->arena), *inner;
    struct pf_value l = pf_v_list(&f->arena, 3);
    cJSON *j, *it;

    l.u.list.items[0] = pf_v_str(&f->arena, "x\"y");
    l.u.list.items[1] = pf_v_int(3);
    l.u.list.items[2] = pf_v_list(&f->arena, 0);
    inner = pf_obj_new(&f->arena);
    pf_obj_set(&f->arena, inner, "k", pf_v_bool(1));
    pf_obj_set(&f->arena, o, "list", l);
    pf_obj_set(&f->arena, o, "in\nner", pf_v_obj(inner));
    pf_obj_set(&f->arena, o, "empty", pf_v_obj(pf_obj_new(&f->arena)));
    reset(f);
    jsonw_value(&f->w, &(struct pf_value){.type = PF_OBJ, .u.obj = o});
    assert_string_equal(text(f), "{\"list\":[\"x\\\"y\",3,[]],"
                                 "\"in\\nner\":{\"k\":true},\"empty\":{}}");
    j = cJSON_Parse(text(f));
    assert_non_null(j);
    it = cJSON_GetObjectItemCaseSensitive(j, "in\nner");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "k")));
    cJSON_Delete(j);
}

static void
test_utf8_seq(void **state)
{
    (void)state;
    assert_int_equal(jsonw_utf8_seq((const unsigned char *)"a", 1), 1);
    assert_int_equal(jsonw_utf8_seq((const unsigned char *)"\xC3\xA9", 2),
                     2);
    assert_int_equal(jsonw_utf8_seq((const unsigned char *)"\xC3\xA9", 1),
                     0);
    assert_int_equal(jsonw_utf8_seq((const unsigned char *)"\xE0\x80\x80",
                                    3), 0);
    assert_int_equal(jsonw_utf8_seq(
                         (const unsigned char *)"\xF0\x9F\x98\x80", 4), 4);
    assert_int_equal(jsonw_utf8_seq((const unsigned char *)"\xF5\x80\x80"
                                    "\x80", 4), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_plain_and_escapes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_utf8_kept_and_js_separators,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8_repaired, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_random_bytes_roundtrip, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_int, setup, teardown),
        cmocka_unit_test(test_is_number),
        cmocka_unit_test_setup_teardown(test_scalar_values, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_num_is_null, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_list_and_object, setup,
                                        teardown),
        cmocka_unit_test(test_utf8_seq),
    };

    return cmocka_run_group_tests_name("jsonw", tests, NULL, NULL);
}
