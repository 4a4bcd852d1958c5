/* oauth.c - see oauth.h. */
#include "oauth.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* Refresh this long before the server's expiry, so a token never dies
 * between our check and the request. */
#define OAUTH_EARLY_S 60.0

int
oauth_init(struct oauth *o, const char *token_url, const char *client_id,
           const char *client_secret, const char *refresh_file,
           struct http_client *http, struct pf_err *err)
{
    memset(o, 0, sizeof(*o));
    if (token_url == NULL || client_id == NULL || refresh_file == NULL) {
        pf_errf(err, "OAuth needs token_url, client_id and "
                "refresh_token_file");
        return -1;
    }
    o->token_url = xstrdup(token_url);
    o->client_id = xstrdup(client_id);
    o->client_secret = client_secret != NULL ? xstrdup(client_secret)
                                             : NULL;
    o->refresh_file = xstrdup(refresh_file);
    o->http = http;
    return 0;
}

static void
wipe_free(char *s)
{
    if (s == NULL)
        return;
    memset(s, 0, strlen(s));
    free(s);
}

void
oauth_free(struct oauth *o)
{
    free(o->token_url);
    free(o->client_id);
    wipe_free(o->client_secret);
    free(o->refresh_file);
    wipe_free(o->access_token);
    memset(o, 0, sizeof(*o));
}

int
oauth_write_file(const char *path, const char *text, struct pf_err *err)
{
    char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
    char *dir = pf_path_dir(path);
    size_t len = strlen(text), off = 0;
    int fd = -1, dfd = -1, rc = -1;

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        pf_errf(err, "cannot write %s: %s", tmp, strerror(errno));
        goto cleanup;
    }
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            pf_errf(err, "cannot write %s: %s", tmp, strerror(errno));
            goto cleanup;
        }
        off += (size_t)n;
    }
    if (write(fd, "\n", 1) != 1 || fsync(fd) != 0) {
        pf_errf(err, "cannot write %s: %s", tmp, strerror(errno));
        goto cleanup;
    }
    close(fd);
    fd = -1;
    if (rename(tmp, path) != 0) {
        pf_errf(err, "cannot replace %s: %s", path, strerror(errno));
        goto cleanup;
    }
    /* The rename is durable only once the folder is synced. */
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0)
        fsync(dfd);
    rc = 0;

cleanup:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    if (rc != 0)
        unlink(tmp);
    free(tmp);
    free(dir);
    return rc;
}

static int
lock_file(const char *refresh_file, struct pf_err *err)
{
    char *path = xasprintf("%s.lock", refresh_file);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

    if (fd < 0) {
        pf_errf(err, "cannot open lock file %s: %s", path, strerror(errno));
        free(path);
        return -1;
    }
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            pf_errf(err, "cannot lock %s: %s", path, strerror(errno));
            close(fd);
            free(path);
            return -1;
        }
    }
    free(path);
    return fd;
}

static void
add_param(struct pf_buf *b, const char *name, const char *value)
{
    char *v = http_escape(value);

    if (b->len > 0)
        pf_buf_addc(b, '&');
    pf_buf_adds(b, name);
    pf_buf_addc(b, '=');
    pf_buf_adds(b, v);
    memset(v, 0, strlen(v));
    free(v);
}

/* POSTs the grant to the token endpoint and parses the reply. On success
 * *access and *refresh are set (caller frees). */
static int
token_request(struct http_client *http, const char *token_url,
              const char *client_id, const char *client_secret,
              const char *grant, const char *gname, const char *gvalue,
              char **access, char **refresh, double *expires_in,
              struct pf_err *err)
{
    static const char *const hdrs[] = {"Accept: application/json", NULL};
    struct pf_buf body;
    struct http_resp resp;
    cJSON *doc = NULL, *at, *rt, *ex, *er;
    int rc = -1;

    pf_buf_init(&body);
    add_param(&body, "grant_type", grant);
    add_param(&body, gname, gvalue);
    add_param(&body, "client_id", client_id);
    if (client_secret != NULL)
        add_param(&body, "client_secret", client_secret);
    if (http_post_form(http, token_url, body.data, hdrs, &resp, err) != 0) {
        pf_err_prefix(err, "token endpoint");
        goto cleanup;
    }
    doc = cJSON_ParseWithLength(resp.body, resp.len);
    er = doc != NULL ? cJSON_GetObjectItem(doc, "error") : NULL;
    if (cJSON_IsString(er) &&
        strcmp(er->valuestring, "invalid_grant") == 0) {
        pf_errf(err, "the Lightspeed authorization is no longer valid "
                "(invalid_grant: the refresh token in %s was used or "
                "revoked); run `posfeed auth` to authorize posfeed again",
                strcmp(grant, "refresh_token") == 0 ? "refresh_token_file"
                                                    : "the code");
        goto cleanup;
    }
    if (cJSON_IsString(er) &&
        strcmp(er->valuestring, "invalid_client") == 0) {
        pf_errf(err, "the token endpoint refused posfeed's client "
                "credentials (invalid_client); check [source] client_id "
                "and client_secret");
        goto cleanup;
    }
    if (resp.status != 200 || doc == NULL) {
        pf_errf(err, "token endpoint answered HTTP %ld%s%s", resp.status,
                cJSON_IsString(er) ? ": " : "",
                cJSON_IsString(er) ? er->valuestring : "");
        goto cleanup;
    }
    at = cJSON_GetObjectItem(doc, "access_token");
    rt = cJSON_GetObjectItem(doc, "refresh_token");
    ex = cJSON_GetObjectItem(doc, "expires_in");
    if (!cJSON_IsString(at) || at->valuestring[0] == '\0') {
        pf_errf(err, "token endpoint reply has no access_token");
        goto cleanup;
    }
    *access = xstrdup(at->valuestring);
    *refresh = cJSON_IsString(rt) && rt->valuestring[0] != '\0'
                   ? xstrdup(rt->valuestring) : NULL;
    *expires_in = cJSON_IsNumber(ex) ? ex->valuedouble
                  : cJSON_IsString(ex) ? atof(ex->valuestring) : 0;
    rc = 0;

cleanup:
    if (body.data != NULL)
        memset(body.data, 0, body.len);
    pf_buf_free(&body);
    if (resp.body != NULL)
        memset(resp.body, 0, resp.len);
    http_resp_free(&resp);
    cJSON_Delete(doc);
    return rc;
}

static char *
read_token(const char *path, struct pf_err *err)
{
    char *text = NULL;
    size_t len;

    if (pf_read_file(path, 65536, &text, &len, err) != 0) {
        pf_err_prefix(err, "refresh_token_file (run `posfeed auth` first)");
        return NULL;
    }
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' ||
                       text[len - 1] == ' '))
        text[--len] = '\0';
    if (len == 0) {
        pf_errf(err, "refresh_token_file %s is empty; run `posfeed auth`",
                path);
        free(text);
        return NULL;
    }
    return text;
}

int
oauth_refresh(struct oauth *o, struct pf_err *err)
{
    char *old = NULL, *access = NULL, *refresh = NULL;
    double expires_in = 0;
    int fd, rc = -1;

    fd = lock_file(o->refresh_file, err);
    if (fd < 0)
        return -1;
    /* Read under the lock: another process may have just rotated it. */
    old = read_token(o->refresh_file, err);
    if (old == NULL)
        goto cleanup;
    if (token_request(o->http, o->token_url, o->client_id,
                      o->client_secret, "refresh_token", "refresh_token",
                      old, &access, &refresh, &expires_in, err) != 0)
        goto cleanup;
    /* The old token is spent: store the new one before anything uses the
     * new access token. */
    if (refresh != NULL &&
        oauth_write_file(o->refresh_file, refresh, err) != 0) {
        pf_err_prefix(err, "storing the rotated refresh token");
        goto cleanup;
    }
    wipe_free(o->access_token);
    o->access_token = access;
    access = NULL;
    /* Short-lived tokens (tests) get a proportionally short margin. */
    o->expires_at = 0;
    if (expires_in > 0)
        o->expires_at = pf_now_mono() + expires_in -
                        (expires_in / 10 < OAUTH_EARLY_S ? expires_in / 10
                                                         : OAUTH_EARLY_S);
    o->refreshes++;
    log_debug("access token refreshed (expires in %.0f s)", expires_in);
    rc = 0;

cleanup:
    wipe_free(old);
    wipe_free(access);
    wipe_free(refresh);
    flock(fd, LOCK_UN);
    close(fd);
    return rc;
}

int
oauth_token(struct oauth *o, const char **tok, struct pf_err *err)
{
    if (o->access_token == NULL ||
        (o->expires_at > 0 && pf_now_mono() > o->expires_at)) {
        if (oauth_refresh(o, err) != 0)
            return -1;
    }
    *tok = o->access_token;
    return 0;
}

char *
oauth_authorize_url(const char *token_url, const char *client_id,
                    const char *scope, const char *state)
{
    const char *slash = strrchr(token_url, '/');
    size_t base = slash != NULL ? (size_t)(slash - token_url) + 1
                                : strlen(token_url);
    char *cid = http_escape(client_id), *sc = http_escape(scope);
    char *st = http_escape(state);
    char *url = xasprintf("%.*sauthorize?response_type=code&client_id=%s"
                          "&scope=%s&state=%s", (int)base, token_url, cid,
                          sc, st);

    free(cid);
    free(sc);
    free(st);
    return url;
}

int
oauth_exchange_code(struct http_client *http, const char *token_url,
                    const char *client_id, const char *client_secret,
                    const char *code, const char *refresh_file,
                    struct pf_err *err)
{
    char *access = NULL, *refresh = NULL;
    double expires_in;
    int fd, rc = -1;

    fd = lock_file(refresh_file, err);
    if (fd < 0)
        return -1;
    if (token_request(http, token_url, client_id, client_secret,
                      "authorization_code", "code", code, &access,
                      &refresh, &expires_in, err) != 0)
        goto cleanup;
    if (refresh == NULL) {
        pf_errf(err, "token endpoint reply has no refresh_token");
        goto cleanup;
    }
    if (oauth_write_file(refresh_file, refresh, err) != 0)
        goto cleanup;
    rc = 0;

cleanup:
    wipe_free(access);
    wipe_free(refresh);
    flock(fd, LOCK_UN);
    close(fd);
    return rc;
}
