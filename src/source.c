/* source.c - the registry of source types and the driver of a sync; see
 * source.h. */
#include "source.h"

#include <string.h>

#include "log.h"
#include "source_dutchie.h"
#include "source_file.h"
#include "source_lse.h"
#include "source_lsr.h"

const struct source_type *const source_types[] = {
    &source_file_type,
    &source_lsr_type,
    &source_lse_type,
    &source_dutchie_type,
    NULL
};

const struct source_type *
source_find(const char *name)
{
    for (size_t i = 0; name != NULL && source_types[i] != NULL; i++)
        if (strcmp(source_types[i]->name, name) == 0)
            return source_types[i];
    return NULL;
}

int
source_schema(size_t i, struct pf_source_schema *out)
{
    size_t n = 0;

    while (source_types[n] != NULL)
        n++;
    if (i >= n)
        return 0;
    out->name = source_types[i]->name;
    out->keys = source_types[i]->keys;
    out->finish = source_types[i]->finish;
    return 1;
}

int
source_sync(struct source_ctx *ctx, struct pf_err *err)
{
    const struct source_type *t = source_find(ctx->cfg->source.type);

    if (t == NULL) {
        pf_errf(err, "[source] type '%s' is not built in",
                ctx->cfg->source.type ? ctx->cfg->source.type : "");
        return -1;
    }
    /* The stages after sync (push) must know whether the POS lets its
     * merchants text customers; the store carries it to them. */
    if (store_set_bookmark(ctx->store, "source.no_sms",
                           t->no_sms ? "1" : "0", err) != 0)
        return -1;
    return source_run(t, ctx, err);
}

int
source_run(const struct source_type *t, struct source_ctx *ctx,
           struct pf_err *err)
{
    void *state = NULL;
    int rc = 0;

    if (t->open(ctx, &state, err) != 0)
        return -1;
    for (size_t i = 0; t->streams[i].name != NULL && rc == 0; i++) {
        log_debug("sync: %s: stream %s", t->name, t->streams[i].name);
        rc = t->streams[i].pull(state, ctx, err);
    }
    t->close(state, ctx);
    return rc;
}
