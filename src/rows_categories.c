/* rows_categories.c - category rows, each with the ids of its direct
 * children. See rows.h. */
#include "rows.h"

#include <stdlib.h>

static const char sql_categories[] =
    "SELECT id, name, url, parent_id, depth, full_path, shown FROM";
/* categories_parent orders by parent only: position and id are sorted. */
static const struct rows_sql sql_children_all = ROWS_SQL_SORTED(
    "SELECT parent_id, id FROM categories WHERE parent_id IS NOT NULL",
    "parent_id", " ORDER BY parent_id, position, id");
static const struct rows_sql sql_children_shown = ROWS_SQL_SORTED(
    "SELECT parent_id, id FROM categories WHERE parent_id IS NOT NULL "
    "AND shown = 1", "parent_id", " ORDER BY parent_id, position, id");

int
rows_categories_open(struct feed_data *d, struct feed_cursor *fc,
                     struct pf_err *err)
{
    int all = d->ss->include_hidden_categories;

    if (rows_main_open(d, &fc->main, sql_categories, "categories",
                       all ? NULL : "shown = 1", "categories", err) != 0 ||
        rows_child_open(d, &fc->c1, all ? &sql_children_all
                                        : &sql_children_shown,
                        "subcategories", err) != 0)
        return -1;
    return 0;
}

int
rows_category(struct feed_data *d, struct feed_cursor *fc,
              struct pf_obj **out, struct pf_err *err)
{
    struct cursor *c = &fc->main;
    const char *id = cur_col(c, 0);
    struct pf_obj *o = pf_obj_new(&d->row);
    struct vlist kids = {0};
    int m;

    for (m = cur_seek(&fc->c1, 0, id, err); m == 1;
         m = cur_next(&fc->c1, 0, id, err))
        vl_add(&kids, rows_text(d, &fc->c1, 1));
    if (m < 0) {
        free(kids.items);
        return -1;
    }
    rows_set(d, o, "id", rows_text(d, c, 0));
    rows_set(d, o, "name", rows_text(d, c, 1));
    rows_set(d, o, "url", rows_url(d, cur_col(c, 2)));
    rows_set(d, o, "parent_id", rows_text(d, c, 3));
    rows_set(d, o, "depth", pf_v_int(sqlite3_column_int64(c->st, 4)));
    rows_set(d, o, "path", rows_text(d, c, 5));
    rows_set(d, o, "visible", pf_v_bool(sqlite3_column_int(c->st, 6)));
    rows_set(d, o, "subcategories", vl_value(d, &kids));
    free(kids.items);
    *out = o;
    return 1;
}
