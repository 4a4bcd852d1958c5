/* out.h - buffered output to a file descriptor, counting bytes.
 *
 * The feed builder streams every rendered byte through one struct pf_out,
 * so memory stays at the buffer size whatever the feed size. Errors are
 * sticky: after the first failed write every call is a no-op and
 * pf_out_flush() reports it (ENOSPC often shows only at flush/close).
 *
 * Ownership: the caller owns the fd; pf_out_free() frees the buffer only.
 */
#ifndef PF_OUT_H
#define PF_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct pf_out {
    int fd;
    char *buf;
    size_t len, cap;
    uint64_t bytes;     /* bytes accepted so far (written + buffered) */
    int err_no;         /* first errno seen, 0 if none */
    /* When set, bytes go here instead of fd (tests, small documents). */
    struct pf_buf *mem;
    /* When set, called with every run of bytes once it reached fd, in
     * order: publishing checks and compresses the feed as it is written.
     * Not called for bytes that failed to write. */
    void (*sink)(void *ctx, const void *p, size_t n);
    void *sink_ctx;
};

void pf_out_init_fd(struct pf_out *o, int fd);
void pf_out_init_mem(struct pf_out *o, struct pf_buf *mem);
void pf_out_write(struct pf_out *o, const void *p, size_t n);
void pf_out_puts(struct pf_out *o, const char *s);
void pf_out_putc(struct pf_out *o, char c);
int pf_out_flush(struct pf_out *o, struct pf_err *err);
void pf_out_free(struct pf_out *o);

#endif
