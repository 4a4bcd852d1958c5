/* replay.c - runs fuzz inputs through a harness without libFuzzer.
 *
 *   replay_NAME FILE|DIR...
 *
 * Linked with one tests/fuzz/fuzz_NAME.c by the normal compiler (plain or
 * ASan+UBSan), it calls LLVMFuzzerTestOneInput() once per file, files of
 * a folder in name order, so every corpus input, and above all every
 * regress-* input that once crashed, is checked by `make test` even where
 * clang is missing. A harness signals a violated property by aborting;
 * the sanitizers report the rest. Exit status 0 when every input ran.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional in a harness: weak, so a harness without it links too. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* A corpus file can be large (a template, a fixture): 16 MB at most. */
#define MAX_INPUT (16u * 1024 * 1024)

static int
run_file(const char *path)
{
    struct pf_err err;
    char *data = NULL;
    size_t len = 0;

    if (pf_read_file(path, MAX_INPUT, &data, &len, &err) < 0) {
        fprintf(stderr, "replay: %s\n", err.msg);
        return -1;
    }
    /* Named first, so a crash report follows the name of its input. */
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
    LLVMFuzzerTestOneInput((const uint8_t *)data, len);
    free(data);
    return 0;
}

static int
by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The regular files of dir, in name order; *n of them. Caller frees. */
static char **
list_dir(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t cap = 0;

    *n = 0;
    if (!d)
        return NULL;
    while ((de = readdir(d)) != NULL) {
        char *p = pf_path_join(dir, de->d_name);
        struct stat st;

        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(p);
            continue;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            names = xrealloc(names, cap * sizeof *names);
        }
        names[(*n)++] = p;
    }
    closedir(d);
    if (*n > 0)
        qsort(names, *n, sizeof *names, by_name);
    return names;
}

/* Runs one argument: a file, or every file of a folder. Returns the
 * number of inputs run, -1 when the argument cannot be read. */
static long
run_arg(const char *arg)
{
    struct stat st;
    char **names;
    size_t i, n;
    long ran = 0;

    if (stat(arg, &st) != 0) {
        fprintf(stderr, "replay: cannot open %s\n", arg);
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return run_file(arg) == 0 ? 1 : -1;
    names = list_dir(arg, &n);
    for (i = 0; i < n; i++) {
        if (ran >= 0 && run_file(names[i]) == 0)
            ran++;
        else
            ran = -1;
        free(names[i]);
    }
    free(names);
    return ran;
}

int
main(int argc, char **argv)
{
    long total = 0;
    int i;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    for (i = 1; i < argc; i++) {
        long r = run_arg(argv[i]);

        if (r < 0)
            return 1;
        total += r;
    }
    if (total == 0) {
        fprintf(stderr, "replay: no inputs in the given paths\n");
        return 1;
    }
    printf("replayed %ld inputs\n", total);
    return 0;
}
