/* rows_customers.c - customer rows. See rows.h. */
#include "rows.h"

static const char sql_customers[] =
    "SELECT id, email, first_name, last_name, company, title, address1, "
    "address2, city, region, zip, country, phone, consent, created_at, "
    ROWS_PROPERTIES_SQL("customer", "customers") " FROM";

int
rows_customers_open(struct feed_data *d, struct feed_cursor *fc,
                    struct pf_err *err)
{
    /* include_customers = no: the collection is simply empty. */
    return rows_main_open(d, &fc->main, sql_customers, "customers",
                          d->ss->include_customers ? NULL : "0",
                          "customers", err);
}

int
rows_customer(struct feed_data *d, struct feed_cursor *fc,
              struct pf_obj **out)
{
    struct cursor *c = &fc->main;
    struct pf_obj *o = pf_obj_new(&d->row);
    const char *first = cur_col(c, 2), *last = cur_col(c, 3);
    struct pf_buf name;
    int consent_known = sqlite3_column_type(c->st, 13) != SQLITE_NULL;

    pf_buf_init(&name);
    pf_buf_adds(&name, first);
    if (first[0] && last[0])
        pf_buf_addc(&name, ' ');
    pf_buf_adds(&name, last);
    rows_set(d, o, "id", rows_text(d, c, 0));
    if (d->ss->collect_emails)
        rows_set(d, o, "email", rows_text(d, c, 1));
    rows_set(d, o, "first_name", rows_text(d, c, 2));
    rows_set(d, o, "last_name", rows_text(d, c, 3));
    rows_set(d, o, "name", pf_v_strn(&d->row, name.data ? name.data : "",
                                     name.len));
    rows_set(d, o, "company", rows_text(d, c, 4));
    rows_set(d, o, "title", rows_text(d, c, 5));
    rows_set(d, o, "address1", rows_text(d, c, 6));
    rows_set(d, o, "address2", rows_text(d, c, 7));
    rows_set(d, o, "city", rows_text(d, c, 8));
    rows_set(d, o, "region", rows_text(d, c, 9));
    rows_set(d, o, "zip", rows_text(d, c, 10));
    rows_set(d, o, "country", rows_text(d, c, 11));
    rows_set(d, o, "phone", rows_text(d, c, 12));
    /* Consent is never raised: unknown is not yes. */
    rows_set(d, o, "subscribed",
             pf_v_bool(consent_known && sqlite3_column_int(c->st, 13) == 1));
    if (consent_known)
        rows_set(d, o, "consent", pf_v_bool(sqlite3_column_int(c->st, 13)));
    rows_set(d, o, "created_at", rows_time(c, 14));
    rows_set(d, o, "properties", rows_properties(d, c, 15));
    pf_buf_free(&name);
    *out = o;
    return 1;
}
