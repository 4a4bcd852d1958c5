/* verify.c - `posfeed verify`: each column counted where it lives, the
 * differences explained by counted reasons, the rest flagged. See
 * verify.h; the feed and Klaviyo columns are read in verify_feed.c and
 * verify_klaviyo.c.
 */
#include "verify_int.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "source.h"
#include "table.h"
#include "timeutil.h"

int
verify_day_of(const int64_t *bounds, size_t n, int64_t t)
{
    size_t d;

    for (d = 0; d < n; d++)
        if (t >= bounds[d] && t < bounds[d + 1])
            return (int)d;
    return -1;
}

/* Local midnights: bounds[i] starts day i (oldest first), bounds[n] is
 * today's midnight, so the days are the n complete days before today.
 * Each is found on the calendar, so a day with a DST change lasts 23 or
 * 25 hours. */
static int
day_bounds(const char *tz, int64_t now, size_t n, int64_t *bounds,
           struct pf_err *err)
{
    size_t i;

    for (i = 0; i <= n; i++)
        if (pf_tz_start_of_span_ago(now, tz, (int)(n - i), PF_SPAN_DAYS,
                                    &bounds[i], err) != 0)
            return -1;
    return 0;
}

/* The feed whose Placed Order events are pushed: [push klaviyo]
 * events_feed, else the first feed on the built-in klaviyo-events
 * template; NULL when the config has none. */
static const struct pf_feed_cfg *
events_feed(const struct pf_config *cfg)
{
    size_t i;

    if (cfg->klaviyo.set && cfg->klaviyo.events_feed != NULL)
        return pf_config_feed(cfg, cfg->klaviyo.events_feed);
    for (i = 0; i < cfg->nfeeds; i++)
        if (strcmp(cfg->feeds[i].template_spec, "klaviyo-events") == 0)
            return &cfg->feeds[i];
    return NULL;
}

/* The accepted statuses as a JSON array, for json_each(). */
static char *
statuses_json(const struct pf_sync_settings *ss)
{
    cJSON *a = cJSON_CreateArray();
    char *s;
    size_t i;

    for (i = 0; i < ss->accepted_order_statuses.n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(
            ss->accepted_order_statuses.items[i]));
    s = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    return s;
}

/* Per day: every order; those with an accepted status; and of those,
 * why one places no event in the feed or is not sent. The conditions
 * are the events rows' (rows_events.c): a Placed Order needs a
 * purchased line (not a return, quantity > 0) and an order within the
 * feed's lookback; the template's @require drops an event with neither
 * email nor customer; push sends none without email or worth 0. */
static const char sql_store[] =
    "SELECT count(*), coalesce(sum(acc), 0),"
    " coalesce(sum(acc AND NOT placed), 0),"
    " coalesce(sum(acc AND placed AND created_at < ?6), 0),"
    " coalesce(sum(acc AND placed AND created_at >= ?6 AND NOT prof), 0),"
    " coalesce(sum(acc AND placed AND created_at >= ?6 AND prof"
    "   AND noemail), 0),"
    " coalesce(sum(acc AND placed AND created_at >= ?6 AND prof"
    "   AND NOT noemail AND total = 0), 0),"
    " coalesce(sum(acc AND placed AND created_at >= ?6 AND prof"
    "   AND NOT noemail AND total <> 0 AND created_at < ?7), 0)"
    " FROM (SELECT created_at, total,"
    "  (?3 = 0 OR status IN (SELECT value FROM json_each(?4))) AS acc,"
    "  EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id"
    "    AND l.is_return = 0 AND l.quantity > 0) AS placed,"
    "  ((?5 AND coalesce(email, '') <> '')"
    "    OR coalesce(customer_id, '') <> '') AS prof,"
    "  (NOT ?5 OR coalesce(email, '') = '') AS noemail"
    "  FROM orders o WHERE created_at >= ?1 AND created_at < ?2)";

struct store_args {
    const struct pf_sync_settings *ss;
    int64_t cutoff;             /* the feed's lookback start */
    int64_t since;              /* push's since start */
};

static int
store_day(struct store *s, const struct store_args *a, struct verify_day *d,
          struct pf_err *err)
{
    sqlite3_stmt *st = store_stmt(s, sql_store, err);
    char *acc;
    int rc;

    if (st == NULL)
        return -1;
    acc = statuses_json(a->ss);
    sqlite3_bind_int64(st, 1, d->start);
    sqlite3_bind_int64(st, 2, d->end);
    sqlite3_bind_int(st, 3, a->ss->accepted_order_statuses.n > 0);
    sqlite3_bind_text(st, 4, acc, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 5, a->ss->collect_emails);
    sqlite3_bind_int64(st, 6, a->cutoff);
    sqlite3_bind_int64(st, 7, a->since);
    free(acc);
    rc = store_step(s, st, err, "counting the orders of %s", d->date);
    if (rc == 1) {
        d->store_all = sqlite3_column_int64(st, 0);
        d->store = sqlite3_column_int64(st, 1);
        d->why.not_accepted = d->store_all - d->store;
        d->why.no_purchase = sqlite3_column_int64(st, 2);
        d->why.before_lookback = sqlite3_column_int64(st, 3);
        d->why.no_profile = sqlite3_column_int64(st, 4);
        d->why.no_email = sqlite3_column_int64(st, 5);
        d->why.zero_value = sqlite3_column_int64(st, 6);
        d->why.before_since = sqlite3_column_int64(st, 7);
    }
    sqlite3_reset(st);
    return rc < 0 ? -1 : 0;
}

/* The ledger's Placed Order events of the day by state. */
static int
ledger_day(struct store *s, struct verify_day *d, struct pf_err *err)
{
    sqlite3_stmt *st = store_stmt(s, "SELECT state, count(*) FROM "
                                  "push_items WHERE target = 'klaviyo' AND "
                                  "kind = 'event' AND metric = 'Placed "
                                  "Order' AND item_time >= ?1 AND "
                                  "item_time < ?2 GROUP BY state", err);
    int rc;

    if (st == NULL)
        return -1;
    d->sent = 0;
    sqlite3_bind_int64(st, 1, d->start);
    sqlite3_bind_int64(st, 2, d->end);
    while ((rc = store_step(s, st, err, "reading the push ledger of %s",
                            d->date)) == 1) {
        const char *state = (const char *)sqlite3_column_text(st, 0);
        int64_t n = sqlite3_column_int64(st, 1);

        if (strcmp(state, "sent") == 0)
            d->sent = n;
        else if (strcmp(state, "pending") == 0)
            d->why.pending = n;
        else if (strcmp(state, "failed") == 0)
            d->why.failed = n;
    }
    sqlite3_reset(st);
    return rc < 0 ? -1 : 0;
}

static void
add_error(struct verify_report *r, const char *what, const char *msg)
{
    char *e = xasprintf("%s%s%s: %s", r->error ? r->error : "",
                        r->error ? "; " : "", what, msg);

    free(r->error);
    r->error = e;
}

/* The POS column, one count_orders call for all days. */
static void
pos_column(const struct pf_config *cfg, const int64_t *bounds,
           struct verify_report *r)
{
    const struct source_type *t = source_find(cfg->source.type);
    int64_t *c = xcalloc(r->ndays, sizeof(*c));
    struct pf_err e = {{0}};
    size_t d;
    int ok = t != NULL && t->count_orders != NULL;

    if (ok && t->count_orders(cfg, bounds, r->ndays, c, &e) != 0) {
        add_error(r, "POS", e.msg);
        ok = 0;
    }
    for (d = 0; d < r->ndays; d++)
        r->days[d].pos = ok ? c[d] : VERIFY_UNKNOWN;
    free(c);
}

static void
feed_column(const struct pf_config *cfg, const struct pf_feed_cfg *fc,
            const int64_t *bounds, struct verify_report *r)
{
    int64_t *c = xcalloc(r->ndays, sizeof(*c));
    struct pf_err e = {{0}};
    size_t d;
    int ok = fc != NULL;

    if (ok && verify_feed_count(cfg, fc, bounds, r->ndays, c, &e) != 0) {
        add_error(r, "feed", e.msg);
        ok = 0;
    }
    for (d = 0; d < r->ndays; d++)
        r->days[d].feed = fc == NULL ? VERIFY_NA : ok ? c[d]
                                                      : VERIFY_UNKNOWN;
    free(c);
}

static void
klaviyo_column(const struct pf_config *cfg, const struct http_opts *http,
               const int64_t *bounds, struct verify_report *r)
{
    int64_t *c = xcalloc(r->ndays, sizeof(*c));
    struct pf_err e = {{0}};
    char *warning = NULL;
    size_t d;
    int ok = verify_klaviyo_count(cfg, http, bounds, r->ndays, c,
                                  &r->klaviyo_tz, &warning, &e) == 0;

    if (!ok)
        add_error(r, "Klaviyo", e.msg);
    for (d = 0; d < r->ndays; d++)
        r->days[d].klaviyo = ok ? c[d] : VERIFY_UNKNOWN;
    if (r->klaviyo_tz != NULL && strcmp(r->klaviyo_tz, cfg->timezone) != 0)
        r->warning = xasprintf("the Klaviyo account's timezone is %s but "
                               "the shop's is %s: Klaviyo's own reports "
                               "split days at another midnight, so its "
                               "daily counts differ from the POS's (this "
                               "table asks Klaviyo in the shop's "
                               "timezone)", r->klaviyo_tz, cfg->timezone);
    if (warning != NULL) {
        char *w = xasprintf("%s%s%s", r->warning ? r->warning : "",
                            r->warning ? "; " : "", warning);

        free(r->warning);
        r->warning = w;
    }
    free(warning);
    free(c);
}

/* ---- judging ------------------------------------------------------------ */

static void
note(struct pf_buf *b, int64_t n, const char *what)
{
    if (n != 0)
        pf_buf_addf(b, "%s%lld %s", b->len ? ", " : "", (long long)n, what);
}

static void
mismatch(struct pf_buf *b, const char *a, int64_t x, const char *bn,
         int64_t y, const char *hint)
{
    pf_buf_addf(b, "%s%s %lld != %s %lld%s", b->len ? "; " : "", a,
                (long long)x, bn, (long long)y, hint);
}

static int
known(int64_t v)
{
    return v >= 0;
}

/* Each column against what the one before it and the counted reasons
 * predict; fills d->explained and d->flagged. */
static void
judge(struct verify_day *d)
{
    const struct verify_reasons *w = &d->why;
    struct pf_buf ex, fl;
    int64_t feed_want = d->store - w->no_purchase - w->before_lookback -
                        w->no_profile;
    int64_t base = known(d->feed) ? d->feed : feed_want;
    int64_t sent_want = base - w->no_email - w->zero_value -
                        w->before_since - w->pending - w->failed;

    pf_buf_init(&ex);
    pf_buf_init(&fl);
    note(&ex, w->not_accepted, "with a status not accepted");
    note(&ex, w->no_purchase, "without a purchase (refunds)");
    note(&ex, w->before_lookback, "before orders_lookback");
    note(&ex, w->no_profile, "without email or customer");
    if (d->sent != VERIFY_NA) {
        note(&ex, w->no_email, "without email (never sent)");
        note(&ex, w->zero_value, "worth 0 (never sent)");
        note(&ex, w->before_since, "before push since");
        note(&ex, w->pending, "pending");
        note(&ex, w->failed, "failed");
    }
    if (known(d->pos) && d->pos != d->store_all)
        mismatch(&fl, "pos", d->pos, "store", d->store_all,
                 " (changed in the POS since the last sync?)");
    if (known(d->feed) && d->feed != feed_want)
        mismatch(&fl, "feed", d->feed, "store", feed_want,
                 " expected (feed older than the store?)");
    if (known(d->sent) && d->sent != sent_want)
        mismatch(&fl, "sent", d->sent, known(d->feed) ? "feed" : "store",
                 sent_want, " expected (not pushed yet?)");
    if (known(d->klaviyo) && known(d->sent) && d->klaviyo != d->sent)
        mismatch(&fl, "klaviyo", d->klaviyo, "sent", d->sent,
                 d->klaviyo < d->sent ? " (events missing in Klaviyo)"
                                      : " (events posfeed did not send)");
    d->explained = ex.len ? xstrdup(ex.data) : NULL;
    d->flagged = fl.len ? xstrdup(fl.data) : NULL;
    pf_buf_free(&ex);
    pf_buf_free(&fl);
}

/* ---- the run ------------------------------------------------------------ */

static int
store_args_of(const struct pf_config *cfg, const struct pf_feed_cfg *fc,
              int64_t now, struct store_args *a, struct pf_err *err)
{
    const struct pf_push_klaviyo *k = &cfg->klaviyo;

    a->ss = fc != NULL ? &fc->sync : &cfg->sync;
    a->cutoff = INT64_MIN;
    a->since = INT64_MIN;
    if (!a->ss->lookback_all &&
        pf_tz_start_of_span_ago(now, cfg->timezone, a->ss->lookback_n,
                                a->ss->lookback_unit, &a->cutoff,
                                err) != 0)
        return -1;
    if (k->set && pf_tz_start_of_span_ago(now, cfg->timezone, k->since_n,
                                          k->since_unit, &a->since,
                                          err) != 0)
        return -1;
    return 0;
}

/* The columns the store answers: store, and sent from the ledger. */
static int
store_columns(const struct pf_config *cfg, struct store *s,
              const struct store_args *a, struct verify_report *r,
              struct pf_err *err)
{
    int pushing = cfg->klaviyo.set && (cfg->klaviyo.events & PF_PUSH_PLACED);
    size_t d;

    for (d = 0; d < r->ndays; d++) {
        r->days[d].sent = VERIFY_NA;
        if (store_day(s, a, &r->days[d], err) != 0 ||
            (pushing && ledger_day(s, &r->days[d], err) != 0))
            return -1;
    }
    return 0;
}

int
verify_run(const struct pf_config *cfg, struct store *s, int ndays,
           const struct http_opts *http, struct verify_report *r,
           struct pf_err *err)
{
    const struct pf_feed_cfg *fc = events_feed(cfg);
    int64_t *bounds = xcalloc((size_t)ndays + 1, sizeof(*bounds));
    struct store_args a;
    size_t d;
    int rc = -1;

    memset(r, 0, sizeof(*r));
    r->run_at = pf_time_now();
    r->timezone = xstrdup(cfg->timezone);
    r->feed = fc != NULL ? xstrdup(fc->name) : NULL;
    r->ndays = (size_t)ndays;
    r->days = xcalloc(r->ndays, sizeof(*r->days));
    if (day_bounds(cfg->timezone, r->run_at, r->ndays, bounds, err) != 0 ||
        store_args_of(cfg, fc, r->run_at, &a, err) != 0)
        goto cleanup;
    for (d = 0; d < r->ndays; d++) {
        char local[40];

        r->days[d].start = bounds[d];
        r->days[d].end = bounds[d + 1];
        r->days[d].klaviyo = VERIFY_NA;
        pf_time_iso_local(bounds[d], cfg->timezone, local);
        memcpy(r->days[d].date, local, 10);
    }
    if (store_columns(cfg, s, &a, r, err) != 0)
        goto cleanup;
    pos_column(cfg, bounds, r);
    feed_column(cfg, fc, bounds, r);
    if (r->ndays > 0 && r->days[0].sent != VERIFY_NA)
        klaviyo_column(cfg, http, bounds, r);
    for (d = 0; d < r->ndays; d++) {
        judge(&r->days[d]);
        r->nflagged += r->days[d].flagged != NULL;
    }
    rc = 0;
cleanup:
    free(bounds);
    return rc;
}

void
verify_report_free(struct verify_report *r)
{
    size_t d;

    for (d = 0; d < r->ndays; d++) {
        free(r->days[d].explained);
        free(r->days[d].flagged);
    }
    free(r->days);
    free(r->timezone);
    free(r->feed);
    free(r->klaviyo_tz);
    free(r->warning);
    free(r->error);
    memset(r, 0, sizeof(*r));
}
