/* serve_http.h - how `posfeed serve` queues every answer it makes, and
 * the short answers several endpoints share (plain text, JSON, 405, 401).
 *
 * Queueing an answer does two things besides MHD_queue_response: the
 * request has been read and answered, so its deadline is met
 * (serve_conn.h conn_watch_answered); and the answer counts by status
 * code for /metrics. Every endpoint (the feeds, runs, status pages,
 * Clerk V2 through its clerk_respond_fn) answers through here, so the
 * counts are whole.
 *
 * Threads: any request thread; the counters are atomic, so requests do
 * not take turns on a lock.
 *
 * Ownership: struct resp_ctx is the server's; it points to the server's
 * connection watch and owns nothing. resp_send() and the resp_* answers
 * drop the caller's reference to the response they queue;
 * resp_send_shared() leaves it with the caller (a response kept for
 * many requests, such as a cached 304).
 */
#ifndef PF_SERVE_HTTP_H
#define PF_SERVE_HTTP_H

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stddef.h>

#include "serve_conn.h"

#define RESP_CODES 600  /* status codes counted; 0 counts the others */

struct resp_ctx {
    struct conn_watch *watch;   /* the server's request deadlines */
    int tls;                    /* the listener speaks HTTPS */
    atomic_ulong hits[RESP_CODES];  /* answers by status code */
    atomic_ulong cut;           /* requests cut at their deadline */
};

/* The deadline entry of c's connection (serve_conn.h), NULL if none. */
struct conn_entry *resp_conn(struct MHD_Connection *c);

/* Queues r, which the caller still owns. */
enum MHD_Result resp_send_shared(struct resp_ctx *x,
                                 struct MHD_Connection *c, unsigned code,
                                 struct MHD_Response *r);
/* Queues r and drops the caller's reference. */
enum MHD_Result resp_send(struct resp_ctx *x, struct MHD_Connection *c,
                          unsigned code, struct MHD_Response *r);

/* A copy of body (len bytes) as ctype, never cached by clients. */
enum MHD_Result resp_buf(struct resp_ctx *x, struct MHD_Connection *c,
                         unsigned code, const char *ctype,
                         const char *body, size_t len);
enum MHD_Result resp_text(struct resp_ctx *x, struct MHD_Connection *c,
                          unsigned code, const char *msg);
/* Sends doc unformatted and deletes it. */
enum MHD_Result resp_json(struct resp_ctx *x, struct MHD_Connection *c,
                          unsigned code, cJSON *doc);

/* 405 with the methods the resource allows ("GET, HEAD"). */
enum MHD_Result resp_not_allowed(struct resp_ctx *x,
                                 struct MHD_Connection *c,
                                 const char *allow);
/* 401: the request needs the serve token, and how to give it. */
enum MHD_Result resp_unauthorized(struct resp_ctx *x,
                                  struct MHD_Connection *c);

#endif
