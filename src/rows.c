/* rows.c - see rows.h: store cursors and the values rows are made of. */
#include "rows.h"

#include <cjson/cJSON.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

/* ---- merge cursors ------------------------------------------------------ */

int
rows_stmt_open(struct store *s, sqlite3_stmt **st, const char *sql,
               const char *what, struct pf_err *err)
{
    if (sqlite3_prepare_v2(store_db(s), sql, -1, st, NULL) != SQLITE_OK) {
        pf_errf(err, "store: preparing to read %s: %s", what,
                sqlite3_errmsg(store_db(s)));
        *st = NULL;
        return -1;
    }
    return 0;
}

int
cur_open(struct store *s, struct cursor *c, const char *sql,
         const char *what, struct pf_err *err)
{
    c->s = s;
    c->what = what;
    c->has_row = 0;
    return rows_stmt_open(s, &c->st, sql, what, err);
}

int
cur_step(struct cursor *c, struct pf_err *err)
{
    int rc = store_step(c->s, c->st, err, "reading %s", c->what);

    c->has_row = rc == 1;
    return rc < 0 ? -1 : 0;
}

const char *
cur_col(struct cursor *c, int i)
{
    const char *s = (const char *)sqlite3_column_text(c->st, i);

    return s ? s : "";
}

int
cur_seek(struct cursor *c, int keycol, const char *key, struct pf_err *err)
{
    while (c->has_row && strcmp(cur_col(c, keycol), key) < 0)
        if (cur_step(c, err) != 0)
            return -1;
    return c->has_row && strcmp(cur_col(c, keycol), key) == 0;
}

int
cur_next(struct cursor *c, int keycol, const char *key, struct pf_err *err)
{
    if (cur_step(c, err) != 0)
        return -1;
    return cur_seek(c, keycol, key, err);
}

void
cur_close(struct cursor *c)
{
    sqlite3_finalize(c->st);
    c->st = NULL;
}

/* ---- row values --------------------------------------------------------- */

/* Links from the source may be relative to the shop. */
struct pf_value
rows_url(struct feed_data *d, const char *u)
{
    const char *base = d->cfg->shop_url;

    if (u == NULL || u[0] == '\0')
        return pf_v_null();
    if (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0 ||
        base == NULL) {
        return pf_v_str(&d->row, u);
    }
    while (*u == '/')
        u++;
    {
        size_t nb = strlen(base), nu = strlen(u);
        char *s = pf_arena_alloc(&d->row, nb + nu + 2);
        struct pf_value v = pf_v_null();

        memcpy(s, base, nb);
        s[nb] = '/';
        memcpy(s + nb + 1, u, nu + 1);
        v.type = PF_STR;
        v.u.str.s = s;
        v.u.str.len = nb + nu + 1;
        return v;
    }
}

struct pf_value
rows_text(struct feed_data *d, struct cursor *c, int i)
{
    const char *s = (const char *)sqlite3_column_text(c->st, i);

    if (s == NULL || s[0] == '\0')
        return pf_v_null();
    return pf_v_strn(&d->row, s, (size_t)sqlite3_column_bytes(c->st, i));
}

struct pf_value
rows_properties(struct feed_data *d, struct cursor *c, int i)
{
    const char *s = (const char *)sqlite3_column_text(c->st, i);
    cJSON *doc = s != NULL ? cJSON_Parse(s) : NULL;
    const cJSON *x;
    struct pf_obj *o;
    char num[64];

    if (!cJSON_IsObject(doc) || doc->child == NULL) {
        cJSON_Delete(doc);
        return pf_v_null();
    }
    o = pf_obj_new(&d->row);
    cJSON_ArrayForEach(x, doc) {
        const char *name = pf_arena_strdup(&d->row, x->string);

        if (cJSON_IsBool(x))
            rows_set(d, o, name, pf_v_bool(cJSON_IsTrue(x)));
        else if (cJSON_IsString(x))
            rows_set(d, o, name, pf_v_str(&d->row, x->valuestring));
        else if (cJSON_IsNumber(x) && x->valuedouble == (double)(int64_t)
                 x->valuedouble)
            rows_set(d, o, name, pf_v_int((int64_t)x->valuedouble));
        else if (cJSON_IsNumber(x)) {
            snprintf(num, sizeof(num), "%.15g", x->valuedouble);
            rows_set(d, o, name, pf_v_str(&d->row, num));
        }
    }
    cJSON_Delete(doc);
    return pf_v_obj(o);
}

/* A stored time, or null when there is none or it is outside the range
 * timeutil handles (a bad import): empty in the feed, never garbage. */
struct pf_value
rows_time(struct cursor *c, int i)
{
    int64_t t;

    if (sqlite3_column_type(c->st, i) == SQLITE_NULL)
        return pf_v_null();
    t = sqlite3_column_int64(c->st, i);
    return pf_time_in_range(t) ? pf_v_time(t) : pf_v_null();
}

void
rows_set(struct feed_data *d, struct pf_obj *o, const char *name,
         struct pf_value v)
{
    pf_obj_set(&d->row, o, name, v);
}

/* Nearly every amount is in the shop's currency: skip the table. */
int
rows_decimals(const struct feed_data *d, const char *code)
{
    if (strcmp(code, d->cfg->currency) == 0)
        return d->shop_decimals;
    return pf_currency_decimals(code);
}

/* ---- lists -------------------------------------------------------------- */

void
vl_add(struct vlist *l, struct pf_value v)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->items = xrealloc(l->items, l->cap * sizeof(*l->items));
    }
    l->items[l->n++] = v;
}

void
vl_fill_gaps(struct vlist *l)
{
    static const struct pf_value blank = {PF_STR, {.str = {"", 0}}};
    size_t i, filled = 0;

    for (i = 0; i < l->n; i++)
        filled += !pf_value_is_empty(&l->items[i]);
    if (filled == 0) {
        l->n = 0;
        return;
    }
    for (i = 0; i < l->n; i++)
        if (l->items[i].type == PF_NULL)
            l->items[i] = blank;
}

struct pf_value
vl_value(struct feed_data *d, struct vlist *l)
{
    struct pf_value v = pf_v_list(&d->row, l->n);

    if (l->n > 0)
        memcpy(v.u.list.items, l->items, l->n * sizeof(*l->items));
    l->n = 0;
    return v;
}

int
vl_has_str(const struct vlist *l, const char *s)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        if (l->items[i].type == PF_STR && strcmp(l->items[i].u.str.s, s) == 0)
            return 1;
    return 0;
}

