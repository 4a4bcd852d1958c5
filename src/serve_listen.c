/* serve_listen.c - see serve_listen.h. */
#include "serve_listen.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "log.h"
#include "serve_tls.h"

/* --listen or [serve] listen into a socket address. */
static int
resolve_listen(const struct listen_opts *o, struct sockaddr_storage *sa,
               socklen_t *salen, char shown[80], struct pf_err *err)
{
    struct addrinfo hints, *res = NULL;
    char host[64], port[8];
    int rc;

    if (o->listen_arg != NULL) {
        const char *colon = strrchr(o->listen_arg, ':');
        const char *h = o->listen_arg;
        size_t hn;

        if (colon == NULL || colon[1] == '\0' ||
            strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
            strlen(colon + 1) > 5 || atoi(colon + 1) > 65535) {
            pf_errf(err, "--listen: expected ADDRESS:PORT (port 0 picks a "
                    "free one), got '%.80s'", o->listen_arg);
            return -1;
        }
        hn = (size_t)(colon - h);
        if (hn >= 2 && h[0] == '[' && h[hn - 1] == ']') {
            h++;
            hn -= 2;
        }
        if (hn == 0 || hn >= sizeof host) {
            pf_errf(err, "--listen: bad address in '%.80s'", o->listen_arg);
            return -1;
        }
        memcpy(host, h, hn);
        host[hn] = '\0';
        snprintf(port, sizeof port, "%s", colon + 1);
    }
    else {
        snprintf(host, sizeof host, "%s", o->sc->listen_addr);
        snprintf(port, sizeof port, "%d", o->sc->port);
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0 || res == NULL) {
        pf_errf(err, "cannot listen on %s:%s: %s", host, port,
                gai_strerror(rc));
        return -1;
    }
    memcpy(sa, res->ai_addr, res->ai_addrlen);
    *salen = res->ai_addrlen;
    freeaddrinfo(res);
    snprintf(shown, 80, strchr(host, ':') ? "[%s]" : "%s", host);
    return 0;
}

/* File descriptors a connection may hold: its socket and the feed file
 * being sent. The reserve covers the rest: the store (three files with
 * WAL) for status pages, the one the feeds cache keeps open, MHD's epoll
 * and wake-up pipes, the run child's pipes, stdio. */
#define FD_PER_CONN 2
#define FD_RESERVE 64

/* Raises the soft RLIMIT_NOFILE to what `want` connections need (as far
 * as the hard limit allows) and returns how many connections fit, so the
 * server refuses the connection over the limit instead of failing
 * accept() or a feed's open() with EMFILE. */
static unsigned
fit_fd_limit(unsigned want)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)want * FD_PER_CONN + FD_RESERVE;
    unsigned fit;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY
        || rl.rlim_cur >= need)
        return want;
    rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need
                      ? rl.rlim_max : need;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur >= need)
        return want;
    fit = rl.rlim_cur > FD_RESERVE + FD_PER_CONN
              ? (unsigned)((rl.rlim_cur - FD_RESERVE) / FD_PER_CONN) : 1;
    log_warn("[serve] max_connections = %u needs %llu open files, the "
             "limit is %llu (raise it: ulimit -n, or LimitNOFILE= under "
             "systemd): serving at most %u connections", want,
             (unsigned long long)need, (unsigned long long)rl.rlim_cur,
             fit);
    return fit;
}

/* At start and on SIGHUP; a certificate near its end is said each
 * time. */
int
listen_load_cert(const struct pf_serve_cfg *sc, int64_t now,
                 struct pf_err *err)
{
    struct tls_pair_info info;

    if (serve_tls_load(sc->tls_cert, sc->tls_key, now, &info, err) != 0)
        return -1;
    tls_pair_log(sc->tls_cert, &info, 0);
    return 0;
}

/* HTTPS: GnuTLS through MHD, TLS 1.2+ only, the certificate from
 * serve_tls's callback so SIGHUP can replace it. */
static void
tls_options(int tls, unsigned *flags, struct MHD_OptionItem o[3])
{
    gnutls_certificate_retrieve_function2 *cb = serve_tls_cert_cb;
    void *cb_ptr;

    o[0] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    if (!tls)
        return;
    *flags |= MHD_USE_TLS;
    /* MHD_OptionItem holds pointers as void *; POSIX (dlsym) makes a
     * function pointer round-trip through one, ISO C has no cast. */
    _Static_assert(sizeof cb_ptr == sizeof cb, "function pointer size");
    memcpy(&cb_ptr, &cb, sizeof cb_ptr);
    o[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
                                   (void *)serve_tls_priorities};
    o[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_CERT_CALLBACK, 0,
                                   cb_ptr};
    o[2] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
}

struct MHD_Daemon *
listen_start(const struct listen_opts *o)
{
    struct pf_err err = {{0}};
    struct MHD_Daemon *d;
    struct sockaddr_storage sa;
    struct MHD_OptionItem tls[3];
    socklen_t salen;
    const union MHD_DaemonInfo *info;
    char shown[80];
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = cpus > 1 ? (unsigned)(cpus > 4 ? 4 : cpus) : 1;
    const struct pf_serve_cfg *sc = o->sc;

    if (resolve_listen(o, &sa, &salen, shown, &err) != 0) {
        log_error("%s", err.msg);
        return NULL;
    }
    (void)salen;
    if (sa.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    tls_options(o->tls, &flags, tls);
    /* Explicit limits: MHD's defaults are no timeout and no per-IP cap,
     * which would let a few stalled clients pin every connection. The
     * idle timeout alone does not stop a trickle; the request deadline
     * (the hooks, serve.c's main loop) does. MHD_USE_AUTO is epoll on
     * Linux, so descriptors above FD_SETSIZE are fine. */
    d = MHD_start_daemon(
        flags, 0, NULL, NULL, o->handler, o->cls,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)sc->timeout_s,
        MHD_OPTION_CONNECTION_LIMIT,
        fit_fd_limit((unsigned)sc->max_connections),
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)sc->per_ip_limit,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024,
        MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_NOTIFY_CONNECTION, o->on_connection, o->cls,
        MHD_OPTION_NOTIFY_COMPLETED, o->on_completed, o->cls,
        MHD_OPTION_URI_LOG_CALLBACK, o->on_uri, o->cls,
        MHD_OPTION_ARRAY, tls,
        MHD_OPTION_END);
    if (d == NULL) {
        log_error("cannot listen on %s: address in use or not allowed",
                  o->listen_arg ? o->listen_arg : sc->listen_addr);
        return NULL;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("listening on %s://%s:%u\n", o->tls ? "https" : "http", shown,
           info ? (unsigned)info->port : 0u);
    fflush(stdout);
    return d;
}
