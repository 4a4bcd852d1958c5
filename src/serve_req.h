/* serve_req.h - what an HTTP request asks for, read from its text: the
 * feed path, the byte range, the codings it accepts, its validators and
 * its credential. Pure functions over strings (no sockets, no MHD), so
 * they are unit-tested and fuzzed on their own (tests/fuzz/fuzz_http.c).
 *
 * Section numbers are those of RFC 9110 (HTTP Semantics).
 *
 * Ownership: req_credential() returns a buffer the caller cleanses and
 * frees; nothing else allocates or keeps a pointer.
 */
#ifndef PF_SERVE_REQ_H
#define PF_SERVE_REQ_H

#include <stddef.h>
#include <stdint.h>

/* 1 if rel (a request path below /feeds/, already percent-decoded) could
 * name a published file: relative, no empty, "." or ".." segment, no
 * backslash or control byte. */
int req_path_ok(const char *rel);

/* 1 if the path of a raw request target (as sent, before decoding; a
 * query after '?' is not looked at) contains an escaped NUL, "%00".
 * Decoding would cut the path there, so such a request is refused
 * rather than served as a shorter path. */
int req_raw_path_has_nul(const char *raw);

/* A Range header (section 14.2) against a representation of `size`
 * bytes. Only a single range of unit "bytes" is taken; anything else,
 * including a list of ranges or bad syntax, is REQ_RANGE_NONE: the
 * header is ignored and the whole representation is sent, which section
 * 14.2 allows. On REQ_RANGE_OK, 0 <= *first <= *last < size. */
enum req_range {
    REQ_RANGE_NONE,
    REQ_RANGE_OK,
    REQ_RANGE_UNSATISFIABLE     /* 416 (section 15.5.17) */
};
enum req_range req_range_parse(const char *hdr, int64_t size,
                               int64_t *first, int64_t *last);

/* 1 if an If-Range value (section 13.1.5) lets a range request through
 * for the representation whose strong entity tag (with its quotes) is
 * etag: only the identical strong tag does. A date never does: whether
 * the client's Last-Modified was a strong validator cannot be known, and
 * a false "no" only costs a full response. */
int req_if_range_ok(const char *if_range, const char *etag);

/* 1 if an If-None-Match list (section 13.1.2) matches etag by the weak
 * comparison (W/ ignored), or is "*". */
int req_etag_match(const char *inm, const char *etag);

/* 1 if Accept-Encoding (section 12.5.3) accepts gzip: "gzip" or
 * "x-gzip" with a non-zero weight, or else "*" with one. An element with
 * a malformed weight is skipped, so doubt means identity. */
int req_accepts_gzip(const char *ae);

/* IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", section 5.6.7). */
void req_http_date(int64_t t, char out[40]);
/* The epoch of an IMF-fixdate; -1 if v is NULL or not one. */
int64_t req_parse_http_date(const char *v);

/* The secret an Authorization value carries: the token of "Bearer T"
 * (spaces around it trimmed) or the password of "Basic base64(user:pw)".
 * 0 with *out (n bytes, NUL-terminated; may contain NUL bytes) for the
 * caller to cleanse and free; -1 if there is none. */
int req_credential(const char *auth, char **out, size_t *n);

#endif
