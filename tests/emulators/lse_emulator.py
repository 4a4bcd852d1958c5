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
  oldPriceIncl/oldPriceExcl), `true`/`false` in integer fields
  (variant stockMinimum/stockAlert of untracked variants), `null` for
  variant hs and taxType [TS variant.ts], `false` for order
  referralId/gender/birthDate when unset [TS order.ts].

3. Listing parameters (every list and count endpoint)
-----------------------------------------------------
[TS types.ts ListQuery, paginate.ts][TAP][REF]
- page: 1-based, default 1. limit: default 50 (GUESS), at most 250;
  above 250 is served as 250, below 1 as the default. A page past the
  end is an empty list. Lists are sorted by id ascending.
- since_id=N: only ids > N (ascending); combines with page/limit.
- created_at_min / created_at_max / updated_at_min / updated_at_max:
  inclusive bounds (min <=, max >=; GUESS). Value either
  "YYYY-MM-DD HH:MM:SS" read as UTC [TAP sends UTC in this form], or
  ISO 8601 with "Z" or an offset. An unparseable value: 400 error body
  (GUESS).
- fields=id,title,...: each record holds only those keys (unknown names
  ignored; an empty result key set still holds "id") [TS].
- Per-resource filters (exact match, below). Unknown parameters are
  ignored.
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
  fulltitle, description, content, set (false), brand (ref|false),
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
  [TAP]. Sources should read order.resource.id.  Filters: order, status.
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

7. Dataset (LseEmulator.load(doc) / --data FILE)
------------------------------------------------
A dict (JSON file) of resource lists keyed by the envelope plural, plus
"shop" (a dict). Records hold ids for references (null/absent = none),
epoch seconds (UTC) for createdAt/updatedAt/publishedAt, and localized
text either as a string or as {"nl": "...", "en": "..."}. Missing fields
get the per-resource defaults of section 5. Keys: shop, languages,
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
    emu = LseEmulator(data=doc_or_path, key="key", secret="secret")
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
    Mutations (each bumps updatedAt of what changed to
    emu.now() = max(wall clock, last stamp + 1), so an incremental
    reader with a small overlap sees it):
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
"id": N, "fields"/"record": {...}}]}; POST /_emu/config {...}; POST
/_emu/fault {pattern, kind, count, skip, probability}; POST
/_emu/faults/clear; GET /_emu/log; POST /_emu/log/clear; GET
/_emu/state (window counters); POST /_emu/limits/reset.

Run: lse_emulator.py --data FILE [--port N] [--key K] [--secret S]
[--scale-windows X] [--limits 300/3000/12000] [--retry-after date];
prints the port on the first stdout line.
"""
