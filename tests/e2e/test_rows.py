"""The rows feeds are made of (issue #9): stock below zero, one type per
attribute, order lines that are not products, guest orders, and event
properties that are never null."""
import json
import os
import xml.etree.ElementTree as ET

from shop import ShopTest, by_id

G = "{http://base.google.com/ns/1.0}"

# Every built-in template, with the file each publishes.
BUILTIN = {
    "clerk": "clerk.json",
    "clerk-products": "clerk-products.json",
    "clerk-categories": "clerk-categories.json",
    "clerk-orders": "clerk-orders.json",
    "clerk-customers": "clerk-customers.json",
    "google-shopping": "google.xml",
    "meta-catalog": "meta.xml",
    "klaviyo-catalog-json": "klaviyo-catalog.json",
    "klaviyo-catalog-xml": "klaviyo-catalog.xml",
    "klaviyo-events": "events.ndjson",
    "klaviyo-profiles": "profiles.ndjson",
}


def all_builtin_feeds(shop):
    shop.feeds = {name: {"template": name, "output": out, "gzip": "no"}
                  for name, out in BUILTIN.items()}


def parse(path):
    """A published JSON, NDJSON or XML feed."""
    if path.endswith(".xml"):
        return ET.parse(path).getroot()
    with open(path, encoding="utf-8") as f:
        if path.endswith(".ndjson"):
            return [json.loads(line) for line in f if line.strip()]
        return json.load(f)


def xml_items(root):
    """{g:id or id: {tag without namespace: [text, ...]}} per item."""
    items = {}
    for it in root.iter():
        if it.tag not in ("item", "Product"):
            continue
        fields = {}
        for child in it:
            fields.setdefault(child.tag.replace(G, ""), []).append(
                child.text)
        items[fields["id"][0]] = fields
    return items


class StockBelowZero(ShopTest):
    """Issue #9 item 1: a location's oversold (negative) count must not
    cancel another location's real stock, and no quantity published to a
    platform is negative."""

    def make(self, **sync):
        s = self.shop()
        s.sync.update({"include_variant_stock": "yes"})
        s.sync.update(sync)
        # 3 in one store, -3 in the other: 3 sellable.
        s.add_product("split", stock={"L1": 3, "L2": -3})
        # Oversold everywhere: none sellable, never a negative count.
        s.add_product("oversold", stock={"L1": -2, "L2": 0})
        # The parent's own count, oversold.
        s.add_product("parent", stock={"L1": 1}, parent_stock=-4)
        all_builtin_feeds(s)
        s.run()
        return s

    def test_negative_location_does_not_cancel_another(self):
        s = self.make()
        p = by_id(s.feed("clerk-products.json"))
        self.assertEqual(p["split"]["stock"], 3)
        self.assertEqual(p["split"]["variant_stocks"], [3])
        self.assertEqual(p["oversold"]["stock"], 0)
        self.assertEqual(p["oversold"]["variant_stocks"], [0])
        g = xml_items(parse(s.feed_path("google.xml")))
        self.assertEqual(g["split-v"]["availability"], ["in_stock"])
        self.assertEqual(g["oversold-v"]["availability"], ["out_of_stock"])
        m = xml_items(parse(s.feed_path("meta.xml")))
        self.assertEqual(m["split-v"]["quantity_to_sell_on_facebook"], ["3"])
        self.assertEqual(m["oversold-v"]["quantity_to_sell_on_facebook"],
                         ["0"])
        k = by_id(s.feed("klaviyo-catalog.json"))
        self.assertEqual(k["split-v"]["inventory_quantity"], 3)
        self.assertEqual(k["oversold-v"]["inventory_quantity"], 0)

    def test_in_stock_product_kept_without_out_of_stock(self):
        s = self.make(include_out_of_stock="no")
        ids = [p["id"] for p in s.feed("clerk-products.json")]
        self.assertIn("split", ids)
        self.assertNotIn("oversold", ids)

    def test_oversold_parent_is_none(self):
        s = self.make(variant_stock_tracking="parent")
        p = by_id(s.feed("clerk-products.json"))
        self.assertEqual(p["parent"]["stock"], 0)
        k = by_id(s.feed("klaviyo-catalog.json"))
        self.assertEqual(k["parent-v"]["inventory_policy"], 1)

    def test_klaviyo_hides_out_of_stock_items(self):
        s = self.make()
        j = by_id(s.feed("klaviyo-catalog.json"))
        self.assertEqual(j["oversold-v"]["inventory_policy"], 1)
        self.assertEqual(j["split-v"]["inventory_policy"], 2)
        x = xml_items(parse(s.feed_path("klaviyo-catalog.xml")))
        self.assertEqual(x["oversold-v"]["inventory_policy"], ["1"])
        self.assertEqual(x["split-v"]["inventory_policy"], ["2"])

    def test_a_rule_can_show_out_of_stock_items(self):
        s = self.shop()
        s.add_product("oversold", stock={"L1": -2})
        s.feeds = {"kc": {"template": "klaviyo-catalog-json",
                          "output": "kc.json",
                          "set.variant.inventory_policy": "2"}}
        s.run()
        self.assertEqual(s.feed("kc.json")[0]["inventory_policy"], 2)

    def test_nothing_negative_in_any_builtin_feed(self):
        s = self.make()
        quantities = {"stock", "variant_stocks", "inventory_quantity",
                      "quantity_to_sell_on_facebook"}
        seen = 0
        for out in BUILTIN.values():
            path = s.feed_path(out)
            if not os.path.exists(path):
                continue
            doc = parse(path)
            if out.endswith(".xml"):
                for el in doc.iter():
                    if el.tag.replace(G, "") in quantities:
                        seen += 1
                        self.assertGreaterEqual(int(el.text), 0, out)
                continue
            for key, value in walk(doc):
                if key in quantities:
                    for q in value if isinstance(value, list) else [value]:
                        seen += 1
                        self.assertGreaterEqual(q, 0, (out, key))
        self.assertGreater(seen, 10)


def walk(doc, key=None):
    """Every (key, value) pair in a parsed JSON document."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield k, v
            yield from walk(v, k)
    elif isinstance(doc, list):
        for v in doc:
            yield from walk(v, key)


class OneTypePerAttribute(ShopTest):
    """Issue #9 item 3: a one-element list (tags: ["new"]) became a string
    while other products had lists; an attribute keeps one type across
    every object of a feed."""

    def make(self, templates=("clerk",), **sync):
        s = self.shop()
        s.sync.update({"custom_attributes": "tags, material, size"})
        s.sync.update(sync)
        s.add_product("one-tag", attributes={"tags": ["new"],
                                             "material": "wool"})
        s.add_product("two-tags", attributes={"tags": ["a", "b"],
                                              "material": "cotton"})
        s.add_product("no-tags", attributes={"material": "linen"})
        # "size": a custom attribute here, a variant option there.
        s.add_product("sized", attributes={"size": "XL"})
        s.add_product("options", variants=[
            {"id": "o-s", "price": "5.00", "options": {"Size": "S"}},
            {"id": "o-m", "price": "5.00", "options": {"Size": "M"}}])
        s.feeds = {t: {"template": t, "output": t + ".json"}
                   for t in templates}
        s.run()
        return s

    def test_tags_are_lists_everywhere(self):
        s = self.make(templates=("clerk", "clerk-products"))
        for p in (by_id(s.feed("clerk.json")["products"]),
                  by_id(s.feed("clerk-products.json"))):
            self.assertEqual(p["one-tag"]["tags"], ["new"])
            self.assertEqual(p["two-tags"]["tags"], ["a", "b"])
            self.assertNotIn("tags", p["no-tags"])

    def test_single_values_stay_single(self):
        p = by_id(self.make().feed()["products"])
        self.assertEqual(p["one-tag"]["material"], "wool")
        self.assertEqual(p["two-tags"]["material"], "cotton")

    def test_an_option_name_is_a_list_everywhere(self):
        p = by_id(self.make().feed()["products"])
        self.assertEqual(p["options"]["size"], ["S", "M"])
        self.assertEqual(p["sized"]["size"], ["XL"])

    def test_without_auto_attributes_options_do_not_count(self):
        p = by_id(self.make(attributes="none").feed()["products"])
        self.assertEqual(p["sized"]["size"], "XL")
        self.assertNotIn("size", p["options"])

    def test_every_attribute_has_one_type(self):
        p = self.make().feed()["products"]
        types = {}
        for prod in p:
            for k in ("tags", "material", "size"):
                if k in prod:
                    types.setdefault(k, set()).add(type(prod[k]).__name__)
        self.assertEqual(types, {"tags": {"list"}, "material": {"str"},
                                 "size": {"list"}})


def nulls(doc, path=""):
    """Paths of every null in a parsed JSON document."""
    if doc is None:
        yield path
    elif isinstance(doc, dict):
        for k, v in doc.items():
            yield from nulls(v, path + "/" + k)
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from nulls(v, "%s/%d" % (path, i))


def gappy_shop(test, **sync):
    """A shop with every gap real data has: guest orders, orders without
    an email or a store, products that are gone, lines that are no
    product, empty attribute values, categories without a URL."""
    s = test.shop()
    s.sync.update({"collect_emails": "yes", "include_customers": "yes",
                   "include_variant_stock": "yes",
                   "custom_attributes": "tags, material"})
    s.sync.update(sync)
    s.add("categories", id="c1", name="Mugs")
    s.add("customers", id="k1", email="ann@example.com", first_name="Ann")
    s.add("customers", id="k2", first_name="Bob")
    s.add_product("mug", name="Mug", category_ids=["c1"], url="/mug",
                  images=["/mug.jpg"], attributes={"tags": ["a", ""],
                                                   "material": ""},
                  variants=[{"id": "mug-v", "price": "8.00", "sku": "MUG",
                             "options": {"Colour": "Blue"}}],
                  stock={"mug-v": {"L1": 2, "L2": -5}})
    s.add_product("bare", name="Bare")
    s.add_order("known", [{"product_id": "mug", "name": "Mug",
                           "quantity": 2, "unit_price": "8.00"}],
                customer_id="k1", email="Ann@Example.com", location_id="L1",
                total="16.00", shipped=True)
    s.add_order("no-email", [{"product_id": "mug", "quantity": 1}],
                customer_id="k2", location_id="nowhere", shipped=True)
    s.add_order("guest", [{"product_id": "gone", "name": "Old thing",
                           "quantity": 1},
                          {"name": "Gift wrapping", "quantity": 1,
                           "unit_price": "2.50"}], total="12.50")
    s.add_order("guest-email", [{"product_id": "mug", "quantity": 1}],
                email="cas@example.org", total="8.00")
    s.add_order("refund", [{"product_id": "mug", "quantity": -1,
                            "is_return": True}], refund_of="known",
                total="-8.00")
    all_builtin_feeds(s)
    s.run()
    return s


class NeverNull(ShopTest):
    """Issue #9 item 6 (rows): no property is ever null (EmailDomain:
    null appeared 216 times in the demo's events), in any built-in
    template's output."""

    def assert_no_nulls(self, feeds_dir):
        checked = 0
        for name in sorted(os.listdir(feeds_dir)):
            path = os.path.join(feeds_dir, name)
            if os.path.isdir(path):
                checked += self.assert_no_nulls(path)
                continue
            if not name.endswith((".json", ".ndjson")):
                continue
            found = list(nulls(parse(path)))
            self.assertEqual(found, [], name)
            checked += 1
        return checked

    def test_gappy_shop(self):
        s = gappy_shop(self)
        self.assertGreaterEqual(
            self.assert_no_nulls(os.path.join(s.dir, "feeds")), 8)

    def test_tiny_fixtures_and_demo(self):
        import shutil
        from shop import REPO
        for src, conf in (("tests/fixtures/tiny", "tests/golden/tiny.conf"),
                          ("examples/demo/data",
                           "examples/demo/posfeed.conf")):
            with self.subTest(data=src):
                s = self.shop()
                shutil.rmtree(s.data)
                shutil.copytree(os.path.join(REPO, src), s.data)
                with open(os.path.join(REPO, conf),
                          encoding="utf-8") as f:
                    text = f.read()
                text = text.replace("feeds_dir = ../../feeds",
                                    "feeds_dir = feeds")
                text = text.replace("store = demo.db", "store = store.db")
                s.write_config(text)
                s.posfeed("run")
                self.assertGreaterEqual(
                    self.assert_no_nulls(os.path.join(s.dir, "feeds")), 7)


class EventRows(ShopTest):
    """Issue #9 item 6 (rows): events carry value_currency; an event with
    no identifier has none, not an empty one."""

    def events(self, **sync):
        s = gappy_shop(self, **sync)
        return s, parse(s.feed_path("events.ndjson"))

    def test_value_currency(self):
        _, ev = self.events()
        self.assertTrue(ev)
        self.assertEqual({e.get("value_currency") for e in ev}, {"EUR"})

    def test_email_domain_only_with_an_email(self):
        _, ev = self.events()
        for e in ev:
            props = e["properties"]
            if e["metric"] == "Shipped Order":
                continue        # carries no EmailDomain at all
            if "email" in e.get("profile", {}):
                self.assertEqual(props["EmailDomain"],
                                 e["profile"]["email"].split("@")[1].lower())
            else:
                self.assertNotIn("EmailDomain", props)
        self.assertTrue(any("EmailDomain" not in e["properties"]
                            for e in ev))

    def test_no_identifier_is_absent(self):
        # The built-in template leaves such events out (a required
        # profile); a copy without that requirement shows the row itself.
        from shop import REPO
        s = gappy_shop(self)
        with open(os.path.join(REPO, "templates", "klaviyo-events.json"),
                  encoding="utf-8") as f:
            tpl = json.load(f)
        self.assertIn("profile", tpl.pop("@require"))
        with open(os.path.join(s.dir, "events-all.json"), "w",
                  encoding="utf-8") as f:
            json.dump(tpl, f)
        s.feeds["all-events"] = {"template": "events-all.json",
                                 "output": "all-events.ndjson",
                                 "gzip": "no"}
        s.write_config()
        s.posfeed("build")
        ev = parse(s.feed_path("all-events.ndjson"))
        guest = [e for e in ev if e["properties"].get("OrderId") == "guest"]
        self.assertTrue(guest)
        for e in guest:
            self.assertFalse(e.get("profile"))
        built = parse(s.feed_path("events.ndjson"))
        self.assertEqual([e for e in built
                          if e["properties"].get("OrderId") == "guest"], [])

    def test_store_only_when_known(self):
        _, ev = self.events()
        placed = {e["properties"]["OrderId"]: e["properties"] for e in ev
                  if e["metric"] == "Placed Order"}
        self.assertEqual(placed["known"]["Store"], "Amsterdam")
        self.assertNotIn("Store", placed["no-email"])


class LinesThatAreNoProduct(ShopTest):
    """Issue #9 item 4: order lines that are not products (Lightspeed sale
    lines with item 0: free-text or miscellaneous lines) stay out of
    Clerk's order products, and stay in Klaviyo events by name and in
    totals."""

    def make(self):
        s = self.shop()
        s.sync.update({"collect_emails": "yes"})
        s.add_product("mug", name="Mug",
                      variants=[{"id": "mug-v", "price": "8.00",
                                 "sku": "MUG"}])
        s.add_order("mixed", [
            {"product_id": "mug", "variant_id": "mug-v", "name": "Mug",
             "sku": "MUG", "quantity": 2, "unit_price": "8.00"},
            {"name": "Gift wrapping", "quantity": 1, "unit_price": "2.50"}],
            email="ann@example.com", customer_id="k1", total="18.50")
        s.add_order("misc-only", [{"name": "Repair", "quantity": 1,
                                   "unit_price": "15.00"}],
                    customer_id="k1", total="15.00")
        s.feeds = {"clerk": {"template": "clerk"},
                   "orders": {"template": "clerk-orders",
                              "output": "orders.json"},
                   "ev": {"template": "klaviyo-events",
                          "output": "events.ndjson"}}
        s.run()
        return s

    def test_left_out_of_clerk_order_products(self):
        s = self.make()
        for orders in (by_id(s.feed()["orders"]),
                       by_id(s.feed("orders.json"))):
            self.assertEqual(orders["mixed"]["products"],
                             [{"id": "mug", "quantity": 2, "price": 8.0}])
            # Nothing Clerk could recommend from: no order at all.
            self.assertNotIn("misc-only", orders)

    def test_kept_in_events_by_name(self):
        s = self.make()
        ev = parse(s.feed_path("events.ndjson"))
        placed = {e["properties"]["OrderId"]: e for e in ev
                  if e["metric"] == "Placed Order"}
        mixed = placed["mixed"]
        self.assertEqual(mixed["value"], 18.5)
        props = mixed["properties"]
        self.assertEqual(props["ItemNames"], ["Mug", "Gift wrapping"])
        self.assertEqual(props["ItemCount"], 3)
        wrap = props["Items"][1]
        self.assertEqual(wrap["ProductName"], "Gift wrapping")
        self.assertEqual(wrap["RowTotal"], 2.5)
        for k in ("ProductID", "ProductURL", "ImageURL", "SKU"):
            self.assertNotIn(k, wrap)
        self.assertEqual(placed["misc-only"]["value"], 15.0)
        self.assertEqual(placed["misc-only"]["properties"]["ItemNames"],
                         ["Repair"])
        ordered = [e["properties"] for e in ev
                   if e["metric"] == "Ordered Product"]
        self.assertIn("Gift wrapping", [p["Name"] for p in ordered])
        self.assertTrue(all("ProductID" not in p for p in ordered
                            if p["Name"] != "Mug"))


class GuestOrders(ShopTest):
    """Issue #9 item 5: a guest order (no customer) carries its email when
    collect_emails allows, and otherwise leaves the customer out the way
    Clerk's own WooCommerce extension does: no customer key at all, never
    null or ""."""

    def orders(self, **sync):
        s = self.shop()
        s.sync.update(sync)
        s.add_product("mug")
        s.add_order("member", [{"product_id": "mug"}], customer_id="k1",
                    email="ann@example.com")
        s.add_order("guest", [{"product_id": "mug"}],
                    email="cas@example.org")
        s.add_order("anonymous", [{"product_id": "mug"}])
        s.feeds = {"clerk": {"template": "clerk"},
                   "orders": {"template": "clerk-orders",
                              "output": "orders.json"}}
        s.run()
        return by_id(s.feed()["orders"]), by_id(s.feed("orders.json"))

    def test_email_when_collect_emails_allows(self):
        for o in self.orders(collect_emails="yes"):
            self.assertEqual(o["member"]["customer"], "k1")
            self.assertEqual(o["guest"]["email"], "cas@example.org")
            self.assertNotIn("customer", o["guest"])
            self.assertEqual(set(o["anonymous"]), {"id", "products", "time"})

    def test_customer_left_out_otherwise(self):
        for o in self.orders(collect_emails="no"):
            self.assertEqual(o["member"]["customer"], "k1")
            for oid in ("guest", "anonymous"):
                self.assertEqual(set(o[oid]), {"id", "products", "time"})
