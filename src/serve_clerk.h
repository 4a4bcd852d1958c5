/* serve_clerk.h - Clerk.io's JSON Feed V2 live endpoints:
 * GET|HEAD /clerk/v2/{products,categories,orders,customers,pages}
 * ([serve] clerk_v2 = yes; docs/clerk-v2.md).
 *
 * Each answer renders one entity from a read transaction of its own on a
 * read-only store connection (so it never blocks a sync and never sees
 * half of one), through the same per-entity Clerk template as the static
 * feeds (feed_window.h), streamed one object at a time. With
 * modified_after it is incremental (changed objects only) unless
 * something happened that an upsert cannot express (a deletion, a row
 * that stopped rendering, a new template or program): then it is full,
 * and Clerk's importer deletes what a full answer leaves out. Paging with
 * limit + page (or offset) keeps the first page's snapshot open in a
 * paging session, so a sync committing between pages neither duplicates
 * nor skips objects.
 *
 * Auth: X-Clerk-Authorization: Bearer T, checked against Clerk's
 * token-verify endpoint (cached by the token's SHA-256, never the
 * token), or the serve token. Refused: 403; verify unreachable: 503.
 *
 * Threads: clerk_handle() runs on MHD's request threads, clerk_reload()
 * and clerk_sweep() on the main thread; every function may be called
 * concurrently with the others.
 *
 * Ownership: struct clerk owns its config copy (loaded from the config
 * file by clerk_reload), its token cache and its paging sessions; an
 * answer being sent holds a reference to the config it started with, so
 * a SIGHUP never frees what a transfer still reads. clerk_free() after
 * the HTTP daemon has stopped.
 */
#ifndef PF_SERVE_CLERK_H
#define PF_SERVE_CLERK_H

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "util.h"

struct clerk;

/* How the server queues a response it made: counts it and meets the
 * request's deadline (serve_http.h resp_send); drops the caller's
 * reference. */
typedef enum MHD_Result (*clerk_respond_fn)(void *arg,
                                            struct MHD_Connection *c,
                                            unsigned code,
                                            struct MHD_Response *r);

struct clerk *clerk_new(clerk_respond_fn respond, void *arg);
void clerk_free(struct clerk *k);

/* Main thread, at start and on SIGHUP: loads config_path for the
 * endpoints and records each entity's render epoch (store.h
 * store_render_epoch). A config that does not load keeps the previous
 * one (serve.c logs why). */
void clerk_reload(struct clerk *k, const char *config_path);

/* Request thread: GET (head = 0) or HEAD of /clerk/v2/REST. 404 when
 * clerk_v2 is off or REST names no entity. */
enum MHD_Result clerk_handle(struct clerk *k, struct MHD_Connection *c,
                             const char *rest, int head);

/* Main thread: ends paging sessions idle for 10 minutes. */
void clerk_sweep(struct clerk *k);

/* Adds "clerk_v2" (counters only, safe for anyone) to a status
 * document. */
void clerk_status(struct clerk *k, cJSON *doc);

/* Appends the endpoints' Prometheus families to /metrics, when clerk_v2
 * is on. label: NULL or "" (one shop: no extra label), or one or more
 * ready-made labels such as shop="acme" (value already escaped), added
 * inside every sample's braces. Each family is one block that starts
 * with its "# HELP" line, so a caller joining several shops' output can
 * merge the blocks by family name. */
void clerk_metrics(struct clerk *k, struct pf_buf *b,
                   const char *label);

#endif
