/* publish_gz.h - the streaming gzip writer behind a feed's .gz twin.
 *
 * Bytes go in as they are rendered; a gzip stream of exactly those bytes
 * comes out into a file descriptor, and its SHA-256 and size are kept.
 * The twin is compressed with ISA-L's igzip at level 1, not zlib: about
 * a quarter of the CPU of zlib level 6 (whose twin was a third of a
 * build) for a twin 23-34% larger (docs/feeds.md has the figures).
 * The stream is one gzip member, header mtime 0, so a twin depends only
 * on the feed's bytes.
 *
 * Not thread-safe per writer; any number of writers may run at once in
 * different threads (no globals).
 *
 * Ownership: struct pub_gz owns its buffers and hash state, never the fd.
 * name and path are borrowed for messages and must outlive the writer.
 */
#ifndef PF_PUBLISH_GZ_H
#define PF_PUBLISH_GZ_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct pub_gz;

int pub_gz_new(int fd, const char *name, const char *path,
               struct pub_gz **out, struct pf_err *err);
/* Compresses n more bytes (any n) and writes what is ready. */
int pub_gz_write(struct pub_gz *g, const void *p, size_t n,
                 struct pf_err *err);
/* Ends the stream; sha256 gets the twin's SHA-256 (raw, 32 bytes) and
 * *bytes its size. */
int pub_gz_finish(struct pub_gz *g, unsigned char sha256[32],
                  int64_t *bytes, struct pf_err *err);
void pub_gz_free(struct pub_gz *g);

#endif
