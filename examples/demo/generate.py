#!/usr/bin/env python3
"""Writes the demo shop (examples/demo/data/*.ndjson) in posfeed's file
source format (docs/file-source.md).

The output is committed, so the generator is deterministic: one seeded
random.Random, fixed "now" (2026-11-20), no dependence on the clock or on
dict/set ordering. Re-running it must reproduce the same bytes.

The shop is small but deliberately awkward: variants with two options,
stock spread unevenly over two locations, an untracked gift card, a product
with parent-level stock, a hidden category, accents, CJK, emoji, HTML in
descriptions, an '&' in a name, and exactly one character XML 1.0 forbids
(U+0003) so the import's repair path is exercised.

Usage: python3 examples/demo/generate.py [--out DIR] [--seed N]
"""

import argparse
import datetime as dt
import json
import os
import random
import sys
import unicodedata
from zoneinfo import ZoneInfo

SHOP_URL = "https://demo.posfeed.example"
TZ = ZoneInfo("Europe/Amsterdam")
NOW = dt.datetime(2026, 11, 20, 18, 0, tzinfo=TZ)
HISTORY_DAYS = 548          # about 18 months of orders up to NOW

LOCATIONS = [
    ("ams", "Amsterdam Centrum"),
    ("utr", "Utrecht"),
]

# (id, name, parent, visible). Three levels deep under Clothing and Food.
CATEGORIES = [
    ("clothing", "Clothing", None, True),
    ("tops", "Tops", "clothing", True),
    ("t-shirts", "T-shirts", "tops", True),
    ("sweaters", "Sweaters & Hoodies", "tops", True),
    ("bottoms", "Bottoms", "clothing", True),
    ("jeans", "Jeans", "bottoms", True),
    ("food", "Food & Drink", None, True),
    ("tea", "Tea", "food", True),
    ("green-tea", "Green tea 日本茶", "tea", True),
    ("coffee", "Coffee", "food", True),
    ("sweets", "Sweets", "food", True),
    ("home", "Home", None, True),
    ("kitchen", "Kitchen", "home", True),
    ("garden", "Garden 🌱", "home", True),
    ("staff-picks", "Staff picks", None, False),
]

BRANDS_CLOTHING = ["Noord Studio", "Grachtwear", "Lumière"]
BRANDS_FOOD = ["Café Central", "Kyoto Leaf", "Bakkerij Bos"]
BRANDS_HOME = ["Huis & Haard", "Groen Atelier"]

SIZES = ["S", "M", "L", "XL"]
COLOURS = ["Black", "White", "Navy", "Ochre"]
SEASONS = ["spring", "summer", "autumn", "winter", "all-season"]

# (name, category, brand pool, kind, base price)
# kind: "sc" size x colour, "s" size only, "single" one variant.
CATALOG = [
    ("Organic T-shirt", "t-shirts", BRANDS_CLOTHING, "sc", 2495),
    ("Striped Breton T-shirt", "t-shirts", BRANDS_CLOTHING, "sc", 3495),
    ("Pocket T-shirt", "t-shirts", BRANDS_CLOTHING, "sc", 2295),
    ("Long-sleeve Tee", "t-shirts", BRANDS_CLOTHING, "sc", 2995),
    ("Merino Sweater", "sweaters", BRANDS_CLOTHING, "sc", 8995),
    ("Zip Hoodie", "sweaters", BRANDS_CLOTHING, "sc", 6495),
    ("Crew Sweatshirt", "sweaters", BRANDS_CLOTHING, "sc", 5495),
    ("Cable-knit Cardigan", "sweaters", BRANDS_CLOTHING, "s", 9995),
    ("Slim Jeans", "jeans", BRANDS_CLOTHING, "s", 7995),
    ("Straight Jeans", "jeans", BRANDS_CLOTHING, "s", 7995),
    ("Relaxed Jeans", "jeans", BRANDS_CLOTHING, "s", 8495),
    ("Corduroy Trousers", "bottoms", BRANDS_CLOTHING, "s", 6995),
    ("Linen Shorts", "bottoms", BRANDS_CLOTHING, "s", 3995),
    ("Sencha 日本茶", "green-tea", ["Kyoto Leaf"], "single", 1250),
    ("Gyokuro 玉露", "green-tea", ["Kyoto Leaf"], "single", 2450),
    ("Matcha Ceremonial Grade", "green-tea", ["Kyoto Leaf"], "single", 2995),
    ("Genmaicha", "green-tea", ["Kyoto Leaf"], "single", 895),
    ("Earl Grey", "tea", BRANDS_FOOD, "single", 695),
    ("Rooibos Vanille", "tea", BRANDS_FOOD, "single", 645),
    ("Café Crème Beans", "coffee", ["Café Central"], "single", 1195),
    ("Espresso Roast", "coffee", ["Café Central"], "single", 1295),
    ("Decaf Colombia", "coffee", ["Café Central"], "single", 1145),
    ("Crème Brûlée Kit", "sweets", ["Bakkerij Bos"], "single", 1495),
    ("Stroopwafels (8 pcs)", "sweets", ["Bakkerij Bos"], "single", 495),
    ("Speculaas Tin", "sweets", ["Bakkerij Bos"], "single", 795),
    ("Dark Chocolate 72%", "sweets", ["Bakkerij Bos"], "single", 395),
    ("Salt & Pepper Mill Set", "kitchen", BRANDS_HOME, "single", 3495),
    ("Enamel Teapot", "kitchen", BRANDS_HOME, "single", 4495),
    ("Stoneware Mug", "kitchen", BRANDS_HOME, "single", 1450),
    ("Linen Tea Towel", "kitchen", BRANDS_HOME, "single", 1295),
    ("Olive Wood Board", "kitchen", BRANDS_HOME, "single", 3995),
    ("Pour-over Kettle", "kitchen", BRANDS_HOME, "single", 5995),
    ("Herb Planter 🌱", "garden", ["Groen Atelier"], "single", 2495),
    ("Monstera Cutting 🌱", "garden", ["Groen Atelier"], "single", 1895),
    ("Watering Can", "garden", ["Groen Atelier"], "single", 2995),
    ("Terracotta Pot", "garden", ["Groen Atelier"], "s", 1495),
    ("Garden Gloves", "garden", ["Groen Atelier"], "s", 1695),
    ("Seed Collection", "garden", ["Groen Atelier"], "single", 995),
    ("Beeswax Candle", "home", BRANDS_HOME, "single", 1295),
    ("Wool Throw", "home", BRANDS_HOME, "single", 8995),
    ("Handmade Vase", "home", BRANDS_HOME, "single", 4995),
    ("Canvas Tote", "home", BRANDS_HOME, "single", 1995),
    ("Gift Card", "staff-picks", ["Demo Shop"], "single", 2500),
    ("Beanie", "clothing", BRANDS_CLOTHING, "single", 2495),
    ("Wool Socks", "clothing", BRANDS_CLOTHING, "s", 1495),
    ("Rain Jacket", "clothing", BRANDS_CLOTHING, "sc", 12995),
    ("Tote Bag Japan 日本", "home", BRANDS_HOME, "single", 1795),
    ("Limited Print Staff Edition", "staff-picks", BRANDS_HOME, "single",
     3995),
    ("Espresso Cups (set of 2)", "kitchen", BRANDS_HOME, "single", 2495),
    ("Ceramic Dripper", "kitchen", BRANDS_HOME, "single", 2795),
]

GIFT_CARD = "Gift Card"              # track_stock false
PARENT_STOCK = "Handmade Vase"       # stock kept on the parent
CONTROL_CHAR = "Enamel Teapot"       # the one U+0003 in a description
SCRIPT_HTML = "Stoneware Mug"        # a <script> in its description

FIRST_NAMES = ["Anna", "Bram", "Chloé", "Daan", "Eva", "Finn", "Göran",
               "Hanna", "Iris", "Jasper", "Kenji", "Lotte", "Mila", "Noah",
               "Olivia", "Pieter", "Quinten", "Roos", "Sanne", "Thijs",
               "Umut", "Vera", "Willem", "Xiu", "Yara", "Zoë", "Émile",
               "Björn", "Saskia", "Ruud"]
LAST_NAMES = ["de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer",
              "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters",
              "Hendriks", "van Dijk", "Dekker", "Brouwer", "Müller",
              "Tanaka", "Çelik", "Lefèvre"]
CITIES = [("Amsterdam", "1012 AB", "NL"), ("Utrecht", "3511 AA", "NL"),
          ("Haarlem", "2011 AA", "NL"), ("Antwerpen", "2000", "BE"),
          ("Köln", "50667", "DE")]
STREETS = ["Damrak", "Oudegracht", "Prinsengracht", "Lange Nieuwstraat",
           "Grote Markt", "Keizersgracht"]

DISCOUNT_CODES = ["WELCOME10", "SUMMER15", "LOYAL5", "BLACKFRIDAY"]


def slug(name):
    # Fold accents (Émile -> emile) so URLs and emails stay ASCII.
    folded = unicodedata.normalize("NFKD", name.lower())
    out = []
    for ch in folded:
        if unicodedata.combining(ch):
            continue
        if ch.isascii() and ch.isalnum():
            out.append(ch)
        elif out and out[-1] != "-":
            out.append("-")
    return "".join(out).strip("-") or "item"


def money(minor):
    sign = "-" if minor < 0 else ""
    minor = abs(minor)
    return "%s%d.%02d" % (sign, minor // 100, minor % 100)


def iso_local(t):
    """ISO 8601 in shop time with its UTC offset, as a POS would export."""
    return t.astimezone(TZ).isoformat(timespec="seconds")


def iso_utc(t):
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def dump(path, rows):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False))
            f.write("\n")
    return len(rows)


def description(rng, name, brand, kind):
    """HTML the way merchants paste it: tags, entities, stray markup."""
    extra = rng.choice([
        "<p>Made to last &amp; easy to care for.</p>",
        "<p>Ships in 1&nbsp;–&nbsp;2 days.</p>",
        "<ul><li>Responsibly sourced</li><li>Plastic-free packaging"
        "</li></ul>",
        "<p>Pairs well with a slow Sunday.</p>",
    ])
    fit = ("<p>True to size; model wears <b>M</b>.</p>"
           if kind != "single" else "")
    return "<p><b>%s</b> by %s.</p>%s%s" % (name, brand, fit, extra)


def build_catalog(rng):
    products, variants, stock = [], [], []
    created0 = NOW - dt.timedelta(days=720)
    for n, (name, cat, brands, kind, base) in enumerate(CATALOG, 1):
        pid = "p%03d" % n
        brand = rng.choice(brands)
        created = created0 + dt.timedelta(days=rng.randrange(0, 500),
                                          minutes=rng.randrange(0, 1440))
        updated = created + dt.timedelta(days=rng.randrange(0, 200))
        url = "%s/products/%s" % (SHOP_URL, slug(name))
        desc = description(rng, name, brand, kind)
        if name == CONTROL_CHAR:
            # A byte a till system pasted in; XML 1.0 forbids it.
            desc = "<p>Enamel teapot,\u0003 1.2&nbsp;l.</p>"
        if name == SCRIPT_HTML:
            desc += "<script>alert('hi')</script>"
        cats = [cat]
        if cat == "green-tea":
            cats.append("tea")          # listed in parent too
        if n % 9 == 0 and cat != "staff-picks":
            cats.append("staff-picks")
        nimg = 1 + rng.randrange(3)
        images = ["%s/images/%s-%d.jpg" % (SHOP_URL, slug(name), i)
                  for i in range(1, nimg + 1)]
        attrs = {"season": rng.choice(SEASONS)}
        if cat in ("t-shirts", "sweaters", "jeans", "bottoms", "clothing"):
            attrs["material"] = rng.choice(["organic cotton", "merino wool",
                                            "denim", "linen"])
        tags = rng.sample(["new", "bestseller", "gift idea", "eco",
                           "handmade", "local"], rng.randrange(0, 3))
        if tags:
            attrs["tags"] = sorted(tags)
        if cat == "coffee" or cat == "tea" or cat == "green-tea":
            attrs["weight_g"] = rng.choice([100, 250, 500])
            attrs["organic"] = rng.random() < 0.5
        prod = {
            "id": pid,
            "name": name,
            "description": desc,
            "url": url,
            "brand": brand,
            "created_at": iso_utc(created),
            "updated_at": int(updated.timestamp()),
            "category_ids": cats,
            "images": images,
            "attributes": attrs,
        }
        if name == PARENT_STOCK:
            prod["stock"] = 6
        products.append(prod)

        # Stock pattern per product: most in both shops, some sold out
        # everywhere, some only in one location.
        r = rng.random()
        if n % 7 == 3:
            pattern = "none"
        elif n % 5 == 1:
            pattern = "ams-only"
        elif n % 5 == 2:
            pattern = "utr-only"
        else:
            pattern = "both" if r < 0.9 else "none"

        if kind == "sc":
            combos = [(s, c) for s in SIZES[:3]
                      for c in rng.sample(COLOURS, 2)]
        elif kind == "s":
            combos = [(s, None) for s in SIZES]
        else:
            combos = [(None, None)]
        on_sale = n % 4 == 0
        for pos, (size, colour) in enumerate(combos, 1):
            vid = "%s-%d" % (pid, pos)
            price = base + (500 if size == "XL" else 0)
            v = {
                "id": vid,
                "product_id": pid,
                "sku": "%s-%s%s" % (slug(name)[:10].upper(), size or "OS",
                                    ("-" + colour[:3].upper())
                                    if colour else ""),
                "ean": "871%010d" % (n * 100 + pos),
                "price": money(price),
                "position": pos,
            }
            if on_sale:
                v["price"] = money(price * 8 // 10 // 5 * 5)
                v["list_price"] = money(price)
            if size or colour:
                opts = {}
                if size:
                    opts["Size"] = size
                if colour:
                    opts["Colour"] = colour
                v["options"] = opts
            if colour:
                v["image"] = "%s/images/%s-%s.jpg" % (
                    SHOP_URL, slug(name), colour.lower())
            if name == GIFT_CARD:
                v["track_stock"] = False
                v["sku"] = "GIFT-25"
            if kind == "s" and size == "XL":
                v["attributes"] = {"fit": "relaxed"}
            variants.append(v)
            if name == GIFT_CARD or name == PARENT_STOCK:
                continue
            for loc, _ in LOCATIONS:
                if pattern == "none":
                    q = rng.choice([0, 0, 0, -1])
                elif pattern == "ams-only":
                    q = rng.randrange(1, 9) if loc == "ams" else 0
                elif pattern == "utr-only":
                    q = rng.randrange(1, 9) if loc == "utr" else 0
                else:
                    q = rng.randrange(0, 12)
                stock.append({"variant_id": vid, "location_id": loc,
                              "quantity": q})
    return products, variants, stock


def build_customers(rng):
    customers = []
    for n in range(1, 31):
        first = FIRST_NAMES[n - 1]
        last = LAST_NAMES[rng.randrange(len(LAST_NAMES))]
        city, zip_code, country = CITIES[rng.randrange(len(CITIES))]
        created = NOW - dt.timedelta(days=rng.randrange(30, 700))
        c = {"id": "c%03d" % n, "first_name": first, "last_name": last}
        if n % 6 != 0:
            local = slug(first + " " + last).replace("-", ".")
            c["email"] = "%s@example.com" % local
        if n % 4 == 0:
            c["company"] = "%s & Co" % last
        c["address1"] = "%s %d" % (STREETS[rng.randrange(len(STREETS))],
                                   rng.randrange(1, 300))
        c["city"] = city
        c["zip"] = zip_code
        c["country"] = country
        if n % 3 == 0:
            c["phone"] = "+31 6 %04d %04d" % (rng.randrange(10000),
                                             rng.randrange(10000))
        # Consent: true, false, null (asked, no answer) or absent.
        c["consent"] = [True, True, False, None, True][n % 5]
        if n % 10 == 7:
            del c["consent"]
        c["created_at"] = iso_utc(created)
        c["updated_at"] = iso_utc(created + dt.timedelta(
            days=rng.randrange(0, 30)))
        customers.append(c)
    return customers


def build_orders(rng, products, variants, customers):
    by_product = {}
    for v in variants:
        by_product.setdefault(v["product_id"], []).append(v)
    names = {p["id"]: p["name"] for p in products}
    sellable = [p["id"] for p in products]
    orders, lines = [], []
    start = NOW - dt.timedelta(days=HISTORY_DAYS)
    times = sorted(start + dt.timedelta(seconds=rng.randrange(
        HISTORY_DAYS * 86400)) for _ in range(196))
    completed_ids = []
    for n, t in enumerate(times, 1):
        # Shop hours, local time.
        t = t.astimezone(TZ).replace(hour=9 + rng.randrange(9),
                                     minute=rng.randrange(60), second=0)
        oid = "o%04d" % n
        r = rng.random()
        status = ("completed" if r < 0.82 else "pending" if r < 0.89
                  else "cancelled" if r < 0.95 else "voided")
        if t > NOW - dt.timedelta(days=2) and status == "completed":
            status = "pending"
        cust = None if n % 8 == 0 else customers[rng.randrange(
            len(customers))]
        loc = LOCATIONS[n % 2][0]
        o = {"id": oid, "number": str(10000 + n), "status": status,
             "location_id": loc}
        if cust:
            o["customer_id"] = cust["id"]
            if "email" in cust and n % 11 != 0:
                o["email"] = cust["email"]
        o["currency"] = "EUR"
        o["created_at"] = iso_local(t)
        if status == "completed":
            o["completed_at"] = iso_local(t + dt.timedelta(minutes=3))
        total = 0
        nlines = 1 + rng.randrange(4)
        for pos in range(1, nlines + 1):
            pid = sellable[rng.randrange(len(sellable))]
            v = by_product[pid][rng.randrange(len(by_product[pid]))]
            qty = 1 + (rng.random() < 0.2)
            unit = int(v["price"].replace(".", ""))
            ln = {"id": "%s-%d" % (oid, pos), "order_id": oid,
                  "product_id": pid, "variant_id": v["id"],
                  "name": names[pid], "sku": v["sku"], "quantity": qty,
                  "unit_price": v["price"], "position": pos}
            disc = 0
            if rng.random() < 0.08:
                disc = unit * qty // 10
                ln["discount"] = money(disc)
            total += unit * qty - disc
            lines.append(ln)
        if n % 97 == 0:
            # A product the shop no longer sells: history outlives it.
            ln = {"id": "%s-%d" % (oid, nlines + 1), "order_id": oid,
                  "product_id": "p-retired", "variant_id": "p-retired-1",
                  "name": "Retired Linen Apron", "quantity": 1,
                  "unit_price": "19.95", "position": nlines + 1}
            total += 1995
            lines.append(ln)
        if rng.random() < 0.15:
            code = DISCOUNT_CODES[rng.randrange(len(DISCOUNT_CODES))]
            d = total // 10
            o["discount_total"] = money(d)
            o["discount_codes"] = [code]
            total -= d
        o["total"] = money(total)
        if status == "completed" and rng.random() < 0.4:
            o["shipped"] = True
            o["shipped_at"] = iso_utc(t + dt.timedelta(days=1, hours=2))
        elif status in ("completed", "pending"):
            o["shipped"] = False
        orders.append(o)
        if status == "completed":
            completed_ids.append((oid, t))

    # Refunds: a new completed order pointing at the original, with
    # negative-quantity return lines.
    by_order = {}
    for ln in lines:
        by_order.setdefault(ln["order_id"], []).append(ln)
    picks = [completed_ids[i] for i in (5, 40, 90, 130)]
    n = len(orders)
    for orig, t in picks:
        n += 1
        oid = "o%04d" % n
        src = by_order[orig][0]
        rt = t + dt.timedelta(days=3, hours=1)
        unit = int(src["unit_price"].replace(".", ""))
        orig_order = next(o for o in orders if o["id"] == orig)
        o = {"id": oid, "number": str(10000 + n), "status": "completed",
             "location_id": orig_order["location_id"]}
        for k in ("customer_id", "email"):
            if k in orig_order:
                o[k] = orig_order[k]
        o.update({"currency": "EUR", "created_at": iso_local(rt),
                  "completed_at": iso_local(rt),
                  "total": money(-unit), "refund_of": orig})
        orders.append(o)
        lines.append({"id": "%s-1" % oid, "order_id": oid,
                      "product_id": src["product_id"],
                      "variant_id": src["variant_id"], "name": src["name"],
                      "sku": src.get("sku"), "quantity": -1,
                      "unit_price": src["unit_price"], "is_return": True,
                      "position": 1})
    return orders, lines


# The shop's text pages and blog articles (pages.ndjson): (id, kind,
# title, path, body, visible). One is hidden, so it stays out of feeds.
PAGES = [
    ("page-about", "page", "About us", "/service/about",
     "<h1>About us</h1><p>A lifestyle store on the Prinsengracht since "
     "2014, now also in Utrecht.</p>", True),
    ("page-shipping", "page", "Shipping & returns", "/service/shipping",
     "<p>Free shipping in the Netherlands from &euro;50. Returns within "
     "30 days.</p>", True),
    ("page-staff", "page", "Staff rota", "/service/staff",
     "<p>Internal.</p>", False),
    ("article-merino", "article", "Why merino keeps you warm",
     "/blogs/journal/why-merino", "<p>Merino wool breathes, so you stay "
     "warm <em>and</em> dry.</p>", True),
    ("article-coffee", "article", "Brewing a better filter coffee",
     "/blogs/journal/filter-coffee", "<p>Grind fresh, 60 g per litre, "
     "water just off the boil.</p>", True),
]


def build_pages(rng):
    pages = []
    for pid, kind, title, path, body, visible in PAGES:
        created = NOW - dt.timedelta(days=rng.randrange(30, 400))
        p = {"id": pid, "kind": kind, "title": title,
             "url": SHOP_URL + path, "content": body,
             "created_at": iso_utc(created),
             "updated_at": iso_utc(created + dt.timedelta(
                 days=rng.randrange(0, 30)))}
        if kind == "article":
            p["author"] = rng.choice(["Sanne", "Joost"])
            p["summary"] = title + "."
        if not visible:
            p["visible"] = False
        pages.append(p)
    return pages


def build_reviews(rng, products):
    """Reviews of about a third of the products, scores in half stars;
    one in ten is hidden (not approved), so it must not count."""
    reviews = []
    for p in products:
        if rng.random() >= 0.35:
            continue
        for _ in range(1 + rng.randrange(4)):
            r = {"id": "r%03d" % (len(reviews) + 1),
                 "product_id": p["id"],
                 "score": rng.choice([2, 3, 3.5, 4, 4, 4.5, 5, 5]),
                 "created_at": iso_utc(NOW - dt.timedelta(
                     days=rng.randrange(1, 300)))}
            if rng.random() < 0.1:
                r["visible"] = False
            reviews.append(r)
    return reviews


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(here, "data"))
    ap.add_argument("--seed", type=int, default=20261120)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)

    locations = [{"id": i, "name": nm, "timezone": "Europe/Amsterdam"}
                 for i, nm in LOCATIONS]
    categories = []
    for pos, (cid, name, parent, visible) in enumerate(CATEGORIES, 1):
        c = {"id": cid, "name": name}
        if parent:
            c["parent_id"] = parent
        c["url"] = "%s/c/%s" % (SHOP_URL, cid)
        if not visible:
            c["visible"] = False
        c["position"] = pos
        categories.append(c)
    products, variants, stock = build_catalog(rng)
    customers = build_customers(rng)
    orders, lines = build_orders(rng, products, variants, customers)
    pages = build_pages(rng)
    reviews = build_reviews(rng, products)

    out = [("locations", locations), ("categories", categories),
           ("products", products), ("variants", variants),
           ("stock", stock), ("customers", customers),
           ("orders", orders), ("order_lines", lines),
           ("pages", pages), ("reviews", reviews)]
    for name, rows in out:
        path = os.path.join(args.out, name + ".ndjson")
        print("%-12s %5d rows  %s" % (name, dump(path, rows), path))


if __name__ == "__main__":
    main(sys.argv[1:])
