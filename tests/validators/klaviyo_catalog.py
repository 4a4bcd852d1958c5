#!/usr/bin/env python3
"""Klaviyo custom catalog feed validator (JSON or XML).

Written from Klaviyo's "Sync a custom catalog feed to Klaviyo"
(developers.klaviyo.com/en/docs/guide_to_syncing_a_custom_catalog_feed_
to_klaviyo), its example feeds in JSON and XML, and "Custom catalogs and
back in stock" (developers.klaviyo.com/en/docs/custom-catalogs-and-back-
in-stock). Usage:

    klaviyo_catalog.py FEED.json|FEED.xml...

Prints one line per problem and exits 1 when there is any.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import absolute_url, load_json_rows, main  # noqa

# "The size of any one feed file should not exceed 100 MB."
MAX_BYTES = 100 * 1000 * 1000
# The fields mapped onto Klaviyo's core item fields ($id, $title, $link,
# $description, $image_link) are required, and "required fields must
# not be left blank"; $price is mapped too and must be a number.
REQUIRED = ("id", "title", "link", "description", "image_link")
NUMBER_RE = re.compile(r"-?\d+(\.\d+)?")


def check_item(where, item, xml, p):
    for name in REQUIRED:
        v = item.get(name)
        if v is None or (isinstance(v, str) and not v.strip()):
            p.add(where, "missing required %s" % name)
    for name in ("link", "image_link"):
        if item.get(name) and not absolute_url(item[name]):
            p.add(where, "%s is not an absolute http(s) URL: %r"
                  % (name, item[name]))
    pr = item.get("price")
    if pr is None:
        p.add(where, "missing price")
    elif xml and not NUMBER_RE.fullmatch(pr):
        p.add(where, "price %r is not a number" % pr)
    elif not xml and (isinstance(pr, bool) or
                      not isinstance(pr, (int, float))):
        p.add(where, "price is not a JSON number")
    # $inventory_quantity: a number of items; $inventory_policy: 1 hides
    # the item from recommendations when it is out of stock, 2 (or
    # absent) shows it regardless (back in stock guide).
    q = item.get("inventory_quantity")
    if q is not None:
        if xml and not re.fullmatch(r"-?\d+", q):
            p.add(where, "inventory_quantity %r is not a whole number" % q)
        if not xml and (isinstance(q, bool) or not isinstance(q, int)):
            p.add(where, "inventory_quantity is not a whole number")
    pol = item.get("inventory_policy")
    if pol is not None and str(pol) not in ("1", "2"):
        p.add(where, "inventory_policy %r is not 1 or 2" % pol)
    # "The data in the feed is only one node deep": no nested objects;
    # in JSON a field may be a list of plain values (the example's
    # categories), in XML categories are one comma-separated text.
    for name, v in item.items():
        if isinstance(v, dict):
            p.add(where, "%s is a nested object" % name)
        elif isinstance(v, list) and any(isinstance(x, (dict, list))
                                         for x in v):
            p.add(where, "%s nests objects or lists" % name)
        elif v is None:
            p.add(where, "%s is null" % name)
    cats = item.get("categories")
    if cats is not None and not xml and not (
            isinstance(cats, list) and all(isinstance(c, str)
                                           for c in cats)):
        p.add(where, "categories is not a list of strings")


def xml_items(path, p):
    import xml.etree.ElementTree as ET

    root = ET.parse(path).getroot()
    items = []
    for i, el in enumerate(root, 1):
        where = "item %d" % i
        fields = {}
        for ch in el:
            if len(ch):
                p.add(where, "<%s> holds elements (the feed must be one "
                      "node deep)" % ch.tag)
            if ch.tag in fields:
                p.add(where, "<%s> given twice" % ch.tag)
            fields[ch.tag] = (ch.text or "").strip()
        items.append((where, fields))
    return items


def check(path, p):
    if os.path.getsize(path) > MAX_BYTES:
        p.add("document", "larger than 100 MB: split it")
    xml = path.endswith(".xml")
    rows = xml_items(path, p) if xml else load_json_rows(path)
    seen = {}
    for where, item in rows:
        if not isinstance(item, dict):
            p.add(where, "not an object")
            continue
        check_item(where, item, xml, p)
        # $id is "the unique identifier" of a catalog item.
        key = str(item.get("id"))
        if key in seen:
            p.add(where, "id %r repeats %s" % (key, seen[key]))
        seen.setdefault(key, where)


if __name__ == "__main__":
    main(check, __doc__)
