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
    c->seek = ROWS_MERGE;
    c->bound = NULL;
    return rows_stmt_open(s, &c->st, sql, what, err);
}

int
rows_child_open(struct feed_data *d, struct cursor *c,
                const struct rows_sql *q, const char *what,
                struct pf_err *err)
{
    int seek = d->win_main ? d->child_seek : ROWS_MERGE;
    const char *sql;

    if (seek == ROWS_FROM && q->sorted)
        seek = ROWS_AT;
    sql = seek == ROWS_AT ? q->at : seek == ROWS_FROM ? q->from : q->merge;
    if (cur_open(d->store, c, sql, what, err) != 0)
        return -1;
    c->seek = seek;
    return 0;
}

/* Binds a named parameter if the statement has it. */
static void
bind_text(sqlite3_stmt *st, const char *name, const char *v)
{
    int i = sqlite3_bind_parameter_index(st, name);

    if (i > 0)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

int
rows_main_open(struct feed_data *d, struct cursor *c, const char *head,
               const char *table, const char *where, const char *what,
               struct pf_err *err)
{
    int win = d->win_main, after = win && d->win_after != NULL;
    int since = win && d->win_since != INT64_MIN;
    struct pf_buf b;
    int rc;

    /* With changed_since the few changed rows come from the changed_at
     * index and are sorted, instead of filtering the whole table. */
    pf_buf_init(&b);
    pf_buf_addf(&b, "%s %s", head, table);
    if (since)
        pf_buf_addf(&b, " INDEXED BY %s_changed", table);
    if (where != NULL || after || since)
        pf_buf_adds(&b, " WHERE ");
    if (where != NULL)
        pf_buf_adds(&b, where);
    if (after)
        pf_buf_addf(&b, "%sid > :after", where != NULL ? " AND " : "");
    if (since)
        pf_buf_addf(&b, "%schanged_at >= :since",
                    where != NULL || after ? " AND " : "");
    pf_buf_adds(&b, " ORDER BY id");
    rc = cur_open(d->store, c, b.data, what, err);
    pf_buf_free(&b);
    if (rc != 0)
        return -1;
    if (after)
        bind_text(c->st, ":after", d->win_after);
    if (since)
        sqlite3_bind_int64(c->st, sqlite3_bind_parameter_index(c->st,
                                                               ":since"),
                           d->win_since);
    return 0;
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
cur_start(struct cursor *c, struct pf_err *err)
{
    if (c->st == NULL || c->seek != ROWS_MERGE)
        return 0;
    return cur_step(c, err);
}

/* Restarts a seeking cursor's statement at key. */
static int
cur_rebind(struct cursor *c, const char *key, struct pf_err *err)
{
    free(c->bound);
    c->bound = xstrdup(key);
    sqlite3_reset(c->st);
    sqlite3_bind_text(c->st, 1, c->bound, -1, SQLITE_STATIC);
    return cur_step(c, err);
}

/* A seeking cursor more than this many rows behind its key looks the key
 * up instead of stepping on (rows of parents a window leaves out). */
#define SEEK_GAP 16

int
cur_seek(struct cursor *c, int keycol, const char *key, struct pf_err *err)
{
    int steps = 0;

    if (c->seek != ROWS_MERGE &&
        (c->bound == NULL ||
         (c->seek == ROWS_AT && strcmp(c->bound, key) != 0)) &&
        cur_rebind(c, key, err) != 0)
        return -1;
    while (c->has_row && strcmp(cur_col(c, keycol), key) < 0) {
        if (c->seek != ROWS_MERGE && ++steps > SEEK_GAP) {
            if (cur_rebind(c, key, err) != 0)
                return -1;
            break;
        }
        if (cur_step(c, err) != 0)
            return -1;
    }
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
    free(c->bound);
    c->bound = NULL;
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

