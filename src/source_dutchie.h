/* source_dutchie.h - the Dutchie POS source: one parent retailer (LSP),
 * several locations, one API key per location.
 *
 * Keys: [source] location_keys_file lists one location key per line
 * ('#' comments, blank lines ignored); integrator_key (a secret) is sent
 * as the Basic-auth password when set (Basic base64("KEY:INTEGRATOR")),
 * else the password is empty. A key is never logged or shown: messages
 * name it by its fingerprint, the first 8 hex digits of its SHA-256.
 *
 * Every run starts with GET /whoami per key: the keys must belong to one
 * parent, name distinct locations, and not repeat (else the run and
 * `posfeed check` fail naming the fingerprints). Field names are read
 * case-insensitively (whoami is PascalCase on some accounts).
 *
 * Mapping (ids are Dutchie's):
 *   /whoami                 -> locations (id, name)
 *   /reporting/products     -> products, each with one variant of the
 *                              same id, its category, images and
 *                              attributes (category, strain, strain type,
 *                              tags, size, weight, THC, CBD); visible =
 *                              isActive and onlineAvailable. A product
 *                              listed by several locations takes its
 *                              fields (the price included) from the
 *                              first key's location that lists it.
 *   /reporting/inventory    -> stock per location, summed over packages;
 *                              a product absent from a location's
 *                              snapshot has 0 there.
 *   /customer/customers-paginated
 *                           -> customers with an email only; one
 *                              customer per uniqueId (else per email)
 *                              across locations; a merged customer
 *                              (mergedIntoCustomerId) folds into the
 *                              survivor; anonymous ones are left out. No
 *                              phone number is stored (no_sms: carriers
 *                              forbid cannabis SMS) and consent stays
 *                              unknown: optedIntoMarketing is never
 *                              taken as a subscription.
 *   /reporting/transactions -> orders "LOC-TXID" (Retail only) with
 *                              their lines, the location on each; a void
 *                              is status "voided"; a return is a refund
 *                              order of the original (refund_of), its
 *                              total negative and its lines is_return.
 *
 * Incremental: products, customers and transactions are asked for by
 * last-modified date from a bookmark per location and stream
 * ("dutchie:LOC:STREAM" = epoch seconds), taken from the clock before
 * the request and re-read with an overlap (the API lags the POS by
 * minutes); records are upserted by id. Date ranges are cut into the
 * API's range caps; each range lands in one transaction with its
 * bookmark, so a killed sync resumes after the last whole range.
 * Inventory is a snapshot, read whole every run.
 *
 * Rate limits are per endpoint, per key, per minute: every request waits
 * until that key's endpoint has sent fewer than its budget in the last
 * minute (struct dut_pace, a sliding log: the server's window alignment
 * is unknown, so no fixed window of ours can be trusted), so none is
 * answered 429. http.c honours Retry-After and retries 429, 502, 503 and
 * timeouts with a capped backoff; 400, 401, 403 and 422 are not retried.
 * Keys are worked one after another: one writer, and each key's budget
 * is its own.
 *
 * Ownership: the type's state (struct dut, source_dutchie_int.h) owns the
 * keys (wiped when freed), the http client and the per-record arena.
 */
#ifndef PF_SOURCE_DUTCHIE_H
#define PF_SOURCE_DUTCHIE_H

#include <stddef.h>

#include "util.h"

struct source_type;

/* [source] type = dutchie: api_url, location_keys_file, integrator_key
 * (secret), price (rec | med | default), product_url (a pattern with
 * {sku} or {id}), timeout, retry_time. */
extern const struct source_type source_dutchie_type;

/* ---- exposed for tests ------------------------------------------------- */

/* The keys of a keys file's text: one per line, surrounding blanks
 * trimmed, '#' to the end of a line a comment. *keys is a NULL-terminated
 * array the caller frees with dut_keys_free (which wipes them). -1 with
 * err naming the line when a line holds more than one word. */
int dut_keys_parse(const char *text, char ***keys, size_t *n,
                   struct pf_err *err);
void dut_keys_free(char **keys);
/* The first 8 hex digits of sha256(key) into fp. */
void dut_fingerprint(const char *key, char fp[9]);

/* A sliding per-minute log of one endpoint's requests for one key. */
#define DUT_PACE_MAX 1024
struct dut_pace {
    int budget;                 /* requests per window */
    double window;              /* seconds; 60 */
    double t[DUT_PACE_MAX];     /* answer times, a ring */
    int n, head;
};
void dut_pace_init(struct dut_pace *p, int budget, double window);
/* Seconds to wait at now before the next request (0 = go). */
double dut_pace_wait(const struct dut_pace *p, double now);
/* Records a request answered at now. */
void dut_pace_note(struct dut_pace *p, double now);

#endif
