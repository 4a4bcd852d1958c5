/* serve_clerk_sess.c - paging sessions of the Clerk V2 endpoints: the
 * snapshot of a first page kept open (a read transaction on a read-only
 * connection) with the `after` key of every page boundary so far, so
 * the next page and a retry read the same data. See serve_clerk_int.h.
 *
 * Bounded: at most CLERK_MAX_SESSIONS open (the least recently used idle
 * one goes), none idle longer than CLERK_SESSION_IDLE. An open read
 * transaction keeps SQLite's WAL from being checkpointed past it, which
 * is why they do not live longer.
 */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve_clerk_int.h"

void
clerk_sess_key(const unsigned char tok[CLERK_SHA], int ent,
               const char *modified_after, int64_t limit,
               unsigned char key[CLERK_SHA])
{
    struct pf_buf b;

    pf_buf_init(&b);
    pf_buf_add(&b, tok, CLERK_SHA);
    pf_buf_addf(&b, "|%d|%lld|%s", ent, (long long)limit,
                modified_after != NULL ? modified_after : "-");
    SHA256((const unsigned char *)b.data, b.len, key);
    pf_buf_free(&b);
}

int
clerk_pool_take(struct clerk *k, int ent, const struct clerk_def *d,
                struct store **st, struct feed_window_cache **cache)
{
    struct clerk_pooled *p = &k->pool[ent], old = {0};
    int hit = 0;

    pthread_mutex_lock(&k->mu);
    if (p->st != NULL && p->def == d) {
        *st = p->st;
        *cache = p->cache;
        hit = 1;
        old.def = p->def;
        memset(p, 0, sizeof(*p));
    }
    pthread_mutex_unlock(&k->mu);
    clerk_def_put(k, old.def);
    return hit;
}

/* Ends s's transaction and parks its connection in the pool when the
 * pool has room and s renders the current definition; else closes it.
 * A parked connection keeps its page cache and window cache. */
static void
park(struct clerk *k, struct clerk_sess *s)
{
    struct clerk_pooled *p = &k->pool[s->ent];
    int ok = sqlite3_exec(store_db(s->st), "ROLLBACK", NULL, NULL,
                          NULL) == SQLITE_OK;

    pthread_mutex_lock(&k->mu);
    if (ok && p->st == NULL && s->def == k->def) {
        p->st = s->st;
        p->cache = s->cache;
        p->def = s->def;
        s->st = NULL;
        s->cache = NULL;
        s->def = NULL;
    }
    pthread_mutex_unlock(&k->mu);
    if (s->st != NULL)
        store_close(s->st);
}

void
clerk_sess_unbind(struct clerk *k, struct clerk_sess *s)
{
    struct clerk_def *d = clerk_def_get_this(k, s->def);

    if (s->st != NULL)
        park(k, s);
    s->st = NULL;
    if (s->def == NULL)
        s->def = d;
    else
        clerk_def_put(k, d);
}

static void
sess_free(struct clerk *k, struct clerk_sess *s)
{
    size_t i;

    if (s == NULL)
        return;
    feed_answer_close(s->file);
    clerk_pre_free(s->pre);
    if (s->st != NULL)
        park(k, s);
    feed_window_cache_free(s->cache);
    clerk_def_put(k, s->def);
    for (i = 0; i < s->nbounds; i++)
        free(s->bounds[i]);
    free(s->bounds);
    free(s);
}

struct clerk_sess *
clerk_sess_take(struct clerk *k, const unsigned char key[CLERK_SHA])
{
    struct clerk_sess **pp, *s = NULL;

    pthread_mutex_lock(&k->mu);
    for (pp = &k->sessions; *pp != NULL; pp = &(*pp)->next) {
        if (memcmp((*pp)->key, key, CLERK_SHA) == 0) {
            s = *pp;
            *pp = s->next;
            s->next = NULL;
            break;
        }
    }
    pthread_mutex_unlock(&k->mu);
    return s;
}

/* The least recently used idle session, unlinked; NULL if none. mu
 * held. */
static struct clerk_sess *
unlink_oldest(struct clerk *k)
{
    struct clerk_sess **pp, **old = NULL, *s;

    for (pp = &k->sessions; *pp != NULL; pp = &(*pp)->next)
        if (old == NULL || (*pp)->used <= (*old)->used)
            old = pp;
    if (old == NULL)
        return NULL;
    s = *old;
    *old = s->next;
    k->nsess--;
    return s;
}

struct clerk_sess *
clerk_sess_new(struct clerk *k, const unsigned char key[CLERK_SHA],
               int ent, struct store *st, struct feed_window_cache *cache,
               struct clerk_def *def)
{
    struct clerk_sess *s = xcalloc(1, sizeof(*s)), *gone = NULL;

    memcpy(s->key, key, CLERK_SHA);
    s->ent = ent;
    s->st = st;
    s->cache = cache;
    s->def = def;
    s->bounds = xcalloc(1, sizeof(*s->bounds));
    s->nbounds = 1;         /* page 0 starts at the first key */
    s->used = pf_now_mono();
    pthread_mutex_lock(&k->mu);
    if (k->nsess >= CLERK_MAX_SESSIONS)
        gone = unlink_oldest(k);
    k->nsess++;
    pthread_mutex_unlock(&k->mu);
    sess_free(k, gone);
    return s;
}

void
clerk_sess_give(struct clerk *k, struct clerk_sess *s)
{
    s->used = pf_now_mono();
    pthread_mutex_lock(&k->mu);
    s->next = k->sessions;
    k->sessions = s;
    pthread_mutex_unlock(&k->mu);
}

void
clerk_sess_close(struct clerk *k, struct clerk_sess *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&k->mu);
    k->nsess--;
    pthread_mutex_unlock(&k->mu);
    sess_free(k, s);
}

void
clerk_sess_bound(struct clerk_sess *s, size_t idx, const char *after)
{
    if (after == NULL || idx + 1 != s->nbounds)
        return;
    s->bounds = xrealloc(s->bounds, (s->nbounds + 1) * sizeof(*s->bounds));
    s->bounds[s->nbounds++] = xstrdup(after);
}

void
clerk_sess_sweep(struct clerk *k, double now, double idle)
{
    struct clerk_sess **pp, *s, *dead = NULL;

    pthread_mutex_lock(&k->mu);
    pp = &k->sessions;
    while (*pp != NULL) {
        s = *pp;
        if (now - s->used < idle) {
            pp = &s->next;
            continue;
        }
        *pp = s->next;
        s->next = dead;
        dead = s;
        k->nsess--;
    }
    pthread_mutex_unlock(&k->mu);
    while (dead != NULL) {
        s = dead->next;
        sess_free(k, dead);
        dead = s;
    }
}

int
clerk_sess_count(struct clerk *k)
{
    int n;

    pthread_mutex_lock(&k->mu);
    n = k->nsess;
    pthread_mutex_unlock(&k->mu);
    return n;
}

void
clerk_sess_close_all(struct clerk *k)
{
    struct store *st;
    struct feed_window_cache *cache;
    int i;

    clerk_sess_sweep(k, 1e300, 0);
    for (i = 0; i < CLERK_NENT; i++) {
        while (k->pool[i].st != NULL &&
               clerk_pool_take(k, i, k->pool[i].def, &st, &cache)) {
            store_close(st);
            feed_window_cache_free(cache);
        }
    }
}
