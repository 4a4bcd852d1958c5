/* names.h - the files one feed publishes under feeds_dir, and whether the
 * files of two feeds can meet.
 *
 * A feed with output O publishes:
 *   O                 the feed (part 1 when split)
 *   O.gz              its gzip twin, when gzip is on
 *   STEM-K.EXT        parts K = 2, 3, ... when split (max_file_size), where
 *                     STEM.EXT = O and EXT is the last ".x" of O's last
 *                     component ("" when it has none)
 *   STEM-K.EXT.gz     the parts' twins, when split and gzip is on
 *   O.parts.json      the index of a split feed (never gzipped)
 * Each is written first as a temp file ".BASE.tmp-XXXXXX" beside it, and
 * every build deletes the files under feeds_dir that match PF_TEMP_GLOB
 * (left by a killed build), so no published name may match it.
 *
 * A set of parts is one name with a hole for K; two names meet when some
 * file name is in both. Names compare byte for byte (case-sensitively),
 * as the file system and the server do.
 *
 * Ownership: every char * returned is malloc'd and freed by the caller;
 * struct pf_names owns its strings (pf_names_free).
 */
#ifndef PF_NAMES_H
#define PF_NAMES_H

#include <stddef.h>

/* Temp files of a build (fnmatch pattern of one path component). */
#define PF_TEMP_GLOB ".*.tmp-*"

enum pf_name_role {
    PF_NAME_OUTPUT = 0,
    PF_NAME_TWIN,
    PF_NAME_PARTS,
    PF_NAME_PART_TWINS,
    PF_NAME_INDEX
};

/* One file (suf == NULL: the name is pre) or a set of files pre K suf
 * for every K >= 2, written in decimal without leading zeros. */
struct pf_name {
    enum pf_name_role role;
    char *pre;
    char *suf;
};

struct pf_names {
    struct pf_name v[5];
    size_t n;
};

/* Part k (k >= 1) of output; part 1 is output itself. */
char *pf_names_part(const char *output, int k);
/* The index of a split feed: output + ".parts.json". */
char *pf_names_index(const char *output);
/* The index name before it was derived from the whole output name
 * (STEM.parts.json), so a build can remove the file an older posfeed
 * left. */
char *pf_names_legacy_index(const char *output);
/* 1 if base (one path component) looks like a build's temp file. */
int pf_names_is_temp(const char *base);

/* Fills ns with the names a feed publishes. */
void pf_names_of(const char *output, int gzip, int split,
                 struct pf_names *ns);
void pf_names_free(struct pf_names *ns);
/* For messages: "the output", "the gzip twin", "a part", "a part's gzip
 * twin", "the parts index". */
const char *pf_name_role_text(enum pf_name_role role);
/* One file the name stands for (part 2 for a set of parts). */
char *pf_name_example(const struct pf_name *n);
/* 1 if file is one of the files n stands for. */
int pf_name_has(const struct pf_name *n, const char *file);
/* 1 if a and b share a file; then one such file is written to ex (size
 * exn, truncated). */
int pf_name_meet(const struct pf_name *a, const struct pf_name *b,
                 char *ex, size_t exn);

/* Checks the shape of an output name (already known to be relative and
 * free of ".."): a clean path to a file that the server can serve and a
 * build will not sweep away as a temp file. Returns 0, or -1 with the
 * reason in why (size n). */
int pf_names_output_ok(const char *output, char *why, size_t n);
/* -1 (reason in why) when output looks like another feed's gzip twin or
 * index (*.gz, *.parts.json): a client would take it for one. Checked
 * after the feeds' names are compared, so that a real collision is
 * reported with the other feed. */
int pf_names_output_lookalike(const char *output, char *why, size_t n);

#endif
