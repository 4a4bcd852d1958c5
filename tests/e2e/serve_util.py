"""Helpers for the `posfeed serve` end-to-end tests: start the server on a
free loopback port, talk HTTP to it, stop it with a signal."""
import http.client
import json
import os
import select
import signal
import subprocess
import time

from shop import BIN, NOW, REPO

TOKEN = "t0ken-for-tests-only"


class Server:
    """A running `posfeed serve` for one Shop (config already written)."""

    def __init__(self, shop, env=None, now=NOW):
        self.shop = shop
        e = dict(os.environ)
        e["POSFEED_NOW"] = now
        e["POSFEED_TEMPLATES"] = os.path.join(REPO, "templates")
        e["POSFEED_TOKEN"] = TOKEN
        if env:
            e.update(env)
        self.errpath = os.path.join(shop.dir, "serve-%d.log" % time.time_ns())
        self.err = open(self.errpath, "w")
        self.proc = subprocess.Popen(
            [BIN, "-c", os.path.join(shop.dir, "posfeed.conf"), "serve",
             "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=self.err, env=e)
        shop.tc.addCleanup(self.kill)
        ready, _, _ = select.select([self.proc.stdout], [], [], 20)
        line = self.proc.stdout.readline().decode() if ready else ""
        if not line.startswith("listening on http://127.0.0.1:"):
            self.kill()
            shop.tc.fail("serve did not start: %r\n%s" % (line, self.log()))
        self.port = int(line.rsplit(":", 1)[1])

    def log(self):
        if not self.err.closed:
            self.err.flush()
        with open(self.errpath, encoding="utf-8", errors="replace") as f:
            return f.read()

    def request(self, method, path, headers=None, body=None):
        """(status, headers dict with lower-case names, body bytes)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            # skip_host etc. are not needed; the path goes out verbatim,
            # so traversal attempts reach the server unnormalised.
            c.putrequest(method, path, skip_accept_encoding=True)
            for k, v in (headers or {}).items():
                c.putheader(k, v)
            if body is not None:
                c.putheader("Content-Length", str(len(body)))
            c.endheaders(body)
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def get(self, path, **headers):
        return self.request("GET", path, headers)

    def json(self, path, **headers):
        st, _, body = self.get(path, **headers)
        assert st == 200, (path, st, body)
        return json.loads(body)

    def sync(self, token=TOKEN):
        h = {"Authorization": "Bearer " + token} if token else {}
        return self.request("POST", "/sync", h)

    def wait_run(self, run_id, timeout=60):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            r = self.json("/runs/%d" % run_id)
            if r["state"] != "running":
                return r
            time.sleep(0.05)
        raise AssertionError("run %d still going after %ds" % (run_id,
                                                               timeout))

    def wait_for(self, pred, timeout=20, what="condition"):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            v = pred()
            if v:
                return v
            time.sleep(0.05)
        raise AssertionError("timed out waiting for %s\n%s" % (what,
                                                               self.log()))

    def stop(self, sig=signal.SIGTERM, timeout=30):
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=timeout)
        self.proc.stdout.close()
        self.err.close()
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if not self.proc.stdout.closed:
            self.proc.stdout.close()
        if not self.err.closed:
            self.err.close()
