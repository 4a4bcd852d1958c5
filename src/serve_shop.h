/* serve_shop.h - one shop as `posfeed serve` holds it: its config, token,
 * published feeds (serve_cache.h), Clerk V2 endpoints (serve_clerk.h),
 * schedule and the runs this server queued for it. A single-shop server
 * has one shop named ""; a server of many shops (serve_shops.h) one per
 * DIR/NAME.conf.
 *
 * Runs are not started here: the server hands them to its pool
 * (serve_pool.h) and reports what the pool says through shop_run_*(), so
 * a shop only keeps the record (/runs/N numbers runs per shop, from 1).
 *
 * Threads: the main thread loads, reloads, plans and refreshes; request
 * threads read under the shop's locks (cfg_lock for the config, token
 * and feeds folder; mu for runs and schedule). TZ switching is not
 * thread-safe, so every call that needs a calendar holds env->tz_mu,
 * shared by all shops.
 *
 * Ownership: a shop owns everything it points to except env (the
 * server's). shop_free() only once no request and no run can reach it
 * (refs 0, the pool reported its run ended, the HTTP daemon stopped for
 * its Clerk answers).
 */
#ifndef PF_SERVE_SHOP_H
#define PF_SERVE_SHOP_H

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "serve_clerk.h"
#include "serve_page.h"
#include "util.h"

/* What every shop of one server shares. */
struct shop_env {
    pthread_mutex_t tz_mu;
    int64_t clock_base;
    double mono_base, speed;
    clerk_respond_fn respond;   /* for each shop's Clerk endpoints */
    void *respond_arg;
};

/* The server's wall clock (serve.c init_clock says why it may run
 * fast). */
int64_t shop_now(const struct shop_env *e);

/* One run this server queued for the shop. */
struct shop_job {
    int id;                 /* per shop, from 1 */
    int pool_job;           /* the pool's id while queued or running */
    pid_t pid;              /* while running */
    const char *trigger;    /* "api" | "schedule" */
    const char *state;      /* "queued" | "running" | "ok" | "failed" */
    int64_t queued, started, ended;
    int exit_code;          /* -1 until it ended; signal: 128 + N */
    int timed_out;
    int64_t store_before;   /* highest runs.id before it started */
};

struct shop {
    char *name;             /* "" for the single shop */
    char *config_path;      /* absolute */
    unsigned char hash[32]; /* SHA-256 of the file as last loaded */
    struct shop_env *env;

    pthread_rwlock_t cfg_lock;
    struct pf_config *cfg;  /* NULL until a load succeeded */
    char *token;            /* NULL when none is configured */
    char *feeds_real;       /* realpath of feeds_dir, NULL if missing */
    char *refused;          /* the last load error, NULL if it loaded */

    struct feed_cache *cache;
    struct clerk *clerk;
    atomic_ulong request_opens; /* feed files opened by requests */

    pthread_mutex_t mu;
    pthread_cond_t moved;   /* a job left "queued" */
    struct shop_job *jobs;  /* ring of njobs_max */
    int njobs_max;
    int njobs;              /* ever queued; jobs[(id-1) % njobs_max] */
    int current;            /* id of the queued or running job, 0 */
    int64_t next_run;       /* -1: none scheduled; jitter included */
    int64_t jitter_s;       /* added to every scheduled time */
    int failures;           /* failed runs in a row */
    int64_t last_end;       /* end of the last run (0: none yet) */
    const char *last_result;    /* "ok" | "failed" | NULL */

    /* What /metrics and the shop's page read of its store, kept for
     * a many-shops server (memo_on): a scrape would otherwise open all
     * the stores, each connection leaving its page cache in a request
     * thread's malloc arena, when only stores that moved have anything
     * new. Valid while the feeds cache has not refreshed since (it
     * refreshes on every commit it sees, within a second) and the
     * config has not been reloaded. Under mu. */
    int memo_on;
    int memo_valid;
    unsigned long memo_refreshes;   /* the feeds cache's count then */
    cJSON *memo_doc;                /* status_doc() of the store */
    double memo_runs, memo_failed, memo_last_ok;

    atomic_int refs;        /* requests using the shop */
    int removed;            /* its file is gone: serves nothing */
};

/* A shop not loaded yet. history: how many runs /runs/N remembers. */
struct shop *shop_new(const char *name, const char *config_path,
                      struct shop_env *env, int history,
                      int64_t jitter_s);
void shop_free(struct shop *sh);

/* Main thread: loads (or reloads) the config. A file that does not load
 * keeps the previous config (if any) and records the error (refused);
 * -1 with err then. single: a single-shop server's config (server keys
 * allowed); else a shop's file under a server config. hash: the file's
 * SHA-256 (NULL: not known). */
int shop_load(struct shop *sh, int single, const unsigned char *hash,
              struct pf_err *err);

/* Main thread: unloads a loaded shop that may not run as it is (its
 * store or feeds folder is another shop's): it serves and runs nothing,
 * why is shown as its refusal, and its file counts as changed at the
 * next scan, so fixing either file brings it back. A run in progress
 * ends as usual; a queued one is the caller's to drop. */
void shop_refuse(struct shop *sh, const char *why);

/* Main thread: the token read again from its file or variable (a shop's
 * .conf unchanged, its token rotated). */
void shop_reread_token(struct shop *sh);

/* Any thread: 1 once a config loaded (a shop whose file never loaded
 * serves nothing). */
int shop_loaded(struct shop *sh);

/* Main thread, after the first load: the last run from the store and the
 * first scheduled run. */
void shop_first_plan(struct shop *sh);

/* Main thread: re-reads the published feeds (serve_cache.h); at most
 * once a second, shop_check_stale() does when another process may have
 * published. */
void shop_refresh_feeds(struct shop *sh);
void shop_check_stale(struct shop *sh);

/* Main thread: the next scheduled run from `from` (plus the jitter);
 * shop_plan_from() is where an interval schedule counts from at start. */
void shop_plan(struct shop *sh, int64_t from);
int64_t shop_plan_from(struct shop *sh);

/* Runs. shop_run_queue (any thread, mu not held): records a queued run
 * for the pool's job pool_job; returns the shop's run id. The others on
 * the main thread as the pool reports. */
int shop_run_queue(struct shop *sh, int pool_job, const char *trigger,
                   int64_t now);
void shop_run_started(struct shop *sh, int pool_job, pid_t pid,
                      int64_t now);
void shop_run_ended(struct shop *sh, int pool_job, int exit_code,
                    int timed_out, int64_t now, int64_t run_timeout_s);
/* Request thread: waits up to timeout_s for run id to leave the queue
 * (one shop: POST /sync answers once its run is going, as it always
 * did). */
void shop_run_wait_started(struct shop *sh, int id, double timeout_s);
/* The shop's run id of its queued or running job, 0 if none. */
int shop_run_current(struct shop *sh);

/* Any thread: /runs/N (NULL: no such run); detail adds the store run's
 * error. */
cJSON *shop_run_json(struct shop *sh, int id, int detail);

/* Any thread: the status document (serve_page.h renders it); prefix goes
 * before feed URLs ("" or "/SHOP"). */
cJSON *shop_status(struct shop *sh, int detail, const char *prefix);
/* Any thread: one row of the overall status of many shops: name, last
 * run, next run and jitter, feed ages, failures, link; detail adds the
 * config path and a refused file's error. */
cJSON *shop_summary(struct shop *sh, int detail);
/* Any thread: run totals from the store and what the shop counts. */
void shop_counters(struct shop *sh, struct page_counters *pc);

#endif
