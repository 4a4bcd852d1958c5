/* test_ndjson.c - the NDJSON reader (regular files only, capped lines,
 * hashing, the final newline) and the escape scanner (\u0000 and lone
 * surrogates per root member).
 *
 * Scratch files live in a folder under $TMPDIR.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ndjson.h"

static char g_tmp[PATH_MAX];
static int g_seq;

static const char *
scratch(const char *data, size_t len, char *path, size_t n)
{
    FILE *f;

    snprintf(path, n, "%s/f%d.ndjson", g_tmp, ++g_seq);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return path;
}

static struct ndjson_reader *
open_ok(const char *path, size_t max_line)
{
    struct ndjson_reader *r = NULL;
    struct pf_err err = {""};

    if (ndjson_open(path, max_line, &r, &err) != 0)
        fail_msg("ndjson_open %s: %s", path, err.msg);
    return r;
}

/* Reads every line; returns them as "n:text|" (or "n:LONG(len)|"). */
static char *
read_all(struct ndjson_reader *r)
{
    struct pf_buf b;
    struct pf_err err = {""};
    char *line;
    size_t len;
    int rc;

    pf_buf_init(&b);
    pf_buf_adds(&b, "");
    for (;;) {
        rc = ndjson_next(r, &line, &len, &err);
        if (rc == NDJSON_EOF)
            break;
        assert_int_not_equal(rc, NDJSON_ERROR);
        if (rc == NDJSON_TOO_LONG) {
            pf_buf_addf(&b, "%ld:LONG(%zu)|", ndjson_line_number(r), len);
            continue;
        }
        assert_int_equal(strlen(line), len);
        pf_buf_addf(&b, "%ld:%s|", ndjson_line_number(r), line);
    }
    return b.data;
}

static void
test_lines_and_final_newline(void **state)
{
    char path[PATH_MAX], sha1[65], sha2[65];
    struct ndjson_reader *r;
    struct pf_err err = {""};
    char *got;

    (void)state;
    r = open_ok(scratch("a\r\n\nbc\nd", 8, path, sizeof(path)), 100);
    got = read_all(r);
    assert_string_equal(got, "1:a\r|2:|3:bc|4:d|");
    assert_int_equal(ndjson_ended_with_newline(r), 0);
    /* The streaming hash and the whole-file hash agree. */
    assert_int_equal(ndjson_digest(r, sha1, &err), 0);
    assert_int_equal(ndjson_digest_file(r, sha2, &err), 0);
    assert_string_equal(sha1, sha2);
    assert_int_equal(strlen(sha1), 64);
    free(got);
    ndjson_close(r);

    r = open_ok(scratch("x\n", 2, path, sizeof(path)), 100);
    got = read_all(r);
    assert_string_equal(got, "1:x|");
    assert_int_equal(ndjson_ended_with_newline(r), 1);
    free(got);
    ndjson_close(r);

    r = open_ok(scratch("", 0, path, sizeof(path)), 100);
    got = read_all(r);
    assert_string_equal(got, "");
    assert_int_equal(ndjson_ended_with_newline(r), 1);
    free(got);
    ndjson_close(r);
}

/* Lines longer than the cap are skipped whole, across many reads, and the
 * lines after them come out intact. The cap itself is allowed. */
static void
test_long_lines(void **state)
{
    const size_t big = 300000;
    char path[PATH_MAX], want[256];
    struct ndjson_reader *r;
    char *data, *got;
    size_t n = 0;

    (void)state;
    data = malloc(2 * big + 2048);
    assert_non_null(data);
    memset(data + n, 'a', 10);
    n += 10;
    data[n++] = '\n';
    memset(data + n, 'b', big);
    n += big;
    data[n++] = '\n';
    memcpy(data + n, "ok\n", 3);
    n += 3;
    memset(data + n, 'c', 1000);        /* exactly the cap */
    n += 1000;
    data[n++] = '\n';
    memset(data + n, 'd', big);         /* long, and no final newline */
    n += big;
    r = open_ok(scratch(data, n, path, sizeof(path)), 1000);
    got = read_all(r);
    snprintf(want, sizeof(want), "1:aaaaaaaaaa|2:LONG(%zu)|3:ok|", big);
    assert_int_equal(strncmp(got, want, strlen(want)), 0);
    assert_int_equal(strncmp(got + strlen(want), "4:ccc", 5), 0);
    snprintf(want, sizeof(want), "|5:LONG(%zu)|", big);
    assert_string_equal(got + strlen(got) - strlen(want), want);
    assert_int_equal(ndjson_ended_with_newline(r), 0);
    free(got);
    ndjson_close(r);
    free(data);
}

static void
test_refuses_what_is_not_a_file(void **state)
{
    char path[PATH_MAX + 32];
    struct ndjson_reader *r = NULL;
    struct pf_err err = {""};

    (void)state;
    snprintf(path, sizeof(path), "%s/fifo", g_tmp);
    assert_int_equal(mkfifo(path, 0600), 0);
    /* Must not wait for a writer. */
    assert_int_equal(ndjson_open(path, 100, &r, &err), -1);
    assert_null(r);
    assert_non_null(strstr(err.msg, "a FIFO, not a regular file"));
    assert_non_null(strstr(err.msg, path));

    assert_int_equal(ndjson_open("/dev/zero", 100, &r, &err), -1);
    assert_non_null(strstr(err.msg, "a character device"));
    assert_int_equal(ndjson_open(g_tmp, 100, &r, &err), -1);
    assert_non_null(strstr(err.msg, "a folder"));

    snprintf(path, sizeof(path), "%s/absent", g_tmp);
    assert_int_equal(ndjson_open(path, 100, &r, &err), 1);
    assert_null(r);
}

static const char *
marks_text(const struct ndjson_marks *m)
{
    static char buf[256];
    size_t i, o = 0;

    buf[0] = '\0';
    for (i = 0; i < m->n; i++)
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%zu:%u ",
                              m->v[i].member, m->v[i].flags);
    return buf;
}

static void
test_scan_escapes(void **state)
{
    struct ndjson_marks m = {0};
    char line[256];

    (void)state;
#define SCAN(text)                                                     \
    do {                                                               \
        snprintf(line, sizeof(line), "%s", text);                      \
        ndjson_scan(line, strlen(line), &m);                           \
    } while (0)

    SCAN("{\"id\": \"p1\", \"name\": \"plain \\\"quoted\\\"\"}");
    assert_string_equal(marks_text(&m), "");

    /* NUL in a value, in a nested value, in a name. */
    SCAN("{\"id\": \"p0\\u000005\", \"a\": {\"k\": [\"x\\u0000\"]}, "
         "\"n\\u0000m\": 1}");
    assert_string_equal(marks_text(&m), "1:2 2:2 3:1 ");

    /* An escaped backslash before u0000 is text, not a NUL. */
    SCAN("{\"id\": \"a\\\\u0000b\"}");
    assert_string_equal(marks_text(&m), "");

    /* A proper pair stays; lone halves become U+FFFD in place. */
    SCAN("{\"a\": \"\\ud83d\\ude00\", \"b\": \"x\\ud800y\", "
         "\"c\": \"\\udc00\", \"d\": \"\\ud800\\ud800\\udc00\"}");
    assert_string_equal(marks_text(&m), "2:4 3:4 4:4 ");
    assert_string_equal(line, "{\"a\": \"\\ud83d\\ude00\", \"b\": "
                        "\"x\\ufffdy\", \"c\": \"\\ufffd\", \"d\": "
                        "\"\\ufffd\\ud800\\udc00\"}");

    /* Broken text is walked safely. */
    SCAN("{\"a\": \"\\u00");
    SCAN("\\");
    SCAN("{\"a\\ud8");
    SCAN("[\"\\u0000\"]");
    assert_string_equal(marks_text(&m), "");
#undef SCAN
    ndjson_marks_free(&m);
}

static int
setup(void **state)
{
    const char *tmp = getenv("TMPDIR");

    (void)state;
    snprintf(g_tmp, sizeof(g_tmp), "%s/pf_ndjson_XXXXXX",
             tmp != NULL && tmp[0] ? tmp : "/tmp");
    return mkdtemp(g_tmp) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
    char p[PATH_MAX + 32];
    int i;

    (void)state;
    for (i = 1; i <= g_seq; i++) {
        snprintf(p, sizeof(p), "%s/f%d.ndjson", g_tmp, i);
        unlink(p);
    }
    snprintf(p, sizeof(p), "%s/fifo", g_tmp);
    unlink(p);
    rmdir(g_tmp);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_and_final_newline),
        cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_refuses_what_is_not_a_file),
        cmocka_unit_test(test_scan_escapes),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
