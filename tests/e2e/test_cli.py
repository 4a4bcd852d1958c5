"""The command line: exit codes, messages, re-imports, the publish gate."""
import glob
import json
import os
import shutil
import subprocess

from shop import BIN, NOW, REPO, ShopTest, by_id

COMMANDS = ("init", "check", "sync", "build", "run", "status", "auth",
            "serve")


def posfeed_in(cwd, *args):
    """posfeed run from cwd, with no -c added: what a person types."""
    env = dict(os.environ, POSFEED_NOW=NOW,
               POSFEED_TEMPLATES=os.path.join(REPO, "templates"))
    return subprocess.run([BIN] + list(args), cwd=cwd, capture_output=True,
                          text=True, env=env, timeout=120)


class Usage(ShopTest):
    def test_help_on_every_command(self):
        s = self.shop()
        for cmd in ("init", "check", "sync", "build", "run", "status"):
            r = s.posfeed(cmd, "--help", config=False)
            self.assertIn("usage: posfeed", r.stdout, cmd)
            self.assertIn(cmd, r.stdout)

    def test_unknown_command_is_usage_error(self):
        r = self.shop().posfeed("frobnicate", expect=2, config=False)
        self.assertIn("unknown command", r.stderr)

    def test_unknown_option_is_usage_error(self):
        s = self.shop()
        s.write_data()
        s.write_config()
        r = s.posfeed("build", "--frce", expect=2)
        self.assertIn("--frce", r.stderr)

    def test_unknown_feed_is_usage_error(self):
        s = self.shop()
        s.add_product("p")
        s.run()
        r = s.posfeed("build", "nope", expect=2)
        self.assertIn("no feed named 'nope'", r.stderr)

    def test_missing_config(self):
        s = self.shop()
        r = s.posfeed("check", expect=2)
        self.assertIn("posfeed.conf", r.stderr)


class Options(ShopTest):
    """Issue 9, item 11: help in every spelling, global options before or
    after the command, one-line usage errors."""

    def shop_with_run(self):
        s = self.shop()
        s.add_product("p1")
        s.run()
        self.elsewhere = os.path.join(s.dir, "elsewhere")
        os.mkdir(self.elsewhere)
        return s, os.path.join(s.dir, "posfeed.conf")

    def test_help_spellings_print_usage_on_stdout(self):
        for args in (["--help"], ["-h"], ["help"], ["-q", "--help"]):
            r = self.shop().posfeed(*args, config=False)
            self.assertIn("usage: posfeed [-c FILE]", r.stdout, args)
            self.assertIn("commands:", r.stdout, args)
            self.assertEqual(r.stderr, "", args)

    def test_command_help_in_every_spelling(self):
        s = self.shop()
        for cmd in COMMANDS:
            for args in ([cmd, "--help"], [cmd, "-h"], ["help", cmd],
                         ["--help", cmd], [cmd, "--json", "--help"]):
                r = s.posfeed(*args, config=False)
                first = r.stdout.splitlines()[0]
                self.assertTrue(first.startswith("usage: posfeed"), args)
                self.assertIn(" %s" % cmd, first, args)
                self.assertEqual(r.stderr, "", args)

    def test_config_option_after_the_command(self):
        s, conf = self.shop_with_run()
        # No posfeed.conf in the folder it runs from: -c must be read.
        r = posfeed_in(self.elsewhere, "status", "-c", conf)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Test Shop", r.stdout)
        r = posfeed_in(self.elsewhere, "status", "--json", "-c" + conf)
        self.assertEqual(json.loads(r.stdout)["shop"], "Test Shop")
        r = posfeed_in(self.elsewhere, "build", "-c", conf, "clerk", "-q")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("clerk", r.stdout)
        self.assertEqual(r.stderr, "")          # -q after the command
        r = posfeed_in(self.elsewhere, "check", "-v", "-c", conf)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("template clerk ok", r.stderr)

    def test_double_dash_ends_options(self):
        s, conf = self.shop_with_run()
        r = posfeed_in(self.elsewhere, "-c", conf, "build", "--", "-q")
        self.assertEqual(r.returncode, 2)
        self.assertIn("no feed named '-q'", r.stderr)
        r = posfeed_in(self.elsewhere, "build", "--", "-c", conf)
        self.assertEqual(r.returncode, 2)
        self.assertIn("posfeed.conf", r.stderr)   # the default, not conf

    def assertUsageError(self, args, *words):
        r = self.shop().posfeed(*args, config=False, expect=2)
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        for w in words + ("--help",):
            self.assertIn(w, lines[0])
        self.assertEqual(r.stdout, "")

    def test_unknown_options_are_one_line_usage_errors(self):
        self.assertUsageError(["--frob"], "'--frob'")
        self.assertUsageError(["-x", "status"], "'-x'")
        self.assertUsageError(["status", "--full"], "status", "'--full'")
        self.assertUsageError(["check", "--json"], "check", "'--json'")
        self.assertUsageError(["build", "--listen", "x"], "'--listen'")
        self.assertUsageError(["status", "-c"], "-c needs a value")
        self.assertUsageError(["status", "extra"], "'extra'")
        self.assertUsageError(["frobnicate"], "unknown command")
        self.assertUsageError(["help", "frobnicate"], "unknown command")


class BadConfig(ShopTest):
    def check(self, text):
        s = self.shop()
        s.write_data()
        s.write_config(text)
        return s.posfeed("check", expect=2).stderr

    def base(self):
        s = self.shop()
        return s.config_text()

    def test_misspelt_key_names_line_and_suggests(self):
        text = self.base().replace("include_customers",
                                   "inclde_customers")
        line = text.splitlines().index("inclde_customers = no") + 1
        err = self.check(text)
        self.assertIn("posfeed.conf:%d:" % line, err)
        self.assertIn("did you mean 'include_customers'", err)

    def test_bad_boolean(self):
        err = self.check(self.base().replace("include_out_of_stock = yes",
                                             "include_out_of_stock = maybe"))
        self.assertIn("include_out_of_stock", err)
        self.assertIn("maybe", err)

    def test_bad_timezone(self):
        err = self.check(self.base().replace("Europe/Amsterdam",
                                             "Europe/Amsterdm"))
        self.assertIn("posfeed.conf:3:", err)

    def test_output_may_not_escape_feeds_dir(self):
        err = self.check(self.base() + "output = ../../etc/x.json\n")
        self.assertIn("output", err)

    def test_inline_secret_refused(self):
        err = self.check(self.base() + "\n[serve]\ntoken = hunter2\n")
        self.assertIn("token", err)
        self.assertNotIn("hunter2", err)

    def test_config_error_touches_nothing(self):
        s = self.shop()
        s.write_data()
        s.write_config(s.config_text().replace("[sync]", "[sycn]"))
        s.posfeed("run", expect=2)
        self.assertFalse(os.path.exists(os.path.join(s.dir, "store.db")))
        self.assertFalse(os.path.exists(s.feed_path()))


class BadTemplate(ShopTest):
    def write_template(self, s, text):
        path = os.path.join(s.dir, "mine.json")
        with open(path, "w") as f:
            f.write(text)
        s.feeds = {"mine": {"template": "mine.json"}}

    def test_unknown_filter_names_file_and_line(self):
        s = self.shop()
        self.write_template(s, '{\n "p": [{"@each": "products",\n'
                               '  "n": "{{product.name | strp_html}}"}]\n}\n')
        s.write_data()
        s.write_config()
        r = s.posfeed("check", expect=2)
        self.assertIn("mine.json:3:", r.stderr)
        self.assertIn("strip_html", r.stderr)

    def test_invalid_json_template(self):
        s = self.shop()
        self.write_template(s, '{"a": [1, 2}\n')
        s.write_data()
        s.write_config()
        r = s.posfeed("build", expect=2)
        self.assertIn("mine.json:1:", r.stderr)

    def test_own_template_renders(self):
        s = self.shop()
        self.write_template(s, json.dumps({"items": [{
            "@each": "products", "sku": "{{product.sku | lower}}",
            "label": "{{product.name | upper}} ({{shop.currency}})"}]}))
        s.add_product("p", name="Mug", variants=[
            {"id": "v", "price": "3.00", "sku": "MUG-1"}])
        s.run()
        f = s.feed("mine.json")
        self.assertEqual(f["items"], [{"sku": "mug-1",
                                       "label": "MUG (EUR)"}])


class BadRows(ShopTest):
    def test_bad_rows_warn_with_file_line_field_and_good_rows_land(self):
        s = self.shop()
        s.add_product("good1")
        s.add_product("good2")
        s.write_data()
        with open(os.path.join(s.data, "variants.ndjson"), "a") as f:
            f.write('{"id": "bad-price", "product_id": "good1", '
                    '"price": "abc"}\n')
            f.write('not json at all\n')
            f.write('{"id": "orphan", "product_id": "ghost", '
                    '"price": "1.00"}\n')
        s.write_config()
        # The line that is not JSON makes the file incomplete, which fails
        # a plain run (test_partial_input.py); --force accepts it.
        r = s.posfeed("run", "--force")
        self.assertIn("variants.ndjson:3:", r.stderr)
        self.assertIn("price", r.stderr)
        self.assertIn("variants.ndjson:4:", r.stderr)
        self.assertIn("variants.ndjson:5:", r.stderr)
        self.assertIn("product_id", r.stderr)
        ids = by_id(s.feed()["products"])
        self.assertEqual(set(ids), {"good1", "good2"})
        st = json.loads(s.posfeed("status", "--json").stdout)
        self.assertGreaterEqual(st["runs"][0]["warnings"], 3)


class Reimport(ShopTest):
    def test_same_files_change_nothing(self):
        s = self.shop()
        s.add_product("p1", stock={"L1": 2})
        s.add_order("o1", [{"product_id": "p1"}])
        s.run()
        db = os.path.join(s.dir, "store.db")

        def dump():
            import sqlite3
            con = sqlite3.connect(db)
            rows = []
            for (t,) in con.execute("SELECT name FROM sqlite_master WHERE "
                                    "type='table' AND name NOT IN "
                                    "('runs','run_counts','run_warnings',"
                                    "'feeds','sync_state')"):
                rows += sorted(con.execute("SELECT * FROM %s" % t))
            con.close()
            return rows
        before = dump()
        s.posfeed("sync", "--full")
        self.assertEqual(dump(), before)

    def test_removed_rows_leave_the_store(self):
        s = self.shop()
        for pid in ("p1", "p2", "p3", "p4", "p5"):
            s.add_product(pid)
        s.run()
        s.rows["products"] = [p for p in s.rows["products"]
                              if p["id"] != "p2"]
        s.rows["variants"] = [v for v in s.rows["variants"]
                              if v["product_id"] != "p2"]
        s.run()
        self.assertEqual([p["id"] for p in s.feed()["products"]],
                         ["p1", "p3", "p4", "p5"])


class PublishGate(ShopTest):
    def make(self, n):
        s = self.shop()
        # The feeds' gate is under test: let the source's own max_drop
        # (test_partial_input.py) pass every drop.
        s.source["max_drop"] = "100%"
        for i in range(n):
            s.add_product("p%02d" % i)
        s.run()
        return s

    def test_big_drop_refused_then_forced(self):
        s = self.make(10)
        good = open(s.feed_path(), "rb").read()
        s.rows["products"] = s.rows["products"][:3]
        s.rows["variants"] = s.rows["variants"][:3]
        r = s.run(expect=1)
        self.assertIn("down from 10", r.stderr)
        self.assertIn("--force clerk", r.stderr)
        self.assertEqual(open(s.feed_path(), "rb").read(), good)
        s.posfeed("build", "--force", "clerk")
        self.assertEqual(len(s.feed()["products"]), 3)

    def test_small_drop_allowed(self):
        s = self.make(10)
        s.rows["products"] = s.rows["products"][:6]
        s.rows["variants"] = s.rows["variants"][:6]
        s.run()
        self.assertEqual(len(s.feed()["products"]), 6)

    def test_stale_temps_swept(self):
        s = self.make(2)
        stale = os.path.join(s.dir, "feeds", ".clerk.json.tmp-abc123")
        open(stale, "w").write("half a feed")
        s.posfeed("build")
        self.assertFalse(os.path.exists(stale))
        self.assertEqual(glob.glob(os.path.join(s.dir, "feeds", ".*")), [])

    def test_feeds_are_world_readable(self):
        s = self.make(1)
        self.assertEqual(os.stat(s.feed_path()).st_mode & 0o777, 0o644)


class Status(ShopTest):
    def test_json_status(self):
        s = self.shop()
        s.add_product("p1")
        s.add_order("o1", [{"product_id": "p1"}])
        s.run()
        st = json.loads(s.posfeed("status", "--json").stdout)
        self.assertEqual(st["counts"]["products"], 1)
        self.assertEqual(st["counts"]["orders"], 1)
        run = st["runs"][0]
        self.assertEqual(run["kind"], "run")
        self.assertEqual(run["result"], "ok")
        self.assertEqual(run["rows"]["products"], 1)
        feed = st["feeds"][0]
        self.assertEqual(feed["name"], "clerk")
        self.assertEqual(feed["items"], 2)   # 1 product + 1 order
        self.assertEqual(len(feed["sha256"]), 64)
        self.assertIn("products", st["bookmarks"])

    def test_text_status(self):
        s = self.shop()
        s.add_product("p1")
        s.run()
        out = s.posfeed("status").stdout
        for word in ("store counts", "last runs", "bookmarks",
                     "published feeds", "clerk"):
            self.assertIn(word, out)


class Init(ShopTest):
    """Issue 9, item 12: `posfeed init DIR && posfeed -c DIR/posfeed.conf
    check` passes as typed; init over a config is a usage error."""

    def test_init_then_check(self):
        s = self.shop()
        r = subprocess.run(
            "%s init new && %s -c new/posfeed.conf check" % (BIN, BIN),
            shell=True, cwd=s.dir, capture_output=True, text=True,
            env=dict(os.environ,
                     POSFEED_TEMPLATES=os.path.join(REPO, "templates")))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("new/posfeed.conf: ok", r.stderr)
        self.assertEqual(os.listdir(os.path.join(s.dir, "new", "data")), [])
        # It runs too: an empty shop publishes an empty feed.
        s.posfeed("-c", os.path.join(s.dir, "new", "posfeed.conf"), "run",
                  config=False)

    def test_init_over_a_config_is_a_usage_error(self):
        s = self.shop()
        target = os.path.join(s.dir, "new")
        s.posfeed("init", target, config=False)
        conf = os.path.join(target, "posfeed.conf")
        with open(conf, "a") as f:
            f.write("# mine\n")
        before = open(conf).read()
        r = s.posfeed("init", target, config=False, expect=2)
        self.assertIn(conf, r.stderr)
        self.assertIn("already exists", r.stderr)
        self.assertEqual(open(conf).read(), before)


class Columns(ShopTest):
    """Issue 9, item 13: columns of `build` and `status` line up whatever
    the length of a feed name."""
    LONG = "clerk-products-for-the-amsterdam-store-1"

    def setUp(self):
        self.assertEqual(len(self.LONG), 40)
        s = self.s = self.shop()
        s.feeds = {"clerk": {"template": "clerk", "gzip": "yes"},
                   self.LONG: {"template": "clerk-products",
                               "output": "p.json"}}
        for i in range(12):
            s.add_product("p%d" % i)

    def columns(self, lines, *marks):
        for mark in marks:
            at = {ln.index(mark) for ln in lines}
            self.assertEqual(len(at), 1, "%r not aligned:\n%s"
                             % (mark, "\n".join(lines)))

    def test_build_lines_line_up(self):
        out = self.s.run().stdout.splitlines()
        lines = out[out.index("feeds:") + 1:]
        self.assertEqual(len(lines), 2)
        self.assertTrue(any(self.LONG in ln for ln in lines))
        self.columns(lines, " items ", " s  /")

    def test_status_lines_line_up(self):
        s = self.s
        s.run()
        s.posfeed("build", self.LONG)
        out = s.posfeed("status").stdout
        sections = {}
        for block in out.split("\n\n"):
            head, _, body = block.partition(":\n")
            sections[head.strip()] = body.splitlines()
        feeds = sections["published feeds"]
        self.assertEqual(len(feeds), 2)
        self.assertTrue(any(self.LONG in ln for ln in feeds))
        self.columns(feeds, " bytes ", " items ", "sha256 ")
        runs = sections["last runs"]
        rows = [ln for ln in runs if ln.endswith(" rows")]
        self.assertGreaterEqual(len(rows), 4)
        self.columns(rows, " rows")
        self.columns([ln for ln in runs if ln.lstrip().startswith("#")],
                     " -> ", " warnings")
        # Right-aligned counts: every line ends in the same column.
        self.assertEqual(len({len(ln) for ln in sections["store counts"]}),
                         1, out)


class Demo(ShopTest):
    def test_demo_shop_runs_and_feed_is_complete(self):
        s = self.shop()
        demo = os.path.join(s.dir, "demo")
        shutil.copytree(os.path.join(REPO, "examples", "demo"), demo,
                        ignore=shutil.ignore_patterns("*.db*"))
        conf = os.path.join(demo, "posfeed.conf")
        text = open(conf).read().replace("../../feeds", "feeds")
        open(conf, "w").write(text)
        r = s.posfeed("-c", conf, "run", config=False)
        self.assertIn("clerk", r.stdout)
        f = json.load(open(os.path.join(demo, "feeds", "clerk.json")))
        self.assertGreaterEqual(len(f["products"]), 40)
        self.assertGreaterEqual(len(f["orders"]), 50)
        self.assertGreaterEqual(len(f["customers"]), 20)
        instock = json.load(open(os.path.join(demo, "feeds",
                                              "clerk-in-stock.json")))
        self.assertLess(len(instock["products"]), len(f["products"]))
        self.check_every_feed(s, demo)

    def check_every_feed(self, s, demo):
        """Every feed the demo publishes parses with an independent parser
        and carries the demo's hard cases intact."""
        import xml.etree.ElementTree as ET
        st = json.loads(s.posfeed("-c", os.path.join(demo, "posfeed.conf"),
                                  "status", "--json", config=False).stdout)
        feeds = {f["name"]: f for f in st["feeds"]}
        self.assertGreaterEqual(len(feeds), 14)
        text = ""
        for name, f in feeds.items():
            path = os.path.join(demo, "feeds", f["path"])
            raw = open(path, encoding="utf-8").read()
            text += raw
            if path.endswith(".xml"):
                root = ET.fromstring(raw.encode())
                n = len(root.findall(".//item")) or len(
                    root.findall("Product"))
            elif path.endswith(".ndjson"):
                n = len([json.loads(x) for x in raw.splitlines() if x])
            else:
                doc = json.loads(raw)
                n = len(doc) if isinstance(doc, list) else None
            if n is not None and ":" not in name:
                self.assertEqual(n, f["items"], name)
        for hard in ("日本茶", "🌱", "Crème", "&amp;"):
            self.assertIn(hard, text)
        self.assertNotIn("\\u0003", text)
        self.assertNotIn("\x03", text)


class Access(ShopTest):
    """Who may fetch a feed by default (issue 8, item 7): sales history,
    customers and their events are business-confidential, so a feed whose
    template reads orders, customers or events needs the token; only
    catalogs (products, variants, categories) are public."""

    def access(self, template="clerk", **feed):
        s = self.shop()
        s.feeds = {"f": dict({"template": template}, **feed)}
        s.add_product("p")
        s.add_order("o1", [{"product_id": "p"}], customer_id="c1")
        r = s.run()
        st = json.loads(s.posfeed("status", "--json").stdout)
        self.last_stderr = r.stderr
        self.last_check = s.posfeed("check").stderr
        return st["feeds"][0]["access"]

    def test_catalog_feeds_are_public(self):
        for t in ("clerk-products", "clerk-categories", "google-shopping",
                  "meta-catalog", "klaviyo-catalog-json"):
            self.assertEqual(self.access(t), "public", t)
            self.assertIn("access public (default: catalog only)",
                          self.last_check)

    def test_orders_need_a_token_without_emails_or_customers(self):
        # collect_emails and include_customers are off (the shop's
        # defaults): the orders alone make the feed private.
        self.assertEqual(self.access("clerk"), "token")
        self.assertIn("access token (default: carries orders)",
                      self.last_check)
        self.assertEqual(self.access("clerk-orders"), "token")
        self.assertEqual(self.access("klaviyo-events"), "token")
        self.assertIn("carries events", self.last_check)

    def test_customers_need_a_token(self):
        self.assertEqual(self.access("clerk-customers"), "token")
        self.assertEqual(self.access("klaviyo-profiles"), "token")
        self.assertIn("carries customers", self.last_check)

    def test_emails_or_customers_need_a_token(self):
        self.assertEqual(self.access(collect_emails="yes"), "token")
        self.assertEqual(self.access(include_customers="yes"), "token")

    def test_public_on_purpose(self):
        self.assertEqual(self.access(collect_emails="yes", access="public"),
                         "public")
        notice = ("notice: feed 'f' carries orders and is public "
                  "(access = public)")
        self.assertIn(notice, self.last_stderr)
        self.assertIn(notice, self.last_check)
        self.assertIn("access public (set in the config)", self.last_check)
        # A catalog made public says nothing more.
        self.access("clerk-products", access="public")
        self.assertNotIn("notice", self.last_check)

    def test_token_on_purpose(self):
        self.assertEqual(self.access("clerk-products", access="token"),
                         "token")
