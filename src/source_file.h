/* source_file.h - the file source: a folder of NDJSON files in posfeed's
 * neutral model (see docs/file-source.md), one file per entity.
 *
 * Each file is imported in one transaction with its bookmark (the file's
 * size, mtime and SHA-256), so an unchanged file is skipped and a killed
 * import resumes cleanly. Each bad row is a warning naming file:line and
 * field; good rows still land.
 *
 * A file is a snapshot: rows missing from it are removed from the store,
 * but only when the file is complete and sound. A file with a line that
 * cannot be read as an object with a readable key, without a final
 * newline, or that would remove more than max_drop of its table is held
 * back: its good rows land, nothing is removed, its bookmark stays (so
 * the next sync reads it again) and sync_hold() reports it, unless force
 * is set.
 */
#ifndef PF_SOURCE_FILE_H
#define PF_SOURCE_FILE_H

#include <stdint.h>

#include "store.h"
#include "util.h"

struct sync_report;
struct source_type;

/* The source type "file" (source.h): [source] path (an existing folder),
 * max_drop (default 25%) and max_line (default 16M). One stream, which
 * runs source_file_sync() with ctx->full and ctx->force. */
extern const struct source_type source_file_type;

/* The default share of a table one file may remove (see max_drop). */
#define SOURCE_FILE_MAX_DROP_DEFAULT 0.25

struct source_file_opts {
    const char *dir;                /* the folder of entity files */
    const char *default_currency;   /* for prices without one; may be NULL */
    int full;                       /* ignore bookmarks, re-read all */
    int force;                      /* remove rows even from a held file */
    double max_drop;                /* 0..1 of a table per file */
    size_t max_line;                /* longest line in bytes; 0 default */
    /* Page cache of the keys a file lists, which are kept in a temporary
     * file (TMPDIR) rather than in memory; 0: SOURCE_FILE_SEEN_CACHE. */
    size_t seen_cache_kib;
};

/* The default page cache of the seen keys, in KiB. */
#define SOURCE_FILE_SEEN_CACHE 2048

/* Defaults: max_drop SOURCE_FILE_MAX_DROP_DEFAULT, max_line
 * NDJSON_MAX_LINE_DEFAULT, seen_cache_kib SOURCE_FILE_SEEN_CACHE,
 * nothing else set. */
void source_file_opts_init(struct source_file_opts *o);

/* Imports every entity file found in o->dir, in dependency order. Counts,
 * warnings and held-back files go to rep (see sync.h; rep->held > 0 means
 * the import is not clean and the caller should say so). Returns -1 only
 * when the store fails, the folder is unreadable or an entity file cannot
 * be read (not a regular file, I/O error); bad rows are warnings. */
int source_file_sync(struct store *s, const struct source_file_opts *o,
                     struct sync_report *rep, struct pf_err *err);

/* The type's count_orders (source.h), in source_file_count.c: the
 * orders of orders.ndjson per day, read from the file. */
struct pf_config;
int source_file_count_orders(const struct pf_config *cfg,
                             const int64_t *bounds, size_t ndays,
                             int64_t *counts, struct pf_err *err);

#endif
