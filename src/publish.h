/* publish.h - atomic, validated publishing of a feed and its .gz twin.
 *
 * A build streams into a temp file beside the target (publish_begin /
 * publish_out). As it is written, a worker thread parses it (JSON, NDJSON
 * or XML, all streaming), hashes it and writes the gzip twin
 * (publish_gz.h) to its own temp file; publish_commit() waits for that
 * pass. Only when the parse succeeds and the item-count gate passes are both fsynced and renamed into place and the folder
 * fsynced. An NDJSON feed may be empty (zero records); JSON and XML may
 * not. On any failure both temps are removed and the good feed already
 * published stays as it was.
 *
 * Ownership: struct publish_job owns its temp files and fd until
 * publish_commit() or publish_abort(), which free it.
 */
#ifndef PF_PUBLISH_H
#define PF_PUBLISH_H

#include <stdint.h>

#include "out.h"
#include "template.h"
#include "util.h"

struct publish_job;

struct publish_gate {
    const char *feed_name;  /* [feed NAME], for the --force hint */
    int64_t items;          /* items in the new feed */
    int64_t last_items;     /* items last published, -1 if never */
    double max_drop;        /* refuse when items < last * (1 - max_drop) */
    int force;              /* skip the drop gate (never the parse check) */
};

struct publish_result {
    int64_t bytes, gz_bytes;
    char sha256[65], gz_sha256[65];   /* hex; gz_sha256 "" without gzip */
    char *path;                       /* final path (caller frees) */
};

/* feeds_dir must exist or be creatable; output is relative to it and must
 * not escape it. */
int publish_begin(const char *feeds_dir, const char *output,
                  enum tpl_format format, int gzip,
                  struct publish_job **out, struct pf_err *err);
struct pf_out *publish_out(struct publish_job *j);
/* Ends the writing: finishes the check pass (parse, SHA-256, the gzip
 * twin's temp) and frees its buffers, keeping only the temps and what
 * the check found. Nothing is renamed yet. For a feed whose parts are
 * committed together, each part is sealed as soon as it is written, so
 * the parts waiting for the last one hold no buffers. Idempotent; on
 * failure the job still needs publish_abort() (or publish_commit(),
 * which then fails). publish_commit() seals a job not yet sealed. */
int publish_seal(struct publish_job *j, struct pf_err *err);
int publish_commit(struct publish_job *j, const struct publish_gate *gate,
                   struct publish_result *res, struct pf_err *err);
void publish_abort(struct publish_job *j);

/* The max_drop check alone, for a feed published in several parts:
 * checked on the total before any part goes live. name is the file or
 * feed named in the message. */
int publish_gate_ok(const struct publish_gate *gate, const char *name,
                    struct pf_err *err);

/* Removes temp files left by a killed run (".*.tmp-*" under feeds_dir).
 * *removed counts them. */
int publish_sweep_temps(const char *feeds_dir, int *removed,
                        struct pf_err *err);

#endif
