"""A proxy in front of an S3-compatible test server (s3rver) that checks
the AWS Signature Version 4 of every request itself, because s3rver 3.7
accepts any signature when started with --allow-mismatched-signatures
(and without it knows only the key pair S3RVER/S3RVER).

Written from AWS's documentation of SigV4 for S3 with the Authorization
header:
  https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
(canonical request -> string to sign -> signing key derived from the
secret by HMAC-SHA256 over date, region, service and "aws4_request" ->
signature). Standard library only (hmac, hashlib).

What it refuses, with the XML error S3 would send:
  403 SignatureDoesNotMatch  the signature is not the one the secret of
                             the request's access key gives
  403 InvalidAccessKeyId     an access key it was not given
  403 AccessDenied           no or a malformed Authorization header
  403 RequestTimeTooSkewed   x-amz-date more than 15 minutes off
  400 XAmzContentSHA256Mismatch  the body is not what was signed
Everything it lets through goes to the upstream server unchanged. It
records each request (method, path, headers that matter, which headers
were signed, the answer) in order, so a test can check which object was
uploaded when, and it can answer the next requests matching a path
with an injected error (e.g. 503 SlowDown) before passing any through.
"""
import hashlib
import hmac
import http.client
import http.server
import re
import threading
import time
import urllib.parse

ALGO = "AWS4-HMAC-SHA256"
UNSIGNED = "UNSIGNED-PAYLOAD"
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate",
              "proxy-authorization", "te", "trailers", "transfer-encoding",
              "upgrade", "expect"}
AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=([^/,]+)/(\d{8})/([^/,]+)/([^/,]+)/"
    r"aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*"
    r"Signature=([0-9a-f]{64})$")


def _uri_encode(s, keep_slash):
    safe = "-_.~" + ("/" if keep_slash else "")
    return urllib.parse.quote(s, safe=safe)


def canonical_query(query):
    """Each name=value URI-encoded, sorted by name then value."""
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    enc = sorted((_uri_encode(k, False), _uri_encode(v, False))
                 for k, v in pairs)
    return "&".join("%s=%s" % kv for kv in enc)


def _trim(v):
    return " ".join(v.strip().split())


def canonical_request(method, raw_path, headers, signed, payload_hash):
    """headers: {lower-case name: value}. raw_path: the request target as
    sent (S3 signs the path URI-encoded once, which is how a client
    sends it; a path sent unencoded is encoded here)."""
    path, _, query = raw_path.partition("?")
    path = _uri_encode(urllib.parse.unquote(path), True) or "/"
    lines = [method, path, canonical_query(query)]
    lines += ["%s:%s" % (h, _trim(headers.get(h, ""))) for h in signed]
    lines += ["", ";".join(signed), payload_hash]
    return "\n".join(lines)


def signing_key(secret, date, region, service):
    k = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


def signature(secret, amz_date, region, service, creq):
    scope = "%s/%s/%s/aws4_request" % (amz_date[:8], region, service)
    sts = "\n".join([ALGO, amz_date, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    return hmac.new(signing_key(secret, amz_date[:8], region, service),
                    sts.encode(), hashlib.sha256).hexdigest()


def sign(method, raw_path, headers, access_key, secret, region,
         service="s3"):
    """The Authorization header for a request whose headers (lower-case
    names) include x-amz-date and x-amz-content-sha256; every header
    given is signed. For the tests of the verifier itself."""
    signed = sorted(headers)
    creq = canonical_request(method, raw_path, headers, signed,
                             headers["x-amz-content-sha256"])
    sig = signature(secret, headers["x-amz-date"], region, service, creq)
    return ("%s Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, "
            "Signature=%s" % (ALGO, access_key, headers["x-amz-date"][:8],
                              region, service, ";".join(signed), sig))


def verify(method, raw_path, headers, keys, region, now=None,
           service="s3"):
    """None if the request is signed right, else (status, code, message).
    headers: {lower-case name: value}; keys: {access key: secret}."""
    m = AUTH_RE.match(headers.get("authorization", ""))
    if not m:
        return 403, "AccessDenied", "missing or malformed Authorization"
    akid, date, reg, svc, signed_s, sig = m.groups()
    if akid not in keys:
        return 403, "InvalidAccessKeyId", "unknown access key"
    amz_date = headers.get("x-amz-date", "")
    if not re.match(r"^\d{8}T\d{6}Z$", amz_date) or amz_date[:8] != date:
        return 403, "AccessDenied", "x-amz-date missing or not the scope's"
    if reg != region or svc != service:
        return 403, "AuthorizationHeaderMalformed", "wrong region/service"
    if now is not None:
        t = time.mktime(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
        t -= time.timezone
        if abs(t - now) > 15 * 60:
            return 403, "RequestTimeTooSkewed", "clock too far off"
    signed = signed_s.split(";")
    if signed != sorted(signed) or "host" not in signed or \
            "x-amz-date" not in signed:
        return 403, "AccessDenied", "SignedHeaders must be sorted and " \
                                    "include host and x-amz-date"
    payload = headers.get("x-amz-content-sha256")
    if payload is None:
        return 400, "InvalidRequest", "missing x-amz-content-sha256"
    if "x-amz-content-sha256" not in signed:
        return 403, "AccessDenied", "x-amz-content-sha256 not signed"
    creq = canonical_request(method, raw_path, headers, signed, payload)
    want = signature(keys[akid], amz_date, reg, svc, creq)
    if not hmac.compare_digest(want, sig):
        return (403, "SignatureDoesNotMatch",
                "The request signature we calculated does not match the "
                "signature you provided. Check your key and signing "
                "method.")
    return None


def error_xml(code, message):
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s"
            "</Code><Message>%s</Message><RequestId>verify</RequestId>"
            "</Error>" % (code, message)).encode()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _headers(self):
        return {k.lower(): v for k, v in self.headers.items()}

    def _reply(self, status, body, headers=(), close=False, length=None):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length",
                         str(len(body)) if length is None else length)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _refuse(self, status, code, message, hdrs, body_read):
        self.server.owner._record(self.command, self.path, hdrs, status,
                                  code)
        self._reply(status, error_xml(code, message),
                    [("Content-Type", "application/xml")],
                    close=not body_read)

    def handle_expect_100(self):
        # S3 answers a bad signature before the body: so does this.
        o = self.server.owner
        bad = verify(self.command, self.path, self._headers(), o.keys,
                     o.region, now=time.time())
        if bad:
            self._refuse(bad[0], bad[1], bad[2], self._headers(), False)
            return False
        return super().handle_expect_100()

    def _handle(self):
        o = self.server.owner
        hdrs = self._headers()
        bad = verify(self.command, self.path, hdrs, o.keys, o.region,
                     now=time.time())
        n = int(hdrs.get("content-length", "0") or 0)
        if bad:
            self._refuse(bad[0], bad[1], bad[2], hdrs, n == 0)
            return
        body = self.rfile.read(n) if n else b""
        want = hdrs["x-amz-content-sha256"]
        if want == UNSIGNED:
            o.unsigned += 1
        elif hashlib.sha256(body).hexdigest() != want:
            self._refuse(400, "XAmzContentSHA256Mismatch", "The provided "
                         "'x-amz-content-sha256' header does not match "
                         "what was computed.", hdrs, True)
            return
        inj = o._take_injection(self.command, self.path)
        if inj is not None:
            self._refuse(inj[0], inj[1], "injected by the test", hdrs,
                         True)
            return
        self._forward(hdrs, body)

    def _forward(self, hdrs, body):
        o = self.server.owner
        conn = http.client.HTTPConnection("127.0.0.1", o.upstream_port,
                                          timeout=60)
        try:
            fwd = {k: v for k, v in self.headers.items()
                   if k.lower() not in HOP_BY_HOP}
            conn.request(self.command, self.path, body=body, headers=fwd)
            r = conn.getresponse()
            data = r.read()
            out = [(k, v) for k, v in r.getheaders()
                   if k.lower() not in HOP_BY_HOP and
                   k.lower() != "content-length"]
            length = r.getheader("content-length")
        finally:
            conn.close()
        o._record(self.command, self.path, hdrs, r.status, "")
        # A HEAD has no body: its Content-Length is the object's, which
        # the client compares with its file, so it goes through as is.
        self._reply(r.status, data, out,
                    length=length if self.command == "HEAD" else None)

    do_PUT = do_GET = do_HEAD = do_DELETE = do_POST = _handle


class Verifier:
    """The proxy: Verifier(upstream_port, {access: secret}, region)
    .start() -> .url (http://127.0.0.1:PORT). .requests: what came in,
    in order, as dicts (method, path, status, code, signed: the names in
    SignedHeaders, headers)."""

    def __init__(self, upstream_port, keys, region="us-east-1"):
        self.upstream_port = upstream_port
        self.keys = dict(keys)
        self.region = region
        self.requests = []
        self.unsigned = 0
        self._inject = []
        self._lock = threading.Lock()
        self._srv = None

    def start(self):
        self._srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                    _Handler)
        self._srv.daemon_threads = True
        self._srv.owner = self
        threading.Thread(target=self._srv.serve_forever,
                         daemon=True).start()
        self.url = "http://127.0.0.1:%d" % self._srv.server_address[1]
        return self

    def stop(self):
        if self._srv:
            self._srv.shutdown()
            self._srv.server_close()

    def inject(self, method, path_suffix, status, code, count=1):
        """The next count requests of method whose path ends with
        path_suffix get status/code instead of reaching the server."""
        with self._lock:
            self._inject.append([method, path_suffix, status, code, count])

    def _take_injection(self, method, path):
        with self._lock:
            for inj in self._inject:
                if inj[0] == method and path.split("?")[0].endswith(
                        inj[1]) and inj[4] > 0:
                    inj[4] -= 1
                    return inj[2], inj[3]
        return None

    def _record(self, method, path, hdrs, status, code):
        m = AUTH_RE.match(hdrs.get("authorization", ""))
        with self._lock:
            self.requests.append({
                "method": method, "path": path.split("?")[0],
                "status": status, "code": code,
                "signed": m.group(5).split(";") if m else [],
                "headers": {k: hdrs[k] for k in (
                    "content-type", "content-encoding", "cache-control",
                    "content-length", "x-amz-content-sha256",
                    "x-amz-meta-posfeed-sha256")
                    if k in hdrs}})
