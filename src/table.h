/* table.h - plain-text tables for people: every column as wide as its
 * widest cell, so feed names, paths and counts of any length line up.
 *
 * Rows are kept until table_print(), which measures them all first.
 * Each row has a kind, a small number chosen by the caller; rows of one
 * kind share column widths and rows of other kinds do not, so one table
 * can interleave, say, runs and the rows per stream listed under each
 * run. Widths count UTF-8 characters, not bytes (a wide CJK character
 * counts as one).
 *
 * Ownership: the table owns a copy of every cell (table_free). The
 * indent and align strings given to table_row() are kept by pointer:
 * pass string literals.
 */
#ifndef PF_TABLE_H
#define PF_TABLE_H

#include <stdio.h>

struct table;

struct table *table_new(void);
/* Starts a row. kind: 0 .. TABLE_KINDS - 1. indent is printed before the
 * row as is. align has one letter per column, 'l' (left) or 'r' (right);
 * columns past its end are left-aligned. */
#define TABLE_KINDS 8
void table_row(struct table *t, int kind, const char *indent,
               const char *align);
/* Appends a cell to the current row (there must be one). */
void table_cell(struct table *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Writes every row in the order added, cells two spaces apart. A row's
 * last cell gets no trailing padding. */
void table_print(const struct table *t, FILE *f);
void table_free(struct table *t);

#endif
