/* feed_answer.h - Clerk's JSON Feed V2 full answers, rendered once per
 * run into a file and sent from it (serve_clerk.c) instead of rendering
 * every object again for every request (docs/clerk-v2.md, "Full answers
 * from a file").
 *
 * An answer file, feeds_dir/.clerk-v2/ENTITY.answer, holds exactly the
 * bytes of a live full NDJSON answer (each object on one line, each line
 * ending in '\n') behind a fixed header, followed by the byte offset of
 * every object's start, so any page (limit, page/offset) is one byte
 * range. The header names the generation it shows (struct
 * feed_answer_gen): the store's generation (store_generation), the
 * orders' lookback cutoff and the entity's definition hash (template,
 * settings, rules, FEED_RENDER_REV). A reader uses the file only when
 * the snapshot it would render from has the same generation, so a file
 * is never sent stale; a file that does not check out is reported and
 * left alone. The numbers are native-endian: the file is made and read
 * on the same machine. It is not a published feed: the feeds table
 * never lists it, so /feeds/ never serves it.
 *
 * Ownership: a struct feed_answer owns its open file (its descriptor is
 * lent by feed_answer_fd(); dup() it to hand it to a response); the
 * definitions returned by feed_answer_def() borrow cfg, or tmp, which
 * the caller clears with feed_answer_def_clear().
 */
#ifndef PF_FEED_ANSWER_H
#define PF_FEED_ANSWER_H

#include <stdint.h>

#include "config.h"
#include "store.h"
#include "util.h"

#define FEED_ANSWER_DIR ".clerk-v2"
#define FEED_ANSWER_NENT 5
#define FEED_ANSWER_HASH 64         /* hex SHA-256 */

/* products, categories, orders, customers, pages: the V2 entities. */
extern const char *const feed_answer_entities[FEED_ANSWER_NENT];

/* The feed that defines entity's answers: the config's first [feed]
 * whose template is the built-in clerk-ENTITY (its settings, rules and
 * overrides apply), else that template with [sync]'s settings, made in
 * *tmp. */
const struct pf_feed_cfg *feed_answer_def(const struct pf_config *cfg,
                                          const char *entity,
                                          struct pf_feed_cfg *tmp);
void feed_answer_def_clear(struct pf_feed_cfg *tmp);

/* Hex SHA-256 of everything of fc's definition that changes what it
 * renders: the template's bytes, the shop's settings, fc's sync settings
 * and rules, FEED_RENDER_REV. An unreadable template hashes as empty. */
void feed_answer_def_hash(const struct pf_config *cfg,
                          const struct pf_feed_cfg *fc,
                          char out[FEED_ANSWER_HASH + 1]);

struct feed_answer_gen {
    int64_t store_gen;
    int64_t cutoff;             /* orders' lookback start; INT64_MIN */
    char def[FEED_ANSWER_HASH + 1];
};

/* Whether fc's template or rules read the clock (the template global
 * "now"): every render then differs, and no file can stand for one. */
int feed_answer_reads_clock(const struct pf_config *cfg,
                            const struct pf_feed_cfg *fc);

/* The generation of what a full answer of fc shows over s's current
 * read transaction (the caller's; the server holds cfg's zone), for a
 * definition with hash def_hash and feed_answer_reads_clock() clock. *ok
 * 0 when no generation names it: a change not stamped yet, or clock. */
int feed_answer_gen(const struct pf_config *cfg,
                    const struct pf_feed_cfg *fc, const char *def_hash,
                    int clock, struct store *s, struct feed_answer_gen *g,
                    int *ok, struct pf_err *err);

/* feeds_dir/.clerk-v2/ENTITY.answer (caller frees). */
char *feed_answer_path(const struct pf_config *cfg, const char *entity);

/* Writes every entity's answer file from the store's current state
 * (posfeed run, after its feeds are published), each in a read
 * transaction of its own, atomically (temp file, fsync, rename); for
 * products also stores the list attributes the answer was rendered
 * with (feed_window_cache_save). An entity whose content no generation
 * names gets no file (its old one is removed). Not inside a
 * transaction. -1 with err naming the entity. */
int feed_answer_write_all(const struct pf_config *cfg, struct store *s,
                          struct pf_err *err);

struct feed_answer;

/* Opens the answer file at path for a reader of generation want: 1 and
 * *out when the file is of that generation and whole; 0 when there is
 * none or it is of another generation; -1 when it is damaged (err says
 * how: truncated, a bad header or index). */
int feed_answer_open(const char *path, const struct feed_answer_gen *want,
                     struct feed_answer **out, struct pf_err *err);

/* Objects in the answer. */
int64_t feed_answer_count(const struct feed_answer *a);

/* The bytes [*off, *off + *len) of the file that hold objects first to
 * first + n - 1 (n 0: to the end; clamped to the count), and how many
 * that is, into *nobj. -1 when the index is damaged there (err). */
int feed_answer_range(const struct feed_answer *a, int64_t first,
                      int64_t n, uint64_t *off, uint64_t *len,
                      int64_t *nobj, struct pf_err *err);

int feed_answer_fd(const struct feed_answer *a);
void feed_answer_close(struct feed_answer *a);

#endif
