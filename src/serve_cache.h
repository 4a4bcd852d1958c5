/* serve_cache.h - the published feeds as the server answers them: one
 * record per row of the store's feeds table, with the identity of its
 * file (and gzip twin) on disk (device, inode, size, mtime), checked to
 * lie inside feeds_dir, every validator (ETag, Last-Modified) and the 304
 * answers already made. A conditional request that matches is answered
 * from memory: no file system call at all.
 *
 * A full response opens the file by its recorded path and sends it with
 * the record's validators only if the opened file is the recorded one
 * (cache_file_is): a file replaced, deleted or made a symlink since the
 * refresh takes the checked path (cache_open_inside, validators from the
 * opened file) and cache_poke() asks for a refresh. So the ETag sent is
 * always the one of the bytes sent: the SHA-256 recorded at publish when
 * the file has the recorded size, else a tag made of its inode, size and
 * mtime (a publish whose store row is not written yet). The gzip twin is
 * negotiated only when its mtime equals the main file's (the publisher
 * gives a pair the same mtime), so a half-published pair never mixes.
 *
 * Refreshing: the server calls cache_refresh() at start, after a run it
 * started, on SIGHUP, and whenever cache_stale() (at most once a second)
 * sees that another process may have published: the store's
 * PRAGMA data_version moved (a commit by any other connection), the store
 * file was replaced, a folder holding feeds changed (a rename or unlink
 * in it; or changed within 50 ms of the last look, too close for file
 * times to tell), the last refresh saw a publish half done, or a request
 * poked it. Until then a 304 may answer for the previous version (at most a
 * second).
 *
 * Threads: the main thread refreshes; request threads read under
 * cache_lock()/cache_unlock(), and what cache_find() returns (entries
 * and their shared 304 responses) stays valid until cache_unlock(). A
 * refresh builds the new set outside the lock and swaps it in under it;
 * MHD keeps its own reference to a 304 it is sending.
 *
 * Ownership: the cache owns every entry and response; a request that
 * needs an entry beyond cache_unlock() takes a cache_entry_copy() (no
 * responses) and frees it with cache_entry_clear().
 */
#ifndef PF_SERVE_CACHE_H
#define PF_SERVE_CACHE_H

#include <microhttpd.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

/* How a request gets a feed: its main file, the twin with
 * Content-Encoding: gzip (negotiated), or the twin asked for by name. */
enum cache_view { CV_IDENTITY, CV_GZIP, CV_GZ_FILE, CV_N };

struct cache_file {
    char *abs;              /* feeds_dir/path as configured */
    int ok;                 /* 0: missing, or not a regular file inside
                               feeds_dir */
    dev_t dev;
    ino_t ino;
    int64_t size;
    struct timespec mtime;
    char lm[40];            /* Last-Modified */
};

struct cache_entry {
    char *path;             /* below feeds_dir, as published */
    int token;              /* needs the serve token */
    int twin;               /* a gzip twin is recorded */
    int twin_ok;            /* ...and its file pairs with the main file */
    struct cache_file file[2];          /* main, .gz */
    char sha[65], gz_sha[65];           /* as recorded at publish */
    int64_t bytes, gz_bytes;
    char etag[CV_N][96];                /* with its quotes */
    struct MHD_Response *r304[CV_N];    /* NULL: the view has no file */
};

struct feed_cache;

/* 1 when the config wants this store record ("NAME", "NAME:part-2")
 * behind the token whatever the record says. */
typedef int (*cache_token_fn)(void *arg, const char *record);

struct feed_cache *cache_new(void);
/* Many shops: keep no store connection between refreshes (each costs
 * descriptors and SQLite's page cache); cache_stale() then tells a
 * commit by the store file and its -wal file changing (size, mtime,
 * inode) instead of PRAGMA data_version. Before the first refresh. */
void cache_set_lean(struct feed_cache *c);
void cache_free(struct feed_cache *c);

/* Main thread. Re-reads the feeds table of store_path and reopens every
 * file under feeds_dir (whose realpath is feeds_real; NULL: nothing is
 * opened). A store that cannot be read keeps the set as it was and says
 * why in the log. */
void cache_refresh(struct feed_cache *c, const char *store_path,
                   const char *feeds_dir, const char *feeds_real,
                   cache_token_fn wants_token, void *arg);

/* Main thread: 1 if a publish may have happened since the last refresh
 * (see above). A handful of stat() calls and one SQLite pragma. */
int cache_stale(struct feed_cache *c, const char *store_path);

/* Any thread: the disk is not what the cache says; refresh at the next
 * cache_stale(). */
void cache_poke(struct feed_cache *c);

/* Request threads. */
void cache_lock(struct feed_cache *c);
void cache_unlock(struct feed_cache *c);
/* The entry published at rel, or whose twin is rel (*twin = 1); NULL if
 * none. Lock held. */
const struct cache_entry *cache_find(struct feed_cache *c, const char *rel,
                                     int *twin);

/* Opens dir/rel + suffix as a regular file that really lies inside
 * real_dir, the realpath of dir (a symlink pointing out of it is
 * refused; NULL real_dir: nothing is). The descriptor (O_CLOEXEC) and
 * *st, or -1. */
int cache_open_inside(const char *dir, const char *real_dir,
                      const char *rel, const char *suffix, struct stat *st);

/* Fills f's identity and Last-Modified from a stat of its file. */
void cache_file_set(struct cache_file *f, const struct stat *sb);
/* 1 if sb is the very file f records (same device, inode, size, mtime). */
int cache_file_is(const struct cache_file *f, const struct stat *sb);
/* The ETag of f: the recorded hash (sha, for a file of `bytes` bytes) if
 * f has that size, and 1; else a tag from inode, size, mtime and tail,
 * and 0. */
int cache_etag(char out[96], const struct cache_file *f, const char *sha,
               int64_t bytes, const char *tail);

/* A copy of e that outlives the lock (strings duplicated, r304 NULL). */
void cache_entry_copy(const struct cache_entry *e, struct cache_entry *out);
void cache_entry_clear(struct cache_entry *e);

/* Content-Type of what a view of e sends. */
const char *cache_content_type(const struct cache_entry *e,
                               enum cache_view v);

/* Files opened by refreshes, and refreshes, since start: /metrics shows
 * them. */
void cache_counters(struct feed_cache *c, unsigned long *opens,
                    unsigned long *refreshes);

/* For an overview of many shops: how many published files the cache
 * holds (public ones only, if public_only) and the modification times of
 * the oldest and newest (0 when none). Any thread. */
size_t cache_ages(struct feed_cache *c, int public_only, int64_t *oldest,
                  int64_t *newest);

#endif
