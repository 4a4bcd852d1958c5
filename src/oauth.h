/* oauth.h - OAuth 2.0 for APIs with rotating, single-use refresh tokens
 * (Lightspeed Retail).
 *
 * The refresh token lives in a file. A refresh reads it, trades it for an
 * access token and a new refresh token, and writes the new one back
 * atomically (temp file, fsync, rename, fsync of the folder) before the
 * access token is handed out, so a crash can never leave only a used
 * token behind. An exclusive flock on "<file>.lock" makes two processes
 * on one token file refresh one after the other, the second reading the
 * token the first one stored.
 *
 * Ownership: struct oauth owns its copies of every string and the access
 * token; the http client is borrowed and must outlive it. Secrets never
 * reach a log line or an error message.
 */
#ifndef PF_OAUTH_H
#define PF_OAUTH_H

#include "http.h"
#include "util.h"

struct oauth {
    char *token_url, *client_id, *client_secret, *refresh_file;
    struct http_client *http;       /* borrowed */
    char *access_token;
    double expires_at;              /* on http's clock; 0 unknown */
    int refreshes;
};

int oauth_init(struct oauth *o, const char *token_url, const char *client_id,
               const char *client_secret, const char *refresh_file,
               struct http_client *http, struct pf_err *err);
void oauth_free(struct oauth *o);

/* The current access token, refreshing first when there is none or it is
 * about to expire. *tok is owned by o. */
int oauth_token(struct oauth *o, const char **tok, struct pf_err *err);
/* Forces a refresh (after a 401). invalid_grant is an error telling the
 * user to run `posfeed auth`; it is the only answer that means the
 * authorization is gone, so no other error says so. */
int oauth_refresh(struct oauth *o, struct pf_err *err);

/* The browser URL of the first authorization: token_url with its last
 * path segment replaced by "authorize". Caller frees. */
char *oauth_authorize_url(const char *token_url, const char *client_id,
                          const char *scope, const char *state);
/* Trades an authorization code for tokens and stores the refresh token in
 * refresh_file (atomically, under the lock). */
int oauth_exchange_code(struct http_client *http, const char *token_url,
                        const char *client_id, const char *client_secret,
                        const char *code, const char *refresh_file,
                        struct pf_err *err);

/* Writes text + "\n" to path atomically with mode 0600. */
int oauth_write_file(const char *path, const char *text,
                     struct pf_err *err);

#endif
