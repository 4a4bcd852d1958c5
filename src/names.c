/* names.c - see names.h.
 *
 * Why sets and not lists: a split feed may grow to any number of parts,
 * so "feed b's output is part 7 of feed a" must be refused before feed a
 * ever has seven parts. A set of parts is a prefix, a hole for K and a
 * suffix; the prefix always ends in '-' and the suffix is empty or
 * starts with '.', so in any file name K is a whole run of digits. That
 * makes meeting decidable by trying a few values of K (pf_name_meet).
 */
#include "names.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char index_suffix[] = ".parts.json";

/* Where the extension of output's last component starts (its last '.'),
 * or the end of output when it has none. */
static size_t
stem_len(const char *output)
{
    const char *slash = strrchr(output, '/');
    const char *dot = strrchr(slash ? slash + 1 : output, '.');

    return dot ? (size_t)(dot - output) : strlen(output);
}

char *
pf_names_part(const char *output, int k)
{
    size_t stem = stem_len(output);

    if (k <= 1)
        return xstrdup(output);
    return xasprintf("%.*s-%d%s", (int)stem, output, k, output + stem);
}

char *
pf_names_index(const char *output)
{
    return xasprintf("%s%s", output, index_suffix);
}

char *
pf_names_legacy_index(const char *output)
{
    return xasprintf("%.*s%s", (int)stem_len(output), output, index_suffix);
}

int
pf_names_is_temp(const char *base)
{
    return fnmatch(PF_TEMP_GLOB, base, 0) == 0;
}

static void
add_name(struct pf_names *ns, enum pf_name_role role, char *pre, char *suf)
{
    ns->v[ns->n].role = role;
    ns->v[ns->n].pre = pre;
    ns->v[ns->n].suf = suf;
    ns->n++;
}

void
pf_names_of(const char *output, int gzip, int split, struct pf_names *ns)
{
    size_t stem = stem_len(output);

    memset(ns, 0, sizeof(*ns));
    add_name(ns, PF_NAME_OUTPUT, xstrdup(output), NULL);
    if (gzip)
        add_name(ns, PF_NAME_TWIN, xasprintf("%s.gz", output), NULL);
    if (!split)
        return;
    add_name(ns, PF_NAME_PARTS, xasprintf("%.*s-", (int)stem, output),
             xstrdup(output + stem));
    if (gzip)
        add_name(ns, PF_NAME_PART_TWINS,
                 xasprintf("%.*s-", (int)stem, output),
                 xasprintf("%s.gz", output + stem));
    add_name(ns, PF_NAME_INDEX, pf_names_index(output), NULL);
}

void
pf_names_free(struct pf_names *ns)
{
    for (size_t i = 0; i < ns->n; i++) {
        free(ns->v[i].pre);
        free(ns->v[i].suf);
    }
    ns->n = 0;
}

const char *
pf_name_role_text(enum pf_name_role role)
{
    static const char *const text[] = {
        "the output", "the gzip twin", "a part", "a part's gzip twin",
        "the parts index"
    };

    return text[role];
}

static char *
instance(const struct pf_name *n, const char *k)
{
    return xasprintf("%s%s%s", n->pre, k, n->suf);
}

char *
pf_name_example(const struct pf_name *n)
{
    return n->suf ? instance(n, "2") : xstrdup(n->pre);
}

/* s[0..len) is a K a part can have: digits, no leading zero, >= 2. */
static int
is_part_number(const char *s, size_t len)
{
    if (len == 0 || s[0] == '0' || (len == 1 && s[0] == '1'))
        return 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

int
pf_name_has(const struct pf_name *n, const char *file)
{
    size_t len = strlen(file), lp, ls;

    if (n->suf == NULL)
        return strcmp(n->pre, file) == 0;
    lp = strlen(n->pre);
    ls = strlen(n->suf);
    if (len <= lp + ls || strncmp(file, n->pre, lp) != 0 ||
        strcmp(file + len - ls, n->suf) != 0)
        return 0;
    return is_part_number(file + lp, len - lp - ls);
}

/* Tries a's K = the digits at s[0..len): 1 (and the file in ex) when that
 * file of a is also one of b's. */
static int
try_k(const struct pf_name *a, const struct pf_name *b, const char *s,
      size_t len, char *ex, size_t exn)
{
    char *k, *file;
    int hit;

    if (!is_part_number(s, len))
        return 0;
    k = xstrndup(s, len);
    file = instance(a, k);
    hit = pf_name_has(b, file);
    if (hit)
        snprintf(ex, exn, "%s", file);
    free(k);
    free(file);
    return hit;
}

/* Tries each whole run of digits in s as a's K. */
static int
try_runs(const struct pf_name *a, const struct pf_name *b, const char *s,
         char *ex, size_t exn)
{
    while (*s != '\0') {
        size_t run = strspn(s, "0123456789");

        if (run > 0 && try_k(a, b, s, run, ex, exn))
            return 1;
        s += run > 0 ? run : 1;
    }
    return 0;
}

/* Two sets of parts share a file X = a.pre Ka a.suf = b.pre Kb b.suf.
 * Both K are whole digit runs of X (see the top of the file), so either
 * they sit at the same place (then the prefixes and suffixes are equal
 * and any K will do) or Ka is a digit run of b.pre or b.suf. */
static int
sets_meet(const struct pf_name *a, const struct pf_name *b, char *ex,
          size_t exn)
{
    return try_k(a, b, "2", 1, ex, exn) ||
           try_runs(a, b, b->pre, ex, exn) ||
           try_runs(a, b, b->suf, ex, exn);
}

int
pf_name_meet(const struct pf_name *a, const struct pf_name *b, char *ex,
             size_t exn)
{
    const struct pf_name *lit = a->suf == NULL ? a : b;
    const struct pf_name *other = lit == a ? b : a;

    if (a->suf != NULL && b->suf != NULL)
        return sets_meet(a, b, ex, exn);
    if (!pf_name_has(other, lit->pre))
        return 0;
    snprintf(ex, exn, "%s", lit->pre);
    return 1;
}

/* Empty or "." folder components, a byte the server refuses in a path. */
static int
path_is_clean(const char *output, char *why, size_t n)
{
    const char *seg = output;

    for (const char *p = output;; p++) {
        if (*p == '/' || *p == '\0') {
            size_t len = (size_t)(p - seg);

            if (len == 0 || (len == 1 && seg[0] == '.')) {
                snprintf(why, n, "has an empty or '.' folder in it; write "
                         "the path without '//' or '/./'");
                return 0;
            }
            if (*p == '\0')
                return 1;
            seg = p + 1;
        }
        else if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\') {
            snprintf(why, n, "contains a control character or '\\', "
                     "which the server cannot serve");
            return 0;
        }
    }
}

static int
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int
pf_names_output_ok(const char *output, char *why, size_t n)
{
    const char *slash = strrchr(output, '/');
    const char *base = slash ? slash + 1 : output;

    if (output[0] != '\0' && *base == '\0') {
        snprintf(why, n, "ends in '/': name the file, e.g. '%sfeed.json'",
                 output);
        return -1;
    }
    if (!path_is_clean(output, why, n))
        return -1;
    if (pf_names_is_temp(base)) {
        snprintf(why, n, "looks like a posfeed temp file (%s), which "
                 "every build deletes; choose another name", PF_TEMP_GLOB);
        return -1;
    }
    return 0;
}

int
pf_names_output_lookalike(const char *output, char *why, size_t n)
{
    if (ends_with(output, ".gz")) {
        snprintf(why, n, "ends in .gz, which names a gzip twin; name the "
                 "uncompressed file and keep gzip = yes");
        return -1;
    }
    if (ends_with(output, index_suffix)) {
        snprintf(why, n, "ends in %s, which names the index of a split "
                 "feed; choose another name", index_suffix);
        return -1;
    }
    return 0;
}
