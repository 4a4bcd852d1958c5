#!/usr/bin/env python3
"""Klaviyo REST API emulator (loopback) for posfeed's push and verify.

This docstring is the API contract src/push_klaviyo.c and src/verify.c
are written against; every shape below is served as written. Sources,
cited per item:
  [OAS]   klaviyo/openapi openapi/stable.json (revision 2026-07-15): the
          request and response schemas, x-klaviyo-ratelimit, field text
          (the same text as the developers.klaviyo.com reference pages
          bulk_create_events, bulk_import_profiles (alias
          spawn_bulk_profile_import_job), get_bulk_import_profiles_job,
          get_errors_for_bulk_import_profiles_job, get_accounts,
          get_metrics, query_metric_aggregates, bulk_subscribe_profiles,
          add_profiles_to_list)
  [RL]    developers.klaviyo.com/en/docs/rate_limits_and_error_handling
          (fixed burst 1 s and steady 1 min windows per account, tiers
          XS/S/M/L/XL, RateLimit-* headers on non-429 answers describing
          the steady window, 429 with Retry-After; ingestion limits)
  [VER]   developers.klaviyo.com/en/docs/api_versioning_and_deprecation_
          policy (revision header = ISO date, must be a valid revision;
          a revision is stable one year, deprecated the second, retired
          after two) and Klaviyo's revision-changes notes (2022-2024
          retired, 2025-* deprecated, 2026-* stable as of Oct 2026)
  [REF]   /work/shared/reference/output-formats.md section 2.5
  GUESS   not confirmed by any source we could read; chosen so that a
          client written defensively against it also works against the
          real API. docs/development.md lists them.

1. Transport and order of checks
--------------------------------
Base URL {api_url}, real https://a.klaviyo.com [REF]; tests use
http://127.0.0.1:PORT. Paths are served with or without a trailing "/"
(older revisions documented "/api/metrics/"; GUESS that both work).
For every /api/ request, in this order:
  1. Auth: "Authorization: Klaviyo-API-Key <private key>" [REF][VER].
     Missing or another scheme: 401 code "not_authenticated"; wrong key:
     401 code "authentication_failed" (codes GUESS). Not rate-limited.
  2. Revision: header "revision: YYYY-MM-DD[.pre]" required [OAS: every
     operation has a required revision header parameter]. Missing: 400
     code "missing_revision" (GUESS code); not a known revision: 400
     code "invalid_revision" (GUESS); a retired revision (2024-10-15 and
     older, [VER]): 410 code "gone" (GUESS). ".pre" is accepted on a
     known date (beta revisions, [VER]).
  3. Routing: unknown path or method: 404 / 405, errors[] (not counted).
  4. Rate limits (section 3): 429 when a window is full (not counted).
  5. Scripted faults (section 8).
  6. Body: must be JSON (400 code "parse_error", pointer "/data"), at
     most 5 MB (413 code "request_too_large"; status and code GUESS;
     the 5 MB limit is [OAS] for both bulk endpoints). Content-Type
     application/vnd.api+json or application/json (other: 415, GUESS).
  7. Validation (sections 4-7): 400 with the FIRST problem found, as
     errors[0] with source.pointer (a JSON pointer into the request
     body) [OAS: errors[] items {id, code, title, detail, source
     {pointer}}].
Answers are "Content-Type: application/vnd.api+json". A deprecated
revision (section 2) adds its headers to every answer after step 2.

Error body (every non-2xx answer) [OAS 4XX/5XX schema][REF]:
  {"errors": [{"id": "<uuid>", "status": 400, "code": "invalid",
               "title": "Invalid input.", "detail": "<what and why>",
               "source": {"pointer": "/data/attributes/..."}}]}
status is the HTTP status as a number (GUESS: [OAS] leaves it out of
the schema; [REF] lists it). source is {} when no field is at fault.

2. Revisions and deprecation [VER]
----------------------------------
Known revisions (KNOWN_REVISIONS): 2023-02-22 ... 2026-10-15, the
quarterly releases; 2026-10-15 is the newest (PF_KLAVIYO_REVISION).
k.deprecated = {revision: sunset date} (default: every 2025-* revision,
sunset two years after its date [VER]). A request with a deprecated
revision is served normally and its answer carries (Klaviyo documents
no header for this, so the RFC ones are used; GUESS):
  Deprecation: @<epoch of the revision date + 1 year>     (RFC 9745)
  Sunset: <IMF-fixdate of the sunset date, 00:00:00 GMT>  (RFC 8594)
  Link: <https://developers.klaviyo.com/en/docs/api_versioning_and_
         deprecation_policy>; rel="deprecation"
Set k.deprecated = {} for none; k.retired is the set answered 410.

3. Rate limits [RL][OAS x-klaviyo-ratelimit]
--------------------------------------------
Fixed windows per endpoint (per account): burst = 1 s, steady = 60 s,
each starting with its first counted request and refilling when its
length has passed (GUESS: window alignment is undocumented).
scale_windows=N multiplies both lengths by N (the counts stay).
  bulk_create_events          POST /api/event-bulk-create-jobs  10/150
  bulk_import_profiles        POST /api/profile-bulk-import-jobs 10/150
  get_bulk_import_profiles_jobs  GET  .../profile-bulk-import-jobs 10/150
  get_bulk_import_profiles_job   GET  .../{id}                 10/150
  get_errors_for_bulk_import_profiles_job GET .../{id}/import-errors
                                                               10/150
  get_accounts                GET /api/accounts                  1/15
  get_metrics, get_metric     GET /api/metrics[/{id}]          10/150
  query_metric_aggregates     POST /api/metric-aggregates         3/60
  create_event                POST /api/events               350/3500
  bulk_subscribe_profiles     POST /api/profile-subscription-bulk-
                              create-jobs                      75/750
  bulk_unsubscribe_profiles   POST .../profile-subscription-bulk-
                              delete-jobs                      75/750
  add_profiles_to_list        POST /api/lists/{id}/relationships/
                              profiles                         10/150
  remove_profiles_from_list   DELETE (same path)               10/150
(k.limits[name] = (burst, steady) overrides one.) Every answer after
step 4 that is not a 429 carries the steady window's state [RL]:
  RateLimit-Limit: 150        RateLimit-Remaining: 149 (after this one)
  RateLimit-Reset: 60         (whole seconds to the steady reset, up)
A request when either window is full: 429, not counted, with
  Retry-After: S   (whole seconds, >= 1, until the full windows reset)
  errors[0] = {"status": 429, "code": "throttled", "title": "Request
  was throttled.", "detail": "Request was throttled. Expected available
  in S seconds."}   (code/title/detail GUESS)
and no RateLimit-* headers [RL: "non-429 responses"].

4. POST /api/event-bulk-create-jobs (bulk_create_events) [OAS][REF]
-------------------------------------------------------------------
Body:
  {"data": {"type": "event-bulk-create-job", "attributes": {
     "events-bulk-create": {"data": [            <- one entry per profile
       {"type": "event-bulk-create", "attributes": {
          "profile": {"data": {"type": "profile", "id"?: "...",
                               "attributes": PROFILE}},
          "events": {"data": [
            {"type": "event", "attributes": {
               "metric": {"data": {"type": "metric",
                          "attributes": {"name": "Placed Order",
                                         "service"?: "api"}}},
               "properties": {...},               (required, object)
               "time": "2026-11-02T10:04:05Z",    (optional)
               "value": 42.5,                     (optional, number)
               "value_currency": "EUR",           (optional)
               "unique_id": "order-123",          (optional)
               "backfill": false}}]}}}]}}}        (optional)
Rules (pointer = the offending member):
  - JSON:API types exactly as above; unknown attribute names: 400
    "'x' is not a valid field for the resource 'event'" (GUESS wording;
    Klaviyo rejects unknown fields).
  - at most 1,000 events in one request (summed over the entries) [OAS];
    the pointer is the first event past the limit.
  - PROFILE: section 6; it needs an identifier (email, phone_number,
    external_id, anonymous_id, _kx, or data.id) [OAS].
  - metric name: string, 1..127 characters ("less than 128") [OAS].
  - properties: an object [OAS required], at most 400 top-level keys
    [OAS], nested at most 10 levels and arrays at most 4,000 items
    [RL ingestion limits; GUESS that they apply here].
  - every string (anywhere in the entry) at most 100 KB [OAS].
  - time: ISO 8601 date-time ("Z" or an offset; without one it is UTC,
    GUESS), after 1990 and at most one year in the future [OAS]; absent
    = the time the request was received, truncated to the second.
  - value: a JSON number (not a string, not a boolean) or null.
  - value_currency: an ISO 4217 code (three capitals from the list in
    ISO_4217) or null.
  - unique_id: a string; repeated for the same profile and metric
    within one request: 400, nothing is processed [OAS].
Any 400 rejects the whole request (nothing is stored) [REF].
Success: 202, no body [OAS]. Then each event is deduplicated: an event
whose (metric, profile, unique_id) was already accepted (unique_id
absent: the time to the second) is dropped, the first one kept [OAS
create_event: "only the first processed event will be recorded"]. The
profile's attributes are merged into k.profiles (events create or
update profiles [OAS]).

5. POST /api/profile-bulk-import-jobs (bulk_import_profiles) [OAS][REF]
-----------------------------------------------------------------------
Body:
  {"data": {"type": "profile-bulk-import-job", "attributes": {
     "profiles": {"data": [{"type": "profile", "id"?: "...",
                            "attributes": PROFILE}, ...]}},
   "relationships"?: {"lists": {"data": [{"type": "list",
                                          "id": "Y6nRLr"}]}}}}
Rules: at most 10,000 profiles and 5 MB [OAS]; each profile at most
100 KB serialized (400 with its pointer) [OAS]; wrong JSON:API types or
types of values: 400. Per-item VALUE problems do not fail the request:
they become import errors of the job (GUESS: which problems are
synchronous is undocumented): no identifier, an email that is not
local@domain.tld, a phone_number not in E.164 (+ and 2..15 digits, the
first not 0).
A list id must be a string; k.lists (None = any id is a list; else a
dict id -> name) decides whether it exists: unknown list 404 code
"not_found" (GUESS).
202 with the job (also the shape of GET .../{id}) [OAS]:
  {"data": {"type": "profile-bulk-import-job", "id": "<job id>",
     "attributes": {"status": "queued", "created_at": ISO,
       "total_count": N, "completed_count": 0, "failed_count": 0,
       "completed_at": null, "expires_at": ISO (+7 days, GUESS),
       "started_at": null},
     "relationships": {"lists": {"data": [{"type": "list", "id"}],
                                 "links": {"self", "related"}},
                       "profiles": {"links": {"self", "related"}},
                       "import-errors": {"links": {"related"}}},
     "links": {"self": URL}},
   "links": {"self": URL}}
Times are "YYYY-MM-DDTHH:MM:SS.ffffff+00:00" [OAS].
Jobs run asynchronously: status "queued" -> "processing" (first poll)
-> "complete" at the k.job_polls-th poll (default 2) or k.job_seconds
(default 1.0) after creation, whichever comes first (GUESS: real jobs
take seconds to minutes). Only on completion are the valid profiles
merged into k.profiles (by email, lower case) and, when the request had
relationships.lists, added to those lists; completed_count = valid
profiles, failed_count = import errors. k.settle() completes every job.
Nothing else ever adds a profile to a list or subscribes it.

GET /api/profile-bulk-import-jobs/{id}: 200, the job as above; unknown
id: 404 code "not_found".
GET /api/profile-bulk-import-jobs/{id}/import-errors [OAS]:
  {"data": [{"type": "import-error", "id": "<uuid>", "attributes": {
       "code": "invalid", "title": "Invalid input.", "detail": "...",
       "source": {"pointer": "/data/attributes/profiles/data/3/
                  attributes/email"},
       "original_payload": {<the profile's attributes as sent>}}}],
   "links": {"self": URL, "next": URL (only when more), "prev"?}}
Cursor paging: page[size] (default 20 [OAS], 1..100, else 400),
page[cursor] opaque (from links.next). Errors exist only once the job
is complete (before: an empty list; GUESS).
GET /api/profile-bulk-import-jobs: the jobs, newest first, same paging.

6. PROFILE attributes [OAS]
---------------------------
email, phone_number (E.164), external_id, anonymous_id, _kx,
first_name, last_name, organization, locale, title, image: string or
null; location: object with address1, address2, city, country, region,
zip, timezone, ip (string or null) and latitude, longitude (string or
number); properties: object or null. Unknown names: 400. In bulk events
an invalid email or phone is a 400 with its pointer (GUESS wording).
k.profiles key: the email in lower case; a profile without email is
keyed "phone:<number>" or "external:<id>" (emulator convention).
Merging: later non-null values replace earlier ones; location and
properties merge key by key.

7. Reading: accounts, metrics, metric aggregates
------------------------------------------------
GET /api/accounts [OAS]: {"data": [{"type": "account", "id": "AbC123",
  "attributes": {"test_account": false, "contact_information":
  {"default_sender_name", "default_sender_email", "website_url",
  "organization_name", "street_address": {address1, address2, city,
  region, country, zip}}, "industry": null, "timezone": k.timezone,
  "preferred_currency": k.currency, "public_api_key": "PuBkEy",
  "locale": "en-US"}, "links": {"self": URL}}], "links": {"self": URL}}
GET /api/metrics [OAS]: {"data": [{"type": "metric", "id": "<6 chars>",
  "attributes": {"name", "created", "updated", "integration":
  {"object": "integration", "id": "0eMvjm", "name": "API", "category":
  "API"}}, "links": {"self": URL}}], "links": {"self": URL}}
  A metric exists once an event of that name was accepted (or
  k.add_event). ?filter=equals(integration.name,"API") and
  equals(integration.category,"API") are honoured [OAS filters]; any
  other filter: 400. (integration object shape GUESS.)
GET /api/metrics/{id}: {"data": <one metric>}; unknown: 404.
POST /api/metric-aggregates (query_metric_aggregates) [OAS]:
  {"data": {"type": "metric-aggregate", "attributes": {
     "metric_id": "<id>", "measurements": ["count"],
     "interval": "day", "timezone": "America/New_York",
     "filter": ["greater-or-equal(datetime,2026-11-01T00:00:00)",
                "less-than(datetime,2026-11-08T00:00:00)"],
     "page_size"?: 500, "by"?: [...], "sort"?: ...}}}
  metric_id, measurements (non-empty, each of count, sum_value, unique)
  and filter are required [OAS]; interval day|hour|week|month (default
  day); timezone an IANA name (default UTC; an unknown one 400 [OAS:
  "validated against a list"]). filter must hold exactly one
  greater-or-equal and one less-than on datetime [OAS]; a datetime
  without an offset is read in the query's timezone (GUESS); a range
  over one year or an empty range: 400 (GUESS); any other filter term
  and any "by": 400 "not emulated" (the emulator is no analytics
  engine). An unknown metric_id: 404 (GUESS).
  200: {"data": {"type": "metric-aggregate", "id": "<uuid>",
     "attributes": {"dates": [bucket starts, ISO with the zone's offset,
                              e.g. "2026-11-01T00:00:00-04:00"],
                    "data": [{"dimensions": [], "measurements":
                              {"count": [3.0, 0.0, ...]}}]},
     "links": {"self": URL}}, "links": {"self": URL}}
  Buckets start at the local start of the interval containing the
  greater-or-equal time (week: Monday, GUESS) and cover up to the
  less-than time; an event counts when ge <= its time < lt and it lies
  in the bucket. count = events, sum_value = sum of value, unique =
  distinct profiles; numbers are floats [OAS example].

8. Not for posfeed: logged, served minimally
--------------------------------------------
POST /api/profile-subscription-bulk-create-jobs, .../delete-jobs: 202
no body; marks the profiles' subscriptions (GUESS beyond the path).
POST /api/lists/{id}/relationships/profiles {"data": [{"type":
"profile", "id"}]}: 204; DELETE removes. POST /api/events (create_event,
one event: {"data": {"type": "event", "attributes": {EVENT as in 4 plus
"profile": {"data": {...}}}}}): 202, same rules. Tests assert that the
first three are never called (k.requests).

9. Faults (scripted)
--------------------
k.fault(path_prefix, kind, times=1, status=503, seconds=None): the next
`times` requests whose path starts with path_prefix (after auth,
revision and the rate limiter, so they count) get `kind`:
  "status"    `status` with an errors[] body; the request is not
              processed;
  "hang"      no answer for `seconds` (default 30), then the connection
              is closed; not processed;
  "truncate"  the request IS processed, then the answer declares its
              full Content-Length and is cut in half (an answer with no
              body declares 2 bytes and sends 1) and the connection is
              closed;
  "429"       429 + Retry-After (`seconds`, default 1) + errors[]
              although the windows are not full; not processed.
k.clear_faults() drops the pending ones.

10. Python-side state and control
---------------------------------
  k = Klaviyo(key="pk_test_key", timezone="UTC", scale_windows=1.0,
              currency="USD", keep=True).start()
  k.url, k.stop()
  k.events      accepted events, first kept: {"id", "metric",
                "unique_id", "time" (as sent, or the received time),
                "value", "value_currency", "properties", "profile"
                (attributes as sent), "received_at"}
  k.received    every event posted (duplicates included), same shape
  k.duplicates  events dropped as duplicates
  k.profiles    {key: {"attributes", "lists": set(), "subscriptions"}}
  k.requests    {"method", "path", "status", "items", "bytes",
                "revision", "t", "fault"} per request (control paths
                excluded)
  k.jobs        {job id: job dict}
  k.timezone, k.currency, k.deprecated, k.retired, k.lists, k.limits,
  k.job_polls, k.job_seconds: settable
  k.add_event(metric, time_iso, unique_id, email, value=None) -> the
                event, stored as if received (verify tests)
  k.fault(...), k.clear_faults(), k.settle(), k.stats()
keep=False (standalone bench) stores events without properties and
profile attributes, to bound memory.

Standalone: python3 klaviyo_emulator.py --port 0 --key-file F
[--timezone TZ] [--scale-windows N] [--job-polls N] prints
"listening on http://127.0.0.1:PORT" and serves, besides the API:
  GET  /_emu/stats     {"requests", "429s", "events", "received",
                        "duplicates", "profiles", "jobs",
                        "by_endpoint": {name: {"requests", "429s",
                        "items", "bytes"}}, "first_t", "last_t"}
  GET  /_emu/requests  k.requests
  POST /_emu/fault     {"path_prefix", "kind", ...} -> k.fault(...)
  POST /_emu/timezone  {"timezone": TZ}
(/_emu/ paths need no auth.)
"""

import argparse
import base64
import datetime
import email.utils
import json
import math
import re
import threading
import time
import urllib.parse
import uuid
import zoneinfo
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BURST_S = 1.0
STEADY_S = 60.0
MAX_BODY = 5 * 1024 * 1024
MAX_STRING = 100 * 1024
MAX_PROFILE = 100 * 1024
MAX_EVENTS = 1000
MAX_PROFILES = 10000
MAX_PROPS = 400
MAX_DEPTH = 10
MAX_ARRAY = 4000
POLICY_URL = ("https://developers.klaviyo.com/en/docs/"
              "api_versioning_and_deprecation_policy")

KNOWN_REVISIONS = (
    "2022-10-17", "2023-01-24", "2023-02-22", "2023-06-15", "2023-07-15",
    "2023-08-15", "2023-09-15", "2023-10-15", "2023-12-15", "2024-02-15",
    "2024-05-15", "2024-06-15", "2024-07-15", "2024-10-15", "2025-01-15",
    "2025-04-15", "2025-07-15", "2025-10-15", "2026-01-15", "2026-04-15",
    "2026-07-15", "2026-10-15")
NEWEST_REVISION = "2026-10-15"

# (method, path regex, operation, (burst per 1 s, steady per 60 s))
XS, S, M = (1, 15), (3, 60), (10, 150)
ROUTES = (
    ("POST", r"/api/event-bulk-create-jobs", "bulk_create_events", M),
    ("POST", r"/api/profile-bulk-import-jobs", "bulk_import_profiles", M),
    ("GET", r"/api/profile-bulk-import-jobs",
     "get_bulk_import_profiles_jobs", M),
    ("GET", r"/api/profile-bulk-import-jobs/([^/]+)",
     "get_bulk_import_profiles_job", M),
    ("GET", r"/api/profile-bulk-import-jobs/([^/]+)/import-errors",
     "get_errors_for_bulk_import_profiles_job", M),
    ("GET", r"/api/accounts", "get_accounts", XS),
    ("GET", r"/api/metrics", "get_metrics", M),
    ("GET", r"/api/metrics/([^/]+)", "get_metric", M),
    ("POST", r"/api/metric-aggregates", "query_metric_aggregates", S),
    ("POST", r"/api/events", "create_event", (350, 3500)),
    ("POST", r"/api/profile-subscription-bulk-create-jobs",
     "bulk_subscribe_profiles", (75, 750)),
    ("POST", r"/api/profile-subscription-bulk-delete-jobs",
     "bulk_unsubscribe_profiles", (75, 750)),
    ("POST", r"/api/lists/([^/]+)/relationships/profiles",
     "add_profiles_to_list", M),
    ("DELETE", r"/api/lists/([^/]+)/relationships/profiles",
     "remove_profiles_from_list", M),
)
ROUTES_RX = [(m, re.compile("^" + rx + "/?$"), op, lim)
             for m, rx, op, lim in ROUTES]
FAULT_KINDS = ("status", "hang", "truncate", "429")

# ISO 4217 active codes (list one, 2024).
ISO_4217 = frozenset("""
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND
BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU
CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS
GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY
KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA
MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD
OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK
SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD
TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU
XBA XBB XBC XBD XCD XDR XOF XPD XPF XPT XSU XTS XUA XXX YER ZAR ZMW ZWL
""".split())

E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
PROFILE_STRINGS = ("email", "phone_number", "external_id", "anonymous_id",
                   "_kx", "first_name", "last_name", "organization",
                   "locale", "title", "image")
PROFILE_IDS = ("email", "phone_number", "external_id", "anonymous_id",
               "_kx")
LOCATION_STRINGS = ("address1", "address2", "city", "country", "region",
                    "zip", "timezone", "ip")
EVENT_KEYS = ("properties", "time", "value", "value_currency", "metric",
              "unique_id", "backfill")
FILTER_TERM = re.compile(r"^\s*(greater-or-equal|less-than)\(\s*datetime\s*,"
                         r"\s*([^)]+?)\s*\)\s*$")


class ApiError(Exception):
    """A JSON:API error answer."""

    def __init__(self, status, detail, pointer=None, code=None,
                 title=None, headers=None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.pointer = pointer
        self.code = code or {400: "invalid", 401: "not_authenticated",
                             404: "not_found", 405: "method_not_allowed",
                             410: "gone", 413: "request_too_large",
                             415: "unsupported_media_type",
                             429: "throttled"}.get(status, "error")
        self.title = title or {400: "Invalid input.",
                               401: "Authentication failed.",
                               404: "Not found.",
                               429: "Request was throttled."}.get(
                                   status, "Error.")
        self.headers = headers or {}

    def body(self):
        e = {"id": str(uuid.uuid4()), "status": self.status,
             "code": self.code, "title": self.title,
             "detail": self.detail, "source": {}}
        if self.pointer is not None:
            e["source"] = {"pointer": self.pointer}
        return {"errors": [e]}


def bad(pointer, detail):
    return ApiError(400, detail, pointer)


def iso_now(t=None):
    t = time.time() if t is None else t
    return datetime.datetime.fromtimestamp(
        t, datetime.timezone.utc).isoformat(timespec="microseconds")


def parse_iso(s, tz=datetime.timezone.utc):
    """ISO 8601 date-time -> aware datetime (naive = in tz); None when
    the text is no date-time."""
    if not isinstance(s, str) or not re.match(r"^\d{4}-\d\d-\d\dT", s):
        return None
    try:
        t = datetime.datetime.fromisoformat(
            s[:-1] + "+00:00" if s.endswith(("Z", "z")) else s)
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=tz)
    return t


class Window:
    """One fixed window: starts with its first counted request."""

    def __init__(self, limit, length):
        self.limit, self.length = limit, length
        self.start, self.used = None, 0

    def roll(self, now):
        if self.start is not None and now >= self.start + self.length:
            self.start, self.used = None, 0

    def left(self, now):
        return self.length if self.start is None else \
            max(0.0, self.start + self.length - now)

    def full(self, now):
        self.roll(now)
        return self.used >= self.limit

    def take(self, now):
        if self.start is None:
            self.start = now
        self.used += 1


# -- validation -------------------------------------------------------------
def need(obj, key, ptr, kind=dict, required=True):
    """obj[key] checked against kind (dict, list, str); pointer ptr."""
    if not isinstance(obj, dict):
        raise bad(ptr.rsplit("/", 1)[0] or "/", "must be an object")
    if key not in obj or obj[key] is None:
        if required:
            raise bad(ptr, "'%s' is a required field" % key)
        return None
    v = obj[key]
    names = {dict: "an object", list: "an array", str: "a string"}
    if not isinstance(v, kind):
        raise bad(ptr, "'%s' must be %s" % (key, names[kind]))
    return v


def need_type(obj, want, ptr):
    t = need(obj, "type", ptr + "/type", str)
    if t != want:
        raise bad(ptr + "/type", "type must be '%s', not '%s'" %
                  (want, t))


def only_keys(obj, allowed, ptr, resource):
    for k in obj:
        if k not in allowed:
            raise bad(ptr + "/" + k, "'%s' is not a valid field for the "
                      "resource '%s'" % (k, resource))


def check_strings(v, ptr, depth=0, top=True):
    """Size limits inside a value: strings <= 100 KB, arrays <= 4000,
    nesting <= 10 levels."""
    if depth > MAX_DEPTH:
        raise bad(ptr, "nested more than %d levels" % MAX_DEPTH)
    if isinstance(v, str):
        if len(v.encode("utf-8")) > MAX_STRING:
            raise bad(ptr, "a string cannot exceed 100KB")
    elif isinstance(v, dict):
        for k, x in v.items():
            check_strings(x, "%s/%s" % (ptr, k), depth + 1, False)
    elif isinstance(v, list):
        if len(v) > MAX_ARRAY:
            raise bad(ptr, "an array cannot hold more than %d items"
                      % MAX_ARRAY)
        for i, x in enumerate(v):
            check_strings(x, "%s/%d" % (ptr, i), depth + 1, False)


def profile_value_problem(a, has_id):
    """A value problem of profile attributes a: (field, detail) or
    None."""
    if not has_id and not any(a.get(k) for k in PROFILE_IDS):
        return (None, "a profile needs an identifier: email, "
                "phone_number, external_id or id")
    em = a.get("email")
    if em is not None and not EMAIL.match(em):
        return ("email", "Invalid email address")
    ph = a.get("phone_number")
    if ph is not None and not E164.match(ph):
        return ("phone_number", "Invalid phone number format (Example "
                "of a valid format: +12345678901)")
    return None


def check_profile_shape(p, ptr):
    """Types of a profile resource object (JSON:API), not its values."""
    need_type(p, "profile", ptr)
    only_keys(p, ("type", "id", "attributes", "meta"), ptr, "profile")
    need(p, "id", ptr + "/id", str, required=False)
    a = need(p, "attributes", ptr + "/attributes", dict)
    ap = ptr + "/attributes"
    only_keys(a, PROFILE_STRINGS + ("location", "properties"), ap,
              "profile")
    for k in PROFILE_STRINGS:
        need(a, k, "%s/%s" % (ap, k), str, required=False)
    loc = need(a, "location", ap + "/location", dict, required=False)
    if loc is not None:
        only_keys(loc, LOCATION_STRINGS + ("latitude", "longitude"),
                  ap + "/location", "location")
        for k in LOCATION_STRINGS:
            need(loc, k, "%s/location/%s" % (ap, k), str, required=False)
        for k in ("latitude", "longitude"):
            v = loc.get(k)
            if v is not None and (isinstance(v, bool) or
                                  not isinstance(v, (str, int, float))):
                raise bad("%s/location/%s" % (ap, k),
                          "must be a string or a number")
    need(a, "properties", ap + "/properties", dict, required=False)
    check_strings(a, ap)
    return a


def profile_key(a, pid=None):
    if a.get("email"):
        return a["email"].lower()
    if a.get("phone_number"):
        return "phone:" + a["phone_number"]
    if a.get("external_id"):
        return "external:" + a["external_id"]
    return "id:" + str(pid or a.get("anonymous_id") or a.get("_kx"))


class Klaviyo:
    """See the module docstring, section 10."""

    def __init__(self, key="pk_test_key", timezone="UTC",
                 scale_windows=1.0, currency="USD", keep=True):
        self.lock = threading.RLock()
        self.key = key
        self.timezone = timezone
        self.currency = currency
        self.scale_windows = scale_windows
        self.keep = keep
        self.limits = {op: lim for _, _, op, lim in ROUTES}
        self.deprecated = {
            r: "%d%s" % (int(r[:4]) + 2, r[4:])
            for r in KNOWN_REVISIONS if r.startswith("2025-")}
        self.retired = {r for r in KNOWN_REVISIONS if r <= "2024-10-15"}
        self.lists = None
        self.job_polls = 2
        self.job_seconds = 1.0
        self.events = []
        self.received = []
        self.duplicates = 0
        self.seen = set()
        self.profiles = {}
        self.metrics = {}
        self.jobs = {}
        self.requests = []
        self.faults = []
        self.windows = {}
        self.server = None
        self.url = None
        self.account_id = "AbC123"

    # -- control ------------------------------------------------------------
    def start(self, port=0):
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.server.emu = self
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever,
                         kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def fault(self, path_prefix, kind, times=1, status=503, seconds=None):
        if kind not in FAULT_KINDS:
            raise ValueError("unknown fault kind %r" % kind)
        with self.lock:
            self.faults.append({"prefix": path_prefix, "kind": kind,
                                "times": int(times), "status": int(status),
                                "seconds": seconds})

    def clear_faults(self):
        with self.lock:
            self.faults = []

    def take_fault(self, path):
        with self.lock:
            for f in self.faults:
                if f["times"] > 0 and path.startswith(f["prefix"]):
                    f["times"] -= 1
                    return dict(f)
        return None

    def settle(self):
        """Completes every job now."""
        with self.lock:
            for job in self.jobs.values():
                self.finish_job(job)

    def stats(self):
        with self.lock:
            by = {}
            for r in self.requests:
                b = by.setdefault(r["op"] or r["path"], {
                    "requests": 0, "429s": 0, "items": 0, "bytes": 0})
                b["requests"] += 1
                b["429s"] += r["status"] == 429
                b["items"] += r["items"]
                b["bytes"] += r["bytes"]
            return {"requests": len(self.requests),
                    "429s": sum(r["status"] == 429 for r in self.requests),
                    "events": len(self.events),
                    "received": len(self.received),
                    "duplicates": self.duplicates,
                    "profiles": len(self.profiles),
                    "jobs": len(self.jobs), "by_endpoint": by,
                    "first_t": self.requests[0]["t"] if self.requests
                    else None,
                    "last_t": self.requests[-1]["t"] if self.requests
                    else None}

    def add_event(self, metric, time_iso, unique_id, email, value=None,
                  properties=None):
        """Stores an event as if Klaviyo had received it."""
        ev = {"metric": metric, "time": time_iso, "unique_id": unique_id,
              "value": value, "value_currency": None,
              "properties": properties or {},
              "profile": {"email": email}}
        with self.lock:
            self.accept_event(ev, {"email": email}, time.time())
        return ev

    # -- rate limits ----------------------------------------------------------
    def limit(self, op, now):
        """None when the request may pass (and is counted), else the
        seconds to wait. Also returns the steady window for headers."""
        with self.lock:
            burst, steady = self.limits[op]
            w = self.windows.get(op)
            if w is None or w[0].limit != burst or w[1].limit != steady:
                w = (Window(burst, BURST_S * self.scale_windows),
                     Window(steady, STEADY_S * self.scale_windows))
                self.windows[op] = w
            full = [x for x in w if x.full(now)]
            if full:
                return max(x.left(now) for x in full), w[1]
            for x in w:
                x.take(now)
            return None, w[1]

    # -- events -------------------------------------------------------------
    def accept_event(self, ev, prof_attrs, now, pid=None):
        """Dedup and store one validated event (lock held)."""
        if ev["time"] is None:
            ev["time"] = datetime.datetime.fromtimestamp(
                int(now), datetime.timezone.utc).isoformat()
        pkey = profile_key(prof_attrs, pid)
        uid = ev["unique_id"]
        if uid is None:
            uid = "time:%d" % int(parse_iso(ev["time"]).timestamp())
        ev["received_at"] = now
        ev["id"] = uuid.uuid4().hex[:20]
        ev["_pkey"] = pkey
        if not self.keep:
            ev["properties"] = None
            ev["profile"] = {"email": prof_attrs.get("email")}
        self.received.append(ev)
        dkey = (ev["metric"], pkey, uid)
        if dkey in self.seen:
            self.duplicates += 1
            return False
        self.seen.add(dkey)
        self.events.append(ev)
        self.metric_for(ev["metric"], now)
        self.merge_profile(prof_attrs, pid)
        return True

    def metric_for(self, name, now):
        m = self.metrics.get(name)
        if m is None:
            mid = base64.b32encode(uuid.uuid5(
                uuid.NAMESPACE_URL, name).bytes).decode()[:6]
            m = {"id": mid, "name": name, "created": iso_now(now),
                 "updated": iso_now(now)}
            self.metrics[name] = m
        return m

    def merge_profile(self, a, pid=None):
        key = profile_key(a, pid)
        p = self.profiles.setdefault(key, {"attributes": {},
                                           "lists": set(),
                                           "subscriptions": {}})
        if not self.keep:
            return p
        cur = p["attributes"]
        for k, v in a.items():
            if v is None:
                continue
            if k in ("location", "properties") and isinstance(v, dict):
                sub = cur.setdefault(k, {})
                sub.update({x: y for x, y in v.items() if y is not None})
            else:
                cur[k] = v
        return p

    # -- jobs ---------------------------------------------------------------
    def advance_job(self, job, poll):
        now = time.time()
        if job["status"] == "complete":
            return
        if poll:
            job["polls"] += 1
        due = (self.job_seconds is not None and
               now - job["t0"] >= self.job_seconds)
        if due or job["polls"] >= self.job_polls:
            self.finish_job(job)
        elif job["polls"] >= 1 and job["status"] == "queued":
            job["status"] = "processing"
            job["started_at"] = iso_now(now)

    def finish_job(self, job):
        if job["status"] == "complete":
            return
        now = time.time()
        if job["started_at"] is None:
            job["started_at"] = iso_now(now)
        for a, pid in job["valid"]:
            p = self.merge_profile(a, pid)
            p["lists"].update(job["lists"])
        job["status"] = "complete"
        job["completed_at"] = iso_now(now)
        job["completed_count"] = len(job["valid"])
        job["failed_count"] = len(job["errors"])
        job["visible_errors"] = job["errors"]

    def job_doc(self, job):
        u = "%s/api/profile-bulk-import-jobs/%s/" % (self.url, job["id"])
        return {"type": "profile-bulk-import-job", "id": job["id"],
                "attributes": {
                    k: job[k] for k in (
                        "status", "created_at", "total_count",
                        "completed_count", "failed_count", "completed_at",
                        "expires_at", "started_at")},
                "relationships": {
                    "lists": {"data": [{"type": "list", "id": i}
                                       for i in job["lists"]],
                              "links": {"self": u + "relationships/lists/",
                                        "related": u + "lists/"}},
                    "profiles": {"links": {
                        "self": u + "relationships/profiles/",
                        "related": u + "profiles/"}},
                    "import-errors": {"links": {
                        "related": u + "import-errors/"}}},
                "links": {"self": u}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "klaviyo-emulator"
    # Headers and body go out in two writes; without this each answer
    # waits ~40 ms for the client's delayed ACK (see lse_emulator.py).
    disable_nagle_algorithm = True

    def log_message(self, *a):
        pass

    @property
    def emu(self):
        return self.server.emu

    # -- plumbing ------------------------------------------------------------
    def send(self, status, doc=None, headers=None, cut=False):
        data = b"" if doc is None else json.dumps(doc).encode()
        declared = len(data)
        if cut:
            if not data:
                data, declared = b"{", 2
            else:
                data = data[:len(data) // 2]
        self.send_response(status)
        if declared:
            self.send_header("Content-Type", "application/vnd.api+json")
        self.send_header("Content-Length", str(declared))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if data:
            self.wfile.write(data)
        if cut:
            self.wfile.flush()
            self.close_connection = True

    def record(self, op, status, rev, items=0, fault=None):
        with self.emu.lock:
            self.emu.requests.append({
                "method": self.command,
                "path": urllib.parse.urlsplit(self.path).path,
                "op": op, "status": status, "items": items,
                "bytes": self.nbytes, "revision": rev, "t": time.time(),
                "fault": fault})

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.nbytes = n
        return self.rfile.read(n) if n > 0 else b""

    # -- dispatch -------------------------------------------------------------
    def do_GET(self):
        self.dispatch()

    do_POST = do_DELETE = do_PUT = do_PATCH = do_GET

    def dispatch(self):
        self.nbytes = 0
        path = urllib.parse.urlsplit(self.path).path
        if path.startswith("/_emu/"):
            return self.control(path[6:])
        raw = self.read_body()
        op, rev, hdr, items, fault = None, None, {}, 0, None
        try:
            self.check_auth()
            rev = self.check_revision()
            hdr = self.deprecation_headers(rev)
            op, args = self.route(path)
            wait, steady = self.emu.limit(op, time.monotonic())
            if wait is not None:
                s = max(1, math.ceil(wait))
                raise ApiError(429, "Request was throttled. Expected "
                               "available in %d second%s." %
                               (s, "" if s == 1 else "s"),
                               headers={"Retry-After": str(s)})
            hdr.update(self.steady_headers(steady))
            fault = self.emu.take_fault(path)
            if fault is not None and self.early_fault(fault, op, rev, hdr):
                return
            doc = self.parse(raw) if self.command in ("POST", "PATCH") \
                else None
            status, answer, items = getattr(self, "op_" + op)(doc, *args)
        except ApiError as e:
            h = dict(hdr if e.status != 429 else
                     self.deprecation_headers(rev), **e.headers)
            self.record(op, e.status, rev, items)
            return self.send(e.status, e.body(), h)
        self.record(op, status, rev, items,
                    fault["kind"] if fault else None)
        self.send(status, answer, hdr,
                  cut=fault is not None and fault["kind"] == "truncate")

    def check_auth(self):
        h = self.headers.get("Authorization") or ""
        scheme, _, key = h.partition(" ")
        if scheme != "Klaviyo-API-Key" or not key.strip():
            raise ApiError(401, "Authentication credentials were not "
                           "provided.", title="Authentication credentials "
                           "were not provided.")
        if key.strip() != self.emu.key:
            raise ApiError(401, "Incorrect authentication credentials.",
                           code="authentication_failed",
                           title="Incorrect authentication credentials.")

    def check_revision(self):
        rev = self.headers.get("revision")
        if not rev:
            raise ApiError(400, "The 'revision' header is required.",
                           code="missing_revision",
                           title="Missing revision header.")
        base = rev[:-4] if rev.endswith(".pre") else rev
        if base not in KNOWN_REVISIONS:
            raise ApiError(400, "'%s' is not a valid revision." % rev,
                           code="invalid_revision",
                           title="Invalid revision.")
        if base in self.emu.retired:
            raise ApiError(410, "Revision %s is retired; see %s" %
                           (rev, POLICY_URL), title="Revision retired.")
        return rev

    def deprecation_headers(self, rev):
        base = rev[:-4] if rev and rev.endswith(".pre") else rev
        sunset = self.emu.deprecated.get(base) if base else None
        if not sunset:
            return {}
        y, m, d = (int(x) for x in base.split("-"))
        dep = datetime.datetime(y + 1, m, d, tzinfo=datetime.timezone.utc)
        sy, sm, sd = (int(x) for x in sunset.split("-"))
        sun = datetime.datetime(sy, sm, sd, tzinfo=datetime.timezone.utc)
        return {"Deprecation": "@%d" % int(dep.timestamp()),
                "Sunset": email.utils.format_datetime(sun, usegmt=True),
                "Link": '<%s>; rel="deprecation"' % POLICY_URL}

    def route(self, path):
        allowed = False
        for m, rx, op, _ in ROUTES_RX:
            g = rx.match(path)
            if g:
                allowed = True
                if m == self.command:
                    return op, g.groups()
        if allowed:
            raise ApiError(405, "Method %s not allowed." % self.command)
        raise ApiError(404, "No such endpoint: %s" % path)

    def steady_headers(self, w):
        now = time.monotonic()
        return {"RateLimit-Limit": str(w.limit),
                "RateLimit-Remaining": str(max(0, w.limit - w.used)),
                "RateLimit-Reset": str(math.ceil(round(w.left(now), 3)))}

    def parse(self, raw):
        if self.nbytes > MAX_BODY:
            raise ApiError(413, "The request body exceeds 5MB.")
        ct = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if ct not in ("application/vnd.api+json", "application/json"):
            raise ApiError(415, "Content-Type must be "
                           "application/vnd.api+json, not '%s'." % ct)
        try:
            doc = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise ApiError(400, "JSON parse error: %s" % e, "/data",
                           code="parse_error")
        if not isinstance(doc, dict):
            raise bad("/data", "the body must be a JSON object")
        return doc

    def early_fault(self, f, op, rev, hdr):
        kind = f["kind"]
        if kind == "status":
            self.record(op, f["status"], rev, 0, kind)
            e = ApiError(f["status"], "Scripted fault.",
                         title="A server error occurred.",
                         code="error")
            self.send(f["status"], e.body(), hdr)
            return True
        if kind == "429":
            s = int(f["seconds"] or 1)
            self.record(op, 429, rev, 0, kind)
            e = ApiError(429, "Request was throttled. Expected available "
                         "in %d second%s." % (s, "" if s == 1 else "s"))
            self.send(429, e.body(), dict(self.deprecation_headers(rev),
                                          **{"Retry-After": str(s)}))
            return True
        if kind == "hang":
            self.record(op, 0, rev, 0, kind)
            time.sleep(30 if f["seconds"] is None else f["seconds"])
            self.close_connection = True
            return True
        return False

    # -- control --------------------------------------------------------------
    def control(self, what):
        e = self.emu
        raw = self.read_body()
        try:
            doc = json.loads(raw) if raw else {}
            if what == "stats":
                out = e.stats()
            elif what == "requests":
                with e.lock:
                    out = list(e.requests)
            elif what == "fault":
                e.fault(**doc)
                out = {"ok": True}
            elif what == "timezone":
                zoneinfo.ZoneInfo(doc["timezone"])
                e.timezone = doc["timezone"]
                out = {"ok": True}
            elif what == "settle":
                e.settle()
                out = {"ok": True}
            else:
                return self.send(404, {"ok": False, "error": "no such "
                                       "control"})
        except (KeyError, TypeError, ValueError,
                zoneinfo.ZoneInfoNotFoundError) as ex:
            return self.send(400, {"ok": False, "error": str(ex)})
        self.send(200, out)

    # -- bulk events ----------------------------------------------------------
    def check_event(self, ev, ptr, now):
        """One event resource object -> the stored event dict."""
        need_type(ev, "event", ptr)
        only_keys(ev, ("type", "attributes"), ptr, "event")
        a = need(ev, "attributes", ptr + "/attributes", dict)
        ap = ptr + "/attributes"
        only_keys(a, EVENT_KEYS + ("profile",), ap, "event")
        md = need(need(a, "metric", ap + "/metric", dict), "data",
                  ap + "/metric/data", dict)
        mp = ap + "/metric/data"
        need_type(md, "metric", mp)
        ma = need(md, "attributes", mp + "/attributes", dict)
        only_keys(ma, ("name", "service"), mp + "/attributes", "metric")
        name = need(ma, "name", mp + "/attributes/name", str)
        if not name.strip() or len(name) >= 128:
            raise bad(mp + "/attributes/name",
                      "metric name must be 1 to 127 characters")
        need(ma, "service", mp + "/attributes/service", str,
             required=False)
        props = need(a, "properties", ap + "/properties", dict)
        if len(props) > MAX_PROPS:
            raise bad(ap + "/properties", "an event cannot have more "
                      "than %d properties" % MAX_PROPS)
        check_strings(props, ap + "/properties")
        t = a.get("time")
        if t is not None:
            when = parse_iso(t)
            if when is None:
                raise bad(ap + "/time", "'%s' is not a valid ISO 8601 "
                          "datetime" % (t,))
            if when.year < 1990 or when.timestamp() > now + 366 * 86400:
                raise bad(ap + "/time", "time must be after 1990 and at "
                          "most one year in the future")
        v = a.get("value")
        if v is not None and (isinstance(v, bool) or
                              not isinstance(v, (int, float))):
            raise bad(ap + "/value", "value must be a number")
        cur = a.get("value_currency")
        if cur is not None and cur not in ISO_4217:
            raise bad(ap + "/value_currency", "'%s' is not an ISO 4217 "
                      "currency code" % (cur,))
        uid = need(a, "unique_id", ap + "/unique_id", str, required=False)
        if uid is not None:
            check_strings(uid, ap + "/unique_id")
        if a.get("backfill") is not None and \
                not isinstance(a["backfill"], bool):
            raise bad(ap + "/backfill", "backfill must be a boolean")
        return {"metric": name, "unique_id": uid, "time": t, "value": v,
                "value_currency": cur, "properties": props}

    def check_event_profile(self, wrapper, ptr):
        pd = need(wrapper, "data", ptr + "/data", dict)
        a = check_profile_shape(pd, ptr + "/data")
        prob = profile_value_problem(a, bool(pd.get("id")))
        if prob:
            field, detail = prob
            raise bad(ptr + "/data/attributes" +
                      ("/" + field if field else ""), detail)
        return a, pd.get("id")

    def op_bulk_create_events(self, doc):
        now = time.time()
        d = need(doc, "data", "/data", dict)
        need_type(d, "event-bulk-create-job", "/data")
        only_keys(d, ("type", "attributes"), "/data",
                  "event-bulk-create-job")
        a = need(d, "attributes", "/data/attributes", dict)
        base = "/data/attributes/events-bulk-create"
        entries = need(need(a, "events-bulk-create", base, dict), "data",
                       base + "/data", list)
        batch, ids, total = [], set(), 0
        for i, ent in enumerate(entries):
            ep = "%s/data/%d" % (base, i)
            need_type(ent, "event-bulk-create", ep)
            ea = need(ent, "attributes", ep + "/attributes", dict)
            only_keys(ea, ("profile", "events", "backfill"),
                      ep + "/attributes", "event-bulk-create")
            prof, pid = self.check_event_profile(
                need(ea, "profile", ep + "/attributes/profile", dict),
                ep + "/attributes/profile")
            evp = ep + "/attributes/events/data"
            evs = need(need(ea, "events", ep + "/attributes/events", dict),
                       "data", evp, list)
            for j, ev in enumerate(evs):
                total += 1
                if total > MAX_EVENTS:
                    raise bad("%s/%d" % (evp, j), "at most %d events per "
                              "request" % MAX_EVENTS)
                e = self.check_event(ev, "%s/%d" % (evp, j), now)
                e["profile"] = prof
                self.dedup_in_request(e, prof, pid, ids,
                                      "%s/%d/attributes/unique_id" %
                                      (evp, j))
                batch.append((e, prof, pid))
        with self.emu.lock:
            for e, prof, pid in batch:
                self.emu.accept_event(e, prof, now, pid)
        return 202, None, total

    @staticmethod
    def dedup_in_request(e, prof, pid, ids, ptr):
        if e["unique_id"] is None:
            return
        k = (e["metric"], profile_key(prof, pid), e["unique_id"])
        if k in ids:
            raise bad(ptr, "unique_id '%s' is repeated for the same "
                      "profile and metric; no events were processed"
                      % e["unique_id"])
        ids.add(k)

    def op_create_event(self, doc):
        now = time.time()
        d = need(doc, "data", "/data", dict)
        e = self.check_event(d, "/data", now)
        prof, pid = self.check_event_profile(
            need(d["attributes"], "profile", "/data/attributes/profile",
                 dict), "/data/attributes/profile")
        e["profile"] = prof
        with self.emu.lock:
            self.emu.accept_event(e, prof, now, pid)
        return 202, None, 1

    # -- profile import -------------------------------------------------------
    def op_bulk_import_profiles(self, doc):
        e = self.emu
        d = need(doc, "data", "/data", dict)
        need_type(d, "profile-bulk-import-job", "/data")
        only_keys(d, ("type", "attributes", "relationships"), "/data",
                  "profile-bulk-import-job")
        a = need(d, "attributes", "/data/attributes", dict)
        only_keys(a, ("profiles",), "/data/attributes",
                  "profile-bulk-import-job")
        pp = "/data/attributes/profiles/data"
        profs = need(need(a, "profiles", "/data/attributes/profiles",
                          dict), "data", pp, list)
        if not profs:
            raise bad(pp, "at least one profile is required")
        if len(profs) > MAX_PROFILES:
            raise bad("%s/%d" % (pp, MAX_PROFILES), "at most %d profiles "
                      "per request" % MAX_PROFILES)
        lists = self.import_lists(d)
        valid, errors = [], []
        for i, p in enumerate(profs):
            ptr = "%s/%d" % (pp, i)
            attrs = check_profile_shape(p, ptr)
            if len(json.dumps(p).encode()) > MAX_PROFILE:
                raise bad(ptr, "a profile cannot exceed 100KB")
            prob = profile_value_problem(attrs, bool(p.get("id")))
            if prob:
                field, detail = prob
                errors.append({
                    "type": "import-error", "id": str(uuid.uuid4()),
                    "attributes": {
                        "code": "invalid", "title": "Invalid input.",
                        "detail": detail,
                        "source": {"pointer": ptr + "/attributes" +
                                   ("/" + field if field else "")},
                        "original_payload": attrs}})
            else:
                valid.append((attrs, p.get("id")))
        now = time.time()
        job = {"id": uuid.uuid4().hex[:24].upper(), "status": "queued",
               "created_at": iso_now(now), "total_count": len(profs),
               "completed_count": 0, "failed_count": 0,
               "completed_at": None, "started_at": None,
               "expires_at": iso_now(now + 7 * 86400), "lists": lists,
               "valid": valid, "errors": errors, "visible_errors": [],
               "polls": 0, "t0": now}
        with e.lock:
            e.jobs[job["id"]] = job
            out = {"data": e.job_doc(job),
                   "links": {"self": e.url + "/api/profile-bulk-import-"
                             "jobs/"}}
        return 202, out, len(profs)

    def import_lists(self, d):
        rel = need(d, "relationships", "/data/relationships", dict,
                   required=False)
        if rel is None:
            return []
        only_keys(rel, ("lists",), "/data/relationships",
                  "profile-bulk-import-job")
        lp = "/data/relationships/lists/data"
        ld = need(need(rel, "lists", "/data/relationships/lists", dict),
                  "data", lp, list)
        out = []
        for i, x in enumerate(ld):
            need_type(x, "list", "%s/%d" % (lp, i))
            lid = need(x, "id", "%s/%d/id" % (lp, i), str)
            if self.emu.lists is not None and lid not in self.emu.lists:
                raise ApiError(404, "List '%s' does not exist." % lid,
                               "%s/%d/id" % (lp, i))
            out.append(lid)
        return out

    def job(self, jid, poll):
        e = self.emu
        with e.lock:
            job = e.jobs.get(jid)
            if job is None:
                raise ApiError(404, "Job '%s' not found." % jid)
            e.advance_job(job, poll)
            return job

    def op_get_bulk_import_profiles_job(self, doc, jid):
        job = self.job(jid, True)
        with self.emu.lock:
            return 200, {"data": self.emu.job_doc(job),
                         "links": {"self": self.emu.url + self.path}}, 0

    def page(self, rows, base):
        """Cursor paging of rows (page[size] 1..100, default 20)."""
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        size = q.get("page[size]", ["20"])[-1]
        if not size.isdigit() or not 1 <= int(size) <= 100:
            raise ApiError(400, "page[size] must be 1 to 100",
                           code="invalid")
        size = int(size)
        start = 0
        if "page[cursor]" in q:
            try:
                start = int(base64.urlsafe_b64decode(
                    q["page[cursor]"][-1].encode()).decode()[2:])
            except ValueError:
                raise ApiError(400, "Invalid page[cursor].")
        links = {"self": self.emu.url + self.path}

        def at(n):
            c = base64.urlsafe_b64encode(("o:%d" % n).encode()).decode()
            return "%s%s?page%%5Bsize%%5D=%d&page%%5Bcursor%%5D=%s" % (
                self.emu.url, base, size, urllib.parse.quote(c))
        if start + size < len(rows):
            links["next"] = at(start + size)
        if start > 0:
            links["prev"] = at(max(0, start - size))
        return {"data": rows[start:start + size], "links": links}

    def op_get_errors_for_bulk_import_profiles_job(self, doc, jid):
        job = self.job(jid, False)
        base = "/api/profile-bulk-import-jobs/%s/import-errors/" % jid
        return 200, self.page(list(job["visible_errors"]), base), 0

    def op_get_bulk_import_profiles_jobs(self, doc):
        e = self.emu
        with e.lock:
            for j in e.jobs.values():
                e.advance_job(j, False)
            rows = [e.job_doc(j) for j in
                    sorted(e.jobs.values(), key=lambda j: -j["t0"])]
        return 200, self.page(rows, "/api/profile-bulk-import-jobs/"), 0

    # -- accounts, metrics, aggregates ----------------------------------------
    def op_get_accounts(self, doc):
        e = self.emu
        u = "%s/api/accounts/%s/" % (e.url, e.account_id)
        return 200, {"data": [{
            "type": "account", "id": e.account_id,
            "attributes": {
                "test_account": False,
                "contact_information": {
                    "default_sender_name": "Emulated Shop",
                    "default_sender_email": "shop@example.com",
                    "website_url": "https://shop.example",
                    "organization_name": "Emulated Shop",
                    "street_address": {
                        "address1": "1 Main St", "address2": None,
                        "city": "Boston", "region": "MA",
                        "country": "US", "zip": "02110"}},
                "industry": None, "timezone": e.timezone,
                "preferred_currency": e.currency,
                "public_api_key": "PuBkEy", "locale": "en-US"},
            "links": {"self": u}}],
            "links": {"self": e.url + "/api/accounts/"}}, 0

    def metric_doc(self, m):
        return {"type": "metric", "id": m["id"],
                "attributes": {
                    "name": m["name"], "created": m["created"],
                    "updated": m["updated"],
                    "integration": {"object": "integration",
                                    "id": "0eMvjm", "name": "API",
                                    "category": "API"}},
                "links": {"self": "%s/api/metrics/%s/" %
                          (self.emu.url, m["id"])}}

    def op_get_metrics(self, doc):
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        f = q.get("filter", [None])[-1]
        keep = True
        if f is not None:
            g = re.match(r'^equals\(integration\.(name|category),'
                         r'["\']([^"\']*)["\']\)$', f)
            if not g:
                raise ApiError(400, "Invalid filter: %s" % f,
                               code="invalid")
            keep = g.group(2) == "API"
        with self.emu.lock:
            rows = [self.metric_doc(m) for m in self.emu.metrics.values()]
        return 200, {"data": rows if keep else [],
                     "links": {"self": self.emu.url + self.path}}, 0

    def op_get_metric(self, doc, mid):
        with self.emu.lock:
            for m in self.emu.metrics.values():
                if m["id"] == mid:
                    return 200, {"data": self.metric_doc(m)}, 0
        raise ApiError(404, "Metric '%s' not found." % mid)

    def op_query_metric_aggregates(self, doc):
        d = need(doc, "data", "/data", dict)
        need_type(d, "metric-aggregate", "/data")
        a = need(d, "attributes", "/data/attributes", dict)
        ap = "/data/attributes"
        only_keys(a, ("metric_id", "page_cursor", "measurements",
                      "interval", "page_size", "by", "return_fields",
                      "filter", "timezone", "sort"), ap,
                  "metric-aggregate")
        mid = need(a, "metric_id", ap + "/metric_id", str)
        meas = need(a, "measurements", ap + "/measurements", list)
        if not meas or any(m not in ("count", "sum_value", "unique")
                           for m in meas):
            raise bad(ap + "/measurements", "measurements must be a "
                      "non-empty list of count, sum_value, unique")
        interval = a.get("interval") or "day"
        if interval not in ("day", "hour", "week", "month"):
            raise bad(ap + "/interval", "interval must be hour, day, "
                      "week or month")
        tzname = a.get("timezone") or "UTC"
        try:
            tz = zoneinfo.ZoneInfo(tzname)
        except (ValueError, zoneinfo.ZoneInfoNotFoundError):
            raise bad(ap + "/timezone", "'%s' is not a valid timezone"
                      % (tzname,))
        if a.get("by"):
            raise bad(ap + "/by", "'by' is not emulated")
        ge, lt = self.agg_range(need(a, "filter", ap + "/filter", list),
                                tz, ap + "/filter")
        metric = None
        with self.emu.lock:
            for m in self.emu.metrics.values():
                if m["id"] == mid:
                    metric = m["name"]
            evs = [e for e in self.emu.events if e["metric"] == metric]
        if metric is None:
            raise ApiError(404, "Metric '%s' not found." % mid,
                           ap + "/metric_id")
        starts = buckets(ge, lt, interval, tz)
        rows = {m: [0.0] * len(starts) for m in meas}
        uniq = [set() for _ in starts]
        ends = starts[1:] + [lt]
        for e in evs:
            t = parse_iso(e["time"])
            if not ge <= t < lt:
                continue
            for i, (s0, s1) in enumerate(zip(starts, ends)):
                if s0 <= t < s1:
                    if "count" in rows:
                        rows["count"][i] += 1.0
                    if "sum_value" in rows:
                        rows["sum_value"][i] += float(e["value"] or 0)
                    uniq[i].add(e.get("_pkey"))
                    break
        if "unique" in rows:
            rows["unique"] = [float(len(u)) for u in uniq]
        return 200, {"data": {
            "type": "metric-aggregate", "id": str(uuid.uuid4()),
            "attributes": {"dates": [s.isoformat() for s in starts],
                           "data": [{"dimensions": [],
                                     "measurements": rows}]},
            "links": {"self": self.emu.url + "/api/metric-aggregates/"}},
            "links": {"self": self.emu.url + "/api/metric-aggregates/"}}, 0

    @staticmethod
    def agg_range(terms, tz, ptr):
        ge = lt = None
        for i, term in enumerate(terms):
            g = FILTER_TERM.match(term) if isinstance(term, str) else None
            if not g:
                raise bad("%s/%d" % (ptr, i), "filter term %r is not "
                          "emulated" % (term,))
            when = parse_iso(g.group(2).strip("'\""), tz)
            if when is None:
                raise bad("%s/%d" % (ptr, i), "'%s' is not an ISO 8601 "
                          "datetime" % g.group(2))
            if g.group(1) == "greater-or-equal":
                ge = when
            else:
                lt = when
        if ge is None or lt is None:
            raise bad(ptr, "filter must include greater-or-equal and "
                      "less-than on datetime")
        if not ge < lt or (lt - ge).days > 366:
            raise bad(ptr, "the datetime range must be non-empty and at "
                      "most one year")
        return ge, lt

    # -- not for posfeed ------------------------------------------------------
    def subscription_profiles(self, doc, ptr):
        """Emails in a subscription job body (lenient: logged only)."""
        out = []
        try:
            for p in doc["data"]["attributes"]["profiles"]["data"]:
                em = p["attributes"].get("email")
                if em:
                    out.append(em)
        except (KeyError, TypeError):
            raise bad(ptr, "expected data.attributes.profiles.data")
        return out

    def op_bulk_subscribe_profiles(self, doc):
        ems = self.subscription_profiles(doc, "/data/attributes/profiles")
        with self.emu.lock:
            for em in ems:
                p = self.emu.merge_profile({"email": em})
                p["subscriptions"]["email"] = "SUBSCRIBED"
        return 202, None, len(ems)

    def op_bulk_unsubscribe_profiles(self, doc):
        ems = self.subscription_profiles(doc, "/data/attributes/profiles")
        with self.emu.lock:
            for em in ems:
                p = self.emu.merge_profile({"email": em})
                p["subscriptions"]["email"] = "UNSUBSCRIBED"
        return 202, None, len(ems)

    def list_members(self, doc):
        ids = need(doc, "data", "/data", list)
        for i, x in enumerate(ids):
            need_type(x, "profile", "/data/%d" % i)
            need(x, "id", "/data/%d/id" % i, str)
        return [x["id"] for x in ids]

    def op_add_profiles_to_list(self, doc, lid):
        ids = self.list_members(doc)
        with self.emu.lock:
            for pid in ids:
                for key, p in self.emu.profiles.items():
                    if key == pid or p["attributes"].get("id") == pid:
                        p["lists"].add(lid)
        return 204, None, len(ids)

    def op_remove_profiles_from_list(self, doc, lid):
        ids = self.list_members(doc)
        with self.emu.lock:
            for pid in ids:
                p = self.emu.profiles.get(pid)
                if p:
                    p["lists"].discard(lid)
        return 204, None, len(ids)


def buckets(ge, lt, interval, tz):
    """Local starts of the intervals from the one holding ge up to lt."""
    loc = ge.astimezone(tz)
    if interval == "hour":
        cur = loc.replace(minute=0, second=0, microsecond=0)
    else:
        day = datetime.date(loc.year, loc.month, loc.day)
        if interval == "week":
            day -= datetime.timedelta(days=day.weekday())
        elif interval == "month":
            day = day.replace(day=1)
        cur = datetime.datetime(day.year, day.month, day.day, tzinfo=tz)
    out = []
    while cur < lt:
        out.append(cur)
        if interval == "hour":
            cur = (cur.astimezone(datetime.timezone.utc) +
                   datetime.timedelta(hours=1)).astimezone(tz)
            continue
        d = cur.date()
        if interval == "day":
            d += datetime.timedelta(days=1)
        elif interval == "week":
            d += datetime.timedelta(days=7)
        else:
            d = (d.replace(day=28) + datetime.timedelta(days=4)).replace(
                day=1)
        cur = datetime.datetime(d.year, d.month, d.day, tzinfo=tz)
    return out


def main():
    ap = argparse.ArgumentParser(description="Klaviyo API emulator")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--key-file", required=True,
                    help="file holding the private API key")
    ap.add_argument("--timezone", default="UTC")
    ap.add_argument("--currency", default="USD")
    ap.add_argument("--scale-windows", type=float, default=1.0,
                    help="multiply the 1 s / 60 s windows by N")
    ap.add_argument("--job-polls", type=int, default=2)
    ap.add_argument("--job-seconds", type=float, default=1.0)
    ap.add_argument("--keep", action="store_true",
                    help="keep event properties (memory grows)")
    args = ap.parse_args()
    with open(args.key_file, encoding="utf-8") as f:
        key = f.read().strip()
    k = Klaviyo(key=key, timezone=args.timezone, currency=args.currency,
                scale_windows=args.scale_windows, keep=args.keep)
    k.job_polls, k.job_seconds = args.job_polls, args.job_seconds
    k.start(args.port)
    print("listening on %s" % k.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        k.stop()


if __name__ == "__main__":
    main()
