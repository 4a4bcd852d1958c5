/* serve_req.c - see serve_req.h. */
#include "serve_req.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "timeutil.h"
#include "util.h"

/* ---- paths -------------------------------------------------------------- */

int
req_path_ok(const char *rel)
{
    const char *p, *seg = rel;

    if (*rel == '\0' || *rel == '/')
        return 0;
    for (p = rel;; p++) {
        if (*p == '/' || *p == '\0') {
            size_t n = (size_t)(p - seg);

            if (n == 0 || (n == 1 && seg[0] == '.') ||
                (n == 2 && seg[0] == '.' && seg[1] == '.'))
                return 0;
            if (*p == '\0')
                return 1;
            seg = p + 1;
        }
        else if ((unsigned char)*p < 0x20 || *p == '\\' || *p == 0x7f) {
            return 0;
        }
    }
}

int
req_raw_path_has_nul(const char *raw)
{
    const char *p;

    for (p = raw; *p != '\0' && *p != '?'; p++)
        if (p[0] == '%' && p[1] == '0' && p[2] == '0')
            return 1;
    return 0;
}

/* ---- lists (section 5.6.1) ---------------------------------------------- */

static int
is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* The next element of a comma-separated list starting at *p, without
 * the OWS around it: [*s, *e). Empty elements are skipped. 0 at the end
 * of the list. Not for lists whose elements may hold commas. */
static int
next_elem(const char **p, const char **s, const char **e)
{
    const char *q = *p;

    for (;;) {
        while (is_ows(*q) || *q == ',')
            q++;
        if (*q == '\0') {
            *p = q;
            return 0;
        }
        *s = q;
        while (*q != ',' && *q != '\0')
            q++;
        *p = q;
        *e = q;
        while (*e > *s && is_ows((*e)[-1]))
            (*e)--;
        return 1;
    }
}

/* ---- ranges (section 14) ------------------------------------------------ */

/* 1*DIGIT at *p, saturating at INT64_MAX (a position past any file is
 * as good as infinite). 0 if there is no digit. */
static int
digits(const char **p, int64_t *v)
{
    const char *s = *p;
    int64_t n = 0;

    if (*s < '0' || *s > '9')
        return 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        int d = *s - '0';

        n = n > (INT64_MAX - d) / 10 ? INT64_MAX : n * 10 + d;
    }
    *p = s;
    *v = n;
    return 1;
}

/* One range-spec [s, e): int-range "A-" / "A-B" or suffix-range "-N".
 * *a = -1 for a suffix range, *b = -1 when open-ended. 0 if invalid,
 * including B < A (section 14.1.1). */
static int
range_spec(const char *s, const char *e, int64_t *a, int64_t *b)
{
    *a = -1;
    *b = -1;
    if (*s != '-' && !digits(&s, a))
        return 0;
    if (s >= e || *s != '-')
        return 0;
    s++;
    if (s < e && !digits(&s, b))
        return 0;
    if (s != e || (*a < 0 && *b < 0))
        return 0;
    return *a < 0 || *b < 0 || *b >= *a;
}

enum req_range
req_range_parse(const char *hdr, int64_t size, int64_t *first,
                int64_t *last)
{
    const char *p, *s = NULL, *e = NULL, *s1 = NULL, *e1 = NULL;
    int64_t a, b;
    int n = 0;

    if (hdr == NULL || strncasecmp(hdr, "bytes=", 6) != 0)
        return REQ_RANGE_NONE;
    p = hdr + 6;
    while (next_elem(&p, &s, &e)) {
        if (++n > 1)
            return REQ_RANGE_NONE;      /* a list: send it all */
        s1 = s;
        e1 = e;
    }
    if (n == 0 || !range_spec(s1, e1, &a, &b))
        return REQ_RANGE_NONE;
    if (a < 0) {
        /* The last b bytes; all of them if the file is shorter
         * (section 14.1.3). A zero length selects nothing. */
        if (b == 0 || size <= 0)
            return REQ_RANGE_UNSATISFIABLE;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return REQ_RANGE_OK;
    }
    if (a >= size)
        return REQ_RANGE_UNSATISFIABLE;
    *first = a;
    *last = b < 0 || b >= size ? size - 1 : b;
    return REQ_RANGE_OK;
}

/* ---- validators (section 13.1) ------------------------------------------ */

int
req_if_range_ok(const char *if_range, const char *etag)
{
    const char *s = if_range, *e;
    size_t n = strlen(etag);

    if (s == NULL)
        return 0;
    while (is_ows(*s))
        s++;
    e = s + strlen(s);
    while (e > s && is_ows(e[-1]))
        e--;
    /* A weak tag or a date starts otherwise and never matches. */
    return *s == '"' && (size_t)(e - s) == n && memcmp(s, etag, n) == 0;
}

int
req_etag_match(const char *inm, const char *etag)
{
    const char *p = inm, *tag;
    size_t n;

    if (strncmp(etag, "W/", 2) == 0)
        etag += 2;
    n = strlen(etag);
    /* entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, and etagc may be a
     * comma, so each tag is read up to its closing quote. */
    while (*p != '\0') {
        while (is_ows(*p) || *p == ',')
            p++;
        if (*p == '*')
            return 1;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (*p != '"')
            break;              /* not a list of tags: no match */
        tag = p++;
        while (*p != '\0' && *p != '"')
            p++;
        if (*p != '"')
            break;
        p++;
        if ((size_t)(p - tag) == n && memcmp(tag, etag, n) == 0)
            return 1;
        while (*p != '\0' && *p != ',')
            p++;
    }
    return 0;
}

/* ---- content coding (section 12.5.3) ------------------------------------ */

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), as
 * thousandths (section 12.4.2); -1 if malformed. */
static int
qvalue(const char *s, const char *e)
{
    int v, i;

    if (s >= e || (*s != '0' && *s != '1'))
        return -1;
    v = (*s - '0') * 1000;
    if (++s == e)
        return v;
    if (*s++ != '.')
        return -1;
    for (i = 0; i < 3 && s < e && *s >= '0' && *s <= '9'; i++, s++)
        v += (*s - '0') * (i == 0 ? 100 : i == 1 ? 10 : 1);
    return s == e && v <= 1000 ? v : -1;
}

/* The weight of one Accept-Encoding element [s, e) whose coding ends at
 * c: 1000 without parameters, -1 if a parameter is malformed. */
static int
weight(const char *c, const char *e)
{
    int w = 1000;

    while (c < e) {
        const char *ps, *pe;

        while (c < e && is_ows(*c))
            c++;
        if (c == e)
            break;
        if (*c++ != ';')
            return -1;
        while (c < e && is_ows(*c))
            c++;
        ps = c;
        while (c < e && *c != ';')
            c++;
        pe = c;
        while (pe > ps && is_ows(pe[-1]))
            pe--;
        if (pe - ps < 2 || (ps[0] != 'q' && ps[0] != 'Q') || ps[1] != '=')
            return -1;
        w = qvalue(ps + 2, pe);
        if (w < 0)
            return -1;
    }
    return w;
}

int
req_accepts_gzip(const char *ae)
{
    const char *p = ae, *s, *e, *c;
    int gzip_w = -1, star_w = -1, w;
    size_t n;

    if (ae == NULL)
        return 0;
    while (next_elem(&p, &s, &e)) {
        for (c = s; c < e && *c != ';' && !is_ows(*c); c++)
            ;
        n = (size_t)(c - s);
        w = weight(c, e);
        if (w < 0)
            continue;
        if ((n == 4 && strncasecmp(s, "gzip", 4) == 0) ||
            (n == 6 && strncasecmp(s, "x-gzip", 6) == 0))
            gzip_w = w;
        else if (n == 1 && *s == '*')
            star_w = w;
    }
    return gzip_w >= 0 ? gzip_w > 0 : star_w > 0;
}

/* ---- dates (section 5.6.7) ---------------------------------------------- */

void
req_http_date(int64_t t, char out[40])
{
    static const char *const wd[] = {"Thu", "Fri", "Sat", "Sun", "Mon",
                                     "Tue", "Wed"};
    static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May",
                                      "Jun", "Jul", "Aug", "Sep", "Oct",
                                      "Nov", "Dec"};
    char iso[32];
    int64_t days = (t >= 0 ? t : t - 86399) / 86400;
    int m;

    pf_time_iso_utc(t, iso);
    m = (iso[5] - '0') * 10 + (iso[6] - '0');
    if (m < 1 || m > 12)
        m = 1;
    snprintf(out, 40, "%s, %.2s %s %.4s %.8s GMT",
             wd[((days % 7) + 7) % 7], iso + 8, mon[m - 1], iso, iso + 11);
}

int64_t
req_parse_http_date(const char *v)
{
    static const char mons[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char mon[4], iso[32];
    const char *p;
    int d, y, hh, mm, ss, n = 0;
    int64_t t;

    if (v == NULL || (p = strchr(v, ',')) == NULL)
        return -1;
    if (sscanf(p + 1, " %2d %3s %4d %2d:%2d:%2d GMT%n", &d, mon, &y, &hh,
               &mm, &ss, &n) != 6 || n == 0)
        return -1;
    p = strstr(mons, mon);
    if (strlen(mon) != 3 || p == NULL || (p - mons) % 3 != 0)
        return -1;
    snprintf(iso, sizeof iso, "%04d-%02d-%02dT%02d:%02d:%02dZ", y,
             (int)((p - mons) / 3) + 1, d, hh, mm, ss);
    if (pf_time_parse(iso, &t, NULL) != 0)
        return -1;
    return t;
}

/* ---- credentials (section 11) ------------------------------------------- */

static int
bearer(const char *t, char **out, size_t *n)
{
    size_t len;

    while (*t == ' ')
        t++;
    len = strlen(t);
    while (len > 0 && t[len - 1] == ' ')
        len--;
    if (len == 0)
        return -1;
    *out = xstrndup(t, len);
    *n = len;
    return 0;
}

/* RFC 7617: base64 of user-id ":" password; the password is the token. */
static int
basic(const char *t, char **out, size_t *n)
{
    unsigned char *dec;
    const unsigned char *colon;
    size_t len, cap, pad = 0;
    int got;

    while (*t == ' ')
        t++;
    len = strlen(t);
    while (len > 0 && t[len - 1] == ' ')
        len--;
    if (len == 0 || len > 4096 || len % 4 != 0)
        return -1;
    cap = len / 4 * 3 + 1;
    dec = xmalloc(cap);
    got = EVP_DecodeBlock(dec, (const unsigned char *)t, (int)len);
    if (t[len - 1] == '=')
        pad = t[len - 2] == '=' ? 2 : 1;
    colon = got >= (int)pad ? memchr(dec, ':', (size_t)got - pad) : NULL;
    if (colon != NULL) {
        *n = (size_t)got - pad - (size_t)(colon + 1 - dec);
        *out = xmalloc(*n + 1);
        memcpy(*out, colon + 1, *n);
        (*out)[*n] = '\0';
    }
    OPENSSL_cleanse(dec, cap);
    free(dec);
    return colon != NULL ? 0 : -1;
}

int
req_credential(const char *auth, char **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (auth == NULL)
        return -1;
    /* The scheme is case-insensitive (section 11.1). */
    if (strncasecmp(auth, "Bearer ", 7) == 0)
        return bearer(auth + 7, out, n);
    if (strncasecmp(auth, "Basic ", 6) == 0)
        return basic(auth + 6, out, n);
    return -1;
}
