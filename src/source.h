/* source.h - one interface for every source: a [source] type name, the
 * type's own [source] keys (config.h's key table) and the streams `sync`
 * drives in order.
 *
 * A source guarantees: each page (or file) lands in one store transaction
 * together with its stream's bookmark, so a killed sync resumes cleanly;
 * a bad record is a warning (sync_warn) naming resource, id and field,
 * and the good ones still land; rows are deleted only on the strength of
 * a complete listing. docs/development.md, "Adding a source", says how to
 * add one: a source_NAME.c exporting its source_type, and one line in
 * source_types[] in source.c.
 *
 * Layering: above config, store, http and sync; below cli (and serve,
 * which reloads the config). Ownership: the context is the caller's and
 * borrowed for the call; a type's open() allocates its state, which its
 * close() frees.
 */
#ifndef PF_SOURCE_H
#define PF_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "http.h"
#include "store.h"
#include "sync.h"
#include "util.h"

struct source_ctx {
    struct store *store;
    const struct pf_config *cfg;     /* [shop], [sync], [source] */
    struct sync_report *rep;         /* counts, warnings, holds */
    int full;                        /* --full: ignore bookmarks */
    int force;                       /* --force */
    int progress;                    /* 1: progress line on stderr */
    const struct http_opts *http;    /* tests only; NULL = defaults */
};

struct source_stream {
    const char *name;                /* "products", "orders", ... */
    /* Pulls the stream into the store: each page (or file) in one
     * transaction together with the stream's bookmark. 0 ok, -1 err. */
    int (*pull)(void *state, struct source_ctx *ctx, struct pf_err *err);
};

struct source_type {
    const char *name;                        /* [source] type = NAME */
    const struct pf_key_def *keys;           /* its [source] keys */
    /* Cross-key checks once [source] is read (one of cluster/api_url,
     * a default that depends on another key). NULL = none. On error
     * *line is the config line to blame (0 = the section header). */
    int (*finish)(struct pf_source_cfg *s, int *line, struct pf_err *err);
    int (*open)(struct source_ctx *ctx, void **state, struct pf_err *err);
    const struct source_stream *streams;     /* {NULL} terminated */
    /* Always called after a successful open, even when a stream failed:
     * logs the run's request figures and frees state. */
    void (*close)(void *state, struct source_ctx *ctx);
    /* `posfeed check`, after the local checks: what the config alone
     * cannot tell (LSE: the language is one of the shop's /languages;
     * Retail: the refresh token `posfeed auth` writes is there). NULL =
     * nothing. -1 fails the check (exit 2) with err saying why. */
    int (*check)(const struct pf_config *cfg, struct pf_err *err);
    /* `posfeed auth` (OAuth sources only). NULL = not applicable. */
    int (*auth)(const struct pf_config *cfg, const char *code,
                struct pf_err *err);
    /* `posfeed verify`: counts the POS's orders per shop-local day
     * straight from the API (or files), not the store: counts[i] is the
     * number of orders created in [bounds[i], bounds[i+1]) (epoch
     * seconds, ndays + 1 bounds), counted as sync would keep them (the
     * same kinds of sale, statuses and lookback rules). NULL = the
     * source cannot count; verify shows "?" for the POS column. */
    int (*count_orders)(const struct pf_config *cfg, const int64_t *bounds,
                        size_t ndays, int64_t *counts, struct pf_err *err);
    /* 1: the POS's merchants may not text their customers (cannabis
     * retail: carriers forbid it), so no phone number is ever pushed.
     * source_sync() records it in the store (sync_state stream
     * "source.no_sms", bookmark "1" or "0") for the stages after it. */
    int no_sms;
    /* 0 when products will carry no link to a product page (Dutchie
     * without [source] product_url): `posfeed check` then refuses a
     * feed whose template requires Google's product data g:link (Google
     * Shopping, Meta), which would otherwise publish the shop's home
     * page for every item. NULL = products have links. */
    int (*links)(const struct pf_config *cfg);
};

/* The registry: every built-in type, {NULL}-terminated; adding a POS is
 * one file plus one line here. */
extern const struct source_type *const source_types[];
/* The type named name, or NULL. */
const struct source_type *source_find(const char *name);

/* The registry as the config loader sees it (config.h's
 * pf_source_types_fn): pass it to pf_config_load(). */
int source_schema(size_t i, struct pf_source_schema *out);

/* What `sync` does: source_run() with the type ctx->cfg names. */
int source_sync(struct source_ctx *ctx, struct pf_err *err);
/* Opens t, pulls its streams in order until one fails (its err is the
 * result), and closes it whenever the open succeeded. */
int source_run(const struct source_type *t, struct source_ctx *ctx,
               struct pf_err *err);

#endif
