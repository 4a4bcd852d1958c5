#!/usr/bin/env python3
"""Writes a synthetic shop in posfeed's file-source format for `make bench`.

  N products, 3 variants each (Size S/M/L), 2 locations, one stock row per
  variant and location, ~200 categories in a three-level tree, N/10
  customers, N orders with 1..9 lines each (5 on average, so N=200000 gives
  about 1M order lines).

Rows are formatted with plain string templates rather than json.dumps per
row: the large size writes ~3M rows and must stay well under a minute. All
text is ASCII and free of quotes/backslashes, so no JSON escaping is needed.

Usage: tests/gen_shop.py --products N --out DIR [--seed S]
"""

import argparse
import os
import random
import sys
import time

CHUNK = 20000               # rows buffered per write
EPOCH0 = 1735689600         # 2025-01-01T00:00:00Z
SPAN = 700 * 86400          # orders spread over ~23 months
SIZES = ("S", "M", "L")
STATUSES = ("completed",) * 17 + ("pending", "cancelled", "voided")


class Writer:
    """Buffered NDJSON writer that counts rows."""

    def __init__(self, out, name):
        self.path = os.path.join(out, name + ".ndjson")
        self.f = open(self.path, "w", encoding="ascii", newline="\n")
        self.buf = []
        self.rows = 0

    def add(self, line):
        self.buf.append(line)
        if len(self.buf) >= CHUNK:
            self.flush()

    def flush(self):
        if self.buf:
            self.f.write("\n".join(self.buf))
            self.f.write("\n")
            self.rows += len(self.buf)
            self.buf = []

    def close(self):
        self.flush()
        self.f.close()
        return self.rows


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def money(minor):
    sign = "-" if minor < 0 else ""
    minor = abs(minor)
    return "%s%d.%02d" % (sign, minor // 100, minor % 100)


def categories(out):
    w = Writer(out, "categories")
    leaves = []
    pos = 0
    for a in range(5):
        top = "c%d" % a
        pos += 1
        w.add('{"id": "%s", "name": "Department %d", "position": %d}'
              % (top, a, pos))
        for b in range(5):
            mid = "%s-%d" % (top, b)
            pos += 1
            w.add('{"id": "%s", "name": "Group %d.%d", "parent_id": "%s", '
                  '"position": %d}' % (mid, a, b, top, pos))
            for c in range(7):
                leaf = "%s-%d" % (mid, c)
                pos += 1
                vis = ', "visible": false' if (a, b, c) == (4, 4, 6) else ""
                w.add('{"id": "%s", "name": "Range %d.%d.%d", '
                      '"parent_id": "%s", "position": %d%s}'
                      % (leaf, a, b, c, mid, pos, vis))
                leaves.append(leaf)
    return w.close(), leaves


def catalog(out, n, rng, leaves):
    wp = Writer(out, "products")
    wv = Writer(out, "variants")
    ws = Writer(out, "stock")
    nleaves = len(leaves)
    rand = rng.random
    randrange = rng.randrange
    for i in range(1, n + 1):
        cat = leaves[i % nleaves]
        created = EPOCH0 - randrange(400 * 86400)
        base = 495 + randrange(200) * 50
        wp.add('{"id": "P%d", "name": "Product %d", "description": '
               '"<p>Synthetic product <b>%d</b> &amp; friends.</p>", '
               '"url": "https://bench.example/p/%d", "brand": "Brand %d", '
               '"created_at": "%s", "updated_at": %d, '
               '"category_ids": ["%s"], "images": '
               '["https://bench.example/i/%d-1.jpg", '
               '"https://bench.example/i/%d-2.jpg"], "attributes": '
               '{"material": "m%d", "tags": ["t%d", "t%d"]}}'
               % (i, i, i, i, i % 97, iso(created), created + 86400, cat,
                  i, i, i % 13, i % 7, i % 11))
        sale = i % 5 == 0
        for k, size in enumerate(SIZES):
            vid = "P%d-%s" % (i, size)
            price = base + k * 100
            lp = (', "list_price": "%s"' % money(price + price // 4)
                  if sale else "")
            wv.add('{"id": "%s", "product_id": "P%d", "sku": "SKU%d%s", '
                   '"ean": "20%011d", "price": "%s"%s, "position": %d, '
                   '"options": {"Size": "%s"}}'
                   % (vid, i, i, size, i * 3 + k, money(price), lp, k + 1,
                      size))
            q1 = randrange(12) if rand() < 0.8 else 0
            q2 = randrange(12) if rand() < 0.6 else 0
            ws.add('{"variant_id": "%s", "location_id": "L1", '
                   '"quantity": %d}' % (vid, q1))
            ws.add('{"variant_id": "%s", "location_id": "L2", '
                   '"quantity": %d}' % (vid, q2))
    return wp.close(), wv.close(), ws.close()


def customers(out, n):
    w = Writer(out, "customers")
    for i in range(1, n + 1):
        email = (', "email": "customer%d@bench.example"' % i
                 if i % 9 else "")
        consent = ("true", "false", "null")[i % 3]
        w.add('{"id": "C%d"%s, "first_name": "First%d", '
              '"last_name": "Last%d", "city": "City %d", "country": "NL", '
              '"consent": %s, "created_at": %d}'
              % (i, email, i, i, i % 50, consent, EPOCH0 + i))
    return w.close()


def orders(out, norders, nproducts, ncustomers, rng):
    wo = Writer(out, "orders")
    wl = Writer(out, "order_lines")
    rand = rng.random
    randrange = rng.randrange
    for i in range(1, norders + 1):
        t = EPOCH0 + randrange(SPAN)
        status = STATUSES[randrange(len(STATUSES))]
        nlines = 1 + randrange(9)
        total = 0
        for ln in range(1, nlines + 1):
            p = 1 + randrange(nproducts)
            k = randrange(3)
            qty = 1 + (rand() < 0.1)
            unit = 495 + (p % 200) * 50 + k * 100
            total += unit * qty
            wl.add('{"id": "O%d-%d", "order_id": "O%d", "product_id": '
                   '"P%d", "variant_id": "P%d-%s", "name": "Product %d", '
                   '"quantity": %d, "unit_price": "%s", "position": %d}'
                   % (i, ln, i, p, p, SIZES[k], p, qty, money(unit), ln))
        cust = ""
        if i % 10:                  # every tenth order is anonymous
            c = 1 + i % ncustomers
            cust = (', "customer_id": "C%d", "email": '
                    '"customer%d@bench.example"' % (c, c))
        done = (', "completed_at": "%s"' % iso(t + 60)
                if status == "completed" else "")
        wo.add('{"id": "O%d", "number": "%d", "status": "%s", '
               '"location_id": "L%d"%s, "currency": "EUR", '
               '"created_at": "%s"%s, "total": "%s"}'
               % (i, 100000 + i, status, 1 + i % 2, cust, iso(t), done,
                  money(total)))
    return wo.close(), wl.close()


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--products", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    if args.products < 1:
        ap.error("--products must be at least 1")
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(args.seed)
    t0 = time.monotonic()

    counts = []
    w = Writer(args.out, "locations")
    w.add('{"id": "L1", "name": "Main Street", '
          '"timezone": "Europe/Amsterdam"}')
    w.add('{"id": "L2", "name": "Warehouse", '
          '"timezone": "Europe/Amsterdam"}')
    counts.append(("locations", w.close()))
    ncat, leaves = categories(args.out)
    counts.append(("categories", ncat))
    np_, nv, ns = catalog(args.out, args.products, rng, leaves)
    counts += [("products", np_), ("variants", nv), ("stock", ns)]
    ncust = max(1, args.products // 10)
    counts.append(("customers", customers(args.out, ncust)))
    no, nl = orders(args.out, args.products, args.products, ncust, rng)
    counts += [("orders", no), ("order_lines", nl)]

    total = 0
    for name, rows in counts:
        print("%-12s %9d rows" % (name, rows))
        total += rows
    print("%-12s %9d rows in %s (%.1f s)"
          % ("total", total, args.out, time.monotonic() - t0))


if __name__ == "__main__":
    main(sys.argv[1:])
