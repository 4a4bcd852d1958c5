/* rows_pages.c - page rows: the shop's text pages and blog articles
 * (Clerk's pages entity). See rows.h. */
#include "rows.h"

static const char sql_pages[] =
    "SELECT id, kind, title, url, summary, content, image, author, "
    "created_at, updated_at FROM";

/* include_pages = no: the collection exists (templates name it) but has
 * no rows, as Clerk's own integrations send no pages then. */
int
rows_pages_open(struct feed_data *d, struct feed_cursor *fc,
                struct pf_err *err)
{
    return rows_main_open(d, &fc->main, sql_pages, "pages",
                          d->ss->include_pages ? "visible = 1" : "0",
                          "pages", err);
}

int
rows_page(struct feed_data *d, struct feed_cursor *fc, struct pf_obj **out)
{
    struct cursor *c = &fc->main;
    struct pf_obj *o = pf_obj_new(&d->row);
    struct pf_value text = rows_text(d, c, 5);

    /* A page without a body is searched by its summary. */
    if (text.type == PF_NULL)
        text = rows_text(d, c, 4);
    rows_set(d, o, "id", rows_text(d, c, 0));
    rows_set(d, o, "type", rows_text(d, c, 1));
    rows_set(d, o, "title", rows_text(d, c, 2));
    rows_set(d, o, "url", rows_url(d, cur_col(c, 3)));
    rows_set(d, o, "summary", rows_text(d, c, 4));
    rows_set(d, o, "text", text);
    rows_set(d, o, "image", rows_url(d, cur_col(c, 6)));
    rows_set(d, o, "author", rows_text(d, c, 7));
    rows_set(d, o, "created_at", rows_time(c, 8));
    rows_set(d, o, "updated_at", rows_time(c, 9));
    *out = o;
    return 1;
}
