#!/usr/bin/env python3
"""Dutchie POS API emulator (https://api.pos.dutchie.com).

This docstring is the API contract src/source_dutchie*.c is written
against. Every shape below is served exactly as written. Sources, cited
per item:
  [DOC]   api.pos.dutchie.com guides (authentication, rate limits,
          pagination, incremental sync, error handling), as summarised
          in /work/shared/reference/source-apis.md section 3
  [SPEC]  the Dutchie POS OpenAPI text (same summary): endpoint
          parameters, ProductDetail, ReportingInventoryItem, Customer,
          Transaction, TransactionItem field names
  [ACL]   jbhuffman/AcadiaLogic.Dutchie.Library (C#):
          DutchieClientOptions.cs (location key : integrator key),
          TransactionQueryRequest.cs (the three transaction selectors
          are mutually exclusive), DutchieClientBase.cs (dates sent as
          .NET "O" format, e.g. 2026-01-15T10:30:00.0000000+00:00)
  [3P]    third-party reports quoted in the summary (PascalCase
          /whoami, misspelt includeItems ignored)
  GUESS   not confirmed by any source we could read; chosen so that a
          source coded defensively against it also works if the real
          API differs in the obvious way. docs/dutchie.md lists them.

1. Transport and order of checks
--------------------------------
Base URL {api_url} (real: https://api.pos.dutchie.com; tests:
http://127.0.0.1:PORT). Only GET is served on API paths (other methods:
405, empty body). Paths and query parameter NAMES are matched case-
insensitively (GUESS: ASP.NET routing and model binding are), values
are case-sensitive except booleans ("true"/"false" in any case). A
trailing "/" is ignored. Unknown query parameters are ignored (so the
misspelt `includeItems` does nothing [3P]). Repeated parameter: the
last one wins.

Every API request, in this order:
  1. Auth [DOC][ACL]: HTTP Basic, user = the location's API key,
     password = the integrator key or empty. Missing header, not Basic,
     unknown key, or (only when the emulator is configured with an
     integrator key) a password other than that key: 401 with an EMPTY
     body (Content-Length: 0) [DOC]. Not counted, not rate limited.
     With no integrator key configured, any password is accepted
     ("optional now, required later" [ACL]).
  2. Routing: unknown path: 404, text/plain body "Not Found" (GUESS).
     Not counted.
  3. Rate limit (section 4): over the limit: 429 (body below). The
     429 is not counted against the window (GUESS).
     Otherwise the request is counted.
  4. Role (section 3): the key lacks the endpoint's role: 403, JSON
     {"Message": "Authorization has been denied for this request."}
     (GUESS: the ASP.NET wording; [DOC] only says 403).
  5. Scripted faults (section 7).
  6. Parameters (section 5): a bad value or rule: 400 (shapes below).
  7. Lagged changes due by now are applied (section 8), then the
     answer: 200, application/json; charset=utf-8, a bare JSON array
     or object as documented per endpoint.

400 bodies, by cause (all three shapes exist in the API [DOC][SPEC];
which cause gets which shape is a GUESS):
  - unparseable value (date, boolean, integer):  ValidationResult
      {"isValid": false,
       "errors": [{"propertyName": "FromLastModifiedDateUTC",
                   "errorMessage": "'x' is not a valid date"}],
       "ruleSetsExecuted": []}
  - transaction selector rules (section 5.8):     BadRequestResponse
      {"message": "Only one of TransactionId, FromDateUTC/ToDateUTC or
       FromLastModifiedDateUTC/ToLastModifiedDateUTC may be given",
       "propertyErrors": {"TransactionId": ["..."], ...}}
  - range caps and paging limits:                 text/plain, e.g.
      "Date range cannot exceed 90 days"
A source must print something sensible for each and never retry a 400.

Dates in queries: ISO 8601 (a "+" in an offset must be sent as %2B: a
raw "+" in a query is a space, and the date then fails with 400);
"Z", an offset, or no zone (= UTC);
fractional seconds of any length (the .NET "O" format [ACL]); a bare
date "2026-01-15" = midnight UTC. Dates in answers: UTC, whole seconds,
"2026-01-15T10:30:00Z" (configure(time_format="naive") serves the .NET
form "2026-01-15T10:30:00.0000000" without a zone instead; GUESS which
one is real: parse both). transactionDateLocalTime is the location's
local time without zone. dateOfBirth is "1990-04-01T00:00:00"
(GUESS). Absent dates are null.

2. Locations and keys [DOC]
---------------------------
One key = one location (a location may have more than one key, e.g.
one per integrator: emu.add_key(); each has its own rate-limit budget,
GUESS). A parent company ("LSP", lspId) has several
locations. GET /whoami (no role needed) answers the key's location:
  {"locationId": 1001, "locationName": "Green Leaf Downtown",
   "lspId": 100, "lspName": "Green Leaf Holdings",
   "address": "1 Main St", "city": "Denver", "state": "CO",
   "postalCode": "80202", "licenseNumber": "402R-00001",
   "doingBusinessAs": "Green Leaf", "shareCustomerProfiles": true,
   "globalId": "0b1c...-uuid", "locationGlobalId": "same as globalId",
   "lspGlobalId": "uuid of the LSP", "region": "CO"}
configure(whoami_case="pascal") serves the same with PascalCase keys
("LocationId", "LocationName", "LspId", ...) [3P]; sources must read
field names case-insensitively.
Which data a key sees: products, inventory, customers and transactions
of its own location only (customers shared across locations are served
by each location listed on them, with the same customerId).

3. Roles (GUESS names; [DOC] says keys are role-scoped, 403 if missing)
----------------------------------------------------------------------
  Product   /products, /product-category, /brand, /strains, /tag
  Inventory /inventory
  Reporting /reporting/products, /reporting/inventory,
            /reporting/transactions
  Customer  /customer/customers, /customer/customers-paginated
  (none)    /whoami
Every key has all four unless its location says otherwise
(dataset "roles", or emu.set_roles(location_id, [...])).

4. Rate limits [DOC][SPEC]
--------------------------
Per endpoint (the route, lower case, without query), per key, per
minute. A rolling 60 s window (GUESS; a client that keeps every rolling
minute within the limit also passes a fixed-minute limiter). Limits are
the LOWER of the documented numbers [DOC vs SPEC]:
  /whoami 200, /inventory 200, /reporting/* 60, everything else 120.
  configure(limits={"/reporting/transactions": 600, ...}) overrides;
  configure(window_s=S) (or --scale-windows X: S = 60 * X) sets the
  window length for tests and the bench.
Over the limit: 429, JSON body [DOC]
  {"Message": "Too many requests - only 60 per minute allowed",
   "TraceId": "<32 hex digits>"}
with "Retry-After: N" (whole seconds, >= 1, until the oldest counted
request in the window leaves it) unless configure(retry_after=False)
[DOC: "honour Retry-After if sent"]. No rate-limit headers on any
answer (GUESS: none documented).

5. Endpoints (all GET; full arrays unless stated) [SPEC]
--------------------------------------------------------
5.1 /products  params: fromLastModifiedDateUTC, isActive (bool)
    Only products the location carries that are isActive AND
    onlineAvailable there ("API-enabled and online-available" [SPEC]).
    isActive=false therefore answers [] (GUESS). ProductDetail, below.
5.2 /reporting/products  params: fromLastModifiedDateUTC
    Every product the location carries, inactive and offline included.
    ProductDetail:
      productId (int, the same at every location of the LSP),
      globalProductId (uuid), sku, productName, internalName,
      description, masterCategory, categoryId, category, brandId,
      brandName, vendorId, vendorName, strainId, strain, strainType
      ("Indica"|"Sativa"|"Hybrid"|"CBD"|null), size ("3.5g"),
      netWeight (number|null), netWeightUnit ("g"|"mg"|null),
      imageUrl (string|null), imageUrls ([string]),
      price, recPrice, medPrice, unitCost (numbers; price = recPrice
      unless the dataset says otherwise; PER LOCATION),
      isActive, onlineAvailable (PER LOCATION), isCannabis, isTaxable,
      onlineProduct, posProducts (null), onlineTitle,
      onlineDescription, tags ([{"tagId": 1, "tagName": "Sale"}];
      GUESS shape), upc, externalId, ecomCategory, createdDate,
      lastModifiedDateUtc (note "Utc"; the later of the product's and
      the location's own change), thcContent, thcContentUnit ("%" |
      "mg"), cbdContent, cbdContentUnit.
    Sorted by productId. fromLastModifiedDateUTC: lastModifiedDateUtc
    >= from (inclusive; GUESS).
5.3 /inventory  params: includeLabResults, includeRoomQuantities
    (booleans, accepted and otherwise ignored except as below)
    ReportingInventoryItem rows (5.4) of products that /products would
    serve (GUESS). configure(inventory_empty=True) answers [] (a third
    party saw that [REF 3.2]).
5.4 /reporting/inventory  params: includeLabResults,
    includeRoomQuantities, includeAllocated, includeLineage
    A snapshot (no delta filter) of the location's packages with
    quantityAvailable > 0: zero-stock packages are OMITTED [SPEC], so
    a product absent from the answer has 0 at that location. One row
    per package (a product may have several):
      inventoryId (int, unique), productId, sku, productName,
      categoryId, category, brandName, strain, quantityAvailable
      (number), quantityUnits ("Each"|"Grams"), allocatedQuantity
      (number; only with includeAllocated=true, else null),
      unitPrice, recUnitPrice, medUnitPrice, unitCost, batchName,
      packageId, externalPackageId, packageStatus ("Active"),
      expirationDate, roomQuantities ([{"room": "Sales Floor",
      "quantityAvailable": n}] only with includeRoomQuantities=true,
      else []), labResults ([] ; only key present with
      includeLabResults=true), lastModifiedDateUtc.
    Sorted by inventoryId.
5.5 /product-category -> [{"productCategoryId", "productCategory",
    "masterCategory"}]; /brand -> [{"brandId", "brandName"}];
    /strains -> [{"strainId", "strainName", "strainType"}];
    /tag -> [{"tagId", "tagName"}]. LSP level: every location of the
    LSP answers the same list (field names GUESS beyond the ids).
5.6 /customer/customers  params: fromLastModifiedDateUTC,
    toLastModifiedDateUTC, customerID, uniqueId, includeAnonymous
    Customer:
      customerId (int), uniqueId (string, the same across the LSP),
      firstName, lastName, middleName, address1, address2, city,
      state, postalCode, phone, cellPhone, emailAddress (string; ""
      when none; GUESS "" rather than null), status ("Active" |
      "Merged"), customerType ("Recreational" | "Medical"),
      dateOfBirth, creationDate, lastModifiedDateUTC (note "UTC"),
      isAnonymous, isLoyaltyMember, optedIntoMarketing,
      mergedIntoCustomerId (int|null: the survivor, for a merged
      customer), gender, medicalId (null unless Medical).
    Anonymous customers only with includeAnonymous=true (default
    false; GUESS). Merged customers are served (status "Merged").
    Selection: customerID=N or uniqueId=U: that customer (ignores the
    window; [] when unknown to this location). Otherwise the window
    [from, to] on lastModifiedDateUTC, both inclusive (GUESS):
    to defaults to now; from defaults to to - cap (so a call without
    dates silently sees only the last cap days; GUESS); from > to:
    400 text; to - from > cap: 400 text/plain
      "Date range cannot exceed 90 days"
    cap = the location's customerRangeDays (dataset; default 90 [DOC]).
    Sorted by customerId.
5.7 /customer/customers-paginated: the same plus PageNumber, PageSize;
    a bare array (a page) [SPEC]. Two modes (configure(page_mode=)):
      "spec" (default): PageNumber from 0 (default 0), PageSize
             default 1000, at most 10000;
      "docs": PageNumber from 1 (default 1), PageSize default 100, at
             most 100.
    PageNumber below the mode's first page, PageSize < 1 or above the
    mode's maximum: 400 text/plain (GUESS: the real API may clamp; a
    client must not rely on either). A page past the end is []. The
    last page is shorter than PageSize (or empty); stop there.
5.8 /reporting/transactions  params: TransactionId | FromDateUTC +
    ToDateUTC | FromLastModifiedDateUTC + ToLastModifiedDateUTC;
    IncludeDetail, IncludeTaxes, IncludeOrderIds,
    IncludeFeesAndDonations (booleans, default false)
    Exactly one selector [SPEC][ACL]. Two selectors, none, or half a
    pair (From without To or the reverse): 400 BadRequestResponse.
    Windows: both ends inclusive (GUESS); to - from over the
    transaction range cap (configure(transaction_range_days=31);
    GUESS, [DOC] states none for this endpoint but documents 31 days
    for the closing report): 400 text/plain "Date range cannot exceed
    31 days"; from > to: 400 text/plain.
    FromDateUTC/ToDateUTC select on transactionDate;
    the LastModified pair on lastModifiedDateUTC. Every
    transactionType is served (Retail, Transfer, WholesaleOrder);
    the source filters. Sorted by transactionId.
    Transaction:
      transactionId, transactionDate, transactionDateLocalTime,
      lastModifiedDateUTC, transactionType, customerId (int|null),
      employeeId, terminalName, invoiceNumber, subtotal,
      totalDiscount, totalBeforeTax, tax, total, paid, totalItems,
      isTaxInclusive, isVoid, voidDate (null unless void), isReturn,
      returnOnTransactionId (int|null), adjustmentForTransactionId
      (null), orderType ("In Store" | "Pickup" | "Delivery"),
      orderSource ("POS" | "Online"), isMedical, cashPaid, debitPaid,
      creditPaid, items, discounts ([]), taxSummary.
    items: [] unless IncludeDetail=true [SPEC][3P]; with it:
      transactionItemId, transactionId, productId, inventoryId,
      packageId, batchName, quantity, unitPrice (pre tax/discount),
      totalPrice (after discount and tax), totalDiscount, unitCost,
      vendor, isCoupon, discounts ([]), taxes ([] unless
      IncludeTaxes=true, then [{"rateName", "rate", "amount"}]),
      isReturned, returnedByTransactionId, returnDate, returnReason.
    taxSummary: [] unless IncludeTaxes=true (then [{"rateName",
    "amount"}]). orderIds ([int]) only with IncludeOrderIds=true;
    feesAndDonations ([]) only with IncludeFeesAndDonations=true.
    Returns [SPEC]: a separate transaction with isReturn=true,
    returnOnTransactionId = the original; quantities and money NEGATIVE
    (configure(return_sign="positive") makes them positive; the sign
    is undocumented: rely on the flags). The original's returned items
    get isReturned=true, returnedByTransactionId, returnDate,
    returnReason, and its lastModifiedDateUTC moves to the return's
    time (GUESS: otherwise an incremental reader never sees it).
    Voids: isVoid=true, voidDate, lastModifiedDateUTC moves; totals
    and items are kept as they were (GUESS).

6. Request log
--------------
emu.log: one entry per API request (control paths excluded):
  {"method", "path" (as sent, without query), "route" (normalised,
   lower case), "query" ({name as sent: [values]}), "location"
   (locationId of the key, or None), "status", "fault" (kind|None),
   "bytes" (body length), "t" (time.monotonic())}
emu.requests(route=None, status=None, location=None) filters it
(route: exact normalised route or a regex when it starts with "^").

7. Scripted faults
------------------
emu.fault(route, kind, times=1, skip=0, location=None, seconds=None):
the next `times` requests to `route` (a normalised route, or "*" for
every route), of `location` (None: any), after `skip` matching ones
passed, get `kind` -- a run of `times` in a row. Faulted requests
passed auth, routing, the limiter and the role check and are counted
(GUESS). Kinds:
  "500" "502" "503" "504": that status, text/plain "Service
      Unavailable" (500: "Internal Server Error");
  "429": 429 with the documented body and Retry-After: 1 although
      the window is not full;
  "hang": answers nothing for `seconds` (default configure(hang_s=),
      30 s), then closes the connection;
  "truncate": full Content-Length, half the body, connection closed;
  "badjson": 200 with half the body followed by "<html>oops".
emu.clear_faults().

8. Dataset, changes and lag
---------------------------
emu.load(doc) (a dict or a JSON file path) replaces everything;
dutchie_data.py builds them (small(now) for e2e tests, bench(...) for
the bench). Dataset keys (times are epoch seconds UTC):
  lsps: [{"lspId", "lspName", "lspGlobalId"}]
  locations: [{"locationId", "lspId", "locationName", "address",
      "city", "state", "postalCode", "licenseNumber",
      "doingBusinessAs", "shareCustomerProfiles", "globalId",
      "region", "timeZone" (not served; for transactionDateLocalTime),
      "key" (the API key), "extraKeys" (optional: more keys bound to
      the same location), "roles" (optional), "customerRangeDays"
      (optional)}]
  categories, brands, strains, tags: the 5.5 records plus "lspId"
  products: ProductDetail fields (LSP-level) plus "lspId" and
      "locations": {str(locationId): {per-location fields: price,
      recPrice, medPrice, unitCost, isActive, onlineAvailable,
      lastModified}}; a product is carried by the locations listed.
      categoryId/brandId/strainId/tags ([tagId]) refer to the lists;
      the names are filled in when served.
  packages: [{"inventoryId", "locationId", "productId", "packageId",
      "batchName", "quantityAvailable", "allocatedQuantity",
      "quantityUnits", "lastModified", "rooms": {name: qty}}]
  customers: Customer fields plus "lspId", "locations": [ids],
      "lastModified", "created", "dateOfBirth" (epoch)
  transactions: Transaction fields plus "locationId", "date",
      "lastModified", "voidDate"(epoch|null), "items": [item fields
      plus "returnDate" (epoch|null), "taxAmount"]; money as
      dutchie_data.finish_transaction() computes it (positive; the
      sign of returns is applied when served)
  Fields left out get the defaults in PRODUCT_DEFAULTS,
  CUSTOMER_DEFAULTS, TX_DEFAULTS and ITEM_DEFAULTS below.
Mutations (Python, or POST /_emu/change {"ops": [{"op": NAME, "args":
[...], "kwargs": {...}}]} -> {"ok": true, "ids": [returned ids]}).
Each stamps what it changes (and only that) with lastModified =
emu.now() (the wall clock in whole seconds, or the time given to
set_clock(epoch)):
  update_product(pid, **fields), set_price(pid, location_id, rec=None,
  med=None, price=None), set_active(pid, location_id, active=True,
  online=None), add_product(record) -> pid, set_stock(inventoryId,
  qty), add_package(record) -> inventoryId, add_customer(record) ->
  customerId, update_customer(cid, **fields), merge_customer(loser,
  survivor) (loser: status Merged, mergedIntoCustomerId; both
  stamped), add_transaction(record, items) -> transactionId,
  void_transaction(tid), add_return(tid, lines=[(transactionItemId,
  qty)], reason="Changed mind") -> the return's transactionId,
  set_clock(epoch|None).
Lag (configure(lag_s=L), default 0) [DOC: the API lags the POS by
1-5 min]: a mutation at time T is stamped T but becomes visible only
at T + L, so a reader that bookmarks the time after its request, or
without overlap, misses it. emu.settle() applies every pending change
now (tests).

9. Control
----------
In-process:
    import dutchie_emulator, dutchie_data
    emu = dutchie_emulator.DutchieEmulator(data=dutchie_data.small(NOW))
                                # copy=False: do not copy a big dict
    emu.start()                 # 127.0.0.1, ephemeral port; returns it
    emu.url                     # "http://127.0.0.1:PORT"
    emu.keys                    # {locationId: key}
    emu.add_key(location_id)    # binds a second key; returns it
    emu.write_keys(path, location_ids=None)  # keys file: "# name (id)"
                                # comment line, then the key, per loc.
    emu.configure(whoami_case=, lag_s=, integrator_key=, page_mode=,
                  return_sign=, retry_after=, hang_s=, latency=,
                  transaction_range_days=, time_format=,
                  inventory_empty=, limits={route: n}, window_s=)
    emu.set_roles(location_id, roles)
    emu.reset_limits(); emu.clear_log()
    emu.stats()  -> {"requests", "by_status": {"200": n, ...},
                     "by_route": {route: n}, "by_location": {"1001": n},
                     "bytes", "peak": {"1001 /reporting/transactions":
                     most requests seen in one rolling window}, "429"}
    emu.min_requests(customers_since, transactions_since, until=None,
                     page_size=None) -> {"per_location": {id: n},
                     "total": n}: the fewest requests a first sync over
                     those spans can make (see the method)
    emu.stop()
Over HTTP (not authenticated, not counted, not logged): POST
/_emu/load {"data": {...}} or {"path": FILE} or {"bench": {kwargs of
dutchie_data.bench}}; POST /_emu/change {"ops": [...]}; POST
/_emu/config {...configure()'s arguments}; POST /_emu/roles
{"location": id, "roles": [...]}; POST /_emu/fault {fault()'s
arguments}; POST /_emu/faults/clear; GET /_emu/log; POST
/_emu/log/clear; POST /_emu/limits/reset; POST /_emu/settle; GET
/_emu/keys ({locationId: key}); GET /_emu/stats (emu.stats());
GET /_emu/min_requests?customers_since=EPOCH&transactions_since=EPOCH
[&until=EPOCH][&page_size=N] (emu.min_requests(); pass the until the
source used, or windows are cut at the emulator's later "now").

Run: dutchie_emulator.py [--data FILE | --bench L,P,T,C] [--port N]
[--keys-out FILE] [--scale-windows X] [--lag S] [--integrator-key-file
F]; prints "listening on http://127.0.0.1:PORT" on the first stdout
line (after --keys-out is written).

10. What is a GUESS (for docs/dutchie.md's "not confirmed" list)
-----------------------------------------------------------------
- the role names and which endpoint needs which; the 403 body;
- 404 for an unknown path; paths/parameter names case-insensitive;
- 429s and faulted requests: the former not counted, the latter
  counted; a rolling (not fixed) minute; no rate-limit headers;
- which 400 body shape each cause gets; the 400 for PageSize above
  the maximum (the real API may clamp);
- answer dates as "...Z" (or .NET's zone-less form), inclusive
  window ends;
- customers: anonymous ones only with includeAnonymous=true; a call
  without dates means the last cap days; emailAddress "" when none;
- /products with isActive=false answers []; /inventory serves only
  what /products serves;
- the 31-day cap on /reporting/transactions windows;
- returns negative, the original's lastModifiedDateUTC moving when
  it is returned or voided, voids keeping their totals;
- tags as [{"tagId", "tagName"}]; the reference lists' field names
  beyond their ids.
"""
import argparse
import base64
import collections
import datetime
import functools
import json
import math
import os
import re
import sys
import threading
import time
import urllib.parse
import zoneinfo
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dutchie_data  # noqa: E402

ROLES = ("Product", "Inventory", "Reporting", "Customer")
# route -> (role, handler method name)
ROUTES = {
    "/whoami": (None, "ep_whoami"),
    "/products": ("Product", "ep_products"),
    "/product-category": ("Product", "ep_categories"),
    "/brand": ("Product", "ep_brands"),
    "/strains": ("Product", "ep_strains"),
    "/tag": ("Product", "ep_tags"),
    "/inventory": ("Inventory", "ep_inventory"),
    "/reporting/products": ("Reporting", "ep_reporting_products"),
    "/reporting/inventory": ("Reporting", "ep_reporting_inventory"),
    "/reporting/transactions": ("Reporting", "ep_transactions"),
    "/customer/customers": ("Customer", "ep_customers"),
    "/customer/customers-paginated": ("Customer", "ep_customers_paged"),
}
FAULT_KINDS = ("500", "502", "503", "504", "429", "hang", "truncate",
               "badjson")
WHOAMI_FIELDS = ("locationId", "locationName", "lspId", "lspName",
                 "address", "city", "state", "postalCode",
                 "licenseNumber", "doingBusinessAs",
                 "shareCustomerProfiles", "globalId", "locationGlobalId",
                 "lspGlobalId", "region")
PRODUCT_DEFAULTS = dict(
    globalProductId=None, sku="", productName="", internalName="",
    description="", categoryId=None, brandId=None, vendorId=1,
    vendorName="Grower LLC", strainId=None, size="", netWeight=None,
    netWeightUnit=None, imageUrl=None, imageUrls=None, recPrice=0.0,
    medPrice=0.0, unitCost=0.0, isActive=True, onlineAvailable=True,
    isCannabis=True, isTaxable=True, onlineProduct=True, posProducts=None,
    onlineTitle=None, onlineDescription=None, tags=(), upc="",
    externalId="", ecomCategory="", created=0, lastModified=0,
    thcContent=None, thcContentUnit=None, cbdContent=None,
    cbdContentUnit=None)
PER_LOCATION = ("price", "recPrice", "medPrice", "unitCost", "isActive",
                "onlineAvailable")
CUSTOMER_DEFAULTS = dict(
    uniqueId="", firstName="", lastName="", middleName="", address1="",
    address2="", city="", state="", postalCode="", phone="", cellPhone="",
    emailAddress="", status="Active", customerType="Recreational",
    dateOfBirth=None, created=0, lastModified=0, isAnonymous=False,
    isLoyaltyMember=False, optedIntoMarketing=False,
    mergedIntoCustomerId=None, gender="", medicalId=None)
TX_DEFAULTS = dict(
    customerId=None, transactionType="Retail", employeeId=7,
    terminalName="Register 1", invoiceNumber=None, isTaxInclusive=False,
    isVoid=False, voidDate=None, isReturn=False,
    returnOnTransactionId=None, adjustmentForTransactionId=None,
    orderType="In Store", orderSource="POS", isMedical=False,
    cashPaid=0.0, debitPaid=0.0, creditPaid=0.0)
ITEM_DEFAULTS = dict(
    packageId=None, batchName=None, totalDiscount=0.0, unitCost=0.0,
    vendor="Grower LLC", isCoupon=False, isReturned=False,
    returnedByTransactionId=None, returnDate=None, returnReason=None,
    taxAmount=0.0)
TX_MONEY = ("subtotal", "totalDiscount", "totalBeforeTax", "tax", "total",
            "paid", "cashPaid", "debitPaid", "creditPaid")
ITEM_MONEY = ("totalPrice", "totalDiscount")
SELECTOR_MSG = ("Only one of TransactionId, FromDateUTC/ToDateUTC or "
                "FromLastModifiedDateUTC/ToLastModifiedDateUTC may be "
                "given")


class ApiError(Exception):
    """An answer other than 200: status, body (bytes) and type."""

    def __init__(self, status, body=b"", ctype="text/plain"):
        super().__init__(status)
        self.status = status
        if isinstance(body, (dict, list)):
            body, ctype = json.dumps(body).encode(), "application/json"
        elif isinstance(body, str):
            body = body.encode()
        self.body, self.ctype = body, ctype


def bad_value(name, value, what):
    return ApiError(400, {"isValid": False, "errors": [
        {"propertyName": name,
         "errorMessage": "'%s' is not a valid %s" % (value, what)}],
        "ruleSetsExecuted": []})


def parse_date(name, s):
    """A query date -> epoch seconds (float); 400 ValidationResult when
    it does not parse."""
    v = s.strip()
    try:
        if re.fullmatch(r"\d{4}-\d\d-\d\d", v):
            v += "T00:00:00"
        if v.endswith("Z") or v.endswith("z"):
            v = v[:-1] + "+00:00"
        m = re.fullmatch(r"(.*T\d\d:\d\d:\d\d)(\.\d+)?([+-]\d\d:?\d\d)?",
                         v)
        if not m:
            raise ValueError(v)
        frac = float(m.group(2)) if m.group(2) else 0.0
        t = datetime.datetime.fromisoformat(m.group(1) + (m.group(3) or ""))
        if t.tzinfo is None:
            t = t.replace(tzinfo=datetime.timezone.utc)
        return t.timestamp() + frac
    except ValueError:
        raise bad_value(name, s, "date")


def parse_bool(name, s, default=False):
    if s is None or s == "":
        return default
    if s.lower() in ("true", "false"):
        return s.lower() == "true"
    raise bad_value(name, s, "boolean")


def parse_int(name, s, default=None):
    if s is None or s == "":
        return default
    try:
        return int(s)
    except ValueError:
        raise bad_value(name, s, "integer")


@functools.lru_cache(maxsize=1 << 16)
def fmt_utc(t, naive):
    """Epoch seconds -> "YYYY-MM-DDTHH:MM:SSZ" (or .NET's zone-less
    form); cached: a transaction's date and lastModified repeat."""
    s = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))
    return s + ".0000000" if naive else s + "Z"


def default_limit(route):
    if route in ("/whoami", "/inventory"):
        return 200
    if route.startswith("/reporting/"):
        return 60
    return 120


class DutchieEmulator:
    """See the module docstring, section 9."""

    def __init__(self, data=None, seed=1, copy=True):
        self.lock = threading.RLock()
        self.cfg = {"whoami_case": "camel", "lag_s": 0.0,
                    "integrator_key": None, "page_mode": "spec",
                    "return_sign": "negative", "retry_after": True,
                    "hang_s": 30.0, "latency": 0.0,
                    "transaction_range_days": 31, "time_format": "z",
                    "inventory_empty": False, "limits": {},
                    "window_s": 60.0}
        self.seed = seed
        self.trace = 0
        self.faults = []
        self.log = []
        self.windows = {}
        self.peak = {}
        self.clock = None
        self.pending = []
        self.server = None
        self.url = None
        self.load(data if data is not None else {}, copy=copy)

    # -- data ------------------------------------------------------------
    def load(self, doc, copy=True):
        """Replaces the dataset. A dict is copied (the caller keeps its
        own) unless copy=False (a freshly generated one)."""
        if isinstance(doc, str):
            with open(doc, encoding="utf-8") as f:
                doc = json.load(f)
        elif copy:
            doc = json.loads(json.dumps(doc))
        with self.lock:
            self.pending = []
            self.reserved_item = 0
            self.lsps = {x["lspId"]: x for x in doc.get("lsps", [])}
            self.locs = {x["locationId"]: x
                         for x in doc.get("locations", [])}
            self.by_key = {}
            for x in self.locs.values():
                for k in [x["key"]] + list(x.get("extraKeys", [])):
                    self.by_key[k] = x
            self.refs = {k: doc.get(k, []) for k in
                         ("categories", "brands", "strains", "tags")}
            self.products = {p["productId"]: p
                             for p in doc.get("products", [])}
            self.packages = {r["inventoryId"]: r
                             for r in doc.get("packages", [])}
            self.customers = {c["customerId"]: c
                              for c in doc.get("customers", [])}
            self.txs = {t["transactionId"]: t
                        for t in doc.get("transactions", [])}
            self.reindex()

    def reindex(self):
        """Per-location lookups; called under the lock after a change."""
        per = collections.defaultdict
        self.loc_products = per(list)
        live = {k: {i: r for i, r in getattr(self, k).items()
                    if r is not None}
                for k in ("products", "packages", "customers", "txs")}
        for pid in sorted(live["products"]):
            for lid in self.products[pid].get("locations", {}):
                self.loc_products[int(lid)].append(pid)
        self.loc_packages = per(list)
        for iid in sorted(live["packages"]):
            r = self.packages[iid]
            self.loc_packages[r["locationId"]].append(iid)
        self.loc_customers = per(list)
        for cid in sorted(live["customers"]):
            for lid in self.customers[cid].get("locations", []):
                self.loc_customers[lid].append(cid)
        self.loc_txs = per(list)
        for tid in sorted(live["txs"]):
            self.loc_txs[self.txs[tid]["locationId"]].append(tid)
        self.ref_names = {
            k: {r[idk]: r for r in self.refs[k]}
            for k, idk in (("categories", "productCategoryId"),
                           ("brands", "brandId"), ("strains", "strainId"),
                           ("tags", "tagId"))}
        self.cache = {}

    @property
    def keys(self):
        with self.lock:
            return {lid: x["key"] for lid, x in self.locs.items()}

    def add_key(self, location_id, key=None):
        """Binds another key to a location (a second integrator's, or a
        rotated one) and returns it. It has its own rate-limit budget
        (GUESS) and the location's roles."""
        with self.lock:
            loc = self.locs[location_id]
            if key is None:
                n = len(loc.get("extraKeys", [])) + 2
                key = "%s-%d" % (loc["key"], n)
            if key in self.by_key:
                raise ValueError("key already bound")
            loc.setdefault("extraKeys", []).append(key)
            self.by_key[key] = loc
            return key

    def write_keys(self, path, location_ids=None):
        with self.lock:
            ids = location_ids or sorted(self.locs)
            lines = ["# Dutchie location keys (emulator)"]
            for lid in ids:
                x = self.locs[lid]
                lines += ["# %s (%d)" % (x["locationName"], lid), x["key"]]
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(path, 0o600)
        return path

    # -- time and lag ----------------------------------------------------
    def now_f(self):
        return float(self.clock) if self.clock is not None else time.time()

    def now(self):
        return int(self.now_f())

    def set_clock(self, epoch=None):
        with self.lock:
            self.clock = epoch

    def _change(self, fn):
        """Runs fn(stamp) now, or at stamp + lag_s: the API lags the POS,
        the change keeps the time it was made."""
        with self.lock:
            t = self.now()
            lag = float(self.cfg["lag_s"])
            if lag <= 0:
                fn(t)
                self.reindex()
            else:
                self.pending.append((self.now_f() + lag, fn, t))

    def apply_due(self, everything=False):
        with self.lock:
            if not self.pending:
                return
            now = self.now_f()
            keep = []
            done = False
            for due, fn, t in self.pending:
                if everything or due <= now:
                    fn(t)
                    done = True
                else:
                    keep.append((due, fn, t))
            self.pending = keep
            if done:
                self.reindex()

    def settle(self):
        self.apply_due(everything=True)

    # -- mutations (section 8) ---------------------------------------------
    def update_product(self, pid, **fields):
        def fn(t):
            self.products[pid].update(fields, lastModified=t)
        self._change(fn)

    def set_price(self, pid, location_id, rec=None, med=None, price=None):
        def fn(t):
            o = self.products[pid]["locations"].setdefault(
                str(location_id), {})
            for k, v in (("recPrice", rec), ("medPrice", med),
                         ("price", price)):
                if v is not None:
                    o[k] = v
            o["lastModified"] = t
        self._change(fn)

    def set_active(self, pid, location_id, active=True, online=None):
        def fn(t):
            o = self.products[pid]["locations"].setdefault(
                str(location_id), {})
            o["isActive"] = active
            if online is not None:
                o["onlineAvailable"] = online
            o["lastModified"] = t
        self._change(fn)

    def add_product(self, record):
        with self.lock:
            pid = record.get("productId") or 1 + max(self.products or [0])
            self.products.setdefault(pid, {"productId": pid,
                                           "locations": {}})
        rec = dict(record, productId=pid)
        rec.setdefault("locations", {})

        def fn(t):
            rec.setdefault("created", t)
            rec["lastModified"] = t
            self.products[pid] = rec
        self._change(fn)
        return pid

    def set_stock(self, inventory_id, qty):
        def fn(t):
            self.packages[inventory_id].update(quantityAvailable=qty,
                                               lastModified=t)
        self._change(fn)

    def add_package(self, record):
        with self.lock:
            iid = record.get("inventoryId") or \
                1 + max(self.packages or [0])
            self.packages.setdefault(iid, None)
        rec = dict(record, inventoryId=iid)

        def fn(t):
            rec["lastModified"] = t
            self.packages[iid] = rec
        self._change(fn)
        return iid

    def add_customer(self, record):
        with self.lock:
            cid = record.get("customerId") or \
                1 + max(self.customers or [0])
            self.customers.setdefault(cid, None)
        rec = dict(record, customerId=cid)

        def fn(t):
            rec.setdefault("created", t)
            rec["lastModified"] = t
            self.customers[cid] = rec
        self._change(fn)
        return cid

    def update_customer(self, cid, **fields):
        def fn(t):
            self.customers[cid].update(fields, lastModified=t)
        self._change(fn)

    def merge_customer(self, loser, survivor):
        def fn(t):
            self.customers[loser].update(
                status="Merged", mergedIntoCustomerId=survivor,
                lastModified=t)
            self.customers[survivor]["lastModified"] = t
        self._change(fn)

    def add_transaction(self, record, items=()):
        """items: dicts with productId, inventoryId, quantity, unitPrice
        (and optionally totalDiscount); ids are assigned."""
        with self.lock:
            tid = record.get("transactionId") or 1 + max(self.txs or [0])
            self.txs.setdefault(tid, None)
            iid = self._next_item_id()
            lines = []
            for it in items:
                lines.append(dict(it, transactionItemId=iid,
                                  transactionId=tid))
                iid += 1
            self.reserved_item = iid
        rec = dict(record, transactionId=tid, items=lines)
        dutchie_data.finish_transaction(rec)

        def fn(t):
            rec.setdefault("date", t)
            rec["lastModified"] = t
            self.txs[tid] = rec
        self._change(fn)
        return tid

    def _next_item_id(self):
        top = max([it["transactionItemId"] for t in self.txs.values()
                   if t for it in t["items"]] + [0])
        return max(top + 1, self.reserved_item)

    def void_transaction(self, tid):
        def fn(t):
            self.txs[tid].update(isVoid=True, voidDate=t, lastModified=t)
        self._change(fn)

    def add_return(self, tid, lines=(), reason="Changed mind"):
        """lines: [(transactionItemId of the original, quantity)]."""
        with self.lock:
            o = self.txs[tid]
            rid = 1 + max(self.txs)
            self.txs.setdefault(rid, None)
            iid = self._next_item_id()
            items = []
            by_item = {it["transactionItemId"]: it for it in o["items"]}
            for item_id, qty in lines:
                src = by_item[item_id]
                items.append({k: src[k] for k in (
                    "productId", "inventoryId", "unitPrice", "packageId",
                    "batchName", "unitCost") if k in src})
                items[-1].update(transactionItemId=iid, transactionId=rid,
                                 quantity=qty)
                iid += 1
            self.reserved_item = iid
        rec = {k: o[k] for k in ("locationId", "customerId", "isMedical")
               if k in o}
        rec.update(transactionId=rid, isReturn=True,
                   returnOnTransactionId=tid, items=items)
        dutchie_data.finish_transaction(rec)

        def fn(t):
            rec["date"] = rec["lastModified"] = t
            self.txs[rid] = rec
            orig = self.txs[tid]
            for item_id, _ in lines:
                by_item[item_id].update(
                    isReturned=True, returnedByTransactionId=rid,
                    returnDate=t, returnReason=reason)
            orig["lastModified"] = t
        self._change(fn)
        return rid

    HELPERS = ("update_product", "set_price", "set_active", "add_product",
               "set_stock", "add_package", "add_customer",
               "update_customer", "merge_customer", "add_transaction",
               "void_transaction", "add_return", "set_clock")

    def change(self, ops):
        out = []
        for op in ops:
            name = op["op"]
            if name not in self.HELPERS:
                raise ValueError("unknown change op %s" % name)
            r = getattr(self, name)(*op.get("args", []),
                                    **op.get("kwargs", {}))
            if r is not None:
                out.append(r)
        return out

    # -- control -----------------------------------------------------------
    def configure(self, **cfg):
        with self.lock:
            for k, v in cfg.items():
                if k not in self.cfg:
                    raise KeyError("unknown emulator setting %s" % k)
                if k == "limits":
                    v = {r.lower(): int(n) for r, n in v.items()}
                self.cfg[k] = v
            if self.cfg["page_mode"] not in ("spec", "docs"):
                raise ValueError("page_mode is spec or docs")
            if self.cfg["return_sign"] not in ("negative", "positive"):
                raise ValueError("return_sign is negative or positive")

    def set_roles(self, location_id, roles):
        for r in roles:
            if r not in ROLES:
                raise ValueError("unknown role %s" % r)
        with self.lock:
            self.locs[location_id]["roles"] = list(roles)

    def reset_limits(self):
        with self.lock:
            self.windows = {}
            self.peak = {}

    def limit_for(self, route):
        return self.cfg["limits"].get(route, default_limit(route))

    def take(self, key, loc, route):
        """Counts a request in the rolling window of the key used;
        returns 0, or the seconds until a place frees up when the window
        is full. Keeps the peak count per (location, route) for
        stats()."""
        with self.lock:
            now = time.monotonic()
            w = self.windows.setdefault((key, route), collections.deque())
            length = float(self.cfg["window_s"])
            while w and w[0] <= now - length:
                w.popleft()
            if len(w) >= self.limit_for(route):
                return max(1e-3, w[0] + length - now)
            w.append(now)
            pk = (loc["locationId"], route)
            self.peak[pk] = max(self.peak.get(pk, 0), len(w))
            return 0.0

    def fault(self, route, kind, times=1, skip=0, location=None,
              seconds=None):
        if kind not in FAULT_KINDS:
            raise ValueError("unknown fault kind %s" % kind)
        r = route if route == "*" else route.lower().rstrip("/")
        with self.lock:
            self.faults.append({"route": r, "kind": kind, "times": times,
                                "skip": skip, "location": location,
                                "seconds": seconds})

    def clear_faults(self):
        with self.lock:
            self.faults = []

    def take_fault(self, route, lid):
        with self.lock:
            for f in self.faults:
                if f["times"] <= 0:
                    continue
                if f["route"] != "*" and f["route"] != route:
                    continue
                if f["location"] is not None and f["location"] != lid:
                    continue
                if f["skip"] > 0:
                    f["skip"] -= 1
                    continue
                f["times"] -= 1
                return f
        return None

    def clear_log(self):
        with self.lock:
            self.log = []

    def requests(self, route=None, status=None, location=None):
        rx = re.compile(route) if route and route.startswith("^") else None
        with self.lock:
            return [e for e in self.log
                    if (route is None or (rx.search(e["route"]) if rx
                                          else e["route"] == route)) and
                    (status is None or e["status"] == status) and
                    (location is None or e["location"] == location)]

    def stats(self):
        with self.lock:
            by_status = collections.Counter(str(e["status"])
                                            for e in self.log)
            by_route = collections.Counter(e["route"] for e in self.log)
            by_loc = collections.Counter(str(e["location"])
                                         for e in self.log)
            return {"requests": len(self.log),
                    "by_status": dict(by_status),
                    "by_route": dict(by_route),
                    "by_location": dict(by_loc),
                    "bytes": sum(e["bytes"] for e in self.log),
                    "peak": {"%s %s" % k: n
                             for k, n in sorted(self.peak.items())},
                    "429": by_status.get("429", 0)}

    def min_requests(self, customers_since, transactions_since,
                     until=None, page_size=None, location_ids=None):
        """The fewest requests a full first sync can make: per location
        /whoami, /reporting/products and /reporting/inventory once, the
        customer windows (each at most the range cap) with their pages
        (the page that comes back short included; anonymous customers
        not asked for), and the transaction windows (each at most the
        transaction range cap). A lower bound for the bench to compare
        a source's count against."""
        with self.lock:
            self.apply_due()
            until = self.now_f() if until is None else until
            spec = self.cfg["page_mode"] == "spec"
            size = page_size or (10000 if spec else 100)
            tx_span = int(self.cfg["transaction_range_days"]) * 86400
            per = {}
            for lid in location_ids or sorted(self.locs):
                cap = self.locs[lid].get("customerRangeDays", 90) * 86400
                n = 3 + math.ceil((until - transactions_since) / tx_span)
                lo = customers_since
                while lo < until:
                    hi = min(lo + cap, until)
                    k = sum(1 for c in self.loc_customers[lid]
                            if not self.customers[c].get("isAnonymous")
                            and lo <= self.customers[c].get(
                                "lastModified", 0) <= hi)
                    n += k // size + 1
                    lo = hi
                per[lid] = n
            return {"per_location": per, "total": sum(per.values())}

    def start(self, port=0):
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.server.emu = self
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        t = threading.Thread(target=self.server.serve_forever,
                             kwargs={"poll_interval": 0.05}, daemon=True)
        t.start()
        return self.server.server_address[1]

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    # -- rendering ---------------------------------------------------------
    def fmt(self, t):
        if t is None:
            return None
        return fmt_utc(int(t), self.cfg["time_format"] == "naive")

    def local(self, t, lid):
        tz = zoneinfo.ZoneInfo(self.locs[lid].get("timeZone") or "UTC")
        return datetime.datetime.fromtimestamp(int(t), tz).isoformat(
            timespec="seconds")[:19]

    def whoami(self, loc):
        lsp = self.lsps.get(loc["lspId"], {})
        src = dict(loc, lspName=lsp.get("lspName", ""),
                   lspGlobalId=lsp.get("lspGlobalId"),
                   locationGlobalId=loc.get("globalId"))
        out = {k: src.get(k) for k in WHOAMI_FIELDS}
        if self.cfg["whoami_case"] == "pascal":
            out = {k[0].upper() + k[1:]: v for k, v in out.items()}
        return out

    def product_view(self, pid, lid):
        """The product as location lid sees it, with lastModified the
        later of the product's and the location's own change."""
        p = self.products[pid]
        o = dict(PRODUCT_DEFAULTS)
        o.update(p)
        lo = p["locations"].get(str(lid), {})
        for k in PER_LOCATION:
            if k in lo:
                o[k] = lo[k]
        if "price" not in lo and "price" not in p:
            o["price"] = o["recPrice"]
        o["lastModified"] = max(o["lastModified"],
                                lo.get("lastModified", 0))
        return o

    def render_product(self, o):
        cat = self.ref_names["categories"].get(o["categoryId"], {})
        brand = self.ref_names["brands"].get(o["brandId"], {})
        strain = self.ref_names["strains"].get(o["strainId"], {})
        tags = [{"tagId": t, "tagName":
                 self.ref_names["tags"].get(t, {}).get("tagName", "")}
                for t in o["tags"]]
        urls = o["imageUrls"]
        if urls is None:
            urls = [o["imageUrl"]] if o["imageUrl"] else []
        return {
            "productId": o["productId"],
            "globalProductId": o["globalProductId"], "sku": o["sku"],
            "productName": o["productName"],
            "internalName": o["internalName"],
            "description": o["description"],
            "masterCategory": cat.get("masterCategory"),
            "categoryId": o["categoryId"],
            "category": cat.get("productCategory"),
            "brandId": o["brandId"], "brandName": brand.get("brandName"),
            "vendorId": o["vendorId"], "vendorName": o["vendorName"],
            "strainId": o["strainId"], "strain": strain.get("strainName"),
            "strainType": strain.get("strainType"), "size": o["size"],
            "netWeight": o["netWeight"], "netWeightUnit": o["netWeightUnit"],
            "imageUrl": o["imageUrl"], "imageUrls": list(urls),
            "price": o["price"], "recPrice": o["recPrice"],
            "medPrice": o["medPrice"], "unitCost": o["unitCost"],
            "isActive": o["isActive"],
            "onlineAvailable": o["onlineAvailable"],
            "isCannabis": o["isCannabis"], "isTaxable": o["isTaxable"],
            "onlineProduct": o["onlineProduct"],
            "posProducts": o["posProducts"],
            "onlineTitle": o["onlineTitle"] or o["productName"],
            "onlineDescription": o["onlineDescription"] or
            o["description"],
            "tags": tags, "upc": o["upc"], "externalId": o["externalId"],
            "ecomCategory": o["ecomCategory"],
            "createdDate": self.fmt(o["created"]),
            "lastModifiedDateUtc": self.fmt(o["lastModified"]),
            "thcContent": o["thcContent"],
            "thcContentUnit": o["thcContentUnit"],
            "cbdContent": o["cbdContent"],
            "cbdContentUnit": o["cbdContentUnit"]}

    def render_package(self, r, o, params):
        cat = self.ref_names["categories"].get(o["categoryId"], {})
        brand = self.ref_names["brands"].get(o["brandId"], {})
        strain = self.ref_names["strains"].get(o["strainId"], {})
        iid = r["inventoryId"]
        out = {
            "inventoryId": iid, "productId": o["productId"],
            "sku": o["sku"], "productName": o["productName"],
            "categoryId": o["categoryId"],
            "category": cat.get("productCategory"),
            "brandName": brand.get("brandName"),
            "strain": strain.get("strainName"),
            "quantityAvailable": r["quantityAvailable"],
            "quantityUnits": r.get("quantityUnits", "Each"),
            "allocatedQuantity": r.get("allocatedQuantity", 0)
            if params["allocated"] else None,
            "unitPrice": o["price"], "recUnitPrice": o["recPrice"],
            "medUnitPrice": o["medPrice"], "unitCost": o["unitCost"],
            "batchName": r.get("batchName", "B-%d" % iid),
            "packageId": r.get("packageId", "PKG-%06d" % iid),
            "externalPackageId": r.get("externalPackageId", ""),
            "packageStatus": "Active",
            "expirationDate": self.fmt(r.get("expirationDate")),
            "roomQuantities": [
                {"room": k, "quantityAvailable": v}
                for k, v in (r.get("rooms") or {
                    "Sales Floor": r["quantityAvailable"]}).items()]
            if params["rooms"] else [],
            "lastModifiedDateUtc": self.fmt(r.get("lastModified", 0))}
        if params["lab"]:
            out["labResults"] = []
        return out

    def render_customer(self, c):
        o = dict(CUSTOMER_DEFAULTS)
        o.update(c)
        dob = o["dateOfBirth"]
        return {
            "customerId": o["customerId"], "uniqueId": o["uniqueId"],
            "firstName": o["firstName"], "lastName": o["lastName"],
            "middleName": o["middleName"], "address1": o["address1"],
            "address2": o["address2"], "city": o["city"],
            "state": o["state"], "postalCode": o["postalCode"],
            "phone": o["phone"], "cellPhone": o["cellPhone"],
            "emailAddress": o["emailAddress"], "status": o["status"],
            "customerType": o["customerType"],
            "dateOfBirth": None if dob is None else
            datetime.datetime.fromtimestamp(
                dob, datetime.timezone.utc).strftime("%Y-%m-%dT00:00:00"),
            "creationDate": self.fmt(o["created"]),
            "lastModifiedDateUTC": self.fmt(o["lastModified"]),
            "isAnonymous": o["isAnonymous"],
            "isLoyaltyMember": o["isLoyaltyMember"],
            "optedIntoMarketing": o["optedIntoMarketing"],
            "mergedIntoCustomerId": o["mergedIntoCustomerId"],
            "gender": o["gender"], "medicalId": o["medicalId"]}

    def render_item(self, it, sign, taxes):
        """Money is stored rounded (finish_transaction) and negating a
        float is exact: no rounding here (the bench renders 200k items).
        "or 0.0": a return's zero is 0.0, not -0.0."""
        d = ITEM_DEFAULTS
        g = it.get
        iid = it["inventoryId"]
        return {
            "transactionItemId": it["transactionItemId"],
            "transactionId": it["transactionId"],
            "productId": it["productId"], "inventoryId": iid,
            "packageId": g("packageId") or "PKG-%06d" % iid,
            "batchName": g("batchName") or "B-%d" % iid,
            "quantity": sign * it["quantity"], "unitPrice": it["unitPrice"],
            "totalPrice": sign * it["totalPrice"] or 0.0,
            "totalDiscount": sign * g("totalDiscount", 0.0) or 0.0,
            "unitCost": g("unitCost", d["unitCost"]),
            "vendor": g("vendor", d["vendor"]),
            "isCoupon": g("isCoupon", False), "discounts": [],
            "taxes": [{"rateName": "Cannabis Tax",
                       "rate": dutchie_data.TAX_RATE,
                       "amount": sign * g("taxAmount", 0.0) or 0.0}]
            if taxes else [],
            "isReturned": g("isReturned", False),
            "returnedByTransactionId": g("returnedByTransactionId"),
            "returnDate": self.fmt(g("returnDate")),
            "returnReason": g("returnReason")}

    def render_tx(self, t, opts):
        o = dict(TX_DEFAULTS)
        o.update(t)
        sign = -1 if o["isReturn"] and \
            self.cfg["return_sign"] == "negative" else 1
        tid = o["transactionId"]
        out = {
            "transactionId": tid,
            "transactionDate": self.fmt(o["date"]),
            "transactionDateLocalTime": self.local(o["date"],
                                                   o["locationId"]),
            "lastModifiedDateUTC": self.fmt(o["lastModified"]),
            "transactionType": o["transactionType"],
            "customerId": o["customerId"], "employeeId": o["employeeId"],
            "terminalName": o["terminalName"],
            "invoiceNumber": o["invoiceNumber"] or "INV-%07d" % tid,
            "isTaxInclusive": o["isTaxInclusive"], "isVoid": o["isVoid"],
            "voidDate": self.fmt(o["voidDate"]),
            "isReturn": o["isReturn"],
            "returnOnTransactionId": o["returnOnTransactionId"],
            "adjustmentForTransactionId": o["adjustmentForTransactionId"],
            "orderType": o["orderType"], "orderSource": o["orderSource"],
            "isMedical": o["isMedical"]}
        for k in TX_MONEY:
            out[k] = sign * o.get(k, 0.0) or 0.0
        out["totalItems"] = sign * o.get("totalItems", 0)
        out["items"] = [self.render_item(it, sign, opts["taxes"])
                        for it in o["items"]] if opts["detail"] else []
        out["discounts"] = []
        out["taxSummary"] = [{"rateName": "Cannabis Tax",
                              "amount": out["tax"]}] \
            if opts["taxes"] else []
        if opts["order_ids"]:
            out["orderIds"] = []
        if opts["fees"]:
            out["feesAndDonations"] = []
        return out

    # -- endpoints (section 5); each takes (location, params) ------------
    def ep_whoami(self, loc, q):
        return self.whoami(loc)

    def since(self, q, name="fromlastmodifieddateutc",
              label="fromLastModifiedDateUTC"):
        v = q.get(name)
        return None if v is None else parse_date(label, v)

    def ep_reporting_products(self, loc, q, online_only=False):
        since = self.since(q)
        lid = loc["locationId"]
        out = []
        for pid in self.loc_products[lid]:
            o = self.product_view(pid, lid)
            if since is not None and o["lastModified"] < since:
                continue
            if online_only and not (o["isActive"] and
                                    o["onlineAvailable"]):
                continue
            out.append(self.render_product(o))
        return out

    def ep_products(self, loc, q):
        active = parse_bool("isActive", q.get("isactive"), True)
        rows = self.ep_reporting_products(loc, q, online_only=True)
        return rows if active else []

    def inventory(self, loc, q, online_only):
        opts = {"lab": parse_bool("includeLabResults",
                                  q.get("includelabresults")),
                "rooms": parse_bool("includeRoomQuantities",
                                    q.get("includeroomquantities")),
                "allocated": parse_bool("includeAllocated",
                                        q.get("includeallocated"))}
        parse_bool("includeLineage", q.get("includelineage"))
        lid = loc["locationId"]
        views = {}
        out = []
        for iid in self.loc_packages[lid]:
            r = self.packages[iid]
            if not r["quantityAvailable"] > 0:
                continue
            pid = r["productId"]
            if pid not in views:
                views[pid] = self.product_view(pid, lid)
            o = views[pid]
            if online_only and not (o["isActive"] and
                                    o["onlineAvailable"]):
                continue
            out.append(self.render_package(r, o, opts))
        return out

    def ep_reporting_inventory(self, loc, q):
        return self.inventory(loc, q, False)

    def ep_inventory(self, loc, q):
        rows = self.inventory(loc, q, True)
        return [] if self.cfg["inventory_empty"] else rows

    def ref_list(self, loc, key):
        return [{k: v for k, v in r.items() if k != "lspId"}
                for r in self.refs[key] if r.get("lspId") == loc["lspId"]]

    def ep_categories(self, loc, q):
        return self.ref_list(loc, "categories")

    def ep_brands(self, loc, q):
        return self.ref_list(loc, "brands")

    def ep_strains(self, loc, q):
        return self.ref_list(loc, "strains")

    def ep_tags(self, loc, q):
        return self.ref_list(loc, "tags")

    def customer_rows(self, loc, q):
        """The selected customer records (not rendered), by id."""
        lid = loc["locationId"]
        anon = parse_bool("includeAnonymous", q.get("includeanonymous"))
        cid = parse_int("customerID", q.get("customerid"))
        uid = q.get("uniqueid") or None
        ids = self.loc_customers[lid]
        if cid is not None or uid is not None:
            return [self.customers[c] for c in ids
                    if (cid is None or c == cid) and
                    (uid is None or self.customers[c].get("uniqueId") ==
                     uid)]
        cap_days = loc.get("customerRangeDays", 90)
        cap = cap_days * 86400
        to = q.get("tolastmodifieddateutc")
        to = parse_date("toLastModifiedDateUTC", to) if to else \
            self.now_f()
        frm = self.since(q)
        frm = to - cap if frm is None else frm
        if frm > to:
            raise ApiError(400, "fromLastModifiedDateUTC must not be "
                           "after toLastModifiedDateUTC")
        if to - frm > cap:
            raise ApiError(400, "Date range cannot exceed %d days"
                           % cap_days)
        ck = ("cust", lid, frm, to, anon)
        rows = self.cache.get(ck)
        if rows is None:
            rows = []
            for c in ids:
                r = self.customers[c]
                if r.get("isAnonymous") and not anon:
                    continue
                if frm <= r.get("lastModified", 0) <= to:
                    rows.append(r)
            self.cache[ck] = rows
        return rows

    def ep_customers(self, loc, q):
        return [self.render_customer(c) for c in self.customer_rows(loc, q)]

    def ep_customers_paged(self, loc, q):
        spec = self.cfg["page_mode"] == "spec"
        first, size0, most = (0, 1000, 10000) if spec else (1, 100, 100)
        page = parse_int("PageNumber", q.get("pagenumber"), first)
        size = parse_int("PageSize", q.get("pagesize"), size0)
        if page < first:
            raise ApiError(400, "PageNumber must be at least %d" % first)
        if size < 1 or size > most:
            raise ApiError(400, "PageSize must be between 1 and %d" % most)
        rows = self.customer_rows(loc, q)
        at = (page - first) * size
        return [self.render_customer(c) for c in rows[at:at + size]]

    def tx_selection(self, q):
        """-> (field, lo, hi) or ("id", tid, None); 400 on selector
        rules."""
        tid = q.get("transactionid") or None
        pairs = {"date": ("fromdateutc", "todateutc", "FromDateUTC",
                          "ToDateUTC"),
                 "mod": ("fromlastmodifieddateutc",
                         "tolastmodifieddateutc",
                         "FromLastModifiedDateUTC",
                         "ToLastModifiedDateUTC")}
        given = ["TransactionId"] if tid is not None else []
        for kind, (a, b, na, nb) in pairs.items():
            if q.get(a) or q.get(b):
                given += [n for n, k in ((na, a), (nb, b)) if q.get(k)]
        kinds = (tid is not None) + sum(
            1 for a, b, _, _ in pairs.values() if q.get(a) or q.get(b))
        if kinds != 1:
            raise ApiError(400, {
                "message": SELECTOR_MSG if kinds else
                "One of TransactionId, FromDateUTC/ToDateUTC or "
                "FromLastModifiedDateUTC/ToLastModifiedDateUTC is required",
                "propertyErrors": {n: [SELECTOR_MSG] for n in given}})
        if tid is not None:
            return ("id", parse_int("TransactionId", tid), None)
        for kind, (a, b, na, nb) in pairs.items():
            if not (q.get(a) or q.get(b)):
                continue
            if not (q.get(a) and q.get(b)):
                msg = "Both %s and %s are required" % (na, nb)
                raise ApiError(400, {"message": msg, "propertyErrors": {
                    na if not q.get(a) else nb: [msg]}})
            lo, hi = parse_date(na, q[a]), parse_date(nb, q[b])
            if lo > hi:
                raise ApiError(400, "%s must not be after %s" % (na, nb))
            days = int(self.cfg["transaction_range_days"])
            if hi - lo > days * 86400:
                raise ApiError(400, "Date range cannot exceed %d days"
                               % days)
            return ("date" if kind == "date" else "lastModified", lo, hi)

    def ep_transactions(self, loc, q):
        opts = {"detail": parse_bool("IncludeDetail",
                                     q.get("includedetail")),
                "taxes": parse_bool("IncludeTaxes", q.get("includetaxes")),
                "order_ids": parse_bool("IncludeOrderIds",
                                        q.get("includeorderids")),
                "fees": parse_bool("IncludeFeesAndDonations",
                                   q.get("includefeesanddonations"))}
        field, lo, hi = self.tx_selection(q)
        lid = loc["locationId"]
        if field == "id":
            t = self.txs.get(lo)
            rows = [t] if t is not None and t["locationId"] == lid else []
        else:
            rows = [t for t in (self.txs[i] for i in self.loc_txs[lid])
                    if lo <= t[field] <= hi]
        return [self.render_tx(t, opts) for t in rows]

    def answer(self, method, loc, q):
        with self.lock:
            self.apply_due()
            return getattr(self, method)(loc, q)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "dutchie-emulator"
    disable_nagle_algorithm = True   # see lse_emulator.py's Handler

    def log_message(self, *a):
        pass

    @property
    def emu(self):
        return self.server.emu

    def send(self, status, data=b"", ctype="application/json; "
             "charset=utf-8", headers=None):
        self.send_response(status)
        if data or status not in (401, 405):
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if data:
            self.wfile.write(data)

    def record(self, route, lid, status, nbytes=0, fault=None):
        u = urllib.parse.urlsplit(self.path)
        with self.emu.lock:
            self.emu.log.append({
                "method": self.command, "path": u.path, "route": route,
                "query": urllib.parse.parse_qs(u.query,
                                               keep_blank_values=True),
                "location": lid, "status": status, "fault": fault,
                "bytes": nbytes, "t": time.monotonic()})

    def location(self):
        """(location, the key used), or (None, None) (-> 401)."""
        e = self.emu
        h = self.headers.get("Authorization") or ""
        if not h[:6].lower() == "basic ":
            return None, None
        try:
            raw = base64.b64decode(h[6:].strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return None, None
        user, _, pw = raw.partition(":")
        with e.lock:
            loc = e.by_key.get(user)
            ik = e.cfg["integrator_key"]
        if loc is None or (ik is not None and pw != ik):
            return None, None
        return loc, user

    # -- control ---------------------------------------------------------
    def control(self, what):
        e = self.emu
        n = int(self.headers.get("Content-Length") or 0)
        try:
            doc = json.loads(self.rfile.read(n)) if n else {}
            out = {"ok": True}
            if what == "load":
                if "bench" in doc:
                    e.load(dutchie_data.bench(e.now(), **doc["bench"]),
                           copy=False)
                else:
                    e.load(doc["path"] if "path" in doc else doc["data"])
            elif what == "change":
                out["ids"] = e.change(doc["ops"])
            elif what == "config":
                e.configure(**doc)
            elif what == "roles":
                e.set_roles(doc["location"], doc["roles"])
            elif what == "fault":
                e.fault(**doc)
            elif what == "faults/clear":
                e.clear_faults()
            elif what == "log":
                with e.lock:
                    out = list(e.log)
            elif what == "log/clear":
                e.clear_log()
            elif what == "limits/reset":
                e.reset_limits()
            elif what == "settle":
                e.settle()
            elif what == "keys":
                out = {str(k): v for k, v in e.keys.items()}
            elif what == "stats":
                out = e.stats()
            elif what.startswith("min_requests"):
                q = dict(urllib.parse.parse_qsl(
                    urllib.parse.urlsplit(self.path).query))
                out = e.min_requests(
                    float(q["customers_since"]),
                    float(q["transactions_since"]),
                    until=float(q["until"]) if "until" in q else None,
                    page_size=int(q["page_size"]) if "page_size" in q
                    else None)
            else:
                return self.send(404, json.dumps(
                    {"ok": False, "error": "no such control"}).encode())
        except (KeyError, TypeError, ValueError) as ex:
            return self.send(400, json.dumps(
                {"ok": False, "error": str(ex)}).encode())
        self.send(200, json.dumps(out).encode())

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path.startswith("/_emu/"):
            return self.control(u.path[6:])
        self.api(u)

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path.startswith("/_emu/"):
            return self.control(u.path[6:])
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        self.api(u)

    do_PUT = do_DELETE = do_PATCH = do_POST

    # -- API (section 1) -------------------------------------------------
    def api(self, u):
        e = self.emu
        if e.cfg["latency"]:
            time.sleep(e.cfg["latency"])
        route = u.path.lower().rstrip("/") or "/"
        loc, key = self.location()
        if loc is None:
            self.record(route, None, 401)
            return self.send(401)
        lid = loc["locationId"]
        if route not in ROUTES:
            self.record(route, lid, 404)
            return self.send(404, b"Not Found", "text/plain")
        if self.command != "GET":
            self.record(route, lid, 405)
            return self.send(405)
        wait = e.take(key, loc, route)
        if wait > 0:
            self.record(route, lid, 429)
            return self.too_many(route, wait)
        role, method = ROUTES[route]
        if role is not None and role not in loc.get("roles", ROLES):
            self.record(route, lid, 403)
            return self.send(403, json.dumps({
                "Message": "Authorization has been denied for this "
                "request."}).encode())
        fault = e.take_fault(route, lid)
        kind = fault["kind"] if fault else None
        if kind is not None and self.early_fault(route, lid, fault):
            return
        q = {}
        for k, v in urllib.parse.parse_qsl(u.query,
                                           keep_blank_values=True):
            q[k.lower()] = v
        try:
            doc = e.answer(method, loc, q)
        except ApiError as ex:
            self.record(route, lid, ex.status, len(ex.body), kind)
            return self.send(ex.status, ex.body, ex.ctype)
        data = json.dumps(doc, separators=(",", ":")).encode()
        self.record(route, lid, 200, len(data), kind)
        if kind == "badjson":
            data = data[:len(data) // 2] + b"<html>oops"
        elif kind == "truncate":
            self.send_response(200)
            self.send_header("Content-Type",
                             "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.send(200, data)

    def too_many(self, route, wait):
        e = self.emu
        with e.lock:
            e.trace += 1
            trace = "%032x" % (e.seed * 1000003 + e.trace)
        body = {"Message": "Too many requests - only %d per minute "
                "allowed" % e.limit_for(route), "TraceId": trace}
        hdr = {"Retry-After": str(max(1, math.ceil(wait)))} \
            if e.cfg["retry_after"] else {}
        self.send(429, json.dumps(body).encode(), headers=hdr)

    def early_fault(self, route, lid, f):
        """Faults answered instead of the data; True when answered."""
        kind = f["kind"]
        if kind in ("500", "502", "503", "504"):
            self.record(route, lid, int(kind), 0, kind)
            msg = b"Internal Server Error" if kind == "500" else \
                b"Service Unavailable"
            self.send(int(kind), msg, "text/plain")
            return True
        if kind == "429":
            self.record(route, lid, 429, 0, kind)
            self.too_many(route, 1)
            return True
        if kind == "hang":
            self.record(route, lid, 0, 0, kind)
            secs = f["seconds"] if f["seconds"] is not None else \
                self.emu.cfg["hang_s"]
            time.sleep(secs)
            self.close_connection = True
            return True
        return False


def main():
    ap = argparse.ArgumentParser(description="Dutchie POS API emulator")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--data", help="dataset JSON file")
    g.add_argument("--bench", metavar="L,P,T,C",
                   help="generate the bench dataset: locations, "
                   "products, transactions, customers")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--keys-out", help="write the location keys file")
    ap.add_argument("--scale-windows", type=float, default=1.0,
                    help="multiply the 60 s rate-limit window by X")
    ap.add_argument("--lag", type=float, default=0.0)
    ap.add_argument("--integrator-key-file")
    args = ap.parse_args()
    if args.bench:
        try:
            n = [int(x) for x in args.bench.split(",")]
            if len(n) != 4:
                raise ValueError
        except ValueError:
            ap.error("--bench takes four numbers: L,P,T,C")
        data = dutchie_data.bench(time.time(), *n)
    else:
        data = args.data
    emu = DutchieEmulator(data=data, copy=False)
    emu.configure(window_s=60.0 * args.scale_windows, lag_s=args.lag)
    if args.integrator_key_file:
        with open(args.integrator_key_file, encoding="utf-8") as f:
            emu.configure(integrator_key=f.read().strip())
    if args.keys_out:
        emu.write_keys(args.keys_out)
    emu.start(args.port)
    print("listening on %s" % emu.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        emu.stop()


if __name__ == "__main__":
    main()
