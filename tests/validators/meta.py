#!/usr/bin/env python3
"""Meta (Facebook, Instagram) catalog feed validator, RSS 2.0 with
Google's g: field names.

Written from Meta's catalog field reference
(developers.facebook.com/docs/marketing-api/catalog/reference, "Supported
Fields") and the commerce catalog fields page
(developers.facebook.com/docs/commerce-platform/catalog/fields). Usage:

    meta.py FEED.xml...

Prints one line per problem and exits 1 when there is any.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (  # noqa
    check_fields, check_prices, gtin_ok, main, one, rss_items)

# Required fields (catalog reference, "Required fields" for products):
# id, title, description, availability, condition, price, link,
# image_link, brand.
REQUIRED = ("id", "title", "description", "availability", "condition",
            "price", "link", "image_link", "brand")
# Maximum lengths in characters.
MAX_LEN = {"id": 100, "title": 200, "description": 9999, "brand": 100,
           "mpn": 100, "item_group_id": 100, "color": 200, "size": 200,
           "product_type": 750, "google_product_category": 250}
# availability: the values Meta accepts, written with spaces.
AVAILABILITY = {"in stock", "out of stock", "preorder",
                "available for order", "discontinued"}
CONDITION = {"new", "refurbished", "used"}
# description: "plain text only ... no HTML tags or character entities"
# (catalog best practices: "Ensure that the description does not contain
# HTML tags or character entities").
HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(\s[^<>]*)?/?>")
ENTITY = re.compile(r"&(#[0-9]+|#x[0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);")


def check_item(where, f, p):
    # additional_image_link: up to 20 additional images.
    check_fields(where, f, p, REQUIRED, {"additional_image_link"},
                 MAX_LEN, 20)
    desc = one(f, "description")
    if HTML_TAG.search(desc) or ENTITY.search(desc):
        p.add(where, "description has HTML tags or character entities")
    av = one(f, "availability")
    if av and av not in AVAILABILITY:
        p.add(where, "availability %r is not one of %s"
              % (av, ", ".join(sorted(AVAILABILITY))))
    cond = one(f, "condition")
    if cond and cond not in CONDITION:
        p.add(where, "condition %r is not one of %s"
              % (cond, ", ".join(sorted(CONDITION))))
    # price: "the cost of the item and currency ... number followed by
    # the 3-letter ISO 4217 currency code", e.g. "9.99 USD".
    check_prices(where, f, p)
    gtin = one(f, "gtin")
    if gtin and not gtin_ok(gtin):
        p.add(where, "gtin %r is not a GTIN-8/12/13/14 with a valid "
              "check digit" % gtin)
    # quantity_to_sell_on_facebook: the quantity available to sell, a
    # whole number of 0 or more.
    q = one(f, "quantity_to_sell_on_facebook")
    if q and not re.fullmatch(r"\d+", q):
        p.add(where, "quantity_to_sell_on_facebook %r is not a whole "
              "number of 0 or more" % q)


def check(path, p):
    seen = {}
    for where, f in rss_items(path, p):
        check_item(where, f, p)
        ident = one(f, "id")
        # id: "a unique content ID for the item".
        if ident in seen:
            p.add(where, "id %r repeats %s" % (ident, seen[ident]))
        seen.setdefault(ident, where)


if __name__ == "__main__":
    main(check, __doc__)
