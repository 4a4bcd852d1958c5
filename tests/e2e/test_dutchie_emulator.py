"""The Dutchie POS emulator (tests/emulators/dutchie_emulator.py) keeps
the contract its docstring states: source_dutchie.c is tested against
it, so a wrong emulator would let a wrong source pass. One test class
per rule of the contract, each asserting over HTTP (urllib).

Standard library only; runs without POSFEED_BIN:
    python3 -m unittest tests/e2e/test_dutchie_emulator.py
"""
import base64
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
EMU_DIR = os.path.join(os.path.dirname(HERE), "emulators")
sys.path.insert(0, EMU_DIR)

import dutchie_data  # noqa: E402
import dutchie_emulator  # noqa: E402

DAY = 86400
NOW = 1795000000            # 2026-11-19 (UTC); the dataset's "now"
F = dutchie_data.SMALL_FACTS


def basic(user, password=""):
    raw = ("%s:%s" % (user, password)).encode()
    return "Basic " + base64.b64encode(raw).decode()


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class Answer:
    def __init__(self, status, headers, raw):
        self.status, self.headers, self.raw = status, headers, raw

    @property
    def json(self):
        return json.loads(self.raw)


class EmuCase(unittest.TestCase):
    """An emulator serving the small dataset, its clock fixed at NOW."""

    def setUp(self):
        self.emu = dutchie_emulator.DutchieEmulator(
            data=dutchie_data.small(NOW))
        self.emu.set_clock(NOW)
        self.emu.start()
        self.addCleanup(self.emu.stop)
        self.key = self.emu.keys

    def get(self, path, loc=1001, auth=None, timeout=10, **params):
        if params:
            path += "?" + urllib.parse.urlencode(params)
        req = urllib.request.Request(self.emu.url + path)
        if auth is None:
            auth = basic(self.key[loc])
        if auth:
            req.add_header("Authorization", auth)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return Answer(r.status, r.headers, r.read())
        except urllib.error.HTTPError as e:
            return Answer(e.code, e.headers, e.read())

    def ok(self, path, loc=1001, **params):
        a = self.get(path, loc, **params)
        self.assertEqual(a.status, 200, a.raw)
        self.assertTrue(a.headers["Content-Type"].startswith(
            "application/json"))
        return a.json

    def txs(self, loc=1001, **params):
        p = {"FromLastModifiedDateUTC": iso(NOW - 30 * DAY),
             "ToLastModifiedDateUTC": iso(NOW)}
        p.update(params)
        return self.ok("/reporting/transactions", loc, **p)

    def by_id(self, rows, key):
        return {r[key]: r for r in rows}


class Auth(EmuCase):
    def test_key_as_user_with_empty_password(self):
        self.assertEqual(self.ok("/whoami")["locationId"], 1001)

    def test_401_has_an_empty_body_and_is_not_counted(self):
        self.emu.configure(limits={"/whoami": 1})
        for auth in ("", basic("nope"), "Bearer " + self.key[1001],
                     "Basic !!!"):
            a = self.get("/whoami", auth=auth)
            self.assertEqual(a.status, 401, auth)
            self.assertEqual(a.raw, b"")
            self.assertEqual(a.headers["Content-Length"], "0")
        self.assertEqual(self.get("/whoami").status, 200)
        self.assertEqual(len(self.emu.requests("/whoami", status=401)), 4)

    def test_integrator_key_as_password_when_configured(self):
        # No integrator key configured: any password passes.
        self.assertEqual(self.get("/whoami", auth=basic(
            self.key[1001], "whatever")).status, 200)
        self.emu.configure(integrator_key="integ-1")
        for pw in ("", "integ-2"):
            a = self.get("/whoami", auth=basic(self.key[1001], pw))
            self.assertEqual((a.status, a.raw), (401, b""))
        a = self.get("/whoami", auth=basic(self.key[1001], "integ-1"))
        self.assertEqual(a.status, 200)


class Locations(EmuCase):
    def test_each_key_is_bound_to_its_location(self):
        for lid in F["locations"] + [F["other_location"]]:
            w = self.ok("/whoami", lid)
            self.assertEqual(w["locationId"], lid)
        w = self.ok("/whoami", 1002)
        self.assertEqual((w["lspId"], w["lspName"], w["locationName"]),
                         (100, "Green Leaf Holdings", "Green Leaf Uptown"))
        self.assertEqual(self.ok("/whoami", 2001)["lspId"], 200)
        self.assertEqual(sorted(w), sorted(dutchie_emulator.WHOAMI_FIELDS))

    def test_a_key_sees_only_its_own_location(self):
        for lid in F["locations"]:
            rows = self.txs(lid)
            self.assertTrue(rows)
            want = sorted(t["transactionId"] for t in
                          dutchie_data.small(NOW)["transactions"]
                          if t["locationId"] == lid)
            self.assertEqual([t["transactionId"] for t in rows], want)
        ids = [p["productId"] for p in self.ok("/reporting/products", 1003)]
        self.assertIn(F["only_at_1003"], ids)
        self.assertNotIn(F["only_at_1003"], [
            p["productId"] for p in self.ok("/reporting/products", 1001)])
        self.assertEqual([p["productId"] for p in
                          self.ok("/reporting/products", 2001)], [7])

    def test_transaction_id_of_another_location_is_not_found(self):
        self.assertEqual(self.ok("/reporting/transactions", 1002,
                                 TransactionId="5001"), [])
        self.assertEqual(self.ok("/reporting/transactions", 1002,
                                 TransactionId="99999"), [])
        self.assertEqual(len(self.ok("/reporting/transactions", 1001,
                                     TransactionId="5001")), 1)

    def test_a_second_key_for_a_location(self):
        k2 = self.emu.add_key(1002)
        self.assertNotEqual(k2, self.key[1002])
        self.assertEqual(self.ok("/whoami", auth=basic(k2))["locationId"],
                         1002)
        self.assertEqual(self.emu.keys[1002], self.key[1002])
        with self.assertRaises(ValueError):
            self.emu.add_key(1001, k2)
        # Its own budget.
        self.emu.configure(limits={"/whoami": 1})
        self.emu.reset_limits()
        self.assertEqual(self.get("/whoami", 1002).status, 200)
        self.assertEqual(self.get("/whoami", auth=basic(k2)).status, 200)
        self.assertEqual(self.get("/whoami", 1002).status, 429)

    def test_pascal_case_whoami_toggle(self):
        self.emu.configure(whoami_case="pascal")
        w = self.ok("/whoami", 1003)
        self.assertEqual(w["LocationId"], 1003)
        self.assertEqual(w["LspName"], "Green Leaf Holdings")
        self.assertNotIn("locationId", w)

    def test_keys_file_names_each_location(self):
        with tempfile.TemporaryDirectory() as d:
            path = self.emu.write_keys(os.path.join(d, "k"), [1001, 2001])
            with open(path) as f:
                lines = f.read().splitlines()
            self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        keys = [x for x in lines if x and not x.startswith("#")]
        self.assertEqual(keys, [self.key[1001], self.key[2001]])
        self.assertIn("# Green Leaf Downtown (1001)", lines)


class Routing(EmuCase):
    def test_paths_and_parameter_names_are_case_insensitive(self):
        self.assertEqual(self.ok("/WhoAmI/")["locationId"], 1001)
        a = self.ok("/reporting/transactions", transactionid="5001",
                    includedetail="TRUE")
        self.assertEqual(len(a[0]["items"]), 2)

    def test_unknown_path_404_and_only_get(self):
        a = self.get("/nothing")
        self.assertEqual((a.status, a.raw), (404, b"Not Found"))
        req = urllib.request.Request(self.emu.url + "/whoami", data=b"{}",
                                     method="POST")
        req.add_header("Authorization", basic(self.key[1001]))
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(req, timeout=5)
        self.assertEqual(cm.exception.code, 405)

    def test_full_arrays_and_lsp_level_reference_lists(self):
        for path in ("/products", "/reporting/products", "/inventory",
                     "/reporting/inventory", "/product-category", "/brand",
                     "/strains", "/tag", "/customer/customers"):
            self.assertIsInstance(self.ok(path), list, path)
        cats = self.ok("/product-category", 1001)
        self.assertEqual(cats, self.ok("/product-category", 1003))
        self.assertEqual(cats[0], {"productCategoryId": 1,
                                   "productCategory": "Flower",
                                   "masterCategory": "Flower"})
        self.assertEqual([b["brandName"] for b in self.ok("/brand")][:2],
                         ["Mountain High", "Sweet Leaf Co"])

    def test_dates_in_dotnet_o_format_and_bad_dates(self):
        rows = self.ok("/reporting/transactions",
                       FromLastModifiedDateUTC="2026-10-20T00:00:00."
                       "0000000+00:00",
                       ToLastModifiedDateUTC="2026-11-19")
        self.assertTrue(rows)
        a = self.get("/reporting/products",
                     fromLastModifiedDateUTC="yesterday")
        self.assertEqual(a.status, 400)
        self.assertEqual(a.json, {"isValid": False, "errors": [
            {"propertyName": "fromLastModifiedDateUTC",
             "errorMessage": "'yesterday' is not a valid date"}],
            "ruleSetsExecuted": []})
        # A raw "+" is a space: the offset is lost and the date fails.
        a = self.get("/reporting/products?fromLastModifiedDateUTC="
                     "2026-10-01T00:00:00+00:00")
        self.assertEqual(a.status, 400)

    def test_answer_times_are_utc_z_or_naive(self):
        t = self.txs()
        self.assertTrue(t[0]["lastModifiedDateUTC"].endswith("Z"))
        self.emu.configure(time_format="naive")
        t = self.txs()
        self.assertRegex(t[0]["lastModifiedDateUTC"],
                         r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.0000000$")
        self.assertRegex(t[0]["transactionDateLocalTime"],
                         r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")


class Catalog(EmuCase):
    def test_products_vs_reporting_products_visibility(self):
        rep = self.by_id(self.ok("/reporting/products", 1002), "productId")
        online = self.by_id(self.ok("/products", 1002), "productId")
        # 3 is inactive at 1002, 4 is offline everywhere.
        self.assertFalse(rep[F["inactive_at_1002"]]["isActive"])
        self.assertFalse(rep[F["offline_product"]]["onlineAvailable"])
        self.assertEqual(sorted(rep), [1, 2, 3, 4, 5])
        self.assertEqual(sorted(online), [1, 2, 5])
        self.assertIn(3, self.by_id(self.ok("/products", 1001),
                                    "productId"))
        self.assertEqual(self.ok("/products", 1002, isActive="false"), [])

    def test_prices_are_per_location(self):
        pid = F["price_conflict_product"]
        prices = {lid: self.by_id(self.ok("/reporting/products", lid),
                                  "productId")[pid]["recPrice"]
                  for lid in F["locations"]}
        self.assertEqual(prices, {1001: 35.0, 1002: 38.0, 1003: 36.0})
        p = self.by_id(self.ok("/reporting/products", 1002),
                       "productId")[pid]
        self.assertEqual((p["price"], p["medPrice"]), (38.0, 32.0))

    def test_product_detail_fields(self):
        p = self.by_id(self.ok("/reporting/products"), "productId")
        one = p[1]
        self.assertEqual((one["category"], one["masterCategory"],
                          one["brandName"], one["strain"],
                          one["strainType"]),
                         ("Flower", "Flower", "Mountain High",
                          "Blue Dream", "Hybrid"))
        self.assertEqual(one["tags"], [{"tagId": 1, "tagName": "Staff Pick"},
                                       {"tagId": 3, "tagName": "Local"}])
        self.assertEqual((one["thcContent"], one["thcContentUnit"]),
                         (21.5, "%"))
        self.assertEqual(len(one["imageUrls"]), 2)
        none = p[F["no_image_product"]]
        self.assertEqual((none["imageUrl"], none["imageUrls"],
                          none["isCannabis"]), (None, [], False))

    def test_from_last_modified_filter(self):
        self.emu.set_clock(NOW + 10)
        self.emu.set_price(2, 1001, rec=21.0)
        rows = self.ok("/reporting/products",
                       fromLastModifiedDateUTC=iso(NOW + 5))
        self.assertEqual([(r["productId"], r["recPrice"],
                           r["lastModifiedDateUtc"]) for r in rows],
                         [(2, 21.0, iso(NOW + 10))])
        # Another location's view did not change.
        self.assertEqual(self.ok("/reporting/products", 1002,
                                 fromLastModifiedDateUTC=iso(NOW + 5)), [])


class Inventory(EmuCase):
    def stock(self, path, lid):
        out = {}
        for r in self.ok(path, lid):
            out[r["productId"]] = out.get(r["productId"], 0) + \
                r["quantityAvailable"]
        return out

    def test_snapshot_omits_zero_stock_and_sums_per_package(self):
        for (lid, pid), qty in F["stock"].items():
            s = self.stock("/reporting/inventory", lid)
            self.assertEqual(s.get(pid, 0), qty, (lid, pid))
        rows = self.ok("/reporting/inventory", 1002)
        self.assertNotIn(103, [r["inventoryId"] for r in rows])
        self.assertTrue(all(r["quantityAvailable"] > 0 for r in rows))
        self.emu.set_clock(NOW + 60)
        self.emu.set_stock(101, 0)
        self.assertEqual(self.stock("/reporting/inventory", 1001)[1], 4.5)

    def test_inventory_serves_only_online_products(self):
        rep = self.stock("/reporting/inventory", 1001)
        cur = self.stock("/inventory", 1001)
        self.assertIn(F["offline_product"], rep)
        self.assertNotIn(F["offline_product"], cur)
        self.emu.configure(inventory_empty=True)
        self.assertEqual(self.ok("/inventory", 1001), [])

    def test_room_and_allocated_only_when_asked(self):
        r = self.ok("/reporting/inventory")[0]
        self.assertEqual((r["roomQuantities"], r["allocatedQuantity"]),
                         ([], None))
        self.assertNotIn("labResults", r)
        r = self.ok("/reporting/inventory", includeRoomQuantities="true",
                    includeAllocated="true", includeLabResults="true")[0]
        self.assertEqual(r["roomQuantities"],
                         [{"room": "Sales Floor", "quantityAvailable": 10.0}])
        self.assertEqual((r["allocatedQuantity"], r["labResults"]), (0, []))


class Customers(EmuCase):
    WINDOW = {"fromLastModifiedDateUTC": iso(NOW - 60 * DAY),
              "toLastModifiedDateUTC": iso(NOW)}

    def ids(self, lid=1001, path="/customer/customers", **p):
        return [c["customerId"] for c in self.ok(path, lid, **p)]

    def test_shared_customers_and_anonymous_gating(self):
        self.assertEqual(self.ids(1001, **self.WINDOW), [1, 2, 3, 8])
        self.assertEqual(self.ids(1002, **self.WINDOW), [1, 5, 6])
        self.assertEqual(self.ids(1001, includeAnonymous="true",
                                  **self.WINDOW), [1, 2, 3, 4, 8])
        c = self.by_id(self.ok("/customer/customers", 1002, **self.WINDOW),
                       "customerId")
        self.assertEqual((c[5]["status"], c[5]["mergedIntoCustomerId"]),
                         ("Merged", 6))
        self.assertIsNone(c[6]["mergedIntoCustomerId"])
        a = self.ok("/customer/customers", 1001, **self.WINDOW)
        self.assertEqual(self.by_id(a, "customerId")[3]["emailAddress"], "")

    def test_window_defaults_and_range_cap(self):
        # Without dates only the last 90 days: 10 (200 days old) is out.
        self.assertNotIn(F["old_customer"], self.ids(1001))
        old = {"fromLastModifiedDateUTC": iso(NOW - 250 * DAY),
               "toLastModifiedDateUTC": iso(NOW - 170 * DAY)}
        self.assertEqual(self.ids(1001, **old), [F["old_customer"]])
        a = self.get("/customer/customers",
                     fromLastModifiedDateUTC=iso(NOW - 91 * DAY),
                     toLastModifiedDateUTC=iso(NOW))
        self.assertEqual((a.status, a.raw),
                         (400, b"Date range cannot exceed 90 days"))
        self.assertTrue(a.headers["Content-Type"].startswith("text/plain"))
        a = self.get("/customer/customers",
                     fromLastModifiedDateUTC=iso(NOW - 91 * DAY))
        self.assertEqual(a.status, 400)
        a = self.get("/customer/customers-paginated",
                     fromLastModifiedDateUTC=iso(NOW),
                     toLastModifiedDateUTC=iso(NOW - DAY))
        self.assertEqual(a.status, 400)

    def test_lookup_by_id_or_unique_id_ignores_the_window(self):
        self.assertEqual(self.ids(1001, customerID="10"), [10])
        self.assertEqual(self.ids(1001, uniqueId="U0000010"), [10])
        self.assertEqual(self.ids(1002, customerID="10"), [])

    def test_paginated_spec_mode(self):
        p = dict(self.WINDOW, includeAnonymous="true")
        path = "/customer/customers-paginated"
        self.assertEqual(self.ids(1001, path, PageSize="2", **p), [1, 2])
        self.assertEqual(self.ids(1001, path, PageNumber="1", PageSize="2",
                                  **p), [3, 4])
        self.assertEqual(self.ids(1001, path, PageNumber="2", PageSize="2",
                                  **p), [8])
        self.assertEqual(self.ids(1001, path, PageNumber="3", PageSize="2",
                                  **p), [])
        self.assertEqual(self.ids(1001, path, **p), [1, 2, 3, 4, 8])
        for bad in ({"PageSize": "10001"}, {"PageSize": "0"},
                    {"PageNumber": "-1"}, {"PageNumber": "x"}):
            a = self.get(path, **dict(p, **bad))
            self.assertEqual(a.status, 400, bad)

    def test_paginated_docs_mode(self):
        self.emu.configure(page_mode="docs")
        path = "/customer/customers-paginated"
        self.assertEqual(self.ids(1001, path, PageNumber="1", PageSize="3",
                                  **self.WINDOW), [1, 2, 3])
        self.assertEqual(self.ids(1001, path, PageNumber="2", PageSize="3",
                                  **self.WINDOW), [8])
        for bad in ({"PageNumber": "0"}, {"PageSize": "101"}):
            a = self.get(path, **dict(self.WINDOW, **bad))
            self.assertEqual(a.status, 400, bad)
            self.assertTrue(a.headers["Content-Type"].startswith(
                "text/plain"))


class Transactions(EmuCase):
    def assert_selector_400(self, **p):
        a = self.get("/reporting/transactions", **p)
        self.assertEqual(a.status, 400, p)
        body = a.json
        self.assertIn("message", body)
        self.assertIn("propertyErrors", body)
        return body

    def test_selectors_are_exclusive(self):
        mod = {"FromLastModifiedDateUTC": iso(NOW - DAY),
               "ToLastModifiedDateUTC": iso(NOW)}
        date = {"FromDateUTC": iso(NOW - DAY), "ToDateUTC": iso(NOW)}
        b = self.assert_selector_400(TransactionId="5001", **mod)
        self.assertEqual(sorted(b["propertyErrors"]), [
            "FromLastModifiedDateUTC", "ToLastModifiedDateUTC",
            "TransactionId"])
        self.assert_selector_400(**dict(mod, **date))
        self.assert_selector_400(TransactionId="5001",
                                 FromDateUTC=iso(NOW))
        self.assert_selector_400()
        b = self.assert_selector_400(FromDateUTC=iso(NOW - DAY))
        self.assertEqual(list(b["propertyErrors"]), ["ToDateUTC"])
        self.assertEqual(len(self.ok("/reporting/transactions",
                                     TransactionId="5001")), 1)

    def test_range_cap_and_order(self):
        a = self.get("/reporting/transactions",
                     FromDateUTC=iso(NOW - 32 * DAY), ToDateUTC=iso(NOW))
        self.assertEqual((a.status, a.raw),
                         (400, b"Date range cannot exceed 31 days"))
        a = self.get("/reporting/transactions", FromDateUTC=iso(NOW),
                     ToDateUTC=iso(NOW - DAY))
        self.assertEqual(a.status, 400)
        self.emu.configure(transaction_range_days=60)
        rows = self.ok("/reporting/transactions",
                       FromDateUTC=iso(NOW - 32 * DAY), ToDateUTC=iso(NOW))
        ids = [t["transactionId"] for t in rows]
        self.assertEqual(ids, sorted(ids))

    def test_date_vs_last_modified_selectors(self):
        # The original 5002 was sold on day -15 but modified on day -14
        # by its return.
        sold = NOW - 20 * DAY + 5 * DAY
        by_date = self.ok("/reporting/transactions", 1002,
                          FromDateUTC=iso(sold), ToDateUTC=iso(sold))
        self.assertEqual([t["transactionId"] for t in by_date], [5002])
        by_mod = self.ok("/reporting/transactions", 1002,
                         FromLastModifiedDateUTC=iso(sold),
                         ToLastModifiedDateUTC=iso(sold))
        self.assertEqual(by_mod, [])

    def test_items_only_with_include_detail(self):
        t = self.by_id(self.txs(), "transactionId")[5001]
        self.assertEqual(t["items"], [])
        t = self.by_id(self.txs(includeItems="true"), "transactionId")[5001]
        self.assertEqual(t["items"], [])
        t = self.by_id(self.txs(IncludeDetail="true"),
                       "transactionId")[5001]
        self.assertEqual([i["productId"] for i in t["items"]], [1, 2])
        self.assertEqual(t["items"][0]["taxes"], [])
        self.assertEqual(t["taxSummary"], [])
        self.assertNotIn("orderIds", t)
        t = self.by_id(self.txs(IncludeDetail="true", IncludeTaxes="true",
                                IncludeOrderIds="true"),
                       "transactionId")[5001]
        self.assertEqual(t["items"][0]["taxes"][0]["amount"], 10.5)
        self.assertEqual(t["taxSummary"][0]["amount"], t["tax"])
        self.assertEqual(t["orderIds"], [])
        a = self.get("/reporting/transactions", TransactionId="5001",
                     IncludeDetail="yes")
        self.assertEqual(a.status, 400)

    def test_money_adds_up(self):
        t = self.by_id(self.txs(IncludeDetail="true"),
                       "transactionId")[5001]
        self.assertEqual((t["subtotal"], t["totalDiscount"],
                          t["totalBeforeTax"]), (90.0, 2.0, 88.0))
        self.assertAlmostEqual(t["total"], sum(i["totalPrice"]
                                               for i in t["items"]))
        self.assertEqual(t["totalItems"], 3)

    def test_all_types_are_served(self):
        t = self.by_id(self.txs(), "transactionId")
        self.assertEqual(t[F["transfer"]]["transactionType"], "Transfer")
        self.assertEqual(t[F["wholesale"]]["transactionType"],
                         "WholesaleOrder")
        self.assertIsNone(t[F["anonymous_transaction"]]["voidDate"])
        med = self.by_id(self.txs(1003), "transactionId")
        self.assertTrue(med[F["medical_transaction"]]["isMedical"])


class ReturnsAndVoids(EmuCase):
    def test_return_links_and_sign(self):
        t = self.by_id(self.txs(1002, IncludeDetail="true"),
                       "transactionId")
        r, o = t[F["return"]], t[F["returned_original"]]
        self.assertTrue(r["isReturn"])
        self.assertEqual(r["returnOnTransactionId"], 5002)
        self.assertLess(r["total"], 0)
        self.assertEqual(r["items"][0]["quantity"], -1)
        # A return's zero amounts are 0, not -0.
        a = self.get("/reporting/transactions", 1002,
                     TransactionId=str(F["return"]), IncludeDetail="true")
        self.assertIn(b'"totalDiscount":0.0', a.raw)
        self.assertNotIn(b"-0.0", a.raw)
        item = o["items"][1]
        self.assertEqual((item["isReturned"],
                          item["returnedByTransactionId"],
                          item["returnReason"]), (True, 5003, "Defective"))
        self.assertFalse(o["items"][0]["isReturned"])
        self.assertEqual(o["lastModifiedDateUTC"], r["transactionDate"])
        self.emu.configure(return_sign="positive")
        r = self.by_id(self.txs(1002, IncludeDetail="true"),
                       "transactionId")[F["return"]]
        self.assertGreater(r["total"], 0)
        self.assertEqual(r["items"][0]["quantity"], 1)

    def test_void(self):
        v = self.by_id(self.txs(1003), "transactionId")[F["void"]]
        self.assertTrue(v["isVoid"])
        self.assertEqual(v["voidDate"], v["lastModifiedDateUTC"])
        self.assertGreater(v["total"], 0)

    def test_new_return_and_void_move_last_modified(self):
        self.emu.set_clock(NOW + 100)
        rid = self.emu.add_return(5001, [(1, 1)], reason="Wrong item")
        self.emu.void_transaction(5010)
        rows = self.txs(FromLastModifiedDateUTC=iso(NOW + 50),
                        ToLastModifiedDateUTC=iso(NOW + 200),
                        IncludeDetail="true")
        t = self.by_id(rows, "transactionId")
        self.assertEqual(sorted(t), [5001, 5010, rid])
        self.assertEqual(t[rid]["returnOnTransactionId"], 5001)
        self.assertEqual(t[rid]["customerId"], 1)
        self.assertEqual(t[5001]["items"][0]["returnedByTransactionId"],
                         rid)
        self.assertEqual(t[5010]["voidDate"], iso(NOW + 100))


class RateLimits(EmuCase):
    def test_documented_defaults(self):
        lim = self.emu.limit_for
        self.assertEqual((lim("/whoami"), lim("/inventory"),
                          lim("/reporting/transactions"),
                          lim("/customer/customers-paginated"),
                          lim("/products")), (200, 200, 60, 120, 120))

    def test_per_endpoint_per_key_per_window_429(self):
        self.emu.configure(limits={"/reporting/products": 3},
                           window_s=1.5)
        for _ in range(3):
            self.assertEqual(self.get("/reporting/products").status, 200)
        a = self.get("/reporting/products")
        self.assertEqual(a.status, 429)
        body = a.json
        self.assertEqual(body["Message"],
                         "Too many requests - only 3 per minute allowed")
        self.assertRegex(body["TraceId"], r"^[0-9a-f]{32}$")
        self.assertIn(a.headers["Retry-After"], ("1", "2"))
        # Another endpoint and another key have their own budgets.
        self.assertEqual(self.get("/whoami").status, 200)
        self.assertEqual(self.get("/reporting/products", 1002).status, 200)
        # The 429 was not counted: the window frees after its length.
        time.sleep(1.6)
        self.assertEqual(self.get("/reporting/products").status, 200)
        self.assertEqual(self.emu.stats()["429"], 1)

    def test_rolling_window(self):
        self.emu.configure(limits={"/whoami": 2}, window_s=1.0)
        self.assertEqual(self.get("/whoami").status, 200)
        time.sleep(0.6)
        self.assertEqual(self.get("/whoami").status, 200)
        time.sleep(0.5)      # the first left the window, the second not
        self.assertEqual(self.get("/whoami").status, 200)
        self.assertEqual(self.get("/whoami").status, 429)

    def test_parallel_keys_each_get_exactly_their_budget(self):
        import threading
        self.emu.configure(limits={"/reporting/products": 10},
                           window_s=30)
        got = {lid: [] for lid in F["locations"]}

        def hammer(lid):
            for _ in range(15):
                got[lid].append(self.get("/reporting/products",
                                         lid).status)
        ts = [threading.Thread(target=hammer, args=(lid,))
              for lid in F["locations"] for _ in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        for lid, st in got.items():
            self.assertEqual((st.count(200), st.count(429)), (10, 20), lid)
        self.assertEqual(self.emu.stats()["peak"]["1001 /reporting/"
                                                  "products"], 10)

    def test_retry_after_can_be_left_out(self):
        self.emu.configure(limits={"/whoami": 1}, retry_after=False)
        self.get("/whoami")
        a = self.get("/whoami")
        self.assertEqual(a.status, 429)
        self.assertIsNone(a.headers.get("Retry-After"))


class Roles(EmuCase):
    def test_missing_role_is_403(self):
        self.emu.set_roles(1002, ["Reporting"])
        a = self.get("/customer/customers", 1002)
        self.assertEqual(a.status, 403)
        self.assertEqual(a.json, {"Message": "Authorization has been "
                                  "denied for this request."})
        self.assertEqual(self.get("/products", 1002).status, 403)
        self.assertEqual(self.get("/whoami", 1002).status, 200)
        self.assertEqual(self.get("/reporting/products", 1002).status, 200)
        self.assertEqual(self.get("/customer/customers", 1001).status, 200)
        with self.assertRaises(ValueError):
            self.emu.set_roles(1002, ["Admin"])


class Faults(EmuCase):
    def test_runs_of_502_and_503(self):
        self.emu.fault("/reporting/transactions", "503", times=2)
        self.emu.fault("/whoami", "502", times=1, skip=1)
        self.assertEqual(self.get("/whoami").status, 200)
        a = self.get("/whoami")
        self.assertEqual((a.status, a.raw), (502, b"Service Unavailable"))
        self.assertEqual(self.get("/whoami").status, 200)
        for _ in range(2):
            a = self.get("/reporting/transactions", TransactionId="5001")
            self.assertEqual(a.status, 503)
        self.assertEqual(self.get("/reporting/transactions",
                                  TransactionId="5001").status, 200)

    def test_fault_for_one_location(self):
        self.emu.fault("*", "500", times=5, location=1002)
        self.assertEqual(self.get("/whoami", 1001).status, 200)
        self.assertEqual(self.get("/products", 1002).status, 500)

    def test_hang(self):
        self.emu.fault("/whoami", "hang", seconds=1.5)
        with self.assertRaises((socket.timeout, TimeoutError,
                                urllib.error.URLError)):
            self.get("/whoami", timeout=0.5)
        self.assertEqual(self.get("/whoami").status, 200)

    def test_truncated_and_bad_json(self):
        self.emu.fault("/reporting/products", "truncate")
        host, port = self.emu.url[7:].split(":")
        c = http.client.HTTPConnection(host, int(port), timeout=5)
        self.addCleanup(c.close)
        c.request("GET", "/reporting/products",
                  headers={"Authorization": basic(self.key[1001])})
        r = c.getresponse()
        with self.assertRaises(http.client.IncompleteRead):
            r.read()
        self.emu.fault("/reporting/products", "badjson")
        a = self.get("/reporting/products")
        self.assertEqual(a.status, 200)
        self.assertTrue(a.raw.endswith(b"<html>oops"))
        with self.assertRaises(ValueError):
            a.json

    def test_latency(self):
        self.emu.configure(latency=0.3)
        t = time.monotonic()
        self.assertEqual(self.get("/whoami").status, 200)
        self.assertGreaterEqual(time.monotonic() - t, 0.3)
        self.emu.configure(latency=0.0)
        t = time.monotonic()
        self.get("/whoami")
        self.assertLess(time.monotonic() - t, 0.3)

    def test_scripted_429(self):
        self.emu.fault("/whoami", "429")
        a = self.get("/whoami")
        self.assertEqual((a.status, a.headers["Retry-After"]), (429, "1"))
        self.assertIn("only 200 per minute", a.json["Message"])


class RequestLog(EmuCase):
    def test_every_request_is_logged(self):
        self.get("/whoami", 1002)
        self.get("/Reporting/Transactions", TransactionId="5001",
                 IncludeDetail="true")
        self.get("/whoami", auth=basic("bad"))
        log = self.emu.log
        self.assertEqual([(e["route"], e["location"], e["status"])
                          for e in log],
                         [("/whoami", 1002, 200),
                          ("/reporting/transactions", 1001, 200),
                          ("/whoami", None, 401)])
        self.assertEqual(log[1]["path"], "/Reporting/Transactions")
        self.assertEqual(log[1]["query"], {"TransactionId": ["5001"],
                                           "IncludeDetail": ["true"]})
        self.assertGreater(log[1]["bytes"], 100)
        self.assertEqual(len(self.emu.requests(location=1001)), 1)
        self.emu.clear_log()
        self.assertEqual(self.emu.log, [])


class Lag(EmuCase):
    def test_changes_show_late_with_their_own_time(self):
        self.emu.set_clock(None)
        self.emu.configure(lag_s=1.0)
        made = int(time.time())
        cid = self.emu.add_customer({"firstName": "Late", "lastName": "Comer",
                                     "emailAddress": "late@example.com",
                                     "lspId": 100, "locations": [1001]})
        self.emu.update_customer(1, firstName="Anna")
        win = {"fromLastModifiedDateUTC": iso(made - 5),
               "toLastModifiedDateUTC": iso(made + 5)}
        self.assertEqual(self.ok("/customer/customers", **win), [])
        time.sleep(1.2)
        rows = self.by_id(self.ok("/customer/customers", **win),
                          "customerId")
        self.assertEqual(sorted(rows), [1, cid])
        self.assertEqual(rows[1]["firstName"], "Anna")
        stamp = rows[cid]["lastModifiedDateUTC"]
        self.assertIn(stamp, (iso(made), iso(made + 1)))

    def test_settle_applies_pending_changes(self):
        self.emu.configure(lag_s=3600)
        self.emu.set_clock(NOW + 10)
        self.emu.set_price(1, 1001, rec=99.0)
        p = self.by_id(self.ok("/reporting/products"), "productId")[1]
        self.assertEqual(p["recPrice"], 35.0)
        self.emu.settle()
        p = self.by_id(self.ok("/reporting/products"), "productId")[1]
        self.assertEqual((p["recPrice"], p["lastModifiedDateUtc"]),
                         (99.0, iso(NOW + 10)))


class DatasetControl(EmuCase):
    def post(self, what, doc):
        req = urllib.request.Request(self.emu.url + "/_emu/" + what,
                                     data=json.dumps(doc).encode(),
                                     method="POST")
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def test_change_between_runs_over_http(self):
        out = self.post("change", {"ops": [
            {"op": "set_clock", "args": [NOW + 500]},
            {"op": "add_transaction", "args": [
                {"locationId": 1001, "customerId": 2},
                [{"productId": 1, "inventoryId": 101, "quantity": 1,
                  "unitPrice": 35.0}]]},
            {"op": "merge_customer", "args": [3, 2]}]})
        tid = out["ids"][0]
        rows = self.txs(FromLastModifiedDateUTC=iso(NOW + 400),
                        ToLastModifiedDateUTC=iso(NOW + 600),
                        IncludeDetail="true")
        self.assertEqual([t["transactionId"] for t in rows], [tid])
        self.assertEqual(rows[0]["items"][0]["transactionItemId"], 14)
        self.assertEqual(rows[0]["total"], 40.25)
        c = self.by_id(self.ok("/customer/customers", customerID="3"),
                       "customerId")[3]
        self.assertEqual(c["mergedIntoCustomerId"], 2)
        with self.assertRaises(urllib.error.HTTPError):
            self.post("change", {"ops": [{"op": "load"}]})

    def test_load_replaces_the_dataset(self):
        doc = dutchie_data.small(NOW)
        doc["locations"] = doc["locations"][:1]
        old_key = self.key[1002]
        self.post("load", {"data": doc})
        self.assertEqual(self.get("/whoami", auth=basic(old_key)).status,
                         401)
        self.assertEqual(self.ok("/whoami")["locationId"], 1001)
        with urllib.request.urlopen(self.emu.url + "/_emu/keys") as r:
            self.assertEqual(list(json.loads(r.read())), ["1001"])
        self.post("config", {"whoami_case": "pascal"})
        self.assertIn("LocationId", self.ok("/whoami"))
        self.post("fault", {"route": "/whoami", "kind": "503"})
        self.assertEqual(self.get("/whoami").status, 503)
        with urllib.request.urlopen(self.emu.url + "/_emu/stats") as r:
            st = json.loads(r.read())
        self.assertEqual(st["by_status"], {"401": 1, "200": 2, "503": 1})


class SmallFacts(EmuCase):
    """SMALL_FACTS (what the Dutchie source's tests assert against)
    says what the served data says."""

    def customers(self):
        out = {}
        win = {"fromLastModifiedDateUTC": iso(NOW - 250 * DAY),
               "toLastModifiedDateUTC": iso(NOW - 170 * DAY)}
        for lid in F["locations"]:
            for p in ({"includeAnonymous": "true"}, win):
                for c in self.ok("/customer/customers", lid, **p):
                    out.setdefault(c["customerId"], (c, set()))[1].add(lid)
        return out

    def test_customer_facts(self):
        c = self.customers()
        self.assertEqual(c[F["shared_customer"]][1], {1001, 1002})
        a, b = F["same_email_customers"]
        self.assertEqual(c[a][0]["emailAddress"].lower(),
                         c[b][0]["emailAddress"].lower())
        self.assertNotEqual(c[a][1], c[b][1])
        self.assertEqual(c[F["no_email_customer"]][0]["emailAddress"], "")
        self.assertTrue(c[F["anonymous_customer"]][0]["isAnonymous"])
        self.assertEqual(c[F["merged_customer"]][0]
                         ["mergedIntoCustomerId"], F["merge_survivor"])
        self.assertEqual(c[F["medical_customer"]][0]["customerType"],
                         "Medical")
        opted = [i for i, (x, _) in c.items() if x["optedIntoMarketing"]]
        self.assertEqual(opted, [F["opted_in_customer"]])
        old = c[F["old_customer"]][0]["lastModifiedDateUTC"]
        self.assertEqual(old, iso(NOW - 200 * DAY))

    def test_product_and_transaction_facts(self):
        carried = {lid: self.by_id(self.ok("/reporting/products", lid),
                                   "productId") for lid in F["locations"]}
        self.assertEqual([lid for lid in F["locations"]
                          if F["only_at_1003"] in carried[lid]], [1003])
        self.assertIsNone(carried[1001][F["no_image_product"]]["imageUrl"])
        self.assertEqual(self.ok("/whoami", F["other_location"])["lspId"],
                         F["other_lsp"])
        t = {}
        for lid in F["locations"]:
            t.update(self.by_id(self.txs(lid), "transactionId"))
        self.assertEqual(t[F["return"]]["returnOnTransactionId"],
                         F["returned_original"])
        self.assertTrue(t[F["void"]]["isVoid"])
        self.assertEqual(t[F["anonymous_transaction"]]["customerId"],
                         F["anonymous_customer"])
        self.assertTrue(t[F["medical_transaction"]]["isMedical"])
        self.assertEqual(sorted({x["transactionType"] for x in t.values()}),
                         ["Retail", "Transfer", "WholesaleOrder"])


class Figures(EmuCase):
    def test_stats_count_per_route_location_and_peak(self):
        self.emu.configure(window_s=5)
        for _ in range(3):
            self.get("/whoami", 1001)
        self.get("/reporting/products", 1002)
        self.get("/whoami", auth=basic("bad"))
        st = self.emu.stats()
        self.assertEqual(st["by_location"], {"1001": 3, "1002": 1,
                                             "None": 1})
        self.assertEqual(st["by_route"], {"/whoami": 4,
                                          "/reporting/products": 1})
        self.assertEqual(st["peak"], {"1001 /whoami": 3,
                                      "1002 /reporting/products": 1})
        self.assertGreater(st["bytes"], 1000)
        self.emu.reset_limits()
        self.assertEqual(self.emu.stats()["peak"], {})

    def test_min_requests_counts_windows_and_pages(self):
        # 90 days of transactions: 3 windows of 31 days. Customers over
        # 100 days: windows [-100 d, -10 d] and [-10 d, now]; at 1001
        # the old one (-200 d) and the anonymous one are out, the other
        # four (-19 d .. -15 d) are in the first window: in pages of 2,
        # two full pages and an empty one; the second window is one
        # empty page.
        m = self.emu.min_requests(NOW - 100 * DAY, NOW - 90 * DAY,
                                  page_size=2)
        self.assertEqual(m["per_location"][1001], 3 + 3 + 1 + 3)
        m = self.emu.min_requests(NOW - 100 * DAY, NOW - 90 * DAY)
        self.assertEqual(m["per_location"][1001], 3 + 3 + 1 + 1)
        self.assertEqual(m["total"], sum(m["per_location"].values()))
        url = "%s/_emu/min_requests?customers_since=%d&" \
            "transactions_since=%d" % (self.emu.url, NOW - 100 * DAY,
                                      NOW - 90 * DAY)
        with urllib.request.urlopen(url) as r:
            self.assertEqual(json.loads(r.read())["total"], m["total"])
        # 180 days of customers are two full windows up to NOW; an
        # "until" 60 s later adds a third, short one per location (one
        # empty page each).
        base = "%s/_emu/min_requests?customers_since=%d&" \
            "transactions_since=%d&until=%%d" % (
                self.emu.url, NOW - 180 * DAY, NOW - 90 * DAY)
        with urllib.request.urlopen(base % NOW) as r:
            at_now = json.loads(r.read())
        with urllib.request.urlopen(base % (NOW + 60)) as r:
            later = json.loads(r.read())
        self.assertEqual(later["total"],
                         at_now["total"] + len(at_now["per_location"]))


class Bench(unittest.TestCase):
    def test_bench_scale_is_fast_and_complete(self):
        t = time.monotonic()
        doc = dutchie_data.bench(NOW)
        emu = dutchie_emulator.DutchieEmulator(data=doc, copy=False)
        took = time.monotonic() - t
        self.assertLess(took, 30)
        self.assertEqual(len(doc["locations"]), 3)
        self.assertEqual(len(doc["products"]), 5000)
        self.assertEqual(len(doc["customers"]), 20000)
        sales = [x for x in doc["transactions"] if not x.get("isReturn")]
        self.assertEqual(len(sales), 100000)
        self.assertGreater(len(doc["transactions"]), 100000)
        loc = emu.locs[1001]
        inv = emu.answer("ep_reporting_inventory", loc, {})
        self.assertTrue(inv)
        self.assertTrue(all(r["quantityAvailable"] > 0 for r in inv))
        anon = [c for c in doc["customers"] if c.get("isAnonymous")]
        self.assertEqual(len(anon), 2000)

    def test_standalone_mode(self):
        with tempfile.TemporaryDirectory() as d:
            keys = os.path.join(d, "keys")
            p = subprocess.Popen(
                [sys.executable, os.path.join(EMU_DIR,
                                              "dutchie_emulator.py"),
                 "--bench", "2,20,200,50", "--keys-out", keys,
                 "--scale-windows", "0.5"],
                stdout=subprocess.PIPE, text=True)
            try:
                line = p.stdout.readline().strip()
                self.assertRegex(line,
                                 r"^listening on http://127\.0\.0\.1:\d+$")
                url = line.split()[-1]
                with open(keys) as f:
                    ks = [x for x in f.read().splitlines()
                          if x and not x.startswith("#")]
                self.assertEqual(len(ks), 2)
                req = urllib.request.Request(url + "/whoami")
                req.add_header("Authorization", basic(ks[1]))
                with urllib.request.urlopen(req, timeout=10) as r:
                    self.assertEqual(json.loads(r.read())["locationId"],
                                     1002)
                with urllib.request.urlopen(url + "/_emu/stats") as r:
                    self.assertEqual(json.loads(r.read())["requests"], 1)
            finally:
                p.terminate()
                p.wait(10)
                p.stdout.close()


if __name__ == "__main__":
    unittest.main()
