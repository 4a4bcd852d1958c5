/* verify.h - `posfeed verify`: the day-by-day proof that the orders of
 * each of the last N shop-local days are everywhere they should be: in
 * the POS (counted straight from the source), in the store, in the
 * published events feed, in the push ledger (sent) and in Klaviyo (its
 * metric aggregates for Placed Order, per day in the shop's timezone).
 *
 * Every difference between two neighbouring columns must be explained
 * by a counted reason (a status the settings do not accept, a refund
 * that places nothing, an order without email that is never sent, an
 * event still pending or failed, ...); what is left is flagged. The
 * last result is kept in the store (verify_run, verify_days), so the
 * status page shows the same table without calling any API.
 *
 * Layering: above source (count_orders), store and the Klaviyo client;
 * below cli. Ownership: a struct verify_report owns its days and
 * strings (verify_report_free).
 */
#ifndef PF_VERIFY_H
#define PF_VERIFY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "http.h"
#include "store.h"
#include "util.h"

#define VERIFY_DAYS_DEFAULT 7
#define VERIFY_DAYS_MAX 366

/* A column's value when it is not known: not applicable ("-": no events
 * feed, no [push klaviyo]) or could not be read ("?": the error says
 * why). */
#define VERIFY_NA (-1)
#define VERIFY_UNKNOWN (-2)

/* Why counts differ, per day, each counted. */
struct verify_reasons {
    int64_t not_accepted;   /* status outside accepted_order_statuses */
    int64_t no_purchase;    /* no purchased line (a refund): no Placed
                             * Order event */
    int64_t no_profile;     /* no email and no customer: the feed's
                             * @require leaves the event out */
    int64_t before_lookback;    /* before the feed's orders_lookback */
    int64_t no_email;       /* in the feed, but no email: never sent */
    int64_t zero_value;     /* worth 0: never sent */
    int64_t before_since;   /* before [push klaviyo] since */
    int64_t pending, failed;    /* the ledger's */
};

struct verify_day {
    char date[11];          /* YYYY-MM-DD, shop-local */
    int64_t start, end;     /* [start, end), epoch seconds */
    int64_t pos;            /* orders in the POS, or VERIFY_NA/UNKNOWN */
    int64_t store_all;      /* orders in the store, any status */
    int64_t store;          /* ... with an accepted status */
    int64_t feed;           /* Placed Order events in the feed file */
    int64_t sent;           /* the ledger's sent Placed Order events */
    int64_t klaviyo;        /* Klaviyo's count */
    struct verify_reasons why;
    char *explained;        /* "2 refunds, 1 without email", or NULL */
    char *flagged;          /* "pos 5 != store 4", or NULL: agrees */
};

struct verify_report {
    int64_t run_at;
    char *timezone;         /* the shop's */
    char *feed;             /* the events feed's name, or NULL */
    char *klaviyo_tz;       /* the Klaviyo account's, or NULL */
    char *warning;          /* timezone mismatch, deprecation, or NULL */
    char *error;            /* what could not be read, or NULL */
    size_t ndays;
    struct verify_day *days;    /* oldest first */
    size_t nflagged;
};

/* Runs the proof over the ndays complete days before today (shop time).
 * A column that cannot be read (the source or Klaviyo down) becomes
 * VERIFY_UNKNOWN with r->error saying why; -1 only for what stops the
 * whole proof (a store error, a bad timezone), with err. http: tests
 * only (NULL = defaults). */
int verify_run(const struct pf_config *cfg, struct store *s, int ndays,
               const struct http_opts *http, struct verify_report *r,
               struct pf_err *err);
void verify_report_free(struct verify_report *r);

/* Replaces the stored last result with r, in one transaction. */
int verify_save(struct store *s, const struct verify_report *r,
                struct pf_err *err);
/* The stored last result as JSON ({"run_at", "timezone", ..., "days":
 * [...]}), or NULL when verify never ran (or the store predates it). A
 * store error is added to doc's "store_error" like status_doc's. */
cJSON *verify_stored(sqlite3 *db);

/* The report as JSON, the same shape verify_stored() returns. */
cJSON *verify_json(const struct verify_report *r);
/* The table for people, from that JSON (so the CLI prints a fresh run
 * and a stored one alike). */
void verify_print(const cJSON *doc, FILE *out);

#endif
