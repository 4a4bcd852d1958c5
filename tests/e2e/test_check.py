"""`posfeed check` catches what `run` would trip on (issue 8, item 12):
outputs that name folders or temp files, rules that could never apply,
secret files that cannot be read, and paths that are not templates,
whose bytes are never quoted. check itself touches neither store nor
feeds."""
import json
import os

from shop import ShopTest


def line_of(text, needle):
    return text.splitlines().index(needle) + 1


class Check(ShopTest):
    def make(self, feed=None, extra="", data=True):
        s = self.shop()
        s.add_product("p1", name="Mug", variants=[
            {"id": "v1", "price": "3.00", "sku": "TEST-1"}])
        s.add("categories", id="c1", name="Cups")
        s.add_order("o1", [{"product_id": "p1"}])
        if feed is not None:
            s.feeds = {"f": feed}
        if data:
            s.write_data()
        text = s.config_text() + extra
        s.write_config(text)
        return s, text

    def refused(self, feed=None, extra="", needle=None):
        s, text = self.make(feed, extra)
        r = s.posfeed("check", expect=2)
        if needle is not None:
            self.assertIn("posfeed.conf:%d:" % line_of(text, needle),
                          r.stderr)
        self.assertFalse(os.path.exists(os.path.join(s.dir, "store.db")))
        self.assertFalse(os.path.exists(os.path.join(s.dir, "feeds")))
        return s, r.stderr


class Outputs(Check):
    def test_output_ending_in_slash(self):
        s, err = self.refused({"template": "clerk", "output": "sub/"},
                              needle="output = sub/")
        self.assertIn("ends in '/'", err)

    def test_output_with_empty_or_dot_folder(self):
        s, err = self.refused({"template": "clerk",
                               "output": "a//b.json"},
                              needle="output = a//b.json")
        self.assertIn("empty or '.' folder", err)
        s, err = self.refused({"template": "clerk",
                               "output": "./b.json"},
                              needle="output = ./b.json")

    def test_output_naming_an_existing_folder(self):
        s, text = self.make({"template": "clerk", "output": "sub"})
        os.makedirs(os.path.join(s.dir, "feeds", "sub"))
        r = s.posfeed("check", expect=2)
        self.assertIn("posfeed.conf:%d:" % line_of(text, "output = sub"),
                      r.stderr)
        self.assertIn("output 'sub' is a folder", r.stderr)
        s.posfeed("run", expect=2)
        self.assertFalse(os.path.exists(os.path.join(s.dir, "store.db")))

    def test_output_like_a_temp_file(self):
        # Every build sweeps .*.tmp-* under feeds_dir: such a feed would
        # be deleted by the next build.
        s, err = self.refused({"template": "clerk",
                               "output": ".clerk.json.tmp-keep"},
                              needle="output = .clerk.json.tmp-keep")
        self.assertIn("temp file", err)


class Rules(Check):
    """Before: check passed and run published, silently ignoring the
    rule (or dropping every row)."""

    def test_set_on_unknown_object(self):
        s, err = self.refused({"template": "clerk",
                               "set.prodct.condition": "new"},
                              needle="set.prodct.condition = new")
        self.assertIn("set.prodct.condition", err)
        self.assertIn("no 'prodct'", err)
        # run refuses it too, before any work
        s.posfeed("run", expect=2)
        self.assertFalse(os.path.exists(s.feed_path()))

    def test_set_on_object_the_template_never_reads(self):
        # clerk has product rows, not variant rows
        s, err = self.refused({"template": "clerk",
                               "set.variant.color": "red"},
                              needle="set.variant.color = red")
        self.assertIn("no 'variant'", err)

    def test_set_copying_a_path_outside_the_row(self):
        s, err = self.refused({"template": "clerk",
                               "set.product.label": "{{prodct.name}}"},
                              needle="set.product.label = {{prodct.name}}")
        self.assertIn("'{{prodct.name}}' is not in the rows", err)
        s, err = self.refused({"template": "clerk",
                               "set.product.label": "{{shop.name}}"},
                              needle="set.product.label = {{shop.name}}")
        self.assertIn("not shop, now or feed", err)

    def test_condition_on_unknown_object(self):
        # Before: every row failed the include; the feed went out empty.
        s, err = self.refused({"template": "clerk-products",
                               "include": "prodct.brand == Acme"},
                              needle="include = prodct.brand == Acme")
        self.assertIn("'prodct.brand' names no object", err)
        s, err = self.refused({"template": "clerk-products",
                               "exclude": "variant.sku ~ ^TEST-"},
                              needle="exclude = variant.sku ~ ^TEST-")

    def test_rules_that_fit_pass_and_apply(self):
        s, text = self.make({"template": "google-shopping",
                             "set.product.condition": "used",
                             "set.variant.label": "{{product.name}}",
                             "exclude": "variant.sku ~ ^NOPE-"})
        s.posfeed("check")
        s.posfeed("run")
        with open(s.feed_path("f.xml"), encoding="utf-8") as f:
            self.assertIn("<g:condition>used</g:condition>", f.read())

    def test_product_condition_keeps_the_other_rows(self):
        # A condition judges only rows that hold its object: before, the
        # orders and categories of a clerk feed were all dropped.
        s, text = self.make({"template": "clerk",
                             "include": "product.price >= 1"})
        s.posfeed("run")
        feed = s.feed("f.json")
        self.assertEqual([p["id"] for p in feed["products"]], ["p1"])
        self.assertEqual([c["id"] for c in feed["categories"]], ["c1"])
        self.assertEqual([o["id"] for o in feed["orders"]], ["o1"])
        s.rows["variants"][0]["price"] = "0.50"
        s.run("--force")
        feed = s.feed("f.json")
        self.assertNotIn("products", feed)
        self.assertEqual([o["id"] for o in feed["orders"]], ["o1"])


class Secrets(Check):
    def serve(self, key, value):
        return "\n[serve]\n%s = %s\n" % (key, value)

    def test_missing_token_file(self):
        s, err = self.refused(extra=self.serve("token_file",
                                               "secrets/token"),
                              needle="token_file = secrets/token")
        self.assertIn("[serve] token_file", err)
        self.assertIn("No such file", err)

    def test_empty_token_file_never_shows_content(self):
        s, text = self.make(extra=self.serve("token_file", "token"))
        with open(os.path.join(s.dir, "token"), "w") as f:
            f.write("  \n")
        r = s.posfeed("check", expect=2)
        self.assertIn("posfeed.conf:%d: [serve] token_file: secret file"
                      % line_of(text, "token_file = token"), r.stderr)
        self.assertIn("is empty", r.stderr)

    def test_readable_token_file_passes_and_is_not_shown(self):
        s, text = self.make(extra=self.serve("token_file", "token"))
        with open(os.path.join(s.dir, "token"), "w") as f:
            f.write("hunter2-serve-token\n")
        r = s.posfeed("-v", "check")
        self.assertNotIn("hunter2", r.stderr + r.stdout)

    def test_run_does_not_need_the_serve_token(self):
        # Deliberate: run and build never use the serve token, so a
        # missing one does not stop the feeds (serve and check refuse).
        s, text = self.make(extra=self.serve("token_file", "missing"))
        s.posfeed("check", expect=2)
        s.posfeed("run")
        self.assertTrue(os.path.exists(s.feed_path()))

    def test_env_secret_is_a_warning(self):
        s, text = self.make(extra=self.serve("token", "env:PF_TEST_UNSET"))
        r = s.posfeed("check", env={"PF_TEST_UNSET": ""})
        self.assertIn("env:PF_TEST_UNSET", r.stderr)
        self.assertIn("warning", r.stderr)
        r = s.posfeed("check", env={"PF_TEST_UNSET": "x"})
        self.assertNotIn("PF_TEST_UNSET", r.stderr)

    def lsr(self, s, **files):
        text = s.config_text().replace(
            "type = file\npath = data\n",
            "type = lightspeed-retail\naccount_id = 1\nclient_id = c\n"
            "client_secret_file = client_secret\n"
            "refresh_token_file = refresh_token\n")
        for name, content in files.items():
            with open(os.path.join(s.dir, name), "w") as f:
                f.write(content)
        s.write_config(text)
        return text

    def test_missing_client_secret_file(self):
        s = self.shop()
        text = self.lsr(s, refresh_token="rt-secret-value\n")
        r = s.posfeed("check", expect=2)
        self.assertIn("posfeed.conf:%d: [source] client_secret_file"
                      % line_of(text, "client_secret_file = client_secret"),
                      r.stderr)
        self.assertNotIn("rt-secret-value", r.stderr)

    def test_missing_refresh_token_file(self):
        s = self.shop()
        text = self.lsr(s, client_secret="cs-secret-value\n")
        r = s.posfeed("check", expect=2)
        self.assertIn("posfeed.conf:%d: [source] refresh_token_file"
                      % line_of(text, "refresh_token_file = refresh_token"),
                      r.stderr)
        self.assertIn("posfeed auth", r.stderr)
        self.assertNotIn("cs-secret-value", r.stderr)
        with open(os.path.join(s.dir, "refresh_token"), "w") as f:
            f.write("rt\n")
        s.posfeed("check")

    def test_source_env_secret_is_a_warning(self):
        # The warning comes from the source type's table of keys (issue
        # 10): every secret key, under its own name.
        s = self.shop()
        text = self.lsr(s, refresh_token="rt\n").replace(
            "client_secret_file = client_secret",
            "client_secret = env:PF_TEST_LSR_UNSET")
        s.write_config(text)
        r = s.posfeed("check", env={"PF_TEST_LSR_UNSET": ""})
        self.assertIn("posfeed.conf:%d: [source] client_secret = "
                      "env:PF_TEST_LSR_UNSET"
                      % line_of(text, "client_secret = env:PF_TEST_LSR_UNSET"),
                      r.stderr)
        r = s.posfeed("check", env={"PF_TEST_LSR_UNSET": "x"})
        self.assertNotIn("PF_TEST_LSR_UNSET", r.stderr)

    def test_auth_needs_an_oauth_source(self):
        # The file source has no auth op: a usage error naming the type.
        s, text = self.make()
        r = s.posfeed("auth", "code", expect=2)
        self.assertIn("`posfeed auth` is for sources with OAuth", r.stderr)
        self.assertIn("type = file", r.stderr)


class NotATemplate(Check):
    """A template path that is not a template: the error says what is
    wrong and where, and never quotes the file."""

    def check_template(self, name, content):
        s = self.shop()
        s.write_data()
        path = os.path.join(s.dir, name)
        with open(path, "wb") as f:
            f.write(content)
        s.feeds = {"f": {"template": path, "output": "f.json"}}
        s.write_config()
        return s.posfeed("check", expect=2).stderr

    def test_key_file(self):
        err = self.check_template("keys.txt",
                                  b"api_key: SECRET123\nuser: root\n")
        self.assertIn("keys.txt:1: not a template", err)
        self.assertNotIn("SECRET123", err)
        self.assertNotIn("api_key", err)

    def test_passwd_like_file(self):
        err = self.check_template(
            "passwd", b"root:x:0:0:root:/root:/bin/bash\n")
        self.assertIn("not a template", err)
        self.assertNotIn("root:x", err)

    def test_binary_file(self):
        err = self.check_template("blob.json",
                                  b"\x7fELF\x02\x01SECRETBIN\x00\x00")
        self.assertIn("blob.json:1: not a template: binary data", err)
        self.assertNotIn("SECRETBIN", err)
        self.assertNotIn("ELF", err)

    def test_not_utf8(self):
        err = self.check_template("latin1.json",
                                  '{"k": "caf\xe9 SECRETL1"}'.encode(
                                      "latin-1"))
        self.assertIn("not UTF-8", err)
        self.assertNotIn("SECRETL1", err)

    def test_json_shaped_secret_with_a_syntax_error(self):
        err = self.check_template("creds.json",
                                  b'{\n  "password": hunter2SECRET\n}\n')
        self.assertIn("creds.json:2: invalid JSON at column 15", err)
        self.assertNotIn("hunter2", err)

    def test_xml_shaped_secret_with_a_syntax_error(self):
        err = self.check_template("creds.xml",
                                  b"<a>\n<SECRETTAG></a>\n")
        self.assertIn("creds.xml:2: invalid XML at column", err)
        self.assertIn("an end tag does not match its start tag", err)
        self.assertNotIn("SECRETTAG", err)
        err = self.check_template("creds2.xml",
                                  b"<a>\n<b>&SECRETENT;</b></a>\n")
        self.assertIn("undefined entity", err)
        self.assertNotIn("SECRETENT", err)

    def test_a_real_template_error_still_says_what(self):
        # Once the file parses as a template, its own placeholders may be
        # quoted: they are what the author wrote and must fix.
        err = self.check_template(
            "mine.json",
            json.dumps({"p": [{"@each": "products",
                               "n": "{{prodct.name}}"}]}).encode())
        self.assertIn("unknown variable 'prodct'", err)


class Collections(Check):
    def test_collection_posfeed_does_not_provide(self):
        # Before: check passed, run failed with "unknown collection".
        s = self.shop()
        s.write_data()
        path = os.path.join(s.dir, "mine.json")
        with open(path, "w") as f:
            json.dump({"w": [{"@each": "widgets", "id": "{{widget.id}}"}]},
                      f)
        s.feeds = {"f": {"template": path}}
        text = s.config_text()
        s.write_config(text)
        err = s.posfeed("check", expect=2).stderr
        self.assertIn("posfeed.conf:%d: [feed f]" % line_of(text, "[feed f]"),
                      err)
        self.assertIn("collection 'widgets'", err)
        s.posfeed("run", expect=2)
