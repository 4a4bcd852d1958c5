"""Helpers for the `posfeed serve` end-to-end tests: start the server on a
free loopback port, talk HTTP to it, stop it with a signal; read its
Prometheus text strictly; find the optional checkers (promtool,
html-validate, chromium)."""
import http.client
import json
import math
import os
import re
import resource
import select
import shutil
import signal
import socket
import sys
import subprocess
import time

from shop import BIN, NOW, REPO

TOKEN = "t0ken-for-tests-only"


class Server:
    """A running `posfeed serve` for one Shop (config already written)."""

    def __init__(self, shop, env=None, now=NOW, nofile=None,
                 scheme="http"):
        """nofile: (soft, hard) RLIMIT_NOFILE for the server process;
        scheme: what the start line must say (https with tls_cert)."""
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
        if not line.startswith("listening on %s://127.0.0.1:" % scheme):
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
        if rc != 0 and sig == signal.SIGTERM:
            # A stop that does not exit 0 fails the test that asked for
            # it; what the server said last tells why (an abort, a
            # sanitizer report).
            sys.stderr.write("posfeed serve exited %d; its log ends:\n%s\n"
                             % (rc, self.log()[-6000:]))
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if not self.proc.stdout.closed:
            self.proc.stdout.close()
        if not self.err.closed:
            self.err.close()


class ShopsServer(Server):
    """A running `posfeed serve` of many shops: args is what follows the
    binary (e.g. ["serve", "--shops", DIR] or ["-c", CONF, "serve"]);
    logdir holds its stderr. Shares Server's HTTP helpers."""

    def __init__(self, tc, args, logdir, env=None, now=NOW):
        self.shop = None
        e = dict(os.environ)
        e["POSFEED_NOW"] = now
        e["POSFEED_TEMPLATES"] = os.path.join(REPO, "templates")
        if env:
            e.update(env)
        self.errpath = os.path.join(logdir, "serve-%d.log" % time.time_ns())
        self.err = open(self.errpath, "w")
        self.proc = subprocess.Popen(
            [BIN] + list(args) + ["--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=self.err, env=e)
        tc.addCleanup(self.kill)
        ready, _, _ = select.select([self.proc.stdout], [], [], 60)
        line = self.proc.stdout.readline().decode() if ready else ""
        if not line.startswith("listening on http://127.0.0.1:"):
            self.kill()
            tc.fail("serve did not start: %r\n%s" % (line, self.log()))
        self.port = int(line.rsplit(":", 1)[1])

    def wait_shop_run(self, shop, run_id, timeout=60, **headers):
        """/SHOP/runs/N once it is neither queued nor running."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            r = self.json("/%s/runs/%d" % (shop, run_id), **headers)
            if r["state"] not in ("queued", "running"):
                return r
            time.sleep(0.05)
        raise AssertionError("%s run %d still going after %ds\n%s"
                             % (shop, run_id, timeout, self.log()))


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


# ---- Prometheus text format ---------------------------------------------
# Read as the text format 0.0.4 defines it
# (prometheus.io/docs/instrumenting/exposition_formats/, "Text format
# details"), plus posfeed's own rules: every family has HELP and TYPE, and
# a counter ends in _total and always has a sample.

_METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def _labels(s, i, where):
    """Parses '{a="x",b="y"}' starting at s[i] == '{'; (dict, next i)."""
    out = {}
    i += 1
    while True:
        if s[i] == "}":
            return out, i + 1
        m = _LABEL.match(s, i)
        if not m or s[m.end():m.end() + 2] != '="':
            raise AssertionError("%s: bad label at column %d" % (where, i))
        name, i, val = m.group(), m.end() + 2, []
        while s[i] != '"':
            if s[i] == "\\":
                esc = {"\\": "\\", '"': '"', "n": "\n"}.get(s[i + 1])
                if esc is None:
                    raise AssertionError("%s: bad escape %r" % (where,
                                                                s[i:i + 2]))
                val.append(esc)
                i += 2
            elif s[i] == "\n":
                raise AssertionError("%s: raw newline in a label" % where)
            else:
                val.append(s[i])
                i += 1
        if name in out:
            raise AssertionError("%s: label %s twice" % (where, name))
        out[name] = "".join(val)
        i += 1
        if s[i] == ",":
            i += 1
        elif s[i] != "}":
            raise AssertionError("%s: expected , or } at %d" % (where, i))


def _sample(line, where):
    m = _METRIC.match(line)
    if not m:
        raise AssertionError("%s: no metric name" % where)
    i, labels = m.end(), {}
    if i < len(line) and line[i] == "{":
        try:
            labels, i = _labels(line, i, where)
        except IndexError:
            raise AssertionError("%s: unterminated labels" % where)
    rest = line[i:].split()
    if len(rest) not in (1, 2) or not line[i:i + 1].isspace():
        raise AssertionError("%s: expected a value" % where)
    try:
        value = float(rest[0])
    except ValueError:
        raise AssertionError("%s: bad value %r" % (where, rest[0]))
    return m.group(), labels, value


def parse_metrics(text):
    """{family: {"type", "help", "samples": [(labels, value)]}}; raises
    AssertionError naming the line on anything the format forbids."""
    fams, current = {}, None
    if not text.endswith("\n"):
        raise AssertionError("the last line must end with a line feed")
    for n, line in enumerate(text[:-1].split("\n"), 1):
        where = "line %d %r" % (n, line)
        if not line.strip():
            continue
        if line.lstrip().startswith("#"):
            tok = line.lstrip()[1:].split(None, 2)
            if len(tok) < 2 or tok[0] not in ("HELP", "TYPE"):
                continue
            name, kind = tok[1], tok[0].lower()
        else:
            name, labels, value = _sample(line, where)
            kind = "sample"
        if name != current:
            if name in fams:
                raise AssertionError("%s: %s is split into two groups"
                                     % (where, name))
            fams[name] = {"type": None, "help": None, "samples": []}
            current = name
        f = fams[name]
        if kind == "sample":
            if f["type"] is None or f["help"] is None:
                raise AssertionError("%s: a sample before HELP and TYPE"
                                     % where)
            key = tuple(sorted(labels.items()))
            if key in [tuple(sorted(x.items())) for x, _ in f["samples"]]:
                raise AssertionError("%s: the same series twice" % where)
            f["samples"].append((labels, value))
        elif f[kind] is not None:
            raise AssertionError("%s: a second %s" % (where, kind.upper()))
        elif f["samples"]:
            raise AssertionError("%s: %s after samples" % (where,
                                                           kind.upper()))
        else:
            f[kind] = tok[2] if len(tok) > 2 else ""
            if kind == "type" and f["type"] not in _TYPES:
                raise AssertionError("%s: unknown type" % where)
    for name, f in fams.items():
        if f["type"] is None or f["help"] is None:
            raise AssertionError("%s has no %s" % (
                name, "TYPE" if f["type"] is None else "HELP"))
        if f["type"] == "counter":
            if not name.endswith("_total"):
                raise AssertionError("counter %s does not end in _total"
                                     % name)
            if not f["samples"]:
                raise AssertionError("counter %s has no sample" % name)
            for _, v in f["samples"]:
                if v < 0 or math.isnan(v):
                    raise AssertionError("counter %s is %r" % (name, v))
    return fams


def series(fams, name):
    """{frozenset of label items: value} of one family."""
    return {frozenset(lab.items()): v for lab, v in fams[name]["samples"]}


# ---- optional checkers ----------------------------------------------------

NODE_DIR = os.path.join(REPO, "tests", "node")


def promtool():
    """promtool's path, or None (Debian package `prometheus`)."""
    return shutil.which("promtool")


def chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


def html_validate():
    """(argv to validate files with the project's rules, None) or (None,
    why it cannot run). html-validate comes from `npm ci` in tests/node
    (.ci/run does it), or from PATH."""
    exe = os.path.join(NODE_DIR, "node_modules", ".bin", "html-validate")
    if not os.path.exists(exe):
        exe = shutil.which("html-validate")
    if exe is None:
        return None, ("html-validate is not installed: run `npm ci` in "
                      "tests/node (.ci/run does)")
    node = shutil.which("node")
    if node is None:
        return None, "html-validate needs Node.js (Debian package nodejs)"
    ver = subprocess.run([node, "--version"], capture_output=True,
                         text=True).stdout.strip().lstrip("v")
    major, minor = (int(x) for x in ver.split(".")[:2])
    # tests/node/package.json's html-validate needs Node.js 20.19 or later
    if (major, minor) < (20, 19):
        return None, "html-validate needs Node.js 20.19 or later, not " + ver
    return [exe, "--config", os.path.join(NODE_DIR, "htmlvalidate.json")], \
        None


def chromium_dump_dom(chrome, profile, url):
    """The DOM of url after its scripts ran, as headless Chromium
    serialises it."""
    r = subprocess.run(
        [chrome, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update",
         "--no-first-run", "--disable-dev-shm-usage",
         "--user-data-dir=" + profile, "--dump-dom", url],
        capture_output=True, text=True, timeout=90)
    if r.returncode != 0:
        raise AssertionError("chromium --dump-dom failed:\n" +
                             r.stderr[-2000:])
    return r.stdout
