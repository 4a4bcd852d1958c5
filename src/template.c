/* template.c - JSON and XML feed templates; see template.h.
 *
 * tpl_load() parses the template (cJSON for JSON, libxml2 for XML) and
 * compiles it into a small tree of nodes: literals (pre-rendered JSON
 * text), placeholders, mixed text, objects, arrays, XML elements and
 * @each / pf:each loops. Variable names are resolved to scope slots at
 * load time, filters are parsed (PCRE2 patterns compiled) once, and every
 * mistake is reported as "PATH:LINE: message".
 *
 * tpl_render() walks the tree once per document and once per row of each
 * collection, writing straight to the output (XML through xmlTextWriter,
 * never a DOM); a row's values and filter results live in one arena that
 * is reset after the row, so memory stays flat however large the catalog.
 * A row with required fields ("@require", pf:required) must not reach the
 * output half-written when one comes out empty: a JSON row is rendered
 * into a row buffer first, an XML row's required elements are evaluated
 * before it is opened.
 *
 * Placeholders, filters, scopes and rows are shared by both formats; only
 * the container nodes and the writer differ.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "filter.h"
#include "jsonw.h"
#include "log.h"
#include "template.h"
#include "xmlw.h"

#define TPL_MAX_BYTES (4 * 1024 * 1024)
#define MAX_DEPTH 16        /* nested @each scopes */
#define MAX_FILTERS 32      /* filters in one placeholder */

enum node_kind { N_LIT, N_EXPR, N_TEXT, N_OBJ, N_ARR, N_EACH, N_XEL };

/* The namespace of XML template attributes (pf:each, pf:if, ...). */
#define PF_NS "urn:posfeed:template"

/* One placeholder: a variable path and its filters. */
struct expr {
    int slot;                   /* scope slot of segs[0], -1: a global */
    const char **segs;
    /* Where each segment was last found in its object: a lookup cache
     * written while rendering (see pf_obj_get_hint), hence not const. */
    size_t *hints;
    size_t nsegs;
    struct filter **filters;
    size_t nfilters;
    int line;
};

/* A run of text or a placeholder inside a mixed string. */
struct part {
    const char *text;
    size_t len;
    struct expr *e;             /* NULL for text */
};

struct field {
    const char *key;
    const char *kjson;          /* "key": pre-rendered */
    size_t kjson_len;
    struct node *val;           /* NULL for an @spread */
    struct expr *spread;
    int req;                    /* reason index + 1 when in "@require" */
    const char *always;         /* "[]", "{}" or "\"\"" from "@always" */
};

/* An XML attribute: its value is text (N_TEXT, literal when it holds no
 * placeholder) or one placeholder (N_EXPR). */
struct xattr {
    const char *qname;
    struct node *val;
    int literal;                /* always written, even when "" */
};

/* An XML element. When its whole content is one placeholder, single
 * holds it: the element is left out when it renders empty and repeated
 * per item when it renders a list. */
struct xel {
    const char *qname;          /* with its prefix: "g:id" */
    struct xattr *attrs;        /* namespace declarations first */
    size_t nattrs;
    struct node **kids;         /* N_XEL, N_EACH, N_TEXT, N_EXPR */
    size_t nkids;
    struct expr *cond;          /* pf:if, may be NULL */
    struct expr *single;
    int cdata;                  /* pf:cdata="yes": text as CDATA */
    int req;                    /* pf:required: reason index + 1 */
    int always;                 /* pf:always: written empty, never left
                                 * out */
    size_t nreq;                /* a row element: its required kids */
};

struct node {
    enum node_kind kind;
    int line;
    union {
        struct {
            const char *json;
            size_t len;
        } lit;
        struct expr *expr;
        struct {
            struct part *parts;
            size_t n;
        } text;
        struct {
            struct field *fields;
            size_t n;
            struct expr *cond;  /* @if, may be NULL */
            size_t nreq;        /* a row: fields "@require" names */
        } obj;
        struct {
            struct node **items;
            size_t n;
        } arr;
        struct {
            const char *collection; /* top-level; NULL for a list */
            struct expr *list;
            int slot;
            struct node *body;      /* an N_OBJ or N_XEL */
        } each;
        struct xel *xel;
    } u;
};

/* A reason rows are left out: a required field of a collection's rows;
 * text is "missing FIELD" (see tpl_reason). */
struct reason {
    const char *coll, *field, *text;
    const char *ns;             /* XML: the element's namespace, or NULL */
};

struct tpl {
    char *path;
    enum tpl_format format;
    int personal;
    struct node *root;
    struct pf_arena mem;        /* the whole compiled tree */
    struct filter **filters;    /* owned, freed with the template */
    size_t nfilters, capfilters;
    const char **colls;         /* top-level collections (names in mem) */
    size_t ncolls;
    struct reason *reasons;     /* strings in mem */
    size_t nreasons;
};

/* ------------------------------------------------------------------ */
/* Line numbers. cJSON keeps no positions, so a tokenizer walks the raw
 * text and records where every value and key starts; a second walk over
 * the parsed tree, in the same document order, tags each item with its
 * token index. */

struct tok {
    int line;
    size_t off, len;
};

struct cscope {
    const char *names[4];       /* variables this scope binds */
    size_t n;
};

struct cc {
    struct tpl *t;
    const char *text;
    size_t len;
    struct tok *toks;
    size_t ntoks;
    struct cscope scopes[MAX_DEPTH];
    int depth;
    /* XML: the element whose children are being compiled, and the
     * collection it repeats when it is a row (where pf:required may
     * go), else NULL. */
    struct xel *xparent;
    const char *xparent_coll;
    struct pf_buf scratch;
    struct pf_err *err;
};

static void
tokenize(struct cc *c)
{
    const char *s = c->text;
    size_t n = c->len, i = 0, cap = 64;
    int line = 1;

    c->toks = xmalloc(cap * sizeof *c->toks);
    c->ntoks = 0;
    if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < n) {
        char ch = s[i];
        size_t start = i;
        int start_line = line;

        if (ch == '\n') {
            line++;
            i++;
            continue;
        }
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == ',' ||
            ch == ':' || ch == ']' || ch == '}') {
            i++;
            continue;
        }
        if (ch == '{' || ch == '[') {
            i++;
        }
        else if (ch == '"') {
            for (i++; i < n && s[i] != '"'; i++) {
                if (s[i] == '\\' && i + 1 < n)
                    i++;
                else if (s[i] == '\n')
                    line++;
            }
            i++;
        }
        else {
            while (i < n && s[i] != ' ' && s[i] != '\t' && s[i] != '\r' &&
                   s[i] != '\n' && s[i] != ',' && s[i] != ']' &&
                   s[i] != '}' && s[i] != ':')
                i++;
        }
        if (c->ntoks == cap) {
            cap *= 2;
            c->toks = xrealloc(c->toks, cap * sizeof *c->toks);
        }
        c->toks[c->ntoks].line = start_line;
        c->toks[c->ntoks].off = start;
        c->toks[c->ntoks].len = (i > n ? n : i) - start;
        c->ntoks++;
    }
}

/* Stores each item's token index in its valueint, which this module
 * never reads as a number (number literals are copied from the raw
 * text). A key's token is always the one just before its value's. */
static void
number_items(cJSON *item, size_t *pos)
{
    cJSON *ch;

    item->valueint = (int)(*pos)++;
    if (cJSON_IsObject(item)) {
        for (ch = item->child; ch; ch = ch->next) {
            (*pos)++;
            number_items(ch, pos);
        }
    }
    else if (cJSON_IsArray(item)) {
        for (ch = item->child; ch; ch = ch->next)
            number_items(ch, pos);
    }
}

static int
item_line(const struct cc *c, const cJSON *item)
{
    size_t k = (size_t)item->valueint;

    return k < c->ntoks ? c->toks[k].line : 0;
}

static int
key_line(const struct cc *c, const cJSON *item)
{
    size_t k = (size_t)item->valueint;

    return k >= 1 && k - 1 < c->ntoks ? c->toks[k - 1].line : 0;
}

/* ------------------------------------------------------------------ */
/* Compile helpers */

static void cerr(struct cc *c, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
cerr(struct cc *c, int line, const char *fmt, ...)
{
    char msg[PF_ERR_LEN];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pf_errf(c->err, "%s:%d: %s", c->t->path, line, msg);
}

static void *
cc_alloc(struct cc *c, size_t n)
{
    void *p = pf_arena_alloc(&c->t->mem, n ? n : 1);

    memset(p, 0, n ? n : 1);
    return p;
}

static const char *
cc_strndup(struct cc *c, const char *s, size_t n)
{
    return pf_arena_strndup(&c->t->mem, s, n);
}

/* The JSON form of a string (quotes, escapes), plus an optional suffix,
 * copied into the template's memory. */
static const char *
json_text(struct cc *c, const char *s, size_t n,
          const char *suffix, size_t *len)
{
    struct pf_out o;
    struct jsonw w;

    pf_buf_reset(&c->scratch);
    pf_out_init_mem(&o, &c->scratch);
    jsonw_init(&w, &o);
    jsonw_str(&w, s, n);
    pf_out_puts(&o, suffix);
    (void)pf_out_flush(&o, NULL);
    jsonw_free(&w);
    pf_out_free(&o);
    *len = c->scratch.len;
    return cc_strndup(c, c->scratch.data ? c->scratch.data : "",
                      c->scratch.len);
}

static void
keep_filter(struct tpl *t, struct filter *f)
{
    if (t->nfilters == t->capfilters) {
        t->capfilters = t->capfilters ? t->capfilters * 2 : 16;
        t->filters = xrealloc(t->filters,
                              t->capfilters * sizeof *t->filters);
    }
    t->filters[t->nfilters++] = f;
}

static const char *const globals[] = {"shop", "now", "feed"};

static int
is_personal_field(const char *name)
{
    static const char *const fields[] = {
        "email", "first_name", "last_name", "phone", "address1"
    };
    size_t i;

    for (i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (strcmp(name, fields[i]) == 0)
            return 1;
    return 0;
}

/* Closest in-scope variable to name, for did-you-mean. */
static const char *
suggest_var(const struct cc *c, const char *name)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1, limit = strlen(name) < 5 ? 1 : 2, i, d;
    int s;

    for (s = c->depth - 1; s >= 0; s--) {
        for (i = 0; i < c->scopes[s].n; i++) {
            d = pf_edit_distance(name, c->scopes[s].names[i]);
            if (d < best_d) {
                best_d = d;
                best = c->scopes[s].names[i];
            }
        }
    }
    for (i = 0; i < sizeof globals / sizeof globals[0]; i++) {
        d = pf_edit_distance(name, globals[i]);
        if (d < best_d) {
            best_d = d;
            best = globals[i];
        }
    }
    return best_d <= limit ? best : NULL;
}

/* Innermost scope binding name, -1 for a global, -2 when unbound. */
static int
resolve_var(const struct cc *c, const char *name)
{
    size_t i;
    int s;

    for (s = c->depth - 1; s >= 0; s--)
        for (i = 0; i < c->scopes[s].n; i++)
            if (strcmp(c->scopes[s].names[i], name) == 0)
                return s;
    for (i = 0; i < sizeof globals / sizeof globals[0]; i++)
        if (strcmp(globals[i], name) == 0)
            return -1;
    return -2;
}

static int
is_path_char(char ch)
{
    return ch != '.' && ch != '|' && ch != ' ' && ch != '\t' &&
           ch != '\n' && ch != '\r' && ch != '{' && ch != '}' &&
           ch != '"' && ch != '\'';
}

/* Compiles "path | filter | filter:arg" (no braces). */
static struct expr *
compile_expr(struct cc *c, const char *s, size_t n,
             int line)
{
    struct filter *fl[MAX_FILTERS];
    const char *segs[64];
    struct expr *e;
    const char *last;
    size_t i = 0, nsegs = 0, nf = 0, k;

    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    for (;;) {
        size_t start = i;

        while (i < n && is_path_char(s[i]))
            i++;
        if (i == start || nsegs == 64) {
            cerr(c, line, "bad placeholder '{{%.*s}}': expected a path "
                 "such as product.name", (int)n, s);
            return NULL;
        }
        segs[nsegs++] = cc_strndup(c, s + start, i - start);
        if (i < n && s[i] == '.') {
            i++;
            continue;
        }
        break;
    }
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    while (i < n && s[i] == '|') {
        struct pf_err fe;
        size_t used = 0;
        struct filter *f;

        i++;
        if (nf == MAX_FILTERS) {
            cerr(c, line, "too many filters in '{{%.*s}}'", (int)n, s);
            return NULL;
        }
        fe.msg[0] = '\0';
        f = filter_parse(s + i, n - i, &used, &fe);
        if (!f) {
            cerr(c, line, "%s", fe.msg);
            return NULL;
        }
        keep_filter(c->t, f);
        fl[nf++] = f;
        i += used;
    }
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i < n) {
        cerr(c, line, "bad placeholder '{{%.*s}}': unexpected '%c' "
             "(filters follow a '|')", (int)n, s, s[i]);
        return NULL;
    }

    e = cc_alloc(c, sizeof *e);
    e->line = line;
    e->slot = resolve_var(c, segs[0]);
    if (e->slot == -2) {
        const char *hint = suggest_var(c, segs[0]);

        if (hint)
            cerr(c, line, "unknown variable '%s' in '{{%.*s}}' (did you "
                 "mean '%s'?)", segs[0], (int)n, s, hint);
        else
            cerr(c, line, "unknown variable '%s' in '{{%.*s}}'", segs[0],
                 (int)n, s);
        return NULL;
    }
    e->nsegs = nsegs;
    e->segs = cc_alloc(c, nsegs * sizeof *e->segs);
    e->hints = cc_alloc(c, nsegs * sizeof *e->hints);
    memset(e->hints, 0, nsegs * sizeof *e->hints);
    memcpy(e->segs, segs, nsegs * sizeof *segs);
    e->nfilters = nf;
    e->filters = cc_alloc(c, nf * sizeof *e->filters);
    if (nf > 0)
        memcpy(e->filters, fl, nf * sizeof *fl);

    /* Personal data: a personal field by name, a whole customer, or a
     * map over a personal field. */
    last = segs[nsegs - 1];
    if (is_personal_field(last) || strcmp(last, "customer") == 0 ||
        (nsegs == 2 && strcmp(segs[0], "customer") == 0 &&
         strcmp(segs[1], "name") == 0))
        c->t->personal = 1;
    for (k = 0; k < nf; k++) {
        const char *mf = filter_map_field(fl[k]);
        const char *dot = mf ? strrchr(mf, '.') : NULL;

        if (mf && is_personal_field(dot ? dot + 1 : mf))
            c->t->personal = 1;
    }
    return e;
}

/* End of the placeholder opened at s[i] ("{{"): the offset of its "}}",
 * skipping quoted filter arguments; 0 when it never closes. */
static size_t
placeholder_end(const char *s, size_t n, size_t i)
{
    char quote = 0;

    for (i += 2; i + 1 < n; i++) {
        if (quote) {
            if (s[i] == '\\')
                i++;
            else if (s[i] == quote)
                quote = 0;
        }
        else if (s[i] == '"' || s[i] == '\'') {
            quote = s[i];
        }
        else if (s[i] == '}' && s[i + 1] == '}') {
            return i;
        }
    }
    return 0;
}

static struct node *
new_node(struct cc *c, enum node_kind kind, int line)
{
    struct node *nd = cc_alloc(c, sizeof *nd);

    nd->kind = kind;
    nd->line = line;
    return nd;
}

static int count_lines(const char *s, size_t from, size_t to);

/* Splits text into literal runs and placeholders: N_EXPR when it is
 * exactly one placeholder (keeping the value's type), else N_TEXT. With
 * newlines set, a placeholder's line counts the newlines before it (XML
 * text spans lines; a JSON string's escaped "\n" does not). */
static struct node *
split_text(struct cc *c, const char *s, int line, int newlines)
{
    size_t n = strlen(s), i = 0, np = 0, maxp = 1;
    struct part *parts;
    struct node *nd;
    const char *p;

    for (p = strstr(s, "{{"); p; p = strstr(p + 2, "{{"))
        maxp += 2;
    parts = cc_alloc(c, maxp * sizeof *parts);
    while (i < n) {
        const char *open = strstr(s + i, "{{");
        size_t at, end;

        if (!open) {
            parts[np].text = cc_strndup(c, s + i, n - i);
            parts[np++].len = n - i;
            break;
        }
        at = (size_t)(open - s);
        if (at > i) {
            parts[np].text = cc_strndup(c, s + i, at - i);
            parts[np++].len = at - i;
        }
        if (newlines)
            line += count_lines(s, i, at);
        end = placeholder_end(s, n, at);
        if (end == 0) {
            cerr(c, line, "unterminated placeholder '%.40s' (missing '}}')",
                 s + at);
            return NULL;
        }
        parts[np].e = compile_expr(c, s + at + 2, end - at - 2, line);
        if (!parts[np++].e)
            return NULL;
        if (newlines)
            line += count_lines(s, at, end);
        i = end + 2;
    }
    if (np == 1 && parts[0].e) {
        nd = new_node(c, N_EXPR, line);
        nd->u.expr = parts[0].e;
        return nd;
    }
    nd = new_node(c, N_TEXT, line);
    nd->u.text.parts = parts;
    nd->u.text.n = np;
    return nd;
}

/* A JSON template string: a literal, one typed placeholder, or mixed
 * text. */
static struct node *
compile_string(struct cc *c, const char *s, int line)
{
    struct node *nd;

    if (strstr(s, "{{") == NULL) {
        nd = new_node(c, N_LIT, line);
        nd->u.lit.json = json_text(c, s, strlen(s), "", &nd->u.lit.len);
        return nd;
    }
    return split_text(c, s, line, 0);
}

/* A directive value: "{{expr}}" or a bare path with optional filters. */
static struct expr *
compile_directive_str(struct cc *c, const char *s, int line,
                      const char *key)
{
    size_t n, end;

    if (!s || !*s) {
        cerr(c, line, "\"%s\" needs a string such as \"{{product.id}}\"",
             key);
        return NULL;
    }
    n = strlen(s);
    if (strncmp(s, "{{", 2) == 0) {
        end = placeholder_end(s, n, 0);
        if (end == 0 || end + 2 != n) {
            cerr(c, line, "\"%s\" takes exactly one placeholder, got "
                 "\"%s\"", key, s);
            return NULL;
        }
        return compile_expr(c, s + 2, end - 2, line);
    }
    return compile_expr(c, s, n, line);
}

static struct expr *
compile_directive(struct cc *c, const cJSON *v,
                  const char *key)
{
    return compile_directive_str(c, cJSON_GetStringValue(v),
                                 item_line(c, v), key);
}

/* "variants" -> "variant", "categories" -> "category"; NULL if the word
 * does not look plural. */
static const char *
singular(struct cc *c, const char *w)
{
    size_t n = strlen(w);
    char *r;

    if (n > 3 && strcmp(w + n - 3, "ies") == 0) {
        r = pf_arena_alloc(&c->t->mem, n);
        memcpy(r, w, n - 3);
        memcpy(r + n - 3, "y", 2);
        return r;
    }
    if ((n > 4 && (strcmp(w + n - 4, "sses") == 0 ||
                   strcmp(w + n - 4, "ches") == 0 ||
                   strcmp(w + n - 4, "shes") == 0)) ||
        (n > 3 && strcmp(w + n - 3, "xes") == 0))
        return cc_strndup(c, w, n - 2);
    if (n > 1 && w[n - 1] == 's' && w[n - 2] != 's')
        return cc_strndup(c, w, n - 1);
    return NULL;
}

/* The variables a row of each top-level collection binds, as feed.c
 * builds the rows (keep the two in step). Other collections bind the
 * singular of their name. */
static const struct {
    const char *collection;
    const char *names[3];
} collection_vars[] = {
    {"products", {"product", NULL, NULL}},
    {"variants", {"variant", "product", NULL}},
    {"categories", {"category", NULL, NULL}},
    {"orders", {"order", NULL, NULL}},
    {"customers", {"customer", NULL, NULL}},
    {"events", {"event", NULL, NULL}},
    {"pages", {"page", NULL, NULL}},
};

const char *const *
tpl_collection_vars(const char *collection)
{
    size_t i;

    for (i = 0; i < sizeof collection_vars / sizeof collection_vars[0];
         i++)
        if (strcmp(collection_vars[i].collection, collection) == 0)
            return collection_vars[i].names;
    return NULL;
}

/* Records a top-level collection once, in first-use order. */
static void
note_collection(struct tpl *t, const char *name)
{
    size_t i;

    for (i = 0; i < t->ncolls; i++)
        if (strcmp(t->colls[i], name) == 0)
            return;
    t->colls = xrealloc(t->colls, (t->ncolls + 1) * sizeof *t->colls);
    t->colls[t->ncolls++] = name;
}

/* The reason "missing field" for rows of coll, added when new; returns
 * its index + 1 (0 means "not required" in fields and elements). */
static int
add_reason(struct cc *c, const char *coll, const char *field)
{
    struct tpl *t = c->t;
    struct reason *rs;
    size_t i;

    for (i = 0; i < t->nreasons; i++)
        if (strcmp(t->reasons[i].coll, coll) == 0 &&
            strcmp(t->reasons[i].field, field) == 0)
            return (int)i + 1;
    t->reasons = xrealloc(t->reasons,
                          (t->nreasons + 1) * sizeof *t->reasons);
    rs = &t->reasons[t->nreasons++];
    rs->coll = coll;
    rs->field = cc_strndup(c, field, strlen(field));
    rs->text = NULL;
    rs->ns = NULL;
    return (int)t->nreasons;
}

/* Names each reason once the whole template is known: the collection
 * only when rows of several collections have requirements. */
static void
name_reasons(struct cc *c)
{
    struct tpl *t = c->t;
    size_t i;
    int several = 0;

    for (i = 1; i < t->nreasons; i++)
        several |= strcmp(t->reasons[i].coll, t->reasons[0].coll) != 0;
    for (i = 0; i < t->nreasons; i++) {
        pf_buf_reset(&c->scratch);
        pf_buf_addf(&c->scratch, "missing %s", t->reasons[i].field);
        if (several)
            pf_buf_addf(&c->scratch, " (%s)", t->reasons[i].coll);
        t->reasons[i].text = cc_strndup(c, c->scratch.data,
                                        c->scratch.len);
    }
}

static int
push_collection(struct cc *c, const char *coll, int line)
{
    struct cscope *sc = &c->scopes[c->depth];
    size_t i, j;

    sc->n = 0;
    for (i = 0; i < sizeof collection_vars / sizeof collection_vars[0];
         i++) {
        if (strcmp(collection_vars[i].collection, coll) != 0)
            continue;
        for (j = 0; j < 3 && collection_vars[i].names[j]; j++)
            sc->names[sc->n++] = collection_vars[i].names[j];
        return 0;
    }
    sc->names[0] = singular(c, coll);
    if (!sc->names[0]) {
        cerr(c, line, "cannot tell what a row of collection '%s' is "
             "called", coll);
        return -1;
    }
    sc->n = 1;
    return 0;
}

static struct node *compile_value(struct cc *c, const cJSON *item);

static int
is_directive(const char *k)
{
    return strcmp(k, "@each") == 0 || strcmp(k, "@as") == 0 ||
           strcmp(k, "@if") == 0 || strcmp(k, "@spread") == 0 ||
           strcmp(k, "@require") == 0 || strcmp(k, "@always") == 0;
}

/* Checks the keys of an object: known directives only, no duplicates,
 * no placeholders in keys. */
static int
check_keys(struct cc *c, const cJSON *obj)
{
    const cJSON *a, *b;

    for (a = obj->child; a; a = a->next) {
        if (a->string[0] == '@' && !is_directive(a->string)) {
            cerr(c, key_line(c, a), "unknown directive '%s' (known: "
                 "@each, @as, @if, @spread, @require, @always)",
                 a->string);
            return -1;
        }
        if (strstr(a->string, "{{")) {
            cerr(c, key_line(c, a), "placeholders are not allowed in keys "
                 "('%s')", a->string);
            return -1;
        }
        if (strcmp(a->string, "@spread") == 0)
            continue;
        for (b = obj->child; b != a; b = b->next) {
            if (strcmp(a->string, b->string) == 0) {
                cerr(c, key_line(c, a), "duplicate key '%s'", a->string);
                return -1;
            }
        }
    }
    return 0;
}

/* Opens the scope of a loop over name (@each in JSON, pf:each in XML);
 * fills the each node except its body. as is the @as / pf:as name or
 * NULL. */
static int
each_head(struct cc *c, const char *name, const char *as, int line,
          int as_line, struct node *each, int xml)
{
    const char *kw = xml ? "pf:each" : "@each";
    const char *bind;
    struct expr *e;

    if (c->depth == MAX_DEPTH) {
        cerr(c, line, "%s nested more than %d deep", kw, MAX_DEPTH);
        return -1;
    }
    each->u.each.slot = c->depth;
    if (!strchr(name, '.') && !strstr(name, "{{")) {
        if (c->depth > 0) {
            cerr(c, line, "collection '%s' cannot be opened inside another "
                 "%s; iterate a list of the row instead, such as "
                 "\"product.variants\"", name, kw);
            return -1;
        }
        if (as) {
            cerr(c, as_line, "%s applies to lists such as "
                 "\"product.variants\"; rows of '%s' bind their own names",
                 xml ? "pf:as" : "\"@as\"", name);
            return -1;
        }
        if (push_collection(c, name, line) < 0)
            return -1;
        if (strcmp(name, "customers") == 0)
            c->t->personal = 1;
        each->u.each.collection = cc_strndup(c, name, strlen(name));
        note_collection(c->t, each->u.each.collection);
        c->depth++;
        return 0;
    }
    e = compile_directive_str(c, name, line, xml ? "pf:each" : "@each");
    if (!e)
        return -1;
    bind = as ? as : singular(c, e->segs[e->nsegs - 1]);
    if (!bind) {
        cerr(c, line, "cannot name the items of '%s'; add %s", name,
             xml ? "pf:as=\"item\"" : "\"@as\": \"item\"");
        return -1;
    }
    each->u.each.list = e;
    c->scopes[c->depth].names[0] = cc_strndup(c, bind, strlen(bind));
    c->scopes[c->depth].n = 1;
    c->depth++;
    return 0;
}

/* The @each of a JSON object; see each_head(). */
static int
compile_each_head(struct cc *c, const cJSON *obj,
                  struct node *each)
{
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(obj, "@each");
    const cJSON *as = cJSON_GetObjectItemCaseSensitive(obj, "@as");
    const char *name = cJSON_GetStringValue(ev);

    if (!name || !*name) {
        cerr(c, item_line(c, ev), "\"@each\" needs a collection "
             "(\"products\") or a list (\"product.variants\")");
        return -1;
    }
    if (as && (!cJSON_GetStringValue(as) || !*as->valuestring)) {
        cerr(c, item_line(c, as), "\"@as\" needs a variable name");
        return -1;
    }
    return each_head(c, name, as ? as->valuestring : NULL,
                     item_line(c, ev), as ? item_line(c, as) : 0, each, 0);
}

/* The field of obj named key, NULL when it has none. */
static struct field *
find_field(const struct node *obj, const char *key)
{
    size_t i;

    for (i = 0; i < obj->u.obj.n; i++)
        if (obj->u.obj.fields[i].key &&
            strcmp(obj->u.obj.fields[i].key, key) == 0)
            return &obj->u.obj.fields[i];
    return NULL;
}

/* "@require": the keys of a row that must not come out empty; the row
 * is left out (and counted) otherwise. Only rows of a collection have
 * one: a row left out of a list would go uncounted. */
static int
compile_require(struct cc *c, const cJSON *req, struct node *nd,
                const struct node *each)
{
    const cJSON *it;
    struct field *f;

    if (!each || !each->u.each.collection) {
        cerr(c, key_line(c, req), "\"@require\" belongs in the row of a "
             "collection (the object with \"@each\": \"products\"), "
             "whose rows it leaves out and counts");
        return -1;
    }
    if (!cJSON_IsArray(req) || !req->child) {
        cerr(c, item_line(c, req), "\"@require\" takes a list of keys of "
             "this object, such as [\"id\", \"url\"]");
        return -1;
    }
    cJSON_ArrayForEach(it, req) {
        if (!cJSON_IsString(it)) {
            cerr(c, item_line(c, it), "\"@require\" takes a list of keys "
                 "of this object, such as [\"id\", \"url\"]");
            return -1;
        }
        f = find_field(nd, it->valuestring);
        if (!f) {
            cerr(c, item_line(c, it), "\"@require\" names \"%s\", which "
                 "this object does not have", it->valuestring);
            return -1;
        }
        if (f->req) {
            cerr(c, item_line(c, it), "\"@require\" names \"%s\" twice",
                 it->valuestring);
            return -1;
        }
        f->req = add_reason(c, each->u.each.collection, f->key);
        nd->u.obj.nreq++;
    }
    return 0;
}

/* "@always": keys written even when they come out empty, each with the
 * empty value it is then written as ([], {} or ""), so the type stays
 * the one the platform expects. */
static int
compile_always(struct cc *c, const cJSON *alw, struct node *nd)
{
    const cJSON *it;
    struct field *f;

    if (!cJSON_IsObject(alw) || !alw->child) {
        cerr(c, item_line(c, alw), "\"@always\" takes the keys to write "
             "even when empty, each with its empty value, such as "
             "{\"categories\": []}");
        return -1;
    }
    cJSON_ArrayForEach(it, alw) {
        f = find_field(nd, it->string);
        if (!f) {
            cerr(c, key_line(c, it), "\"@always\" names \"%s\", which "
                 "this object does not have", it->string);
            return -1;
        }
        if (f->req) {
            cerr(c, key_line(c, it), "\"%s\" is in \"@require\" and "
                 "\"@always\": a required field is never written empty",
                 it->string);
            return -1;
        }
        if (f->always) {
            cerr(c, key_line(c, it), "\"@always\" names \"%s\" twice",
                 it->string);
            return -1;
        }
        if (cJSON_IsArray(it) && !it->child)
            f->always = "[]";
        else if (cJSON_IsObject(it) && !it->child)
            f->always = "{}";
        else if (cJSON_IsString(it) && it->valuestring[0] == '\0')
            f->always = "\"\"";
        else {
            cerr(c, item_line(c, it), "\"@always\": \"%s\" can be written "
                 "empty as [], {} or \"\" (a fallback value is the default "
                 "filter's job)", it->string);
            return -1;
        }
    }
    return 0;
}

/* An object; with allow_each, an "@each" in it makes an N_EACH node. */
static struct node *
compile_object(struct cc *c, const cJSON *obj,
               int allow_each)
{
    const cJSON *ch, *ev, *cond;
    struct node *nd, *each = NULL, *result = NULL;
    size_t nf = 0;
    int line = item_line(c, obj), pushed = 0;

    if (check_keys(c, obj) < 0)
        return NULL;
    ev = cJSON_GetObjectItemCaseSensitive(obj, "@each");
    if (ev && !allow_each) {
        cerr(c, key_line(c, ev), "\"@each\" must be in the only object of "
             "an array (or in the root object for NDJSON)");
        return NULL;
    }
    if (!ev && cJSON_GetObjectItemCaseSensitive(obj, "@as")) {
        cerr(c, key_line(c, cJSON_GetObjectItemCaseSensitive(obj, "@as")),
             "\"@as\" without \"@each\"");
        return NULL;
    }
    if (ev) {
        each = new_node(c, N_EACH, key_line(c, ev));
        if (compile_each_head(c, obj, each) < 0)
            return NULL;
        pushed = 1;
    }

    nd = new_node(c, N_OBJ, line);
    for (ch = obj->child; ch; ch = ch->next)
        nf += cJSON_IsArray(ch) && strcmp(ch->string, "@spread") == 0
                  ? (size_t)cJSON_GetArraySize(ch) : 1;
    nd->u.obj.fields = cc_alloc(c, nf * sizeof *nd->u.obj.fields);
    cond = cJSON_GetObjectItemCaseSensitive(obj, "@if");
    if (cond) {
        nd->u.obj.cond = compile_directive(c, cond, "@if");
        if (!nd->u.obj.cond)
            goto cleanup;
    }
    for (ch = obj->child; ch; ch = ch->next) {
        struct field *f = &nd->u.obj.fields[nd->u.obj.n];
        const cJSON *el;

        /* "@spread" takes one placeholder or an array of them. */
        if (strcmp(ch->string, "@spread") == 0 && cJSON_IsArray(ch)) {
            for (el = ch->child; el; el = el->next) {
                f = &nd->u.obj.fields[nd->u.obj.n];
                f->spread = compile_directive(c, el, "@spread");
                if (!f->spread)
                    goto cleanup;
                nd->u.obj.n++;
            }
            continue;
        }
        if (strcmp(ch->string, "@spread") == 0) {
            f->spread = compile_directive(c, ch, "@spread");
            if (!f->spread)
                goto cleanup;
            nd->u.obj.n++;
            continue;
        }
        if (ch->string[0] == '@')
            continue;
        f->key = cc_strndup(c, ch->string, strlen(ch->string));
        f->kjson = json_text(c, ch->string, strlen(ch->string), ":",
                             &f->kjson_len);
        f->val = compile_value(c, ch);
        if (!f->val)
            goto cleanup;
        nd->u.obj.n++;
    }
    ch = cJSON_GetObjectItemCaseSensitive(obj, "@require");
    if (ch && compile_require(c, ch, nd, each) < 0)
        goto cleanup;
    ch = cJSON_GetObjectItemCaseSensitive(obj, "@always");
    if (ch && compile_always(c, ch, nd) < 0)
        goto cleanup;
    if (each)
        each->u.each.body = nd;
    result = each ? each : nd;
cleanup:
    if (pushed)
        c->depth--;
    return result;
}

static struct node *
compile_array(struct cc *c, const cJSON *arr)
{
    const cJSON *ch;
    struct node *nd;
    size_t n = 0;
    int only;

    for (ch = arr->child; ch; ch = ch->next)
        n++;
    only = n == 1 && cJSON_IsObject(arr->child) &&
           cJSON_GetObjectItemCaseSensitive(arr->child, "@each");
    if (only)
        return compile_object(c, arr->child, 1);
    nd = new_node(c, N_ARR, item_line(c, arr));
    nd->u.arr.items = cc_alloc(c, n * sizeof *nd->u.arr.items);
    for (ch = arr->child; ch; ch = ch->next) {
        struct node *it = cJSON_IsObject(ch) ? compile_object(c, ch, 0)
                                             : compile_value(c, ch);

        if (!it)
            return NULL;
        nd->u.arr.items[nd->u.arr.n++] = it;
    }
    return nd;
}

static struct node *
compile_value(struct cc *c, const cJSON *item)
{
    const struct tok *tk = &c->toks[item->valueint];
    int line = item_line(c, item);
    struct node *nd;

    if (cJSON_IsString(item))
        return compile_string(c, item->valuestring, line);
    if (cJSON_IsObject(item))
        return compile_object(c, item, 0);
    if (cJSON_IsArray(item))
        return compile_array(c, item);
    /* Numbers, true, false, null: emitted exactly as written. */
    if (cJSON_IsNumber(item) && !jsonw_is_number(c->text + tk->off,
                                                 tk->len)) {
        cerr(c, line, "invalid number '%.*s'", (int)tk->len,
             c->text + tk->off);
        return NULL;
    }
    nd = new_node(c, N_LIT, line);
    nd->u.lit.json = cc_strndup(c, c->text + tk->off, tk->len);
    nd->u.lit.len = tk->len;
    return nd;
}

static int
count_items(const cJSON *item)
{
    const cJSON *ch;
    int n = 1;

    if (cJSON_IsObject(item)) {
        for (ch = item->child; ch; ch = ch->next)
            n += 1 + count_items(ch);
    }
    else if (cJSON_IsArray(item)) {
        for (ch = item->child; ch; ch = ch->next)
            n += count_items(ch);
    }
    return n;
}

/* A JSON syntax error by line and column. The file's text is never
 * quoted: a path that is not a template (a key file, /etc/passwd) must
 * not leak into logs. Only JSON's own punctuation is named. */
static void
invalid_json(struct cc *c, const char *at)
{
    size_t off = at && at >= c->text ? (size_t)(at - c->text) : 0, i;
    int line = 1, col = 1;
    char ch;

    if (off > c->len)
        off = c->len;
    for (i = 0; i < off; i++) {
        col++;
        if (c->text[i] == '\n') {
            line++;
            col = 1;
        }
    }
    ch = off < c->len ? c->text[off] : '\0';
    if (ch == '\0')
        cerr(c, line, "invalid JSON (unexpected end of file)");
    else if (strchr("{}[],:\"", ch) != NULL)
        cerr(c, line, "invalid JSON at column %d: unexpected '%c'", col,
             ch);
    else
        cerr(c, line, "invalid JSON at column %d: unexpected text", col);
}

static int
has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && pf_strcaseeq(s + n - m, suffix);
}

/* ------------------------------------------------------------------ */
/* XML templates: a libxml2 tree of the (small) template is walked once
 * and compiled into N_XEL nodes; the tree is freed before rendering. */

static int
is_pf_ns(const xmlNs *ns)
{
    return ns && ns->href && strcmp((const char *)ns->href, PF_NS) == 0;
}

static int
node_line(const xmlNode *n)
{
    long l = xmlGetLineNo(n);

    return l > 0 && l < 1000000000L ? (int)l : 0;
}

static const char *
xml_qname(struct cc *c, const xmlNs *ns, const xmlChar *name)
{
    const char *local = (const char *)name;

    if (!ns || !ns->prefix)
        return cc_strndup(c, local, strlen(local));
    pf_buf_reset(&c->scratch);
    pf_buf_addf(&c->scratch, "%s:%s", (const char *)ns->prefix, local);
    return cc_strndup(c, c->scratch.data, c->scratch.len);
}

/* Copies a libxml2 string into the template's memory and frees it. */
static const char *
xml_take(struct cc *c, xmlChar *v)
{
    const char *r;

    if (!v)
        return NULL;
    r = cc_strndup(c, (const char *)v, strlen((const char *)v));
    xmlFree(v);
    return r;
}

static int
count_lines(const char *s, size_t from, size_t to)
{
    int n = 0;

    for (; from < to; from++)
        if (s[from] == '\n')
            n++;
    return n;
}

/* Text of an XML template (content or an attribute value). */
static struct node *
xml_string(struct cc *c, const char *s, int line)
{
    return split_text(c, s, line, 1);
}

static int
is_xml_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* When s is one placeholder with only whitespace around it, compiles
 * and returns it (NULL with *failed on error); else NULL. */
static struct expr *
xml_single(struct cc *c, const char *s, int line, int *failed)
{
    size_t n = strlen(s), a = 0, end;
    struct expr *e;

    while (a < n && is_xml_space(s[a]))
        a++;
    while (n > a && is_xml_space(s[n - 1]))
        n--;
    if (n - a < 4 || strncmp(s + a, "{{", 2) != 0)
        return NULL;
    end = placeholder_end(s, n, a);
    if (end == 0 || end + 2 != n)
        return NULL;
    line += count_lines(s, 0, a);
    e = compile_expr(c, s + a + 2, end - a - 2, line);
    if (!e)
        *failed = 1;
    return e;
}

static int
is_text_node(const xmlNode *n)
{
    return n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE;
}

/* The text of the run of text and CDATA nodes starting at *at, joined;
 * *at moves to the last node of the run. */
static const char *
xml_text_run(struct cc *c, xmlNode **at)
{
    xmlNode *n, *last = *at;
    size_t len = 0, k = 0;
    char *s;

    for (n = *at; n && is_text_node(n); n = n->next) {
        len += n->content ? strlen((const char *)n->content) : 0;
        last = n;
    }
    s = cc_alloc(c, len + 1);
    for (n = *at; n && is_text_node(n); n = n->next) {
        size_t m = n->content ? strlen((const char *)n->content) : 0;

        memcpy(s + k, n->content ? (const char *)n->content : "", m);
        k += m;
    }
    *at = last;
    return s;
}

static int
all_space(const char *s)
{
    while (*s && is_xml_space(*s))
        s++;
    return *s == '\0';
}

static int
is_pf_attr(const xmlChar *name)
{
    static const char *const known[] = {"each", "as", "if", "cdata",
                                        "required", "always"};
    size_t i;

    for (i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp((const char *)name, known[i]) == 0)
            return 1;
    return 0;
}

static struct node *compile_xml_el(struct cc *c, xmlNode *el, int root);

/* A yes/no template attribute (pf:cdata, pf:required, pf:always) into
 * *on; "true" and "false" are accepted too. */
static int
xml_flag(struct cc *c, int line, const char *attr, const char *v, int *on)
{
    *on = 0;
    if (!v)
        return 0;
    if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0) {
        *on = 1;
        return 0;
    }
    if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0)
        return 0;
    cerr(c, line, "pf:%s takes yes or no, not '%s'", attr, v);
    return -1;
}

/* Fills x->attrs: namespace declarations other than the template's own,
 * then the attributes outside the pf namespace. */
static int
compile_xml_attrs(struct cc *c, xmlNode *el, struct xel *x, int line)
{
    size_t na = 0;
    xmlAttr *a;
    xmlNs *ns;

    for (ns = el->nsDef; ns; ns = ns->next)
        na += !is_pf_ns(ns);
    for (a = el->properties; a; a = a->next)
        na += !is_pf_ns(a->ns);
    x->attrs = cc_alloc(c, na * sizeof *x->attrs);
    for (ns = el->nsDef; ns; ns = ns->next) {
        struct xattr *xa = &x->attrs[x->nattrs];
        struct part *pt;

        if (is_pf_ns(ns))
            continue;
        pf_buf_reset(&c->scratch);
        pf_buf_adds(&c->scratch, "xmlns");
        if (ns->prefix)
            pf_buf_addf(&c->scratch, ":%s", (const char *)ns->prefix);
        xa->qname = cc_strndup(c, c->scratch.data, c->scratch.len);
        xa->val = new_node(c, N_TEXT, line);
        pt = cc_alloc(c, sizeof *pt);
        pt->text = ns->href ? cc_strndup(c, (const char *)ns->href,
                                         strlen((const char *)ns->href))
                            : "";
        pt->len = strlen(pt->text);
        xa->val->u.text.parts = pt;
        xa->val->u.text.n = 1;
        xa->literal = 1;
        x->nattrs++;
    }
    for (a = el->properties; a; a = a->next) {
        struct xattr *xa = &x->attrs[x->nattrs];
        const char *v;

        if (is_pf_ns(a->ns))
            continue;
        v = xml_take(c, xmlNodeGetContent((xmlNode *)a));
        if (!v)
            v = "";
        xa->qname = xml_qname(c, a->ns, a->name);
        xa->val = xml_string(c, v, line);
        if (!xa->val)
            return -1;
        xa->literal = strstr(v, "{{") == NULL;
        x->nattrs++;
    }
    return 0;
}

/* Fills x->kids (or x->single) from the children of el; coll is the
 * collection x repeats, or NULL. */
static int
compile_xml_kids(struct cc *c, xmlNode *el, struct xel *x, int root,
                 const char *coll)
{
    xmlNode *ch;
    size_t nk = 0;
    int has_el = 0, only_text = 1, failed = 0;

    for (ch = el->children; ch; ch = ch->next) {
        nk++;
        if (ch->type == XML_ELEMENT_NODE)
            has_el = 1;
        if (!is_text_node(ch))
            only_text = 0;
    }
    x->kids = cc_alloc(c, nk * sizeof *x->kids);
    for (ch = el->children; ch; ch = ch->next) {
        struct node *kid = NULL;
        const char *s;
        int line = node_line(ch);

        if (ch->type == XML_ELEMENT_NODE) {
            c->xparent = x;
            c->xparent_coll = coll;
            kid = compile_xml_el(c, ch, 0);
            if (!kid)
                return -1;
        }
        else if (is_text_node(ch)) {
            /* libxml2 numbers a text node with the line where its first
             * chunk ended (all of it for plain ASCII text): count back
             * to where it starts, but not above its element. */
            if (ch->content)
                line -= count_lines((const char *)ch->content, 0,
                                    strlen((const char *)ch->content));
            if (line < node_line(el))
                line = node_line(el);
            s = xml_text_run(c, &ch);
            /* Indentation between elements: the writer indents. */
            if (has_el && all_space(s))
                continue;
            if (only_text && !root) {
                x->single = xml_single(c, s, line, &failed);
                if (failed)
                    return -1;
                if (x->single)
                    continue;
            }
            kid = xml_string(c, s, line);
            if (!kid)
                return -1;
        }
        else if (ch->type == XML_ENTITY_REF_NODE) {
            cerr(c, node_line(el), "entity '&%s;' is not supported here; "
                 "write the character itself", (const char *)ch->name);
            return -1;
        }
        if (kid)
            x->kids[x->nkids++] = kid;
    }
    return 0;
}

/* pf:required and pf:always of x (el's element), once its content is
 * compiled; parent and coll are the element around it and the
 * collection that one repeats (NULL when it is not a row). */
static int
compile_xml_markers(struct cc *c, xmlNode *el, struct xel *x, int req,
                    struct xel *parent, const char *coll)
{
    const char *name = (const char *)el->name;
    int line = node_line(el);
    size_t i;

    if (req && x->always) {
        cerr(c, line, "<%s> has pf:required and pf:always: a required "
             "element is never written empty", name);
        return -1;
    }
    if (x->always && !x->single) {
        cerr(c, line, "pf:always applies to an element whose content is "
             "one placeholder; <%s> is written even when empty", name);
        return -1;
    }
    if (!req)
        return 0;
    if (!coll || !parent) {
        cerr(c, line, "pf:required goes on an element right inside the "
             "one that repeats a collection (pf:each=\"variants\"), "
             "whose rows it leaves out and counts");
        return -1;
    }
    for (i = 0; i < x->nkids; i++) {
        if (x->kids[i]->kind == N_XEL || x->kids[i]->kind == N_EACH) {
            cerr(c, line, "pf:required applies to an element whose "
                 "content is text; <%s> holds elements", name);
            return -1;
        }
    }
    if (!x->single && x->nkids == 0) {
        cerr(c, line, "pf:required on <%s>, which has no content", name);
        return -1;
    }
    x->req = add_reason(c, coll, name);
    if (el->ns != NULL && el->ns->href != NULL)
        c->t->reasons[x->req - 1].ns =
            cc_strndup(c, (const char *)el->ns->href,
                       strlen((const char *)el->ns->href));
    parent->nreq++;
    return 0;
}

/* An element, wrapped in an N_EACH when it carries pf:each. The root is
 * always written: no pf:each, no pf:if, never left out when empty. */
static struct node *
compile_xml_el(struct cc *c, xmlNode *el, int root)
{
    const char *each, *as, *cond, *cdata, *reqv, *alwv, *coll = NULL;
    struct node *nd, *eachn = NULL, *result = NULL;
    struct xel *x, *parent = c->xparent;
    const char *parent_coll = c->xparent_coll;
    xmlAttr *a;
    int line = node_line(el), pushed = 0, req = 0;

    if (is_pf_ns(el->ns)) {
        cerr(c, line, "<%s:%s>: the template namespace %s has no "
             "elements, only the attributes pf:each, pf:as, pf:if, "
             "pf:cdata, pf:required and pf:always",
             el->ns->prefix ? (const char *)el->ns->prefix : "",
             (const char *)el->name, PF_NS);
        return NULL;
    }
    for (a = el->properties; a; a = a->next) {
        if (is_pf_ns(a->ns) && !is_pf_attr(a->name)) {
            cerr(c, line, "unknown template attribute 'pf:%s' on <%s> "
                 "(known: pf:each, pf:as, pf:if, pf:cdata, pf:required, "
                 "pf:always)", (const char *)a->name,
                 (const char *)el->name);
            return NULL;
        }
    }
    each = xml_take(c, xmlGetNsProp(el, BAD_CAST "each", BAD_CAST PF_NS));
    as = xml_take(c, xmlGetNsProp(el, BAD_CAST "as", BAD_CAST PF_NS));
    cond = xml_take(c, xmlGetNsProp(el, BAD_CAST "if", BAD_CAST PF_NS));
    cdata = xml_take(c, xmlGetNsProp(el, BAD_CAST "cdata",
                                     BAD_CAST PF_NS));
    reqv = xml_take(c, xmlGetNsProp(el, BAD_CAST "required",
                                    BAD_CAST PF_NS));
    alwv = xml_take(c, xmlGetNsProp(el, BAD_CAST "always",
                                    BAD_CAST PF_NS));
    if (root && (each || cond)) {
        cerr(c, line, "the root element <%s> cannot carry %s: a document "
             "has exactly one root", (const char *)el->name,
             each ? "pf:each" : "pf:if");
        return NULL;
    }
    if (as && !each) {
        cerr(c, line, "pf:as without pf:each on <%s>",
             (const char *)el->name);
        return NULL;
    }
    if (as && !*as) {
        cerr(c, line, "pf:as needs a variable name");
        return NULL;
    }
    if (each) {
        if (!*each) {
            cerr(c, line, "pf:each needs a collection (\"products\") or a "
                 "list (\"product.variants\")");
            return NULL;
        }
        eachn = new_node(c, N_EACH, line);
        if (each_head(c, each, as, line, line, eachn, 1) < 0)
            return NULL;
        pushed = 1;
        coll = eachn->u.each.collection;
    }
    nd = new_node(c, N_XEL, line);
    x = cc_alloc(c, sizeof *x);
    nd->u.xel = x;
    x->qname = xml_qname(c, el->ns, el->name);
    if (cond) {
        x->cond = compile_directive_str(c, cond, line, "pf:if");
        if (!x->cond)
            goto cleanup;
    }
    if (xml_flag(c, line, "cdata", cdata, &x->cdata) < 0 ||
        xml_flag(c, line, "required", reqv, &req) < 0 ||
        xml_flag(c, line, "always", alwv, &x->always) < 0)
        goto cleanup;
    if (compile_xml_attrs(c, el, x, line) < 0 ||
        compile_xml_kids(c, el, x, root, coll) < 0 ||
        compile_xml_markers(c, el, x, req, parent, parent_coll) < 0)
        goto cleanup;
    if (eachn)
        eachn->u.each.body = nd;
    result = eachn ? eachn : nd;
cleanup:
    if (pushed)
        c->depth--;
    return result;
}

/* The first error libxml2 reports while parsing a template. */
struct xml_errs {
    int failed;
    int line, col;
    char msg[200];
};

/* libxml2 puts what it quotes from the document (names, values) in
 * str1..str3; such messages are replaced by a description of the error
 * so no text of the file reaches a log. */
static const char *
xml_error_text(const xmlError *e)
{
    static const struct {
        int code;
        const char *text;
    } known[] = {
        {XML_ERR_TAG_NAME_MISMATCH, "an end tag does not match its start "
                                    "tag"},
        {XML_ERR_TAG_NOT_FINISHED, "the document ends inside an element"},
        {XML_ERR_UNDECLARED_ENTITY, "an undefined entity (XML knows only "
                                    "&amp; &lt; &gt; &quot; &apos;)"},
        {XML_WAR_UNDECLARED_ENTITY, "an undefined entity (XML knows only "
                                    "&amp; &lt; &gt; &quot; &apos;)"},
        {XML_NS_ERR_UNDEFINED_NAMESPACE, "a namespace prefix that is not "
                                         "declared (e.g. xmlns:pf=\""
                                         PF_NS "\")"},
        {XML_ERR_ATTRIBUTE_REDEFINED, "an attribute given twice"},
        {XML_ERR_GT_REQUIRED, "a start tag that does not end"},
        {XML_ERR_UNSUPPORTED_ENCODING, "an unsupported encoding (use "
                                       "UTF-8)"},
    };
    size_t i;

    if (!e->str1 && !e->str2 && !e->str3 && e->message)
        return NULL;
    for (i = 0; i < sizeof known / sizeof known[0]; i++)
        if (known[i].code == e->code)
            return known[i].text;
    return "not well-formed";
}

static void
xml_on_error(void *user, xmlErrorPtr e)
{
    xmlParserCtxtPtr ctxt = user;
    struct xml_errs *xe = ctxt ? ctxt->_private : NULL;
    const char *text;
    size_t n;

    if (!xe || xe->failed || !e || e->level < XML_ERR_ERROR)
        return;
    xe->failed = 1;
    xe->line = e->line;
    xe->col = e->int2;
    text = xml_error_text(e);
    if (text)
        snprintf(xe->msg, sizeof xe->msg, "%s (libxml2 error %d)", text,
                 e->code);
    else
        snprintf(xe->msg, sizeof xe->msg, "%s", e->message);
    n = strlen(xe->msg);
    while (n > 0 && (xe->msg[n - 1] == '\n' || xe->msg[n - 1] == ' '))
        xe->msg[--n] = '\0';
}

static int
load_xml(struct cc *c, const char *text, size_t len)
{
    struct xml_errs xe;
    xmlParserCtxtPtr ctxt;
    xmlDocPtr doc = NULL;
    xmlNodePtr root;
    int rc = -1;

    memset(&xe, 0, sizeof xe);
    ctxt = xmlNewParserCtxt();
    if (!ctxt) {
        pf_errf(c->err, "%s: cannot create an XML parser", c->t->path);
        return -1;
    }
    /* Errors come to us instead of stderr; user data is the context. */
    ctxt->sax->serror = xml_on_error;
    ctxt->_private = &xe;
    /* No XML_PARSE_NOENT: entities are not expanded, and NONET keeps a
     * template from fetching anything. */
    doc = xmlCtxtReadMemory(ctxt, text, (int)len, c->t->path, NULL,
                            XML_PARSE_NONET);
    if (xe.failed || !doc || !ctxt->wellFormed || !ctxt->nsWellFormed) {
        if (xe.failed && xe.col > 0)
            cerr(c, xe.line > 0 ? xe.line : 1, "invalid XML at column %d: "
                 "%s", xe.col, xe.msg);
        else
            cerr(c, xe.failed && xe.line > 0 ? xe.line : 1,
                 "invalid XML: %s", xe.failed ? xe.msg : "not well-formed");
        goto cleanup;
    }
    root = xmlDocGetRootElement(doc);
    if (!root) {
        cerr(c, 1, "invalid XML: no root element");
        goto cleanup;
    }
    c->t->format = TPL_XML;
    c->t->root = compile_xml_el(c, root, 1);
    if (!c->t->root)
        goto cleanup;
    rc = 0;
cleanup:
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    return rc;
}

/* A file that cannot be a template at all (binary, not UTF-8, or not
 * starting as JSON or XML) is named as such, never quoted: the path may
 * be a key or a system file set by mistake. *xml: it starts as XML. */
static int
check_is_template(struct cc *c, int *xml)
{
    const char *text = c->text;
    size_t len = c->len, i = 0, ls;
    int line = 1;

    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    for (size_t k = ls = i; k <= len; k++) {
        unsigned char ch = k < len ? (unsigned char)text[k] : '\n';

        if (ch == '\n') {
            if (!pf_utf8_valid(text + ls, k - ls)) {
                cerr(c, line, "not a template: this line is not UTF-8 "
                     "text");
                return -1;
            }
            ls = k + 1;
            line++;
        }
        else if (ch < 0x20 && ch != '\t' && ch != '\r') {
            cerr(c, line, "not a template: binary data (control byte "
                 "0x%02x)", ch);
            return -1;
        }
    }
    for (line = 1; i < len && is_xml_space(text[i]); i++)
        line += text[i] == '\n';
    if (i == len) {
        cerr(c, line, "not a template: the file is empty");
        return -1;
    }
    *xml = text[i] == '<';
    if (*xml || ((text[i] == '{' || text[i] == '[') &&
                 !has_suffix(c->t->path, ".xml")))
        return 0;
    cerr(c, line, "not a template: a JSON template starts with '{' or "
         "'[', an XML template with '<'");
    return -1;
}

/* Compiles text (len bytes, with a NUL at text[len]) into t, which is
 * named t->path in errors. */
static int
compile_text(struct tpl *t, const char *text, size_t len,
             struct pf_err *err)
{
    struct cc c;
    cJSON *root = NULL;
    const char *end = NULL;
    size_t pos = 0;
    int rc = -1, xml = 0;

    memset(&c, 0, sizeof c);
    pf_buf_init(&c.scratch);
    c.t = t;
    c.err = err;
    c.text = text;
    c.len = len;
    /* Also refuses control bytes: cJSON would skip them as whitespace
     * next to literals that are copied from the raw text. */
    if (check_is_template(&c, &xml) != 0)
        goto cleanup;
    if (xml) {
        rc = load_xml(&c, text, len);
        goto cleanup;
    }
    tokenize(&c);
    /* The length includes the NUL after the text: cJSON wants to see it
     * to reject trailing garbage. */
    root = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1);
    if (!root) {
        invalid_json(&c, end ? end : cJSON_GetErrorPtr());
        goto cleanup;
    }
    number_items(root, &pos);
    if (pos != c.ntoks || (size_t)count_items(root) != pos) {
        /* The tokenizer and cJSON disagree: lines would be wrong. */
        pf_errf(err, "%s: cannot locate lines in this template (%zu "
                "tokens, %zu items)", t->path, c.ntoks, pos);
        goto cleanup;
    }
    if (cJSON_IsObject(root) &&
        cJSON_GetObjectItemCaseSensitive(root, "@each")) {
        t->format = TPL_NDJSON;
        t->root = compile_object(&c, root, 1);
        if (t->root && !t->root->u.each.collection) {
            cerr(&c, t->root->line, "the root \"@each\" must name a "
                 "collection such as \"products\"");
            goto cleanup;
        }
    }
    else {
        t->format = TPL_JSON;
        t->root = compile_value(&c, root);
    }
    if (!t->root)
        goto cleanup;
    rc = 0;
cleanup:
    if (rc == 0)
        name_reasons(&c);
    cJSON_Delete(root);
    free(c.toks);
    pf_buf_free(&c.scratch);
    return rc;
}

static struct tpl *
tpl_new(const char *path)
{
    struct tpl *t = xcalloc(1, sizeof *t);

    t->path = xstrdup(path);
    pf_arena_init(&t->mem);
    return t;
}

int
tpl_load(const char *path, struct tpl **out, struct pf_err *err)
{
    struct tpl *t = tpl_new(path);
    char *text = NULL;
    size_t len = 0;
    int rc = -1;

    /* pf_read_file() ends the text with a NUL, as compile_text wants. */
    if (pf_read_file(path, TPL_MAX_BYTES, &text, &len, err) < 0)
        goto cleanup;
    rc = compile_text(t, text, len, err);
cleanup:
    free(text);
    if (rc < 0) {
        tpl_free(t);
        t = NULL;
    }
    *out = t;
    return rc;
}

int
tpl_load_mem(const char *path, const char *text, size_t len,
             struct tpl **out, struct pf_err *err)
{
    struct tpl *t = NULL;
    char *copy = NULL;
    int rc = -1;

    if (len > TPL_MAX_BYTES) {
        pf_errf(err, "%s: template too large (%zu bytes, limit %d)", path,
                len, TPL_MAX_BYTES);
        goto cleanup;
    }
    t = tpl_new(path);
    copy = xmalloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = '\0';
    rc = compile_text(t, copy, len, err);
cleanup:
    free(copy);
    if (rc < 0) {
        tpl_free(t);
        t = NULL;
    }
    *out = t;
    return rc;
}

void
tpl_free(struct tpl *t)
{
    size_t i;

    if (!t)
        return;
    for (i = 0; i < t->nfilters; i++)
        filter_free(t->filters[i]);
    free(t->filters);
    free(t->colls);
    free(t->reasons);
    pf_arena_free(&t->mem);
    free(t->path);
    free(t);
}

int
tpl_set_ndjson(struct tpl *t)
{
    /* A root array of one repeated object is the same rows either way:
     * "[row,\nrow]" or "row\nrow\n". */
    if (t->format == TPL_JSON && t->root->kind == N_EACH &&
        t->root->u.each.collection != NULL) {
        t->format = TPL_NDJSON;
        return 0;
    }
    return t->format == TPL_NDJSON ? 0 : -1;
}

enum tpl_format
tpl_get_format(const struct tpl *t)
{
    return t->format;
}

int
tpl_uses_personal_data(const struct tpl *t)
{
    return t->personal;
}

size_t
tpl_ncollections(const struct tpl *t)
{
    return t->ncolls;
}

const char *
tpl_collection(const struct tpl *t, size_t i)
{
    return i < t->ncolls ? t->colls[i] : NULL;
}

size_t
tpl_nreasons(const struct tpl *t)
{
    return t->nreasons;
}

const char *
tpl_reason(const struct tpl *t, size_t i)
{
    return i < t->nreasons ? t->reasons[i].text : NULL;
}

int
tpl_requires(const struct tpl *t, const char *ns, const char *field)
{
    for (size_t i = 0; i < t->nreasons; i++)
        if (t->reasons[i].ns != NULL &&
            strcmp(t->reasons[i].ns, ns) == 0 &&
            strcmp(t->reasons[i].field, field) == 0)
            return 1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Rendering */

struct rscope {
    const struct pf_obj *row;   /* a collection row, or */
    const struct pf_value *v;   /* one item of a list */
};

struct rctx {
    const struct tpl *t;
    const struct tpl_data *d;
    struct pf_out *o;
    struct jsonw w;
    struct rscope scopes[MAX_DEPTH];
    struct pf_arena arena;      /* filter results, reset per row */
    struct pf_buf text;         /* mixed strings */
    struct xmlw xw;             /* XML only */
    struct pf_buf val, aval;    /* XML: element and attribute text */
    const char **seen;          /* names spread so far, see render_spread */
    size_t nseen, capseen;
    int64_t items;
    int64_t *left_out;          /* per reason, may be NULL */
    int missing;                /* the row's first empty required field:
                                 * its reason index + 1 */
    struct pf_buf rowbuf;       /* JSON: a row with required fields */
    struct pf_err *err;
};

static int
eval(struct rctx *r, const struct expr *e, struct pf_value *out)
{
    const struct pf_value *v = NULL;
    struct pf_value cur, next;
    size_t i;

    if (e->slot < 0) {
        v = r->d->globals ? pf_obj_get_hint(r->d->globals, e->segs[0],
                                            &e->hints[0])
                          : NULL;
    }
    else {
        const struct rscope *s = &r->scopes[e->slot];

        v = s->row ? pf_obj_get_hint(s->row, e->segs[0], &e->hints[0])
                   : s->v;
    }
    for (i = 1; i < e->nsegs && v; i++) {
        if (v->type != PF_OBJ || !v->u.obj)
            v = NULL;
        else
            v = pf_obj_get_hint(v->u.obj, e->segs[i], &e->hints[i]);
    }
    cur = v ? *v : pf_v_null();
    for (i = 0; i < e->nfilters; i++) {
        struct pf_err fe;

        fe.msg[0] = '\0';
        if (filter_apply(e->filters[i], &cur, &r->arena, &next, &fe) < 0) {
            pf_errf(r->err, "%s:%d: %s", r->t->path, e->line, fe.msg);
            return -1;
        }
        cur = next;
    }
    *out = cur;
    return 0;
}

static int
truthy(const struct pf_value *v)
{
    if (pf_value_is_empty(v))
        return 0;
    return !(v->type == PF_BOOL && v->u.i == 0);
}

static int
render_text(struct rctx *r, const struct node *n)
{
    size_t i;

    pf_buf_reset(&r->text);
    for (i = 0; i < n->u.text.n; i++) {
        const struct part *p = &n->u.text.parts[i];
        struct pf_value v;

        if (!p->e) {
            pf_buf_add(&r->text, p->text, p->len);
            continue;
        }
        if (eval(r, p->e, &v) < 0)
            return -1;
        /* Lists and objects have no text form; they add nothing. */
        (void)pf_value_to_text(&v, &r->text);
    }
    return 0;
}

/* Decides, before a key or comma is written, whether n produces output:
 * 1 yes, 0 omit (empty value, false @if), -1 error. *v receives a
 * placeholder's value; mixed text is left in r->text. */
static int
prepare(struct rctx *r, const struct node *n, struct pf_value *v)
{
    switch (n->kind) {
    case N_EXPR:
        if (eval(r, n->u.expr, v) < 0)
            return -1;
        return !pf_value_is_empty(v);
    case N_TEXT:
        if (render_text(r, n) < 0)
            return -1;
        return r->text.len > 0;
    case N_OBJ:
        if (!n->u.obj.cond)
            return 1;
        if (eval(r, n->u.obj.cond, v) < 0)
            return -1;
        return truthy(v);
    default:
        return 1;
    }
}

static int emit(struct rctx *r, const struct node *n,
                const struct pf_value *v);
static int render_rows(struct rctx *r, const struct node *n, int ndjson,
                       const struct field *key, size_t *written);

static int
explicit_key(const struct node *obj, const char *name)
{
    size_t i;

    for (i = 0; i < obj->u.obj.n; i++)
        if (obj->u.obj.fields[i].key &&
            strcmp(obj->u.obj.fields[i].key, name) == 0)
            return 1;
    return 0;
}

/* Writes the fields of an object value into the object being rendered.
 * The first writer of a name wins: fields the template names itself, then
 * spreads in order (names already spread in this object are in r->seen
 * from base on), then the first of duplicates within one value. */
static int
render_spread(struct rctx *r, const struct node *obj,
              const struct expr *e, size_t base, size_t *count)
{
    const struct pf_obj *src;
    struct pf_value v;
    size_t i, j;

    if (eval(r, e, &v) < 0)
        return -1;
    if (v.type != PF_OBJ || !v.u.obj)
        return 0;
    src = v.u.obj;
    for (i = 0; i < src->n; i++) {
        const struct pf_field *f = &src->fields[i];

        if (pf_value_is_empty(&f->v) || explicit_key(obj, f->name))
            continue;
        for (j = base; j < r->nseen; j++)
            if (strcmp(r->seen[j], f->name) == 0)
                break;
        if (j < r->nseen)
            continue;
        if (r->nseen == r->capseen) {
            r->capseen = r->capseen ? r->capseen * 2 : 64;
            r->seen = xrealloc(r->seen, r->capseen * sizeof *r->seen);
        }
        r->seen[r->nseen++] = f->name;
        if ((*count)++ > 0)
            pf_out_putc(r->o, ',');
        jsonw_str(&r->w, f->name, strlen(f->name));
        pf_out_putc(r->o, ':');
        jsonw_value(&r->w, &f->v);
    }
    return 0;
}

/* A required field came out empty: the first one names the reason. */
static void
note_missing(struct rctx *r, int req)
{
    if (r->missing == 0)
        r->missing = req;
}

/* 1 when what was written to r->o since start is "{}" or "[]": an
 * object or list with nothing in it. Required fields are only rendered
 * into the row buffer, where the bytes can be read back. */
static int
came_out_empty(const struct rctx *r, uint64_t start)
{
    const struct pf_buf *b = r->o->mem;
    const char *end;

    if (!b || r->o->bytes - start != 2 || b->len < 2)
        return 0;
    end = b->data + b->len - 2;
    return memcmp(end, "{}", 2) == 0 || memcmp(end, "[]", 2) == 0;
}

/* An "@always" field that came out empty: its empty value. */
static void
write_always(struct rctx *r, const struct field *f, size_t *count)
{
    if ((*count)++ > 0)
        pf_out_putc(r->o, ',');
    pf_out_write(r->o, f->kjson, f->kjson_len);
    pf_out_puts(r->o, f->always);
}

static int
render_obj(struct rctx *r, const struct node *n)
{
    size_t i, count = 0, base = r->nseen;
    uint64_t start;

    pf_out_putc(r->o, '{');
    for (i = 0; i < n->u.obj.n; i++) {
        const struct field *f = &n->u.obj.fields[i];
        struct pf_value v;
        int k;

        if (f->spread) {
            if (render_spread(r, n, f->spread, base, &count) < 0)
                return -1;
            continue;
        }
        k = prepare(r, f->val, &v);
        if (k < 0)
            return -1;
        if (k == 0) {
            if (f->req)
                note_missing(r, f->req);
            if (f->always)
                write_always(r, f, &count);
            continue;
        }
        if (f->val->kind == N_EACH && f->val->u.each.collection) {
            if (render_rows(r, f->val, 0, f, &count) < 0)
                return -1;
            continue;
        }
        if (count++ > 0)
            pf_out_putc(r->o, ',');
        pf_out_write(r->o, f->kjson, f->kjson_len);
        start = r->o->bytes;
        if (emit(r, f->val, &v) < 0)
            return -1;
        if (f->req && came_out_empty(r, start))
            note_missing(r, f->req);
    }
    pf_out_putc(r->o, '}');
    r->nseen = base;
    return 0;
}

static int
render_arr(struct rctx *r, const struct node *n)
{
    size_t i, count = 0;

    pf_out_putc(r->o, '[');
    for (i = 0; i < n->u.arr.n; i++) {
        struct pf_value v;
        int k = prepare(r, n->u.arr.items[i], &v);

        if (k < 0)
            return -1;
        if (k == 0)
            continue;
        if (count++ > 0)
            pf_out_putc(r->o, ',');
        if (emit(r, n->u.arr.items[i], &v) < 0)
            return -1;
    }
    pf_out_putc(r->o, ']');
    return 0;
}

/* Renders the row obj, which has required fields, into r->rowbuf: 1
 * when none came out empty, 0 when one did (the row is counted under
 * its reason and dropped: nothing of it reaches the output), -1 on
 * error. The writer points at the row buffer meanwhile. */
static int
render_checked(struct rctx *r, const struct node *obj)
{
    struct pf_out *out = r->o, row;
    int rc;

    pf_buf_reset(&r->rowbuf);
    pf_out_init_mem(&row, &r->rowbuf);
    r->o = &row;
    r->w.o = &row;
    r->missing = 0;
    rc = render_obj(r, obj);
    r->o = out;
    r->w.o = out;
    pf_out_free(&row);
    if (rc < 0)
        return -1;
    if (r->missing == 0)
        return 1;
    if (r->left_out)
        r->left_out[r->missing - 1]++;
    return 0;
}

/* Rows of a top-level collection: one per line, counted as items, the
 * arena reset after each. ndjson drops the brackets and commas.
 *
 * Under a key (key != NULL), nothing is written until the first row is:
 * a collection with no rows leaves its key out, like any empty value,
 * unless "@always" names it. *written counts the keys written. */
static int
render_rows(struct rctx *r, const struct node *n, int ndjson,
            const struct field *key, size_t *written)
{
    const struct tpl_data *d = r->d;
    const char *coll = n->u.each.collection;
    const struct node *body = n->u.each.body;
    struct rscope *sc = &r->scopes[n->u.each.slot];
    void *cur = NULL;
    struct pf_err de;
    int rc = -1, k, opened = 0, checked = body->u.obj.nreq > 0;
    size_t count = 0;

    de.msg[0] = '\0';
    if (!d->open || !d->next || d->open(d->ctx, coll, &cur, &de) < 0) {
        pf_errf(r->err, "%s:%d: collection '%s': %s", r->t->path, n->line,
                coll, de.msg[0] ? de.msg : "cannot be opened");
        goto cleanup;
    }
    opened = 1;
    if (!ndjson && key == NULL)
        pf_out_putc(r->o, '[');
    for (;;) {
        const struct pf_obj *row = NULL;
        struct pf_value v;

        k = d->next(d->ctx, cur, &row, &de);
        if (k < 0) {
            pf_errf(r->err, "%s: collection '%s': %s", r->t->path, coll,
                    de.msg);
            goto cleanup;
        }
        if (k == 0)
            break;
        sc->row = row;
        sc->v = NULL;
        k = prepare(r, body, &v);
        if (k > 0 && checked)
            k = render_checked(r, body);
        if (k < 0)
            goto cleanup;
        if (k > 0) {
            if (key != NULL && count == 0) {
                if ((*written)++ > 0)
                    pf_out_putc(r->o, ',');
                pf_out_write(r->o, key->kjson, key->kjson_len);
                pf_out_putc(r->o, '[');
            }
            if (!ndjson)
                pf_out_write(r->o, count > 0 ? ",\n" : "\n",
                             count > 0 ? 2 : 1);
            if (checked)
                pf_out_write(r->o, r->rowbuf.data, r->rowbuf.len);
            else if (render_obj(r, body) < 0)
                goto cleanup;
            if (ndjson)
                pf_out_putc(r->o, '\n');
            count++;
            r->items++;
        }
        pf_arena_reset(&r->arena);
        if (r->o->err_no) {
            /* A full disk will not get better; stop writing now. */
            pf_errf(r->err, "%s: writing collection '%s' failed: %s",
                    r->t->path, coll, strerror(r->o->err_no));
            goto cleanup;
        }
    }
    if (!ndjson && (key == NULL || count > 0)) {
        if (count > 0)
            pf_out_putc(r->o, '\n');
        pf_out_putc(r->o, ']');
    }
    else if (key != NULL && key->always)
        write_always(r, key, written);
    rc = 0;
cleanup:
    if (opened && d->close)
        d->close(d->ctx, cur);
    sc->row = NULL;
    return rc;
}

/* The items a dotted @each / pf:each walks. A single value iterates as a
 * list of one; *lv holds it, so items may point into it. */
static int
list_items(struct rctx *r, const struct node *n, struct pf_value *lv,
           const struct pf_value **items, size_t *nitems)
{
    if (eval(r, n->u.each.list, lv) < 0)
        return -1;
    if (lv->type == PF_LIST) {
        *items = lv->u.list.items;
        *nitems = lv->u.list.n;
    }
    else {
        *items = lv;
        *nitems = pf_value_is_empty(lv) ? 0 : 1;
    }
    return 0;
}

/* Items of a list in scope ("product.variants"). */
static int
render_list(struct rctx *r, const struct node *n)
{
    struct rscope *sc = &r->scopes[n->u.each.slot];
    struct pf_value lv;
    const struct pf_value *items;
    size_t i, nitems, count = 0;

    if (list_items(r, n, &lv, &items, &nitems) < 0)
        return -1;
    pf_out_putc(r->o, '[');
    for (i = 0; i < nitems; i++) {
        struct pf_value v;
        int k;

        sc->row = NULL;
        sc->v = &items[i];
        k = prepare(r, n->u.each.body, &v);
        if (k < 0)
            return -1;
        if (k == 0)
            continue;
        if (count++ > 0)
            pf_out_putc(r->o, ',');
        if (render_obj(r, n->u.each.body) < 0)
            return -1;
    }
    pf_out_putc(r->o, ']');
    sc->v = NULL;
    return 0;
}

static int
emit(struct rctx *r, const struct node *n,
     const struct pf_value *v)
{
    switch (n->kind) {
    case N_LIT:
        pf_out_write(r->o, n->u.lit.json, n->u.lit.len);
        return 0;
    case N_EXPR:
        jsonw_value(&r->w, v);
        return 0;
    case N_TEXT:
        jsonw_str(&r->w, r->text.data, r->text.len);
        return 0;
    case N_OBJ:
        return render_obj(r, n);
    case N_ARR:
        return render_arr(r, n);
    case N_EACH:
        if (n->u.each.collection)
            return render_rows(r, n, 0, NULL, NULL);
        return render_list(r, n);
    case N_XEL:
        break;
    }
    return -1;
}

/* ---- XML ---- */

/* A value's text into b (reset first): lists and objects have none. */
static size_t
value_text(const struct pf_value *v, struct pf_buf *b)
{
    pf_buf_reset(b);
    if (pf_value_to_text(v, b) < 0)
        pf_buf_reset(b);
    return b->len;
}

/* Text inside the element x, as CDATA when x asks for it. */
static void
xwrite_text(struct rctx *r, const struct xel *x, const struct pf_buf *b)
{
    if (b->len == 0)
        return;
    if (x->cdata)
        xmlw_cdata(&r->xw, b->data, b->len);
    else
        xmlw_text(&r->xw, b->data, b->len);
}

/* Starts x and writes its attributes; one that is a single placeholder
 * rendering empty is left out, like an empty JSON value. */
static int
xopen(struct rctx *r, const struct xel *x)
{
    size_t i;

    xmlw_start(&r->xw, x->qname);
    for (i = 0; i < x->nattrs; i++) {
        const struct xattr *a = &x->attrs[i];
        struct pf_value v;

        if (a->val->kind == N_EXPR) {
            if (eval(r, a->val->u.expr, &v) < 0)
                return -1;
            if (value_text(&v, &r->aval) > 0)
                xmlw_attr(&r->xw, a->qname, r->aval.data, r->aval.len);
            continue;
        }
        if (render_text(r, a->val) < 0)
            return -1;
        if (r->text.len > 0 || a->literal)
            xmlw_attr(&r->xw, a->qname, r->text.data ? r->text.data : "",
                      r->text.len);
    }
    return 0;
}

static int xrender_rows(struct rctx *r, const struct node *n);
static int xrender_list(struct rctx *r, const struct node *n);

static int
xrender_kids(struct rctx *r, const struct xel *x);

/* 1 when the element was written, 0 when it was left out (pf:if false,
 * or its one placeholder rendered empty), -1 on error. */
static int
xrender_el(struct rctx *r, const struct node *n)
{
    const struct xel *x = n->u.xel;
    const struct pf_value *items;
    struct pf_value v;
    size_t i, nitems;
    int written = 0;

    if (x->cond) {
        if (eval(r, x->cond, &v) < 0)
            return -1;
        if (!truthy(&v))
            return 0;
    }
    if (!x->single) {
        if (xopen(r, x) < 0 || xrender_kids(r, x) < 0)
            return -1;
        xmlw_end(&r->xw);
        return 1;
    }
    if (eval(r, x->single, &v) < 0)
        return -1;
    /* A list repeats the element once per item that has text. */
    items = v.type == PF_LIST ? v.u.list.items : &v;
    nitems = v.type == PF_LIST ? v.u.list.n : 1;
    for (i = 0; i < nitems; i++) {
        if (value_text(&items[i], &r->val) == 0)
            continue;
        if (xopen(r, x) < 0)
            return -1;
        xwrite_text(r, x, &r->val);
        xmlw_end(&r->xw);
        written = 1;
    }
    if (!written && x->always) {
        /* pf:always: an empty element rather than none. */
        if (xopen(r, x) < 0)
            return -1;
        xmlw_end(&r->xw);
        written = 1;
    }
    return written;
}

/* 1 when the required element x would be written with text: its pf:if
 * holds, and its one placeholder renders text, or every placeholder in
 * its mixed text does (a price without its amount is missing); 0 when
 * not; -1 on error. */
static int
xel_has_text(struct rctx *r, const struct xel *x)
{
    const struct pf_value *items;
    struct pf_value v;
    size_t i, j, nitems;

    if (x->cond) {
        if (eval(r, x->cond, &v) < 0)
            return -1;
        if (!truthy(&v))
            return 0;
    }
    if (x->single) {
        if (eval(r, x->single, &v) < 0)
            return -1;
        items = v.type == PF_LIST ? v.u.list.items : &v;
        nitems = v.type == PF_LIST ? v.u.list.n : 1;
        for (i = 0; i < nitems; i++)
            if (value_text(&items[i], &r->val) > 0)
                return 1;
        return 0;
    }
    for (i = 0; i < x->nkids; i++) {
        const struct node *k = x->kids[i];

        if (k->kind == N_EXPR) {
            if (eval(r, k->u.expr, &v) < 0)
                return -1;
            if (value_text(&v, &r->val) == 0)
                return 0;
            continue;
        }
        for (j = 0; k->kind == N_TEXT && j < k->u.text.n; j++) {
            if (!k->u.text.parts[j].e)
                continue;
            if (eval(r, k->u.text.parts[j].e, &v) < 0)
                return -1;
            if (value_text(&v, &r->val) == 0)
                return 0;
        }
    }
    return 1;
}

/* Whether a row element is written: 1 yes, 0 no (its pf:if is false, or
 * a required element came out empty: then the row is counted under that
 * reason), -1 on error. Decided before anything of the row is written. */
static int
xrow_complete(struct rctx *r, const struct node *n)
{
    const struct xel *x = n->u.xel;
    struct pf_value v;
    size_t i;
    int k;

    if (x->nreq == 0)
        return 1;
    if (x->cond) {
        if (eval(r, x->cond, &v) < 0)
            return -1;
        if (!truthy(&v))
            return 0;
    }
    for (i = 0; i < x->nkids; i++) {
        const struct node *kid = x->kids[i];

        if (kid->kind != N_XEL || !kid->u.xel->req)
            continue;
        k = xel_has_text(r, kid->u.xel);
        if (k <= 0) {
            if (k == 0 && r->left_out)
                r->left_out[kid->u.xel->req - 1]++;
            return k;
        }
    }
    return 1;
}

static int
xrender_kids(struct rctx *r, const struct xel *x)
{
    size_t i;

    for (i = 0; i < x->nkids; i++) {
        const struct node *k = x->kids[i];
        struct pf_value v;
        int rc = 0;

        switch (k->kind) {
        case N_XEL:
            rc = xrender_el(r, k);
            break;
        case N_EACH:
            rc = k->u.each.collection ? xrender_rows(r, k)
                                      : xrender_list(r, k);
            break;
        case N_EXPR:
            rc = eval(r, k->u.expr, &v);
            if (rc == 0 && value_text(&v, &r->val) > 0)
                xwrite_text(r, x, &r->val);
            break;
        case N_TEXT:
            rc = render_text(r, k);
            if (rc == 0)
                xwrite_text(r, x, &r->text);
            break;
        default:
            rc = -1;
            break;
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Rows of a top-level collection: each row one element (or none when
 * pf:if drops it), counted as an item, the arena reset after each. */
static int
xrender_rows(struct rctx *r, const struct node *n)
{
    const struct tpl_data *d = r->d;
    const char *coll = n->u.each.collection;
    struct rscope *sc = &r->scopes[n->u.each.slot];
    void *cur = NULL;
    struct pf_err de;
    int rc = -1, k, opened = 0;

    de.msg[0] = '\0';
    if (!d->open || !d->next || d->open(d->ctx, coll, &cur, &de) < 0) {
        pf_errf(r->err, "%s:%d: collection '%s': %s", r->t->path, n->line,
                coll, de.msg[0] ? de.msg : "cannot be opened");
        goto cleanup;
    }
    opened = 1;
    for (;;) {
        const struct pf_obj *row = NULL;

        k = d->next(d->ctx, cur, &row, &de);
        if (k < 0) {
            pf_errf(r->err, "%s: collection '%s': %s", r->t->path, coll,
                    de.msg);
            goto cleanup;
        }
        if (k == 0)
            break;
        sc->row = row;
        sc->v = NULL;
        k = xrow_complete(r, n->u.each.body);
        if (k > 0)
            k = xrender_el(r, n->u.each.body);
        if (k < 0)
            goto cleanup;
        r->items += k;
        pf_arena_reset(&r->arena);
        if (r->o->err_no || r->xw.failed) {
            /* A full disk will not get better; stop writing now. */
            pf_errf(r->err, "%s: writing collection '%s' failed: %s",
                    r->t->path, coll, r->o->err_no
                        ? strerror(r->o->err_no) : "XML writer error");
            goto cleanup;
        }
    }
    rc = 0;
cleanup:
    if (opened && d->close)
        d->close(d->ctx, cur);
    sc->row = NULL;
    return rc;
}

/* Items of a list in scope ("product.variants"), one element each. */
static int
xrender_list(struct rctx *r, const struct node *n)
{
    struct rscope *sc = &r->scopes[n->u.each.slot];
    const struct pf_value *items;
    struct pf_value lv;
    size_t i, nitems;

    if (list_items(r, n, &lv, &items, &nitems) < 0)
        return -1;
    for (i = 0; i < nitems; i++) {
        sc->row = NULL;
        sc->v = &items[i];
        if (xrender_el(r, n->u.each.body) < 0)
            return -1;
    }
    sc->v = NULL;
    return 0;
}

static int
render_xml(struct rctx *r)
{
    if (xmlw_init(&r->xw, r->o, r->err) < 0) {
        pf_err_prefix(r->err, "%s", r->t->path);
        return -1;
    }
    if (xrender_el(r, r->t->root) < 0)
        return -1;
    if (xmlw_finish(&r->xw, r->err) < 0) {
        pf_err_prefix(r->err, "%s", r->t->path);
        return -1;
    }
    if (r->xw.repaired > 0)
        log_warn("%s: replaced %llu invalid UTF-8 sequence(s) with U+FFFD",
                 r->t->path, (unsigned long long)r->xw.repaired);
    if (r->xw.dropped > 0)
        log_warn("%s: dropped %llu character(s) that XML 1.0 forbids",
                 r->t->path, (unsigned long long)r->xw.dropped);
    return 0;
}

/* ---- one row at a time (tpl_rows_*, see template.h) ------------------ */

struct tpl_rows {
    struct rctx r;
    const struct node *body;    /* the root @each's object */
    struct rscope *sc;
};

int
tpl_rows_new(const struct tpl *t, const struct tpl_data *d,
             struct tpl_rows **out, struct pf_err *err)
{
    struct tpl_rows *rr;

    *out = NULL;
    if (t->format != TPL_NDJSON || t->root->kind != N_EACH ||
        t->root->u.each.collection == NULL) {
        pf_errf(err, "%s: the template is not a list of one \"@each\" "
                "object", t->path);
        return -1;
    }
    rr = xcalloc(1, sizeof(*rr));
    rr->r.t = t;
    rr->r.d = d;
    jsonw_init(&rr->r.w, NULL);
    pf_arena_init(&rr->r.arena);
    pf_buf_init(&rr->r.text);
    pf_buf_init(&rr->r.val);
    pf_buf_init(&rr->r.aval);
    pf_buf_init(&rr->r.rowbuf);
    rr->body = t->root->u.each.body;
    rr->sc = &rr->r.scopes[t->root->u.each.slot];
    *out = rr;
    return 0;
}

/* The body of render_rows() for one row, without the line's newline. */
int
tpl_rows_render(struct tpl_rows *rr, const struct pf_obj *row,
                struct pf_out *o, struct pf_err *err)
{
    struct rctx *r = &rr->r;
    struct pf_value v;
    int k, checked = rr->body->u.obj.nreq > 0;

    r->o = o;
    r->w.o = o;
    r->err = err;
    rr->sc->row = row;
    rr->sc->v = NULL;
    k = prepare(r, rr->body, &v);
    if (k > 0 && checked)
        k = render_checked(r, rr->body);
    if (k > 0) {
        if (checked)
            pf_out_write(o, r->rowbuf.data, r->rowbuf.len);
        else if (render_obj(r, rr->body) < 0)
            k = -1;
    }
    if (k > 0)
        r->items++;
    pf_arena_reset(&r->arena);
    rr->sc->row = NULL;
    return k;
}

void
tpl_rows_free(struct tpl_rows *rr)
{
    if (rr == NULL)
        return;
    if (rr->r.w.repaired > 0)
        log_warn("%s: replaced %llu invalid UTF-8 byte(s) with U+FFFD",
                 rr->r.t->path, (unsigned long long)rr->r.w.repaired);
    if (rr->r.w.bad_numbers > 0)
        log_warn("%s: wrote null for %llu value(s) that were not numbers",
                 rr->r.t->path, (unsigned long long)rr->r.w.bad_numbers);
    jsonw_free(&rr->r.w);
    pf_arena_free(&rr->r.arena);
    pf_buf_free(&rr->r.text);
    pf_buf_free(&rr->r.val);
    pf_buf_free(&rr->r.aval);
    pf_buf_free(&rr->r.rowbuf);
    free(rr->r.seen);
    free(rr);
}

int
tpl_render(const struct tpl *t, const struct tpl_data *d,
           struct pf_out *o, int64_t *items, struct pf_err *err)
{
    return tpl_render_counted(t, d, o, items, NULL, err);
}

int
tpl_render_counted(const struct tpl *t, const struct tpl_data *d,
                   struct pf_out *o, int64_t *items, int64_t *left_out,
                   struct pf_err *err)
{
    struct rctx r;
    struct pf_value v;
    int rc = -1, k;

    memset(&r, 0, sizeof r);
    r.t = t;
    r.d = d;
    r.o = o;
    r.err = err;
    r.left_out = left_out;
    jsonw_init(&r.w, o);
    pf_arena_init(&r.arena);
    pf_buf_init(&r.text);
    pf_buf_init(&r.val);
    pf_buf_init(&r.aval);
    pf_buf_init(&r.rowbuf);
    if (t->format == TPL_XML) {
        if (render_xml(&r) < 0)
            goto cleanup;
    }
    else if (t->format == TPL_NDJSON) {
        if (render_rows(&r, t->root, 1, NULL, NULL) < 0)
            goto cleanup;
    }
    else {
        k = prepare(&r, t->root, &v);
        if (k < 0)
            goto cleanup;
        if (k == 0)
            pf_out_write(o, "null", 4);
        else if (emit(&r, t->root, &v) < 0)
            goto cleanup;
        pf_out_putc(o, '\n');
    }
    if (o->err_no) {
        pf_errf(err, "%s: writing the feed failed: %s", t->path,
                strerror(o->err_no));
        goto cleanup;
    }
    if (r.w.repaired > 0)
        log_warn("%s: replaced %llu invalid UTF-8 byte(s) with U+FFFD",
                 t->path, (unsigned long long)r.w.repaired);
    if (r.w.bad_numbers > 0)
        log_warn("%s: wrote null for %llu value(s) that were not numbers",
                 t->path, (unsigned long long)r.w.bad_numbers);
    rc = 0;
cleanup:
    if (items)
        *items = r.items;
    jsonw_free(&r.w);
    pf_arena_free(&r.arena);
    pf_buf_free(&r.text);
    pf_buf_free(&r.val);
    pf_buf_free(&r.aval);
    pf_buf_free(&r.rowbuf);
    xmlw_free(&r.xw);
    free(r.seen);
    return rc;
}
