/* test_publish.c - atomic, validated publishing: parse checks, the item
 * gate, the gzip twin, permissions, temp sweeping and flat memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "publish.h"

/* ---- helpers ---------------------------------------------------------- */

struct fx {
    char *root;     /* mkdtemp folder, removed afterwards */
    char *feeds;    /* root/feeds: created by publish_begin */
};

static void
rm_rf(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *e;

    if (lstat(path, &st) != 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        unlink(path);
        return;
    }
    d = opendir(path);
    if (d != NULL) {
        while ((e = readdir(d)) != NULL) {
            char *p;

            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            p = xasprintf("%s/%s", path, e->d_name);
            rm_rf(p);
            free(p);
        }
        closedir(d);
    }
    rmdir(path);
}

static int
setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));
    char tmpl[] = "/tmp/pf_publish_XXXXXX";

    if (mkdtemp(tmpl) == NULL)
        return -1;
    f->root = xstrdup(tmpl);
    f->feeds = xasprintf("%s/feeds", f->root);
    umask(022);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    rm_rf(f->root);
    free(f->root);
    free(f->feeds);
    free(f);
    return 0;
}

/* begin + write + commit. */
static int
publish_text(const char *feeds, const char *output, enum tpl_format fmt,
             int gzip, const char *text, const struct publish_gate *gate,
             struct publish_result *res, struct pf_err *err)
{
    struct publish_job *j = NULL;

    if (publish_begin(feeds, output, fmt, gzip, &j, err) != 0)
        return -1;
    pf_out_puts(publish_out(j), text);
    return publish_commit(j, gate, res, err);
}

static char *
slurp(const char *path, size_t *len)
{
    char *data = NULL;
    size_t n = 0;
    struct pf_err err = {{0}};

    if (pf_read_file(path, 64u << 20, &data, &n, &err) != 0)
        return NULL;
    if (len != NULL)
        *len = n;
    return data;
}

static void
sha256_hex(const void *p, size_t n, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    assert_int_equal(EVP_Digest(p, n, md, &len, EVP_sha256(), NULL), 1);
    for (unsigned int i = 0; i < len; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Counts files named like a publish temp (".*.tmp-*") in dir. */
static int
count_temps(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' && strstr(e->d_name, ".tmp-") != NULL)
            n++;
    }
    closedir(d);
    return n;
}

static int
file_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

static void
write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

static const char GOOD_JSON[] =
    "{\"products\":[{\"id\":\"1\",\"name\":\"Caf\xc3\xa9\",\"price\":9.5},"
    "{\"id\":\"2\",\"name\":\"Tea\",\"price\":3}],\"config\":{}}\n";

/* Publishes GOOD_JSON as feeds/clerk.json (with its twin) and returns its
 * path. */
static char *
publish_good(struct fx *f)
{
    struct publish_result res;
    struct pf_err err = {{0}};

    assert_int_equal(publish_text(f->feeds, "clerk.json", TPL_JSON, 1,
                                  GOOD_JSON, NULL, &res, &err), 0);
    return res.path;
}

/* The published pair must be exactly what publish_good() wrote. */
static void
assert_good_untouched(const char *path)
{
    char *gz_path = xasprintf("%s.gz", path);
    size_t n = 0;
    char *data = slurp(path, &n);
    char buf[4096];
    gzFile gz;
    int got;

    assert_non_null(data);
    assert_int_equal(n, strlen(GOOD_JSON));
    assert_memory_equal(data, GOOD_JSON, n);
    free(data);
    gz = gzopen(gz_path, "rb");
    assert_non_null(gz);
    got = gzread(gz, buf, sizeof(buf));
    gzclose(gz);
    assert_int_equal(got, (int)strlen(GOOD_JSON));
    assert_memory_equal(buf, GOOD_JSON, (size_t)got);
    free(gz_path);
}

/* ---- valid feeds ------------------------------------------------------ */

static void
test_json_valid(void **state)
{
    struct fx *f = *state;
    struct publish_result res;
    struct pf_err err = {{0}};
    char want[65];
    char *expect_path = xasprintf("%s/clerk.json", f->feeds);
    size_t n = 0;
    char *data;

    assert_int_equal(publish_text(f->feeds, "clerk.json", TPL_JSON, 0,
                                  GOOD_JSON, NULL, &res, &err), 0);
    assert_string_equal(res.path, expect_path);
    assert_int_equal(res.bytes, (int64_t)strlen(GOOD_JSON));
    assert_int_equal(res.gz_bytes, 0);
    assert_string_equal(res.gz_sha256, "");
    sha256_hex(GOOD_JSON, strlen(GOOD_JSON), want);
    assert_string_equal(res.sha256, want);
    data = slurp(res.path, &n);
    assert_non_null(data);
    assert_int_equal(n, strlen(GOOD_JSON));
    assert_memory_equal(data, GOOD_JSON, n);
    assert_int_equal(count_temps(f->feeds), 0);
    free(data);
    free(res.path);
    free(expect_path);
}

static void
test_ndjson_valid(void **state)
{
    struct fx *f = *state;
    struct publish_result res;
    struct pf_err err = {{0}};
    /* A blank line is skipped and the last line needs no newline. */
    const char *text = "{\"id\":1}\n[1,2]\n\n  \"x\"\r\n{\"id\":4}\n"
                       "12345678901234567890123";

    assert_int_equal(publish_text(f->feeds, "orders.ndjson", TPL_NDJSON, 1,
                                  text, NULL, &res, &err), 0);
    assert_int_equal(res.bytes, (int64_t)strlen(text));
    assert_true(res.gz_bytes > 0);
    assert_int_equal(count_temps(f->feeds), 0);
    free(res.path);
}

static void
test_xml_valid(void **state)
{
    struct fx *f = *state;
    struct publish_result res;
    struct pf_err err = {{0}};
    const char *text =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<rss version=\"2.0\" xmlns:g=\"http://base.google.com/ns/1.0\">"
        "<channel><title>Shop &amp; Co</title>"
        "<item><g:id>1</g:id><title>Caf\xc3\xa9</title></item>"
        "</channel></rss>\n";

    assert_int_equal(publish_text(f->feeds, "google.xml", TPL_XML, 1, text,
                                  NULL, &res, &err), 0);
    assert_int_equal(res.bytes, (int64_t)strlen(text));
    assert_int_equal(count_temps(f->feeds), 0);
    free(res.path);
}

/* Output folders below feeds_dir are made on demand, feeds_dir too. */
static void
test_subfolders_created(void **state)
{
    struct fx *f = *state;
    struct publish_result res;
    struct pf_err err = {{0}};
    char *deep = xasprintf("%s/x/y", f->feeds);
    char *want;
    struct stat st;

    assert_int_equal(publish_text(deep, "klaviyo/catalog/part-1.json",
                                  TPL_JSON, 0, "[]", NULL, &res, &err), 0);
    want = xasprintf("%s/klaviyo/catalog/part-1.json", deep);
    assert_string_equal(res.path, want);
    assert_true(file_exists(want));
    assert_int_equal(stat(deep, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0755);
    free(res.path);
    free(want);
    free(deep);
}

/* ---- refused feeds leave the published pair alone --------------------- */

static void
assert_refused(struct fx *f, const char *output, enum tpl_format fmt,
               const char *text, const char *needle1, const char *needle2)
{
    struct publish_result res;
    struct pf_err err = {{0}};

    assert_int_equal(publish_text(f->feeds, output, fmt, 1, text, NULL,
                                  &res, &err), -1);
    assert_null(res.path);
    if (strstr(err.msg, needle1) == NULL ||
        (needle2 != NULL && strstr(err.msg, needle2) == NULL))
        fail_msg("message '%s' lacks '%s'/'%s'", err.msg, needle1,
                 needle2 ? needle2 : "");
    assert_int_equal(count_temps(f->feeds), 0);
}

static void
test_json_invalid(void **state)
{
    struct fx *f = *state;
    char *path = publish_good(f);

    /* Truncated mid-array: only the end of input can tell. */
    assert_refused(f, "clerk.json", TPL_JSON,
                   "{\"products\":[{\"id\":\"1\"},", "clerk.json",
                   "at byte 24 (end of file)");
    /* A lexical error names its offset. */
    assert_refused(f, "clerk.json", TPL_JSON, "{\"a\":[1,2,}]}",
                   "clerk.json", "at byte ");
    /* Two documents where one is expected. */
    assert_refused(f, "clerk.json", TPL_JSON, "{} {}", "clerk.json",
                   "invalid JSON");
    /* Invalid UTF-8 inside a string. */
    assert_refused(f, "clerk.json", TPL_JSON, "[\"a\xff\"]", "clerk.json",
                   "invalid JSON");
    assert_refused(f, "clerk.json", TPL_JSON, "  \n", "clerk.json",
                   "invalid JSON");
    assert_good_untouched(path);
    free(path);
}

/* The error offset is counted over the whole file, across chunks. */
static void
test_json_offset_across_chunks(void **state)
{
    struct fx *f = *state;
    struct publish_job *j = NULL;
    struct pf_err err = {{0}};
    struct pf_out *o;
    size_t written = 0;
    char want[64];

    assert_int_equal(publish_begin(f->feeds, "big.json", TPL_JSON, 0, &j,
                                   &err), 0);
    o = publish_out(j);
    pf_out_putc(o, '[');
    written = 1;
    while (written < 600000) {
        pf_out_puts(o, "1234567,");
        written += 8;
    }
    pf_out_puts(o, "]");
    /* yajl reports the byte after the offending ']'. */
    snprintf(want, sizeof(want), "at byte %zu ", written + 1);
    assert_int_equal(publish_commit(j, NULL, NULL, &err), -1);
    if (strstr(err.msg, want) == NULL)
        fail_msg("'%s' lacks '%s'", err.msg, want);
    assert_int_equal(count_temps(f->feeds), 0);
    {
        char *p = xasprintf("%s/big.json", f->feeds);

        assert_false(file_exists(p));
        free(p);
    }
}

static void
test_ndjson_invalid(void **state)
{
    struct fx *f = *state;
    char *path = publish_good(f);

    assert_refused(f, "clerk.json", TPL_NDJSON,
                   "{\"id\":1}\n{\"id\":2}\n{\"id\":3,}\n{\"id\":4}\n",
                   "clerk.json", "line 3");
    /* A value split over two lines is incomplete on its first line. */
    assert_refused(f, "clerk.json", TPL_NDJSON,
                   "{\"id\":1}\n\n{\"id\":\n3}\n", "clerk.json", "line 3");
    /* Two values on one line. */
    assert_refused(f, "clerk.json", TPL_NDJSON,
                   "{\"id\":1}\n{\"id\":2}\n{\"id\":3} {\"id\":4}\n",
                   "clerk.json", "line 3");
    /* Last line, no trailing newline. */
    assert_refused(f, "clerk.json", TPL_NDJSON, "1\n2\n[3", "clerk.json",
                   "line 3");
    assert_good_untouched(path);
    free(path);
}

static void
test_xml_invalid(void **state)
{
    struct fx *f = *state;
    char *path = publish_good(f);

    assert_refused(f, "clerk.json", TPL_XML,
                   "<rss>\n<channel>\n<item></channel>\n</rss>\n",
                   "clerk.json", "line 3");
    /* Truncated. */
    assert_refused(f, "clerk.json", TPL_XML,
                   "<rss><channel><item><title>x</title>",
                   "clerk.json", "ends inside <item>");
    /* An entity no DTD declares. */
    assert_refused(f, "clerk.json", TPL_XML, "<a>&nbsp;</a>",
                   "clerk.json", "invalid XML");
    /* A prefix without its namespace declaration. */
    assert_refused(f, "clerk.json", TPL_XML, "<rss><g:id>1</g:id></rss>",
                   "clerk.json", "invalid XML");
    /* A character XML 1.0 forbids. */
    assert_refused(f, "clerk.json", TPL_XML, "<a>\x01</a>", "clerk.json",
                   "invalid XML");
    assert_refused(f, "clerk.json", TPL_XML, "<a/><b/>", "clerk.json",
                   "invalid XML");
    assert_good_untouched(path);
    free(path);
}

/* A shop with no orders yet publishes an orders feed of zero records. */
static void
test_ndjson_zero_records(void **state)
{
    struct fx *f = *state;
    struct publish_result res;
    struct pf_err err = {{0}};

    assert_int_equal(publish_text(f->feeds, "orders.ndjson", TPL_NDJSON, 1,
                                  "", NULL, &res, &err), 0);
    assert_int_equal(res.bytes, 0);
    free(res.path);
    assert_int_equal(publish_text(f->feeds, "orders.ndjson", TPL_NDJSON, 1,
                                  "\n\n", NULL, &res, &err), 0);
    free(res.path);
}

static void
test_empty_refused(void **state)
{
    struct fx *f = *state;
    char *path = publish_good(f);

    assert_refused(f, "clerk.json", TPL_JSON, "", "clerk.json", "empty");
    assert_refused(f, "clerk.json", TPL_XML, "", "clerk.json", "empty");
    assert_good_untouched(path);
    free(path);
}

static void
test_abort(void **state)
{
    struct fx *f = *state;
    char *path = publish_good(f);
    struct publish_job *j = NULL;
    struct pf_err err = {{0}};

    assert_int_equal(publish_begin(f->feeds, "clerk.json", TPL_JSON, 1, &j,
                                   &err), 0);
    pf_out_puts(publish_out(j), "{\"half\":");
    /* The feed's temp and its .gz twin's, written side by side. */
    assert_int_equal(count_temps(f->feeds), 2);
    publish_abort(j);
    assert_int_equal(count_temps(f->feeds), 0);
    assert_good_untouched(path);
    free(path);
}

/* A write error during the build (here EFBIG; ENOSPC in real life) is
 * reported at commit and nothing is published. */
static void
test_write_error(void **state)
{
    struct fx *f = *state;
    char *path = publish_good(f);
    struct publish_job *j = NULL;
    struct pf_err err = {{0}};
    struct rlimit old, lim;
    char row[64];

    assert_int_equal(publish_begin(f->feeds, "clerk.json", TPL_JSON, 1, &j,
                                   &err), 0);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 64 * 1024;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    pf_out_puts(publish_out(j), "[");
    for (int i = 0; i < 100000; i++) {
        snprintf(row, sizeof(row), "%s{\"id\":%d}", i ? "," : "", i);
        pf_out_puts(publish_out(j), row);
    }
    pf_out_puts(publish_out(j), "]");
    assert_int_equal(publish_commit(j, NULL, NULL, &err), -1);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_DFL);
    if (strstr(err.msg, "clerk.json") == NULL ||
        strstr(err.msg, strerror(EFBIG)) == NULL)
        fail_msg("message '%s'", err.msg);
    assert_int_equal(count_temps(f->feeds), 0);
    assert_good_untouched(path);
    free(path);
}

/* ---- the item-count gate ---------------------------------------------- */

static void
test_gate(void **state)
{
    struct fx *f = *state;
    char *path = publish_good(f);
    struct publish_gate g = { .items = 12, .last_items = 200,
                              .max_drop = 0.5, .force = 0 };
    struct publish_result res;
    struct pf_err err = {{0}};
    const char *text = "{\"products\":[]}";

    assert_int_equal(publish_text(f->feeds, "clerk.json", TPL_JSON, 1,
                                  text, &g, &res, &err), -1);
    assert_non_null(strstr(err.msg, "feed 'clerk.json' has 12 items, "
                                    "down from 200 last time"));
    assert_non_null(strstr(err.msg, "50% max_drop"));
    assert_non_null(strstr(err.msg, "--force"));
    assert_int_equal(count_temps(f->feeds), 0);
    assert_good_untouched(path);

    /* Exactly at the limit is allowed. */
    g.items = 100;
    assert_int_equal(publish_text(f->feeds, "clerk.json", TPL_JSON, 1,
                                  GOOD_JSON, &g, &res, &err), 0);
    free(res.path);
    /* No history: nothing to compare with. */
    g.items = 0;
    g.last_items = -1;
    assert_int_equal(publish_text(f->feeds, "clerk.json", TPL_JSON, 1,
                                  GOOD_JSON, &g, &res, &err), 0);
    free(res.path);

    /* --force passes the drop, and the new content is live. */
    g.items = 12;
    g.last_items = 200;
    g.force = 1;
    assert_int_equal(publish_text(f->feeds, "clerk.json", TPL_JSON, 1,
                                  text, &g, &res, &err), 0);
    free(res.path);
    {
        size_t n = 0;
        char *data = slurp(path, &n);

        assert_non_null(data);
        assert_int_equal(n, strlen(text));
        assert_memory_equal(data, text, n);
        free(data);
    }
    /* --force never skips the parse check. */
    assert_int_equal(publish_text(f->feeds, "clerk.json", TPL_JSON, 1,
                                  "{\"products\":[", &g, &res, &err), -1);
    free(res.path);
    free(path);
}

/* ---- gzip twin and permissions --------------------------------------- */

static void
test_gzip_twin(void **state)
{
    struct fx *f = *state;
    struct publish_result res;
    struct pf_err err = {{0}};
    struct pf_buf text;
    char *gz_path, *gz_raw;
    char want[65];
    size_t gz_n = 0;
    char *back;
    gzFile gz;
    int got, total = 0;
    struct stat st_main, st_gz;

    pf_buf_init(&text);
    pf_buf_adds(&text, "[");
    for (int i = 0; i < 20000; i++)
        pf_buf_addf(&text, "%s{\"id\":%d,\"name\":\"item %d\"}",
                    i ? "," : "", i, i * 7);
    pf_buf_adds(&text, "]");
    assert_int_equal(publish_text(f->feeds, "clerk.json", TPL_JSON, 1,
                                  text.data, NULL, &res, &err), 0);
    gz_path = xasprintf("%s.gz", res.path);

    back = xmalloc(text.len + 16);
    gz = gzopen(gz_path, "rb");
    assert_non_null(gz);
    while ((got = gzread(gz, back + total,
                         (unsigned)(text.len + 16 - (size_t)total))) > 0)
        total += got;
    assert_int_equal(got, 0);
    gzclose(gz);
    assert_int_equal((size_t)total, text.len);
    assert_memory_equal(back, text.data, text.len);

    gz_raw = slurp(gz_path, &gz_n);
    assert_non_null(gz_raw);
    assert_int_equal(res.gz_bytes, (int64_t)gz_n);
    assert_true(gz_n < text.len);
    sha256_hex(gz_raw, gz_n, want);
    assert_string_equal(res.gz_sha256, want);
    sha256_hex(text.data, text.len, want);
    assert_string_equal(res.sha256, want);

    /* The pair shares one mtime so a server can tell a matching twin. */
    assert_int_equal(stat(res.path, &st_main), 0);
    assert_int_equal(stat(gz_path, &st_gz), 0);
    assert_int_equal(st_main.st_mtim.tv_sec, st_gz.st_mtim.tv_sec);
    assert_int_equal(st_main.st_mtim.tv_nsec, st_gz.st_mtim.tv_nsec);

    /* Republished without gzip, the old twin would be stale: gone. */
    free(res.path);
    assert_int_equal(publish_text(f->feeds, "clerk.json", TPL_JSON, 0,
                                  "[1]", NULL, &res, &err), 0);
    assert_false(file_exists(gz_path));
    assert_int_equal(count_temps(f->feeds), 0);

    free(res.path);
    free(gz_raw);
    free(back);
    free(gz_path);
    pf_buf_free(&text);
}

static void
test_permissions(void **state)
{
    struct fx *f = *state;
    struct publish_result res;
    struct pf_err err = {{0}};
    char *gz_path;
    struct stat st;

    assert_int_equal(publish_text(f->feeds, "clerk.json", TPL_JSON, 1,
                                  GOOD_JSON, NULL, &res, &err), 0);
    gz_path = xasprintf("%s.gz", res.path);
    assert_int_equal(stat(res.path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    assert_int_equal(stat(gz_path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    free(res.path);

    /* A stricter umask is respected. */
    umask(027);
    assert_int_equal(publish_text(f->feeds, "clerk.json", TPL_JSON, 1,
                                  GOOD_JSON, NULL, &res, &err), 0);
    umask(022);
    assert_int_equal(stat(res.path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(stat(gz_path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    free(res.path);
    free(gz_path);
}

/* ---- paths ------------------------------------------------------------ */

static void
test_escape_refused(void **state)
{
    struct fx *f = *state;
    static const char *bad[] = {
        "../evil.json", "/tmp/evil.json", "", "a/../../evil.json",
        "sub/", "..", "sub/.", "sub/.x.json.tmp-123456",
    };
    char *outside = xasprintf("%s/evil.json", f->root);

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct publish_job *j = NULL;
        struct pf_err err = {{0}};

        assert_int_equal(publish_begin(f->feeds, bad[i], TPL_JSON, 1, &j,
                                       &err), -1);
        assert_null(j);
        if (strstr(err.msg, "feed output") == NULL)
            fail_msg("'%s': message '%s'", bad[i], err.msg);
    }
    assert_false(file_exists(outside));
    assert_int_equal(count_temps(f->root), 0);
    free(outside);
}

/* ---- sweep ------------------------------------------------------------ */

static void
test_sweep(void **state)
{
    struct fx *f = *state;
    struct pf_err err = {{0}};
    char *path = publish_good(f);
    char *sub = xasprintf("%s/sub", f->feeds);
    char *deep = xasprintf("%s/sub/deeper", f->feeds);
    static const char *stale[] = {
        ".clerk.json.tmp-a1B2c3", ".clerk.json.gz.tmp-ZZZZZZ",
        "sub/.google.xml.tmp-000000", "sub/deeper/.x.ndjson.gz.tmp-q",
    };
    static const char *keep[] = {
        "sub/google.xml", ".hidden", "tmp-notes", "x.tmp-123456",
        "sub/deeper/.tmp-", "sub/deeper/feed.json.tmp",
    };
    char *p;
    int removed = -1;

    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(mkdir(deep, 0755), 0);
    for (size_t i = 0; i < sizeof(stale) / sizeof(stale[0]); i++) {
        p = xasprintf("%s/%s", f->feeds, stale[i]);
        write_file(p, "partial");
        free(p);
    }
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
        p = xasprintf("%s/%s", f->feeds, keep[i]);
        write_file(p, "keep");
        free(p);
    }
    assert_int_equal(publish_sweep_temps(f->feeds, &removed, &err), 0);
    assert_int_equal(removed, 4);
    for (size_t i = 0; i < sizeof(stale) / sizeof(stale[0]); i++) {
        p = xasprintf("%s/%s", f->feeds, stale[i]);
        assert_false(file_exists(p));
        free(p);
    }
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
        p = xasprintf("%s/%s", f->feeds, keep[i]);
        assert_true(file_exists(p));
        free(p);
    }
    assert_good_untouched(path);

    /* Nothing left: a second sweep removes nothing. */
    assert_int_equal(publish_sweep_temps(f->feeds, &removed, &err), 0);
    assert_int_equal(removed, 0);
    /* A feeds folder that does not exist yet holds no temps. */
    p = xasprintf("%s/nope", f->root);
    assert_int_equal(publish_sweep_temps(p, &removed, &err), 0);
    assert_int_equal(removed, 0);
    free(p);
    free(path);
    free(sub);
    free(deep);
}

/* ---- the gzip twin at scale, after failures, from threads ------------- */

/* Streams about mb megabytes of NDJSON rows whose words come from a
 * pseudo-random sequence (seeded, so reproducible): text that compresses
 * like a feed, neither all alike nor random. */
static void
write_rows(struct pf_out *o, unsigned mb, unsigned seed)
{
    static const char *words[] = {
        "wool", "coat", "blue", "linen", "shirt", "black", "cotton",
        "socks", "red", "scarf", "green", "leather", "boots", "size",
    };
    uint32_t x = seed * 2654435761u + 1;
    char row[256];
    long long id = 0;

    while (o->bytes < (uint64_t)mb << 20) {
        const char *w[4];
        int n;

        for (int i = 0; i < 4; i++) {
            x = x * 1664525u + 1013904223u;
            w[i] = words[(x >> 16) % (sizeof(words) / sizeof(words[0]))];
        }
        n = snprintf(row, sizeof(row), "{\"id\":\"%lld\",\"name\":\"%s %s "
                     "%s\",\"tag\":\"%s\",\"price\":%u.%02u}\n", id, w[0],
                     w[1], w[2], w[3], (x >> 8) % 500, x % 100);
        pf_out_write(o, row, (size_t)n);
        id++;
    }
}

static void
file_sha256(const char *path, char out[65])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char raw[EVP_MAX_MD_SIZE], buf[65536];
    unsigned int len = 0;
    FILE *fp = fopen(path, "rb");
    size_t n;

    assert_non_null(fp);
    assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
    while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
        assert_int_equal(EVP_DigestUpdate(md, buf, n), 1);
    fclose(fp);
    assert_int_equal(EVP_DigestFinal_ex(md, raw, &len), 1);
    EVP_MD_CTX_free(md);
    for (unsigned int i = 0; i < len; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

/* 0 when path.gz decompresses (zlib: another implementation than the
 * writer's) to exactly the bytes of path, CRC and length checked by
 * gzread; -1 otherwise. Streams, so any size fits. */
static int
twin_decompresses_to_feed(const char *path)
{
    char *gz_path = xasprintf("%s.gz", path);
    gzFile gz = gzopen(gz_path, "rb");
    FILE *fp = fopen(path, "rb");
    static char a[65536], b[65536];
    int rc = -1;

    if (gz == NULL || fp == NULL)
        goto cleanup;
    for (;;) {
        int got = gzread(gz, a, sizeof(a));
        size_t want;

        if (got < 0)
            goto cleanup;
        want = fread(b, 1, (size_t)got, fp);
        if (want != (size_t)got || memcmp(a, b, want) != 0)
            goto cleanup;
        if (got == 0)
            break;
    }
    /* The feed has no bytes the twin lacks. */
    rc = fgetc(fp) == EOF ? 0 : -1;
cleanup:
    if (gz != NULL)
        gzclose(gz);
    if (fp != NULL)
        fclose(fp);
    free(gz_path);
    return rc;
}

/* The published pair matches what publish_commit() recorded. */
static void
assert_twin_recorded(const struct publish_result *res)
{
    char *gz_path = xasprintf("%s.gz", res->path);
    char hex[65];
    struct stat st;

    assert_int_equal(twin_decompresses_to_feed(res->path), 0);
    file_sha256(res->path, hex);
    assert_string_equal(res->sha256, hex);
    file_sha256(gz_path, hex);
    assert_string_equal(res->gz_sha256, hex);
    assert_int_equal(stat(gz_path, &st), 0);
    assert_int_equal(st.st_size, res->gz_bytes);
    assert_int_equal(stat(res->path, &st), 0);
    assert_int_equal(st.st_size, res->bytes);
    free(gz_path);
}

/* publish_seal(): a split feed seals each part as it is written. A bad
 * part is refused at the seal (before any later part is rendered), and
 * nothing of it goes live; a good part, sealed, writes no more into its
 * check pass and commits later with everything recorded as an unsealed
 * job would (a second seal changes nothing). */
static void
test_seal_then_commit(void **state)
{
    struct fx *f = *state;
    char *path = publish_good(f);
    struct publish_job *bad = NULL, *good = NULL;
    struct publish_result res;
    struct pf_err err = {{0}};
    int64_t want = 0;
    int i;

    assert_int_equal(publish_begin(f->feeds, "clerk.json", TPL_JSON, 1,
                                   &bad, &err), 0);
    pf_out_puts(publish_out(bad), "{\"products\":[");
    assert_int_equal(publish_seal(bad, &err), -1);
    if (strstr(err.msg, "clerk.json") == NULL)
        fail_msg("'%s' does not name the feed", err.msg);
    publish_abort(bad);
    assert_good_untouched(path);
    assert_int_equal(count_temps(f->feeds), 0);

    assert_int_equal(publish_begin(f->feeds, "part-2.ndjson", TPL_NDJSON,
                                   1, &good, &err), 0);
    for (i = 0; i < 20000; i++) {
        char line[32];

        want += snprintf(line, sizeof(line), "{\"n\":%d}\n", i);
        pf_out_puts(publish_out(good), line);
    }
    assert_int_equal(publish_seal(good, &err), 0);
    assert_int_equal(publish_seal(good, &err), 0);
    /* Sealed, not yet live. */
    {
        char *p = xasprintf("%s/part-2.ndjson", f->feeds);

        assert_false(file_exists(p));
        free(p);
    }
    if (publish_commit(good, NULL, &res, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(res.bytes, want);
    assert_twin_recorded(&res);
    assert_int_equal(count_temps(f->feeds), 0);
    free(res.path);
    free(path);
}

/* Several MB: many input chunks, output buffers and deflate blocks. */
static void
test_gzip_twin_many_blocks(void **state)
{
    struct fx *f = *state;
    struct publish_job *j = NULL;
    struct publish_result res;
    struct pf_err err = {{0}};

    assert_int_equal(publish_begin(f->feeds, "big.ndjson", TPL_NDJSON, 1,
                                   &j, &err), 0);
    write_rows(publish_out(j), 12, 1);
    if (publish_commit(j, NULL, &res, &err) != 0)
        fail_msg("%s", err.msg);
    assert_true(res.bytes >= 12 << 20);
    assert_true(res.gz_bytes > 0 && res.gz_bytes < res.bytes / 2);
    assert_twin_recorded(&res);
    free(res.path);
}

/* A feed of zero bytes (NDJSON may be empty) still gets a valid twin. */
static void
test_gzip_twin_of_empty_feed(void **state)
{
    struct fx *f = *state;
    struct publish_result res;
    struct pf_err err = {{0}};

    assert_int_equal(publish_text(f->feeds, "orders.ndjson", TPL_NDJSON, 1,
                                  "", NULL, &res, &err), 0);
    assert_int_equal(res.bytes, 0);
    assert_true(res.gz_bytes > 0);
    assert_twin_recorded(&res);
    free(res.path);
}

/* The fd open on the temp file whose name starts with prefix. */
static int
fd_of_temp(const char *prefix)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int fd = -1;

    assert_non_null(d);
    while (fd < 0 && (e = readdir(d)) != NULL) {
        char link[64], target[4096];
        const char *base;
        ssize_t n;

        snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
        n = readlink(link, target, sizeof(target) - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        base = strrchr(target, '/');
        if (base != NULL && strncmp(base + 1, prefix, strlen(prefix)) == 0)
            fd = atoi(e->d_name);
    }
    closedir(d);
    return fd;
}

/* The compressor cannot write its temp (here a read-only fd swapped in
 * under it; a full disk in real life): nothing is published, no temp is
 * left and the old feed and its twin stay byte for byte. */
static void
test_gzip_write_error_keeps_old_twin(void **state)
{
    struct fx *f = *state;
    char *path = publish_good(f);
    char *gz_path = xasprintf("%s.gz", path);
    size_t n0 = 0, n1 = 0;
    char *gz0 = slurp(gz_path, &n0), *gz1;
    struct publish_job *j = NULL;
    struct pf_err err = {{0}};
    int fd, ro;

    assert_non_null(gz0);
    assert_int_equal(publish_begin(f->feeds, "clerk.json", TPL_JSON, 1, &j,
                                   &err), 0);
    fd = fd_of_temp(".clerk.json.gz.tmp-");
    assert_true(fd >= 0);
    ro = open("/dev/null", O_RDONLY);
    assert_true(ro >= 0);
    assert_int_equal(dup2(ro, fd), fd);
    close(ro);
    pf_out_puts(publish_out(j), "[");
    for (int i = 0; i < 200000; i++) {
        char row[64];

        snprintf(row, sizeof(row), "%s{\"id\":%d}", i ? "," : "", i);
        pf_out_puts(publish_out(j), row);
    }
    pf_out_puts(publish_out(j), "]");
    assert_int_equal(publish_commit(j, NULL, NULL, &err), -1);
    if (strstr(err.msg, ".clerk.json.gz.tmp-") == NULL ||
        strstr(err.msg, strerror(EBADF)) == NULL)
        fail_msg("message '%s'", err.msg);
    assert_int_equal(count_temps(f->feeds), 0);
    assert_good_untouched(path);
    gz1 = slurp(gz_path, &n1);
    assert_non_null(gz1);
    assert_int_equal(n1, n0);
    assert_memory_equal(gz1, gz0, n0);
    free(gz0);
    free(gz1);
    free(gz_path);
    free(path);
}

/* Bytes in the first gz temp under dir, -1 if there is none. */
static long
gz_temp_size(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    long size = -1;

    if (d == NULL)
        return -1;
    while (size < 0 && (e = readdir(d)) != NULL) {
        struct stat st;
        char *p;

        if (strstr(e->d_name, ".gz.tmp-") == NULL)
            continue;
        p = xasprintf("%s/%s", dir, e->d_name);
        if (stat(p, &st) == 0)
            size = (long)st.st_size;
        free(p);
    }
    closedir(d);
    return size;
}

/* A build killed while it compresses publishes nothing: the old pair
 * stays byte for byte, and the next build's sweep removes its temps. */
static void
test_gzip_killed_keeps_old_twin(void **state)
{
    struct fx *f = *state;
    char *path = publish_good(f);
    char *gz_path = xasprintf("%s.gz", path);
    size_t n0 = 0, n1 = 0;
    char *gz0 = slurp(gz_path, &n0), *gz1;
    struct pf_err err = {{0}};
    int removed = -1, status = 0, tries;
    pid_t pid;

    assert_non_null(gz0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct publish_job *j = NULL;

        /* NDJSON: write_rows' rows must pass the check to be compressed. */
        if (publish_begin(f->feeds, "clerk.json", TPL_NDJSON, 1, &j,
                          &err) != 0)
            _exit(2);
        /* Bounded, in case nobody kills it. */
        write_rows(publish_out(j), 512, 2);
        _exit(3);
    }
    /* Up to 60 s for the twin's temp to hold compressed bytes. */
    for (tries = 0; tries < 6000 && gz_temp_size(f->feeds) <= 0; tries++) {
        struct timespec ts = { 0, 10 * 1000 * 1000 };

        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(gz_temp_size(f->feeds) > 0);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    assert_good_untouched(path);
    gz1 = slurp(gz_path, &n1);
    assert_non_null(gz1);
    assert_int_equal(n1, n0);
    assert_memory_equal(gz1, gz0, n0);
    assert_int_equal(count_temps(f->feeds), 2);
    assert_int_equal(publish_sweep_temps(f->feeds, &removed, &err), 0);
    assert_int_equal(removed, 2);
    assert_int_equal(count_temps(f->feeds), 0);
    free(gz0);
    free(gz1);
    free(gz_path);
    free(path);
}

/* publish.c keeps no globals: jobs in several threads at once each
 * publish their own feed and twin. */
struct par_job {
    const char *feeds;
    char output[32];
    unsigned seed;
    struct publish_result res;
    struct pf_err err;
    int rc;
};

static void *
par_main(void *arg)
{
    struct par_job *p = arg;
    struct publish_job *j = NULL;

    p->rc = publish_begin(p->feeds, p->output, TPL_NDJSON, 1, &j, &p->err);
    if (p->rc != 0)
        return NULL;
    write_rows(publish_out(j), 3, p->seed);
    p->rc = publish_commit(j, NULL, &p->res, &p->err);
    return NULL;
}

static void
test_gzip_jobs_in_threads(void **state)
{
    struct fx *f = *state;
    struct par_job p[3];
    pthread_t t[3];

    memset(p, 0, sizeof(p));
    for (int i = 0; i < 3; i++) {
        p[i].feeds = f->feeds;
        p[i].seed = (unsigned)i + 10;
        snprintf(p[i].output, sizeof(p[i].output), "t%d.ndjson", i);
        assert_int_equal(pthread_create(&t[i], NULL, par_main, &p[i]), 0);
    }
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    for (int i = 0; i < 3; i++) {
        if (p[i].rc != 0)
            fail_msg("%s: %s", p[i].output, p[i].err.msg);
        assert_twin_recorded(&p[i].res);
        free(p[i].res.path);
    }
    assert_int_equal(count_temps(f->feeds), 0);
}

/* ---- size ------------------------------------------------------------- */

static long
peak_rss_kb(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* Streams about mb megabytes of rows in fmt and publishes them with
 * gzip; peak RSS may grow by buffers, never by the feed. */
static void
publish_large(struct fx *f, enum tpl_format fmt, const char *output,
              unsigned mb)
{
    static const char *open_doc[] = { "{\"products\":[", "", "<feed>" };
    static const char *close_doc[] = { "]}", "", "</feed>\n" };
    static const char *rows[] = {
        "%s{\"id\":\"%lld\",\"name\":\"Product %lld\",\"price\":%lld.95,"
        "\"stock\":[1,2,3]}\n",
        "%s{\"id\":\"%lld\",\"name\":\"Product %lld\",\"price\":%lld.95,"
        "\"stock\":[1,2,3]}\n",
        "%s<item id=\"%lld\"><name>Product %lld &amp; co</name>"
        "<price>%lld.95</price></item>\n",
    };
    struct publish_job *j = NULL;
    struct publish_result res;
    struct pf_err err = {{0}};
    struct pf_out *o;
    char row[200];
    long before, after;
    long long items = 0;
    struct stat st;

    before = peak_rss_kb();
    assert_int_equal(publish_begin(f->feeds, output, fmt, 1, &j, &err), 0);
    o = publish_out(j);
    pf_out_puts(o, open_doc[fmt]);
    while (o->bytes < (uint64_t)mb << 20) {
        const char *sep = (fmt == TPL_JSON && items > 0) ? "," : "";
        int n = snprintf(row, sizeof(row), rows[fmt], sep, items,
                         items * 31, items % 997);

        pf_out_write(o, row, (size_t)n);
        items++;
    }
    pf_out_puts(o, close_doc[fmt]);
    if (publish_commit(j, NULL, &res, &err) != 0)
        fail_msg("%s", err.msg);
    after = peak_rss_kb();
    assert_int_equal(stat(res.path, &st), 0);
    assert_int_equal(st.st_size, res.bytes);
    assert_true(res.bytes >= (int64_t)mb << 20);
    assert_true(res.gz_bytes > 0 && res.gz_bytes < res.bytes);
    free(res.path);
    if (after - before > 8 * 1024)
        fail_msg("peak RSS grew by %ld kB for a %u MB feed",
                 after - before, mb);
}

static void
test_large_feed_flat_memory(void **state)
{
    struct fx *f = *state;

    publish_large(f, TPL_NDJSON, "big.ndjson", 24);
    publish_large(f, TPL_JSON, "big.json", 12);
    publish_large(f, TPL_XML, "big.xml", 12);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_json_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ndjson_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_xml_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subfolders_created, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_json_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_offset_across_chunks,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_ndjson_invalid, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_xml_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ndjson_zero_records, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_empty_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip_twin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permissions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escape_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_feed_flat_memory, setup,
                                        teardown),
        /* After the flat-memory test: these raise the peak RSS it reads. */
        cmocka_unit_test_setup_teardown(test_gzip_twin_many_blocks, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_gzip_twin_of_empty_feed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_gzip_write_error_keeps_old_twin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip_killed_keeps_old_twin,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_seal_then_commit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_gzip_jobs_in_threads, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
