/* test_names.c - the files a feed publishes and when two feeds' files
 * meet: single names, sets of parts (any K >= 2), folders and the shape
 * rules for an output name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "names.h"

static void
test_part_and_index_names(void **state)
{
    static const struct {
        const char *output;
        int k;
        const char *part;
    } parts[] = {
        {"klaviyo/catalog.json", 1, "klaviyo/catalog.json"},
        {"klaviyo/catalog.json", 2, "klaviyo/catalog-2.json"},
        {"klaviyo/catalog.json", 13, "klaviyo/catalog-13.json"},
        {"a.b/feed", 3, "a.b/feed-3"},
        {"feed.tar.xml", 2, "feed.tar-2.xml"},
    };
    char *s;

    (void)state;
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        s = pf_names_part(parts[i].output, parts[i].k);
        assert_string_equal(s, parts[i].part);
        free(s);
    }
    /* The index keeps the whole output name: catalog.json and
     * catalog.xml no longer share one. */
    s = pf_names_index("klaviyo/catalog.json");
    assert_string_equal(s, "klaviyo/catalog.json.parts.json");
    free(s);
    s = pf_names_index("klaviyo/catalog.xml");
    assert_string_equal(s, "klaviyo/catalog.xml.parts.json");
    free(s);
    s = pf_names_legacy_index("klaviyo/catalog.xml");
    assert_string_equal(s, "klaviyo/catalog.parts.json");
    free(s);
}

static void
test_names_of_a_feed(void **state)
{
    struct pf_names ns;

    (void)state;
    pf_names_of("c.json", 0, 0, &ns);
    assert_int_equal(ns.n, 1);
    assert_int_equal(ns.v[0].role, PF_NAME_OUTPUT);
    pf_names_free(&ns);

    pf_names_of("c.json", 1, 1, &ns);
    assert_int_equal(ns.n, 5);
    assert_true(pf_name_has(&ns.v[0], "c.json"));
    assert_true(pf_name_has(&ns.v[1], "c.json.gz"));
    assert_true(pf_name_has(&ns.v[2], "c-2.json"));
    assert_true(pf_name_has(&ns.v[2], "c-123456.json"));
    assert_true(pf_name_has(&ns.v[3], "c-10.json.gz"));
    assert_true(pf_name_has(&ns.v[4], "c.json.parts.json"));
    /* Part 1 is the output; no leading zeros, no sign, no gap. */
    assert_false(pf_name_has(&ns.v[2], "c-1.json"));
    assert_false(pf_name_has(&ns.v[2], "c-0.json"));
    assert_false(pf_name_has(&ns.v[2], "c-02.json"));
    assert_false(pf_name_has(&ns.v[2], "c-.json"));
    assert_false(pf_name_has(&ns.v[2], "c-2x.json"));
    assert_false(pf_name_has(&ns.v[2], "C-2.json"));
    assert_false(pf_name_has(&ns.v[2], "c-2.json.gz"));
    pf_names_free(&ns);
}

/* Do the feeds (output, gzip, split) a and b share a file? */
static int
meet(const char *a, int gza, int spa, const char *b, int gzb, int spb,
     char *ex, size_t exn)
{
    struct pf_names na, nb;
    int hit = 0;

    pf_names_of(a, gza, spa, &na);
    pf_names_of(b, gzb, spb, &nb);
    for (size_t i = 0; i < na.n && !hit; i++)
        for (size_t j = 0; j < nb.n && !hit; j++)
            hit = pf_name_meet(&na.v[i], &nb.v[j], ex, exn);
    pf_names_free(&na);
    pf_names_free(&nb);
    return hit;
}

static void
test_meet(void **state)
{
    static const struct {
        const char *a;
        int gza, spa;
        const char *b;
        int gzb, spb;
        const char *file;       /* NULL: they must not meet */
    } cases[] = {
        /* the leak: a public twin beside a token feed */
        {"clerk.json", 1, 0, "clerk.json.gz", 0, 0, "clerk.json.gz"},
        {"clerk.json", 0, 0, "clerk.json.gz", 0, 0, NULL},
        /* the old shared index of the demo is gone */
        {"k/catalog.json", 1, 1, "k/catalog.xml", 1, 1, NULL},
        /* a part of any size, whichever feed comes first */
        {"k/c.json", 0, 1, "k/c-17.json", 0, 0, "k/c-17.json"},
        {"k/c-17.json", 0, 0, "k/c.json", 0, 1, "k/c-17.json"},
        {"k/c.json", 1, 1, "k/c-4.json.gz", 0, 0, "k/c-4.json.gz"},
        {"k/c.json", 0, 1, "k/c-4.json.gz", 0, 0, NULL},
        {"k/c.json", 0, 1, "k/c-1.json", 0, 0, NULL},
        {"k/c.json", 0, 1, "k/c-01.json", 0, 0, NULL},
        /* two sets of parts: the same, or one hidden in the other */
        {"c.json", 0, 1, "c.json", 0, 1, "c.json"},
        {"x.json", 0, 1, "x-3.json", 0, 1, "x-3.json"},
        {"x-3.json", 0, 1, "x.json", 0, 1, "x-3.json"},
        {"a-2.json", 0, 1, "a.json", 0, 1, "a-2.json"},
        {"x.json", 0, 1, "x-3.xml", 0, 1, NULL},
        {"x", 0, 1, "x-5", 0, 1, "x-5"},
        {"x", 0, 1, "x-5.a", 0, 1, NULL},
        /* parts of an output without an extension */
        {"feed", 1, 1, "feed-9.gz", 0, 0, "feed-9.gz"},
        /* the index of one is the output of another */
        {"c.json", 0, 1, "c.json.parts.json", 0, 0, "c.json.parts.json"},
        /* names compare byte for byte, as the server does */
        {"Clerk.json", 0, 0, "clerk.json", 0, 0, NULL},
    };
    char ex[128];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int hit;

        ex[0] = '\0';
        hit = meet(cases[i].a, cases[i].gza, cases[i].spa, cases[i].b,
                   cases[i].gzb, cases[i].spb, ex, sizeof(ex));
        if (cases[i].file == NULL && hit)
            fail_msg("case %zu: %s and %s meet at %s", i, cases[i].a,
                     cases[i].b, ex);
        if (cases[i].file != NULL && !hit)
            fail_msg("case %zu: %s and %s do not meet", i, cases[i].a,
                     cases[i].b);
        if (cases[i].file != NULL)
            assert_string_equal(ex, cases[i].file);
    }
}

static void
test_output_shapes(void **state)
{
    static const struct {
        const char *output;
        const char *why;        /* NULL: fine */
    } cases[] = {
        {"clerk.json", NULL},
        {"klaviyo/catalog.json", NULL},
        {"a.b/c-2.json", NULL},
        {".hidden.json", NULL},
        {"sub/", "ends in '/'"},
        {"a//b.json", "empty or '.' folder"},
        {"./b.json", "empty or '.' folder"},
        {"a/./b.json", "empty or '.' folder"},
        {"a/.", "empty or '.' folder"},
        {"a\\b.json", "control character"},
        {"a\tb.json", "control character"},
        {".clerk.json.tmp-abc123", "temp file"},
        {"x/.y.tmp-1", "temp file"},
        {"clerk.json.gz", "gzip twin"},
        {"clerk.json.parts.json", "index"},
        {"catalog.parts.json", "index"},
    };
    char why[160];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = pf_names_output_ok(cases[i].output, why, sizeof(why));

        if (rc == 0)
            rc = pf_names_output_lookalike(cases[i].output, why,
                                           sizeof(why));

        if (cases[i].why == NULL && rc != 0)
            fail_msg("'%s' refused: %s", cases[i].output, why);
        if (cases[i].why != NULL && rc == 0)
            fail_msg("'%s' accepted", cases[i].output);
        if (cases[i].why != NULL && strstr(why, cases[i].why) == NULL)
            fail_msg("'%s': '%s' not in '%s'", cases[i].output,
                     cases[i].why, why);
    }
    assert_true(pf_names_is_temp(".a.json.tmp-Xy12Zq"));
    assert_true(pf_names_is_temp(".a.json.gz.tmp-Xy12Zq"));
    assert_false(pf_names_is_temp("a.json"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_part_and_index_names),
        cmocka_unit_test(test_names_of_a_feed),
        cmocka_unit_test(test_meet),
        cmocka_unit_test(test_output_shapes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
