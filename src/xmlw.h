/* xmlw.h - streaming XML output for feeds: libxml2's xmlTextWriter on top
 * of a struct pf_out, with text made safe for XML 1.0 on the way.
 *
 * Nothing is kept in memory but the writer's stack of open elements and
 * one scratch buffer, so a feed of any size streams in constant memory.
 * Errors are sticky, like pf_out's: after the first failure every call
 * is a no-op and xmlw_finish() reports it.
 *
 * Ownership: struct xmlw borrows the pf_out (the caller keeps and frees
 * it) and owns the libxml2 writer, freed by xmlw_free().
 */
#ifndef PF_XMLW_H
#define PF_XMLW_H

#include <stddef.h>
#include <stdint.h>

#include "out.h"
#include "util.h"

struct xmlw {
    void *w;                /* xmlTextWriterPtr */
    struct pf_out *o;
    struct pf_buf clean;    /* the last text made safe */
    uint64_t repaired;      /* invalid UTF-8 sequences replaced */
    uint64_t dropped;       /* characters XML 1.0 forbids, dropped */
    int failed;
};

/* Starts the document: <?xml version="1.0" encoding="UTF-8"?>. Output is
 * indented by two spaces per level. */
int xmlw_init(struct xmlw *x, struct pf_out *o, struct pf_err *err);
/* qname is the element's name as written, with its prefix ("g:id"). */
void xmlw_start(struct xmlw *x, const char *qname);
/* Attribute value and text are any bytes: see xmlw_clean(). Namespace
 * declarations are written as attributes ("xmlns:g"). */
void xmlw_attr(struct xmlw *x, const char *qname, const char *s, size_t n);
void xmlw_text(struct xmlw *x, const char *s, size_t n);
/* Text as CDATA; a "]]>" inside is split over two sections, and a CR
 * (which CDATA cannot carry: parsers read it as LF) goes between two as
 * &#13;. */
void xmlw_cdata(struct xmlw *x, const char *s, size_t n);
void xmlw_end(struct xmlw *x);
/* Closes what is open, flushes into the pf_out and reports the first
 * error (the pf_out's own write errors surface at pf_out_flush()). */
int xmlw_finish(struct xmlw *x, struct pf_err *err);
void xmlw_free(struct xmlw *x);

/* Appends s to b as text XML 1.0 allows: invalid UTF-8 replaced by
 * U+FFFD (counted in *repaired), then C0 controls other than TAB, LF and
 * CR, and U+FFFE/U+FFFF dropped (counted in *dropped). */
void xmlw_clean(struct pf_buf *b, const char *s, size_t n,
                uint64_t *repaired, uint64_t *dropped);

#endif
