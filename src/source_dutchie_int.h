/* source_dutchie_int.h - what source_dutchie.c (keys, requests, pacing,
 * the run) and source_dutchie_map.c (records to store rows) share. Not
 * for other modules.
 *
 * Ownership: struct dut owns its locations (their keys and auth headers
 * are wiped when freed), its http client and its record arena.
 */
#ifndef PF_SOURCE_DUTCHIE_INT_H
#define PF_SOURCE_DUTCHIE_INT_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "http.h"
#include "source_dutchie.h"
#include "store.h"
#include "sync.h"
#include "util.h"

/* The endpoints posfeed calls, each with its own per-key budget. */
enum dut_ep {
    DUT_EP_WHOAMI, DUT_EP_PRODUCTS, DUT_EP_INVENTORY, DUT_EP_CUSTOMERS,
    DUT_EP_TRANSACTIONS, DUT_NEP
};

enum dut_price { DUT_PRICE_DEFAULT, DUT_PRICE_REC, DUT_PRICE_MED };

struct dut_opts {
    const char *api_url;
    const char *keys_file;
    const char *integrator;       /* NULL = empty password */
    enum dut_price price;
    const char *product_url;      /* pattern or NULL */
    const char *currency;
    long timeout_s;
    double retry_budget_s;
    int64_t orders_since;         /* first sync of transactions */
    double window_s;              /* the rate-limit minute; 60 */
    int progress;
    const struct http_opts *http; /* tests only */
};

/* One key and the location /whoami says it is for. */
struct dut_loc {
    char *key;
    char fp[9];
    int line;                     /* in the keys file */
    char *auth;                   /* "Authorization: Basic ..." */
    char *id, *name, *lsp_id, *lsp_name;
    struct dut_pace pace[DUT_NEP];
    int page_base;                /* customers' first PageNumber; -1 ? */
};

struct dut {
    const struct dut_opts *o;
    struct store *s;
    struct sync_report *rep;
    struct http_client *http;
    struct http_opts hopts;
    struct dut_loc *locs;
    size_t nlocs;
    int decimals;
    int full;
    struct pf_arena arena;        /* per record */
    double paced_s;               /* waited for our own budgets */
    long requests[DUT_NEP];
    long last_status;             /* of the last answer; 0 none */
    /* The first store error of a row function (they return only -1). */
    struct pf_err serr;
    int serr_set;
};

/* What a row function says about its record. */
#define DUT_ROW_OK 0
#define DUT_ROW_SKIP 1
#define DUT_ROW_FAIL (-1)

/* GET {api_url}{path}?{query} for location l (query may be NULL). The
 * answer must parse as JSON: an array when want_array, else an object.
 * 0 ok, -1 failed (err names the endpoint, the location and the key's
 * fingerprint, never the key). */
int dut_get(struct dut *D, struct dut_loc *l, enum dut_ep ep,
            const char *path, const char *query, int want_array,
            cJSON **out, struct pf_err *err);

/* ---- case-insensitive field readers ------------------------------------ */
/* A scalar as text (numbers without a fraction when whole, booleans
 * "true"/"false"); NULL when missing, null or "". buf >= 64 bytes. */
const char *dut_str(const cJSON *o, const char *key, char *buf);
/* true/false, 1/0, "true"/"false" -> 1/0; missing or null -> dflt. */
int dut_bool(const cJSON *o, const char *key, int dflt);
/* A number or numeric string. 1 found, 0 absent, -1 not a number. */
int dut_num(const cJSON *o, const char *key, double *out);
/* An amount in minor units, rounded half away from zero. 1/0/-1. */
int dut_money(const cJSON *o, const char *key, int decimals,
              int64_t *minor);
/* An ISO 8601 time (no offset = UTC). 1/0/-1. */
int dut_time(const cJSON *o, const char *key, int64_t *out);
/* Text for the store: valid UTF-8 (repaired), in the record arena. */
const char *dut_text(struct dut *D, const cJSON *o, const char *key);

void dut_store_failed(struct dut *D, const struct pf_err *e);

/* ---- rows (source_dutchie_map.c) --------------------------------------- */
/* Creates the source's own tables (dut_products, dut_customers). */
int dut_tables(struct dut *D, struct pf_err *err);
int dut_location_put(struct dut *D, const struct dut_loc *l,
                     struct pf_err *err);
int dut_product_row(struct dut *D, size_t li, cJSON *rec);
/* Replaces location li's stock with the snapshot arr. Caller holds the
 * transaction. */
int dut_stock_apply(struct dut *D, size_t li, cJSON *arr,
                    struct pf_err *err);
int dut_customer_row(struct dut *D, size_t li, cJSON *rec);
int dut_transaction_row(struct dut *D, size_t li, cJSON *rec);

#endif
