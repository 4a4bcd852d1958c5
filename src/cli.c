/* cli.c - posfeed's command line: init, check, sync, build, run, status.
 *
 * Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
 * Everything for people goes to stderr; `status --json` and the build
 * summary are the only stdout output.
 */
/* realpath() is an XSI interface. */
#define _XOPEN_SOURCE 700

#include <cjson/cJSON.h>
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
#include "publish.h"
#include "source_file.h"
#include "source_lsr.h"
#include "serve.h"
#include "status.h"
#include "store.h"
#include "sync.h"
#include "template.h"
#include "timeutil.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

struct cli {
    const char *config_path;
    struct pf_config *cfg;
    struct store *store;
    int lock_fd;
};

static const char usage_main[] =
    "usage: posfeed [-c FILE] [-v|-q] COMMAND [ARGS]\n"
    "\n"
    "Turns a shop's POS data into feeds for Clerk.io, Klaviyo, Google and\n"
    "Meta.\n"
    "\n"
    "commands:\n"
    "  init [DIR]        write a commented starter posfeed.conf\n"
    "  check             validate the config and every template\n"
    "  sync [--full] [--force]\n"
    "                    pull from the source into the store\n"
    "  build [--force] [FEED...]\n"
    "                    render feeds from the store and publish them\n"
    "  run [--force]     sync, then build every feed\n"
    "  status [--json]   last runs, store counts, bookmarks, feeds\n"
    "  auth [CODE]       authorize posfeed with Lightspeed Retail\n"
    "  serve [--listen ADDR:PORT]\n"
    "                    serve feeds over HTTP, run the schedule\n"
    "\n"
    "options:\n"
    "  -c FILE   config file (default ./posfeed.conf)\n"
    "  -v        more detail    -q  only warnings and errors\n"
    "  -h, --help  this text; `posfeed COMMAND --help` for a command\n";

static const char *const usage_cmd[][2] = {
    {"init", "usage: posfeed init [DIR]\n\n"
             "Writes DIR/posfeed.conf (default: the current folder), a\n"
             "commented starter configuration. Never overwrites.\n"},
    {"check", "usage: posfeed [-c FILE] check\n\n"
              "Validates the config and compiles every feed's template\n"
              "without touching the store or the feeds. Exit 2 on the\n"
              "first problem, with FILE:LINE.\n"},
    {"sync", "usage: posfeed [-c FILE] sync [--full] [--force]\n\n"
             "Pulls from [source] into the store, incrementally.\n"
             "--full ignores the bookmarks and re-reads everything.\n"
             "A source file that looks incomplete (a bad line, no final\n"
             "newline, or a drop beyond [source] max_drop) removes\n"
             "nothing and fails the sync; --force removes anyway.\n"},
    {"build", "usage: posfeed [-c FILE] build [--force] [FEED...]\n\n"
              "Renders the named feeds (default: all) from the store and\n"
              "publishes them atomically. A feed that fails validation or\n"
              "whose item count dropped by more than its max_drop is not\n"
              "published; --force publishes a valid feed despite the\n"
              "drop.\n"},
    {"run", "usage: posfeed [-c FILE] run [--force] [--full]\n\n"
            "sync, then build every feed. This is what the schedule and\n"
            "the trigger call. A failed sync builds nothing. --force\n"
            "applies to both steps.\n"},
    {"serve", "usage: posfeed [-c FILE] serve [--listen ADDR:PORT]\n\n"
              "Serves the published feeds over HTTP, runs the pipeline\n"
              "on the [sync] schedule and on POST /sync, and shows a\n"
              "status page. --listen overrides [serve] listen; port 0\n"
              "picks a free port (printed on stdout).\n"},
    {"auth", "usage: posfeed [-c FILE] auth [CODE]\n\n"
             "Lightspeed Retail: prints the address where an employee\n"
             "approves posfeed, then trades the code (argument or stdin)\n"
             "for a refresh token stored in refresh_token_file.\n"},
    {"status", "usage: posfeed [-c FILE] status [--json]\n\n"
               "Shows the last runs (start, end, result, rows per stream,\n"
               "warnings), store counts, bookmarks and published feeds.\n"},
};

static int
wants_help(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

static int
print_cmd_help(const char *cmd)
{
    size_t i;

    for (i = 0; i < sizeof(usage_cmd) / sizeof(usage_cmd[0]); i++) {
        if (strcmp(usage_cmd[i][0], cmd) == 0) {
            fputs(usage_cmd[i][1], stdout);
            return 0;
        }
    }
    fputs(usage_main, stdout);
    return 0;
}

static int
print_usage_error(const char *cmd)
{
    size_t i;

    for (i = 0; i < sizeof(usage_cmd) / sizeof(usage_cmd[0]); i++)
        if (strcmp(usage_cmd[i][0], cmd) == 0)
            fputs(usage_cmd[i][1], stderr);
    return EXIT_USAGE;
}

/* Flags after the command: only the ones listed are accepted. */
static int
parse_flags(const char *cmd, int argc, char **argv, const char *const *ok,
            int *set, char ***rest, int *nrest)
{
    int i, k;

    *nrest = 0;
    *rest = argv + 1;
    for (i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1] == '-') {
            for (k = 0; ok[k] != NULL; k++)
                if (strcmp(argv[i], ok[k]) == 0)
                    break;
            if (ok[k] == NULL) {
                fprintf(stderr, "posfeed %s: unknown option '%s'\n%s", cmd,
                        argv[i], "try `posfeed COMMAND --help`\n");
                return -1;
            }
            set[k] = 1;
        }
        else {
            (*rest)[(*nrest)++] = argv[i];
        }
    }
    return 0;
}

static int
load_config(struct cli *c)
{
    struct pf_err err = {{0}};

    if (pf_config_load(c->config_path, &c->cfg, &err) != 0) {
        fprintf(stderr, "posfeed: %s\n", err.msg);
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

static int
cmd_init(int argc, char **argv)
{
    struct pf_err err = {{0}};
    const char *dir = argc > 1 ? argv[1] : ".";

    if (argc > 2) {
        fprintf(stderr, "%s", usage_cmd[0][1]);
        return EXIT_USAGE;
    }
    if (pf_config_write_starter(dir, &err) != 0) {
        log_error("%s", err.msg);
        return EXIT_RUNTIME;
    }
    log_info("wrote %s/posfeed.conf: edit [shop] and [source], then run "
             "`posfeed -c %s/posfeed.conf check`", dir, dir);
    return 0;
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

/* Compiles the templates of the named feeds (all when nnames is 0), so a
 * broken template is a configuration error before any work starts. */
static int
check_templates(struct cli *c, char **names, int nnames, int verbose)
{
    struct pf_err err = {{0}};
    size_t i;
    int k, want;

    for (i = 0; i < c->cfg->nfeeds; i++) {
        const struct pf_feed_cfg *fc = &c->cfg->feeds[i];
        struct tpl *t = NULL;

        want = nnames == 0;
        for (k = 0; k < nnames; k++)
            want |= strcmp(names[k], fc->name) == 0;
        if (!want)
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
        if (feed_check(c->cfg, fc, t, &err) != 0) {
            fprintf(stderr, "posfeed: %s\n", err.msg);
            tpl_free(t);
            return -1;
        }
        report_access(fc, t, verbose);
        tpl_free(t);
    }
    return 0;
}

/* Secrets: a file that is missing or unreadable now will be at serve or
 * sync time too; an environment variable may well be set only where
 * posfeed serve runs, so its absence here is a warning. */
static int
check_secrets(struct cli *c)
{
    struct pf_err err = {{0}};
    const struct pf_secret *env[2];
    const char *names[2] = {"[serve] token", "[source] client_secret"};
    int i;

    if (pf_config_check_files(c->cfg, &err) != 0) {
        fprintf(stderr, "posfeed: %s\n", err.msg);
        return -1;
    }
    env[0] = &c->cfg->serve.token;
    env[1] = &c->cfg->source.client_secret;
    for (i = 0; i < 2; i++)
        if (pf_secret_env_missing(env[i]))
            log_warn("%s:%d: %s = env:%s: the variable is not set here; "
                     "set it where posfeed runs", c->cfg->path,
                     env[i]->line, names[i], env[i]->env);
    return 0;
}

static int
cmd_check(struct cli *c)
{
    struct stat st;

    if (load_config(c) != 0 || check_templates(c, NULL, 0, 1) != 0 ||
        check_secrets(c) != 0)
        return EXIT_USAGE;
    if (c->cfg->source.type == PF_SRC_FILE &&
        (stat(c->cfg->source.path, &st) != 0 || !S_ISDIR(st.st_mode)))
        log_warn("[source] path %s is not a folder yet",
                 c->cfg->source.path);
    log_info("%s: ok (%zu feed%s)", c->cfg->path, c->cfg->nfeeds,
             c->cfg->nfeeds == 1 ? "" : "s");
    return 0;
}

/* ---- sync / build / run ------------------------------------------------- */

/* The file source's options from [source]. */
static void
file_opts(const struct cli *c, int full, int force,
          struct source_file_opts *o)
{
    source_file_opts_init(o);
    o->dir = c->cfg->source.path;
    o->default_currency = c->cfg->currency;
    o->full = full;
    o->force = force;
    o->max_drop = c->cfg->source.max_drop;
    o->max_line = (size_t)c->cfg->source.max_line;
}

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
    struct source_file_opts fo;
    double t0 = pf_now_mono();
    int64_t rows = 0;
    int i, rc;

    sync_report_init(&rep, c->store, run_id);
    switch (c->cfg->source.type) {
    case PF_SRC_FILE:
        file_opts(c, full, force, &fo);
        rc = source_file_sync(c->store, &fo, &rep, &err);
        break;
    case PF_SRC_LIGHTSPEED_RETAIL:
        rc = source_lsr_run(c->store, c->cfg, full, &rep, &err);
        break;
    default:
        pf_errf(&err, "source type not supported by this build");
        rc = -1;
        break;
    }
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

static int
do_build(struct cli *c, int64_t run_id, char **names, int nnames,
         int force)
{
    struct pf_err err = {{0}};
    int removed = 0, failed = 0, i;
    size_t k;

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
    for (k = 0; k < c->cfg->nfeeds; k++) {
        const struct pf_feed_cfg *fc = &c->cfg->feeds[k];
        struct feed_result res;
        char b1[32], b2[32], *shown;
        int want = nnames == 0;

        for (i = 0; i < nnames; i++)
            want |= strcmp(names[i], fc->name) == 0;
        if (!want)
            continue;
        if (feed_build(c->cfg, fc, c->store, force, &res, &err) != 0) {
            log_store_error(c, err.msg);
            store_run_warning(c->store, run_id, err.msg);
            failed++;
            /* The other feeds would read the same damaged file. */
            if (store_damaged(c->store))
                break;
            continue;
        }
        store_run_count(c->store, run_id, fc->name, res.items, 0, NULL);
        pf_human_bytes(res.bytes, b1);
        pf_human_bytes(res.gz_bytes, b2);
        shown = realpath(res.path, NULL);
        printf("  %-18s %8lld items  %9s", fc->name, (long long)res.items,
               b1);
        if (fc->gzip)
            printf("  (gz %s)", b2);
        if (res.parts > 1)
            printf("  in %d parts", res.parts);
        printf("  %.2f s  %s  [%s]\n", res.seconds,
               shown ? shown : res.path, res.access);
        print_left_out(res.left_out, (const char *const *)res.reasons,
                       res.reason_items, res.nreasons);
        free(shown);
        feed_result_free(&res);
    }
    fflush(stdout);
    return failed ? -1 : 0;
}

static int
cmd_sync_build(struct cli *c, const char *cmd, int argc, char **argv)
{
    static const char *const flags[] = {"--full", "--force", NULL};
    int set[3] = {0}, nrest, rc = EXIT_RUNTIME, b;
    char **rest;
    int64_t run_id = 0;
    struct pf_err err = {{0}};
    double t0 = pf_now_mono();
    char checked[256];

    if (parse_flags(cmd, argc, argv, flags, set, &rest, &nrest) != 0)
        return EXIT_USAGE;
    if (strcmp(cmd, "build") != 0 && nrest > 0) {
        fprintf(stderr, "posfeed %s: unexpected argument '%s'\n", cmd,
                rest[0]);
        return EXIT_USAGE;
    }
    if (load_config(c) != 0)
        return EXIT_USAGE;
    if (strcmp(cmd, "sync") != 0 &&
        check_templates(c, rest, nrest, 0) != 0)
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
    if (strcmp(cmd, "build") != 0 &&
        do_sync(c, run_id, set[0], set[1]) != 0)
        return EXIT_RUNTIME;
    if (strcmp(cmd, "sync") != 0) {
        printf("feeds:\n");
        b = do_build(c, run_id, rest, nrest, set[1]);
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
    if (store_run_end(c->store, run_id, "ok", NULL, &err) != 0) {
        log_error("%s", err.msg);
        return EXIT_RUNTIME;
    }
    log_info("%s done in %.2f s", cmd, pf_now_mono() - t0);
    rc = 0;
    return rc;
}

/* ---- status ------------------------------------------------------------- */

/* After the published feeds: what each one's last build left out and
 * why, for the feeds that left rows out. */
static void
status_left_out(const cJSON *doc)
{
    const cJSON *e, *r;
    const char *sep;
    double n;
    int first = 1;

    cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, "feeds")) {
        /* NaN (a store from before left-out counts) is not > 0. */
        n = cJSON_GetNumberValue(cJSON_GetObjectItem(e, "left_out"));
        if (!(n > 0))
            continue;
        if (first)
            printf("\nleft out by the last build (a required field was "
                   "empty):\n");
        first = 0;
        printf("  %s: %.0f (", cJSON_GetObjectItem(e, "name")->valuestring,
               n);
        sep = "";
        cJSON_ArrayForEach(r, cJSON_GetObjectItem(e, "left_out_reasons")) {
            printf("%s%s: %.0f", sep, r->string, r->valuedouble);
            sep = ", ";
        }
        printf(")\n");
    }
}

static void
status_text(const cJSON *doc)
{
    const cJSON *e, *f;

    printf("shop:  %s\nstore: %s\n\nstore counts:\n",
           cJSON_GetObjectItem(doc, "shop")->valuestring,
           cJSON_GetObjectItem(doc, "store")->valuestring);
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, "counts"))
        printf("  %-12s %10.0f\n", e->string, e->valuedouble);
    printf("\nlast runs:\n");
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, "runs")) {
        const cJSON *ended = cJSON_GetObjectItem(e, "ended");
        const cJSON *error = cJSON_GetObjectItem(e, "error");

        printf("  #%-4.0f %-6s %s -> %s  %-8s %3.0f warnings",
               cJSON_GetObjectItem(e, "id")->valuedouble,
               cJSON_GetObjectItem(e, "kind")->valuestring,
               cJSON_GetObjectItem(e, "started")->valuestring,
               ended ? ended->valuestring : "(running or killed)",
               cJSON_GetObjectItem(e, "result")->valuestring,
               cJSON_GetObjectItem(e, "warnings")->valuedouble);
        if (error != NULL)
            printf("  error: %s", error->valuestring);
        printf("\n");
        cJSON_ArrayForEach(f, cJSON_GetObjectItem(e, "rows"))
            printf("         %-22s %10.0f rows\n", f->string,
                   f->valuedouble);
    }
    printf("\nbookmarks:\n");
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, "bookmarks"))
        printf("  %-12s %s\n", e->string, e->valuestring);
    printf("\npublished feeds:\n");
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, "feeds"))
        printf("  %-18s %-28s %10.0f bytes %8.0f items  %s  %.2f s  "
               "sha256 %.16s…  %s\n",
               cJSON_GetObjectItem(e, "name")->valuestring,
               cJSON_GetObjectItem(e, "path")->valuestring,
               cJSON_GetObjectItem(e, "bytes")->valuedouble,
               cJSON_GetObjectItem(e, "items")->valuedouble,
               cJSON_GetObjectItem(e, "published")->valuestring,
               cJSON_GetObjectItem(e, "build_seconds")->valuedouble,
               cJSON_GetObjectItem(e, "sha256")->valuestring,
               cJSON_GetObjectItem(e, "access")->valuestring);
    status_left_out(doc);
}

static int
cmd_status(struct cli *c, int argc, char **argv)
{
    static const char *const flags[] = {"--json", NULL};
    int set[1] = {0}, nrest;
    char **rest;
    struct pf_err err = {{0}};
    cJSON *doc;
    const cJSON *bad;
    struct stat st;

    if (parse_flags("status", argc, argv, flags, set, &rest, &nrest) != 0)
        return EXIT_USAGE;
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
    if (set[0]) {
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
cmd_auth(struct cli *c, int argc, char **argv)
{
    struct pf_err err = {{0}};

    if (argc > 2)
        return print_usage_error("auth");
    if (load_config(c) != 0)
        return EXIT_USAGE;
    if (source_lsr_auth(c->cfg, argc > 1 ? argv[1] : NULL, &err) != 0) {
        log_error("auth: %s", err.msg);
        return EXIT_RUNTIME;
    }
    log_info("authorized; refresh token stored in %s",
             c->cfg->source.refresh_token_file);
    return 0;
}

int
main(int argc, char **argv)
{
    struct cli c;
    const char *cmd;
    int opt, rc;

    memset(&c, 0, sizeof(c));
    c.config_path = "posfeed.conf";
    c.lock_fd = -1;
    /* Options before the command only; getopt must not permute. */
    while ((opt = getopt(argc, argv, "+c:vqh")) != -1) {
        switch (opt) {
        case 'c':
            c.config_path = optarg;
            break;
        case 'v':
            pf_log_set_level(PF_LOG_DEBUG);
            break;
        case 'q':
            pf_log_set_level(PF_LOG_WARN);
            break;
        case 'h':
            fputs(usage_main, stdout);
            return 0;
        default:
            fputs(usage_main, stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fputs(usage_main, stderr);
        return EXIT_USAGE;
    }
    cmd = argv[optind];
    argc -= optind;
    argv += optind;
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (wants_help(argc, argv))
        return print_cmd_help(cmd);

    if (strcmp(cmd, "init") == 0)
        rc = cmd_init(argc, argv);
    else if (strcmp(cmd, "check") == 0)
        rc = argc > 1 ? print_usage_error("check") : cmd_check(&c);
    else if (strcmp(cmd, "sync") == 0 || strcmp(cmd, "build") == 0 ||
             strcmp(cmd, "run") == 0)
        rc = cmd_sync_build(&c, cmd, argc, argv);
    else if (strcmp(cmd, "serve") == 0)
        rc = serve_main(c.config_path, argc, argv);
    else if (strcmp(cmd, "status") == 0)
        rc = cmd_status(&c, argc, argv);
    else if (strcmp(cmd, "auth") == 0)
        rc = cmd_auth(&c, argc, argv);
    else {
        fprintf(stderr, "posfeed: unknown command '%s'\n\n%s", cmd,
                usage_main);
        rc = EXIT_USAGE;
    }
    store_close(c.store);
    if (c.lock_fd >= 0)
        close(c.lock_fd);
    pf_config_free(c.cfg);
    return rc;
}
