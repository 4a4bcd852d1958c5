"""A damaged store: a page that cannot be read is an error (exit 1), never
"not found"; no feed is republished from it; and after an unclean
shutdown the store is checked (PRAGMA quick_check) before a run uses it.

The damage is made the way a failing disk makes it: the pages of one
table are overwritten with garbage in the SQLite file."""
import json
import os
import sqlite3

from shop import ShopTest


def corrupt(db, table):
    """Overwrites every page of table (and of its indexes) with junk."""
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    names = [r[0] for r in con.execute(
        "SELECT name FROM sqlite_schema WHERE tbl_name = ?", (table,))]
    pages = [r[0] for r in con.execute(
        "SELECT pageno FROM dbstat WHERE name IN (%s)"
        % ",".join("?" * len(names)), names)]
    con.close()
    assert pages, table
    with open(db, "r+b") as f:
        for p in pages:
            f.seek((p - 1) * page_size)
            f.write(b"\xde\xad" * (page_size // 2))


def snapshot(folder):
    """name -> (bytes, inode): a republished file gets a new inode even
    when its bytes are the same."""
    out = {}
    for n in sorted(os.listdir(folder)):
        p = os.path.join(folder, n)
        with open(p, "rb") as f:
            out[n] = (f.read(), os.stat(p).st_ino)
    return out


class CorruptStore(ShopTest):
    def events_shop(self):
        s = self.shop()
        s.feeds = {"events": {"template": "klaviyo-events",
                              "output": "events.ndjson"}}
        s.add("categories", id="c1", name="Shirts")
        s.add("categories", id="c2", name="Sale")
        # Enough products that images fill several pages.
        for i in range(300):
            s.add_product("p%03d" % i, category_ids=["c1", "c2"], images=[
                "https://img.example/%03d/%s.jpg" % (i, "x" * 60)])
        for i in range(40):
            s.add_order("o%03d" % i, [{"product_id": "p%03d" % i}],
                        email="c%d@x.example" % i, location_id="L1",
                        customer_id="c%d" % i)
        s.run()
        return s

    def db(self, s):
        return os.path.join(s.dir, "store.db")

    def runs(self, s):
        con = sqlite3.connect(self.db(s))
        try:
            return con.execute("SELECT id, kind, result, error FROM runs "
                               "ORDER BY id").fetchall()
        finally:
            con.close()

    def test_damaged_images_fail_the_events_feed(self):
        # The events feed looks up each line's product URL, image and
        # categories; a damaged images page used to read as "no image"
        # and republish changed events with exit 0.
        s = self.events_shop()
        feeds = os.path.join(s.dir, "feeds")
        before = snapshot(feeds)
        self.assertIn("img.example", before["events.ndjson"][0].decode())
        corrupt(self.db(s), "images")
        r = s.posfeed("build", expect=1)
        self.assertIn("reading product 'p000' (URL, image, categories) "
                      "for order 'o000'", r.stderr)
        self.assertIn("malformed", r.stderr)
        self.assertIn("is damaged", r.stderr)
        self.assertIn("posfeed sync --full", r.stderr)
        self.assertEqual(snapshot(feeds), before)
        self.assertEqual(self.runs(s)[-1][1:3], ("build", "failed"))

    def test_damaged_location_fails_the_events_feed(self):
        s = self.events_shop()
        feeds = os.path.join(s.dir, "feeds")
        before = snapshot(feeds)
        corrupt(self.db(s), "locations")
        r = s.posfeed("build", expect=1)
        self.assertIn("reading location 'L1' for order 'o000'", r.stderr)
        self.assertEqual(snapshot(feeds), before)

    def test_damaged_order_lines_fail_every_order_feed(self):
        s = self.events_shop()
        s.feeds["clerk"] = {"template": "clerk"}
        s.run()
        feeds = os.path.join(s.dir, "feeds")
        before = snapshot(feeds)
        corrupt(self.db(s), "order_lines")
        r = s.posfeed("build", expect=1)
        self.assertIn("reading order lines", r.stderr)
        # The first failure stops the build: the other feed reads the
        # same damaged file.
        self.assertIn("is damaged", r.stderr)
        self.assertEqual(snapshot(feeds), before)

    def test_damaged_feed_records_block_publishing(self):
        # The max_drop gate reads the last publish's item count. A
        # damaged record used to read as "never published": the gate
        # let anything through and the feed was replaced before the
        # record could not be written.
        s = self.events_shop()
        feeds = os.path.join(s.dir, "feeds")
        before = snapshot(feeds)
        corrupt(self.db(s), "feeds")
        r = s.posfeed("build", expect=1)
        self.assertIn("reading the last publish of feed 'events'", r.stderr)
        self.assertEqual(snapshot(feeds), before)

    def test_status_reports_a_damaged_page(self):
        s = self.events_shop()
        corrupt(self.db(s), "feeds")
        r = s.posfeed("status", "--json", expect=1)
        doc = json.loads(r.stdout)
        self.assertIn("reading published feeds", doc["store_error"])
        self.assertIn("malformed", doc["store_error"])
        self.assertNotIn(s.dir, doc["store_error"])
        self.assertIn("incomplete", r.stderr)

    def test_unclean_shutdown_checks_the_store(self):
        s = self.events_shop()
        feeds = os.path.join(s.dir, "feeds")
        # The last run was killed (or the machine stopped) mid-way.
        con = sqlite3.connect(self.db(s))
        con.execute("UPDATE runs SET result = 'running', ended_at = NULL "
                    "WHERE id = (SELECT max(id) FROM runs)")
        con.commit()
        con.close()
        killed = self.runs(s)[-1][0]
        r = s.posfeed("build")
        self.assertIn("run #%d did not finish" % killed, r.stderr)
        self.assertIn("integrity check passed", r.stderr)
        runs = self.runs(s)
        self.assertEqual(runs[-2][0], killed)
        self.assertEqual(runs[-2][2], "interrupted")
        self.assertEqual(runs[-1][1:3], ("build", "ok"))
        con = sqlite3.connect(self.db(s))
        notes = [m for (m,) in con.execute(
            "SELECT message FROM run_warnings WHERE run_id = ?",
            (runs[-1][0],))]
        con.close()
        self.assertEqual(len(notes), 1)
        self.assertIn("passed its integrity check (PRAGMA quick_check",
                      notes[0])
        # A clean end: the next run has nothing to check.
        r = s.posfeed("build")
        self.assertNotIn("did not finish", r.stderr)

        # Killed again, and this time the file is damaged where no feed
        # of this shop reads (customers): only the check can see it.
        s.add("customers", id="c1", email="c1@x.example")
        s.write_data()
        s.posfeed("sync")
        before = snapshot(feeds)
        con = sqlite3.connect(self.db(s))
        con.execute("UPDATE runs SET result = 'running', ended_at = NULL "
                    "WHERE id = (SELECT max(id) FROM runs)")
        con.commit()
        con.close()
        corrupt(self.db(s), "customers")
        r = s.posfeed("build", expect=1)
        self.assertIn("did not finish", r.stderr)
        self.assertIn("failed its integrity check (PRAGMA quick_check)",
                      r.stderr)
        self.assertIn("posfeed sync --full", r.stderr)
        self.assertEqual(snapshot(feeds), before)
        runs = self.runs(s)
        self.assertEqual(runs[-1][1:3], ("build", "failed"))
        self.assertIn("quick_check", runs[-1][3])
        # The killed run stays the evidence: the next run checks again
        # (and fails again) until the store is repaired or replaced.
        self.assertEqual(runs[-2][2], "running")
        r = s.posfeed("build", expect=1)
        self.assertIn("failed its integrity check", r.stderr)
        self.assertEqual(snapshot(feeds), before)
        # Rebuilt from the source, as the advice says: back to normal.
        for ext in ("", "-wal", "-shm"):
            if os.path.exists(self.db(s) + ext):
                os.rename(self.db(s) + ext, self.db(s) + ext + ".damaged")
        s.posfeed("sync", "--full")
        s.posfeed("build")


if __name__ == "__main__":
    import unittest
    unittest.main()
