/* push_enqueue.c - stage 1 of the push (see push_klaviyo.h): the events
 * and profiles templates rendered by the feed builder, each row offered
 * to the ledger, the rows left out counted per metric and reason. */
#include "push_klaviyo.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "feed.h"
#include "log.h"
#include "template.h"
#include "timeutil.h"

/* Rows per ledger transaction: big enough to be fast, small enough that
 * a crash redoes little (an offer is idempotent anyway). */
#define ENQUEUE_TXN_ROWS 500

/* Left-out counts: a short list of (metric, reason) pairs. */
struct skips {
    char **metric, **reason;
    int64_t *n;
    size_t len;
};

static void
skip_add(struct skips *k, const char *metric, const char *reason)
{
    for (size_t i = 0; i < k->len; i++)
        if (strcmp(k->metric[i], metric) == 0 &&
            strcmp(k->reason[i], reason) == 0) {
            k->n[i]++;
            return;
        }
    k->metric = xrealloc(k->metric, (k->len + 1) * sizeof(char *));
    k->reason = xrealloc(k->reason, (k->len + 1) * sizeof(char *));
    k->n = xrealloc(k->n, (k->len + 1) * sizeof(int64_t));
    k->metric[k->len] = xstrdup(metric);
    k->reason[k->len] = xstrdup(reason);
    k->n[k->len++] = 1;
}

static void
skips_free(struct skips *k)
{
    for (size_t i = 0; i < k->len; i++) {
        free(k->metric[i]);
        free(k->reason[i]);
    }
    free(k->metric);
    free(k->reason);
    free(k->n);
}

/* What one stage of the enqueue shares while it reads rows. */
struct enq {
    const struct pf_config *cfg;
    struct store *s;
    struct push_result *res;
    struct skips skips;
    int64_t now, cutoff;        /* since: events before cutoff wait */
    int no_sms;                 /* the source forbids texting */
    char zero_order[128];       /* the last order worth 0 */
    int64_t in_txn;
};

/* A string member, "" when absent or not a string. */
static const char *
jstr(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsString(v) && v->valuestring ? v->valuestring : "";
}

static char *
lower_dup(const char *s)
{
    char *d = xstrdup(s);

    for (char *p = d; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

/* The config bit of a metric; 0 for a metric of a custom template, which
 * is pushed as it comes. */
static unsigned
metric_bit(const char *m)
{
    if (strcmp(m, "Placed Order") == 0)
        return PF_PUSH_PLACED;
    if (strcmp(m, "Ordered Product") == 0)
        return PF_PUSH_ORDERED;
    if (strcmp(m, "Refunded Order") == 0)
        return PF_PUSH_REFUNDED;
    if (strcmp(m, "Shipped Order") == 0)
        return PF_PUSH_SHIPPED;
    return 0;
}

/* Commits every ENQUEUE_TXN_ROWS offers and opens the next transaction. */
static int
txn_tick(struct enq *q, struct pf_err *err)
{
    if (++q->in_txn < ENQUEUE_TXN_ROWS)
        return 0;
    q->in_txn = 0;
    if (store_commit(q->s, err) != 0)
        return -1;
    return store_begin(q->s, err);
}

static int
offer(struct enq *q, const char *kind, const char *id, const char *metric,
      const char *grp, int64_t when, const char *body, struct pf_err *err)
{
    struct store_push_item it;
    int queued = 0;

    memset(&it, 0, sizeof(it));
    it.target = PUSH_TARGET;
    it.kind = kind;
    it.id = id;
    it.metric = metric;
    it.grp = grp;
    it.item_time = when;
    it.body = body;
    it.len = strlen(body);
    if (store_push_offer(q->s, &it, q->now, &queued, err) != 0)
        return -1;
    q->res->queued += queued;
    return txn_tick(q, err);
}

/* An order worth 0 sends none of its events (as Klaviyo's own
 * integrations do); its events follow one another in the feed. */
static int
zero_order(struct enq *q, const cJSON *row, const char *metric)
{
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(row,
                                                          "properties");
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(row, "value");
    const char *oid = jstr(props, "OrderId");

    if (strcmp(metric, "Placed Order") == 0 ||
        strcmp(metric, "Refunded Order") == 0) {
        int zero = !cJSON_IsNumber(value) || value->valuedouble == 0.0;

        snprintf(q->zero_order, sizeof(q->zero_order), "%s",
                 zero ? oid : "");
        return zero;
    }
    return oid[0] != '\0' && strcmp(oid, q->zero_order) == 0;
}

/* One rendered event row: why it is left out, or NULL to offer it. */
static const char *
event_skip(struct enq *q, const cJSON *row, const char *metric,
           int64_t *when)
{
    const cJSON *profile = cJSON_GetObjectItemCaseSensitive(row, "profile");
    struct pf_err e;

    if (jstr(row, "unique_id")[0] == '\0')
        return "no unique_id";
    if (pf_time_parse(jstr(row, "time"), when, &e) != 0)
        return "no time";
    if (zero_order(q, row, metric))
        return "order worth 0";
    if (jstr(profile, "email")[0] == '\0')
        return "no email";
    if (*when < q->cutoff)
        return "before since";
    return NULL;
}

static int
event_row(struct enq *q, const char *line, struct pf_err *err)
{
    cJSON *row = cJSON_Parse(line);
    const char *metric, *why;
    char *grp;
    int64_t when = 0;
    int rc;

    if (row == NULL) {
        pf_errf(err, "the events template rendered a row that is not "
                "JSON");
        return -1;
    }
    metric = jstr(row, "metric");
    if (metric[0] == '\0' || (metric_bit(metric) != 0 &&
                              !(q->cfg->klaviyo.events &
                                metric_bit(metric)))) {
        cJSON_Delete(row);      /* not asked for: not counted either */
        return 0;
    }
    why = event_skip(q, row, metric, &when);
    if (why != NULL) {
        skip_add(&q->skips, metric, why);
        q->res->skipped++;
        cJSON_Delete(row);
        return 0;
    }
    grp = lower_dup(jstr(cJSON_GetObjectItemCaseSensitive(row, "profile"),
                         "email"));
    rc = offer(q, "event", jstr(row, "unique_id"), metric, grp, when, line,
               err);
    free(grp);
    cJSON_Delete(row);
    return rc;
}

/* The customer's phone as the store holds it, to tell a number the
 * template dropped (not E.164) from no number at all. */
static int
had_phone(struct enq *q, const char *customer_id)
{
    static const char sql[] =
        "SELECT 1 FROM customers WHERE id = ?1 AND phone IS NOT NULL "
        "AND phone <> ''";
    struct pf_err e;
    sqlite3_stmt *st = store_stmt(q->s, sql, &e);
    int rc;

    if (st == NULL)
        return 0;
    sqlite3_bind_text(st, 1, customer_id, -1, SQLITE_STATIC);
    rc = store_step(q->s, st, &e, "reading customer %s", customer_id);
    sqlite3_reset(st);
    return rc == 1;
}

/* Phone numbers: dropped (and counted) when the source forbids texting,
 * counted when the template dropped one that is not E.164. */
static void
profile_phone(struct enq *q, cJSON *row)
{
    if (cJSON_GetObjectItemCaseSensitive(row, "phone_number") != NULL) {
        if (!q->no_sms)
            return;
        cJSON_DeleteItemFromObjectCaseSensitive(row, "phone_number");
        skip_add(&q->skips, "profile", "phone dropped: source forbids SMS");
        return;
    }
    if (had_phone(q, jstr(row, "external_id")))
        skip_add(&q->skips, "profile", "phone dropped: not E.164");
}

/* 1 the first time this enqueue meets profile id, 0 after; -1 error.
 * Kept in a temporary table, so memory stays flat. */
static int
first_seen(struct enq *q, const char *id, struct pf_err *err)
{
    static const char sql[] =
        "INSERT OR IGNORE INTO temp.push_seen(id) VALUES (?1)";
    sqlite3_stmt *st = store_stmt(q->s, sql, err);

    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (store_step(q->s, st, err, "noting profile %s", id) < 0) {
        sqlite3_reset(st);
        return -1;
    }
    sqlite3_reset(st);
    return sqlite3_changes(store_db(q->s)) > 0;
}

static int
profile_row(struct enq *q, const char *line, struct pf_err *err)
{
    cJSON *row = cJSON_Parse(line);
    char *id, *body;
    int rc;

    if (row == NULL) {
        pf_errf(err, "the profiles template rendered a row that is not "
                "JSON");
        return -1;
    }
    if (jstr(row, "email")[0] == '\0') {
        skip_add(&q->skips, "profile", "no email");
        q->res->skipped++;
        cJSON_Delete(row);
        return 0;
    }
    id = lower_dup(jstr(row, "email"));
    rc = first_seen(q, id, err);
    if (rc != 1) {
        /* Two customers with one email are one Klaviyo profile: the
         * first is sent, or each run would send them in turn. */
        if (rc == 0) {
            skip_add(&q->skips, "profile", "email of another customer");
            q->res->skipped++;
        }
        free(id);
        cJSON_Delete(row);
        return rc;
    }
    profile_phone(q, row);
    body = cJSON_PrintUnformatted(row);
    rc = offer(q, "profile", id, "profile", "", INT64_MIN, body, err);
    cJSON_free(body);
    free(id);
    cJSON_Delete(row);
    return rc;
}

/* The feed that defines kind's rows: the one named, or the built-in
 * template with [sync]'s settings. tmp is filled for the latter. */
static const struct pf_feed_cfg *
defining_feed(const struct pf_config *cfg, int profiles,
              struct pf_feed_cfg *tmp)
{
    const char *named = profiles ? cfg->klaviyo.profiles_feed
                                 : cfg->klaviyo.events_feed;
    const char *builtin = profiles ? "klaviyo-profiles" : "klaviyo-events";

    if (named != NULL)
        return pf_config_feed(cfg, named);
    memset(tmp, 0, sizeof(*tmp));
    tmp->name = (char *)builtin;
    tmp->template_spec = (char *)builtin;
    tmp->template_path = pf_template_resolve(builtin, cfg->dir);
    tmp->output = (char *)builtin;
    tmp->sync = cfg->sync;
    tmp->line = cfg->klaviyo.line;
    return tmp;
}

/* Renders kind's rows into a temporary file (so memory stays flat
 * whatever the number of rows) and checks the template renders the
 * collection the push expects. The caller closes *out. */
static int
render_rows(const struct pf_config *cfg, struct store *s, int profiles,
            FILE **out, struct pf_err *err)
{
    struct pf_feed_cfg tmp;
    const struct pf_feed_cfg *fc = defining_feed(cfg, profiles, &tmp);
    const char *want = profiles ? "customers" : "events", *coll = NULL;
    FILE *f = tmpfile();
    int64_t items = 0;
    int rc = -1;

    if (f == NULL) {
        pf_errf(err, "cannot create a temporary file for the %s rows",
                want);
        goto cleanup;
    }
    if (feed_render_ndjson(cfg, fc, s, fileno(f), &items, &coll, err) != 0)
        goto cleanup;
    if (coll == NULL || strcmp(coll, want) != 0) {
        pf_errf(err, "%s:%d: [push klaviyo] %s: template %s renders %s, "
                "not %s", cfg->path, fc->line, profiles ? "profiles_feed"
                : "events_feed", fc->template_path, coll ? coll : "nothing",
                want);
        goto cleanup;
    }
    rewind(f);
    *out = f;
    f = NULL;
    rc = 0;
cleanup:
    if (f != NULL)
        fclose(f);
    if (fc == &tmp)
        free(tmp.template_path);
    return rc;
}

/* Offers every row of one kind, in transactions of ENQUEUE_TXN_ROWS. */
static int
enqueue_kind(struct enq *q, int profiles, struct pf_err *err)
{
    FILE *f = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = -1;

    if (render_rows(q->cfg, q->s, profiles, &f, err) != 0)
        return -1;
    if (profiles && store_exec(q->s, "CREATE TEMP TABLE IF NOT EXISTS "
                               "push_seen (id TEXT PRIMARY KEY) WITHOUT "
                               "ROWID; DELETE FROM temp.push_seen", err) != 0)
        goto cleanup;
    if (store_begin(q->s, err) != 0)
        goto cleanup;
    q->in_txn = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] == '\n')
            line[n - 1] = '\0';
        if (line[0] == '\0')
            continue;
        if ((profiles ? profile_row(q, line, err)
                      : event_row(q, line, err)) != 0) {
            store_rollback(q->s);
            goto cleanup;
        }
    }
    rc = store_commit(q->s, err);
cleanup:
    free(line);
    fclose(f);
    return rc;
}

/* The since bound and the source's texting rule. */
static int
enq_init(struct enq *q, const struct pf_config *cfg, struct store *s,
         struct push_result *res, struct pf_err *err)
{
    char *no_sms = NULL;

    memset(q, 0, sizeof(*q));
    q->cfg = cfg;
    q->s = s;
    q->res = res;
    q->now = pf_time_now();
    if (pf_tz_start_of_span_ago(q->now, cfg->timezone, cfg->klaviyo.since_n,
                                cfg->klaviyo.since_unit, &q->cutoff,
                                err) != 0)
        return -1;
    if (store_get_bookmark(s, "source.no_sms", &no_sms, err) != 0)
        return -1;
    q->no_sms = no_sms != NULL && strcmp(no_sms, "1") == 0;
    free(no_sms);
    return 0;
}

/* What the config no longer asks for is not sent: pending items of a
 * metric taken out of `events`, or profiles with `profiles = no`. */
static int
drop_unwanted(const struct pf_config *cfg, struct store *s,
              struct pf_err *err)
{
    static const char *const metrics[] = {
        "Placed Order", "Ordered Product", "Refunded Order", "Shipped Order"
    };

    for (int i = 0; i < 4; i++)
        if (!(cfg->klaviyo.events & metric_bit(metrics[i])) &&
            store_push_drop_pending(s, PUSH_TARGET, "event", metrics[i],
                                    err) != 0)
            return -1;
    if (!cfg->klaviyo.profiles &&
        store_push_drop_pending(s, PUSH_TARGET, "profile", NULL, err) != 0)
        return -1;
    return 0;
}

int
push_klaviyo_enqueue(const struct pf_config *cfg, struct store *s,
                     struct push_result *res, struct pf_err *err)
{
    struct enq q;
    int rc = -1;

    if (enq_init(&q, cfg, s, res, err) != 0)
        return -1;
    if (cfg->klaviyo.events != 0 && enqueue_kind(&q, 0, err) != 0)
        goto cleanup;
    if (cfg->klaviyo.profiles && enqueue_kind(&q, 1, err) != 0)
        goto cleanup;
    if (store_begin(s, err) != 0)
        goto cleanup;
    if (drop_unwanted(cfg, s, err) != 0 ||
        store_push_set_skipped(s, PUSH_TARGET,
                               (const char *const *)q.skips.metric,
                               (const char *const *)q.skips.reason,
                               q.skips.n, q.skips.len, err) != 0) {
        store_rollback(s);
        goto cleanup;
    }
    rc = store_commit(s, err);
cleanup:
    skips_free(&q.skips);
    if (rc != 0)
        pf_err_prefix(err, "push: klaviyo");
    return rc;
}

/* For check: kind's template loads, passes the feed checks, renders rows
 * and opens the collection the push reads. */
static int
check_kind(const struct pf_config *cfg, int profiles, struct pf_err *err)
{
    struct pf_feed_cfg tmp;
    const struct pf_feed_cfg *fc = defining_feed(cfg, profiles, &tmp);
    const char *want = profiles ? "customers" : "events";
    struct tpl *t = NULL;
    int rc = -1;

    if (tpl_load(fc->template_path, &t, err) != 0 ||
        feed_check(cfg, fc, t, err) != 0)
        goto cleanup;
    if (tpl_set_ndjson(t) != 0 || tpl_ncollections(t) == 0 ||
        strcmp(tpl_collection(t, 0), want) != 0) {
        pf_errf(err, "%s:%d: [push klaviyo] %s: template %s must be a "
                "list of one \"@each\" object over %s", cfg->path, fc->line,
                profiles ? "profiles_feed" : "events_feed",
                fc->template_path, want);
        goto cleanup;
    }
    /* Valid, but it would push nothing: say so rather than let a
     * merchant wonder why Klaviyo stays empty. */
    if (profiles && !fc->sync.include_customers)
        log_warn("%s:%d: [push klaviyo] profiles = yes, but %s has "
                 "include_customers = no: no profile will be sent",
                 cfg->path, cfg->klaviyo.line, fc == &tmp ? "[sync]"
                 : "its feed");
    if (!profiles && !fc->sync.collect_emails)
        log_warn("%s:%d: [push klaviyo] %s has collect_emails = no: every "
                 "event lacks its email and is skipped", cfg->path,
                 cfg->klaviyo.line, fc == &tmp ? "[sync]" : "its feed");
    rc = 0;
cleanup:
    tpl_free(t);
    if (fc == &tmp)
        free(tmp.template_path);
    return rc;
}

int
push_klaviyo_check(const struct pf_config *cfg, struct pf_err *err)
{
    char *key = NULL;

    if (!cfg->klaviyo.set)
        return 0;
    /* The key is read, as push will, and dropped unseen. A key from env:
     * is checked only when this environment has it (check may run
     * elsewhere than the schedule). */
    if (!pf_secret_env_missing(&cfg->klaviyo.api_key)) {
        if (pf_secret_read(&cfg->klaviyo.api_key, &key, err) != 0) {
            pf_err_prefix(err, "%s:%d: [push klaviyo] api_key", cfg->path,
                          cfg->klaviyo.api_key.line);
            return -1;
        }
        memset(key, 0, strlen(key));
        free(key);
    }
    if (cfg->klaviyo.events != 0 && check_kind(cfg, 0, err) != 0)
        return -1;
    if (cfg->klaviyo.profiles && check_kind(cfg, 1, err) != 0)
        return -1;
    return 0;
}
