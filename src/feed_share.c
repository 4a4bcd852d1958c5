/* feed_share.c - see feed_share.h. */
#include "feed_share.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "feed_int.h"
#include "rows.h"
#include "store.h"

#define SHARE_SLOTS FEED_SHARE_SLOTS

/* Marks a seat that reads no more. */
#define SEAT_LEFT UINT64_MAX

struct slot {
    struct pf_arena arena;  /* the object and everything in it */
    struct pf_obj *obj;
};

struct feed_share {
    const struct pf_config *cfg;
    const struct pf_feed_cfg *fc;
    const char *family;
    pthread_mutex_t mu;
    pthread_cond_t can_put;     /* the producer waits for room */
    pthread_cond_t can_take;    /* seats wait for an object */
    struct slot slots[SHARE_SLOTS];
    uint64_t produced;          /* objects 0 .. produced-1 were made */
    uint64_t peak;              /* most objects in the ring at once */
    int state;                  /* 0: reading, 1: done, -1: failed */
    struct pf_err err;
    int64_t free_products, free_variants;
    int64_t rows_read[COLL_PAGES + 1];
    int nseats;
    /* Per seat: the object it reads next (SEAT_LEFT once it left), and
     * whether it still holds that object (took it, not yet released). */
    uint64_t *next;
    int *holding;
    /* Wake-ups come a batch at a time, not per object: a thread woken
     * for every product (six feeds, hundreds of thousands of products,
     * on two cores) spends more time switching than rendering. The
     * producer, out of room, sleeps until the slowest seat freed
     * FEED_SHARE_BATCH slots (put_need); a seat that caught up sleeps
     * until that many more objects were made, or the ring is full
     * (take_need: the least any sleeping seat waits for). */
    int put_waiting, take_waiting;
    uint64_t put_need, take_need;
};

struct feed_share *
feed_share_new(const struct pf_config *cfg, const struct pf_feed_cfg *fc,
               const char *family, int nseats)
{
    struct feed_share *sh = xcalloc(1, sizeof(*sh));
    int i;

    sh->cfg = cfg;
    sh->fc = fc;
    sh->family = family;
    pthread_mutex_init(&sh->mu, NULL);
    pthread_cond_init(&sh->can_put, NULL);
    pthread_cond_init(&sh->can_take, NULL);
    for (i = 0; i < SHARE_SLOTS; i++)
        pf_arena_init(&sh->slots[i].arena);
    sh->nseats = nseats;
    sh->next = xcalloc((size_t)nseats, sizeof(*sh->next));
    sh->holding = xcalloc((size_t)nseats, sizeof(*sh->holding));
    sh->take_need = UINT64_MAX;
    return sh;
}

const char *
feed_share_family(const struct feed_share *sh)
{
    return sh->family;
}

/* The object the slowest seat still reading reads next; SEAT_LEFT when
 * none reads. Under sh->mu. */
static uint64_t
lowest_seat(const struct feed_share *sh)
{
    uint64_t lowest = SEAT_LEFT;
    int i;

    for (i = 0; i < sh->nseats; i++)
        if (sh->next[i] < lowest)
            lowest = sh->next[i];
    return lowest;
}

/* Wakes the producer when the seats freed the room it waits for. Under
 * sh->mu, after a seat moved on or left. */
static void
room_made(struct feed_share *sh)
{
    if (sh->put_waiting && lowest_seat(sh) >= sh->put_need)
        pthread_cond_signal(&sh->can_put);
}

/* Waits until object seq may go into its slot: every seat still reading
 * is past the object that slot held. 0 when no seat reads any more (the
 * scan can stop), else 1. */
static int
wait_room(struct feed_share *sh, uint64_t seq)
{
    int room = 0;

    pthread_mutex_lock(&sh->mu);
    for (;;) {
        uint64_t lowest = lowest_seat(sh);

        if (lowest == SEAT_LEFT)
            break;
        if (seq < lowest + SHARE_SLOTS) {
            room = 1;
            if (seq + 1 - lowest > sh->peak)
                sh->peak = seq + 1 - lowest;
            break;
        }
        /* Full (seq >= lowest + slots): wait for a batch of room. The
         * seats sleeping for a batch take what there is first: the
         * batch they wait for may be more than the ring can hold before
         * the slowest seat moves on. */
        if (sh->take_waiting > 0) {
            sh->take_need = UINT64_MAX;
            pthread_cond_broadcast(&sh->can_take);
        }
        sh->put_need = seq + FEED_SHARE_BATCH - SHARE_SLOTS;
        sh->put_waiting = 1;
        pthread_cond_wait(&sh->can_put, &sh->mu);
        sh->put_waiting = 0;
    }
    pthread_mutex_unlock(&sh->mu);
    return room;
}

/* Builds the next object the settings keep into sl's arena (d->row is
 * swapped with it meanwhile), counting the rows left out as free on the
 * way: the cursor is a variants cursor, so d->free_left grows by the
 * variants of each such product. 1: made; 0: no more rows; -1. */
static int
produce_one(struct feed_share *sh, struct feed_data *d,
            struct feed_cursor *cur, struct slot *sl, struct pf_err *err)
{
    struct pf_arena tmp = d->row;
    struct pf_obj *o = NULL;
    int rc;

    d->row = sl->arena;
    do {
        int64_t was = d->free_left;

        rc = feed_read_obj(d, cur, &o, err);
        if (d->free_left != was)
            sh->free_products++;
    } while (rc == 0 && cur->main.has_row);
    sl->arena = d->row;
    d->row = tmp;
    sl->obj = rc == 1 ? o : NULL;
    return rc;
}

static int
produce(struct feed_share *sh, struct feed_data *d, struct feed_cursor *cur,
        struct pf_err *err)
{
    uint64_t seq;
    int rc;

    for (seq = 0;; seq++) {
        if (!wait_room(sh, seq))
            return 0;
        /* The slot is free: no seat reads it until produced passes it. */
        rc = produce_one(sh, d, cur, &sh->slots[seq % SHARE_SLOTS], err);
        if (rc <= 0)
            return rc;
        pthread_mutex_lock(&sh->mu);
        sh->produced = seq + 1;
        if (sh->take_waiting > 0 && sh->produced >= sh->take_need) {
            sh->take_need = UINT64_MAX;
            pthread_cond_broadcast(&sh->can_take);
        }
        pthread_mutex_unlock(&sh->mu);
    }
}

void *
feed_share_run(void *share)
{
    struct feed_share *sh = share;
    struct store *s = NULL;
    struct feed_data *d = NULL;
    struct feed_cursor *cur = NULL;
    struct pf_err err = {{0}};
    /* Products are read as variants, so that both free counts are
     * known (feed_share_take). */
    const char *coll = strcmp(sh->family, "products") == 0 ? "variants"
                                                             : sh->family;
    int rc = -1, i;

    if (feed_share_store_open(sh->cfg->store_path, &s, &err) == 0 &&
        feed_data_open(sh->cfg, sh->fc, s, 1, &d, &err) == 0 &&
        feed_cursor_open(d, coll, &cur, &err) == 0)
        rc = produce(sh, d, cur, &err);
    pthread_mutex_lock(&sh->mu);
    sh->state = rc < 0 ? -1 : 1;
    sh->err = err;
    if (d != NULL) {
        sh->free_variants = d->free_left;
        for (i = 0; i <= COLL_PAGES; i++)
            sh->rows_read[i] = d->rows_read[i];
    }
    pthread_cond_broadcast(&sh->can_take);
    pthread_mutex_unlock(&sh->mu);
    feed_cursor_free(cur);
    feed_data_free(d);
    store_close(s);
    return NULL;
}

int
feed_share_take(struct feed_share *sh, int seat, struct pf_obj **o,
                int64_t *free_products, int64_t *free_variants,
                struct pf_err *err)
{
    int rc;

    pthread_mutex_lock(&sh->mu);
    if (sh->holding[seat]) {
        sh->holding[seat] = 0;
        sh->next[seat]++;
        room_made(sh);
    }
    while (sh->next[seat] >= sh->produced && sh->state == 0) {
        uint64_t need = sh->next[seat] + FEED_SHARE_BATCH;

        if (need < sh->take_need)
            sh->take_need = need;
        sh->take_waiting++;
        pthread_cond_wait(&sh->can_take, &sh->mu);
        sh->take_waiting--;
    }
    if (sh->next[seat] < sh->produced) {
        *o = sh->slots[sh->next[seat] % SHARE_SLOTS].obj;
        sh->holding[seat] = 1;
        rc = 1;
    }
    else if (sh->state < 0) {
        *err = sh->err;
        rc = -1;
    }
    else {
        *free_products = sh->free_products;
        *free_variants = sh->free_variants;
        rc = 0;
    }
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

void
feed_share_leave(struct feed_share *sh, int seat)
{
    pthread_mutex_lock(&sh->mu);
    sh->next[seat] = SEAT_LEFT;
    sh->holding[seat] = 0;
    room_made(sh);
    pthread_mutex_unlock(&sh->mu);
}

uint64_t
feed_share_peak(struct feed_share *sh)
{
    uint64_t peak;

    pthread_mutex_lock(&sh->mu);
    peak = sh->peak;
    pthread_mutex_unlock(&sh->mu);
    return peak;
}

int
feed_share_store_open(const char *path, struct store **out,
                      struct pf_err *err)
{
    if (store_open(path, out, err) != 0)
        return -1;
    if (store_exec(*out, "PRAGMA cache_size = -4000;", err) != 0) {
        store_close(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

void
feed_share_rows_read(const struct feed_share *sh, int64_t *rows_read)
{
    int i;

    for (i = 0; i <= COLL_PAGES; i++)
        rows_read[i] += sh->rows_read[i];
}

void
feed_share_free(struct feed_share *sh)
{
    int i;

    if (sh == NULL)
        return;
    for (i = 0; i < SHARE_SLOTS; i++)
        pf_arena_free(&sh->slots[i].arena);
    pthread_mutex_destroy(&sh->mu);
    pthread_cond_destroy(&sh->can_put);
    pthread_cond_destroy(&sh->can_take);
    free(sh->next);
    free(sh->holding);
    free(sh);
}
