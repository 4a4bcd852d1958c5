"""posfeed verify, end to end: orders per shop-local day in the POS (the
file source's files, the Lightspeed eCom emulator's count endpoints), the
store, the published events feed, the push ledger and the Klaviyo
emulator (tests/emulators/klaviyo_emulator.py, in-process).

The ledger's sent rows are written here with sqlite3 (the push is tested
on its own in test_push*.py), and Klaviyo's events are injected with
k.add_event(), so each test decides exactly what every column holds.
Feeds are built with `sync` + `build`, never `run`, which also pushes."""
import json
import os
import subprocess
import sys
import time
import unittest

from shop import REPO, ShopTest

sys.path.insert(0, os.path.join(REPO, "tests", "emulators"))
import klaviyo_emulator  # noqa: E402

KEY = "pk_test_key"
NOW = "2026-11-20T12:00:00Z"

# Orders over the week before NOW (2026-11-20, Europe/Amsterdam, UTC+1).
# (id, created_at UTC, email, status, total, kind)
ORDERS = [
    ("o1", "2026-11-14T09:00:00Z", "anna@example.com", "completed",
     "19.95", "sale"),
    ("o2", "2026-11-16T12:00:00Z", "bob@example.com", "completed",
     "10.00", "sale"),
    ("o3", "2026-11-16T15:00:00Z", "", "completed", "10.00", "sale"),
    ("o4", "2026-11-17T08:00:00Z", "cleo@example.com", "open", "10.00",
     "sale"),
    ("o5", "2026-11-17T22:30:00Z", "dan@example.com", "completed",
     "30.00", "sale"),              # 23:30 local: still the 17th
    ("o6", "2026-11-17T23:30:00Z", "eve@example.com", "completed",
     "12.00", "sale"),              # 00:30 local: the 18th
    ("r1", "2026-11-18T10:00:00Z", "anna@example.com", "completed",
     "-19.95", "refund"),
    ("o7", "2026-11-19T11:00:00Z", "fay@example.com", "completed",
     "0.00", "sale"),
    ("o8", "2026-11-19T12:00:00Z", "gus@example.com", "completed",
     "25.00", "sale"),
]


def add_orders(s, orders):
    for oid, at, email, status, total, kind in orders:
        q = -1 if kind == "refund" else 1
        kw = {"refund_of": "o1"} if kind == "refund" else {}
        s.add_order(oid, [{"product_id": "p1", "quantity": q}],
                    created_at=at, email=email, status=status, total=total,
                    customer_id="c-" + oid if email or oid == "o3" else "",
                    **kw)


class VerifyCase(ShopTest):
    def shop(self, push=None):
        s = super().shop()
        s.add_product("p1")
        s.sync.update({"accepted_order_statuses": "completed",
                       "collect_emails": "yes", "orders_lookback": "all"})
        s.feeds = {"events": {"template": "klaviyo-events",
                              "output": "events.json"}}
        add_orders(s, ORDERS)
        s.push = push
        return s

    def prepare(self, s):
        s.write_data()
        text = s.config_text()
        if s.push is not None:
            text += "\n[push klaviyo]\n" + "".join(
                "%s = %s\n" % kv for kv in s.push.items())
        s.write_config(text)
        s.posfeed("sync")
        s.posfeed("build")

    def verify(self, s, *args, expect=0, env=None):
        r = s.posfeed("verify", "--json", *args, expect=expect, env=env)
        return json.loads(r.stdout), r

    def days(self, doc):
        return {d["date"]: d for d in doc["days"]}


class FileSource(VerifyCase):
    def test_good_data_agrees(self):
        s = self.shop()
        self.prepare(s)
        doc, r = self.verify(s)
        self.assertEqual(doc["flagged_days"], 0)
        d = self.days(doc)
        self.assertEqual(sorted(d), ["2026-11-%02d" % i
                                     for i in range(13, 20)])
        # POS counts every order row; store shows the accepted ones; the
        # feed has one Placed Order per sale with a profile.
        self.assertEqual((d["2026-11-17"]["pos"], d["2026-11-17"]["store"],
                          d["2026-11-17"]["feed"]), (2, 1, 1))
        self.assertIn("1 with a status not accepted",
                      d["2026-11-17"]["explained"])
        self.assertEqual((d["2026-11-18"]["pos"], d["2026-11-18"]["feed"]),
                         (2, 1))
        self.assertIn("1 without a purchase", d["2026-11-18"]["explained"])
        self.assertEqual(d["2026-11-16"]["feed"], 2)
        # No [push klaviyo]: nothing sent, nothing to ask Klaviyo.
        self.assertEqual((d["2026-11-16"]["sent"],
                          d["2026-11-16"]["klaviyo"]), ("-", "-"))
        for day in d.values():
            self.assertNotIn("flagged", day)
        text = s.posfeed("verify").stdout
        self.assertRegex(text, r"2026-11-17\s+2\s+1\s+1\s+-\s+-\s+ok")

    def test_pos_counts_the_rows_sync_keeps(self):
        s = self.shop()
        # A row sync refuses (no created_at) and a repeated id whose
        # later row moves the order to another day: one order, there.
        s.add("orders", id="bad", status="completed", total="1.00")
        s.add("orders", id="o2", status="completed", total="10.00",
              created_at="2026-11-19T09:00:00Z", email="bob@example.com",
              customer_id="c-o2")
        self.prepare(s)
        doc, r = self.verify(s)
        d = self.days(doc)
        self.assertEqual(doc["flagged_days"], 0, r.stdout)
        self.assertEqual((d["2026-11-16"]["pos"], d["2026-11-19"]["pos"]),
                         (1, 3))

    def test_a_day_altered_in_the_pos_after_the_sync_is_flagged(self):
        s = self.shop()
        self.prepare(s)
        # A sale rung up late on the 17th, after the last sync.
        add_orders(s, [("o9", "2026-11-17T19:00:00Z", "hal@example.com",
                        "completed", "5.00", "sale")])
        s.write_data()
        doc, r = self.verify(s, expect=1)
        d = self.days(doc)
        self.assertEqual(doc["flagged_days"], 1)
        self.assertEqual(d["2026-11-17"]["pos"], 3)
        self.assertIn("pos 3 != store 2", d["2026-11-17"]["flagged"])
        self.assertIn("1 of 7 days flagged", r.stderr)
        text = s.posfeed("verify", expect=1).stdout
        self.assertIn("2026-11-17 FLAGGED: pos 3 != store 2", text)
        # The next sync and build settle it.
        s.posfeed("sync")
        s.posfeed("build")
        doc, _ = self.verify(s)
        self.assertEqual(doc["flagged_days"], 0)

    def test_a_stale_feed_is_flagged(self):
        s = self.shop()
        self.prepare(s)
        add_orders(s, [("o9", "2026-11-19T19:00:00Z", "hal@example.com",
                        "completed", "5.00", "sale")])
        s.write_data()
        s.posfeed("sync")
        doc, _ = self.verify(s, expect=1)
        self.assertIn("feed 2 != store 3 expected",
                      self.days(doc)["2026-11-19"]["flagged"])

    def test_a_gzip_feed_is_read_and_a_damaged_one_named(self):
        import gzip
        s = self.shop()
        self.prepare(s)
        path = s.feed_path("events.json")
        with open(path, "rb") as f:
            plain = f.read()
        with open(path, "wb") as f:
            f.write(gzip.compress(plain))
        doc, _ = self.verify(s)
        self.assertEqual(self.days(doc)["2026-11-16"]["feed"], 2)
        with open(path, "wb") as f:
            f.write(plain + b"{not json\n")
        doc, r = self.verify(s, expect=1)
        self.assertIn("events.json:%d: not a JSON object"
                      % (plain.count(b"\n") + 1), doc["error"])
        self.assertEqual(self.days(doc)["2026-11-16"]["feed"], "?")

    def test_the_last_result_is_in_status(self):
        s = self.shop()
        self.prepare(s)
        doc, _ = self.verify(s, "--days", "3")
        st = json.loads(s.posfeed("status", "--json").stdout)
        self.assertEqual(st["verify"], doc)
        self.assertIn("last verify", s.posfeed("status").stdout)

    def test_the_status_page_shows_it_to_the_token_only(self):
        from serve_util import TOKEN, Server, html_validate
        s = self.shop()
        self.prepare(s)
        s.write_config(s.config_text() +
                       "\n[serve]\ntoken = env:POSFEED_TOKEN\n")
        add_orders(s, [("o9", "2026-11-17T19:00:00Z", "hal@example.com",
                        "completed", "5.00", "sale")])
        s.write_data()
        doc, _ = self.verify(s, expect=1)
        srv = Server(s)
        auth = {"Authorization": "Bearer " + TOKEN}
        self.assertEqual(srv.json("/status.json", **auth)["verify"], doc)
        st, _, page = srv.get("/", **auth)
        page = page.decode()
        self.assertIn("<h2>Last verify", page)
        self.assertIn("pos 3 != store 2", page)
        cmd, why = html_validate()
        if cmd is not None:
            path = os.path.join(s.dir, "page.html")
            with open(path, "w", encoding="utf-8") as f:
                f.write(page)
            r = subprocess.run(cmd + [path], capture_output=True, text=True,
                               timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # Order counts are the shop's business: not without the token.
        self.assertNotIn("verify", srv.json("/status.json"))
        self.assertNotIn("Last verify", srv.get("/")[2].decode())

    def test_days_must_be_a_number_in_range(self):
        s = self.shop()
        s.write_data()
        s.write_config()
        r = s.posfeed("verify", expect=1)
        self.assertIn("no store at", r.stderr)
        self.prepare(s)
        for bad in ("0", "x", "367", "-3"):
            r = s.posfeed("verify", "--days", bad, expect=2)
            self.assertIn("--days", r.stderr)

    def test_dst_day_has_25_hours(self):
        # Europe/Amsterdam leaves summer time on the last Sunday of
        # October: 2026-10-25 runs from 22:00Z on the 24th to 23:00Z on
        # the 25th.
        s = self.shop()
        s.rows["orders"].clear()
        s.rows["order_lines"].clear()
        add_orders(s, [
            ("a", "2026-10-24T21:59:59Z", "a@example.com", "completed",
             "1.00", "sale"),       # 23:59:59 CEST, the 24th
            ("b", "2026-10-24T22:00:00Z", "b@example.com", "completed",
             "1.00", "sale"),       # 00:00 CEST, the 25th
            ("c", "2026-10-25T22:59:59Z", "c@example.com", "completed",
             "1.00", "sale"),       # 23:59:59 CET, the 25th
            ("d", "2026-10-25T23:00:00Z", "d@example.com", "completed",
             "1.00", "sale"),       # 00:00 CET, the 26th
        ])
        self.prepare(s)
        doc, _ = self.verify(s, "--days", "2",
                             env={"POSFEED_NOW": "2026-10-27T12:00:00Z"})
        d = self.days(doc)
        self.assertEqual([(k, d[k]["pos"], d[k]["store"], d[k]["feed"])
                          for k in sorted(d)],
                         [("2026-10-25", 2, 2, 2), ("2026-10-26", 1, 1, 1)])
        doc, _ = self.verify(s, "--days", "3",
                             env={"POSFEED_NOW": "2026-10-27T12:00:00Z"})
        self.assertEqual(self.days(doc)["2026-10-24"]["pos"], 1)


class WithKlaviyo(VerifyCase):
    def setUp(self):
        self.k = klaviyo_emulator.Klaviyo(key=KEY,
                                          timezone="Europe/Amsterdam")
        self.k.start()
        self.addCleanup(self.k.stop)

    def shop(self):
        s = super().shop(push={"api_key": "env:KLAVIYO_PRIVATE_KEY",
                               "api_url": self.k.url})
        return s

    def posfeed_env(self):
        return {"KLAVIYO_PRIVATE_KEY": KEY}

    def prepare(self, s):
        os.environ["KLAVIYO_PRIVATE_KEY"] = KEY
        self.addCleanup(os.environ.pop, "KLAVIYO_PRIVATE_KEY", None)
        super().prepare(s)

    def placed(self, s):
        with open(s.feed_path("events.json"), encoding="utf-8") as f:
            return [e for e in map(json.loads, f)
                    if e["metric"] == "Placed Order"]

    def deliver(self, s, skip=(), events=None):
        """What a push would leave: each sendable Placed Order (email,
        value > 0) sent in the ledger and accepted by Klaviyo, except the
        unique_ids in skip, which reach the ledger only."""
        db = s.db()
        now = int(time.time())
        for e in events if events is not None else self.placed(s):
            if e["metric"] != "Placed Order":
                continue
            email = e["profile"].get("email")
            if not email or not e["value"]:
                continue
            t = int(klaviyo_emulator.parse_iso(e["time"]).timestamp())
            db.execute("INSERT OR REPLACE INTO push_items(target, kind, id, "
                       "metric, item_time, hash, body, state, queued_at, "
                       "sent_at, attempts) VALUES ('klaviyo', 'event', ?, "
                       "'Placed Order', ?, 'h', NULL, 'sent', ?, ?, 1)",
                       (e["unique_id"], t, now, now))
            if e["unique_id"] not in skip:
                self.k.add_event("Placed Order", e["time"], e["unique_id"],
                                 email)
        db.commit()

    def test_good_data_agrees_with_klaviyo(self):
        s = self.shop()
        self.prepare(s)
        self.deliver(s)
        doc, r = self.verify(s)
        self.assertEqual(doc["flagged_days"], 0, r.stdout)
        d = self.days(doc)
        self.assertEqual((d["2026-11-16"]["feed"], d["2026-11-16"]["sent"],
                          d["2026-11-16"]["klaviyo"]), (2, 1, 1))
        self.assertIn("1 without email (never sent)",
                      d["2026-11-16"]["explained"])
        self.assertEqual((d["2026-11-19"]["feed"], d["2026-11-19"]["sent"],
                          d["2026-11-19"]["klaviyo"]), (2, 1, 1))
        self.assertIn("1 worth 0 (never sent)", d["2026-11-19"]["explained"])
        self.assertEqual(d["2026-11-17"]["klaviyo"], 1)
        self.assertEqual(d["2026-11-18"]["klaviyo"], 1)
        self.assertEqual(doc["klaviyo_timezone"], "Europe/Amsterdam")
        self.assertNotIn("warning", doc)
        # One aggregates query for the whole week, in the shop's zone.
        aggs = [q for q in self.k.requests
                if q["path"].startswith("/api/metric-aggregates")]
        self.assertEqual(len(aggs), 1)
        # Reading never subscribes, imports or sends anything.
        self.assertEqual([q["method"] for q in self.k.requests
                          if q["method"] != "GET"], ["POST"])

    def test_a_klaviyo_day_missing_events_is_flagged(self):
        s = self.shop()
        self.prepare(s)
        self.deliver(s, skip=("placed-order:o5",))
        doc, r = self.verify(s, expect=1)
        d = self.days(doc)
        self.assertEqual(doc["flagged_days"], 1)
        self.assertEqual((d["2026-11-17"]["sent"],
                          d["2026-11-17"]["klaviyo"]), (1, 0))
        self.assertIn("klaviyo 0 != sent 1 (events missing in Klaviyo)",
                      d["2026-11-17"]["flagged"])

    def test_pending_and_failed_are_explained_unpushed_is_flagged(self):
        s = self.shop()
        self.prepare(s)
        self.deliver(s)
        db = s.db()
        db.execute("UPDATE push_items SET state = 'pending' "
                   "WHERE id = 'placed-order:o2'")
        db.execute("UPDATE push_items SET state = 'failed', reason = 'x' "
                   "WHERE id = 'placed-order:o6'")
        db.execute("DELETE FROM push_items WHERE id = 'placed-order:o8'")
        db.commit()
        # Klaviyo holds o2 and o6 although the ledger does not say sent.
        doc, _ = self.verify(s, expect=1)
        d = self.days(doc)
        self.assertIn("1 pending", d["2026-11-16"]["explained"])
        self.assertIn("klaviyo 1 != sent 0", d["2026-11-16"]["flagged"])
        self.assertIn("1 failed", d["2026-11-18"]["explained"])
        self.assertIn("sent 0 != feed 1 expected (not pushed yet?)",
                      d["2026-11-19"]["flagged"])

    def test_a_timezone_mismatch_warns(self):
        self.k.timezone = "America/New_York"
        s = self.shop()
        self.prepare(s)
        self.deliver(s)
        doc, r = self.verify(s)
        self.assertEqual(doc["klaviyo_timezone"], "America/New_York")
        self.assertIn("America/New_York", doc["warning"])
        self.assertIn("Europe/Amsterdam", doc["warning"])
        self.assertIn("timezone is America/New_York", r.stderr)
        # Asked in the shop's zone, the days still agree: o5 (23:30 on
        # the 17th in Amsterdam, 17:30 in New York) stays on the 17th.
        self.assertEqual(self.days(doc)["2026-11-17"]["klaviyo"], 1)
        self.assertEqual(doc["flagged_days"], 0)

    def test_klaviyo_down_is_a_clear_error(self):
        s = self.shop()
        self.prepare(s)
        self.deliver(s)
        self.k.fault("/api/", "status", times=100, status=503)
        doc, r = self.verify(s, expect=1)
        self.assertIn("Klaviyo", doc["error"])
        self.assertIn("503", doc["error"])
        self.assertIn("could not read Klaviyo", r.stderr)
        self.assertEqual(self.days(doc)["2026-11-16"]["klaviyo"], "?")
        # The other columns are still there, and still agree.
        self.assertEqual(self.days(doc)["2026-11-16"]["sent"], 1)
        self.assertEqual(doc["flagged_days"], 0)

    def test_a_split_json_array_feed_is_read_part_by_part(self):
        # The events as a JSON array (the built-in's rows in brackets),
        # named by events_feed, split into parts of at most 1 MB.
        s = self.shop()
        with open(os.path.join(REPO, "templates", "klaviyo-events.json"),
                  encoding="utf-8") as f:
            row = f.read()
        with open(os.path.join(s.dir, "events-array.json"), "w",
                  encoding="utf-8") as f:
            f.write("[" + row + "]\n")
        s.feeds["events"].update({"template": "events-array.json",
                                  "max_file_size": "1M"})
        s.push["events_feed"] = "events"
        add_orders(s, [("x%d" % i, "2026-11-15T%02d:%02d:00Z"
                        % (i // 60 % 23, i % 60), "x%d@example.com" % i,
                        "completed", "5.00", "sale") for i in range(2000)])
        self.prepare(s)
        with open(s.feed_path("events.json.parts.json")) as f:
            parts = json.load(f)["parts"]
        self.assertGreater(len(parts), 1)
        events = []
        for p in parts:
            with open(s.feed_path(p["path"]), encoding="utf-8") as f:
                events += json.load(f)
        self.deliver(s, events=events)
        doc, r = self.verify(s)
        self.assertEqual(doc["flagged_days"], 0, r.stdout)
        self.assertEqual(self.days(doc)["2026-11-15"]["feed"], 2000)
        self.assertEqual(self.days(doc)["2026-11-15"]["klaviyo"], 2000)

    def test_the_dst_day_matches_klaviyos_day(self):
        s = self.shop()
        s.rows["orders"].clear()
        s.rows["order_lines"].clear()
        add_orders(s, [
            ("b", "2026-10-24T22:00:00Z", "b@example.com", "completed",
             "1.00", "sale"),
            ("c", "2026-10-25T22:59:59Z", "c@example.com", "completed",
             "1.00", "sale"),
            ("d", "2026-10-25T23:00:00Z", "d@example.com", "completed",
             "1.00", "sale"),
        ])
        self.prepare(s)
        self.deliver(s)
        doc, _ = self.verify(s, "--days", "2",
                             env={"POSFEED_NOW": "2026-10-27T12:00:00Z"})
        d = self.days(doc)
        self.assertEqual((d["2026-10-25"]["klaviyo"],
                          d["2026-10-26"]["klaviyo"]), (2, 1))
        self.assertEqual(doc["flagged_days"], 0)


class LightspeedEcom(unittest.TestCase):
    """The POS column asked of the eCom API: orders/count.json plus
    returns/count.json per day (returns are refund orders in the store),
    never a listing."""

    def setUp(self):
        import lse_data
        import lse_emulator
        from test_lse import DATA_NOW, KEY as LKEY, SECRET, LseShop
        self.data_now = DATA_NOW
        self.emu = lse_emulator.LseEmulator(
            data=lse_data.small_shop(DATA_NOW), key=LKEY, secret=SECRET)
        self.emu.start()
        self.addCleanup(self.emu.stop)
        self.s = LseShop(self, self.emu)
        self.s.posfeed("sync")

    def verify(self, expect=0):
        r = self.s.posfeed("verify", "--days", "60", "--json",
                           expect=expect)
        return json.loads(r.stdout), r

    def test_good_data_agrees_counted_by_the_api(self):
        before = len(self.emu.requests())
        doc, r = self.verify()
        self.assertEqual(doc["flagged_days"], 0, r.stdout)
        pos = sum(d["pos"] for d in doc["days"])
        db = self.s.db()
        self.assertEqual(pos, db.execute(
            "SELECT count(*) FROM orders").fetchone()[0])
        self.assertGreater(pos, 10)
        self.assertTrue(any(d["store"] < d["pos"] for d in doc["days"]))
        asked = [e["path"] for e in self.emu.requests()[before:]
                 if not e["path"].startswith("/_emu")]
        self.assertEqual(len(asked), 120)
        self.assertTrue(all(p.endswith("/count.json") for p in asked),
                        asked[:3])

    def test_an_order_added_after_the_sync_is_flagged(self):
        day = self.data_now - 5 * 86400
        self.emu.add_order({"status": "completed", "createdAt": day,
                            "updatedAt": day, "email": "late@example.org",
                            "priceIncl": 10.0, "priceExcl": 8.26})
        doc, r = self.verify(expect=1)
        flagged = [d for d in doc["days"] if "flagged" in d]
        self.assertEqual(len(flagged), 1)
        self.assertEqual(flagged[0]["date"], "2026-11-13")
        self.assertRegex(flagged[0]["flagged"], r"^pos \d+ != store \d+")


class LightspeedRetail(unittest.TestCase):
    """The POS column asked of the Retail API: Sale.json?count=1 with a
    createTime range per day (count is incompatible with limit)."""

    def test_good_data_agrees_and_a_new_sale_is_flagged(self):
        from test_lsr import SECRET as LSECRET, Emulator, LsrShop
        from shop import BIN
        emu = Emulator(self, "--size", "400")  # counts cost 10 each
        s = LsrShop(self, emu)
        s.posfeed("run")        # no [push klaviyo]: sync and build
        env = dict(os.environ, POSFEED_NOW="2026-01-16T12:00:00Z",
                   POSFEED_TEMPLATES=os.path.join(REPO, "templates"),
                   LSR_SECRET=LSECRET)
        cmd = [BIN, "-c", os.path.join(s.dir, "posfeed.conf"), "verify",
               "--json"]
        before = len(emu.api_log())
        r = subprocess.run(cmd, capture_output=True, text=True, env=env,
                           timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual([d["pos"] for d in doc["days"]],
                         [0, 1, 1, 1, 1, 1, 0])
        asked = emu.api_log()[before:]
        self.assertEqual(len(asked), 7)
        for e in asked:
            self.assertTrue(e["path"].endswith("/Sale.json"), e["path"])
            self.assertEqual(e["query"]["count"], ["1"])
            self.assertTrue(e["query"]["createTime"][0].startswith("><,"))
            self.assertNotIn("limit", e["query"])
        emu.change({"op": "upsert", "resource": "Sale", "record": {
            "saleID": "9001", "createTime": "2026-01-13T18:00:00+00:00",
            "completed": "true", "calcTotal": "5.00"}})
        r = subprocess.run(cmd, capture_output=True, text=True, env=env,
                           timeout=120)
        self.assertEqual(r.returncode, 1, r.stderr)
        day = {d["date"]: d for d in json.loads(r.stdout)["days"]}
        self.assertIn("pos 2 != store 1", day["2026-01-13"]["flagged"])


if __name__ == "__main__":
    unittest.main()
