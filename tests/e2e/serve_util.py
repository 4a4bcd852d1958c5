"""Helpers for the `posfeed serve` end-to-end tests: start the server on a
free loopback port, talk HTTP to it, stop it with a signal."""
import http.client
import json
import os
import resource
import select
import signal
import socket
import subprocess
import time

from shop import BIN, NOW, REPO

TOKEN = "t0ken-for-tests-only"


class Server:
    """A running `posfeed serve` for one Shop (config already written)."""

    def __init__(self, shop, env=None, now=NOW, nofile=None):
        """nofile: (soft, hard) RLIMIT_NOFILE for the server process."""
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
            stdout=subprocess.PIPE, stderr=self.err, env=e,
            preexec_fn=None if nofile is None else
            lambda: resource.setrlimit(resource.RLIMIT_NOFILE, nofile))
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


class Slow:
    """One trickling socket of a Trickler."""

    def __init__(self, addr, port):
        self.addr = addr
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.sock.bind((addr, 0))
        self.opened = time.monotonic()
        self.closed = None      # when the server closed it
        self.sent = 0           # header lines sent
        try:
            self.sock.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass


class Trickler:
    """A slowloris: `per_addr` sockets from each of `addrs` source
    addresses (all of 127/8 is loopback on Linux), each sending a request
    line and then one more header line every `every` seconds, never the
    blank line that ends the headers. Non-blocking, standard library only.

    Records when each socket was opened and when the server closed it, so
    a test can tell a refusal (closed at once) from a deadline (closed
    later despite the trickle)."""

    def __init__(self, port, addrs, per_addr, every=0.5,
                 path="/feeds/pub.json"):
        self.every = every
        self.first = ("GET %s HTTP/1.1\r\nHost: x\r\n" % path).encode()
        self.socks = [Slow(a, port) for _ in range(per_addr) for a in addrs]
        self.next_send = 0.0

    def alive(self):
        return [e for e in self.socks if e.closed is None]

    def pump(self, seconds):
        """Trickles and watches for closes for `seconds`."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            now = time.monotonic()
            if now >= self.next_send:
                for e in self.alive():
                    self._send(e, now)
                self.next_send = now + self.every
            live = self.alive()
            wait = max(0.0, min(end, self.next_send) - now)
            if not live:
                time.sleep(wait)
                continue
            rd, _, _ = select.select([e.sock for e in live], [], [], wait)
            now = time.monotonic()
            for e in live:
                if e.sock in rd:
                    self._read(e, now)

    def _send(self, e, now):
        data = self.first if e.sent == 0 else b"X-Slow: %d\r\n" % e.sent
        try:
            e.sock.send(data)
            e.sent += 1
        except (BlockingIOError, InterruptedError):
            pass            # still connecting, or a full buffer
        except OSError:
            e.closed = now

    @staticmethod
    def _read(e, now):
        try:
            if e.sock.recv(4096) == b"":
                e.closed = now
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            e.closed = now

    def close(self):
        for e in self.socks:
            e.sock.close()
