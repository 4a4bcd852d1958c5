"""Times outside 0001-01-01 .. 9999-12-31: a field warning when they come
in, an empty value when one is already in the store, never an overflow
(this suite also runs under UBSan) or a garbage date in a feed."""
import json
import os
import sqlite3

from shop import ShopTest


class TimeRange(ShopTest):
    def shop_with_events(self):
        s = self.shop()
        s.feeds = {"events": {"template": "klaviyo-events",
                              "output": "events.ndjson"},
                   "clerk": {"template": "clerk"}}
        s.add_product("p1", created_at="2026-01-05T09:00:00Z")
        return s

    def events(self, s):
        with open(s.feed_path("events.ndjson"), encoding="utf-8") as f:
            return {e["unique_id"]: e for e in map(json.loads, f)}

    def test_out_of_range_input_is_a_field_warning(self):
        s = self.shop_with_events()
        s.add_product("p-min", created_at="-9223372036854775807")
        s.add_product("p-big", created_at=253402300800)
        s.add_product("p-max", created_at="9999-12-31T23:59:59Z")
        s.add_order("o-min", [{"product_id": "p1"}],
                    created_at="-9223372036854775807", email="a@x.example",
                    customer_id="k1")
        s.add_order("o-y0", [{"product_id": "p1"}],
                    created_at="0000-06-01T00:00:00Z", email="a@x.example",
                    customer_id="k1")
        s.add_order("o-ok", [{"product_id": "p1"}], email="a@x.example",
                    customer_id="k1")
        r = s.run()
        err = r.stderr
        self.assertIn("products.ndjson:2: field 'created_at': date/time out "
                      "of range: '-9223372036854775807'", err)
        self.assertIn("products.ndjson:3: field 'created_at': epoch seconds "
                      "253402300800 out of range", err)
        self.assertIn("orders.ndjson:1: field 'created_at': date/time out "
                      "of range", err)
        self.assertIn("orders.ndjson:2: field 'created_at': date/time out "
                      "of range: '0000-06-01T00:00:00Z'", err)
        products = {p["id"]: p for p in s.feed()["products"]}
        self.assertEqual(sorted(products), ["p-max", "p1"])
        self.assertEqual(products["p-max"]["created_at"], 253402300799)
        self.assertEqual(sorted(self.events(s)),
                         ["ordered-product:o-ok-l0", "placed-order:o-ok"])

    def test_out_of_range_time_in_the_store_renders_empty(self):
        # A store written by another tool (or an older posfeed) may hold
        # any integer: the feed leaves the time out rather than print
        # year -292277022657 or overflow.
        s = self.shop_with_events()
        s.add_order("o1", [{"product_id": "p1"}], email="a@x.example",
                    customer_id="k1",
                    shipped=True)
        s.add_order("o2", [{"product_id": "p1"}], email="a@x.example",
                    customer_id="k1")
        s.run()
        con = sqlite3.connect(os.path.join(s.dir, "store.db"))
        con.execute("UPDATE orders SET created_at = -9223372036854775808, "
                    "completed_at = 9223372036854775807 WHERE id = 'o1'")
        con.execute("UPDATE products SET created_at = 9223372036854775807")
        con.commit()
        con.close()
        s.posfeed("build", "--force")
        ev = self.events(s)
        self.assertNotIn("time", ev["placed-order:o1"])
        self.assertEqual(ev["placed-order:o2"]["time"],
                         "2026-11-01T10:00:00Z")
        feed = s.feed()
        orders = {o["id"]: o for o in feed["orders"]}
        self.assertNotIn("time", orders["o1"])
        self.assertEqual(orders["o2"]["time"], 1793527200)
        self.assertNotIn("created_at", feed["products"][0])


if __name__ == "__main__":
    import unittest
    unittest.main()
