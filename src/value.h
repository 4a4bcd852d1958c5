/* value.h - typed values passed from the feed builder to the templates.
 *
 * A row (one product, one order, ...) is a struct pf_obj: an ordered list of
 * named, typed values. Rows, their strings and their nested lists all live
 * in one struct pf_arena that the builder resets after the row is rendered,
 * so memory is bounded by the largest single row, never by the catalog.
 *
 * Ownership: values never own memory; the arena that built them does.
 * Strings are valid UTF-8 and NUL-terminated (len excludes the NUL).
 */
#ifndef PF_VALUE_H
#define PF_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum pf_type {
    PF_NULL = 0,
    PF_STR,
    PF_INT,     /* u.i */
    PF_NUM,     /* u.num: decimal number kept as text, e.g. "4.5" */
    PF_MONEY,   /* u.money: integer minor units + decimals + currency */
    PF_BOOL,    /* u.i: 0 or 1 */
    PF_TIME,    /* u.i: UTC epoch seconds */
    PF_LIST,    /* u.list */
    PF_OBJ      /* u.obj */
};

struct pf_obj;

struct pf_value {
    enum pf_type type;
    union {
        struct {
            const char *s;
            size_t len;
        } str;      /* PF_STR and PF_NUM */
        int64_t i;
        struct {
            int64_t minor;
            int decimals;          /* 2 for EUR, 0 for JPY */
            const char *currency;  /* ISO 4217, may be NULL */
        } money;
        struct {
            struct pf_value *items;
            size_t n;
        } list;
        struct pf_obj *obj;
    } u;
};

struct pf_field {
    const char *name;
    struct pf_value v;
};

struct pf_obj {
    struct pf_field *fields;
    size_t n, cap;
};

/* Constructors. Strings are copied into the arena. */
struct pf_value pf_v_null(void);
struct pf_value pf_v_str(struct pf_arena *a, const char *s);
struct pf_value pf_v_strn(struct pf_arena *a, const char *s, size_t n);
struct pf_value pf_v_int(int64_t i);
struct pf_value pf_v_bool(int b);
struct pf_value pf_v_time(int64_t epoch);
struct pf_value pf_v_money(int64_t minor, int decimals, const char *currency);
/* A list of n items, all PF_NULL, to be filled in by the caller. */
struct pf_value pf_v_list(struct pf_arena *a, size_t n);
struct pf_value pf_v_obj(struct pf_obj *o);

struct pf_obj *pf_obj_new(struct pf_arena *a);
/* Appends (does not replace). The name is borrowed, not copied: pass a
 * literal or a string that lives as long as the arena (pf_arena_strdup). */
void pf_obj_set(struct pf_arena *a, struct pf_obj *o, const char *name,
                struct pf_value v);
/* First field with that name, or NULL. */
const struct pf_value *pf_obj_get(const struct pf_obj *o, const char *name);
/* The same, trying index *hint first and remembering where the name was
 * found: rows of one collection share a field order, so a template's
 * lookups hit at once. */
const struct pf_value *pf_obj_get_hint(const struct pf_obj *o,
                                       const char *name, size_t *hint);
/* Follows a dotted path ("shop.name", "variant.options.Size"); NULL when any
 * step is missing or not an object. */
const struct pf_value *pf_obj_path(const struct pf_obj *o, const char *path);

/* Empty means: null, "", an empty list, or an object with no fields. Empty
 * values are omitted from feeds. */
int pf_value_is_empty(const struct pf_value *v);

/* Renders a scalar as text (money with fixed decimals, time as ISO 8601
 * UTC, bool as true/false) into b; lists and objects render nothing and
 * return -1. C locale always. */
int pf_value_to_text(const struct pf_value *v, struct pf_buf *b);

/* Money: minor units to fixed-decimal text in the C locale ("1250" with 2
 * decimals -> "12.50"). Appends to b. */
void pf_money_format(struct pf_buf *b, int64_t minor, int decimals);
/* Parses a decimal amount ("12.5", "-3", "0.125" rejected when more
 * decimals than the currency has) into minor units. */
int pf_money_parse(const char *s, int decimals, int64_t *minor,
                   struct pf_err *err);
/* ISO 4217 minor-unit count (EUR 2, JPY 0, KWD 3); 2 when unknown. */
int pf_currency_decimals(const char *code);

#endif
