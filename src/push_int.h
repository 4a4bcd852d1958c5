/* push_int.h - what the push's files share (push_klaviyo.c, push_body.c):
 * a batch of ledger rows and the Klaviyo bodies built from it.
 *
 * Ownership: a struct push_batch owns copies of its rows' strings
 * (push_batch_reset / push_batch_free); bodies returned are the caller's
 * (cJSON_free).
 */
#ifndef PF_PUSH_INT_H
#define PF_PUSH_INT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "push_klaviyo.h"

struct push_item {
    char *id, *grp, *metric, *body;
    size_t len;
};

struct push_batch {
    struct push_item *items;
    size_t n, cap;
    size_t bytes;           /* sum of the rows' lengths */
    size_t max_items;       /* the endpoint's limit */
};

/* An event-bulk-create-job: the rows grouped per profile (rows of one
 * profile are adjacent, as the ledger reads them). */
char *push_events_body(const struct push_batch *b, size_t *len);
/* A profile-bulk-import-job; list_id (or NULL) as its lists
 * relationship. */
char *push_profiles_body(const struct push_batch *b, const char *list_id,
                         size_t *len);
/* The batch index of the item an error pointer names, or -1.
 * *whole_group is set when it names an event's profile: every event of
 * that profile (adjacent, starting at the index returned) is refused. */
long push_event_pointer_item(const struct push_batch *b, const char *pointer,
                             int *whole_group);
long push_profile_pointer_item(const struct push_batch *b,
                               const char *pointer);

#endif
