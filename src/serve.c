/* serve.c - see serve.h.
 *
 * Threads: libmicrohttpd answers requests on its own polling threads; the
 * main thread only waits for signals (sigtimedwait, so no handler runs
 * async), ticks the run pool (serve_pool.h: it reaps and starts runs and
 * reports them here), follows the schedules, refreshes each shop's cached
 * list of published feeds from its store and, with many shops, rescans
 * the shops folder (SIGHUP, inotify). The state of one shop is a struct
 * shop (serve_shop.h) behind its own locks; what belongs to the server as
 * a whole (listener, TLS, request deadlines, counters, pool, the shops)
 * is here.
 *
 * One shop (`-c posfeed.conf serve`) is a server with a single shop at
 * the root URLs; many shops (`serve --shops DIR` or a server config with
 * [serve] shops) put each under /SHOP/ with the same URLs below it, and
 * the root shows them all (serve_shops.h).
 *
 * Feeds are served only when they are rows of the store's feeds table,
 * from the feeds cache (serve_cache.h) by serve_file.c; the status pages
 * and /metrics are gathered by serve_report.c and rendered by
 * serve_page.c from a document that, without the token, holds only what
 * anyone may see (status_public). Every answer is queued through
 * serve_http.c, which counts it and meets its request's deadline.
 * Requests are read by serve_req.c (pure functions, fuzzed); every
 * connection has a request deadline kept by serve_conn.c and enforced by
 * the main loop. Here: the tokens, the routes, the runs this server
 * queues, the listener, signals, reloads and the main loop.
 */
/* realpath() is an XSI interface. */
#define _XOPEN_SOURCE 700

#include "serve.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "serve_clerk.h"
#include "serve_conn.h"
#include "serve_file.h"
#include "serve_http.h"
#include "serve_listen.h"
#include "serve_pool.h"
#include "serve_report.h"
#include "serve_req.h"
#include "serve_shop.h"
#include "serve_shops.h"
#include "serve_tls.h"
#include "source.h"
#include "timeutil.h"
#include "util.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define SINGLE_HISTORY 64   /* runs /runs/N remembers with one shop */

struct server {
    struct shop_env env;
    const char *listen_arg; /* --listen, or NULL for [serve] listen */
    const char *shops_arg;  /* --shops DIR, or NULL */

    /* One shop: it, and its config holds the server's settings. */
    struct shop *single;
    /* Many shops: the server config (NULL with --shops alone: the
     * defaults), the admin token, the shops. */
    char *server_path;      /* absolute, NULL with --shops */
    struct pf_config *server_cfg;
    struct pf_serve_cfg defaults;   /* --shops without a server config */
    pthread_rwlock_t admin_lock;
    char *admin_token;      /* NULL when none is configured */
    struct shop_set *shops;

    struct run_pool *pool;
    int64_t run_timeout_s;
    pthread_t main_thread;  /* woken by POST /sync (SIGUSR1) */
    pthread_mutex_t sync_mu;    /* queue_run says why */

    /* Request deadlines, TLS (fixed at start) and the answers'
     * counters, which every answer goes through (serve_http.h). */
    struct resp_ctx resp;
    struct MHD_Daemon *d;
};

/* The [serve] settings of the server as a whole: the single shop's config
 * or the server config. Main thread only. */
static const struct pf_serve_cfg *
srv_cfg(const struct server *s)
{
    if (s->single != NULL)
        return &s->single->cfg->serve;
    return s->server_cfg != NULL ? &s->server_cfg->serve : &s->defaults;
}

/* ---- clock -------------------------------------------------------------- */

/* Wall clock of the server. POSFEED_NOW pins its start (as for every
 * command) and the test-only POSFEED_SERVE_CLOCK_SPEED makes it run
 * faster, so a test can watch a daily schedule fire within seconds. */
static int64_t
srv_now(struct server *s)
{
    return shop_now(&s->env);
}

/* ---- small helpers ----------------------------------------------------- */

/* Constant time whatever the lengths: both sides are hashed first, so
 * neither the content nor the length of the token leaks through timing. */
static int
secret_eq(const char *given, size_t n, const char *token)
{
    unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];

    SHA256((const unsigned char *)given, n, a);
    SHA256((const unsigned char *)token, strlen(token), b);
    return CRYPTO_memcmp(a, b, sizeof a) == 0;
}

/* Authorization: Bearer T, Basic base64(user:T), or ?token=T. */
static int
token_ok(struct MHD_Connection *c, const char *token)
{
    const char *q;
    char *given;
    size_t n;
    int ok = 0;

    if (token == NULL || *token == '\0')
        return 0;
    if (req_credential(MHD_lookup_connection_value(
                           c, MHD_HEADER_KIND,
                           MHD_HTTP_HEADER_AUTHORIZATION),
                       &given, &n) == 0) {
        ok |= secret_eq(given, n, token);
        OPENSSL_cleanse(given, n);
        free(given);
    }
    q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
    if (q != NULL)
        ok |= secret_eq(q, strlen(q), token);
    return ok;
}

/* The shop's token or the agency's admin token (many shops); sh NULL:
 * the admin token only. Both are checked every time, so the time taken
 * does not tell which matched. */
static int
authorized(struct server *s, struct shop *sh, struct MHD_Connection *c)
{
    int ok = 0;

    if (sh != NULL) {
        pthread_rwlock_rdlock(&sh->cfg_lock);
        ok |= token_ok(c, sh->token);
        pthread_rwlock_unlock(&sh->cfg_lock);
    }
    pthread_rwlock_rdlock(&s->admin_lock);
    ok |= token_ok(c, s->admin_token);
    pthread_rwlock_unlock(&s->admin_lock);
    return ok;
}

/* ---- connections ------------------------------------------------------ */

/* Per-request state: made by the URI log callback, handed to the access
 * handler as *con_cls, freed when the request completes. */
struct req_state {
    const char *raw;        /* the request target as received */
    size_t raw_len;         /* up to its first NUL */
    int nul_escaped;        /* "%00" in the path */
    int started;            /* the handler has seen the headers */
};

/* Every connection gets a request deadline from the moment it is
 * accepted (serve_conn.h). */
static void
on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
              enum MHD_ConnectionNotificationCode code)
{
    struct server *s = cls;
    const union MHD_ConnectionInfo *ci;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = ci == NULL ? NULL
                          : conn_watch_add(s->resp.watch, ci->connect_fd,
                                           pf_now_mono());
        return;
    }
    if (s->resp.tls) {
        ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
        serve_tls_session_closed(ci != NULL ? ci->tls_session : NULL);
    }
    conn_watch_remove(s->resp.watch, *socket_context);
    *socket_context = NULL;
}

/* A response is sent (or the request died): the next request on this
 * connection (keep-alive) must arrive within the deadline too. */
static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    struct server *s = cls;

    (void)toe;
    free(*con_cls);
    *con_cls = NULL;
    conn_watch_rearm(s->resp.watch, resp_conn(c), pf_now_mono());
}

/* Sees the request target before MHD decodes it in place, where "%00"
 * would cut the path short. */
static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    struct req_state *r = xcalloc(1, sizeof(*r));

    (void)cls;
    (void)c;
    r->raw = uri;
    r->raw_len = strlen(uri);
    r->nul_escaped = req_raw_path_has_nul(uri);
    return r;
}

/* 1 if the request target held a NUL, escaped or raw. MHD 0.9.75 hands
 * the target over as a C string, so a raw NUL byte cuts it silently; but
 * the target lies in MHD's buffer right before the space that precedes
 * the version, so when the handler's url is that same buffer and the
 * target's string ends short of that space, a NUL cut it. (If a later
 * MHD copies the strings, the pointers differ and only "%00" is seen.) */
static int
target_has_nul(const struct req_state *r, const char *url,
               const char *version)
{
    if (r->nul_escaped)
        return 1;
    return url == r->raw && *version != '\0' &&
           r->raw + r->raw_len != version - 1;
}

/* resp_send() for serve_clerk.c (shop_env.respond). */
static enum MHD_Result
clerk_respond(void *arg, struct MHD_Connection *c, unsigned code,
              struct MHD_Response *r)
{
    return resp_send(arg, c, code, r);
}

/* What the status pages and /metrics read of the server. */
static struct report_src
src_of(struct server *s)
{
    return (struct report_src){.resp = &s->resp, .env = &s->env,
                               .single = s->single, .shops = s->shops,
                               .pool = s->pool};
}

/* ---- runs --------------------------------------------------------------- */

/* Queues a run of sh; the pool starts it at the next tick, which a POST
 * /sync brings forward (SIGUSR1). Returns the shop's run id, or 0: *busy
 * is then the run already queued or going (0: the pool refused). sync_mu
 * makes "is one going" and "queue one" a single step, and keeps the
 * pool's start report from overtaking the record of the queued run. */
static int
queue_run(struct server *s, struct shop *sh, const char *trigger,
          int *busy)
{
    int job, id = 0;

    pthread_mutex_lock(&s->sync_mu);
    *busy = shop_run_current(sh);
    if (*busy == 0) {
        job = pool_submit(s->pool, sh, sh->config_path, trigger,
                          srv_now(s));
        if (job > 0)
            id = shop_run_queue(sh, job, trigger, srv_now(s));
    }
    pthread_mutex_unlock(&s->sync_mu);
    return id;
}

/* The pool's reports (main thread, serve_pool.h pool_tick). */
static void
on_run_start(void *arg, const struct pool_event *e)
{
    struct server *s = arg;

    pthread_mutex_lock(&s->sync_mu);
    shop_run_started(e->owner, e->job, e->pid, e->started_at);
    pthread_mutex_unlock(&s->sync_mu);
}

static void
on_run_end(void *arg, const struct pool_event *e)
{
    struct server *s = arg;

    shop_run_ended(e->owner, e->job, e->exit_code, e->timed_out,
                   e->ended_at, s->run_timeout_s);
}

static enum MHD_Result
post_sync(struct server *s, struct shop *sh, struct MHD_Connection *c,
          const char *prefix)
{
    cJSON *o;
    char loc[112];
    int id, busy;

    if (!authorized(s, sh, c))
        return resp_unauthorized(&s->resp, c);
    o = cJSON_CreateObject();
    id = queue_run(s, sh, "api", &busy);
    if (busy) {
        cJSON_AddStringToObject(o, "error", "a run is already going");
        cJSON_AddNumberToObject(o, "run", busy);
        return resp_json(&s->resp, c, MHD_HTTP_CONFLICT, o);
    }
    if (id == 0) {
        cJSON_AddStringToObject(o, "error", "could not start a run");
        return resp_json(&s->resp, c, MHD_HTTP_INTERNAL_SERVER_ERROR, o);
    }
    pthread_kill(s->main_thread, SIGUSR1);
    if (s->single != NULL)
        shop_run_wait_started(sh, id, 5);
    snprintf(loc, sizeof loc, "%s/runs/%d", prefix, id);
    cJSON_AddNumberToObject(o, "run", id);
    cJSON_AddStringToObject(o, "url", loc);
    return resp_json(&s->resp, c, MHD_HTTP_ACCEPTED, o);
}

static enum MHD_Result
get_run(struct server *s, struct shop *sh, struct MHD_Connection *c,
        const char *idstr)
{
    char *end;
    long id = strtol(idstr, &end, 10);
    cJSON *o = NULL;

    if (*idstr && *end == '\0' && id > 0 && id < 1000000000)
        o = shop_run_json(sh, (int)id, authorized(s, sh, c));
    if (o == NULL)
        return resp_text(&s->resp, c, MHD_HTTP_NOT_FOUND,
                         "404 no such run\n");
    return resp_json(&s->resp, c, MHD_HTTP_OK, o);
}

/* ---- dispatch ----------------------------------------------------------- */

/* GET/HEAD /feeds/REL. The token is checked for every request, so the
 * time taken does not tell a token feed from an unknown name. */
static enum MHD_Result
get_feed(struct server *s, struct shop *sh, struct MHD_Connection *c,
         const char *rel, int head)
{
    return file_serve_feed(&s->resp, sh, c, rel, head,
                           authorized(s, sh, c));
}

static enum MHD_Result
get_status(struct server *s, struct shop *sh, struct MHD_Connection *c,
           int html, const char *prefix)
{
    struct report_src src = src_of(s);

    return report_status(&src, sh, c, html, prefix, authorized(s, sh, c));
}

/* Many shops: the overview at the root; the admin token shows detail. */
static enum MHD_Result
get_overview(struct server *s, struct MHD_Connection *c, int html)
{
    struct report_src src = src_of(s);

    return report_overview(&src, c, html, authorized(s, NULL, c));
}

/* With one shop its token shows detail, with many the admin token. */
static enum MHD_Result
get_metrics(struct server *s, struct MHD_Connection *c)
{
    struct report_src src = src_of(s);

    return report_metrics(&src, c, authorized(s, s->single, c));
}

/* What a shop answers below its prefix ("" for the single shop, "/SHOP"
 * for one of many): url is what follows the prefix. */
static enum MHD_Result
shop_routes(struct server *s, struct shop *sh, struct MHD_Connection *c,
            const char *url, const char *prefix, const char *method)
{
    struct resp_ctx *x = &s->resp;
    int head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    int get = head || strcmp(method, MHD_HTTP_METHOD_GET) == 0;

    if (strncmp(url, "/feeds/", 7) == 0)
        return get ? get_feed(s, sh, c, url + 7, head)
                   : resp_not_allowed(x, c, "GET, HEAD");
    if (strncmp(url, "/clerk/v2/", 10) == 0)
        return get ? clerk_handle(sh->clerk, c, url + 10, head)
                   : resp_not_allowed(x, c, "GET, HEAD");
    if (strcmp(url, "/sync") == 0)
        return strcmp(method, MHD_HTTP_METHOD_POST) == 0
                   ? post_sync(s, sh, c, prefix)
                   : resp_not_allowed(x, c, "POST");
    if (strncmp(url, "/runs/", 6) == 0)
        return get ? get_run(s, sh, c, url + 6)
                   : resp_not_allowed(x, c, "GET, HEAD");
    if (strcmp(url, "/") == 0 || strcmp(url, "/status.json") == 0)
        return get ? get_status(s, sh, c, url[1] == '\0', prefix)
                   : resp_not_allowed(x, c, "GET, HEAD");
    return resp_text(x, c, MHD_HTTP_NOT_FOUND, "404 not found\n");
}

/* /SHOP/...: that shop's routes; a shop whose file never loaded answers
 * 503 (its error is on the admin's overview and in the log). */
static enum MHD_Result
one_of_many(struct server *s, struct MHD_Connection *c, const char *url,
            const char *method)
{
    const char *name = url + 1, *rest = strchr(name, '/');
    struct shop *sh;
    char prefix[80];
    enum MHD_Result ret;

    if (rest == NULL || !shops_name_ok(name, (size_t)(rest - name)) ||
        (sh = shops_get(s->shops, name, (size_t)(rest - name))) == NULL)
        return resp_text(&s->resp, c, MHD_HTTP_NOT_FOUND,
                         "404 not found\n");
    snprintf(prefix, sizeof prefix, "/%s", sh->name);
    ret = shop_loaded(sh) ? shop_routes(s, sh, c, rest, prefix, method)
                 : resp_text(&s->resp, c, MHD_HTTP_SERVICE_UNAVAILABLE,
                             "503 this shop's config was refused; the "
                             "server log says why\n");
    shops_put(sh);
    return ret;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url,
       const char *method, const char *version, const char *upload,
       size_t *upload_size, void **con_cls)
{
    struct server *s = cls;
    struct resp_ctx *x = &s->resp;
    struct req_state *r = *con_cls;
    int head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    int get = head || strcmp(method, MHD_HTTP_METHOD_GET) == 0;
    int root;

    (void)upload;
    /* First call: headers only. A body (none is expected) is read and
     * dropped; the request deadline bounds how long that may take. */
    if (r == NULL)
        return MHD_NO;      /* no URI callback: cannot happen */
    if (!r->started) {
        r->started = 1;
        return target_has_nul(r, url, version)
                   ? resp_text(x, c, MHD_HTTP_BAD_REQUEST,
                               "400 a NUL byte in the request target\n")
                   : MHD_YES;
    }
    if (*upload_size != 0) {
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/healthz") == 0 || strcmp(url, "/metrics") == 0) {
        if (!get)
            return resp_not_allowed(x, c, "GET, HEAD");
        return url[1] == 'h' ? resp_text(x, c, MHD_HTTP_OK, "ok\n")
                             : get_metrics(s, c);
    }
    if (s->single != NULL)
        return shop_routes(s, s->single, c, url, "", method);
    root = strcmp(url, "/") == 0;
    if (root || strcmp(url, "/status.json") == 0)
        return get ? get_overview(s, c, root)
                   : resp_not_allowed(x, c, "GET, HEAD");
    return one_of_many(s, c, url, method);
}

/* SIGHUP: a renewed certificate is taken for new handshakes; running
 * transfers keep the pair they started with (serve_tls.h). A pair that
 * does not load leaves the one in use. */
static void
reload_tls(struct server *s)
{
    struct pf_err err = {{0}};
    int want = srv_cfg(s)->tls_cert != NULL;

    if (want != s->resp.tls) {
        log_warn("[serve] tls_cert/tls_key %s: restart posfeed serve to "
                 "switch between HTTP and HTTPS", want ? "set" : "removed");
        return;
    }
    if (!s->resp.tls)
        return;
    if (listen_load_cert(srv_cfg(s), srv_now(s), &err) != 0)
        log_error("certificate reload refused, still serving the previous "
                  "one: %s", err.msg);
}

/* Binds the listener with the request hooks above. */
static int
start_http(struct server *s)
{
    struct listen_opts o = {
        .listen_arg = s->listen_arg, .sc = srv_cfg(s), .tls = s->resp.tls,
        .handler = handle, .on_connection = on_connection,
        .on_completed = on_completed, .on_uri = on_uri, .cls = s,
    };

    s->d = listen_start(&o);
    return s->d != NULL ? 0 : -1;
}

static int
parse_args(struct server *s, int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            s->listen_arg = argv[++i];
        }
        else if (strncmp(argv[i], "--listen=", 9) == 0) {
            s->listen_arg = argv[i] + 9;
        }
        else if (strcmp(argv[i], "--shops") == 0 && i + 1 < argc) {
            s->shops_arg = argv[++i];
        }
        else if (strncmp(argv[i], "--shops=", 8) == 0) {
            s->shops_arg = argv[i] + 8;
        }
        else {
            fprintf(stderr, "posfeed serve: unexpected argument '%s'\n"
                    "usage: posfeed [-c FILE] serve [--shops DIR] "
                    "[--listen ADDR:PORT]\n", argv[i]);
            return -1;
        }
    }
    return 0;
}

static int
init_clock(struct server *s)
{
    const char *sp = getenv("POSFEED_SERVE_CLOCK_SPEED");

    s->env.clock_base = pf_time_now();
    s->env.mono_base = pf_now_mono();
    s->env.speed = 1;
    if (sp != NULL && *sp) {
        char *end;
        double v = strtod(sp, &end);

        if (*end != '\0' || v < 1 || v > 100000) {
            log_error("POSFEED_SERVE_CLOCK_SPEED: expected a number from 1 "
                      "to 100000, got '%.40s'", sp);
            return -1;
        }
        s->env.speed = v;
        log_warn("test clock: time runs %gx", v);
    }
    return 0;
}

/* Cuts the connections past their request deadline (serve_conn.h). The
 * log says so at most once a minute: an attack must not flood it. */
static void
sweep(struct server *s, double *logged_at, unsigned long *unlogged)
{
    double now = pf_now_mono();
    int n = conn_watch_sweep(s->resp.watch, now);

    if (n > 0) {
        atomic_fetch_add_explicit(&s->resp.cut, (unsigned long)n,
                                  memory_order_relaxed);
        *unlogged += (unsigned long)n;
    }
    if (*unlogged > 0 && now - *logged_at >= 60) {
        log_warn("closed %lu connection(s) whose request was not in "
                 "within [serve] header_timeout (slow or stalled "
                 "clients)", *unlogged);
        *unlogged = 0;
        *logged_at = now;
    }
}

/* ---- config and reload -------------------------------------------------- */

/* The admin token of a server config ([serve] token / token_file). */
static int
read_admin_token(struct server *s, const struct pf_config *cfg,
                 struct pf_err *err)
{
    char *token = NULL, *old;

    if (pf_secret_is_set(&cfg->serve.token) &&
        pf_secret_read(&cfg->serve.token, &token, err) != 0) {
        pf_err_prefix(err, "%s: [serve] token", cfg->path);
        return -1;
    }
    pthread_rwlock_wrlock(&s->admin_lock);
    old = s->admin_token;
    s->admin_token = token;
    pthread_rwlock_unlock(&s->admin_lock);
    if (old != NULL)
        OPENSSL_cleanse(old, strlen(old));
    free(old);
    return 0;
}

/* SIGHUP with one shop: its config again; one that does not load keeps
 * the running one. */
static void
reload_single(struct server *s)
{
    struct pf_err err = {{0}};

    if (shop_load(s->single, 1, NULL, &err) != 0) {
        log_error("reload refused, keeping the running config: %s",
                  err.msg);
        return;
    }
    conn_watch_set_limit(s->resp.watch, srv_cfg(s)->header_timeout_s);
    shop_plan(s->single, srv_now(s));
    log_info("reloaded %s", s->single->config_path);
}

/* SIGHUP with many shops: the server config (its admin token and request
 * deadline; the rest takes a restart), then the shops folder. */
static void
reload_many(struct server *s)
{
    struct pf_err err = {{0}};
    struct pf_config *cfg = NULL;

    if (s->server_path != NULL) {
        if (pf_config_load(s->server_path, source_schema, &cfg, &err) != 0 ||
            cfg->serve.shops_dir == NULL || read_admin_token(s, cfg,
                                                             &err) != 0) {
            log_error("reload of the server config refused, keeping the "
                      "running one: %s", cfg != NULL && !*err.msg
                      ? "it has no [serve] shops any more" : err.msg);
            pf_config_free(cfg);
        }
        else {
            if (strcmp(cfg->serve.shops_dir,
                       s->server_cfg->serve.shops_dir) != 0 ||
                cfg->serve.workers != s->server_cfg->serve.workers)
                log_warn("[serve] shops or workers changed: restart "
                         "posfeed serve to use them");
            conn_watch_set_limit(s->resp.watch, cfg->serve.header_timeout_s);
            pf_config_free(s->server_cfg);
            s->server_cfg = cfg;
        }
    }
    if (shops_scan(s->shops, &err) != 0)
        log_error("rescan refused, the shops loaded keep running: %s",
                  err.msg);
}

/* ---- the main loop ------------------------------------------------------ */

/* A scheduled run that has come due is queued; one still going (or
 * queued) when the time comes delays it until it ends: runs of a shop
 * never overlap, and none is skipped. */
static void
follow_schedule(struct server *s, struct shop *sh, int64_t now)
{
    int64_t due;
    int busy;

    pthread_mutex_lock(&sh->mu);
    due = sh->next_run;
    pthread_mutex_unlock(&sh->mu);
    if (due < 0 || now < due || sh->removed || shop_run_current(sh))
        return;
    queue_run(s, sh, "schedule", &busy);
    shop_plan(sh, now > due ? now : due);
}

/* Every shop's schedule, Clerk sessions and (each second) feeds. */
static void
each_shop(struct server *s, int64_t now, int check_feeds)
{
    struct shop **v, *one[1];
    int i, n = 1;

    if (s->single != NULL) {
        one[0] = s->single;
        v = one;
    }
    else {
        v = shops_all(s->shops, &n);
    }
    for (i = 0; i < n; i++) {
        clerk_sweep(v[i]->clerk);
        follow_schedule(s, v[i], now);
        /* A publish by another process (posfeed build or run from a
         * shell or cron) shows within a second (serve_cache.h). */
        if (check_feeds)
            shop_check_stale(v[i]);
    }
    if (s->single == NULL)
        shops_put_all(v, n);
}

/* The pool's runs get the environment copied at pool_new (serve_pool.h),
 * so a status request switching TZ meanwhile cannot disturb a spawn. */
static void
tick_pool(struct server *s)
{
    pool_tick(s->pool, srv_now(s), on_run_start, on_run_end, s);
}

/* The main loop: signals, the pool, the schedules, the feeds caches,
 * request deadlines, the shops folder. Returns when SIGTERM or SIGINT
 * arrives. */
static void
main_loop(struct server *s, const sigset_t *set)
{
    struct timespec tick = {0, 100 * 1000 * 1000};
    double last_check = pf_now_mono(), cut_logged = -60;
    unsigned long cut_unlogged = 0;
    int sig, check;

    for (;;) {
        sig = sigtimedwait(set, NULL, &tick);
        sweep(s, &cut_logged, &cut_unlogged);
        if (sig == SIGTERM || sig == SIGINT) {
            log_info("signal %d: stopping", sig);
            return;
        }
        if (sig == SIGHUP) {
            if (s->single != NULL)
                reload_single(s);
            else
                reload_many(s);
            reload_tls(s);
        }
        else if (s->single == NULL && shops_watch_due(s->shops)) {
            reload_many(s);
        }
        tick_pool(s);
        check = pf_now_mono() - last_check >= 1.0;
        each_shop(s, srv_now(s), check);
        /* What a schedule queued starts now, not a tick later. */
        tick_pool(s);
        if (check) {
            if (s->single == NULL)
                shops_reap(s->shops);
            last_check = pf_now_mono();
        }
    }
}

/* ---- start and stop ----------------------------------------------------- */

/* One shop: the config given with -c. */
static int
start_single(struct server *s, const char *path, struct pf_err *err)
{
    const struct pf_serve_cfg *sc;

    s->single = shop_new("", path, &s->env, SINGLE_HISTORY, 0);
    if (shop_load(s->single, 1, NULL, err) != 0)
        return -1;
    sc = srv_cfg(s);
    if (s->single->token == NULL)
        log_warn("no [serve] token: feeds with access = token and POST "
                 "/sync answer 401");
    /* One run at a time, and no time limit unless the file sets one: a
     * first full sync of a big shop may take hours. */
    s->run_timeout_s = sc->run_timeout_s;
    s->pool = pool_new("/proc/self/exe", 1, s->run_timeout_s);
    shop_first_plan(s->single);
    return 0;
}

/* Many shops: --shops DIR, or a server config's [serve] shops. */
static int
start_many(struct server *s, struct pf_err *err)
{
    const struct pf_serve_cfg *sc;
    char *dir;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned workers;

    if (s->server_cfg == NULL)
        s->server_cfg = pf_config_server(s->shops_arg);
    else if (read_admin_token(s, s->server_cfg, err) != 0)
        return -1;
    sc = srv_cfg(s);
    dir = realpath(s->shops_arg != NULL ? s->shops_arg : sc->shops_dir,
                   NULL);
    if (dir == NULL) {
        pf_errf(err, "%s: %s", s->shops_arg != NULL ? s->shops_arg
                : sc->shops_dir, strerror(errno));
        return -1;
    }
    workers = sc->workers > 0 ? (unsigned)sc->workers
              : cpus > 0 ? (unsigned)cpus : 1u;
    s->run_timeout_s = sc->run_timeout_s > 0 ? sc->run_timeout_s : 3600;
    s->pool = pool_new("/proc/self/exe", workers, s->run_timeout_s);
    s->shops = shops_new(dir, &s->env, s->pool, sc->jitter_s);
    free(dir);
    if (s->admin_token == NULL)
        log_warn("no [serve] token in the server config: only each shop's "
                 "own token opens its detail");
    if (shops_scan(s->shops, err) != 0)
        return -1;
    shops_watch_open(s->shops);
    log_info("%s: serving the shops in it, %u worker(s)",
             s->shops_arg != NULL ? s->shops_arg : sc->shops_dir, workers);
    return 0;
}

/* -c FILE is one shop's config, or a server config with [serve] shops
 * (without --shops); --shops DIR needs no config. */
static int
load_server(struct server *s, const char *config_path, struct pf_err *err)
{
    char *path;
    int rc;

    if (s->shops_arg != NULL)
        return start_many(s, err);
    path = realpath(config_path, NULL);
    if (path == NULL) {
        pf_errf(err, "%s: %s", config_path, strerror(errno));
        return -1;
    }
    if (pf_config_load(path, source_schema, &s->server_cfg, err) != 0) {
        free(path);
        return -1;
    }
    if (s->server_cfg->serve.shops_dir != NULL) {
        s->server_path = path;
        return start_many(s, err);
    }
    pf_config_free(s->server_cfg);
    s->server_cfg = NULL;
    rc = start_single(s, path, err);
    free(path);
    return rc;
}

/* Blocks the signals the main loop takes synchronously; MHD's threads
 * inherit the mask and never see them. */
static void
block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGCHLD);
    sigaddset(set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Close the server first, then let the runs end: each gets SIGTERM,
 * dies before its next commit, and SQLite rolls its open transaction
 * back; publish removes its temp files on the next build.
 *
 * Not MHD_quiesce_daemon(): in libmicrohttpd 0.9.75 with epoll and a
 * thread pool it removes the listen socket from each worker's epoll set
 * while the worker may be removing it too, and the loser's ENOENT is a
 * panic (abort). A request that arrives while the runs stop is refused
 * by the closed socket, as it would be by a quiesced one. */
static void
stop(struct server *s)
{
    struct pool_stats ps;

    MHD_stop_daemon(s->d);
    s->d = NULL;
    pool_stats(s->pool, &ps);
    if (ps.running > 0)
        log_info("waiting for %u run(s) to stop", ps.running);
    pool_stop(s->pool, srv_now(s), on_run_end, s);
}

static void
server_free(struct server *s)
{
    if (s->d != NULL)
        MHD_stop_daemon(s->d);
    if (s->pool != NULL)
        pool_stop(s->pool, srv_now(s), on_run_end, s);
    pool_free(s->pool);
    serve_tls_free();
    conn_watch_free(s->resp.watch);
    shop_free(s->single);
    shops_free(s->shops);
    if (s->admin_token != NULL)
        OPENSSL_cleanse(s->admin_token, strlen(s->admin_token));
    free(s->admin_token);
    free(s->server_path);
    pf_config_free(s->server_cfg);
    pthread_rwlock_destroy(&s->admin_lock);
    pthread_mutex_destroy(&s->sync_mu);
    pthread_mutex_destroy(&s->env.tz_mu);
    free(s);
}

int
serve_main(const char *config_path, int argc, char **argv)
{
    struct pf_err err = {{0}};
    struct server *s = xcalloc(1, sizeof(*s));
    sigset_t set;
    int rc = EXIT_USAGE;

    pthread_rwlock_init(&s->admin_lock, NULL);
    pthread_mutex_init(&s->sync_mu, NULL);
    pthread_mutex_init(&s->env.tz_mu, NULL);
    s->env.respond = clerk_respond;
    s->env.respond_arg = &s->resp;
    s->main_thread = pthread_self();
    if (parse_args(s, argc, argv) != 0 || init_clock(s) != 0)
        goto cleanup;
    block_signals(&set);
    if (load_server(s, config_path, &err) != 0) {
        fprintf(stderr, "posfeed: %s\n", err.msg);
        goto cleanup;
    }
    s->resp.tls = srv_cfg(s)->tls_cert != NULL;
    if (s->resp.tls && (serve_tls_available(&err) != 0 ||
                   listen_load_cert(srv_cfg(s), srv_now(s), &err) != 0)) {
        fprintf(stderr, "posfeed: %s\n", err.msg);
        goto cleanup;
    }
    s->resp.watch = conn_watch_new(srv_cfg(s)->header_timeout_s);
    rc = EXIT_RUNTIME;
    if (start_http(s) != 0)
        goto cleanup;
    main_loop(s, &set);
    stop(s);
    rc = 0;
cleanup:
    server_free(s);
    return rc;
}
