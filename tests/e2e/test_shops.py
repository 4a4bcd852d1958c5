"""`posfeed serve --shops DIR` (and a server config with [serve] shops):
routing under /SHOP/, shop and admin tokens, the overview and per-shop
status, /metrics labelled per shop (strict parser, promtool where
installed), SIGHUP and inotify reloads that leave unchanged shops alone,
refused files named with FILE:LINE while the rest serve, and `posfeed
check` of a server config."""
import calendar
import json
import os
import re
import signal
import socket
import subprocess
import time
import unittest

from serve_util import ShopsServer, parse_metrics, promtool, series
from shop import BIN, NOW, REPO, Shop, ShopTest

ADMIN = "admin-t0ken-for-tests"


def auth(token):
    return {"Authorization": "Bearer " + token}


def shop_conf(name, data, schedule="daily 03:00", extra=""):
    """One shop's file: its own store and feeds under DIR/NAME/, a public
    feed and a token one, its token in DIR/NAME.token."""
    return ("[shop]\nname = Shop %s\ntimezone = Europe/Amsterdam\n"
            "currency = EUR\nurl = https://%s.example\n"
            "store = %s/store.db\nfeeds_dir = %s/feeds\n\n"
            "[source]\ntype = file\npath = %s\n\n"
            "[sync]\nschedule = %s\n\n"
            "[feed clerk]\ntemplate = clerk\naccess = public\n\n"
            "[feed private]\ntemplate = clerk\noutput = private.json\n"
            "access = token\n\n"
            "[serve]\ntoken_file = %s.token\n%s"
            % (name, name, name, name, data, schedule, name, extra))


class ShopsTest(ShopTest):
    NAMES = ["acme", "bob", "c-3", "d_4", "eve", "fox", "gus", "hal",
             "ivy", "jon", "kai", "lea"]

    def setUp(self):
        self.data_shop = Shop(self)
        for i in range(3):
            self.data_shop.add_product("P%d" % i, stock={"L1": 2})
        self.data_shop.write_data()
        self.root = self.data_shop.dir
        self.dir = os.path.join(self.root, "shops")
        os.mkdir(self.dir)
        for n in self.NAMES:
            self.write_shop(n)
        with open(os.path.join(self.root, "admin.token"), "w") as f:
            f.write(ADMIN + "\n")

    def write_shop(self, name, text=None, **kw):
        with open(os.path.join(self.dir, name + ".token"), "w") as f:
            f.write("tok-%s\n" % name)
        path = os.path.join(self.dir, name + ".conf")
        with open(path + ".tmp", "w") as f:
            f.write(text if text is not None
                    else shop_conf(name, self.data_shop.data, **kw))
        os.rename(path + ".tmp", path)
        return path

    def server_conf(self, extra=""):
        path = os.path.join(self.root, "server.conf")
        with open(path, "w") as f:
            f.write("[serve]\nshops = shops\ntoken_file = admin.token\n"
                    "workers = 2\n" + extra)
        return path

    def start(self, args=None):
        if args is None:
            args = ["-c", self.server_conf(), "serve"]
        return ShopsServer(self, args, self.root)

    def sync(self, srv, name, token=None):
        st, _, body = srv.request("POST", "/%s/sync" % name,
                                  auth(token or "tok-" + name))
        self.assertEqual(st, 202, body)
        r = json.loads(body)
        self.assertEqual(r["url"], "/%s/runs/%d" % (name, r["run"]))
        return srv.wait_shop_run(name, r["run"])

    def overview(self, srv, **headers):
        return {s["name"]: s for s in srv.json("/status.json",
                                               **headers)["shops"]}


class Routing(ShopsTest):
    def test_feeds_and_tokens(self):
        srv = self.start()
        self.assertEqual(self.sync(srv, "acme")["state"], "ok", srv.log())
        self.assertEqual(srv.get("/acme/feeds/clerk.json")[0], 200)
        items = json.loads(srv.get("/acme/feeds/clerk.json")[2])
        self.assertEqual(len(items["products"]), 3)
        # A token feed: the shop's token or the admin token, never
        # another shop's.
        for headers, want in (({}, 401), (auth("tok-acme"), 200),
                              (auth("tok-bob"), 401), (auth(ADMIN), 200)):
            self.assertEqual(srv.get("/acme/feeds/private.json",
                                     **headers)[0], want, headers)
        # Another shop's token cannot start acme's run either.
        self.assertEqual(srv.request("POST", "/acme/sync",
                                     auth("tok-bob"))[0], 401)
        # bob has not run: its feeds are not there.
        self.assertEqual(srv.get("/bob/feeds/clerk.json",
                                 **auth("tok-bob"))[0], 404)
        for path in ("/nosuch/", "/nosuch/feeds/clerk.json", "/acme",
                     "/feeds/clerk.json", "/acme/nothing", "/-x/",
                     "/acme/../bob/status.json"):
            self.assertEqual(srv.get(path)[0], 404, path)
        self.assertEqual(srv.request("POST", "/acme/")[0], 405)
        self.assertEqual(srv.get("/healthz")[0], 200)

    def test_shop_pages(self):
        srv = self.start()
        self.sync(srv, "bob")
        for headers, detail in (({}, False), (auth("tok-bob"), True),
                                (auth("tok-acme"), False),
                                (auth(ADMIN), True)):
            doc = srv.json("/bob/status.json", **headers)
            self.assertEqual(doc["detail"], detail, headers)
            self.assertEqual(doc["shop"], "Shop bob")
        doc = srv.json("/bob/status.json", **auth("tok-bob"))
        urls = sorted(f["url"] for f in doc["feeds"])
        self.assertEqual(urls, ["/bob/feeds/clerk.json",
                                "/bob/feeds/private.json"])
        self.assertEqual(doc["serve"]["runs"][0]["id"], 1)
        st, _, page = srv.get("/bob/")
        self.assertEqual(st, 200)
        self.assertIn(b"fetch('/bob/sync'", page)
        self.assertIn(b'href="/bob/status.json"', page)
        # run numbers are per shop
        self.assertEqual(self.sync(srv, "acme")["id"], 1)

    def test_overview(self):
        srv = self.start()
        self.sync(srv, "acme")
        pub = self.overview(srv)
        self.assertEqual(sorted(pub), sorted(self.NAMES))
        a = pub["acme"]
        self.assertEqual((a["url"], a["last_result"], a["failures"]),
                         ("/acme/", "ok", 0))
        self.assertEqual(a["feeds"], 1)     # the public one
        # the age on the server's clock (POSFEED_NOW pins it)
        now = srv.json("/status.json")["now"]
        now = calendar.timegm(time.strptime(now, "%Y-%m-%dT%H:%M:%SZ"))
        mtime = os.stat(os.path.join(self.dir, "acme", "feeds",
                                     "clerk.json")).st_mtime
        self.assertLessEqual(abs(a["newest_feed_age_s"] - (now - mtime)),
                             3)
        self.assertIsNone(pub["bob"]["last_run"])
        # next run: daily 03:00 Amsterdam plus the shop's jitter, which
        # lies within the default 15 minutes and differs between shops
        jit = {n: s["jitter_s"] for n, s in pub.items()}
        self.assertTrue(all(0 <= j < 900 for j in jit.values()), jit)
        self.assertGreater(len(set(jit.values())), 1, jit)
        m = re.match(r"2026-11-21T03:(\d\d):(\d\d)\+01:00$",
                     pub["acme"]["next_run_local"])
        self.assertIsNotNone(m, pub["acme"])
        self.assertEqual(int(m.group(1)) * 60 + int(m.group(2)),
                         jit["acme"])
        # no token: no paths; the shop token does not open the overview
        for headers in ({}, auth("tok-acme")):
            doc = srv.json("/status.json", **headers)
            self.assertFalse(doc["detail"])
            self.assertNotIn("refused", doc)
            self.assertNotIn(self.dir, json.dumps(doc))
        doc = srv.json("/status.json", **auth(ADMIN))
        self.assertTrue(doc["detail"])
        self.assertEqual({s["name"]: s["config"] for s in doc["shops"]}[
            "acme"], os.path.join(self.dir, "acme.conf"))
        self.assertEqual(doc["pool"]["workers"], 2)
        self.assertEqual({s["name"]: s["feeds"] for s in doc["shops"]}[
            "acme"], 2)
        st, _, page = srv.get("/")
        self.assertEqual(st, 200)
        for n in self.NAMES:
            self.assertIn(('href="/%s/"' % n).encode(), page)

    def test_shops_flag_without_config(self):
        srv = self.start(["serve", "--shops", self.dir])
        self.assertEqual(self.sync(srv, "eve")["state"], "ok")
        self.assertEqual(len(self.overview(srv)), len(self.NAMES))
        # no server config: no admin token
        self.assertFalse(srv.json("/status.json", **auth(ADMIN))["detail"])
        self.assertEqual(srv.get("/eve/feeds/private.json",
                                 **auth(ADMIN))[0], 401)

    def test_failing_shop_does_not_block_others(self):
        bad_data = os.path.join(self.root, "bad-data")
        os.mkdir(bad_data)
        with open(os.path.join(bad_data, "products.ndjson"), "w") as f:
            f.write("{not json\n")
        self.write_shop("bad", shop_conf("bad", bad_data))
        srv = self.start()
        self.assertEqual(self.sync(srv, "bad")["state"], "failed")
        self.assertEqual(self.sync(srv, "bad")["state"], "failed")
        self.assertEqual(self.sync(srv, "gus")["state"], "ok")
        pub = self.overview(srv)
        self.assertEqual((pub["bad"]["failures"], pub["bad"]["last_result"]),
                         (2, "failed"))
        self.assertEqual(pub["gus"]["failures"], 0)


class Footprint(ShopsTest):
    def test_no_store_held_per_shop(self):
        """Shops share the server: after every shop has run, it holds no
        descriptor per shop (no store kept open), and a publish by
        another process is still seen within a second or two."""
        srv = self.start()
        for n in self.NAMES:
            self.assertEqual(self.sync(srv, n)["state"], "ok")
        fds = os.listdir("/proc/%d/fd" % srv.proc.pid)
        stores = [f for f in fds if os.readlink(
            "/proc/%d/fd/%s" % (srv.proc.pid, f)).startswith(self.dir)]
        self.assertEqual(stores, [], fds)
        self.assertLess(len(fds), len(self.NAMES), fds)
        # another process publishes one more product for acme
        self.data_shop.add_product("P9", stock={"L1": 1})
        self.data_shop.write_data()
        e = dict(os.environ, POSFEED_NOW=NOW,
                 POSFEED_TEMPLATES=os.path.join(REPO, "templates"))
        subprocess.run([BIN, "-c", os.path.join(self.dir, "acme.conf"),
                        "-q", "run"], check=True, env=e, timeout=120,
                       capture_output=True)
        srv.wait_for(lambda: len(json.loads(srv.get(
            "/acme/feeds/clerk.json")[2])["products"]) == 4, timeout=10,
            what="the outside publish")


class Timeout(ShopsTest):
    NAMES = ["ok1"]

    def test_hung_run_timed_out(self):
        """A source that never answers (a socket that takes the request
        and says nothing) is stopped after run_timeout and recorded as
        timed out; other shops run meanwhile."""
        silent = socket.socket()
        self.addCleanup(silent.close)
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        with open(os.path.join(self.dir, "hung.keys"), "w") as f:
            f.write("k3y-for-tests\n")
        os.chmod(os.path.join(self.dir, "hung.keys"), 0o600)
        conf = ("[shop]\nname = Hung\ntimezone = UTC\ncurrency = USD\n"
                "url = https://hung.example\nstore = hung/store.db\n"
                "feeds_dir = hung/feeds\n\n[source]\ntype = dutchie\n"
                "api_url = http://127.0.0.1:%d\n"
                "location_keys_file = hung.keys\n\n"
                "[feed clerk]\ntemplate = clerk\n\n"
                "[serve]\ntoken_file = hung.token\n"
                % silent.getsockname()[1])
        self.write_shop("hung", conf)
        srv = ShopsServer(self, ["-c", self.server_conf(
            "run_timeout = 2s\n"), "serve"], self.root)
        st, _, body = srv.request("POST", "/hung/sync", auth("tok-hung"))
        self.assertEqual(st, 202, body)
        self.assertEqual(self.sync(srv, "ok1")["state"], "ok")
        r = srv.wait_shop_run("hung", 1, timeout=30, **auth("tok-hung"))
        self.assertEqual((r["state"], r.get("timed_out")), ("failed", True),
                         r)
        self.assertEqual(r["store_run"]["error"], "timed out after 2 s")
        self.assertEqual(srv.json("/status.json")["pool"]["timed_out"], 1)
        self.assertIn("hung: run 1 timed out after 2 s", srv.log())


class Metrics(ShopsTest):
    NAMES = ["acme", "bob", "cat"]

    def posfeed_run(self, name):
        e = dict(os.environ)
        e["POSFEED_NOW"] = NOW
        e["POSFEED_TEMPLATES"] = os.path.join(REPO, "templates")
        return subprocess.run([BIN, "-c", os.path.join(self.dir,
                                                       name + ".conf"),
                               "-q", "run"], capture_output=True,
                              text=True, env=e, timeout=120)

    def test_labels(self):
        srv = self.start()
        self.sync(srv, "acme")
        self.sync(srv, "bob")
        text = srv.get("/metrics", **auth(ADMIN))[2].decode()
        fams = parse_metrics(text)
        runs = series(fams, "posfeed_runs_total")
        self.assertEqual(runs, {frozenset({("shop", "acme")}): 1,
                                frozenset({("shop", "bob")}): 1,
                                frozenset({("shop", "cat")}): 0})
        items = series(fams, "posfeed_feed_items")
        self.assertEqual(items[frozenset({("shop", "acme"),
                                          ("feed", "clerk")})], 3)
        self.assertEqual(items[frozenset({("shop", "acme"),
                                          ("feed", "private")})], 3)
        self.assertEqual(series(fams, "posfeed_pool_workers"),
                         {frozenset(): 2})
        self.assertEqual(series(fams, "posfeed_pool_runs_total")[
            frozenset({("result", "ok")})], 2)
        for f in ("posfeed_pool_running", "posfeed_pool_queued",
                  "posfeed_http_requests_total"):
            self.assertIn(f, fams)
        # What /metrics keeps of each store (the memo) follows the store:
        # a run through the server and one by another process show.
        self.sync(srv, "acme")
        r = self.posfeed_run("cat")
        self.assertEqual(r.returncode, 0, r.stderr)

        def runs_now():
            return series(parse_metrics(srv.get("/metrics", **auth(
                ADMIN))[2].decode()), "posfeed_runs_total")
        srv.wait_for(lambda: runs_now()[frozenset({("shop", "cat")})] == 1,
                     what="cat's outside run in /metrics")
        self.assertEqual(runs_now()[frozenset({("shop", "acme")})], 2)
        # without the token: public feeds only
        pub = parse_metrics(srv.get("/metrics")[2].decode())
        self.assertNotIn(frozenset({("shop", "acme"), ("feed", "private")}),
                         series(pub, "posfeed_feed_items"))
        tool = promtool()
        if tool is None:
            self.skipTest("promtool is not installed (Debian package "
                          "`prometheus`)")
        for t in (text, srv.get("/metrics")[2].decode()):
            r = subprocess.run([tool, "check", "metrics"], input=t,
                               capture_output=True, text=True, timeout=60)
            self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""),
                             t)


class Reload(ShopsTest):
    NAMES = ["keep", "change", "gone", "later"]

    def test_sighup_add_change_remove(self):
        srv = self.start()
        self.sync(srv, "keep")
        self.sync(srv, "gone")
        before = srv.json("/keep/status.json", **auth("tok-keep"))
        ov = self.overview(srv)
        self.write_shop("change", schedule="daily 05:00")
        os.unlink(os.path.join(self.dir, "gone.conf"))
        self.write_shop("new1")
        srv.proc.send_signal(signal.SIGHUP)
        srv.wait_for(lambda: "new1" in self.overview(srv), what="new1")
        ov2 = self.overview(srv)
        self.assertNotIn("gone", ov2)
        self.assertEqual(srv.get("/gone/status.json")[0], 404)
        self.assertEqual(srv.get("/gone/feeds/clerk.json")[0], 404)
        self.assertIn("05:", ov2["change"]["next_run_local"])
        self.assertNotEqual(ov["change"]["next_run"],
                            ov2["change"]["next_run"])
        # unchanged: its schedule and run history as they were
        after = srv.json("/keep/status.json", **auth("tok-keep"))
        self.assertEqual(before["serve"]["next_run"],
                         after["serve"]["next_run"])
        self.assertEqual(before["serve"]["runs"], after["serve"]["runs"])
        self.assertEqual(srv.json("/keep/runs/1")["state"], "ok")
        self.assertEqual(ov["later"], self.overview(srv)["later"])
        log = srv.log()
        self.assertNotIn("shop keep: reloaded", log)
        self.assertIn("shop change: reloaded", log)
        self.assertIn("shop gone: removed", log)
        self.assertEqual(self.sync(srv, "new1")["state"], "ok")

    def test_rotated_token(self):
        srv = self.start()
        self.sync(srv, "keep")
        with open(os.path.join(self.dir, "keep.token"), "w") as f:
            f.write("tok-rotated\n")
        srv.proc.send_signal(signal.SIGHUP)
        srv.wait_for(lambda: srv.get("/keep/feeds/private.json",
                                     **auth("tok-rotated"))[0] == 200,
                     what="the new token")
        self.assertEqual(srv.get("/keep/feeds/private.json",
                                 **auth("tok-keep"))[0], 401)
        self.assertEqual(srv.json("/keep/runs/1")["state"], "ok")

    def test_bad_file_refused_rest_serve(self):
        self.write_shop("broken", shop_conf("broken", self.data_shop.data,
                                            extra="listen = 9999\n"))
        self.write_shop("-dash")
        srv = self.start()
        broken = os.path.join(self.dir, "broken.conf")
        doc = srv.json("/status.json", **auth(ADMIN))
        refused = "\n".join(doc["refused"])
        self.assertRegex(refused, re.escape(broken) +
                         r":\d+: \[serve\] listen belongs in the server "
                         r"config")
        self.assertIn(os.path.join(self.dir, "-dash.conf") + ": refused",
                      refused)
        self.assertEqual(srv.get("/broken/status.json")[0], 503)
        self.assertEqual(self.sync(srv, "keep")["state"], "ok")
        # a shop that breaks keeps the config it had
        self.write_shop("keep", "[shop]\nname = x\nbogus = 1\n")
        srv.proc.send_signal(signal.SIGHUP)
        conf = os.path.join(self.dir, "keep.conf")
        srv.wait_for(lambda: any(conf + ":" in r for r in srv.json(
            "/status.json", **auth(ADMIN))["refused"]), what="refused")
        self.assertEqual(srv.get("/keep/feeds/clerk.json")[0], 200)
        self.assertEqual(self.sync(srv, "keep")["id"], 2)
        self.assertIn("keeping its running config", srv.log())

    def test_shared_store_refused(self):
        # Two files copied into one folder: zed gets keep's store and
        # feeds folder, so it is refused (the later name) until it has
        # its own; keep goes on.
        zed = self.write_shop("zed", shop_conf("keep", self.data_shop.data)
                              .replace("Shop keep", "Shop zed"))
        srv = self.start()
        doc = srv.json("/status.json", **auth(ADMIN))
        mine = {s["name"]: s for s in doc["shops"]}
        self.assertRegex(mine["zed"]["refused"], re.escape(zed) +
                         r": refused: its store \S+keep/store\.db is also "
                         + re.escape(os.path.join(self.dir, "keep.conf")))
        self.assertFalse(mine["zed"]["loaded"])
        self.assertEqual(srv.get("/zed/status.json")[0], 503)
        self.assertEqual(self.sync(srv, "keep")["state"], "ok")
        self.write_shop("zed")
        srv.proc.send_signal(signal.SIGHUP)
        srv.wait_for(lambda: self.overview(srv, **auth(ADMIN))["zed"]
                     ["loaded"], what="zed with its own store")
        self.assertEqual(self.sync(srv, "zed")["state"], "ok")

    def test_inotify(self):
        srv = self.start()
        self.write_shop("fresh")
        srv.wait_for(lambda: "fresh" in self.overview(srv), timeout=10,
                     what="inotify pickup")
        os.unlink(os.path.join(self.dir, "later.conf"))
        srv.wait_for(lambda: "later" not in self.overview(srv), timeout=10,
                     what="inotify removal")


class Config(ShopsTest):
    NAMES = ["acme", "bob"]

    def posfeed(self, *args):
        e = dict(os.environ)
        e["POSFEED_NOW"] = NOW
        e["POSFEED_TEMPLATES"] = os.path.join(REPO, "templates")
        return subprocess.run([BIN] + list(args), capture_output=True,
                              text=True, env=e, timeout=120)

    def test_check_names_every_bad_file(self):
        conf = self.server_conf()
        r = self.posfeed("-c", conf, "check")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ok (2 shops in", r.stderr)
        self.write_shop("bob", shop_conf("bob", self.data_shop.data,
                                         extra="workers = 4\n"))
        self.write_shop("cat", shop_conf("cat", self.data_shop.data)
                        .replace("template = clerk", "template = nope", 1))
        self.write_shop("bad name", shop_conf("x", self.data_shop.data))
        r = self.posfeed("-c", conf, "check")
        self.assertEqual(r.returncode, 2, r.stderr)
        bob = os.path.join(self.dir, "bob.conf")
        self.assertRegex(r.stderr, re.escape(bob) + r":\d+: \[serve\] "
                         "workers belongs in the server config")
        self.assertIn(os.path.join(self.dir, "cat.conf"), r.stderr)
        self.assertIn("bad name.conf: refused", r.stderr)
        self.assertIn("3 of 4 shop file(s) refused", r.stderr)
        # one store for two shops: the later name is refused
        self.write_shop("bob")
        self.write_shop("cat")
        os.unlink(os.path.join(self.dir, "bad name.conf"))
        self.write_shop("dup", shop_conf("acme", self.data_shop.data))
        r = self.posfeed("-c", conf, "check")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(os.path.join(self.dir, "dup.conf") + ": refused: its "
                      "store ", r.stderr)
        self.assertIn("1 of 4 shop file(s) refused", r.stderr)

    def test_server_config_keys(self):
        base = "[serve]\nshops = shops\n"
        for extra, want in (
                ("workers = 0\n", r"server.conf:3: workers: expected"),
                ("jitter = 3 days\n", r"server.conf:3: jitter: expected"),
                ("run_timeout = 0\n", r"server.conf:3: run_timeout: "),
                ("[shop]\nname = x\n", r"server.conf:3: a server config "
                 r"\(\[serve\] shops = DIR\) holds only \[serve\]")):
            path = os.path.join(self.root, "server.conf")
            with open(path, "w") as f:
                f.write(base + extra)
            r = self.posfeed("-c", path, "check")
            self.assertEqual(r.returncode, 2, extra)
            self.assertRegex(r.stderr, want)
        # workers and jitter belong to a server of many shops
        one = os.path.join(self.dir, "acme.conf")
        with open(one, "a") as f:
            f.write("jitter = 5m\n")
        r = self.posfeed("-c", one, "check")
        self.assertEqual(r.returncode, 2)
        self.assertIn("jitter is for a server of many shops", r.stderr)
        # commands that need one shop refuse a server config
        r = self.posfeed("-c", self.server_conf(), "run")
        self.assertEqual(r.returncode, 2)
        self.assertIn("is a server config", r.stderr)


if __name__ == "__main__":
    unittest.main()
