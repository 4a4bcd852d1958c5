/* serve_conn.h - a deadline for every HTTP request, however it trickles.
 *
 * libmicrohttpd's connection timeout only counts idle time, so a client
 * that sends one header byte every few seconds (slowloris) keeps its
 * connection forever. Here every open connection has a deadline by which
 * its request must be in: armed when the connection is accepted and again
 * when a response on it is complete (for the next request on a kept-alive
 * connection), disarmed once the request has been read and answered. A
 * sweep (the server's main loop, ten times a second) shuts down the
 * socket of any connection past its deadline; the HTTP library then sees
 * the connection end and frees its slot.
 *
 * Thread safety: every function may be called from any thread; one mutex
 * guards the table. The HTTP library removes a connection before it
 * closes the socket, so a sweep never shuts down a reused descriptor.
 *
 * Ownership: the table owns its entries; conn_watch_add() returns a
 * handle that stays valid until conn_watch_remove() frees it.
 */
#ifndef PF_SERVE_CONN_H
#define PF_SERVE_CONN_H

struct conn_watch;
struct conn_entry;

/* limit_s: seconds a request may take to arrive (> 0). */
struct conn_watch *conn_watch_new(double limit_s);
void conn_watch_free(struct conn_watch *w);
/* A new limit applies to deadlines armed from now on. */
void conn_watch_set_limit(struct conn_watch *w, double limit_s);

/* A connection on socket fd was accepted at `now`: armed. */
struct conn_entry *conn_watch_add(struct conn_watch *w, int fd, double now);
void conn_watch_remove(struct conn_watch *w, struct conn_entry *e);
/* Its request has been read and answered: no deadline while the answer
 * is sent (the idle timeout covers a stalled reader). */
void conn_watch_answered(struct conn_watch *w, struct conn_entry *e);
/* The answer is complete at `now`; the next request is due by now +
 * limit. */
void conn_watch_rearm(struct conn_watch *w, struct conn_entry *e,
                      double now);

/* Shuts down (read and write) every armed connection whose deadline is
 * before now, once each. Returns how many it shut down. */
int conn_watch_sweep(struct conn_watch *w, double now);
/* Connections open now. */
int conn_watch_count(struct conn_watch *w);

#endif
