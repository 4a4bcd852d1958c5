/* timeutil.c - UTC epochs, ISO 8601, and calendar arithmetic in the
 * shop's IANA timezone.
 *
 * UTC conversions use pure integer calendar arithmetic (days since
 * 1970-01-01 in the proleptic Gregorian calendar) so they do not depend on
 * TZ, timegm() or the C library's range limits. Only questions about a
 * local calendar go through the C library, with TZ switched for the
 * duration of the call and restored afterwards.
 */
#include "timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SECS_PER_DAY 86400

int
pf_time_in_range(int64_t t)
{
    return t >= PF_TIME_MIN && t <= PF_TIME_MAX;
}

/* ---- civil calendar <-> day numbers ---------------------------------- */

/* Floor division, so that dates before 1970 land on the right day. */
static int64_t
floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static int
is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int64_t y, int m)
{
    static const int dm[12] = { 31, 28, 31, 30, 31, 30,
                                31, 31, 30, 31, 30, 31 };

    if (m == 2 && is_leap(y))
        return 29;
    return dm[m - 1];
}

/* Days from 1970-01-01 to y-m-d. The year is shifted to start in March so
 * the leap day is the last day of the shifted year, and whole 400-year
 * cycles (146097 days each) are counted separately. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    if (m <= 2)
        y--;
    era = floor_div(y, 400);
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Inverse of days_from_civil(). */
static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = floor_div(z, 146097);
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* ---- parsing ---------------------------------------------------------- */

/* Reads exactly n digits at *p. */
static int
take_digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        char c = (*p)[i];

        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

/* Epoch seconds: 0, -1 when s is not an integer, -2 when it is one but
 * out of range (however many digits it has). */
static int
parse_epoch_int(const char *s, int64_t *out)
{
    const char *p = s;
    int neg = 0, big = 0;
    uint64_t v = 0;
    int64_t t;

    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    if (*p == '\0')
        return -1;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        /* Past the range, keep reading only to tell a number from
         * garbage; stop accumulating long before v could wrap. */
        if (v > (uint64_t)PF_TIME_MAX + 1)
            big = 1;
        else
            v = v * 10 + (uint64_t)(*p - '0');
    }
    if (big || v > (uint64_t)PF_TIME_MAX + 1)
        return -2;
    t = neg ? -(int64_t)v : (int64_t)v;
    if (!pf_time_in_range(t))
        return -2;
    *out = t;
    return 0;
}

/* "Z", "+HH", "+HH:MM" or "+HHMM" (sign '-' too). */
static int
parse_offset(const char **pp, int *off_s)
{
    const char *p = *pp;
    int sign, hh, mm = 0;

    if (*p == 'Z' || *p == 'z') {
        *off_s = 0;
        *pp = p + 1;
        return 0;
    }
    if (*p != '+' && *p != '-')
        return -1;
    sign = *p++ == '-' ? -1 : 1;
    if (take_digits(&p, 2, &hh) < 0)
        return -1;
    if (*p == ':') {
        p++;
        if (take_digits(&p, 2, &mm) < 0)
            return -1;
    }
    else if (*p >= '0' && *p <= '9') {
        if (take_digits(&p, 2, &mm) < 0)
            return -1;
    }
    if (hh > 23 || mm > 59)
        return -1;
    *off_s = sign * (hh * 3600 + mm * 60);
    *pp = p;
    return 0;
}

/* The ISO 8601 forms: a date, or a date and time with optional seconds,
 * optional fraction and optional offset. -1 when s is none of them, -2
 * when it is one but out of range (year 0000, or an offset that pushes
 * the first or last second of the range over the edge). */
static int
parse_iso(const char *s, int64_t *epoch)
{
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, sec = 0, off = 0;
    int64_t t;

    if (take_digits(&p, 4, &y) < 0 || *p++ != '-' ||
        take_digits(&p, 2, &mo) < 0 || *p++ != '-' ||
        take_digits(&p, 2, &d) < 0)
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return -1;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (take_digits(&p, 2, &h) < 0 || *p++ != ':' ||
            take_digits(&p, 2, &mi) < 0)
            return -1;
        if (*p == ':') {
            p++;
            if (take_digits(&p, 2, &sec) < 0)
                return -1;
            /* Fractions are dropped: the store keeps whole seconds. */
            if (*p == '.' || *p == ',') {
                p++;
                if (*p < '0' || *p > '9')
                    return -1;
                while (*p >= '0' && *p <= '9')
                    p++;
            }
        }
        /* 60 admits a leap second; it lands on the next minute. */
        if (h > 23 || mi > 59 || sec > 60)
            return -1;
        if (*p != '\0' && parse_offset(&p, &off) < 0)
            return -1;
    }
    if (*p != '\0')
        return -1;
    /* Four digits keep the arithmetic small; only the edges need a
     * look. */
    t = days_from_civil(y, mo, d) * SECS_PER_DAY + h * 3600 + mi * 60 +
        sec - off;
    if (!pf_time_in_range(t))
        return -2;
    *epoch = t;
    return 0;
}

int
pf_time_parse(const char *s, int64_t *epoch, struct pf_err *err)
{
    int a, b;

    if (s == NULL || *s == '\0') {
        pf_errf(err, "empty date/time value");
        return -1;
    }
    a = parse_epoch_int(s, epoch);
    if (a == 0)
        return 0;
    b = parse_iso(s, epoch);
    if (b == 0)
        return 0;
    if (a == -2 || b == -2) {
        pf_errf(err, "date/time out of range: '%.64s' (posfeed handles "
                PF_TIME_RANGE_TEXT ")", s);
        return -1;
    }
    pf_errf(err, "not a date/time: '%.64s' (expected e.g. 2024-03-01, "
            "2024-03-01T10:00:00Z, 2024-03-01T10:00:00+01:00 or epoch "
            "seconds)", s);
    return -1;
}

/* ---- formatting ------------------------------------------------------- */

static void
split_epoch(int64_t epoch, int64_t *days, int *h, int *mi, int *s)
{
    int64_t rem;

    *days = floor_div(epoch, SECS_PER_DAY);
    rem = epoch - *days * SECS_PER_DAY;
    *h = (int)(rem / 3600);
    *mi = (int)(rem / 60 % 60);
    *s = (int)(rem % 60);
}

int
pf_time_iso_utc(int64_t epoch, char out[32])
{
    int64_t days, y;
    int m, d, h, mi, s;

    out[0] = '\0';
    if (!pf_time_in_range(epoch))
        return -1;
    split_epoch(epoch, &days, &h, &mi, &s);
    civil_from_days(days, &y, &m, &d);
    snprintf(out, 32, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y, m,
             d, h, mi, s);
    return 0;
}

/* ---- the shop's timezone ---------------------------------------------- */

/* Saved TZ while a zone is switched in. */
struct tz_saved {
    char *old;      /* copy of the previous TZ, NULL if it was unset */
};

/* The zone held by pf_tz_hold(), NULL when none: while it is held, calls
 * in that zone neither switch nor restore TZ (tzset() re-reads the zone
 * file on every switch, which a feed of a million dated rows notices). */
static struct tz_saved held;
static char *held_tz;

/* A held zone was checked when it was taken. */
static int
is_held(const char *tz)
{
    return held_tz != NULL && strcmp(held_tz, tz) == 0;
}

static void
tz_enter(struct tz_saved *sv, const char *tz)
{
    const char *old = getenv("TZ");

    sv->old = NULL;
    if (is_held(tz)) {
        sv->old = (char *)1;    /* marks "nothing to restore" */
        return;
    }
    sv->old = old ? xstrdup(old) : NULL;
    setenv("TZ", tz, 1);
    tzset();
}

static void
tz_leave(struct tz_saved *sv)
{
    if (sv->old == (char *)1) {
        sv->old = NULL;
        return;
    }
    if (sv->old) {
        setenv("TZ", sv->old, 1);
        free(sv->old);
        sv->old = NULL;
    }
    else {
        unsetenv("TZ");
    }
    tzset();
}

void
pf_tz_hold(const char *tz)
{
    pf_tz_release();
    tz_enter(&held, tz);
    held_tz = xstrdup(tz);
}

void
pf_tz_release(void)
{
    if (held_tz == NULL)
        return;
    free(held_tz);
    held_tz = NULL;
    tz_leave(&held);
}

/* Local calendar fields of epoch in the current TZ. The offset comes from
 * comparing the local fields with the epoch, which avoids tm_gmtoff (not
 * part of POSIX). */
struct local_time {
    int64_t days;       /* local date as days since 1970-01-01 */
    int secs;           /* seconds since local midnight */
    int offset;         /* local - UTC, seconds */
    int64_t y;
    int m, d;
};

static int
local_fields(int64_t epoch, struct local_time *lt)
{
    time_t t = (time_t)epoch;
    struct tm tm;

    /* Local time can be a day off UTC: the fields of a time at the edge
     * of the range may lie just outside it, which the arithmetic below
     * still handles; beyond that, refuse. */
    if (epoch < PF_TIME_MIN - SECS_PER_DAY ||
        epoch > PF_TIME_MAX + SECS_PER_DAY)
        return -1;
    if ((int64_t)t != epoch || localtime_r(&t, &tm) == NULL)
        return -1;
    lt->y = (int64_t)tm.tm_year + 1900;
    lt->m = tm.tm_mon + 1;
    lt->d = tm.tm_mday;
    lt->days = days_from_civil(lt->y, lt->m, lt->d);
    lt->secs = tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
    lt->offset = (int)(lt->days * SECS_PER_DAY + lt->secs - epoch);
    return 0;
}

int
pf_time_iso_local(int64_t epoch, const char *tz, char out[40])
{
    struct tz_saved sv;
    struct local_time lt;
    int64_t days, y;
    int rc, off, sign, m, d, h, mi, s;

    out[0] = '\0';
    if (!pf_time_in_range(epoch) || tz == NULL ||
        (!is_held(tz) && !pf_tz_valid(tz)))
        return -1;
    tz_enter(&sv, tz);
    rc = local_fields(epoch, &lt);
    tz_leave(&sv);
    if (rc < 0 || lt.y < 1 || lt.y > 9999)
        return -1;
    /* ISO 8601 offsets are whole minutes. A zone's local mean time (the
     * Netherlands were +00:19:32 until 1937) is cut to one, and the clock
     * shown with it, so that the text still names the same second. */
    off = lt.offset - lt.offset % 60;
    split_epoch(epoch + off, &days, &h, &mi, &s);
    civil_from_days(days, &y, &m, &d);
    if (y < 1 || y > 9999)
        return -1;
    sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    snprintf(out, 40, "%04lld-%02d-%02dT%02d:%02d:%02d%c%02d:%02d",
             (long long)y, m, d, h, mi, s, sign, off / 3600, off / 60 % 60);
    return 0;
}

static const char *
zoneinfo_dir(void)
{
    const char *d = getenv("TZDIR");

    return (d && *d) ? d : "/usr/share/zoneinfo";
}

int
pf_tz_valid(const char *name)
{
    char path[4096];
    char magic[4];
    struct stat st;
    int fd, n, ok = 0;

    if (name == NULL || *name == '\0' || *name == '/' ||
        strstr(name, "..") != NULL || strlen(name) > 255)
        return 0;
    n = snprintf(path, sizeof path, "%s/%s", zoneinfo_dir(), name);
    if (n < 0 || (size_t)n >= sizeof path)
        return 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        read(fd, magic, sizeof magic) == (ssize_t)sizeof magic &&
        memcmp(magic, "TZif", 4) == 0)
        ok = 1;
    close(fd);
    return ok;
}

/* First instant whose local date is on or after target_days. Local time
 * offsets lie within -12h..+14h (-26h..+26h to be safe), so the answer is
 * inside [midnight-as-UTC - 27h, midnight-as-UTC + 27h]. A search rather
 * than mktime() gives the right answer when midnight itself does not exist
 * (zones that change clocks at 00:00, e.g. America/Santiago): the day then
 * starts at 01:00. */
static int
start_of_local_day(int64_t target_days, int64_t *out)
{
    int64_t lo = target_days * SECS_PER_DAY - 27 * 3600;
    int64_t hi = target_days * SECS_PER_DAY + 27 * 3600;
    struct local_time lt;

    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;

        if (local_fields(mid, &lt) < 0)
            return -1;
        if (lt.days >= target_days)
            hi = mid;
        else
            lo = mid + 1;
    }
    *out = lo;
    return 0;
}

int
pf_tz_start_of_span_ago(int64_t now, const char *tz, int n,
                        enum pf_span_unit unit, int64_t *out,
                        struct pf_err *err)
{
    struct tz_saved sv;
    struct local_time lt;
    int64_t y, target;
    int m, d, rc = -1;

    if (tz == NULL || (!is_held(tz) && !pf_tz_valid(tz))) {
        pf_errf(err, "unknown timezone '%.64s'", tz ? tz : "");
        return -1;
    }
    if (n < 0) {
        pf_errf(err, "span must not be negative (got %d)", n);
        return -1;
    }
    if (!pf_time_in_range(now)) {
        pf_errf(err, "time %lld is out of range (posfeed handles "
                PF_TIME_RANGE_TEXT ")", (long long)now);
        return -1;
    }
    tz_enter(&sv, tz);
    if (local_fields(now, &lt) < 0) {
        pf_errf(err, "time %lld is out of range in timezone '%s'",
                (long long)now, tz);
        goto cleanup;
    }
    y = lt.y;
    m = lt.m;
    d = lt.d;
    switch (unit) {
    case PF_SPAN_DAYS:
        target = lt.days - n;
        break;
    case PF_SPAN_MONTHS: {
        int64_t months = y * 12 + (m - 1) - n;

        y = floor_div(months, 12);
        m = (int)(months - y * 12) + 1;
        if (d > days_in_month(y, m))
            d = days_in_month(y, m);
        target = days_from_civil(y, m, d);
        break;
    }
    case PF_SPAN_YEARS:
        y -= n;
        if (d > days_in_month(y, m))
            d = days_in_month(y, m);
        target = days_from_civil(y, m, d);
        break;
    default:
        pf_errf(err, "unknown span unit %d", (int)unit);
        goto cleanup;
    }
    /* n is an int, so target stays far from overflowing; the range says
     * whether the day exists for posfeed. */
    if (target < floor_div(PF_TIME_MIN, SECS_PER_DAY) + 1 ||
        target > floor_div(PF_TIME_MAX, SECS_PER_DAY)) {
        pf_errf(err, "%d %s before %lld reaches outside "
                PF_TIME_RANGE_TEXT, n, unit == PF_SPAN_DAYS ? "days"
                : unit == PF_SPAN_MONTHS ? "months" : "years",
                (long long)now);
        goto cleanup;
    }
    if (start_of_local_day(target, out) < 0 || !pf_time_in_range(*out)) {
        pf_errf(err, "date out of range in timezone '%s'", tz);
        goto cleanup;
    }
    rc = 0;
cleanup:
    tz_leave(&sv);
    return rc;
}

int64_t
pf_time_now(void)
{
    const char *pin = getenv("POSFEED_NOW");
    int64_t t;

    /* An unparsable pin falls back to the real clock: "now" has no error
     * channel, and tests that pin it check the value they get. */
    if (pin && *pin && pf_time_parse(pin, &t, NULL) == 0)
        return t;
    return (int64_t)time(NULL);
}
