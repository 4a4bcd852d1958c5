"""Partial and hostile input (issue 8, items 1-4): a file cut off while it
was written, a line that does not parse, \\u0000 in ids and text, absurd
quantities, FIFOs, /dev/zero and over-long lines. Nothing valid is lost,
no good feed is replaced, and the run says so with exit 1 unless --force.
"""
import hashlib
import json
import os
import sqlite3

from shop import ShopTest

N = 100


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Partial(ShopTest):
    """A shop of N products, each with one variant and stock at L1."""

    def make(self):
        s = self.shop()
        for i in range(N):
            s.add_product("p%03d" % i, name="Product %d" % i,
                          stock={"L1": 3})
        s.run()
        self.assertEqual(len(s.feed()["products"]), N)
        return s

    def products_path(self, s):
        return os.path.join(s.data, "products.ndjson")

    def rewrite(self, s, data):
        with open(self.products_path(s), "wb") as f:
            f.write(data)

    def original(self, s):
        with open(self.products_path(s), "rb") as f:
            return f.read()

    def count(self, s, sql):
        con = sqlite3.connect(os.path.join(s.dir, "store.db"))
        try:
            return con.execute(sql).fetchone()[0]
        finally:
            con.close()

    def assert_all_kept(self, s):
        self.assertEqual(self.count(s, "SELECT count(*) FROM products"), N)
        self.assertEqual(self.count(s, "SELECT count(*) FROM variants"), N)
        self.assertEqual(self.count(s, "SELECT count(*) FROM stock"), N)

    def assert_held(self, r, s, *words):
        self.assertIn("products.ndjson is not trusted as a complete "
                      "snapshot", r.stderr)
        for w in words:
            self.assertIn(w, r.stderr)
        self.assertIn("--force", r.stderr)
        st = json.loads(s.posfeed("status", "--json").stdout)
        self.assertEqual(st["runs"][0]["result"], "failed")
        self.assertIn("products.ndjson", st["runs"][0]["error"])

    def test_cut_mid_line_removes_nothing_and_publishes_nothing(self):
        s = self.make()
        feed, before = s.feed_path(), sha(s.feed_path())
        mtime = os.stat(feed).st_mtime_ns
        data = self.original(s)
        self.rewrite(s, data[:int(len(data) * 0.6)])
        r = s.posfeed("run", expect=1)
        self.assert_held(r, s, "invalid JSON", "no newline at the end")
        self.assert_all_kept(s)
        # No feed was built from the cut store: the good one stays.
        self.assertEqual(sha(feed), before)
        self.assertEqual(os.stat(feed).st_mtime_ns, mtime)
        self.assertNotIn("feeds:", r.stdout)
        # sync alone says the same.
        s.posfeed("sync", expect=1)

    def test_cut_on_line_boundary_is_caught_by_the_drop_gate(self):
        s = self.make()
        before = sha(s.feed_path())
        lines = self.original(s).splitlines(keepends=True)
        self.rewrite(s, b"".join(lines[:int(N * 0.6)]))
        r = s.posfeed("run", expect=1)
        self.assert_held(r, s, "it would remove 40 of 100 products (40%)",
                         "max_drop = 25%")
        self.assert_all_kept(s)
        self.assertEqual(sha(s.feed_path()), before)

    def test_a_wider_source_max_drop_lets_a_real_shrink_through(self):
        s = self.make()
        s.source["max_drop"] = "50%"
        s.write_config()
        lines = self.original(s).splitlines(keepends=True)
        self.rewrite(s, b"".join(lines[:int(N * 0.6)]))
        s.posfeed("sync")
        self.assertEqual(self.count(s, "SELECT count(*) FROM products"), 60)

    def test_unparseable_lines_with_readable_ids_keep_their_rows(self):
        s = self.make()
        lines = self.original(s).splitlines(keepends=True)
        # Truncated line, raw NUL byte, lone surrogate escape: each once
        # removed the product with its variants and stock.
        lines[10] = b'{"id": "p010", "name": "Prod\n'
        lines[20] = b'{"id": "p020", "name": "Product\x0020"}\n'
        lines[30] = b'{"id": "p030", "name": "Product \\ud800 30"}\n'
        self.rewrite(s, b"".join(lines))
        r = s.posfeed("run", expect=1)
        self.assert_held(r, s, "line 11: invalid JSON")
        self.assertIn("products.ndjson:21: NUL byte in line", r.stderr)
        self.assert_all_kept(s)
        for pid in ("p010", "p020", "p030"):
            self.assertEqual(self.count(
                s, "SELECT count(*) FROM stock WHERE variant_id = "
                   "'%s-v'" % pid), 1)
        # The lone surrogate is repaired like invalid UTF-8, not refused.
        self.assertEqual(self.count(
            s, "SELECT name FROM products WHERE id = 'p030'"),
            "Product \ufffd 30")
        self.assertIn("products.ndjson:31: field 'name': lone UTF-16 "
                      "surrogate escape repaired", r.stderr)

    def test_force_applies_the_deletions(self):
        s = self.make()
        data = self.original(s)
        self.rewrite(s, data[:int(len(data) * 0.6)])
        s.posfeed("run", expect=1)
        r = s.posfeed("run", "--force")
        self.assertIn("--force: removing what it does not list anyway",
                      r.stderr)
        kept = self.count(s, "SELECT count(*) FROM products")
        self.assertLess(kept, 61)
        self.assertEqual(len(s.feed()["products"]), kept)
        self.assertEqual(self.count(s, "SELECT count(*) FROM variants"),
                         kept)

    def test_sync_force_then_a_later_clean_file_deletes_normally(self):
        s = self.make()
        data = self.original(s)
        self.rewrite(s, data[:int(len(data) * 0.6)])
        s.posfeed("sync", expect=1)
        s.posfeed("sync", "--force")
        # The writer comes back with a whole file that drops 5 products.
        lines = data.splitlines(keepends=True)
        self.rewrite(s, b"".join(lines[5:]))
        s.posfeed("run")
        self.assertEqual(self.count(s, "SELECT count(*) FROM products"), 95)
        self.assertEqual(len(s.feed()["products"]), 95)

    def test_a_clean_file_after_a_held_one_imports_and_deletes(self):
        s = self.make()
        data = self.original(s)
        self.rewrite(s, data[:int(len(data) * 0.6)])
        s.posfeed("run", expect=1)
        lines = data.splitlines(keepends=True)
        self.rewrite(s, b"".join(lines[:-3]))
        r = s.posfeed("run")
        self.assertNotIn("not trusted", r.stderr)
        self.assertEqual(self.count(s, "SELECT count(*) FROM products"), 97)
        self.assertEqual(len(s.feed()["products"]), 97)


class Escapes(ShopTest):
    def test_nul_escape_neither_cuts_an_id_nor_a_name(self):
        s = self.shop()
        s.add_product("p0", name="Real p0")
        s.add_product("p1", name="Mug")
        s.run()
        s.write_data()
        with open(os.path.join(s.data, "products.ndjson"), "a") as f:
            f.write('{"id": "p0\\u000005", "name": "Evil"}\n')
            f.write('{"id": "p1", "name": "Cut\\u0000 here"}\n')
            f.write('{"id": "tab\\there", "name": "Tab"}\n')
        r = s.posfeed("run", expect=1)
        self.assertIn("products.ndjson:3: field 'id': NUL character "
                      "(\\u0000) in an id", r.stderr)
        self.assertIn("products.ndjson:4: field 'name': NUL character "
                      "(\\u0000) in the value", r.stderr)
        self.assertIn("products.ndjson:5: field 'id': control character "
                      "in an id", r.stderr)
        con = s.db()
        self.assertEqual(sorted(con.execute("SELECT id, name FROM "
                                            "products")),
                         [("p0", "Real p0"), ("p1", "Mug")])
        # --force publishes: still nothing cut, nothing overwritten.
        s.posfeed("run", "--force")
        names = {p["id"]: p["name"] for p in s.feed()["products"]}
        self.assertEqual(names, {"p0": "Real p0", "p1": "Mug"})


class Quantities(ShopTest):
    def test_huge_quantities_are_refused_and_stock_sums_exactly(self):
        s = self.shop()
        s.add("locations", id="L3", name="Rotterdam")
        s.add_product("p1", stock={"L1": 1000000000, "L2": 1000000000,
                                   "L3": 1})
        s.add_product("p2", stock={"L1": 3})
        s.write_data()
        with open(os.path.join(s.data, "stock.ndjson"), "a") as f:
            for loc in ("L1", "L2"):
                f.write(json.dumps({"variant_id": "p2-v",
                                    "location_id": loc,
                                    "quantity": "9223372036854775807"})
                        + "\n")
        s.write_config()
        r = s.posfeed("run")
        self.assertIn("stock.ndjson:5: field 'quantity': expected a whole "
                      "number from -1000000000 to 1000000000, got "
                      '"9223372036854775807"', r.stderr)
        stock = {p["id"]: p["stock"] for p in s.feed()["products"]}
        self.assertEqual(stock, {"p1": 2000000001, "p2": 3})

    def test_stock_stored_before_the_bounds_cannot_overflow_a_feed(self):
        s = self.shop()
        s.add_product("p1", stock={"L1": 1, "L2": 1})
        s.run()
        con = sqlite3.connect(os.path.join(s.dir, "store.db"))
        con.execute("UPDATE stock SET quantity = 9223372036854775807")
        con.commit()
        con.close()
        s.posfeed("build")
        # Each row counts at most the bound; the sum is exact.
        self.assertEqual(s.feed()["products"][0]["stock"], 2000000000)


class HostileFiles(ShopTest):
    def shop_with(self, make_products):
        s = self.shop()
        s.add_product("p1")
        s.write_data()
        s.write_config()
        path = os.path.join(s.data, "products.ndjson")
        os.unlink(path)
        make_products(path)
        return s

    def test_fifo_is_refused_without_hanging(self):
        s = self.shop_with(os.mkfifo)
        r = s.posfeed("sync", expect=1, timeout=30)
        self.assertIn("products.ndjson: a FIFO, not a regular file; only "
                      "regular files are read", r.stderr)

    def test_dev_zero_is_refused_without_reading_it(self):
        s = self.shop_with(lambda p: os.symlink("/dev/zero", p))
        r = s.posfeed("sync", expect=1, timeout=30)
        self.assertIn("products.ndjson: a character device, not a regular "
                      "file", r.stderr)

    def test_over_long_line_is_a_file_line_error(self):
        s = self.shop()
        s.source["max_line"] = "1M"
        s.add_product("p1")
        s.add_product("p2", description="x" * (2 << 20))
        s.add_product("p3")
        r = s.run(expect=1)
        self.assertRegex(r.stderr, r"products.ndjson:2: line of \d+ bytes "
                                   r"is longer than max_line \(1048576 "
                                   r"bytes\); skipped")
        self.assertIn("line 2: longer than max_line", r.stderr)
        con = s.db()
        self.assertEqual(sorted(x for (x,) in con.execute(
            "SELECT id FROM products")), ["p1", "p3"])
        # A bigger cap takes it.
        s.source["max_line"] = "4M"
        s.run()
        self.assertEqual(len(s.feed()["products"]), 3)

    def test_bad_max_line_is_a_config_error(self):
        s = self.shop()
        s.source["max_line"] = "0"
        s.write_data()
        s.write_config()
        r = s.posfeed("check", expect=2)
        self.assertIn("max_line: expected a size from 1M to 1G", r.stderr)

    def test_a_list_of_200000_ids_takes_seconds(self):
        # The duplicate check compared every id with every other: this
        # 2 MB field took minutes, a 16 MB one hours.
        s = self.shop()
        s.add_product("p1", category_ids=["c%d" % i
                                          for i in range(200000)])
        s.write_data()
        s.write_config()
        s.posfeed("sync", timeout=30)
        st = json.loads(s.posfeed("status", "--json").stdout)
        self.assertEqual(st["counts"]["products"], 1)
        # One warning per link to a category that does not exist.
        self.assertEqual(st["runs"][0]["warnings"], 200000)
