"""Datasets for the Dutchie POS emulator (dutchie_emulator.py, section 8
of its docstring).

small(now): the end-to-end retailer. Parent 100 "Green Leaf Holdings"
with three locations (1001 Downtown, 1002 Uptown, 1003 Boulder) and a
second parent 200 "Other Cannabis Co" with one location (2001). Every
case the Dutchie source must handle appears at least once and is named
in SMALL_FACTS so tests can assert against it without re-deriving it.

bench(now, locations=3, products=5000, transactions=100000,
customers=20000): one parent, generated in a few seconds (seeded, so
the same arguments give the same data).

Times are epoch seconds (UTC). Money is rounded to cents.
"""
import random
import uuid

DAY = 86400
TAX_RATE = 0.15          # one flat cannabis tax; enough for the feeds


def _uuid(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def finish_transaction(tx, rate=TAX_RATE):
    """Fills in item and transaction money from the items' quantity,
    unitPrice and totalDiscount (positive amounts; the emulator applies
    the sign of returns when it serves them)."""
    sub = disc = tax = 0.0
    for it in tx["items"]:
        line = round(it["quantity"] * it["unitPrice"], 2)
        d = round(it.get("totalDiscount", 0.0), 2)
        t = round((line - d) * rate, 2)
        it["totalDiscount"] = d
        it["totalPrice"] = round(line - d + t, 2)
        it["taxAmount"] = t
        sub, disc, tax = sub + line, disc + d, tax + t
    tx["subtotal"] = round(sub, 2)
    tx["totalDiscount"] = round(disc, 2)
    tx["totalBeforeTax"] = round(sub - disc, 2)
    tx["tax"] = round(tax, 2)
    tx["total"] = round(sub - disc + tax, 2)
    tx["paid"] = tx["total"]
    tx["totalItems"] = sum(it["quantity"] for it in tx["items"])
    tx.setdefault("cashPaid", tx["total"])
    return tx


def _lsp(lsp_id, name, rng):
    return {"lspId": lsp_id, "lspName": name, "lspGlobalId": _uuid(rng)}


def _location(loc_id, lsp_id, name, city, tz, n, rng):
    return {"locationId": loc_id, "lspId": lsp_id, "locationName": name,
            "address": "%d Main St" % n, "city": city, "state": "CO",
            "postalCode": "80%03d" % n, "licenseNumber":
            "402R-%05d" % loc_id, "doingBusinessAs": name.split(" ")[0],
            "shareCustomerProfiles": True, "globalId": _uuid(rng),
            "region": "CO", "timeZone": tz,
            "key": "dk%d%s" % (loc_id, uuid.UUID(
                int=rng.getrandbits(128)).hex)}


REF_CATEGORIES = [(1, "Flower", "Flower"), (2, "Edibles", "Edible"),
                  (3, "Vapes", "Vaporizers"), (4, "Accessories",
                                               "Accessories"),
                  (5, "Pre-Rolls", "Flower")]
REF_BRANDS = [(1, "Mountain High"), (2, "Sweet Leaf Co"),
              (3, "Cloud Nine"), (4, "Gear Up")]
REF_STRAINS = [(1, "Blue Dream", "Hybrid"), (2, "OG Kush", "Indica"),
               (3, "Sour Diesel", "Sativa"), (4, "ACDC", "CBD")]
REF_TAGS = [(1, "Staff Pick"), (2, "Sale"), (3, "Local")]


def _refs(lsp_id):
    return {
        "categories": [{"productCategoryId": i, "productCategory": n,
                        "masterCategory": m, "lspId": lsp_id}
                       for i, n, m in REF_CATEGORIES],
        "brands": [{"brandId": i, "brandName": n, "lspId": lsp_id}
                   for i, n in REF_BRANDS],
        "strains": [{"strainId": i, "strainName": n, "strainType": t,
                     "lspId": lsp_id} for i, n, t in REF_STRAINS],
        "tags": [{"tagId": i, "tagName": n, "lspId": lsp_id}
                 for i, n in REF_TAGS]}


def _product(pid, lsp_id, name, cat, brand, strain, rec, med, t, rng,
             **more):
    p = {"productId": pid, "lspId": lsp_id,
         "globalProductId": _uuid(rng), "sku": "SKU-%05d" % pid,
         "productName": name, "internalName": name.lower(),
         "description": "%s, grown with care." % name,
         "categoryId": cat, "brandId": brand, "strainId": strain,
         "size": "3.5g", "netWeight": 3.5, "netWeightUnit": "g",
         "imageUrl": "https://images.dutchie.com/p/%d.jpg" % pid,
         "imageUrls": ["https://images.dutchie.com/p/%d.jpg" % pid,
                       "https://images.dutchie.com/p/%d-b.jpg" % pid],
         "recPrice": rec, "medPrice": med, "unitCost": round(rec * .4, 2),
         "isActive": True, "onlineAvailable": True, "isCannabis": True,
         "isTaxable": True, "onlineProduct": True,
         "onlineTitle": name, "onlineDescription": name,
         "tags": [], "upc": "0%011d" % pid, "externalId": "",
         "ecomCategory": "", "created": t - 400 * DAY,
         "lastModified": t, "thcContent": 21.5, "thcContentUnit": "%",
         "cbdContent": 0.1, "cbdContentUnit": "%", "locations": {}}
    p.update(more)
    return p


def _customer(cid, lsp_id, first, last, email, locs, t, **more):
    c = {"customerId": cid, "lspId": lsp_id, "uniqueId": "U%07d" % cid,
         "firstName": first, "lastName": last, "middleName": "",
         "address1": "%d Elm St" % cid, "address2": "", "city": "Denver",
         "state": "CO", "postalCode": "80203", "phone": "",
         "cellPhone": "303555%04d" % (cid % 10000),
         "emailAddress": email, "status": "Active",
         "customerType": "Recreational", "dateOfBirth": 631152000,
         "created": t - 30 * DAY, "lastModified": t,
         "isAnonymous": False, "isLoyaltyMember": False,
         "optedIntoMarketing": False, "mergedIntoCustomerId": None,
         "gender": "", "medicalId": None, "locations": list(locs)}
    c.update(more)
    return c


def _item(iid, tid, pid, inv, qty, price, disc=0.0, **more):
    it = {"transactionItemId": iid, "transactionId": tid,
          "productId": pid, "inventoryId": inv,
          "packageId": "PKG-%06d" % inv, "batchName": "B-%d" % inv,
          "quantity": qty, "unitPrice": price, "totalDiscount": disc,
          "unitCost": round(price * .4, 2), "vendor": "Grower LLC",
          "isCoupon": False, "isReturned": False,
          "returnedByTransactionId": None, "returnDate": None,
          "returnReason": None}
    it.update(more)
    return it


def _tx(tid, loc, cust, date, items, **more):
    tx = {"transactionId": tid, "locationId": loc, "customerId": cust,
          "date": date, "lastModified": date, "transactionType": "Retail",
          "employeeId": 7, "terminalName": "Register 1",
          "invoiceNumber": "INV-%07d" % tid, "isTaxInclusive": False,
          "isVoid": False, "voidDate": None, "isReturn": False,
          "returnOnTransactionId": None, "orderType": "In Store",
          "orderSource": "POS", "isMedical": False, "items": items}
    tx.update(more)
    return finish_transaction(tx)


# What small() holds, for tests (ids refer to small()'s records).
SMALL_FACTS = {
    "lsp": 100, "locations": [1001, 1002, 1003], "other_lsp": 200,
    "other_location": 2001,
    # product 1 at all three locations, prices differ: 1001 sets it.
    "price_conflict_product": 1,
    "inactive_at_1002": 3,          # isActive false at 1002 only
    "offline_product": 4,           # onlineAvailable false everywhere
    "only_at_1003": 6,
    "no_image_product": 5,
    # stock: product 1: 1001 has packages 10 + 4.5 (=14.5), 1002 has
    # one package at 0 (omitted), 1003 has 7.
    "stock": {(1001, 1): 14.5, (1002, 1): 0, (1003, 1): 7.0},
    "shared_customer": 1,           # at 1001 and 1002, same id
    "same_email_customers": (2, 9),  # 2 at 1001, 9 at 1003: one email
    "no_email_customer": 3,
    "anonymous_customer": 4,
    "merged_customer": 5, "merge_survivor": 6,
    "medical_customer": 7,
    "opted_in_customer": 8,
    "old_customer": 10,             # modified 200 days ago
    "return": 5003, "returned_original": 5002,
    "void": 5004, "transfer": 5005, "wholesale": 5006,
    "medical_transaction": 5007, "anonymous_transaction": 5008,
}


def small(now):
    """The e2e dataset; see SMALL_FACTS."""
    rng = random.Random(12)
    t0 = int(now) - 20 * DAY
    lsps = [_lsp(100, "Green Leaf Holdings", rng),
            _lsp(200, "Other Cannabis Co", rng)]
    locs = [_location(1001, 100, "Green Leaf Downtown", "Denver",
                      "America/Denver", 1, rng),
            _location(1002, 100, "Green Leaf Uptown", "Denver",
                      "America/Denver", 2, rng),
            _location(1003, 100, "Green Leaf Boulder", "Boulder",
                      "America/Denver", 3, rng),
            _location(2001, 200, "Other Cannabis Aurora", "Aurora",
                      "America/Denver", 4, rng)]
    doc = {"lsps": lsps, "locations": locs}
    for k, v in _refs(100).items():
        doc[k] = v + [dict(r, lspId=200) for r in v]
    P = []
    P.append(_product(1, 100, "Blue Dream 3.5g", 1, 1, 1, 35.0, 30.0,
                      t0, rng, tags=[1, 3], locations={
                          "1001": {"recPrice": 35.0, "medPrice": 30.0},
                          "1002": {"recPrice": 38.0, "medPrice": 32.0},
                          "1003": {"recPrice": 36.0, "medPrice": 31.0}}))
    P.append(_product(2, 100, "Sweet Gummies 100mg", 2, 2, None, 20.0,
                      18.0, t0, rng, size="10pk", netWeight=100,
                      netWeightUnit="mg", thcContent=100,
                      thcContentUnit="mg", cbdContent=0,
                      cbdContentUnit="mg", tags=[2],
                      locations={"1001": {}, "1002": {}, "1003": {}}))
    P.append(_product(3, 100, "Sour Diesel Cart", 3, 3, 3, 45.0, 40.0,
                      t0, rng, locations={
                          "1001": {}, "1002": {"isActive": False},
                          "1003": {}}))
    P.append(_product(4, 100, "OG Kush Pre-Roll", 5, 1, 2, 12.0, 10.0,
                      t0, rng, onlineAvailable=False,
                      locations={"1001": {}, "1002": {}}))
    P.append(_product(5, 100, "Glass Pipe", 4, 4, None, 25.0, 25.0, t0,
                      rng, isCannabis=False, imageUrl=None, imageUrls=[],
                      thcContent=None, thcContentUnit=None,
                      cbdContent=None, cbdContentUnit=None, size="",
                      netWeight=None, netWeightUnit=None,
                      locations={"1001": {}, "1002": {}, "1003": {}}))
    P.append(_product(6, 100, "ACDC Tincture", 2, 2, 4, 60.0, 50.0, t0,
                      rng, thcContent=1.0, cbdContent=20.0,
                      locations={"1003": {}}))
    P.append(_product(7, 200, "Aurora Haze 1g", 1, 1, 3, 15.0, 12.0, t0,
                      rng, locations={"2001": {}}))
    doc["products"] = P
    pk = []

    def pack(inv, loc, pid, qty, **more):
        r = {"inventoryId": inv, "locationId": loc, "productId": pid,
             "packageId": "PKG-%06d" % inv, "batchName": "B-%d" % inv,
             "quantityAvailable": qty, "allocatedQuantity": 0,
             "quantityUnits": "Each", "lastModified": t0,
             "expirationDate": None,
             "rooms": {"Sales Floor": qty}}
        r.update(more)
        pk.append(r)
    pack(101, 1001, 1, 10.0)
    pack(102, 1001, 1, 4.5, quantityUnits="Grams")
    pack(103, 1002, 1, 0.0)
    pack(104, 1003, 1, 7.0)
    pack(105, 1001, 2, 30.0)
    pack(106, 1002, 2, 12.0)
    pack(107, 1003, 2, 0.0)
    pack(108, 1001, 3, 5.0)
    pack(109, 1002, 3, 6.0)
    pack(110, 1003, 3, 2.0)
    pack(111, 1001, 4, 50.0)
    pack(112, 1001, 5, 3.0)
    pack(113, 1003, 6, 9.0)
    pack(114, 2001, 7, 40.0)
    doc["packages"] = pk
    C = [
        _customer(1, 100, "Ana", "Lopez", "ana@example.com",
                  [1001, 1002], t0 + 1 * DAY, isLoyaltyMember=True),
        _customer(2, 100, "Ben", "Cho", "ben@example.com", [1001],
                  t0 + 2 * DAY),
        _customer(3, 100, "Cal", "Diaz", "", [1001], t0 + 3 * DAY),
        _customer(4, 100, "", "", "", [1001, 1002, 1003], t0 + 3 * DAY,
                  isAnonymous=True, cellPhone="", address1=""),
        _customer(5, 100, "Dee", "Ek", "dee.old@example.com", [1002],
                  t0 + 4 * DAY, status="Merged",
                  mergedIntoCustomerId=6),
        _customer(6, 100, "Dee", "Ek", "dee@example.com", [1002],
                  t0 + 4 * DAY),
        _customer(7, 100, "Eve", "Fox", "eve@example.com", [1003],
                  t0 + 5 * DAY, customerType="Medical",
                  medicalId="MED-7"),
        _customer(8, 100, "Flo", "Gil", "flo@example.com", [1001],
                  t0 + 5 * DAY, optedIntoMarketing=True),
        _customer(9, 100, "Benjamin", "Cho", "BEN@example.com", [1003],
                  t0 + 6 * DAY),
        _customer(10, 100, "Old", "Timer", "old@example.com", [1001],
                  int(now) - 200 * DAY, created=int(now) - 400 * DAY),
        _customer(11, 200, "Gus", "Hale", "gus@example.com", [2001],
                  t0 + 2 * DAY),
    ]
    doc["customers"] = C
    T = [
        _tx(5001, 1001, 1, t0 + 2 * DAY, [
            _item(1, 5001, 1, 101, 2, 35.0),
            _item(2, 5001, 2, 105, 1, 20.0, 2.0)]),
        _tx(5002, 1002, 6, t0 + 5 * DAY, [
            _item(3, 5002, 1, 103, 1, 38.0),
            _item(4, 5002, 3, 109, 2, 45.0)], orderType="Pickup",
            orderSource="Online"),
        _tx(5004, 1003, 9, t0 + 7 * DAY, [
            _item(6, 5004, 2, 107, 1, 20.0)]),
        _tx(5005, 1001, None, t0 + 7 * DAY, [
            _item(7, 5005, 1, 101, 5, 20.0)], transactionType="Transfer"),
        _tx(5006, 1001, None, t0 + 8 * DAY, [
            _item(8, 5006, 2, 105, 10, 10.0)],
            transactionType="WholesaleOrder"),
        _tx(5007, 1003, 7, t0 + 9 * DAY, [
            _item(9, 5007, 6, 113, 1, 50.0)], isMedical=True),
        _tx(5008, 1001, 4, t0 + 9 * DAY, [
            _item(10, 5008, 5, 112, 1, 25.0)]),
        _tx(5009, 2001, 11, t0 + 3 * DAY, [
            _item(11, 5009, 7, 114, 3, 15.0)]),
        _tx(5010, 1001, 8, t0 + 10 * DAY, [
            _item(12, 5010, 1, 102, 1, 35.0),
            _item(13, 5010, 4, 111, 4, 12.0)]),
    ]
    # 5003 returns item 4 (one of the two carts) of 5002.
    ret_t = t0 + 6 * DAY
    T.append(_tx(5003, 1002, 6, ret_t, [
        _item(5, 5003, 3, 109, 1, 45.0)], isReturn=True,
        returnOnTransactionId=5002))
    orig = next(t for t in T if t["transactionId"] == 5002)
    orig["items"][1].update(isReturned=True, returnedByTransactionId=5003,
                            returnDate=ret_t, returnReason="Defective")
    orig["lastModified"] = ret_t
    void = next(t for t in T if t["transactionId"] == 5004)
    void.update(isVoid=True, voidDate=t0 + 7 * DAY + 600,
                lastModified=t0 + 7 * DAY + 600)
    T.sort(key=lambda t: t["transactionId"])
    doc["transactions"] = T
    return doc


def bench(now, locations=3, products=5000, transactions=100000,
          customers=20000, days=180, seed=1):
    """One parent with `locations` locations, each carrying every
    product; `customers` customers (10% anonymous, 15% without email,
    1% merged, a third shared by two locations); `transactions` Retail
    sales (2% returns, 1% voids, 1% transfers) spread over `days`."""
    rng = random.Random(seed)
    now = int(now)
    t0 = now - days * DAY
    lsp = _lsp(100, "Bench Holdings", rng)
    locs = [_location(1001 + i, 100, "Bench Store %d" % (i + 1), "Denver",
                      "America/Denver", i + 1, rng)
            for i in range(locations)]
    loc_ids = [x["locationId"] for x in locs]
    doc = {"lsps": [lsp], "locations": locs}
    doc.update(_refs(100))
    P, pk = [], []
    inv = 0
    for pid in range(1, products + 1):
        rec = round(5 + (pid * 7919 % 9000) / 100.0, 2)
        per = {}
        for j, lid in enumerate(loc_ids):
            o = {}
            if j and pid % 10 == 0:
                o["recPrice"] = round(rec + j, 2)
            if pid % 50 == j:
                o["isActive"] = False
            per[str(lid)] = o
            for k in range(1 + pid % 2):
                inv += 1
                qty = 0.0 if (pid + k + j) % 17 == 0 else \
                    float((pid * 31 + k * 7 + j) % 60)
                pk.append({"inventoryId": inv, "locationId": lid,
                           "productId": pid, "quantityAvailable": qty,
                           "lastModified": t0})
        P.append({"productId": pid, "lspId": 100,
                  "globalProductId": "g-%d" % pid,
                  "sku": "SKU-%05d" % pid, "productName": "Product %d" % pid,
                  "categoryId": 1 + pid % 5, "brandId": 1 + pid % 4,
                  "strainId": 1 + pid % 4 if pid % 5 != 3 else None,
                  "tags": [1 + pid % 3] if pid % 4 == 0 else [],
                  "imageUrl": "https://images.dutchie.com/p/%d.jpg" % pid,
                  "recPrice": rec, "medPrice": round(rec * .9, 2),
                  "unitCost": round(rec * .4, 2),
                  "isActive": True, "onlineAvailable": pid % 9 != 0,
                  "created": t0, "lastModified": t0 + pid % days * DAY,
                  "thcContent": float(pid % 30), "thcContentUnit": "%",
                  "cbdContent": float(pid % 3), "cbdContentUnit": "%",
                  "locations": per})
    doc["products"], doc["packages"] = P, pk
    C = []
    for cid in range(1, customers + 1):
        home = loc_ids[cid % locations]
        cl = [home]
        if cid % 3 == 0 and locations > 1:
            cl.append(loc_ids[(cid + 1) % locations])
        c = {"customerId": cid, "lspId": 100, "uniqueId": "U%07d" % cid,
             "firstName": "First%d" % cid, "lastName": "Last%d" % cid,
             "emailAddress": "" if cid % 7 == 0 else
             "c%d@example.com" % cid,
             "cellPhone": "303555%04d" % (cid % 10000),
             "created": t0, "lastModified": t0 + rng.randrange(days * DAY),
             "isAnonymous": cid % 10 == 5,
             "optedIntoMarketing": cid % 4 == 0,
             "customerType": "Medical" if cid % 11 == 0 else
             "Recreational", "locations": cl}
        if cid % 100 == 1 and cid > 1:
            c["status"] = "Merged"
            c["mergedIntoCustomerId"] = cid - 1
        C.append(c)
    doc["customers"] = C
    T = []
    iid = 0
    span = days * DAY
    first_inv = {}
    for r in pk:
        first_inv.setdefault((r["locationId"], r["productId"]),
                             r["inventoryId"])
    for tid in range(1, transactions + 1):
        lid = loc_ids[tid % locations]
        date = t0 + tid * span // (transactions + 1)
        items = []
        for _ in range(1 + tid % 3):
            iid += 1
            pid = 1 + rng.randrange(products)
            price = P[pid - 1]["recPrice"]
            items.append({"transactionItemId": iid, "transactionId": tid,
                          "productId": pid,
                          "inventoryId": first_inv[(lid, pid)],
                          "quantity": 1 + iid % 3, "unitPrice": price})
        cust = 1 + rng.randrange(customers)
        tx = {"transactionId": tid, "locationId": lid, "customerId": cust,
              "date": date, "lastModified": date, "items": items}
        m = tid % 100
        if m == 37:
            tx["transactionType"] = "Transfer"
        elif m == 53:
            tx.update(isVoid=True, voidDate=date + 300,
                      lastModified=date + 300)
        T.append(finish_transaction(tx))
    # Returns: 2% of sales, each of the first item of an earlier sale
    # at the same location, a day later.
    by_id = {t["transactionId"]: t for t in T}
    tid = transactions
    for orig_id in range(50, transactions + 1, 50):
        o = by_id[orig_id]
        if o.get("isVoid") or o.get("transactionType", "Retail") != \
                "Retail" or o["date"] + DAY > now:
            continue
        tid += 1
        iid += 1
        it0 = o["items"][0]
        rt = o["date"] + DAY
        r = {"transactionId": tid, "locationId": o["locationId"],
             "customerId": o["customerId"], "date": rt, "lastModified": rt,
             "isReturn": True, "returnOnTransactionId": orig_id,
             "items": [dict(it0, transactionItemId=iid,
                            transactionId=tid)]}
        it0.update(isReturned=True, returnedByTransactionId=tid,
                   returnDate=rt, returnReason="Changed mind")
        o["lastModified"] = rt
        T.append(finish_transaction(r))
    doc["transactions"] = T
    return doc
