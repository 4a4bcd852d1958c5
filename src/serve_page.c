/* serve_page.c - see serve_page.h. */
#include "serve_page.h"

#include <stdio.h>
#include <string.h>

#include "timeutil.h"

static const char *
jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);

    return cJSON_IsString(v) ? v->valuestring : "";
}

static double
jnum(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);

    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

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

/* ---- the page ----------------------------------------------------------- */

/* Orders per day as bars, with the date and count in each bar's title so
 * a merchant can hover to compare with the POS. */
static void
html_chart(struct pf_buf *b, const cJSON *days)
{
    const cJSON *d;
    double max = 0;
    int n = cJSON_GetArraySize(days), i = 0;
    const int w = 720, h = 180, top = 20, bottom = 24;
    double bw = n > 0 ? (double)w / n : w;

    cJSON_ArrayForEach(d, days)
        if (jnum(d, "orders") > max)
            max = jnum(d, "orders");
    pf_buf_addf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
                "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                "role=\"img\" aria-label=\"orders per day\">\n", w, h, w, h);
    pf_buf_addf(b, "<line x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
                "stroke=\"#888\"/>\n", h - bottom, w, h - bottom);
    cJSON_ArrayForEach(d, days) {
        double v = jnum(d, "orders");
        double bh = max > 0 ? v / max * (h - top - bottom) : 0;

        pf_buf_addf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                    "height=\"%.1f\" fill=\"#3b7dd8\"><title>", i * bw + 1,
                    h - bottom - bh, bw - 2, bh);
        html_esc(b, jstr(d, "date"));
        pf_buf_addf(b, ": %.0f orders</title></rect>\n", v);
        if (v > 0)
            pf_buf_addf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" "
                        "text-anchor=\"middle\">%.0f</text>\n",
                        i * bw + bw / 2, h - bottom - bh - 3, v);
        if (i == 0 || i == n - 1 || i % 7 == 0) {
            pf_buf_addf(b, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" "
                        "text-anchor=\"middle\">", i * bw + bw / 2, h - 8);
            html_esc(b, jstr(d, "date") + (strlen(jstr(d, "date")) > 5
                                               ? 5 : 0));
            pf_buf_adds(b, "</text>\n");
        }
        i++;
    }
    pf_buf_adds(b, "</svg>\n");
}

/* The token field with "Sync now" and, on the redacted page, "Show
 * detail": it checks the token against /status.json and then replaces
 * the page with the one the token unlocks, so the token never goes into
 * a URL. */
static void
html_controls(struct pf_buf *b, int detail)
{
    pf_buf_adds(b, "<p><label>token <input type=\"password\" id=\"tok\" "
                "autocomplete=\"off\"></label> <button id=\"sync\" "
                "type=\"button\">Sync now</button> ");
    if (!detail)
        pf_buf_adds(b, "<button id=\"detail\" type=\"button\">Show detail"
                    "</button> ");
    pf_buf_adds(b, "<span id=\"msg\"></span></p>\n<script>\n"
                "var msg = document.getElementById('msg');\n"
                "function auth() {\n  return {'Authorization': 'Bearer ' +"
                " document.getElementById('tok').value};\n}\n"
                "document.getElementById('sync').onclick = function () {\n"
                "  fetch('/sync', {method: 'POST', headers: auth()})"
                ".then(function (r) {\n"
                "    msg.textContent =\n"
                "      r.status === 202 ? 'run started' : r.status === 409"
                " ?\n      'a run is already going' : r.status === 401 ?\n"
                "      'wrong token' : 'error ' + r.status;\n"
                "  });\n};\n"
                "var d = document.getElementById('detail');\n"
                "if (d) d.onclick = function () {\n"
                "  var h = auth();\n"
                "  fetch('/status.json', {headers: h}).then(function (r) {\n"
                "    return r.json();\n  }).then(function (j) {\n"
                "    if (!j.detail) {\n      msg.textContent = 'wrong token';"
                "\n      return;\n    }\n"
                "    return fetch('/', {headers: h}).then(function (r) {\n"
                "      return r.text();\n    }).then(function (t) {\n"
                "      document.open();\n      document.write(t);\n"
                "      document.close();\n    });\n  });\n};\n"
                "</script>\n");
}

static void
html_overview(struct pf_buf *b, const cJSON *doc, int detail)
{
    const cJSON *sv = cJSON_GetObjectItem(doc, "serve");

    pf_buf_adds(b, "<table>\n");
    if (detail) {
        pf_buf_adds(b, "<tr><th>source</th><td>");
        html_esc(b, jstr(doc, "source"));
        pf_buf_adds(b, " ");
        html_esc(b, jstr(doc, "source_path"));
        pf_buf_adds(b, "</td></tr>\n");
    }
    pf_buf_adds(b, "<tr><th>timezone</th><td>");
    html_esc(b, jstr(doc, "timezone"));
    pf_buf_adds(b, "</td></tr>\n<tr><th>schedule</th><td>");
    html_esc(b, jstr(sv, "schedule"));
    pf_buf_adds(b, "</td></tr>\n<tr><th>next run</th><td>");
    html_esc(b, *jstr(sv, "next_run_local") ? jstr(sv, "next_run_local")
                                             : "on demand only");
    pf_buf_adds(b, "</td></tr>\n<tr><th>running now</th><td>");
    pf_buf_adds(b, cJSON_IsNumber(cJSON_GetObjectItem(sv, "running"))
                       ? "yes" : "no");
    pf_buf_adds(b, "</td></tr>\n</table>\n");
}

static void
html_feeds(struct pf_buf *b, const cJSON *doc, int64_t now)
{
    const cJSON *f;
    int64_t pub;
    char b1[32], b2[32], age[32];
    double others = jnum(doc, "other_feeds");

    pf_buf_adds(b, "<h2>Feeds</h2>\n<table>\n<tr><th>feed</th><th>URL</th>"
                "<th>items</th><th>size</th><th>gzip</th><th>age</th>"
                "<th>access</th></tr>\n");
    cJSON_ArrayForEach(f, cJSON_GetObjectItem(doc, "feeds")) {
        pf_buf_adds(b, "<tr><td>");
        html_esc(b, jstr(f, "name"));
        pf_buf_adds(b, "</td><td><a href=\"");
        html_esc(b, jstr(f, "url"));
        pf_buf_adds(b, "\">");
        html_esc(b, jstr(f, "url"));
        pf_human_bytes((int64_t)jnum(f, "bytes"), b1);
        pf_human_bytes((int64_t)jnum(f, "gz_bytes"), b2);
        pub = 0;
        pf_time_parse(jstr(f, "published"), &pub, NULL);
        human_age(now - pub, age);
        pf_buf_addf(b, "</a></td><td>%.0f</td><td>%s</td><td>%s</td>"
                    "<td>%s</td><td>", jnum(f, "items"), b1,
                    jnum(f, "gz_bytes") > 0 ? b2 : "-", age);
        html_esc(b, jstr(f, "access"));
        pf_buf_adds(b, "</td></tr>\n");
    }
    pf_buf_adds(b, "</table>\n");
    if (others > 0)
        pf_buf_addf(b, "<p>%.0f more feed%s need%s the token.</p>\n",
                    others, others == 1 ? "" : "s", others == 1 ? "s" : "");
}

static void
html_runs(struct pf_buf *b, const cJSON *doc, int detail)
{
    const cJSON *e, *r;

    pf_buf_adds(b, "<h2>Last runs</h2>\n<table>\n<tr><th>#</th><th>kind"
                "</th><th>started (UTC)</th><th>seconds</th><th>result</th>"
                "<th>warnings</th>");
    pf_buf_adds(b, detail ? "<th>rows</th><th>error</th></tr>\n"
                          : "</tr>\n");
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, "runs")) {
        pf_buf_addf(b, "<tr><td>%.0f</td><td>", jnum(e, "id"));
        html_esc(b, jstr(e, "kind"));
        pf_buf_adds(b, "</td><td>");
        html_esc(b, jstr(e, "started"));
        pf_buf_addf(b, "</td><td>%.0f</td><td class=\"", jnum(e,
                                                               "seconds"));
        html_esc(b, jstr(e, "result"));
        pf_buf_adds(b, "\">");
        html_esc(b, jstr(e, "result"));
        pf_buf_addf(b, "</td><td>%.0f</td>", jnum(e, "warnings"));
        if (detail) {
            pf_buf_adds(b, "<td>");
            cJSON_ArrayForEach(r, cJSON_GetObjectItem(e, "rows")) {
                html_esc(b, r->string);
                pf_buf_addf(b, " %.0f<br>", r->valuedouble);
            }
            pf_buf_adds(b, "</td><td>");
            html_esc(b, jstr(e, "error"));
            pf_buf_adds(b, "</td>");
        }
        pf_buf_adds(b, "</tr>\n");
    }
    pf_buf_adds(b, "</table>\n");
}

void
page_html(const cJSON *doc, int64_t now, struct pf_buf *b)
{
    int detail = cJSON_IsTrue(cJSON_GetObjectItem(doc, "detail"));

    pf_buf_adds(b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
                "<meta charset=\"utf-8\"><title>posfeed: ");
    html_esc(b, jstr(doc, "shop"));
    pf_buf_adds(b, "</title>\n<style>body{font:14px sans-serif;margin:2em;"
                "color:#222}table{border-collapse:collapse;margin:.5em 0 "
                "1.5em}td,th{border-bottom:1px solid #ddd;padding:3px 10px;"
                "text-align:left}th{background:#f4f4f4}.ok{color:#080}"
                ".failed{color:#b00}</style></head><body>\n<h1>");
    html_esc(b, jstr(doc, "shop"));
    pf_buf_adds(b, "</h1>\n");
    html_overview(b, doc, detail);
    html_controls(b, detail);
    html_feeds(b, doc, now);
    if (detail) {
        pf_buf_adds(b, "<h2>Orders per day, last 30 days (");
        html_esc(b, jstr(doc, "timezone"));
        pf_buf_adds(b, ")</h2>\n");
        html_chart(b, cJSON_GetObjectItem(doc, "orders_per_day"));
    }
    html_runs(b, doc, detail);
    if (!detail)
        pf_buf_adds(b, "<p>Counts and times only: the token shows the "
                    "source, sales, errors and every feed.</p>\n");
    pf_buf_adds(b, "<p><a href=\"/status.json\">status.json</a> "
                "&middot; <a href=\"/metrics\">metrics</a></p>\n"
                "</body></html>\n");
}

/* ---- metrics ------------------------------------------------------------ */

static void
metric(struct pf_buf *b, const char *name, const char *type,
       const char *help)
{
    pf_buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
feed_metrics(struct pf_buf *b, const cJSON *feeds)
{
    const cJSON *e;

    metric(b, "posfeed_feed_bytes", "gauge", "Size of a published feed.");
    cJSON_ArrayForEach(e, feeds) {
        pf_buf_adds(b, "posfeed_feed_bytes{feed=\"");
        prom_esc(b, jstr(e, "name"));
        pf_buf_addf(b, "\",encoding=\"identity\"} %.0f\n",
                    jnum(e, "bytes"));
        if (jnum(e, "gz_bytes") > 0) {
            pf_buf_adds(b, "posfeed_feed_bytes{feed=\"");
            prom_esc(b, jstr(e, "name"));
            pf_buf_addf(b, "\",encoding=\"gzip\"} %.0f\n",
                        jnum(e, "gz_bytes"));
        }
    }
    metric(b, "posfeed_feed_items", "gauge", "Items in a published feed.");
    cJSON_ArrayForEach(e, feeds) {
        pf_buf_adds(b, "posfeed_feed_items{feed=\"");
        prom_esc(b, jstr(e, "name"));
        pf_buf_addf(b, "\"} %.0f\n", jnum(e, "items"));
    }
}

void
page_metrics(const cJSON *doc, const struct page_counters *pc,
             struct pf_buf *b)
{
    const cJSON *e;
    size_t i;

    metric(b, "posfeed_runs_total", "counter",
           "Pipeline runs recorded in the store.");
    pf_buf_addf(b, "posfeed_runs_total %.0f\n", pc->runs);
    metric(b, "posfeed_run_failures_total", "counter",
           "Runs that ended in failure.");
    pf_buf_addf(b, "posfeed_run_failures_total %.0f\n", pc->failed);
    metric(b, "posfeed_last_success_timestamp_seconds", "gauge",
           "End of the last successful run (unix time).");
    pf_buf_addf(b, "posfeed_last_success_timestamp_seconds %.0f\n",
                pc->last_ok);
    metric(b, "posfeed_run_in_progress", "gauge",
           "1 while a run started by this server is going.");
    pf_buf_addf(b, "posfeed_run_in_progress %d\n", pc->running ? 1 : 0);
    metric(b, "posfeed_store_rows", "gauge", "Rows in the store.");
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, "counts")) {
        pf_buf_adds(b, "posfeed_store_rows{table=\"");
        prom_esc(b, e->string);
        pf_buf_addf(b, "\"} %.0f\n", e->valuedouble);
    }
    feed_metrics(b, cJSON_GetObjectItem(doc, "feeds"));
    metric(b, "posfeed_http_requests_total", "counter",
           "HTTP responses sent, by status code.");
    for (i = 100; i < 600; i++)
        if (pc->hits[i] > 0)
            pf_buf_addf(b, "posfeed_http_requests_total{code=\"%zu\"} "
                        "%lu\n", i, pc->hits[i]);
    metric(b, "posfeed_http_request_timeouts_total", "counter",
           "Connections closed because their request was not in within "
           "header_timeout.");
    pf_buf_addf(b, "posfeed_http_request_timeouts_total %lu\n", pc->cut);
}
