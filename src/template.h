/* template.h - feed templates: documents in their output format with
 * placeholders, compiled once, rendered by streaming rows.
 *
 * Ownership: tpl_load() returns a compiled template owned by the caller
 * (tpl_free). Rows handed to the engine by struct tpl_data belong to the
 * data provider and are valid only until its next call to next().
 */
#ifndef PF_TEMPLATE_H
#define PF_TEMPLATE_H

#include <stdint.h>

#include "out.h"
#include "util.h"
#include "value.h"

enum tpl_format { TPL_JSON = 0, TPL_NDJSON, TPL_XML };

struct tpl;

/* The data a template renders. Collections are opened by name
 * ("products", "variants", "categories", "orders", "customers"); each row
 * from next() is a scope object whose fields become variables, e.g.
 * {"product": {...}} or {"variant": {...}, "product": {...}}. */
struct tpl_data {
    void *ctx;
    const struct pf_obj *globals;   /* shop, now, feed */
    int (*open)(void *ctx, const char *collection, void **cursor,
                struct pf_err *err);
    /* 1: *row set; 0: end; -1: error in err. */
    int (*next)(void *ctx, void *cursor, const struct pf_obj **row,
                struct pf_err *err);
    void (*close)(void *ctx, void *cursor);
};

/* Parses and compiles path. Errors name path:line and what is wrong
 * (unknown filter, bad placeholder, bad PCRE2 pattern, bad @each). */
int tpl_load(const char *path, struct tpl **out, struct pf_err *err);
/* The same for a template already in memory: the len bytes at text (not
 * kept, need not end in a NUL) are compiled as if read from path, which
 * names the template in errors and, ending in ".xml", makes it XML. */
int tpl_load_mem(const char *path, const char *text, size_t len,
                 struct tpl **out, struct pf_err *err);
void tpl_free(struct tpl *t);
enum tpl_format tpl_get_format(const struct tpl *t);
/* Renders a JSON template whose root is an array of one "@each" object as
 * NDJSON instead (a feed's `format = ndjson`). -1 when the template has
 * another shape. */
int tpl_set_ndjson(struct tpl *t);
/* 1 if the template can emit personal data (customers, emails, names):
 * such feeds need a token unless made public on purpose. */
int tpl_uses_personal_data(const struct tpl *t);

/* The top-level collections t opens ("products", "orders", ...), each
 * once, in the order the template first uses them. */
size_t tpl_ncollections(const struct tpl *t);
const char *tpl_collection(const struct tpl *t, size_t i);
/* The variables a row of a collection binds, NULL-terminated ({"variant",
 * "product", NULL} for variants), as the feed builder makes the rows;
 * NULL for a collection the feed builder does not provide. */
const char *const *tpl_collection_vars(const char *collection);

/* Why rows can be left out. A row of a collection whose required field
 * (JSON "@require", XML pf:required) renders empty is not written; each
 * required field is one reason, "missing image_link", known once t is
 * compiled. Fields of the same name in rows of one collection share a
 * reason; when rows of several collections have requirements, the
 * collection is named too: "missing url (categories)". */
size_t tpl_nreasons(const struct tpl *t);
const char *tpl_reason(const struct tpl *t, size_t i);
/* 1 when an XML element field in namespace ns is required (pf:required),
 * e.g. Google's product data specification's g:link. */
int tpl_requires(const struct tpl *t, const char *ns, const char *field);

/* Renders t into o. *items counts top-level rows rendered (the feed's
 * item count). */
int tpl_render(const struct tpl *t, const struct tpl_data *d,
               struct pf_out *o, int64_t *items, struct pf_err *err);
/* The same, adding to left_out[i] (tpl_nreasons(t) counters, or NULL)
 * the rows left out for reason i. A row missing several required fields
 * counts once, under the first in the template's order. Nothing of a
 * left-out row reaches o. */
int tpl_render_counted(const struct tpl *t, const struct tpl_data *d,
                       struct pf_out *o, int64_t *items, int64_t *left_out,
                       struct pf_err *err);

/* One row at a time, for a caller that pulls its rows itself (a page of
 * a live endpoint, feed_window.h): a template after tpl_set_ndjson()
 * renders each row the way tpl_render() writes it as an NDJSON line,
 * without the newline. The tpl_rows borrows t and d (d's open, next and
 * close still serve the collections a row's object opens inside it);
 * tpl_rows_free() releases it. */
struct tpl_rows;
int tpl_rows_new(const struct tpl *t, const struct tpl_data *d,
                 struct tpl_rows **out, struct pf_err *err);
/* Renders the template's object for row (the scope object next() would
 * give, {"product": {...}}) to o. 1: written; 0: left out (a condition,
 * or a required field came out empty: nothing reached o); -1: error. */
int tpl_rows_render(struct tpl_rows *rr, const struct pf_obj *row,
                    struct pf_out *o, struct pf_err *err);
void tpl_rows_free(struct tpl_rows *rr);

#endif
