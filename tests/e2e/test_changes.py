"""Issue 14, what changed when: a sync stamps exactly the objects whose
rendered data changed with its clock (POSFEED_NOW), records removed ones
in `deleted`, and a sync of identical data moves nothing. Read straight
from the store, as the Clerk V2 endpoints read it (docs/store.md, "What
changed when")."""
import calendar
import os
import time
import unittest

from shop import ShopTest

PENDING = 2 ** 63 - 1


def epoch(iso):
    return calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ"))


T1, T2, T3 = ("2026-11-01T10:00:00Z", "2026-11-02T10:00:00Z",
              "2026-11-03T10:00:00Z")
IDS = ["p%02d" % i for i in range(1, 21)]


class Changes(ShopTest):
    def setUp(self):
        self.s = self.shop()
        s = self.s
        s.add("categories", id="c1", name="Shirts")
        s.add("categories", id="c2", name="Shoes")
        for pid in IDS:
            s.add_product(pid, name="Product " + pid, price="10.00",
                          category_ids=["c1"], stock={"L1": 5})
        s.add("customers", id="cu1", email="a@example.com", city="Leiden")
        s.add_order("o1", [{"product_id": "p01"}], customer_id="cu1")

    def sync(self, now):
        self.s.write_data()
        self.s.write_config()
        self.s.posfeed("sync", env={"POSFEED_NOW": now})

    def times(self, table):
        con = self.s.db()
        return dict(con.execute("SELECT id, changed_at FROM " + table))

    def deleted(self):
        con = self.s.db()
        return {(e, i): t for e, i, t in con.execute(
            "SELECT entity, id, deleted_at FROM deleted")}

    def product(self, pid):
        return next(p for p in self.s.rows["products"] if p["id"] == pid)

    def change_some(self):
        """A stock number, a price, an image and a category change on
        four products; one product goes."""
        s = self.s
        for st in s.rows["stock"]:
            if st["variant_id"] == "p02-v":
                st["quantity"] = 4
        for v in s.rows["variants"]:
            if v["id"] == "p05-v":
                v["price"] = "12.50"
        self.product("p07")["images"] = ["/img/p07-new.jpg"]
        self.product("p09")["category_ids"] = ["c2"]
        s.rows["products"] = [p for p in s.rows["products"]
                              if p["id"] != "p11"]
        s.rows["variants"] = [v for v in s.rows["variants"]
                              if v["product_id"] != "p11"]
        s.rows["stock"] = [x for x in s.rows["stock"]
                           if x["variant_id"] != "p11-v"]

    def test_only_changed_objects_move(self):
        self.sync(T1)
        first = self.times("products")
        self.assertEqual(first, {pid: epoch(T1) for pid in IDS})
        self.assertEqual(self.deleted(), {})
        for table in ("categories", "customers", "orders"):
            self.assertEqual(set(self.times(table).values()), {epoch(T1)},
                             table)

        self.change_some()
        self.sync(T2)
        moved = {"p02", "p05", "p07", "p09"}
        want = {pid: epoch(T2) if pid in moved else epoch(T1)
                for pid in IDS if pid != "p11"}
        self.assertEqual(self.times("products"), want)
        self.assertEqual(self.deleted(), {("product", "p11"): epoch(T2)})
        # Categories render their children, not their products; the
        # customer and the order did not change.
        for table in ("categories", "customers", "orders"):
            self.assertEqual(set(self.times(table).values()), {epoch(T1)},
                             table)

        # The same files again: nothing moves, nothing is pending.
        second = {t: self.times(t) for t in
                  ("products", "categories", "customers", "orders",
                   "pages")}
        self.sync(T3)
        for table, before in second.items():
            self.assertEqual(self.times(table), before, table)
        self.assertEqual(self.deleted(), {("product", "p11"): epoch(T2)})
        con = self.s.db()
        self.assertEqual(con.execute(
            "SELECT count(*) FROM products WHERE changed_at = ?",
            (PENDING,)).fetchone()[0], 0)

    def test_category_renamed_moves_its_products(self):
        """A product renders its categories' names: renaming c1 moves the
        category and every product in it."""
        self.product("p03")["category_ids"] = ["c2"]
        self.sync(T1)
        self.s.rows["categories"][0]["name"] = "Tops"
        self.sync(T2)
        want = {pid: epoch(T1) if pid == "p03" else epoch(T2)
                for pid in IDS}
        self.assertEqual(self.times("products"), want)
        self.assertEqual(self.times("categories"),
                         {"c1": epoch(T2), "c2": epoch(T1)})


if __name__ == "__main__":
    unittest.main()
