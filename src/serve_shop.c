/* serve_shop.c - see serve_shop.h. */
/* realpath() is an XSI interface. */
#define _XOPEN_SOURCE 700

#include "serve_shop.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "feed.h"
#include "log.h"
#include "schedule.h"
#include "serve_cache.h"
#include "source.h"
#include "status.h"
#include "store.h"
#include "timeutil.h"

#define CHART_DAYS 30

int64_t
shop_now(const struct shop_env *e)
{
    return e->clock_base +
           (int64_t)((pf_now_mono() - e->mono_base) * e->speed);
}

struct shop *
shop_new(const char *name, const char *config_path, struct shop_env *env,
         int history, int64_t jitter_s)
{
    struct shop *sh = xcalloc(1, sizeof(*sh));

    sh->name = xstrdup(name);
    sh->config_path = xstrdup(config_path);
    sh->env = env;
    pthread_rwlock_init(&sh->cfg_lock, NULL);
    pthread_mutex_init(&sh->mu, NULL);
    pthread_cond_init(&sh->moved, NULL);
    sh->cache = cache_new();
    sh->clerk = clerk_new(env->respond, env->respond_arg);
    sh->njobs_max = history;
    sh->jobs = xcalloc((size_t)history, sizeof(*sh->jobs));
    sh->next_run = -1;
    sh->jitter_s = jitter_s;
    return sh;
}

void
shop_free(struct shop *sh)
{
    if (sh == NULL)
        return;
    clerk_free(sh->clerk);
    cache_free(sh->cache);
    cJSON_Delete(sh->memo_doc);
    if (sh->token != NULL)
        OPENSSL_cleanse(sh->token, strlen(sh->token));
    free(sh->token);
    free(sh->feeds_real);
    free(sh->refused);
    pf_config_free(sh->cfg);
    free(sh->jobs);
    free(sh->name);
    free(sh->config_path);
    pthread_rwlock_destroy(&sh->cfg_lock);
    pthread_mutex_destroy(&sh->mu);
    pthread_cond_destroy(&sh->moved);
    free(sh);
}

/* ---- config ------------------------------------------------------------ */

/* Everything a config needs before it can be served: its token read and
 * its feeds folder resolved. */
static int
prepare_config(const char *path, int single, struct pf_config **cfg,
               char **token, char **feeds_real, struct pf_err *err)
{
    *cfg = NULL;
    *token = NULL;
    *feeds_real = NULL;
    if ((single ? pf_config_load(path, source_schema, cfg, err)
                : pf_config_load_shop(path, source_schema, cfg, err)) != 0)
        return -1;
    if (pf_secret_is_set(&(*cfg)->serve.token) &&
        pf_secret_read(&(*cfg)->serve.token, token, err) != 0) {
        pf_err_prefix(err, "%s: [serve] token", path);
        pf_config_free(*cfg);
        *cfg = NULL;
        return -1;
    }
    mkdir((*cfg)->feeds_dir, 0755);
    *feeds_real = realpath((*cfg)->feeds_dir, NULL);
    return 0;
}

/* A config changed under a running server: what only a restart takes. */
static void
warn_restart(const struct pf_config *old, const struct pf_config *cfg)
{
    if (strcmp(old->serve.listen_addr, cfg->serve.listen_addr) != 0 ||
        old->serve.port != cfg->serve.port)
        log_warn("[serve] listen changed: restart posfeed serve to use it");
    if (old->serve.max_connections != cfg->serve.max_connections ||
        old->serve.per_ip_limit != cfg->serve.per_ip_limit ||
        old->serve.timeout_s != cfg->serve.timeout_s)
        log_warn("[serve] max_connections, per_ip_limit or timeout "
                 "changed: restart posfeed serve to use them");
}

static void
set_refused(struct shop *sh, const char *msg)
{
    pthread_rwlock_wrlock(&sh->cfg_lock);
    free(sh->refused);
    sh->refused = msg != NULL ? xstrdup(msg) : NULL;
    pthread_rwlock_unlock(&sh->cfg_lock);
}

int
shop_loaded(struct shop *sh)
{
    int loaded;

    pthread_rwlock_rdlock(&sh->cfg_lock);
    loaded = sh->cfg != NULL;
    pthread_rwlock_unlock(&sh->cfg_lock);
    return loaded;
}

/* Main thread: puts cfg, token, real and the refusal (NULL: none) in
 * place of the shop's; the old token and folder are wiped and freed,
 * the old config is returned (the caller frees it). */
static struct pf_config *
swap_config(struct shop *sh, struct pf_config *cfg, char *token,
            char *real, const char *refused)
{
    struct pf_config *old;
    char *old_token, *old_real;

    pthread_rwlock_wrlock(&sh->cfg_lock);
    old = sh->cfg;
    old_token = sh->token;
    old_real = sh->feeds_real;
    sh->cfg = cfg;
    sh->token = token;
    sh->feeds_real = real;
    free(sh->refused);
    sh->refused = refused != NULL ? xstrdup(refused) : NULL;
    pthread_rwlock_unlock(&sh->cfg_lock);
    if (old_token != NULL)
        OPENSSL_cleanse(old_token, strlen(old_token));
    free(old_token);
    free(old_real);
    return old;
}

int
shop_load(struct shop *sh, int single, const unsigned char *hash,
          struct pf_err *err)
{
    struct pf_config *cfg, *old;
    char *token, *real;

    if (hash != NULL)
        memcpy(sh->hash, hash, sizeof sh->hash);
    if (prepare_config(sh->config_path, single, &cfg, &token, &real,
                       err) != 0) {
        set_refused(sh, err->msg);
        return -1;
    }
    old = swap_config(sh, cfg, token, real, NULL);
    if (old != NULL && single)
        warn_restart(old, cfg);
    pf_config_free(old);
    pthread_mutex_lock(&sh->mu);
    sh->memo_valid = 0;     /* the store may be another one now */
    pthread_mutex_unlock(&sh->mu);
    shop_refresh_feeds(sh);
    clerk_reload(sh->clerk, sh->config_path);
    return 0;
}

void
shop_refuse(struct shop *sh, const char *why)
{
    pf_config_free(swap_config(sh, NULL, NULL, NULL, why));
    memset(sh->hash, 0, sizeof sh->hash);
    pthread_mutex_lock(&sh->mu);
    sh->next_run = -1;
    sh->memo_valid = 0;
    pthread_mutex_unlock(&sh->mu);
}

void
shop_reread_token(struct shop *sh)
{
    struct pf_err err = {{0}};
    char *token = NULL, *old;

    if (sh->cfg == NULL || !pf_secret_is_set(&sh->cfg->serve.token))
        return;
    if (pf_secret_read(&sh->cfg->serve.token, &token, &err) != 0) {
        log_warn("shop %s: [serve] token: %s; keeping the one read before",
                 sh->name, err.msg);
        return;
    }
    pthread_rwlock_wrlock(&sh->cfg_lock);
    old = sh->token;
    if (old != NULL && strcmp(old, token) == 0) {
        pthread_rwlock_unlock(&sh->cfg_lock);
        OPENSSL_cleanse(token, strlen(token));
        free(token);
        return;
    }
    sh->token = token;
    pthread_rwlock_unlock(&sh->cfg_lock);
    log_info("shop %s: new [serve] token", sh->name);
    if (old != NULL)
        OPENSSL_cleanse(old, strlen(old));
    free(old);
}

/* ---- feeds ------------------------------------------------------------ */

/* 1 when the config as it is now wants the feed of a store record
 * ("NAME", "NAME:part-2", "NAME:index") behind the token. A record keeps
 * the access of its last publish, so a feed made private by a config
 * change or by a newer posfeed's defaults would still be handed out
 * without a token until its next build; serve applies the stricter of
 * the two. A template that cannot be read counts as private. Main
 * thread only (it reads sh->cfg, which only the main thread replaces). */
static int
config_wants_token(void *arg, const char *record)
{
    const struct shop *sh = arg;
    const struct pf_config *c = sh->cfg;
    const struct pf_feed_cfg *fc = NULL;
    size_t i, n = strcspn(record, ":");
    struct pf_err err = {{0}};
    struct tpl *t = NULL;
    int token;

    for (i = 0; i < c->nfeeds && fc == NULL; i++)
        if (strlen(c->feeds[i].name) == n &&
            strncmp(c->feeds[i].name, record, n) == 0)
            fc = &c->feeds[i];
    if (fc == NULL || fc->access == PF_ACCESS_PUBLIC)
        return 0;
    if (fc->access == PF_ACCESS_TOKEN)
        return 1;
    if (tpl_load(fc->template_path, &t, &err) != 0)
        return 1;
    token = strcmp(feed_access(fc, t), "public") != 0;
    tpl_free(t);
    return token;
}

void
shop_refresh_feeds(struct shop *sh)
{
    char *real;

    if (sh->cfg == NULL || sh->removed)
        return;
    /* A feeds folder under a folder that did not exist at load time is
     * made by the first run: resolve it then, or no file would count as
     * inside it. */
    if (sh->feeds_real == NULL &&
        (real = realpath(sh->cfg->feeds_dir, NULL)) != NULL) {
        pthread_rwlock_wrlock(&sh->cfg_lock);
        sh->feeds_real = real;
        pthread_rwlock_unlock(&sh->cfg_lock);
    }
    cache_refresh(sh->cache, sh->cfg->store_path, sh->cfg->feeds_dir,
                  sh->feeds_real, config_wants_token, sh);
}

void
shop_check_stale(struct shop *sh)
{
    if (sh->cfg != NULL && !sh->removed &&
        cache_stale(sh->cache, sh->cfg->store_path))
        shop_refresh_feeds(sh);
}

/* ---- schedule ----------------------------------------------------------- */

void
shop_plan(struct shop *sh, int64_t from)
{
    struct pf_err err = {{0}};
    int64_t next = -1;
    int rc;

    if (sh->cfg == NULL)
        return;
    /* The jitter moves the run, not the schedule: plan from the time the
     * schedule named, so a jittered run does not push the next one. */
    pthread_mutex_lock(&sh->env->tz_mu);
    rc = schedule_next(&sh->cfg->schedule, sh->cfg->timezone,
                       from - sh->jitter_s, &next, &err);
    pthread_mutex_unlock(&sh->env->tz_mu);
    if (rc != 0) {
        log_error("%s%s%s", sh->name, *sh->name ? ": " : "", err.msg);
        next = -1;
    }
    pthread_mutex_lock(&sh->mu);
    sh->next_run = next >= 0 ? next + sh->jitter_s : -1;
    pthread_mutex_unlock(&sh->mu);
}

/* Where an interval schedule counts from after a (re)start: the last
 * run, so a restart neither runs early nor waits a whole interval again
 * (if the interval already passed, the run is due at once). */
int64_t
shop_plan_from(struct shop *sh)
{
    int64_t now = shop_now(sh->env), last = 0;
    struct store *st = NULL;
    sqlite3_stmt *q = NULL;

    if (sh->cfg == NULL ||
        store_open_readonly(sh->cfg->store_path, &st, NULL) != 0)
        return now;
    if (sqlite3_prepare_v2(store_db(st), "SELECT max(started_at) FROM runs "
                           "WHERE kind = 'run'", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        last = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    store_close(st);
    if (sh->cfg->schedule.kind != PF_SCHED_EVERY)
        return now;
    /* The last run started jitter_s after its scheduled time, which
     * shop_plan takes off again. */
    return last > 0 && last <= now ? last : now;
}

/* ---- runs --------------------------------------------------------------- */

static int64_t
store_max_run(const char *store_path)
{
    struct store *st = NULL;
    sqlite3_stmt *q = NULL;
    int64_t id = 0;

    if (store_open_readonly(store_path, &st, NULL) != 0)
        return 0;
    if (sqlite3_prepare_v2(store_db(st), "SELECT max(id) FROM runs", -1,
                           &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        id = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    store_close(st);
    return id;
}

/* mu held. */
static struct shop_job *
job_get(struct shop *sh, int id)
{
    if (id < 1 || id > sh->njobs || id <= sh->njobs - sh->njobs_max)
        return NULL;
    return &sh->jobs[(id - 1) % sh->njobs_max];
}

/* The shop's job for the pool's job id. mu held. */
static struct shop_job *
job_of_pool(struct shop *sh, int pool_job)
{
    struct shop_job *j = job_get(sh, sh->current);

    return j != NULL && j->pool_job == pool_job ? j : NULL;
}

int
shop_run_queue(struct shop *sh, int pool_job, const char *trigger,
               int64_t now)
{
    struct shop_job *j;
    int id;

    pthread_mutex_lock(&sh->mu);
    j = job_get(sh, sh->current);
    if (j != NULL && j->pool_job == pool_job) {
        id = j->id;     /* already queued or running: the pool said so */
        pthread_mutex_unlock(&sh->mu);
        return id;
    }
    sh->njobs++;
    j = &sh->jobs[(sh->njobs - 1) % sh->njobs_max];
    memset(j, 0, sizeof(*j));
    j->id = sh->njobs;
    j->pool_job = pool_job;
    j->trigger = trigger;
    j->state = "queued";
    j->queued = now;
    j->exit_code = -1;
    sh->current = j->id;
    id = j->id;
    pthread_mutex_unlock(&sh->mu);
    return id;
}

void
shop_run_wait_started(struct shop *sh, int id, double timeout_s)
{
    struct timespec until;
    struct shop_job *j;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)timeout_s;
    pthread_mutex_lock(&sh->mu);
    while ((j = job_get(sh, id)) != NULL &&
           strcmp(j->state, "queued") == 0)
        if (pthread_cond_timedwait(&sh->moved, &sh->mu, &until) != 0)
            break;
    pthread_mutex_unlock(&sh->mu);
}

int
shop_run_current(struct shop *sh)
{
    int id;

    pthread_mutex_lock(&sh->mu);
    id = sh->current;
    pthread_mutex_unlock(&sh->mu);
    return id;
}

void
shop_run_started(struct shop *sh, int pool_job, pid_t pid, int64_t now)
{
    struct shop_job *j;
    int64_t before = sh->cfg != NULL ? store_max_run(sh->cfg->store_path)
                                     : 0;

    pthread_mutex_lock(&sh->mu);
    j = job_of_pool(sh, pool_job);
    if (j != NULL) {
        j->pid = pid;
        j->state = "running";
        j->started = now;
        j->store_before = before;
        log_info("%s%srun %d started (%s, pid %ld)", sh->name,
                 *sh->name ? ": " : "", j->id, j->trigger, (long)pid);
    }
    pthread_cond_broadcast(&sh->moved);
    pthread_mutex_unlock(&sh->mu);
}

/* A run that died could not write its own end, and one refused before
 * it opened the store (a config error) wrote nothing: record both, so
 * the run history never shows a dead run as still going and every failed
 * run is there with its error. */
static void
record_failure(const char *store_path, int64_t store_before, int exit_code,
               int timed_out, int64_t run_timeout_s)
{
    struct pf_err err = {{0}};
    struct store *st = NULL;
    sqlite3_stmt *q = NULL;
    int64_t id = 0;
    char msg[128];

    if (timed_out)
        snprintf(msg, sizeof msg, "timed out after %lld s",
                 (long long)run_timeout_s);
    else if (exit_code > 128)
        snprintf(msg, sizeof msg, "interrupted by signal %d",
                 exit_code - 128);
    else
        snprintf(msg, sizeof msg, "run exited with status %d before it "
                 "started; see the server log", exit_code);
    if (store_open(store_path, &st, &err) != 0)
        return;
    q = store_stmt(st, "SELECT id, result FROM runs WHERE id > ?1 "
                   "ORDER BY id LIMIT 1", &err);
    if (q == NULL)
        goto cleanup;
    sqlite3_bind_int64(q, 1, store_before);
    if (sqlite3_step(q) == SQLITE_ROW) {
        id = sqlite3_column_int64(q, 0);
        if (strcmp((const char *)sqlite3_column_text(q, 1), "running") != 0)
            id = -1;
    }
    sqlite3_reset(q);
    if (id == 0 && store_run_start(st, "run", &id, &err) != 0)
        goto cleanup;
    if (id > 0)
        store_run_end(st, id, "failed", msg, &err);
cleanup:
    store_close(st);
}

void
shop_run_ended(struct shop *sh, int pool_job, int exit_code, int timed_out,
               int64_t now, int64_t run_timeout_s)
{
    struct shop_job *j;
    int64_t before;
    int id, ok = exit_code == 0 && !timed_out;

    pthread_mutex_lock(&sh->mu);
    j = job_of_pool(sh, pool_job);
    before = j != NULL ? j->store_before : 0;
    id = j != NULL ? j->id : 0;
    pthread_mutex_unlock(&sh->mu);
    if (j == NULL)
        return;
    /* The store gets the failure before /runs/N can report the end, so
     * a client that sees "failed" also finds the store's record. */
    if (!ok && sh->cfg != NULL)
        record_failure(sh->cfg->store_path, before, exit_code, timed_out,
                       run_timeout_s);
    /* Likewise the feeds the run published are served before it is
     * reported ended: a client that sees "ok" and fetches a feed gets
     * the new one, not a 401 for a feed the cache does not know yet. */
    shop_refresh_feeds(sh);
    pthread_mutex_lock(&sh->mu);
    j->pid = 0;
    j->ended = now;
    if (j->started == 0)
        j->started = now;
    j->exit_code = exit_code;
    j->timed_out = timed_out;
    j->state = ok ? "ok" : "failed";
    sh->current = 0;
    sh->failures = ok ? 0 : sh->failures + 1;
    sh->last_end = now;
    sh->last_result = j->state;
    pthread_cond_broadcast(&sh->moved);
    pthread_mutex_unlock(&sh->mu);
    if (ok)
        log_info("%s%srun %d finished ok", sh->name, *sh->name ? ": " : "",
                 id);
    else if (timed_out)
        log_warn("%s%srun %d timed out after %lld s and was stopped; the "
                 "last good feeds stay served", sh->name,
                 *sh->name ? ": " : "", id, (long long)run_timeout_s);
    else
        log_warn("%s%srun %d failed (exit %d); the last good feeds stay "
                 "served", sh->name, *sh->name ? ": " : "", id, exit_code);
}

/* Times and states only, safe for anyone. mu held. */
static cJSON *
job_json(const struct shop_job *j)
{
    cJSON *o = cJSON_CreateObject();
    char t[32];

    cJSON_AddNumberToObject(o, "id", j->id);
    cJSON_AddStringToObject(o, "trigger", j->trigger);
    cJSON_AddStringToObject(o, "state", j->state);
    if (strcmp(j->state, "queued") == 0) {
        pf_time_iso_utc(j->queued, t);
        cJSON_AddStringToObject(o, "queued", t);
        return o;
    }
    pf_time_iso_utc(j->started, t);
    cJSON_AddStringToObject(o, "started", t);
    if (j->exit_code >= 0) {
        pf_time_iso_utc(j->ended, t);
        cJSON_AddStringToObject(o, "ended", t);
        cJSON_AddNumberToObject(o, "seconds", (double)(j->ended -
                                                       j->started));
        cJSON_AddNumberToObject(o, "exit_code", j->exit_code);
        if (j->timed_out)
            cJSON_AddTrueToObject(o, "timed_out");
    }
    return o;
}

/* The store's record of the job's run: result, warnings and, with the
 * token (detail), its error, which can name files. */
static void
add_store_run(struct shop *sh, cJSON *o, int64_t before, int detail)
{
    struct store *st = NULL;
    sqlite3_stmt *q = NULL;
    char *path;

    pthread_rwlock_rdlock(&sh->cfg_lock);
    path = sh->cfg != NULL ? xstrdup(sh->cfg->store_path) : NULL;
    pthread_rwlock_unlock(&sh->cfg_lock);
    if (path != NULL && store_open_readonly(path, &st, NULL) == 0 &&
        sqlite3_prepare_v2(store_db(st), "SELECT id, result, error, "
                           "warnings FROM runs WHERE id > ?1 ORDER BY id "
                           "LIMIT 1", -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(q, 1, before);
        if (sqlite3_step(q) == SQLITE_ROW) {
            cJSON *r = cJSON_AddObjectToObject(o, "store_run");

            cJSON_AddNumberToObject(r, "id", sqlite3_column_double(q, 0));
            cJSON_AddStringToObject(r, "result",
                                    (const char *)sqlite3_column_text(q,
                                                                      1));
            if (detail && sqlite3_column_type(q, 2) != SQLITE_NULL)
                cJSON_AddStringToObject(
                    r, "error", (const char *)sqlite3_column_text(q, 2));
            cJSON_AddNumberToObject(r, "warnings",
                                    sqlite3_column_double(q, 3));
        }
    }
    sqlite3_finalize(q);
    store_close(st);
    free(path);
}

cJSON *
shop_run_json(struct shop *sh, int id, int detail)
{
    struct shop_job *j;
    cJSON *o = NULL;
    int64_t before = 0;
    int done = 0;

    pthread_mutex_lock(&sh->mu);
    j = job_get(sh, id);
    if (j != NULL) {
        o = job_json(j);
        before = j->store_before;
        done = j->exit_code >= 0;
    }
    pthread_mutex_unlock(&sh->mu);
    if (o != NULL && done)
        add_store_run(sh, o, before, detail);
    return o;
}

/* ---- status ------------------------------------------------------------ */

/* ---- the memo (struct shop's memo_*) ----------------------------------- */

enum { MEMO_DOC = 1, MEMO_COUNTS = 2 };

/* The memo's key: how often the feeds cache has refreshed. Read it
 * before reading the store, so a commit landing during the read leaves
 * the memo keyed older than the cache and read again next time. */
static unsigned long
memo_key(struct shop *sh)
{
    unsigned long opens, refreshes;

    cache_counters(sh->cache, &opens, &refreshes);
    return refreshes;
}

/* mu held: 1 if the memo holds what (MEMO_*) for the store as the feeds
 * cache sees it now. */
static int
memo_has(struct shop *sh, int what)
{
    return sh->memo_on && (sh->memo_valid & what) &&
           sh->memo_refreshes == memo_key(sh);
}

/* mu held: makes room for a value read under key; an older key's
 * values go. */
static void
memo_rekey(struct shop *sh, unsigned long key)
{
    if (sh->memo_refreshes == key && sh->memo_valid)
        return;
    cJSON_Delete(sh->memo_doc);
    sh->memo_doc = NULL;
    sh->memo_valid = 0;
    sh->memo_refreshes = key;
}

/* A copy of the memo's status_doc(), NULL when it holds none. */
static cJSON *
memo_doc_get(struct shop *sh)
{
    cJSON *d = NULL;

    pthread_mutex_lock(&sh->mu);
    if (memo_has(sh, MEMO_DOC))
        d = cJSON_Duplicate(sh->memo_doc, 1);
    pthread_mutex_unlock(&sh->mu);
    return d;
}

static void
memo_doc_put(struct shop *sh, unsigned long key, const cJSON *doc)
{
    if (!sh->memo_on)
        return;
    pthread_mutex_lock(&sh->mu);
    memo_rekey(sh, key);
    cJSON_Delete(sh->memo_doc);
    sh->memo_doc = cJSON_Duplicate(doc, 1);
    sh->memo_valid |= MEMO_DOC;
    pthread_mutex_unlock(&sh->mu);
}

/* The store's part of the status: all of it with the token (detail),
 * else only what status_public() keeps. cfg_lock held (read). */
static cJSON *
store_status(struct shop *sh, int detail, int64_t now)
{
    const struct pf_config *c = sh->cfg;
    unsigned long key = memo_key(sh);
    struct store *st = NULL;
    cJSON *doc = memo_doc_get(sh), *pub, *days = NULL;

    /* Only the token's view (its chart) needs the store past the memo. */
    if ((doc == NULL || detail) &&
        store_open_readonly(c->store_path, &st, NULL) == 0) {
        if (doc == NULL) {
            doc = status_doc(c, st);
            memo_doc_put(sh, key, doc);
        }
        if (detail) {
            pthread_mutex_lock(&sh->env->tz_mu);
            days = status_orders_per_day(c, st, now, CHART_DAYS);
            pthread_mutex_unlock(&sh->env->tz_mu);
        }
        store_close(st);
    }
    if (doc == NULL) {
        doc = cJSON_CreateObject();
        cJSON_AddStringToObject(doc, "shop", c->shop_name);
        cJSON_AddStringToObject(doc, "store", c->store_path);
        cJSON_AddArrayToObject(doc, "runs");
        cJSON_AddArrayToObject(doc, "feeds");
    }
    if (!detail) {
        pub = status_public(doc);
        cJSON_Delete(doc);
        return pub;
    }
    cJSON_AddItemToObject(doc, "orders_per_day",
                          days != NULL ? days : cJSON_CreateArray());
    cJSON_AddStringToObject(doc, "source", c->source.type);
    /* A source read from a folder says which. */
    if (pf_source_has(&c->source, "path") &&
        pf_source_str(&c->source, "path") != NULL)
        cJSON_AddStringToObject(doc, "source_path",
                                pf_source_str(&c->source, "path"));
    return doc;
}

/* next_run (and its local time) into o; null when none. */
static void
add_next_run(struct shop *sh, cJSON *o, int64_t next)
{
    char buf[48];

    if (next < 0) {
        cJSON_AddNullToObject(o, "next_run");
        return;
    }
    pf_time_iso_utc(next, buf);
    cJSON_AddStringToObject(o, "next_run", buf);
    pthread_mutex_lock(&sh->env->tz_mu);
    if (pf_time_iso_local(next, sh->cfg->timezone, buf) == 0)
        cJSON_AddStringToObject(o, "next_run_local", buf);
    pthread_mutex_unlock(&sh->env->tz_mu);
}

/* Schedule, clock and the runs this server started: times and states
 * only, safe for anyone. cfg_lock held (read). */
static void
add_serve_state(struct shop *sh, cJSON *doc, int64_t now)
{
    cJSON *sv = cJSON_AddObjectToObject(doc, "serve"), *a;
    char buf[48];
    int64_t next;
    int i, running = 0;

    schedule_describe(&sh->cfg->schedule, buf);
    cJSON_AddStringToObject(sv, "schedule", buf);
    pf_time_iso_utc(now, buf);
    cJSON_AddStringToObject(sv, "now", buf);
    pthread_mutex_lock(&sh->mu);
    next = sh->next_run;
    if (sh->current && strcmp(job_get(sh, sh->current)->state,
                              "running") == 0)
        running = sh->current;
    a = cJSON_AddArrayToObject(sv, "runs");
    for (i = sh->njobs; i > 0 && i > sh->njobs - 10 &&
                        i > sh->njobs - sh->njobs_max; i--)
        cJSON_AddItemToArray(a, job_json(job_get(sh, i)));
    pthread_mutex_unlock(&sh->mu);
    add_next_run(sh, sv, next);
    if (*sh->name)
        cJSON_AddNumberToObject(sv, "jitter_s", (double)sh->jitter_s);
    if (running)
        cJSON_AddNumberToObject(sv, "running", running);
    else
        cJSON_AddNullToObject(sv, "running");
}

cJSON *
shop_status(struct shop *sh, int detail, const char *prefix)
{
    int64_t now = shop_now(sh->env);
    cJSON *doc, *f, *p;
    char *url;

    pthread_rwlock_rdlock(&sh->cfg_lock);
    doc = store_status(sh, detail, now);
    cJSON_AddBoolToObject(doc, "detail", detail);
    cJSON_AddStringToObject(doc, "timezone", sh->cfg->timezone);
    add_serve_state(sh, doc, now);
    if (detail && sh->refused != NULL)
        cJSON_AddStringToObject(doc, "refused", sh->refused);
    pthread_rwlock_unlock(&sh->cfg_lock);
    clerk_status(sh->clerk, doc);
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(doc, "feeds")) {
        p = cJSON_GetObjectItemCaseSensitive(f, "path");
        if (!cJSON_IsString(p))
            continue;
        url = xasprintf("%s/feeds/%s", prefix, p->valuestring);
        cJSON_AddStringToObject(f, "url", url);
        free(url);
    }
    return doc;
}

/* The store's run counters (runs, failed, last ok end) into v; from the
 * memo when it holds them. */
static void
store_counts(struct shop *sh, double v[3])
{
    unsigned long key = memo_key(sh);
    struct store *st = NULL;
    sqlite3_stmt *q = NULL;

    pthread_mutex_lock(&sh->mu);
    if (memo_has(sh, MEMO_COUNTS)) {
        v[0] = sh->memo_runs;
        v[1] = sh->memo_failed;
        v[2] = sh->memo_last_ok;
        pthread_mutex_unlock(&sh->mu);
        return;
    }
    pthread_mutex_unlock(&sh->mu);
    pthread_rwlock_rdlock(&sh->cfg_lock);
    if (sh->cfg != NULL &&
        store_open_readonly(sh->cfg->store_path, &st, NULL) == 0 &&
        sqlite3_prepare_v2(store_db(st), "SELECT count(*), "
                           "coalesce(sum(result = 'failed'), 0), "
                           "coalesce(max(CASE WHEN result = 'ok' THEN "
                           "ended_at END), 0) FROM runs", -1, &q,
                           NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW) {
        for (int i = 0; i < 3; i++)
            v[i] = sqlite3_column_double(q, i);
        if (sh->memo_on) {
            pthread_mutex_lock(&sh->mu);
            memo_rekey(sh, key);
            sh->memo_runs = v[0];
            sh->memo_failed = v[1];
            sh->memo_last_ok = v[2];
            sh->memo_valid |= MEMO_COUNTS;
            pthread_mutex_unlock(&sh->mu);
        }
    }
    sqlite3_finalize(q);
    store_close(st);
    pthread_rwlock_unlock(&sh->cfg_lock);
}

void
shop_counters(struct shop *sh, struct page_counters *pc)
{
    unsigned long opens = 0, refreshes = 0;
    double v[3] = {0, 0, 0};

    store_counts(sh, v);
    pc->runs = v[0];
    pc->failed = v[1];
    pc->last_ok = v[2];
    pthread_mutex_lock(&sh->mu);
    pc->running = sh->current != 0 &&
                  strcmp(job_get(sh, sh->current)->state, "running") == 0;
    pthread_mutex_unlock(&sh->mu);
    cache_counters(sh->cache, &opens, &refreshes);
    pc->feed_opens += opens;
    pc->feed_refreshes += refreshes;
    pc->request_opens += atomic_load_explicit(&sh->request_opens,
                                              memory_order_relaxed);
}

/* The last run the store holds, for the overview before this server ran
 * the shop itself. Main thread, at the first load. */
static void
load_last_run(struct shop *sh)
{
    struct store *st = NULL;
    sqlite3_stmt *q = NULL;

    if (store_open_readonly(sh->cfg->store_path, &st, NULL) != 0)
        return;
    if (sqlite3_prepare_v2(store_db(st), "SELECT ended_at, result FROM runs "
                           "WHERE kind = 'run' AND result != 'running' "
                           "ORDER BY id DESC LIMIT 1", -1, &q,
                           NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW) {
        pthread_mutex_lock(&sh->mu);
        sh->last_end = sqlite3_column_int64(q, 0);
        sh->last_result = strcmp((const char *)sqlite3_column_text(q, 1),
                                 "ok") == 0 ? "ok" : "failed";
        pthread_mutex_unlock(&sh->mu);
    }
    sqlite3_finalize(q);
    store_close(st);
}

void
shop_first_plan(struct shop *sh)
{
    if (sh->cfg == NULL)
        return;
    load_last_run(sh);
    shop_plan(sh, shop_plan_from(sh));
}

static void
add_time(cJSON *o, const char *key, int64_t t)
{
    char buf[32];

    if (t <= 0) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    pf_time_iso_utc(t, buf);
    cJSON_AddStringToObject(o, key, buf);
}

cJSON *
shop_summary(struct shop *sh, int detail)
{
    int64_t now = shop_now(sh->env), oldest, newest, next, last;
    cJSON *o = cJSON_CreateObject();
    const char *result, *state = "idle";
    size_t nfeeds;
    char *url = xasprintf("/%s/", sh->name);
    int failures, cur;

    cJSON_AddStringToObject(o, "name", sh->name);
    cJSON_AddStringToObject(o, "url", url);
    free(url);
    pthread_mutex_lock(&sh->mu);
    next = sh->next_run;
    last = sh->last_end;
    result = sh->last_result;
    failures = sh->failures;
    cur = sh->current;
    if (cur)
        state = job_get(sh, cur)->state;
    pthread_mutex_unlock(&sh->mu);
    cJSON_AddStringToObject(o, "state", state);
    add_time(o, "last_run", last);
    if (result != NULL)
        cJSON_AddStringToObject(o, "last_result", result);
    else
        cJSON_AddNullToObject(o, "last_result");
    pthread_rwlock_rdlock(&sh->cfg_lock);
    if (sh->cfg != NULL)
        add_next_run(sh, o, next);
    else
        cJSON_AddNullToObject(o, "next_run");
    cJSON_AddNumberToObject(o, "jitter_s", (double)sh->jitter_s);
    cJSON_AddNumberToObject(o, "failures", failures);
    cJSON_AddBoolToObject(o, "loaded", sh->cfg != NULL);
    if (detail) {
        cJSON_AddStringToObject(o, "config", sh->config_path);
        if (sh->refused != NULL)
            cJSON_AddStringToObject(o, "refused", sh->refused);
    }
    pthread_rwlock_unlock(&sh->cfg_lock);
    nfeeds = cache_ages(sh->cache, !detail, &oldest, &newest);
    cJSON_AddNumberToObject(o, "feeds", (double)nfeeds);
    if (nfeeds > 0) {
        cJSON_AddNumberToObject(o, "oldest_feed_age_s",
                                (double)(now - oldest));
        cJSON_AddNumberToObject(o, "newest_feed_age_s",
                                (double)(now - newest));
    }
    return o;
}
