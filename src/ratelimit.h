/* ratelimit.h - client-side pacing from the rate-limit headers an API
 * sends with every answer, so that a well-behaved run never sees a 429:
 * a leaky bucket (Lightspeed Retail, struct ratelimit) and fixed windows
 * counted down to a reset (Lightspeed eCom, struct ratelimit_windows).
 *
 * Headers: X-LS-API-Bucket-Level "used/size" (used may be fractional),
 * X-LS-API-Drip-Rate "per second", X-LS-API-Burst-Level "used/size" for
 * the one-second burst window, X-LS-API-Request-Cost for what the last
 * request cost (our estimate for the next one of that kind).
 *
 * Ownership: plain value struct, no resources. Times are seconds on the
 * caller's monotonic clock, so tests drive it with a fake clock.
 */
#ifndef PF_RATELIMIT_H
#define PF_RATELIMIT_H

struct ratelimit {
    int known;              /* a bucket header has been seen */
    double level, size;     /* bucket at time `at` */
    double drip;            /* units per second */
    double at;
    double burst_used, burst_size, burst_at;
    double margin;          /* head-room kept below size; default 1 */
};

void ratelimit_init(struct ratelimit *r);
/* Records a response's headers (any may be NULL) observed at now. A
 * malformed header is ignored: pacing then falls back to what was known
 * before. */
void ratelimit_update(struct ratelimit *r, const char *bucket,
                      const char *drip, const char *burst, double now);
/* Seconds to wait before sending a request that costs cost at now; 0 when
 * it may go at once. */
double ratelimit_wait(const struct ratelimit *r, double cost, double now);
/* Parses "a/b" into two non-negative numbers; 0 ok, -1 malformed. */
int ratelimit_parse_pair(const char *s, double *a, double *b);

/* ---- fixed windows (Lightspeed eCom) -----------------------------------
 * Headers are slash-separated lists, one entry per window from the
 * shortest to the longest (5 min / hour / day):
 *   X-RateLimit-Limit: 300/3000/12000
 *   X-RateLimit-Remaining: 299/2999/11999   (after this request)
 *   X-RateLimit-Reset: 263/2063/23663       (seconds until each resets)
 * A window with nothing left is waited out until its reset; until then
 * every request would be answered 429. */
#define RATELIMIT_MAX_WINDOWS 4

struct ratelimit_windows {
    int n;                              /* windows known; 0 = none yet */
    double limit[RATELIMIT_MAX_WINDOWS];
    double remaining[RATELIMIT_MAX_WINDOWS];
    double reset_at[RATELIMIT_MAX_WINDOWS]; /* on the caller's clock */
    /* Requests kept in reserve per window (another client of the same
     * key, a header rounded down); default 0. */
    double margin;
    /* Added to a reset before the window counts as fresh again: servers
     * round the seconds they report. Default 1. */
    double slack;
};

void ratelimit_windows_init(struct ratelimit_windows *w);
/* Splits "a/b/c" into at most max non-negative numbers; returns how many
 * (at least 1), or -1 when malformed or longer than max. */
int ratelimit_parse_list(const char *s, double *out, int max);
/* Records one answer's three headers, observed at now. All three must
 * parse and agree in length, else nothing changes and -1 is returned
 * (pacing goes on from what was known). */
int ratelimit_windows_update(struct ratelimit_windows *w, const char *limit,
                             const char *remaining, const char *reset,
                             double now);
/* Counts one request sent without its answer's headers yet. */
void ratelimit_windows_spend(struct ratelimit_windows *w);
/* Seconds to wait at now before the next request (0 = go), and in
 * *window the index of the window that makes us wait (-1 when none). */
double ratelimit_windows_wait(const struct ratelimit_windows *w,
                              double now, int *window);
/* Requests the windows still allow before the longest one resets (its
 * remaining), or -1 when unknown. */
double ratelimit_windows_left(const struct ratelimit_windows *w);

#endif
