/* verify_int.h - what verify.c shares with verify_feed.c (the published
 * events feed) and verify_klaviyo.c (Klaviyo's counts). Not for other
 * modules.
 */
#ifndef PF_VERIFY_INT_H
#define PF_VERIFY_INT_H

#include "verify.h"

/* Which day of [bounds[0], bounds[n]) t falls in; -1 outside. */
int verify_day_of(const int64_t *bounds, size_t n, int64_t t);

/* Adds the Placed Order events of feed fc's published file(s) to
 * counts[day] (bounds as above): the output, or every part its
 * OUTPUT.parts.json lists; JSON array or NDJSON, gzip or not. -1 with
 * err naming the file when one cannot be read. */
int verify_feed_count(const struct pf_config *cfg,
                      const struct pf_feed_cfg *fc, const int64_t *bounds,
                      size_t n, int64_t *counts, struct pf_err *err);

/* Klaviyo's count of Placed Order events per day (in the shop's
 * timezone) into counts; *tz the account's timezone (caller frees) and
 * *warning a deprecation notice (caller frees, NULL when none). -1 with
 * err when Klaviyo could not be asked. */
int verify_klaviyo_count(const struct pf_config *cfg,
                         const struct http_opts *http,
                         const int64_t *bounds, size_t n, int64_t *counts,
                         char **tz, char **warning, struct pf_err *err);

#endif
