/* value.c - see value.h. */
#include "value.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "timeutil.h"

struct pf_value
pf_v_null(void)
{
    struct pf_value v;

    memset(&v, 0, sizeof(v));
    return v;
}

struct pf_value
pf_v_strn(struct pf_arena *a, const char *s, size_t n)
{
    struct pf_value v = pf_v_null();

    if (s == NULL)
        return v;
    v.type = PF_STR;
    v.u.str.s = pf_arena_strndup(a, s, n);
    v.u.str.len = n;
    return v;
}

struct pf_value
pf_v_str(struct pf_arena *a, const char *s)
{
    return pf_v_strn(a, s, s ? strlen(s) : 0);
}

struct pf_value
pf_v_int(int64_t i)
{
    struct pf_value v = pf_v_null();

    v.type = PF_INT;
    v.u.i = i;
    return v;
}

struct pf_value
pf_v_bool(int b)
{
    struct pf_value v = pf_v_null();

    v.type = PF_BOOL;
    v.u.i = b ? 1 : 0;
    return v;
}

struct pf_value
pf_v_time(int64_t epoch)
{
    struct pf_value v = pf_v_null();

    v.type = PF_TIME;
    v.u.i = epoch;
    return v;
}

struct pf_value
pf_v_money(int64_t minor, int decimals, const char *currency)
{
    struct pf_value v = pf_v_null();

    v.type = PF_MONEY;
    v.u.money.minor = minor;
    v.u.money.decimals = decimals;
    v.u.money.currency = currency;
    return v;
}

struct pf_value
pf_v_list(struct pf_arena *a, size_t n)
{
    struct pf_value v = pf_v_null();

    v.type = PF_LIST;
    v.u.list.n = n;
    v.u.list.items = n ? pf_arena_alloc(a, n * sizeof(struct pf_value))
                       : NULL;
    if (n)
        memset(v.u.list.items, 0, n * sizeof(struct pf_value));
    return v;
}

struct pf_value
pf_v_obj(struct pf_obj *o)
{
    struct pf_value v = pf_v_null();

    v.type = PF_OBJ;
    v.u.obj = o;
    return v;
}

struct pf_obj *
pf_obj_new(struct pf_arena *a)
{
    struct pf_obj *o = pf_arena_alloc(a, sizeof(*o));

    o->fields = NULL;
    o->n = 0;
    o->cap = 0;
    return o;
}

void
pf_obj_set(struct pf_arena *a, struct pf_obj *o, const char *name,
           struct pf_value v)
{
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 16;
        struct pf_field *f = pf_arena_alloc(a, cap * sizeof(*f));

        if (o->n)
            memcpy(f, o->fields, o->n * sizeof(*f));
        o->fields = f;
        o->cap = cap;
    }
    o->fields[o->n].name = name;
    o->fields[o->n].v = v;
    o->n++;
}

const struct pf_value *
pf_obj_get_hint(const struct pf_obj *o, const char *name, size_t *hint)
{
    size_t i;

    if (o == NULL)
        return NULL;
    if (*hint < o->n && strcmp(o->fields[*hint].name, name) == 0)
        return &o->fields[*hint].v;
    for (i = 0; i < o->n; i++) {
        if (strcmp(o->fields[i].name, name) == 0) {
            *hint = i;
            return &o->fields[i].v;
        }
    }
    return NULL;
}

const struct pf_value *
pf_obj_get(const struct pf_obj *o, const char *name)
{
    size_t i;

    if (o == NULL)
        return NULL;
    for (i = 0; i < o->n; i++)
        if (strcmp(o->fields[i].name, name) == 0)
            return &o->fields[i].v;
    return NULL;
}

const struct pf_value *
pf_obj_path(const struct pf_obj *o, const char *path)
{
    const struct pf_value *v = NULL;
    char seg[128];

    while (o != NULL) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);

        if (n >= sizeof(seg))
            return NULL;
        memcpy(seg, path, n);
        seg[n] = '\0';
        v = pf_obj_get(o, seg);
        if (v == NULL || dot == NULL)
            return v;
        if (v->type != PF_OBJ)
            return NULL;
        o = v->u.obj;
        path = dot + 1;
    }
    return NULL;
}

int
pf_value_is_empty(const struct pf_value *v)
{
    if (v == NULL)
        return 1;
    switch (v->type) {
    case PF_NULL:
        return 1;
    case PF_STR:
    case PF_NUM:
        return v->u.str.len == 0;
    case PF_LIST:
        return v->u.list.n == 0;
    case PF_OBJ:
        return v->u.obj == NULL || v->u.obj->n == 0;
    default:
        return 0;
    }
}

void
pf_money_format(struct pf_buf *b, int64_t minor, int decimals)
{
    /* Hot path of every feed: digits by hand, never printf (which also
     * honours LC_NUMERIC). */
    uint64_t mag = minor < 0 ? (uint64_t)0 - (uint64_t)minor
                             : (uint64_t)minor;
    char tmp[48], *p = tmp + sizeof(tmp);
    int i;

    for (i = 0; i < decimals && i < 18; i++) {
        *--p = (char)('0' + mag % 10);
        mag /= 10;
    }
    if (decimals > 0)
        *--p = '.';
    do {
        *--p = (char)('0' + mag % 10);
        mag /= 10;
    } while (mag > 0);
    if (minor < 0)
        *--p = '-';
    pf_buf_add(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

int
pf_value_to_text(const struct pf_value *v, struct pf_buf *b)
{
    char tbuf[32];

    switch (v->type) {
    case PF_NULL:
        return 0;
    case PF_STR:
    case PF_NUM:
        pf_buf_add(b, v->u.str.s, v->u.str.len);
        return 0;
    case PF_INT:
        pf_buf_addf(b, "%" PRId64, v->u.i);
        return 0;
    case PF_MONEY:
        pf_money_format(b, v->u.money.minor, v->u.money.decimals);
        return 0;
    case PF_BOOL:
        pf_buf_adds(b, v->u.i ? "true" : "false");
        return 0;
    case PF_TIME:
        pf_time_iso_utc(v->u.i, tbuf);
        pf_buf_adds(b, tbuf);
        return 0;
    default:
        return -1;
    }
}

/* Appends digit d to *v; -1 when the result would pass limit. */
static int
add_digit(uint64_t *v, unsigned d, uint64_t limit)
{
    if (*v > (limit - d) / 10)
        return -1;
    *v = *v * 10 + d;
    return 0;
}

int
pf_money_parse(const char *s, int decimals, int64_t *minor,
               struct pf_err *err)
{
    const char *p = s;
    int neg = 0, frac = 0, digits = 0;
    /* The magnitude, in unsigned arithmetic: the most negative amount
     * has no positive twin, and pf_money_format() prints it. */
    uint64_t v = 0, limit;

    while (*p == ' ')
        p++;
    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; *p >= '0' && *p <= '9'; p++, digits++)
        if (add_digit(&v, (unsigned)(*p - '0'), limit) < 0)
            goto bad;
    if (*p == '.') {
        p++;
        for (; *p >= '0' && *p <= '9'; p++, digits++) {
            if (frac == decimals) {
                if (*p != '0') {
                    pf_errf(err, "'%s' has more than %d decimals", s,
                            decimals);
                    return -1;
                }
                continue;
            }
            if (add_digit(&v, (unsigned)(*p - '0'), limit) < 0)
                goto bad;
            frac++;
        }
    }
    while (*p == ' ')
        p++;
    if (*p != '\0' || digits == 0)
        goto bad;
    for (; frac < decimals; frac++)
        if (add_digit(&v, 0, limit) < 0)
            goto bad;
    if (!neg)
        *minor = (int64_t)v;
    else if (v > (uint64_t)INT64_MAX)
        *minor = INT64_MIN;
    else
        *minor = -(int64_t)v;
    return 0;
bad:
    pf_errf(err, "expected a decimal amount, got \"%s\"", s);
    return -1;
}

int
pf_currency_decimals(const char *code)
{
    /* ISO 4217 currencies whose minor unit is not 2. */
    static const char *const zero[] = {
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
        "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF", NULL
    };
    static const char *const three[] = {
        "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND", NULL
    };
    int i;

    if (code == NULL)
        return 2;
    for (i = 0; zero[i]; i++)
        if (strcmp(code, zero[i]) == 0)
            return 0;
    for (i = 0; three[i]; i++)
        if (strcmp(code, three[i]) == 0)
            return 3;
    return 2;
}
