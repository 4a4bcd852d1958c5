/* publish_s3.h - uploading what a run published to an S3-compatible
 * bucket ([publish] in posfeed.conf, docs/publishing.md).
 *
 * The feeds folder stays the source of truth: a feed is published there
 * first (validated, gated, renamed into place), then its files are
 * uploaded. Requests are signed by libcurl itself (CURLOPT_AWS_SIGV4),
 * with the payload's SHA-256 that the local publish already computed, so
 * S3 refuses a body that is not the file posfeed validated. Bodies are
 * streamed from the file, never held in memory.
 *
 * Each object carries the SHA-256 of its body as user metadata
 * (x-amz-meta-posfeed-sha256, signed like every header we send). Before
 * a PUT the object is asked for with one HEAD: when the bucket already
 * holds those bytes with the headers this PUT would set, the PUT is
 * left out (a run with nothing new costs HEADs, not uploads). Any other
 * answer to the HEAD, or none, uploads as before: the HEAD can only save
 * a PUT, never lose one.
 *
 * A request is retried (capped exponential backoff) on transport errors,
 * 5xx, 429 and S3's RequestTimeout / SlowDown; never on 403 or another
 * 4xx, which would fail the same way again. A failure names the object,
 * the HTTP status and S3's error Code from the XML body.
 *
 * Ownership: struct s3_client owns its curl handle and the credentials,
 * read when it is created and wiped by s3_client_free(). Strings passed
 * in are borrowed for the call.
 */
#ifndef PF_PUBLISH_S3_H
#define PF_PUBLISH_S3_H

#include <stdint.h>

#include "config.h"
#include "store.h"
#include "util.h"

struct s3_client;

struct s3_stats {
    int64_t objects;        /* PUTs that succeeded */
    int64_t bytes;          /* their bodies */
    int64_t unchanged;      /* objects the bucket already had: no PUT */
    int64_t retries;        /* requests repeated after a retryable error */
    int64_t deleted;        /* stale parts removed */
    int64_t skipped;        /* token feeds left out (private_feeds = no) */
};

/* Reads the credentials (the secrets' error names the file or variable,
 * never the value) and prepares a connection to p's endpoint. */
int s3_client_new(const struct pf_publish_cfg *p, struct s3_client **out,
                  struct pf_err *err);
void s3_client_free(struct s3_client *c);
/* The counts so far; s3_publish_feed() adds to them too. */
struct s3_stats *s3_client_stats(struct s3_client *c);
/* "s3://BUCKET/PREFIX", for messages. */
const char *s3_client_where(const struct s3_client *c);

/* One object to upload: the file at path as PREFIX + key. */
struct s3_object {
    const char *key;                /* relative to the prefix */
    const char *path;               /* the local file */
    const char *sha256;             /* its SHA-256, lower-case hex */
    const char *content_type;
    const char *content_encoding;   /* NULL: none */
    const char *cache_control;
};
/* 0 when uploaded, 1 when the bucket already had it (left as it is),
 * -1 on error. */
int s3_put(struct s3_client *c, const struct s3_object *o,
           struct pf_err *err);
/* 1 if PREFIX + key exists, 0 if not (404), -1 on error. */
int s3_exists(struct s3_client *c, const char *key, struct pf_err *err);
int s3_delete(struct s3_client *c, const char *key, struct pf_err *err);

/* ---- a feed's files (publish_s3_feed.c) ----------------------------------
 * Uploads what the last publish of fc put in the feeds folder, as the
 * store recorded it (names.h): each part with its twin, the last part
 * first and the output (part 1) after them, then the parts index, last,
 * so the index is never newer than the parts it lists; only then are
 * parts beyond nparts that an earlier, bigger build uploaded deleted.
 * A file the bucket already has is left out (s3_put); the order holds,
 * since a changed part changes the index, which lists its hash. One
 * info line per feed says how many objects went up and how many were
 * unchanged.
 * access is the build's ("token" or "public"): a token feed is skipped
 * (counted, warned) unless private_feeds = yes, and is then uploaded
 * with Cache-Control PF_S3_CACHE_PRIVATE. */
int s3_publish_feed(struct s3_client *c, const struct pf_config *cfg,
                    const struct pf_feed_cfg *fc, struct store *s,
                    int nparts, const char *access, struct pf_err *err);

#endif
