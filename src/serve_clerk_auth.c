/* serve_clerk_auth.c - who may read the Clerk V2 endpoints: Clerk's
 * importer, whose X-Clerk-Authorization token Clerk's verify endpoint
 * confirms, or anyone with the serve token.
 *
 * A confirmed token is remembered by its SHA-256 for clerk_token_ttl
 * seconds (the token itself is never kept, compared in the clear or
 * logged), so a sync of many pages costs one verify call. A verify
 * endpoint that cannot answer (unreachable, 5xx, not JSON) never opens
 * access: the request gets 503 and Clerk retries later.
 */
#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "serve_clerk_int.h"
#include "serve_req.h"

#define VERIFY_TIMEOUT_S 5
/* Verify calls in flight at once: each holds a request thread for up to
 * VERIFY_TIMEOUT_S, so requests with made-up tokens must not be able to
 * take every thread (MHD has as few as one or two on a small machine);
 * Clerk's importer needs one call per sync. */
#define VERIFY_MAX_INFLIGHT 1

/* Constant time: the caller compares digests of equal length. */
static int
digest_eq(const unsigned char a[CLERK_SHA], const char *token)
{
    unsigned char b[CLERK_SHA];

    SHA256((const unsigned char *)token, strlen(token), b);
    return CRYPTO_memcmp(a, b, CLERK_SHA) == 0;
}

/* The credential of header name, as its SHA-256 into id and the token
 * itself (*tok, cleansed and freed by the caller); -1 if none. */
static int
credential(struct MHD_Connection *c, const char *name,
           unsigned char id[CLERK_SHA], char **tok, size_t *n)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);

    if (req_credential(v, tok, n) != 0)
        return -1;
    if (*n == 0 || memchr(*tok, '\0', *n) != NULL) {
        OPENSSL_cleanse(*tok, *n);
        free(*tok);
        *tok = NULL;
        return -1;
    }
    SHA256((const unsigned char *)*tok, *n, id);
    return 0;
}

static int
cache_has(struct clerk *k, const unsigned char id[CLERK_SHA], double now)
{
    int i, hit = 0;

    pthread_mutex_lock(&k->mu);
    for (i = 0; i < CLERK_TOKEN_CACHE && !hit; i++)
        hit = k->tokens[i].until > now &&
              CRYPTO_memcmp(k->tokens[i].hash, id, CLERK_SHA) == 0;
    pthread_mutex_unlock(&k->mu);
    return hit;
}

/* Remembers id until now + ttl in the slot of the one ending first (an
 * empty slot ends at 0), so the table stays bounded. */
static void
cache_put(struct clerk *k, const unsigned char id[CLERK_SHA], double now,
          int ttl)
{
    int i, old = 0;

    if (ttl <= 0)
        return;
    pthread_mutex_lock(&k->mu);
    for (i = 1; i < CLERK_TOKEN_CACHE; i++)
        if (k->tokens[i].until < k->tokens[old].until)
            old = i;
    memcpy(k->tokens[old].hash, id, CLERK_SHA);
    k->tokens[old].until = now + ttl;
    pthread_mutex_unlock(&k->mu);
}

/* Clerk's answer: "status": "ok" confirms, "status": "error" refuses
 * (with a 2xx or a 4xx: which one Clerk uses is not documented);
 * anything else means the token could not be checked. */
static enum clerk_auth
judge(const struct http_resp *r)
{
    cJSON *doc, *st;
    enum clerk_auth rc = CLERK_AUTH_DOWN;

    if (r->status < 200 || r->status >= 500)
        return CLERK_AUTH_DOWN;
    doc = cJSON_ParseWithLength(r->body, r->len);
    st = cJSON_GetObjectItemCaseSensitive(doc, "status");
    if (cJSON_IsString(st) && strcmp(st->valuestring, "ok") == 0 &&
        r->status < 300)
        rc = CLERK_AUTH_OK;
    else if (cJSON_IsString(st) && strcmp(st->valuestring, "error") == 0)
        rc = CLERK_AUTH_REFUSED;
    cJSON_Delete(doc);
    return rc;
}

/* POSTs {"token", "key"} to the verify URL. */
static enum clerk_auth
verify(const struct pf_serve_cfg *sc, const char *tok)
{
    struct http_opts o = {0};
    struct http_client *hc = NULL;
    struct http_resp r = {0};
    struct pf_err err = {{0}};
    enum clerk_auth rc = CLERK_AUTH_DOWN;
    cJSON *body = cJSON_CreateObject();
    char *txt;

    cJSON_AddStringToObject(body, "token", tok);
    cJSON_AddStringToObject(body, "key", sc->clerk_public_key);
    txt = cJSON_PrintUnformatted(body);
    o.connect_timeout_s = VERIFY_TIMEOUT_S;
    o.timeout_s = VERIFY_TIMEOUT_S;
    o.max_attempts = 1;
    if (http_client_new(&o, &hc, &err) != 0 ||
        http_post_json(hc, sc->clerk_verify_url, "application/json", txt,
                       strlen(txt), NULL, &r, &err) != 0)
        log_warn("clerk v2: the token could not be verified: %s",
                 err.msg);
    else
        rc = judge(&r);
    if (rc == CLERK_AUTH_DOWN && r.status != 0)
        log_warn("clerk v2: the verify endpoint answered HTTP %ld "
                 "without a verdict", r.status);
    http_resp_free(&r);
    http_client_free(hc);
    OPENSSL_cleanse(txt, strlen(txt));
    cJSON_free(txt);
    cJSON_Delete(body);
    return rc;
}

/* verify(), unless VERIFY_MAX_INFLIGHT calls are going: then the token
 * cannot be checked now (503, and Clerk retries). */
static enum clerk_auth
verify_bounded(struct clerk *k, const struct pf_serve_cfg *sc,
               const char *tok)
{
    enum clerk_auth rc = CLERK_AUTH_DOWN;

    if (atomic_fetch_add(&k->verifying, 1) < VERIFY_MAX_INFLIGHT)
        rc = verify(sc, tok);
    atomic_fetch_sub(&k->verifying, 1);
    return rc;
}

/* The serve token in either header, or a Clerk token confirmed now or
 * within the ttl. */
static enum clerk_auth
check(struct clerk *k, const struct clerk_def *d, struct MHD_Connection *c,
      unsigned char id[CLERK_SHA], const char **why)
{
    const struct pf_serve_cfg *sc = &d->cfg->serve;
    char *tok = NULL;
    size_t n;
    double now = pf_now_mono();
    enum clerk_auth rc;

    if (credential(c, MHD_HTTP_HEADER_AUTHORIZATION, id, &tok, &n) == 0) {
        OPENSSL_cleanse(tok, n);
        free(tok);
        if (d->token != NULL && digest_eq(id, d->token))
            return CLERK_AUTH_OK;
    }
    if (credential(c, "X-Clerk-Authorization", id, &tok, &n) != 0) {
        *why = "missing X-Clerk-Authorization: Bearer token";
        return CLERK_AUTH_REFUSED;
    }
    if ((d->token != NULL && digest_eq(id, d->token)) ||
        cache_has(k, id, now)) {
        rc = CLERK_AUTH_OK;
    }
    else {
        rc = verify_bounded(k, sc, tok);
        if (rc == CLERK_AUTH_OK)
            cache_put(k, id, now, sc->clerk_token_ttl_s);
    }
    OPENSSL_cleanse(tok, n);
    free(tok);
    *why = rc == CLERK_AUTH_DOWN
               ? "the token could not be verified with Clerk; try again "
                 "later"
               : "the token is not valid for this store";
    return rc;
}

enum clerk_auth
clerk_auth_check(struct clerk *k, const struct clerk_def *d,
                 struct MHD_Connection *c, unsigned char id[CLERK_SHA],
                 const char **why)
{
    enum clerk_auth rc = check(k, d, c, id, why);

    atomic_fetch_add_explicit(rc == CLERK_AUTH_OK ? &k->tok_ok
                              : rc == CLERK_AUTH_REFUSED ? &k->tok_refused
                              : &k->tok_failed, 1, memory_order_relaxed);
    return rc;
}
