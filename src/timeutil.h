/* timeutil.h - UTC epochs, ISO 8601, and the shop's IANA calendar.
 *
 * Times are stored as UTC epoch seconds. A shop's timezone is used only where
 * a person's calendar matters (order lookback, daily schedule, orders per
 * day); those functions switch TZ internally and restore it, so they are not
 * thread-safe and must be called from one thread.
 */
#ifndef PF_TIMEUTIL_H
#define PF_TIMEUTIL_H

#include <stdint.h>

#include "util.h"

/* The times posfeed handles: 0001-01-01T00:00:00Z to
 * 9999-12-31T23:59:59Z, the years ISO 8601 writes with four digits. A
 * number becomes a time only after this check, which every function here
 * makes before any arithmetic, so no input (INT64_MIN included) can
 * overflow; outside the range a conversion fails or gives an empty
 * value. */
#define PF_TIME_MIN (-62135596800LL)      /* 0001-01-01T00:00:00Z */
#define PF_TIME_MAX 253402300799LL        /* 9999-12-31T23:59:59Z */
#define PF_TIME_RANGE_TEXT "0001-01-01 to 9999-12-31"
/* 1 if t is within [PF_TIME_MIN, PF_TIME_MAX]. */
int pf_time_in_range(int64_t t);

/* Parses "2024-03-01", "2024-03-01T10:00:00Z", "...+01:00", "...+0100",
 * fractional seconds allowed, or a plain integer of epoch seconds. A date or
 * date-time without an offset is taken as UTC. A time outside the range
 * above is an error that says so. */
int pf_time_parse(const char *s, int64_t *epoch, struct pf_err *err);

/* "2024-03-01T10:00:00Z" into out (at least 21 bytes). -1 and "" when
 * epoch is out of range. */
int pf_time_iso_utc(int64_t epoch, char out[32]);
/* Local time in tz with its offset: "2024-03-01T11:00:00+01:00". -1 and
 * "" for an unknown zone, an epoch out of range or a local year outside
 * 0001-9999. */
int pf_time_iso_local(int64_t epoch, const char *tz, char out[40]);

/* 1 if name is an IANA zone this machine knows (a TZif file under the
 * zoneinfo folder; names with ".." are refused). */
int pf_tz_valid(const char *name);

/* Calendar arithmetic in tz: the epoch of local midnight that starts the
 * day n_days/n_months/n_years before the local day containing now. Months
 * clamp to the month's last day (31 Mar - 1 month = 29 Feb). An error
 * when now, or the day the span reaches back to, is out of range. */
enum pf_span_unit { PF_SPAN_DAYS, PF_SPAN_MONTHS, PF_SPAN_YEARS };
int pf_tz_start_of_span_ago(int64_t now, const char *tz, int n,
                            enum pf_span_unit unit, int64_t *out,
                            struct pf_err *err);

/* Keeps TZ set to tz until pf_tz_release(), so that many calls in that
 * zone (a feed build) do not each switch and restore it. */
void pf_tz_hold(const char *tz);
void pf_tz_release(void);

/* Current wall time in UTC epoch seconds. Honours POSFEED_NOW (an epoch or
 * ISO 8601 value in range) so tests can pin "now". */
int64_t pf_time_now(void);

#endif
