"""Feeds whose published files can meet (issue 8, item 6): an output, its
.gz twin, the parts of a split feed (any number of them) and its index
are one set of names per feed; any two feeds whose sets meet are refused
when the config loads, by every command, with both feeds and lines."""
import json
import os
import shutil
import sqlite3

from shop import REPO, ShopTest


def line_of(text, needle, after=0):
    """1-based number of the first line at or after line `after` that
    equals needle."""
    lines = text.splitlines()
    for i in range(after, len(lines)):
        if lines[i] == needle:
            return i + 1
    raise AssertionError("%r not in config" % needle)


class Refused(ShopTest):
    def refused(self, feeds, commands=("check",)):
        s = self.shop()
        s.add_product("p1")
        s.write_data()
        s.feeds = feeds
        s.write_config()
        text = s.config_text()
        errs = [s.posfeed(cmd, expect=2).stderr for cmd in commands]
        return s, text, errs

    def test_public_feed_named_like_a_token_feeds_twin(self):
        # The example: clerk.json.gz served without a token.
        s, text, errs = self.refused({
            "clerk": {"template": "clerk", "output": "clerk.json",
                      "access": "token"},
            "leak": {"template": "clerk", "output": "clerk.json.gz",
                     "access": "public"}},
            commands=("check", "run", "build", "status"))
        line = line_of(text, "output = clerk.json.gz")
        for err in errs:
            self.assertIn("posfeed.conf:%d: [feed leak] output "
                          "'clerk.json.gz' is the gzip twin of [feed clerk] "
                          "(line %d)" % (line, line_of(
                              text, "output = clerk.json")), err)
        # Nothing ran: no store, no feed.
        self.assertFalse(os.path.exists(os.path.join(s.dir, "store.db")))
        self.assertFalse(os.path.exists(s.feed_path("clerk.json")))

    def test_output_is_a_part_of_a_split_feed(self):
        s, text, (err,) = self.refused({
            "big": {"template": "klaviyo-catalog-json",
                    "output": "k/catalog.json"},
            "other": {"template": "clerk", "output": "k/catalog-12.json"}})
        self.assertIn("posfeed.conf:%d:" % line_of(
            text, "output = k/catalog-12.json"), err)
        self.assertIn("[feed other] output 'k/catalog-12.json' is a part "
                      "of [feed big] (line %d)"
                      % line_of(text, "output = k/catalog.json"), err)

    def test_a_part_of_a_split_feed_is_another_feeds_output(self):
        s, text, (err,) = self.refused({
            "other": {"template": "clerk", "output": "k/catalog-3.json",
                      "gzip": "no"},
            "big": {"template": "clerk", "output": "k/catalog.json",
                    "max_file_size": "1M"}})
        self.assertIn("posfeed.conf:%d:" % line_of(
            text, "output = k/catalog.json"), err)
        self.assertIn("'k/catalog-3.json', is also the output of "
                      "[feed other]", err)

    def test_twin_of_a_part(self):
        s, text, (err,) = self.refused({
            "big": {"template": "clerk", "output": "c.json",
                    "max_file_size": "1M"},
            "other": {"template": "clerk", "output": "c-2.json",
                      "gzip": "no"}})
        self.assertIn("is a part of [feed big]", err)

    def test_index_is_another_feeds_output(self):
        s, text, (err,) = self.refused({
            "big": {"template": "clerk", "output": "c.json",
                    "max_file_size": "1M"},
            "other": {"template": "clerk", "output": "c.json.parts.json"}})
        self.assertIn("'c.json.parts.json'", err)
        self.assertIn("index", err)

    def test_file_and_folder_cannot_share_a_name(self):
        s, text, (err,) = self.refused({
            "a": {"template": "clerk", "output": "clerk", "gzip": "no"},
            "b": {"template": "clerk", "output": "clerk/all.json"}})
        self.assertIn("posfeed.conf:%d:" % line_of(
            text, "output = clerk/all.json"), err)
        self.assertIn("needs a folder 'clerk', which is the output of "
                      "[feed a]", err)

    def test_same_output_twice(self):
        s, text, (err,) = self.refused({
            "a": {"template": "clerk", "output": "x.json"},
            "b": {"template": "clerk-products", "output": "x.json"}})
        self.assertIn("[feed b] writes x.json, like [feed a]", err)


class Indexes(ShopTest):
    def test_demo_indexes_no_longer_collide(self):
        """The shipped demo had klaviyo/catalog.json and .xml both writing
        klaviyo/catalog.parts.json; each now has its own index."""
        s = self.shop()
        demo = os.path.join(s.dir, "demo")
        shutil.copytree(os.path.join(REPO, "examples", "demo"), demo,
                        ignore=shutil.ignore_patterns("*.db*"))
        conf = os.path.join(demo, "posfeed.conf")
        with open(conf) as f:
            text = f.read().replace("../../feeds", "feeds")
        with open(conf, "w") as f:
            f.write(text)
        s.posfeed("-c", conf, "check", config=False)
        s.posfeed("-c", conf, "run", config=False)
        feeds = os.path.join(demo, "feeds", "klaviyo")
        for ext in ("json", "xml"):
            with open(os.path.join(feeds, "catalog.%s.parts.json"
                                   % ext)) as f:
                index = json.load(f)
            self.assertEqual([p["path"] for p in index["parts"]],
                             ["klaviyo/catalog.%s" % ext])
        self.assertFalse(os.path.exists(os.path.join(feeds,
                                                     "catalog.parts.json")))

    def test_old_index_name_is_retired_on_upgrade(self):
        """A store and feeds folder from before: the index was kc.parts.json
        and recorded as 'kc:index'. The next build records the new name and
        removes the old file, so the server no longer lists or serves it."""
        s = self.shop()
        s.add_product("p1")
        s.feeds = {"kc": {"template": "klaviyo-catalog-json",
                          "output": "kc.json", "max_file_size": "1M"}}
        s.run()
        old = s.feed_path("kc.parts.json")
        shutil.copy(s.feed_path("kc.json.parts.json"), old)
        con = sqlite3.connect(os.path.join(s.dir, "store.db"))
        con.execute("UPDATE feeds SET path = 'kc.parts.json' "
                    "WHERE name = 'kc:index'")
        con.commit()
        con.close()
        r = s.posfeed("build")
        self.assertIn("kc.parts.json", r.stderr)
        self.assertFalse(os.path.exists(old))
        con = s.db()
        paths = dict(con.execute("SELECT name, path FROM feeds"))
        self.assertEqual(paths["kc:index"], "kc.json.parts.json")
        self.assertNotIn("kc.parts.json", paths.values())

    def test_old_index_name_kept_when_a_feed_owns_it(self):
        """Removal is only for a name no feed publishes today: an output
        without extension has the same index under both schemes."""
        s = self.shop()
        s.add_product("p1")
        s.feeds = {"kc": {"template": "klaviyo-catalog-json",
                          "output": "kc", "max_file_size": "1M"}}
        s.run()
        self.assertTrue(os.path.exists(s.feed_path("kc.parts.json")))
        s.posfeed("build")
        self.assertTrue(os.path.exists(s.feed_path("kc.parts.json")))
