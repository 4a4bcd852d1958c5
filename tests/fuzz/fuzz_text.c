/* fuzz_text.c - time, money and UTF-8 conversions, and the JSON and XML
 * text writers.
 *
 * The first input byte picks the function, the rest is its input.
 * Properties:
 * - time: a time pf_time_parse() accepts formats as ISO 8601 UTC, and in
 *   the shop's zone, that both parse back to it; any epoch formats
 *   without undefined behaviour, and one in PF_TIME_MIN..MAX (years
 *   0001-9999) parses back;
 * - money: an amount pf_money_parse() accepts, and any int64 amount,
 *   prints as text that parses back to the same minor units;
 * - UTF-8: pf_utf8_repair() output is always valid, and is the input,
 *   unchanged, exactly when pf_utf8_valid() says the input is; its
 *   count is zero exactly then too; jsonw_utf8_seq() agrees;
 * - jsonw_str() output is one JSON string that decodes to the repaired
 *   input;
 * - xmlw text, attribute and CDATA output parses, and reads back as
 *   xmlw_clean() of the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <yajl/yajl_parse.h>

#include "jsonw.h"
#include "out.h"
#include "timeutil.h"
#include "util.h"
#include "value.h"
#include "xmlw.h"

#define ZONE "Europe/Amsterdam"

static int64_t
bytes_i64(const uint8_t *p, size_t n)
{
    uint64_t u = 0;
    size_t i;

    for (i = 0; i < 8 && i < n; i++)
        u = u << 8 | p[i];
    return (int64_t)u;
}

/* s must parse, to want. */
static void
expect_time(const char *s, int64_t want)
{
    int64_t back = 0;

    if (pf_time_parse(s, &back, NULL) != 0 || back != want)
        abort();
}

static void
time_parse(const uint8_t *p, size_t n)
{
    char *s = xstrndup((const char *)p, n), out[40];
    struct pf_err err;
    int64_t t = 0;

    err.msg[0] = '\0';
    if (pf_time_parse(s, &t, &err) == 0) {
        pf_time_iso_utc(t, out);
        expect_time(out, t);
        if (pf_time_iso_local(t, ZONE, out) == 0)
            expect_time(out, t);
    }
    else if (err.msg[0] == '\0') {
        abort();
    }
    free(s);
}

/* Any epoch prints without undefined behaviour, NUL-terminated; one
 * from PF_TIME_MIN to PF_TIME_MAX as text that parses back to it. */
static void
time_format(const uint8_t *p, size_t n)
{
    int64_t t = bytes_i64(p, n);
    int in_range = t >= PF_TIME_MIN && t <= PF_TIME_MAX;
    char out[40];

    memset(out, 'x', sizeof out);
    pf_time_iso_utc(t, out);
    if (!memchr(out, '\0', 32))
        abort();
    if (in_range)
        expect_time(out, t);
    if (pf_time_iso_local(t, ZONE, out) == 0)
        expect_time(out, t);
}

/* minor printed with decimals parses back to minor. */
static void
money_round_trip(int64_t minor, int decimals)
{
    struct pf_buf b;
    int64_t back = 0;

    pf_buf_init(&b);
    pf_money_format(&b, minor, decimals);
    if (pf_money_parse(b.data, decimals, &back, NULL) != 0 || back != minor)
        abort();
    pf_buf_free(&b);
}

static void
money_parse(const uint8_t *p, size_t n)
{
    int decimals = n > 0 ? p[0] % 19 : 2;
    char *s = xstrndup(n > 0 ? (const char *)p + 1 : "", n > 0 ? n - 1 : 0);
    struct pf_err err;
    int64_t minor = 0;

    err.msg[0] = '\0';
    if (pf_money_parse(s, decimals, &minor, &err) == 0)
        money_round_trip(minor, decimals);
    else if (err.msg[0] == '\0')
        abort();
    free(s);
}

static void
money_format(const uint8_t *p, size_t n)
{
    money_round_trip(bytes_i64(p, n), n > 8 ? p[8] % 19 : 2);
}

static void
utf8(const uint8_t *p, size_t n)
{
    const char *s = (const char *)p;
    int valid = pf_utf8_valid(s, n), walk = 1;
    struct pf_buf b;
    size_t fixed, i, k;

    pf_buf_init(&b);
    fixed = pf_utf8_repair(&b, s, n);
    if (!pf_utf8_valid(b.data, b.len) || (fixed == 0) != valid)
        abort();
    if (valid && (b.len != n || (n > 0 && memcmp(b.data, s, n) != 0)))
        abort();
    for (i = 0; i < n && walk; i += k) {
        k = jsonw_utf8_seq(p + i, n - i);
        walk = k > 0;
    }
    if (walk != valid)
        abort();
    pf_buf_free(&b);
}

/* yajl hands over the one string value, decoded. */
struct decoded {
    struct pf_buf s;
    int values;
};

static int
on_string(void *ctx, const unsigned char *s, size_t n)
{
    struct decoded *d = ctx;

    pf_buf_add(&d->s, s, n);
    d->values++;
    return 1;
}

static const yajl_callbacks string_only = {.yajl_string = on_string};

static void
json_string(const uint8_t *p, size_t n)
{
    struct pf_buf out, want;
    struct pf_out o;
    struct jsonw w;
    struct decoded d;
    yajl_handle h;
    size_t fixed;
    int ok;

    pf_buf_init(&out);
    pf_buf_init(&want);
    pf_buf_init(&d.s);
    d.values = 0;
    pf_out_init_mem(&o, &out);
    jsonw_init(&w, &o);
    jsonw_str(&w, (const char *)p, n);
    if (pf_out_flush(&o, NULL) != 0)
        abort();
    fixed = pf_utf8_repair(&want, (const char *)p, n);
    h = yajl_alloc(&string_only, NULL, &d);
    ok = yajl_parse(h, (const unsigned char *)out.data, out.len) ==
             yajl_status_ok && yajl_complete_parse(h) == yajl_status_ok;
    yajl_free(h);
    if (!ok || d.values != 1 || w.repaired != fixed || d.s.len != want.len ||
        (want.len > 0 && memcmp(d.s.data, want.data, want.len) != 0))
        abort();
    jsonw_free(&w);
    pf_out_free(&o);
    pf_buf_free(&out);
    pf_buf_free(&want);
    pf_buf_free(&d.s);
}

/* <r a="S"><t>S</t><c>S as CDATA</c></r> */
static void
xml_write(const char *s, size_t n, struct pf_buf *out)
{
    struct pf_out o;
    struct xmlw x;

    pf_out_init_mem(&o, out);
    if (xmlw_init(&x, &o, NULL) != 0)
        abort();
    xmlw_start(&x, "r");
    xmlw_attr(&x, "a", s, n);
    xmlw_start(&x, "t");
    xmlw_text(&x, s, n);
    xmlw_end(&x);
    xmlw_start(&x, "c");
    xmlw_cdata(&x, s, n);
    xmlw_end(&x);
    xmlw_end(&x);
    if (xmlw_finish(&x, NULL) != 0 || pf_out_flush(&o, NULL) != 0)
        abort();
    xmlw_free(&x);
    pf_out_free(&o);
}

static void
expect_text(xmlChar *got, const char *want)
{
    if (!got || strcmp((const char *)got, want) != 0)
        abort();
    xmlFree(got);
}

static void
xml_text(const uint8_t *p, size_t n)
{
    struct pf_buf out, want;
    uint64_t repaired = 0, dropped = 0;
    xmlDocPtr doc;
    xmlNodePtr r, t, c;

    pf_buf_init(&out);
    pf_buf_init(&want);
    xmlw_clean(&want, (const char *)p, n, &repaired, &dropped);
    if (!pf_utf8_valid(want.data, want.len))
        abort();
    xml_write((const char *)p, n, &out);
    doc = xmlReadMemory(out.data, (int)out.len, "out.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR |
                        XML_PARSE_NOWARNING);
    r = doc ? xmlDocGetRootElement(doc) : NULL;
    t = r ? xmlFirstElementChild(r) : NULL;
    c = t ? xmlNextElementSibling(t) : NULL;
    if (!c)
        abort();
    expect_text(xmlGetProp(r, BAD_CAST "a"), want.data);
    expect_text(xmlNodeGetContent(t), want.data);
    expect_text(xmlNodeGetContent(c), want.data);
    xmlFreeDoc(doc);
    pf_buf_free(&out);
    pf_buf_free(&want);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static void (*const fns[])(const uint8_t *, size_t) = {
        time_parse, time_format, money_parse, money_format, utf8,
        json_string, xml_text,
    };

    if (size == 0)
        return 0;
    fns[data[0] % (sizeof fns / sizeof fns[0])](data + 1, size - 1);
    return 0;
}
