/* cli.c - posfeed's command line: init, check, sync, build, run, status,
 * auth, serve, verify.
 *
 * Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
 * Help, `status` and the build summary go to stdout; everything else for
 * people goes to stderr.
 */
/* realpath() is an XSI interface. */
#define _XOPEN_SOURCE 700

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "feed.h"
#include "log.h"
#include "feed_answer.h"
#include "publish.h"
#include "publish_s3.h"
#include "push_klaviyo.h"
#include "source.h"
#include "serve.h"
#include "serve_shops.h"
#include "serve_tls.h"
#include "status.h"
#include "store.h"
#include "sync.h"
#include "table.h"
#include "template.h"
#include "timeutil.h"
#include "verify.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

struct cli {
    const char *config_path;
    struct pf_config *cfg;
    struct store *store;
    int lock_fd;
};

/* The options commands take after their name (bits of args.opts). */
enum {
    OPT_FULL = 1 << 0,
    OPT_FORCE = 1 << 1,
    OPT_JSON = 1 << 2,
    OPT_LISTEN = 1 << 3,
    OPT_DAYS = 1 << 4,
    OPT_SHOPS = 1 << 5
};

/* The command line once the global options (-c, -v, -q) are taken out,
 * wherever they stood. Points into argv; pos is owned (free it). */
struct args {
    const struct command *cmd;  /* NULL: none given */
    char **pos;                 /* the arguments after the command */
    int npos;
    unsigned opts;              /* OPT_* given */
    char *listen;               /* --listen's value */
    char *days;                 /* --days's value */
    char *shops;                /* --shops's value */
    int help;                   /* -h, --help or `help` */
};

struct command {
    const char *name;
    int (*run)(struct cli *c, const struct args *a);
    unsigned opts;              /* the OPT_* it takes */
    int max_pos;                /* most arguments it takes; -1: any */
    const char *usage;
};

static const char usage_main[] =
    "usage: posfeed [-c FILE] [-v|-q] COMMAND [ARGS]\n"
    "\n"
    "Turns a shop's POS data into feeds for Clerk.io, Klaviyo, Google and\n"
    "Meta.\n"
    "\n"
    "commands:\n"
    "  init [DIR]        write a commented starter posfeed.conf and an\n"
    "                    empty data folder\n"
    "  check             validate the config and every template\n"
    "  sync [--full] [--force]\n"
    "                    pull from the source into the store\n"
    "  build [--force] [FEED...]\n"
    "                    render feeds from the store and publish them\n"
    "  run [--force] [--full]\n"
    "                    sync, then build every feed, then push\n"
    "  push              deliver events and profiles to Klaviyo\n"
    "  status [--json]   last runs, store counts, bookmarks, feeds\n"
    "  auth [CODE]       authorize posfeed with Lightspeed Retail\n"
    "  verify [--days N] [--json]\n"
    "                    orders per day in the POS, store, feed and\n"
    "                    Klaviyo; flags the days that differ\n"
    "  serve [--shops DIR] [--listen ADDR:PORT]\n"
    "                    serve feeds over HTTP, run the schedule\n"
    "  help [COMMAND]    this text, or a command's\n"
    "\n"
    "options (before or after the command; `--` ends them):\n"
    "  -c FILE   config file (default ./posfeed.conf)\n"
    "  -v        more detail    -q  only warnings and errors\n"
    "  -h, --help  this text; `posfeed COMMAND --help` for a command\n"
    "\n"
    "See posfeed(1) and posfeed.conf(5).\n";

static int
load_config(struct cli *c)
{
    struct pf_err err = {{0}};

    if (pf_config_load(c->config_path, source_schema, &c->cfg, &err) != 0) {
        fprintf(stderr, "posfeed: %s\n", err.msg);
        return -1;
    }
    /* A server config names no shop: only check and serve take it. */
    if (c->cfg->serve.shops_dir != NULL) {
        fprintf(stderr, "posfeed: %s is a server config ([serve] shops = "
                "%s); give one shop's file instead, -c %s/NAME.conf\n",
                c->config_path, c->cfg->serve.shops_dir,
                c->cfg->serve.shops_dir);
        return -1;
    }
    return 0;
}

/* One posfeed at a time per store: a second sync/build would fight over
 * the bookmarks and the feeds. */
static int
take_lock(struct cli *c)
{
    char *path = xasprintf("%s.lock", c->cfg->store_path);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

    if (fd < 0) {
        log_error("cannot open lock file %s: %s", path, strerror(errno));
        free(path);
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        log_error("another posfeed is working on %s (lock %s held); try "
                  "again when it is done", c->cfg->store_path, path);
        close(fd);
        free(path);
        return -1;
    }
    free(path);
    c->lock_fd = fd;
    return 0;
}

static int
open_store(struct cli *c)
{
    struct pf_err err = {{0}};
    char *dir = pf_path_dir(c->cfg->store_path);

    mkdir(dir, 0755);
    free(dir);
    if (take_lock(c) != 0)
        return -1;
    if (store_open(c->cfg->store_path, &c->store, &err) != 0) {
        log_error("%s", err.msg);
        return -1;
    }
    return 0;
}

/* Logs a store error (msg NULL: already logged), and what to do when it
 * says the file is damaged. */
static void
log_store_error(struct cli *c, const char *msg)
{
    if (msg != NULL)
        log_error("%s", msg);
    if (c->store != NULL && store_damaged(c->store))
        log_error("the store %s is damaged: %s", c->cfg->store_path,
                  STORE_DAMAGED_ADVICE);
}

/* A run still marked "running" means the last posfeed on this store
 * ended without finishing: killed, or the machine stopped. SQLite
 * survives a killed process, but a machine that stops with writes in
 * flight (power loss, a kernel crash, a disk that lies about flushes)
 * can leave a damaged file. So the store is checked (PRAGMA quick_check)
 * before this run reads or writes anything. note gets what happened, for
 * the run's record ("" when there was nothing to check). Returns -1,
 * logged and recorded as a failed run, when the store is damaged or
 * could not be checked. */
static int
check_after_unclean_end(struct cli *c, const char *cmd, char *note,
                        size_t n)
{
    struct pf_err err = {{0}};
    int64_t unfinished = 0, last = 0;
    double t0 = pf_now_mono();

    note[0] = '\0';
    if (store_unfinished_runs(c->store, &unfinished, &last, &err) != 0) {
        log_store_error(c, err.msg);
        return -1;
    }
    if (unfinished == 0)
        return 0;
    log_warn("run #%lld did not finish (the process was killed or the "
             "machine stopped); checking the store", (long long)last);
    if (store_quick_check(c->store, &err) == 0) {
        snprintf(note, n, "run #%lld did not finish (the process was "
                 "killed or the machine stopped); the store passed its "
                 "integrity check (PRAGMA quick_check, %.1f s)",
                 (long long)last, pf_now_mono() - t0);
        log_info("store %s: integrity check passed",
                 c->cfg->store_path);
        return 0;
    }
    log_store_error(c, err.msg);
    if (!store_damaged(c->store))
        log_error("the store %s could not be checked; fix the cause and "
                  "run again", c->cfg->store_path);
    /* Best effort: the run history may be what is damaged. The killed
     * run stays "running", so every run checks again until the store is
     * repaired or replaced. */
    store_run_refused(c->store, cmd, err.msg, NULL);
    return -1;
}

/* ---- init / check ------------------------------------------------------- */

/* An existing config is a mistake in the command (the wrong folder), not
 * a failure of posfeed: exit 2. The writer refuses to overwrite too
 * (O_EXCL), which covers a file that appears in between. */
static int
cmd_init(struct cli *c, const struct args *a)
{
    struct pf_err err = {{0}};
    const char *dir = a->npos > 0 ? a->pos[0] : ".";
    char *path = pf_path_join(dir, "posfeed.conf");
    struct stat st;
    int rc = EXIT_RUNTIME;

    (void)c;
    if (lstat(path, &st) == 0) {
        fprintf(stderr, "posfeed init: %s already exists; not overwriting "
                "it (give another folder: posfeed init DIR)\n", path);
        rc = EXIT_USAGE;
        goto cleanup;
    }
    if (pf_config_write_starter(dir, &err) != 0) {
        log_error("%s", err.msg);
        goto cleanup;
    }
    log_info("wrote %s and an empty folder %s/%s for the source files: "
             "edit [shop] and [source], then run `posfeed -c %s check`",
             path, dir, PF_STARTER_DATA_DIR, path);
    rc = 0;
cleanup:
    free(path);
    return rc;
}

/* Says who may fetch each feed and why; a feed with sales or customer
 * data made public on purpose gets a notice every time. */
static void
report_access(const struct pf_feed_cfg *fc, const struct tpl *t,
              int verbose)
{
    const char *priv = feed_private_collection(t);
    const char *access = feed_access(fc, t);
    char why[64];

    if (fc->access != PF_ACCESS_AUTO)
        snprintf(why, sizeof(why), "set in the config");
    else if (priv != NULL)
        snprintf(why, sizeof(why), "default: carries %s", priv);
    else if (strcmp(access, "token") == 0)
        snprintf(why, sizeof(why), "default: names personal data");
    else
        snprintf(why, sizeof(why), "default: catalog only");
    if (verbose)
        log_info("feed %-20s template %s ok, access %s (%s)", fc->name,
                 fc->template_spec, access, why);
    if (fc->access == PF_ACCESS_PUBLIC && priv != NULL)
        log_info("notice: feed '%s' carries %s and is public (access = "
                 "public): anyone with its URL can read it", fc->name,
                 priv);
}

/* 1 if the feed is among the names given (all feeds when there are
 * none). */
static int
wanted(const struct pf_feed_cfg *fc, char *const *names, int nnames)
{
    int k;

    if (nnames == 0)
        return 1;
    for (k = 0; k < nnames; k++)
        if (strcmp(names[k], fc->name) == 0)
            return 1;
    return 0;
}

/* A feed for a channel that needs a product page per item (g:link)
 * from a source whose products have none (source.h, links). */
static int
check_links(const struct pf_config *cfg, const struct pf_feed_cfg *fc,
            const struct tpl *t, struct pf_err *err)
{
    const struct source_type *st = source_find(cfg->source.type);

    if (st == NULL || st->links == NULL || st->links(cfg) ||
        !tpl_requires(t, "http://base.google.com/ns/1.0", "link"))
        return 0;
    pf_errf(err, "%s:%d: [feed %s]: its template requires a product page "
            "link (g:link) and [source] type = %s gives products none: "
            "set [source] product_url (e.g. "
            "https://shop.example/menu/{sku})", cfg->path, fc->line,
            fc->name, st->name);
    return -1;
}

/* Compiles the templates of the named feeds (all when nnames is 0), so a
 * broken template is a configuration error before any work starts. */
static int
check_templates(struct cli *c, char *const *names, int nnames, int verbose)
{
    struct pf_err err = {{0}};
    size_t i;

    for (i = 0; i < c->cfg->nfeeds; i++) {
        const struct pf_feed_cfg *fc = &c->cfg->feeds[i];
        struct tpl *t = NULL;

        if (!wanted(fc, names, nnames))
            continue;
        if (tpl_load(fc->template_path, &t, &err) != 0) {
            fprintf(stderr, "posfeed: %s:%d: [feed %s]: %s\n",
                    c->cfg->path, fc->line, fc->name, err.msg);
            return -1;
        }
        if (fc->ndjson && tpl_set_ndjson(t) != 0) {
            fprintf(stderr, "posfeed: %s:%d: [feed %s]: format = ndjson "
                    "needs a template whose root is a list of one "
                    "\"@each\" object\n", c->cfg->path, fc->line,
                    fc->name);
            tpl_free(t);
            return -1;
        }
        if (feed_check(c->cfg, fc, t, &err) != 0 ||
            check_links(c->cfg, fc, t, &err) != 0) {
            fprintf(stderr, "posfeed: %s\n", err.msg);
            tpl_free(t);
            return -1;
        }
        report_access(fc, t, verbose);
        tpl_free(t);
    }
    return 0;
}

static void
warn_env_missing(const struct cli *c, const struct pf_secret *s,
                 const char *label)
{
    if (pf_secret_env_missing(s))
        log_warn("%s:%d: %s = env:%s: the variable is not set here; set it "
                 "where posfeed runs", c->cfg->path, s->line, label,
                 s->env);
}

/* Secrets: a file that is missing or unreadable now will be at serve or
 * sync time too; an environment variable may well be set only where
 * posfeed serve runs, so its absence here is a warning. */
static int
check_secrets(struct cli *c)
{
    const struct pf_source_cfg *s = &c->cfg->source;
    struct pf_err err = {{0}};
    char label[128];

    if (pf_config_check_files(c->cfg, &err) != 0) {
        fprintf(stderr, "posfeed: %s\n", err.msg);
        return -1;
    }
    warn_env_missing(c, &c->cfg->serve.token, "[serve] token");
    for (size_t i = 0; s->schema.keys[i].name != NULL; i++) {
        if (s->schema.keys[i].kind != PF_KEY_SECRET)
            continue;
        snprintf(label, sizeof(label), "[source] %s",
                 s->schema.keys[i].name);
        warn_env_missing(c, pf_source_secret(s, s->schema.keys[i].name),
                         label);
    }
    return 0;
}

/* What only the source type can check (source.h); a failure there fails
 * `check` like a config error, with the type's message. */
static int
check_source(struct cli *c)
{
    const struct source_type *t = source_find(c->cfg->source.type);
    struct pf_err err = {{0}};

    if (t == NULL || t->check == NULL)
        return 0;
    if (t->check(c->cfg, &err) != 0) {
        fprintf(stderr, "posfeed: %s\n", err.msg);
        return -1;
    }
    return 0;
}

/* [push klaviyo]: the key and the templates that define what is pushed;
 * a since cut to orders_lookback is said, not an error. */
static int
check_push(struct cli *c)
{
    struct pf_err err = {{0}};

    if (!c->cfg->klaviyo.set)
        return 0;
    if (push_klaviyo_check(c->cfg, &err) != 0) {
        log_error("%s", err.msg);
        return -1;
    }
    if (c->cfg->klaviyo.since_capped)
        log_warn("%s:%d: [push klaviyo] since reaches further back than "
                 "[sync] orders_lookback; the push starts at %d %s ago",
                 c->cfg->path, c->cfg->klaviyo.line, c->cfg->klaviyo.since_n,
                 c->cfg->klaviyo.since_unit == PF_SPAN_YEARS ? "years"
                 : c->cfg->klaviyo.since_unit == PF_SPAN_MONTHS ? "months"
                                                                : "days");
    return 0;
}

/* [serve] tls_cert/tls_key as serve would load them (serve_tls.h), and
 * how long the certificate has left. */
static int
check_tls(struct cli *c)
{
    const struct pf_serve_cfg *sc = &c->cfg->serve;
    struct tls_pair_info info;
    struct pf_err err = {{0}};
    int64_t now = pf_time_now();
    char when[32];

    if (sc->tls_cert == NULL)
        return 0;
    if (tls_pair_check(sc->tls_cert, sc->tls_key, now, &info, &err) != 0) {
        fprintf(stderr, "posfeed: %s\n", err.msg);
        return -1;
    }
    if (info.not_before > now) {
        pf_time_iso_utc(info.not_before, when);
        log_warn("%s: the certificate is not valid before %s (a clock "
                 "behind, or a certificate issued for later)", sc->tls_cert,
                 when);
    }
    tls_pair_log(sc->tls_cert, &info, 1);
    return 0;
}

/* [publish]: the credentials (files were read by check_secrets), and
 * the token feeds a run will not upload. */
static int
check_publish(struct cli *c)
{
    const struct pf_publish_cfg *p = &c->cfg->publish;
    struct pf_err err = {{0}};

    if (!p->set)
        return 0;
    warn_env_missing(c, &p->access_key, "[publish] access_key");
    warn_env_missing(c, &p->secret_key, "[publish] secret_key");
    for (size_t i = 0; !p->private_feeds && i < c->cfg->nfeeds; i++) {
        const struct pf_feed_cfg *fc = &c->cfg->feeds[i];
        struct tpl *t = NULL;

        if (tpl_load(fc->template_path, &t, &err) != 0)
            return -1;      /* check_templates said why */
        if (strcmp(feed_access(fc, t), "token") == 0)
            log_warn("%s:%d: [feed %s] has access = token: it is not "
                     "uploaded to s3://%s/%s (set [publish] private_feeds "
                     "= yes to upload it)", c->cfg->path, fc->line,
                     fc->name, p->bucket, p->prefix);
        tpl_free(t);
    }
    log_info("[publish] uploads to s3://%s/%s at %s (region %s, %s)",
             p->bucket, p->prefix, p->endpoint, p->region,
             p->path_style ? "path style" : "virtual-hosted");
    return 0;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.conf files of dir, sorted (NULL-terminated, caller frees). */
static char **
shop_files(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **v = xcalloc(1, sizeof(*v));
    size_t len;

    *n = 0;
    while (d != NULL && (de = readdir(d)) != NULL) {
        len = strlen(de->d_name);
        if (len < 6 || de->d_name[0] == '.' ||
            strcmp(de->d_name + len - 5, ".conf") != 0)
            continue;
        v = xrealloc(v, (*n + 2) * sizeof(*v));
        v[(*n)++] = xstrdup(de->d_name);
        v[*n] = NULL;
    }
    if (d != NULL)
        closedir(d);
    qsort(v, *n, sizeof(*v), cmp_str);
    return v;
}

/* One shop's file as serve --shops would load it, and everything check
 * checks of a config. 0 ok, -1 (said on stderr with FILE:LINE). *out:
 * the config when it loaded (the caller frees it), else NULL. */
static int
check_shop(struct cli *c, const char *dir, const char *file,
           struct pf_config **out)
{
    struct pf_config *server = c->cfg, *cfg = NULL;
    struct pf_err err = {{0}};
    char *path = xasprintf("%s/%s", dir, file);
    int rc = -1;

    if (!shops_name_ok(file, strlen(file) - 5)) {
        fprintf(stderr, "posfeed: %s: refused: a shop's name (the file name "
                "without .conf) is 1 to 64 letters, digits, '_' or '-', "
                "starting with a letter or digit\n", path);
    }
    else if (pf_config_load_shop(path, source_schema, &cfg, &err) != 0) {
        fprintf(stderr, "posfeed: %s\n", err.msg);
    }
    else {
        c->cfg = cfg;
        rc = check_templates(c, NULL, 0, 0) != 0 || check_secrets(c) != 0 ||
             check_source(c) != 0 || check_push(c) != 0 ? -1 : 0;
        c->cfg = server;
    }
    *out = cfg;
    free(path);
    return rc;
}

/* The shops that share a store or feeds folder with one before them, as
 * serve refuses them (serve_shops.h shops_clash). Frees cfgs. */
static size_t
check_clashes(struct pf_config **cfgs, size_t n)
{
    struct pf_err err = {{0}};
    size_t i, j, bad = 0;

    for (i = 0; i < n; i++) {
        for (j = 0; j < i && cfgs[i] != NULL; j++) {
            if (cfgs[j] != NULL && shops_clash(cfgs[i], cfgs[j], &err)) {
                fprintf(stderr, "posfeed: %s\n", err.msg);
                bad++;
                break;
            }
        }
    }
    for (i = 0; i < n; i++)
        pf_config_free(cfgs[i]);
    free(cfgs);
    return bad;
}

/* A server config: its own [serve] and every shop's file; each bad file
 * is named, not only the first. */
static int
check_server(struct cli *c)
{
    const char *dir = c->cfg->serve.shops_dir;
    struct pf_err err = {{0}};
    struct pf_config **cfgs;
    char **files;
    size_t i, n, bad = 0;
    struct stat sb;

    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "posfeed: %s: [serve] shops = %s: not a folder\n",
                c->cfg->path, dir);
        return EXIT_USAGE;
    }
    /* Its only secret is the admin token ([serve] has no source). */
    if (pf_config_check_files(c->cfg, &err) != 0) {
        fprintf(stderr, "posfeed: %s\n", err.msg);
        return EXIT_USAGE;
    }
    warn_env_missing(c, &c->cfg->serve.token, "[serve] token");
    if (check_tls(c) != 0)
        return EXIT_USAGE;
    files = shop_files(dir, &n);
    cfgs = xcalloc(n + 1, sizeof(*cfgs));
    for (i = 0; i < n; i++) {
        if (check_shop(c, dir, files[i], &cfgs[i]) != 0)
            bad++;
        free(files[i]);
    }
    free(files);
    bad += check_clashes(cfgs, n);
    if (bad > 0) {
        log_error("%s: %zu of %zu shop file(s) refused", dir, bad, n);
        return EXIT_USAGE;
    }
    log_info("%s: ok (%zu shop%s in %s)", c->cfg->path, n,
             n == 1 ? "" : "s", dir);
    return 0;
}

static int
cmd_check(struct cli *c, const struct args *a)
{
    struct pf_err err = {{0}};

    (void)a;
    if (pf_config_load(c->config_path, source_schema, &c->cfg, &err) != 0) {
        fprintf(stderr, "posfeed: %s\n", err.msg);
        return EXIT_USAGE;
    }
    if (c->cfg->serve.shops_dir != NULL)
        return check_server(c);
    if (check_templates(c, NULL, 0, 1) != 0 ||
        check_secrets(c) != 0 || check_source(c) != 0 ||
        check_push(c) != 0 || check_tls(c) != 0 || check_publish(c) != 0)
        return EXIT_USAGE;
    log_info("%s: ok (%zu feed%s)", c->cfg->path, c->cfg->nfeeds,
             c->cfg->nfeeds == 1 ? "" : "s");
    return 0;
}

/* ---- push --------------------------------------------------------------- */

/* Delivers to Klaviyo what is pending, and says what happened. */
static int
do_push(struct cli *c, int64_t run_id)
{
    struct pf_err err = {{0}};
    struct push_result res;
    double t0 = pf_now_mono();
    int rc = push_klaviyo(c->cfg, c->store, &res, &err);

    printf("push klaviyo: %lld events and %lld profiles sent, %lld "
           "failed, %lld pending, %lld skipped, %lld requests\n",
           (long long)res.events_sent, (long long)res.profiles_sent,
           (long long)res.failed, (long long)res.pending,
           (long long)res.skipped, (long long)res.requests);
    fflush(stdout);
    if (res.warning != NULL) {
        log_warn("klaviyo: %s", res.warning);
        store_run_warning(c->store, run_id, res.warning);
    }
    store_run_count(c->store, run_id, "push.klaviyo.events",
                    res.events_sent, res.failed, NULL);
    store_run_count(c->store, run_id, "push.klaviyo.profiles",
                    res.profiles_sent, 0, NULL);
    push_result_free(&res);
    if (rc != 0) {
        log_error("%s", err.msg);
        log_store_error(c, NULL);
        store_run_end(c->store, run_id, "failed", err.msg, NULL);
        return -1;
    }
    log_info("push: done in %.2f s", pf_now_mono() - t0);
    return 0;
}

static int
cmd_push(struct cli *c, const struct args *a)
{
    struct pf_err err = {{0}};
    int64_t run_id = 0;
    char checked[256];

    (void)a;
    if (load_config(c) != 0)
        return EXIT_USAGE;
    if (!c->cfg->klaviyo.set) {
        log_error("%s: nothing to push to: add a [push klaviyo] section "
                  "(see docs/klaviyo.md)", c->cfg->path);
        return EXIT_USAGE;
    }
    if (check_push(c) != 0)
        return EXIT_USAGE;
    if (open_store(c) != 0 ||
        check_after_unclean_end(c, "push", checked, sizeof(checked)) != 0)
        return EXIT_RUNTIME;
    if (store_run_start(c->store, "push", &run_id, &err) != 0) {
        log_store_error(c, err.msg);
        return EXIT_RUNTIME;
    }
    if (checked[0] != '\0')
        store_run_warning(c->store, run_id, checked);
    if (do_push(c, run_id) != 0)
        return EXIT_RUNTIME;
    if (store_run_end(c->store, run_id, "ok", NULL, &err) != 0) {
        log_error("%s", err.msg);
        return EXIT_RUNTIME;
    }
    return 0;
}

/* ---- sync / build / run ------------------------------------------------- */

/* A source file held back (see source_file.h) fails the sync, so `run`
 * stops before it builds feeds from a store that may be missing rows:
 * the feeds' own max_drop would not notice a small loss. --force accepts
 * the files as they are. */
static int
held_back(struct cli *c, int64_t run_id, const struct sync_report *rep)
{
    if (rep->held == 0)
        return 0;
    log_error("sync: %lld source file%s incomplete, so the rows %s "
              "not list were kept and no feed is built; fix the export, "
              "or rerun with --force to accept %s as %s",
              (long long)rep->held, rep->held == 1 ? " looks" : "s look",
              rep->held == 1 ? "it does" : "they do",
              rep->held == 1 ? "it" : "them",
              rep->held == 1 ? "it is" : "they are");
    store_run_end(c->store, run_id, "failed", rep->held_msg, NULL);
    return -1;
}

static int
do_sync(struct cli *c, int64_t run_id, int full, int force)
{
    struct pf_err err = {{0}};
    struct sync_report rep;
    struct source_ctx ctx;
    double t0 = pf_now_mono();
    int64_t rows = 0;
    int i, rc;

    sync_report_init(&rep, c->store, run_id);
    memset(&ctx, 0, sizeof(ctx));
    ctx.store = c->store;
    ctx.cfg = c->cfg;
    ctx.rep = &rep;
    ctx.full = full;
    ctx.force = force;
    ctx.progress = isatty(2) && pf_log_get_level() <= PF_LOG_INFO;
    rc = source_sync(&ctx, &err);
    if (sync_report_save(&rep, rc == 0 ? &err : NULL) != 0)
        rc = -1;
    for (i = 0; i < rep.nstreams; i++)
        rows += rep.streams[i].rows;
    if (rc != 0) {
        log_error("sync failed: %s", err.msg);
        log_store_error(c, NULL);
        store_run_end(c->store, run_id, "failed", err.msg, NULL);
        return -1;
    }
    log_info("sync: %lld rows from %d streams, %lld warnings, %.2f s",
             (long long)rows, rep.nstreams, (long long)rep.warnings,
             pf_now_mono() - t0);
    return held_back(c, run_id, &rep);
}

/* Under a feed's line in `build`: the rows it left out and why, e.g.
 * "3 left out (missing image_link: 2, missing brand: 1)". Nothing when
 * none were. */
static void
print_left_out(int64_t total, const char *const *reasons,
               const int64_t *items, size_t n)
{
    size_t i;

    if (total <= 0)
        return;
    printf("      %lld left out (", (long long)total);
    for (i = 0; i < n; i++)
        printf("%s%s: %lld", i ? ", " : "", reasons[i],
               (long long)items[i]);
    printf(")\n");
}

/* The build summary has a line per feed, printed as soon as that feed is
 * published (a big shop's build takes a while). So the columns are sized
 * before the first line from what is known then: the longest name among
 * the feeds to build, and whether any of them has a gzip twin. What
 * follows the path (the access, the parts) is ragged. */
struct build_cols {
    int name;       /* width of the name column */
    int gz;         /* 1: some feed has a gz column */
};

static void
build_cols(const struct pf_config *cfg, char *const *names, int nnames,
           struct build_cols *w)
{
    size_t k;

    w->name = 4;
    w->gz = 0;
    for (k = 0; k < cfg->nfeeds; k++) {
        const struct pf_feed_cfg *fc = &cfg->feeds[k];
        int n = (int)strlen(fc->name);

        if (!wanted(fc, names, nnames))
            continue;
        if (n > w->name)
            w->name = n;
        w->gz |= fc->gzip != 0;
    }
}

static void
print_built(const struct pf_feed_cfg *fc, const struct feed_result *res,
            const struct build_cols *w)
{
    char b1[32], b2[32], gz[48] = "";
    char *shown = realpath(res->path, NULL);

    pf_human_bytes(res->bytes, b1);
    pf_human_bytes(res->gz_bytes, b2);
    if (fc->gzip)
        snprintf(gz, sizeof(gz), "(gz %s)", b2);
    printf("  %-*s  %8lld items  %9s", w->name, fc->name,
           (long long)res->items, b1);
    /* Wide enough for "(gz 1023.9 MB)". */
    if (w->gz)
        printf("  %-14s", gz);
    printf("  %7.2f s  %s  [%s]", res->seconds, shown ? shown : res->path,
           res->access);
    if (res->parts > 1)
        printf("  in %d parts", res->parts);
    printf("\n");
    fflush(stdout);
    free(shown);
}

struct build_ctx {
    struct cli *c;
    int64_t run_id;
    struct build_cols w;
    /* [publish]: each feed is uploaded as soon as it is published (the
     * other feeds keep building meanwhile); after the first failure no
     * more are. */
    struct s3_client *s3;
    int s3_failed;
    struct pf_err s3_err;
    double s3_seconds;
};

/* Uploads what feed fc just published locally ([publish]). */
static void
s3_upload(struct build_ctx *b, const struct pf_feed_cfg *fc,
          const struct feed_result *res)
{
    double t0 = pf_now_mono();

    if (b->s3 == NULL || b->s3_failed)
        return;
    if (s3_publish_feed(b->s3, b->c->cfg, fc, b->c->store, res->parts,
                        res->access, &b->s3_err) != 0) {
        b->s3_failed = 1;
        log_error("%s", b->s3_err.msg);
    }
    b->s3_seconds += pf_now_mono() - t0;
}

/* Before the build: the bucket's client, with its credentials read. A
 * failure here still lets the feeds publish locally. */
static void
s3_start(struct build_ctx *b)
{
    b->s3 = NULL;
    b->s3_failed = 0;
    b->s3_seconds = 0;
    if (!b->c->cfg->publish.set)
        return;
    if (s3_client_new(&b->c->cfg->publish, &b->s3, &b->s3_err) != 0) {
        b->s3_failed = 1;
        log_error("%s", b->s3_err.msg);
    }
}

/* After the build: what was uploaded, recorded with the run. -1 if an
 * upload failed (its message is in b->s3_err). */
static int
s3_finish(struct build_ctx *b)
{
    const struct s3_stats *st;
    char size[32];

    if (b->s3 == NULL)
        return b->s3_failed ? -1 : 0;
    st = s3_client_stats(b->s3);
    pf_human_bytes(st->bytes, size);
    printf("upload: %lld objects (%s) to %s in %.2f s, %lld unchanged",
           (long long)st->objects, size, s3_client_where(b->s3),
           b->s3_seconds, (long long)st->unchanged);
    if (st->retries > 0)
        printf(", %lld retried", (long long)st->retries);
    if (st->skipped > 0)
        printf(", %lld token feed%s not uploaded", (long long)st->skipped,
               st->skipped == 1 ? "" : "s");
    printf("\n");
    fflush(stdout);
    store_run_count(b->c->store, b->run_id, "publish.s3", st->objects,
                    b->s3_failed, NULL);
    store_run_count(b->c->store, b->run_id, "publish.s3.unchanged",
                    st->unchanged, 0, NULL);
    s3_client_free(b->s3);
    b->s3 = NULL;
    return b->s3_failed ? -1 : 0;
}

/* A feed of the build is done: its line, or its error. */
static void
build_done(void *arg, const struct pf_feed_cfg *fc, struct feed_outcome *o)
{
    struct build_ctx *b = arg;

    if (o->rc != 0) {
        log_store_error(b->c, o->err.msg);
        if (o->damaged && !store_damaged(b->c->store))
            log_error("the store %s is damaged: %s", b->c->cfg->store_path,
                      STORE_DAMAGED_ADVICE);
        store_run_warning(b->c->store, b->run_id, o->err.msg);
        return;
    }
    store_run_count(b->c->store, b->run_id, fc->name, o->res.items, 0,
                    NULL);
    print_built(fc, &o->res, &b->w);
    print_left_out(o->res.left_out, (const char *const *)o->res.reasons,
                   o->res.reason_items, o->res.nreasons);
    s3_upload(b, fc, &o->res);
    feed_result_free(&o->res);
}

/* The feeds build side by side (feed.h, feed_build_all); their lines
 * still come in the config's order. */
static int
do_build(struct cli *c, int64_t run_id, char *const *names, int nnames,
         int force, struct pf_err *s3err)
{
    struct pf_err err = {{0}};
    struct build_ctx b;
    const struct pf_feed_cfg **fcs;
    int removed = 0, failed, i;
    size_t k, n = 0;

    for (i = 0; i < nnames; i++) {
        if (pf_config_feed(c->cfg, names[i]) == NULL) {
            log_error("no feed named '%s' in %s", names[i], c->cfg->path);
            return -2;
        }
    }
    if (publish_sweep_temps(c->cfg->feeds_dir, &removed, &err) == 0 &&
        removed > 0)
        log_info("removed %d stale temp file%s from an interrupted build",
                 removed, removed == 1 ? "" : "s");
    b.c = c;
    b.run_id = run_id;
    build_cols(c->cfg, names, nnames, &b.w);
    fcs = xcalloc(c->cfg->nfeeds + 1, sizeof(*fcs));
    for (k = 0; k < c->cfg->nfeeds; k++)
        if (wanted(&c->cfg->feeds[k], names, nnames))
            fcs[n++] = &c->cfg->feeds[k];
    s3_start(&b);
    failed = feed_build_all(c->cfg, fcs, n, force, build_done, &b);
    free(fcs);
    if (s3_finish(&b) != 0 && !failed) {
        *s3err = b.s3_err;
        return -3;
    }
    return failed ? -1 : 0;
}

static int
cmd_sync_build(struct cli *c, const struct args *a)
{
    const char *cmd = a->cmd->name;
    int full = (a->opts & OPT_FULL) != 0, force = (a->opts & OPT_FORCE) != 0;
    int64_t run_id = 0;
    struct pf_err err = {{0}};
    double t0 = pf_now_mono();
    char checked[256];
    int b;

    if (load_config(c) != 0)
        return EXIT_USAGE;
    if (strcmp(cmd, "sync") != 0 &&
        check_templates(c, a->pos, a->npos, 0) != 0)
        return EXIT_USAGE;
    if (strcmp(cmd, "run") == 0 && check_push(c) != 0)
        return EXIT_USAGE;
    if (open_store(c) != 0 ||
        check_after_unclean_end(c, cmd, checked, sizeof(checked)) != 0)
        return EXIT_RUNTIME;
    if (store_run_start(c->store, cmd, &run_id, &err) != 0) {
        log_store_error(c, err.msg);
        return EXIT_RUNTIME;
    }
    if (checked[0] != '\0')
        store_run_warning(c->store, run_id, checked);
    if (strcmp(cmd, "build") != 0 && do_sync(c, run_id, full, force) != 0)
        return EXIT_RUNTIME;
    if (strcmp(cmd, "sync") != 0) {
        printf("feeds:\n");
        b = do_build(c, run_id, a->pos, a->npos, force, &err);
        if (b == -3) {
            store_run_end(c->store, run_id, "failed", err.msg, NULL);
            log_error("%s: the feeds are published locally, but the upload "
                      "failed; an object not uploaded keeps its previous "
                      "version in the bucket", cmd);
            return EXIT_RUNTIME;
        }
        if (b == -2) {
            store_run_end(c->store, run_id, "failed", "unknown feed", NULL);
            return EXIT_USAGE;
        }
        if (b != 0) {
            store_run_end(c->store, run_id, "failed",
                          "one or more feeds were not published", NULL);
            log_error("%s: one or more feeds were not published; the "
                      "previous versions stay in place", cmd);
            return EXIT_RUNTIME;
        }
    }
    if (strcmp(cmd, "run") == 0 && c->cfg->klaviyo.set &&
        do_push(c, run_id) != 0)
        return EXIT_RUNTIME;
    if (store_run_end(c->store, run_id, "ok", NULL, &err) != 0) {
        log_error("%s", err.msg);
        return EXIT_RUNTIME;
    }
    /* After the run's end has stamped its changes: the answers show the
     * generation the server will read. A file not written only costs
     * speed (the server renders live), so the run stays ok. */
    if (strcmp(cmd, "run") == 0 && c->cfg->serve.clerk_v2 &&
        feed_answer_write_all(c->cfg, c->store, &err) != 0)
        log_warn("%s; /clerk/v2/ renders it live", err.msg);
    log_info("%s done in %.2f s", cmd, pf_now_mono() - t0);
    return 0;
}

/* ---- status ------------------------------------------------------------- */

/* Prints a table under its heading, and frees it. */
static void
print_section(const char *heading, struct table *t)
{
    printf("\n%s:\n", heading);
    table_print(t, stdout);
    table_free(t);
}

/* "name  value" lines of an object of numbers or strings. */
static void
status_pairs(const cJSON *doc, const char *key, const char *heading)
{
    struct table *t = table_new();
    const cJSON *e;

    cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, key)) {
        table_row(t, 0, "  ", cJSON_IsNumber(e) ? "lr" : "ll");
        table_cell(t, "%s", e->string);
        if (cJSON_IsNumber(e))
            table_cell(t, "%.0f", e->valuedouble);
        else
            table_cell(t, "%s", cJSON_IsString(e) ? e->valuestring : "");
    }
    print_section(heading, t);
}

/* Each run on a line, the rows per stream (and feed) under it. */
static void
status_runs(const cJSON *doc)
{
    struct table *t = table_new();
    const cJSON *e, *f, *ended, *error;

    cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, "runs")) {
        ended = cJSON_GetObjectItem(e, "ended");
        error = cJSON_GetObjectItem(e, "error");
        table_row(t, 0, "  ", "llllllr");
        table_cell(t, "#%.0f", status_num(e, "id"));
        table_cell(t, "%s", status_str(e, "kind"));
        table_cell(t, "%s", status_str(e, "started"));
        table_cell(t, "->");
        table_cell(t, "%s", cJSON_IsString(ended) ? ended->valuestring
                                                  : "(running or killed)");
        table_cell(t, "%s", status_str(e, "result"));
        table_cell(t, "%.0f warnings", status_num(e, "warnings"));
        if (cJSON_IsString(error))
            table_cell(t, "error: %s", error->valuestring);
        cJSON_ArrayForEach(f, cJSON_GetObjectItem(e, "rows")) {
            table_row(t, 1, "        ", "lr");
            table_cell(t, "%s", f->string);
            table_cell(t, "%.0f rows", f->valuedouble);
        }
    }
    print_section("last runs", t);
}

static void
status_feeds(const cJSON *doc)
{
    struct table *t = table_new();
    const cJSON *e;

    cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, "feeds")) {
        table_row(t, 0, "  ", "llrrlrll");
        table_cell(t, "%s", status_str(e, "name"));
        table_cell(t, "%s", status_str(e, "path"));
        table_cell(t, "%.0f bytes", status_num(e, "bytes"));
        table_cell(t, "%.0f items", status_num(e, "items"));
        table_cell(t, "%s", status_str(e, "published"));
        table_cell(t, "%.2f s", status_num(e, "build_seconds"));
        table_cell(t, "sha256 %.16s…", status_str(e, "sha256"));
        table_cell(t, "%s", status_str(e, "access"));
    }
    print_section("published feeds", t);
}

/* After the published feeds: what each one's last build left out and
 * why, for the feeds that left rows out. */
static void
status_left_out(const cJSON *doc)
{
    struct table *t = table_new();
    const cJSON *e, *r;
    struct pf_buf why;
    int any = 0;

    pf_buf_init(&why);
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, "feeds")) {
        /* 0 also for a store from before left-out counts. */
        if (!(status_num(e, "left_out") > 0))
            continue;
        pf_buf_reset(&why);
        cJSON_ArrayForEach(r, cJSON_GetObjectItem(e, "left_out_reasons"))
            pf_buf_addf(&why, "%s%s: %.0f", why.len ? ", " : "", r->string,
                        r->valuedouble);
        table_row(t, 0, "  ", "lrl");
        table_cell(t, "%s", status_str(e, "name"));
        table_cell(t, "%.0f", status_num(e, "left_out"));
        table_cell(t, "(%s)", why.data ? why.data : "");
        any = 1;
    }
    pf_buf_free(&why);
    if (any)
        print_section("left out by the last build (a required field was "
                      "empty)", t);
    else
        table_free(t);
}

/* The Klaviyo push: per metric what is pending, sent, failed (with the
 * latest reasons) and skipped, the last push and its lag. */
static void
status_push_text(const cJSON *doc)
{
    const cJSON *k = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "push"),
                                         "klaviyo");
    const cJSON *m, *r;
    struct table *t;

    if (k == NULL)
        return;
    t = table_new();
    cJSON_ArrayForEach(m, cJSON_GetObjectItem(k, "metrics")) {
        table_row(t, 0, "  ", "lrrrr");
        table_cell(t, "%s", m->string);
        table_cell(t, "%.0f pending", status_num(m, "pending"));
        table_cell(t, "%.0f sent", status_num(m, "sent"));
        table_cell(t, "%.0f failed", status_num(m, "failed"));
        cJSON_ArrayForEach(r, cJSON_GetObjectItem(m, "skipped")) {
            table_row(t, 0, "  ", "ll");
            table_cell(t, "%s", "");
            table_cell(t, "skipped, %s: %.0f", r->string, r->valuedouble);
        }
        cJSON_ArrayForEach(r, cJSON_GetObjectItem(m, "reasons")) {
            table_row(t, 0, "  ", "ll");
            table_cell(t, "%s", "");
            table_cell(t, "failed: %s", cJSON_IsString(r) ? r->valuestring
                                                          : "");
        }
    }
    print_section("push klaviyo", t);
    printf("  last push: %s\n", status_str(k, "last_push")[0]
                                     ? status_str(k, "last_push")
                                     : "never");
    if (cJSON_GetObjectItem(k, "lag_seconds") != NULL)
        printf("  lag: the newest sale sent was accepted %.0f s after "
               "it was made\n", status_num(k, "lag_seconds"));
    if (status_str(k, "error")[0] != '\0')
        printf("  error: %s\n", status_str(k, "error"));
    if (status_str(k, "warning")[0] != '\0')
        printf("  warning: klaviyo: %s\n", status_str(k, "warning"));
}

static void
status_text(const cJSON *doc)
{
    printf("shop:  %s\nstore: %s\n", status_str(doc, "shop"),
           status_str(doc, "store"));
    status_pairs(doc, "counts", "store counts");
    status_runs(doc);
    if (cJSON_IsObject(cJSON_GetObjectItem(doc, "verify"))) {
        printf("\nlast verify: ");
        verify_print(cJSON_GetObjectItem(doc, "verify"), stdout);
    }
    status_pairs(doc, "bookmarks", "bookmarks");
    status_feeds(doc);
    status_left_out(doc);
    status_push_text(doc);
}

static int
cmd_status(struct cli *c, const struct args *a)
{
    struct pf_err err = {{0}};
    cJSON *doc;
    const cJSON *bad;
    struct stat st;

    if (load_config(c) != 0)
        return EXIT_USAGE;
    if (stat(c->cfg->store_path, &st) != 0) {
        log_error("no store at %s yet: run `posfeed sync` first",
                  c->cfg->store_path);
        return EXIT_RUNTIME;
    }
    if (store_open_readonly(c->cfg->store_path, &c->store, &err) != 0) {
        log_error("%s", err.msg);
        return EXIT_RUNTIME;
    }
    doc = status_doc(c->cfg, c->store);
    if (a->opts & OPT_JSON) {
        char *s = cJSON_Print(doc);

        puts(s);
        cJSON_free(s);
    }
    else {
        status_text(doc);
    }
    bad = cJSON_GetObjectItem(doc, "store_error");
    if (bad != NULL) {
        fflush(stdout);
        log_error("store %s: %s; the status above is incomplete",
                  c->cfg->store_path, bad->valuestring);
    }
    cJSON_Delete(doc);
    return bad != NULL ? EXIT_RUNTIME : 0;
}

static int
cmd_auth(struct cli *c, const struct args *a)
{
    struct pf_err err = {{0}};
    const struct source_type *t;

    if (load_config(c) != 0)
        return EXIT_USAGE;
    t = source_find(c->cfg->source.type);
    if (t == NULL || t->auth == NULL) {
        log_error("auth: %s: `posfeed auth` is for sources with OAuth; "
                  "[source] type = %s needs none", c->cfg->path,
                  c->cfg->source.type);
        return EXIT_USAGE;
    }
    if (t->auth(c->cfg, a->npos > 0 ? a->pos[0] : NULL, &err) != 0) {
        log_error("auth: %s", err.msg);
        return EXIT_RUNTIME;
    }
    return 0;
}

/* serve reads its own arguments (serve.h): hand it --listen and --shops
 * back. */
static int
cmd_serve(struct cli *c, const struct args *a)
{
    static char name[] = "serve", listen[] = "--listen",
                shops[] = "--shops";
    char *argv[6];
    int argc = 0;

    argv[argc++] = name;
    if (a->opts & OPT_LISTEN) {
        argv[argc++] = listen;
        argv[argc++] = a->listen;
    }
    if (a->opts & OPT_SHOPS) {
        argv[argc++] = shops;
        argv[argc++] = a->shops;
    }
    argv[argc] = NULL;
    return serve_main(c->config_path, argc, argv);
}

/* --days N: a whole number of days in 1..VERIFY_DAYS_MAX. */
static int
verify_days(const char *s, int *out)
{
    char *end;
    long n;

    if (s == NULL) {
        *out = VERIFY_DAYS_DEFAULT;
        return 0;
    }
    n = strtol(s, &end, 10);
    if (end == s || *end != '\0' || n < 1 || n > VERIFY_DAYS_MAX) {
        fprintf(stderr, "posfeed verify: --days '%s': expected a whole "
                "number of days from 1 to %d\n", s, VERIFY_DAYS_MAX);
        return -1;
    }
    *out = (int)n;
    return 0;
}

static int
cmd_verify(struct cli *c, const struct args *a)
{
    struct pf_err err = {{0}};
    struct verify_report r;
    struct stat st;
    cJSON *doc;
    int days, rc;

    if (verify_days(a->days, &days) != 0 || load_config(c) != 0)
        return EXIT_USAGE;
    if (stat(c->cfg->store_path, &st) != 0) {
        log_error("verify: no store at %s yet: run `posfeed sync` first",
                  c->cfg->store_path);
        return EXIT_RUNTIME;
    }
    if (open_store(c) != 0)
        return EXIT_RUNTIME;
    if (verify_run(c->cfg, c->store, days, NULL, &r, &err) != 0) {
        log_error("verify: %s", err.msg);
        verify_report_free(&r);
        return EXIT_RUNTIME;
    }
    if (verify_save(c->store, &r, &err) != 0)
        log_warn("verify: the result was not kept for status: %s",
                 err.msg);
    doc = verify_json(&r);
    if (a->opts & OPT_JSON) {
        char *s = cJSON_Print(doc);

        puts(s);
        cJSON_free(s);
    }
    else {
        verify_print(doc, stdout);
    }
    fflush(stdout);
    if (r.warning != NULL)
        log_warn("verify: %s", r.warning);
    if (r.error != NULL)
        log_error("verify: could not read %s", r.error);
    if (r.nflagged > 0)
        log_error("verify: %zu of %zu days flagged", r.nflagged, r.ndays);
    rc = r.error != NULL || r.nflagged > 0 ? EXIT_RUNTIME : 0;
    cJSON_Delete(doc);
    verify_report_free(&r);
    return rc;
}

/* ---- the command line --------------------------------------------------- */

static const struct command commands[] = {
    {"init", cmd_init, 0, 1,
     "usage: posfeed init [DIR]\n\n"
     "Writes DIR/posfeed.conf (default: the current folder), a\n"
     "commented starter configuration, and creates DIR/data, the empty\n"
     "folder it reads NDJSON files from, so `posfeed -c\n"
     "DIR/posfeed.conf check` passes at once. Never overwrites: an\n"
     "existing posfeed.conf is a usage error (exit 2).\n"},
    {"check", cmd_check, 0, 0,
     "usage: posfeed [-c FILE] check\n\n"
     "Validates the config and compiles every feed's template\n"
     "without touching the store or the feeds. Exit 2 on the\n"
     "first problem, with FILE:LINE.\n"},
    {"sync", cmd_sync_build, OPT_FULL | OPT_FORCE, 0,
     "usage: posfeed [-c FILE] sync [--full] [--force]\n\n"
     "Pulls from [source] into the store, incrementally.\n"
     "--full ignores the bookmarks and re-reads everything.\n"
     "A source file that looks incomplete (a bad line, no final\n"
     "newline, or a drop beyond [source] max_drop) removes\n"
     "nothing and fails the sync; --force removes anyway.\n"},
    {"build", cmd_sync_build, OPT_FORCE, -1,
     "usage: posfeed [-c FILE] build [--force] [FEED...]\n\n"
     "Renders the named feeds (default: all) from the store and\n"
     "publishes them atomically. A feed that fails validation or\n"
     "whose item count dropped by more than its max_drop is not\n"
     "published; --force publishes a valid feed despite the\n"
     "drop.\n"},
    {"run", cmd_sync_build, OPT_FULL | OPT_FORCE, 0,
     "usage: posfeed [-c FILE] run [--force] [--full]\n\n"
     "sync, then build every feed, then push to Klaviyo when\n"
     "[push klaviyo] is set. This is what the schedule and the\n"
     "trigger call. A failed sync builds nothing. --force applies\n"
     "to sync and build.\n"},
    {"push", cmd_push, 0, 0,
     "usage: posfeed [-c FILE] push\n\n"
     "deliver the events and profiles [push klaviyo] defines to\n"
     "Klaviyo, each exactly once. Exit 0 when nothing is left\n"
     "pending (delivered, or recorded as refused), 1 when a failure\n"
     "left items pending for the next push, 2 for a config error.\n"},
    {"status", cmd_status, OPT_JSON, 0,
     "usage: posfeed [-c FILE] status [--json]\n\n"
     "Shows the last runs (start, end, result, rows per stream,\n"
     "warnings), store counts, bookmarks and published feeds.\n"},
    {"auth", cmd_auth, 0, 1,
     "usage: posfeed [-c FILE] auth [CODE]\n\n"
     "Lightspeed Retail: prints the address where an employee\n"
     "approves posfeed, then trades the code (argument or stdin)\n"
     "for a refresh token stored in refresh_token_file.\n"},
    {"serve", cmd_serve, OPT_LISTEN | OPT_SHOPS, 0,
     "usage: posfeed [-c FILE] serve [--shops DIR] [--listen ADDR:PORT]\n\n"
     "Serves the published feeds over HTTP, runs the pipeline\n"
     "on the [sync] schedule and on POST /sync, and shows a\n"
     "status page. --listen overrides [serve] listen; port 0\n"
     "picks a free port (printed on stdout). --shops DIR (or\n"
     "[serve] shops in a server config) serves every DIR/NAME.conf\n"
     "as a shop under /NAME/.\n"},
    {"verify", cmd_verify, OPT_DAYS | OPT_JSON, 0,
     "usage: posfeed [-c FILE] verify [--days N] [--json]\n\n"
     "For each of the last N complete days (default 7) in the\n"
     "shop's timezone: orders in the POS (asked of the source),\n"
     "in the store, Placed Order events in the published events\n"
     "feed, sent to Klaviyo (the push ledger) and counted by\n"
     "Klaviyo. A difference no counted reason explains flags the\n"
     "day. Exit 1 when a day is flagged or a column could not be\n"
     "read, 2 for a config error. The result is kept for the\n"
     "status page.\n"},
    {"help", NULL, 0, 1,
     "usage: posfeed help [COMMAND]\n\n"
     "Prints the usage of posfeed, or of COMMAND.\n"},
};

static const struct command *
find_command(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* The first word that is not an option names the command; the rest are
 * its arguments. */
static int
add_word(struct args *a, char *word)
{
    if (a->cmd != NULL) {
        a->pos[a->npos++] = word;
        return 0;
    }
    a->cmd = find_command(word);
    if (a->cmd == NULL) {
        fprintf(stderr, "posfeed: unknown command '%s'; try `posfeed "
                "--help`\n", word);
        return -1;
    }
    return 0;
}

/* One line for a bad command line: what is wrong, then where to look. */
static int
usage_error(const struct args *a, const char *fmt, const char *what)
{
    fprintf(stderr, "posfeed%s%s: ", a->cmd ? " " : "",
            a->cmd ? a->cmd->name : "");
    fprintf(stderr, fmt, what);
    fprintf(stderr, "; try `posfeed %s%s--help`\n",
            a->cmd ? a->cmd->name : "", a->cmd ? " " : "");
    return -1;
}

/* getopt_long's answer for one option. Global options act at once
 * wherever they stand; a command's options are noted and checked against
 * the command once it is known. */
static int
take_option(struct cli *c, struct args *a, int opt, char **argv)
{
    char bad[3] = {'-', (char)optopt, '\0'};

    switch (opt) {
    case 1:
        return add_word(a, optarg);
    case 'c':
        c->config_path = optarg;
        return 0;
    case 'v':
        pf_log_set_level(PF_LOG_DEBUG);
        return 0;
    case 'q':
        pf_log_set_level(PF_LOG_WARN);
        return 0;
    case 'h':
        a->help = 1;
        return 0;
    case ':':
        return usage_error(a, "%s needs a value",
                           optopt == 'c' ? "-c" : argv[optind - 1]);
    case '?':
        /* optopt is the letter of an unknown short option, 0 or a long
         * option's value otherwise; then argv[optind - 1] is the word. */
        return usage_error(a, "unknown option '%s'",
                           optopt > 0 && optopt < 256 ? bad
                                                      : argv[optind - 1]);
    default:
        a->opts |= (unsigned)opt >> 8;
        if (opt == OPT_LISTEN << 8)
            a->listen = optarg;
        if (opt == OPT_DAYS << 8)
            a->days = optarg;
        if (opt == OPT_SHOPS << 8)
            a->shops = optarg;
        return 0;
    }
}

/* The command's options and number of arguments. */
static int
check_args(const struct args *a)
{
    static const char *const names[] = {"--full", "--force", "--json",
                                        "--listen", "--days", "--shops"};
    unsigned extra;
    int i;

    if (a->cmd == NULL || a->help)
        return 0;
    extra = a->opts & ~a->cmd->opts;
    for (i = 0; extra != 0 && i < 6; i++)
        if (extra & (1u << i))
            return usage_error(a, "unknown option '%s'", names[i]);
    if (a->cmd->max_pos >= 0 && a->npos > a->cmd->max_pos)
        return usage_error(a, "unexpected argument '%s'",
                           a->pos[a->cmd->max_pos]);
    return 0;
}

/* Reads the whole command line. The leading '-' makes getopt_long hand
 * over every other word in order (a GNU extension, like getopt_long
 * itself), so options can come before or after the command; "--" ends
 * them and what follows is arguments (say, a feed named "-x"). */
static int
parse_args(struct cli *c, int argc, char **argv, struct args *a)
{
    static const struct option longs[] = {
        {"help", no_argument, NULL, 'h'},
        {"full", no_argument, NULL, OPT_FULL << 8},
        {"force", no_argument, NULL, OPT_FORCE << 8},
        {"json", no_argument, NULL, OPT_JSON << 8},
        {"listen", required_argument, NULL, OPT_LISTEN << 8},
        {"days", required_argument, NULL, OPT_DAYS << 8},
        {"shops", required_argument, NULL, OPT_SHOPS << 8},
        {NULL, 0, NULL, 0},
    };
    int opt;

    memset(a, 0, sizeof(*a));
    a->pos = xcalloc((size_t)argc + 1, sizeof(char *));
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "-:c:vqh", longs, NULL)) != -1)
        if (take_option(c, a, opt, argv) != 0)
            return -1;
    for (; optind < argc; optind++)
        if (add_word(a, argv[optind]) != 0)
            return -1;
    return check_args(a);
}

/* `posfeed help [COMMAND]`, `posfeed [COMMAND] --help`: on stdout. */
static int
print_help(const struct args *a)
{
    const struct command *cmd = a->cmd;

    if (cmd != NULL && strcmp(cmd->name, "help") == 0)
        cmd = a->npos > 0 ? find_command(a->pos[0]) : NULL;
    if (cmd == NULL && a->npos > 0) {
        fprintf(stderr, "posfeed help: unknown command '%s'; try "
                "`posfeed --help`\n", a->pos[0]);
        return EXIT_USAGE;
    }
    fputs(cmd != NULL ? cmd->usage : usage_main, stdout);
    return 0;
}

int
main(int argc, char **argv)
{
    struct cli c;
    struct args a;
    int rc;

    memset(&c, 0, sizeof(c));
    c.config_path = "posfeed.conf";
    c.lock_fd = -1;
    if (parse_args(&c, argc, argv, &a) != 0) {
        rc = EXIT_USAGE;
    }
    else if (a.help || (a.cmd != NULL && a.cmd->run == NULL)) {
        rc = print_help(&a);
    }
    else if (a.cmd == NULL) {
        fputs(usage_main, stderr);
        rc = EXIT_USAGE;
    }
    else {
        rc = a.cmd->run(&c, &a);
    }
    free(a.pos);
    store_close(c.store);
    if (c.lock_fd >= 0)
        close(c.lock_fd);
    pf_config_free(c.cfg);
    return rc;
}
