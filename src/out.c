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

static void
out_drain(struct pf_out *o)
{
    size_t off = 0;

    while (off < o->len && o->err_no == 0) {
        ssize_t w = write(o->fd, o->buf + off, o->len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            o->err_no = errno;
            break;
        }
        off += (size_t)w;
    }
    o->len = 0;
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
        out_drain(o);
        if (n >= o->cap) {
            o->len = 0;
            /* Large writes bypass the buffer. */
            {
                const char *c = p;
                size_t off = 0;

                while (off < n && o->err_no == 0) {
                    ssize_t w = write(o->fd, c + off, n - off);

                    if (w < 0 && errno == EINTR)
                        continue;
                    if (w < 0) {
                        o->err_no = errno;
                        break;
                    }
                    off += (size_t)w;
                }
            }
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
    if (o->mem == NULL && o->len > 0)
        out_drain(o);
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
