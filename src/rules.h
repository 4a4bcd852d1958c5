/* rules.h - per-feed include/exclude rules and field overrides.
 *
 *   include = product.brand == Acme and variant.price >= 5
 *   exclude = variant.sku ~ ^TEST- or product.brand == 'Old stock'
 *   set.product.condition = new
 *   set.product.google_product_category = {{product.attributes.gpc}}
 *
 * A row is kept when every include condition holds and no exclude
 * condition does (a value with " and " or " or " in it is quoted); then
 * each override sets its field (replacing a value the builder gave). A
 * condition or override judges only the rows that hold its object: a
 * product condition leaves a feed's orders and categories alone.
 * Conditions compare a path with a constant: ==, !=,
 * <, <=, >, >= (numbers compare as numbers, money exactly as decimals),
 * ~ and !~ (PCRE2). A list matches when any element does. An override is
 * a constant or one placeholder with filters, as in templates; a value
 * that holds the object being set (set.variant.x = {{variant}}) is
 * copied as it was before the set, so a row never contains itself.
 *
 * Ownership: rules_compile() returns a struct rules owned by the caller
 * (rules_free). The texts it was compiled from are not kept.
 */
#ifndef PF_RULES_H
#define PF_RULES_H

#include <stddef.h>

#include "util.h"
#include "value.h"

enum pf_rule_kind { PF_RULE_INCLUDE, PF_RULE_EXCLUDE, PF_RULE_SET };

/* A rule as the config file wrote it. */
struct pf_rule_text {
    enum pf_rule_kind kind;
    char *field;            /* PF_RULE_SET: "product.condition" */
    char *text;             /* the value after '=' */
    int line;               /* config line, for errors */
};

struct rules;

/* Errors read "FILE:LINE: include: ..." with file the config path (no
 * prefix when file is NULL). */
int rules_compile(const struct pf_rule_text *texts, size_t n,
                  const char *file, struct rules **out, struct pf_err *err);
/* Checks the rules against the rows a feed makes: rows[i] lists the
 * objects one kind of row holds, NULL-terminated ({"variant", "product",
 * NULL}). A condition must name an object some row holds; a set rule's
 * object must be in some row and the path it copies must start in one of
 * those rows (rules see only the row, not the template's globals). A rule
 * that fails this would silently never apply. Errors read "FILE:LINE:
 * set.product.x: ..." like rules_compile(). */
int rules_check_rows(const struct rules *r, const char *const *const *rows,
                     size_t nrows, const char *file, struct pf_err *err);
void rules_free(struct rules *r);
int rules_empty(const struct rules *r);

/* Checks the row's scope object ({product: ...} or {variant, product})
 * and applies the overrides into it (values allocated in a). Returns 1
 * to keep the row, 0 to drop it, -1 on a run-time error (a PCRE2 match
 * limit). */
int rules_apply(const struct rules *r, struct pf_obj *scope,
                struct pf_arena *a, struct pf_err *err);

#endif
