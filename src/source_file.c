/* source_file.c - the file source: a folder of NDJSON files, one per entity,
 * in posfeed's neutral model. See source_file.h and docs/file-source.md.
 *
 * Each file is read line by line through ndjson.h (files can be hundreds
 * of MB; a line is capped), parsed with cJSON one row at a time,
 * validated field by field and upserted, all in one transaction together
 * with the file's bookmark. Row-local memory comes from an arena that is
 * reset after every row, so a row costs cJSON's own allocations and
 * nothing else. Whether the file was complete and sound is decided at its
 * end, before anything is removed from the store.
 */
#include "source_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "log.h"
#include "ndjson.h"
#include "source.h"
#include "sync.h"
#include "timeutil.h"
#include "value.h"

#define MAX_FIELDS 20
#define MAX_UNKNOWN 64          /* distinct unknown names warned per file */
#define SHOWN_VALUE 40          /* bytes of a bad value quoted in warnings */

enum row_result { ROW_FAIL = -1, ROW_OK = 0, ROW_BAD = 1 };

struct fspec {
    const char *name;
    int required;
};

struct imp;

/* One entity file. deps names the entities whose import forces this file
 * to be re-read even when its own bookmark is unchanged: rows that were
 * refused for a missing reference may be valid now, and rows removed by a
 * cascade must not come back from a stale skip. */
struct entity {
    const char *stream;
    const char *file;
    const struct fspec *fields;
    int nfields;
    int key[2];                 /* field index of the key; key[1] < 0: one */
    int (*row)(struct imp *im);
    const char *snapshot_sql;   /* deletes rows not seen in the file */
    const char *missing_sql;    /* counts them, before deciding */
    const char *listed_sql;     /* counts the keys the file lists */
    const char *total_sql;      /* counts the table's rows */
    unsigned deps;
};

/* A reference checked against the store, remembered while the next rows
 * keep pointing at the same id (stock rows come grouped by variant, order
 * lines by order). */
struct ref_cache {
    char *id;
    int found;
    char currency[8];
};

struct imp {
    struct store *s;
    struct sync_report *rep;
    const struct source_file_opts *o;
    const struct entity *ent;
    const char *path;
    long line;

    cJSON *slot[MAX_FIELDS];
    unsigned taint[MAX_FIELDS]; /* NDJSON_* flags of each slot's member */
    struct ndjson_marks marks;  /* of the current line */
    int next_guess;
    const char *key[2];

    struct pf_arena arena;      /* per row */
    struct pf_buf tmp;          /* UTF-8 repair scratch */
    const char *utf8_field;     /* first repaired field of the row */
    const char *surr_field;     /* first field with a repaired surrogate */
    const char *ctrl_field;     /* first field that lost characters */
    long ctrl_dropped;

    /* Lines that break the file's soundness: not an object with a
     * readable key. The first one is named when the file is held. */
    long bad_lines, first_bad;
    char first_bad_why[160];
    size_t max_line;

    char *unknown[MAX_UNKNOWN];
    int nunknown;

    struct ref_cache refs[2];
    long rows, warnings;
    /* Rows refused after their key was read: their key may name no
     * stored row, so the listed keys do not all name one. */
    long refused;
};

/* ---- warnings ----------------------------------------------------------- */

static void
warnf(struct imp *im, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A warning quotes values from the file (a parser's message may hold the
 * raw text), so it is repaired to valid UTF-8 on one line, and cut at a
 * character boundary short of sync_warn's own limit. */
static void
warnf(struct imp *im, const char *fmt, ...)
{
    char msg[1024];
    struct pf_buf b;
    va_list ap;
    size_t i;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pf_buf_init(&b);
    pf_utf8_repair(&b, msg, strlen(msg));
    for (i = 0; i < b.len; i++)
        if ((unsigned char)b.data[i] < 0x20 || b.data[i] == 0x7F)
            b.data[i] = '?';
    if (b.len > 1000) {
        i = 1000;
        while (i > 0 && ((unsigned char)b.data[i] & 0xC0) == 0x80)
            i--;
        b.data[i] = '\0';
    }
    im->warnings++;
    if (im->rep != NULL)
        sync_warn(im->rep, im->ent->stream, "%s", b.data);
    else
        log_warn("%s", b.data);
    pf_buf_free(&b);
}

/* s quoted with mark for a warning: cut at a character boundary, invalid
 * UTF-8 repaired and control characters masked, so a hostile value cannot
 * garble the log line. */
static const char *
quote(struct imp *im, const char *s, char mark)
{
    const unsigned char *p = (const unsigned char *)s;
    struct pf_buf b;
    size_t n = 0;
    char *out;

    pf_buf_init(&b);
    pf_buf_addc(&b, mark);
    while (p[n] != '\0' && n < SHOWN_VALUE)
        n++;
    while (n > 0 && p[n] != '\0' && (p[n] & 0xC0) == 0x80)
        n--;
    pf_utf8_repair(&b, (const char *)p, n);
    if (p[n] != '\0')
        pf_buf_adds(&b, "...");
    pf_buf_addc(&b, mark);
    for (n = 0; n < b.len; n++)
        if ((unsigned char)b.data[n] < 0x20)
            b.data[n] = '?';
    out = pf_arena_strdup(&im->arena, b.data);
    pf_buf_free(&b);
    return out;
}

/* A short, printable rendering of a JSON value for a warning: strings
 * quoted, numbers as written, other types by name. */
static const char *
show(struct imp *im, const cJSON *v)
{
    if (cJSON_IsString(v) && v->valuestring != NULL)
        return quote(im, v->valuestring, '"');
    if (cJSON_IsNumber(v)) {
        char num[40];

        snprintf(num, sizeof(num), "%.15g", v->valuedouble);
        return pf_arena_strdup(&im->arena, num);
    }
    if (cJSON_IsTrue(v))
        return "true";
    if (cJSON_IsFalse(v))
        return "false";
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsArray(v))
        return "a list";
    if (cJSON_IsObject(v))
        return "an object";
    return "an unknown value";
}

static int
bad_field(struct imp *im, const char *field, const char *what,
          const cJSON *v)
{
    warnf(im, "%s:%ld: field '%s': expected %s, got %s", im->path,
          im->line, field, what, show(im, v));
    return -1;
}

static const char *
fname(const struct imp *im, int fi)
{
    return im->ent->fields[fi].name;
}

/* ---- text --------------------------------------------------------------- */

/* Characters XML 1.0 forbids: C0 controls other than TAB, LF, CR, and
 * U+FFFE/U+FFFF (EF BF BE / EF BF BF). Returns their byte length at p, or
 * 0 when p starts an allowed character. */
static size_t
forbidden_at(const unsigned char *p)
{
    if (p[0] < 0x20 && p[0] != '\t' && p[0] != '\n' && p[0] != '\r')
        return 1;
    if (p[0] == 0xEF && p[1] == 0xBF && (p[2] == 0xBE || p[2] == 0xBF))
        return 3;
    return 0;
}

/* 1 if the n bytes at p hold a control character: C0 (tab, line feed and
 * carriage return included), DEL, C1 (U+0080-U+009F) or U+FFFE/U+FFFF.
 * An id with one prints invisibly or differently in every tool, so ids
 * refuse them all. */
static int
has_control(const unsigned char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (p[i] < 0x20 || p[i] == 0x7F)
            return 1;
        if (p[i] == 0xC2 && i + 1 < n && p[i + 1] >= 0x80 &&
            p[i + 1] <= 0x9F)
            return 1;
        if (p[i] == 0xEF && forbidden_at(p + i))
            return 1;
    }
    return 0;
}

/* An id as it is, or NULL (warned) when it would need any repair: a
 * repaired id would no longer match anything. */
static const char *
clean_id(struct imp *im, const char *field, const char *s)
{
    size_t n = strlen(s);

    if (!pf_utf8_valid(s, n)) {
        warnf(im, "%s:%ld: field '%s': invalid UTF-8 in an id", im->path,
              im->line, field);
        return NULL;
    }
    if (has_control((const unsigned char *)s, n)) {
        warnf(im, "%s:%ld: field '%s': control character in an id",
              im->path, im->line, field);
        return NULL;
    }
    return s;
}

/* Returns s, or an arena copy with invalid UTF-8 repaired and forbidden
 * characters dropped (noted for the row's warnings). Keys are strict (see
 * clean_id). NULL means refused (warned). */
static const char *
clean_text(struct imp *im, const char *field, const char *s, int strict)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n, i, dropped = 0;
    int high = 0, bad = 0;
    char *out, *o;

    if (strict)
        return clean_id(im, field, s);
    for (n = 0; p[n] != '\0'; n++) {
        if (p[n] >= 0x80) {
            high = 1;
            if (p[n] == 0xEF && forbidden_at(p + n))
                bad = 1;
        }
        else if (p[n] < 0x20 && forbidden_at(p + n)) {
            bad = 1;
        }
    }
    if (!bad && (!high || pf_utf8_valid(s, n)))
        return s;

    if (high && !pf_utf8_valid(s, n)) {
        pf_buf_reset(&im->tmp);
        pf_utf8_repair(&im->tmp, s, n);
        s = im->tmp.data;
        n = im->tmp.len;
        p = (const unsigned char *)s;
        if (im->utf8_field == NULL)
            im->utf8_field = field;
    }
    out = o = pf_arena_alloc(&im->arena, n + 1);
    for (i = 0; i < n;) {
        size_t k = forbidden_at(p + i);

        if (k > 0) {
            i += k;
            dropped++;
            continue;
        }
        *o++ = (char)p[i++];
    }
    *o = '\0';
    if (dropped > 0) {
        if (im->ctrl_field == NULL)
            im->ctrl_field = field;
        im->ctrl_dropped += (long)dropped;
    }
    return out;
}

/* ---- typed field getters --------------------------------------------------
 * Each returns 1 when the field is present and valid (*out set), 0 when it
 * is absent or null (*out untouched), -1 when it is invalid (warned). */

static cJSON *
slot(struct imp *im, int fi)
{
    cJSON *v = im->slot[fi];

    return v == NULL || cJSON_IsNull(v) ? NULL : v;
}

/* JSON numbers that are whole and exactly representable. */
static int
whole_number(const cJSON *v, int64_t *out)
{
    double d = v->valuedouble;

    if (!isfinite(d) || d != floor(d) || fabs(d) > 9007199254740992.0)
        return 0;
    *out = (int64_t)d;
    return 1;
}

static int
text_of(struct imp *im, const char *field, cJSON *v, int strict,
        const char **out)
{
    const char *t;

    if (cJSON_IsString(v)) {
        t = clean_text(im, field, v->valuestring, strict);
        if (t == NULL)
            return -1;
        *out = t;
        return 1;
    }
    return bad_field(im, field, "a string", v);
}

/* A lone UTF-16 surrogate escape was rewritten to U+FFFD before parsing
 * (ndjson_scan): text keeps the replacement, with a warning for the row,
 * like invalid UTF-8; an id is refused, since ids are never repaired.
 * Returns -1 (warned) when field fi is an id with one, else 0. */
static int
surrogate(struct imp *im, int fi, int id)
{
    if (!(im->taint[fi] & NDJSON_SURROGATE))
        return 0;
    if (id) {
        warnf(im, "%s:%ld: field '%s': lone UTF-16 surrogate escape in an "
              "id", im->path, im->line, fname(im, fi));
        return -1;
    }
    if (im->surr_field == NULL)
        im->surr_field = fname(im, fi);
    return 0;
}

static int
get_text(struct imp *im, int fi, const char **out)
{
    cJSON *v = slot(im, fi);

    if (v == NULL)
        return 0;
    if (cJSON_IsString(v) && v->valuestring[0] == '\0')
        return 0;
    if (surrogate(im, fi, 0) < 0)
        return -1;
    return text_of(im, fname(im, fi), v, 0, out);
}

/* Ids and codes: a string, or a whole number (many POS exports write
 * numeric ids as JSON numbers). */
static int
id_of(struct imp *im, const char *field, cJSON *v, const char **out)
{
    int64_t n;
    char num[24];

    if (cJSON_IsNumber(v)) {
        if (!whole_number(v, &n))
            return bad_field(im, field, "a string or whole-number id", v);
        snprintf(num, sizeof(num), "%lld", (long long)n);
        *out = pf_arena_strdup(&im->arena, num);
        return 1;
    }
    if (cJSON_IsString(v)) {
        if (v->valuestring[0] == '\0') {
            warnf(im, "%s:%ld: field '%s': empty id", im->path, im->line,
                  field);
            return -1;
        }
        return text_of(im, field, v, 1, out);
    }
    return bad_field(im, field, "a string or whole-number id", v);
}

static int
get_id(struct imp *im, int fi, const char **out)
{
    cJSON *v = slot(im, fi);

    if (v == NULL)
        return 0;
    if (cJSON_IsString(v) && v->valuestring[0] == '\0')
        return 0;
    if (surrogate(im, fi, 1) < 0)
        return -1;
    return id_of(im, fname(im, fi), v, out);
}

static int
out_of_range(struct imp *im, int fi, int64_t lo, int64_t hi,
             const cJSON *v)
{
    warnf(im, "%s:%ld: field '%s': expected a whole number from %lld to "
          "%lld, got %s", im->path, im->line, fname(im, fi), (long long)lo,
          (long long)hi, show(im, v));
    return -1;
}

/* A whole number within lo..hi (both within +-2^53, where a JSON number
 * is still exact). */
static int
get_int(struct imp *im, int fi, int64_t lo, int64_t hi, int64_t *out)
{
    cJSON *v = slot(im, fi);
    int64_t n;
    char *end;

    if (v == NULL)
        return 0;
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;

        if (!isfinite(d) || d != floor(d))
            return bad_field(im, fname(im, fi), "a whole number", v);
        if (fabs(d) > 9007199254740992.0)
            return out_of_range(im, fi, lo, hi, v);
        n = (int64_t)d;
    }
    else if (cJSON_IsString(v) && v->valuestring[0] != '\0') {
        errno = 0;
        n = strtoll(v->valuestring, &end, 10);
        if (*end != '\0' || end == v->valuestring)
            return bad_field(im, fname(im, fi), "a whole number", v);
        if (errno != 0)
            return out_of_range(im, fi, lo, hi, v);
    }
    else {
        return bad_field(im, fname(im, fi), "a whole number", v);
    }
    if (n < lo || n > hi)
        return out_of_range(im, fi, lo, hi, v);
    *out = n;
    return 1;
}

/* A stock or order quantity, within the store's bounds. */
static int
get_quantity(struct imp *im, int fi, int64_t *out)
{
    return get_int(im, fi, -STORE_MAX_QUANTITY, STORE_MAX_QUANTITY, out);
}

static int
get_position(struct imp *im, int fi, int *out)
{
    int64_t n;
    int rc = get_int(im, fi, INT_MIN, INT_MAX, &n);

    if (rc == 1)
        *out = (int)n;
    return rc;
}

static int
get_bool(struct imp *im, int fi, int *out)
{
    cJSON *v = slot(im, fi);

    if (v == NULL)
        return 0;
    if (!cJSON_IsBool(v))
        return bad_field(im, fname(im, fi), "true or false", v);
    *out = cJSON_IsTrue(v) ? 1 : 0;
    return 1;
}

static int
get_time(struct imp *im, int fi, int64_t *out)
{
    cJSON *v = slot(im, fi);
    struct pf_err e;

    if (v == NULL)
        return 0;
    if (cJSON_IsNumber(v)) {
        if (!whole_number(v, out))
            return bad_field(im, fname(im, fi),
                             "an ISO 8601 time or epoch seconds", v);
        /* A number becomes a time only within the range every later
         * step can print and compute with. */
        if (!pf_time_in_range(*out)) {
            warnf(im, "%s:%ld: field '%s': epoch seconds %lld out of "
                  "range (posfeed handles " PF_TIME_RANGE_TEXT ")",
                  im->path, im->line, fname(im, fi), (long long)*out);
            return -1;
        }
        return 1;
    }
    if (!cJSON_IsString(v))
        return bad_field(im, fname(im, fi),
                         "an ISO 8601 time or epoch seconds", v);
    if (v->valuestring[0] == '\0')
        return 0;
    e.msg[0] = '\0';
    if (pf_time_parse(v->valuestring, out, &e) != 0) {
        warnf(im, "%s:%ld: field '%s': %s", im->path, im->line,
              fname(im, fi), e.msg);
        return -1;
    }
    return 1;
}

static int
get_money(struct imp *im, int fi, int decimals, int64_t *out)
{
    cJSON *v = slot(im, fi);
    struct pf_err e;
    struct pf_buf max;
    char num[40];
    const char *text;
    int64_t minor;

    if (v == NULL)
        return 0;
    if (cJSON_IsNumber(v)) {
        /* %.15g prints the shortest decimal that round-trips for the
         * amounts people type (12.5, 19.95); pf_money_parse then applies
         * the currency's decimals exactly. */
        snprintf(num, sizeof(num), "%.15g", v->valuedouble);
        text = num;
    }
    else if (cJSON_IsString(v)) {
        text = v->valuestring;
    }
    else {
        return bad_field(im, fname(im, fi), "a decimal amount", v);
    }
    e.msg[0] = '\0';
    if (pf_money_parse(text, decimals, &minor, &e) != 0) {
        warnf(im, "%s:%ld: field '%s': %s", im->path, im->line,
              fname(im, fi), e.msg);
        return -1;
    }
    if (!store_money_ok(minor)) {
        pf_buf_init(&max);
        pf_money_format(&max, STORE_MAX_MONEY, decimals);
        warnf(im, "%s:%ld: field '%s': expected an amount from -%s to %s, "
              "got %s", im->path, im->line, fname(im, fi), max.data,
              max.data, show(im, v));
        pf_buf_free(&max);
        return -1;
    }
    *out = minor;
    return 1;
}

static int
get_currency(struct imp *im, int fi, const char **out)
{
    cJSON *v = slot(im, fi);
    const char *s;
    char *up;
    int i;

    if (v == NULL)
        return 0;
    if (!cJSON_IsString(v))
        return bad_field(im, fname(im, fi), "an ISO 4217 currency code",
                         v);
    s = v->valuestring;
    if (s[0] == '\0')
        return 0;
    for (i = 0; i < 3; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')))
            break;
    if (i != 3 || s[3] != '\0')
        return bad_field(im, fname(im, fi), "an ISO 4217 currency code",
                         v);
    up = pf_arena_strndup(&im->arena, s, 3);
    for (i = 0; i < 3; i++)
        if (up[i] >= 'a')
            up[i] = (char)(up[i] - 'a' + 'A');
    *out = up;
    return 1;
}

struct ranked {
    const char *s;
    size_t pos;
};

static int
ranked_cmp(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    int c = strcmp(x->s, y->s);

    if (c != 0)
        return c;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Drops later repeats from a[0..n), keeping first occurrences in order.
 * Sorting makes it n log n: a list of millions of ids compared pairwise
 * took hours. Returns the new count. */
static size_t
dedup(const char **a, size_t n)
{
    struct ranked *r;
    char *dup;
    size_t i, k;

    if (n < 2)
        return n;
    r = xmalloc(n * sizeof(*r));
    dup = xcalloc(n, 1);
    for (i = 0; i < n; i++) {
        r[i].s = a[i];
        r[i].pos = i;
    }
    qsort(r, n, sizeof(*r), ranked_cmp);
    for (i = 1; i < n; i++)
        if (strcmp(r[i].s, r[i - 1].s) == 0)
            dup[r[i].pos] = 1;
    for (i = k = 0; i < n; i++)
        if (!dup[i])
            a[k++] = a[i];
    free(dup);
    free(r);
    return k;
}

/* A list of ids or of strings into an arena array. Empty strings are
 * dropped; duplicates too when sets is set (link tables are sets). */
static int
get_list(struct imp *im, int fi, int ids, int sets, const char ***out,
         size_t *n)
{
    cJSON *v = slot(im, fi), *it;
    const char **a;
    size_t k = 0;
    int size;

    if (v == NULL)
        return 0;
    if (!cJSON_IsArray(v))
        return bad_field(im, fname(im, fi), ids ? "a list of ids"
                         : "a list of strings", v);
    if (surrogate(im, fi, ids) < 0)
        return -1;
    size = cJSON_GetArraySize(v);
    a = pf_arena_alloc(&im->arena, (size_t)(size > 0 ? size : 1) *
                       sizeof(*a));
    cJSON_ArrayForEach(it, v) {
        const char *t = NULL;
        int rc;

        if (cJSON_IsString(it) && it->valuestring[0] == '\0')
            continue;
        if (ids)
            rc = id_of(im, fname(im, fi), it, &t);
        else if (cJSON_IsString(it))
            rc = text_of(im, fname(im, fi), it, 0, &t);
        else
            rc = bad_field(im, fname(im, fi), "a list of strings", it);
        if (rc < 0)
            return -1;
        a[k++] = t;
    }
    *out = a;
    *n = sets ? dedup(a, k) : k;
    return 1;
}

/* Scalars an attribute or option value may be, as text. */
static int
scalar_text(struct imp *im, const char *field, cJSON *v, const char **out)
{
    char num[40];
    int64_t n;

    if (cJSON_IsString(v))
        return text_of(im, field, v, 0, out);
    if (cJSON_IsNumber(v)) {
        if (whole_number(v, &n))
            snprintf(num, sizeof(num), "%lld", (long long)n);
        else
            snprintf(num, sizeof(num), "%.15g", v->valuedouble);
        *out = pf_arena_strdup(&im->arena, num);
        return 1;
    }
    if (cJSON_IsBool(v)) {
        *out = cJSON_IsTrue(v) ? "true" : "false";
        return 1;
    }
    return -1;
}

static int
bad_pair(struct imp *im, int fi, const char *name, const cJSON *v,
         int lists)
{
    warnf(im, "%s:%ld: field '%s': value of '%s' must be %s, got %s",
          im->path, im->line, fname(im, fi), name,
          lists ? "a string, number, true/false or a list of them"
                : "a string or number", show(im, v));
    return -1;
}

/* {name: scalar | [scalars]} as ordered pairs; a list repeats the name.
 * Options (lists = 0) take strings and numbers only. Null values are left
 * out. */
static int
get_pairs(struct imp *im, int fi, int lists, struct store_option **out,
          size_t *n)
{
    cJSON *v = slot(im, fi), *it, *el;
    struct store_option *a;
    size_t cap = 0, k = 0;

    if (v == NULL)
        return 0;
    if (!cJSON_IsObject(v))
        return bad_field(im, fname(im, fi), lists
                         ? "an object of strings, numbers, true/false or "
                           "lists"
                         : "an object of strings or numbers", v);
    if (surrogate(im, fi, 0) < 0)
        return -1;
    cJSON_ArrayForEach(it, v) {
        cap += cJSON_IsArray(it) ? (size_t)cJSON_GetArraySize(it) : 1;
    }
    a = pf_arena_alloc(&im->arena, (cap > 0 ? cap : 1) * sizeof(*a));
    cJSON_ArrayForEach(it, v) {
        const char *name = clean_text(im, fname(im, fi), it->string, 0);

        if (name[0] == '\0') {
            warnf(im, "%s:%ld: field '%s': empty name", im->path,
                  im->line, fname(im, fi));
            return -1;
        }
        if (cJSON_IsNull(it))
            continue;
        if (lists && cJSON_IsArray(it)) {
            cJSON_ArrayForEach(el, it) {
                if (cJSON_IsNull(el))
                    continue;
                if (scalar_text(im, fname(im, fi), el, &a[k].value) < 0)
                    return bad_pair(im, fi, name, el, lists);
                a[k++].name = name;
            }
            continue;
        }
        if ((!lists && cJSON_IsBool(it)) ||
            scalar_text(im, fname(im, fi), it, &a[k].value) < 0)
            return bad_pair(im, fi, name, it, lists);
        a[k++].name = name;
    }
    *out = a;
    *n = k;
    return 1;
}

/* ---- references --------------------------------------------------------- */

/* 1 if id exists in table (cached for runs of equal ids), 0 if not. */
static int
has_ref(struct imp *im, int which, const char *table, const char *id)
{
    struct ref_cache *c = &im->refs[which];

    if (c->id != NULL && strcmp(c->id, id) == 0)
        return c->found;
    free(c->id);
    c->id = xstrdup(id);
    c->found = store_has(im->s, table, id);
    return c->found;
}

static int
missing_ref(struct imp *im, int fi, const char *what, const char *id)
{
    warnf(im, "%s:%ld: field '%s': %s '%s' does not exist", im->path,
          im->line, fname(im, fi), what, id);
    return ROW_BAD;
}

/* A put that failed: a constraint the row broke is the row's problem; any
 * other failure (disk full, I/O) is the store's and stops the import. */
static int
put_result(struct imp *im, int rc, struct pf_err *e)
{
    sqlite3 *db = store_db(im->s);
    int code = sqlite3_extended_errcode(db) & 0xff;

    if (rc == 0)
        return ROW_OK;
    if (!sqlite3_get_autocommit(db) &&
        (code == SQLITE_CONSTRAINT || code == SQLITE_TOOBIG ||
         code == SQLITE_MISMATCH)) {
        warnf(im, "%s:%ld: %s", im->path, im->line, e->msg);
        return ROW_BAD;
    }
    return ROW_FAIL;
}

#define TRY(x)                                                         \
    do {                                                               \
        if ((x) < 0)                                                   \
            return ROW_BAD;                                            \
    } while (0)

#define PUT(x)                                                         \
    do {                                                               \
        int rc_ = put_result(im, (x), &e);                             \
        if (rc_ != ROW_OK)                                             \
            return rc_;                                                \
    } while (0)

/* ---- entities ----------------------------------------------------------- */

enum { L_ID, L_NAME, L_TIMEZONE, L_N };
static const struct fspec location_fields[] = {
    [L_ID] = {"id", 1}, [L_NAME] = {"name", 1},
    [L_TIMEZONE] = {"timezone", 0},
};

static int
row_location(struct imp *im)
{
    struct store_location l = {0};
    struct pf_err e;

    l.id = im->key[0];
    TRY(get_text(im, L_NAME, &l.name));
    TRY(get_text(im, L_TIMEZONE, &l.timezone));
    if (l.timezone != NULL && !pf_tz_valid(l.timezone)) {
        warnf(im, "%s:%ld: field 'timezone': unknown IANA time zone "
              "'%s'; location kept without one", im->path, im->line,
              l.timezone);
        l.timezone = NULL;
    }
    PUT(store_put_location(im->s, &l, &e));
    return ROW_OK;
}

enum { C_ID, C_NAME, C_PARENT, C_URL, C_VISIBLE, C_POSITION, C_N };
static const struct fspec category_fields[] = {
    [C_ID] = {"id", 1}, [C_NAME] = {"name", 1},
    [C_PARENT] = {"parent_id", 0}, [C_URL] = {"url", 0},
    [C_VISIBLE] = {"visible", 0}, [C_POSITION] = {"position", 0},
};

static int
row_category(struct imp *im)
{
    struct store_category c = {0};
    struct pf_err e;

    c.id = im->key[0];
    c.visible = 1;
    TRY(get_text(im, C_NAME, &c.name));
    TRY(get_id(im, C_PARENT, &c.parent_id));
    TRY(get_text(im, C_URL, &c.url));
    TRY(get_bool(im, C_VISIBLE, &c.visible));
    TRY(get_position(im, C_POSITION, &c.position));
    if (c.parent_id != NULL && strcmp(c.parent_id, c.id) == 0) {
        warnf(im, "%s:%ld: field 'parent_id': category '%s' is its own "
              "parent; treated as top-level", im->path, im->line, c.id);
        c.parent_id = NULL;
    }
    /* A parent may come later in the file; the foreign key is deferred
     * and dangling parents are settled after the last row. */
    PUT(store_put_category(im->s, &c, &e));
    return ROW_OK;
}

enum {
    P_ID, P_NAME, P_DESCRIPTION, P_URL, P_BRAND, P_CREATED, P_UPDATED,
    P_VISIBLE, P_STOCK, P_CATEGORIES, P_IMAGES, P_ATTRIBUTES, P_N
};
static const struct fspec product_fields[] = {
    [P_ID] = {"id", 1}, [P_NAME] = {"name", 1},
    [P_DESCRIPTION] = {"description", 0}, [P_URL] = {"url", 0},
    [P_BRAND] = {"brand", 0}, [P_CREATED] = {"created_at", 0},
    [P_UPDATED] = {"updated_at", 0}, [P_VISIBLE] = {"visible", 0},
    [P_STOCK] = {"stock", 0}, [P_CATEGORIES] = {"category_ids", 0},
    [P_IMAGES] = {"images", 0}, [P_ATTRIBUTES] = {"attributes", 0},
};

static int
row_product(struct imp *im)
{
    struct store_product p = {0};
    const char **cats = NULL, **imgs = NULL;
    struct store_option *attrs = NULL;
    size_t ncats = 0, nimgs = 0, nattrs = 0, i, k;
    struct pf_err e;

    p.id = im->key[0];
    p.visible = 1;
    TRY(get_text(im, P_NAME, &p.name));
    TRY(get_text(im, P_DESCRIPTION, &p.description));
    TRY(get_text(im, P_URL, &p.url));
    TRY(get_text(im, P_BRAND, &p.brand));
    TRY(get_time(im, P_CREATED, &p.created_at));
    TRY(get_time(im, P_UPDATED, &p.updated_at));
    TRY(get_bool(im, P_VISIBLE, &p.visible));
    p.has_stock = get_quantity(im, P_STOCK, &p.stock);
    TRY(p.has_stock);
    TRY(get_list(im, P_CATEGORIES, 1, 1, &cats, &ncats));
    TRY(get_list(im, P_IMAGES, 0, 0, &imgs, &nimgs));
    TRY(get_pairs(im, P_ATTRIBUTES, 1, &attrs, &nattrs));

    /* A link to a category that is gone loses the link, not the
     * product. */
    for (i = k = 0; i < ncats; i++) {
        if (store_has(im->s, "categories", cats[i]))
            cats[k++] = cats[i];
        else
            warnf(im, "%s:%ld: field 'category_ids': category '%s' does "
                  "not exist; link dropped", im->path, im->line, cats[i]);
    }
    ncats = k;
    PUT(store_put_product(im->s, &p, &e));
    PUT(store_set_product_categories(im->s, p.id, cats, ncats, &e));
    PUT(store_set_images(im->s, p.id, imgs, nimgs, &e));
    PUT(store_set_attributes(im->s, "product", p.id, STORE_ATTR_CUSTOM,
                             attrs, nattrs, &e));
    return ROW_OK;
}

enum {
    V_ID, V_PRODUCT, V_SKU, V_EAN, V_UPC, V_PRICE, V_LIST_PRICE, V_CURRENCY,
    V_IMAGE, V_TRACK, V_POSITION, V_OPTIONS, V_ATTRIBUTES, V_N
};
static const struct fspec variant_fields[] = {
    [V_ID] = {"id", 1}, [V_PRODUCT] = {"product_id", 1},
    [V_SKU] = {"sku", 0}, [V_EAN] = {"ean", 0}, [V_UPC] = {"upc", 0},
    [V_PRICE] = {"price", 1}, [V_LIST_PRICE] = {"list_price", 0},
    [V_CURRENCY] = {"currency", 0}, [V_IMAGE] = {"image", 0},
    [V_TRACK] = {"track_stock", 0}, [V_POSITION] = {"position", 0},
    [V_OPTIONS] = {"options", 0}, [V_ATTRIBUTES] = {"attributes", 0},
};

/* The currency a row's amounts are in: its own, else the default. */
static int
row_currency(struct imp *im, int fi, const char **cur)
{
    int rc = get_currency(im, fi, cur);

    if (rc != 0)
        return rc;
    if (im->o->default_currency == NULL) {
        warnf(im, "%s:%ld: field '%s': missing, and no default currency "
              "is configured", im->path, im->line, fname(im, fi));
        return -1;
    }
    *cur = im->o->default_currency;
    return 1;
}

static int
row_variant(struct imp *im)
{
    struct store_variant v = {0};
    struct store_option *attrs = NULL, *opts = NULL;
    size_t nattrs = 0, nopts = 0;
    int dec;
    struct pf_err e;

    v.id = im->key[0];
    v.track_stock = 1;
    TRY(get_id(im, V_PRODUCT, &v.product_id));
    TRY(get_id(im, V_SKU, &v.sku));
    TRY(get_id(im, V_EAN, &v.ean));
    TRY(get_id(im, V_UPC, &v.upc));
    TRY(row_currency(im, V_CURRENCY, &v.currency));
    dec = pf_currency_decimals(v.currency);
    TRY(get_money(im, V_PRICE, dec, &v.price));
    TRY(get_money(im, V_LIST_PRICE, dec, &v.list_price));
    TRY(get_text(im, V_IMAGE, &v.image));
    TRY(get_bool(im, V_TRACK, &v.track_stock));
    TRY(get_position(im, V_POSITION, &v.position));
    TRY(get_pairs(im, V_OPTIONS, 0, &opts, &nopts));
    TRY(get_pairs(im, V_ATTRIBUTES, 1, &attrs, &nattrs));
    if (!has_ref(im, 0, "products", v.product_id))
        return missing_ref(im, V_PRODUCT, "product", v.product_id);
    v.options = opts;
    v.noptions = nopts;
    PUT(store_put_variant(im->s, &v, &e));
    PUT(store_set_attributes(im->s, "variant", v.id, STORE_ATTR_CUSTOM,
                             attrs, nattrs, &e));
    return ROW_OK;
}

enum { S_VARIANT, S_LOCATION, S_QUANTITY, S_N };
static const struct fspec stock_fields[] = {
    [S_VARIANT] = {"variant_id", 1}, [S_LOCATION] = {"location_id", 1},
    [S_QUANTITY] = {"quantity", 1},
};

static int
row_stock(struct imp *im)
{
    int64_t q = 0;
    struct pf_err e;

    TRY(get_quantity(im, S_QUANTITY, &q));
    if (!has_ref(im, 0, "variants", im->key[0]))
        return missing_ref(im, S_VARIANT, "variant", im->key[0]);
    if (!has_ref(im, 1, "locations", im->key[1]))
        return missing_ref(im, S_LOCATION, "location", im->key[1]);
    PUT(store_put_stock(im->s, im->key[0], im->key[1], q, &e));
    return ROW_OK;
}

enum {
    U_ID, U_EMAIL, U_FIRST, U_LAST, U_COMPANY, U_TITLE, U_ADDRESS1,
    U_ADDRESS2, U_CITY, U_REGION, U_ZIP, U_COUNTRY, U_PHONE, U_CONSENT,
    U_CREATED, U_UPDATED, U_N
};
static const struct fspec customer_fields[] = {
    [U_ID] = {"id", 1}, [U_EMAIL] = {"email", 0},
    [U_FIRST] = {"first_name", 0}, [U_LAST] = {"last_name", 0},
    [U_COMPANY] = {"company", 0}, [U_TITLE] = {"title", 0},
    [U_ADDRESS1] = {"address1", 0}, [U_ADDRESS2] = {"address2", 0},
    [U_CITY] = {"city", 0}, [U_REGION] = {"region", 0},
    [U_ZIP] = {"zip", 0}, [U_COUNTRY] = {"country", 0},
    [U_PHONE] = {"phone", 0}, [U_CONSENT] = {"consent", 0},
    [U_CREATED] = {"created_at", 0}, [U_UPDATED] = {"updated_at", 0},
};

static int
row_customer(struct imp *im)
{
    struct store_customer c = {0};
    static const int text[] = {
        U_EMAIL, U_FIRST, U_LAST, U_COMPANY, U_TITLE, U_ADDRESS1,
        U_ADDRESS2, U_CITY, U_REGION, U_ZIP, U_COUNTRY, U_PHONE
    };
    const char **dst[] = {
        &c.email, &c.first_name, &c.last_name, &c.company, &c.title,
        &c.address1, &c.address2, &c.city, &c.region, &c.zip, &c.country,
        &c.phone
    };
    size_t i;
    struct pf_err e;

    c.id = im->key[0];
    for (i = 0; i < sizeof(text) / sizeof(text[0]); i++)
        TRY(get_text(im, text[i], dst[i]));
    /* Consent is never assumed: absent or null stays unknown. */
    c.consent = -1;
    TRY(get_bool(im, U_CONSENT, &c.consent));
    TRY(get_time(im, U_CREATED, &c.created_at));
    TRY(get_time(im, U_UPDATED, &c.updated_at));
    PUT(store_put_customer(im->s, &c, &e));
    return ROW_OK;
}

enum {
    O_ID, O_NUMBER, O_STATUS, O_LOCATION, O_CUSTOMER, O_EMAIL, O_CURRENCY,
    O_CREATED, O_COMPLETED, O_TOTAL, O_DISCOUNT, O_CODES, O_SHIPPED,
    O_SHIPPED_AT, O_REFUND_OF, O_N
};
static const struct fspec order_fields[] = {
    [O_ID] = {"id", 1}, [O_NUMBER] = {"number", 0},
    [O_STATUS] = {"status", 1}, [O_LOCATION] = {"location_id", 0},
    [O_CUSTOMER] = {"customer_id", 0}, [O_EMAIL] = {"email", 0},
    [O_CURRENCY] = {"currency", 0}, [O_CREATED] = {"created_at", 1},
    [O_COMPLETED] = {"completed_at", 0}, [O_TOTAL] = {"total", 1},
    [O_DISCOUNT] = {"discount_total", 0},
    [O_CODES] = {"discount_codes", 0}, [O_SHIPPED] = {"shipped", 0},
    [O_SHIPPED_AT] = {"shipped_at", 0}, [O_REFUND_OF] = {"refund_of", 0},
};

static int
row_order(struct imp *im)
{
    struct store_order o = {0};
    const char **codes = NULL;
    size_t ncodes = 0;
    int dec;
    struct pf_err e;

    o.id = im->key[0];
    TRY(get_id(im, O_NUMBER, &o.number));
    TRY(get_text(im, O_STATUS, &o.status));
    TRY(get_id(im, O_LOCATION, &o.location_id));
    TRY(get_id(im, O_CUSTOMER, &o.customer_id));
    TRY(get_text(im, O_EMAIL, &o.email));
    TRY(row_currency(im, O_CURRENCY, &o.currency));
    dec = pf_currency_decimals(o.currency);
    TRY(get_time(im, O_CREATED, &o.created_at));
    TRY(get_time(im, O_COMPLETED, &o.completed_at));
    TRY(get_money(im, O_TOTAL, dec, &o.total));
    TRY(get_money(im, O_DISCOUNT, dec, &o.discount_total));
    TRY(get_list(im, O_CODES, 0, 0, &codes, &ncodes));
    TRY(get_bool(im, O_SHIPPED, &o.shipped));
    TRY(get_time(im, O_SHIPPED_AT, &o.shipped_at));
    TRY(get_id(im, O_REFUND_OF, &o.refund_of));
    o.discount_codes = codes;
    o.ndiscount_codes = ncodes;
    PUT(store_put_order(im->s, &o, &e));
    return ROW_OK;
}

enum {
    OL_ID, OL_ORDER, OL_PRODUCT, OL_VARIANT, OL_NAME, OL_SKU, OL_QUANTITY,
    OL_UNIT_PRICE, OL_DISCOUNT, OL_RETURN, OL_POSITION, OL_N
};
static const struct fspec line_fields[] = {
    [OL_ID] = {"id", 1}, [OL_ORDER] = {"order_id", 1},
    [OL_PRODUCT] = {"product_id", 0}, [OL_VARIANT] = {"variant_id", 0},
    [OL_NAME] = {"name", 0}, [OL_SKU] = {"sku", 0},
    [OL_QUANTITY] = {"quantity", 1}, [OL_UNIT_PRICE] = {"unit_price", 1},
    [OL_DISCOUNT] = {"discount", 0}, [OL_RETURN] = {"is_return", 0},
    [OL_POSITION] = {"position", 0},
};

/* The order a line belongs to, and its currency (lines carry none).
 * Lines of one order come together, so one lookup serves them all. */
static int
line_order(struct imp *im, const char *order_id, int *decimals)
{
    static const char sql[] = "SELECT currency FROM orders WHERE id = ?1";
    struct ref_cache *c = &im->refs[0];
    sqlite3_stmt *st;

    if (c->id == NULL || strcmp(c->id, order_id) != 0) {
        free(c->id);
        c->id = xstrdup(order_id);
        c->found = 0;
        c->currency[0] = '\0';
        st = store_stmt(im->s, sql, NULL);
        if (st != NULL) {
            sqlite3_bind_text(st, 1, order_id, -1, SQLITE_STATIC);
            if (sqlite3_step(st) == SQLITE_ROW) {
                const unsigned char *cur = sqlite3_column_text(st, 0);

                c->found = 1;
                snprintf(c->currency, sizeof(c->currency), "%s",
                         cur ? (const char *)cur : "");
            }
            sqlite3_reset(st);
        }
    }
    *decimals = pf_currency_decimals(c->currency[0] ? c->currency : NULL);
    return c->found;
}

static int
row_order_line(struct imp *im)
{
    struct store_order_line l = {0};
    int dec = 2, ret = -1;
    struct pf_err e;

    l.id = im->key[0];
    TRY(get_id(im, OL_ORDER, &l.order_id));
    if (!line_order(im, l.order_id, &dec))
        return missing_ref(im, OL_ORDER, "order", l.order_id);
    TRY(get_id(im, OL_PRODUCT, &l.product_id));
    TRY(get_id(im, OL_VARIANT, &l.variant_id));
    TRY(get_text(im, OL_NAME, &l.name));
    TRY(get_id(im, OL_SKU, &l.sku));
    TRY(get_quantity(im, OL_QUANTITY, &l.quantity));
    TRY(get_money(im, OL_UNIT_PRICE, dec, &l.unit_price));
    TRY(get_money(im, OL_DISCOUNT, dec, &l.discount));
    TRY(get_bool(im, OL_RETURN, &ret));
    TRY(get_position(im, OL_POSITION, &l.position));
    l.is_return = ret >= 0 ? ret : l.quantity < 0;
    PUT(store_put_order_line(im->s, &l, &e));
    return ROW_OK;
}

enum {
    G_ID, G_KIND, G_TITLE, G_URL, G_SUMMARY, G_CONTENT, G_IMAGE, G_AUTHOR,
    G_CREATED, G_UPDATED, G_VISIBLE, G_N
};
static const struct fspec page_fields[] = {
    [G_ID] = {"id", 1}, [G_KIND] = {"kind", 0}, [G_TITLE] = {"title", 0},
    [G_URL] = {"url", 0}, [G_SUMMARY] = {"summary", 0},
    [G_CONTENT] = {"content", 0}, [G_IMAGE] = {"image", 0},
    [G_AUTHOR] = {"author", 0}, [G_CREATED] = {"created_at", 0},
    [G_UPDATED] = {"updated_at", 0}, [G_VISIBLE] = {"visible", 0},
};

static int
row_page(struct imp *im)
{
    struct store_page g = {0};
    struct pf_err e;

    g.id = im->key[0];
    g.kind = "page";
    g.visible = 1;
    TRY(get_text(im, G_KIND, &g.kind));
    if (g.kind == NULL)
        g.kind = "page";
    if (strcmp(g.kind, "page") != 0 && strcmp(g.kind, "article") != 0) {
        warnf(im, "%s:%ld: field 'kind': expected \"page\" or "
              "\"article\", got %s", im->path, im->line,
              show(im, slot(im, G_KIND)));
        return ROW_BAD;
    }
    TRY(get_text(im, G_TITLE, &g.title));
    TRY(get_text(im, G_URL, &g.url));
    TRY(get_text(im, G_SUMMARY, &g.summary));
    TRY(get_text(im, G_CONTENT, &g.content));
    TRY(get_text(im, G_IMAGE, &g.image));
    TRY(get_text(im, G_AUTHOR, &g.author));
    TRY(get_time(im, G_CREATED, &g.created_at));
    TRY(get_time(im, G_UPDATED, &g.updated_at));
    TRY(get_bool(im, G_VISIBLE, &g.visible));
    PUT(store_put_page(im->s, &g, &e));
    return ROW_OK;
}

enum { R_ID, R_PRODUCT, R_SCORE, R_VISIBLE, R_CREATED, R_N };
static const struct fspec review_fields[] = {
    [R_ID] = {"id", 1}, [R_PRODUCT] = {"product_id", 1},
    [R_SCORE] = {"score", 1}, [R_VISIBLE] = {"visible", 0},
    [R_CREATED] = {"created_at", 0},
};

static int
row_review(struct imp *im)
{
    struct store_review r = {0};
    int64_t hundredths = 0;
    struct pf_err e;

    r.id = im->key[0];
    r.visible = 1;
    TRY(get_id(im, R_PRODUCT, &r.product_id));
    /* A score is a decimal like an amount with two decimals ("4.5",
     * 4.25), read by the same exact parser. */
    TRY(get_money(im, R_SCORE, 2, &hundredths));
    if (hundredths < 0 || hundredths > (int64_t)(STORE_MAX_SCORE * 100)) {
        warnf(im, "%s:%ld: field 'score': expected 0 to 5, got %s",
              im->path, im->line, show(im, slot(im, R_SCORE)));
        return ROW_BAD;
    }
    r.score = (double)hundredths / 100.0;
    TRY(get_bool(im, R_VISIBLE, &r.visible));
    TRY(get_time(im, R_CREATED, &r.created_at));
    if (!has_ref(im, 0, "products", r.product_id))
        return missing_ref(im, R_PRODUCT, "product", r.product_id);
    PUT(store_put_review(im->s, &r, &e));
    return ROW_OK;
}

/* ---- the entity table --------------------------------------------------- */

enum {
    E_LOCATIONS, E_CATEGORIES, E_PRODUCTS, E_VARIANTS, E_STOCK,
    E_CUSTOMERS, E_ORDERS, E_ORDER_LINES, E_PAGES, E_REVIEWS, E_N
};

_Static_assert(L_N <= MAX_FIELDS && C_N <= MAX_FIELDS &&
               P_N <= MAX_FIELDS && V_N <= MAX_FIELDS &&
               S_N <= MAX_FIELDS && U_N <= MAX_FIELDS &&
               O_N <= MAX_FIELDS && OL_N <= MAX_FIELDS &&
               G_N <= MAX_FIELDS && R_N <= MAX_FIELDS,
               "an entity has more fields than MAX_FIELDS slots");

#define BIT(e) (1u << (e))

/* The rows of a table its file does not list: deleted, or first counted
 * to decide whether the file may delete them. */
#define NOT_SEEN(t) " FROM " t " WHERE id NOT IN (SELECT id FROM pf_seen)"
#define SNAPSHOT(t) \
    "DELETE" NOT_SEEN(t), "SELECT count(*)" NOT_SEEN(t), \
    "SELECT count(*) FROM pf_seen", "SELECT count(*) FROM " t
#define STOCK_NOT_SEEN \
    " FROM stock WHERE NOT EXISTS (SELECT 1 FROM pf_seen2 " \
    "WHERE a = stock.variant_id AND b = stock.location_id)"

static const struct entity entities[E_N] = {
    [E_LOCATIONS] = {
        "locations", "locations.ndjson", location_fields, L_N,
        {L_ID, -1}, row_location, SNAPSHOT("locations"), 0},
    [E_CATEGORIES] = {
        "categories", "categories.ndjson", category_fields, C_N,
        {C_ID, -1}, row_category, SNAPSHOT("categories"), 0},
    [E_PRODUCTS] = {
        "products", "products.ndjson", product_fields, P_N,
        {P_ID, -1}, row_product, SNAPSHOT("products"),
        BIT(E_CATEGORIES)},
    [E_VARIANTS] = {
        "variants", "variants.ndjson", variant_fields, V_N,
        {V_ID, -1}, row_variant, SNAPSHOT("variants"), BIT(E_PRODUCTS)},
    [E_STOCK] = {
        "stock", "stock.ndjson", stock_fields, S_N,
        {S_VARIANT, S_LOCATION}, row_stock,
        "DELETE" STOCK_NOT_SEEN, "SELECT count(*)" STOCK_NOT_SEEN,
        "SELECT count(*) FROM pf_seen2", "SELECT count(*) FROM stock",
        BIT(E_VARIANTS) | BIT(E_LOCATIONS)},
    [E_CUSTOMERS] = {
        "customers", "customers.ndjson", customer_fields, U_N,
        {U_ID, -1}, row_customer, SNAPSHOT("customers"), 0},
    [E_ORDERS] = {
        "orders", "orders.ndjson", order_fields, O_N,
        {O_ID, -1}, row_order, SNAPSHOT("orders"), 0},
    [E_ORDER_LINES] = {
        "order_lines", "order_lines.ndjson", line_fields, OL_N,
        {OL_ID, -1}, row_order_line, SNAPSHOT("order_lines"),
        BIT(E_ORDERS)},
    [E_PAGES] = {
        "pages", "pages.ndjson", page_fields, G_N,
        {G_ID, -1}, row_page, SNAPSHOT("pages"), 0},
    [E_REVIEWS] = {
        "reviews", "reviews.ndjson", review_fields, R_N,
        {R_ID, -1}, row_review, SNAPSHOT("reviews"), BIT(E_PRODUCTS)},
};

/* ---- one row ------------------------------------------------------------ */

static int
field_index(struct imp *im, const char *name)
{
    const struct entity *en = im->ent;
    int i, g = im->next_guess;

    /* Exports write every row's fields in the same order, so the field
     * after the last match is almost always the next one. */
    if (g < en->nfields && strcmp(en->fields[g].name, name) == 0)
        return g;
    for (i = 0; i < en->nfields; i++)
        if (strcmp(en->fields[i].name, name) == 0)
            return i;
    return -1;
}

static void
unknown_field(struct imp *im, const char *name)
{
    const struct entity *en = im->ent;
    const char *hint = NULL, *shown;
    size_t best = 3, d;
    int i;

    for (i = 0; i < im->nunknown; i++)
        if (strcmp(im->unknown[i], name) == 0)
            return;
    if (im->nunknown == MAX_UNKNOWN)
        return;
    im->unknown[im->nunknown++] = xstrdup(name);
    for (i = 0; i < en->nfields; i++) {
        d = pf_edit_distance(name, en->fields[i].name);
        if (d < best) {
            best = d;
            hint = en->fields[i].name;
        }
    }
    shown = quote(im, name, '\'');
    if (hint != NULL)
        warnf(im, "%s:%ld: unknown field %s ignored (did you mean "
              "'%s'?); reported once per file", im->path, im->line,
              shown, hint);
    else
        warnf(im, "%s:%ld: unknown field %s ignored; reported once per "
              "file", im->path, im->line, shown);
}

/* Records a key as present in the file, so the snapshot keeps it. A
 * refused row's key counts too: the stored row stays as it was instead of
 * being deleted for one bad line. */
static int
mark_seen(struct imp *im)
{
    static const char one[] =
        "INSERT OR IGNORE INTO pf_seen(id, line) VALUES (?1, ?2)";
    static const char two[] =
        "INSERT OR IGNORE INTO pf_seen2(a, b) VALUES (?1, ?2)";
    sqlite3_stmt *st;
    struct pf_err e;
    int rc;

    st = store_stmt(im->s, im->key[1] ? two : one, &e);
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, im->key[0], -1, SQLITE_STATIC);
    if (im->key[1] != NULL)
        sqlite3_bind_text(st, 2, im->key[1], -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, 2, im->line);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return -1;
    if (sqlite3_changes(store_db(im->s)) == 0) {
        if (im->key[1] != NULL)
            warnf(im, "%s:%ld: variant '%s' at location '%s' appears more "
                  "than once; the last row wins", im->path, im->line,
                  im->key[0], im->key[1]);
        else
            warnf(im, "%s:%ld: id '%s' appears more than once; the last "
                  "row wins", im->path, im->line, im->key[0]);
    }
    return 0;
}

/* Notes a line that breaks the file's soundness: the file will not be
 * trusted to delete anything. The line's own warning is given already. */
static void
unsound(struct imp *im, const char *why)
{
    if (im->bad_lines++ == 0) {
        im->first_bad = im->line;
        snprintf(im->first_bad_why, sizeof(im->first_bad_why), "%s", why);
    }
}

/* Puts each member of the row in its field's slot, with the escapes
 * ndjson_scan() found in it. A member whose name holds a NUL is no field
 * posfeed knows, whatever cJSON shows (the name cut at the NUL). */
static void
fill_slots(struct imp *im, cJSON *root)
{
    const struct entity *en = im->ent;
    size_t member = 0, m = 0;
    cJSON *it;
    int fi;

    memset(im->slot, 0, sizeof(im->slot[0]) * (size_t)en->nfields);
    memset(im->taint, 0, sizeof(im->taint[0]) * (size_t)en->nfields);
    im->next_guess = 0;
    cJSON_ArrayForEach(it, root) {
        unsigned flags = 0;

        member++;
        while (m < im->marks.n && im->marks.v[m].member < member)
            m++;
        if (m < im->marks.n && im->marks.v[m].member == member)
            flags = im->marks.v[m].flags;
        if (flags & NDJSON_NUL_IN_KEY) {
            warnf(im, "%s:%ld: field name %s holds a NUL character "
                  "(\\u0000); field ignored", im->path, im->line,
                  quote(im, it->string, '\''));
            continue;
        }
        fi = field_index(im, it->string);
        if (fi < 0) {
            unknown_field(im, it->string);
            continue;
        }
        im->next_guess = fi + 1;
        if (im->slot[fi] == NULL) {
            im->slot[fi] = it;
            im->taint[fi] = flags;
        }
    }
}

/* Reads the row's key and records it as seen. ROW_BAD when the key cannot
 * be read (warned), ROW_FAIL when the store fails. */
static int
read_key(struct imp *im)
{
    const struct entity *en = im->ent;
    int i, nkey = en->key[1] >= 0 ? 2 : 1;

    im->key[0] = im->key[1] = NULL;
    for (i = 0; i < nkey; i++) {
        int fi = en->key[i];
        cJSON *v = im->slot[fi];

        if (im->taint[fi] & NDJSON_NUL_IN_VALUE) {
            warnf(im, "%s:%ld: field '%s': NUL character (\\u0000) in an "
                  "id", im->path, im->line, fname(im, fi));
            return ROW_BAD;
        }
        if (get_id(im, fi, &im->key[i]) < 0)
            return ROW_BAD;
        if (im->key[i] == NULL) {
            warnf(im, "%s:%ld: field '%s': required but %s", im->path,
                  im->line, fname(im, fi),
                  v == NULL || cJSON_IsNull(v) ? "missing" : "empty");
            return ROW_BAD;
        }
    }
    return mark_seen(im) != 0 ? ROW_FAIL : ROW_OK;
}

/* Fields other than the key: a NUL in one refuses the row (the text is
 * never cut at the NUL), and required ones must be there. 0 or -1
 * (warned). */
static int
check_fields(struct imp *im)
{
    const struct entity *en = im->ent;
    int i;

    for (i = 0; i < en->nfields; i++) {
        const char *why = NULL;
        cJSON *v = im->slot[i];

        if (im->taint[i] & NDJSON_NUL_IN_VALUE) {
            warnf(im, "%s:%ld: field '%s': NUL character (\\u0000) in the "
                  "value", im->path, im->line, en->fields[i].name);
            return -1;
        }
        if (!en->fields[i].required)
            continue;
        if (v == NULL || cJSON_IsNull(v))
            why = "missing";
        else if (cJSON_IsString(v) && v->valuestring[0] == '\0')
            why = "empty";
        if (why != NULL) {
            warnf(im, "%s:%ld: field '%s': required but %s",
                  im->path, im->line, en->fields[i].name, why);
            return -1;
        }
    }
    return 0;
}

/* Warnings that go with a row that landed: what was repaired in it. */
static void
repaired(struct imp *im)
{
    if (im->utf8_field != NULL)
        warnf(im, "%s:%ld: field '%s': invalid UTF-8 repaired", im->path,
              im->line, im->utf8_field);
    if (im->surr_field != NULL)
        warnf(im, "%s:%ld: field '%s': lone UTF-16 surrogate escape "
              "repaired", im->path, im->line, im->surr_field);
    if (im->ctrl_dropped > 0)
        warnf(im, "%s:%ld: field '%s': dropped %ld control character%s "
              "that XML 1.0 forbids", im->path, im->line, im->ctrl_field,
              im->ctrl_dropped, im->ctrl_dropped == 1 ? "" : "s");
}

/* Parses, validates and stores one line. Returns a row_result; a line
 * that is not an object with a readable key is also noted as unsound. */
static int
import_line(struct imp *im, char *line, size_t len)
{
    cJSON *root;
    const char *end = NULL;
    int rc = ROW_BAD;

    if (strlen(line) != len) {
        warnf(im, "%s:%ld: NUL byte in line", im->path, im->line);
        unsound(im, "a NUL byte");
        return ROW_BAD;
    }
    ndjson_scan(line, len, &im->marks);
    root = cJSON_ParseWithOpts(line, &end, 1);
    if (root == NULL) {
        const char *at = cJSON_GetErrorPtr();
        long col = at != NULL && at >= line && at <= line + len
            ? (long)(at - line) + 1 : 1;

        warnf(im, "%s:%ld: invalid JSON at column %ld",
              im->path, im->line, col);
        unsound(im, "invalid JSON");
        return ROW_BAD;
    }
    if (!cJSON_IsObject(root)) {
        warnf(im, "%s:%ld: expected a JSON object, got %s",
              im->path, im->line, show(im, root));
        unsound(im, "not a JSON object");
        goto cleanup;
    }
    im->utf8_field = im->surr_field = im->ctrl_field = NULL;
    im->ctrl_dropped = 0;
    fill_slots(im, root);
    rc = read_key(im);
    if (rc == ROW_BAD)
        unsound(im, "no readable key");
    if (rc != ROW_OK)
        goto cleanup;
    rc = check_fields(im) != 0 ? ROW_BAD : im->ent->row(im);
    if (rc == ROW_OK)
        repaired(im);
    else if (rc == ROW_BAD)
        im->refused++;
cleanup:
    cJSON_Delete(root);
    return rc;
}

/* ---- one file ----------------------------------------------------------- */

/* Settles categories whose parent never appeared: the parent becomes
 * NULL (top-level), with a warning naming the row that asked for it. */
static int
settle_parents(struct imp *im, struct pf_err *err)
{
    static const char sql[] =
        "SELECT c.id, c.parent_id, s.line FROM categories c "
        "LEFT JOIN pf_seen s ON s.id = c.id "
        "WHERE c.parent_id IS NOT NULL "
        "AND c.parent_id NOT IN (SELECT id FROM categories)";
    static const char fix[] =
        "UPDATE categories SET parent_id = NULL WHERE parent_id IS NOT NULL"
        " AND parent_id NOT IN (SELECT id FROM categories)";
    sqlite3_stmt *st = store_stmt(im->s, sql, err);
    int rc;

    if (st == NULL)
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        warnf(im, "%s:%lld: field 'parent_id': category '%s' does not "
              "exist; '%s' treated as top-level", im->path,
              (long long)sqlite3_column_int64(st, 2),
              (const char *)sqlite3_column_text(st, 1),
              (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        pf_errf(err, "%s: checking category parents: %s", im->path,
                sqlite3_errmsg(store_db(im->s)));
        return -1;
    }
    if (store_exec(im->s, fix, err) != 0)
        return -1;
    return store_rebuild_category_paths(im->s, err);
}

/* The single count an SQL statement returns. */
static int
count_rows(struct imp *im, const char *sql, long *out, struct pf_err *err)
{
    sqlite3_stmt *st = store_stmt(im->s, sql, err);
    int rc;

    if (st == NULL)
        return -1;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = (long)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW) {
        pf_errf(err, "%s: counting %s: %s", im->path, im->ent->stream,
                sqlite3_errmsg(store_db(im->s)));
        return -1;
    }
    return 0;
}

/* 1 when the bookmark says the file is unchanged since its last clean
 * import, 0 when it must be read, -1 on failure. */
static int
unchanged(struct imp *im, struct ndjson_reader *rd, const char *prefix,
          struct pf_err *err)
{
    char *old = NULL, sha[65];
    int rc = 0;

    if (store_get_bookmark(im->s, im->ent->stream, &old, err) != 0)
        return -1;
    /* Size and mtime alone can miss an edit within one clock tick, so a
     * matching prefix is confirmed by the content hash. */
    if (old != NULL && strncmp(old, prefix, strlen(prefix)) == 0) {
        if (ndjson_digest_file(rd, sha, err) != 0)
            rc = -1;
        else
            rc = strcmp(old + strlen(prefix), sha) == 0;
    }
    free(old);
    return rc;
}

/* Reads every line of the file into the store. */
static int
read_rows(struct imp *im, struct ndjson_reader *rd, struct pf_err *err)
{
    char *line, *p;
    size_t len;
    int r;

    for (;;) {
        r = ndjson_next(rd, &line, &len, err);
        im->line = ndjson_line_number(rd);
        if (r == NDJSON_EOF)
            return 0;
        if (r == NDJSON_ERROR)
            return -1;
        if (r == NDJSON_TOO_LONG) {
            warnf(im, "%s:%ld: line of %zu bytes is longer than max_line "
                  "(%zu bytes); skipped", im->path, im->line, len,
                  im->max_line);
            unsound(im, "longer than max_line");
            continue;
        }
        p = line;
        if (im->line == 1 && len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
            p += 3;         /* a BOM some spreadsheet exports write */
            len -= 3;
        }
        while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == ' ' ||
                           p[len - 1] == '\t'))
            p[--len] = '\0';
        if (strspn(p, " \t") == len)
            continue;
        r = import_line(im, p, len);
        pf_arena_reset(&im->arena);
        if (r == ROW_FAIL) {
            pf_errf(err, "%s:%ld: store: %s", im->path, im->line,
                    sqlite3_errmsg(store_db(im->s)));
            return -1;
        }
        if (r == ROW_OK)
            im->rows++;
    }
}

/* The keys the file lists, and the stored rows it does not list. When
 * every listed key names a stored row (no row was refused, so each one
 * was written or was there), the rows it does not list are the table's
 * count less the listed keys: two counts of whole B-trees, instead of a
 * pass that looks every stored key up among the seen ones. */
static int
count_missing(struct imp *im, long *listed, long *missing,
              struct pf_err *err)
{
    const struct entity *en = im->ent;
    long total = 0;

    if (count_rows(im, en->listed_sql, listed, err) != 0)
        return -1;
    if (im->refused == 0) {
        if (count_rows(im, en->total_sql, &total, err) != 0)
            return -1;
        if (total >= *listed) {
            *missing = total - *listed;
            return 0;
        }
    }
    return count_rows(im, en->missing_sql, missing, err);
}

/* Why the file cannot be trusted to remove what it does not list, into
 * b; b stays empty when it can. The drop is the share of every key known
 * (stored or listed) that would go: a held file's new rows land, and a
 * share of the table alone would shrink with each re-read until the same
 * file passed the gate unforced. */
static void
doubts(struct imp *im, int ended_nl, long listed, long missing,
       struct pf_buf *b)
{
    long known = listed + missing;

    if (im->bad_lines > 0) {
        pf_buf_addf(b, "line %ld: %s", im->first_bad, im->first_bad_why);
        if (im->bad_lines > 1)
            pf_buf_addf(b, " (and %ld more bad line%s)", im->bad_lines - 1,
                        im->bad_lines == 2 ? "" : "s");
    }
    if (!ended_nl)
        pf_buf_addf(b, "%sno newline at the end (cut off while being "
                    "written?)", b->len > 0 ? "; " : "");
    if (missing > 0 && (double)missing > im->o->max_drop * (double)known)
        pf_buf_addf(b, "%sit would remove %ld of %ld %s (%.0f%%), more than "
                    "max_drop = %.0f%% allows", b->len > 0 ? "; " : "",
                    missing, known, im->ent->stream,
                    100.0 * (double)missing / (double)known,
                    100.0 * im->o->max_drop);
}

/* The snapshot: removes the rows the file no longer lists, unless the
 * file is in doubt. Then nothing is removed and the file is held (or,
 * with force, the rows are removed anyway). Returns 1 applied, 0 held,
 * -1 when the store fails. */
static int
apply_snapshot(struct imp *im, int ended_nl, long *removed,
               struct pf_err *err)
{
    const struct entity *en = im->ent;
    struct pf_buf why;
    long missing = 0, listed = 0;
    int rc = -1;

    *removed = 0;
    if (count_missing(im, &listed, &missing, err) != 0)
        return -1;
    pf_buf_init(&why);
    doubts(im, ended_nl, listed, missing, &why);
    if (why.len > 0 && !im->o->force) {
        char kept[96] = "";

        if (missing > 0)
            snprintf(kept, sizeof(kept), " (%ld %s it does not list "
                     "stay)", missing, en->stream);
        if (im->rep != NULL)
            sync_hold(im->rep, en->stream, "%s is not trusted as a "
                      "complete snapshot: %s. Its good rows were "
                      "imported, nothing was removed%s, and it will be "
                      "read again. Fix the export, or sync with --force "
                      "to accept it", im->path, why.data, kept);
        rc = 0;
        goto cleanup;
    }
    if (why.len > 0)
        warnf(im, "%s: %s; --force: removing what it does not list anyway",
              im->path, why.data);
    /* Nothing to remove: spare the DELETE its pass over the table. */
    if (missing > 0) {
        if (store_exec(im->s, en->snapshot_sql, err) != 0)
            goto cleanup;
        *removed = sqlite3_changes(store_db(im->s));
    }
    if (im->rows == 0 && *removed > 0)
        log_warn("%s has no valid rows: removed all %ld %s from the store",
                 im->path, *removed, en->stream);
    rc = 1;
cleanup:
    pf_buf_free(&why);
    return rc;
}

/* Imports one entity file. *imported is set when the file was read (not
 * skipped and not missing), held or not. */
static int
import_file(struct imp *im, int full, int *imported, struct pf_err *err)
{
    const struct entity *en = im->ent;
    char *path = pf_path_join(im->o->dir, en->file);
    char *bookmark = NULL;
    char prefix[64], sha[65];
    const struct stat *sb;
    struct ndjson_reader *rd = NULL;
    int rc = -1, in_tx = 0, r, applied;
    long removed = 0;
    double t0 = pf_now_mono();

    *imported = 0;
    im->path = path;
    im->line = 0;
    im->rows = im->warnings = im->bad_lines = im->refused = 0;
    r = ndjson_open(path, im->max_line, &rd, err);
    if (r != 0) {
        if (r > 0) {
            log_debug("%s: not present, skipped", path);
            rc = 0;
        }
        goto cleanup;
    }
    sb = ndjson_stat(rd);
    snprintf(prefix, sizeof(prefix), "%lld:%lld:", (long long)sb->st_size,
             (long long)sb->st_mtim.tv_sec * 1000000000LL +
                 (long long)sb->st_mtim.tv_nsec);
    r = full ? 0 : unchanged(im, rd, prefix, err);
    if (r != 0) {
        if (r > 0) {
            log_info("skipped %s: unchanged since the last import", path);
            rc = 0;
        }
        goto cleanup;
    }

    if (store_exec(im->s, "DELETE FROM pf_seen; DELETE FROM pf_seen2",
                   err) != 0 || store_begin(im->s, err) != 0)
        goto cleanup;
    in_tx = 1;
    free(im->refs[0].id);
    free(im->refs[1].id);
    memset(im->refs, 0, sizeof(im->refs));
    if (read_rows(im, rd, err) != 0 || ndjson_digest(rd, sha, err) != 0)
        goto cleanup;
    applied = apply_snapshot(im, ndjson_ended_with_newline(rd), &removed,
                             err);
    if (applied < 0)
        goto cleanup;
    if (en->row == row_category && settle_parents(im, err) != 0)
        goto cleanup;
    /* A held file is not bookmarked as imported: the next sync reads it
     * again. The mark shows in `posfeed status`. */
    bookmark = xasprintf("%s%s%s", applied ? "" : "held:", prefix, sha);
    if (store_set_bookmark(im->s, en->stream, bookmark, err) != 0 ||
        store_commit(im->s, err) != 0)
        goto cleanup;
    in_tx = 0;
    *imported = 1;
    if (im->rep != NULL)
        sync_rows(im->rep, en->stream, im->rows, removed);
    log_info("imported %s: %ld rows, %ld removed%s, %ld warnings (%.1f s)",
             path, im->rows, removed, applied ? "" : " (held back)",
             im->warnings, pf_now_mono() - t0);
    rc = 0;
cleanup:
    if (in_tx)
        store_rollback(im->s);
    if (rc != 0)
        pf_err_prefix(err, "file source");
    ndjson_close(rd);
    while (im->nunknown > 0)
        free(im->unknown[--im->nunknown]);
    free(bookmark);
    free(path);
    im->path = NULL;
    return rc;
}

void
source_file_opts_init(struct source_file_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->max_drop = SOURCE_FILE_MAX_DROP_DEFAULT;
    o->max_line = NDJSON_MAX_LINE_DEFAULT;
    o->seen_cache_kib = SOURCE_FILE_SEEN_CACHE;
}

int
source_file_sync(struct store *s, const struct source_file_opts *o,
                 struct sync_report *rep, struct pf_err *err)
{
    /* The keys a file lists go to TEMP tables, which SQLite keeps in a
     * temporary file behind a page cache of its own (temp.cache_size)
     * rather than in memory: a file of millions of rows then costs no
     * more memory than one of thousands, and the store itself is not
     * written to mark what was seen, so an unchanged re-import still
     * writes nothing. Switching temp_store drops the connection's TEMP
     * tables, which is why it is done before they are made and undone
     * (dropping them) at the end. */
    static const char temp[] =
        "PRAGMA temp_store = FILE;"
        "CREATE TEMP TABLE IF NOT EXISTS pf_seen("
        "  id TEXT PRIMARY KEY, line INTEGER) WITHOUT ROWID;"
        "CREATE TEMP TABLE IF NOT EXISTS pf_seen2("
        "  a TEXT, b TEXT, PRIMARY KEY (a, b)) WITHOUT ROWID;";
    const char *dir = o->dir;
    char cache[64];
    struct imp im;
    struct stat sb;
    unsigned done = 0;
    int i, imported, rc = -1;

    if (stat(dir, &sb) != 0 || access(dir, R_OK | X_OK) != 0) {
        pf_errf(err, "file source %s: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(sb.st_mode)) {
        pf_errf(err, "file source %s: not a folder", dir);
        return -1;
    }
    memset(&im, 0, sizeof(im));
    im.s = s;
    im.rep = rep;
    im.o = o;
    im.max_line = o->max_line > 0 ? o->max_line : NDJSON_MAX_LINE_DEFAULT;
    pf_arena_init(&im.arena);
    pf_buf_init(&im.tmp);
    if (store_exec(s, temp, err) != 0)
        goto cleanup;
    snprintf(cache, sizeof(cache), "PRAGMA temp.cache_size = -%zu",
             o->seen_cache_kib > 0 ? o->seen_cache_kib
                                   : (size_t)SOURCE_FILE_SEEN_CACHE);
    if (store_exec(s, cache, err) != 0)
        goto cleanup;

    for (i = 0; i < E_N; i++) {
        const struct entity *en = &entities[i];

        im.ent = en;
        /* A re-read parent may have let rows in or cascaded rows out. */
        if (import_file(&im, o->full || (done & en->deps) != 0,
                        &imported, err) != 0)
            goto cleanup;
        if (imported)
            done |= BIT(i);
    }
    rc = 0;
cleanup:
    /* Back to the store's default; drops the seen-key tables and their
     * temporary file. */
    store_exec(s, "PRAGMA temp_store = MEMORY", NULL);
    free(im.refs[0].id);
    free(im.refs[1].id);
    pf_arena_free(&im.arena);
    pf_buf_free(&im.tmp);
    ndjson_marks_free(&im.marks);
    return rc;
}

/* ---- the source type ---------------------------------------------------- */

static const struct pf_key_def file_keys[] = {
    {"path", PF_KEY_DIR, 1, NULL, 0, 0, NULL},
    /* SOURCE_FILE_MAX_DROP_DEFAULT and NDJSON_MAX_LINE_DEFAULT, as
     * written in a config. */
    {"max_drop", PF_KEY_FRACTION, 0, NULL, 0, 0, "25%"},
    {"max_line", PF_KEY_SIZE, 0, NULL, 1024 * 1024, 1024 * 1024 * 1024,
     "16M"},
    {NULL, PF_KEY_TEXT, 0, NULL, 0, 0, NULL}
};

static int
file_open(struct source_ctx *ctx, void **state, struct pf_err *err)
{
    const struct pf_source_cfg *sc = &ctx->cfg->source;
    struct source_file_opts *o = xcalloc(1, sizeof(*o));

    (void)err;
    source_file_opts_init(o);
    o->dir = pf_source_str(sc, "path");
    o->default_currency = ctx->cfg->currency;
    o->full = ctx->full;
    o->force = ctx->force;
    o->max_drop = pf_source_frac(sc, "max_drop");
    o->max_line = (size_t)pf_source_size(sc, "max_line");
    *state = o;
    return 0;
}

/* The folder is one stream: source_file_sync() orders the entity files
 * by what they depend on and gives each its own transaction. */
static int
file_pull(void *state, struct source_ctx *ctx, struct pf_err *err)
{
    return source_file_sync(ctx->store, state, ctx->rep, err);
}

static void
file_close(void *state, struct source_ctx *ctx)
{
    (void)ctx;
    free(state);
}

static const struct source_stream file_streams[] = {
    {"files", file_pull},
    {NULL, NULL}
};

const struct source_type source_file_type = {
    .name = "file",
    .keys = file_keys,
    .open = file_open,
    .streams = file_streams,
    .close = file_close,
    .count_orders = source_file_count_orders,
};
