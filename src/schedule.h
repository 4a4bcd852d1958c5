/* schedule.h - when `posfeed serve` runs the pipeline by itself.
 *
 * A pure function of (schedule, timezone, now): no state, no clock of its
 * own, so the server injects the time and the tests can walk across DST
 * changes. Daily times are wall-clock times in the shop's IANA timezone:
 *
 *   - a time that does not exist that day (the hour skipped when clocks
 *     go forward) runs at the first instant after the gap, e.g. 02:30 on
 *     the spring-forward day in Europe/Amsterdam runs at 03:00 CEST;
 *   - a time that happens twice (the hour repeated when clocks go back)
 *     runs at its first occurrence only.
 *
 * The zone is switched in through TZ for the duration of the call and
 * restored, like timeutil.h: call it from one thread at a time.
 * Nothing here allocates.
 */
#ifndef PF_SCHEDULE_H
#define PF_SCHEDULE_H

#include <stdint.h>

#include "config.h"
#include "util.h"

/* The first run time strictly after now (UTC epoch seconds). For
 * on-demand schedules *next is -1. For "every N" it is now + N, so pass
 * the time the previous run was due (or the server start). tz is used by
 * daily schedules only. Returns 0, or -1 with err naming the timezone. */
int schedule_next(const struct pf_schedule *sc, const char *tz,
                  int64_t now, int64_t *next, struct pf_err *err);

/* "daily 03:30", "every 15 minutes", "every 2 hours", "on-demand" into out
 * (at least 40 bytes). */
void schedule_describe(const struct pf_schedule *sc, char out[40]);

/* A stable offset in [0, window_s) for name (a shop), to be added to its
 * schedule_next(): shops due at the same moment start spread over the
 * window instead of all in one second. The same name gives the same
 * offset on every run, machine and build (a hash of its bytes, not of
 * pointers or the time), so a shop's run time does not move when the
 * server restarts. window_s <= 0 gives 0. */
int64_t schedule_jitter(const char *name, int64_t window_s);

#endif
