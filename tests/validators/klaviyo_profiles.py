#!/usr/bin/env python3
"""Klaviyo profiles validator: NDJSON, one profile per line, each with
the attributes of a Klaviyo profile.

Written from Klaviyo's OpenAPI description (github.com/klaviyo/openapi,
openapi/stable/apis/create_profile.json: ProfileCreateQueryResourceObject
and ProfileLocation; bulk_import_profiles.json takes the same
attributes).
Usage:

    klaviyo_profiles.py FEED.ndjson...

Prints one line per problem and exits 1 when there is any.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import load_json_rows, main  # noqa

# A profile is found by email, phone_number or external_id; one of them
# must be given.
IDENTIFIERS = ("email", "phone_number", "external_id")
E164 = re.compile(r"\+[1-9]\d{1,14}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Profile attributes that are strings.
STRINGS = ("email", "phone_number", "external_id", "first_name",
           "last_name", "organization", "locale", "title", "image")
# location: address1, address2, city, country, region, zip, timezone
# (strings), latitude, longitude (numbers or strings), ip.
LOCATION = ("address1", "address2", "city", "country", "region", "zip",
            "timezone", "ip", "latitude", "longitude")


def check_profile(where, pr, p, seen):
    if not isinstance(pr, dict):
        p.add(where, "not an object")
        return
    if not any(isinstance(pr.get(k), str) and pr[k] for k in IDENTIFIERS):
        p.add(where, "no identifier (email, phone_number or external_id)")
    for k in STRINGS:
        if k in pr and not isinstance(pr[k], str):
            p.add(where, "%s is not a string" % k)
        elif k in pr and pr[k] is None:
            p.add(where, "%s is null" % k)
    if isinstance(pr.get("email"), str) and \
            not EMAIL.fullmatch(pr["email"]):
        p.add(where, "email %r is not an email address" % pr["email"])
    # phone_number: "Individual's phone number in E.164 format".
    if isinstance(pr.get("phone_number"), str) and \
            not E164.fullmatch(pr["phone_number"]):
        p.add(where, "phone_number %r is not E.164 (+ and up to 15 "
              "digits)" % pr["phone_number"])
    loc = pr.get("location")
    if loc is not None:
        if not isinstance(loc, dict):
            p.add(where, "location is not an object")
        else:
            for k, v in loc.items():
                if k not in LOCATION:
                    p.add(where, "location.%s is not a location field" % k)
                elif not isinstance(v, (str, int, float)) or \
                        isinstance(v, bool):
                    p.add(where, "location.%s is not a value" % k)
    props = pr.get("properties")
    if props is not None and not isinstance(props, dict):
        p.add(where, "properties is not an object")
    for k in IDENTIFIERS:
        v = pr.get(k)
        if isinstance(v, str) and v:
            key = (k, v.lower() if k == "email" else v)
            if key in seen:
                p.add(where, "%s %r repeats %s" % (k, v, seen[key]))
            seen.setdefault(key, where)


def check(path, p):
    seen = {}
    for where, pr in load_json_rows(path):
        check_profile(where, pr, p, seen)


if __name__ == "__main__":
    main(check, __doc__)
