/* filter.c - template filters; see filter.h.
 *
 * Each filter is a parse-time argument check plus one small function from
 * value to value. Filters pass values of a type they do not handle through
 * unchanged, except the converting ones (number, int, bool, unix, ...),
 * which turn what they cannot convert into null so the key is omitted.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <math.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "jsonw.h"
#include "timeutil.h"

#define MAX_ARGS 3

struct filter;
typedef int (*apply_fn)(const struct filter *f, const struct pf_value *in,
                        struct pf_arena *a, struct pf_value *out,
                        struct pf_err *err);

struct filter_def {
    const char *name;
    int min_args, max_args;
    apply_fn apply;
};

struct filter {
    const struct filter_def *def;
    char *args[MAX_ARGS];       /* unquoted argument text, owned */
    size_t arg_len[MAX_ARGS];
    int nargs;
    struct pf_value dflt;       /* default: points into args[0] */
    long count;                 /* truncate: N; slice: COUNT (-1 all) */
    long start;                 /* slice: START */
    size_t ellipsis_chars;      /* truncate: characters in args[1] */
    pcre2_code *re;             /* replace */
    pcre2_match_data *md;
    char *repl;
    size_t repl_len;
};

/* ---- small helpers ---- */

static int
is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

static int
is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static struct pf_value
str_value(const char *s, size_t n)
{
    struct pf_value v = pf_v_null();

    v.type = PF_STR;
    v.u.str.s = s;
    v.u.str.len = n;
    return v;
}

static struct pf_value
num_value(const char *s, size_t n)
{
    struct pf_value v = str_value(s, n);

    v.type = PF_NUM;
    return v;
}

/* Copies a pf_buf's text into the arena as a string value. */
static struct pf_value
arena_str(struct pf_arena *a, const struct pf_buf *b,
          enum pf_type type)
{
    struct pf_value v = pf_v_strn(a, b->len ? b->data : "", b->len);

    v.type = type;
    return v;
}

static size_t
utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- decimal numbers ---- */

/* A plain decimal: optional sign, digits, optional fraction, no exponent.
 * Surrounding ASCII spaces are allowed. */
struct dec {
    int neg;
    const char *ip, *fp;
    size_t il, fl;
};

static int
dec_parse(const char *s, size_t n, struct dec *d)
{
    size_t i = 0;

    while (n > 0 && is_space((unsigned char)s[n - 1]))
        n--;
    while (i < n && is_space((unsigned char)s[i]))
        i++;
    d->neg = 0;
    if (i < n && (s[i] == '-' || s[i] == '+')) {
        d->neg = s[i] == '-';
        i++;
    }
    d->ip = s + i;
    while (i < n && is_digit((unsigned char)s[i]))
        i++;
    d->il = (size_t)(s + i - d->ip);
    d->fp = s + i;
    d->fl = 0;
    if (i < n && s[i] == '.') {
        i++;
        d->fp = s + i;
        while (i < n && is_digit((unsigned char)s[i]))
            i++;
        d->fl = (size_t)(s + i - d->fp);
    }
    return i == n && d->il + d->fl > 0;
}

/* d scaled to k decimals, rounded half away from zero. */
static int
dec_to_minor(const struct dec *d, int k, int64_t *out)
{
    uint64_t acc = 0;
    size_t i;
    int j, round_up;

    for (i = 0; i < d->il + (size_t)k; i++) {
        unsigned dig = 0;

        if (i < d->il)
            dig = (unsigned)(d->ip[i] - '0');
        else if (i - d->il < d->fl)
            dig = (unsigned)(d->fp[i - d->il] - '0');
        if (acc > (UINT64_C(9223372036854775807) - dig) / 10)
            return -1;
        acc = acc * 10 + dig;
    }
    j = k;
    round_up = (size_t)j < d->fl && d->fp[j] >= '5';
    if (round_up) {
        if (acc == UINT64_C(9223372036854775807))
            return -1;
        acc++;
    }
    *out = d->neg ? -(int64_t)acc : (int64_t)acc;
    return 0;
}

/* A JSON number with an exponent ("1e3") that dec_parse refuses. strtod
 * reads it in the C locale, which posfeed never changes. */
static int
exp_to_minor(const char *s, size_t n, int k, int64_t *out)
{
    char tmp[64];
    double x;
    int i;

    if (n == 0 || n >= sizeof tmp || !jsonw_is_number(s, n))
        return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    x = strtod(tmp, NULL);
    for (i = 0; i < k; i++)
        x *= 10;
    if (!isfinite(x) || fabs(x) >= 9.2e18)
        return -1;
    *out = (int64_t)llround(x);
    return 0;
}

/* Any numeric-looking value as minor units with k decimals. */
static int
value_to_minor(const struct pf_value *v, int k, int64_t *out)
{
    struct dec d;
    int64_t m, p = 1;
    int i, diff;

    switch (v->type) {
    case PF_INT:
        for (i = 0; i < k; i++)
            p *= 10;
        if (v->u.i > INT64_MAX / p || v->u.i < INT64_MIN / p)
            return -1;
        *out = v->u.i * p;
        return 0;
    case PF_MONEY:
        m = v->u.money.minor;
        diff = k - v->u.money.decimals;
        for (i = 0; i < diff; i++) {
            if (m > INT64_MAX / 10 || m < INT64_MIN / 10)
                return -1;
            m *= 10;
        }
        for (i = 0; i < -diff; i++) {
            /* Round half away from zero on the last dropped digit. */
            int64_t r = m % 10;

            m /= 10;
            if (i == -diff - 1 && (r >= 5 || r <= -5))
                m += r > 0 ? 1 : -1;
        }
        *out = m;
        return 0;
    case PF_NUM:
    case PF_STR:
        if (dec_parse(v->u.str.s, v->u.str.len, &d))
            return dec_to_minor(&d, k, out);
        return exp_to_minor(v->u.str.s, v->u.str.len, k, out);
    default:
        return -1;
    }
}

/* ---- default ---- */

static int
f_default(const struct filter *f, const struct pf_value *in,
          struct pf_arena *a, struct pf_value *out,
          struct pf_err *err)
{
    (void)a;
    (void)err;
    *out = pf_value_is_empty(in) ? f->dflt : *in;
    return 0;
}

/* ---- strip_html ---- */

/* HTML 4 names for U+00A0..U+00FF, in code point order. */
static const char *const latin1_names[96] = {
    "nbsp", "iexcl", "cent", "pound", "curren", "yen", "brvbar", "sect",
    "uml", "copy", "ordf", "laquo", "not", "shy", "reg", "macr",
    "deg", "plusmn", "sup2", "sup3", "acute", "micro", "para", "middot",
    "cedil", "sup1", "ordm", "raquo", "frac14", "frac12", "frac34", "iquest",
    "Agrave", "Aacute", "Acirc", "Atilde", "Auml", "Aring", "AElig",
    "Ccedil", "Egrave", "Eacute", "Ecirc", "Euml", "Igrave", "Iacute",
    "Icirc", "Iuml", "ETH", "Ntilde", "Ograve", "Oacute", "Ocirc", "Otilde",
    "Ouml", "times", "Oslash", "Ugrave", "Uacute", "Ucirc", "Uuml",
    "Yacute", "THORN", "szlig", "agrave", "aacute", "acirc", "atilde",
    "auml", "aring", "aelig", "ccedil", "egrave", "eacute", "ecirc", "euml",
    "igrave", "iacute", "icirc", "iuml", "eth", "ntilde", "ograve",
    "oacute", "ocirc", "otilde", "ouml", "divide", "oslash", "ugrave",
    "uacute", "ucirc", "uuml", "yacute", "thorn", "yuml"
};

static const struct {
    const char *name;
    uint32_t cp;
} other_entities[] = {
    {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''},
    {"euro", 0x20AC}, {"ndash", 0x2013}, {"mdash", 0x2014},
    {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"sbquo", 0x201A},
    {"ldquo", 0x201C}, {"rdquo", 0x201D}, {"bdquo", 0x201E},
    {"hellip", 0x2026}, {"bull", 0x2022}, {"trade", 0x2122},
    {"dagger", 0x2020}, {"Dagger", 0x2021}, {"permil", 0x2030},
    {"lsaquo", 0x2039}, {"rsaquo", 0x203A}, {"OElig", 0x152},
    {"oelig", 0x153}, {"Scaron", 0x160}, {"scaron", 0x161},
    {"Yuml", 0x178}, {"fnof", 0x192}, {"circ", 0x2C6}, {"tilde", 0x2DC},
    {"ensp", 0x2002}, {"emsp", 0x2003}, {"thinsp", 0x2009},
    {"zwnj", 0x200C}, {"zwj", 0x200D}, {"lrm", 0x200E}, {"rlm", 0x200F},
    {"minus", 0x2212}, {"larr", 0x2190}, {"rarr", 0x2192},
    {"check", 0x2713}
};

/* HTML maps numeric references 0x80-0x9F to Windows-1252 characters. */
static const uint16_t cp1252[32] = {
    0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
    0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178
};

static int
named_entity(const char *name, size_t n, uint32_t *cp)
{
    size_t i;

    for (i = 0; i < sizeof other_entities / sizeof other_entities[0];
         i++) {
        const char *e = other_entities[i].name;

        if (strlen(e) == n && memcmp(e, name, n) == 0) {
            *cp = other_entities[i].cp;
            return 1;
        }
    }
    for (i = 0; i < 96; i++) {
        if (strlen(latin1_names[i]) == n &&
            memcmp(latin1_names[i], name, n) == 0) {
            *cp = 0xA0 + (uint32_t)i;
            return 1;
        }
    }
    return 0;
}

/* Decodes the entity at s[0] == '&'. Returns the bytes consumed (0 when
 * it is not an entity, so '&' stays literal) and sets *cp. */
static size_t
decode_entity(const char *s, size_t n, uint32_t *cp)
{
    size_t i = 1, start;
    uint32_t v = 0;
    int hex = 0;

    if (i < n && s[i] == '#') {
        i++;
        if (i < n && (s[i] == 'x' || s[i] == 'X')) {
            hex = 1;
            i++;
        }
        start = i;
        for (; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            unsigned dig;

            if (is_digit(c))
                dig = c - '0';
            else if (hex && c >= 'a' && c <= 'f')
                dig = c - 'a' + 10;
            else if (hex && c >= 'A' && c <= 'F')
                dig = c - 'A' + 10;
            else
                break;
            if (v <= 0x10FFFF)
                v = v * (hex ? 16 : 10) + dig;
        }
        if (i == start)
            return 0;
        if (i < n && s[i] == ';')
            i++;
        if (v >= 0x80 && v <= 0x9F)
            v = cp1252[v - 0x80];
        if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
            v = 0xFFFD;
        *cp = v;
        return i;
    }
    start = i;
    while (i < n && i - start < 10 &&
           ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
            is_digit((unsigned char)s[i])))
        i++;
    if (i >= n || s[i] != ';' || i == start)
        return 0;
    if (!named_entity(s + start, i - start, cp))
        return 0;
    return i + 1;
}

/* Tags that sit inside a word (<b>bold</b>er) vanish; all others act as
 * a word break. */
static int
inline_tag(const char *name, size_t n)
{
    static const char *const tags[] = {
        "a", "b", "i", "u", "s", "em", "strong", "span", "small", "big",
        "sub", "sup", "font", "abbr", "code", "mark", "q", "cite", "wbr",
        "strike", "del", "ins", "kbd", "var", "tt"
    };
    size_t i, j;

    for (i = 0; i < sizeof tags / sizeof tags[0]; i++) {
        if (strlen(tags[i]) != n)
            continue;
        for (j = 0; j < n; j++) {
            char c = name[j];

            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            if (c != tags[i][j])
                break;
        }
        if (j == n)
            return 1;
    }
    return 0;
}

static int
ascii_ieq(const char *a, const char *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        char x = a[i], y = b[i];

        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return 0;
    }
    return 1;
}

/* Offset just past the '>' that ends the tag opened at s[i], honouring
 * quoted attribute values; n when the tag never ends. */
static size_t
tag_end(const char *s, size_t n, size_t i)
{
    char quote = 0;

    for (; i < n; i++) {
        if (quote) {
            if (s[i] == quote)
                quote = 0;
        }
        else if (s[i] == '"' || s[i] == '\'') {
            quote = s[i];
        }
        else if (s[i] == '>') {
            return i + 1;
        }
    }
    return n;
}

/* Offset past "</name ...>" at or after i, ASCII case-insensitive. */
static size_t
raw_text_end(const char *s, size_t n, size_t i,
             const char *name, size_t len)
{
    for (; i + 2 + len <= n; i++) {
        if (s[i] == '<' && s[i + 1] == '/' &&
            ascii_ieq(s + i + 2, name, len))
            return tag_end(s, n, i + 2 + len);
    }
    return n;
}

/* Output of strip_html: never longer than its input (every entity is at
 * least as long as its UTF-8), but the writer checks anyway. */
struct sink {
    char *p;
    size_t len, cap;
    int pending_space;
};

static void
sink_add(struct sink *k, const char *s, size_t n)
{
    if (k->pending_space && k->len > 0 && k->len < k->cap)
        k->p[k->len++] = ' ';
    k->pending_space = 0;
    if (n > k->cap - k->len)
        n = k->cap - k->len;
    memcpy(k->p + k->len, s, n);
    k->len += n;
}

static void
sink_cp(struct sink *k, uint32_t cp)
{
    char u[4];

    if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' ||
        cp == '\f' || cp == 0xA0) {
        k->pending_space = 1;
        return;
    }
    /* Other control characters and the soft hyphen carry no text. */
    if (cp < 0x20 || cp == 0x7F || cp == 0xAD)
        return;
    sink_add(k, u, utf8_encode(cp, u));
}

static int
f_strip_html(const struct filter *f, const struct pf_value *in,
             struct pf_arena *a, struct pf_value *out,
             struct pf_err *err)
{
    const char *s;
    size_t n, i = 0;
    struct sink k;

    (void)f;
    (void)err;
    if (in->type != PF_STR) {
        *out = *in;
        return 0;
    }
    s = in->u.str.s;
    n = in->u.str.len;
    k.cap = n;
    k.p = pf_arena_alloc(a, n + 1);
    k.len = 0;
    k.pending_space = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp;
        size_t used, nl;

        if (c == '<' && i + 1 < n) {
            unsigned char d = (unsigned char)s[i + 1];
            size_t name = i + 1;
            int closing = 0;

            if (n - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
                const char *end = NULL;
                size_t j;

                for (j = i + 4; j + 3 <= n; j++) {
                    if (memcmp(s + j, "-->", 3) == 0) {
                        end = s + j + 3;
                        break;
                    }
                }
                i = end ? (size_t)(end - s) : n;
                k.pending_space = 1;
                continue;
            }
            if (d == '/') {
                closing = 1;
                name++;
            }
            if (d == '!' || d == '?' ||
                (name < n && ((s[name] >= 'a' && s[name] <= 'z') ||
                              (s[name] >= 'A' && s[name] <= 'Z')))) {
                nl = 0;
                while (name + nl < n &&
                       ((s[name + nl] >= 'a' && s[name + nl] <= 'z') ||
                        (s[name + nl] >= 'A' && s[name + nl] <= 'Z') ||
                        is_digit((unsigned char)s[name + nl])))
                    nl++;
                i = tag_end(s, n, name + nl);
                if (!closing && ((nl == 6 && ascii_ieq(s + name, "script",
                                                       6)) ||
                                 (nl == 5 && ascii_ieq(s + name, "style",
                                                       5))))
                    i = raw_text_end(s, n, i, s + name, nl);
                if (!inline_tag(s + name, nl))
                    k.pending_space = 1;
                continue;
            }
        }
        if (c == '&') {
            used = decode_entity(s + i, n - i, &cp);
            if (used > 0) {
                sink_cp(&k, cp);
                i += used;
                continue;
            }
        }
        if (c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] == 0xA0) {
            k.pending_space = 1;
            i += 2;
            continue;
        }
        if (c < 0x80) {
            sink_cp(&k, c);
            i++;
            continue;
        }
        /* Copy a whole multi-byte sequence; repairs happen at output. */
        used = 1;
        while (i + used < n && ((unsigned char)s[i + used] & 0xC0) == 0x80)
            used++;
        sink_add(&k, s + i, used);
        i += used;
    }
    k.p[k.len] = '\0';
    *out = str_value(k.p, k.len);
    return 0;
}

/* html_decode: entities to characters, tags left alone. Every entity
 * is at least as long as its UTF-8 (see strip_html), but the copy is
 * bounded anyway. */
static int
f_html_decode(const struct filter *f, const struct pf_value *in,
              struct pf_arena *a, struct pf_value *out,
              struct pf_err *err)
{
    const char *s;
    size_t n, i = 0, k = 0, used, m;
    char *p, u[4];
    uint32_t cp;

    (void)f;
    (void)err;
    if (in->type != PF_STR || in->u.str.len == 0 ||
        !memchr(in->u.str.s, '&', in->u.str.len)) {
        *out = *in;
        return 0;
    }
    s = in->u.str.s;
    n = in->u.str.len;
    p = pf_arena_alloc(a, n + 1);
    while (i < n) {
        used = s[i] == '&' ? decode_entity(s + i, n - i, &cp) : 0;
        if (used == 0) {
            p[k++] = s[i++];
            continue;
        }
        m = utf8_encode(cp, u);
        if (m > n - k)
            break;
        memcpy(p + k, u, m);
        k += m;
        i += used;
    }
    p[k] = '\0';
    *out = str_value(p, k);
    return 0;
}

/* ---- truncate ---- */

static size_t
utf8_chars(const char *s, size_t n)
{
    size_t i, c = 0;

    for (i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            c++;
    return c;
}

static int
f_truncate(const struct filter *f, const struct pf_value *in,
           struct pf_arena *a, struct pf_value *out,
           struct pf_err *err)
{
    const char *s, *ell = "";
    size_t n, keep, i, chars = 0, cut, ws_byte = 0, ws_char = 0, ell_len = 0;
    int have_ws = 0;
    char *p;

    (void)err;
    if (in->type != PF_STR ||
        utf8_chars(in->u.str.s, in->u.str.len) <= (size_t)f->count) {
        *out = *in;
        return 0;
    }
    s = in->u.str.s;
    n = in->u.str.len;
    keep = (size_t)f->count;
    if (f->nargs > 1 && f->ellipsis_chars < keep) {
        ell = f->args[1];
        ell_len = f->arg_len[1];
        keep -= f->ellipsis_chars;
    }
    /* Find the byte offset after keep characters; cutting at a character
     * start never splits a UTF-8 sequence. */
    for (i = 0; i < n; i++) {
        if (((unsigned char)s[i] & 0xC0) == 0x80)
            continue;
        if (chars == keep)
            break;
        if (is_space((unsigned char)s[i])) {
            have_ws = 1;
            ws_byte = i;
            ws_char = chars;
        }
        chars++;
    }
    cut = i;
    /* A word boundary in the last fifth reads better than a cut word. */
    if (cut < n && !is_space((unsigned char)s[cut]) && have_ws &&
        ws_char > 0 && ws_char >= keep - keep / 5)
        cut = ws_byte;
    while (cut > 0 && is_space((unsigned char)s[cut - 1]))
        cut--;
    p = pf_arena_alloc(a, cut + ell_len + 1);
    memcpy(p, s, cut);
    memcpy(p + cut, ell, ell_len);
    p[cut + ell_len] = '\0';
    *out = str_value(p, cut + ell_len);
    return 0;
}

/* ---- conversions ---- */

static int
f_money(const struct filter *f, const struct pf_value *in,
        struct pf_arena *a, struct pf_value *out,
        struct pf_err *err)
{
    struct pf_buf b;
    int64_t minor;
    int decimals = 2;

    (void)f;
    (void)err;
    if (in->type == PF_MONEY) {
        minor = in->u.money.minor;
        decimals = in->u.money.decimals;
    }
    else if (value_to_minor(in, decimals, &minor) < 0) {
        *out = pf_v_null();
        return 0;
    }
    pf_buf_init(&b);
    pf_money_format(&b, minor, decimals);
    *out = arena_str(a, &b, PF_STR);
    pf_buf_free(&b);
    return 0;
}

/* The decimal d in canonical JSON form: no '+', no leading zeros, "0."
 * before a bare fraction, no "-0". */
static struct pf_value
dec_to_num(struct pf_arena *a, const struct dec *d)
{
    const char *ip = d->ip;
    size_t il = d->il, fl = d->fl, i, len = 0;
    int zero = 1;
    char *p;

    while (il > 1 && ip[0] == '0') {
        ip++;
        il--;
    }
    for (i = 0; i < il; i++)
        zero &= ip[i] == '0';
    for (i = 0; i < fl; i++)
        zero &= d->fp[i] == '0';
    p = pf_arena_alloc(a, il + fl + 4);
    if (d->neg && !zero)
        p[len++] = '-';
    if (il == 0)
        p[len++] = '0';
    memcpy(p + len, ip, il);
    len += il;
    if (fl > 0) {
        p[len++] = '.';
        memcpy(p + len, d->fp, fl);
        len += fl;
    }
    p[len] = '\0';
    return num_value(p, len);
}

static int
f_number(const struct filter *f, const struct pf_value *in,
         struct pf_arena *a, struct pf_value *out,
         struct pf_err *err)
{
    struct pf_buf b;
    struct dec d;
    const char *s;
    size_t n;

    (void)f;
    (void)err;
    switch (in->type) {
    case PF_INT:
        *out = *in;
        return 0;
    case PF_BOOL:
    case PF_TIME:
        *out = pf_v_int(in->u.i);
        return 0;
    case PF_MONEY:
        pf_buf_init(&b);
        pf_money_format(&b, in->u.money.minor, in->u.money.decimals);
        *out = arena_str(a, &b, PF_NUM);
        pf_buf_free(&b);
        return 0;
    case PF_NUM:
    case PF_STR:
        s = in->u.str.s;
        n = in->u.str.len;
        while (n > 0 && is_space((unsigned char)s[n - 1]))
            n--;
        while (n > 0 && is_space((unsigned char)s[0])) {
            s++;
            n--;
        }
        if (jsonw_is_number(s, n)) {
            *out = pf_v_strn(a, s, n);
            out->type = PF_NUM;
        }
        else if (dec_parse(s, n, &d)) {
            *out = dec_to_num(a, &d);
        }
        else {
            *out = pf_v_null();
        }
        return 0;
    default:
        *out = pf_v_null();
        return 0;
    }
}

static int
f_int(const struct filter *f, const struct pf_value *in,
      struct pf_arena *a, struct pf_value *out,
      struct pf_err *err)
{
    int64_t i;

    (void)f;
    (void)a;
    (void)err;
    if (in->type == PF_INT || in->type == PF_BOOL || in->type == PF_TIME)
        *out = pf_v_int(in->u.i);
    else if (value_to_minor(in, 0, &i) == 0)
        *out = pf_v_int(i);
    else
        *out = pf_v_null();
    return 0;
}

/* Scalars of a list joined by sep; lists and objects inside are skipped,
 * and so are empty items, so "a,,b" never appears. */
static struct pf_value
join_list(struct pf_arena *a, const struct pf_value *l,
          const char *sep, size_t sep_len)
{
    struct pf_buf b;
    struct pf_value v;
    size_t i;
    int first = 1;

    pf_buf_init(&b);
    for (i = 0; i < l->u.list.n; i++) {
        const struct pf_value *it = &l->u.list.items[i];

        if (pf_value_is_empty(it) || it->type == PF_LIST ||
            it->type == PF_OBJ)
            continue;
        if (!first)
            pf_buf_add(&b, sep, sep_len);
        (void)pf_value_to_text(it, &b);
        first = 0;
    }
    v = arena_str(a, &b, PF_STR);
    pf_buf_free(&b);
    return v;
}

static int
f_string(const struct filter *f, const struct pf_value *in,
         struct pf_arena *a, struct pf_value *out,
         struct pf_err *err)
{
    struct pf_buf b;

    (void)f;
    (void)err;
    switch (in->type) {
    case PF_NULL:
    case PF_STR:
        *out = *in;
        return 0;
    case PF_LIST:
        *out = join_list(a, in, ",", 1);
        return 0;
    case PF_OBJ:
        *out = pf_v_null();
        return 0;
    default:
        pf_buf_init(&b);
        if (pf_value_to_text(in, &b) == 0)
            *out = arena_str(a, &b, PF_STR);
        else
            *out = pf_v_null();
        pf_buf_free(&b);
        return 0;
    }
}

static int
word_is(const char *s, size_t n, const char *w)
{
    return strlen(w) == n && ascii_ieq(s, w, n);
}

static int
f_bool(const struct filter *f, const struct pf_value *in,
       struct pf_arena *a, struct pf_value *out,
       struct pf_err *err)
{
    struct dec d;
    const char *s;
    size_t n, i;
    int b;

    (void)f;
    (void)a;
    (void)err;
    switch (in->type) {
    case PF_BOOL:
    case PF_INT:
    case PF_TIME:
        b = in->u.i != 0;
        break;
    case PF_MONEY:
        b = in->u.money.minor != 0;
        break;
    case PF_NUM:
    case PF_STR:
        s = in->u.str.s;
        n = in->u.str.len;
        while (n > 0 && is_space((unsigned char)s[n - 1]))
            n--;
        while (n > 0 && is_space((unsigned char)s[0])) {
            s++;
            n--;
        }
        if (n == 0 || word_is(s, n, "false") || word_is(s, n, "no") ||
            word_is(s, n, "off") || word_is(s, n, "n")) {
            b = 0;
        }
        else if (dec_parse(s, n, &d)) {
            /* "0", "0.00" are false; any other number is true. */
            b = 0;
            for (i = 0; i < d.il; i++)
                b |= d.ip[i] != '0';
            for (i = 0; i < d.fl; i++)
                b |= d.fp[i] != '0';
        }
        else {
            b = 1;
        }
        break;
    case PF_LIST:
    case PF_OBJ:
        b = !pf_value_is_empty(in);
        break;
    default:
        b = 0;
        break;
    }
    *out = pf_v_bool(b);
    return 0;
}

static int
f_join(const struct filter *f, const struct pf_value *in,
       struct pf_arena *a, struct pf_value *out,
       struct pf_err *err)
{
    (void)err;
    if (in->type != PF_LIST) {
        *out = *in;
        return 0;
    }
    if (f->nargs > 0)
        *out = join_list(a, in, f->args[0], f->arg_len[0]);
    else
        *out = join_list(a, in, ",", 1);
    return 0;
}

static int
change_case(const struct pf_value *in, struct pf_arena *a,
            struct pf_value *out, int upper)
{
    char *p;
    size_t i;

    if (in->type != PF_STR) {
        *out = *in;
        return 0;
    }
    p = pf_arena_strndup(a, in->u.str.s, in->u.str.len);
    for (i = 0; i < in->u.str.len; i++) {
        if (upper && p[i] >= 'a' && p[i] <= 'z')
            p[i] = (char)(p[i] - 'a' + 'A');
        else if (!upper && p[i] >= 'A' && p[i] <= 'Z')
            p[i] = (char)(p[i] - 'A' + 'a');
    }
    *out = str_value(p, in->u.str.len);
    return 0;
}

static int
f_lower(const struct filter *f, const struct pf_value *in,
        struct pf_arena *a, struct pf_value *out,
        struct pf_err *err)
{
    (void)f;
    (void)err;
    return change_case(in, a, out, 0);
}

static int
f_upper(const struct filter *f, const struct pf_value *in,
        struct pf_arena *a, struct pf_value *out,
        struct pf_err *err)
{
    (void)f;
    (void)err;
    return change_case(in, a, out, 1);
}

/* ---- replace ---- */

static int
f_replace(const struct filter *f, const struct pf_value *in,
          struct pf_arena *a, struct pf_value *out,
          struct pf_err *err)
{
    PCRE2_UCHAR msg[256];
    PCRE2_SIZE cap, len;
    uint32_t opts = PCRE2_SUBSTITUTE_GLOBAL |
                    PCRE2_SUBSTITUTE_OVERFLOW_LENGTH;
    char *buf;
    int rc;

    if (in->type != PF_STR) {
        *out = *in;
        return 0;
    }
    cap = in->u.str.len + in->u.str.len / 4 + 64;
    buf = pf_arena_alloc(a, cap);
    len = cap;
    rc = pcre2_substitute(f->re, (PCRE2_SPTR)in->u.str.s, in->u.str.len, 0,
                          opts, f->md, NULL, (PCRE2_SPTR)f->repl,
                          f->repl_len, (PCRE2_UCHAR *)buf, &len);
    if (rc == PCRE2_ERROR_NOMEMORY) {
        /* len now holds the size needed; one retry always fits. */
        cap = len + 1;
        buf = pf_arena_alloc(a, cap);
        len = cap;
        rc = pcre2_substitute(f->re, (PCRE2_SPTR)in->u.str.s,
                              in->u.str.len, 0, opts, f->md, NULL,
                              (PCRE2_SPTR)f->repl, f->repl_len,
                              (PCRE2_UCHAR *)buf, &len);
    }
    if (rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21) {
        /* Not UTF-8: leave the text alone; the writer repairs it. */
        *out = *in;
        return 0;
    }
    if (rc < 0) {
        pcre2_get_error_message(rc, msg, sizeof msg);
        pf_errf(err, "filter 'replace': %s", (const char *)msg);
        return -1;
    }
    *out = str_value(buf, len);
    return 0;
}

/* ---- time ---- */

/* A value as a time: a time, epoch seconds or an ISO 8601 string, within
 * the range timeutil handles. Anything else (INT64_MIN, a year 20000)
 * renders empty rather than as garbage or an overflow. */
static int
time_of(const struct pf_value *in, int64_t *t)
{
    if (in->type == PF_TIME || in->type == PF_INT) {
        if (!pf_time_in_range(in->u.i))
            return -1;
        *t = in->u.i;
        return 0;
    }
    if (in->type == PF_STR && in->u.str.len > 0)
        return pf_time_parse(in->u.str.s, t, NULL);
    return -1;
}

static int
f_unix(const struct filter *f, const struct pf_value *in,
       struct pf_arena *a, struct pf_value *out,
       struct pf_err *err)
{
    int64_t t;

    (void)f;
    (void)a;
    (void)err;
    *out = time_of(in, &t) == 0 ? pf_v_int(t) : pf_v_null();
    return 0;
}

static int
f_iso8601(const struct filter *f, const struct pf_value *in,
          struct pf_arena *a, struct pf_value *out,
          struct pf_err *err)
{
    char iso[32];
    int64_t t;

    (void)f;
    (void)err;
    if (time_of(in, &t) < 0 || pf_time_iso_utc(t, iso) < 0) {
        *out = pf_v_null();
        return 0;
    }
    *out = pf_v_str(a, iso);
    return 0;
}

/* ---- lists ---- */

static int
f_map(const struct filter *f, const struct pf_value *in,
      struct pf_arena *a, struct pf_value *out,
      struct pf_err *err)
{
    const struct pf_value *v;
    struct pf_value l;
    size_t i, k = 0;

    (void)err;
    if (in->type == PF_OBJ) {
        v = in->u.obj ? pf_obj_path(in->u.obj, f->args[0]) : NULL;
        *out = v ? *v : pf_v_null();
        return 0;
    }
    if (in->type != PF_LIST) {
        *out = pf_v_null();
        return 0;
    }
    l = pf_v_list(a, in->u.list.n);
    for (i = 0; i < in->u.list.n; i++) {
        const struct pf_value *it = &in->u.list.items[i];

        if (it->type != PF_OBJ || !it->u.obj)
            continue;
        v = pf_obj_path(it->u.obj, f->args[0]);
        if (v && !pf_value_is_empty(v))
            l.u.list.items[k++] = *v;
    }
    l.u.list.n = k;
    *out = l;
    return 0;
}

static int
f_first(const struct filter *f, const struct pf_value *in,
        struct pf_arena *a, struct pf_value *out,
        struct pf_err *err)
{
    (void)f;
    (void)a;
    (void)err;
    if (in->type != PF_LIST)
        *out = *in;
    else
        *out = in->u.list.n > 0 ? in->u.list.items[0] : pf_v_null();
    return 0;
}

static int
value_eq(const struct pf_value *x, const struct pf_value *y)
{
    size_t i;

    if (x->type != y->type)
        return 0;
    switch (x->type) {
    case PF_NULL:
        return 1;
    case PF_STR:
    case PF_NUM:
        return x->u.str.len == y->u.str.len &&
               memcmp(x->u.str.s, y->u.str.s, x->u.str.len) == 0;
    case PF_INT:
    case PF_BOOL:
    case PF_TIME:
        return x->u.i == y->u.i;
    case PF_MONEY:
        return x->u.money.minor == y->u.money.minor &&
               x->u.money.decimals == y->u.money.decimals;
    case PF_LIST:
        if (x->u.list.n != y->u.list.n)
            return 0;
        for (i = 0; i < x->u.list.n; i++)
            if (!value_eq(&x->u.list.items[i], &y->u.list.items[i]))
                return 0;
        return 1;
    case PF_OBJ:
        if (!x->u.obj || !y->u.obj)
            return x->u.obj == y->u.obj;
        if (x->u.obj->n != y->u.obj->n)
            return 0;
        for (i = 0; i < x->u.obj->n; i++) {
            if (strcmp(x->u.obj->fields[i].name,
                       y->u.obj->fields[i].name) != 0 ||
                !value_eq(&x->u.obj->fields[i].v, &y->u.obj->fields[i].v))
                return 0;
        }
        return 1;
    default:
        return 0;
    }
}

static int
f_unique(const struct filter *f, const struct pf_value *in,
         struct pf_arena *a, struct pf_value *out,
         struct pf_err *err)
{
    struct pf_value l;
    size_t i, j, k = 0;

    (void)f;
    (void)err;
    if (in->type != PF_LIST) {
        *out = *in;
        return 0;
    }
    /* Lists in feeds are short (categories, tags); quadratic is fine. */
    l = pf_v_list(a, in->u.list.n);
    for (i = 0; i < in->u.list.n; i++) {
        for (j = 0; j < k; j++)
            if (value_eq(&l.u.list.items[j], &in->u.list.items[i]))
                break;
        if (j == k)
            l.u.list.items[k++] = in->u.list.items[i];
    }
    l.u.list.n = k;
    *out = l;
    return 0;
}

static int
f_count(const struct filter *f, const struct pf_value *in,
        struct pf_arena *a, struct pf_value *out,
        struct pf_err *err)
{
    (void)f;
    (void)a;
    (void)err;
    if (in->type == PF_LIST)
        *out = pf_v_int((int64_t)in->u.list.n);
    else if (in->type == PF_OBJ)
        *out = pf_v_int(in->u.obj ? (int64_t)in->u.obj->n : 0);
    else
        *out = pf_v_int(in->type == PF_NULL ? 0 : 1);
    return 0;
}

/* slice:START[:COUNT] - skips START items of a list and keeps at most
 * COUNT (all when absent): images | slice:1:10 is up to ten images after
 * the first. A single value is a list of one. */
static int
f_slice(const struct filter *f, const struct pf_value *in,
        struct pf_arena *a, struct pf_value *out,
        struct pf_err *err)
{
    size_t n, start = (size_t)f->start;

    (void)a;
    (void)err;
    if (in->type != PF_LIST) {
        *out = start == 0 && f->count != 0 ? *in : pf_v_null();
        return 0;
    }
    *out = *in;
    n = in->u.list.n;
    if (start >= n) {
        out->u.list.n = 0;
        return 0;
    }
    out->u.list.items = in->u.list.items + start;
    out->u.list.n = n - start;
    if (f->count >= 0 && out->u.list.n > (size_t)f->count)
        out->u.list.n = (size_t)f->count;
    return 0;
}

/* ---- table and parsing ---- */

static const struct filter_def defs[] = {
    {"default", 1, 1, f_default},
    {"strip_html", 0, 0, f_strip_html},
    {"truncate", 1, 2, f_truncate},
    {"money", 0, 0, f_money},
    {"number", 0, 0, f_number},
    {"int", 0, 0, f_int},
    {"string", 0, 0, f_string},
    {"bool", 0, 0, f_bool},
    {"join", 0, 1, f_join},
    {"lower", 0, 0, f_lower},
    {"upper", 0, 0, f_upper},
    {"replace", 0, 0, f_replace},   /* arguments parsed by parse_replace */
    {"unix", 0, 0, f_unix},
    {"iso8601", 0, 0, f_iso8601},
    {"map", 1, 1, f_map},
    {"first", 0, 0, f_first},
    {"unique", 0, 0, f_unique},
    {"count", 0, 0, f_count},
    {"slice", 1, 2, f_slice},
    {"html_decode", 0, 0, f_html_decode}
};
#define NDEFS (sizeof defs / sizeof defs[0])

static const struct filter_def *
find_def(const char *name, size_t n)
{
    size_t i;

    for (i = 0; i < NDEFS; i++)
        if (strlen(defs[i].name) == n && memcmp(defs[i].name, name, n) == 0)
            return &defs[i];
    return NULL;
}

static void
unknown_filter(const char *name, size_t n, struct pf_err *err)
{
    char *given = xstrndup(name, n);
    const char *best = NULL;
    size_t i, best_d = (size_t)-1, limit = n < 5 ? 1 : 2;

    for (i = 0; i < NDEFS; i++) {
        size_t d = pf_edit_distance(given, defs[i].name);

        if (d < best_d) {
            best_d = d;
            best = defs[i].name;
        }
    }
    if (best && best_d <= limit)
        pf_errf(err, "unknown filter '%s' (did you mean '%s'?)", given,
                best);
    else
        pf_errf(err, "unknown filter '%s'", given);
    free(given);
}

/* Reads one argument at s[*i]: a quoted string ('...' or "...", with
 * backslash escaping the quote or a backslash) or bare text up to ':' or
 * '|'. Returns a new NUL-terminated string, or NULL on an open quote. */
static char *
parse_arg(const char *s, size_t n, size_t *i, size_t *len)
{
    struct pf_buf b;
    char *r;

    while (*i < n && s[*i] == ' ')
        (*i)++;
    pf_buf_init(&b);
    if (*i < n && (s[*i] == '"' || s[*i] == '\'')) {
        char q = s[(*i)++];

        while (*i < n && s[*i] != q) {
            if (s[*i] == '\\' && *i + 1 < n &&
                (s[*i + 1] == q || s[*i + 1] == '\\'))
                (*i)++;
            pf_buf_addc(&b, s[(*i)++]);
        }
        if (*i >= n) {
            pf_buf_free(&b);
            return NULL;
        }
        (*i)++;
        while (*i < n && s[*i] == ' ')
            (*i)++;
    }
    else {
        size_t start = *i, end;

        while (*i < n && s[*i] != ':' && s[*i] != '|')
            (*i)++;
        end = *i;
        while (end > start && s[end - 1] == ' ')
            end--;
        pf_buf_add(&b, s + start, end - start);
    }
    *len = b.len;
    r = xstrndup(b.len ? b.data : "", b.len);
    pf_buf_free(&b);
    return r;
}

/* Reads up to the next unescaped delim; "\<delim>" yields delim, and with
 * keep_escapes the backslash is kept (PCRE2 reads "\/" as "/" anyway). */
static int
read_delimited(const char *s, size_t n, size_t *i, char delim,
               int keep_escapes, struct pf_buf *b)
{
    while (*i < n && s[*i] != delim) {
        if (s[*i] == '\\' && *i + 1 < n && s[*i + 1] == delim) {
            if (keep_escapes)
                pf_buf_addc(b, '\\');
            pf_buf_addc(b, delim);
            *i += 2;
            continue;
        }
        pf_buf_addc(b, s[(*i)++]);
    }
    if (*i >= n)
        return -1;
    (*i)++;
    return 0;
}

/* Checks $N / ${N} / ${name} / $name references against the pattern so
 * a typo fails at load, not on the first matching row. */
static int
check_replacement(const struct filter *f, struct pf_err *err)
{
    uint32_t groups = 0;
    size_t i = 0, n = f->repl_len;
    const char *r = f->repl;

    pcre2_pattern_info(f->re, PCRE2_INFO_CAPTURECOUNT, &groups);
    while (i < n) {
        size_t start, end;
        int braced = 0;

        if (r[i] != '$') {
            i++;
            continue;
        }
        i++;
        if (i < n && r[i] == '$') {
            i++;
            continue;
        }
        if (i < n && r[i] == '{') {
            braced = 1;
            i++;
        }
        start = i;
        while (i < n && (is_digit((unsigned char)r[i]) || r[i] == '_' ||
                         (r[i] >= 'a' && r[i] <= 'z') ||
                         (r[i] >= 'A' && r[i] <= 'Z')))
            i++;
        end = i;
        if (braced) {
            if (i >= n || r[i] != '}')
                end = start;
            else
                i++;
        }
        if (end == start) {
            pf_errf(err, "filter 'replace': bad '$' reference in '%s' "
                    "(use $$ for a dollar sign)", r);
            return -1;
        }
        if (is_digit((unsigned char)r[start])) {
            unsigned long g = strtoul(r + start, NULL, 10);

            if (g > groups) {
                pf_errf(err, "filter 'replace': reference $%lu but the "
                        "pattern has %u group(s)", g, groups);
                return -1;
            }
        }
        else {
            char *name = xstrndup(r + start, end - start);
            int rc = pcre2_substring_number_from_name(f->re,
                                                      (PCRE2_SPTR)name);

            if (rc < 0) {
                pf_errf(err, "filter 'replace': no group named '%s'", name);
                free(name);
                return -1;
            }
            free(name);
        }
    }
    return 0;
}

static int
parse_replace(struct filter *f, const char *s, size_t n,
              size_t *i, struct pf_err *err)
{
    struct pf_buf pat, rep;
    PCRE2_UCHAR msg[256];
    PCRE2_SIZE off;
    uint32_t opts = PCRE2_UTF | PCRE2_UCP;
    int code, rc = -1;
    char delim;

    pf_buf_init(&pat);
    pf_buf_init(&rep);
    if (*i >= n || s[*i] != ':') {
        pf_errf(err, "filter 'replace' needs /pattern/replacement/");
        goto cleanup;
    }
    (*i)++;
    delim = *i < n ? s[*i] : '\0';
    if (delim == '\0' || delim == '\\' || delim == ' ' ||
        (delim >= 'a' && delim <= 'z') || (delim >= 'A' && delim <= 'Z') ||
        is_digit((unsigned char)delim) || (unsigned char)delim >= 0x80) {
        pf_errf(err, "filter 'replace' needs /pattern/replacement/ "
                "(any punctuation as the delimiter)");
        goto cleanup;
    }
    (*i)++;
    if (read_delimited(s, n, i, delim, 1, &pat) < 0 ||
        read_delimited(s, n, i, delim, 0, &rep) < 0) {
        pf_errf(err, "filter 'replace': missing closing '%c' "
                "(expected %cpattern%creplacement%c)", delim, delim, delim,
                delim);
        goto cleanup;
    }
    for (; *i < n && s[*i] != ' ' && s[*i] != '|'; (*i)++) {
        switch (s[*i]) {
        case 'i': opts |= PCRE2_CASELESS; break;
        case 'm': opts |= PCRE2_MULTILINE; break;
        case 's': opts |= PCRE2_DOTALL; break;
        case 'x': opts |= PCRE2_EXTENDED; break;
        default:
            pf_errf(err, "filter 'replace': unknown flag '%c' (use i, m, "
                    "s or x)", s[*i]);
            goto cleanup;
        }
    }
    f->re = pcre2_compile((PCRE2_SPTR)(pat.len ? pat.data : ""), pat.len,
                          opts, &code, &off, NULL);
    if (!f->re) {
        pcre2_get_error_message(code, msg, sizeof msg);
        pf_errf(err, "filter 'replace': bad pattern '%s': %s at offset %zu",
                pat.len ? pat.data : "", (const char *)msg, (size_t)off);
        goto cleanup;
    }
    /* JIT is only a speed-up; the interpreter works when it is missing. */
    (void)pcre2_jit_compile(f->re, PCRE2_JIT_COMPLETE);
    f->md = pcre2_match_data_create_from_pattern(f->re, NULL);
    if (!f->md) {
        pf_errf(err, "filter 'replace': out of memory");
        goto cleanup;
    }
    f->repl = xstrndup(rep.len ? rep.data : "", rep.len);
    f->repl_len = rep.len;
    if (check_replacement(f, err) < 0)
        goto cleanup;
    rc = 0;
cleanup:
    pf_buf_free(&pat);
    pf_buf_free(&rep);
    return rc;
}

/* Checks arguments and precomputes what apply needs. */
static int
prepare_args(struct filter *f, struct pf_err *err)
{
    const char *name = f->def->name;
    char *end;
    long v;

    if (f->nargs < f->def->min_args || f->nargs > f->def->max_args) {
        if (f->def->max_args == 0)
            pf_errf(err, "filter '%s' takes no argument", name);
        else if (f->def->min_args == f->def->max_args)
            pf_errf(err, "filter '%s' needs %d argument(s)", name,
                    f->def->min_args);
        else
            pf_errf(err, "filter '%s' takes %d to %d arguments", name,
                    f->def->min_args, f->def->max_args);
        return -1;
    }
    if (strcmp(name, "truncate") == 0) {
        v = strtol(f->args[0], &end, 10);
        if (f->arg_len[0] == 0 || *end != '\0' || v <= 0 ||
            v > 1000000000L) {
            pf_errf(err, "filter 'truncate': '%s' is not a positive count",
                    f->args[0]);
            return -1;
        }
        f->count = v;
        if (f->nargs > 1)
            f->ellipsis_chars = utf8_chars(f->args[1], f->arg_len[1]);
    }
    else if (strcmp(name, "slice") == 0) {
        v = strtol(f->args[0], &end, 10);
        if (f->arg_len[0] == 0 || *end != '\0' || v < 0 ||
            v > 1000000000L) {
            pf_errf(err, "filter 'slice': start '%s' is not a count from 0",
                    f->args[0]);
            return -1;
        }
        f->start = v;
        f->count = -1;
        if (f->nargs > 1) {
            v = strtol(f->args[1], &end, 10);
            if (f->arg_len[1] == 0 || *end != '\0' || v < 0 ||
                v > 1000000000L) {
                pf_errf(err, "filter 'slice': '%s' is not a count",
                        f->args[1]);
                return -1;
            }
            f->count = v;
        }
    }
    else if (strcmp(name, "map") == 0 && f->arg_len[0] == 0) {
        pf_errf(err, "filter 'map' needs a field name");
        return -1;
    }
    return 0;
}

/* default:X - a quoted X is a string; a bare one is a number, true/false,
 * or otherwise a word (string). */
static int
prepare_default(struct filter *f, int quoted, struct pf_err *err)
{
    const char *s = f->args[0];
    size_t n = f->arg_len[0];

    if (quoted) {
        f->dflt = str_value(s, n);
        return 0;
    }
    if (n == 0) {
        pf_errf(err, "filter 'default' needs a value (quote '' for an "
                "empty string)");
        return -1;
    }
    if (jsonw_is_number(s, n)) {
        /* Up to 18 digits always fits an int64. */
        if (strcspn(s, ".eE") == n && n <= 18)
            f->dflt = pf_v_int(strtoll(s, NULL, 10));
        else
            f->dflt = num_value(s, n);
    }
    else if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
        f->dflt = pf_v_bool(s[0] == 't');
    }
    else {
        f->dflt = str_value(s, n);
    }
    return 0;
}

struct filter *
filter_parse(const char *s, size_t n, size_t *used,
             struct pf_err *err)
{
    struct filter *f = xcalloc(1, sizeof *f);
    size_t i = 0, start;
    int first_quoted = 0, ok = 0;

    while (i < n && s[i] == ' ')
        i++;
    start = i;
    while (i < n && ((s[i] >= 'a' && s[i] <= 'z') ||
                     (s[i] >= 'A' && s[i] <= 'Z') ||
                     is_digit((unsigned char)s[i]) || s[i] == '_'))
        i++;
    if (i == start) {
        pf_errf(err, "missing filter name after '|'");
        goto cleanup;
    }
    f->def = find_def(s + start, i - start);
    if (!f->def) {
        unknown_filter(s + start, i - start, err);
        goto cleanup;
    }
    if (f->def->apply == f_replace) {
        if (parse_replace(f, s, n, &i, err) < 0)
            goto cleanup;
    }
    else {
        while (i < n && s[i] == ':') {
            size_t at;

            i++;
            if (f->nargs == MAX_ARGS) {
                pf_errf(err, "filter '%s': too many arguments",
                        f->def->name);
                goto cleanup;
            }
            at = i;
            while (at < n && s[at] == ' ')
                at++;
            if (f->nargs == 0)
                first_quoted = at < n && (s[at] == '"' || s[at] == '\'');
            f->args[f->nargs] = parse_arg(s, n, &i, &f->arg_len[f->nargs]);
            if (!f->args[f->nargs]) {
                pf_errf(err, "filter '%s': unterminated quoted argument",
                        f->def->name);
                goto cleanup;
            }
            f->nargs++;
        }
        if (prepare_args(f, err) < 0)
            goto cleanup;
        if (f->def->apply == f_default &&
            prepare_default(f, first_quoted, err) < 0)
            goto cleanup;
    }
    while (i < n && s[i] == ' ')
        i++;
    if (i < n && s[i] != '|') {
        pf_errf(err, "filter '%s': unexpected '%c' (filters are separated "
                "by '|', arguments by ':')", f->def->name, s[i]);
        goto cleanup;
    }
    /* Arguments end up in values (join's separator, default's text,
     * replace's replacement), and values are valid UTF-8. */
    if (!pf_utf8_valid(s, i)) {
        pf_errf(err, "filter '%s': arguments are not valid UTF-8",
                f->def->name);
        goto cleanup;
    }
    *used = i;
    ok = 1;
cleanup:
    if (!ok) {
        filter_free(f);
        return NULL;
    }
    return f;
}

void
filter_free(struct filter *f)
{
    int i;

    if (!f)
        return;
    for (i = 0; i < f->nargs; i++)
        free(f->args[i]);
    pcre2_match_data_free(f->md);
    pcre2_code_free(f->re);
    free(f->repl);
    free(f);
}

const char *
filter_name(const struct filter *f)
{
    return f->def->name;
}

const char *
filter_map_field(const struct filter *f)
{
    return f->def->apply == f_map ? f->args[0] : NULL;
}

int
filter_apply(const struct filter *f, const struct pf_value *in,
             struct pf_arena *a, struct pf_value *out,
             struct pf_err *err)
{
    return f->def->apply(f, in, a, out, err);
}
