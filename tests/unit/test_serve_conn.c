/* test_serve_conn.c - request deadlines: a socket whose request is not in
 * by its deadline is shut down, once; an answered one is left alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "serve_conn.h"

/* 1 if the peer of a shut-down socket sees the end (no waiting). */
static int
peer_sees_end(int peer)
{
    char c;

    return recv(peer, &c, 1, MSG_DONTWAIT) == 0;
}

static void
pair(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

static void
test_deadline_cuts_once(void **state)
{
    struct conn_watch *w = conn_watch_new(10);
    struct conn_entry *e;
    int sv[2];

    (void)state;
    pair(sv);
    e = conn_watch_add(w, sv[0], 100);
    assert_int_equal(conn_watch_count(w), 1);
    /* Before the deadline: untouched, however often swept. */
    assert_int_equal(conn_watch_sweep(w, 105), 0);
    assert_int_equal(conn_watch_sweep(w, 109.9), 0);
    assert_false(peer_sees_end(sv[1]));
    /* At it: shut down, and only once. */
    assert_int_equal(conn_watch_sweep(w, 110), 1);
    assert_true(peer_sees_end(sv[1]));
    assert_int_equal(conn_watch_sweep(w, 200), 0);
    conn_watch_remove(w, e);
    assert_int_equal(conn_watch_count(w), 0);
    close(sv[0]);
    close(sv[1]);
    conn_watch_free(w);
}

static void
test_answered_and_rearmed(void **state)
{
    struct conn_watch *w = conn_watch_new(10);
    struct conn_entry *a, *b;
    int sa[2], sb[2];

    (void)state;
    pair(sa);
    pair(sb);
    a = conn_watch_add(w, sa[0], 0);
    b = conn_watch_add(w, sb[0], 5);
    /* a's request is in and answered: sending the answer takes as long
     * as it takes. */
    conn_watch_answered(w, a);
    assert_int_equal(conn_watch_sweep(w, 12), 0);
    assert_false(peer_sees_end(sa[1]));
    /* The answer is complete at 50: the next request is due by 60. A new
     * limit applies to deadlines armed after it. */
    conn_watch_set_limit(w, 20);
    assert_int_equal(conn_watch_sweep(w, 15), 1);      /* b, at 5 + 10 */
    assert_true(peer_sees_end(sb[1]));
    conn_watch_rearm(w, a, 50);
    assert_int_equal(conn_watch_sweep(w, 69), 0);
    assert_int_equal(conn_watch_sweep(w, 70), 1);
    assert_true(peer_sees_end(sa[1]));
    /* Removal in any order keeps the list whole. */
    conn_watch_remove(w, a);
    assert_int_equal(conn_watch_count(w), 1);
    conn_watch_remove(w, b);
    assert_int_equal(conn_watch_count(w), 0);
    conn_watch_remove(w, NULL);
    conn_watch_answered(w, NULL);
    conn_watch_rearm(w, NULL, 0);
    close(sa[0]);
    close(sa[1]);
    close(sb[0]);
    close(sb[1]);
    conn_watch_free(w);
}

static void
test_free_with_entries(void **state)
{
    struct conn_watch *w = conn_watch_new(1);

    (void)state;
    conn_watch_add(w, -1, 0);
    conn_watch_add(w, -1, 0);
    assert_int_equal(conn_watch_count(w), 2);
    conn_watch_free(w);
    conn_watch_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deadline_cuts_once),
        cmocka_unit_test(test_answered_and_rearmed),
        cmocka_unit_test(test_free_with_entries),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
