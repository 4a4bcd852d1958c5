"""Rows left out for a missing required field (issue 9 items 2, 6, 8):
Google and Meta items without an image or a brand, Klaviyo events without
a profile identifier; what Clerk requires always sent; the counts per
reason in the build output, the store and `posfeed status`."""
import json
import os
import shutil

from shop import REPO, ShopTest, by_id


def google_shop(test):
    s = test.shop()
    s.add_product("ok", name="Fine")
    s.add_product("noimg", name="No image", images=[])
    s.add_product("nobrand", name="No brand", brand="")
    s.add_product("neither", name="Neither", images=[], brand="")
    s.feeds = {"google": {"template": "google-shopping",
                          "output": "google.xml"},
               "meta": {"template": "meta-catalog", "output": "meta.xml"}}
    return s


def status_feed(s, name):
    doc = json.loads(s.posfeed("status", "--json").stdout)
    return [f for f in doc["feeds"] if f["name"] == name][0]


class ChannelsLeaveOut(ShopTest):
    def test_items_missing_a_required_field_are_counted_not_published(self):
        s = google_shop(self)
        r = s.run()
        with open(s.feed_path("google.xml"), encoding="utf-8") as f:
            xml = f.read()
        self.assertIn("<g:id>ok-v</g:id>", xml)
        for gone in ("noimg-v", "nobrand-v", "neither-v"):
            self.assertNotIn(gone, xml)
        # One reason per item: the first missing field in the template.
        self.assertIn("3 left out (missing image_link: 2, missing "
                      "brand: 1)", r.stdout)
        g = status_feed(s, "google")
        self.assertEqual(g["items"], 1)
        self.assertEqual(g["left_out"], 3)
        self.assertEqual(g["left_out_reasons"],
                         {"missing image_link": 2, "missing brand": 1})
        self.assertEqual(status_feed(s, "meta")["left_out"], 3)
        text = s.posfeed("status").stdout
        self.assertIn("left out by the last build", text)
        self.assertRegex(text, r"\n  google +3 +\(missing image_link: 2, "
                         r"missing brand: 1\)\n")
        rows = s.db().execute("SELECT feed, reason, items FROM "
                              "feed_left_out ORDER BY feed, reason")
        self.assertEqual(rows.fetchall(), [
            ("google", "missing brand", 1),
            ("google", "missing image_link", 2),
            ("meta", "missing brand", 1),
            ("meta", "missing image_link", 2)])

    def test_the_next_build_replaces_the_record(self):
        s = google_shop(self)
        s.run()
        s.rows["products"] = [p for p in s.rows["products"]
                              if p["id"] == "ok"]
        s.rows["variants"] = [v for v in s.rows["variants"]
                              if v["product_id"] == "ok"]
        r = s.run("--force")
        self.assertNotIn("left out", r.stdout)
        g = status_feed(s, "google")
        self.assertEqual((g["left_out"], g["left_out_reasons"]), (0, {}))
        self.assertNotIn("left out", s.posfeed("status").stdout)

    def test_max_drop_compares_published_items(self):
        # Items that lose their image are gone from the platform's view:
        # a feed that would lose most of its items is held back.
        s = self.shop()
        for i in range(4):
            s.add_product("p%d" % i)
        s.feeds = {"google": {"template": "google-shopping",
                              "output": "google.xml"}}
        s.run()
        for p in s.rows["products"][1:]:
            p["images"] = []
        r = s.run(expect=1)
        self.assertIn("google", r.stderr)
        with open(s.feed_path("google.xml"), encoding="utf-8") as f:
            self.assertEqual(f.read().count("<item>"), 4)
        r = s.posfeed("build", "--force")
        self.assertIn("3 left out (missing image_link: 3)", r.stdout)


class ClerkAlwaysSends(ShopTest):
    def test_required_lists_are_empty_not_missing(self):
        s = self.shop()
        s.add("categories", id="top", name="Top", url="/c/top")
        s.add("categories", id="leaf", name="Leaf", url="/c/leaf",
              parent_id="top")
        s.add_product("loose", name="In no category")
        s.add_product("placed", name="Placed", category_ids=["leaf"])
        s.feeds = {"clerk": {"template": "clerk"},
                   "cats": {"template": "clerk-categories",
                            "output": "cats.json"},
                   "prods": {"template": "clerk-products",
                             "output": "prods.json"}}
        s.run()
        f = s.feed()
        for products in (f["products"], s.feed("prods.json")):
            p = by_id(products)
            self.assertEqual(p["loose"]["categories"], [])
            self.assertEqual(p["placed"]["categories"], ["leaf"])
        for cats in (f["categories"], s.feed("cats.json")):
            c = by_id(cats)
            self.assertEqual(c["leaf"]["subcategories"], [])
            self.assertEqual(c["top"]["subcategories"], ["leaf"])


class EventsNeedAProfile(ShopTest):
    def test_demo_events_without_identifier_are_left_out(self):
        s = self.shop()
        shutil.rmtree(s.data)
        shutil.copytree(os.path.join(REPO, "examples", "demo", "data"),
                        s.data)
        with open(os.path.join(REPO, "examples", "demo",
                               "posfeed.conf")) as f:
            conf = f.read()
        conf = conf.replace("store = demo.db", "store = store.db")
        conf = conf.replace("feeds_dir = ../../feeds", "feeds_dir = feeds")
        s.write_config(conf)
        r = s.posfeed("run", env={"POSFEED_TOKEN": "t" * 32})
        self.assertIn("79 left out (missing profile: 79)", r.stdout)
        with open(s.feed_path("klaviyo/events.ndjson"),
                  encoding="utf-8") as f:
            events = [json.loads(line) for line in f]
        self.assertEqual(len(events), 616 - 79)
        for e in events:
            self.assertTrue(e["profile"].get("email") or
                            e["profile"].get("external_id"), e)
        ev = status_feed(s, "klaviyo-events")
        self.assertEqual((ev["items"], ev["left_out"]), (537, 79))
        self.assertRegex(s.posfeed("status").stdout,
                         r"\n  klaviyo-events +79 +\(missing profile: 79\)")
