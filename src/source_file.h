/* source_file.h - the file source: a folder of NDJSON files in posfeed's
 * neutral model (see README, "File source"), one file per entity.
 *
 * Each file is imported in one transaction with its bookmark (the file's
 * size, mtime and SHA-256), so an unchanged file is skipped and a killed
 * import resumes cleanly. A file is a snapshot: rows missing from it are
 * removed from the store. Each bad row is a warning naming file:line and
 * field; good rows still land.
 */
#ifndef PF_SOURCE_FILE_H
#define PF_SOURCE_FILE_H

#include <stdint.h>

#include "store.h"
#include "util.h"

struct sync_report;

/* Imports every entity file found in dir, in dependency order. Prices
 * without a currency are in default_currency. full = 1 ignores the
 * bookmarks and re-reads every file. Counts and warnings go to rep (see
 * sync.h). Returns -1 only when the store itself fails or dir is
 * unreadable; bad rows are warnings. */
int source_file_sync(struct store *s, const char *dir,
                     const char *default_currency, int full,
                     struct sync_report *rep, struct pf_err *err);

#endif
