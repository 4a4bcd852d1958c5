#!/usr/bin/env python3
"""Deterministic datasets for tests/emulators/lse_emulator.py.

small_shop(now): the e2e shop, a dict in the emulator's dataset format
(its module docstring, section 7). Every record is written out here so a
test can name what it checks. It holds:
  - languages nl (default) and en active, de inactive;
  - a category tree (Clothing > Shirts, Clothing > Shoes, Accessories >
    Hats) and a hidden top category "Outlet";
  - products with and without a matrix (colour x size, size only),
    variants with options, tracked / untracked / indicator stock, an
    out-of-stock variant, list prices, a free product (every variant at
    0), a hidden product, a visibility "auto" product, a product without
    brand, supplier, images or categories, one only in the hidden
    category, and one deliberately carrying the API's quirks ("" for
    empty numbers, booleans in integer fields);
  - brands, suppliers, tags, two shop filters (Color, Material) with
    values on products, two attributes of one product type;
  - customers with and without newsletter consent, a company, one
    without an address; guest orders (customer false);
  - one order in every status, shipments for the shipped ones, two
    returns (refunds), order lines pointing at variants;
  - reviews visible and hidden; text pages (one hidden) and blog
    articles (one hidden).
Times are epoch seconds relative to `now` (default: today 00:00 UTC, so
orders stay inside a lookback window; pass a fixed value for output that
must not change from day to day).

bench_shop(path, ...): the benchmark shop (20k products / 60k variants /
30k orders over 12 months by default), streamed to a JSON file record
by record without building it in memory.

Run: lse_data.py small FILE [--now EPOCH]
     lse_data.py bench FILE [--products N] [--orders N] [--now EPOCH]
"""
import argparse
import json
import random
import sys
import time

DAY = 86400
SHOP_ID = 4711


def today():
    return int(time.time()) // DAY * DAY


def nl_en(nl, en):
    return {"nl": nl, "en": en}


def slug(s):
    out = "".join(c if c.isalnum() else "-" for c in s.lower())
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-")


def stamps(now, created_days, updated_days=None):
    if updated_days is None:
        updated_days = created_days
    return {"createdAt": now - created_days * DAY,
            "updatedAt": now - updated_days * DAY}


def address(name, street, number, zipcode, city, country):
    a = {}
    for side in ("Billing", "Shipping"):
        a.update({"address%sName" % side: name,
                  "address%sStreet" % side: street,
                  "address%sNumber" % side: number,
                  "address%sZipcode" % side: zipcode,
                  "address%sCity" % side: city,
                  "address%sCountry" % side: country})
    return a


NL = {"id": 150, "code": "nl", "code3": "nld", "title": "Netherlands"}
DE = {"id": 80, "code": "de", "code3": "deu", "title": "Germany"}


def catalog(now):
    """Categories, brands, suppliers, tags, filters, attributes."""
    d = {}
    d["categories"] = [
        dict(id=1, title=nl_en("Kleding", "Clothing"),
             url=nl_en("kleding", "clothing"), depth=1, path=[],
             parent=None, sortOrder=1, **stamps(now, 400, 30)),
        dict(id=2, title=nl_en("Shirts", "Shirts"),
             url=nl_en("kleding/shirts", "clothing/shirts"), depth=2,
             path=[1], parent=1, sortOrder=1, **stamps(now, 400, 30)),
        dict(id=3, title=nl_en("Schoenen", "Shoes"),
             url=nl_en("kleding/schoenen", "clothing/shoes"), depth=2,
             path=[1], parent=1, sortOrder=2, **stamps(now, 400, 30)),
        dict(id=4, title=nl_en("Accessoires", "Accessories"),
             url=nl_en("accessoires", "accessories"), depth=1, path=[],
             parent=None, sortOrder=2, **stamps(now, 400, 30)),
        dict(id=5, title=nl_en("Mutsen", "Hats"),
             url=nl_en("accessoires/mutsen", "accessories/hats"), depth=2,
             path=[4], parent=4, sortOrder=1, **stamps(now, 400, 30)),
        dict(id=6, title=nl_en("Outlet", "Outlet"),
             url=nl_en("outlet", "outlet"), depth=1, path=[],
             parent=None, sortOrder=3, isVisible=False,
             **stamps(now, 300, 20)),
    ]
    d["brands"] = [
        dict(id=1, title="Acme", url="acme", **stamps(now, 500, 100)),
        dict(id=2, title="Nordic Wool", url="nordic-wool",
             content="Wool from the north.", **stamps(now, 500, 100)),
    ]
    d["suppliers"] = [
        dict(id=1, title="Textiel BV", name="Textiel BV",
             email="orders@textiel.example", **stamps(now, 500, 100)),
        dict(id=2, title="Paper & Co", name="Paper & Co",
             **stamps(now, 500, 100)),
    ]
    d["tags"] = [
        dict(id=1, title="summer", url="summer", **stamps(now, 300)),
        dict(id=2, title="sale", url="sale", **stamps(now, 300)),
        dict(id=3, title="new", url="new", **stamps(now, 300)),
    ]
    d["filters"] = [
        dict(id=1, title=nl_en("Kleur", "Color"), sortOrder=1,
             **stamps(now, 400)),
        dict(id=2, title=nl_en("Materiaal", "Material"), sortOrder=2,
             **stamps(now, 400)),
    ]
    d["filterValues"] = [
        dict(id=11, filter=1, title=nl_en("Rood", "Red"), sortOrder=1),
        dict(id=12, filter=1, title=nl_en("Blauw", "Blue"), sortOrder=2),
        dict(id=13, filter=1, title=nl_en("Zwart", "Black"), sortOrder=3),
        dict(id=21, filter=2, title=nl_en("Katoen", "Cotton"),
             sortOrder=1),
        dict(id=22, filter=2, title=nl_en("Wol", "Wool"), sortOrder=2),
    ]
    d["attributes"] = [
        dict(id=1, title=nl_en("Wasvoorschrift", "Care"),
             **stamps(now, 400)),
        dict(id=2, title=nl_en("Herkomst", "Origin"), **stamps(now, 400)),
    ]
    d["types"] = [dict(id=1, title="Kleding")]
    d["typesAttributes"] = [dict(id=1, type=1, attribute=1, sortOrder=1),
                            dict(id=2, type=1, attribute=2, sortOrder=2)]
    return d


def product(pid, nl, en, now, age, **kw):
    p = dict(id=pid, title=nl_en(nl, en), fulltitle=nl_en(nl, en),
             url=nl_en(slug(nl), slug(en)),
             description=nl_en("Over " + nl, "About " + en),
             content=nl_en("<p>%s</p>" % nl, "<p>%s</p>" % en),
             **stamps(now, age, max(1, age // 3)))
    p.update(kw)
    return p


def variant(vid, pid, now, age, incl, stock=None, tracking="enabled",
            **kw):
    v = dict(id=vid, product=pid, priceIncl=incl,
             priceExcl=round(incl / 1.21, 2), stockTracking=tracking,
             stockLevel=stock if stock is not None else 0,
             articleCode="A%05d" % vid, sku="SKU-%05d" % vid,
             ean="87%011d" % vid, **stamps(now, age, max(1, age // 3)))
    v.update(kw)
    return v


def option(oid, title, vid, value):
    return {"id": oid, "title": title, "valueId": vid, "value": value}


def products(now):
    d = {"products": [], "variants": []}
    P, V = d["products"], d["variants"]
    # 1: matrix colour x size, tracked stock, one variant sold out.
    P.append(product(1, "Katoenen T-shirt", "Cotton T-shirt", now, 200,
                     hasMatrix=True, brand=1, supplier=1, type=1,
                     data01="fair trade"))
    vid = 101
    for ci, (cnl, cen, cvid) in enumerate(
            (("Rood", "Red", 11), ("Blauw", "Blue", 12))):
        for si, size in enumerate(("S", "M", "L")):
            V.append(variant(
                vid, 1, now, 200, 24.95, stock=[5, 0, 12][si] + ci,
                isDefault=(vid == 101), sortOrder=vid - 100,
                oldPriceIncl=29.95 if ci == 0 else 0,
                oldPriceExcl=24.75 if ci == 0 else 0,
                options=[option(1, nl_en("Kleur", "Color"), cvid,
                                nl_en(cnl, cen)),
                         option(2, nl_en("Maat", "Size"), 30 + si,
                                size)]))
            vid += 1
    # 2: single variant, untracked stock (stays in stock at level 0).
    P.append(product(2, "Mok", "Mug", now, 150, brand=1, supplier=2))
    V.append(variant(201, 2, now, 150, 9.5, stock=0, tracking="disabled",
                     isDefault=True, stockMinimum=False,
                     stockAlert=False))
    # 3: indicator stock.
    P.append(product(3, "Wollen muts", "Wool hat", now, 120, brand=2,
                     supplier=1))
    V.append(variant(301, 3, now, 120, 19.0, stock=3,
                     tracking="indicator", isDefault=True))
    # 4: a free product (every variant at 0).
    P.append(product(4, "Sticker", "Sticker", now, 90, brand=1,
                     supplier=2))
    V.append(variant(401, 4, now, 90, 0.0, stock=100, isDefault=True))
    # 5: hidden.
    P.append(product(5, "Oude jas", "Old coat", now, 300, brand=2,
                     isVisible=False, visibility="hidden"))
    V.append(variant(501, 5, now, 300, 89.0, stock=2, isDefault=True))
    # 6: visibility auto (shown while in stock).
    P.append(product(6, "Sjaal", "Scarf", now, 60, brand=2, supplier=1,
                     visibility="auto"))
    V.append(variant(601, 6, now, 60, 34.5, stock=7, isDefault=True,
                     oldPriceIncl=39.5, oldPriceExcl=32.64))
    # 7: no brand, supplier, images or categories.
    P.append(product(7, "Cadeaubon", "Gift card", now, 30))
    V.append(variant(701, 7, now, 30, 25.0, tracking="disabled",
                     isDefault=True))
    # 8: matrix by size only; the default variant is not the first id.
    P.append(product(8, "Sneakers", "Sneakers", now, 80, hasMatrix=True,
                     brand=1, supplier=1))
    for i, size in enumerate(("40", "42", "44")):
        V.append(variant(801 + i, 8, now, 80, 79.95, stock=4 - i,
                         isDefault=(i == 1), sortOrder=i + 1,
                         options=[option(2, nl_en("Maat", "Size"),
                                         40 + i, size)]))
    # 9: the quirks: "" for empty numbers, booleans in integer fields.
    P.append(product(9, "Onderzetters", "Coasters", now, 45, brand=1))
    V.append(variant(901, 9, now, 45, 12.0, stock=6, isDefault=True,
                     oldPriceIncl="", oldPriceExcl="", unitPrice="",
                     priceCost="", stockSold=True, weight=""))
    # 10: only in the hidden category.
    P.append(product(10, "Restant riem", "Leftover belt", now, 250,
                     brand=1))
    V.append(variant(1001, 10, now, 250, 5.0, stock=1, isDefault=True))
    return d


def links_images(now):
    d = {}
    d["categoriesProducts"] = [
        dict(id=i + 1, category=c, product=p, sortOrder=i + 1)
        for i, (c, p) in enumerate(
            [(1, 1), (2, 1), (4, 2), (4, 3), (5, 3), (4, 4), (1, 5),
             (4, 6), (3, 8), (1, 8), (4, 9), (6, 10)])]
    d["tagsProducts"] = [
        dict(id=i + 1, tag=t, product=p) for i, (t, p) in enumerate(
            [(1, 1), (3, 1), (2, 6), (3, 8), (2, 10)])]
    d["productFiltervalues"] = [
        dict(id=i + 1, product=p, filter=f, filtervalue=v)
        for i, (p, f, v) in enumerate(
            [(1, 1, 11), (1, 1, 12), (1, 2, 21), (3, 2, 22), (3, 1, 13),
             (6, 2, 22), (8, 1, 13)])]
    d["productAttributes"] = [
        dict(id=1, product=1, attribute=1, value=nl_en("30 graden",
                                                       "30 degrees")),
        dict(id=2, product=1, attribute=2, value="Portugal"),
        dict(id=3, product=3, attribute=2, value="Norge")]
    ims = []
    iid = 1
    for p, n in ((1, 3), (2, 1), (3, 2), (4, 1), (5, 1), (6, 1), (8, 2),
                 (9, 1), (10, 1)):
        for k in range(n):
            # Sort order deliberately not the id order for product 1.
            order = (n - k) if p == 1 else k + 1
            ims.append(dict(id=iid, product=p, sortOrder=order,
                            fileId=9000 + iid, extension="jpg",
                            size=40000 + iid,
                            title="product-%d-%d" % (p, k + 1),
                            **stamps(now, 100)))
            iid += 1
    d["productImages"] = ims
    return d


CUSTOMERS = [
    # id, first, last, email, newsletter, company, country
    (1, "Anna", "de Vries", "anna@example.nl", True, "", NL),
    (2, "Bram", "Jansen", "bram@example.nl", False, "", NL),
    (3, "Clara", "Schmidt", "clara@example.de", True, "Schmidt GmbH", DE),
    (4, "Dirk", "Bakker", "dirk@example.nl", False, "", None),
    (5, "Eva", "Visser", "eva@example.nl", True, "", NL),
]

STATUSES = [
    # status, paymentStatus, shipmentStatus
    ("on_hold", "not_paid", "not_shipped"),
    ("processing_awaiting_payment", "not_paid", "not_shipped"),
    ("processing_awaiting_shipment", "paid", "not_shipped"),
    ("processing_awaiting_pickup", "paid", "not_shipped"),
    ("processing_ready_for_pickup", "paid", "not_shipped"),
    ("completed", "paid", "shipped"),
    ("completed_shipped", "paid", "shipped"),
    ("completed_picked_up", "paid", "shipped"),
    ("cancelled", "cancelled", "cancelled"),
    ("completed_shipped", "paid", "shipped"),
    ("completed_shipped", "partially_paid", "partially_shipped"),
]


def people(now):
    cs = []
    for cid, first, last, mail, news, company, country in CUSTOMERS:
        c = dict(id=cid, firstname=first, lastname=last, email=mail,
                 newsletterSubscribed=news, isCompany=bool(company),
                 companyName=company, phone="+31 20 555 01%02d" % cid,
                 **stamps(now, 365 - cid * 20, 10 + cid))
        if country is not None:
            c.update(address("%s %s" % (first, last), "Hoofdstraat",
                             str(cid), "1000 A%d" % cid, "Amsterdam"
                             if country is NL else "Berlin", country))
        cs.append(c)
    return {"customers": cs}


def vtitle(v):
    """A variant's title as the emulator serves it, per language."""
    if "title" in v or not v.get("options"):
        return v.get("title", "Default")
    return {lang: ", ".join(
        "%s: %s" % (o["title"][lang], o["value"][lang]
                    if isinstance(o["value"], dict) else o["value"])
        for o in v["options"]) for lang in ("nl", "en")}


def line(lid, variants, vid, qty, products):
    v = variants[vid]
    p = products[v["product"]]
    return dict(id=lid, product=v["product"], variant=vid,
                productTitle=p["title"], variantTitle=vtitle(v),
                articleCode=v["articleCode"], sku=v["sku"], ean=v["ean"],
                quantityOrdered=qty, quantityInvoiced=qty,
                basePriceIncl=v["priceIncl"],
                basePriceExcl=v["priceExcl"],
                priceIncl=round(v["priceIncl"] * qty, 2),
                priceExcl=round(v["priceExcl"] * qty, 2))


def orders(now, prods):
    variants = {v["id"]: v for v in prods["variants"]}
    products_ = {p["id"]: p for p in prods["products"]}
    picks = [101, 201, 301, 401, 601, 802, 901, 104, 201, 803, 102]
    d = {"orders": [], "orderProducts": [], "shipments": [],
         "shipmentProducts": [], "returns": []}
    lid = 1
    for i, (status, pay, ship) in enumerate(STATUSES):
        oid = i + 1
        cid = None if oid in (4, 9) else CUSTOMERS[i % 5][0]
        cust = CUSTOMERS[(cid or 1) - 1]
        lines = [line(lid, variants, picks[i], 1 + i % 2, products_)]
        lid += 1
        if oid % 3 == 0:
            lines.append(line(lid, variants, 201, 2, products_))
            lid += 1
        for ln in lines:
            ln["order"] = oid
            if ship == "shipped":
                ln["quantityShipped"] = ln["quantityOrdered"]
        incl = round(sum(x["priceIncl"] for x in lines), 2)
        o = dict(id=oid, number="ORD%05d" % oid, status=status,
                 paymentStatus=pay, shipmentStatus=ship, customer=cid,
                 email=cust[3] if cid else "guest%d@example.org" % oid,
                 firstname=cust[1] if cid else "Guest",
                 lastname=cust[2] if cid else "Buyer%d" % oid,
                 newsletterSubscribed=bool(cid and cust[4]),
                 priceIncl=incl, priceExcl=round(incl / 1.21, 2),
                 language="nl" if oid % 4 else "en",
                 paymentTitle="iDEAL", shipmentTitle="PostNL",
                 **address("x", "Kerkstraat", str(oid), "1017 GA",
                           "Amsterdam", NL),
                 **stamps(now, 60 - oid * 4, 50 - oid * 4))
        d["orders"].append(o)
        d["orderProducts"].extend(lines)
        if ship in ("shipped", "partially_shipped"):
            sid = len(d["shipments"]) + 1
            d["shipments"].append(dict(
                id=sid, number="SHP%05d" % sid, status="shipped",
                order=oid, customer=cid,
                trackingCode="3STEST%06d" % oid,
                **stamps(now, 55 - oid * 4, 48 - oid * 4)))
            d["shipmentProducts"].append(dict(
                id=sid, shipment=sid, variant=lines[0]["variant"],
                quantity=lines[0]["quantityOrdered"],
                title=lines[0]["productTitle"]["nl"],
                **stamps(now, 55 - oid * 4)))
    # Returns: order 6 wholly, order 7 partly.
    for rid, oid, qty_all in ((1, 6, True), (2, 7, False)):
        o = d["orders"][oid - 1]
        ln = [x for x in d["orderProducts"] if x["order"] == oid][0]
        q = ln["quantityOrdered"] if qty_all else 1
        ln["quantityReturned"] = ln["quantityRefunded"] = q
        amount = round(ln["basePriceIncl"] * q, 2)
        d["returns"].append(dict(
            id=rid, number=rid, order=oid, customer=o["customer"],
            status="processed", email=o["email"],
            firstname=o["firstname"], lastname=o["lastname"],
            numProducts=q, priceIncl=amount,
            priceExcl=round(amount / 1.21, 2), returnReason="too small",
            orderProducts=[{"id": ln["id"], "quantity": q}],
            **stamps(now, 20 - rid, 18 - rid)))
    return d


def content(now):
    d = {}
    d["reviews"] = [
        dict(id=1, product=1, score=5, isVisible=True, name="Anna",
             content="Fits well.", customer=1, **stamps(now, 40)),
        dict(id=2, product=1, score=4, isVisible=True, name="Bram",
             content="Nice colour.", customer=2, **stamps(now, 35)),
        dict(id=3, product=1, score=1, isVisible=False, name="Spam",
             content="Buy followers!", **stamps(now, 30)),
        dict(id=4, product=3, score=3, isVisible=True, name="Clara",
             content="Warm.", customer=3, **stamps(now, 25)),
        dict(id=5, product=8, score=5, isVisible=True, name="Eva",
             content="Comfy.", customer=5, **stamps(now, 20)),
        dict(id=6, product=8, score=2, isVisible=False, name="Dirk",
             content="Pending moderation.", customer=4,
             **stamps(now, 2)),
    ]
    d["textpages"] = [
        dict(id=1, title=nl_en("Over ons", "About us"),
             url=nl_en("over-ons", "about-us"),
             content=nl_en("<p>Wij zijn een winkel.</p>",
                           "<p>We are a shop.</p>"), **stamps(now, 300)),
        dict(id=2, title=nl_en("Verzending", "Shipping"),
             url=nl_en("verzending", "shipping"),
             content=nl_en("<p>Gratis vanaf 50 euro.</p>",
                           "<p>Free from 50 euro.</p>"),
             **stamps(now, 200, 10)),
        dict(id=3, title=nl_en("Concept", "Draft"), url="draft",
             isVisible=False, content="<p>Not yet.</p>",
             **stamps(now, 5)),
    ]
    d["blogs"] = [dict(id=1, title=nl_en("Nieuws", "News"),
                       url=nl_en("nieuws", "news"), **stamps(now, 300))]
    d["blogsArticles"] = [
        dict(id=1, blog=1, title=nl_en("Zomercollectie", "Summer line"),
             url=nl_en("zomercollectie", "summer-line"),
             summary=nl_en("Nieuw binnen.", "Just in."),
             content=nl_en("<p>Shirts!</p>", "<p>Shirts!</p>"),
             author="Anna", publishedAt=now - 50 * DAY,
             image={"fileId": 7001, "title": "summer", "extension": "jpg",
                    "size": 51234},
             **stamps(now, 50)),
        dict(id=2, blog=1, title=nl_en("Wintertips", "Winter tips"),
             url=nl_en("wintertips", "winter-tips"),
             summary=nl_en("Warm blijven.", "Stay warm."),
             content="<p>Wool.</p>", author="Bram",
             publishedAt=now - 10 * DAY, **stamps(now, 10)),
        dict(id=3, blog=1, title="Draft post", url="draft-post",
             isVisible=False, content="<p>.</p>", author="Anna",
             **stamps(now, 1)),
    ]
    return d


def small_shop(now=None):
    """The e2e shop (see the module docstring)."""
    if now is None:
        now = today()
    d = {"shop": {"id": SHOP_ID, "title": "Posfeed Testwinkel",
                  "mainDomain": "www.example-shop.nl", "currency": "EUR",
                  "timeZone": "Europe/Amsterdam",
                  "createdAt": now - 800 * DAY,
                  "updatedAt": now - 100 * DAY},
         "languages": [
             dict(id=1, code="nl", locale="nl_NL", title="Nederlands",
                  isActive=True, isDefault=True),
             dict(id=2, code="en", locale="en_GB", title="English",
                  isActive=True),
             dict(id=3, code="de", locale="de_DE", title="Deutsch",
                  isActive=False)]}
    d.update(catalog(now))
    prods = products(now)
    d.update(prods)
    d.update(links_images(now))
    d.update(people(now))
    d.update(orders(now, prods))
    d.update(content(now))
    return d


# -- the bench shop --------------------------------------------------------
class Writer:
    """Streams {"key": [records...], ...} to a file."""

    def __init__(self, f):
        self.f = f
        self.first_key = True

    def value(self, key, v):
        self.f.write(("{" if self.first_key else ",\n") +
                     json.dumps(key) + ": " + json.dumps(v))
        self.first_key = False

    def rows(self, key, it):
        self.f.write(("{" if self.first_key else ",\n") +
                     json.dumps(key) + ": [")
        self.first_key = False
        sep = "\n"
        n = 0
        for r in it:
            self.f.write(sep + json.dumps(r, separators=(",", ":")))
            sep = ",\n"
            n += 1
        self.f.write("]")
        return n

    def close(self):
        self.f.write("}\n" if not self.first_key else "{}\n")


def bench_shop(path, products=20000, variants=60000, orders=30000,
               months=12, customers=None, now=None, seed=10):
    """Writes the bench shop to path; returns {key: count}."""
    if now is None:
        now = today()
    if customers is None:
        customers = max(50, orders * 4 // 15)     # 8k for 30k orders
    rng = random.Random(seed)
    span = months * 30 * DAY
    counts = {}
    # Variants per product: 1 for most, a matrix of 5 or 6 for the rest,
    # so that the total is `variants`.
    extra = max(0, variants - products)
    per = [1] * products
    i = 0
    while extra > 0:
        k = min(extra, 5)
        per[(i * 7919) % products] += k
        extra -= k
        i += 1
    ncat = 200
    with open(path, "w", encoding="utf-8") as f:
        w = Writer(f)
        w.value("shop", {"id": SHOP_ID, "title": "Bench shop",
                         "mainDomain": "www.bench-shop.nl",
                         "currency": "EUR", "timeZone": "Europe/Amsterdam",
                         "createdAt": now - 900 * DAY,
                         "updatedAt": now - 100 * DAY})
        w.value("languages", [dict(id=1, code="nl", isDefault=True,
                                   locale="nl_NL", title="Nederlands"),
                              dict(id=2, code="en", locale="en_GB",
                                   title="English")])
        counts["categories"] = w.rows("categories", (
            dict(id=c, title="Categorie %d" % c, url="cat-%d" % c,
                 depth=1 if c <= 20 else 2,
                 parent=None if c <= 20 else 1 + c % 20,
                 path=[] if c <= 20 else [1 + c % 20],
                 isVisible=c % 50 != 0, **stamps(now, 600, 200))
            for c in range(1, ncat + 1)))
        counts["brands"] = w.rows("brands", (
            dict(id=b, title="Brand %d" % b, url="brand-%d" % b,
                 **stamps(now, 600, 300)) for b in range(1, 51)))
        counts["suppliers"] = w.rows("suppliers", (
            dict(id=s, title="Supplier %d" % s, **stamps(now, 600, 300))
            for s in range(1, 11)))
        counts["filters"] = w.rows("filters", (
            dict(id=1, title="Kleur", **stamps(now, 600)),
            dict(id=2, title="Maat", **stamps(now, 600))))
        counts["filterValues"] = w.rows("filterValues", (
            dict(id=v, filter=1 if v <= 10 else 2, title="V%d" % v)
            for v in range(1, 21)))

        def prods():
            for p in range(1, products + 1):
                age = rng.randrange(30, 700)
                yield dict(id=p, title="Product %d" % p,
                           fulltitle="Product %d" % p,
                           url="product-%d" % p, hasMatrix=per[p - 1] > 1,
                           brand=1 + p % 50 if p % 9 else None,
                           supplier=1 + p % 10,
                           isVisible=p % 40 != 0,
                           visibility="visible" if p % 40 else "hidden",
                           description="Description of product %d" % p,
                           createdAt=now - age * DAY,
                           updatedAt=now - rng.randrange(1, age) * DAY)
        counts["products"] = w.rows("products", prods())

        def vars_():
            vid = 0
            for p in range(1, products + 1):
                base = round(rng.uniform(2, 200), 2)
                for k in range(per[p - 1]):
                    vid += 1
                    tracked = p % 5 != 0
                    v = dict(id=vid, product=p, isDefault=k == 0,
                             sortOrder=k + 1, priceIncl=base,
                             priceExcl=round(base / 1.21, 2),
                             articleCode="B%06d" % vid,
                             sku="BS%06d" % vid,
                             stockTracking="enabled" if tracked
                             else "disabled",
                             stockLevel=rng.randrange(0, 40),
                             createdAt=now - 700 * DAY,
                             updatedAt=now - rng.randrange(1, 600) * DAY)
                    if per[p - 1] > 1:
                        v["options"] = [{"id": 2, "title": "Maat",
                                         "valueId": 11 + k,
                                         "value": "M%d" % k}]
                    yield v
        counts["variants"] = w.rows("variants", vars_())
        counts["categoriesProducts"] = w.rows("categoriesProducts", (
            dict(id=p, category=1 + (p * 31) % ncat, product=p)
            for p in range(1, products + 1)))
        counts["productImages"] = w.rows("productImages", (
            dict(id=p, product=p, sortOrder=1, fileId=100000 + p,
                 title="p%d" % p, size=30000, **stamps(now, 300))
            for p in range(1, products + 1)))
        counts["productFiltervalues"] = w.rows("productFiltervalues", (
            dict(id=p, product=p, filter=1, filtervalue=1 + p % 10)
            for p in range(1, products + 1) if p % 2 == 0))
        counts["customers"] = w.rows("customers", (
            dict(id=c, firstname="First%d" % c, lastname="Last%d" % c,
                 email="c%d@bench.example" % c,
                 newsletterSubscribed=c % 3 == 0,
                 **stamps(now, 400 - c % 300, 10 + c % 200))
            for c in range(1, customers + 1)))
        lines_per = [1 + rng.randrange(3) for _ in range(orders)]
        ostat = ["completed_shipped"] * 6 + [
            "completed", "processing_awaiting_shipment", "cancelled",
            "completed_picked_up"]
        created = sorted(now - rng.randrange(0, span)
                         for _ in range(orders))

        def ords():
            for o in range(1, orders + 1):
                t = created[o - 1]
                c = 1 + o % customers
                yield dict(id=o, number="ORD%06d" % o,
                           status=ostat[o % len(ostat)],
                           paymentStatus="paid",
                           customer=c if o % 7 else None,
                           email="c%d@bench.example" % c,
                           priceIncl=10.0 * lines_per[o - 1],
                           createdAt=t,
                           updatedAt=min(now, t + rng.randrange(0, 5)
                                         * DAY))
        counts["orders"] = w.rows("orders", ords())

        def olines():
            lid = 0
            for o in range(1, orders + 1):
                for k in range(lines_per[o - 1]):
                    lid += 1
                    p = 1 + (o * 13 + k * 101) % products
                    yield dict(id=lid, order=o, product=p,
                               productTitle="Product %d" % p,
                               quantityOrdered=1, priceIncl=10.0,
                               basePriceIncl=10.0)
        counts["orderProducts"] = w.rows("orderProducts", olines())
        counts["reviews"] = w.rows("reviews", (
            dict(id=r, product=1 + (r * 17) % products,
                 score=1 + r % 5, isVisible=r % 6 != 0,
                 name="R%d" % r, **stamps(now, 1 + r % 300))
            for r in range(1, 2001)))
        counts["textpages"] = w.rows("textpages", (
            dict(id=t, title="Page %d" % t, url="page-%d" % t,
                 content="<p>%d</p>" % t, **stamps(now, 100))
            for t in range(1, 21)))
        w.close()
    return counts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=("small", "bench"))
    ap.add_argument("out")
    ap.add_argument("--now", type=int)
    ap.add_argument("--products", type=int, default=20000)
    ap.add_argument("--variants", type=int)
    ap.add_argument("--orders", type=int, default=30000)
    args = ap.parse_args()
    if args.kind == "small":
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(small_shop(args.now), f, indent=1)
        return
    counts = bench_shop(args.out, products=args.products,
                        variants=args.variants or 3 * args.products,
                        orders=args.orders, now=args.now)
    json.dump(counts, sys.stdout)
    print()


if __name__ == "__main__":
    main()
