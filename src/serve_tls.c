/* serve_tls.c - see serve_tls.h.
 *
 * GnuTLS does the parsing and the checks (PEM, chain order, key match by
 * public key id, validity dates); this file only reads the files, keeps
 * the loaded pairs alive while sessions use them, and words the errors.
 */
#include "serve_tls.h"

#include <errno.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "log.h"
#include "timeutil.h"

/* fullchain.pem holds the leaf and one or two intermediates; more than
 * this is a mistake, not a chain. */
#define TLS_MAX_CHAIN 8
/* Certificate and key files are small; a bigger one is the wrong file. */
#define TLS_MAX_FILE (256 * 1024)
#define SESS_BUCKETS 256

const char serve_tls_priorities[] =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";

struct tls_creds {
    gnutls_pcert_st pcert[TLS_MAX_CHAIN];
    unsigned npcert;
    gnutls_privkey_t key;
    unsigned refs;          /* current slot + sessions holding it */
};

/* Which pair a session was handed. */
struct sess {
    void *session;
    struct tls_creds *creds;
    struct sess *next;
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static struct tls_creds *g_cur;
static struct sess *g_sess[SESS_BUCKETS];
static unsigned g_nsess, g_npairs;

/* ---- loading ------------------------------------------------------------ */

static void
creds_free(struct tls_creds *c)
{
    if (c == NULL)
        return;
    for (unsigned i = 0; i < c->npcert; i++)
        gnutls_pcert_deinit(&c->pcert[i]);
    if (c->key != NULL)
        gnutls_privkey_deinit(c->key);
    free(c);
}

/* The leaf's dates and subject into info. */
static int
leaf_info(const char *path, const gnutls_datum_t *der, int64_t now,
          struct tls_pair_info *info, struct pf_err *err)
{
    gnutls_x509_crt_t crt = NULL;
    size_t n = sizeof info->subject;
    int rc = -1, g;

    if ((g = gnutls_x509_crt_init(&crt)) < 0 ||
        (g = gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER)) < 0) {
        pf_errf(err, "%s: cannot read the certificate: %s", path,
                gnutls_strerror(g));
        goto cleanup;
    }
    info->not_before = (int64_t)gnutls_x509_crt_get_activation_time(crt);
    info->not_after = (int64_t)gnutls_x509_crt_get_expiration_time(crt);
    if (gnutls_x509_crt_get_dn(crt, info->subject, &n) < 0)
        snprintf(info->subject, sizeof info->subject, "?");
    /* Floor division: a certificate ending in 3 hours has 0 days left,
     * one that ended 3 hours ago -1. */
    info->days_left = (info->not_after - now) / 86400;
    if (info->not_after < now && (info->not_after - now) % 86400 != 0)
        info->days_left--;
    rc = 0;
cleanup:
    if (crt != NULL)
        gnutls_x509_crt_deinit(crt);
    return rc;
}

static int
load_chain(const char *path, struct tls_creds *c, unsigned *chain,
           struct pf_err *err)
{
    gnutls_datum_t d;
    char *buf = NULL;
    size_t len = 0;
    unsigned n = TLS_MAX_CHAIN;
    int rc = -1, g;

    if (pf_read_file(path, TLS_MAX_FILE, &buf, &len, err) != 0)
        goto cleanup;
    d.data = (unsigned char *)buf;
    d.size = (unsigned)len;
    g = gnutls_pcert_list_import_x509_raw(
        c->pcert, &n, &d, GNUTLS_X509_FMT_PEM,
        GNUTLS_X509_CRT_LIST_FAIL_IF_UNSORTED);
    if (g == GNUTLS_E_SHORT_MEMORY_BUFFER) {
        pf_errf(err, "%s: more than %d certificates (expected the "
                "certificate and its chain)", path, TLS_MAX_CHAIN);
        goto cleanup;
    }
    if (g < 0 || n == 0) {
        pf_errf(err, "%s: not a PEM certificate (chain): %s", path,
                g < 0 ? gnutls_strerror(g) : "no certificate in it");
        goto cleanup;
    }
    c->npcert = n;
    *chain = n;
    rc = 0;
cleanup:
    free(buf);
    return rc;
}

static int
load_key(const char *path, struct tls_creds *c, struct pf_err *err)
{
    gnutls_datum_t d;
    char *buf = NULL;
    size_t len = 0;
    int rc = -1, g;

    if (pf_read_file(path, TLS_MAX_FILE, &buf, &len, err) != 0)
        goto cleanup;
    d.data = (unsigned char *)buf;
    d.size = (unsigned)len;
    if ((g = gnutls_privkey_init(&c->key)) < 0) {
        pf_errf(err, "%s: %s", path, gnutls_strerror(g));
        goto cleanup;
    }
    g = gnutls_privkey_import_x509_raw(c->key, &d, GNUTLS_X509_FMT_PEM,
                                       NULL, 0);
    if (g < 0) {
        pf_errf(err, "%s: not an unencrypted PEM private key: %s", path,
                gnutls_strerror(g));
        goto cleanup;
    }
    rc = 0;
cleanup:
    if (buf != NULL)
        gnutls_memset(buf, 0, len);
    free(buf);
    return rc;
}

/* 1 when the key's public half is the leaf's public key. */
static int
key_matches(struct tls_creds *c)
{
    gnutls_pubkey_t pub = NULL;
    unsigned char a[64], b[64];
    size_t an = sizeof a, bn = sizeof b;
    int ok = 0;

    if (gnutls_pubkey_init(&pub) < 0)
        return 0;
    if (gnutls_pubkey_import_privkey(pub, c->key, 0, 0) >= 0 &&
        gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, a, &an) >= 0
        && gnutls_pubkey_get_key_id(c->pcert[0].pubkey,
                                    GNUTLS_KEYID_USE_SHA256, b, &bn) >= 0)
        ok = an == bn && memcmp(a, b, an) == 0;
    gnutls_pubkey_deinit(pub);
    return ok;
}

/* A pair loaded and checked; *out is owned by the caller. */
static int
pair_load(const char *cert_path, const char *key_path, int64_t now,
          struct tls_pair_info *info, struct tls_creds **out,
          struct pf_err *err)
{
    struct tls_creds *c = xcalloc(1, sizeof(*c));
    char when[32];
    int rc = -1;

    memset(info, 0, sizeof(*info));
    *out = NULL;
    if (load_chain(cert_path, c, &info->chain, err) != 0 ||
        leaf_info(cert_path, &c->pcert[0].cert, now, info, err) != 0 ||
        load_key(key_path, c, err) != 0)
        goto cleanup;
    if (!key_matches(c)) {
        pf_errf(err, "%s: this key does not match the certificate in %s "
                "(%s)", key_path, cert_path, info->subject);
        goto cleanup;
    }
    if (info->not_after < now) {
        pf_time_iso_utc(info->not_after, when);
        pf_errf(err, "%s: the certificate (%s) expired on %s", cert_path,
                info->subject, when);
        goto cleanup;
    }
    *out = c;
    c = NULL;
    rc = 0;
cleanup:
    creds_free(c);
    return rc;
}

int
tls_pair_check(const char *cert_path, const char *key_path, int64_t now,
               struct tls_pair_info *info, struct pf_err *err)
{
    struct tls_creds *c = NULL;
    int rc = pair_load(cert_path, key_path, now, info, &c, err);

    creds_free(c);
    return rc;
}

/* ---- serving ------------------------------------------------------------ */

void
tls_pair_log(const char *cert_path, const struct tls_pair_info *info,
             int check)
{
    char when[32];

    pf_time_iso_utc(info->not_after, when);
    if (info->days_left < TLS_WARN_DAYS)
        log_warn("%s: the certificate (%s) expires on %s, in %lld day(s):"
                 " renew it", cert_path, info->subject, when,
                 (long long)info->days_left);
    else if (check)
        log_info("%s: certificate %s, key matches, valid until %s (%lld "
                 "days left)", cert_path, info->subject, when,
                 (long long)info->days_left);
    else
        log_info("certificate %s (%s): valid until %s, %lld days left",
                 cert_path, info->subject, when,
                 (long long)info->days_left);
}

int
serve_tls_available(struct pf_err *err)
{
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        pf_errf(err, "this libmicrohttpd was built without TLS (HTTPS): "
                "install one built with GnuTLS (Debian's libmicrohttpd12 "
                "is), or serve plain HTTP behind a proxy");
        return -1;
    }
    if (MHD_is_feature_supported(MHD_FEATURE_HTTPS_CERT_CALLBACK) !=
        MHD_YES) {
        pf_errf(err, "this libmicrohttpd lacks the HTTPS certificate "
                "callback (GnuTLS 3.0 or later is needed)");
        return -1;
    }
    return 0;
}

/* The file part a serve_tls_file_response() sends. */
struct fd_body {
    int fd;
    uint64_t offset;
};

static ssize_t
fd_body_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct fd_body *b = cls;
    ssize_t n;

    do
        n = pread(b->fd, buf, max, (off_t)(b->offset + pos));
    while (n < 0 && errno == EINTR);
    /* A file shorter than announced (truncated in place meanwhile) ends
     * the connection: Content-Length promised more. */
    if (n <= 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    return n;
}

static void
fd_body_free(void *cls)
{
    struct fd_body *b = cls;

    close(b->fd);
    free(b);
}

struct MHD_Response *
serve_tls_file_response(uint64_t size, int fd, uint64_t offset)
{
    struct fd_body *b = xmalloc(sizeof(*b));
    struct MHD_Response *r;

    b->fd = fd;
    b->offset = offset;
    r = MHD_create_response_from_callback(size, TLS_FILE_BLOCK,
                                          fd_body_read, b, fd_body_free);
    if (r == NULL)
        fd_body_free(b);
    return r;
}

/* Under g_mu. */
static void
unref(struct tls_creds *c)
{
    if (--c->refs == 0) {
        creds_free(c);
        g_npairs--;
    }
}

static unsigned
bucket_of(const void *p)
{
    uintptr_t v = (uintptr_t)p;

    return (unsigned)((v >> 4) ^ (v >> 12)) % SESS_BUCKETS;
}

int
serve_tls_load(const char *cert_path, const char *key_path, int64_t now,
               struct tls_pair_info *info, struct pf_err *err)
{
    struct tls_pair_info local;
    struct tls_creds *c = NULL, *old;

    if (pair_load(cert_path, key_path, now, info ? info : &local, &c,
                  err) != 0)
        return -1;
    c->refs = 1;
    pthread_mutex_lock(&g_mu);
    old = g_cur;
    g_cur = c;
    g_npairs++;
    if (old != NULL)
        unref(old);
    pthread_mutex_unlock(&g_mu);
    return 0;
}

int
serve_tls_cert_cb(gnutls_session_t session, const gnutls_datum_t *req_ca,
                  int nreqs, const gnutls_pk_algorithm_t *pk_algos,
                  int pk_algos_length, gnutls_pcert_st **pcert,
                  unsigned int *pcert_length, gnutls_privkey_t *privkey)
{
    struct sess *e;
    struct tls_creds *c;
    unsigned b = bucket_of(session);

    (void)req_ca;
    (void)nreqs;
    (void)pk_algos;
    (void)pk_algos_length;
    pthread_mutex_lock(&g_mu);
    c = g_cur;
    if (c == NULL) {
        pthread_mutex_unlock(&g_mu);
        return -1;
    }
    for (e = g_sess[b]; e != NULL && e->session != session; e = e->next)
        ;
    /* A second handshake on one session (renegotiation) moves its
     * reference to the current pair. */
    if (e == NULL) {
        e = xcalloc(1, sizeof(*e));
        e->session = session;
        e->next = g_sess[b];
        g_sess[b] = e;
        g_nsess++;
    }
    else if (e->creds != c) {
        unref(e->creds);
        e->creds = NULL;
    }
    if (e->creds == NULL) {
        e->creds = c;
        c->refs++;
    }
    pthread_mutex_unlock(&g_mu);
    *pcert = c->pcert;
    *pcert_length = c->npcert;
    *privkey = c->key;
    return 0;
}

void
serve_tls_session_closed(void *session)
{
    struct sess **pp, *e;

    if (session == NULL)
        return;
    pthread_mutex_lock(&g_mu);
    for (pp = &g_sess[bucket_of(session)]; *pp != NULL;
         pp = &(*pp)->next) {
        if ((*pp)->session != session)
            continue;
        e = *pp;
        *pp = e->next;
        unref(e->creds);
        free(e);
        g_nsess--;
        break;
    }
    pthread_mutex_unlock(&g_mu);
}

void
serve_tls_counts(unsigned *sessions, unsigned *pairs)
{
    pthread_mutex_lock(&g_mu);
    *sessions = g_nsess;
    *pairs = g_npairs;
    pthread_mutex_unlock(&g_mu);
}

void
serve_tls_free(void)
{
    struct sess *e, *next;

    pthread_mutex_lock(&g_mu);
    for (unsigned b = 0; b < SESS_BUCKETS; b++) {
        for (e = g_sess[b]; e != NULL; e = next) {
            next = e->next;
            unref(e->creds);
            free(e);
        }
        g_sess[b] = NULL;
    }
    g_nsess = 0;
    if (g_cur != NULL)
        unref(g_cur);
    g_cur = NULL;
    pthread_mutex_unlock(&g_mu);
}
