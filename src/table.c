/* table.c - plain-text tables whose columns fit their widest cell. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "util.h"

struct table_rowdef {
    int kind;
    const char *indent, *align;
    size_t first, n;        /* its cells: cells[first .. first + n) */
};

struct table {
    char **cells;
    size_t ncells, cells_cap;
    struct table_rowdef *rows;
    size_t nrows, rows_cap;
};

struct table *
table_new(void)
{
    return xcalloc(1, sizeof(struct table));
}

void
table_row(struct table *t, int kind, const char *indent, const char *align)
{
    struct table_rowdef *r;

    if (t->nrows == t->rows_cap) {
        t->rows_cap = t->rows_cap ? 2 * t->rows_cap : 16;
        t->rows = xrealloc(t->rows, t->rows_cap * sizeof(*t->rows));
    }
    r = &t->rows[t->nrows++];
    /* A kind out of range would index past the widths: clamp it. */
    r->kind = kind < 0 || kind >= TABLE_KINDS ? 0 : kind;
    r->indent = indent ? indent : "";
    r->align = align ? align : "";
    r->first = t->ncells;
    r->n = 0;
}

void
table_cell(struct table *t, const char *fmt, ...)
{
    va_list ap;
    char *cell;
    int n;

    if (t->nrows == 0)
        table_row(t, 0, "", "");
    if (t->ncells == t->cells_cap) {
        t->cells_cap = t->cells_cap ? 2 * t->cells_cap : 64;
        t->cells = xrealloc(t->cells, t->cells_cap * sizeof(*t->cells));
    }
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    /* Only a bad format fails; an empty cell keeps the columns. */
    cell = xmalloc(n > 0 ? (size_t)n + 1 : 1);
    cell[0] = '\0';
    if (n > 0) {
        va_start(ap, fmt);
        vsnprintf(cell, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    t->cells[t->ncells++] = cell;
    t->rows[t->nrows - 1].n++;
}

/* Characters, not bytes: UTF-8 continuation bytes take no column. */
static size_t
text_width(const char *s)
{
    size_t w = 0;

    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static void
pad(FILE *f, size_t n)
{
    while (n-- > 0)
        fputc(' ', f);
}

/* The widest cell of every column of every kind: widths[kind * ncols +
 * col]. Caller frees. */
static size_t *
measure(const struct table *t, size_t *ncols)
{
    size_t i, k, *w;

    *ncols = 1;
    for (i = 0; i < t->nrows; i++)
        if (t->rows[i].n > *ncols)
            *ncols = t->rows[i].n;
    w = xcalloc(TABLE_KINDS * *ncols, sizeof(*w));
    for (i = 0; i < t->nrows; i++) {
        const struct table_rowdef *r = &t->rows[i];

        for (k = 0; k < r->n; k++) {
            size_t *col = &w[(size_t)r->kind * *ncols + k];
            size_t cw = text_width(t->cells[r->first + k]);

            if (cw > *col)
                *col = cw;
        }
    }
    return w;
}

void
table_print(const struct table *t, FILE *f)
{
    size_t ncols, i, k;
    size_t *w = measure(t, &ncols);

    for (i = 0; i < t->nrows; i++) {
        const struct table_rowdef *r = &t->rows[i];
        size_t alen = strlen(r->align);

        fputs(r->indent, f);
        for (k = 0; k < r->n; k++) {
            const char *cell = t->cells[r->first + k];
            size_t gap = w[(size_t)r->kind * ncols + k] - text_width(cell);
            int right = k < alen && r->align[k] == 'r';

            if (k > 0)
                fputs("  ", f);
            if (right)
                pad(f, gap);
            fputs(cell, f);
            if (!right && k + 1 < r->n)
                pad(f, gap);
        }
        fputc('\n', f);
    }
    free(w);
}

void
table_free(struct table *t)
{
    size_t i;

    if (t == NULL)
        return;
    for (i = 0; i < t->ncells; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t->rows);
    free(t);
}
