/* source_dutchie_map.c - what each Dutchie record becomes in the store
 * (see source_dutchie.h for the ids and the rules), and the readers that
 * take the API's field names in any case. */
#include "source_dutchie_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

#define DUT_MAX_ATTRS 24
#define DUT_MAX_IMAGES 16

/* ---- readers ------------------------------------------------------------ */

/* cJSON_GetObjectItem compares names case-insensitively: /whoami is
 * camelCase in the spec and PascalCase on some accounts. */
const char *
dut_str(const cJSON *o, const char *key, char *buf)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);

    if (cJSON_IsString(v))
        return v->valuestring[0] != '\0' ? v->valuestring : NULL;
    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v) ? "true" : "false";
    if (!cJSON_IsNumber(v))
        return NULL;
    if (v->valuedouble == floor(v->valuedouble) &&
        fabs(v->valuedouble) < 9e15)
        snprintf(buf, 64, "%.0f", v->valuedouble);
    else
        snprintf(buf, 64, "%.15g", v->valuedouble);
    return buf;
}

int
dut_bool(const cJSON *o, const char *key, int dflt)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);

    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v);
    if (cJSON_IsNumber(v))
        return v->valuedouble != 0;
    if (cJSON_IsString(v) && pf_strcaseeq(v->valuestring, "true"))
        return 1;
    if (cJSON_IsString(v) && pf_strcaseeq(v->valuestring, "false"))
        return 0;
    return dflt;
}

int
dut_num(const cJSON *o, const char *key, double *out)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    char *end;

    if (cJSON_IsNumber(v)) {
        *out = v->valuedouble;
        return isfinite(*out) ? 1 : -1;
    }
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
        return 0;
    *out = strtod(v->valuestring, &end);
    return *end == '\0' && isfinite(*out) ? 1 : -1;
}

int
dut_money(const cJSON *o, const char *key, int decimals, int64_t *minor)
{
    double v, scaled;
    int r = dut_num(o, key, &v);

    if (r != 1)
        return r;
    scaled = round(v * pow(10, decimals));
    if (fabs(scaled) > (double)STORE_MAX_MONEY)
        return -1;
    *minor = (int64_t)scaled;
    return 1;
}

int
dut_time(const cJSON *o, const char *key, int64_t *out)
{
    char buf[64];
    const char *s = dut_str(o, key, buf);

    if (s == NULL)
        return 0;
    return pf_time_parse(s, out, NULL) == 0 ? 1 : -1;
}

const char *
dut_text(struct dut *D, const cJSON *o, const char *key)
{
    char buf[64];
    const char *s = dut_str(o, key, buf);
    struct pf_buf b;
    const char *out;

    if (s == NULL)
        return NULL;
    if (pf_utf8_valid(s, strlen(s)))
        return pf_arena_strdup(&D->arena, s);
    pf_buf_init(&b);
    pf_utf8_repair(&b, s, strlen(s));
    pf_buf_addc(&b, '\0');
    out = pf_arena_strdup(&D->arena, b.data);
    pf_buf_free(&b);
    return out;
}

/* ---- helpers ------------------------------------------------------------ */

static int
exec3(struct dut *D, const char *sql, const char *a, const char *b,
      const char *c)
{
    struct pf_err e;
    sqlite3_stmt *st = store_stmt(D->s, sql, &e);

    if (st == NULL) {
        dut_store_failed(D, &e);
        return -1;
    }
    sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
    if (b != NULL)
        sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT);
    if (c != NULL)
        sqlite3_bind_text(st, 3, c, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) {
        pf_errf(&e, "store: %s", sqlite3_errmsg(store_db(D->s)));
        dut_store_failed(D, &e);
        sqlite3_reset(st);
        return -1;
    }
    sqlite3_reset(st);
    return 0;
}

/* The first column of the first row of sql(a, b), in the arena; NULL
 * when none (a store error is kept for the transaction). */
static const char *
query2(struct dut *D, const char *sql, const char *a, const char *b)
{
    struct pf_err e;
    sqlite3_stmt *st = store_stmt(D->s, sql, &e);
    const char *out = NULL;
    int r;

    if (st == NULL) {
        dut_store_failed(D, &e);
        return NULL;
    }
    sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
    if (b != NULL)
        sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT);
    r = store_step(D->s, st, &e, "reading the Dutchie maps");
    if (r == 1 && sqlite3_column_type(st, 0) != SQLITE_NULL)
        out = pf_arena_strdup(&D->arena,
                              (const char *)sqlite3_column_text(st, 0));
    if (r < 0)
        dut_store_failed(D, &e);
    sqlite3_reset(st);
    return out;
}

static const char *
loc_scoped(struct dut *D, size_t li, const char *id)
{
    char *s = xasprintf("%s-%s", D->locs[li].id, id);
    const char *out = pf_arena_strdup(&D->arena, s);

    free(s);
    return out;
}

int
dut_tables(struct dut *D, struct pf_err *err)
{
    /* Which location's listing a product's fields come from, and how
     * each location's customer ids map onto the store's customers. */
    return store_exec(D->s,
        "CREATE TABLE IF NOT EXISTS dut_products ("
        "  product_id TEXT PRIMARY KEY, location_id TEXT NOT NULL);"
        "CREATE TABLE IF NOT EXISTS dut_customers ("
        "  location_id TEXT NOT NULL, customer_id TEXT NOT NULL,"
        "  unique_id TEXT, store_id TEXT, merged_into TEXT,"
        "  PRIMARY KEY (location_id, customer_id)) WITHOUT ROWID;"
        "CREATE INDEX IF NOT EXISTS dut_customers_unique"
        "  ON dut_customers(unique_id);", err);
}

int
dut_location_put(struct dut *D, const struct dut_loc *l,
                 struct pf_err *err)
{
    struct store_location loc = {l->id, l->name, NULL};

    return store_put_location(D->s, &loc, err);
}

/* ---- products ----------------------------------------------------------- */

/* The index of location id among the keys, or nlocs. */
static size_t
loc_index(const struct dut *D, const char *id)
{
    size_t i;

    for (i = 0; id != NULL && i < D->nlocs; i++)
        if (strcmp(D->locs[i].id, id) == 0)
            break;
    return id != NULL ? i : D->nlocs;
}

/* 1 when location li sets the product's fields: nobody did, it did, or
 * it comes before the one that did (the first key's location wins). */
static int
owns(struct dut *D, size_t li, const char *pid)
{
    const char *owner = query2(D, "SELECT location_id FROM dut_products "
                               "WHERE product_id = ?1", pid, NULL);

    if (owner != NULL && loc_index(D, owner) < li)
        return 0;
    if (owner != NULL && strcmp(owner, D->locs[li].id) == 0)
        return 1;
    return exec3(D, "INSERT INTO dut_products(product_id, location_id) "
                 "VALUES (?1, ?2) ON CONFLICT(product_id) DO UPDATE SET "
                 "location_id = excluded.location_id", pid,
                 D->locs[li].id, NULL) == 0 ? 1 : -1;
}

static int64_t
product_price(struct dut *D, const cJSON *rec)
{
    const char *key = D->o->price == DUT_PRICE_REC ? "recPrice"
        : D->o->price == DUT_PRICE_MED ? "medPrice" : "price";
    int64_t p = 0;

    if (dut_money(rec, key, D->decimals, &p) != 1 &&
        dut_money(rec, "price", D->decimals, &p) != 1)
        p = 0;
    return p < 0 ? 0 : p;
}

/* The product_url pattern with {sku} and {id} filled in (escaped). */
static const char *
product_link(struct dut *D, const char *id, const char *sku)
{
    const char *pat = D->o->product_url, *p;
    struct pf_buf b;
    const char *out;

    if (pat == NULL)
        return NULL;
    pf_buf_init(&b);
    for (p = pat; *p != '\0'; p++) {
        const char *v = strncmp(p, "{sku}", 5) == 0 ? (sku ? sku : id)
            : strncmp(p, "{id}", 4) == 0 ? id : NULL;

        if (v != NULL) {
            char *e = http_escape(v);

            pf_buf_adds(&b, e);
            free(e);
            p += p[1] == 's' ? 4 : 3;
        } else {
            pf_buf_addc(&b, *p);
        }
    }
    pf_buf_addc(&b, '\0');
    out = pf_arena_strdup(&D->arena, b.data);
    pf_buf_free(&b);
    return out;
}

static void
attr_add(struct dut *D, struct store_option *a, size_t *n, const char *name,
         const char *value, const char *unit)
{
    if (value == NULL || *n >= DUT_MAX_ATTRS)
        return;
    if (unit != NULL) {
        char *s = xasprintf("%s %s", value, unit);

        value = pf_arena_strdup(&D->arena, s);
        free(s);
    }
    a[*n].name = name;
    a[(*n)++].value = value;
}

/* category, strain, tags, size, weight, THC and CBD as attributes. */
static int
product_attrs(struct dut *D, const cJSON *rec, const char *pid)
{
    struct store_option a[DUT_MAX_ATTRS];
    const cJSON *tags = cJSON_GetObjectItem(rec, "tags"), *t;
    size_t n = 0;
    struct pf_err e;

    attr_add(D, a, &n, "category", dut_text(D, rec, "category"), NULL);
    attr_add(D, a, &n, "master_category",
             dut_text(D, rec, "masterCategory"), NULL);
    attr_add(D, a, &n, "strain", dut_text(D, rec, "strain"), NULL);
    attr_add(D, a, &n, "strain_type", dut_text(D, rec, "strainType"),
             NULL);
    attr_add(D, a, &n, "size", dut_text(D, rec, "size"), NULL);
    attr_add(D, a, &n, "weight", dut_text(D, rec, "netWeight"),
             dut_text(D, rec, "netWeightUnit"));
    attr_add(D, a, &n, "thc", dut_text(D, rec, "thcContent"),
             dut_text(D, rec, "thcContentUnit"));
    attr_add(D, a, &n, "cbd", dut_text(D, rec, "cbdContent"),
             dut_text(D, rec, "cbdContentUnit"));
    if (!cJSON_IsArray(tags))
        tags = NULL;
    cJSON_ArrayForEach(t, tags) {
        const char *name = cJSON_IsString(t) ? t->valuestring
            : dut_text(D, t, "tagName");

        if (name != NULL && *name != '\0')
            attr_add(D, a, &n, "tags", pf_arena_strdup(&D->arena, name),
                     NULL);
    }
    if (store_set_attributes(D->s, "product", pid, STORE_ATTR_AUTO, a, n,
                             &e) != 0) {
        dut_store_failed(D, &e);
        return -1;
    }
    return 0;
}

/* imageUrls[] (or imageUrl alone); the first is the variant's image. */
static int
product_images(struct dut *D, const cJSON *rec, const char *pid,
               const char **first)
{
    const char *urls[DUT_MAX_IMAGES];
    const cJSON *arr = cJSON_GetObjectItem(rec, "imageUrls"), *u;
    size_t n = 0;
    struct pf_err e;

    if (!cJSON_IsArray(arr))
        arr = NULL;
    cJSON_ArrayForEach(u, arr) {
        if (cJSON_IsString(u) && u->valuestring[0] != '\0' &&
            n < DUT_MAX_IMAGES)
            urls[n++] = u->valuestring;
    }
    if (n == 0 && (urls[0] = dut_text(D, rec, "imageUrl")) != NULL)
        n = 1;
    *first = n > 0 ? pf_arena_strdup(&D->arena, urls[0]) : NULL;
    if (store_set_images(D->s, pid, urls, n, &e) != 0) {
        dut_store_failed(D, &e);
        return -1;
    }
    return 0;
}

static int
product_category(struct dut *D, const cJSON *rec, const char *pid)
{
    char buf[64];
    const char *cid = dut_str(rec, "categoryId", buf);
    const char *name = dut_text(D, rec, "category");
    const char *ids[1];
    struct store_category c = {0};
    struct pf_err e;
    size_t n = 0;

    if (cid != NULL && name != NULL) {
        ids[0] = pf_arena_strdup(&D->arena, cid);
        c.id = ids[0];
        c.name = name;
        c.visible = 1;
        if (store_put_category(D->s, &c, &e) != 0) {
            dut_store_failed(D, &e);
            return -1;
        }
        n = 1;
    }
    if (store_set_product_categories(D->s, pid, ids, n, &e) != 0) {
        dut_store_failed(D, &e);
        return -1;
    }
    return 0;
}

int
dut_product_row(struct dut *D, size_t li, cJSON *rec)
{
    char buf[64];
    const char *pid = dut_str(rec, "productId", buf);
    struct store_product p = {0};
    struct store_variant v = {0};
    struct pf_err e;
    int own;

    if (pid == NULL) {
        sync_warn(D->rep, "products", "products (location %s): a record "
                  "without productId left out", D->locs[li].name);
        return DUT_ROW_SKIP;
    }
    pid = pf_arena_strdup(&D->arena, pid);
    own = owns(D, li, pid);
    if (own <= 0)
        return own < 0 ? DUT_ROW_FAIL : DUT_ROW_SKIP;
    p.id = pid;
    p.name = dut_text(D, rec, "productName");
    if (p.name == NULL)
        p.name = dut_text(D, rec, "onlineTitle");
    if (p.name == NULL)
        p.name = pid;
    p.description = dut_text(D, rec, "onlineDescription");
    if (p.description == NULL)
        p.description = dut_text(D, rec, "description");
    p.brand = dut_text(D, rec, "brandName");
    v.sku = dut_text(D, rec, "sku");
    p.url = product_link(D, pid, v.sku);
    if (dut_time(rec, "createdDate", &p.created_at) != 1)
        p.created_at = 0;
    if (dut_time(rec, "lastModifiedDateUtc", &p.updated_at) != 1)
        p.updated_at = 0;
    p.visible = dut_bool(rec, "isActive", 1) == 1 &&
        dut_bool(rec, "onlineAvailable", 1) == 1;
    if (store_put_product(D->s, &p, &e) != 0) {
        dut_store_failed(D, &e);
        return DUT_ROW_FAIL;
    }
    v.id = pid;
    v.product_id = pid;
    v.upc = dut_text(D, rec, "upc");
    v.price = product_price(D, rec);
    v.currency = D->o->currency;
    v.track_stock = 1;
    if (product_images(D, rec, pid, &v.image) != 0 ||
        product_category(D, rec, pid) != 0 ||
        product_attrs(D, rec, pid) != 0)
        return DUT_ROW_FAIL;
    if (store_put_variant(D->s, &v, &e) != 0) {
        dut_store_failed(D, &e);
        return DUT_ROW_FAIL;
    }
    return DUT_ROW_OK;
}

/* ---- stock -------------------------------------------------------------- */

/* Packages summed per product in a TEMP table, then written: every
 * variant gets a row at the location, 0 when the snapshot omits it (the
 * API leaves zero-stock items out). The store counts whole units, and a
 * sum of weighed packages (14.5 g) is rounded down: never promise what
 * is not on the shelf. */
int
dut_stock_apply(struct dut *D, size_t li, cJSON *arr, struct pf_err *err)
{
    const char *loc = D->locs[li].id;
    cJSON *rec;

    D->serr_set = 0;
    if (store_exec(D->s, "CREATE TEMP TABLE IF NOT EXISTS dut_inv ("
                   "  product_id TEXT PRIMARY KEY, q REAL NOT NULL);"
                   "DELETE FROM dut_inv;", err) != 0)
        return -1;
    cJSON_ArrayForEach(rec, arr) {
        char buf[64], qs[64];
        const char *pid = dut_str(rec, "productId", buf);
        double q;

        if (pid == NULL || dut_num(rec, "quantityAvailable", &q) != 1 ||
            fabs(q) > STORE_MAX_QUANTITY)
            continue;
        snprintf(qs, sizeof(qs), "%.6f", q);
        if (exec3(D, "INSERT INTO dut_inv(product_id, q) VALUES (?1, "
                  "CAST(?2 AS REAL)) ON CONFLICT(product_id) DO UPDATE "
                  "SET q = q + excluded.q", pid, qs, NULL) != 0)
            break;
    }
    if (D->serr_set) {
        *err = D->serr;
        return -1;
    }
    /* Every variant gets this location's row (0 when not listed), and
     * only a quantity that differs is written: rewriting every row would
     * mark every product changed on every sync (store_schema.h, version
     * 6). WHERE true: SQLite's upsert-after-SELECT parsing rule. */
    if (exec3(D, "INSERT INTO stock(variant_id, location_id, quantity) "
              "SELECT v.id, ?1, MAX(-" STORE_MAX_QUANTITY_SQL ", MIN("
              STORE_MAX_QUANTITY_SQL ", CAST(COALESCE(i.q, 0) AS "
              "INTEGER))) FROM variants v LEFT JOIN dut_inv i ON "
              "i.product_id = v.id WHERE true "
              "ON CONFLICT(variant_id, location_id) DO UPDATE SET "
              "quantity = excluded.quantity "
              "WHERE quantity IS NOT excluded.quantity", loc, NULL,
              NULL) != 0) {
        *err = D->serr;
        return -1;
    }
    return 0;
}

/* One boolean property (store_set_properties) of a customer or an
 * order: the API's flag as reported, never as consent. */
static int
flag_property(struct dut *D, const char *entity, const char *id,
              const char *name, int v)
{
    struct store_option p = {name, v ? "true" : "false"};
    struct pf_err e;

    if (v < 0)
        return store_set_properties(D->s, entity, id, NULL, 0, &e) == 0
            ? 0 : (dut_store_failed(D, &e), -1);
    if (store_set_properties(D->s, entity, id, &p, 1, &e) != 0) {
        dut_store_failed(D, &e);
        return -1;
    }
    return 0;
}

/* ---- customers ---------------------------------------------------------- */

/* The store id of a location's customer: follows merges (a few hops),
 * NULL when it has none (anonymous, no email, unknown). */
static const char *
customer_store_id(struct dut *D, size_t li, const char *cid)
{
    const char *id = cid;

    for (int hop = 0; id != NULL && hop < 8; hop++) {
        const char *m = query2(D, "SELECT merged_into FROM dut_customers "
                               "WHERE location_id = ?1 AND customer_id = "
                               "?2", D->locs[li].id, id);

        if (m == NULL)
            break;
        id = m;
    }
    if (id == NULL)
        return NULL;
    return query2(D, "SELECT c.store_id FROM dut_customers c JOIN "
                  "customers s ON s.id = c.store_id WHERE c.location_id "
                  "= ?1 AND c.customer_id = ?2", D->locs[li].id, id);
}

/* One person across locations: the store id an earlier location's
 * customer of the same uniqueId has, else the customer of the same
 * email, else a new one (the uniqueId, or LOC-ID). */
static const char *
customer_identity(struct dut *D, size_t li, const char *cid,
                  const char *uid, const char *email)
{
    const char *id = NULL;

    if (uid != NULL)
        id = query2(D, "SELECT store_id FROM dut_customers WHERE "
                    "unique_id = ?1 AND store_id IS NOT NULL", uid, NULL);
    if (id == NULL && email != NULL)
        id = query2(D, "SELECT id FROM customers WHERE lower(email) = "
                    "lower(?1)", email, NULL);
    if (id == NULL)
        id = uid != NULL ? uid : loc_scoped(D, li, cid);
    return id;
}

static int
customer_map(struct dut *D, size_t li, const char *cid, const char *uid,
             const char *store_id, const char *merged)
{
    struct pf_err e;
    sqlite3_stmt *st = store_stmt(D->s, "INSERT INTO dut_customers("
        "location_id, customer_id, unique_id, store_id, merged_into) "
        "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(location_id, "
        "customer_id) DO UPDATE SET unique_id = excluded.unique_id, "
        "store_id = excluded.store_id, merged_into = "
        "excluded.merged_into", &e);
    const char *v[5] = {D->locs[li].id, cid, uid, store_id, merged};

    if (st == NULL) {
        dut_store_failed(D, &e);
        return -1;
    }
    for (int i = 0; i < 5; i++)
        if (v[i] != NULL)
            sqlite3_bind_text(st, i + 1, v[i], -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) {
        pf_errf(&e, "store: %s", sqlite3_errmsg(store_db(D->s)));
        dut_store_failed(D, &e);
        sqlite3_reset(st);
        return -1;
    }
    sqlite3_reset(st);
    return 0;
}

/* A customer whose profile folded away (merged, no email any more):
 * its store row goes when no other location's customer maps onto it. */
static int
customer_drop(struct dut *D, size_t li, const char *cid)
{
    const char *old = query2(D, "SELECT store_id FROM dut_customers WHERE "
                             "location_id = ?1 AND customer_id = ?2",
                             D->locs[li].id, cid);

    if (old == NULL)
        return 0;
    if (query2(D, "SELECT 1 FROM dut_customers WHERE store_id = ?1 AND "
               "NOT (location_id = ?2 AND customer_id = ?3) AND "
               "merged_into IS NULL", old, D->locs[li].id) != NULL)
        return 0;
    return exec3(D, "DELETE FROM customers WHERE id = ?1", old, NULL,
                 NULL);
}

int
dut_customer_row(struct dut *D, size_t li, cJSON *rec)
{
    char buf[64], mbuf[64];
    const char *cid = dut_str(rec, "customerId", buf);
    const char *merged = dut_str(rec, "mergedIntoCustomerId", mbuf);
    struct store_customer c = {0};
    const char *uid, *sid;
    struct pf_err e;

    if (cid == NULL)
        return DUT_ROW_SKIP;
    cid = pf_arena_strdup(&D->arena, cid);
    if (merged != NULL && strcmp(merged, "0") == 0)
        merged = NULL;
    uid = dut_text(D, rec, "uniqueId");
    c.email = dut_text(D, rec, "emailAddress");
    if (merged != NULL || dut_bool(rec, "isAnonymous", 0) == 1 ||
        c.email == NULL || strchr(c.email, '@') == NULL) {
        if (customer_drop(D, li, cid) != 0 ||
            customer_map(D, li, cid, uid, NULL, merged) != 0)
            return DUT_ROW_FAIL;
        return DUT_ROW_SKIP;
    }
    sid = customer_identity(D, li, cid, uid, c.email);
    c.id = sid;
    c.first_name = dut_text(D, rec, "firstName");
    c.last_name = dut_text(D, rec, "lastName");
    c.address1 = dut_text(D, rec, "address1");
    c.address2 = dut_text(D, rec, "address2");
    c.city = dut_text(D, rec, "city");
    c.region = dut_text(D, rec, "state");
    c.zip = dut_text(D, rec, "postalCode");
    c.country = "US";
    /* No phone (no_sms) and consent unknown: see source_dutchie.h. */
    c.consent = -1;
    if (dut_time(rec, "creationDate", &c.created_at) != 1)
        c.created_at = 0;
    if (dut_time(rec, "lastModifiedDateUTC", &c.updated_at) != 1)
        c.updated_at = 0;
    if (customer_map(D, li, cid, uid, sid, NULL) != 0)
        return DUT_ROW_FAIL;
    if (store_put_customer(D->s, &c, &e) != 0) {
        dut_store_failed(D, &e);
        return DUT_ROW_FAIL;
    }
    if (flag_property(D, "customer", sid, "OptedIntoMarketing",
                      dut_bool(rec, "optedIntoMarketing", -1)) != 0)
        return DUT_ROW_FAIL;
    return DUT_ROW_OK;
}

/* ---- transactions ------------------------------------------------------- */

/* Weighed goods sell in fractions of a gram; the store counts units. */
static int64_t
quantity(const cJSON *it)
{
    double q = 0;

    if (dut_num(it, "quantity", &q) != 1)
        return 1;
    q = fabs(q);
    if (q > STORE_MAX_QUANTITY)
        q = STORE_MAX_QUANTITY;
    return q > 0 && q < 1 ? 1 : (int64_t)llround(q);
}

/* One item as an order line; its id is added to ids. */
static int
transaction_line(struct dut *D, size_t li, const cJSON *it,
                 const char *oid, int is_return, int pos, cJSON *ids)
{
    struct store_order_line l = {0};
    char buf[64], pbuf[64];
    const char *iid = dut_str(it, "transactionItemId", buf);
    const char *pid = dut_str(it, "productId", pbuf);
    struct pf_err e;
    int64_t d = 0;

    if (iid == NULL)
        return DUT_ROW_SKIP;
    l.id = loc_scoped(D, li, iid);
    l.order_id = oid;
    l.product_id = pid != NULL ? pf_arena_strdup(&D->arena, pid) : NULL;
    l.variant_id = l.product_id;
    if (pid != NULL) {
        l.name = query2(D, "SELECT name FROM products WHERE id = ?1", pid,
                        NULL);
        l.sku = query2(D, "SELECT sku FROM variants WHERE id = ?1", pid,
                       NULL);
    }
    l.quantity = quantity(it) * (is_return ? -1 : 1);
    if (dut_money(it, "unitPrice", D->decimals, &l.unit_price) != 1)
        l.unit_price = 0;
    l.unit_price = l.unit_price < 0 ? -l.unit_price : l.unit_price;
    if (dut_money(it, "totalDiscount", D->decimals, &d) == 1)
        l.discount = d < 0 ? -d : d;
    l.is_return = is_return;
    l.position = pos;
    if (store_put_order_line(D->s, &l, &e) != 0) {
        dut_store_failed(D, &e);
        return DUT_ROW_FAIL;
    }
    cJSON_AddItemToArray(ids, cJSON_CreateString(l.id));
    return DUT_ROW_OK;
}

/* The lines are upserted (an unchanged line writes nothing) and only
 * the lines no longer listed are deleted: deleting them all and
 * inserting them again marked the order changed on every read, so
 * Clerk's modified_after answers carried every order read again. */
static int
transaction_lines(struct dut *D, size_t li, const cJSON *rec,
                  const char *oid, int is_return)
{
    const cJSON *items = cJSON_GetObjectItem(rec, "items"), *it;
    cJSON *ids = cJSON_CreateArray();
    char *list = NULL;
    int pos = 0, rc = DUT_ROW_FAIL;

    if (!cJSON_IsArray(items))
        items = NULL;
    cJSON_ArrayForEach(it, items) {
        if (transaction_line(D, li, it, oid, is_return, pos++, ids) ==
            DUT_ROW_FAIL)
            goto cleanup;
    }
    list = cJSON_PrintUnformatted(ids);
    if (exec3(D, "DELETE FROM order_lines WHERE order_id = ?1 AND id NOT "
              "IN (SELECT value FROM json_each(?2))", oid, list,
              NULL) != 0)
        goto cleanup;
    rc = DUT_ROW_OK;
cleanup:
    cJSON_free(list);
    cJSON_Delete(ids);
    return rc;
}

/* Amounts: returns are negative whatever sign the API gives (the sign is
 * undocumented; the flags are not). 1: unreadable total. */
static int
transaction_amounts(struct dut *D, const cJSON *rec, int is_return,
                    struct store_order *o)
{
    int64_t d = 0;

    if (dut_money(rec, "total", D->decimals, &o->total) != 1)
        return 1;
    if (o->total < 0)
        o->total = -o->total;
    if (is_return)
        o->total = -o->total;
    if (dut_money(rec, "totalDiscount", D->decimals, &d) == 1)
        o->discount_total = d < 0 ? -d : d;
    return 0;
}

int
dut_transaction_row(struct dut *D, size_t li, cJSON *rec)
{
    char buf[64], cbuf[64], rbuf[64], nbuf[64];
    const char *tid = dut_str(rec, "transactionId", buf);
    const char *type = dut_str(rec, "transactionType", nbuf);
    const char *cid = dut_str(rec, "customerId", cbuf);
    const char *ret = dut_str(rec, "returnOnTransactionId", rbuf);
    int is_return = dut_bool(rec, "isReturn", 0) == 1;
    struct store_order o = {0};
    struct pf_err e;

    if (tid == NULL || type == NULL || !pf_strcaseeq(type, "Retail"))
        return DUT_ROW_SKIP;
    o.id = loc_scoped(D, li, tid);
    o.number = dut_text(D, rec, "invoiceNumber");
    if (o.number == NULL)
        o.number = pf_arena_strdup(&D->arena, tid);
    o.status = dut_bool(rec, "isVoid", 0) == 1 ? "voided" : "completed";
    o.location_id = D->locs[li].id;
    o.currency = D->o->currency;
    if (dut_time(rec, "transactionDate", &o.created_at) != 1) {
        sync_warn(D->rep, "orders", "transactions %s (location %s): field "
                  "'transactionDate': missing or unreadable; left out",
                  tid, D->locs[li].name);
        return DUT_ROW_SKIP;
    }
    o.completed_at = o.created_at;
    if (transaction_amounts(D, rec, is_return, &o) != 0) {
        sync_warn(D->rep, "orders", "transactions %s (location %s): field "
                  "'total': not an amount; left out", tid,
                  D->locs[li].name);
        return DUT_ROW_SKIP;
    }
    if (cid != NULL && strcmp(cid, "0") != 0) {
        o.customer_id = customer_store_id(D, li, cid);
        if (o.customer_id != NULL)
            o.email = query2(D, "SELECT email FROM customers WHERE id = "
                             "?1", o.customer_id, NULL);
    }
    if (is_return && ret != NULL && strcmp(ret, "0") != 0)
        o.refund_of = loc_scoped(D, li, ret);
    if (store_put_order(D->s, &o, &e) != 0) {
        dut_store_failed(D, &e);
        return DUT_ROW_FAIL;
    }
    if (flag_property(D, "order", o.id, "IsMedical",
                      dut_bool(rec, "isMedical", -1)) != 0)
        return DUT_ROW_FAIL;
    return transaction_lines(D, li, rec, o.id, is_return);
}
