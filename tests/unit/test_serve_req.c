/* test_serve_req.c - reading HTTP requests: paths, ranges (RFC 9110
 * section 14), validators (13.1), codings (12.5.3), dates, credentials. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "serve_req.h"

static void
test_path(void **state)
{
    (void)state;
    assert_true(req_path_ok("pub.json"));
    assert_true(req_path_ok("sub/dir/pub.json"));
    assert_true(req_path_ok("a..b"));
    assert_true(req_path_ok("..a"));
    assert_false(req_path_ok(""));
    assert_false(req_path_ok("/etc/passwd"));
    assert_false(req_path_ok(".."));
    assert_false(req_path_ok("../x"));
    assert_false(req_path_ok("a/../x"));
    assert_false(req_path_ok("a/.."));
    assert_false(req_path_ok("./a"));
    assert_false(req_path_ok("a//b"));
    assert_false(req_path_ok("a/"));
    assert_false(req_path_ok("..\\x"));
    assert_false(req_path_ok("a\tb"));
    assert_false(req_path_ok("a\x7f"));
}

static void
test_raw_nul(void **state)
{
    (void)state;
    assert_true(req_raw_path_has_nul("/feeds/pub.json%00"));
    assert_true(req_raw_path_has_nul("/feeds/%00pub.json"));
    assert_true(req_raw_path_has_nul("/%00?x=1"));
    assert_false(req_raw_path_has_nul("/feeds/pub.json"));
    assert_false(req_raw_path_has_nul("/feeds/pub.json?x=%00"));
    assert_false(req_raw_path_has_nul("/feeds/%2500"));
    assert_false(req_raw_path_has_nul("/feeds/%0"));
    assert_false(req_raw_path_has_nul("/feeds/%010"));
}

/* Expects hdr against size to give want and, for OK, [a, b]. */
static void
range_is(const char *hdr, int64_t size, enum req_range want, int64_t a,
         int64_t b)
{
    int64_t first = -7, last = -7;
    enum req_range got = req_range_parse(hdr, size, &first, &last);

    if (got != want)
        fail_msg("'%s' size %lld: got %d, want %d", hdr ? hdr : "(null)",
                 (long long)size, (int)got, (int)want);
    if (want == REQ_RANGE_OK && (first != a || last != b))
        fail_msg("'%s': got %lld-%lld, want %lld-%lld", hdr,
                 (long long)first, (long long)last, (long long)a,
                 (long long)b);
}

static void
test_range(void **state)
{
    (void)state;
    /* Section 14.1.2 forms. */
    range_is("bytes=0-499", 1000, REQ_RANGE_OK, 0, 499);
    range_is("bytes=500-999", 1000, REQ_RANGE_OK, 500, 999);
    range_is("bytes=500-", 1000, REQ_RANGE_OK, 500, 999);
    range_is("bytes=-500", 1000, REQ_RANGE_OK, 500, 999);
    range_is("bytes=0-0", 1000, REQ_RANGE_OK, 0, 0);
    range_is("bytes=999-999", 1000, REQ_RANGE_OK, 999, 999);
    /* Clipped: last past the end, suffix longer than the file. */
    range_is("bytes=10-5000", 1000, REQ_RANGE_OK, 10, 999);
    range_is("bytes=-5000", 1000, REQ_RANGE_OK, 0, 999);
    range_is("bytes=0-99999999999999999999999999", 10, REQ_RANGE_OK, 0,
             9);
    /* The unit is case-insensitive; list syntax allows OWS and empty
     * elements around a single range. */
    range_is("Bytes=1-2", 10, REQ_RANGE_OK, 1, 2);
    range_is("bytes= 1-2 ,", 10, REQ_RANGE_OK, 1, 2);
    range_is("bytes=,,1-2", 10, REQ_RANGE_OK, 1, 2);
    /* Unsatisfiable (section 15.5.17). */
    range_is("bytes=1000-", 1000, REQ_RANGE_UNSATISFIABLE, 0, 0);
    range_is("bytes=1000-2000", 1000, REQ_RANGE_UNSATISFIABLE, 0, 0);
    range_is("bytes=99999999999999999999999-", 1000,
             REQ_RANGE_UNSATISFIABLE, 0, 0);
    range_is("bytes=-0", 1000, REQ_RANGE_UNSATISFIABLE, 0, 0);
    range_is("bytes=0-", 0, REQ_RANGE_UNSATISFIABLE, 0, 0);
    range_is("bytes=-5", 0, REQ_RANGE_UNSATISFIABLE, 0, 0);
    /* Ignored: lists, other units, bad syntax, last < first. */
    range_is(NULL, 10, REQ_RANGE_NONE, 0, 0);
    range_is("bytes=0-1,3-4", 10, REQ_RANGE_NONE, 0, 0);
    range_is("bytes=0-1, 0-1", 10, REQ_RANGE_NONE, 0, 0);
    range_is("items=0-1", 10, REQ_RANGE_NONE, 0, 0);
    range_is("bytes", 10, REQ_RANGE_NONE, 0, 0);
    range_is("bytes=", 10, REQ_RANGE_NONE, 0, 0);
    range_is("bytes=-", 10, REQ_RANGE_NONE, 0, 0);
    range_is("bytes=5-2", 10, REQ_RANGE_NONE, 0, 0);
    range_is("bytes=a-", 10, REQ_RANGE_NONE, 0, 0);
    range_is("bytes=1-2x", 10, REQ_RANGE_NONE, 0, 0);
    range_is("bytes=1 -2", 10, REQ_RANGE_NONE, 0, 0);
    range_is("bytes=--2", 10, REQ_RANGE_NONE, 0, 0);
    range_is("bytes=+1-2", 10, REQ_RANGE_NONE, 0, 0);
    range_is("bytes =1-2", 10, REQ_RANGE_NONE, 0, 0);
}

static void
test_validators(void **state)
{
    const char *tag = "\"abc\"";

    (void)state;
    /* If-None-Match: weak comparison, lists, "*". */
    assert_true(req_etag_match("\"abc\"", tag));
    assert_true(req_etag_match("W/\"abc\"", tag));
    assert_true(req_etag_match("\"x\", \"abc\"", tag));
    assert_true(req_etag_match("\"x\",W/\"abc\" ,\"y\"", tag));
    assert_true(req_etag_match("*", tag));
    assert_false(req_etag_match("\"abcd\"", tag));
    assert_false(req_etag_match("\"ab\"", tag));
    assert_false(req_etag_match("abc", tag));
    assert_false(req_etag_match("", tag));
    /* A comma inside a tag is part of it. */
    assert_false(req_etag_match("\"x,\"abc\"\"", tag));
    /* If-Range: the identical strong tag only. */
    assert_true(req_if_range_ok("\"abc\"", tag));
    assert_true(req_if_range_ok(" \"abc\" ", tag));
    assert_false(req_if_range_ok("W/\"abc\"", tag));
    assert_false(req_if_range_ok("\"abcd\"", tag));
    assert_false(req_if_range_ok("Sun, 06 Nov 1994 08:49:37 GMT", tag));
    assert_false(req_if_range_ok("", tag));
    assert_false(req_if_range_ok(NULL, tag));
}

static void
test_gzip(void **state)
{
    (void)state;
    assert_true(req_accepts_gzip("gzip"));
    assert_true(req_accepts_gzip("GZIP"));
    assert_true(req_accepts_gzip("br, gzip"));
    assert_true(req_accepts_gzip("gzip;q=0.5"));
    assert_true(req_accepts_gzip("gzip ; q=0.001"));
    assert_true(req_accepts_gzip("x-gzip"));
    assert_true(req_accepts_gzip("*"));
    assert_true(req_accepts_gzip("br;q=0, *;q=0.1"));
    assert_false(req_accepts_gzip(NULL));
    assert_false(req_accepts_gzip(""));
    assert_false(req_accepts_gzip("br, deflate"));
    assert_false(req_accepts_gzip("gzip;q=0"));
    assert_false(req_accepts_gzip("gzip;q=0.000"));
    assert_false(req_accepts_gzip("GZIP;Q=0"));
    assert_false(req_accepts_gzip("*;q=0"));
    /* gzip named explicitly overrides "*". */
    assert_false(req_accepts_gzip("*, gzip;q=0"));
    assert_true(req_accepts_gzip("*;q=0, gzip"));
    /* Malformed weights are skipped: doubt means identity. */
    assert_false(req_accepts_gzip("gzip;q=2"));
    assert_false(req_accepts_gzip("gzip;q=0.5x"));
    assert_false(req_accepts_gzip("gzip;level=1"));
    assert_false(req_accepts_gzip("gzipx"));
    assert_false(req_accepts_gzip("gzip q=1"));
}

static void
test_dates(void **state)
{
    char out[40];

    (void)state;
    req_http_date(784111777, out);
    assert_string_equal(out, "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_int_equal(req_parse_http_date(out), 784111777);
    req_http_date(0, out);
    assert_string_equal(out, "Thu, 01 Jan 1970 00:00:00 GMT");
    req_http_date(1795176000, out);
    assert_int_equal(req_parse_http_date(out), 1795176000);
    assert_int_equal(req_parse_http_date(NULL), -1);
    assert_int_equal(req_parse_http_date(""), -1);
    assert_int_equal(req_parse_http_date("Sun, 06 No 1994 08:49:37 GMT"),
                     -1);
    assert_int_equal(req_parse_http_date("Sun, 06 anF 1994 08:49:37 GMT"),
                     -1);
    assert_int_equal(req_parse_http_date("Sun, 06 Nov 1994 08:49:37"),
                     -1);
}

/* Expects auth to carry exactly the n bytes want. */
static void
cred_is(const char *auth, const char *want, size_t n)
{
    char *got;
    size_t len;

    if (want == NULL) {
        assert_int_equal(req_credential(auth, &got, &len), -1);
        assert_null(got);
        return;
    }
    assert_int_equal(req_credential(auth, &got, &len), 0);
    assert_int_equal(len, n);
    assert_memory_equal(got, want, n);
    assert_int_equal(got[n], '\0');
    free(got);
}

static void
test_credentials(void **state)
{
    (void)state;
    cred_is("Bearer abc", "abc", 3);
    cred_is("bearer   abc  ", "abc", 3);
    cred_is("Bearer a b", "a b", 3);
    cred_is("Bearer ", NULL, 0);
    cred_is("Bearer", NULL, 0);
    /* user:token, user:, :token, a colon in the password */
    cred_is("Basic dXNlcjp0b2tlbg==", "token", 5);
    cred_is("basic dXNlcjp0b2tlbg== ", "token", 5);
    cred_is("Basic dXNlcjo=", "", 0);
    cred_is("Basic OnRva2Vu", "token", 5);
    cred_is("Basic dTphOmI=", "a:b", 3);
    /* a NUL byte in the password stays in it */
    cred_is("Basic dTphAGI=", "a\0b", 3);
    cred_is("Basic dXNlcg==", NULL, 0);          /* no colon */
    cred_is("Basic !!!!", NULL, 0);
    cred_is("Basic abc", NULL, 0);
    cred_is("Basic ", NULL, 0);
    cred_is("Digest x", NULL, 0);
    cred_is(NULL, NULL, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path),
        cmocka_unit_test(test_raw_nul),
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_validators),
        cmocka_unit_test(test_gzip),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_credentials),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
