"""Lightspeed Retail source, end to end: the real posfeed against the API
emulator (tests/emulators/lsr_emulator.py) on 127.0.0.1."""
import datetime
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

from shop import BIN, NOW, REPO, by_id

EMU = os.path.join(REPO, "tests", "emulators", "lsr_emulator.py")
DATASET = os.path.join(REPO, "tests", "fixtures", "lsr", "dataset.json")
SECRET = "s3cret"


class Emulator:
    def __init__(self, tc, *args, dataset=DATASET):
        cmd = [sys.executable, EMU] + list(args)
        if dataset:
            cmd += ["--dataset", dataset]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        tc.addCleanup(self.stop)
        self.port = int(self.proc.stdout.readline())
        self.url = "http://127.0.0.1:%d" % self.port

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()

    def call(self, what, doc=None):
        req = urllib.request.Request(
            self.url + "/_emu/" + what,
            data=None if doc is None else json.dumps(doc).encode(),
            method="GET" if doc is None else "POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)

    def change(self, *ops):
        self.call("change", {"ops": list(ops)})

    def log(self):
        return self.call("log")

    def api_log(self):
        return [e for e in self.log() if e["path"].startswith("/API/")]


class LsrShop:
    shops = 0

    def __init__(self, tc, emu, extra_source=None):
        self.tc = tc
        self.emu = emu
        self.dir = tempfile.mkdtemp(prefix="posfeed-lsr-")
        tc.addCleanup(shutil.rmtree, self.dir, True)
        self.rt = os.path.join(self.dir, "refresh_token")
        # Each shop has its own authorization, as in life: refresh tokens
        # are single-use.
        LsrShop.shops += 1
        token = "rt-initial"
        if LsrShop.shops > 1:
            token = "rt-shop-%d" % LsrShop.shops
            emu.call("refresh_token", {"token": token})
        with open(self.rt, "w") as f:
            f.write(token + "\n")
        src = {"timeout": "2", "retry_time": "30"}
        src.update(extra_source or {})
        lines = [
            "[shop]", "name = LS Shop", "timezone = Europe/Amsterdam",
            "currency = EUR", "url = https://shop.example",
            "store = store.db", "feeds_dir = feeds", "",
            "[source]", "type = lightspeed-retail", "account_id = 12345",
            "client_id = posfeed-test", "client_secret = env:LSR_SECRET",
            "refresh_token_file = refresh_token",
            "api_url = " + emu.url,
            "token_url = " + emu.url + "/auth/oauth/token"]
        lines += ["%s = %s" % kv for kv in src.items()]
        lines += ["", "[sync]", "orders_lookback = all",
                  "accepted_order_statuses = completed",
                  "include_customers = yes", "collect_emails = yes",
                  "custom_attributes = material, tags", "",
                  "[feed clerk]", "template = clerk", "output = clerk.json",
                  "", "[feed events]", "template = klaviyo-events",
                  "output = events.ndjson"]
        with open(os.path.join(self.dir, "posfeed.conf"), "w") as f:
            f.write("\n".join(lines) + "\n")

    def posfeed(self, *args, expect=0, timeout=90):
        e = dict(os.environ)
        e["POSFEED_NOW"] = NOW
        e["POSFEED_TEMPLATES"] = os.path.join(REPO, "templates")
        e["LSR_SECRET"] = SECRET
        r = subprocess.run([BIN, "-c", os.path.join(self.dir, "posfeed.conf")]
                           + list(args), capture_output=True, text=True,
                           env=e, timeout=timeout)
        if expect is not None and r.returncode != expect:
            self.tc.fail("%s exited %d, expected %d\nstderr:\n%s"
                         % (" ".join(args), r.returncode, expect, r.stderr))
        return r

    def feed(self):
        with open(os.path.join(self.dir, "feeds", "clerk.json")) as f:
            return json.load(f)

    def events(self):
        """Klaviyo events by unique_id."""
        with open(os.path.join(self.dir, "feeds", "events.ndjson")) as f:
            return {e["unique_id"]: e for e in map(json.loads, f)}

    def db(self):
        con = sqlite3.connect(os.path.join(self.dir, "store.db"))
        self.tc.addCleanup(con.close)
        return con

    def dump(self, tables=("locations", "categories", "products",
                           "variants", "stock", "images", "attributes",
                           "product_categories", "customers", "orders",
                           "order_lines")):
        con = self.db()
        out = {}
        for t in tables:
            out[t] = sorted(map(repr, con.execute("SELECT * FROM " + t)))
        return out


def stream_of(entry):
    return entry["path"].rsplit("/", 1)[-1].replace(".json", "")


def epoch(iso):
    return int(datetime.datetime.fromisoformat(iso).timestamp())


def order_lines(shop, sale):
    """A sale's lines as the store holds them, in order."""
    return shop.db().execute(
        "SELECT id, product_id, variant_id, name, sku, quantity, unit_price,"
        " discount, is_return FROM order_lines WHERE order_id = ? ORDER BY"
        " position", (sale,)).fetchall()


class LsrTest(unittest.TestCase):
    def check_first_feed(self, feed):
        products = by_id(feed["products"])
        self.assertEqual(sorted(products),
                         ["item-4", "item-5", "item-6", "matrix-1"])
        tee = products["matrix-1"]
        self.assertEqual(tee["name"], "Basic Tee")
        self.assertEqual(tee["brand"], "Tiny Basics")
        self.assertEqual(tee["categories"], ["2"])
        self.assertEqual(tee["variant_ids"], ["item-1", "item-2", "item-3"])
        self.assertEqual(tee["variant_skus"],
                         ["TEE-RED-S", "TEE-RED-M", "210000000003"])
        self.assertEqual(tee["variant_prices"], [19.95, 19.95, 21.0])
        self.assertEqual(tee["price"], 19.95)
        self.assertEqual(tee["list_price"], 24.95)
        self.assertEqual(tee["colours"], ["Red", "Red", "Blue"])
        self.assertEqual(tee["sizes"], ["S", "M", "S"])
        self.assertEqual(tee["material"], "cotton")
        # Shops 1 and 2 only: the shopID 0 summary rows are not counted.
        self.assertEqual(tee["stock"], 3 + 4 + 0 + 2)
        self.assertTrue(tee["image"].endswith("/tee-front.png"))
        self.assertTrue(tee["variant_images"][0].endswith("/tee-red.jpg"))
        belt = products["item-4"]
        self.assertEqual(belt["price"], 35.0)
        self.assertNotIn("list_price", belt)    # MSRP lower than price
        self.assertEqual(belt["brand"], "Acme Leather")
        self.assertEqual(belt["stock"], 5)
        self.assertTrue(belt["image"].endswith("/belt-front.jpg"))
        self.assertEqual(belt["material"], "leather")
        self.assertEqual(belt["tags"], "new")
        self.assertNotIn("stock", products["item-5"])   # non_inventory
        # Descriptions: ItemECommerce.longDescription (HTML stripped by
        # the clerk template), else shortDescription, else none: "",
        # as Clerk requires the attribute.
        self.assertEqual(tee["description"], "A soft cotton tee.")
        self.assertEqual(belt["description"], "Full-grain belt")
        self.assertEqual(products["item-5"]["description"], "")
        cats = by_id(feed["categories"])
        self.assertEqual(cats["1"]["subcategories"], ["2"])
        orders = by_id(feed["orders"])
        # Sale 3 is voided, sale 4 is a refund: neither is a purchase.
        self.assertEqual(sorted(orders), ["1", "2", "7"])
        self.assertEqual(orders["1"]["products"], [
            {"id": "matrix-1", "quantity": 2, "price": 19.95},
            {"id": "item-4", "quantity": 1, "price": 30.0}])
        self.assertEqual(orders["1"]["customer"], "1")
        # Sale 2's 10% STAFF discount is spread over its line as
        # calcTransactionDiscount: the unit price paid is 17.95.
        self.assertEqual(orders["2"]["products"], [
            {"id": "matrix-1", "quantity": 1, "price": 17.95}])
        custs = by_id(feed["customers"])
        self.assertEqual(custs["1"]["email"], "jane@example.com")
        self.assertTrue(custs["1"]["subscribed"])
        self.assertEqual(custs["2"]["email"], "john@example.com")
        self.assertFalse(custs["2"]["subscribed"])

    def check_first_events(self, events):
        # Discount codes: the line's Discount (sale 1) and the sale's own
        # Discount (sale 2); totals from calcDiscount.
        p1 = events["placed-order:1"]["properties"]
        self.assertEqual(p1["DiscountCodes"], ["BELT5"])
        self.assertEqual(p1["TotalDiscounts"], 5.0)
        self.assertTrue(p1["IsDiscounted"])
        self.assertEqual(events["placed-order:1"]["profile"]["email"],
                         "jane@example.com")
        p2 = events["placed-order:2"]["properties"]
        self.assertEqual(p2["DiscountCodes"], ["STAFF"])
        self.assertEqual(p2["TotalDiscounts"], 2.0)
        self.assertEqual(p2["Items"][0]["ItemPrice"], 17.95)
        self.assertEqual(events["refunded-order:4"]["properties"]
                         ["DiscountCodes"], [])
        # Sale 3 is voided (SaleVoid 1): no event.
        self.assertNotIn("placed-order:3", events)

    def test_full_then_incremental(self):
        emu = Emulator(self)
        shop = LsrShop(self, emu)
        shop.posfeed("run")
        self.check_first_feed(shop.feed())
        self.check_first_events(shop.events())
        log = emu.api_log()
        self.assertEqual([e["status"] for e in log if e["status"] != 200],
                         [])
        for e in log:
            q = e["query"]
            for lr in q.get("load_relations", []):
                rels = json.loads(lr)
                self.assertTrue(all("," not in r for r in rels), lr)
        con = shop.db()
        refund = con.execute("SELECT refund_of FROM orders WHERE id = '4'"
                             ).fetchone()
        self.assertEqual(refund, ("1",))
        self.assertEqual(con.execute("SELECT status FROM orders WHERE id = "
                                     "'3'").fetchone(), ("voided",))

        emu.call("log/clear", {})
        emu.change(
            {"op": "upsert", "resource": "Item", "record": {
                "itemID": 2, "Prices": [{"amount": "17.50",
                                         "useType": "Default"}]}},
            {"op": "upsert", "resource": "ItemShop",
             "record": {"itemShopID": 105, "qoh": 6}},
            {"op": "archive", "resource": "Item", "id": 6},
            {"op": "upsert", "resource": "Sale", "record": {
                "saleID": 5, "completed": True, "voided": False,
                "createTime": "2026-01-20T10:00:00+00:00",
                "customerID": 3, "shopID": 2, "calcTotal": "35.00",
                "SaleLines": [{"saleLineID": 51, "itemID": 4,
                               "unitQuantity": 1, "unitPrice": "35.00",
                               "parentSaleLineID": 0}]}},
            {"op": "upsert", "resource": "Sale", "record": {
                "saleID": 6, "completed": True,
                "createTime": "2026-01-21T10:00:00+00:00",
                "customerID": 2, "shopID": 2, "calcTotal": "-19.95",
                "SaleLines": [{"saleLineID": 61, "itemID": 2,
                               "unitQuantity": -1, "unitPrice": "19.95",
                               "parentSaleLineID": 21}]}},
            {"op": "void", "id": 1},
            {"op": "upsert", "resource": "ShipTo",
             "record": {"shipToID": 1, "shipped": True}},
            {"op": "upsert", "resource": "Customer", "record": {
                "customerID": 3, "firstName": "Kim", "lastName": "Vos",
                "Contact": {"noEmail": False, "Emails": [
                    {"address": "kim@example.com", "useType": "Primary"}]}}},
            {"op": "upsert", "resource": "Customer", "record": {
                "customerID": 1, "Contact": {"noEmail": True, "Emails": [
                    {"address": "jane@example.com",
                     "useType": "Primary"}]}}})
        shop.posfeed("run")
        feed = shop.feed()
        products = by_id(feed["products"])
        self.assertNotIn("item-6", products)            # archived
        self.assertEqual(products["matrix-1"]["variant_prices"],
                         [19.95, 17.5, 21.0])
        self.assertEqual(products["matrix-1"]["stock"], 3 + 4 + 6 + 2)
        orders = by_id(feed["orders"])
        # Sale 1 was voided without its timeStamp moving: only the
        # SaleVoid stream tells. 6 is a refund.
        self.assertEqual(sorted(orders), ["2", "5", "7"])
        events = shop.events()
        self.assertNotIn("placed-order:1", events)
        self.assertIn("placed-order:5", events)
        self.assertEqual(orders["5"]["products"],
                         [{"id": "item-4", "quantity": 1, "price": 35.0}])
        custs = by_id(feed["customers"])
        self.assertFalse(custs["1"]["subscribed"])
        self.assertTrue(custs["3"]["subscribed"])
        con = shop.db()
        self.assertEqual(con.execute("SELECT shipped, refund_of IS NULL FROM"
                                     " orders WHERE id = '2'").fetchone(),
                         (1, 1))
        self.assertEqual(con.execute("SELECT refund_of FROM orders WHERE id"
                                     " = '6'").fetchone(), ("2",))
        # The second run asks for changed rows only: one page per stream,
        # incremental streams filtered on their bookmark.
        log = emu.api_log()
        streams = [stream_of(e) for e in log]
        self.assertEqual(sorted(streams), sorted(set(streams)), streams)
        for e in log:
            if stream_of(e) in ("Item", "ItemMatrix", "ItemShop", "Customer",
                                "Sale", "ShipTo"):
                self.assertEqual(e["query"]["sort"], ["timeStamp"])
                ts = e["query"]["timeStamp"][0]
                self.assertTrue(ts.startswith(">=,2026-01-01T00:00:"), ts)
                # '+' was percent-encoded: it arrived as '+', not ' '.
                self.assertTrue(ts.endswith("+00:00"), ts)
        voids = [e for e in log if stream_of(e) == "SaleVoid"]
        self.assertEqual(len(voids), 1)
        self.assertEqual(voids[0]["query"]["sort"], ["saleVoidID"])
        self.assertEqual(voids[0]["query"]["saleVoidID"], [">,1"])
        sales = [e for e in log if stream_of(e) == "Sale"]
        rels = json.loads(sales[0]["query"]["load_relations"][0])
        self.assertEqual(sorted(rels),
                         ["Discount", "SaleLines", "SaleLines.Discount",
                          "SaleLines.Note"])
        # A third run with nothing changed lands nothing new.
        before = shop.dump()
        shop.posfeed("sync")
        self.assertEqual(shop.dump(), before)

    def test_lines_without_an_item(self):
        # As recorded from the real API: a line of free text or a
        # miscellaneous amount has itemID "0" and its text in the
        # SaleLines.Note relation, or no note at all (sale 7).
        emu = Emulator(self)
        shop = LsrShop(self, emu)
        shop.posfeed("run")
        lines = order_lines(shop, "7")
        self.assertEqual(lines, [
            ("71", "item-4", "item-4", "Leather Belt", "BELT-1", 1, 3500, 0,
             0),
            ("72", None, None, "Engraving", None, 1, 250, 0, 0),
            ("73", None, None, "Miscellaneous", None, 2, 500, 100, 0)])
        # Nothing is lost: the lines add up to the sale's total.
        total = sum(q * p - d for (_, _, _, _, _, q, p, d, _) in lines)
        self.assertEqual(total, 4650)
        self.assertEqual(shop.db().execute(
            "SELECT total, discount_total FROM orders WHERE id = '7'"
        ).fetchone(), (4650, 100))
        placed = shop.events()["placed-order:7"]
        self.assertEqual(placed["value"], 46.5)
        # In Klaviyo by name; in Clerk only the line that is a product.
        self.assertEqual(placed["properties"]["ItemNames"],
                         ["Leather Belt", "Engraving", "Miscellaneous"])
        order = [o for o in shop.feed()["orders"] if o["id"] == "7"][0]
        self.assertEqual([p["id"] for p in order["products"]],
                         ["item-4"])
        # A refund of the engraving, its line without a note of its own.
        emu.change({"op": "upsert", "resource": "Sale", "record": {
            "saleID": 8, "completed": True, "voided": False,
            "createTime": "2026-01-16T10:00:00+00:00", "customerID": 1,
            "shopID": 1, "calcTotal": "-2.50", "calcDiscount": "0",
            "SaleLines": [{"saleLineID": 81, "itemID": 0, "noteID": 0,
                           "unitQuantity": -1, "unitPrice": "2.50",
                           "calcLineDiscount": "0",
                           "parentSaleLineID": 72}]}})
        shop.posfeed("run")
        self.assertEqual(order_lines(shop, "8"), [
            ("81", None, None, "Engraving", None, -1, 250, 0, 1)])
        self.assertEqual(shop.db().execute(
            "SELECT refund_of, total FROM orders WHERE id = '8'"
        ).fetchone(), ("7", -250))

    # The catalog: an order line keeps what its item was when the sale
    # was read, so sales read before and after a change differ.
    CATALOG = ("products", "variants", "stock", "images", "attributes",
               "product_categories")

    def full_sync_dump(self, emu, page_limit=100):
        """The catalog a new shop gets from one sync of the emulator's
        data as it is now, in pages of at most page_limit rows."""
        emu.call("config", {"page_limit": page_limit})
        ref = LsrShop(self, emu)
        ref.posfeed("sync")
        emu.call("config", {"page_limit": 100})
        return ref.dump(self.CATALOG)

    def matrices(self, shop):
        return shop.db().execute(
            "SELECT id, created_at FROM products WHERE id LIKE 'matrix-%'"
            " ORDER BY id").fetchall()

    def test_matrix_without_items_or_createTime(self):
        # As recorded from the real API: an ItemMatrix has no createTime,
        # and one may have no items yet (matrix 2).
        emu = Emulator(self)
        shop = LsrShop(self, emu)
        shop.posfeed("run")
        # Matrix 1 was created when its earliest item was (item 2).
        self.assertEqual(self.matrices(shop),
                         [("matrix-1", epoch("2025-12-01T10:00:00+00:00"))])
        self.assertNotIn("matrix-2", by_id(shop.feed()["products"]))
        # A store written before matrices waited for their items may hold
        # a matrix product without variants: the next run removes it.
        con = shop.db()
        con.execute("INSERT INTO products(id, name) VALUES ('matrix-2', "
                    "'Linen Scarf')")
        con.commit()
        shop.posfeed("run")
        self.assertEqual([m for m, _ in self.matrices(shop)], ["matrix-1"])
        self.assertNotIn("matrix-2", by_id(shop.feed()["products"]))

    def test_matrix_items_in_later_pages_and_runs(self):
        # Many small pages and syncs: a bucket that drains fast.
        emu = Emulator(self, "--drip", "100")
        # Matrix 1 changes last: the next runs re-read it (the boundary
        # of the ItemMatrix bookmark), not matrix 2.
        emu.change({"op": "upsert", "resource": "ItemMatrix",
                    "record": {"itemMatrixID": 1}})
        shop = LsrShop(self, emu)
        shop.posfeed("sync")
        # Pages of 2 rows: items land pages after their matrix.
        self.assertEqual(self.full_sync_dump(emu, 2), shop.dump(self.CATALOG))
        # An item joins the empty matrix 2 a run later; the matrix did not
        # change, so that run fetches it for the item's page.
        emu.call("log/clear", {})
        scarf = {"itemID": 7, "description": "Linen Scarf Sand",
                 "customSku": "SCARF-SAND", "itemType": "default",
                 "categoryID": 3, "manufacturerID": 0, "itemMatrixID": 2,
                 "archived": False,
                 "createTime": "2026-01-05T12:00:00+00:00",
                 "Prices": [{"amount": "24.00", "useType": "Default"}],
                 "ItemAttributes": {"attribute1": "Sand", "attribute2": "",
                                    "attribute3": "",
                                    "itemAttributeSetID": 1}}
        emu.change({"op": "upsert", "resource": "Item", "record": scarf})
        shop.posfeed("sync")
        fetched = [e["query"]["itemMatrixID"] for e in emu.api_log()
                   if "itemMatrixID" in e["query"]]
        self.assertEqual(fetched, [["IN,[2]"]])
        self.assertEqual(self.matrices(shop), [
            ("matrix-1", epoch("2025-12-01T10:00:00+00:00")),
            ("matrix-2", epoch("2026-01-05T12:00:00+00:00"))])
        self.assertEqual(shop.dump(self.CATALOG), self.full_sync_dump(emu, 2))
        # Item 2, matrix 1's earliest, is archived: the matrix keeps the
        # time, as a full sync finds it among the archived items.
        emu.change({"op": "archive", "resource": "Item", "id": 2})
        shop.posfeed("sync")
        self.assertEqual(self.matrices(shop)[0],
                         ("matrix-1", epoch("2025-12-01T10:00:00+00:00")))
        self.assertEqual(shop.dump(self.CATALOG), self.full_sync_dump(emu))
        # Matrix 2's last item goes, and the product with it.
        emu.change({"op": "archive", "resource": "Item", "id": 7})
        shop.posfeed("sync")
        self.assertEqual([m for m, _ in self.matrices(shop)], ["matrix-1"])
        self.assertEqual(shop.dump(self.CATALOG), self.full_sync_dump(emu))
        # In one run, an item leaves matrix 1 and another comes to the
        # emptied matrix 2 (fetched again: it is not a product any more).
        emu.change({"op": "upsert", "resource": "Item", "record": dict(
            scarf, itemID=8, customSku="SCARF-RUST",
            createTime="2026-01-09T12:00:00+00:00")},
            {"op": "upsert", "resource": "Item",
             "record": {"itemID": 3, "itemMatrixID": 2}})
        shop.posfeed("sync")
        self.assertEqual(shop.dump(self.CATALOG), self.full_sync_dump(emu, 2))
        # A matrix emptied in one run and filled again in a later one may
        # have forgotten its archived items' times (documented): a full
        # sync finds them again.
        emu.change({"op": "archive", "resource": "Item", "id": 3},
                   {"op": "archive", "resource": "Item", "id": 8})
        shop.posfeed("sync")
        emu.change({"op": "upsert", "resource": "Item", "record": dict(
            scarf, itemID=9, customSku="SCARF-MOSS",
            createTime="2026-01-12T12:00:00+00:00")})
        shop.posfeed("sync")
        shop.posfeed("sync", "--full")
        self.assertEqual(shop.dump(self.CATALOG), self.full_sync_dump(emu))
        self.assertEqual(self.matrices(shop)[1],
                         ("matrix-2", epoch("2025-12-03T16:20:00+00:00")))

    def test_matrix_after_an_interrupted_sync(self):
        emu = Emulator(self, "--drip", "100")
        # Matrix 1 changes last (the ItemMatrix bookmark's boundary, read
        # again by every run), then an item joins matrix 2.
        emu.change({"op": "upsert", "resource": "ItemMatrix",
                    "record": {"itemMatrixID": 1}})
        emu.change({"op": "upsert", "resource": "Item", "record": {
            "itemID": 7, "description": "Linen Scarf Sand",
            "itemMatrixID": 2, "createTime": "2026-01-05T12:00:00+00:00",
            "Prices": [{"amount": "24.00", "useType": "Default"}]}})
        expect = self.full_sync_dump(emu)
        # Item pages of 2 rows; the third and later fail: the sync stops
        # after items 1-4, with matrix 2 still waiting for its item.
        emu.call("config", {"page_limit": 2})
        shop = LsrShop(self, emu, {"retry_time": "1"})
        emu.call("fault", {"path": "/Item.json", "kind": "503", "skip": 2,
                           "count": 1000})
        shop.posfeed("sync", expect=1)
        self.assertEqual(shop.db().execute(
            "SELECT count(*) FROM variants").fetchone(), (4,))
        emu.call("faults/clear", {})
        emu.call("log/clear", {})
        # The rerun has not read matrix 2: it fetches it for item 7.
        shop.posfeed("sync")
        fetched = [e["query"]["itemMatrixID"] for e in emu.api_log()
                   if "itemMatrixID" in e["query"]]
        self.assertEqual(fetched, [["IN,[2]"]])
        self.assertEqual(shop.dump(self.CATALOG), expect)

    def test_token_rotation_and_invalid_grant(self):
        emu = Emulator(self)
        LsrShop.shops = 0
        # Each access token dies after 3 requests: several refreshes mid-run.
        emu.call("config", {"token_requests": 3})
        shop = LsrShop(self, emu)
        shop.posfeed("run")
        self.check_first_feed(shop.feed())
        state = emu.call("state")
        self.assertGreaterEqual(state["refresh_calls"], 4)
        self.assertEqual(state["refresh"]["rt-initial"], "dead")
        with open(shop.rt) as f:
            stored = f.read().strip()
        live = [k for k, v in state["refresh"].items() if v != "dead"]
        self.assertEqual(live, [stored])
        shop.posfeed("sync")        # the stored token works next time
        with open(shop.rt, "w") as f:
            f.write("rt-revoked\n")
        r = shop.posfeed("sync", expect=1)
        self.assertIn("invalid_grant", r.stderr)
        self.assertIn("posfeed auth", r.stderr)
        self.assertNotIn("rt-revoked", r.stderr)
        self.assertNotIn(SECRET, r.stderr)

    def refreshes_of(self, emu, shop, *args, expect=0):
        """Token requests a posfeed run on shop makes, and its result."""
        before = emu.call("state")["refresh_calls"]
        r = shop.posfeed(*args, expect=expect)
        return emu.call("state")["refresh_calls"] - before, r

    def test_401_right_after_a_refresh_is_retried(self):
        # Tokens die after 3 requests, so the run meets 401s and refreshes
        # mid-way. Under load the API once answered 401 to the token a
        # refresh had just issued, and the run ended telling the user to
        # run `posfeed auth`, though nothing was wrong with the grant.
        emu = Emulator(self)
        emu.call("config", {"token_requests": 3})
        control = LsrShop(self, emu)
        plain, _ = self.refreshes_of(emu, control, "sync")
        shop = LsrShop(self, emu)
        # The first fresh token of the run (the one it starts with)
        # passes; the next one, issued after a 401, is refused once.
        emu.call("log/clear", {})
        emu.call("fault", {"kind": "401-fresh", "skip": 1, "count": 1})
        n, r = self.refreshes_of(emu, shop, "run")
        self.assertEqual(n, plain + 1)
        self.assertIn("HTTP 401 right after a token refresh; refreshing "
                      "once more", r.stderr)
        self.check_first_feed(shop.feed())
        self.assertEqual(emu.call("state")["faults"][0]["count"], 0)
        # Every rotated refresh token was stored before its access token
        # was used: the one in the file is live and works next time.
        with open(shop.rt) as f:
            stored = f.read().strip()
        self.assertEqual(emu.call("state")["refresh"][stored], "live")
        shop.posfeed("sync")

    def test_401_that_outlasts_fresh_tokens(self):
        emu = Emulator(self)
        shop = LsrShop(self, emu)
        emu.call("fault", {"kind": "401-fresh", "count": 1000})
        n, r = self.refreshes_of(emu, shop, "sync", expect=1)
        # The token the run starts with, then two more after 401s.
        self.assertEqual(n, 3)
        self.assertIn("HTTP 401", r.stderr)
        self.assertIn("try again later", r.stderr)
        self.assertNotIn("posfeed auth", r.stderr)
        # The grant was never the problem: once Lightspeed accepts tokens
        # again, the next run works without `posfeed auth`.
        emu.call("faults/clear", {})
        shop.posfeed("run")
        self.check_first_feed(shop.feed())

    def test_403_does_not_blame_the_authorization(self):
        emu = Emulator(self)
        shop = LsrShop(self, emu)
        conf = os.path.join(shop.dir, "posfeed.conf")
        with open(conf) as f:
            text = f.read()
        with open(conf, "w") as f:
            f.write(text.replace("account_id = 12345", "account_id = 999"))
        r = shop.posfeed("sync", expect=1)
        self.assertIn("HTTP 403", r.stderr)
        self.assertIn("account_id", r.stderr)
        self.assertNotIn("posfeed auth", r.stderr)

    def test_out_of_range_timestamp_is_a_field_warning(self):
        emu = Emulator(self)
        emu.change({"op": "upsert", "resource": "Item", "record": {
            "itemID": 4, "createTime": "-9223372036854775807"}})
        shop = LsrShop(self, emu)
        r = shop.posfeed("run")
        self.assertIn("Item 4: field 'createTime': date/time out of range",
                      r.stderr)
        belt = by_id(shop.feed()["products"])["item-4"]
        self.assertNotIn("created_at", belt)

    def test_auth_command(self):
        emu = Emulator(self)
        shop = LsrShop(self, emu)
        os.unlink(shop.rt)
        r = shop.posfeed("auth", "valid-code")
        self.assertIn("/auth/oauth/authorize?response_type=code", r.stderr)
        with open(shop.rt) as f:
            self.assertTrue(f.read().startswith("rt-"))
        self.assertEqual(os.stat(shop.rt).st_mode & 0o777, 0o600)
        shop.posfeed("run")
        self.check_first_feed(shop.feed())
        r = shop.posfeed("auth", "used-code", expect=1)
        self.assertIn("posfeed auth", r.stderr)

    def test_faults_then_rerun(self):
        emu = Emulator(self)
        shop = LsrShop(self, emu, {"timeout": "1"})
        for path, kind, count in (
                ("/Item.json", "500", 2), ("/ItemMatrix.json", "502", 1),
                ("/Customer.json", "503", 2), ("/Sale.json", "truncate", 1),
                ("/ItemShop.json", "badjson", 1), ("/ShipTo.json", "hang", 1),
                ("/Category.json", "429", 1)):
            emu.call("fault", {"path": path, "kind": kind, "count": count})
        emu.call("config", {"hang_s": 3})
        shop.posfeed("run")
        self.check_first_feed(shop.feed())
        faults = [e["fault"] for e in emu.api_log() if e["fault"]]
        self.assertEqual(len(faults), 9, faults)
        baseline = shop.dump()

        # An API that stays down: a clear error within the retry budget,
        # nothing lost, and a rerun completes.
        shop2 = LsrShop(self, emu, {"retry_time": "2"})
        emu.call("fault", {"path": "/Customer.json", "kind": "503",
                           "count": 1000})
        t0 = time.monotonic()
        r = shop2.posfeed("run", expect=1)
        self.assertLess(time.monotonic() - t0, 15)
        self.assertIn("Customer", r.stderr)
        self.assertIn("looks down", r.stderr)
        emu.call("faults/clear", {})
        shop2.posfeed("run")
        self.assertEqual(shop2.dump(), baseline)

    def test_invalid_utf8_repaired(self):
        emu = Emulator(self)
        emu.call("fault", {"path": "/Item.json", "kind": "badutf8"})
        shop = LsrShop(self, emu)
        r = shop.posfeed("run")
        self.assertIn("invalid UTF-8 repaired", r.stderr)
        self.assertIn("Item 1", r.stderr)
        self.assertEqual(len(shop.feed()["products"]), 4)

    def test_bucket_never_overflows(self):
        # A small bucket draining fast: unpaced, these requests would
        # overflow it several times over.
        emu = Emulator(self, "--size", "6", "--drip", "20", "--burst", "4")
        shop = LsrShop(self, emu)
        shop.posfeed("run")
        self.check_first_feed(shop.feed())
        statuses = [e["status"] for e in emu.api_log()]
        self.assertNotIn(429, statuses)
        # The emulator does enforce the limit for an impatient client.
        emu.call("log/clear", {})
        codes = []
        with open(shop.rt) as f:
            rt = f.read().strip()
        body = ("grant_type=refresh_token&refresh_token=%s&client_id="
                "posfeed-test&client_secret=%s" % (rt, SECRET)).encode()
        with urllib.request.urlopen(emu.url + "/auth/oauth/token",
                                    body, timeout=5) as resp:
            at = json.load(resp)["access_token"]
        for _ in range(12):
            req = urllib.request.Request(
                emu.url + "/API/V3/Account/12345/Shop.json",
                headers={"Authorization": "Bearer " + at})
            try:
                with urllib.request.urlopen(req, timeout=5) as resp:
                    codes.append(resp.status)
            except urllib.error.HTTPError as ex:
                codes.append(ex.code)
                self.assertIsNotNone(ex.headers.get("Retry-After"))
        self.assertIn(429, codes)

    def test_kill_anywhere_then_rerun(self):
        with open(DATASET) as f:
            data = json.load(f)
        # 30 matrices (no createTime, as real ones) of 4 items each; a
        # kill between a matrix and its items loses what the run knew of
        # the matrix, which the rerun fetches again.
        for m in range(10, 40):
            data["ItemMatrix"].append({
                "itemMatrixID": m, "description": "Matrix %d" % m,
                "categoryID": 3, "itemAttributeSetID": 1,
                "Prices": [{"amount": "0", "useType": "Default"}]})
        for i in range(100, 400):
            data["Item"].append({
                "itemID": i, "description": "Item %d" % i,
                "customSku": "SKU-%d" % i,
                "itemMatrixID": 10 + (i - 100) // 4 if i < 220 else 0,
                "createTime": "2025-11-%02dT10:00:00+00:00" % (1 + i % 28),
                "archived": i % 9 == 0,
                "categoryID": 3, "itemType": "default",
                "Prices": [{"amount": "%d.00" % (i % 50 + 1),
                            "useType": "Default"}]})
            data["ItemShop"].append({"itemShopID": 1000 + i, "itemID": i,
                                     "shopID": 1, "qoh": i % 7})
        path = os.path.join(tempfile.mkdtemp(prefix="lsr-ds-"), "ds.json")
        self.addCleanup(shutil.rmtree, os.path.dirname(path), True)
        with open(path, "w") as f:
            json.dump(data, f)
        emu = Emulator(self, dataset=path)
        ref = LsrShop(self, emu)
        ref.posfeed("sync")
        expect = ref.dump()
        emu.call("config", {"latency": 0.03})
        shop = LsrShop(self, emu)
        e = dict(os.environ, LSR_SECRET=SECRET)
        for delay in (0.25, 0.45):
            p = subprocess.Popen([BIN, "-q", "-c", os.path.join(
                shop.dir, "posfeed.conf"), "sync"], env=e,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(delay)
            p.send_signal(signal.SIGKILL)
            p.wait()
        emu.call("config", {"latency": 0})
        shop.posfeed("sync")
        self.assertEqual(shop.dump(), expect)


if __name__ == "__main__":
    unittest.main()
