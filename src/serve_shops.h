/* serve_shops.h - the shops of a server of many (`posfeed serve --shops
 * DIR`): every DIR/NAME.conf is one shop (serve_shop.h), NAME matching
 * [A-Za-z0-9][A-Za-z0-9_-]{0,63}.
 *
 * A scan (at start, on SIGHUP, and after a change inotify reports once
 * DIR has been quiet for a second) compares DIR with the shops loaded,
 * by the SHA-256 of each file: a new file adds a shop, a changed one
 * reloads that shop only, a removed one retires its shop (its queued run
 * is dropped, a running one ends; its feeds stop being served at once),
 * and an unchanged shop is not touched: its schedule, feeds cache, run
 * history and Clerk sessions stay as they are (only its token is read
 * again, so a rotated token file takes effect). A file that does not
 * load is refused with its FILE:LINE error (logged, and kept for the
 * admin's status page); a shop that loaded before keeps that config. A
 * shop whose store or feeds folder is also a shop's earlier in name
 * order is refused (shops_clash) until one of the two files changes.
 *
 * Threads: scans, the watch and shops_reap() on the main thread; request
 * threads look a shop up with shops_get() (which takes a reference) and
 * give it back with shops_put(). The list is behind a read-write lock.
 *
 * Ownership: the set owns its shops, retired ones included; a retired
 * shop's feeds cache is freed once no request holds it and its run has
 * ended, the rest (its Clerk answers may still be streaming) at
 * shops_free(), after the HTTP daemon has stopped.
 */
#ifndef PF_SERVE_SHOPS_H
#define PF_SERVE_SHOPS_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "serve_pool.h"
#include "serve_shop.h"

struct shop_set;

/* dir: absolute. jitter_s: the window schedules are spread over. */
struct shop_set *shops_new(const char *dir, struct shop_env *env,
                           struct run_pool *pool, int64_t jitter_s);
void shops_free(struct shop_set *set);

/* 1 if name is a valid shop name (and so a valid URL segment). */
int shops_name_ok(const char *name, size_t n);

/* Two shops may not share a store or a feeds folder: their runs would
 * mix each other's rows and overwrite each other's feeds (two configs
 * copied into one folder get the same default store and feeds_dir).
 * 1 with the message in err (naming b's file and what is shared) when
 * a, a shop's config, clashes with b, another's; else 0. */
int shops_clash(const struct pf_config *a, const struct pf_config *b,
                struct pf_err *err);

/* Main thread: rescans DIR as the header says. -1 with err only when DIR
 * itself cannot be read (the shops loaded keep running). */
int shops_scan(struct shop_set *set, struct pf_err *err);

/* Any thread: the shop named name[0..n), with a reference, or NULL. */
struct shop *shops_get(struct shop_set *set, const char *name, size_t n);
void shops_put(struct shop *sh);

/* Any thread: the shops in name order, each with a reference (give them
 * back with shops_put_all). */
struct shop **shops_all(struct shop_set *set, int *n);
void shops_put_all(struct shop **v, int n);

/* Any thread: the files refused by name or load, as "FILE:LINE: message"
 * strings (a new array). */
cJSON *shops_refused(struct shop_set *set);

/* Main thread: frees what retired shops no longer need. */
void shops_reap(struct shop_set *set);

/* Main thread: an inotify descriptor on DIR (-1 where there is none; SIGHUP
 * still works), and whether DIR changed and has been quiet for a second
 * since (then the caller scans). */
int shops_watch_open(struct shop_set *set);
int shops_watch_due(struct shop_set *set);

#endif
