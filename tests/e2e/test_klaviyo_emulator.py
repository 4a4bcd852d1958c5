"""The Klaviyo emulator (tests/emulators/klaviyo_emulator.py) keeps the
contract its docstring states: posfeed's push and verify are tested
against it, so a lenient or wrong emulator would let a wrong client pass.

Standard library only; runs without POSFEED_BIN:
    python3 -m unittest tests/e2e/test_klaviyo_emulator.py
"""
import copy
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
EMU_DIR = os.path.join(os.path.dirname(HERE), "emulators")
sys.path.insert(0, EMU_DIR)

import klaviyo_emulator  # noqa: E402

KEY = "pk_test_key"
REV = "2026-10-15"
EVENTS = "/api/event-bulk-create-jobs"
IMPORT = "/api/profile-bulk-import-jobs"
EV0 = ("/data/attributes/events-bulk-create/data/0/attributes/events/"
       "data/0/attributes")
EV1 = EV0[:-len("0/attributes")] + "1/attributes"


class Answer:
    def __init__(self, status, headers, raw):
        self.status, self.headers, self.raw = status, headers, raw

    @property
    def json(self):
        return json.loads(self.raw)

    @property
    def error(self):
        return self.json["errors"][0]

    @property
    def pointer(self):
        return self.error["source"].get("pointer")


def event(uid, name="Placed Order", time_="2026-11-02T10:00:00Z",
          value=12.5, currency="EUR", props=None):
    a = {"metric": {"data": {"type": "metric",
                             "attributes": {"name": name}}},
         "properties": {"OrderId": uid} if props is None else props,
         "time": time_, "value": value, "value_currency": currency,
         "unique_id": uid}
    return {"type": "event", "attributes": a}


def entry(events, email="Ann@Example.com", **attrs):
    p = dict({"email": email}, **attrs)
    return {"type": "event-bulk-create", "attributes": {
        "profile": {"data": {"type": "profile", "attributes": p}},
        "events": {"data": events}}}


def bulk(*entries):
    return {"data": {"type": "event-bulk-create-job", "attributes": {
        "events-bulk-create": {"data": list(entries)}}}}


def profiles(*attrs, lists=None):
    d = {"data": {"type": "profile-bulk-import-job", "attributes": {
        "profiles": {"data": [{"type": "profile", "attributes": a}
                              for a in attrs]}}}}
    if lists is not None:
        d["data"]["relationships"] = {"lists": {"data": [
            {"type": "list", "id": i} for i in lists]}}
    return d


class EmuCase(unittest.TestCase):
    scale = 1.0
    # Rule tests send faster than the documented limits allow; the
    # limiter has its own tests (RateLimits, SteadyWindow).
    unlimited = True

    def setUp(self):
        self.k = klaviyo_emulator.Klaviyo(key=KEY, timezone="UTC",
                                          scale_windows=self.scale).start()
        self.addCleanup(self.k.stop)
        if self.unlimited:
            for op in self.k.limits:
                self.k.limits[op] = (10 ** 6, 10 ** 6)

    def call(self, method, path, body=None, key=KEY, rev=REV,
             ctype="application/vnd.api+json", raw=None, timeout=10):
        data = raw if raw is not None else \
            None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.k.url + path, data=data,
                                     method=method)
        if key is not None:
            req.add_header("Authorization", "Klaviyo-API-Key " + key)
        if rev is not None:
            req.add_header("revision", rev)
        if data is not None:
            req.add_header("Content-Type", ctype)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return Answer(r.status, r.headers, r.read())
        except urllib.error.HTTPError as e:
            return Answer(e.code, e.headers, e.read())

    def post(self, path, body, **kw):
        return self.call("POST", path, body, **kw)

    def rejects(self, body, pointer, path=EVENTS, status=400):
        """body is refused with status and pointer; nothing stored."""
        before = (len(self.k.received), len(self.k.jobs))
        a = self.post(path, body)
        self.assertEqual(a.status, status, a.raw)
        self.assertEqual(a.pointer, pointer, a.raw)
        for f in ("id", "status", "code", "title", "detail"):
            self.assertIn(f, a.error)
        self.assertEqual(a.error["status"], status)
        self.assertEqual((len(self.k.received), len(self.k.jobs)), before)
        return a


class AuthRevision(EmuCase):
    def test_missing_and_wrong_key(self):
        a = self.call("GET", "/api/accounts", key=None)
        self.assertEqual(a.status, 401)
        self.assertEqual(a.error["code"], "not_authenticated")
        self.assertNotIn("RateLimit-Limit", a.headers)
        a = self.call("GET", "/api/accounts", key="pk_wrong")
        self.assertEqual(a.status, 401)
        self.assertEqual(a.error["code"], "authentication_failed")
        # A Bearer token is not Klaviyo's scheme.
        req = urllib.request.Request(self.k.url + "/api/accounts")
        req.add_header("Authorization", "Bearer " + KEY)
        req.add_header("revision", REV)
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(req, timeout=5)
        self.assertEqual(cm.exception.code, 401)
        self.assertEqual(self.call("GET", "/api/accounts").status, 200)

    def test_revision_required_known_not_retired(self):
        a = self.call("GET", "/api/metrics", rev=None)
        self.assertEqual((a.status, a.error["code"]),
                         (400, "missing_revision"))
        a = self.call("GET", "/api/metrics", rev="2026-10-16")
        self.assertEqual((a.status, a.error["code"]),
                         (400, "invalid_revision"))
        self.assertEqual(self.call("GET", "/api/metrics",
                                   rev="2023-12-15").status, 410)
        self.assertEqual(self.call("GET", "/api/metrics",
                                   rev="2026-10-15.pre").status, 200)
        self.assertEqual(self.k.requests[-1]["revision"], "2026-10-15.pre")

    def test_deprecation_headers(self):
        a = self.call("GET", "/api/metrics", rev="2026-10-15")
        self.assertNotIn("Deprecation", a.headers)
        self.assertNotIn("Sunset", a.headers)
        a = self.call("GET", "/api/metrics", rev="2025-01-15")
        self.assertEqual(a.status, 200)
        self.assertEqual(a.headers["Sunset"],
                         "Fri, 15 Jan 2027 00:00:00 GMT")
        self.assertEqual(a.headers["Deprecation"], "@1768435200")  # 2026-01-15
        self.assertIn('rel="deprecation"', a.headers["Link"])
        self.k.deprecated = {"2026-07-15": "2028-07-15"}
        a = self.call("GET", "/api/metrics", rev="2026-07-15")
        self.assertEqual(a.headers["Sunset"],
                         "Sat, 15 Jul 2028 00:00:00 GMT")
        a = self.call("GET", "/api/metrics", rev="2025-01-15")
        self.assertNotIn("Sunset", a.headers)

    def test_unknown_path_and_method(self):
        self.assertEqual(self.call("GET", "/api/nothing").status, 404)
        a = self.call("GET", EVENTS)
        self.assertEqual(a.status, 405)
        self.assertIn("errors", a.json)


class BulkEvents(EmuCase):
    def test_accepts_and_stores(self):
        body = bulk(entry([event("o1"), event("o2", value=3)]),
                    entry([event("o3")], email="bob@example.com",
                          first_name="Bob"))
        a = self.post(EVENTS, body)
        self.assertEqual((a.status, a.raw), (202, b""))
        self.assertEqual([e["unique_id"] for e in self.k.events],
                         ["o1", "o2", "o3"])
        e = self.k.events[0]
        for f in ("id", "metric", "unique_id", "time", "value",
                  "value_currency", "properties", "profile",
                  "received_at"):
            self.assertIn(f, e)
        self.assertEqual((e["metric"], e["time"], e["value"],
                          e["value_currency"]),
                         ("Placed Order", "2026-11-02T10:00:00Z", 12.5,
                          "EUR"))
        self.assertEqual(e["profile"], {"email": "Ann@Example.com"})
        self.assertEqual(self.k.profiles["bob@example.com"]["attributes"],
                         {"email": "bob@example.com", "first_name": "Bob"})
        self.assertEqual(self.k.profiles["ann@example.com"]["lists"], set())
        r = self.k.requests[-1]
        self.assertEqual((r["method"], r["path"], r["status"], r["items"],
                          r["revision"]), ("POST", EVENTS, 202, 3, REV))
        self.assertEqual(r["bytes"], len(json.dumps(body).encode()))
        self.assertEqual(self.call("GET", "/api/metrics").json["data"][0]
                         ["attributes"]["name"], "Placed Order")

    def test_dedup_across_requests_first_kept(self):
        self.assertEqual(self.post(EVENTS, bulk(entry(
            [event("o1", value=1)]))).status, 202)
        self.assertEqual(self.post(EVENTS, bulk(entry(
            [event("o1", value=2), event("o2")]))).status, 202)
        self.assertEqual([(e["unique_id"], e["value"])
                          for e in self.k.events],
                         [("o1", 1), ("o2", 12.5)])
        self.assertEqual((len(self.k.received), self.k.duplicates), (3, 1))
        # Dedup is per profile and metric: the same id as a refund stays.
        self.post(EVENTS, bulk(entry([event("o1", name="Refunded Order")])))
        self.assertEqual(len(self.k.events), 3)

    def test_repeat_in_one_request_rejects_all(self):
        self.rejects(bulk(entry([event("o1"), event("o1")])),
                     EV1 + "/unique_id")
        self.assertEqual(self.k.events, [])
        # The same id for another profile is no repeat.
        a = self.post(EVENTS, bulk(entry([event("o1")]),
                                   entry([event("o1")], email="b@x.io")))
        self.assertEqual(a.status, 202)

    def test_profile_rules(self):
        pp = "/data/attributes/events-bulk-create/data/0/attributes/" \
             "profile/data/attributes"
        self.rejects(bulk(entry([event("o1")], email=None)), pp)
        self.rejects(bulk(entry([event("o1")], email="not-an-email")),
                     pp + "/email")
        self.rejects(bulk(entry([event("o1")], phone_number="0612345678")),
                     pp + "/phone_number")
        self.rejects(bulk(entry([event("o1")], nickname="x")),
                     pp + "/nickname")
        self.rejects(bulk(entry([event("o1")], first_name=3)),
                     pp + "/first_name")
        self.rejects(bulk(entry([event("o1")], location={"city": 3})),
                     pp + "/location/city")
        ok = entry([event("o1")], email=None, phone_number="+31612345678",
                   external_id="c-9")
        self.assertEqual(self.post(EVENTS, bulk(ok)).status, 202)
        self.assertIn("phone:+31612345678", self.k.profiles)

    def test_event_rules(self):
        cases = [
            (dict(time_="02/11/2026"), "/time"),
            (dict(time_="1989-12-31T23:59:59Z"), "/time"),
            (dict(time_="2099-01-01T00:00:00Z"), "/time"),
            (dict(value="12.50"), "/value"),
            (dict(value=True), "/value"),
            (dict(currency="EURO"), "/value_currency"),
            (dict(currency="eur"), "/value_currency"),
            (dict(name=""), "/metric/data/attributes/name"),
            (dict(name="x" * 128), "/metric/data/attributes/name"),
            (dict(props=[1]), "/properties"),
            (dict(props={"k%d" % i: i for i in range(401)}), "/properties"),
            (dict(props={"big": "x" * (100 * 1024 + 1)}),
             "/properties/big"),
            (dict(props={"a": [0] * 4001}), "/properties/a"),
        ]
        for kw, ptr in cases:
            with self.subTest(kw=str(kw)[:60]):
                self.rejects(bulk(entry([event("o1", **kw)])), EV0 + ptr)
        ev = event("o1")
        del ev["attributes"]["properties"]
        self.rejects(bulk(entry([ev])), EV0 + "/properties")
        ev = event("o1")
        ev["attributes"]["colour"] = "red"
        self.rejects(bulk(entry([ev])), EV0 + "/colour")
        ev = event("o1")
        ev["type"] = "events"
        self.rejects(bulk(entry([ev])), EV0[:-len("/attributes")] + "/type")
        def nest(n):
            return {"n": nest(n - 1)} if n else {}
        # A value 11 objects below properties is too deep; 10 is not.
        self.rejects(bulk(entry([event("o1", props=nest(11))])),
                     EV0 + "/properties" + "/n" * 11)
        self.assertEqual(self.post(EVENTS, bulk(entry(
            [event("deep", props=nest(10))]))).status, 202)
        # Accepted edge cases: an offset time, no time, integer value.
        ok = [event("a", time_="2026-11-02T10:00:00+01:00"),
              event("b", time_=None, value=7, currency=None)]
        self.assertEqual(self.post(EVENTS, bulk(entry(ok))).status, 202)
        self.assertRegex(self.k.events[-1]["time"], r"^\d{4}-.*\+00:00$")

    def test_size_limits(self):
        evs = [event("o%d" % i) for i in range(1000)]
        self.assertEqual(self.post(EVENTS, bulk(entry(evs[:600]),
                                               entry(evs[600:]))).status,
                         202)
        more = [event("p%d" % i) for i in range(1001)]
        self.rejects(bulk(entry(more[:600]), entry(more[600:])),
                     "/data/attributes/events-bulk-create/data/1/"
                     "attributes/events/data/400")
        big = [event("q%d" % i, props={"s": "x" * 90000})
               for i in range(60)]
        a = self.rejects(bulk(entry(big)), None, status=413)
        self.assertEqual(a.error["code"], "request_too_large")

    def test_body_must_be_json_api(self):
        a = self.post(EVENTS, None, raw=b"{not json")
        self.assertEqual((a.status, a.error["code"], a.pointer),
                         (400, "parse_error", "/data"))
        a = self.post(EVENTS, bulk(entry([event("o1")])),
                      ctype="text/plain")
        self.assertEqual(a.status, 415)
        self.rejects({"data": {"type": "event-bulk-create-job"}},
                     "/data/attributes")
        self.rejects({"data": {"type": "event", "attributes": {}}},
                     "/data/type")
        self.assertEqual(self.post(EVENTS, bulk(entry([event("o1")])),
                                   ctype="application/json").status, 202)

    def test_single_create_event(self):
        ev = event("s1")
        ev["attributes"]["profile"] = {"data": {
            "type": "profile", "attributes": {"email": "s@x.io"}}}
        self.assertEqual(self.post("/api/events", {"data": ev}).status, 202)
        self.assertEqual(self.k.events[-1]["unique_id"], "s1")


class ProfileImport(EmuCase):
    def job_status(self, jid):
        a = self.call("GET", IMPORT + "/" + jid)
        self.assertEqual(a.status, 200)
        return a.json["data"]["attributes"]

    def test_job_lifecycle_and_errors(self):
        self.k.job_seconds = None
        body = profiles({"email": "A@x.io", "first_name": "A",
                         "external_id": "c1",
                         "location": {"city": "Gent", "zip": "9000"},
                         "properties": {"tier": "gold"}},
                        {"email": "broken"},
                        {"first_name": "nobody"},
                        {"email": "c@x.io", "phone_number": "12345"})
        a = self.post(IMPORT, body)
        self.assertEqual(a.status, 202)
        d = a.json["data"]
        self.assertEqual(d["type"], "profile-bulk-import-job")
        at = d["attributes"]
        self.assertEqual((at["status"], at["total_count"],
                          at["completed_count"], at["failed_count"]),
                         ("queued", 4, 0, 0))
        self.assertRegex(at["created_at"],
                         r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")
        self.assertIn("self", d["links"])
        self.assertEqual(self.k.profiles, {})    # not before completion
        self.assertEqual(self.call("GET", IMPORT + "/" + d["id"] +
                                   "/import-errors").json["data"], [])
        self.assertEqual(self.job_status(d["id"])["status"], "processing")
        at = self.job_status(d["id"])
        self.assertEqual((at["status"], at["completed_count"],
                          at["failed_count"]), ("complete", 1, 3))
        self.assertIsNotNone(at["completed_at"])
        self.assertEqual(self.k.profiles["a@x.io"]["attributes"]["location"],
                         {"city": "Gent", "zip": "9000"})
        self.assertEqual(self.k.profiles["a@x.io"]["lists"], set())
        self.assertEqual(self.k.profiles["a@x.io"]["subscriptions"], {})
        errs = self.call("GET", IMPORT + "/" + d["id"] +
                         "/import-errors").json["data"]
        pp = "/data/attributes/profiles/data/"
        self.assertEqual([e["attributes"]["source"]["pointer"]
                          for e in errs],
                         [pp + "1/attributes/email", pp + "2/attributes",
                          pp + "3/attributes/phone_number"])
        self.assertEqual(errs[0]["type"], "import-error")
        self.assertEqual(errs[0]["attributes"]["original_payload"],
                         {"email": "broken"})

    def test_error_paging(self):
        self.k.job_seconds = None
        self.k.job_polls = 1
        jid = self.post(IMPORT, profiles(*[{"email": "bad%d" % i}
                                           for i in range(5)])).json[
                                               "data"]["id"]
        self.assertEqual(self.job_status(jid)["status"], "complete")
        path = IMPORT + "/" + jid + "/import-errors?page[size]=2"
        seen = []
        while path:
            a = self.call("GET", path)
            self.assertEqual(a.status, 200)
            seen += [e["attributes"]["original_payload"]["email"]
                     for e in a.json["data"]]
            nxt = a.json["links"].get("next")
            path = nxt[len(self.k.url):] if nxt else None
        self.assertEqual(seen, ["bad%d" % i for i in range(5)])
        self.assertEqual(self.call("GET", IMPORT + "/" + jid +
                                   "/import-errors?page[size]=101").status,
                         400)

    def test_completes_after_a_delay(self):
        self.k.job_seconds = 0.2
        self.k.job_polls = 100
        jid = self.post(IMPORT, profiles({"email": "d@x.io"})).json[
            "data"]["id"]
        time.sleep(0.3)
        self.assertEqual(self.job_status(jid)["status"], "complete")
        self.assertIn("d@x.io", self.k.profiles)

    def test_lists_only_from_relationships(self):
        self.k.job_polls = 1
        j1 = self.post(IMPORT, profiles({"email": "e@x.io"})).json
        j2 = self.post(IMPORT, profiles({"email": "f@x.io"},
                                        lists=["L1"])).json
        self.assertEqual(j2["data"]["relationships"]["lists"]["data"],
                         [{"type": "list", "id": "L1"}])
        self.k.settle()
        self.assertEqual(self.k.jobs[j1["data"]["id"]]["status"],
                         "complete")
        self.assertEqual(self.k.profiles["e@x.io"]["lists"], set())
        self.assertEqual(self.k.profiles["f@x.io"]["lists"], {"L1"})
        self.k.lists = {"L1": "Customers"}
        a = self.rejects(profiles({"email": "g@x.io"}, lists=["L2"]),
                         "/data/relationships/lists/data/0/id",
                         path=IMPORT, status=404)
        self.assertEqual(a.error["code"], "not_found")

    def test_limits_and_shapes(self):
        pp = "/data/attributes/profiles/data"
        self.rejects(profiles(*[{"email": "u%d@x.io" % i}
                                for i in range(10001)]),
                     pp + "/10000", path=IMPORT)
        self.rejects(profiles({"email": "h@x.io",
                               "properties": {"p": "x" * 60000,
                                              "q": "y" * 60000}}),
                     pp + "/0", path=IMPORT)
        self.rejects(profiles({"email": "h@x.io", "age": 3}),
                     pp + "/0/attributes/age", path=IMPORT)
        self.rejects(profiles(), pp, path=IMPORT)
        self.assertEqual(self.call("GET", IMPORT + "/nope").status, 404)
        ok = profiles(*[{"email": "u%d@x.io" % i} for i in range(10000)])
        self.assertEqual(self.post(IMPORT, ok).status, 202)


class Reading(EmuCase):
    def metric_id(self, name="Placed Order"):
        for m in self.call("GET", "/api/metrics").json["data"]:
            if m["attributes"]["name"] == name:
                return m["id"]
        return None

    def aggregate(self, mid, ge, lt, tz="America/New_York",
                  interval="day", meas=("count",), **more):
        a = dict({"metric_id": mid, "measurements": list(meas),
                  "interval": interval, "timezone": tz,
                  "filter": ["greater-or-equal(datetime,%s)" % ge,
                             "less-than(datetime,%s)" % lt]}, **more)
        return self.post("/api/metric-aggregates", {"data": {
            "type": "metric-aggregate", "attributes": a}})

    def test_accounts_timezone(self):
        a = self.call("GET", "/api/accounts")
        acc = a.json["data"][0]
        self.assertEqual(acc["type"], "account")
        self.assertEqual(acc["attributes"]["timezone"], "UTC")
        self.k.timezone = "America/New_York"
        self.assertEqual(self.call("GET", "/api/accounts").json["data"][0]
                         ["attributes"]["timezone"], "America/New_York")

    def test_metrics(self):
        self.assertEqual(self.call("GET", "/api/metrics").json["data"], [])
        self.k.add_event("Placed Order", "2026-11-02T10:00:00Z", "o1",
                         "a@x.io")
        mid = self.metric_id()
        self.assertRegex(mid, r"^[A-Z2-7]{6}$")
        a = self.call("GET", '/api/metrics?filter=equals(integration.name,'
                      '"API")')
        self.assertEqual(len(a.json["data"]), 1)
        self.assertEqual(self.call("GET", "/api/metrics/" + mid).json
                         ["data"]["attributes"]["name"], "Placed Order")
        self.assertEqual(self.call("GET", "/api/metrics/zzz").status, 404)
        self.assertEqual(self.call("GET", "/api/metrics?filter=x").status,
                         400)

    def test_aggregate_days_in_timezone(self):
        # 2026-11-01 is the DST change in New York: the day has 25 hours.
        for uid, t, v in (("a", "2026-11-01T03:30:00Z", 5),   # 10-31 23:30
                          ("b", "2026-11-01T04:30:00Z", 7),   # 11-01 00:30
                          ("c", "2026-11-02T04:30:00Z", 1),   # 11-01 23:30
                          ("d", "2026-11-02T05:30:00Z", 2)):  # 11-02 00:30
            self.k.add_event("Placed Order", t, uid, "p@x.io", value=v)
        self.k.add_event("Placed Order", "2026-11-02T06:00:00Z", "e",
                         "q@x.io", value=4)
        self.k.add_event("Refunded Order", "2026-11-02T06:00:00Z", "a",
                         "p@x.io")
        mid = self.metric_id()
        a = self.aggregate(mid, "2026-10-31T00:00:00", "2026-11-03T00:00:00",
                           meas=("count", "sum_value", "unique"))
        self.assertEqual(a.status, 200, a.raw)
        at = a.json["data"]["attributes"]
        self.assertEqual(at["dates"], ["2026-10-31T00:00:00-04:00",
                                       "2026-11-01T00:00:00-04:00",
                                       "2026-11-02T00:00:00-05:00"])
        m = at["data"][0]["measurements"]
        self.assertEqual(m["count"], [1.0, 2.0, 2.0])
        self.assertEqual(m["sum_value"], [5.0, 8.0, 6.0])
        self.assertEqual(m["unique"], [1.0, 1.0, 2.0])
        # The same instants in UTC days.
        a = self.aggregate(mid, "2026-11-01T00:00:00Z",
                           "2026-11-03T00:00:00Z", tz="UTC")
        self.assertEqual(a.json["data"]["attributes"]["data"][0]
                         ["measurements"]["count"], [2.0, 3.0])
        a = self.aggregate(mid, "2026-11-02T00:00:00Z",
                           "2026-11-02T06:00:00Z", tz="UTC",
                           interval="hour")
        self.assertEqual(a.json["data"]["attributes"]["data"][0]
                         ["measurements"]["count"],
                         [0.0, 0.0, 0.0, 0.0, 1.0, 1.0])

    def test_aggregate_rules(self):
        self.k.add_event("Placed Order", "2026-11-02T10:00:00Z", "o1",
                         "a@x.io")
        mid = self.metric_id()
        ap = "/data/attributes"
        cases = [
            (dict(tz="Mars/Base"), ap + "/timezone"),
            (dict(meas=()), ap + "/measurements"),
            (dict(meas=("total",)), ap + "/measurements"),
            (dict(interval="year"), ap + "/interval"),
            (dict(ge="2026-11-05T00:00:00"), ap + "/filter"),
            (dict(ge="2025-01-01T00:00:00"), ap + "/filter"),
            (dict(by=["$flow"]), ap + "/by"),
        ]
        for kw, ptr in cases:
            with self.subTest(kw=kw):
                args = dict({"ge": "2026-11-01T00:00:00",
                             "lt": "2026-11-04T00:00:00"}, **kw)
                a = self.aggregate(mid, args.pop("ge"), args.pop("lt"),
                                   **args)
                self.assertEqual((a.status, a.pointer), (400, ptr), a.raw)
        a = self.post("/api/metric-aggregates", {"data": {
            "type": "metric-aggregate", "attributes": {
                "metric_id": mid, "measurements": ["count"],
                "filter": ["less-than(datetime,2026-11-04T00:00:00)"]}}})
        self.assertEqual((a.status, a.pointer), (400, ap + "/filter"))
        a = self.aggregate("NOPE12", "2026-11-01T00:00:00",
                           "2026-11-04T00:00:00")
        self.assertEqual(a.status, 404)


class NotForPosfeed(EmuCase):
    def test_subscriptions_and_lists_are_logged(self):
        body = {"data": {"type": "profile-subscription-bulk-create-job",
                         "attributes": {"profiles": {"data": [
                             {"type": "profile",
                              "attributes": {"email": "s@x.io"}}]}}}}
        self.assertEqual(self.post("/api/profile-subscription-bulk-create-"
                                   "jobs", body).status, 202)
        self.assertEqual(self.k.profiles["s@x.io"]["subscriptions"],
                         {"email": "SUBSCRIBED"})
        a = self.post("/api/lists/L9/relationships/profiles",
                      {"data": [{"type": "profile", "id": "s@x.io"}]})
        self.assertEqual(a.status, 204)
        self.assertEqual(self.k.profiles["s@x.io"]["lists"], {"L9"})
        ops = [r["op"] for r in self.k.requests]
        self.assertEqual(ops, ["bulk_subscribe_profiles",
                               "add_profiles_to_list"])
        self.assertTrue(all(r["path"].startswith(
            ("/api/profile-subscription", "/api/lists/"))
            for r in self.k.requests))


class RateLimits(EmuCase):
    scale = 3.0          # burst 3 s, steady 180 s: no timing races
    unlimited = False

    def test_burst_window(self):
        for i in range(10):
            a = self.call("GET", "/api/metrics")
            self.assertEqual(a.status, 200)
            self.assertEqual(a.headers["RateLimit-Limit"], "150")
            self.assertEqual(a.headers["RateLimit-Remaining"],
                             str(149 - i))
            self.assertIn(a.headers["RateLimit-Reset"], ("179", "180"))
        a = self.call("GET", "/api/metrics")
        self.assertEqual(a.status, 429)
        self.assertEqual(a.error["code"], "throttled")
        self.assertIn(a.headers["Retry-After"], ("1", "2", "3"))
        self.assertNotIn("RateLimit-Remaining", a.headers)
        # Windows are per endpoint; 429s are not counted.
        self.assertEqual(self.call("GET", IMPORT).status, 200)
        time.sleep(int(a.headers["Retry-After"]) + 0.05)
        a = self.call("GET", "/api/metrics")
        self.assertEqual(a.status, 200)
        self.assertEqual(a.headers["RateLimit-Remaining"], "139")
        self.assertEqual(sum(r["status"] == 429 for r in self.k.requests),
                         1)

    def test_documented_tiers(self):
        want = {"bulk_create_events": (10, 150),
                "bulk_import_profiles": (10, 150),
                "get_bulk_import_profiles_job": (10, 150),
                "get_errors_for_bulk_import_profiles_job": (10, 150),
                "get_accounts": (1, 15), "get_metrics": (10, 150),
                "query_metric_aggregates": (3, 60)}
        for op, lim in want.items():
            self.assertEqual(self.k.limits[op], lim)
        self.assertEqual(self.call("GET", "/api/accounts").status, 200)
        self.assertEqual(self.call("GET", "/api/accounts").status, 429)


class SteadyWindow(EmuCase):
    scale = 0.05         # burst 50 ms, steady 3 s
    unlimited = False

    def test_steady_window_refills(self):
        self.k.limits["get_metrics"] = (100, 3)
        for i in range(3):
            self.assertEqual(self.call("GET", "/api/metrics").status, 200)
        a = self.call("GET", "/api/metrics")
        self.assertEqual(a.status, 429)
        self.assertIn(a.headers["Retry-After"], ("1", "2", "3"))
        time.sleep(3.05)
        a = self.call("GET", "/api/metrics")
        self.assertEqual(a.status, 200)
        self.assertEqual(a.headers["RateLimit-Remaining"], "2")


class Faults(EmuCase):
    def test_status_fault_not_processed(self):
        self.k.fault(EVENTS, "status", times=2, status=503)
        for _ in range(2):
            a = self.post(EVENTS, bulk(entry([event("o1")])))
            self.assertEqual(a.status, 503)
            self.assertIn("errors", a.json)
        self.assertEqual(self.k.received, [])
        self.assertEqual(self.post(EVENTS, bulk(entry([event("o1")])))
                         .status, 202)
        self.assertEqual([r["fault"] for r in self.k.requests],
                         ["status", "status", None])

    def test_429_storm(self):
        self.k.fault("/api/", "429", times=3, seconds=2)
        for _ in range(3):
            a = self.call("GET", "/api/metrics")
            self.assertEqual((a.status, a.headers["Retry-After"]),
                             (429, "2"))
            self.assertEqual(a.error["code"], "throttled")
        self.assertEqual(self.call("GET", "/api/metrics").status, 200)

    def test_hang(self):
        self.k.fault(EVENTS, "hang", seconds=1.5)
        t0 = time.monotonic()
        with self.assertRaises((socket.timeout, TimeoutError,
                                urllib.error.URLError)):
            self.post(EVENTS, bulk(entry([event("o1")])), timeout=0.5)
        self.assertLess(time.monotonic() - t0, 1.4)
        time.sleep(1.2)
        self.assertEqual(self.k.received, [])
        self.assertEqual(self.post(EVENTS, bulk(entry([event("o1")])))
                         .status, 202)

    def test_truncate_is_processed(self):
        self.k.fault(EVENTS, "truncate")
        with self.assertRaises(http.client.IncompleteRead):
            self.post(EVENTS, bulk(entry([event("o1")])))
        self.assertEqual(len(self.k.events), 1)
        # The retry is deduplicated.
        self.assertEqual(self.post(EVENTS, bulk(entry([event("o1")])))
                         .status, 202)
        self.assertEqual((len(self.k.events), self.k.duplicates), (1, 1))
        self.k.fault(IMPORT, "truncate")
        with self.assertRaises(http.client.IncompleteRead):
            self.post(IMPORT, profiles({"email": "t@x.io"}))
        self.assertEqual(len(self.k.jobs), 1)

    def test_unknown_kind(self):
        with self.assertRaises(ValueError):
            self.k.fault(EVENTS, "explode")


class Standalone(unittest.TestCase):
    def test_standalone_stats(self):
        with tempfile.TemporaryDirectory() as d:
            kf = os.path.join(d, "key")
            with open(kf, "w") as f:
                f.write("pk_standalone\n")
            p = subprocess.Popen(
                [sys.executable, os.path.join(EMU_DIR,
                                              "klaviyo_emulator.py"),
                 "--port", "0", "--key-file", kf, "--timezone",
                 "Europe/Amsterdam", "--scale-windows", "0.5"],
                stdout=subprocess.PIPE, text=True)
            try:
                line = p.stdout.readline().strip()
                self.assertRegex(line,
                                 r"^listening on http://127\.0\.0\.1:\d+$")
                url = line.split()[-1]
                req = urllib.request.Request(
                    url + "/api/accounts",
                    headers={"Authorization": "Klaviyo-API-Key "
                             "pk_standalone", "revision": REV})
                with urllib.request.urlopen(req, timeout=5) as r:
                    acc = json.load(r)
                self.assertEqual(acc["data"][0]["attributes"]["timezone"],
                                 "Europe/Amsterdam")
                body = json.dumps(bulk(entry([event("o1")]))).encode()
                for _ in range(2):
                    req = urllib.request.Request(
                        url + EVENTS, data=body, method="POST",
                        headers={"Authorization": "Klaviyo-API-Key "
                                 "pk_standalone", "revision": REV,
                                 "Content-Type":
                                 "application/vnd.api+json"})
                    with urllib.request.urlopen(req, timeout=5) as r:
                        self.assertEqual(r.status, 202)
                with urllib.request.urlopen(url + "/_emu/stats",
                                            timeout=5) as r:
                    st = json.load(r)
                self.assertEqual((st["requests"], st["429s"], st["events"],
                                  st["duplicates"], st["profiles"]),
                                 (3, 0, 1, 1, 1))
                self.assertEqual(st["by_endpoint"]["bulk_create_events"]
                                 ["items"], 2)
            finally:
                p.terminate()
                p.wait(5)
                p.stdout.close()


if __name__ == "__main__":
    unittest.main()
