/* test_serve_clerk.c - serve_clerk.h pieces that need no HTTP: the
 * Prometheus families of clerk_metrics(), with and without the label a
 * many-shops server adds to every sample. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serve_clerk.h"

struct cfx {
    char dir[64];
    struct clerk *k;
};

static const char conf[] =
    "[shop]\nname = S\ntimezone = UTC\ncurrency = EUR\n"
    "url = https://s.example\nstore = store.db\nfeeds_dir = feeds\n"
    "[source]\ntype = file\npath = data\n"
    "[serve]\nclerk_v2 = yes\nclerk_public_key = pk\n";

static enum MHD_Result
respond(void *arg, struct MHD_Connection *c, unsigned code,
        struct MHD_Response *r)
{
    (void)arg, (void)c, (void)code, (void)r;
    return MHD_NO;
}

static int
setup(void **state)
{
    struct cfx *f = calloc(1, sizeof(*f));
    char path[128];
    FILE *fp;

    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/pf-clerk-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(path, sizeof path, "%s/data", f->dir);
    if (mkdir(path, 0700) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/posfeed.conf", f->dir);
    fp = fopen(path, "w");
    if (fp == NULL || fputs(conf, fp) < 0 || fclose(fp) != 0)
        return -1;
    setenv("POSFEED_TEMPLATES", "templates", 1);
    f->k = clerk_new(respond, NULL);
    clerk_reload(f->k, path);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct cfx *f = *state;
    char cmd[128];
    int rc;

    clerk_free(f->k);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    rc = system(cmd) == 0 ? 0 : -1;
    free(f);
    return rc;
}

/* Checks every sample line (not "# ..." lines) of text: it holds must
 * and not must_not (each when not NULL). Returns how many there are. */
static int
each_sample(const char *text, const char *must, const char *must_not)
{
    const char *p = text, *nl;
    char line[256];
    int n = 0;

    for (; *p != '\0'; p = nl + 1) {
        nl = strchr(p, '\n');
        assert_non_null(nl);
        assert_true((size_t)(nl - p) < sizeof line);
        memcpy(line, p, (size_t)(nl - p));
        line[nl - p] = '\0';
        if (line[0] == '#')
            continue;
        n++;
        if (must != NULL && strstr(line, must) == NULL)
            fail_msg("sample without %s: %s", must, line);
        if (must_not != NULL && strstr(line, must_not) != NULL)
            fail_msg("sample with %s: %s", must_not, line);
        /* braces balanced and never empty */
        assert_null(strstr(line, "{}"));
        assert_null(strstr(line, "{,"));
        assert_null(strstr(line, ",}"));
    }
    return n;
}

static void
test_metrics_without_label(void **state)
{
    struct cfx *f = *state;
    struct pf_buf b, c;

    pf_buf_init(&b);
    pf_buf_init(&c);
    clerk_metrics(f->k, &b, NULL);
    clerk_metrics(f->k, &c, "");
    pf_buf_addc(&b, '\0');
    pf_buf_addc(&c, '\0');
    assert_string_equal(b.data, c.data);
    assert_non_null(strstr(b.data, "\nposfeed_clerk_v2_objects_total 0\n"));
    assert_non_null(strstr(b.data, "posfeed_clerk_v2_answers_total{"
                           "entity=\"products\",sync=\"full\"} 0\n"));
    assert_int_equal(each_sample(b.data, NULL, "shop="), 16);
    pf_buf_free(&b);
    pf_buf_free(&c);
}

static void
test_metrics_with_label(void **state)
{
    struct cfx *f = *state;
    struct pf_buf b;

    pf_buf_init(&b);
    clerk_metrics(f->k, &b, "shop=\"acme\"");
    pf_buf_addc(&b, '\0');
    assert_int_equal(each_sample(b.data, "shop=\"acme\"}", NULL), 16);
    assert_non_null(strstr(b.data, "\nposfeed_clerk_v2_objects_total"
                           "{shop=\"acme\"} 0\n"));
    assert_non_null(strstr(b.data, "posfeed_clerk_v2_answers_total{"
                           "entity=\"pages\",sync=\"incremental\","
                           "shop=\"acme\"} 0\n"));
    assert_non_null(strstr(b.data, "posfeed_clerk_v2_token_checks_total{"
                           "result=\"ok\",shop=\"acme\"} 0\n"));
    pf_buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_metrics_without_label, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_metrics_with_label, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
