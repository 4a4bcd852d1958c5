#!/usr/bin/env python3
"""Klaviyo events validator: NDJSON, one event per line, each with the
attributes of Klaviyo's Create Event request.

Written from Klaviyo's OpenAPI description (github.com/klaviyo/openapi,
openapi/stable/apis/create_event.json: EventCreateQueryV2ResourceObject
and EventProfileCreateQueryResourceObject) and the Events API overview
(developers.klaviyo.com/en/reference/events_api_overview, "Limitations").
A line carries the event's attributes, with the metric given by name and
the profile by its attributes:

    {"metric": "Placed Order", "profile": {"email": ...}, "properties":
     {...}, "time": "2026-10-02T08:15:00Z", "value": 39.9,
     "value_currency": "EUR", "unique_id": "..."}

Usage: klaviyo_events.py FEED.ndjson...
Prints one line per problem and exits 1 when there is any.
"""
import os
import re
import sys
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import iso8601, load_json_rows, main, now  # noqa

# "At a minimum, profile and metric objects should include at least one
# profile identifier (e.g., id, email, or phone_number) and the metric
# name": the profile attributes that identify someone.
IDENTIFIERS = ("email", "phone_number", "external_id", "anonymous_id",
               "_kx", "id")
# phone_number: "Individual's phone number in E.164 format".
E164 = re.compile(r"\+[1-9]\d{1,14}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# value_currency: "The ISO 4217 currency code".
CURRENCY = re.compile(r"[A-Z]{3}")


def check_profile(where, prof, p):
    if not isinstance(prof, dict):
        p.add(where, "profile is not an object")
        return
    if not any(isinstance(prof.get(k), str) and prof[k]
               for k in IDENTIFIERS):
        p.add(where, "profile has no identifier (%s)"
              % ", ".join(IDENTIFIERS[:4]))
    if "email" in prof and not EMAIL.fullmatch(str(prof["email"])):
        p.add(where, "profile.email %r is not an email address"
              % prof["email"])
    if "phone_number" in prof and \
            not E164.fullmatch(str(prof["phone_number"])):
        p.add(where, "profile.phone_number %r is not E.164"
              % prof["phone_number"])
    for k, v in prof.items():
        if k in IDENTIFIERS and not isinstance(v, str):
            p.add(where, "profile.%s is not a string" % k)


def check_event(where, ev, p, seen):
    if not isinstance(ev, dict):
        p.add(where, "not an object")
        return
    # attributes.required: properties, metric, profile.
    for name in ("metric", "profile", "properties"):
        if name not in ev:
            p.add(where, "missing required %s" % name)
    metric = ev.get("metric")
    if isinstance(metric, dict):
        metric = metric.get("name")
    # metric name: "Must be less than 128 characters."
    if "metric" in ev and (not isinstance(metric, str) or not metric or
                           len(metric) >= 128):
        p.add(where, "metric is not a name of 1 to 127 characters")
    if "profile" in ev:
        check_profile(where, ev["profile"], p)
    props = ev.get("properties")
    if "properties" in ev:
        if not isinstance(props, dict):
            p.add(where, "properties is not an object")
        elif len(props) > 400:
            # "must not exceed 400 properties"
            p.add(where, "more than 400 properties")
    # time: date-time, "must be after the year 1990 and can only be up
    # to 1 year in the future".
    if "time" in ev:
        t = iso8601(ev["time"])
        if t is None:
            p.add(where, "time %r is not an ISO 8601 date-time with a "
                  "zone" % ev["time"])
        elif t < datetime(1990, 1, 1, tzinfo=timezone.utc) or \
                t > now() + timedelta(days=366):
            p.add(where, "time %s is before 1990 or over a year ahead"
                  % ev["time"])
    v = ev.get("value")
    if v is not None and (isinstance(v, bool) or
                          not isinstance(v, (int, float))):
        p.add(where, "value is not a number")
    c = ev.get("value_currency")
    if c is not None and not (isinstance(c, str) and CURRENCY.fullmatch(c)):
        p.add(where, "value_currency %r is not an ISO 4217 code" % c)
    uid = ev.get("unique_id")
    if uid is not None:
        if not isinstance(uid, str) or not uid:
            p.add(where, "unique_id is not a string")
        # "If the unique_id is repeated for the same profile and metric,
        # only the first processed event will be recorded": a repeat in
        # one feed is an event lost.
        elif uid in seen:
            p.add(where, "unique_id %r repeats %s" % (uid, seen[uid]))
        else:
            seen[uid] = where


def check(path, p):
    seen = {}
    for where, ev in load_json_rows(path):
        check_event(where, ev, p, seen)


if __name__ == "__main__":
    main(check, __doc__)
