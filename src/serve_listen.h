/* serve_listen.h - the listener of `posfeed serve`: the address from
 * --listen or [serve] listen/port, the HTTP daemon (libmicrohttpd) with
 * explicit limits (idle timeout, connections, per-IP cap, memory, a
 * pool of up to four polling threads), HTTPS through serve_tls.h, and
 * the open-files limit that many connections need.
 *
 * MHD's defaults are no timeout and no per-IP cap, which would let a few
 * stalled clients pin every connection; the idle timeout alone does not
 * stop a trickle, the request deadline (serve_conn.h, through the
 * connection hooks) does.
 *
 * Threads: main thread, at start.
 *
 * Ownership: listen_start() returns the daemon, the caller's to stop
 * (MHD_stop_daemon); the hooks' cls stays the caller's and must outlive
 * the daemon.
 */
#ifndef PF_SERVE_LISTEN_H
#define PF_SERVE_LISTEN_H

#include <microhttpd.h>
#include <stdint.h>

#include "config.h"
#include "util.h"

/* MHD_OPTION_URI_LOG_CALLBACK's hook (microhttpd.h has no name for
 * it). */
typedef void *(*listen_uri_fn)(void *cls, const char *uri,
                               struct MHD_Connection *c);

struct listen_opts {
    const char *listen_arg;         /* --listen ADDR:PORT, or NULL */
    const struct pf_serve_cfg *sc;  /* listen, port and the limits */
    int tls;                        /* HTTPS (the pair is loaded) */
    /* The hooks, each called with cls. */
    MHD_AccessHandlerCallback handler;
    MHD_NotifyConnectionCallback on_connection;
    MHD_RequestCompletedCallback on_completed;
    listen_uri_fn on_uri;
    void *cls;
};

/* Binds and starts the daemon, then prints "listening on
 * http[s]://ADDR:PORT" on stdout (the port MHD bound, for port 0).
 * NULL, with the reason logged, if the address is bad or cannot be
 * bound. */
struct MHD_Daemon *listen_start(const struct listen_opts *o);

/* Loads the certificate pair of sc ([serve] tls_cert, tls_key) for new
 * handshakes (serve_tls.h) and logs its subject and end, as a warning
 * when it ends within TLS_WARN_DAYS of now. -1 with err if it does not
 * load; the pair in use then stays. */
int listen_load_cert(const struct pf_serve_cfg *sc, int64_t now,
                     struct pf_err *err);

#endif
