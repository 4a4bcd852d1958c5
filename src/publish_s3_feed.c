/* publish_s3_feed.c - which objects one feed's publish uploads, in which
 * order, with which headers.
 *
 * The files and their SHA-256 come from the store's record of the
 * publish (store_feed_published: NAME, NAME:part-K, NAME:index), so what
 * is uploaded is exactly what the local publish validated and renamed
 * into place. Parts keep their local names in the bucket: those are the
 * URLs a merchant registers with a platform, so they must not change
 * from run to run (docs/publishing.md, "Split feeds").
 */
#include "publish_s3.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "names.h"

/* One file the store recorded for the feed. */
struct s3_file {
    int k;                  /* part number (1 = the output); 0 index */
    char *path, *sha256, *gz_sha256;
};

struct s3_files {
    struct s3_file *v;
    size_t n;
};

static void
files_free(struct s3_files *fs)
{
    for (size_t i = 0; i < fs->n; i++) {
        free(fs->v[i].path);
        free(fs->v[i].sha256);
        free(fs->v[i].gz_sha256);
    }
    free(fs->v);
}

static char *
col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);

    return xstrdup(t ? (const char *)t : "");
}

/* The part number of a record name: NAME -> 1, NAME:part-K -> K,
 * NAME:index -> 0; -1 for anything else. */
static int
record_part(const char *rec, size_t nlen)
{
    const char *t = rec + nlen;
    char *end;
    long k;

    if (*t == '\0')
        return 1;
    if (strcmp(t, ":index") == 0)
        return 0;
    if (strncmp(t, ":part-", 6) != 0)
        return -1;
    k = strtol(t + 6, &end, 10);
    return *end == '\0' && k >= 2 && k < 1000000 ? (int)k : -1;
}

/* The records of fc's files: parts up to nparts, and the index when the
 * feed is split by size (it has one even with a single part). */
static int
load_files(struct store *s, const struct pf_feed_cfg *fc, int nparts,
           struct s3_files *fs, struct pf_err *err)
{
    static const char sql[] =
        "SELECT name, path, sha256, gz_sha256 FROM feeds WHERE name = ?1 "
        "OR substr(name, 1, length(?1) + 1) = ?1 || ':'";
    sqlite3 *db = store_db(s);
    sqlite3_stmt *st = NULL;
    size_t nlen = strlen(fc->name);
    int rc;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        pf_errf(err, "s3: reading the feed records: %s", sqlite3_errmsg(db));
        return -1;
    }
    sqlite3_bind_text(st, 1, fc->name, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int k = record_part((const char *)sqlite3_column_text(st, 0), nlen);

        if (k < 0 || k > nparts || (k == 0 && fc->max_file_size <= 0))
            continue;
        fs->v = xrealloc(fs->v, (fs->n + 1) * sizeof(*fs->v));
        fs->v[fs->n].k = k;
        fs->v[fs->n].path = col_dup(st, 1);
        fs->v[fs->n].sha256 = col_dup(st, 2);
        fs->v[fs->n].gz_sha256 = col_dup(st, 3);
        fs->n++;
    }
    if (rc != SQLITE_DONE)
        pf_errf(err, "s3: reading the feed records: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Upload order: the highest part first, down to the output (1); the
 * index (0) last. */
static int
by_upload_order(const void *a, const void *b)
{
    int ka = ((const struct s3_file *)a)->k;
    int kb = ((const struct s3_file *)b)->k;

    if (ka == 0 || kb == 0)
        return (ka == 0) - (kb == 0);
    return kb - ka;
}

/* What the file holds, from its first byte: an XML template starts with
 * '<'; NDJSON is the feed's format = ndjson. */
static const char *
content_type(const struct pf_feed_cfg *fc, const char *path, int index)
{
    FILE *f;
    int ch = EOF;

    if (index)
        return "application/json";
    if (fc->ndjson)
        return "application/x-ndjson";
    f = fopen(path, "rb");
    if (f != NULL) {
        while ((ch = fgetc(f)) == ' ' || ch == '\n' || ch == '\r' ||
               ch == '\t' || ch == 0xEF || ch == 0xBB || ch == 0xBF)
            ;
        fclose(f);
    }
    return ch == '<' ? "application/xml" : "application/json";
}

/* One file and, when it has one, its gzip twin (FILE.gz). */
static int
put_file(struct s3_client *c, const struct pf_config *cfg,
         const struct pf_feed_cfg *fc, const struct s3_file *f,
         const char *cache, struct pf_err *err)
{
    struct s3_object o;
    char *path = pf_path_join(cfg->feeds_dir, f->path);
    char *gz_key = xasprintf("%s.gz", f->path);
    char *gz_path = xasprintf("%s.gz", path);
    int rc = -1;

    o.key = f->path;
    o.path = path;
    o.sha256 = f->sha256;
    o.content_type = content_type(fc, path, f->k == 0);
    o.content_encoding = NULL;
    o.cache_control = cache;
    if (s3_put(c, &o, err) < 0)
        goto cleanup;
    if (f->k != 0 && fc->gzip && f->gz_sha256[0] != '\0') {
        o.key = gz_key;
        o.path = gz_path;
        o.sha256 = f->gz_sha256;
        o.content_encoding = "gzip";
        if (s3_put(c, &o, err) < 0)
            goto cleanup;
    }
    rc = 0;
cleanup:
    free(path);
    free(gz_key);
    free(gz_path);
    return rc;
}

/* Parts K > nparts that a bigger build uploaded, with their twins: gone
 * once the index no longer lists them. Stops at the first part that is
 * not there, as the local clean-up does. */
static int
delete_stale_parts(struct s3_client *c, const struct pf_feed_cfg *fc,
                   int nparts, struct pf_err *err)
{
    int rc = 0;

    for (int k = nparts + 1; rc == 0; k++) {
        char *key = pf_names_part(fc->output, k);
        char *gz = xasprintf("%s.gz", key);
        int there = s3_exists(c, key, err);

        if (there <= 0)
            rc = there < 0 ? -1 : 1;
        else if (s3_delete(c, key, err) != 0 || s3_delete(c, gz, err) != 0)
            rc = -1;
        else
            s3_client_stats(c)->deleted++;
        free(key);
        free(gz);
    }
    return rc < 0 ? -1 : 0;
}

/* The feed's line: what went up, and what the bucket already had. */
static void
log_feed(struct s3_client *c, const struct pf_feed_cfg *fc,
         const struct s3_stats *before)
{
    const struct s3_stats *now = s3_client_stats(c);
    long long up = (long long)(now->objects - before->objects);
    long long same = (long long)(now->unchanged - before->unchanged);

    if (up == 0)
        log_info("s3: feed '%s' unchanged in %s (%lld object%s, "
                 "not uploaded)", fc->name, s3_client_where(c), same,
                 same == 1 ? "" : "s");
    else
        log_info("s3: feed '%s' uploaded to %s (%lld object%s, "
                 "%lld unchanged)", fc->name, s3_client_where(c), up,
                 up == 1 ? "" : "s", same);
}

int
s3_publish_feed(struct s3_client *c, const struct pf_config *cfg,
                const struct pf_feed_cfg *fc, struct store *s, int nparts,
                const char *access, struct pf_err *err)
{
    const struct pf_publish_cfg *p = &cfg->publish;
    int token = access != NULL && strcmp(access, "token") == 0;
    struct s3_files fs = {NULL, 0};
    struct s3_stats before;
    int rc = -1;

    if (token && !p->private_feeds) {
        log_warn("s3: feed '%s' has access = token: not uploaded to %s "
                 "(set [publish] private_feeds = yes to upload it)",
                 fc->name, s3_client_where(c));
        s3_client_stats(c)->skipped++;
        return 0;
    }
    if (load_files(s, fc, nparts, &fs, err) != 0)
        goto cleanup;
    if (fs.n == 0) {
        pf_errf(err, "s3: feed '%s': no published files recorded",
                fc->name);
        goto cleanup;
    }
    qsort(fs.v, fs.n, sizeof(*fs.v), by_upload_order);
    before = *s3_client_stats(c);
    for (size_t i = 0; i < fs.n; i++)
        if (put_file(c, cfg, fc, &fs.v[i],
                     token ? PF_S3_CACHE_PRIVATE : p->cache_control,
                     err) != 0)
            goto cleanup;
    if (fc->max_file_size > 0 &&
        delete_stale_parts(c, fc, nparts, err) != 0)
        goto cleanup;
    log_feed(c, fc, &before);
    rc = 0;
cleanup:
    files_free(&fs);
    if (rc != 0)
        pf_err_prefix(err, "feed '%s'", fc->name);
    return rc;
}
