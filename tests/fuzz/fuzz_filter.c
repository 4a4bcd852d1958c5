/* fuzz_filter.c - filter pipelines on values of every type.
 *
 * Input: a pipeline as written after a placeholder's path ("strip_html |
 * truncate:20:'...'"), a newline, then a payload. The payload, repaired
 * to UTF-8 as the store keeps text, becomes a string, a decimal number
 * and the items of a list and an object; its first 8 raw bytes also give
 * an integer, a money amount and a time. Properties:
 * - filter_parse() consumes part of its input and stops at '|' or the
 *   end; a filter it refuses comes with a message;
 * - filter_apply() returns 0, or -1 with a message and only for replace;
 * - every value a pipeline produces is well formed (known type, strings
 *   NUL-terminated, valid UTF-8, sane lists), renders as
 *   JSON that parses, and as text when it is a scalar.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fake_shop.h"
#include "filter.h"
#include "util.h"
#include "value.h"

#define MAX_FILTERS 32
#define MAX_DEPTH 8

static int64_t
bytes_i64(const char *s, size_t n)
{
    uint64_t u = 0;
    size_t i;

    for (i = 0; i < 8 && i < n; i++)
        u = u << 8 | (unsigned char)s[i];
    return (int64_t)u;
}

static void
check_value(const struct pf_value *v, int depth)
{
    size_t i;

    if (depth > MAX_DEPTH)
        abort();
    switch (v->type) {
    case PF_STR:
    case PF_NUM:
        /* NUL-terminated, len excluding the NUL (value.h). */
        if (!v->u.str.s ? v->u.str.len > 0 : v->u.str.s[v->u.str.len])
            abort();
        if (v->u.str.len > 0 && !pf_utf8_valid(v->u.str.s, v->u.str.len))
            abort();
        break;
    case PF_LIST:
        if (v->u.list.n > 0 && !v->u.list.items)
            abort();
        for (i = 0; i < v->u.list.n; i++)
            check_value(&v->u.list.items[i], depth + 1);
        break;
    case PF_OBJ:
        if (!v->u.obj)
            break;
        for (i = 0; i < v->u.obj->n; i++) {
            if (!v->u.obj->fields[i].name)
                abort();
            check_value(&v->u.obj->fields[i].v, depth + 1);
        }
        break;
    case PF_NULL:
    case PF_INT:
    case PF_MONEY:
    case PF_BOOL:
    case PF_TIME:
        break;
    default:
        abort();
    }
}

/* The value as JSON must parse; as text it must be valid UTF-8. */
static void
check_render(const struct pf_value *v)
{
    struct pf_buf b;

    if (!fake_value_json_parses(v))
        abort();
    pf_buf_init(&b);
    if (pf_value_to_text(v, &b) == 0 && b.len > 0 &&
        !pf_utf8_valid(b.data, b.len))
        abort();
    pf_buf_free(&b);
}

static void
run_pipeline(struct filter *const *fs, size_t nf, struct pf_value v,
             struct pf_arena *a)
{
    size_t i;

    for (i = 0; i < nf; i++) {
        struct pf_value out = pf_v_null();
        struct pf_err err;

        err.msg[0] = '\0';
        if (filter_apply(fs[i], &v, a, &out, &err) != 0) {
            if (strcmp(filter_name(fs[i]), "replace") != 0 ||
                err.msg[0] == '\0')
                abort();
            return;
        }
        check_value(&out, 0);
        check_render(&out);
        v = out;
    }
}

/* The inputs: one value of every type, built from the payload p (valid
 * UTF-8) and the number x. */
static size_t
make_inputs(struct pf_arena *a, const char *p, size_t n, int64_t x,
            struct pf_value *in)
{
    struct pf_obj *o = pf_obj_new(a);
    struct pf_value l = pf_v_list(a, 5), l2 = pf_v_list(a, 2);
    size_t k = 0, half = n / 2;

    /* Halves of valid UTF-8 are valid: cut between characters. */
    while (half > 0 && ((unsigned char)p[half] & 0xC0) == 0x80)
        half--;

    in[k++] = pf_v_null();
    in[k++] = pf_v_strn(a, p, n);
    in[k] = pf_v_strn(a, p, n);
    in[k++].type = PF_NUM;
    in[k++] = pf_v_int(x);
    in[k++] = pf_v_money(x, (int)((uint64_t)x % 4), x & 1 ? "EUR" : NULL);
    in[k++] = pf_v_bool(x & 1);
    in[k++] = pf_v_time(x);
    l.u.list.items[0] = pf_v_strn(a, p, half);
    l.u.list.items[1] = pf_v_strn(a, p + half, n - half);
    l.u.list.items[2] = pf_v_int(x);
    l.u.list.items[3] = pf_v_strn(a, p, half);
    l.u.list.items[4] = pf_v_money(x, 2, "EUR");
    in[k++] = l;
    pf_obj_set(a, o, "id", pf_v_strn(a, p, half));
    pf_obj_set(a, o, "name", pf_v_strn(a, p + half, n - half));
    pf_obj_set(a, o, "items", l);
    in[k++] = pf_v_obj(o);
    l2.u.list.items[0] = pf_v_obj(o);
    l2.u.list.items[1] = l;
    in[k++] = l2;
    return k;
}

/* Parses the pipeline; returns the number of filters parsed. */
static size_t
parse_pipeline(const char *s, size_t n, struct filter **fs)
{
    size_t pos = 0, nf = 0;

    while (pos < n && nf < MAX_FILTERS) {
        struct pf_err err;
        size_t used = 0;
        struct filter *f;

        err.msg[0] = '\0';
        f = filter_parse(s + pos, n - pos, &used, &err);
        if (!f) {
            if (err.msg[0] == '\0')
                abort();
            break;
        }
        fs[nf++] = f;
        if (used > n - pos || (pos + used < n && s[pos + used] != '|'))
            abort();
        pos += used + 1;
    }
    return nf;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const char *nl = memchr(s, '\n', size);
    size_t plen = nl ? (size_t)(nl - s) : size, nf, ni, i;
    struct filter *fs[MAX_FILTERS];
    struct pf_value in[16];
    struct pf_arena a;
    struct pf_buf payload;

    nf = parse_pipeline(s, plen, fs);
    pf_arena_init(&a);
    pf_buf_init(&payload);
    if (nl)
        pf_utf8_repair(&payload, nl + 1, size - plen - 1);
    ni = make_inputs(&a, payload.data ? payload.data : "", payload.len,
                     nl ? bytes_i64(nl + 1, size - plen - 1) : 0, in);
    for (i = 0; i < ni && nf > 0; i++)
        run_pipeline(fs, nf, in[i], &a);
    for (i = 0; i < nf; i++)
        filter_free(fs[i]);
    pf_buf_free(&payload);
    pf_arena_free(&a);
    return 0;
}
