/* fuzz_answer.c - the Clerk V2 answer file reader (feed_answer.h).
 *
 * The input is written as an answer file into a private temp folder and
 * opened with the generation its own header names (when it has one), so
 * the checks past the header run too. Properties:
 * - a file of another generation is never opened;
 * - an opened file yields, for any page, either an error or a byte range
 *   inside the file that holds whole objects: it starts with '{' and
 *   ends with '\n' (nothing else may be sent as an answer), and as many
 *   objects as asked for, clamped to the count.
 * Nothing is written outside the temp folder, which goes at exit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "feed_answer.h"
#include "util.h"

static char dir[64];
static char path[128];

static void
remove_dir(void)
{
    unlink(path);
    rmdir(dir);
}

static void
check(int ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The generation the header at data names (the layout of feed_answer.c:
 * magic[8], store_gen, cutoff, def[64]); another one when flip. */
static void
want_of(const uint8_t *data, size_t size, int flip,
        struct feed_answer_gen *g)
{
    memset(g, 0, sizeof(*g));
    if (size >= 8 + 16 + FEED_ANSWER_HASH) {
        memcpy(&g->store_gen, data + 8, 8);
        memcpy(&g->cutoff, data + 16, 8);
        memcpy(g->def, data + 24, FEED_ANSWER_HASH);
    }
    g->def[FEED_ANSWER_HASH] = '\0';
    if (flip)
        g->store_gen ^= 1;
}

/* Every page of a few sizes: an error, or whole objects in the file. */
static void
check_pages(struct feed_answer *a, const uint8_t *data, size_t size)
{
    static const int64_t limits[] = {0, 1, 2, 3, 7, 100};
    int64_t n = feed_answer_count(a), first, nobj;
    uint64_t off, len;
    size_t i;

    check(n >= 0);
    for (i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        for (first = 0; first <= n && first < 64; first++) {
            struct pf_err err = {{0}};

            if (feed_answer_range(a, first, limits[i], &off, &len, &nobj,
                                  &err) != 0) {
                check(err.msg[0] != '\0');
                continue;
            }
            check(off <= size && len <= size - off);
            check(nobj == (limits[i] > 0 && limits[i] < n - first
                           ? limits[i] : n - first));
            check((nobj == 0) == (len == 0));
            if (len > 0)
                check(data[off] == '{' && data[off + len - 1] == '\n');
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct feed_answer_gen want;
    struct feed_answer *a = NULL;
    struct pf_err err = {{0}};
    FILE *f;
    int rc;

    if (dir[0] == '\0') {
        snprintf(dir, sizeof dir, "/tmp/posfeed-fuzz-answer-XXXXXX");
        check(mkdtemp(dir) != NULL);
        snprintf(path, sizeof path, "%s/products.answer", dir);
        atexit(remove_dir);
    }
    f = fopen(path, "wb");
    check(f != NULL);
    check(fwrite(data, 1, size, f) == size || size == 0);
    check(fclose(f) == 0);
    want_of(data, size, 1, &want);
    rc = feed_answer_open(path, &want, &a, &err);
    check(rc != 1 && a == NULL);
    want_of(data, size, 0, &want);
    rc = feed_answer_open(path, &want, &a, &err);
    check(rc >= -1 && rc <= 1);
    check((rc == 1) == (a != NULL));
    if (rc < 0)
        check(err.msg[0] != '\0');
    if (a != NULL)
        check_pages(a, data, size);
    feed_answer_close(a);
    return 0;
}
