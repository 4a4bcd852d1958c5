"""The Clerk.io feed: one test per rule of issue #2's feed section."""
import re

from shop import ShopTest, by_id


def variant(vid, price, size=None, colour=None, **kw):
    v = {"id": vid, "price": price}
    opts = {}
    if size:
        opts["Size"] = size
    if colour:
        opts["Colour"] = colour
    if opts:
        v["options"] = opts
    v.update(kw)
    return v


class ProductFields(ShopTest):
    def setUp(self):
        s = self.s = self.shop()
        s.add("categories", id="c1", name="Men")
        s.add("categories", id="c2", name="Shoes", parent_id="c1")
        s.add_product(
            "p1", name="Runner & Co", brand="Acme",
            description="<p>Fast <b>shoes</b> &amp; more&nbsp;now</p>"
                        "<script>alert(1)</script>",
            url="/p/runner", images=["/img/1.jpg", "https://cdn.x/2.jpg"],
            created_at="2024-03-01T10:00:00Z", category_ids=["c2"],
            variants=[variant("v1", "59.95", sku="RUN-1",
                              list_price="79.95")],
            stock={"L1": 3, "L2": 4})
        s.run()
        self.f = s.feed()
        self.p = by_id(self.f["products"])["p1"]

    def test_required_fields(self):
        p = self.p
        self.assertEqual(p["name"], "Runner & Co")
        self.assertEqual(p["price"], 59.95)
        self.assertEqual(p["list_price"], 79.95)
        self.assertTrue(p["on_sale"])
        self.assertEqual(p["brand"], "Acme")
        self.assertEqual(p["sku"], "RUN-1")
        self.assertEqual(p["stock"], 7)
        self.assertEqual(p["categories"], ["c2"])

    def test_created_at_is_unix_seconds(self):
        self.assertEqual(self.p["created_at"], 1709287200)

    def test_links_are_absolute(self):
        self.assertEqual(self.p["url"], "https://shop.example/p/runner")
        self.assertEqual(self.p["image"], "https://shop.example/img/1.jpg")

    def test_description_is_plain_text(self):
        d = self.p["description"]
        self.assertNotIn("<", d)
        self.assertNotIn("alert", d)
        self.assertIn("shoes & more", d)
        self.assertNotIn("&amp;", d)

    def test_one_id_type(self):
        ids = [p["id"] for p in self.f["products"]]
        ids += [c["id"] for c in self.f["categories"]]
        self.assertTrue(all(isinstance(i, str) for i in ids))

    def test_config_block(self):
        self.assertEqual(self.f["config"]["strict"], False)
        # POSFEED_NOW pins the clock at 2026-11-20T12:00:00Z
        self.assertEqual(self.f["config"]["created"], 1795176000)

    def test_gzip_twin_matches(self):
        self.assertEqual(self.s.feed_gz(), self.f)


class EmptyFieldsOmitted(ShopTest):
    def test_no_nulls_and_no_empty_keys(self):
        s = self.shop()
        s.add_product("bare", name="Bare", url="", images=[], brand="",
                      created_at=None)
        s.run()
        p = by_id(s.feed()["products"])["bare"]
        # What Clerk requires is always there, empty when the shop has
        # nothing (issue 9 item 2); everything else empty is left out.
        required = {"description": "", "image": "", "url": "",
                    "categories": []}
        for k, v in p.items():
            self.assertIsNotNone(v, k)
            if k in required:
                self.assertEqual(v, required[k], k)
                continue
            self.assertNotEqual(v, "", k)
            self.assertNotEqual(v, [], k)
        for k in ("brand", "list_price", "created_at"):
            self.assertNotIn(k, p)
        self.assertFalse(p["on_sale"])


class Variants(ShopTest):
    def make(self, **sync):
        s = self.shop()
        s.sync.update(sync)
        s.add_product("shirt", name="Shirt", variants=[
            variant("s-m-red", "25.00", "M", "Red", sku="S-M-R",
                    image="/img/red.jpg"),
            variant("s-l-red", "20.00", "L", "Red", sku="S-L-R",
                    list_price="30.00"),
            variant("s-m-blue", "15.00", "M", "Blue", sku="S-M-B"),
        ], stock={"s-m-red": {"L1": 2}, "s-l-red": {"L2": 5},
                  "s-m-blue": {"L1": 0, "L2": 0}})
        s.run()
        return by_id(s.feed()["products"])["shirt"]

    def test_parallel_lists(self):
        p = self.make()
        self.assertEqual(p["variant_ids"], ["s-m-red", "s-l-red",
                                            "s-m-blue"])
        self.assertEqual(p["variant_skus"], ["S-M-R", "S-L-R", "S-M-B"])
        self.assertEqual(p["variant_prices"], [25.0, 20.0, 15.0])
        self.assertEqual(p["variant_list_prices"], [25.0, 30.0, 15.0])
        self.assertEqual(p["variant_images"][0],
                         "https://shop.example/img/red.jpg")
        self.assertEqual(len(p["variant_images"]), 3)

    def test_one_list_per_option(self):
        p = self.make()
        self.assertEqual(p["sizes"], ["M", "L", "M"])
        self.assertEqual(p["colours"], ["Red", "Red", "Blue"])

    def test_parent_price_is_cheapest_sellable_variant(self):
        p = self.make()
        # s-m-blue (15.00) is out of stock everywhere: not sellable.
        self.assertEqual(p["price"], 20.0)
        self.assertEqual(p["list_price"], 30.0)
        self.assertTrue(p["on_sale"])

    def test_variant_stock_only_when_asked(self):
        self.assertNotIn("variant_stocks", self.make())
        p = self.make(include_variant_stock="yes")
        self.assertEqual(p["variant_stocks"], [2, 5, 0])

    def test_no_variant_data_when_off(self):
        p = self.make(include_variants="no")
        for k in ("variant_ids", "variant_prices", "sizes", "colours"):
            self.assertNotIn(k, p)

    def test_out_of_stock_variants_dropped_from_lists(self):
        p = self.make(include_out_of_stock="no",
                      include_variant_stock="yes")
        self.assertEqual(p["variant_ids"], ["s-m-red", "s-l-red"])
        self.assertEqual(p["variant_stocks"], [2, 5])
        self.assertEqual(p["colours"], ["Red", "Red"])


class Attributes(ShopTest):
    def make(self, **sync):
        s = self.shop()
        s.sync.update(sync)
        s.add_product("p", name="P", attributes={
            "Material": "Wool", "Care-Label (EN)": "Hand wash",
            "tags": ["new", "sale"], "secret": "x"},
            variants=[variant("p-s", "5.00", "S"), variant("p-m", "6.00",
                                                           "M")])
        s.run()
        return by_id(s.feed()["products"])["p"]

    def test_custom_attributes_by_name(self):
        p = self.make(custom_attributes="material, Care-Label (EN), tags")
        self.assertEqual(p["material"], "Wool")
        self.assertEqual(p["care_label_en"], "Hand wash")
        self.assertEqual(p["tags"], ["new", "sale"])
        self.assertNotIn("secret", p)

    def test_names_reduced_to_safe_characters(self):
        p = self.make(custom_attributes="Care-Label (EN)")
        for k in p:
            self.assertRegex(k, r"^[A-Za-z0-9_]+$")

    def test_auto_detected_attributes(self):
        p = self.make(attributes="auto")
        self.assertEqual(p["size"], ["S", "M"])

    def test_no_auto_attributes_when_none(self):
        p = self.make(attributes="none", include_variants="no")
        self.assertNotIn("size", p)
        self.assertNotIn("material", p)


class Categories(ShopTest):
    def make(self, **sync):
        s = self.shop()
        s.sync.update(sync)
        s.add("categories", id="root", name="Shop", url="/c/shop")
        s.add("categories", id="a", name="A", parent_id="root")
        s.add("categories", id="b", name="B", parent_id="root")
        s.add("categories", id="secret", name="Staff", parent_id="root",
              visible=False)
        s.add("categories", id="under", name="Under", parent_id="secret")
        s.add_product("p", category_ids=["a", "secret"])
        s.run()
        return s.feed()

    def test_fields_and_direct_children(self):
        cats = by_id(self.make()["categories"])
        self.assertEqual(cats["root"]["subcategories"], ["a", "b"])
        self.assertEqual(cats["root"]["url"], "https://shop.example/c/shop")
        # Clerk requires subcategories: a leaf has an empty list.
        self.assertEqual(cats["a"]["subcategories"], [])

    def test_hidden_left_out_by_default(self):
        f = self.make()
        cats = by_id(f["categories"])
        self.assertNotIn("secret", cats)
        self.assertNotIn("under", cats)  # hidden through its parent
        self.assertEqual(by_id(f["products"])["p"]["categories"], ["a"])

    def test_hidden_included_when_asked(self):
        f = self.make(include_hidden_categories="yes")
        cats = by_id(f["categories"])
        self.assertIn("secret", cats)
        self.assertEqual(cats["secret"]["subcategories"], ["under"])
        self.assertEqual(by_id(f["products"])["p"]["categories"],
                         ["a", "secret"])


class Orders(ShopTest):
    def make(self, **sync):
        s = self.shop()
        s.sync.update(sync)
        s.add_product("p1", variants=[{"id": "v1", "price": "10.00"}])
        s.add_product("p2", variants=[{"id": "v2", "price": "4.00"}])
        s.add_order("o1", [{"product_id": "p1", "variant_id": "v1",
                            "quantity": 2, "unit_price": "10.00",
                            "discount": "2.00"},
                           {"product_id": "p2", "variant_id": "v2",
                            "quantity": -1, "unit_price": "4.00"}],
                    email="ann@example.com", customer_id="c1",
                    created_at="2026-11-01T10:00:00Z")
        s.add_order("o-pending", [{"product_id": "p1"}], status="pending")
        s.add_order("o-cancel", [{"product_id": "p1"}], status="cancelled")
        # The lookback window is calendar based in Europe/Amsterdam:
        # "1 months" before 2026-11-20 starts at 2026-10-20 00:00 local
        # = 2026-10-19T22:00:00Z.
        s.add_order("o-edge-in", [{"product_id": "p1"}],
                    created_at="2026-10-19T22:00:00Z")
        s.add_order("o-edge-out", [{"product_id": "p1"}],
                    created_at="2026-10-19T21:59:59Z")
        s.add_order("o-return-only", [{"product_id": "p1", "quantity": -1,
                                       "is_return": True}],
                    refund_of="o1")
        s.run()
        return by_id(s.feed()["orders"])

    def test_fields(self):
        o = self.make()["o1"]
        self.assertEqual(o["time"], 1793527200)
        self.assertEqual(o["customer"], "c1")
        self.assertEqual(o["products"], [{"id": "p1", "quantity": 2,
                                          "price": 9.0}])

    def test_returns_are_not_purchases(self):
        orders = self.make()
        ids = [ln["id"] for ln in orders["o1"]["products"]]
        self.assertNotIn("p2", ids)
        self.assertNotIn("o-return-only", orders)

    def test_email_only_with_collect_emails(self):
        self.assertNotIn("email", self.make()["o1"])
        o = self.make(collect_emails="yes")["o1"]
        self.assertEqual(o["email"], "ann@example.com")

    def test_accepted_statuses(self):
        self.assertEqual(set(self.make()),
                         {"o1", "o-edge-in", "o-edge-out"})
        o = self.make(accepted_order_statuses="completed, pending")
        self.assertIn("o-pending", o)
        self.assertNotIn("o-cancel", o)

    def test_lookback_is_calendar_months_in_shop_timezone(self):
        o = self.make(orders_lookback="1 months")
        self.assertIn("o-edge-in", o)
        self.assertNotIn("o-edge-out", o)

    def test_lookback_days(self):
        o = self.make(orders_lookback="30 days")
        # 30 days before 2026-11-20 local = 2026-10-21 00:00 local.
        self.assertNotIn("o-edge-in", o)
        self.assertIn("o1", o)


class Customers(ShopTest):
    def make(self, **sync):
        s = self.shop()
        s.sync.update(sync)
        s.add_product("p")
        s.add("customers", id="c1", email="ann@example.com",
              first_name="Ann", last_name="Smit", zip="1012AB",
              consent=True)
        s.add("customers", id="c2", email="bob@example.com",
              first_name="Bob", consent=False)
        s.add("customers", id="c3", first_name="Cas")
        s.run()
        return s.feed()

    def test_only_with_include_customers(self):
        self.assertNotIn("customers", self.make())

    def test_fields(self):
        c = by_id(self.make(include_customers="yes")["customers"])
        self.assertEqual(c["c1"]["name"], "Ann Smit")
        self.assertEqual(c["c1"]["zip"], "1012AB")
        self.assertNotIn("email", c["c1"])

    def test_email_only_with_collect_emails(self):
        c = by_id(self.make(include_customers="yes",
                            collect_emails="yes")["customers"])
        self.assertEqual(c["c1"]["email"], "ann@example.com")
        self.assertNotIn("email", c["c3"])

    def test_subscribed_only_with_consent(self):
        c = by_id(self.make(include_customers="yes")["customers"])
        self.assertIs(c["c1"]["subscribed"], True)
        self.assertIs(c["c2"]["subscribed"], False)
        self.assertIs(c["c3"]["subscribed"], False)  # unknown is not yes


class OutOfStock(ShopTest):
    def make(self, **sync):
        s = self.shop()
        s.sync.update(sync)
        s.add_product("in", stock={"L1": 1})
        s.add_product("one-location", stock={"L1": 0, "L2": 2})
        s.add_product("out", stock={"L1": 0, "L2": -1})
        s.add_product("untracked", variants=[
            {"id": "u-v", "price": "1.00", "track_stock": False}])
        s.add_product("parent", stock={"L1": 0}, parent_stock=5)
        s.run()
        return by_id(s.feed()["products"])

    def test_kept_by_default(self):
        p = self.make()
        # Oversold (-1) counts as none: never a negative stock.
        self.assertEqual(p["out"]["stock"], 0)
        self.assertEqual(len(p), 5)

    def test_excluded_when_off(self):
        p = self.make(include_out_of_stock="no")
        self.assertNotIn("out", p)
        self.assertIn("in", p)
        self.assertIn("one-location", p)
        self.assertEqual(p["one-location"]["stock"], 2)

    def test_untracked_always_stays(self):
        p = self.make(include_out_of_stock="no")
        self.assertIn("untracked", p)
        self.assertNotIn("stock", p["untracked"])

    def test_parent_tracking_reads_parent_stock(self):
        self.assertNotIn("parent", self.make(include_out_of_stock="no"))
        p = self.make(include_out_of_stock="no",
                      variant_stock_tracking="parent")
        self.assertEqual(p["parent"]["stock"], 5)


class HiddenProducts(ShopTest):
    def test_invisible_product_left_out(self):
        s = self.shop()
        s.add_product("shown")
        s.add_product("hidden", visible=False)
        s.run()
        self.assertEqual([p["id"] for p in s.feed()["products"]],
                         ["shown"])


class PerFeedOverrides(ShopTest):
    def test_two_feeds_two_settings(self):
        s = self.shop()
        s.feeds["in-stock"] = {"template": "clerk", "output": "in.json",
                               "include_out_of_stock": "no"}
        s.add_product("in", stock={"L1": 1})
        s.add_product("out", stock={"L1": 0})
        s.run()
        self.assertEqual(len(s.feed()["products"]), 2)
        self.assertEqual([p["id"] for p in s.feed("in.json")["products"]],
                         ["in"])


class HardText(ShopTest):
    def test_unicode_and_control_characters(self):
        s = self.shop()
        s.add_product("t", name="Café 日本茶 🌱 <b>&</b>",
                      description="bad\u0003char")
        s.run()
        raw = open(s.feed_path(), encoding="utf-8").read()
        self.assertFalse(re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", raw))
        p = by_id(s.feed()["products"])["t"]
        self.assertEqual(p["name"], "Café 日本茶 🌱 <b>&</b>")
        self.assertEqual(p["description"], "badchar")
