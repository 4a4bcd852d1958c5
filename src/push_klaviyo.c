/* push_klaviyo.c - stage 2 of the push (see push_klaviyo.h): what the
 * ledger holds pending goes to Klaviyo's bulk endpoints in batches within
 * their limits; a batch turns 'sent' in one store transaction right after
 * Klaviyo's 202, so a crash at any point loses nothing and resends at
 * most the batch in flight (which Klaviyo deduplicates by unique_id).
 * Profiles go through import jobs, polled for per-profile errors. */
#include "push_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "klaviyo.h"
#include "log.h"
#include "timeutil.h"

/* The estimate a batch is filled to: the rows plus the JSON:API
 * wrapping of each, kept under Klaviyo's 5 MB with room to spare; the
 * body is measured before it is sent all the same. */
#define ITEM_WRAP_BYTES 320
#define BATCH_BUDGET_BYTES (PUSH_MAX_BODY_BYTES - 256 * 1024)

/* Polling an import job: waits double from 0.25 s up to 4 s, in all at
 * most about a minute; a job still running then is read next push. */
#define POLL_FIRST_S 0.25
#define POLL_MAX_S 4.0
#define POLL_BUDGET_S 60.0

struct sender {
    const struct pf_config *cfg;
    struct store *s;
    struct klaviyo *k;
    struct push_result *res;
    struct push_batch b;
};

static void
batch_truncate(struct push_batch *b, size_t n)
{
    while (b->n > n) {
        struct push_item *it = &b->items[--b->n];

        b->bytes -= it->len;
        free(it->id);
        free(it->grp);
        free(it->metric);
        free(it->body);
    }
}

static int
collect(void *ctx, const char *id, const char *grp, const char *metric,
        const char *body, size_t len, struct pf_err *err)
{
    struct push_batch *b = ctx;
    struct push_item *it;

    (void)err;
    if (b->n >= b->max_items ||
        (b->n > 0 && b->bytes + len + (b->n + 1) * ITEM_WRAP_BYTES >
                         BATCH_BUDGET_BYTES))
        return 1;
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->items = xrealloc(b->items, b->cap * sizeof(*b->items));
    }
    it = &b->items[b->n++];
    it->id = xstrdup(id);
    it->grp = xstrdup(grp);
    it->metric = xstrdup(metric);
    it->body = xstrndup(body, len);
    it->len = len;
    b->bytes += len;
    return 0;
}

/* The body of the batch, halved until it measures under the limit; a
 * single row over it is failed (it can never be sent). 1: the batch
 * changed (row failed), call again. */
static int
build_body(struct sender *sd, int profiles, char **body, size_t *len,
           struct pf_err *err)
{
    for (;;) {
        *body = profiles ? push_profiles_body(&sd->b, sd->cfg->klaviyo.list,
                                              len)
                         : push_events_body(&sd->b, len);
        if (*body == NULL) {
            pf_errf(err, "out of memory building a request body");
            return -1;
        }
        if (*len <= PUSH_MAX_BODY_BYTES)
            return 0;
        cJSON_free(*body);
        *body = NULL;
        if (sd->b.n > 1) {
            batch_truncate(&sd->b, sd->b.n / 2);
            continue;
        }
        sd->res->failed++;
        if (store_push_mark_failed(sd->s, PUSH_TARGET, profiles ? "profile"
                                   : "event", sd->b.items[0].id,
                                   "larger than Klaviyo's 5 MB request "
                                   "limit", err) != 0)
            return -1;
        return 1;
    }
}

/* The ids of the batch, for the ledger. */
static const char **
batch_ids(const struct push_batch *b)
{
    const char **ids = xcalloc(b->n + 1, sizeof(*ids));

    for (size_t i = 0; i < b->n; i++)
        ids[i] = b->items[i].id;
    return ids;
}

/* Klaviyo accepted the batch: it is sent, in one transaction (with the
 * import job that carries profiles). */
static int
accepted(struct sender *sd, int profiles, const cJSON *answer,
         struct pf_err *err)
{
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(answer, "data");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(data, "id");
    const char **ids = batch_ids(&sd->b);
    const char *job = cJSON_IsString(id) ? id->valuestring : NULL;
    int rc;

    if (profiles && job == NULL)
        log_warn("push: klaviyo accepted %zu profiles without a job id; "
                 "their per-profile errors cannot be read",
                 sd->b.n);
    rc = store_push_mark_sent(sd->s, PUSH_TARGET, profiles ? "profile"
                              : "event", ids, sd->b.n,
                              profiles ? job : NULL, pf_time_now(), err);
    free(ids);
    if (rc == 0) {
        if (profiles)
            sd->res->profiles_sent += (int64_t)sd->b.n;
        else
            sd->res->events_sent += (int64_t)sd->b.n;
    }
    return rc;
}

/* A 400 naming one item (or one profile's events): those are failed with
 * Klaviyo's words, the rest of the batch goes again without them.
 * 0 when it was so, -1 when the 400 named nothing we sent, -2 on a store
 * error (err set). */
static int
refused(struct sender *sd, int profiles, const char *pointer,
        const char *reason, struct pf_err *err)
{
    int whole = 0;
    long i = profiles ? push_profile_pointer_item(&sd->b, pointer)
                      : push_event_pointer_item(&sd->b, pointer, &whole);
    const char *grp;

    if (i < 0)
        return -1;
    grp = sd->b.items[i].grp;
    do {
        log_warn("push: klaviyo refused %s %s: %s", profiles ? "profile"
                 : "event", sd->b.items[i].id, reason);
        sd->res->failed++;
        if (store_push_mark_failed(sd->s, PUSH_TARGET, profiles ? "profile"
                                   : "event", sd->b.items[i].id, reason,
                                   err) != 0)
            return -2;
        i++;
    } while (whole && (size_t)i < sd->b.n &&
             strcmp(sd->b.items[i].grp, grp) == 0);
    return 0;
}

/* Sends one batch. 1 a batch went (or an item was failed): go on; 0
 * nothing was pending; -1 stop with err. */
static int
send_batch(struct sender *sd, int profiles, struct pf_err *err)
{
    const char *path = profiles ? "/api/profile-bulk-import-jobs"
                                : "/api/event-bulk-create-jobs";
    char *body = NULL, *pointer = NULL;
    cJSON *answer = NULL;
    size_t len = 0;
    long status = 0;
    int rc;

    batch_truncate(&sd->b, 0);
    sd->b.max_items = profiles ? PUSH_PROFILES_PER_REQUEST
                               : PUSH_EVENTS_PER_REQUEST;
    if (store_push_pending(sd->s, PUSH_TARGET, profiles ? "profile"
                           : "event", "", "", (int)sd->b.max_items, collect,
                           &sd->b, err) != 0)
        return -1;
    if (sd->b.n == 0)
        return 0;
    rc = build_body(sd, profiles, &body, &len, err);
    if (rc != 0)
        return rc;
    rc = klaviyo_call(sd->k, "POST", path, body, len, &answer, &status,
                      &pointer, err);
    cJSON_free(body);
    if (rc >= 0)
        rc = accepted(sd, profiles, answer, err) == 0 ? 1 : -1;
    else if (status == 400 && pointer != NULL) {
        char *reason = xstrdup(err->msg);
        int r = refused(sd, profiles, pointer, reason, err);

        if (r == -1)        /* it named nothing we sent: the 400 stands */
            pf_errf(err, "%s", reason);
        rc = r == 0 ? 1 : -1;
        free(reason);
    }
    cJSON_Delete(answer);
    free(pointer);
    return rc;
}

static int
send_all(struct sender *sd, int profiles, struct pf_err *err)
{
    int rc;

    while ((rc = send_batch(sd, profiles, err)) == 1)
        ;
    return rc;
}

static void
sleep_s(double s)
{
    struct timespec ts;

    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
}

/* The job's status ("complete", "processing", ...) into st; "gone"
 * when Klaviyo no longer knows the job (jobs expire after days). */
static int
job_status(struct sender *sd, const char *job, char *st, size_t n,
           struct pf_err *err)
{
    char *path = xasprintf("/api/profile-bulk-import-jobs/%s", job);
    cJSON *answer = NULL;
    const cJSON *a;
    long status = 0;
    int rc = klaviyo_call(sd->k, "GET", path, NULL, 0, &answer, &status,
                          NULL, err);

    free(path);
    if (rc < 0 && status == 404) {
        snprintf(st, n, "gone");
        return 0;
    }
    if (rc < 0)
        return -1;
    a = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(answer, "data"), "attributes");
    a = cJSON_GetObjectItemCaseSensitive(a, "status");
    snprintf(st, n, "%s", cJSON_IsString(a) ? a->valuestring : "");
    cJSON_Delete(answer);
    return 0;
}

/* One page of a job's import errors: each names its profile by the
 * original payload's email; that profile is failed with the error. */
static int
error_page(struct sender *sd, const cJSON *answer, struct pf_err *err)
{
    const cJSON *e;

    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(answer,
                                                           "data")) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(e, "attributes");
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(
            a, "original_payload");
        const cJSON *em = cJSON_GetObjectItemCaseSensitive(p, "email");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(a, "title");
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(a, "detail");
        char *id, *why;
        int rc;

        if (!cJSON_IsString(em))
            continue;
        id = xstrdup(em->valuestring);
        for (char *c = id; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
        why = xasprintf("klaviyo import: %s: %s",
                        cJSON_IsString(t) ? t->valuestring : "error",
                        cJSON_IsString(d) ? d->valuestring : "");
        log_warn("push: klaviyo refused profile %s: %s", id, why);
        sd->res->failed++;
        rc = store_push_mark_failed(sd->s, PUSH_TARGET, "profile", id, why,
                                    err);
        free(id);
        free(why);
        if (rc != 0)
            return -1;
    }
    return 0;
}

static int
read_import_errors(struct sender *sd, const char *job, struct pf_err *err)
{
    char *path = xasprintf("/api/profile-bulk-import-jobs/%s/import-errors",
                           job);
    int rc = 0;

    while (path != NULL && rc == 0) {
        cJSON *answer = NULL;

        rc = klaviyo_call(sd->k, "GET", path, NULL, 0, &answer, NULL, NULL,
                          err) < 0 ? -1 : 0;
        free(path);
        path = NULL;
        if (rc == 0)
            rc = error_page(sd, answer, err);
        if (rc == 0)
            path = klaviyo_next_path(answer);
        cJSON_Delete(answer);
    }
    free(path);
    return rc;
}

/* Polls one recorded job (bounded), reads its errors, closes it. */
static int
poll_job(void *ctx, const char *job, struct pf_err *err)
{
    struct sender *sd = ctx;
    double wait = POLL_FIRST_S, waited = 0;
    char st[32];

    for (;;) {
        if (job_status(sd, job, st, sizeof(st), err) != 0)
            return -1;
        if (strcmp(st, "gone") == 0) {
            /* Its errors cannot be read any more: its profiles stay
             * sent, as Klaviyo accepted them. */
            log_warn("push: klaviyo no longer knows import job %s; its "
                     "per-profile errors are lost", job);
            return store_push_job_done(sd->s, PUSH_TARGET, job, err);
        }
        if (strcmp(st, "complete") == 0 || strcmp(st, "cancelled") == 0 ||
            strcmp(st, "failed") == 0)
            break;
        if (waited >= POLL_BUDGET_S) {
            log_warn("push: klaviyo import job %s is still %s; its errors "
                     "are read at the next push", job, st);
            return 0;
        }
        sleep_s(wait);
        waited += wait;
        wait = wait * 2 > POLL_MAX_S ? POLL_MAX_S : wait * 2;
    }
    if (read_import_errors(sd, job, err) != 0)
        return -1;
    return store_push_job_done(sd->s, PUSH_TARGET, job, err);
}

static int
sender_open(struct sender *sd, const struct pf_config *cfg, struct store *s,
            struct push_result *res, struct pf_err *err)
{
    struct klaviyo_opts o;
    char *key = NULL;
    int rc;

    memset(sd, 0, sizeof(*sd));
    sd->cfg = cfg;
    sd->s = s;
    sd->res = res;
    if (pf_secret_read(&cfg->klaviyo.api_key, &key, err) != 0) {
        pf_err_prefix(err, "[push klaviyo] api_key");
        return -1;
    }
    memset(&o, 0, sizeof(o));
    o.api_url = cfg->klaviyo.api_url;
    o.api_key = key;
    o.revision = cfg->klaviyo.revision;
    rc = klaviyo_open(&o, &sd->k, err);
    memset(key, 0, strlen(key));
    free(key);
    return rc;
}

static void
sender_close(struct sender *sd)
{
    const char *w;

    if (sd->k != NULL) {
        w = klaviyo_warning(sd->k);
        if (w != NULL && sd->res->warning == NULL)
            sd->res->warning = xstrdup(w);
        sd->res->requests += klaviyo_stats(sd->k)->requests;
        klaviyo_close(sd->k);
    }
    batch_truncate(&sd->b, 0);
    free(sd->b.items);
}

/* Items still pending once the push is over. */
static int
count_pending(struct store *s, int64_t *n, struct pf_err *err)
{
    static const char sql[] =
        "SELECT count(*) FROM push_items WHERE target = ?1 "
        "AND state = 'pending'";
    sqlite3_stmt *st = store_stmt(s, sql, err);
    int rc;

    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, PUSH_TARGET, -1, SQLITE_STATIC);
    rc = store_step(s, st, err, "counting pending push items");
    *n = rc == 1 ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return rc < 0 ? -1 : 0;
}

int
push_klaviyo_send(const struct pf_config *cfg, struct store *s,
                  struct push_result *res, struct pf_err *err)
{
    struct sender sd;
    int rc = -1;

    if (sender_open(&sd, cfg, s, res, err) != 0)
        goto cleanup;
    /* Jobs left by an earlier push first: their errors may fail
     * profiles that would otherwise look delivered. */
    if (store_push_jobs(s, PUSH_TARGET, poll_job, &sd, err) != 0 ||
        send_all(&sd, 0, err) != 0 || send_all(&sd, 1, err) != 0 ||
        store_push_jobs(s, PUSH_TARGET, poll_job, &sd, err) != 0)
        goto cleanup;
    rc = 0;
cleanup:
    sender_close(&sd);
    if (rc == 0 && count_pending(s, &res->pending, err) != 0)
        rc = -1;
    else if (rc != 0) {
        struct pf_err e2;

        (void)count_pending(s, &res->pending, &e2);
    }
    if (rc == 0 && res->pending > 0) {
        pf_errf(err, "%lld items are still pending",
                (long long)res->pending);
        rc = -1;
    }
    if (rc != 0)
        pf_err_prefix(err, "push: klaviyo");
    return rc;
}

void
push_result_free(struct push_result *r)
{
    free(r->warning);
    memset(r, 0, sizeof(*r));
}

/* What status shows of the last push (sync_state push.klaviyo.*). */
static void
record(struct store *s, const struct push_result *res, const char *error)
{
    struct pf_err e;
    char at[32];

    pf_time_iso_utc(pf_time_now(), at);
    if (store_set_bookmark(s, "push.klaviyo.last", at, &e) != 0 ||
        store_set_bookmark(s, "push.klaviyo.error", error, &e) != 0 ||
        store_set_bookmark(s, "push.klaviyo.warning", res->warning,
                           &e) != 0)
        log_warn("push: cannot record the push: %s", e.msg);
}

int
push_klaviyo(const struct pf_config *cfg, struct store *s,
             struct push_result *res, struct pf_err *err)
{
    int rc;

    memset(res, 0, sizeof(*res));
    rc = push_klaviyo_enqueue(cfg, s, res, err);
    if (rc == 0)
        rc = push_klaviyo_send(cfg, s, res, err);
    record(s, res, rc == 0 ? NULL : err->msg);
    return rc;
}
