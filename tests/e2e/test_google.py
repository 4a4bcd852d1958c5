"""Google Merchant and Meta XML feeds (issue #3), parsed back with an
independent XML parser (xml.etree) and checked against each platform's
rules."""
import re
import xml.etree.ElementTree as ET

from shop import ShopTest

G = "{http://base.google.com/ns/1.0}"


def items(path):
    root = ET.parse(path).getroot()
    out = []
    for it in root.iter("item"):
        fields = {}
        for child in it:
            fields.setdefault(child.tag.replace(G, ""), []).append(
                child.text or "")
        out.append(fields)
    return root, out


def one(item, key):
    return item[key][0] if key in item else None


class Channel(ShopTest):
    def make(self, template="google-shopping", **feed):
        s = self.shop()
        s.add("categories", id="c1", name="Men")
        s.add("categories", id="c2", name="Shirts & Tops", parent_id="c1")
        long_name = "Very long name " * 20
        s.add_product(
            "shirt", name="Shirt 日本茶 🌱", brand="Acme & Sons",
            description="<p>Soft&nbsp;cotton</p>" + "x" * 6000,
            url="/shirt", category_ids=["c2"],
            images=["/%d.jpg" % i for i in range(14)],
            variants=[
                {"id": "s-m", "price": "20.00", "list_price": "25.00",
                 "sku": "SH-M", "ean": "4006381333931",
                 "options": {"Size": "M", "Colour": "Red"}},
                {"id": "s-l", "price": "20.00", "sku": "SH-L",
                 "ean": "4006381333932",
                 "options": {"Size": "L", "Colour": "Red"}}],
            stock={"s-m": {"L1": 2}, "s-l": {"L2": 0}})
        s.add_product("plain", name=long_name, description="bad\u0003char",
                      variants=[{"id": "plain-v", "price": "5.00"}],
                      stock={"L1": 1})
        s.add_product("yen", name="Tea", variants=[
            {"id": "yen-v", "price": "500", "currency": "JPY",
             "sku": "TEA"}], stock={"L1": 1})
        s.feeds = {"g": dict({"template": template, "output": "g.xml"},
                             **feed)}
        s.run()
        root, its = items(s.feed_path("g.xml"))
        return s, root, {one(i, "id"): i for i in its}


class Google(Channel):
    def test_namespace_and_channel(self):
        _, root, _ = self.make()
        self.assertEqual(root.tag, "rss")
        self.assertEqual(root.get("version"), "2.0")
        self.assertEqual(root.find("channel/title").text, "Test Shop")

    def test_one_item_per_variant_never_the_parent(self):
        _, _, its = self.make()
        self.assertEqual(set(its), {"s-m", "s-l", "plain-v", "yen-v"})
        self.assertEqual(one(its["s-m"], "item_group_id"), "shirt")
        self.assertEqual(one(its["s-l"], "item_group_id"), "shirt")
        self.assertNotIn("item_group_id", its["plain-v"])

    def test_text_limits_and_plain_description(self):
        _, _, its = self.make()
        self.assertLessEqual(len(one(its["plain-v"], "title")), 150)
        d = one(its["s-m"], "description")
        self.assertLessEqual(len(d), 5000)
        self.assertTrue(d.startswith("Soft\u00a0cotton") or
                        d.startswith("Soft cotton"), d[:20])
        self.assertNotIn("<", d)
        self.assertEqual(one(its["plain-v"], "description"), "badchar")

    def test_images(self):
        _, _, its = self.make()
        self.assertEqual(one(its["s-m"], "image_link"),
                         "https://shop.example/0.jpg")
        extra = its["s-m"]["additional_image_link"]
        self.assertEqual(len(extra), 10)
        self.assertNotIn("https://shop.example/0.jpg", extra)

    def test_price_sale_price_and_currency_decimals(self):
        _, _, its = self.make()
        self.assertEqual(one(its["s-m"], "price"), "25.00 EUR")
        self.assertEqual(one(its["s-m"], "sale_price"), "20.00 EUR")
        self.assertEqual(one(its["s-l"], "price"), "20.00 EUR")
        self.assertNotIn("sale_price", its["s-l"])
        self.assertEqual(one(its["yen-v"], "price"), "500 JPY")

    def test_availability_and_out_of_stock_kept(self):
        _, _, its = self.make()
        self.assertEqual(one(its["s-m"], "availability"), "in_stock")
        self.assertEqual(one(its["s-l"], "availability"), "out_of_stock")
        _, _, its = self.make(include_out_of_stock="no")
        self.assertNotIn("s-l", its)

    def test_identifiers(self):
        _, _, its = self.make()
        self.assertEqual(one(its["s-m"], "gtin"), "4006381333931")
        self.assertNotIn("gtin", its["s-l"])   # bad check digit
        self.assertEqual(one(its["s-l"], "mpn"), "SH-L")
        self.assertEqual(one(its["plain-v"], "identifier_exists"), "no")
        self.assertNotIn("identifier_exists", its["s-m"])

    def test_brand_type_color_size_condition(self):
        _, _, its = self.make()
        self.assertEqual(one(its["s-m"], "brand"), "Acme & Sons")
        self.assertEqual(one(its["s-m"], "product_type"),
                         "Men > Shirts & Tops")
        self.assertEqual(one(its["s-m"], "color"), "Red")
        self.assertEqual(one(its["s-l"], "size"), "L")
        self.assertEqual(one(its["s-m"], "condition"), "new")
        self.assertEqual(one(its["s-m"], "title"), "Shirt 日本茶 🌱 - M / Red")

    def test_no_forbidden_characters(self):
        s, _, _ = self.make()
        raw = open(s.feed_path("g.xml"), encoding="utf-8").read()
        self.assertFalse(re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", raw))
        self.assertNotIn("&nbsp;", raw)

    def test_rules_override_and_exclude(self):
        _, _, its = self.make(**{
            "exclude": "variant.sku ~ ^TE",
            "set.product.condition": "refurbished",
            "set.product.google_product_category": "{{product.brand}}"})
        self.assertNotIn("yen-v", its)
        self.assertEqual(one(its["s-m"], "condition"), "refurbished")
        self.assertEqual(one(its["s-m"], "google_product_category"),
                         "Acme & Sons")


class Meta(Channel):
    def test_meta_words_and_no_html(self):
        s, _, its = self.make(template="meta-catalog")
        self.assertEqual(one(its["s-m"], "availability"), "in stock")
        self.assertEqual(one(its["s-l"], "availability"), "out of stock")
        raw = open(s.feed_path("g.xml"), encoding="utf-8").read()
        self.assertNotIn("&lt;", raw.replace("Men &gt;", ""))
        self.assertEqual(len(its), 4)
        self.assertEqual(one(its["s-m"], "item_group_id"), "shirt")
