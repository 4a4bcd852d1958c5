/* ratelimit.h - client-side pacing for a leaky-bucket API (Lightspeed
 * Retail): the server reports its bucket after every response, and we
 * wait before a request that would overflow it, so a well-behaved run
 * never sees a 429.
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

#endif
