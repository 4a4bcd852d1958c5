/* fuzz_template.c - the template compiler and renderer.
 *
 * The input is a template (JSON, or XML when it starts with '<', as
 * tpl_load decides). Properties:
 * - a template that fails to load says why, naming the template;
 * - one that loads renders against the fake shop (tests/fake_shop.h)
 *   into output that parses: yajl for JSON and for each NDJSON line,
 *   libxml2 for XML, and that is valid UTF-8; a render that fails says
 *   why, and closes every cursor it opened;
 * - a JSON template whose root is one repeated object renders again as
 *   NDJSON (format = ndjson), with as many lines as items.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include "fake_shop.h"
#include "log.h"
#include "out.h"
#include "template.h"
#include "util.h"

#define NAME "fuzz.tpl"

/* Every line one JSON value; returns the number of lines, -1 if one does
 * not parse or the text does not end with a newline. */
static long
ndjson_lines(const char *s, size_t n)
{
    size_t i = 0;
    long lines = 0;

    while (i < n) {
        const char *nl = memchr(s + i, '\n', n - i);

        if (!nl || !fake_json_parses(s + i, (size_t)(nl - (s + i))))
            return -1;
        lines++;
        i = (size_t)(nl - s) + 1;
    }
    return lines;
}

static int
xml_ok(const char *s, size_t n)
{
    xmlDocPtr doc = xmlReadMemory(s, (int)n, "out.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR |
                                  XML_PARSE_NOWARNING);

    xmlFreeDoc(doc);
    return doc != NULL;
}

static void
check_output(const struct tpl *t, const struct pf_buf *b, int64_t items)
{
    const char *s = b->data ? b->data : "";

    if (!pf_utf8_valid(s, b->len))
        abort();
    switch (tpl_get_format(t)) {
    case TPL_JSON:
        if (!fake_json_parses(s, b->len))
            abort();
        break;
    case TPL_NDJSON:
        if (ndjson_lines(s, b->len) != items)
            abort();
        break;
    case TPL_XML:
        if (!xml_ok(s, b->len))
            abort();
        break;
    }
}

/* Renders t; checks the output when the render succeeds. */
static void
render(const struct tpl *t)
{
    struct fake_shop f;
    struct tpl_data d;
    struct pf_buf b;
    struct pf_out o;
    struct pf_err err;
    int64_t items = -1;
    int rc;

    fake_shop_init(&f, &d);
    pf_buf_init(&b);
    pf_out_init_mem(&o, &b);
    err.msg[0] = '\0';
    rc = tpl_render(t, &d, &o, &items, &err);
    if (pf_out_flush(&o, NULL) != 0 || f.opened != f.closed)
        abort();
    if (rc == 0) {
        if (items < 0)
            abort();
        check_output(t, &b, items);
    }
    else if (rc != -1 || err.msg[0] == '\0') {
        abort();
    }
    pf_out_free(&o);
    pf_buf_free(&b);
    fake_shop_free(&f);
}

static void
silent(void *ctx, const char *fmt, ...)
{
    (void)ctx;
    (void)fmt;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* Repaired text is logged as a warning per value, and libxml2 prints
     * encoding errors of a broken template besides reporting them: keep
     * runs quiet. */
    pf_log_set_level(PF_LOG_ERROR);
    xmlSetGenericErrorFunc(NULL, silent);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tpl *t = NULL;
    struct pf_err err;

    err.msg[0] = '\0';
    if (tpl_load_mem(NAME, (const char *)data, size, &t, &err) != 0) {
        if (t || strncmp(err.msg, NAME ":", strlen(NAME ":")) != 0)
            abort();
        return 0;
    }
    render(t);
    if (tpl_get_format(t) == TPL_JSON && tpl_set_ndjson(t) == 0) {
        if (tpl_get_format(t) != TPL_NDJSON)
            abort();
        render(t);
    }
    tpl_free(t);
    return 0;
}
