"""Dutchie POS source, end to end: the real posfeed against the API
emulator (tests/emulators/dutchie_emulator.py, in-process) on 127.0.0.1.

Feed fields are checked against the emulator's dataset
(tests/emulators/dutchie_data.py, small()), never against posfeed's own
output."""
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from shop import BIN, REPO, ApiShop

sys.path.insert(0, os.path.join(REPO, "tests", "emulators"))
import dutchie_data  # noqa: E402
import dutchie_emulator  # noqa: E402

DAY = 86400
FACTS = dutchie_data.SMALL_FACTS
LOCS = FACTS["locations"]
GOOGLE_NS = "{http://base.google.com/ns/1.0}"


class DutchieShop(ApiShop):
    """A posfeed folder whose [source] reads the emulator."""

    def __init__(self, tc, emu, locations=None, source=None, sync=None,
                 feeds=None):
        self.tc = tc
        self.emu = emu
        self.dir = tempfile.mkdtemp(prefix="posfeed-dutchie-")
        tc.addCleanup(shutil.rmtree, self.dir, True)
        self.keys = os.path.join(self.dir, "dutchie.keys")
        emu.write_keys(self.keys, locations or LOCS)
        src = {"api_url": emu.url, "location_keys_file": "dutchie.keys",
               "price": "rec", "timeout": "2", "retry_time": "20"}
        src.update(source or {})
        sy = {"orders_lookback": "90 days", "include_customers": "yes",
              "collect_emails": "yes",
              "accepted_order_statuses": "completed",
              "custom_attributes": "strain, thc, tags"}
        sy.update(sync or {})
        lines = ["[shop]", "name = Green Leaf", "timezone = America/Denver",
                 "currency = USD", "url = https://shop.example",
                 "store = store.db", "feeds_dir = feeds", "", "[source]",
                 "type = dutchie"]
        lines += ["%s = %s" % kv for kv in src.items() if kv[1] is not None]
        lines += ["", "[sync]"] + ["%s = %s" % kv for kv in sy.items()]
        for name, tpl in (feeds or [("clerk", "clerk"),
                                    ("events", "klaviyo-events"),
                                    ("profiles", "klaviyo-profiles")]):
            lines += ["", "[feed %s]" % name, "template = %s" % tpl,
                      "output = %s.json" % name]
        self.conf = os.path.join(self.dir, "posfeed.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def env(self):
        e = dict(os.environ)
        e["POSFEED_TEMPLATES"] = os.path.join(REPO, "templates")
        e.pop("POSFEED_NOW", None)
        return e

    def feed(self, name="clerk"):
        with open(os.path.join(self.dir, "feeds", name + ".json")) as f:
            text = f.read()
        try:
            return json.loads(text)
        except ValueError:
            return [json.loads(x) for x in text.splitlines() if x.strip()]


class DutchieCase(unittest.TestCase):
    def setUp(self):
        self.now = int(time.time())
        self.data = dutchie_data.small(self.now)
        self.emu = dutchie_emulator.DutchieEmulator(data=self.data)
        self.emu.start()
        self.addCleanup(self.emu.stop)

    def shop(self, **kw):
        return DutchieShop(self, self.emu, **kw)

    def api(self, route=None, status=None):
        return self.emu.requests(route, status)

    # ---- the dataset's truth ------------------------------------------
    def carried(self, p):
        """Locations (of the parent, in key order) carrying product p."""
        return [loc for loc in LOCS if str(loc) in p["locations"]]

    def owner_fields(self, p):
        """The product as the first key's location that carries it
        serves it."""
        f = dict(p)
        f.update(p["locations"][str(self.carried(p)[0])])
        return f

    def stock(self, loc, pid):
        return math.floor(sum(
            k["quantityAvailable"] for k in self.data["packages"]
            if k["locationId"] == loc and k["productId"] == pid))

    def retail_orders(self):
        return [t for t in self.data["transactions"]
                if t["locationId"] in LOCS
                and t["transactionType"] == "Retail"]


def oid(t):
    return "%d-%d" % (t["locationId"], t["transactionId"])


class FullSync(DutchieCase):
    def test_feed_fields_match_the_dataset(self):
        s = self.shop()
        r = s.posfeed("check")
        for loc in LOCS:
            self.assertIn("location %d: " % loc, r.stdout)
        s.posfeed("run")
        prods = {p["id"]: p for p in s.feed()["products"]}
        brands = {b["brandId"]: b["brandName"] for b in self.data["brands"]}
        strains = {x["strainId"]: x["strainName"]
                   for x in self.data["strains"]}
        tags = {x["tagId"]: x["tagName"] for x in self.data["tags"]}
        ours = [p for p in self.data["products"] if p["lspId"] == 100]
        for p in ours:
            f = self.owner_fields(p)
            pid = str(p["productId"])
            visible = f["isActive"] and f["onlineAvailable"]
            self.assertEqual(pid in prods, visible, pid)
            if not visible:
                continue
            got = prods[pid]
            self.assertEqual(got["name"], p["productName"])
            self.assertEqual(got["price"], f["recPrice"])
            self.assertEqual(got["sku"], p["sku"])
            self.assertEqual(got["brand"], brands[p["brandId"]])
            self.assertEqual(got["image"], (p["imageUrls"] or [""])[0])
            if p["strainId"] is not None:
                self.assertEqual(got["strain"], strains[p["strainId"]])
            want_tags = [tags[t] for t in p["tags"]]
            if want_tags:
                self.assertEqual(got["tags"] if isinstance(got["tags"], list)
                                 else [got["tags"]], want_tags)
            self.assertEqual(got["stock"], sum(
                max(0, self.stock(loc, p["productId"]))
                for loc in self.carried(p)))
            self.assertEqual(got["url"], "")        # no product_url
        # The other parent's product never comes in.
        self.assertNotIn("7", prods)
        # The price conflict: the first key's location sets it.
        pc = FACTS["price_conflict_product"]
        self.assertEqual(prods[str(pc)]["price"],
                         self.data["products"][0]["locations"]["1001"]
                         ["recPrice"])
        # Stock per location, zero where a location's snapshot omits it.
        c = s.db()
        for (loc, pid), _ in FACTS["stock"].items():
            self.assertEqual(c.execute(
                "SELECT quantity FROM stock WHERE variant_id = ? AND "
                "location_id = ?", (str(pid), str(loc))).fetchone(),
                (self.stock(loc, pid),))
        self.assertEqual(c.execute(
            "SELECT quantity FROM stock WHERE variant_id = '6' AND "
            "location_id = '1001'").fetchone(), (0,))
        self.assertEqual(sorted(c.execute("SELECT id, name FROM locations")),
                         sorted((str(x["locationId"]), x["locationName"])
                                for x in self.data["locations"]
                                if x["lspId"] == 100))
        self.assertEqual(len(self.api(status=429)), 0)

    def test_orders_returns_voids_and_locations(self):
        s = self.shop()
        s.posfeed("run")
        c = s.db()
        rows = {r[0]: r[1:] for r in c.execute(
            "SELECT id, status, location_id, total, refund_of FROM orders")}
        retail = self.retail_orders()
        self.assertEqual(set(rows), {oid(t) for t in retail})
        for t in retail:
            st, loc, total, refund_of = rows[oid(t)]
            self.assertEqual(loc, str(t["locationId"]))
            self.assertEqual(st, "voided" if t["isVoid"] else "completed")
            self.assertEqual(total, round(abs(t["total"]) * 100) *
                             (-1 if t["isReturn"] else 1))
            self.assertEqual(refund_of, "%d-%d" % (
                t["locationId"], t["returnOnTransactionId"])
                if t["isReturn"] else None)
        # Lines with their quantities; a return's are negative.
        for t in retail:
            got = sorted(c.execute(
                "SELECT product_id, quantity, is_return FROM order_lines "
                "WHERE order_id = ?", (oid(t),)))
            sign = -1 if t["isReturn"] else 1
            self.assertEqual(got, sorted(
                (str(i["productId"]), sign * i["quantity"],
                 1 if t["isReturn"] else 0) for i in t["items"]))
        # The Klaviyo events: the location on every order event, voids
        # placed nowhere, the return refunds its original.
        events = s.feed("events")
        names = {x["locationId"]: x["locationName"]
                 for x in self.data["locations"]}
        placed = {e["properties"]["OrderId"]: e for e in events
                  if e["metric"] == "Placed Order"}
        want = {oid(t) for t in retail
                if not t["isVoid"] and not t["isReturn"] and
                t["customerId"] not in (None, FACTS["anonymous_customer"])
                and self.emailed(t["customerId"])}
        self.assertEqual(set(placed), want)
        for t in retail:
            if oid(t) in placed:
                self.assertEqual(placed[oid(t)]["properties"]["Store"],
                                 names[t["locationId"]])
        # ... and on every other event of an order.
        by_order = {}
        for e in events:
            by_order.setdefault(e["properties"]["OrderId"], []).append(e)
        for t in retail:
            for e in by_order.get(oid(t), []):
                if e["metric"] != "Refunded Order":
                    self.assertEqual(e["properties"]["Store"],
                                     names[t["locationId"]], e["metric"])
        refunds = [e for e in events if e["metric"] == "Refunded Order"]
        ret = [t for t in retail if t["isReturn"]][0]
        self.assertEqual([(e["properties"]["OrderId"],
                           e["properties"]["RefundId"]) for e in refunds],
                         [("%d-%d" % (ret["locationId"],
                                      ret["returnOnTransactionId"]),
                           oid(ret))])
        self.assertEqual(refunds[0]["properties"]["Store"],
                         names[ret["locationId"]])

    def emailed(self, cid):
        c = [x for x in self.data["customers"] if x["customerId"] == cid]
        return bool(c and c[0]["emailAddress"] and
                    not c[0]["mergedIntoCustomerId"])

    def test_profiles_only_emailed_nobody_subscribed_no_phones(self):
        s = self.shop()
        s.posfeed("run")
        prof = s.feed("profiles")
        ours = [x for x in self.data["customers"] if x["lspId"] == 100
                and x["emailAddress"] and not x["isAnonymous"]
                and not x["mergedIntoCustomerId"]]
        self.assertEqual({p["email"].lower() for p in prof},
                         {x["emailAddress"].lower() for x in ours})
        # Two customers of one email are one profile.
        self.assertEqual(len(prof), len({p["email"].lower()
                                         for p in prof}))
        for p in prof:
            self.assertNotEqual(p.get("subscribed"), True, p)
            self.assertNotIn("phone_number", p)
        dumped = json.dumps(prof)
        for x in self.data["customers"]:
            if x["cellPhone"]:
                self.assertNotIn(x["cellPhone"], dumped)
        self.assertEqual(s.db().execute(
            "SELECT count(*) FROM customers WHERE phone IS NOT NULL OR "
            "consent IS NOT NULL").fetchone(), (0,))
        # optedIntoMarketing is a property, never a subscription.
        opted = "U%07d" % FACTS["opted_in_customer"]
        props = {p["external_id"]: p.get("properties") for p in prof}
        self.assertEqual(props[opted], {"OptedIntoMarketing": True})
        self.assertEqual(props["U0000001"], {"OptedIntoMarketing": False})
        # isMedical on every order event.
        med = "1003-%d" % FACTS["medical_transaction"]
        placed = {e["properties"]["OrderId"]: e["properties"]
                  for e in s.feed("events") if e["metric"] == "Placed Order"}
        for o, p in placed.items():
            self.assertEqual(p["IsMedical"], o == med, o)
        # The merged customer's orders are the survivor's.
        self.assertEqual(s.db().execute(
            "SELECT DISTINCT customer_id FROM orders WHERE location_id = "
            "'1002'").fetchall(), [("U%07d" % FACTS["merge_survivor"],)])


class Keys(DutchieCase):
    def test_a_key_of_another_parent_is_refused_by_fingerprint(self):
        s = self.shop(locations=LOCS + [FACTS["other_location"]])
        r = s.posfeed("check", expect=2)
        self.assertIn("parent", r.stderr)
        self.assertIn("Other Cannabis Co", r.stderr)
        for key in self.emu.keys.values():
            self.assertNotIn(key, r.stderr + r.stdout)
        r = s.posfeed("sync", expect=None)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("parent", r.stderr)

    def test_duplicate_key_and_one_location_twice(self):
        s = self.shop()
        key = self.emu.keys[1001]
        with open(s.keys, "a") as f:
            f.write("%s   # again\n" % key)
        r = s.posfeed("check", expect=2)
        self.assertIn("same key", r.stderr)
        self.assertNotIn(key, r.stderr)

    def test_two_keys_of_one_location(self):
        # A second key bound to location 1002 (as when support issues a
        # new key and the old one still works).
        self.emu.add_key(1002, "second-key-1002")
        s = self.shop()
        with open(s.keys, "a") as f:
            f.write("second-key-1002\n")
        r = s.posfeed("check", expect=2)
        self.assertIn("both for location Green Leaf Uptown (1002)",
                      r.stderr)
        self.assertNotIn("second-key-1002", r.stderr)

    def test_a_rejected_key_names_its_fingerprint_not_itself(self):
        s = self.shop()
        with open(s.keys, "a") as f:
            f.write("not-a-real-key-123\n")
        r = s.posfeed("check", expect=2)
        self.assertIn("key rejected", r.stderr)
        self.assertNotIn("not-a-real-key-123", r.stderr)
        self.assertEqual(len(self.api(status=401)), 1)   # not retried

    def test_pascal_case_whoami_and_docs_paging(self):
        self.emu.configure(whoami_case="pascal", page_mode="docs",
                           return_sign="positive", time_format="naive")
        s = self.shop()
        s.posfeed("run")
        self.assertEqual(s.db().execute(
            "SELECT count(*) FROM locations").fetchone(), (3,))
        ret = [t for t in self.retail_orders() if t["isReturn"]][0]
        self.assertLess(s.db().execute(
            "SELECT total FROM orders WHERE id = ?",
            (oid(ret),)).fetchone()[0], 0)
        self.assertEqual(len(s.feed("profiles")), 6)

    def test_integrator_key_is_sent_as_the_password(self):
        self.emu.configure(integrator_key="integrator-secret")
        s = self.shop(source={"integrator_key": "env:DUT_INTEGRATOR"})
        env = s.env()
        env["DUT_INTEGRATOR"] = "integrator-secret"
        r = subprocess.run([BIN, "-c", s.conf, "sync"], env=env,
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        env["DUT_INTEGRATOR"] = "wrong"
        r = subprocess.run([BIN, "-c", s.conf, "sync"], env=env,
                           capture_output=True, text=True, timeout=120)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("key rejected", r.stderr)


class Links(DutchieCase):
    FEEDS = [("google", "google-shopping"),
             ("klaviyo", "klaviyo-catalog-json")]

    def test_google_and_meta_refused_without_product_url(self):
        s = self.shop(feeds=self.FEEDS)
        r = s.posfeed("check", expect=2)
        self.assertIn("[feed google]", r.stderr)
        self.assertIn("product_url", r.stderr)
        s = self.shop(feeds=[("meta", "meta-catalog")])
        r = s.posfeed("check", expect=2)
        self.assertIn("[feed meta]", r.stderr)
        # The Klaviyo catalog alone publishes unlinked.
        s = self.shop(feeds=[("klaviyo", "klaviyo-catalog-json")])
        s.posfeed("check")

    def test_product_url_makes_links(self):
        s = self.shop(feeds=self.FEEDS, source={
            "product_url": "https://shop.example/menu/{sku}"})
        s.posfeed("check")
        s.posfeed("run")
        import xml.etree.ElementTree as ET
        root = ET.parse(os.path.join(s.dir, "feeds", "google.json"))
        links = {i.find(GOOGLE_NS + "id").text:
                 i.find(GOOGLE_NS + "link").text
                 for i in root.iter("item")}
        for pid, link in links.items():
            sku = [p["sku"] for p in self.data["products"]
                   if str(p["productId"]) == pid][0]
            self.assertEqual(link, "https://shop.example/menu/" + sku)
        self.assertTrue(links)


class Incremental(DutchieCase):
    def test_changes_then_a_run_asks_only_for_what_changed(self):
        s = self.shop()
        s.posfeed("run")
        first = max(x["t"] for x in self.api())
        e = self.emu
        e.set_price(2, 1001, rec=22.0)
        pid = e.add_product(dict(self.data["products"][1], productId=60,
                                 productName="New Gummies", sku="SKU-00060",
                                 locations={"1002": {}}))
        e.add_package({"locationId": 1002, "productId": pid,
                       "quantityAvailable": 8.0})
        cid = e.add_customer(dict(self.data["customers"][1], customerId=70,
                                  uniqueId="U0000070",
                                  emailAddress="new@example.com",
                                  locations=[1003]))
        tid = e.add_transaction(
            {"locationId": 1003, "customerId": cid,
             "transactionType": "Retail", "date": e.now()},
            [{"productId": 1, "inventoryId": 104, "quantity": 1,
              "unitPrice": 36.0}])
        e.void_transaction(5001)
        e.clear_log()
        s.posfeed("run")
        log = self.api()
        # Each incremental listing asked from the last run's time (less
        # the overlap), not from the beginning.
        for route, key in (("/reporting/products",
                            "fromLastModifiedDateUTC"),
                           ("/customer/customers-paginated",
                            "fromLastModifiedDateUTC"),
                           ("/reporting/transactions",
                            "FromLastModifiedDateUTC")):
            got = [x for x in log if x["route"] == route]
            self.assertEqual(len(got), 3, route)    # one per location
            for x in got:
                since = x["query"][key][0]
                t = time.mktime(time.strptime(since[:19],
                                              "%Y-%m-%dT%H:%M:%S"))
                t -= time.timezone
                self.assertGreater(t, self.now - 3600, route)
        self.assertEqual(len([x for x in log if x["route"] ==
                              "/reporting/inventory"]), 3)
        self.assertEqual(len(self.api(status=429)), 0)
        prods = {p["id"]: p for p in s.feed()["products"]}
        self.assertEqual(prods["2"]["price"], 22.0)
        self.assertEqual(prods[str(pid)]["stock"], 8)
        c = s.db()
        self.assertEqual(c.execute("SELECT status FROM orders WHERE id = "
                                   "'1001-5001'").fetchone(), ("voided",))
        self.assertEqual(c.execute(
            "SELECT location_id, customer_id FROM orders WHERE id = ?",
            ("1003-%d" % tid,)).fetchone(), ("1003", "U0000070"))
        self.assertIn("new@example.com",
                      {p["email"] for p in s.feed("profiles")})
        del first


    def test_an_unchanged_inventory_moves_no_product(self):
        """Each run reads every location's whole inventory: writing it
        back unchanged must not mark products changed (Clerk's
        modified_after answers would be the whole catalog every time)."""
        s = self.shop()
        s.posfeed("run")
        c = s.db()
        first = dict(c.execute("SELECT id, changed_at FROM products"))
        c.close()
        self.assertTrue(first)
        time.sleep(1.1)
        pid = self.emu.add_product(dict(
            self.data["products"][1], productId=61, productName="Late Tea",
            sku="SKU-00061", locations={"1002": {}}))
        self.emu.add_package({"locationId": 1002, "productId": pid,
                              "quantityAvailable": 3.0})
        s.posfeed("run")
        c = s.db()
        now = dict(c.execute("SELECT id, changed_at FROM products"))
        c.close()
        moved = {k for k, v in now.items() if first.get(k) != v}
        self.assertEqual(moved, {str(pid)})

    def test_reading_transactions_again_moves_no_order(self):
        """A full sync reads every transaction again: writing their
        lines back unchanged must not mark the orders changed."""
        s = self.shop()
        s.posfeed("run")
        c = s.db()
        first = dict(c.execute("SELECT id, changed_at FROM orders"))
        lines = c.execute("SELECT count(*) FROM order_lines").fetchone()
        c.close()
        self.assertTrue(first)
        self.assertGreater(lines[0], 0)
        time.sleep(1.1)
        s.posfeed("sync", "--full")
        c = s.db()
        now = dict(c.execute("SELECT id, changed_at FROM orders"))
        self.assertEqual(c.execute("SELECT count(*) FROM order_lines")
                         .fetchone(), lines)
        c.close()
        self.assertEqual({k for k, v in now.items() if first.get(k) != v},
                         set())

    def test_a_change_the_api_shows_late_is_still_read(self):
        # The API lags the POS: a change stamped T shows at T + 3 s. A
        # run in between does not see it; the next one must, although
        # its bookmark is past T.
        self.emu.configure(lag_s=3.0)
        s = self.shop()
        s.posfeed("sync")
        self.emu.set_price(2, 1001, rec=21.5)
        time.sleep(1.5)        # the bookmark is a second or more past T
        s.posfeed("sync")
        time.sleep(2.5)
        s.posfeed("run")
        prods = {p["id"]: p for p in s.feed()["products"]}
        self.assertEqual(prods["2"]["price"], 21.5)


class Limits(DutchieCase):
    def test_pacing_keeps_every_key_within_its_budget(self):
        # The documented budgets in a 1 s "minute": a first sync of all
        # time asks /reporting/transactions for 31-day ranges since
        # 2014, far more than its 60 per window for each key.
        self.emu.configure(window_s=1.0)
        s = self.shop(source={"rate_window": "1"},
                      sync={"orders_lookback": "all"})
        t0 = time.monotonic()
        s.posfeed("sync", timeout=300)
        self.assertEqual(len(self.api(status=429)), 0)
        for loc in LOCS:
            n = len(self.emu.requests("/reporting/transactions",
                                      location=loc))
            self.assertGreater(n, 120)
        # Each key waited for its own budget: at least n / 60 windows.
        self.assertGreater(time.monotonic() - t0, 2.0)

    def test_retry_after_and_transient_errors_are_retried(self):
        self.emu.fault("/reporting/products", "429", times=2)
        self.emu.fault("/reporting/inventory", "503", times=2)
        self.emu.fault("/reporting/transactions", "502", times=1)
        s = self.shop()
        s.posfeed("sync")
        ours = [p for p in self.data["products"] if p["lspId"] == 100]
        self.assertEqual(s.db().execute(
            "SELECT count(*) FROM stock").fetchone()[0], 3 * len(ours))
        self.assertEqual(len(self.api("/reporting/products", 429)), 2)
        self.assertEqual(len(self.api("/reporting/inventory", 503)), 2)

    def test_every_scripted_fault_is_survived(self):
        for route, kind in (("/whoami", "503"),
                            ("/reporting/products", "badjson"),
                            ("/reporting/inventory", "truncate"),
                            ("/customer/customers-paginated", "504"),
                            ("/reporting/transactions", "hang")):
            self.emu.fault(route, kind, times=1, seconds=3)
        s = self.shop()
        s.posfeed("run")
        # Every fault was served, and the run still got everything.
        self.assertEqual([f["times"] for f in self.emu.faults], [0] * 5)
        self.assertEqual(len([x for x in self.api() if x["fault"]]), 5)
        self.assertEqual(len(s.feed("profiles")), 6)
        self.assertEqual(s.db().execute(
            "SELECT count(*) FROM orders").fetchone()[0],
            len(self.retail_orders()))

    def test_a_400_is_not_retried_and_says_why(self):
        self.emu.configure(transaction_range_days=1)
        s = self.shop()
        r = s.posfeed("sync", expect=None)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("HTTP 400", r.stderr)
        self.assertIn("cannot exceed", r.stderr)
        self.assertEqual(len(self.api("/reporting/transactions", 400)), 1)

    def test_a_missing_role_is_a_clear_error(self):
        self.emu.set_roles(1002, ["Product", "Inventory", "Reporting"])
        s = self.shop()
        r = s.posfeed("sync", expect=None)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("HTTP 403", r.stderr)
        self.assertIn("Green Leaf Uptown", r.stderr)


class Crash(DutchieCase):
    def clean_dump(self):
        s = self.shop()
        s.posfeed("sync")
        # Real clock here: change times differ between the two stores.
        return s.dump(clock=False)

    def test_kill_mid_sync_then_rerun_equals_an_uninterrupted_run(self):
        want = self.clean_dump()
        self.emu.configure(latency=0.02)
        s = self.shop()
        for delay in (0.7, 1.6):
            p = subprocess.Popen([BIN, "-c", s.conf, "sync"], env=s.env(),
                                 stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            time.sleep(delay)
            p.send_signal(signal.SIGKILL)
            p.wait()
        self.emu.configure(latency=0.0)
        s.posfeed("sync")
        self.assertEqual(s.dump(clock=False), want)


if __name__ == "__main__":
    unittest.main()
