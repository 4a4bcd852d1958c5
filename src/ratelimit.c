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

/* ---- fixed windows ------------------------------------------------------ */

void
ratelimit_windows_init(struct ratelimit_windows *w)
{
    memset(w, 0, sizeof(*w));
    w->slack = 1;
}

int
ratelimit_parse_list(const char *s, double *out, int max)
{
    const char *p = s;
    int n = 0;

    if (s == NULL)
        return -1;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (n == max || parse_num(p, &p, &out[n]) != 0)
            return -1;
        n++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            return n;
        if (*p++ != '/')
            return -1;
    }
}

int
ratelimit_windows_update(struct ratelimit_windows *w, const char *limit,
                         const char *remaining, const char *reset,
                         double now)
{
    double l[RATELIMIT_MAX_WINDOWS], r[RATELIMIT_MAX_WINDOWS];
    double t[RATELIMIT_MAX_WINDOWS];
    int n = ratelimit_parse_list(limit, l, RATELIMIT_MAX_WINDOWS), i;

    if (n < 0 ||
        ratelimit_parse_list(remaining, r, RATELIMIT_MAX_WINDOWS) != n ||
        ratelimit_parse_list(reset, t, RATELIMIT_MAX_WINDOWS) != n)
        return -1;
    w->n = n;
    for (i = 0; i < n; i++) {
        w->limit[i] = l[i];
        w->remaining[i] = r[i];
        w->reset_at[i] = now + t[i];
    }
    return 0;
}

void
ratelimit_windows_spend(struct ratelimit_windows *w)
{
    int i;

    for (i = 0; i < w->n; i++)
        if (w->remaining[i] > 0)
            w->remaining[i]--;
}

double
ratelimit_windows_wait(const struct ratelimit_windows *w, double now,
                       int *window)
{
    double wait = 0, until;
    int i;

    *window = -1;
    for (i = 0; i < w->n; i++) {
        /* A window past its reset is full again, whatever it said. */
        until = w->reset_at[i] + w->slack;
        if (w->remaining[i] > w->margin || until <= now)
            continue;
        if (until - now > wait) {
            wait = until - now;
            *window = i;
        }
    }
    return wait;
}

double
ratelimit_windows_left(const struct ratelimit_windows *w)
{
    return w->n > 0 ? w->remaining[w->n - 1] : -1;
}
