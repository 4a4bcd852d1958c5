/* test_table.c - text tables: columns fit their widest cell whatever its
 * length, kinds keep their own widths, UTF-8 counts characters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "table.h"

/* Prints t into a string (caller frees). */
static char *
render(const struct table *t)
{
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);

    assert_non_null(f);
    table_print(t, f);
    assert_int_equal(fclose(f), 0);
    return s;
}

static void
test_long_names_line_up(void **state)
{
    struct table *t = table_new();
    char *out;

    (void)state;
    table_row(t, 0, "  ", "lr");
    table_cell(t, "%s", "clerk");
    table_cell(t, "%d items", 12);
    table_row(t, 0, "  ", "lr");
    table_cell(t, "%s", "a-feed-name-of-exactly-forty-characters-");
    table_cell(t, "%d items", 3456);
    out = render(t);
    assert_string_equal(out,
        "  clerk                                       12 items\n"
        "  a-feed-name-of-exactly-forty-characters-  3456 items\n");
    free(out);
    table_free(t);
}

static void
test_last_cell_unpadded_and_short_rows(void **state)
{
    struct table *t = table_new();
    char *out;

    (void)state;
    table_row(t, 0, "", "ll");
    table_cell(t, "a");
    table_cell(t, "x");
    table_row(t, 0, "", "ll");
    table_cell(t, "bbb");
    table_cell(t, "yyyy");
    table_cell(t, "error: z");
    table_row(t, 0, "", "ll");
    table_cell(t, "%s", "");
    table_cell(t, "w");
    out = render(t);
    assert_string_equal(out,
        "a    x\n"
        "bbb  yyyy  error: z\n"
        "     w\n");
    free(out);
    table_free(t);
}

static void
test_kinds_keep_their_own_widths(void **state)
{
    struct table *t = table_new();
    char *out;

    (void)state;
    table_row(t, 0, "", "ll");
    table_cell(t, "#1");
    table_cell(t, "run");
    table_row(t, 1, "    ", "lr");
    table_cell(t, "products-with-a-long-name");
    table_cell(t, "5 rows");
    table_row(t, 1, "    ", "lr");
    table_cell(t, "orders");
    table_cell(t, "12 rows");
    table_row(t, 0, "", "ll");
    table_cell(t, "#12");
    table_cell(t, "build");
    out = render(t);
    assert_string_equal(out,
        "#1   run\n"
        "    products-with-a-long-name   5 rows\n"
        "    orders                     12 rows\n"
        "#12  build\n");
    free(out);
    table_free(t);
}

static void
test_utf8_counts_characters(void **state)
{
    struct table *t = table_new();
    char *out;

    (void)state;
    table_row(t, 0, "", "ll");
    table_cell(t, "cr\xc3\xa8me");          /* 5 characters, 6 bytes */
    table_cell(t, "1");
    table_row(t, 0, "", "ll");
    table_cell(t, "abcde");
    table_cell(t, "2");
    out = render(t);
    assert_string_equal(out, "cr\xc3\xa8me  1\nabcde  2\n");
    free(out);
    table_free(t);
}

static void
test_long_cell(void **state)
{
    struct table *t = table_new();
    char big[1000], *out;

    (void)state;
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    table_row(t, 0, "", "r");
    table_cell(t, "%s", big);
    table_row(t, 0, "", "r");
    table_cell(t, "y");
    out = render(t);
    assert_int_equal(strlen(out), 2 * (sizeof(big) - 1) + 2);
    assert_string_equal(out + 2 * (sizeof(big) - 1), "y\n");
    free(out);
    table_free(t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_names_line_up),
        cmocka_unit_test(test_last_cell_unpadded_and_short_rows),
        cmocka_unit_test(test_kinds_keep_their_own_widths),
        cmocka_unit_test(test_utf8_counts_characters),
        cmocka_unit_test(test_long_cell),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
