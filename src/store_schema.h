/* store_schema.h - the SQL of every schema version, applied in order.
 *
 * Version N's script upgrades a store from N-1 to N; a new store runs them
 * all. Never edit a released script: add the next one.
 *
 * Conventions: ids are TEXT; money is INTEGER minor units with a currency;
 * times are INTEGER UTC epoch seconds; option pairs and discount codes are
 * compact JSON arrays. Order history has no foreign keys to products,
 * customers or locations, because history outlives them.
 */
#ifndef PF_STORE_SCHEMA_H
#define PF_STORE_SCHEMA_H

/* Each step belongs to a schema version; the steps of one version run in
 * one transaction. */
struct store_migration {
    int version;
    const char *sql;
};

static const struct store_migration store_migrations[] = {
    {1,
    "CREATE TABLE locations ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  timezone TEXT);"},
    {1,
    "CREATE TABLE categories ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  parent_id TEXT REFERENCES categories(id) ON DELETE SET NULL"
    "    DEFERRABLE INITIALLY DEFERRED,"
    "  url TEXT,"
    "  visible INTEGER NOT NULL DEFAULT 1,"
    "  position INTEGER NOT NULL DEFAULT 0,"
    /* derived by store_rebuild_category_paths() */
    "  depth INTEGER NOT NULL DEFAULT 0,"
    "  full_path TEXT,"
    "  shown INTEGER NOT NULL DEFAULT 1);"
    "CREATE INDEX categories_parent ON categories(parent_id);"},
    {1,
    "CREATE TABLE products ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  description TEXT,"
    "  url TEXT,"
    "  brand TEXT,"
    "  created_at INTEGER,"
    "  updated_at INTEGER,"
    "  visible INTEGER NOT NULL DEFAULT 1,"
    "  has_stock INTEGER NOT NULL DEFAULT 0,"
    "  stock INTEGER);"},
    {1,
    "CREATE TABLE variants ("
    "  id TEXT PRIMARY KEY,"
    "  product_id TEXT NOT NULL REFERENCES products(id) ON DELETE CASCADE,"
    "  sku TEXT, ean TEXT, upc TEXT, image TEXT,"
    "  price INTEGER NOT NULL,"
    "  list_price INTEGER,"
    "  currency TEXT NOT NULL,"
    "  track_stock INTEGER NOT NULL DEFAULT 1,"
    "  position INTEGER NOT NULL DEFAULT 0,"
    "  options TEXT);"
    "CREATE INDEX variants_product ON variants(product_id, position);"},
    {1,
    "CREATE TABLE stock ("
    "  variant_id TEXT NOT NULL REFERENCES variants(id) ON DELETE CASCADE,"
    "  location_id TEXT NOT NULL REFERENCES locations(id)"
    "    ON DELETE CASCADE,"
    "  quantity INTEGER NOT NULL,"
    "  PRIMARY KEY (variant_id, location_id)) WITHOUT ROWID;"
    "CREATE INDEX stock_location ON stock(location_id);"},
    {1,
    "CREATE TABLE product_categories ("
    "  product_id TEXT NOT NULL REFERENCES products(id) ON DELETE CASCADE,"
    "  category_id TEXT NOT NULL REFERENCES categories(id)"
    "    ON DELETE CASCADE,"
    "  position INTEGER NOT NULL,"
    /* Clustered in the order feeds read it. */
    "  PRIMARY KEY (product_id, position)) WITHOUT ROWID;"
    "CREATE INDEX product_categories_category"
    "  ON product_categories(category_id);"},
    {1,
    "CREATE TABLE images ("
    "  product_id TEXT NOT NULL REFERENCES products(id) ON DELETE CASCADE,"
    "  position INTEGER NOT NULL,"
    "  url TEXT NOT NULL,"
    "  PRIMARY KEY (product_id, position)) WITHOUT ROWID;"

    /* entity is 'product' or 'variant'; removed with it by triggers. */},
    {1,
    "CREATE TABLE attributes ("
    "  entity TEXT NOT NULL CHECK (entity IN ('product','variant')),"
    "  entity_id TEXT NOT NULL,"
    "  origin TEXT NOT NULL CHECK (origin IN ('auto','custom')),"
    "  position INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  PRIMARY KEY (entity, entity_id, origin, position)) WITHOUT ROWID;"
    "CREATE TRIGGER products_drop_attributes AFTER DELETE ON products"
    "  BEGIN DELETE FROM attributes"
    "    WHERE entity = 'product' AND entity_id = OLD.id; END;"
    "CREATE TRIGGER variants_drop_attributes AFTER DELETE ON variants"
    "  BEGIN DELETE FROM attributes"
    "    WHERE entity = 'variant' AND entity_id = OLD.id; END;"},
    {1,
    "CREATE TABLE customers ("
    "  id TEXT PRIMARY KEY,"
    "  email TEXT, first_name TEXT, last_name TEXT, company TEXT,"
    "  title TEXT, address1 TEXT, address2 TEXT, city TEXT, region TEXT,"
    "  zip TEXT, country TEXT, phone TEXT,"
    "  consent INTEGER,"                 /* 1 yes, 0 no, NULL unknown */
    "  created_at INTEGER, updated_at INTEGER);"},
    {1,
    "CREATE TABLE orders ("
    "  id TEXT PRIMARY KEY,"
    "  number TEXT,"
    "  status TEXT NOT NULL,"
    "  location_id TEXT, customer_id TEXT, email TEXT,"
    "  currency TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  completed_at INTEGER,"
    "  total INTEGER NOT NULL,"
    "  discount_total INTEGER NOT NULL DEFAULT 0,"
    "  discount_codes TEXT,"
    "  shipped INTEGER NOT NULL DEFAULT 0,"
    "  shipped_at INTEGER,"
    "  refund_of TEXT);"
    "CREATE INDEX orders_created ON orders(created_at);"
    "CREATE INDEX orders_refund_of ON orders(refund_of);"},
    {1,
    "CREATE TABLE order_lines ("
    "  id TEXT PRIMARY KEY,"
    "  order_id TEXT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,"
    "  product_id TEXT, variant_id TEXT, name TEXT, sku TEXT,"
    "  quantity INTEGER NOT NULL,"
    "  unit_price INTEGER NOT NULL,"
    "  discount INTEGER NOT NULL DEFAULT 0,"
    "  is_return INTEGER NOT NULL DEFAULT 0,"
    "  position INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX order_lines_order ON order_lines(order_id, position);"},
    {1,
    "CREATE TABLE sync_state ("
    "  stream TEXT PRIMARY KEY,"
    "  bookmark TEXT,"
    "  updated_at INTEGER NOT NULL);"},
    {1,
    "CREATE TABLE runs ("
    "  id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL,"
    "  started_at INTEGER NOT NULL,"
    "  ended_at INTEGER,"
    "  result TEXT NOT NULL DEFAULT 'running',"
    "  error TEXT,"
    "  warnings INTEGER NOT NULL DEFAULT 0);"},
    {1,
    "CREATE TABLE run_counts ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  stream TEXT NOT NULL,"
    "  rows INTEGER NOT NULL DEFAULT 0,"
    "  warnings INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (run_id, stream)) WITHOUT ROWID;"},
    {1,
    "CREATE TABLE run_warnings ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  seq INTEGER NOT NULL,"
    "  message TEXT NOT NULL,"
    "  PRIMARY KEY (run_id, seq)) WITHOUT ROWID;"},
    {1,
    "CREATE TABLE feeds ("
    "  name TEXT PRIMARY KEY,"
    "  path TEXT NOT NULL,"
    "  bytes INTEGER NOT NULL, gz_bytes INTEGER NOT NULL DEFAULT 0,"
    "  items INTEGER NOT NULL,"
    "  sha256 TEXT NOT NULL, gz_sha256 TEXT,"
    "  access TEXT NOT NULL,"
    "  published_at INTEGER NOT NULL,"
    "  build_seconds REAL NOT NULL);"},

    /* Version 2: product_categories with its key columns first. SQLite
     * 3.40 (Debian 12) misreads a NOT NULL column declared before a key
     * column of a WITHOUT ROWID table, so PRAGMA quick_check reported
     * "NULL value in product_categories.category_id" on every sound
     * store and the check after an unclean shutdown could not be
     * trusted. Same columns, same key, same index. */
    {2,
    "CREATE TABLE product_categories_v2 ("
    "  product_id TEXT NOT NULL REFERENCES products(id) ON DELETE CASCADE,"
    "  position INTEGER NOT NULL,"
    "  category_id TEXT NOT NULL REFERENCES categories(id)"
    "    ON DELETE CASCADE,"
    "  PRIMARY KEY (product_id, position)) WITHOUT ROWID;"
    "INSERT INTO product_categories_v2(product_id, position, category_id)"
    "  SELECT product_id, position, category_id FROM product_categories;"
    "DROP TABLE product_categories;"
    "ALTER TABLE product_categories_v2 RENAME TO product_categories;"
    "CREATE INDEX product_categories_category"
    "  ON product_categories(category_id);"},

    /* Version 3: what the last publish of each feed left out, by reason
     * ("missing image_link": a row whose required field was empty), for
     * `posfeed status`. Key columns first (see version 2). */
    {3,
    "CREATE TABLE feed_left_out ("
    "  feed TEXT NOT NULL REFERENCES feeds(name) ON DELETE CASCADE,"
    "  reason TEXT NOT NULL,"
    "  items INTEGER NOT NULL,"
    "  PRIMARY KEY (feed, reason)) WITHOUT ROWID;"},

    /* Version 4: the shop's text pages and blog articles (Clerk's pages
     * entity), and product reviews, from which ratings are computed at
     * build time so that a hidden or deleted review stops counting. A
     * review goes with its product. Nothing existing changes. */
    {4,
    "CREATE TABLE pages ("
    "  id TEXT PRIMARY KEY,"
    "  kind TEXT NOT NULL CHECK (kind IN ('page','article')),"
    "  title TEXT, url TEXT, summary TEXT, content TEXT, image TEXT,"
    "  author TEXT,"
    "  created_at INTEGER, updated_at INTEGER,"
    "  visible INTEGER NOT NULL DEFAULT 1);"},
    {4,
    "CREATE TABLE reviews ("
    "  id TEXT PRIMARY KEY,"
    "  product_id TEXT NOT NULL REFERENCES products(id) ON DELETE CASCADE,"
    "  score REAL NOT NULL CHECK (score BETWEEN 0 AND 5),"
    "  visible INTEGER NOT NULL DEFAULT 1,"
    "  created_at INTEGER);"
    "CREATE INDEX reviews_product ON reviews(product_id);"},
    /* Version 5: the push ledger. One row per event (unique_id) or
     * profile (email) delivered to a target; a batch turns 'sent' in the
     * transaction that follows the target's acceptance, so a crash
     * resends at most the batch in flight. grp: the profile (email) an
     * event belongs to, for grouping; job: the profile import job
     * that carried the profile, polled for per-item errors. */
    {5,
    "CREATE TABLE push_items ("
    "  target TEXT NOT NULL,"
    "  kind TEXT NOT NULL CHECK (kind IN ('event','profile')),"
    "  id TEXT NOT NULL,"
    "  metric TEXT NOT NULL,"
    "  item_time INTEGER,"
    "  hash TEXT NOT NULL,"
    "  body TEXT,"
    "  state TEXT NOT NULL CHECK (state IN ('pending','sent','failed')),"
    "  reason TEXT,"
    "  queued_at INTEGER NOT NULL, sent_at INTEGER,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  job TEXT,"
    "  grp TEXT NOT NULL DEFAULT '',"
    "  PRIMARY KEY (target, kind, id)) WITHOUT ROWID;"
    "CREATE INDEX push_items_time ON push_items(target, metric, item_time);"
    /* pending items in send order: an event's profile (grp) first, so
     * one profile's events travel together */
    "CREATE INDEX push_items_state ON push_items(target, kind, state, grp,"
    "  id);"},
    /* What the last enqueue left out, per metric and reason, replaced
     * by each enqueue; and the profile import jobs not yet read back. */
    {5,
    "CREATE TABLE push_skipped ("
    "  target TEXT NOT NULL, metric TEXT NOT NULL, reason TEXT NOT NULL,"
    "  items INTEGER NOT NULL,"
    "  PRIMARY KEY (target, metric, reason)) WITHOUT ROWID;"
    "CREATE TABLE push_jobs ("
    "  target TEXT NOT NULL, id TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (target, id)) WITHOUT ROWID;"},
    /* Version 5: the last `posfeed verify` (verify.c), replaced by
     * each run, so the status page shows its table without calling any
     * API. A count is -1 where the column does not apply ("-") and -2
     * where it could not be read ("?"). */
    {5,
    "CREATE TABLE verify_run ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  run_at INTEGER NOT NULL,"
    "  timezone TEXT NOT NULL,"
    "  feed TEXT, klaviyo_timezone TEXT, warning TEXT, error TEXT,"
    "  flagged INTEGER NOT NULL);"
    "CREATE TABLE verify_days ("
    "  date TEXT PRIMARY KEY,"
    "  start_at INTEGER NOT NULL, end_at INTEGER NOT NULL,"
    "  pos INTEGER NOT NULL, store_all INTEGER NOT NULL,"
    "  store INTEGER NOT NULL, feed INTEGER NOT NULL,"
    "  sent INTEGER NOT NULL, klaviyo INTEGER NOT NULL,"
    "  explained TEXT, flagged TEXT) WITHOUT ROWID;"},

    /* Version 5 (Dutchie): properties a source reports about a customer
     * or an order beyond the fixed columns (optedIntoMarketing, isMedical),
     * for profile and event properties. value is a JSON scalar. They go
     * with their customer or order. */
    {5,
    "CREATE TABLE properties ("
    "  entity TEXT NOT NULL CHECK (entity IN ('customer','order')),"
    "  entity_id TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  PRIMARY KEY (entity, entity_id, name)) WITHOUT ROWID;"
    "CREATE TRIGGER customers_drop_properties AFTER DELETE ON customers"
    "  BEGIN DELETE FROM properties"
    "    WHERE entity = 'customer' AND entity_id = OLD.id; END;"
    "CREATE TRIGGER orders_drop_properties AFTER DELETE ON orders"
    "  BEGIN DELETE FROM properties"
    "    WHERE entity = 'order' AND entity_id = OLD.id; END;"},
    /* Version 6: what changed when, for Clerk's incremental reads
     * (`modified_after`, serve_clerk.c). changed_at moves whenever
     * anything a feed renders for the object changes: its own columns or
     * a child row (variants, stock, images, categories, attributes,
     * reviews; an order's lines and refunds; properties). Triggers set it
     * to STORE_PENDING (INT64 max) inside the writing transaction;
     * store_commit() stamps pending rows with the clock after COMMIT, so
     * a stamp is never earlier than the moment a reader could first see
     * the change, and a reader between the two sees "pending", which
     * sorts after any time. Deletions of mirrored entities are kept in
     * deleted (entity, id, when) for the same reads. Existing rows start
     * at 0: "unchanged since forever" until they next change. */
    {6,
    "ALTER TABLE products ADD COLUMN changed_at INTEGER NOT NULL"
    "  DEFAULT 9223372036854775807;"
    "ALTER TABLE categories ADD COLUMN changed_at INTEGER NOT NULL"
    "  DEFAULT 9223372036854775807;"
    "ALTER TABLE customers ADD COLUMN changed_at INTEGER NOT NULL"
    "  DEFAULT 9223372036854775807;"
    "ALTER TABLE orders ADD COLUMN changed_at INTEGER NOT NULL"
    "  DEFAULT 9223372036854775807;"
    "ALTER TABLE pages ADD COLUMN changed_at INTEGER NOT NULL"
    "  DEFAULT 9223372036854775807;"
    "UPDATE products SET changed_at = 0;"
    "UPDATE categories SET changed_at = 0;"
    "UPDATE customers SET changed_at = 0;"
    "UPDATE orders SET changed_at = 0;"
    "UPDATE pages SET changed_at = 0;"
    "CREATE INDEX products_changed ON products(changed_at);"
    "CREATE INDEX categories_changed ON categories(changed_at);"
    "CREATE INDEX customers_changed ON customers(changed_at);"
    "CREATE INDEX orders_changed ON orders(changed_at);"
    "CREATE INDEX pages_changed ON pages(changed_at);"
    "CREATE TABLE deleted ("
    "  entity TEXT NOT NULL"
    "    CHECK (entity IN ('product','category','customer','page')),"
    "  id TEXT NOT NULL,"
    "  deleted_at INTEGER NOT NULL,"
    "  PRIMARY KEY (entity, id)) WITHOUT ROWID;"
    "CREATE INDEX deleted_at ON deleted(entity, deleted_at);"
    /* When each definition a server renders with (template, settings,
     * program) was first seen: objects rendered differently since then
     * changed although no row did (store_render_epoch). */
    "CREATE TABLE render_epochs ("
    "  key TEXT PRIMARY KEY,"
    "  hash TEXT NOT NULL,"
    "  since INTEGER NOT NULL) WITHOUT ROWID;"},
    {6,
    /* An update of the row itself (an upsert only writes what differs,
     * so this fires on real changes only); the stamp itself changes
     * changed_at and does not fire it. */
    "CREATE TRIGGER products_changed AFTER UPDATE ON products"
    "  WHEN NEW.changed_at IS OLD.changed_at BEGIN"
    "  UPDATE products SET changed_at = 9223372036854775807"
    "    WHERE id = NEW.id AND changed_at <> 9223372036854775807; END;"
    "CREATE TRIGGER categories_changed AFTER UPDATE ON categories"
    "  WHEN NEW.changed_at IS OLD.changed_at BEGIN"
    "  UPDATE categories SET changed_at = 9223372036854775807"
    "    WHERE id = NEW.id AND changed_at <> 9223372036854775807; END;"
    "CREATE TRIGGER customers_changed AFTER UPDATE ON customers"
    "  WHEN NEW.changed_at IS OLD.changed_at BEGIN"
    "  UPDATE customers SET changed_at = 9223372036854775807"
    "    WHERE id = NEW.id AND changed_at <> 9223372036854775807; END;"
    "CREATE TRIGGER orders_changed AFTER UPDATE ON orders"
    "  WHEN NEW.changed_at IS OLD.changed_at BEGIN"
    "  UPDATE orders SET changed_at = 9223372036854775807"
    "    WHERE id = NEW.id AND changed_at <> 9223372036854775807; END;"
    "CREATE TRIGGER pages_changed AFTER UPDATE ON pages"
    "  WHEN NEW.changed_at IS OLD.changed_at BEGIN"
    "  UPDATE pages SET changed_at = 9223372036854775807"
    "    WHERE id = NEW.id AND changed_at <> 9223372036854775807; END;"},
    {6,
    /* Deletions of mirrored entities. */
    "CREATE TRIGGER products_deleted AFTER DELETE ON products BEGIN"
    "  INSERT OR REPLACE INTO deleted(entity, id, deleted_at)"
    "    VALUES ('product', OLD.id, 9223372036854775807); END;"
    "CREATE TRIGGER customers_deleted AFTER DELETE ON customers BEGIN"
    "  INSERT OR REPLACE INTO deleted(entity, id, deleted_at)"
    "    VALUES ('customer', OLD.id, 9223372036854775807); END;"
    "CREATE TRIGGER pages_deleted AFTER DELETE ON pages BEGIN"
    "  INSERT OR REPLACE INTO deleted(entity, id, deleted_at)"
    "    VALUES ('page', OLD.id, 9223372036854775807); END;"
    /* A category renders its direct children: adding, moving or
     * removing one changes its parent (old and new). */
    "CREATE TRIGGER categories_deleted AFTER DELETE ON categories BEGIN"
    "  INSERT OR REPLACE INTO deleted(entity, id, deleted_at)"
    "    VALUES ('category', OLD.id, 9223372036854775807);"
    "  UPDATE categories SET changed_at = 9223372036854775807"
    "    WHERE id = OLD.parent_id; END;"
    "CREATE TRIGGER categories_added AFTER INSERT ON categories BEGIN"
    "  UPDATE categories SET changed_at = 9223372036854775807"
    "    WHERE id = NEW.parent_id; END;"
    "CREATE TRIGGER categories_moved AFTER UPDATE OF parent_id"
    "  ON categories WHEN NEW.parent_id IS NOT OLD.parent_id BEGIN"
    "  UPDATE categories SET changed_at = 9223372036854775807"
    "    WHERE id IN (OLD.parent_id, NEW.parent_id); END;"
    /* A parent lists its shown children in position order: a child
     * shown or hidden (its own or an ancestor's visibility, see
     * store_rebuild_category_paths) or moved in the order changes it. */
    "CREATE TRIGGER categories_reordered AFTER UPDATE OF position, shown"
    "  ON categories WHEN NEW.parent_id IS NOT NULL"
    "  AND (NEW.position IS NOT OLD.position"
    "       OR NEW.shown IS NOT OLD.shown) BEGIN"
    "  UPDATE categories SET changed_at = 9223372036854775807"
    "    WHERE id = NEW.parent_id"
    "      AND changed_at <> 9223372036854775807; END;"
    /* A product renders its categories' ids, names, paths and whether
     * they are shown; nothing else of them (an upsert that changes a
     * category's url names every column in its SET, hence the WHEN). */
    "CREATE TRIGGER categories_shown AFTER UPDATE OF name, full_path, shown"
    "  ON categories WHEN NEW.name IS NOT OLD.name"
    "  OR NEW.full_path IS NOT OLD.full_path"
    "  OR NEW.shown IS NOT OLD.shown BEGIN"
    "  UPDATE products SET changed_at = 9223372036854775807"
    "    WHERE id IN (SELECT product_id FROM product_categories"
    "                 WHERE category_id = NEW.id)"
    "      AND changed_at <> 9223372036854775807; END;"},
    {6,
    /* Children of a product: each write marks the product, unless it is
     * marked already (a first import adds many children per product). */
    "CREATE TRIGGER variants_added AFTER INSERT ON variants BEGIN"
    "  UPDATE products SET changed_at = 9223372036854775807"
    "    WHERE id = NEW.product_id"
    "      AND changed_at <> 9223372036854775807; END;"
    "CREATE TRIGGER variants_updated AFTER UPDATE ON variants BEGIN"
    "  UPDATE products SET changed_at = 9223372036854775807"
    "    WHERE id IN (OLD.product_id, NEW.product_id)"
    "      AND changed_at <> 9223372036854775807; END;"
    "CREATE TRIGGER variants_removed AFTER DELETE ON variants BEGIN"
    "  UPDATE products SET changed_at = 9223372036854775807"
    "    WHERE id = OLD.product_id"
    "      AND changed_at <> 9223372036854775807; END;"
    "CREATE TRIGGER stock_added AFTER INSERT ON stock BEGIN"
    "  UPDATE products SET changed_at = 9223372036854775807"
    "    WHERE id = (SELECT product_id FROM variants"
    "                WHERE id = NEW.variant_id)"
    "      AND changed_at <> 9223372036854775807; END;"
    "CREATE TRIGGER stock_updated AFTER UPDATE ON stock BEGIN"
    "  UPDATE products SET changed_at = 9223372036854775807"
    "    WHERE id = (SELECT product_id FROM variants"
    "                WHERE id = NEW.variant_id)"
    "      AND changed_at <> 9223372036854775807; END;"
    "CREATE TRIGGER stock_removed AFTER DELETE ON stock BEGIN"
    "  UPDATE products SET changed_at = 9223372036854775807"
    "    WHERE id = (SELECT product_id FROM variants"
    "                WHERE id = OLD.variant_id)"
    "      AND changed_at <> 9223372036854775807; END;"},
    {6,
    "CREATE TRIGGER images_added AFTER INSERT ON images BEGIN"
    "  UPDATE products SET changed_at = 9223372036854775807"
    "    WHERE id = NEW.product_id"
    "      AND changed_at <> 9223372036854775807; END;"
    "CREATE TRIGGER images_removed AFTER DELETE ON images BEGIN"
    "  UPDATE products SET changed_at = 9223372036854775807"
    "    WHERE id = OLD.product_id"
    "      AND changed_at <> 9223372036854775807; END;"
    /* Sets are replaced by DELETE and INSERT (store_set_*); a source's
     * own UPDATE of a row (a category merged into another) counts too,
     * for the old owner and the new, when it changes a value. */
    "CREATE TRIGGER images_updated AFTER UPDATE ON images"
    "  WHEN NEW.url IS NOT OLD.url OR NEW.position IS NOT OLD.position"
    "  OR NEW.product_id IS NOT OLD.product_id BEGIN"
    "  UPDATE products SET changed_at = 9223372036854775807"
    "    WHERE id IN (OLD.product_id, NEW.product_id)"
    "      AND changed_at <> 9223372036854775807; END;"
    "CREATE TRIGGER product_categories_updated AFTER UPDATE"
    "  ON product_categories WHEN NEW.category_id IS NOT OLD.category_id"
    "  OR NEW.position IS NOT OLD.position"
    "  OR NEW.product_id IS NOT OLD.product_id BEGIN"
    "  UPDATE products SET changed_at = 9223372036854775807"
    "    WHERE id IN (OLD.product_id, NEW.product_id)"
    "      AND changed_at <> 9223372036854775807; END;"
    "CREATE TRIGGER product_categories_added AFTER INSERT"
    "  ON product_categories BEGIN"
    "  UPDATE products SET changed_at = 9223372036854775807"
    "    WHERE id = NEW.product_id"
    "      AND changed_at <> 9223372036854775807; END;"
    "CREATE TRIGGER product_categories_removed AFTER DELETE"
    "  ON product_categories BEGIN"
    "  UPDATE products SET changed_at = 9223372036854775807"
    "    WHERE id = OLD.product_id"
    "      AND changed_at <> 9223372036854775807; END;"},
    {6,
    "CREATE TRIGGER attributes_added AFTER INSERT ON attributes BEGIN"
    "  UPDATE products SET changed_at = 9223372036854775807"
    "    WHERE id = CASE NEW.entity WHEN 'product' THEN NEW.entity_id"
    "      ELSE (SELECT product_id FROM variants WHERE id = NEW.entity_id)"
    "      END AND changed_at <> 9223372036854775807; END;"
    "CREATE TRIGGER attributes_removed AFTER DELETE ON attributes BEGIN"
    "  UPDATE products SET changed_at = 9223372036854775807"
    "    WHERE id = CASE OLD.entity WHEN 'product' THEN OLD.entity_id"
    "      ELSE (SELECT product_id FROM variants WHERE id = OLD.entity_id)"
    "      END AND changed_at <> 9223372036854775807; END;"
    "CREATE TRIGGER attributes_updated AFTER UPDATE ON attributes"
    "  WHEN NEW.name IS NOT OLD.name OR NEW.value IS NOT OLD.value"
    "  OR NEW.position IS NOT OLD.position OR NEW.origin IS NOT OLD.origin"
    "  OR NEW.entity IS NOT OLD.entity"
    "  OR NEW.entity_id IS NOT OLD.entity_id BEGIN"
    "  UPDATE products SET changed_at = 9223372036854775807"
    "    WHERE id IN (CASE OLD.entity WHEN 'product' THEN OLD.entity_id"
    "      ELSE (SELECT product_id FROM variants WHERE id = OLD.entity_id)"
    "      END,"
    "      CASE NEW.entity WHEN 'product' THEN NEW.entity_id"
    "      ELSE (SELECT product_id FROM variants WHERE id = NEW.entity_id)"
    "      END) AND changed_at <> 9223372036854775807; END;"
    "CREATE TRIGGER reviews_added AFTER INSERT ON reviews BEGIN"
    "  UPDATE products SET changed_at = 9223372036854775807"
    "    WHERE id = NEW.product_id"
    "      AND changed_at <> 9223372036854775807; END;"
    "CREATE TRIGGER reviews_updated AFTER UPDATE ON reviews BEGIN"
    "  UPDATE products SET changed_at = 9223372036854775807"
    "    WHERE id IN (OLD.product_id, NEW.product_id)"
    "      AND changed_at <> 9223372036854775807; END;"
    "CREATE TRIGGER reviews_removed AFTER DELETE ON reviews BEGIN"
    "  UPDATE products SET changed_at = 9223372036854775807"
    "    WHERE id = OLD.product_id"
    "      AND changed_at <> 9223372036854775807; END;"},
    {6,
    /* Orders: their lines, their refunds, their properties. */
    "CREATE TRIGGER order_lines_added AFTER INSERT ON order_lines BEGIN"
    "  UPDATE orders SET changed_at = 9223372036854775807"
    "    WHERE id = NEW.order_id"
    "      AND changed_at <> 9223372036854775807; END;"
    "CREATE TRIGGER order_lines_updated AFTER UPDATE ON order_lines BEGIN"
    "  UPDATE orders SET changed_at = 9223372036854775807"
    "    WHERE id IN (OLD.order_id, NEW.order_id)"
    "      AND changed_at <> 9223372036854775807; END;"
    "CREATE TRIGGER order_lines_removed AFTER DELETE ON order_lines BEGIN"
    "  UPDATE orders SET changed_at = 9223372036854775807"
    "    WHERE id = OLD.order_id"
    "      AND changed_at <> 9223372036854775807; END;"
    "CREATE TRIGGER orders_refunded AFTER INSERT ON orders"
    "  WHEN NEW.refund_of IS NOT NULL BEGIN"
    "  UPDATE orders SET changed_at = 9223372036854775807"
    "    WHERE id = NEW.refund_of"
    "      AND changed_at <> 9223372036854775807; END;"
    "CREATE TRIGGER properties_added AFTER INSERT ON properties BEGIN"
    "  UPDATE customers SET changed_at = 9223372036854775807"
    "    WHERE NEW.entity = 'customer' AND id = NEW.entity_id"
    "      AND changed_at <> 9223372036854775807;"
    "  UPDATE orders SET changed_at = 9223372036854775807"
    "    WHERE NEW.entity = 'order' AND id = NEW.entity_id"
    "      AND changed_at <> 9223372036854775807; END;"
    "CREATE TRIGGER properties_updated AFTER UPDATE ON properties"
    "  WHEN NEW.value IS NOT OLD.value OR NEW.name IS NOT OLD.name"
    "  OR NEW.entity IS NOT OLD.entity"
    "  OR NEW.entity_id IS NOT OLD.entity_id BEGIN"
    "  UPDATE customers SET changed_at = 9223372036854775807"
    "    WHERE id IN (CASE OLD.entity WHEN 'customer' THEN OLD.entity_id"
    "                 END, CASE NEW.entity WHEN 'customer'"
    "                 THEN NEW.entity_id END)"
    "      AND changed_at <> 9223372036854775807;"
    "  UPDATE orders SET changed_at = 9223372036854775807"
    "    WHERE id IN (CASE OLD.entity WHEN 'order' THEN OLD.entity_id"
    "                 END, CASE NEW.entity WHEN 'order'"
    "                 THEN NEW.entity_id END)"
    "      AND changed_at <> 9223372036854775807; END;"
    "CREATE TRIGGER properties_removed AFTER DELETE ON properties BEGIN"
    "  UPDATE customers SET changed_at = 9223372036854775807"
    "    WHERE OLD.entity = 'customer' AND id = OLD.entity_id"
    "      AND changed_at <> 9223372036854775807;"
    "  UPDATE orders SET changed_at = 9223372036854775807"
    "    WHERE OLD.entity = 'order' AND id = OLD.entity_id"
    "      AND changed_at <> 9223372036854775807; END;"},
    {7,
    /* A counter every stamp of pending changes moves (store_generation):
     * with nothing pending, one value of it is one content of every
     * tracked table, which a timestamp cannot say (two commits in one
     * second, or a pinned clock). */
    "CREATE TABLE generation ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  n INTEGER NOT NULL);"
    "INSERT INTO generation(id, n) VALUES (1, 0);"
    /* What was computed over a whole snapshot, kept for readers of the
     * same generation (store_derived_get). */
    "CREATE TABLE derived ("
    "  key TEXT PRIMARY KEY,"
    "  generation INTEGER NOT NULL,"
    "  value TEXT NOT NULL) WITHOUT ROWID;"},
};

#endif
