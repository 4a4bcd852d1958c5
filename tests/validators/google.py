#!/usr/bin/env python3
"""Google Merchant Center product feed validator (RSS 2.0, g: namespace).

Written from Google's "Product data specification"
(support.google.com/merchants/answer/7052112) and its per-attribute
pages; each rule cites the attribute it comes from. Usage:

    google.py FEED.xml...

Prints one line per problem and exits 1 when there is any.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (  # noqa
    check_fields, check_prices, gtin_ok, main, one, rss_items)

# Required for every item (answer/7052112, "Basic product data" and
# "Price and availability"): id, title, description, link, image_link,
# availability, price. brand is required for all new products except
# movies, books and musical recordings (brand [brand]); an item without
# condition is new (condition [condition]), so brand is required here
# unless the item says it is used or refurbished.
REQUIRED = ("id", "title", "description", "link", "image_link",
            "availability", "price")

# Maximum lengths in characters (the "Syntax" line of each attribute).
MAX_LEN = {"id": 50, "title": 150, "description": 5000, "link": 2000,
           "image_link": 2000, "additional_image_link": 2000,
           "brand": 70, "mpn": 70, "item_group_id": 50, "color": 100,
           "size": 100, "product_type": 750, "google_product_category":
           750}

# availability [availability]: supported values.
AVAILABILITY = {"in_stock", "out_of_stock", "preorder", "backorder"}
# condition [condition]: supported values.
CONDITION = {"new", "refurbished", "used"}
# identifier_exists [identifier_exists]: yes/no (true/false accepted).
IDENTIFIER_EXISTS = {"yes", "no", "true", "false"}
# Attributes that may be given once per item; additional_image_link and
# a few others repeat.
REPEATABLE = {"additional_image_link", "product_type", "shipping",
              "product_detail", "product_highlight", "custom_attribute",
              "included_destination", "excluded_destination"}


def check_item(where, f, p):
    # additional_image_link: up to 10 additional images.
    check_fields(where, f, p, REQUIRED, REPEATABLE, MAX_LEN, 10)
    av = one(f, "availability")
    if av and av not in AVAILABILITY:
        p.add(where, "availability %r is not one of %s"
              % (av, ", ".join(sorted(AVAILABILITY))))
    # price [price]: "a number and an ISO 4217 currency code", e.g.
    # "15.00 USD"; sale_price [sale_price] the same, and lower.
    check_prices(where, f, p)
    cond = one(f, "condition") or "new"
    if cond not in CONDITION:
        p.add(where, "condition %r is not one of %s"
              % (cond, ", ".join(sorted(CONDITION))))
    gtin = one(f, "gtin")
    if gtin and not gtin_ok(gtin):
        p.add(where, "gtin %r is not a GTIN-8/12/13/14 with a valid "
              "check digit" % gtin)
    ie = one(f, "identifier_exists").lower()
    if ie and ie not in IDENTIFIER_EXISTS:
        p.add(where, "identifier_exists %r is not yes or no" % ie)
    no_ids = ie in ("no", "false")
    if cond == "new":
        if not one(f, "brand"):
            p.add(where, "missing brand (required for new products)")
        # mpn [mpn]: required when the product has no GTIN, unless
        # identifier_exists says it has no identifiers.
        if not gtin and not one(f, "mpn") and not no_ids:
            p.add(where, "neither gtin nor mpn, and identifier_exists is "
                  "not no")


def check(path, p):
    seen = {}
    for where, f in rss_items(path, p):
        check_item(where, f, p)
        ident = one(f, "id")
        # id [id]: "Use a unique value for each product."
        if ident in seen:
            p.add(where, "id %r repeats %s" % (ident, seen[ident]))
        seen.setdefault(ident, where)


if __name__ == "__main__":
    main(check, __doc__)
