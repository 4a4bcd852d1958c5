#!/usr/bin/env python3
"""Clerk.io token-verify endpoint emulator (loopback), for posfeed's
JSON Feed V2 endpoints (src/serve_clerk_auth.c). Standard library only.

This docstring is the contract the server is written against. Sources:
  [REF]  /work/shared/reference/output-formats.md section 1.3: Clerk's
         importer sends "X-Clerk-Authorization: Bearer <token>"; the
         shop's endpoint POSTs {"token": ..., "key": <public key>} to
         https://api.clerk.io/v2/token/verify; "status": "ok" in the
         answer means valid.
  GUESS  not found in Clerk's public documentation (searched its help
         pages and the official extensions): the shape and HTTP status
         of a refusal. Clerk's API answers errors elsewhere with
         {"status": "error", "type": "...", "message": "..."}, so this
         emulator does the same, with HTTP 200 by default and 401 with
         refuse_status = 401 (posfeed must treat both as a refusal).

Behaviour
---------
POST {path} (any path; the real one is /v2/token/verify) with a JSON
object body:
  - {"token": T, "key": K} where T was given to K (grant) and has not
    expired: 200 {"status": "ok"}
  - T unknown for K:   refuse_status {"status": "error",
                        "type": "invalid_token", "message": "..."}
  - T expired:         refuse_status {"status": "error",
                        "type": "token_expired", "message": "..."}
  - body not JSON / no token or key: 400 {"status": "error",
                        "type": "bad_request", ...}
Modes (Verify.mode):
  "up"       as above
  "503"      503 with a JSON error body, no verdict
  "garbage"  200 with a body that is not JSON
  "hang"     waits `hang_s` seconds before answering (a timeout)
  "down"     the listening socket is closed: connection refused
Every request counts in calls (the tests see the server's cache work);
bodies are kept in seen (tokens are test values).
"""
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Verify:
    def __init__(self, refuse_status=200):
        self.grants = {}            # (key, token) -> expiry (epoch) or None
        self.mode = "up"
        self.refuse_status = refuse_status
        self.hang_s = 10
        self.calls = 0
        self.seen = []
        self.lock = threading.Lock()
        self.server = None
        self.port = None

    # -- setup ------------------------------------------------------------
    def grant(self, key, token, ttl=None):
        """token is valid for key; for ttl seconds when given."""
        self.grants[(key, token)] = None if ttl is None else \
            time.time() + ttl

    def expire(self, key, token):
        self.grants[(key, token)] = time.time() - 1

    def url(self):
        return "http://127.0.0.1:%d/v2/token/verify" % self.port

    def start(self, port=0):
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.server.verify = self
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def go_down(self):
        """Connection refused from now on (the port stays unused)."""
        self.mode = "down"
        self.stop()

    def count(self):
        with self.lock:
            return self.calls

    # -- the verdict --------------------------------------------------------
    def answer(self, body):
        """(status, JSON-able body) for a request body (bytes)."""
        try:
            req = json.loads(body)
        except ValueError:
            req = None
        if not isinstance(req, dict) or not isinstance(
                req.get("token"), str) or not isinstance(req.get("key"),
                                                         str):
            return 400, error("bad_request", "expected a JSON object "
                              "with token and key")
        key, tok = req["key"], req["token"]
        if (key, tok) not in self.grants:
            return self.refuse_status, error(
                "invalid_token", "the token is not valid for this key")
        until = self.grants[(key, tok)]
        if until is not None and until < time.time():
            return self.refuse_status, error("token_expired",
                                             "the token has expired")
        return 200, {"status": "ok"}


def error(kind, msg):
    return {"status": "error", "type": kind, "message": msg}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        v = self.server.verify
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n > 0 else b""
        with v.lock:
            v.calls += 1
            v.seen.append(body)
        if v.mode == "hang":
            time.sleep(v.hang_s)
        if v.mode == "503":
            return self.send(503, json.dumps(error(
                "unavailable", "try again later")).encode())
        if v.mode == "garbage":
            return self.send(200, b"<html>gateway</html>", "text/html")
        st, doc = v.answer(body)
        self.send(st, json.dumps(doc).encode())

    def send(self, status, data, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--grant", action="append", default=[],
                    metavar="KEY:TOKEN")
    a = ap.parse_args()
    v = Verify()
    for g in a.grant:
        key, _, tok = g.partition(":")
        v.grant(key, tok)
    v.start(a.port)
    print("clerk verify emulator on %s" % v.url(), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        v.stop()


if __name__ == "__main__":
    main()
