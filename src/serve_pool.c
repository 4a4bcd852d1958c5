/* serve_pool.c - see serve_pool.h.
 *
 * Jobs live on two singly linked lists: the queue (FIFO, head first) and
 * the running set. A job moves from the queue to the running set under
 * the lock before it is spawned, so pool_state and pool_submit see it as
 * running (the owner is busy) while posix_spawn goes on without the lock:
 * a request thread asking for the status page never waits for a fork.
 * Only the main thread takes jobs off the running set, so a pointer to a
 * running job stays valid on the main thread after the lock is dropped.
 */
#include "serve_pool.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "log.h"
#include "util.h"

/* After SIGTERM a run has this long to roll back and exit. */
#define KILL_GRACE_S 10

extern char **environ;

struct pool_job {
    struct pool_job *next;
    void *owner;
    int id;
    const char *trigger;
    char *config_path;
    pid_t pid;              /* 0 until spawned */
    int64_t queued_at, started_at;
    int64_t kill_at;        /* SIGKILL time once SIGTERM went, else 0 */
    int timed_out;
    int exit_code;          /* once ended */
};

struct run_pool {
    pthread_mutex_t mu;
    char *exe;
    char **env;             /* the environment at pool_new, owned */
    unsigned workers;
    int64_t run_timeout_s;
    int last_id;
    int stopping;
    struct pool_job *queue, **queue_tail;
    struct pool_job *running;
    struct pool_stats st;   /* workers, running, queued kept current */
};

/* A private copy of the environment for the runs. The live one must not
 * be handed to posix_spawn: request threads switch TZ in it with setenv
 * and unsetenv (timeutil.h, schedule.h), which may realloc and free the
 * array while the child is being set up (execve then fails with EFAULT,
 * or reads freed memory), and a run must not inherit a zone switched in
 * for someone else's page either. */
static char **
env_copy(void)
{
    size_t n = 0, i;
    char **env;

    while (environ[n] != NULL)
        n++;
    env = xcalloc(n + 1, sizeof(*env));
    for (i = 0; i < n; i++)
        env[i] = xstrdup(environ[i]);
    return env;
}

struct run_pool *
pool_new(const char *exe, unsigned workers, int64_t run_timeout_s)
{
    struct run_pool *p = xcalloc(1, sizeof(*p));

    pthread_mutex_init(&p->mu, NULL);
    p->exe = xstrdup(exe);
    p->env = env_copy();
    p->workers = workers > 0 ? workers : 1;
    p->run_timeout_s = run_timeout_s;
    p->queue_tail = &p->queue;
    p->st.workers = p->workers;
    return p;
}

static void
job_free(struct pool_job *j)
{
    if (j == NULL)
        return;
    free(j->config_path);
    free(j);
}

/* The owner's job on list l, or NULL. mu held. */
static struct pool_job *
find_on(struct pool_job *l, void *owner)
{
    for (; l != NULL; l = l->next)
        if (l->owner == owner)
            return l;
    return NULL;
}

int
pool_submit(struct run_pool *p, void *owner, const char *config_path,
            const char *trigger, int64_t now)
{
    struct pool_job *j;
    int id = 0;

    pthread_mutex_lock(&p->mu);
    j = find_on(p->running, owner);
    if (j == NULL)
        j = find_on(p->queue, owner);
    if (j != NULL) {
        id = j->id;
    } else if (p->stopping || config_path == NULL || *config_path == '\0'
               || p->last_id == INT_MAX) {
        log_error("pool: cannot queue a run of %s: %s",
                  config_path ? config_path : "(no config)",
                  p->stopping ? "the server is stopping" : "no config");
    } else {
        j = xcalloc(1, sizeof(*j));
        j->owner = owner;
        j->id = id = ++p->last_id;
        j->trigger = trigger;
        j->config_path = xstrdup(config_path);
        j->queued_at = now;
        *p->queue_tail = j;
        p->queue_tail = &j->next;
        p->st.queued++;
    }
    pthread_mutex_unlock(&p->mu);
    return id;
}

static void
fill_event(const struct pool_job *j, struct pool_event *e)
{
    memset(e, 0, sizeof(*e));
    e->owner = j->owner;
    e->job = j->id;
    e->trigger = j->trigger;
    e->pid = j->pid;
    e->queued_at = j->queued_at;
    e->started_at = j->started_at;
    e->timed_out = j->timed_out;
}

/* Removes j from the running set and counts its end. mu held. */
static void
unlink_running(struct run_pool *p, struct pool_job *j, int code)
{
    struct pool_job **pp;

    for (pp = &p->running; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == j) {
            *pp = j->next;
            break;
        }
    }
    j->next = NULL;
    p->st.running--;
    if (j->timed_out)
        p->st.timed_out++;
    else if (code == 0)
        p->st.ok++;
    else
        p->st.failed++;
}

static int
exit_code_of(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* Reports j's end (it has left the running set) and frees it. Main
 * thread, mu not held. */
static void
finish(struct pool_job *j, int64_t now, pool_event_fn *on_end, void *arg)
{
    struct pool_event e;

    fill_event(j, &e);
    e.ended_at = now;
    e.exit_code = j->exit_code;
    if (on_end != NULL)
        on_end(arg, &e);
    job_free(j);
}

/* The first running job whose child has ended, with its exit code in
 * *code; NULL when none has. Main thread. */
static struct pool_job *
next_ended(struct run_pool *p, int *code)
{
    struct pool_job *j, *found = NULL;
    int status;
    pid_t r;

    pthread_mutex_lock(&p->mu);
    for (j = p->running; j != NULL && found == NULL; j = j->next) {
        if (j->pid <= 0)
            continue;
        r = waitpid(j->pid, &status, WNOHANG);
        if (r == j->pid) {
            *code = exit_code_of(status);
            found = j;
        } else if (r < 0 && errno == ECHILD) {
            /* Someone else reaped it: its status is lost. */
            *code = 128 + SIGKILL;
            found = j;
        }
    }
    pthread_mutex_unlock(&p->mu);
    return found;
}

/* Takes j, which has ended with code, off the running set: its worker
 * is free from now on. Main thread, mu not held. */
static void
retire(struct run_pool *p, struct pool_job *j, int code)
{
    pthread_mutex_lock(&p->mu);
    unlink_running(p, j, code);
    pthread_mutex_unlock(&p->mu);
    j->exit_code = code;
}

/* Takes every running job whose child has ended off the running set
 * (its worker is free from now on), oldest reaped first; the caller
 * reports them (finish_all). Main thread. */
static struct pool_job *
take_ended(struct run_pool *p)
{
    struct pool_job *ended = NULL, **tail = &ended, *j;
    int code = 0;

    while ((j = next_ended(p, &code)) != NULL) {
        retire(p, j, code);
        *tail = j;
        tail = &j->next;
    }
    return ended;
}

static void
finish_all(struct pool_job *ended, int64_t now, pool_event_fn *on_end,
           void *arg)
{
    struct pool_job *next;

    for (; ended != NULL; ended = next) {
        next = ended->next;
        finish(ended, now, on_end, arg);
    }
}

/* SIGTERM at run_timeout, SIGKILL KILL_GRACE_S after that. */
static void
enforce_timeouts(struct run_pool *p, int64_t now)
{
    struct pool_job *j;

    if (p->run_timeout_s <= 0)
        return;
    pthread_mutex_lock(&p->mu);
    for (j = p->running; j != NULL; j = j->next) {
        if (j->pid <= 0)
            continue;
        if (j->kill_at == 0 && now - j->started_at >= p->run_timeout_s) {
            log_warn("pool: run %d (%s) still going after %llds: "
                     "stopping it", j->id, j->config_path,
                     (long long)p->run_timeout_s);
            kill(j->pid, SIGTERM);
            j->timed_out = 1;
            j->kill_at = now + KILL_GRACE_S;
        } else if (j->kill_at != 0 && now >= j->kill_at) {
            log_warn("pool: run %d (%s) ignored SIGTERM: killing it",
                     j->id, j->config_path);
            kill(j->pid, SIGKILL);
            j->kill_at = INT64_MAX;
        }
    }
    pthread_mutex_unlock(&p->mu);
}

/* Moves the queue's head to the running set when a worker is free.
 * Returns it, or NULL. */
static struct pool_job *
take_next(struct run_pool *p, int64_t now)
{
    struct pool_job *j = NULL;

    pthread_mutex_lock(&p->mu);
    if (p->queue != NULL && p->st.running < p->workers && !p->stopping) {
        j = p->queue;
        p->queue = j->next;
        if (p->queue == NULL)
            p->queue_tail = &p->queue;
        j->next = p->running;
        p->running = j;
        j->started_at = now;
        p->st.queued--;
        p->st.running++;
        p->st.started++;
        p->st.wait_s_sum += (double)(now - j->queued_at);
    }
    pthread_mutex_unlock(&p->mu);
    return j;
}

/* Starts EXE -c CONFIG -q run. Returns the pid, or 0 (logged). */
static pid_t
spawn_run(const char *exe, char **env, const char *config_path)
{
    char *argv[] = {"posfeed", "-c", (char *)config_path, "-q", "run",
                    NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, dflt;
    pid_t pid = 0;
    int rc;

    sigemptyset(&none);
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGTERM);
    sigaddset(&dflt, SIGINT);
    sigaddset(&dflt, SIGHUP);
    sigaddset(&dflt, SIGPIPE);
    sigaddset(&dflt, SIGCHLD);
    posix_spawn_file_actions_init(&fa);
    /* The run's summary goes to the server's log, not its stdout. */
    posix_spawn_file_actions_adddup2(&fa, 2, 1);
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
                                  POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dflt);
    rc = posix_spawn(&pid, exe, &fa, &at, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc != 0) {
        log_error("pool: cannot start a run of %s: %s", config_path,
                  strerror(rc));
        return 0;
    }
    return pid;
}

static void
start_queued(struct run_pool *p, int64_t now, pool_event_fn *on_start,
             pool_event_fn *on_end, void *arg)
{
    struct pool_event e;
    struct pool_job *j;
    pid_t pid;

    while ((j = take_next(p, now)) != NULL) {
        pid = spawn_run(p->exe, p->env, j->config_path);
        pthread_mutex_lock(&p->mu);
        j->pid = pid;
        pthread_mutex_unlock(&p->mu);
        fill_event(j, &e);
        if (on_start != NULL)
            on_start(arg, &e);
        if (pid == 0) {
            retire(p, j, 127);
            finish(j, now, on_end, arg);
        }
    }
}

/* What waits starts before what ended is reported: the report (the
 * server refreshes the shop's feeds and history) then overlaps the next
 * run instead of holding its worker idle. The owner stays busy for its
 * own bookkeeping until its on_end, so it is not started twice. */
void
pool_tick(struct run_pool *p, int64_t now, pool_event_fn *on_start,
          pool_event_fn *on_end, void *arg)
{
    struct pool_job *ended = take_ended(p);

    enforce_timeouts(p, now);
    start_queued(p, now, on_start, on_end, arg);
    finish_all(ended, now, on_end, arg);
}

int
pool_state(struct run_pool *p, void *owner, int *job)
{
    struct pool_job *j;
    int state = 0;

    pthread_mutex_lock(&p->mu);
    j = find_on(p->running, owner);
    if (j != NULL) {
        state = 2;
    } else {
        j = find_on(p->queue, owner);
        if (j != NULL)
            state = 1;
    }
    if (job != NULL)
        *job = j != NULL ? j->id : 0;
    pthread_mutex_unlock(&p->mu);
    return state;
}

void
pool_forget(struct run_pool *p, void *owner)
{
    struct pool_job **pp, *j = NULL;

    pthread_mutex_lock(&p->mu);
    for (pp = &p->queue; *pp != NULL; pp = &(*pp)->next) {
        if ((*pp)->owner == owner) {
            j = *pp;
            *pp = j->next;
            p->st.queued--;
            break;
        }
    }
    /* The tail pointer may have pointed into the removed job. */
    p->queue_tail = &p->queue;
    while (*p->queue_tail != NULL)
        p->queue_tail = &(*p->queue_tail)->next;
    pthread_mutex_unlock(&p->mu);
    job_free(j);
}

void
pool_stats(struct run_pool *p, struct pool_stats *out)
{
    pthread_mutex_lock(&p->mu);
    *out = p->st;
    pthread_mutex_unlock(&p->mu);
}

/* Drops every queued job (never started: nothing to report). */
static void
drop_queue(struct run_pool *p)
{
    struct pool_job *j, *next;

    pthread_mutex_lock(&p->mu);
    j = p->queue;
    p->queue = NULL;
    p->queue_tail = &p->queue;
    p->st.queued = 0;
    pthread_mutex_unlock(&p->mu);
    for (; j != NULL; j = next) {
        next = j->next;
        job_free(j);
    }
}

static void
signal_running(struct run_pool *p, int sig)
{
    struct pool_job *j;

    pthread_mutex_lock(&p->mu);
    for (j = p->running; j != NULL; j = j->next)
        if (j->pid > 0)
            kill(j->pid, sig);
    pthread_mutex_unlock(&p->mu);
}

void
pool_stop(struct run_pool *p, int64_t now, pool_event_fn *on_end,
          void *arg)
{
    struct timespec nap = {0, 20 * 1000 * 1000};
    double killed_at = pf_now_mono() + KILL_GRACE_S;
    int killed = 0, busy;

    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_mutex_unlock(&p->mu);
    drop_queue(p);
    signal_running(p, SIGTERM);
    for (;;) {
        finish_all(take_ended(p), now, on_end, arg);
        pthread_mutex_lock(&p->mu);
        busy = p->running != NULL;
        pthread_mutex_unlock(&p->mu);
        if (!busy)
            break;
        if (!killed && pf_now_mono() >= killed_at) {
            log_warn("pool: runs still going %ds after SIGTERM: killing "
                     "them", KILL_GRACE_S);
            signal_running(p, SIGKILL);
            killed = 1;
        }
        nanosleep(&nap, NULL);
    }
}

void
pool_free(struct run_pool *p)
{
    struct pool_job *j, *next;
    size_t i;

    if (p == NULL)
        return;
    drop_queue(p);
    for (j = p->running; j != NULL; j = next) {
        next = j->next;
        job_free(j);
    }
    for (i = 0; p->env[i] != NULL; i++)
        free(p->env[i]);
    free(p->env);
    free(p->exe);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
