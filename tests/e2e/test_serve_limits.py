"""`posfeed serve` under slow and greedy clients: a request must be
complete within [serve] header_timeout however it trickles, the per-IP
limit refuses only the greedy address, and a legitimate client is served
while 500 trickling sockets from 50 addresses attack (issue 8, item 5)."""
import http.client
import resource
import socket
import time
import unittest

from serve_util import Server, Trickler
from test_serve import ServeTest

DEADLINE = 2            # [serve] header_timeout in these tests
ADDRS = ["127.0.0.%d" % i for i in range(2, 52)]     # 50 addresses
PER_ADDR = 10           # 2 over the default per_ip_limit of 8


def raise_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        return True
    if hard != resource.RLIM_INFINITY and hard < need:
        return False
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    return True


def closed_by_server(sock, timeout):
    """True when the server closes `sock` (EOF or reset) within timeout."""
    sock.settimeout(timeout)
    try:
        while sock.recv(4096) != b"":
            pass
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


class Limits(ServeTest):
    def setUp(self):
        self.s = self.make_shop(serve_extra="header_timeout = %d\n" %
                                DEADLINE)
        self.write(self.s)
        self.s.posfeed("run")
        self.srv = Server(self.s)

    def tearDown(self):
        self.assertEqual(self.srv.stop(), 0, self.srv.log())

    def fetch(self, path="/feeds/pub.json", timeout=5):
        c = http.client.HTTPConnection("127.0.0.1", self.srv.port,
                                       timeout=timeout)
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def test_slowloris_from_50_addresses(self):
        if not raise_fd_limit(len(ADDRS) * PER_ADDR + 200):
            self.skipTest("needs %d open files" % (len(ADDRS) * PER_ADDR))
        t = Trickler(self.srv.port, ADDRS, PER_ADDR, every=0.5)
        self.addCleanup(t.close)
        over = len(ADDRS) * (PER_ADDR - 8)
        # Well before any deadline (counted from each accept).
        end = time.monotonic() + DEADLINE - 0.5
        t.pump(0.5)
        while len(t.socks) - len(t.alive()) < over and \
                time.monotonic() < end:
            t.pump(0.1)
        # Per address: the sockets over per_ip_limit were refused at once,
        # the others are held open (trickling) while the rest connect.
        for a in ADDRS:
            mine = [e for e in t.socks if e.addr == a]
            refused = [e for e in mine if e.closed is not None]
            self.assertEqual((a, len(refused)), (a, PER_ADDR - 8))
            for e in refused:
                self.assertLess(e.closed - e.opened, DEADLINE - 0.5)
        self.assertEqual(len(t.alive()), len(ADDRS) * 8)
        # A legitimate client is served at once meanwhile.
        t0 = time.monotonic()
        st, body = self.fetch()
        self.assertEqual(st, 200)
        self.assertLess(time.monotonic() - t0, 3)
        self.assertIn(b"products", body)
        # The trickle does not keep them: each is cut at its deadline,
        # counted from the connect, having sent line after line.
        t.pump(DEADLINE + 2.5)
        self.assertEqual(t.alive(), [])
        held = [e for e in t.socks if e.closed - e.opened > DEADLINE - 0.5]
        self.assertEqual(len(held), len(ADDRS) * 8)
        for e in held:
            self.assertGreater(e.closed - e.opened, DEADLINE - 0.3)
            self.assertLess(e.closed - e.opened, DEADLINE + 2)
            self.assertGreaterEqual(e.sent, 3)
        self.assertEqual(self.fetch("/healthz"), (200, b"ok\n"))

    def test_deadline_per_request_and_body(self):
        srv = self.srv
        # A second request on a kept-alive connection gets its own
        # deadline from the end of the first, and trickling it is cut.
        c = socket.create_connection(("127.0.0.1", srv.port))
        self.addCleanup(c.close)
        c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertIn(b"200 OK", c.recv(4096))
        c.sendall(b"GET /healthz HTTP/1.1\r\n")
        t0 = time.monotonic()
        for i in range(int(DEADLINE / 0.4) + 6):
            try:
                c.sendall(b"X-Slow: %d\r\n" % i)
            except OSError:
                break
            time.sleep(0.4)
        self.assertTrue(closed_by_server(c, 3))
        self.assertLess(time.monotonic() - t0, DEADLINE + 3)
        # A body trickled after complete headers counts too.
        b = socket.create_connection(("127.0.0.1", srv.port))
        self.addCleanup(b.close)
        b.sendall(b"POST /sync HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Length: 1000\r\n\r\n")
        t0 = time.monotonic()
        for _ in range(int(DEADLINE / 0.4) + 6):
            try:
                b.sendall(b"x")
            except OSError:
                break
            time.sleep(0.4)
        self.assertTrue(closed_by_server(b, 3))
        self.assertLess(time.monotonic() - t0, DEADLINE + 3)

    def test_slow_reader_is_not_cut_by_the_deadline(self):
        # The deadline covers receiving the request, not sending the
        # answer: a client that reads late still gets the whole feed.
        c = socket.create_connection(("127.0.0.1", self.srv.port))
        self.addCleanup(c.close)
        c.sendall(b"GET /feeds/pub.json HTTP/1.1\r\nHost: x\r\n"
                  b"Connection: close\r\n\r\n")
        time.sleep(DEADLINE + 1)
        data = b""
        c.settimeout(5)
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        with open(self.s.feed_path("pub.json"), "rb") as f:
            self.assertEqual(body, f.read())


class FdLimit(ServeTest):
    """max_connections needs two descriptors each: the server raises its
    soft RLIMIT_NOFILE to fit, or serves fewer connections and says so."""

    def soft_nofile(self, pid):
        with open("/proc/%d/limits" % pid) as f:
            for line in f:
                if line.startswith("Max open files"):
                    return int(line.split()[3])
        self.fail("no open-files line in /proc/%d/limits" % pid)

    def start(self, nofile):
        s = self.make_shop(serve_extra="max_connections = 500\n")
        self.write(s)
        return Server(s, nofile=nofile)

    def test_raised_to_fit(self):
        srv = self.start((100, 4000))
        self.assertEqual(self.soft_nofile(srv.proc.pid), 2 * 500 + 64)
        self.assertNotIn("max_connections", srv.log())
        self.assertEqual(srv.stop(), 0)

    def test_clamped_to_the_hard_limit(self):
        srv = self.start((100, 364))
        self.assertEqual(self.soft_nofile(srv.proc.pid), 364)
        self.assertIn("max_connections = 500 needs 1064 open files, the "
                      "limit is 364", srv.log())
        self.assertIn("serving at most 150 connections", srv.log())
        self.assertEqual(srv.get("/healthz")[0], 200)
        self.assertEqual(srv.stop(), 0)


if __name__ == "__main__":
    unittest.main()
