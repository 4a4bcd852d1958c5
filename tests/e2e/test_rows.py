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
