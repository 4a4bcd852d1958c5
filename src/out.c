/* out.c - see out.h. */
#include "out.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OUT_BUF (256 * 1024)

void
pf_out_init_fd(struct pf_out *o, int fd)
{
    memset(o, 0, sizeof(*o));
    o->fd = fd;
    o->cap = OUT_BUF;
    o->buf = xmalloc(o->cap);
}

void
pf_out_init_mem(struct pf_out *o, struct pf_buf *mem)
{
    memset(o, 0, sizeof(*o));
    o->fd = -1;
    o->mem = mem;
}

/* Writes p to the fd and hands what was written to the sink. */
static void
out_emit(struct pf_out *o, const char *p, size_t n)
{
    size_t off = 0;

    while (off < n && o->err_no == 0) {
        ssize_t w = write(o->fd, p + off, n - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            o->err_no = errno;
            break;
        }
        off += (size_t)w;
    }
    if (o->err_no == 0 && o->sink != NULL && n > 0)
        o->sink(o->sink_ctx, p, n);
}

void
pf_out_write(struct pf_out *o, const void *p, size_t n)
{
    if (o->err_no != 0)
        return;
    o->bytes += n;
    if (o->mem != NULL) {
        pf_buf_add(o->mem, p, n);
        return;
    }
    if (o->len + n > o->cap) {
        out_emit(o, o->buf, o->len);
        o->len = 0;
        if (n >= o->cap) {
            /* Large writes bypass the buffer. */
            out_emit(o, p, n);
            return;
        }
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

void
pf_out_puts(struct pf_out *o, const char *s)
{
    pf_out_write(o, s, strlen(s));
}

void
pf_out_putc(struct pf_out *o, char c)
{
    if (o->mem == NULL && o->len < o->cap && o->err_no == 0) {
        o->buf[o->len++] = c;
        o->bytes++;
        return;
    }
    pf_out_write(o, &c, 1);
}

int
pf_out_flush(struct pf_out *o, struct pf_err *err)
{
    if (o->mem == NULL && o->len > 0) {
        out_emit(o, o->buf, o->len);
        o->len = 0;
    }
    if (o->err_no != 0) {
        pf_errf(err, "write failed: %s", strerror(o->err_no));
        return -1;
    }
    return 0;
}

void
pf_out_free(struct pf_out *o)
{
    free(o->buf);
    o->buf = NULL;
    o->len = o->cap = 0;
}
