/* test_source.c - the source interface: the registry, source_run()'s
 * order and open/close pairing with a fake type defined here, and the
 * table-driven [source] validation and accessors of config.h, against a
 * fake registry whose two types use every key kind. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "source.h"
#include "source_file.h"
#include "source_lsr.h"

static char g_dir[64];
static char g_conf[128];

/* ---- a fake source type --------------------------------------------- */

/* What the fake type did, in order: "open", "a", "b", "close". */
static char g_log[256];
static int g_fail_open, g_fail_stream_a;

static void
logged(const char *what)
{
    if (g_log[0] != '\0')
        strcat(g_log, ",");
    strcat(g_log, what);
}

static int
fake_open(struct source_ctx *ctx, void **state, struct pf_err *err)
{
    (void)ctx;
    logged("open");
    if (g_fail_open) {
        pf_errf(err, "fake: cannot open");
        return -1;
    }
    *state = malloc(16);
    return 0;
}

static int
fake_a(void *state, struct source_ctx *ctx, struct pf_err *err)
{
    (void)ctx;
    assert_non_null(state);
    logged("a");
    if (g_fail_stream_a) {
        pf_errf(err, "fake: stream a failed");
        return -1;
    }
    return 0;
}

static int
fake_b(void *state, struct source_ctx *ctx, struct pf_err *err)
{
    (void)ctx;
    (void)err;
    assert_non_null(state);
    logged("b");
    return 0;
}

static void
fake_close(void *state, struct source_ctx *ctx)
{
    (void)ctx;
    logged("close");
    free(state);
}

static const char *const fake_prices[] = {"incl", "excl", NULL};

/* Every kind, with defaults, bounds and required keys. */
static const struct pf_key_def fake_keys[] = {
    {"api_url", PF_KEY_URL, 0, NULL, 0, 0, NULL},
    {"language", PF_KEY_TEXT, 1, NULL, 0, 0, NULL},
    {"api_key", PF_KEY_SECRET, 1, NULL, 0, 0, NULL},
    {"prices", PF_KEY_CHOICE, 0, fake_prices, 0, 0, "incl"},
    {"state_file", PF_KEY_PATH, 0, NULL, 0, 0, NULL},
    {"folder", PF_KEY_DIR, 0, NULL, 0, 0, NULL},
    {"page_size", PF_KEY_INT, 0, NULL, 1, 250, "250"},
    {"timeout", PF_KEY_SECONDS, 0, NULL, 1, 600, "60"},
    {"share", PF_KEY_FRACTION, 0, NULL, 0, 0, "25%"},
    {"max_body", PF_KEY_SIZE, 0, NULL, 1024 * 1024, 64 * 1024 * 1024,
     "16M"},
    {"verbose", PF_KEY_BOOL, 0, NULL, 0, 0, "no"},
    {NULL, PF_KEY_TEXT, 0, NULL, 0, 0, NULL}
};

/* One of api_url or cluster; cluster is the default's source. */
static const char *const fake_clusters[] = {"eu1", "us1", NULL};
static const struct pf_key_def fake_cluster_keys[] = {
    {"cluster", PF_KEY_CHOICE, 0, fake_clusters, 0, 0, NULL},
    {"api_url", PF_KEY_URL, 0, NULL, 0, 0, NULL},
    {NULL, PF_KEY_TEXT, 0, NULL, 0, 0, NULL}
};

static int
fake_finish(struct pf_source_cfg *s, int *line, struct pf_err *err)
{
    const char *cl = pf_source_str(s, "cluster");

    if (cl != NULL && pf_source_str(s, "api_url") != NULL) {
        *line = pf_source_line(s, "api_url");
        pf_errf(err, "give cluster or api_url, not both");
        return -1;
    }
    if (cl == NULL && pf_source_str(s, "api_url") == NULL) {
        pf_errf(err, "[source] needs cluster or api_url");
        return -1;
    }
    if (cl != NULL)
        return pf_source_set(s, "api_url", strcmp(cl, "eu1") == 0
                             ? "https://eu.example.com/"
                             : "https://us.example.com", err);
    return 0;
}

static const struct source_stream fake_streams[] = {
    {"a", fake_a},
    {"b", fake_b},
    {NULL, NULL}
};

static const struct source_type fake_type = {
    .name = "fake",
    .keys = fake_keys,
    .open = fake_open,
    .streams = fake_streams,
    .close = fake_close,
};

static const struct source_type fake_cluster_type = {
    .name = "clustered",
    .keys = fake_cluster_keys,
    .finish = fake_finish,
    .open = fake_open,
    .streams = fake_streams,
    .close = fake_close,
};

static int
fake_registry(size_t i, struct pf_source_schema *out)
{
    const struct source_type *t[] = {&fake_type, &fake_cluster_type};

    if (i >= 2)
        return 0;
    out->name = t[i]->name;
    out->keys = t[i]->keys;
    out->finish = t[i]->finish;
    return 1;
}

/* ---- helpers -------------------------------------------------------- */

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

#define SHOP                                   \
    "[shop]\n"                                 \
    "name = S\n"                               \
    "timezone = UTC\n"                         \
    "currency = EUR\n"                         \
    "url = https://s.example\n"                \
    "[source]\n"
/* The fake type with its required keys: the next line is 10. */
#define FAKE SHOP "type = fake\nlanguage = nl\napi_key = env:FAKE_KEY\n"

static struct pf_config *
load_ok(const char *text)
{
    struct pf_config *c = NULL;
    struct pf_err err = { "" };

    write_file(g_conf, text);
    if (pf_config_load(g_conf, fake_registry, &c, &err) != 0)
        fail_msg("load failed: %s", err.msg);
    return c;
}

/* The load fails at CONF:LINE with both needles in the message. */
static void
expect_err(const char *text, int line, const char *n1, const char *n2)
{
    struct pf_config *c = NULL;
    struct pf_err err = { "" };
    char prefix[192];

    write_file(g_conf, text);
    if (pf_config_load(g_conf, fake_registry, &c, &err) == 0) {
        pf_config_free(c);
        fail_msg("load succeeded; expected '%s'", n1);
    }
    snprintf(prefix, sizeof(prefix), "%s:%d: ", g_conf, line);
    if (strncmp(err.msg, prefix, strlen(prefix)) != 0)
        fail_msg("expected prefix '%s', got '%s'", prefix, err.msg);
    if (n1 && strstr(err.msg, n1) == NULL)
        fail_msg("'%s' not in '%s'", n1, err.msg);
    if (n2 && strstr(err.msg, n2) == NULL)
        fail_msg("'%s' not in '%s'", n2, err.msg);
}

/* ---- the registry and the driver ------------------------------------ */

static void
test_registry(void **state)
{
    struct pf_source_schema sch;
    size_t n = 0;

    (void)state;
    assert_ptr_equal(source_find("file"), &source_file_type);
    assert_ptr_equal(source_find("lightspeed-retail"), &source_lsr_type);
    assert_null(source_find("shopify"));
    assert_null(source_find(NULL));
    /* The loader's view lists exactly the registry, in its order. */
    while (source_schema(n, &sch)) {
        assert_non_null(source_types[n]);
        assert_string_equal(sch.name, source_types[n]->name);
        assert_ptr_equal(sch.keys, source_types[n]->keys);
        n++;
    }
    assert_null(source_types[n]);
    assert_true(n >= 2);
    /* Every type can run: open, close and a terminated stream list. */
    for (n = 0; source_types[n] != NULL; n++) {
        assert_non_null(source_types[n]->open);
        assert_non_null(source_types[n]->close);
        assert_non_null(source_types[n]->streams);
        assert_non_null(source_types[n]->keys);
    }
    assert_null(source_file_type.auth);
    assert_non_null(source_lsr_type.auth);
}

static void
test_streams_in_order(void **state)
{
    struct source_ctx ctx;
    struct pf_err err = { "" };

    (void)state;
    memset(&ctx, 0, sizeof(ctx));
    g_log[0] = '\0';
    g_fail_open = g_fail_stream_a = 0;
    assert_int_equal(source_run(&fake_type, &ctx, &err), 0);
    assert_string_equal(g_log, "open,a,b,close");
}

/* A failing stream stops the run with its error, and close still runs
 * (it frees the state: ASan would see a leak otherwise). */
static void
test_close_after_failed_stream(void **state)
{
    struct source_ctx ctx;
    struct pf_err err = { "" };

    (void)state;
    memset(&ctx, 0, sizeof(ctx));
    g_log[0] = '\0';
    g_fail_open = 0;
    g_fail_stream_a = 1;
    assert_int_equal(source_run(&fake_type, &ctx, &err), -1);
    assert_string_equal(g_log, "open,a,close");
    assert_string_equal(err.msg, "fake: stream a failed");
    g_fail_stream_a = 0;
}

/* A failed open has nothing to close. */
static void
test_no_close_after_failed_open(void **state)
{
    struct source_ctx ctx;
    struct pf_err err = { "" };

    (void)state;
    memset(&ctx, 0, sizeof(ctx));
    g_log[0] = '\0';
    g_fail_open = 1;
    assert_int_equal(source_run(&fake_type, &ctx, &err), -1);
    assert_string_equal(g_log, "open");
    assert_string_equal(err.msg, "fake: cannot open");
    g_fail_open = 0;
}

/* source_sync() runs the type the config names. */
static void
test_sync_uses_the_configured_type(void **state)
{
    struct pf_config *c;
    struct source_ctx ctx;
    struct pf_err err = { "" };

    (void)state;
    write_file(g_conf, SHOP "type = file\npath = data\n");
    if (pf_config_load(g_conf, source_schema, &c, &err) != 0)
        fail_msg("load failed: %s", err.msg);
    memset(&ctx, 0, sizeof(ctx));
    ctx.cfg = c;
    free(c->source.type);
    c->source.type = strdup("fake");
    assert_int_equal(source_sync(&ctx, &err), -1);
    assert_non_null(strstr(err.msg, "'fake' is not built in"));
    pf_config_free(c);
}

/* ---- the key table -------------------------------------------------- */

static void
test_values_and_defaults(void **state)
{
    struct pf_config *c;
    const struct pf_source_cfg *s;
    char want[256];

    (void)state;
    c = load_ok(FAKE "api_url = http://127.0.0.1:8080//\nprices = EXCL\n"
                "state_file = st/x\nfolder = data\ntimeout = 5\n"
                "share = 0.5\nmax_body = 2M\nverbose = on\n");
    s = &c->source;
    assert_string_equal(s->type, "fake");
    /* Trailing slashes go, so URLs can be joined with "/x". */
    assert_string_equal(pf_source_str(s, "api_url"),
                        "http://127.0.0.1:8080");
    assert_int_equal(pf_source_line(s, "api_url"), 10);
    assert_string_equal(pf_source_str(s, "language"), "nl");
    /* A choice is kept as the table spells it. */
    assert_string_equal(pf_source_str(s, "prices"), "excl");
    snprintf(want, sizeof(want), "%s/st/x", g_dir);
    assert_string_equal(pf_source_str(s, "state_file"), want);
    snprintf(want, sizeof(want), "%s/data", g_dir);
    assert_string_equal(pf_source_str(s, "folder"), want);
    assert_int_equal(pf_source_long(s, "timeout"), 5);
    assert_true(pf_source_frac(s, "share") > 0.499 &&
                pf_source_frac(s, "share") < 0.501);
    assert_int_equal(pf_source_size(s, "max_body"), 2 * 1024 * 1024);
    assert_int_equal(pf_source_long(s, "verbose"), 1);
    assert_string_equal(pf_source_secret(s, "api_key")->env, "FAKE_KEY");
    assert_int_equal(pf_source_secret(s, "api_key")->line, 9);
    /* Defaults, as written in the table; not from the file (line 0). */
    assert_int_equal(pf_source_long(s, "page_size"), 250);
    assert_int_equal(pf_source_line(s, "page_size"), 0);
    assert_true(pf_source_has(s, "page_size"));
    assert_false(pf_source_has(s, "api_key_file"));
    assert_false(pf_source_has(s, "path"));
    pf_config_free(c);

    c = load_ok(FAKE);
    s = &c->source;
    assert_null(pf_source_str(s, "api_url"));
    assert_string_equal(pf_source_str(s, "prices"), "incl");
    assert_int_equal(pf_source_long(s, "timeout"), 60);
    assert_true(pf_source_frac(s, "share") > 0.249 &&
                pf_source_frac(s, "share") < 0.251);
    assert_int_equal(pf_source_size(s, "max_body"), 16 * 1024 * 1024);
    assert_int_equal(pf_source_long(s, "verbose"), 0);
    pf_config_free(c);

    /* type may come after the type's keys. */
    c = load_ok(SHOP "language = de\napi_key_file = k\ntype = fake\n");
    snprintf(want, sizeof(want), "%s/k", g_dir);
    assert_string_equal(pf_source_secret(&c->source, "api_key")->file,
                        want);
    assert_string_equal(pf_source_str(&c->source, "language"), "de");
    pf_config_free(c);
}

static void
test_bad_values(void **state)
{
    (void)state;
    expect_err(FAKE "languag = nl\n", 10,
               "unknown key 'languag' in [source]",
               "did you mean 'language'?");
    expect_err(SHOP "type = fake\nlanguage = nl\napi_ky_file = k\n", 9,
               "unknown key 'api_ky_file' in [source]",
               "did you mean 'api_key_file'?");
    expect_err(FAKE "zzz = 1\n", 10, "unknown key 'zzz' in [source]",
               NULL);
    /* A key of another section, or of another type, says where it
     * belongs. */
    expect_err(FAKE "collect_emails = yes\n", 10, "belongs in [sync]",
               NULL);
    expect_err(FAKE "cluster = eu1\n", 10, "cluster: a key of [source] "
               "type = clustered, not of type = fake", NULL);
    expect_err(SHOP "type = fake\napi_key = env:K\n", 6,
               "[source] type = fake is missing required key 'language'",
               NULL);
    expect_err(SHOP "type = fake\nlanguage = nl\n", 6,
               "is missing api_key_file = PATH or api_key = env:VAR",
               NULL);
    expect_err(FAKE "prices = inkl\n", 10, "prices: expected incl or "
               "excl, got 'inkl'", "did you mean 'incl'?");
    expect_err(FAKE "api_url = ftp://x.example\n", 10,
               "api_url: expected an http:// or https://", NULL);
    expect_err(FAKE "api_url = https://\n", 10, "api_url:", NULL);
    expect_err(SHOP "type = fake\napi_key = env:K\nlanguage =\n", 9,
               "language: must not be empty", NULL);
    expect_err(FAKE "folder = nowhere\n", 10, "folder: folder",
               "does not exist");
    expect_err(FAKE "page_size = 251\n", 10, "page_size: expected a whole "
               "number from 1 to 250", "'251'");
    expect_err(FAKE "page_size = -1\n", 10, "page_size:", NULL);
    expect_err(FAKE "timeout = 0\n", 10, "timeout: expected seconds from "
               "1 to 600", NULL);
    expect_err(FAKE "share = 150%\n", 10, "share: expected a percentage",
               NULL);
    expect_err(FAKE "max_body = 1G\n", 10, "max_body: expected a size from "
               "1M to 64M such as 16M", "'1G'");
    expect_err(FAKE "verbose = maybe\n", 10, "verbose: expected yes/no",
               NULL);
    expect_err(SHOP "type = fakes\n", 7, "type: expected fake or "
               "clustered, got 'fakes'", "did you mean 'fake'?");
}

/* Secrets: env:VAR or KEY_file, never inline, never both; the value is
 * never echoed. */
static void
test_secret_forms(void **state)
{
    struct pf_config *c = NULL;
    struct pf_err err = { "" };

    (void)state;
    expect_err(SHOP "type = fake\nlanguage = nl\napi_key = hunter2x\n", 9,
               "api_key_file = PATH", "api_key = env:VARIABLE");
    write_file(g_conf, SHOP "type = fake\nlanguage = nl\n"
               "api_key = hunter2x\n");
    assert_int_equal(pf_config_load(g_conf, fake_registry, &c, &err), -1);
    assert_null(strstr(err.msg, "hunter2x"));
    expect_err(SHOP "type = fake\nlanguage = nl\napi_key = env:1X\n", 9,
               "environment variable", NULL);
    expect_err(FAKE "api_key_file = k\n", 10, "not both", NULL);
    expect_err(SHOP "type = fake\nlanguage = nl\napi_key_file = k\n"
               "api_key = env:K\n", 10, "not both", NULL);
    expect_err(SHOP "type = fake\nlanguage = nl\napi_key_file =\n", 9,
               "api_key_file: expected the path", NULL);
    /* check reads secret files of the type's table too. */
    c = load_ok(SHOP "type = fake\nlanguage = nl\napi_key_file = nokey\n");
    assert_int_equal(pf_config_check_files(c, &err), -1);
    assert_non_null(strstr(err.msg, ":9: [source] api_key_file"));
    pf_config_free(c);
}

/* finish: cross-key checks with the line to blame, and defaults that
 * depend on another key through pf_source_set(). */
static void
test_finish(void **state)
{
    struct pf_config *c;

    (void)state;
    c = load_ok(SHOP "type = clustered\ncluster = eu1\n");
    assert_string_equal(pf_source_str(&c->source, "api_url"),
                        "https://eu.example.com");
    assert_int_equal(pf_source_line(&c->source, "api_url"), 0);
    pf_config_free(c);
    expect_err(SHOP "type = clustered\ncluster = us1\n"
               "api_url = http://127.0.0.1:1\n", 9,
               "give cluster or api_url, not both", NULL);
    expect_err(SHOP "type = clustered\n", 6,
               "[source] needs cluster or api_url", NULL);
}

/* An accessor asked for a key the table lacks, or with the accessor of
 * another kind, is a bug in the source: it aborts, in a child here. */
static int
aborts(void (*fn)(const struct pf_config *), const struct pf_config *c)
{
    pid_t pid = fork();
    int st;

    assert_true(pid >= 0);
    if (pid == 0) {
        if (freopen("/dev/null", "w", stderr) == NULL)
            _exit(2);
        fn(c);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

static void
ask_unknown(const struct pf_config *c)
{
    (void)pf_source_str(&c->source, "path");
}

static void
ask_wrong_kind(const struct pf_config *c)
{
    (void)pf_source_long(&c->source, "language");
}

static void
ask_secret_as_text(const struct pf_config *c)
{
    (void)pf_source_str(&c->source, "api_key");
}

static void
ask_known(const struct pf_config *c)
{
    (void)pf_source_str(&c->source, "language");
    (void)pf_source_long(&c->source, "timeout");
}

static void
test_accessor_aborts(void **state)
{
    struct pf_config *c;

    (void)state;
    c = load_ok(FAKE);
    assert_true(aborts(ask_unknown, c));
    assert_true(aborts(ask_wrong_kind, c));
    assert_true(aborts(ask_secret_as_text, c));
    assert_false(aborts(ask_known, c));
    pf_config_free(c);
}

/* ---- the docs --------------------------------------------------------- */

/* docs/configuration.md has, per built-in type, a "#### type = NAME"
 * table with a row per key: kind, required, default as the table says,
 * and no row the table lacks. */
static const char *const kind_words[] = {
    [PF_KEY_TEXT] = "text", [PF_KEY_URL] = "URL", [PF_KEY_PATH] = "path",
    [PF_KEY_DIR] = "folder", [PF_KEY_SECRET] = "secret",
    [PF_KEY_INT] = "whole number", [PF_KEY_SECONDS] = "seconds",
    [PF_KEY_FRACTION] = "percentage", [PF_KEY_SIZE] = "size",
    [PF_KEY_CHOICE] = "one of", [PF_KEY_BOOL] = "yes/no",
};

/* The cells of the row "| `key` | ..." in sec[0, n), trimmed, into
 * cells[4]. 0 if there is none. */
static int
doc_row(const char *sec, size_t n, const char *key, char cells[4][128])
{
    char start[96];
    const char *p, *end = sec + n;

    snprintf(start, sizeof(start), "\n| `%s` |", key);
    for (p = sec; p < end; p++) {
        const char *c, *eol;

        if (strncmp(p, start, strlen(start)) != 0)
            continue;
        c = p + 2;
        eol = strchr(c, '\n');
        for (int i = 0; i < 4; i++) {
            const char *bar = memchr(c, '|', (size_t)(eol - c));
            const char *a = c, *b;

            assert_non_null(bar);
            b = bar;
            while (a < b && *a == ' ')
                a++;
            while (b > a && b[-1] == ' ')
                b--;
            snprintf(cells[i], 128, "%.*s", (int)(b - a), a);
            c = bar + 1;
        }
        return 1;
    }
    return 0;
}

static void
doc_type(const char *doc, const struct source_type *t)
{
    char head[96], cells[4][128], want[128];
    const char *sec, *end;
    size_t rows = 0, nkeys = 0;

    snprintf(head, sizeof(head), "\n#### type = %s\n", t->name);
    sec = strstr(doc, head);
    if (sec == NULL)
        fail_msg("docs/configuration.md has no '#### type = %s'", t->name);
    sec += strlen(head) - 1;
    end = strstr(sec + 1, "\n#");
    if (end == NULL)
        end = sec + strlen(sec);
    for (const char *p = sec; p < end; p++)
        if (strncmp(p, "\n| `", 4) == 0)
            rows++;
    for (const struct pf_key_def *k = t->keys; k->name; k++, nkeys++) {
        if (!doc_row(sec, (size_t)(end - sec), k->name, cells))
            fail_msg("type = %s: key %s is not in the docs", t->name,
                     k->name);
        if (strncmp(cells[1], kind_words[k->kind],
                    strlen(kind_words[k->kind])) != 0)
            fail_msg("type = %s: %s: docs say '%s', the table %s",
                     t->name, k->name, cells[1], kind_words[k->kind]);
        if (strcmp(cells[2], k->required ? "yes" : "") != 0)
            fail_msg("type = %s: %s: required is '%s' in the docs",
                     t->name, k->name, cells[2]);
        snprintf(want, sizeof(want), k->dflt ? "`%s`" : "%s",
                 k->dflt ? k->dflt : "");
        if (strcmp(cells[3], want) != 0)
            fail_msg("type = %s: %s: default '%s' in the docs, '%s' in "
                     "the table", t->name, k->name, cells[3], want);
    }
    if (rows != nkeys)
        fail_msg("type = %s: %zu rows in the docs, %zu keys", t->name, rows,
                 nkeys);
}

static void
test_docs_match_tables(void **state)
{
    char path[4096], *doc = NULL;
    size_t len = 0;
    struct pf_err err = { "" };

    (void)state;
    snprintf(path, sizeof(path), "%s/../docs/configuration.md",
             pf_templates_dir());
    if (pf_read_file(path, 1 << 20, &doc, &len, &err) != 0)
        fail_msg("%s", err.msg);
    for (size_t i = 0; source_types[i] != NULL; i++)
        doc_type(doc, source_types[i]);
    free(doc);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_streams_in_order),
        cmocka_unit_test(test_close_after_failed_stream),
        cmocka_unit_test(test_no_close_after_failed_open),
        cmocka_unit_test(test_sync_uses_the_configured_type),
        cmocka_unit_test(test_values_and_defaults),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_secret_forms),
        cmocka_unit_test(test_finish),
        cmocka_unit_test(test_accessor_aborts),
        cmocka_unit_test(test_docs_match_tables),
    };
    char path[128];
    int rc;

    snprintf(g_dir, sizeof(g_dir), "/tmp/pf_source_XXXXXX");
    if (mkdtemp(g_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(g_conf, sizeof(g_conf), "%s/t.conf", g_dir);
    snprintf(path, sizeof(path), "%s/data", g_dir);
    mkdir(path, 0755);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(g_conf);
    rmdir(path);
    rmdir(g_dir);
    return rc;
}
