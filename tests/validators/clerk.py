#!/usr/bin/env python3
"""Clerk.io data feed validator.

Written from Clerk.io's data feed documentation: the data feed
specification (docs.clerk.io/docs/data-feed), the resources
(docs.clerk.io/reference/product-resource, /category-resource,
/customer-resource) and "Data Feeds" (help.clerk.io/integrations/
any-webshop/data-feeds: types, null values, id types, attribute
names). Pages, for which Clerk publishes no resource table, follow
Clerk's own extension (clerkio/clerk-woocommerce,
includes/class-clerk-rest-api.php: page_endpoint_callback and
ValidatePage). Usage:

    clerk.py FEED.json...                   a single-file feed
    clerk.py --kind products FEED.json...   one entity per file (JSON Feed
                                            V2: a JSON array or NDJSON);
                                            also categories, orders,
                                            customers, pages

Prints one line per problem and exits 1 when there is any.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Problems, absolute_url, load_json_rows  # noqa

# "Attribute names": only A-Z, a-z, 0-9 and underscores; other names
# are ignored by the sync.
NAME_RE = re.compile(r"[A-Za-z0-9_]+")


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def is_str(v):
    return isinstance(v, str)


def is_id(v):
    return is_int(v) or is_str(v)


def ids(v):
    return isinstance(v, list) and all(is_id(x) for x in v)


def is_bool(v):
    return isinstance(v, bool)


def nonempty_str(v):
    return is_str(v) and v != ""


def url_or_empty(v):
    """A required URL attribute: "Objects must as a minimum contain the
    required fields", typed str, holding "the full URL". A shop that has
    no image or page for an object can only send the attribute empty;
    any other value must be an absolute URL."""
    return v == "" or absolute_url(v)


# Required attributes and their types, per resource ("Required" rows).
# Product: id (int or str), name (str), description (str), price
# (float), image (str: the full URL of the image), url (str: the full
# URL of the page), categories (list of int or str), created_at (unix
# timestamp).
PRODUCT = {
    "id": is_id, "name": nonempty_str, "description": is_str,
    "price": is_num, "image": url_or_empty, "url": url_or_empty,
    "categories": ids, "created_at": is_int,
}
# Optional product attributes with a documented type.
PRODUCT_OPT = {
    "list_price": is_num, "brand": is_str, "sku": is_str, "stock": is_int,
    "on_sale": is_bool, "gender": is_str, "age": is_int, "index": is_bool,
    # Not in Clerk's product table: any custom attribute may be added.
    # posfeed's review average is a number of stars, 0 to 5, and its
    # count a whole number.
    "rating": lambda v: is_num(v) and 0 <= v <= 5,
    "rating_count": lambda v: is_int(v) and v >= 0,
}
# Category: id, name, url (the category URL), subcategories (the IDs of
# its immediate subcategories); image and description optional.
CATEGORY = {
    "id": is_id, "name": nonempty_str, "url": url_or_empty,
    "subcategories": ids,
}
CATEGORY_OPT = {"image": is_str, "description": is_str}
# Order (the specification's "orders"/"sales" example; Clerk publishes
# no table of required order attributes): an id and the products bought
# (each with id, quantity and price); time (unix timestamp), customer
# and email as the example has them when given.
ORDER = {"id": is_id, "products": lambda v: isinstance(v, list) and v}
ORDER_OPT = {"time": is_int, "customer": is_id, "email": is_str}
LINE = {"id": is_id, "quantity": is_int, "price": is_num}
# Customer: id required; email, name, zip, gender (str), age (int),
# subscribed, is_b2b (bool) optional.
CUSTOMER = {"id": is_id}
CUSTOMER_OPT = {"email": is_str, "name": is_str, "zip": is_str,
                "gender": is_str, "age": is_int, "subscribed": is_bool,
                "is_b2b": is_bool}

# Page: Clerk's extension sends id, type (the kind of page, e.g. "page"
# or "post"), url, title and text, plus image when there is one, and
# drops a page whose id, type, title or text is empty (ValidatePage).
PAGE = {
    "id": is_id, "type": nonempty_str, "title": nonempty_str,
    "text": nonempty_str, "url": url_or_empty,
}
PAGE_OPT = {"image": absolute_url, "author": is_str, "created_at": is_int,
            "updated_at": is_int}

KINDS = {
    "products": (PRODUCT, PRODUCT_OPT),
    "categories": (CATEGORY, CATEGORY_OPT),
    "orders": (ORDER, ORDER_OPT),
    "customers": (CUSTOMER, CUSTOMER_OPT),
    "pages": (PAGE, PAGE_OPT),
}


def check_value(where, name, v, p):
    """Types: int, float, str, list (array), bool, and objects (which
    cannot be used for filtering); no null: "If an attribute does not
    exist ... simply just omit the attribute"."""
    if v is None:
        p.add(where, "%s is null (leave the attribute out instead)" % name)
    elif isinstance(v, list):
        for x in v:
            check_value(where, name + "[]", x, p)
    elif isinstance(v, dict):
        for k, x in v.items():
            check_value(where, name + "." + k, x, p)


def check_object(kind, where, o, p, id_types):
    required, optional = KINDS[kind]
    if not isinstance(o, dict):
        p.add(where, "not an object")
        return
    for name, ok in required.items():
        if name not in o:
            p.add(where, "missing required %s" % name)
        elif not ok(o[name]):
            p.add(where, "%s has the wrong type or form: %s"
                  % (name, json.dumps(o[name], ensure_ascii=False)[:80]))
    for name, ok in optional.items():
        if name in o and not ok(o[name]):
            p.add(where, "%s has the wrong type: %s"
                  % (name, json.dumps(o[name], ensure_ascii=False)[:80]))
    for name, v in o.items():
        if not NAME_RE.fullmatch(name):
            p.add(where, "attribute name %r has characters other than "
                  "A-Z, a-z, 0-9 and _" % name)
        check_value(where, name, v, p)
    # "ID value types": one type for all IDs in the feed.
    for name in ("id", "customer"):
        if name in o and is_id(o[name]):
            id_types.add(type(o[name]).__name__)
    for name in ("categories", "subcategories"):
        for x in o.get(name) or []:
            if is_id(x):
                id_types.add(type(x).__name__)
    if kind == "orders":
        for i, line in enumerate(o.get("products") or [], 1):
            lw = "%s product %d" % (where, i)
            if not isinstance(line, dict):
                p.add(lw, "not an object")
                continue
            for name, ok in LINE.items():
                if name not in line:
                    p.add(lw, "missing required %s" % name)
                elif not ok(line[name]):
                    p.add(lw, "%s has the wrong type: %s"
                          % (name, json.dumps(line[name])[:80]))
            if is_id(line.get("id")):
                id_types.add(type(line["id"]).__name__)


def check_rows(kind, rows, p, id_types):
    seen = {}
    for where, o in rows:
        where = "%s %s" % (kind, where)
        check_object(kind, where, o, p, id_types)
        # Products, categories and customers are mirrored by id: one
        # object per id.
        key = json.dumps(o.get("id")) if isinstance(o, dict) else None
        if key in seen:
            p.add(where, "id %s repeats %s" % (key, seen[key]))
        seen.setdefault(key, where)


def check_document(path, p, id_types):
    """The single-file feed: {"products": [...], "categories": [...],
    "orders": [...], "customers": [...], "pages": [...], "config":
    {"created": unix time, "strict": bool}} (the older form has "sales",
    "created" and "strict" at the top)."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if not isinstance(doc, dict):
        p.add("document", "not a JSON object")
        return
    known = {"products", "categories", "orders", "sales", "customers",
             "pages", "config", "created", "strict"}
    for k in doc:
        if k not in known:
            p.add("document", "unknown top-level key %r" % k)
    for kind in ("products", "categories", "orders", "customers", "pages"):
        rows = doc.get("sales" if kind == "orders" and "sales" in doc
                       else kind, [])
        if not isinstance(rows, list):
            p.add("document", "%s is not a list" % kind)
            continue
        check_rows(kind, [("item %d" % (i + 1), o)
                          for i, o in enumerate(rows)], p, id_types)
    cfg = doc.get("config", doc)
    if "created" in cfg and not is_int(cfg["created"]):
        p.add("config", "created is not a unix timestamp")
    if "strict" in cfg and not is_bool(cfg["strict"]):
        p.add("config", "strict is not a boolean")


def run():
    args = sys.argv[1:]
    kind = None
    if args[:1] == ["--kind"] and len(args) >= 2:
        kind, args = args[1], args[2:]
    if not args or (kind is not None and kind not in KINDS) or \
            args[0] in ("-h", "--help"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    rc = 0
    for path in args:
        p = Problems(path)
        id_types = set()
        try:
            if kind is None:
                check_document(path, p, id_types)
            else:
                check_rows(kind, load_json_rows(path), p, id_types)
        except (OSError, ValueError) as e:
            print("%s: cannot read: %s" % (path, e), file=sys.stderr)
            sys.exit(2)
        if len(id_types) > 1:
            p.add("document", "IDs of more than one type (%s): use one "
                  "type for all IDs" % ", ".join(sorted(id_types)))
        rc |= p.report()
    sys.exit(rc)


if __name__ == "__main__":
    run()
