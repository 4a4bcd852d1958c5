/* util.h - small shared helpers: error reports, growable buffers, arenas.
 *
 * Ownership: struct pf_buf owns its bytes (pf_buf_free). struct pf_arena owns
 * everything allocated from it; pf_arena_reset() frees nothing but makes all
 * of it reusable, pf_arena_free() returns it to the system. Nothing here
 * logs; failures are reported through struct pf_err.
 */
#ifndef PF_UTIL_H
#define PF_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Every fallible function takes a struct pf_err * (may be NULL) and, on
 * failure, leaves a one-line message in it naming the file/line, resource
 * or field at fault. */
#define PF_ERR_LEN 512
struct pf_err {
    char msg[PF_ERR_LEN];
};

void pf_errf(struct pf_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prefixes an existing message: "prefix: old message". */
void pf_err_prefix(struct pf_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Allocation that cannot fail: on exhaustion the process prints a message
 * and exits 1. posfeed's only sane reaction to OOM is to stop before it
 * publishes anything. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Growable byte buffer, always NUL-terminated. */
struct pf_buf {
    char *data;
    size_t len, cap;
};
void pf_buf_init(struct pf_buf *b);
void pf_buf_free(struct pf_buf *b);
void pf_buf_reset(struct pf_buf *b);
void pf_buf_add(struct pf_buf *b, const void *p, size_t n);
void pf_buf_adds(struct pf_buf *b, const char *s);
void pf_buf_addc(struct pf_buf *b, char c);
void pf_buf_addf(struct pf_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Bump allocator for per-row data: a row's values are built, rendered and
 * then dropped all at once with pf_arena_reset(). Returned memory is
 * aligned for any scalar type. */
struct pf_arena_block;
struct pf_arena {
    struct pf_arena_block *head;
    size_t used_total;
};
void pf_arena_init(struct pf_arena *a);
void *pf_arena_alloc(struct pf_arena *a, size_t n);
char *pf_arena_strndup(struct pf_arena *a, const char *s, size_t n);
char *pf_arena_strdup(struct pf_arena *a, const char *s);
void pf_arena_reset(struct pf_arena *a);
void pf_arena_free(struct pf_arena *a);

/* UTF-8. pf_utf8_valid() checks strictly (no overlongs, no surrogates).
 * pf_utf8_repair() appends s to b with every invalid sequence replaced by
 * U+FFFD and returns the number of replacements. */
int pf_utf8_valid(const char *s, size_t n);
size_t pf_utf8_repair(struct pf_buf *b, const char *s, size_t n);

/* Paths. pf_path_join() returns base/rel unless rel is absolute (caller
 * frees). pf_path_dir() returns the folder of a file path (caller frees). */
char *pf_path_join(const char *base, const char *rel);
char *pf_path_dir(const char *path);
/* 1 if rel is a relative path that stays inside its base folder (no "..",
 * not absolute, not empty). */
int pf_path_is_contained(const char *rel);

/* Reads a whole small file (config-sized; refuses files over max bytes).
 * Caller frees *out. */
int pf_read_file(const char *path, size_t max, char **out, size_t *len,
                 struct pf_err *err);

/* Case-insensitive ASCII compare helpers and Levenshtein distance for
 * did-you-mean suggestions. */
int pf_strcaseeq(const char *a, const char *b);
size_t pf_edit_distance(const char *a, const char *b);

/* "12.5 MB", "3.0 KB", "17 B": sizes for people. */
void pf_human_bytes(int64_t n, char out[32]);

/* Monotonic clock in seconds, for durations and rates. */
double pf_now_mono(void);

#endif
