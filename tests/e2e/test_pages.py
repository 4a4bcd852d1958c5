"""Issue 10, [sync] include_ratings, include_pages and
include_free_products: ratings from visible reviews, the pages
collection (clerk-pages and the pages of clerk), and free products left
out and counted. The file source carries pages and reviews
(docs/file-source.md)."""
import os
import subprocess
import sys

from shop import REPO, ShopTest, by_id

CLERK_VALIDATOR = os.path.join(REPO, "tests", "validators", "clerk.py")


def catalog(s):
    """p1 has two visible reviews (5 and 4) and a hidden one (1); p2 has
    none; one page, one article and a hidden page."""
    s.rows["pages"] = []
    s.rows["reviews"] = []
    s.add_product("p1", name="Shirt")
    s.add_product("p2", name="Mug")
    s.add("reviews", id="r1", product_id="p1", score=5)
    s.add("reviews", id="r2", product_id="p1", score="4")
    s.add("reviews", id="r3", product_id="p1", score=1, visible=False)
    s.add("pages", id="page-1", kind="page", title="About us",
          url="/service/about", content="<p>Since <b>2014</b>.</p>",
          image="/img/about.jpg", created_at="2026-01-02T10:00:00Z")
    s.add("pages", id="article-7", kind="article", title="Merino",
          url="/blogs/journal/merino", summary="Why it is warm.",
          author="Sanne", updated_at=1772359200)
    s.add("pages", id="page-2", kind="page", title="Staff",
          url="/service/staff", content="Internal.", visible=False)
    return s


def validate(kind, path):
    args = [sys.executable, CLERK_VALIDATOR]
    if kind:
        args += ["--kind", kind]
    r = subprocess.run(args + [path], capture_output=True, text=True,
                       timeout=60)
    return r.returncode, r.stdout + r.stderr


class Ratings(ShopTest):
    def test_off_by_default(self):
        s = catalog(self.shop())
        s.run()
        for p in s.feed()["products"]:
            self.assertNotIn("rating", p)
            self.assertNotIn("rating_count", p)

    def test_on_counts_visible_reviews_only(self):
        s = catalog(self.shop())
        s.sync["include_ratings"] = "yes"
        s.run()
        ps = by_id(s.feed()["products"])
        # (5 + 4) / 2; the hidden 1 would make it 3.3 and the count 3.
        self.assertEqual(ps["p1"]["rating"], 4.5)
        self.assertEqual(ps["p1"]["rating_count"], 2)
        self.assertEqual(ps["p2"]["rating_count"], 0)
        self.assertNotIn("rating", ps["p2"])

    def test_hiding_a_review_changes_the_rating(self):
        s = catalog(self.shop())
        s.sync["include_ratings"] = "yes"
        s.run()
        s.rows["reviews"][1]["visible"] = False       # r2, the 4
        s.add("reviews", id="r4", product_id="p2", score=3.5)
        s.run()
        ps = by_id(s.feed()["products"])
        self.assertEqual((ps["p1"]["rating"], ps["p1"]["rating_count"]),
                         (5, 1))
        self.assertEqual((ps["p2"]["rating"], ps["p2"]["rating_count"]),
                         (3.5, 1))

    def test_one_decimal_place(self):
        s = catalog(self.shop())
        s.sync["include_ratings"] = "yes"
        s.add("reviews", id="r5", product_id="p1", score=4.5)
        s.run()
        # (5 + 4 + 4.5) / 3 = 4.5; with r6 (5 + 4 + 4.5 + 4) / 4 = 4.375
        s.add("reviews", id="r6", product_id="p1", score=4)
        s.run()
        with open(s.feed_path(), encoding="utf-8") as f:
            text = f.read()
        self.assertIn('"rating":4.4,"rating_count":4', text)

    def test_per_feed_override(self):
        s = catalog(self.shop())
        s.feeds["rated"] = {"template": "clerk-products",
                            "output": "rated.json", "include_ratings": "yes"}
        s.run()
        self.assertNotIn("rating_count", s.feed()["products"][0])
        rated = by_id(s.feed("rated.json"))
        self.assertEqual(rated["p1"]["rating"], 4.5)

    def test_deleting_a_product_deletes_its_reviews(self):
        s = catalog(self.shop())
        s.source["max_drop"] = "100%"
        s.sync["include_ratings"] = "yes"
        s.run()
        db = s.db()
        self.assertEqual(db.execute(
            "SELECT count(*) FROM reviews WHERE product_id = 'p1'")
            .fetchone()[0], 3)
        s.rows["products"] = [p for p in s.rows["products"]
                              if p["id"] != "p1"]
        s.rows["variants"] = [v for v in s.rows["variants"]
                              if v["product_id"] != "p1"]
        # The reviews file still lists p1's reviews: they are refused
        # (their product is gone), never brought back.
        r = s.run()
        self.assertEqual(db.execute(
            "SELECT count(*) FROM reviews WHERE product_id = 'p1'")
            .fetchone()[0], 0)
        self.assertIn("product 'p1' does not exist", r.stderr)
        self.assertEqual([p["id"] for p in s.feed()["products"]], ["p2"])

    def test_bad_score_refused_with_its_line(self):
        s = catalog(self.shop())
        s.add("reviews", id="r9", product_id="p2", score=7)
        r = s.run()
        self.assertIn("reviews.ndjson:4: field 'score': expected 0 to 5",
                      r.stderr)
        self.assertEqual(s.db().execute(
            "SELECT count(*) FROM reviews WHERE id = 'r9'").fetchone()[0],
            0)


class Pages(ShopTest):
    def shop_with_pages(self, **sync):
        s = catalog(self.shop())
        s.sync.update(sync)
        s.feeds["pages"] = {"template": "clerk-pages",
                            "output": "pages.json"}
        return s

    def test_off_by_default(self):
        s = self.shop_with_pages()
        s.run()
        self.assertEqual(s.feed("pages.json"), [])
        self.assertNotIn("pages", s.feed())

    def test_on(self):
        s = self.shop_with_pages(include_pages="yes")
        s.run()
        pages = by_id(s.feed("pages.json"))
        self.assertEqual(sorted(pages), ["article-7", "page-1"])
        self.assertEqual(pages["page-1"], {
            "id": "page-1", "type": "page",
            "url": "https://shop.example/service/about",
            "title": "About us", "text": "Since 2014.",
            "image": "https://shop.example/img/about.jpg",
            "created_at": 1767348000})
        # No body: the summary is the text.
        self.assertEqual(pages["article-7"]["text"], "Why it is warm.")
        self.assertEqual(pages["article-7"]["author"], "Sanne")
        self.assertEqual(pages["article-7"]["updated_at"], 1772359200)
        self.assertEqual(by_id(s.feed()["pages"]), pages)

    def test_per_feed_override(self):
        s = self.shop_with_pages()
        s.feeds["pages"]["include_pages"] = "yes"
        s.run()
        self.assertEqual(len(s.feed("pages.json")), 2)
        self.assertNotIn("pages", s.feed())

    def test_validated_by_clerk_validator(self):
        s = self.shop_with_pages(include_pages="yes", include_ratings="yes")
        s.run()
        for kind, name in (("pages", "pages.json"), (None, "clerk.json")):
            with self.subTest(feed=name):
                rc, out = validate(kind, s.feed_path(name))
                self.assertEqual((rc, out), (0, ""))

    def test_page_without_text_left_out_and_counted(self):
        s = self.shop_with_pages(include_pages="yes")
        s.add("pages", id="page-3", kind="page", title="Empty",
              url="/service/empty")
        r = s.run()
        self.assertEqual(len(s.feed("pages.json")), 2)
        self.assertIn("1 left out (missing text: 1)", r.stdout)

    def test_deleted_page_leaves_the_feed(self):
        s = self.shop_with_pages(include_pages="yes")
        s.source["max_drop"] = "100%"
        s.run()
        s.rows["pages"] = s.rows["pages"][1:]
        s.run()
        self.assertEqual([p["id"] for p in s.feed("pages.json")],
                         ["article-7"])


class FreeProducts(ShopTest):
    def shop_with_free(self, **sync):
        s = self.shop()
        s.rows["pages"] = []
        s.rows["reviews"] = []
        s.add_product("paid", price="10.00")
        s.add_product("free", name="Sample", variants=[
            {"id": "free-a", "price": "0.00"},
            {"id": "free-b", "price": 0}])
        # One variant at 0 is a free option, not a free product.
        s.add_product("mixed", variants=[
            {"id": "mixed-a", "price": "0"},
            {"id": "mixed-b", "price": "5.00"}])
        s.sync.update(sync)
        s.feeds["google"] = {"template": "google-shopping",
                             "output": "google.xml"}
        return s

    def left_out(self, s, feed):
        return dict(s.db().execute(
            "SELECT reason, items FROM feed_left_out WHERE feed = ?",
            (feed,)).fetchall())

    def test_left_out_and_counted_by_default(self):
        s = self.shop_with_free()
        r = s.run()
        ids = [p["id"] for p in s.feed()["products"]]
        self.assertEqual(ids, ["mixed", "paid"])
        with open(s.feed_path("google.xml"), encoding="utf-8") as f:
            google = f.read()
        self.assertNotIn("free-a", google)
        self.assertIn("mixed-a", google)
        self.assertEqual(self.left_out(s, "clerk"), {"free product": 1})
        # Google's rows are variants: both of the free product's.
        self.assertEqual(self.left_out(s, "google"), {"free product": 2})
        self.assertIn("left out (free product: 1)", r.stdout)
        st = s.posfeed("status")
        self.assertIn("free product", st.stdout)

    def test_kept_with_include_free_products(self):
        s = self.shop_with_free(include_free_products="yes")
        s.run()
        ids = [p["id"] for p in s.feed()["products"]]
        self.assertEqual(ids, ["free", "mixed", "paid"])
        self.assertEqual(by_id(s.feed()["products"])["free"]["price"], 0)
        self.assertEqual(self.left_out(s, "clerk"), {})

    def test_per_feed_override(self):
        s = self.shop_with_free()
        s.feeds["google"]["include_free_products"] = "yes"
        s.run()
        with open(s.feed_path("google.xml"), encoding="utf-8") as f:
            self.assertIn("free-a", f.read())
        self.assertNotIn("free", [p["id"] for p in s.feed()["products"]])


class Config(ShopTest):
    def test_bad_value_names_the_line(self):
        s = self.shop()
        s.sync["include_pages"] = "maybe"
        s.write_data()
        s.write_config()
        r = s.posfeed("check", expect=None)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("posfeed.conf:", r.stderr)
        self.assertIn("include_pages: expected yes/no", r.stderr)

    def test_near_miss_gets_a_hint(self):
        s = self.shop()
        s.sync["include_rating"] = "yes"
        s.write_data()
        s.write_config()
        r = s.posfeed("check", expect=None)
        self.assertIn("did you mean 'include_ratings'", r.stderr)
