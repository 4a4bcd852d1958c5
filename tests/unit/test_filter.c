/* test_filter.c - each template filter, its argument checks, and the
 * edge cases feeds hit: UTF-8 truncation, money signs, regex groups,
 * HTML entities and scripts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "filter.h"
#include "timeutil.h"
#include "util.h"
#include "value.h"

static struct pf_arena arena;
/* Results may point into their filter (default:'x'), so filters live
 * until the end of the test. */
static struct filter *kept[256];
static size_t nkept;

static int
setup(void **state)
{
    (void)state;
    pf_arena_init(&arena);
    nkept = 0;
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    while (nkept > 0)
        filter_free(kept[--nkept]);
    pf_arena_free(&arena);
    return 0;
}

/* Parses spec, a chain "a | b:x", and applies it to in. */
static struct pf_value
run(const char *spec, struct pf_value in)
{
    struct pf_err err;
    struct pf_value out = in;
    size_t n = strlen(spec), i = 0;

    for (;;) {
        struct filter *f;
        size_t used = 0;

        err.msg[0] = '\0';
        f = filter_parse(spec + i, n - i, &used, &err);
        if (!f)
            fail_msg("filter '%s' did not parse: %s", spec, err.msg);
        assert_int_equal(filter_apply(f, &in, &arena, &out, &err), 0);
        assert_true(nkept < sizeof kept / sizeof kept[0]);
        kept[nkept++] = f;
        in = out;
        i += used;
        if (i == n)
            break;
        assert_int_equal(spec[i], '|');
        i++;
    }
    return out;
}

static struct pf_value
S(const char *s)
{
    return pf_v_str(&arena, s);
}

/* A string result, checked for type and NUL termination. */
static const char *
str(struct pf_value v)
{
    assert_int_equal(v.type, PF_STR);
    assert_int_equal(strlen(v.u.str.s), v.u.str.len);
    return v.u.str.s;
}

static const char *
num(struct pf_value v)
{
    assert_int_equal(v.type, PF_NUM);
    assert_int_equal(strlen(v.u.str.s), v.u.str.len);
    return v.u.str.s;
}

static int64_t
ival(struct pf_value v)
{
    assert_int_equal(v.type, PF_INT);
    return v.u.i;
}

/* The error message of a spec that must not parse. */
static const char *
parse_error(const char *spec)
{
    static struct pf_err err;
    struct filter *f;
    size_t used;

    err.msg[0] = '\0';
    f = filter_parse(spec, strlen(spec), &used, &err);
    if (f) {
        filter_free(f);
        fail_msg("filter '%s' parsed but should not", spec);
    }
    assert_true(err.msg[0] != '\0');
    return err.msg;
}

static void
test_default(void **state)
{
    struct pf_value v;

    (void)state;
    assert_string_equal(str(run("default:'n/a'", S(""))), "n/a");
    assert_string_equal(str(run("default:\"x: y\"", pf_v_null())),
                        "x: y");
    assert_string_equal(str(run("default:'n/a'", S("given"))), "given");
    assert_int_equal(ival(run("default:0", pf_v_null())), 0);
    assert_int_equal(ival(run("default:0", pf_v_int(5))), 5);
    assert_string_equal(num(run("default:1.5", pf_v_null())), "1.5");
    v = run("default:true", pf_v_list(&arena, 0));
    assert_int_equal(v.type, PF_BOOL);
    assert_int_equal(v.u.i, 1);
    assert_string_equal(str(run("default: none ", pf_v_null())), "none");
    /* Escaped quote inside a quoted argument. */
    assert_string_equal(str(run("default:'it\\'s'", pf_v_null())), "it's");
    assert_non_null(strstr(parse_error("default"), "needs 1 argument"));
    assert_non_null(strstr(parse_error("default:'open"), "unterminated"));
}

static void
test_strip_html(void **state)
{
    const char *in =
        "<p>Caf&eacute; &amp; <b>bar</b>er</p><script type=\"x\">"
        "alert('<p>x</p>')</script><STYLE>p{}</style>  &nbsp;&euro;5 "
        "&#233;&#x263A;&#8217; &unknown; &lt;tag&gt;<!-- c --><br/>end";

    (void)state;
    assert_string_equal(str(run("strip_html", S(in))),
                        "Caf\xC3\xA9 & barer \xE2\x82\xAC" "5 "
                        "\xC3\xA9\xE2\x98\xBA\xE2\x80\x99 &unknown; "
                        "<tag> end");
    /* Whitespace collapses and trims; a bare '<' is text. */
    assert_string_equal(str(run("strip_html", S("  a \n\t b < c  "))),
                        "a b < c");
    assert_string_equal(str(run("strip_html", S("<div><p> </p></div>"))),
                        "");
    /* An unterminated script drops the rest, not the whole string. */
    assert_string_equal(str(run("strip_html", S("ok<script>bad"))), "ok");
    /* Numeric references to C1 codes mean Windows-1252 (&#128; = euro);
     * a NUL reference becomes U+FFFD. */
    assert_string_equal(str(run("strip_html", S("&#128;&#0;"))),
                        "\xE2\x82\xAC\xEF\xBF\xBD");
    /* Quoted '>' inside an attribute does not end the tag. */
    assert_string_equal(str(run("strip_html",
                                S("<a title=\"a>b\">link</a>"))), "link");
    assert_int_equal(run("strip_html", pf_v_int(3)).u.i, 3);
    assert_non_null(strstr(parse_error("strip_html:1"),
                           "takes no argument"));
}

static size_t
chars(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

static void
test_truncate(void **state)
{
    const char *mixed = "Gr\xC3\xBC\xC3\x9F" "e \xE2\x82\xAC" "10 "
                        "\xF0\x9F\x98\x80\xF0\x9F\x98\x80 caf\xC3\xA9s";
    char spec[32];
    int n;

    (void)state;
    assert_string_equal(str(run("truncate:15", S("Hello wonderful world"))),
                        "Hello wonderful");
    /* No space in the last fifth: a hard cut. */
    assert_string_equal(str(run("truncate:12", S("Hello wonderful world"))),
                        "Hello wonder");
    /* A space in the last fifth: cut there. */
    assert_string_equal(str(run("truncate:17", S("The quick brown fox"))),
                        "The quick brown");
    assert_string_equal(str(run("truncate:50", S("short"))), "short");
    assert_string_equal(str(run("truncate:3", S("\xC3\xA9\xC3\xA9\xC3\xA9"
                                                 "\xC3\xA9"))),
                        "\xC3\xA9\xC3\xA9\xC3\xA9");
    /* The ellipsis counts towards N. */
    assert_string_equal(str(run("truncate:10:'\xE2\x80\xA6'",
                                S("abcdefghijklmnop"))),
                        "abcdefghi\xE2\x80\xA6");
    assert_string_equal(str(run("truncate:10:'...'", S("abcdefghij"))),
                        "abcdefghij");
    /* Every N keeps valid UTF-8 and at most N characters. */
    for (n = 1; n <= 25; n++) {
        const char *r;

        snprintf(spec, sizeof spec, "truncate:%d", n);
        r = str(run(spec, S(mixed)));
        assert_true(pf_utf8_valid(r, strlen(r)));
        assert_true(chars(r) <= (size_t)n);
        assert_memory_equal(r, mixed, strlen(r));
    }
    assert_int_equal(run("truncate:2", pf_v_int(123456)).u.i, 123456);
    assert_non_null(strstr(parse_error("truncate:abc"),
                           "not a positive count"));
    assert_non_null(strstr(parse_error("truncate:0"),
                           "not a positive count"));
    assert_non_null(strstr(parse_error("truncate"), "1 to 2"));
}

static void
test_money(void **state)
{
    (void)state;
    assert_string_equal(str(run("money", pf_v_money(1250, 2, "EUR"))),
                        "12.50");
    assert_string_equal(str(run("money", pf_v_money(-1250, 2, "EUR"))),
                        "-12.50");
    assert_string_equal(str(run("money", pf_v_money(-5, 2, "EUR"))),
                        "-0.05");
    assert_string_equal(str(run("money", pf_v_money(1500, 0, "JPY"))),
                        "1500");
    assert_string_equal(str(run("money", pf_v_money(-1500, 0, "JPY"))),
                        "-1500");
    assert_string_equal(str(run("money", pf_v_money(1234, 3, "KWD"))),
                        "1.234");
    assert_string_equal(str(run("money", pf_v_int(3))), "3.00");
    assert_string_equal(str(run("money", S("12.345"))), "12.35");
    assert_string_equal(str(run("money", S(" -0.005 "))), "-0.01");
    assert_string_equal(str(run("money", S("7"))), "7.00");
    assert_int_equal(run("money", S("abc")).type, PF_NULL);
    assert_int_equal(run("money", pf_v_null()).type, PF_NULL);
}

static void
test_number(void **state)
{
    struct pf_value v;

    (void)state;
    assert_string_equal(num(run("number", pf_v_money(1250, 2, "EUR"))),
                        "12.50");
    assert_string_equal(num(run("number", pf_v_money(-7, 0, "JPY"))),
                        "-7");
    assert_string_equal(num(run("number", S("007"))), "7");
    assert_string_equal(num(run("number", S(" 12.5 "))), "12.5");
    assert_string_equal(num(run("number", S("+3"))), "3");
    assert_string_equal(num(run("number", S(".5"))), "0.5");
    assert_string_equal(num(run("number", S("-0.0"))), "-0.0");
    assert_string_equal(num(run("number", S("-.0"))), "0.0");
    assert_string_equal(num(run("number", S("1e3"))), "1e3");
    assert_int_equal(run("number", S("12 EUR")).type, PF_NULL);
    assert_int_equal(run("number", S("")).type, PF_NULL);
    assert_int_equal(ival(run("number", pf_v_int(9))), 9);
    assert_int_equal(ival(run("number", pf_v_bool(1))), 1);
    v = run("number", pf_v_list(&arena, 1));
    assert_int_equal(v.type, PF_NULL);
}

static void
test_int_filter(void **state)
{
    (void)state;
    assert_int_equal(ival(run("int", S("12.5"))), 13);
    assert_int_equal(ival(run("int", S("-12.5"))), -13);
    assert_int_equal(ival(run("int", S("12.49"))), 12);
    assert_int_equal(ival(run("int", pf_v_money(1250, 2, "EUR"))), 13);
    assert_int_equal(ival(run("int", pf_v_money(1249, 2, "EUR"))), 12);
    assert_int_equal(ival(run("int", pf_v_money(-1250, 2, "EUR"))), -13);
    assert_int_equal(ival(run("int", S("1e3"))), 1000);
    assert_int_equal(ival(run("int", pf_v_time(1700000000))), 1700000000);
    assert_int_equal(run("int", S("x")).type, PF_NULL);
    assert_int_equal(run("int", S("99999999999999999999")).type, PF_NULL);
}

static void
test_string_and_bool(void **state)
{
    struct pf_value l = pf_v_list(&arena, 3);
    static const struct {
        const char *in;
        int want;
    } words[] = {
        {"yes", 1}, {"no", 0}, {"0", 0}, {"0.00", 0}, {"1", 1},
        {"false", 0}, {"FALSE", 0}, {"off", 0}, {"anything", 1},
        {" ", 0}, {"-2", 1}
    };
    size_t i;

    (void)state;
    l.u.list.items[0] = S("a");
    l.u.list.items[1] = pf_v_null();
    l.u.list.items[2] = pf_v_int(2);
    assert_string_equal(str(run("string", pf_v_int(42))), "42");
    assert_string_equal(str(run("string", pf_v_money(1250, 2, NULL))),
                        "12.50");
    assert_string_equal(str(run("string", pf_v_bool(1))), "true");
    assert_string_equal(str(run("string", pf_v_time(0))),
                        "1970-01-01T00:00:00Z");
    assert_string_equal(str(run("string", l)), "a,2");
    for (i = 0; i < sizeof words / sizeof words[0]; i++) {
        struct pf_value v = run("bool", S(words[i].in));

        assert_int_equal(v.type, PF_BOOL);
        assert_int_equal(v.u.i, words[i].want);
    }
    assert_int_equal(run("bool", pf_v_int(0)).u.i, 0);
    assert_int_equal(run("bool", pf_v_int(7)).u.i, 1);
    assert_int_equal(run("bool", pf_v_null()).type, PF_BOOL);
    assert_int_equal(run("bool", pf_v_null()).u.i, 0);
    assert_int_equal(run("bool", pf_v_money(0, 2, NULL)).u.i, 0);
}

static void
test_join_lower_upper(void **state)
{
    struct pf_value l = pf_v_list(&arena, 4);

    (void)state;
    l.u.list.items[0] = S("a");
    l.u.list.items[1] = S("");
    l.u.list.items[2] = pf_v_int(3);
    l.u.list.items[3] = pf_v_list(&arena, 1);
    assert_string_equal(str(run("join", l)), "a,3");
    assert_string_equal(str(run("join:' | '", l)), "a | 3");
    assert_string_equal(str(run("join:;", l)), "a;3");
    assert_string_equal(str(run("join", pf_v_list(&arena, 0))), "");
    assert_string_equal(str(run("join", S("not a list"))), "not a list");
    assert_string_equal(str(run("lower", S("\xC3\x84" "bC-D"))),
                        "\xC3\x84" "bc-d");
    assert_string_equal(str(run("upper", S("\xC3\xA4" "bC-d"))),
                        "\xC3\xA4" "BC-D");
    assert_int_equal(run("upper", pf_v_int(1)).u.i, 1);
    assert_non_null(strstr(parse_error("join:a:b"), "0 to 1"));
}

static void
test_replace(void **state)
{
    char big[101];

    (void)state;
    assert_string_equal(str(run("replace:/(\\w+)@(\\w+)/$2 at $1/",
                                S("joe@site and ann@web"))),
                        "site at joe and web at ann");
    assert_string_equal(str(run("replace:#a/b#c#", S("a/b a/b"))), "c c");
    assert_string_equal(str(run("replace:/\\/+/-/", S("a//b/c"))), "a-b-c");
    assert_string_equal(str(run("replace:/X/y/i", S("xXx"))), "yyy");
    assert_string_equal(str(run("replace:/\xC3\xA9/e/", S("caf\xC3\xA9"))),
                        "cafe");
    /* UTF mode: '.' is one character, not one byte. */
    assert_string_equal(str(run("replace:/^./_/", S("\xC3\xA9t\xC3\xA9"))),
                        "_t\xC3\xA9");
    assert_string_equal(str(run("replace:/(?<d>\\d+)/<${d}>/", S("a1b22"))),
                        "a<1>b<22>");
    assert_string_equal(str(run("replace:/\\s+/ /", S("a \n\t b"))), "a b");
    assert_string_equal(str(run("replace:/z/$$/", S("z"))), "$");
    /* Output much longer than the input needs a second buffer. */
    memset(big, 'a', 100);
    big[100] = '\0';
    assert_int_equal(run("replace:/a/aaaaaaaaaa/", S(big)).u.str.len, 1000);
    assert_int_equal(run("replace:/a/b/", pf_v_int(1)).u.i, 1);
    assert_non_null(strstr(parse_error("replace:/(/x/"), "bad pattern"));
    assert_non_null(strstr(parse_error("replace:/(a)/$2/"),
                           "pattern has 1 group"));
    assert_non_null(strstr(parse_error("replace:/(a)/${x}/"),
                           "no group named 'x'"));
    assert_non_null(strstr(parse_error("replace:/a/b"), "missing closing"));
    assert_non_null(strstr(parse_error("replace:/a/b/q"), "unknown flag"));
    assert_non_null(strstr(parse_error("replace:abc"), "delimiter"));
}

static void
test_time_filters(void **state)
{
    (void)state;
    assert_int_equal(ival(run("unix", pf_v_time(1700000000))), 1700000000);
    assert_int_equal(ival(run("unix", S("2024-03-01T10:00:00Z"))),
                     1709287200);
    assert_int_equal(run("unix", S("soon")).type, PF_NULL);
    assert_string_equal(str(run("iso8601", pf_v_time(0))),
                        "1970-01-01T00:00:00Z");
    assert_string_equal(str(run("iso8601", pf_v_int(1709287200))),
                        "2024-03-01T10:00:00Z");
    assert_string_equal(str(run("iso8601", S("2024-03-01T11:00:00+01:00"))),
                        "2024-03-01T10:00:00Z");
    assert_int_equal(run("iso8601", pf_v_bool(1)).type, PF_NULL);
}

/* A number outside the supported range renders empty: no overflow under
 * UBSan, no year -292277022657 in a feed. */
static void
test_time_filters_out_of_range(void **state)
{
    (void)state;
    assert_int_equal(run("iso8601", pf_v_int(INT64_MIN)).type, PF_NULL);
    assert_int_equal(run("iso8601", pf_v_int(INT64_MAX)).type, PF_NULL);
    assert_int_equal(run("iso8601", pf_v_time(INT64_MIN)).type, PF_NULL);
    assert_int_equal(run("unix", pf_v_int(INT64_MIN)).type, PF_NULL);
    assert_int_equal(run("unix", pf_v_time(INT64_MAX)).type, PF_NULL);
    assert_int_equal(run("unix", pf_v_int(PF_TIME_MAX + 1)).type, PF_NULL);
    assert_int_equal(run("iso8601", S("-9223372036854775808")).type,
                     PF_NULL);
    assert_int_equal(run("iso8601", S("10000-01-01")).type, PF_NULL);
    assert_string_equal(str(run("iso8601", pf_v_int(PF_TIME_MIN))),
                        "0001-01-01T00:00:00Z");
    assert_string_equal(str(run("iso8601", pf_v_int(PF_TIME_MAX))),
                        "9999-12-31T23:59:59Z");
    assert_int_equal(ival(run("unix", S("9999-12-31T23:59:59Z"))),
                     PF_TIME_MAX);
}

static struct pf_value
obj_with(const char *k, struct pf_value v)
{
    struct pf_obj *o = pf_obj_new(&arena);

    pf_obj_set(&arena, o, k, v);
    return pf_v_obj(o);
}

static void
test_list_filters(void **state)
{
    struct pf_value l = pf_v_list(&arena, 4), u = pf_v_list(&arena, 6), r;

    (void)state;
    l.u.list.items[0] = obj_with("id", S("v1"));
    l.u.list.items[1] = obj_with("sku", S("x"));
    l.u.list.items[2] = obj_with("id", pf_v_int(7));
    l.u.list.items[3] = S("not an object");
    r = run("map:id", l);
    assert_int_equal(r.type, PF_LIST);
    assert_int_equal(r.u.list.n, 2);
    assert_string_equal(r.u.list.items[0].u.str.s, "v1");
    assert_int_equal(r.u.list.items[1].u.i, 7);
    assert_string_equal(str(run("map:id", obj_with("id", S("one")))), "one");
    assert_int_equal(run("map:id", S("x")).type, PF_NULL);
    assert_non_null(strstr(parse_error("map"), "needs 1 argument"));

    /* u is still all nulls: its first item is null. */
    r = run("first", u);
    assert_int_equal(r.type, PF_NULL);
    assert_int_equal(run("first", pf_v_list(&arena, 0)).type, PF_NULL);
    assert_int_equal(run("first", pf_v_int(4)).u.i, 4);

    u.u.list.items[0] = S("b");
    u.u.list.items[1] = S("a");
    u.u.list.items[2] = S("b");
    u.u.list.items[3] = pf_v_int(1);
    u.u.list.items[4] = S("1");
    u.u.list.items[5] = pf_v_int(1);
    r = run("unique", u);
    assert_int_equal(r.u.list.n, 4);
    assert_string_equal(r.u.list.items[0].u.str.s, "b");
    assert_string_equal(r.u.list.items[1].u.str.s, "a");
    assert_int_equal(r.u.list.items[2].type, PF_INT);
    assert_int_equal(r.u.list.items[3].type, PF_STR);
    /* The input list is left as it was. */
    assert_int_equal(u.u.list.n, 6);

    assert_int_equal(ival(run("count", u)), 6);
    assert_int_equal(ival(run("count", pf_v_null())), 0);
    assert_int_equal(ival(run("count", pf_v_list(&arena, 0))), 0);
    assert_int_equal(ival(run("unique | count", u)), 4);
}

static void
test_first_of_list(void **state)
{
    struct pf_value l = pf_v_list(&arena, 2);

    (void)state;
    l.u.list.items[0] = S("x");
    l.u.list.items[1] = S("y");
    assert_string_equal(str(run("first", l)), "x");
}

static void
test_slice(void **state)
{
    struct pf_value l = pf_v_list(&arena, 5), r;
    int i;

    (void)state;
    for (i = 0; i < 5; i++)
        l.u.list.items[i] = pf_v_int(i);
    r = run("slice:1:3", l);
    assert_int_equal(r.type, PF_LIST);
    assert_int_equal(r.u.list.n, 3);
    assert_int_equal(r.u.list.items[0].u.i, 1);
    assert_int_equal(r.u.list.items[2].u.i, 3);
    r = run("slice:2", l);
    assert_int_equal(r.u.list.n, 3);
    assert_int_equal(r.u.list.items[0].u.i, 2);
    /* Past the end, or a count larger than what is left. */
    assert_int_equal(run("slice:9", l).u.list.n, 0);
    assert_int_equal(run("slice:4:10", l).u.list.n, 1);
    assert_int_equal(run("slice:0:0", l).u.list.n, 0);
    /* The input list is left as it was. */
    assert_int_equal(l.u.list.n, 5);
    /* A single value is a list of one. */
    assert_string_equal(str(run("slice:0:1", S("x"))), "x");
    assert_int_equal(run("slice:1", S("x")).type, PF_NULL);
    assert_non_null(strstr(parse_error("slice"), "1 to 2 arguments"));
    assert_non_null(strstr(parse_error("slice:-1"), "not a count"));
    assert_non_null(strstr(parse_error("slice:1:x"), "not a count"));
}

static void
test_html_decode(void **state)
{
    (void)state;
    assert_string_equal(str(run("html_decode",
                                S("<b>Fish &amp; Chips&nbsp;&euro;5 "
                                  "&#x263A;&#233;</b> &bogus; & x"))),
                        "<b>Fish & Chips\xC2\xA0\xE2\x82\xAC" "5 "
                        "\xE2\x98\xBA\xC3\xA9</b> &bogus; & x");
    /* Decoding once: an escaped entity stays one level escaped. */
    assert_string_equal(str(run("html_decode", S("&amp;lt;"))), "&lt;");
    assert_string_equal(str(run("html_decode", S("plain"))), "plain");
    assert_string_equal(str(run("html_decode", S(""))), "");
    assert_int_equal(ival(run("html_decode", pf_v_int(3))), 3);
}

static void
test_unknown_and_syntax(void **state)
{
    struct pf_err err;
    struct filter *f;
    size_t used = 0;
    const char *chain = " truncate:10:'a|b' | lower";

    (void)state;
    assert_string_equal(parse_error("strp_html"),
                        "unknown filter 'strp_html' (did you mean "
                        "'strip_html'?)");
    assert_string_equal(parse_error("frobnicate"),
                        "unknown filter 'frobnicate'");
    assert_non_null(strstr(parse_error("lower:x"), "takes no argument"));
    assert_non_null(strstr(parse_error(""), "missing filter name"));
    assert_non_null(strstr(parse_error("lower x"), "unexpected 'x'"));
    /* An argument becomes a value (here the separator), and values are
     * valid UTF-8. */
    assert_non_null(strstr(parse_error("join:'\xff'"),
                           "not valid UTF-8"));
    assert_non_null(strstr(parse_error("default:a\xC3"),
                           "not valid UTF-8"));
    /* Parsing stops at the '|' that ends the filter, not one inside a
     * quoted argument. */
    f = filter_parse(chain, strlen(chain), &used, &err);
    assert_non_null(f);
    assert_string_equal(filter_name(f), "truncate");
    assert_int_equal(chain[used], '|');
    assert_null(filter_map_field(f));
    filter_free(f);
    f = filter_parse("map:email", 9, &used, &err);
    assert_non_null(f);
    assert_string_equal(filter_map_field(f), "email");
    filter_free(f);
    /* A '|' inside a replace pattern is alternation, not a new filter. */
    assert_string_equal(str(run("replace:/a|b/x/", S("abc"))), "xxc");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_default, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_strip_html, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_truncate, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_money, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_number, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_int_filter, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_string_and_bool, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_join_lower_upper, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replace, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_time_filters, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_time_filters_out_of_range,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_filters, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_first_of_list, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_slice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_html_decode, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unknown_and_syntax, setup,
                                        teardown),
    };

    return cmocka_run_group_tests_name("filter", tests, NULL, NULL);
}
