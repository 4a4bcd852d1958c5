#!/usr/bin/env python3
"""Generates a Lightspeed Retail dataset for the emulator (bench size).

lsr_bench_data.py OUT.json [--items N] [--matrices N] [--customers N]
                           [--sales N] [--seed N]

Defaults: 20,000 Items of which 15,000 belong to 5,000 ItemMatrices
(3 each) and 5,000 stand alone, 2 shops (ItemShop rows for shops 1, 2
and the shopID 0 summary), 5,000 customers, 50,000 sales of 1-3 lines
(some discounted, some shipped, some voided) and their ShipTo and
SaleVoid records. Deterministic for a given seed. Written in the
emulator's native form (numbers and lists; it applies the API's string
and single-object quirks when it serves the rows).
"""
import argparse
import json
import random

IMG = "https://res.cloudinary.com/lightspeed-retail/image/upload/"
COLOURS = ["Red", "Blue", "Green", "Black", "White"]
SIZES = ["XS", "S", "M", "L", "XL"]


def money(cents):
    return "%d.%02d" % (cents // 100, cents % 100)


def generate(a):
    rnd = random.Random(a.seed)
    d = {"Shop": [{"shopID": 1, "name": "Amsterdam",
                   "timeZone": "Europe/Amsterdam"},
                  {"shopID": 2, "name": "Utrecht",
                   "timeZone": "Europe/Amsterdam"}],
         "Category": [], "Manufacturer": [], "ItemAttributeSet": [
             {"itemAttributeSetID": 1, "name": "Color/Size",
              "attributeName1": "Colour", "attributeName2": "Size",
              "attributeName3": ""}],
         "ItemMatrix": [], "Item": [], "ItemShop": [], "Customer": [],
         "Sale": [], "ShipTo": [], "SaleVoid": []}
    for c in range(1, 51):
        d["Category"].append({"categoryID": c, "name": "Category %d" % c,
                              "parentID": 0 if c <= 10 else (c - 1) % 10 + 1})
    for m in range(1, 21):
        d["Manufacturer"].append({"manufacturerID": m,
                                  "name": "Brand %d" % m})
    for m in range(1, a.matrices + 1):
        d["ItemMatrix"].append({
            "itemMatrixID": m, "description": "Matrix product %d" % m,
            "itemType": "default", "categoryID": m % 50 + 1,
            "manufacturerID": m % 20 + 1, "itemAttributeSetID": 1,
            # Real matrices have no createTime: their items tell.
            "Prices": [{"amount": "29.95", "useTypeID": 1,
                        "useType": "Default"}],
            "Images": [{"imageID": m, "ordering": 0,
                        "publicID": "m%d" % m, "filename": "m%d.jpg" % m,
                        "baseImageURL": IMG}],
            "CustomFieldValues": [{"customFieldID": 1, "name": "material",
                                   "value": "cotton"}],
            "ItemECommerce": {"itemECommerceID": m,
                              "longDescription": "<p>Matrix product %d, "
                              "long description.</p>" % m,
                              "shortDescription": "Matrix %d" % m}})
    per = 3
    in_matrix = a.matrices * per
    for i in range(1, a.items + 1):
        price = 500 + rnd.randrange(10000)
        it = {"itemID": i, "systemSku": "21%010d" % i,
              "customSku": "SKU-%d" % i, "description": "Item %d" % i,
              "itemType": "non_inventory" if i % 97 == 0 else "default",
              "categoryID": i % 50 + 1, "manufacturerID": i % 20 + 1,
              "itemMatrixID": 0, "ean": "", "upc": "",
              "createTime": "2025-06-01T10:00:00+00:00",
              "Prices": [{"amount": money(price), "useTypeID": 1,
                          "useType": "Default"},
                         {"amount": money(price + 500), "useTypeID": 2,
                          "useType": "MSRP"}],
              "Images": [{"imageID": 100000 + i, "ordering": 0,
                          "publicID": "i%d" % i, "filename": "i%d.jpg" % i,
                          "baseImageURL": IMG}]}
        if i <= in_matrix:
            m = (i - 1) // per + 1
            it["itemMatrixID"] = m
            it["ItemAttributes"] = {
                "itemAttributeSetID": 1,
                "attribute1": COLOURS[m % len(COLOURS)],
                "attribute2": SIZES[(i - 1) % per], "attribute3": ""}
        else:
            it["ItemECommerce"] = {"itemECommerceID": 100000 + i,
                                   "longDescription": "Item %d, long "
                                   "description." % i}
        d["Item"].append(it)
        for shop in (0, 1, 2):
            d["ItemShop"].append({"itemShopID": i * 3 + shop, "itemID": i,
                                  "shopID": shop,
                                  "qoh": rnd.randrange(-1, 20)})
    for c in range(1, a.customers + 1):
        d["Customer"].append({
            "customerID": c, "firstName": "First%d" % c,
            "lastName": "Last%d" % c,
            "createTime": "2025-06-01T10:00:00+00:00",
            "Contact": {"noEmail": c % 3 == 0, "Emails": [
                {"address": "c%d@example.com" % c, "useType": "Primary"}],
                "Addresses": [{"address1": "Street %d" % c,
                               "city": "Amsterdam", "zip": "1000AA",
                               "country": "Netherlands"}]}})
    line = 0
    ship = 0
    for s in range(1, a.sales + 1):
        lines = []
        total = 0
        for _ in range(1 + rnd.randrange(3)):
            line += 1
            item = 1 + rnd.randrange(a.items)
            price = 500 + rnd.randrange(10000)
            disc = 100 if line % 7 == 0 else 0
            ln = {"saleLineID": line, "itemID": item, "unitQuantity": 1,
                  "unitPrice": money(price), "calcLineDiscount":
                  money(disc), "parentSaleLineID": 0, "discountID": 0}
            if disc:
                ln["discountID"] = 2
                ln["Discount"] = {"discountID": 2, "name": "LINE1"}
            total += price - disc
            lines.append(ln)
        sale = {"saleID": s, "ticketNumber": "22%010d" % s,
                "completed": True, "voided": False,
                "createTime": "2026-01-01T10:00:00+00:00",
                "completeTime": "2026-01-01T10:05:00+00:00",
                "customerID": 1 + rnd.randrange(a.customers),
                "shopID": 1 + s % 2, "calcTotal": money(total),
                "calcDiscount": money(sum(
                    100 for x in lines if x["discountID"])),
                "shipToID": 0, "SaleLines": lines}
        if s % 25 == 0:
            ship += 1
            sale["shipToID"] = ship
            d["ShipTo"].append({"shipToID": ship, "saleID": s,
                                "shipped": s % 50 == 0})
        if s % 100 == 0:
            sale["voided"] = True
            d["SaleVoid"].append({"saleVoidID": s // 100, "saleID": s,
                                  "createTime": "2026-01-01T11:00:00+00:00",
                                  "reason": "mistake", "employeeID": 1,
                                  "shopID": sale["shopID"]})
        d["Sale"].append(sale)
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--items", type=int, default=20000)
    ap.add_argument("--matrices", type=int, default=5000)
    ap.add_argument("--customers", type=int, default=5000)
    ap.add_argument("--sales", type=int, default=50000)
    ap.add_argument("--seed", type=int, default=4)
    a = ap.parse_args()
    if a.matrices * 3 > a.items:
        ap.error("--items must be at least 3 x --matrices")
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(generate(a), f)


if __name__ == "__main__":
    main()
