/* ratelimit.c - see ratelimit.h. */
#include "ratelimit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void
ratelimit_init(struct ratelimit *r)
{
    memset(r, 0, sizeof(*r));
    r->margin = 1;
}

/* strtod() honours the locale's decimal point; the headers always use
 * '.', and posfeed never calls setlocale(), so the C locale applies. */
static int
parse_num(const char *s, const char **end, double *out)
{
    char *e;
    double v = strtod(s, &e);

    if (e == s || !isfinite(v) || v < 0)
        return -1;
    *out = v;
    *end = e;
    return 0;
}

int
ratelimit_parse_pair(const char *s, double *a, double *b)
{
    const char *p;

    if (s == NULL || parse_num(s, &p, a) != 0 || *p != '/' ||
        parse_num(p + 1, &p, b) != 0)
        return -1;
    while (*p == ' ' || *p == '\t')
        p++;
    return *p == '\0' && *b > 0 ? 0 : -1;
}

void
ratelimit_update(struct ratelimit *r, const char *bucket, const char *drip,
                 const char *burst, double now)
{
    double a, b;
    const char *end;

    if (ratelimit_parse_pair(bucket, &a, &b) == 0) {
        r->known = 1;
        r->level = a;
        r->size = b;
        r->at = now;
    }
    if (drip != NULL && parse_num(drip, &end, &a) == 0 && a > 0)
        r->drip = a;
    if (ratelimit_parse_pair(burst, &a, &b) == 0) {
        r->burst_used = a;
        r->burst_size = b;
        r->burst_at = now;
    }
}

double
ratelimit_wait(const struct ratelimit *r, double cost, double now)
{
    double level, over, wait = 0, drip;

    if (!r->known)
        return 0;
    /* Without a drip rate we assume the documented minimum of 1/s. */
    drip = r->drip > 0 ? r->drip : 1;
    level = r->level - drip * (now - r->at);
    if (level < 0)
        level = 0;
    over = level + cost - (r->size - r->margin);
    if (over > 0)
        wait = over / drip;
    /* The burst window is a fixed second that started at or before the
     * response that reported it, so it is over one second later. */
    if (r->burst_size > 0 && r->burst_used + 1 > r->burst_size &&
        now - r->burst_at < 1.0) {
        double bw = r->burst_at + 1.0 - now;

        if (bw > wait)
            wait = bw;
    }
    return wait;
}
