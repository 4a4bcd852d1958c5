/* jsonw.c - streaming JSON writer; see jsonw.h. */
#include <string.h>

#include "jsonw.h"
#include "timeutil.h"

static const char hexdigits[] = "0123456789abcdef";

void
jsonw_init(struct jsonw *w, struct pf_out *o)
{
    w->o = o;
    pf_buf_init(&w->tmp);
    w->repaired = 0;
    w->bad_numbers = 0;
}

void
jsonw_free(struct jsonw *w)
{
    pf_buf_free(&w->tmp);
}

size_t
jsonw_utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    unsigned lo = 0x80, hi = 0xBF;
    size_t need, i;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
    }
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        /* Second-byte ranges rule out overlongs and surrogates. */
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    }
    else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    }
    else {
        return 0;
    }
    if (n < need)
        return 0;
    for (i = 1; i < need; i++) {
        unsigned l = i == 1 ? lo : 0x80;
        unsigned h = i == 1 ? hi : 0xBF;

        if (s[i] < l || s[i] > h)
            return 0;
    }
    return need;
}

/* Writes the escape for one byte below 0x20, '"' or '\\'. */
static void
put_escape(struct pf_out *o, unsigned char c)
{
    char e[6];

    switch (c) {
    case '"':  pf_out_write(o, "\\\"", 2); return;
    case '\\': pf_out_write(o, "\\\\", 2); return;
    case '\n': pf_out_write(o, "\\n", 2); return;
    case '\r': pf_out_write(o, "\\r", 2); return;
    case '\t': pf_out_write(o, "\\t", 2); return;
    case '\b': pf_out_write(o, "\\b", 2); return;
    case '\f': pf_out_write(o, "\\f", 2); return;
    default:
        break;
    }
    e[0] = '\\';
    e[1] = 'u';
    e[2] = '0';
    e[3] = '0';
    e[4] = hexdigits[c >> 4];
    e[5] = hexdigits[c & 0xF];
    pf_out_write(o, e, sizeof e);
}

void
jsonw_str(struct jsonw *w, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run = 0;

    pf_out_putc(w->o, '"');
    while (i < n) {
        unsigned char c = p[i];
        size_t len;

        /* Plain ASCII is by far the common case: extend the run. */
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        if (c >= 0x80) {
            len = jsonw_utf8_seq(p + i, n - i);
            if (len == 3 && c == 0xE2 && p[i + 1] == 0x80 &&
                (p[i + 2] == 0xA8 || p[i + 2] == 0xA9)) {
                pf_out_write(w->o, s + run, i - run);
                pf_out_write(w->o, p[i + 2] == 0xA8 ? "\\u2028" : "\\u2029",
                             6);
                i += 3;
                run = i;
                continue;
            }
            if (len > 0) {
                i += len;
                continue;
            }
            /* One U+FFFD per bad byte, as pf_utf8_repair() does. */
            pf_out_write(w->o, s + run, i - run);
            pf_out_write(w->o, "\xEF\xBF\xBD", 3);
            w->repaired++;
            i++;
            run = i;
            continue;
        }
        pf_out_write(w->o, s + run, i - run);
        put_escape(w->o, c);
        i++;
        run = i;
    }
    pf_out_write(w->o, s + run, n - run);
    pf_out_putc(w->o, '"');
}

void
jsonw_int(struct jsonw *w, int64_t i)
{
    char t[24];
    size_t k = sizeof t;
    /* Negate in unsigned arithmetic so INT64_MIN does not overflow. */
    uint64_t u = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;

    do {
        t[--k] = (char)('0' + u % 10);
        u /= 10;
    } while (u > 0);
    if (i < 0)
        t[--k] = '-';
    pf_out_write(w->o, t + k, sizeof t - k);
}

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int
jsonw_is_number(const char *s, size_t n)
{
    size_t i = 0;

    if (i < n && s[i] == '-')
        i++;
    if (i >= n)
        return 0;
    if (s[i] == '0') {
        i++;
    }
    else if (is_digit(s[i])) {
        while (i < n && is_digit(s[i]))
            i++;
    }
    else {
        return 0;
    }
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || !is_digit(s[i]))
            return 0;
        while (i < n && is_digit(s[i]))
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || !is_digit(s[i]))
            return 0;
        while (i < n && is_digit(s[i]))
            i++;
    }
    return i == n;
}

static void
write_list(struct jsonw *w, const struct pf_value *v)
{
    size_t i;

    pf_out_putc(w->o, '[');
    for (i = 0; i < v->u.list.n; i++) {
        if (i > 0)
            pf_out_putc(w->o, ',');
        jsonw_value(w, &v->u.list.items[i]);
    }
    pf_out_putc(w->o, ']');
}

static void
write_obj(struct jsonw *w, const struct pf_obj *obj)
{
    size_t i;

    pf_out_putc(w->o, '{');
    for (i = 0; obj && i < obj->n; i++) {
        const char *name = obj->fields[i].name;

        if (i > 0)
            pf_out_putc(w->o, ',');
        jsonw_str(w, name, strlen(name));
        pf_out_putc(w->o, ':');
        jsonw_value(w, &obj->fields[i].v);
    }
    pf_out_putc(w->o, '}');
}

void
jsonw_value(struct jsonw *w, const struct pf_value *v)
{
    char iso[32];

    switch (v->type) {
    case PF_NULL:
        pf_out_write(w->o, "null", 4);
        break;
    case PF_STR:
        jsonw_str(w, v->u.str.s, v->u.str.len);
        break;
    case PF_INT:
        jsonw_int(w, v->u.i);
        break;
    case PF_NUM:
        if (jsonw_is_number(v->u.str.s, v->u.str.len)) {
            pf_out_write(w->o, v->u.str.s, v->u.str.len);
        }
        else {
            w->bad_numbers++;
            pf_out_write(w->o, "null", 4);
        }
        break;
    case PF_MONEY:
        pf_buf_reset(&w->tmp);
        pf_money_format(&w->tmp, v->u.money.minor, v->u.money.decimals);
        pf_out_write(w->o, w->tmp.data, w->tmp.len);
        break;
    case PF_BOOL:
        if (v->u.i)
            pf_out_write(w->o, "true", 4);
        else
            pf_out_write(w->o, "false", 5);
        break;
    case PF_TIME:
        pf_time_iso_utc(v->u.i, iso);
        jsonw_str(w, iso, strlen(iso));
        break;
    case PF_LIST:
        write_list(w, v);
        break;
    case PF_OBJ:
        write_obj(w, v->u.obj);
        break;
    default:
        /* A type this writer does not know must still leave valid JSON. */
        pf_out_write(w->o, "null", 4);
        break;
    }
}
