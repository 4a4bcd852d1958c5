"""posfeed push: events and profiles delivered to Klaviyo exactly once,
end to end: the Lightspeed Retail emulator (or the file source) ->
posfeed -> the Klaviyo emulator (tests/emulators/klaviyo_emulator.py,
in-process). What arrives is checked against the source's data, not
against what posfeed renders."""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from serve_util import TOKEN, Server, html_validate
from shop import BIN, NOW, REPO, Shop
from test_lsr import Emulator, LsrShop

sys.path.insert(0, os.path.join(REPO, "tests", "emulators"))
import klaviyo_emulator  # noqa: E402

KEY = "pk_test_key"
SUBSCRIPTION_PATHS = ("/api/profile-subscription-bulk-create-jobs",
                      "/api/profile-subscription-bulk-delete-jobs",
                      "/api/lists/")
DATASET = os.path.join(REPO, "tests", "fixtures", "lsr", "dataset.json")


def push_section(k, **extra):
    keys = {"api_key": "env:KLAVIYO_KEY", "api_url": k.url,
            "since": "2 years"}
    if "api_key_file" in extra:
        del keys["api_key"]
    keys.update(extra)
    return "\n[push klaviyo]\n" + "".join(
        "%s = %s\n" % kv for kv in keys.items())


def klaviyo(tc, **kw):
    k = klaviyo_emulator.Klaviyo(key=KEY, timezone="UTC", **kw).start()
    tc.addCleanup(k.stop)
    return k


def env():
    e = dict(os.environ)
    e["POSFEED_NOW"] = NOW
    e["POSFEED_TEMPLATES"] = os.path.join(REPO, "templates")
    e["KLAVIYO_KEY"] = KEY
    e["LSR_SECRET"] = "s3cret"
    return e


def expected_from_lsr(dataset):
    """The events and profiles the LSR dataset calls for, from the
    source's own records: a completed, unvoided sale of a customer with
    an email is a Placed Order worth calcTotal, a negative one a Refunded
    Order worth -calcTotal; a sale whose ShipTo is shipped is a Shipped
    Order."""
    emails = {}
    for c in dataset["Customer"]:
        mails = c.get("Contact", {}).get("Emails", [])
        primary = [m["address"] for m in mails if m["useType"] == "Primary"]
        if primary:
            emails[c["customerID"]] = primary[0]
    events = {}
    for s in dataset["Sale"]:
        if not s.get("completed") or s.get("voided"):
            continue
        email = emails.get(s.get("customerID"))
        total = float(s["calcTotal"])
        if email is None or total == 0:
            continue
        sid = s["saleID"]
        if total > 0:
            events["placed-order:%d" % sid] = ("Placed Order", total, email)
        else:
            events["refunded-order:%d" % sid] = ("Refunded Order", -total,
                                                 email)
        for st in dataset.get("ShipTo", []):
            if st["saleID"] == sid and st.get("shipped"):
                events["shipped-order:%d" % sid] = ("Shipped Order", total,
                                                    email)
    return events, {e.lower() for e in emails.values()}


class PushLsrShop(LsrShop):
    def __init__(self, tc, emu, k, **push):
        super().__init__(tc, emu)
        with open(os.path.join(self.dir, "posfeed.conf"), "a") as f:
            f.write(push_section(k, **push))

    def posfeed(self, *args, expect=0, timeout=120):
        r = subprocess.run([BIN, "-c", os.path.join(self.dir, "posfeed.conf")]
                           + list(args), capture_output=True, text=True,
                           env=env(), timeout=timeout)
        if expect is not None and r.returncode != expect:
            self.tc.fail("%s exited %d, expected %d\nstdout:\n%s\nstderr:\n"
                         "%s" % (" ".join(args), r.returncode, expect,
                                 r.stdout, r.stderr))
        return r


class PushShop(Shop):
    """A file-source shop with a [push klaviyo] section."""

    def __init__(self, tc, k, **push):
        super().__init__(tc)
        self.k = k
        self.push = push
        self.sync["include_customers"] = "yes"
        self.sync["collect_emails"] = "yes"

    def config_text(self):
        return super().config_text() + push_section(self.k, **self.push)

    def posfeed(self, *args, **kw):
        e = dict(kw.pop("env", None) or {})
        e["KLAVIYO_KEY"] = KEY
        return super().posfeed(*args, env=e, **kw)

    def status(self):
        r = self.posfeed("status", "--json")
        return json.loads(r.stdout)["push"]["klaviyo"]

    def ledger(self, state=None):
        q = "SELECT id, state, reason FROM push_items"
        rows = self.db().execute(q).fetchall()
        return {r[0]: (r[1], r[2]) for r in rows
                if state is None or r[1] == state}


def never_subscribed(tc, k, lists=frozenset()):
    """Nobody subscribed; only the lists given; no subscription or list
    endpoint ever called."""
    for email, p in k.profiles.items():
        tc.assertEqual(p["subscriptions"], {}, email)
        tc.assertEqual(set(p["lists"]), set(lists), email)
    for r in k.requests:
        tc.assertFalse(r["path"].startswith(SUBSCRIPTION_PATHS), r)


def events_by_uid(k):
    return {e["unique_id"]: e for e in k.events}


class PushLsrTest(unittest.TestCase):
    def test_every_event_once_then_later_refund_and_shipment(self):
        with open(DATASET) as f:
            dataset = json.load(f)
        want, want_profiles = expected_from_lsr(dataset)
        emu = Emulator(self)
        k = klaviyo(self)
        shop = PushLsrShop(self, emu, k)
        out = shop.posfeed("run").stdout
        self.assertIn("push klaviyo:", out)
        got = events_by_uid(k)
        main = {u: e for u, e in got.items()
                if e["metric"] != "Ordered Product"}
        self.assertEqual(sorted(main), sorted(want))
        for uid, (metric, value, email) in want.items():
            e = got[uid]
            self.assertEqual(e["metric"], metric, uid)
            self.assertAlmostEqual(e["value"], value, 2, uid)
            self.assertEqual(e["value_currency"], "EUR", uid)
            self.assertEqual(e["profile"]["email"], email, uid)
            self.assertTrue(e["time"].endswith("Z"), e["time"])
        # One Ordered Product per purchased line of a placed sale (a
        # note or service line is a line too).
        lines = [(s["saleID"], ln) for s in dataset["Sale"]
                 if "placed-order:%d" % s["saleID"] in want
                 for ln in s["SaleLines"] if ln["unitQuantity"] > 0]
        ordered = [e for e in k.events if e["metric"] == "Ordered Product"]
        self.assertEqual(len(ordered), len(lines))
        self.assertEqual(k.duplicates, 0)
        self.assertEqual(len(k.received), len(k.events))
        for sale in dataset["Sale"]:
            uid = "placed-order:%d" % sale["saleID"]
            if uid not in want:
                continue
            props = got[uid]["properties"]
            self.assertEqual(props["OrderId"], str(sale["saleID"]))
            self.assertEqual(len(props["Items"]), len(
                [ln for ln in sale["SaleLines"] if ln["unitQuantity"] > 0]))
        k.settle()
        self.assertEqual(set(k.profiles), want_profiles)
        for c in dataset["Customer"]:
            mails = [m["address"] for m in c["Contact"]["Emails"]
                     if m["useType"] == "Primary"]
            a = k.profiles[mails[0].lower()]["attributes"]
            self.assertEqual(a["external_id"], str(c["customerID"]))
            self.assertEqual(a["first_name"], c["firstName"])
            self.assertEqual(a["last_name"], c["lastName"])
            phones = c["Contact"].get("Phones", [])
            if phones:      # E.164: digits and the leading +
                self.assertEqual(a["phone_number"], "+" + "".join(
                    ch for ch in phones[0]["number"] if ch.isdigit()))
        never_subscribed(self, k)
        # Items, properties: the first sale's discount code, as the POS
        # has it.
        self.assertEqual(got["placed-order:1"]["properties"]
                         ["DiscountCodes"], ["BELT5"])

        # Later: a refund and a shipment arrive as new events; nothing
        # sent before is sent again.
        sent_before = len(k.received)
        change = [
            {"op": "upsert", "resource": "Sale", "record": {
                "saleID": 6, "completed": True, "voided": False,
                "createTime": "2026-01-21T10:00:00+00:00",
                "customerID": 2, "shopID": 2, "calcTotal": "-19.95",
                "SaleLines": [{"saleLineID": 61, "itemID": 2,
                               "unitQuantity": -1, "unitPrice": "19.95",
                               "parentSaleLineID": 21}]}},
            {"op": "upsert", "resource": "ShipTo",
             "record": {"shipToID": 1, "saleID": 2, "shipped": True}}]
        emu.change(*change)
        for op in change:
            rec = op["record"]
            if op["resource"] == "Sale":
                dataset["Sale"].append(rec)
            else:
                dataset["ShipTo"] = [rec]
        want2, _ = expected_from_lsr(dataset)
        self.assertEqual(set(want2) - set(want),
                         {"refunded-order:6", "shipped-order:2"})
        shop.posfeed("run")
        got = events_by_uid(k)
        self.assertTrue(set(want2) <= set(got))
        self.assertEqual(len(k.received) - sent_before, 2)
        self.assertEqual(k.duplicates, 0)
        self.assertAlmostEqual(got["refunded-order:6"]["value"], 19.95, 2)
        # A third push has nothing to send.
        n = len(k.requests)
        shop.posfeed("push")
        self.assertEqual([r["path"] for r in k.requests[n:]
                          if r["method"] == "POST"], [])


class PushFileTest(unittest.TestCase):
    def shop(self, k, **push):
        s = PushShop(self, k, **push)
        s.add_product("p1", price="20.00")
        s.add("customers", id="c1", email="Ann@Example.com",
              first_name="Ann", phone="+31 6 1234 5678", consent=True)
        s.add("customers", id="c2", email="bob@example.com",
              first_name="Bob", phone="12345")
        s.add("customers", id="c3", first_name="Nomail")
        s.add_order("o1", [{"product_id": "p1", "variant_id": "p1-v",
                            "name": "P1", "unit_price": "20.00"}],
                    customer_id="c1", email="Ann@Example.com",
                    currency="EUR", total="20.00")
        s.add_order("o2", [{"product_id": "p1", "variant_id": "p1-v",
                            "name": "P1", "unit_price": "20.00"}],
                    customer_id="c3", currency="EUR", total="20.00")
        s.add_order("o3", [{"product_id": "p1", "variant_id": "p1-v",
                            "name": "P1", "unit_price": "0.00"}],
                    customer_id="c2", email="bob@example.com",
                    currency="EUR", total="0.00")
        return s

    def test_skips_counted_and_profiles_without_consent(self):
        k = klaviyo(self)
        s = self.shop(k)
        s.run()
        got = events_by_uid(k)
        self.assertEqual(sorted(got), ["ordered-product:o1-l0",
                                       "placed-order:o1"])
        st = s.status()
        self.assertEqual(st["metrics"]["Placed Order"]["sent"], 1)
        self.assertEqual(st["metrics"]["Placed Order"]["skipped"],
                         {"no email": 1, "order worth 0": 1})
        self.assertEqual(st["metrics"]["profile"]["skipped"],
                         {"phone dropped: not E.164": 1})
        self.assertIn("last_push", st)
        k.settle()
        self.assertEqual(sorted(k.profiles), ["ann@example.com",
                                              "bob@example.com"])
        ann = k.profiles["ann@example.com"]["attributes"]
        self.assertEqual(ann["phone_number"], "+31612345678")
        self.assertEqual(ann["external_id"], "c1")
        # consent only ever as a property
        self.assertEqual(ann["properties"]["consent"], True)
        self.assertNotIn("phone_number",
                         k.profiles["bob@example.com"]["attributes"])
        never_subscribed(self, k)
        text = s.posfeed("status").stdout
        self.assertIn("push klaviyo:", text)
        self.assertIn("skipped, order worth 0: 1", text)

    def test_list_membership_only_with_list(self):
        k = klaviyo(self)
        s = self.shop(k, list="LiSt01")
        s.run()
        k.settle()
        self.assertEqual(len(k.profiles), 2)
        never_subscribed(self, k, lists={"LiSt01"})
        body_lists = [r for r in k.requests
                      if r["path"].startswith("/api/lists/")]
        self.assertEqual(body_lists, [])

    def test_no_sms_source_sends_no_phone(self):
        k = klaviyo(self)
        s = self.shop(k)
        s.write_data()
        s.write_config()
        s.posfeed("sync")
        con = s.db()
        self.assertEqual(con.execute(
            "SELECT bookmark FROM sync_state WHERE stream = "
            "'source.no_sms'").fetchone(), ("0",))
        # As source_sync() records it for a source that forbids texting.
        con.execute("UPDATE sync_state SET bookmark = '1' WHERE stream = "
                    "'source.no_sms'")
        con.commit()
        s.posfeed("push")
        k.settle()
        self.assertNotIn("phone_number",
                         k.profiles["ann@example.com"]["attributes"])
        self.assertEqual(s.status()["metrics"]["profile"]["skipped"]
                         ["phone dropped: source forbids SMS"], 1)

    def test_refused_item_failed_until_its_data_changes(self):
        k = klaviyo(self)
        s = self.shop(k)
        s.add("customers", id="c4", email="cy@example.com")
        s.add_order("o4", [{"product_id": "p1", "variant_id": "p1-v",
                            "name": "P1"}], customer_id="c4",
                    email="cy@example.com", currency="QQQ", total="5.00")
        s.run()
        got = events_by_uid(k)
        self.assertIn("placed-order:o1", got)
        self.assertNotIn("placed-order:o4", got)
        led = s.ledger("failed")
        self.assertIn("placed-order:o4", led)
        self.assertIn("value_currency", led["placed-order:o4"][1])
        st = s.status()["metrics"]["Placed Order"]
        self.assertEqual(st["failed"], 1)
        self.assertTrue(st["reasons"][0].startswith("placed-order:o4: "))
        # Not retried while its data is the same ...
        n = len(k.requests)
        s.run()
        self.assertEqual([r for r in k.requests[n:]
                          if r["path"] == "/api/event-bulk-create-jobs"],
                         [])
        # ... and sent once it changed.
        s.rows["orders"][-1]["currency"] = "EUR"
        s.run()
        self.assertIn("placed-order:o4", events_by_uid(k))
        self.assertEqual(s.ledger("failed"), {})

    def test_refused_profile_fails_its_events_and_its_import(self):
        k = klaviyo(self)
        s = self.shop(k)
        s.add("customers", id="c5", email="bad@nodot")
        s.add_order("o5", [{"product_id": "p1", "variant_id": "p1-v",
                            "name": "P1"}], customer_id="c5",
                    email="bad@nodot", currency="EUR", total="5.00")
        s.run()
        # The 400 points at the events' profile: both of its events are
        # failed, the other profile's events are delivered.
        led = s.ledger("failed")
        self.assertEqual(sorted(led), ["bad@nodot", "ordered-product:o5-l0",
                                       "placed-order:o5"])
        self.assertIn("email", led["placed-order:o5"][1])
        # The import job's per-profile error fails that profile.
        self.assertIn("klaviyo import", led["bad@nodot"][1])
        self.assertIn("placed-order:o1", events_by_uid(k))
        k.settle()
        self.assertEqual(sorted(k.profiles), ["ann@example.com",
                                              "bob@example.com"])

    def test_deprecated_revision_is_a_status_warning(self):
        k = klaviyo(self)
        k.deprecated = {"2025-07-15": "2027-07-15"}
        s = self.shop(k, revision="2025-07-15")
        r = s.run()
        self.assertIn("placed-order:o1", events_by_uid(k))
        self.assertIn("deprecat", r.stderr)
        self.assertIn("deprecat", s.status()["warning"])
        self.assertIn("warning: klaviyo:", s.posfeed("status").stdout)

    def test_serve_sync_pushes_and_status_page_shows_it(self):
        k = klaviyo(self)
        s = self.shop(k)
        s.write_data()
        s.write_config(s.config_text() +
                       "\n[serve]\ntoken = env:POSFEED_TOKEN\n")
        srv = Server(s, env={"KLAVIYO_KEY": KEY})
        st, _, body = srv.sync()
        self.assertEqual(st, 202)
        run = srv.wait_run(json.loads(body)["run"])
        self.assertEqual(run["state"], "ok", srv.log())
        self.assertIn("placed-order:o1", events_by_uid(k))
        auth = {"Authorization": "Bearer " + TOKEN}
        doc = srv.json("/status.json", **auth)
        self.assertEqual(doc["push"]["klaviyo"]["metrics"]["Placed Order"]
                         ["sent"], 1)
        # Private: not without the token.
        self.assertNotIn("push", srv.json("/status.json"))
        st, _, page = srv.request("GET", "/", auth)
        self.assertIn(b"Klaviyo push", page)
        self.assertNotIn(KEY.encode(), page)
        self.assertEqual(srv.stop(), 0)
        cmd, _ = html_validate()
        if cmd is not None:
            with tempfile.NamedTemporaryFile("wb", suffix=".html") as f:
                f.write(page)
                f.flush()
                r = subprocess.run(cmd + [f.name], capture_output=True,
                                   text=True, timeout=120)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_events_picks_metrics(self):
        k = klaviyo(self)
        s = self.shop(k, events="placed", profiles="no")
        s.run()
        self.assertEqual(sorted(events_by_uid(k)), ["placed-order:o1"])
        self.assertEqual([r for r in k.requests
                          if "profile" in r["path"]], [])
        # Queued, then no longer wanted: not sent.
        k.fault("/api/event-bulk-create-jobs", "status", times=1,
                status=403)
        s.push = {"events": "placed, ordered"}
        s.run(expect=1)
        self.assertIn("ordered-product:o1-l0", s.ledger("pending"))
        s.push = {"events": "placed"}
        s.run()
        self.assertEqual(sorted(events_by_uid(k)), ["placed-order:o1"])
        self.assertEqual(s.ledger("pending"), {})

    def test_since_beyond_lookback_is_cut_with_a_note(self):
        k = klaviyo(self)
        s = self.shop(k, since="3 years")
        s.sync["orders_lookback"] = "1 year"
        s.write_data()
        s.write_config()
        r = s.posfeed("check")
        self.assertIn("since reaches further back than [sync] "
                      "orders_lookback", r.stderr)

    def test_job_klaviyo_forgot_is_closed(self):
        k = klaviyo(self)
        s = self.shop(k)
        s.run()
        con = s.db()
        con.execute("INSERT INTO push_jobs VALUES ('klaviyo', 'NOPE', 1)")
        con.commit()
        r = s.posfeed("push")
        self.assertIn("no longer knows import job NOPE", r.stderr)
        self.assertEqual(con.execute("SELECT count(*) FROM push_jobs")
                         .fetchone(), (0,))

    def test_batches_stay_under_klaviyo_limits(self):
        k = klaviyo(self, scale_windows=0.05)
        s = self.shop(k, profiles="no")
        for i in range(400):
            s.add_order("b%d" % i, [{"product_id": "p1",
                                     "variant_id": "p1-v",
                                     "name": "%d %s" % (i, "x" * 6000)}],
                        customer_id="c1", email="ann@example.com",
                        currency="EUR", total="10.00")
        s.run()
        got = events_by_uid(k)
        self.assertTrue({"placed-order:b%d" % i for i in range(400)} <=
                        set(got))
        posts = [r for r in k.requests
                 if r["path"] == "/api/event-bulk-create-jobs"]
        self.assertTrue(all(r["status"] == 202 for r in posts), posts)
        self.assertTrue(all(r["bytes"] <= 5 * 1000 * 1000 for r in posts))
        self.assertTrue(all(r["items"] <= 1000 for r in posts))
        # ~7.5 MB of events: more than one request, not many more than
        # the minimum
        total = sum(r["bytes"] for r in posts)
        self.assertGreaterEqual(len(posts), 2)
        self.assertLessEqual(len(posts), total // (4 * 1000 * 1000) + 2)

    def test_shared_email_is_one_profile_sent_once(self):
        k = klaviyo(self)
        s = self.shop(k)
        s.add("customers", id="c9", email="ANN@example.com",
              first_name="Ann's partner")
        s.run()
        self.assertEqual(s.status()["metrics"]["profile"]["skipped"]
                         ["email of another customer"], 1)
        n = len(k.requests)
        s.run()
        self.assertEqual([r["path"] for r in k.requests[n:]
                          if r["method"] == "POST"], [])

    def test_since_bounds_the_first_push(self):
        k = klaviyo(self)
        s = self.shop(k, since="5 days")
        s.run()
        self.assertEqual(k.events, [])
        self.assertEqual(s.status()["metrics"]["Placed Order"]["skipped"]
                         ["before since"], 1)

    def test_faults_recovered(self):
        k = klaviyo(self)
        s = self.shop(k)
        for i in range(30):
            s.add_order("f%d" % i, [{"product_id": "p1",
                                     "variant_id": "p1-v", "name": "P1"}],
                        customer_id="c1", email="ann@example.com",
                        currency="EUR", total="10.00",
                        created_at="2026-11-0%dT10:00:00Z" % (i % 9 + 1))
        ev = "/api/event-bulk-create-jobs"
        k.fault(ev, "status", times=2, status=503)
        k.fault(ev, "hang", times=1, seconds=1)
        k.fault(ev, "429", times=3, seconds=1)
        k.fault(ev, "truncate", times=1)
        s.run()
        want = {"placed-order:o1"} | {"placed-order:f%d" % i
                                      for i in range(30)}
        got = events_by_uid(k)
        self.assertTrue(want <= set(got))
        self.assertEqual(len(got), len(k.events))
        self.assertEqual(s.ledger("pending"), {})
        # the truncated answer made the client send its batch again,
        # which Klaviyo deduplicated: at most one batch
        self.assertLessEqual(k.duplicates, len(got))

    def test_failure_stops_and_leaves_items_pending(self):
        k = klaviyo(self)
        s = self.shop(k)
        k.fault("/api/event-bulk-create-jobs", "status", times=1,
                status=403)
        r = s.run(expect=1)
        self.assertIn("403", r.stderr)
        self.assertNotIn(KEY, r.stderr + r.stdout)
        self.assertIn("placed-order:o1", s.ledger("pending"))
        self.assertEqual(k.events, [])
        self.assertIn("403", s.status()["error"])
        s.posfeed("push")
        self.assertIn("placed-order:o1", events_by_uid(k))
        self.assertEqual(s.ledger("pending"), {})

    def test_kill_9_loses_nothing_resends_at_most_a_batch(self):
        k = klaviyo(self, scale_windows=0.05)
        s = self.shop(k)
        n_orders = 1600
        for i in range(n_orders):
            s.add_order("k%d" % i, [{"product_id": "p1",
                                     "variant_id": "p1-v", "name": "P1"}],
                        customer_id="c1", email="ann@example.com",
                        currency="EUR", total="10.00",
                        created_at="2026-11-%02dT10:00:00Z" % (i % 19 + 1))
        s.write_data()
        s.write_config()
        s.posfeed("sync")
        rng = random.Random(11)
        kills = 0
        cmd = [BIN, "-c", os.path.join(s.dir, "posfeed.conf"), "-q", "push"]
        e = env()
        while kills < 20:
            p = subprocess.Popen(cmd, env=e, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.0, 0.6))
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                kills += 1
            p.wait()
            if p.returncode == 0 and kills < 20:
                # everything went: queue more so there is work to kill
                for j in range(200):
                    s.add_order("m%d-%d" % (kills, j), [{
                        "product_id": "p1", "variant_id": "p1-v",
                        "name": "P1"}], customer_id="c1",
                        email="ann@example.com", currency="EUR",
                        total="10.00", created_at="2026-11-10T10:00:00Z")
                s.write_data()
                s.posfeed("sync")
        s.posfeed("push")
        orders = [o["id"] for o in s.rows["orders"]
                  if o.get("email") and float(o["total"]) > 0
                  and o["currency"] == "EUR"]
        want = {"placed-order:" + o for o in orders}
        want |= {"ordered-product:%s-l0" % o for o in orders}
        got = events_by_uid(k)
        self.assertEqual(want - set(got), set())
        self.assertEqual(len(got), len(want))
        resent = len(k.received) - len(got)
        self.assertEqual(resent, k.duplicates)
        self.assertLessEqual(resent, kills * 1000)
        self.assertEqual(s.ledger("pending"), {})


class PushConfigTest(unittest.TestCase):
    def check(self, extra, expect=2, **push):
        k = klaviyo(self)
        s = PushShop(self, k, **push)
        s.write_data()
        s.write_config(s.config_text() + extra)
        return s, s.posfeed("check", expect=expect)

    def test_errors_name_file_and_line(self):
        s, r = self.check("evnts = placed\n")
        self.assertRegex(r.stderr, r"posfeed.conf:\d+: unknown key 'evnts' "
                         r"in \[push klaviyo\]; did you mean 'events'\?")
        s, r = self.check("", since="forever")
        self.assertRegex(r.stderr, r"posfeed.conf:\d+: since: expected")
        s, r = self.check("events_feed = nope\n")
        self.assertRegex(r.stderr, r"posfeed.conf:\d+: events_feed: no "
                         r"\[feed nope\]")
        s, r = self.check("events = placed, bought\n")
        self.assertRegex(r.stderr, r"posfeed.conf:\d+: events: expected")

    def test_key_from_file_checked_never_shown(self):
        k = klaviyo(self)
        s = PushShop(self, k, api_key_file="klaviyo_key")
        s.write_data()
        s.write_config()
        r = s.posfeed("check", expect=2)
        self.assertIn("klaviyo_key", r.stderr)
        with open(os.path.join(s.dir, "klaviyo_key"), "w") as f:
            f.write(KEY + "\n")
        r = s.posfeed("check")
        self.assertNotIn(KEY, r.stdout + r.stderr)
        s.posfeed("run")

    def test_starter_section_loads_uncommented(self):
        d = tempfile.mkdtemp(prefix="posfeed-push-init-")
        self.addCleanup(shutil.rmtree, d, True)
        subprocess.run([BIN, "init", d], check=True, capture_output=True,
                       env=env())
        path = os.path.join(d, "posfeed.conf")
        with open(path) as f:
            text = f.read()
        head, push = text.split("# [push klaviyo]\n")
        lines = ["[push klaviyo]"] + [
            ln[2:] for ln in push.splitlines()
            if re.match(r"^# \w+ =", ln)]
        self.assertIn("api_key_file = secrets/klaviyo_key", lines)
        with open(path, "w") as f:
            f.write(head + "\n".join(lines) + "\n")
        os.makedirs(os.path.join(d, "secrets"))
        with open(os.path.join(d, "secrets", "klaviyo_key"), "w") as f:
            f.write(KEY + "\n")
        r = subprocess.run([BIN, "-c", path, "check"], capture_output=True,
                           text=True, env=env())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(KEY, r.stderr + r.stdout)

    def test_push_without_section_is_a_config_error(self):
        s = Shop(self)
        s.write_data()
        s.write_config()
        r = s.posfeed("push", expect=2)
        self.assertIn("[push klaviyo]", r.stderr)

    def test_events_feed_must_render_events(self):
        k = klaviyo(self)
        s = PushShop(self, k, events_feed="clerk")
        s.write_data()
        s.write_config()
        r = s.posfeed("check", expect=2)
        self.assertIn("events_feed", r.stderr)


if __name__ == "__main__":
    unittest.main()
