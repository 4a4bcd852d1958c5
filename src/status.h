/* status.h - what posfeed has done, as one JSON document: last runs with
 * rows per stream and warnings, store counts, bookmarks and published
 * feeds. `posfeed status` prints it (as text or JSON) and the server
 * serves it, so the two never disagree.
 *
 * Ownership: the caller frees the document with cJSON_Delete().
 */
#ifndef PF_STATUS_H
#define PF_STATUS_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "config.h"
#include "store.h"

/* A store error (a damaged page, say) ends the listing it hit and is
 * reported in the document as "store_error": what was being read and
 * SQLite's message, without paths. */
cJSON *status_doc(const struct pf_config *cfg, struct store *s);

/* Adds "push": {"klaviyo": {...}} to doc when [push klaviyo] is set
 * (status_push.c): per metric (and "profile") pending, sent, failed,
 * skipped by reason and the latest failure reasons; last_push, error,
 * warning (Klaviyo's deprecation notice) and lag_seconds. Private: not
 * in status_public(). */
void status_push(cJSON *doc, const struct pf_config *cfg, struct store *s);

/* A member of a status document read for display: "" or 0 when it is
 * missing or of another type, so a document from a damaged store (or an
 * older posfeed) still prints. The string belongs to o. */
const char *status_str(const cJSON *o, const char *key);
double status_num(const cJSON *o, const char *key);

/* What of a status_doc() anyone may see, as a new document: the shop's
 * name, catalog row counts (no customers or orders: sales volume is
 * business-confidential), each run's times, result and warning count (no
 * error texts, which can name files, and no rows per stream), the public
 * feeds with their relative path, sizes, items and times, and how many
 * other feeds there are (not their names). No store, source or feeds
 * folder, no bookmarks, no hashes. Built from a list of what to keep, so a
 * key added to status_doc() stays private until it is added here. */
cJSON *status_public(const cJSON *full);

/* Orders per local calendar day in the shop timezone for the `days` days
 * ending with today (the day containing now), oldest first, as an array
 * of {"date": "YYYY-MM-DD", "orders": N}. Counts orders with an accepted
 * status ([sync] accepted_order_statuses; empty = all), refunds left out,
 * so it matches what a merchant sees as sales on the POS. Switches TZ while
 * it runs (see timeutil.h). NULL on a store or timezone error. */
cJSON *status_orders_per_day(const struct pf_config *cfg, struct store *s,
                             int64_t now, int days);

#endif
