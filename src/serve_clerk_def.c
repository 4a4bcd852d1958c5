/* serve_clerk_def.c - what the Clerk V2 endpoints render with: the
 * config (loaded on its own, so a SIGHUP never frees what an answer
 * being sent still reads), each entity's defining feed, and the render
 * epoch of each definition (store.h store_render_epoch): an incremental
 * answer is only right when the template, the settings and the program
 * rendered unchanged objects the same way since the client's last read.
 */
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed_answer.h"
#include "feed_window.h"
#include "log.h"
#include "rules.h"
#include "serve_clerk_int.h"
#include "source.h"
#include "timeutil.h"

const char *const clerk_entities[CLERK_NENT] = {
    "products", "categories", "orders", "customers", "pages"
};

int
clerk_def_load(const char *path, struct clerk_def **out, struct pf_err *err)
{
    struct clerk_def *d = xcalloc(1, sizeof(*d));
    int i;

    d->refs = 1;
    pthread_mutex_init(&d->emu, NULL);
    if (pf_config_load(path, source_schema, &d->cfg, err) != 0)
        goto fail;
    if (pf_secret_is_set(&d->cfg->serve.token) &&
        pf_secret_read(&d->cfg->serve.token, &d->token, err) != 0)
        goto fail;
    for (i = 0; i < CLERK_NENT; i++) {
        d->fc[i] = feed_answer_def(d->cfg, clerk_entities[i], &d->tmp[i]);
        feed_answer_def_hash(d->cfg, d->fc[i], d->hash[i]);
        d->clock[i] = feed_answer_reads_clock(d->cfg, d->fc[i]);
    }
    *out = d;
    return 0;
fail:
    clerk_def_free(d);
    return -1;
}

void
clerk_def_free(struct clerk_def *d)
{
    int i;

    if (d == NULL)
        return;
    for (i = 0; i < CLERK_NENT; i++) {
        free(d->tmp[i].name);
        free(d->tmp[i].template_path);
    }
    if (d->token != NULL)
        OPENSSL_cleanse(d->token, strlen(d->token));
    free(d->token);
    pf_config_free(d->cfg);
    pthread_mutex_destroy(&d->emu);
    free(d);
}

/* Records every entity's definition hash; an entity whose epoch cannot
 * be recorded (no store yet) stays not ok and is tried again by the
 * next answer, which answers full meanwhile. */
/* 1 when every entity's epoch is recorded. emu held. */
static int
all_ok(const struct clerk_def *d)
{
    int i;

    for (i = 0; i < CLERK_NENT; i++)
        if (!d->epoch_ok[i])
            return 0;
    return 1;
}

void
clerk_def_epochs(struct clerk_def *d)
{
    struct pf_err err = {{0}};
    struct store *st = NULL;
    char key[48];
    int i;

    pthread_mutex_lock(&d->emu);
    if (all_ok(d))
        goto cleanup;
    if (store_open(d->cfg->store_path, &st, &err) != 0) {
        log_warn("clerk v2: cannot record the feed definitions yet, "
                 "answers are full until then: %s", err.msg);
        goto cleanup;
    }
    for (i = 0; i < CLERK_NENT; i++) {
        if (d->epoch_ok[i])
            continue;
        snprintf(key, sizeof key, "clerk-v2/%s", clerk_entities[i]);
        if (store_render_epoch(st, key, d->hash[i], pf_time_now(),
                               &d->epoch[i], &err) != 0) {
            log_warn("clerk v2: %s", err.msg);
            break;
        }
        d->epoch_ok[i] = 1;
    }
cleanup:
    store_close(st);
    pthread_mutex_unlock(&d->emu);
}

int
clerk_def_lists_epoch(struct clerk_def *d,
                      const struct feed_window_cache *cache,
                      struct store *snap, int64_t *epoch,
                      struct pf_err *err)
{
    int64_t now = pf_time_now(), newest = 0;
    unsigned char md[CLERK_SHA];
    char hex[2 * CLERK_SHA + 1];
    char *text = feed_window_cache_text(cache);
    struct store *st = NULL;
    int rc = -1;

    SHA256((const unsigned char *)text, strlen(text), md);
    for (int i = 0; i < CLERK_SHA; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    pthread_mutex_lock(&d->emu);
    if (strcmp(hex, d->lists_hash) == 0) {
        *epoch = d->lists_epoch;
        rc = 0;
        goto cleanup;
    }
    /* New to this server: the store knows since when (a write only when
     * the digest differs from the stored one). A new digest dates from
     * now, or from the newest product change if the clock says earlier
     * (a pinned or skewed clock): a change of the list attributes came
     * with a product's change, so it is no older than that. */
    if (store_newest_product_change(snap, &newest, err) != 0 ||
        store_open(d->cfg->store_path, &st, err) != 0 ||
        store_render_epoch(st, "clerk-v2/products/lists", hex,
                           newest > now ? newest : now, epoch, err) != 0)
        goto cleanup;
    memcpy(d->lists_hash, hex, sizeof(hex));
    d->lists_epoch = *epoch;
    rc = 0;
cleanup:
    pthread_mutex_unlock(&d->emu);
    store_close(st);
    free(text);
    return rc;
}

struct clerk_def *
clerk_def_get(struct clerk *k)
{
    struct clerk_def *d;

    pthread_mutex_lock(&k->mu);
    d = k->def;
    if (d != NULL)
        d->refs++;
    pthread_mutex_unlock(&k->mu);
    return d;
}

struct clerk_def *
clerk_def_get_this(struct clerk *k, struct clerk_def *d)
{
    pthread_mutex_lock(&k->mu);
    d->refs++;
    pthread_mutex_unlock(&k->mu);
    return d;
}

void
clerk_def_put(struct clerk *k, struct clerk_def *d)
{
    int last;

    if (d == NULL)
        return;
    pthread_mutex_lock(&k->mu);
    last = --d->refs == 0;
    pthread_mutex_unlock(&k->mu);
    if (last)
        clerk_def_free(d);
}
