/* store_fixture.h - a fresh store in a private temp folder, for unit
 * tests of the store and what sits on it (cmocka setup/teardown shape).
 *
 * Ownership: store_fx_setup() allocates the fixture (with its open
 * store) into *state; store_fx_teardown() closes the store, removes the
 * folder and frees it. */
#ifndef PF_STORE_FIXTURE_H
#define PF_STORE_FIXTURE_H

#include "store.h"

struct fx {
    char dir[64];
    char path[128];     /* dir/store.db */
    struct store *s;
};

/* 0 ok, -1 when the folder or the store cannot be made. */
int store_fx_setup(void **state);
/* 0 ok, -1 when the folder cannot be removed. */
int store_fx_teardown(void **state);

#endif
