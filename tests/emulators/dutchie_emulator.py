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

Dates in queries: ISO 8601; "Z", an offset, or no zone (= UTC);
fractional seconds of any length (the .NET "O" format [ACL]); a bare
date "2026-01-15" = midnight UTC. Dates in answers: UTC, whole seconds,
"2026-01-15T10:30:00Z" (configure(time_format="naive") serves the .NET
form "2026-01-15T10:30:00.0000000" without a zone instead; GUESS which
one is real: parse both). transactionDateLocalTime is the location's
local time without zone. dateOfBirth is "1990-04-01T00:00:00"
(GUESS). Absent dates are null.

2. Locations and keys [DOC]
---------------------------
One key = one location. A parent company ("LSP", lspId) has several
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
      "key" (the API key), "roles" (optional), "customerRangeDays"
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
      "lastModified", "created"
  transactions: Transaction fields plus "locationId", "date",
      "lastModified", "voidDate"(epoch|null), "items": [item fields
      plus "returnDate" (epoch|null)]
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
    emu.start()                 # 127.0.0.1, ephemeral port; returns it
    emu.url                     # "http://127.0.0.1:PORT"
    emu.keys                    # {locationId: key}
    emu.write_keys(path, location_ids=None)  # keys file: "# name (id)"
                                # comment line, then the key, per loc.
    emu.configure(whoami_case=, lag_s=, integrator_key=, page_mode=,
                  return_sign=, retry_after=, hang_s=, latency=,
                  transaction_range_days=, time_format=,
                  inventory_empty=, limits={route: n}, window_s=)
    emu.set_roles(location_id, roles)
    emu.reset_limits(); emu.clear_log(); emu.stats()
    emu.stop()
Over HTTP (not authenticated, not counted, not logged): POST
/_emu/load {"data": {...}} or {"path": FILE} or {"bench": {kwargs of
dutchie_data.bench}}; POST /_emu/change {"ops": [...]}; POST
/_emu/config {...configure()'s arguments}; POST /_emu/roles
{"location": id, "roles": [...]}; POST /_emu/fault {fault()'s
arguments}; POST /_emu/faults/clear; GET /_emu/log; POST
/_emu/log/clear; POST /_emu/limits/reset; POST /_emu/settle; GET
/_emu/keys ({locationId: key}); GET /_emu/stats ({"requests",
"by_status": {"200": n, ...}, "by_route": {route: n}, "429": n}).

Run: dutchie_emulator.py [--data FILE | --bench L,P,T,C] [--port N]
[--keys-out FILE] [--scale-windows X] [--lag S] [--integrator-key-file
F]; prints "listening on http://127.0.0.1:PORT" on the first stdout
line (after --keys-out is written).
"""
