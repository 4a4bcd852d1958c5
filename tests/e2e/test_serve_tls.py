"""`posfeed serve` over HTTPS (issue 14): [serve] tls_cert + tls_key,
TLS 1.2+ only, static feeds with Range, If-Modified-Since and
Content-Length over TLS, certificate reload on SIGHUP without dropping a
running download (a broken new pair keeps the old one), and `posfeed
check` on the pair. A test CA and its certificates are made by the
openssl command line in the test's temp dir; everything is loopback."""
import hashlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
import warnings

from serve_util import TOKEN, Server
from shop import BIN, NOW, REPO
from test_docs import code_blocks
from test_serve import ServeTest


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   capture_output=True)


class Pki:
    """A CA and leaf certificates for localhost/127.0.0.1, in dir."""

    def __init__(self, dir):
        self.dir = dir
        with open(self.path("ca.cnf"), "w") as f:
            f.write("[ca]\ndefault_ca = tca\n[tca]\n"
                    "database = %s\nnew_certs_dir = %s\nserial = %s\n"
                    "default_md = sha256\npolicy = pol\n"
                    "copy_extensions = copy\nunique_subject = no\n"
                    "[pol]\ncommonName = supplied\n"
                    % (self.path("index.txt"), dir, self.path("serial")))
        open(self.path("index.txt"), "w").close()
        with open(self.path("serial"), "w") as f:
            f.write("1000\n")
        self.key("ca")
        openssl("req", "-x509", "-new", "-key", "ca.key", "-subj",
                "/CN=posfeed test CA", "-days", "3650", "-out", "ca.pem",
                cwd=dir)
        self.ca = self.path("ca.pem")

    def path(self, name):
        return os.path.join(self.dir, name)

    def key(self, name):
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-out", name + ".key", cwd=self.dir)
        return self.path(name + ".key")

    def leaf(self, name, cn="localhost", start=None, end=None, key=None):
        """name.pem (and name.key unless key names another one's) signed by
        the CA, valid from start to end (openssl ca's YYYYMMDDHHMMSSZ;
        default: from an hour ago for a year)."""
        key = key or name
        if not os.path.exists(self.path(key + ".key")):
            self.key(key)
        openssl("req", "-new", "-key", key + ".key", "-subj", "/CN=" + cn,
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-out", name + ".csr", cwd=self.dir)
        t = time.gmtime(time.time() - 3600)
        start = start or time.strftime("%Y%m%d%H%M%SZ", t)
        end = end or time.strftime("%Y%m%d%H%M%SZ",
                                   time.gmtime(time.time() + 365 * 86400))
        openssl("ca", "-batch", "-notext", "-config", "ca.cnf", "-cert",
                "ca.pem", "-keyfile", "ca.key", "-in", name + ".csr",
                "-startdate", start, "-enddate", end, "-out", name + ".pem",
                cwd=self.dir)
        return self.path(name + ".pem"), self.path(key + ".key")

    def fingerprint(self, pem_path):
        with open(pem_path) as f:
            pem = f.read()
        first = pem[:pem.index("-----END CERTIFICATE-----") + 25]
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(first)).hexdigest()


class TlsServer(Server):
    """Server, but it must say https:// and is talked to over TLS."""

    def __init__(self, shop, ca, env=None):
        self.ca = ca
        super().__init__(shop, env=env, scheme="https")
        self.url = "https://localhost:%d" % self.port

    def context(self, ca=True):
        c = ssl.create_default_context(cafile=self.ca if ca else None)
        return c

    def tls_socket(self, ctx=None):
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=20)
        return (ctx or self.context()).wrap_socket(
            raw, server_hostname="localhost")

    def peer_fingerprint(self):
        with self.tls_socket() as s:
            return hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest()

    def request(self, method, path, headers=None, body=None):
        import http.client
        c = http.client.HTTPSConnection("localhost", self.port, timeout=20,
                                        context=self.context())
        try:
            c.putrequest(method, path, skip_accept_encoding=True)
            for k, v in (headers or {}).items():
                c.putheader(k, v)
            c.endheaders(body)
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def curl(self, *args):
        """(status line, headers dict, body) of curl --cacert."""
        r = subprocess.run(["curl", "-sS", "--cacert", self.ca, "-D", "-",
                            "--http1.1"] + list(args), capture_output=True,
                           timeout=30)
        assert r.returncode == 0, r.stderr
        head, _, body = r.stdout.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        hdr = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            hdr[k.strip().lower()] = v.strip()
        return int(lines[0].split()[1]), hdr, body

    def wait_log(self, needle, timeout=20):
        return self.wait_for(lambda: needle in self.log(), timeout,
                             "%r in the log" % needle)


class TlsTest(ServeTest):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="posfeed-tls-")
        cls.pki = Pki(cls.tmp)
        cls.cert, cls.key = cls.pki.leaf("a")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def shop_with_tls(self, products=400, desc=0):
        """A shop whose [serve] names copies of a fresh pair (a test may
        overwrite them), published; self.body is pub.json."""
        s = self.make_shop()
        for i in range(products):
            extra = {"description": ("Long text %d. " % i) * desc} \
                if desc else {}
            s.add_product("x%05d" % i, name="Product number %d" % i,
                          price="%d.95" % (i % 500 + 1), **extra)
        self.tls_cert = os.path.join(s.dir, "cert.pem")
        self.tls_key = os.path.join(s.dir, "key.pem")
        shutil.copy(self.cert, self.tls_cert)
        shutil.copy(self.key, self.tls_key)
        self.serve_extra = "tls_cert = cert.pem\ntls_key = key.pem\n"
        self.write(s)
        s.posfeed("run")
        with open(s.feed_path("pub.json"), "rb") as f:
            self.body = f.read()
        return s


class StaticFeeds(TlsTest):
    def setUp(self):
        self.s = self.shop_with_tls()
        self.srv = TlsServer(self.s, self.pki.ca)

    def tearDown(self):
        self.assertEqual(self.srv.stop(), 0, self.srv.log())

    def test_curl_full_range_and_conditional(self):
        srv, n = self.srv, len(self.body)
        self.assertGreater(n, 30000)
        st, h, body = srv.curl(srv.url + "/feeds/pub.json")
        self.assertEqual((st, body == self.body), (200, True))
        self.assertEqual(int(h["content-length"]), n)
        self.assertEqual(h["accept-ranges"], "bytes")
        etag, lm = h["etag"], h["last-modified"]
        st, h, body = srv.curl("-H", "Range: bytes=100-1099",
                               srv.url + "/feeds/pub.json")
        self.assertEqual((st, body), (206, self.body[100:1100]))
        self.assertEqual(h["content-range"], "bytes 100-1099/%d" % n)
        self.assertEqual(int(h["content-length"]), 1000)
        st, h, body = srv.curl("-H", "Range: bytes=-10",
                               srv.url + "/feeds/pub.json")
        self.assertEqual((st, body), (206, self.body[-10:]))
        st, h, body = srv.curl("-H", "If-Modified-Since: " + lm,
                               srv.url + "/feeds/pub.json")
        self.assertEqual((st, body), (304, b""))
        st, h, body = srv.curl("-H", "If-None-Match: " + etag,
                               srv.url + "/feeds/pub.json")
        self.assertEqual((st, body, h["etag"]), (304, b"", etag))
        # A resumed download: curl -C continues a partial file.
        part = os.path.join(self.s.dir, "part.json")
        with open(part, "wb") as f:
            f.write(self.body[:12345])
        r = subprocess.run(["curl", "-sS", "--cacert", srv.ca, "-C", "-",
                            "-o", part, srv.url + "/feeds/pub.json"],
                           capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(part, "rb") as f:
            self.assertEqual(f.read(), self.body)
        # HEAD: the length, no body.
        st, h, body = srv.request("HEAD", "/feeds/pub.json")
        self.assertEqual((st, body, int(h["content-length"])), (200, b"", n))

    def test_verification_needs_the_ca(self):
        srv = self.srv
        st, _, body = srv.request("GET", "/feeds/pub.json")
        self.assertEqual((st, body == self.body), (200, True))
        with self.assertRaises(ssl.SSLCertVerificationError):
            srv.tls_socket(srv.context(ca=False)).close()
        r = subprocess.run(["curl", "-sS", "-o", "/dev/null",
                            srv.url + "/status.json"], capture_output=True,
                           timeout=30)
        self.assertEqual(r.returncode, 60, r.stderr)   # peer cert not OK
        self.assertIn("certificate %s (CN=localhost)" % self.tls_cert,
                      srv.log())

    def handshake(self, version):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(self.pki.ca)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = version
            ctx.maximum_version = version
        # OpenSSL's default security level would refuse TLS < 1.2 on
        # this side already; the server must be the one saying no.
        ctx.set_ciphers("DEFAULT@SECLEVEL=0")
        with self.srv.tls_socket(ctx) as s:
            return s.version()

    def test_tls_12_and_13_only(self):
        self.assertEqual(self.handshake(ssl.TLSVersion.TLSv1_3), "TLSv1.3")
        self.assertEqual(self.handshake(ssl.TLSVersion.TLSv1_2), "TLSv1.2")
        for v in (ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1):
            with self.assertRaises((ssl.SSLError, ConnectionError), msg=v):
                self.handshake(v)
        r = subprocess.run(["openssl", "s_client", "-connect",
                            "127.0.0.1:%d" % self.srv.port, "-tls1_1",
                            "-cipher", "DEFAULT@SECLEVEL=0"],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"no peer certificate available", r.stdout)
        # Plain HTTP on the HTTPS port gets no answer in the clear.
        with socket.create_connection(("127.0.0.1", self.srv.port),
                                      timeout=10) as s:
            s.sendall(b"GET /status.json HTTP/1.1\r\nHost: x\r\n\r\n")
            got = b""
            try:
                while True:
                    b = s.recv(4096)
                    if not b:
                        break
                    got += b
            except (ConnectionError, socket.timeout):
                pass
        self.assertNotIn(b"HTTP/1.1 200", got)


class LargeFeed(TlsTest):
    def test_read_in_record_sized_blocks(self):
        """Without sendfile() MHD's fd responses read 4 KiB at a time: a
        pread(), a 4 KiB TLS record and a sendmsg() for every 4 KiB. The
        server reads 16 KiB blocks instead: /proc's count of read calls
        shows how many reads a download took."""
        s = self.shop_with_tls(products=2000, desc=100)
        n = len(self.body)
        self.assertGreater(n, 3 * 1024 * 1024)
        srv = TlsServer(s, self.pki.ca)

        def reads():
            with open("/proc/%d/io" % srv.proc.pid) as f:
                return int(dict(ln.split(": ") for ln in
                                f.read().splitlines())["syscr"])
        before = reads()
        st, h, body = srv.request("GET", "/feeds/pub.json")
        self.assertEqual((st, body == self.body), (200, True))
        took = reads() - before
        self.assertLess(took, n / 12000, "%d reads for %d bytes" % (took, n))
        st, h, body = srv.request("GET", "/feeds/pub.json",
                                  {"Range": "bytes=5-"})
        self.assertEqual((st, body == self.body[5:]), (206, True))
        self.assertEqual(srv.stop(), 0, srv.log())


class Reload(TlsTest):
    def test_sighup_mid_download_and_new_certificate(self):
        # A feed larger than the socket buffers on both sides, read
        # slowly: the server is still sending when the certificate
        # changes.
        s = self.shop_with_tls(products=4000, desc=100)
        n = len(self.body)
        self.assertGreater(n, 6 * 1024 * 1024)
        srv = TlsServer(s, self.pki.ca)
        old_fp = srv.peer_fingerprint()
        self.assertEqual(old_fp, self.pki.fingerprint(self.cert))
        new_cert, new_key = self.pki.leaf("b", cn="renewed.localhost")
        new_fp = self.pki.fingerprint(new_cert)
        self.assertNotEqual(new_fp, old_fp)

        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        raw.settimeout(30)
        raw.connect(("127.0.0.1", srv.port))
        dl = srv.context().wrap_socket(raw, server_hostname="localhost")
        dl.sendall(b"GET /feeds/pub.json HTTP/1.1\r\nHost: localhost\r\n"
                   b"\r\n")
        got = bytearray()
        while len(got) < 100000:
            got += dl.recv(16384)
        # certbot's renewal: new files in place, then SIGHUP.
        shutil.copy(new_cert, self.tls_cert)
        shutil.copy(new_key, self.tls_key)
        srv.proc.send_signal(signal.SIGHUP)
        srv.wait_log("certificate %s (CN=renewed.localhost)" % self.tls_cert)
        self.assertEqual(srv.peer_fingerprint(), new_fp)
        self.assertLess(len(got), n, "the download was over too soon")
        end = got.find(b"\r\n\r\n") + 4
        self.assertGreater(end, 4)
        while len(got) - end < n:
            b = dl.recv(65536)
            if not b:
                break
            got += b
        got = bytes(got)
        head, _, body = got.partition(b"\r\n\r\n")
        self.assertIn(b"HTTP/1.1 200", head)
        self.assertIn(b"Content-Length: %d" % n, head)
        self.assertEqual(hashlib.sha256(body).hexdigest(),
                         hashlib.sha256(self.body).hexdigest())
        # The old connection is still usable for the next request.
        dl.sendall(b"HEAD /feeds/pub.json HTTP/1.1\r\nHost: localhost\r\n"
                   b"\r\n")
        self.assertIn(b"200", dl.recv(4096))
        self.assertEqual(dl.getpeercert(binary_form=True) and
                         hashlib.sha256(dl.getpeercert(binary_form=True))
                         .hexdigest(), old_fp)
        dl.close()
        self.assertEqual(srv.stop(), 0, srv.log())

    def test_broken_pair_keeps_the_old_one(self):
        s = self.shop_with_tls()
        srv = TlsServer(s, self.pki.ca)
        old_fp = srv.peer_fingerprint()
        # Not PEM at all.
        with open(self.tls_cert, "w") as f:
            f.write("renewal went wrong\n")
        srv.proc.send_signal(signal.SIGHUP)
        srv.wait_log("%s: not a PEM certificate" % self.tls_cert)
        self.assertIn("certificate reload refused, still serving the "
                      "previous one", srv.log())
        self.assertEqual(srv.peer_fingerprint(), old_fp)
        # A new certificate with the old key: not a pair.
        other_cert, _ = self.pki.leaf("c", cn="other.localhost")
        shutil.copy(other_cert, self.tls_cert)
        srv.proc.send_signal(signal.SIGHUP)
        srv.wait_log("%s: this key does not match the certificate in %s"
                     % (self.tls_key, self.tls_cert))
        self.assertEqual(srv.peer_fingerprint(), old_fp)
        # A missing key file.
        os.unlink(self.tls_key)
        srv.proc.send_signal(signal.SIGHUP)
        srv.wait_log("%s: No such file" % self.tls_key)
        st, _, body = srv.request("GET", "/feeds/pub.json")
        self.assertEqual((st, body == self.body), (200, True))
        self.assertEqual(srv.peer_fingerprint(), old_fp)
        self.assertNotIn("PRIVATE KEY", srv.log())
        self.assertEqual(srv.stop(), 0, srv.log())

    def test_no_switch_without_restart(self):
        s = self.shop_with_tls()
        srv = TlsServer(s, self.pki.ca)
        self.serve_extra = ""
        self.write(s)
        srv.proc.send_signal(signal.SIGHUP)
        srv.wait_log("restart posfeed serve to switch between HTTP and "
                     "HTTPS")
        self.assertEqual(srv.peer_fingerprint(),
                         self.pki.fingerprint(self.cert))
        self.assertEqual(srv.stop(), 0, srv.log())

    def test_bad_pair_at_start(self):
        s = self.shop_with_tls()
        with open(self.tls_key, "w") as f:
            f.write("-----BEGIN PRIVATE KEY-----\nbroken\n"
                    "-----END PRIVATE KEY-----\n")
        r = subprocess.run(
            [BIN, "-c", os.path.join(s.dir, "posfeed.conf"), "serve",
             "--listen", "127.0.0.1:0"], capture_output=True, text=True,
            timeout=30, env=dict(os.environ, POSFEED_NOW=NOW,
                                 POSFEED_TOKEN=TOKEN,
                                 POSFEED_TEMPLATES=os.path.join(
                                     REPO, "templates")))
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertIn("%s: not an unencrypted PEM private key"
                      % self.tls_key, r.stderr)
        self.assertNotIn("broken", r.stderr)


class Check(TlsTest):
    """`posfeed check` on the pair. The tests' now is pinned to
    2026-11-20T12:00:00Z, so fixed validity dates give exact days."""

    def checked(self, cert, key, expect=0):
        s = self.s = self.shop_with_tls(products=2)
        shutil.copy(cert, self.tls_cert)
        if key is None:
            os.unlink(self.tls_key)
        else:
            shutil.copy(key, self.tls_key)
        return s.posfeed("check", expect=expect).stderr

    def test_good_pair_days_left(self):
        cert, key = self.pki.leaf("g", start="20261101000000Z",
                                  end="20270101000000Z", key="a")
        err = self.checked(cert, key)
        self.assertIn("cert.pem: certificate CN=localhost, key matches, "
                      "valid until 2027-01-01T00:00:00Z (41 days left)", err)
        self.assertNotIn("renew", err)

    def test_expiring_soon_is_a_warning(self):
        cert, key = self.pki.leaf("w", start="20261101000000Z",
                                  end="20261201000000Z", key="a")
        err = self.checked(cert, key)
        self.assertIn("warning: %s: the certificate (CN=localhost) expires "
                      "on 2026-12-01T00:00:00Z, in 10 day(s): renew it"
                      % self.tls_cert, err)

    def test_expired(self):
        cert, key = self.pki.leaf("e", start="20250101000000Z",
                                  end="20260101000000Z", key="a")
        err = self.checked(cert, key, expect=2)
        self.assertIn("%s: the certificate (CN=localhost) expired on "
                      "2026-01-01T00:00:00Z" % self.tls_cert, err)

    def test_mismatched_key(self):
        cert, _ = self.pki.leaf("m", start="20261101000000Z",
                                end="20270101000000Z", key="a")
        other = self.pki.key("unrelated")
        err = self.checked(cert, other, expect=2)
        self.assertIn("%s: this key does not match the certificate in %s "
                      "(CN=localhost)" % (self.tls_key, self.tls_cert), err)
        self.assertNotIn("PRIVATE", err)

    def test_unreadable_and_not_pem(self):
        err = self.checked(self.cert, None, expect=2)
        self.assertIn("%s: No such file or directory" % self.tls_key, err)
        err = self.checked(self.key, self.key, expect=2)
        self.assertIn("%s: not a PEM certificate" % self.tls_cert, err)
        if os.geteuid() != 0:
            shutil.copy(self.key, self.tls_key)
            os.chmod(self.tls_key, 0)
            err = self.s.posfeed("check", expect=2).stderr
            self.assertIn("%s: Permission denied" % self.tls_key, err)


class NginxInFront(TlsTest):
    """The nginx server blocks README.md and docs/serving.md show, with
    the test's certificate and ports put in, proxy to plain posfeed."""

    def nginx_block(self, doc):
        blocks = [b for b in code_blocks(doc) if b[0] == "server {"]
        self.assertEqual(len(blocks), 1, doc)
        return "\n".join(blocks[0]) + "\n"

    def fill(self, block, port, upstream):
        live = "/etc/letsencrypt/live/feeds.example.com/"
        for old, new in ((live + "fullchain.pem", self.cert),
                         (live + "privkey.pem", self.key),
                         ("listen 443 ssl", "listen 127.0.0.1:%d ssl" % port),
                         ("127.0.0.1:8080", "127.0.0.1:%d" % upstream)):
            self.assertEqual(block.count(old), 1, old)
            block = block.replace(old, new)
        return block

    def start_nginx(self, dir, block):
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        os.makedirs(os.path.join(dir, "tmp"), exist_ok=True)
        conf = os.path.join(dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write("daemon off;\npid %s/nginx.pid;\nerror_log %s/error.log;"
                    "\n%sevents {}\nhttp {\naccess_log off;\n"
                    % (dir, dir, "user root;\n" if os.geteuid() == 0 else ""))
            for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
                f.write("%s_temp_path %s/tmp;\n" % (t, dir))
            f.write(block + "}\n")
        p = subprocess.Popen([nginx, "-c", conf, "-p", dir],
                             stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (p.poll() is None and p.terminate(),
                                 p.wait(timeout=10)))
        return p

    def test_documented_blocks(self):
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.access(nginx, os.X_OK):
            self.skipTest("nginx is not installed")
        s = self.make_shop()
        self.write(s)
        s.posfeed("run")
        with open(s.feed_path("pub.json"), "rb") as f:
            body = f.read()
        srv = Server(s)
        for doc in ("README.md", "docs/serving.md"):
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            d = tempfile.mkdtemp(prefix="nginx-", dir=s.dir)
            p = self.start_nginx(d, self.fill(self.nginx_block(doc), port,
                                              srv.port))
            url = "https://localhost:%d/feeds/pub.json" % port
            for _ in range(100):
                r = subprocess.run(["curl", "-sS", "--cacert", self.pki.ca,
                                    "-o", os.path.join(d, "got"), "-w",
                                    "%{http_code}", url],
                                   capture_output=True, text=True,
                                   timeout=30)
                if r.returncode != 7:      # 7: not listening yet
                    break
                time.sleep(0.1)
            self.assertEqual((r.returncode, r.stdout), (0, "200"),
                             (doc, r.stderr))
            with open(os.path.join(d, "got"), "rb") as f:
                self.assertEqual(f.read(), body, doc)
            r = subprocess.run(["curl", "-sS", "--cacert", self.pki.ca,
                                "-r", "10-19", url], capture_output=True,
                               timeout=30)
            self.assertEqual(r.stdout, body[10:20], doc)
            p.terminate()
            p.wait(timeout=10)
        self.assertEqual(srv.stop(), 0, srv.log())


if __name__ == "__main__":
    unittest.main()
