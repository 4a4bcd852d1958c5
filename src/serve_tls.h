/* serve_tls.h - HTTPS for `posfeed serve`: the certificate and key
 * ([serve] tls_cert, tls_key) checked, loaded and handed to GnuTLS
 * through libmicrohttpd's certificate callback, and swapped on SIGHUP
 * without disturbing connections that already use the old pair.
 *
 * Why a process-wide state: MHD_OPTION_HTTPS_CERT_CALLBACK takes a bare
 * gnutls_certificate_retrieve_function2, which gets no user pointer, so
 * the callback can only find the credentials through this module. One
 * serving process has one listener, so one state is all it needs.
 *
 * Lifetime: GnuTLS neither copies nor frees what the callback returns,
 * and may use it until the session ends, so each loaded pair is
 * reference-counted: one reference for being current, one for each
 * session the callback handed it to. serve_tls_session_closed() drops a
 * session's reference; a pair replaced by a reload is freed when its
 * last session closes. The files are read when a pair is loaded, never
 * during a handshake.
 *
 * Secrets: the key file's bytes are wiped after parsing and never
 * logged; messages name files and reasons only.
 */
#ifndef PF_SERVE_TLS_H
#define PF_SERVE_TLS_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <stdint.h>

#include "util.h"

/* A certificate this close to its end is warned about by check and by
 * the server at start and reload. */
#define TLS_WARN_DAYS 14

/* What a pair's first (leaf) certificate says. */
struct tls_pair_info {
    int64_t not_before, not_after;  /* Unix seconds */
    int64_t days_left;              /* whole days from now to not_after;
                                     * negative once expired */
    unsigned chain;                 /* certificates in the cert file */
    char subject[256];              /* the leaf's DN, for messages */
};

/* Checks a pair as the server would load it: both files readable, the
 * certificate file PEM (a chain, leaf first), the key an unencrypted PEM
 * private key matching the leaf's public key, and the leaf not expired
 * at now. 0 with *info filled; -1 with err naming the file and why (an
 * expired leaf: the date it expired). info is filled as far as known
 * even on failure (not_after is 0 when the certificate did not parse). */
int tls_pair_check(const char *cert_path, const char *key_path, int64_t now,
                   struct tls_pair_info *info, struct pf_err *err);

/* Logs how long the pair's certificate has left: a warning under
 * TLS_WARN_DAYS, else an info line; check words it as `posfeed check`
 * does (the key was matched too), else as the server does. */
void tls_pair_log(const char *cert_path, const struct tls_pair_info *info,
                  int check);

/* 0 when libmicrohttpd was built with TLS and the certificate callback;
 * -1 with err saying what is missing. */
int serve_tls_available(struct pf_err *err);

/* The GnuTLS priority string of the listener: TLS 1.2 and 1.3 only. */
extern const char serve_tls_priorities[];

/* Loads a pair (tls_pair_check's rules) and makes it current; the one it
 * replaces stays alive for the sessions using it. 0, or -1 with err
 * naming the file and why, the current pair unchanged. *info (may be
 * NULL) describes the pair loaded. Thread-safe. */
int serve_tls_load(const char *cert_path, const char *key_path, int64_t now,
                   struct tls_pair_info *info, struct pf_err *err);

/* For MHD_OPTION_HTTPS_CERT_CALLBACK: the current pair, which the
 * session keeps a reference to until serve_tls_session_closed(). */
gnutls_certificate_retrieve_function2 serve_tls_cert_cb;

/* A connection's TLS session is over (MHD's NOTIFY_CLOSED; NULL is
 * ignored): drops its reference. The session is only a key here, never
 * dereferenced, so it may already be deinitialised. */
void serve_tls_session_closed(void *session);

/* A response of size bytes of the file fd from offset, for an HTTPS
 * connection; takes fd (closed when MHD is done, also on failure: NULL).
 * Why not MHD_create_response_from_fd: without sendfile() MHD reads
 * such a response 4 KiB at a time, so every 4 KiB costs a pread(), a
 * TLS record and a sendmsg(); this reads TLS_FILE_BLOCK at a time, one
 * full-size record each. */
#define TLS_FILE_BLOCK (16 * 1024)
struct MHD_Response *serve_tls_file_response(uint64_t size, int fd,
                                             uint64_t offset);

/* Sessions holding a pair, and pairs alive (current + retired); for
 * tests. */
void serve_tls_counts(unsigned *sessions, unsigned *pairs);

/* Drops every reference and frees every pair; only once no TLS session
 * can be handshaking (after MHD_stop_daemon). */
void serve_tls_free(void);

#endif
