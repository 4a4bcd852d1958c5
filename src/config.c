/* config.c - posfeed.conf: parsing with libinih, validation, defaults,
 * secrets, template lookup and the starter file written by `posfeed init`.
 *
 * libinih does the INI lexing (comments, "key = value", BOM); this file
 * feeds it lines from memory through ini_parse_stream() so it always knows
 * the current line number, and it reads [section] headers itself so that
 * empty sections, misspelt sections and the header line of each section
 * are known (the packaged libinih neither passes line numbers nor reports
 * section headers). Leading whitespace is removed before inih sees a line,
 * which turns off inih's multi-line continuation: an indented key is just
 * a key.
 *
 * Per-feed sync overrides are recorded while parsing and applied after the
 * whole file is read, so a [feed] may come before [sync].
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_publish.h"
#include "names.h"

#ifndef PF_DATADIR
#define PF_DATADIR "/usr/local/share/posfeed"
#endif

#define CONFIG_MAX_BYTES (1024 * 1024)
#define SECRET_MAX_BYTES (64 * 1024)

enum section {
    SEC_NONE = 0,
    SEC_SHOP,
    SEC_SOURCE,
    SEC_SYNC,
    SEC_FEED,
    SEC_SERVE,
    SEC_PUSH,
    SEC_PUBLISH,
    SEC_COUNT
};

static const char *const section_names[SEC_COUNT] = {
    "", "shop", "source", "sync", "feed", "serve", "push klaviyo",
    "publish"
};

/* Key names per section: for did-you-mean and "belongs in [x]" hints. The
 * parsing itself is in the *_key() functions below. */
static const char *const shop_keys[] = {
    "name", "timezone", "currency", "url", "store", "feeds_dir", NULL
};
/* The rest of [source] comes from the type's own table (config.h). */
static const char *const source_keys[] = { "type", NULL };
/* Every [sync] key but the last ("schedule") may be overridden per feed. */
static const char *const sync_keys[] = {
    "attributes", "custom_attributes", "orders_lookback",
    "accepted_order_statuses", "include_out_of_stock", "collect_emails",
    "include_customers", "include_variants", "include_variant_stock",
    "variant_stock_tracking", "include_hidden_categories",
    "include_ratings", "include_pages", "include_free_products", "schedule",
    NULL
};
static const char *const feed_keys[] = {
    "template", "output", "gzip", "access", "max_drop", "max_file_size",
    "format", "include", "exclude", NULL
};
static const char *const serve_keys[] = {
    "listen", "token", "token_file", "max_connections", "per_ip_limit",
    "timeout", "header_timeout", "tls_cert", "tls_key", "clerk_v2",
    "clerk_public_key", "clerk_verify_url", "clerk_token_ttl",
    "clerk_page_base", "clerk_modified_slack", "shops", "workers",
    "jitter", "run_timeout", NULL
};
/* [serve] keys of the server as a whole: a shop's file under a server
 * config may not set them (the server has one listener and one pool). */
static const char *const server_keys[] = {
    "listen", "tls_cert", "tls_key", "max_connections", "per_ip_limit",
    "timeout", "header_timeout", "shops", "workers", "jitter",
    "run_timeout", NULL
};
static const char *const push_keys[] = {
    "api_key", "api_key_file", "api_url", "revision", "events",
    "profiles", "list", "since", "events_feed", "profiles_feed", NULL
};
static const char *const publish_keys[] = {
    "url", "endpoint", "region", "access_key", "access_key_file",
    "secret_key", "secret_key_file", "cache_control", "path_style",
    "private_feeds", "retries", NULL
};
static const char *const *const section_keys[SEC_COUNT] = {
    NULL, shop_keys, source_keys, sync_keys, feed_keys, serve_keys,
    push_keys, publish_keys
};

static const char *const shop_required[] = {
    "name", "timezone", "currency", "url", NULL
};

/* Keys already set in one section, for duplicate detection. */
struct seen {
    char *key;
    int line;
};
struct seenset {
    struct seen *v;
    size_t n;
};

/* A sync key set inside a [feed], applied once [sync] is known. */
struct override {
    char *key;
    char *value;
    int line;
};

struct feed_state {
    struct seenset seen;
    struct override *ov;
    size_t nov;
};

/* Parser state shared by the line reader and the inih handler. */
struct load {
    const char *path;
    struct pf_config *c;
    struct pf_err *err;
    int failed;
    int fail_line;
    /* the file, handed to inih one line at a time */
    const char *text;
    size_t len, pos;
    int lineno;
    /* where we are */
    enum section sec;
    int sec_line[SEC_COUNT];
    struct seenset seen[SEC_COUNT];
    struct feed_state *fs;          /* parallel to c->feeds */
    /* [source]: the registry, and the keys other than type, validated
     * once the whole section (and so its type) is known */
    pf_source_types_fn *types;
    struct override *src;
    size_t nsrc;
    int shop_file;      /* a shop's file under a server config */
};

static int fail(struct load *L, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records the first error only: later ones are usually consequences. */
static int
fail(struct load *L, int line, const char *fmt, ...)
{
    char msg[PF_ERR_LEN];
    va_list ap;

    if (L->failed)
        return -1;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line > 0)
        pf_errf(L->err, "%s:%d: %s", L->path, line, msg);
    else
        pf_errf(L->err, "%s: %s", L->path, msg);
    L->failed = 1;
    L->fail_line = line > 0 ? line : INT_MAX;
    return -1;
}

/* ---- small containers ------------------------------------------------- */

static int
seen_line(const struct seenset *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].key, key) == 0)
            return s->v[i].line;
    return 0;
}

static void
seen_add(struct seenset *s, const char *key, int line)
{
    s->v = xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
    s->v[s->n].key = xstrdup(key);
    s->v[s->n].line = line;
    s->n++;
}

static void
seen_free(struct seenset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].key);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

int
pf_strlist_has(const struct pf_strlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i], s) == 0)
            return 1;
    return 0;
}

static void
strlist_free(struct pf_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

static void
strlist_add(struct pf_strlist *l, const char *s, size_t n)
{
    l->items = xrealloc(l->items, (l->n + 1) * sizeof(*l->items));
    l->items[l->n++] = xstrndup(s, n);
}

static void
strlist_copy(struct pf_strlist *dst, const struct pf_strlist *src)
{
    dst->items = NULL;
    dst->n = 0;
    for (size_t i = 0; i < src->n; i++)
        strlist_add(dst, src->items[i], strlen(src->items[i]));
}

static int
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
           c == '\v';
}

/* Comma-separated, each item trimmed, empty items dropped. */
static void
split_list(const char *v, struct pf_strlist *l)
{
    const char *p = v;

    strlist_free(l);
    while (*p) {
        const char *end = strchr(p, ',');
        const char *s = p, *e = end ? end : p + strlen(p);

        while (s < e && is_space(*s))
            s++;
        while (e > s && is_space(e[-1]))
            e--;
        if (e > s)
            strlist_add(l, s, (size_t)(e - s));
        if (end == NULL)
            break;
        p = end + 1;
    }
}

/* ---- value parsers ---------------------------------------------------- */

static int
parse_bool(const char *v, int *out)
{
    static const char *const yes[] = { "yes", "true", "1", "on", NULL };
    static const char *const no[] = { "no", "false", "0", "off", NULL };

    for (int i = 0; yes[i]; i++) {
        if (pf_strcaseeq(v, yes[i])) {
            *out = 1;
            return 0;
        }
        if (pf_strcaseeq(v, no[i])) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

/* A plain decimal integer in [min, max]. */
static int
parse_long(const char *v, long min, long max, long *out)
{
    long n = 0;
    const char *p = v;

    if (*p == '\0')
        return -1;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        if (n > (LONG_MAX - 9) / 10)
            return -1;
        n = n * 10 + (*p - '0');
    }
    if (n < min || n > max)
        return -1;
    *out = n;
    return 0;
}

/* Splits "N word" (or "Nword") into the number and the word. */
static int
parse_count_unit(const char *v, long max, long *n, const char **unit)
{
    char num[24];
    size_t i = 0;

    while (v[i] >= '0' && v[i] <= '9') {
        if (i + 1 >= sizeof(num))
            return -1;
        num[i] = v[i];
        i++;
    }
    num[i] = '\0';
    if (parse_long(num, 1, max, n) < 0)
        return -1;
    while (is_space(v[i]))
        i++;
    *unit = v + i;
    return 0;
}

/* orders_lookback = all | N days|months|years. The caps are far beyond
 * any shop's history; they only stop arithmetic overflow. */
static int
parse_lookback(const char *v, struct pf_sync_settings *s)
{
    long n;
    const char *u;

    if (pf_strcaseeq(v, "all")) {
        s->lookback_all = 1;
        s->lookback_n = 0;
        s->lookback_unit = PF_SPAN_DAYS;
        return 0;
    }
    if (parse_count_unit(v, 100000, &n, &u) < 0)
        return -1;
    if (pf_strcaseeq(u, "day") || pf_strcaseeq(u, "days"))
        s->lookback_unit = PF_SPAN_DAYS;
    else if (pf_strcaseeq(u, "month") || pf_strcaseeq(u, "months"))
        s->lookback_unit = PF_SPAN_MONTHS;
    else if (pf_strcaseeq(u, "year") || pf_strcaseeq(u, "years"))
        s->lookback_unit = PF_SPAN_YEARS;
    else
        return -1;
    s->lookback_all = 0;
    s->lookback_n = (int)n;
    return 0;
}

/* schedule = on-demand | daily HH:MM | every N minutes|hours. */
static int
parse_schedule(const char *v, struct pf_schedule *sc)
{
    long n;
    const char *u;

    memset(sc, 0, sizeof(*sc));
    if (pf_strcaseeq(v, "on-demand")) {
        sc->kind = PF_SCHED_ON_DEMAND;
        return 0;
    }
    if (strncmp(v, "daily", 5) == 0 && is_space(v[5])) {
        const char *p = v + 5;
        int h = 0, m = 0, hd = 0;

        while (is_space(*p))
            p++;
        while (*p >= '0' && *p <= '9' && hd < 2) {
            h = h * 10 + (*p++ - '0');
            hd++;
        }
        if (hd == 0 || *p++ != ':')
            return -1;
        if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9' ||
            p[2] != '\0')
            return -1;
        m = (p[0] - '0') * 10 + (p[1] - '0');
        if (h > 23 || m > 59)
            return -1;
        sc->kind = PF_SCHED_DAILY;
        sc->hour = h;
        sc->minute = m;
        return 0;
    }
    if (strncmp(v, "every", 5) == 0 && is_space(v[5])) {
        const char *p = v + 5;

        while (is_space(*p))
            p++;
        /* At most a week between runs: longer is a mistake, not a plan. */
        if (parse_count_unit(p, 10080, &n, &u) < 0)
            return -1;
        if (pf_strcaseeq(u, "minute") || pf_strcaseeq(u, "minutes"))
            sc->interval_s = n * 60;
        else if (pf_strcaseeq(u, "hour") || pf_strcaseeq(u, "hours"))
            sc->interval_s = n * 3600;
        else
            return -1;
        if (sc->interval_s > 7L * 86400)
            return -1;
        sc->kind = PF_SCHED_EVERY;
        return 0;
    }
    return -1;
}

/* A duration: 0, or N with a unit: s, m, h (or second(s), minute(s),
 * hour(s)), e.g. 15m, 2h, "90 seconds". */
static int
parse_duration(const char *v, int64_t max_s, int64_t *out)
{
    long n;
    const char *u;
    int64_t mul;

    if (strcmp(v, "0") == 0) {
        *out = 0;
        return 0;
    }
    if (parse_count_unit(v, 10000000, &n, &u) < 0)
        return -1;
    if (strcmp(u, "s") == 0 || pf_strcaseeq(u, "second") ||
        pf_strcaseeq(u, "seconds"))
        mul = 1;
    else if (strcmp(u, "m") == 0 || pf_strcaseeq(u, "minute") ||
             pf_strcaseeq(u, "minutes"))
        mul = 60;
    else if (strcmp(u, "h") == 0 || pf_strcaseeq(u, "hour") ||
             pf_strcaseeq(u, "hours"))
        mul = 3600;
    else
        return -1;
    if ((int64_t)n * mul > max_s)
        return -1;
    *out = (int64_t)n * mul;
    return 0;
}

/* max_drop = 50% or 0.5, within 0..1. Parsed by hand: strtod() would
 * follow LC_NUMERIC. */
static int
parse_fraction(const char *v, double *out)
{
    const char *p = v;
    double val = 0, scale = 1;
    int digits = 0;

    while (*p >= '0' && *p <= '9' && digits < 12) {
        val = val * 10 + (*p++ - '0');
        digits++;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9' && digits < 12) {
            scale /= 10;
            val += (*p++ - '0') * scale;
            digits++;
        }
    }
    if (digits == 0)
        return -1;
    if (*p == '%') {
        p++;
        val /= 100;
    }
    if (*p != '\0' || val > 1)
        return -1;
    *out = val;
    return 0;
}

/* listen = PORT | ADDR:PORT | [IPv6]:PORT. *addr is NULL for PORT. */
static int
parse_listen(const char *v, char **addr, int *port)
{
    const char *portstr, *colon;
    char *a = NULL;
    long p;

    if (v[0] == '[') {
        const char *close = strchr(v, ']');

        if (close == NULL || close[1] != ':' || close == v + 1)
            return -1;
        a = xstrndup(v + 1, (size_t)(close - v - 1));
        portstr = close + 2;
    }
    else if ((colon = strrchr(v, ':')) != NULL) {
        /* A second colon means a bare IPv6 address: ambiguous. */
        if (colon == v || memchr(v, ':', (size_t)(colon - v)) != NULL)
            return -1;
        a = xstrndup(v, (size_t)(colon - v));
        portstr = colon + 1;
    }
    else {
        portstr = v;
    }
    if (parse_long(portstr, 1, 65535, &p) < 0) {
        free(a);
        return -1;
    }
    *addr = a;
    *port = (int)p;
    return 0;
}

static int
is_http_url(const char *v)
{
    const char *host;

    if (strncmp(v, "https://", 8) == 0)
        host = v + 8;
    else if (strncmp(v, "http://", 7) == 0)
        host = v + 7;
    else
        return 0;
    if (*host == '\0' || *host == '/')
        return 0;
    for (const char *p = v; *p; p++)
        if (is_space(*p))
            return 0;
    return 1;
}

static int
is_env_name(const char *s)
{
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
          *s == '_'))
        return 0;
    for (s++; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
              (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

static int
is_feed_name(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
              (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

static int
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* ---- did-you-mean ----------------------------------------------------- */

/* Close enough to be a typo: two edits, three for long names. */
static size_t
typo_limit(const char *cand)
{
    return strlen(cand) >= 10 ? 3 : 2;
}

/* The candidate nearest to word within typo distance, or NULL. Looks in
 * up to two NULL-terminated lists; skip names one not to suggest. */
static const char *
closest(const char *word, const char *const *a, const char *const *b,
        const char *skip)
{
    const char *const *lists[2] = { a, b };
    const char *best = NULL;
    size_t best_d = (size_t)-1;

    for (int l = 0; l < 2; l++) {
        if (lists[l] == NULL)
            continue;
        for (size_t i = 0; lists[l][i]; i++) {
            const char *cand = lists[l][i];
            size_t d;

            if (skip && strcmp(cand, skip) == 0)
                continue;
            d = pf_edit_distance(word, cand);
            if (d <= typo_limit(cand) && d < best_d) {
                best = cand;
                best_d = d;
            }
        }
    }
    return best;
}

static int
in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

/* "[shop]" or "[feed clerk]" for messages. */
static const char *
sec_label(struct load *L, char *buf, size_t n)
{
    if (L->sec == SEC_FEED)
        snprintf(buf, n, "[feed %s]", L->c->feeds[L->c->nfeeds - 1].name);
    else
        snprintf(buf, n, "[%s]", section_names[L->sec]);
    return buf;
}

static int key_index(const struct pf_key_def *keys, const char *key);

/* key is a [source] key of some registered type. */
static int
any_source_key(struct load *L, const char *key)
{
    struct pf_source_schema sch;

    for (size_t i = 0; L->types != NULL && L->types(i, &sch); i++)
        if (key_index(sch.keys, key) >= 0)
            return 1;
    return 0;
}

static int
unknown_key(struct load *L, int line, const char *key)
{
    char label[96];
    const char *hint;

    sec_label(L, label, sizeof(label));
    if (L->sec == SEC_FEED && strcmp(key, "schedule") == 0)
        return fail(L, line, "schedule is set once in [sync]; a feed "
                    "cannot override it");
    for (int s = SEC_SHOP; s < SEC_COUNT; s++) {
        if (s == (int)L->sec || !(in_list(section_keys[s], key) ||
                                  (s == SEC_SOURCE && any_source_key(L, key))))
            continue;
        if (s == SEC_SYNC && L->sec == SEC_FEED)
            continue;
        if (s == SEC_FEED)
            return fail(L, line, "unknown key '%s' in %s; it belongs in "
                        "a [feed NAME] section", key, label);
        return fail(L, line, "unknown key '%s' in %s; it belongs in [%s]",
                    key, label, section_names[s]);
    }
    if (L->sec == SEC_FEED)
        hint = closest(key, feed_keys, sync_keys, "schedule");
    else
        hint = closest(key, section_keys[L->sec], NULL, NULL);
    if (hint)
        return fail(L, line, "unknown key '%s' in %s; did you mean '%s'?",
                    key, label, hint);
    return fail(L, line, "unknown key '%s' in %s", key, label);
}

/* ---- sections --------------------------------------------------------- */

static void
sync_defaults(struct pf_sync_settings *s)
{
    memset(s, 0, sizeof(*s));
    s->attributes = PF_ATTR_AUTO;
    s->lookback_all = 1;
    s->lookback_unit = PF_SPAN_DAYS;
    strlist_add(&s->accepted_order_statuses, "completed", 9);
    s->include_out_of_stock = 1;
    s->include_variants = 1;
    s->variant_stock_tracking = PF_TRACK_VARIANTS;
    /* include_ratings, include_pages, include_free_products: no. */
}

static void
sync_free(struct pf_sync_settings *s)
{
    strlist_free(&s->custom_attributes);
    strlist_free(&s->accepted_order_statuses);
}

static void
sync_copy(struct pf_sync_settings *dst, const struct pf_sync_settings *src)
{
    *dst = *src;
    strlist_copy(&dst->custom_attributes, &src->custom_attributes);
    strlist_copy(&dst->accepted_order_statuses,
                 &src->accepted_order_statuses);
}

/* Sets one sync key (not schedule). Returns 0, -1 with a message in e for
 * a bad value, or 1 when key is not a sync key. */
static int
sync_set(struct pf_sync_settings *s, const char *key, const char *v,
         struct pf_err *e)
{
    static const struct {
        const char *key;
        size_t off;
    } bools[] = {
        { "include_out_of_stock",
          offsetof(struct pf_sync_settings, include_out_of_stock) },
        { "collect_emails",
          offsetof(struct pf_sync_settings, collect_emails) },
        { "include_customers",
          offsetof(struct pf_sync_settings, include_customers) },
        { "include_variants",
          offsetof(struct pf_sync_settings, include_variants) },
        { "include_variant_stock",
          offsetof(struct pf_sync_settings, include_variant_stock) },
        { "include_hidden_categories",
          offsetof(struct pf_sync_settings, include_hidden_categories) },
        { "include_ratings",
          offsetof(struct pf_sync_settings, include_ratings) },
        { "include_pages",
          offsetof(struct pf_sync_settings, include_pages) },
        { "include_free_products",
          offsetof(struct pf_sync_settings, include_free_products) },
    };

    for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
        if (strcmp(key, bools[i].key) != 0)
            continue;
        if (parse_bool(v, (int *)(void *)((char *)s + bools[i].off)) < 0) {
            pf_errf(e, "%s: expected yes/no/true/false/1/0/on/off, "
                    "got '%.80s'", key, v);
            return -1;
        }
        return 0;
    }
    if (strcmp(key, "attributes") == 0) {
        if (pf_strcaseeq(v, "auto")) {
            s->attributes = PF_ATTR_AUTO;
        }
        else if (pf_strcaseeq(v, "none")) {
            s->attributes = PF_ATTR_NONE;
        }
        else {
            pf_errf(e, "attributes: expected auto or none, got '%.80s'", v);
            return -1;
        }
        return 0;
    }
    if (strcmp(key, "custom_attributes") == 0) {
        split_list(v, &s->custom_attributes);
        return 0;
    }
    if (strcmp(key, "accepted_order_statuses") == 0) {
        /* Empty list = every status; "all" says so out loud. */
        if (pf_strcaseeq(v, "all"))
            strlist_free(&s->accepted_order_statuses);
        else
            split_list(v, &s->accepted_order_statuses);
        return 0;
    }
    if (strcmp(key, "orders_lookback") == 0) {
        if (parse_lookback(v, s) < 0) {
            pf_errf(e, "orders_lookback: expected all or N days|months|"
                    "years (e.g. 2 years), got '%.80s'", v);
            return -1;
        }
        return 0;
    }
    if (strcmp(key, "variant_stock_tracking") == 0) {
        if (pf_strcaseeq(v, "variants")) {
            s->variant_stock_tracking = PF_TRACK_VARIANTS;
        }
        else if (pf_strcaseeq(v, "parent")) {
            s->variant_stock_tracking = PF_TRACK_PARENT;
        }
        else {
            pf_errf(e, "variant_stock_tracking: expected variants or "
                    "parent, got '%.80s'", v);
            return -1;
        }
        return 0;
    }
    return 1;
}

/* A string key that must not be empty; replaces any earlier value. */
static int
set_str(struct load *L, int line, char **dst, const char *key,
        const char *v)
{
    if (*v == '\0')
        return fail(L, line, "%s: must not be empty", key);
    free(*dst);
    *dst = xstrdup(v);
    return 0;
}

/* A path key, resolved against the config folder. */
static int
set_path(struct load *L, int line, char **dst, const char *key,
         const char *v)
{
    if (*v == '\0')
        return fail(L, line, "%s: must not be empty", key);
    free(*dst);
    *dst = pf_path_join(L->c->dir, v);
    return 0;
}

/* KEY_file = PATH or KEY = env:VAR into s (base is KEY). The value of
 * KEY is never echoed: it may be the secret itself. */
static int
secret_parse(struct pf_secret *s, const char *dir, int line,
             const char *base, const char *key, const char *v,
             struct pf_err *e)
{
    const char *bad = NULL;

    if (strcmp(key, base) != 0) {               /* KEY_file */
        if (*v == '\0')
            bad = "expected the path of a file holding the secret";
        else if (s->env)
            bad = "not both";
        if (bad == NULL) {
            free(s->file);
            s->file = pf_path_join(dir, v);
        }
    }
    else if (strncmp(v, "env:", 4) != 0) {
        bad = "inline";
    }
    else if (!is_env_name(v + 4)) {
        bad = "expected env: and an environment variable name (letters, "
              "digits, '_')";
    }
    else if (s->file) {
        bad = "not both";
    }
    else {
        free(s->env);
        s->env = xstrdup(v + 4);
    }
    if (bad == NULL) {
        s->line = line;
        return 0;
    }
    if (strcmp(bad, "inline") == 0)
        pf_errf(e, "%s: secrets are not written in the config; put it in "
                "a file and set '%s_file = PATH', or set '%s = "
                "env:VARIABLE'", key, base, base);
    else if (strcmp(bad, "not both") == 0)
        pf_errf(e, "%s: give either %s_file or %s = env:VAR, not both",
                key, base, base);
    else
        pf_errf(e, "%s: %s", key, bad);
    return -1;
}

static int
set_secret(struct load *L, int line, struct pf_secret *s, const char *base,
           const char *key, const char *v)
{
    struct pf_err e;

    if (secret_parse(s, L->c->dir, line, base, key, v, &e) != 0)
        return fail(L, line, "%s", e.msg);
    return 0;
}

static int
shop_key(struct load *L, int line, const char *key, const char *v)
{
    struct pf_config *c = L->c;

    if (strcmp(key, "name") == 0)
        return set_str(L, line, &c->shop_name, key, v);
    if (strcmp(key, "timezone") == 0) {
        if (!pf_tz_valid(v))
            return fail(L, line, "timezone: '%.80s' is not an IANA "
                        "timezone known to this machine (e.g. "
                        "Europe/Amsterdam)", v);
        return set_str(L, line, &c->timezone, key, v);
    }
    if (strcmp(key, "currency") == 0) {
        if (strlen(v) != 3 || v[0] < 'A' || v[0] > 'Z' || v[1] < 'A' ||
            v[1] > 'Z' || v[2] < 'A' || v[2] > 'Z')
            return fail(L, line, "currency: expected a 3-letter ISO 4217 "
                        "code in capitals (e.g. EUR), got '%.80s'", v);
        return set_str(L, line, &c->currency, key, v);
    }
    if (strcmp(key, "url") == 0) {
        size_t n = strlen(v);

        if (!is_http_url(v))
            return fail(L, line, "url: expected an http:// or https:// "
                        "address (e.g. https://shop.example.com), got "
                        "'%.80s'", v);
        while (n > 0 && v[n - 1] == '/')
            n--;
        free(c->shop_url);
        c->shop_url = xstrndup(v, n);
        return 0;
    }
    if (strcmp(key, "store") == 0)
        return set_path(L, line, &c->store_path, key, v);
    if (strcmp(key, "feeds_dir") == 0)
        return set_path(L, line, &c->feeds_dir, key, v);
    return unknown_key(L, line, key);
}

static int parse_size(const char *v, int64_t *out);

/* ---- [source]: the type's key table ----------------------------------- */

/* The registry's type names, NULL-terminated, into names[n]. */
static size_t
type_names(struct load *L, const char **names, size_t n)
{
    struct pf_source_schema sch;
    size_t i = 0;

    while (i + 1 < n && L->types != NULL && L->types(i, &sch))
        names[i++] = sch.name;
    names[i] = NULL;
    return i;
}

/* "a, b or c" into buf. */
static void
join_or(const char *const *names, char *buf, size_t n)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; names[i] != NULL && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%s",
                                 i == 0 ? "" : names[i + 1] ? ", " : " or ",
                                 names[i]);
}

static int
source_type_key(struct load *L, int line, const char *v)
{
    const char *names[32], *hint;
    char list[512];
    size_t n = type_names(L, names, 32);

    for (size_t i = 0; i < n; i++) {
        if (strcmp(v, names[i]) == 0) {
            L->types(i, &L->c->source.schema);
            free(L->c->source.type);
            L->c->source.type = xstrdup(v);
            return 0;
        }
    }
    join_or(names, list, sizeof(list));
    hint = closest(v, names, NULL, NULL);
    if (hint)
        return fail(L, line, "type: expected %s, got '%.80s'; did you mean "
                    "'%s'?", list, v, hint);
    return fail(L, line, "type: expected %s, got '%.80s'", list, v);
}

/* type now; the others once the type is known (it may come last). */
static int
source_key(struct load *L, int line, const char *key, const char *v)
{
    struct override *o;

    if (strcmp(key, "type") == 0)
        return source_type_key(L, line, v);
    L->src = xrealloc(L->src, (L->nsrc + 1) * sizeof(*L->src));
    o = &L->src[L->nsrc++];
    o->key = xstrdup(key);
    o->value = xstrdup(v);
    o->line = line;
    return 0;
}

/* The table entry key is written for: its name, or NAME_file for a
 * secret. -1 if the table has none. */
static int
key_index(const struct pf_key_def *keys, const char *key)
{
    size_t n = strlen(key);

    for (int i = 0; keys[i].name != NULL; i++) {
        size_t m = strlen(keys[i].name);

        if (strcmp(keys[i].name, key) == 0)
            return i;
        if (keys[i].kind == PF_KEY_SECRET && n == m + 5 &&
            strncmp(key, keys[i].name, m) == 0 &&
            strcmp(key + m, "_file") == 0)
            return i;
    }
    return -1;
}

/* A key's text for messages, e.g. "16M", "1G", "1536". */
static void
size_text(int64_t v, char *buf, size_t n)
{
    static const char units[] = "GMK";
    int64_t mult = (int64_t)1024 * 1024 * 1024;

    for (int i = 0; units[i] != '\0'; i++, mult /= 1024) {
        if (v >= mult && v % mult == 0) {
            snprintf(buf, n, "%lld%c", (long long)(v / mult), units[i]);
            return;
        }
    }
    snprintf(buf, n, "%lld", (long long)v);
}

static int
in_bounds(const struct pf_key_def *d, long v)
{
    return (d->min == 0 && d->max == 0) || (v >= d->min && v <= d->max);
}

static int
parse_choice(const struct pf_key_def *d, const char *v, char **out,
             struct pf_err *e)
{
    char list[512];
    const char *hint;

    for (size_t i = 0; d->choices != NULL && d->choices[i]; i++) {
        if (pf_strcaseeq(v, d->choices[i])) {
            free(*out);
            *out = xstrdup(d->choices[i]);
            return 0;
        }
    }
    join_or(d->choices, list, sizeof(list));
    hint = d->choices ? closest(v, d->choices, NULL, NULL) : NULL;
    pf_errf(e, "%s: expected %s, got '%.80s'%s%s%s", d->name, list, v,
            hint ? "; did you mean '" : "", hint ? hint : "",
            hint ? "'?" : "");
    return -1;
}

static int
parse_dir(const char *dir, const struct pf_key_def *d, const char *v,
          char **out, struct pf_err *e)
{
    struct stat st;
    char *p;

    if (*v == '\0') {
        pf_errf(e, "%s: must not be empty", d->name);
        return -1;
    }
    p = pf_path_join(dir, v);
    if (stat(p, &st) != 0 && errno == ENOENT)
        pf_errf(e, "%s: folder %s does not exist; create it and put the "
                "source files in it", d->name, p);
    else if (stat(p, &st) != 0)
        pf_errf(e, "%s: folder %s: %s", d->name, p, strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        pf_errf(e, "%s: %s is not a folder", d->name, p);
    else {
        free(*out);
        *out = p;
        return 0;
    }
    free(p);
    return -1;
}

static int
parse_text_kind(const struct pf_source_cfg *s, const struct pf_key_def *d,
                const char *v, char **out, struct pf_err *e)
{
    size_t n = strlen(v);

    if (d->kind == PF_KEY_CHOICE)
        return parse_choice(d, v, out, e);
    if (d->kind == PF_KEY_DIR)
        return parse_dir(s->dir, d, v, out, e);
    if (*v == '\0') {
        pf_errf(e, "%s: must not be empty", d->name);
        return -1;
    }
    if (d->kind == PF_KEY_URL && !is_http_url(v)) {
        pf_errf(e, "%s: expected an http:// or https:// address, got "
                "'%.80s'", d->name, v);
        return -1;
    }
    while (d->kind == PF_KEY_URL && n > 0 && v[n - 1] == '/')
        n--;
    free(*out);
    *out = d->kind == PF_KEY_PATH ? pf_path_join(s->dir, v)
                                  : xstrndup(v, n);
    return 0;
}

static int
parse_number_kind(const struct pf_key_def *d, const char *v,
                  struct pf_source_val *sv, struct pf_err *e)
{
    char lo[32], hi[32];
    int b;

    switch (d->kind) {
    case PF_KEY_BOOL:
        if (parse_bool(v, &b) == 0) {
            sv->num = b;
            return 0;
        }
        pf_errf(e, "%s: expected yes/no/true/false/1/0/on/off, got "
                "'%.80s'", d->name, v);
        return -1;
    case PF_KEY_FRACTION:
        if (parse_fraction(v, &sv->frac) == 0)
            return 0;
        pf_errf(e, "%s: expected a percentage from 0%% to 100%%, got "
                "'%.80s'", d->name, v);
        return -1;
    case PF_KEY_SIZE:
        if (parse_size(v, &sv->size) == 0 && sv->size != 0 &&
            (d->max == 0 || sv->size <= d->max) && sv->size >= d->min)
            return 0;
        size_text(d->min > 0 ? d->min : 1024 * 1024, lo, sizeof(lo));
        size_text(d->max, hi, sizeof(hi));
        pf_errf(e, "%s: expected a size from %s%s%s such as %s, got "
                "'%.80s'", d->name, lo, d->max ? " to " : " up",
                d->max ? hi : "", d->dflt ? d->dflt : "16M", v);
        return -1;
    default:                    /* INT, SECONDS */
        if (parse_long(v, d->min, d->max ? d->max : LONG_MAX,
                       &sv->num) == 0 && in_bounds(d, sv->num))
            return 0;
        pf_errf(e, "%s: expected %s from %ld to %ld, got '%.80s'", d->name,
                d->kind == PF_KEY_SECONDS ? "seconds" : "a whole number",
                d->min, d->max ? d->max : LONG_MAX, v);
        return -1;
    }
}

/* Parses v (written as key, which may be NAME_file) into s's value for
 * d. line is where the file says it (0: a default or pf_source_set). */
static int
source_val_parse(struct pf_source_cfg *s, const struct pf_key_def *d,
                 const char *key, const char *v, int line,
                 struct pf_err *e)
{
    struct pf_source_val *sv = &s->vals[d - s->schema.keys];
    int rc;

    switch (d->kind) {
    case PF_KEY_SECRET:
        rc = secret_parse(&sv->secret, s->dir, line, d->name, key, v, e);
        break;
    case PF_KEY_TEXT: case PF_KEY_URL: case PF_KEY_PATH: case PF_KEY_DIR:
    case PF_KEY_CHOICE:
        rc = parse_text_kind(s, d, v, &sv->text, e);
        break;
    default:
        rc = parse_number_kind(d, v, sv, e);
        break;
    }
    if (rc != 0)
        return -1;
    sv->set = 1;
    sv->line = line;
    return 0;
}

/* An unknown [source] key: one of another section, of another type, or
 * a typo of one of this type's. */
static int
unknown_source_key(struct load *L, int line, const char *key)
{
    const struct pf_source_cfg *s = &L->c->source;
    const struct pf_key_def *k = s->schema.keys;
    struct pf_source_schema other;
    const char *names[128], *hint;
    char files[32][64];
    size_t n = 0, nf = 0;

    for (size_t i = 0; L->types(i, &other); i++)
        if (strcmp(other.name, s->type) != 0 &&
            key_index(other.keys, key) >= 0)
            return fail(L, line, "%s: a key of [source] type = %s, not of "
                        "type = %s", key, other.name, s->type);
    names[n++] = "type";
    for (size_t i = 0; k[i].name != NULL && n + 2 < 128; i++) {
        names[n++] = k[i].name;
        if (k[i].kind != PF_KEY_SECRET || nf == 32)
            continue;
        snprintf(files[nf], sizeof(files[nf]), "%s_file", k[i].name);
        names[n++] = files[nf++];
    }
    names[n] = NULL;
    hint = closest(key, names, NULL, NULL);
    if (hint != NULL)
        return fail(L, line, "unknown key '%s' in [source]; did you mean "
                    "'%s'?", key, hint);
    L->sec = SEC_SOURCE;        /* for unknown_key()'s label */
    return unknown_key(L, line, key);
}

/* The file's keys, then the table's defaults, then what is required. */
static int
source_values(struct load *L)
{
    struct pf_source_cfg *s = &L->c->source;
    const struct pf_key_def *k = s->schema.keys;
    struct pf_err e;
    int i;

    for (size_t r = 0; r < L->nsrc; r++) {
        const struct override *o = &L->src[r];

        i = key_index(k, o->key);
        if (i < 0)
            return unknown_source_key(L, o->line, o->key);
        if (source_val_parse(s, &k[i], o->key, o->value, o->line, &e) != 0)
            return fail(L, o->line, "%s", e.msg);
    }
    for (i = 0; k[i].name != NULL; i++) {
        if (s->vals[i].set || k[i].dflt == NULL)
            continue;
        if (source_val_parse(s, &k[i], k[i].name, k[i].dflt, 0, &e) != 0)
            return fail(L, s->line, "default of %s: %s", k[i].name, e.msg);
    }
    for (i = 0; k[i].name != NULL; i++) {
        if (!k[i].required || s->vals[i].set)
            continue;
        if (k[i].kind == PF_KEY_SECRET)
            return fail(L, s->line, "[source] type = %s is missing %s_file"
                        " = PATH or %s = env:VAR", s->type, k[i].name,
                        k[i].name);
        return fail(L, s->line, "[source] type = %s is missing required "
                    "key '%s'", s->type, k[i].name);
    }
    return 0;
}

static int
finish_source(struct load *L)
{
    struct pf_source_cfg *s = &L->c->source;
    int line = 0;
    size_t n = 0;
    struct pf_err e;

    s->line = L->sec_line[SEC_SOURCE];
    s->dir = L->c->dir;
    if (s->line == 0)
        return fail(L, 0, "missing section [source] (for example: "
                    "type = file, path = data)");
    if (s->type == NULL)
        return fail(L, s->line, "[source] is missing required key 'type'");
    while (s->schema.keys[n].name != NULL)
        n++;
    s->vals = xcalloc(n + 1, sizeof(*s->vals));
    if (source_values(L) != 0)
        return -1;
    if (s->schema.finish != NULL && s->schema.finish(s, &line, &e) != 0)
        return fail(L, line > 0 ? line : s->line, "%s", e.msg);
    return 0;
}

/* ---- [source] accessors --------------------------------------------- */

static const struct pf_key_def *
source_def(const struct pf_source_cfg *s, const char *key, int kinds)
{
    const struct pf_key_def *k = s->schema.keys;

    for (int i = 0; k != NULL && k[i].name != NULL; i++) {
        if (strcmp(k[i].name, key) != 0)
            continue;
        if ((kinds & (1 << k[i].kind)) == 0)
            break;
        return &k[i];
    }
    fprintf(stderr, "posfeed: internal error: [source] type = %s has no "
            "key '%s' of the kind asked for\n",
            s->type ? s->type : "(none)", key);
    abort();
}

#define K(kind) (1 << (kind))

const char *
pf_source_str(const struct pf_source_cfg *s, const char *key)
{
    const struct pf_key_def *d = source_def(s, key, K(PF_KEY_TEXT) |
        K(PF_KEY_URL) | K(PF_KEY_PATH) | K(PF_KEY_DIR) | K(PF_KEY_CHOICE));

    return s->vals[d - s->schema.keys].text;
}

long
pf_source_long(const struct pf_source_cfg *s, const char *key)
{
    const struct pf_key_def *d = source_def(s, key, K(PF_KEY_INT) |
        K(PF_KEY_SECONDS) | K(PF_KEY_BOOL));

    return s->vals[d - s->schema.keys].num;
}

double
pf_source_frac(const struct pf_source_cfg *s, const char *key)
{
    const struct pf_key_def *d = source_def(s, key, K(PF_KEY_FRACTION));

    return s->vals[d - s->schema.keys].frac;
}

int64_t
pf_source_size(const struct pf_source_cfg *s, const char *key)
{
    const struct pf_key_def *d = source_def(s, key, K(PF_KEY_SIZE));

    return s->vals[d - s->schema.keys].size;
}

const struct pf_secret *
pf_source_secret(const struct pf_source_cfg *s, const char *key)
{
    const struct pf_key_def *d = source_def(s, key, K(PF_KEY_SECRET));

    return &s->vals[d - s->schema.keys].secret;
}

int
pf_source_line(const struct pf_source_cfg *s, const char *key)
{
    const struct pf_key_def *d = source_def(s, key, ~0);

    return s->vals[d - s->schema.keys].line;
}

int
pf_source_has(const struct pf_source_cfg *s, const char *key)
{
    for (int i = 0; s->schema.keys && s->schema.keys[i].name; i++)
        if (strcmp(s->schema.keys[i].name, key) == 0)
            return 1;
    return 0;
}

int
pf_source_set(struct pf_source_cfg *s, const char *key, const char *value,
              struct pf_err *err)
{
    return source_val_parse(s, source_def(s, key, ~0), key, value, 0, err);
}

#undef K

static int
sync_key(struct load *L, int line, const char *key, const char *v)
{
    struct pf_err e;
    int r;

    if (strcmp(key, "schedule") == 0) {
        if (parse_schedule(v, &L->c->schedule) < 0)
            return fail(L, line, "schedule: expected on-demand, daily HH:MM"
                        " (00:00-23:59) or every N minutes|hours (at most "
                        "a week), got '%.80s'", v);
        return 0;
    }
    r = sync_set(&L->c->sync, key, v, &e);
    if (r < 0)
        return fail(L, line, "%s", e.msg);
    if (r > 0)
        return unknown_key(L, line, key);
    return 0;
}

/* "no built-in template 'x' in DIR; did you mean 'clerk'?" needs the
 * names of the built-ins: the .json and .xml files of the folder. */
static void
builtin_hint(const char *spec, char *out, size_t n)
{
    const char *dir = pf_templates_dir();
    DIR *d = opendir(dir);
    struct dirent *de;
    char best[256] = "";
    size_t best_d = (size_t)-1;

    out[0] = '\0';
    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        char name[256];
        size_t len = strlen(de->d_name), d2;

        if (ends_with(de->d_name, ".json"))
            len -= 5;
        else if (ends_with(de->d_name, ".xml"))
            len -= 4;
        else
            continue;
        if (len == 0 || len >= sizeof(name))
            continue;
        memcpy(name, de->d_name, len);
        name[len] = '\0';
        d2 = pf_edit_distance(spec, name);
        if (d2 <= typo_limit(name) && d2 < best_d) {
            best_d = d2;
            memcpy(best, name, len + 1);
        }
    }
    closedir(d);
    if (best[0])
        snprintf(out, n, "; did you mean '%s'?", best);
}

static int
is_builtin_spec(const char *spec)
{
    return strchr(spec, '/') == NULL && !ends_with(spec, ".json") &&
           !ends_with(spec, ".xml") && !ends_with(spec, ".ndjson");
}

/* "100M", "50 MB", "1G", "2048K", "1048576": bytes, 1M at least (a part
 * must hold a row); "0" means no limit. */
static int
parse_size(const char *v, int64_t *out)
{
    char *end;
    double n = strtod(v, &end), bytes;
    int64_t mult = 1;

    while (*end == ' ')
        end++;
    switch (*end) {
    case 'k': case 'K': mult = 1024; end++; break;
    case 'm': case 'M': mult = 1024 * 1024; end++; break;
    case 'g': case 'G': mult = 1024 * 1024 * 1024; end++; break;
    default: break;
    }
    if (mult > 1 && (*end == 'B' || *end == 'b'))
        end++;
    /* Checked as bytes, and so that NaN fails too: converting either
     * to int64_t would be undefined. */
    bytes = n * (double)mult;
    if (end == v || *end != '\0' || !(bytes >= 0 && bytes <= 1e15))
        return -1;
    *out = (int64_t)bytes;
    if (*out != 0 && *out < 1024 * 1024)
        return -1;
    return 0;
}

/* include = A and B, exclude = A or B, set.OBJECT.FIELD = VALUE: checked
 * now (so `posfeed check` names the line), compiled again per build. */
static int
feed_rule(struct load *L, int line, struct pf_feed_cfg *f, const char *key,
          const char *v)
{
    struct pf_rule_text t;
    struct rules *r = NULL;
    struct pf_err e;

    t.kind = key[0] == 'i' ? PF_RULE_INCLUDE
             : key[0] == 'e' ? PF_RULE_EXCLUDE : PF_RULE_SET;
    t.field = t.kind == PF_RULE_SET ? (char *)key + 4 : NULL;
    t.text = (char *)v;
    t.line = line;
    if (rules_compile(&t, 1, NULL, &r, &e) != 0)
        return fail(L, line, "%s", e.msg);
    rules_free(r);
    f->rules = xrealloc(f->rules, (f->nrules + 1) * sizeof(*f->rules));
    t.field = t.field ? xstrdup(t.field) : NULL;
    t.text = xstrdup(v);
    f->rules[f->nrules++] = t;
    return 0;
}

static int
feed_key(struct load *L, int line, const char *key, const char *v)
{
    struct pf_feed_cfg *f = &L->c->feeds[L->c->nfeeds - 1];
    struct feed_state *fs = &L->fs[L->c->nfeeds - 1];
    struct pf_sync_settings scratch;
    struct pf_err e;
    int r;

    if (strcmp(key, "template") == 0) {
        if (*v == '\0')
            return fail(L, line, "template: must not be empty");
        f->template_spec = xstrdup(v);
        f->template_path = pf_template_resolve(v, L->c->dir);
        if (access(f->template_path, R_OK) == 0)
            return 0;
        if (is_builtin_spec(v)) {
            char hint[300];

            builtin_hint(v, hint, sizeof(hint));
            return fail(L, line, "template: no built-in template '%.80s' "
                        "in %s%s", v, pf_templates_dir(), hint);
        }
        return fail(L, line, "template: cannot read %s: %s",
                    f->template_path, strerror(errno));
    }
    if (strcmp(key, "output") == 0) {
        char why[160];

        if (!pf_path_is_contained(v))
            return fail(L, line, "output: '%.80s' must be a relative path "
                        "inside feeds_dir (not absolute, no '..')", v);
        if (pf_names_output_ok(v, why, sizeof(why)) != 0)
            return fail(L, line, "output: '%.80s' %s", v, why);
        return set_str(L, line, &f->output, key, v);
    }
    if (strcmp(key, "gzip") == 0) {
        if (parse_bool(v, &f->gzip) < 0)
            return fail(L, line, "gzip: expected yes/no/true/false/1/0/"
                        "on/off, got '%.80s'", v);
        return 0;
    }
    if (strcmp(key, "access") == 0) {
        if (pf_strcaseeq(v, "token"))
            f->access = PF_ACCESS_TOKEN;
        else if (pf_strcaseeq(v, "public"))
            f->access = PF_ACCESS_PUBLIC;
        else if (pf_strcaseeq(v, "auto"))
            f->access = PF_ACCESS_AUTO;
        else
            return fail(L, line, "access: expected token or public, got "
                        "'%.80s'", v);
        return 0;
    }
    if (strcmp(key, "max_drop") == 0) {
        if (parse_fraction(v, &f->max_drop) < 0)
            return fail(L, line, "max_drop: expected a percentage "
                        "0%%-100%% (e.g. 50%%) or a fraction 0-1 (e.g. "
                        "0.5), got '%.80s'", v);
        return 0;
    }
    if (strcmp(key, "include") == 0 || strcmp(key, "exclude") == 0 ||
        strncmp(key, "set.", 4) == 0)
        return feed_rule(L, line, f, key, v);
    if (strcmp(key, "format") == 0) {
        if (pf_strcaseeq(v, "ndjson"))
            f->ndjson = 1;
        else if (pf_strcaseeq(v, "json"))
            f->ndjson = 0;
        else
            return fail(L, line, "format: expected json or ndjson, got "
                        "'%.80s'", v);
        return 0;
    }
    if (strcmp(key, "max_file_size") == 0) {
        if (parse_size(v, &f->max_file_size) < 0)
            return fail(L, line, "max_file_size: expected a size such as "
                        "100M, 50 MB, 1G or a number of bytes (at least "
                        "1M), or 0 for no limit; got '%.80s'", v);
        f->max_file_size_set = 1;
        return 0;
    }
    /* A sync override: check it now, apply it once [sync] is known. */
    sync_defaults(&scratch);
    r = strcmp(key, "schedule") == 0 ? 1 : sync_set(&scratch, key, v, &e);
    sync_free(&scratch);
    if (r < 0)
        return fail(L, line, "%s", e.msg);
    if (r > 0)
        return unknown_key(L, line, key);
    fs->ov = xrealloc(fs->ov, (fs->nov + 1) * sizeof(*fs->ov));
    fs->ov[fs->nov].key = xstrdup(key);
    fs->ov[fs->nov].value = xstrdup(v);
    fs->ov[fs->nov].line = line;
    fs->nov++;
    return 0;
}

/* [serve]'s many-shops keys (serve_shops.c reads them). */
static int
serve_shops_key(struct load *L, int line, const char *key, const char *v)
{
    struct pf_serve_cfg *s = &L->c->serve;
    long n;

    if (strcmp(key, "shops") == 0) {
        if (*v == '\0')
            return fail(L, line, "shops: expected the folder of the "
                        "shops' NAME.conf files");
        free(s->shops_dir);
        s->shops_dir = pf_path_join(L->c->dir, v);
        return 0;
    }
    if (strcmp(key, "workers") == 0) {
        if (parse_long(v, 1, 256, &n) < 0)
            return fail(L, line, "workers: expected a number from 1 to "
                        "256, got '%.80s'", v);
        s->workers = (int)n;
        s->workers_line = line;
        return 0;
    }
    if (strcmp(key, "jitter") == 0) {
        if (parse_duration(v, 86400, &s->jitter_s) < 0)
            return fail(L, line, "jitter: expected a duration up to 24h "
                        "such as 15m, 2h or 0, got '%.80s'", v);
        s->jitter_line = line;
        return 0;
    }
    if (parse_duration(v, 7 * 86400, &s->run_timeout_s) < 0 ||
        s->run_timeout_s == 0)
        return fail(L, line, "run_timeout: expected a duration from 1s to "
                    "168h such as 30m or 2h, got '%.80s'", v);
    return 0;
}

/* [serve]'s HTTPS and Clerk V2 keys (serve_key() has the rest). */
static int
serve_key_more(struct load *L, int line, const char *key, const char *v)
{
    struct pf_serve_cfg *s = &L->c->serve;
    long n;

    if (strcmp(key, "tls_cert") == 0 || strcmp(key, "tls_key") == 0) {
        int cert = strcmp(key, "tls_cert") == 0;
        char **dst = cert ? &s->tls_cert : &s->tls_key;

        if (*v == '\0')
            return fail(L, line, "%s: expected the path of a PEM file", key);
        free(*dst);
        *dst = pf_path_join(L->c->dir, v);
        *(cert ? &s->tls_cert_line : &s->tls_key_line) = line;
        return 0;
    }
    if (strcmp(key, "clerk_v2") == 0) {
        if (parse_bool(v, &s->clerk_v2) < 0)
            return fail(L, line, "clerk_v2: expected yes or no, got "
                        "'%.80s'", v);
        s->clerk_v2_line = line;
        return 0;
    }
    if (strcmp(key, "clerk_public_key") == 0 ||
        strcmp(key, "clerk_verify_url") == 0) {
        char **dst = key[6] == 'p' ? &s->clerk_public_key
                                   : &s->clerk_verify_url;

        if (*v == '\0')
            return fail(L, line, "%s: empty", key);
        free(*dst);
        *dst = xstrdup(v);
        return 0;
    }
    if (strcmp(key, "clerk_token_ttl") == 0) {
        if (parse_long(v, 0, 86400, &n) < 0)
            return fail(L, line, "clerk_token_ttl: expected seconds from 0 "
                        "to 86400, got '%.80s'", v);
        s->clerk_token_ttl_s = (int)n;
        return 0;
    }
    if (strcmp(key, "clerk_page_base") == 0) {
        if (parse_long(v, 0, 1, &n) < 0)
            return fail(L, line, "clerk_page_base: expected 0 or 1, got "
                        "'%.80s'", v);
        s->clerk_page_base = (int)n;
        return 0;
    }
    if (strcmp(key, "shops") == 0 || strcmp(key, "workers") == 0 ||
        strcmp(key, "jitter") == 0 || strcmp(key, "run_timeout") == 0)
        return serve_shops_key(L, line, key, v);
    if (strcmp(key, "clerk_modified_slack") == 0) {
        if (parse_long(v, 0, 86400, &n) < 0)
            return fail(L, line, "clerk_modified_slack: expected seconds "
                        "from 0 to 86400, got '%.80s'", v);
        s->clerk_slack_s = (int)n;
        return 0;
    }
    return unknown_key(L, line, key);
}

static int
serve_key(struct load *L, int line, const char *key, const char *v)
{
    struct pf_serve_cfg *s = &L->c->serve;
    long n;

    if (L->shop_file && in_list(server_keys, key))
        return fail(L, line, "[serve] %s belongs in the server config, "
                    "not in a shop's file (one listener and one worker "
                    "pool serve every shop)", key);
    if (strcmp(key, "listen") == 0) {
        char *addr = NULL;
        int port;

        if (parse_listen(v, &addr, &port) < 0)
            return fail(L, line, "listen: expected PORT or ADDRESS:PORT "
                        "(e.g. 127.0.0.1:8080 or [::1]:8080), got '%.80s'",
                        v);
        if (addr) {
            free(s->listen_addr);
            s->listen_addr = addr;
        }
        s->port = port;
        return 0;
    }
    if (strcmp(key, "token") == 0 || strcmp(key, "token_file") == 0)
        return set_secret(L, line, &s->token, "token", key, v);
    if (strcmp(key, "max_connections") == 0) {
        if (parse_long(v, 1, 100000, &n) < 0)
            return fail(L, line, "max_connections: expected a number from "
                        "1 to 100000, got '%.80s'", v);
        s->max_connections = (int)n;
        return 0;
    }
    if (strcmp(key, "per_ip_limit") == 0) {
        if (parse_long(v, 1, 100000, &n) < 0)
            return fail(L, line, "per_ip_limit: expected a number from 1 "
                        "to 100000, got '%.80s'", v);
        s->per_ip_limit = (int)n;
        return 0;
    }
    if (strcmp(key, "timeout") == 0) {
        if (parse_long(v, 1, 86400, &n) < 0)
            return fail(L, line, "timeout: expected seconds from 1 to "
                        "86400, got '%.80s'", v);
        s->timeout_s = (int)n;
        return 0;
    }
    if (strcmp(key, "header_timeout") == 0) {
        if (parse_long(v, 1, 3600, &n) < 0)
            return fail(L, line, "header_timeout: expected seconds from 1 "
                        "to 3600, got '%.80s'", v);
        s->header_timeout_s = (int)n;
        return 0;
    }
    return serve_key_more(L, line, key, v);
}

/* ---- [push klaviyo] --------------------------------------------------- */

/* [push TARGET]: klaviyo is the only target. */
static int
enter_push(struct load *L, const char *rest)
{
    struct pf_push_klaviyo *k = &L->c->klaviyo;

    if (strcmp(rest, "klaviyo") != 0)
        return fail(L, L->lineno, "unknown section [push %s]; the only "
                    "push target is [push klaviyo]", rest);
    if (L->sec_line[SEC_PUSH])
        return fail(L, L->lineno, "duplicate section [push klaviyo] "
                    "(first at line %d)", L->sec_line[SEC_PUSH]);
    L->sec = SEC_PUSH;
    L->sec_line[SEC_PUSH] = L->lineno;
    k->set = 1;
    k->line = L->lineno;
    k->api_url = xstrdup("https://a.klaviyo.com");
    k->revision = xstrdup(PF_KLAVIYO_REVISION);
    k->events = PF_PUSH_PLACED | PF_PUSH_ORDERED | PF_PUSH_REFUNDED |
                PF_PUSH_SHIPPED;
    k->profiles = 1;
    k->since_n = 90;
    k->since_unit = PF_SPAN_DAYS;
    return 0;
}

/* events = placed, ordered, refunded, shipped (any of them, or none). */
static int
parse_push_events(const char *v, unsigned *out)
{
    static const char *const names[] = {
        "placed", "ordered", "refunded", "shipped", NULL
    };
    struct pf_strlist l = {NULL, 0};
    unsigned bits = 0;
    int rc = 0;

    split_list(v, &l);
    for (size_t i = 0; i < l.n && rc == 0; i++) {
        int j = 0;

        while (names[j] && !pf_strcaseeq(l.items[i], names[j]))
            j++;
        if (names[j] == NULL && !pf_strcaseeq(l.items[i], "none"))
            rc = -1;
        else if (names[j] != NULL)
            bits |= 1u << j;
    }
    strlist_free(&l);
    *out = bits;
    return rc;
}

/* since = N days|months|years (the span grammar of orders_lookback). */
static int
parse_since(const char *v, int *n, enum pf_span_unit *unit)
{
    struct pf_sync_settings s;

    memset(&s, 0, sizeof(s));
    if (pf_strcaseeq(v, "all") || parse_lookback(v, &s) < 0)
        return -1;
    *n = s.lookback_n;
    *unit = s.lookback_unit;
    return 0;
}

/* A revision is a date, YYYY-MM-DD (Klaviyo may add a suffix such as
 * ".pre"), so a typo fails here rather than as a 400 at push time. */
static int
is_revision(const char *v)
{
    for (int i = 0; i < 10; i++) {
        int want_dash = i == 4 || i == 7;

        if (want_dash ? v[i] != '-' : !(v[i] >= '0' && v[i] <= '9'))
            return 0;
    }
    return v[10] == '\0' || v[10] == '.';
}

/* The rest of push_key(): list, since and the feeds. */
static int
push_key_more(struct load *L, int line, const char *key, const char *v)
{
    struct pf_push_klaviyo *k = &L->c->klaviyo;

    if (strcmp(key, "list") == 0) {
        free(k->list);
        k->list = *v ? xstrdup(v) : NULL;     /* empty: no list */
        return 0;
    }
    if (strcmp(key, "since") == 0) {
        if (parse_since(v, &k->since_n, &k->since_unit) < 0)
            return fail(L, line, "since: expected N days|months|years, "
                        "got '%.80s'", v);
        return 0;
    }
    if (strcmp(key, "events_feed") == 0) {
        k->events_feed_line = line;
        return set_str(L, line, &k->events_feed, key, v);
    }
    if (strcmp(key, "profiles_feed") == 0) {
        k->profiles_feed_line = line;
        return set_str(L, line, &k->profiles_feed, key, v);
    }
    return unknown_key(L, line, key);
}

static int
push_key(struct load *L, int line, const char *key, const char *v)
{
    struct pf_push_klaviyo *k = &L->c->klaviyo;

    if (strcmp(key, "api_key") == 0 || strcmp(key, "api_key_file") == 0)
        return set_secret(L, line, &k->api_key, "api_key", key, v);
    if (strcmp(key, "api_url") == 0) {
        if (!is_http_url(v))
            return fail(L, line, "api_url: expected an http(s):// URL, "
                        "got '%.80s'", v);
        free(k->api_url);
        k->api_url = xstrndup(v, strlen(v));
        while (strlen(k->api_url) > 8 &&
               k->api_url[strlen(k->api_url) - 1] == '/')
            k->api_url[strlen(k->api_url) - 1] = '\0';
        return 0;
    }
    if (strcmp(key, "revision") == 0) {
        if (!is_revision(v))
            return fail(L, line, "revision: expected a Klaviyo API "
                        "revision date such as %s, got '%.80s'",
                        PF_KLAVIYO_REVISION, v);
        return set_str(L, line, &k->revision, key, v);
    }
    if (strcmp(key, "events") == 0) {
        if (parse_push_events(v, &k->events) < 0)
            return fail(L, line, "events: expected a list of placed, "
                        "ordered, refunded and shipped (or none), got "
                        "'%.80s'", v);
        return 0;
    }
    if (strcmp(key, "profiles") == 0) {
        if (parse_bool(v, &k->profiles) < 0)
            return fail(L, line, "profiles: expected yes or no, got "
                        "'%.80s'", v);
        return 0;
    }
    return push_key_more(L, line, key, v);
}

/* ---- [publish] -------------------------------------------------------- */

/* The secrets here, the rest in config_publish.c. */
static int
publish_key(struct load *L, int line, const char *key, const char *v)
{
    struct pf_publish_cfg *p = &L->c->publish;
    struct pf_err e;
    int rc;

    if (!p->set)
        pf_publish_init(p, L->sec_line[SEC_PUBLISH]);
    if (strcmp(key, "access_key") == 0 ||
        strcmp(key, "access_key_file") == 0)
        return set_secret(L, line, &p->access_key, "access_key", key, v);
    if (strcmp(key, "secret_key") == 0 ||
        strcmp(key, "secret_key_file") == 0)
        return set_secret(L, line, &p->secret_key, "secret_key", key, v);
    if (strcmp(key, "url") == 0)
        p->url_line = line;
    rc = pf_publish_key(p, key, v, &e);
    if (rc < 0)
        return fail(L, line, "%s", e.msg);
    return rc > 0 ? unknown_key(L, line, key) : 0;
}

static int
finish_publish(struct load *L)
{
    struct pf_publish_cfg *p = &L->c->publish;
    struct pf_err e;
    int line;

    if (L->sec_line[SEC_PUBLISH] == 0)
        return 0;
    if (!p->set)
        pf_publish_init(p, L->sec_line[SEC_PUBLISH]);
    if (pf_publish_finish(p, &line, &e) != 0)
        return fail(L, line, "%s", e.msg);
    return 0;
}

/* ---- the inih glue ---------------------------------------------------- */

static int
add_feed(struct load *L, const char *name)
{
    struct pf_config *c = L->c;
    struct pf_feed_cfg *f;

    if (!is_feed_name(name))
        return fail(L, L->lineno, "invalid feed name '%.80s': use letters, "
                    "digits, '_' and '-'", name);
    for (size_t i = 0; i < c->nfeeds; i++)
        if (strcmp(c->feeds[i].name, name) == 0)
            return fail(L, L->lineno, "duplicate [feed %s] (first defined "
                        "at line %d)", name, c->feeds[i].line);
    c->feeds = xrealloc(c->feeds, (c->nfeeds + 1) * sizeof(*c->feeds));
    L->fs = xrealloc(L->fs, (c->nfeeds + 1) * sizeof(*L->fs));
    memset(&L->fs[c->nfeeds], 0, sizeof(*L->fs));
    f = &c->feeds[c->nfeeds++];
    memset(f, 0, sizeof(*f));
    f->name = xstrdup(name);
    f->gzip = 1;
    f->access = PF_ACCESS_AUTO;
    f->max_drop = 0.5;
    f->line = L->lineno;
    L->sec = SEC_FEED;
    return 0;
}

static int
unknown_section(struct load *L, const char *word, const char *rest)
{
    static const char *const fixed[] = {
        "shop", "source", "sync", "serve", NULL
    };
    const char *hint;
    int line = L->lineno;

    if (*rest) {
        if (pf_edit_distance(word, "feed") <= 2)
            return fail(L, line, "unknown section [%s %s]; did you mean "
                        "[feed %s]?", word, rest, rest);
        return fail(L, line, "unknown section [%s %s]; the sections are "
                    "[shop], [source], [sync], [feed NAME] and [serve]",
                    word, rest);
    }
    hint = closest(word, fixed, NULL, NULL);
    if (hint)
        return fail(L, line, "unknown section [%s]; did you mean [%s]?",
                    word, hint);
    if (pf_edit_distance(word, "feed") <= 2)
        return fail(L, line, "unknown section [%s]; did you mean [feed "
                    "NAME]?", word);
    return fail(L, line, "unknown section [%s]; the sections are [shop], "
                "[source], [sync], [feed NAME] and [serve]", word);
}

/* line points at '[' and holds n bytes. */
static int
enter_section(struct load *L, const char *line, size_t n)
{
    const char *close = memchr(line, ']', n);
    const char *s, *e, *w_end, *r;
    char word[64], rest[128];

    if (close == NULL)
        return fail(L, L->lineno, "section header is missing its closing "
                    "']'");
    s = line + 1;
    e = close;
    while (s < e && is_space(*s))
        s++;
    while (e > s && is_space(e[-1]))
        e--;
    w_end = s;
    while (w_end < e && !is_space(*w_end))
        w_end++;
    r = w_end;
    while (r < e && is_space(*r))
        r++;
    if ((size_t)(w_end - s) >= sizeof(word) ||
        (size_t)(e - r) >= sizeof(rest))
        return fail(L, L->lineno, "section name is too long");
    memcpy(word, s, (size_t)(w_end - s));
    word[w_end - s] = '\0';
    memcpy(rest, r, (size_t)(e - r));
    rest[e - r] = '\0';

    if (strcmp(word, "push") == 0)
        return enter_push(L, rest);
    if (strcmp(word, "feed") == 0) {
        if (rest[0] == '\0')
            return fail(L, L->lineno, "[feed] needs a name, e.g. "
                        "[feed clerk]");
        return add_feed(L, rest);
    }
    for (int i = SEC_SHOP; i < SEC_COUNT; i++) {
        if (i == SEC_FEED || strcmp(word, section_names[i]) != 0)
            continue;
        if (rest[0])
            break;
        if (L->sec_line[i])
            return fail(L, L->lineno, "duplicate section [%s] (first at "
                        "line %d)", word, L->sec_line[i]);
        L->sec = (enum section)i;
        L->sec_line[i] = L->lineno;
        return 0;
    }
    return unknown_section(L, word, rest);
}

/* fgets-style reader for ini_parse_stream(): one line of L->text per
 * call, counted, with leading blanks removed. */
static char *
read_line(char *buf, int num, void *stream)
{
    struct load *L = stream;
    const char *start, *nl;
    size_t n;

    if (L->failed || L->pos >= L->len)
        return NULL;
    start = L->text + L->pos;
    nl = memchr(start, '\n', L->len - L->pos);
    n = nl ? (size_t)(nl - start) : L->len - L->pos;
    L->pos += n + (nl != NULL);
    L->lineno++;
    if (L->lineno == 1 && n >= 3 && memcmp(start, "\xEF\xBB\xBF", 3) == 0) {
        start += 3;
        n -= 3;
    }
    while (n > 0 && is_space(*start)) {
        start++;
        n--;
    }
    if (num < 1 || n >= (size_t)num) {
        fail(L, L->lineno, "line is longer than %d characters", num - 1);
        return NULL;
    }
    memcpy(buf, start, n);
    buf[n] = '\0';
    if (n > 0 && *start == '[' && enter_section(L, start, n) < 0)
        return NULL;
    return buf;
}

static int
handle_key(void *user, const char *section, const char *key,
           const char *value)
{
    struct load *L = user;
    struct seenset *seen;
    char label[96];
    int line = L->lineno, first;

    (void)section;      /* tracked by read_line() */
    if (L->failed)
        return 0;
    if (L->sec == SEC_NONE) {
        fail(L, line, "'%s' is outside any section; put it under [shop], "
             "[source], [sync], [feed NAME] or [serve]", key);
        return 0;
    }
    seen = L->sec == SEC_FEED ? &L->fs[L->c->nfeeds - 1].seen
                              : &L->seen[L->sec];
    first = seen_line(seen, key);
    if (first) {
        fail(L, line, "duplicate key '%s' in %s (first set at line %d)",
             key, sec_label(L, label, sizeof(label)), first);
        return 0;
    }
    seen_add(seen, key, line);
    switch (L->sec) {
    case SEC_SHOP:
        shop_key(L, line, key, value);
        break;
    case SEC_SOURCE:
        source_key(L, line, key, value);
        break;
    case SEC_SYNC:
        sync_key(L, line, key, value);
        break;
    case SEC_FEED:
        feed_key(L, line, key, value);
        break;
    case SEC_SERVE:
        serve_key(L, line, key, value);
        break;
    case SEC_PUSH:
        push_key(L, line, key, value);
        break;
    case SEC_PUBLISH:
        publish_key(L, line, key, value);
        break;
    default:
        break;
    }
    return !L->failed;
}

/* ---- after the whole file --------------------------------------------- */

static int
finish_feed(struct load *L, size_t i)
{
    struct pf_feed_cfg *f = &L->c->feeds[i];
    struct feed_state *fs = &L->fs[i];

    if (f->template_spec == NULL)
        return fail(L, f->line, "[feed %s] is missing required key "
                    "'template'", f->name);
    if (f->output == NULL) {
        const char *ext = ".json";

        if (ends_with(f->template_path, ".xml"))
            ext = ".xml";
        else if (f->ndjson || ends_with(f->template_path, ".ndjson"))
            ext = ".ndjson";
        f->output = xasprintf("%s%s", f->name, ext);
    }
    /* Klaviyo takes at most 100 MB per catalog file. */
    if (!f->max_file_size_set && strncmp(f->template_spec,
                                         "klaviyo-catalog", 15) == 0)
        f->max_file_size = (int64_t)100 * 1024 * 1024;
    sync_copy(&f->sync, &L->c->sync);
    for (size_t k = 0; k < fs->nov; k++) {
        struct pf_err e;

        if (sync_set(&f->sync, fs->ov[k].key, fs->ov[k].value, &e) != 0)
            return fail(L, fs->ov[k].line, "%s", e.msg);
    }
    return 0;
}

/* ---- the files the feeds publish -------------------------------------- */

/* The line that set feed i's output (its header when output defaulted). */
static int
output_line(struct load *L, size_t i)
{
    int line = seen_line(&L->fs[i].seen, "output");

    return line ? line : L->c->feeds[i].line;
}

static void
feed_names(const struct pf_feed_cfg *f, struct pf_names *ns)
{
    pf_names_of(f->output, f->gzip, f->max_file_size > 0, ns);
}

/* No file of feed i may look like a temp file: a build would sweep it
 * away. The output itself was checked when read; a part of ".a.tmp.json"
 * is ".a.tmp-2.json". */
static int
check_own_files(struct load *L, size_t i, const struct pf_names *ns)
{
    const struct pf_feed_cfg *f = &L->c->feeds[i];

    for (size_t k = 0; k < ns->n; k++) {
        char *ex = pf_name_example(&ns->v[k]);
        const char *slash = strrchr(ex, '/');

        if (pf_names_is_temp(slash ? slash + 1 : ex)) {
            fail(L, output_line(L, i), "[feed %s] output '%s': %s of it, "
                 "'%s', looks like a posfeed temp file (%s), which every "
                 "build deletes; choose another output", f->name,
                 f->output, pf_name_role_text(ns->v[k].role), ex,
                 PF_TEMP_GLOB);
            free(ex);
            return -1;
        }
        free(ex);
    }
    return 0;
}

/* Feed i against an earlier feed j: not one file in common, or one feed
 * would overwrite the other, or serve it under the other's access. */
static int
check_shared_files(struct load *L, size_t i, const struct pf_names *a,
                   size_t j, const struct pf_names *b)
{
    const struct pf_feed_cfg *fi = &L->c->feeds[i], *fj = &L->c->feeds[j];
    char ex[256];

    for (size_t x = 0; x < a->n; x++) {
        for (size_t y = 0; y < b->n; y++) {
            enum pf_name_role ra = a->v[x].role, rb = b->v[y].role;

            if (!pf_name_meet(&a->v[x], &b->v[y], ex, sizeof(ex)))
                continue;
            if (ra == PF_NAME_OUTPUT && rb == PF_NAME_OUTPUT)
                return fail(L, output_line(L, i), "[feed %s] writes %s, "
                            "like [feed %s] (line %d); set a different "
                            "output", fi->name, fi->output, fj->name,
                            output_line(L, j));
            if (ra == PF_NAME_OUTPUT)
                return fail(L, output_line(L, i), "[feed %s] output '%s' "
                            "is %s of [feed %s] (line %d); set a different "
                            "output", fi->name, fi->output,
                            pf_name_role_text(rb), fj->name,
                            output_line(L, j));
            return fail(L, output_line(L, i), "[feed %s] output '%s': %s "
                        "of it, '%s', is also %s of [feed %s] (line %d); "
                        "set a different output", fi->name, fi->output,
                        pf_name_role_text(ra), ex, pf_name_role_text(rb),
                        fj->name, output_line(L, j));
        }
    }
    return 0;
}

/* The folders on the way to feed i's output must not be files of feed
 * j: a file and a folder cannot share a name. */
static int
check_folders(struct load *L, size_t i, size_t j, const struct pf_names *b)
{
    const struct pf_feed_cfg *fi = &L->c->feeds[i], *fj = &L->c->feeds[j];
    int rc = 0;

    for (const char *p = strchr(fi->output, '/'); p && rc == 0;
         p = strchr(p + 1, '/')) {
        char *dir = xstrndup(fi->output, (size_t)(p - fi->output));

        for (size_t y = 0; y < b->n && rc == 0; y++)
            if (pf_name_has(&b->v[y], dir))
                rc = fail(L, output_line(L, i), "[feed %s] output '%s' "
                          "needs a folder '%s', which is %s of [feed %s] "
                          "(line %d): a file and a folder cannot share a "
                          "name",
                          fi->name, fi->output, dir,
                          pf_name_role_text(b->v[y].role), fj->name,
                          output_line(L, j));
        free(dir);
    }
    return rc;
}

/* What is already in feeds_dir: the output must not be a folder, and the
 * folders on its way must be folders (stat only; nothing is touched). */
static int
check_on_disk(struct load *L, size_t i)
{
    const struct pf_feed_cfg *f = &L->c->feeds[i];
    char *path = pf_path_join(L->c->feeds_dir, f->output);
    size_t dirlen = strlen(L->c->feeds_dir) + 1;
    struct stat st;
    int rc = 0;

    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        rc = fail(L, output_line(L, i), "[feed %s] output '%s' is a folder "
                  "in %s; name a file", f->name, f->output,
                  L->c->feeds_dir);
    for (char *p = strchr(path + dirlen, '/'); p && rc == 0;
         p = strchr(p + 1, '/')) {
        *p = '\0';
        if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode))
            rc = fail(L, output_line(L, i), "[feed %s] output '%s' needs "
                      "a folder %s, but that is a file", f->name,
                      f->output, path);
        *p = '/';
    }
    free(path);
    return rc;
}

/* Every file every feed publishes, against every other feed's. Done at
 * load, so every command refuses such a config. */
static int
check_outputs(struct load *L)
{
    struct pf_config *c = L->c;
    struct pf_names *ns = xcalloc(c->nfeeds + 1, sizeof(*ns));
    int rc = 0;

    for (size_t i = 0; i < c->nfeeds; i++)
        feed_names(&c->feeds[i], &ns[i]);
    for (size_t i = 0; i < c->nfeeds && rc == 0; i++) {
        rc = check_own_files(L, i, &ns[i]);
        for (size_t j = 0; j < i && rc == 0; j++)
            rc = check_shared_files(L, i, &ns[i], j, &ns[j]);
        for (size_t j = 0; j < c->nfeeds && rc == 0; j++)
            if (j != i)
                rc = check_folders(L, i, j, &ns[j]);
        if (rc == 0)
            rc = check_on_disk(L, i);
    }
    for (size_t i = 0; i < c->nfeeds && rc == 0; i++) {
        char why[160];

        if (pf_names_output_lookalike(c->feeds[i].output, why,
                                      sizeof(why)) != 0)
            rc = fail(L, output_line(L, i), "output: '%.80s' %s",
                      c->feeds[i].output, why);
    }
    for (size_t i = 0; i < c->nfeeds; i++)
        pf_names_free(&ns[i]);
    free(ns);
    return rc;
}

const struct pf_feed_cfg *
pf_config_file_owner(const struct pf_config *c, const char *file)
{
    const struct pf_feed_cfg *owner = NULL;

    for (size_t i = 0; i < c->nfeeds && owner == NULL; i++) {
        struct pf_names ns;

        feed_names(&c->feeds[i], &ns);
        for (size_t k = 0; k < ns.n && owner == NULL; k++)
            if (pf_name_has(&ns.v[k], file))
                owner = &c->feeds[i];
        pf_names_free(&ns);
    }
    return owner;
}

/* A span in days, roughly: only to compare since with orders_lookback. */
static double
span_days(int n, enum pf_span_unit u)
{
    return u == PF_SPAN_YEARS ? n * 365.25
           : u == PF_SPAN_MONTHS ? n * 30.44 : (double)n;
}

/* After the whole file: the key is required, the feeds named exist, and
 * since never reaches beyond what sync keeps. */
static int
finish_push(struct load *L)
{
    struct pf_push_klaviyo *k = &L->c->klaviyo;
    const struct pf_sync_settings *s = &L->c->sync;

    if (!k->set)
        return 0;
    if (!pf_secret_is_set(&k->api_key))
        return fail(L, k->line, "[push klaviyo] is missing its private "
                    "key: set 'api_key = env:VARIABLE' or "
                    "'api_key_file = PATH'");
    if (k->events_feed && pf_config_feed(L->c, k->events_feed) == NULL)
        return fail(L, k->events_feed_line, "events_feed: no [feed %s] "
                    "in this file", k->events_feed);
    if (k->profiles_feed && pf_config_feed(L->c, k->profiles_feed) == NULL)
        return fail(L, k->profiles_feed_line, "profiles_feed: no [feed "
                    "%s] in this file", k->profiles_feed);
    if (!s->lookback_all && span_days(k->since_n, k->since_unit) >
                                span_days(s->lookback_n, s->lookback_unit)) {
        k->since_n = s->lookback_n;
        k->since_unit = s->lookback_unit;
        k->since_capped = 1;
    }
    return 0;
}

/* [serve] keys that only make sense together. */
static int
finish_serve(struct load *L)
{
    const struct pf_serve_cfg *s = &L->c->serve;

    if ((s->tls_cert == NULL) != (s->tls_key == NULL))
        return fail(L, s->tls_cert ? s->tls_cert_line : s->tls_key_line,
                    "[serve] %s needs %s as well (HTTPS takes both the "
                    "certificate and its key)",
                    s->tls_cert ? "tls_cert" : "tls_key",
                    s->tls_cert ? "tls_key" : "tls_cert");
    if (s->clerk_v2 && s->clerk_public_key == NULL)
        return fail(L, s->clerk_v2_line, "[serve] clerk_v2 = yes needs "
                    "clerk_public_key (the store's public key, from "
                    "my.clerk.io > Developers > API keys): Clerk's tokens "
                    "are verified against it");
    return 0;
}

/* A server config ([serve] shops = DIR) holds only [serve]: every shop
 * is a file of its own, and a [shop] here would serve nothing. */
static int
finish_server(struct load *L)
{
    const struct pf_serve_cfg *s = &L->c->serve;
    int shops_line = seen_line(&L->seen[SEC_SERVE], "shops");

    if (L->shop_file)
        return fail(L, shops_line, "[serve] shops belongs in the server "
                    "config, not in a shop's file");
    for (int i = SEC_SHOP; i < SEC_COUNT; i++)
        if (i != SEC_SERVE && L->sec_line[i])
            return fail(L, L->sec_line[i], "a server config ([serve] "
                        "shops = DIR) holds only [serve]; [%s] belongs "
                        "in each shop's file in %s", section_names[i],
                        s->shops_dir);
    if (L->c->nfeeds > 0)
        return fail(L, 0, "a server config ([serve] shops = DIR) holds "
                    "only [serve]; [feed %s] belongs in a shop's file",
                    L->c->feeds[0].name);
    if (s->clerk_v2 || s->clerk_public_key != NULL)
        return fail(L, s->clerk_v2_line ? s->clerk_v2_line : shops_line,
                    "[serve] clerk_* keys belong in each shop's file, not "
                    "in the server config");
    return finish_serve(L);
}

static int
finish(struct load *L)
{
    struct pf_config *c = L->c;
    int hdr = L->sec_line[SEC_SHOP];

    if (c->serve.shops_dir != NULL)
        return finish_server(L);
    if (c->serve.workers_line || c->serve.jitter_line)
        return fail(L, c->serve.workers_line ? c->serve.workers_line
                                             : c->serve.jitter_line,
                    "[serve] %s is for a server of many shops (shops = "
                    "DIR); one shop runs one run at a time",
                    c->serve.workers_line ? "workers" : "jitter");
    if (hdr == 0)
        return fail(L, 0, "missing section [shop] (it needs name, "
                    "timezone, currency and url)");
    for (int i = 0; shop_required[i]; i++)
        if (!seen_line(&L->seen[SEC_SHOP], shop_required[i]))
            return fail(L, hdr, "[shop] is missing required key '%s'",
                        shop_required[i]);
    if (c->store_path == NULL)
        c->store_path = pf_path_join(c->dir, "posfeed.db");
    if (c->feeds_dir == NULL)
        c->feeds_dir = pf_path_join(c->dir, "feeds");
    if (finish_source(L) < 0)
        return -1;
    for (size_t i = 0; i < c->nfeeds; i++)
        if (finish_feed(L, i) < 0)
            return -1;
    if (finish_push(L) < 0 || finish_serve(L) < 0 ||
        finish_publish(L) < 0)
        return -1;
    return check_outputs(L);
}

static void
load_free(struct load *L)
{
    for (int i = 0; i < SEC_COUNT; i++)
        seen_free(&L->seen[i]);
    if (L->fs) {
        for (size_t i = 0; i < L->c->nfeeds; i++) {
            struct feed_state *fs = &L->fs[i];

            seen_free(&fs->seen);
            for (size_t k = 0; k < fs->nov; k++) {
                free(fs->ov[k].key);
                free(fs->ov[k].value);
            }
            free(fs->ov);
        }
        free(L->fs);
    }
    for (size_t i = 0; i < L->nsrc; i++) {
        free(L->src[i].key);
        free(L->src[i].value);
    }
    free(L->src);
}

static int
config_load(const char *path, pf_source_types_fn *types, int shop_file,
            struct pf_config **out, struct pf_err *err);

static void
serve_defaults(struct pf_serve_cfg *s)
{
    s->listen_addr = xstrdup("127.0.0.1");
    s->port = 8080;
    s->max_connections = 1024;
    s->per_ip_limit = 8;
    s->timeout_s = 30;
    s->header_timeout_s = 10;
    s->clerk_verify_url = xstrdup("https://api.clerk.io/v2/token/verify");
    s->clerk_token_ttl_s = 300;
    s->clerk_slack_s = 120;
    s->jitter_s = 900;
    /* 0: not set. serve applies 1 h to many shops, none to one. */
    s->run_timeout_s = 0;
}

struct pf_config *
pf_config_server(const char *shops_dir)
{
    struct pf_config *c = xcalloc(1, sizeof(*c));

    c->path = xstrdup("(--shops)");
    c->dir = xstrdup(".");
    serve_defaults(&c->serve);
    c->serve.shops_dir = xstrdup(shops_dir);
    return c;
}

int
pf_config_load(const char *path, pf_source_types_fn *types,
               struct pf_config **out, struct pf_err *err)
{
    return config_load(path, types, 0, out, err);
}

int
pf_config_load_shop(const char *path, pf_source_types_fn *types,
                    struct pf_config **out, struct pf_err *err)
{
    return config_load(path, types, 1, out, err);
}

int
pf_config_server_key(const char *key)
{
    return in_list(server_keys, key);
}

static int
config_load(const char *path, pf_source_types_fn *types, int shop_file,
            struct pf_config **out, struct pf_err *err)
{
    struct load L;
    struct pf_config *c = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc = -1, ret;

    *out = NULL;
    memset(&L, 0, sizeof(L));
    L.types = types;
    L.shop_file = shop_file;
    if (pf_read_file(path, CONFIG_MAX_BYTES, &text, &len, err) < 0) {
        pf_err_prefix(err, "cannot read config");
        goto cleanup;
    }
    if (memchr(text, '\0', len) != NULL) {
        pf_errf(err, "%s: contains a NUL byte; is it a text file?", path);
        goto cleanup;
    }
    c = xcalloc(1, sizeof(*c));
    c->path = xstrdup(path);
    c->dir = pf_path_dir(path);
    sync_defaults(&c->sync);
    c->schedule.kind = PF_SCHED_ON_DEMAND;
    serve_defaults(&c->serve);

    L.path = path;
    L.c = c;
    L.err = err;
    L.text = text;
    L.len = len;
    ret = ini_parse_stream(read_line, &L, handle_key, &L);
    /* inih reports its own syntax errors only as a line number; the
     * earlier of its error and ours is the one to show. */
    if (ret > 0 && (!L.failed || ret < L.fail_line)) {
        pf_errf(err, "%s:%d: expected 'key = value', a [section] header "
                "or a # comment", path, ret);
        goto cleanup;
    }
    if (L.failed)
        goto cleanup;
    if (ret < 0) {
        pf_errf(err, "%s: out of memory while parsing", path);
        goto cleanup;
    }
    if (finish(&L) < 0)
        goto cleanup;
    *out = c;
    c = NULL;
    rc = 0;
cleanup:
    load_free(&L);
    pf_config_free(c);
    free(text);
    return rc;
}

static void
secret_free(struct pf_secret *s)
{
    free(s->file);
    free(s->env);
}

static void
source_free(struct pf_source_cfg *s)
{
    for (size_t i = 0; s->vals && s->schema.keys[i].name; i++) {
        free(s->vals[i].text);
        secret_free(&s->vals[i].secret);
    }
    free(s->vals);
    free(s->type);
}

void
pf_config_free(struct pf_config *c)
{
    if (c == NULL)
        return;
    free(c->path);
    free(c->dir);
    free(c->shop_name);
    free(c->timezone);
    free(c->currency);
    free(c->shop_url);
    free(c->store_path);
    free(c->feeds_dir);
    source_free(&c->source);
    sync_free(&c->sync);
    for (size_t i = 0; i < c->nfeeds; i++) {
        struct pf_feed_cfg *f = &c->feeds[i];

        free(f->name);
        free(f->template_spec);
        free(f->template_path);
        free(f->output);
        sync_free(&f->sync);
        for (size_t k = 0; k < f->nrules; k++) {
            free(f->rules[k].field);
            free(f->rules[k].text);
        }
        free(f->rules);
    }
    free(c->feeds);
    free(c->serve.listen_addr);
    free(c->serve.tls_cert);
    free(c->serve.tls_key);
    free(c->serve.clerk_public_key);
    free(c->serve.clerk_verify_url);
    free(c->serve.shops_dir);
    secret_free(&c->serve.token);
    free(c->klaviyo.api_url);
    free(c->klaviyo.revision);
    free(c->klaviyo.list);
    free(c->klaviyo.events_feed);
    free(c->klaviyo.profiles_feed);
    secret_free(&c->klaviyo.api_key);
    pf_publish_free(&c->publish);
    free(c);
}

const struct pf_feed_cfg *
pf_config_feed(const struct pf_config *c, const char *name)
{
    for (size_t i = 0; i < c->nfeeds; i++)
        if (strcmp(c->feeds[i].name, name) == 0)
            return &c->feeds[i];
    return NULL;
}

/* ---- secrets ---------------------------------------------------------- */

int
pf_secret_is_set(const struct pf_secret *s)
{
    return s != NULL && (s->file != NULL || s->env != NULL);
}

static size_t
rstrip_len(const char *s, size_t n)
{
    while (n > 0 && is_space(s[n - 1]))
        n--;
    return n;
}

int
pf_secret_read(const struct pf_secret *s, char **out, struct pf_err *err)
{
    char *data = NULL;
    size_t len = 0;

    *out = NULL;
    if (s != NULL && s->file != NULL) {
        if (pf_read_file(s->file, SECRET_MAX_BYTES, &data, &len, err) < 0) {
            pf_err_prefix(err, "cannot read secret file");
            return -1;
        }
        if (memchr(data, '\0', len) != NULL) {
            pf_errf(err, "secret file %s contains a NUL byte", s->file);
            free(data);
            return -1;
        }
        len = rstrip_len(data, len);
        data[len] = '\0';
        if (len == 0) {
            pf_errf(err, "secret file %s is empty", s->file);
            free(data);
            return -1;
        }
        *out = data;
        return 0;
    }
    if (s != NULL && s->env != NULL) {
        const char *v = getenv(s->env);

        if (v == NULL) {
            pf_errf(err, "environment variable %s is not set", s->env);
            return -1;
        }
        len = rstrip_len(v, strlen(v));
        if (len == 0) {
            pf_errf(err, "environment variable %s is empty", s->env);
            return -1;
        }
        *out = xstrndup(v, len);
        return 0;
    }
    pf_errf(err, "no secret configured (set KEY_file = PATH or "
            "KEY = env:VARIABLE)");
    return -1;
}

int
pf_secret_env_missing(const struct pf_secret *s)
{
    const char *v = s->env ? getenv(s->env) : NULL;

    return s->env != NULL && (v == NULL || rstrip_len(v, strlen(v)) == 0);
}

static int
check_secret_file(const struct pf_config *c, const struct pf_secret *s,
                  const char *key, struct pf_err *err)
{
    char *v = NULL;

    if (s->file == NULL)
        return 0;
    if (pf_secret_read(s, &v, err) != 0) {
        pf_err_prefix(err, "%s:%d: %s", c->path, s->line, key);
        return -1;
    }
    memset(v, 0, strlen(v));
    free(v);
    return 0;
}

int
pf_config_check_files(const struct pf_config *c, struct pf_err *err)
{
    const struct pf_source_cfg *s = &c->source;
    char label[128];

    if (check_secret_file(c, &c->serve.token, "[serve] token_file",
                          err) != 0 ||
        check_secret_file(c, &c->klaviyo.api_key,
                          "[push klaviyo] api_key_file", err) != 0 ||
        check_secret_file(c, &c->publish.access_key,
                          "[publish] access_key_file", err) != 0 ||
        check_secret_file(c, &c->publish.secret_key,
                          "[publish] secret_key_file", err) != 0)
        return -1;
    for (size_t i = 0; s->vals && s->schema.keys[i].name; i++) {
        if (s->schema.keys[i].kind != PF_KEY_SECRET)
            continue;
        snprintf(label, sizeof(label), "[source] %s_file",
                 s->schema.keys[i].name);
        if (check_secret_file(c, &s->vals[i].secret, label, err) != 0)
            return -1;
    }
    return 0;
}

/* ---- templates -------------------------------------------------------- */

static int
is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *
pf_templates_dir(void)
{
    static char dir[4096];
    static int done;
    const char *env;
    char exe[4096];
    ssize_t n;

    if (done)
        return dir;
    done = 1;
    env = getenv("POSFEED_TEMPLATES");
    if (env && *env) {
        snprintf(dir, sizeof(dir), "%s", env);
        return dir;
    }
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    /* templates/ beside the binary (./posfeed in a checkout), then up to
     * three folders up: build/posfeed, build/tests/test_x and
     * build/asan/tests/test_x all find the checkout's templates/. The
     * kernel gives the binary's path with symlinks resolved, so cutting
     * off the last component is the real parent folder. */
    if (n > 0) {
        exe[n] = '\0';
        for (int up = 0; up <= 3; up++) {
            char cand[4096 + 16];
            char *slash = strrchr(exe, '/');

            if (slash == NULL || slash == exe)
                break;
            *slash = '\0';
            snprintf(cand, sizeof(cand), "%s/templates", exe);
            if (is_dir(cand)) {
                snprintf(dir, sizeof(dir), "%s", cand);
                return dir;
            }
        }
    }
    /* An empty PF_DATADIR means the build did not say: use the default
     * install prefix. */
    snprintf(dir, sizeof(dir), "%s/templates",
             PF_DATADIR[0] ? PF_DATADIR : "/usr/local/share/posfeed");
    return dir;
}

char *
pf_template_resolve(const char *spec, const char *config_dir)
{
    char *json;

    if (!is_builtin_spec(spec))
        return config_dir ? pf_path_join(config_dir, spec) : xstrdup(spec);
    json = xasprintf("%s/%s.json", pf_templates_dir(), spec);
    if (access(json, F_OK) == 0)
        return json;
    free(json);
    return xasprintf("%s/%s.xml", pf_templates_dir(), spec);
}

/* ---- posfeed init ----------------------------------------------------- */

/* In pieces: ISO C compilers need only accept 4095-byte literals. */
static const char *const starter[] = {
"# posfeed.conf - settings for one shop.\n"
"#\n"
"# Read it top to bottom: every setting is listed with its default and\n"
"# what it does. Lines starting with '#' are comments; remove the '#' in\n"
"# front of a setting to use it. Relative paths are relative to the\n"
"# folder this file is in.\n"
"#\n"
"# Secrets (API client secrets, the serve token) never go in this file.\n"
"# Give each one either as KEY_file = PATH, a file holding only the\n"
"# secret (chmod 600 it), or as KEY = env:VARIABLE, read from the\n"
"# environment when posfeed starts.\n"
"\n"
"[shop]\n"
"# The shop's name, shown on the status page and usable in templates.\n"
"name = My Shop\n"
"# The shop's IANA timezone (Europe/Amsterdam, America/New_York, ...).\n"
"# Used where a calendar matters: the orders lookback, the daily\n"
"# schedule and the orders-per-day counts.\n"
"timezone = Europe/Amsterdam\n"
"# ISO 4217 code of the shop's prices, in capitals (EUR, USD, GBP, ...).\n"
"currency = EUR\n"
"# The public address of the web shop (http:// or https://). Product\n"
"# links in the feeds are built from it.\n"
"url = https://shop.example.com\n"
"# The SQLite file that keeps the synced data.\n"
"# store = posfeed.db\n"
"# The folder the feeds are published to.\n"
"# feeds_dir = feeds\n"
"\n",
"[source]\n"
"# Where the shop's data comes from. This build reads:\n"
"#   file                a folder of NDJSON files, one per kind of data\n"
"#                       (products, variants, categories, customers,\n"
"#                       orders); see docs/file-source.md.\n"
"#   lightspeed-retail   Lightspeed Retail (R-series) through its API;\n"
"#                       see docs/lightspeed-retail.md.\n"
"#   lightspeed-ecom     a Lightspeed eCom (C-series) webshop through its\n"
"#                       API; see docs/lightspeed-ecom.md.\n"
"#   dutchie             Dutchie POS: every location of one retailer,\n"
"#                       one API key each; see docs/dutchie.md.\n"
"type = file\n"
"# The folder for type = file: put the NDJSON files in it. `posfeed\n"
"# init` created it empty, next to this file.\n"
"path = " PF_STARTER_DATA_DIR "\n"
"#\n"
"# For type = lightspeed-retail, instead of path (then run\n"
"# `posfeed auth` once to authorize posfeed):\n"
"# account_id = 123456           (from the back office address)\n"
"# client_id = my-client-id\n"
"# client_secret_file = secrets/client_secret\n"
"#   (or: client_secret = env:POSFEED_CLIENT_SECRET)\n"
"# refresh_token_file = secrets/refresh_token   (posfeed keeps it)\n"
"# image_size = w_800            (optional image transformation)\n"
"# api_url = https://api.lightspeedapp.com   (the default)\n"
"# token_url = https://cloud.lightspeedapp.com/auth/oauth/token\n"
"# timeout = 60                  (seconds per request)\n"
"# retry_time = 300              (seconds of retrying before a run "
"fails)\n"
"#\n"
"# For type = lightspeed-ecom, instead of path (an API key from the\n"
"# back office):\n"
"# cluster = eu1                 (eu1 or us1; or api_url = URL)\n"
"# language = nl                 (the shop language of the feeds)\n"
"# api_key = env:LSE_KEY         (or api_key_file = PATH)\n"
"# api_secret_file = secrets/lse_secret   (or api_secret = env:VAR)\n"
"# prices = incl                 (incl or excl tax)\n"
"#\n"
"# For type = dutchie, instead of path (one location API key per line\n"
"# of the keys file, from Dutchie support):\n"
"# location_keys_file = secrets/dutchie.keys\n"
"# integrator_key = env:DUTCHIE_INTEGRATOR   (optional)\n"
"# price = rec                   (rec, med or default)\n"
"# product_url = https://shop.example/menu/{sku}   (optional)\n"
"\n",
"[sync]\n"
"# What goes into the feeds. Each [feed NAME] below may override any of\n"
"# these settings except schedule. Yes/no settings also accept\n"
"# true/false, on/off and 1/0.\n"
"#\n"
"# Attributes: auto puts every product attribute in the feeds, none\n"
"# leaves them out.\n"
"# attributes = auto\n"
"# Extra attribute names to include, separated by commas.\n"
"# custom_attributes =\n"
"# How far back orders go: all, or N days, N months or N years\n"
"# (counted from midnight in the shop's timezone), e.g. 2 years.\n"
"# orders_lookback = all\n"
"# Order statuses that count, separated by commas; all = every status.\n"
"# accepted_order_statuses = completed\n"
"# Keep products that are out of stock.\n"
"# include_out_of_stock = yes\n"
"# Put customer email addresses on orders (personal data).\n"
"# collect_emails = no\n"
"# Include the customer list (personal data).\n"
"# include_customers = no\n"
"# Include each product's variants (sizes, colours, ...).\n"
"# include_variants = yes\n"
"# Include the stock level of each variant.\n"
"# include_variant_stock = no\n"
"# Where stock is counted: variants (each variant has its own stock) or\n"
"# parent (the product's stock is used for all of its variants).\n"
"# variant_stock_tracking = variants\n"
"# Include categories that are hidden in the web shop.\n"
"# include_hidden_categories = no\n"
"# Give each product its average review score and review count\n"
"# (rating, rating_count), from the reviews shown in the shop.\n"
"# include_ratings = no\n"
"# Add the shop's text pages and blog articles (the pages collection).\n"
"# include_pages = no\n"
"# Keep products whose every variant sells at 0.\n"
"# include_free_products = no\n"
"# When `posfeed serve` syncs and rebuilds the feeds by itself:\n"
"#   on-demand            only when asked (POST /sync or posfeed run)\n"
"#   daily HH:MM          once a day at that time, shop timezone\n"
"#   every N minutes      or every N hours (at most a week apart)\n"
"# schedule = on-demand\n"
"\n",
"# One [feed NAME] section per feed; NAME uses letters, digits, '_' and\n"
"# '-'. Add as many as you need.\n"
"[feed clerk]\n"
"# The template: a built-in name (clerk, google-shopping, ...) or the\n"
"# path of your own template file.\n"
"template = clerk\n"
"# The file to write, inside feeds_dir. Default: NAME.json, or NAME.xml\n"
"# for an XML template.\n"
"# output = clerk.json\n"
"# Also publish a gzip-compressed copy (clerk.json.gz).\n"
"# gzip = yes\n"
"# Who may fetch the feed: token (needs the serve token) or public.\n"
"# When not set, feeds with orders, customers or events (sales and\n"
"# personal data) need the token; catalogs (products, variants,\n"
"# categories only) are public. `posfeed check` shows which.\n"
"# access = token\n"
"# Refuse to publish a feed that shrank by more than this (a broken\n"
"# sync should not empty the shop's feed): 50% or 0.5.\n"
"# max_drop = 50%\n"
"# Split into whole documents of at most this size, listed in\n"
"# OUTPUT.parts.json, here clerk.json.parts.json (Klaviyo takes 100 MB\n"
"# per file; 0 = never split).\n"
"# max_file_size = 100M\n"
"# A template whose root is a list of rows can be written one row per\n"
"# line instead (clerk-products, clerk-orders, ...).\n"
"# format = ndjson\n"
"# Rules: keep, drop or rewrite rows before the template sees them;\n"
"# each judges only the rows that hold its object (here products, not\n"
"# the orders), and `posfeed check` refuses one that names no object\n"
"# of the feed's rows.\n"
"# include = product.price >= 1\n"
"# exclude = product.sku ~ ^TEST- or product.brand == 'Old stock'\n"
"# set.product.condition = new\n"
"# Any [sync] setting may be overridden here, for this feed only:\n"
"# include_customers = yes\n"
"\n",
"# The HTTP server of `posfeed serve`.\n"
"# [serve]\n"
"# Address and port to listen on: PORT or ADDRESS:PORT.\n"
"# listen = 127.0.0.1:8080\n"
"# The token that feeds with access = token require, from a file:\n"
"# token_file = secrets/serve_token\n"
"#   (or: token = env:POSFEED_TOKEN)\n"
"# Most connections at once, and per client address.\n"
"# max_connections = 1024\n"
"# per_ip_limit = 8\n"
"# Seconds before an idle connection is closed.\n"
"# timeout = 30\n"
"# Seconds a client has to send a whole request, however slowly.\n"
"# header_timeout = 10\n",
"\n"
"# [push klaviyo]\n"
"# Send order events and profiles to Klaviyo's API after every run, each\n"
"# exactly once (docs/klaviyo.md). Nobody is ever subscribed. The\n"
"# private key, from a file or the environment:\n"
"# api_key_file = secrets/klaviyo_key\n"
"#   (or: api_key = env:KLAVIYO_PRIVATE_KEY)\n"
"# events = placed, ordered, refunded, shipped\n"
"# profiles = yes\n"
"# A list new profiles join, as members without consent (none: no list\n"
"# is touched, so no list-triggered flow fires):\n"
"# list =\n"
"# How far back the first push reaches:\n"
"# since = 90 days\n",
    NULL
};

static int
mkdir_p(const char *dir, struct pf_err *err)
{
    char *p;
    int rc = -1;

    if (dir[0] == '\0') {
        pf_errf(err, "no folder given for the starter config");
        return -1;
    }
    p = xstrdup(dir);
    for (char *s = p + 1; ; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        {
            char saved = *s;

            *s = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                pf_errf(err, "cannot create folder %s: %s", p,
                        strerror(errno));
                goto cleanup;
            }
            *s = saved;
        }
        if (*s == '\0')
            break;
    }
    if (!is_dir(dir)) {
        pf_errf(err, "%s is not a folder", dir);
        goto cleanup;
    }
    rc = 0;
cleanup:
    free(p);
    return rc;
}

/* The starter's source folder, so `posfeed init` then `posfeed check`
 * passes as written (a config naming a missing folder does not load). */
static int
make_data_dir(const char *dir, struct pf_err *err)
{
    char *data = pf_path_join(dir, PF_STARTER_DATA_DIR);
    int rc = 0, e = mkdir(data, 0755) == 0 ? 0 : errno;

    if (e == EEXIST && !is_dir(data)) {
        pf_errf(err, "cannot create folder %s: a file has that name",
                data);
        rc = -1;
    }
    else if (e != 0 && e != EEXIST) {
        pf_errf(err, "cannot create folder %s: %s", data, strerror(e));
        rc = -1;
    }
    free(data);
    return rc;
}

int
pf_config_write_starter(const char *dir, struct pf_err *err)
{
    char *path = pf_path_join(dir, "posfeed.conf");
    struct pf_buf text;
    size_t off = 0;
    int fd = -1, rc = -1, created = 0;

    pf_buf_init(&text);
    for (int i = 0; starter[i]; i++)
        pf_buf_adds(&text, starter[i]);

    if (mkdir_p(dir, err) < 0)
        goto cleanup;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        if (errno == EEXIST)
            pf_errf(err, "%s already exists; not overwriting it", path);
        else
            pf_errf(err, "cannot create %s: %s", path, strerror(errno));
        goto cleanup;
    }
    created = 1;
    if (make_data_dir(dir, err) != 0)
        goto cleanup;
    while (off < text.len) {
        ssize_t w = write(fd, text.data + off, text.len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            pf_errf(err, "cannot write %s: %s", path, strerror(errno));
            goto cleanup;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0) {
        pf_errf(err, "cannot write %s: %s", path, strerror(errno));
        goto cleanup;
    }
    /* close() can be the first to report a full disk. */
    if (close(fd) != 0) {
        fd = -1;
        pf_errf(err, "cannot write %s: %s", path, strerror(errno));
        goto cleanup;
    }
    fd = -1;
    rc = 0;
cleanup:
    if (fd >= 0)
        close(fd);
    if (rc != 0 && created)
        unlink(path);
    free(path);
    pf_buf_free(&text);
    return rc;
}
