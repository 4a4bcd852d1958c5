/* feed_multi.c - see feed.h: many feeds in one build, in worker threads,
 * with one shared scan per group of feeds that read the same rows.
 *
 * The work is cut into jobs: a feed alone, or a group of feeds sharing a
 * scan (feed_share.h). Workers (one per core) take jobs in turn; a group
 * runs its producer and one thread per feed at once, as the scan waits
 * for its slowest feed. Results come back to the calling thread, which
 * hands them on in the feeds' order.
 */
#include "feed.h"

#include <libxml/parser.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "feed_int.h"
#include "feed_share.h"
#include "log.h"
#include "rows.h"
#include "store.h"
#include "template.h"
#include "timeutil.h"

/* More workers than this would only add store caches and buffers: the
 * feeds of a group already run side by side. */
#define MAX_WORKERS 4

struct job {
    size_t *feeds;          /* indexes into fcs, in their order */
    size_t n;
    const char *family;     /* the shared scan; NULL: one feed alone */
};

struct multi {
    const struct pf_config *cfg;
    const struct pf_feed_cfg *const *fcs;
    size_t n;
    int force;
    struct feed_outcome *out;   /* by feed */
    int *done;                  /* by feed: out[i] is final */
    struct job *jobs;
    size_t njobs, next_job;
    int stop;                   /* the store is damaged: start no job */
    int workers;                /* still running */
    int64_t rows_read[COLL_PAGES + 1];
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* a feed is done or a worker ended */
};

/* ---- grouping ----------------------------------------------------------- */

static int
same_list(const struct pf_strlist *a, const struct pf_strlist *b)
{
    size_t i;

    if (a->n != b->n)
        return 0;
    for (i = 0; i < a->n; i++)
        if (strcmp(a->items[i], b->items[i]) != 0)
            return 0;
    return 1;
}

/* Rows built with a and with b are the same (rows_*.c read nothing else
 * of a feed's settings). */
static int
same_settings(const struct pf_sync_settings *a,
              const struct pf_sync_settings *b)
{
    return a->attributes == b->attributes &&
           same_list(&a->custom_attributes, &b->custom_attributes) &&
           a->lookback_all == b->lookback_all &&
           (a->lookback_all || (a->lookback_n == b->lookback_n &&
                                a->lookback_unit == b->lookback_unit)) &&
           same_list(&a->accepted_order_statuses,
                     &b->accepted_order_statuses) &&
           a->include_out_of_stock == b->include_out_of_stock &&
           a->collect_emails == b->collect_emails &&
           a->include_customers == b->include_customers &&
           a->include_variants == b->include_variants &&
           a->include_variant_stock == b->include_variant_stock &&
           a->variant_stock_tracking == b->variant_stock_tracking &&
           a->include_hidden_categories == b->include_hidden_categories &&
           a->include_ratings == b->include_ratings &&
           a->include_pages == b->include_pages &&
           a->include_free_products == b->include_free_products;
}

/* The scan fc's first collection could share, or NULL: rules change
 * rows, so a feed with rules reads alone, and so does a feed whose
 * template does not load (its build reports why). */
static const char *
share_family(const struct pf_feed_cfg *fc)
{
    struct pf_err err = {{0}};
    struct tpl *t = NULL;
    const char *fam = NULL;

    if (fc->nrules > 0 || tpl_load(fc->template_path, &t, &err) != 0)
        return NULL;
    if (tpl_ncollections(t) > 0)
        fam = feed_scan_family(tpl_collection(t, 0));
    tpl_free(t);
    return fam;
}

static void
job_add(struct job *j, size_t feed)
{
    j->feeds = xrealloc(j->feeds, (j->n + 1) * sizeof(*j->feeds));
    j->feeds[j->n++] = feed;
}

/* Cuts the feeds into jobs: each feed joins the first group of its
 * family and settings, else starts one. Groups go first, biggest first:
 * they are the longest jobs, and the lone feeds fill in around them. */
static void
plan(struct multi *m)
{
    struct job *jobs = xcalloc(m->n + 1, sizeof(*jobs));
    size_t i, k, nj = 0;

    for (i = 0; i < m->n; i++) {
        const char *fam = share_family(m->fcs[i]);

        for (k = 0; fam != NULL && k < nj; k++)
            if (jobs[k].family != NULL &&
                strcmp(jobs[k].family, fam) == 0 &&
                same_settings(&m->fcs[jobs[k].feeds[0]]->sync,
                              &m->fcs[i]->sync))
                break;
        if (fam == NULL || k == nj) {
            k = nj++;
            jobs[k].family = fam;
        }
        job_add(&jobs[k], i);
    }
    m->jobs = xcalloc(nj + 1, sizeof(*m->jobs));
    for (i = 0; i < nj; i++)
        if (jobs[i].n == 1)
            jobs[i].family = NULL;
    /* A stable order: groups by size, then lone feeds as configured. */
    for (k = m->n; k >= 1; k--)
        for (i = 0; i < nj; i++)
            if (jobs[i].n == k)
                m->jobs[m->njobs++] = jobs[i];
    free(jobs);
}

/* ---- running ------------------------------------------------------------ */

/* Builds feed i with a store connection of its own (seat of sh, when
 * sh is not NULL), and marks it done. */
static void
build_one(struct multi *m, size_t i, struct feed_share *sh, int seat)
{
    const struct pf_feed_cfg *fc = m->fcs[i];
    struct feed_outcome *o = &m->out[i];
    int64_t rows[COLL_PAGES + 1] = {0};
    struct feed_build_opts opt;
    struct store *s = NULL;
    int k;

    memset(&opt, 0, sizeof(opt));
    opt.tz_held = 1;
    opt.share = sh;
    opt.share_seat = seat;
    opt.rows_read = rows;
    /* Alone or sharing, a feed reads the store in key order: the small
     * cache costs it no reads, and several connections are open. */
    if (feed_share_store_open(m->cfg->store_path, &s, &o->err) != 0) {
        o->rc = -1;
        pf_err_prefix(&o->err, "feed '%s'", fc->name);
        if (sh != NULL)
            feed_share_leave(sh, seat);
    }
    else {
        o->rc = feed_build_opt(m->cfg, fc, s, m->force, &opt, &o->res,
                               &o->err);
    }
    o->damaged = s != NULL && store_damaged(s);
    store_close(s);
    pthread_mutex_lock(&m->mu);
    for (k = 0; k <= COLL_PAGES; k++)
        m->rows_read[k] += rows[k];
    m->done[i] = 1;
    m->stop |= o->damaged;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

struct seat {
    struct multi *m;
    size_t feed;
    struct feed_share *sh;
    int seat;
    int started;
    pthread_t thread;
};

static void *
seat_main(void *arg)
{
    struct seat *st = arg;

    build_one(st->m, st->feed, st->sh, st->seat);
    return NULL;
}

/* A group: the producer and every feed at once. A feed whose thread
 * cannot start leaves the scan and is built alone afterwards; without a
 * producer, all are. */
static void
run_group(struct multi *m, const struct job *j)
{
    struct feed_share *sh = feed_share_new(m->cfg, m->fcs[j->feeds[0]],
                                           j->family, (int)j->n);
    struct seat *seats = xcalloc(j->n, sizeof(*seats));
    pthread_t producer;
    int have_producer;
    size_t k;

    have_producer = pthread_create(&producer, NULL, feed_share_run,
                                   sh) == 0;
    for (k = 0; have_producer && k < j->n; k++) {
        seats[k].m = m;
        seats[k].feed = j->feeds[k];
        seats[k].sh = sh;
        seats[k].seat = (int)k;
        seats[k].started = pthread_create(&seats[k].thread, NULL,
                                          seat_main, &seats[k]) == 0;
        if (!seats[k].started)
            feed_share_leave(sh, (int)k);
    }
    for (k = 0; k < j->n; k++)
        if (seats[k].started)
            pthread_join(seats[k].thread, NULL);
    if (have_producer) {
        pthread_join(producer, NULL);
        pthread_mutex_lock(&m->mu);
        feed_share_rows_read(sh, m->rows_read);
        pthread_mutex_unlock(&m->mu);
    }
    for (k = 0; k < j->n; k++)
        if (!seats[k].started)
            build_one(m, j->feeds[k], NULL, 0);
    feed_share_free(sh);
    free(seats);
}

static void *
worker(void *arg)
{
    struct multi *m = arg;
    const struct job *j;
    size_t k;

    for (;;) {
        pthread_mutex_lock(&m->mu);
        j = m->stop || m->next_job == m->njobs ? NULL
                                               : &m->jobs[m->next_job++];
        pthread_mutex_unlock(&m->mu);
        if (j == NULL)
            break;
        if (j->family != NULL)
            run_group(m, j);
        else
            for (k = 0; k < j->n; k++)
                build_one(m, j->feeds[k], NULL, 0);
    }
    pthread_mutex_lock(&m->mu);
    m->workers--;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

/* ---- the build ---------------------------------------------------------- */

/* `build -v`: how many rows the build read from the store, so that a
 * shared scan shows (products read once, not once per feed). Events
 * read orders with lookups of their own and are not counted. */
static void
log_rows_read(const struct multi *m)
{
    static const char *const names[] = {"products", "categories",
                                        "orders", "customers", NULL,
                                        NULL, "pages"};
    char line[512] = "";
    size_t k, len = 0, groups = 0, shared = 0;

    for (k = 0; k <= COLL_PAGES; k++)
        if (names[k] != NULL && m->rows_read[k] > 0 && len < sizeof(line))
            len += (size_t)snprintf(line + len, sizeof(line) - len,
                                    "%s%s %lld", len ? ", " : "",
                                    names[k], (long long)m->rows_read[k]);
    for (k = 0; k < m->njobs; k++)
        if (m->jobs[k].family != NULL) {
            groups++;
            shared += m->jobs[k].n;
        }
    log_debug("build: store rows read: %s (%zu feeds; %zu read from %zu "
              "shared scan%s)", len ? line : "none", m->n, shared, groups,
              groups == 1 ? "" : "s");
}

static int
worker_count(size_t njobs)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int n = cpus < 1 ? 1 : cpus > MAX_WORKERS ? MAX_WORKERS : (int)cpus;

    return (size_t)n > njobs ? (int)njobs : n;
}

/* Hands each outcome on in the feeds' order as soon as it is final. */
static int
report(struct multi *m, feed_done_fn *done, void *arg)
{
    size_t i;
    int failed = 0, ok;

    for (i = 0; i < m->n; i++) {
        pthread_mutex_lock(&m->mu);
        while (!m->done[i] && m->workers > 0)
            pthread_cond_wait(&m->cv, &m->mu);
        ok = m->done[i];
        pthread_mutex_unlock(&m->mu);
        if (!ok || m->out[i].rc != 0)
            failed++;
        if (ok)
            done(arg, m->fcs[i], &m->out[i]);
    }
    return failed;
}

int
feed_build_all(const struct pf_config *cfg,
               const struct pf_feed_cfg *const *fcs, size_t n, int force,
               feed_done_fn *done, void *arg)
{
    struct multi m;
    pthread_t threads[MAX_WORKERS];
    int want, nthreads = 0, failed, i;
    size_t k;

    memset(&m, 0, sizeof(m));
    m.cfg = cfg;
    m.fcs = fcs;
    m.n = n;
    m.force = force;
    m.out = xcalloc(n + 1, sizeof(*m.out));
    m.done = xcalloc(n + 1, sizeof(*m.done));
    pthread_mutex_init(&m.mu, NULL);
    pthread_cond_init(&m.cv, NULL);
    plan(&m);
    /* What libxml2 and the zone need set up once, before threads. */
    xmlInitParser();
    pf_tz_hold(cfg->timezone);
    want = worker_count(m.njobs);
    m.workers = want;
    for (i = 0; i < want; i++)
        if (pthread_create(&threads[nthreads], NULL, worker, &m) == 0)
            nthreads++;
    pthread_mutex_lock(&m.mu);
    m.workers -= want - nthreads;
    pthread_mutex_unlock(&m.mu);
    if (nthreads == 0 && want > 0) {
        m.workers = 1;
        worker(&m);
    }
    failed = report(&m, done, arg);
    for (i = 0; i < nthreads; i++)
        pthread_join(threads[i], NULL);
    pf_tz_release();
    log_rows_read(&m);
    for (k = 0; k < m.njobs; k++)
        free(m.jobs[k].feeds);
    free(m.jobs);
    free(m.out);
    free(m.done);
    pthread_mutex_destroy(&m.mu);
    pthread_cond_destroy(&m.cv);
    return failed;
}
