/* test_klaviyo.c - the Klaviyo client against scripted answers: the
 * headers every request carries, errors read from errors[], deprecation
 * notices, and pacing within the documented windows and the RateLimit
 * headers (on a fake clock, so nothing really waits). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "klaviyo.h"
#include "script_server.h"

static double clock_s;

static void
fake_sleep(double sec, void *ctx)
{
    (void)ctx;
    if (sec > 0)
        clock_s += sec;
}

static double
fake_now(void *ctx)
{
    (void)ctx;
    return clock_s;
}

static struct klaviyo *
open_at(const struct script *s)
{
    static struct http_opts ho;
    struct klaviyo_opts o;
    struct klaviyo *k = NULL;
    char url[64];

    memset(&ho, 0, sizeof(ho));
    ho.sleep_fn = fake_sleep;
    ho.now_fn = fake_now;
    ho.timeout_s = 5;
    clock_s = 1000;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", s->port);
    o.api_url = url;
    o.api_key = "pk_secret_1234";
    o.revision = "2026-10-15";
    o.http = &ho;
    assert_int_equal(klaviyo_open(&o, &k, NULL), 0);
    return k;
}

#define R202 "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n" \
             "Connection: close\r\n\r\n"

static void
test_request_lines(void **state)
{
    static const char *const replies[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 11\r\nConnection: close\r\n"
        "\r\n{\"data\":[]}"};
    struct script s;
    struct klaviyo *k;
    cJSON *a = NULL;
    char *req;

    (void)state;
    assert_int_equal(script_start(&s, replies, 1), 0);
    k = open_at(&s);
    assert_int_equal(klaviyo_call(k, "POST", "/api/metric-aggregates",
                                  "{}", 2, &a, NULL, NULL, NULL), 200);
    assert_non_null(cJSON_GetObjectItem(a, "data"));
    cJSON_Delete(a);
    klaviyo_close(k);
    req = s.requests[0];
    assert_non_null(req);
    assert_non_null(strstr(req, "POST /api/metric-aggregates HTTP/1.1"));
    assert_non_null(strstr(req,
        "Authorization: Klaviyo-API-Key pk_secret_1234\r\n"));
    assert_non_null(strstr(req, "revision: 2026-10-15\r\n"));
    assert_non_null(strstr(req,
        "Content-Type: application/vnd.api+json\r\n"));
    assert_non_null(strstr(req, "\r\n\r\n{}"));
    script_stop(&s);
}

static void
test_errors_name_the_pointer_never_the_key(void **state)
{
    static const char *const replies[] = {
        "HTTP/1.1 400 Bad Request\r\nContent-Length: 138\r\n"
        "Connection: close\r\n\r\n"
        "{\"errors\":[{\"status\":400,\"code\":\"invalid\",\"title\":"
        "\"Invalid input.\",\"detail\":\"bad phone\",\"source\":{\"pointer\":"
        "\"/data/attributes/phone\"}}]}  ",
        "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n"
        "Connection: close\r\n\r\n"};
    struct script s;
    struct klaviyo *k;
    struct pf_err err = {{0}};
    cJSON *a = NULL;
    char *ptr = NULL;
    long st = 0;

    (void)state;
    assert_int_equal(script_start(&s, replies, 2), 0);
    k = open_at(&s);
    assert_int_equal(klaviyo_call(k, "POST", "/api/event-bulk-create-jobs",
                                  "{}", 2, &a, &st, &ptr, &err), -1);
    assert_int_equal(st, 400);
    assert_string_equal(ptr, "/data/attributes/phone");
    assert_non_null(strstr(err.msg, "Invalid input."));
    assert_non_null(strstr(err.msg, "bad phone"));
    free(ptr);
    assert_int_equal(klaviyo_call(k, "GET", "/api/accounts", NULL, 0, &a,
                                  &st, NULL, &err), -1);
    assert_int_equal(st, 401);
    assert_non_null(strstr(err.msg, "api_key"));
    assert_null(strstr(err.msg, "pk_secret"));
    klaviyo_close(k);
    script_stop(&s);
}

static void
test_deprecation_is_kept(void **state)
{
    static const char *const replies[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n"
        "Deprecation: @1767225600\r\n"
        "Sunset: Fri, 15 Jan 2027 00:00:00 GMT\r\n\r\n{}"};
    struct script s;
    struct klaviyo *k;
    cJSON *a = NULL;

    (void)state;
    assert_int_equal(script_start(&s, replies, 1), 0);
    k = open_at(&s);
    assert_null(klaviyo_warning(k));
    assert_int_equal(klaviyo_call(k, "GET", "/api/accounts", NULL, 0, &a,
                                  NULL, NULL, NULL), 200);
    cJSON_Delete(a);
    assert_non_null(klaviyo_warning(k));
    assert_non_null(strstr(klaviyo_warning(k), "2026-10-15"));
    assert_non_null(strstr(klaviyo_warning(k), "15 Jan 2027"));
    klaviyo_close(k);
    script_stop(&s);
}

/* Eleven bulk-event calls: the documented burst is 10 per second, so
 * the eleventh waits until the first is more than a second old. */
static void
test_burst_window(void **state)
{
    static const char *replies[11];
    struct script s;
    struct klaviyo *k;
    cJSON *a = NULL;
    double t0;

    (void)state;
    for (int i = 0; i < 11; i++)
        replies[i] = R202;
    assert_int_equal(script_start(&s, replies, 11), 0);
    k = open_at(&s);
    t0 = clock_s;
    for (int i = 0; i < 10; i++)
        assert_int_equal(klaviyo_call(k, "POST",
                                      "/api/event-bulk-create-jobs", "{}",
                                      2, &a, NULL, NULL, NULL), 202);
    assert_true(clock_s == t0);
    assert_int_equal(klaviyo_call(k, "POST", "/api/event-bulk-create-jobs",
                                  "{}", 2, &a, NULL, NULL, NULL), 202);
    assert_true(clock_s >= t0 + 1.0 && clock_s < t0 + 1.5);
    klaviyo_close(k);
    script_stop(&s);
}

/* The server says the steady window is spent: the next call waits for
 * its reset, even though our own log has room. */
static void
test_remaining_zero_waits_for_reset(void **state)
{
    static const char *const replies[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n"
        "RateLimit-Limit: 60\r\nRateLimit-Remaining: 0\r\n"
        "RateLimit-Reset: 42\r\n\r\n{}",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n"
        "RateLimit-Limit: 60\r\nRateLimit-Remaining: 59\r\n"
        "RateLimit-Reset: 60\r\n\r\n{}"};
    struct script s;
    struct klaviyo *k;
    cJSON *a = NULL;
    double t0;

    (void)state;
    assert_int_equal(script_start(&s, replies, 2), 0);
    k = open_at(&s);
    t0 = clock_s;
    assert_int_equal(klaviyo_call(k, "POST", "/api/metric-aggregates", "{}",
                                  2, &a, NULL, NULL, NULL), 200);
    cJSON_Delete(a);
    assert_int_equal(klaviyo_call(k, "POST", "/api/metric-aggregates", "{}",
                                  2, &a, NULL, NULL, NULL), 200);
    cJSON_Delete(a);
    assert_true(clock_s >= t0 + 42 && clock_s < t0 + 43);
    assert_int_equal(klaviyo_stats(k)->status_429, 0);
    klaviyo_close(k);
    script_stop(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_lines),
        cmocka_unit_test(test_errors_name_the_pointer_never_the_key),
        cmocka_unit_test(test_deprecation_is_kept),
        cmocka_unit_test(test_burst_window),
        cmocka_unit_test(test_remaining_zero_waits_for_reset),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
