/* test_serve_page.c - the status page and /metrics from a status
 * document: one entry per feed however many files a split feed
 * publishes, the Prometheus text format (one group per family, HELP and
 * TYPE first, zero samples for counters), the chart's date labels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "serve_page.h"

static cJSON *
rec(cJSON *feeds, const char *name, const char *path, double bytes,
    double gz, double items)
{
    cJSON *r = cJSON_CreateObject();
    char url[128];

    snprintf(url, sizeof(url), "/feeds/%s", path);
    cJSON_AddStringToObject(r, "name", name);
    cJSON_AddStringToObject(r, "path", path);
    cJSON_AddStringToObject(r, "url", url);
    cJSON_AddNumberToObject(r, "bytes", bytes);
    cJSON_AddNumberToObject(r, "gz_bytes", gz);
    cJSON_AddNumberToObject(r, "items", items);
    cJSON_AddStringToObject(r, "access", "public");
    cJSON_AddStringToObject(r, "published", "2026-11-20T11:00:00Z");
    cJSON_AddItemToArray(feeds, r);
    return r;
}

/* A document as the server builds it: "kc" split into 11 parts (records
 * in the store's name order, so part-10 comes before part-2), an index,
 * a plain feed with an awkward name, and a part whose feed record is
 * gone. */
static cJSON *
doc_new(int detail)
{
    cJSON *doc = cJSON_CreateObject(), *feeds, *counts;
    char name[32], path[32];
    int k;

    cJSON_AddStringToObject(doc, "shop", "Shop");
    cJSON_AddBoolToObject(doc, "detail", detail);
    counts = cJSON_AddObjectToObject(doc, "counts");
    cJSON_AddNumberToObject(counts, "products", 3);
    feeds = cJSON_AddArrayToObject(doc, "feeds");
    rec(feeds, "gone:part-2", "gone-2.json", 5, 0, 1);
    rec(feeds, "kc", "kc.json", 1000, 100, 5000);
    rec(feeds, "kc:index", "kc.json.parts.json", 900, 0, 11);
    for (k = 10; k <= 11; k++) {
        snprintf(name, sizeof(name), "kc:part-%d", k);
        snprintf(path, sizeof(path), "kc-%d.json", k);
        rec(feeds, name, path, 1000, 100, 400);
    }
    for (k = 2; k <= 9; k++) {
        snprintf(name, sizeof(name), "kc:part-%d", k);
        snprintf(path, sizeof(path), "kc-%d.json", k);
        rec(feeds, name, path, 1000, 100, 400);
    }
    rec(feeds, "we\"ird\\", "weird.json", 7, 0, 2);
    cJSON_AddArrayToObject(doc, "runs");
    return doc;
}

static char *
metrics(const cJSON *doc, const struct page_counters *pc)
{
    struct pf_buf b;

    pf_buf_init(&b);
    page_metrics(doc, pc, &b);
    return b.data;
}

/* Checks the exposition format's structure: every sample's family has
 * one HELP and one TYPE before its first sample, and no family comes
 * back after another began; counters end in _total and have a sample. */
static void
check_groups(const char *text)
{
    char fams[64][80], type[64][16], cur[80] = "", name[80];
    int nfam = 0, samples[64] = {0}, i, f;
    const char *line = text, *nl;

    while (*line != '\0') {
        nl = strchr(line, '\n');
        assert_non_null(nl);
        if (strncmp(line, "# HELP ", 7) == 0 ||
            strncmp(line, "# TYPE ", 7) == 0)
            sscanf(line + 7, "%79[^ \n]", name);
        else
            sscanf(line, "%79[^ {\n]", name);
        for (f = -1, i = 0; i < nfam; i++)
            if (strcmp(fams[i], name) == 0)
                f = i;
        if (f < 0) {
            assert_true(nfam < 64);
            /* A new family starts with its HELP line. */
            assert_memory_equal(line, "# HELP ", 7);
            f = nfam++;
            strcpy(fams[f], name);
            type[f][0] = '\0';
        }
        else if (strcmp(cur, name) != 0) {
            fail_msg("%s comes back after another family: %.*s", name,
                     (int)(nl - line), line);
        }
        strcpy(cur, name);
        if (strncmp(line, "# TYPE ", 7) == 0) {
            assert_string_equal(type[f], "");
            sscanf(line + 7, "%*s %15s", type[f]);
        }
        else if (line[0] != '#') {
            if (type[f][0] == '\0')
                fail_msg("%s: a sample before TYPE", name);
            samples[f]++;
        }
        line = nl + 1;
    }
    for (i = 0; i < nfam; i++) {
        if (strcmp(type[i], "counter") != 0)
            continue;
        assert_string_equal(fams[i] + strlen(fams[i]) - 6, "_total");
        if (samples[i] == 0)
            fail_msg("counter %s has no sample", fams[i]);
    }
}

static void
test_metrics_format_and_zero_counters(void **state)
{
    cJSON *doc = doc_new(1);
    struct page_counters *pc = calloc(1, sizeof(*pc));
    char *text;

    (void)state;
    pc->hits[200] = 3;
    pc->hits[418] = 1;      /* sent by nobody here, but shown once sent */
    text = metrics(doc, pc);
    check_groups(text);
    assert_non_null(strstr(text, "\nposfeed_http_requests_total"
                                 "{code=\"200\"} 3\n"));
    assert_non_null(strstr(text, "{code=\"304\"} 0\n"));
    assert_non_null(strstr(text, "{code=\"401\"} 0\n"));
    assert_non_null(strstr(text, "{code=\"404\"} 0\n"));
    assert_non_null(strstr(text, "{code=\"418\"} 1\n"));
    assert_null(strstr(text, "{code=\"203\"}"));
    assert_non_null(strstr(text, "\nposfeed_http_request_timeouts_total 0"
                                 "\n"));
    assert_non_null(strstr(text, "\nposfeed_run_in_progress 0\n"));
    free(text);
    free(pc);
    cJSON_Delete(doc);
}

static void
test_metrics_one_series_per_feed(void **state)
{
    cJSON *doc = doc_new(1);
    struct page_counters *pc = calloc(1, sizeof(*pc));
    char *text;

    (void)state;
    text = metrics(doc, pc);
    /* Parts and index are files of "kc", not feeds. */
    assert_null(strstr(text, "feed=\"kc:"));
    assert_non_null(strstr(text, "\nposfeed_feed_bytes{feed=\"kc\","
                                 "encoding=\"identity\"} 11000\n"));
    assert_non_null(strstr(text, "\nposfeed_feed_bytes{feed=\"kc\","
                                 "encoding=\"gzip\"} 1100\n"));
    assert_non_null(strstr(text, "\nposfeed_feed_items{feed=\"kc\"} 5000"
                                 "\n"));
    assert_non_null(strstr(text, "\nposfeed_feed_parts{feed=\"kc\"} 11\n"));
    /* A part whose feed is gone still shows, under its record's name. */
    assert_non_null(strstr(text, "\nposfeed_feed_parts{feed=\"gone:part-2\"}"
                                 " 1\n"));
    /* Label values escape quote and backslash. */
    assert_non_null(strstr(text, "\nposfeed_feed_items{feed=\"we\\\"ird"
                                 "\\\\\"} 2\n"));
    assert_null(strstr(text, "encoding=\"gzip\"} 0\n"));
    free(text);
    free(pc);
    cJSON_Delete(doc);
}

static char *
page(const cJSON *doc)
{
    struct pf_buf b;

    pf_buf_init(&b);
    page_html(doc, 1795176000, &b);
    return b.data;
}

static int
count(const char *hay, const char *needle)
{
    int n = 0;

    for (hay = strstr(hay, needle); hay != NULL;
         hay = strstr(hay + 1, needle))
        n++;
    return n;
}

static void
test_page_lists_split_feed_once(void **state)
{
    cJSON *doc = doc_new(0);
    char *html = page(doc);
    const char *p2, *p9, *p10;

    (void)state;
    assert_int_equal(count(html, "<tr><td>kc</td>"), 1);
    assert_int_equal(count(html, "<td>kc:"), 0);
    assert_int_equal(count(html, "<tr><td>gone:part-2</td>"), 1);
    /* The feed's size is that of all its parts. */
    assert_non_null(strstr(html, "<td>5000</td><td>10.7 KB</td>"));
    assert_non_null(strstr(html, "11 parts: <a href=\"/feeds/kc.json\">"));
    p2 = strstr(html, "\"/feeds/kc-2.json\"");
    p9 = strstr(html, "\"/feeds/kc-9.json\"");
    p10 = strstr(html, "\"/feeds/kc-10.json\"");
    assert_non_null(p2);
    assert_true(p2 < p9 && p9 < p10);
    assert_non_null(strstr(html, "; index <a href=\"/feeds/kc.json.parts"
                                 ".json\">"));
    /* Valid tables and a password field a validator accepts. */
    assert_int_equal(count(html, "<table>"), count(html, "<tbody>"));
    assert_non_null(strstr(html, "type=\"password\" id=\"tok\" "
                                 "autocomplete=\"current-password\""));
    free(html);
    cJSON_Delete(doc);
}

/* Dates: the first starts at the left edge and the last ends at the
 * right one; between them a week apart, centred, each at least a gap
 * from its neighbours by the width bound the layout uses (a 5-character
 * label is under 33 units at 10px in any common sans-serif face). */
static void
test_chart_date_labels(void **state)
{
    cJSON *doc = doc_new(1), *days, *d;
    char date[16], *html, anchor[16], text[16], got[128] = "";
    const char *p;
    double x, prev_end = 0;
    int i, y;

    (void)state;
    days = cJSON_AddArrayToObject(doc, "orders_per_day");
    for (i = 0; i < 30; i++) {
        d = cJSON_CreateObject();
        snprintf(date, sizeof(date), "2026-%02d-%02d", i < 10 ? 10 : 11,
                 i < 10 ? 22 + i : i - 9);
        cJSON_AddStringToObject(d, "date", date);
        cJSON_AddNumberToObject(d, "orders", i == 5 ? 1234 : i);
        cJSON_AddItemToArray(days, d);
    }
    html = page(doc);
    for (p = strstr(html, "<text x=\""); p != NULL;
         p = strstr(p + 1, "<text x=\"")) {
        if (sscanf(p, "<text x=\"%lf\" y=\"%d\" font-size=\"10\" "
                   "text-anchor=\"%15[a-z]\">%15[^<]", &x, &y, anchor,
                   text) != 4 || y != 172)
            continue;
        if (strcmp(anchor, "start") == 0) {
            assert_true(x == 1.0);
            prev_end = x + 33;
        }
        else if (strcmp(anchor, "end") == 0) {
            assert_true(x == 719.0);
            assert_true(prev_end + 8 <= x - 33);
        }
        else {
            assert_true(x - 16.5 >= prev_end + 8);
            prev_end = x + 16.5;
        }
        strcat(got, text);
        strcat(got, " ");
    }
    assert_string_equal(got, "10-22 10-29 11-05 11-12 11-20 ");
    /* A count wider than its bar is left to the bar's tooltip. */
    assert_null(strstr(html, ">1234</text>"));
    assert_non_null(strstr(html, "2026-10-27: 1234 orders"));
    assert_non_null(strstr(html, ">29</text>"));
    free(html);
    cJSON_Delete(doc);
}

/* Per-shop texts whose families each start with "# HELP": merged, every
 * family appears once, HELP and TYPE first, then all shops' samples in
 * order, families in first-seen order. */
static void
test_metrics_merge_by_family(void **state)
{
    static const char a[] =
        "# HELP f_a A.\n# TYPE f_a counter\nf_a{shop=\"a\"} 1\n"
        "# HELP f_b B.\n# TYPE f_b gauge\nf_b{shop=\"a\",x=\"1\"} 2\n";
    static const char b[] =
        "# HELP f_b B.\n# TYPE f_b gauge\nf_b{shop=\"b\",x=\"1\"} 3\n"
        "# HELP f_c C.\n# TYPE f_c gauge\nf_c{shop=\"b\"} 4\n"
        "# HELP f_a A.\n# TYPE f_a counter\nf_a{shop=\"b\"} 5\n";
    struct pf_buf parts[3], out;
    char *text;

    (void)state;
    pf_buf_init(&parts[0]);
    pf_buf_init(&parts[1]);
    pf_buf_init(&parts[2]);     /* a shop without Clerk V2: nothing */
    pf_buf_adds(&parts[0], a);
    pf_buf_adds(&parts[1], b);
    pf_buf_init(&out);
    page_metrics_merge(parts, 3, &out);
    text = xstrndup(out.data, out.len);
    assert_string_equal(text,
        "# HELP f_a A.\n# TYPE f_a counter\nf_a{shop=\"a\"} 1\n"
        "f_a{shop=\"b\"} 5\n"
        "# HELP f_b B.\n# TYPE f_b gauge\nf_b{shop=\"a\",x=\"1\"} 2\n"
        "f_b{shop=\"b\",x=\"1\"} 3\n"
        "# HELP f_c C.\n# TYPE f_c gauge\nf_c{shop=\"b\"} 4\n");
    free(text);
    pf_buf_free(&out);
    pf_buf_free(&parts[0]);
    pf_buf_free(&parts[1]);
    pf_buf_free(&parts[2]);
}

/* Many shops: every per-shop series carries shop="NAME" first, the
 * server's HTTP counters none. */
static void
test_metrics_shop_labels(void **state)
{
    cJSON *doc = cJSON_Parse("{\"counts\": {\"products\": 3}, "
                             "\"feeds\": [{\"name\": \"clerk\", "
                             "\"path\": \"clerk.json\", \"bytes\": 10, "
                             "\"items\": 3}]}");
    struct page_counters pc = {0};
    struct page_shop shops[2] = {{"acme", doc, &pc}, {"bob", doc, &pc}};
    struct pf_buf b;
    char *text;

    (void)state;
    pc.runs = 2;
    pf_buf_init(&b);
    page_metrics_shops(shops, 2, &pc, &b);
    text = xstrndup(b.data, b.len);
    assert_non_null(strstr(text, "posfeed_runs_total{shop=\"acme\"} 2\n"
                                 "posfeed_runs_total{shop=\"bob\"} 2\n"));
    assert_non_null(strstr(text, "posfeed_store_rows{shop=\"bob\","
                                 "table=\"products\"} 3\n"));
    assert_non_null(strstr(text, "posfeed_feed_bytes{shop=\"acme\","
                                 "feed=\"clerk\",encoding=\"identity\"} "
                                 "10\n"));
    assert_non_null(strstr(text, "\nposfeed_http_request_timeouts_total 0"
                                 "\n"));
    free(text);
    pf_buf_free(&b);
    cJSON_Delete(doc);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_format_and_zero_counters),
        cmocka_unit_test(test_metrics_one_series_per_feed),
        cmocka_unit_test(test_page_lists_split_feed_once),
        cmocka_unit_test(test_chart_date_labels),
        cmocka_unit_test(test_metrics_merge_by_family),
        cmocka_unit_test(test_metrics_shop_labels),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
