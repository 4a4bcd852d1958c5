/* test_template.c - JSON templates end to end: compile, render rows from
 * the fake shop (tests/fake_shop.h), parse the output back with cJSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "fake_shop.h"
#include "log.h"
#include "out.h"
#include "template.h"
#include "util.h"
#include "value.h"

/* ---- helpers ---- */

static char tmpdir[64];
static char path[128];
static char raw[1 << 16];       /* last rendered text */

static int
group_setup(void **state)
{
    (void)state;
    strcpy(tmpdir, "/tmp/pf_tpl_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int
group_teardown(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "%s/t.json", tmpdir);
    unlink(path);
    snprintf(path, sizeof path, "%s/t.xml", tmpdir);
    unlink(path);
    rmdir(tmpdir);
    return 0;
}

static const char *
write_tpl(const char *name, const char *text)
{
    FILE *fp;

    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    return path;
}

static struct tpl *
load(const char *text)
{
    struct pf_err err;
    struct tpl *t = NULL;

    err.msg[0] = '\0';
    if (tpl_load(write_tpl("t.json", text), &t, &err) != 0)
        fail_msg("template did not load: %s", err.msg);
    return t;
}

/* Renders with a fresh fake provider; leaves the text in raw. */
static int
render_raw(struct tpl *t, struct fake_shop *f, struct tpl_data *d,
           int64_t *items, struct pf_err *err)
{
    struct pf_buf b;
    struct pf_out o;
    int rc;

    pf_buf_init(&b);
    pf_out_init_mem(&o, &b);
    rc = tpl_render(t, d, &o, items, err);
    assert_int_equal(pf_out_flush(&o, NULL), 0);
    assert_true(b.len < sizeof raw);
    memcpy(raw, b.data ? b.data : "", b.len);
    raw[b.len] = '\0';
    pf_out_free(&o);
    pf_buf_free(&b);
    assert_int_equal(f->opened, f->closed);
    return rc;
}

/* Loads text, renders 3 products (and 2 orders), parses the result. */
static cJSON *
render(const char *text, int64_t *items)
{
    struct tpl *t = load(text);
    struct fake_shop f;
    struct tpl_data d;
    struct pf_err err;
    cJSON *j;

    fake_shop_init(&f, &d);
    err.msg[0] = '\0';
    if (render_raw(t, &f, &d, items, &err) != 0)
        fail_msg("render failed: %s", err.msg);
    fake_shop_free(&f);
    tpl_free(t);
    assert_true(pf_utf8_valid(raw, strlen(raw)));
    j = cJSON_Parse(raw);
    if (!j)
        fail_msg("output is not JSON: %s", raw);
    return j;
}

static const char *
load_error(const char *name, const char *text)
{
    static struct pf_err err;
    struct tpl *t = NULL;

    err.msg[0] = '\0';
    if (tpl_load(write_tpl(name, text), &t, &err) == 0) {
        tpl_free(t);
        fail_msg("template loaded but should not:\n%s", text);
    }
    assert_null(t);
    return err.msg;
}

/* Checks "PATH:LINE: " and that the rest contains want. */
static void
assert_error_at(const char *msg, int line, const char *want)
{
    char prefix[192];

    snprintf(prefix, sizeof prefix, "%s:%d: ", path, line);
    if (strncmp(msg, prefix, strlen(prefix)) != 0 || !strstr(msg, want))
        fail_msg("got '%s', want '%s...%s'", msg, prefix, want);
}

static cJSON *
get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static cJSON *
at(const cJSON *a, int i)
{
    return cJSON_GetArrayItem(a, i);
}

/* ---- tests ---- */

static void
test_typed_placeholders(void **state)
{
    int64_t items = -1;
    cJSON *j = render(
        "{\"products\": [{\"@each\": \"products\",\n"
        "  \"id\": \"{{product.id}}\",\n"
        "  \"price\": \"{{product.price}}\",\n"
        "  \"active\": \"{{ product.active }}\",\n"
        "  \"tags\": \"{{product.tags}}\",\n"
        "  \"attrs\": \"{{product.attributes}}\",\n"
        "  \"created\": \"{{product.created | unix}}\",\n"
        "  \"created_iso\": \"{{product.created}}\"\n"
        "}]}", &items);
    cJSON *p0 = at(get(j, "products"), 0);

    (void)state;
    assert_int_equal(items, 3);
    assert_int_equal(cJSON_GetArraySize(get(j, "products")), 3);
    assert_string_equal(get(p0, "id")->valuestring, "p1");
    assert_true(cJSON_IsNumber(get(p0, "price")));
    assert_true(get(p0, "price")->valuedouble == 12.5);
    /* Money keeps its fixed decimals in the text. */
    assert_non_null(strstr(raw, "\"price\":12.50"));
    assert_true(cJSON_IsTrue(get(p0, "active")));
    assert_true(cJSON_IsArray(get(p0, "tags")));
    assert_int_equal(cJSON_GetArraySize(get(p0, "tags")), 3);
    assert_true(cJSON_IsObject(get(p0, "attrs")));
    assert_string_equal(get(get(p0, "attrs"), "name")->valuestring,
                        "Spread name");
    assert_true(cJSON_IsNumber(get(p0, "created")));
    assert_true(get(p0, "created")->valuedouble == 1700000000.0);
    assert_string_equal(get(p0, "created_iso")->valuestring,
                        "2023-11-14T22:13:20Z");
    /* Product 2 is inactive: false is a value, not empty. */
    assert_true(cJSON_IsFalse(get(at(get(j, "products"), 1), "active")));
    /* Negative zero-decimal money. */
    assert_non_null(strstr(raw, "\"price\":-500"));
    /* Top-level rows are one per line. */
    assert_non_null(strstr(raw, "[\n{\"id\":\"p1\""));
    assert_non_null(strstr(raw, "},\n{\"id\":\"p2\""));
    assert_non_null(strstr(raw, "}\n]}"));
    cJSON_Delete(j);
}

static void
test_mixed_strings(void **state)
{
    cJSON *j = render(
        "{\"shop\": \"{{shop.name}} at {{shop.url}}\",\n"
        " \"rows\": [{\"@each\": \"products\",\n"
        "   \"title\": \"{{product.name}} ({{product.price | money}} EUR)\","
        "\n   \"tagtext\": \"[{{product.tags}}]\",\n"
        "   \"mixed_empty\": \"{{product.empty}}{{product.nope}}\",\n"
        "   \"n\": \"#{{product.price | int}} {{product.active}}\"\n"
        " }]}", NULL);
    cJSON *p0 = at(get(j, "rows"), 0), *p1 = at(get(j, "rows"), 1);

    (void)state;
    assert_string_equal(get(j, "shop")->valuestring,
                        "Demo & \"Shop\" at https://x.test");
    assert_string_equal(get(p0, "title")->valuestring, "Chair (12.50 EUR)");
    /* A list has no text form: it adds nothing to a mixed string. */
    assert_string_equal(get(p0, "tagtext")->valuestring, "[]");
    assert_null(get(p0, "mixed_empty"));
    assert_string_equal(get(p0, "n")->valuestring, "#13 true");
    assert_string_equal(get(p1, "n")->valuestring, "#999 false");
    cJSON_Delete(j);
}

static void
test_omit_empty_and_literals(void **state)
{
    cJSON *j = render(
        "{\"rows\": [{\"@each\": \"products\",\n"
        "   \"id\": \"{{product.id}}\",\n"
        "   \"empty\": \"{{product.empty}}\",\n"
        "   \"missing\": \"{{product.nope.deeper}}\",\n"
        "   \"tags\": \"{{product.tags}}\",\n"
        "   \"attrs\": \"{{product.attributes}}\",\n"
        "   \"arr\": [\"{{product.empty}}\", \"x\", \"{{product.id}}\","
        " \"{{product.tags}}\"]\n"
        " }],\n"
        " \"lit\": {\"n\": 1.50, \"e\": 1E+3, \"f\": false, \"z\": null,"
        " \"s\": \"\", \"a\": [], \"text\": \"a\\\"b\\u00e9\"}}", NULL);
    cJSON *p0 = at(get(j, "rows"), 0), *p1 = at(get(j, "rows"), 1);
    cJSON *arr;

    (void)state;
    assert_null(get(p0, "empty"));
    assert_null(get(p0, "missing"));
    assert_non_null(get(p0, "tags"));
    assert_null(get(p1, "tags"));
    assert_null(get(p1, "attrs"));
    arr = get(p0, "arr");
    assert_int_equal(cJSON_GetArraySize(arr), 3);
    assert_string_equal(at(arr, 0)->valuestring, "x");
    assert_string_equal(at(arr, 1)->valuestring, "p1");
    assert_true(cJSON_IsArray(at(arr, 2)));
    assert_int_equal(cJSON_GetArraySize(get(p1, "arr")), 2);
    /* Literals come out exactly as written. */
    assert_non_null(strstr(raw, "\"lit\":{\"n\":1.50,\"e\":1E+3,\"f\":false,"
                                "\"z\":null,\"s\":\"\",\"a\":[],"
                                "\"text\":\"a\\\"b\xC3\xA9\"}"));
    cJSON_Delete(j);
}

static void
test_each_nested_and_as(void **state)
{
    int64_t items = 0;
    cJSON *j = render(
        "{\"products\": [{\"@each\": \"products\",\n"
        "   \"id\": \"{{product.id}}\",\n"
        "   \"variants\": [{\"@each\": \"product.variants\",\n"
        "       \"id\": \"{{variant.id}}\", \"sku\": \"{{variant.sku}}\",\n"
        "       \"of\": \"{{product.id}}\"}],\n"
        "   \"tags\": [{\"@each\": \"{{product.tags | unique}}\", "
        "\"@as\": \"t\", \"name\": \"{{t}}\"}],\n"
        "   \"one\": [{\"@each\": \"product.id\", \"@as\": \"x\", "
        "\"v\": \"{{x}}\"}]\n"
        " }],\n"
        " \"orders\": [{\"@each\": \"orders\", \"id\": \"{{order.id}}\",\n"
        "   \"lines\": [{\"@each\": \"order.lines\",\n"
        "      \"pid\": \"{{line.product_id}}\","
        " \"q\": \"{{line.quantity}}\"}]}]}", &items);
    cJSON *p0 = at(get(j, "products"), 0), *vs = get(p0, "variants");
    cJSON *o1 = at(get(j, "orders"), 1);

    (void)state;
    /* 3 products + 2 orders; nested lists are not items. */
    assert_int_equal(items, 5);
    assert_int_equal(cJSON_GetArraySize(vs), 2);
    assert_string_equal(get(at(vs, 1), "id")->valuestring, "v2");
    assert_null(get(at(vs, 1), "sku"));
    assert_string_equal(get(at(vs, 0), "of")->valuestring, "p1");
    assert_int_equal(cJSON_GetArraySize(get(p0, "tags")), 2);
    assert_string_equal(get(at(get(p0, "tags"), 1), "name")->valuestring,
                        "b");
    /* A single value iterates as a list of one. */
    assert_int_equal(cJSON_GetArraySize(get(p0, "one")), 1);
    assert_string_equal(get(at(get(p0, "one"), 0), "v")->valuestring,
                        "p1");
    /* An empty list renders as an empty array. */
    assert_int_equal(cJSON_GetArraySize(get(at(get(j, "products"), 1),
                                            "variants")), 0);
    assert_string_equal(get(at(get(o1, "lines"), 1), "pid")->valuestring,
                        "p2");
    assert_int_equal(get(at(get(o1, "lines"), 1), "q")->valueint, 3);
    /* Nested arrays stay on one line; only top-level rows break. */
    assert_non_null(strstr(raw, "\"variants\":[{\"id\":\"v1\""));
    cJSON_Delete(j);
}

static void
test_if(void **state)
{
    int64_t items = 0;
    cJSON *j = render(
        "{\"active\": [{\"@each\": \"products\","
        " \"@if\": \"{{product.active}}\", \"id\": \"{{product.id}}\",\n"
        "   \"stocked\": [{\"@each\": \"product.variants\","
        " \"@if\": \"{{variant.stock}}\", \"id\": \"{{variant.id}}\"}],\n"
        "   \"extra\": {\"@if\": \"{{product.tags}}\", \"k\": 1},\n"
        "   \"list\": [{\"@if\": \"{{product.empty}}\", \"k\": 2}, 3]\n"
        "}]}", &items);
    cJSON *a = get(j, "active");

    (void)state;
    /* p2 is inactive: skipped, and not counted. */
    assert_int_equal(cJSON_GetArraySize(a), 2);
    assert_int_equal(items, 2);
    assert_string_equal(get(at(a, 0), "id")->valuestring, "p1");
    assert_string_equal(get(at(a, 1), "id")->valuestring, "p3");
    /* @if tests emptiness and false only: stock 0 is a value. */
    assert_int_equal(cJSON_GetArraySize(get(at(a, 0), "stocked")), 2);
    assert_non_null(get(at(a, 0), "extra"));
    assert_null(get(at(a, 1), "extra"));
    assert_int_equal(cJSON_GetArraySize(get(at(a, 0), "list")), 1);
    assert_int_equal(at(get(at(a, 0), "list"), 0)->valueint, 3);
    cJSON_Delete(j);
}

static void
test_spread(void **state)
{
    cJSON *j = render(
        "{\"rows\": [{\"@each\": \"products\",\n"
        "  \"id\": \"{{product.id}}\",\n"
        "  \"@spread\": \"{{product.attributes}}\",\n"
        "  \"name\": \"{{product.name}}\"\n"
        "}]}", NULL);
    cJSON *p0 = at(get(j, "rows"), 0), *p1 = at(get(j, "rows"), 1), *ch;
    int n = 0;

    (void)state;
    /* The explicit field wins over the spread one. */
    assert_string_equal(get(p0, "name")->valuestring, "Chair");
    /* The first of duplicate spread fields wins; empty ones are left
     * out. */
    assert_string_equal(get(p0, "color")->valuestring, "red");
    assert_null(get(p0, "empty"));
    for (ch = p0->child; ch; ch = ch->next)
        n++;
    assert_int_equal(n, 3);
    /* An empty object, or no object at all, spreads nothing. */
    assert_null(get(p1, "color"));
    assert_non_null(get(at(get(j, "rows"), 2), "id"));
    /* Spread fields come where @spread is written. */
    assert_non_null(strstr(raw, "{\"id\":\"p1\",\"color\":\"red\","
                                "\"name\":\"Chair\"}"));
    cJSON_Delete(j);

    /* Several spreads: the earlier one wins a shared name. */
    j = render("{\"rows\": [{\"@each\": \"products\",\n"
               "  \"@spread\": [\"{{product.options}}\",\n"
               "              \"{{product.attributes}}\"],\n"
               "  \"o\": {\"@spread\": \"{{product.options}}\"}\n"
               "}]}", NULL);
    p0 = at(get(j, "rows"), 0);
    assert_string_equal(get(p0, "color")->valuestring, "green");
    assert_string_equal(get(p0, "size")->valuestring, "L");
    assert_string_equal(get(p0, "name")->valuestring, "Spread name");
    /* A nested object has its own names. */
    assert_string_equal(get(get(p0, "o"), "color")->valuestring, "green");
    assert_non_null(strstr(raw, "{\"color\":\"green\",\"size\":\"L\","
                                "\"name\":\"Spread name\",\"o\":{"));
    cJSON_Delete(j);
}

static void
test_ndjson(void **state)
{
    struct tpl *t = load("{\"@each\": \"products\",\n"
                         " \"@if\": \"{{product.active}}\",\n"
                         " \"id\": \"{{product.id}}\","
                         " \"tags\": \"{{product.tags | join:'/'}}\"}\n");
    struct fake_shop f;
    struct tpl_data d;
    struct pf_err err;
    int64_t items = 0;
    char *line, *save = NULL;
    int n = 0;

    (void)state;
    assert_int_equal(tpl_get_format(t), TPL_NDJSON);
    fake_shop_init(&f, &d);
    assert_int_equal(render_raw(t, &f, &d, &items, &err), 0);
    assert_int_equal(items, 2);
    assert_string_equal(raw, "{\"id\":\"p1\",\"tags\":\"a/b/a\"}\n"
                             "{\"id\":\"p3\"}\n");
    for (line = strtok_r(raw, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        cJSON *j = cJSON_Parse(line);

        assert_non_null(j);
        cJSON_Delete(j);
        n++;
    }
    assert_int_equal(n, 2);
    fake_shop_free(&f);
    tpl_free(t);
}

static void
test_root_array_and_format(void **state)
{
    struct tpl *t = load("[{\"@each\": \"orders\","
                         " \"id\": \"{{order.id}}\"}]");
    int64_t items = 0;
    cJSON *j;

    (void)state;
    assert_int_equal(tpl_get_format(t), TPL_JSON);
    tpl_free(t);
    j = render("[{\"@each\": \"orders\", \"id\": \"{{order.id}}\"}]",
               &items);
    assert_int_equal(items, 2);
    assert_string_equal(raw, "[\n{\"id\":\"o1\"},\n{\"id\":\"o2\"}\n]\n");
    cJSON_Delete(j);
}

static void
test_escaping(void **state)
{
    cJSON *j = render("{\"rows\": [{\"@each\": \"products\","
                      " \"name\": \"{{product.name}}\","
                      " \"label\": \"<{{product.name}}>\"}]}", NULL);
    cJSON *p2 = at(get(j, "rows"), 2);
    /* The name's invalid byte is U+FFFD; the rest is kept, escaped. */
    const char *want = "Fish & <Chips> \"q\"\\ back\nline\x01 \xEF\xBF\xBE"
                       "x\xEF\xBF\xBD \xE6\x97\xA5\xE6\x9C\xAC "
                       "\xF0\x9F\x98\x80 \xE2\x80\xA8 sep";
    char label[160];

    (void)state;
    assert_string_equal(get(p2, "name")->valuestring, want);
    snprintf(label, sizeof label, "<%s>", want);
    assert_string_equal(get(p2, "label")->valuestring, label);
    /* The separator is escaped, never raw, in the output. */
    assert_null(strstr(raw, "\xE2\x80\xA8"));
    assert_non_null(strstr(raw, "\\u2028"));
    assert_non_null(strstr(raw, "\\u0001"));
    cJSON_Delete(j);
}

static void
test_filters_in_template(void **state)
{
    cJSON *j = render(
        "{\"rows\": [{\"@each\": \"products\",\n"
        " \"d\": \"{{ product.description | strip_html | upper }}\",\n"
        " \"short\": \"{{product.name | truncate:3:'.'}}\",\n"
        " \"r\": \"{{product.id | replace:/p(\\\\d)/P-$1/}}\",\n"
        " \"v\": \"{{product.variants | map:id}}\",\n"
        " \"n\": \"{{product.variants | count}}\",\n"
        " \"dflt\": \"{{product.description | default:'none'}}\",\n"
        " \"price\": \"{{product.price | number}}\"\n"
        "}]}", NULL);
    cJSON *p0 = at(get(j, "rows"), 0), *p1 = at(get(j, "rows"), 1);

    (void)state;
    assert_string_equal(get(p0, "d")->valuestring, "NICE & COMFY CHAIR");
    assert_string_equal(get(p0, "short")->valuestring, "Ch.");
    assert_string_equal(get(p0, "r")->valuestring, "P-1");
    assert_int_equal(cJSON_GetArraySize(get(p0, "v")), 2);
    assert_string_equal(at(get(p0, "v"), 1)->valuestring, "v2");
    assert_int_equal(get(p0, "n")->valueint, 2);
    assert_int_equal(get(p1, "n")->valueint, 0);
    assert_string_equal(get(p1, "dflt")->valuestring, "none");
    assert_null(get(p1, "v"));
    assert_non_null(strstr(raw, "\"price\":999.00"));
    cJSON_Delete(j);
}

static void
test_errors_name_line(void **state)
{
    const char *m;

    (void)state;
    m = load_error("t.json",
                   "{\n"
                   " \"rows\": [{\"@each\": \"products\",\n"
                   "   \"id\": \"{{product.id}}\",\n"
                   "   \"d\": \"{{product.description | strp_html}}\"\n"
                   " }]\n"
                   "}\n");
    assert_error_at(m, 4, "unknown filter 'strp_html' (did you mean "
                          "'strip_html'?)");

    m = load_error("t.json",
                   "{\"rows\": [{\"@each\": \"products\",\n"
                   "   \"id\": \"{{product.id}}\",\n"
                   "   \"n\": \"x {{prodct.name}}\"}]}");
    assert_error_at(m, 3, "unknown variable 'prodct'");
    assert_non_null(strstr(m, "did you mean 'product'?"));

    /* Outside the loop, product is not bound. */
    m = load_error("t.json",
                   "{\"rows\": [{\"@each\": \"products\", \"id\": 1}],\n"
                   " \"x\": \"{{product.id}}\"}");
    assert_error_at(m, 2, "unknown variable 'product'");

    m = load_error("t.json",
                   "{\"rows\": [{\"@each\": \"products\",\n\n\n"
                   "   \"s\": \"{{product.name | replace:/(ab/x/}}\"}]}");
    assert_error_at(m, 4, "bad pattern '(ab'");

    m = load_error("t.json", "{\n  \"a\": 1\n  \"b\": 2\n}\n");
    assert_error_at(m, 3, "invalid JSON");

    m = load_error("t.json", "{\n  \"a\": [1,\n");
    assert_error_at(m, 3, "invalid JSON");

    m = load_error("t.json", "{\"a\": 1,\n \"b\": \"{{shop.name\"}");
    assert_error_at(m, 2, "unterminated placeholder");

    m = load_error("t.json", "{\"a\": 1,\n \"b\": {\"@each\": \"products\","
                             " \"id\": 1}}");
    assert_error_at(m, 2, "\"@each\" must be in the only object");

    m = load_error("t.json", "{\n\"a\": [{\"@each\": \"products\",\n"
                             " \"@sprad\": \"{{product}}\"}]}");
    assert_error_at(m, 3, "unknown directive '@sprad'");

    m = load_error("t.json", "{\"a\": 1,\n\"b\": 2,\n\"a\": 3}");
    assert_error_at(m, 3, "duplicate key 'a'");

    m = load_error("t.json", "{\"p\": [{\"@each\": \"products\",\n"
                             " \"v\": [{\"@each\": \"orders\"}]}]}");
    assert_error_at(m, 2, "cannot be opened inside another @each");

    m = load_error("t.json", "{\"p\": [{\"@each\": \"products\",\n"
                             " \"v\": [{\"@each\": \"product.media\","
                             " \"x\": 1}]}]}");
    assert_error_at(m, 2, "add \"@as\"");

    m = load_error("t.json", "{\"p\": [{\"@each\": \"products\",\n"
                             "  \"x\": \"{{product.name | truncate:x}}\"}]}");
    assert_error_at(m, 2, "not a positive count");

    /* cJSON takes any control character for a space; JSON does not, and
     * a literal next to one was copied into the feed with it. */
    m = load_error("t.json", "{\"a\": 1,\n \"b\":\x16true}");
    assert_error_at(m, 2, "0x16");

    m = load_error("t.json", "{\"n\": 01}");
    assert_non_null(strstr(m, "t.json:1: "));

    m = load_error("t.json", "{\"@each\": \"product.variants\", \"x\": 1}");
    assert_non_null(strstr(m, "t.json:1: "));

    m = load_error("t.xml", "<rss>\n<a></rss>");
    assert_error_at(m, 2, "invalid XML");
}

static void
test_personal_data(void **state)
{
    static const struct {
        const char *text;
        int personal;
    } cases[] = {
        {"{\"p\": [{\"@each\": \"products\", \"n\": \"{{product.name}}\"}]}",
         0},
        {"[{\"@each\": \"customers\", \"id\": 1}]", 1},
        {"[{\"@each\": \"orders\", \"e\": \"{{order.email}}\"}]", 1},
        {"[{\"@each\": \"orders\", \"e\": \"x {{order.billing.phone}}\"}]",
         1},
        {"[{\"@each\": \"customers\", \"n\": \"{{customer.name}}\"}]", 1},
        {"[{\"@each\": \"orders\", \"l\": \"{{order.lines | map:email}}\"}]",
         1},
        {"[{\"@each\": \"orders\", \"id\": \"{{order.id}}\"}]", 0},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tpl *t = load(cases[i].text);

        assert_int_equal(tpl_uses_personal_data(t), cases[i].personal);
        tpl_free(t);
    }
}

/* A path that is not a template says what is wrong and where, and never
 * quotes the file: it may be a key file set by mistake. */
static void
test_not_a_template(void **state)
{
    static const struct {
        const char *name, *text;
        int line;
        const char *want;
    } cases[] = {
        {"t.json", "api_key: SECRET1\n", 1, "not a template: a JSON "
         "template starts with '{' or '['"},
        {"t.json", "\n\n  SECRET2 = x\n", 3, "not a template"},
        {"t.xml", "{\"k\": \"SECRET3\"}", 1, "not a template"},
        {"t.json", "", 1, "not a template: the file is empty"},
        {"t.json", " \n\t\n", 3, "not a template: the file is empty"},
        {"t.json", "\x7f" "ELF\x02\x01SECRET4", 1,
         "not a template: binary data"},
        {"t.json", "{\"a\":\n \"caf\xe9 SECRET5\"}", 2, "not UTF-8"},
        {"t.json", "{\n  \"password\": SECRET6\n}", 2,
         "invalid JSON at column 15: unexpected text"},
        {"t.json", "{\"a\": [1, 2}", 1, "at column 12: unexpected '}'"},
        {"t.xml", "<a>\n<SECRET7></a>", 2,
         "an end tag does not match its start tag"},
        {"t.xml", "<a>&SECRET8;</a>", 1, "an undefined entity"},
        {"t.xml", "<a><SECRET9:b/></a>", 1, "namespace prefix that is "
         "not declared"},
        {"t.xml", "<a>\n</a>\n<b/>", 3, "Extra content at the end"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *m = load_error(cases[i].name, cases[i].text);

        assert_error_at(m, cases[i].line, cases[i].want);
        if (strstr(m, "SECRET") != NULL)
            fail_msg("case %zu quotes the file: %s", i, m);
    }
}

/* The collections a template opens decide a feed's default access, so
 * every top-level @each counts once, nested lists do not. */
static void
test_collections(void **state)
{
    struct tpl *t;
    const char *const *vars;

    (void)state;
    t = load("{\"p\": [{\"@each\": \"products\",\n"
             "  \"v\": [{\"@each\": \"product.variants\", \"x\": 1}]}],\n"
             " \"o\": [{\"@each\": \"orders\", \"id\": 1}],\n"
             " \"q\": [{\"@each\": \"products\", \"id\": 2}]}");
    assert_int_equal(tpl_ncollections(t), 2);
    assert_string_equal(tpl_collection(t, 0), "products");
    assert_string_equal(tpl_collection(t, 1), "orders");
    assert_null(tpl_collection(t, 2));
    tpl_free(t);
    t = load("{\"shop\": \"{{shop.name}}\"}");
    assert_int_equal(tpl_ncollections(t), 0);
    tpl_free(t);

    vars = tpl_collection_vars("variants");
    assert_non_null(vars);
    assert_string_equal(vars[0], "variant");
    assert_string_equal(vars[1], "product");
    assert_null(vars[2]);
    assert_null(tpl_collection_vars("widgets"));
}

static void
test_provider_errors(void **state)
{
    struct tpl *t = load("{\"x\": [{\"@each\": \"widgets\", \"id\": 1}]}");
    struct fake_shop f;
    struct tpl_data d;
    struct pf_err err;

    (void)state;
    fake_shop_init(&f, &d);
    assert_int_equal(render_raw(t, &f, &d, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "collection 'widgets'"));
    assert_non_null(strstr(err.msg, "unknown collection"));
    tpl_free(t);
    fake_shop_free(&f);

    t = load("{\"x\": [{\"@each\": \"products\", \"id\": 1}]}");
    fake_shop_init(&f, &d);
    f.fail_next_at = 2;
    assert_int_equal(render_raw(t, &f, &d, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "database is locked"));
    /* The cursor was closed despite the error (checked in render_raw). */
    assert_int_equal(f.closed, 1);
    tpl_free(t);
    fake_shop_free(&f);
}

static long
max_rss_kb(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static int
render_to_null(struct tpl *t, long rows, int64_t *items)
{
    struct fake_shop f;
    struct tpl_data d;
    struct pf_out o;
    struct pf_err err;
    int fd = open("/dev/null", O_WRONLY);
    int rc;

    assert_true(fd >= 0);
    fake_shop_init(&f, &d);
    f.nproducts = rows;
    pf_out_init_fd(&o, fd);
    rc = tpl_render(t, &d, &o, items, &err);
    assert_int_equal(pf_out_flush(&o, NULL), 0);
    pf_out_free(&o);
    close(fd);
    fake_shop_free(&f);
    return rc;
}

/* 100k rows through filters that allocate: memory must not grow with
 * the number of rows (the arena is reset after each). */
/* Renders text counting left-out rows into left (n counters); the
 * output is left in raw. Returns the template's reason texts joined
 * with '|' in reasons. */
static void
render_counted(const char *text, int64_t *items, int64_t *left, size_t n,
               char *reasons, size_t rlen)
{
    struct tpl *t = load(text);
    struct fake_shop f;
    struct tpl_data d;
    struct pf_err err;
    struct pf_buf b;
    struct pf_out o;
    size_t i;

    assert_int_equal(tpl_nreasons(t), n);
    reasons[0] = '\0';
    for (i = 0; i < n; i++)
        snprintf(reasons + strlen(reasons), rlen - strlen(reasons), "%s%s",
                 i ? "|" : "", tpl_reason(t, i));
    assert_null(tpl_reason(t, n));
    fake_shop_init(&f, &d);
    pf_buf_init(&b);
    pf_out_init_mem(&o, &b);
    err.msg[0] = '\0';
    if (tpl_render_counted(t, &d, &o, items, left, &err) != 0)
        fail_msg("render failed: %s", err.msg);
    assert_true(b.len < sizeof raw);
    memcpy(raw, b.data ? b.data : "", b.len);
    raw[b.len] = '\0';
    pf_out_free(&o);
    pf_buf_free(&b);
    assert_int_equal(f.opened, f.closed);
    fake_shop_free(&f);
    tpl_free(t);
}

static void
test_require_leaves_rows_out(void **state)
{
    /* p1 has all; p2 has an empty description (first missing: d, though
     * its "b" is empty too); p3 has no tags (missing b). */
    int64_t items = -1, left[2] = {0, 0};
    char reasons[256];
    cJSON *j, *a;

    (void)state;
    render_counted(
        "{\"rows\": [{\"@each\": \"products\",\n"
        "  \"@require\": [\"d\", \"b\"],\n"
        "  \"id\": \"{{product.id}}\",\n"
        "  \"d\": \"{{product.description}}\",\n"
        "  \"b\": \"{{product.tags | first}}\"\n"
        "}], \"n\": 1}", &items, left, 2, reasons, sizeof reasons);
    assert_string_equal(reasons, "missing d|missing b");
    assert_int_equal(items, 1);
    assert_int_equal(left[0], 1);
    assert_int_equal(left[1], 1);
    j = cJSON_Parse(raw);
    assert_non_null(j);
    a = get(j, "rows");
    assert_int_equal(cJSON_GetArraySize(a), 1);
    assert_string_equal(get(at(a, 0), "id")->valuestring, "p1");
    /* Nothing of a left-out row reaches the output. */
    assert_null(strstr(raw, "p2"));
    assert_null(strstr(raw, "p3"));
    assert_non_null(strstr(raw, "{\"rows\":[\n{\"id\":\"p1\""));
    cJSON_Delete(j);

    /* Every row left out: the key goes, like a collection with no rows;
     * counts add up over renders. */
    render_counted(
        "{\"rows\": [{\"@each\": \"products\", \"@require\": [\"x\"],\n"
        "  \"x\": \"{{product.nope}}\"}], \"n\": 1}",
        &items, left, 1, reasons, sizeof reasons);
    assert_int_equal(items, 0);
    assert_int_equal(left[0], 4);
    assert_string_equal(raw, "{\"n\":1}\n");
}

static void
test_require_empty_objects_and_ndjson(void **state)
{
    /* An object or list that comes out with nothing in it is missing,
     * as a profile with no identifier is; @if is decided first and its
     * rows are not counted. */
    int64_t items = -1, left[2] = {0, 0};
    char reasons[256];

    (void)state;
    render_counted(
        "{\"@each\": \"products\", \"@if\": \"{{product.active}}\",\n"
        " \"@require\": [\"profile\", \"list\"],\n"
        " \"profile\": {\"brand\": \"{{product.brand}}\"},\n"
        " \"list\": [\"{{product.tags}}\"],\n"
        " \"id\": \"{{product.id}}\"}\n", &items, left, 2, reasons,
        sizeof reasons);
    assert_string_equal(reasons, "missing profile|missing list");
    /* p2 is inactive (@if), p3 has no brand. */
    assert_int_equal(items, 1);
    assert_int_equal(left[0], 1);
    assert_int_equal(left[1], 0);
    assert_string_equal(raw, "{\"profile\":{\"brand\":\"Acme\"},"
                             "\"list\":[[\"a\",\"b\",\"a\"]],"
                             "\"id\":\"p1\"}\n");
}

static void
test_always_writes_empty(void **state)
{
    cJSON *j = render(
        "[{\"@each\": \"products\",\n"
        "  \"@always\": {\"tags\": [], \"description\": \"\",\n"
        "               \"attrs\": {}},\n"
        "  \"id\": \"{{product.id}}\",\n"
        "  \"tags\": \"{{product.tags}}\",\n"
        "  \"description\": \"{{product.description}}\",\n"
        "  \"attrs\": \"{{product.attributes}}\",\n"
        "  \"brand\": \"{{product.brand}}\"\n"
        "}]", NULL);
    cJSON *p1 = at(j, 0), *p2 = at(j, 1), *p3 = at(j, 2);

    (void)state;
    assert_int_equal(cJSON_GetArraySize(get(p1, "tags")), 3);
    /* An empty list, or no value at all, is written as the empty value
     * @always gives, keeping the key's type. */
    assert_true(cJSON_IsArray(get(p2, "tags")));
    assert_int_equal(cJSON_GetArraySize(get(p2, "tags")), 0);
    assert_true(cJSON_IsArray(get(p3, "tags")));
    assert_string_equal(get(p2, "description")->valuestring, "");
    assert_true(cJSON_IsObject(get(p2, "attrs")));
    assert_null(get(p2, "attrs")->child);
    assert_true(cJSON_IsObject(get(p3, "attrs")));
    /* Keys not in @always are still left out. */
    assert_null(get(p2, "brand"));
    assert_non_null(strstr(raw, "{\"id\":\"p2\",\"tags\":[],"
                                "\"description\":\"\",\"attrs\":{}}"));
    cJSON_Delete(j);

    /* A collection under a key: no rows, an empty list. */
    j = render("{\"n\": 1, \"@always\": {\"rows\": []},\n"
               " \"rows\": [{\"@each\": \"products\", \"@if\": "
               "\"{{product.nope}}\", \"id\": \"{{product.id}}\"}]}", NULL);
    assert_string_equal(raw, "{\"n\":1,\"rows\":[]}\n");
    cJSON_Delete(j);
}

static void
test_marker_reasons_and_errors(void **state)
{
    int64_t items = 0, left[3] = {0, 0, 0};
    char reasons[256];

    (void)state;
    /* Rows of two collections: the reasons name them. */
    render_counted(
        "{\"p\": [{\"@each\": \"products\", \"@require\": [\"id\", \"b\"],\n"
        "          \"id\": \"{{product.id}}\",\n"
        "          \"b\": \"{{product.brand}}\"}],\n"
        " \"c\": [{\"@each\": \"categories\", \"@require\": [\"id\"],\n"
        "          \"id\": \"{{category.id}}\"}]}", &items, left, 3,
        reasons, sizeof reasons);
    assert_string_equal(reasons, "missing id (products)|missing b "
                                 "(products)|missing id (categories)");
    assert_int_equal(left[1], 2);
    assert_int_equal(items, 3);

    assert_error_at(load_error("t.json",
        "[{\"@each\": \"products\",\n"
        "  \"@require\": [\"id\", \"nope\"],\n"
        "  \"id\": \"{{product.id}}\"}]"), 2,
        "\"@require\" names \"nope\", which this object does not have");
    assert_error_at(load_error("t.json",
        "[{\"@each\": \"products\", \"id\": \"{{product.id}}\",\n"
        "  \"v\": [{\"@each\": \"product.variants\",\n"
        "         \"@require\": [\"id\"], \"id\": \"{{variant.id}}\"}]}]"),
        3, "\"@require\" belongs in the row of a collection");
    assert_error_at(load_error("t.json",
        "{\"x\": {\"@require\": [\"a\"], \"a\": 1}}"), 1,
        "\"@require\" belongs in the row of a collection");
    assert_error_at(load_error("t.json",
        "[{\"@each\": \"products\", \"@require\": \"id\",\n"
        "  \"id\": \"{{product.id}}\"}]"), 1,
        "\"@require\" takes a list of keys");
    assert_error_at(load_error("t.json",
        "[{\"@each\": \"products\", \"@require\": [\"id\", \"id\"],\n"
        "  \"id\": \"{{product.id}}\"}]"), 1,
        "\"@require\" names \"id\" twice");
    assert_error_at(load_error("t.json",
        "[{\"@each\": \"products\",\n"
        "  \"@always\": {\"tags\": [1]},\n"
        "  \"tags\": \"{{product.tags}}\"}]"), 2,
        "can be written empty as [], {} or \"\"");
    assert_error_at(load_error("t.json",
        "[{\"@each\": \"products\", \"@require\": [\"tags\"],\n"
        "  \"@always\": {\n"
        "     \"tags\": []},\n"
        "  \"tags\": \"{{product.tags}}\"}]"), 3,
        "is in \"@require\" and \"@always\"");
    assert_error_at(load_error("t.json",
        "{\"a\": 1,\n \"@always\": {\"b\": \"\"}}"), 2,
        "\"@always\" names \"b\", which this object does not have");
    assert_error_at(load_error("t.json",
        "{\"a\": 1,\n \"@always\": []}"), 2,
        "\"@always\" takes the keys to write even when empty");
    assert_error_at(load_error("t.json", "{\"@requires\": []}"), 1,
        "unknown directive '@requires' (known: @each, @as, @if, @spread, "
        "@require, @always)");
}

static void
test_streaming_is_flat(void **state)
{
    struct tpl *t = load(
        "{\"rows\": [{\"@each\": \"products\",\n"
        " \"id\": \"{{product.id}}\",\n"
        " \"d\": \"{{product.description | strip_html | truncate:8}}\",\n"
        " \"r\": \"{{product.name | replace:/a/aaaa/ | upper}}\",\n"
        " \"v\": \"{{product.variants | map:sku | unique}}\",\n"
        " \"t\": \"{{product.name}} {{product.created | iso8601}}\",\n"
        " \"@spread\": \"{{product.attributes}}\"\n"
        "}]}");
    int64_t items = 0;
    long before, after;

    (void)state;
    assert_int_equal(render_to_null(t, 10000, &items), 0);
    assert_int_equal(items, 10000);
    before = max_rss_kb();
    assert_int_equal(render_to_null(t, 100000, &items), 0);
    assert_int_equal(items, 100000);
    after = max_rss_kb();
    /* A leak of even 100 bytes a row would add ~10 MB. */
    if (after - before > 4096)
        fail_msg("peak RSS grew by %ld kB over 100k rows", after - before);
    tpl_free(t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_typed_placeholders),
        cmocka_unit_test(test_mixed_strings),
        cmocka_unit_test(test_omit_empty_and_literals),
        cmocka_unit_test(test_each_nested_and_as),
        cmocka_unit_test(test_if),
        cmocka_unit_test(test_spread),
        cmocka_unit_test(test_ndjson),
        cmocka_unit_test(test_root_array_and_format),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_filters_in_template),
        cmocka_unit_test(test_errors_name_line),
        cmocka_unit_test(test_personal_data),
        cmocka_unit_test(test_collections),
        cmocka_unit_test(test_not_a_template),
        cmocka_unit_test(test_provider_errors),
        cmocka_unit_test(test_streaming_is_flat),
        cmocka_unit_test(test_require_leaves_rows_out),
        cmocka_unit_test(test_require_empty_objects_and_ndjson),
        cmocka_unit_test(test_always_writes_empty),
        cmocka_unit_test(test_marker_reasons_and_errors),
    };

    /* Repaired-UTF-8 warnings are expected here; keep the run quiet. */
    pf_log_set_level(PF_LOG_ERROR);
    return cmocka_run_group_tests_name("template", tests, group_setup,
                                       group_teardown);
}
