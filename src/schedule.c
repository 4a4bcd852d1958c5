/* schedule.c - see schedule.h.
 *
 * A daily time HH:MM on local date D is found without mktime(), whose
 * tm_isdst guessing differs between C libraries on the ambiguous and the
 * missing hour. Instead: the wall time "D HH:MM" read as if it were UTC
 * (the naive time) minus each UTC offset the zone uses around that day
 * gives the candidate instants; the ones whose local time really is
 * D HH:MM are the occurrences, and the earliest wins. When there is none
 * the time falls in a gap, and the run goes at the first instant whose
 * wall time is past it: the transition itself.
 */
#include "schedule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timeutil.h"

#define DAY 86400

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), so that local wall
 * times can be compared as plain numbers. */
static int64_t
civil_days(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    if (m <= 2)
        y--;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Local wall time of t in the current TZ, as seconds since 1970-01-01
 * "naive" (wall fields read as if UTC). */
static int
wall(int64_t t, int64_t *out)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if ((int64_t)tt != t || localtime_r(&tt, &tm) == NULL)
        return -1;
    *out = civil_days((int64_t)tm.tm_year + 1900, tm.tm_mon + 1,
                      tm.tm_mday) * DAY + tm.tm_hour * 3600 +
           tm.tm_min * 60 + tm.tm_sec;
    return 0;
}

/* The first instant whose wall time is naive, or, when that wall time is
 * skipped, the first instant after the gap. */
static int
first_at_wall(int64_t naive, int64_t *out)
{
    int64_t probes[3] = { naive - DAY, naive, naive + DAY };
    int64_t best = 0, w, off, lo, hi, mid;
    int found = 0, i;

    for (i = 0; i < 3; i++) {
        if (wall(probes[i], &w) < 0)
            return -1;
        off = w - probes[i];
        if (wall(naive - off, &w) < 0)
            return -1;
        if (w == naive && (!found || naive - off < best)) {
            best = naive - off;
            found = 1;
        }
    }
    if (found) {
        *out = best;
        return 0;
    }
    /* A gap. Within a day either side there is only this one transition,
     * so the wall time only moves forward there and a binary search for
     * the first instant at or past naive is sound. */
    lo = naive - 2 * DAY;
    hi = naive + 2 * DAY;
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (wall(mid, &w) < 0)
            return -1;
        if (w >= naive)
            hi = mid;
        else
            lo = mid + 1;
    }
    *out = lo;
    return 0;
}

static int
next_daily(const struct pf_schedule *sc, int64_t now, int64_t *next)
{
    int64_t w, day, t;
    int k;

    if (wall(now, &w) < 0)
        return -1;
    day = (w >= 0 ? w : w - (DAY - 1)) / DAY;
    /* Today's time may have passed; tomorrow's cannot have. The third day
     * covers a zone that skips a whole calendar day. */
    for (k = 0; k < 3; k++) {
        if (first_at_wall((day + k) * DAY + sc->hour * 3600 +
                          sc->minute * 60, &t) < 0)
            return -1;
        if (t > now) {
            *next = t;
            return 0;
        }
    }
    return -1;
}

int
schedule_next(const struct pf_schedule *sc, const char *tz, int64_t now,
              int64_t *next, struct pf_err *err)
{
    char *old = NULL;
    const char *cur;
    int rc;

    if (sc->kind == PF_SCHED_ON_DEMAND) {
        *next = -1;
        return 0;
    }
    /* now may come from the store (the last run's start): a number
     * becomes a time only within timeutil's range, which also keeps the
     * sums below from overflowing. */
    if (!pf_time_in_range(now)) {
        pf_errf(err, "schedule: time %lld is out of range (posfeed "
                "handles " PF_TIME_RANGE_TEXT ")", (long long)now);
        return -1;
    }
    switch (sc->kind) {
    case PF_SCHED_EVERY:
        if (sc->interval_s <= 0) {
            pf_errf(err, "schedule: interval must be positive");
            return -1;
        }
        if (sc->interval_s > PF_TIME_MAX - now) {
            pf_errf(err, "schedule: the next run would be after "
                    "9999-12-31");
            return -1;
        }
        *next = now + sc->interval_s;
        return 0;
    case PF_SCHED_DAILY:
        break;
    default:
        pf_errf(err, "schedule: unknown kind %d", (int)sc->kind);
        return -1;
    }
    if (tz == NULL || !pf_tz_valid(tz)) {
        pf_errf(err, "schedule: unknown timezone '%.64s'", tz ? tz : "");
        return -1;
    }
    cur = getenv("TZ");
    if (cur != NULL)
        old = xstrdup(cur);
    setenv("TZ", tz, 1);
    tzset();
    rc = next_daily(sc, now, next);
    if (old != NULL)
        setenv("TZ", old, 1);
    else
        unsetenv("TZ");
    tzset();
    free(old);
    if (rc != 0)
        pf_errf(err, "schedule: daily %02d:%02d out of range in timezone "
                "'%s'", sc->hour, sc->minute, tz);
    return rc;
}

void
schedule_describe(const struct pf_schedule *sc, char out[40])
{
    switch (sc->kind) {
    case PF_SCHED_DAILY:
        snprintf(out, 40, "daily %02d:%02d", sc->hour, sc->minute);
        break;
    case PF_SCHED_EVERY:
        if (sc->interval_s % 3600 == 0)
            snprintf(out, 40, "every %ld hour%s", sc->interval_s / 3600,
                     sc->interval_s == 3600 ? "" : "s");
        else
            snprintf(out, 40, "every %ld minute%s", sc->interval_s / 60,
                     sc->interval_s == 60 ? "" : "s");
        break;
    default:
        snprintf(out, 40, "on-demand");
        break;
    }
}

/* FNV-1a over the name, then splitmix64's finaliser: FNV alone leaves
 * names that differ in their last character close together in the low
 * bits, and those are the ones the modulo keeps ("shop-001",
 * "shop-002", ...). */
int64_t
schedule_jitter(const char *name, int64_t window_s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    const unsigned char *c;

    if (window_s <= 0 || name == NULL)
        return 0;
    for (c = (const unsigned char *)name; *c != '\0'; c++) {
        h ^= *c;
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return (int64_t)(h % (uint64_t)window_s);
}
