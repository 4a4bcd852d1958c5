/* store_fixture.c - see store_fixture.h. */
#include "store_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int
store_fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct pf_err err = {{0}};

    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/pf-store-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof(f->path), "%s/store.db", f->dir);
    if (store_open(f->path, &f->s, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

int
store_fx_teardown(void **state)
{
    struct fx *f = *state;
    char cmd[160];
    int rc;

    store_close(f->s);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    rc = system(cmd) == 0 ? 0 : -1;
    free(f);
    return rc;
}
