/* test_config.c - posfeed.conf loading: every validation rule with its
 * FILE:LINE message, defaults, per-feed overrides, path resolution,
 * secrets and the starter config. */
#include <dirent.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "source.h"
#include "source_lsr.h"

static char g_dir[64];          /* per-run scratch folder */
static char g_tpl[64];          /* built-in templates for this run */
static char g_conf[128];        /* g_dir/t.conf */

/* The [shop] and [source] every test starts from: lines 1-8. */
#define BASE                                   \
    "[shop]\n"                                 \
    "name = Test Shop\n"                       \
    "timezone = Europe/Amsterdam\n"            \
    "currency = EUR\n"                         \
    "url = https://shop.example.com/\n"        \
    "[source]\n"                               \
    "type = file\n"                            \
    "path = data\n"

/* A Lightspeed Retail [source] without its client secret: the next line
 * is 11. */
#define LSR_BASE                               \
    "[shop]\n"                                 \
    "name = Test Shop\n"                       \
    "timezone = Europe/Amsterdam\n"            \
    "currency = EUR\n"                         \
    "url = https://shop.example.com/\n"        \
    "[source]\n"                               \
    "type = lightspeed-retail\n"               \
    "account_id = 1\n"                         \
    "client_id = c\n"                          \
    "refresh_token_file = rt\n"

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static struct pf_config *
load_ok(const char *text)
{
    struct pf_config *c = NULL;
    struct pf_err err = { "" };

    write_file(g_conf, text);
    if (pf_config_load(g_conf, source_schema, &c, &err) != 0)
        fail_msg("load failed: %s", err.msg);
    assert_non_null(c);
    return c;
}

/* Loading text must fail with "CONF:LINE: ..." (or "CONF: ..." for line
 * 0) and the message must contain each of the needles. */
static void
expect_err(const char *text, int line, const char *n1, const char *n2)
{
    struct pf_config *c = NULL;
    struct pf_err err = { "" };
    char prefix[192];

    write_file(g_conf, text);
    if (pf_config_load(g_conf, source_schema, &c, &err) == 0) {
        pf_config_free(c);
        fail_msg("load succeeded; expected an error containing '%s'", n1);
    }
    assert_null(c);
    if (line > 0)
        snprintf(prefix, sizeof(prefix), "%s:%d: ", g_conf, line);
    else
        snprintf(prefix, sizeof(prefix), "%s: ", g_conf);
    if (strncmp(err.msg, prefix, strlen(prefix)) != 0)
        fail_msg("expected prefix '%s', got '%s'", prefix, err.msg);
    if (n1 && strstr(err.msg, n1) == NULL)
        fail_msg("'%s' not in '%s'", n1, err.msg);
    if (n2 && strstr(err.msg, n2) == NULL)
        fail_msg("'%s' not in '%s'", n2, err.msg);
}

static char *
in_dir(const char *rel)
{
    static char buf[4][256];
    static int k;

    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", g_dir, rel);
    return buf[k];
}

static void
rm_rf(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *de;

    if (lstat(path, &st) != 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        unlink(path);
        return;
    }
    d = opendir(path);
    if (d) {
        while ((de = readdir(d)) != NULL) {
            char sub[PATH_MAX];

            if (strcmp(de->d_name, ".") == 0 ||
                strcmp(de->d_name, "..") == 0)
                continue;
            snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
            rm_rf(sub);
        }
        closedir(d);
    }
    rmdir(path);
}

/* ---- defaults and values ------------------------------------------- */

static void
test_defaults(void **state)
{
    struct pf_config *c;

    (void)state;
    c = load_ok(BASE);
    assert_string_equal(c->path, g_conf);
    assert_string_equal(c->dir, g_dir);
    assert_string_equal(c->shop_name, "Test Shop");
    assert_string_equal(c->timezone, "Europe/Amsterdam");
    assert_string_equal(c->currency, "EUR");
    /* The trailing '/' is gone so links can be built as url + "/x". */
    assert_string_equal(c->shop_url, "https://shop.example.com");
    assert_string_equal(c->store_path, in_dir("posfeed.db"));
    assert_string_equal(c->feeds_dir, in_dir("feeds"));
    assert_string_equal(c->source.type, "file");
    assert_string_equal(pf_source_str(&c->source, "path"), in_dir("data"));
    assert_false(pf_source_has(&c->source, "client_secret"));

    assert_int_equal(c->sync.attributes, PF_ATTR_AUTO);
    assert_int_equal(c->sync.custom_attributes.n, 0);
    assert_int_equal(c->sync.lookback_all, 1);
    assert_int_equal(c->sync.accepted_order_statuses.n, 1);
    assert_true(pf_strlist_has(&c->sync.accepted_order_statuses,
                               "completed"));
    assert_int_equal(c->sync.include_out_of_stock, 1);
    assert_int_equal(c->sync.collect_emails, 0);
    assert_int_equal(c->sync.include_customers, 0);
    assert_int_equal(c->sync.include_variants, 1);
    assert_int_equal(c->sync.include_variant_stock, 0);
    assert_int_equal(c->sync.variant_stock_tracking, PF_TRACK_VARIANTS);
    assert_int_equal(c->sync.include_hidden_categories, 0);
    assert_int_equal(c->schedule.kind, PF_SCHED_ON_DEMAND);

    assert_int_equal(c->nfeeds, 0);
    assert_null(pf_config_feed(c, "clerk"));

    assert_string_equal(c->serve.listen_addr, "127.0.0.1");
    assert_int_equal(c->serve.port, 8080);
    assert_false(pf_secret_is_set(&c->serve.token));
    assert_int_equal(c->serve.max_connections, 1024);
    assert_int_equal(c->serve.per_ip_limit, 8);
    assert_int_equal(c->serve.timeout_s, 30);
    assert_int_equal(c->serve.header_timeout_s, 10);
    pf_config_free(c);
}

static void
test_all_values(void **state)
{
    struct pf_config *c;

    (void)state;
    c = load_ok(BASE
                "# a comment\n"
                "; another comment\n"
                "[sync]\n"
                "attributes = NONE\n"
                "custom_attributes = brand, season ,, material \n"
                "orders_lookback = 2 years\n"
                "accepted_order_statuses = completed, shipped\n"
                "include_out_of_stock = off\n"
                "collect_emails = TRUE\n"
                "include_customers = 1\n"
                "  include_variants = no\n"
                "include_variant_stock = On\n"
                "variant_stock_tracking = parent\n"
                "include_hidden_categories = yes ; inline comment\n"
                "schedule = daily 03:30\n"
                "[serve]\n"
                "listen = 0.0.0.0:9090\n"
                "max_connections = 200\n"
                "per_ip_limit = 4\n"
                "timeout = 10\n"
                "header_timeout = 5\n");
    assert_int_equal(c->sync.attributes, PF_ATTR_NONE);
    assert_int_equal(c->sync.custom_attributes.n, 3);
    assert_string_equal(c->sync.custom_attributes.items[0], "brand");
    assert_string_equal(c->sync.custom_attributes.items[1], "season");
    assert_string_equal(c->sync.custom_attributes.items[2], "material");
    assert_int_equal(c->sync.lookback_all, 0);
    assert_int_equal(c->sync.lookback_n, 2);
    assert_int_equal(c->sync.lookback_unit, PF_SPAN_YEARS);
    assert_int_equal(c->sync.accepted_order_statuses.n, 2);
    assert_true(pf_strlist_has(&c->sync.accepted_order_statuses,
                               "shipped"));
    assert_false(pf_strlist_has(&c->sync.accepted_order_statuses,
                                "Shipped"));
    assert_int_equal(c->sync.include_out_of_stock, 0);
    assert_int_equal(c->sync.collect_emails, 1);
    assert_int_equal(c->sync.include_customers, 1);
    assert_int_equal(c->sync.include_variants, 0);
    assert_int_equal(c->sync.include_variant_stock, 1);
    assert_int_equal(c->sync.variant_stock_tracking, PF_TRACK_PARENT);
    assert_int_equal(c->sync.include_hidden_categories, 1);
    assert_int_equal(c->schedule.kind, PF_SCHED_DAILY);
    assert_int_equal(c->schedule.hour, 3);
    assert_int_equal(c->schedule.minute, 30);
    assert_string_equal(c->serve.listen_addr, "0.0.0.0");
    assert_int_equal(c->serve.port, 9090);
    assert_int_equal(c->serve.max_connections, 200);
    assert_int_equal(c->serve.per_ip_limit, 4);
    assert_int_equal(c->serve.timeout_s, 10);
    assert_int_equal(c->serve.header_timeout_s, 5);
    pf_config_free(c);
}

static void
check_lookback(const char *v, int all, int n, enum pf_span_unit u)
{
    char text[512];
    struct pf_config *c;

    snprintf(text, sizeof(text), BASE "[sync]\norders_lookback = %s\n", v);
    c = load_ok(text);
    assert_int_equal(c->sync.lookback_all, all);
    if (!all) {
        assert_int_equal(c->sync.lookback_n, n);
        assert_int_equal(c->sync.lookback_unit, u);
    }
    pf_config_free(c);
}

static void
check_schedule(const char *v, enum pf_sched_kind k, int h, int m, long iv)
{
    char text[512];
    struct pf_config *c;

    snprintf(text, sizeof(text), BASE "[sync]\nschedule = %s\n", v);
    c = load_ok(text);
    assert_int_equal(c->schedule.kind, k);
    if (k == PF_SCHED_DAILY) {
        assert_int_equal(c->schedule.hour, h);
        assert_int_equal(c->schedule.minute, m);
    }
    if (k == PF_SCHED_EVERY)
        assert_int_equal(c->schedule.interval_s, iv);
    pf_config_free(c);
}

static void
test_lookback_and_schedule_forms(void **state)
{
    (void)state;
    check_lookback("all", 1, 0, PF_SPAN_DAYS);
    check_lookback("ALL", 1, 0, PF_SPAN_DAYS);
    check_lookback("1 day", 0, 1, PF_SPAN_DAYS);
    check_lookback("90 days", 0, 90, PF_SPAN_DAYS);
    check_lookback("6 months", 0, 6, PF_SPAN_MONTHS);
    check_lookback("1 month", 0, 1, PF_SPAN_MONTHS);
    check_lookback("3years", 0, 3, PF_SPAN_YEARS);

    check_schedule("on-demand", PF_SCHED_ON_DEMAND, 0, 0, 0);
    check_schedule("daily 00:00", PF_SCHED_DAILY, 0, 0, 0);
    check_schedule("daily 23:59", PF_SCHED_DAILY, 23, 59, 0);
    check_schedule("daily 7:05", PF_SCHED_DAILY, 7, 5, 0);
    check_schedule("every 15 minutes", PF_SCHED_EVERY, 0, 0, 900);
    check_schedule("every 1 minute", PF_SCHED_EVERY, 0, 0, 60);
    check_schedule("every 6 hours", PF_SCHED_EVERY, 0, 0, 21600);
    check_schedule("every 1 hour", PF_SCHED_EVERY, 0, 0, 3600);
}

static void
check_listen(const char *v, const char *addr, int port)
{
    char text[512];
    struct pf_config *c;

    snprintf(text, sizeof(text), BASE "[serve]\nlisten = %s\n", v);
    c = load_ok(text);
    assert_string_equal(c->serve.listen_addr, addr);
    assert_int_equal(c->serve.port, port);
    pf_config_free(c);
}

static void
test_listen_forms(void **state)
{
    (void)state;
    check_listen("9000", "127.0.0.1", 9000);
    check_listen("0.0.0.0:80", "0.0.0.0", 80);
    check_listen("localhost:65535", "localhost", 65535);
    check_listen("[::1]:8081", "::1", 8081);
    expect_err(BASE "[serve]\nlisten = 70000\n", 10, "listen:",
               "'70000'");
    expect_err(BASE "[serve]\nlisten = ::1:80\n", 10, "listen:",
               "[::1]:8080");
    expect_err(BASE "[serve]\nlisten = host:\n", 10, "listen:", NULL);
    expect_err(BASE "[serve]\nlisten = :80\n", 10, "listen:", NULL);
    expect_err(BASE "[serve]\nmax_connections = 0\n", 10,
               "max_connections:", "'0'");
    expect_err(BASE "[serve]\ntimeout = 1.5\n", 10, "timeout:", "'1.5'");
    expect_err(BASE "[serve]\nper_ip_limit = -3\n", 10, "per_ip_limit:",
               NULL);
    expect_err(BASE "[serve]\nheader_timeout = 0\n", 10,
               "header_timeout:", "'0'");
}

/* ---- errors, each naming FILE:LINE ----------------------------------- */

static void
test_unknown_section(void **state)
{
    (void)state;
    expect_err(BASE "[shoop]\n", 9,
               "unknown section [shoop]; did you mean [shop]?", NULL);
    expect_err(BASE "[snyc]\nschedule = on-demand\n", 9,
               "did you mean [sync]?", NULL);
    expect_err(BASE "[feeds clerk]\ntemplate = clerk\n", 9,
               "unknown section [feeds clerk]; did you mean [feed clerk]?",
               NULL);
    expect_err(BASE "[wibble]\n", 9, "unknown section [wibble]",
               "[feed NAME]");
    expect_err(BASE "[feed]\ntemplate = clerk\n", 9, "needs a name",
               NULL);
    expect_err(BASE "[feed my feed]\ntemplate = clerk\n", 9,
               "invalid feed name 'my feed'", NULL);
    expect_err(BASE "[feed a/b]\ntemplate = clerk\n", 9,
               "invalid feed name 'a/b'", NULL);
    /* An empty misspelt section is still caught. */
    expect_err("[shop]\nname = x\n[srve]\n", 3, "did you mean [serve]?",
               NULL);
}

static void
test_unknown_key(void **state)
{
    (void)state;
    expect_err(BASE "[sync]\ninclde_customers = yes\n", 10,
               "unknown key 'inclde_customers' in [sync]; did you mean "
               "'include_customers'?", NULL);
    expect_err(BASE "[feed clerk]\ntemplate = clerk\ngzp = no\n", 11,
               "unknown key 'gzp' in [feed clerk]; did you mean 'gzip'?",
               NULL);
    /* Sync keys are suggested inside a feed too. */
    expect_err(BASE "[feed clerk]\ntemplate = clerk\ncollect_email = no\n",
               11, "did you mean 'collect_emails'?", NULL);
    expect_err(BASE "[sync]\ntimezone = UTC\n", 10,
               "unknown key 'timezone' in [sync]; it belongs in [shop]",
               NULL);
    expect_err(BASE "[sync]\ngzip = no\n", 10,
               "it belongs in a [feed NAME] section", NULL);
    expect_err(BASE "[serve]\nfrobnicate = 1\n", 10,
               "unknown key 'frobnicate' in [serve]", NULL);
    expect_err(BASE "[feed clerk]\ntemplate = clerk\nschedule = daily 01:00"
               "\n", 11, "schedule is set once in [sync]", NULL);
}

static void
test_bad_values(void **state)
{
    (void)state;
    expect_err(BASE "[sync]\ninclude_out_of_stock = maybe\n", 10,
               "include_out_of_stock: expected yes/no/true/false/1/0",
               "got 'maybe'");
    expect_err(BASE "[feed f]\ntemplate = clerk\ncollect_emails = si\n",
               11, "collect_emails: expected yes/no", "got 'si'");
    expect_err(BASE "[sync]\nattributes = some\n", 10,
               "attributes: expected auto or none", "'some'");
    expect_err(BASE "[sync]\nvariant_stock_tracking = child\n", 10,
               "expected variants or parent", "'child'");
    expect_err(BASE "[sync]\norders_lookback = 3 weeks\n", 10,
               "orders_lookback:", "'3 weeks'");
    expect_err(BASE "[sync]\norders_lookback = 0 days\n", 10,
               "orders_lookback:", NULL);
    expect_err(BASE "[sync]\nschedule = daily 24:00\n", 10, "schedule:",
               "'daily 24:00'");
    expect_err(BASE "[sync]\nschedule = daily 12:60\n", 10, "schedule:",
               NULL);
    expect_err(BASE "[sync]\nschedule = every 0 minutes\n", 10,
               "schedule:", NULL);
    expect_err(BASE "[sync]\nschedule = every 200 hours\n", 10,
               "schedule:", NULL);
    expect_err(BASE "[sync]\nschedule = hourly\n", 10, "schedule:", NULL);
    expect_err(BASE "[feed f]\ntemplate = clerk\nmax_drop = 150%\n", 11,
               "max_drop:", "'150%'");
    expect_err(BASE "[feed f]\ntemplate = clerk\nmax_drop = 50\n", 11,
               "max_drop:", "'50'");
    expect_err(BASE "[feed f]\ntemplate = clerk\naccess = secret\n", 11,
               "access: expected token or public", NULL);
    expect_err(BASE "[feed f]\ntemplate = clerk\ngzip = yes please\n", 11,
               "gzip:", NULL);
    /* NaN, or more bytes than int64_t holds, was converted anyway
     * (undefined behaviour, caught by UBSan). */
    expect_err(BASE "[feed f]\ntemplate = clerk\nmax_file_size = nan\n",
               11, "max_file_size:", "'nan'");
    expect_err(BASE "[feed f]\ntemplate = clerk\nmax_file_size = 1e15G\n",
               11, "max_file_size:", "'1e15G'");

    expect_err("[shop]\nname = S\ntimezone = Europe/Amsterdm\n", 3,
               "timezone: 'Europe/Amsterdm'", NULL);
    expect_err("[shop]\nname = S\ncurrency = eur\n", 3,
               "currency: expected a 3-letter", "'eur'");
    expect_err("[shop]\nname = S\ncurrency = EURO\n", 3, "currency:",
               NULL);
    expect_err("[shop]\nname = S\nurl = ftp://shop.example.com\n", 3,
               "url: expected an http:// or https://", NULL);
    expect_err("[shop]\nname = S\nurl = https://\n", 3, "url:", NULL);
    expect_err("[shop]\nname =\n", 2, "name: must not be empty", NULL);
    expect_err("[source]\ntype = shopify\n", 2,
               "type: expected file", "'shopify'");
}

static void
test_missing_required(void **state)
{
    (void)state;
    /* The line is the section header's. */
    expect_err("# shop settings\n"
               "[shop]\n"
               "name = S\n"
               "currency = EUR\n"
               "url = https://x.example\n"
               "[source]\ntype = file\npath = data\n",
               2, "[shop] is missing required key 'timezone'", NULL);
    expect_err("[source]\ntype = file\npath = data\n", 0,
               "missing section [shop]", NULL);
    expect_err("[shop]\nname = S\ntimezone = UTC\ncurrency = EUR\n"
               "url = https://x.example\n", 0, "missing section [source]",
               NULL);
    expect_err("[shop]\nname = S\ntimezone = UTC\ncurrency = EUR\n"
               "url = https://x.example\n[source]\npath = data\n", 6,
               "[source] is missing required key 'type'", NULL);
    expect_err("[shop]\nname = S\ntimezone = UTC\ncurrency = EUR\n"
               "url = https://x.example\n[source]\ntype = file\n", 6,
               "[source] type = file is missing required key 'path'",
               NULL);
    expect_err(BASE "[feed clerk]\ngzip = no\n", 9,
               "[feed clerk] is missing required key 'template'", NULL);
}

static void
test_duplicates(void **state)
{
    (void)state;
    expect_err(BASE "[sync]\ncollect_emails = no\ncollect_emails = yes\n",
               11, "duplicate key 'collect_emails' in [sync]",
               "first set at line 10");
    expect_err(BASE "[feed a]\ntemplate = clerk\ntemplate = clerk\n", 11,
               "duplicate key 'template' in [feed a]", NULL);
    expect_err(BASE "[feed a]\ntemplate = clerk\n[feed a]\n", 11,
               "duplicate [feed a]", "first defined at line 9");
    expect_err(BASE "[shop]\n", 9, "duplicate section [shop]",
               "first at line 1");
    /* The same key in two feeds is fine; the same output is not. The
     * other feed is named with the line of its output. */
    expect_err(BASE "[feed a]\ntemplate = clerk\noutput = x.json\n"
               "[feed b]\ntemplate = clerk\noutput = x.json\n", 14,
               "[feed b] writes x.json, like [feed a] (line 11)", NULL);
    expect_err(BASE "[feed a]\ntemplate = clerk\n"
               "[feed b]\ntemplate = clerk\noutput = a.json\n", 13,
               "writes a.json", NULL);
}

static void
test_inline_secret(void **state)
{
    struct pf_config *c = NULL;
    struct pf_err err = { "" };

    (void)state;
    expect_err(LSR_BASE "client_secret = s3cr3tvalue\n", 11,
               "client_secret_file = PATH",
               "client_secret = env:VARIABLE");
    expect_err(BASE "[serve]\ntoken = hunter2hunter2\n", 10,
               "token_file = PATH", "token = env:VARIABLE");
    /* The value itself never reaches the message. */
    write_file(g_conf, LSR_BASE "client_secret = s3cr3tvalue\n");
    assert_int_equal(pf_config_load(g_conf, source_schema, &c, &err), -1);
    assert_null(strstr(err.msg, "s3cr3tvalue"));
    write_file(g_conf, BASE "[serve]\ntoken = hunter2hunter2\n");
    assert_int_equal(pf_config_load(g_conf, source_schema, &c, &err), -1);
    assert_null(strstr(err.msg, "hunter2"));

    expect_err(BASE "[serve]\ntoken = env:\n", 10, "environment variable",
               NULL);
    expect_err(BASE "[serve]\ntoken = env:MY-TOKEN\n", 10,
               "environment variable", NULL);
    expect_err(BASE "[serve]\ntoken_file = tok\ntoken = env:TOK\n", 11,
               "not both", NULL);
    expect_err(BASE "[serve]\ntoken = env:TOK\ntoken_file = tok\n", 11,
               "not both", NULL);
}

static void
test_secret_read(void **state)
{
    struct pf_config *c;
    struct pf_err err = { "" };
    char *v = NULL;
    const struct pf_secret *cs;

    (void)state;
    mkdir(in_dir("secrets"), 0700);
    write_file(in_dir("secrets/token"), "tok-123 \n\n");
    c = load_ok(LSR_BASE "client_secret = env:PF_TEST_CLIENT_SECRET\n"
                "[serve]\ntoken_file = secrets/token\n");
    /* Relative to the config's folder. */
    assert_string_equal(c->serve.token.file, in_dir("secrets/token"));
    assert_null(c->serve.token.env);
    assert_true(pf_secret_is_set(&c->serve.token));
    assert_int_equal(pf_secret_read(&c->serve.token, &v, &err), 0);
    assert_string_equal(v, "tok-123");
    free(v);

    cs = pf_source_secret(&c->source, "client_secret");
    assert_string_equal(cs->env, "PF_TEST_CLIENT_SECRET");
    unsetenv("PF_TEST_CLIENT_SECRET");
    assert_int_equal(pf_secret_read(cs, &v, &err),
                     -1);
    assert_null(v);
    assert_non_null(strstr(err.msg, "PF_TEST_CLIENT_SECRET"));
    assert_non_null(strstr(err.msg, "not set"));
    setenv("PF_TEST_CLIENT_SECRET", "", 1);
    assert_int_equal(pf_secret_read(cs, &v, &err),
                     -1);
    assert_non_null(strstr(err.msg, "empty"));
    setenv("PF_TEST_CLIENT_SECRET", "cs-value\n", 1);
    assert_int_equal(pf_secret_read(cs, &v, &err),
                     0);
    assert_string_equal(v, "cs-value");
    free(v);
    unsetenv("PF_TEST_CLIENT_SECRET");

    /* An empty or missing file is an error naming the file. */
    write_file(in_dir("secrets/token"), " \n");
    assert_int_equal(pf_secret_read(&c->serve.token, &v, &err), -1);
    assert_non_null(strstr(err.msg, in_dir("secrets/token")));
    assert_non_null(strstr(err.msg, "empty"));
    unlink(in_dir("secrets/token"));
    assert_int_equal(pf_secret_read(&c->serve.token, &v, &err), -1);
    assert_non_null(strstr(err.msg, in_dir("secrets/token")));
    assert_int_equal(pf_secret_read(cs, &v, &err) ==
                     -1 && strstr(err.msg, "not set") != NULL, 1);
    pf_config_free(c);

    /* Nothing configured. */
    {
        struct pf_secret none = { NULL, NULL, 0 };

        assert_false(pf_secret_is_set(&none));
        assert_int_equal(pf_secret_read(&none, &v, &err), -1);
    }
}

/* `posfeed check` reads every secret file the config names: a missing,
 * empty or non-file secret is an error at its key's line, and no value
 * ever reaches the message. Loading alone does not look. */
static void
test_check_files(void **state)
{
    struct pf_config *c;
    struct pf_err err = { "" };
    char want[256];

    (void)state;
    c = load_ok(BASE "[serve]\ntoken_file = secrets/tok\n");
    assert_int_equal(pf_config_check_files(c, &err), -1);
    snprintf(want, sizeof(want), "%s:10: [serve] token_file: cannot read "
             "secret file", g_conf);
    assert_non_null(strstr(err.msg, want));
    assert_non_null(strstr(err.msg, "No such file"));
    pf_config_free(c);

    write_file(in_dir("tok"), "\n");
    c = load_ok(BASE "[serve]\ntoken_file = tok\n");
    assert_int_equal(pf_config_check_files(c, &err), -1);
    assert_non_null(strstr(err.msg, "is empty"));
    pf_config_free(c);

    write_file(in_dir("tok"), "s3cr3t-token\n");
    write_file(in_dir("cs"), "s3cr3t-client\n");
    c = load_ok(BASE "[serve]\ntoken_file = tok\n");
    err.msg[0] = '\0';
    assert_int_equal(pf_config_check_files(c, &err), 0);
    pf_config_free(c);

    /* Lightspeed: the client secret (a secret key of the type's table);
     * the refresh token, which only `posfeed auth` creates, is the
     * type's own check. */
    c = load_ok("[shop]\nname = S\ntimezone = Europe/Amsterdam\n"
                "currency = EUR\nurl = https://s.example\n"
                "[source]\ntype = lightspeed-retail\naccount_id = 1\n"
                "client_id = c\nclient_secret_file = missing\n"
                "refresh_token_file = rt\n");
    assert_int_equal(pf_config_check_files(c, &err), -1);
    assert_non_null(strstr(err.msg, ":10: [source] client_secret_file"));
    pf_config_free(c);
    c = load_ok("[shop]\nname = S\ntimezone = Europe/Amsterdam\n"
                "currency = EUR\nurl = https://s.example\n"
                "[source]\ntype = lightspeed-retail\naccount_id = 1\n"
                "client_id = c\nclient_secret_file = cs\n"
                "refresh_token_file = rt\n");
    assert_int_equal(pf_config_check_files(c, &err), 0);
    assert_int_equal(source_lsr_type.check(c, &err), -1);
    assert_non_null(strstr(err.msg, ":11: [source] refresh_token_file"));
    assert_non_null(strstr(err.msg, "posfeed auth"));
    assert_null(strstr(err.msg, "s3cr3t"));
    write_file(in_dir("rt"), "r\n");
    assert_int_equal(pf_config_check_files(c, &err), 0);
    assert_int_equal(source_lsr_type.check(c, &err), 0);
    pf_config_free(c);

    /* env: is for the process that serves; here it can only be told. */
    unsetenv("PF_UNIT_TOKEN");
    c = load_ok(BASE "[serve]\ntoken = env:PF_UNIT_TOKEN\n");
    assert_int_equal(pf_config_check_files(c, &err), 0);
    assert_true(pf_secret_env_missing(&c->serve.token));
    assert_int_equal(c->serve.token.line, 10);
    setenv("PF_UNIT_TOKEN", "x", 1);
    assert_false(pf_secret_env_missing(&c->serve.token));
    unsetenv("PF_UNIT_TOKEN");
    pf_config_free(c);
    unlink(in_dir("tok"));
    unlink(in_dir("cs"));
    unlink(in_dir("rt"));
}

static void
test_output_escape(void **state)
{
    struct pf_config *c;

    (void)state;
    expect_err(BASE "[feed a]\ntemplate = clerk\noutput = ../a.json\n", 11,
               "output: '../a.json' must be a relative path inside "
               "feeds_dir", NULL);
    expect_err(BASE "[feed a]\ntemplate = clerk\noutput = /tmp/a.json\n",
               11, "output: '/tmp/a.json'", NULL);
    expect_err(BASE "[feed a]\ntemplate = clerk\noutput = x/../../a.json\n",
               11, "output:", NULL);
    c = load_ok(BASE "[feed a]\ntemplate = clerk\n"
                "output = clerk/all.json\n");
    assert_string_equal(c->feeds[0].output, "clerk/all.json");
    pf_config_free(c);
}

/* Lines 9-14 hold feed a (header, template, output, then one more key);
 * feed b starts at line 13 or 14. Every file one feed publishes (output,
 * twin, parts of any number, index, the folders on its way) is checked
 * against every other feed's at load. */
static void
test_output_collisions(void **state)
{
    struct pf_config *c;

    (void)state;
    /* issue 8.6: a public feed named like a token feed's twin */
    expect_err(BASE "[feed clerk]\ntemplate = clerk\noutput = clerk.json\n"
               "access = token\n"
               "[feed leak]\ntemplate = clerk\noutput = clerk.json.gz\n"
               "access = public\n", 15, "[feed leak] output "
               "'clerk.json.gz' is the gzip twin of [feed clerk] (line 11)",
               NULL);
    /* without gzip there is no twin, but the name still looks like one */
    expect_err(BASE "[feed clerk]\ntemplate = clerk\noutput = clerk.json\n"
               "gzip = no\n"
               "[feed leak]\ntemplate = clerk\noutput = clerk.json.gz\n",
               15, "output: 'clerk.json.gz' ends in .gz", "gzip twin");
    /* a part of a split feed, however many parts it will have */
    expect_err(BASE "[feed a]\ntemplate = clerk\noutput = k/c.json\n"
               "max_file_size = 1M\n"
               "[feed b]\ntemplate = clerk\noutput = k/c-17.json\n", 15,
               "[feed b] output 'k/c-17.json' is a part of [feed a] "
               "(line 11)", NULL);
    expect_err(BASE "[feed a]\ntemplate = clerk\noutput = k/c-4.json\n"
               "gzip = no\n"
               "[feed b]\ntemplate = clerk\noutput = k/c.json\n"
               "max_file_size = 1M\n", 15,
               "[feed b] output 'k/c.json': a part of it, 'k/c-4.json', "
               "is also the output of [feed a] (line 11)", NULL);
    /* a twin of a part */
    expect_err(BASE "[feed a]\ntemplate = clerk\noutput = c.json\n"
               "max_file_size = 1M\n"
               "[feed b]\ntemplate = clerk\noutput = c-2.json\n"
               "gzip = no\n", 15, "is a part of [feed a]", NULL);
    /* a file and a folder, in either order */
    expect_err(BASE "[feed a]\ntemplate = clerk\noutput = a\n"
               "gzip = no\n"
               "[feed b]\ntemplate = clerk\noutput = a/b.json\n", 15,
               "[feed b] output 'a/b.json' needs a folder 'a', which is "
               "the output of [feed a] (line 11)", NULL);
    expect_err(BASE "[feed b]\ntemplate = clerk\noutput = a/b.json\n"
               "gzip = no\n"
               "[feed a]\ntemplate = clerk\noutput = a.json\n"
               "max_file_size = 1M\n"
               "[feed c]\ntemplate = clerk\noutput = a-2.json/x\n",
               19, "needs a folder 'a-2.json', which is a part of "
               "[feed a] (line 15)", NULL);
    /* a part that the temp-file sweep would delete */
    expect_err(BASE "[feed a]\ntemplate = clerk\noutput = .a.tmp.json\n"
               "max_file_size = 1M\n", 11, "'.a.tmp-2.json', looks like "
               "a posfeed temp file", NULL);
    /* a defaulted output collides too: the line is the feed's header */
    expect_err(BASE "[feed a]\ntemplate = clerk\noutput = b-2.json\n"
               "gzip = no\n"
               "[feed b]\ntemplate = clerk\nmax_file_size = 1M\n", 13,
               "[feed b] output 'b.json': a part of it, 'b-2.json'", NULL);

    /* Distinct names load; the index follows the whole output name, so
     * catalog.json and catalog.xml no longer share one. */
    c = load_ok(BASE "[feed a]\ntemplate = clerk\noutput = k/catalog.json\n"
                "max_file_size = 1M\n"
                "[feed b]\ntemplate = clerk\noutput = k/catalog.xml\n"
                "max_file_size = 1M\n"
                "[feed c]\ntemplate = clerk\noutput = k/catalog-x.json\n");
    assert_ptr_equal(pf_config_file_owner(c, "k/catalog.json"),
                     &c->feeds[0]);
    assert_ptr_equal(pf_config_file_owner(c, "k/catalog-12.json.gz"),
                     &c->feeds[0]);
    assert_ptr_equal(pf_config_file_owner(c, "k/catalog.xml.parts.json"),
                     &c->feeds[1]);
    assert_ptr_equal(pf_config_file_owner(c, "k/catalog-x.json"),
                     &c->feeds[2]);
    assert_null(pf_config_file_owner(c, "k/catalog.parts.json"));
    assert_null(pf_config_file_owner(c, "k/catalog-x-2.json"));
    pf_config_free(c);
}

/* What feeds_dir already holds: an output cannot be a folder there, and
 * the folders on its way cannot be files. Loading only looks. */
static void
test_output_on_disk(void **state)
{
    struct stat st;

    (void)state;
    mkdir(in_dir("feeds"), 0755);
    mkdir(in_dir("feeds/sub"), 0755);
    write_file(in_dir("feeds/flat"), "x\n");
    expect_err(BASE "[feed a]\ntemplate = clerk\noutput = sub\n", 11,
               "[feed a] output 'sub' is a folder in", NULL);
    expect_err(BASE "[feed a]\ntemplate = clerk\noutput = sub/\n", 11,
               "output: 'sub/' ends in '/'", NULL);
    expect_err(BASE "[feed a]\ntemplate = clerk\noutput = flat/x.json\n",
               11, "needs a folder", "flat, but that is a file");
    expect_err(BASE "[feed a]\ntemplate = clerk\noutput = sub/./x.json\n",
               11, "empty or '.' folder", NULL);
    pf_config_free(load_ok(BASE "[feed a]\ntemplate = clerk\n"
                           "output = sub/new/x.json\n"));
    assert_int_equal(stat(in_dir("feeds/sub/new"), &st), -1);
    rm_rf(in_dir("feeds"));
}

/* A [feed] starts from [sync] wherever [sync] is in the file, keeps its
 * own overrides, and owns copies of the lists. */
static void
test_feed_overrides(void **state)
{
    struct pf_config *c;
    const struct pf_feed_cfg *a, *b;

    (void)state;
    c = load_ok(BASE
                "[feed a]\n"
                "template = clerk\n"
                "include_customers = yes\n"
                "accepted_order_statuses = all\n"
                "orders_lookback = 30 days\n"
                "[feed b]\n"
                "template = clerk\n"
                "gzip = no\n"
                "access = public\n"
                "max_drop = 25%\n"
                "[sync]\n"
                "include_customers = no\n"
                "collect_emails = yes\n"
                "custom_attributes = brand, size\n"
                "accepted_order_statuses = completed, paid\n"
                "orders_lookback = 1 year\n");
    assert_int_equal(c->nfeeds, 2);
    a = pf_config_feed(c, "a");
    b = pf_config_feed(c, "b");
    assert_ptr_equal(a, &c->feeds[0]);
    assert_ptr_equal(b, &c->feeds[1]);
    assert_int_equal(a->line, 9);
    assert_int_equal(b->line, 14);

    /* Overridden in a, inherited by b. */
    assert_int_equal(a->sync.include_customers, 1);
    assert_int_equal(b->sync.include_customers, 0);
    assert_int_equal(c->sync.include_customers, 0);
    assert_int_equal(a->sync.collect_emails, 1);
    assert_int_equal(b->sync.collect_emails, 1);
    assert_int_equal(a->sync.accepted_order_statuses.n, 0);
    assert_int_equal(b->sync.accepted_order_statuses.n, 2);
    assert_int_equal(a->sync.lookback_n, 30);
    assert_int_equal(a->sync.lookback_unit, PF_SPAN_DAYS);
    assert_int_equal(b->sync.lookback_n, 1);
    assert_int_equal(b->sync.lookback_unit, PF_SPAN_YEARS);

    /* Deep copies: same strings, different storage. */
    assert_int_equal(b->sync.custom_attributes.n, 2);
    assert_string_equal(b->sync.custom_attributes.items[1], "size");
    assert_ptr_not_equal(b->sync.custom_attributes.items,
                         c->sync.custom_attributes.items);
    assert_ptr_not_equal(b->sync.custom_attributes.items[0],
                         c->sync.custom_attributes.items[0]);
    assert_ptr_not_equal(a->sync.custom_attributes.items[0],
                         b->sync.custom_attributes.items[0]);

    /* Feed defaults and settings. */
    assert_int_equal(a->gzip, 1);
    assert_int_equal(a->access, PF_ACCESS_AUTO);
    assert_true(a->max_drop > 0.499 && a->max_drop < 0.501);
    assert_int_equal(b->gzip, 0);
    assert_int_equal(b->access, PF_ACCESS_PUBLIC);
    assert_true(b->max_drop > 0.249 && b->max_drop < 0.251);
    assert_string_equal(a->output, "a.json");
    assert_string_equal(a->template_spec, "clerk");
    pf_config_free(c);

    c = load_ok(BASE "[feed a]\ntemplate = clerk\nmax_drop = 0.2\n"
                "access = token\n[feed b]\ntemplate = clerk\n"
                "max_drop = 100%\n");
    assert_true(c->feeds[0].max_drop > 0.199 && c->feeds[0].max_drop <
                0.201);
    assert_int_equal(c->feeds[0].access, PF_ACCESS_TOKEN);
    assert_true(c->feeds[1].max_drop > 0.999);
    pf_config_free(c);
}

static void
test_templates(void **state)
{
    struct pf_config *c;

    (void)state;
    assert_string_equal(pf_templates_dir(), g_tpl);

    c = load_ok(BASE
                "[feed clerk]\ntemplate = clerk\n"
                "[feed google]\ntemplate = google-shopping\n"
                "[feed mine]\ntemplate = my/own.xml\n"
                "[feed nd]\ntemplate = lines.ndjson\n");
    {
        char want[256];

        snprintf(want, sizeof(want), "%s/clerk.json", g_tpl);
        assert_string_equal(c->feeds[0].template_path, want);
        snprintf(want, sizeof(want), "%s/google-shopping.xml", g_tpl);
        assert_string_equal(c->feeds[1].template_path, want);
    }
    /* A path is relative to the config folder. */
    assert_string_equal(c->feeds[2].template_path, in_dir("my/own.xml"));
    assert_string_equal(c->feeds[2].template_spec, "my/own.xml");
    /* The output follows the template's format. */
    assert_string_equal(c->feeds[0].output, "clerk.json");
    assert_string_equal(c->feeds[1].output, "google.xml");
    assert_string_equal(c->feeds[2].output, "mine.xml");
    assert_string_equal(c->feeds[3].output, "nd.ndjson");
    pf_config_free(c);

    expect_err(BASE "[feed c]\ntemplate = clrek\n", 10,
               "no built-in template 'clrek'", "did you mean 'clerk'?");
    expect_err(BASE "[feed c]\ntemplate = nothing/here.json\n", 10,
               "template: cannot read", "nothing/here.json");
}

static void
test_template_resolve(void **state)
{
    char *p;
    char want[256];

    (void)state;
    p = pf_template_resolve("clerk", "/cfg");
    snprintf(want, sizeof(want), "%s/clerk.json", g_tpl);
    assert_string_equal(p, want);
    free(p);
    /* No .json: the .xml, whether or not it exists. */
    p = pf_template_resolve("absent", "/cfg");
    snprintf(want, sizeof(want), "%s/absent.xml", g_tpl);
    assert_string_equal(p, want);
    free(p);
    p = pf_template_resolve("clerk.json", "/cfg");
    assert_string_equal(p, "/cfg/clerk.json");
    free(p);
    p = pf_template_resolve("sub/t", "/cfg");
    assert_string_equal(p, "/cfg/sub/t");
    free(p);
    p = pf_template_resolve("/abs/t.xml", "/cfg");
    assert_string_equal(p, "/abs/t.xml");
    free(p);
}

static void
test_source_types(void **state)
{
    (void)state;
    expect_err("[shop]\nname = S\ntimezone = UTC\ncurrency = EUR\n"
               "url = https://x.example\n"
               "[source]\n"
               "type = lightspeed-retail\n"
               "api_url = https://api.example.com\n"
               "token_url = https://auth.example.com/token\n"
               "account_id = 42\n"
               "client_id = abc\n"
               "client_secret_file = cs\n",
               6, "lightspeed-retail is missing required key "
               "'refresh_token_file'", NULL);
    expect_err("[shop]\nname = S\ntimezone = UTC\ncurrency = EUR\n"
               "url = https://x.example\n"
               "[source]\ntype = lightspeed-retail\n"
               "api_url = api.example.com\n",
               8, "api_url: expected an http:// or https://", NULL);
    /* The file source's folder must exist and be a folder. */
    expect_err("[shop]\nname = S\ntimezone = UTC\ncurrency = EUR\n"
               "url = https://x.example\n"
               "[source]\ntype = file\npath = no-such-dir\n",
               8, "path: folder", "no-such-dir");
    write_file(in_dir("plain"), "x");
    expect_err("[shop]\nname = S\ntimezone = UTC\ncurrency = EUR\n"
               "url = https://x.example\n"
               "[source]\ntype = file\npath = plain\n",
               8, "is not a folder", NULL);
}

static void
test_relative_paths(void **state)
{
    struct pf_config *c;
    char abs_data[128];
    char text[1024];

    (void)state;
    c = load_ok("[shop]\nname = S\ntimezone = UTC\ncurrency = EUR\n"
                "url = https://x.example\nstore = db/shop.db\n"
                "feeds_dir = out/feeds\n"
                "[source]\ntype = file\npath = data\n");
    assert_string_equal(c->store_path, in_dir("db/shop.db"));
    assert_string_equal(c->feeds_dir, in_dir("out/feeds"));
    pf_config_free(c);

    /* Absolute paths stay as they are. */
    snprintf(abs_data, sizeof(abs_data), "%s", in_dir("data"));
    snprintf(text, sizeof(text),
             "[shop]\nname = S\ntimezone = UTC\ncurrency = EUR\n"
             "url = https://x.example\nstore = /var/lib/x.db\n"
             "[source]\ntype = file\npath = %s\n", abs_data);
    c = load_ok(text);
    assert_string_equal(c->store_path, "/var/lib/x.db");
    assert_string_equal(pf_source_str(&c->source, "path"), abs_data);
    pf_config_free(c);
}

/* A config named by a relative path: messages use the name as given. */
static void
test_relative_config_path(void **state)
{
    char cwd[PATH_MAX];
    struct pf_config *c = NULL;
    struct pf_err err = { "" };

    (void)state;
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(g_dir), 0);
    write_file("rel.conf", BASE "[sync]\nbogus = 1\n");
    assert_int_equal(pf_config_load("rel.conf", source_schema, &c, &err), -1);
    assert_int_equal(strncmp(err.msg, "rel.conf:10: ", 13), 0);
    write_file("rel.conf", BASE);
    assert_int_equal(pf_config_load("rel.conf", source_schema, &c, &err), 0);
    assert_string_equal(c->dir, ".");
    assert_string_equal(pf_source_str(&c->source, "path"), "./data");
    pf_config_free(c);
    unlink("rel.conf");
    assert_int_equal(chdir(cwd), 0);
}

static void
test_syntax_errors(void **state)
{
    struct pf_config *c = NULL;
    struct pf_err err = { "" };
    char big[600];

    (void)state;
    expect_err(BASE "[sync]\nthis line has no equals sign\n", 10,
               "expected 'key = value'", NULL);
    /* The earlier of a syntax error and a value error is reported. */
    expect_err(BASE "[sync]\noops\ncollect_emails = perhaps\n", 10,
               "expected 'key = value'", NULL);
    expect_err(BASE "[sync]\ncollect_emails = perhaps\noops\n", 10,
               "collect_emails:", NULL);
    expect_err("name = early\n[shop]\n", 1, "'name' is outside any section",
               NULL);
    expect_err(BASE "[sync\n", 9, "missing its closing ']'", NULL);
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    {
        char text[1024];

        snprintf(text, sizeof(text), BASE "[sync]\ncustom_attributes = %s\n",
                 big);
        expect_err(text, 10, "line is longer than", NULL);
    }
    /* A missing file names the file. */
    assert_int_equal(pf_config_load(in_dir("nope.conf"), source_schema, &c,
                                     &err), -1);
    assert_null(c);
    assert_non_null(strstr(err.msg, in_dir("nope.conf")));
}

/* A UTF-8 BOM and CRLF line ends, as Windows editors write them. */
static void
test_bom_crlf(void **state)
{
    struct pf_config *c;

    (void)state;
    c = load_ok("\xEF\xBB\xBF[shop]\r\nname = Shop\r\ntimezone = UTC\r\n"
                "currency = USD\r\nurl = http://s.example\r\n[source]\r\n"
                "type = file\r\npath = data\r\n[feed x]\r\n"
                "template = clerk\r\n");
    assert_string_equal(c->shop_name, "Shop");
    assert_string_equal(c->currency, "USD");
    assert_string_equal(c->shop_url, "http://s.example");
    assert_string_equal(c->feeds[0].template_path + strlen(g_tpl),
                        "/clerk.json");
    pf_config_free(c);
}

static void
test_starter(void **state)
{
    char dir[160];
    char path[192];
    struct pf_config *c = NULL;
    struct pf_err err = { "" };
    FILE *f;
    char line[256];
    int n = 0;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/new/shop", g_dir);
    assert_int_equal(pf_config_write_starter(dir, &err), 0);
    snprintf(path, sizeof(path), "%s/posfeed.conf", dir);

    /* Readable text: every line is short and the file is commented. */
    f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        assert_true(strlen(line) <= 80);
        n += line[0] == '#';
    }
    fclose(f);
    assert_true(n > 40);

    /* It names path = data, which must exist for it to load: the
     * starter comes with it, empty (issue 9, item 12). */
    snprintf(line, sizeof(line), "%s/data", dir);
    assert_int_equal(rmdir(line), 0);
    assert_int_equal(pf_config_load(path, source_schema, &c, &err), -1);
    assert_non_null(strstr(err.msg, "data"));
    assert_int_equal(mkdir(line, 0755), 0);
    if (pf_config_load(path, source_schema, &c, &err) != 0)
        fail_msg("starter does not load: %s", err.msg);
    assert_string_equal(c->timezone, "Europe/Amsterdam");
    assert_int_equal(c->nfeeds, 1);
    assert_string_equal(c->feeds[0].name, "clerk");
    assert_string_equal(c->feeds[0].template_spec, "clerk");
    assert_string_equal(c->feeds[0].output, "clerk.json");
    assert_string_equal(c->source.type, "file");
    assert_int_equal(c->schedule.kind, PF_SCHED_ON_DEMAND);
    pf_config_free(c);

    /* It never overwrites. */
    write_file(path, "# edited by the merchant\n");
    assert_int_equal(pf_config_write_starter(dir, &err), -1);
    assert_non_null(strstr(err.msg, "already exists"));
    assert_non_null(strstr(err.msg, path));
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof(line), f));
    fclose(f);
    assert_string_equal(line, "# edited by the merchant\n");
}

/* A data folder already there is kept with what it holds; a file in its
 * place stops init, and no half-made config is left behind. */
static void
test_starter_data_folder(void **state)
{
    char dir[160], path[192], kept[224];
    struct pf_err err = { "" };
    struct stat st;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/has-data", g_dir);
    snprintf(path, sizeof(path), "%s/data", dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(kept, sizeof(kept), "%s/products.ndjson", path);
    write_file(kept, "{}\n");
    if (pf_config_write_starter(dir, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(stat(kept, &st), 0);

    snprintf(dir, sizeof(dir), "%s/file-data", g_dir);
    snprintf(path, sizeof(path), "%s/data", dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    write_file(path, "not a folder\n");
    assert_int_equal(pf_config_write_starter(dir, &err), -1);
    assert_non_null(strstr(err.msg, path));
    snprintf(path, sizeof(path), "%s/posfeed.conf", dir);
    assert_int_equal(stat(path, &st), -1);
}

/* A server config: only [serve]; its keys parsed; a shop's file may not
 * set the server's keys, and one shop may not set workers or jitter. */
static void
test_server_config(void **state)
{
    struct pf_config *c;
    struct pf_err err = { "" };

    (void)state;
    c = load_ok("[serve]\nshops = shops\nworkers = 3\njitter = 2h\n"
                "run_timeout = 90 seconds\n");
    assert_string_equal(c->serve.shops_dir, in_dir("shops"));
    assert_int_equal(c->serve.workers, 3);
    assert_int_equal(c->serve.jitter_s, 7200);
    assert_int_equal(c->serve.run_timeout_s, 90);
    pf_config_free(c);
    c = load_ok("[serve]\nshops = /srv/shops\njitter = 0\n");
    assert_int_equal(c->serve.jitter_s, 0);
    assert_int_equal(c->serve.run_timeout_s, 0);  /* not set */
    assert_int_equal(c->serve.workers, 0);        /* the cores */
    pf_config_free(c);
    c = load_ok(BASE "[serve]\nrun_timeout = 15m\n");
    assert_int_equal(c->serve.run_timeout_s, 900);
    pf_config_free(c);
    expect_err("[serve]\nshops = s\n[shop]\nname = x\n", 3,
               "holds only [serve]", "[shop] belongs in each shop's file");
    expect_err("[serve]\nshops = s\nworkers = 257\n", 3,
               "workers: expected a number from 1 to 256", NULL);
    expect_err("[serve]\nshops = s\njitter = 25h\n", 3,
               "jitter: expected a duration up to 24h", NULL);
    expect_err("[serve]\nshops = s\nrun_timeout = 5 days\n", 3,
               "run_timeout: expected", NULL);
    expect_err(BASE "[serve]\nworkers = 2\n", 10,
               "workers is for a server of many shops", NULL);
    write_file(g_conf, BASE "[serve]\nmax_connections = 10\n");
    assert_int_equal(pf_config_load_shop(g_conf, source_schema, &c, &err),
                     -1);
    assert_non_null(strstr(err.msg, ":10: [serve] max_connections belongs "
                                    "in the server config"));
    write_file(g_conf, BASE "[serve]\nclerk_token_ttl = 10\n");
    assert_int_equal(pf_config_load_shop(g_conf, source_schema, &c, &err),
                     0);
    pf_config_free(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_all_values),
        cmocka_unit_test(test_lookback_and_schedule_forms),
        cmocka_unit_test(test_listen_forms),
        cmocka_unit_test(test_unknown_section),
        cmocka_unit_test(test_unknown_key),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_missing_required),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_inline_secret),
        cmocka_unit_test(test_secret_read),
        cmocka_unit_test(test_check_files),
        cmocka_unit_test(test_output_escape),
        cmocka_unit_test(test_output_collisions),
        cmocka_unit_test(test_output_on_disk),
        cmocka_unit_test(test_feed_overrides),
        cmocka_unit_test(test_templates),
        cmocka_unit_test(test_template_resolve),
        cmocka_unit_test(test_source_types),
        cmocka_unit_test(test_relative_paths),
        cmocka_unit_test(test_relative_config_path),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_bom_crlf),
        cmocka_unit_test(test_starter),
        cmocka_unit_test(test_starter_data_folder),
        cmocka_unit_test(test_server_config),
    };
    int rc;

    snprintf(g_dir, sizeof(g_dir), "/tmp/pf_config_XXXXXX");
    if (mkdtemp(g_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(g_conf, sizeof(g_conf), "%s/t.conf", g_dir);
    snprintf(g_tpl, sizeof(g_tpl), "%s/tpl", g_dir);
    mkdir(in_dir("data"), 0755);
    mkdir(g_tpl, 0755);
    mkdir(in_dir("my"), 0755);
    write_file(in_dir("tpl/clerk.json"), "{}\n");
    write_file(in_dir("tpl/google-shopping.xml"), "<rss/>\n");
    write_file(in_dir("my/own.xml"), "<x/>\n");
    write_file(in_dir("lines.ndjson"), "{}\n");
    /* Before anything asks for the templates folder: it is cached. */
    setenv("POSFEED_TEMPLATES", g_tpl, 1);

    rc = cmocka_run_group_tests(tests, NULL, NULL);
    rm_rf(g_dir);
    return rc;
}
