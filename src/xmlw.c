/* xmlw.c - streaming XML writer; see xmlw.h.
 *
 * xmlTextWriter escapes markup characters but passes through whatever
 * bytes it is given, so every attribute value and text run goes through
 * xmlw_clean() first: a feed must parse whatever the shop typed into its
 * POS (pasted control characters, broken encodings).
 */
#include <string.h>

#include <libxml/xmlIO.h>
#include <libxml/xmlwriter.h>

#include "xmlw.h"

static int
out_write(void *ctx, const char *p, int n)
{
    struct pf_out *o = ctx;

    /* A failed write is sticky in the pf_out and the renderer checks it
     * after every row; telling libxml2 would only make it print. */
    if (n > 0)
        pf_out_write(o, p, (size_t)n);
    return n;
}

static int
out_close(void *ctx)
{
    (void)ctx;
    return 0;
}

/* Drops what XML 1.0 forbids from valid UTF-8 in b from offset start. */
static void
drop_forbidden(struct pf_buf *b, size_t start, uint64_t *dropped)
{
    unsigned char *p = (unsigned char *)b->data;
    size_t i = start, k = start;

    while (i < b->len) {
        unsigned char c = p[i];

        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
            (*dropped)++;
            i++;
            continue;
        }
        /* U+FFFE and U+FFFF: EF BF BE / EF BF BF. In valid UTF-8 0xEF is
         * always a lead byte, so this cannot match mid-sequence. */
        if (c == 0xEF && i + 2 < b->len && p[i + 1] == 0xBF &&
            (p[i + 2] == 0xBE || p[i + 2] == 0xBF)) {
            (*dropped)++;
            i += 3;
            continue;
        }
        p[k++] = c;
        i++;
    }
    b->len = k;
    b->data[k] = '\0';
}

void
xmlw_clean(struct pf_buf *b, const char *s, size_t n,
           uint64_t *repaired, uint64_t *dropped)
{
    size_t start = b->len;

    if (pf_utf8_valid(s, n))
        pf_buf_add(b, s, n);
    else
        *repaired += pf_utf8_repair(b, s, n);
    if (b->data == NULL)
        pf_buf_add(b, "", 0);
    drop_forbidden(b, start, dropped);
}

static const char *
clean(struct xmlw *x, const char *s, size_t n)
{
    if (s == NULL)
        s = "";
    pf_buf_reset(&x->clean);
    xmlw_clean(&x->clean, s, n, &x->repaired, &x->dropped);
    return x->clean.data ? x->clean.data : "";
}

static void
check(struct xmlw *x, int rc)
{
    if (rc < 0)
        x->failed = 1;
}

int
xmlw_init(struct xmlw *x, struct pf_out *o, struct pf_err *err)
{
    xmlOutputBufferPtr ob;
    xmlTextWriterPtr w;

    memset(x, 0, sizeof *x);
    x->o = o;
    pf_buf_init(&x->clean);
    ob = xmlOutputBufferCreateIO(out_write, out_close, o, NULL);
    if (ob == NULL) {
        pf_errf(err, "cannot create an XML output buffer");
        return -1;
    }
    /* The writer owns ob from here, even when it fails. */
    w = xmlNewTextWriter(ob);
    if (w == NULL) {
        pf_errf(err, "cannot create an XML writer");
        return -1;
    }
    x->w = w;
    check(x, xmlTextWriterSetIndent(w, 1));
    check(x, xmlTextWriterSetIndentString(w, BAD_CAST "  "));
    check(x, xmlTextWriterStartDocument(w, "1.0", "UTF-8", NULL));
    if (x->failed) {
        pf_errf(err, "cannot start the XML document");
        return -1;
    }
    return 0;
}

void
xmlw_start(struct xmlw *x, const char *qname)
{
    if (!x->failed)
        check(x, xmlTextWriterStartElement(x->w, BAD_CAST qname));
}

void
xmlw_attr(struct xmlw *x, const char *qname, const char *s, size_t n)
{
    if (!x->failed)
        check(x, xmlTextWriterWriteAttribute(x->w, BAD_CAST qname,
                                             BAD_CAST clean(x, s, n)));
}

void
xmlw_text(struct xmlw *x, const char *s, size_t n)
{
    if (!x->failed && n > 0)
        check(x, xmlTextWriterWriteString(x->w, BAD_CAST clean(x, s, n)));
}

/* How much of p one CDATA section can hold: up to a CR, which a parser
 * would read as LF (it goes out as &#13; between sections), or up to
 * and including the "]]" of a "]]>". */
static size_t
cdata_run(const char *p)
{
    size_t i;

    for (i = 0; p[i] != '\0' && p[i] != '\r'; i++)
        if (p[i] == ']' && p[i + 1] == ']' && p[i + 2] == '>')
            return i + 2;
    return i;
}

void
xmlw_cdata(struct xmlw *x, const char *s, size_t n)
{
    const char *p;

    if (x->failed || n == 0)
        return;
    p = clean(x, s, n);
    /* "a]]>b" goes out as <![CDATA[a]]]]><![CDATA[>b]]>: the section
     * ends after "]]" and the '>' opens the next one. */
    while (*p && !x->failed) {
        size_t k = cdata_run(p);

        if (k > 0)
            check(x, xmlTextWriterWriteFormatCDATA(x->w, "%.*s", (int)k,
                                                   p));
        p += k;
        if (*p == '\r' && !x->failed) {
            check(x, xmlTextWriterWriteString(x->w, BAD_CAST "\r"));
            p++;
        }
    }
}

void
xmlw_end(struct xmlw *x)
{
    if (!x->failed)
        check(x, xmlTextWriterEndElement(x->w));
}

int
xmlw_finish(struct xmlw *x, struct pf_err *err)
{
    if (!x->failed)
        check(x, xmlTextWriterEndDocument(x->w));
    if (!x->failed)
        check(x, xmlTextWriterFlush(x->w));
    if (x->failed) {
        pf_errf(err, "writing XML failed%s%s", x->o->err_no ? ": " : "",
                x->o->err_no ? strerror(x->o->err_no) : "");
        return -1;
    }
    return 0;
}

void
xmlw_free(struct xmlw *x)
{
    if (x->w)
        xmlFreeTextWriter(x->w);
    x->w = NULL;
    pf_buf_free(&x->clean);
}
