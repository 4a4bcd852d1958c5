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

#include "feed_window.h"
#include "log.h"
#include "rules.h"
#include "serve_clerk_int.h"
#include "source.h"
#include "timeutil.h"

const char *const clerk_entities[CLERK_NENT] = {
    "products", "categories", "orders", "customers", "pages"
};

/* The config's first [feed] using the built-in clerk-ENTITY template
 * (its settings, rules and overrides apply), else that template with
 * [sync]'s settings: the same definition as a static feed's. */
static void
def_feed(struct clerk_def *d, int ent)
{
    const struct pf_config *cfg = d->cfg;
    char name[32];
    char *builtin;
    size_t i;

    snprintf(name, sizeof name, "clerk-%s", clerk_entities[ent]);
    builtin = pf_template_resolve(name, cfg->dir);
    for (i = 0; i < cfg->nfeeds && d->fc[ent] == NULL; i++)
        if (strcmp(cfg->feeds[i].template_path, builtin) == 0)
            d->fc[ent] = &cfg->feeds[i];
    if (d->fc[ent] != NULL) {
        free(builtin);
        return;
    }
    d->tmp[ent].name = xstrdup(name);
    d->tmp[ent].template_spec = d->tmp[ent].name;
    d->tmp[ent].template_path = builtin;
    d->tmp[ent].output = d->tmp[ent].name;
    d->tmp[ent].sync = cfg->sync;
    d->tmp[ent].line = cfg->serve.clerk_v2_line;
    d->fc[ent] = &d->tmp[ent];
}

static void
add_list(struct pf_buf *b, const char *key, const struct pf_strlist *l)
{
    size_t i;

    pf_buf_addf(b, "%s=%zu", key, l->n);
    for (i = 0; i < l->n; i++)
        pf_buf_addf(b, ":%zu:%s", strlen(l->items[i]), l->items[i]);
    pf_buf_addc(b, '\n');
}

/* Everything of a feed's definition that changes what it renders, as
 * text (lengths make it unambiguous). */
static void
def_text(const struct pf_config *cfg, const struct pf_feed_cfg *fc,
         struct pf_buf *b)
{
    const struct pf_sync_settings *st = &fc->sync;
    size_t i;

    pf_buf_addf(b, "rev=%d\nshop=%s\ncur=%s\ntz=%s\n", FEED_RENDER_REV,
                cfg->shop_url ? cfg->shop_url : "", cfg->currency,
                cfg->timezone);
    pf_buf_addf(b, "attr=%d all=%d n=%d unit=%d oos=%d em=%d cu=%d "
                "va=%d vs=%d vt=%d hc=%d ra=%d pa=%d fr=%d\n",
                (int)st->attributes, st->lookback_all, st->lookback_n,
                (int)st->lookback_unit, st->include_out_of_stock,
                st->collect_emails, st->include_customers,
                st->include_variants, st->include_variant_stock,
                (int)st->variant_stock_tracking,
                st->include_hidden_categories, st->include_ratings,
                st->include_pages, st->include_free_products);
    add_list(b, "custom", &st->custom_attributes);
    add_list(b, "statuses", &st->accepted_order_statuses);
    for (i = 0; i < fc->nrules; i++)
        pf_buf_addf(b, "rule=%d:%zu:%s:%zu:%s\n", (int)fc->rules[i].kind,
                    fc->rules[i].field ? strlen(fc->rules[i].field) : 0,
                    fc->rules[i].field ? fc->rules[i].field : "",
                    strlen(fc->rules[i].text), fc->rules[i].text);
}

/* hex SHA-256 of the template's bytes and def_text(); an unreadable
 * template hashes as empty (its answers fail anyway). */
static void
def_hash(const struct pf_config *cfg, const struct pf_feed_cfg *fc,
         char out[2 * CLERK_SHA + 1])
{
    struct pf_err err = {{0}};
    unsigned char md[CLERK_SHA];
    struct pf_buf b;
    char *tpl = NULL;
    size_t n = 0, i;

    pf_buf_init(&b);
    if (pf_read_file(fc->template_path, 16 << 20, &tpl, &n, &err) == 0)
        pf_buf_add(&b, tpl, n);
    free(tpl);
    pf_buf_addf(&b, "\n--\n");
    def_text(cfg, fc, &b);
    SHA256((const unsigned char *)b.data, b.len, md);
    pf_buf_free(&b);
    for (i = 0; i < CLERK_SHA; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

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
        def_feed(d, i);
        def_hash(d->cfg, d->fc[i], d->hash[i]);
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
