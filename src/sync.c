/* sync.c - see sync.h. */
#include "sync.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

void
sync_report_init(struct sync_report *r, struct store *s, int64_t run_id)
{
    memset(r, 0, sizeof(*r));
    r->store = s;
    r->run_id = run_id;
}

static struct sync_stream_count *
stream_slot(struct sync_report *r, const char *stream)
{
    int i;

    for (i = 0; i < r->nstreams; i++)
        if (strcmp(r->streams[i].name, stream) == 0)
            return &r->streams[i];
    if (r->nstreams == SYNC_MAX_STREAMS)
        return &r->streams[SYNC_MAX_STREAMS - 1];
    snprintf(r->streams[r->nstreams].name,
             sizeof(r->streams[0].name), "%s", stream);
    return &r->streams[r->nstreams++];
}

void
sync_rows(struct sync_report *r, const char *stream, int64_t rows,
          int64_t removed)
{
    struct sync_stream_count *c = stream_slot(r, stream);

    c->rows += rows;
    c->removed += removed;
}

/* Counts a warning against stream and records it in the run; logging it
 * is the caller's choice (row warnings are capped, a hold never is). */
static void
count_warning(struct sync_report *r, const char *stream, const char *msg)
{
    stream_slot(r, stream)->warnings++;
    r->warnings++;
    if (r->store != NULL && r->run_id > 0)
        store_run_warning(r->store, r->run_id, msg);
}

void
sync_warn(struct sync_report *r, const char *stream, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* Thousands of identical problems would drown the terminal; the run
     * record keeps the first few hundred and the count. */
    if (r->warnings < 50)
        log_warn("%s", msg);
    else if (r->warnings == 50)
        log_warn("more warnings follow; see `posfeed status`");
    count_warning(r, stream, msg);
}

void
sync_hold(struct sync_report *r, const char *stream, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (r->held++ == 0)
        snprintf(r->held_msg, sizeof(r->held_msg), "%s", msg);
    /* Never drowned by the row warnings' cap: this one decides the run. */
    log_warn("%s", msg);
    count_warning(r, stream, msg);
}

int
sync_report_save(struct sync_report *r, struct pf_err *err)
{
    int i;

    if (r->store == NULL || r->run_id <= 0)
        return 0;
    for (i = 0; i < r->nstreams; i++)
        if (store_run_count(r->store, r->run_id, r->streams[i].name,
                            r->streams[i].rows, r->streams[i].warnings,
                            err) != 0)
            return -1;
    return 0;
}
