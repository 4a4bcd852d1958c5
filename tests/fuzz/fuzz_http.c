/* fuzz_http.c - the HTTP request readers of serve_req.h.
 *
 * Input: any bytes. Up to the first NUL they are the value handed to
 * every reader (a path, a Range, If-None-Match, If-Range,
 * Accept-Encoding, a date, an Authorization value); the first four bytes
 * also give a representation size. Properties (abort() when violated):
 * - an accepted feed path is relative and has no empty, "." or ".."
 *   segment, no backslash and no control byte;
 * - an escaped NUL is reported exactly when the path holds "%00";
 * - a parsed range lies inside the representation, an unsatisfiable one
 *   only comes with a header that asks for bytes;
 * - gzip is accepted only when the value names gzip or "*"; an ETag
 *   matches only a value that holds it or "*"; If-Range only when the
 *   value is that very tag;
 * - a parsed date formats and parses back to itself;
 * - a Bearer credential is the value trimmed, and a Basic credential
 *   built from the value gives the value back, byte for byte.
 */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "serve_req.h"
#include "util.h"

static const char tag[] = "\"5d41402abc4b2a76\"";

static void
check(int ok)
{
    if (!ok)
        abort();
}

static void
check_path(const char *s)
{
    const char *seg = s, *p;

    if (!req_path_ok(s))
        return;
    check(*s != '\0' && *s != '/');
    for (p = s;; p++) {
        if (*p == '/' || *p == '\0') {
            size_t n = (size_t)(p - seg);

            check(n > 0 && !(n == 1 && seg[0] == '.') &&
                  !(n == 2 && seg[0] == '.' && seg[1] == '.'));
            if (*p == '\0')
                break;
            seg = p + 1;
        }
        check((unsigned char)*p >= 0x20 && *p != 0x7f && *p != '\\');
    }
}

static void
check_nul(const char *s)
{
    char *path = xstrdup(s), *q = strchr(path, '?');

    if (q != NULL)
        *q = '\0';
    check(req_raw_path_has_nul(s) == (strstr(path, "%00") != NULL));
    free(path);
}

static void
check_range(const char *s, int64_t size)
{
    int64_t a = -1, b = -1, a2 = -1, b2 = -1;
    enum req_range r = req_range_parse(s, size, &a, &b);

    check(req_range_parse(s, size, &a2, &b2) == r);
    if (r == REQ_RANGE_OK)
        check(0 <= a && a <= b && b < size && a == a2 && b == b2);
    if (r != REQ_RANGE_NONE)
        check(strncasecmp(s, "bytes=", 6) == 0);
}

static int
has_ci(const char *s, const char *needle)
{
    size_t n = strlen(needle);

    for (; *s != '\0'; s++)
        if (strncasecmp(s, needle, n) == 0)
            return 1;
    return 0;
}

static void
check_validators(const char *s)
{
    const char *p = s, *e;

    if (req_accepts_gzip(s))
        check(has_ci(s, "gzip") || strchr(s, '*') != NULL);
    if (req_etag_match(s, tag))
        check(strstr(s, tag) != NULL || strchr(s, '*') != NULL);
    if (req_if_range_ok(s, tag)) {
        while (*p == ' ' || *p == '\t')
            p++;
        e = p + strlen(p);
        while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        check((size_t)(e - p) == strlen(tag) &&
              memcmp(p, tag, strlen(tag)) == 0);
    }
}

static void
check_date(const char *s)
{
    int64_t t = req_parse_http_date(s);
    char out[40];

    if (t < 0)
        return;
    req_http_date(t, out);
    check(req_parse_http_date(out) == t);
}

static void
check_bearer(const char *s)
{
    char *hdr = xasprintf("Bearer %s", s), *got;
    size_t n;

    if (req_credential(hdr, &got, &n) == 0) {
        check(n > 0 && n == strlen(got) && got[0] != ' ' &&
              got[n - 1] != ' ' && strstr(s, got) != NULL);
        free(got);
    }
    free(hdr);
}

/* "Basic base64(u:DATA)" must give DATA back, NUL bytes and all. */
static void
check_basic(const uint8_t *data, size_t size)
{
    unsigned char *plain, *b64;
    char *hdr, *got;
    size_t n;
    int len;

    if (size > 2000)
        return;
    plain = xmalloc(size + 2);
    plain[0] = 'u';
    plain[1] = ':';
    if (size > 0)
        memcpy(plain + 2, data, size);
    b64 = xmalloc((size + 2) / 3 * 4 + 8);
    len = EVP_EncodeBlock(b64, plain, (int)(size + 2));
    hdr = xasprintf("Basic %.*s", len, (const char *)b64);
    check(req_credential(hdr, &got, &n) == 0);
    check(n == size && (size == 0 || memcmp(got, data, size) == 0));
    free(got);
    free(hdr);
    free(b64);
    free(plain);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = xmalloc(size + 1);
    int64_t len = 0;
    size_t i;

    if (size > 0)
        memcpy(s, data, size);
    s[size] = '\0';
    for (i = 0; i < 4 && i < size; i++)
        len = len << 8 | data[i];
    check_path(s);
    check_nul(s);
    check_range(s, len);
    check_range(s, 0);
    check_range(s, INT64_MAX);
    check_validators(s);
    check_date(s);
    check_bearer(s);
    check_basic(data, size);
    free(s);
    return 0;
}
