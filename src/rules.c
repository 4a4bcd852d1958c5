/* rules.c - see rules.h. */
#include "rules.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"

enum op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_MATCH, OP_NOMATCH };

struct cond {
    char *path;
    char *object;           /* the path's first name: "product" */
    int line;               /* config line, for rules_check_rows() */
    enum op op;
    char *value;
    double num;             /* value as a number, when it is one */
    int is_num;
    pcre2_code *re;         /* OP_MATCH / OP_NOMATCH */
};

struct set {
    char *object, *field;   /* "product", "condition" */
    int line;
    char *constant;         /* or: */
    char *path;             /* a placeholder's path ... */
    struct filter **filters;
    size_t nfilters;
};

struct rules {
    struct cond *inc, *exc;
    size_t ninc, nexc;
    struct set *sets;
    size_t nsets;
};

static char *
trim_dup(const char *s, size_t n)
{
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    /* A quoted constant keeps its inner spaces. */
    if (n >= 2 && (s[0] == '\'' || s[0] == '"') && s[n - 1] == s[0]) {
        s++;
        n -= 2;
    }
    return xstrndup(s, n);
}

static int
valid_path(const char *p)
{
    if (*p == '\0' || *p == '.')
        return 0;
    for (; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '_' || *p == '.'))
            return 0;
    return p[-1] != '.';
}

/* Length of the condition at s: up to sep (" and ", " or ") outside
 * quotes, or the end. */
static size_t
cond_len(const char *s, const char *sep)
{
    size_t i, seplen = strlen(sep);
    char quote = 0;

    for (i = 0; s[i] != '\0'; i++) {
        if (quote != 0) {
            if (s[i] == quote)
                quote = 0;
        }
        else if (s[i] == '\'' || s[i] == '"') {
            quote = s[i];
        }
        else if (strncmp(s + i, sep, seplen) == 0) {
            return i;
        }
    }
    return i;
}

static int
parse_cond(const char *s, size_t n, struct cond *c, struct pf_err *err)
{
    static const struct {
        const char *tok;
        enum op op;
    } ops[] = {
        {"!~", OP_NOMATCH}, {"==", OP_EQ}, {"!=", OP_NE}, {"<=", OP_LE},
        {">=", OP_GE}, {"<", OP_LT}, {">", OP_GT}, {"~", OP_MATCH},
    };
    size_t i, k, best = n, blen = 0;
    char *end;
    int ecode;
    PCRE2_SIZE eoff;

    memset(c, 0, sizeof(*c));
    /* The operator is the first one found, longest first at a place. */
    for (i = 0; i < n && best == n; i++)
        for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
            size_t tl = strlen(ops[k].tok);

            if (i + tl <= n && strncmp(s + i, ops[k].tok, tl) == 0) {
                best = i;
                blen = tl;
                c->op = ops[k].op;
                break;
            }
        }
    if (best == n) {
        pf_errf(err, "'%.*s': expected PATH OP VALUE with OP one of == != "
                "< <= > >= ~ !~", (int)n, s);
        return -1;
    }
    c->path = trim_dup(s, best);
    c->value = trim_dup(s + best + blen, n - best - blen);
    if (!valid_path(c->path)) {
        pf_errf(err, "'%.*s': '%s' is not a field path like "
                "product.brand", (int)n, s, c->path);
        return -1;
    }
    c->object = xstrndup(c->path, strcspn(c->path, "."));
    c->num = strtod(c->value, &end);
    c->is_num = c->value[0] != '\0' && *end == '\0';
    if (c->op == OP_MATCH || c->op == OP_NOMATCH) {
        c->re = pcre2_compile((PCRE2_SPTR)c->value, PCRE2_ZERO_TERMINATED,
                              PCRE2_UTF, &ecode, &eoff, NULL);
        if (c->re == NULL) {
            PCRE2_UCHAR msg[160];

            pcre2_get_error_message(ecode, msg, sizeof(msg));
            pf_errf(err, "'%s': bad pattern at offset %zu: %s", c->value,
                    (size_t)eoff, (const char *)msg);
            return -1;
        }
    }
    else if (c->op != OP_EQ && c->op != OP_NE && !c->is_num) {
        pf_errf(err, "'%.*s': '%s' is not a number to compare with",
                (int)n, s, c->value);
        return -1;
    }
    return 0;
}

static void
cond_free(struct cond *c)
{
    free(c->path);
    free(c->object);
    free(c->value);
    pcre2_code_free(c->re);
}

static int
parse_set(const char *field, const char *text, struct set *st,
          struct pf_err *err)
{
    const char *dot = strchr(field, '.');
    size_t n = strlen(text);

    memset(st, 0, sizeof(*st));
    if (dot == NULL || !valid_path(field) || strchr(dot + 1, '.')) {
        pf_errf(err, "set.%s: name an object and a field, e.g. "
                "set.product.condition", field);
        return -1;
    }
    st->object = xstrndup(field, (size_t)(dot - field));
    st->field = xstrdup(dot + 1);
    while (n > 0 && text[n - 1] == ' ')
        n--;
    if (n >= 4 && strncmp(text, "{{", 2) == 0 &&
        strncmp(text + n - 2, "}}", 2) == 0) {
        const char *p = text + 2, *end = text + n - 2;
        size_t used, plen;

        while (p < end && *p == ' ')
            p++;
        plen = strcspn(p, "| }");
        st->path = xstrndup(p, plen);
        if (!valid_path(st->path)) {
            pf_errf(err, "set.%s: '%s' is not a field path", field,
                    st->path);
            return -1;
        }
        p += plen;
        while (p < end) {
            struct filter *f;

            while (p < end && *p == ' ')
                p++;
            if (p == end)
                break;
            if (*p != '|') {
                pf_errf(err, "set.%s: expected '|' before '%.*s'", field,
                        (int)(end - p), p);
                return -1;
            }
            p++;
            f = filter_parse(p, (size_t)(end - p), &used, err);
            if (f == NULL) {
                pf_err_prefix(err, "set.%s", field);
                return -1;
            }
            st->filters = xrealloc(st->filters, (st->nfilters + 1) *
                                                    sizeof(*st->filters));
            st->filters[st->nfilters++] = f;
            p += used;
        }
    }
    else if (strstr(text, "{{") != NULL) {
        pf_errf(err, "set.%s: give a constant or exactly one {{...}}",
                field);
        return -1;
    }
    else {
        st->constant = trim_dup(text, n);
    }
    return 0;
}

static void
set_free(struct set *st)
{
    size_t i;

    free(st->object);
    free(st->field);
    free(st->constant);
    free(st->path);
    for (i = 0; i < st->nfilters; i++)
        filter_free(st->filters[i]);
    free(st->filters);
}

int
rules_compile(const struct pf_rule_text *texts, size_t n, const char *file,
              struct rules **out, struct pf_err *err)
{
    struct rules *r = xcalloc(1, sizeof(*r));
    size_t i;

    for (i = 0; i < n; i++) {
        const struct pf_rule_text *t = &texts[i];
        const char *label = t->kind == PF_RULE_INCLUDE ? "include"
                                                       : "exclude";

        if (t->kind == PF_RULE_SET) {
            r->sets = xrealloc(r->sets, (r->nsets + 1) * sizeof(*r->sets));
            if (parse_set(t->field, t->text, &r->sets[r->nsets++],
                          err) != 0)
                goto fail;
            r->sets[r->nsets - 1].line = t->line;
            continue;
        }
        /* include: all of "A and B" must hold; exclude: any of "A or
         * B" drops the row. */
        for (const char *p = t->text; *p != '\0';) {
            const char *sep = t->kind == PF_RULE_INCLUDE ? " and " : " or ";
            size_t len = cond_len(p, sep);
            struct cond **list = t->kind == PF_RULE_INCLUDE ? &r->inc
                                                            : &r->exc;
            size_t *cnt = t->kind == PF_RULE_INCLUDE ? &r->ninc : &r->nexc;

            *list = xrealloc(*list, (*cnt + 1) * sizeof(**list));
            if (parse_cond(p, len, &(*list)[(*cnt)++], err) != 0) {
                pf_err_prefix(err, "%s", label);
                goto fail;
            }
            (*list)[*cnt - 1].line = t->line;
            p += len;
            if (*p != '\0')
                p += strlen(sep);
        }
        continue;
fail:
        if (file != NULL)
            pf_err_prefix(err, "%s:%d", file, t->line);
        rules_free(r);
        return -1;
    }
    *out = r;
    return 0;
}

static int
row_has(const char *const *row, const char *name)
{
    for (; *row != NULL; row++)
        if (strcmp(*row, name) == 0)
            return 1;
    return 0;
}

/* "product, category, order" for messages: each object of rows once. */
static void
list_objects(const char *const *const *rows, size_t nrows,
             struct pf_buf *b)
{
    size_t i, k, j, n = 0;

    for (i = 0; i < nrows; i++) {
        for (k = 0; rows[i][k] != NULL; k++) {
            int dup = 0;

            for (j = 0; j < i && !dup; j++)
                dup = row_has(rows[j], rows[i][k]);
            if (dup)
                continue;
            pf_buf_addf(b, "%s%s", n++ ? ", " : "", rows[i][k]);
        }
    }
    if (n == 0)
        pf_buf_adds(b, "none");
}

/* The set rule's object is in some row and, when it copies a path, that
 * path's first name is in one of those rows too. */
static int
set_fits(const struct set *st, const char *const *const *rows,
         size_t nrows, int *object_found)
{
    size_t i, len = st->path ? strcspn(st->path, ".") : 0;

    *object_found = 0;
    for (i = 0; i < nrows; i++) {
        char *src;
        int ok;

        if (!row_has(rows[i], st->object))
            continue;
        *object_found = 1;
        if (st->path == NULL)
            return 1;
        src = xstrndup(st->path, len);
        ok = row_has(rows[i], src);
        free(src);
        if (ok)
            return 1;
    }
    return 0;
}

static int
check_cond(const struct cond *c, const char *label,
           const char *const *const *rows, size_t nrows, const char *file,
           struct pf_err *err)
{
    struct pf_buf b;
    size_t i;

    for (i = 0; i < nrows; i++)
        if (row_has(rows[i], c->object))
            return 0;
    pf_buf_init(&b);
    list_objects(rows, nrows, &b);
    pf_errf(err, "%s: '%s' names no object of this feed's rows (they "
            "hold: %s)", label, c->path, b.data);
    pf_buf_free(&b);
    if (file != NULL)
        pf_err_prefix(err, "%s:%d", file, c->line);
    return -1;
}

static int
check_set(const struct set *st, const char *const *const *rows,
          size_t nrows, const char *file, struct pf_err *err)
{
    struct pf_buf b;
    int found;

    if (set_fits(st, rows, nrows, &found))
        return 0;
    pf_buf_init(&b);
    list_objects(rows, nrows, &b);
    if (!found)
        pf_errf(err, "set.%s.%s: this feed's rows have no '%s' (they "
                "hold: %s), so the rule would never apply", st->object,
                st->field, st->object, b.data);
    else
        pf_errf(err, "set.%s.%s: '{{%s}}' is not in the rows that have "
                "'%s'; a rule sees only its row (this feed's rows hold: "
                "%s), not shop, now or feed", st->object, st->field,
                st->path, st->object, b.data);
    pf_buf_free(&b);
    if (file != NULL)
        pf_err_prefix(err, "%s:%d", file, st->line);
    return -1;
}

int
rules_check_rows(const struct rules *r, const char *const *const *rows,
                 size_t nrows, const char *file, struct pf_err *err)
{
    size_t i;

    if (r == NULL)
        return 0;
    for (i = 0; i < r->ninc; i++)
        if (check_cond(&r->inc[i], "include", rows, nrows, file, err) != 0)
            return -1;
    for (i = 0; i < r->nexc; i++)
        if (check_cond(&r->exc[i], "exclude", rows, nrows, file, err) != 0)
            return -1;
    for (i = 0; i < r->nsets; i++)
        if (check_set(&r->sets[i], rows, nrows, file, err) != 0)
            return -1;
    return 0;
}

void
rules_free(struct rules *r)
{
    size_t i;

    if (r == NULL)
        return;
    for (i = 0; i < r->ninc; i++)
        cond_free(&r->inc[i]);
    for (i = 0; i < r->nexc; i++)
        cond_free(&r->exc[i]);
    for (i = 0; i < r->nsets; i++)
        set_free(&r->sets[i]);
    free(r->inc);
    free(r->exc);
    free(r->sets);
    free(r);
}

int
rules_empty(const struct rules *r)
{
    return r == NULL || (r->ninc == 0 && r->nexc == 0 && r->nsets == 0);
}

/* A scalar as a number; money exactly as its decimal value. */
static int
as_number(const struct pf_value *v, double *out)
{
    struct pf_buf b;
    char *end;
    int ok;

    if (v->type == PF_INT || v->type == PF_TIME || v->type == PF_BOOL) {
        *out = (double)v->u.i;
        return 1;
    }
    pf_buf_init(&b);
    if (pf_value_to_text(v, &b) != 0 || b.len == 0) {
        pf_buf_free(&b);
        return 0;
    }
    *out = strtod(b.data, &end);
    ok = *end == '\0';
    pf_buf_free(&b);
    return ok;
}

static int
scalar_holds(const struct cond *c, const struct pf_value *v, int *rc,
             struct pf_err *err)
{
    struct pf_buf b;
    double x;
    int hit = 0, m;

    pf_buf_init(&b);
    if (v != NULL)
        pf_value_to_text(v, &b);
    switch (c->op) {
    case OP_EQ:
    case OP_NE:
        if (c->is_num && v != NULL && as_number(v, &x))
            hit = x == c->num;
        else
            hit = strcmp(b.data ? b.data : "", c->value) == 0;
        break;
    case OP_MATCH:
    case OP_NOMATCH: {
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(c->re,
                                                                    NULL);

        m = pcre2_match(c->re, (PCRE2_SPTR)(b.data ? b.data : ""), b.len,
                        0, 0, md, NULL);
        pcre2_match_data_free(md);
        if (m < PCRE2_ERROR_NOMATCH) {
            pf_errf(err, "pattern '%s' failed on '%.60s' (PCRE2 error %d)",
                    c->value, b.data ? b.data : "", m);
            *rc = -1;
        }
        hit = m >= 0;
        break;
    }
    default:
        if (v != NULL && as_number(v, &x))
            hit = (c->op == OP_LT && x < c->num) ||
                  (c->op == OP_LE && x <= c->num) ||
                  (c->op == OP_GT && x > c->num) ||
                  (c->op == OP_GE && x >= c->num);
        break;
    }
    pf_buf_free(&b);
    return hit;
}

/* Does the condition hold for this row? A list holds when any element
 * does (for != and !~: when no element equals or matches). */
static int
cond_holds(const struct cond *c, const struct pf_obj *scope, int *rc,
           struct pf_err *err)
{
    const struct pf_value *v = pf_obj_path(scope, c->path);
    int negate = c->op == OP_NE || c->op == OP_NOMATCH;
    struct cond pos = *c;
    size_t i;
    int any = 0;

    if (negate)
        pos.op = c->op == OP_NE ? OP_EQ : OP_MATCH;
    if (v != NULL && v->type == PF_LIST) {
        for (i = 0; i < v->u.list.n && !any; i++)
            any = scalar_holds(&pos, &v->u.list.items[i], rc, err);
    }
    else {
        any = scalar_holds(&pos, v, rc, err);
    }
    return negate ? !any : any;
}

/* 1 if v is, or holds, object o. Rows are trees (shared parts at most,
 * never cycles), so the walk ends. */
static int
holds_obj(const struct pf_value *v, const struct pf_obj *o)
{
    size_t i;

    if (v->type == PF_OBJ && v->u.obj != NULL) {
        if (v->u.obj == o)
            return 1;
        for (i = 0; i < v->u.obj->n; i++)
            if (holds_obj(&v->u.obj->fields[i].v, o))
                return 1;
    }
    else if (v->type == PF_LIST) {
        for (i = 0; i < v->u.list.n; i++)
            if (holds_obj(&v->u.list.items[i], o))
                return 1;
    }
    return 0;
}

/* A copy of v's lists and objects in a; strings stay shared (values are
 * never written in place). */
static struct pf_value
copy_tree(struct pf_arena *a, const struct pf_value *v)
{
    struct pf_value c = *v;
    size_t i;

    if (v->type == PF_LIST) {
        c = pf_v_list(a, v->u.list.n);
        for (i = 0; i < v->u.list.n; i++)
            c.u.list.items[i] = copy_tree(a, &v->u.list.items[i]);
    }
    else if (v->type == PF_OBJ && v->u.obj != NULL) {
        struct pf_obj *o = pf_obj_new(a);

        for (i = 0; i < v->u.obj->n; i++)
            pf_obj_set(a, o, v->u.obj->fields[i].name,
                       copy_tree(a, &v->u.obj->fields[i].v));
        c = pf_v_obj(o);
    }
    return c;
}

/* Replaces (or adds) a field of an object in the row. */
static void
obj_put(struct pf_arena *a, struct pf_obj *o, const char *name,
        struct pf_value v)
{
    size_t i;

    for (i = 0; i < o->n; i++) {
        if (strcmp(o->fields[i].name, name) == 0) {
            o->fields[i].v = v;
            return;
        }
    }
    pf_obj_set(a, o, name, v);
}

int
rules_apply(const struct rules *r, struct pf_obj *scope, struct pf_arena *a,
            struct pf_err *err)
{
    size_t i, k;
    int rc = 0;

    if (r == NULL)
        return 1;
    /* A condition judges only the rows that hold its object: "include =
     * product.price >= 1" keeps a feed's orders and categories. */
    for (i = 0; i < r->ninc; i++)
        if (pf_obj_get(scope, r->inc[i].object) != NULL &&
            !cond_holds(&r->inc[i], scope, &rc, err))
            return rc < 0 ? -1 : 0;
    for (i = 0; i < r->nexc; i++)
        if (pf_obj_get(scope, r->exc[i].object) != NULL &&
            cond_holds(&r->exc[i], scope, &rc, err))
            return rc < 0 ? -1 : 0;
    if (rc < 0)
        return -1;
    for (i = 0; i < r->nsets; i++) {
        const struct set *st = &r->sets[i];
        const struct pf_value *target = pf_obj_get(scope, st->object);
        struct pf_value v, next;

        if (target == NULL || target->type != PF_OBJ)
            continue;       /* e.g. set.variant.* on a products feed */
        if (st->constant != NULL) {
            v = pf_v_str(a, st->constant);
        }
        else {
            const struct pf_value *src = pf_obj_path(scope, st->path);

            v = src ? *src : pf_v_null();
            for (k = 0; k < st->nfilters; k++) {
                if (filter_apply(st->filters[k], &v, a, &next, err) != 0)
                    return -1;
                v = next;
            }
        }
        /* set.variant.x = {{variant}} (or {{product}}, whose variants
         * hold this one) would make the row contain itself, and every
         * walk over it (rendering, the rules) endless: the field gets
         * the value as it was before the set. */
        if (holds_obj(&v, target->u.obj))
            v = copy_tree(a, &v);
        obj_put(a, target->u.obj, st->field, v);
    }
    return 1;
}
