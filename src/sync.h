/* sync.h - what a source reports while it pulls into the store.
 *
 * Sources call sync_rows()/sync_warn() as they go; the CLI prints a
 * summary and the run record keeps the counts per stream.
 */
#ifndef PF_SYNC_H
#define PF_SYNC_H

#include <stdint.h>

#include "store.h"

#define SYNC_MAX_STREAMS 16

struct sync_stream_count {
    char name[32];
    int64_t rows, warnings, removed;
};

struct sync_report {
    struct store *store;
    int64_t run_id;
    struct sync_stream_count streams[SYNC_MAX_STREAMS];
    int nstreams;
    int64_t warnings;
    /* Inputs imported but not trusted as complete (see sync_hold); the
     * first one's message, for the run's error. */
    int64_t held;
    char held_msg[512];
};

void sync_report_init(struct sync_report *r, struct store *s, int64_t run_id);
/* Adds rows to a stream's count. */
void sync_rows(struct sync_report *r, const char *stream, int64_t rows,
               int64_t removed);
/* Logs a warning, counts it against stream and records it in the run
 * (the first few hundred; the rest are only counted). */
void sync_warn(struct sync_report *r, const char *stream, const char *fmt,
               ...) __attribute__((format(printf, 3, 4)));
/* Like sync_warn, for an input the source imported but did not trust as
 * complete (nothing was removed because of it). Always logged, counted in
 * held; the caller decides whether the run fails. */
void sync_hold(struct sync_report *r, const char *stream, const char *fmt,
               ...) __attribute__((format(printf, 3, 4)));
/* Writes the counts into the run record. */
int sync_report_save(struct sync_report *r, struct pf_err *err);

#endif
