/* jsonw.h - streaming JSON writer over struct pf_out.
 *
 * Writes compact JSON text straight into the output buffer: strings are
 * scanned once and copied in runs between the bytes that need escaping, so
 * a feed costs no allocation per value. Output is always valid JSON and
 * valid UTF-8: each invalid input byte becomes U+FFFD (counted in
 * repaired), and U+2028/U+2029 are escaped so the text is also safe
 * inside JavaScript.
 *
 * The writer does not track structure (commas, nesting); callers emit
 * punctuation with pf_out_putc(). That keeps the writer usable for single
 * values and lets the template renderer decide what to omit.
 *
 * Ownership: struct jsonw borrows the pf_out; jsonw_free() frees only its
 * own scratch buffer.
 */
#ifndef PF_JSONW_H
#define PF_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include "out.h"
#include "util.h"
#include "value.h"

struct jsonw {
    struct pf_out *o;
    struct pf_buf tmp;      /* reused for money text */
    uint64_t repaired;      /* invalid UTF-8 bytes replaced */
    uint64_t bad_numbers;   /* PF_NUM values that were not JSON numbers */
};

void jsonw_init(struct jsonw *w, struct pf_out *o);
void jsonw_free(struct jsonw *w);

/* A quoted, escaped JSON string of the n bytes at s. */
void jsonw_str(struct jsonw *w, const char *s, size_t n);
/* A JSON integer. */
void jsonw_int(struct jsonw *w, int64_t i);
/* Any value: null, string, integer, true/false; lists as arrays, objects
 * as objects with their fields in order. PF_MONEY is a number with the
 * currency's fixed decimals (12.50), PF_TIME an ISO 8601 UTC string, and a
 * PF_NUM that is not a valid JSON number becomes null (counted in
 * bad_numbers). */
void jsonw_value(struct jsonw *w, const struct pf_value *v);

/* 1 if the n bytes at s are exactly one JSON number (RFC 8259 grammar). */
int jsonw_is_number(const char *s, size_t n);

/* Length of the well-formed UTF-8 sequence at s (1-4; strict: no
 * overlongs, surrogates or code points past U+10FFFF), or 0 when the bytes
 * there are not one. n must be >= 1. */
size_t jsonw_utf8_seq(const unsigned char *s, size_t n);

#endif
