/* serve_clerk_int.h - what the serve_clerk*.c files share: the config
 * an answer renders with (refcounted), the token check
 * (serve_clerk_auth.c) and the paging sessions (serve_clerk_sess.c).
 *
 * Ownership: a clerk_def is freed by its last clerk_def_put(); a session
 * owns its store connection (with its read transaction open) or its
 * answer file, its window cache, a reference to its definition and its
 * page boundaries;
 * a session taken by clerk_sess_take() belongs to the taker until it
 * gives it back or closes it.
 */
#ifndef PF_SERVE_CLERK_INT_H
#define PF_SERVE_CLERK_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "config.h"
#include "feed_answer.h"
#include "feed_window.h"
#include "serve_clerk.h"
#include "store.h"

enum { CLERK_PRODUCTS, CLERK_CATEGORIES, CLERK_ORDERS, CLERK_CUSTOMERS,
       CLERK_PAGES, CLERK_NENT };

#define CLERK_SHA 32            /* SHA-256 bytes */
#define CLERK_MAX_SESSIONS 32
#define CLERK_SESSION_IDLE 600.0
#define CLERK_TOKEN_CACHE 256

/* One loaded config: what answers started under it read. */
struct clerk_def {
    int refs;                   /* under clerk.mu */
    struct pf_config *cfg;
    char *token;                /* the serve token; NULL: none */
    const struct pf_feed_cfg *fc[CLERK_NENT];
    struct pf_feed_cfg tmp[CLERK_NENT];     /* built-in fallbacks */
    char hash[CLERK_NENT][2 * CLERK_SHA + 1];
    int clock[CLERK_NENT];      /* feed_answer_reads_clock(): no file */
    /* When the entity's definition last changed (store_render_epoch);
     * epoch_ok 0 until recorded (the store may not exist yet). Under
     * emu: the main thread records, answers read. */
    pthread_mutex_t emu;
    int64_t epoch[CLERK_NENT];
    int epoch_ok[CLERK_NENT];
    /* The same for the products' list attributes, decided over the whole
     * catalog (feed_window_cache_text): the digest last recorded and its
     * epoch; "" until the first products answer records it. */
    char lists_hash[2 * CLERK_SHA + 1];
    int64_t lists_epoch;
};

struct clerk_tok {
    unsigned char hash[CLERK_SHA];
    double until;               /* monotonic */
};

/* An incremental answer rendered while its mode was decided: NDJSON
 * objects and the offset of each (off[n] = buf.len). */
#define CLERK_PRE_MAX (4 << 20)
struct clerk_pre {
    struct pf_buf buf;
    size_t *off;
    int64_t n, cap;
    int over;                   /* outgrew CLERK_PRE_MAX: not kept */
};

struct clerk_sess {
    unsigned char key[CLERK_SHA];
    int ent;
    struct store *st;           /* its read transaction is open; NULL
                                 * when file holds the snapshot */
    struct feed_answer *file;   /* the run's answer file; NULL: live */
    struct clerk_pre *pre;      /* incremental objects made; or NULL */
    struct clerk_def *def;      /* a reference: what its pages render */
    struct feed_window_cache *cache;
    int full;
    int64_t since;              /* incremental: changed_at >= since */
    char **bounds;              /* bounds[i]: `after` of page i; [0] NULL */
    size_t nbounds;
    double used;                /* monotonic */
    struct clerk_sess *next;
};

/* An idle read-only connection and its window cache, kept for the next
 * answer of its entity: filling a cache reads the whole catalog
 * (feed_window.h), and it stays valid across transactions while no
 * sync commits. */
struct clerk_pooled {
    struct store *st;
    struct feed_window_cache *cache;
    struct clerk_def *def;      /* a reference: what the cache is for */
};

struct clerk {
    clerk_respond_fn respond;
    void *arg;
    char *tz;                   /* the zone held for windows (pf_tz_hold) */
    struct clerk_pooled pool[CLERK_NENT];   /* under mu */
    pthread_mutex_t mu;         /* def, refs, sessions, tokens */
    struct clerk_def *def;
    struct clerk_sess *sessions;    /* idle ones; most recent first */
    int nsess;                  /* idle + taken */
    struct clerk_tok tokens[CLERK_TOKEN_CACHE];
    atomic_ulong answers[CLERK_NENT][2];    /* [entity][full] */
    atomic_ulong objects, tok_ok, tok_refused, tok_failed, no_session;
    atomic_llong last_answer;
    atomic_int verifying;       /* verify calls in flight */
    double epochs_tried;        /* main thread: clerk_sweep */
};

extern const char *const clerk_entities[CLERK_NENT];

/* ---- serve_clerk_def.c ---- */
/* Loads the config at path and each entity's definition (refs 1). */
int clerk_def_load(const char *path, struct clerk_def **out,
                   struct pf_err *err);
void clerk_def_free(struct clerk_def *d);
/* References: the current definition (NULL before the first load), one
 * more on d, and one dropped (the last frees). Any thread; not with
 * clerk.mu held. */
struct clerk_def *clerk_def_get(struct clerk *k);
struct clerk_def *clerk_def_get_this(struct clerk *k, struct clerk_def *d);
void clerk_def_put(struct clerk *k, struct clerk_def *d);
/* Main thread: records the render epochs not recorded yet (writes the
 * store, under emu). */
void clerk_def_epochs(struct clerk_def *d);
/* When the list attributes cache holds (filled by a window over the
 * snapshot snap) were first seen, into *epoch: recorded in the store
 * (store_render_epoch, key "clerk-v2/products/lists") when they differ
 * from the last recorded. */
int clerk_def_lists_epoch(struct clerk_def *d,
                          const struct feed_window_cache *cache,
                          struct store *snap, int64_t *epoch,
                          struct pf_err *err);

/* ---- serve_clerk_auth.c ---- */
enum clerk_auth { CLERK_AUTH_OK, CLERK_AUTH_REFUSED, CLERK_AUTH_DOWN };

/* Checks the request's credential; *why says what was wrong (static
 * text, no token in it); id receives the SHA-256 of the token used
 * (paging sessions are per token). */
enum clerk_auth clerk_auth_check(struct clerk *k, const struct clerk_def *d,
                                 struct MHD_Connection *c,
                                 unsigned char id[CLERK_SHA],
                                 const char **why);

/* ---- serve_clerk_sess.c ---- */
void clerk_sess_key(const unsigned char tok[CLERK_SHA], int ent,
                    const char *modified_after, int64_t limit,
                    unsigned char key[CLERK_SHA]);
/* The idle session of key, taken out of the table; NULL if none. */
struct clerk_sess *clerk_sess_take(struct clerk *k,
                                   const unsigned char key[CLERK_SHA]);
/* Counts a new session in (evicting the least recently used idle one
 * when CLERK_MAX_SESSIONS are open) and returns it, empty. */
struct clerk_sess *clerk_sess_new(struct clerk *k,
                                  const unsigned char key[CLERK_SHA],
                                  int ent, struct store *st,
                                  struct feed_window_cache *cache,
                                  struct clerk_def *def);
/* Puts a taken session back, idle. */
void clerk_sess_give(struct clerk *k, struct clerk_sess *s);
/* Ends a taken session: rolls its transaction back, closes it. */
void clerk_sess_close(struct clerk *k, struct clerk_sess *s);
/* Records the `after` of page idx + 1 when idx is the last known. */
void clerk_sess_bound(struct clerk_sess *s, size_t idx, const char *after);
void clerk_sess_sweep(struct clerk *k, double now, double idle);
int clerk_sess_count(struct clerk *k);
/* A session whose file now holds its snapshot: its read transaction
 * ends and its connection goes back to the pool (or is closed); it
 * keeps its definition. */
void clerk_sess_unbind(struct clerk *k, struct clerk_sess *s);
/* Idle sessions closed and the pool emptied (clerk_free). */
void clerk_sess_close_all(struct clerk *k);
/* A pooled connection of ent for d, its transaction not begun (*cache
 * with it); 0 if none. */
int clerk_pool_take(struct clerk *k, int ent, const struct clerk_def *d,
                    struct store **st, struct feed_window_cache **cache);

/* ---- serve_clerk_file.c ---- */
/* Appends the object that starts at mark (the buffer ends with it) and
 * its newline. */
void clerk_pre_add(struct clerk_pre *p, size_t mark);
void clerk_pre_free(struct clerk_pre *p);
/* The response with objects first .. first + limit - 1 (limit 0: all)
 * of s->pre, as clerk_file_response() does for a file. */
struct MHD_Response *clerk_pre_response(struct clerk_sess *s,
                                        int64_t first, int64_t limit,
                                        int json, int64_t *nobj,
                                        int *more);
/* A full answer's session s (a new snapshot, its read transaction open,
 * or one that holds a file already): 1 when the run's answer file of
 * its entity shows that snapshot; the file then holds it
 * (clerk_sess_unbind). 0: render live (no file, another generation, or
 * a damaged file: logged). Products: records the list attributes as a
 * live full answer does. */
int clerk_file_attach(struct clerk *k, struct clerk_sess *s);
/* The response with objects first .. first + limit - 1 (limit 0: all)
 * of s's file, NDJSON or (json) a JSON array; *nobj how many, *more
 * whether objects follow. NULL on failure, *damaged when the file's
 * index is bad there (logged; the caller renders live). */
struct MHD_Response *clerk_file_response(struct clerk_sess *s,
                                         struct MHD_Connection *c,
                                         int64_t first, int64_t limit,
                                         int json, int64_t *nobj,
                                         int *more, int *damaged);

#endif
