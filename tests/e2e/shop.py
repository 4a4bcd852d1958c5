"""Test harness: builds a file-source shop in a temp folder, runs the real
posfeed binary on it and parses what it publishes.

Every test talks to posfeed only through its command line, its files and
its exit codes, as a merchant would.
"""
import gzip
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import unittest

BIN = os.environ.get("POSFEED_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "posfeed")
BIN = os.path.abspath(BIN)
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# Pinned "now" so lookback windows are exact: 2026-11-20T12:00:00Z.
NOW = "2026-11-20T12:00:00Z"

BASE_SYNC = {
    "attributes": "auto",
    "orders_lookback": "all",
    "accepted_order_statuses": "completed",
    "include_out_of_stock": "yes",
    "collect_emails": "no",
    "include_customers": "no",
    "include_variants": "yes",
    "include_variant_stock": "no",
}


def product(pid, name="Product", price="10.00", **kw):
    """A product with one variant (no options) unless variants= given.
    It has what platforms require (a page, an image, a brand, a creation
    time) unless the test gives other values: feeds leave out items
    missing a required field. Pass url="", images=[] ... to test that."""
    p = {"id": pid, "name": name, "url": "/p/" + pid,
         "images": ["/img/%s.jpg" % pid], "brand": "Brand",
         "created_at": "2026-01-01T00:00:00Z"}
    variants = kw.pop("variants", None)
    p.update(kw)
    if variants is None:
        variants = [{"id": pid + "-v", "price": price}]
    for i, v in enumerate(variants):
        v.setdefault("product_id", pid)
        v.setdefault("position", i)
    return p, variants


# The tables every feed reads, for comparing two stores (dump()).
STORE_TABLES = ("locations", "categories", "products", "variants", "stock",
                "product_categories", "images", "attributes", "customers",
                "orders", "order_lines")


class ApiShop:
    """What the shops of the API-source tests share. A subclass sets
    self.tc (the test case), self.dir and self.conf, and gives env(**kw)
    (the keywords of posfeed() other than its own go to env)."""

    tables = STORE_TABLES

    def posfeed(self, *args, expect=0, timeout=120, **env_kw):
        r = subprocess.run([BIN, "-c", self.conf] + list(args),
                           capture_output=True, text=True,
                           env=self.env(**env_kw), timeout=timeout)
        if expect is not None and r.returncode != expect:
            self.tc.fail("%s exited %d, expected %d\nstdout:\n%s\nstderr:\n"
                         "%s" % (" ".join(args), r.returncode, expect,
                                 r.stdout, r.stderr))
        return r

    def db(self):
        c = sqlite3.connect(os.path.join(self.dir, "store.db"))
        self.tc.addCleanup(c.close)
        return c

    def dump(self, clock=True):
        """Every table a feed reads, sorted: equal stores dump equal.
        clock=False: for runs on the real clock, a change time
        (changed_at) only says whether it is stamped, not when."""
        c = self.db()
        out = {}
        for t in self.tables:
            cols = [r[1] for r in c.execute("PRAGMA table_info(%s)" % t)]
            if not clock:
                cols = ["changed_at < %d" % (2 ** 63 - 1)
                        if col == "changed_at" else col for col in cols]
            out[t] = sorted(map(repr, c.execute(
                "SELECT %s FROM %s" % (", ".join(cols), t))))
        return out


class Shop:
    """A temp shop folder: data/*.ndjson + posfeed.conf."""

    def __init__(self, testcase):
        self.tc = testcase
        self.dir = tempfile.mkdtemp(prefix="posfeed-e2e-")
        testcase.addCleanup(shutil.rmtree, self.dir, True)
        self.data = os.path.join(self.dir, "data")
        os.mkdir(self.data)
        self.rows = {k: [] for k in (
            "locations", "categories", "products", "variants", "stock",
            "customers", "orders", "order_lines")}
        self.rows["locations"].append({"id": "L1", "name": "Amsterdam"})
        self.rows["locations"].append({"id": "L2", "name": "Utrecht"})
        self.sync = dict(BASE_SYNC)
        self.source = {}        # extra [source] keys, e.g. max_drop
        self.feeds = {"clerk": {"template": "clerk"}}

    # -- data -------------------------------------------------------------
    def add_product(self, pid, stock=None, parent_stock=None, **kw):
        """stock: {variant_id: {location: qty}} or {location: qty} for a
        single-variant product; parent_stock: the product's own count."""
        if parent_stock is not None:
            kw["stock"] = parent_stock
        p, variants = product(pid, **kw)
        self.rows["products"].append(p)
        self.rows["variants"].extend(variants)
        if stock:
            if all(isinstance(v, int) for v in stock.values()):
                stock = {variants[0]["id"]: stock}
            for vid, per_loc in stock.items():
                for loc, q in per_loc.items():
                    self.rows["stock"].append(
                        {"variant_id": vid, "location_id": loc,
                         "quantity": q})
        return p

    def add(self, entity, **row):
        self.rows[entity].append(row)
        return row

    def add_order(self, oid, lines, **kw):
        o = {"id": oid, "status": "completed",
             "created_at": "2026-11-01T10:00:00Z", "total": "10.00"}
        o.update(kw)
        self.rows["orders"].append(o)
        for i, ln in enumerate(lines):
            ln = dict(ln)
            ln.setdefault("id", "%s-l%d" % (oid, i))
            ln.setdefault("order_id", oid)
            ln.setdefault("unit_price", "10.00")
            ln.setdefault("quantity", 1)
            self.rows["order_lines"].append(ln)
        return o

    def write_data(self):
        for entity, rows in self.rows.items():
            with open(os.path.join(self.data, entity + ".ndjson"), "w",
                      encoding="utf-8") as f:
                for r in rows:
                    f.write(json.dumps(r, ensure_ascii=False) + "\n")

    # -- config -------------------------------------------------------------
    def config_text(self):
        lines = [
            "[shop]", "name = Test Shop", "timezone = Europe/Amsterdam",
            "currency = EUR", "url = https://shop.example",
            "store = store.db", "feeds_dir = feeds", "",
            "[source]", "type = file", "path = data"]
        lines += ["%s = %s" % kv for kv in self.source.items()]
        lines += ["", "[sync]"]
        lines += ["%s = %s" % kv for kv in self.sync.items()]
        for name, keys in self.feeds.items():
            lines += ["", "[feed %s]" % name]
            lines += ["%s = %s" % kv for kv in keys.items()]
        return "\n".join(lines) + "\n"

    def write_config(self, text=None):
        path = os.path.join(self.dir, "posfeed.conf")
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.config_text() if text is None else text)
        return path

    # -- running --------------------------------------------------------------
    def posfeed(self, *args, expect=0, config=True, env=None, timeout=120):
        cmd = [BIN]
        if config:
            cmd += ["-c", os.path.join(self.dir, "posfeed.conf")]
        cmd += list(args)
        e = dict(os.environ)
        e["POSFEED_NOW"] = NOW
        e["POSFEED_TEMPLATES"] = os.path.join(REPO, "templates")
        if env:
            e.update(env)
        r = subprocess.run(cmd, capture_output=True, text=True, env=e,
                           timeout=timeout)
        if expect is not None and r.returncode != expect:
            self.tc.fail("%s exited %d, expected %d\nstdout:\n%s\nstderr:\n%s"
                         % (" ".join(args), r.returncode, expect, r.stdout,
                            r.stderr))
        return r

    def run(self, *args, **kw):
        self.write_data()
        self.write_config()
        return self.posfeed("run", *args, **kw)

    def feed_path(self, name="clerk.json"):
        return os.path.join(self.dir, "feeds", name)

    def feed(self, name="clerk.json"):
        with open(self.feed_path(name), encoding="utf-8") as f:
            return json.load(f)

    def feed_gz(self, name="clerk.json"):
        with gzip.open(self.feed_path(name) + ".gz", "rt",
                       encoding="utf-8") as f:
            return json.load(f)

    def db(self):
        con = sqlite3.connect(os.path.join(self.dir, "store.db"))
        self.tc.addCleanup(con.close)
        return con


def by_id(items):
    return {x["id"]: x for x in items}


class ShopTest(unittest.TestCase):
    def shop(self):
        return Shop(self)
