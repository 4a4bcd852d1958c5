/* test_dutchie.c - the Dutchie source's keys file, key fingerprints and
 * per-minute pacing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "source_dutchie.h"

static void
test_keys_parse(void **state)
{
    struct pf_err err = {{0}};
    char **keys = NULL;
    size_t n = 9;

    (void)state;
    assert_int_equal(dut_keys_parse("# Downtown\nkey-one\n\n  key-two  \r\n"
                                    "key-three # Boulder\n#key-four\n",
                                    &keys, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(keys[0], "key-one");
    assert_string_equal(keys[1], "key-two");
    assert_string_equal(keys[2], "key-three");
    assert_null(keys[3]);
    dut_keys_free(keys);
    assert_int_equal(dut_keys_parse("", &keys, &n, &err), 0);
    assert_int_equal(n, 0);
    dut_keys_free(keys);
    /* Two words on a line: which line, never the key. */
    assert_int_equal(dut_keys_parse("a\nsecret-1 secret-2\n", &keys, &n,
                                    &err), -1);
    assert_non_null(strstr(err.msg, "line 2"));
    assert_null(strstr(err.msg, "secret"));
    assert_null(keys);
}

static void
test_fingerprint(void **state)
{
    char fp[9];

    (void)state;
    /* sha256("abc") = ba7816bf8f01cfea... */
    dut_fingerprint("abc", fp);
    assert_string_equal(fp, "ba7816bf");
}

static void
test_pace_sliding_window(void **state)
{
    struct dut_pace p;

    (void)state;
    dut_pace_init(&p, 3, 60);
    assert_true(dut_pace_wait(&p, 0) == 0);
    dut_pace_note(&p, 0);
    dut_pace_note(&p, 10);
    assert_true(dut_pace_wait(&p, 10) == 0);
    dut_pace_note(&p, 20);
    /* Three answers in the last minute: the next waits until the first
     * is a minute old (and a little more). */
    assert_true(dut_pace_wait(&p, 20) > 40 && dut_pace_wait(&p, 20) < 41);
    assert_true(dut_pace_wait(&p, 61) == 0);
    dut_pace_note(&p, 61);
    /* Now 10, 20 and 61 are in the log: the next goes at 70. */
    assert_true(dut_pace_wait(&p, 65) > 5 && dut_pace_wait(&p, 65) < 6);
    /* A budget beyond the log is capped, never overflows it. */
    dut_pace_init(&p, 1 << 20, 60);
    for (int i = 0; i < DUT_PACE_MAX + 5; i++)
        dut_pace_note(&p, i * 0.001);
    assert_true(dut_pace_wait(&p, 1.0) > 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_parse),
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_pace_sliding_window),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
