/* log.c - see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static enum pf_log_level level = PF_LOG_INFO;

void
pf_log_set_level(enum pf_log_level l)
{
    level = l;
}

enum pf_log_level
pf_log_get_level(void)
{
    return level;
}

void
pf_log(enum pf_log_level l, const char *fmt, ...)
{
    static const char *const tag[] = {"debug: ", "", "warning: ",
                                      "error: "};
    va_list ap;

    if (l < level)
        return;
    /* Feeds build in worker threads (feed_multi.c): one line is written
     * in three calls, so hold the stream for all three, or two threads'
     * warnings interleave within a line. */
    flockfile(stderr);
    fprintf(stderr, "posfeed: %s", tag[l]);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    funlockfile(stderr);
}
