#!/usr/bin/env python3
"""Lightspeed eCom (C-series, ex-SEOshop / WebshopApp) API emulator.

This docstring is the API contract src/source_lse.c is written against.
Every shape below is served exactly as written. Sources, cited per item:
  [PHP]   SEOshop/API-PHP-Client src/WebshopappApiClient.php (official
          client: every resource path, clusters eu1/us1)
  [TS]    NickTacke/lightspeed-client src/resources/*, src/core/*
          (zod schemas: field names and types, envelopes, paging,
          rate-limit headers, error bodies)
  [TAP]   hotgluexyz/tap-lightspeed tap_lightspeed/client.py, streams.py
          (quirk clean-up, transient 404s on orders, Retry-After as a
          date, paging by page+limit=250, UTC "YYYY-MM-DD HH:MM:SS")
  [REF]   /work/shared/reference/source-apis.md section 2
  GUESS   not confirmed by any source we could read; chosen so that a
          source coded defensively against it also works if the real API
          differs in the obvious way. docs/lightspeed-ecom.md lists them.

1. Transport
------------
Base URL {api_url}/{lang}/ ; eu1 = https://api.webshopapp.com, us1 =
https://api.shoplightspeed.com [PHP]. Tests use http://127.0.0.1:PORT.
Only GET is served (other methods: 405, error body). Only `.json` paths
are served; anything else (e.g. `.xml`, which the real API also serves
[REF]) is a 404 error body.

Order of checks for GET /{lang}/{path}.json:
  1. HTTP Basic auth, user = api key, password = api secret [PHP][REF].
     Missing or wrong: 401, error body, NO rate-limit headers, not
     counted against the quota (GUESS).
  2. Rate limiter (section 4): when any window is exhausted: 429 with
     Retry-After and the rate-limit headers; the 429 is not counted.
     Otherwise the request is counted in all three windows.
  3. Language: {lang} must be the `code` of a language with
     isActive = true; else 404 with message "Unknown or inactive
     language" [REF].
  4. Scripted faults (section 6).
  5. Routing: unknown resource path or unknown id: 404 error body.
Every answer after step 1 carries the rate-limit headers, errors and
faulted answers included (except "hang", which answers nothing).

Error body (every non-2xx answer) [TS errors.ts][REF]:
  {"error": {"code": 404, "method": "GET",
             "request": "/nl/products/99.json",
             "message": "Product not found"}}
code is the HTTP status as a JSON number; request is the path without
the query string.

2. Envelopes and common shapes
------------------------------
- List  GET /{lang}/{res}.json           -> {"<plural>": [ {...}, ... ]}
- One   GET /{lang}/{res}/{id}.json      -> {"<singular>": {...}}
- Count GET /{lang}/{res}/count.json     -> {"count": N}
  ([TS] endpoints.ts/resource.ts; count honours the same filters as the
  list and ignores page/limit/fields.) An empty list is
  {"<plural>": []} (GUESS: the real API may send `false`; sources should
  accept both).
- Resource reference (to-one) [TS fragments.ts]:
    {"resource": {"id": 12, "url": "brands/12",
                  "link": "http://127.0.0.1:PORT/nl/brands/12.json"}}
  An absent to-one reference is the literal `false` (brand, supplier,
  type, parent, customer, variant of a deleted product, ...) [TS][REF].
- Collection reference (to-many, e.g. product.variants): same shape with
  "id": false and a url with the filter, e.g.
    {"resource": {"id": false, "url": "variants?product=5",
                  "link": "http://.../nl/variants.json?product=5"}}
  (shape [TS]; the url form is a GUESS). The source must not follow
  them; it reads the join endpoints instead.
- Image object (product.image, variant.image, category.image,
  brand.image, article.image) [TS fragments.ts fileObject] or `false`:
    {"createdAt", "updatedAt", "extension": "jpg", "size": 48213,
     "title": "red-shirt", "thumb": URL, "src": URL}
  src = https://cdn.webshopapp.com/shops/{shopId}/files/{fileId}/
  {title}.{extension}; thumb = the same with "50x50x2/" inserted before
  the file name. A sized image is src with "{W}x{H}x{Z}/" inserted
  before the file name (GUESS from the storefront's url_image filter;
  the emulator does not serve image bytes).
- Datetimes: ISO 8601 in the shop's time zone with its offset, e.g.
  "2026-06-02T10:24:44+02:00" in summer and "...+01:00" in winter
  (shop timeZone, default Europe/Amsterdam) [REF].
- Localized text (title, fulltitle, description, content, url, ...)
  is served in the request's language; a language without its own text
  gets the default language's text (GUESS).
- Numbers are JSON numbers, booleans JSON booleans, except the quirks
  the dataset injects on purpose [TAP clean_values][REF]: `""` for an
  empty number (variant unitPrice/priceCost when unset; some
  oldPriceIncl/oldPriceExcl, weight), `true`/`false` in integer fields
  (variant stockMinimum/stockAlert of untracked variants, stockSold),
  `null` for variant hs and taxType [TS variant.ts], `false` for order
  referralId/gender/birthDate when unset [TS order.ts].

3. Listing parameters (every list and count endpoint)
-----------------------------------------------------
[TS types.ts ListQuery, paginate.ts][TAP][REF]
- page: 1-based, default 1. limit: default 50 (GUESS), at most 250;
  above 250 is served as 250, below 1 as the default. A page past the
  end is an empty list. Lists are sorted by id ascending.
- since_id=N: only ids > N (ascending); combines with page/limit.
- created_at_min / created_at_max / updated_at_min / updated_at_max:
  inclusive bounds: a record matches when min <= its time <= max
  (GUESS). Value either
  "YYYY-MM-DD HH:MM:SS" read as UTC [TAP sends UTC in this form], or
  ISO 8601 with "Z" or an offset. An unparseable value: 400 error body
  (GUESS).
- fields=id,title,...: each record holds only those keys (unknown names
  ignored; an empty result key set still holds "id") [TS].
- Per-resource filters (exact match, below). Unknown parameters are
  ignored. A non-numeric page, limit or since_id: 400 (GUESS).
- Optional, off by default (config deep_page_rows): a page whose first
  row lies beyond N rows answers 400 "Page too deep, use since_id"
  (the real API reportedly caps deep page offsets [REF]; the cap and
  message are GUESSES).

4. Rate limits [REF 2.3][TS rate-limit.ts]
------------------------------------------
Three fixed windows per API key: 300 requests / 5 min, 3000 / hour,
12000 / day. A window starts with its first counted request and resets
to full when its length has passed. Headers on every answer after auth:
  X-RateLimit-Limit:     300/3000/12000
  X-RateLimit-Remaining: 299/2999/11999      (after this request)
  X-RateLimit-Reset:     263/2063/23663      (whole seconds, rounded
                                              up, to each window's reset)
Exhausted (any window's remaining is 0 before the request): 429 with
"Retry-After: S" (S = seconds until the latest-resetting exhausted
window resets; rounded up) or, when config retry_after = "date", an
HTTP date (IMF-fixdate) [REF: clients read it both ways; TAP parses a
date]. Limits and window lengths are configurable; --scale-windows X
multiplies the three lengths by X (tests and the bench use e.g. 0.01).
GET /{lang}/account/ratelimit.json is counted like any request and
answers (key names GUESS beyond limit5Min [REF]):
  {"accountRatelimit": {
     "limit5Min":  {"limit": 300,   "remaining": R, "reset": S,
                    "resetTime": ISO},
     "limitHour":  {...}, "limitDay": {...}}}

5. Endpoints
------------
Envelope keys are plural/singular. All records carry "id" (integer).
Records with createdAt/updatedAt support the time filters.

/shop.json -> {"shop": {...}}                                 [PHP][REF]
  id, createdAt, updatedAt, title, mainDomain ("www.example.nl": a host
  name, no scheme; GUESS), currency ("EUR", ISO 4217; GUESS shape),
  timeZone ("Europe/Amsterdam"; GUESS), languages (collection ref).
/languages.json, /languages/{id}.json -> languages / language [PHP][REF]
  id, isActive, isDefault, code ("nl"), locale ("nl_NL"), title.
  Only active languages route; /languages.json lists inactive ones too.
/products.json, /products/{id}.json -> products / product  [PHP][TS]
  id, createdAt, updatedAt, isVisible (bool), visibility ("visible" |
  "hidden" | "auto"), hasMatrix, data01..data03, url (slug), title,
  fulltitle, description, content, set (false), templateDataFields
  ({}), brand (ref|false),
  categories (coll), deliverydate (false), image (image|false), images
  (coll), relations (coll), metafields (coll), reviews (coll), type
  (ref|false), attributes (coll), supplier (ref|false), tags (coll),
  variants (coll), movements (coll).
  Filters: brand, supplier, type.
/variants.json, /variants/{id}.json -> variants / variant  [PHP][TS]
  id, createdAt, updatedAt, isDefault, sortOrder, articleCode, ean, sku,
  hs (null), unitPrice, unitUnit, priceExcl, priceIncl, priceCost,
  oldPriceExcl, oldPriceIncl (0 = no list price), stockTracking
  ("enabled" | "disabled" | "indicator" [issue 10; TS types it as a
  free string]), stockLevel, stockAlert, stockMinimum, stockSold,
  stockBuyMinimum, stockBuyMaximum, weight, weightValue, weightUnit,
  matrix (false), title, taxType (null), image (image|false), tax (ref),
  product (ref), options (array), movements (coll), metafields (coll).
  options (GUESS shape; [TS] only says array): for a matrix variant
    [{"id": 7, "title": "Color", "value": {"id": 71, "title": "Red"}},
     ...] and [] otherwise; title is then "Color: Red, Size: M" (GUESS)
    and "Default" for the only variant of a product without matrix.
  Filters: product, articleCode, ean, sku [TS].
/categories.json, /categories/{id}.json -> categories / category
  [PHP][TS]  id, createdAt, updatedAt, isVisible, depth (1 = top),
  path (array of ancestor id strings, top first, excluding itself
  [REF]; GUESS: excluding itself), type ("category"), sortOrder, sorting,
  url (full slug path "men/shoes"), title, fulltitle, description,
  content, image (image|false), parent (ref|false), children (coll),
  products (coll).  Filters: parent [TS].
/categories/products.json -> categoriesProducts / categoriesProduct
  [PHP][TS]  id, sortOrder, category (ref), product (ref).
  Filters: category, product.  (No timestamps.)
/brands.json -> brands / brand [PHP][TS]  id, createdAt, updatedAt,
  isVisible, url, title, content (string|false), image (image|false),
  products (coll).
/suppliers.json -> suppliers / supplier [PHP][TAP]  id, createdAt,
  updatedAt, title, name, email (GUESS beyond id/title).
/tags.json -> tags / tag [PHP][TS]  id, createdAt, updatedAt, isVisible,
  url, title, products (coll).
/tags/products.json -> tagsProducts / tagsProduct [PHP][TS]  id, tag
  (ref), product (ref).  Filters: tag, product.
/filters.json -> filters / filter [PHP]  id, createdAt, updatedAt,
  sortOrder, type ("custom"; GUESS), title, values (coll).
/filters/{id}/values.json -> filterValues / filterValue [PHP path;
  envelope and fields GUESS]  id, sortOrder, title, filter (ref).
/products/{id}/filtervalues.json -> productFiltervalues /
  productFiltervalue [PHP path; TS envelope "productFiltervalue",
  plural GUESS]  id, filter (ref), filtervalue (ref to
  filters/{fid}/values/{vid}), title (the value's title; GUESS).
  No paging parameters needed (a product has few); they work anyway.
/attributes.json -> attributes / attribute [PHP][TS]  id, createdAt,
  updatedAt, title (GUESS beyond id).
/types.json -> types / type [PHP][TS]  id, title (GUESS beyond id).
/types/attributes.json -> typesAttributes / typesAttribute [PHP][TS]
  id, sortOrder, type (ref), attribute (ref).  Filters: type, attribute.
/products/{id}/attributes.json -> productAttributes / productAttribute
  [PHP][TS]  id, value (string), attribute (ref; GUESS), title (the
  attribute's title; GUESS).
/products/{id}/images.json -> productImages / productImage [PHP][TAP]
  id, createdAt, updatedAt, sortOrder, extension, size, title, thumb,
  src. Ordered by sortOrder, then id. (The first is product.image.)
/customers.json -> customers / customer [PHP][TS][TAP]  id, createdAt,
  updatedAt, isConfirmed, email, firstname, middlename, lastname, phone,
  mobile, isCompany, companyName, addressBilling{Name,Street,Street2,
  Number,Extension,Zipcode,City,Region}, addressBillingCountry (country
  object {"id","code","code3","title"} | false), the same for
  addressShipping*, newsletterSubscribed (bool; on customers a GUESS,
  on orders [TS]), memo (null), groups (false).
  Filters: email.
/orders.json -> orders / order [PHP][TS][TAP]  id, createdAt,
  updatedAt, number ("ORD00001"), status (see below), customStatusId
  (null), channel ("main"), priceCost, priceExcl, priceIncl, weight,
  gender (false), birthDate (false), email, firstname, middlename,
  lastname, phone, mobile, newsletterSubscribed, isCompany, companyName,
  addressBilling*/addressShipping* (as customers), paymentStatus,
  shipmentStatus, paymentTitle, shipmentTitle, isDiscounted,
  discountAmount, discountCouponCode, language ({"id","code","title"}),
  referralId (false), customer (ref | false for a guest), invoices,
  shipments, products, metafields, events (coll).
  status: on_hold, processing_awaiting_payment,
  processing_awaiting_shipment, processing_awaiting_pickup,
  processing_ready_for_pickup, completed, completed_shipped,
  completed_picked_up, cancelled; paymentStatus: not_paid,
  partially_paid, paid, cancelled; shipmentStatus: not_shipped,
  partially_shipped, shipped, cancelled [TS enums.ts].
  Filters: status, paymentStatus, shipmentStatus, customer, email,
  number. A status change bumps updatedAt (GUESS, but the only way an
  incremental reader sees it).
/orders/{id}/products.json -> orderProducts / orderProduct [PHP][TS]
  id, supplierTitle, brandTitle, productTitle, variantTitle, taxRate,
  quantityOrdered, quantityInvoiced, quantityShipped, quantityRefunded,
  quantityReturned, articleCode, ean, sku, weight, priceCost,
  basePriceExcl, basePriceIncl, priceExcl, priceIncl (line totals),
  discountExcl, discountIncl, customFields (false), product (ref),
  variant (ref | false once the variant is deleted). No timestamps.
  An unknown order id: 404.
/shipments.json -> shipments / shipment [PHP][TS][TAP]  id, createdAt,
  updatedAt, number, status ("shipped" | "not_shipped" | "cancelled";
  GUESS values), trackingCode, customer (ref|false), order (ref),
  products, metafields, events (coll).  Filters: order, status.
/shipments/{id}/products.json -> shipmentProducts / shipmentProduct
  [PHP][TS]  id, createdAt, updatedAt, quantity, title, articleCode,
  sku, ean, variant (ref|false), shipment (ref).
/returns.json -> returns / return [PHP][TS][TAP]. The two clients
  disagree; the emulator serves the union: id, createdAt, updatedAt,
  number, status ("pending" | "processed"; GUESS), reason, remark,
  firstname, lastname, company, email, customer (ref|false), order
  (ref|false) [TS], customerId, orderId, numProducts, priceExcl,
  priceIncl (refund amount), isStockAdjusted, returnReason,
  returnAction, orderProducts ([{"id": orderProduct id, "quantity"}])
  [TAP]. Sources should read order.resource.id, else orderId
  (configure(returns_order_ref=False) serves only the flat form).
  Filters: order, status.
  Credit notes: the only documented credit endpoint is POST
  /orders/{id}/credit.json [PHP][TS]; nothing reads them, so refunds
  come from /returns only.
/reviews.json -> reviews / review [PHP path; fields GUESS]  id,
  createdAt, updatedAt, isVisible, score (integer 1..5; GUESS scale),
  name, content, language ({"id","code"}), product (ref), customer
  (ref|false).  Filters: product, isVisible ("true"/"false").
/textpages.json -> textpages / textpage [PHP path; fields GUESS]  id,
  createdAt, updatedAt, isVisible, title, url, content.
/blogs.json -> blogs / blog [PHP path; fields GUESS]  id, createdAt,
  updatedAt, isVisible, title, url, articles (coll).
/blogs/articles.json -> blogsArticles / blogsArticle [PHP path; envelope
  and fields GUESS]  id, createdAt, updatedAt, publishedAt, isVisible,
  title, url, summary, content, author, image (image|false), blog (ref).
  Filters: blog.
/account/ratelimit.json: section 4.

6. Faults (scripted; for tests)
-------------------------------
fault(pattern, kind, count=1, skip=0, probability=None): the next
`count` requests whose path (without query, e.g. "/nl/orders/7/
products.json") matches the regular expression `pattern` (re.search),
after `skip` matching requests passed, get `kind`. With probability=p
each matching request gets the fault with probability p (seeded RNG,
deterministic per emulator) until `count` faults were given (count=None:
unlimited). Kinds:
  "500" "502" "503" "504": that status, error body, headers;
  "404": a transient 404 "Not found" error body (seen on orders
      endpoints [TAP]); the same request later succeeds;
  "429": 429 + Retry-After (1 s) although the windows are not empty;
  "hang": sleeps config hang_s (default 30 s) then closes without a
      response;
  "truncate": full Content-Length, half the body, connection closed;
  "badutf8": bytes FF FE inside a text value of the first record;
  "badjson": half the body followed by "<html>oops".
Faulted requests have passed auth and the limiter, so they are counted
(a real 5xx costs quota too; GUESS). Faults are checked after the
language, before routing.

7. Dataset (LseEmulator.load(doc) / --data FILE)
------------------------------------------------
A dict (JSON file) of resource lists keyed by the envelope plural, plus
"shop" (a dict). Records hold ids for references (null/absent = none),
epoch seconds (UTC) for createdAt/updatedAt/publishedAt, and localized
text either as a string or as {"nl": "...", "en": "..."}. Missing fields
get the per-resource defaults of section 5. A variant's options are
[{"id", "title", "valueId", "value"}] (title/value text or localized);
an image (productImages record, or the image field of a variant,
category, brand or article) has fileId (default: id), title, extension,
size. Keys: shop (id, title, mainDomain, currency, timeZone, times),
languages,
products, variants, categories, categoriesProducts, brands, suppliers,
tags, tagsProducts, filters, filterValues (with "filter"),
productFiltervalues (with "product", "filter", "filtervalue"),
attributes, types, typesAttributes, productAttributes (with "product",
"attribute", "value"), productImages (with "product"), customers,
orders, orderProducts (with "order"), shipments, shipmentProducts (with
"shipment"), returns, reviews, textpages, blogs, blogsArticles.
tests/emulators/lse_data.py generates the e2e shop and the bench shop.

8. Control
----------
In-process (tests):
    emu = LseEmulator(data=doc_or_path, key="key", secret="secret",
                      limits=(300, 3000, 12000),
                      windows=(300, 3600, 86400), seed=1)
    emu.start()                 # 127.0.0.1, ephemeral port
    emu.url                     # "http://127.0.0.1:PORT"
    emu.configure(limits=(300, 3000, 12000), windows=(300, 3600, 86400),
                  retry_after="seconds"|"date", hang_s=30.0,
                  deep_page_rows=None, latency=0.0)
    emu.reset_limits()
    emu.fault(...); emu.clear_faults()
    emu.log (list of {"method", "path", "query": {k: [v]}, "raw_query",
             "status", "fault", "t"}); emu.clear_log();
    emu.requests(pattern=None, status=None) -> matching log entries
    Mutations (each bumps updatedAt of what it changed, and only that,
    to emu.now(): the wall clock in whole seconds, never before the
    last stamp, or the time given to emu.set_clock(); a variant change
    does not bump its product (GUESS); a return or review does not bump
    the order or product (GUESS)):
      emu.update(res, id, **fields), emu.delete(res, id), emu.add(res,
      record) -> id, set_price(variant_id, incl, excl=None, old=None),
      set_stock(variant_id, level), hide_product(pid), delete_product(
      pid) (also its variants, links, images, reviews),
      add_order(order, lines) -> id, set_order_status(oid, status),
      add_return(oid, lines, amount) -> id, add_review(pid, score,
      visible=True) -> id, add_page(title, content, ...) -> id.
    emu.stop()
Over HTTP (subprocess, bench; not authenticated, not counted, not
logged): POST /_emu/load {"data": {...}} or {"path": FILE}; POST
/_emu/change {"ops": [{"op": "update"|"delete"|"add", "resource": R,
"id": N, "fields"/"record": {...}} or {"op": HELPER, "args": [...],
"kwargs": {...}} for a helper above (set_price ... add_page)]} ->
{"ok": true, "ids": [ids of added records]}; POST /_emu/config {...}
(configure()'s arguments); POST
/_emu/fault {pattern, kind, count, skip, probability}; POST
/_emu/faults/clear; GET /_emu/log; POST /_emu/log/clear; GET
/_emu/state ({"limits", "windows", "used", "remaining", "reset"
(seconds, fractional), "faults", "requests"}); POST /_emu/limits/reset.

Run: lse_emulator.py --data FILE [--port N] [--key K] [--secret S]
[--scale-windows X] [--limits 300/3000/12000] [--retry-after date];
prints the port on the first stdout line.
"""
import argparse
import base64
import bisect
import copy
import datetime
import email.utils
import json
import math
import random
import re
import threading
import time
import urllib.parse
import zoneinfo
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Res:
    """One served resource: its dataset key, envelope names, exact-match
    filters (query name -> record field), to-one references (field ->
    target path), collection references (field -> url template) and the
    defaults of the fields a dataset record may leave out."""

    def __init__(self, key, plural, singular, filters=(), refs=None,
                 colls=None, defaults=None, parent=None):
        self.key, self.plural, self.singular = key, plural, singular
        self.filters = dict((f, f) if isinstance(f, str) else f
                            for f in filters)
        self.refs = refs or {}
        self.colls = colls or {}
        self.defaults = defaults or {}
        self.parent = parent        # nested: the field naming the parent


def _d(**kw):
    return kw


STAMPS = _d(createdAt=0, updatedAt=0)
PRODUCT = Res(
    "products", "products", "product", ("brand", "supplier", "type"),
    refs={"brand": "brands", "supplier": "suppliers", "type": "types"},
    colls={"categories": "categories/products?product={id}",
           "images": "products/{id}/images",
           "relations": "products/{id}/relations",
           "metafields": "products/{id}/metafields",
           "reviews": "reviews?product={id}",
           "attributes": "products/{id}/attributes",
           "tags": "tags/products?product={id}",
           "variants": "variants?product={id}",
           "movements": "variants/movements?product={id}"},
    defaults=_d(**STAMPS, isVisible=True, visibility="visible",
                hasMatrix=False, data01="", data02="", data03="", url="",
                title="", fulltitle="", description="", content="",
                set=False, deliverydate=False, templateDataFields={}))
VARIANT = Res(
    "variants", "variants", "variant",
    ("product", "articleCode", "ean", "sku"),
    refs={"product": "products", "tax": "taxes"},
    colls={"movements": "variants/movements?variant={id}",
           "metafields": "variants/{id}/metafields"},
    defaults=_d(**STAMPS, isDefault=False, sortOrder=1, articleCode="",
                ean="", sku="", hs=None, unitPrice="", unitUnit="",
                priceExcl=0, priceIncl=0, priceCost="", oldPriceExcl=0,
                oldPriceIncl=0, stockTracking="disabled", stockLevel=0,
                stockAlert=0, stockMinimum=0, stockSold=0,
                stockBuyMinimum=1, stockBuyMaximum=10000, weight=0,
                weightValue="0", weightUnit="kg", matrix=False,
                title="Default", taxType=None, tax=1, options=[],
                additionalcost=False))
COUNTRY_NL = {"id": 150, "code": "nl", "code3": "nld",
              "title": "Netherlands"}
ADDRESS = {}
for _side in ("Billing", "Shipping"):
    for _f in ("Name", "Street", "Street2", "Number", "Extension",
               "Zipcode", "City", "Region"):
        ADDRESS["address%s%s" % (_side, _f)] = ""
    ADDRESS["address%sCountry" % _side] = False
PERSON = _d(email="", firstname="", middlename="", lastname="", phone="",
            mobile="", isCompany=False, companyName="",
            newsletterSubscribed=False, **ADDRESS)
RESOURCES = {
    "languages": Res("languages", "languages", "language",
                     defaults=_d(isActive=True, isDefault=False,
                                 locale="", title="")),
    "products": PRODUCT,
    "variants": VARIANT,
    "categories": Res(
        "categories", "categories", "category", ("parent",),
        refs={"parent": "categories"},
        colls={"children": "categories?parent={id}",
               "products": "categories/products?category={id}"},
        defaults=_d(**STAMPS, isVisible=True, depth=1, path=[],
                    type="category", sortOrder=1, sorting="default",
                    url="", title="", fulltitle="", description="",
                    content="", image=False)),
    "categories/products": Res(
        "categoriesProducts", "categoriesProducts", "categoriesProduct",
        ("category", "product"),
        refs={"category": "categories", "product": "products"},
        defaults=_d(sortOrder=1)),
    "brands": Res("brands", "brands", "brand",
                  colls={"products": "products?brand={id}"},
                  defaults=_d(**STAMPS, isVisible=True, url="", title="",
                              content=False, image=False)),
    "suppliers": Res("suppliers", "suppliers", "supplier",
                     defaults=_d(**STAMPS, title="", name="", email="")),
    "tags": Res("tags", "tags", "tag",
                colls={"products": "tags/products?tag={id}"},
                defaults=_d(**STAMPS, isVisible=True, url="", title="")),
    "tags/products": Res("tagsProducts", "tagsProducts", "tagsProduct",
                         ("tag", "product"),
                         refs={"tag": "tags", "product": "products"}),
    "filters": Res("filters", "filters", "filter",
                   colls={"values": "filters/{id}/values"},
                   defaults=_d(**STAMPS, sortOrder=1, type="custom",
                               title="")),
    "attributes": Res("attributes", "attributes", "attribute",
                      defaults=_d(**STAMPS, title="")),
    "types": Res("types", "types", "type", defaults=_d(title="")),
    "types/attributes": Res(
        "typesAttributes", "typesAttributes", "typesAttribute",
        ("type", "attribute"),
        refs={"type": "types", "attribute": "attributes"},
        defaults=_d(sortOrder=1)),
    "customers": Res("customers", "customers", "customer", ("email",),
                     defaults=_d(**STAMPS, isConfirmed=True, memo=None,
                                 groups=False, **PERSON)),
    "orders": Res(
        "orders", "orders", "order",
        ("status", "paymentStatus", "shipmentStatus", "customer", "email",
         "number"),
        refs={"customer": "customers"},
        colls={"invoices": "invoices?order={id}",
               "shipments": "shipments?order={id}",
               "products": "orders/{id}/products",
               "metafields": "orders/{id}/metafields",
               "events": "orders/events?order={id}"},
        defaults=_d(**STAMPS, number="", status="on_hold",
                    customStatusId=None, channel="main", priceCost=0,
                    priceExcl=0, priceIncl=0, weight=0, gender=False,
                    birthDate=False, paymentStatus="not_paid",
                    shipmentStatus="not_shipped", paymentTitle="",
                    shipmentTitle="", isDiscounted=False,
                    discountAmount=0, discountCouponCode="",
                    referralId=False, **PERSON)),
    "shipments": Res(
        "shipments", "shipments", "shipment", ("order", "status"),
        refs={"customer": "customers", "order": "orders"},
        colls={"products": "shipments/{id}/products",
               "metafields": "shipments/{id}/metafields",
               "events": "orders/events?shipment={id}"},
        defaults=_d(**STAMPS, number="", status="shipped",
                    trackingCode="")),
    "returns": Res(
        "returns", "returns", "return", ("order", "status"),
        refs={"customer": "customers", "order": "orders"},
        defaults=_d(**STAMPS, number=0, status="pending", reason="",
                    remark="", firstname="", lastname="", company="",
                    email="", numProducts=0, priceExcl=0, priceIncl=0,
                    isStockAdjusted=False, returnReason="",
                    returnAction="refund", orderProducts=[])),
    "reviews": Res("reviews", "reviews", "review",
                   ("product", "isVisible"),
                   refs={"product": "products", "customer": "customers"},
                   defaults=_d(**STAMPS, isVisible=True, score=5,
                               name="", content="")),
    "textpages": Res("textpages", "textpages", "textpage",
                     defaults=_d(**STAMPS, isVisible=True, title="",
                                 url="", content="")),
    "blogs": Res("blogs", "blogs", "blog",
                 colls={"articles": "blogs/articles?blog={id}"},
                 defaults=_d(**STAMPS, isVisible=True, title="",
                             url="")),
    "blogs/articles": Res(
        "blogsArticles", "blogsArticles", "blogsArticle", ("blog",),
        refs={"blog": "blogs"},
        defaults=_d(**STAMPS, publishedAt=0, isVisible=True, title="",
                    url="", summary="", content="", author="",
                    image=False)),
}
# Nested collections: (parent resource, name) -> Res with .parent.
NESTED = {
    ("products", "images"): Res(
        "productImages", "productImages", "productImage",
        defaults=_d(**STAMPS, sortOrder=1, extension="jpg", size=0,
                    title=""), parent="product"),
    ("products", "filtervalues"): Res(
        "productFiltervalues", "productFiltervalues",
        "productFiltervalue", parent="product"),
    ("products", "attributes"): Res(
        "productAttributes", "productAttributes", "productAttribute",
        refs={"attribute": "attributes"}, defaults=_d(value=""),
        parent="product"),
    ("filters", "values"): Res(
        "filterValues", "filterValues", "filterValue",
        refs={"filter": "filters"}, defaults=_d(sortOrder=1, title=""),
        parent="filter"),
    ("orders", "products"): Res(
        "orderProducts", "orderProducts", "orderProduct",
        refs={"product": "products"},
        defaults=_d(supplierTitle="", brandTitle="", productTitle="",
                    variantTitle="", taxRate=0.21, quantityOrdered=1,
                    quantityInvoiced=0, quantityShipped=0,
                    quantityRefunded=0, quantityReturned=0,
                    articleCode="", ean="", sku="", weight=0,
                    priceCost=0, basePriceExcl=0, basePriceIncl=0,
                    priceExcl=0, priceIncl=0, discountExcl=0,
                    discountIncl=0, customFields=False),
        parent="order"),
    ("shipments", "products"): Res(
        "shipmentProducts", "shipmentProducts", "shipmentProduct",
        refs={"shipment": "shipments"},
        defaults=_d(**STAMPS, quantity=1, title="", articleCode="",
                    sku="", ean=""), parent="shipment"),
}
# Every dataset list, with its Res.
DATASETS = {r.key: r for r in list(RESOURCES.values()) +
            list(NESTED.values())}
LOCALIZED = ("title", "fulltitle", "description", "content", "url",
             "summary", "data01", "data02", "data03", "productTitle",
             "variantTitle")
TIME_FIELDS = ("createdAt", "updatedAt", "publishedAt")
TIME_PARAMS = {"created_at_min": ("createdAt", 1),
               "created_at_max": ("createdAt", -1),
               "updated_at_min": ("updatedAt", 1),
               "updated_at_max": ("updatedAt", -1)}
FAULT_KINDS = ("500", "502", "503", "504", "404", "429", "hang",
               "truncate", "badutf8", "badjson")
WINDOW_NAMES = ("limit5Min", "limitHour", "limitDay")
HELPERS = ("set_price", "set_stock", "hide_product", "delete_product",
           "add_order", "set_order_status", "add_return", "add_review",
           "add_page", "set_clock")
CDN = "https://cdn.webshopapp.com/shops/%s/files/%s/%s%s.%s"


class ApiError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def parse_when(s):
    """A time filter value -> epoch seconds. "YYYY-MM-DD HH:MM:SS"
    without an offset is UTC."""
    s = s.strip()
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    t = datetime.datetime.fromisoformat(s)
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return t.timestamp()


class Limiter:
    """Three fixed windows; each starts with its first counted request
    and refills when its length has passed."""

    def __init__(self, limits, lengths):
        self.limits = list(limits)
        self.lengths = list(lengths)
        self.reset()

    def reset(self):
        self.start = [None] * 3
        self.used = [0] * 3

    def roll(self, now):
        for i in range(3):
            s = self.start[i]
            if s is not None and now >= s + self.lengths[i]:
                self.start[i], self.used[i] = None, 0

    def left(self, i, now):
        s = self.start[i]
        return self.lengths[i] if s is None else \
            max(0.0, s + self.lengths[i] - now)

    def blocked(self, now):
        """Seconds until every exhausted window resets; 0 = not."""
        self.roll(now)
        wait = 0.0
        for i in range(3):
            if self.used[i] >= self.limits[i]:
                wait = max(wait, self.left(i, now))
        return wait

    def take(self, now):
        for i in range(3):
            if self.start[i] is None:
                self.start[i] = now
            self.used[i] += 1

    def headers(self, now):
        self.roll(now)
        return {
            "X-RateLimit-Limit": "/".join(str(x) for x in self.limits),
            "X-RateLimit-Remaining": "/".join(
                str(max(0, self.limits[i] - self.used[i]))
                for i in range(3)),
            "X-RateLimit-Reset": "/".join(
                str(math.ceil(round(self.left(i, now), 3)))
                for i in range(3))}


class LseEmulator:
    """See the module docstring, section 8."""

    def __init__(self, data=None, key="key", secret="secret",
                 limits=(300, 3000, 12000), windows=(300, 3600, 86400),
                 seed=1):
        self.lock = threading.RLock()
        self.key, self.secret = key, secret
        self.cfg = {"retry_after": "seconds", "hang_s": 30.0,
                    "deep_page_rows": None, "latency": 0.0,
                    "returns_order_ref": True}
        self.limiter = Limiter(limits, windows)
        self.rng = random.Random(seed)
        self.faults = []
        self.log = []
        self.clock = None
        self.last_stamp = 0
        self.version = 0
        self.cache = {}
        self.server = None
        self.thread = None
        self.url = None
        self.load(data if data is not None else {})

    # -- data --------------------------------------------------------------
    def load(self, doc):
        if isinstance(doc, str):
            with open(doc, encoding="utf-8") as f:
                doc = json.load(f)
        with self.lock:
            self.shop = dict(doc.get("shop") or {})
            self.shop.setdefault("id", 1)
            self.shop.setdefault("title", "Emulated shop")
            self.shop.setdefault("mainDomain", "www.example.nl")
            self.shop.setdefault("currency", "EUR")
            self.shop.setdefault("timeZone", "Europe/Amsterdam")
            self.tz = zoneinfo.ZoneInfo(self.shop["timeZone"])
            self.rows = {}
            self.by_id = {}
            for key in DATASETS:
                rows = sorted((dict(r) for r in doc.get(key) or []),
                              key=lambda r: r["id"])
                self.rows[key] = rows
                self.by_id[key] = {r["id"]: r for r in rows}
            if not self.rows["languages"]:
                self.add("languages", {"code": "nl", "isDefault": True,
                                       "locale": "nl_NL",
                                       "title": "Nederlands"})
            self.last_stamp = max(
                [r.get("updatedAt", 0) for rows in self.rows.values()
                 for r in rows] + [0])
            self.index()

    def index(self):
        """Derived lookups; called under the lock after any change."""
        self.version += 1
        self.cache = {}
        self.kids = {}
        langs = self.rows["languages"]
        self.default_lang = next(
            (x["code"] for x in langs if x.get("isDefault")),
            langs[0]["code"] if langs else "nl")
        self.first_image = {}
        for im in sorted(self.rows["productImages"],
                         key=lambda r: (r.get("sortOrder", 1), r["id"])):
            self.first_image.setdefault(im.get("product"), im)

    def now(self):
        with self.lock:
            t = self.clock if self.clock is not None else int(time.time())
            self.last_stamp = max(self.last_stamp, t)
            return self.last_stamp

    def set_clock(self, epoch=None):
        with self.lock:
            self.clock = epoch

    def stamp(self, key, rec, created=False):
        if "updatedAt" in DATASETS[key].defaults:
            t = self.now()
            rec["updatedAt"] = t
            if created:
                rec["createdAt"] = t

    def add(self, key, record):
        """Adds a record to dataset list `key`; returns its id."""
        with self.lock:
            rec = dict(record)
            if "id" not in rec:
                rec["id"] = 1 + max(self.by_id[key] or [0])
            if rec.get("createdAt") is None or \
                    rec.get("updatedAt") is None:
                self.stamp(key, rec, created=True)
            bisect.insort(self.rows[key], rec, key=lambda r: r["id"])
            self.by_id[key][rec["id"]] = rec
            self.index()
            return rec["id"]

    def update(self, key, rid, **fields):
        with self.lock:
            rec = self.by_id[key][rid]
            rec.update(fields)
            if "updatedAt" not in fields:
                self.stamp(key, rec)
            self.index()

    def delete(self, key, rid):
        with self.lock:
            rec = self.by_id[key].pop(rid, None)
            if rec is not None:
                self.rows[key].remove(rec)
            self.index()

    def delete_where(self, key, field, value):
        with self.lock:
            for r in [r for r in self.rows[key] if r.get(field) == value]:
                self.delete(key, r["id"])

    def set_price(self, variant_id, incl, excl=None, old=None):
        f = {"priceIncl": incl,
             "priceExcl": excl if excl is not None else
             round(incl / 1.21, 2)}
        if old is not None:
            f["oldPriceIncl"] = old
            f["oldPriceExcl"] = round(old / 1.21, 2)
        self.update("variants", variant_id, **f)

    def set_stock(self, variant_id, level):
        self.update("variants", variant_id, stockLevel=level)

    def hide_product(self, pid):
        self.update("products", pid, isVisible=False, visibility="hidden")

    def delete_product(self, pid):
        with self.lock:
            for key in ("variants", "categoriesProducts", "tagsProducts",
                        "productImages", "productFiltervalues",
                        "productAttributes", "reviews"):
                self.delete_where(key, "product", pid)
            self.delete("products", pid)

    def add_order(self, order, lines=()):
        with self.lock:
            oid = self.add("orders", order)
            o = self.by_id["orders"][oid]
            o.setdefault("number", "ORD%05d" % oid)
            for ln in lines:
                self.add("orderProducts", dict(ln, order=oid))
            self.index()
            return oid

    def set_order_status(self, oid, status, **more):
        self.update("orders", oid, status=status, **more)

    def add_return(self, oid, lines=(), amount=0.0, **more):
        """lines: [(orderProduct id, quantity)]."""
        with self.lock:
            o = self.by_id["orders"][oid]
            rec = dict(order=oid, orderId=oid, customer=o.get("customer"),
                       customerId=o.get("customer") or 0,
                       email=o.get("email", ""),
                       firstname=o.get("firstname", ""),
                       lastname=o.get("lastname", ""),
                       orderProducts=[{"id": i, "quantity": q}
                                      for i, q in lines],
                       numProducts=sum(q for _, q in lines),
                       priceIncl=amount,
                       priceExcl=round(amount / 1.21, 2))
            rec.update(more)
            rid = self.add("returns", rec)
            self.by_id["returns"][rid].setdefault("number", rid)
            return rid

    def add_review(self, pid, score, visible=True, name="A customer",
                   content="Good.", customer=None):
        return self.add("reviews", {"product": pid, "score": score,
                                    "isVisible": visible, "name": name,
                                    "content": content,
                                    "customer": customer})

    def add_page(self, title, content, kind="textpage", blog=None,
                 **more):
        """kind "textpage" or "article" (then blog is its blog id)."""
        rec = dict(title=title, content=content, **more)
        rec.setdefault("url", re.sub(r"[^a-z0-9]+", "-",
                                     title.lower()).strip("-"))
        if kind == "article":
            rec["blog"] = blog
            rec.setdefault("publishedAt", self.now())
            return self.add("blogsArticles", rec)
        return self.add("textpages", rec)

    def change(self, ops):
        """Generic mutations (the /_emu/change control)."""
        out = []
        for op in ops:
            kind, key = op["op"], op.get("resource")
            if kind == "update":
                self.update(key, op["id"], **op.get("fields", {}))
            elif kind == "delete":
                if key == "products":
                    self.delete_product(op["id"])
                else:
                    self.delete(key, op["id"])
            elif kind == "add":
                out.append(self.add(key, op["record"]))
            elif kind in HELPERS:
                r = getattr(self, kind)(*op.get("args", []),
                                        **op.get("kwargs", {}))
                if r is not None:
                    out.append(r)
            else:
                raise ValueError("unknown change op %s" % kind)
        return out

    # -- control -----------------------------------------------------------
    def configure(self, limits=None, windows=None, **cfg):
        with self.lock:
            if limits is not None:
                self.limiter.limits = list(limits)
            if windows is not None:
                self.limiter.lengths = list(windows)
            for k in cfg:
                if k not in self.cfg:
                    raise KeyError("unknown emulator setting %s" % k)
            self.cfg.update(cfg)

    def reset_limits(self):
        with self.lock:
            self.limiter.reset()

    def fault(self, pattern, kind, count=1, skip=0, probability=None):
        if kind not in FAULT_KINDS:
            raise ValueError("unknown fault kind %s" % kind)
        with self.lock:
            self.faults.append({"pattern": pattern,
                                "rx": re.compile(pattern), "kind": kind,
                                "count": count, "skip": skip,
                                "probability": probability})

    def clear_faults(self):
        with self.lock:
            self.faults = []

    def take_fault(self, path):
        with self.lock:
            for f in self.faults:
                if f["count"] is not None and f["count"] <= 0:
                    continue
                if not f["rx"].search(path):
                    continue
                if f["skip"] > 0:
                    f["skip"] -= 1
                    continue
                p = f["probability"]
                if p is not None and self.rng.random() >= p:
                    continue
                if f["count"] is not None:
                    f["count"] -= 1
                return f["kind"]
        return None

    def clear_log(self):
        with self.lock:
            self.log = []

    def requests(self, pattern=None, status=None):
        rx = re.compile(pattern) if pattern else None
        with self.lock:
            return [e for e in self.log
                    if (rx is None or rx.search(e["path"])) and
                    (status is None or e["status"] == status)]

    def state(self):
        with self.lock:
            now = time.monotonic()
            self.limiter.roll(now)
            lim = self.limiter
            return {"limits": lim.limits, "windows": lim.lengths,
                    "used": lim.used,
                    "remaining": [max(0, lim.limits[i] - lim.used[i])
                                  for i in range(3)],
                    "reset": [lim.left(i, now) for i in range(3)],
                    "faults": [{k: v for k, v in f.items() if k != "rx"}
                               for f in self.faults],
                    "requests": len(self.log)}

    def start(self, port=0):
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.server.emu = self
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
            daemon=True)
        self.thread.start()
        return self.server.server_address[1]

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    # -- rendering ---------------------------------------------------------
    def fmt_time(self, t):
        if not t:
            return ""
        return datetime.datetime.fromtimestamp(t, self.tz).isoformat(
            timespec="seconds")

    def text(self, v, lang):
        if isinstance(v, dict):
            return v.get(lang, v.get(self.default_lang, ""))
        return v

    def ref(self, path, rid, lang):
        if rid is None or rid is False:
            return False
        return {"resource": {"id": rid, "url": "%s/%s" % (path, rid),
                             "link": "%s/%s/%s/%s.json" % (
                                 self.url, lang, path, rid)}}

    def coll(self, tmpl, rid, lang):
        url = tmpl.format(id=rid)
        p, _, q = url.partition("?")
        return {"resource": {"id": False, "url": url,
                             "link": "%s/%s/%s.json%s" % (
                                 self.url, lang, p, "?" + q if q else "")}}

    def image(self, im, lang):
        """A dataset image record (or dict) -> the API's file object."""
        if not im:
            return False
        title = self.text(im.get("title", ""), lang) or "image"
        ext = im.get("extension", "jpg")
        fid = im.get("fileId", im.get("id", 0))
        sid = self.shop["id"]
        return {"createdAt": self.fmt_time(im.get("createdAt", 0)),
                "updatedAt": self.fmt_time(im.get("updatedAt", 0)),
                "extension": ext, "size": im.get("size", 0),
                "title": title,
                "thumb": CDN % (sid, fid, "50x50x2/", title, ext),
                "src": CDN % (sid, fid, "", title, ext)}

    def render(self, res, rec, lang):
        out = dict(res.defaults)
        for k, v in rec.items():
            out[k] = copy.deepcopy(v) if isinstance(v, (list, dict)) \
                and k not in LOCALIZED else v
        for k in LOCALIZED:
            if k in out:
                out[k] = self.text(out[k], lang)
        rid = rec["id"]
        for k, path in res.refs.items():
            out[k] = self.ref(path, out.get(k), lang)
        for k, tmpl in res.colls.items():
            out[k] = self.coll(tmpl, rid, lang)
        for k in ("image",):
            if k in out and isinstance(out[k], dict):
                out[k] = self.image(out[k], lang)
        self.render_special(res, rec, out, lang)
        for k in TIME_FIELDS:
            if k in out:
                out[k] = self.fmt_time(out[k])
        return out

    def render_special(self, res, rec, out, lang):
        key = res.key
        if key == "products":
            out["image"] = self.image(self.first_image.get(rec["id"]),
                                      lang)
        elif key == "productImages":
            img = self.image(rec, lang)
            out.update({k: img[k] for k in ("thumb", "src", "title")})
            out.pop("product", None)
            out.pop("fileId", None)
        elif key == "variants":
            out["options"] = [
                {"id": o.get("id", 0), "title": self.text(o["title"], lang),
                 "value": {"id": o.get("valueId", 0),
                           "title": self.text(o["value"], lang)}}
                for o in rec.get("options", [])]
            if rec.get("options") and "title" not in rec:
                out["title"] = ", ".join(
                    "%s: %s" % (o["title"], o["value"]["title"])
                    for o in out["options"])
        elif key == "categories":
            out["path"] = [str(x) for x in rec.get("path", [])]
        elif key == "orders":
            out["language"] = {"id": 1, "code": rec.get("language", lang),
                               "title": rec.get("language", lang)}
        elif key == "orderProducts":
            vid = rec.get("variant")
            out["variant"] = self.ref("variants", vid, lang) \
                if vid in self.by_id["variants"] else False
            out.pop("order", None)
        elif key == "returns":
            out["orderId"] = rec.get("order") or 0
            out["customerId"] = rec.get("customer") or 0
            if not self.cfg["returns_order_ref"]:
                out["order"] = False    # the flat form of hotglue's tap
        elif key == "reviews":
            out["language"] = {"id": 1, "code": lang}
        elif key == "productFiltervalues":
            fid, vid = rec["filter"], rec["filtervalue"]
            out["filter"] = self.ref("filters", fid, lang)
            out["filtervalue"] = self.ref("filters/%s/values" % fid, vid,
                                          lang)
            fv = self.by_id["filterValues"].get(vid, {})
            out["title"] = self.text(fv.get("title", ""), lang)
            out.pop("product", None)
        elif key == "productAttributes":
            a = self.by_id["attributes"].get(rec.get("attribute"), {})
            out["title"] = self.text(a.get("title", ""), lang)
            out.pop("product", None)
        elif key == "filterValues":
            pass
        elif key == "shipmentProducts":
            vid = rec.get("variant")
            out["variant"] = self.ref("variants", vid, lang) \
                if vid in self.by_id["variants"] else False

    # -- listing -----------------------------------------------------------
    def select(self, res, params, parent):
        """The ids a list/count query selects, ascending (cached)."""
        ck = (res.key, parent, tuple(sorted(
            (k, v) for k, v in params.items()
            if k not in ("page", "limit", "fields"))))
        with self.lock:
            hit = self.cache.get(ck)
            if hit is not None:
                return hit
            if parent is None:
                rows = self.rows[res.key]
            else:
                rows = self.children(res).get(parent, [])
            since = params.get("since_id")
            if since is not None:
                try:
                    since = int(since)
                except ValueError:
                    raise ApiError(400, "since_id must be a number")
                rows = rows[bisect.bisect_right(
                    rows, since, key=lambda r: r["id"]):]
            conds = []
            for p, (field, sign) in TIME_PARAMS.items():
                if p in params:
                    try:
                        conds.append((field, sign,
                                      parse_when(params[p])))
                    except ValueError:
                        raise ApiError(400, "Invalid value for %s" % p)
            eq = []
            for q, field in res.filters.items():
                if q in params:
                    eq.append((field, params[q]))
            out = []
            for r in rows:
                ok = True
                for field, sign, t in conds:
                    v = r.get(field, 0)
                    if (sign > 0 and v < t) or (sign < 0 and v > t):
                        ok = False
                        break
                if ok:
                    for field, want in eq:
                        v = r.get(field, res.defaults.get(field))
                        if isinstance(v, bool):
                            v = "true" if v else "false"
                        if str(v) != want:
                            ok = False
                            break
                if ok:
                    out.append(r)
            if res.key == "productImages":
                out.sort(key=lambda r: (r.get("sortOrder", 1), r["id"]))
            if len(self.cache) > 256:
                self.cache = {}
            self.cache[ck] = out
            return out

    def children(self, res):
        """Nested rows by parent id (ascending ids), rebuilt after a
        change: a per-record fetch must not scan every row."""
        c = self.kids.get(res.key)
        if c is None:
            c = {}
            for r in self.rows[res.key]:
                c.setdefault(r.get(res.parent), []).append(r)
            self.kids[res.key] = c
        return c

    def list(self, res, params, lang, parent=None, count=False):
        rows = self.select(res, params, parent)
        if count:
            return {"count": len(rows)}
        try:
            page = max(1, int(params.get("page", "1")))
        except ValueError:
            raise ApiError(400, "page must be a number")
        try:
            limit = int(params.get("limit", "50"))
        except ValueError:
            raise ApiError(400, "limit must be a number")
        if limit < 1:
            limit = 50
        limit = min(limit, 250)
        first = (page - 1) * limit
        deep = self.cfg["deep_page_rows"]
        if deep is not None and first >= deep and page > 1:
            raise ApiError(400, "Page too deep, use since_id")
        with self.lock:
            recs = [self.render(res, r, lang)
                    for r in rows[first:first + limit]]
        fields = params.get("fields")
        if fields is not None:
            want = set(f.strip() for f in fields.split(",") if f.strip())
            want.add("id")
            recs = [{k: v for k, v in r.items() if k in want}
                    for r in recs]
        return {res.plural: recs}

    def one(self, res, rid, lang, parent=None):
        with self.lock:
            try:
                rec = self.by_id[res.key].get(int(rid))
            except ValueError:
                rec = None
            if rec is None or (parent is not None and
                               str(rec.get(res.parent)) != str(parent)):
                raise ApiError(404, "%s%s not found" % (
                    res.singular[0].upper(), res.singular[1:]))
            return {res.singular: self.render(res, rec, lang)}

    def route(self, parts, params, lang):
        """parts: the path after /{lang}/ without .json, split on /."""
        with self.lock:
            if parts == ["shop"]:
                return self.render_shop(lang)
            if parts == ["account", "ratelimit"]:
                return self.render_ratelimit()
        n = len(parts)
        for take in (2, 1):
            name = "/".join(parts[:take])
            if n >= take and name in RESOURCES:
                res, rest = RESOURCES[name], parts[take:]
                if not rest:
                    return self.list(res, params, lang)
                if rest == ["count"]:
                    return self.list(res, params, lang, count=True)
                if len(rest) == 1:
                    return self.one(res, rest[0], lang)
                if len(rest) >= 2 and take == 1 and \
                        (name, rest[1]) in NESTED:
                    return self.nested(name, rest, params, lang)
                break
        raise ApiError(404, "Resource not found")

    def nested(self, name, rest, params, lang):
        with self.lock:
            return self.nested_locked(name, rest, params, lang)

    def nested_locked(self, name, rest, params, lang):
        pid, sub, tail = rest[0], NESTED[(name, rest[1])], rest[2:]
        try:
            pid = int(pid)
        except ValueError:
            raise ApiError(404, "Resource not found")
        if pid not in self.by_id[RESOURCES[name].key]:
            raise ApiError(404, "%s not found" % name[:-1].capitalize())
        if not tail:
            return self.list(sub, params, lang, parent=pid)
        if tail == ["count"]:
            return self.list(sub, params, lang, parent=pid, count=True)
        if len(tail) == 1:
            return self.one(sub, tail[0], lang, parent=pid)
        raise ApiError(404, "Resource not found")

    def render_shop(self, lang):
        s = {k: v for k, v in self.shop.items()}
        s.setdefault("createdAt", 0)
        s.setdefault("updatedAt", 0)
        for k in TIME_FIELDS:
            if k in s:
                s[k] = self.fmt_time(s[k])
        s["title"] = self.text(s["title"], lang)
        s["languages"] = self.coll("languages", 0, lang)
        return {"shop": s}

    def render_ratelimit(self):
        now = time.monotonic()
        lim = self.limiter
        lim.roll(now)
        out = {}
        for i, name in enumerate(WINDOW_NAMES):
            left = lim.left(i, now)
            out[name] = {"limit": lim.limits[i],
                         "remaining": max(0, lim.limits[i] - lim.used[i]),
                         "reset": math.ceil(round(left, 3)),
                         "resetTime": self.fmt_time(
                             int(time.time() + left))}
        return {"accountRatelimit": out}

    def active_lang(self, code):
        with self.lock:
            return any(x["code"] == code and x.get("isActive", True)
                       for x in self.rows["languages"])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "lse-emulator"
    # Headers and body go out in two writes; with Nagle's algorithm the
    # second waits for the client's delayed ACK (~40 ms a request on a
    # kept-alive connection), which would make the emulator, not the
    # rate limits, the bench's bottleneck.
    disable_nagle_algorithm = True

    def log_message(self, *a):
        pass

    @property
    def emu(self):
        return self.server.emu

    def send(self, status, body=None, headers=None, raw=None):
        data = raw if raw is not None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, message, headers=None):
        path = urllib.parse.urlsplit(self.path).path
        self.send(status, {"error": {"code": status,
                                     "method": self.command,
                                     "request": path,
                                     "message": message}}, headers)

    def record(self, status, fault=None):
        u = urllib.parse.urlsplit(self.path)
        with self.emu.lock:
            self.emu.log.append({
                "method": self.command, "path": u.path,
                "query": urllib.parse.parse_qs(u.query,
                                               keep_blank_values=True),
                "raw_query": u.query, "status": status, "fault": fault,
                "t": time.monotonic()})

    def authorized(self):
        h = self.headers.get("Authorization") or ""
        if not h.startswith("Basic "):
            return False
        try:
            user, _, pw = base64.b64decode(h[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.emu.key and pw == self.emu.secret

    # -- control ------------------------------------------------------------
    def control(self, what):
        e = self.emu
        n = int(self.headers.get("Content-Length") or 0)
        doc = json.loads(self.rfile.read(n) or b"{}") if n else {}
        try:
            out = {"ok": True}
            if what == "load":
                e.load(doc["path"] if "path" in doc else doc["data"])
            elif what == "change":
                out["ids"] = e.change(doc["ops"])
            elif what == "config":
                e.configure(**doc)
            elif what == "fault":
                e.fault(**doc)
            elif what == "faults/clear":
                e.clear_faults()
            elif what == "log":
                with e.lock:
                    out = list(e.log)
            elif what == "log/clear":
                e.clear_log()
            elif what == "state":
                out = e.state()
            elif what == "limits/reset":
                e.reset_limits()
            else:
                return self.send(404, {"ok": False, "error": "no such "
                                       "control"})
        except (KeyError, TypeError, ValueError) as ex:
            return self.send(400, {"ok": False, "error": str(ex)})
        self.send(200, out)

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path.startswith("/_emu/"):
            return self.control(u.path[6:])
        self.api()

    do_PUT = do_DELETE = do_POST

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path.startswith("/_emu/"):
            return self.control(u.path[6:])
        self.api()

    # -- API ------------------------------------------------------------------
    def api(self):
        e = self.emu
        u = urllib.parse.urlsplit(self.path)
        if e.cfg["latency"]:
            time.sleep(e.cfg["latency"])
        if not self.authorized():
            self.record(401)
            return self.error(401, "Invalid API key or secret")
        with e.lock:
            now = time.monotonic()
            wait = e.limiter.blocked(now)
            if wait <= 0:
                e.limiter.take(now)
            hdr = e.limiter.headers(now)
        if wait > 0:
            self.record(429)
            return self.error(429, "Too many requests", dict(
                hdr, **{"Retry-After": self.retry_after(wait)}))
        if self.command != "GET":
            self.record(405)
            return self.error(405, "Only GET is emulated", hdr)
        parts = u.path.split("/")[1:]
        if len(parts) < 2 or not e.active_lang(parts[0]):
            self.record(404)
            return self.error(404, "Unknown or inactive language", hdr)
        lang, rest = parts[0], parts[1:]
        if not rest[-1].endswith(".json"):
            self.record(404)
            return self.error(404, "Only .json is emulated", hdr)
        rest[-1] = rest[-1][:-5]
        fault = e.take_fault(u.path)
        if fault is not None and self.early_fault(fault, hdr):
            return
        params = {k: v[-1] for k, v in urllib.parse.parse_qs(
            u.query, keep_blank_values=True).items()}
        try:
            doc = e.route(rest, params, lang)
        except ApiError as ex:
            self.record(ex.status, fault)
            return self.error(ex.status, str(ex), hdr)
        data = json.dumps(doc).encode()
        self.record(200, fault)
        if fault == "badutf8":
            data = self.bad_utf8(doc)
        elif fault == "badjson":
            data = data[:len(data) // 2] + b"<html>oops"
        elif fault == "truncate":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in hdr.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.send(200, None, hdr, raw=data)

    def retry_after(self, wait):
        if self.emu.cfg["retry_after"] == "date":
            return email.utils.formatdate(time.time() + wait + 1,
                                          usegmt=True)
        return str(max(1, math.ceil(wait)))

    def early_fault(self, fault, hdr):
        """Faults answered before routing; True when answered."""
        if fault in ("500", "502", "503", "504", "404"):
            self.record(int(fault), fault)
            msg = "Not found" if fault == "404" else "Service unavailable"
            self.error(int(fault), msg, hdr)
            return True
        if fault == "429":
            self.record(429, fault)
            self.error(429, "Too many requests",
                       dict(hdr, **{"Retry-After": self.retry_after(1)}))
            return True
        if fault == "hang":
            self.record(0, fault)
            time.sleep(self.emu.cfg["hang_s"])
            self.close_connection = True
            return True
        return False

    @staticmethod
    def bad_utf8(doc):
        """The body with bytes FF FE inside the first text value of the
        first record."""
        marker = "@@BADUTF8@@"
        first = next(iter(doc.values()))
        rec = first[0] if isinstance(first, list) and first else first
        if isinstance(rec, dict):
            for k, v in rec.items():
                if isinstance(v, str) and k != "id":
                    rec[k] = v + marker
                    break
            else:
                rec["title"] = marker
        return json.dumps(doc).encode().replace(marker.encode(),
                                                b" \xff\xfe")


def main():
    ap = argparse.ArgumentParser(description="Lightspeed eCom emulator")
    ap.add_argument("--data", help="dataset JSON file")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--key", default="key")
    ap.add_argument("--secret", default="secret")
    ap.add_argument("--scale-windows", type=float, default=1.0,
                    help="multiply the 5 min/hour/day windows by X")
    ap.add_argument("--limits", default="300/3000/12000")
    ap.add_argument("--retry-after", choices=("seconds", "date"),
                    default="seconds")
    ap.add_argument("--latency", type=float, default=0.0)
    args = ap.parse_args()
    limits = [int(x) for x in args.limits.split("/")]
    if len(limits) != 3:
        ap.error("--limits takes three numbers: A/B/C")
    windows = [w * args.scale_windows for w in (300, 3600, 86400)]
    emu = LseEmulator(data=args.data, key=args.key, secret=args.secret,
                      limits=limits, windows=windows)
    emu.configure(retry_after=args.retry_after, latency=args.latency)
    print(emu.start(args.port), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        emu.stop()


if __name__ == "__main__":
    main()
