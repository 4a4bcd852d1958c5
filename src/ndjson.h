/* ndjson.h - reading an NDJSON file without trusting it.
 *
 * A source file may be anything a hostile or broken exporter leaves
 * behind: a FIFO that never ends, a symlink to /dev/zero, a line of a
 * gigabyte, half a line where the writer died. The reader opens only
 * regular files (without blocking on a FIFO), hands out one line at a time
 * from a buffer that never grows past the configured line cap, skips an
 * over-long line as a whole, hashes every byte it reads (for the file's
 * bookmark) and tells whether the file ended with a newline.
 *
 * ndjson_scan() then looks at one line's raw text for what cJSON cannot
 * report: an escape that decodes to NUL (cJSON would silently cut the
 * string there) and a lone UTF-16 surrogate escape (cJSON refuses the
 * whole line). It names the root-object member that holds each.
 *
 * Ownership: struct ndjson_reader owns its descriptor, buffer and hash
 * state; ndjson_close() releases them. A line returned by ndjson_next()
 * lives in the reader's buffer until the next call. struct ndjson_marks
 * owns its array (ndjson_marks_free).
 */
#ifndef PF_NDJSON_H
#define PF_NDJSON_H

#include <stddef.h>
#include <sys/stat.h>

#include "util.h"

/* The default line cap: far above any sane row, far below memory. */
#define NDJSON_MAX_LINE_DEFAULT ((size_t)16 << 20)

struct ndjson_reader;

/* Opens path for reading. Returns 0 with *out set, 1 when path does not
 * exist (nothing opened), -1 with err when it cannot be opened or is not
 * a regular file (FIFO, device, folder, socket): such a file is refused
 * before a single byte is read. max_line is the longest line accepted, in
 * bytes without its newline. */
int ndjson_open(const char *path, size_t max_line,
                struct ndjson_reader **out, struct pf_err *err);
void ndjson_close(struct ndjson_reader *r);

/* Size and modification time at open. */
const struct stat *ndjson_stat(const struct ndjson_reader *r);

/* SHA-256 (hex) of the whole file, read with pread() so the line position
 * is not disturbed. */
int ndjson_digest_file(struct ndjson_reader *r, char out[65],
                       struct pf_err *err);

enum ndjson_next_result {
    NDJSON_ERROR = -1,      /* read failed: err says why */
    NDJSON_EOF = 0,
    NDJSON_LINE = 1,        /* *line, *len: the line, NUL-terminated,
                             * without its '\n' (a '\r' is kept) */
    NDJSON_TOO_LONG = 2     /* a line over max_line was skipped whole;
                             * *len is its length */
};

/* The next line. ndjson_line_number() is the 1-based number of the line
 * just returned (or skipped). */
int ndjson_next(struct ndjson_reader *r, char **line, size_t *len,
                struct pf_err *err);
long ndjson_line_number(const struct ndjson_reader *r);

/* After NDJSON_EOF: 1 when the file is empty or its last byte is '\n'
 * (a writer cut off mid-line leaves no final newline), else 0. */
int ndjson_ended_with_newline(const struct ndjson_reader *r);
/* After NDJSON_EOF: SHA-256 (hex) of every byte read. */
int ndjson_digest(struct ndjson_reader *r, char out[65], struct pf_err *err);

/* ---- escapes cJSON cannot report ---------------------------------------- */

enum {
    NDJSON_NUL_IN_KEY = 1,      /* the member's name holds \u0000 */
    NDJSON_NUL_IN_VALUE = 2,    /* its value holds \u0000 somewhere */
    NDJSON_SURROGATE = 4        /* a lone surrogate was repaired */
};

struct ndjson_mark {
    size_t member;              /* 1-based position in the root object */
    unsigned flags;
};

struct ndjson_marks {
    struct ndjson_mark *v;
    size_t n, cap;
};

void ndjson_marks_free(struct ndjson_marks *m);

/* Scans line (len bytes) and records in m (emptied first) which members
 * of the root object hold an escape that decodes to NUL, or a lone UTF-16
 * surrogate escape (\ud800-\udfff not part of a pair). Each lone surrogate
 * is rewritten in place to \ufffd, the same length, so cJSON parses the
 * line and the character reads as U+FFFD, like any invalid UTF-8. Safe on
 * any bytes; what it reports for text that is not JSON is meaningless,
 * but the parser will refuse such a line anyway. */
void ndjson_scan(char *line, size_t len, struct ndjson_marks *m);

#endif
