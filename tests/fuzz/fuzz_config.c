/* fuzz_config.c - the config loader.
 *
 * The input is written as posfeed.conf into a private temp folder (with
 * an empty data/ folder for a file source) and loaded, built-in
 * templates coming from the repository's templates/ (run from the
 * repository root, as make does). Properties:
 * - a refused file gets a message that names it;
 * - a loaded one is consistent: every value is within what the loader
 *   promises (a known zone, a three-letter currency, an http(s) URL,
 *   ports and limits in range, a schedule that can run), and every feed
 *   has a unique name, a readable template, an output inside feeds_dir
 *   that no other feed writes, and rules that compile.
 * Nothing is written outside the temp folder, which goes at exit (a
 * crash leaves it, with the input, in /tmp/posfeed-fuzz-config-*).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "rules.h"
#include "source.h"
#include "timeutil.h"
#include "util.h"

static char dir[64];
static char conf[128];
static char data_dir[128];

static void
remove_dir(void)
{
    unlink(conf);
    rmdir(data_dir);
    rmdir(dir);
}

static void
check(int ok)
{
    if (!ok)
        abort();
}

static int
is_http_url(const char *s)
{
    return (strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0)
           && s[strlen(s) - 1] != '/';
}

static int
is_currency(const char *s)
{
    return strlen(s) == 3 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' &&
           s[1] <= 'Z' && s[2] >= 'A' && s[2] <= 'Z';
}

static int
is_dir(const char *p)
{
    struct stat st;

    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void
check_shop(const struct pf_config *c)
{
    check(strcmp(c->path, conf) == 0 && strcmp(c->dir, dir) == 0);
    check(c->shop_name && c->timezone && pf_tz_valid(c->timezone));
    check(c->currency && is_currency(c->currency));
    check(c->shop_url && is_http_url(c->shop_url));
    check(c->store_path && c->feeds_dir);
}

/* [source]: a registered type, and every key of its table as the table
 * says: required ones set, folders folders, numbers within bounds, URLs
 * http(s) without a trailing slash. */
static void
check_source(const struct pf_config *c)
{
    const struct pf_source_cfg *s = &c->source;
    const struct pf_key_def *k = s->schema.keys;

    check(s->type && source_find(s->type) != NULL);
    check(k == source_find(s->type)->keys);
    for (size_t i = 0; k[i].name != NULL; i++) {
        const struct pf_source_val *v = &s->vals[i];
        long n;

        check(!k[i].required || v->set);
        if (!v->set)
            continue;
        switch (k[i].kind) {
        case PF_KEY_DIR:
            check(is_dir(pf_source_str(s, k[i].name)));
            break;
        case PF_KEY_URL:
            check(is_http_url(pf_source_str(s, k[i].name)));
            check(pf_source_str(s, k[i].name)[strlen(pf_source_str(
                  s, k[i].name)) - 1] != '/');
            break;
        case PF_KEY_SECONDS: case PF_KEY_INT:
            n = pf_source_long(s, k[i].name);
            check((k[i].min == 0 && k[i].max == 0) ||
                  (n >= k[i].min && n <= k[i].max));
            break;
        case PF_KEY_SECRET:
            check(pf_secret_is_set(pf_source_secret(s, k[i].name)));
            break;
        default:
            break;
        }
    }
}

static void
check_schedule_serve(const struct pf_config *c)
{
    const struct pf_schedule *s = &c->schedule;
    const struct pf_serve_cfg *v = &c->serve;

    check(s->kind <= PF_SCHED_EVERY);
    if (s->kind == PF_SCHED_DAILY)
        check(s->hour >= 0 && s->hour <= 23 && s->minute >= 0 &&
              s->minute <= 59);
    if (s->kind == PF_SCHED_EVERY)
        check(s->interval_s > 0 && s->interval_s <= 7L * 86400);
    check(v->listen_addr && v->port >= 1 && v->port <= 65535);
    check(v->max_connections >= 1 && v->max_connections <= 100000);
    check(v->per_ip_limit >= 1 && v->per_ip_limit <= 100000);
    check(v->timeout_s >= 1 && v->timeout_s <= 86400);
}

static void
check_sync(const struct pf_sync_settings *s)
{
    check(s->attributes <= PF_ATTR_NONE);
    check(s->lookback_all || (s->lookback_n >= 0 &&
                              s->lookback_unit <= PF_SPAN_YEARS));
    check(s->variant_stock_tracking <= PF_TRACK_PARENT);
}

static void
check_feed(const struct pf_config *c, size_t i)
{
    const struct pf_feed_cfg *f = &c->feeds[i];
    struct rules *r = NULL;
    struct pf_err err;
    size_t j;

    check(f->name && f->name[0] && pf_config_feed(c, f->name) == f);
    check(f->template_spec && f->template_path &&
          access(f->template_path, R_OK) == 0);
    check(f->output && pf_path_is_contained(f->output));
    for (j = 0; j < i; j++)
        check(strcmp(c->feeds[j].output, f->output) != 0);
    check(f->access <= PF_ACCESS_PUBLIC);
    check(f->max_drop >= 0 && f->max_drop <= 1);
    check(f->max_file_size == 0 || f->max_file_size >= 1024 * 1024);
    check_sync(&f->sync);
    check(rules_compile(f->rules, f->nrules, c->path, &r, &err) == 0);
    rules_free(r);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char cwd[4096], *templates;

    (void)argc;
    (void)argv;
    if (!getcwd(cwd, sizeof cwd))
        abort();
    templates = pf_path_join(cwd, "templates");
    setenv("POSFEED_TEMPLATES", templates, 1);
    free(templates);
    snprintf(dir, sizeof dir, "/tmp/posfeed-fuzz-config-XXXXXX");
    if (!mkdtemp(dir))
        abort();
    snprintf(conf, sizeof conf, "%s/posfeed.conf", dir);
    snprintf(data_dir, sizeof data_dir, "%s/data", dir);
    if (mkdir(data_dir, 0755) != 0)
        abort();
    atexit(remove_dir);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pf_config *c = NULL;
    struct pf_err err;
    int fd = open(conf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    size_t i;

    if (fd < 0 || write(fd, data, size) != (ssize_t)size || close(fd) != 0)
        abort();
    err.msg[0] = '\0';
    if (pf_config_load(conf, source_schema, &c, &err) != 0) {
        check(c == NULL && strstr(err.msg, conf) != NULL);
        return 0;
    }
    check_shop(c);
    check_source(c);
    check_schedule_serve(c);
    check_sync(&c->sync);
    for (i = 0; i < c->nfeeds; i++)
        check_feed(c, i);
    pf_config_free(c);
    return 0;
}
