/* test_http.c - retry policy of the libcurl client against a scripted
 * loopback server, with a fake clock so nothing really waits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include <cmocka.h>

#include "http.h"
#include "script_server.h"

static void
start(struct script *s, const char *const *replies, int n)
{
    assert_int_equal(script_start(s, replies, n), 0);
}

static void
stop(struct script *s)
{
    script_stop(s);
}

static double slept;

static void
fake_sleep(double sec, void *ctx)
{
    (void)ctx;
    slept += sec;
}

static double
fake_now(void *ctx)
{
    (void)ctx;
    return slept;
}

static struct http_client *
client(double budget)
{
    struct http_opts o;
    struct http_client *c = NULL;

    memset(&o, 0, sizeof(o));
    o.sleep_fn = fake_sleep;
    o.now_fn = fake_now;
    o.timeout_s = 5;
    o.retry_budget_s = budget;
    slept = 0;
    assert_int_equal(http_client_new(&o, &c, NULL), 0);
    return c;
}

#define R503 "HTTP/1.1 503 Unavailable\r\nContent-Length: 0\r\n" \
             "Connection: close\r\n\r\n"
#define R200 "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n" \
             "X-LS-API-Bucket-Level: 3/90\r\nX-LS-API-Drip-Rate: 1\r\n\r\nok"

static void
test_retries_5xx_with_backoff(void **state)
{
    static const char *const replies[] = {R503, R503, R200};
    struct script s;
    struct http_client *c = client(100);
    struct http_resp r;
    char url[64];

    (void)state;
    start(&s, replies, 3);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/x?secret=1", s.port);
    assert_int_equal(http_get(c, url, NULL, &r, NULL), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok");
    assert_string_equal(r.bucket_level, "3/90");
    assert_string_equal(r.drip_rate, "1");
    assert_int_equal(http_client_stats(c)->retries, 2);
    assert_true(slept > 1.49 && slept < 1.51);     /* 0.5 + 1 */
    http_resp_free(&r);
    http_client_free(c);
    stop(&s);
}

static void
test_retry_after_on_429(void **state)
{
    static const char *const replies[] = {
        "HTTP/1.1 429 Too Many\r\nRetry-After: 3\r\nContent-Length: 0\r\n"
        "Connection: close\r\n\r\n", R200};
    struct script s;
    struct http_client *c = client(100);
    struct http_resp r;
    char url[64];

    (void)state;
    start(&s, replies, 2);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", s.port);
    assert_int_equal(http_get(c, url, NULL, &r, NULL), 0);
    assert_int_equal(r.status, 200);
    assert_true(slept > 2.99 && slept < 3.01);
    assert_int_equal(http_client_stats(c)->status_429, 1);
    http_resp_free(&r);
    http_client_free(c);
    stop(&s);
}

static void
test_budget_and_no_retry_on_4xx(void **state)
{
    static const char *const down[] = {R503, R503, R503};
    static const char *const missing[] = {
        "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n"
        "Connection: close\r\n\r\n{}"};
    struct script s;
    struct http_client *c = client(2);
    struct http_resp r;
    struct pf_err err = {{0}};
    char url[64];

    (void)state;
    start(&s, down, 3);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/down?q=secret",
             s.port);
    /* 0.5 + 1 fit in 2 s of budget; the next 2 s do not. */
    assert_int_equal(http_get(c, url, NULL, &r, &err), -1);
    assert_non_null(strstr(err.msg, "looks down"));
    assert_null(strstr(err.msg, "secret"));
    stop(&s);
    assert_int_equal(s.served, 3);
    /* A 4xx is the caller's business: returned at once. */
    start(&s, missing, 1);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/none", s.port);
    assert_int_equal(http_get(c, url, NULL, &r, &err), 0);
    assert_int_equal(r.status, 404);
    http_resp_free(&r);
    http_client_free(c);
    stop(&s);
}

static void
test_policy(void **state)
{
    struct http_opts o;
    char *e;

    (void)state;
    memset(&o, 0, sizeof(o));
    o.backoff_base_s = 0.5;
    o.backoff_cap_s = 30;
    assert_true(http_backoff(&o, 1) == 0.5);
    assert_true(http_backoff(&o, 3) == 2.0);
    assert_true(http_backoff(&o, 20) == 30.0);
    assert_true(http_status_retryable(429));
    assert_true(http_status_retryable(503));
    assert_true(http_status_retryable(408));
    assert_false(http_status_retryable(404));
    assert_false(http_status_retryable(401));
    e = http_escape(">=,2026-01-01T00:00:00+00:00");
    assert_string_equal(e, "%3E%3D%2C2026-01-01T00%3A00%3A00%2B00%3A00");
    free(e);
    e = http_escape("[\"A\",\"B\"]");
    assert_string_equal(e, "%5B%22A%22%2C%22B%22%5D");
    free(e);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retries_5xx_with_backoff),
        cmocka_unit_test(test_retry_after_on_429),
        cmocka_unit_test(test_budget_and_no_retry_on_4xx),
        cmocka_unit_test(test_policy),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
