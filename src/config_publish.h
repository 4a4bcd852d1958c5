/* config_publish.h - the values of posfeed.conf's [publish] section (the
 * S3-compatible bucket a run uploads its feeds to), checked as they are
 * read so that a typo fails at load with FILE:LINE, not at upload time.
 *
 * config.c reads the section and hands each key here, except the secrets
 * (access_key, secret_key), which it parses like every other secret.
 * Messages carry no FILE:LINE: config.c adds it.
 *
 * Ownership: the strings set in struct pf_publish_cfg belong to it and
 * are released by pf_publish_free().
 */
#ifndef PF_CONFIG_PUBLISH_H
#define PF_CONFIG_PUBLISH_H

#include "config.h"
#include "util.h"

/* Defaults for a [publish] header just read. */
void pf_publish_init(struct pf_publish_cfg *p, int line);
/* One key other than the secrets. -1 with the reason in err (an
 * unknown key is the caller's business: returns 1). */
int pf_publish_key(struct pf_publish_cfg *p, const char *key, const char *v,
                   struct pf_err *err);
/* After the whole file: url is given, the endpoint follows from the
 * region unless set, path style defaults to yes with an endpoint. On
 * error *line is the line to blame. */
int pf_publish_finish(struct pf_publish_cfg *p, int *line,
                      struct pf_err *err);
void pf_publish_free(struct pf_publish_cfg *p);

/* Bucket naming rules of S3 (3-63 characters of a-z 0-9 . -, starting
 * and ending with a letter or digit, no "..", not an IPv4 address):
 * 1 if name follows them. */
int pf_publish_bucket_ok(const char *name);
/* 1 if the endpoint host (in scheme://host[:port]) is a loopback
 * address, where plain http is allowed. */
int pf_publish_is_loopback(const char *url);

#endif
