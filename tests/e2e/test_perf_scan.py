"""Issue 13 target 2: a build of many feeds reads each collection once
and builds the feeds side by side, yet every feed comes out byte for
byte as a build of that feed alone: files, the feeds table, the left-out
records, the gate.

The shared scan is checked through `build -v`, which logs the store rows
the build read per collection (no timing in tests)."""
import gzip
import os
import re
import shutil

from shop import ShopTest

# Feeds with settings that must not share rows, and ones that may.
FEEDS = {
    "cp": {"template": "clerk-products", "output": "cp.json"},
    # differs in a [sync] setting: its own scan
    "cp-instock": {"template": "clerk-products", "output": "cp-in.json",
                   "include_out_of_stock": "no"},
    "google": {"template": "google-shopping", "output": "google.xml"},
    # a rule: rows changed per feed, never shared
    "meta-rule": {"template": "meta-catalog", "output": "meta.xml",
                  "exclude": "product.brand == 'Old stock'",
                  "set.product.condition": "refurbished"},
    # split into parts, from the shared scan
    "kc-split": {"template": "klaviyo-catalog-json", "output": "kc.json",
                 "max_file_size": "1M"},
    "kx": {"template": "klaviyo-catalog-xml", "output": "kx.xml",
           "gzip": "no"},
    "clerk": {"template": "clerk", "output": "clerk.json"},
    "events": {"template": "klaviyo-events", "output": "events.ndjson"},
}


def make_shop(tc, n=1500):
    s = tc.shop()
    s.sync.update({"include_customers": "yes", "collect_emails": "yes"})
    s.add("categories", id="c1", name="Mugs")
    for i in range(n):
        pid = "p%04d" % i
        kw = {"name": "Product %d " % i + "x" * 600}
        if i % 7 == 0:
            kw["brand"] = "Old stock"
        if i % 11 == 0:
            kw["images"] = []           # left out: missing image_link
        if i % 13 == 0:
            kw["price"] = "0.00"        # left out: free product
        if i % 17 == 0:
            kw["variants"] = [
                {"id": pid + "-a", "price": "5.00", "sku": pid + "A"},
                {"id": pid + "-b", "price": "6.00", "sku": pid + "B"}]
        stock = {"L1": 0} if i % 5 == 0 else {"L1": 3}
        if "variants" in kw:
            stock = {pid + "-a": {"L1": 1}, pid + "-b": {"L2": 0}}
        s.add_product(pid, stock=stock, **kw)
    for i in range(40):
        s.add("customers", id="u%d" % i, email="u%d@example.com" % i,
              first_name="U%d" % i)
        s.add_order("o%d" % i, [{"product_id": "p%04d" % (i * 3),
                                 "variant_id": "p%04d-v" % (i * 3)}],
                    customer_id="u%d" % i, email="u%d@example.com" % i)
    return s


def outputs(s):
    """Every published file (gzip twins decompressed: their header
    holds a time), the feeds table without times, and the left-out
    records."""
    feeds = os.path.join(s.dir, "feeds")
    files = {}
    for n in sorted(os.listdir(feeds)):
        p = os.path.join(feeds, n)
        opener = gzip.open if n.endswith(".gz") else open
        with opener(p, "rb") as f:
            files[n] = f.read()
    db = s.db()
    table = db.execute(
        "SELECT name, path, bytes, gz_bytes, items, sha256, gz_sha256, "
        "access FROM feeds ORDER BY name").fetchall()
    left = db.execute("SELECT feed, reason, items FROM feed_left_out "
                      "ORDER BY feed, reason").fetchall()
    return files, table, left


def read(path):
    with open(path, "rb") as f:
        return f.read()


def rows_read(stderr):
    m = re.search(r"build: store rows read: (.*) \(", stderr)
    if m is None:
        return None
    return {k: int(v) for k, v in
            (x.split(" ") for x in m.group(1).split(", "))}


class AllAtOnce(ShopTest):
    def test_all_feeds_equal_each_built_alone(self):
        s = make_shop(self)
        s.feeds = FEEDS
        r = s.run("-v")
        all_files, all_table, all_left = outputs(s)
        # the split feed really is split, and some rows were left out
        self.assertIn("kc-2.json", all_files)
        self.assertTrue(any(f == "cp" for f, _, _ in all_left))
        self.assertTrue(any(f == "google" and reason == "free product"
                            for f, reason, _ in all_left))
        # the shared scan read each product once, not once per feed:
        # cp, google, kc-split, kx and clerk share one; cp-instock and
        # meta-rule read alone.
        self.assertEqual(rows_read(r.stderr)["products"], 3 * 1500,
                         r.stderr[-2000:])
        shutil.rmtree(os.path.join(s.dir, "feeds"))
        for name in FEEDS:
            s.posfeed("build", name)
        one_files, one_table, one_left = outputs(s)
        self.assertEqual(sorted(all_files), sorted(one_files))
        for n in all_files:
            with self.subTest(file=n):
                self.assertEqual(all_files[n], one_files[n])
        self.assertEqual(all_table, one_table)
        self.assertEqual(all_left, one_left)

    def test_build_reads_products_once_for_all_product_feeds(self):
        s = make_shop(self, n=50)
        s.feeds = {k: FEEDS[k] for k in ("cp", "google", "kx", "clerk")}
        s.run()
        r = s.posfeed("-v", "build")
        self.assertEqual(rows_read(r.stderr), {
            "products": 50, "categories": 1, "orders": 40,
            "customers": 40})
        r = s.posfeed("-v", "build", "google")
        self.assertEqual(rows_read(r.stderr), {"products": 50})

    def test_a_feed_failing_its_gate_does_not_stop_the_others(self):
        s = make_shop(self, n=60)
        s.feeds = {k: dict(FEEDS[k]) for k in ("cp", "google", "kx")}
        s.feeds["google"]["max_drop"] = "10%"
        s.feeds["cp"]["max_drop"] = "100%"
        s.feeds["kx"]["max_drop"] = "100%"
        s.source["max_drop"] = "100%"
        s.run()
        before = read(s.feed_path("google.xml"))
        s.rows["products"] = s.rows["products"][:20]
        s.rows["variants"] = [v for v in s.rows["variants"]
                              if v["product_id"] < "p0020"]
        r = s.run(expect=1)
        self.assertIn("feed 'google'", r.stderr)
        self.assertNotIn("google", r.stdout)
        self.assertIn("cp ", r.stdout)
        self.assertIn("kx ", r.stdout)
        self.assertEqual(read(s.feed_path("google.xml")), before)
        items = dict(s.db().execute("SELECT name, items FROM feeds"))
        self.assertLess(items["cp"], 20)
        self.assertGreater(items["google"], 50)
        # the feeds left standing match a build of each alone
        files, table, _ = outputs(s)
        for name in ("cp", "kx"):
            s.posfeed("build", name)
        self.assertEqual(outputs(s)[0], files)
        self.assertEqual(outputs(s)[1], table)
