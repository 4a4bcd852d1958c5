"""Shared helpers of the platform validators (tests/validators/*.py).

Each validator checks a published feed against one platform's own
specification, cited in its comments, and knows nothing of posfeed. It
prints one line per problem, "FILE: ITEM: problem", and exits 0 when
the feed is valid, 1 when it is not, 2 when it cannot read it. Standard
library only.
"""
import json
import re
import sys
import urllib.parse
from datetime import datetime, timezone


class Problems:
    """Collects problems, naming the file and the item they are in."""

    def __init__(self, path):
        self.path = path
        self.lines = []

    def add(self, where, msg):
        self.lines.append("%s: %s: %s" % (self.path, where, msg))

    def report(self, out=sys.stdout):
        for line in self.lines:
            print(line, file=out)
        return 1 if self.lines else 0


def absolute_url(v):
    """An absolute http(s) URL with a host and no whitespace."""
    if not isinstance(v, str) or not v or re.search(r"\s", v):
        return False
    u = urllib.parse.urlsplit(v)
    return u.scheme in ("http", "https") and bool(u.netloc)


def gtin_ok(code):
    """GTIN-8, -12 (UPC), -13 (EAN) or -14 with the right check digit
    (GS1 General Specifications, 7.9: mod-10 weights 3,1,3,... from the
    digit left of the check digit)."""
    if not re.fullmatch(r"\d{8}|\d{12}|\d{13}|\d{14}", code or ""):
        return False
    digits = [int(c) for c in code]
    body, check = digits[:-1], digits[-1]
    total = sum(d * (3 if i % 2 == 0 else 1)
                for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


# ISO 4217 alphabetic codes are three capital letters.
PRICE_RE = re.compile(r"(\d+(?:\.\d+)?) ([A-Z]{3})")


def price(v):
    """(amount, currency) of "12.50 EUR", or None."""
    m = PRICE_RE.fullmatch(v or "")
    return (float(m.group(1)), m.group(2)) if m else None


def one(fields, name):
    """The first value of an RSS item's field, or ""."""
    v = fields.get(name)
    return v[0] if v else ""


def check_prices(where, f, p):
    """price and sale_price of an RSS item: "NUMBER CURRENCY" each, and
    a sale price lower than the price, in the same currency (Google's
    [price]/[sale_price] and Meta's price/sale_price say the same)."""
    amount = None
    for name in ("price", "sale_price"):
        v = one(f, name)
        if not v:
            continue
        pr = price(v)
        if pr is None:
            p.add(where, "%s %r is not \"NUMBER CURRENCY\"" % (name, v))
        elif name == "price":
            amount = pr
        elif amount and (pr[1] != amount[1] or pr[0] >= amount[0]):
            p.add(where, "sale_price %r is not lower than price in the "
                  "same currency" % v)


def check_fields(where, f, p, required, repeatable, max_len, max_images):
    """The rules Google's and Meta's item specs share: each required
    attribute present, no attribute repeated unless the spec lets it,
    lengths, absolute http(s) links, and a cap on additional images
    (each spec's own numbers are passed in, cited where they are
    defined)."""
    for name in required:
        if not one(f, name):
            p.add(where, "missing required %s" % name)
    for name, values in f.items():
        if len(values) > 1 and name not in repeatable:
            p.add(where, "%s given %d times" % (name, len(values)))
        for v in values:
            if name in max_len and len(v) > max_len[name]:
                p.add(where, "%s longer than %d characters"
                      % (name, max_len[name]))
    for name in ("link", "image_link", "additional_image_link"):
        for v in f.get(name, []):
            if not absolute_url(v):
                p.add(where, "%s is not an absolute http(s) URL: %r"
                      % (name, v))
    if len(f.get("additional_image_link", [])) > max_images:
        p.add(where, "more than %d additional_image_link" % max_images)


def iso8601(v):
    """A date-time with a zone (RFC 3339 / ISO 8601), as an aware
    datetime, or None."""
    if not isinstance(v, str):
        return None
    m = re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?"
                     r"(Z|[+-]\d\d:?\d\d)", v)
    if not m:
        return None
    s = v[:-1] + "+00:00" if v.endswith("Z") else v
    if re.search(r"[+-]\d{4}$", s):
        s = s[:-2] + ":" + s[-2:]
    try:
        return datetime.fromisoformat(s)
    except ValueError:
        return None


def now():
    return datetime.now(timezone.utc)


def load_json_rows(path):
    """The objects of a JSON array or of NDJSON (one object a line):
    a list of (where, value). Raises ValueError when it is neither."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if isinstance(doc, list):
        return [("item %d" % (i + 1), v) for i, v in enumerate(doc)]
    if doc is not None and not isinstance(doc, dict):
        raise ValueError("not a JSON array or NDJSON")
    rows = []
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            rows.append(("line %d" % n, json.loads(line)))
        except ValueError as e:
            raise ValueError("line %d: not JSON: %s" % (n, e))
    return rows


def main(check, usage):
    """Runs check(path, problems) over each file named on the command
    line; the exit code says whether all were valid."""
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(usage, file=sys.stderr)
        sys.exit(2)
    rc = 0
    for path in sys.argv[1:]:
        p = Problems(path)
        try:
            check(path, p)
        except (OSError, ValueError) as e:
            print("%s: cannot read: %s" % (path, e), file=sys.stderr)
            sys.exit(2)
        rc |= p.report()
    sys.exit(rc)


G_NS = "http://base.google.com/ns/1.0"


def rss_items(path, problems):
    """The items of an RSS 2.0 product feed with Google's namespace
    (Google Merchant Center, "RSS 2.0 specification for product data",
    support.google.com/merchants/answer/160589; Meta reads the same
    format): a list of (where, {name: [text, ...]}), names without
    the g: prefix. Checks the RSS frame on the way."""
    import xml.etree.ElementTree as ET

    root = ET.parse(path).getroot()
    if root.tag != "rss" or root.get("version") != "2.0":
        problems.add("document", "the root is not <rss version=\"2.0\">")
    channels = root.findall("channel")
    if len(channels) != 1:
        problems.add("document", "expected one <channel>, found %d"
                     % len(channels))
        return []
    ch = channels[0]
    for name in ("title", "link", "description"):
        el = ch.find(name)
        if el is None or not (el.text or "").strip():
            problems.add("channel", "missing <%s>" % name)
    items = []
    for i, it in enumerate(ch.findall("item"), 1):
        fields = {}
        for el in it:
            tag = el.tag
            if tag.startswith("{%s}" % G_NS):
                tag = tag[len(G_NS) + 2:]
            elif tag.startswith("{"):
                continue
            if len(el):
                problems.add("item %d" % i, "<%s> holds elements" % tag)
            fields.setdefault(tag, []).append((el.text or "").strip())
        ident = (fields.get("id") or [""])[0]
        items.append(("item %d%s" % (i, " (id %s)" % ident if ident
                                     else ""), fields))
    return items
