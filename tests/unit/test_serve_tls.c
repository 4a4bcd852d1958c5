/* test_serve_tls.c - the certificate pair check (readable, PEM, key
 * matches, not expired, days left) and the lifetime of reloaded pairs:
 * a session keeps the pair it was handed until it closes, whatever is
 * loaded meanwhile. Certificates: tests/fixtures/tls (make.sh there). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "serve_tls.h"

#define DIR "tests/fixtures/tls/"
/* 2026-11-20T12:00:00Z, the tests' pinned now; the leaf is valid from
 * 2026-01-01 to 2027-01-01T00:00:00Z. */
#define NOW 1795176000
#define LEAF_END 1798761600

static int
check(const char *cert, const char *key, int64_t now,
      struct tls_pair_info *info, struct pf_err *err)
{
    memset(err, 0, sizeof(*err));
    return tls_pair_check(cert, key, now, info, err);
}

static void
test_good_pair(void **state)
{
    struct tls_pair_info info;
    struct pf_err err;

    (void)state;
    assert_int_equal(check(DIR "leaf.pem", DIR "leaf.key", NOW, &info,
                           &err), 0);
    assert_int_equal(info.not_after, LEAF_END);
    /* 41.5 days: whole days only. */
    assert_int_equal(info.days_left, 41);
    assert_int_equal(info.chain, 1);
    assert_non_null(strstr(info.subject, "CN=localhost"));
    assert_int_equal(check(DIR "chain.pem", DIR "leaf.key", NOW, &info,
                           &err), 0);
    assert_int_equal(info.chain, 2);
    /* An hour before the end: 0 days left, still valid. */
    assert_int_equal(check(DIR "leaf.pem", DIR "leaf.key",
                           LEAF_END - 3600, &info, &err), 0);
    assert_int_equal(info.days_left, 0);
}

static void
test_expired(void **state)
{
    struct tls_pair_info info;
    struct pf_err err;

    (void)state;
    assert_int_equal(check(DIR "expired.pem", DIR "leaf.key", NOW, &info,
                           &err), -1);
    assert_non_null(strstr(err.msg, DIR "expired.pem: "));
    assert_non_null(strstr(err.msg, "expired on 2021-01-01T00:00:00Z"));
    /* The valid one, a second after its end. */
    assert_int_equal(check(DIR "leaf.pem", DIR "leaf.key", LEAF_END + 1,
                           &info, &err), -1);
    assert_non_null(strstr(err.msg, "expired on 2027-01-01T00:00:00Z"));
    assert_int_equal(info.days_left, -1);
}

static void
test_mismatch_and_bad_files(void **state)
{
    struct tls_pair_info info;
    struct pf_err err;

    (void)state;
    assert_int_equal(check(DIR "leaf.pem", DIR "other.key", NOW, &info,
                           &err), -1);
    assert_non_null(strstr(err.msg, DIR "other.key: this key does not "
                                    "match the certificate in "
                                    DIR "leaf.pem"));
    assert_int_equal(check(DIR "missing.pem", DIR "leaf.key", NOW, &info,
                           &err), -1);
    assert_non_null(strstr(err.msg, DIR "missing.pem: No such file"));
    assert_int_equal(check(DIR "leaf.pem", DIR "missing.key", NOW, &info,
                           &err), -1);
    assert_non_null(strstr(err.msg, DIR "missing.key: No such file"));
    /* A key where the certificate belongs, and the other way round. */
    assert_int_equal(check(DIR "leaf.key", DIR "leaf.key", NOW, &info,
                           &err), -1);
    assert_non_null(strstr(err.msg, DIR "leaf.key: not a PEM certificate"));
    assert_int_equal(check(DIR "leaf.pem", DIR "leaf.pem", NOW, &info,
                           &err), -1);
    assert_non_null(strstr(err.msg, DIR "leaf.pem: not an unencrypted PEM "
                                    "private key"));
    assert_int_equal(check(DIR "leaf.pem", DIR "encrypted.key", NOW, &info,
                           &err), -1);
    assert_non_null(strstr(err.msg, DIR "encrypted.key: not an "
                                    "unencrypted"));
    /* The CA first: the leaf must come first. */
    assert_int_equal(check(DIR "unsorted.pem", DIR "leaf.key", NOW, &info,
                           &err), -1);
    assert_non_null(strstr(err.msg, DIR "unsorted.pem: "));
    /* A folder is not a file. */
    assert_int_equal(check(DIR, DIR "leaf.key", NOW, &info, &err), -1);
    assert_non_null(strstr(err.msg, "not a regular file"));
}

/* What the certificate callback hands out for a session. */
static const gnutls_pcert_st *
handed(void *session)
{
    gnutls_pcert_st *pc = NULL;
    gnutls_privkey_t key = NULL;
    unsigned n = 0;

    assert_int_equal(serve_tls_cert_cb(session, NULL, 0, NULL, 0, &pc, &n,
                                       &key), 0);
    assert_non_null(key);
    return pc;
}

static void
test_reload_lifetimes(void **state)
{
    struct pf_err err = {{0}};
    unsigned sess, pairs;
    int s1, s2, s3;
    const gnutls_pcert_st *a, *b;
    gnutls_pcert_st *pc = NULL;
    gnutls_privkey_t key = NULL;
    unsigned n = 0;

    (void)state;
    /* Nothing loaded: the handshake fails rather than crash. */
    assert_int_equal(serve_tls_cert_cb((void *)&s1, NULL, 0, NULL, 0, &pc,
                                       &n, &key), -1);
    assert_int_equal(serve_tls_load(DIR "leaf.pem", DIR "leaf.key", NOW,
                                    NULL, &err), 0);
    a = handed(&s1);
    assert_int_equal(a->cert.size > 0, 1);
    serve_tls_counts(&sess, &pairs);
    assert_int_equal(sess, 1);
    assert_int_equal(pairs, 1);
    /* A bad pair leaves the current one. */
    assert_int_equal(serve_tls_load(DIR "leaf.pem", DIR "other.key", NOW,
                                    NULL, &err), -1);
    assert_ptr_equal(handed(&s2), a);
    /* A new pair: new sessions get it, s1 and s2 keep the old one alive. */
    assert_int_equal(serve_tls_load(DIR "chain.pem", DIR "leaf.key", NOW,
                                    NULL, &err), 0);
    b = handed(&s3);
    assert_ptr_not_equal(b, a);
    serve_tls_counts(&sess, &pairs);
    assert_int_equal(sess, 3);
    assert_int_equal(pairs, 2);
    serve_tls_session_closed(&s1);
    serve_tls_counts(&sess, &pairs);
    assert_int_equal(pairs, 2);
    /* Still readable (ASan would say otherwise). */
    assert_int_equal(a->cert.size > 0, 1);
    serve_tls_session_closed(&s2);
    serve_tls_session_closed(NULL);
    serve_tls_session_closed(&s2);  /* twice: ignored */
    serve_tls_counts(&sess, &pairs);
    assert_int_equal(sess, 1);
    assert_int_equal(pairs, 1);
    /* A second handshake on s3 after another reload moves it over. */
    assert_int_equal(serve_tls_load(DIR "leaf.pem", DIR "leaf.key", NOW,
                                    NULL, &err), 0);
    serve_tls_counts(&sess, &pairs);
    assert_int_equal(pairs, 2);
    assert_ptr_not_equal(handed(&s3), b);
    serve_tls_counts(&sess, &pairs);
    assert_int_equal(sess, 1);
    assert_int_equal(pairs, 1);
    serve_tls_free();
    serve_tls_counts(&sess, &pairs);
    assert_int_equal(sess, 0);
    assert_int_equal(pairs, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_pair),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_mismatch_and_bad_files),
        cmocka_unit_test(test_reload_lifetimes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
