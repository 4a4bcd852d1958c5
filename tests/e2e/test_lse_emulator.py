"""The Lightspeed eCom emulator (tests/emulators/lse_emulator.py) keeps
the contract its docstring states: source_lse.c is tested against it, so
a wrong emulator would let a wrong source pass.

Standard library only; runs without POSFEED_BIN:
    python3 -m unittest tests/e2e/test_lse_emulator.py
"""
import base64
import email.utils
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
EMU_DIR = os.path.join(os.path.dirname(HERE), "emulators")
sys.path.insert(0, EMU_DIR)

import lse_data  # noqa: E402
import lse_emulator  # noqa: E402

AUTH = "Basic " + base64.b64encode(b"key:secret").decode()
DAY = 86400
# A fixed "now" so the shop's times (and their DST offsets) are known.
NOW = 1795000000            # 2026-11-19, winter time in Amsterdam


class Answer:
    def __init__(self, status, headers, raw):
        self.status, self.headers, self.raw = status, headers, raw

    @property
    def json(self):
        return json.loads(self.raw)


class EmuCase(unittest.TestCase):
    """An emulator serving the small shop, restarted per test."""

    def setUp(self):
        self.emu = lse_emulator.LseEmulator(
            data=lse_data.small_shop(NOW))
        self.emu.start()
        self.addCleanup(self.emu.stop)

    def get(self, path, auth=AUTH, timeout=10):
        req = urllib.request.Request(self.emu.url + path)
        if auth is not None:
            req.add_header("Authorization", auth)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return Answer(r.status, r.headers, r.read())
        except urllib.error.HTTPError as e:
            return Answer(e.code, e.headers, e.read())

    def ok(self, path):
        a = self.get(path)
        self.assertEqual(a.status, 200, a.raw)
        return a.json

    def ids(self, path, key):
        return [r["id"] for r in self.ok(path)[key]]

    def assert_error(self, a, status, path, message=None):
        self.assertEqual(a.status, status, a.raw)
        err = a.json["error"]
        self.assertEqual(err["code"], status)
        self.assertEqual(err["method"], "GET")
        self.assertEqual(err["request"], path)
        if message is not None:
            self.assertEqual(err["message"], message)


class AuthAndRouting(EmuCase):
    def test_missing_or_wrong_credentials_are_401_and_not_counted(self):
        a = self.get("/nl/products.json", auth=None)
        self.assert_error(a, 401, "/nl/products.json")
        self.assertIsNone(a.headers.get("X-RateLimit-Remaining"))
        bad = "Basic " + base64.b64encode(b"key:wrong").decode()
        self.assert_error(self.get("/nl/shop.json", auth=bad), 401,
                          "/nl/shop.json")
        a = self.get("/nl/shop.json")
        self.assertEqual(a.headers["X-RateLimit-Remaining"],
                         "299/2999/11999")

    def test_unknown_and_inactive_languages_are_404(self):
        for lang in ("xx", "de"):
            path = "/%s/products.json" % lang
            self.assert_error(self.get(path), 404, path,
                              "Unknown or inactive language")
        langs = self.ok("/nl/languages.json")["languages"]
        self.assertEqual([(x["code"], x["isActive"]) for x in langs],
                         [("nl", True), ("en", True), ("de", False)])

    def test_text_is_in_the_requested_language(self):
        self.assertEqual(self.ok("/nl/products/1.json")["product"]
                         ["title"], "Katoenen T-shirt")
        en = self.ok("/en/products/1.json")["product"]
        self.assertEqual(en["title"], "Cotton T-shirt")
        self.assertEqual(en["url"], "cotton-t-shirt")
        self.assertIn("/en/", en["brand"]["resource"]["link"])

    def test_unknown_resource_id_and_format_are_404_error_bodies(self):
        for path in ("/nl/products/999.json", "/nl/nothing.json",
                     "/nl/products.xml", "/nl/orders/999/products.json"):
            self.assert_error(self.get(path), 404, path)

    def test_kept_alive_connection_is_not_slowed_by_nagle(self):
        # Headers and body are two writes: with Nagle's algorithm on,
        # each answer waited ~40 ms for the client's delayed ACK, and
        # the bench measured the emulator instead of the rate limits.
        host, port = self.emu.url[7:].split(":")
        c = http.client.HTTPConnection(host, int(port), timeout=5)
        self.addCleanup(c.close)
        t = time.monotonic()
        for _ in range(100):
            c.request("GET", "/nl/orders/6/products.json",
                      headers={"Authorization": AUTH})
            r = c.getresponse()
            r.read()
            self.assertEqual(r.status, 200)
        self.assertLess(time.monotonic() - t, 2.0)

    def test_only_get_is_served(self):
        req = urllib.request.Request(self.emu.url + "/nl/products.json",
                                     data=b"{}", method="POST")
        req.add_header("Authorization", AUTH)
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(req, timeout=5)
        self.assertEqual(cm.exception.code, 405)


class Envelopes(EmuCase):
    def test_singular_plural_and_count(self):
        one = self.ok("/nl/products/3.json")
        self.assertEqual(list(one), ["product"])
        self.assertEqual(one["product"]["id"], 3)
        many = self.ok("/nl/products.json")
        self.assertEqual(list(many), ["products"])
        self.assertEqual([p["id"] for p in many["products"]],
                         list(range(1, 11)))
        self.assertEqual(self.ok("/nl/products/count.json"),
                         {"count": 10})
        self.assertEqual(self.ok("/nl/variants/count.json?product=1"),
                         {"count": 6})
        for path, key in (("/nl/categories/products.json",
                           "categoriesProducts"),
                          ("/nl/tags/products.json", "tagsProducts"),
                          ("/nl/orders/6/products.json", "orderProducts"),
                          ("/nl/products/1/images.json", "productImages"),
                          ("/nl/products/1/filtervalues.json",
                           "productFiltervalues"),
                          ("/nl/products/1/attributes.json",
                           "productAttributes"),
                          ("/nl/filters/1/values.json", "filterValues"),
                          ("/nl/blogs/articles.json", "blogsArticles"),
                          ("/nl/types/attributes.json", "typesAttributes"),
                          ("/nl/shipments/1/products.json",
                           "shipmentProducts")):
            self.assertEqual(list(self.ok(path)), [key], path)
        self.assertEqual(list(self.ok("/nl/orders/6/products/7.json")),
                         ["orderProduct"])

    def test_references_and_false(self):
        p7 = self.ok("/nl/products/7.json")["product"]
        for k in ("brand", "supplier", "type", "image"):
            self.assertIs(p7[k], False, k)
        p1 = self.ok("/nl/products/1.json")["product"]
        self.assertEqual(p1["brand"]["resource"]["id"], 1)
        self.assertEqual(p1["brand"]["resource"]["url"], "brands/1")
        self.assertTrue(p1["brand"]["resource"]["link"].endswith(
            "/nl/brands/1.json"))
        self.assertIs(p1["variants"]["resource"]["id"], False)
        cats = {c["id"]: c for c in self.ok("/nl/categories.json")
                ["categories"]}
        self.assertIs(cats[1]["parent"], False)
        self.assertEqual(cats[2]["parent"]["resource"]["id"], 1)
        self.assertEqual(cats[2]["path"], ["1"])
        self.assertFalse(cats[6]["isVisible"])
        guest = self.ok("/nl/orders/4.json")["order"]
        self.assertIs(guest["customer"], False)
        self.assertIs(guest["referralId"], False)

    def test_quirks_from_the_dataset_are_served_verbatim(self):
        v = self.ok("/nl/variants/901.json")["variant"]
        self.assertEqual(v["oldPriceIncl"], "")
        self.assertEqual(v["unitPrice"], "")
        self.assertIs(v["stockSold"], True)
        self.assertIsNone(v["hs"])
        self.assertIsNone(v["taxType"])
        untracked = self.ok("/nl/variants/201.json")["variant"]
        self.assertEqual(untracked["stockTracking"], "disabled")
        self.assertIs(untracked["stockMinimum"], False)

    def test_images_ordered_and_first_is_the_product_image(self):
        ims = self.ok("/nl/products/1/images.json")["productImages"]
        self.assertEqual([i["sortOrder"] for i in ims], [1, 2, 3])
        self.assertEqual([i["id"] for i in ims], [3, 2, 1])
        src = ims[0]["src"]
        self.assertTrue(src.startswith(
            "https://cdn.webshopapp.com/shops/4711/files/9003/"), src)
        self.assertEqual(self.ok("/nl/products/1.json")["product"]
                         ["image"]["src"], src)

    def test_variant_options_and_titles(self):
        v = self.ok("/en/variants/104.json")["variant"]
        self.assertEqual(v["options"],
                         [{"id": 1, "title": "Color",
                           "value": {"id": 12, "title": "Blue"}},
                          {"id": 2, "title": "Size",
                           "value": {"id": 30, "title": "S"}}])
        self.assertEqual(v["title"], "Color: Blue, Size: S")
        self.assertEqual(self.ok("/nl/variants/201.json")["variant"]
                         ["title"], "Default")

    def test_times_carry_the_shops_offset_across_dst(self):
        winter = self.ok("/nl/customers/1.json")["customer"]["createdAt"]
        self.assertTrue(winter.endswith("+01:00"), winter)
        summer = self.ok("/nl/products/1.json")["product"]["createdAt"]
        self.assertTrue(summer.endswith("+02:00"), summer)
        self.assertEqual(lse_emulator.parse_when(summer),
                         NOW - 200 * DAY)

    def test_ratelimit_endpoint(self):
        self.get("/nl/shop.json")
        r = self.ok("/nl/account/ratelimit.json")["accountRatelimit"]
        self.assertEqual(r["limit5Min"]["limit"], 300)
        self.assertEqual(r["limit5Min"]["remaining"], 298)
        self.assertEqual(r["limitDay"]["remaining"], 11998)


class Listing(EmuCase):
    def setUp(self):
        super().setUp()
        shop = lse_data.small_shop(NOW)
        shop["customers"] = [
            {"id": i, "email": "c%d@x.test" % i,
             "createdAt": NOW - 1000 + i, "updatedAt": NOW - 1000 + i}
            for i in range(1, 601)]
        self.emu.load(shop)

    def test_limit_is_capped_at_250_and_defaults_to_50(self):
        self.assertEqual(len(self.ids("/nl/customers.json?limit=1000",
                                      "customers")), 250)
        self.assertEqual(len(self.ids("/nl/customers.json", "customers")),
                         50)
        self.assertEqual(len(self.ids("/nl/customers.json?limit=0",
                                      "customers")), 50)

    def test_pages_cover_the_list_once_in_id_order(self):
        seen = []
        page = 1
        while True:
            got = self.ids("/nl/customers.json?limit=250&page=%d" % page,
                           "customers")
            seen += got
            if len(got) < 250:
                break
            page += 1
        self.assertEqual(seen, list(range(1, 601)))
        self.assertEqual(self.ids("/nl/customers.json?page=99",
                                  "customers"), [])

    def test_since_id(self):
        got = self.ids("/nl/customers.json?since_id=590&limit=250",
                       "customers")
        self.assertEqual(got, list(range(591, 601)))
        self.assertEqual(self.ok("/nl/customers/count.json?since_id=590"),
                         {"count": 10})

    def test_time_filters_inclusive_utc_or_offset(self):
        t = NOW - 1000 + 500        # customer 500's updatedAt
        utc = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))
        got = self.ids("/nl/customers.json?limit=250&updated_at_min=" +
                       urllib.request.quote(utc), "customers")
        self.assertEqual(got, list(range(500, 601)))
        local = time.strftime("%Y-%m-%dT%H:%M:%S+01:00",
                              time.gmtime(t + 3600))
        got = self.ids("/nl/customers.json?limit=250&created_at_max=" +
                       urllib.request.quote(local) + "&since_id=495",
                       "customers")
        self.assertEqual(got, list(range(496, 501)))
        path = "/nl/customers.json"
        a = self.get(path + "?updated_at_min=yesterday")
        self.assert_error(a, 400, path)

    def test_fields_and_filters_and_unknown_params(self):
        v = self.ok("/nl/variants.json?product=8&fields=id,stockLevel"
                    "&bogus=1")["variants"]
        self.assertEqual(v, [{"id": 801, "stockLevel": 4},
                             {"id": 802, "stockLevel": 3},
                             {"id": 803, "stockLevel": 2}])
        self.assertEqual(self.ids("/nl/categories/products.json?category=4",
                                  "categoriesProducts"), [3, 4, 6, 8, 11])
        self.assertEqual(self.ids("/nl/returns.json?order=7", "returns"),
                         [2])
        self.assertEqual(self.ids("/nl/reviews.json?product=1",
                                  "reviews"), [1, 2, 3])
        self.assertEqual(self.ids("/nl/shipments.json?order=6",
                                  "shipments"), [1])
        self.assertEqual(self.ids("/nl/orders.json?status=cancelled",
                                  "orders"), [9])

    def test_deep_pages_can_be_refused(self):
        self.emu.configure(deep_page_rows=500)
        path = "/nl/customers.json"
        self.assertEqual(self.get(path + "?limit=250&page=2").status, 200)
        self.assert_error(self.get(path + "?limit=250&page=3"), 400, path)
        self.assertEqual(len(self.ids(path + "?limit=250&since_id=500",
                                      "customers")), 100)


class RateLimits(EmuCase):
    def test_headers_are_slash_triplets_on_every_answer(self):
        a = self.get("/nl/shop.json")
        self.assertEqual(a.headers["X-RateLimit-Limit"], "300/3000/12000")
        self.assertEqual(a.headers["X-RateLimit-Remaining"],
                         "299/2999/11999")
        self.assertEqual(a.headers["X-RateLimit-Reset"], "300/3600/86400")
        a = self.get("/nl/products/999.json")
        self.assertEqual(a.headers["X-RateLimit-Remaining"],
                         "298/2998/11998")

    def test_exhausted_window_answers_429_with_retry_after(self):
        self.emu.configure(limits=(3, 100, 1000), windows=(1.0, 60, 600))
        for i in range(3):
            self.assertEqual(self.get("/nl/shop.json").status, 200)
        a = self.get("/nl/shop.json")
        self.assert_error(a, 429, "/nl/shop.json")
        self.assertEqual(a.headers["Retry-After"], "1")
        self.assertEqual(a.headers["X-RateLimit-Remaining"], "0/97/997")
        self.assertEqual(len(self.emu.requests(status=429)), 1)
        time.sleep(1.05)
        a = self.get("/nl/shop.json")
        self.assertEqual(a.status, 200)
        # The 429 was not counted.
        self.assertEqual(a.headers["X-RateLimit-Remaining"], "2/96/996")

    def test_the_longest_exhausted_window_decides_and_date_form(self):
        self.emu.configure(limits=(100, 2, 1000), windows=(1, 30, 600),
                           retry_after="date")
        self.get("/nl/shop.json")
        self.get("/nl/shop.json")
        a = self.get("/nl/shop.json")
        self.assertEqual(a.status, 429)
        when = email.utils.parsedate_to_datetime(a.headers["Retry-After"])
        wait = when.timestamp() - time.time()
        self.assertTrue(28 <= wait <= 32, wait)
        self.assertEqual(a.headers["X-RateLimit-Reset"].split("/")[1],
                         "30")

    def test_scaled_windows_reset(self):
        self.emu.configure(limits=(2, 100, 1000), windows=(0.3, 36, 864))
        self.get("/nl/shop.json")
        self.get("/nl/shop.json")
        self.assertEqual(self.get("/nl/shop.json").status, 429)
        time.sleep(0.35)
        self.assertEqual(self.get("/nl/shop.json").status, 200)
        self.emu.reset_limits()
        self.assertEqual(self.get("/nl/shop.json").headers[
            "X-RateLimit-Remaining"], "1/99/999")


class Faults(EmuCase):
    def test_5xx_run_then_success_with_skip(self):
        self.emu.fault(r"/orders\.json", "503", count=2, skip=1)
        seq = [self.get("/nl/orders.json").status for _ in range(4)]
        self.assertEqual(seq, [200, 503, 503, 200])
        self.assertEqual(self.get("/nl/products.json").status, 200)
        a = self.get("/nl/orders.json")
        self.assertEqual(a.status, 200)
        self.assertEqual([e["fault"] for e in
                          self.emu.requests(r"/orders\.json")],
                         [None, "503", "503", None, None])

    def test_transient_404_on_orders_by_probability(self):
        self.emu.fault(r"/orders/\d+/products", "404", count=None,
                       probability=0.5)
        got = [self.get("/nl/orders/6/products.json").status
               for _ in range(40)]
        self.assertIn(404, got)
        self.assertIn(200, got)
        self.assertEqual(set(got), {200, 404})
        self.assertEqual(self.get("/nl/orders.json").status, 200)
        self.emu.clear_faults()
        self.assertEqual(self.get("/nl/orders/6/products.json").status,
                         200)

    def test_scripted_429(self):
        self.emu.fault("shop", "429")
        a = self.get("/nl/shop.json")
        self.assertEqual(a.status, 429)
        self.assertEqual(a.headers["Retry-After"], "1")
        self.assertEqual(self.get("/nl/shop.json").status, 200)

    def test_hang_outlasts_the_client_timeout(self):
        self.emu.configure(hang_s=1.0)
        self.emu.fault("products", "hang")
        t = time.monotonic()
        with self.assertRaises(OSError):
            self.get("/nl/products.json", timeout=0.3)
        self.assertLess(time.monotonic() - t, 0.9)
        time.sleep(0.8)
        self.assertEqual(self.get("/nl/products.json").status, 200)

    def raw_body(self, path):
        host, port = self.emu.url[7:].split(":")
        c = http.client.HTTPConnection(host, int(port), timeout=5)
        c.request("GET", path, headers={"Authorization": AUTH})
        r = c.getresponse()
        try:
            return r.status, r.read()
        finally:
            c.close()

    def test_truncated_body(self):
        self.emu.fault("products", "truncate")
        with self.assertRaises(http.client.IncompleteRead):
            self.raw_body("/nl/products.json")

    def test_invalid_utf8_and_malformed_json(self):
        self.emu.fault("products", "badutf8")
        status, body = self.raw_body("/nl/products.json")
        self.assertEqual(status, 200)
        self.assertIn(b"\xff\xfe", body)
        with self.assertRaises(UnicodeDecodeError):
            body.decode("utf-8")
        self.emu.fault("products", "badjson")
        status, body = self.raw_body("/nl/products.json")
        self.assertEqual(status, 200)
        with self.assertRaises(ValueError):
            json.loads(body)

    def test_unknown_fault_kind_is_refused(self):
        with self.assertRaises(ValueError):
            self.emu.fault("x", "explode")


class LogAndMutations(EmuCase):
    def test_request_log(self):
        self.get("/nl/variants.json?product=1&limit=2")
        self.get("/xx/shop.json")
        log = self.emu.log
        self.assertEqual([(e["method"], e["path"], e["status"])
                          for e in log],
                         [("GET", "/nl/variants.json", 200),
                          ("GET", "/xx/shop.json", 404)])
        self.assertEqual(log[0]["query"], {"product": ["1"],
                                           "limit": ["2"]})
        self.assertEqual(log[0]["raw_query"], "product=1&limit=2")
        self.emu.clear_log()
        self.assertEqual(self.emu.log, [])

    def changed_since(self, what, t, key=None):
        q = urllib.request.quote(time.strftime("%Y-%m-%d %H:%M:%S",
                                               time.gmtime(t)))
        return self.ids("/nl/%s.json?limit=250&updated_at_min=%s"
                        % (what, q), key or what)

    def test_changes_bump_updated_at_and_only_what_changed(self):
        t0 = int(time.time())
        self.assertEqual(self.changed_since("variants", t0), [])
        self.emu.set_price(601, 29.0, old=39.5)
        self.emu.set_stock(802, 0)
        self.emu.hide_product(6)
        self.assertEqual(self.changed_since("variants", t0), [601, 802])
        self.assertEqual(self.changed_since("products", t0), [6])
        v = self.ok("/nl/variants/601.json")["variant"]
        self.assertEqual((v["priceIncl"], v["oldPriceIncl"]), (29.0, 39.5))
        p = self.ok("/nl/products/6.json")["product"]
        self.assertEqual((p["isVisible"], p["visibility"]),
                         (False, "hidden"))

    def test_delete_product_takes_its_variants_and_links(self):
        self.emu.delete_product(8)
        self.assert_error(self.get("/nl/products/8.json"), 404,
                          "/nl/products/8.json", "Product not found")
        self.assertEqual(self.ids("/nl/variants.json?product=8",
                                  "variants"), [])
        self.assertEqual(self.ids("/nl/categories/products.json?product=8",
                                  "categoriesProducts"), [])
        self.assertEqual(self.ids("/nl/reviews.json?product=8",
                                  "reviews"), [])
        lines = self.ok("/nl/orders/6/products.json")["orderProducts"]
        self.assertIs(lines[0]["variant"], False)
        self.assertEqual(lines[0]["product"]["resource"]["id"], 8)
        self.assertNotIn(8, self.ids("/nl/products.json?fields=id",
                                     "products"))

    def test_orders_returns_reviews_pages(self):
        t0 = int(time.time())
        oid = self.emu.add_order(
            {"status": "processing_awaiting_shipment", "customer": 1,
             "email": "anna@example.nl", "priceIncl": 24.95},
            [{"product": 1, "variant": 101, "quantityOrdered": 1,
              "priceIncl": 24.95}])
        self.assertEqual(oid, 12)
        self.assertEqual(self.changed_since("orders", t0), [12])
        self.assertEqual(self.ok("/nl/orders/12.json")["order"]["number"],
                         "ORD00012")
        lines = self.ids("/nl/orders/12/products.json", "orderProducts")
        self.assertEqual(len(lines), 1)
        self.emu.set_order_status(3, "completed_shipped",
                                  shipmentStatus="shipped")
        self.assertEqual(self.changed_since("orders", t0), [3, 12])
        rid = self.emu.add_return(12, [(lines[0], 1)], 24.95)
        r = self.ok("/nl/returns/%d.json" % rid)["return"]
        self.assertEqual(r["order"]["resource"]["id"], 12)
        self.assertEqual(r["orderId"], 12)
        self.assertEqual(r["priceIncl"], 24.95)
        self.assertEqual(self.changed_since("returns", t0), [rid])
        rv = self.emu.add_review(3, 4, visible=False)
        self.assertEqual(self.changed_since("reviews", t0), [rv])
        self.assertFalse(self.ok("/nl/reviews/%d.json" % rv)["review"]
                         ["isVisible"])
        pg = self.emu.add_page("Returns policy", "<p>30 days</p>")
        self.assertEqual(self.changed_since("textpages", t0), [pg])
        art = self.emu.add_page("New in", "<p>.</p>", kind="article",
                                blog=1, author="Eva")
        a = self.ok("/nl/blogs/articles/%d.json" % art)["blogsArticle"]
        self.assertEqual((a["url"], a["author"]), ("new-in", "Eva"))
        self.assertEqual(self.changed_since("blogs/articles", t0,
                                            "blogsArticles"), [art])

    def test_fixed_clock(self):
        self.emu.set_clock(NOW + 100)
        self.emu.set_stock(101, 1)
        self.assertEqual(self.changed_since("variants", NOW + 100), [101])
        self.assertEqual(self.changed_since("variants", NOW + 101), [])


class Datasets(unittest.TestCase):
    def test_small_shop_covers_what_the_e2e_tests_need(self):
        d = lse_data.small_shop(NOW)
        self.assertEqual(d, lse_data.small_shop(NOW))     # deterministic
        self.assertEqual({o["status"] for o in d["orders"]},
                         {"on_hold", "processing_awaiting_payment",
                          "processing_awaiting_shipment",
                          "processing_awaiting_pickup",
                          "processing_ready_for_pickup", "completed",
                          "completed_shipped", "completed_picked_up",
                          "cancelled"})
        self.assertTrue(any(o["customer"] is None for o in d["orders"]))
        self.assertTrue(d["returns"] and d["shipments"])
        self.assertEqual({v["stockTracking"] for v in d["variants"]},
                         {"enabled", "disabled", "indicator"})
        by_p = {}
        for v in d["variants"]:
            by_p.setdefault(v["product"], []).append(v["priceIncl"])
        self.assertTrue(any(all(x == 0 for x in ps)
                            for ps in by_p.values()))
        self.assertTrue(any(not c.get("isVisible", True)
                            for c in d["categories"]))
        self.assertEqual({r["isVisible"] for r in d["reviews"]},
                         {True, False})
        self.assertEqual({c["newsletterSubscribed"]
                          for c in d["customers"]}, {True, False})
        self.assertTrue(d["textpages"] and d["blogsArticles"])

    def test_bench_shop_streams_the_requested_sizes(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "bench.json")
            counts = lse_data.bench_shop(path, products=200, variants=600,
                                         orders=300, customers=50,
                                         now=NOW)
            with open(path, encoding="utf-8") as f:
                d = json.load(f)
        self.assertEqual((len(d["products"]), len(d["variants"]),
                          len(d["orders"])), (200, 600, 300))
        self.assertEqual(counts["variants"], 600)
        created = [o["createdAt"] for o in d["orders"]]
        self.assertGreater(min(created), NOW - 366 * DAY)
        self.assertLessEqual(max(created), NOW)
        self.assertEqual(len({v["id"] for v in d["variants"]}), 600)


class Subprocess(unittest.TestCase):
    """The __main__ the bench runs, and the /_emu/ control API."""

    def control(self, url, what, doc=None):
        req = urllib.request.Request(
            url + "/_emu/" + what,
            data=json.dumps(doc).encode() if doc is not None else None)
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def test_serves_a_file_with_scaled_windows(self):
        with tempfile.TemporaryDirectory() as tmp:
            data = os.path.join(tmp, "shop.json")
            with open(data, "w", encoding="utf-8") as f:
                json.dump(lse_data.small_shop(NOW), f)
            p = subprocess.Popen(
                [sys.executable, os.path.join(EMU_DIR, "lse_emulator.py"),
                 "--data", data, "--scale-windows", "0.01",
                 "--limits", "2/3000/12000"],
                stdout=subprocess.PIPE, text=True)
            self.addCleanup(p.wait)
            self.addCleanup(p.kill)
            self.addCleanup(p.stdout.close)
            url = "http://127.0.0.1:%d" % int(p.stdout.readline())

            def get(path):
                req = urllib.request.Request(url + path)
                req.add_header("Authorization", AUTH)
                try:
                    with urllib.request.urlopen(req, timeout=5) as r:
                        return r.status, r.headers
                except urllib.error.HTTPError as e:
                    return e.code, e.headers
            self.assertEqual(get("/nl/shop.json")[0], 200)
            self.assertEqual(get("/nl/shop.json")[0], 200)
            status, hdr = get("/nl/shop.json")
            self.assertEqual(status, 429)
            self.assertEqual(hdr["X-RateLimit-Reset"].split("/")[0], "3")
            self.assertEqual(self.control(url, "state")["used"],
                             [2, 2, 2])
            self.control(url, "limits/reset", {})
            self.control(url, "fault", {"pattern": "orders",
                                        "kind": "502"})
            self.assertEqual(get("/nl/orders.json")[0], 502)
            ids = self.control(url, "change", {"ops": [
                {"op": "add", "resource": "textpages",
                 "record": {"title": "Hi"}},
                {"op": "update", "resource": "variants", "id": 101,
                 "fields": {"stockLevel": 0}},
                {"op": "add_review", "args": [1, 5]}]})["ids"]
            self.assertEqual(ids, [4, 7])
            with self.assertRaises(urllib.error.HTTPError) as cm:
                self.control(url, "change", {"ops": [{"op": "load"}]})
            self.assertEqual(cm.exception.code, 400)
            cm.exception.close()
            log = self.control(url, "log")
            self.assertEqual([e["status"] for e in log],
                             [200, 200, 429, 502])


if __name__ == "__main__":
    unittest.main()
