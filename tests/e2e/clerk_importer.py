"""A Clerk.io-like importer for the JSON Feed V2 endpoints: what Clerk
does with the URLs a merchant enters in my.clerk.io (Data Sync Settings
-> "Clerk.io JSON Feed V2", one URL per entity).

Its own code, on purpose: it parses answers with nothing of posfeed's or
of the tests' helpers, so a bug there cannot hide one here. Standard
library only.

What it does, per entity (output-formats.md 1.1-1.3, 1.5):
  - GETs the entity's URL page by page: limit=N and page=P counting from
    page_base, until a page shorter than limit; with
    X-Clerk-Authorization: Bearer <token>, over HTTPS verified against
    a CA file when one is given;
  - parses the body as NDJSON (application/x-ndjson, one object per
    line) or as a JSON array (application/json);
  - keeps a mirror: products, categories, customers and pages are
    mirrored (a full answer replaces the set: objects missing from it
    are deleted; an incremental one upserts), orders are only added;
  - remembers the start time of its last successful sync and sends it
    as modified_after next time. Whether an answer to modified_after was
    full or incremental it reads from X-Posfeed-Sync (posfeed's; how
    Clerk itself tells is not documented), and an answer without it is
    taken as incremental, which can only keep objects, never lose them;
  - checks Clerk's data rules it can: one id type per entity, the fields
    output-formats.md 1.5 requires (with their types), attribute names
    of A-Z a-z 0-9 _ only, no nulls; and every object once per answer.
    A violation raises ImportFailed naming the entity, page and object.
"""
import http.client
import json
import re
import ssl
import time
import urllib.parse

MIRRORED = ("products", "categories", "customers", "pages")
ENTITIES = ("products", "categories", "orders", "customers", "pages")

NUM = (int, float)
# Fields output-formats.md 1.5 requires, with their JSON types.
REQUIRED = {
    "products": {"id": (int, str), "name": str, "description": str,
                 "price": NUM, "image": str, "url": str,
                 "categories": list},
    "categories": {"id": (int, str), "name": str, "url": str,
                   "subcategories": list},
    "orders": {"id": (int, str), "products": list, "time": int},
    "customers": {"id": (int, str)},
    "pages": {"id": (int, str), "type": str, "url": str, "title": str,
              "text": str},
}
OPTIONAL = {"created_at": int, "list_price": NUM, "stock": int,
            "on_sale": bool}
NAME_OK = re.compile(r"^[A-Za-z0-9_]+$")


class ImportFailed(Exception):
    pass


class HttpError(ImportFailed):
    def __init__(self, status, body, url):
        super().__init__("%s: HTTP %d: %s" % (url, status, body[:200]))
        self.status = status
        self.body = body


class Importer:
    def __init__(self, urls, token, ca_file=None, limit=100, page_base=0,
                 clock=time.time, fmt=None):
        """urls: {entity: URL}; fmt: None (NDJSON) or "json"."""
        self.urls = dict(urls)
        self.token = token
        self.ca_file = ca_file
        self.limit = limit
        self.page_base = page_base
        self.clock = clock
        self.fmt = fmt
        self.mirror = {e: {} for e in self.urls}
        self.id_type = {}
        self.last_sync = None       # start of the last successful sync
        self.log = []               # (entity, page, mode, objects)

    # -- HTTP --------------------------------------------------------------
    def _conn(self, u):
        if u.scheme == "https":
            ctx = ssl.create_default_context(cafile=self.ca_file)
            return http.client.HTTPSConnection(u.hostname, u.port,
                                               context=ctx, timeout=60)
        return http.client.HTTPConnection(u.hostname, u.port, timeout=60)

    def fetch(self, entity, page, modified_after=None):
        """(mode, [objects]) of one page; mode from X-Posfeed-Sync."""
        u = urllib.parse.urlsplit(self.urls[entity])
        q = [("limit", str(self.limit)), ("page", str(page))]
        if modified_after is not None:
            q.append(("modified_after", str(int(modified_after))))
        if self.fmt:
            q.append(("format", self.fmt))
        path = u.path + "?" + urllib.parse.urlencode(q)
        c = self._conn(u)
        try:
            c.request("GET", path, headers={
                "X-Clerk-Authorization": "Bearer " + self.token})
            r = c.getresponse()
            body = r.read()
            if r.status != 200:
                raise HttpError(r.status, body.decode("utf-8", "replace"),
                                self.urls[entity])
            ctype = (r.getheader("Content-Type") or "").split(";")[0]
            mode = r.getheader("X-Posfeed-Sync") or "incremental"
        finally:
            c.close()
        where = "%s page %d" % (entity, page)
        return mode, parse_body(body, ctype.strip(), where)

    # -- one entity ----------------------------------------------------------
    def pull(self, entity, modified_after=None):
        """Every page of entity: (mode, [objects])."""
        out, seen, mode, page = [], set(), None, self.page_base
        while True:
            m, objs = self.fetch(entity, page, modified_after)
            if mode is None:
                mode = m
            elif m != mode:
                raise ImportFailed("%s page %d: answered %s after %s "
                                   "pages" % (entity, page, m, mode))
            for o in objs:
                self.check(entity, page, o)
                if o["id"] in seen:
                    raise ImportFailed("%s page %d: object %r twice in "
                                       "one sync" % (entity, page,
                                                     o["id"]))
                seen.add(o["id"])
            self.log.append((entity, page, m, len(objs)))
            out.extend(objs)
            if len(objs) < self.limit:
                return mode, out
            page += 1

    def apply(self, entity, mode, objs, modified_after):
        m = self.mirror[entity]
        if entity in MIRRORED and (modified_after is None or
                                   mode == "full"):
            m.clear()
        for o in objs:
            m[o["id"]] = o

    def sync(self, entities=None):
        """One sync of every entity; returns {entity: (mode, count)}."""
        start = self.clock()
        since = self.last_sync
        done = {}
        for e in entities or list(self.urls):
            mode, objs = self.pull(e, since)
            self.apply(e, mode, objs, since)
            done[e] = (mode if since is not None else "full", len(objs))
        self.last_sync = start
        return done

    # -- Clerk's data rules --------------------------------------------------
    def check(self, entity, page, o):
        where = "%s page %d" % (entity, page)
        if not isinstance(o, dict):
            raise ImportFailed("%s: an object expected, got %r" % (where,
                                                                   o))
        oid = o.get("id")
        for f, t in REQUIRED.get(entity, {}).items():
            if f not in o:
                raise ImportFailed("%s: object %r lacks %s" % (where, oid,
                                                               f))
            if isinstance(o[f], bool) or not isinstance(o[f], t):
                raise ImportFailed("%s: object %r: %s is %r" % (where, oid,
                                                                f, o[f]))
        for f, t in OPTIONAL.items():
            if f in o and (not isinstance(o[f], t) or
                           (t is not bool and isinstance(o[f], bool))):
                raise ImportFailed("%s: object %r: %s is %r" % (where, oid,
                                                                f, o[f]))
        for k, v in o.items():
            if not NAME_OK.match(k):
                raise ImportFailed("%s: object %r: attribute name %r" %
                                   (where, oid, k))
            if v is None:
                raise ImportFailed("%s: object %r: %s is null" % (where,
                                                                  oid, k))
        kind = type(oid).__name__
        if self.id_type.setdefault(entity, kind) != kind:
            raise ImportFailed("%s: object %r: id type %s, earlier ids "
                               "were %s" % (where, oid, kind,
                                            self.id_type[entity]))


def parse_body(body, ctype, where):
    text = body.decode("utf-8")
    if ctype == "application/json":
        doc = json.loads(text)
        if not isinstance(doc, list):
            raise ImportFailed("%s: a JSON array expected" % where)
        return doc
    if ctype != "application/x-ndjson":
        raise ImportFailed("%s: Content-Type %r" % (where, ctype))
    if text and not text.endswith("\n"):
        raise ImportFailed("%s: NDJSON not newline-terminated" % where)
    out = []
    for n, line in enumerate(text.split("\n")[:-1], 1):
        try:
            out.append(json.loads(line))
        except ValueError as e:
            raise ImportFailed("%s: line %d: %s" % (where, n, e))
    return out
