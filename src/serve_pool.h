/* serve_pool.h - the bounded pool of pipeline runs for `serve --shops`.
 *
 * Each run is a child process `EXE -c CONFIG -q run` (stdout joined to
 * stderr, the server's log) started with an empty signal mask and the
 * default action for the signals the server blocks or ignores, as the
 * single-shop server starts its run. At most `workers` run at once; the
 * rest wait in one FIFO queue. An owner (opaque: the shop) is never
 * queued or running twice: submitting it again returns the job it has.
 * A run still going run_timeout seconds after it started gets SIGTERM,
 * and SIGKILL 10 s later if it has not ended; it is reported timed out.
 *
 * Times are whatever clock the caller passes as `now` (the server's,
 * which tests may speed up): the pool reads no clock of its own, except
 * pool_stop's 10 s grace, which is real time because it blocks.
 *
 * Threads: pool_tick, pool_forget, pool_stop and pool_free are for the
 * main thread only (pool_tick reaps children with waitpid on their pids;
 * nothing else may wait for them). pool_submit, pool_state and
 * pool_stats may be called from any thread (request threads: POST
 * /SHOP/sync, the status page). One mutex guards the state; callbacks
 * run with it released, so they may call back into the pool.
 *
 * Runs get the environment as it was at pool_new (a copy): call it
 * before other threads switch TZ (timeutil.h), as serve does at start.
 *
 * Ownership: the pool copies exe, the environment and each config path. It never
 * dereferences an owner; an owner with a run going must stay valid until
 * on_end has reported it (pool_forget only drops a queued run).
 */
#ifndef PF_SERVE_POOL_H
#define PF_SERVE_POOL_H

#include <stdint.h>
#include <sys/types.h>

struct run_pool;

/* workers is at least 1; run_timeout_s <= 0 means no time limit. */
struct run_pool *pool_new(const char *exe, unsigned workers,
                          int64_t run_timeout_s);

/* Queues a run of config_path for owner. If owner is already queued or
 * running, returns that job's id and queues nothing. Else returns the new
 * job's id (> 0, unique for the pool's life), or 0 when it cannot (no
 * config path, or the pool is stopping; logged). FIFO. trigger is a
 * static string ("api", "schedule"). */
int pool_submit(struct run_pool *p, void *owner, const char *config_path,
                const char *trigger, int64_t now);

struct pool_event {
    void *owner;
    int job;
    const char *trigger;
    pid_t pid;              /* 0 when the run could not be started */
    int64_t queued_at, started_at, ended_at;  /* ended_at 0 at start */
    int exit_code;      /* at end: 0 ok, N exit status, 128+S signal;
                           127 when the child could not be started */
    int timed_out;      /* at end: it was stopped after run_timeout */
};
typedef void pool_event_fn(void *arg, const struct pool_event *e);

/* Reaps ended runs, stops runs past run_timeout, starts queued runs
 * while fewer than `workers` run (on_start, called before the next one
 * starts), and only then reports the ended ones (on_end): a worker
 * freed by a run is busy again before the caller's bookkeeping of that
 * run, which may be slow. So an on_end may follow on_starts of other
 * owners' runs; an owner's own runs are reported in order as long as
 * the caller submits an owner again only after its on_end (the server
 * does: a shop stays busy until then). A run that cannot be started is
 * reported to on_start and then on_end with exit_code 127. Callbacks
 * may be NULL. */
void pool_tick(struct run_pool *p, int64_t now, pool_event_fn *on_start,
               pool_event_fn *on_end, void *arg);

/* 0 idle, 1 queued, 2 running; *job (may be NULL) its id when not idle,
 * else 0. */
int pool_state(struct run_pool *p, void *owner, int *job);

/* Drops owner's queued run (a shop removed). A running one is left to
 * end and is still reported: owner must stay valid until then. */
void pool_forget(struct run_pool *p, void *owner);

/* ok + failed + timed_out = runs ended so far (disjoint: a run that timed
 * out counts there only). A run that could not be started counts as
 * started and failed. */
struct pool_stats {
    unsigned workers, running, queued;
    unsigned long started, ok, failed, timed_out;
    double wait_s_sum;      /* queued -> started, over started runs */
};
void pool_stats(struct run_pool *p, struct pool_stats *out);

/* SIGTERM to every running run, waits for them (SIGKILL after 10 s real
 * time), reporting each to on_end with ended_at = now; drops the queue
 * unreported. Later submits return 0. Then pool_free. */
void pool_stop(struct run_pool *p, int64_t now, pool_event_fn *on_end,
               void *arg);
void pool_free(struct run_pool *p);

#endif
