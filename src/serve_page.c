/* serve_page.c - see serve_page.h. */
#include "serve_page.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "timeutil.h"

static void
html_esc(struct pf_buf *b, const char *s)
{
    for (; s != NULL && *s; s++) {
        switch (*s) {
        case '<': pf_buf_adds(b, "&lt;"); break;
        case '>': pf_buf_adds(b, "&gt;"); break;
        case '&': pf_buf_adds(b, "&amp;"); break;
        case '"': pf_buf_adds(b, "&quot;"); break;
        case '\'': pf_buf_adds(b, "&#39;"); break;
        default: pf_buf_addc(b, *s); break;
        }
    }
}

/* Prometheus label values escape backslash, quote and newline. */
static void
prom_esc(struct pf_buf *b, const char *s)
{
    for (; s != NULL && *s; s++) {
        if (*s == '\\' || *s == '"')
            pf_buf_addc(b, '\\');
        if (*s == '\n')
            pf_buf_adds(b, "\\n");
        else
            pf_buf_addc(b, *s);
    }
}

static void
human_age(int64_t secs, char out[32])
{
    if (secs < 0)
        secs = 0;
    if (secs < 120)
        snprintf(out, 32, "%lld s", (long long)secs);
    else if (secs < 7200)
        snprintf(out, 32, "%lld min", (long long)(secs / 60));
    else if (secs < 172800)
        snprintf(out, 32, "%lld h", (long long)(secs / 3600));
    else
        snprintf(out, 32, "%lld days", (long long)(secs / 86400));
}

/* ---- feeds as people count them ----------------------------------------- */

/* The store keeps one record per published file: "NAME" (the feed, or
 * the first part of a split one, with the items of all parts),
 * "NAME:part-K" (K = 2, 3, ...) and "NAME:index" (the parts list of a
 * feed with max_file_size). The page and the metrics show feeds, so the
 * extra files go under their feed. */
struct feed_view {
    const cJSON *main;      /* the feed's own record */
    const cJSON *index;     /* its index record, or NULL */
    const cJSON **parts;    /* part records, K ascending (owned array) */
    int nparts;
    double bytes, gz_bytes; /* all documents, index left out */
};

/* K of a "part-K" suffix, 0 when s is not one. */
static int
part_number(const char *s)
{
    char *end;
    long k;

    if (strncmp(s, "part-", 5) != 0 || s[5] < '0' || s[5] > '9')
        return 0;
    k = strtol(s + 5, &end, 10);
    return *end == '\0' && k >= 2 && k <= INT_MAX ? (int)k : 0;
}

static int
cmp_parts(const void *a, const void *b)
{
    const char *x = strchr(status_str(*(const cJSON *const *)a, "name"), ':');
    const char *y = strchr(status_str(*(const cJSON *const *)b, "name"), ':');
    int kx = part_number(x + 1), ky = part_number(y + 1);

    return (kx > ky) - (kx < ky);
}

static struct feed_view *
view_new(struct feed_view *v, int *n, const cJSON *rec)
{
    struct feed_view *e = &v[(*n)++];

    memset(e, 0, sizeof(*e));
    e->main = rec;
    e->bytes = status_num(rec, "bytes");
    e->gz_bytes = status_num(rec, "gz_bytes");
    return e;
}

/* The view whose feed is the first len bytes of name, or NULL. */
static struct feed_view *
view_find(struct feed_view *v, int n, const char *name, size_t len)
{
    const char *m;
    int i;

    for (i = 0; i < n; i++) {
        m = status_str(v[i].main, "name");
        if (strlen(m) == len && strncmp(m, name, len) == 0)
            return &v[i];
    }
    return NULL;
}

/* Files a split feed's record names: index or part. A record that fits
 * no feed (its feed's own record is missing) stays a feed of its own, so
 * nothing published goes unshown. */
static void
view_attach(struct feed_view *v, int *n, const cJSON *rec)
{
    const char *name = status_str(rec, "name"), *colon = strchr(name, ':');
    struct feed_view *f = view_find(v, *n, name, (size_t)(colon - name));

    if (f != NULL && f->index == NULL && strcmp(colon, ":index") == 0) {
        f->index = rec;
        return;
    }
    if (f == NULL || part_number(colon + 1) == 0) {
        view_new(v, n, rec);
        return;
    }
    f->parts = xrealloc(f->parts, (size_t)(f->nparts + 1) *
                                  sizeof(*f->parts));
    f->parts[f->nparts++] = rec;
    f->bytes += status_num(rec, "bytes");
    f->gz_bytes += status_num(rec, "gz_bytes");
}

/* The feeds of a document's "feeds" records in record order, then any
 * record that fits no feed; *n of them. Free with views_free(). */
static struct feed_view *
views_of(const cJSON *feeds, int *n)
{
    int size = cJSON_GetArraySize(feeds), i;
    struct feed_view *v = xcalloc(size > 0 ? (size_t)size : 1, sizeof(*v));
    const cJSON *rec;

    *n = 0;
    cJSON_ArrayForEach(rec, feeds)
        if (strchr(status_str(rec, "name"), ':') == NULL)
            view_new(v, n, rec);
    cJSON_ArrayForEach(rec, feeds)
        if (strchr(status_str(rec, "name"), ':') != NULL)
            view_attach(v, n, rec);
    for (i = 0; i < *n; i++)
        if (v[i].nparts > 1)
            qsort(v[i].parts, (size_t)v[i].nparts, sizeof(*v[i].parts),
                  cmp_parts);
    return v;
}

static void
views_free(struct feed_view *v, int n)
{
    int i;

    for (i = 0; i < n; i++)
        free(v[i].parts);
    free(v);
}

/* ---- the orders chart ------------------------------------------------- */

/* Geometry in SVG user units (CSS pixels: the SVG is drawn 1:1). */
#define CH_W 720
#define CH_H 180
#define CH_TOP 20
#define CH_BOTTOM 24
#define CH_FONT 10
/* Labels are laid out from an upper bound of their width, since the
 * server cannot measure text: 0.65 em a character is wider than the
 * digits and '-' of the common sans-serif faces (0.636 em in DejaVu Sans,
 * 0.556 em in Liberation Sans and Arial), so labels this estimate keeps
 * apart are apart on screen too. */
#define CH_EM_PER_CHAR 0.65
#define CH_GAP 8            /* the least room between two labels */

static double
label_width(const char *s)
{
    return (double)strlen(s) * CH_EM_PER_CHAR * CH_FONT;
}

/* "MM-DD" of a day's "YYYY-MM-DD": the year is in the heading's range. */
static const char *
short_date(const cJSON *day)
{
    const char *s = status_str(day, "date");

    return strlen(s) > 5 ? s + 5 : s;
}

/* One bar, with the date and count in its title so a merchant can hover
 * to compare with the POS. The count is also written over the bar when
 * it fits the bar's width, so neighbouring counts never overlap. */
static void
chart_bar(struct pf_buf *b, const cJSON *day, int i, double bw, double max)
{
    double v = status_num(day, "orders");
    double bh = max > 0 ? v / max * (CH_H - CH_TOP - CH_BOTTOM) : 0;
    char num[32];

    pf_buf_addf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                "height=\"%.1f\" fill=\"#3b7dd8\"><title>", i * bw + 1,
                CH_H - CH_BOTTOM - bh, bw - 2, bh);
    html_esc(b, status_str(day, "date"));
    pf_buf_addf(b, ": %.0f orders</title></rect>\n", v);
    snprintf(num, sizeof(num), "%.0f", v);
    if (v > 0 && label_width(num) <= bw - 2)
        pf_buf_addf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%d\" "
                    "text-anchor=\"middle\">%s</text>\n", i * bw + bw / 2,
                    CH_H - CH_BOTTOM - bh - 3, CH_FONT, num);
}

static void
chart_date(struct pf_buf *b, const cJSON *day, double x,
           const char *anchor)
{
    pf_buf_addf(b, "<text x=\"%.1f\" y=\"%d\" font-size=\"%d\" "
                "text-anchor=\"%s\">", x, CH_H - 8, CH_FONT, anchor);
    html_esc(b, short_date(day));
    pf_buf_adds(b, "</text>\n");
}

/* Dates under the bars: the first day's starts at the left edge and the
 * last day's ends at the right one, so the viewBox cuts neither; between
 * them every step-th day, centred under its bar, where step keeps labels
 * a label and a gap apart (a week at least, for a 30-day chart), and only
 * where a label clears its neighbours. */
static void
chart_dates(struct pf_buf *b, const cJSON *days, double bw)
{
    int n = cJSON_GetArraySize(days), i = 0, step;
    const cJSON *d, *last;
    double widest = 0, left_end, right_start, cx, half;

    if (n == 0)
        return;
    last = cJSON_GetArrayItem(days, n - 1);
    cJSON_ArrayForEach(d, days)
        if (label_width(short_date(d)) > widest)
            widest = label_width(short_date(d));
    step = (int)ceil((widest + CH_GAP) / bw);
    if (step < 7)
        step = 7;
    chart_date(b, cJSON_GetArrayItem(days, 0), 1, "start");
    left_end = 1 + label_width(short_date(cJSON_GetArrayItem(days, 0)));
    if (n == 1)
        return;
    right_start = CH_W - 1 - label_width(short_date(last));
    cJSON_ArrayForEach(d, days) {
        cx = i * bw + bw / 2;
        half = label_width(short_date(d)) / 2;
        if (i > 0 && i < n - 1 && i % step == 0 &&
            cx - half >= left_end + CH_GAP &&
            cx + half + CH_GAP <= right_start) {
            chart_date(b, d, cx, "middle");
            left_end = cx + half;
        }
        i++;
    }
    chart_date(b, last, CH_W - 1, "end");
}

/* Orders per day as bars over a baseline, dates under it. */
static void
html_chart(struct pf_buf *b, const cJSON *days)
{
    const cJSON *d;
    double max = 0;
    int n = cJSON_GetArraySize(days), i = 0;
    double bw = n > 0 ? (double)CH_W / n : CH_W;

    cJSON_ArrayForEach(d, days)
        if (status_num(d, "orders") > max)
            max = status_num(d, "orders");
    pf_buf_addf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
                "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                "role=\"img\" aria-label=\"orders per day\">\n", CH_W,
                CH_H, CH_W, CH_H);
    pf_buf_addf(b, "<line x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
                "stroke=\"#888\"/>\n", CH_H - CH_BOTTOM, CH_W,
                CH_H - CH_BOTTOM);
    cJSON_ArrayForEach(d, days)
        chart_bar(b, d, i++, bw, max);
    chart_dates(b, days, bw);
    pf_buf_adds(b, "</svg>\n");
}

/* ---- the page ----------------------------------------------------------- */

/* The token field with "Sync now" and, on the redacted page, "Show
 * detail": it checks the token against /status.json and then replaces
 * the page with the one the token unlocks, so the token never goes into
 * a URL. */
static void
html_controls(struct pf_buf *b, int detail, const char *base)
{
    /* current-password: the token is a credential the browser may keep;
     * "off" is ignored by password managers and flagged by validators. */
    pf_buf_adds(b, "<p><label>token <input type=\"password\" id=\"tok\" "
                "autocomplete=\"current-password\"></label> <button "
                "id=\"sync\" type=\"button\">Sync now</button> ");
    if (!detail)
        pf_buf_adds(b, "<button id=\"detail\" type=\"button\">Show detail"
                    "</button> ");
    pf_buf_adds(b, "<span id=\"msg\"></span></p>\n<script>\n"
                "var msg = document.getElementById('msg');\n"
                "function auth() {\n  return {'Authorization': 'Bearer ' +"
                " document.getElementById('tok').value};\n}\n"
                "document.getElementById('sync').onclick = function () {\n"
                "  fetch('");
    pf_buf_adds(b, base);
    pf_buf_adds(b, "/sync', {method: 'POST', headers: auth()})"
                ".then(function (r) {\n"
                "    msg.textContent =\n"
                "      r.status === 202 ? 'run started' : r.status === 409"
                " ?\n      'a run is already going' : r.status === 401 ?\n"
                "      'wrong token' : 'error ' + r.status;\n"
                "  });\n};\n"
                "var d = document.getElementById('detail');\n"
                "if (d) d.onclick = function () {\n"
                "  var h = auth();\n"
                "  fetch('");
    pf_buf_adds(b, base);
    pf_buf_adds(b, "/status.json', {headers: h}).then(function (r) {\n"
                "    return r.json();\n  }).then(function (j) {\n"
                "    if (!j.detail) {\n      msg.textContent = 'wrong token';"
                "\n      return;\n    }\n"
                "    return fetch('");
    pf_buf_adds(b, base);
    pf_buf_adds(b, "/', {headers: h}).then(function (r) {\n"
                "      return r.text();\n    }).then(function (t) {\n"
                "      document.open();\n      document.write(t);\n"
                "      document.close();\n    });\n  });\n};\n"
                "</script>\n");
}

/* A table's column headings (a NULL-terminated list) and the start of
 * its body. */
static void
html_head(struct pf_buf *b, const char *const *cols)
{
    pf_buf_adds(b, "<thead>\n<tr>");
    for (; *cols != NULL; cols++) {
        pf_buf_adds(b, "<th scope=\"col\">");
        html_esc(b, *cols);
        pf_buf_adds(b, "</th>");
    }
    pf_buf_adds(b, "</tr>\n</thead>\n<tbody>\n");
}

/* The last `posfeed verify` as stored (order counts: token only). */
static void
html_verify(struct pf_buf *b, const cJSON *doc)
{
    static const char *const cols[] = {
        "day", "POS", "store", "feed", "sent", "Klaviyo", "result", NULL
    };
    static const char *const keys[] = {
        "pos", "store", "feed", "sent", "klaviyo"
    };
    const cJSON *v = cJSON_GetObjectItem(doc, "verify"), *day, *c;
    size_t i;

    if (!cJSON_IsObject(v))
        return;
    pf_buf_adds(b, "<h2>Last verify (");
    html_esc(b, status_str(v, "run_at"));
    pf_buf_adds(b, ", days in ");
    html_esc(b, status_str(v, "timezone"));
    pf_buf_adds(b, ")</h2>\n");
    if (*status_str(v, "warning") || *status_str(v, "error")) {
        pf_buf_adds(b, "<p class=\"failed\">");
        html_esc(b, status_str(v, "warning"));
        pf_buf_adds(b, " ");
        html_esc(b, status_str(v, "error"));
        pf_buf_adds(b, "</p>\n");
    }
    pf_buf_adds(b, "<table>\n");
    html_head(b, cols);
    cJSON_ArrayForEach(day, cJSON_GetObjectItem(v, "days")) {
        pf_buf_adds(b, "<tr><td>");
        html_esc(b, status_str(day, "date"));
        for (i = 0; i < 5; i++) {
            c = cJSON_GetObjectItem(day, keys[i]);
            pf_buf_adds(b, "</td><td>");
            if (cJSON_IsNumber(c))
                pf_buf_addf(b, "%.0f", c->valuedouble);
            else
                html_esc(b, status_str(day, keys[i]));
        }
        c = cJSON_GetObjectItem(day, "flagged");
        pf_buf_adds(b, cJSON_IsString(c) ? "</td><td class=\"failed\">"
                                         : "</td><td class=\"ok\">");
        html_esc(b, cJSON_IsString(c) ? c->valuestring : "ok");
        if (*status_str(day, "explained")) {
            pf_buf_adds(b, "<br>");
            html_esc(b, status_str(day, "explained"));
        }
        pf_buf_adds(b, "</td></tr>\n");
    }
    pf_buf_adds(b, "</tbody>\n</table>\n");
}

static void
html_overview(struct pf_buf *b, const cJSON *doc, int detail)
{
    const cJSON *sv = cJSON_GetObjectItem(doc, "serve");

    pf_buf_adds(b, "<table>\n<tbody>\n");
    if (detail) {
        pf_buf_adds(b, "<tr><th scope=\"row\">source</th><td>");
        html_esc(b, status_str(doc, "source"));
        pf_buf_adds(b, " ");
        html_esc(b, status_str(doc, "source_path"));
        pf_buf_adds(b, "</td></tr>\n");
    }
    pf_buf_adds(b, "<tr><th scope=\"row\">timezone</th><td>");
    html_esc(b, status_str(doc, "timezone"));
    pf_buf_adds(b, "</td></tr>\n<tr><th scope=\"row\">schedule</th><td>");
    html_esc(b, status_str(sv, "schedule"));
    pf_buf_adds(b, "</td></tr>\n<tr><th scope=\"row\">next run</th><td>");
    html_esc(b, *status_str(sv, "next_run_local")
                    ? status_str(sv, "next_run_local")
                    : "on demand only");
    pf_buf_adds(b, "</td></tr>\n<tr><th scope=\"row\">running now</th><td>");
    pf_buf_adds(b, cJSON_IsNumber(cJSON_GetObjectItem(sv, "running"))
                       ? "yes" : "no");
    pf_buf_adds(b, "</td></tr>\n</tbody>\n</table>\n");
}

/* The Clerk.io live endpoints (serve_clerk.c), when they are on: what
 * Clerk's importer fetched, so a merchant sees the sync reach posfeed. */
static void
html_clerk(struct pf_buf *b, const cJSON *doc)
{
    const cJSON *k = cJSON_GetObjectItem(doc, "clerk_v2");

    if (k == NULL)
        return;
    pf_buf_addf(b, "<p>Clerk.io live endpoints (/clerk/v2/): %.0f full "
                "and %.0f incremental answers, %.0f objects sent, %.0f "
                "paging sessions open; last answer ",
                status_num(k, "full"), status_num(k, "incremental"),
                status_num(k, "objects"), status_num(k, "sessions"));
    html_esc(b, *status_str(k, "last_answer") ? status_str(k, "last_answer")
                                              : "never");
    pf_buf_addf(b, "; %.0f tokens refused, %.0f verify failures.</p>\n",
                status_num(k, "tokens_refused"),
                status_num(k, "verify_failed"));
}

/* A link to a published file, its URL as the text (to copy into a
 * platform's settings). */
static void
html_file_link(struct pf_buf *b, const cJSON *rec)
{
    pf_buf_adds(b, "<a href=\"");
    html_esc(b, status_str(rec, "url"));
    pf_buf_adds(b, "\">");
    html_esc(b, status_str(rec, "url"));
    pf_buf_adds(b, "</a>");
}

/* A row for one feed: its items and the size of all its documents; a
 * split feed (or one with max_file_size) gets a second row with its
 * parts and index. */
static void
html_feed(struct pf_buf *b, const struct feed_view *v, int64_t now)
{
    char b1[32], b2[32], age[32];
    int64_t pub = 0;
    int i;

    pf_buf_adds(b, "<tr><td>");
    html_esc(b, status_str(v->main, "name"));
    pf_buf_adds(b, "</td><td>");
    html_file_link(b, v->main);
    pf_human_bytes((int64_t)v->bytes, b1);
    pf_human_bytes((int64_t)v->gz_bytes, b2);
    pf_time_parse(status_str(v->main, "published"), &pub, NULL);
    human_age(now - pub, age);
    pf_buf_addf(b, "</td><td>%.0f</td><td>%s</td><td>%s</td><td>%s</td>"
                "<td>", status_num(v->main, "items"), b1,
                v->gz_bytes > 0 ? b2 : "-", age);
    html_esc(b, status_str(v->main, "access"));
    pf_buf_adds(b, "</td></tr>\n");
    if (v->nparts == 0 && v->index == NULL)
        return;
    pf_buf_adds(b, "<tr class=\"parts\"><td></td><td colspan=\"6\">");
    if (v->nparts > 0) {
        pf_buf_addf(b, "%d parts: ", v->nparts + 1);
        html_file_link(b, v->main);
        for (i = 0; i < v->nparts; i++) {
            pf_buf_adds(b, ", ");
            html_file_link(b, v->parts[i]);
        }
        pf_buf_adds(b, v->index != NULL ? "; " : "");
    }
    if (v->index != NULL) {
        pf_buf_adds(b, "index ");
        html_file_link(b, v->index);
    }
    pf_buf_adds(b, "</td></tr>\n");
}

static void
html_feeds(struct pf_buf *b, const cJSON *doc, int64_t now)
{
    static const char *const cols[] = {
        "feed", "URL", "items", "size", "gzip", "age", "access", NULL
    };
    double others = status_num(doc, "other_feeds");
    struct feed_view *v;
    int n, i;

    v = views_of(cJSON_GetObjectItem(doc, "feeds"), &n);
    pf_buf_adds(b, "<h2>Feeds</h2>\n<table>\n");
    html_head(b, cols);
    for (i = 0; i < n; i++)
        html_feed(b, &v[i], now);
    pf_buf_adds(b, "</tbody>\n</table>\n");
    views_free(v, n);
    if (others > 0)
        pf_buf_addf(b, "<p>%.0f more feed%s need%s the token.</p>\n",
                    others, others == 1 ? "" : "s", others == 1 ? "s" : "");
}

static void
html_runs(struct pf_buf *b, const cJSON *doc, int detail)
{
    static const char *const full[] = {
        "#", "kind", "started (UTC)", "seconds", "result", "warnings",
        "rows", "error", NULL
    };
    static const char *const brief[] = {
        "#", "kind", "started (UTC)", "seconds", "result", "warnings", NULL
    };
    const cJSON *e, *r;

    pf_buf_adds(b, "<h2>Last runs</h2>\n<table>\n");
    html_head(b, detail ? full : brief);
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, "runs")) {
        pf_buf_addf(b, "<tr><td>%.0f</td><td>", status_num(e, "id"));
        html_esc(b, status_str(e, "kind"));
        pf_buf_adds(b, "</td><td>");
        html_esc(b, status_str(e, "started"));
        pf_buf_addf(b, "</td><td>%.0f</td><td class=\"", status_num(e,
                                                               "seconds"));
        html_esc(b, status_str(e, "result"));
        pf_buf_adds(b, "\">");
        html_esc(b, status_str(e, "result"));
        pf_buf_addf(b, "</td><td>%.0f</td>", status_num(e, "warnings"));
        if (detail) {
            pf_buf_adds(b, "<td>");
            cJSON_ArrayForEach(r, cJSON_GetObjectItem(e, "rows")) {
                html_esc(b, r->string);
                pf_buf_addf(b, " %.0f<br>", r->valuedouble);
            }
            pf_buf_adds(b, "</td><td>");
            html_esc(b, status_str(e, "error"));
            pf_buf_adds(b, "</td>");
        }
        pf_buf_adds(b, "</tr>\n");
    }
    pf_buf_adds(b, "</tbody>\n</table>\n");
}

/* The Klaviyo push (token only: it names customers' reasons): per
 * metric pending, sent, failed with the latest reasons, skipped. */
static void
html_push(struct pf_buf *b, const cJSON *doc)
{
    static const char *const cols[] = {
        "metric", "pending", "sent", "failed", "skipped", "reasons", NULL
    };
    const cJSON *k = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "push"),
                                         "klaviyo");
    const cJSON *m, *r;

    if (k == NULL)
        return;
    pf_buf_adds(b, "<h2>Klaviyo push</h2>\n<p>last push ");
    html_esc(b, status_str(k, "last_push")[0] ? status_str(k, "last_push")
                                              : "never");
    if (cJSON_GetObjectItem(k, "lag_seconds") != NULL)
        pf_buf_addf(b, "; newest sale accepted %.0f s after it was made",
                    status_num(k, "lag_seconds"));
    pf_buf_adds(b, "</p>\n");
    if (status_str(k, "error")[0] != '\0') {
        pf_buf_adds(b, "<p class=\"failed\">");
        html_esc(b, status_str(k, "error"));
        pf_buf_adds(b, "</p>\n");
    }
    if (status_str(k, "warning")[0] != '\0') {
        pf_buf_adds(b, "<p class=\"failed\">Klaviyo: ");
        html_esc(b, status_str(k, "warning"));
        pf_buf_adds(b, "</p>\n");
    }
    pf_buf_adds(b, "<table>\n");
    html_head(b, cols);
    cJSON_ArrayForEach(m, cJSON_GetObjectItem(k, "metrics")) {
        pf_buf_adds(b, "<tr><td>");
        html_esc(b, m->string);
        pf_buf_addf(b, "</td><td>%.0f</td><td>%.0f</td><td>%.0f</td><td>",
                    status_num(m, "pending"), status_num(m, "sent"),
                    status_num(m, "failed"));
        cJSON_ArrayForEach(r, cJSON_GetObjectItem(m, "skipped")) {
            html_esc(b, r->string);
            pf_buf_addf(b, " %.0f<br>", r->valuedouble);
        }
        pf_buf_adds(b, "</td><td>");
        cJSON_ArrayForEach(r, cJSON_GetObjectItem(m, "reasons")) {
            html_esc(b, cJSON_IsString(r) ? r->valuestring : "");
            pf_buf_adds(b, "<br>");
        }
        pf_buf_adds(b, "</td></tr>\n");
    }
    pf_buf_adds(b, "</tbody>\n</table>\n");
}

void
page_html(const cJSON *doc, int64_t now, struct pf_buf *b)
{
    page_html_at(doc, now, "", b);
}

void
page_html_at(const cJSON *doc, int64_t now, const char *base,
             struct pf_buf *b)
{
    int detail = cJSON_IsTrue(cJSON_GetObjectItem(doc, "detail"));

    pf_buf_adds(b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
                "<meta charset=\"utf-8\"><title>posfeed: ");
    html_esc(b, status_str(doc, "shop"));
    pf_buf_adds(b, "</title>\n<style>body{font:14px sans-serif;margin:2em;"
                "color:#222}table{border-collapse:collapse;margin:.5em 0 "
                "1.5em}td,th{border-bottom:1px solid #ddd;padding:3px 10px;"
                "text-align:left}th{background:#f4f4f4}.ok{color:#080}"
                ".failed{color:#b00}.parts a{white-space:nowrap}</style>"
                "</head><body>\n<h1>");
    html_esc(b, status_str(doc, "shop"));
    pf_buf_adds(b, "</h1>\n");
    html_overview(b, doc, detail);
    html_controls(b, detail, base);
    html_feeds(b, doc, now);
    html_clerk(b, doc);
    if (detail) {
        pf_buf_adds(b, "<h2>Orders per day, last 30 days (");
        html_esc(b, status_str(doc, "timezone"));
        pf_buf_adds(b, ")</h2>\n");
        html_chart(b, cJSON_GetObjectItem(doc, "orders_per_day"));
        html_verify(b, doc);
    }
    html_runs(b, doc, detail);
    if (detail)
        html_push(b, doc);
    if (!detail)
        pf_buf_adds(b, "<p>Counts and times only: the token shows the "
                    "source, sales, errors and every feed.</p>\n");
    pf_buf_addf(b, "<p><a href=\"%s/status.json\">status.json</a> "
                "&middot; <a href=\"/metrics\">metrics</a></p>\n",
                base);
    pf_buf_adds(b, "</body></html>\n");
}

/* ---- many shops -------------------------------------------------------- */

/* "3 h" for an age in seconds; "-" for none. */
static void
html_age(struct pf_buf *b, const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    double s;

    if (!cJSON_IsNumber(v)) {
        pf_buf_adds(b, "-");
        return;
    }
    s = v->valuedouble;
    if (s < 120)
        pf_buf_addf(b, "%.0f s", s);
    else if (s < 7200)
        pf_buf_addf(b, "%.0f min", s / 60);
    else if (s < 172800)
        pf_buf_addf(b, "%.0f h", s / 3600);
    else
        pf_buf_addf(b, "%.0f d", s / 86400);
}

static void
html_cell(struct pf_buf *b, const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);

    pf_buf_adds(b, "<td>");
    if (cJSON_IsString(v))
        html_esc(b, v->valuestring);
    else if (cJSON_IsNumber(v))
        pf_buf_addf(b, "%.0f", v->valuedouble);
    else
        pf_buf_adds(b, "-");
    pf_buf_adds(b, "</td>");
}

/* One row per shop: its link, run state, last and next run (with the
 * jitter that spreads it), feed ages, failed runs in a row. */
static void
html_shop_row(struct pf_buf *b, const cJSON *sh, int detail)
{
    const char *res = status_str(sh, "last_result");
    const cJSON *refused = cJSON_GetObjectItem(sh, "refused");

    pf_buf_adds(b, "<tr><td><a href=\"");
    html_esc(b, status_str(sh, "url"));
    pf_buf_adds(b, "\">");
    html_esc(b, status_str(sh, "name"));
    pf_buf_adds(b, "</a></td>");
    html_cell(b, sh, "state");
    html_cell(b, sh, "last_run");
    pf_buf_addf(b, "<td class=\"%s\">", strcmp(res, "failed") == 0
                ? "failed" : "ok");
    html_esc(b, *res ? res : "-");
    pf_buf_adds(b, "</td>");
    html_cell(b, sh, "next_run");
    html_cell(b, sh, "jitter_s");
    html_cell(b, sh, "feeds");
    pf_buf_adds(b, "<td>");
    html_age(b, sh, "newest_feed_age_s");
    pf_buf_adds(b, " / ");
    html_age(b, sh, "oldest_feed_age_s");
    pf_buf_adds(b, "</td>");
    html_cell(b, sh, "failures");
    if (detail) {
        pf_buf_adds(b, "<td class=\"failed\">");
        if (cJSON_IsString(refused))
            html_esc(b, refused->valuestring);
        pf_buf_adds(b, "</td>");
    }
    pf_buf_adds(b, "</tr>\n");
}

void
page_shops_html(const cJSON *doc, struct pf_buf *b)
{
    int detail = cJSON_IsTrue(cJSON_GetObjectItem(doc, "detail"));
    const cJSON *sh, *pool = cJSON_GetObjectItem(doc, "pool"), *r;

    pf_buf_adds(b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
                "<meta charset=\"utf-8\"><title>posfeed: shops</title>\n"
                "<style>body{font:14px sans-serif;margin:2em;color:#222}"
                "table{border-collapse:collapse;margin:.5em 0 1.5em}"
                "td,th{border-bottom:1px solid #ddd;padding:3px 10px;"
                "text-align:left}th{background:#f4f4f4}.ok{color:#080}"
                ".failed{color:#b00}</style></head><body>\n"
                "<h1>Shops</h1>\n");
    pf_buf_addf(b, "<p>%d shop(s); runs: %.0f of %.0f worker(s) busy, "
                "%.0f queued</p>\n",
                cJSON_GetArraySize(cJSON_GetObjectItem(doc, "shops")),
                status_num(pool, "running"), status_num(pool, "workers"),
                status_num(pool, "queued"));
    pf_buf_adds(b, "<table><tr><th>shop</th><th>state</th><th>last run"
                "</th><th>result</th><th>next run</th><th>jitter (s)</th>"
                "<th>feeds</th><th>feed age (newest / oldest)</th>"
                "<th>failures in a row</th>");
    if (detail)
        pf_buf_adds(b, "<th>config refused</th>");
    pf_buf_adds(b, "</tr>\n");
    cJSON_ArrayForEach(sh, cJSON_GetObjectItem(doc, "shops"))
        html_shop_row(b, sh, detail);
    pf_buf_adds(b, "</table>\n");
    if (detail && cJSON_GetArraySize(cJSON_GetObjectItem(doc, "refused"))) {
        pf_buf_adds(b, "<h2>Files refused</h2>\n<ul>\n");
        cJSON_ArrayForEach(r, cJSON_GetObjectItem(doc, "refused")) {
            pf_buf_adds(b, "<li>");
            html_esc(b, cJSON_IsString(r) ? r->valuestring : "");
            pf_buf_adds(b, "</li>\n");
        }
        pf_buf_adds(b, "</ul>\n");
    }
    if (!detail)
        pf_buf_adds(b, "<p>Times and counts only: the admin token shows "
                    "each shop's config and refused files.</p>\n");
    pf_buf_adds(b, "<p><a href=\"/status.json\">status.json</a> "
                "&middot; <a href=\"/metrics\">metrics</a></p>\n"
                "</body></html>\n");
}

/* ---- metrics ------------------------------------------------------------ */

/* The Prometheus text format, version 0.0.4
 * (prometheus.io/docs/instrumenting/exposition_formats/, "Text format
 * details"): each metric family is one group of lines, its HELP and TYPE
 * first (at most one of each), then all its samples; label values escape
 * backslash, double quote and newline. Counters end in _total, and a
 * counter that may exist shows a zero sample before its first event
 * (prometheus.io/docs/practices/instrumentation/, "Avoid missing
 * metrics"), so rate() and alerts see it from the first scrape. */

/* The start of a family: its HELP and TYPE lines. Help texts here are
 * constants without backslashes or newlines, which HELP would escape. */
static void
family(struct pf_buf *b, const char *name, const char *type,
       const char *help)
{
    pf_buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{shop="SHOP",label="value",extra} without the sample value;
 * shop NULL: no shop label (one shop), label NULL: none, extra: a
 * complete constant label pair or NULL. */
static void
sample_start(struct pf_buf *b, const char *name, const char *shop,
             const char *label, const char *value, const char *extra)
{
    const char *sep = "";

    pf_buf_adds(b, name);
    if (shop == NULL && label == NULL && extra == NULL) {
        pf_buf_adds(b, " ");
        return;
    }
    pf_buf_adds(b, "{");
    if (shop != NULL) {
        pf_buf_adds(b, "shop=\"");
        prom_esc(b, shop);
        pf_buf_adds(b, "\"");
        sep = ",";
    }
    if (label != NULL) {
        pf_buf_addf(b, "%s%s=\"", sep, label);
        prom_esc(b, value);
        pf_buf_adds(b, "\"");
        sep = ",";
    }
    if (extra != NULL)
        pf_buf_addf(b, "%s%s", sep, extra);
    pf_buf_adds(b, "} ");
}

/* One series per feed (the feed's name as people and the config know
 * it), however many files a split feed publishes; what = 0 bytes, 1
 * items, 2 parts. */
static void
feed_samples(struct pf_buf *b, const struct page_shop *sh, int what)
{
    static const char *const names[] = {
        "posfeed_feed_bytes", "posfeed_feed_items", "posfeed_feed_parts"
    };
    struct feed_view *v;
    int n, i;

    v = views_of(cJSON_GetObjectItem(sh->doc, "feeds"), &n);
    for (i = 0; i < n; i++) {
        const char *feed = status_str(v[i].main, "name");

        sample_start(b, names[what], sh->name, "feed", feed,
                     what == 0 ? "encoding=\"identity\"" : NULL);
        if (what == 0)
            pf_buf_addf(b, "%.0f\n", v[i].bytes);
        else if (what == 1)
            pf_buf_addf(b, "%.0f\n", status_num(v[i].main, "items"));
        else
            pf_buf_addf(b, "%d\n", v[i].nparts + 1);
        if (what != 0 || v[i].gz_bytes <= 0)
            continue;
        sample_start(b, names[0], sh->name, "feed", feed,
                     "encoding=\"gzip\"");
        pf_buf_addf(b, "%.0f\n", v[i].gz_bytes);
    }
    views_free(v, n);
}

static void
feed_metrics(struct pf_buf *b, const struct page_shop *shops, int n)
{
    int i;

    family(b, "posfeed_feed_bytes", "gauge", "Size of a published feed: "
           "all its parts when split, its index left out.");
    for (i = 0; i < n; i++)
        feed_samples(b, &shops[i], 0);
    family(b, "posfeed_feed_items", "gauge", "Items in a published feed.");
    for (i = 0; i < n; i++)
        feed_samples(b, &shops[i], 1);
    family(b, "posfeed_feed_parts", "gauge", "Documents a published feed "
           "is split into (1 unless max_file_size splits it).");
    for (i = 0; i < n; i++)
        feed_samples(b, &shops[i], 2);
}

/* Responses by status code: the codes this server sends always have a
 * series (zero until the first such response); any other code gets one
 * once it has been sent. */
static void
http_metrics(struct pf_buf *b, const struct page_counters *pc)
{
    static const unsigned sent[] = {
        200, 202, 206, 304, 400, 401, 404, 405, 409, 416, 500
    };
    size_t i, k;
    int known;

    family(b, "posfeed_http_requests_total", "counter",
           "HTTP responses sent, by status code.");
    for (i = 100; i < 600; i++) {
        known = 0;
        for (k = 0; k < sizeof(sent) / sizeof(sent[0]); k++)
            known |= sent[k] == i;
        if (known || pc->hits[i] > 0)
            pf_buf_addf(b, "posfeed_http_requests_total{code=\"%zu\"} "
                        "%lu\n", i, pc->hits[i]);
    }
    family(b, "posfeed_http_request_timeouts_total", "counter",
           "Connections closed because their request was not in within "
           "header_timeout.");
    pf_buf_addf(b, "posfeed_http_request_timeouts_total %lu\n", pc->cut);
    family(b, "posfeed_feed_file_opens_total", "counter",
           "Feed files opened by the server: by a refresh of its feeds "
           "cache (once per publish), by a request (a full response, "
           "never a 304).");
    pf_buf_addf(b, "posfeed_feed_file_opens_total{by=\"refresh\"} %lu\n",
                pc->feed_opens);
    pf_buf_addf(b, "posfeed_feed_file_opens_total{by=\"request\"} %lu\n",
                pc->request_opens);
    family(b, "posfeed_feed_cache_refreshes_total", "counter",
           "Times the server re-read the published feeds.");
    pf_buf_addf(b, "posfeed_feed_cache_refreshes_total %lu\n",
                pc->feed_refreshes);
}

static void
store_metrics(struct pf_buf *b, const struct page_shop *shops, int n)
{
    const cJSON *e;
    int i;

    family(b, "posfeed_store_rows", "gauge", "Rows in the store.");
    for (i = 0; i < n; i++)
        cJSON_ArrayForEach(e, cJSON_GetObjectItem(shops[i].doc, "counts")) {
            sample_start(b, "posfeed_store_rows", shops[i].name, "table",
                         e->string, NULL);
            pf_buf_addf(b, "%.0f\n", e->valuedouble);
        }
}

/* The run families: one sample per shop. */
static void
run_metrics(struct pf_buf *b, const struct page_shop *shops, int n)
{
    int i;

    family(b, "posfeed_runs_total", "counter",
           "Pipeline runs recorded in the store.");
    for (i = 0; i < n; i++) {
        sample_start(b, "posfeed_runs_total", shops[i].name, NULL, NULL,
                     NULL);
        pf_buf_addf(b, "%.0f\n", shops[i].pc->runs);
    }
    family(b, "posfeed_run_failures_total", "counter",
           "Runs that ended in failure.");
    for (i = 0; i < n; i++) {
        sample_start(b, "posfeed_run_failures_total", shops[i].name, NULL,
                     NULL, NULL);
        pf_buf_addf(b, "%.0f\n", shops[i].pc->failed);
    }
    family(b, "posfeed_last_success_timestamp_seconds", "gauge",
           "End of the last successful run (unix time; 0 before the "
           "first).");
    for (i = 0; i < n; i++) {
        sample_start(b, "posfeed_last_success_timestamp_seconds",
                     shops[i].name, NULL, NULL, NULL);
        pf_buf_addf(b, "%.0f\n", shops[i].pc->last_ok);
    }
    family(b, "posfeed_run_in_progress", "gauge",
           "1 while a run started by this server is going.");
    for (i = 0; i < n; i++) {
        sample_start(b, "posfeed_run_in_progress", shops[i].name, NULL,
                     NULL, NULL);
        pf_buf_addf(b, "%d\n", shops[i].pc->running ? 1 : 0);
    }
}

void
page_metrics_shops(const struct page_shop *shops, int n,
                   const struct page_counters *server, struct pf_buf *b)
{
    run_metrics(b, shops, n);
    store_metrics(b, shops, n);
    feed_metrics(b, shops, n);
    http_metrics(b, server);
}

/* One family while merging: its HELP/TYPE lines and its samples. */
struct fam {
    char *name;
    struct pf_buf head, samples;
};

/* The family a block of text starting at "# HELP NAME" belongs to, made
 * on first sight; families keep their first order. */
static struct fam *
fam_of(struct fam **v, size_t *n, const char *name, size_t len, int *isnew)
{
    size_t i;

    *isnew = 0;
    for (i = 0; i < *n; i++)
        if (strlen((*v)[i].name) == len &&
            strncmp((*v)[i].name, name, len) == 0)
            return &(*v)[i];
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[*n].name = xstrndup(name, len);
    pf_buf_init(&(*v)[*n].head);
    pf_buf_init(&(*v)[*n].samples);
    *isnew = 1;
    return &(*v)[(*n)++];
}

void
page_metrics_merge(const struct pf_buf *parts, int nparts, struct pf_buf *b)
{
    struct fam *v = NULL, *f = NULL;
    size_t n = 0, i, len;
    const char *p, *end, *eol;
    int k, isnew = 0;

    for (k = 0; k < nparts; k++) {
        p = parts[k].data;
        end = p + parts[k].len;
        for (; p != NULL && p < end; p = eol + 1) {
            eol = memchr(p, '\n', (size_t)(end - p));
            if (eol == NULL)
                eol = end;
            if (strncmp(p, "# HELP ", 7) == 0) {
                len = strcspn(p + 7, " \n");
                f = fam_of(&v, &n, p + 7, len, &isnew);
            }
            if (f == NULL)
                continue;   /* text before any family: none expected */
            if (p[0] == '#') {
                if (isnew)
                    pf_buf_add(&f->head, p, (size_t)(eol - p) + 1);
            }
            else {
                pf_buf_add(&f->samples, p, (size_t)(eol - p) + 1);
            }
            if (eol == end)
                break;
        }
        isnew = 0;
        f = NULL;
    }
    for (i = 0; i < n; i++) {
        if (v[i].head.len > 0)
            pf_buf_add(b, v[i].head.data, v[i].head.len);
        if (v[i].samples.len > 0)
            pf_buf_add(b, v[i].samples.data, v[i].samples.len);
        pf_buf_free(&v[i].head);
        pf_buf_free(&v[i].samples);
        free(v[i].name);
    }
    free(v);
}

void
page_pool_metrics(const struct pool_stats *ps, struct pf_buf *b)
{
    family(b, "posfeed_pool_workers", "gauge",
           "Runs the pool may have going at once.");
    pf_buf_addf(b, "posfeed_pool_workers %u\n", ps->workers);
    family(b, "posfeed_pool_running", "gauge", "Runs going now.");
    pf_buf_addf(b, "posfeed_pool_running %u\n", ps->running);
    family(b, "posfeed_pool_queued", "gauge",
           "Runs waiting for a worker.");
    pf_buf_addf(b, "posfeed_pool_queued %u\n", ps->queued);
    family(b, "posfeed_pool_runs_total", "counter",
           "Runs the pool ended, by result.");
    pf_buf_addf(b, "posfeed_pool_runs_total{result=\"ok\"} %lu\n"
                "posfeed_pool_runs_total{result=\"failed\"} %lu\n"
                "posfeed_pool_runs_total{result=\"timed_out\"} %lu\n",
                ps->ok, ps->failed, ps->timed_out);
}

void
page_metrics(const cJSON *doc, const struct page_counters *pc,
             struct pf_buf *b)
{
    struct page_shop one = {NULL, doc, pc};

    page_metrics_shops(&one, 1, pc, b);
}
