"""Golden files: every built-in template on a tiny fixture shop must
render byte for byte what tests/golden/out/ holds. A deliberate format
change is recorded with POSFEED_UPDATE_GOLDEN=1 and reviewed in the
diff."""
import os
import shutil
import subprocess

from shop import REPO, ShopTest

GOLDEN = os.path.join(REPO, "tests", "golden")


class Golden(ShopTest):
    def test_every_template(self):
        s = self.shop()
        shutil.rmtree(s.data)
        shutil.copytree(os.path.join(REPO, "tests", "fixtures", "tiny"),
                        s.data)
        shutil.copy(os.path.join(GOLDEN, "tiny.conf"),
                    os.path.join(s.dir, "posfeed.conf"))
        s.posfeed("run")
        out = os.path.join(GOLDEN, "out")
        feeds = os.path.join(s.dir, "feeds")
        names = sorted(n for n in os.listdir(feeds)
                       if not n.endswith(".parts.json"))
        self.assertEqual(len(names), 12)
        if os.environ.get("POSFEED_UPDATE_GOLDEN"):
            os.makedirs(out, exist_ok=True)
            for n in names:
                shutil.copy(os.path.join(feeds, n), os.path.join(out, n))
        self.assertEqual(names, sorted(os.listdir(out)))
        for n in names:
            if n.endswith(".xml"):
                # libxml2's own parser, independent of posfeed's writer.
                r = subprocess.run(["xmllint", "--noout", "--nonet",
                                    os.path.join(feeds, n)],
                                   capture_output=True, text=True)
                self.assertEqual(r.returncode, 0, n + ": " + r.stderr)
        for n in names:
            with self.subTest(feed=n):
                got = open(os.path.join(feeds, n), encoding="utf-8").read()
                want = open(os.path.join(out, n), encoding="utf-8").read()
                self.assertEqual(got, want)
