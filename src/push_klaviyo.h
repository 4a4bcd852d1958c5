/* push_klaviyo.h - delivers the klaviyo-events rows as events and the
 * klaviyo-profiles rows as profiles to Klaviyo's API, exactly once.
 *
 * Two stages over the push ledger (store.h, "push ledger"):
 *  - enqueue (push_enqueue.c) renders the events and profiles templates
 *    through the feed builder (feed_render_ndjson: the rows a feed would
 *    publish, so there is one definition) and offers each row to the
 *    ledger, counting the rows it leaves out and why;
 *  - send (push_klaviyo.c, push_body.c) delivers what is pending in
 *    batches within Klaviyo's limits, marking a batch sent only after
 *    Klaviyo accepted it.
 *
 * Ownership: cfg and the store are borrowed. struct push_result owns its
 * strings (push_result_free).
 */
#ifndef PF_PUSH_KLAVIYO_H
#define PF_PUSH_KLAVIYO_H

#include <stdint.h>

#include "config.h"
#include "store.h"
#include "util.h"

#define PUSH_TARGET "klaviyo"

/* Klaviyo's documented limits per request. */
#define PUSH_EVENTS_PER_REQUEST 1000
#define PUSH_PROFILES_PER_REQUEST 10000
#define PUSH_MAX_BODY_BYTES (5 * 1000 * 1000)

struct push_result {
    int64_t queued;             /* rows that became pending this run */
    int64_t skipped;            /* rows left out (see push_skipped) */
    int64_t events_sent, profiles_sent;
    int64_t failed;             /* items Klaviyo refused this run */
    int64_t pending;            /* left pending after the run */
    int64_t requests;
    char *warning;              /* Klaviyo's deprecation notice, or NULL */
};
void push_result_free(struct push_result *r);

/* For `posfeed check`: the key can be read (never shown) and the events
 * and profiles templates (built-in or the feeds named) load and render
 * the right collections. */
int push_klaviyo_check(const struct pf_config *cfg, struct pf_err *err);

/* Stage 1: renders and offers every row to the ledger. */
int push_klaviyo_enqueue(const struct pf_config *cfg, struct store *s,
                         struct push_result *res, struct pf_err *err);

/* Stage 2: sends what is pending. Returns 0 when nothing is left
 * pending (every item delivered or recorded failed), -1 with err when a
 * failure stopped the push (the rest stays pending for the next run). */
int push_klaviyo_send(const struct pf_config *cfg, struct store *s,
                      struct push_result *res, struct pf_err *err);

/* Both stages, as `posfeed push`, `run`, the schedule and POST /sync do;
 * records the time and outcome of the push (sync_state push.klaviyo.*). */
int push_klaviyo(const struct pf_config *cfg, struct store *s,
                 struct push_result *res, struct pf_err *err);

#endif
