/* test_serve_pool.c - the bounded run pool with a shell script as the
 * run binary: the script sources the "config" it is given, so each job's
 * config says what the run does (sleep, exit N, hang, ignore SIGTERM),
 * and it logs "start NAME" / "end NAME" lines to one file, from which
 * the test reads the real concurrency. The pool's clock is the test's:
 * timeouts are checked by moving `now`, not by waiting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "serve_pool.h"
#include "util.h"

#define MAX_EV 128

/* The run binary. Arguments must be exactly -c CONFIG -q run. */
static const char SCRIPT[] =
    "#!/bin/sh\n"
    "[ \"$1\" = -c ] && [ \"$3\" = -q ] && [ \"$4\" = run ] || exit 99\n"
    "name=$(basename \"$2\" .conf)\n"
    "log=$(dirname \"$2\")/runs.log\n"
    "echo \"start $name\" >>\"$log\"\n"
    "echo \"stdout of $name\"\n"
    ". \"$2\"\n";

struct rec {
    char dir[64];
    char exe[96];
    int nstart, nend;
    struct pool_event start[MAX_EV], end[MAX_EV];
    unsigned max_running;
    struct run_pool *p;
    char order[MAX_EV * 2 + 1];     /* 's' per on_start, 'e' per on_end */
};

static struct rec g;

static void
on_start(void *arg, const struct pool_event *e)
{
    struct rec *r = arg;
    struct pool_stats st;

    assert_true(r->nstart < MAX_EV);
    r->order[r->nstart + r->nend] = 's';
    r->start[r->nstart++] = *e;
    assert_int_equal(e->ended_at, 0);
    pool_stats(r->p, &st);
    if (st.running > r->max_running)
        r->max_running = st.running;
}

static void
on_end(void *arg, const struct pool_event *e)
{
    struct rec *r = arg;

    assert_true(r->nend < MAX_EV);
    r->order[r->nstart + r->nend] = 'e';
    r->end[r->nend++] = *e;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

/* DIR/NAME.conf with body; returns its path (static, overwritten). */
static const char *
conf(const char *name, const char *body)
{
    static char path[160];

    snprintf(path, sizeof path, "%s/%s.conf", g.dir, name);
    write_file(path, body, 0644);
    return path;
}

static int
setup(void **state)
{
    (void)state;
    memset(&g, 0, sizeof g);
    snprintf(g.dir, sizeof g.dir, "/tmp/pf_pool_XXXXXX");
    assert_non_null(mkdtemp(g.dir));
    snprintf(g.exe, sizeof g.exe, "%s/fake-posfeed", g.dir);
    write_file(g.exe, SCRIPT, 0755);
    return 0;
}

static int
teardown(void **state)
{
    DIR *d = opendir(g.dir);
    struct dirent *de;
    char path[400];

    (void)state;
    if (g.p != NULL)
        pool_free(g.p);
    g.p = NULL;
    while (d != NULL && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", g.dir, de->d_name);
        unlink(path);
    }
    if (d != NULL)
        closedir(d);
    rmdir(g.dir);
    return 0;
}

static void
nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Ticks at `now` until `ends` runs have ended (at most ~10 s real). */
static void
tick_until_ends(int64_t now, int ends)
{
    int i;

    for (i = 0; i < 1000 && g.nend < ends; i++) {
        pool_tick(g.p, now, on_start, on_end, &g);
        if (g.nend < ends)
            nap_ms(10);
    }
    assert_int_equal(g.nend, ends);
}

/* Blocks until the child has ended, leaving it for the pool to reap. */
static void
wait_exit(pid_t pid)
{
    siginfo_t info;

    assert_true(pid > 0);
    assert_int_equal(waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT),
                     0);
}

/* Waits for a line in runs.log (the script got past its setup). */
static void
wait_log_line(const char *line)
{
    char path[128], buf[256];
    int i, found = 0;
    FILE *f;

    snprintf(path, sizeof path, "%s/runs.log", g.dir);
    for (i = 0; i < 500 && !found; i++) {
        f = fopen(path, "r");
        while (f != NULL && !found && fgets(buf, sizeof buf, f) != NULL)
            found = strncmp(buf, line, strlen(line)) == 0;
        if (f != NULL)
            fclose(f);
        if (!found)
            nap_ms(10);
    }
    assert_true(found);
}

/* The most runs the log shows between a start and its end. */
static int
max_concurrent_in_log(void)
{
    char path[128], buf[256];
    int cur = 0, max = 0;
    FILE *f;

    snprintf(path, sizeof path, "%s/runs.log", g.dir);
    f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(buf, sizeof buf, f) != NULL) {
        if (strncmp(buf, "start ", 6) == 0)
            cur++;
        else if (strncmp(buf, "end ", 4) == 0)
            cur--;
        if (cur > max)
            max = cur;
    }
    fclose(f);
    return max;
}

#define SLEEP_THEN_END(s) \
    "sleep " s "\necho \"end $name\" >>\"$log\"\nexit 0\n"

static void
test_bounded_and_fifo(void **state)
{
    static const char *names[6] = {"a", "b", "c", "d", "e", "f"};
    int owners[6], ids[6], i;
    struct pool_stats st;

    (void)state;
    g.p = pool_new(g.exe, 2, 0);
    for (i = 0; i < 6; i++) {
        ids[i] = pool_submit(g.p, &owners[i],
                             conf(names[i], SLEEP_THEN_END("0.2")),
                             "schedule", 100);
        assert_true(ids[i] > 0);
        if (i > 0)
            assert_true(ids[i] > ids[i - 1]);
    }
    pool_stats(g.p, &st);
    assert_int_equal(st.queued, 6);
    assert_int_equal(st.running, 0);
    tick_until_ends(100, 6);
    /* Started in the order queued, never more than two at once. */
    assert_int_equal(g.nstart, 6);
    for (i = 0; i < 6; i++) {
        assert_ptr_equal(g.start[i].owner, &owners[i]);
        assert_int_equal(g.start[i].job, ids[i]);
        assert_string_equal(g.start[i].trigger, "schedule");
        assert_true(g.start[i].pid > 0);
    }
    assert_int_equal(g.max_running, 2);
    assert_int_equal(max_concurrent_in_log(), 2);
    pool_stats(g.p, &st);
    assert_int_equal(st.started, 6);
    assert_int_equal(st.ok, 6);
    assert_int_equal(st.running + st.queued, 0);
}

static void
test_one_run_per_owner(void **state)
{
    int a, b, id, again, job = -1;
    struct pool_stats st;

    (void)state;
    g.p = pool_new(g.exe, 4, 0);
    id = pool_submit(g.p, &a, conf("a", SLEEP_THEN_END("0.2")), "api", 1);
    assert_true(id > 0);
    assert_int_equal(pool_state(g.p, &a, &job), 1);
    assert_int_equal(job, id);
    /* Queued: the same job comes back, nothing more is queued. */
    assert_int_equal(pool_submit(g.p, &a, conf("a2", "exit 5\n"),
                                 "schedule", 2), id);
    pool_stats(g.p, &st);
    assert_int_equal(st.queued, 1);
    pool_tick(g.p, 2, on_start, on_end, &g);
    assert_int_equal(pool_state(g.p, &a, &job), 2);
    assert_int_equal(job, id);
    /* Running: the same again, even with free workers. */
    assert_int_equal(pool_submit(g.p, &a, conf("a3", "exit 5\n"), "api",
                                 3), id);
    pool_stats(g.p, &st);
    assert_int_equal(st.queued, 0);
    assert_int_equal(st.running, 1);
    assert_int_equal(pool_state(g.p, &b, &job), 0);
    assert_int_equal(job, 0);
    tick_until_ends(3, 1);
    assert_int_equal(g.nstart, 1);
    assert_int_equal(g.end[0].job, id);
    assert_string_equal(g.end[0].trigger, "api");
    assert_int_equal(pool_state(g.p, &a, NULL), 0);
    again = pool_submit(g.p, &a, conf("a", "exit 0\n"), "api", 4);
    assert_true(again > id);
}

/* One worker, a run that has ended and one queued: the tick starts the
 * queued run before it reports the ended one, so the worker is not idle
 * while the caller does its bookkeeping of the run that ended. */
static void
test_next_starts_before_end_is_reported(void **state)
{
    int a, b, ida, idb;

    (void)state;
    g.p = pool_new(g.exe, 1, 0);
    ida = pool_submit(g.p, &a, conf("a", "exit 0\n"), "api", 1);
    idb = pool_submit(g.p, &b, conf("b", SLEEP_THEN_END("0.2")), "api", 1);
    pool_tick(g.p, 1, on_start, on_end, &g);
    assert_int_equal(g.nstart, 1);
    wait_exit(g.start[0].pid);
    pool_tick(g.p, 2, on_start, on_end, &g);
    assert_string_equal(g.order, "sse");
    assert_int_equal(g.start[1].job, idb);
    assert_int_equal(g.end[0].job, ida);
    assert_int_equal(g.end[0].exit_code, 0);
    tick_until_ends(3, 2);
    assert_string_equal(g.order, "ssee");
}

static void
test_exit_codes_counters_and_waits(void **state)
{
    int a, b, c, i, saved;
    struct pool_stats st;
    char path[128], buf[4096];
    double waits = 0;
    FILE *f;
    size_t n;

    (void)state;
    /* The runs' stdout must land on the server's stderr: catch it. */
    snprintf(path, sizeof path, "%s/stderr.txt", g.dir);
    fflush(stderr);
    saved = dup(2);
    i = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(i >= 0 && saved >= 0);
    dup2(i, 2);
    close(i);
    g.p = pool_new(g.exe, 1, 0);
    assert_true(pool_submit(g.p, &a, conf("a", "exit 0\n"), "api", 10));
    assert_true(pool_submit(g.p, &b, conf("b", "exit 3\n"), "api", 10));
    assert_true(pool_submit(g.p, &c, conf("c", "kill -9 $$\n"), "api",
                            10));
    /* Each run ends before the clock moves on, so the next starts at
     * the tick that reaps it: waits 0, 5 and 12. */
    pool_tick(g.p, 10, on_start, on_end, &g);
    wait_exit(g.start[0].pid);
    pool_tick(g.p, 15, on_start, on_end, &g);
    wait_exit(g.start[1].pid);
    pool_tick(g.p, 22, on_start, on_end, &g);
    wait_exit(g.start[2].pid);
    pool_tick(g.p, 22, on_start, on_end, &g);
    dup2(saved, 2);
    close(saved);
    assert_int_equal(g.end[0].exit_code, 0);
    assert_int_equal(g.end[1].exit_code, 3);
    assert_int_equal(g.end[2].exit_code, 128 + SIGKILL);
    for (i = 0; i < 3; i++) {
        assert_int_equal(g.end[i].timed_out, 0);
        assert_int_equal(g.end[i].queued_at, 10);
        waits += (double)(g.start[i].started_at - g.start[i].queued_at);
    }
    assert_int_equal(g.start[0].started_at, 10);
    assert_int_equal(g.start[1].started_at, 15);
    assert_int_equal(g.start[2].started_at, 22);
    assert_int_equal(g.end[2].ended_at, 22);
    pool_stats(g.p, &st);
    assert_int_equal(st.workers, 1);
    assert_int_equal(st.started, 3);
    assert_int_equal(st.ok, 1);
    assert_int_equal(st.failed, 2);
    assert_int_equal(st.timed_out, 0);
    assert_true(st.wait_s_sum == 17.0 && waits == 17.0);
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_non_null(strstr(buf, "stdout of a\n"));
    assert_non_null(strstr(buf, "stdout of c\n"));
}

static void
test_timeout_sigterm(void **state)
{
    int a, id;
    struct pool_stats st;

    (void)state;
    g.p = pool_new(g.exe, 1, 30);
    id = pool_submit(g.p, &a, conf("hang", "exec sleep 100\n"), "schedule",
                     0);
    pool_tick(g.p, 0, on_start, on_end, &g);
    pool_tick(g.p, 29, on_start, on_end, &g);
    nap_ms(50);
    pool_tick(g.p, 29, on_start, on_end, &g);
    assert_int_equal(g.nend, 0);
    assert_int_equal(pool_state(g.p, &a, NULL), 2);
    tick_until_ends(30, 1);
    assert_int_equal(g.end[0].job, id);
    assert_int_equal(g.end[0].timed_out, 1);
    assert_int_equal(g.end[0].exit_code, 128 + SIGTERM);
    pool_stats(g.p, &st);
    assert_int_equal(st.timed_out, 1);
    assert_int_equal(st.failed + st.ok, 0);
}

static void
test_timeout_sigkill_when_term_ignored(void **state)
{
    int a;

    (void)state;
    g.p = pool_new(g.exe, 1, 5);
    pool_submit(g.p, &a, conf("stubborn", "trap '' TERM\n"
                              "echo \"ready $name\" >>\"$log\"\n"
                              "exec sleep 100\n"), "schedule", 0);
    pool_tick(g.p, 0, on_start, on_end, &g);
    wait_log_line("ready stubborn");
    pool_tick(g.p, 5, on_start, on_end, &g);        /* SIGTERM */
    nap_ms(200);
    pool_tick(g.p, 14, on_start, on_end, &g);
    nap_ms(50);
    pool_tick(g.p, 14, on_start, on_end, &g);
    assert_int_equal(g.nend, 0);
    tick_until_ends(15, 1);                         /* SIGKILL */
    assert_int_equal(g.end[0].timed_out, 1);
    assert_int_equal(g.end[0].exit_code, 128 + SIGKILL);
    assert_int_equal(g.end[0].ended_at, 15);
}

static void
test_forget(void **state)
{
    int a, b, c, d;
    struct pool_stats st;

    (void)state;
    g.p = pool_new(g.exe, 1, 0);
    pool_submit(g.p, &a, conf("a", SLEEP_THEN_END("0.2")), "api", 1);
    pool_submit(g.p, &b, conf("b", "exit 0\n"), "api", 1);
    pool_submit(g.p, &c, conf("c", "exit 0\n"), "api", 1);
    pool_tick(g.p, 1, on_start, on_end, &g);
    assert_int_equal(pool_state(g.p, &a, NULL), 2);
    pool_forget(g.p, &c);   /* the tail of the queue */
    pool_forget(g.p, &b);
    pool_forget(g.p, &a);   /* running: still reported */
    assert_int_equal(pool_state(g.p, &b, NULL), 0);
    assert_int_equal(pool_state(g.p, &a, NULL), 2);
    pool_stats(g.p, &st);
    assert_int_equal(st.queued, 0);
    /* The queue still works after removing its tail. */
    pool_submit(g.p, &d, conf("d", "exit 0\n"), "api", 2);
    tick_until_ends(2, 2);
    assert_int_equal(g.nstart, 2);
    assert_ptr_equal(g.end[0].owner, &a);
    assert_ptr_equal(g.start[1].owner, &d);
}

static void
test_stop(void **state)
{
    int a, b, c;
    struct pool_stats st;

    (void)state;
    g.p = pool_new(g.exe, 2, 0);
    pool_submit(g.p, &a, conf("a", "echo \"ready $name\" >>\"$log\"\n"
                              "exec sleep 100\n"), "api", 1);
    pool_submit(g.p, &b, conf("b", "echo \"ready $name\" >>\"$log\"\n"
                              "exec sleep 100\n"), "api", 1);
    pool_submit(g.p, &c, conf("c", "exit 0\n"), "api", 1);
    pool_tick(g.p, 1, on_start, on_end, &g);
    wait_log_line("ready a");
    wait_log_line("ready b");
    pool_stop(g.p, 7, on_end, &g);
    assert_int_equal(g.nend, 2);
    assert_int_equal(g.end[0].exit_code, 128 + SIGTERM);
    assert_int_equal(g.end[1].exit_code, 128 + SIGTERM);
    assert_int_equal(g.end[1].ended_at, 7);
    pool_stats(g.p, &st);
    assert_int_equal(st.running + st.queued, 0);
    assert_int_equal(pool_state(g.p, &c, NULL), 0);
    assert_int_equal(pool_submit(g.p, &c, conf("c", ""), "api", 8), 0);
    pool_tick(g.p, 9, on_start, on_end, &g);
    assert_int_equal(g.nstart, 2);
}

/* Request threads submit and ask while the main thread ticks: every
 * submitted owner runs once, ids are unique, the bound holds. */
#define THREADS 4
#define PER_THREAD 25

struct submitter {
    int owners[PER_THREAD];
    int ids[PER_THREAD];
    int bad;                /* checks that failed (cmocka asserts are
                               for the main thread only) */
    const char *conf;
};

static void *
submit_many(void *arg)
{
    struct submitter *t = arg;
    struct pool_stats st;
    int i, job;

    for (i = 0; i < PER_THREAD; i++) {
        t->ids[i] = pool_submit(g.p, &t->owners[i], t->conf, "api", 1);
        if (pool_state(g.p, &t->owners[i], &job) != 0 &&
            job != t->ids[i])
            t->bad++;
        pool_stats(g.p, &st);
        if (st.running > 2)
            t->bad++;
    }
    return NULL;
}

static void
test_threads_submit_while_ticking(void **state)
{
    static struct submitter t[THREADS];
    pthread_t th[THREADS];
    int i, k, seen[THREADS * PER_THREAD + 1] = {0};

    (void)state;
    g.p = pool_new(g.exe, 2, 0);
    memset(t, 0, sizeof t);
    for (i = 0; i < THREADS; i++) {
        t[i].conf = conf("quick", "exit 0\n");
        assert_int_equal(pthread_create(&th[i], NULL, submit_many, &t[i]),
                         0);
    }
    for (i = 0; i < 3000 && g.nend < THREADS * PER_THREAD; i++) {
        pool_tick(g.p, 1, on_start, on_end, &g);
        nap_ms(2);
    }
    for (i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    for (i = 0; i < THREADS; i++) {
        for (k = 0; k < PER_THREAD; k++) {
            assert_true(t[i].ids[k] >= 1 &&
                        t[i].ids[k] <= THREADS * PER_THREAD);
            assert_int_equal(seen[t[i].ids[k]], 0);
            seen[t[i].ids[k]] = 1;
        }
        assert_int_equal(t[i].bad, 0);
    }
    assert_int_equal(g.nend, THREADS * PER_THREAD);
    assert_true(g.max_running <= 2);
}

/* Another thread switches TZ in and out, as the status pages do, while
 * the pool starts runs: every run must start, with the environment the
 * pool was made with (not a half-rewritten or freed array, not the zone
 * switched in for the page). */
static atomic_int tz_stop;

static void *
flip_tz(void *arg)
{
    (void)arg;
    while (!atomic_load(&tz_stop)) {
        setenv("TZ", "Europe/Amsterdam", 1);
        unsetenv("TZ");
    }
    return NULL;
}

static void
test_env_stable_while_tz_switches(void **state)
{
    const int runs = 60;
    pthread_t th;
    int owners[60], i;

    (void)state;
    unsetenv("TZ");
    setenv("PF_POOL_MARK", "made", 1);
    g.p = pool_new(g.exe, 2, 0);
    unsetenv("PF_POOL_MARK");
    atomic_store(&tz_stop, 0);
    assert_int_equal(pthread_create(&th, NULL, flip_tz, NULL), 0);
    for (i = 0; i < runs; i++)
        pool_submit(g.p, &owners[i],
                    conf("env", "[ \"$PF_POOL_MARK\" = made ] && "
                         "[ -z \"${TZ+set}\" ] || exit 7\n"), "api", 1);
    for (i = 0; i < 3000 && g.nend < runs; i++) {
        pool_tick(g.p, 1, on_start, on_end, &g);
        nap_ms(2);
    }
    atomic_store(&tz_stop, 1);
    pthread_join(th, NULL);
    unsetenv("TZ");
    assert_int_equal(g.nend, runs);
    for (i = 0; i < runs; i++)
        assert_int_equal(g.end[i].exit_code, 0);
}

static void
test_cannot_start(void **state)
{
    int a;
    struct pool_stats st;

    (void)state;
    g.p = pool_new("/nonexistent/posfeed", 1, 0);
    assert_true(pool_submit(g.p, &a, conf("a", ""), "api", 1) > 0);
    pool_tick(g.p, 1, on_start, on_end, &g);
    assert_int_equal(g.nstart, 1);
    assert_int_equal(g.nend, 1);
    assert_int_equal(g.end[0].exit_code, 127);
    assert_int_equal(pool_state(g.p, &a, NULL), 0);
    pool_stats(g.p, &st);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.running, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bounded_and_fifo, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_one_run_per_owner, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_next_starts_before_end_is_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exit_codes_counters_and_waits,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_sigterm, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_timeout_sigkill_when_term_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_submit_while_ticking,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_stable_while_tz_switches,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_cannot_start, setup,
                                        teardown),
    };
    sigset_t set;

    /* Like the server: these signals blocked here, so the pool must
     * unblock them for its runs or SIGTERM would never stop one. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
