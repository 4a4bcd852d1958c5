/* test_config_publish.c - [publish] values: S3's bucket naming rules,
 * which endpoints may use plain http, the url's prefix, and the defaults
 * the section gets once the file is read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config_publish.h"

static void
test_bucket_names(void **state)
{
    static const char *const ok[] = {
        "abc", "my-feeds", "feeds.example.com", "a1b2c3", "0bucket9",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    };
    static const char *const bad[] = {
        "ab", "My-Feeds", "my_feeds", "-feeds", "feeds-", "feeds..a",
        "192.168.1.1", "a b c", "",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        assert_true(pf_publish_bucket_ok(ok[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(pf_publish_bucket_ok(bad[i]));
}

static void
test_loopback(void **state)
{
    (void)state;
    assert_true(pf_publish_is_loopback("http://127.0.0.1:9000"));
    assert_true(pf_publish_is_loopback("http://127.1.2.3"));
    assert_true(pf_publish_is_loopback("http://localhost:80"));
    assert_true(pf_publish_is_loopback("http://[::1]:9000"));
    assert_false(pf_publish_is_loopback("http://127.evil.example"));
    assert_false(pf_publish_is_loopback("http://localhost.evil.example"));
    assert_false(pf_publish_is_loopback("http://10.0.0.1:9000"));
    assert_false(pf_publish_is_loopback("http://[::2]"));
}

static int
key(struct pf_publish_cfg *p, const char *k, const char *v)
{
    struct pf_err err;

    return pf_publish_key(p, k, v, &err);
}

static void
test_url_and_defaults(void **state)
{
    struct pf_publish_cfg p;
    struct pf_err err;
    int line;

    (void)state;
    memset(&p, 0, sizeof(p));
    pf_publish_init(&p, 7);
    assert_int_equal(key(&p, "url", "s3://feeds/shop-a//"), 0);
    assert_string_equal(p.bucket, "feeds");
    assert_string_equal(p.prefix, "shop-a/");
    assert_int_equal(key(&p, "url", "s3://feeds"), 0);
    assert_string_equal(p.prefix, "");
    assert_int_equal(key(&p, "url", "s3://feeds/a/../b"), -1);
    assert_int_equal(key(&p, "url", "s3://feeds/a b"), -1);
    assert_int_equal(key(&p, "endpoint", "http://10.1.1.1:9000"), -1);
    assert_int_equal(key(&p, "endpoint", "https://h.example/x"), -1);
    assert_int_equal(key(&p, "retries", "11"), -1);
    assert_int_equal(key(&p, "cache_control", "a\tb"), -1);
    assert_int_equal(key(&p, "no_such_key", "x"), 1);
    /* No credentials yet: refused, blaming the section's header. */
    assert_int_equal(pf_publish_finish(&p, &line, &err), -1);
    assert_int_equal(line, 7);
    p.access_key.env = strdup("A");
    p.secret_key.env = strdup("B");
    assert_int_equal(pf_publish_finish(&p, &line, &err), 0);
    assert_string_equal(p.endpoint, "https://s3.us-east-1.amazonaws.com");
    assert_false(p.path_style);
    assert_string_equal(p.cache_control, PF_S3_CACHE_PUBLIC);
    assert_int_equal(p.retries, 4);
    pf_publish_free(&p);

    /* An endpoint makes path style the default. */
    memset(&p, 0, sizeof(p));
    pf_publish_init(&p, 1);
    assert_int_equal(key(&p, "url", "s3://feeds/x"), 0);
    assert_int_equal(key(&p, "endpoint", "http://127.0.0.1:9000/"), 0);
    assert_string_equal(p.endpoint, "http://127.0.0.1:9000");
    p.access_key.file = strdup("/a");
    p.secret_key.file = strdup("/b");
    assert_int_equal(pf_publish_finish(&p, &line, &err), 0);
    assert_true(p.path_style);
    pf_publish_free(&p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_names),
        cmocka_unit_test(test_loopback),
        cmocka_unit_test(test_url_and_defaults),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
