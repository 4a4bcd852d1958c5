/* fake_shop.h - a small fixed shop behind a struct tpl_data, shared by
 * the template unit tests and the fuzz harnesses.
 *
 * The rows have the shapes feed.c builds (see template.c's
 * collection_vars), with the awkward cases a feed must survive: empty
 * strings and lists, a repeated attribute name, money in a zero-decimal
 * currency, negative amounts, markup, control characters, invalid UTF-8,
 * U+FFFE, U+2028, CJK and an emoji.
 *
 * Products, by index i % 3 (ids p1, p2, p3, ...):
 *   0  "Chair": every field, two variants (v1 in stock, v2 not), tags,
 *      images, attributes (with "color" twice and an empty one), options
 *   1  "Table": inactive, and every optional field empty
 *   2  hostile text in name and description, price -500 JPY
 * Collections: products (nproducts rows), variants ({variant, product}
 * per variant of each product), categories, orders, customers and events
 * (2 rows each). Any other collection fails to open.
 *
 * Ownership: the struct fake_shop owns every row; a row is valid until
 * the next fake_shop_row() or next() call, as for the real provider.
 * Cursors are freed by close(). fake_shop_free() releases the rest.
 */
#ifndef PF_FAKE_SHOP_H
#define PF_FAKE_SHOP_H

#include "template.h"
#include "util.h"
#include "value.h"

struct fake_shop {
    struct pf_arena rows;       /* the current row; reset per row */
    struct pf_arena garena;     /* globals */
    struct pf_obj *globals;     /* shop, now, feed */
    long nproducts;             /* default 3 */
    int opened, closed;         /* cursors, to check they are paired */
    long fail_next_at;          /* next() fails on this row; -1 never */
};

/* Sets up the shop and points d at it. */
void fake_shop_init(struct fake_shop *f, struct tpl_data *d);
void fake_shop_free(struct fake_shop *f);

/* Row i of a collection, built afresh in f->rows (the previous row is
 * dropped); NULL past the last row or for an unknown collection. The row
 * is writable: rules_apply() may set fields in it. */
struct pf_obj *fake_shop_row(struct fake_shop *f, const char *collection,
                             long i);

/* Checks for harnesses and tests: 1 when the n bytes at s are one JSON
 * text that yajl accepts; 1 when v, written by jsonw, is. */
int fake_json_parses(const char *s, size_t n);
int fake_value_json_parses(const struct pf_value *v);

#endif
