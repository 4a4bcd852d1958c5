"""Platform validators (tests/validators/, written from Google's, Meta's,
Clerk's and Klaviyo's own specifications) over the output of every
built-in template, built on the demo shop (examples/demo) and on the tiny
fixture shop (tests/fixtures/tiny); and proof that each validator does
reject what its platform would."""
import configparser
import json
import os
import shutil
import subprocess
import sys

from shop import REPO, ShopTest

VALIDATORS = os.path.join(REPO, "tests", "validators")

# Which validator checks the output of each built-in template.
BY_TEMPLATE = {
    "clerk": ["clerk.py"],
    "clerk-products": ["clerk.py", "--kind", "products"],
    "clerk-categories": ["clerk.py", "--kind", "categories"],
    "clerk-orders": ["clerk.py", "--kind", "orders"],
    "clerk-customers": ["clerk.py", "--kind", "customers"],
    "clerk-pages": ["clerk.py", "--kind", "pages"],
    "google-shopping": ["google.py"],
    "meta-catalog": ["meta.py"],
    "klaviyo-catalog-json": ["klaviyo_catalog.py"],
    "klaviyo-catalog-xml": ["klaviyo_catalog.py"],
    "klaviyo-events": ["klaviyo_events.py"],
    "klaviyo-profiles": ["klaviyo_profiles.py"],
}

def validate(args, paths):
    """Runs a validator; returns (exit code, problem lines)."""
    r = subprocess.run([sys.executable, os.path.join(VALIDATORS, args[0])]
                       + args[1:] + paths, capture_output=True, text=True,
                       timeout=120)
    return r.returncode, r.stdout.splitlines(), r.stderr


class Builtins(ShopTest):
    def build(self, conf, data, extra=""):
        """Runs posfeed on a copy of the shop; returns the feeds folder
        and its feeds as (name, template, output)."""
        s = self.shop()
        shutil.rmtree(s.data)
        shutil.copytree(data, s.data)
        cp = configparser.ConfigParser(interpolation=None,
                                       inline_comment_prefixes=(";",))
        cp.read(conf, encoding="utf-8")
        cp["shop"]["store"] = "store.db"
        cp["shop"]["feeds_dir"] = "feeds"
        cp["source"]["path"] = "data"
        cp.read_string(extra)
        with open(os.path.join(s.dir, "posfeed.conf"), "w") as f:
            cp.write(f)
        s.posfeed("run", env={"POSFEED_TOKEN": "t" * 32})
        feeds = [(sec[5:], cp[sec]["template"], cp[sec]["output"])
                 for sec in cp.sections() if sec.startswith("feed ")]
        return os.path.join(s.dir, "feeds"), feeds

    def files(self, feeds_dir, output):
        """The files a feed published: its output, or every part."""
        index = os.path.join(feeds_dir, output + ".parts.json")
        if not os.path.exists(index):
            return [os.path.join(feeds_dir, output)]
        with open(index) as f:
            return [os.path.join(feeds_dir, p["path"])
                    for p in json.load(f)["parts"]]

    def check_all(self, conf, data, extra=""):
        feeds_dir, feeds = self.build(conf, data, extra)
        self.assertEqual({t for _, t, _ in feeds}, set(BY_TEMPLATE),
                         "every built-in template is built")
        for name, template, output in feeds:
            with self.subTest(feed=name):
                args = BY_TEMPLATE[template]
                rc, problems, err = validate(
                    args, self.files(feeds_dir, output))
                self.assertEqual(rc, 0 if not problems else 1, err)
                self.assertEqual(problems, [])

    def test_demo_shop(self):
        self.check_all(os.path.join(REPO, "examples", "demo",
                                    "posfeed.conf"),
                       os.path.join(REPO, "examples", "demo", "data"))

    def test_tiny_shop(self):
        # Also the per-entity Clerk products as NDJSON.
        self.check_all(os.path.join(REPO, "tests", "golden", "tiny.conf"),
                       os.path.join(REPO, "tests", "fixtures", "tiny"),
                       "[feed clerk-products-ndjson]\n"
                       "template = clerk-products\n"
                       "output = clerk-products.ndjson\n"
                       "format = ndjson\n")

    def test_every_builtin_has_a_validator(self):
        names = {os.path.splitext(n)[0]
                 for n in os.listdir(os.path.join(REPO, "templates"))}
        self.assertEqual(names, set(BY_TEMPLATE))


class Rejects(ShopTest):
    """Each validator fails on a feed its platform would refuse, naming
    the item and the rule."""

    def write(self, name, text):
        path = os.path.join(self.shop().dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def expect(self, args, name, text, *want):
        rc, out, err = validate(args, [self.write(name, text)])
        self.assertEqual(rc, 1, "\n".join(out) + err)
        for w in want:
            self.assertTrue(any(w in line for line in out),
                            "%r not in:\n%s" % (w, "\n".join(out)))

    def expect_ok(self, args, name, text):
        rc, out, err = validate(args, [self.write(name, text)])
        self.assertEqual((rc, out), (0, []), err)

    RSS = ('<?xml version="1.0"?>\n<rss version="2.0" '
           'xmlns:g="http://base.google.com/ns/1.0"><channel>'
           '<title>S</title><link>https://s.example</link>'
           '<description>d</description>%s</channel></rss>\n')
    GOOD = ('<item><g:id>a1</g:id><g:title>T</g:title>'
            '<g:description>D</g:description>'
            '<g:link>https://s.example/a</g:link>'
            '<g:image_link>https://s.example/a.jpg</g:image_link>'
            '<g:availability>%s</g:availability>'
            '<g:price>12.50 EUR</g:price><g:brand>B</g:brand>'
            '<g:gtin>4006381333931</g:gtin><g:condition>new</g:condition>'
            '</item>')

    def test_google(self):
        self.expect_ok(["google.py"], "g.xml",
                       self.RSS % (self.GOOD % "in_stock"))
        bad = ('<item><g:id>a1</g:id><g:title>T</g:title>'
               '<g:description>D</g:description>'
               '<g:link>/a</g:link><g:availability>in stock'
               '</g:availability><g:price>12,50 EUR</g:price>'
               '<g:gtin>4006381333932</g:gtin></item>')
        self.expect(["google.py"], "g.xml",
                    self.RSS % (bad + self.GOOD % "in_stock"),
                    "item 1 (id a1): missing required image_link",
                    "link is not an absolute http(s) URL",
                    "availability 'in stock' is not one of",
                    "price '12,50 EUR' is not",
                    "gtin '4006381333932' is not a GTIN",
                    "missing brand (required for new products)",
                    "item 2 (id a1): id 'a1' repeats item 1")

    def test_meta(self):
        self.expect_ok(["meta.py"], "m.xml",
                       self.RSS % (self.GOOD % "in stock"))
        bad = (self.GOOD % "in_stock").replace(
            "<g:description>D</g:description>",
            "<g:description>&lt;b&gt;D&lt;/b&gt; &amp;amp;</g:description>"
            "<g:quantity_to_sell_on_facebook>-1"
            "</g:quantity_to_sell_on_facebook>").replace(
            "<g:brand>B</g:brand>", "")
        self.expect(["meta.py"], "m.xml", self.RSS % bad,
                    "missing required brand",
                    "availability 'in_stock' is not one of",
                    "description has HTML tags or character entities",
                    "quantity_to_sell_on_facebook '-1' is not a whole")

    def test_clerk(self):
        good = {"id": "p1", "name": "N", "description": "", "price": 1.5,
                "image": "https://s.example/a.jpg",
                "url": "https://s.example/a", "categories": [],
                "created_at": 1700000000}
        self.expect_ok(["clerk.py", "--kind", "products"], "p.json",
                       json.dumps([good]))
        bad = dict(good, id=2, brand=None, **{"läbel": "x"})
        del bad["categories"]
        bad["price"] = "1.50"
        self.expect(["clerk.py", "--kind", "products"], "p.ndjson",
                    json.dumps(good) + "\n" + json.dumps(bad) + "\n",
                    "products line 2: missing required categories",
                    "products line 2: price has the wrong type",
                    "brand is null",
                    "attribute name 'läbel'",
                    "IDs of more than one type")
        self.expect(["clerk.py"], "clerk.json", json.dumps(
            {"products": [good], "categories": [
                {"id": "c1", "name": "C", "url": "https://s.example/c"}],
             "config": {"created": 1, "strict": False}}),
            "categories item 1: missing required subcategories")
        page = {"id": "page-1", "type": "page", "title": "About",
                "text": "Since 2014.", "url": "https://s.example/about"}
        self.expect_ok(["clerk.py", "--kind", "pages"], "g.json",
                       json.dumps([page]))
        self.expect(["clerk.py", "--kind", "pages"], "g.json", json.dumps(
            [dict(page, text=""), dict(page, id="page-2", url="/about",
                                       image=None)]),
            "pages item 1: text has the wrong type or form",
            "pages item 2: url has the wrong type or form",
            "image is null")
        self.expect(["clerk.py"], "clerk.json", json.dumps(
            {"products": [dict(good, rating=7, rating_count=-1)],
             "pages": [{"id": "page-1", "title": "About"}]}),
            "products item 1: rating has the wrong type",
            "products item 1: rating_count has the wrong type",
            "pages item 1: missing required type",
            "pages item 1: missing required text")

    def test_klaviyo_catalog(self):
        good = {"id": "v1", "title": "T", "link": "https://s.example/a",
                "description": "D", "price": 12.5,
                "image_link": "https://s.example/a.jpg",
                "categories": ["A"], "inventory_quantity": 3,
                "inventory_policy": 2}
        self.expect_ok(["klaviyo_catalog.py"], "k.json",
                       json.dumps([good]))
        self.expect(["klaviyo_catalog.py"], "k.json", json.dumps([
            dict(good, image_link="", inventory_policy=3,
                 options={"Size": "M"})]),
            "item 1: missing required image_link",
            "inventory_policy 3 is not 1 or 2",
            "options is a nested object")
        self.expect(["klaviyo_catalog.py"], "k.xml",
                    "<Products><Product><id>v1</id><title>T</title>"
                    "<link>https://s.example/a</link><price>x</price>"
                    "<description><b>D</b></description></Product>"
                    "</Products>",
                    "missing required image_link", "price 'x' is not",
                    "<description> holds elements")

    def test_klaviyo_events(self):
        good = {"unique_id": "e1", "metric": "Placed Order",
                "profile": {"external_id": "c1"}, "properties": {},
                "time": "2026-10-02T08:15:00Z", "value": 12.5,
                "value_currency": "EUR"}
        self.expect_ok(["klaviyo_events.py"], "e.ndjson",
                       json.dumps(good) + "\n")
        self.expect(["klaviyo_events.py"], "e.ndjson", "\n".join(
            json.dumps(e) for e in [
                good,
                dict(good, unique_id="e2", profile={}),
                dict(good, unique_id="e1", time="2026-10-02 08:15"),
                dict(good, unique_id="e3", value_currency="eur",
                     profile={"phone_number": "+31 6 1234"}),
            ]) + "\n",
            "line 2: profile has no identifier",
            "line 3: time '2026-10-02 08:15' is not an ISO 8601",
            "line 3: unique_id 'e1' repeats line 1",
            "line 4: value_currency 'eur' is not an ISO 4217 code",
            "line 4: profile.phone_number '+31 6 1234' is not E.164")

    def test_klaviyo_profiles(self):
        good = {"email": "a@x.example", "external_id": "c1",
                "phone_number": "+31205550101",
                "location": {"city": "Amsterdam", "country": "NL"}}
        self.expect_ok(["klaviyo_profiles.py"], "p.ndjson",
                       json.dumps(good) + "\n")
        self.expect(["klaviyo_profiles.py"], "p.ndjson", "\n".join(
            json.dumps(p) for p in [
                dict(good, phone_number="+31 20 555 0101"),
                {"first_name": "X"},
            ]) + "\n",
            "line 1: phone_number '+31 20 555 0101' is not E.164",
            "line 2: no identifier")
