#!/usr/bin/env python3
"""Lightspeed Retail (R-series) API V3 emulator for posfeed's tests.

Serves a dataset with the real API's shapes and behaviour, as described
in the project's source-apis reference, section 1:

- every scalar is a string; absent references are "0"; a list with one
  element is an object; an empty nested list is "";
- shapes as recorded from the real API (a public client library's test
  cassettes): a sale line without an item has itemID "0" and its text,
  if any, in the SaleLines.Note relation ({"noteID", "note", ...});
  an ItemMatrix has no createTime, and may have no items at all;
- cursor pagination: @attributes.next/previous are absolute URLs carrying
  the original query plus an opaque after=/before= (base64 of the JSON
  sort key of the boundary row); limit is capped at 100;
- sort whitelist per resource, filters `field=op,value` (=, >, >=, <, <=,
  !=, ><, IN, ~, !~), archived=false|true|only, count=1,
  load_relations as a JSON array (["A,B"] silently matches nothing);
- ItemShop rows for shopID 0 (the all-shops summary);
- a leaky bucket (size, drip per second, request costs) plus a one-second
  burst window, with the X-LS-API-* headers and 429 + Retry-After;
- OAuth: authorization codes, expiring access tokens, rotating
  single-use refresh tokens (the old one dies once the new access token
  is used), invalid_grant;
- scripted faults: 5xx runs, a hanging response, a truncated body,
  invalid UTF-8 in a text field, malformed JSON, 429, and "401-fresh":
  a 401 for the first request made with a freshly issued access token,
  as a loaded API was seen to answer right after a refresh (the token
  stays valid; the 401'd request does not count as its use);
- a request log.

Control (for tests) under /_emu/: POST load {"dataset": PATH} or
{"data": {...}}, POST change {"ops": [...]}, POST config {...} (e.g.
{"page_limit": 2}: pages of at most 2 rows),
POST fault {"path": P, "kind": K, "count": N, "skip": S} (the next N
requests whose path contains P get fault K, after S such requests
passed; for "401-fresh" only requests with a fresh token count), POST
faults/clear, POST refresh_token {"token": T}
(another live refresh token), POST expire (all access tokens), GET log, POST log/clear, GET state.

Run: lsr_emulator.py [--dataset FILE] [--drip R] [--size N] ...; it binds
127.0.0.1 on a free port and prints the port on the first stdout line.
"""
import argparse
import base64
import bisect
import copy
import datetime
import json
import math
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Resource -> primary key and sortable fields (the API's whitelist).
RESOURCES = {
    "Shop": ("shopID", ["shopID"]),
    "Category": ("categoryID",
                 ["categoryID", "timeStamp", "leftNode", "rightNode"]),
    "Manufacturer": ("manufacturerID",
                     ["manufacturerID", "timeStamp", "name"]),
    "ItemAttributeSet": ("itemAttributeSetID", ["itemAttributeSetID"]),
    "ItemMatrix": ("itemMatrixID",
                   ["itemMatrixID", "timeStamp", "description"]),
    "Item": ("itemID", ["itemID", "timeStamp", "description"]),
    "ItemShop": ("itemShopID", ["itemShopID", "timeStamp"]),
    "Customer": ("customerID",
                 ["customerID", "timeStamp", "firstName", "lastName"]),
    "Sale": ("saleID", ["saleID", "timeStamp", "completeTime",
                        "updatetime"]),
    "ShipTo": ("shipToID", ["shipToID", "timeStamp", "saleID"]),
    "SaleVoid": ("saleVoidID", ["saleVoidID"]),
}

# Faults decided when the access token is checked (see check_access).
AUTH_FAULTS = ("401-fresh",)

# Nested lists: dataset key -> element name inside the wrapper object.
WRAPPED = {
    "Prices": "ItemPrice", "Images": "Image",
    "CustomFieldValues": "CustomFieldValue", "TagRelations": "TagRelation",
    "SaleLines": "SaleLine", "Emails": "ContactEmail",
    "Phones": "ContactPhone", "Addresses": "ContactAddress",
    "ItemShops": "ItemShop",
}
# Relations returned without load_relations.
ALWAYS = {"Item": {"Prices"}, "ItemMatrix": {"Prices"}}
# Relations that may be loaded, per resource (name -> to-many?).
RELATIONS = {
    "Item": {"ItemAttributes": False, "Images": True,
             "CustomFieldValues": True, "TagRelations": True,
             "TagRelations.Tag": True, "ItemShops": True,
             "Category": False, "Manufacturer": False,
             "ItemECommerce": False},
    "ItemMatrix": {"Images": True, "CustomFieldValues": True,
                   "ItemAttributeSet": False, "ItemECommerce": False},
    "Customer": {"Contact": False},
    "Sale": {"SaleLines": True, "ShipTo": False, "Discount": False,
             "SaleLines.Discount": True, "SaleLines.Note": True},
}
# Relations of SaleLines, kept out of each line unless loaded as
# SaleLines.<name>. A line without an item (itemID "0": free text or
# miscellaneous) carries its text in Note.note, as recorded from the real
# API.
LINE_RELATIONS = ("Discount", "Note")
# To-one relations kept out of a record unless loaded.
TO_ONE = ("ItemAttributes", "Contact", "ItemECommerce", "Discount")
# Resources without a timeStamp (SaleVoid is write-once).
NO_TIMESTAMP = ("SaleVoid",)

BASE_TIME = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


def fmt_time(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def parse_time(s):
    s = s.strip()
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    if len(s) >= 5 and s[-5] in "+-" and s[-3] != ":" and "T" in s:
        s = s[:-2] + ":" + s[-2:]
    t = datetime.datetime.fromisoformat(s)
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return t


def as_api(v):
    """Native value -> the API's string-everything shape."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return ""
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if k in WRAPPED and isinstance(x, list):
                if not x:
                    out[k] = ""
                else:
                    items = [as_api(e) for e in x]
                    out[k] = {WRAPPED[k]: items[0] if len(items) == 1
                              else items}
            else:
                out[k] = as_api(x)
        return out
    if isinstance(v, list):
        return [as_api(e) for e in v]
    return str(v)


def sort_value(rec, field):
    v = rec.get(field, "")
    if field.endswith("ID") or field in ("leftNode", "rightNode"):
        try:
            return (0, int(v), "")
        except (TypeError, ValueError):
            return (1, 0, str(v))
    if field in ("timeStamp", "completeTime", "updatetime", "createTime"):
        try:
            return (0, parse_time(str(v)).timestamp(), "")
        except ValueError:
            return (1, 0, str(v))
    return (0, 0, str(v))


def compare_value(rec_v, val, field):
    """Comparable pair for filters: datetimes, numbers, else text."""
    if field in ("timeStamp", "completeTime", "createTime", "updatetime"):
        return parse_time(str(rec_v)).timestamp(), parse_time(val).timestamp()
    try:
        return float(rec_v), float(val)
    except (TypeError, ValueError):
        return str(rec_v), val


def like(pattern, s):
    import re
    rx = "^" + ".*".join(re.escape(p) for p in pattern.split("%")) + "$"
    return re.match(rx, s, re.I | re.S) is not None


def match_filter(rec, field, spec):
    if "," in spec:
        op, val = spec.split(",", 1)
        if op not in ("=", ">", ">=", "<", "<=", "!=", "><", "IN", "~",
                      "!~"):
            op, val = "=", spec
    else:
        op, val = "=", spec
    v = rec.get(field)
    if v is None:
        v = ""
    if isinstance(v, bool):
        v = "true" if v else "false"
    if op == "IN":
        vals = [x.strip() for x in val.strip("[]").split(",")]
        return str(v) in vals
    if op == "><":
        lo, hi = val.split(",", 1)
        a, b = compare_value(v, lo, field)
        a2, c = compare_value(v, hi, field)
        return b <= a <= c
    if op in ("~", "!~"):
        r = like(val, str(v))
        return r if op == "~" else not r
    a, b = compare_value(v, val, field)
    return {"=": a == b, "!=": a != b, ">": a > b, ">=": a >= b,
            "<": a < b, "<=": a <= b}[op]


class ApiError(Exception):
    def __init__(self, status, message, extra=None):
        super().__init__(message)
        self.status = status
        self.body = {"httpCode": str(status), "httpMessage": "Error",
                     "message": message}
        if extra:
            self.body.update(extra)


class Emulator:
    def __init__(self, args):
        self.lock = threading.RLock()
        self.cfg = {
            "account_id": args.account,
            "client_id": args.client_id,
            "client_secret": args.client_secret,
            "size": args.size, "drip": args.drip, "burst": args.burst,
            "token_ttl": args.token_ttl,
            "token_requests": 0,         # expire after N API requests
            "hang_s": 30.0, "latency": args.latency,
            # The most rows a page holds (the real API's cap is 100);
            # tests lower it to spread a small dataset over many pages.
            "page_limit": 100,
        }
        self.data = {r: [] for r in RESOURCES}
        self.version = 0
        self.sorted_cache = {}
        self.clock = BASE_TIME
        self.log = []
        self.faults = []
        self.level = 0.0
        self.level_at = time.monotonic()
        self.burst_window = 0
        self.burst_count = 0
        self.codes = {"valid-code"}
        self.access = {}        # token -> {"exp": t, "uses": n, "rt": rt}
        self.refresh = {}       # token -> "live" | "pending"
        self.refresh[args.refresh_token] = "live"
        self.refresh_calls = 0
        if args.dataset:
            self.load(json.load(open(args.dataset, encoding="utf-8")))

    # -- data ------------------------------------------------------------
    def tick(self):
        self.clock += datetime.timedelta(seconds=1)
        return fmt_time(self.clock)

    def load(self, doc):
        with self.lock:
            self.data = {r: [] for r in RESOURCES}
            for res, rows in doc.items():
                if res not in RESOURCES:
                    continue
                for r in rows:
                    r = copy.deepcopy(r)
                    if res not in NO_TIMESTAMP:
                        r.setdefault("timeStamp", self.tick())
                    self.data[res].append(r)
            self.version += 1

    def find(self, res, rid):
        pk = RESOURCES[res][0]
        for r in self.data[res]:
            if str(r.get(pk)) == str(rid):
                return r
        return None

    def change(self, ops):
        """ops: [{"op": "upsert", "resource": R, "record": {...}}]; a
        record merges into the row with the same id (or is added) and gets
        a newer timeStamp. "archive"/"void" are shorthands; "void"
        marks the sale voided and adds a SaleVoid record but, as in the
        real API, leaves Sale.timeStamp alone (unless "bump": true)."""
        with self.lock:
            self.version += 1
            for op in ops:
                res = op["resource"] if "resource" in op else "Sale"
                if op["op"] == "archive":
                    rec = {RESOURCES[res][0]: op["id"], "archived": True}
                elif op["op"] == "void":
                    sale = self.find("Sale", op["id"])
                    nv = 1 + max([int(v["saleVoidID"]) for v in
                                  self.data["SaleVoid"]] or [0])
                    self.data["SaleVoid"].append({
                        "saleVoidID": nv, "saleID": op["id"],
                        "createTime": self.tick(), "reason": "emulated",
                        "employeeID": 1,
                        "shopID": (sale or {}).get("shopID", 1)})
                    if sale is not None and not op.get("bump"):
                        sale["voided"] = True
                        continue
                    rec = {"saleID": op["id"], "voided": True}
                elif op["op"] == "delete":
                    row = self.find(res, op["id"])
                    if row is not None:
                        self.data[res].remove(row)
                    continue
                else:
                    rec = op["record"]
                row = self.find(res, rec[RESOURCES[res][0]])
                if row is None:
                    row = {}
                    self.data[res].append(row)
                row.update(copy.deepcopy(rec))
                row["timeStamp"] = self.tick()

    # -- rate limit ------------------------------------------------------
    def charge(self, cost):
        """Returns (ok, headers)."""
        now = time.monotonic()
        size, drip = self.cfg["size"], self.cfg["drip"]
        self.level = max(0.0, self.level - (now - self.level_at) * drip)
        self.level_at = now
        win = int(now)
        if win != self.burst_window:
            self.burst_window, self.burst_count = win, 0
        hdr = {"X-LS-API-Drip-Rate": "%g" % drip,
               "X-LS-Acct-Id": self.cfg["account_id"],
               "X-LS-API-Request-Cost": "%g" % cost}
        kind = None
        if self.level >= size:
            kind = "api-leaky-bucket"
            retry = max(1, math.ceil((self.level - size + cost) / drip))
        elif self.burst_count >= self.cfg["burst"]:
            kind = "api-burst-limiter"
            retry = 1
        if kind is None:
            # The first overflowing request passes (as the real API).
            self.level += cost
            self.burst_count += 1
        hdr["X-LS-API-Bucket-Level"] = "%g/%g" % (round(self.level, 2),
                                                  size)
        hdr["X-LS-API-Burst-Level"] = "%d/%d" % (self.burst_count,
                                                 self.cfg["burst"])
        if kind is not None:
            hdr["X-LS-API-RateLimit-Type"] = kind
            hdr["Retry-After"] = str(retry)
            return False, hdr
        return True, hdr

    # -- OAuth -------------------------------------------------------------
    def token(self, form):
        with self.lock:
            self.refresh_calls += 1
            if form.get("client_id") != self.cfg["client_id"] or \
                    form.get("client_secret") != self.cfg["client_secret"]:
                return 401, {"error": "invalid_client",
                             "error_description": "Client authentication "
                             "failed"}
            grant = form.get("grant_type")
            if grant == "authorization_code":
                code = form.get("code")
                if code not in self.codes:
                    return 400, {"error": "invalid_grant",
                                 "error_description": "code is invalid"}
                self.codes.discard(code)
                old = None
            elif grant == "refresh_token":
                old = form.get("refresh_token")
                if self.refresh.get(old) not in ("live", "pending"):
                    return 400, {"error": "invalid_grant",
                                 "error_description": "The refresh token "
                                 "is invalid."}
            else:
                return 400, {"error": "unsupported_grant_type"}
            at = "at-" + secrets.token_hex(24)
            rt = "rt-" + secrets.token_hex(24)
            self.access[at] = {"exp": time.monotonic() +
                               self.cfg["token_ttl"], "uses": 0,
                               "old_rt": old}
            self.refresh[rt] = "live"
            if old is not None:
                self.refresh[old] = "pending"
            return 200, {"token_type": "Bearer",
                         "expires_in": self.cfg["token_ttl"],
                         "access_token": at, "refresh_token": rt}

    def check_access(self, auth, path=""):
        with self.lock:
            tok = auth[7:] if auth and auth.startswith("Bearer ") else None
            a = self.access.get(tok)
            n = self.cfg["token_requests"]
            denied = a is None or time.monotonic() > a["exp"] or \
                (n and a["uses"] >= n)
            if not denied and a["uses"] == 0 and \
                    self.take_fault(path, AUTH_FAULTS) is not None:
                denied = True
            if denied:
                raise ApiError(401, "Access token could not be verified",
                               {"error": "access_denied",
                                "hint": "Access token could not be "
                                "verified"})
            a["uses"] += 1
            # The rotated-away refresh token dies once the new access
            # token is used.
            if a["old_rt"] is not None:
                self.refresh[a["old_rt"]] = "dead"
                a["old_rt"] = None

    # -- listing -----------------------------------------------------------
    def cost(self, res, rels, count):
        if count:
            return 10.0
        c = 1.0
        for r in rels:
            many = RELATIONS.get(res, {}).get(r, False)
            c += (0.2 if many else 0.1) * 2
        return round(c, 2)

    def shape(self, res, rec, rels):
        out = {}
        for k, v in rec.items():
            if k in WRAPPED or k in TO_ONE:
                loaded = any(r == k or r.startswith(k + ".") for r in rels)
                if not loaded and k not in ALWAYS.get(res, ()):
                    continue
                if k == "TagRelations" and "TagRelations.Tag" not in rels:
                    v = [{x: y for x, y in t.items() if x != "Tag"}
                         for t in v]
                if k == "SaleLines":
                    v = [{x: y for x, y in t.items()
                          if x not in LINE_RELATIONS or
                          "SaleLines." + x in rels} for t in v]
            out[k] = v
        return as_api(out)

    def list(self, res, q, base_url, path):
        pk, sortable = RESOURCES[res]
        params = {k: v[-1] for k, v in q.items()}
        if "count" in params and params["count"] == "1":
            bad = [k for k in ("limit", "sort", "after", "before")
                   if k in params]
            if bad:
                raise ApiError(400, "count is incompatible with "
                               + ", ".join(bad))
        try:
            limit = int(params.get("limit", "100"))
        except ValueError:
            raise ApiError(400, "limit must be a number")
        limit = max(1, min(self.cfg["page_limit"], limit))
        sort = params.get("sort", pk)
        desc = sort.startswith("-")
        sfield = sort.lstrip("-")
        if sfield not in sortable:
            raise ApiError(400, "Sort field '%s' is not allowed. Allowed "
                           "fields: %s" % (sfield, ", ".join(sortable)))
        rels = []
        trap = False
        if "load_relations" in params:
            lr = params["load_relations"]
            if lr == "all":
                rels = list(RELATIONS.get(res, {}))
            else:
                try:
                    rels = json.loads(lr)
                    assert isinstance(rels, list)
                except (ValueError, AssertionError):
                    raise ApiError(400, "load_relations must be a JSON "
                                   "array")
                if any("," in r for r in rels):
                    trap = True
        archived = params.get("archived", "false")
        filters = [(k, v) for k, v in params.items()
                   if k not in ("limit", "sort", "after", "before",
                                "archived", "load_relations", "count", "or")
                   and "." not in k]

        def wanted(r):
            arch = str(r.get("archived", "false")).lower() in ("true", "1")
            if archived == "false" and arch:
                return False
            if archived == "only" and not arch:
                return False
            for k, v in filters:
                try:
                    if not match_filter(r, k, v):
                        return False
                except (ValueError, TypeError):
                    raise ApiError(400, "bad filter %s=%s" % (k, v))
            return True

        def key(r):
            return (sort_value(r, sfield), sort_value(r, pk))

        def enc(r):
            return base64.b64encode(json.dumps(
                [r.get(sfield), r.get(pk)]).encode()).decode()

        def dec(c):
            v = json.loads(base64.b64decode(c))
            return (sort_value({sfield: v[0]}, sfield),
                    sort_value({pk: v[1]}, pk))
        counting = params.get("count") == "1"
        if not trap and not desc and "before" not in params and \
                not counting:
            # Fast path (ascending, forward): a cached sorted index, a
            # bisect to the cursor (or to a >=/> filter on the sort
            # field), then only as many rows as the page needs. Keeps
            # the emulator O(page) per request on benchmark-sized data.
            with self.lock:
                ck = (res, sfield)
                c = self.sorted_cache.get(ck)
                if c is None or c[0] != self.version:
                    srt = sorted(self.data[res], key=key)
                    c = (self.version, [key(r) for r in srt], srt)
                    self.sorted_cache[ck] = c
                _, keys, srt = c
                start = 0
                if "after" in params:
                    start = bisect.bisect_right(keys, dec(params["after"]))
                spec = params.get(sfield, "")
                if spec.startswith((">=,", ">,")):
                    try:
                        lo = (sort_value({sfield: spec.split(",", 1)[1]},
                                         sfield),)
                        start = max(start, bisect.bisect_left(keys, lo))
                    except ValueError:
                        pass
                rows = []
                for i in range(start, len(srt)):
                    r = srt[i]
                    if wanted(r):
                        rows.append(copy.deepcopy(r))
                        if len(rows) > limit:
                            break
        else:
            rows = []
            with self.lock:
                for r in self.data[res]:
                    if wanted(r):
                        rows.append(r)
                rows = [copy.deepcopy(r) for r in rows]
            if trap:
                rows = []
            if counting:
                return {"@attributes": {"count": str(len(rows))}}, rels
            rows.sort(key=key, reverse=desc)
            if "after" in params:
                k0 = dec(params["after"])
                rows = [r for r in rows
                        if (key(r) < k0 if desc else key(r) > k0)]
            elif "before" in params:
                k0 = dec(params["before"])
                rows = [r for r in rows
                        if (key(r) > k0 if desc else key(r) < k0)]
                rows = rows[-limit:]
        page = rows[:limit]
        more = len(rows) > limit
        keep = [(k, v) for k, v in params.items()
                if k not in ("after", "before")]
        if "sort" not in params:
            keep.append(("sort", pk))
        if "limit" not in params:
            keep.append(("limit", "100"))
        qs = urllib.parse.urlencode(keep, quote_via=urllib.parse.quote)
        nxt = prev = ""
        if page and more:
            nxt = "%s%s?%s&after=%s" % (base_url, path, qs,
                                        urllib.parse.quote(enc(page[-1])))
        if page and ("after" in params or "before" in params):
            prev = "%s%s?%s&before=%s" % (base_url, path, qs,
                                          urllib.parse.quote(enc(page[0])))
        doc = {"@attributes": {"next": nxt, "previous": prev}}
        shaped = [self.shape(res, r, rels) for r in page]
        if len(shaped) == 1:
            doc[res] = shaped[0]
        elif shaped:
            doc[res] = shaped
        return doc, rels

    # -- faults ------------------------------------------------------------
    def take_fault(self, path, kinds=None):
        """The kind of the next fault for path. kinds limits the search
        to those kinds; without it, faults of AUTH_FAULTS are left to
        check_access()."""
        with self.lock:
            for f in self.faults:
                if kinds is not None and f["kind"] not in kinds:
                    continue
                if kinds is None and f["kind"] in AUTH_FAULTS:
                    continue
                if f.get("path", "") in path and f["count"] > 0:
                    if f.get("skip", 0) > 0:
                        f["skip"] -= 1
                        continue
                    f["count"] -= 1
                    return f["kind"]
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "lsr-emulator"

    def log_message(self, *a):
        pass

    @property
    def emu(self):
        return self.server.emu

    def send(self, status, body, headers=None, raw=None):
        data = raw if raw is not None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def record(self, status, fault=None, cost=0.0):
        u = urllib.parse.urlsplit(self.path)
        with self.emu.lock:
            self.emu.log.append({
                "method": self.command, "path": u.path,
                "query": urllib.parse.parse_qs(u.query,
                                               keep_blank_values=True),
                "raw_query": u.query, "status": status, "fault": fault,
                "cost": cost, "t": time.monotonic()})

    def body_json(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        return raw

    def do_POST(self):
        raw = self.body_json()
        u = urllib.parse.urlsplit(self.path)
        if u.path == "/auth/oauth/token":
            form = {k: v[-1] for k, v in urllib.parse.parse_qs(
                raw.decode("utf-8", "replace")).items()}
            fault = self.emu.take_fault(u.path)
            if fault in ("500", "502", "503"):
                self.record(int(fault), fault)
                return self.send(int(fault), {"message": "unavailable"})
            status, body = self.emu.token(form)
            self.record(status)
            return self.send(status, body)
        if u.path.startswith("/_emu/"):
            return self.control(u.path[6:], json.loads(raw or b"{}"))
        self.record(404)
        self.send(404, {"message": "not found"})

    def control(self, what, doc):
        e = self.emu
        if what == "load":
            if "dataset" in doc:
                e.load(json.load(open(doc["dataset"], encoding="utf-8")))
            else:
                e.load(doc["data"])
        elif what == "change":
            e.change(doc["ops"])
        elif what == "config":
            with e.lock:
                e.cfg.update(doc)
        elif what == "fault":
            with e.lock:
                f = dict(doc)
                f.setdefault("count", 1)
                e.faults.append(f)
        elif what == "faults/clear":
            with e.lock:
                e.faults = []
        elif what == "log/clear":
            with e.lock:
                e.log = []
        elif what == "expire":
            with e.lock:
                for a in e.access.values():
                    a["exp"] = 0
        elif what == "refresh_token":
            with e.lock:
                e.refresh[doc["token"]] = "live"
        elif what == "code":
            with e.lock:
                e.codes.add(doc["code"])
        else:
            return self.send(404, {"message": "no such control"})
        self.send(200, {"ok": True})

    def do_GET(self):
        e = self.emu
        u = urllib.parse.urlsplit(self.path)
        if u.path == "/_emu/log":
            with e.lock:
                return self.send(200, e.log)
        if u.path == "/_emu/state":
            with e.lock:
                return self.send(200, {
                    "refresh": e.refresh, "refresh_calls": e.refresh_calls,
                    "level": e.level, "faults": e.faults})
        parts = u.path.split("/")
        # /API/V3/Account/{id}/{Resource}[/{id}].json
        if len(parts) < 5 or parts[1:4] != ["API", "V3", "Account"]:
            self.record(404)
            return self.send(404, {"message": "not found"})
        try:
            if e.cfg["latency"]:
                time.sleep(e.cfg["latency"])
            e.check_access(self.headers.get("Authorization"), u.path)
            if parts[4] != e.cfg["account_id"] and parts[4] != \
                    e.cfg["account_id"] + ".json":
                raise ApiError(403, "not your account")
            if len(parts) == 5:
                if not parts[4].endswith(".json"):
                    raise ApiError(404, "not found")
                doc = {"Account": {"accountID": e.cfg["account_id"],
                                   "name": "Emulated shop", "link": ""}}
                self.record(200)
                return self.send(200, doc)
            res = parts[5]
            rid = None
            if len(parts) == 7:
                rid = parts[6]
            if rid is None:
                if not res.endswith(".json"):
                    raise ApiError(404, "only .json is emulated")
                res = res[:-5]
            elif rid.endswith(".json"):
                rid = rid[:-5]
            if res not in RESOURCES:
                raise ApiError(404, "unknown resource %s" % res)
            q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
            rels_raw = q.get("load_relations", [None])[-1]
            try:
                rels = json.loads(rels_raw) if rels_raw and \
                    rels_raw != "all" else []
            except ValueError:
                rels = []
            cost = e.cost(res, rels if isinstance(rels, list) else [],
                          q.get("count", [""])[-1] == "1")
            with e.lock:
                ok, hdr = e.charge(cost)
            if not ok:
                self.record(429, cost=cost)
                msg = "Rate limit exceeded" if hdr[
                    "X-LS-API-RateLimit-Type"] == "api-leaky-bucket" \
                    else "burst rate limit exceeded"
                return self.send(429, {"httpCode": "429",
                                       "message": msg}, hdr)
            fault = e.take_fault(u.path)
            if fault in ("500", "502", "503", "429"):
                self.record(int(fault), fault, cost)
                h = dict(hdr)
                if fault == "429":
                    h["Retry-After"] = "1"
                return self.send(int(fault), {"message": "try again"}, h)
            if fault == "hang":
                self.record(0, fault, cost)
                time.sleep(e.cfg["hang_s"])
                return
            base_url = "http://%s:%d" % self.server.server_address[:2]
            if rid is not None:
                row = e.find(res, rid)
                if row is None:
                    raise ApiError(404, "%s %s not found" % (res, rid))
                doc = {"@attributes": {"count": "1"},
                       res: e.shape(res, copy.deepcopy(row), rels)}
            else:
                doc, _ = e.list(res, q, base_url, u.path)
            data = json.dumps(doc).encode()
            if fault == "badutf8" and res in doc:
                first = doc[res][0] if isinstance(doc[res], list) \
                    else doc[res]
                first["description"] = "@@BAD@@"
                data = json.dumps(doc).encode().replace(
                    b"@@BAD@@", b"Bad \xff\xfe name")
            if fault == "badjson":
                data = data[:len(data) // 2] + b"<html>oops"
            self.record(200, fault, cost)
            if fault == "truncate":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in hdr.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data[:len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.send(200, None, hdr, raw=data)
        except ApiError as ex:
            self.record(ex.status)
            self.send(ex.status, ex.body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset")
    ap.add_argument("--account", default="12345")
    ap.add_argument("--client-id", default="posfeed-test")
    ap.add_argument("--client-secret", default="s3cret")
    ap.add_argument("--refresh-token", default="rt-initial")
    ap.add_argument("--size", type=float, default=90)
    ap.add_argument("--drip", type=float, default=1)
    ap.add_argument("--burst", type=int, default=20)
    ap.add_argument("--token-ttl", type=float, default=3600)
    ap.add_argument("--latency", type=float, default=0.0,
                    help="seconds added to every API request")
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.emu = Emulator(args)
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
