/* fuzz_rules.c - include/exclude rules and set overrides.
 *
 * The input is a feed section's rule lines as a config would hold them
 * ("include = product.brand == Acme", "exclude = ...", "set.A.B = ...";
 * other lines are skipped). They are compiled and applied to every row
 * of every collection of the fake shop (tests/fake_shop.h). Properties:
 * - a rule that does not compile is reported as "FILE:LINE: ...";
 * - rules_apply() keeps (1), drops (0), or fails (-1) with a message;
 *   applied twice to the same row it decides the same;
 * - a kept row is still well formed: its strings are NUL-terminated
 *   and it renders as JSON that parses (the fake shop's hostile product
 *   holds invalid UTF-8 on purpose: the writers repair it);
 * - "include = C" keeps exactly the rows that "exclude = C" drops, for
 *   each single condition C of the input, among the rows that hold C's
 *   object; both keep every other row (a condition on products judges
 *   no category).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_shop.h"
#include "rules.h"
#include "util.h"
#include "value.h"

#define FILE_NAME "fuzz.conf"
#define MAX_RULES 16

static const char *const collections[] = {
    "products", "variants", "categories", "orders", "customers", "events"
};
#define NCOLL (sizeof collections / sizeof collections[0])

static void
check_strings(const struct pf_value *v)
{
    size_t i;

    if (v->type == PF_STR || v->type == PF_NUM) {
        if (!v->u.str.s ? v->u.str.len > 0 : v->u.str.s[v->u.str.len])
            abort();
    }
    else if (v->type == PF_LIST) {
        for (i = 0; i < v->u.list.n; i++)
            check_strings(&v->u.list.items[i]);
    }
    else if (v->type == PF_OBJ && v->u.obj) {
        for (i = 0; i < v->u.obj->n; i++)
            check_strings(&v->u.obj->fields[i].v);
    }
}

static void
check_row(struct pf_obj *row)
{
    struct pf_value v = pf_v_obj(row);

    check_strings(&v);
    if (!fake_value_json_parses(&v))
        abort();
}

static int
apply(const struct rules *r, struct pf_obj *row, struct pf_arena *a)
{
    struct pf_err err;
    int rc;

    err.msg[0] = '\0';
    rc = rules_apply(r, row, a, &err);
    if (rc < -1 || rc > 1 || (rc == -1 && err.msg[0] == '\0'))
        abort();
    return rc;
}

/* Each row of each collection through r; the decision of every row goes
 * to *keep (in order, at most max), and to *has whether the row holds
 * object (when has is not NULL). Returns the number of rows. */
static size_t
apply_all(const struct rules *r, int *keep, int *has, const char *object,
          size_t max)
{
    struct fake_shop f;
    struct tpl_data d;
    struct pf_arena vals;
    size_t c, n = 0;

    fake_shop_init(&f, &d);
    pf_arena_init(&vals);
    for (c = 0; c < NCOLL; c++) {
        struct pf_obj *row;
        long i;

        for (i = 0; (row = fake_shop_row(&f, collections[c], i)); i++) {
            int rc = apply(r, row, &vals);

            /* The same row again, afresh: the same decision. */
            row = fake_shop_row(&f, collections[c], i);
            if (apply(r, row, &vals) != rc)
                abort();
            if (rc == 1)
                check_row(row);
            if (n < max) {
                if (has != NULL)
                    has[n] = pf_obj_get(row, object) != NULL;
                keep[n++] = rc;
            }
            pf_arena_reset(&vals);
        }
    }
    pf_arena_free(&vals);
    fake_shop_free(&f);
    return n;
}

static int
compile(const struct pf_rule_text *t, size_t n, struct rules **r)
{
    struct pf_err err;

    err.msg[0] = '\0';
    if (rules_compile(t, n, FILE_NAME, r, &err) == 0)
        return 0;
    if (strncmp(err.msg, FILE_NAME ":", strlen(FILE_NAME ":")) != 0)
        abort();
    return -1;
}

/* The object a condition judges: the first name of its path, which
 * runs up to the first operator ("product" of "product.brand == A"). */
static char *
cond_object(const char *text)
{
    static const char *const ops[] = {"!~", "==", "!=", "<", ">", "~"};
    size_t i, k, end = strlen(text);

    for (i = 0; i < end; i++)
        for (k = 0; k < sizeof ops / sizeof ops[0]; k++)
            if (strncmp(text + i, ops[k], strlen(ops[k])) == 0)
                end = i;
    while (*text == ' ' || *text == '\t')
        text++, end--;
    if (strcspn(text, ".") < end)
        end = strcspn(text, ".");
    while (end > 0 && (text[end - 1] == ' ' || text[end - 1] == '\t'))
        end--;
    return xstrndup(text, end);
}

/* include C keeps what exclude C drops, when C is one condition. */
static void
check_duality(const struct pf_rule_text *t)
{
    struct pf_rule_text inc = *t, exc = *t;
    struct rules *ri = NULL, *re = NULL;
    int ki[64], ke[64], has[64];
    size_t n, i;
    char *object;

    /* One condition: no separator, and not the empty text (no
     * condition at all, which includes and excludes nothing). */
    if (t->text[0] == '\0' || strstr(t->text, " and ") ||
        strstr(t->text, " or "))
        return;
    inc.kind = PF_RULE_INCLUDE;
    exc.kind = PF_RULE_EXCLUDE;
    if (compile(&inc, 1, &ri) != compile(&exc, 1, &re))
        abort();
    if (ri && re) {
        object = cond_object(t->text);
        n = apply_all(ri, ki, has, object, 64);
        if (apply_all(re, ke, NULL, NULL, 64) != n)
            abort();
        for (i = 0; i < n; i++) {
            if (ki[i] < 0 || ke[i] < 0)
                continue;
            if (has[i] ? ki[i] == ke[i] : ki[i] != 1 || ke[i] != 1)
                abort();
        }
        free(object);
    }
    rules_free(ri);
    rules_free(re);
}

/* One "KEY = VALUE" line as a rule; 0 when the line is not one. */
static int
parse_line(char *line, int lineno, struct pf_rule_text *t)
{
    char *eq = strchr(line, '='), *k = line, *v, *end;

    if (!eq)
        return 0;
    *eq = '\0';
    v = eq + 1;
    while (*k == ' ')
        k++;
    for (end = eq; end > k && end[-1] == ' ';)
        *--end = '\0';
    while (*v == ' ')
        v++;
    memset(t, 0, sizeof *t);
    t->text = v;
    t->line = lineno;
    if (strcmp(k, "include") == 0)
        t->kind = PF_RULE_INCLUDE;
    else if (strcmp(k, "exclude") == 0)
        t->kind = PF_RULE_EXCLUDE;
    else if (strncmp(k, "set.", 4) == 0 && k[4] != '\0')
        t->kind = PF_RULE_SET;
    else
        return 0;
    t->field = t->kind == PF_RULE_SET ? k + 4 : NULL;
    return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pf_rule_text t[MAX_RULES];
    struct rules *r = NULL;
    char *text = xstrndup((const char *)data, size), *line, *save = NULL;
    size_t n = 0, i;
    int lineno = 0, keep[1];

    /* Config values are single lines without NUL bytes. */
    for (line = strtok_r(text, "\n", &save); line && n < MAX_RULES;
         line = strtok_r(NULL, "\n", &save))
        if (parse_line(line, ++lineno, &t[n]))
            n++;
    if (compile(t, n, &r) == 0) {
        apply_all(r, keep, NULL, NULL, 0);
        rules_free(r);
    }
    for (i = 0; i < n; i++)
        if (t[i].kind != PF_RULE_SET)
            check_duality(&t[i]);
    free(text);
    return 0;
}
