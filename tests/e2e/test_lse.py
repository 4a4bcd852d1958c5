"""Lightspeed eCom source, end to end: the real posfeed against the API
emulator (tests/emulators/lse_emulator.py, in-process) on 127.0.0.1.

Feed fields are checked against the emulator's dataset
(tests/emulators/lse_data.py), never against posfeed's own output."""
import copy
import json
import os
import sqlite3
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from shop import BIN, REPO, STORE_TABLES, ApiShop

sys.path.insert(0, os.path.join(REPO, "tests", "emulators"))
import lse_data  # noqa: E402
import lse_emulator  # noqa: E402

DAY = 86400
# The dataset's "now" (2026-11-19) and posfeed's a day later.
DATA_NOW = 1795000000
NOW = "2026-11-20T12:00:00Z"
NEXT_DAY = "2026-11-21T12:00:00Z"
KEY, SECRET = "key", "secret"
SIZE = "300x400x1"


def cdn(shop, file_id, title):
    return ("https://cdn.webshopapp.com/shops/%d/files/%d/%s/%s.jpg"
            % (shop, file_id, SIZE, title))


class LseShop(ApiShop):
    """A posfeed folder whose [source] reads the emulator."""

    tables = STORE_TABLES + ("reviews", "pages")

    def __init__(self, tc, emu, extra_source=None, sync=None):
        self.tc = tc
        self.emu = emu
        self.dir = tempfile.mkdtemp(prefix="posfeed-lse-")
        tc.addCleanup(shutil.rmtree, self.dir, True)
        src = {"api_url": emu.url, "language": "nl",
               "api_key": "env:LSE_KEY", "api_secret": "env:LSE_SECRET",
               "image_size": SIZE, "timeout": "2", "retry_time": "20"}
        src.update(extra_source or {})
        sy = {"orders_lookback": "all",
              "accepted_order_statuses":
              "completed, completed_shipped, completed_picked_up",
              "include_customers": "yes", "collect_emails": "yes",
              "include_ratings": "yes", "include_pages": "yes",
              "custom_attributes": "supplier, Herkomst"}
        sy.update(sync or {})
        lines = ["[shop]", "name = LSE Shop", "timezone = Europe/Amsterdam",
                 "currency = EUR", "url = https://www.example-shop.nl",
                 "store = store.db", "feeds_dir = feeds", "", "[source]",
                 "type = lightspeed-ecom"]
        lines += ["%s = %s" % kv for kv in src.items() if kv[1] is not None]
        lines += ["", "[sync]"] + ["%s = %s" % kv for kv in sy.items()]
        lines += ["", "[feed clerk]", "template = clerk",
                  "output = clerk.json"]
        self.conf = os.path.join(self.dir, "posfeed.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def env(self, now=NOW):
        e = dict(os.environ)
        e["POSFEED_NOW"] = now
        e["POSFEED_TEMPLATES"] = os.path.join(REPO, "templates")
        e["LSE_KEY"] = KEY
        e["LSE_SECRET"] = SECRET
        return e

    def feed(self):
        with open(os.path.join(self.dir, "feeds", "clerk.json")) as f:
            return json.load(f)


class LseCase(unittest.TestCase):
    def setUp(self):
        self.data = lse_data.small_shop(DATA_NOW)
        self.emu = lse_emulator.LseEmulator(data=self.data, key=KEY,
                                            secret=SECRET)
        self.emu.start()
        self.addCleanup(self.emu.stop)

    def shop(self, **kw):
        return LseShop(self, self.emu, **kw)

    def api(self, pattern=None, status=None):
        """Logged API requests (paths without the control ones)."""
        return [e for e in self.emu.requests(pattern, status)
                if not e["path"].startswith("/_emu")]


def nl(v):
    return v["nl"] if isinstance(v, dict) else v


class FullSync(LseCase):
    def test_feed_fields_match_the_dataset(self):
        s = self.shop()
        s.posfeed("check")
        s.posfeed("run")
        feed = s.feed()
        prods = {p["id"]: p for p in feed["products"]}
        d = self.data
        variants = {}
        for v in d["variants"]:
            variants.setdefault(v["product"], []).append(v)
        images = {}
        for im in sorted(d["productImages"],
                         key=lambda i: (i["sortOrder"], i["id"])):
            images.setdefault(im["product"], []).append(im)
        brands = {b["id"]: b["title"] for b in d["brands"]}
        links = {}
        for ln in d["categoriesProducts"]:
            links.setdefault(ln["product"], set()).add(str(ln["category"]))
        hidden_cats = {str(c["id"]) for c in d["categories"]
                       if c.get("isVisible") is False}
        for p in d["products"]:
            pid = str(p["id"])
            vs = variants[p["id"]]
            if p.get("visibility") == "hidden":
                self.assertNotIn(pid, prods, "hidden product in the feed")
                continue
            if all(v["priceIncl"] == 0 for v in vs):
                self.assertNotIn(pid, prods, "free product in the feed")
                continue
            f = prods[pid]
            self.assertEqual(f["name"], nl(p["title"]))
            self.assertEqual(f["url"], "https://www.example-shop.nl/nl/%s"
                             ".html" % nl(p["url"]))
            default = [v for v in vs if v.get("isDefault")][0]
            self.assertEqual(f["price"], default["priceIncl"])
            self.assertEqual(f["variant_ids"][0], str(default["id"]))
            self.assertEqual(sorted(f["variant_ids"]),
                             sorted(str(v["id"]) for v in vs))
            if p.get("brand"):
                self.assertEqual(f["brand"], brands[p["brand"]])
            else:
                self.assertNotIn("brand", f)
            if p["id"] in images:
                im = images[p["id"]][0]
                self.assertEqual(f["image"], cdn(lse_data.SHOP_ID,
                                                 im["fileId"], im["title"]))
            self.assertEqual(set(f.get("categories", [])),
                             links.get(p["id"], set()) - hidden_cats)
            old = default.get("oldPriceIncl")
            if isinstance(old, (int, float)) and old > default["priceIncl"]:
                self.assertEqual(f["list_price"], old)
        # Stock: tracked levels summed, untracked stays in stock.
        self.assertEqual(prods["1"]["stock"], sum(
            v["stockLevel"] for v in variants[1]))
        # Options from the variants' option lists.
        self.assertEqual(prods["1"]["maat"], ["S", "M", "L"])
        self.assertEqual(prods["1"]["kleur"], ["Rood", "Blauw"])
        # Filter values (attributes = auto) and custom attributes.
        self.assertEqual(prods["1"]["materiaal"], "Katoen")
        self.assertEqual(prods["1"]["herkomst"], "Portugal")
        self.assertEqual(prods["1"]["supplier"], "Textiel BV")
        # Ratings from visible reviews only.
        for pid in ("1", "3", "8"):
            rs = [r["score"] for r in d["reviews"]
                  if str(r["product"]) == pid and r.get("isVisible", True)]
            self.assertEqual(prods[pid]["rating_count"], len(rs))
            self.assertAlmostEqual(prods[pid]["rating"],
                                   round(sum(rs) / len(rs), 1))
        # Categories: the tree, hidden ones out, absolute links.
        cats = {c["id"]: c for c in feed["categories"]}
        for c in d["categories"]:
            if c.get("isVisible") is False:
                self.assertNotIn(str(c["id"]), cats)
                continue
            self.assertEqual(cats[str(c["id"])]["url"],
                             "https://www.example-shop.nl/nl/%s/"
                             % nl(c["url"]))
        # Orders in an accepted status, with their lines.
        accepted = {"completed", "completed_shipped", "completed_picked_up"}
        want = {str(o["id"]) for o in d["orders"]
                if o["status"] in accepted}
        got = {o["id"] for o in feed["orders"]}
        self.assertEqual(got, want)
        lines = {}
        for ln in d["orderProducts"]:
            lines.setdefault(str(ln["order"]), []).append(ln)
        for o in feed["orders"]:
            self.assertEqual(sorted((x["id"], x["quantity"])
                                    for x in o["products"]),
                             sorted((str(ln["product"]),
                                     ln["quantityOrdered"])
                                    for ln in lines[o["id"]]))
        # Customers with e-mail; pages and visible articles.
        self.assertEqual({c["email"] for c in feed["customers"]},
                         {c["email"] for c in d["customers"]})
        pages = {p["id"]: p for p in feed["pages"]}
        for t in d["textpages"]:
            self.assertEqual("page-%d" % t["id"] in pages,
                             t.get("isVisible", True) is not False)
        for a in d["blogsArticles"]:
            self.assertEqual("article-%d" % a["id"] in pages,
                             a.get("isVisible", True) is not False)
        art = pages["article-1"]
        self.assertEqual(art["author"], "Anna")
        self.assertTrue(art["url"].startswith(
            "https://www.example-shop.nl/nl/blogs/"))
        self.assertEqual(len(self.api(status=429)), 0)

    def test_refunds_and_shipments(self):
        self.check_refunds_and_shipments()

    def test_returns_with_only_a_flat_order_id(self):
        # hotglue's tap reads returns with "orderId" and no "order"
        # reference: the refunds land the same.
        self.emu.configure(returns_order_ref=False)
        self.check_refunds_and_shipments()

    def check_refunds_and_shipments(self):
        s = self.shop()
        s.posfeed("sync")
        c = s.db()
        for r in self.data["returns"]:
            row = c.execute("SELECT refund_of, total FROM orders WHERE "
                            "id = ?", ("return-%d" % r["id"],)).fetchone()
            self.assertEqual(row, (str(r["order"]),
                                   -round(r["priceIncl"] * 100)))
            q = c.execute("SELECT SUM(quantity) FROM order_lines WHERE "
                          "order_id = ? AND is_return = 1",
                          ("return-%d" % r["id"],)).fetchone()[0]
            self.assertEqual(q, -sum(x["quantity"]
                                     for x in r["orderProducts"]))
        shipped = {str(x["order"]) for x in self.data["shipments"]}
        got = {r[0] for r in c.execute(
            "SELECT id FROM orders WHERE shipped = 1")}
        self.assertEqual(got, shipped)

    def test_parent_stock_is_the_default_variants(self):
        s = self.shop(sync={"variant_stock_tracking": "parent"})
        s.posfeed("run")
        prods = {p["id"]: p for p in s.feed()["products"]}
        for pid in (1, 8):
            default = [v for v in self.data["variants"]
                       if v["product"] == pid and v.get("isDefault")][0]
            self.assertEqual(prods[str(pid)]["stock"],
                             default["stockLevel"])

    def test_check_names_the_active_languages(self):
        s = self.shop(extra_source={"language": "de"})
        r = s.posfeed("check", expect=2)
        self.assertIn("nl, en", r.stderr)
        self.assertIn("language = de", r.stderr)

    def test_wrong_keys_are_a_clear_error(self):
        s = self.shop()
        e = s.env()
        e["LSE_SECRET"] = "wrong"
        r = subprocess.run([BIN, "-c", s.conf, "sync"], capture_output=True,
                           text=True, env=e, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("HTTP 401", r.stderr)
        self.assertIn("api_key", r.stderr)
        self.assertNotIn("wrong", r.stderr)

    def test_config_needs_one_of_cluster_and_api_url(self):
        s = self.shop(extra_source={"cluster": "eu1"})
        r = s.posfeed("check", expect=2)
        self.assertIn("cluster or api_url, not both", r.stderr)
        s = self.shop(extra_source={"image_size": "300x400"})
        r = s.posfeed("check", expect=2)
        self.assertIn("image_size", r.stderr)


class Incremental(LseCase):
    def test_changes_reach_the_feed_and_only_they_are_fetched(self):
        s = self.shop()
        s.posfeed("run")
        e = self.emu
        e.set_price(601, 29.0)
        e.set_stock(801, 0)
        e.hide_product(9)
        e.delete_product(3)
        new_order = e.add_order(
            dict(status="completed", paymentStatus="paid",
                 shipmentStatus="not_shipped", customer=2,
                 email="bram@example.nl", priceIncl=24.95,
                 priceExcl=20.62),
            [dict(product=1, variant=101, productTitle="T", sku="SKU-00101",
                  quantityOrdered=1, basePriceIncl=24.95,
                  basePriceExcl=20.62, priceIncl=24.95, priceExcl=20.62)])
        moved = [o["id"] for o in self.data["orders"]
                 if o["status"] == "processing_awaiting_shipment"][0]
        e.set_order_status(moved, "completed_shipped",
                           shipmentStatus="shipped")
        ln = [x for x in self.data["orderProducts"]
              if x["order"] == moved][0]
        ret = e.add_return(moved, [(ln["id"], 1)], amount=10.0)
        e.add_review(6, 4)
        e.add_page("Verzending", "<p>Gratis vanaf 50 euro.</p>")
        e.clear_log()
        # A day later, so the once-a-day deletion listing runs too.
        s.posfeed("run", now=NEXT_DAY)
        log = self.api()
        # Every listing asked only for what changed since the last run.
        for res in ("products", "variants", "customers", "orders",
                    "shipments", "returns", "reviews", "textpages"):
            lists = [x for x in log if x["path"] == "/nl/%s.json" % res
                     and x["query"].get("fields") != ["id"]]
            self.assertTrue(lists, res)
            for x in lists:
                self.assertIn("updated_at_min", x["query"], res)
        # Lines only for the new and the changed order; details only for
        # the changed products.
        got = sorted(x["path"] for x in log
                     if x["path"].endswith("/products.json")
                     and x["path"].startswith("/nl/orders/"))
        self.assertEqual(got, sorted(["/nl/orders/%d/products.json" % o
                                      for o in (new_order, moved)]))
        imgs = sorted(x["path"] for x in log
                      if x["path"].endswith("/images.json"))
        self.assertEqual(imgs, ["/nl/products/9/images.json"])
        self.assertEqual(len(self.api(status=429)), 0)
        feed = s.feed()
        prods = {p["id"]: p for p in feed["products"]}
        self.assertEqual(prods["6"]["price"], 29.0)
        self.assertNotIn("9", prods)            # hidden
        self.assertNotIn("3", prods)            # deleted
        self.assertEqual(prods["6"]["rating_count"], 1)
        self.assertIn(str(new_order), {o["id"] for o in feed["orders"]})
        self.assertIn(str(moved), {o["id"] for o in feed["orders"]})
        self.assertIn("Verzending", {p["title"] for p in feed["pages"]})
        c = s.db()
        self.assertEqual(c.execute(
            "SELECT refund_of FROM orders WHERE id = ?",
            ("return-%d" % ret,)).fetchone(), (str(moved),))
        self.assertEqual(c.execute(
            "SELECT quantity FROM stock WHERE variant_id = '801'"
        ).fetchone(), (0,))
        # The same day again: nothing new, no deletion listing.
        e.clear_log()
        s.posfeed("sync", now=NEXT_DAY)
        self.assertEqual([x for x in self.api()
                          if x["query"].get("fields") == ["id"]], [])
        self.assertEqual([x for x in self.api()
                          if x["path"].startswith("/nl/orders/") and
                          not x["path"].endswith("/count.json")], [])
        # Records the overlap re-reads are no change: no details, and no
        # re-read of the category links.
        self.assertEqual([x["path"] for x in self.api()
                          if x["path"].startswith("/nl/products/") and
                          not x["path"].endswith("/count.json") or
                          x["path"] == "/nl/categories/products.json"], [])


def feed_tags(tags, links):
    """The tags each product should carry, from a dataset's tags and
    tagsProducts: titles in link order, a tag once."""
    title = {t["id"]: t["title"] for t in tags}
    out = {}
    for ln in sorted(links, key=lambda x: x["id"]):
        got = out.setdefault(str(ln["product"]), [])
        if ln["tag"] in title and title[ln["tag"]] not in got:
            got.append(title[ln["tag"]])
    return out


class OrderLinesReadAgain(LseCase):
    def test_an_order_read_again_unchanged_is_not_marked_changed(self):
        """An order whose updatedAt moves for a field posfeed does not
        keep has its lines read again: writing them back unchanged must
        not mark the order changed."""
        s = self.shop()
        s.posfeed("run")
        c = sqlite3.connect(os.path.join(s.dir, "store.db"))
        self.addCleanup(c.close)
        first = dict(c.execute("SELECT id, changed_at FROM orders"))
        lines = sorted(c.execute("SELECT * FROM order_lines"))
        oid = [o["id"] for o in self.data["orders"]
               if str(o["id"]) in first and any(
                   x["order"] == o["id"] for x in self.data["orderProducts"])
               ][0]
        self.emu.update("orders", oid, memo="an internal note")
        self.emu.clear_log()
        s.posfeed("run", now=NEXT_DAY)
        self.assertIn("/nl/orders/%d/products.json" % oid,
                      [x["path"] for x in self.api()])
        now = dict(c.execute("SELECT id, changed_at FROM orders"))
        self.assertEqual(sorted(c.execute("SELECT * FROM order_lines")),
                         lines)
        self.assertEqual(now[str(oid)], first[str(oid)])


class Tags(LseCase):
    SYNC = {"custom_attributes": "supplier, Herkomst, tags"}

    def assert_tags(self, s, want):
        prods = {p["id"]: p for p in s.feed()["products"]}
        # A product with two tags makes "tags" a list everywhere; else
        # it is one string.
        many = any(len(v) > 1 for v in want.values())
        for pid, p in prods.items():
            got = p.get("tags", [])
            if not many and pid in want:
                self.assertIsInstance(got, str, pid)
                got = [got]
            self.assertEqual(got, want.get(pid, []), pid)
        self.assertTrue(any(p.get("tags") for p in prods.values()))

    def test_tags_match_the_dataset_and_link_changes_reach_the_feed(self):
        d = copy.deepcopy(self.data)
        s = self.shop(sync=self.SYNC)
        s.posfeed("run")
        self.assert_tags(s, feed_tags(d["tags"], d["tagsProducts"]))
        # Remove product 1's first tag, tag product 2, rename a tag:
        # none of them moves a product's updatedAt.
        gone = min(x["id"] for x in d["tagsProducts"] if x["product"] == 1)
        self.emu.delete("tagsProducts", gone)
        d["tagsProducts"] = [x for x in d["tagsProducts"]
                             if x["id"] != gone]
        new = self.emu.add("tagsProducts", dict(tag=2, product=2))
        d["tagsProducts"].append(dict(id=new, tag=2, product=2))
        self.emu.update("tags", 3, title="nieuw")
        [t for t in d["tags"] if t["id"] == 3][0]["title"] = "nieuw"
        self.emu.clear_log()
        s.posfeed("run")
        self.assert_tags(s, feed_tags(d["tags"], d["tagsProducts"]))
        self.assertEqual(len(self.api(r"/nl/tags/products\.json$")), 1)
        # Nothing changed: two count requests, no listing of the join.
        self.emu.clear_log()
        s.posfeed("run")
        self.assertEqual(self.api(r"/nl/tags/products\.json$"), [])
        self.assertEqual(len(self.api(r"/nl/tags/products/count")), 2)
        self.assert_tags(s, feed_tags(d["tags"], d["tagsProducts"]))
        # A rename alone rewrites the tags without reading the join.
        self.emu.update("tags", 1, title="zomer")
        [t for t in d["tags"] if t["id"] == 1][0]["title"] = "zomer"
        self.emu.clear_log()
        s.posfeed("run")
        self.assertEqual(self.api(r"/nl/tags/products\.json$"), [])
        self.assert_tags(s, feed_tags(d["tags"], d["tagsProducts"]))

    def test_tags_are_not_read_unless_a_feed_names_them(self):
        s = self.shop()
        s.posfeed("run")
        self.assertEqual(self.api(r"/nl/tags"), [])
        self.assertNotIn("tags", s.feed()["products"][0])


class Limits(LseCase):
    def test_pacing_keeps_every_request_below_the_windows(self):
        # A 5-second "5 minutes" of 12 requests: a full sync needs
        # several windows and must never be answered 429.
        self.emu.configure(limits=(12, 100000, 100000),
                           windows=(3, 3600, 86400))
        s = self.shop()
        t = time.time()
        s.posfeed("sync")
        n = len(self.api())
        self.assertEqual(len(self.api(status=429)), 0)
        self.assertGreater(n, 24)
        # At least n/12 - 1 windows were waited out.
        self.assertGreater(time.time() - t, 3 * (n // 12 - 1))

    def test_quota_exhaustion_then_resume_without_refetching(self):
        ref = self.shop()
        ref.posfeed("sync")
        want = ref.dump()
        self.emu.reset_limits()
        self.emu.clear_log()
        self.emu.configure(limits=(100000, 100000, 30))
        s = self.shop()
        r = s.posfeed("sync")
        # The projection first (the work is more than the day has left),
        # then a clean stop.
        self.assertRegex(r.stderr, r"~\d+ requests to make, more than "
                         r"the \d+ the API key has left today; at "
                         r"100,000/h this takes about \d+ h")
        self.assertIn("daily", r.stderr)
        self.assertIn("quota", r.stderr)
        first = [x["path"] for x in self.api(status=200)]
        self.assertLessEqual(len(first), 30)
        self.assertEqual(len(self.api(status=429)), 0)
        runs = 0
        while runs < 10:
            runs += 1
            self.emu.reset_limits()
            self.emu.clear_log()
            r = s.posfeed("sync")
            done = "quota" not in r.stderr
            second = [x["path"] for x in self.api(status=200)]
            # Details already stored are not fetched again.
            for p in second:
                if p.endswith("/images.json") or (
                        p.startswith("/nl/orders/") and
                        p.endswith("/products.json")):
                    self.assertNotIn(p, first)
            first += second
            if done:
                break
        self.assertGreater(runs, 1)
        self.assertEqual(s.dump(), want)

    def test_retry_after_as_a_date(self):
        self.emu.configure(retry_after="date")
        self.emu.fault(r"/variants\.json", "429", count=1)
        s = self.shop()
        s.posfeed("sync")
        self.assertEqual(len(self.api(status=429)), 1)


class Faults(LseCase):
    def clean_dump(self):
        ref = LseShop(self, self.emu)
        ref.posfeed("sync")
        self.emu.clear_log()
        return ref.dump()

    def test_every_scripted_fault_is_survived(self):
        want = self.clean_dump()
        self.emu.configure(hang_s=4)
        for kind, pattern in (("500", r"/products\.json"),
                              ("502", r"/variants\.json"),
                              ("503", r"/customers\.json"),
                              ("504", r"/orders\.json"),
                              ("404", r"/orders/\d+/products\.json"),
                              ("429", r"/categories\.json"),
                              ("hang", r"/brands\.json"),
                              ("truncate", r"/shipments\.json"),
                              ("badjson", r"/returns\.json"),
                              ("badutf8", r"/reviews\.json")):
            with self.subTest(kind=kind):
                self.emu.reset_limits()
                self.emu.clear_faults()
                self.emu.fault(pattern, kind, count=2)
                s = LseShop(self, self.emu)
                r = s.posfeed("sync")
                got = s.dump()
                if kind == "badutf8":
                    # The damaged value is a warning naming the record
                    # and field; the record and all others still land.
                    self.assertRegex(r.stderr, r"warning: reviews 1: "
                                     r"field '\w+': ")
                    got = dict(got, reviews=len(got["reviews"]))
                    self.assertEqual(got, dict(want, reviews=len(
                        want["reviews"])))
                    continue
                self.assertEqual(got, want, kind)
        self.emu.clear_faults()

    def test_an_api_that_stays_down_is_a_clear_error(self):
        self.emu.fault(r"/products\.json", "503", count=None)
        s = self.shop(extra_source={"retry_time": "3"})
        r = s.posfeed("sync", expect=None)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Lightspeed eCom products", r.stderr)
        self.assertIn("looks down", r.stderr)

    def test_kill_before_the_category_links_then_rerun_reads_them(self):
        # Killed after the products landed but while the links were
        # being read: the rerun sees no changed product, yet still owes
        # the links (the store must not keep products without them).
        want = self.clean_dump()
        self.emu.configure(hang_s=60)
        self.emu.fault(r"/categories/products\.json", "hang", count=1)
        s = LseShop(self, self.emu)
        p = subprocess.Popen([BIN, "-c", s.conf, "sync"], env=s.env(),
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not self.api(r"/categories/products\.json"):
            self.assertIsNone(p.poll(), "sync ended before the links")
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        p.send_signal(signal.SIGKILL)
        p.wait()
        self.emu.clear_faults()
        s.posfeed("sync")
        self.assertEqual(s.dump(), want)

    def test_kill_mid_sync_then_rerun_equals_an_uninterrupted_run(self):
        want = self.clean_dump()
        self.emu.configure(latency=0.03)
        s = LseShop(self, self.emu)
        for delay in (0.6, 1.2):
            p = subprocess.Popen([BIN, "-c", s.conf, "sync"],
                                 env=s.env(), stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            time.sleep(delay)
            p.send_signal(signal.SIGKILL)
            p.wait()
        self.emu.configure(latency=0.0)
        s.posfeed("sync")
        self.assertEqual(s.dump(), want)


if __name__ == "__main__":
    unittest.main()
