/* serve_shops.c - see serve_shops.h. */
#include "serve_shops.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "schedule.h"
#include "serve_cache.h"
#include "timeutil.h"

#define SHOP_HISTORY 16         /* runs /SHOP/runs/N remembers */
#define CONF_MAX (4 * 1024 * 1024)

struct shop_set {
    char *dir;
    struct shop_env *env;
    struct run_pool *pool;
    int64_t jitter_s;

    pthread_rwlock_t lock;      /* shops, n, refused */
    struct shop **shops;        /* by name */
    int n;
    cJSON *refused;             /* files refused by name (strings) */

    struct shop **retired;      /* main thread only */
    int nretired;

    int wfd;                    /* inotify, -1 if none */
    int pending;                /* a change not scanned yet */
    double changed_at;
};

struct shop_set *
shops_new(const char *dir, struct shop_env *env, struct run_pool *pool,
          int64_t jitter_s)
{
    struct shop_set *set = xcalloc(1, sizeof(*set));

    set->dir = xstrdup(dir);
    set->env = env;
    set->pool = pool;
    set->jitter_s = jitter_s;
    pthread_rwlock_init(&set->lock, NULL);
    set->refused = cJSON_CreateArray();
    set->wfd = -1;
    return set;
}

void
shops_free(struct shop_set *set)
{
    int i;

    if (set == NULL)
        return;
    for (i = 0; i < set->n; i++)
        shop_free(set->shops[i]);
    for (i = 0; i < set->nretired; i++)
        shop_free(set->retired[i]);
    free(set->shops);
    free(set->retired);
    cJSON_Delete(set->refused);
    if (set->wfd >= 0)
        close(set->wfd);
    pthread_rwlock_destroy(&set->lock);
    free(set->dir);
    free(set);
}

int
shops_name_ok(const char *name, size_t n)
{
    size_t i;

    if (n == 0 || n > 64)
        return 0;
    for (i = 0; i < n; i++) {
        char ch = name[i];
        int alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9');

        if (!alnum && (i == 0 || (ch != '_' && ch != '-')))
            return 0;
    }
    return 1;
}

/* ---- lookup ------------------------------------------------------------ */

/* Index of name in the sorted list, or where it would go (*found 0).
 * lock held. */
static int
find(struct shop **v, int n, const char *name, size_t len, int *found)
{
    int lo = 0, hi = n, mid, c;

    *found = 0;
    while (lo < hi) {
        mid = (lo + hi) / 2;
        c = strncmp(v[mid]->name, name, len);
        if (c == 0 && v[mid]->name[len] != '\0')
            c = 1;
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct shop *
shops_get(struct shop_set *set, const char *name, size_t n)
{
    struct shop *sh = NULL;
    int i, found;

    pthread_rwlock_rdlock(&set->lock);
    i = find(set->shops, set->n, name, n, &found);
    if (found) {
        sh = set->shops[i];
        atomic_fetch_add(&sh->refs, 1);
    }
    pthread_rwlock_unlock(&set->lock);
    return sh;
}

void
shops_put(struct shop *sh)
{
    if (sh != NULL)
        atomic_fetch_sub(&sh->refs, 1);
}

struct shop **
shops_all(struct shop_set *set, int *n)
{
    struct shop **v;
    int i;

    pthread_rwlock_rdlock(&set->lock);
    v = xcalloc((size_t)set->n + 1, sizeof(*v));
    for (i = 0; i < set->n; i++) {
        v[i] = set->shops[i];
        atomic_fetch_add(&v[i]->refs, 1);
    }
    *n = set->n;
    pthread_rwlock_unlock(&set->lock);
    return v;
}

void
shops_put_all(struct shop **v, int n)
{
    int i;

    for (i = 0; i < n; i++)
        shops_put(v[i]);
    free(v);
}

cJSON *
shops_refused(struct shop_set *set)
{
    cJSON *a;
    int i;

    pthread_rwlock_rdlock(&set->lock);
    a = cJSON_Duplicate(set->refused, 1);
    for (i = 0; i < set->n; i++) {
        pthread_rwlock_rdlock(&set->shops[i]->cfg_lock);
        if (set->shops[i]->refused != NULL)
            cJSON_AddItemToArray(a, cJSON_CreateString(
                                        set->shops[i]->refused));
        pthread_rwlock_unlock(&set->shops[i]->cfg_lock);
    }
    pthread_rwlock_unlock(&set->lock);
    return a;
}

/* ---- scan --------------------------------------------------------------- */

/* One DIR/NAME.conf as a scan found it. */
struct found {
    char *name;
    char *path;
    unsigned char hash[SHA256_DIGEST_LENGTH];
    int hashed;             /* the file could be read */
};

static int
cmp_found(const void *a, const void *b)
{
    return strcmp(((const struct found *)a)->name,
                  ((const struct found *)b)->name);
}

/* Reads one file's hash; a file that cannot be read is still a shop (its
 * load says why it is refused). */
static void
hash_file(struct found *f)
{
    struct pf_err err = {{0}};
    char *text = NULL;
    size_t len = 0;

    if (pf_read_file(f->path, CONF_MAX, &text, &len, &err) != 0)
        return;
    SHA256((const unsigned char *)text, len, f->hash);
    f->hashed = 1;
    free(text);
}

/* The *.conf files of DIR with valid names, sorted; refused names go to
 * refused. -1 if DIR cannot be read. */
static int
list_dir(const char *dir, struct found **out, int *nout, cJSON *refused,
         struct pf_err *err)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    struct found *v = NULL;
    int n = 0, cap = 0;
    size_t len;

    if (d == NULL) {
        pf_errf(err, "%s: %s", dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".conf") != 0 ||
            de->d_name[0] == '.')
            continue;
        if (!shops_name_ok(de->d_name, len - 5)) {
            char *msg = xasprintf("%s/%s: refused: a shop's name (the "
                                  "file name without .conf) is 1 to 64 "
                                  "letters, digits, '_' or '-', starting "
                                  "with a letter or digit", dir,
                                  de->d_name);

            log_error("%s", msg);
            cJSON_AddItemToArray(refused, cJSON_CreateString(msg));
            free(msg);
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            v = xrealloc(v, (size_t)cap * sizeof(*v));
        }
        memset(&v[n], 0, sizeof(v[n]));
        v[n].name = xstrdup(de->d_name);
        v[n].name[len - 5] = '\0';
        v[n].path = xasprintf("%s/%s", dir, de->d_name);
        hash_file(&v[n]);
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(v, (size_t)n, sizeof(*v), cmp_found);
    *out = v;
    *nout = n;
    return 0;
}

/* A new shop: loaded (or refused, kept with its error) and planned. */
static struct shop *
add_shop(struct shop_set *set, const struct found *f)
{
    struct pf_err err = {{0}};
    struct shop *sh;

    sh = shop_new(f->name, f->path, set->env, SHOP_HISTORY,
                  set->jitter_s > 0 ? schedule_jitter(f->name, set->jitter_s)
                                    : 0);
    cache_set_lean(sh->cache);
    sh->memo_on = 1;        /* before any request can see the shop */
    if (shop_load(sh, 0, f->hashed ? f->hash : NULL, &err) != 0)
        log_error("shop %s refused: %s", f->name, err.msg);
    else
        log_info("shop %s: loaded %s", f->name, f->path);
    shop_first_plan(sh);
    return sh;
}

/* A changed file: that shop reloads; the schedule is planned anew only
 * if it changed, so an edit elsewhere does not move the next run. */
static void
change_shop(struct shop *sh, const struct found *f)
{
    struct pf_err err = {{0}};
    struct pf_schedule old_sched = {0};
    char *old_tz = NULL;
    int had = sh->cfg != NULL;

    if (had) {
        old_sched = sh->cfg->schedule;
        old_tz = xstrdup(sh->cfg->timezone);
    }
    if (shop_load(sh, 0, f->hashed ? f->hash : NULL, &err) != 0) {
        log_error("shop %s: reload refused%s: %s", sh->name,
                  had ? ", keeping its running config" : "", err.msg);
    }
    else {
        log_info("shop %s: reloaded %s", sh->name, f->path);
        if (!had)
            shop_first_plan(sh);
        else if (memcmp(&old_sched, &sh->cfg->schedule,
                        sizeof old_sched) != 0 ||
                 strcmp(old_tz, sh->cfg->timezone) != 0)
            shop_plan(sh, shop_now(sh->env));
    }
    free(old_tz);
}

/* A file gone: its shop serves nothing from now on; a queued run is
 * dropped, a running one ends (the pool still reports it). */
static void
retire_shop(struct shop_set *set, struct shop *sh)
{
    sh->removed = 1;
    pool_forget(set->pool, sh);
    set->retired = xrealloc(set->retired, ((size_t)set->nretired + 1) *
                                              sizeof(*set->retired));
    set->retired[set->nretired++] = sh;
    log_info("shop %s: removed (its file is gone)", sh->name);
}

/* Merges the sorted old list and the sorted files into the new list. */
static struct shop **
merge(struct shop_set *set, struct found *f, int nf, int *nout)
{
    struct shop **v = xcalloc((size_t)nf + 1, sizeof(*v));
    int i = 0, k = 0, n = 0, c;

    while (i < set->n || k < nf) {
        c = i >= set->n ? 1 : k >= nf ? -1
                        : strcmp(set->shops[i]->name, f[k].name);
        if (c < 0) {
            retire_shop(set, set->shops[i++]);
            continue;
        }
        if (c > 0) {
            v[n++] = add_shop(set, &f[k++]);
            continue;
        }
        if (!f[k].hashed ||
            memcmp(set->shops[i]->hash, f[k].hash, sizeof f[k].hash) != 0)
            change_shop(set->shops[i], &f[k]);
        else
            shop_reread_token(set->shops[i]);
        v[n++] = set->shops[i++];
        k++;
    }
    *nout = n;
    return v;
}

int
shops_clash(const struct pf_config *a, const struct pf_config *b,
            struct pf_err *err)
{
    const char *what = strcmp(a->store_path, b->store_path) == 0
                           ? "store" : strcmp(a->feeds_dir, b->feeds_dir) == 0
                           ? "feeds_dir" : NULL;

    if (what == NULL)
        return 0;
    pf_errf(err, "%s: refused: its %s %s is also %s's; give each shop its "
            "own store and feeds_dir in [shop]", a->path, what,
            strcmp(what, "store") == 0 ? a->store_path : a->feeds_dir,
            b->path);
    return 1;
}

/* Refuses each loaded shop that clashes with one before it (main thread:
 * the only writer of cfg, so reading it needs no lock here). */
static void
refuse_clashes(struct shop_set *set, struct shop **v, int n)
{
    struct pf_err err = {{0}};
    int i, j;

    for (i = 1; i < n; i++) {
        for (j = 0; j < i && v[i]->cfg != NULL; j++) {
            if (v[j]->cfg == NULL || !shops_clash(v[i]->cfg, v[j]->cfg,
                                                  &err))
                continue;
            log_error("shop %s %s", v[i]->name, err.msg);
            pool_forget(set->pool, v[i]);
            shop_refuse(v[i], err.msg);
        }
    }
}

int
shops_scan(struct shop_set *set, struct pf_err *err)
{
    struct found *f = NULL;
    struct shop **v, **old;
    cJSON *refused = cJSON_CreateArray(), *old_refused;
    int nf = 0, n, i;

    if (list_dir(set->dir, &f, &nf, refused, err) != 0) {
        cJSON_Delete(refused);
        return -1;
    }
    v = merge(set, f, nf, &n);
    refuse_clashes(set, v, n);
    pthread_rwlock_wrlock(&set->lock);
    old = set->shops;
    old_refused = set->refused;
    set->shops = v;
    set->n = n;
    set->refused = refused;
    pthread_rwlock_unlock(&set->lock);
    free(old);
    cJSON_Delete(old_refused);
    for (i = 0; i < nf; i++) {
        free(f[i].name);
        free(f[i].path);
    }
    free(f);
    return 0;
}

void
shops_reap(struct shop_set *set)
{
    struct shop *sh;
    int i;

    for (i = 0; i < set->nretired; i++) {
        sh = set->retired[i];
        if (sh->cache == NULL || atomic_load(&sh->refs) != 0 ||
            pool_state(set->pool, sh, NULL) != 0)
            continue;
        /* Its store connection and feed files go now; the struct stays
         * for Clerk answers that may still stream (serve_shops.h). */
        cache_free(sh->cache);
        sh->cache = NULL;
    }
}

/* ---- inotify ------------------------------------------------------------ */

int
shops_watch_open(struct shop_set *set)
{
    set->wfd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (set->wfd < 0)
        return -1;
    if (inotify_add_watch(set->wfd, set->dir, IN_CREATE | IN_DELETE |
                          IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
                          IN_MODIFY | IN_ATTRIB) < 0) {
        log_warn("%s: cannot watch for changes (%s): send SIGHUP after "
                 "changing a shop", set->dir, strerror(errno));
        close(set->wfd);
        set->wfd = -1;
    }
    return set->wfd;
}

int
shops_watch_due(struct shop_set *set)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    double now = pf_now_mono();

    if (set->wfd < 0)
        return 0;
    while (read(set->wfd, buf, sizeof buf) > 0) {
        set->pending = 1;
        set->changed_at = now;
    }
    if (!set->pending || now - set->changed_at < 1.0)
        return 0;
    set->pending = 0;
    return 1;
}
