/* filter.h - template filters: "{{ path | name | name:arg:arg }}".
 *
 * A filter is parsed once when its template loads (arguments checked,
 * PCRE2 patterns compiled) and then applied to one value per row. Applying
 * is a small pure function of its input: the result either points into the
 * input, into the filter itself (default:'x'), or into the arena given to
 * filter_apply(); nothing else is allocated.
 *
 * Ownership: filter_parse() returns a filter owned by the caller
 * (filter_free). Values produced by filter_apply() are valid until the
 * arena is reset or the filter is freed, whichever comes first.
 */
#ifndef PF_FILTER_H
#define PF_FILTER_H

#include <stddef.h>

#include "util.h"
#include "value.h"

struct filter;

/* Parses one filter at the start of s (n bytes; need not be
 * NUL-terminated), e.g. "truncate:200:'...'" or "replace:/a(b)/$1/i".
 * Parsing stops before a '|' that is not inside a quoted argument or a
 * replace pattern, or at the end; *used gets the bytes consumed, including
 * surrounding spaces. On failure returns NULL and leaves a message without
 * location ("unknown filter 'strp_html' (did you mean 'strip_html'?)")
 * that the caller prefixes with its file:line. */
struct filter *filter_parse(const char *s, size_t n, size_t *used,
                            struct pf_err *err);
void filter_free(struct filter *f);

/* The filter's name ("truncate"). */
const char *filter_name(const struct filter *f);
/* The FIELD of map:FIELD, NULL for other filters. Lets the template tell
 * whether it reads personal fields through a map. */
const char *filter_map_field(const struct filter *f);

/* Applies f to in, writing the result to *out. Only replace can fail at
 * run time (PCRE2 match limits); the message names the filter. */
int filter_apply(const struct filter *f, const struct pf_value *in,
                 struct pf_arena *a, struct pf_value *out,
                 struct pf_err *err);

#endif
