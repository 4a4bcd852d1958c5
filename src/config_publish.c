/* config_publish.c - [publish]: where a run's feeds are uploaded.
 *
 * Each value is checked here as strictly as S3 would check it later, so
 * a bucket name S3 refuses, an endpoint with a path, or plain http to
 * another machine (which would send signed requests and feeds in the
 * clear) is a load error with FILE:LINE rather than a failed run at
 * 3 a.m.
 */
#include "config_publish.h"

#include <stdlib.h>
#include <string.h>

#define PUBLISH_MAX_RETRIES 10

void
pf_publish_init(struct pf_publish_cfg *p, int line)
{
    p->set = 1;
    p->line = line;
    p->region = xstrdup("us-east-1");
    p->cache_control = xstrdup(PF_S3_CACHE_PUBLIC);
    p->retries = 4;
}

void
pf_publish_free(struct pf_publish_cfg *p)
{
    free(p->bucket);
    free(p->prefix);
    free(p->endpoint);
    free(p->region);
    free(p->cache_control);
    free(p->access_key.file);
    free(p->access_key.env);
    free(p->secret_key.file);
    free(p->secret_key.env);
}

static int
is_lower_digit(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Four dot-separated groups of digits: S3 refuses such a bucket name. */
static int
looks_like_ipv4(const char *s)
{
    int dots = 0, digits = 0;

    for (; *s; s++) {
        if (*s == '.') {
            if (digits == 0)
                return 0;
            dots++;
            digits = 0;
        }
        else if (*s >= '0' && *s <= '9') {
            digits++;
        }
        else {
            return 0;
        }
    }
    return dots == 3 && digits > 0;
}

int
pf_publish_bucket_ok(const char *name)
{
    size_t n = strlen(name);

    if (n < 3 || n > 63 || !is_lower_digit(name[0]) ||
        !is_lower_digit(name[n - 1]) || strstr(name, "..") != NULL ||
        looks_like_ipv4(name))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_lower_digit(name[i]) && name[i] != '.' && name[i] != '-')
            return 0;
    return 1;
}

/* A key prefix of path components of [A-Za-z0-9._~-]: no empty, "." or
 * ".." component, so the object keys are the feeds' own relative paths
 * under it, and nothing needs escaping twice in a signed URL. */
static int
prefix_ok(const char *s)
{
    const char *comp = s;

    for (const char *p = s;; p++) {
        if (*p == '/' || *p == '\0') {
            size_t n = (size_t)(p - comp);

            if (n == 0 || (n == 1 && comp[0] == '.') ||
                (n == 2 && comp[0] == '.' && comp[1] == '.'))
                return 0;
            if (*p == '\0')
                return 1;
            comp = p + 1;
            continue;
        }
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || strchr("._~-", *p) != NULL))
            return 0;
    }
}

/* url = s3://BUCKET[/PREFIX[/]] */
static int
parse_url(struct pf_publish_cfg *p, const char *v, struct pf_err *err)
{
    const char *b, *slash;
    char *bucket, *prefix;
    size_t plen;

    if (strncmp(v, "s3://", 5) != 0) {
        pf_errf(err, "url: expected s3://BUCKET/PREFIX, got '%.80s'", v);
        return -1;
    }
    b = v + 5;
    slash = strchr(b, '/');
    bucket = slash ? xstrndup(b, (size_t)(slash - b)) : xstrdup(b);
    if (!pf_publish_bucket_ok(bucket)) {
        pf_errf(err, "url: '%.80s' is not a valid bucket name (3 to 63 "
                "characters: lower-case letters, digits, '.' and '-', "
                "starting and ending with a letter or digit)", bucket);
        free(bucket);
        return -1;
    }
    prefix = xstrdup(slash ? slash + 1 : "");
    plen = strlen(prefix);
    while (plen > 0 && prefix[plen - 1] == '/')
        prefix[--plen] = '\0';
    if (plen > 0 && !prefix_ok(prefix)) {
        pf_errf(err, "url: the prefix '%.80s' may hold only letters, "
                "digits, '.', '_', '~', '-' and '/' between non-empty "
                "folder names (no '.' or '..')", prefix);
        free(bucket);
        free(prefix);
        return -1;
    }
    free(p->bucket);
    free(p->prefix);
    p->bucket = bucket;
    p->prefix = plen > 0 ? xasprintf("%s/", prefix) : xstrdup("");
    free(prefix);
    return 0;
}

/* The host of scheme://host[:port], as a pointer and length. */
static void
url_host(const char *url, const char **host, size_t *n)
{
    const char *h = strstr(url, "://"), *e;

    h = h ? h + 3 : url;
    if (*h == '[') {
        e = strchr(h, ']');
        *host = h;
        *n = e ? (size_t)(e - h) + 1 : strlen(h);
        return;
    }
    e = h + strcspn(h, ":/");
    *host = h;
    *n = (size_t)(e - h);
}

int
pf_publish_is_loopback(const char *url)
{
    const char *h;
    size_t n;

    url_host(url, &h, &n);
    return (n == 9 && strncmp(h, "localhost", 9) == 0) ||
           (n == 5 && strncmp(h, "[::1]", 5) == 0) ||
           (n >= 4 && strncmp(h, "127.", 4) == 0 &&
            strspn(h, "0123456789.") >= n);
}

/* endpoint = https://host[:port] (a trailing '/' is dropped; no path,
 * query or user: the bucket and key are added by the uploader). */
static int
parse_endpoint(struct pf_publish_cfg *p, const char *v, struct pf_err *err)
{
    const char *rest, *h;
    size_t n = strlen(v), hn;
    int https = strncmp(v, "https://", 8) == 0;

    while (n > 0 && v[n - 1] == '/')
        n--;
    if (!https && strncmp(v, "http://", 7) != 0) {
        pf_errf(err, "endpoint: expected https://HOST[:PORT], got "
                "'%.80s'", v);
        return -1;
    }
    rest = v + (https ? 8 : 7);
    url_host(v, &h, &hn);
    if (hn == 0 || rest + strcspn(rest, "/?#@ \t") < v + n) {
        pf_errf(err, "endpoint: expected https://HOST[:PORT] without a "
                "path, query or user, got '%.80s'", v);
        return -1;
    }
    if (!https && !pf_publish_is_loopback(v)) {
        pf_errf(err, "endpoint: plain http:// is allowed only to this "
                "machine (127.0.0.1, ::1, localhost); use https:// for "
                "'%.80s'", v);
        return -1;
    }
    free(p->endpoint);
    p->endpoint = xstrndup(v, n);
    return 0;
}

static int
parse_yes_no(const char *key, const char *v, int *out, struct pf_err *err)
{
    if (pf_strcaseeq(v, "yes") || pf_strcaseeq(v, "true") ||
        strcmp(v, "1") == 0 || pf_strcaseeq(v, "on"))
        *out = 1;
    else if (pf_strcaseeq(v, "no") || pf_strcaseeq(v, "false") ||
             strcmp(v, "0") == 0 || pf_strcaseeq(v, "off"))
        *out = 0;
    else
        return pf_errf(err, "%s: expected yes or no, got '%.80s'", key, v),
               -1;
    return 0;
}

/* region = us-east-1, auto (R2), eu-central-1, ... */
static int
region_ok(const char *v)
{
    if (*v == '\0' || strlen(v) > 32)
        return 0;
    for (; *v; v++)
        if (!is_lower_digit(*v) && *v != '-')
            return 0;
    return 1;
}

/* A header value: printable ASCII, so it cannot end the header early. */
static int
header_value_ok(const char *v)
{
    if (*v == '\0' || strlen(v) > 256)
        return 0;
    for (; *v; v++)
        if ((unsigned char)*v < 0x20 || (unsigned char)*v > 0x7e)
            return 0;
    return 1;
}

int
pf_publish_key(struct pf_publish_cfg *p, const char *key, const char *v,
               struct pf_err *err)
{
    char *end;
    long n;

    if (strcmp(key, "url") == 0)
        return parse_url(p, v, err);
    if (strcmp(key, "endpoint") == 0)
        return parse_endpoint(p, v, err);
    if (strcmp(key, "region") == 0) {
        if (!region_ok(v))
            return pf_errf(err, "region: expected a region name such as "
                           "us-east-1 (or auto for R2), got '%.80s'", v),
                   -1;
        free(p->region);
        p->region = xstrdup(v);
        return 0;
    }
    if (strcmp(key, "cache_control") == 0) {
        if (!header_value_ok(v))
            return pf_errf(err, "cache_control: expected a Cache-Control "
                           "value such as '%s' (printable, at most 256 "
                           "characters)", PF_S3_CACHE_PUBLIC), -1;
        free(p->cache_control);
        p->cache_control = xstrdup(v);
        return 0;
    }
    if (strcmp(key, "path_style") == 0) {
        p->path_style_set = 1;
        return parse_yes_no(key, v, &p->path_style, err);
    }
    if (strcmp(key, "private_feeds") == 0)
        return parse_yes_no(key, v, &p->private_feeds, err);
    if (strcmp(key, "retries") == 0) {
        n = strtol(v, &end, 10);
        if (*v < '0' || *v > '9' || *end != '\0' || n < 0 ||
            n > PUBLISH_MAX_RETRIES)
            return pf_errf(err, "retries: expected a number from 0 to %d, "
                           "got '%.80s'", PUBLISH_MAX_RETRIES, v), -1;
        p->retries = (int)n;
        return 0;
    }
    return 1;
}

int
pf_publish_finish(struct pf_publish_cfg *p, int *line, struct pf_err *err)
{
    *line = p->line;
    if (p->bucket == NULL) {
        pf_errf(err, "[publish] needs url = s3://BUCKET/PREFIX (without "
                "the section, feeds are published locally only)");
        return -1;
    }
    if (!pf_secret_is_set(&p->access_key) ||
        !pf_secret_is_set(&p->secret_key)) {
        pf_errf(err, "[publish] needs the bucket's credentials: set "
                "access_key = env:VARIABLE (or access_key_file = PATH) and "
                "secret_key = env:VARIABLE (or secret_key_file = PATH)");
        return -1;
    }
    if (!p->path_style_set)
        p->path_style = p->endpoint != NULL;
    if (p->endpoint == NULL)
        p->endpoint = xasprintf("https://s3.%s.amazonaws.com", p->region);
    if (!p->path_style && strchr(p->bucket, '.') != NULL &&
        strncmp(p->endpoint, "https://", 8) == 0) {
        /* BUCKET.s3... with a dot in BUCKET is not covered by the
         * endpoint's wildcard certificate. */
        *line = p->url_line;
        pf_errf(err, "[publish] bucket '%s' has a '.', which breaks "
                "HTTPS for virtual-hosted URLs; set path_style = yes",
                p->bucket);
        return -1;
    }
    return 0;
}
