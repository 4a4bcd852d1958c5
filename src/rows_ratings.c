/* rows_ratings.c - a product's rating (average score of its visible
 * reviews) and rating_count, read in one pass beside the products. See
 * rows.h. */
#include "rows.h"

#include <stdio.h>

/* Hidden reviews do not count: the shop does not show them either. The
 * average is taken here, at build time, so a review that is hidden,
 * deleted or added changes the next feed without touching products. */
static const struct rows_sql sql_ratings = ROWS_SQL_AND(
    "SELECT product_id, avg(score), count(*) FROM reviews "
    "WHERE visible = 1", "product_id",
    " GROUP BY product_id ORDER BY product_id");

int
rows_ratings_open(struct feed_data *d, struct feed_cursor *fc,
                  struct pf_err *err)
{
    if (!d->ss->include_ratings)
        return 0;
    return rows_child_open(d, &fc->ratings, &sql_ratings, "reviews", err);
}

/* The average as a number with one decimal place ("4.3"): scores are
 * 0..5, so tenths are exact enough and never print as 4.2999. */
static struct pf_value
rating_value(struct feed_data *d, double avg)
{
    long long tenths = (long long)(avg * 10.0 + 0.5);
    char buf[32];
    struct pf_value v;

    snprintf(buf, sizeof(buf), "%lld.%lld", tenths / 10, tenths % 10);
    v = pf_v_str(&d->row, buf);
    v.type = PF_NUM;
    return v;
}

int
rows_rating_set(struct feed_data *d, struct feed_cursor *fc,
                const char *pid, struct pf_obj *o, struct pf_err *err)
{
    struct cursor *c = &fc->ratings;
    int m;

    if (c->st == NULL)
        return 0;
    m = cur_seek(c, 0, pid, err);
    if (m < 0)
        return -1;
    /* No visible review: a count of 0 and no average (none exists). */
    if (m == 0) {
        rows_set(d, o, "rating_count", pf_v_int(0));
        return 0;
    }
    rows_set(d, o, "rating",
             rating_value(d, sqlite3_column_double(c->st, 1)));
    rows_set(d, o, "rating_count",
             pf_v_int(sqlite3_column_int64(c->st, 2)));
    return 0;
}
